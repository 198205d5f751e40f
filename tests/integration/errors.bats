#!/usr/bin/env bats
# Bad input: one error line "teu: ...", exit 1, and nothing left behind: no
# state dir, no process, no mount. Plus the global flags.
load helpers
load lifecycle

# create_fails ID [ARGS]: `teu create` of ID must fail with one error line
# and leave nothing.
create_fails() {
	local id=$1
	shift
	run teu create --bundle "$BUNDLE" "$@" "$id"
	echo "$output"
	assert_one_error_line
	assert_nothing_left "$id"
}

@test "errors: no config.json" {
	rm "$BUNDLE/config.json"
	create_fails c1
	[[ "$output" == "teu: create c1: "*config.json* ]]
}

@test "errors: config.json is not JSON" {
	printf '{"ociVersion": "1.0.0",\n "process": {' >"$BUNDLE/config.json"
	create_fails c1
	[[ "$output" == *"invalid config.json"* ]]
	echo '[1, 2]' >"$BUNDLE/config.json"
	create_fails c1
	: >"$BUNDLE/config.json"
	create_fails c1
}

@test "errors: unsupported ociVersion 2.0.0 and 1.9.0" {
	set_args true
	for v in 2.0.0 1.9.0 "" x.y.z 1.0; do
		update_config ".ociVersion = \"$v\""
		create_fails c1
		[[ "$output" == *ociVersion* ]]
	done
	# The versions teu does implement.
	for v in 1.0.0 1.0.2-dev 1.2.1 1.3.0; do
		update_config ".ociVersion = \"$v\""
		teu run --bundle "$BUNDLE" "ok-${v//./-}"
	done
}

@test "errors: the rootfs does not exist" {
	rm -rf "$BUNDLE/rootfs"
	create_fails c1
	[ "$output" = "teu: create c1: rootfs $BUNDLE/rootfs: no such file or directory" ]
	update_config '.root.path = "/nonexistent/rootfs"'
	create_fails c2
	[[ "$output" == *"/nonexistent/rootfs"* ]]
}

@test "errors: the rootfs is not a directory" {
	touch "$TEST_ROOT/file"
	update_config ".root.path = \"$TEST_ROOT/file\""
	create_fails c1
	[[ "$output" == *"not a directory"* ]]
}

@test "errors: invalid container ids" {
	set_args true
	mkdir -p "$TEU_ROOT"
	for id in "a/b" ".." "." "x y" "" "../x" "a
b" "$(printf 'x%.0s' $(seq 1 1100))"; do
		run teu create --bundle "$BUNDLE" "$id"
		echo "$output"
		assert_one_error_line
		assert_nothing_left "$id"
		[ -z "$(ls -A "$TEU_ROOT")" ]
	done
	# Nothing was made next to the root either.
	[ ! -e "$TEST_ROOT/x" ]
	[ ! -e "$TEST_ROOT/b" ]
}

@test "errors: a duplicate id keeps the first container" {
	set_args sleep 100
	teu create --bundle "$BUNDLE" c1
	pid=$(state_of c1 pid)
	run teu create --bundle "$BUNDLE" c1
	assert_one_error_line
	[[ "$output" == "teu: create c1: "*"already exists" ]]
	# The first container is whole: its init and its state dir.
	[ "$(state_of c1 status)" = created ]
	[ -e "$TEU_ROOT/c1/exec.fifo" ]
	[ -d "/proc/$pid" ]
	# Only that one init.
	[ "$(procs_in_test_root)" = "$pid" ]
}

@test "errors: start of a container that is not created" {
	set_args sleep 100
	teu create --bundle "$BUNDLE" c1
	teu start c1
	run teu start c1
	assert_one_error_line
	run teu start nope
	assert_one_error_line
	assert_nothing_left nope
}

@test "errors: delete of a running container without --force" {
	set_args sleep 100
	teu create --bundle "$BUNDLE" c1
	teu start c1
	run teu delete c1
	assert_one_error_line
	[ "$(state_of c1 status)" = running ]
	teu delete --force c1
	assert_nothing_left c1
}

@test "errors: a mount through a symlink that points out of the rootfs" {
	name=teu-escape.$$.$BATS_TEST_NUMBER
	ln -s ../../../../../tmp "$BUNDLE/rootfs/evil"
	set_args true
	update_config ".mounts += [{\"destination\": \"/evil/$name\", \"type\": \"tmpfs\", \"source\": \"tmpfs\"}]"
	create_fails c1
	# Nothing was made or mounted on the host's /tmp.
	[ ! -e "/tmp/$name" ]
	refute grep -q " /tmp/$name " /proc/self/mountinfo
}

