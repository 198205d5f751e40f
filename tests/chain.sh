#!/usr/bin/env bash
# tests/chain.sh NAME LANE...: make's test target runs two of these side by
# side. Runs each lane (a make target) in order, all of them even when one
# fails (the chain then fails), prefixes every line of output with "[NAME] " (so that the two
# chains' lines can be told apart as they come), and ends with how long
# each lane took. teu and the packages are made before (make test), not
# again here (-o): one chain must not rewrite ./teu while the other runs it.
set -uo pipefail
name=$1
shift
MAKE=${MAKE:-make}
declare -a done_lanes=()
failed=0
for lane in "$@"; do
	s=$(date +%s)
	echo "[$name] == $lane"
	"$MAKE" --no-print-directory -o teu -o deps -o runc-deps -o test-pkgs "$lane" 2>&1 | sed -u "s/^/[$name] /"
	rc=${PIPESTATUS[0]}
	t=$(($(date +%s) - s))
	if [[ $rc -ne 0 ]]; then
		done_lanes+=("$lane FAILED (exit $rc) after $t s")
		failed=1
		continue
	fi
	done_lanes+=("$lane passed in $t s")
done
for l in "${done_lanes[@]}"; do
	echo "[$name] $l"
done
exit "$failed"
