#!/usr/bin/env bash
# helm_diff.sh: differential test of `cflux helm template` against the real
# helm (v3.21.4, built by test/cluster/build.sh oracles).
#
# Every directory test/data/charts/<case>/ holds a public chart in chart/
# (dependencies vendored under chart/charts/) and values files written for
# it; test/data/helm/<case>/ holds small charts of our own aimed at one
# feature each (value typing, dependencies, the engine's objects and
# functions, hooks and flags, errors, loading).  Each case is rendered with its default values, and once more per
# values-<v>.yaml (with the extra flags of <v>.args if that file exists),
# by both programs: stdout must be byte for byte equal.  Where helm fails,
# we must fail too, with the same first line of the error (and the same
# warning before it, if any).
# A few cases are also rendered from a .tgz that `helm package` made, to
# cover the archive loader.  One TAP line per rendering; a mismatch names
# the case, the template file (its "# Source:" line) and the first line
# that differs.
#
# Charts that call Sprig's random functions (randAlphaNum passwords,
# genCA/genSelfSignedCert certificates, uuidv4) differ from one helm run
# to the next, so byte equality cannot hold there.  Such a rendering still
# passes when every differing line differs only in random-looking tokens
# of the same shape (runs of base64 characters of the same length mixing
# letters and digits or cases, base64 with '=' padding (a random password
# can encode to capitals alone: "OENVMWVJOTRFOQ=="), five-character runs as
# in `randAlphaNum 5 | lower` suffixes, or both runs at least 40 long), with the line counts
# equal; the TAP line then says how many lines were masked.  The values files pin those values, so
# their renderings are compared byte for byte.
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

# masked_equal WANT GOT: 0 when the files differ only in random-shaped
# tokens (see the top); prints the number of masked lines.
masked_equal() {
	awk -v want="$1" -v got="$2" '
	function mask(s,   out, m, t) {
		out = ""
		while (match(s, /[A-Za-z0-9+\/=]+/)) {
			t = substr(s, RSTART, RLENGTH)
			out = out substr(s, 1, RSTART - 1)
			if (RLENGTH >= 40)
				out = out "<B64>"
			else if ((RLENGTH >= 5 && t ~ /[0-9A-Z]/ && t ~ /[a-z0-9]/) || RLENGTH == 5 ||
				 (RLENGTH >= 8 && t ~ /=$/))
				out = out "<R" RLENGTH ">"
			else
				out = out t
			s = substr(s, RSTART + RLENGTH)
		}
		return out s
	}
	BEGIN {
		n = 0
		while ((ra = getline a < want) > 0) {
			if ((getline b < got) <= 0) exit 1
			if (a == b) continue
			if (mask(a) != mask(b)) exit 1
			n++
		}
		if ((getline b < got) > 0) exit 1
		print n
		exit n > 0 ? 0 : 1
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
		if [ $grc -ne 0 ] && [ "$(grep -m 2 -E '^(Error|WARNING)' "$tmp/want.err")" = \
			"$(grep -m 2 -E '^(Error|WARNING)' "$tmp/got.err")" ]; then
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
	elif [ $grc -eq 0 ] && masked=$(masked_equal "$tmp/want" "$tmp/got"); then
		echo "ok $n - helm template matches helm: $name ($masked random values masked)"
	else
		echo "not ok $n - helm template matches helm: $name"
		sed 's/^/# ours: /' "$tmp/got.err" | head -3
		[ $grc -eq 0 ] && report "$tmp/want" "$tmp/got"
		fail=$((fail + 1))
	fi
}

for c in test/data/charts/*/ test/data/helm/*/; do
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
# Flags helm has and we refuse: an error that names the flag, nothing printed.
if [ -z "${HELM_DIFF_ONLY:-}" ]; then
	for f in --validate "--output-dir $tmp/out" "--post-renderer x" --dependency-update "--name-template x"; do
		n=$((n + 1))
		# shellcheck disable=SC2086
		"$ours" helm template test/data/helm/deps/chart $f >"$tmp/got" 2>"$tmp/got.err"
		if [ $? -ne 0 ] && [ ! -s "$tmp/got" ] &&
			[ "$(cat "$tmp/got.err")" = "Error: ${f%% *} is not supported by cflux helm template" ]; then
			echo "ok $n - helm template refuses ${f%% *}"
		else
			echo "not ok $n - helm template refuses ${f%% *}"
			sed 's/^/# ours: /' "$tmp/got.err" | head -3
			fail=$((fail + 1))
		fi
	done
fi
echo "1..$n"
[ $fail = 0 ]
