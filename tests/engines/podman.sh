#!/usr/bin/env bash
# podman (Debian's 4.3, with conmon) running teu: `runtime = "teu"` in a
# containers.conf of this run's own, storage, database, locks and events
# under $T, cgroupfs, no network. docs/engines.md, "## podman", says how.
#
# podman calls its runtime without --root (as root), so teu keeps its state
# in /run/teu: the script runs in a mount namespace of its own with a tmpfs
# there (and over /var/lib/containers, podman's blob cache), so what
# podman's containers leave in teu's state directory is what we see, and
# nothing of another teu user's is touched.
if [[ -z ${TEU_PODMAN_NS:-} ]]; then
	TEU_PODMAN_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
eng_setup
mkdir -p /run/teu # teu makes it on first use; a fresh machine has none yet
mount -t tmpfs -o mode=0711 teu-podman-state /run/teu
mkdir -p /var/lib/containers # podman makes it on first use; a fresh machine has none yet
mount -t tmpfs -o mode=0700 teu-podman-cache /var/lib/containers
IMG=localhost/teu-busybox:1
# conmon 2.1.6 writes its "oom" file into its working directory (podman's).
cd "$T" || exit 1

cat >"$T/containers.conf" <<EOF
[containers]
netns = "none"
log_driver = "k8s-file"
# Root here lacks CAP_SYS_RESOURCE: it cannot raise a hard rlimit, and
# podman's defaults (nofile 1048576, nproc 4194304) are above the host's.
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[engine]
runtime = "teu"
# Not in podman's built-in list: without it podman reads teu's stderr and
# shows "teu: teu: ..."; with it, teu's JSON log line, as for runc.
runtime_supports_json = ["teu"]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$T/events.log"
lock_type = "file"
tmp_dir = "$T/tmp"
static_dir = "$T/storage/libpod"
volume_path = "$T/storage/volumes"

[engine.runtimes]
teu = ["$TEU"]
EOF
cat >"$T/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$T/storage"
runroot = "$T/run"
EOF
export CONTAINERS_CONF=$T/containers.conf CONTAINERS_STORAGE_CONF=$T/storage.conf

# pm ARGS: podman, bounded (a hang is a failure, not a stuck test run).
pm() { timeout 120 podman "$@"; }
# prun ARGS: podman run in this run's cgroup parent.
prun() { pm run --cgroup-parent "/$CG_PARENT" "$@"; }
# fresh FUNC: a scenario starts with no container left by an earlier one.
fresh() { pm rm -a -f -t 0 >/dev/null; "$@"; }
# Containers go at exit, before lib.sh's clean-up of processes and mounts.
on_exit "podman rm -a -f -t 0"

# cg DIR_OF CONTROLLER ID: the container's cgroup directory in CONTROLLER.
cg() { echo "/sys/fs/cgroup/$1/$CG_PARENT/libpod-$2"; }
# cid NAME: the full id of a container.
cid() { pm inspect --format '{{.Id}}' "$1"; }

sc_setup_image() {
	busybox_rootfs "$T/rootfs"
	tar --numeric-owner -C "$T/rootfs" -cf "$T/rootfs.tar" .
	pm import --change 'CMD ["sh"]' --change 'ENV PATH=/bin' "$T/rootfs.tar" "$IMG" >/dev/null
	expect_eq "$(pm info --format '{{.Host.OCIRuntime.Path}}')" "$TEU" "podman's runtime"
}

sc_run_output() {
	expect_eq "$(prun --rm "$IMG" echo hello from teu)" "hello from teu"
	# The container really ran under teu: it is in teu's list while it runs.
	prun -d --name listed "$IMG" sleep 100 >/dev/null
	id=$(cid listed)
	expect_contains "$("$TEU" list)" "$id" "teu list"
	expect_eq "$(pm inspect --format '{{.OCIRuntime}}' listed)" teu "inspect .OCIRuntime"
	expect_eq "$(pm logs listed)" "" "logs"
	pm rm -f -t 0 listed >/dev/null
}

