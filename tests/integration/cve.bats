#!/usr/bin/env bats
# Known container escapes, each replayed by a hostile container (the static
# tests/cmd/hostile binary, or a hostile image/config) against teu; every
# test asserts the host is untouched. docs/security.md maps each CVE to the
# defence these tests guard.
load helpers
load lifecycle

eval "helpers_$(declare -f setup_file)"
setup_file() {
	helpers_setup_file
	(cd "$TEU_SRC" && CGO_ENABLED=0 go build -o "$TEU_CACHE/hostile" ./tests/cmd/hostile)
}

# privileged: the container gets every capability the kernel has, the
# strongest attacker a config can make (CAP_SYS_PTRACE lets it open the
# /proc/<pid>/exe of the runtime's processes at all).
privileged() {
	local all
	all=$(teu features | jq -c '.linux.capabilities')
	update_config ".process.capabilities = {\"bounding\": $all, \"permitted\": $all, \"effective\": $all}"
}

# hostile_in BUNDLE: put the hostile binary at /hostile in BUNDLE's rootfs.
hostile_in() {
	cp "$TEU_CACHE/hostile" "$1/rootfs/hostile"
}

@test "cve: CVE-2019-5736 a container cannot overwrite the teu binary through /proc/<pid>/exe of exec's or create's init" {
	# A copy of teu runs everything: were the attack to work, only the
	# copy would be hurt, and the hash check below would see it.
	cp "$TEU_BIN" "$TEST_ROOT/teu"
	TEU_BIN=$TEST_ROOT/teu
	sum=$(sha256sum "$TEU_BIN" | cut -d' ' -f1)
	share_dir
	privileged
	hostile_in "$BUNDLE"
	set_args /hostile exe /shared 30
	teu create --bundle "$BUNDLE" hx
	teu start hx
	wait_for test -e "$SHARED/ready"
	hpid=$(state_of hx pid)

	# exec: the hostile process sees exec's init in its pid namespace
	# while teu's Go side runs; bounded retries until it caught one.
	for i in $(seq 1 30); do
		teu exec hx true
		[ -s "$SHARED/caught" ] && break
	done
	[ -s "$SHARED/caught" ]

	# create: a second container joins h's pid namespace; its init (teu)
	# waits on exec.fifo, in full view of the hostile process.
	B2=$TEST_ROOT/bundle2
	mkdir "$B2"
	jq --arg r "$BUNDLE/rootfs" --arg ns "/proc/$hpid/ns/pid" '.root.path = $r | .process.args = ["sleep", "100"] |
		.mounts |= map(select(.destination != "/shared")) |
		.linux.namespaces |= map(if .type == "pid" then .path = $ns else . end)' "$BUNDLE/config.json" >"$B2/config.json"
	teu create --bundle "$B2" c2
	c2pid=$(state_of c2 pid)
	nspid=$(awk '/^NSpid:/ {print $NF}' /proc/$c2pid/status)
	wait_for grep -q "^$nspid " "$SHARED/caught"
	teu delete --force c2

	# No teu process is left to keep the file busy: now the hostile
	# process reopens every handle it holds for writing.
	touch "$SHARED/stop"
	wait_for test -e "$SHARED/report"
	cat "$SHARED/caught" "$SHARED/report"
	# It held exec's and create's inits, and wrote through none.
	[ "$(grep -c . "$SHARED/caught")" -ge 2 ]
	grep -qx "writes 0" "$SHARED/report"
	refute grep -q "^wrote\|^direct" "$SHARED/report"
	[ "$(sha256sum "$TEU_BIN" | cut -d' ' -f1)" = "$sum" ]
}

