#!/usr/bin/env bats
# teu start: releases a created container, once.
load helpers
load lifecycle

@test "start: a created container runs, and its process runs only now" {
	share_dir
	set_args sh -c 'date +%s%N >/shared/ran; exec sleep 100'
	teu create --bundle "$BUNDLE" c1
	[ ! -e "$SHARED/ran" ]
	[ "$(state_of c1 status)" = created ]
	run teu start c1
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	wait_for test -s "$SHARED/ran"
	[ "$(state_of c1 status)" = running ]
}

@test "start: twice is an error, and the container keeps running" {
	set_args sleep 100
	teu create --bundle "$BUNDLE" c1
	teu start c1
	run teu start c1
	assert_one_error_line
	[[ "$output" == *c1* ]]
	[[ "$output" == *running* ]]
	[ "$(state_of c1 status)" = running ]
}

@test "start: a stopped container cannot be started" {
	set_args true
	teu create --bundle "$BUNDLE" c1
	teu start c1
	wait_status c1 stopped
	run teu start c1
	assert_one_error_line
	[[ "$output" == *stopped* ]]
	[ "$(state_of c1 status)" = stopped ]
}

@test "start: a created container whose init was killed reports stopped" {
	set_args sleep 100
	teu create --bundle "$BUNDLE" c1
	pid=$(state_of c1 pid)
	kill -9 "$pid"
	wait_for pid_gone "$pid"
	[ "$(state_of c1 status)" = stopped ]
	[ "$(state_of c1 pid)" = 0 ]
	run teu start c1
	assert_one_error_line
	# And it can be deleted.
	teu delete c1
	[ ! -e "$TEU_ROOT/c1" ]
}

@test "start: a container that does not exist" {
	run teu start nope
	assert_one_error_line
	[[ "$output" == *nope* ]]
	[[ "$output" == *"does not exist"* ]]
	[ ! -e "$TEU_ROOT/nope" ]
}

@test "start: checks its arguments" {
	run teu start
	assert_one_error_line
	run teu start a b
	assert_one_error_line
	run teu start ../x
	assert_one_error_line
}

@test "start: the process's exit status does not matter to start" {
	set_args sh -c 'exit 7'
	teu create --bundle "$BUNDLE" c1
	run teu start c1
	[ "$status" -eq 0 ]
	wait_status c1 stopped
}
