#!/bin/sh
# crun-oci11.sh: crun for the conformance suite's side-by-side table.
# Debian's crun 1.8.1 refuses every config of the suite ("unknown version
# specified": it wants "1.0" inside ociVersion, and the suite writes the
# 1.3.0 it is built with), so create is given the bundle's config.json with
# ociVersion 1.1.0 (the bundles are the suite's throw-away ones). Nothing
# else is changed. See docs/conformance.md.
if [ "$1" = create ]; then
	bundle=.
	prev=
	for a in "$@"; do
		[ "$prev" = --bundle ] && bundle=$a
		prev=$a
	done
	sed -i 's/"ociVersion": *"1\.3\.0"/"ociVersion":"1.1.0"/' "$bundle/config.json"
fi
exec "${CRUN:-/usr/bin/crun}" "$@"
