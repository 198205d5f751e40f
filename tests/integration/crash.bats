#!/usr/bin/env bats
# Crash safety (docs/crash-safety.md): a create killed after any of its
# steps leaves nothing delete --force does not remove; a create stopped
# there is never reported stopped; a damaged state never hides a live
# container. The steps come from teu's fault-injection hook
# (TEU_TEST_CREATE_FAULT=N[:stop], libcontainer/fault.go): each walk goes
# N = 1, 2, ... until a create gets through, so it covers every step
# create reaches with that config, steps added later included.
load helpers
load lifecycle
load cgroup_helpers

# Our cgroups are named cs-* (cgroup_helpers' our_dirs and cg_cleanup look
# for CG_PARENT); the container's cgroupsPath has a parent create makes, so
# that its removal is checked too.
# shellcheck disable=SC2034 # cgroup_helpers.bash reads it
CG_PARENT="cs-$$-$BATS_TEST_NUMBER"

# Damaged state files are restored from $TEST_ROOT/saved before the shared
# teardown deletes every container: a failed test leaves nothing either.
eval "$(declare -f teardown | sed '1s/^teardown/crash_teardown/')"
teardown() {
	local f
	if [ -d "$TEST_ROOT/saved" ]; then
		for f in "$TEST_ROOT"/saved/*; do
			[ -e "$f" ] && cp "$f" "$TEU_ROOT/c1/${f##*/}"
		done
	fi
	crash_teardown
}

setup() {
	new_bundle
	set_cgroup_path c1
	set_args sleep 100
}

# save_state: keep c1's state files for the teardown.
save_state() {
	mkdir -p "$TEST_ROOT/saved"
	cp "$TEU_ROOT/c1/state.json" "$TEU_ROOT/c1/resources.json" "$TEST_ROOT/saved/"
}

