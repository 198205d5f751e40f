#!/usr/bin/env bash
# run.sh: the OCI runtime-tools validation suite against ./teu.
#
# Builds the validation programs and runtimetest from the Go module proxy
# (pinned below; the module vendors its dependencies), runs each program
# with a timeout, parses its TAP, removes what it left behind, prints one
# line per program and a last line "N passed, M failed" (assertions).
# Exit status 1 when a failure is not listed in expected-failures.txt.
#
# Usage: tests/conformance/run.sh [program...]   (default: all)
# Env:   TEU (binary, default ./teu), CONFORMANCE_TIMEOUT (s per program, 120),
#        CONFORMANCE_RUNTIME (compare another runtime, e.g. /usr/sbin/runc),
#        CONFORMANCE_NAME (output directory name, default the runtime's)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
pin=github.com/opencontainers/runtime-tools@v0.9.1-0.20260316125833-8a4db579f5c8
build=$top/build/runtime-tools
runtime=${CONFORMANCE_RUNTIME:-${TEU:-$top/teu}}
timeout_s=${CONFORMANCE_TIMEOUT:-120}
export PATH=/usr/local/go/bin:$PATH

# ---- build (cached in build/runtime-tools)
if [[ ! -f $build/.built ]] || [[ $(cat "$build/.built") != "$pin" ]]; then
	src=$(GOFLAGS=-mod=mod go mod download -json "$pin" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
	[[ -d $src ]] || { echo "conformance: cannot download $pin" >&2; exit 1; }
	rm -rf "$build" && mkdir -p "$(dirname "$build")"
	cp -r "$src" "$build" && chmod -R u+w "$build"
	(
		cd "$build" || exit 1
		CGO_ENABLED=0 go build -mod=mod -o runtimetest ./cmd/runtimetest || exit 1
		for d in validation/*/; do
			n=$(basename "$d")
			[[ $n == util ]] && continue
			go build -mod=mod -o "validation/$n.t" "./$d" || exit 1
		done
	) >&2 || { echo "conformance: build failed" >&2; exit 1; }
	echo "$pin" >"$build/.built"
fi

# ---- expected failures: "program" or "program: assertion text"
declare -A expect_prog=()
expect_lines=()
while IFS= read -r l; do
	l=${l%%#*}
	l=$(echo "$l" | sed 's/[[:space:]]*$//')
	[[ -z $l ]] && continue
	if [[ $l == *:* ]]; then expect_lines+=("$l"); else expect_prog[$l]=1; fi
done < <(cat "$here/expected-failures.txt" 2>/dev/null)

expected() { # prog line
	[[ -n ${expect_prog[$1]:-} ]] && return 0
	local e
	for e in "${expect_lines[@]}"; do
		[[ ${e%%:*} == "$1" && $2 == *"$(echo "${e#*:}" | sed 's/^ *//')"* ]] && return 0
	done
	return 1
}

state_root=/run/teu
[[ $(basename "$runtime") == runc* ]] && state_root=/run/runc
[[ $(basename "$runtime") == crun* ]] && state_root=/run/crun
cleanup() { # remove containers and bundles the program left
	local id
	for id in "$state_root"/*; do
		id=${id##*/}
		[[ -n ${before[$id]:-} ]] && continue
		"$runtime" delete --force "$id" >/dev/null 2>&1
	done
	for b in /tmp/ocitest*; do
		[[ -e $b ]] || continue
		grep -o " ${b}[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
		rm -rf "$b"
	done
}
declare -A before=()
for id in "$state_root"/*; do before[${id##*/}]=1; done

progs=("$@")
if ((${#progs[@]} == 0)); then
	for t in "$build"/validation/*.t; do progs+=("$(basename "$t" .t)"); done
fi
total_pass=0 total_fail=0 unexpected=0
# One output directory per runtime: TAP files and summary.txt (the lines
# printed below), which tests/conformance/table.sh reads.
outdir=$top/build/conformance-out/${CONFORMANCE_NAME:-$(basename "$runtime")}
mkdir -p "$outdir"
exec > >(tee "$outdir/summary.txt")
cd "$build" || exit 1
# Racy by design: poststart wants the container's first write before the
# hook's, which runtime-spec does not order (docs/conformance.md). It is
# run once more when it fails; a second failure counts.
declare -A racy=([poststart]=1)

# run_prog P: run program P; sets pass, fail and unexp.
run_prog() {
	local p=$1
	out=$outdir/$p.tap
	RUNTIME=$runtime timeout -k 5 "$timeout_s" "./validation/$p.t" >"$out" 2>&1
	rc=$?
	cleanup
	pass=$(grep -cE '^ok ' "$out")
	fail=0 unexp=()
	while IFS= read -r line; do
		fail=$((fail + 1))
		expected "$p" "$line" || unexp+=("$line")
	done < <(grep -E '^not ok ' "$out" | grep -v '# *SKIP' | grep -v '# *TODO')
	# Programs that expect create to fail print no TAP: exit 0 is their
	# pass. A program that died before its plan counts as one failure, and
	# so does one that reported an error only as a YAML diagnostic under an
	# empty plan (1..0), as some of the suite's programs do: its "error"
	# line is what expected-failures.txt entries are matched against.
	if ! grep -qE '^1\.\.[0-9]+' "$out"; then
		if ((rc == 0 && pass + fail == 0)); then
			pass=1
		elif ((pass + fail == 0)) || ((rc != 0)); then
			fail=$((fail + 1))
			expected "$p" "crashed" || unexp+=("program exited $rc without a TAP plan: $(grep -v '^go: ' "$out" | tail -n 2 | tr '\n' ' ')")
		fi
	elif ((pass + fail == 0)); then
		# An empty plan: the program passed unless it left an error.
		if grep -qE '^ +"error": "[^"]' "$out"; then
			fail=1
			diag=$(grep -m1 -E '^ +"error": ' "$out" | sed 's/^ *//')
			expected "$p" "$diag" || unexp+=("$diag")
		else
			pass=1
		fi
	fi
}

for p in "${progs[@]}"; do
	run_prog "$p"
	if ((${#unexp[@]} > 0)) && [[ -n ${racy[$p]:-} ]]; then
		echo "conformance: $p is racy by design and failed once: run again" >&2
		run_prog "$p"
	fi
	total_pass=$((total_pass + pass))
	total_fail=$((total_fail + fail))
	mark=ok
	((fail > 0)) && mark="FAIL(expected)"
	if ((${#unexp[@]} > 0)); then
		mark=FAIL
		unexpected=$((unexpected + ${#unexp[@]}))
	fi
	printf '%-40s %5d passed %4d failed  %s\n' "$p" "$pass" "$fail" "$mark"
	for u in "${unexp[@]}"; do printf '    unexpected: %s\n' "$u"; done
done
echo "conformance: TAP output in $outdir; $unexpected unexpected failure(s)"
echo "$total_pass passed, $total_fail failed"
((unexpected == 0))
