#!/usr/bin/env bats
# runc compatibility: what engines and people at a shell see of runc (its
# CLI, exit statuses, warnings, environment, session, terminal, network and
# hooks), each checked against a real container. docs/compat.md lists where
# teu differs on purpose.
load helpers
load lifecycle

@test "compat: --version and --help carry runc's lines" {
	run teu --version
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^teu\ version\ .*runc\ version\ [0-9]+\.[0-9]+\.[0-9]+ ]]
	[[ "${lines[1]}" == commit:* ]]
	[[ "${lines[2]}" =~ ^spec:\ [0-9]+\.[0-9]+\.[0-9]+ ]]
	run teu --help
	[ "$status" -eq 0 ]
	[[ "${lines[1]}" == *"teu - a drop-in for runc - Open Container Initiative runtime" ]]
	run teu nosuch -h
	[ "$status" -eq 3 ]
	[[ "$output" == *"No help topic for 'nosuch'"* ]]
}

@test "compat: flags may follow the container id (but not exec's and ps's arguments)" {
	set_args sleep 100
	teu run -d --bundle "$BUNDLE" c1
	# update's flag after the id, as runc's CLI takes it.
	teu update c1 --pids-limit 50
	[ "$(jq -r .linux.resources.pids.limit "$TEU_ROOT/c1/config.json")" = 50 ]
	teu delete c1 --force
	[ -z "$(teu list -q)" ]
}

@test "compat: a failed exec exits 255, the process's own status passes through" {
	set_args sleep 100
	teu run -d --bundle "$BUNDLE" c1
	run teu exec c1 sh -c 'exit 42'
	[ "$status" -eq 42 ]
	run teu exec c1 no-such-binary
	[ "$status" -eq 255 ]
	[[ "$output" == *"no-such-binary"*"not found"* ]]
	run teu exec --pid-file /non-existent/directory c1 true
	[ "$status" -eq 255 ]
	run teu exec no_such_container true
	[ "$status" -eq 255 ]
	teu pause c1
	run teu exec c1 true
	[ "$status" -eq 255 ]
	[[ "$output" == *"cannot exec in a paused container"* ]]
	teu resume c1
}

@test "compat: the container's and exec's processes are session leaders" {
	set_args sh -c 'echo "$(cut -d" " -f6 /proc/self/stat) $$"; sleep 100'
	teu run -d --bundle "$BUNDLE" c1 >"$TEST_ROOT/out"
	wait_for grep -q . "$TEST_ROOT/out"
	read -r sid pid <"$TEST_ROOT/out"
	[ "$sid" = "$pid" ]
	[ "$pid" = 1 ]
	run teu exec c1 sh -c 'echo "$(cut -d" " -f6 /proc/self/stat) $$"'
	[ "$status" -eq 0 ]
	read -r sid pid <<<"$output"
	[ "$sid" = "$pid" ]
}

@test "compat: a new network namespace has lo up" {
	# A TCP round trip over 127.0.0.1, and lo's flags.
	run_sh 'nc -l -p 7777 >/dev/shm/got & sleep_until() { i=0; while ! nc -z 127.0.0.1 7777 && [ $i -lt 100 ]; do i=$((i+1)); usleep 20000; done; }; sleep_until; echo over-lo | nc 127.0.0.1 7777; wait; cat /dev/shm/got; ip -o link show lo'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *over-lo* ]]
	[[ "$output" == *"<LOOPBACK,UP,LOWER_UP>"* ]]
}

@test "compat: a non-root process can reopen its stdio (runc chowns it to the user)" {
	update_config '.process.user = {"uid": 1000, "gid": 1000}'
	# A pipe for stdout and stderr: reopened through /dev/stdout.
	run_sh 'echo via-stdout >/dev/stdout && echo via-stderr >/dev/stderr'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *via-stdout* ]]
	[[ "$output" == *via-stderr* ]]
}

@test "compat: an attached terminal does not turn \\n into \\r\\n (ONLCR off, as runc)" {
	command -v script >/dev/null || skip "script(1) is not installed"
	update_config '.process.terminal = true'
	set_args sh -c 'printf "a\nb\n"; stty -a | grep -o -- "-\?onlcr"'
	# script gives teu a terminal; its log has the container's bytes.
	script -qefc "$TEU_BIN --root $TEU_ROOT run --bundle $BUNDLE t1" "$TEST_ROOT/typescript" </dev/null >/dev/null
	grep -q -- "-onlcr" "$TEST_ROOT/typescript"
	# The "a" line ends in \n alone: no \r from the container's pty.
	! grep -q $'a\r' "$TEST_ROOT/typescript"
}

