#!/usr/bin/env bats
# teu kill: signals by name and number, --all, and what cannot be signalled.
load helpers
load lifecycle

setup() {
	new_bundle
	share_dir
}

# trapper ID: a running container whose init records the signals it gets
# (TERM, USR1, HUP, INT) in /shared/sigs and keeps running.
trapper() {
	set_args sh -c 'for s in TERM USR1 HUP INT; do trap "echo $s >>/shared/sigs" $s; done; touch /shared/ready; while :; do sleep 0.05; done'
	teu create --bundle "$BUNDLE" "$1"
	teu start "$1"
	wait_for test -e "$SHARED/ready"
}

# got SIG: the container recorded SIG.
got() {
	grep -qx "$1" "$SHARED/sigs" 2>/dev/null
}

@test "kill: the default signal is SIGTERM" {
	trapper c1
	teu kill c1
	wait_for got TERM
	[ "$(cat "$SHARED/sigs")" = TERM ]
	[ "$(state_of c1 status)" = running ]
}

@test "kill: signals by name, SIG name, lower case and number" {
	trapper c1
	teu kill c1 USR1
	wait_for got USR1
	teu kill c1 SIGHUP
	wait_for got HUP
	teu kill c1 int
	wait_for got INT
	teu kill c1 15
	wait_for got TERM
	[ "$(cat "$SHARED/sigs" | tr '\n' ' ')" = "USR1 HUP INT TERM " ]
	[ "$(state_of c1 status)" = running ]
}

@test "kill: KILL, SIGKILL, kill and 9 all kill" {
	set_args sleep 100
	for sig in KILL SIGKILL kill 9; do
		teu create --bundle "$BUNDLE" "c-$sig"
		teu start "c-$sig"
		pid=$(state_of "c-$sig" pid)
		run teu kill "c-$sig" "$sig"
		[ "$status" -eq 0 ]
		[ -z "$output" ]
		wait_status "c-$sig" stopped
		wait_for pid_gone "$pid"
	done
}

@test "kill: an unknown signal is an error and sends nothing" {
	trapper c1
	for sig in FOO SIGFOO -1 65 1000 "" 9x; do
		run teu kill c1 "$sig"
		assert_one_error_line
	done
	[ ! -e "$SHARED/sigs" ]
	[ "$(state_of c1 status)" = running ]
}

@test "kill: a created container can be killed" {
	set_args sleep 100
	teu create --bundle "$BUNDLE" c1
	teu kill c1 KILL
	wait_status c1 stopped
}

@test "kill --all: every process of the container gets the signal" {
	# The init survives TERM (it traps it); its children do not.
	set_args sh -c 'trap "echo TERM >>/shared/sigs" TERM; sleep 100 & sleep 100 & (sleep 100 & wait) & touch /shared/ready; while :; do sleep 0.05; done'
	teu create --bundle "$BUNDLE" c1
	teu start c1
	wait_for test -e "$SHARED/ready"
	init=$(state_of c1 pid)
	ns=$(readlink /proc/$init/ns/pid)
	# The host pids of the sleepers: processes in the container's pid namespace.
	sleepers=()
	for d in /proc/[0-9]*; do
		[ "$(readlink $d/ns/pid 2>/dev/null)" = "$ns" ] || continue
		[ "$(tr '\0' ' ' <$d/cmdline 2>/dev/null)" = "sleep 100 " ] && sleepers+=("${d#/proc/}")
	done
	[ "${#sleepers[@]}" -eq 3 ]
	# Without --all, only the init gets it.
	teu kill c1 TERM
	wait_for got TERM
	for p in "${sleepers[@]}"; do [ -d /proc/$p ]; done
	run teu kill --all c1 TERM
	[ "$status" -eq 0 ]
	for p in "${sleepers[@]}"; do wait_for pid_gone "$p"; done
	wait_for sh -c "[ \$(grep -c TERM '$SHARED/sigs') -eq 2 ]"
	[ "$(state_of c1 status)" = running ]
	# -a is --all.
	teu kill -a c1 KILL
	wait_status c1 stopped
}

@test "kill: a stopped container is an error" {
	set_args true
	teu create --bundle "$BUNDLE" c1
	teu start c1
	wait_status c1 stopped
	run teu kill c1
	assert_one_error_line
	[[ "$output" == *"not running"* ]]
	run teu kill c1 KILL
	assert_one_error_line
	run teu kill c1 0
	assert_one_error_line
	# As runc: with --all, nothing left to signal is no error.
	run teu kill --all c1 KILL
	[ "$status" -eq 0 ]
	run teu kill -a c1 0
	[ "$status" -eq 0 ]
}

@test "kill: signal 0 only asks whether the init is there (runc's probe)" {
	trapper c1
	teu kill c1 0
	[ ! -e "$SHARED/sigs" ]
	[ "$(state_of c1 status)" = running ]
}

@test "kill: a container that does not exist is an error" {
	run teu kill nope
	assert_one_error_line
	[[ "$output" == *nope*"does not exist"* ]]
	run teu kill nope KILL
	assert_one_error_line
	run teu kill
	assert_one_error_line
	run teu kill a b c
	assert_one_error_line
}