@test "cve: CVE-2024-21626 CVE-2016-9962 no host fd or host directory reaches the init or exec's process as its cwd" {
	echo host-secret >"$TEST_ROOT/secret"
	# The init: a host directory passed as fd 3 (--preserve-fds) and every
	# fd number teu itself might hold, as the cwd: all refused, nothing left.
	for n in 3 4 5 6 7 8 9 10 11 12; do
		update_config ".process.cwd = \"/proc/self/fd/$n\" | .process.args = [\"sh\", \"-c\", \"pwd; cat secret; cat ../secret; true\"]"
		run bash -c "exec 3<\"$TEST_ROOT\"; exec \"$TEU_BIN\" --root \"$TEU_ROOT\" run --preserve-fds 1 --bundle \"$BUNDLE\" w$n"
		echo "fd $n: $output"
		[ "$status" -ne 0 ]
		[[ "$output" != *host-secret* ]]
		[ -z "$(teu list -q)" ]
	done
	# Nor is a directory named after the host path made in the rootfs.
	[ ! -e "$BUNDLE/rootfs$TEST_ROOT" ]

	# exec's process: the same with --cwd, while the caller holds host
	# directories on more fds.
	update_config '.process.cwd = "/" | .process.args = ["sleep", "100"]'
	teu run -d --bundle "$BUNDLE" ex
	pid=$(state_of ex pid)
	for n in 3 4 5 6 7 8 9 10 11 12; do
		run bash -c "exec 3<\"$TEST_ROOT\" 5<\"$TEST_ROOT\" 7<\"$TEST_ROOT\"; exec \"$TEU_BIN\" --root \"$TEU_ROOT\" exec --preserve-fds 1 --cwd /proc/self/fd/$n ex sh -c 'pwd; cat secret; cat ../secret; true'"
		echo "exec fd $n: $output"
		[ "$status" -ne 0 ]
		[[ "$output" != *host-secret* ]]
	done
	# Without --preserve-fds nothing but stdio reaches exec's process.
	run bash -c "exec 5<\"$TEST_ROOT\" 7<\"$TEST_ROOT\"; exec \"$TEU_BIN\" --root \"$TEU_ROOT\" exec ex sh -c 'for n in \$(seq 0 30); do [ -e /proc/self/fd/\$n ] && echo \$n; done; readlink /proc/self/cwd'"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(echo $output)" = "0 1 2 /" ]
	# The init's cwd is the container's root (seen from the host's mount
	# namespace, its path in the container's, or the rootfs).
	cwd=$(readlink /proc/$pid/cwd)
	[ "$cwd" = / ] || [ "$cwd" = "$BUNDLE/rootfs" ]
}

# nspid PID: PID's pid in its innermost pid namespace.
nspid() {
	awk '/^NSpid:/ {print $NF}' "/proc/$1/status"
}

# held_init CAPS: sets held to a `teu init` in a container's pid namespace
# that has the effective capabilities CAPS.
held_init() {
	local q
	for q in $(pgrep -f '^teu init$'); do
		[ "$(awk '/^NSpid:/ {print NF}' "/proc/$q/status" 2>/dev/null)" -gt 2 ] || continue
		[ "$(awk '/^CapEff:/ {print $2}' "/proc/$q/status" 2>/dev/null)" = "$1" ] || continue
		held=$q
		return 0
	done
	return 1
}

# peek_from ID NSPID: from a process of container ID (its default
# capabilities, no CAP_SYS_PTRACE), what /proc/NSPID shows of a teu init.
peek_from() {
	teu exec "$1" sh -c "ls -l /proc/$2/fd/ 2>&1; tr '\\0' ' ' </proc/$2/environ 2>&1; echo; readlink /proc/$2/exe 2>&1; echo done"
}

# assert_peek_refused: peek_from ran, and saw none of the init's fds or
# environment.
assert_peek_refused() {
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *done* ]]
	[[ "$output" == *"Permission denied"* ]]
	[[ "$output" != *socket:* ]]
	[[ "$output" != *_TEU_* ]]
}

@test "cve: CVE-2016-9962 a container sharing the pid namespace cannot look into a waiting init" {
	# Container a runs; b is created in a's pid namespace and its init
	# waits for start there, with a's capabilities and uid, holding teu's
	# fds. Were it dumpable, a's root could read its fds and environment
	# and ptrace it.
	set_args sleep 100
	teu run -d --bundle "$BUNDLE" a </dev/null >/dev/null 2>&1
	apid=$(state_of a pid)
	update_config ".linux.namespaces |= map(if .type == \"pid\" then {\"type\": \"pid\", \"path\": \"/proc/$apid/ns/pid\"} else . end)"
	teu create --bundle "$BUNDLE" b </dev/null >/dev/null 2>&1
	bpid=$(nspid "$(state_of b pid)")
	[ "$bpid" -gt 1 ]
	run peek_from a "$bpid"
	assert_peek_refused
	[[ "$output" != *exec.fifo* ]]
	# And b still starts.
	teu start b
	teu delete --force b
}