sc_exit_codes() {
	expect_status 0 prun --rm "$IMG" true
	expect_status 3 prun --rm "$IMG" sh -c 'exit 3'
	expect_status 255 prun --rm "$IMG" sh -c 'exit 255'
	# A container killed by a signal: 128+N. (A pid namespace's init gets
	# only the signals it handles, and SIGKILL from outside.)
	prun -d --name sig "$IMG" sleep 1000 >/dev/null
	pm kill -s KILL sig >/dev/null
	expect_eq "$(pm wait sig)" 137 "podman wait"
	pm rm sig >/dev/null
	# podman's own codes for a command that cannot run (it reads them from
	# the runtime's error): 127 not found, 126 not executable.
	expect_status 127 prun --rm "$IMG" /no/such/program
	expect_status 126 prun --rm "$IMG" /etc/passwd
}

sc_detached_exec_top() {
	prun -d --name box "$IMG" sleep 1000 >/dev/null
	expect_eq "$(pm inspect --format '{{.State.Status}}' box)" running
	expect_eq "$(pm exec box echo inside)" inside "exec output"
	expect_status 5 pm exec box sh -c 'exit 5'
	expect_eq "$(pm exec -e X=1 -w /tmp -u 1000 box sh -c 'echo $X $(pwd) $(id -u)')" "1 /tmp 1000" "exec -e -w -u"
	expect_eq "$(echo piped | pm exec -i box cat)" piped "exec -i"
	expect_eq "$(echo in | prun --rm -i "$IMG" cat)" in "run -i"
	pm exec -d box sleep 500
	top=$(pm top box pid args)
	echo "$top"
	expect_contains "$top" "sleep 1000" "top"
	expect_contains "$top" "sleep 500" "top"
	expect_eq "$(pm logs box)" "" "logs"
	pm rm -f -t 0 box >/dev/null
}

sc_stop_and_kill() {
	# stop: TERM, which the container handles, then its exit status.
	prun -d --name stopme "$IMG" sh -c 'trap "exit 7" TERM; echo up; while :; do sleep 0.1; done' >/dev/null
	wait_until 20 sh -c "podman logs stopme | grep -q up"
	pm stop -t 20 stopme >/dev/null
	expect_eq "$(pm inspect --format '{{.State.Status}} {{.State.ExitCode}}' stopme)" "exited 7" "after stop"
	# kill: KILL, 128+9.
	prun -d --name killme "$IMG" sleep 1000 >/dev/null
	pm kill -s KILL killme >/dev/null
	pm wait killme >/dev/null || true
	expect_eq "$(pm inspect --format '{{.State.Status}} {{.State.ExitCode}}' killme)" "exited 137" "after kill"
	# A stopped container starts again, and restarts.
	pm start stopme >/dev/null
	expect_eq "$(pm inspect --format '{{.State.Status}}' stopme)" running "after start"
	pid=$(pm inspect --format '{{.State.Pid}}' stopme)
	pm restart -t 20 stopme >/dev/null
	expect_eq "$(pm inspect --format '{{.State.Status}}' stopme)" running "after restart"
	[[ $(pm inspect --format '{{.State.Pid}}' stopme) != "$pid" ]] || fail "restart kept pid $pid"
	pm rm -f -t 0 stopme killme >/dev/null
}

sc_pause_unpause() {
	prun -d --name frozen "$IMG" sh -c 'i=0; while :; do i=$((i+1)); echo $i >/tmp/n; sleep 0.05; done' >/dev/null
	id=$(cid frozen)
	pm pause frozen >/dev/null
	expect_eq "$(pm inspect --format '{{.State.Status}}' frozen)" paused
	expect_eq "$("$TEU" state "$id" | jq -r .status)" paused "teu state"
	expect_eq "$(cat "$(cg freezer "$id")/freezer.state")" FROZEN "freezer.state"
	pm unpause frozen >/dev/null
	expect_eq "$(pm inspect --format '{{.State.Status}}' frozen)" running
	a=$(pm exec frozen cat /tmp/n)
	wait_until 10 sh -c "[ \$(podman exec frozen cat /tmp/n) -gt $a ]"
	# podman kill of a paused container: teu kill KILL thaws it, as runc.
	pm pause frozen >/dev/null
	pm kill frozen >/dev/null
	expect_eq "$(pm wait frozen)" 137 "podman wait after kill of a paused container"
	pm rm -f -t 0 frozen >/dev/null
}

