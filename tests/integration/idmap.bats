#!/usr/bin/env bats
# Idmapped bind mounts: uidMappings/gidMappings on a mount, idmap/ridmap.
load helpers

# A container in a user namespace (container 0.. = host 100000..), and a
# host dir $SRC owned by uid/gid 1000 with one file in it.
setup() {
	new_bundle
	chmod 755 "$TEST_ROOT"
	chown -R 100000:100000 "$BUNDLE/rootfs"
	update_config '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
	SRC=$TEST_ROOT/src
	mkdir "$SRC"
	echo data >"$SRC/file"
	chown -R 1000:1000 "$SRC"
}

# add_mount JSON: append a mount.
add_mount() {
	update_config ".mounts += [$1]"
}

MAP_1000_TO_ROOT='"uidMappings": [{"containerID": 1000, "hostID": 100000, "size": 1}], "gidMappings": [{"containerID": 1000, "hostID": 100000, "size": 1}]'

@test "idmap: a mount's own mappings: host uid 1000 is root inside, root's new files land as 1000" {
	add_mount "{\"destination\": \"/m\", \"type\": \"bind\", \"source\": \"$SRC\", \"options\": [\"bind\", \"idmap\"], $MAP_1000_TO_ROOT}"
	run_sh 'stat -c %u:%g /m/file; echo more >>/m/file && echo write-ok; touch /m/new; stat -c %u:%g /m/new; grep -c " /m .*idmapped" /proc/self/mountinfo'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0:0 ]
	[ "${lines[1]}" = write-ok ]
	[ "${lines[2]}" = 0:0 ]
	[ "${lines[3]}" = 1 ]
	[ "$(stat -c %u:%g "$SRC/new")" = 1000:1000 ]
	[ "$(cat "$SRC/file")" = "data
more" ]
	# The host's view of the directory is unchanged.
	[ "$(stat -c %u:%g "$SRC/file")" = 1000:1000 ]
}

@test "idmap: without mappings of its own the mount uses the container's" {
	chown -R 0:0 "$SRC"
	add_mount "{\"destination\": \"/m\", \"type\": \"bind\", \"source\": \"$SRC\", \"options\": [\"bind\", \"idmap\"]}"
	add_mount "{\"destination\": \"/plain\", \"type\": \"bind\", \"source\": \"$SRC\", \"options\": [\"bind\"]}"
	run_sh 'stat -c %u /m/file /plain/file; touch /m/by-root; touch /plain/x 2>/dev/null || echo plain-refused'
	echo "$output"
	[ "$status" -eq 0 ]
	# Host root's files: root inside through the idmapped mount, nobody
	# (the overflow id) through a plain bind, where root cannot write.
	[ "${lines[0]}" = 0 ]
	[ "${lines[1]}" = 65534 ]
	[ "${lines[2]}" = plain-refused ]
	[ "$(stat -c %u:%g "$SRC/by-root")" = 0:0 ]
}

@test "idmap: ridmap maps the submounts of an rbind too, idmap only the top" {
	mkdir "$SRC/sub"
	mount -t tmpfs -o mode=755 tmpfs "$SRC/sub"
	echo x >"$SRC/sub/f"
	chown -R 1000:1000 "$SRC/sub"
	add_mount "{\"destination\": \"/r\", \"type\": \"bind\", \"source\": \"$SRC\", \"options\": [\"rbind\", \"ridmap\"], $MAP_1000_TO_ROOT}"
	add_mount "{\"destination\": \"/i\", \"type\": \"bind\", \"source\": \"$SRC\", \"options\": [\"rbind\", \"idmap\"], $MAP_1000_TO_ROOT}"
	run_sh 'stat -c %u /r/file /r/sub/f /i/file /i/sub/f'
	echo "$output"
	umount "$SRC/sub"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0 ]
	[ "${lines[1]}" = 0 ]
	[ "${lines[2]}" = 0 ]
	[ "${lines[3]}" = 65534 ]
}

@test "idmap: a filesystem that cannot be idmapped is one clear error, nothing left" {
	grep -qw ramfs /proc/filesystems || skip "no ramfs"
	mkdir "$TEST_ROOT/ram"
	mount -t ramfs ramfs "$TEST_ROOT/ram"
	add_mount "{\"destination\": \"/m\", \"type\": \"bind\", \"source\": \"$TEST_ROOT/ram\", \"options\": [\"bind\", \"idmap\"], $MAP_1000_TO_ROOT}"
	set_args true
	run teu run --bundle "$BUNDLE" i4
	echo "$output"
	umount "$TEST_ROOT/ram"
	assert_one_error_line
	[[ "$output" == *"does not support idmapped mounts"* ]]
	[ -z "$(teu list -q)" ]
}

@test "idmap: bad idmap configs are refused" {
	set_args true
	# Not a bind mount.
	add_mount '{"destination": "/t", "type": "tmpfs", "source": "tmpfs", "options": ["idmap"]}'
	run teu run --bundle "$BUNDLE" i5
	assert_one_error_line
	[[ "$output" == *"only supported for bind mounts"* ]]
	update_config 'del(.mounts[-1])'
	# uidMappings without gidMappings.
	add_mount "{\"destination\": \"/m\", \"type\": \"bind\", \"source\": \"$SRC\", \"options\": [\"bind\", \"idmap\"], \"uidMappings\": [{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}]}"
	run teu run --bundle "$BUNDLE" i5
	assert_one_error_line
	[[ "$output" == *"given together"* ]]
	update_config 'del(.mounts[-1])'
	# idmap with no mappings and no user namespace to borrow them from.
	update_config '.linux.namespaces |= map(select(.type != "user")) | del(.linux.uidMappings, .linux.gidMappings)'
	add_mount "{\"destination\": \"/m\", \"type\": \"bind\", \"source\": \"$SRC\", \"options\": [\"bind\", \"idmap\"]}"
	run teu run --bundle "$BUNDLE" i5
	assert_one_error_line
	[[ "$output" == *"needs a user namespace"* ]]
	[ -z "$(teu list -q)" ]
}

@test "idmap: mappings of its own also work without a user namespace" {
	update_config '.linux.namespaces |= map(select(.type != "user")) | del(.linux.uidMappings, .linux.gidMappings)'
	chown -R 0:0 "$BUNDLE/rootfs"
	add_mount "{\"destination\": \"/m\", \"type\": \"bind\", \"source\": \"$SRC\", \"options\": [\"bind\", \"idmap\"], \"uidMappings\": [{\"containerID\": 1000, \"hostID\": 2000, \"size\": 1}], \"gidMappings\": [{\"containerID\": 1000, \"hostID\": 2000, \"size\": 1}]}"
	run_sh 'stat -c %u:%g /m/file'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = 2000:2000 ]
}
