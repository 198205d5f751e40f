#!/usr/bin/env bats
# exec: a new process in a running container: its namespaces, cgroup,
# process spec (caps, seccomp, no_new_privs, user, env, cwd), every flag of
# runc's exec, errors for stopped and paused containers, and the teu binary
# never writable through the process's /proc/<pid>/exe.
load helpers
load cgroup_helpers

eval "helpers_$(declare -f setup_file)"
setup_file() {
	helpers_setup_file
	# A guest lane brings it prebuilt (no Go toolchain there).
	if [ -x "${TEU_RECVTTY:-}" ]; then
		cp "$TEU_RECVTTY" "$TEU_CACHE/recvtty"
	else
		(cd "$TEU_SRC" && go build -o "$TEU_CACHE/recvtty" ./tests/cmd/recvtty)
	fi
}

eval "exec_cg_$(declare -f teardown)"
teardown() {
	if [ -n "${RECV_PID:-}" ]; then
		kill "$RECV_PID" 2>/dev/null || true
		wait "$RECV_PID" 2>/dev/null || true
	fi
	exec_cg_teardown
}

# start_ct [ID]: a running container (sleep), default id x.
start_ct() {
	local id=${1:-x}
	set_args sleep 100000
	teu run -d --bundle "$BUNDLE" "$id"
	INIT_PID=$(teu state "$id" | jq -r .pid)
}

# capbit HEX N: 1 if capability N is set in the /proc status mask HEX.
capbit() { echo $(((0x$1 >> $2) & 1)); }

@test "exec: output, stdin, and the process's exit status" {
	start_ct
	run teu exec x sh -c 'echo out; echo err >&2; exit 7'
	echo "$output"
	[ "$status" -eq 7 ]
	[[ "$output" == *out* ]]
	[[ "$output" == *err* ]]
	run bash -c "echo piped | \"$TEU_BIN\" --root \"$TEU_ROOT\" exec x cat"
	[ "$status" -eq 0 ]
	[ "$output" = piped ]
	run teu exec x true
	[ "$status" -eq 0 ]
	run teu exec x sh -c 'kill -TERM $$'
	[ "$status" -eq 143 ]
	# Options after the container id are the command's.
	run teu exec x ls -d /
	[ "$status" -eq 0 ]
	[ "$output" = / ]
}

@test "exec: the process joins every namespace of the container" {
	start_ct
	run teu exec x sh -c 'for n in pid mnt net ipc uts cgroup; do echo "$n $(readlink /proc/self/ns/$n)"; done'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 6 ]
	for l in "${lines[@]}"; do
		set -- $l
		[ "$2" = "$(readlink /proc/$INIT_PID/ns/$1)" ]
		[ "$2" != "$(readlink /proc/self/ns/$1)" ]
	done
	# The container's root and hostname.
	run teu exec x sh -c 'hostname; ls /bin/busybox'
	[ "${lines[0]}" = "$(jq -r .hostname "$BUNDLE/config.json")" ]
	[ "${lines[1]}" = /bin/busybox ]
}

@test "exec: in a user namespace too (joined first)" {
	chmod 755 "$TEST_ROOT"
	chown -R 100000:100000 "$BUNDLE/rootfs"
	update_config '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
	start_ct
	teu exec -d --pid-file "$TEST_ROOT/pid" x sleep 1000 >/dev/null 2>&1
	pid=$(cat "$TEST_ROOT/pid")
	for n in user pid mnt net ipc uts cgroup; do
		[ "$(readlink /proc/$pid/ns/$n)" = "$(readlink /proc/$INIT_PID/ns/$n)" ]
	done
	[ "$(stat -c %u /proc/$pid)" = 100000 ]
	run teu exec x sh -c 'id -u; touch /dev/shm/f && stat -c %u /dev/shm/f'
	echo "$output"
	[ "$output" = "$(printf '0\n0')" ]
}

