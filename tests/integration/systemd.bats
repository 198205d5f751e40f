#!/usr/bin/env bats
# The systemd cgroup driver (--systemd-cgroup): a container's cgroup is a
# transient scope made over D-Bus, its limits unit properties, the
# org.systemd.property.* annotations too. Without systemd, the flag fails
# in one line and leaves nothing. The scope tests need systemd as init on
# a cgroup v2 host: `make test-systemd` runs them in a QEMU guest that is
# one (tests/vm/README.md); elsewhere they skip with the reason.
load helpers

CG=/sys/fs/cgroup

requires_systemd() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	[ -d /run/systemd/system ] || skip "systemd is not running on this host"
	local fstype
	fstype=$(stat -f -c %t "$CG" 2>/dev/null)
	[ "$fstype" = 63677270 ] || skip "not a cgroup v2 host"
}

# this test's container id and its scope
ctr() { echo "sd-$BATS_TEST_NUMBER"; }
scope() { echo "teu-$(ctr).scope"; }

setup() {
	new_bundle
	update_config ".linux.cgroupsPath = \"system.slice:teu:$(ctr)\""
}

# units NAME: the units systemd still knows of that name (any state)
units() {
	command -v systemctl >/dev/null || return 0
	systemctl list-units --all --no-legend --plain "$1" 2>/dev/null | awk '{print $1}'
}

teardown() {
	if [ -d "$TEU_ROOT" ]; then
		for id in $("$TEU_BIN" --root "$TEU_ROOT" --systemd-cgroup list -q 2>/dev/null); do
			"$TEU_BIN" --root "$TEU_ROOT" --systemd-cgroup delete --force "$id" >/dev/null 2>&1 || true
		done
	fi
	rm -rf "$TEST_ROOT"
	# Every test must leave no unit behind.
	local left
	left=$(units "teu-sd-$BATS_TEST_NUMBER*")
	if [ -n "$left" ]; then
		systemctl stop $left >/dev/null 2>&1
		systemctl reset-failed $left >/dev/null 2>&1
		echo "unit(s) left behind: $left" >&2
		return 1
	fi
}

tsd() { teu --systemd-cgroup "$@"; }

# prop UNIT NAME: one property as systemctl shows it
prop() { systemctl show --value -p "$2" "$1"; }

