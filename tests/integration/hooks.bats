#!/usr/bin/env bats
# The six kinds of hooks: order, state on stdin, args, env, where they run,
# what their failure does, timeouts.
load helpers

setup() {
	new_bundle
	# The log is bound into the container for the startContainer hook.
	mkdir "$TEST_ROOT/hooklog"
	LOG=$TEST_ROOT/hooklog/log
	update_config ".mounts += [{\"destination\": \"/hooklog\", \"type\": \"bind\", \"source\": \"$TEST_ROOT/hooklog\", \"options\": [\"rbind\"]}]"
	# One script for all kinds; it runs on the host (dash) and in the
	# container (busybox sh). A copy lives in the rootfs for startContainer.
	cat >"$TEST_ROOT/hook.sh" <<-'SH'
		#!/bin/sh
		log=$1 kind=$2
		state=$(cat)
		printf '%s|%s|%s|%s|%s|%s\n' "$kind" "$*" "$HOOKENV" "$(readlink /proc/self/ns/mnt)" "$PPID" "$state" >>"$log"
		[ -e "${log%/*}/fail-$kind" ] && { echo "hook $kind says no" >&2; exit 3; }
		[ -e "${log%/*}/slow-$kind" ] && exec sleep 30
		exit 0
	SH
	chmod 755 "$TEST_ROOT/hook.sh"
	cp "$TEST_ROOT/hook.sh" "$BUNDLE/rootfs/bin/hook.sh"
	local k hooks='{}'
	for k in prestart createRuntime createContainer poststart poststop; do
		hooks=$(jq -c --arg k "$k" --arg p "$TEST_ROOT/hook.sh" --arg l "$LOG" \
			'.[$k] = [{"path": $p, "args": ["hook.sh", $l, $k, "an arg"], "env": ["HOOKENV=env-" + $k]}]' <<<"$hooks")
	done
	hooks=$(jq -c '.startContainer = [{"path": "/bin/hook.sh", "args": ["hook.sh", "/hooklog/log", "startContainer", "an arg"], "env": ["HOOKENV=env-startContainer"]}]' <<<"$hooks")
	update_config ".hooks = $hooks"
}

# entry KIND FIELD: field N (1 kind, 2 args, 3 env, 4 mnt ns, 5 ppid, 6 state) of KIND's log line.
entry() {
	grep "^$1|" "$LOG" | cut -d'|' -f"$2"
}

@test "hooks: all six run in order with state, args and env" {
	set_args sh -c 'readlink /proc/self/ns/mnt'
	teu create --bundle "$BUNDLE" h1 >"$TEST_ROOT/out"
	pid=$(teu state h1 | jq .pid)
	teu start h1
	wait_status h1 stopped
	teu delete h1
	cat "$LOG"
	[ "$(cut -d'|' -f1 "$LOG" | tr '\n' ' ')" = "prestart createRuntime createContainer startContainer poststart poststop " ]
	ctr_mnt=$(cat "$TEST_ROOT/out")
	host_mnt=$(readlink /proc/self/ns/mnt)
	for k in prestart createRuntime createContainer startContainer poststart poststop; do
		st=$(entry $k 6)
		[ "$(jq -r .id <<<"$st")" = h1 ]
		[ "$(jq -r .bundle <<<"$st")" = "$BUNDLE" ]
		[ "$(jq -r .ociVersion <<<"$st")" != null ]
		# During create the spec leaves the status open: runc says
		# "creating", runtime-tools' hooks_stdin wants "created".
		case $k in
		prestart | createRuntime | createContainer) want='creating|created' ;;
		startContainer) want=created ;;
		poststart) want=running ;;
		poststop) want=stopped ;;
		esac
		[[ "$(jq -r .status <<<"$st")" =~ ^($want)$ ]] || { echo "$k: status $(jq -r .status <<<"$st"), want $want"; false; }
		# The pid is the init's, as the host sees it.
		if [ $k != poststop ]; then
			[ "$(jq -r .pid <<<"$st")" = "$pid" ]
		fi
		if [ $k = startContainer ]; then
			[ "$(entry $k 2)" = "/hooklog/log $k an arg" ]
		else
			[ "$(entry $k 2)" = "$LOG $k an arg" ]
		fi
		[ "$(entry $k 3)" = "env-$k" ]
	done
	# Where they ran: createContainer and startContainer in the container's
	# mount namespace (startContainer is the container's /bin/hook.sh), the
	# others in the runtime's.
	[ "$(entry createContainer 4)" = "$ctr_mnt" ]
	[ "$(entry startContainer 4)" = "$ctr_mnt" ]
	for k in prestart createRuntime poststart poststop; do
		[ "$(entry $k 4)" = "$host_mnt" ]
	done
	# createContainer and startContainer are children of the init.
	[ "$(entry startContainer 5)" = 1 ]
}

