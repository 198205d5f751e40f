#!/usr/bin/env bats
# runtime-spec 1.3's Linux additions, each checked inside a real container:
# linux.netDevices, linux.memoryPolicy, linux.personality, linux.intelRdt
# (refused: this host has no resctrl), process.scheduler, ioPriority and
# execCPUAffinity, for the container's process and for exec's.
load helpers

eval "spec13_$(declare -f teardown)"
teardown() {
	spec13_teardown
	if [ -n "${NETDEV:-}" ]; then
		ip link del "$NETDEV" 2>/dev/null || true
		ip link del "$NETPEER" 2>/dev/null || true
	fi
}

# start_ct [ID]: a running container (sleep), default id x.
start_ct() {
	set_args sleep 100000
	teu run -d --bundle "$BUNDLE" "${1:-x}"
}

# exec_json ID JSON: teu exec ID with JSON as its process.json.
exec_json() {
	printf '%s\n' "$2" >"$TEST_ROOT/process.json"
	run teu exec -p "$TEST_ROOT/process.json" "$1"
}

# stat_of_sh: a script printing nice (field 19) and policy (41) of the
# shell's /proc/$$/stat; no double quotes, so it fits in a JSON string.
stat_of_sh='set -- $(cat /proc/$$/stat); shift 17; echo nice=$2; shift 23; echo policy=$1'

@test "spec13: features lists netDevices and memoryPolicy, not intelRdt" {
	run teu features
	[ "$status" -eq 0 ]
	[ "$(jq -r .linux.netDevices.enabled <<<"$output")" = true ]
	[ "$(jq -r .linux.intelRdt.enabled <<<"$output")" = false ]
	[ "$(jq -c .linux.memoryPolicy.modes <<<"$output")" = '["MPOL_BIND","MPOL_DEFAULT","MPOL_INTERLEAVE","MPOL_LOCAL","MPOL_PREFERRED","MPOL_PREFERRED_MANY","MPOL_WEIGHTED_INTERLEAVE"]' ]
	[ "$(jq -c .linux.memoryPolicy.flags <<<"$output")" = '["MPOL_F_NUMA_BALANCING","MPOL_F_RELATIVE_NODES","MPOL_F_STATIC_NODES"]' ]
}

@test "spec13: process.scheduler SCHED_BATCH with nice 5, and SCHED_IDLE" {
	update_config '.process.scheduler = {"policy": "SCHED_BATCH", "nice": 5}'
	run_sh "$stat_of_sh"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = nice=5 ]
	[ "${lines[1]}" = policy=3 ]

	update_config '.process.scheduler = {"policy": "SCHED_IDLE"}'
	run_sh "$stat_of_sh"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = policy=5 ]

	# The shell's own scheduling is untouched.
	[ "$(awk '{print $41}' /proc/$$/stat)" = 0 ]
}

@test "spec13: process.scheduler SCHED_RR with a priority" {
	# A real-time task needs a real-time budget in its cgroup.
	update_config '.process.scheduler = {"policy": "SCHED_RR", "priority": 7} | .linux.resources.cpu.realtimeRuntime = 10000'
	run_sh 'set -- $(cat /proc/$$/stat); shift 17; echo "prio=$1"; shift 22; echo "rtprio=$1 policy=$2"'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "rtprio=7 policy=2" ]
}

@test "spec13: process.scheduler SCHED_DEADLINE" {
	# Without SCHED_FLAG_RESET_ON_FORK a deadline task cannot fork: the
	# shell's $(...) would fail.
	update_config '.process.scheduler = {"policy": "SCHED_DEADLINE", "runtime": 10000000, "deadline": 50000000, "period": 100000000, "flags": ["SCHED_FLAG_RESET_ON_FORK"]}'
	run_sh 'grep -E "^(policy|dl\.runtime) " /proc/$$/sched | tr -s " "'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "policy : 6" ]
	# What is left of this period's runtime (negative after an overrun).
	left=${lines[1]#dl.runtime : }
	[ "$left" -le 10000000 ]
}

