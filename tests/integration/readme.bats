#!/usr/bin/env bats
# The README's "Using it" section works as written: its sh blocks run in
# order, in one shell, from a copy of the source tree with teu built (what a
# fresh clone is after `make demo`).
load helpers

setup() {
	new_bundle
	CLONE=$TEST_ROOT/clone
	mkdir "$CLONE"
	# The tree as git sees it (tracked and new files, not the ignored
	# build output).
	(cd "$TEU_SRC" && git ls-files -co --exclude-standard -z |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		xargs -0 cp --parents -t "$CLONE")
	# ./teu is the built binary with the test's own state root, so that
	# the README's container names meet no one else's containers.
	printf '#!/bin/sh\nexec "%s" --root "%s" "$@"\n' "$TEU_BIN" "$TEU_ROOT" >"$CLONE/teu"
	chmod 755 "$CLONE/teu"
}

# using_it: the sh blocks of the README's "Using it" section.
using_it() {
	awk '/^## / { in_section = ($0 == "## Using it") }
		in_section && /^```sh$/ { block = 1; next }
		in_section && /^```$/ { block = 0; next }
		block' "$CLONE/README.md"
}

@test "readme: every command block of \"Using it\" runs as written" {
	using_it >"$TEST_ROOT/using-it.sh"
	cat "$TEST_ROOT/using-it.sh"
	# The set-up, run, --trace and the lifecycle: more than a stray line.
	[ "$(grep -c '^teu ' "$TEST_ROOT/using-it.sh")" -ge 9 ]
	cd "$CLONE"
	run env -u TEU bash -e -o pipefail "$TEST_ROOT/using-it.sh"
	echo "$output"
	[ "$status" -eq 0 ]
	# What the README says they print.
	[[ "$output" == *"hello from teu"* ]]
	[[ "$output" == *"teu trace: run t1: init mounts "* ]]
	[[ "$output" == *"teu trace: run t1: total "* ]]
	[[ "$output" == *'"status": "running"'* ]]
	[[ "$output" == *"sleep 1000"* ]]
	# It cleans up after itself: no container is left.
	[ -z "$("$TEU_BIN" --root "$TEU_ROOT" list -q)" ]
}

@test "readme: every flag the command reference names is one the command takes" {
	n=0
	while IFS= read -r row; do
		# | `cmd ID` / `cmd2 ID` | what it does | flags |
		first=${row#| }
		first=${first%% |*}
		last=${row% |}
		last=${last##* | }
		for cmd in $(grep -o '`[a-z]*' <<<"$first" | tr -d '`'); do
			help=$("$TEU_BIN" "$cmd" --help)
			for f in $(grep -o -- '`--[a-z][a-z0-9-]*[a-z0-9]' <<<"$last" | tr -d '`'); do
				grep -q -- "$f" <<<"$help" || { echo "teu $cmd has no $f" >&2; return 1; }
				n=$((n + 1))
			done
		done
	done < <(sed -n '/^| command | what it does/,/^$/p' "$CLONE/README.md" | grep '^| `')
	echo "$n flags checked"
	[ "$n" -ge 40 ]
}
