#!/bin/bash
# crds.sh: our CRDs against Flux's (TAP).
#
# For every Flux kind in crds/, the schema of the version we store (v1, or
# v2 for HelmRelease) is compared with Flux's own CRD, path by path (test/tools/crddiff: types,
# formats, enums, defaults, required lists, patterns, bounds, x-kubernetes
# markers, CEL rules, names, scope, printer columns).  Then our CRDs are
# installed and the sample objects that ship with Flux's controllers are
# applied with server-side validation (source-, kustomize- and
# helm-controller's), a fresh object of each kind gets Flux's defaults, and
# one invalid object per kind is refused by the pattern, enum or CEL rule
# Flux's CRD has for it.
set -u
NAME=crds
# shellcheck source=test/e2e/lib/operator.bash
. "$(dirname "$0")/lib/operator.bash"

CRDDIFF=$repo/${BUILD:-build/default}/test/crddiff
[ -x "$CRDDIFF" ] || CRDDIFF=$repo/build/default/test/crddiff
bash "$repo/test/cluster/build.sh" flux-crds >/dev/null 2>&1
k create namespace "$NS" >/dev/null

theirs() { # our file name -> Flux's copy
	ls "$SOURCE_CONTROLLER_CRDS/$1" "$KUSTOMIZE_CONTROLLER_CRDS/$1" "$HELM_CONTROLLER_CRDS/$1" \
		"$NOTIFICATION_CONTROLLER_CRDS/$1" \
		2>/dev/null | head -n 1
}
served() { # our CRD -> its storage version, the one compared with Flux's
	python3 -c 'import sys, yaml
print(next(v["name"] for v in yaml.safe_load(open(sys.argv[1]))["spec"]["versions"] if v["storage"]))' "$1"
}
for f in "$repo"/crds/*.toolkit.fluxcd.io_*.yaml; do
	[ -f "$f" ] || continue
	b=$(basename "$f")
	v=$(served "$f")
	check "$b: the same API as Flux's (${v:-no version})" "$CRDDIFF" "$f" "$(theirs "$b")" "${v:-none}"
done
check "crddiff finds differences where there are some (GitRepository vs Bucket)" bash -c \
	"! '$CRDDIFF' '$repo/crds/source.toolkit.fluxcd.io_gitrepositories.yaml' '$(theirs source.toolkit.fluxcd.io_buckets.yaml)' v1 >/dev/null"
for f in "$repo"/crds/*.yaml; do
	b=$(basename "$f")
	check "$b installs" k apply --server-side --force-conflicts --field-manager=cflux-test -f "$f"
done

moddir() { # module@version
	go mod download -json "$1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])'
}
samples() {
	moddir "github.com/fluxcd/source-controller@$SOURCE_CONTROLLER_VERSION"
	moddir "github.com/fluxcd/kustomize-controller@$KUSTOMIZE_CONTROLLER_VERSION"
	moddir "github.com/fluxcd/helm-controller@$HELM_CONTROLLER_VERSION"
}
sample_files=$(for d in $(samples); do ls "$d"/config/samples/*.yaml; done 2>/dev/null)
for s in $sample_files; do
	kinds=$(grep -E '^kind: ' "$s" | awk '{print $2}' | sort -u)
	ours=1
	for kd in $kinds; do
		grep -qE "^    kind: $kd\$" "$repo"/crds/*.yaml || ours=0
	done
	[ "$ours" = 1 ] || continue
	check "Flux's sample $(basename "$(dirname "$(dirname "$(dirname "$s")")")")/$(basename "$s") is accepted" \
		k apply --dry-run=server -n "$NS" -f "$s"
done
# fresh KIND NAME YAML-SPEC GO-TEMPLATE WANT: create a KIND with the given
# spec (an indented block) and compare the template's output on it.
fresh() {
	local kind=$1 name=$2 spec=$3 tmpl=$4 want=$5 api=source.toolkit.fluxcd.io/v1 got
	[ "$kind" = HelmRelease ] && api=helm.toolkit.fluxcd.io/v2
	printf 'apiVersion: %s\nkind: %s\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n%s\n' \
		"$api" "$kind" "$name" "$NS" "$spec" | k create -f - >/dev/null &&
		got=$(k get "$(echo "$kind" | tr '[:upper:]' '[:lower:]')" -n "$NS" "$name" -o go-template="$tmpl") &&
		echo "got: $got" && [ "$got" = "$want" ]
}
check "a new GitRepository gets Flux's defaults (status.observedGeneration -1, timeout 60s)" \
	fresh GitRepository d '  interval: 1m
  url: https://example.com/x.git' '{{.status}} {{.spec.timeout}}' "map[observedGeneration:-1] 60s"
check "a new OCIRepository gets Flux's defaults (status.observedGeneration -1, provider, timeout)" \
	fresh OCIRepository d '  interval: 1m
  url: oci://ghcr.io/x/y' '{{.status}} {{.spec.provider}} {{.spec.timeout}}' "map[observedGeneration:-1] generic 60s"
check "a new HelmRepository gets Flux's defaults (status.observedGeneration -1, provider)" \
	fresh HelmRepository d '  url: https://charts.example.com' '{{.status}} {{.spec.provider}}' \
	"map[observedGeneration:-1] generic"
check "a new HelmChart gets Flux's defaults (status.observedGeneration -1, version *, ChartVersion)" \
	fresh HelmChart d '  interval: 1m
  chart: podinfo
  sourceRef: {kind: HelmRepository, name: d}' '{{.status}} {{.spec.version}} {{.spec.reconcileStrategy}}' \
	"map[observedGeneration:-1] * ChartVersion"
check "a new Bucket gets Flux's defaults (status.observedGeneration -1, provider, timeout)" \
	fresh Bucket d '  interval: 1m
  bucketName: b
  endpoint: minio.example.com' '{{.status}} {{.spec.provider}} {{.spec.timeout}}' "map[observedGeneration:-1] generic 60s"
check "a new HelmRelease gets Flux's defaults (status.observedGeneration -1, chart version *, uninstall propagation)" \
	fresh HelmRelease d '  interval: 1m
  chart: {spec: {chart: podinfo, sourceRef: {kind: HelmRepository, name: d}}}
  uninstall: {keepHistory: true}' '{{.status}} {{.spec.chart.spec.version}} {{.spec.uninstall.deletionPropagation}}' \
	"map[observedGeneration:-1] * background"

# Flux's deprecated versions are served, as Flux's CRDs serve them, with
# its warning; what is written at one is read at the storage version.
older() { # PLURAL GROUP OLD NEW KIND
	local out
	out=$(printf 'apiVersion: %s/%s\nkind: %s\nmetadata:\n  name: old\nspec:\n%s\n' "$2" "$3" "$5" "$6" |
		k create -n "$NS" -f - 2>&1) || { echo "$out"; return 1; }
	echo "$out"
	grep -qF "Warning: $3 $5 is deprecated, upgrade to $4" <<<"$out" &&
		[ "$(k get "$1.$4.$2" -n "$NS" old -o jsonpath='{.apiVersion}')" = "$2/$4" ]
}
check "GitRepository v1beta2 is served (deprecated, read back as v1)" older gitrepositories \
	source.toolkit.fluxcd.io v1beta2 v1 GitRepository '  interval: 1m
  url: https://example.com/x.git'
check "OCIRepository v1beta2 is served (deprecated, read back as v1)" older ocirepositories \
	source.toolkit.fluxcd.io v1beta2 v1 OCIRepository '  interval: 1m
  url: oci://ghcr.io/x/y'
check "Kustomization v1beta2 is served (deprecated, read back as v1)" older kustomizations \
	kustomize.toolkit.fluxcd.io v1beta2 v1 Kustomization '  interval: 1m
  prune: true
  sourceRef: {kind: GitRepository, name: old}'
check "HelmRelease v2beta2 is served (deprecated, read back as v2)" older helmreleases \
	helm.toolkit.fluxcd.io v2beta2 v2 HelmRelease '  interval: 1m
  chart: {spec: {chart: podinfo, sourceRef: {kind: HelmRepository, name: d}}}'
check "a field v1 lacks is refused at v1beta2 too (Kustomization patchesStrategicMerge)" bash -c \
	"printf 'apiVersion: kustomize.toolkit.fluxcd.io/v1beta2\nkind: Kustomization\nmetadata:\n  name: psm\nspec:\n  interval: 1m\n  prune: true\n  sourceRef: {kind: GitRepository, name: x}\n  patchesStrategicMerge: []\n' | { ! $KUBECTL apply --dry-run=server -n $NS -f - >$W/psm.out 2>&1; } && cat $W/psm.out && grep -q patchesStrategicMerge $W/psm.out"

# refused KIND YAML-SPEC FIELD: a server-side dry run of KIND with that spec
# fails, and the apiserver's message names FIELD.
refused() {
	local kind=$1 spec=$2 field=$3 api=source.toolkit.fluxcd.io/v1 out
	[ "$kind" = HelmRelease ] && api=helm.toolkit.fluxcd.io/v2
	if out=$(printf 'apiVersion: %s\nkind: %s\nmetadata:\n  name: b\nspec:\n%s\n' "$api" "$kind" "$spec" |
		k apply --dry-run=server -n "$NS" -f - 2>&1); then
		echo "accepted: $out"
		return 1
	fi
	echo "$out"
	grep -qF -- "$field" <<<"$out"
}
check "an scp-like Git URL is refused, as by Flux's CRD" \
	refused GitRepository '  interval: 1m
  url: git@github.com:x/y.git' spec.url
check "an OCIRepository URL without oci:// is refused, as by Flux's CRD" \
	refused OCIRepository '  interval: 1m
  url: https://ghcr.io/x/y' spec.url
check "a HelmRepository type outside default/oci is refused, as by Flux's CRD" \
	refused HelmRepository '  url: https://charts.example.com
  type: git' spec.type
check "a HelmChart from an OCIRepository (not a chart source kind) is refused, as by Flux's CRD" \
	refused HelmChart '  interval: 1m
  chart: podinfo
  sourceRef: {kind: OCIRepository, name: x}' spec.sourceRef.kind
check "a Bucket with both secretRef and serviceAccountName is refused (Flux's CEL rule)" \
	refused Bucket '  interval: 1m
  provider: aws
  bucketName: b
  endpoint: s3.amazonaws.com
  secretRef: {name: s}
  serviceAccountName: sa' spec.serviceAccountName
check "a HelmRelease with both chart and chartRef is refused (Flux's CEL rule)" \
	refused HelmRelease '  interval: 1m
  chart: {spec: {chart: podinfo, sourceRef: {kind: HelmRepository, name: x}}}
  chartRef: {kind: OCIRepository, name: x}' spec.chartRef
check "a HelmRelease with neither chart nor chartRef is refused (Flux's CEL rule)" \
	refused HelmRelease '  interval: 1m' spec.chartRef
tap_end