@test "compat: HOME empty or unset comes from /etc/passwd; of duplicate env entries the last wins" {
	update_config '.process.env = ["PATH=/bin", "HOME=", "ONE=one", "ONE=two"]'
	run_sh 'echo "home=$HOME one=$ONE n=$(env | grep -c ^ONE=)"'
	[ "$status" -eq 0 ]
	[ "$output" = "home=/root one=two n=1" ]
	update_config '.process.env = ["PATH=/bin", "HOME=/custom"]'
	run_sh 'echo "home=$HOME"'
	[ "$output" = "home=/custom" ]
}

@test "compat: ambient capabilities not also inheritable, and unknown ones, warn and go on" {
	update_config '.process.capabilities.ambient = ["CAP_KILL"] | .process.capabilities.bounding += ["CAP_NOPE"]'
	run_sh 'grep CapAmb /proc/self/status'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"level=warning"*"can't raise ambient capability CAP_KILL"* ]]
	[[ "$output" == *"level=warning"*"ignoring unknown or unavailable capabilities: [CAP_NOPE]"* ]]
}

@test "compat: hooks fail with runc's words; startContainer hooks get the process's env; createContainer's cwd is the rootfs" {
	cat >"$BUNDLE/rootfs/env-hook.sh" <<-'EOF'
	#!/bin/sh
	echo "ONE=$ONE cwd=$(pwd)" >/dev/shm/hook.out
	EOF
	chmod +x "$BUNDLE/rootfs/env-hook.sh"
	update_config '.process.env = ["PATH=/bin", "ONE=two"] |
		.hooks = {"startContainer": [{"path": "/env-hook.sh"}],
		          "createContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "pwd > '"$TEST_ROOT"'/cc.cwd"]}]}'
	set_args cat /dev/shm/hook.out
	run teu run --bundle "$BUNDLE" h1
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "ONE=two cwd=/" ]
	[ "$(cat "$TEST_ROOT/cc.cwd")" = "$BUNDLE/rootfs" ]
	for kind in prestart createRuntime createContainer startContainer; do
		update_config '.hooks = {"'$kind'": [{"path": "/bin/true"}, {"path": "/bin/false"}]}'
		run teu run --bundle "$BUNDLE" "f-$kind"
		echo "$kind: $output"
		[ "$status" -ne 0 ]
		[[ "$output" == *"error running $kind hook #1:"* ]]
	done
	[ -z "$(teu list -q)" ]
}

@test "compat: a startContainer hook runs under the container's seccomp filter (runc's order)" {
	update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]} |
		.hooks = {"startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "mkdir /tmp/x"]}]}'
	set_args true
	run teu run --bundle "$BUNDLE" s1
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"error running startContainer hook #0"*"Operation not permitted"* ]]
	# A hook the filter kills is reported by the signal's name.
	update_config '.linux.seccomp.syscalls[0].action = "SCMP_ACT_KILL"'
	run teu run --bundle "$BUNDLE" s2
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"error running startContainer hook #0"*"signal: bad system call"* ]]
}

@test "compat: seccomp load flags as runc's: TSYNC ignored, SPEC_ALLOW when no flags field" {
	update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdirat"], "action": "SCMP_ACT_ERRNO"}]}'
	set_args true
	run teu --debug run --bundle "$BUNDLE" f1
	[ "$status" -eq 0 ]
	[[ "$output" == *'"seccomp filter flags: 4"'* ]]
	update_config '.linux.seccomp.flags = []'
	run teu --debug run --bundle "$BUNDLE" f2
	[ "$status" -eq 0 ]
	[[ "$output" == *'"seccomp filter flags: 0"'* ]]
	update_config '.linux.seccomp.flags = ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG"]'
	run teu --debug run --bundle "$BUNDLE" f3
	[ "$status" -eq 0 ]
	[[ "$output" == *'"seccomp filter flags: 2"'* ]]
}

