#!/usr/bin/env bats
# The spec's mounts, root.readonly, rootfsPropagation and --no-pivot, as the
# container sees them in /proc/self/mountinfo and by using the files.
load helpers

# add_mount JSON: append one mount to the config.
add_mount() {
	update_config ".mounts += [$1]"
}

# mnt LINES DEST: the mountinfo line(s) of mount point DEST in $output.
mnt() {
	printf '%s\n' "$output" | awk -v d="$1" '$5 == d'
}

# create_then_start ID: create with stdout in $TEST_ROOT/out, leave it
# created (for the host to act between create and start).
create_out() {
	teu create --bundle "$BUNDLE" "$1" >"$TEST_ROOT/out" 2>&1
}

# start_and_wait ID: start, wait for the container to stop, $output = its output.
start_and_wait() {
	teu start "$1"
	wait_status "$1" stopped
	output=$(cat "$TEST_ROOT/out")
}

@test "mounts: bind dir (relative source) rw, bind file ro" {
	mkdir "$BUNDLE/data"
	echo in-dir >"$BUNDLE/data/f"
	echo in-file >"$TEST_ROOT/hostfile"
	add_mount '{"destination": "/data", "type": "bind", "source": "data", "options": ["rbind", "rw"]}'
	add_mount "{\"destination\": \"/etc/hostfile\", \"type\": \"bind\", \"source\": \"$TEST_ROOT/hostfile\", \"options\": [\"bind\", \"ro\"]}"
	run_sh 'cat /data/f /etc/hostfile; echo new >/data/new && echo wrote-dir; echo x >/etc/hostfile || echo ro-file; grep -E " /(data|etc/hostfile) " /proc/self/mountinfo'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = in-dir ]
	[ "${lines[1]}" = in-file ]
	[[ "$output" == *wrote-dir* ]]
	[[ "$output" == *ro-file* ]]
	[[ "$(mnt /data)" == *" /data rw,"* ]]
	[[ "$(mnt /etc/hostfile)" == *" /etc/hostfile ro,"* ]]
	# The write went to the host's directory; the ro file is unchanged.
	[ "$(cat "$BUNDLE/data/new")" = new ]
	[ "$(cat "$TEST_ROOT/hostfile")" = in-file ]
	# The file mount point was created as a file inside the rootfs.
	[ -f "$BUNDLE/rootfs/etc/hostfile" ]
}

@test "mounts: rbind brings submounts, bind does not" {
	mkdir -p "$TEST_ROOT/src/sub"
	mount -t tmpfs tmpfs "$TEST_ROOT/src/sub"
	echo sub >"$TEST_ROOT/src/sub/f"
	add_mount "{\"destination\": \"/r\", \"type\": \"bind\", \"source\": \"$TEST_ROOT/src\", \"options\": [\"rbind\"]}"
	add_mount "{\"destination\": \"/b\", \"type\": \"bind\", \"source\": \"$TEST_ROOT/src\", \"options\": [\"bind\"]}"
	run_sh 'cat /r/sub/f; ls /b/sub | wc -l'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = sub ]
	[ "${lines[1]}" = 0 ]
}

@test "mounts: nosuid, nodev and noexec are in mountinfo and enforced" {
	mkdir "$TEST_ROOT/x"
	cp "$BUNDLE/rootfs/bin/busybox" "$TEST_ROOT/x/busybox"
	add_mount "{\"destination\": \"/x\", \"type\": \"bind\", \"source\": \"$TEST_ROOT/x\", \"options\": [\"bind\", \"nosuid\", \"nodev\", \"noexec\"]}"
	add_mount "{\"destination\": \"/y\", \"type\": \"bind\", \"source\": \"$TEST_ROOT/x\", \"options\": [\"bind\"]}"
	run_sh 'grep -E " /(x|y) " /proc/self/mountinfo; /x/busybox true && echo x-exec-ok; /y/busybox true && echo y-exec-ok'
	echo "$output"
	[ "$status" -eq 0 ]
	opts=$(mnt /x | awk '{print $6}')
	[[ ",$opts," == *,nosuid,* ]]
	[[ ",$opts," == *,nodev,* ]]
	[[ ",$opts," == *,noexec,* ]]
	opts=$(mnt /y | awk '{print $6}')
	[[ ",$opts," != *,noexec,* ]]
	[[ "$output" != *x-exec-ok* ]]
	[[ "$output" == *y-exec-ok* ]]
}

