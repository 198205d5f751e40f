#!/usr/bin/env bats
# Cgroups, v1 (hybrid hosts) and v2 (make test-cgroupv2): each resource
# lands in the version's file with its semantics, is visible from inside the
# container and, where that can be shown quickly, is enforced.
load helpers
load cgroup_helpers

setup() {
	require_cgroups
	new_bundle
}

@test "cgroups: default path is <own cgroup>/<id> in every v1 hierarchy, <parent of own>/<id> on v2 (runc's); delete removes it" {
	set_args sleep 100
	teu run -d --bundle "$BUNDLE" cgdef
	state=$TEU_ROOT/cgdef/state.json
	if [ -n "$CG_V2" ]; then
		# One directory, the only key of cgroup_paths, beside our own
		# cgroup (which has processes, so no controller below it).
		own=$(own_cgroup)
		parent=$(dirname "$own")
		d=$(cg_dir cgdef "")
		[ "$d" = "$CG${parent%/}/cgdef" ] || { echo "$d (own $own)" >&2; false; }
		[ "$(jq -c '.cgroup_paths | keys' "$state")" = '[""]' ]
		grep -qx "$(teu state cgdef | jq .pid)" "$d/cgroup.procs"
	fi
	for c in cpu cpuacct cpuset memory devices freezer blkio pids name=systemd; do
		[ -z "$CG_V2" ] || break
		grep -q "[:,]${c#name=}[,:]" /proc/self/cgroup || grep -q ":$c:" /proc/self/cgroup || continue
		own=$(grep -E "^[0-9]+:([^:]*,)?$c(,[^:]*)?:" /proc/self/cgroup | cut -d: -f3)
		d=$(cg_dir cgdef "$c")
		[ -n "$d" ] || { echo "no path for $c" >&2; false; }
		[[ "$d" == */"${own#/}"/cgdef || "$d" == */"${own#/}cgdef" ]] || { echo "$c: $d (own $own)" >&2; false; }
		grep -qx "$(teu state cgdef | jq .pid)" "$d/cgroup.procs"
	done
	# hybrid: the cgroup2 hierarchy too
	if [ -z "$CG_V2" ] && grep -q ' - cgroup2 ' /proc/self/mountinfo; then
		d=$(cg_dir cgdef "")
		[ -d "$d" ]
	fi
	dirs=$(jq -r '.cgroup_paths[]' "$state" | sort -u)
	teu delete --force cgdef
	for d in $dirs; do
		[ ! -e "$d" ] || { echo "left behind: $d" >&2; false; }
	done
}

@test "cgroups: relative cgroupsPath nests under our cgroups; nothing is left after delete" {
	before=$(our_dirs | wc -l)
	[ "$before" -eq 0 ]
	set_cgroup_path rel
	set_args sleep 100
	teu run -d --bundle "$BUNDLE" rel
	n=$(our_dirs | wc -l)
	[ "$n" -gt 0 ]
	# The process's own view of its cgroups ends in the path.
	pid=$(teu state rel | jq .pid)
	if [ -n "$CG_V2" ]; then
		grep -q "^0::.*/$CG_PARENT/rel\$" /proc/$pid/cgroup
		# The new parent passes its controllers down: the leaf has their files.
		parent=$(dirname "$(cg_dir rel "")")
		for c in memory pids cpu; do
			grep -qw "$c" "$parent/cgroup.subtree_control"
		done
		[ -e "$(cg_dir rel "")/memory.max" ]
	else
		grep -q ":memory:.*/$CG_PARENT/rel\$" /proc/$pid/cgroup
		grep -q ":cpuset:.*/$CG_PARENT/rel\$" /proc/$pid/cgroup
		# The new cpuset parents got their parent's cpus and mems.
		[ -n "$(cat "$(dirname "$(cg_dir rel cpuset)")/cpuset.cpus")" ]
	fi
	teu delete --force rel
	# delete removes the leaf, and the parent its create made (runc leaves it).
	[ -z "$(our_dirs)" ] || { our_dirs >&2; false; }
}

@test "cgroups: delete removes the parents its own create made, once empty, and no other" {
	set_args sleep 100
	set_cgroup_path a
	teu run -d --bundle "$BUNDLE" cga
	set_cgroup_path b
	teu run -d --bundle "$BUNDLE" cgb
	parent=$(dirname "$(cg_dir cga pids)")
	[ "$(basename "$parent")" = "$CG_PARENT" ]
	# a's create made the parent; b's found it.
	[ "$(jq -r --arg k "$(cg_key pids)" '.cgroup_parents[$k]' "$TEU_ROOT/cga/state.json")" = "$parent" ]
	[ "$(jq -r '.cgroup_parents // {} | length' "$TEU_ROOT/cgb/state.json")" = 0 ]
	teu delete --force cgb
	[ -d "$parent" ] # a is still in it
	teu delete --force cga
	[ -z "$(our_dirs)" ] || { our_dirs >&2; false; }

	# The other way round: a's delete cannot remove a parent b is in, and
	# b's does not remove one it did not make.
	set_cgroup_path a
	teu run -d --bundle "$BUNDLE" cga
	set_cgroup_path b
	teu run -d --bundle "$BUNDLE" cgb
	teu delete --force cga
	[ -d "$parent" ]
	teu delete --force cgb
	[ -d "$parent" ]
	[ ! -e "$parent/b" ]
}