@test "compat: the container's CPU affinity starts from all CPUs, not teu's own pinning" {
	[ "$(nproc --all)" -ge 2 ] || skip "one CPU"
	command -v taskset >/dev/null || skip "taskset is not installed"
	all=$(awk '/^Cpus_allowed_list/ {print $2}' /proc/self/status)
	set_args sh -c 'grep Cpus_allowed_list /proc/self/status; sleep 100'
	taskset -c 0 "$TEU_BIN" --root "$TEU_ROOT" run -d --bundle "$BUNDLE" c1 >"$TEST_ROOT/out"
	wait_for grep -q . "$TEST_ROOT/out"
	grep -q $'Cpus_allowed_list:\t'"$all"'$' "$TEST_ROOT/out"
	run taskset -c 0 "$TEU_BIN" --root "$TEU_ROOT" exec c1 grep Cpus_allowed_list /proc/self/status
	[ "$output" = $'Cpus_allowed_list:\t'"$all" ]
	# execCPUAffinity.initial is the exception, and --debug says the mask.
	echo '{"args": ["true"], "cwd": "/", "execCPUAffinity": {"initial": "1"}}' >"$TEST_ROOT/p.json"
	run teu --debug exec -p "$TEST_ROOT/p.json" c1
	[ "$status" -eq 0 ]
	[[ "$output" == *"nsexec"*": affinity: 0x2"* ]]
}

@test "compat: --debug logs the container's set-up (text, --log, JSON)" {
	set_args echo hello
	run teu --debug run --bundle "$BUNDLE" d1
	[ "$status" -eq 0 ]
	[[ "$output" == *"level=debug"*"nsexec container setup"* ]]
	[[ "$output" == *"child process in init()"* ]]
	[[ "$output" == *"init: closing the pipe to signal completion"* ]]
	[[ "$output" == *"init: mount proc on /proc"* ]]
	run teu --debug --log "$TEST_ROOT/log" --log-format json run --bundle "$BUNDLE" d2
	[ "$status" -eq 0 ]
	[ "$output" = hello ]
	grep -q '"level":"debug"' "$TEST_ROOT/log"
	jq -r .msg "$TEST_ROOT/log" | grep -qx "init: pivot_root"
}

@test "compat: --debug exec logs runc's set-up lines" {
	set_args sleep 100
	teu run -d --bundle "$BUNDLE" d3
	run teu --debug exec d3 true
	[ "$status" -eq 0 ]
	[[ "$output" == *"nsexec container setup"* ]]
	[[ "$output" == *"child process in init()"* ]]
	[[ "$output" == *"setns_init: about to exec"* ]]
}

@test "compat: masked directories share one read-only tmpfs; a path masked twice is one mount" {
	mkdir -p "$BUNDLE/rootfs/md1" "$BUNDLE/rootfs/md2"
	touch "$BUNDLE/rootfs/mf"
	update_config '.linux.maskedPaths += ["/md1", "/md2", "/mf", "/md1", "/mf"]'
	run_sh 'stat -c %d /md1 /md2 | uniq | wc -l; grep -c " /md1 " /proc/self/mountinfo; grep -c " /mf " /proc/self/mountinfo; touch /md2/x 2>&1'
	echo "$output"
	[ "${lines[0]}" = 1 ]
	[ "${lines[1]}" = 1 ]
	[ "${lines[2]}" = 1 ]
	[[ "${lines[3]}" == *"Read-only file system"* ]]
}

@test "compat: a read-only /dev is the /dev mount itself, not a bind over it" {
	update_config '.mounts |= map(if .destination == "/dev" then .options += ["ro"] else . end)'
	run_sh 'grep "^tmpfs /dev " /proc/mounts'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" == *" ro,"* ]]
}

@test "compat: /proc or /sys as a symlink in the rootfs is refused with runc's words" {
	for d in proc sys; do
		rm -rf "${BUNDLE:?}/rootfs/$d"
		ln -s /nowhere "$BUNDLE/rootfs/$d"
		run_sh true
		echo "$output"
		assert_one_error_line
		[[ "$output" == *"/$d must be mounted on ordinary directory"* ]]
		rm "$BUNDLE/rootfs/$d" && mkdir "$BUNDLE/rootfs/$d"
	done
	[ -z "$(teu list -q)" ]
}

@test "compat: --no-pivot leaves no whole host procfs to mount a fresh one from" {
	# busybox's unshare does the job inside: a user namespace of its own
	# and a new procfs; the host's must not be reachable for it.
	update_config '.process.capabilities.bounding += ["CAP_SETFCAP", "CAP_SYS_ADMIN"] | .process.capabilities.permitted += ["CAP_SETFCAP", "CAP_SYS_ADMIN"] | .process.capabilities.effective += ["CAP_SYS_ADMIN"]'
	set_args unshare -mrpf sh -c 'mount -t proc none /proc && echo mounted'
	run teu run --no-pivot --bundle "$BUNDLE" np
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" != *mounted* ]]
	[[ "$output" == *"ermission denied"* ]]
}

