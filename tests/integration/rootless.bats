#!/usr/bin/env bats
# Rootless: teu run by a real unprivileged user that each test makes (and
# removes, with its containers, files, cgroups and /etc/subuid lines, even on
# failure). On cgroup v1 and on v2 (make test-cgroupv2 runs this file in a
# pure v2 guest): with a cgroup delegated to the user, and without one.
load helpers

eval "helpers_$(declare -f teardown)"

CG=/sys/fs/cgroup
CG_V2=
[ "$(stat -f -c %t "$CG" 2>/dev/null)" = 63677270 ] && CG_V2=1

# mkuser NAME: a user with its own group (useradd, or /etc/passwd lines
# where there is none, as in the busybox guest).
mkuser() {
	if command -v useradd >/dev/null; then
		useradd --no-create-home --home-dir / --shell /bin/sh "$1"
		return
	fi
	local id=$((20000 + BATS_TEST_NUMBER))
	echo "$1:x:$id:$id::/:/bin/sh" >>/etc/passwd
	echo "$1:x:$id:" >>/etc/group
}

rmuser() {
	if command -v userdel >/dev/null; then
		userdel -f "$1" 2>/dev/null || true
	else
		sed -i "/^$1:/d" /etc/passwd /etc/group
	fi
}

setup() {
	TEST_ROOT=$(mktemp -d /tmp/teu-test.XXXXXX)
	# shellcheck disable=SC2034 # the helpers' teardown reads it
	TEU_ROOT=$TEST_ROOT/state
	BUNDLE=$TEST_ROOT/bundle
	chmod 755 "$TEST_ROOT"
	RL_USER=teurl-$BATS_ROOT_PID-$BATS_TEST_NUMBER
	mkuser "$RL_USER"
	RL_UID=$(id -u "$RL_USER")
	RL_GID=$(id -g "$RL_USER")
	# The user runs its own copy of teu (the build tree need not be
	# reachable), keeps its state under its XDG_RUNTIME_DIR and owns the
	# bundle, as a rootless user would.
	mkdir "$TEST_ROOT/bin"
	cp "$TEU_BIN" "$TEST_ROOT/bin/teu"
	chmod 755 "$TEST_ROOT/bin" "$TEST_ROOT/bin/teu"
	RL_XDG=$TEST_ROOT/xdg
	mkdir -m 700 "$RL_XDG"
	chown "$RL_USER:" "$RL_XDG"
	cp -a "$TEU_CACHE/bundle" "$BUNDLE"
	rm "$BUNDLE/config.json"
	chown -R "$RL_USER:" "$BUNDLE"
}

teardown() {
	if [ -n "${RL_USER:-}" ] && id "$RL_USER" >/dev/null 2>&1; then
		for id in $(as_user teu list -q 2>/dev/null); do
			as_user teu delete --force "$id" >/dev/null 2>&1 || true
		done
		sed -i "/^$RL_USER:/d" /etc/subuid /etc/subgid 2>/dev/null || true
		rmuser "$RL_USER"
	fi
	undelegate
	helpers_teardown
}

# as_user teu ARGS: run the user's teu as the user, with a clean
# environment; as_user CMD ARGS: any command. With a delegated cgroup
# (delegate), in its "session" leaf, as a login under systemd would be.
as_user() {
	local cmd=$1
	shift
	[ "$cmd" = teu ] && cmd=$TEST_ROOT/bin/teu
	local env=(PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/)
	[ -n "${RL_NO_XDG:-}" ] || env+=("XDG_RUNTIME_DIR=$RL_XDG")
	(
		cd "$BUNDLE" || exit 1
		if [ -n "${RL_SESSION:-}" ]; then
			echo "$BASHPID" >"$RL_SESSION/cgroup.procs" || exit 1
		fi
		exec setpriv --reuid "$RL_UID" --regid "$RL_GID" --clear-groups env -i "${env[@]}" "$cmd" "$@"
	)
}