@test "hooks: startContainer's path is resolved in the container" {
	# Only the rootfs has this path.
	rm "$BUNDLE/rootfs/bin/hook.sh"
	mkdir -p "$BUNDLE/rootfs/ctr-only"
	cp "$TEST_ROOT/hook.sh" "$BUNDLE/rootfs/ctr-only/hook.sh"
	[ ! -e /ctr-only/hook.sh ]
	update_config '.hooks.startContainer[0].path = "/ctr-only/hook.sh"'
	run_sh 'true'
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q '^startContainer|' "$LOG"
}

@test "hooks: a failing prestart, createRuntime or createContainer hook fails create and leaves nothing" {
	for k in prestart createRuntime createContainer; do
		rm -f "$LOG" "$TEST_ROOT"/hooklog/fail-*
		touch "$TEST_ROOT/hooklog/fail-$k"
		set_args sleep 100
		run teu create --bundle "$BUNDLE" "f-$k"
		echo "$k: $output"
		[ "$status" -eq 1 ]
		[[ "$output" == *"$k hook"* ]]
		[[ "$output" == *"hook $k says no"* ]]
		[ "$(printf '%s\n' "$output" | wc -l)" -eq 1 ]
		# The later hooks did not run; the init is gone, its state too.
		[ "$(cut -d'|' -f1 "$LOG" | tail -1)" = "$k" ]
		init=$(entry $k 6 | jq .pid)
		[ "$init" -gt 1 ]
		for _ in $(seq 100); do [ -e /proc/$init ] || break; sleep 0.05; done
		[ ! -e /proc/$init ]
		[ -z "$(teu list -q)" ]
		[ ! -e "$TEU_ROOT/f-$k" ]
		# poststop does not run for a container that was never created.
		refute grep -q '^poststop|' "$LOG"
	done
}

@test "hooks: a failing poststart hook fails start and stops the container" {
	touch "$TEST_ROOT/hooklog/fail-poststart"
	set_args sleep 100
	teu create --bundle "$BUNDLE" p1
	run teu start p1
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"poststart hook"*"hook poststart says no"* ]]
	wait_status p1 stopped
	teu delete p1
	grep -q '^poststop|' "$LOG"
}

@test "hooks: a failing poststop hook only warns" {
	touch "$TEST_ROOT/hooklog/fail-poststop"
	run_sh 'echo ran'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *ran* ]]
	[ -z "$(teu list -q)" ]

	set_args true
	teu create --bundle "$BUNDLE" p2
	teu start p2
	wait_status p2 stopped
	run teu delete p2
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *poststop* ]]
	[[ "$output" == *"hook poststop says no"* ]]
	[ -z "$(teu list -q)" ]
	[ ! -e "$TEU_ROOT/p2" ]
}

@test "hooks: a hook past its timeout is killed and fails create" {
	touch "$TEST_ROOT/hooklog/slow-createRuntime"
	update_config '.hooks.createRuntime[0].timeout = 1'
	start=$(date +%s)
	run teu create --bundle "$BUNDLE" t1
	end=$(date +%s)
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"timed out"* ]]
	[ $((end - start)) -lt 10 ]
	[ -z "$(teu list -q)" ]
}
