#!/usr/bin/env bats
# A new user namespace with id mappings.
load helpers

# userns_config: map container 0..65535 to host 100000.., with the rootfs
# (this test's own copy) owned accordingly.
userns_config() {
	chmod 755 "$TEST_ROOT" # mktemp made it 0700: the mapped root must reach the bundle
	chown -R 100000:100000 "$BUNDLE/rootfs"
	update_config '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
}

@test "userns: root inside, mapped ids, files on a bind owned by the host ids" {
	userns_config
	mkdir "$TEST_ROOT/shared"
	chown 100000:100000 "$TEST_ROOT/shared"
	update_config ".mounts += [{\"destination\": \"/shared\", \"type\": \"bind\", \"source\": \"$TEST_ROOT/shared\", \"options\": [\"rbind\"]}]"
	run_sh 'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map | tr -s " "; echo x >/shared/root-file; su -s /bin/sh user -c "echo y >/shared/user-file" 2>&1 || echo x >/shared/fallback; readlink /proc/self/ns/user'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0 ]
	[ "${lines[1]}" = 0 ]
	[ "$(echo ${lines[2]})" = "0 100000 65536" ]
	[ "$(echo ${lines[3]})" = "0 100000 65536" ]
	[ "${lines[-1]}" != "$(readlink /proc/self/ns/user)" ]
	[ "$(stat -c %u:%g "$TEST_ROOT/shared/root-file")" = 100000:100000 ]
}

@test "userns: process.user maps to the host id + offset" {
	userns_config
	mkdir "$TEST_ROOT/shared"
	chmod 777 "$TEST_ROOT/shared"
	update_config ".mounts += [{\"destination\": \"/shared\", \"type\": \"bind\", \"source\": \"$TEST_ROOT/shared\", \"options\": [\"rbind\"]}]"
	update_config '.process.user = {"uid": 1000, "gid": 1000}'
	run_sh 'id -u; echo y >/shared/f'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = 1000 ]
	[ "$(stat -c %u:%g "$TEST_ROOT/shared/f")" = 101000:101000 ]
}

@test "userns: device nodes are bound from the host, mknod is refused" {
	userns_config
	update_config '.linux.devices = [{"path": "/dev/myfifo", "type": "p", "fileMode": 420}]'
	run_sh 'for d in null zero full random urandom tty; do awk -v d=/dev/$d "\$5 == d {print d, \$4}" /proc/self/mountinfo; done; stat -c "%t:%T" /dev/null; echo x >/dev/null && echo null-ok; stat -c %F /dev/myfifo; mknod /tmp/n c 1 3 2>&1 || echo mknod-refused'
	echo "$output"
	[ "$status" -eq 0 ]
	for d in null zero full random urandom tty; do
		printf '%s\n' "$output" | grep -qx "/dev/$d /$d"
	done
	[[ "$output" == *$'\n'"1:3"$'\n'null-ok$'\n'fifo$'\n'* ]]
	[[ "${lines[-1]}" == mknod-refused ]]
}

@test "userns: the default mounts work (proc, sysfs, mqueue, devpts, cgroup)" {
	userns_config
	run_sh 'awk "{for (i = 7; \$i != \"-\"; i++); print \$5, \$(i+1)}" /proc/self/mountinfo; ls /sys/kernel >/dev/null && echo sys-ok'
	echo "$output"
	[ "$status" -eq 0 ]
	for m in "/proc proc" "/sys sysfs" "/dev/mqueue mqueue" "/dev/pts devpts"; do
		printf '%s\n' "$output" | grep -qx "$m"
	done
	printf '%s\n' "$output" | grep -q '^/sys/fs/cgroup'
	[[ "$output" == *sys-ok* ]]
}

@test "userns: a created container's init runs with the mapped ids on the host" {
	userns_config
	set_args sleep 100
	teu create --bundle "$BUNDLE" u1
	pid=$(teu state u1 | jq .pid)
	[ "$(awk '/^Uid:/ {print $2}' /proc/$pid/status)" = 100000 ]
	[ "$(awk '{print $1, $2, $3}' /proc/$pid/uid_map)" = "0 100000 65536" ]
	teu start u1
	wait_status u1 running
	teu delete --force u1
}

@test "userns: oomScoreAdj and sysctls still apply" {
	userns_config
	update_config '.process.oomScoreAdj = 300 | .linux.sysctl = {"net.ipv4.ip_forward": "1"}'
	run_sh 'cat /proc/self/oom_score_adj /proc/sys/net/ipv4/ip_forward'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 300 ]
	[ "${lines[1]}" = 1 ]
}

# status_field PID FIELD: a field of /proc/PID/status, as the host sees it.
status_field() {
	awk -v f="$2:" '$1 == f {$1 = ""; print substr($0, 2)}' "/proc/$1/status"
}

@test "userns: a tmpfs the container put over /proc fools neither exec's bounding set nor its groups" {
	# Root of a user namespace may cover its own /proc. exec's init joins
	# that mount namespace: what it reads there is the container's word.
	userns_config
	update_config '.root.readonly = false
		| .process.capabilities.bounding += ["CAP_SYS_ADMIN"]
		| .process.capabilities.effective += ["CAP_SYS_ADMIN"]
		| .process.capabilities.permitted += ["CAP_SYS_ADMIN"]'
	set_args sh -c 'mount -t tmpfs fake /proc && mkdir -p /proc/sys/kernel /proc/self && echo 0 >/proc/sys/kernel/cap_last_cap && echo deny >/proc/self/setgroups && touch /ready && sleep 100'
	teu run -d --bundle "$BUNDLE" u </dev/null >/dev/null 2>&1
	init=$(teu state u | jq .pid)
	for _ in $(seq 1 200); do [ -e "$BUNDLE/rootfs/ready" ] && break; sleep 0.05; done
	[ -e "$BUNDLE/rootfs/ready" ]
	# A caller with a supplementary group: exec's process must not keep it.
	setpriv --groups 7 "$TEU_BIN" --root "$TEU_ROOT" exec -d u sleep 30
	pid=
	for p in $(teu ps --format json u | jq '.[]'); do
		[ "$(tr '\0' ' ' </proc/$p/cmdline)" = "sleep 30 " ] && pid=$p
	done
	[ -n "$pid" ]
	echo "init CapBnd $(status_field $init CapBnd) Groups [$(status_field $init Groups)]"
	echo "exec CapBnd $(status_field $pid CapBnd) Groups [$(status_field $pid Groups)]"
	# The same bounding set as the init's (the config's), no groups.
	[ "$(status_field $pid CapBnd)" = "$(status_field $init CapBnd)" ]
	[ -z "$(status_field $pid Groups)" ]
}
