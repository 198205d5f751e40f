#!/usr/bin/env bats
# checkpoint and restore with CRIU (docs/checkpoint.md): a counter saved,
# stopped and restored counting on; a terminal; a shell job; established
# TCP; pre-dump; a new id and bundle; cgroup limits, hooks, attached
# restore; and the bad inputs, which leave nothing behind. CRIU works only
# in the `make test-checkpoint` guest (tests/vm/checkpoint.sh); elsewhere
# the tests that need it skip, with the reason, and the failure tests run.
load helpers

eval "helpers_$(declare -f setup_file)"
setup_file() {
	helpers_setup_file
	# The guest has no Go: the lane builds the helpers into TEU_HELPERS.
	if [ -z "${TEU_HELPERS:-}" ]; then
		export TEU_HELPERS=$TEU_CACHE
		(cd "$TEU_SRC" && go build -o "$TEU_HELPERS/recvtty" ./tests/cmd/recvtty &&
			go build -o "$TEU_HELPERS/ptyrun" ./tests/cmd/ptyrun)
	fi
}

setup() {
	new_bundle
	DATA=$TEST_ROOT/data
	mkdir -p "$DATA"
	update_config ".mounts += [{\"destination\": \"/data\", \"type\": \"bind\", \"source\": \"$DATA\", \"options\": [\"rbind\"]}]"
	# Output the test reads goes to /data; the container's own stdio is
	# its /dev/null (CRIU cannot save a file of the host it has open).
	counter_args
	IMG=$TEST_ROOT/img
	WORK=$TEST_ROOT/work
}

eval "helpers_$(declare -f teardown)"
teardown() {
	local p
	for p in ${BG_PIDS:-}; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	# process groups this file started with setsid (a teu and its CRIU)
	for p in ${BG_PGIDS:-}; do
		kill -KILL -- "-$p" 2>/dev/null || true
	done
	# A restore that failed must not have left its cgroup or mounts.
	helpers_teardown
}

# criu_works: CRIU is installed and can checkpoint on this kernel.
criu_works() { command -v criu >/dev/null && criu check >/dev/null 2>&1; }

# criu_cause: the first error `criu check` reports, without its prefix
# (its log on stderr, whatever a CRIU configuration file says).
criu_cause() { criu check --log-file /dev/stderr 2>&1 | grep -m1 -o 'Error ([^)]*): .*' | sed 's/^Error ([^)]*): //'; }

requires_criu() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	command -v criu >/dev/null || skip "criu is not installed"
	criu_works || skip "criu cannot work on this kernel ($(criu_cause)); make test-checkpoint runs this in a guest where it does"
}

# counter_args [EXTRA]: the process counts in its memory, ten times a
# second, and writes each value to /data/cnt; EXTRA runs first.
counter_args() {
	set_args sh -c "exec </dev/null >/dev/null 2>&1; ${1:-} i=0; while :; do i=\$((i+1)); echo \$i >/data/cnt.new; mv /data/cnt.new /data/cnt; sleep 0.1; done"
}


cnt() { cat "$DATA/cnt" 2>/dev/null || echo 0; }

# wait_cnt_above N: until the counter passes N (bounded: 30 s).
wait_cnt_above() {
	local _
	for _ in $(seq 600); do
		[ "$(cnt)" -gt "$1" ] && return 0
		sleep 0.05
	done
	echo "counter stuck at $(cnt), want > $1" >&2
	return 1
}

pid_of() { teu state "$1" | jq -r .pid; }

# cgdir ID: the container's cgroup directory (cgroup v2: the one path).
cgdir() { jq -r '.cgroup_paths[""] // .cgroup_paths.pids' "$TEU_ROOT/$1/state.json"; }

# nothing_left ID: no state, no cgroup under CGPATH (if set), no criu-root
# mount, no process with ID's old pid.
nothing_left() {
	# Each check returns: called as `nothing_left ID || ...`, a failed
	# command in here would not stop the function (errexit is off there).
	run teu state "$1"
	[ "$status" -ne 0 ] || { echo "state of $1: $output" >&2; return 1; }
	[ ! -e "$TEU_ROOT/$1" ] || { echo "state dir of $1 left" >&2; return 1; }
	! grep -q criu-root /proc/self/mountinfo || { echo "criu-root mount left" >&2; return 1; }
	if [ -n "${CGPATH:-}" ]; then
		[ ! -e "$CGPATH" ] || { echo "cgroup $CGPATH left" >&2; return 1; }
	fi
}

