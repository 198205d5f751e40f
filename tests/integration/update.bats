#!/usr/bin/env bats
# teu update: runc 1.1's flags and --resources.
load helpers
load cgroup_helpers

setup() {
	require_cgroup_v1
	new_bundle
	set_cgroup_path upd
	set_resources '{"memory":{"limit":33554432,"swap":67108864},"pids":{"limit":20},"cpu":{"shares":100}}'
	set_args sleep 100
	teu run -d --bundle "$BUNDLE" upd
}

@test "update: every cgroup v1 flag lands in its file" {
	# Weight files exist only with an I/O scheduler that has weights (bfq).
	weight=(--blkio-weight 500)
	[ -e /sys/fs/cgroup/blkio/blkio.weight ] || [ -e /sys/fs/cgroup/blkio/blkio.bfq.weight ] || weight=()
	teu update --memory 64M --memory-swap 128m --memory-reservation 16m \
		--cpu-share 512 --cpu-period 200000 --cpu-quota 50000 \
		--cpuset-cpus 0 --cpuset-mems 0 --pids-limit 40 "${weight[@]}" upd
	[ "$(cg_read upd memory memory.limit_in_bytes)" -eq 67108864 ]
	[ "$(cg_read upd memory memory.memsw.limit_in_bytes)" -eq 134217728 ]
	[ "$(cg_read upd memory memory.soft_limit_in_bytes)" -eq 16777216 ]
	[ "$(cg_read upd cpu cpu.shares)" -eq 512 ]
	[ "$(cg_read upd cpu cpu.cfs_period_us)" -eq 200000 ]
	[ "$(cg_read upd cpu cpu.cfs_quota_us)" -eq 50000 ]
	[ "$(cg_read upd cpuset cpuset.cpus)" = 0 ]
	[ "$(cg_read upd cpuset cpuset.mems)" = 0 ]
	[ "$(cg_read upd pids pids.max)" -eq 40 ]
	if [ ${#weight[@]} -gt 0 ]; then
		d=$(cg_dir upd blkio)
		w=$d/blkio.weight; [ -e "$w" ] || w=$d/blkio.bfq.weight
		grep -q 500 "$w"
	fi
	# ... and the saved config follows, for a later update or state.
	jq -e '.linux.resources | .memory.limit == 67108864 and .pids.limit == 40 and .cpu.shares == 512' "$TEU_ROOT/upd/config.json"
}

@test "update: lowering memory below swap and raising above it both work (write order)" {
	teu update --memory 16m upd
	[ "$(cg_read upd memory memory.limit_in_bytes)" -eq 16777216 ]
	# memory and memsw both above the current memsw: memsw goes first.
	teu update --memory 256m --memory-swap 512m upd
	[ "$(cg_read upd memory memory.limit_in_bytes)" -eq 268435456 ]
	[ "$(cg_read upd memory memory.memsw.limit_in_bytes)" -eq 536870912 ]
	# and back down: memory first.
	teu update --memory 32m --memory-swap 48m upd
	[ "$(cg_read upd memory memory.limit_in_bytes)" -eq 33554432 ]
	[ "$(cg_read upd memory memory.memsw.limit_in_bytes)" -eq 50331648 ]
	# -1: unlimited
	teu update --memory -1 --memory-swap -1 upd
	[ "$(cg_read upd memory memory.limit_in_bytes)" -gt 1000000000000 ]
}

@test "update: the new limit is visible inside the container" {
	teu update --pids-limit 7 upd
	# The container's cgroup namespace view is the same cgroup.
	pid=$(teu state upd | jq .pid)
	[ "$(cat /proc/$pid/root/sys/fs/cgroup/pids/pids.max)" -eq 7 ]
}

@test "update --resources FILE and -" {
	echo '{"memory":{"limit":50331648},"cpu":{"quota":30000,"period":100000},"pids":{"limit":33}}' > "$TEST_ROOT/r.json"
	teu update --resources "$TEST_ROOT/r.json" upd
	[ "$(cg_read upd memory memory.limit_in_bytes)" -eq 50331648 ]
	[ "$(cg_read upd cpu cpu.cfs_quota_us)" -eq 30000 ]
	[ "$(cg_read upd pids pids.max)" -eq 33 ]
	echo '{"pids":{"limit":44}}' | teu update -r - upd
	[ "$(cg_read upd pids pids.max)" -eq 44 ]
	# fields left out are untouched
	[ "$(cg_read upd memory memory.limit_in_bytes)" -eq 50331648 ]
}

@test "update: a cpu quota alone keeps the period" {
	teu update --cpu-period 250000 --cpu-quota 100000 upd
	teu update --cpu-quota 20000 upd
	[ "$(cg_read upd cpu cpu.cfs_period_us)" -eq 250000 ]
	[ "$(cg_read upd cpu cpu.cfs_quota_us)" -eq 20000 ]
}

@test "update: realtime period and runtime" {
	[ -e /sys/fs/cgroup/cpu/cpu.rt_runtime_us ] || skip "kernel without RT group scheduling"
	# Only a cgroup right under the root has RT time to take.
	id=$CG_PARENT-rt
	update_config '.linux.cgroupsPath = ""'
	teu run -d --bundle "$BUNDLE" "$id"
	teu update --cpu-rt-period 900000 --cpu-rt-runtime 2000 "$id"
	[ "$(cg_read "$id" cpu cpu.rt_period_us)" -eq 900000 ]
	[ "$(cg_read "$id" cpu cpu.rt_runtime_us)" -eq 2000 ]
}

@test "update: bad values and Intel RDT without resctrl are one-line errors" {
	run teu update --memory lots upd
	assert_one_error_line
	[[ "$output" == *"invalid value for memory"* ]]
	run teu update --cpu-share -5 upd
	assert_one_error_line
	run teu update --cpuset-cpus 4096 upd
	assert_one_error_line
	[[ "$output" == *cpuset.cpus* ]]
	if [ ! -d /sys/fs/resctrl/info ]; then
		run teu update --l3-cache-schema 'L3:0=f' upd
		assert_one_error_line
		[[ "$output" == *"l3 cache schema is not enabled"* ]]
		run teu update --mem-bw-schema 'MB:0=50' upd
		assert_one_error_line
		[[ "$output" == *"memory bandwidth schema is not enabled"* ]]
	fi
}

@test "update: a memory limit below usage fails with the usage" {
	teu delete --force upd
	set_resources '{"memory":{"limit":67108864,"swap":67108864}}'
	# Hold ~24 MiB in tmpfs: charged to the cgroup, not reclaimable (no swap).
	set_args sh -c 'head -c 25000000 /dev/zero > /dev/shm/f; echo held; sleep 100'
	teu run -d --bundle "$BUNDLE" upd > "$TEST_ROOT/out"
	wait_for grep -q held "$TEST_ROOT/out"
	run teu update --memory 4m --memory-swap 4m upd
	[ "$status" -eq 1 ]
	[[ "$output" == *"unable to set memory limit to 4194304 (current usage: "* ]]
	[ "$(cg_read upd memory memory.limit_in_bytes)" -eq 67108864 ]
}

@test "update: kernel memory flags are ignored with a warning" {
	run teu update --kernel-memory 10m upd
	[ "$status" -eq 0 ]
	[[ "$output" == *"kernel memory"*"ignored"* ]]
}

@test "update: a stopped container cannot be updated" {
	teu kill upd KILL
	wait_status upd stopped
	run teu update --memory 64m upd
	assert_one_error_line
	[[ "$output" == *"not running"* ]]
}