# delegate: a cgroup subtree the user owns, as systemd's Delegate=yes makes
# one (the directory and its cgroup.procs, cgroup.subtree_control and
# cgroup.threads are the user's), with the user's commands running in its
# "session" leaf. Sets RL_CG (cgroupsPath of the subtree, relative on v1,
# absolute on v2) and RL_CGDIRS (its directories, one per v1 hierarchy).
delegate() {
	local name=teu-rl-$BATS_ROOT_PID-$BATS_TEST_NUMBER h path mnt d
	RL_CGDIRS=()
	if [ -n "$CG_V2" ]; then
		# At the root: a cgroup with processes of its own (ours, in the
		# systemd guest) cannot hand controllers down.
		d=$CG/$name
		mkdir "$d" "$d/session"
		RL_CGDIRS+=("$d")
		RL_SESSION=$d/session
		RL_CG=/$name
	else
		# Every v1 hierarchy, under our own cgroup in it (a cgroupsPath
		# must be delegated in each; the hybrid cgroup2 one is a courtesy).
		while IFS=: read -r _ h path; do
			[ -n "$h" ] || continue
			mnt=$(awk -v c="$h" '$0 ~ / - cgroup cgroup / { n = split($NF, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) { print $5; exit } }' /proc/self/mountinfo)
			[ -n "$mnt" ] || continue
			d=$mnt${path%/}/$name
			mkdir "$d"
			if [ -e "$d/cpuset.cpus" ]; then
				cat "$(dirname "$d")/cpuset.cpus" >"$d/cpuset.cpus"
				cat "$(dirname "$d")/cpuset.mems" >"$d/cpuset.mems"
			fi
			RL_CGDIRS+=("$d")
		done </proc/self/cgroup
		RL_CG=$name
	fi
	for d in "${RL_CGDIRS[@]}"; do
		chown "$RL_USER:" "$d" "$d"/cgroup.procs
		chown "$RL_USER:" "$d"/cgroup.subtree_control "$d"/cgroup.threads "$d"/tasks 2>/dev/null || true
		if [ -d "$d/session" ]; then chown -R "$RL_USER:" "$d/session"; fi
	done
}

# undelegate: remove the delegated subtrees, deepest first (rmdir only).
undelegate() {
	local d
	for d in "${RL_CGDIRS[@]}"; do
		find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	return 0
}
RL_CGDIRS=()

# rl_cgdir CTRL: the delegated subtree's directory for CTRL (the one
# directory on v2).
rl_cgdir() {
	local d
	[ -n "$CG_V2" ] && { echo "${RL_CGDIRS[0]}"; return; }
	for d in "${RL_CGDIRS[@]}"; do
		if compgen -G "$d/$1.*" >/dev/null; then
			echo "$d"
			return
		fi
	done
}

# no_warnings: $output and $lines without teu's warning lines (a rootless
# container without a delegated cgroup has one).
no_warnings() {
	output=$(grep -v ' level=warning ' <<<"$output")
	lines=()
	[ -z "$output" ] || mapfile -t lines <<<"$output"
}

# rl_spec: the user writes the rootless config; tests want no terminal.
rl_spec() {
	as_user teu spec --rootless
	update_config '.process.terminal = false'
	chown "$RL_USER:" "$BUNDLE/config.json"
}

# rl_args ARG...: process.args, keeping the file the user's.
rl_args() {
	jq '.process.args = $ARGS.positional' "$BUNDLE/config.json" --args -- "$@" >"$BUNDLE/config.json.new"
	mv "$BUNDLE/config.json.new" "$BUNDLE/config.json"
	chown "$RL_USER:" "$BUNDLE/config.json"
}

rl_config() {
	update_config "$1"
	chown "$RL_USER:" "$BUNDLE/config.json"
}

