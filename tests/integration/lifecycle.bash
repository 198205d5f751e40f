# Helpers for the lifecycle and bad-input tests (create, start, state, kill,
# delete, list, spec, errors, lock). Load after helpers:
#	load helpers
#	load lifecycle

# Keep the shared teardown as helpers_teardown and run ours around it.
eval "helpers_$(declare -f teardown)"

# Pids a test started itself (background teu processes, hook sleepers): the
# teardown kills exactly these, and nothing else.
OWN_PIDS=()

# own_pid PID: kill PID in teardown if it is still around.
own_pid() {
	OWN_PIDS+=("$1")
}

# own_pid_file FILE: kill the pid written in FILE in teardown.
own_pid_file() {
	OWN_PID_FILES+=("$1")
}
OWN_PID_FILES=()

teardown() {
	local p f
	for f in "${OWN_PID_FILES[@]}"; do
		[ -s "$f" ] && OWN_PIDS+=("$(cat "$f")")
	done
	for p in "${OWN_PIDS[@]}"; do
		[ -n "$p" ] && kill -9 "$p" 2>/dev/null
	done
	helpers_teardown
}

# teu_bg ARGS: run teu in the background; sets BG_PID.
teu_bg() {
	"$TEU_BIN" --root "$TEU_ROOT" "$@" &
	BG_PID=$!
	own_pid "$BG_PID"
}

# state_of ID FIELD: one field of `teu state ID`.
state_of() {
	teu state "$1" | jq -r ".$2"
}

# wait_for CMD...: run CMD until it succeeds, for at most 10s.
wait_for() {
	for _ in $(seq 1 200); do
		"$@" && return 0
		sleep 0.05
	done
	echo "timed out waiting for: $*" >&2
	return 1
}

# pid_gone PID[:START]: the process PID is gone (or a zombie); with START
# (field 22 of its stat, as teu records it), so is one that has the pid but
# started at another time.
pid_gone() {
	local pid=${1%%:*} start=
	[[ $1 == *:* ]] && start=${1#*:}
	[ ! -e "/proc/$pid" ] && return 0
	# (comm may hold spaces: the fields after its ")" are counted.)
	local stat
	stat=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null) || return 0
	# shellcheck disable=SC2086 # split into stat's fields
	set -- $stat
	[ "$1" = Z ] && return 0
	# Field 22 (the 20th after comm): another process that got the pid
	# (pid_max is 32768 on some hosts) is not the one asked about.
	[ -n "$start" ] && [ "${20}" != "$start" ]
}

# procs_in_test_root: pids of processes (not this shell and its parents)
# whose root, cwd or an open fd is under $TEST_ROOT: what a failed create
# would leave behind (an init holds the state dir's exec.fifo; after pivot
# its root is the rootfs).
procs_in_test_root() {
	local p skip=" $$ $BASHPID $PPID "
	for p in $(find /proc/[0-9]*/fd /proc/[0-9]*/cwd /proc/[0-9]*/root -maxdepth 1 \
		-lname "$TEST_ROOT*" 2>/dev/null | cut -d/ -f3 | sort -un); do
		[[ $skip == *" $p "* ]] || echo "$p"
	done
}

# mounts_in_test_root: host mounts under $TEST_ROOT.
mounts_in_test_root() {
	grep -F " $TEST_ROOT" /proc/self/mountinfo || true
}

# assert_nothing_left ID: no state dir, no process, no mount of the test.
assert_nothing_left() {
	local id=$1
	case $id in
	*/* | . | .. | "" | *$'\n'*)
		# Not a name: nothing at all may be under the root.
		if [ -n "$(ls -A "$TEU_ROOT" 2>/dev/null)" ]; then
			echo "left under $TEU_ROOT: $(ls -A "$TEU_ROOT")" >&2
			return 1
		fi
		;;
	esac
	if [[ $id =~ ^[A-Za-z0-9_+-][A-Za-z0-9_.+-]*$ ]] && [ -e "$TEU_ROOT/$id" ]; then
		echo "state dir $TEU_ROOT/$id left behind: $(ls -la "$TEU_ROOT/$id")" >&2
		return 1
	fi
	local procs
	procs=$(procs_in_test_root)
	if [ -n "$procs" ]; then
		echo "processes left behind: $(for p in $procs; do tr '\0' ' ' <"/proc/$p/cmdline"; echo " ($p)"; done)" >&2
		return 1
	fi
	local m
	m=$(mounts_in_test_root)
	if [ -n "$m" ]; then
		echo "mounts left behind: $m" >&2
		return 1
	fi
}

# share_dir: bind $TEST_ROOT/shared (on the host) at /shared in the
# container, for the container to leave evidence in.
share_dir() {
	SHARED=$TEST_ROOT/shared
	mkdir -p "$SHARED"
	update_config ".mounts += [{\"destination\": \"/shared\", \"type\": \"bind\", \"source\": \"$SHARED\", \"options\": [\"rbind\", \"rw\"]}]"
}

# now_ms: a monotonic-enough wall clock in milliseconds (bash's own: no
# date(1) that knows %N needed, e.g. in the busybox guest).
now_ms() {
	local t=${EPOCHREALTIME//[.,]/}
	echo $((t / 1000))
}