@test "exec: in a time namespace too" {
	update_config '.linux.namespaces += [{"type": "time"}] | .linux.timeOffsets = {"boottime": {"secs": 86400, "nanosecs": 0}}'
	start_ct
	run teu exec x sh -c 'readlink /proc/self/ns/time; cut -d. -f1 /proc/uptime'
	echo "$output"
	[ "${lines[0]}" = "$(readlink /proc/$INIT_PID/ns/time)" ]
	[ "${lines[1]}" -ge 86400 ]
}

@test "exec: attached, signals are forwarded to the process" {
	start_ct
	"$TEU_BIN" --root "$TEU_ROOT" exec x sh -c 'trap "echo got-term; exit 3" TERM; echo ready; while :; do sleep 0.1; done' >"$TEST_ROOT/out" 2>&1 &
	pid=$!
	wait_for grep -q ready "$TEST_ROOT/out"
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	cat "$TEST_ROOT/out"
	[ "$st" -eq 3 ]
	grep -q got-term "$TEST_ROOT/out"
}

@test "exec: the container's pid namespace: init is 1, the process is not" {
	start_ct
	run teu exec x sh -c 'echo $$; ps -o pid,args'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" -gt 1 ]
	[[ "${lines[2]}" =~ ^\ *1\ +sleep\ 100000$ ]]
	# Each exec lands in the container's cgroup namespace at its root.
	run teu exec x cat /proc/self/cgroup
	for l in "${lines[@]}"; do [[ "$l" == *:/ ]]; done
}

@test "exec: the container's env and cwd; -e adds and overrides, --cwd" {
	update_config '.process.env = ["PATH=/bin:/usr/bin", "A=container"] | .process.cwd = "/root"'
	start_ct
	run teu exec x sh -c 'echo "$A|$PATH|$HOME"; pwd'
	[ "${lines[0]}" = "container|/bin:/usr/bin|/root" ]
	[ "${lines[1]}" = /root ]
	run teu exec -e A=flag -e B=new --env PATH=/bin --cwd /tmp x sh -c 'echo "$A|$B|$PATH"; pwd; env | grep -c "^A="'
	echo "$output"
	[ "${lines[0]}" = "flag|new|/bin" ]
	[ "${lines[1]}" = /tmp ]
	[ "${lines[2]}" = 1 ]
	run teu exec --cwd relative x true
	assert_one_error_line 255
	run teu exec --cwd /nonexistent x true
	assert_one_error_line 255
	[[ "$output" == *"/nonexistent"* ]]
}

@test "exec: --user uid:gid and --additional-gids" {
	start_ct
	run teu exec --user 1000:1000 -g 5 --additional-gids 7 x sh -c 'id -u; id -g; id -G; echo $HOME'
	echo "$output"
	[ "${lines[0]}" = 1000 ]
	[ "${lines[1]}" = 1000 ]
	[[ " ${lines[2]} " == *" 5 "* ]]
	[[ " ${lines[2]} " == *" 7 "* ]]
	[ "${lines[3]}" = /home/user ]
	run teu exec -u 1000 x id -u
	[ "$output" = 1000 ]
	run teu exec -u nobody x true
	assert_one_error_line 255
}

@test "exec: the container's capabilities; --cap adds one" {
	start_ct
	run teu exec x sh -c 'awk "/^CapEff/ {print \$2}" /proc/self/status'
	eff=$output
	[ "$(capbit "$eff" 21)" = 0 ] # CAP_SYS_ADMIN is not in the default set
	[ "$eff" = "$(awk '/^CapEff/ {print $2}' /proc/$INIT_PID/status)" ]
	run teu exec --cap CAP_SYS_ADMIN -c CAP_SYS_PTRACE x sh -c 'awk "/^Cap(Eff|Bnd)/ {print \$2}" /proc/self/status'
	echo "$output"
	[ "$(capbit "${lines[0]}" 21)" = 1 ]
	[ "$(capbit "${lines[0]}" 19)" = 1 ]
	[ "$(capbit "${lines[1]}" 21)" = 1 ]
	run teu exec --cap CAP_NOPE x true
	assert_one_error_line 255
}