@test "cgroups: the container sees its own cgroup as / (cgroup namespace)" {
	set_cgroup_path ns
	run_sh 'cat /proc/self/cgroup; ls /sys/fs/cgroup'
	[ "$status" -eq 0 ]
	if [ -n "$CG_V2" ]; then
		[ "${lines[0]}" = "0::/" ]
		# its own cgroup's files at the mount's root
		printf '%s\n' "$output" | grep -qx memory.max
		printf '%s\n' "$output" | grep -qx cgroup.procs
	else
		printf '%s\n' "$output" | grep -q '^[0-9]*:memory:/$'
		printf '%s\n' "$output" | grep -qx memory
		printf '%s\n' "$output" | grep -qx cpuset
	fi
}

@test "cgroups: memory limit, reservation, swap, swappiness land in memory.* and are visible inside" {
	require_cgroup_v1 "memory.swappiness and memory+swap limits (v2 test below)"
	set_cgroup_path mem
	set_resources '{"memory":{"limit":67108864,"reservation":33554432,"swap":100663296,"swappiness":10}}'
	set_args sh -c 'cd /sys/fs/cgroup/memory; cat memory.limit_in_bytes memory.soft_limit_in_bytes memory.memsw.limit_in_bytes memory.swappiness; sleep 100'
	teu run -d --bundle "$BUNDLE" mem > "$TEST_ROOT/out"
	[ "$(cg_read mem memory memory.limit_in_bytes)" -eq 67108864 ]
	[ "$(cg_read mem memory memory.soft_limit_in_bytes)" -eq 33554432 ]
	[ "$(cg_read mem memory memory.memsw.limit_in_bytes)" -eq 100663296 ]
	[ "$(cg_read mem memory memory.swappiness)" -eq 10 ]
	wait_for grep -q 10 "$TEST_ROOT/out"
	[ "$(tr '\n' ' ' < "$TEST_ROOT/out")" = "67108864 33554432 100663296 10 " ]
}

@test "cgroups: v2: memory limit, reservation, swap land in memory.max, memory.low, memory.swap.max (swap only) and are visible inside" {
	require_cgroup_v2 "memory.max, memory.low, memory.swap.max"
	set_cgroup_path mem
	# swappiness has no v2 file: ignored, as runc does.
	set_resources '{"memory":{"limit":67108864,"reservation":33554432,"swap":100663296,"swappiness":10}}'
	set_args sh -c 'cd /sys/fs/cgroup; cat memory.max memory.low memory.swap.max; sleep 100'
	teu run -d --bundle "$BUNDLE" mem > "$TEST_ROOT/out"
	[ "$(cg_read mem memory memory.max)" -eq 67108864 ]
	[ "$(cg_read mem memory memory.low)" -eq 33554432 ]
	# v2's swap limit is swap alone: memory+swap minus memory.
	[ "$(cg_read mem memory memory.swap.max)" -eq 33554432 ]
	wait_for grep -q 33554432 "$TEST_ROOT/out"
	[ "$(tr '\n' ' ' < "$TEST_ROOT/out")" = "67108864 33554432 33554432 " ]
	# -1 is unlimited: "max"; memory+swap equal to memory is no swap.
	teu delete --force mem
	set_resources '{"memory":{"limit":-1,"swap":-1}}'
	teu run -d --bundle "$BUNDLE" mem
	[ "$(cg_read mem memory memory.max)" = max ]
	[ "$(cg_read mem memory memory.swap.max)" = max ]
	teu delete --force mem
	set_resources '{"memory":{"limit":33554432,"swap":33554432}}'
	teu run -d --bundle "$BUNDLE" mem
	[ "$(cg_read mem memory memory.swap.max)" = 0 ]
	# and memory+swap below memory is refused
	teu delete --force mem
	set_resources '{"memory":{"limit":33554432,"swap":16777216}}'
	run teu run -d --bundle "$BUNDLE" mem
	assert_one_error_line
	[[ "$output" == *"below the memory limit"* ]]
}

@test "cgroups: a memory hog is OOM-killed at the limit" {
	set_cgroup_path oom
	set_resources '{"memory":{"limit":16777216,"swap":16777216}}'
	# tail /dev/zero holds an ever-growing line in memory.
	run_sh 'tail /dev/zero; echo "hog exit $?"'
	[ "$status" -eq 0 ]
	[[ "$output" == *"hog exit 137"* ]]
}