@test "errors: an option a filesystem refuses names the mount and the options it got" {
	update_config '.mounts += [{"destination": "/x", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "bogus"]}]'
	run teu run --bundle "$BUNDLE" c1
	echo "$output"
	assert_one_error_line
	[ "$output" = "teu: create c1: mount tmpfs on /x: invalid argument (tmpfs refused an option? these went to it as given: bogus)" ]
	[ -z "$(teu list -q)" ]
}

@test "errors: process.args names a binary that does not exist" {
	set_args /bin/no-such-binary arg
	create_fails c1
	[[ "$output" == *no-such-binary* ]]
	set_args no-such-binary-in-path
	create_fails c2
	[[ "$output" == *no-such-binary-in-path* ]]
	# Nor can a directory or a non-executable file be run.
	set_args /etc
	create_fails c3
	set_args /etc/passwd
	create_fails c4
}

@test "errors: hostname without a uts namespace" {
	set_args true
	update_config '.hostname = "h" | .linux.namespaces -= [{"type": "uts"}]'
	create_fails c1
	[[ "$output" == *hostname* ]]
}

@test "errors: empty process.args and a relative cwd" {
	update_config '.process.args = []'
	create_fails c1
	set_args true
	update_config '.process.cwd = "rel"'
	create_fails c2
}

@test "errors: process.terminal without --console-socket" {
	set_args true
	update_config '.process.terminal = true'
	create_fails c1
	[[ "$output" == *console-socket* ]]
}

@test "errors: --console-socket that is not a socket" {
	set_args true
	update_config '.process.terminal = true'
	create_fails c1 --console-socket "$TEST_ROOT/nosock"
}

@test "errors: a failing run leaves nothing either" {
	set_args /bin/no-such-binary
	run teu run --bundle "$BUNDLE" c1
	assert_one_error_line
	assert_nothing_left c1
	run teu run -d --bundle "$BUNDLE" c2
	assert_one_error_line
	assert_nothing_left c2
}

@test "errors: a bad --pid-file path leaves nothing" {
	set_args sleep 100
	create_fails c1 --pid-file "$TEST_ROOT/no/such/dir/pid"
}

@test "errors: an unknown command or flag is one line" {
	# runc's words and status (urfave/cli v1) for an unknown command.
	run teu frobnicate
	[ "$status" -eq 3 ]
	[ "$output" = "No help topic for 'frobnicate'" ]
	run teu --no-such-flag list
	assert_one_error_line
	run teu create --no-such-flag c1
	assert_one_error_line
	assert_nothing_left c1
}

@test "global: --version names teu and the runtime-spec version" {
	run "$TEU_BIN" --version
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "teu version "* ]]
	printf '%s\n' "$output" | grep -qx "spec: 1.3.0"
	run "$TEU_BIN" -v
	[[ "${lines[0]}" == "teu version "* ]]
}

@test "global: --log --log-format json writes errors as runc's JSON lines" {
	log=$TEST_ROOT/log.json
	run "$TEU_BIN" --root "$TEU_ROOT" --log "$log" --log-format json state nope
	assert_one_error_line
	[ "$(wc -l <"$log")" -eq 1 ]
	[ "$(jq -r .level "$log")" = error ]
	[ "$(jq -r .msg "$log")" = "container nope does not exist" ]
	t=$(jq -r .time "$log")
	[ $(($(date +%s) - $(date -d "$t" +%s))) -lt 60 ]
	# Appended, not truncated.
	run "$TEU_BIN" --root "$TEU_ROOT" --log "$log" --log-format json kill nope
	[ "$(wc -l <"$log")" -eq 2 ]
	[ "$(tail -n1 "$log" | jq -r .level)" = error ]
}

@test "global: --log in text format" {
	log=$TEST_ROOT/log.txt
	run "$TEU_BIN" --root "$TEU_ROOT" --log "$log" state nope
	assert_one_error_line
	grep -q 'level=error' "$log"
	grep -q 'msg="container nope does not exist"' "$log"
}

@test "global: a container's exit status is not logged as an error" {
	log=$TEST_ROOT/log.json
	set_args sh -c 'exit 3'
	run "$TEU_BIN" --root "$TEU_ROOT" --log "$log" --log-format json run --bundle "$BUNDLE" c1
	[ "$status" -eq 3 ]
	[ ! -s "$log" ]
}

@test "global: an invalid --log-format is an error" {
	run "$TEU_BIN" --root "$TEU_ROOT" --log-format xml list
	assert_one_error_line
	[[ "$output" == *log-format* ]]
	run "$TEU_BIN" --root "$TEU_ROOT" --log "$TEST_ROOT/no/such/dir/log" list
	assert_one_error_line
}