@test "cve: CVE-2016-9962 a container cannot look into exec's init" {
	# strace is the only way found to hold exec's init at that moment.
	command -v strace >/dev/null || skip "strace is not installed (make deps installs it)"
	set_args sleep 100
	teu run -d --bundle "$BUNDLE" ex </dev/null >/dev/null 2>&1
	# exec's init, held for 3 s right after it took the container's
	# capabilities (the moment a container's root may ptrace a dumpable
	# process of its own uid): strace delays the return of its capset.
	strace -f -qq -o /dev/null -e trace=capset -e inject=capset:delay_exit=3000000 \
		"$TEU_BIN" --root "$TEU_ROOT" exec ex true &
	tracer=$!
	caps=$(awk '/^CapEff:/ {print $2}' "/proc/$(state_of ex pid)/status")
	wait_for held_init "$caps"
	[ -n "$held" ]
	run peek_from ex "$(nspid "$held")"
	wait "$tracer"
	assert_peek_refused
}

@test "cve: CVE-2021-30465 mount destinations raced into symlinks by a hostile container never land outside the rootfs" {
	VOL=$TEST_ROOT/vol
	ESC=$TEST_ROOT/escape
	mkdir -p "$VOL" "$ESC"
	echo canary >"$ESC/canary"
	# The hostile container swaps vol/x between a directory and a symlink
	# to a host directory, as fast as it can, for at most 15 s.
	H=$TEST_ROOT/hbundle
	mkdir "$H"
	hostile_in "$BUNDLE"
	jq --arg r "$BUNDLE/rootfs" --arg v "$VOL" --arg e "$ESC" '.root.path = $r | .process.args = ["/hostile", "swap", "/vol", $e, "15"] |
		.mounts += [{"destination": "/vol", "type": "bind", "source": $v, "options": ["rbind", "rw"]}]' "$BUNDLE/config.json" >"$H/config.json"
	teu run -d --bundle "$H" swapper
	wait_for test -e "$VOL/ready"

	# Victims share the volume and mount a tmpfs and a bind under its
	# racing directory.
	mkdir "$TEST_ROOT/payload"
	echo payload >"$TEST_ROOT/payload/p"
	update_config ".mounts += [{\"destination\": \"/vol\", \"type\": \"bind\", \"source\": \"$VOL\", \"options\": [\"rbind\", \"rw\"]},
		{\"destination\": \"/vol/x/sub\", \"type\": \"tmpfs\", \"source\": \"teu-cve-race\", \"options\": [\"size=64k\"]},
		{\"destination\": \"/vol/x/bnd\", \"type\": \"bind\", \"source\": \"$TEST_ROOT/payload\", \"options\": [\"bind\"]}]"
	set_args sh -c 'grep -E "teu-cve-race|/bnd " /proc/self/mountinfo | cut -d" " -f5'
	# At least 5 victims and 4 s of racing; at most 10 s.
	ok=0 failed=0
	start=$(now_ms)
	i=0
	while { [ $i -lt 5 ] || [ "$(now_ms)" -lt $((start + 4000)) ]; } && [ "$(now_ms)" -lt $((start + 10000)) ]; do
		i=$((i + 1))
		run teu run --bundle "$BUNDLE" v$i
		if [ "$status" -eq 0 ]; then
			ok=$((ok + 1))
			# Both mounts are in the container, at their place or where
			# the symlink led inside the rootfs.
			for m in $output; do
				case $m in
				# (x.alt: the swapper moved the directory since.)
				/vol/x/sub | /vol/x/bnd | /vol/x.alt/sub | /vol/x.alt/bnd | "$ESC"/sub | "$ESC"/bnd) ;;
				*) echo "victim $i: mount at $m"; false ;;
				esac
			done
			[ "$(echo "$output" | wc -l)" -eq 2 ]
		else
			# A lost race is a clean error, and leaves nothing behind.
			failed=$((failed + 1))
			echo "victim $i: $output"
			assert_one_error_line
		fi
		[ -z "$(teu list -q | grep -v swapper)" ]
	done
	touch "$VOL/stop"
	wait_for test -e "$VOL/swaps"
	echo "victims: $ok ran, $failed refused; swaps: $(cat "$VOL/swaps")"
	[ "$(cat "$VOL/swaps")" -gt 0 ]
	# Once the race is over, a victim gets its mounts where they belong.
	run teu run --bundle "$BUNDLE" after
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(echo $output)" = "/vol/x/sub /vol/x/bnd" ]
	# Nothing was created or mounted on the host outside the volume.
	[ "$(ls -A "$ESC")" = canary ]
	refute grep -q teu-cve-race /proc/self/mountinfo
	! grep -qF " $ESC" /proc/self/mountinfo
}