# recorded_pids: the processes c1's records name (init and create's own),
# as pid:start time, for pid_gone: a busy host may give a dead one's pid
# to another process before the check.
recorded_pids() {
	jq -r '(select(.init_pid > 0) | "\(.init_pid):\(.init_start_time)"),
		(select((.exec_pid // 0) > 0) | "\(.exec_pid):\(.exec_start_time)")' \
		"$TEU_ROOT/c1/resources.json" 2>/dev/null || true
}

# nothing_left: no state dir, process, mount or cgroup of c1; and none of
# the pids in $PIDS.
nothing_left() {
	local p
	# (Called as `nothing_left || ...`: errexit is off in here, so each
	# check returns by itself.)
	assert_nothing_left c1 || return 1
	if [ -n "$(our_dirs)" ]; then
		echo "cgroups left behind: $(our_dirs)" >&2
		return 1
	fi
	for p in $PIDS; do
		pid_gone "$p" || {
			echo "process $p left behind" >&2
			return 1
		}
	done
}

# create_at N ARGS...: create c1 with the fault at step N; sets status and
# output as bats' run does. Through a file: the container's init keeps
# create's stdio, and a pipe would wait for it.
create_at() {
	local n=$1
	shift
	status=0
	env "$FAULT_ENV=$n" "$TEU_BIN" --root "$TEU_ROOT" create --bundle "$BUNDLE" "$@" c1 >"$TEST_ROOT/create.out" 2>&1 || status=$?
	output=$(cat "$TEST_ROOT/create.out")
}
FAULT_ENV=TEU_TEST_CREATE_FAULT

# step_name: the step the fault message in $output names.
step_name() {
	sed -n 's/^teu: '"$FAULT_ENV"': [a-z]* after step [0-9]* (\(.*\))$/\1/p' <<<"$output"
}

# walk_kills ARGS...: kill create after each step in turn; after each,
# state must not say stopped while a recorded process lives, and delete
# --force must remove everything. Sets STEPS to the steps seen.
walk_kills() {
	local n init st step
	STEPS=
	for n in $(seq 1 40); do
		create_at "$n" "$@"
		if [ "$status" -eq 0 ]; then
			break
		fi
		[ "$status" -eq 137 ] || {
			echo "step $n: create exited $status: $output" >&2
			return 1
		}
		step=$(step_name)
		STEPS+="$step|"
		PIDS=$(recorded_pids)
		init=$(jq -r '.init_pid // 0' "$TEU_ROOT/c1/resources.json" 2>/dev/null || echo 0)
		# Never stopped while the init lives (it may die meanwhile: it
		# does at its next read from the create that is no more).
		if [ "$init" -gt 0 ]; then
			st=$(state_of c1 status)
			if [ "$st" = stopped ] && ! pid_gone "$init"; then
				echo "step $n ($step): init $init alive, state says $st" >&2
				return 1
			fi
		fi
		run teu delete --force c1
		[ "$status" -eq 0 ] || {
			echo "step $n ($step): delete --force: $output" >&2
			return 1
		}
		nothing_left || {
			echo "after step $n ($step)" >&2
			return 1
		}
	done
	echo "steps: $STEPS"
	# Past the last step: the container is whole.
	[ "$status" -eq 0 ]
	[ "$(state_of c1 status)" = created ]
	PIDS=$(recorded_pids)
	teu delete --force c1
	nothing_left
}

# walk_stops ARGS...: stop create after each step in turn: meanwhile
# state and list say creating, or that there is no container yet, never
# stopped; then kill it, and delete --force removes everything.
walk_stops() {
	local n cr st
	for n in $(seq 1 40); do
		env "$FAULT_ENV=$n:stop" "$TEU_BIN" --root "$TEU_ROOT" create --bundle "$BUNDLE" "$@" c1 >"$TEST_ROOT/out" 2>&1 &
		cr=$!
		own_pid "$cr"
		wait_for stopped_or_gone "$cr"
		if pid_gone "$cr"; then
			wait "$cr" # it got through
			break
		fi
		run teu state c1
		if [ "$status" -eq 0 ]; then
			st=$(jq -r .status <<<"$output")
			# created: stopped after the last step, its state saved.
			[[ $st == creating || $st == created ]] || {
				echo "stopped after $(cat "$TEST_ROOT/out"): state says $st" >&2
				return 1
			}
			[ "$(teu list -f json | jq -r '.[0].status')" = "$st" ]
		else
			[[ "$output" == *"does not exist"* ]] || {
				echo "stopped after $(cat "$TEST_ROOT/out"): $output" >&2
				return 1
			}
			[ -z "$(teu list -q)" ]
		fi
		PIDS=$(recorded_pids)
		kill -9 "$cr"
		wait "$cr" || true
		run teu delete --force c1
		[ "$status" -eq 0 ]
		nothing_left
	done
	[ "$n" -gt 10 ]
	PIDS=$(recorded_pids)
	teu delete --force c1
	nothing_left
}

# stopped_or_gone PID
stopped_or_gone() {
	pid_gone "$1" || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = T ]
}

@test "crash: create killed after each of its steps; delete --force leaves nothing" {
	walk_kills --pid-file "$TEST_ROOT/pid"
	for s in "state dir made" "init started" "config.json written" "state.json written" \
		"resources.json written" "cgroup made" "init set up outside the cgroup" "init forked" \
		"setup part sent" "init recorded" "executor released" "create hooks run" \
		"process part compiled" "init ready" "pid file written" "state saved"; do
		[[ "|$STEPS" == *"|$s|"* ]] || {
			echo "step not reached: $s" >&2
			return 1
		}
	done
}

@test "crash: create stopped after each of its steps is creating, never stopped; killed, it is deleted" {
	walk_stops
}

@test "crash: with a user namespace and a seccomp agent, the id maps and listener steps too" {
	chmod 755 "$TEST_ROOT"
	chown -R 100000:100000 "$BUNDLE/rootfs"
	update_config '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
	# SECCOMPAGENT: one built before (a guest without Go).
	agent=${SECCOMPAGENT:-$TEST_ROOT/seccompagent}
	[ -x "$agent" ] || (cd "$TEU_SRC" && go build -o "$agent" ./tests/cmd/seccompagent)
	"$agent" -socket "$TEST_ROOT/agent.sock" -state "$TEST_ROOT/agent.state" -errno 28 &
	own_pid $!
	wait_for test -S "$TEST_ROOT/agent.sock"
	update_config ".linux.seccomp = {\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"$TEST_ROOT/agent.sock\",
		\"syscalls\":[{\"names\":[\"mkdirat\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}"
	walk_kills
	[[ "$STEPS" == *"|id maps written|"* ]]
	[[ "$STEPS" == *"|seccomp listener forwarded|"* ]]
}

@test "crash: without a mount namespace, the mounts create made in ours go too" {
	update_config '.linux.namespaces -= [{"type": "mount"}]
		| .linux.maskedPaths = [] | .linux.readonlyPaths = [] | .root.readonly = false'
	# Not the container's: delete must leave it.
	mkdir -p "$BUNDLE/rootfs/mnt/keep"
	mount -t tmpfs cs-keep "$BUNDLE/rootfs/mnt/keep"
	keep() { grep -q " $BUNDLE/rootfs/mnt/keep " /proc/self/mountinfo; }
	# assert_nothing_left wants no mount under the test dir at all: here,
	# keep's alone.
	assert_nothing_left() {
		[ ! -e "$TEU_ROOT/$1" ] && [ -z "$(procs_in_test_root)" ] && keep &&
			[ "$(grep -c " $TEST_ROOT/" /proc/self/mountinfo)" -eq 1 ]
	}
	walk_kills
	[[ "$STEPS" == *"|host mounts recorded|"* ]]
	keep
	umount "$BUNDLE/rootfs/mnt/keep"
}

@test "crash: the init killed while it waits for start: stopped, deleted without --force" {
	teu create --bundle "$BUNDLE" c1
	init=$(state_of c1 pid)
	PIDS=$init
	kill -9 "$init"
	wait_for pid_gone "$init"
	[ "$(state_of c1 status)" = stopped ]
	[ "$(state_of c1 pid)" = 0 ]
	run teu start c1
	assert_one_error_line
	run teu delete c1
	[ "$status" -eq 0 ]
	nothing_left
}

# damage HOW FILE: spoil c1's FILE as HOW says.
damage() {
	local f=$TEU_ROOT/c1/$2
	case $1 in
	null) echo null >"$f" ;;
	missing) rm "$f" ;;
	empty) : >"$f" ;;
	truncated) head -c 40 "$TEST_ROOT/saved/$2" >"$f" ;;
	garbage) printf '\x00\x01garbage\xff' >"$f" ;;
	other-id) jq -c '.id = "c2"' "$TEST_ROOT/saved/$2" >"$f" ;;
	empty-id) jq -c '.id = ""' "$TEST_ROOT/saved/$2" >"$f" ;;
	version) jq -c '.version = 99' "$TEST_ROOT/saved/$2" >"$f" ;;
	esac
}

