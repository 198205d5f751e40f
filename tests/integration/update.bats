#!/usr/bin/env bats
# teu update: runc's flags and --resources, on cgroup v1 and v2 (each
# test asserts its version's files).
load helpers
load cgroup_helpers

setup() {
	require_cgroups
	new_bundle
	set_cgroup_path upd
	set_resources '{"memory":{"limit":33554432,"swap":67108864},"pids":{"limit":20},"cpu":{"shares":100}}'
	set_args sleep 100
	teu run -d --bundle "$BUNDLE" upd
}

@test "update: every cgroup v1 flag lands in its file" {
	require_cgroup_v1 "v1 file names (v2 test below)"
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
	# --pids-limit 0 is given, and is 1 (runc: systemd has no TasksMax=0).
	teu update --pids-limit 0 upd
	[ "$(cg_read upd pids pids.max)" -eq 1 ]
}

@test "update: v2: every flag lands in its v2 file (cpu.weight from shares, memory.swap.max is swap only)" {
	require_cgroup_v2 "v2 file names"
	d=$(cg_dir upd memory)
	weight=(--blkio-weight 500)
	[ -e "$d/io.weight" ] || [ -e "$d/io.bfq.weight" ] || weight=()
	teu update --memory 64M --memory-swap 128m --memory-reservation 16m \
		--cpu-share 512 --cpu-period 200000 --cpu-quota 50000 \
		--cpuset-cpus 0 --cpuset-mems 0 --pids-limit 40 "${weight[@]}" upd
	[ "$(cat "$d/memory.max")" -eq 67108864 ]
	[ "$(cat "$d/memory.swap.max")" -eq 67108864 ] # 128m - 64m
	[ "$(cat "$d/memory.low")" -eq 16777216 ]
	[ "$(cat "$d/cpu.weight")" -eq "$(cpu_weight 512)" ]
	[ "$(cat "$d/cpu.max")" = "50000 200000" ]
	[ "$(cat "$d/cpuset.cpus")" = 0 ]
	[ "$(cat "$d/cpuset.mems")" = 0 ]
	[ "$(cat "$d/pids.max")" -eq 40 ]
	if [ ${#weight[@]} -gt 0 ]; then
		if [ -e "$d/io.bfq.weight" ]; then
			grep -qx 'default 500' "$d/io.bfq.weight"
		else
			grep -qx "default $((1 + (500 - 10) * 9999 / 990))" "$d/io.weight"
		fi
	fi
	jq -e '.linux.resources | .memory.limit == 67108864 and .memory.swap == 134217728 and .pids.limit == 40 and .cpu.shares == 512' "$TEU_ROOT/upd/config.json"
	# A new memory limit alone keeps memory+swap where it was: swap follows.
	teu update --memory 32m upd
	[ "$(cat "$d/memory.max")" -eq 33554432 ]
	[ "$(cat "$d/memory.swap.max")" -eq 100663296 ]
	# -1: unlimited, both
	teu update --memory -1 --memory-swap -1 upd
	[ "$(cat "$d/memory.max")" = max ]
	[ "$(cat "$d/memory.swap.max")" = max ]
	# -1 pids: no limit
	teu update --pids-limit -1 upd
	[ "$(cat "$d/pids.max")" = max ]
}

@test "update: lowering memory below swap and raising above it both work (write order)" {
	require_cgroup_v1 "memory+swap write order (v2's swap limit is separate)"
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
	[ "$(cat "/proc/$pid/root/sys/fs/cgroup/$(cg_v1v2 pids/ "")pids.max")" -eq 7 ]
}

@test "update --resources FILE and -" {
	echo '{"memory":{"limit":50331648},"cpu":{"quota":30000,"period":100000},"pids":{"limit":33}}' > "$TEST_ROOT/r.json"
	teu update --resources "$TEST_ROOT/r.json" upd
	mem=$(cg_v1v2 memory.limit_in_bytes memory.max)
	[ "$(cg_read upd memory "$mem")" -eq 50331648 ]
	if [ -n "$CG_V2" ]; then
		[ "$(cg_read upd cpu cpu.max)" = "30000 100000" ]
	else
		[ "$(cg_read upd cpu cpu.cfs_quota_us)" -eq 30000 ]
	fi
	[ "$(cg_read upd pids pids.max)" -eq 33 ]
	echo '{"pids":{"limit":44}}' | teu update -r - upd
	[ "$(cg_read upd pids pids.max)" -eq 44 ]
	# fields left out are untouched
	[ "$(cg_read upd memory "$mem")" -eq 50331648 ]
}

@test "update: a cpu quota alone keeps the period" {
	teu update --cpu-period 250000 --cpu-quota 100000 upd
	teu update --cpu-quota 20000 upd
	if [ -n "$CG_V2" ]; then
		[ "$(cg_read upd cpu cpu.max)" = "20000 250000" ]
		# and a period alone keeps the quota
		teu update --cpu-period 500000 upd
		[ "$(cg_read upd cpu cpu.max)" = "20000 500000" ]
		return
	fi
	[ "$(cg_read upd cpu cpu.cfs_period_us)" -eq 250000 ]
	[ "$(cg_read upd cpu cpu.cfs_quota_us)" -eq 20000 ]
}

@test "update --cpu-burst and --cpu-idle (cpu.max.burst, cpu.idle; v1: cpu.cfs_burst_us, cpu.idle)" {
	d=$(cg_dir upd cpu)
	burst=$(cg_v1v2 cpu.cfs_burst_us cpu.max.burst)
	[ -e "$d/$burst" ] || [ -e "$d/cpu.idle" ] || skip "kernel without CFS burst and SCHED_IDLE groups"
	teu update --cpu-period 100000 --cpu-quota 50000 upd
	if [ -e "$d/$burst" ]; then
		teu update --cpu-burst 20000 upd
		[ "$(cat "$d/$burst")" -eq 20000 ]
		# the quota is untouched
		[ "$(cg_v1v2 "$(cat "$d/cpu.cfs_quota_us")" "$(cat "$d/cpu.max")")" = "$(cg_v1v2 50000 "50000 100000")" ]
		jq -e '.linux.resources.cpu.burst == 20000' "$TEU_ROOT/upd/config.json"
		# above the quota: the kernel refuses, one line
		run teu update --cpu-burst 999999999 upd
		assert_one_error_line
		[ "$(cat "$d/$burst")" -eq 20000 ]
	fi
	if [ -e "$d/cpu.idle" ]; then
		teu update --cpu-idle 1 upd
		[ "$(cat "$d/cpu.idle")" -eq 1 ]
		teu update --cpu-idle 0 upd
		[ "$(cat "$d/cpu.idle")" -eq 0 ]
		jq -e '.linux.resources.cpu.idle == 0' "$TEU_ROOT/upd/config.json"
		run teu update --cpu-idle x upd
		assert_one_error_line
		[[ "$output" == *"invalid value for cpu-idle"* ]]
	fi
}

@test "update: realtime period and runtime" {
	require_cgroup_v1 "no RT group scheduling on v2 (refused: see the errors test)"
	[ -e /sys/fs/cgroup/cpu/cpu.rt_runtime_us ] || skip "kernel without RT group scheduling"
	# Only a cgroup right under the root has RT time to take.
	id=$CG_PARENT-rt
	update_config '.linux.cgroupsPath = ""'
	teu run -d --bundle "$BUNDLE" "$id"
	teu update --cpu-rt-period 900000 --cpu-rt-runtime 2000 "$id"
	[ "$(cg_read "$id" cpu cpu.rt_period_us)" -eq 900000 ]
	[ "$(cg_read "$id" cpu cpu.rt_runtime_us)" -eq 2000 ]
	# A period below the current runtime: the kernel takes it only after
	# the new runtime (runc issue 4094).
	teu update --cpu-rt-period 900000 --cpu-rt-runtime 600000 "$id"
	teu update --cpu-rt-period 10000 --cpu-rt-runtime 3000 "$id"
	[ "$(cg_read "$id" cpu cpu.rt_period_us)" -eq 10000 ]
	[ "$(cg_read "$id" cpu cpu.rt_runtime_us)" -eq 3000 ]
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
	if [ -n "$CG_V2" ]; then
		run teu update --cpu-rt-period 900000 --cpu-rt-runtime 2000 upd
		assert_one_error_line
		[[ "$output" == *"not supported on cgroup v2"* ]]
		run teu update -r - upd <<<'{"unified":{"memory.nosuch":"1"}}'
		assert_one_error_line
		[[ "$output" == *memory.nosuch* ]]
	else
		run teu update -r - upd <<<'{"unified":{"memory.high":"1000000"}}'
		assert_one_error_line
		[[ "$output" == *"cgroup v2"* ]]
	fi
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
	require_cgroup_v1 "v1 refuses the write (v2 reclaims, then OOM-kills: test below)"
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

@test "update: v2: a limit below usage with checkBeforeUpdate is refused (memory, memory+swap); without, the kernel OOM-kills" {
	require_cgroup_v2 "memory.max below usage: reclaim, then OOM kill"
	teu delete --force upd
	set_resources '{"memory":{"limit":67108864,"swap":67108864}}'
	share_dir_cg
	# Hold ~24 MiB in tmpfs: charged to the cgroup, not reclaimable (no swap).
	set_args sh -c 'head -c 25000000 /dev/zero > /dev/shm/f; echo held > /shared/held; sleep 100'
	teu run -d --bundle "$BUNDLE" upd
	wait_for test -e "$SHARED/held"
	d=$(cg_dir upd memory)
	run teu update -r - upd <<<'{"memory":{"limit":4194304,"checkBeforeUpdate":true}}'
	assert_one_error_line
	[[ "$output" == *"rejecting memory limit 4194304"*"usage"* ]]
	run teu update -r - upd <<<'{"memory":{"limit":4194304,"swap":8388608,"checkBeforeUpdate":true}}'
	assert_one_error_line
	[[ "$output" == *"rejecting memory+swap limit 8388608"*"usage"* ]]
	[ "$(cat "$d/memory.max")" -eq 67108864 ]
	[ "$(teu state upd | jq -r .status)" = running ]
	# Without the check the kernel takes the limit and kills to meet it.
	teu update --memory 4m --memory-swap 4m upd
	wait_status upd stopped
	[ "$(oom_kills upd)" -ge 1 ]
}

@test "update: v2: the unified map is written, merged into the saved config" {
	require_cgroup_v2 "linux.resources.unified"
	d=$(cg_dir upd memory)
	teu update -r - upd <<<'{"unified":{"memory.high":"30000000","pids.max":"25"}}'
	[ "$(cat "$d/memory.high")" -eq $((30000000 / 4096 * 4096)) ]
	[ "$(cat "$d/pids.max")" -eq 25 ]
	jq -e '.linux.resources.unified["memory.high"] == "30000000"' "$TEU_ROOT/upd/config.json"
}

@test "update: device rules from --resources replace the container's (v2: the eBPF program, atomically)" {
	teu delete --force upd
	update_config '.mounts += [{"destination": "/dev/kmsg", "type": "bind", "source": "/dev/kmsg", "options": ["bind"]}]'
	share_dir_cg
	# The container opens /dev/kmsg (c 1:11, not allowed by default) for
	# writing over and over, counting its tries, and records any success:
	# none may happen while it is denied, updates or not.
	set_args sh -c 'i=0; while :; do i=$((i+1)); if (: >/dev/kmsg) 2>/dev/null; then if [ -e /shared/allowed ]; then touch /shared/ok; else touch /shared/leak; fi; fi; echo $i >/shared/n.tmp; mv /shared/n.tmp /shared/n; done'
	teu run -d --bundle "$BUNDLE" upd
	tries() { cat "$SHARED/n" 2>/dev/null || echo 0; }
	past() { [ "$(tries)" -gt "$1" ]; }
	deny='{"devices":[{"allow":false,"access":"rwm"}]}'
	for _ in 1 2 3; do
		# The same rules again: the program is replaced, never missing.
		n=$(tries)
		teu update -r - upd <<<"$deny"
		wait_for past $((n + 5))
	done
	[ ! -e "$SHARED/leak" ]
	touch "$SHARED/allowed"
	teu update -r - upd <<<'{"devices":[{"allow":true,"type":"c","major":1,"minor":11,"access":"w"}]}'
	wait_for test -e "$SHARED/ok"
	jq -e '.linux.resources.devices | any(.major == 1 and .minor == 11 and .allow)' "$TEU_ROOT/upd/config.json"
	teu update -r - upd <<<"$deny"
	# A try that opened before the update ends before the flag goes.
	n=$(tries)
	wait_for past $((n + 1))
	rm "$SHARED/allowed"
	n=$(tries)
	wait_for past $((n + 20))
	[ ! -e "$SHARED/leak" ]
	# The defaults stay allowed.
	teu exec upd sh -c 'echo x >/dev/null'
	[ -n "$CG_V2" ] || grep -qx 'c 1:3 rwm' "$(cg_dir upd devices)/devices.list"
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