@test "cve: CVE-2021-30465 a bind source in the rootfs that is a symlink resolves inside the rootfs" {
	mkdir "$TEST_ROOT/hostdir"
	echo host-secret >"$TEST_ROOT/hostdir/secret"
	# The image's "data" points at the host directory by absolute path,
	# "up" by climbing out with "..".
	ln -s "$TEST_ROOT/hostdir" "$BUNDLE/rootfs/data"
	ln -s ../../../../../../../../.. "$BUNDLE/rootfs/up"
	mkdir -p "$BUNDLE/rootfs/$TEST_ROOT/hostdir"
	echo image-file >"$BUNDLE/rootfs/$TEST_ROOT/hostdir/secret"
	update_config '.mounts += [{"destination": "/mnt/data", "type": "bind", "source": "rootfs/data", "options": ["bind"]},
		{"destination": "/mnt/up", "type": "bind", "source": "rootfs/up", "options": ["bind"]}]'
	run_sh 'cat /mnt/data/secret; ls /mnt/up'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" != *host-secret* ]]
	[ "${lines[0]}" = image-file ]
	# "up" is the rootfs's own root, not the host's.
	[[ "$output" == *hostile* || "$output" == *busybox* || "$output" == *bin* ]]
	[[ "$output" != *"$(basename "$TEST_ROOT")"* ]]
}

