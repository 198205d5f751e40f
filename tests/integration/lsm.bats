#!/usr/bin/env bats
# Linux security modules: process.apparmorProfile, process.selinuxLabel,
# linux.mountLabel, and exec's --apparmor and --process-label.
#
# On a host where an LSM is off, its profile or label is a no-op: the
# container runs, unconfined. Where it is on, the container's process
# shows and obeys it. Each test skips, with the reason, on a host where it
# does not apply; `make test-lsm` (tests/vm/lsm.sh) boots a QEMU guest once
# with AppArmor and once with SELinux (and a small test policy) and runs
# this file in each, with the test profile or policy loaded.
load helpers

# The AppArmor profile tests/vm/lsm.sh loads: everything allowed but
# writing /tmp/denied.
AA_PROFILE=teu-test
# Labels of the SELinux test policy (tests/vm/lsm/teu-test.te): container_t
# may do anything but write files labelled container_ro_t.
SE_PROCESS=system_u:system_r:container_t
SE_MOUNT=system_u:object_r:container_ro_t

apparmor_on() {
	[ -d /sys/kernel/security/apparmor ] && grep -q '^Y' /sys/module/apparmor/parameters/enabled 2>/dev/null
}

selinux_on() {
	local cur
	[ "$(stat -f -c %t /sys/fs/selinux 2>/dev/null)" = f97cff8c ] || return 1
	cur=$(tr -d '\0' </proc/self/attr/current 2>/dev/null) || return 1
	[ -n "$cur" ] && [ "$cur" != kernel ]
}

requires_apparmor() {
	apparmor_on || skip "AppArmor is not enabled on this host (make test-lsm tests it in a guest)"
	grep -q "^$AA_PROFILE (enforce)" /sys/kernel/security/apparmor/profiles ||
		skip "the $AA_PROFILE profile is not loaded (tests/vm/lsm.sh loads it)"
}

requires_selinux() {
	selinux_on || skip "SELinux is not enabled on this host (make test-lsm tests it in a guest)"
	[ "$(cat /sys/fs/selinux/enforce)" = 1 ] || skip "SELinux is not enforcing"
}

# with_tmp: a writable tmpfs at /tmp (the root is read-only).
with_tmp() {
	update_config '.mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777"]}]'
}

@test "lsm: with AppArmor off, process.apparmorProfile is a no-op" {
	apparmor_on && skip "AppArmor is enabled on this host"
	update_config ".process.apparmorProfile = \"$AA_PROFILE\""
	with_tmp
	set_args sh -c 'echo x >/tmp/denied && cat /tmp/denied'
	run "$TEU_BIN" --root "$TEU_ROOT" --debug --log "$TEST_ROOT/log" run --bundle "$BUNDLE" aa-off
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = x ]
	grep -q 'AppArmor is not enabled on this host' "$TEST_ROOT/log"
}

@test "lsm: with SELinux off, process.selinuxLabel and linux.mountLabel are a no-op" {
	selinux_on && skip "SELinux is enabled on this host"
	update_config ".process.selinuxLabel = \"$SE_PROCESS:s0\" | .linux.mountLabel = \"$SE_MOUNT:s0\""
	with_tmp
	# A context= option would make the tmpfs mounts fail on a kernel
	# without SELinux: they are mounted without it.
	set_args sh -c 'echo x >/tmp/f && cat /tmp/f; grep -c "context=" /proc/self/mountinfo'
	run "$TEU_BIN" --root "$TEU_ROOT" --debug --log "$TEST_ROOT/log" run --bundle "$BUNDLE" se-off
	echo "$output"
	[ "$status" -eq 1 ] # grep -c found nothing
	[ "$output" = "$(printf 'x\n0')" ]
	grep -q 'SELinux is not enabled on this host' "$TEST_ROOT/log"
}

@test "lsm: exec --apparmor and --process-label are accepted where the LSM is off" {
	apparmor_on && selinux_on && skip "AppArmor and SELinux are both enabled on this host"
	set_args sleep 1000
	teu run -d --bundle "$BUNDLE" x >/dev/null
	apparmor_on || {
		run teu exec --apparmor "$AA_PROFILE" x echo aa
		echo "$output"
		[ "$status" -eq 0 ]
		[ "$output" = aa ]
	}
	selinux_on || {
		run teu exec --process-label "$SE_PROCESS:s0" x echo se
		echo "$output"
		[ "$status" -eq 0 ]
		[ "$output" = se ]
	}
}

@test "lsm: AppArmor: the container's process runs confined by its profile" {
	requires_apparmor
	update_config ".process.apparmorProfile = \"$AA_PROFILE\""
	with_tmp
	set_args sh -c 'cat /proc/self/attr/current; echo; echo ok >/tmp/allowed && cat /tmp/allowed; echo no >/tmp/denied || echo denied'
	run teu run --bundle "$BUNDLE" aa
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$AA_PROFILE (enforce)" ]
	[ "${lines[1]}" = ok ]
	[[ "${lines[2]}" == *"Permission denied" ]]
	[ "${lines[3]}" = denied ]
	# The same container without the profile may write it.
	update_config 'del(.process.apparmorProfile)'
	run teu run --bundle "$BUNDLE" unconfined
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = unconfined ]
	[ "${lines[3]}" != denied ]
}