sc_memory_oom() {
	# dd fills a 200 MiB buffer against a 32 MiB limit: the kernel's OOM
	# killer in the container's memory cgroup kills it (137), the shell
	# lives on. (podman 4.3 with conmon 2.1.6 does not set OOMKilled on
	# this cgroup v1 host, with runc either: the cgroup's own count is
	# what is checked.)
	rm -f "$T/oom"
	prun -d --name oom -m 32m --memory-swap 32m "$IMG" \
		sh -c 'dd if=/dev/zero of=/dev/null bs=200M count=1; echo "dd=$?"; sleep 1000' >/dev/null
	wait_until 60 sh -c "podman logs oom | grep -q dd="
	expect_eq "$(pm logs oom | grep dd=)" "dd=137" "dd's status"
	m=$(cg memory "$(cid oom)")
	expect_eq "$(cat "$m/memory.limit_in_bytes")" $((32 << 20)) "memory.limit_in_bytes"
	expect_eq "$(awk '$1 == "oom_kill" { print $2 }' "$m/memory.oom_control")" 1 "oom_kill count"
	expect_eq "$(pm inspect --format '{{.State.Status}}' oom)" running "the container after its child's OOM kill"
	# conmon saw the OOM event of the container's cgroup (its "oom" file,
	# which it writes into its working directory).
	wait_until 10 test -e "$T/oom"
	pm rm -f -t 0 oom >/dev/null
	# The container's init itself: the container exits 137.
	expect_status 137 prun --rm -m 32m --memory-swap 32m "$IMG" dd if=/dev/zero of=/dev/null bs=200M count=1
}

sc_pids_limit() {
	prun -d --name pids --pids-limit 12 "$IMG" sleep 1000 >/dev/null
	expect_eq "$(cat "$(cg pids "$(cid pids)")/pids.max")" 12 "pids.max"
	# sleep 1000 and the exec'd sh are two: the sh forks until the limit
	# stops it (ash then gives up), leaving 10 sleeps behind.
	out=$(pm exec pids sh -c 'for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do sleep 100 & done' 2>&1 || true)
	expect_contains "$out" "can't fork"
	expect_eq "$(cat "$(cg pids "$(cid pids)")/pids.current")" 11 "pids.current"
	pm rm -f -t 0 pids >/dev/null
}

sc_cpu_limits() {
	prun -d --name cpu --cpus 0.5 --cpu-shares 512 --cpuset-cpus 0 "$IMG" sleep 1000 >/dev/null
	id=$(cid cpu)
	expect_eq "$(cat "$(cg cpu "$id")/cpu.cfs_quota_us") $(cat "$(cg cpu "$id")/cpu.cfs_period_us")" "50000 100000" "cfs quota period"
	expect_eq "$(cat "$(cg cpu "$id")/cpu.shares")" 512 "cpu.shares"
	expect_eq "$(cat "$(cg cpuset "$id")/cpuset.cpus")" 0 "cpuset.cpus"
	expect_eq "$(pm exec cpu grep Cpus_allowed_list /proc/self/status | tr -d '\t')" "Cpus_allowed_list:0"
	# podman update: teu update --resources on the running container.
	pm update --cpus 0.25 --memory 64m cpu >/dev/null
	expect_eq "$(cat "$(cg cpu "$id")/cpu.cfs_quota_us")" 25000 "cfs quota after update"
	expect_eq "$(cat "$(cg memory "$id")/memory.limit_in_bytes")" $((64 << 20)) "memory limit after update"
	pm rm -f -t 0 cpu >/dev/null
}

sc_read_only_rootfs() {
	out=$(prun --rm --read-only "$IMG" sh -c 'touch /x 2>&1; touch /tmp/ok && echo tmp-writable')
	expect_contains "$out" "Read-only file system"
	expect_contains "$out" "tmp-writable"
}

sc_env_workdir_user() {
	out=$(prun --rm -e FOO=bar -w /home/user -u 1000:1000 "$IMG" sh -c 'echo "$FOO $(pwd) $(id -u):$(id -g)"')
	expect_eq "$out" "bar /home/user 1000:1000"
	expect_eq "$(prun --rm -u user "$IMG" id -un)" user "user by name"
}

sc_hostname() {
	expect_eq "$(prun --rm --hostname teubox "$IMG" hostname)" teubox
}

