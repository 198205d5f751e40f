# Shared set-up for teu's bats tests. Each test gets its own state root and
# bundle under a temp dir; teardown deletes every container it made, even
# when the test failed.

TEU_SRC=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
TEU_BIN=${TEU_BIN:-$TEU_SRC/teu}

# One busybox rootfs per test file run, copied per test (cp is cheap).
setup_file() {
	TEU_CACHE=$(mktemp -d "${BATS_FILE_TMPDIR:-/tmp}/teu-cache.XXXXXX")
	export TEU_CACHE
	TEU=$TEU_BIN "$TEU_SRC/tests/integration/mkbundle.sh" "$TEU_CACHE/bundle" >/dev/null
}

# new_bundle: a fresh TEST_ROOT with the state root and a copy of the
# cached busybox bundle in it. Tests mostly want plain output, not a
# terminal. A file's own setup() calls it first, then adds its own.
new_bundle() {
	TEST_ROOT=$(mktemp -d /tmp/teu-test.XXXXXX)
	TEU_ROOT=$TEST_ROOT/state
	BUNDLE=$TEST_ROOT/bundle
	cp -a "$TEU_CACHE/bundle" "$BUNDLE"
	update_config '.process.terminal = false'
}

setup() {
	new_bundle
}

teardown() {
	if [ -d "$TEU_ROOT" ]; then
		for id in $("$TEU_BIN" --root "$TEU_ROOT" list -q 2>/dev/null); do
			"$TEU_BIN" --root "$TEU_ROOT" delete --force "$id" >/dev/null 2>&1 || true
		done
	fi
	# Anything a failed test left mounted under its dir goes too.
	grep -o " ${TEST_ROOT}[^ ]*" /proc/self/mountinfo 2>/dev/null | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
	rm -rf "$TEST_ROOT"
}

# teu ARGS: run the binary with the test's state root.
teu() {
	"$TEU_BIN" --root "$TEU_ROOT" "$@"
}

# update_config JQ_FILTER: edit the bundle's config.json.
update_config() {
	jq "$1" "$BUNDLE/config.json" >"$BUNDLE/config.json.new" && mv "$BUNDLE/config.json.new" "$BUNDLE/config.json"
}

# set_args ARG...: the container's process.args.
set_args() {
	# Each one whole, newlines included, through --arg (jq 1.6 would read
	# an argument of --args that begins with "-" as an option of its own).
	local a i=0 list='' opts=()
	for a in "$@"; do
		opts+=(--arg "a$i" "$a")
		list+="${list:+,}\$a$i"
		i=$((i + 1))
	done
	jq "${opts[@]}" ".process.args = [$list]" "$BUNDLE/config.json" >"$BUNDLE/config.json.new" &&
		mv "$BUNDLE/config.json.new" "$BUNDLE/config.json"
}

# run_sh SCRIPT: run a container that executes SCRIPT with sh; sets
# $status and $output (bats run).
run_sh() {
	set_args sh -c "$1"
	run teu run --bundle "$BUNDLE" "c-$BATS_TEST_NUMBER"
}

# wait_status ID STATUS: wait (event-driven via teu state polling bounded
# by a deadline, only for states nothing else signals) until ID has STATUS.
wait_status() { wait_status_of teu "$@"; }

# wait_status_of CMD ID STATUS: wait_status, asking `CMD state ID` (CMD
# may be several words, e.g. "as_user teu").
wait_status_of() {
	local cmd=$1
	shift
	for _ in $(seq 1 200); do
		[ "$($cmd state "$1" 2>/dev/null | jq -r .status)" = "$2" ] && return 0
		sleep 0.05
	done
	echo "container $1 did not reach $2" >&2
	return 1
}

# assert_one_error_line [STATUS]: the output is exactly one line starting
# "teu: ", and the status is STATUS (1; a failed exec's is 255, as runc's).
assert_one_error_line() {
	local want=${1:-1}
	# shellcheck disable=SC2154 # bats's run sets them
	[ "$status" -eq "$want" ] || { echo "status $status, want $want: $output" >&2; return 1; }
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 1 ] || { echo "more than one line: $output" >&2; return 1; }
	[[ "$output" == "teu: "* ]] || { echo "not a teu error line: $output" >&2; return 1; }
}

# refute CMD...: CMD must fail. (In bats, `! CMD` never fails a test.)
refute() {
	if "$@"; then
		echo "unexpectedly succeeded: $*" >&2
		return 1
	fi
	return 0
}