@test "exec: no_new_privs from the container, or --no-new-privs" {
	update_config '.process.noNewPrivileges = false'
	start_ct
	run teu exec x awk '/^NoNewPrivs/ {print $2}' /proc/self/status
	[ "$output" = 0 ]
	run teu exec --no-new-privs x awk '/^NoNewPrivs/ {print $2}' /proc/self/status
	[ "$output" = 1 ]
}

@test "exec: the container's seccomp filter applies to the process" {
	update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}'
	start_ct
	run teu exec x sh -c 'mkdir /tmp/d 2>&1; echo rc=$?; awk "/^Seccomp:/ {print \$2}" /proc/self/status'
	echo "$output"
	[[ "${lines[0]}" == *"Operation not permitted"* ]]
	[ "${lines[1]}" = rc=1 ]
	[ "${lines[2]}" = 2 ]
	# Also with --no-new-privs, where it goes on right before exec.
	run teu exec --no-new-privs x mkdir /tmp/d
	[ "$status" -ne 0 ]
	run teu exec x test -d /tmp/d
	[ "$status" -eq 1 ]
	# The first exec cached the compiled filter, keyed by the profile
	# itself; one that does not match the profile is not used.
	[ -s "$TEU_ROOT/x/seccomp.bpf" ]
	grep -aq '"names":\["mkdir","mkdirat"\]' "$TEU_ROOT/x/seccomp.bpf"
	printf 'not this profile, not a program' >"$TEU_ROOT/x/seccomp.bpf"
	run teu exec x sh -c 'mkdir /tmp/d 2>&1'
	[[ "$output" == *"Operation not permitted"* ]]
}

@test "exec: --detach returns at once; --pid-file names the process" {
	start_ct
	teu exec -d --pid-file "$TEST_ROOT/pid" x sleep 1000 >/dev/null
	pid=$(cat "$TEST_ROOT/pid")
	[ "$(cat /proc/$pid/cmdline | tr '\0' ' ')" = "sleep 1000 " ]
	[ "$(readlink /proc/$pid/ns/pid)" = "$(readlink /proc/$INIT_PID/ns/pid)" ]
	# Relative pid files are relative to the caller's cwd.
	(cd "$TEST_ROOT" && "$TEU_BIN" --root "$TEU_ROOT" exec --detach --pid-file rel.pid x sleep 1000 >/dev/null)
	[ -s "$TEST_ROOT/rel.pid" ]
	# The container's processes: init and both.
	run teu ps x
	[ "$(echo "$output" | grep -c 'sleep 1000$')" -eq 2 ]
}

@test "exec: -p process.json is the whole process" {
	start_ct
	cat >"$TEST_ROOT/process.json" <<-'EOF'
	{"args": ["sh", "-c", "echo \"$X $(id -u):$(id -g) $(pwd)\"; exit 3"], "cwd": "/tmp",
	 "env": ["X=from-json", "PATH=/bin"], "user": {"uid": 65534, "gid": 65534}}
	EOF
	run teu exec -p "$TEST_ROOT/process.json" x
	echo "$output"
	[ "$status" -eq 3 ]
	[ "$output" = "from-json 65534:65534 /tmp" ]
	echo '{"args": []' >"$TEST_ROOT/bad.json"
	run teu exec --process "$TEST_ROOT/bad.json" x
	assert_one_error_line 255
	# An unknown capability is a warning, as with runc.
	echo '{"args": ["true"], "cwd": "/", "capabilities": {"bounding": ["CAP_NOPE"]}}' >"$TEST_ROOT/nope.json"
	run teu exec --process "$TEST_ROOT/nope.json" x
	[ "$status" -eq 0 ]
	[[ "$output" == *"ignoring unknown or unavailable capabilities: [CAP_NOPE]"* ]]
}