# gone PID: PID has exited (at most a zombie waiting for its reaper).
gone() {
	[ ! -e "/proc/$1" ] || grep -q '^State:.*[ZX]' "/proc/$1/status"
}

@test "checkpoint: a counter is checkpointed, stops, and is restored counting on from where it was" {
	requires_criu
	teu run -d --bundle "$BUNDLE" criu-cnt
	wait_cnt_above 5
	pid=$(pid_of criu-cnt)
	cg=$(cgdir criu-cnt)
	[ -d "$cg" ]
	teu checkpoint --image-path "$IMG" --work-path "$WORK" criu-cnt
	# The container is gone: its processes, state and cgroup.
	gone "$pid"
	run teu state criu-cnt
	[ "$status" -ne 0 ]
	[ ! -d "$cg" ]
	[ -e "$IMG/inventory.img" ]
	[ -e "$IMG/descriptors.json" ]
	[ -e "$WORK/dump.log" ]
	v1=$(cnt)
	sleep 0.5 # nothing to wait for: it must not count
	[ "$(cnt)" = "$v1" ]

	teu restore -d --bundle "$BUNDLE" --image-path "$IMG" --work-path "$WORK" criu-cnt
	[ "$(teu state criu-cnt | jq -r .status)" = running ]
	# It counts on from its memory, not from 1.
	wait_cnt_above "$v1"
	v2=$(cnt)
	[ "$v2" -gt "$v1" ]
	[ "$v2" -lt $((v1 + 200)) ]
	# A normal container: pid, cgroup recorded and holding it, exec, kill, delete.
	pid=$(pid_of criu-cnt)
	cg=$(cgdir criu-cnt)
	grep -qx "$pid" "$cg/cgroup.procs"
	[ "$(teu exec criu-cnt cat /proc/1/cmdline | tr '\0' ' ')" = "$(tr '\0' ' ' <"/proc/$pid/cmdline")" ]
	teu kill criu-cnt KILL
	wait_status criu-cnt stopped
	teu delete criu-cnt
	[ ! -d "$cg" ]
	[ ! -e "$TEU_ROOT/criu-cnt" ]
}

@test "checkpoint: restore under a new id, from another bundle with other sources, in its cgroup with its limits" {
	requires_criu
	update_config '.linux.cgroupsPath = "/criu-bats-a" | .linux.resources.pids = {"limit": 64}'
	teu run -d --bundle "$BUNDLE" criu-a
	wait_cnt_above 3
	teu checkpoint --image-path "$IMG" criu-a
	[ ! -d /sys/fs/cgroup/criu-bats-a ]
	v1=$(cnt)
	# Another bundle: a copy of the rootfs with a marker, /data from
	# another directory, another cgroup with another limit.
	B2=$TEST_ROOT/bundle2
	cp -a "$BUNDLE" "$B2"
	echo here >"$B2/rootfs/marker"
	mkdir "$TEST_ROOT/data2"
	cp "$DATA/cnt" "$TEST_ROOT/data2/cnt"
	jq --arg d "$TEST_ROOT/data2" '(.mounts[] | select(.destination == "/data") | .source) = $d
		| .linux.cgroupsPath = "/criu-bats-b" | .linux.resources.pids.limit = 77' "$BUNDLE/config.json" >"$B2/config.json"
	CGPATH=/sys/fs/cgroup/criu-bats-b
	teu restore -d --bundle "$B2" --image-path "$IMG" criu-b
	[ "$(teu state criu-b | jq -r .bundle)" = "$B2" ]
	[ "$(teu exec criu-b cat /marker)" = here ]
	DATA=$TEST_ROOT/data2 wait_cnt_above "$v1"
	[ "$(cnt)" = "$v1" ] # the old source is left alone
	[ "$(cgdir criu-b)" = "$CGPATH" ]
	[ "$(cat "$CGPATH/pids.max")" = 77 ]
	grep -qx "$(pid_of criu-b)" "$CGPATH/cgroup.procs"
	[ ! -d /sys/fs/cgroup/criu-bats-a ]
	teu delete -f criu-b
	nothing_left criu-b
}

