#!/usr/bin/env bash
# helm_diff.sh: differential test of `cflux helm template` against the real
# helm (v3.21.4, built by test/cluster/build.sh oracles).
#
# Every directory test/data/charts/<case>/ holds a public chart in chart/
# (dependencies vendored under chart/charts/) and values files written for
# it.  Each case is rendered with its default values, and once more per
# values-<v>.yaml (with the extra flags of <v>.args if that file exists),
# by both programs: stdout must be byte for byte equal.  Where helm fails,
# we must fail too, and the first line of the error must be the same.
# A few cases are also rendered from a .tgz that `helm package` made, to
# cover the archive loader.  One TAP line per rendering; a mismatch names
# the case, the template file (its "# Source:" line) and the first line
# that differs.
#
#   HELM_DIFF_ONLY=podinfo bash test/unit/helm_diff.sh     one case
set -u
cd "$(dirname "$0")/../.."
BIN=${BIN:-bin}
ours=$PWD/$BIN/cflux
# shellcheck disable=SC1091
. test/cluster/env.sh
if [ ! -x "$HELM" ]; then
	bash test/cluster/build.sh oracles >/dev/null 2>&1 ||
		{ echo "not ok 1 - helm oracle did not build"; exit 1; }
fi
[ -x "$ours" ] || { echo "not ok 1 - $ours is missing (make)"; exit 1; }
# helm takes its default namespace from the kube context: give it none.
export KUBECONFIG=/nonexistent HELM_CACHE_HOME=/nonexistent HELM_CONFIG_HOME=/nonexistent
unset HELM_NAMESPACE

n=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# report WANT GOT: the template and the first line where they differ.
report() {
	awk -v want="$1" -v got="$2" 'BEGIN {
		while ((getline a < want) > 0) {
			if (a ~ /^# Source: /) src = a
			if ((getline b < got) <= 0) { b = "<end of output>" }
			ln++
			if (a != b) {
				printf "# first difference at line %d (%s)\n", ln, src
				printf "#   helm: %s\n#   ours: %s\n", substr(a, 1, 200), substr(b, 1, 200)
				exit
			}
		}
		if ((getline b < got) > 0)
			printf "# ours has more lines from line %d: %s\n", ln + 1, substr(b, 1, 200)
	}'
}

# check NAME CHART ARGS...: render with both, compare.
check() {
	local name=$1 chart=$2 wrc grc
	shift 2
	n=$((n + 1))
	"$HELM" template rel "$chart" "$@" >"$tmp/want" 2>"$tmp/want.err"
	wrc=$?
	"$ours" helm template rel "$chart" "$@" >"$tmp/got" 2>"$tmp/got.err"
	grc=$?
	if [ $wrc -ne 0 ]; then
		if [ $grc -ne 0 ] && [ "$(head -n 1 "$tmp/want.err")" = "$(head -n 1 "$tmp/got.err")" ]; then
			echo "ok $n - helm template fails as helm does: $name"
		else
			echo "not ok $n - helm template fails as helm does: $name"
			sed 's/^/# helm: /' "$tmp/want.err" | head -3
			sed 's/^/# ours: /' "$tmp/got.err" | head -3
			fail=$((fail + 1))
		fi
		return
	fi
	if [ $grc -eq 0 ] && cmp -s "$tmp/want" "$tmp/got"; then
		echo "ok $n - helm template matches helm: $name"
	else
		echo "not ok $n - helm template matches helm: $name"
		sed 's/^/# ours: /' "$tmp/got.err" | head -3
		[ $grc -eq 0 ] && report "$tmp/want" "$tmp/got"
		fail=$((fail + 1))
	fi
}

for c in test/data/charts/*/; do
	c=${c%/}
	name=${c##*/}
	case " ${HELM_DIFF_ONLY:-$name} " in *" $name "*) ;; *) continue ;; esac
	check "$name" "$c/chart"
	for v in "$c"/values-*.yaml; do
		[ -e "$v" ] || continue
		variant=${v##*/values-}
		variant=${variant%.yaml}
		args=()
		[ -f "$c/$variant.args" ] && read -r -a args <"$c/$variant.args"
		check "$name ($variant)" "$c/chart" -f "$v" "${args[@]}"
	done
	# From an archive: what Flux hands over.
	if [ -f "$c/archive" ]; then
		rm -rf "$tmp/pkg" && mkdir "$tmp/pkg"
		if "$HELM" package -d "$tmp/pkg" "$c/chart" >/dev/null 2>&1; then
			check "$name (.tgz)" "$(ls "$tmp"/pkg/*.tgz)"
		fi
	fi
done
echo "1..$n"
[ $fail = 0 ]
