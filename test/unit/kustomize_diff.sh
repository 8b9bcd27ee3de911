#!/usr/bin/env bash
# kustomize_diff.sh: differential test of `cflux kustomize build` against
# the real kustomize (v5.8.1, built by test/cluster/build.sh oracles).
#
# Every directory test/data/kustomize/<case>/ is a small source tree; the
# kustomization to build is <case>/build if that exists, else <case>
# itself.  Both programs build it from inside the case directory (or, if
# the file <case>/cwd names a subdirectory, build "." from inside that
# one, as `cd overlays/dev && kustomize build .`), with the extra
# arguments in <case>/args if there are any; stdout must be byte for byte
# equal (kustomize runs the helm oracle for helmCharts: the cases with
# --enable-helm in their args).  Where kustomize fails we must fail too
# (messages differ; ours is shown).  One TAP line per case.  On a
# mismatch both outputs are also compared as parsed objects, and the first
# differing object and field path are shown (python3 with PyYAML, else our
# yj2json turns the YAML into JSON for python3's json module).
set -u
cd "$(dirname "$0")/../.."
BIN=${BIN:-bin}
ours=$PWD/$BIN/cflux
# shellcheck disable=SC1091
. test/cluster/env.sh
if [ ! -x "$KUSTOMIZE" ] || [ ! -x "$HELM" ]; then
	bash test/cluster/build.sh oracles >/dev/null 2>&1 ||
		{ echo "not ok 1 - kustomize and helm oracles did not build"; exit 1; }
fi
[ -x "$ours" ] || { echo "not ok 1 - $ours is missing (make)"; exit 1; }
BUILD=${BUILD:-build/default}

# first_diff WANT GOT: print the first object and field path that differ.
first_diff() {
	command -v python3 >/dev/null || return 0
	local loader=yaml
	if ! python3 -c 'import yaml' 2>/dev/null; then
		[ -x "$BUILD/test/yj2json" ] || return 0
		"$BUILD/test/yj2json" "$1" >"$tmp/want.json" 2>/dev/null
		"$BUILD/test/yj2json" "$2" >"$tmp/got.json" 2>/dev/null
		set -- "$tmp/want.json" "$tmp/got.json"
		loader=json
	fi
	python3 - "$loader" "$1" "$2" <<'PY'
import json, sys

def load(path):
    text = open(path, encoding="utf-8", errors="replace").read()
    if sys.argv[1] == "yaml":
        import yaml
        try:
            return [d for d in yaml.safe_load_all(text) if d is not None]
        except yaml.YAMLError as e:
            return ["unparsable: %s" % str(e).splitlines()[0]]
    docs = []
    for line in text.splitlines():
        docs.append(line if line.startswith("ERROR") else json.loads(line))
    return docs

def ident(o):
    if not isinstance(o, dict):
        return repr(o)[:60]
    m = o.get("metadata") or {}
    return "%s %s" % (o.get("kind", "?"), m.get("name", "?") if isinstance(m, dict) else "?")

def diff(a, b, path):
    if type(a) != type(b):
        return path or "/", a, b
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                return "%s/%s" % (path, k), a.get(k, "<absent>"), b.get(k, "<absent>")
            d = diff(a[k], b[k], "%s/%s" % (path, k))
            if d:
                return d
        return None
    if isinstance(a, list):
        for i, (x, y) in enumerate(zip(a, b)):
            d = diff(x, y, "%s/%d" % (path, i))
            if d:
                return d
        if len(a) != len(b):
            return "%s (length)" % (path or "/"), len(a), len(b)
        return None
    return None if a == b else (path or "/", a, b)

want, got = load(sys.argv[2]), load(sys.argv[3])
if len(want) != len(got):
    print("# objects: kustomize %d, ours %d" % (len(want), len(got)))
for i, (w, g) in enumerate(zip(want, got)):
    d = diff(w, g, "")
    if d:
        print("# first difference: object %d (%s), field %s" % (i + 1, ident(w), d[0]))
        print("#   kustomize: %s" % json.dumps(d[1])[:200])
        print("#   ours:      %s" % json.dumps(d[2])[:200])
        break
else:
    if len(want) == len(got):
        print("# equal as objects: formatting or order differs")
PY
}

n=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for c in test/data/kustomize/*/; do
	c=${c%/}
	name=${c##*/}
	target=.
	[ -d "$c/build" ] && target=build
	run=$c
	if [ -f "$c/cwd" ]; then
		run=$c/$(cat "$c/cwd")
		target=.
	fi
	extra=()
	[ -f "$c/args" ] && read -ra extra <"$c/args"
	n=$((n + 1))
	(cd "$run" && PATH=$(dirname "$HELM"):$PATH "$KUSTOMIZE" build "${extra[@]}" "$target" >"$tmp/want" 2>"$tmp/want.err")
	wrc=$?
	(cd "$run" && "$ours" kustomize build "${extra[@]}" "$target" >"$tmp/got" 2>"$tmp/got.err")
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
		[ $grc -eq 0 ] && first_diff "$tmp/want" "$tmp/got"
		fail=$((fail + 1))
	fi
done
echo "1..$n"
[ $fail = 0 ]
