#!/usr/bin/env bats
# teu create: a created container, its init waiting for start; --pid-file,
# --preserve-fds, LISTEN_FDS, and that nothing else of the caller's leaks in.
load helpers
load lifecycle

# The container's open fds 3..9 into /shared/fds, one a line: tested by the
# shell itself, which opens nothing to do so (ls would list its own fd).
LSFDS='for n in 3 4 5 6 7 8 9; do if [ -e /proc/self/fd/$n ]; then echo $n >>/shared/fds; fi; done'

setup() {
	new_bundle
	share_dir
}

@test "create: the container is created, its init exists, the process has not run" {
	set_args sh -c 'touch /shared/ran; exec sleep 100'
	# (Not `run`: the init holds stdout, a command substitution would wait.)
	teu create --bundle "$BUNDLE" c1 >"$TEST_ROOT/out" 2>&1
	[ ! -s "$TEST_ROOT/out" ]
	[ "$(state_of c1 status)" = created ]
	pid=$(state_of c1 pid)
	[ "$pid" -gt 1 ]
	[ -d "/proc/$pid" ]
	# The init is in the container's namespaces already.
	[ "$(readlink /proc/$pid/ns/pid)" != "$(readlink /proc/self/ns/pid)" ] || [ "$(readlink /proc/$pid/ns/pid_for_children)" != "$(readlink /proc/self/ns/pid)" ]
	[ "$(readlink /proc/$pid/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ]
	# ... but the user's process has not run.
	[ ! -e "$SHARED/ran" ]
	teu start c1
	wait_for test -e "$SHARED/ran"
	[ "$(state_of c1 status)" = running ]
	# The process is the init: the same pid.
	[ "$(state_of c1 pid)" = "$pid" ]
	[ "$(tr '\0' ' ' </proc/$pid/cmdline)" = "sleep 100 " ]
}

@test "create: the bundle defaults to the current directory" {
	set_args sleep 100
	cd "$BUNDLE"
	teu create c1
	[ "$(state_of c1 bundle)" = "$BUNDLE" ]
	[ "$(state_of c1 rootfs)" = "$BUNDLE/rootfs" ]
}

@test "create: a relative --bundle is made absolute" {
	set_args sleep 100
	cd "$TEST_ROOT"
	teu create -b bundle c1
	[ "$(state_of c1 bundle)" = "$BUNDLE" ]
}

@test "create: --pid-file holds the init's pid" {
	set_args sleep 100
	teu create --bundle "$BUNDLE" --pid-file "$TEST_ROOT/pid" c1
	[ "$(cat "$TEST_ROOT/pid")" = "$(state_of c1 pid)" ]
	[ -d "/proc/$(cat "$TEST_ROOT/pid")" ]
	# A relative path is relative to the caller's directory.
	cd "$TEST_ROOT"
	teu create --bundle "$BUNDLE" --pid-file rel.pid c2
	[ "$(cat "$TEST_ROOT/rel.pid")" = "$(state_of c2 pid)" ]
}

@test "create: without --preserve-fds the caller's fds stay out of the container" {
	set_args sh -c 'ls -l /proc/self/fd/ >/shared/fds; for f in /proc/self/fd/*; do readlink $f; done >>/shared/fds'
	exec 7>"$TEST_ROOT/leak7"
	exec 9<"$BUNDLE/config.json"
	teu create --bundle "$BUNDLE" c1
	pid=$(state_of c1 pid)
	# Not in the waiting init either (its hooks and it are ours, not the caller's).
	refute grep -e leak7 -e config.json <<<"$(ls -l /proc/$pid/fd/)"
	teu start c1
	exec 7>&- 9<&-
	wait_status c1 stopped
	[ -s "$SHARED/fds" ]
	refute grep -e leak7 -e config.json "$SHARED/fds"
	# Nothing of teu's state either.
	refute grep -F "$TEU_ROOT" "$SHARED/fds"
	# stdio and the fd ls reads its directory with.
	[ "$(grep -c -- '->' "$SHARED/fds")" -le 4 ]
}

@test "create --preserve-fds: the caller's fds 3..3+N-1 pass into the container" {
	set_args sh -c "echo through-fd5 >&5; $LSFDS"
	exec 5>"$TEST_ROOT/out5" 6>"$TEST_ROOT/out6"
	teu create --bundle "$BUNDLE" --preserve-fds 3 c1
	exec 5>&- 6>&-
	teu start c1
	wait_status c1 stopped
	[ "$(cat "$TEST_ROOT/out5")" = through-fd5 ]
	# 6 is past 3+3-1: not passed.
	grep -qx 5 "$SHARED/fds"
	refute grep -vx -e 3 -e 4 -e 5 "$SHARED/fds"
}

@test "create --preserve-fds: a number past the caller's open fds passes none of teu's own" {
	# Only the caller's fds may go in: teu's state dir fd, its exec.fifo or
	# its lock must not, whatever N is.
	set_args sh -c 'for f in /proc/self/fd/*; do readlink $f; done >/shared/fds; sleep 100'
	teu create --bundle "$BUNDLE" --preserve-fds 40 c1
	pid=$(state_of c1 pid)
	# The waiting init holds the exec fifo (its own), never the state dir.
	refute grep -e "-> $TEU_ROOT/c1\$" -e "-> $TEU_ROOT\$" <<<"$(ls -l /proc/$pid/fd/)"
	teu start c1
	wait_for test -s "$SHARED/fds"
	refute grep -F "$TEU_ROOT" "$SHARED/fds"
	# And the container is not holding the state dir's lock: delete works.
	run timeout 10 "$TEU_BIN" --root "$TEU_ROOT" delete --force c1
	[ "$status" -eq 0 ]
	[ ! -e "$TEU_ROOT/c1" ]
}

@test "create: LISTEN_FDS=N passes N fds and sets LISTEN_FDS" {
	set_args sh -c "echo \$LISTEN_FDS >/shared/env; echo via-listen-fd >&4; $LSFDS"
	exec 4>"$TEST_ROOT/out4" 5>"$TEST_ROOT/out5"
	LISTEN_FDS=2 teu create --bundle "$BUNDLE" c1
	exec 4>&- 5>&-
	teu start c1
	wait_status c1 stopped
	[ "$(cat "$SHARED/env")" = 2 ]
	[ "$(cat "$TEST_ROOT/out4")" = via-listen-fd ]
	grep -qx 4 "$SHARED/fds"
	refute grep -vx -e 3 -e 4 "$SHARED/fds"
}

@test "create: LISTEN_FDS and --preserve-fds add up" {
	set_args sh -c "echo \$LISTEN_FDS >/shared/env; echo five >&5; $LSFDS"
	exec 4>/dev/null 5>"$TEST_ROOT/out5" 6>/dev/null
	LISTEN_FDS=1 teu create --bundle "$BUNDLE" --preserve-fds 2 c1
	exec 4>&- 5>&- 6>&-
	teu start c1
	wait_status c1 stopped
	[ "$(cat "$SHARED/env")" = 1 ]
	[ "$(cat "$TEST_ROOT/out5")" = five ]
	[ "$(cat "$SHARED/fds" | tr '\n' ' ')" = "4 5 " ] || [ "$(cat "$SHARED/fds" | tr '\n' ' ')" = "3 4 5 " ]
}

@test "create: LISTEN_FDS meant for another process (LISTEN_PID) is ignored" {
	set_args sh -c "echo \${LISTEN_FDS:-unset} >/shared/env; $LSFDS"
	exec 4>"$TEST_ROOT/out4"
	LISTEN_FDS=2 LISTEN_PID=1 teu create --bundle "$BUNDLE" c1
	exec 4>&-
	teu start c1
	wait_status c1 stopped
	[ "$(cat "$SHARED/env")" = unset ]
	refute grep -w 4 "$SHARED/fds"
}

@test "create: the same id twice fails and leaves the first container alone" {
	set_args sleep 100
	teu create --bundle "$BUNDLE" c1
	pid=$(state_of c1 pid)
	run teu create --bundle "$BUNDLE" c1
	assert_one_error_line
	[[ "$output" == *c1* ]]
	[[ "$output" == *"already exists"* ]]
	[ "$(state_of c1 status)" = created ]
	[ "$(state_of c1 pid)" = "$pid" ]
	teu start c1
	[ "$(state_of c1 status)" = running ]
}

@test "create: checks its arguments" {
	run teu create --bundle "$BUNDLE"
	assert_one_error_line
	run teu create --bundle "$BUNDLE" a b
	assert_one_error_line
	run teu create --bundle "$BUNDLE" --no-such-flag c1
	assert_one_error_line
	[ ! -e "$TEU_ROOT/c1" ]
}

@test "create: containers named h and help are containers, not requests for help" {
	set_args true
	for id in h help; do
		teu create --bundle "$BUNDLE" "$id"
		[ "$(state_of "$id" status)" = created ]
		teu start "$id"
		teu delete -f "$id"
	done
	run teu create --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"teu create - create a container"* ]]
}
