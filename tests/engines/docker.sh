#!/usr/bin/env bash
# Docker (Debian's docker.io: dockerd and its client, by path) with teu as
# its default runtime (daemon.json "runtimes"): a private dockerd (its
# socket, data, exec root, key and its own containerd under a temp dir; no
# TCP, no bridge, no iptables; containers with --network none), a busybox
# image loaded from a hand-built archive, and the scenarios a user runs.
source "$(dirname "$0")/lib.sh"
eng_setup
DOCKERD=${DOCKERD:-/usr/sbin/dockerd}
DOCKER=${DOCKER:-/usr/bin/docker} # the docker.io client, not another one on PATH
IMG=teu.test/busybox:1
export DOCKER_CONFIG=$T/client

cat >"$T/daemon.json" <<JSON
{
  "runtimes": {"teu": {"path": "$TEU"}},
  "default-runtime": "teu",
  "exec-opts": ["native.cgroupdriver=cgroupfs"],
  "cgroup-parent": "/$CG_PARENT",
  "hosts": ["unix://$T/docker.sock"],
  "data-root": "$T/data",
  "exec-root": "$T/exec",
  "pidfile": "$T/dockerd.pid.file",
  "deprecated-key-path": "$T/key.json",
  "bridge": "none",
  "iptables": false,
  "ip-forward": false,
  "ip-masq": false
}
JSON
start_daemon dockerd "$DOCKERD" --config-file "$T/daemon.json"
wait_socket 60 "$T/docker.sock"
docker_() { "$DOCKER" -H "unix://$T/docker.sock" "$@"; }
wait_until 60 docker_ version
busybox_image "$T/busybox.tar" "$IMG"
docker_ load -i "$T/busybox.tar" >/dev/null
on_exit 'docker_ rm -f $(docker_ ps -aq)'
# teu's state: the shim runs it with --root <exec-root>/runtime-teu/moby.
TEU_ROOT=$T/exec/runtime-teu/moby

# drun ARGS...: docker run --network none ARGS.
drun() { docker_ run --network none "$@"; }

# gone ID: nothing of container ID is left: no container, teu state,
# mount or cgroup.
gone() {
	local id=$1
	[[ -n $id ]] || fail "no container id"
	! docker_ ps -aq --no-trunc | grep -qx "$id" || fail "container $id still listed"
	[[ ! -e $TEU_ROOT/$id ]] || fail "teu state $TEU_ROOT/$id left"
	! grep -q "$id" /proc/self/mountinfo || fail "mounts of $id left: $(grep "$id" /proc/self/mountinfo)"
	expect_no_cgroups "$id"
}

cgfile() { echo "/sys/fs/cgroup/$1/$CG_PARENT/$2/$3"; }
running() { [[ $(docker_ inspect -f '{{.State.Running}}' "$1" 2>/dev/null) == true ]]; }

run_output() {
	out=$(drun --rm --cidfile "$T/out.cid" "$IMG" sh -c 'echo hello from $(cat /proc/1/comm); echo to-stderr >&2' 2>&1)
	expect_contains "$out" "hello from sh"
	expect_contains "$out" "to-stderr"
	# stdin reaches the container (-i).
	out=$(echo piped-in | drun --rm -i "$IMG" cat)
	expect_eq "$out" piped-in "stdin"
	gone "$(cat "$T/out.cid")"
}

exit_codes() {
	expect_status 0 drun --rm "$IMG" true
	expect_status 7 drun --rm "$IMG" sh -c 'exit 7'
	expect_status 1 drun --rm "$IMG" false
	# Docker's own code for a command it cannot run: 127 (not found), from teu's error.
	expect_status 127 drun --rm "$IMG" /nonexistent
}

