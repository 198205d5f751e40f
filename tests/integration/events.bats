#!/usr/bin/env bats
# teu events: stats snapshots in runc's shape and OOM notifications, on
# cgroup v1 and v2 (where PSI and memory.peak show too).
load helpers
load cgroup_helpers

setup() {
	require_cgroups
	new_bundle
	set_cgroup_path ev
}

@test "events --stats: one runc-shaped snapshot" {
	set_resources '{"memory":{"limit":67108864,"swap":67108864},"pids":{"limit":50}}'
	set_args sh -c 'sleep 100 & i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; wait'
	teu run -d --bundle "$BUNDLE" ev
	wait_for nprocs_at_least ev 2
	run teu events --stats ev
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	echo "$output" | jq -e '.type == "stats" and .id == "ev"'
	echo "$output" | jq -e '.data.memory.usage.limit == 67108864 and .data.memory.usage.usage > 0'
	# swap is memory+swap, as runc reports it on both versions
	echo "$output" | jq -e '.data.memory.swap.limit == 67108864'
	echo "$output" | jq -e '.data.pids.current == 2 and .data.pids.limit == 50'
	echo "$output" | jq -e '.data.cpu.usage.total > 0'
	echo "$output" | jq -e '.data.cpu | has("throttling")'
	echo "$output" | jq -e '.data | has("blkio") and has("hugetlb") and has("cpuset")'
	if [ -n "$CG_V2" ]; then
		# memory.stat's keys as they are (anon, file, ...), no per-CPU usage
		echo "$output" | jq -e '.data.memory.raw | has("anon") and has("file")'
		echo "$output" | jq -e '.data.cpu.usage.user > 0 or .data.cpu.usage.kernel > 0'
	else
		echo "$output" | jq -e '.data.memory.raw | has("rss")'
		echo "$output" | jq -e '(.data.cpu.usage.percpu | length) > 0'
	fi
}

@test "events --stats: v2: PSI (cpu, memory, io pressure) in runc's shape, and memory.peak as usage.max" {
	require_cgroup_v2 "PSI and memory.peak are v2 files"
	set_resources '{"cpu":{"quota":1000,"period":100000}}'
	# A busy loop at 1% of a CPU stalls: "some" cpu pressure grows.
	set_args sh -c 'while :; do :; done'
	teu run -d --bundle "$BUNDLE" ev
	d=$(cg_dir ev cpu)
	[ -e "$d/cpu.pressure" ] || skip "kernel without PSI (CONFIG_PSI, psi=1)"
	has_stall() { [ "$(awk '$1 == "some" { sub("total=", "", $5); print $5 }' "$d/cpu.pressure")" -gt 0 ]; }
	wait_for has_stall
	run teu events --stats ev
	[ "$status" -eq 0 ]
	# Every pressure file is reported (an all-zero "some" or "full" is left
	# out, as runc leaves it out); the cpu one has stalls.
	for r in cpu memory blkio; do
		echo "$output" | jq -e --arg r "$r" '.data[$r].psi | type == "object"'
	done
	echo "$output" | jq -e '.data.cpu.psi.some | has("avg10") and has("avg60") and has("avg300") and .total > 0'
	# the same numbers the kernel shows (total only grows)
	[ "$(echo "$output" | jq .data.cpu.psi.some.total)" -le "$(awk '$1 == "some" { sub("total=", "", $5); print $5 }' "$d/cpu.pressure")" ]
	if [ -e "$d/memory.peak" ]; then
		echo "$output" | jq -e '.data.memory.usage.max > 0 and .data.memory.usage.max >= .data.memory.usage.usage'
	fi
}

@test "events: streams stats every --interval and ends when the container exits" {
	mkdir "$TEST_ROOT/shared"
	update_config ".mounts += [{\"destination\":\"/shared\",\"type\":\"bind\",\"source\":\"$TEST_ROOT/shared\",\"options\":[\"rbind\",\"rw\"]}]"
	set_args sh -c 'while [ ! -e /shared/stop ]; do sleep 0.05; done'
	teu run -d --bundle "$BUNDLE" ev
	teu events --interval 100ms ev > "$TEST_ROOT/events" &
	evpid=$!
	wait_for lines_at_least "$TEST_ROOT/events" 3
	touch "$TEST_ROOT/shared/stop"
	# events returns by itself once the init is gone.
	wait $evpid
	jq -e -s 'all(.type == "stats" and .id == "ev")' "$TEST_ROOT/events"
}

@test "events: a memory hog's OOM kill is reported" {
	mkdir "$TEST_ROOT/shared"
	update_config ".mounts += [{\"destination\":\"/shared\",\"type\":\"bind\",\"source\":\"$TEST_ROOT/shared\",\"options\":[\"rbind\",\"rw\"]}]"
	set_resources '{"memory":{"limit":16777216,"swap":16777216}}'
	# The hog starts when the test says so, and the shell (the init) outlives it.
	set_args sh -c 'while [ ! -e /shared/go ]; do sleep 0.05; done; tail /dev/zero; echo "hog $?" > /shared/done; sleep 100'
	teu run -d --bundle "$BUNDLE" ev
	teu events --interval 200ms ev > "$TEST_ROOT/events" &
	evpid=$!
	# A stats line means the OOM notification is registered.
	wait_for grep -q '"type":"stats"' "$TEST_ROOT/events"
	touch "$TEST_ROOT/shared/go"
	wait_for test -e "$TEST_ROOT/shared/done"
	[ "$(cat "$TEST_ROOT/shared/done")" = "hog 137" ]
	wait_for grep -q '"type":"oom"' "$TEST_ROOT/events"
	grep '"type":"oom"' "$TEST_ROOT/events" | head -1 | jq -e '.id == "ev" and (has("data") | not)'
	kill $evpid
	wait $evpid || true
	# and the counter agrees
	[ "$(oom_kills ev)" -ge 1 ]
}

@test "events: errors: a stopped container, a bad interval" {
	set_args true
	teu create --bundle "$BUNDLE" ev
	run teu events --interval 0s ev
	assert_one_error_line
	[[ "$output" == *"greater than 0"* ]]
	teu start ev
	wait_status ev stopped
	run teu events --stats ev
	assert_one_error_line
	[[ "$output" == *"not running"* ]]
}