@test "cgroups: the runtime's set-up is not charged to the container: run and exec work under a 512 KiB memory limit and pids.max 1" {
	set_cgroup_path tight
	set_resources '{"memory":{"limit":524288},"pids":{"limit":1}}'
	set_args true
	run teu run --bundle "$BUNDLE" tight-run
	echo "$output"
	[ "$status" -eq 0 ]
	# The init's set-up (a Go runtime with its threads, the mounts) happens
	# outside the container's cgroup; it joins before the hooks run.
	set_args sleep 100000
	teu create --bundle "$BUNDLE" tight
	d=$(cg_dir tight memory)
	pid=$(teu state tight | jq -r .pid)
	grep -q "$(cg_v1v2 ":memory:" "^0::").*/$CG_PARENT/tight\$" "/proc/$pid/cgroup"
	# (usage_in_bytes is no measure here: memcg charges in per-CPU batches
	# of 256 KiB. runc's init alone needs more than 2 MiB.)
	teu start tight
	# (shell builtins only: under 512 KiB the container has no room for
	# another program's pages, and a fork would break pids.max 1)
	run teu exec tight sh -c 'echo exec ok; while read -r l; do echo "$l"; done </proc/self/cgroup'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "exec ok" ]
	# exec's process is in the container's cgroup, at the root of its
	# cgroup namespace.
	printf '%s\n' "$output" | grep -q "$(cg_v1v2 '^[0-9]*:memory:/$' '^0::/$')"
	# Nothing was OOM-killed on the way.
	[ "$(oom_kills tight)" -eq 0 ]
}

@test "cgroups: an init killed during set-up by a memory limit too small for it says so, and leaves nothing" {
	# 4 KiB: the unshare of the cgroup namespace, inside the cgroup, is
	# killed; 16 KiB: the init's set-up after it joined. Both used to end
	# in "exited during setup" with no cause. (64 KiB is at the edge: the
	# init may then live up to the exec of true, which the OOM killer ends,
	# and run rightly reports the container's 137.)
	for lim in 4096 16384; do
		set_cgroup_path "small$lim"
		set_resources "{\"memory\":{\"limit\":$lim}}"
		set_args true
		run teu run --bundle "$BUNDLE" "small$lim"
		echo "$output"
		assert_one_error_line
		[[ "$output" == *"killed by SIGKILL (out of memory"* ]]
		[ -z "$(teu list -q)" ]
		[ ! -e "$(cg_dir "small$lim" memory)" ]
	done
}

@test "cgroups: without a cgroup namespace the container still sees its own cgroup bound at /sys/fs/cgroup" {
	set_cgroup_path nons
	update_config '.linux.namespaces |= map(select(.type != "cgroup"))'
	set_resources '{"memory":{"limit":33554432}}'
	if [ -n "$CG_V2" ]; then
		set_args sh -c 'cat /sys/fs/cgroup/memory.max; cat /proc/self/cgroup'
	else
		set_args sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes; cat /proc/self/cgroup | grep :memory:'
	fi
	run teu run --bundle "$BUNDLE" nons2
	echo "$output"
	[ "$status" -eq 0 ]
	# The limit of the container's own cgroup, not its parent's.
	[ "${lines[0]}" = 33554432 ]
	[[ "${lines[1]}" == *"/$CG_PARENT/nons"* ]]
}

@test "cgroups: disableOOMKiller sets memory.oom_control; kernelTCP lands in memory.kmem.tcp; kernel is ignored with a warning" {
	require_cgroup_v1 "memory.oom_control, memory.kmem.tcp"
	set_cgroup_path oomctl
	set_resources '{"memory":{"limit":67108864,"disableOOMKiller":true,"kernel":1048576,"kernelTCP":2097152}}'
	set_args sleep 100
	run teu run -d --bundle "$BUNDLE" oomctl
	[ "$status" -eq 0 ]
	[[ "$output" == *"kernel memory limit"*"ignored"* ]]
	grep -qx 'oom_kill_disable 1' "$(cg_dir oomctl memory)/memory.oom_control"
	[ "$(cat "$(cg_dir oomctl memory)/memory.kmem.tcp.limit_in_bytes")" = 2097152 ]
}

@test "cgroups: v2: kernel memory settings and disableOOMKiller have no v2 file: ignored, the kernel ones with a warning" {
	require_cgroup_v2 "no memory.kmem.*, memory.oom_control"
	set_cgroup_path kmem
	set_resources '{"memory":{"limit":67108864,"disableOOMKiller":true,"kernel":1048576,"kernelTCP":2097152}}'
	set_args sleep 100
	run teu run -d --bundle "$BUNDLE" kmem
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"kernel memory"*"ignored"* ]]
	[ "$(cg_read kmem memory memory.max)" -eq 67108864 ]
}

