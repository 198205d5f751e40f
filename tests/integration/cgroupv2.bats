#!/usr/bin/env bats
# cgroup v2 (unified hierarchy): limits land in the right files and are
# enforced, pause/resume freeze the cgroup, the eBPF device filter denies,
# and nothing is left behind. These tests need a pure cgroup v2 host; on
# any other host they skip (with the reason). `make test-cgroupv2` runs
# them in a QEMU guest that is one (tests/vm/README.md).
load helpers

CG=/sys/fs/cgroup

# requires_cgroupv2: skip unless /sys/fs/cgroup is cgroup2 (0x63677270),
# and we are root.
requires_cgroupv2() {
	local fstype
	fstype=$(stat -f -c %t "$CG" 2>/dev/null)
	[ "$fstype" = 63677270 ] || skip "not a cgroup v2 host ($CG is not a cgroup2 mount: fs type 0x${fstype:-none})"
	[ "$(id -u)" = 0 ] || skip "needs root"
}

# cgpath: this test's cgroup (absolute, flat: teu creates no parents to
# leave behind).
cgpath() { echo "/teu-bats-$BATS_TEST_NUMBER"; }

setup() {
	new_bundle
	update_config ".linux.cgroupsPath = \"$(cgpath)\""
}

teardown() {
	if [ -d "$TEU_ROOT" ]; then
		for id in $("$TEU_BIN" --root "$TEU_ROOT" list -q 2>/dev/null); do
			"$TEU_BIN" --root "$TEU_ROOT" delete --force "$id" >/dev/null 2>&1 || true
		done
	fi
	rm -rf "$TEST_ROOT"
	# Every test must leave no cgroup behind.
	if [ -d "$CG$(cgpath)" ]; then
		echo "cgroup $(cgpath) left behind" >&2
		return 1
	fi
}

@test "cgroupv2: resources land in the right v2 files" {
	requires_cgroupv2
	update_config '.linux.resources += {
		"memory": {"limit": 67108864, "swap": 100663296, "reservation": 33554432},
		"cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
		"pids": {"limit": 50},
		"unified": {"memory.high": "60000000", "memory.oom.group": "1"}
	}'
	set_args sleep 100
	teu run -d --bundle "$BUNDLE" res
	pid=$(teu state res | jq -r .pid)
	grep -qx "0::$(cgpath)" "/proc/$pid/cgroup"
	d=$CG$(cgpath)
	[ "$(cat "$d/memory.max")" = 67108864 ]
	[ "$(cat "$d/memory.swap.max")" = 33554432 ] # memory+swap minus memory
	[ "$(cat "$d/memory.low")" = 33554432 ]
	[ "$(cat "$d/memory.high")" = 59998208 ] # rounded down to pages
	[ "$(cat "$d/memory.oom.group")" = 1 ]
	[ "$(cat "$d/cpu.weight")" = 100 ] # 1024 shares is the default weight
	[ "$(cat "$d/cpu.max")" = "50000 100000" ]
	[ "$(cat "$d/cpuset.cpus")" = 0 ]
	[ "$(cat "$d/pids.max")" = 50 ]
	# Inside, with a cgroup namespace, the container sees its own cgroup as
	# the root of its cgroup2 mount.
	run teu exec res sh -c 'cat /proc/self/cgroup; cat /sys/fs/cgroup/memory.max' 2>/dev/null
	if [ "$status" -eq 0 ]; then
		[ "${lines[0]}" = "0::/" ]
		[ "${lines[1]}" = 67108864 ]
	fi
	teu delete --force res
	[ ! -d "$d" ]
}

@test "cgroupv2: update rewrites the v2 files; events --stats reads them" {
	requires_cgroupv2
	update_config '.linux.resources += {"memory": {"limit": 67108864}, "pids": {"limit": 50}}'
	set_args sleep 100
	teu run -d --bundle "$BUNDLE" upd
	d=$CG$(cgpath)
	teu update --memory 100m --memory-swap 200m --pids-limit 40 --cpu-quota 20000 --cpu-period 100000 --cpu-share 2048 upd
	[ "$(cat "$d/memory.max")" = 104857600 ]
	[ "$(cat "$d/memory.swap.max")" = 104857600 ]
	[ "$(cat "$d/pids.max")" = 40 ]
	[ "$(cat "$d/cpu.max")" = "20000 100000" ]
	[ "$(cat "$d/cpu.weight")" = 174 ] # runc >= 1.3.2's quadratic conversion
	run teu events --stats upd
	[ "$status" -eq 0 ]
	[ "$(jq -r .data.memory.usage.limit <<<"$output")" = 104857600 ]
	[ "$(jq -r .data.pids.limit <<<"$output")" = 40 ]
	[ "$(jq -r .data.pids.current <<<"$output")" -ge 1 ]
	[ "$(jq -r '.data.cpu.usage.total > 0' <<<"$output")" = true ]
}

