#!/usr/bin/env bash
# yj_diff.sh: differential test of lib/yj against Kubernetes' own YAML -> JSON
# conversion (sigs.k8s.io/yaml, via test/tools/yamloracle).
#
# For every file in test/data/yaml, both sides print one canonical JSON
# document per line (or "ERROR: ..."); the outputs must be equal, except
# that error messages may differ — where the oracle fails we must fail too.
# One TAP line per file.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build/default}
ours=$BUILD/test/yj2json
oracle=$(bash test/tools/yamloracle/build.sh) || { echo "not ok 1 - yamloracle did not build"; exit 1; }
n=0
fail=0
for f in test/data/yaml/*.yaml; do
	n=$((n + 1))
	want=$("$oracle" <"$f" | sed 's/^ERROR: .*/ERROR/')
	got=$("$ours" "$f" | sed 's/^ERROR: .*/ERROR/')
	if [ "$want" = "$got" ]; then
		echo "ok $n - yj matches sigs.k8s.io/yaml: ${f##*/}"
	else
		echo "not ok $n - yj matches sigs.k8s.io/yaml: ${f##*/}"
		diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") | head -5 | sed 's/^/# /'
		fail=$((fail + 1))
	fi
done
echo "1..$n"
[ $fail = 0 ]
