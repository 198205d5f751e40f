#!/usr/bin/env bats
# teu list: runc's table, JSON and -q.
load helpers
load lifecycle

@test "list: an empty root prints only runc's header; a missing --root is an error (runc)" {
	run teu list
	[ "$status" -eq 1 ]
	[[ "$output" == "teu: list: "*"$TEU_ROOT"*"no such file or directory" ]]
	mkdir -p "$TEU_ROOT"
	run teu list
	[ "$status" -eq 0 ]
	[ "$output" = "ID          PID         STATUS      BUNDLE      CREATED     OWNER" ]
	run teu list -q
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run teu list --format json
	[ "$status" -eq 0 ]
	[ "$(jq -c . <<<"$output")" = "[]" ]
}

@test "list: the table has one row per container, in id order" {
	set_args sleep 100
	teu create --bundle "$BUNDLE" zeta
	teu create --bundle "$BUNDLE" alpha
	teu start alpha
	run teu list
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[0]}" =~ ^ID\ +PID\ +STATUS\ +BUNDLE\ +CREATED\ +OWNER$ ]]
	read -r id pid st bundle created owner <<<"${lines[1]}"
	[ "$id" = alpha ]
	[ "$pid" = "$(state_of alpha pid)" ]
	[ "$st" = running ]
	[ "$bundle" = "$BUNDLE" ]
	[ "$created" = "$(state_of alpha created)" ]
	[ "$owner" = root ]
	read -r id pid st bundle created owner <<<"${lines[2]}"
	[ "$id" = zeta ]
	[ "$st" = created ]
	# Columns line up (tabwriter, as runc): STATUS starts at the same offset.
	h=${lines[0]%%STATUS*}
	r=${lines[1]%%running*}
	[ "${#h}" -eq "${#r}" ]
}

@test "list --format json: an array of states" {
	set_args sleep 100
	update_config '.annotations = {"k": "v"}'
	teu create --bundle "$BUNDLE" c1
	teu create --bundle "$BUNDLE" c2
	teu start c2
	run teu list --format json
	[ "$status" -eq 0 ]
	[ "$(jq -r 'type' <<<"$output")" = array ]
	[ "$(jq length <<<"$output")" -eq 2 ]
	[ "$(jq -c '[.[].id]' <<<"$output")" = '["c1","c2"]' ]
	[ "$(jq -c '[.[].status]' <<<"$output")" = '["created","running"]' ]
	[ "$(jq -c '.[0] | keys_unsorted' <<<"$output")" = '["ociVersion","id","pid","status","bundle","rootfs","created","annotations","owner"]' ]
	[ "$(jq -r '.[1].pid' <<<"$output")" = "$(state_of c2 pid)" ]
	[ "$(jq -r '.[1].bundle' <<<"$output")" = "$BUNDLE" ]
	# -f is --format.
	run teu list -f json
	[ "$(jq length <<<"$output")" -eq 2 ]
}

@test "list -q: only the ids" {
	set_args sleep 100
	teu create --bundle "$BUNDLE" b
	teu create --bundle "$BUNDLE" a
	run teu list -q
	[ "$status" -eq 0 ]
	[ "$output" = "a
b" ]
	run teu list --quiet
	[ "$output" = "a
b" ]
}

@test "list: a stopped container shows pid 0" {
	set_args true
	teu create --bundle "$BUNDLE" c1
	teu start c1
	wait_status c1 stopped
	run teu list
	read -r id pid st _ <<<"${lines[1]}"
	[ "$id $pid $st" = "c1 0 stopped" ]
}

@test "list: an invalid --format is an error" {
	run teu list --format xml
	assert_one_error_line
	[[ "$output" == *xml* ]]
	run teu list --format
	assert_one_error_line
	run teu list extra
	assert_one_error_line
}

@test "list: ignores what is not a container" {
	set_args sleep 100
	teu create --bundle "$BUNDLE" c1
	touch "$TEU_ROOT/a-file"
	mkdir "$TEU_ROOT/not a container"
	run teu list -q
	[ "$output" = c1 ]
}

@test "list: --root is respected" {
	set_args sleep 100
	teu create --bundle "$BUNDLE" c1
	mkdir "$TEST_ROOT/other"
	run "$TEU_BIN" --root "$TEST_ROOT/other" list -q
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -d "$TEU_ROOT/c1" ]
	# And every command uses it.
	run "$TEU_BIN" --root "$TEST_ROOT/other" state c1
	assert_one_error_line
	[ "$(state_of c1 status)" = created ]
}
