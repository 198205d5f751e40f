#!/usr/bin/env bats
# teu state: runc's JSON, field for field.
load helpers
load lifecycle

@test "state: runc's keys, in runc's order" {
	set_args sleep 100
	teu create --bundle "$BUNDLE" c1
	run teu state c1
	[ "$status" -eq 0 ]
	[ "$(jq -c keys_unsorted <<<"$output")" = '["ociVersion","id","pid","status","bundle","rootfs","created","owner"]' ]
	[ "$(jq -r .ociVersion <<<"$output")" = 1.3.0 ]
	[ "$(jq -r .id <<<"$output")" = c1 ]
	[ "$(jq -r .status <<<"$output")" = created ]
	[ "$(jq -r .bundle <<<"$output")" = "$BUNDLE" ]
	[ "$(jq -r .rootfs <<<"$output")" = "$BUNDLE/rootfs" ]
	[ "$(jq -r .owner <<<"$output")" = root ]
	[ "$(jq -r '.pid | type' <<<"$output")" = number ]
	[ -d "/proc/$(jq -r .pid <<<"$output")" ]
	# created: RFC 3339 in UTC, within the last minute.
	created=$(jq -r .created <<<"$output")
	[[ "$created" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$ ]]
	t=$(date -d "$created" +%s)
	[ $(($(date +%s) - t)) -lt 60 ]
	# Indented like runc's.
	[ "${lines[0]}" = "{" ]
	[ "${lines[1]}" = '  "ociVersion": "1.3.0",' ]
}

@test "state: annotations from config.json, between created and owner" {
	set_args sleep 100
	update_config '.annotations = {"org.example.key": "value", "other": "x y"}'
	teu create --bundle "$BUNDLE" c1
	run teu state c1
	[ "$status" -eq 0 ]
	[ "$(jq -c keys_unsorted <<<"$output")" = '["ociVersion","id","pid","status","bundle","rootfs","created","annotations","owner"]' ]
	[ "$(jq -c .annotations <<<"$output")" = '{"org.example.key":"value","other":"x y"}' ]
}

@test "state: created, running, stopped with pid 0" {
	share_dir
	set_args sh -c 'while [ ! -e /shared/go ]; do sleep 0.05; done'
	teu create --bundle "$BUNDLE" c1
	pid=$(state_of c1 pid)
	[ "$(state_of c1 status)" = created ]
	teu start c1
	[ "$(state_of c1 status)" = running ]
	[ "$(state_of c1 pid)" = "$pid" ]
	touch "$SHARED/go"
	wait_status c1 stopped
	[ "$(state_of c1 pid)" = 0 ]
	# Everything else stays.
	[ "$(state_of c1 id)" = c1 ]
	[ "$(state_of c1 bundle)" = "$BUNDLE" ]
}

@test "state: a container that does not exist is one error line" {
	run teu state nope
	assert_one_error_line
	[[ "$output" == *nope* ]]
	[[ "$output" == *"does not exist"* ]]
	[ ! -e "$TEU_ROOT/nope" ]
}

@test "state: an invalid id is refused, not looked up" {
	mkdir -p "$TEU_ROOT"
	for id in ../state "a/b" .. . "x y" ""; do
		run teu state "$id"
		assert_one_error_line
	done
}

@test "state: checks its arguments" {
	run teu state
	assert_one_error_line
	run teu state a b
	assert_one_error_line
}

@test "state: a recycled pid does not make a stopped container look alive" {
	set_args true
	teu create --bundle "$BUNDLE" c1
	teu start c1
	wait_status c1 stopped
	# Point the state at a live process (this shell): its start time differs.
	st=$TEU_ROOT/c1/state.json
	jq --argjson p $$ '.init_pid = $p' "$st" >"$st.new" && mv "$st.new" "$st"
	[ "$(state_of c1 status)" = stopped ]
	[ "$(state_of c1 pid)" = 0 ]
	run teu kill c1 KILL
	assert_one_error_line
	# And delete does not kill that process.
	teu delete c1
	[ -d /proc/$$ ]
}