@test "cgroupv2: a container sees its limits through its cgroup mount" {
	requires_cgroupv2
	update_config '.linux.resources += {"memory": {"limit": 33554432}, "pids": {"limit": 30}}'
	run_sh 'cat /proc/self/cgroup /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "0::/" ]
	[ "${lines[1]}" = 33554432 ]
	[ "${lines[2]}" = 30 ]
}

@test "cgroupv2: memory.max is enforced by the OOM killer" {
	requires_cgroupv2
	update_config '.linux.resources += {"memory": {"limit": 16777216, "swap": 16777216}}'
	# tail buffers /dev/zero forever, looking for a newline.
	run_sh 'exec tail /dev/zero'
	[ "$status" -eq 137 ]
}

@test "cgroupv2: pids.max stops forks" {
	requires_cgroupv2
	update_config '.linux.resources += {"pids": {"limit": 10}}'
	run_sh 'for i in $(seq 30); do sleep 1 & done; wait'
	[[ "$output" == *"fork"* || "$output" == *"Resource temporarily unavailable"* ]]
}

@test "cgroupv2: pause and resume freeze and thaw the cgroup" {
	requires_cgroupv2
	set_args sleep 100
	teu run -d --bundle "$BUNDLE" frz
	d=$CG$(cgpath)
	teu pause frz
	grep -qx 'frozen 1' "$d/cgroup.events"
	[ "$(teu state frz | jq -r .status)" = paused ]
	teu resume frz
	grep -qx 'frozen 0' "$d/cgroup.events"
	[ "$(teu state frz | jq -r .status)" = running ]
	# A paused container can still be deleted by force.
	teu pause frz
	teu delete --force frz
	[ ! -d "$d" ]
}

@test "cgroupv2: the device filter denies what the rules do not allow" {
	requires_cgroupv2
	# /dev/kmsg (c 1:11) bound in: not in the default allow list, so the
	# default "deny all" rule covers it. Opening it write-only needs no
	# privilege, so only the eBPF filter can refuse.
	update_config '.mounts += [{"destination": "/dev/kmsg", "type": "bind", "source": "/dev/kmsg", "options": ["bind"]}]'
	run_sh 'echo teu-denied >/dev/kmsg; echo rc=$?; echo x >/dev/null && echo null-ok'
	[[ "$output" == *"Operation not permitted"* ]]
	[[ "$output" == *"rc=1"* || "$output" == *"rc=2"* ]]
	[[ "$output" == *"null-ok"* ]] # the default devices stay usable

	# Allowed by a rule, the same write works.
	update_config '.linux.resources.devices += [{"allow": true, "type": "c", "major": 1, "minor": 11, "access": "w"}]'
	run_sh 'echo teu-allowed >/dev/kmsg && echo kmsg-ok'
	[ "$status" -eq 0 ]
	[[ "$output" == *"kmsg-ok"* ]]
}

@test "cgroupv2: nothing is left behind" {
	requires_cgroupv2
	before=$(cd "$CG" && find . -mindepth 1 -type d | sort)
	set_args sleep 100
	teu run -d --bundle "$BUNDLE" a
	teu delete --force a
	update_config '.linux.cgroupsPath = "/teu-bats-left-2"'
	teu create --bundle "$BUNDLE" b
	teu delete --force b
	update_config '.linux.cgroupsPath = "/teu-bats-left-3" | .process.args = ["true"]'
	teu run --bundle "$BUNDLE" c
	after=$(cd "$CG" && find . -mindepth 1 -type d | sort)
	[ "$before" = "$after" ] || {
		diff <(echo "$before") <(echo "$after") >&2
		false
	}
}
