#!/bin/sh
# mkbundle.sh DIR: a busybox bundle in DIR (rootfs/ + teu's default
# config.json). The rootfs is built once per busybox binary and copied.
set -eu
dir=$1
bb=${BUSYBOX:-/bin/busybox}
if ! [ -x "$bb" ] || ldd "$bb" >/dev/null 2>&1; then
	echo "mkbundle: need a static busybox at $bb (apt-get install busybox-static)" >&2
	exit 1
fi
teu=${TEU:-$(cd "$(dirname "$0")/../.." && pwd)/teu}
mkdir -p "$dir/rootfs"
r=$dir/rootfs
mkdir -p "$r/bin" "$r/etc" "$r/proc" "$r/sys" "$r/dev" "$r/tmp" "$r/root" "$r/home/user"
cp "$bb" "$r/bin/busybox"
for a in $("$bb" --list); do
	[ "$a" = busybox ] || ln -sf busybox "$r/bin/$a"
done
chmod 1777 "$r/tmp"
cat >"$r/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat >"$r/etc/group" <<'G'
root:x:0:
tty:x:5:
user:x:1000:
nogroup:x:65534:
G
rm -f "$dir/config.json"
(cd "$dir" && "$teu" spec)
# The tests' containers get a cgroup namespace on every host (teu spec,
# like runc's, adds one on cgroup v2 only).
if ! jq -e '.linux.namespaces | any(.type == "cgroup")' "$dir/config.json" >/dev/null; then
	jq '.linux.namespaces += [{"type": "cgroup"}]' "$dir/config.json" >"$dir/config.json.new" &&
		mv "$dir/config.json.new" "$dir/config.json"
fi
echo "$dir"