@test "lsm: AppArmor: exec --apparmor confines the exec'd process; exec inherits the container's profile" {
	requires_apparmor
	set_args sleep 1000
	teu run -d --bundle "$BUNDLE" x >/dev/null
	pid=$(teu state x | jq -r .pid)
	[ "$(cat "/proc/$pid/attr/current")" = unconfined ]
	run teu exec --apparmor "$AA_PROFILE" x cat /proc/self/attr/current
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "$AA_PROFILE (enforce)" ]
	run teu exec x cat /proc/self/attr/current
	echo "$output"
	[ "$output" = unconfined ]

	update_config ".process.apparmorProfile = \"$AA_PROFILE\""
	teu run -d --bundle "$BUNDLE" y >/dev/null
	run teu exec y cat /proc/self/attr/current
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "$AA_PROFILE (enforce)" ]
}

@test "lsm: AppArmor: a profile the kernel does not know is an error, and nothing is left" {
	requires_apparmor
	update_config '.process.apparmorProfile = "teu-no-such-profile"'
	set_args true
	run teu run --bundle "$BUNDLE" nope
	echo "$output"
	assert_one_error_line
	[[ "$output" == *'apparmor profile "teu-no-such-profile"'* ]]
	[ -z "$(teu list -q)" ]
}

@test "lsm: AppArmor: a mount over the container's /proc/<pid>/attr cannot swallow the profile" {
	requires_apparmor
	# The init is pid 1 of its pid namespace and writes through its own
	# (thread-self) attr files: cover both names with /dev/null.
	update_config ".process.apparmorProfile = \"$AA_PROFILE\" | .mounts += [
		{\"destination\": \"/proc/1/task/1/attr/apparmor/exec\", \"type\": \"bind\", \"source\": \"/dev/null\", \"options\": [\"bind\"]},
		{\"destination\": \"/proc/1/attr/apparmor/exec\", \"type\": \"bind\", \"source\": \"/dev/null\", \"options\": [\"bind\"]}]"
	set_args sh -c 'grep -c " /proc/1/.*attr/apparmor/exec " /proc/self/mountinfo; cat /proc/self/attr/current'
	run teu run --bundle "$BUNDLE" over
	echo "$output"
	# Either the profile reached the real procfs file, or teu refused: the
	# process never runs unconfined.
	if [ "$status" -eq 0 ]; then
		[ "${lines[0]}" = 2 ]
		[ "${lines[1]}" = "$AA_PROFILE (enforce)" ]
	else
		assert_one_error_line
	fi
}

@test "lsm: AppArmor in a user namespace" {
	requires_apparmor
	update_config ".process.apparmorProfile = \"$AA_PROFILE\" |
		.linux.namespaces += [{\"type\": \"user\"}] |
		.linux.uidMappings = [{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}] |
		.linux.gidMappings = [{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}]"
	chmod 755 "$TEST_ROOT"
	chown -R 100000:100000 "$BUNDLE/rootfs"
	set_args cat /proc/self/attr/current
	run teu run --bundle "$BUNDLE" userns
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "$AA_PROFILE (enforce)" ]
}

@test "lsm: SELinux: the process label, and the mount label on the container's mounts" {
	requires_selinux
	update_config ".process.selinuxLabel = \"$SE_PROCESS\" | .linux.mountLabel = \"$SE_MOUNT\""
	with_tmp
	# /sys/firmware: a masked directory (an empty tmpfs) gets it too.
	set_args sh -c 'tr -d "\\000" </proc/self/attr/current; echo; grep " /tmp " /proc/self/mountinfo; grep " /sys/firmware " /proc/self/mountinfo; echo x >/tmp/f || echo denied'
	run teu run --bundle "$BUNDLE" se
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$SE_PROCESS" ]
	[[ "${lines[1]}" == *"context=\"$SE_MOUNT\""* || "${lines[1]}" == *"context=$SE_MOUNT"* ]]
	[[ "${lines[2]}" == *"context=\"$SE_MOUNT\""* || "${lines[2]}" == *"context=$SE_MOUNT"* ]]
	# The policy lets container_t read, not write, container_ro_t files.
	[[ "${lines[3]}" == *"Permission denied" ]]
	[ "${lines[4]}" = denied ]
}

@test "lsm: SELinux: exec --process-label labels the exec'd process" {
	requires_selinux
	set_args sleep 1000
	teu run -d --bundle "$BUNDLE" x >/dev/null
	run teu exec --process-label "$SE_PROCESS" x sh -c 'tr -d "\\000" </proc/self/attr/current'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "$SE_PROCESS" ]
}

@test "lsm: SELinux: the container's session keyring gets the process label" {
	requires_selinux
	# busybox has no keyctl: tests/vm/lsm.sh builds a static helper.
	[ -x "${TEU_LSM_KEYLABEL:-}" ] || skip "no keylabel helper (TEU_LSM_KEYLABEL; tests/vm/lsm.sh builds it)"
	cp "$TEU_LSM_KEYLABEL" "$BUNDLE/rootfs/bin/keylabel"
	update_config ".process.selinuxLabel = \"$SE_PROCESS\""
	set_args keylabel
	run teu run --bundle "$BUNDLE" key
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "$SE_PROCESS" ]
}

@test "lsm: SELinux: a label the policy does not know is an error, and nothing is left" {
	requires_selinux
	update_config '.process.selinuxLabel = "system_u:system_r:teu_no_such_t"'
	set_args true
	run teu run --bundle "$BUNDLE" nope
	echo "$output"
	assert_one_error_line
	# The keyring label is written first, and refused first.
	[[ "$output" == *'selinux keyring label "system_u:system_r:teu_no_such_t"'*'invalid argument' ]]
	[ -z "$(teu list -q)" ]
}
