#!/usr/bin/env bash
# kustomize_public.sh: `cflux kustomize build` against the real kustomize
# (v5.8.1) on kustomization directories of public projects: those committed
# with their licences under test/data/kustomize-public/<project>/ (SOURCE
# says where each came from; README files left out), and the Go modules
# test/data/kustomize-modules.txt pins, fetched from the module proxy into
# the module cache at test time (over 300 directories of 17 projects; a
# failed download fails the test).  Every directory below a project that
# holds a kustomization is built by kustomize from the project's root
# (`kustomize build path/to/dir`), and by us twice: the same way, and from
# inside it (`cd path/to/dir && cflux kustomize build .`).  Each must be
# byte for byte equal; where kustomize fails we must fail.  One TAP line
# per directory.  tools/kustomize-corpus.sh measures any other tree.
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
# The known differences: "name why" lines.
known=$(sed -n 's/^! //p' test/data/kustomize-modules.txt)
known_why() { printf '%s\n' "$known" | awk -v n="$1" '$1 == n { $1 = ""; print substr($0, 2) }'; }

check_tree() { # LABEL DIR
	local p=$2 project=$1 rel name wrc rrc drc why ok
	while read -r rel; do
		n=$((n + 1))
		name="$project/$rel"
		why=$(known_why "$name")
		(cd "$p" && http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 \
			"$KUSTOMIZE" build "$rel" >"$tmp/want" 2>"$tmp/want.err")
		wrc=$?
		(cd "$p" && "$ours" kustomize build "$rel" >"$tmp/root" 2>"$tmp/root.err")
		rrc=$?
		(cd "$p/$rel" && "$ours" kustomize build . >"$tmp/dir" 2>"$tmp/dir.err")
		drc=$?
		ok=0
		if [ $wrc -ne 0 ]; then
			[ $rrc -ne 0 ] && [ $drc -ne 0 ] && ok=1
		else
			[ $rrc -eq 0 ] && [ $drc -eq 0 ] && cmp -s "$tmp/want" "$tmp/root" &&
				cmp -s "$tmp/want" "$tmp/dir" && ok=1
		fi
		if [ -n "$why" ]; then
			if [ $ok = 0 ]; then
				echo "ok $n - $name # TODO known difference: $why"
			else
				echo "not ok $n - $name is listed as a known difference but now agrees with kustomize: remove it from test/data/kustomize-modules.txt"
				fail=$((fail + 1))
			fi
			continue
		fi
		if [ $wrc -ne 0 ]; then
			if [ $ok = 1 ]; then
				echo "ok $n - fails as kustomize does: $name"
			else
				echo "not ok $n - fails as kustomize does: $name"
				sed 's/^/# kustomize: /' "$tmp/want.err" | head -3
				fail=$((fail + 1))
			fi
		elif [ $ok = 1 ]; then
			echo "ok $n - matches kustomize (from the root and from inside): $name"
		else
			echo "not ok $n - matches kustomize (from the root and from inside): $name"
			cat "$tmp/root.err" "$tmp/dir.err" | head -3 | sed 's/^/# ours: /'
			diff "$tmp/want" "$tmp/root" | head -10 | sed 's/^/# /'
			fail=$((fail + 1))
		fi
	done < <(cd "$p" && find . \( -name kustomization.yaml -o -name kustomization.yml -o \
		-name Kustomization \) -printf '%h\n' | sed 's|^\./||; s|^\.$|.|' | sort -u)
}

for p in test/data/kustomize-public/*/; do
	p=${p%/}
	check_tree "${p##*/}" "$p"
done
while read -r mod _; do
	case $mod in '#'* | '!'* | '') continue ;; esac
	GOFLAGS=-mod=mod GOTOOLCHAIN=local go mod download -json "$mod" >"$tmp/dl.json" 2>&1
	dir=$(sed -n 's/^\t"Dir": "\(.*\)",$/\1/p' "$tmp/dl.json")
	if [ -z "$dir" ] || [ ! -d "$dir" ]; then
		n=$((n + 1))
		echo "not ok $n - module $mod downloaded"
		grep -v '^\s*"\(Info\|GoMod\|Zip\|Sum\|GoModSum\)"' "$tmp/dl.json" | sed 's/^/# /' | head -5
		fail=$((fail + 1))
		continue
	fi
	check_tree "$mod" "$dir"
done <test/data/kustomize-modules.txt
echo "1..$n"
[ $fail = 0 ]