@test "exec: --tty with --console-socket; an attached --tty is relayed" {
	start_ct
	SOCK=$TEST_ROOT/console.sock
	"$TEU_CACHE/recvtty" -ready "$TEST_ROOT/ready" "$SOCK" >"$TEST_ROOT/tty.out" 2>"$TEST_ROOT/tty.err" &
	RECV_PID=$!
	wait_for test -e "$TEST_ROOT/ready"
	run teu exec -t --console-socket "$SOCK" x sh -c 'tty; test -t 0 && test -t 1 && echo is-tty; exit 4'
	[ "$status" -eq 4 ]
	wait "$RECV_PID"
	RECV_PID=
	out=$(tr -d '\r' <"$TEST_ROOT/tty.out")
	echo "$out"
	[[ "$out" == *"/dev/pts/"* ]]
	[[ "$out" == *is-tty* ]]
	# Attached without a console socket: teu relays the pty.
	command -v script >/dev/null || skip "needs script(1)"
	run script -eqc "\"$TEU_BIN\" --root \"$TEU_ROOT\" exec -t x sh -c 'tty; exit 5'" /dev/null </dev/null
	echo "$output"
	[ "$status" -eq 5 ]
	[[ "$output" == *"/dev/pts/"* ]]
	# --console-socket needs --tty; --detach with --tty needs a console socket.
	run teu exec --console-socket "$SOCK" x true
	assert_one_error_line 255
	run teu exec -d -t x true
	assert_one_error_line 255
}

@test "exec: --preserve-fds passes exactly fds 3..3+N-1" {
	start_ct
	for n in 3 4 5; do echo "content-$n" >"$TEST_ROOT/f$n"; done
	run bash -c "exec 3<\"$TEST_ROOT/f3\" 4<\"$TEST_ROOT/f4\" 5<\"$TEST_ROOT/f5\"; exec \"$TEU_BIN\" --root \"$TEU_ROOT\" exec --preserve-fds 2 x sh -c 'cat <&3; cat <&4; ls /proc/self/fd | tr \"\\n\" \" \"'"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = content-3 ]
	[ "${lines[1]}" = content-4 ]
	# 0-4, and the fd ls opened for the listing.
	[ "${lines[2]}" = "0 1 2 3 4 5 " ]
	run bash -c "exec 3<\"$TEU_ROOT\"; exec \"$TEU_BIN\" --root \"$TEU_ROOT\" exec x sh -c 'ls /proc/self/fd | tr \"\\n\" \" \"'"
	[ "$output" = "0 1 2 3 " ]
}

@test "exec: into a stopped container is one error line" {
	set_args true
	teu create --bundle "$BUNDLE" s
	teu start s
	wait_status s stopped
	run teu exec s true
	echo "$output"
	assert_one_error_line 255
	[[ "$output" == *stopped* ]]
	run teu exec nosuch true
	assert_one_error_line 255
	[[ "$output" == *nosuch* ]]
	start_ct
	run teu exec x
	assert_one_error_line 255
}

@test "exec: into a created container" {
	set_args sleep 100000
	teu create --bundle "$BUNDLE" c
	run teu exec c echo hi
	[ "$status" -eq 0 ]
	[ "$output" = hi ]
	[ "$(teu state c | jq -r .status)" = created ]
}

@test "exec: the process is in the container's cgroup" {
	require_cgroups
	set_cgroup_path x
	start_ct
	teu exec -d --pid-file "$TEST_ROOT/pid" x sleep 1000 >/dev/null
	pid=$(cat "$TEST_ROOT/pid")
	diff /proc/$INIT_PID/cgroup /proc/$pid/cgroup
	grep -qx "$pid" "$(cg_dir x pids)/cgroup.procs"
}

