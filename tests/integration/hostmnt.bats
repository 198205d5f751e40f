#!/usr/bin/env bats
# A config with no mount namespace: the container inherits the runtime's
# (runtime-spec config-linux.md, "Namespaces"), is chroot'ed into its rootfs,
# and the mounts create made in the host's table go again on delete.
load helpers
load lifecycle

# no_mntns: drop the mount namespace and what would need one.
no_mntns() {
	update_config '.linux.namespaces -= [{"type": "mount"}]
		| .linux.maskedPaths = [] | .linux.readonlyPaths = [] | .root.readonly = false'
	echo rootfs-marker >"$BUNDLE/rootfs/marker"
}

# host_mounts: mount points under the test's rootfs in the host's table.
host_mounts() {
	awk -v r="$BUNDLE/rootfs/" 'index($5, r) == 1 {print $5}' /proc/self/mountinfo
}

@test "hostmnt: no mount namespace: the host's, chroot'ed into the rootfs, mounts gone on delete" {
	no_mntns
	# A mount that is not the container's: delete must leave it.
	mkdir -p "$BUNDLE/rootfs/mnt/keep"
	mount -t tmpfs keep "$BUNDLE/rootfs/mnt/keep"
	set_args sh -c 'readlink /proc/self/ns/mnt; cat /marker; sleep 100'
	teu create --bundle "$BUNDLE" c1 >"$TEST_ROOT/out" 2>&1
	run host_mounts
	echo "$output"
	[[ "$output" == *"$BUNDLE/rootfs/proc"* ]]
	[[ "$output" == *"$BUNDLE/rootfs/dev"* ]]
	teu start c1
	for _ in $(seq 1 100); do [ "$(wc -l <"$TEST_ROOT/out")" -ge 2 ] && break; sleep 0.05; done
	cat "$TEST_ROOT/out"
	[ "$(sed -n 1p "$TEST_ROOT/out")" = "$(readlink /proc/self/ns/mnt)" ]
	[ "$(sed -n 2p "$TEST_ROOT/out")" = rootfs-marker ]
	# exec enters the same root.
	run teu exec c1 cat /marker
	[ "$status" -eq 0 ]
	[ "$output" = rootfs-marker ]
	run teu exec --cwd /proc c1 sh -c 'pwd; readlink /proc/self/ns/mnt'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = /proc ]
	[ "${lines[1]}" = "$(readlink /proc/self/ns/mnt)" ]
	teu delete --force c1
	run host_mounts
	echo "$output"
	[ "$output" = "$BUNDLE/rootfs/mnt/keep" ]
	umount "$BUNDLE/rootfs/mnt/keep"
}

@test "hostmnt: no mount namespace: what would change the host's mounts is refused, nothing left" {
	no_mntns
	for filter in '.linux.maskedPaths = ["/proc/kcore"]' '.linux.rootfsPropagation = "rprivate"'; do
		cp "$BUNDLE/config.json" "$TEST_ROOT/saved.json"
		update_config "$filter"
		run teu create --bundle "$BUNDLE" c2
		echo "$output"
		assert_one_error_line
		[[ "$output" == *" need"*" a mount namespace" ]]
		cp "$TEST_ROOT/saved.json" "$BUNDLE/config.json"
	done
	run teu create --no-pivot --bundle "$BUNDLE" c2
	assert_one_error_line
	[[ "$output" == *"--no-pivot needs a mount namespace"* ]]
	[ -z "$(host_mounts)" ]
	[ -z "$(teu list -q)" ]
}

@test "hostmnt: no mount namespace: a create that fails after its mounts leaves none" {
	no_mntns
	set_args /no/such/program
	run teu create --bundle "$BUNDLE" c3
	echo "$output"
	assert_one_error_line
	[ -z "$(host_mounts)" ]
	[ -z "$(teu list -q)" ]
}

@test "hostmnt: no mount namespace: root.readonly is a read-only copy over the rootfs, gone on delete" {
	no_mntns
	update_config '.root.readonly = true'
	set_args sh -c 'touch /x 2>&1; cat /marker; sleep 100'
	teu run -d --bundle "$BUNDLE" ro >"$TEST_ROOT/out" 2>&1
	wait_for grep -q rootfs-marker "$TEST_ROOT/out"
	grep -q "Read-only file system" "$TEST_ROOT/out"
	[ ! -e "$BUNDLE/rootfs/x" ]
	# The copy is in the host's table, and read-only there too.
	awk -v r="$BUNDLE/rootfs" '$5 == r {print $6}' /proc/self/mountinfo | grep -q '^ro'
	teu delete --force ro
	[ -z "$(host_mounts)" ]
	[ -z "$(awk -v r="$BUNDLE/rootfs" '$5 == r' /proc/self/mountinfo)" ]
}
