#!/usr/bin/env bats
# The process section and the settings init applies around it: hostname,
# sysctls, oom_score_adj, rlimits, user, umask, env, cwd, args.
load helpers

@test "process: hostname and domainname" {
	update_config '.hostname = "teu-host" | .domainname = "teu.example"'
	run_sh 'hostname; cat /proc/sys/kernel/domainname'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = teu-host ]
	[ "${lines[1]}" = teu.example ]
	# The host's are untouched.
	[ "$(hostname)" != teu-host ]
}

@test "process: sysctls are applied in the container's namespaces only" {
	host_fwd=$(cat /proc/sys/net/ipv4/ip_forward)
	host_rmid=$(cat /proc/sys/kernel/shm_rmid_forced)
	want_fwd=$((1 - host_fwd))
	want_rmid=$((1 - host_rmid))
	update_config ".linux.sysctl = {\"net.ipv4.ip_forward\": \"$want_fwd\", \"kernel.shm_rmid_forced\": \"$want_rmid\"}"
	run_sh 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shm_rmid_forced'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$want_fwd" ]
	[ "${lines[1]}" = "$want_rmid" ]
	[ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$host_fwd" ]
	[ "$(cat /proc/sys/kernel/shm_rmid_forced)" = "$host_rmid" ]
}

@test "process: oomScoreAdj raises the score; lowering it without CAP_SYS_RESOURCE is one clear error" {
	update_config '.process.oomScoreAdj = 500'
	run_sh 'cat /proc/self/oom_score_adj'
	[ "$status" -eq 0 ]
	[ "$output" = 500 ]

	mine=$(cat /proc/self/oom_score_adj)
	if grep -q '^CapEff:.*' /proc/self/status && [ $((0x$(awk '/^CapEff/ {print $2}' /proc/self/status) >> 24 & 1)) -eq 1 ]; then
		skip "we hold CAP_SYS_RESOURCE: lowering is allowed"
	fi
	update_config ".process.oomScoreAdj = $((mine - 100))"
	run_sh 'echo ran'
	echo "$output"
	assert_one_error_line
	[[ "$output" == *"oom_score_adj"* ]]
	[ -z "$(teu list -q)" ]
}

@test "process: rlimits are set" {
	update_config '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 1024}, {"type": "RLIMIT_CORE", "soft": 0, "hard": 4096}]'
	run_sh 'ulimit -Sn; ulimit -Hn; ulimit -Sc; ulimit -Hc'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1024 ]
	[ "${lines[1]}" = 1024 ]
	[ "${lines[2]}" = 0 ]
	[ "${lines[3]}" = 8 ] # busybox counts in 512-byte blocks
}

@test "process: small rlimits (16 MiB of address space, 8 fds) hold through create, start and exec" {
	# AddressSanitizer reserves terabytes of address space: a sanitized
	# teu cannot start under such a limit (make test-sanitizers).
	[ -z "${TEU_SANITIZED:-}" ] || skip "a sanitized teu cannot run under a 16 MiB RLIMIT_AS"
	# The executor lowers them only right before execve, after its last
	# allocation and file of its own.
	update_config '.process.rlimits = [{"type": "RLIMIT_AS", "soft": 16777216, "hard": 16777216}, {"type": "RLIMIT_NOFILE", "soft": 8, "hard": 8}]'
	# Large environment strings make Go's exec allocate fresh spans.
	update_config '.process.env += [range(4) | "B\(.)=" + ("x" * 100000)]'
	set_args sleep 100000
	for i in 1 2 3; do
		teu create --bundle "$BUNDLE" "r$i"
		teu start "r$i"
		pid=$(teu state "r$i" | jq -r .pid)
		grep -E '^Max (address space|open files) ' "/proc/$pid/limits"
		[ "$(awk '/^Max address space/ {print $4, $5}' "/proc/$pid/limits")" = "16777216 16777216" ]
		[ "$(awk '/^Max open files/ {print $4, $5}' "/proc/$pid/limits")" = "8 8" ]
		run teu exec "r$i" sh -c 'ulimit -v; ulimit -n'
		echo "$output"
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = 16384 ]
		[ "${lines[1]}" = 8 ]
		teu delete -f "r$i"
	done
}

