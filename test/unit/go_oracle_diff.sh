#!/usr/bin/env bash
# go_oracle_diff.sh: differential tests of lib/tmpl's pure modules against
# the Go packages they reproduce: test/tools/gooracle (Go, built into the
# test cache) and test/tools/gocheck.c (C, linked with lib/) read the same
# case files, one case a line, and print one line per case; the outputs
# must be equal line for line.
#
#   regex   lib/base/regex.c   vs Go's regexp     test/data/regex/*.txt
#   gotime  lib/tmpl/gotime.c  vs Go's time       test/data/gotime/*.txt
#
# One TAP line per case file, with the first differing cases on failure.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build/default}
n=0
fail=0

oracle=$(bash test/tools/gooracle/build.sh) || { echo "not ok 1 - gooracle did not build"; exit 1; }

check() { # data-dir what
	local f want got cases
	for f in "test/data/$1"/*.txt; do
		n=$((n + 1))
		want=$("$oracle" <"$f")
		got=$("$BUILD/test/gocheck" <"$f")
		cases=$(grep -vc '^#' "$f")
		if [ "$want" = "$got" ]; then
			echo "ok $n - $1 matches $2 on ${f##*/} ($cases cases)"
		else
			echo "not ok $n - $1 matches $2 on ${f##*/}"
			paste -d'\n' <(grep -v '^#' "$f") <(printf '%s\n' "$want") <(printf '%s\n' "$got") |
				awk 'NR%3==1{c=$0} NR%3==2{w=$0} NR%3==0{ if (w!=$0 && k++<5) print "# case " c "\n#   go:   " w "\n#   ours: " $0 }'
			fail=$((fail + 1))
		fi
	done
}

check regex "Go's regexp"
check gotime "Go's time"
echo "1..$n"
[ $fail = 0 ]
