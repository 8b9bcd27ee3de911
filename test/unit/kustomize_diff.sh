#!/usr/bin/env bash
# kustomize_diff.sh: differential test of `cflux kustomize build` against
# the real kustomize (v5.8.1, built by test/cluster/build.sh oracles).
#
# Every directory test/data/kustomize/<case>/ is a small source tree; the
# kustomization to build is <case>/build if that exists, else <case>
# itself.  Both programs build it from inside the case directory; stdout
# must be byte for byte equal.  Where kustomize fails we must fail too
# (messages differ; ours is shown).  One TAP line per case.
set -u
cd "$(dirname "$0")/../.."
BIN=${BIN:-bin}
ours=$PWD/$BIN/cflux
# shellcheck disable=SC1091
. test/cluster/env.sh
if [ ! -x "$KUSTOMIZE" ]; then
	bash test/cluster/build.sh oracles >/dev/null 2>&1 ||
		{ echo "not ok 1 - kustomize oracle did not build"; exit 1; }
fi
[ -x "$ours" ] || { echo "not ok 1 - $ours is missing (make)"; exit 1; }
n=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for c in test/data/kustomize/*/; do
	c=${c%/}
	name=${c##*/}
	target=.
	[ -d "$c/build" ] && target=build
	n=$((n + 1))
	(cd "$c" && "$KUSTOMIZE" build "$target" >"$tmp/want" 2>"$tmp/want.err")
	wrc=$?
	(cd "$c" && "$ours" kustomize build "$target" >"$tmp/got" 2>"$tmp/got.err")
	grc=$?
	if [ $wrc -ne 0 ]; then
		if [ $grc -ne 0 ]; then
			echo "ok $n - kustomize build fails as kustomize does: $name"
			sed 's/^/# ours: /' "$tmp/got.err" | head -2
		else
			echo "not ok $n - kustomize build fails as kustomize does: $name"
			sed 's/^/# kustomize: /' "$tmp/want.err" | head -3
			fail=$((fail + 1))
		fi
		continue
	fi
	if [ $grc -eq 0 ] && cmp -s "$tmp/want" "$tmp/got"; then
		echo "ok $n - kustomize build matches kustomize: $name"
	else
		echo "not ok $n - kustomize build matches kustomize: $name"
		sed 's/^/# ours: /' "$tmp/got.err" | head -3
		diff "$tmp/want" "$tmp/got" | head -20 | sed 's/^/# /'
		fail=$((fail + 1))
	fi
done
echo "1..$n"
[ $fail = 0 ]
