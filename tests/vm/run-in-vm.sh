#!/usr/bin/env bash
# tests/vm/run-in-vm.sh DIR COMMAND [ARG...]
#
# Runs COMMAND as root in a throw-away QEMU guest that is a pure cgroup v2
# host: Debian's stock kernel booted with cgroup_no_v1=all, cgroup2 mounted
# at /sys/fs/cgroup (nsdelegate,memory_recursiveprot) with every controller
# enabled at the root. The host's cgroups are never touched.
#
# DIR is shared into the guest at the same absolute path (virtio-9p,
# read-write: share an output directory, not a source tree) and is the
# command's working directory. One COMMAND word is a shell line (busybox
# sh); several are an argv. The command's stdout+stderr stream to ours; its
# exit status becomes ours: 124 when the guest timed out, 125 when the
# guest or this script failed before a status came back.
#
# The guest userland is a static busybox. Dynamic ELF files in DIR and in
# TEU_VM_EXTRA get their shared libraries copied into the guest.
#
# Needs root (9p passthrough, apt-get). Installs qemu-system-x86,
# busybox-static and xz-utils with apt-get when missing and downloads the
# kernel package into the cache (not installed).
#
# Environment:
#   TEU_VM_EXTRA       host files/dirs copied into the guest at the same paths
#   TEU_VM_BATS=1      also copy bats and what it runs on (bash, jq)
#   TEU_VM_ENV         names of host variables exported to the command
#   TEU_VM_MEM         guest RAM in MiB (2048)
#   TEU_VM_CPUS        guest vCPUs (2)
#   TEU_VM_TIMEOUT     seconds before the guest is killed (1800), after the
#                      guest kernel dumped its CPUs and tasks (sysrq) to the
#                      console, which is printed
#   TEU_VM_RETRIES     boots again up to N times when the guest hung or
#                      crashed without a status (never when the command
#                      failed) (1)
#   TEU_VM_KERNEL_PKG  kernel package (default: linux-image-amd64's
#                      dependency, resolved once and then pinned in the cache)
#   TEU_VM_CACHE       /var/cache/teu-vm
#   TEU_VM_MODULES     extra kernel modules loaded at boot, with their
#                      dependencies (e.g. "tun veth"; a different list
#                      makes and caches a different base image)
#   TEU_VM_APPEND      extra kernel command line words (e.g. "security=selinux
#                      selinux=1")
#   TEU_VM_ROOT_IMAGE  an ext4 image of a root filesystem with systemd: the
#                      guest boots it (copy-on-write, never changed) with
#                      systemd as PID 1, which runs the command from a
#                      oneshot service (tests/vm/systemd.sh makes one). The
#                      guest's cgroup setup is then systemd's (pure v2), and
#                      TEU_VM_EXTRA and shared libraries are not copied.
#   TEU_VM_VERBOSE=1   stream the guest kernel console to stderr
#   TEU_VM_KEEP=1      keep the work dir (console log, initramfs)
set -euo pipefail

msg() { [[ ${TEU_VM_QUIET:-0} == 1 ]] || echo "[teu-vm] $*" >&2; }
fail() {
	echo "[teu-vm] error: $*" >&2
	exit 125
}

[[ $# -ge 2 ]] || {
	sed -n '2,14p' "$0" >&2
	exit 125
}
[[ $(id -u) == 0 ]] || fail "run as root"
ARGS=("$@")
SHARE=$(realpath -e -- "$1") || fail "no such directory: $1"
[[ -d $SHARE && $SHARE != / ]] || fail "not a shareable directory: $SHARE"
shift

MEM=${TEU_VM_MEM:-2048}
CPUS=${TEU_VM_CPUS:-2}
TIMEOUT=${TEU_VM_TIMEOUT:-1800}
RETRIES=${TEU_VM_RETRIES:-1}
CACHE=${TEU_VM_CACHE:-/var/cache/teu-vm}
START=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }

mkdir -p "$CACHE"
# One preparer at a time: concurrent runs share the cache.
exec 8>"$CACHE/lock"
flock 8

# ------------------------------------------------------------ host packages
updated=
apt_update() {
	[[ -n $updated ]] && return
	msg "apt-get update"
	apt-get update -qq >&2 || fail "apt-get update"
	updated=1
}
pkgs=()
command -v qemu-system-x86_64 >/dev/null || pkgs+=(qemu-system-x86)
command -v xz >/dev/null || pkgs+=(xz-utils)
command -v ldd >/dev/null || pkgs+=(libc-bin)
BUSYBOX=
for b in /bin/busybox /usr/bin/busybox; do
	# the guest needs a static one (no loader in the base image)
	if [[ -x $b ]] && ! ldd "$b" >/dev/null 2>&1; then
		BUSYBOX=$b
		break
	fi
done
[[ -n $BUSYBOX ]] || pkgs+=(busybox-static)
if ((${#pkgs[@]})); then
	apt_update
	msg "apt-get install ${pkgs[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >&2 ||
		fail "apt-get install ${pkgs[*]}"
	BUSYBOX=${BUSYBOX:-/bin/busybox}
fi

# ------------------------------------------------------------ kernel
KPKG=${TEU_VM_KERNEL_PKG:-}
if [[ -z $KPKG && -s $CACHE/kernel-pkg ]]; then
	KPKG=$(cat "$CACHE/kernel-pkg") # pinned: delete the file to follow apt
fi
if [[ -z $KPKG ]]; then
	resolve() { apt-cache depends linux-image-amd64 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ {print $2; exit}'; }
	KPKG=$(resolve) || true
	[[ -n $KPKG ]] || {
		apt_update
		KPKG=$(resolve)
	} || true
	[[ -n $KPKG ]] || fail "cannot resolve linux-image-amd64"
	echo "$KPKG" >"$CACHE/kernel-pkg"
fi
KDIR=$CACHE/$KPKG
if [[ ! -e $KDIR/.done ]]; then
	msg "downloading $KPKG"
	rm -rf "$KDIR"
	mkdir -p "$KDIR/dl"
	(cd "$KDIR/dl" && apt-get download -qq -o APT::Sandbox::User=root "$KPKG" >&2) || {
		apt_update
		(cd "$KDIR/dl" && apt-get download -qq -o APT::Sandbox::User=root "$KPKG" >&2)
	} || fail "apt-get download $KPKG"
	dpkg-deb -x "$KDIR"/dl/*.deb "$KDIR/root"
	rm -rf "$KDIR/dl"
	vmlinuz=$(ls "$KDIR"/root/boot/vmlinuz-*)
	# Boot the ELF vmlinux through QEMU's PVH entry rather than the
	# bzImage: decompressing xz in the guest costs seconds under TCG.
	# The payload starts at an xz stream magic inside the bzImage.
	for off in $(LC_ALL=C grep -abo $'\xfd7zXZ\x00' "$vmlinuz" | cut -d: -f1); do
		tail -c +$((off + 1)) "$vmlinuz" | xz -dc 2>/dev/null >"$KDIR/vmlinux" || true
		[[ $(head -c 4 "$KDIR/vmlinux" | od -An -c | tr -d ' ') == '177ELF' ]] && break
		rm -f "$KDIR/vmlinux"
	done
	[[ -f $KDIR/vmlinux ]] || cp "$vmlinuz" "$KDIR/vmlinux"
	touch "$KDIR/.done"
fi
KVER=$(ls "$KDIR/root/lib/modules")
MODDIR=$KDIR/root/lib/modules/$KVER

# ------------------------------------------------------------ modules
# What the guest needs beyond the built-ins: 9p over virtio for the share,
# loop and overlay for tests, and TEU_VM_MODULES. The package has no
# modules.dep (depmod runs at install), so dependencies come from each
# module's "depends=" modinfo.
WANT="virtio_pci 9pnet_virtio 9p loop overlay${TEU_VM_MODULES:+ $TEU_VM_MODULES}"
unpack() {
	case $1 in
	*.xz) xz -dc "$1" ;;
	*.zst) zstd -qdc "$1" ;;
	*) cat "$1" ;;
	esac
}
declare -A KO=() SEEN=()
ORDER=()
want_mod() {
	if ((${#KO[@]} == 0)); then
		while IFS= read -r f; do
			n=${f##*/}
			n=${n%%.ko*}
			KO[${n//-/_}]=$f
		done < <(find "$MODDIR/kernel" -name '*.ko*')
	fi
	local m=${1//-/_} f d
	[[ -n ${SEEN[$m]:-} ]] && return
	SEEN[$m]=1
	f=${KO[$m]:-}
	if [[ -z $f ]]; then
		grep -qE "/${m//_/[-_]}\.ko" "$MODDIR/modules.builtin" || msg "warning: no module $m"
		return
	fi
	for d in $(unpack "$f" | tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' '); do
		want_mod "$d"
	done
	ORDER+=("$f")
}
MODLIST=$KDIR/modules-$(echo "$WANT" | sha256sum | cut -c1-8)
if [[ -s $MODLIST ]]; then
	mapfile -t ORDER <"$MODLIST"
else
	for m in $WANT; do want_mod "$m"; done
	printf '%s\n' "${ORDER[@]}" >"$MODLIST"
fi

# The root image (TEU_VM_ROOT_IMAGE) needs a virtio disk with ext4 on it;
# those modules (and crc32c, which ext4 asks the crypto API for) are
# listed apart and loaded only in that mode. The list is whole whatever
# WANT held (SEEN starts empty): it is cached for every lane, and a
# checkpoint lane's WANT has crc32c too. ("v2": lists cached before that
# lacked crc32c.)
DISK_WANT="virtio_blk crc32c_generic ext4"
DMODLIST=$KDIR/modules-$(echo "v2 $DISK_WANT" | sha256sum | cut -c1-8)
if [[ -s $DMODLIST ]]; then
	mapfile -t DORDER <"$DMODLIST"
else
	keep=("${ORDER[@]}")
	ORDER=()
	SEEN=()
	for m in $DISK_WANT; do want_mod "$m"; done
	DORDER=("${ORDER[@]}")
	ORDER=("${keep[@]}")
	printf '%s\n' "${DORDER[@]}" >"$DMODLIST"
fi

# ------------------------------------------------------------ guest init
# Stage 1 runs on the initramfs' rootfs, which pivot_root (as any container
# runtime does) cannot leave: copy everything to a tmpfs and switch_root.
read -r -d '' INIT1 <<'EOF' || true
#!/bin/busybox sh
[ -e /teu-vm/disk ] && exec /teu-vm/init-disk
mkdir /newroot
mount -t tmpfs -o mode=0755 tmpfs /newroot
for e in /* /.[!.]*; do
	case $e in /newroot | /proc | /sys | /dev | '/.[!.]*') ;; *) cp -a "$e" /newroot/ ;; esac
done
mkdir -p /newroot/proc /newroot/sys /newroot/dev
exec switch_root /newroot /teu-vm/init2
EOF
# Stage 2 sets up a systemd-like cgroup v2 host and runs the command.
# Kernel console: ttyS0. Command output: ttyS1. Exit status: ttyS2.
read -r -d '' INIT2 <<'EOF' || true
#!/bin/busybox sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
. /teu-vm/env
die() { echo "teu-vm guest: $*" >/dev/ttyS0; echo "ERROR $*" >/dev/ttyS2; sync; poweroff -f; }
off() { poweroff -f; }
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /dev/mqueue /tmp /run /var/tmp
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts /dev/pts
mount -t tmpfs -o mode=1777,nosuid,nodev shm /dev/shm
mount -t mqueue mqueue /dev/mqueue
ln -sf /proc/self/fd /dev/fd
chmod 1777 /tmp /var/tmp
mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup || die "mount cgroup2"
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
	echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control || echo "teu-vm guest: cannot enable $c" >/dev/ttyS0
done
hostname teu-vm
ip link set lo up
for m in $(cat /teu-vm/modules); do insmod "/teu-vm/mod/$m" || die "insmod $m"; done
EOF

# With a root image (TEU_VM_ROOT_IMAGE): mount it and hand over to its
# systemd, which starts teu-vm.service: the command, its output on ttyS1
# and status on ttyS2 as in stage 2, then an immediate power-off (the
# image's writes go to a throw-away overlay).
read -r -d '' INIT_DISK <<'EOF' || true
#!/bin/busybox sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
die() { echo "teu-vm guest: $*" >/dev/ttyS0; echo "ERROR $*" >/dev/ttyS2; sync; poweroff -f; }
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /teu-vm/modules /teu-vm/modules-disk); do
	insmod "/teu-vm/mod/$m" 2>/dev/null || echo "teu-vm guest: insmod $m failed" >/dev/ttyS0
done
# virtio_blk probes asynchronously
i=0
while [ ! -b /dev/vda ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
mkdir -p /newroot
mount -t ext4 /dev/vda /newroot || die "mount the root image"
mkdir -p /newroot/teu-vm
cp /teu-vm/cmd /teu-vm/env /teu-vm/guest-run /newroot/teu-vm/
cp /teu-vm/teu-vm.service /newroot/etc/systemd/system/
mkdir -p /newroot/etc/systemd/system/multi-user.target.wants
ln -sf ../teu-vm.service /newroot/etc/systemd/system/multi-user.target.wants/teu-vm.service
umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/init
EOF
read -r -d '' GUEST_RUN <<'EOF' || true
#!/bin/sh
. /teu-vm/env
die() { echo "ERROR $*" >/dev/ttyS2; sync; systemctl poweroff -ff; }
off() { systemctl poweroff -ff; }
EOF
# The end of stage 2 and of guest-run, after their own set-up: mount the
# share, run the command (output on ttyS1), report its status on ttyS2
# and power off (die and off are each script's own).
read -r -d '' RUN_CMD <<'EOF' || true
mkdir -p "$TEU_VM_DIR"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288,cache=mmap,access=client share "$TEU_VM_DIR" ||
	die "mount 9p share"
cd "$TEU_VM_DIR" || die "cd $TEU_VM_DIR"
stty -F /dev/ttyS1 raw -echo
t0=$(cut -d' ' -f1 /proc/uptime)
sh /teu-vm/cmd </dev/null >/dev/ttyS1 2>&1
rc=$?
t1=$(cut -d' ' -f1 /proc/uptime)
cd /
umount "$TEU_VM_DIR"
sync
echo "RC $rc boot=${t0}s command=${t1}s" >/dev/ttyS2
off
EOF
INIT2+=$'\n'$RUN_CMD
GUEST_RUN+=$'\n'$RUN_CMD
read -r -d '' GUEST_UNIT <<'EOF' || true
[Unit]
Description=teu VM command
After=basic.target dbus.socket
Wants=dbus.socket

[Service]
Type=oneshot
ExecStart=/bin/sh /teu-vm/guest-run
StandardInput=null
StandardOutput=journal
TimeoutStartSec=infinity
EOF

KEY=$({
	echo "$KPKG $KVER ${ORDER[*]} ${DORDER[*]}"
	sha256sum "$BUSYBOX"
	echo "$INIT1$INIT2$INIT_DISK$GUEST_RUN$GUEST_UNIT"
} | sha256sum | cut -c1-12)
BASE=$CACHE/base-$KEY.cpio
if [[ ! -f $BASE ]]; then
	msg "building the guest base image ($KVER, ${#ORDER[@]} modules)"
	st=$(mktemp -d)
	mkdir -p "$st"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,root,etc,teu-vm/mod}
	cp "$BUSYBOX" "$st/bin/busybox"
	for a in $("$BUSYBOX" --list-full); do
		[[ -e $st/$a ]] || ln -s /bin/busybox "$st/$a"
	done
	printf '%s\n' "$INIT1" >"$st/init"
	printf '%s\n' "$INIT2" >"$st/teu-vm/init2"
	printf '%s\n' "$INIT_DISK" >"$st/teu-vm/init-disk"
	printf '%s\n' "$GUEST_RUN" >"$st/teu-vm/guest-run"
	printf '%s\n' "$GUEST_UNIT" >"$st/teu-vm/teu-vm.service"
	chmod 755 "$st/init" "$st/teu-vm/init2" "$st/teu-vm/init-disk"
	: >"$st/teu-vm/modules"
	for f in "${ORDER[@]}"; do
		n=${f##*/}
		n=${n%%.ko*}.ko
		unpack "$f" >"$st/teu-vm/mod/$n"
		echo "$n" >>"$st/teu-vm/modules"
	done
	: >"$st/teu-vm/modules-disk"
	for f in "${DORDER[@]}"; do
		n=${f##*/}
		n=${n%%.ko*}.ko
		[[ -e $st/teu-vm/mod/$n ]] && continue
		unpack "$f" >"$st/teu-vm/mod/$n"
		echo "$n" >>"$st/teu-vm/modules-disk"
	done
	printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$st/etc/passwd"
	printf '%s\n' 'root:x:0:' 'tty:x:5:' 'nogroup:x:65534:' >"$st/etc/group"
	echo '127.0.0.1 localhost teu-vm' >"$st/etc/hosts"
	(cd "$st" && find . | LC_ALL=C sort | "$BUSYBOX" cpio -o -H newc 2>/dev/null) >"$BASE.new"
	mv "$BASE.new" "$BASE"
	rm -rf "$st"
fi

# ------------------------------------------------------------ per-run image
WORK=$(mktemp -d /tmp/teu-vm.XXXXXX)
QPID='' TPID='' CPID='' MPID='' WPID=
cleanup() {
	for p in $QPID $TPID $CPID $MPID $WPID; do kill "$p" 2>/dev/null || true; done
	if [[ ${TEU_VM_KEEP:-0} == 1 ]]; then msg "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
R=$WORK/run
mkdir -p "$R/teu-vm"
disk=()
if [[ -n ${TEU_VM_ROOT_IMAGE:-} ]]; then
	img=$(realpath -e -- "$TEU_VM_ROOT_IMAGE") || fail "no such root image: $TEU_VM_ROOT_IMAGE"
	: >"$R/teu-vm/disk"
	disk=(-drive "file=$img,if=virtio,format=raw,snapshot=on")
fi
if [[ $# -eq 1 ]]; then
	printf '%s\n' "$1" >"$R/teu-vm/cmd"
else
	{
		printf 'exec'
		for a in "$@"; do printf ' %s' "$(quote "$a")"; done
		echo
	} >"$R/teu-vm/cmd"
fi
{
	echo "export TEU_VM_DIR=$(quote "$SHARE")"
	for v in ${TEU_VM_ENV:-}; do
		[[ $v =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || fail "TEU_VM_ENV: bad name $v"
		[[ -v $v ]] && echo "export $v=$(quote "${!v}")"
	done
} >"$R/teu-vm/env"

# bats and what it runs on: bash and jq from the host (their libraries
# follow below); everything else is the guest's busybox.
if [[ ${TEU_VM_BATS:-} == 1 ]]; then
	bats=$(command -v bats) || fail "TEU_VM_BATS: bats is not installed"
	TEU_VM_EXTRA="$(command -v bash) $(command -v jq) ${TEU_VM_EXTRA:-}"
	if pkg=$(dpkg -S "$(realpath "$bats")" 2>/dev/null | cut -d: -f1) && [[ -n $pkg ]]; then
		for f in $(dpkg -L "$pkg"); do
			[[ -f $f && $f != /usr/share/* ]] && TEU_VM_EXTRA+=" $f"
		done
	else # bats-core installed from source: its libexec and lib dirs
		prefix=$(dirname "$(dirname "$(realpath "$bats")")")
		TEU_VM_EXTRA+=" $bats $prefix/libexec/bats-core $prefix/lib/bats-core"
	fi
fi

# Extra host files, then the shared libraries of every dynamic ELF in the
# share and the extras (including the loader), at their host paths.
extra=()
for e in ${TEU_VM_EXTRA:-}; do
	e=$(realpath -es -- "$e") || fail "TEU_VM_EXTRA: no such path: $e"
	extra+=("${e#/}")
	[[ -L /$e ]] || continue
	t=$(realpath -e -- "/${e#/}")
	extra+=("${t#/}")
done
# --parents makes real directories of the ancestors (host /bin is a link
# to usr/bin; in the guest /bin holds busybox)
((${#extra[@]} == 0)) || (cd / && cp -a --parents "${extra[@]}" "$R/") || fail "copy TEU_VM_EXTRA"
declare -A LIBS=()
add_libs() {
	local f l
	while IFS= read -r -d '' f; do
		[[ $(head -c 4 "$f" 2>/dev/null | od -An -c | tr -d ' ') == '177ELF' ]] || continue
		while read -r l; do
			[[ -e $l ]] && LIBS[$l]=1
		done < <(ldd "$f" 2>/dev/null | sed -nE 's@.*=> (/[^ ]+) .*@\1@p; s@^[[:space:]]*(/[^ ]+) \(0x.*@\1@p')
	done < <(find "$@" -type f -perm /111 -print0 2>/dev/null)
}
add_libs "$SHARE"
((${#extra[@]} == 0)) || add_libs "${extra[@]/#/\/}"
for l in "${!LIBS[@]}"; do
	for p in "$l" "$(realpath "$l")"; do # the loader asks by the unmerged name
		mkdir -p "$R$(dirname "$p")"
		cp -L "$l" "$R$p"
	done
done
(cd "$R" && find . | LC_ALL=C sort | "$BUSYBOX" cpio -o -H newc 2>/dev/null) >"$WORK/run.cpio"
cat "$BASE" "$WORK/run.cpio" >"$WORK/initrd"
flock -u 8
exec 8>&-

# ------------------------------------------------------------ boot
# shellcheck disable=SC2054 # tcg,thread=multi is one argument
accel=(-accel tcg,thread=multi -cpu max)
# Only real hardware KVM: nested or paravirtual variants boot no faster.
if [[ -w /dev/kvm ]] && [[ -d /sys/module/kvm_intel || -d /sys/module/kvm_amd ]]; then
	accel=(-accel kvm -cpu host)
fi
bios=()
[[ -f /usr/share/qemu/qboot.rom ]] && bios=(-bios /usr/share/qemu/qboot.rom) # faster than SeaBIOS
: >"$WORK/console" && : >"$WORK/out" && : >"$WORK/status"
# The QEMU monitor on a FIFO pair: on a timeout it makes the guest kernel
# dump its CPUs and tasks into the console log before the guest is killed.
mkfifo "$WORK/mon.in" "$WORK/mon.out"
msg "booting $KPKG (${accel[1]%%,*}, $CPUS cpus, ${MEM}M), prepared in $(elapsed "$START")s"
T1=$(date +%s.%N)
qemu-system-x86_64 -M pc -nodefaults -no-user-config -display none -no-reboot \
	"${accel[@]}" "${bios[@]}" -smp "$CPUS" -m "$MEM" \
	-kernel "$KDIR/vmlinux" -initrd "$WORK/initrd" \
	-append "console=ttyS0 quiet loglevel=4 panic=-1 sysrq_always_enabled rdinit=/init cgroup_no_v1=all mitigations=off random.trust_cpu=on${TEU_VM_APPEND:+ $TEU_VM_APPEND}" \
	-serial "file:$WORK/console" -serial "file:$WORK/out" -serial "file:$WORK/status" \
	-chardev "pipe,id=mon,path=$WORK/mon" -mon chardev=mon,mode=readline \
	-fsdev "local,id=share,path=$SHARE,security_model=passthrough" \
	-device virtio-9p-pci,fsdev=share,mount_tag=share "${disk[@]}" </dev/null &
QPID=$!
# Stream the command's output while the guest runs.
tail -n +1 -s 0.2 --pid=$QPID -f "$WORK/out" &
TPID=$!
if [[ ${TEU_VM_VERBOSE:-0} == 1 ]]; then
	tail -n +1 -s 0.2 --pid=$QPID -f "$WORK/console" >&2 &
	CPID=$!
fi
# Drain the monitor's replies (QEMU blocks when nobody reads them).
cat "$WORK/mon.out" >"$WORK/monitor.log" 2>/dev/null &
MPID=$!
# Watchdog: tail --pid returns when QEMU exits; if the timeout comes first,
# dump (sysrq: loglevel 8, backtraces of all CPUs, blocked tasks, all
# tasks), then stop QEMU: SIGTERM, and SIGKILL if that is not enough.
(
	timeout "$TIMEOUT" tail -s 0.5 --pid=$QPID -f /dev/null && exit 0
	: >"$WORK/timedout"
	for k in 8 l w t; do
		echo "sendkey alt-sysrq-$k" >"$WORK/mon.in"
		sleep 2
	done
	kill -TERM $QPID 2>/dev/null
	sleep 10
	kill -KILL $QPID 2>/dev/null
) &
WPID=$!
wait "$QPID" 2>/dev/null || true
QPID=
wait "$WPID" 2>/dev/null || true
exec 7<>"$WORK/mon.out" 7>&- # release cat if QEMU never opened the pipe
wait "$MPID" 2>/dev/null || true
wait "$TPID" 2>/dev/null || true
TPID=
[[ -z $CPID ]] || wait "$CPID" 2>/dev/null || true
CPID=
timedout=
[[ ! -e $WORK/timedout ]] || timedout=1

status=$(tr -d '\r' <"$WORK/status")
if [[ $status =~ ^RC\ ([0-9]+)\ boot=([0-9.]+)s\ command=([0-9.]+)s ]]; then
	rc=${BASH_REMATCH[1]}
	msg "exit $rc; guest booted in ${BASH_REMATCH[2]}s, command ran $(awk -v a="${BASH_REMATCH[2]}" -v b="${BASH_REMATCH[3]}" 'BEGIN{printf "%.1f", b-a}')s; wall $(elapsed "$START")s (vm $(elapsed "$T1")s)"
	exit "$rc"
fi
if [[ -n $timedout ]]; then
	echo "[teu-vm] guest timed out after ${TIMEOUT}s; console tail:" >&2
	rc=124
else
	echo "[teu-vm] guest ended without a status ${status:+($status)}; console tail:" >&2
	rc=125
fi
if [[ -n $timedout ]] && n=$(grep -n -m1 'sysrq: Changing Loglevel' "$WORK/console" | cut -d: -f1); then
	# the last lines before the dump, then the dump
	head -n $((n - 1)) "$WORK/console" | tail -n 30 >&2
	tail -n +"$n" "$WORK/console" | head -n 2000 >&2
else
	tail -n 40 "$WORK/console" >&2
fi
# A hung or crashed guest (not a failing command) may get another boot.
if ((RETRIES > 0)) && [[ $status != ERROR* ]]; then
	msg "booting again (TEU_VM_RETRIES=$RETRIES)"
	cleanup
	trap - EXIT
	TEU_VM_RETRIES=$((RETRIES - 1)) exec "$0" "${ARGS[@]}"
fi
exit "$rc"