@test "cgroups: v2: memory.oom.group (unified) makes an OOM kill take every process of the container" {
	require_cgroup_v2 "memory.oom.group"
	set_cgroup_path oomgrp
	share_dir_cg
	set_resources '{"memory":{"limit":16777216,"swap":16777216},"unified":{"memory.oom.group":"1"}}'
	# A bystander sleeps; the hog starts on the test's word.
	set_args sh -c 'sleep 1000 & echo $! > /shared/bystander; while [ ! -e /shared/go ]; do sleep 0.05; done; tail /dev/zero; echo survived > /shared/init'
	teu run -d --bundle "$BUNDLE" oomgrp
	[ "$(cg_read oomgrp memory memory.oom.group)" = 1 ]
	wait_for test -s "$SHARED/bystander"
	touch "$SHARED/go"
	# The init, the hog and the bystander all go: the container stops.
	wait_status oomgrp stopped
	[ ! -e "$SHARED/init" ]
	[ "$(oom_kills oomgrp)" -ge 1 ]
	ev=$(cg_dir oomgrp memory)/memory.events
	! grep -q '^oom_group_kill ' "$ev" || grep -q '^oom_group_kill [1-9]' "$ev"
	[ ! -s "$(cg_dir oomgrp memory)/cgroup.procs" ]
}

@test "cgroups: cpu shares, quota, period, burst, idle land in cpu.* and are visible inside" {
	require_cgroup_v1 "cpu.shares, cpu.cfs_* (v2 test below)"
	set_cgroup_path cpu
	set_resources '{"cpu":{"shares":512,"quota":20000,"period":100000,"burst":1000,"idle":0}}'
	set_args sh -c 'cd /sys/fs/cgroup/cpu; cat cpu.shares cpu.cfs_quota_us cpu.cfs_period_us; sleep 100'
	teu run -d --bundle "$BUNDLE" cpu > "$TEST_ROOT/out"
	[ "$(cg_read cpu cpu cpu.shares)" -eq 512 ]
	[ "$(cg_read cpu cpu cpu.cfs_quota_us)" -eq 20000 ]
	[ "$(cg_read cpu cpu cpu.cfs_period_us)" -eq 100000 ]
	[ ! -e "$(cg_dir cpu cpu)/cpu.cfs_burst_us" ] || [ "$(cg_read cpu cpu cpu.cfs_burst_us)" -eq 1000 ]
	wait_for grep -q 100000 "$TEST_ROOT/out"
	[ "$(tr '\n' ' ' < "$TEST_ROOT/out")" = "512 20000 100000 " ]
}

@test "cgroups: v2: cpu shares become cpu.weight (runc's conversion), quota and period cpu.max, burst cpu.max.burst, idle cpu.idle; visible inside" {
	require_cgroup_v2 "cpu.weight, cpu.max, cpu.max.burst, cpu.idle"
	set_cgroup_path cpu
	set_resources '{"cpu":{"shares":512,"quota":20000,"period":100000,"burst":1000,"idle":0}}'
	set_args sh -c 'cd /sys/fs/cgroup; cat cpu.weight cpu.max; sleep 100'
	teu run -d --bundle "$BUNDLE" cpu > "$TEST_ROOT/out"
	w=$(cpu_weight 512)
	[ "$(cg_read cpu cpu cpu.weight)" -eq "$w" ]
	[ "$(cg_read cpu cpu cpu.max)" = "20000 100000" ]
	[ ! -e "$(cg_dir cpu cpu)/cpu.max.burst" ] || [ "$(cg_read cpu cpu cpu.max.burst)" -eq 1000 ]
	[ ! -e "$(cg_dir cpu cpu)/cpu.idle" ] || [ "$(cg_read cpu cpu cpu.idle)" -eq 0 ]
	wait_for grep -q 100000 "$TEST_ROOT/out"
	[ "$(tr '\n' ' ' < "$TEST_ROOT/out")" = "$w 20000 100000 " ]
	# The default 1024 shares are the default weight 100; no quota is "max".
	teu delete --force cpu
	set_resources '{"cpu":{"shares":1024,"quota":-1,"period":50000}}'
	teu run -d --bundle "$BUNDLE" cpu
	[ "$(cg_read cpu cpu cpu.weight)" -eq 100 ]
	[ "$(cg_read cpu cpu cpu.max)" = "max 50000" ]
	# An idle cgroup: cpu.idle 1, and its weight is not written.
	[ -e "$(cg_dir cpu cpu)/cpu.idle" ] || return 0
	teu delete --force cpu
	set_resources '{"cpu":{"shares":2048,"idle":1}}'
	teu run -d --bundle "$BUNDLE" cpu
	[ "$(cg_read cpu cpu cpu.idle)" -eq 1 ]
}

@test "cgroups: cpu quota is enforced (a busy loop gets about 20% of a CPU)" {
	set_cgroup_path cpuq
	set_resources '{"cpu":{"quota":20000,"period":100000}}'
	set_args sh -c 'while :; do :; done'
	teu run -d --bundle "$BUNDLE" cpuq
	d=$(cg_dir cpuq cpu)
	wait_for awk '$1 == "nr_throttled" && $2 > 3 { ok = 1 } END { exit !ok }' "$d/cpu.stat"
}

