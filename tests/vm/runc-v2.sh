#!/usr/bin/env bash
# tests/vm/runc-v2.sh [SHARE_DIR]: runc's integration suite (v1.5.3), its
# cgroup tests, against teu on cgroup v2 (make test-runc-v2). The host is
# cgroup v1, where tests/runc/run.sh skips every test that needs v2 or
# systemd; this lane runs them in the systemd guest (tests/vm/systemd.sh's
# Debian root, systemd as PID 1, pure cgroup v2), in three modes:
#
#   fs2       as root, teu's cgroupfs v2 driver
#   systemd   as root, RUNC_USE_SYSTEMD=1: teu --systemd-cgroup (scopes)
#   rootless  as an unprivileged user with a cgroup delegated as runc's
#             tests/rootless.sh does it (ROOTLESS_FEATURES=cgroup), then
#             without one (the "no permission" tests)
#
# Each mode runs the cgroup files (cgroups, update, events, pause, ...) or
# the cgroup tests of other files (exec --cgroup, delete's cgroup tests)
# with tests/runc/run.sh in its RUNC_PREPARED mode and compares failures
# with tests/runc/expected-failures-v2.txt (lines "[MODE] file: test" apply
# to one mode): what runc v1.5.3 itself fails or skips in this guest
# (RUNTIME=runc runs it: `make test-runc-v2 RUNTIME=runc`).
#
# On the host it prepares the suite (tests/runc/run.sh RUNC_PREPARE_ONLY=1:
# the module, helpers and images, cached in build/runc-suite) and the share
# (default build/runc-v2): the runtime, run.sh, the patched suite, the
# busybox image. Results: SHARE/suite/results/<runtime>-<mode>/.
#
# Env: RUNTIME (teu, or runc), RUNC_V2_MODES ("fs2 systemd rootless"), the
# TEU_VM_* knobs of run-in-vm.sh. Root; teu must be built (make teu).
set -euo pipefail
export PATH=/usr/local/go/bin:$PATH
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
SHARE=$(realpath -m -- "${1:-$SRC/build/runc-v2}") # the guest sees it at the same absolute path
RUNTIME=${RUNTIME:-teu}
MODES=${RUNC_V2_MODES:-fs2 systemd rootless}

msg() { echo "[runc-v2] $*" >&2; }
fail() {
	echo "[runc-v2] error: $*" >&2
	exit 125
}
[[ $(id -u) == 0 ]] || fail "run as root"
[[ -x $SRC/teu ]] || fail "build teu first (make teu)"

# The files and tests each mode runs. A name may end in ":REGEX" (bats'
# --filter). Everything else in those files is covered on the host.
FS2_FILES="cgroups update events pause cgroup_delegation dev kill ps
exec:cgroup delete:cgroup|systemd|paused pidfd-socket:cgroups_v2"
SYSTEMD_FILES="cgroups update events pause dev kill
exec:cgroup delete:cgroup|systemd|paused"
ROOTLESS_FILES="cgroups update events pause ps cgroup_delegation"
# (A filter has no spaces: the guest splits the list on them; "." stands
# for one.)
ROOTLESS_NOCG_FILES="cgroups:no.permission events:^events.--stats$"

# ---- the suite, prepared on the host (Go, helpers, images)
RUNTIME=$RUNTIME RUNC_PREPARE_ONLY=1 "$SRC/tests/runc/run.sh" >&2 || fail "preparing runc's suite failed"
suite=$SRC/build/runc-suite

# ---- the share
rm -rf "$SHARE"
mkdir -p "$SHARE/tests/runc" "$SHARE/suite"
cp "$SRC/teu" "$SHARE/teu"
[[ $RUNTIME != runc ]] || cp "$suite/runc" "$SHARE/suite/runc"
cp "$SRC/tests/runc/run.sh" "$SRC/tests/runc/expected-failures-v2.txt" "$SHARE/tests/runc/"
cp -r "$suite/tests" "$SHARE/suite/tests"
cp "$suite/go.mod" "$SHARE/suite/go.mod"
# The image links point into the host's cache: the guest gets the files.
for i in "$suite"/tests/integration/testdata/*.tar.xz; do
	rm -f "$SHARE/suite/tests/integration/testdata/${i##*/}"
	cp -L "$i" "$SHARE/suite/tests/integration/testdata/"
