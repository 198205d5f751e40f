#!/usr/bin/env bats
# linux.timeOffsets in a new time namespace.
load helpers

@test "timens: boottime and monotonic offsets shift the container's clocks" {
	update_config '.linux.namespaces += [{"type": "time"}]
		| .linux.timeOffsets = {"monotonic": {"secs": 86400, "nanosecs": 0}, "boottime": {"secs": 1728000, "nanosecs": 500}}'
	before=$(cut -d. -f1 /proc/uptime)
	run_sh 'cut -d. -f1 /proc/uptime; cat /proc/self/timens_offsets; readlink /proc/self/ns/time'
	after=$(cut -d. -f1 /proc/uptime)
	echo "$output"
	[ "$status" -eq 0 ]
	# uptime is CLOCK_BOOTTIME.
	[ "${lines[0]}" -ge $((before + 1728000)) ]
	[ "${lines[0]}" -le $((after + 1728000)) ]
	[ "$(echo ${lines[1]})" = "monotonic 86400 0" ]
	[ "$(echo ${lines[2]})" = "boottime 1728000 500" ]
	[ "${lines[3]}" != "$(readlink /proc/self/ns/time)" ]
}

@test "timens: a time namespace without offsets keeps the host's clocks" {
	update_config '.linux.namespaces += [{"type": "time"}]'
	before=$(cut -d. -f1 /proc/uptime)
	run_sh 'cut -d. -f1 /proc/uptime; readlink /proc/self/ns/time'
	after=$(cut -d. -f1 /proc/uptime)
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" -ge "$before" ]
	[ "${lines[0]}" -le "$after" ]
	[ "${lines[1]}" != "$(readlink /proc/self/ns/time)" ]
}

@test "timens: offsets without a time namespace are one clear error" {
	update_config '.linux.timeOffsets = {"boottime": {"secs": 10}}'
	run_sh 'echo ran'
	echo "$output"
	assert_one_error_line
	[[ "$output" == *"time namespace"* ]]
	[ -z "$(teu list -q)" ]
}

@test "timens: offsets with a user namespace too" {
	chmod 755 "$TEST_ROOT" # mktemp made it 0700: the mapped root must reach the bundle
	chown -R 100000:100000 "$BUNDLE/rootfs"
	update_config '.linux.namespaces += [{"type": "time"}, {"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.timeOffsets = {"boottime": {"secs": 3600, "nanosecs": 0}}'
	before=$(cut -d. -f1 /proc/uptime)
	run_sh 'cut -d. -f1 /proc/uptime'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" -ge $((before + 3600)) ]
}