sc_tty() {
	# podman -t needs a terminal on its side too: script(1) gives it one,
	# 30x90, which must reach the container's pty (consoleSize, then
	# conmon's resize through the console socket).
	prun -d --name ttybox "$IMG" sleep 1000 >/dev/null
	out=$(timeout 60 script -qec "stty rows 30 cols 90; podman run --rm -t --cgroup-parent /$CG_PARENT $IMG sh -c 'tty; test -t 0 && echo stdin-is-tty; stty size'; podman exec -t ttybox sh -c 'tty; stty size'" /dev/null </dev/null | tr -d '\r')
	echo "$out"
	expect_eq "$out" "$(printf '/dev/pts/0\nstdin-is-tty\n30 90\n/dev/pts/0\n30 90')"
	pm rm -f -t 0 ttybox >/dev/null
}

sc_dropped_caps() {
	out=$(prun --rm --cap-drop CHOWN "$IMG" sh -c 'chown 1000 /tmp 2>&1 || echo chown-refused')
	expect_contains "$out" chown-refused
	expect_eq "$(prun --rm --cap-drop all "$IMG" sh -c 'grep ^CapEff /proc/self/status' | tr -d '\t')" "CapEff:0000000000000000" "CapEff with --cap-drop all"
	expect_eq "$(prun --rm "$IMG" sh -c 'chown 1000 /tmp && echo chown-ok')" chown-ok "chown with default caps"
}

sc_seccomp() {
	expect_eq "$(prun --rm "$IMG" grep ^Seccomp: /proc/self/status | tr -d '\t')" "Seccomp:2" "default profile"
	expect_eq "$(prun --rm --security-opt seccomp=unconfined "$IMG" grep ^Seccomp: /proc/self/status | tr -d '\t')" "Seccomp:0" "unconfined"
	# A profile of the user's own is what teu loads: mkdir refused.
	echo '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}' >"$T/nomkdir.json"
	out=$(prun --rm --security-opt seccomp="$T/nomkdir.json" "$IMG" sh -c 'mkdir /tmp/d 2>&1; touch /tmp/f && echo touch-ok')
	expect_contains "$out" "Operation not permitted"
	expect_contains "$out" "touch-ok"
}

sc_namespaces_mounts() {
	# A user namespace (podman's --uidmap): root inside is 100000 outside.
	out=$(prun --rm --uidmap 0:100000:65536 --gidmap 0:100000:65536 "$IMG" sh -c 'id -u; cat /proc/self/uid_map; touch /tmp/x && stat -c %u /tmp/x')
	expect_eq "$(tr -s ' \n' ' ' <<<"$out")" "0 0 100000 65536 0 " "uidmap"
	# The host's pid namespace: the host's processes are visible.
	[[ $(prun --rm --pid host "$IMG" sh -c 'ls -d /proc/[0-9]* | wc -l') -gt 20 ]] || fail "--pid host sees few processes"
	mkdir -p "$T/vol"
	echo hostfile >"$T/vol/f"
	out=$(prun --rm -v "$T/vol:/data:ro" --tmpfs /scratch:size=1m --shm-size 16m "$IMG" \
		sh -c 'cat /data/f; touch /data/g 2>&1; df -k /scratch /dev/shm | awk "NR > 1 { print \$2 }"')
	expect_eq "$out" "$(printf 'hostfile\ntouch: /data/g: Read-only file system\n1024\n16384')" "volume, tmpfs, shm"
	expect_eq "$(prun --rm --device /dev/null:/dev/mynull "$IMG" sh -c 'echo x >/dev/mynull && stat -c "%t,%T" /dev/mynull')" "1,3" "--device"
	expect_eq "$(prun --rm --sysctl net.ipv4.ip_forward=1 "$IMG" cat /proc/sys/net/ipv4/ip_forward)" 1 "--sysctl"
	expect_eq "$(prun --rm --oom-score-adj 500 "$IMG" cat /proc/self/oom_score_adj)" 500 "--oom-score-adj"
	out=$(prun --rm --privileged "$IMG" sh -c 'grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status; ls /dev | grep -c .' | tr -d '\t')
	expect_contains "$out" "Seccomp:0"
	[[ $(tail -1 <<<"$out") -gt 30 ]] || fail "--privileged: few host devices: $out"
}

