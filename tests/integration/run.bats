#!/usr/bin/env bats
load helpers

@test "run: a container prints, exits 0 and is deleted" {
	run_sh 'echo hello'
	[ "$status" -eq 0 ]
	[ "$output" = "hello" ]
	[ -z "$(teu list -q)" ]
}

@test "run: exit code is the container's" {
	run_sh 'exit 42'
	[ "$status" -eq 42 ]
}

@test "run: a container killed by a signal exits 128+N" {
	set_args sleep 100
	"$TEU_BIN" --root "$TEU_ROOT" run --bundle "$BUNDLE" sig9 &
	pid=$!
	wait_status sig9 running
	teu kill sig9 KILL
	wait $pid || rc=$?
	[ "${rc:-0}" -eq 137 ]
	[ -z "$(teu list -q)" ]
}

@test "run: the process is PID 1 in new namespaces" {
	run_sh 'echo $$; for n in pid mnt net ipc uts cgroup; do readlink /proc/self/ns/$n; done'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1 ]
	for n in pid mnt net ipc uts cgroup; do
		host=$(readlink /proc/self/ns/$n)
		refute grep -qx "$host" <<<"$output"
	done
}

@test "run: signals are forwarded to the container" {
	set_args sh -c 'trap "echo got TERM; exit 3" TERM; echo ready; while :; do sleep 0.1; done'
	"$TEU_BIN" --root "$TEU_ROOT" run --bundle "$BUNDLE" sigc > "$TEST_ROOT/out" &
	pid=$!
	for _ in $(seq 100); do grep -q ready "$TEST_ROOT/out" && break; sleep 0.05; done
	kill -TERM $pid
	wait $pid || rc=$?
	[ "${rc:-0}" -eq 3 ]
	grep -q "got TERM" "$TEST_ROOT/out"
}

@test "run --detach: returns with the container running" {
	set_args sleep 100
	teu run -d --bundle "$BUNDLE" det
	[ "$(teu state det | jq -r .status)" = running ]
	teu delete --force det
	run teu state det
	[ "$status" -eq 1 ]
}
