#!/usr/bin/env bats
# teu ps: the processes in the container's cgroup (v1 and v2).
load helpers
load cgroup_helpers

setup() {
	require_cgroups
	new_bundle
	set_cgroup_path ps
	set_args sh -c 'sleep 1001 & sleep 1002 & wait'
	teu run -d --bundle "$BUNDLE" ps
	wait_for nprocs_at_least ps 3
}

@test "ps: table is ps -ef's header and the container's lines" {
	run teu ps ps
	[ "$status" -eq 0 ]
	# ps -ef's own header (procps: UID PID PPID ... CMD; busybox: PID USER TIME COMMAND)
	[ "${lines[0]}" = "$(ps -ef | head -1)" ]
	[ "${#lines[@]}" -eq 4 ]
	[[ "$output" == *"sleep 1001"* ]]
	[[ "$output" == *"sleep 1002"* ]]
	init=$(teu state ps | jq .pid)
	col=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "PID") print i }' <<<"${lines[0]}")
	printf '%s\n' "${lines[@]:1}" | awk -v c="$col" '{print $c}' | grep -qx "$init"
}

@test "ps: options after the id go to ps" {
	run teu ps ps -o pid,comm
	[ "$status" -eq 0 ]
	[ "$(echo "${lines[0]}" | awk '{print $1, $2}')" = "PID COMMAND" ]
	[ "${#lines[@]}" -eq 4 ]
	[ "$(printf '%s\n' "${lines[@]:1}" | awk '{print $2}' | sort | tr '\n' ' ')" = "sh sleep sleep " ]
}

@test "ps --format json: an array of host pids" {
	run teu ps --format json ps
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq length)" -eq 3 ]
	init=$(teu state ps | jq .pid)
	echo "$output" | jq -e --argjson p "$init" 'index($p) != null'
	[ "$(echo "$output" | jq -c 'sort')" = "$(sort -n "$(cg_dir ps pids)/cgroup.procs" | jq -s -c .)" ]
	run teu ps -f json ps
	[ "$status" -eq 0 ]
}

@test "ps: errors are one line" {
	run teu ps --format yaml ps
	assert_one_error_line
	run teu ps nosuch
	assert_one_error_line
	run teu ps
	assert_one_error_line
}