@test "checkpoint: a terminal: the restored process's new pty master goes to the console socket" {
	requires_criu
	update_config '.process.terminal = true'
	set_args sh -c 'i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 0.1; done'
	SOCK=$TEST_ROOT/tty1.sock
	"$TEU_HELPERS/recvtty" -ready "$TEST_ROOT/ready1" "$SOCK" >"$TEST_ROOT/tty1.out" 2>"$TEST_ROOT/tty1.err" &
	r1=$!
	BG_PIDS="$r1"
	for _ in $(seq 200); do [ -e "$TEST_ROOT/ready1" ] && break; sleep 0.02; done
	teu run -d --console-socket "$SOCK" --bundle "$BUNDLE" criu-tty
	for _ in $(seq 600); do grep -q "tick 5" "$TEST_ROOT/tty1.out" && break; sleep 0.05; done
	grep -q "tick 5" "$TEST_ROOT/tty1.out"
	teu checkpoint --image-path "$IMG" criu-tty
	# The old terminal is closed by all: the first receiver is done.
	wait "$r1"
	last=$(tr -d '\r' <"$TEST_ROOT/tty1.out" | grep -o 'tick [0-9]*' | tail -n1 | cut -d' ' -f2)

	SOCK=$TEST_ROOT/tty2.sock
	"$TEU_HELPERS/recvtty" -ready "$TEST_ROOT/ready2" "$SOCK" >"$TEST_ROOT/tty2.out" 2>"$TEST_ROOT/tty2.err" &
	r2=$!
	BG_PIDS="$r2"
	for _ in $(seq 200); do [ -e "$TEST_ROOT/ready2" ] && break; sleep 0.02; done
	teu restore -d --bundle "$BUNDLE" --console-socket "$SOCK" --image-path "$IMG" criu-tty
	next=$((last + 3))
	for _ in $(seq 600); do grep -q "tick $next" "$TEST_ROOT/tty2.out" && break; sleep 0.05; done
	cat "$TEST_ROOT/tty2.err"
	grep -q "tick $next" "$TEST_ROOT/tty2.out"
	# It went on from where it was: nothing restarted at 1.
	refute grep -qx "tick 1" < <(tr -d '\r' <"$TEST_ROOT/tty2.out")
	teu delete -f criu-tty
	wait "$r2"
}

@test "checkpoint: --shell-job: a process on a terminal it does not own goes on on restore's terminal" {
	requires_criu
	set_args sh -c 'i=0; while :; do i=$((i+1)); echo "job $i"; sleep 0.1; done'
	# Its stdio is a terminal from outside, as a shell's job has: teu
	# declares it external to CRIU and restore gives it its own.
	"$TEU_HELPERS/ptyrun" "$TEST_ROOT/pty1.out" "$TEU_BIN" --root "$TEU_ROOT" run -d --bundle "$BUNDLE" criu-job &
	p1=$!
	BG_PIDS="$p1"
	for _ in $(seq 600); do grep -q "job 5" "$TEST_ROOT/pty1.out" 2>/dev/null && break; sleep 0.05; done
	grep -q "job 5" "$TEST_ROOT/pty1.out"
	teu checkpoint --shell-job --image-path "$IMG" criu-job
	grep -q '"tty\[' "$IMG/descriptors.json"
	# The old terminal is closed by all: the first ptyrun is done.
	wait "$p1"
	last=$(tr -d '\r' <"$TEST_ROOT/pty1.out" | grep -o 'job [0-9]*' | tail -n1 | cut -d' ' -f2)
	"$TEU_HELPERS/ptyrun" "$TEST_ROOT/pty2.out" "$TEU_BIN" --root "$TEU_ROOT" restore -d --shell-job --bundle "$BUNDLE" --image-path "$IMG" criu-job &
	p2=$!
	BG_PIDS="$p2"
	next=$((last + 3))
	for _ in $(seq 600); do grep -q "job $next" "$TEST_ROOT/pty2.out" 2>/dev/null && break; sleep 0.05; done
	cat "$TEST_ROOT/pty2.out"
	grep -q "job $next" "$TEST_ROOT/pty2.out"
	refute grep -qx "job 1" < <(tr -d '\r' <"$TEST_ROOT/pty2.out")
	teu delete -f criu-job
	wait "$p2"
}