@test "spec13: process.scheduler errors are one clear line" {
	update_config '.process.scheduler = {"policy": "SCHED_FIFO"}'
	run_sh true
	assert_one_error_line
	[[ "$output" == *"process.scheduler: SCHED_FIFO needs a priority in 1..99"* ]]
	update_config '.process.scheduler = {"policy": "SCHED_ISO"}'
	run_sh true
	assert_one_error_line
	[[ "$output" == *"SCHED_ISO is not implemented by Linux"* ]]
	[ -z "$(teu list -q)" ]
}

@test "spec13: process.ioPriority" {
	update_config '.process.ioPriority = {"class": "IOPRIO_CLASS_BE", "priority": 6}'
	run_sh 'ionice -p $$'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "best-effort: prio 6" ]

	update_config '.process.ioPriority = {"class": "IOPRIO_CLASS_RT", "priority": 2}'
	run_sh 'ionice -p $$'
	[ "$status" -eq 0 ]
	[ "$output" = "realtime: prio 2" ]

	update_config '.process.ioPriority = {"class": "IOPRIO_CLASS_IDLE", "priority": 0}'
	run_sh 'ionice -p $$'
	[ "$status" -eq 0 ]
	[ "$output" = idle ]

	update_config '.process.ioPriority = {"class": "IOPRIO_CLASS_BE", "priority": 8}'
	run_sh true
	assert_one_error_line
	[[ "$output" == *"process.ioPriority: priority 8 is not in 0..7"* ]]
}

@test "spec13: exec applies the scheduler and ioPriority of its process" {
	update_config '.process.ioPriority = {"class": "IOPRIO_CLASS_BE", "priority": 1}'
	start_ct
	# Without -p, exec's process is the container's: its settings apply.
	run teu exec x sh -c 'ionice -p $$'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "best-effort: prio 1" ]
	exec_json x '{"args": ["sh", "-c", "ionice -p $$; '"$stat_of_sh"'"], "cwd": "/",
		"scheduler": {"policy": "SCHED_BATCH", "nice": 3},
		"ioPriority": {"class": "IOPRIO_CLASS_IDLE", "priority": 0}}'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = idle ]
	[ "${lines[1]}" = nice=3 ]
	[ "${lines[2]}" = policy=3 ]
}

@test "spec13: execCPUAffinity applies to exec's process, not to the init" {
	[ "$(cat /sys/devices/system/cpu/online)" = 0-1 ] || skip "needs CPUs 0-1"
	update_config '.process.execCPUAffinity = {"final": "1"}'
	start_ct
	# The init has the kernel's affinity: all CPUs.
	run teu exec -p <(echo '{"args": ["grep", "Cpus_allowed_list", "/proc/1/status"], "cwd": "/"}') x
	[ "$status" -eq 0 ]
	[[ "$output" == *"Cpus_allowed_list:"*"0-1" ]]
	# exec without -p takes the container's process, and its final affinity.
	run teu exec x grep Cpus_allowed_list /proc/self/status
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Cpus_allowed_list:"*[[:space:]]1 ]]
	exec_json x '{"args": ["grep", "Cpus_allowed_list", "/proc/self/status"], "cwd": "/",
		"execCPUAffinity": {"initial": "1", "final": "0"}}'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Cpus_allowed_list:"*[[:space:]]0 ]]
	# initial is what exec's init runs on until it joins the container's
	# cgroup; teu's debug log reads it back from the kernel, in runc's words.
	printf '%s\n' '{"args": ["true"], "cwd": "/", "execCPUAffinity": {"initial": "1"}}' >"$TEST_ROOT/p.json"
	run teu --debug --log "$TEST_ROOT/log" exec -p "$TEST_ROOT/p.json" x
	[ "$status" -eq 0 ]
	grep 'affinity: 0x2' "$TEST_ROOT/log"
	grep -q 'nsexec\[[0-9]*\]: affinity: 0x2.*cpus=1$' "$TEST_ROOT/log"
	# A CPU that is not there is one clear error.
	exec_json x '{"args": ["true"], "cwd": "/", "execCPUAffinity": {"final": "7"}}'
	echo "$output"
	assert_one_error_line 255
	[[ "$output" == *"final CPU affinity"* ]]
}