@test "process: small rlimits hold where seccomp goes on early (no_new_privs off, the runtime-tools default)" {
	# Without no_new_privs the filter is loaded before the switch of
	# credentials. The limits used to go on right before it, and the Go
	# init then lived under them: with 3 fds it could not open exec.fifo,
	# with 1 GiB of address space it died at random (process_rlimits).
	update_config '.process.noNewPrivileges = false
		| .process.rlimits = [{"type": "RLIMIT_AS", "soft": 16777216, "hard": 16777216}, {"type": "RLIMIT_NOFILE", "soft": 3, "hard": 3}]
		| .linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mknod", "mknodat"], "action": "SCMP_ACT_ERRNO"}]}'
	set_args sleep 100000
	teu create --bundle "$BUNDLE" nnp
	teu start nnp
	pid=$(teu state nnp | jq -r .pid)
	grep -E '^Max (address space|open files) ' "/proc/$pid/limits"
	[ "$(awk '/^Max address space/ {print $4, $5}' "/proc/$pid/limits")" = "16777216 16777216" ]
	[ "$(awk '/^Max open files/ {print $4, $5}' "/proc/$pid/limits")" = "3 3" ]
	[ "$(awk '/^Seccomp:/ {print $2}' "/proc/$pid/status")" = 2 ]
	run teu exec nnp sh -c 'ulimit -n; mknod /tmp/n p'
	echo "$output"
	[ "$status" -ne 0 ]
	[ "${lines[0]}" = 3 ]
	[[ "$output" == *"not permitted"* ]]
}

@test "process: rlimits still go on when the early seccomp filter denies prlimit64" {
	# Then they are set before the filter: the only order that works.
	update_config '.process.noNewPrivileges = false
		| .process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200}]
		| .linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["prlimit64"], "action": "SCMP_ACT_ERRNO"}]}'
	set_args sleep 100000
	teu run -d --bundle "$BUNDLE" deny
	pid=$(teu state deny | jq -r .pid)
	grep '^Max open files ' "/proc/$pid/limits"
	[ "$(awk '/^Max open files/ {print $4, $5}' "/proc/$pid/limits")" = "100 200" ]
	run teu exec deny sh -c 'ulimit -n 50 && echo lowered'
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" != *lowered* ]]
}

@test "process: an rlimit above the hard limit is one clear error" {
	hard=$(ulimit -Hn)
	if [ $((0x$(awk '/^CapEff/ {print $2}' /proc/self/status) >> 24 & 1)) -eq 1 ]; then
		skip "we hold CAP_SYS_RESOURCE: raising is allowed"
	fi
	update_config ".process.rlimits = [{\"type\": \"RLIMIT_NOFILE\", \"soft\": $((hard + 1)), \"hard\": $((hard + 1))}]"
	run_sh 'echo ran'
	echo "$output"
	assert_one_error_line
	[[ "$output" == *RLIMIT_NOFILE* ]]
	[[ "$output" == *"operation not permitted"* ]]
	[ -z "$(teu list -q)" ]
}

@test "process: without rlimits the container gets the caller's NOFILE, not Go's raised one" {
	update_config 'del(.process.rlimits)'
	set_args sh -c 'ulimit -Sn; ulimit -Hn'
	hard=$(ulimit -Hn)
	run bash -c "ulimit -Sn 512 && exec \"$TEU_BIN\" --root \"$TEU_ROOT\" run --bundle \"$BUNDLE\" nofile"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 512 ]
	[ "${lines[1]}" = "$hard" ]
}

@test "process: user uid, gid and additionalGids" {
	update_config '.process.user = {"uid": 1000, "gid": 1000, "additionalGids": [5, 65534]}'
	run_sh 'id -u; id -g; id -G; grep -E "^(Uid|Gid|Groups):" /proc/self/status'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1000 ]
	[ "${lines[1]}" = 1000 ]
	[[ " ${lines[2]} " == *" 5 "* ]]
	[[ " ${lines[2]} " == *" 65534 "* ]]
	[[ "$output" == *"Uid:"$'\t'"1000"$'\t'"1000"$'\t'"1000"$'\t'"1000"* ]]
	[[ "$output" == *"Gid:"$'\t'"1000"$'\t'"1000"$'\t'"1000"$'\t'"1000"* ]]
	groups=$(printf '%s\n' "$output" | awk '/^Groups:/ {$1 = ""; print}')
	[ "$(echo $groups)" = "5 65534" ]
}

@test "process: root has no supplementary groups unless asked" {
	run_sh 'grep "^Groups:" /proc/self/status'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(echo $output)" = "Groups:" ]
}

