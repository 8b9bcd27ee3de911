#!/usr/bin/env bash
# kube.sh: figures for lib/kube against the local control plane
# (`make bench-kube`).  Not a test: it measures and prints.
#
#   - memory an informer adds for N ConfigMaps (default 10000);
#   - time from a write to its watch event reaching the handler;
#   - server-side apply rate of a bulk loop (ours, 64 in flight on one
#     HTTP/2 connection) next to `kubectl apply --server-side` on the same
#     objects.
# Brings the control plane up if it is not, and leaves it as it found it.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build/default}
N=${BENCH_KUBE_N:-10000}
SSA_N=${BENCH_SSA_N:-2000}
tool=$BUILD/test/kubebench
[ -x "$tool" ] || { echo "kube.sh: $tool missing (make)" >&2; exit 1; }
started=0
if ! [ -f build/cluster/env ] || ! (. build/cluster/env && curl -fsS --max-time 3 --cacert "$CLUSTER_CA" "$APISERVER_URL/readyz" >/dev/null 2>&1); then
	CFLUX_NODE=0 bash test/cluster/up.sh
	started=1
fi
trap '[ $started = 1 ] && bash test/cluster/down.sh >/dev/null 2>&1' EXIT
. test/cluster/env.sh
. build/cluster/env
kubectl delete ns kubebench --ignore-not-found --wait=true >/dev/null

echo "== informer memory ($N ConfigMaps)"
"$tool" informer-memory "$N"
echo "== write-to-event latency (200 creates)"
"$tool" watch-latency 200
kubectl delete ns kubebench --wait=true >/dev/null

echo "== server-side apply, $SSA_N ConfigMaps"
"$tool" ssa "$SSA_N"
kubectl delete ns kubebench --wait=true >/dev/null
dir=$(mktemp -d)
"$tool" manifests "$SSA_N" "$dir"
kubectl create ns kubebench >/dev/null
t0=$(date +%s.%N)
kubectl apply --server-side --field-manager=kubebench -f "$dir" >/dev/null
t1=$(date +%s.%N)
python3 - "$t0" "$t1" "$SSA_N" <<'PY'
import sys
t0, t1, n = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
print("kubectl-ssa-seconds: %.2f s" % (t1 - t0))
print("kubectl-ssa-rate: %.0f objects/s" % (n / (t1 - t0)))
PY
rm -rf "$dir"
kubectl delete ns kubebench --wait=false >/dev/null
