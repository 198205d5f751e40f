#!/usr/bin/env bash
# isolate.sh NAME CMD...: run CMD in cgroups of its own, so that test runs
# going on side by side (several developers or helpers on one machine) do
# not collide: a container without cgroupsPath lands in <caller's cgroup>/<id>
# and the same ids in two runs would meet there. In every hierarchy the
# caller's cgroup gets a child teu-iso-NAME; CMD runs in it, and it is
# removed afterwards (only if empty). Nothing above our own cgroups changes.
set -euo pipefail
[[ $# -ge 2 ]] || { echo "usage: $0 NAME CMD..." >&2; exit 2; }
name=teu-iso-$1
shift
dirs=()
while IFS=: read -r _ ctrls path; do
	if [[ -z $ctrls ]]; then
		mnt=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
	else
		mnt=$(awk -v c="$ctrls" '$9 == "cgroup" { n = split($NF, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) { print $5; exit } }' /proc/self/mountinfo)
	fi
	[[ -n $mnt && -d $mnt$path ]] || continue
	d=$mnt${path%/}/$name
	mkdir -p "$d"
	dirs+=("$d")
	# A new v1 cpuset starts with no cpus or mems.
	for f in cpuset.cpus cpuset.mems; do
		[[ -f $d/$f && -z $(cat "$d/$f") ]] && cat "$(dirname "$d")/$f" >"$d/$f"
	done
	# A little real-time budget for the cpu tests (a new cgroup has none).
	[[ -f $d/cpu.rt_runtime_us ]] && { echo 20000 >"$d/cpu.rt_runtime_us" 2>/dev/null || true; }
done </proc/self/cgroup
cleanup() {
	local d
	for d in "${dirs[@]}"; do
		# Back to where we came from, then the (empty) cgroup goes.
		echo $$ >"$(dirname "$d")/cgroup.procs" 2>/dev/null || true
		rmdir "$d" 2>/dev/null || echo "isolate: $d not empty, left in place" >&2
	done
}
trap cleanup EXIT
for d in "${dirs[@]}"; do echo $$ >"$d/cgroup.procs"; done
"$@"
