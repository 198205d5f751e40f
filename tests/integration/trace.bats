#!/usr/bin/env bats
# --trace / TEU_TRACE=1: how long each phase of create and start took, on stderr.
load helpers

# phases FILE COMMAND ID: the phase names traced in FILE, one a line; fails
# on any line that is not a well-formed trace line.
phases() {
	local line re="^teu trace: $2 $3: ([a-zA-Z+ ]+) [0-9]+\.[0-9]{3}ms$"
	while IFS= read -r line; do
		[[ "$line" =~ $re ]] || { echo "not a trace line: $line" >&2; return 1; }
		echo "${BASH_REMATCH[1]}"
	done <"$1"
}

@test "trace: --trace prints every phase of create, the init's included" {
	set_args true
	# A file, not a pipe: the init keeps create's stderr until start.
	teu --trace create --bundle "$BUNDLE" c1 >/dev/null 2>"$TEST_ROOT/err"
	run phases "$TEST_ROOT/err" create c1
	[ "$status" -eq 0 ]
	for p in config prepare "exec init" cgroup namespaces "init setup" hooks finish \
		"init session" "init mounts" "init devices" "init pivot" "init finalize" "init credentials"; do
		printf '%s\n' "$output" | grep -qx "$p" || { echo "no phase $p in: $output" >&2; return 1; }
	done
}

@test "trace: TEU_TRACE=1 traces start" {
	set_args true
	teu create --bundle "$BUNDLE" c1 >/dev/null 2>"$TEST_ROOT/err"
	[ ! -s "$TEST_ROOT/err" ]
	TEU_TRACE=1 teu start c1 2>"$TEST_ROOT/err"
	run phases "$TEST_ROOT/err" start c1
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'load\nstart')" ]
}

@test "trace: run --trace traces create, the container's output is untouched" {
	set_args echo hello
	teu --trace run --bundle "$BUNDLE" c1 >"$TEST_ROOT/out" 2>"$TEST_ROOT/err"
	[ "$(cat "$TEST_ROOT/out")" = hello ]
	run phases "$TEST_ROOT/err" run c1
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" | grep -qx "init mounts"
}

@test "trace: nothing is printed without --trace (or with TEU_TRACE=0)" {
	set_args echo hello
	teu run --bundle "$BUNDLE" c1 >"$TEST_ROOT/out" 2>"$TEST_ROOT/err"
	[ "$(cat "$TEST_ROOT/out")" = hello ]
	[ ! -s "$TEST_ROOT/err" ]
	set_args true
	TEU_TRACE=0 teu create --bundle "$BUNDLE" c2 >/dev/null 2>"$TEST_ROOT/err" || { cat "$TEST_ROOT/err" >&2; return 1; }
	TEU_TRACE=0 teu start c2 2>>"$TEST_ROOT/err"
	[ ! -s "$TEST_ROOT/err" ]
}
