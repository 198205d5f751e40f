#!/usr/bin/env bats
# process.terminal: the pty master through --console-socket, the
# container's view of its terminal, and `teu run` relaying one.
load helpers

eval "helpers_$(declare -f setup_file)"
setup_file() {
	helpers_setup_file
	(cd "$TEU_SRC" && go build -o "$TEU_CACHE/recvtty" ./tests/cmd/recvtty)
}

eval "helpers_$(declare -f teardown)"
teardown() {
	if [ -n "${RECV_PID:-}" ]; then
		kill "$RECV_PID" 2>/dev/null || true
		wait "$RECV_PID" 2>/dev/null || true
	fi
	helpers_teardown
}

# start_recvtty [INPUT]: a console socket at $SOCK; what the container
# writes goes to $TEST_ROOT/tty.out.
start_recvtty() {
	SOCK=$TEST_ROOT/console.sock
	"$TEU_CACHE/recvtty" -ready "$TEST_ROOT/ready" ${1:+-input "$1"} "$SOCK" >"$TEST_ROOT/tty.out" 2>"$TEST_ROOT/tty.err" &
	RECV_PID=$!
	for _ in $(seq 200); do [ -e "$TEST_ROOT/ready" ] && return 0; sleep 0.02; done
	echo "recvtty did not start" >&2
	return 1
}

# wait_recvtty: wait for recvtty to see the pty close; $output is what it
# read, without the tty's carriage returns.
wait_recvtty() {
	wait "$RECV_PID"
	RECV_PID=
	output=$(tr -d '\r' <"$TEST_ROOT/tty.out")
	lines=()
	mapfile -t lines <<<"$output"
}

@test "console: the container's stdio is the pty it sent, with consoleSize" {
	start_recvtty
	update_config '.process.terminal = true | .process.consoleSize = {"height": 40, "width": 100}'
	set_args sh -c 'tty; test -t 0 && echo stdin-tty; test -t 1 && echo stdout-tty; test -t 2 && echo stderr-tty; stty size; stat -c "%t %T" /dev/console "$(tty)"; grep " /dev/console " /proc/self/mountinfo | wc -l; ps -o pid,tty,args | grep -c "pts/0"'
	teu create --console-socket "$SOCK" --bundle "$BUNDLE" c1
	teu start c1
	wait_recvtty
	echo "$output"
	[ "${lines[0]}" = /dev/pts/0 ]
	[ "${lines[1]}" = stdin-tty ]
	[ "${lines[2]}" = stdout-tty ]
	[ "${lines[3]}" = stderr-tty ]
	[ "${lines[4]}" = "40 100" ]
	# /dev/console is the same pty (devpts major 136), bound over.
	[ "${lines[5]}" = "${lines[6]}" ]
	[[ "${lines[5]}" == "88 0" ]]
	[ "${lines[7]}" = 1 ]
	grep -q 'recvtty: got' "$TEST_ROOT/tty.err"
	wait_status c1 stopped
}

@test "console: input written to the master reaches the container" {
	start_recvtty $'hello teu\n'
	update_config '.process.terminal = true'
	set_args sh -c 'read -r line; echo "got:$line"'
	teu create --console-socket "$SOCK" --bundle "$BUNDLE" c2
	teu start c2
	wait_recvtty
	echo "$output"
	[[ "$output" == *"got:hello teu"* ]]
}

@test "console: the container is the session leader with the pty as controlling terminal" {
	start_recvtty
	update_config '.process.terminal = true'
	set_args sh -c 'cat /proc/self/stat | cut -d" " -f6,7; echo $$; ls -l /proc/self/fd/ | grep -c "/dev/pts/0"'
	teu create --console-socket "$SOCK" --bundle "$BUNDLE" c3
	teu start c3
	wait_recvtty
	echo "$output"
	# session id of the shell's child (cat) is the shell: pid 1; tty_nr is
	# the pty (136 << 8 | 0 = 34816).
	[ "${lines[0]}" = "1 34816" ]
	[ "${lines[1]}" = 1 ]
}

@test "console: teu run with terminal true relays the output" {
	update_config '.process.terminal = true'
	set_args sh -c 'tty; echo out; exit 7'
	run teu run --bundle "$BUNDLE" c4 </dev/null
	echo "$output"
	[ "$status" -eq 7 ]
	output=$(tr -d '\r' <<<"$output")
	[[ "$output" == *"/dev/pts/0"$'\n'"out"* ]]
	[ -z "$(teu list -q)" ]
}

@test "console: terminal without a console socket, or a socket without a terminal, is refused" {
	update_config '.process.terminal = true'
	run teu create --bundle "$BUNDLE" c5
	echo "$output"
	assert_one_error_line
	[[ "$output" == *console-socket* ]]
	[ -z "$(teu list -q)" ]

	start_recvtty
	update_config '.process.terminal = false'
	run teu create --console-socket "$SOCK" --bundle "$BUNDLE" c6
	echo "$output"
	assert_one_error_line
	[[ "$output" == *console-socket* ]]
	[ -z "$(teu list -q)" ]
}

@test "console: a terminal in a user namespace" {
	chmod 755 "$TEST_ROOT"
	chown -R 100000:100000 "$BUNDLE/rootfs"
	update_config '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .process.terminal = true'
	start_recvtty
	set_args sh -c 'tty; id -u; test -t 1 && echo tty-ok'
	teu create --console-socket "$SOCK" --bundle "$BUNDLE" u1
	teu start u1
	wait_recvtty
	echo "$output"
	[ "${lines[0]}" = /dev/pts/0 ]
	[ "${lines[1]}" = 0 ]
	[ "${lines[2]}" = tty-ok ]
}
