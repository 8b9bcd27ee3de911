#!/usr/bin/env bash
# kustomize.sh: `make bench-kustomize` — our kustomize (bin/cflux
# kustomize build) next to the real one on the same overlay.  Not a test:
# it measures and prints, but it also insists both print the same bytes,
# so a faster wrong answer cannot pass for a result.
#
#   BENCH_KZ_N=1000     resources in the base (a multiple of 4)
#   BENCH_KZ_RUNS=3     runs per tool; the best time and the largest RSS are kept
#
# The overlay: a base of N/4 applications (ServiceAccount, Service,
# Deployment, ConfigMap), one generated ConfigMap every Deployment refers
# to, and an overlay with namespace, namePrefix, labels, images, a
# strategic-merge patch and a JSON 6902 patch on every Deployment, and a
# generator merged into the base's.
set -eu
cd "$(dirname "$0")/../.."
N=${BENCH_KZ_N:-1000}
RUNS=${BENCH_KZ_RUNS:-3}
BIN=${BIN:-bin}
. test/cluster/env.sh
[ -x "$KUSTOMIZE" ] || bash test/cluster/build.sh oracles >&2
[ -x "$BIN/cflux" ] || { echo "kustomize.sh: $BIN/cflux missing (make)" >&2; exit 1; }
W=$(mktemp -d)
[ -n "${BENCH_KZ_KEEP:-}" ] || trap 'rm -rf "$W"' EXIT
mkdir -p "$W/base" "$W/overlay"
{
	echo "resources:"
	for i in $(seq 1 $((N / 4))); do echo "- app-$i.yaml"; done
	printf 'configMapGenerator:\n- name: shared\n  literals: [MODE=base, LEVEL=info]\n'
} >"$W/base/kustomization.yaml"
for i in $(seq 1 $((N / 4))); do
	cat >"$W/base/app-$i.yaml" <<EOF
apiVersion: v1
kind: ServiceAccount
metadata:
  name: app-$i
---
apiVersion: v1
kind: Service
metadata:
  name: app-$i
spec:
  selector: {app: app-$i}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-$i
spec:
  replicas: 1
  selector:
    matchLabels: {app: app-$i}
  template:
    metadata:
      labels: {app: app-$i}
    spec:
      serviceAccountName: app-$i
      containers:
      - name: app
        image: nginx:1.27
        envFrom:
        - configMapRef: {name: shared}
        env:
        - {name: INDEX, value: "$i"}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-$i-config
data:
  index: "$i"
  text: |
    application $i
    of $N
EOF
done
cat >"$W/overlay/kustomization.yaml" <<'EOF'
resources: [../base]
namespace: prod
namePrefix: prod-
labels:
- pairs: {env: prod}
  includeSelectors: false
images:
- {name: nginx, newName: registry.example.com/nginx, newTag: "1.29"}
configMapGenerator:
- name: shared
  behavior: merge
  literals: [MODE=prod]
patches:
- target: {kind: Deployment}
  patch: |
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: any
    spec:
      replicas: 3
      template:
        spec:
          containers:
          - name: app
            resources:
              limits: {memory: 128Mi}
- target: {kind: Deployment}
  patch: |
    - op: add
      path: /metadata/annotations
      value: {team: web}
EOF

measure() { # NAME CMD... -> "best_seconds max_rss_kib", output in $W/NAME.out
	local name=$1 best="" rss=0 i t m
	shift
	for i in $(seq 1 "$RUNS"); do
		/usr/bin/time -f '%e %M' -o "$W/time" "$@" >"$W/$name.out" 2>"$W/$name.err" ||
			{ echo "kustomize.sh: $name failed:" >&2; cat "$W/$name.err" >&2; exit 1; }
		read -r t m <"$W/time"
		best=$(awk -v a="$best" -v b="$t" 'BEGIN { print (a == "" || b < a) ? b : a }')
		[ "$m" -gt "$rss" ] && rss=$m
	done
	echo "$best $rss"
}
# From inside the tree: the working directory is the source root for ours.
ours=$PWD/$BIN/cflux
out=$PWD/build
cd "$W"
read -r ct cm < <(measure cflux "$ours" kustomize build overlay)
read -r kt km < <(measure kustomize "$KUSTOMIZE" build overlay)
objs=$(grep -c '^kind: ' "$W/cflux.out")
if ! cmp -s "$W/cflux.out" "$W/kustomize.out"; then
	echo "kustomize.sh: the outputs differ:" >&2
	diff "$W/kustomize.out" "$W/cflux.out" | head -20 >&2
	exit 1
fi
{
	echo "# kustomize build: N=$N resources in the base, $objs objects out ($(nproc) cores)"
	echo
	echo "Best of $RUNS runs; peak RSS the largest seen. Both outputs are byte for byte equal ($(wc -c <"$W/cflux.out") bytes)."
	echo
	echo "| tool | time | peak RSS |"
	echo "|---|---|---|"
	echo "| cflux kustomize build | ${ct}s | $((cm / 1024)) MiB |"
	echo "| kustomize $KUSTOMIZE_VERSION | ${kt}s | $((km / 1024)) MiB |"
	echo
	awk -v a="$ct" -v b="$kt" 'BEGIN { if (a > 0) printf "kustomize/cflux time: %.1f\n", b / a }'
} | tee "$out/bench-kustomize.md"
