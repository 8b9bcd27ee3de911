#!/usr/bin/env bash
# tmpl_diff.sh: differential test of lib/tmpl against Go's text/template and
# Helm v3.21.4's engine (test/tools/tmploracle), case by case.
#
# Every test/data/tmpl/*.cases file holds small template cases (format:
# test/data/tmpl/README.md).  The oracle renders them all with the real
# implementation, test/tools/tmplcase with lib/tmpl; both print the same
# framed output.  One TAP line per case: the rendered files must be equal
# byte for byte, and an error must be the same error (the same text, as
# Helm reports it).  TMPL_CASES=file.cases limits the run to some files.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build/default}
ours=$BUILD/test/tmplcase
[ -x "$ours" ] || { echo "not ok 1 - $ours is missing (make unit)"; exit 1; }
oracle=$(sh test/tools/tmploracle/build.sh) || { echo "not ok 1 - tmploracle did not build"; exit 1; }
# shellcheck disable=SC2206
files=(${TMPL_CASES:-test/data/tmpl/*.cases})
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$oracle" "${files[@]}" >"$tmp/want" 2>"$tmp/want.err" || {
	echo "not ok 1 - tmploracle failed: $(head -c 300 "$tmp/want.err")"
	exit 1
}
"$ours" "${files[@]}" >"$tmp/got" 2>"$tmp/got.err"
rc=$?
python3 - "$tmp/want" "$tmp/got" "$rc" <<'PY'
import sys

def cases(path):
    data = open(path, "rb").read()
    out, order, i = {}, [], 0
    name = None
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl].decode("utf-8", "replace")
        i = nl + 1
        if line.startswith("@@@@ "):
            name = line[5:]
            order.append(name)
            out[name] = []
        elif line.startswith("@@ "):
            tag, n = line[3:].rsplit(" ", 1)
            n = int(n)
            out[name].append((tag, data[i:i + n]))
            i += n + 1
    return out, order

want, order = cases(sys.argv[1])
got, _ = cases(sys.argv[2])
n = fail = 0
for name in order:
    n += 1
    w, g = want[name], got.get(name)
    if g == w:
        print("ok %d - tmpl: %s" % (n, name))
        continue
    fail += 1
    print("not ok %d - tmpl: %s" % (n, name))
    if g is None:
        print("#   lib/tmpl printed nothing for this case (crashed?)")
        continue
    for (wt, wd), (gt, gd) in zip(w + [("", b"")] * (len(g) - len(w)), g + [("", b"")] * (len(w) - len(g))):
        if (wt, wd) != (gt, gd):
            k = 0
            while k < min(len(wd), len(gd)) and wd[k] == gd[k]:
                k += 1
            lo = max(0, k - 200)
            print("#   first difference at byte %d" % k)
            print("#   want %s: %r" % (wt, wd[lo:k + 200]))
            print("#   got  %s: %r" % (gt, gd[lo:k + 200]))
            break
if sys.argv[3] != "0":
    n += 1
    fail += 1
    print("not ok %d - tmplcase exited with status %s" % (n, sys.argv[3]))
print("1..%d" % n)
print("# %d of %d template cases equal to the oracle" % (n - fail, n))
sys.exit(1 if fail else 0)
PY