detached_exec_top() {
	id=$(drun -d "$IMG" sh -c 'echo started; exec sleep 1000')
	wait_until 20 running "$id"
	out=$(docker_ exec "$id" sh -c 'cat /proc/1/comm; echo $$')
	expect_contains "$out" "sleep" "exec's view of pid 1"
	expect_status 3 docker_ exec "$id" sh -c 'exit 3'
	expect_status 4 docker_ exec -u 1000 -w /tmp -e X=4 "$id" sh -c '[ $(id -u) = 1000 ] && [ $PWD = /tmp ] && exit $X'
	# top: the shim asks teu (`teu ps --format json`) for the pids.
	pid=$(docker_ inspect -f '{{.State.Pid}}' "$id")
	out=$(docker_ top "$id")
	expect_contains "$out" "sleep 1000" "top"
	expect_contains "$out" "$pid" "top"
	wait_until 10 sh -c "'$DOCKER' -H unix://$T/docker.sock logs $id | grep -q started"
	docker_ rm -f "$id" >/dev/null
	gone "$id"
}

stop_kill() {
	# stop: TERM reaches a process that handles it.
	id=$(drun -d "$IMG" sh -c 'trap "exit 42" TERM; echo ready; while :; do sleep 0.1; done')
	wait_until 20 sh -c "'$DOCKER' -H unix://$T/docker.sock logs $id | grep -q ready"
	docker_ stop -t 20 "$id" >/dev/null
	expect_eq "$(docker_ inspect -f '{{.State.ExitCode}}' "$id")" 42 "exit code after stop"
	docker_ rm "$id" >/dev/null
	gone "$id"
	# kill: KILL ends one that ignores TERM; stop falls back to it.
	id=$(drun -d "$IMG" sh -c 'trap "" TERM; echo ready; while :; do sleep 0.1; done')
	wait_until 20 sh -c "'$DOCKER' -H unix://$T/docker.sock logs $id | grep -q ready"
	docker_ kill "$id" >/dev/null
	expect_eq "$(docker_ wait "$id")" 137 "exit code after kill"
	docker_ start "$id" >/dev/null
	wait_until 20 running "$id"
	docker_ stop -t 1 "$id" >/dev/null
	expect_eq "$(docker_ inspect -f '{{.State.ExitCode}}' "$id")" 137 "exit code after stop of a TERM-ignoring process"
	docker_ rm "$id" >/dev/null
	gone "$id"
}

pause_unpause() {
	id=$(drun -d "$IMG" sleep 1000)
	wait_until 20 running "$id"
	docker_ pause "$id" >/dev/null
	expect_eq "$(docker_ inspect -f '{{.State.Status}}' "$id")" paused status
	expect_eq "$(cat "$(cgfile freezer "$id" freezer.state)")" FROZEN freezer.state
	expect_status 1 docker_ exec "$id" true
	expect_contains "$out" "paused"
	docker_ unpause "$id" >/dev/null
	expect_eq "$(docker_ inspect -f '{{.State.Status}}' "$id")" running status
	expect_eq "$(cat "$(cgfile freezer "$id" freezer.state)")" THAWED freezer.state
	expect_status 0 docker_ exec "$id" true
	docker_ rm -f "$id" >/dev/null
	gone "$id"
}

memory_oom() {
	# dd's 64 MiB buffer does not fit in 16 MiB: the OOM killer ends it,
	# and Docker sees the OOM event (containerd watches the cgroup).
	expect_status 137 drun --name oom --memory 16m --memory-swap 16m "$IMG" dd if=/dev/zero of=/dev/null bs=64M count=1
	id=$(docker_ inspect -f '{{.Id}}' oom)
	expect_eq "$(docker_ inspect -f '{{.State.OOMKilled}}' oom)" true OOMKilled
	docker_ rm oom >/dev/null
	gone "$id"
}