@test "cgroups: cpu realtime runtime and period" {
	require_cgroup_v1 "realtime group scheduling (v2 refuses it: test below)"
	[ -e /sys/fs/cgroup/cpu/cpu.rt_runtime_us ] || skip "kernel without RT group scheduling"
	# A child may only take RT time its parent has: no intermediate
	# cgroup here (the default path, <own cgroup>/<id>).
	id=$CG_PARENT-rt
	set_resources '{"cpu":{"realtimePeriod":1000000,"realtimeRuntime":1000}}'
	set_args sleep 100
	teu run -d --bundle "$BUNDLE" "$id"
	[ "$(cg_read "$id" cpu cpu.rt_period_us)" -eq 1000000 ]
	[ "$(cg_read "$id" cpu cpu.rt_runtime_us)" -eq 1000 ]
}

@test "cgroups: v2: realtime runtime and period are one error (no RT group scheduling on v2), nothing left" {
	require_cgroup_v2 "cgroup v2 has no cpu.rt_*"
	set_cgroup_path rt
	set_resources '{"cpu":{"realtimePeriod":1000000,"realtimeRuntime":1000}}'
	set_args true
	run teu run --bundle "$BUNDLE" rt
	echo "$output"
	assert_one_error_line
	[[ "$output" == *"not supported on cgroup v2"* ]]
	[ -z "$(teu list -q)" ]
	[ -z "$(our_dirs)" ] || { our_dirs >&2; false; }
}

@test "cgroups: cpuset cpus and mems are set and enforced" {
	set_cgroup_path cpuset
	set_resources '{"cpu":{"cpus":"0","mems":"0"}}'
	run_sh "cat /sys/fs/cgroup/$(cg_v1v2 cpuset/cpuset.cpus cpuset.cpus) /sys/fs/cgroup/$(cg_v1v2 cpuset/cpuset.mems cpuset.mems); grep Cpus_allowed_list /proc/self/status"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0 ]
	[ "${lines[1]}" = 0 ]
	[[ "${lines[2]}" == *$'\t'0 ]]
}

@test "cgroups: an invalid cpuset fails create and leaves no cgroup" {
	set_cgroup_path badcpu
	set_resources '{"cpu":{"cpus":"4096"}}'
	set_args true
	run teu run --bundle "$BUNDLE" badcpu
	[ "$status" -ne 0 ]
	[[ "$output" == *cpuset.cpus* ]]
	[ -z "$(teu list -q)" ]
	our_dirs | grep -v "/$CG_PARENT\$" && false
	true
}

@test "cgroups: a failed create removes the parent cgroups it made too" {
	[ -z "$(our_dirs)" ]
	update_config ".linux.cgroupsPath = \"$CG_PARENT/mid/badcpu\""
	set_resources '{"cpu":{"cpus":"4096"}}'
	set_args true
	run teu run --bundle "$BUNDLE" badcpu
	echo "$output"
	assert_one_error_line
	[ -z "$(teu list -q)" ]
	[ -z "$(our_dirs)" ] || { our_dirs >&2; false; }
}

@test "cgroups: a fork bomb stops at pids.max" {
	set_cgroup_path pids
	set_resources '{"pids":{"limit":10}}'
	# A subshell forks until refused (and then gives up); read, a builtin,
	# needs no fork.
	p=/sys/fs/cgroup/$(cg_v1v2 pids/ "")
	run_sh "(while :; do sleep 100 & done); read n < ${p}pids.current; read m < ${p}pids.max; read e < ${p}pids.events; echo \"current=\$n max=\$m events=\$e\""
	[ "$status" -eq 0 ]
	[[ "$output" == *"can't fork"* ]]
	[[ "$output" == *"max=10 events=max "[1-9]* ]]
	n=$(printf '%s\n' "$output" | sed -n 's/.*current=\([0-9]*\).*/\1/p')
	[ "$n" -le 10 ]
	[ "$n" -ge 8 ]
}

@test "cgroups: blkio weight and throttles land in blkio.*" {
	require_cgroup_v1 "blkio.* (v2: io.* test below)"
	dev=$(lsblk -dno MAJ:MIN 2>/dev/null | grep -v '^ *253:' | head -1 | tr -d ' ')
	[ -n "$dev" ] || skip "no block device"
	maj=${dev%:*} min=${dev#*:}
	# Weight files exist only with an I/O scheduler that has weights (bfq,
	# or cfq on old kernels); with mq-deadline only the throttles do.
	weight='"weight":300,'
	[ -e /sys/fs/cgroup/blkio/blkio.weight ] || [ -e /sys/fs/cgroup/blkio/blkio.bfq.weight ] || weight=
	set_cgroup_path blkio
	set_resources "{\"blockIO\":{$weight\"throttleReadBpsDevice\":[{\"major\":$maj,\"minor\":$min,\"rate\":1048576}],\"throttleWriteIOPSDevice\":[{\"major\":$maj,\"minor\":$min,\"rate\":100}]}}"
	set_args sh -c 'cat /sys/fs/cgroup/blkio/blkio.throttle.read_bps_device; sleep 100'
	teu run -d --bundle "$BUNDLE" blkio > "$TEST_ROOT/out"
	d=$(cg_dir blkio blkio)
	if [ -n "$weight" ]; then
		w=$d/blkio.weight; [ -e "$w" ] || w=$d/blkio.bfq.weight
		grep -q 300 "$w"
	fi
	grep -qx "$maj:$min 1048576" "$d/blkio.throttle.read_bps_device"
	grep -qx "$maj:$min 100" "$d/blkio.throttle.write_iops_device"
	wait_for grep -qx "$maj:$min 1048576" "$TEST_ROOT/out"
}

# block_dev: MAJ:MIN of a block device (not device-mapper, not a ramdisk).
block_dev() {
	local d
	for d in /sys/block/*; do
		case ${d##*/} in dm-* | ram* | zram*) continue ;; esac
		[ -r "$d/dev" ] && { cat "$d/dev"; return 0; }
	done
	return 1
}

