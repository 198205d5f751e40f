# shellcheck shell=bash
# tests/engines/lib.sh: what the engine scenario scripts (tests/engines/*.sh,
# run by `make test-engines`) share. A script sources it, calls eng_setup,
# starts its engine privately under $T (sockets, state, data: nothing in the
# host's default places, no TCP, no bridge, no iptables), runs its scenarios
# with `t NAME FUNC [ARGS]`, and ends with eng_done. Everything it started
# (daemons, shims, containers, mounts, cgroups, network namespaces) goes at
# exit, failed or not.
#
# Output: one line per scenario ("ok 3 docker: exit codes" or "not ok ...",
# followed by the scenario's output indented), then "ENGINE: N passed,
# M failed". The script exits 1 if any scenario failed.
set -euo pipefail

ENG_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TEU=${TEU:-$ENG_SRC/teu}
ENGINE=$(basename "$0" .sh)
BUSYBOX=${BUSYBOX:-/bin/busybox}
eng_passed=0
eng_failed=0
eng_n=0
eng_pids=()      # daemons we started, stopped in reverse order
eng_logs=()      # their logs, shown when something failed
eng_exit_cmds=() # commands run first at exit (engine-level clean-up)

# eng_setup: the temp dir $T, the cgroup parent $CG_PARENT (a name, not yet
# a path: engines put containers under /$CG_PARENT/<id> in every
# hierarchy) and the exit trap.
eng_setup() {
	[[ $EUID -eq 0 ]] || { echo "$ENGINE: needs root" >&2; exit 1; }
	[[ -x $TEU ]] || { echo "$ENGINE: no teu binary at $TEU (make teu)" >&2; exit 1; }
	TEU=$(realpath "$TEU")
	T=$(mktemp -d "/tmp/teu-eng-$ENGINE.XXXXXX")
	chmod 711 "$T"
	CG_PARENT=teu-eng-$ENGINE-$$
	# Host dirs the engines make whatever their config says (containerd's
	# shim sockets, docker's plugins dir, a docker-run containerd's opt
	# dir): those missing now are removed at exit if left empty.
	eng_new_dirs=()
	local d
	for d in /run/containerd /run/containerd/s /run/containerd/fifo /run/docker /run/docker/plugins \
		/opt/containerd /opt/containerd/bin /opt/containerd/lib; do
		[[ -e $d ]] || eng_new_dirs+=("$d")
	done
	trap eng_cleanup EXIT
	trap 'exit 130' INT TERM
}

# on_exit CMD...: run CMD (a string, eval'd) at exit, before daemons stop.
on_exit() { eng_exit_cmds+=("$*"); }

# t NAME FUNC [ARGS...]: run one scenario in a subshell with errexit on;
# it passes if FUNC returns 0. Its output is shown only when it fails.
# ENG_ONLY=REGEX runs only the scenarios whose names match (development).
t() {
	local name=$1 rc start
	shift
	[[ -z ${ENG_ONLY:-} || $name =~ $ENG_ONLY ]] || return 0
	eng_n=$((eng_n + 1))
	start=$(date +%s.%N)
	rm -f "$T/t.note"
	set +e
	(set -e; "$@") >"$T/t.out" 2>&1
	rc=$?
	set -e
	local secs
	secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
	if [[ $rc -eq 0 ]]; then
		eng_passed=$((eng_passed + 1))
		echo "ok $eng_n $ENGINE: $name (${secs}s)"
	else
		eng_failed=$((eng_failed + 1))
		echo "not ok $eng_n $ENGINE: $name (${secs}s, status $rc)"
		sed 's/^/#   /' "$T/t.out"
	fi
	[[ ! -s $T/t.note ]] || sed 's/^/# /' "$T/t.note"
}

# note MSG: a line shown under the scenario's result (e.g. a timing).
note() { echo "$*" >>"$T/t.note"; }

# eng_done: the closing line; the script's exit status.
eng_done() {
	echo "$ENGINE: $eng_passed passed, $eng_failed failed"
	[[ $eng_failed -eq 0 ]]
}

# fail MSG: end a scenario with MSG.
fail() { echo "FAIL: $*" >&2; return 1; }

# expect_eq GOT WANT [WHAT]
expect_eq() {
	[[ $1 == "$2" ]] || fail "${3:-value}: got '$1', want '$2'"
}

