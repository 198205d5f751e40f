#!/usr/bin/env bats
# linux.seccomp: actions, errnoRet, argument filters, the ENOSYS answer for
# syscalls newer than the profile, the notify agent, validation.
load helpers

# Besides the bundle: sysnr (a static raw-syscall tool, in the rootfs) and
# seccompagent (on the host), built from tests/cmd.
eval "helpers_$(declare -f setup_file)"
setup_file() {
	helpers_setup_file
	export SC_TOOLS=$TEU_CACHE/tools
	(cd "$TEU_SRC" &&
		CGO_ENABLED=0 go build -o "$SC_TOOLS/sysnr" ./tests/cmd/sysnr &&
		go build -o "$SC_TOOLS/seccompagent" ./tests/cmd/seccompagent)
	cp "$SC_TOOLS/sysnr" "$TEU_CACHE/bundle/rootfs/bin/sysnr"
}

eval "helpers_$(declare -f teardown)"
teardown() {
	if [ -n "${AGENT_PID:-}" ]; then
		kill "$AGENT_PID" 2>/dev/null || true
		wait "$AGENT_PID" 2>/dev/null || true
	fi
	helpers_teardown
}

x86_64_only() {
	[ "$(uname -m)" = x86_64 ] || skip "syscall numbers in this test are x86_64's"
}

# seccomp JSON: set linux.seccomp.
seccomp() {
	update_config ".linux.seccomp = $1"
}

# A deny-by-default profile with what busybox sh and a static Go binary
# need. Its newest syscall is rseq (334 on x86_64).
ALLOW_LIST='["arch_prctl","brk","clock_gettime","clock_nanosleep","clone","close","dup","dup2","dup3",
"execve","exit","exit_group","faccessat","access","fcntl","fork","fstat","futex","getcwd","getdents64",
"getegid","geteuid","getgid","getgroups","getpgrp","getpid","getppid","getrandom","gettid","gettimeofday",
"getuid","ioctl","kill","lseek","lstat","madvise","mmap","mprotect","munmap","nanosleep","newfstatat",
"open","openat","pipe","pipe2","poll","ppoll","prctl","pread64","prlimit64","read","readlink","readlinkat",
"rseq","rt_sigaction","rt_sigprocmask","rt_sigreturn","sched_getaffinity","sched_yield","sendfile",
"set_robust_list","set_tid_address","setpgid","sigaltstack","stat","statx","tgkill","umask","uname",
"vfork","wait4","write","writev","epoll_create1","epoll_ctl","epoll_pwait","eventfd2"]'

@test "seccomp: mkdir denied with EPERM, Seccomp: 2 in status" {
	seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}'
	run_sh 'grep "^Seccomp:" /proc/self/status; mkdir /tmp/d'
	[ "$status" -eq 1 ]
	[[ "${lines[0]}" == "Seccomp:"*2 ]]
	[[ "$output" == *"Operation not permitted"* ]]
}

@test "seccomp: without noNewPrivileges, as a non-root user" {
	# The filter then goes on before the switch to the user, while init
	# still has CAP_SYS_ADMIN.
	update_config '.process.noNewPrivileges = false | .process.user = {"uid": 1000, "gid": 1000}'
	seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}'
	run_sh 'id -u; grep "^NoNewPrivs:" /proc/self/status; grep "^Seccomp:" /proc/self/status; mkdir /tmp/d'
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = 1000 ]
	[[ "${lines[1]}" == "NoNewPrivs:"*0 ]]
	[[ "${lines[2]}" == "Seccomp:"*2 ]]
	[[ "$output" == *"Operation not permitted"* ]]
}

@test "seccomp: errnoRet and defaultErrnoRet" {
	seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":28}]}'
	run_sh 'mkdir /tmp/d'
	[ "$status" -eq 1 ]
	[[ "$output" == *"No space left on device"* ]]

	seccomp "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":27,\"syscalls\":[{\"names\":$ALLOW_LIST,\"action\":\"SCMP_ACT_ALLOW\"}]}"
	run_sh 'mkdir /tmp/d'
	[ "$status" -eq 1 ]
	[[ "$output" == *"File too large"* ]]
}

