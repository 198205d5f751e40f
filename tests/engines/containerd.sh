#!/usr/bin/env bash
# containerd with teu as the runc v2 shim's runtime, driven by ctr: a
# private containerd (config, sockets, content, state under a temp dir; its
# CRI plugin off, so nothing listens on TCP), a locally built busybox image,
# and real containers. The CRI path is tests/engines/cri.sh.
source "$(dirname "$0")/lib.sh"
eng_setup
NS=teu-eng
IMG=teu.test/busybox:1

containerd_toml io.containerd.grpc.v1.cri >"$T/config.toml"
start_daemon containerd containerd --config "$T/config.toml"
wait_socket 30 "$T/containerd.sock"

ctr_() { ctr -a "$T/containerd.sock" -n "$NS" "$@"; }
busybox_image "$T/busybox.tar" "$IMG"
ctr_ images import "$T/busybox.tar" >/dev/null
on_exit 'for c in $(ctr_ tasks ls -q); do ctr_ tasks kill -s KILL $c; done; for c in $(ctr_ containers ls -q); do ctr_ tasks delete -f $c; ctr_ containers delete $c; done'

# crun ID [CTR-RUN-FLAGS...] -- CMD...: ctr run with teu as the runtime
# (the shim's BinaryName and Root), the container in this run's cgroup.
crun() {
	local id=$1 opts=()
	shift
	while [[ $1 != -- ]]; do opts+=("$1"); shift; done
	shift
	ctr_ run --runc-binary "$TEU" --runc-root "$T/teu" --fifo-dir "$T/fifo" --cgroup "/$CG_PARENT/$id" \
		"${opts[@]}" "$IMG" "$id" "$@"
}

# gone ID: nothing of container ID is left: no container, task, snapshot,
# teu state, mount or cgroup.
gone() {
	local id=$1
	! ctr_ containers ls -q | grep -qx "$id" || fail "container $id still listed"
	! ctr_ snapshots ls | grep -q "^$id " || fail "snapshot $id left"
	[[ ! -e $T/teu/$NS/$id ]] || fail "teu state $T/teu/$NS/$id left"
	! grep -q "/$id/" /proc/self/mountinfo || fail "mounts of $id left: $(grep "/$id/" /proc/self/mountinfo)"
	expect_no_cgroups "$id"
}

# wait_task ID STATUS: until ctr lists the task of ID with STATUS.
wait_task() { wait_until 10 sh -c "ctr -a $T/containerd.sock -n $NS tasks ls | grep -q '^$1 .*$2'"; }

# kill_rm ID: SIGKILL the task, wait until it stopped, delete task and container.
kill_rm() {
	ctr_ tasks kill -s KILL "$1"
	wait_task "$1" STOPPED
	ctr_ tasks delete "$1" >/dev/null
	ctr_ containers delete "$1"
}

cgfile() { echo "/sys/fs/cgroup/$1/$CG_PARENT/$2/$3"; }

run_output() {
	out=$(crun c-out --rm -- sh -c 'echo hello from $(cat /proc/1/comm); echo to-stderr >&2' 2>&1)
	expect_contains "$out" "hello from sh"
	expect_contains "$out" "to-stderr"
	gone c-out
}

exit_codes() {
	expect_status 0 crun c-e0 --rm -- true
	expect_status 7 crun c-e7 --rm -- sh -c 'exit 7'
	expect_status 1 crun c-e1 --rm -- false
	gone c-e7
}

detached_exec_top() {
	crun c-d -d -- sleep 1000
	wait_task c-d RUNNING
	out=$(ctr_ tasks exec --exec-id e1 c-d sh -c 'echo in $(hostname); cat /proc/1/comm')
	expect_contains "$out" "sleep" "exec's view of pid 1"
	expect_status 3 ctr_ tasks exec --exec-id e2 c-d sh -c 'exit 3'
	# ps: the shim asks teu (`teu ps --format json`) for the pids.
	pid=$(ctr_ tasks ls | awk '$1 == "c-d" { print $2 }')
	out=$(ctr_ tasks ps c-d)
	expect_contains "$out" "$pid" "tasks ps"
	kill_rm c-d
	gone c-d
}

stop_kill() {
	# TERM reaches a process that handles it; KILL ends one that ignores it.
	crun c-term -d -- sh -c 'trap "exit 42" TERM; while :; do sleep 0.1; done'
	wait_task c-term RUNNING
	sleep 0.3 # the trap is set once sh runs its loop: nothing signals that
	ctr_ tasks kill c-term
	wait_task c-term STOPPED
	out=$(ctr_ tasks delete c-term 2>&1 || true)
	ctr_ containers delete c-term
	crun c-kill -d -- sh -c 'trap "" TERM; while :; do sleep 0.1; done'
	wait_task c-kill RUNNING
	kill_rm c-kill
	gone c-term
	gone c-kill
}

pause_resume() {
	crun c-p -d -- sleep 1000
	wait_task c-p RUNNING
	ctr_ tasks pause c-p
	ctr_ tasks ls | grep -q '^c-p .*PAUSED' || fail "not PAUSED: $(ctr_ tasks ls)"
	expect_eq "$(cat "$(cgfile freezer c-p freezer.state)")" FROZEN freezer.state
	ctr_ tasks resume c-p
	ctr_ tasks ls | grep -q '^c-p .*RUNNING' || fail "not RUNNING: $(ctr_ tasks ls)"
	expect_eq "$(cat "$(cgfile freezer c-p freezer.state)")" THAWED freezer.state
	kill_rm c-p
	gone c-p
}