@test "cgroups: v2: blkio weight becomes io.weight (or io.bfq.weight), throttles io.max; visible inside" {
	require_cgroup_v2 "io.max, io.weight"
	dev=$(block_dev) || skip "no block device"
	maj=${dev%:*} min=${dev#*:}
	set_cgroup_path io
	set_resources "{\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":$maj,\"minor\":$min,\"rate\":1048576}],\"throttleWriteIOPSDevice\":[{\"major\":$maj,\"minor\":$min,\"rate\":100}]}}"
	set_args sh -c 'cat /sys/fs/cgroup/io.max; sleep 100'
	teu run -d --bundle "$BUNDLE" io > "$TEST_ROOT/out"
	d=$(cg_dir io io)
	line="$maj:$min rbps=1048576 wbps=max riops=max wiops=100"
	grep -qx "$line" "$d/io.max"
	# io.weight exists with an I/O cost model (io.bfq.weight with BFQ).
	if [ -e "$d/io.bfq.weight" ]; then
		teu update --blkio-weight 500 io
		grep -q '^default 500$' "$d/io.bfq.weight"
	elif [ -e "$d/io.weight" ]; then
		teu update --blkio-weight 500 io
		# the v1 range [10, 1000] mapped linearly onto [1, 10000]
		grep -qx "default $((1 + (500 - 10) * 9999 / 990))" "$d/io.weight"
	fi
	wait_for grep -qx "$line" "$TEST_ROOT/out"
	# A rate of 0 removes that limit.
	teu update -r - io <<<"{\"blockIO\":{\"throttleWriteIOPSDevice\":[{\"major\":$maj,\"minor\":$min,\"rate\":0}]}}"
	grep -qx "$maj:$min rbps=1048576 wbps=max riops=max wiops=max" "$d/io.max"
}

@test "cgroups: devices: deny all, then the defaults and the spec's rules, in order" {
	set_cgroup_path dev
	update_config '.root.readonly = false'
	# CAP_SYS_RAWIO: without it the mem driver's own EPERM would look like
	# the cgroup's.
	update_config '.process.capabilities.bounding += ["CAP_MKNOD", "CAP_SYS_RAWIO"] | .process.capabilities.effective += ["CAP_MKNOD", "CAP_SYS_RAWIO"] | .process.capabilities.permitted += ["CAP_MKNOD", "CAP_SYS_RAWIO"]'
	update_config '.linux.resources.devices = [{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":1,"access":"r"}]'
	# The cgroup's refusal is EPERM; an allowed open may still fail in the
	# driver (no /dev/mem in this kernel: ENXIO), which is fine here.
	# (v2 has no devices.list: the eBPF program decides, and only
	# what it lets through or refuses can be seen.)
	run_sh 'mknod /tmp/mem c 1 1; mknod /tmp/port c 1 4; cat /sys/fs/cgroup/devices/devices.list 2>/dev/null; (: < /tmp/mem) 2>&1; (: > /tmp/mem) 2>&1; (: < /tmp/port) 2>&1; echo x > /dev/null && echo null-ok'
	if [ -z "$CG_V2" ]; then
		printf '%s\n' "$output" | grep -qx 'c 1:1 r'
		printf '%s\n' "$output" | grep -qx 'c 1:3 rwm'
		refute grep -qx 'a \*:\* rwm' <<<"$output"
	fi
	refute grep -q "can't open /tmp/mem: Operation not permitted" <<<"$output"
	printf '%s\n' "$output" | grep -q "can't create /tmp/mem: Operation not permitted"
	printf '%s\n' "$output" | grep -q "can't open /tmp/port: Operation not permitted"
	[[ "$output" == *null-ok* ]]
}

@test "cgroups: a limit for a controller that is not mounted is an error, as in runc" {
	require_cgroup_v1 "v2 has every controller in one hierarchy (hugetlb test below)"
	grep -q ' - cgroup cgroup .*hugetlb' /proc/self/mountinfo && skip "hugetlb is mounted here"
	set_cgroup_path huge
	set_resources '{"hugepageLimits":[{"pageSize":"2MB","limit":4194304}]}'
	set_args true
	run teu run --bundle "$BUNDLE" huge
	[ "$status" -ne 0 ]
	[[ "$output" == *"cannot set hugetlb limit"* ]]
	our_dirs | grep -v "/$CG_PARENT\$" && false
	true
}

@test "cgroups: v2: hugepage limits land in hugetlb.<size>.max (and .rsvd.max) and are visible inside" {
	require_cgroup_v2 "hugetlb.*.max"
	set_cgroup_path huge
	size=$(ls /sys/kernel/mm/hugepages 2>/dev/null | sed -n 's/^hugepages-\([0-9]*\)kB$/\1/p' | sort -n | head -1)
	[ -n "$size" ] || skip "no huge page sizes in this kernel"
	if [ "$size" -ge 1048576 ]; then ps=$((size / 1048576))GB; else ps=$((size / 1024))MB; fi
	[ -e "$CG/hugetlb.$ps.current" ] || grep -qw hugetlb "$CG/cgroup.controllers" || skip "no hugetlb controller"
	set_resources "{\"hugepageLimits\":[{\"pageSize\":\"$ps\",\"limit\":$((4 * size * 1024))}]}"
	set_args sh -c "cat /sys/fs/cgroup/hugetlb.$ps.max; sleep 100"
	teu run -d --bundle "$BUNDLE" huge > "$TEST_ROOT/out"
	[ "$(cg_read huge hugetlb "hugetlb.$ps.max")" -eq $((4 * size * 1024)) ]
	[ ! -e "$(cg_dir huge hugetlb)/hugetlb.$ps.rsvd.max" ] || [ "$(cg_read huge hugetlb "hugetlb.$ps.rsvd.max")" -eq $((4 * size * 1024)) ]
	wait_for grep -qx $((4 * size * 1024)) "$TEST_ROOT/out"
	# events --stats reports the size
	teu events --stats huge | jq -e --arg s "$ps" '.data.hugetlb | has($s)'
	# a size the kernel lacks is an error naming the file
	teu delete --force huge
	set_resources '{"hugepageLimits":[{"pageSize":"3MB","limit":4194304}]}'
	set_args true
	run teu run --bundle "$BUNDLE" huge
	assert_one_error_line
	[[ "$output" == *"hugetlb.3MB.max"* ]]
}

@test "cgroups: v2: rdma limits land in rdma.max; a device the kernel does not know is one error" {
	require_cgroup_v2 "rdma.max"
	grep -qw rdma "$CG/cgroup.controllers" || skip "no rdma controller"
	set_cgroup_path rdma
	dev=$(ls /sys/class/infiniband 2>/dev/null | head -1)
	if [ -n "$dev" ]; then
		set_resources "{\"rdma\":{\"$dev\":{\"hcaHandles\":3,\"hcaObjects\":100}}}"
		set_args sleep 100
		teu run -d --bundle "$BUNDLE" rdma
		grep -qx "$dev hca_handle=3 hca_object=100" "$(cg_dir rdma rdma)/rdma.max"
		teu delete --force rdma
	fi
	# No such device here: the kernel refuses, create fails and leaves nothing.
	set_resources '{"rdma":{"teu-nosuch0":{"hcaHandles":3}}}'
	set_args true
	run teu run --bundle "$BUNDLE" rdma
	echo "$output"
	assert_one_error_line
	[[ "$output" == *"rdma.max"* ]]
	[ -z "$(teu list -q)" ]
	[ -z "$(our_dirs)" ] || { our_dirs >&2; false; }
}

@test "cgroups: v2: the misc controller's files are the container's own (misc.max, misc.current)" {
	require_cgroup_v2 "misc"
	grep -qw misc "$CG/cgroup.controllers" || skip "no misc controller"
	set_cgroup_path misc
	set_args sh -c 'ls /sys/fs/cgroup | grep "^misc\."; sleep 100'
	teu run -d --bundle "$BUNDLE" misc > "$TEST_ROOT/out"
	d=$(cg_dir misc misc)
	[ -e "$d/misc.max" ]
	[ -e "$d/misc.current" ]
	wait_for grep -qx misc.max "$TEST_ROOT/out"
	# Each resource the kernel has (none without, e.g., SEV) can be limited
	# through the unified map; an unknown one is refused by the kernel.
	res=$(awk 'NR == 1 {print $1}' "$d/misc.max")
	teu delete --force misc
	if [ -n "$res" ]; then
		set_resources "{\"unified\":{\"misc.max\":\"$res 1\"}}"
		teu run -d --bundle "$BUNDLE" misc
		grep -qx "$res 1" "$(cg_dir misc misc)/misc.max"
		teu delete --force misc
	fi
	set_resources '{"unified":{"misc.max":"teu-nosuch 1"}}'
	set_args true
	run teu run --bundle "$BUNDLE" misc
	assert_one_error_line
	[[ "$output" == *"misc.max"* ]]
}

@test "cgroups: net_cls classid without net_cls mounted is an error" {
	require_cgroup_v1 "net_cls has no cgroup v2 counterpart"
	grep -q ' - cgroup cgroup .*net_cls' /proc/self/mountinfo && skip "net_cls is mounted here"
	set_cgroup_path netcls
	set_resources '{"network":{"classID":5}}'
	set_args true
	run teu run --bundle "$BUNDLE" netcls
	[ "$status" -ne 0 ]
	[[ "$output" == *"cannot set net_cls limit"* ]]
}

@test "cgroups: unified resources are refused on cgroup v1" {
	require_cgroup_v1 "v2 writes them (test below)"
	set_cgroup_path unif
	set_resources '{"unified":{"memory.max":"1000000"}}'
	set_args true
	run teu run --bundle "$BUNDLE" unif
	[ "$status" -ne 0 ]
	[[ "$output" == *"cgroup v2"* ]]
}

@test "cgroups: v2: unified resources land in their files and win over the typed fields; a bad key is one error" {
	require_cgroup_v2 "linux.resources.unified"
	set_cgroup_path unif
	set_resources '{"pids":{"limit":10},"memory":{"limit":67108864},"unified":{"pids.max":"42","memory.high":"50000000","memory.min":"4096","cpu.weight":"77"}}'
	set_args sh -c 'cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.weight; sleep 100'
	teu run -d --bundle "$BUNDLE" unif > "$TEST_ROOT/out"
	[ "$(cg_read unif pids pids.max)" = 42 ]
	[ "$(cg_read unif memory memory.max)" = 67108864 ]
	[ "$(cg_read unif memory memory.high)" = $((50000000 / 4096 * 4096)) ]
	[ "$(cg_read unif memory memory.min)" = 4096 ]
	[ "$(cg_read unif cpu cpu.weight)" = 77 ]
	wait_for grep -qx 77 "$TEST_ROOT/out"
	teu delete --force unif
	for bad in '{"../x":"1"}' '{"cgroup.procs":"1"}' '{"memory.nosuch":"1"}'; do
		set_resources "{\"unified\":$bad}"
		set_args true
		run teu run --bundle "$BUNDLE" unif
		echo "$output"
		assert_one_error_line
		[ -z "$(teu list -q)" ]
	done
	[ -z "$(our_dirs)" ] || { our_dirs >&2; false; }
}

@test "cgroups: kill --all reaches processes outside the init's pid namespace view (host pid ns)" {
	set_cgroup_path killall
	update_config '.linux.namespaces |= map(select(.type != "pid"))'
	set_args sh -c 'sleep 100 & sleep 100 & wait'
	teu run -d --bundle "$BUNDLE" killall
	d=$(cg_dir killall pids)
	wait_for nprocs_at_least killall 3
	teu kill --all killall KILL
	wait_for test ! -s "$d/cgroup.procs"
	teu delete killall
	[ ! -e "$d" ]
}

@test "cgroups: v2: kill --all KILL and delete --force go through cgroup.kill and take every process" {
	require_cgroup_v2 "cgroup.kill"
	command -v strace >/dev/null || skip "needs strace"
	set_cgroup_path ck
	# The host's pid namespace: no pid-namespace teardown to help; only
	# the cgroup knows the container's processes.
	update_config '.linux.namespaces |= map(select(.type != "pid"))'
	set_args sh -c 'sleep 100 & sleep 100 & wait'
	teu run -d --bundle "$BUNDLE" ck
	d=$(cg_dir ck pids)
	[ -e "$d/cgroup.kill" ] || skip "kernel without cgroup.kill (Linux 5.14+)"
	wait_for nprocs_at_least ck 3
	strace -f -qq -e trace=openat -o "$TEST_ROOT/kill.strace" "$TEU_BIN" --root "$TEU_ROOT" kill --all ck KILL
	grep -q '/cgroup.kill", O_WRONLY' "$TEST_ROOT/kill.strace"
	wait_for test ! -s "$d/cgroup.procs"
	wait_status ck stopped
	teu delete ck
	[ ! -e "$d" ]
	# delete --force of a running one
	teu run -d --bundle "$BUNDLE" ck
	wait_for nprocs_at_least ck 3
	pids=$(cat "$d/cgroup.procs")
	strace -f -qq -e trace=openat -o "$TEST_ROOT/delete.strace" "$TEU_BIN" --root "$TEU_ROOT" delete --force ck
	grep -q '/cgroup.kill", O_WRONLY' "$TEST_ROOT/delete.strace"
	for p in $pids; do [ ! -e "/proc/$p" ] || [ "$(awk '{print $3}' /proc/$p/stat)" = Z ]; done
	[ ! -e "$d" ]
	[ -z "$(teu list -q)" ]
}

@test "cgroups: a cgroup already holding processes is refused (same id under another --root)" {
	set_args sleep 100
	teu run -d --bundle "$BUNDLE" cgdup
	other=$TEST_ROOT/other-root
	run "$TEU_BIN" --root "$other" run -d --bundle "$BUNDLE" cgdup
	"$TEU_BIN" --root "$other" delete --force cgdup >/dev/null 2>&1 || true
	assert_one_error_line
	[[ "$output" == *"container's cgroup is not empty"* ]]
	# The first container is untouched, and no state was left for the second.
	[ "$(teu state cgdup | jq -r .status)" = running ]
	[ ! -e "$other/cgdup" ]
}