@test "checkpoint: an established TCP connection needs --tcp-established, and survives with it" {
	requires_criu
	# A server and a client in the container's own network namespace,
	# connected over lo: the client sends 1, 2, 3... the server stores them.
	# (one argument, newlines kept: set_args makes one of each line)
	set_args sh -c 'exec </dev/null >/dev/null 2>&1
		nc -l -p 5000 -e sh -c "exec cat >/data/recv" &
		until grep -q ":1388 [0-9A-F]*:0000 0A" /proc/net/tcp /proc/net/tcp6; do sleep 0.1; done
		i=0; while :; do i=$((i+1)); echo $i; sleep 0.1; done | nc 127.0.0.1 5000
		echo "client exited: $?" >/data/client
		exec sleep 100000'
	teu run -d --bundle "$BUNDLE" criu-tcp
	for _ in $(seq 600); do [ "$(tail -n1 "$DATA/recv" 2>/dev/null || echo 0)" -gt 5 ] && break; sleep 0.05; done
	if ! [ "$(tail -n1 "$DATA/recv" 2>/dev/null || echo 0)" -gt 5 ]; then
		# what the container's network looks like, for the failure
		cat "$DATA/client" 2>/dev/null || true
		teu exec criu-tcp sh -c 'ip addr; cat /proc/net/tcp /proc/net/tcp6; ps' || true
		false
	fi
	run teu checkpoint --image-path "$IMG" criu-tcp
	echo "$output"
	assert_one_error_line
	[[ "$output" == *"tcp-established"* ]]
	[ "$(teu state criu-tcp | jq -r .status)" = running ]
	teu checkpoint --tcp-established --image-path "$IMG" criu-tcp
	v1=$(tail -n1 "$DATA/recv")
	teu restore -d --tcp-established --bundle "$BUNDLE" --image-path "$IMG" criu-tcp
	for _ in $(seq 600); do [ "$(tail -n1 "$DATA/recv")" -gt $((v1 + 3)) ] && break; sleep 0.05; done
	teu delete -f criu-tcp
	# Nothing writes now. The same connection: the numbers went on past
	# the checkpoint, every one once, in order (1..N exactly).
	n=$(tail -n1 "$DATA/recv")
	[ "$n" -gt $((v1 + 3)) ]
	seq 1 "$n" | diff - "$DATA/recv"
}

@test "checkpoint: --pre-dump leaves it running; the final dump names it with --parent-path" {
	requires_criu
	teu run -d --bundle "$BUNDLE" criu-pre
	wait_cnt_above 3
	teu checkpoint --pre-dump --image-path "$TEST_ROOT/parent" criu-pre
	[ "$(teu state criu-pre | jq -r .status)" = running ]
	v0=$(cnt)
	wait_cnt_above "$v0"
	[ -n "$(ls "$TEST_ROOT/parent"/pages-*.img)" ]
	teu checkpoint --parent-path ../parent --image-path "$IMG" criu-pre
	[ -L "$IMG/parent" ]
	[ "$(readlink "$IMG/parent")" = ../parent ]
	v1=$(cnt)
	teu restore -d --bundle "$BUNDLE" --image-path "$IMG" criu-pre
	wait_cnt_above "$v1"
	[ "$(cnt)" -lt $((v1 + 200)) ]
	teu delete -f criu-pre
}

