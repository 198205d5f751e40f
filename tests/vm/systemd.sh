#!/usr/bin/env bash
# tests/vm/systemd.sh [SHARE_DIR | --image-only]: the systemd lane (make
# test-systemd); --image-only builds (or finds) the root image, prints its
# path and stops.
# Boots a QEMU guest whose root is a minimal Debian 12 with systemd as
# PID 1 on a pure cgroup v2 hierarchy (run-in-vm.sh with
# TEU_VM_ROOT_IMAGE), and runs tests/integration/systemd.bats there: the
# --systemd-cgroup driver against a real systemd over D-Bus. Run as root;
# teu must be built (make teu). Exit status: the guest's (run-in-vm.sh).
#
# The root image is built once with debootstrap (minbase + systemd, dbus,
# busybox-static, jq, bats) from Debian's mirror and cached as an ext4
# file (mke2fs -d, no loop mount) in TEU_VM_CACHE (/var/cache/teu-vm),
# next to the guest kernel. The guest boots it copy-on-write: the image is
# never changed.
#
# Environment: TEU_VM_MIRROR (http://deb.debian.org/debian) and the
# TEU_VM_* knobs of run-in-vm.sh.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
SHARE=$(realpath -m -- "${1:-$SRC/build/systemd}") # the guest sees it at the same absolute path
CACHE=${TEU_VM_CACHE:-/var/cache/teu-vm}
MIRROR=${TEU_VM_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
# gawk, procps, tini, uidmap: what runc's suite needs (tests/vm/runc-v2.sh
# runs it in this guest too); strace: the cgroup.kill tests.
PKGS=systemd,systemd-sysv,dbus,busybox-static,jq,bats,gawk,procps,tini,uidmap,strace
# Units that only slow down the boot of a throw-away guest.
MASK="apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer
dpkg-db-backup.timer systemd-timesyncd.service getty@tty1.service serial-getty@ttyS0.service
systemd-firstboot.service"

msg() { echo "[teu-vm systemd] $*" >&2; }
fail() {
	echo "[teu-vm systemd] error: $*" >&2
	exit 125
}
[[ $(id -u) == 0 ]] || fail "run as root"
[[ -x $SRC/teu || ${1:-} == --image-only ]] || fail "build teu first (make teu)"

# ------------------------------------------------------------ root image
# The key changes with whatever goes into the image.
KEY=$(echo "$SUITE $PKGS $MASK v1" | sha256sum | cut -c1-10)
IMG=$CACHE/systemd-root-$KEY.ext4
mkdir -p "$CACHE"
build_image() {
	local pkgs=() t0 tmp r size
	command -v debootstrap >/dev/null || pkgs+=(debootstrap)
	command -v mke2fs >/dev/null || pkgs+=(e2fsprogs)
	if ((${#pkgs[@]})); then
		msg "apt-get install ${pkgs[*]}"
		{ apt-get install -y -qq --no-install-recommends "${pkgs[@]}" ||
			{ apt-get update -qq && apt-get install -y -qq --no-install-recommends "${pkgs[@]}"; }; } >&2 ||
			fail "apt-get install ${pkgs[*]}"
	fi
	t0=$(date +%s)
	tmp=$(mktemp -d "$CACHE/systemd-root.XXXXXX")
	r=$tmp/root
	msg "debootstrap $SUITE ($PKGS) from $MIRROR: a few minutes, once"
	if ! debootstrap --variant=minbase --include="$PKGS" "$SUITE" "$r" "$MIRROR" >"$tmp/log" 2>&1; then
		tail -n 20 "$tmp/log" >&2
		rm -rf "$tmp"
		fail "debootstrap failed"
	fi
	echo teu-vm >"$r/etc/hostname"
	echo '127.0.0.1 localhost teu-vm' >"$r/etc/hosts"
	# A set machine id: no first-boot setup (which could prompt on the console).
	echo 7e0a5e0cb5e54c2a9c1f6a1d2b3c4d5e >"$r/etc/machine-id"
	for u in $MASK; do ln -sf /dev/null "$r/etc/systemd/system/$u"; done
	rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/* "$r"/usr/share/doc "$r"/usr/share/man
	size=$(($(du -sm "$r" | cut -f1) + 512))
	mke2fs -q -t ext4 -L teu-root -d "$r" "$tmp/img" "${size}M" >&2 || {
		rm -rf "$tmp"
		fail "mke2fs"
	}
	mv "$tmp/img" "$IMG"
	rm -rf "$tmp"
	msg "root image built in $(($(date +%s) - t0))s: $IMG ($(du -sm "$IMG" | cut -f1) MB used)"
}
(
	flock 9
	[[ -f $IMG ]] || build_image
) 9>"$CACHE/systemd-root.lock"
[[ -f $IMG ]] || fail "no root image"
if [[ ${1:-} == --image-only ]]; then
	echo "$IMG"
	exit 0
fi

# ------------------------------------------------------------ share
# Scratch space the guest's root writes to: rebuilt each run.
rm -rf "$SHARE"
mkdir -p "$SHARE/tests/integration"
cp "$SRC/teu" "$SHARE/teu"
cp "$SRC/tests/integration/helpers.bash" "$SRC/tests/integration/mkbundle.sh" \
	"$SRC/tests/integration/systemd.bats" "$SHARE/tests/integration/"

export TEU_VM_ROOT_IMAGE=$IMG
# TCG on the 2-core host: ~3.3 min at a load of 5 (boot 20 s), 10-11 min
# at a load of 16 (boot 75-90 s); a guest still running after 20 min is
# hung (its kernel's task dump is printed, then it boots again).
export TEU_VM_TIMEOUT=${TEU_VM_TIMEOUT:-1200}
exec "$HERE/run-in-vm.sh" "$SHARE" '
echo "== systemd $(systemctl --version | head -n1 | cut -d" " -f2), $(systemctl is-system-running 2>/dev/null)"
# teu from the guest disk, not over 9p (each exec would read it over virtio)
cp teu /tmp/teu && BUSYBOX=/bin/busybox TEU_BIN=/tmp/teu bats --timing tests/integration/systemd.bats
'