memory_oom() {
	# dd's 64 MiB buffer does not fit in 16 MiB: the OOM killer ends it.
	expect_status 137 crun c-oom --rm --memory-limit $((16 << 20)) -- dd if=/dev/zero of=/dev/null bs=64M count=1
	gone c-oom
}

cpu_limits() {
	crun c-cpu -d --cpus 0.5 --cpu-shares 512 -- sleep 1000
	wait_task c-cpu RUNNING
	expect_eq "$(cat "$(cgfile cpu c-cpu cpu.cfs_quota_us)")" 50000 cpu.cfs_quota_us
	expect_eq "$(cat "$(cgfile cpu c-cpu cpu.cfs_period_us)")" 100000 cpu.cfs_period_us
	expect_eq "$(cat "$(cgfile cpu c-cpu cpu.shares)")" 512 cpu.shares
	kill_rm c-cpu
	gone c-cpu
}

read_only() {
	expect_status 1 crun c-ro --rm --read-only -- touch /x
	expect_contains "$out" "Read-only file system"
	out=$(crun c-rw --rm -- sh -c 'touch /x && echo wrote')
	expect_eq "$out" wrote
}

env_cwd() {
	out=$(crun c-env --rm --env FOO=bar --cwd /tmp -- sh -c 'echo $FOO $(pwd)')
	expect_eq "$out" "bar /tmp"
}

tty() {
	# ctr -t needs a terminal of its own: script(1) gives it one.
	out=$(script -qec "ctr -a $T/containerd.sock -n $NS run --rm -t --runc-binary $TEU --runc-root $T/teu --fifo-dir $T/fifo --cgroup /$CG_PARENT/c-tty $IMG c-tty sh -c 'tty; [ -t 0 ] && echo stdin-is-a-tty'" /dev/null </dev/null)
	expect_contains "$out" "/dev/pts/0"
	expect_contains "$out" "stdin-is-a-tty"
	gone c-tty
}

caps_dropped() {
	# CAP_CHOWN is bit 0 of the bounding set.
	out=$(crun c-cap --rm --cap-drop CAP_CHOWN -- sh -c 'grep CapBnd /proc/self/status; chown 1 /tmp && echo chowned; true' 2>&1)
	expect_contains "$out" "Operation not permitted"
	[[ $out != *chowned* ]] || fail "chown worked without CAP_CHOWN: $out"
	bnd=$(awk '/CapBnd/ { print $2 }' <<<"$out")
	[[ $((0x$bnd & 1)) -eq 0 ]] || fail "CAP_CHOWN still in the bounding set: $bnd"
	out=$(crun c-cap2 --rm -- sh -c 'chown 1 /tmp && echo chowned')
	expect_eq "$out" chowned "chown with the default caps"
}

seccomp_on() {
	out=$(crun c-sec --rm --seccomp -- grep Seccomp: /proc/self/status)
	expect_contains "$out" "2" "Seccomp mode (2: filter)"
	# The default profile refuses what it does not list (e.g. unshare of a user ns without CAP_SYS_ADMIN).
	expect_status 1 crun c-sec2 --rm --seccomp -- unshare -U true
}

runtime_error() {
	# teu's own message, as running teu on a bundle shows it, reaches
	# ctr's user verbatim through the shim (teu --log FILE --log-format json).
	TEU=$TEU "$ENG_SRC/tests/integration/mkbundle.sh" "$T/b" >/dev/null
	jq '.process.terminal = false | .process.args = ["/nonexistent"]' "$T/b/config.json" >"$T/b/c.json" && mv "$T/b/c.json" "$T/b/config.json"
	want=$("$TEU" --root "$T/direct" run --bundle "$T/b" c-err 2>&1) && fail "teu ran /nonexistent"
	want=${want#teu: }
	[[ -n $want ]] || fail "teu printed no error"
	expect_status 1 crun c-err --rm -- /nonexistent
	expect_contains "$out" "$want" "ctr's error"
	gone c-err
}

ten_runs() {
	local start end
	start=$(date +%s.%N)
	for i in $(seq 1 10); do crun "c-ten$i" --rm -- true; done
	end=$(date +%s.%N)
	note "10 x ctr run --rm: $(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", e - s }') s"
	for i in $(seq 1 10); do gone "c-ten$i"; done
}

all_gone() {
	expect_eq "$(ctr_ containers ls -q)" "" "containers"
	expect_eq "$(ctr_ tasks ls -q)" "" "tasks"
	expect_eq "$(ls "$T/teu/$NS" 2>/dev/null)" "" "teu state dirs"
	expect_eq "$(awk -v t="$T/state/" 'index($5, t) == 1' /proc/self/mountinfo)" "" "rootfs mounts"
	expect_eq "$(for m in $(cg_mounts); do [[ -d $m/$CG_PARENT ]] && find "$m/$CG_PARENT" -mindepth 1 -type d; done)" "" "cgroups"
}

t "run and output" run_output
t "exit codes" exit_codes
t "detached run, exec, ps" detached_exec_top
t "stop (TERM) and kill" stop_kill
t "pause and resume" pause_resume
t "memory limit: OOM kill" memory_oom
t "cpu quota and shares" cpu_limits
t "read-only rootfs" read_only
t "env and working dir" env_cwd
t "a tty" tty
t "dropped capability" caps_dropped
t "seccomp active" seccomp_on
t "teu's error reaches ctr verbatim" runtime_error
t "ten run --rm" ten_runs
t "nothing left: containers, snapshots, cgroups" all_gone
eng_done