@test "compat: tmpcopyup gives a tmpfs the content it covers, modes, owners and links kept" {
	mkdir -p "$BUNDLE/rootfs/dir1/dir2"
	chmod 777 "$BUNDLE/rootfs/dir1/dir2"
	echo hi >"$BUNDLE/rootfs/dir1/f"
	chown 1000:1000 "$BUNDLE/rootfs/dir1/f"
	ln -s f "$BUNDLE/rootfs/dir1/l"
	update_config '.mounts += [{"source": "tmpfs", "destination": "/dir1", "type": "tmpfs", "options": ["tmpcopyup"]}]'
	run_sh 'stat -c "%A %u" /dir1/dir2 /dir1/f; cat /dir1/l; grep -c " /dir1 .* - tmpfs " /proc/self/mountinfo; echo new >/dir1/g && echo writable'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "drwxrwxrwx 0" ]
	[ "${lines[1]}" = "-rw-r--r-- 1000" ]
	[ "${lines[2]}" = hi ]
	[ "${lines[3]}" = 1 ]
	[ "${lines[4]}" = writable ]
	# The image's copy stays as it was.
	[ ! -e "$BUNDLE/rootfs/dir1/g" ]
}

@test "compat: a tmpfs without mode= takes its mount point's mode (setgid and sticky bits too)" {
	mkdir -p "$BUNDLE/rootfs/t1"
	chmod 3710 "$BUNDLE/rootfs/t1"
	update_config '.mounts += [{"source": "tmpfs", "destination": "/t1", "type": "tmpfs"}, {"source": "tmpfs", "destination": "/t2", "type": "tmpfs", "options": ["mode=0410"]}]'
	run_sh 'stat -c %a /t1 /t2'
	echo "$output"
	[ "${lines[0]}" = 3710 ]
	[ "${lines[1]}" = 410 ]
}

@test "compat: invalid memory policies fail with runc's words" {
	update_config '.linux.memoryPolicy = {"mode": "MPOL_DEFAULT", "nodes": "0-7"}'
	run_sh true
	assert_one_error_line
	[[ "$output" == *"invalid memory policy: MPOL_DEFAULT mode requires 0 nodes but got 8"* ]]
	update_config '.linux.memoryPolicy = {"nodes": "0"}'
	run_sh true
	[[ "$output" == *"invalid memory policy mode"* ]]
	update_config '.linux.memoryPolicy = {"mode": "MPOL_PREFERRED", "nodes": "0", "flags": ["badflag"]}'
	run_sh true
	[[ "$output" == *"invalid memory policy flag"* ]]
}

# mount_order_config [userns] [idmap]: two host sources, the second mounted
# inside the first (named through a symlink: the mount shows its target),
# then the result bound elsewhere from inside the rootfs
# (a source that exists only through the mounts before it). The host
# sources are closed to others: in a user namespace only the parent can
# open them.
mount_order_config() {
	local opts='"rbind"'
	mkdir -p "$TEST_ROOT/src/a" "$TEST_ROOT/src/b"
	echo A >"$TEST_ROOT/src/a/f"
	echo B >"$TEST_ROOT/src/b/f"
	mkdir -p "$TEST_ROOT/src/a/sub"
	ln -s a "$TEST_ROOT/src/sym-a"
	chmod 700 "$TEST_ROOT/src"
	if [[ " $* " == *" userns "* ]]; then
		chmod 755 "$TEST_ROOT"
		chown -R 100000:100000 "$BUNDLE/rootfs"
		update_config '.linux.namespaces += [{"type": "user"}]
			| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
			| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
	fi
	[[ " $* " == *" idmap "* ]] && opts='"rbind", "idmap"'
	update_config '.mounts += [
		{"source": "'"$TEST_ROOT"'/src/sym-a", "destination": "/m1", "type": "bind", "options": ["bind"]},
		{"source": "'"$TEST_ROOT"'/src/b", "destination": "/m1/sub", "type": "bind", "options": ["bind"]},
		{"source": "'"$BUNDLE"'/rootfs/m1", "destination": "'"$BUNDLE"'/rootfs/m2", "type": "bind", "options": ['"$opts"'],
		 "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
		 "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]}]'
	[[ " $* " == *" idmap "* ]] || update_config 'del(.mounts[-1].uidMappings, .mounts[-1].gidMappings)'
	set_args sh -c 'cat /m2/f /m2/sub/f'
}

@test "compat: mounts go on in order; a source inside the rootfs sees the mounts before it" {
	mount_order_config
	run teu run --bundle "$BUNDLE" o1
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'A\nB')" ]
}

