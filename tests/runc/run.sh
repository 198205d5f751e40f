#!/usr/bin/env bash
# run.sh: runc's own integration test suite (runc v1.5.3, tests/integration,
# bats) run against teu, as a drop-in replacement for runc must pass it.
#
#   make test-runc                              # the whole suite against ./teu
#   make test-runc RUNC_TESTS="kill.bats exec"  # some files only
#   make test-runc RUNTIME=runc                 # against runc v1.5.3 itself, built
#                                               # from the same module: shows what
#                                               # fails on this host whatever the runtime
#   tests/runc/run.sh [file.bats...]            # the same, without make's deps
#
# Env: RUNTIME  teu (default: $TEU or ./teu), runc (built here), or a path
#      RUNC_TESTS  files to run (names, ".bats" optional), default all; a
#                  name may end in ":REGEX", bats' --filter for that file
#      RUNC_TEST_TIMEOUT  seconds a test may take (a watchdog, see below), 300
#      RUNC_FILE_TIMEOUT  seconds per .bats file, 3600
#      RUNC_OUT    where the suite is built and results go (build/runc-suite)
#      RUNC_EXPECTED  the expected failures (tests/runc/expected-failures.txt)
#      RUNC_MODE   a name for this run (results/<runtime>-<mode>); lines of
#                  the expected failures starting "[MODE] " apply to it only
#      RUNC_AS_USER  run bats as this user (runc's rootless runs; the
#                  caller sets ROOTLESS_FEATURES and delegation up)
#      RUNC_PREPARE_ONLY=1  steps 1-3 only (and runc, for RUNTIME=runc)
#      RUNC_PREPARED=1      skip steps 1-3: run the suite already in RUNC_OUT
#                  (a guest with no Go toolchain: tests/vm/runc-v2.sh)
#
# What it does:
# 1. `go mod download` runc's module (its zip holds tests/integration and
#    tests/cmd), copies the whole module to build/runc-suite/module
#    (writable, with its go.mod: tests/cmd imports runc's packages) and
#    builds the helpers (recvtty, seccompagent, ...) there, and, for
#    RUNTIME=runc, runc itself (`go build -tags seccomp`, libseccomp through
#    pkg-config). Cached until the version or Go changes.
# 2. Copies tests/integration + tests/cmd to build/runc-suite/tests/ (fresh
#    each run, so the layout helpers.bash expects holds: ../cmd/_bin,
#    ../../go.mod) and applies tests/runc/patches.sh (only what this host
#    cannot do, each with its reason).
# 3. Images: tests/runc/images.sh builds busybox and debian rootfs tarballs
#    locally (cached in /var/cache/teu-runc) at the paths get-images.sh checks.
# 4. Runs each .bats file with Debian's bats (1.8.2; the suite asks for
#    >= 1.5.0) as `RUNC=<runtime> bats --tap`, one file at a time, in a
#    private TMPDIR, under script(1) for a controlling terminal (runc's CI
#    does the same: `runc run` of the default spec needs one), under
#    `tini -s`, a subreaper that reaps orphans at once (this VM's PID 1
#    reaps them only every second or two, and tests that kill a container's
#    init wait 2 s for its pid to vanish). A watchdog stands in for bats'
#    BATS_TEST_TIMEOUT (bats 1.8.2 runs that countdown as a child of the
#    test shell, so a test's bare `wait`, as in events.bats, waits for the
#    countdown): when no test has finished for RUNC_TEST_TIMEOUT seconds
#    it kills the running test's commands (not its shells), so the test
#    fails and its teardown runs; and again after as long; if there is
#    nothing but shells to kill, the whole file. Then removes what the file left: containers (under its
#    state dirs and in the runtime's default root), the suite's helper
#    processes, mounts and loop devices under the TMPDIR, the cgroups under
#    /runc-cgroups-integration-test (rmdir only), and reports other new
#    cgroup directories it left (not removed).
# 5. Writes build/runc-suite/results/<runtime>/: suite.tap (the full TAP
#    log, failing tests' output included), <file>.tap, summary.txt; prints
#    per file counts, the failing tests, and a last line
#    "N passed, M failed, K skipped".
#
# Exit status 1 if a test fails that tests/runc/expected-failures.txt does
# not list (failures of runc itself on this host). Listed tests that pass
# are reported ("now passing": remove them from the list); unlisted skips
# are reported but do not fail the lane.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
version=v1.5.3
module=github.com/opencontainers/runc@$version
out=${RUNC_OUT:-$top/build/runc-suite}
helpers=(recvtty sd-helper seccompagent fs-idmap pidfd-kill remap-rootfs key_label)
export PATH=/usr/local/go/bin:$PATH:/usr/sbin:/sbin
export GOFLAGS=-mod=mod
unset GOEXPERIMENT # the Makefile's, for teu; runc and the tests build as upstream does