@test "crash: a damaged or missing state.json never hides a live container" {
	for how in null missing empty truncated garbage other-id empty-id version; do
		echo "== state.json: $how"
		teu create --bundle "$BUNDLE" c1
		init=$(state_of c1 pid)
		PIDS=$init
		save_state
		damage "$how" state.json
		# state: one error line naming the file and the live init.
		run teu state c1
		assert_one_error_line
		[[ "$output" == *"$TEU_ROOT/c1/state.json"* ]]
		[[ "$output" == *"pid $init, is alive"* ]]
		# list: the id, its live init, an error status; the error on stderr.
		run teu list
		[ "$status" -eq 1 ]
		[[ "$output" == *"teu: list: container c1: "* ]]
		row=$(grep '^c1 ' <<<"$output")
		[ "$(awk '{print $2, $3}' <<<"$row")" = "$init error" ]
		[ "$(teu list -q 2>/dev/null)" = c1 ]
		# Nothing but delete --force acts on it.
		for cmd in "delete c1" "start c1" "kill c1 KILL" "pause c1"; do
			run teu $cmd
			assert_one_error_line
		done
		[ -d "/proc/$init" ]
		[ -e "$TEU_ROOT/c1/resources.json" ]
		# delete --force: by resources.json, all of it.
		run teu delete --force c1
		[ "$status" -eq 0 ]
		nothing_left
		rm -r "$TEST_ROOT/saved"
	done
}

@test "crash: state.json and resources.json both damaged: delete --force refuses and keeps the evidence" {
	teu create --bundle "$BUNDLE" c1
	init=$(state_of c1 pid)
	save_state
	dirs=$(our_dirs)
	[ -n "$dirs" ]
	for how in null missing garbage; do
		damage "$how" state.json
		damage garbage resources.json
		run teu state c1
		assert_one_error_line
		run teu delete --force c1
		assert_one_error_line
		[[ "$output" == *"refuses"* ]]
		# Nothing went: the state dir, the init, the cgroups.
		[ -e "$TEU_ROOT/c1/config.json" ]
		[ -d "/proc/$init" ]
		[ "$(our_dirs)" = "$dirs" ]
		cp "$TEST_ROOT/saved/state.json" "$TEU_ROOT/c1/"
	done
	# state.json alone is enough once create is over.
	run teu state c1
	[ "$status" -eq 0 ]
	[ "$(jq -r .status <<<"$output")" = created ]
	PIDS=$init
	teu delete --force c1
	nothing_left
}