@test "systemd: without systemd, --systemd-cgroup fails in one line and leaves nothing" {
	[ ! -d /run/systemd/system ] || skip "systemd is running here"
	set_args true
	run tsd run --bundle "$BUNDLE" "$(ctr)"
	assert_one_error_line
	[[ "$output" == *"systemd is not running on this host"* ]]
	[ -z "$(teu list -q)" ]
	[ -z "$(ls -A "$TEU_ROOT")" ]
	# no cgroup under any hierarchy either
	! ls -d "$CG"/*/system.slice/"$(scope)" "$CG"/system.slice/"$(scope)" 2>/dev/null
}

@test "systemd: a cgroupsPath that is not slice:prefix:name is refused" {
	update_config '.linux.cgroupsPath = "/teu/x"'
	set_args true
	run tsd run --bundle "$BUNDLE" "$(ctr)"
	assert_one_error_line
	[[ "$output" == *'want "slice:prefix:name" with --systemd-cgroup'* ]]
	[ -z "$(teu list -q)" ]
}

@test "systemd: the container runs in a delegated scope with its limits as properties and in its files" {
	requires_systemd
	update_config '.linux.resources += {
		"memory": {"limit": 67108864},
		"cpu": {"quota": 50000, "period": 100000},
		"pids": {"limit": 50}
	} | .annotations += {
		"org.systemd.property.CollectMode": "'"'inactive-or-failed'"'",
		"org.systemd.property.TimeoutStopUSec": "uint64 5000000"
	}'
	set_args sleep 100
	tsd run -d --bundle "$BUNDLE" "$(ctr)"
	u=$(scope)
	systemctl is-active "$u"
	systemctl status "$u" >/dev/null
	[ "$(prop "$u" ControlGroup)" = "/system.slice/$u" ]
	[ "$(prop "$u" Delegate)" = yes ]
	pid=$(tsd state "$(ctr)" | jq -r .pid)
	grep -qx "0::/system.slice/$u" "/proc/$pid/cgroup"
	d=$CG/system.slice/$u
	[ "$(cat "$d/memory.max")" = 67108864 ]
	[ "$(cat "$d/pids.max")" = 50 ]
	[ "$(cat "$d/cpu.max")" = "50000 100000" ]
	[ "$(prop "$u" MemoryMax)" = 67108864 ]
	[ "$(prop "$u" TasksMax)" = 50 ]
	[ "$(prop "$u" CPUQuotaPerSecUSec)" = 500ms ]
	# the annotations
	[ "$(prop "$u" CollectMode)" = inactive-or-failed ]
	[ "$(prop "$u" TimeoutStopUSec)" = 5s ]
	# exec joins the scope's cgroup
	run tsd exec "$(ctr)" cat /proc/self/cgroup
	[ "$status" -eq 0 ]
	[ "$output" = "0::/" ]
	tsd delete --force "$(ctr)"
	[ -z "$(units "$u")" ]
	[ ! -d "$d" ]
}

@test "systemd: an empty cgroupsPath is teu-<id>.scope in system.slice; nested slices expand" {
	requires_systemd
	update_config '.linux.cgroupsPath = ""'
	set_args sleep 100
	tsd run -d --bundle "$BUNDLE" "$(ctr)"
	systemctl is-active "$(scope)"
	[ "$(prop "$(scope)" ControlGroup)" = "/system.slice/$(scope)" ]
	tsd delete --force "$(ctr)"
	[ -z "$(units "$(scope)")" ]

	update_config ".linux.cgroupsPath = \"teu-bats.slice:teu:$(ctr)\""
	tsd run -d --bundle "$BUNDLE" "$(ctr)"
	[ "$(prop "$(scope)" ControlGroup)" = "/teu.slice/teu-bats.slice/$(scope)" ]
	[ -d "$CG/teu.slice/teu-bats.slice/$(scope)" ]
	tsd delete --force "$(ctr)"
	[ -z "$(units "$(scope)")" ]
	systemctl stop teu-bats.slice teu.slice 2>/dev/null || true
}

@test "systemd: update changes the unit's properties and the cgroup's files" {
	requires_systemd
	update_config '.linux.resources += {"memory": {"limit": 67108864}, "pids": {"limit": 50}}'
	set_args sleep 100
	tsd run -d --bundle "$BUNDLE" "$(ctr)"
	u=$(scope)
	d=$CG/system.slice/$u
	tsd update --memory 128m --pids-limit 70 --cpu-quota 25000 --cpu-period 100000 "$(ctr)"
	[ "$(prop "$u" MemoryMax)" = 134217728 ]
	[ "$(prop "$u" TasksMax)" = 70 ]
	[ "$(prop "$u" CPUQuotaPerSecUSec)" = 250ms ]
	[ "$(cat "$d/memory.max")" = 134217728 ]
	[ "$(cat "$d/pids.max")" = 70 ]
	[ "$(cat "$d/cpu.max")" = "25000 100000" ]
	# and it is recorded: events --stats still reads the same cgroup
	[ "$(tsd events --stats "$(ctr)" | jq -r .data.pids.limit)" = 70 ]
}

@test "systemd: pause and resume freeze the scope's cgroup" {
	requires_systemd
	set_args sleep 100
	tsd run -d --bundle "$BUNDLE" "$(ctr)"
	d=$CG/system.slice/$(scope)
	tsd pause "$(ctr)"
	[ "$(tsd state "$(ctr)" | jq -r .status)" = paused ]
	grep -qx "frozen 1" "$d/cgroup.events"
	tsd resume "$(ctr)"
	[ "$(tsd state "$(ctr)" | jq -r .status)" = running ]
	grep -qx "frozen 0" "$d/cgroup.events"
	systemctl is-active "$(scope)"
}

@test "systemd: an OOM kill in the scope is reported by events and the unit stays until delete" {
	requires_systemd
	update_config '.linux.resources += {"memory": {"limit": 16777216, "swap": 16777216}}'
	mkdir "$TEST_ROOT/shared"
	update_config ".mounts += [{\"destination\":\"/shared\",\"type\":\"bind\",\"source\":\"$TEST_ROOT/shared\",\"options\":[\"rbind\",\"rw\"]}]"
	set_args sh -c 'while [ ! -e /shared/go ]; do sleep 0.05; done; tail /dev/zero; echo "hog $?" > /shared/done; sleep 100'
	tsd run -d --bundle "$BUNDLE" "$(ctr)"
	u=$(scope)
	d=$CG/system.slice/$u
	[ "$(prop "$u" MemoryMax)" = 16777216 ]
	[ "$(cat "$d/memory.swap.max")" = 0 ]
	tsd events --interval 200ms "$(ctr)" > "$TEST_ROOT/events" &
	evpid=$!
	wait_ev() { grep -q "$1" "$TEST_ROOT/events"; }
	for _ in $(seq 400); do wait_ev '"type":"stats"' && break; sleep 0.05; done
	touch "$TEST_ROOT/shared/go"
	for _ in $(seq 400); do [ -e "$TEST_ROOT/shared/done" ] && break; sleep 0.05; done
	[ "$(cat "$TEST_ROOT/shared/done")" = "hog 137" ]
	for _ in $(seq 400); do wait_ev '"type":"oom"' && break; sleep 0.05; done
	kill $evpid
	wait $evpid || true
	grep -q '"type":"oom"' "$TEST_ROOT/events"
	grep -q '^oom_kill [1-9]' "$d/memory.events"
	# The scope lives on (the init survived); delete removes it.
	systemctl is-active "$u"
	tsd delete --force "$(ctr)"
	[ -z "$(units "$u")" ]
}

@test "systemd: kill --all goes through the scope's cgroup.kill and takes every process" {
	requires_systemd
	# The host's pid namespace: only the cgroup knows every process.
	update_config '.linux.namespaces |= map(select(.type != "pid"))'
	set_args sh -c 'sleep 100 & sleep 100 & wait'
	tsd run -d --bundle "$BUNDLE" "$(ctr)"
	d=$CG/system.slice/$(scope)
	[ -e "$d/cgroup.kill" ] || skip "kernel without cgroup.kill"
	for _ in $(seq 400); do [ "$(wc -l <"$d/cgroup.procs")" -ge 3 ] && break; sleep 0.05; done
	[ "$(wc -l <"$d/cgroup.procs")" -ge 3 ]
	if command -v strace >/dev/null; then
		strace -f -qq -e trace=openat -o "$TEST_ROOT/strace" "$TEU_BIN" --root "$TEU_ROOT" kill --all "$(ctr)" KILL
		grep -q '/cgroup.kill", O_WRONLY' "$TEST_ROOT/strace"
	else
		tsd kill --all "$(ctr)" KILL
	fi
	wait_status "$(ctr)" stopped
	for _ in $(seq 400); do [ ! -s "$d/cgroup.procs" ] && break; sleep 0.05; done
	[ ! -s "$d/cgroup.procs" ] || [ ! -e "$d" ]
	tsd delete "$(ctr)"
	[ -z "$(units "$(scope)")" ]
	[ ! -d "$d" ]
}

@test "systemd: delete of a stopped container removes its unit" {
	requires_systemd
	set_args sh -c 'exit 3'
	tsd create --bundle "$BUNDLE" "$(ctr)"
	systemctl is-active "$(scope)"
	tsd start "$(ctr)"
	wait_status "$(ctr)" stopped
	tsd delete "$(ctr)"
	[ -z "$(units "$(scope)")" ]
	[ ! -d "$CG/system.slice/$(scope)" ]
	# the same name again starts cleanly
	set_args true
	tsd run --bundle "$BUNDLE" "$(ctr)"
	[ -z "$(units "$(scope)")" ]
}

@test "systemd: a failed create leaves no unit" {
	requires_systemd
	set_args true
	# systemd refuses the property: the unit never starts
	update_config '.annotations += {"org.systemd.property.NoSuchThing": "uint64 1"}'
	run tsd create --bundle "$BUNDLE" "$(ctr)"
	assert_one_error_line
	[[ "$output" == *"start unit $(scope)"* ]]
	[ -z "$(units "$(scope)")" ]
	[ -z "$(teu list -q)" ]
	# the unit started, then a prestart hook failed: it is stopped again
	update_config 'del(.annotations["org.systemd.property.NoSuchThing"]) | .hooks = {"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", "exit 7"]}]}'
	run tsd create --bundle "$BUNDLE" "$(ctr)"
	assert_one_error_line
	[ -z "$(units "$(scope)")" ]
	[ ! -d "$CG/system.slice/$(scope)" ]
	[ -z "$(teu list -q)" ]
}