# subids: give the user subordinate ids (newuidmap/newgidmap) and map
# container ids 1..65536 to them.
SUB_START=655360
subids() {
	command -v newuidmap >/dev/null || skip "newuidmap not installed (package uidmap)"
	echo "$RL_USER:$SUB_START:65536" >>/etc/subuid
	echo "$RL_USER:$SUB_START:65536" >>/etc/subgid
	rl_config ".linux.uidMappings = [{\"containerID\": 0, \"hostID\": $RL_UID, \"size\": 1}, {\"containerID\": 1, \"hostID\": $SUB_START, \"size\": 65536}]
		| .linux.gidMappings = [{\"containerID\": 0, \"hostID\": $RL_GID, \"size\": 1}, {\"containerID\": 1, \"hostID\": $SUB_START, \"size\": 65536}]"
}

@test "rootless: spec --rootless is runc's rootless config" {
	rl_spec
	c=$BUNDLE/config.json
	[ "$(jq -c '.linux.uidMappings' "$c")" = "[{\"containerID\":0,\"hostID\":$RL_UID,\"size\":1}]" ]
	[ "$(jq -c '.linux.gidMappings' "$c")" = "[{\"containerID\":0,\"hostID\":$RL_GID,\"size\":1}]" ]
	# (A cgroup namespace on cgroup v2 only, as runc's.)
	ns='["ipc","mount","pid","user","uts"]'
	[ -n "$CG_V2" ] && ns='["cgroup","ipc","mount","pid","user","uts"]'
	[ "$(jq -c '[.linux.namespaces[].type] | sort' "$c")" = "$ns" ]
	[ "$(jq '.linux.resources' "$c")" = null ]
	[ "$(jq -c '.mounts[] | select(.destination == "/sys")' "$c")" = '{"destination":"/sys","type":"none","source":"/sys","options":["rbind","nosuid","noexec","nodev","ro"]}' ]
	[ "$(jq '[.mounts[].options // [] | .[] | select(startswith("uid=") or startswith("gid="))] | length' "$c")" -eq 0 ]
	if command -v runc >/dev/null; then
		mkdir "$TEST_ROOT/runc"
		chown "$RL_USER:" "$TEST_ROOT/runc"
		as_user runc spec --rootless -b "$TEST_ROOT/runc"
		r=$TEST_ROOT/runc/config.json
		for f in .mounts .linux.uidMappings .linux.gidMappings .linux.resources .process.user; do
			[ "$(jq -cS "$f" "$r")" = "$(jq -cS "$f" "$c")" ] || { echo "$f differs" >&2; false; }
		done
		[ "$(jq -n --slurpfile r "$r" --slurpfile t "$c" '$r[0].linux.namespaces - $t[0].linux.namespaces | length')" -eq 0 ]
	fi
}

@test "rootless: a config without a user namespace is one error that says so, nothing left" {
	as_user teu spec
	update_config '.process.terminal = false | .process.args = ["true"]'
	chown "$RL_USER:" "$BUNDLE/config.json"
	run as_user teu run r0
	echo "$output"
	assert_one_error_line
	[ "$output" = "teu: create r0: rootless container requires user namespaces: teu runs as uid $RL_UID, not root, and config.json has no user namespace (teu spec --rootless writes a config with one)" ]
	[ -z "$(as_user teu list -q)" ]
	[ -z "$(ls -A "$RL_XDG/teu" 2>/dev/null)" ]
}

@test "rootless: run as an unprivileged user: root inside, the user's uid outside; no cgroup delegated: said once" {
	rl_spec
	rl_args sh -c 'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups | tr -s " "; touch /tmp/x 2>/dev/null || echo ro-root'
	run as_user teu run r1
	echo "$output"
	[ "$status" -eq 0 ]
	# One warning: no cgroup for this container (none delegated).
	[ "$(grep -c "runs without cgroup limits" <<<"$output")" -eq 1 ]
	[[ "$output" == *"level=warning"*"no cgroup is delegated to this user (uid $RL_UID)"* ]]
	no_warnings
	[ "${lines[0]}" = 0 ]
	[ "${lines[1]}" = 0 ]
	[ "$(echo ${lines[2]})" = "0 $RL_UID 1" ]
	[ "$(echo ${lines[3]})" = "0 $RL_GID 1" ]
	[ "${lines[4]}" = deny ]
	[ "${lines[-1]}" = ro-root ]
	# Nothing else.
	[ "${#lines[@]}" -eq 6 ]
	[ ! -e "$RL_XDG/teu/r1" ]
}

@test "rootless: create, state, start, exec, kill, delete with the state under \$XDG_RUNTIME_DIR/teu" {
	rl_spec
	rl_args sleep 1000
	as_user teu create r2
	[ -d "$RL_XDG/teu/r2" ]
	[ "$(stat -c %U "$RL_XDG/teu/r2")" = "$RL_USER" ]
	run as_user teu state r2
	[ "$status" -eq 0 ]
	[ "$(jq -r .status <<<"$output")" = created ]
	[ "$(jq -r .owner <<<"$output")" = "$RL_USER" ]
	pid=$(jq -r .pid <<<"$output")
	# The init runs as the user on the host, in its own user namespace.
	[ "$(awk '/^Uid:/ {print $2, $3}' /proc/$pid/status)" = "$RL_UID $RL_UID" ]
	[ "$(readlink /proc/$pid/ns/user)" != "$(readlink /proc/self/ns/user)" ]
	as_user teu start r2
	[ "$(as_user teu state r2 | jq -r .status)" = running ]
	[ "$(as_user teu list -q)" = r2 ]
	run as_user teu exec r2 sh -c 'id -u; readlink /proc/1/exe; readlink /proc/self/ns/user'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0 ]
	[ "${lines[2]}" = "$(readlink /proc/$pid/ns/user)" ]
	as_user teu kill r2 KILL
	wait_status_user r2 stopped
	as_user teu delete r2
	[ ! -e "$RL_XDG/teu/r2" ]
	[ -z "$(as_user teu list -q)" ]
}

# wait_status_user ID STATUS: wait_status for the user's container.
wait_status_user() { wait_status_of "as_user teu" "$@"; }

@test "rootless: subordinate ids through newuidmap/newgidmap" {
	rl_spec
	subids
	rl_config '.root.readonly = false'
	mkdir "$BUNDLE/rootfs/shared"
	chown "$RL_USER:" "$BUNDLE/rootfs/shared"
	chmod 777 "$BUNDLE/rootfs/shared"
	rl_args sleep 1000
	as_user teu create r3
	as_user teu start r3
	run as_user teu exec r3 sh -c 'cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups | tr -s " "'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(echo ${lines[0]})" = "0 $RL_UID 1" ]
	[ "$(echo ${lines[1]})" = "1 $SUB_START 65536" ]
	[ "$(echo ${lines[2]})" = "0 $RL_GID 1" ]
	[ "$(echo ${lines[3]})" = "1 $SUB_START 65536" ]
	# newgidmap leaves setgroups allowed: supplementary groups work.
	[ "${lines[4]}" = allow ]
	run as_user teu exec --user 1:1 --additional-gids 2 r3 sh -c 'id -u; id -G; touch /shared/by-uid1'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1 ]
	[ "${lines[1]}" = "1 2" ]
	[ "$(stat -c %u:%g "$BUNDLE/rootfs/shared/by-uid1")" = "$SUB_START:$SUB_START" ]
	run as_user teu exec --user 1000:1000 r3 touch /shared/by-uid1000
	[ "$status" -eq 0 ]
	[ "$(stat -c %u:%g "$BUNDLE/rootfs/shared/by-uid1000")" = "$((SUB_START + 999)):$((SUB_START + 999))" ]
}

