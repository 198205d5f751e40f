#!/usr/bin/env bats
# Device nodes and /dev links, default and from linux.devices.
load helpers

@test "devices: default nodes have the right numbers and mode 0666" {
	run_sh 'for d in null zero full random urandom tty; do stat -c "%n %F %t:%T %a %u:%g" /dev/$d; done'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/dev/null character special file 1:3 666 0:0" ]
	[ "${lines[1]}" = "/dev/zero character special file 1:5 666 0:0" ]
	[ "${lines[2]}" = "/dev/full character special file 1:7 666 0:0" ]
	[ "${lines[3]}" = "/dev/random character special file 1:8 666 0:0" ]
	[ "${lines[4]}" = "/dev/urandom character special file 1:9 666 0:0" ]
	[ "${lines[5]}" = "/dev/tty character special file 5:0 666 0:0" ]
}

@test "devices: default nodes work" {
	run_sh 'echo x >/dev/null && wc -c </dev/null; head -c 5 /dev/zero | od -An -tx1 | tr -d " "; head -c 16 /dev/urandom | wc -c; echo x 2>&1 >/dev/full || true'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0 ]
	[ "${lines[1]}" = 0000000000 ]
	[ "${lines[2]}" = 16 ]
	[[ "${lines[3]}" == *"No space left on device"* ]]
}

@test "devices: /dev links and /dev/shm" {
	run_sh 'for l in ptmx fd stdin stdout stderr; do echo "$l -> $(readlink /dev/$l)"; done; ls /dev/fd/ >/dev/null && echo fd-ok; echo hi >/dev/stdout; touch /dev/shm/x && stat -c %a /dev/shm'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "ptmx -> pts/ptmx" ]
	[ "${lines[1]}" = "fd -> /proc/self/fd" ]
	[ "${lines[2]}" = "stdin -> /proc/self/fd/0" ]
	[ "${lines[3]}" = "stdout -> /proc/self/fd/1" ]
	[ "${lines[4]}" = "stderr -> /proc/self/fd/2" ]
	[ "${lines[5]}" = fd-ok ]
	[ "${lines[6]}" = hi ]
	[ "${lines[7]}" = 1777 ]
}

@test "devices: linux.devices char, block and fifo with mode, uid and gid" {
	update_config '.linux.devices = [
		{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 384, "uid": 1000, "gid": 1000},
		{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 438},
		{"path": "/dev/sub/myblk", "type": "b", "major": 7, "minor": 200, "fileMode": 416, "uid": 0, "gid": 5},
		{"path": "/dev/myfifo", "type": "p", "fileMode": 420, "uid": 65534, "gid": 65534}
	]'
	run_sh 'for d in fuse mynull sub/myblk; do stat -c "%n %F %t:%T %a %u:%g" /dev/$d; done; stat -c "%n %F %a %u:%g" /dev/myfifo; echo data >/dev/mynull && wc -c </dev/mynull'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/dev/fuse character special file a:e5 600 1000:1000" ]
	[ "${lines[1]}" = "/dev/mynull character special file 1:3 666 0:0" ]
	[ "${lines[2]}" = "/dev/sub/myblk block special file 7:c8 640 0:5" ]
	[ "${lines[3]}" = "/dev/myfifo fifo 644 65534:65534" ]
	[ "${lines[4]}" = 0 ]
}

@test "devices: a linux.devices entry replaces the default node" {
	# /dev/null with other permissions wins over the default one.
	update_config '.linux.devices = [{"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": 432}]'
	run_sh 'stat -c "%t:%T %a" /dev/null'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "1:3 660" ]
}

@test "devices: an image's symlink in place of a node is replaced" {
	# The /dev tmpfs hides the image's /dev; with /dev bound from the bundle
	# the node creation must replace what the image put there.
	mkdir -p "$TEST_ROOT/dev"
	ln -s /etc/passwd "$TEST_ROOT/dev/mynull"
	update_config '.mounts |= map(select(.destination != "/dev"))'
	rm -rf "$BUNDLE/rootfs/dev"
	mkdir "$BUNDLE/rootfs/dev"
	ln -s /etc/passwd "$BUNDLE/rootfs/dev/mynull"
	update_config '.linux.devices = [{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 438}]'
	update_config '.root.readonly = false'
	run_sh 'stat -c "%F %t:%T" /dev/mynull; wc -c </dev/mynull'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "character special file 1:3" ]
	[ "${lines[1]}" = 0 ]
	# The host's /etc/passwd was not touched.
	[ -s /etc/passwd ]
}
