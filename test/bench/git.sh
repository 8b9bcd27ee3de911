#!/usr/bin/env bash
# git.sh: `make bench-git` — fetching a large repository with lib/source/git.c
# (build/test/gitbench, one fetch as the GitRepository reconciler makes it)
# next to git itself, over smart HTTP from the test servers (git
# http-backend behind lighttpd, on loopback).  Not a test: it measures and
# prints, but it insists both sides end with the same commit and the same
# files, so a fast wrong answer cannot pass for a result.
#
#   BENCH_GIT_FILES=10000   files in the repository
#   BENCH_GIT_MB=100        their total size (a tenth in 100 incompressible files)
#   BENCH_GIT_RUNS=3        runs per measurement; best time, largest RSS kept
#   BENCH_GIT_KEEP=1        keep the scratch directory
#
# Rows: a cold fetch (empty cache) and checkout, the same plus packing the
# artifact, an incremental fetch after a commit that changes 10 files
# (1 MB), and the no-op check when the branch has not moved; git's rows are
# `git clone --depth 1`, `git fetch --depth 1` + checkout, `git ls-remote`.
set -eu
cd "$(dirname "$0")/../.."
FILES=${BENCH_GIT_FILES:-10000}
MB=${BENCH_GIT_MB:-100}
RUNS=${BENCH_GIT_RUNS:-3}
BUILD=${BUILD:-build/default}
GB=$PWD/$BUILD/test/gitbench
[ -x "$GB" ] || { echo "git.sh: $GB missing (make $BUILD/test/gitbench)" >&2; exit 1; }
. test/cluster/lib.sh
ENVF=$CLUSTER_DIR/servers.env
started=
if ! bash test/cluster/servers.sh status >/dev/null 2>&1; then
	bash test/cluster/servers.sh up >&2
	started=1
fi
set -a
. "$ENVF"
set +a
W=$(mktemp -d)
NAME=bench-git-$$
cleanup() {
	rm -rf "$GIT_ROOT/$NAME.git"
	[ -n "${BENCH_GIT_KEEP:-}" ] || rm -rf "$W"
	[ -z "$started" ] || bash test/cluster/servers.sh down >&2
}
trap cleanup EXIT

