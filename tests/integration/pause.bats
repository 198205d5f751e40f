#!/usr/bin/env bats
# pause / resume: the v1 freezer, v2's cgroup.freeze.
load helpers
load cgroup_helpers

setup() {
	require_cgroups
	new_bundle
	set_cgroup_path p
	# A counter written to a bind-mounted host file.
	mkdir "$TEST_ROOT/shared"
	update_config ".mounts += [{\"destination\":\"/shared\",\"type\":\"bind\",\"source\":\"$TEST_ROOT/shared\",\"options\":[\"rbind\",\"rw\"]}]"
	set_args sh -c 'i=0; while :; do i=$((i+1)); echo $i > /shared/n.tmp; mv /shared/n.tmp /shared/n; done'
}

counter() { cat "$TEST_ROOT/shared/n" 2>/dev/null || echo 0; }

# advanced FROM: the counter is past FROM.
advanced() { [ "$(counter)" -gt "$1" ]; }

@test "pause: a frozen container makes no progress; resume lets it go on" {
	teu run -d --bundle "$BUNDLE" p
	wait_for advanced 10
	teu pause p
	[ "$(teu state p | jq -r .status)" = paused ]
	frozen p
	teu list | grep -q ' paused '
	n=$(counter)
	# Give a running loop ample time to move (it moves thousands of times a second).
	sleep 0.5
	[ "$(counter)" -eq "$n" ]
	teu resume p
	[ "$(teu state p | jq -r .status)" = running ]
	thawed p
	wait_for advanced "$n"
}

@test "pause: every process of the container is frozen, not only the init" {
	update_config '.process.args = ["sh","-c","sleep 100 & sleep 100 & i=0; while :; do i=$((i+1)); echo $i > /shared/n.tmp; mv /shared/n.tmp /shared/n; done"]'
	teu run -d --bundle "$BUNDLE" p
	wait_for advanced 10
	teu pause p
	procs=$(cat "$(cg_dir p freezer)/cgroup.procs")
	[ "$(echo "$procs" | wc -l)" -ge 3 ]
	for pid in $procs; do
		# A frozen task sleeps in the refrigerator: never running.
		[ "$(awk '/^State:/ {print $2}' /proc/$pid/status)" != R ]
	done
	n=$(counter)
	sleep 0.3
	[ "$(counter)" -eq "$n" ]
	teu resume p
	wait_for advanced "$n"
}

@test "pause: errors: pausing twice, resuming a running container, a stopped one" {
	teu run -d --bundle "$BUNDLE" p
	run teu resume p
	assert_one_error_line
	[[ "$output" == *"not paused"* ]]
	teu pause p
	run teu pause p
	assert_one_error_line
	[[ "$output" == *"already paused"* ]]
	teu resume p
	teu kill p KILL
	wait_status p stopped
	run teu pause p
	assert_one_error_line
	[[ "$output" == *"not running"* ]]
}

@test "pause: a created container can be paused; delete --force of a paused container" {
	teu create --bundle "$BUNDLE" p
	teu pause p
	[ "$(teu state p | jq -r .status)" = paused ]
	teu resume p
	[ "$(teu state p | jq -r .status)" = created ]
	teu start p
	wait_for advanced 10
	teu pause p
	dirs=$(jq -r '.cgroup_paths[]' "$TEU_ROOT/p/state.json" | sort -u)
	teu delete --force p
	for d in $dirs; do [ ! -e "$d" ]; done
}

@test "pause: kill --all KILL ends a paused container" {
	teu run -d --bundle "$BUNDLE" p
	wait_for advanced 10
	teu pause p
	teu kill --all p KILL
	wait_status p stopped
	teu delete p
	[ -z "$(our_dirs | grep -v "/$CG_PARENT\$")" ]
}

@test "pause: kill KILL (the init only) ends a paused container, as runc does (podman kill of a paused one)" {
	teu run -d --bundle "$BUNDLE" p
	wait_for advanced 10
	teu pause p
	pid=$(teu state p | jq -r .pid)
	teu kill p KILL
	# Frozen processes die only once thawed: kill thawed the cgroup.
	wait_status p stopped
	[ ! -e "/proc/$pid" ] || [ "$(awk '{print $3}' "/proc/$pid/stat")" = Z ]
	teu delete p
	[ -z "$(our_dirs | grep -v "/$CG_PARENT\$")" ]
}

@test "pause: other signals leave a paused container paused" {
	teu run -d --bundle "$BUNDLE" p
	wait_for advanced 10
	teu pause p
	teu kill p TERM
	[ "$(teu state p | jq -r .status)" = paused ]
	frozen p
}

@test "pause: v2: a sub-cgroup of the container's is frozen with it (cgroup.freeze is hierarchical)" {
	require_cgroup_v2 "cgroup.freeze"
	teu run -d --bundle "$BUNDLE" p
	wait_for advanced 10
	d=$(cg_dir p freezer)
	mkdir "$d/sub"
	teu exec -d --pid-file "$TEST_ROOT/sub.pid" --cgroup sub p sleep 1000
	pid=$(cat "$TEST_ROOT/sub.pid")
	grep -qx "$pid" "$d/sub/cgroup.procs"
	teu pause p
	grep -qx 'frozen 1' "$d/sub/cgroup.events"
	[ "$(awk '/^State:/ {print $2}' /proc/$pid/status)" != R ]
	n=$(counter)
	sleep 0.3
	[ "$(counter)" -eq "$n" ]
	teu resume p
	grep -qx 'frozen 0' "$d/sub/cgroup.events"
	wait_for advanced "$n"
	# delete removes the sub-cgroup too
	teu delete --force p
	[ ! -e "$d" ]
}