die() { echo "runc suite: $*" >&2; exit 1; }
[[ $EUID -eq 0 ]] || die "must run as root"
need=(bats jq script tini)
[[ -n ${RUNC_PREPARED:-} ]] || need+=(go gawk gcc pkg-config)
for c in "${need[@]}"; do
	command -v "$c" >/dev/null || die "$c is missing (make test-runc installs it)"
done

# ---- 1. the module, the helpers, runc
if [[ -z ${RUNC_PREPARED:-} ]]; then
stamp="$module $(go env GOVERSION) helpers=${helpers[*]}"
if [[ ! -f $out/.built || $(cat "$out/.built") != "$stamp" || ! -d $out/module ]]; then
	src=$(go mod download -json "$module" | jq -r '.Dir // empty')
	[[ -d $src ]] || die "cannot download $module"
	rm -rf "${out:?}/module" "${out:?}/bin" "${out:?}/runc" "${out:?}/.built"
	mkdir -p "$out"
	cp -r "$src" "$out/module" && chmod -R u+w "$out/module" || die "cannot copy $src"
	echo "runc suite: building the helpers of $module" >&2
	(
		cd "$out/module" || exit 1
		for h in "${helpers[@]}"; do
			CGO_ENABLED=1 go build -trimpath -tags seccomp -o "$out/bin/$h" "./tests/cmd/$h" || exit 1
		done
	) || die "building the helpers failed"
	echo "$stamp" >"$out/.built"
fi
fi
rt_name=${RUNTIME:-teu}
case $rt_name in
teu) rt=${TEU:-$top/teu} ;;
runc)
	rt=$out/runc
	if [[ ! -x $rt && -z ${RUNC_PREPARED:-} ]]; then
		echo "runc suite: building runc $version" >&2
		(cd "$out/module" && CGO_ENABLED=1 go build -trimpath -tags seccomp \
			-ldflags "-X main.gitCommit=$version" -o "$rt" .) || die "building runc failed"
	fi
	;;
*)
	rt=$(readlink -f "$rt_name")
	rt_name=$(basename "$rt")
	;;
esac
[[ -x $rt ]] || die "runtime $rt not found (make teu?)"

suite=$out/tests/integration
bindir=$out/tests/cmd/_bin
if [[ -z ${RUNC_PREPARED:-} ]]; then
# ---- 2. a fresh copy of the suite, patched
rm -rf "$out/tests"
mkdir -p "$out/tests" "$out/tests/cmd/_bin"
cp -r "$out/module/tests/integration" "$out/tests/integration"
(cd "$out/module/tests/cmd" && cp -r . "$out/tests/cmd/")
cp "$out/bin/"* "$out/tests/cmd/_bin/"
# a module zip keeps no file modes: the suite's scripts were executable in git
find "$out/tests" -name '*.sh' -exec chmod +x {} +
cp "$out/module/go.mod" "$out/go.mod" # spec.bats reads ../../go.mod
bash "$here/patches.sh" "$suite" || die "patching the suite failed"