@test "mounts: tmpfs with size and mode" {
	add_mount '{"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "size=1m", "mode=1770"]}'
	run_sh 'stat -c %a /scratch; df -k /scratch | tail -1 | awk "{print \$2}"; grep " /scratch " /proc/self/mountinfo'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1770 ]
	[ "${lines[1]}" = 1024 ]
	[[ "$(mnt /scratch)" == *" - tmpfs tmpfs "*size=1024k* ]]
}

@test "mounts: a relative destination is relative to /" {
	add_mount '{"destination": "relative/dest", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}'
	run_sh 'grep " /relative/dest " /proc/self/mountinfo | wc -l; touch /relative/dest/f && echo ok'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1 ]
	[ "${lines[1]}" = ok ]
	# Nothing was made relative to the runtime's cwd.
	[ ! -e "$BUNDLE/relative" ]
	[ -d "$BUNDLE/rootfs/relative/dest" ]
}

@test "mounts: bind propagation rshared, rslave, rprivate" {
	# A shared source on the host, so that propagation has something to show.
	mkdir -p "$TEST_ROOT/shared/sub"
	mount --bind "$TEST_ROOT/shared" "$TEST_ROOT/shared"
	mount --make-shared "$TEST_ROOT/shared"
	for p in rshared rslave rprivate; do
		add_mount "{\"destination\": \"/$p\", \"type\": \"bind\", \"source\": \"$TEST_ROOT/shared\", \"options\": [\"rbind\", \"$p\"]}"
	done
	set_args sh -c 'grep -E " /(rshared|rslave|rprivate)(/sub)? " /proc/self/mountinfo'
	create_out c1
	# Mounted on the host after the container's mounts were made.
	mount -t tmpfs tmpfs "$TEST_ROOT/shared/sub"
	start_and_wait c1
	echo "$output"
	[[ "$(mnt /rshared)" == *" shared:"*" master:"* ]]
	[[ "$(mnt /rslave)" == *" master:"* ]]
	[[ "$(mnt /rslave)" != *" shared:"* ]]
	[[ "$(mnt /rprivate)" != *" shared:"* ]]
	[[ "$(mnt /rprivate)" != *" master:"* ]]
	# The host's new mount reached the slave and the shared mount only.
	[ -n "$(mnt /rshared/sub)" ]
	[ -n "$(mnt /rslave/sub)" ]
	[ -z "$(mnt /rprivate/sub)" ]
}

@test "mounts: rootfsPropagation unset: the rootfs's parent mount is made private (runc's rule); rslave: host mounts under the rootfs propagate in" {
	mount --bind "$BUNDLE/rootfs" "$BUNDLE/rootfs"
	mount --make-shared "$BUNDLE/rootfs"
	mkdir -p "$BUNDLE/rootfs/mnt"
	set_args sh -c 'grep -E " /(mnt)? " /proc/self/mountinfo'
	create_out c1
	mount -t tmpfs tmpfs "$BUNDLE/rootfs/mnt"
	start_and_wait c1
	umount "$BUNDLE/rootfs/mnt"
	echo "unset: $output"
	[ -n "$(mnt /)" ]
	[[ "$(mnt /)" != *" master:"* ]]
	[[ "$(mnt /)" != *" shared:"* ]]
	[ -z "$(mnt /mnt)" ]

	update_config '.linux.rootfsPropagation = "rslave"'
	create_out c2
	mount -t tmpfs tmpfs "$BUNDLE/rootfs/mnt"
	start_and_wait c2
	umount "$BUNDLE/rootfs/mnt"
	echo "rslave: $output"
	[[ "$(mnt /)" == *" master:"* ]]
	[[ "$(mnt /)" != *" shared:"* ]]
	[ -n "$(mnt /mnt)" ]
}

