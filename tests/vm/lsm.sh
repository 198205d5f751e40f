#!/usr/bin/env bash
# tests/vm/lsm.sh [SHARE_DIR]: the LSM test lane (make test-lsm). AppArmor
# and SELinux are off on our hosts, so tests/integration/lsm.bats runs in
# two QEMU guests (run-in-vm.sh) with Debian's kernel:
#
#   1. booted with "apparmor=1 security=apparmor": apparmor_parser loads
#      tests/vm/lsm/teu-test.apparmor, then the bats file runs;
#   2. booted with "selinux=1 security=selinux": the policy compiled on the
#      host from tests/vm/lsm/teu-test.conf (checkpolicy) is written to
#      /sys/fs/selinux/load, SELinux is set enforcing, then the bats file runs.
#
# apparmor_parser and checkpolicy come from Debian's apparmor and
# checkpolicy packages, downloaded (apt-get download) into the VM cache and
# unpacked there, never installed on the host. Run as root; teu must be
# built (make teu). TEU_LSM_ONLY=apparmor or selinux boots only that guest.
# Exit status: the first failing guest's (run-in-vm.sh).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
SHARE=${1:-$SRC/build/lsm}
CACHE=${TEU_VM_CACHE:-/var/cache/teu-vm}

die() {
	echo "lsm.sh: $*" >&2
	exit 125
}
[[ -x $SRC/teu ]] || die "build teu first (make teu)"
for c in bats jq bash; do
	command -v "$c" >/dev/null || die "$c is missing (make deps)"
done

# The tools, from their Debian packages, unpacked once per version.
tools() {
	local pkg=$1 ver dir
	ver=$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2}')
	if [[ -z $ver || $ver == "(none)" ]]; then
		apt-get update -qq >&2 || die "apt-get update"
		ver=$(apt-cache policy "$pkg" | awk '/Candidate:/ {print $2}')
	fi
	dir=$CACHE/lsm-tools/$pkg-${ver//:/_}
	if [[ ! -e $dir/.done ]]; then
		rm -rf "$dir" && mkdir -p "$dir/dl"
		(cd "$dir/dl" && apt-get download -qq -o APT::Sandbox::User=root "$pkg=$ver" >&2) || die "apt-get download $pkg"
		dpkg-deb -x "$dir"/dl/*.deb "$dir/root" && rm -rf "$dir/dl" && touch "$dir/.done"
	fi
	echo "$dir/root"
}
mkdir -p "$CACHE"
exec 9>"$CACHE/lsm-tools.lock" # concurrent runs share the cache
flock 9
AA=$(tools apparmor)
SE=$(tools checkpolicy)
exec 9>&-

# The share is scratch space the guest's root writes to: rebuilt each run.
rm -rf "$SHARE"
mkdir -p "$SHARE/tests/integration" "$SHARE/lsm"
SHARE=$(realpath "$SHARE") # the guest sees it at the same absolute path
cp "$SRC/teu" "$SHARE/teu"
cp "$SRC/tests/integration/helpers.bash" "$SRC/tests/integration/mkbundle.sh" \
	"$SRC/tests/integration/lsm.bats" "$SHARE/tests/integration/"
cp "$AA/sbin/apparmor_parser" "$SHARE/lsm/"
cp "$HERE/lsm/teu-test.apparmor" "$SHARE/lsm/"
# KEYCTL_GET_SECURITY for the keyring label test (busybox has no keyctl).
(cd "$SRC" && CGO_ENABLED=0 "${GO:-go}" build -o "$SHARE/lsm/keylabel" ./tests/vm/lsm/keylabel) || die "build keylabel"
export TEU_LSM_KEYLABEL=$SHARE/lsm/keylabel TEU_VM_ENV="TEU_LSM_KEYLABEL ${TEU_VM_ENV:-}"
"$SE/usr/bin/checkpolicy" -U allow -o "$SHARE/lsm/teu-test.policy" "$HERE/lsm/teu-test.conf" >/dev/null ||
	die "checkpolicy tests/vm/lsm/teu-test.conf"

export TEU_VM_BATS=1
# Each guest takes well under a minute; one still running after 5 is hung.
export TEU_VM_TIMEOUT=${TEU_VM_TIMEOUT:-300}

# Run teu from the guest's RAM (from the 9p share each call is ~5x slower).
# Each guest runs the tests that apply to it (the others would only skip).
bats_cmd() { echo "cp teu /tmp/teu && TEU_BIN=/tmp/teu bats --timing --filter '$1' tests/integration/lsm.bats"; }

only=${TEU_LSM_ONLY:-}
if [[ -z $only || $only == apparmor ]]; then
	echo "== AppArmor guest"
	TEU_VM_APPEND="apparmor=1 security=apparmor" "$HERE/run-in-vm.sh" "$SHARE" '
mount -t securityfs securityfs /sys/kernel/security || exit 1
grep -qx Y /sys/module/apparmor/parameters/enabled || { echo "AppArmor is not enabled in the guest"; exit 1; }
./lsm/apparmor_parser --config-file /dev/null -r -K -q lsm/teu-test.apparmor || exit 1
grep "^teu-test " /sys/kernel/security/apparmor/profiles || exit 1
'"$(bats_cmd 'AppArmor:|AppArmor in|SELinux off|accepted')"
fi
if [[ -z $only || $only == selinux ]]; then
	echo "== SELinux guest"
	TEU_VM_APPEND="selinux=1 security=selinux" "$HERE/run-in-vm.sh" "$SHARE" '
mount -t selinuxfs selinuxfs /sys/fs/selinux || { echo "SELinux is not enabled in the guest"; exit 1; }
cat lsm/teu-test.policy >/sys/fs/selinux/load || exit 1
echo 1 >/sys/fs/selinux/enforce || exit 1
echo "policy loaded; enforcing=$(cat /sys/fs/selinux/enforce); we are $(cat /proc/self/attr/current)"
'"$(bats_cmd 'SELinux:|AppArmor off|accepted')"
fi