pids_limit() {
	out=$(drun --rm --pids-limit 8 "$IMG" sh -c 'cat /sys/fs/cgroup/pids/pids.max 2>/dev/null; for i in $(seq 1 20); do sleep 5 & done 2>&1; echo spawned' 2>&1 || true)
	expect_contains "$out" "can't fork" "20 processes under --pids-limit 8"
	id=$(drun -d --pids-limit 8 "$IMG" sleep 1000)
	wait_until 20 running "$id"
	expect_eq "$(cat "$(cgfile pids "$id" pids.max)")" 8 pids.max
	docker_ rm -f "$id" >/dev/null
	gone "$id"
}

cpu_limits() {
	id=$(drun -d --cpus 0.5 --cpu-shares 512 --cpuset-cpus 0 "$IMG" sleep 1000)
	wait_until 20 running "$id"
	expect_eq "$(cat "$(cgfile cpu "$id" cpu.cfs_quota_us)")" 50000 cpu.cfs_quota_us
	expect_eq "$(cat "$(cgfile cpu "$id" cpu.cfs_period_us)")" 100000 cpu.cfs_period_us
	expect_eq "$(cat "$(cgfile cpu "$id" cpu.shares)")" 512 cpu.shares
	expect_eq "$(cat "$(cgfile cpuset "$id" cpuset.cpus)")" 0 cpuset.cpus
	expect_eq "$(docker_ exec "$id" grep Cpus_allowed_list /proc/self/status | awk '{print $2}')" 0 "exec'd process's cpus"
	# update: docker update goes through `teu update`.
	docker_ update --cpus 0.25 "$id" >/dev/null
	expect_eq "$(cat "$(cgfile cpu "$id" cpu.cfs_quota_us)")" 25000 "cpu.cfs_quota_us after update"
	docker_ rm -f "$id" >/dev/null
	gone "$id"
}

read_only() {
	expect_status 1 drun --rm --read-only "$IMG" touch /x
	expect_contains "$out" "Read-only file system"
	out=$(drun --rm --read-only --tmpfs /scratch "$IMG" sh -c 'touch /scratch/x && echo tmpfs-writable')
	expect_eq "$out" tmpfs-writable
}

env_cwd_user() {
	out=$(drun --rm -e FOO=bar -w /tmp -u 1000:1000 "$IMG" sh -c 'echo $FOO $(pwd) $(id -u):$(id -g) $HOME')
	expect_eq "$out" "bar /tmp 1000:1000 /home/user"
	out=$(drun --rm -u nobody "$IMG" id -un)
	expect_eq "$out" nobody
}

hostname_() {
	out=$(drun --rm --hostname teu-box "$IMG" sh -c 'hostname; cat /etc/hostname')
	expect_eq "$out" "teu-box
teu-box"
}

tty_() {
	out=$(drun --rm -t "$IMG" sh -c 'tty; [ -t 0 ] && [ -t 1 ] && echo on-a-tty')
	expect_contains "$out" "/dev/pts/0"
	expect_contains "$out" "on-a-tty"
	# An interactive terminal (docker run -it) from script(1)'s pty.
	out=$(script -qec "'$DOCKER' -H unix://$T/docker.sock run --rm -it --network none $IMG sh -c 'stty -a | head -1'" /dev/null </dev/null)
	expect_contains "$out" "speed"
}

caps_dropped() {
	out=$(drun --rm --cap-drop CHOWN "$IMG" sh -c 'grep CapBnd /proc/self/status; chown 1 /tmp && echo chowned; true' 2>&1)
	expect_contains "$out" "Operation not permitted"
	[[ $out != *chowned* ]] || fail "chown worked without CAP_CHOWN: $out"
	bnd=$(awk '/CapBnd/ { print $2 }' <<<"$out")
	[[ $((0x$bnd & 1)) -eq 0 ]] || fail "CAP_CHOWN still in the bounding set: $bnd"
	out=$(drun --rm "$IMG" sh -c 'chown 1 /tmp && echo chowned')
	expect_eq "$out" chowned "chown with the default caps"
	# No CAP_NET_RAW: ping's raw socket refused... docker's default set lacks SYS_ADMIN.
	expect_status 1 drun --rm "$IMG" mount -t tmpfs none /mnt
}