@test "mounts: rootfsPropagation private, slave, shared, unbindable" {
	# The rootfs on a shared mount: pivot_root must still work.
	mount --bind "$BUNDLE/rootfs" "$BUNDLE/rootfs"
	mount --make-shared "$BUNDLE/rootfs"
	set_args sh -c 'awk "\$5 == \"/\"" /proc/self/mountinfo'
	for p in private rprivate slave shared rshared unbindable; do
		update_config ".linux.rootfsPropagation = \"$p\""
		run teu run --bundle "$BUNDLE" "c-$p"
		echo "$p: $output"
		[ "$status" -eq 0 ]
		case $p in
		*private) [[ "$output" != *" shared:"* && "$output" != *" master:"* ]] ;;
		# runc's rule: the rootfs's parent becomes a slave, and so the root.
		slave) [[ "$output" != *" shared:"* && "$output" == *" master:"* ]] ;;
		*shared) [[ "$output" == *" shared:"* ]] ;;
		unbindable) [[ "$output" == *" unbindable "* ]] ;;
		esac
	done
}

@test "mounts: root.readonly true and false" {
	update_config '.root.readonly = true'
	run_sh 'touch /x 2>&1 || echo failed; awk "\$5 == \"/\" {print \$6}" /proc/self/mountinfo'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Read-only file system"* ]]
	[[ "${lines[-1]}" == ro,* ]]
	[ ! -e "$BUNDLE/rootfs/x" ]

	update_config '.root.readonly = false'
	run_sh 'touch /x && echo ok; awk "\$5 == \"/\" {print \$6}" /proc/self/mountinfo'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = ok ]
	[[ "${lines[1]}" == rw,* ]]
	[ -e "$BUNDLE/rootfs/x" ]
}

@test "mounts: --no-pivot runs in the rootfs without the host's files" {
	set_args sh -c 'cat /etc/passwd | head -1; [ -e /work ] && echo host-visible; awk "\$5 == \"/\" {print \$4}" /proc/self/mountinfo; echo $$'
	run teu run --no-pivot --bundle "$BUNDLE" np
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "root:x:0:0:root:/root:/bin/sh" ]
	[[ "$output" != *host-visible* ]]
	[ "${lines[1]}" = "$BUNDLE/rootfs" ]
	[ "${lines[2]}" = 1 ]
}

@test "mounts: an absolute symlink in the destination resolves inside the rootfs" {
	target=/teu-test-$(basename "$TEST_ROOT")
	[ ! -e "$target" ]
	mkdir "$TEST_ROOT/src"
	echo via-link >"$TEST_ROOT/src/f"
	ln -s "$target" "$BUNDLE/rootfs/etc/x"
	add_mount "{\"destination\": \"/etc/x\", \"type\": \"bind\", \"source\": \"$TEST_ROOT/src\", \"options\": [\"rbind\"]}"
	add_mount '{"destination": "/etc/x/sub", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}'
	run_sh "cat $target/f; grep -c \" $target/sub \" /proc/self/mountinfo"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = via-link ]
	[ "${lines[1]}" = 1 ]
	# Created inside the rootfs, never on the host.
	[ ! -e "$target" ]
	[ -d "$BUNDLE/rootfs$target" ]
	[ -d "$TEST_ROOT/src/sub" ]
}

@test "mounts: a destination's missing directories are made inside the rootfs, for a file destination too" {
	echo in-file >"$TEST_ROOT/hostfile"
	mkdir -p "$BUNDLE/rootfs/real"
	ln -s /real "$BUNDLE/rootfs/lnk"
	add_mount '{"destination": "/a/b/c", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}'
	add_mount '{"destination": "/lnk/d/e", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}'
	add_mount "{\"destination\": \"/x/y/z/file\", \"type\": \"bind\", \"source\": \"$TEST_ROOT/hostfile\", \"options\": [\"bind\"]}"
	run_sh 'cat /x/y/z/file; grep -cE " /(a/b/c|real/d/e) " /proc/self/mountinfo'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = in-file ]
	[ "${lines[1]}" = 2 ]
	[ -d "$BUNDLE/rootfs/a/b/c" ]
	[ -d "$BUNDLE/rootfs/real/d/e" ]
	[ -L "$BUNDLE/rootfs/lnk" ]
	[ -d "$BUNDLE/rootfs/x/y/z" ]
	[ -f "$BUNDLE/rootfs/x/y/z/file" ]
	[ ! -e /real/d ]
}