@test "rootless: a map beyond the user's own id without subordinate ids is one error, nothing left" {
	command -v newuidmap >/dev/null || skip "newuidmap not installed (package uidmap)"
	rl_spec
	rl_config ".linux.uidMappings += [{\"containerID\": 1, \"hostID\": $SUB_START, \"size\": 10}]"
	rl_args true
	run as_user teu run r4
	echo "$output"
	assert_one_error_line
	[[ "$output" == *newuidmap* ]]
	# It says what /etc/subuid lacks and how to add it.
	[[ "$output" == *"(/etc/subuid grants $RL_USER no range with id $SUB_START: add one, e.g. usermod --add-subuids $SUB_START-$((SUB_START + 9)) $RL_USER)" ]]
	[ -z "$(as_user teu list -q)" ]
	# Nor may the user map host root by writing uid_map itself.
	rl_config ".linux.uidMappings = [{\"containerID\": 0, \"hostID\": 0, \"size\": 1}]"
	run as_user teu run r4
	echo "$output"
	assert_one_error_line
	[ -z "$(as_user teu list -q)" ]
}

@test "rootless: cgroup limits without a delegated cgroup are one error; --rootless false refuses to skip cgroups" {
	rl_spec
	rl_args true
	rl_config '.linux.resources = {"pids": {"limit": 10}}'
	run as_user teu run r5
	echo "$output"
	assert_one_error_line
	[[ "$output" == *"cannot set pids limit"* ]]
	[ -z "$(as_user teu list -q)" ]
	rl_config 'del(.linux.resources)'
	run as_user teu --rootless false run r5
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "${lines[-1]}" == "teu: create r5: unable to apply cgroup configuration: "*"permission denied" ]]
	[ -z "$(as_user teu list -q)" ]
	run as_user teu --rootless true run r5
	echo "$output"
	[ "$status" -eq 0 ]
	run as_user teu --rootless maybe list
	assert_one_error_line
	# An explicit cgroupsPath the user may not create is an error naming
	# the delegation (runc's rule), not a silent skip.
	rl_config '.linux.cgroupsPath = "/teu-rl-nodeleg/ctr"'
	run as_user teu run r5
	echo "$output"
	assert_one_error_line
	[[ "$output" == *"unable to apply cgroup configuration"*"permission denied"*"not delegated to uid $RL_UID"* ]]
	[ -z "$(as_user teu list -q)" ]
	[ ! -e "$CG/teu-rl-nodeleg" ] && [ ! -e "$CG/pids/teu-rl-nodeleg" ]
}

