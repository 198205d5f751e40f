#!/usr/bin/env bats
# --trace / TEU_TRACE=1: how long each phase of create, start, run, exec and
# delete took, and the total: lines on stderr, or records in --log.
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
		"init session" "init mounts" "init devices" "init pivot" "init finalize" "init credentials" total; do
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
	[ "$output" = "$(printf 'load\nstart\ntotal')" ]
}

@test "trace: run --trace traces create, the container's output is untouched" {
	set_args echo hello
	teu --trace run --bundle "$BUNDLE" c1 >"$TEST_ROOT/out" 2>"$TEST_ROOT/err"
	[ "$(cat "$TEST_ROOT/out")" = hello ]
	run phases "$TEST_ROOT/err" run c1
	[ "$status" -eq 0 ]
	for p in "init mounts" start wait delete; do
		printf '%s\n' "$output" | grep -qx "$p" || { echo "no phase $p in: $output" >&2; return 1; }
	done
	# The total is last, and it is no less than the phases run timed itself.
	[ "$(printf '%s\n' "$output" | tail -n1)" = total ]
	awk '/: total / { total = $NF }
		/: (config|prepare|exec init|cgroup|namespaces|init setup|hooks|finish|start|wait|delete) / { sum += $NF }
		END { print "total", total, "phases", sum; exit !(total + 0 >= sum && sum > 0) }' "$TEST_ROOT/err"
}

@test "trace: exec and delete are traced, each with a total" {
	set_args sleep 1000
	teu run -d --bundle "$BUNDLE" c1
	teu --trace exec c1 true 2>"$TEST_ROOT/err"
	run phases "$TEST_ROOT/err" exec c1
	[ "$status" -eq 0 ]
	for p in load process prepare "exec init" "init credentials" setup wait total; do
		printf '%s\n' "$output" | grep -qx "$p" || { echo "no phase $p in: $output" >&2; return 1; }
	done
	teu kill c1 KILL
	wait_status c1 stopped
	teu --trace delete c1 2>"$TEST_ROOT/err"
	run phases "$TEST_ROOT/err" delete c1
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'load\ndelete\ntotal')" ]
	# --force loads the state as part of its delete (it also reads what
	# a damaged state's records name).
	teu run -d --bundle "$BUNDLE" c2
	teu --trace delete --force c2 2>"$TEST_ROOT/err"
	run phases "$TEST_ROOT/err" delete c2
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'delete\ntotal')" ]
}

@test "trace: with --log the phases are log records, JSON with --log-format json" {
	set_args true
	teu --trace --log "$TEST_ROOT/log.json" --log-format json run --bundle "$BUNDLE" c1 >/dev/null 2>"$TEST_ROOT/err"
	# Nothing on stderr: the log has it all.
	[ ! -s "$TEST_ROOT/err" ]
	cat "$TEST_ROOT/log.json"
	# Every line is one JSON record of a phase of run c1, level info.
	run jq -r 'select(.msg == "trace" and .level == "info" and .cmd == "run" and .id == "c1" and (.ms | type) == "number") | .phase' "$TEST_ROOT/log.json"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq "$(wc -l <"$TEST_ROOT/log.json")" ]
	printf '%s\n' "$output" | grep -qx "init mounts"
	[ "${lines[-1]}" = total ]
	# Text format: slog's key=value records.
	teu create --bundle "$BUNDLE" c2
	teu --trace --log "$TEST_ROOT/log.txt" delete --force c2 2>"$TEST_ROOT/err"
	[ ! -s "$TEST_ROOT/err" ]
	cat "$TEST_ROOT/log.txt"
	grep -q 'level=info msg=trace cmd=delete id=c2 phase=delete ms=[0-9.]*$' "$TEST_ROOT/log.txt"
	grep -q 'level=info msg=trace cmd=delete id=c2 phase=total ms=[0-9.]*$' "$TEST_ROOT/log.txt"
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
