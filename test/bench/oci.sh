#!/usr/bin/env bash
# oci.sh: `make bench-oci` — pull and extract a 100 MiB Flux artifact with
# `cflux pull artifact` next to crane and oras (built from their Go
# modules by test/cluster/build.sh oci), from the open registry of the
# test servers on loopback (plain HTTP: the figures are the clients',
# not TLS's).  Not a test: it measures and prints, but it insists every
# tool ends with the same files as the pushed tree (diff -r), so a fast
# wrong answer cannot pass for a result.
#
#   BENCH_OCI_MB=100      the tree's size in MiB (1 000 files)
#   BENCH_OCI_RUNS=3      runs per tool: the best CPU time, the largest peak RSS
#   BENCH_OCI_DIR=DIR     scratch directory (default /dev/shm when it has
#                         2 GB free, else $TMPDIR or /tmp)
#
# The tree (deterministic, python3's PRNG seeded), as bench-git's: 98% of
# the files small manifests (YAML with random hex) holding 30% of the
# bytes, 1% base64 text of random bytes (20%), 1% raw random binaries
# (50%).  It is pushed once with `cflux push artifact` (Flux's media types:
# one tar+gzip layer).  Each run pulls it into an empty directory:
#   cflux   bin/cflux pull artifact oci://REG/REPO:v1 --output DIR
#           (one process: the tag resolved, the manifest read, the layer
#           streamed through sha256 to disk and checked, then extracted)
#   crane   crane export REG/REPO:v1 - | tar -x -C DIR (crane resolves the
#           tag, reads the manifest and streams the layer, gunzipped, out
#           as one tar; GNU tar writes the files)
#   oras    oras blob fetch --output - REG/REPO@LAYER | tar -xz -C DIR
#           (oras pull skips layers without a file name, which Flux's
#           layer has none of; the layer's digest is looked up before the
#           timing, so oras is spared the manifest round trip)
# Timed from outside by GNU time: wall, CPU (user + system of the whole
# pipeline: the fair figure on a loaded machine) and peak RSS (%M: the
# largest single process of the pipeline, not their sum).  The table goes
# to stdout and build/bench/oci.md.
set -eu
cd "$(dirname "$0")/../.."
MB=${BENCH_OCI_MB:-100}
RUNS=${BENCH_OCI_RUNS:-3}
BIN=${BIN:-bin}
CFLUX=$PWD/$BIN/cflux
[ -x "$CFLUX" ] || { echo "oci.sh: $CFLUX missing (make)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "oci.sh: /usr/bin/time (GNU time) is needed" >&2; exit 1; }
. test/cluster/env.sh
[ -x "$CRANE" ] && [ -x "$ORAS" ] || bash test/cluster/build.sh oci >&2
. test/cluster/lib.sh
ENVF=$CLUSTER_DIR/servers.env

# ---- servers: use the running ones, or start them and stop them after
started=
if [ ! -f "$ENVF" ] || ! bash test/cluster/servers.sh status >/dev/null 2>&1; then
	bash test/cluster/servers.sh up >&2
	started=1
fi
set -a
. "$ENVF"
set +a
if [ -z "${BENCH_OCI_DIR:-}" ]; then
	BENCH_OCI_DIR=${TMPDIR:-/tmp}
	[ -w /dev/shm ] && [ "$(df -Pk /dev/shm | awk 'NR == 2 { print $4 }')" -gt $((2 << 20)) ] &&
		BENCH_OCI_DIR=/dev/shm
fi
W=$(mktemp -d "$BENCH_OCI_DIR/bench-oci.XXXXXX")
REPO=bench-oci-$$/app
cleanup() {
	rm -rf "$W"
	[ -z "$started" ] || bash test/cluster/servers.sh down >&2
}
trap cleanup EXIT
die() { echo "oci.sh: $*" >&2; exit 1; }

# ---- the tree
echo "oci.sh: generating $MB MiB in 1000 files (scratch $W)" >&2
python3 - "$W/src" 1000 "$MB" <<'EOF'
import os, random, sys, base64
root, files, mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(7)
total = mb << 20
n_bin = max(1, files // 100)
n_b64 = max(1, files // 100)
n_txt = max(1, files - n_bin - n_b64)
def sizes(n, share):
    mean = share * total / n
    return [int(mean * (0.1 + 1.8 * rnd.random())) for _ in range(n)]
def manifest(i, size):
    out = ["apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-%05d\ndata:\n" % i]
    n = len(out[0])
    while n < size:
        line = "  key-%s: \"%s %d\"\n" % (rnd.getrandbits(32).to_bytes(4, "big").hex(),
                                          rnd.getrandbits(96).to_bytes(12, "big").hex(),
                                          rnd.randrange(10**6))
        out.append(line)
        n += len(line)
    return "".join(out)
for i, size in enumerate(sizes(n_txt, 0.30)):
    d = os.path.join(root, "clusters", "env-%d" % (i % 4), "app-%03d" % (i // 20))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "cm-%05d.yaml" % i), "w") as f:
        f.write(manifest(i, size))
for i, size in enumerate(sizes(n_b64, 0.20)):
    d = os.path.join(root, "certs")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "ca-%03d.pem" % i), "wb") as f:
        f.write(base64.encodebytes(rnd.randbytes(size * 3 // 4)))
for i, size in enumerate(sizes(n_bin, 0.50)):
    d = os.path.join(root, "assets")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "blob-%03d.bin" % i), "wb") as f:
        f.write(rnd.randbytes(size))
EOF
REF=$REGISTRY_HOST/$REPO:v1
"$CFLUX" push artifact "oci://$REF" --path="$W/src" --source=https://example.com/bench \
	--revision=v1@sha1:0123456789abcdef --insecure-registry >"$W/push.log" 2>&1 ||
	{ cat "$W/push.log" >&2; die "push failed"; }
MANIFEST=$(curl -fsS -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
	"$REGISTRY_URL/v2/$REPO/manifests/v1")
LAYER=$(python3 -c 'import json,sys; l=json.loads(sys.argv[1])["layers"]; assert len(l) == 1; print(l[0]["digest"])' "$MANIFEST")
LAYER_MB=$(python3 -c 'import json,sys; print("%.1f" % (json.loads(sys.argv[1])["layers"][0]["size"] / 1048576))' "$MANIFEST")
tree_mb=$(find "$W/src" -type f -printf "%s\n" | awk '{ s += $1 } END { printf "%.1f", s / 1048576 }')
files=$(find "$W/src" -type f | wc -l)

# measure NAME CMD...: CMD (which writes into $W/out) RUNS times, each into
# an empty $W/out; prints "wall cpu rss_kib" (best CPU run's wall and CPU,
# the largest RSS), checks the files.
measure() {
	local name=$1 i t u s m bw="" bc="" br=0 c
	shift
	for i in $(seq 1 "$RUNS"); do
		rm -rf "$W/out" && mkdir "$W/out"
		sync
		/usr/bin/time -f '%e %U %S %M' -o "$W/time" "$@" >"$W/$name.out" 2>"$W/$name.err" ||
			{ cat "$W/$name.err" >&2; die "$name failed"; }
		read -r t u s m <"$W/time"
		c=$(awk -v a="$u" -v b="$s" 'BEGIN { printf "%.2f", a + b }')
		echo "oci.sh: $name run $i: ${t}s wall, ${c}s CPU, $((m / 1024)) MiB" >&2
		if [ -z "$bc" ] || awk -v a="$c" -v b="$bc" 'BEGIN { exit !(a < b) }'; then
			bw=$t bc=$c
		fi
		[ "$m" -gt "$br" ] && br=$m
		diff -r -q "$W/src" "$W/out" >&2 || die "$name: the extracted files differ from the pushed tree"
	done
	echo "$bw $bc $br"
}

read -r cw cc cm < <(measure cflux "$CFLUX" pull artifact "oci://$REF" --output="$W/out" --insecure-registry)
read -r kw kc km < <(measure crane bash -c "'$CRANE' export --insecure '$REF' - | tar -x -C '$W/out'")
read -r ow oc om < <(measure oras bash -c \
	"'$ORAS' blob fetch --plain-http --output - '$REGISTRY_HOST/$REPO@$LAYER' | tar -xz -C '$W/out'")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.1f", b / a; else print "inf" }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.0f MiB", k / 1024 }'; }
mkdir -p build/bench
{
	echo "# OCI pull and extract: $files files, $tree_mb MiB, one $LAYER_MB MiB tar+gzip layer (Flux's format)"
	echo
	echo "$(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg); the open registry (docker-registry"
	echo "$(docker-registry --version 2>/dev/null | awk '{ print $3 }')) on loopback over plain HTTP; scratch on"
	echo "$(df -PT "$W" | awk 'NR == 2 { print $2 }'). Best CPU of $RUNS runs (user + system of the whole"
	echo "pipeline), its wall time; the largest peak RSS of any single process. Every run's files equal the"
	echo "pushed tree (diff -r)."
	echo
	echo "| tool | command | wall | CPU | peak RSS |"
	echo "|---|---|---|---|---|"
	echo "| cflux | \`cflux pull artifact --output DIR\` | ${cw}s | ${cc}s | $(mib "$cm") |"
	echo "| crane $CRANE_VERSION | \`crane export REF - \\| tar -x\` | ${kw}s | ${kc}s | $(mib "$km") |"
	echo "| oras $ORAS_VERSION | \`oras blob fetch --output - REF@LAYER \\| tar -xz\` | ${ow}s | ${oc}s | $(mib "$om") |"
	echo
	echo "crane/cflux: $(ratio "$cw" "$kw")x wall, $(ratio "$cc" "$kc")x CPU, $(ratio "$cm" "$km")x RSS;" \
		"oras/cflux: $(ratio "$cw" "$ow")x wall, $(ratio "$cc" "$oc")x CPU, $(ratio "$cm" "$om")x RSS"
} | tee build/bench/oci.md