@test "rootless: a cgroup delegated to the user: run, limits, update, pause, events, delete" {
	[ -n "$CG_V2" ] || grep -q ' - cgroup cgroup ' /proc/self/mountinfo || skip "no cgroups"
	delegate
	rl_spec
	rl_config ".linux.cgroupsPath = \"$RL_CG/ctr\" | .linux.resources = {\"pids\": {\"limit\": 10}, \"memory\": {\"limit\": 67108864}}"
	rl_args sleep 1000
	# (Not under `run`: the init holds its stdio until it exits.)
	as_user teu create r6 >"$TEST_ROOT/out" 2>&1
	cat "$TEST_ROOT/out"
	[ ! -s "$TEST_ROOT/out" ] # no warning: it has its cgroup
	pid=$(as_user teu state r6 | jq .pid)
	p=$(rl_cgdir pids)/ctr
	[ "$(cat "$p/pids.max")" = 10 ]
	grep -qx "$pid" "$p/cgroup.procs"
	if [ -n "$CG_V2" ]; then
		[ "$(cat "$p/memory.max")" = 67108864 ]
	else
		[ "$(cat "$(rl_cgdir memory)/ctr/memory.limit_in_bytes")" = 67108864 ]
	fi
	as_user teu start r6
	run as_user teu exec r6 sh -c 'for i in $(seq 20); do sleep 1000 </dev/null >/dev/null 2>&1 & done 2>&1; echo end'
	echo "$output"
	[[ "$output" == *"can't fork"* ]]
	[ "$(cat "$p/pids.current")" -le 10 ]
	# update
	as_user teu update --pids-limit 30 --memory 128m r6
	[ "$(cat "$p/pids.max")" = 30 ]
	if [ -n "$CG_V2" ]; then
		[ "$(cat "$p/memory.max")" = 134217728 ]
	else
		[ "$(cat "$(rl_cgdir memory)/ctr/memory.limit_in_bytes")" = 134217728 ]
	fi
	[ "$(as_user teu events --stats r6 | jq .data.pids.limit)" = 30 ]
	# pause and resume
	as_user teu pause r6
	[ "$(as_user teu state r6 | jq -r .status)" = paused ]
	if [ -n "$CG_V2" ]; then
		grep -qx 'frozen 1' "$p/cgroup.events"
	else
		[ "$(cat "$(rl_cgdir freezer)/ctr/freezer.state")" = FROZEN ]
	fi
	as_user teu resume r6
	[ "$(as_user teu state r6 | jq -r .status)" = running ]
	# delete takes the container's cgroup, not the delegated one
	as_user teu delete --force r6
	[ ! -e "$p" ]
	[ -d "$(rl_cgdir pids)" ]
}

@test "rootless: without delegation, limits are one error naming it; pause says there is no cgroup, stats are empty" {
	rl_spec
	rl_args sleep 1000
	rl_config '.linux.resources = {"memory": {"limit": 67108864}}'
	run as_user teu create r10
	echo "$output"
	assert_one_error_line
	[[ "$output" == *"cannot set memory limit: container could not join or create cgroup: rootless, and no cgroup is delegated to this user (uid $RL_UID"* ]]
	[ -z "$(as_user teu list -q)" ]
	rl_config 'del(.linux.resources)'
	as_user teu create r10 2>/dev/null
	run as_user teu pause r10
	echo "$output"
	assert_one_error_line
	[[ "$output" == *"no cgroup"* ]]
	# runc's events --stats on such a container: success, empty stats
	# (with the hugetlb map tools look for).
	run as_user teu events --stats r10
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[ "$(jq -c '[.type, .id, .data.pids, .data.hugetlb]' <<<"$output")" = '["stats","r10",{},{}]' ]
	as_user teu delete --force r10
}

