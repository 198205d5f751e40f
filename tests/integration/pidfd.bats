#!/usr/bin/env bats
# --pidfd-socket: create, run and exec send the engine a pidfd of the
# container's init or of the exec'd process (runc 1.2's protocol); the
# receiver checks it is a pidfd of the right pid and signals and waits
# through it.
load helpers

eval "helpers_$(declare -f setup_file)"
setup_file() {
	helpers_setup_file
	(cd "$TEU_SRC" && go build -o "$TEU_CACHE/recvpidfd" ./tests/cmd/recvpidfd)
}

eval "helpers_$(declare -f teardown)"
teardown() {
	if [ -n "${RECV_PID:-}" ]; then
		kill "$RECV_PID" 2>/dev/null || true
		wait "$RECV_PID" 2>/dev/null || true
	fi
	helpers_teardown
}

# start_recv [FLAGS...]: recvpidfd listening on $SOCK; its output goes to
# $TEST_ROOT/recv.out.
start_recv() {
	SOCK=$TEST_ROOT/pidfd.sock
	"$TEU_CACHE/recvpidfd" -ready "$TEST_ROOT/ready" "$@" "$SOCK" >"$TEST_ROOT/recv.out" 2>"$TEST_ROOT/recv.err" &
	RECV_PID=$!
	for _ in $(seq 200); do [ -e "$TEST_ROOT/ready" ] && return 0; sleep 0.02; done
	echo "recvpidfd did not start" >&2
	return 1
}

# wait_recv: wait for recvpidfd to finish; it must succeed.
wait_recv() {
	local rc=0
	wait "$RECV_PID" || rc=$?
	RECV_PID=
	cat "$TEST_ROOT/recv.out" "$TEST_ROOT/recv.err"
	[ "$rc" -eq 0 ]
}

@test "pidfd: create sends a pidfd of the init; killing through it stops the container" {
	start_recv -go "$TEST_ROOT/go" -signal 9 -wait
	set_args sleep 100
	teu create --pidfd-socket "$SOCK" --pid-file "$TEST_ROOT/pid" --bundle "$BUNDLE" c1
	[ "$(teu state c1 | jq -r .status)" = created ]
	touch "$TEST_ROOT/go"
	wait_recv
	pid=$(cat "$TEST_ROOT/pid")
	[ "$(sed -n 1p "$TEST_ROOT/recv.out")" = "kind=standard pid=$pid" ]
	[ "$(sed -n 2p "$TEST_ROOT/recv.out")" = signalled ]
	[ "$(sed -n 3p "$TEST_ROOT/recv.out")" = exited ]
	[ "$(teu state c1 | jq -r .status)" = stopped ]
}

@test "pidfd: run -d sends a pidfd of the running init" {
	start_recv -go "$TEST_ROOT/go" -signal 9 -wait
	set_args sleep 100
	teu run -d --pidfd-socket "$SOCK" --pid-file "$TEST_ROOT/pid" --bundle "$BUNDLE" c2
	[ "$(teu state c2 | jq -r .status)" = running ]
	touch "$TEST_ROOT/go"
	wait_recv
	pid=$(cat "$TEST_ROOT/pid")
	[ "$(sed -n 1p "$TEST_ROOT/recv.out")" = "kind=standard pid=$pid" ]
	[ "$(sed -n 3p "$TEST_ROOT/recv.out")" = exited ]
	[ "$(teu state c2 | jq -r .status)" = stopped ]
}

@test "pidfd: attached run: a kill through the pidfd is the container's exit status" {
	# The pidfd comes at create, before start: the container says when it
	# runs through a file in a bind-mounted directory.
	mkdir "$TEST_ROOT/shared"
	update_config '.mounts += [{"destination": "/shared", "type": "bind", "source": "'"$TEST_ROOT/shared"'", "options": ["bind"]}]'
	start_recv -go "$TEST_ROOT/shared/go" -signal 9 -wait
	set_args sh -c 'touch /shared/go; exec sleep 100'
	run teu run --pidfd-socket "$SOCK" --bundle "$BUNDLE" c3
	echo "status $status: $output"
	[ "$status" -eq 137 ]
	wait_recv
	[[ "$(sed -n 1p "$TEST_ROOT/recv.out")" == "kind=standard pid="[0-9]* ]]
}

@test "pidfd: exec -d sends a pidfd of the exec'd process, not of the init" {
	set_args sleep 100
	teu run -d --pid-file "$TEST_ROOT/init.pid" --bundle "$BUNDLE" c4
	start_recv -go "$TEST_ROOT/go" -signal 15 -wait
	teu exec -d --pidfd-socket "$SOCK" --pid-file "$TEST_ROOT/pid" c4 sleep 200
	pid=$(cat "$TEST_ROOT/pid")
	[ "$pid" != "$(cat "$TEST_ROOT/init.pid")" ]
	grep -q '^sleep' "/proc/$pid/cmdline"
	touch "$TEST_ROOT/go"
	wait_recv
	[ "$(sed -n 1p "$TEST_ROOT/recv.out")" = "kind=setns pid=$pid" ]
	[ "$(sed -n 3p "$TEST_ROOT/recv.out")" = exited ]
	# Only the exec'd process got the signal.
	[ "$(teu state c4 | jq -r .status)" = running ]
}

@test "pidfd: attached exec: a kill through the pidfd is exec's exit status" {
	set_args sleep 100
	teu run -d --bundle "$BUNDLE" c5
	start_recv -signal 9 -wait
	run teu exec --pidfd-socket "$SOCK" c5 sleep 200
	[ "$status" -eq 137 ]
	wait_recv
	[[ "$(sed -n 1p "$TEST_ROOT/recv.out")" == "kind=setns pid="[0-9]* ]]
	[ "$(teu state c5 | jq -r .status)" = running ]
}

@test "pidfd: a missing socket is one error line and leaves no container" {
	set_args true
	run teu create --pidfd-socket "$TEST_ROOT/nope.sock" --bundle "$BUNDLE" c6
	assert_one_error_line
	[[ "$output" == *"pidfd socket"* ]]
	[ -z "$(teu list -q)" ]
	set_args sleep 100
	teu run -d --bundle "$BUNDLE" c7
	run teu exec --pidfd-socket "$TEST_ROOT/nope.sock" c7 true
	assert_one_error_line 255
	[[ "$output" == *"pidfd socket"* ]]
}
