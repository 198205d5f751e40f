#!/usr/bin/env bats
# teu spec: the default config.json, runc's.
load helpers
load lifecycle

@test "spec: writes runc's default config.json" {
	mkdir "$TEST_ROOT/new"
	cd "$TEST_ROOT/new"
	run "$TEU_BIN" spec
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	c=$TEST_ROOT/new/config.json
	jq . "$c" >/dev/null
	[ "$(jq -r .ociVersion "$c")" = 1.3.0 ]
	[ "$(jq -r .process.terminal "$c")" = true ]
	[ "$(jq -c .process.args "$c")" = '["sh"]' ]
	[ "$(jq -r .process.cwd "$c")" = / ]
	[ "$(jq -r .root.path "$c")" = rootfs ]
	[ "$(jq -r .root.readonly "$c")" = true ]
	[ "$(jq -r .process.noNewPrivileges "$c")" = true ]
	# A cgroup namespace on a cgroup v2 host only, as runc's spec.
	if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
		[ "$(jq -c '[.linux.namespaces[].type] | sort' "$c")" = '["cgroup","ipc","mount","network","pid","uts"]' ]
	else
		[ "$(jq -c '[.linux.namespaces[].type] | sort' "$c")" = '["ipc","mount","network","pid","uts"]' ]
	fi
	# No namespace joins a path: all are new.
	[ "$(jq '[.linux.namespaces[] | select(.path)] | length' "$c")" -eq 0 ]
	[ "$(jq -c '.process.capabilities.bounding | sort' "$c")" = '["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"]' ]
	[ "$(jq -c '.process.capabilities.effective | sort' "$c")" = '["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"]' ]
	# CVE-2022-29162: no inheritable capabilities (runc dropped them).
	[ "$(jq '.process.capabilities.inheritable // [] | length' "$c")" -eq 0 ]
	[ "$(jq '.process.capabilities.ambient // [] | length' "$c")" -eq 0 ]
	for p in /proc/kcore /proc/keys /proc/timer_list /sys/firmware /proc/acpi /proc/scsi; do
		jq -e --arg p "$p" '.linux.maskedPaths | index($p)' "$c" >/dev/null
	done
	for p in /proc/bus /proc/fs /proc/irq /proc/sys /proc/sysrq-trigger; do
		jq -e --arg p "$p" '.linux.readonlyPaths | index($p)' "$c" >/dev/null
	done
	[ "$(jq -c '[.mounts[].destination]' "$c")" = '["/proc","/dev","/dev/pts","/dev/shm","/dev/mqueue","/sys","/sys/fs/cgroup"]' ]
	[ "$(jq -c '.process.rlimits' "$c")" = '[{"type":"RLIMIT_NOFILE","hard":1024,"soft":1024}]' ]
}

@test "spec: the same settings as runc spec" {
	command -v runc >/dev/null || skip "runc not installed"
	mkdir "$TEST_ROOT/teu" "$TEST_ROOT/runc"
	"$TEU_BIN" spec -b "$TEST_ROOT/teu"
	runc spec -b "$TEST_ROOT/runc"
	r=$TEST_ROOT/runc/config.json t=$TEST_ROOT/teu/config.json
	# The same process, root, mounts, rlimits and read-only paths.
	for f in .process.terminal .process.args .process.env .process.cwd .process.user .process.rlimits \
		.process.noNewPrivileges .root .mounts .linux.readonlyPaths '.process.capabilities.bounding|sort'; do
		[ "$(jq -cS "$f" "$r")" = "$(jq -cS "$f" "$t")" ] || { echo "$f differs" >&2; false; }
	done
	# At least runc's masked paths (newer runc adds some), and the same
	# namespaces.
	[ "$(jq -n --slurpfile r "$r" --slurpfile t "$t" '$r[0].linux.maskedPaths - $t[0].linux.maskedPaths | length')" -eq 0 ]
	[ "$(jq -cS '.linux.namespaces | sort_by(.type)' "$r")" = "$(jq -cS '.linux.namespaces | sort_by(.type)' "$t")" ]
}

@test "spec: refuses to overwrite config.json" {
	mkdir "$TEST_ROOT/new"
	echo '{"keep": "me"}' >"$TEST_ROOT/new/config.json"
	run "$TEU_BIN" spec --bundle "$TEST_ROOT/new"
	assert_one_error_line
	[[ "$output" == *"$TEST_ROOT/new/config.json"*exists* ]]
	[ "$(jq -r .keep "$TEST_ROOT/new/config.json")" = me ]
	# Also from the current directory.
	cd "$TEST_ROOT/new"
	run "$TEU_BIN" spec
	assert_one_error_line
	[ "$(jq -r .keep "$TEST_ROOT/new/config.json")" = me ]
}

@test "spec: --bundle and -b write there, not in the cwd" {
	mkdir "$TEST_ROOT/b1" "$TEST_ROOT/b2" "$TEST_ROOT/cwd"
	cd "$TEST_ROOT/cwd"
	"$TEU_BIN" spec --bundle "$TEST_ROOT/b1"
	"$TEU_BIN" spec -b "$TEST_ROOT/b2"
	[ -f "$TEST_ROOT/b1/config.json" ]
	[ -f "$TEST_ROOT/b2/config.json" ]
	[ ! -e "$TEST_ROOT/cwd/config.json" ]
	cmp "$TEST_ROOT/b1/config.json" "$TEST_ROOT/b2/config.json"
}

@test "spec: a missing --bundle directory is one error line" {
	run "$TEU_BIN" spec -b "$TEST_ROOT/nope"
	assert_one_error_line
	[ ! -e "$TEST_ROOT/nope" ]
}

@test "spec: rejects arguments" {
	mkdir "$TEST_ROOT/new"
	cd "$TEST_ROOT/new"
	run "$TEU_BIN" spec extra
	assert_one_error_line
	[ ! -e config.json ]
}

@test "spec: the written config runs a busybox container" {
	rm "$BUNDLE/config.json"
	(cd "$BUNDLE" && "$TEU_BIN" spec)
	# Only what a test cannot do: the terminal, and the shell's args.
	update_config '.process.terminal = false | .process.args = ["sh", "-c", "echo hi from $(hostname); touch / 2>/dev/null && echo rw || echo ro; cat /proc/self/status | grep ^CapInh"]'
	run teu run --bundle "$BUNDLE" spec1
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "hi from teu" ]
	[ "${lines[1]}" = ro ]
	[ "${lines[2]}" = "CapInh:	0000000000000000" ]
}