@test "checkpoint: --lazy-pages: once the pages wait for a taker, kill and delete --force do not wait for it" {
	requires_criu
	teu run -d --bundle "$BUNDLE" criu-lazy
	wait_cnt_above 3
	pid=$(pid_of criu-lazy)
	fifo=$TEST_ROOT/ready
	mkfifo "$fifo"
	exec {ready}<>"$fifo"
	# Nobody ever fetches the pages: CRIU would serve them forever. Its own
	# process group, so that teardown ends it and its CRIU whatever happens.
	setsid timeout 300 "$TEU_BIN" --root "$TEU_ROOT" checkpoint --lazy-pages --page-server 127.0.0.1:27278 --status-fd 3 \
		--image-path "$IMG" --work-path "$WORK" criu-lazy 3>"$fifo" </dev/null >"$TEST_ROOT/ckpt.out" 2>&1 &
	cpt=$!
	BG_PGIDS=$cpt
	# The status byte says the dump is done (bounded: a slow guest).
	st=0
	timeout 120 dd bs=1 count=1 status=none of="$TEST_ROOT/byte" <&"$ready" || st=$?
	exec {ready}<&-
	[ "$st" = 0 ] && [ "$(od -An -tx1 "$TEST_ROOT/byte" | tr -d ' ')" = 00 ] || { cat "$TEST_ROOT/ckpt.out"; false; }
	[ -e "$IMG/inventory.img" ]
	# CRIU, which holds the processes, is recorded for delete --force.
	criu=$(jq -r .criu_pid "$TEU_ROOT/criu-lazy/state.json")
	[ "$(grep TracerPid "/proc/$pid/status" | cut -f2)" = "$criu" ]
	# The lock is free: these return instead of waiting for the pages.
	run timeout 30 "$TEU_BIN" --root "$TEU_ROOT" kill criu-lazy KILL
	echo "kill: $status $output"
	[ "$status" -eq 0 ]
	run timeout 60 "$TEU_BIN" --root "$TEU_ROOT" delete --force criu-lazy
	echo "delete: $status $output"
	[ "$status" -eq 0 ]
	nothing_left criu-lazy
	gone "$pid"
	gone "$criu"
	# The migration is over: the checkpoint says why, and ends.
	st=0
	wait "$cpt" || st=$?
	cat "$TEST_ROOT/ckpt.out"
	[ "$st" = 1 ]
	grep -q "checkpoint criu-lazy: .*(the container was deleted meanwhile)" "$TEST_ROOT/ckpt.out"
}

@test "checkpoint: restore attached forwards signals, exits with the container's status and deletes it" {
	requires_criu
	counter_args "trap 'exit 3' TERM;"
	teu run -d --bundle "$BUNDLE" criu-att
	wait_cnt_above 3
	teu checkpoint --image-path "$IMG" criu-att
	# teu itself, not the shell function: the signal must reach it.
	"$TEU_BIN" --root "$TEU_ROOT" restore --bundle "$BUNDLE" --image-path "$IMG" criu-att </dev/null >"$TEST_ROOT/restore.out" 2>&1 &
	rp=$!
	BG_PIDS="$rp"
	wait_status criu-att running
	kill -TERM "$rp"
	st=0
	wait "$rp" || st=$?
	cat "$TEST_ROOT/restore.out"
	echo "restore exited $st"
	[ "$st" = 3 ]
	[ ! -e "$TEU_ROOT/criu-att" ]
}

@test "checkpoint: prestart and createRuntime hooks run on restore, told the restored init's pid" {
	requires_criu
	hooks=$(jq -nc --arg d "$TEST_ROOT" '{prestart: [{path: "/bin/sh", args: ["sh", "-c", "cat >\($d)/prestart.json"]}],
		createRuntime: [{path: "/bin/sh", args: ["sh", "-c", "cat >\($d)/createRuntime.json"]}]}')
	update_config ".hooks = $hooks"
	teu run -d --bundle "$BUNDLE" criu-hook
	wait_cnt_above 3
	teu checkpoint --image-path "$IMG" criu-hook
	rm "$TEST_ROOT/prestart.json" "$TEST_ROOT/createRuntime.json"
	teu restore -d --bundle "$BUNDLE" --image-path "$IMG" criu-hook
	pid=$(pid_of criu-hook)
	[ "$(jq -r .pid "$TEST_ROOT/prestart.json")" = "$pid" ]
	[ "$(jq -r .pid "$TEST_ROOT/createRuntime.json")" = "$pid" ]
	[ "$(jq -r .id "$TEST_ROOT/createRuntime.json")" = criu-hook ]
	teu delete -f criu-hook
}