@test "exec: --cgroup puts the process in an existing sub-cgroup" {
	require_cgroup_v1 "controller:path forms (v2 test below)"
	set_cgroup_path x
	start_ct
	for d in $(jq -r '.cgroup_paths[]' "$TEU_ROOT/x/state.json" | sort -u); do
		mkdir -p "$d/sub"
		if [ -e "$d/cpuset.cpus" ]; then
			cat "$d/cpuset.cpus" >"$d/sub/cpuset.cpus"
			cat "$d/cpuset.mems" >"$d/sub/cpuset.mems"
		fi
	done
	teu exec -d --pid-file "$TEST_ROOT/pid" --cgroup sub x sleep 1000 >/dev/null
	pid=$(cat "$TEST_ROOT/pid")
	grep -qx "$pid" "$(cg_dir x pids)/sub/cgroup.procs"
	grep -qx "$pid" "$(cg_dir x memory)/sub/cgroup.procs"
	# v1 form: only the controllers named.
	teu exec -d --pid-file "$TEST_ROOT/pid2" --cgroup memory,pids:sub x sleep 1000 >/dev/null
	pid2=$(cat "$TEST_ROOT/pid2")
	grep -qx "$pid2" "$(cg_dir x memory)/sub/cgroup.procs"
	grep -qx "$pid2" "$(cg_dir x pids)/sub/cgroup.procs"
	grep -qx "$pid2" "$(cg_dir x freezer)/cgroup.procs"
	run teu exec --cgroup nosuch x true
	assert_one_error_line 255
	run teu exec --cgroup blah:sub x true
	assert_one_error_line 255
	run teu exec --cgroup ../escape x true
	assert_one_error_line 255
	teu delete --force x
}

@test "exec: v2: --cgroup PATH puts the process in a sub-cgroup of the container's; controllers, .., a missing one are one error" {
	require_cgroup_v2 "one hierarchy: --cgroup is a path"
	set_cgroup_path x
	start_ct
	d=$(cg_dir x "")
	mkdir -p "$d/sub/deeper"
	teu exec -d --pid-file "$TEST_ROOT/pid" --cgroup sub/deeper x sleep 1000 >/dev/null
	pid=$(cat "$TEST_ROOT/pid")
	grep -qx "$pid" "$d/sub/deeper/cgroup.procs"
	# inside, at that path below the container's cgroup namespace root
	grep -qx "0::/$CG_PARENT/x/sub/deeper" /proc/$pid/cgroup || grep -qx "0::.*/x/sub/deeper" /proc/$pid/cgroup
	run teu exec --cgroup sub x cat /proc/self/cgroup
	[ "$status" -eq 0 ]
	[ "$output" = "0::/sub" ]
	# "/" is the container's own cgroup
	run teu exec --cgroup / x cat /proc/self/cgroup
	[ "$output" = "0::/" ]
	# (exec's failures exit 255, as runc's)
	run teu exec --cgroup memory:sub x true
	assert_one_error_line 255
	[[ "$output" == *"cgroup v1 only"* ]]
	run teu exec --cgroup nosuch x true
	assert_one_error_line 255
	run teu exec --cgroup ../escape x true
	assert_one_error_line 255
	teu delete --force x
	[ ! -e "$d" ]
}

@test "exec: paused: an error, unless --ignore-paused (then it runs once resumed); the teu binary is never writable through /proc/<pid>/exe" {
	require_cgroups
	set_cgroup_path x
	start_ct
	teu pause x
	run teu exec x true
	assert_one_error_line 255
	[[ "$output" == *paused* ]]
	# A private copy of teu: nothing but this test runs its inode, so a
	# write to it can fail only for the reason under test.
	cp "$TEU_BIN" "$TEST_ROOT/teu"
	"$TEST_ROOT/teu" --root "$TEU_ROOT" exec --ignore-paused x sh -c 'echo ran' >"$TEST_ROOT/out" 2>&1 &
	exec_pid=$!
	# The process that joined the frozen cgroup sits there running teu code.
	frozen=
	find_frozen() {
		local p
		for p in $(cat "$(cg_dir x freezer)/cgroup.procs"); do
			[ "$p" = "$INIT_PID" ] || { frozen=$p; return 0; }
		done
		return 1
	}
	wait_for find_frozen
	# Its exe is the read-only, detached bind mount of teu, not the file.
	[ "$(readlink /proc/$frozen/exe)" = / ]
	exec 7</proc/$frozen/exe
	teu resume x
	wait "$exec_pid"
	[ "$(cat "$TEST_ROOT/out")" = ran ]
	# No teu process is left running the copy: only the mount stops a write.
	run bash -c "echo x >>/proc/self/fd/7"
	exec 7<&-
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Read-only file system"* ]]
	# The copy itself is writable: the read-only mount was the reason.
	echo -n >>"$TEST_ROOT/teu"
}
