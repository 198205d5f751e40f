#!/usr/bin/env bash
# tests/vm/cgroupv2.sh [SHARE_DIR]: the cgroup v2 test lane (make
# test-cgroupv2). Prepares SHARE_DIR (default build/cgroupv2) with teu, the
# fs2 driver's test binary and the cgroup v2 bats file, then runs both in a
# pure cgroup v2 QEMU guest (run-in-vm.sh). Run as root from anywhere; teu
# must be built (make teu). Exit status: the guest's (see run-in-vm.sh).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
SHARE=${1:-$SRC/build/cgroupv2}
GO=${GO:-go}

[[ -x $SRC/teu ]] || {
	echo "cgroupv2.sh: build teu first (make teu)" >&2
	exit 125
}
for c in bats jq bash; do
	command -v "$c" >/dev/null || {
		echo "cgroupv2.sh: $c is missing (make deps)" >&2
		exit 125
	}
done

# The share is scratch space the guest's root writes to: rebuilt each run.
rm -rf "$SHARE"
mkdir -p "$SHARE/tests/integration"
cp "$SRC/teu" "$SHARE/teu"
cp "$SRC/tests/integration/helpers.bash" "$SRC/tests/integration/mkbundle.sh" \
	"$SRC/tests/integration/cgroupv2.bats" "$SHARE/tests/integration/"
# Static: the guest has no Go toolchain and needs no libraries for it.
(cd "$SRC" && CGO_ENABLED=0 "$GO" test -c -o "$SHARE/fs2.test" ./libcontainer/cgroups/fs2)

export TEU_VM_BATS=1
# ~1 min normally, 2 on a loaded host: a guest still running after 10 is
# hung (its kernel's task dump is printed, then it boots once more).
export TEU_VM_TIMEOUT=${TEU_VM_TIMEOUT:-600}
exec "$HERE/run-in-vm.sh" "$SHARE" '
echo "== fs2 driver against the guest kernel"
./fs2.test -test.run Kernel -test.v -test.count=1 -test.timeout 3m || exit 1
echo "== tests/integration/cgroupv2.bats"
# Run teu from the guest RAM: every exec from the 9p share reads the
# binary over virtio, which makes each teu call ~5x slower.
cp teu /tmp/teu && TEU_BIN=/tmp/teu bats --timing tests/integration/cgroupv2.bats
'
