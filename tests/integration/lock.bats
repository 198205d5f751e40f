#!/usr/bin/env bats
# Concurrency: teu processes acting on one container are serialized by a
# flock on its state dir; a create killed at any point leaves something
# delete --force removes entirely.
load helpers
load lifecycle

# hold_lock ID: hold the flock on ID's state dir from the test, until
# release_lock. Sets LOCK_PID.
hold_lock() {
	rm -f "$TEST_ROOT/locked" "$TEST_ROOT/release"
	flock "$TEU_ROOT/$1" sh -c "touch '$TEST_ROOT/locked'; while [ ! -e '$TEST_ROOT/release' ]; do sleep 0.02; done" &
	LOCK_PID=$!
	own_pid "$LOCK_PID"
	wait_for test -e "$TEST_ROOT/locked"
}

release_lock() {
	touch "$TEST_ROOT/release"
	wait "$LOCK_PID"
}

# still_running PID: PID has not exited (is not a zombie).
still_running() {
	! pid_gone "$1"
}

@test "lock: delete waits for the container's lock, then proceeds" {
	set_args sleep 100
	teu create --bundle "$BUNDLE" c1
	teu start c1
	pid=$(state_of c1 pid)
	hold_lock c1
	teu_bg delete --force c1
	del=$BG_PID
	# Give delete every chance to go ahead (it must not).
	sleep 0.5
	still_running "$del"
	[ -d "$TEU_ROOT/c1" ]
	[ -d "/proc/$pid" ]
	# state, list and kill do not take the lock: engines poll them.
	[ "$(state_of c1 status)" = running ]
	[ "$(teu list -q)" = c1 ]
	release_lock
	wait "$del"
	[ ! -e "$TEU_ROOT/c1" ]
	pid_gone "$pid"
}

@test "lock: start waits for the container's lock" {
	share_dir
	set_args sh -c 'touch /shared/ran; sleep 100'
	teu create --bundle "$BUNDLE" c1
	hold_lock c1
	teu_bg start c1
	st=$BG_PID
	sleep 0.3
	still_running "$st"
	[ ! -e "$SHARED/ran" ]
	[ "$(state_of c1 status)" = created ]
	release_lock
	wait "$st"
	wait_for test -e "$SHARED/ran"
	[ "$(state_of c1 status)" = running ]
}

@test "lock: two delete --force at once both succeed, and all is gone" {
	set_args sleep 100
	teu create --bundle "$BUNDLE" c1
	teu start c1
	pid=$(state_of c1 pid)
	teu_bg delete --force c1
	a=$BG_PID
	teu_bg delete --force c1
	b=$BG_PID
	wait "$a"
	wait "$b"
	[ ! -e "$TEU_ROOT/c1" ]
	pid_gone "$pid"
}

@test "lock: of simultaneous creates of one id exactly one wins" {
	set_args sleep 100
	for i in 1 2 3 4 5; do
		"$TEU_BIN" --root "$TEU_ROOT" create --bundle "$BUNDLE" c1 >"$TEST_ROOT/out$i" 2>&1 &
		pids[$i]=$!
		own_pid "${pids[$i]}"
	done
	ok=0
	for i in 1 2 3 4 5; do
		if wait "${pids[$i]}"; then
			ok=$((ok + 1))
		else
			[ "$(wc -l <"$TEST_ROOT/out$i")" -eq 1 ]
			grep -q "already exists" "$TEST_ROOT/out$i"
		fi
	done
	[ "$ok" -eq 1 ]
	[ "$(state_of c1 status)" = created ]
	# One init only.
	[ "$(procs_in_test_root)" = "$(state_of c1 pid)" ]
}

# hook_sleeper KIND: a KIND hook that records the container's state, then
# sleeps: a create stuck at that point. A hook that runs on the host
# (prestart, createRuntime) records its pid for the teardown to kill; a
# createContainer hook runs in the container's pid namespace, where its $$
# means nothing on the host: it dies with the container.
hook_sleeper() {
	local rec=
	case $1 in prestart | createRuntime) rec="echo \$\$ >'$TEST_ROOT/hook.pid'" ;; esac
	cat >"$TEST_ROOT/hook.sh" <<-EOF
		#!/bin/sh
		cat >"$TEST_ROOT/hook.state"
		$rec
		touch "$TEST_ROOT/hook.ran"
		exec sleep 100
	EOF
	chmod 755 "$TEST_ROOT/hook.sh"
	own_pid_file "$TEST_ROOT/hook.pid"
	update_config ".hooks.$1 = [{\"path\": \"$TEST_ROOT/hook.sh\"}]"
}

