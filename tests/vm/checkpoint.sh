#!/usr/bin/env bash
# tests/vm/checkpoint.sh [SHARE_DIR]: the checkpoint/restore lane (make
# test-checkpoint). CRIU cannot work on the development host's kernel, so
# this boots the QEMU guest (run-in-vm.sh: Debian 12's kernel, pure cgroup
# v2) with the kernel modules CRIU needs and runs there:
#
#   1. tests/integration/checkpoint.bats: teu's own tests;
#   2. runc v1.5.3's tests/integration/checkpoint.bats against teu (the
#      suite prepared by tests/runc/run.sh); a failure not listed in
#      tests/vm/checkpoint-runc-expected.txt fails the lane;
#   3. tests/engines/containerd-checkpoint.sh: containerd (ctr) checkpoints
#      and restores a container with teu as its runtime.
#
# Root; teu built (make teu); criu, iproute2, iptables, tar, containerd and
# the runc suite's tools installed on the host (make test-checkpoint does
# that): their binaries and libraries are copied into the guest. Exit
# status: the guest's (run-in-vm.sh); each part runs even if one before
# failed. CHECKPOINT_ONLY="teu runc containerd" (any of them) picks parts;
# CHECKPOINT_FILTER=REGEX runs only teu's tests whose names match (bats -f);
# CHECKPOINT_RUNC_FILTER=REGEX the same for runc's.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
SHARE=$(realpath -m -- "${1:-$SRC/build/checkpoint}") # the guest sees it at the same absolute path
GO=${GO:-go}

die() {
	echo "checkpoint.sh: $*" >&2
	exit 125
}
[[ -x $SRC/teu ]] || die "build teu first (make teu)"
need=(bats jq bash criu ip xtables-nft-multi tar gawk mktemp containerd ctr containerd-shim-runc-v2)
for c in "${need[@]}"; do
	command -v "$c" >/dev/null || die "$c is missing (make test-checkpoint installs it)"
done

# The share is scratch space the guest writes to: rebuilt each run.
rm -rf "$SHARE"
mkdir -p "$SHARE/tests/integration" "$SHARE/tests/engines" "$SHARE/bin"
cp "$SRC/teu" "$SHARE/teu"
cp "$SRC/tests/integration/helpers.bash" "$SRC/tests/integration/mkbundle.sh" \
	"$SRC/tests/integration/checkpoint.bats" "$SHARE/tests/integration/"
cp "$SRC/tests/engines/lib.sh" "$SRC/tests/engines/containerd-checkpoint.sh" "$SHARE/tests/engines/"
# Static: the guest has no Go toolchain.
for h in recvtty ptyrun; do
	(cd "$SRC" && CGO_ENABLED=0 "$GO" build -o "$SHARE/bin/$h" "./tests/cmd/$h")
done
# CRIU locks the network with iptables-restore: the nft variant, by name.
for t in iptables iptables-restore iptables-save ip6tables ip6tables-restore ip6tables-save; do
	ln -s "$(command -v xtables-nft-multi)" "$SHARE/bin/$t"
done

# runc's suite, patched as the runc lane runs it, with its helpers and
# images (copied: the guest cannot follow links into the host's cache).
# Its own copy (not the runc lane's build/runc-suite, which run.sh
# rebuilds): make test runs this lane beside the runc lanes.
suite=$(RUNC_OUT=${CHECKPOINT_RUNC_OUT:-$SRC/build/checkpoint-runc-suite} RUNC_PREPARE_ONLY=1 RUNTIME=teu "$SRC/tests/runc/run.sh") ||
	die "preparing runc's suite failed"
mkdir -p "$SHARE/runc/cmd"
cp -rL "$suite/integration" "$SHARE/runc/"
# the helpers built, not their Go sources (build/ is inside teu's module)
cp -r "$suite/cmd/_bin" "$SHARE/runc/cmd/"
cp "$HERE/checkpoint-runc-expected.txt" "$SHARE/runc/expected.txt"
# runc's helpers use GNU awk (update_config rewrites config.json with it)
# and GNU mktemp (templates with a suffix); the busybox guest has neither:
# the host's, copied in (TEU_VM_EXTRA below), come first on the PATH.
ln -s "$(command -v gawk)" "$SHARE/bin/awk"
ln -s "$(realpath "$(command -v mktemp)")" "$SHARE/bin/mktemp"
# get-images.sh asks `go env GOARCH` (then finds the images in place); the
# guest has no Go: this answers for it.
cat >"$SHARE/bin/go" <<'GO'
#!/bin/sh
[ "$1 $2" = "env GOARCH" ] && { echo amd64; exit 0; }
[ "$1" = env ] && { echo; exit 0; }
echo "go: not in the checkpoint guest" >&2
exit 1
GO
chmod 755 "$SHARE/bin/go"
# The netdevice test runs `udevadm settle` after making a dummy link; the
# guest runs no udev, so there are no events to wait for.
cat >"$SHARE/bin/udevadm" <<'UDEVADM'
#!/bin/sh
[ "$1" = settle ] && exit 0
echo "udevadm: no udev in the checkpoint guest" >&2
exit 1
UDEVADM
chmod 755 "$SHARE/bin/udevadm"