@test "rootless: the container's root stays an unprivileged user on the host" {
	rl_spec
	mkdir -m 755 "$TEST_ROOT/rootdir"
	echo secret >"$TEST_ROOT/rootdir/secret"
	chmod 600 "$TEST_ROOT/rootdir/secret"
	rl_config ".mounts += [{\"destination\": \"/hostdir\", \"type\": \"bind\", \"source\": \"$TEST_ROOT/rootdir\", \"options\": [\"rbind\"]}]
		| .process.capabilities = {\"bounding\": [\"CAP_SYS_ADMIN\", \"CAP_DAC_OVERRIDE\", \"CAP_DAC_READ_SEARCH\", \"CAP_CHOWN\", \"CAP_FOWNER\", \"CAP_SYS_CHROOT\"], \"effective\": [\"CAP_SYS_ADMIN\", \"CAP_DAC_OVERRIDE\", \"CAP_DAC_READ_SEARCH\", \"CAP_CHOWN\", \"CAP_FOWNER\", \"CAP_SYS_CHROOT\"], \"permitted\": [\"CAP_SYS_ADMIN\", \"CAP_DAC_OVERRIDE\", \"CAP_DAC_READ_SEARCH\", \"CAP_CHOWN\", \"CAP_FOWNER\", \"CAP_SYS_CHROOT\"]}
		| .root.readonly = false"
	rl_args sh -c 'stat -c %u:%g /hostdir/secret; cat /hostdir/secret 2>/dev/null || echo read-refused;
		touch /hostdir/new 2>/dev/null || echo write-refused; chown 0:0 /tmp 2>/dev/null && echo chown-own-ok;
		mkdir -p /mnt/t /mnt/p && mount -t tmpfs none /mnt/t && echo tmpfs-in-own-ns;
		mount -t proc proc /mnt/p && stat -c %u /mnt/p/sys/vm/swappiness;
		(cat /mnt/p/sys/vm/swappiness >/mnt/p/sys/vm/swappiness) 2>/dev/null || echo sysctl-refused'
	run as_user teu run r7
	echo "$output"
	[ "$status" -eq 0 ]
	no_warnings
	# Host root is no one in the container: its files show as the overflow
	# id and full capabilities in the user namespace do not open them.
	[ "${lines[0]}" = 65534:65534 ]
	[ "${lines[1]}" = read-refused ]
	[ "${lines[2]}" = write-refused ]
	[ "${lines[3]}" = chown-own-ok ]
	[ "${lines[4]}" = tmpfs-in-own-ns ]
	# A procfs of its own is writable, yet not the host's sysctls.
	[ "${lines[5]}" = 65534 ]
	[ "${lines[6]}" = sysctl-refused ]
	[ ! -e "$TEST_ROOT/rootdir/new" ]
	[ "$(cat "$TEST_ROOT/rootdir/secret")" = secret ]
	! grep -q " /mnt/t " /proc/self/mountinfo
}

@test "rootless: the default state root is \$XDG_RUNTIME_DIR/teu, else /run/teu (an error for a user)" {
	rl_spec
	rl_args true
	as_user teu create r8
	[ -d "$RL_XDG/teu/r8" ]
	# Sticky, so that the session's clean-up of XDG_RUNTIME_DIR spares it.
	[ -k "$RL_XDG/teu" ]
	as_user teu delete --force r8
	RL_NO_XDG=1
	run as_user teu create r8
	echo "$output"
	assert_one_error_line
	[[ "$output" == *"/run/teu"*"(not root: pass --root DIR, a directory you may write, or set XDG_RUNTIME_DIR)" ]]
	# --root still chooses.
	mkdir -m 700 "$TEST_ROOT/other"
	chown "$RL_USER:" "$TEST_ROOT/other"
	as_user teu --root "$TEST_ROOT/other" create r8
	[ -d "$TEST_ROOT/other/r8" ]
	as_user teu --root "$TEST_ROOT/other" delete --force r8
}

@test "rootless: an idmapped mount is one clear error (idmapping needs host privileges)" {
	rl_spec
	mkdir "$TEST_ROOT/src"
	chown "$RL_USER:" "$TEST_ROOT/src"
	rl_config ".mounts += [{\"destination\": \"/m\", \"type\": \"bind\", \"source\": \"$TEST_ROOT/src\", \"options\": [\"bind\", \"idmap\"]}]"
	rl_args true
	run as_user teu run r9
	echo "$output"
	assert_one_error_line
	[[ "$output" == *"idmapped mounts need root"* ]]
	[ -z "$(as_user teu list -q)" ]
}
