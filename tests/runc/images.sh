#!/usr/bin/env bash
# images.sh: the two images runc's integration tests use, built locally
# (this host reaches no image registry) and cached.
#
# Usage: tests/runc/images.sh DESTDIR
#   Puts DESTDIR/busybox-amd64.tar.xz and DESTDIR/debian-amd64.tar.xz (the
#   paths the suite's get-images.sh checks before it would download), as
#   symlinks to the cached tarballs. Prints nothing else on stdout.
# Env: RUNC_IMAGE_CACHE (default /var/cache/teu-runc), DEBIAN_MIRROR (default:
#   the first bookworm mirror in apt's sources), RUNC_IMAGES_REFRESH=1 rebuilds.
#
# Format: what the suite does with them is
#   tar --exclude './dev/*' -C rootfs -xf "$image"
# so both are tarballs of "./..." entries. They are gzip-compressed despite
# the .tar.xz name: GNU tar detects the compression from the content, and
# runc's own get-images.sh also stores the gzip'ed busybox image under a
# .tar.xz name; gzip unpacks several times faster than xz, and every test
# unpacks an image.
#
# busybox: Debian's busybox-static (/bin/busybox, static) with a symlink in
# /bin for every applet `busybox --list` prints (docker's busybox image has
# every applet in /bin too), and docker's busybox /etc/passwd, /etc/group
# (root, daemon, bin, sys, ..., nobody/nogroup 65534; no uid 1000, which
# exec.bats relies on for HOME=/), /root (0700), /tmp (1777), /home, /var.
# debian: debootstrap --variant=minbase bookworm (the suite's upstream image
# is Debian 10 "buster" slim; buster is no longer on Debian's mirrors), with
# /dev emptied as in docker's image.
set -euo pipefail
dest=${1:?usage: images.sh DESTDIR}
cache=${RUNC_IMAGE_CACHE:-/var/cache/teu-runc}
recipe=1 # bump when the recipe below changes
arch=$(dpkg --print-architecture)
[[ $arch == amd64 ]] || { echo "images.sh: only amd64 is supported (got $arch)" >&2; exit 1; }
mkdir -p "$cache" "$dest"

log() { echo "runc images: $*" >&2; }

# ---- busybox
bb=/bin/busybox
bbver=$(dpkg-query -W -f '${Version}' busybox-static 2>/dev/null | tr ':~+' '___')
[[ -n $bbver && -x $bb ]] || { echo "images.sh: busybox-static is not installed" >&2; exit 1; }
busybox_tar=$cache/busybox-$bbver-r$recipe.tar.gz
if [[ ! -s $busybox_tar || -n ${RUNC_IMAGES_REFRESH:-} ]]; then
	log "building $busybox_tar"
	t=$(mktemp -d)
	trap 'rm -rf "$t"' EXIT
	r=$t/rootfs
	mkdir -p "$r"/{bin,dev,etc,home,root,tmp,usr/sbin,var/spool/mail,var/www}
	chmod 0700 "$r/root"
	chmod 1777 "$r/tmp"
	cp "$bb" "$r/bin/busybox"
	for a in $("$bb" --list); do
		[[ $a == busybox ]] && continue
		ln -s busybox "$r/bin/$a"
	done
	cat >"$r/etc/passwd" <<-'EOF'
		root:x:0:0:root:/root:/bin/sh
		daemon:x:1:1:daemon:/usr/sbin:/bin/false
		bin:x:2:2:bin:/bin:/bin/false
		sys:x:3:3:sys:/dev:/bin/false
		sync:x:4:100:sync:/bin:/bin/sync
		mail:x:8:8:mail:/var/spool/mail:/bin/false
		www-data:x:33:33:www-data:/var/www:/bin/false
		operator:x:37:37:Operator:/var:/bin/false
		nobody:x:65534:65534:nobody:/home:/bin/false
	EOF
	cat >"$r/etc/group" <<-'EOF'
		root:x:0:
		daemon:x:1:
		bin:x:2:
		sys:x:3:
		adm:x:4:
		tty:x:5:
		disk:x:6:
		lp:x:7:
		mail:x:8:
		kmem:x:9:
		wheel:x:10:root
		cdrom:x:11:
		dialout:x:18:
		floppy:x:19:
		video:x:28:
		audio:x:29:
		tape:x:32:
		www-data:x:33:
		operator:x:37:
		utmp:x:43:
		plugdev:x:46:
		staff:x:50:
		lock:x:54:
		netdev:x:82:
		users:x:100:
		nogroup:x:65534:
	EOF
	sed 's/:.*//; s/$/:*:10933:0:99999:7:::/' "$r/etc/passwd" >"$r/etc/shadow"
	chmod 0640 "$r/etc/shadow"
	tar --numeric-owner --owner=0 --group=0 -C "$r" -czf "$busybox_tar.new" .
	mv "$busybox_tar.new" "$busybox_tar"
	rm -rf "$t"
	trap - EXIT
fi

# ---- debian
debian_tar=$cache/debian-bookworm-minbase-r$recipe.tar.gz
if [[ ! -s $debian_tar || -n ${RUNC_IMAGES_REFRESH:-} ]]; then
	command -v debootstrap >/dev/null || { echo "images.sh: debootstrap is not installed" >&2; exit 1; }
	mirror=${DEBIAN_MIRROR:-}
	if [[ -z $mirror ]]; then
		# deb822 sources (URIs:/Suites:) or one-line "deb URI bookworm ..."
		mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '
			/^URIs:/ { u = $2 } /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == "bookworm") { print u; exit } }')
		[[ -n $mirror ]] || mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
			awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }')
		: "${mirror:=http://deb.debian.org/debian}"
	fi
	log "building $debian_tar (debootstrap --variant=minbase bookworm $mirror; a few minutes)"
	t=$(mktemp -d)
	trap 'rm -rf "$t"' EXIT
	debootstrap --variant=minbase bookworm "$t/rootfs" "$mirror" >"$t/debootstrap.log" 2>&1 || {
		tail -20 "$t/debootstrap.log" >&2
		exit 1
	}
	rm -rf "$t"/rootfs/dev/* "$t"/rootfs/var/cache/apt/archives/*.deb "$t"/rootfs/var/lib/apt/lists/*
	tar --numeric-owner -C "$t/rootfs" -czf "$debian_tar.new" .
	mv "$debian_tar.new" "$debian_tar"
	rm -rf "$t"
	trap - EXIT
fi

ln -sfn "$busybox_tar" "$dest/busybox-amd64.tar.xz"
ln -sfn "$debian_tar" "$dest/debian-amd64.tar.xz"