# What CRIU inspects or uses: socket diagnostics (inet/tcp/udp/unix/
# netlink/packet), netfilter for its network lock (nf_tables with the
# xtables compat and mark match iptables-nft needs), tun, veth, dummy;
# crc32c first (nf_tables' libcrc32c asks the crypto API for it).
export TEU_VM_MODULES="crc32c_generic inet_diag tcp_diag udp_diag raw_diag unix_diag netlink_diag af_packet_diag
tun veth dummy nfnetlink nf_tables nft_compat nft_ct nft_reject_inet nf_conntrack_netlink x_tables xt_mark xt_conntrack"
TEU_VM_MODULES=$(echo $TEU_VM_MODULES)
# CRIU dumps tmpfs contents with GNU tar (busybox's lacks its options);
# lib.sh removes with GNU rm's --one-file-system.
xt=$(dirname "$(realpath "$(command -v xtables-nft-multi)")")
# (iptables-nft loads its matches from libxtables' directory, by its real path)
xtlib=$(realpath "$(ldconfig -p | sed -n 's@.*=> \(.*\)/libxtables\.so.*@\1@p' | head -n1)")/xtables
[[ -d $xtlib ]] || die "no xtables extensions at $xtlib"
TEU_VM_EXTRA="$(command -v criu) $(command -v ip) $xt/xtables-nft-multi $xtlib $(command -v tar) $(command -v gawk) $(realpath "$(command -v mktemp)")
$(command -v rm) $(command -v containerd) $(command -v ctr) $(command -v containerd-shim-runc-v2) ${TEU_VM_EXTRA:-}"
export TEU_VM_EXTRA
export TEU_VM_BATS=1
# ~4-6 min on the 2-core host (TCG); a guest still running after 15 is hung
# (a test of runc's that hangs is ended before that, see BATS_TEST_TIMEOUT).
export TEU_VM_TIMEOUT=${TEU_VM_TIMEOUT:-900}
export TEU_VM_MEM=${TEU_VM_MEM:-3072}
export CHECKPOINT_ONLY=${CHECKPOINT_ONLY:-teu runc containerd}
export CHECKPOINT_FILTER=${CHECKPOINT_FILTER:-}
export CHECKPOINT_RUNC_FILTER=${CHECKPOINT_RUNC_FILTER:-}
export TEU_VM_ENV="CHECKPOINT_ONLY CHECKPOINT_FILTER CHECKPOINT_RUNC_FILTER ${TEU_VM_ENV:-}"
exec "$HERE/run-in-vm.sh" "$SHARE" '
export PATH=$PWD/bin:$PATH
rc=0
# the runc suite scripts start with #!/bin/bash: the guest has bash at the host path only
[ -e /bin/bash ] || ln -s "$(command -v bash)" /bin/bash
# teu from the guest RAM, not over 9p (every exec would read it over virtio)
cp teu /tmp/teu
t0=$(cut -d" " -f1 /proc/uptime)
since() { awk -v a="$1" -v b="$(cut -d" " -f1 /proc/uptime)" "BEGIN { printf \"%.0f\", b - a }"; }
echo "== criu $(criu --version | sed -n "s/Version: //p"), kernel $(uname -r)"

part() { case " $CHECKPOINT_ONLY " in *" $1 "*) return 0 ;; esac; return 1; }
if part teu; then
echo "== teu: tests/integration/checkpoint.bats"
t=$(cut -d" " -f1 /proc/uptime)
TEU_BIN=/tmp/teu TEU_HELPERS=$PWD/bin bats --timing ${CHECKPOINT_FILTER:+-f "$CHECKPOINT_FILTER"} tests/integration/checkpoint.bats || rc=1
echo "== ($(since "$t") s)"
fi

if part runc; then
echo "== runc v1.5.3: checkpoint.bats against teu"
# the dummy module makes dummy0 when it loads; the netdevice test makes
# its own of that name
ip link del dummy0 2>/dev/null || true
t=$(cut -d" " -f1 /proc/uptime)
# Each line as it comes (a hang shows which test it is in); a test still
# running after 4 min (they take seconds) fails as a timeout instead of
# holding the guest until the lane gives up.
(cd runc/integration && BATS_TEST_TIMEOUT=240 RUNC=/tmp/teu bats --tap ${CHECKPOINT_RUNC_FILTER:+-f "$CHECKPOINT_RUNC_FILTER"} checkpoint.bats) 2>&1 | tee runc/checkpoint.tap
fails=$(sed -n "s/^not ok [0-9]* \(.*\)/\1/p" runc/checkpoint.tap | sed "s/ # skip.*//; s/ in [0-9]*ms$//")
unexpected=0
while IFS= read -r f; do
	[ -n "$f" ] || continue
	if grep -qxF "checkpoint.bats: $f" runc/expected.txt; then
		echo "expected failure: $f"
	else
		echo "UNEXPECTED FAILURE: $f"
		unexpected=1
	fi
done <<EOF
$fails
EOF
n_ok=$(grep -c "^ok " runc/checkpoint.tap || true)
n_skip=$(grep -c "^ok .* # skip" runc/checkpoint.tap || true)
echo "== runc checkpoint.bats: $((n_ok - n_skip)) passed, $(printf "%s\n" "$fails" | grep -c .) failed, $n_skip skipped ($(since "$t") s)"
[ "$unexpected" = 0 ] || rc=1
fi

if part containerd; then
echo "== containerd: tests/engines/containerd-checkpoint.sh"
t=$(cut -d" " -f1 /proc/uptime)
TEU=/tmp/teu bash tests/engines/containerd-checkpoint.sh || rc=1
echo "== ($(since "$t") s)"
fi
echo "== checkpoint lane: $(since "$t0") s, exit $rc"
exit $rc
'