@test "compat: in a user namespace, host sources its root cannot reach are bound (opened by the parent)" {
	mount_order_config userns
	run teu run --bundle "$BUNDLE" o2
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'A\nB')" ]
}

@test "compat: an idmapped source inside the rootfs, made by the mounts before it" {
	mount_order_config idmap
	set_args sh -c 'cat /m2/f /m2/sub/f; stat -c %u /m2/f'
	run teu run --bundle "$BUNDLE" o3
	echo "$output"
	[ "$status" -eq 0 ]
	# Through the idmap, the files root made on the host show as 100000.
	[ "$output" = "$(printf 'A\nB\n100000')" ]
}

@test "compat: a bind destination through dangling symlinks lands where they point, inside the rootfs" {
	echo hosts >"$TEST_ROOT/hosts"
	chmod 644 "$TEST_ROOT/hosts"
	rm -f "$BUNDLE/rootfs/etc/hosts"
	ln -s /tmp/foo/bar "$BUNDLE/rootfs/jump"
	ln -s /jump/baz/hosts "$BUNDLE/rootfs/etc/hosts"
	update_config '.mounts += [{"source": "'"$TEST_ROOT"'/hosts", "destination": "/etc/hosts", "options": ["bind"]}]'
	run_sh 'cat /tmp/foo/bar/baz/hosts; grep -c " /tmp/foo/bar/baz/hosts " /proc/self/mountinfo'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'hosts\n1')" ]
	[ -d "$BUNDLE/rootfs/tmp/foo/bar/baz" ]
}

@test "compat: a bind destination through a trailing dangling symlink makes its target, a file or a directory" {
	echo hosts >"$TEST_ROOT/hosts"
	chmod 644 "$TEST_ROOT/hosts"
	mkdir -p "$TEST_ROOT/hostsdir"
	rm -f "$BUNDLE/rootfs/etc/hosts"
	ln -s /tmp/hosts "$BUNDLE/rootfs/etc/hosts"
	cp "$BUNDLE/config.json" "$TEST_ROOT/config.json"
	for src in "$TEST_ROOT/hosts" "$TEST_ROOT/hostsdir"; do
		cp "$TEST_ROOT/config.json" "$BUNDLE/config.json"
		rm -rf "$BUNDLE/rootfs/tmp/hosts"
		update_config '.mounts += [{"source": "'"$src"'", "destination": "/etc/hosts", "options": ["bind"]}]'
		run_sh 'stat -c "%F %i" /tmp/hosts'
		echo "$output"
		[ "$status" -eq 0 ]
		[[ "$output" == *" $(stat -c %i "$src")" ]]
	done
}

@test "compat: a node in linux.devices is made, not allowed: a deny-all device cgroup keeps it shut" {
	update_config '.linux.resources.devices = [{"allow": false, "access": "rwm"}]
		| .linux.devices = [{"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11}]
		| .process.capabilities.bounding += ["CAP_SYSLOG"] | .process.capabilities.effective += ["CAP_SYSLOG"]
		| .process.capabilities.permitted += ["CAP_SYSLOG"]'
	run_sh 'ls -l /dev/kmsg; head -c 1 /dev/kmsg 2>&1; echo x 2>&1 >/dev/kmsg'
	echo "$output"
	[[ "${lines[0]}" == crw* ]]
	[ "$(grep -c "Operation not permitted" <<<"$output")" -eq 2 ]
}

@test "compat: exec --cgroup refuses .. and unknown controllers in runc's words" {
	[ -d /sys/fs/cgroup/cpu ] || skip "needs a cgroup v1 cpu hierarchy"
	set_args sleep 100
	teu run -d --bundle "$BUNDLE" c1
	run teu exec --cgroup .. c1 true
	[ "$status" -eq 255 ]
	[[ "$output" == *"bad sub cgroup path"* ]]
	run teu exec --cgroup whaaat:/ c1 true
	[[ "$output" == *"unknown controller"* ]]
	run teu exec --cgroup nonexistent c1 true
	[[ "$output" == *" adding pid "*"o such file or directory"* ]]
	run teu exec --cgroup / c1 cat /proc/self/cgroup
	[ "$status" -eq 0 ]
}

@test "compat: SCHED_DEADLINE with a narrower cpuset fails with runc's explanation" {
	[ "$(nproc --all)" -ge 2 ] || skip "one CPU"
	update_config '.linux.resources.cpu = {"cpus": "0", "mems": "0"}
		| .process.scheduler = {"policy": "SCHED_DEADLINE", "runtime": 42000, "deadline": 1000000, "period": 1000000}'
	run_sh true
	echo "$output"
	assert_one_error_line
	[[ "$output" == *"process scheduler can't be used together with AllowedCPUs"* ]]
}

@test "compat: the rootfs's parent mount is made private, or a slave with rootfsPropagation slave (runc's rule)" {
	# Shared, as on systemd hosts, in a mount namespace of the test's own.
	set_args sh -c 'awk "\$5 == \"/\"" /proc/self/mountinfo'
	run unshare -m --propagation shared "$TEU_BIN" --root "$TEU_ROOT" run --bundle "$BUNDLE" p1
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" != *shared:* ]]
	[[ "$output" != *master:* ]]
	update_config '.linux.rootfsPropagation = "slave"'
	run unshare -m --propagation shared "$TEU_BIN" --root "$TEU_ROOT" run --bundle "$BUNDLE" p2
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *" master:"* ]]
	[[ "$output" != *shared:* ]]
}

