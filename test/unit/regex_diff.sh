#!/usr/bin/env bash
# regex_diff.sh: differential test of lib/tmpl/regex.c against Go's regexp
# (test/tools/regexoracle): every case of test/data/regex/*.txt is run by
# both, and the outputs (matches, submatch indexes, replacements, splits,
# compile errors with Go's exact text) must be equal line for line.  One
# TAP line per file, with the first differing cases on failure.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build/default}
ours=$BUILD/test/regexcheck
oracle=$(bash test/tools/regexoracle/build.sh) || { echo "not ok 1 - regexoracle did not build"; exit 1; }
n=0
fail=0
for f in test/data/regex/*.txt; do
	n=$((n + 1))
	want=$("$oracle" <"$f")
	got=$("$ours" <"$f")
	cases=$(grep -vc '^#' "$f")
	if [ "$want" = "$got" ]; then
		echo "ok $n - regex matches Go's regexp on ${f##*/} ($cases cases)"
	else
		echo "not ok $n - regex matches Go's regexp on ${f##*/}"
		paste -d'\n' <(grep -v '^#' "$f") <(printf '%s\n' "$want") <(printf '%s\n' "$got") |
			awk 'NR%3==1{c=$0} NR%3==2{w=$0} NR%3==0{ if (w!=$0 && k++<5) print "# case " c "\n#   go:   " w "\n#   ours: " $0 }'
		fail=$((fail + 1))
	fi
done
echo "1..$n"
[ $fail = 0 ]