@test "spec13: linux.memoryPolicy is the policy of the container's memory, and of exec's" {
	[ -r /proc/self/numa_maps ] || skip "no NUMA support"
	update_config '.linux.memoryPolicy = {"mode": "MPOL_BIND", "nodes": "0"}'
	run_sh 'head -1 /proc/self/numa_maps'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *" bind:0 "* ]]

	update_config '.linux.memoryPolicy = {"mode": "MPOL_INTERLEAVE", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]}'
	run_sh 'head -1 /proc/self/numa_maps'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *" interleave=static:0 "* ]]

	update_config '.linux.memoryPolicy = {"mode": "MPOL_PREFERRED", "nodes": "0"}'
	start_ct
	run teu exec x head -1 /proc/self/numa_maps
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *" prefer:0 "* ]]
	# The host's policy is untouched.
	[[ "$(head -1 /proc/self/numa_maps)" == *" default "* ]]
}

@test "spec13: linux.memoryPolicy errors are one clear line" {
	update_config '.linux.memoryPolicy = {"mode": "MPOL_BIND"}'
	run_sh true
	assert_one_error_line
	[[ "$output" == *"linux.memoryPolicy: invalid memory policy: MPOL_BIND needs nodes"* ]]
	# A node the machine does not have: the kernel refuses.
	update_config '.linux.memoryPolicy = {"mode": "MPOL_BIND", "nodes": "63"}'
	run_sh true
	echo "$output"
	assert_one_error_line
	[[ "$output" == *"set memory policy MPOL_BIND \"63\": invalid argument"* ]]
	[ -z "$(teu list -q)" ]
}

@test "spec13: linux.personality LINUX32 makes uname say i686" {
	[ "$(uname -m)" = x86_64 ] || skip "needs x86_64"
	update_config '.linux.personality = {"domain": "LINUX32"}'
	start_ct
	run teu exec x uname -m
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = i686 ]
	# The init (and so the container's process) has it too.
	pid=$(teu state x | jq -r .pid)
	[ "$(cat /proc/$pid/personality)" = 00000008 ]
	teu delete -f x

	update_config '.linux.personality = {"domain": "LINUX"}'
	run_sh 'uname -m'
	[ "$status" -eq 0 ]
	[ "$output" = x86_64 ]

	update_config '.linux.personality = {"domain": "LINUX", "flags": ["ADDR_NO_RANDOMIZE"]}'
	run_sh true
	assert_one_error_line
	[[ "$output" == *"linux.personality: unknown flag"* ]]
}

# mk_netdev: a veth pair on the host (this kernel has no dummy driver);
# NETDEV, the end to move, gets a permanent global IPv4 and IPv6 address.
# teardown removes the pair if it is still there.
mk_netdev() {
	NETDEV=t13d$$ NETPEER=t13p$$
	ip link add "$NETDEV" type veth peer name "$NETPEER"
	ip addr add 10.213.77.1/24 dev "$NETDEV"
	ip addr add 2001:db8:213::1/64 dev "$NETDEV" nodad
}

# gone_from_host DEV: wait (bounded) until the kernel's namespace cleanup,
# which runs asynchronously, has destroyed DEV.
gone_from_host() {
	for _ in $(seq 1 200); do
		ip link show "$1" >/dev/null 2>&1 || return 0
		sleep 0.05
	done
	echo "$1 is still on the host" >&2
	return 1
}