sc_rm_cleans_up() {
	prun -d --name gone "$IMG" sleep 1000 >/dev/null
	id=$(cid gone)
	[[ -d /run/teu/$id ]] || fail "no teu state for $id in /run/teu"
	[[ -n $(cg_left "$id") ]] || fail "no cgroup for $id"
	mnt=$(pm inspect --format '{{.GraphDriver.Data.MergedDir}}' gone)
	grep -q " $mnt " /proc/self/mountinfo || fail "rootfs $mnt not mounted"
	pm rm -f -t 0 gone >/dev/null
	[[ ! -e /run/teu/$id ]] || fail "teu state left: $(ls /run/teu/$id)"
	expect_eq "$(cg_left "$id")" "" "cgroups left"
	! grep -q " $mnt " /proc/self/mountinfo || fail "rootfs $mnt still mounted"
	# run --rm too: nothing at all is left in teu's state dir.
	prun --rm "$IMG" true
	expect_eq "$(ls -A /run/teu)" "" "teu state dir"
	expect_eq "$("$TEU" list -q)" "" "teu list"
	expect_eq "$(cg_left "$CG_PARENT/libpod-")" "" "cgroups left"
}

sc_error_verbatim() {
	# A nofile limit above fs.nr_open, which nobody may set: teu's create
	# fails, and podman shows teu's one error line as teu itself prints it.
	n=$(($(cat /proc/sys/fs/nr_open) + 1))
	expect_status 126 prun --rm --ulimit "nofile=$n:$n" "$IMG" true
	echo "podman said: $out"
	expect_eq "$(wc -l <<<"$out")" 1 "lines"
	mkdir -p "$T/bad"
	cp -a "$T/rootfs" "$T/bad/rootfs"
	(cd "$T/bad" && "$TEU" spec)
	jq --argjson n "$n" '.process.terminal = false | .process.rlimits = [{"type": "RLIMIT_NOFILE", "hard": $n, "soft": $n}]' \
		"$T/bad/config.json" >"$T/bad/c.json" && mv "$T/bad/c.json" "$T/bad/config.json"
	own=$("$TEU" --root "$T/bad-state" run --bundle "$T/bad" teu-says 2>&1) && fail "teu ran it"
	echo "teu said: $own"
	[[ $own == "teu: create teu-says: "* ]] || fail "teu's own error: $own"
	# podman: "Error: teu: create <id>: <the same>: OCI permission denied".
	[[ $out =~ ^Error:\ teu:\ create\ [0-9a-f]{64}:\ (.*):\ OCI\ permission\ denied$ ]] || fail "podman's line: $out"
	expect_eq "${BASH_REMATCH[1]}" "${own#teu: create teu-says: }" "teu's message in podman's"
	expect_eq "$(ls -A /run/teu)" "" "teu state after a failed create"
	expect_eq "$(cg_left "$CG_PARENT/libpod-")" "" "cgroups after a failed create"
}

sc_ten_runs() {
	local start end
	start=$(date +%s.%N)
	for _ in $(seq 10); do prun --rm "$IMG" true; done
	end=$(date +%s.%N)
	awk -v s="$start" -v e="$end" 'BEGIN { printf "ten podman run --rm: %.2f s (%.0f ms each)\n", e - s, (e - s) * 100 }' | tee "$T/ten.txt"
}

t "import a busybox image; podman's runtime is teu" sc_setup_image
t "run and output" fresh sc_run_output
t "exit codes" fresh sc_exit_codes
t "detached run, exec, top" fresh sc_detached_exec_top
t "stop and kill" fresh sc_stop_and_kill
t "pause and unpause" fresh sc_pause_unpause
t "memory limit and OOM kill" fresh sc_memory_oom
t "pids limit" fresh sc_pids_limit
t "cpu limits" fresh sc_cpu_limits
t "read-only rootfs" fresh sc_read_only_rootfs
t "env, workdir, user" fresh sc_env_workdir_user
t "hostname" fresh sc_hostname
t "a terminal (-t)" fresh sc_tty
t "dropped capabilities" fresh sc_dropped_caps
t "seccomp" fresh sc_seccomp
t "namespaces, volumes, devices, sysctl, privileged" fresh sc_namespaces_mounts
t "rm leaves no state, cgroup or mount" fresh sc_rm_cleans_up
t "teu's error reaches podman's user" fresh sc_error_verbatim
t "ten run --rm in a row" fresh sc_ten_runs
cat "$T/ten.txt" 2>/dev/null || true
eng_done