# ---- the repository: FILES files, MB megabytes
echo "git.sh: generating $FILES files, $MB MB" >&2
big=100
small=$((FILES - big))
python3 - "$W/src" "$small" "$big" "$MB" <<'PYEOF'
import os, random, sys, base64
root, small, big, mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rnd = random.Random(42)
total = mb << 20
big_each = (total // 10) // big            # a tenth: incompressible blobs
small_each = (total - big_each * big) // small
line = "  key-%05d: value-%08d # a line of a manifest, much like the others\n"
for i in range(small):
    d = os.path.join(root, "apps", "team-%02d" % (i % 50), "app-%03d" % (i // 50 % 100))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f-%05d.yaml" % i), "w") as f:
        f.write("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c-%d\ndata:\n" % i)
        n = 0
        while n < small_each:
            s = line % (n, rnd.randrange(10**8))
            f.write(s)
            n += len(s)
os.makedirs(os.path.join(root, "blobs"), exist_ok=True)
for i in range(big):
    with open(os.path.join(root, "blobs", "b-%03d.bin" % i), "wb") as f:
        f.write(rnd.randbytes(big_each))
PYEOF
SHA1=$(bash test/cluster/mkrepo.sh "$NAME" "$W/src")
URL=$GIT_HTTP_URL/$NAME.git
size=$(du -sm "$W/src" | cut -f1)
pack=$(du -sm "$GIT_ROOT/$NAME.git/objects" | cut -f1)

measure() { # NAME SETUP CMD... : best time and largest RSS of CMD, after SETUP each run
	local name=$1 setup=$2 best="" rss=0 i t m
	shift 2
	for i in $(seq 1 "$RUNS"); do
		bash -c "$setup"
		/usr/bin/time -f '%e %M' -o "$W/time" "$@" >"$W/$name.out" 2>"$W/$name.err" ||
			{ echo "git.sh: $name failed:" >&2; cat "$W/$name.err" >&2; exit 1; }
		read -r t m <"$W/time"
		best=$(awk -v a="$best" -v b="$t" 'BEGIN { print (a == "" || b < a) ? b : a }')
		[ "$m" -gt "$rss" ] && rss=$m
	done
	echo "$best $((rss / 1024))"
}
fresh="rm -rf $W/cache $W/out $W/clone && mkdir $W/out"
read -r c_t c_m < <(measure cold "$fresh" "$GB" "$URL" main "$W/cache" "$W/out")
grep -q "commit=$SHA1 " "$W/cold.out" || { echo "git.sh: cflux fetched $(cat "$W/cold.out")" >&2; exit 1; }
read -r a_t a_m < <(measure archive "$fresh" "$GB" "$URL" main "$W/cache" "$W/out" "" "$W/a.tar.gz")
art=$(du -m "$W/a.tar.gz" | cut -f1)
read -r g_t g_m < <(measure clone "rm -rf $W/clone" git clone -q --depth 1 --branch main --no-tags "$URL" "$W/clone")
[ "$(git -C "$W/clone" rev-parse HEAD)" = "$SHA1" ] || { echo "git.sh: git cloned another commit" >&2; exit 1; }
diff -r -q -x .git "$W/out" "$W/clone" >&2 || { echo "git.sh: the checkouts differ" >&2; exit 1; }
files=$(find "$W/out" -type f | wc -l)

# ---- incremental: 10 files changed, 1 MB
for i in $(seq 0 9); do
	head -c 78000 /dev/urandom | base64 >"$W/src/blobs/b-00$i.bin"
done
SHA2=$(bash test/cluster/mkrepo.sh "$NAME" "$W/src")
# Each run starts from the cache and clone of the first commit.
cp -a "$W/cache" "$W/cache1"
cp -a "$W/clone" "$W/clone1"
read -r i_t i_m < <(measure incr "rm -rf $W/cache $W/out && cp -a $W/cache1 $W/cache && mkdir $W/out" \
	"$GB" "$URL" main "$W/cache" "$W/out" "$SHA1")
grep -q "commit=$SHA2 " "$W/incr.out" || { echo "git.sh: cflux fetched $(cat "$W/incr.out")" >&2; exit 1; }
read -r gi_t gi_m < <(measure gincr "rm -rf $W/clone && cp -a $W/clone1 $W/clone" \
	bash -c "git -C '$W/clone' fetch -q --depth 1 origin main && git -C '$W/clone' checkout -q FETCH_HEAD")
[ "$(git -C "$W/clone" rev-parse HEAD)" = "$SHA2" ] || { echo "git.sh: git fetched another commit" >&2; exit 1; }
diff -r -q -x .git "$W/out" "$W/clone" >&2 || { echo "git.sh: the checkouts differ" >&2; exit 1; }

# ---- no-op: the branch has not moved
read -r n_t n_m < <(measure noop "rm -rf $W/out && mkdir $W/out" "$GB" "$URL" main "$W/cache" "$W/out" "$SHA2")
grep -q "unchanged=1" "$W/noop.out" || { echo "git.sh: the no-op fetched" >&2; exit 1; }
read -r l_t l_m < <(measure lsremote true git ls-remote "$URL" refs/heads/main)

mkdir -p build/bench
{
	echo "# git fetch: $files files, $size MB in the tree, $pack MB of objects on the server ($(nproc) cores)"
	echo
	echo "Smart HTTP (git http-backend behind lighttpd) on loopback. Best of $RUNS runs; peak RSS the"
	echo "largest seen. Both sides check out the same commit with the same files."
	echo
	echo "| | cflux (lib/source/git.c) | git $(git --version | cut -d' ' -f3) |"
	echo "|---|---|---|"
	echo "| cold: fetch (depth 1) + checkout | ${c_t} s, ${c_m} MiB | clone --depth 1: ${g_t} s, ${g_m} MiB |"
	echo "| cold + pack the artifact ($art MB tar.gz) | ${a_t} s, ${a_m} MiB | - |"
	echo "| incremental: 10 files, 1 MB changed | ${i_t} s, ${i_m} MiB | fetch --depth 1 + checkout: ${gi_t} s, ${gi_m} MiB |"
	echo "| no change: ref check only | ${n_t} s, ${n_m} MiB | ls-remote: ${l_t} s, ${l_m} MiB |"
} | tee build/bench/git.md