@test "compat: an execve failure of the container's process is runc's one line" {
	printf '#!/mmnnttbb foo bar\nsh\n' > "$BUNDLE/rootfs/run.sh"
	chmod +x "$BUNDLE/rootfs/run.sh"
	set_args /run.sh
	run teu run --bundle "$BUNDLE" c1
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[ "${lines[0]}" = "exec /run.sh: no such file or directory" ]
	# In --log the line keeps what failed.
	teu create --bundle "$BUNDLE" c2
	run teu --log "$TEST_ROOT/log" --log-format json start c2
	[ "$status" -ne 0 ]
	[ "$output" = "exec /run.sh: no such file or directory" ]
	grep -q '"msg":"start c2: exec /run.sh: no such file or directory"' "$TEST_ROOT/log"
	teu delete --force c1
	teu delete --force c2
	[ -z "$(teu list -q)" ]
}

@test "compat: bind mount flags are runc's: exactly those the options ask, the source's locked ones kept in a user namespace" {
	mkdir "$TEST_ROOT/src"
	mount -t tmpfs tmpfs "$TEST_ROOT/src"
	mount --bind -o remount,ro,noexec,nosuid "$TEST_ROOT/src"
	set_args sh -c 'awk "\$2 == \"/mnt\" {print \$4}" /proc/self/mounts'
	bind_opts() { update_config '.mounts = [.mounts[] | select(.destination != "/mnt")] + [{"source": "'"$TEST_ROOT"'/src", "destination": "/mnt", "type": "bind", "options": '"$1"'}]'; }
	# No flag asked: the source's flags stay.
	bind_opts '["bind"]'
	run teu run --bundle "$BUNDLE" b1
	echo "$output"
	[ "$status" -eq 0 ]
	[[ ",$output," == *,ro,* && ",$output," == *,nosuid,* && ",$output," == *,noexec,* ]]
	# A flag asked (here one cleared): exactly the flags asked.
	bind_opts '["bind", "dev"]'
	run teu run --bundle "$BUNDLE" b2
	echo "$output"
	[ "$status" -eq 0 ]
	[[ ",$output," == *,rw,* ]]
	[[ ",$output," != *,nosuid,* && ",$output," != *,noexec,* ]]
	# In a user namespace the kernel locks the source's flags: unasked
	# ones stay, and clearing one is an error.
	chmod 755 "$TEST_ROOT"
	chown -R 100000:100000 "$BUNDLE/rootfs"
	update_config '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
	bind_opts '["bind", "nodev"]'
	run teu run --bundle "$BUNDLE" b3
	echo "$output"
	[ "$status" -eq 0 ]
	[[ ",$output," == *,ro,* && ",$output," == *,nosuid,* && ",$output," == *,noexec,* && ",$output," == *,nodev,* ]]
	bind_opts '["bind", "rw"]'
	run teu run --bundle "$BUNDLE" b4
	echo "$output"
	assert_one_error_line
	[[ "$output" == *"on /mnt: cannot clear locked flags ro: operation not permitted" ]]
	[ -z "$(teu list -q)" ]
	umount "$TEST_ROOT/src"
}