@test "spec13: linux.netDevices moves a device in, renamed, up, with its addresses" {
	mk_netdev
	update_config ".linux.netDevices = {\"$NETDEV\": {\"name\": \"ctr0\"}}"
	start_ct
	run teu exec x sh -c 'ip -o link show; ip -o addr show dev ctr0'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" =~ :\ ctr0(@[^:]*)?:\ \<[^\>]*,UP ]]
	[[ "$output" == *"inet 10.213.77.1/24"* ]]
	[[ "$output" == *"inet6 2001:db8:213::1/64"* ]]
	[[ "$output" != *"$NETDEV"* ]]
	# Gone from the host while the container has it.
	refute ip link show "$NETDEV"
	teu delete -f x
	# A virtual device dies with the container's network namespace (a
	# veth takes its peer along); nothing moves it back under any name.
	gone_from_host "$NETDEV"
	gone_from_host "$NETPEER"
	! ip -o link show | grep -q ctr0
}

@test "spec13: linux.netDevices keeps the host name without name, fills a %d template" {
	mk_netdev
	update_config ".linux.netDevices = {\"$NETDEV\": {}}"
	run_sh "ip -o link show $NETDEV"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" =~ :\ $NETDEV(@[^:]*)?:\ \<[^\>]*,UP ]]
	gone_from_host "$NETDEV"

	mk_netdev
	update_config ".linux.netDevices = {\"$NETDEV\": {\"name\": \"eth%d\"}}"
	run_sh 'ip -o link show eth0'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" =~ :\ eth0(@[^:]*)?:\ \<[^\>]*,UP ]]
	gone_from_host "$NETDEV"
}

@test "spec13: linux.netDevices into a container with a user namespace" {
	mk_netdev
	chmod 755 "$TEST_ROOT"
	chown -R 100000:100000 "$BUNDLE/rootfs"
	update_config '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
	update_config ".linux.netDevices = {\"$NETDEV\": {\"name\": \"ctr0\"}}"
	run_sh 'ip -o addr show dev ctr0; cat /proc/self/uid_map'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"inet 10.213.77.1/24"* ]]
	[[ "$output" == *"100000"* ]]
	gone_from_host "$NETDEV"
}

@test "spec13: linux.netDevices errors are one clear line and leave the device on the host" {
	mk_netdev
	# No network namespace of its own: refused.
	update_config ".linux.netDevices = {\"$NETDEV\": {}} | .linux.namespaces -= [{\"type\": \"network\"}]"
	run_sh true
	echo "$output"
	assert_one_error_line
	[[ "$output" == *"linux.netDevices needs a network namespace"* ]]
	# A name the container's namespace already has.
	update_config ".linux.netDevices = {\"$NETDEV\": {\"name\": \"lo\"}} | .linux.namespaces += [{\"type\": \"network\"}]"
	run_sh true
	echo "$output"
	assert_one_error_line
	[[ "$output" == *"move $NETDEV to the container as lo: lo exists in the container's network namespace"* ]]
	# A device the host does not have.
	update_config '.linux.netDevices = {"t13nope": {}}'
	run_sh true
	echo "$output"
	assert_one_error_line
	[[ "$output" == *"host interface t13nope: no such network interface"* ]]
	[ -z "$(teu list -q)" ]
	ip -o addr show dev "$NETDEV" | grep -q 10.213.77.1/24
}

@test "spec13: linux.intelRdt without resctrl is one clear error and leaves nothing" {
	if grep -qw resctrl /proc/self/mountinfo; then
		skip "resctrl is mounted here"
	fi
	update_config '.linux.intelRdt = {"closID": "teu-test", "l3CacheSchema": "L3:0=f"}'
	run_sh true
	echo "$output"
	assert_one_error_line
	[[ "$output" == *"linux.intelRdt: no resctrl filesystem is mounted on this host"* ]]
	[ -z "$(teu list -q)" ]
	[ -z "$(ls "$TEU_ROOT" 2>/dev/null)" ]
}