@test "crash: after a power loss, any mix of whole state files and temp files is removed" {
	# The directory is not fsync'd (docs/crash-safety.md): after a power
	# loss each file may be there, old or new, or not, and temp files may
	# be left. The reboot is played by delete --force: nothing the files
	# name lives any more, then each mix is put back.
	teu create --bundle "$BUNDLE" c1
	PIDS=$(recorded_pids)
	cp -a "$TEU_ROOT/c1" "$TEST_ROOT/before"
	teu delete --force c1
	nothing_left
	for mix in "" config.json "config.json state.json" "config.json resources.json" \
		"state.json resources.json" "config.json state.json resources.json"; do
		echo "== files: ${mix:-none}"
		mkdir "$TEU_ROOT/c1"
		for f in $mix; do
			cp "$TEST_ROOT/before/$f" "$TEU_ROOT/c1/"
		done
		# A temp file cut short, as a write the loss interrupted leaves it.
		head -c 20 "$TEST_ROOT/before/state.json" >"$TEU_ROOT/c1/state.json.tmp"
		run teu state c1
		if [ -e "$TEU_ROOT/c1/state.json" ] || [ ! -e "$TEU_ROOT/c1/resources.json" ]; then
			[ "$status" -eq 0 ]
			[ "$(jq -r .status <<<"$output")" = stopped ]
		else
			# resources.json alone: damaged, and the line says so.
			assert_one_error_line
			[[ "$output" == *"state.json: missing"* ]]
		fi
		run teu delete --force c1
		[ "$status" -eq 0 ]
		nothing_left
	done
}

@test "crash: a killed create's damaged resources.json: delete --force refuses" {
	# Killed once its init waits for start: the init lives on.
	create_at "init ready"
	[ "$status" -eq 137 ]
	init=$(jq -r .init_pid "$TEU_ROOT/c1/resources.json")
	[ "$(state_of c1 status)" = creating ]
	[ "$(state_of c1 pid)" = "$init" ]
	save_state
	damage empty resources.json
	run teu state c1
	assert_one_error_line
	[[ "$output" == *"$TEU_ROOT/c1/resources.json"* ]]
	run teu delete --force c1
	assert_one_error_line
	[[ "$output" == *"refuses"* ]]
	[ -d "/proc/$init" ]
	[ -n "$(our_dirs)" ]
	cp "$TEST_ROOT/saved/resources.json" "$TEU_ROOT/c1/"
	PIDS=$init
	teu delete --force c1
	nothing_left
}

@test "crash: of two creates of one id exactly one wins, and the winner is whole" {
	share_dir
	set_args sh -c 'echo ran >/shared/ran; sleep 100'
	for i in 1 2; do
		"$TEU_BIN" --root "$TEU_ROOT" create --bundle "$BUNDLE" c1 >"$TEST_ROOT/out$i" 2>&1 &
		pids[$i]=$!
		own_pid "${pids[$i]}"
	done
	ok=0
	for i in 1 2; do
		if wait "${pids[$i]}"; then
			ok=$((ok + 1))
		else
			[ "$(wc -l <"$TEST_ROOT/out$i")" -eq 1 ]
			grep -q "already exists" "$TEST_ROOT/out$i"
		fi
	done
	[ "$ok" -eq 1 ]
	[ "$(state_of c1 status)" = created ]
	[ "$(jq -r .init_pid "$TEU_ROOT/c1/resources.json")" = "$(state_of c1 pid)" ]
	teu start c1
	wait_for test -s "$SHARED/ran"
	[ "$(state_of c1 status)" = running ]
	PIDS=$(state_of c1 pid)
	teu delete --force c1
	nothing_left
}

@test "crash: start racing delete --force: either order, nothing left" {
	for i in 1 2 3 4 5; do
		teu create --bundle "$BUNDLE" c1
		PIDS=$(state_of c1 pid)
		teu_bg start c1
		st=$BG_PID
		teu_bg delete --force c1
		del=$BG_PID
		wait "$del"
		wait "$st" || true
		nothing_left
	done
}

# small_root OPTS: a tmpfs of our own as the state root.
small_root() {
	TEU_ROOT=$TEST_ROOT/small
	mkdir -p "$TEU_ROOT"
	mount -t tmpfs -o "$1" cs-state "$TEU_ROOT"
}

@test "crash: a full state root is one clear error, and nothing is left" {
	small_root size=64k,mode=700
	dd if=/dev/zero of="$TEU_ROOT/filler" bs=4k 2>/dev/null || true
	run teu create --bundle "$BUNDLE" c1
	assert_one_error_line
	[[ "$output" == *"no space left on device"* ]]
	[ "$(ls -A "$TEU_ROOT")" = filler ]
	[ -z "$(our_dirs)" ]
	[ -z "$(procs_in_test_root)" ]
	umount "$TEU_ROOT"
}

@test "crash: a read-only state root is one clear error, and nothing is left" {
	small_root ro,mode=700
	run teu create --bundle "$BUNDLE" c1
	assert_one_error_line
	[[ "$output" == *"read-only file system"* ]]
	[ -z "$(ls -A "$TEU_ROOT")" ]
	[ -z "$(our_dirs)" ]
	[ -z "$(procs_in_test_root)" ]
	umount "$TEU_ROOT"
}