seccomp_on() {
	out=$(drun --rm "$IMG" grep Seccomp: /proc/self/status)
	expect_contains "$out" "2" "Seccomp mode with the default profile (2: filter)"
	# Docker's profile refuses unshare of a user ns to a process without CAP_SYS_ADMIN.
	expect_status 1 drun --rm "$IMG" unshare -U true
	expect_contains "$out" "Operation not permitted"
	out=$(drun --rm --security-opt seccomp=unconfined "$IMG" grep Seccomp: /proc/self/status)
	expect_contains "$out" "0" "Seccomp mode unconfined"
}

runtime_error() {
	# teu's own message, as running teu on a bundle shows it, reaches the
	# docker user verbatim (the shim reads teu's --log-format json).
	TEU=$TEU "$ENG_SRC/tests/integration/mkbundle.sh" "$T/b" >/dev/null
	jq '.process.terminal = false | .process.args = ["/nonexistent"]' "$T/b/config.json" >"$T/b/c.json" && mv "$T/b/c.json" "$T/b/config.json"
	want=$("$TEU" --root "$T/direct" run --bundle "$T/b" bad 2>&1) && fail "teu ran /nonexistent"
	want=${want#teu: create bad: }
	[[ -n $want ]] || fail "teu printed no error"
	expect_status 127 drun --rm --cidfile "$T/err.cid" "$IMG" /nonexistent
	expect_contains "$out" "$want" "docker's error"
	gone "$(cat "$T/err.cid")"
	# A mount teu cannot make: a file over a directory.
	jq '.process.args = ["true"] | .mounts += [{"destination": "/bin", "type": "bind", "source": "/etc/hostname", "options": ["rbind"]}]' "$T/b/config.json" >"$T/b/c.json" && mv "$T/b/c.json" "$T/b/config.json"
	want=$("$TEU" --root "$T/direct" run --bundle "$T/b" bad 2>&1) && fail "teu mounted a file over /bin"
	want=${want#teu: create bad: }
	expect_status 125 drun --rm --cidfile "$T/err2.cid" --mount type=bind,src=/etc/hostname,dst=/bin "$IMG" true
	expect_contains "$out" "$want" "docker's error"
	gone "$(cat "$T/err2.cid")"
}

ten_runs() {
	local start end i
	start=$(date +%s.%N)
	for i in $(seq 1 10); do drun --rm --cidfile "$T/ten$i.cid" "$IMG" true; done
	end=$(date +%s.%N)
	note "10 x docker run --rm: $(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", e - s }') s"
	for i in $(seq 1 10); do gone "$(cat "$T/ten$i.cid")"; done
}

all_gone() {
	expect_eq "$(docker_ ps -aq)" "" "containers"
	expect_eq "$(ls "$TEU_ROOT" 2>/dev/null)" "" "teu state dirs"
	expect_eq "$(awk -v t="$T/data/overlay2/" 'index($5, t) == 1' /proc/self/mountinfo)" "" "rootfs mounts"
	expect_eq "$(for m in $(cg_mounts); do [[ -d $m/$CG_PARENT ]] && find "$m/$CG_PARENT" -mindepth 1 -type d; done)" "" "cgroups"
}

t "run and output, stdin" run_output
t "exit codes" exit_codes
t "detached run, exec, top, logs" detached_exec_top
t "stop and kill" stop_kill
t "pause and unpause" pause_unpause
t "memory limit: OOM kill" memory_oom
t "pids limit" pids_limit
t "cpu limits and update" cpu_limits
t "read-only rootfs" read_only
t "env, workdir, user" env_cwd_user
t "hostname" hostname_
t "a tty" tty_
t "dropped capabilities" caps_dropped
t "seccomp active" seccomp_on
t "teu's errors reach docker verbatim" runtime_error
t "ten run --rm" ten_runs
t "nothing left: containers, state, mounts, cgroups" all_gone
eng_done