@test "checkpoint: a restore whose hook fails leaves nothing: no process, cgroup, state or mount" {
	requires_criu
	update_config '.linux.cgroupsPath = "/criu-bats-hookfail"'
	teu run -d --bundle "$BUNDLE" criu-hf
	wait_cnt_above 3
	teu checkpoint --image-path "$IMG" criu-hf
	v1=$(cnt)
	update_config '.hooks.createRuntime = [{"path": "/bin/false"}]'
	CGPATH=/sys/fs/cgroup/criu-bats-hookfail
	run teu restore -d --bundle "$BUNDLE" --image-path "$IMG" criu-hf
	echo "$output"
	assert_one_error_line
	[[ "$output" == *createRuntime* ]]
	nothing_left criu-hf
	sleep 0.5 # nothing to wait for: nothing may count
	[ "$(cnt)" = "$v1" ]
}

# checkpointed_in ID CGROUP: ID runs in cgroup CGROUP and is checkpointed
# to $IMG, for the restore fault walks below.
checkpointed_in() {
	update_config ".linux.cgroupsPath = \"/$2\""
	CGPATH=/sys/fs/cgroup/$2
	teu run -d --bundle "$BUNDLE" "$1"
	wait_cnt_above 3
	teu checkpoint --image-path "$IMG" "$1"
}

# deleted_after_fault ID PID WHEN: delete --force removes all a killed
# restore of ID left: state, cgroup, and its init PID (0: none recorded).
deleted_after_fault() {
	run teu delete --force "$1"
	[ "$status" -eq 0 ] || {
		echo "after $3: delete --force: $output" >&2
		return 1
	}
	nothing_left "$1" || {
		echo "after $3" >&2
		return 1
	}
	[ "$2" = 0 ] || gone "$2"
}

# restore's fault-injection hook (TEU_TEST_RESTORE_FAULT=N, as create's in
# crash.bats): kill it after its Nth step, N = 1, 2, ... until one gets
# through. After each, delete --force removes everything: state, cgroup and
# whatever CRIU had restored.
@test "checkpoint: a restore killed after any of its steps leaves nothing delete --force does not remove" {
	requires_criu
	checkpointed_in criu-k criu-bats-killed
	steps=
	for n in $(seq 1 20); do
		st=0
		# Its own process group, which teardown kills if the test fails.
		setsid env TEU_TEST_RESTORE_FAULT="$n" "$TEU_BIN" --root "$TEU_ROOT" restore -d --bundle "$BUNDLE" \
			--image-path "$IMG" criu-k </dev/null >"$TEST_ROOT/out" 2>&1 &
		BG_PGIDS+=" $!"
		wait "$!" || st=$?
		[ "$st" -eq 0 ] && break
		cat "$TEST_ROOT/out"
		[ "$st" -eq 137 ]
		steps+="$(sed -n 's/^teu: TEU_TEST_RESTORE_FAULT: killed after step [0-9]* (\(.*\))$/\1/p' "$TEST_ROOT/out")|"
		pid=$(jq -r '.init_pid // 0' "$TEU_ROOT/criu-k/state.json")
		deleted_after_fault criu-k "$pid" "step $n ($steps)"
	done
	echo "steps: $steps"
	[ "$st" -eq 0 ]
	[ "$steps" = "state saved|cgroup recorded|cgroup made|namespaces set up|init recorded|" ]
	[ "$(teu state criu-k | jq -r .status)" = running ]
	v=$(cnt)
	wait_cnt_above "$v"
	teu delete -f criu-k
	nothing_left criu-k
}

