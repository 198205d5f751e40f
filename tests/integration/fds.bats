#!/usr/bin/env bats
# File descriptors: nothing of the caller's or of teu's leaks into the
# container, --preserve-fds passes exactly what was asked, the init's cwd
# and exe cannot be used to reach the host.
load helpers

# What the container's shell (pid 1) holds, as "FD TARGET" lines: listed
# by another shell into a file (in a pipeline, or with a redirection of its
# own, the shell itself would hold a pipe or a saved fd meanwhile).
FDS='sh -c "ls -l /proc/1/fd >/dev/shm/fds"; awk "/->/ {print \$(NF-2), \$NF}" /dev/shm/fds'

# fd_numbers: the fd numbers of $FDS lines in $output, space-separated.
fd_numbers() {
	printf '%s\n' "$output" | awk '$1 ~ /^[0-9]+$/ {print $1}' | tr '\n' ' '
}

@test "fds: no fd of the caller beyond stdio reaches the container" {
	echo host-secret >"$TEST_ROOT/secret"
	set_args sh -c "$FDS; echo cwd \$(readlink /proc/1/cwd)"
	run bash -c "exec 7<\"$TEST_ROOT/secret\" 9>\"$TEST_ROOT/w\"; exec \"$TEU_BIN\" --root \"$TEU_ROOT\" run --bundle \"$BUNDLE\" f1"
	echo "$output"
	[ "$status" -eq 0 ]
	fds=$(fd_numbers)
	[ "$fds" = "0 1 2 " ]
	[[ "$output" != *"$TEST_ROOT"* ]]
	[[ "$output" == *"cwd /"* ]]
}

@test "fds: --preserve-fds 2 passes exactly fds 3 and 4" {
	for n in 3 4 5; do echo "content-$n" >"$TEST_ROOT/f$n"; done
	set_args sh -c "$FDS; cat <&3; cat <&4; cat <&5 2>&1 || echo no-fd-5"
	run bash -c "exec 3<\"$TEST_ROOT/f3\" 4<\"$TEST_ROOT/f4\" 5<\"$TEST_ROOT/f5\"; exec \"$TEU_BIN\" --root \"$TEU_ROOT\" run --preserve-fds 2 --bundle \"$BUNDLE\" f2"
	echo "$output"
	[ "$status" -eq 0 ]
	fds=$(fd_numbers)
	[ "$fds" = "0 1 2 3 4 " ]
	[[ "$output" == *content-3$'\n'content-4* ]]
	[[ "$output" != *content-5* ]]
	[[ "$output" == *no-fd-5* ]]
}

@test "fds: --preserve-fds past the caller's fds passes none of teu's own (run and exec)" {
	# The caller gives only stdio. Fds 3 and 4 of a teu process are then
	# the Go runtime's own (it keeps the host cgroup's CPU quota files
	# open to size GOMAXPROCS): the container must get nothing there, as
	# a file writable by root through /proc/self/fd would let it change
	# the host's cgroup.
	set_args sh -c "$FDS"
	run bash -c "exec 3<&- 4<&- 5<&- 6<&-; exec \"$TEU_BIN\" --root \"$TEU_ROOT\" run --preserve-fds 4 --bundle \"$BUNDLE\" f6"
	echo "$output"
	[ "$status" -eq 0 ]
	fds=$(fd_numbers)
	[ "$fds" = "0 1 2 " ]
	[[ "$output" != */sys/fs/cgroup* ]]

	set_args sleep 100
	teu run -d --bundle "$BUNDLE" f7 </dev/null >/dev/null 2>&1
	run bash -c "exec 3<&- 4<&- 5<&- 6<&-; exec \"$TEU_BIN\" --root \"$TEU_ROOT\" exec --preserve-fds 4 f7 sh -c 'ls -l /proc/self/fd/ | grep -v \" -> /proc/\"'"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" != */sys/fs/cgroup* ]]
	fds=$(printf '%s\n' "$output" | awk '/->/ {print $(NF-2)}' | tr '\n' ' ')
	[ "$fds" = "0 1 2 " ]
	teu delete --force f7
}

@test "fds: a created container's init holds no fd to the host's files" {
	set_args sleep 100
	exec 7<"$BUNDLE/config.json"
	teu create --bundle "$BUNDLE" f3
	exec 7<&-
	pid=$(teu state f3 | jq .pid)
	ls -l /proc/$pid/fd
	# Only stdio and teu's own: the exec fifo (O_PATH), sync/exe handles.
	for f in /proc/$pid/fd/*; do
		t=$(readlink "$f")
		case $t in
		*config.json*) echo "leaked: $t"; false ;;
		esac
	done
	# Its cwd is the container's root, not a host directory.
	[ "$(readlink /proc/$pid/cwd)" = / ] || [ "$(readlink /proc/$pid/cwd)" = "$BUNDLE/rootfs" ]
	teu delete --force f3
}

@test "fds: cwd through a leaked /proc/self/fd path is refused" {
	update_config '.process.cwd = "/proc/self/fd/7"'
	run bash -c "exec 7<\"$TEST_ROOT\"; exec \"$TEU_BIN\" --root \"$TEU_ROOT\" run --bundle \"$BUNDLE\" f4"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *cwd* ]]
	[ -z "$(teu list -q)" ]
}

@test "fds: the init's /proc/pid/exe cannot be opened for writing, the binary is unchanged" {
	sum=$(sha256sum "$TEU_BIN" | cut -d' ' -f1)
	set_args sleep 100
	teu create --bundle "$BUNDLE" f5
	pid=$(teu state f5 | jq .pid)
	run bash -c "echo x >>/proc/$pid/exe"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Read-only file system"* || "$output" == *"Text file busy"* ]]
	run bash -c "exec 3<>/proc/$pid/exe"
	[ "$status" -ne 0 ]
	teu start f5
	wait_status f5 running
	[ "$(sha256sum "$TEU_BIN" | cut -d' ' -f1)" = "$sum" ]
	teu delete --force f5
}

@test "fds: the container process's exe is its own binary, not teu" {
	run_sh 'readlink /proc/1/exe'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = /bin/busybox ]
}
