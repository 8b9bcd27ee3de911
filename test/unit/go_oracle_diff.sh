#!/usr/bin/env bash
# go_oracle_diff.sh: differential tests of lib/tmpl's pure modules against
# the Go packages they reproduce.  Each pair is a Go oracle in test/tools/
# (built into the test cache) and a C tool linked with lib/: both read the
# same case files, one case a line, and print one line per case; the
# outputs must be equal line for line.
#
#   regex   lib/tmpl/regex.c   vs Go's regexp     test/data/regex/*.txt
#   gotime  lib/tmpl/gotime.c  vs Go's time       test/data/gotime/*.txt
#
# One TAP line per case file, with the first differing cases on failure.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build/default}
n=0
fail=0

check() { # oracle-dir C-tool data-dir what
	local oracle f want got cases
	oracle=$(bash "test/tools/$1/build.sh") || {
		n=$((n + 1))
		echo "not ok $n - $1 did not build"
		fail=$((fail + 1))
		return
	}
	for f in "test/data/$3"/*.txt; do
		n=$((n + 1))
		want=$("$oracle" <"$f")
		got=$("$BUILD/test/$2" <"$f")
		cases=$(grep -vc '^#' "$f")
		if [ "$want" = "$got" ]; then
			echo "ok $n - $3 matches $4 on ${f##*/} ($cases cases)"
		else
			echo "not ok $n - $3 matches $4 on ${f##*/}"
			paste -d'\n' <(grep -v '^#' "$f") <(printf '%s\n' "$want") <(printf '%s\n' "$got") |
				awk 'NR%3==1{c=$0} NR%3==2{w=$0} NR%3==0{ if (w!=$0 && k++<5) print "# case " c "\n#   go:   " w "\n#   ours: " $0 }'
			fail=$((fail + 1))
		fi
	done
}

check regexoracle regexcheck regex "Go's regexp"
check timeoracle timecheck gotime "Go's time"
echo "1..$n"
[ $fail = 0 ]
