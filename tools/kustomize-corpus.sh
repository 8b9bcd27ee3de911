#!/usr/bin/env bash
# kustomize-corpus.sh: `cflux kustomize build` against the real kustomize
# on every kustomization directory of some source trees (a measure, not a
# test: the trees are not in this repository).
#
#   tools/kustomize-corpus.sh LIST [OUT]
#
# LIST has one tree a line, "label directory" (say a Go module from the
# module cache, or a checkout of a public repository).  For each directory
# below a tree that holds a kustomization, kustomize v5.8.1 builds it from
# the tree's root (`kustomize build path/to/dir`, with no network: remote
# bases fail for both), and ours builds it twice: the same way, and from
# inside the directory (`cd path/to/dir && cflux kustomize build .`).
# OUT (default build/kustomize-corpus) keeps every output; kustomize's are
# reused when present.  Prints one line per directory that differs, then
#   total=N kustomize_ok=N eq_root=N eq_dir=N both_fail=N ours_only_ok=N
# where eq_* count the directories kustomize builds whose output ours
# matches byte for byte, and both_fail those that kustomize refuses and
# ours refuses too.
set -u
[ $# -ge 1 ] || { echo "usage: $0 LIST [OUT]" >&2; exit 2; }
list=$(realpath "$1")
cd "$(dirname "$0")/.."
out=$(realpath -m "${2:-build/kustomize-corpus}")
ours=$PWD/${BIN:-bin}/cflux
# shellcheck disable=SC1091
. test/cluster/env.sh
[ -x "$KUSTOMIZE" ] || bash test/cluster/build.sh oracles >/dev/null 2>&1 ||
	{ echo "kustomize oracle did not build" >&2; exit 1; }
[ -x "$ours" ] || { echo "$ours is missing (make)" >&2; exit 1; }
mkdir -p "$out"

total=0 kok=0 eqr=0 eqd=0 bothfail=0 oursonly=0
while read -r label tree; do
	[ -n "$label" ] && [ -d "$tree" ] || continue
	while read -r rel; do
		key=$(printf '%s/%s' "$label" "$rel" | tr '/@: ' '____')
		o=$out/$key
		if [ ! -f "$o.want.rc" ]; then
			(cd "$tree" && http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 \
				timeout 120 "$KUSTOMIZE" build "$rel" >"$o.want" 2>"$o.want.err"
			echo $? >"$o.want.rc")
		fi
		(cd "$tree" && timeout 120 "$ours" kustomize build "$rel" >"$o.root" 2>"$o.root.err"
		echo $? >"$o.root.rc")
		(cd "$tree/$rel" && timeout 120 "$ours" kustomize build . >"$o.dir" 2>"$o.dir.err"
		echo $? >"$o.dir.rc")
		total=$((total + 1))
		if [ "$(cat "$o.want.rc")" = 0 ]; then
			kok=$((kok + 1))
			for how in root dir; do
				if [ "$(cat "$o.$how.rc")" = 0 ] && cmp -s "$o.want" "$o.$how"; then
					[ $how = root ] && eqr=$((eqr + 1)) || eqd=$((eqd + 1))
				else
					echo "differs ($how): $label $rel: $(head -c 200 "$o.$how.err")"
				fi
			done
		elif [ "$(cat "$o.root.rc")" != 0 ]; then
			bothfail=$((bothfail + 1))
		else
			oursonly=$((oursonly + 1))
			echo "kustomize fails, ours builds: $label $rel: $(head -c 200 "$o.want.err")"
		fi
	done < <(cd "$tree" && find . \( -name kustomization.yaml -o -name kustomization.yml \
		-o -name Kustomization \) -printf '%h\n' | sed 's|^\./||; s|^\.$|.|' | sort -u)
done <"$list"
echo "total=$total kustomize_ok=$kok eq_root=$eqr eq_dir=$eqd both_fail=$bothfail ours_only_ok=$oursonly"