# ns_pids PID: host pids of the processes in PID's pid namespace.
ns_pids() {
	local ns d
	ns=$(readlink /proc/$1/ns/pid) || return 0
	for d in /proc/[0-9]*; do
		if [ "$(readlink $d/ns/pid 2>/dev/null)" = "$ns" ]; then echo "${d#/proc/}"; fi
	done
}

# killed_create_is_deleted: kill -9 the create in $BG_PID once the hook
# runs; delete --force must then remove the state dir and the init.
killed_create_is_deleted() {
	wait_for test -e "$TEST_ROOT/hook.ran"
	init=$(jq -r .pid "$TEST_ROOT/hook.state")
	[ "$init" -gt 1 ]
	[ "$init" = "$(state_of c1 pid)" ]
	inside=$(ns_pids "$init")
	kill -9 "$BG_PID"
	wait "$BG_PID" || true
	# The container is listed, not running.
	[ "$(teu list -q)" = c1 ]
	st=$(state_of c1 status)
	[ "$st" != running ]
	[ "$st" != created ]
	run teu start c1
	assert_one_error_line
	run teu delete --force c1
	[ "$status" -eq 0 ]
	[ ! -e "$TEU_ROOT/c1" ]
	wait_for pid_gone "$init"
	for p in $inside; do wait_for pid_gone "$p"; done
	if [ -s "$TEST_ROOT/hook.pid" ]; then
		kill -9 "$(cat "$TEST_ROOT/hook.pid")"
		wait_for pid_gone "$(cat "$TEST_ROOT/hook.pid")"
	fi
	assert_nothing_left c1
	[ -z "$(teu list -q)" ]
}

@test "lock: create killed during a createRuntime hook; delete --force removes it all" {
	set_args sleep 100
	hook_sleeper createRuntime
	teu_bg create --bundle "$BUNDLE" c1
	killed_create_is_deleted
}

@test "lock: create killed during a prestart hook; delete --force removes it all" {
	set_args sleep 100
	hook_sleeper prestart
	teu_bg create --bundle "$BUNDLE" c1
	killed_create_is_deleted
}

@test "lock: create killed during a createContainer hook; delete --force removes it all" {
	set_args sleep 100
	hook_sleeper createContainer
	teu_bg create --bundle "$BUNDLE" c1
	killed_create_is_deleted
}

@test "lock: a create whose hook dies cleans up after itself" {
	set_args sleep 100
	hook_sleeper createRuntime
	teu_bg create --bundle "$BUNDLE" c1
	wait_for test -s "$TEST_ROOT/hook.pid"
	init=$(jq -r .pid "$TEST_ROOT/hook.state")
	# Let the hook fail: create goes on, the init gets ready.
	kill -9 "$(cat "$TEST_ROOT/hook.pid")"
	wait "$BG_PID" || true
	# (The hook was killed, so create failed and cleaned up: nothing left.)
	assert_nothing_left c1
	pid_gone "$init"
}

@test "lock: a state dir without state (create killed at once) is listed and deleted" {
	set_args sleep 100
	mkdir -p "$TEU_ROOT/ghost"
	[ "$(teu list -q)" = ghost ]
	run teu state ghost
	[ "$status" -eq 0 ]
	[ "$(jq -r .pid <<<"$output")" = 0 ]
	run teu start ghost
	assert_one_error_line
	run teu delete --force ghost
	[ "$status" -eq 0 ]
	[ ! -e "$TEU_ROOT/ghost" ]
}

@test "lock: delete waits for a create in progress, then deletes what it made" {
	set_args sleep 100
	hook_sleeper createRuntime
	teu_bg create --bundle "$BUNDLE" c1
	cr=$BG_PID
	wait_for test -s "$TEST_ROOT/hook.pid"
	init=$(jq -r .pid "$TEST_ROOT/hook.state")
	# create holds the lock all along.
	refute flock -n "$TEU_ROOT/c1" true
	teu_bg delete --force c1
	del=$BG_PID
	sleep 0.3
	still_running "$del"
	# The hook returns: create finishes, then delete goes ahead.
	kill -TERM "$(cat "$TEST_ROOT/hook.pid")"
	wait "$cr" || true
	wait "$del"
	[ ! -e "$TEU_ROOT/c1" ]
	wait_for pid_gone "$init"
	assert_nothing_left c1
}