# ---- 3. images
bash "$here/images.sh" "$suite/testdata" || die "building the images failed"
# RUNC_PREPARE_ONLY=1: stop here and print the suite's directory (the
# checkpoint lane, tests/vm/checkpoint.sh, runs its checkpoint.bats in a
# guest where CRIU works).
if [[ -n ${RUNC_PREPARE_ONLY:-} ]]; then
	echo "$out/tests"
	exit 0
fi
fi
[[ -d $suite ]] || die "no prepared suite in $out"

# ---- the files to run
files=("$@")
((${#files[@]} == 0)) && read -ra files <<<"${RUNC_TESTS:-}"
if ((${#files[@]} == 0)); then
	for f in "$suite"/*.bats; do files+=("$(basename "$f")"); done
fi
declare -A filter=()
for i in "${!files[@]}"; do
	f=${files[i]%%:*}
	f=$(basename "$f")
	[[ $f == *.bats ]] || f=$f.bats
	[[ -f $suite/$f ]] || die "no such test file: $f"
	[[ ${files[i]} == *:* ]] && filter[$f]=${files[i]#*:}
	files[i]=$f
done

# ---- expected failures: "file.bats: test name" (trailing "# reason"
# allowed), or "[MODE] file.bats: test name" for RUNC_MODE=MODE only
mode=${RUNC_MODE:-}
declare -A expected=()
while IFS= read -r l; do
	l=${l%%#*}
	l=$(sed 's/[[:space:]]*$//' <<<"$l")
	if [[ $l =~ ^\[([a-z0-9-]+)\]\ (.*)$ ]]; then
		[[ ${BASH_REMATCH[1]} == "$mode" ]] || continue
		l=${BASH_REMATCH[2]}
	fi
	[[ -n $l ]] && expected[$l]=1
done <"${RUNC_EXPECTED:-$here/expected-failures.txt}"

# ---- clean-up helpers
default_root=/run/$rt_name
[[ $rt_name == teu* ]] && default_root=/run/teu
[[ $rt_name == runc* ]] && default_root=/run/runc
list_default() { ls "$default_root" 2>/dev/null; }
cgroup_dirs() { # every cgroup directory (depth <= 4), to spot what a file left
	local m
	for m in /sys/fs/cgroup/*/; do
		mountpoint -q "$m" && find "$m" -mindepth 1 -maxdepth 4 -type d 2>/dev/null
	done | sort
}
cgtop_before=$(ls -d /sys/fs/cgroup/*/ 2>/dev/null)
# checkpoint.bats' "container specific CRIU config" test writes
# /etc/criu/default.conf (a log-file= line) and leaves it: every later criu
# run on the host would then log there. Removed after each file when the
# run did not find one.
criu_conf_before=
[[ -e /etc/criu/default.conf ]] && criu_conf_before=1
criu_dir_before=
[[ -d /etc/criu ]] && criu_dir_before=1
cleanup_file() { # tmp dir of one bats file
	local tmp=$1 st id p exe m dev
	# containers whose state is under the file's TMPDIR
	while IFS= read -r st; do
		for id in $("$rt" --root "$st" list -q 2>/dev/null); do
			echo "cleanup: $rt_name --root $st delete -f $id"
			"$rt" --root "$st" delete -f "$id" >/dev/null 2>&1
		done
	done < <(find "$tmp" -maxdepth 4 -type d -name state 2>/dev/null)
	# containers in the default root (root.bats uses it) that were not there before
	for id in $(list_default); do
		[[ -n ${default_before[$id]:-} ]] && continue
		echo "cleanup: $rt_name delete -f $id (default root)"
		"$rt" delete -f "$id" >/dev/null 2>&1
	done
	# the suite's helpers (recvtty, seccompagent, pidfd-kill) still running:
	# processes of the binaries built in $bindir, matched by their exe path
	for p in /proc/[0-9]*; do
		exe=$(readlink "$p/exe" 2>/dev/null) || continue
		[[ $exe == "$bindir"/* ]] || continue
		echo "cleanup: kill ${p#/proc/} ($exe)"
		kill -9 "${p#/proc/}" 2>/dev/null
	done
	# mounts under the TMPDIR, deepest first
	while IFS= read -r m; do
		echo "cleanup: umount $m"
		umount -l "$m" 2>/dev/null
	done < <(awk -v t="$tmp/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
	# loop devices backed by files under the TMPDIR (setup_loopdev)
	while read -r dev; do
		echo "cleanup: losetup -d $dev"
		losetup -d "$dev" 2>/dev/null
	done < <(losetup -l -n -O NAME,BACK-FILE 2>/dev/null | awk -v t="$tmp/" 'index($2, t) == 1 { print $1 }')
	# the tests' cgroups: /runc-cgroups-integration-test in each hierarchy,
	# rmdir only, children first
	for m in /sys/fs/cgroup/*/runc-cgroups-integration-test; do
		[[ -d $m ]] || continue
		echo "cleanup: rmdir $m"
		find "$m" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	# helpers.bash's create_parent does `mkdir -p /sys/fs/cgroup/$subsys/...`
	# for every controller in /proc/cgroups, also those this host has not
	# mounted (net_cls, perf_event, ...): plain directories on the tmpfs
	# /sys/fs/cgroup. Remove those it made (empty, not mount points, not
	# there before the run).
	for m in /sys/fs/cgroup/*/; do
		grep -qxF "$m" <<<"$cgtop_before" && continue
		mountpoint -q "$m" && continue
		find "$m" -depth -type d -empty -exec rmdir {} + 2>/dev/null
	done
	if [[ -z $criu_conf_before && -e /etc/criu/default.conf ]]; then
		echo "cleanup: rm /etc/criu/default.conf"
		rm -f /etc/criu/default.conf
		[[ -n $criu_dir_before ]] || rmdir /etc/criu 2>/dev/null
	fi
	rm -rf "$tmp" 2>/dev/null || echo "cleanup: cannot remove $tmp"
}

# ---- the watchdog
descendants() { # pid: its descendants, parents first
	ps -e -o pid=,ppid= | awk -v r="$1" '{ c[$2] = c[$2] " " $1 }
		END { q[1] = r; h = 1; t = 1
			while (h <= t) { n = split(c[q[h++]], a, " "); for (i = 1; i <= n; i++) { q[++t] = a[i]; print a[i] } } }'
}
watchdog() { # pid of the file's process tree, its TAP file, log
	local root_pid=$1 tap=$2 log=$3 size last=-1 idle=0 p t comm killed
	while kill -0 "$root_pid" 2>/dev/null; do
		sleep 5
		size=$(stat -c %s "$tap" 2>/dev/null || echo 0)
		if [[ $size != "$last" ]]; then
			last=$size idle=0
			continue
		fi
		idle=$((idle + 5))
		((idle < test_timeout)) && continue
		idle=0
		# the running test: bats-exec-test processes; kill what they run
		# that is not a shell (runtime, sleep, cat, helpers...)
		killed=0
		for t in $(descendants "$root_pid"); do
			grep -qa bats-exec-test "/proc/$t/cmdline" 2>/dev/null || continue
			for p in $(descendants "$t"); do
				comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
				[[ $comm == bash ]] && continue
				echo "watchdog: no test finished for ${test_timeout}s: kill $p ($(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null))" >>"$log"
				kill -9 "$p" 2>/dev/null && killed=$((killed + 1))
			done
		done
		if ((killed == 0)); then
			echo "watchdog: no test finished for ${test_timeout}s, nothing but shells to kill: killing the whole file" >>"$log"
			# shellcheck disable=SC2046 # one pid a word
			kill -9 $(descendants "$root_pid") "$root_pid" 2>/dev/null
			return
		fi
	done
}

# ---- 4. run
res=$out/results/$rt_name${mode:+-$mode}
rm -rf "$res" && mkdir -p "$res"
{
	echo "# runc $version integration suite against $rt ($("$rt" --version 2>/dev/null | head -1))${mode:+, mode $mode}${RUNC_AS_USER:+, as $RUNC_AS_USER}"
	echo "# $(date -u +%FT%TZ), bats $(bats --version | awk '{print $2}'), kernel $(uname -r)"
} >"$res/suite.tap"
export RUNC=$rt
test_timeout=${RUNC_TEST_TIMEOUT:-300}
file_timeout=${RUNC_FILE_TIMEOUT:-3600}
pass=0 fail=0 skip=0
failed=() unexpected=() nowpass=() skipped=() unexpected_skip=() leftovers=()
start_all=$SECONDS
echo "runc suite: ${#files[@]} files against $rt (results in ${res#"$top"/})"
for f in "${files[@]}"; do
	declare -A default_before=()
	for id in $(list_default); do default_before[$id]=1; done
	cg_before=$(cgroup_dirs)
	tmp=$(mktemp -d /tmp/teu-runc.XXXXXX)
	# others than root traverse it: setup_bundle's chmod a+x covers the
	# dirs below, as it expects /tmp as TMPDIR (userns tests map root away)
	chmod 0755 "$tmp"
	[[ -z ${RUNC_AS_USER:-} ]] || chown "$RUNC_AS_USER:" "$tmp"
	# script(1)'s stdin: one that never ends (a FIFO opened read-write).
	# At EOF script writes a NUL to the terminal, which `runc run` of a
	# terminal: true config then relays: the container's output begins "^@".
	mkfifo "$tmp/.stdin"
	t0=$SECONDS
	# Under script(1), as runc's CI runs the suite: tests that `run` a config
	# with terminal: true and no --console-socket need a controlling
	# terminal. TAP goes to the file, not through the pty.
	cmd=$(printf 'exec bats --tap --timing --no-tempdir-cleanup %s%q >%q 2>&1' \
		"${filter[$f]:+$(printf -- '--filter %q ' "${filter[$f]}")}" "$suite/$f" "$res/$f.tap")
	if [[ -n ${RUNC_AS_USER:-} ]]; then
		# The user's own environment otherwise: HOME, XDG_RUNTIME_DIR (the
		# runtime's default root) its own.
		u_home=$tmp/home
		mkdir -p "$u_home/xdg" && chown -R "$RUNC_AS_USER:" "$u_home" && chmod 0700 "$u_home/xdg"
		cmd="exec setpriv --reuid $(id -u "$RUNC_AS_USER") --regid $(id -g "$RUNC_AS_USER") --init-groups env HOME=$u_home XDG_RUNTIME_DIR=$u_home/xdg USER=$RUNC_AS_USER LOGNAME=$RUNC_AS_USER ${cmd#exec }"
	fi
	: >"$res/$f.tap"
	(cd "$suite" && TMPDIR=$tmp exec timeout -k 30 "$file_timeout" \
		tini -s -- script -qefc "$cmd" /dev/null <>"$tmp/.stdin" >/dev/null 2>&1) &
	bpid=$!
	watchdog "$bpid" "$res/$f.tap" "$res/$f.watchdog" &
	wpid=$!
	wait "$bpid"
	brc=$?
	kill "$wpid" 2>/dev/null
	wait "$wpid" 2>/dev/null
	[[ -s $res/$f.watchdog ]] && sed "s|^|$f: |" "$res/$f.watchdog" >>"$res/watchdog.log"
	dt=$((SECONDS - t0))
	cleanup_file "$tmp" >"$res/$f.cleanup" 2>&1
	# new cgroups named like a word of the file of 4 characters or more
	# (its containers' ids: other users of this machine make cgroups too)
	while IFS= read -r d; do
		b=$(basename "$d")
		((${#b} >= 4)) && grep -qwF -- "$b" "$suite/$f" && leftovers+=("$f: cgroup $d")
	done < <(comm -13 <(echo "$cg_before") <(cgroup_dirs))
	[[ -s $res/$f.cleanup ]] && sed "s|^|$f: |" "$res/$f.cleanup" >>"$res/cleanup.log"

	np=0 nf=0 ns=0 plan=0 seen=0
	while IFS= read -r line; do
		case $line in
		1..*) plan=${line#1..} ;;
		"ok "* | "not ok "*)
			seen=$((seen + 1))
			st=ok
			[[ $line == "not ok "* ]] && st=fail
			name=$(sed -E 's/^(not )?ok [0-9]+ //' <<<"$line")
			note=""
			if [[ $name == *" # skip"* ]]; then
				st=skip note=${name#*" # skip"} name=${name%%" # skip"*}
			elif [[ $name == *" # "* ]]; then
				note=${name#*" # "} name=${name%%" # "*}
			fi
			name=$(sed -E 's/ in [0-9]+ms$//; s/[[:space:]]+$//' <<<"$name")
			key="$f: $name"
			case $st in
			ok)
				np=$((np + 1))
				[[ -n ${expected[$key]:-} ]] && nowpass+=("$key")
				;;
			skip)
				ns=$((ns + 1))
				skipped+=("$key #${note}")
				[[ -z ${expected[$key]:-} ]] && unexpected_skip+=("$key #${note}")
				;;
			fail)
				nf=$((nf + 1))
				failed+=("$key${note:+ ($note)}")
				[[ -z ${expected[$key]:-} ]] && unexpected+=("$key")
				;;
			esac
			;;
		esac
	done <"$res/$f.tap"
	if ((brc != 0 && seen < plan)) || ((plan == 0 && brc != 0)); then
		# bats died, or the file timed out: what did not run counts as failed
		key="$f: (file did not complete, bats exit status $brc, $((plan - seen)) of $plan tests not run)"
		nf=$((nf + 1))
		failed+=("$key")
		[[ -z ${expected[$key]:-} ]] && unexpected+=("$key")
	fi
	pass=$((pass + np)) fail=$((fail + nf)) skip=$((skip + ns))
	printf '%-34s %3d passed, %3d failed, %3d skipped  %5ds\n' "$f" "$np" "$nf" "$ns" "$dt"
	{
		echo "# ---- $f (${dt}s, bats exit status $brc)"
		cat "$res/$f.tap"
		[[ -s $res/$f.watchdog ]] && sed 's/^/# /' "$res/$f.watchdog"
		[[ -s $res/$f.cleanup ]] && sed 's/^/# /' "$res/$f.cleanup"
	} >>"$res/suite.tap"
done
total=$((SECONDS - start_all))

# ---- 5. report
{
	echo "runtime: $rt ($rt_name); runc suite $version; files: ${#files[@]}; wall time ${total}s"
	if ((${#failed[@]})); then
		echo "failed:"
		printf '  %s\n' "${failed[@]}"
	fi
	if ((${#skipped[@]})); then
		echo "skipped:"
		printf '  %s\n' "${skipped[@]}"
	fi
	if ((${#nowpass[@]})); then
		echo "now passing (remove from tests/runc/expected-failures.txt):"
		printf '  %s\n' "${nowpass[@]}"
	fi
	if ((${#unexpected_skip[@]})); then
		echo "skipped, not in expected-failures.txt:"
		printf '  %s\n' "${unexpected_skip[@]}"
	fi
	if [[ -s $res/watchdog.log ]]; then
		echo "watchdog (tests that hung):"
		sed 's/^/  /' "$res/watchdog.log"
	fi
	if ((${#leftovers[@]})); then
		echo "left behind by a file (not removed):"
		printf '  %s\n' "${leftovers[@]}"
	fi
	if ((${#unexpected[@]})); then
		echo "FAILED, not in expected-failures.txt:"
		printf '  %s\n' "${unexpected[@]}"
	fi
	echo "$pass passed, $fail failed, $skip skipped"
} | tee "$res/summary.txt"
((${#unexpected[@]} == 0))
