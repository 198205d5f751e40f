#!/usr/bin/env bash
# table.sh: the per-program conformance table, teu beside other runtimes,
# from the result lines tests/conformance/run.sh saved in
# build/conformance-out/<name>/summary.txt (one run per runtime).
#
# Usage: tests/conformance/table.sh [--update FILE] [name...]
#   names default to: teu runc crun crun-asis (those that have a summary)
#   --update FILE replaces the text between "<!-- table -->" and
#   "<!-- /table -->" in FILE (docs/conformance.md) instead of printing.
# A cell is "passed/failed" assertions; in teu's column "x" marks failures
# that are all on tests/conformance/expected-failures.txt, "!" one that is not.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(cd "$here/../.." && pwd)/build/conformance-out
update=
if [[ ${1:-} == --update ]]; then
	update=$2
	shift 2
fi
names=("$@")
((${#names[@]})) || names=(teu runc crun crun-asis)
have=()
for n in "${names[@]}"; do
	[[ -s $out/$n/summary.txt ]] && have+=("$n")
done
((${#have[@]})) || { echo "table.sh: no summary in $out; run tests/conformance/run.sh first" >&2; exit 1; }

table=$(
	for n in "${have[@]}"; do
		# name program passed failed mark
		awk -v n="$n" 'NF >= 6 && $3 == "passed" && $5 == "failed" {print n, $1, $2, $4, $6}' "$out/$n/summary.txt"
	done | awk -v cols="${have[*]}" '
	BEGIN { nc = split(cols, col, " ") }
	{
		if (!($2 in seen)) { seen[$2] = 1; progs[++np] = $2 }
		cell[$1, $2] = $3 "/" $4
		if ($1 == "teu" && $5 == "FAIL(expected)") cell[$1, $2] = cell[$1, $2] " x"
		if ($1 == "teu" && $5 == "FAIL") cell[$1, $2] = cell[$1, $2] " !"
		pass[$1] += $3; fail[$1] += $4
		if ($4 > 0) progfail[$1]++
	}
	END {
		printf "| program |"; for (i = 1; i <= nc; i++) printf " %s |", col[i]; print ""
		printf "|---|"; for (i = 1; i <= nc; i++) printf "---:|"; print ""
		# sort the program names
		for (i = 1; i <= np; i++) for (j = i + 1; j <= np; j++) if (progs[j] < progs[i]) { t = progs[i]; progs[i] = progs[j]; progs[j] = t }
		for (i = 1; i <= np; i++) {
			printf "| %s |", progs[i]
			for (c = 1; c <= nc; c++) { v = cell[col[c], progs[i]]; printf " %s |", (v == "" ? "-" : v) }
			print ""
		}
		printf "| **total** |"; for (c = 1; c <= nc; c++) printf " **%d/%d** |", pass[col[c]], fail[col[c]]; print ""
		printf "| programs with a failure |"; for (c = 1; c <= nc; c++) printf " %d |", progfail[col[c]]; print ""
	}'
)

if [[ -z $update ]]; then
	printf '%s\n' "$table"
	exit 0
fi
grep -q '^<!-- table -->$' "$update" && grep -q '^<!-- /table -->$' "$update" ||
	{ echo "table.sh: $update has no <!-- table --> ... <!-- /table --> markers" >&2; exit 1; }
tmp=$(mktemp)
awk -v t="$table" '
	/^<!-- table -->$/ { print; print t; skip = 1; next }
	/^<!-- \/table -->$/ { skip = 0 }
	!skip' "$update" >"$tmp"
cat "$tmp" >"$update" && rm -f "$tmp"
