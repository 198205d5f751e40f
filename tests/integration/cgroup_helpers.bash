# Helpers for the cgroup tests (cgroups, update, pause, ps, events). Load
# after helpers.bash. Every cgroup a test makes is named after the test
# (cgroupsPath teu-bats-<pid>-<n>/<id>, relative to our own cgroups), so
# the checks look only at what the test made, and teardown removes it
# even when the test failed.

CG_PARENT="teu-bats-$$-$BATS_TEST_NUMBER"

# The first cgroup v1 hierarchy mounted? Otherwise these tests do not apply.
require_cgroup_v1() {
	grep -q ' - cgroup cgroup ' /proc/self/mountinfo || skip "needs cgroup v1 (hybrid) hierarchies"
	[ "$(id -u)" -eq 0 ] || skip "needs root"
}

# set_cgroup_path ID: the container's cgroupsPath, relative to our cgroups.
set_cgroup_path() {
	update_config ".linux.cgroupsPath = \"$CG_PARENT/$1\""
}

# set_resources JSON: linux.resources = JSON, keeping the device rules.
set_resources() {
	update_config ".linux.resources = ((.linux.resources // {}) + $1)"
}

# cg_dir ID CONTROLLER: the container's directory for CONTROLLER ("" for
# the cgroup2 one), from its state.
cg_dir() {
	jq -r --arg c "$2" '.cgroup_paths[$c] // empty' "$TEU_ROOT/$1/state.json"
}

# cg_read ID CONTROLLER FILE
cg_read() {
	cat "$(cg_dir "$1" "$2")/$3"
}

# our_dirs: every directory under any hierarchy that carries this test's
# cgroup parent name.
our_dirs() {
	find /sys/fs/cgroup -mindepth 1 -maxdepth 6 -type d -path "*/$CG_PARENT*" 2>/dev/null | sort
}

# cg_cleanup: remove this test's cgroups, leaf first (only ours, only
# empty ones: a leftover process makes rmdir fail, which the test reports).
cg_cleanup() {
	our_dirs | sort -r | while read -r d; do rmdir "$d" 2>/dev/null || true; done
}

# wait_for CMD...: run CMD until it succeeds, at most ~10s.
wait_for() {
	for _ in $(seq 1 200); do
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