@test "cve: CVE-2025-31133 masked paths are never masked with a /dev/null that is not the null device" {
	echo host-file >"$TEST_ROOT/hostfile"
	mkdir "$TEST_ROOT/dev"
	update_config "(.mounts |= map(select(.destination != \"/dev\"))) |
		.mounts += [{\"destination\": \"/dev\", \"type\": \"bind\", \"source\": \"$TEST_ROOT/dev\", \"options\": [\"rbind\"]}] |
		.linux.maskedPaths = [\"/proc/kcore\", \"/proc/sysrq-trigger\", \"/secret\"]"
	echo image-secret >"$BUNDLE/rootfs/secret"
	set_args sh -c 'cat /proc/kcore /secret /proc/sysrq-trigger 2>&1 | head -c 100'
	# A symlink to a procfs file (the CVE), to a host path, a regular file.
	for kind in /proc/sys/kernel/core_pattern "$TEST_ROOT/hostfile" file; do
		rm -f "$TEST_ROOT/dev/null"
		if [ "$kind" = file ]; then echo not-null >"$TEST_ROOT/dev/null"; else ln -s "$kind" "$TEST_ROOT/dev/null"; fi
		run teu run --bundle "$BUNDLE" m
		echo "$kind: $output"
		assert_one_error_line
		# (The host path does not exist in the container.)
		[[ "$output" == *"/dev/null is not the null device"* || "$output" == *"open /dev/null: no such file"* ]]
		[ -z "$(teu list -q)" ]
	done
	[ "$(cat "$TEST_ROOT/hostfile")" = host-file ]
}

@test "cve: CVE-2025-52565 the console is never bound onto the target of a /dev/console symlink" {
	# A /dev the container shares (a bind of a host directory), whose
	# console points at a procfs file.
	D=$TEST_ROOT/dev
	mkdir -p "$D/pts"
	mknod -m 666 "$D/null" c 1 3
	ln -s pts/ptmx "$D/ptmx"
	ln -s /proc/sys/kernel/core_pattern "$D/console"
	update_config ".process.terminal = true | .mounts |= map(if .destination == \"/dev\" then {\"destination\": \"/dev\", \"type\": \"bind\", \"source\": \"$D\", \"options\": [\"rbind\"]} else . end)"
	set_args sh -c 'grep -E "console|core_pattern" /proc/self/mountinfo'
	run teu run --bundle "$BUNDLE" con </dev/null
	echo "$output"
	assert_one_error_line
	[[ "$output" == *"/dev/console is a symlink"* ]]
	[ -z "$(teu list -q)" ]
	# A real /dev/console file there is used.
	rm "$D/console"
	run teu run --bundle "$BUNDLE" con </dev/null
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *" /dev/console "* ]]
	[[ "$output" != *core_pattern* ]]
}

@test "cve: CVE-2025-52881 sysctl and oom_score_adj writes are never redirected by a mount over /proc" {
	echo untouched >"$TEST_ROOT/target"
	# A bind mount of a host file over the sysctl's procfs file.
	update_config ".mounts += [{\"destination\": \"/proc/sys/net/ipv4/ip_forward\", \"type\": \"bind\", \"source\": \"$TEST_ROOT/target\", \"options\": [\"bind\"]}] |
		.linux.sysctl = {\"net.ipv4.ip_forward\": \"1\"}"
	# The executor writes through a procfs instance of its own, which has
	# no such mount: the sysctl itself is set, the bound file untouched.
	set_args sh -c 'sleep 100'
	teu run -d --bundle "$BUNDLE" sc
	pid=$(state_of sc pid)
	[ "$(nsenter -t "$pid" -n cat /proc/sys/net/ipv4/ip_forward)" = 1 ]
	[ "$(cat "$TEST_ROOT/target")" = untouched ]
	teu delete --force sc

	# The same over the init's own oom_score_adj: nsexec.c writes it on
	# the host's /proc before any mount of the container's is made, so the
	# container runs with the value and the bound file stays untouched.
	cp "$TEU_CACHE/bundle/config.json" "$BUNDLE/config.json"
	update_config ".process.terminal = false | .mounts += [{\"destination\": \"/proc/self/oom_score_adj\", \"type\": \"bind\", \"source\": \"$TEST_ROOT/target\", \"options\": [\"bind\"]}] |
		.process.oomScoreAdj = 500"
	set_args sleep 100
	teu create --bundle "$BUNDLE" oom </dev/null >/dev/null 2>&1
	pid=$(state_of oom pid)
	[ "$(cat /proc/$pid/oom_score_adj)" = 500 ]
	teu start oom
	[ "$(cat /proc/$pid/oom_score_adj)" = 500 ]
	[ "$(cat "$TEST_ROOT/target")" = untouched ]
	teu delete --force oom

	# A tmpfs over all of /proc changes nothing either: the procfs is
	# the executor's own.
	cp "$TEU_CACHE/bundle/config.json" "$BUNDLE/config.json"
	update_config '.process.terminal = false | .mounts += [{"destination": "/proc", "type": "tmpfs", "source": "tmpfs"}] |
		.linux.sysctl = {"net.ipv4.ip_forward": "1"}'
	set_args sleep 100
	teu run -d --bundle "$BUNDLE" sc2
	pid=$(state_of sc2 pid)
	[ "$(nsenter -t "$pid" -n cat /proc/sys/net/ipv4/ip_forward)" = 1 ]
	teu delete --force sc2
}

@test "cve: CVE-2019-16884 CVE-2023-27561 an image whose /proc is a symlink does not get procfs mounted elsewhere" {
	rmdir "$BUNDLE/rootfs/proc"
	ln -s /tmp "$BUNDLE/rootfs/proc"
	run_sh 'ls /tmp/self/attr 2>&1; grep " /tmp " /proc/self/mountinfo'
	echo "$output"
	assert_one_error_line
	[[ "$output" == *"/proc must be mounted on ordinary directory: procfs destination /proc is a symlink"* ]]
	[ -z "$(teu list -q)" ]
	# A relative one, through a directory: the same.
	rm "$BUNDLE/rootfs/proc"
	mkdir "$BUNDLE/rootfs/real"
	ln -s real/../tmp "$BUNDLE/rootfs/proc"
	run_sh 'true'
	assert_one_error_line
	[[ "$output" == *"is a symlink"* ]]
}

@test "cve: CVE-2022-29162 the default spec grants no inheritable capabilities, and processes get none" {
	mkdir "$TEST_ROOT/spec"
	(cd "$TEST_ROOT/spec" && "$TEU_BIN" spec)
	[ "$(jq '.process.capabilities.inheritable // [] | length' "$TEST_ROOT/spec/config.json")" -eq 0 ]
	[ "$(jq '.process.capabilities.ambient // [] | length' "$TEST_ROOT/spec/config.json")" -eq 0 ]
	jq --arg r "$BUNDLE/rootfs" '.root.path = $r | .process.terminal = false | .process.args = ["sleep", "100"]' \
		"$TEST_ROOT/spec/config.json" >"$BUNDLE/config.json"
	teu run -d --bundle "$BUNDLE" caps
	pid=$(state_of caps pid)
	grep -E '^Cap(Inh|Amb):' /proc/$pid/status
	[ "$(awk '/^CapInh:/ {print $2}' /proc/$pid/status)" = 0000000000000000 ]
	[ "$(awk '/^CapAmb:/ {print $2}' /proc/$pid/status)" = 0000000000000000 ]
	# exec's process too, as root and as another user.
	for u in 0 1000; do
		run teu exec -u $u caps grep -E '^Cap(Inh|Amb):' /proc/self/status
		echo "$output"
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = "CapInh:	0000000000000000" ]
		[ "${lines[1]}" = "CapAmb:	0000000000000000" ]
	done
}
