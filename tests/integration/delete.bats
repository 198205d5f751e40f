#!/usr/bin/env bats
# teu delete: what can be deleted, with and without --force, and how fast.
load helpers
load lifecycle

@test "delete: a stopped container goes, state and all" {
	set_args true
	teu create --bundle "$BUNDLE" c1
	teu start c1
	wait_status c1 stopped
	run teu delete c1
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ ! -e "$TEU_ROOT/c1" ]
	[ -z "$(teu list -q)" ]
	run teu state c1
	assert_one_error_line
}

@test "delete: a running container without --force is refused and keeps running" {
	set_args sleep 100
	teu create --bundle "$BUNDLE" c1
	teu start c1
	pid=$(state_of c1 pid)
	run teu delete c1
	assert_one_error_line
	[[ "$output" == *c1*running* ]]
	[ "$(state_of c1 status)" = running ]
	[ -d "/proc/$pid" ]
	[ -d "$TEU_ROOT/c1" ]
}

@test "delete --force: a running container is killed and removed, quickly" {
	set_args sh -c 'trap "" TERM; sleep 100 & sleep 100 & wait'
	teu create --bundle "$BUNDLE" c1
	teu start c1
	init=$(state_of c1 pid)
	ns=$(readlink /proc/$init/ns/pid)
	pids=()
	for d in /proc/[0-9]*; do
		[ "$(readlink $d/ns/pid 2>/dev/null)" = "$ns" ] && pids+=("${d#/proc/}")
	done
	t0=$(now_ms)
	run teu delete --force c1
	t1=$(now_ms)
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	echo "delete --force took $((t1 - t0))ms"
	# Waits on a pidfd: no 100ms polling loops. (A TCG guest is slower:
	# TEU_WAIT_SCALE.)
	[ $((t1 - t0)) -lt $((1000 * ${TEU_WAIT_SCALE:-1})) ]
	[ ! -e "$TEU_ROOT/c1" ]
	# Every process of the container is gone by the time delete returns.
	for p in "${pids[@]}"; do pid_gone "$p"; done
	[ -z "$(teu list -q)" ]
}

@test "delete -f is --force" {
	set_args sleep 100
	teu create --bundle "$BUNDLE" c1
	teu start c1
	pid=$(state_of c1 pid)
	teu delete -f c1
	[ ! -e "$TEU_ROOT/c1" ]
	pid_gone "$pid"
}

@test "delete: a created container is refused without --force and left intact; --force deletes it before its process runs" {
	# runtime-spec "delete": not stopped MUST fail and have no effect
	# (runc and crun delete a created container anyway).
	share_dir
	set_args sh -c 'touch /shared/ran'
	teu create --bundle "$BUNDLE" c1
	pid=$(state_of c1 pid)
	run teu delete c1
	echo "$output"
	assert_one_error_line
	[[ "$output" == *"not stopped: created"* ]]
	[ "$(state_of c1 status)" = created ]
	run teu delete --force c1
	[ "$status" -eq 0 ]
	[ ! -e "$TEU_ROOT/c1" ]
	pid_gone "$pid"
	[ ! -e "$SHARED/ran" ]

	# And a refused one still starts.
	teu create --bundle "$BUNDLE" c2
	run teu delete c2
	assert_one_error_line
	teu start c2
	wait_status c2 stopped
	[ -e "$SHARED/ran" ]
	teu delete c2
}

@test "delete --force: a container that does not exist is no error (runc)" {
	run teu delete --force nope
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ ! -e "$TEU_ROOT/nope" ]
}

@test "delete: a container that does not exist is one error line" {
	run teu delete nope
	assert_one_error_line
	[[ "$output" == *nope*"does not exist"* ]]
}

@test "delete: an invalid id is refused, even with --force" {
	mkdir -p "$TEU_ROOT"
	for id in .. . "a/b" ../state "" "x y"; do
		run teu delete --force "$id"
		assert_one_error_line
	done
	[ -d "$TEU_ROOT" ]
}

@test "delete: other containers are left alone" {
	set_args sleep 100
	teu create --bundle "$BUNDLE" c1
	teu create --bundle "$BUNDLE" c2
	teu start c2
	teu delete --force c1
	[ "$(teu list -q)" = c2 ]
	[ "$(state_of c2 status)" = running ]
}

@test "delete: a container killed by a signal is deleted without --force" {
	set_args sleep 100
	teu create --bundle "$BUNDLE" c1
	teu start c1
	teu kill c1 KILL
	wait_status c1 stopped
	teu delete c1
	[ ! -e "$TEU_ROOT/c1" ]
}