done
# The suite's get-images.sh asks `go env GOARCH`; the guest has no Go.
mkdir -p "$SHARE/bin"
cat >"$SHARE/bin/go" <<EOF
#!/bin/sh
# go, as far as runc's get-images.sh asks it (the guest has no Go toolchain)
[ "\$*" = "env GOARCH" ] && exec echo $(go env GOARCH)
echo "go \$*: no Go toolchain in this guest" >&2
exit 1
EOF
chmod 755 "$SHARE/bin/go"

cat >"$SHARE/guest.sh" <<'EOF'
#!/bin/bash
# Runs in the guest (systemd as PID 1, cgroup v2), from the share.
set -u
cd "$(dirname "$0")"
share=$PWD
export PATH=$share/bin:$PATH
export RUNC_PREPARED=1 RUNC_OUT=$share/suite RUNC_EXPECTED=$share/tests/runc/expected-failures-v2.txt
export RUNTIME=${RUNTIME:-teu} TEU=/tmp/teu
# The runtime from the guest's disk, not over 9p (each exec would read it
# over virtio).
cp teu /tmp/teu
rc=0
run() { # mode, files; the rest of the environment as the caller set it
	local mode=$1
	shift
	echo "== runc suite, mode $mode: $*"
	RUNC_MODE=$mode RUNC_TESTS="$*" bash tests/runc/run.sh || rc=1
}
for mode in $MODES; do
	case $mode in
	fs2) run fs2 $FS2_FILES ;;
	systemd) RUNC_USE_SYSTEMD=1 run systemd $SYSTEMD_FILES ;;
	rootless)
		# runc's tests/rootless.sh: a user with subordinate ids, and
		# (for ROOTLESS_FEATURES=cgroup) /runc-cgroups-integration-test
		# whose directory, cgroup.procs and cgroup.subtree_control, and
		# the root's cgroup.procs, the user's group may write.
		id rootless >/dev/null 2>&1 || useradd -u 2000 -m -d /home/rootless -s /bin/bash -K MAIL_DIR=/dev/null rootless
		grep -q '^rootless:' /etc/subuid || echo rootless:100000:65536 >>/etc/subuid
		grep -q '^rootless:' /etc/subgid || echo rootless:200000:65536 >>/etc/subgid
		cg=/sys/fs/cgroup
		for c in $(cat $cg/cgroup.controllers); do echo "+$c" >$cg/cgroup.subtree_control 2>/dev/null; done
		mkdir -p $cg/runc-cgroups-integration-test
		chown root:rootless $cg/runc-cgroups-integration-test $cg/runc-cgroups-integration-test/cgroup.subtree_control \
			$cg/runc-cgroups-integration-test/cgroup.procs $cg/cgroup.procs
		chmod g+rwx $cg/runc-cgroups-integration-test
		chmod g+rw $cg/runc-cgroups-integration-test/cgroup.subtree_control \
			$cg/runc-cgroups-integration-test/cgroup.procs $cg/cgroup.procs
		# the suite's files, for the user to read and run
		chmod -R a+rX "$share/suite"
		ROOTLESS_FEATURES=cgroup RUNC_AS_USER=rootless run rootless $ROOTLESS_FILES
		chown root:root $cg/cgroup.procs
		chmod g-w $cg/cgroup.procs
		rmdir $cg/runc-cgroups-integration-test 2>/dev/null
		ROOTLESS_FEATURES= RUNC_AS_USER=rootless run rootless-nocgroup $ROOTLESS_NOCG_FILES
		;;
	esac
done
exit $rc
EOF
chmod +x "$SHARE/guest.sh"

IMG=$("$HERE/systemd.sh" --image-only) || fail "no systemd root image"
export TEU_VM_ROOT_IMAGE=$IMG
export TEU_VM_ENV="RUNTIME MODES FS2_FILES SYSTEMD_FILES ROOTLESS_FILES ROOTLESS_NOCG_FILES"
export MODES FS2_FILES SYSTEMD_FILES ROOTLESS_FILES ROOTLESS_NOCG_FILES RUNTIME
# TCG on the 2-core host; a guest still running after 60 min is hung.
export TEU_VM_TIMEOUT=${TEU_VM_TIMEOUT:-3600}
rc=0
"$HERE/run-in-vm.sh" "$SHARE" 'bash ./guest.sh' || rc=$?
msg "results in ${SHARE#"$SRC"/}/suite/results/"
for s in "$SHARE"/suite/results/*/summary.txt; do
	[[ -f $s ]] && echo "$(basename "$(dirname "$s")"): $(tail -1 "$s")"
done
exit "$rc"
