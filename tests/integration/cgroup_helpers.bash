# Helpers for the cgroup tests (cgroups, update, pause, ps, events, exec).
# Load after helpers.bash. Every cgroup a test makes is named after the test
# (cgroupsPath teu-bats-<pid>-<n>/<id>, relative to our own cgroups), so
# the checks look only at what the test made, and teardown removes it
# even when the test failed.
#
# The same tests run on cgroup v1 (hybrid hosts: make integration) and on
# pure cgroup v2 (make test-cgroupv2 boots such a guest): each test asserts
# the files and semantics of the version it runs on. A test whose subject
# exists on one version only skips on the other, saying so.

CG_PARENT="teu-bats-$$-$BATS_TEST_NUMBER"
CG=/sys/fs/cgroup

# CG_V2 is 1 on a pure cgroup v2 host (/sys/fs/cgroup is cgroup2), else "".
CG_V2=
[ "$(stat -f -c %t "$CG" 2>/dev/null)" = 63677270 ] && CG_V2=1

# require_cgroups: root, and cgroups teu places containers in (v1
# hierarchies, or the unified v2 one).
require_cgroups() {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	[ -n "$CG_V2" ] && return 0
	grep -q ' - cgroup cgroup ' /proc/self/mountinfo || skip "needs cgroup v1 hierarchies or a cgroup v2 host"
}

# require_cgroup_v1 [WHY]: skip on cgroup v2, where the subject (WHY) does
# not exist.
require_cgroup_v1() {
	require_cgroups
	[ -z "$CG_V2" ] || skip "cgroup v1 only${1:+: $1}"
}

# require_cgroup_v2 [WHY]: skip unless on a cgroup v2 host.
require_cgroup_v2() {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	[ -n "$CG_V2" ] || skip "cgroup v2 only${1:+: $1}"
}

# cg_key CONTROLLER: the key of CONTROLLER's directory in the state's
# cgroup_paths: the controller on v1, "" (the unified one) on v2.
cg_key() {
	if [ -n "$CG_V2" ]; then echo ""; else echo "$1"; fi
}

# set_cgroup_path ID: the container's cgroupsPath, relative to our cgroups.
set_cgroup_path() {
	update_config ".linux.cgroupsPath = \"$CG_PARENT/$1\""
}

# set_resources JSON: linux.resources = JSON, keeping the device rules.
set_resources() {
	update_config ".linux.resources = ((.linux.resources // {}) + $1)"
}

# cg_dir ID CONTROLLER: the container's directory for CONTROLLER (any
# controller is the one unified directory on v2; "" is the cgroup2 one),
# from its state.
cg_dir() {
	jq -r --arg c "$(cg_key "$2")" '.cgroup_paths[$c] // empty' "$TEU_ROOT/$1/state.json"
}

# cg_read ID CONTROLLER FILE
cg_read() {
	cat "$(cg_dir "$1" "$2")/$3"
}

# cg_v1v2 V1 V2: V1 on a cgroup v1 host, V2 on a v2 one (file names,
# values).
cg_v1v2() {
	if [ -n "$CG_V2" ]; then echo "$2"; else echo "$1"; fi
}

# own_cgroup CONTROLLER: our own cgroup path in CONTROLLER's hierarchy
# (the unified one on v2).
own_cgroup() {
	if [ -n "$CG_V2" ]; then
		sed -n 's/^0:://p' /proc/self/cgroup
	else
		grep -E "^[0-9]+:([^:]*,)?$1(,[^:]*)?:" /proc/self/cgroup | cut -d: -f3
	fi
}

# our_dirs: every directory under any hierarchy that carries this test's
# cgroup parent name.
our_dirs() {
	find "$CG" -mindepth 1 -maxdepth 6 -type d -path "*/$CG_PARENT*" 2>/dev/null | sort
}

# cg_cleanup: remove this test's cgroups, leaf first (only ours, only
# empty ones: a leftover process makes rmdir fail, which the test reports).
cg_cleanup() {
	our_dirs | sort -r | while read -r d; do rmdir "$d" 2>/dev/null || true; done
}

# wait_for CMD...: run CMD until it succeeds, at most ~10s (~40s on a
# slow guest: TEU_WAIT_SCALE).
wait_for() {
	local _
	for _ in $(seq 1 $((200 * ${TEU_WAIT_SCALE:-1}))); do
		"$@" && return 0
		sleep 0.05
	done
	echo "timed out waiting for: $*" >&2
	return 1
}

# Teardown: the harness's (delete every container), then our cgroups.
eval "$(declare -f teardown | sed '1s/^teardown/harness_teardown/')"
teardown() {
	harness_teardown
	cg_cleanup
}

# nprocs_at_least ID N: the container's cgroup holds at least N processes.
nprocs_at_least() {
	[ "$(wc -l < "$(cg_dir "$1" pids)/cgroup.procs")" -ge "$2" ]
}

# lines_at_least FILE N
lines_at_least() {
	[ -e "$1" ] && [ "$(wc -l < "$1")" -ge "$2" ]
}

# frozen ID: the container's cgroup is frozen (v1 freezer.state FROZEN,
# v2 cgroup.events "frozen 1").
frozen() {
	if [ -n "$CG_V2" ]; then
		grep -qx 'frozen 1' "$(cg_dir "$1" freezer)/cgroup.events"
	else
		[ "$(cg_read "$1" freezer freezer.state)" = FROZEN ]
	fi
}

# thawed ID
thawed() {
	if [ -n "$CG_V2" ]; then
		grep -qx 'frozen 0' "$(cg_dir "$1" freezer)/cgroup.events"
	else
		[ "$(cg_read "$1" freezer freezer.state)" = THAWED ]
	fi
}

# oom_kills ID: the number of OOM kills in the container's cgroup.
oom_kills() {
	if [ -n "$CG_V2" ]; then
		sed -n 's/^oom_kill //p' "$(cg_dir "$1" memory)/memory.events"
	else
		sed -n 's/^oom_kill //p' "$(cg_dir "$1" memory)/memory.oom_control"
	fi
}

# cpu_weight SHARES: cgroup v2's cpu.weight for cgroup v1 cpu.shares, by
# runc's (>= 1.3.2) conversion, ceil(10^((l^2 + 125 l) / 612 - 7/34)) with
# l = log2(shares); worked out for the shares the tests use (the guest's
# busybox awk has no math functions).
cpu_weight() {
	case $1 in
	2) echo 1 ;; 100) echo 17 ;; 512) echo 59 ;; 1024) echo 100 ;;
	2048) echo 174 ;; 4096) echo 303 ;; 262144) echo 10000 ;;
	*) echo "cpu_weight: no value for $1 shares" >&2; return 1 ;;
	esac
}

# share_dir_cg: bind $TEST_ROOT/shared (SHARED) at /shared in the
# container, for the container to leave evidence in.
share_dir_cg() {
	SHARED=$TEST_ROOT/shared
	mkdir -p "$SHARED"
	update_config ".mounts += [{\"destination\": \"/shared\", \"type\": \"bind\", \"source\": \"$SHARED\", \"options\": [\"rbind\", \"rw\"]}]"
}