# The same walk with N:stop: while restore is stopped after a step, state
# and list say creating (or that there is no container yet), never stopped;
# then it is killed and delete --force removes everything.
@test "checkpoint: a restore stopped after any of its steps is creating, never stopped; killed, it is deleted" {
	requires_criu
	checkpointed_in criu-s criu-bats-stopped
	for n in $(seq 1 20); do
		setsid env TEU_TEST_RESTORE_FAULT="$n:stop" "$TEU_BIN" --root "$TEU_ROOT" restore -d --bundle "$BUNDLE" \
			--image-path "$IMG" criu-s </dev/null >"$TEST_ROOT/out" 2>&1 &
		rs=$!
		BG_PGIDS+=" $rs"
		# Until it stops or exits (bounded: a slow guest).
		for _ in $(seq 600); do
			[ "$(awk '{print $3}' "/proc/$rs/stat" 2>/dev/null)" != T ] || break
			gone "$rs" && break
			sleep 0.05
		done
		if gone "$rs"; then
			wait "$rs" # it got through
			break
		fi
		step=$(cat "$TEST_ROOT/out")
		run teu state criu-s
		if [ "$status" -eq 0 ]; then
			st=$(jq -r .status <<<"$output")
			[ "$st" = creating ] || {
				echo "$step: state says $st" >&2
				return 1
			}
			[ "$(teu list -f json | jq -r '.[0].status')" = creating ]
		else
			[[ "$output" == *"does not exist"* ]] || {
				echo "$step: $output" >&2
				return 1
			}
		fi
		pid=$(jq -r '.init_pid // 0' "$TEU_ROOT/criu-s/state.json" 2>/dev/null || echo 0)
		kill -9 "$rs"
		wait "$rs" || true
		deleted_after_fault criu-s "$pid" "$step"
	done
	# Every step was stopped at, and the restore after the last got through.
	[ "$n" -eq 6 ]
	[ "$(teu state criu-s | jq -r .status)" = running ]
	teu delete -f criu-s
	nothing_left criu-s
}