@test "mounts: a destination symlink climbing out of the rootfs is refused" {
	mkdir "$TEST_ROOT/src"
	ln -s ../../../../../../../../"$TEST_ROOT"/outside "$BUNDLE/rootfs/etc/esc"
	add_mount "{\"destination\": \"/etc/esc\", \"type\": \"bind\", \"source\": \"$TEST_ROOT/src\", \"options\": [\"rbind\"]}"
	run_sh 'echo ran'
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"escapes the rootfs"* ]]
	[ ! -e "$TEST_ROOT/outside" ]
	[ -z "$(teu list -q)" ]
}

@test "mounts: proc, sysfs, mqueue, devpts and shm are mounted" {
	run_sh 'awk "{for (i = 7; \$i != \"-\"; i++); print \$5, \$(i+1)}" /proc/self/mountinfo; ls /proc/self/status /sys/kernel >/dev/null && echo usable'
	echo "$output"
	[ "$status" -eq 0 ]
	for m in "/proc proc" "/sys sysfs" "/dev/mqueue mqueue" "/dev/pts devpts" "/dev/shm tmpfs" "/dev tmpfs"; do
		printf '%s\n' "$output" | grep -qx "$m"
	done
	[[ "$output" == *usable* ]]
}

@test "mounts: cgroup mount shows the container's own cgroups, read-only" {
	# With a cgroup namespace (the default config) the container is at the
	# root of every hierarchy.
	run_sh 'cat /proc/self/cgroup; grep " /sys/fs/cgroup" /proc/self/mountinfo; mkdir /sys/fs/cgroup/x 2>&1 || true; for d in /sys/fs/cgroup/*/; do mkdir $d/teu-x 2>/dev/null && echo WROTE $d; done; echo done'
	echo "$output"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" | grep -E '^[0-9]+:' | while IFS=: read -r _ _ path; do [ "$path" = / ]; done
	[[ "$output" == *"Read-only file system"* ]]
	[[ "$output" != *WROTE* ]]
	n=0
	while read -r line; do
		n=$((n + 1))
		opts=$(echo "$line" | awk '{print $6}')
		[[ ",$opts," == *,ro,* ]] || { echo "not ro: $line"; false; }
	done < <(printf '%s\n' "$output" | awk '$5 ~ /^\/sys\/fs\/cgroup/')
	[ "$n" -ge 1 ]

	# Without one, the host's directories of the container's own cgroups are
	# bound: each mount's root is the cgroup path the container is in.
	update_config '.linux.namespaces |= map(select(.type != "cgroup"))'
	run_sh 'cat /proc/self/cgroup; echo ---; grep " /sys/fs/cgroup/" /proc/self/mountinfo'
	echo "$output"
	[ "$status" -eq 0 ]
	mine=$(printf '%s\n' "$output" | sed '/^---$/q' | grep -m1 ':memory:\|^0::' | cut -d: -f3)
	[ -n "$mine" ]
	root=$(printf '%s\n' "$output" | awk '$5 == "/sys/fs/cgroup/memory" || ($5 == "/sys/fs/cgroup" && $9 == "cgroup2") {print $4}')
	[ "$root" = "$mine" ]
}

@test "mounts: a bind mount of a file over a directory (and back) fails naming the mismatch" {
	echo hi >"$BUNDLE/afile"
	add_mount '{"destination": "/bin", "type": "bind", "source": "afile", "options": ["rbind"]}'
	run teu run --bundle "$BUNDLE" c-mismatch
	assert_one_error_line
	[[ $output == *"mount afile on /bin: source is not a directory, destination is one" ]]
	[ -z "$(teu list -q)" ]
	update_config '.mounts |= map(select(.destination != "/bin"))'
	mkdir "$BUNDLE/adir"
	add_mount '{"destination": "/etc/passwd", "type": "bind", "source": "adir", "options": ["rbind"]}'
	run teu run --bundle "$BUNDLE" c-mismatch2
	assert_one_error_line
	[[ $output == *"mount adir on /etc/passwd: source is a directory, destination is not" ]]
}