@test "seccomp: argument filters (EQ; the same index twice is OR; MASKED_EQ)" {
	x86_64_only
	# personality is 135: deny only personality(0xffffffff) and personality(8).
	seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
		{"names":["personality"],"action":"SCMP_ACT_ERRNO","args":[
			{"index":0,"value":4294967295,"op":"SCMP_CMP_EQ"},{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]},
		{"names":["umask"],"action":"SCMP_ACT_ERRNO","errnoRet":22,"args":[
			{"index":0,"value":63,"valueTwo":18,"op":"SCMP_CMP_MASKED_EQ"}]}]}'
	run_sh 'sysnr 135 0xffffffff; sysnr 135 8; sysnr 135 0; linux32 true || echo linux32 failed; sysnr 95 0o022; sysnr 95 0o077'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = EPERM ]
	[ "${lines[1]}" = EPERM ]
	[ "${lines[2]}" = ok ]
	[[ "${lines[3]}" == *"linux32 failed"* ]] || [[ "${lines[4]}" == *"linux32 failed"* ]]
	[ "${lines[-2]}" = EINVAL ]
	[ "${lines[-1]}" = ok ]
}

@test "seccomp: SCMP_ACT_KILL_PROCESS kills the container (exit 159)" {
	seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_KILL_PROCESS"}]}'
	set_args mkdir /tmp/d
	run teu run --bundle "$BUNDLE" kp
	[ "$status" -eq 159 ]
	[ -z "$(teu list -q)" ]
}

@test "seccomp: SCMP_ACT_KILL kills the thread, here the whole container (exit 159)" {
	seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_KILL"}]}'
	set_args mkdir /tmp/d
	run teu run --bundle "$BUNDLE" kt
	[ "$status" -eq 159 ]
}

@test "seccomp: SCMP_ACT_LOG lets the syscall through" {
	update_config '.root.readonly = false'
	seccomp '{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_LOG"],"syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_LOG"}]}'
	run_sh 'mkdir /tmp/d && [ -d /tmp/d ] && echo made'
	[ "$status" -eq 0 ]
	[ "$output" = made ]
}

@test "seccomp: an allow list runs busybox sh; newer syscalls get ENOSYS, older ones EPERM" {
	x86_64_only
	seccomp "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":$ALLOW_LIST,\"action\":\"SCMP_ACT_ALLOW\"}]}"
	# acct (163) is older than rseq (334) and not listed: the default, EPERM.
	# faccessat2 (439) and fchmodat2 (452) are newer than all listed: ENOSYS.
	run_sh 'echo hello; ls / >/dev/null && cat /etc/passwd | grep -c root; sysnr 163 0; sysnr 439 0 0 0 0; sysnr 452 0 0 0 0; mkdir /tmp/d'
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = hello ]
	[ "${lines[1]}" = 1 ]
	[ "${lines[2]}" = EPERM ]
	[ "${lines[3]}" = ENOSYS ]
	[ "${lines[4]}" = ENOSYS ]
	[[ "${lines[5]}" == *"Operation not permitted"* ]]
}

@test "seccomp: unknown syscall names are skipped" {
	seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["no_such_syscall_here","mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}'
	set_args mkdir /tmp/d
	run teu --debug run --bundle "$BUNDLE" unk
	[[ "$output" == *"no_such_syscall_here"* ]]
	[[ "$output" == *"Operation not permitted"* ]]
}

start_agent() {
	"$SC_TOOLS/seccompagent" -socket "$TEST_ROOT/agent.sock" -state "$TEST_ROOT/agent.state" "$@" &
	AGENT_PID=$!
	for _ in $(seq 100); do [ -S "$TEST_ROOT/agent.sock" ] && return 0; sleep 0.05; done
	return 1
}

notify_profile() {
	seccomp "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"$TEST_ROOT/agent.sock\",\"listenerMetadata\":\"meta-$1\",
		\"flags\":[\"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\"],
		\"syscalls\":[{\"names\":[\"mkdir\",\"mkdirat\",\"uname\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}"
}

@test "seccomp: SCMP_ACT_NOTIFY hands the listener to the agent" {
	start_agent -errno 28
	notify_profile 1
	set_args sh -c 'mkdir /tmp/d; uname -s'
	run teu run --bundle "$BUNDLE" notif
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *"No space left on device"* ]]
	[ "${lines[1]}" = Linux ]
	st=$(cat "$TEST_ROOT/agent.state")
	[ "$(jq -r .metadata <<<"$st")" = meta-1 ]
	[ "$(jq -c .fds <<<"$st")" = '["seccompFd"]' ]
	[ "$(jq -r .state.id <<<"$st")" = notif ]
	[ "$(jq -r .state.status <<<"$st")" = creating ]
	[ "$(jq -r .pid <<<"$st")" -gt 1 ]
	[ "$(jq -r .state.pid <<<"$st")" = "$(jq -r .pid <<<"$st")" ]
}