@test "checkpoint: a corrupt image is one error and leaves nothing" {
	command -v criu >/dev/null || skip "criu is not installed"
	[ "$(id -u)" = 0 ] || skip "needs root"
	mkdir -p "$IMG"
	echo garbage >"$IMG/inventory.img"
	echo '["pipe:[1]", "/dev/null", "/dev/null"]' >"$IMG/descriptors.json"
	update_config '.linux.cgroupsPath = "/criu-bats-corrupt"'
	CGPATH=/sys/fs/cgroup/criu-bats-corrupt
	run teu restore -d --bundle "$BUNDLE" --image-path "$IMG" criu-bad
	echo "$output"
	assert_one_error_line
	[[ "$output" == *"criu restore failed"* ]]
	nothing_left criu-bad
	for d in /sys/fs/cgroup/*/criu-bats-corrupt; do [ ! -e "$d" ]; done
}

@test "checkpoint: a failed dump leaves the container running and its state untouched" {
	command -v criu >/dev/null || skip "criu is not installed"
	[ "$(id -u)" = 0 ] || skip "needs root"
	# Its stdout is a file of the host's, which CRIU cannot save (and on a
	# kernel CRIU cannot use, the dump fails anyway).
	set_args sh -c 'i=0; while :; do i=$((i+1)); echo $i >/data/cnt.new; mv /data/cnt.new /data/cnt; echo $i; sleep 0.1; done'
	teu run -d --bundle "$BUNDLE" criu-fail >"$TEST_ROOT/host.out" </dev/null 2>&1
	wait_cnt_above 3
	before=$(cat "$TEU_ROOT/criu-fail/state.json")
	run teu checkpoint --image-path "$IMG" criu-fail
	echo "$output"
	assert_one_error_line
	[[ "$output" == *"criu dump failed: "*"(log: $IMG/dump.log)" ]]
	[ "$(teu state criu-fail | jq -r .status)" = running ]
	[ "$(cat "$TEU_ROOT/criu-fail/state.json")" = "$before" ]
	v=$(cnt)
	wait_cnt_above "$v"
	teu delete -f criu-fail
}

@test "checkpoint: on a kernel CRIU cannot use, one error naming the cause; the container runs on" {
	command -v criu >/dev/null || skip "criu is not installed"
	[ "$(id -u)" = 0 ] || skip "needs root"
	! criu_works || skip "criu works on this kernel (this test is for one where it does not, as the development host)"
	teu run -d --bundle "$BUNDLE" criu-kern
	wait_cnt_above 3
	run teu checkpoint --image-path "$IMG" criu-kern
	echo "$output"
	assert_one_error_line
	[[ "$output" == *"criu dump failed"* ]]
	[ "$(teu state criu-kern | jq -r .status)" = running ]
	v=$(cnt)
	wait_cnt_above "$v"
}

@test "checkpoint: without criu on PATH, one error; nothing changes" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	teu run -d --bundle "$BUNDLE" criu-path
	wait_cnt_above 1
	mkdir -p "$IMG"
	run env PATH=/nonexistent "$TEU_BIN" --root "$TEU_ROOT" checkpoint --image-path "$IMG" criu-path
	echo "$output"
	assert_one_error_line
	[[ "$output" == *"criu not found in PATH"* ]]
	[ "$(teu state criu-path | jq -r .status)" = running ]
	touch "$IMG/inventory.img"
	echo '[]' >"$IMG/descriptors.json"
	run env PATH=/nonexistent "$TEU_BIN" --root "$TEU_ROOT" restore -d --bundle "$BUNDLE" --image-path "$IMG" criu-path2
	echo "$output"
	assert_one_error_line
	[[ "$output" == *"criu not found in PATH"* ]]
	[ ! -e "$TEU_ROOT/criu-path2" ]
}

@test "checkpoint: bad flags and states are one error each; the container runs on" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	teu create --bundle "$BUNDLE" criu-created
	run teu checkpoint --image-path "$IMG" criu-created
	echo "$output"
	assert_one_error_line
	[[ "$output" == *"created container cannot be checkpointed"* ]]
	[ "$(teu state criu-created | jq -r .status)" = created ]
	teu delete -f criu-created

	teu run -d --bundle "$BUNDLE" criu-flags
	wait_cnt_above 1
	for args in "--parent-path /abs" "--manage-cgroups-mode bogus" "--empty-ns pid" "--lazy-pages" \
		"--page-server nope" "--page-server 1.2.3.4:0" "--status-fd 99 --lazy-pages --page-server 127.0.0.1:27000"; do
		# shellcheck disable=SC2086
		run teu checkpoint $args --image-path "$IMG" criu-flags
		echo "$args: $output"
		assert_one_error_line
	done
	# needs criu to answer: the parent directory is checked after it
	if command -v criu >/dev/null; then
		run teu checkpoint --parent-path ../nope --image-path "$IMG" criu-flags
		echo "$output"
		assert_one_error_line
		[[ "$output" == *"--parent-path"* ]]
	fi
	[ "$(teu state criu-flags | jq -r .status)" = running ]
	v=$(cnt)
	wait_cnt_above "$v"
}

@test "checkpoint: restore refuses a missing or empty image directory and an id in use, leaving nothing" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	run teu restore -d --bundle "$BUNDLE" --image-path "$TEST_ROOT/nope" criu-r1
	echo "$output"
	assert_one_error_line
	[[ "$output" == *"$TEST_ROOT/nope does not exist"* ]]
	[ ! -e "$TEU_ROOT/criu-r1" ]
	mkdir "$IMG"
	run teu restore -d --bundle "$BUNDLE" --image-path "$IMG" criu-r1
	echo "$output"
	assert_one_error_line
	[[ "$output" == *"no inventory.img"* ]]
	[ ! -e "$TEU_ROOT/criu-r1" ]

	teu run -d --bundle "$BUNDLE" criu-r2
	wait_cnt_above 1
	pid=$(pid_of criu-r2)
	touch "$IMG/inventory.img"
	run teu restore -d --bundle "$BUNDLE" --image-path "$IMG" criu-r2
	echo "$output"
	assert_one_error_line
	[[ "$output" == *"already exists"* ]]
	[ "$(pid_of criu-r2)" = "$pid" ]
	[ "$(teu state criu-r2 | jq -r .status)" = running ]
}