@test "process: umask" {
	update_config '.process.user.umask = 23'
	run_sh 'umask; touch /dev/shm/f; stat -c %a /dev/shm/f'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0027 ]
	[ "${lines[1]}" = 640 ]
	update_config 'del(.process.user.umask)'
	run_sh 'umask'
	[ "$output" = 0022 ]
}

@test "process: env, and HOME from /etc/passwd when unset" {
	update_config '.process.env = ["PATH=/bin", "FOO=bar baz", "EMPTY="]'
	run_sh 'echo "FOO=$FOO"; echo "EMPTY=[$EMPTY]"; echo "HOME=$HOME"; env | grep -c ^_TEU || true'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "FOO=bar baz" ]
	[ "${lines[1]}" = "EMPTY=[]" ]
	[ "${lines[2]}" = "HOME=/root" ]
	[ "${lines[3]}" = 0 ]

	update_config '.process.user = {"uid": 1000, "gid": 1000}'
	run_sh 'echo $HOME'
	[ "$output" = /home/user ]

	update_config '.process.user = {"uid": 4242, "gid": 4242}'
	run_sh 'echo $HOME'
	[ "$output" = / ]

	update_config '.process.env += ["HOME=/custom"]'
	run_sh 'echo $HOME'
	[ "$output" = /custom ]
}

@test "process: an /etc/passwd that is a FIFO or a device hangs neither create nor exec (HOME is /)" {
	# The image's: were it opened blocking, the init would wait forever.
	rm -f "$BUNDLE/rootfs/etc/passwd"
	mkfifo "$BUNDLE/rootfs/etc/passwd"
	update_config '.process.env = ["PATH=/bin"] | .root.readonly = false'
	set_args sh -c 'echo "HOME=$HOME"'
	run timeout 20 "$TEU_BIN" --root "$TEU_ROOT" run --bundle "$BUNDLE" p1 </dev/null
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "HOME=/" ]
	# The running container's own, for exec: a device this time, too.
	set_args sleep 100
	teu run -d --bundle "$BUNDLE" p2 </dev/null >/dev/null 2>&1
	run timeout 20 "$TEU_BIN" --root "$TEU_ROOT" exec p2 sh -c 'echo "HOME=$HOME"'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "HOME=/" ]
	teu exec p2 sh -c 'rm /etc/passwd; ln -s /dev/zero /etc/passwd'
	run timeout 20 "$TEU_BIN" --root "$TEU_ROOT" exec p2 sh -c 'echo "HOME=$HOME"'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "HOME=/" ]
}

@test "process: cwd is used, and created when missing (as runc does)" {
	update_config '.process.cwd = "/home/user"'
	run_sh 'pwd'
	[ "$status" -eq 0 ]
	[ "$output" = /home/user ]

	# Missing, with a read-only root and a non-root user: made by the
	# runtime inside the rootfs.
	update_config '.process.cwd = "/new/dir" | .root.readonly = true | .process.user = {"uid": 1000, "gid": 1000}'
	run_sh 'pwd; stat -c "%a %u" /new/dir'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = /new/dir ]
	[ "${lines[1]}" = "755 0" ]
	[ -d "$BUNDLE/rootfs/new/dir" ]
}

@test "process: cwd through an absolute symlink stays in the rootfs" {
	target=/teu-test-cwd-$(basename "$TEST_ROOT")
	ln -s "$target" "$BUNDLE/rootfs/link"
	update_config '.process.cwd = "/link/sub"'
	run_sh 'pwd -P'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "$target/sub" ]
	[ ! -e "$target" ]
	[ -d "$BUNDLE/rootfs$target/sub" ]
}

@test "process: args[0] is looked up in the container's PATH" {
	mkdir -p "$BUNDLE/rootfs/opt/bin"
	printf '#!/bin/sh\necho mycmd "$@"\n' >"$BUNDLE/rootfs/opt/bin/mycmd"
	chmod 755 "$BUNDLE/rootfs/opt/bin/mycmd"
	update_config '.process.env = ["PATH=/nope:/opt/bin:/bin"]'
	set_args mycmd a "b c"
	run teu run --bundle "$BUNDLE" p1
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "mycmd a b c" ]

	set_args no-such-command
	run teu run --bundle "$BUNDLE" p2
	echo "$output"
	assert_one_error_line
	[[ "$output" == *"no-such-command"*"not found"* ]]
	[ -z "$(teu list -q)" ]
}