# expect_contains HAYSTACK NEEDLE [WHAT]
expect_contains() {
	[[ $1 == *"$2"* ]] || fail "${3:-output} does not contain '$2': '$1'"
}

# expect_status WANT CMD...: CMD exits with status WANT; its output is in $out.
expect_status() {
	local want=$1 rc=0
	shift
	out=$("$@" 2>&1) || rc=$?
	[[ $rc -eq $want ]] || fail "'$*' exited $rc, want $want; output: $out"
}

# wait_until SECONDS CMD...: poll CMD (bounded, 50 ms apart) until it
# succeeds; for states nothing signals.
wait_until() {
	local deadline=$(($(date +%s) + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[[ $(date +%s) -lt $deadline ]] || { echo "timed out waiting for: $*" >&2; return 1; }
		sleep 0.05
	done
}

# start_daemon NAME CMD...: start CMD in the background (own process
# group), output in $T/NAME.log; its PID is stopped at exit.
start_daemon() {
	local name=$1
	shift
	setsid "$@" >"$T/$name.log" 2>&1 </dev/null &
	eng_pids+=("$!")
	eng_logs+=("$T/$name.log")
	echo "$!" >"$T/$name.pid"
}

# wait_socket SECONDS PATH: wait for a daemon's unix socket; on time-out
# show the daemon logs.
wait_socket() {
	if ! wait_until "$1" test -S "$2"; then
		tail -n 30 "$T"/*.log >&2
		return 1
	fi
}

# cg_mounts: the mount points of the host's cgroup hierarchies (v1 and v2).
cg_mounts() {
	awk '$9 == "cgroup" || $9 == "cgroup2" { print $5 }' /proc/self/mountinfo | sort -u
}

# cg_left NAME: cgroup directories, in any hierarchy, whose name contains
# NAME (a container id, or $CG_PARENT for all of this run's); none expected
# once the containers are gone.
cg_left() {
	local m
	for m in $(cg_mounts); do
		find "$m" -mindepth 1 -maxdepth 3 -type d -name "*$1*" 2>/dev/null
	done
}

# expect_no_cgroups NAME: fails listing what is left under NAME's cgroups.
expect_no_cgroups() {
	local left m
	left=$(for m in $(cg_mounts); do
		[[ -d $m/$CG_PARENT ]] && find "$m/$CG_PARENT" -mindepth 1 -type d -name "*$1*"
	done 2>/dev/null || true)
	[[ -z $left ]] || fail "cgroups left for $1: $left"
}

# busybox_rootfs DIR: a busybox root filesystem (tests/integration/mkbundle.sh's).
busybox_rootfs() {
	TEU=$TEU BUSYBOX=$BUSYBOX "$ENG_SRC/tests/integration/mkbundle.sh" "$T/mkbundle" >/dev/null
	mkdir -p "$(dirname "$1")"
	mv "$T/mkbundle/rootfs" "$1"
	rm -rf "$T/mkbundle"
}

# image_archive OUT REF ROOTFS CONFIG_JSON: a docker-archive (`docker save`
# format, which `docker load`, `ctr images import` and `podman load` all
# take) holding one image REF (e.g. teu.test/busybox:1) whose single
# layer is ROOTFS; CONFIG_JSON is the image config's "config" object (e.g.
# '{"Cmd":["sh"],"Env":["PATH=/bin"]}'). Built by hand: no registry here.
image_archive() {
	local out=$1 ref=$2 rootfs=$3 cfg=$4 d diff conf
	d=$(mktemp -d "$T/image.XXXXXX")
	tar --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 -C "$rootfs" -cf "$d/layer.tar" .
	diff=$(sha256sum "$d/layer.tar" | cut -d' ' -f1)
	mkdir "$d/$diff"
	mv "$d/layer.tar" "$d/$diff/layer.tar"
	jq -n --arg diff "sha256:$diff" --argjson cfg "$cfg" \
		'{architecture: "amd64", os: "linux", created: "1970-01-01T00:00:00Z",
		  config: $cfg, rootfs: {type: "layers", diff_ids: [$diff]}}' >"$d/config.json"
	conf=$(sha256sum "$d/config.json" | cut -d' ' -f1)
	mv "$d/config.json" "$d/$conf.json"
	jq -n --arg c "$conf.json" --arg ref "$ref" --arg l "$diff/layer.tar" \
		'[{Config: $c, RepoTags: [$ref], Layers: [$l]}]' >"$d/manifest.json"
	tar --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 -C "$d" -cf "$out" manifest.json "$conf.json" "$diff"
	rm -rf "$d"
}

# containerd_toml [DISABLED_PLUGIN...]: the top of a private containerd's
# config.toml, on stdout: root, state, sockets and opt dir under $T, the
# snapshotters this host cannot use (and DISABLED_PLUGIN...) disabled.
containerd_toml() {
	local disabled='"io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"' p
	for p in "$@"; do disabled="\"$p\", $disabled"; done
	cat <<TOML
version = 2
root = "$T/root"
state = "$T/state"
disabled_plugins = [$disabled]
[grpc]
  address = "$T/containerd.sock"
[ttrpc]
  address = "$T/containerd.sock.ttrpc"
[debug]
  address = "$T/debug.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$T/opt"
TOML
}

# busybox_image OUT REF: image_archive of a busybox rootfs, Cmd sh.
busybox_image() {
	[[ -d $T/busybox-rootfs ]] || busybox_rootfs "$T/busybox-rootfs"
	image_archive "$1" "$2" "$T/busybox-rootfs" \
		'{"Cmd":["sh"],"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}'
}

# procs_under DIR: PIDs of processes whose command line or working
# directory mentions DIR (shims, monitors and the like that the daemons we
# started left behind; nothing outside this run's temp dir matches).
procs_under() {
	local p cmd
	for p in /proc/[0-9]*; do
		[[ ${p#/proc/} -eq $$ || ${p#/proc/} -eq $BASHPID ]] && continue
		cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
		if [[ $cmd == *"$1"* || $(readlink "$p/cwd" 2>/dev/null) == "$1"* ]]; then
			echo "${p#/proc/}"
		fi
	done
}

# stop_pid PID [SECONDS]: TERM, then KILL after SECONDS (default 15).
stop_pid() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < ${2:-15} * 20; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.05
	done
	echo "$ENGINE: pid $pid did not stop on TERM; killing" >&2
	kill -KILL "$pid" 2>/dev/null || true
}

eng_cleanup() {
	local rc=$? i m p d
	set +e
	trap - EXIT INT TERM
	# A failed run shows the end of its daemons' logs (start_daemon's).
	if [[ $eng_failed -gt 0 || $rc -ne 0 ]]; then
		for m in "${eng_logs[@]}"; do
			[[ -s $m ]] || continue
			echo "# --- last lines of $(basename "$m")"
			tail -n "${ENG_LOG_LINES:-15}" "$m" | sed 's/^/#   /'
		done
	fi
	for ((i = ${#eng_exit_cmds[@]} - 1; i >= 0; i--)); do
		eval "${eng_exit_cmds[i]}" >/dev/null 2>&1
	done
	for ((i = ${#eng_pids[@]} - 1; i >= 0; i--)); do
		stop_pid "${eng_pids[i]}"
	done
	# Containers still in this run's cgroups, then shims and monitors.
	for m in $(cg_mounts); do
		[[ -d $m/$CG_PARENT ]] || continue
		find "$m/$CG_PARENT" -name cgroup.procs -exec cat {} + 2>/dev/null
	done | sort -u | while read -r p; do kill -KILL "$p" 2>/dev/null; done
	for p in $(procs_under "$T"); do kill -KILL "$p" 2>/dev/null; done
	# Mounts under $T, deepest first.
	awk -v t="$T" 'index($5, t "/") == 1 || $5 == t { print $5 }' /proc/self/mountinfo |
		sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
	# This run's cgroups, leaves first (a frozen one thawed so it can empty).
	for m in $(cg_mounts); do
		[[ -d $m/$CG_PARENT ]] || continue
		find "$m/$CG_PARENT" -depth -type d | while read -r d; do
			[[ -f $d/freezer.state ]] && echo THAWED >"$d/freezer.state" 2>/dev/null
			for i in $(seq 1 40); do rmdir "$d" 2>/dev/null && break; sleep 0.05; done
			[[ -d $d ]] && echo "$ENGINE: cgroup $d left behind" >&2
		done
	done
	rm -rf --one-file-system "$T"
	for ((i = ${#eng_new_dirs[@]} - 1; i >= 0; i--)); do
		rmdir "${eng_new_dirs[i]}" 2>/dev/null
	done
	exit "$rc"
}