@test "seccomp: SCMP_ACT_NOTIFY without noNewPrivileges; the agent fakes success" {
	start_agent -errno 0
	notify_profile 2
	update_config '.process.noNewPrivileges = false'
	run_sh 'mkdir /tmp/d && echo "mkdir said ok"; [ -d /tmp/d ] || echo "but made nothing"'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "mkdir said ok" ]
	[ "${lines[1]}" = "but made nothing" ]
	[ "$(jq -r .metadata "$TEST_ROOT/agent.state")" = meta-2 ]
}

@test "seccomp: no agent at listenerPath fails create" {
	notify_profile 3
	run_sh 'true'
	assert_one_error_line
	[[ "$output" == *"seccomp agent"* ]]
	[ -z "$(teu list -q)" ]
}

@test "seccomp: bad names fail create with one clear error" {
	for bad in '{"defaultAction":"SCMP_ACT_NOPE"}' \
		'{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_Z80"]}' \
		'{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_NOPE"]}' \
		'{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_MAYBE"}]}' \
		'{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_ABOUT"}]}]}' \
		'{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}'; do
		seccomp "$bad"
		run teu run --bundle "$BUNDLE" bad
		assert_one_error_line
		[[ "$output" == *"seccomp: "* ]]
		[[ "$output" == *NOPE* || "$output" == *Z80* || "$output" == *MAYBE* || "$output" == *ABOUT* || "$output" == *listenerPath* ]]
		[ -z "$(teu list -q)" ]
	done
}

@test "seccomp: architectures and TSYNC are accepted" {
	x86_64_only
	seccomp '{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],
		"flags":["SECCOMP_FILTER_FLAG_TSYNC","SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
		"syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}'
	run_sh 'mkdir /tmp/d'
	[ "$status" -eq 1 ]
	[[ "$output" == *"Operation not permitted"* ]]
}

@test "seccomp: an allow list without noNewPrivileges (loaded before teu's own setresuid, capset ...)" {
	update_config '.process.noNewPrivileges = false | .process.user = {"uid": 1000, "gid": 1000, "additionalGids": [5]}'
	# What teu's init does between loading the filter and execve.
	init_calls='["capget","capset","setgroups","setresuid","setresgid","chdir","close_range","getdents64"]'
	seccomp "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":$ALLOW_LIST,\"action\":\"SCMP_ACT_ALLOW\"},
		{\"names\":$init_calls,\"action\":\"SCMP_ACT_ALLOW\"}]}"
	run_sh 'id; grep "^Seccomp:" /proc/self/status'
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "uid=1000"*"groups=5"* ]]
	[[ "${lines[1]}" == "Seccomp:"*2 ]]
}

@test "seccomp: in a user namespace without noNewPrivileges" {
	update_config '.process.noNewPrivileges = false
		| .linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
	chmod 755 "$TEST_ROOT" # the mapped root must reach the bundle
	chown -R 100000:100000 "$BUNDLE/rootfs"
	seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":28}]}'
	run_sh 'grep "^Seccomp:" /proc/self/status; mkdir /tmp/d'
	[ "$status" -eq 1 ]
	[[ "${lines[0]}" == "Seccomp:"*2 ]]
	[[ "$output" == *"No space left on device"* ]]
}
