#!/usr/bin/env bash
# patches.sh: the only changes made to runc's integration suite, each for
# something this host cannot do (it reaches the Go module proxy, Debian's
# mirror and npm, nothing else). Each patch checks that it applied, so a
# new runc version that moves the patched text fails loudly, not silently.
#
# Usage: tests/runc/patches.sh SUITE_DIR   (SUITE_DIR: the copy's tests/integration)
#
# Not patched, though the host lacks it: the image download. get-images.sh
# skips its curl when the file exists, and run.sh puts locally built images
# (tests/runc/images.sh) at exactly the paths it checks.
set -euo pipefail
suite=${1:?usage: patches.sh SUITE_DIR}
cd "$suite"

applied() { # file, text that must now be there
	grep -qF -- "$2" "$1" || { echo "patches.sh: patch for $1 did not apply (runc changed?)" >&2; exit 1; }
}

# 1. spec.bats "spec validator": `git clone https://github.com/opencontainers/
#    runtime-spec.git` + `git reset --hard $SPEC_REF` cannot reach GitHub
#    here. The same tree at the same version (runc's go.mod pin, which the
#    test already computes as $SPEC_VERSION) is the runtime-spec Go module,
#    which the Go module proxy serves; the test then builds and runs
#    schema/validate.go as before (its dependency also comes from the proxy).
sed -i \
	-e 's|^\tgit clone https://github.com/opencontainers/runtime-spec.git$|\tcp -r "$(go mod download -json "github.com/opencontainers/runtime-spec@$SPEC_VERSION" \| jq -r .Dir)" runtime-spec \&\& chmod -R u+w runtime-spec # teu: patched (no GitHub here)|' \
	-e 's|^\t(cd runtime-spec \&\& git reset --hard "$SPEC_REF")$|\t: "$SPEC_REF" # teu: patched (the module is already at the pinned version)|' \
	spec.bats
applied spec.bats 'go mod download -json "github.com/opencontainers/runtime-spec@$SPEC_VERSION"'
applied spec.bats ': "$SPEC_REF" # teu: patched'

# 2. netdev.bats, userns.bats, checkpoint.bats create the interface they
#    move into a container with `ip link add dummy0 ... type dummy`: this
#    host's kernel has no dummy driver (built without it, no modules:
#    "Error: Unknown device type"). A veth pair behaves the same for these
#    tests (a virtual device: moved, renamed, given an address, mtu, mac;
#    destroyed with the namespace, its peer with it); dummy0 is one end, the
#    peer stays on the host until then (teardown's `ip link del dev dummy0`
#    removes both). They then run `udevadm settle`: no udev on this host
#    (Debian's udev would replace its systemd packages), so nothing to wait
#    for; the command is skipped when missing.
for f in netdev.bats userns.bats checkpoint.bats; do
	sed -i -E \
		-e 's/^(\tip link add dummy0 .*)type dummy$/\1type veth peer name dummy0-peer # teu: patched (no dummy driver)/' \
		-e 's/^\tudevadm settle$/\t! command -v udevadm >\/dev\/null || udevadm settle # teu: patched (no udev)/' \
		"$f"
	! grep -qE 'type dummy$|^\tudevadm settle$' "$f" || { echo "patches.sh: patch 2 did not apply to $f" >&2; exit 1; }
	applied "$f" 'type veth peer name dummy0-peer # teu: patched'
	applied "$f" '|| udevadm settle # teu: patched'
done

# 3. rlimits.bats' setup raises the shell's hard NOFILE limit with
#    `prlimit --nofile=1024:65536 -p $$` (a soft limit below the hard one,
#    which the tests compare against). Root here lacks CAP_SYS_RESOURCE (not
#    in this VM's bounding set) and the hard limit is 20000, so raising it
#    fails (EPERM) and every test fails in setup. The same setup with the
#    hard limit as it is (soft 1024 below it) keeps what the tests check;
#    the two "Bigger than system's hard value" tests still need
#    CAP_SYS_RESOURCE (expected-failures.txt).
sed -i 's/^\t\[ \$EUID -eq 0 \] && prlimit --nofile=1024:65536 -p \$\$$/\t[ $EUID -eq 0 ] \&\& prlimit --nofile=1024:"$(ulimit -Hn)" -p $$ # teu: patched (no CAP_SYS_RESOURCE)/' rlimits.bats
applied rlimits.bats 'prlimit --nofile=1024:"$(ulimit -Hn)" -p $$ # teu: patched'

# 4. checkpoint.bats "checkpoint --lazy-pages and restore" waits at most 2 s
#    (`timeout 2 dd`) for CRIU's status byte, which CRIU writes once its dump
#    is done and its page server listens. In the checkpoint lane's QEMU guest
#    (TCG: code runs 5-20x slower, the host shared with the other lanes) the
#    dump alone can take longer: the test then fails before teu is asked
#    anything more. The wait is for the same event, bounded at 60 s.
sed -i 's/^\tout=\$(timeout 2 dd if=/\tout=$(timeout 60 dd if=/; s/^\(\tout=\$(timeout 60 dd if=.*\)$/\1 # teu: patched (slow TCG guest)/' checkpoint.bats
applied checkpoint.bats 'out=$(timeout 60 dd if=/proc/self/fd/${lazy_r} bs=1 count=1 2>/dev/null | od) # teu: patched'

# 5. helpers.bash's setup_recvtty starts the console socket's server
#    (recvtty) in the background and returns at once; the test's first
#    `runc run --console-socket` can then connect between recvtty's bind and
#    its listen ("connection refused"). It never did in runc's CI; here,
#    with the other chain's TCG guests taking the two cores, it did once
#    (checkpoint.bats, "bad --parent-path"). The setup now also waits, at
#    most 10 s, until /proc/net/unix lists the socket as listening (flag
#    __SO_ACCEPTCON, 00010000; a socket only bound has none). (It asked
#    `ss` before, and did not wait where ss was missing: the checkpoint
#    lane's guest, whose "checkpoint/restore and exec" lost the race once,
#    2026-12-07: "connect to console socket: no such file".)
sed -i 's|^\t("\$TESTBINDIR/recvtty" --pid-file "\$dir/pid" --mode null "\$CONSOLE_SOCKET" \&) \&$|&\n\tfor _ in $(seq 1000); do grep -F " 00010000 " /proc/net/unix \| grep -qF " $CONSOLE_SOCKET" \&\& break; sleep 0.01; done # teu: patched (recvtty may not listen yet)|' helpers.bash
applied helpers.bash 'done # teu: patched (recvtty may not listen yet)'
