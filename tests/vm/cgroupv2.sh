#!/usr/bin/env bash
# tests/vm/cgroupv2.sh [SHARE_DIR]: the cgroup v2 test lane (make
# test-cgroupv2). Prepares SHARE_DIR (default build/cgroupv2) with teu, the
# fs2 driver's test binary and every cgroup-touching bats file, then runs
# them in a pure cgroup v2 QEMU guest (run-in-vm.sh). Run as root from
# anywhere; teu must be built (make teu).
#
# The same bats files run on the host (cgroup v1, hybrid), where each test
# asserts v1's files; here each asserts v2's. A test whose subject does not
# exist on v2 skips, saying so. The lane counts the tests that ran (not
# skipped) and fails when that count is below the floor in
# tests/vm/cgroupv2.floor: a test that starts skipping here is a test lost.
#
# Exit status: the guest's (see run-in-vm.sh), or 1 when the count fell.
# TEU_V2_FILES="cgroups update": only those files (no floor check).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
SHARE=$(realpath -m -- "${1:-$SRC/build/cgroupv2}") # the guest sees it at the same absolute path
GO=${GO:-go}
# Every bats file with a test whose subject is a cgroup: the cgroup
# commands (update, events, pause, ps, kill --all, delete's removal), exec
# into a cgroup, rootless with and without a delegated cgroup.
FILES=${TEU_V2_FILES:-cgroupv2 cgroups update events pause ps exec kill delete rootless}

[[ -x $SRC/teu ]] || {
	echo "cgroupv2.sh: build teu first (make teu)" >&2
	exit 125
}
for c in bats jq bash setpriv strace; do
	command -v "$c" >/dev/null || {
		echo "cgroupv2.sh: $c is missing (make deps)" >&2
		exit 125
	}
done

# The share is scratch space the guest's root writes to: rebuilt each run.
rm -rf "$SHARE"
mkdir -p "$SHARE/tests/integration"
cp "$SRC/teu" "$SHARE/teu"
cp "$SRC"/tests/integration/*.bash "$SRC/tests/integration/mkbundle.sh" "$SHARE/tests/integration/"
for f in $FILES; do
	cp "$SRC/tests/integration/$f.bats" "$SHARE/tests/integration/"
done
# Static: the guest has no Go toolchain and needs no libraries for them.
(cd "$SRC" && CGO_ENABLED=0 "$GO" test -c -o "$SHARE/fs2.test" ./libcontainer/cgroups/fs2)
(cd "$SRC" && CGO_ENABLED=0 "$GO" build -o "$SHARE/recvtty" ./tests/cmd/recvtty)

export TEU_VM_BATS=1
# The rootless tests switch users with setpriv and map ids with the setuid
# newuidmap/newgidmap; the cgroup.kill tests trace teu with strace.
TEU_VM_EXTRA="${TEU_VM_EXTRA:-} $(command -v setpriv) $(command -v strace)"
for t in newuidmap newgidmap; do
	p=$(command -v "$t") && TEU_VM_EXTRA+=" $p"
done
export TEU_VM_EXTRA
# ~6 min normally: a guest still running after 25 is hung (its kernel's
# task dump is printed, then it boots once more).
export TEU_VM_TIMEOUT=${TEU_VM_TIMEOUT:-1500}
tap=$SHARE/bats.tap
rc=0
"$HERE/run-in-vm.sh" "$SHARE" '
set -o pipefail
echo "== fs2 driver against the guest kernel"
./fs2.test -test.run Kernel -test.v -test.count=1 -test.timeout 3m || exit 1
echo "== tests/integration: '"$FILES"'"
# Run teu from the guest RAM: every exec from the 9p share reads the
# binary over virtio, which makes each teu call ~5x slower. The waits of
# the cgroup tests get 4x their host deadline (TCG).
cp teu /tmp/teu
cd tests/integration
TEU_BIN=/tmp/teu TEU_RECVTTY='"$SHARE"'/recvtty TEU_WAIT_SCALE=4 \
	bats --tap --timing '"$(for f in $FILES; do printf '%s.bats ' "$f"; done)"' | tee '"$tap"'
' || rc=$?

# ---- the count of tests that ran on v2
[[ -s $tap ]] || exit "$rc"
ran=$(grep -cE '^ok [0-9]+ ' "$tap" | tr -d ' ' || true)
skipped=$(grep -cE '^ok [0-9]+ .* # skip' "$tap" || true)
failed=$(grep -cE '^not ok [0-9]+ ' "$tap" || true)
ran=$((ran - skipped))
floor=$(sed -n 's/^\([0-9][0-9]*\).*/\1/p' "$HERE/cgroupv2.floor" | head -1)
echo "cgroup v2 lane: $ran tests ran on cgroup v2, $failed failed, $skipped skipped (floor $floor; files: $FILES)"
if [[ -z ${TEU_V2_FILES:-} ]] && ((ran + failed < floor)); then
	echo "cgroup v2 lane: FAILED: fewer tests ran on v2 than tests/vm/cgroupv2.floor says ($((ran + failed)) < $floor):" >&2
	grep -E '^ok [0-9]+ .* # skip' "$tap" | sed 's/^/  /' >&2
	exit 1
fi
if [[ -z ${TEU_V2_FILES:-} ]] && ((ran + failed > floor)); then
	echo "cgroup v2 lane: more tests ran than the floor: raise tests/vm/cgroupv2.floor to $((ran + failed))"
fi
exit "$rc"
