#!/usr/bin/env bash
# kustomize_public.sh: `cflux kustomize build` against the real kustomize
# (v5.8.1) on kustomization directories of public projects, committed with
# their licences under test/data/kustomize-public/<project>/ (SOURCE says
# where each came from; README files left out).  Every directory below a
# project that holds a kustomization is built by kustomize from the
# project's root (`kustomize build path/to/dir`), and by us twice: the same
# way, and from inside it (`cd path/to/dir && cflux kustomize build .`).
# Each must be byte for byte equal; where kustomize fails we must fail.
# One TAP line per directory.  The wider measure (645 directories of 28
# projects, not committed) is tools/kustomize-corpus.sh.
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
for p in test/data/kustomize-public/*/; do
	p=${p%/}
	project=${p##*/}
	while read -r rel; do
		n=$((n + 1))
		name="$project/$rel"
		(cd "$p" && http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 \
			"$KUSTOMIZE" build "$rel" >"$tmp/want" 2>"$tmp/want.err")
		wrc=$?
		(cd "$p" && "$ours" kustomize build "$rel" >"$tmp/root" 2>"$tmp/root.err")
		rrc=$?
		(cd "$p/$rel" && "$ours" kustomize build . >"$tmp/dir" 2>"$tmp/dir.err")
		drc=$?
		if [ $wrc -ne 0 ]; then
			if [ $rrc -ne 0 ] && [ $drc -ne 0 ]; then
				echo "ok $n - fails as kustomize does: $name"
			else
				echo "not ok $n - fails as kustomize does: $name"
				sed 's/^/# kustomize: /' "$tmp/want.err" | head -3
				fail=$((fail + 1))
			fi
		elif [ $rrc -eq 0 ] && [ $drc -eq 0 ] && cmp -s "$tmp/want" "$tmp/root" &&
			cmp -s "$tmp/want" "$tmp/dir"; then
			echo "ok $n - matches kustomize (from the root and from inside): $name"
		else
			echo "not ok $n - matches kustomize (from the root and from inside): $name"
			cat "$tmp/root.err" "$tmp/dir.err" | head -3 | sed 's/^/# ours: /'
			diff "$tmp/want" "$tmp/root" | head -10 | sed 's/^/# /'
			fail=$((fail + 1))
		fi
	done < <(cd "$p" && find . -name kustomization.yaml -o -name kustomization.yml -o \
		-name Kustomization | sed 's|^\./||; s|/[^/]*$||' | sort)
done
echo "1..$n"
[ $fail = 0 ]
