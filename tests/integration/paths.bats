#!/usr/bin/env bats
# linux.maskedPaths and linux.readonlyPaths.
load helpers

@test "paths: a masked file reads empty, a masked dir is empty and read-only" {
	echo secret >"$BUNDLE/rootfs/etc/secret"
	mkdir "$BUNDLE/rootfs/etc/secretdir"
	echo secret >"$BUNDLE/rootfs/etc/secretdir/f"
	update_config '.linux.maskedPaths += ["/etc/secret", "/etc/secretdir"]'
	run_sh 'echo "[$(cat /etc/secret)]"; stat -c %t:%T /etc/secret; ls -A /etc/secretdir | wc -l; touch /etc/secretdir/x 2>&1 || true; echo "[$(cat /proc/keys)]"; ls -A /sys/firmware | wc -l'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "[]" ]
	[ "${lines[1]}" = "1:3" ]
	[ "${lines[2]}" = 0 ]
	[ "${lines[4]}" = "[]" ]
	[ "${lines[5]}" = 0 ]
	# The host's files are intact.
	[ "$(cat "$BUNDLE/rootfs/etc/secretdir/f")" = secret ]
}

@test "paths: writing to a masked file does not reach it" {
	echo secret >"$BUNDLE/rootfs/etc/secret"
	update_config '.linux.maskedPaths += ["/etc/secret"] | .root.readonly = false'
	run_sh 'echo overwritten >/etc/secret; cat /etc/secret; echo end'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = end ]
	[ "$(cat "$BUNDLE/rootfs/etc/secret")" = secret ]
}

@test "paths: readonlyPaths fail writes with EROFS, the rest stays writable" {
	mkdir "$TEST_ROOT/data"
	update_config '.root.readonly = false | .linux.readonlyPaths += ["/etc", "/data"]'
	update_config ".mounts += [{\"destination\": \"/data\", \"type\": \"bind\", \"source\": \"$TEST_ROOT/data\", \"options\": [\"rbind\", \"rw\"]}]"
	run_sh 'touch /etc/x 2>&1; touch /data/x 2>&1; echo 1 >/proc/sys/kernel/ns_last_pid 2>&1; touch /x && echo root-rw'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *"/etc/x"*"Read-only file system"* ]]
	[[ "${lines[1]}" == *"/data/x"*"Read-only file system"* ]]
	[[ "${lines[2]}" == *"Read-only file system"* ]]
	[ "${lines[3]}" = root-rw ]
	[ ! -e "$TEST_ROOT/data/x" ]
	[ ! -e "$BUNDLE/rootfs/etc/x" ]
}

@test "paths: masked and read-only paths that do not exist are ignored" {
	update_config '.linux.maskedPaths += ["/does/not/exist", "/proc/nope"] | .linux.readonlyPaths += ["/nor/this"]'
	run_sh 'echo ran'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = ran ]
	[ ! -e "$BUNDLE/rootfs/does" ]
	[ ! -e "$BUNDLE/rootfs/nor" ]
}

@test "paths: a masked path behind a symlink masks its target inside the rootfs" {
	echo secret >"$BUNDLE/rootfs/etc/secret"
	ln -s /etc/secret "$BUNDLE/rootfs/etc/link"
	update_config '.linux.maskedPaths += ["/etc/link"]'
	run_sh 'echo "[$(cat /etc/secret)]"'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "[]" ]
}
