#!/bin/bash
# crds.sh: our CRDs against Flux's (TAP).
#
# For every Flux kind in crds/, the schema of the served version is
# compared with Flux's own CRD, path by path (test/tools/crddiff: types,
# formats, enums, defaults, required lists, patterns, bounds, x-kubernetes
# markers, CEL rules, names, scope, printer columns).  Then our CRDs are
# installed and the sample objects that ship with Flux's controllers are
# applied with server-side validation, and a fresh object gets Flux's
# status default.
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
		2>/dev/null | head -n 1
}
for f in "$repo"/crds/*.toolkit.fluxcd.io_*.yaml; do
	[ -f "$f" ] || continue
	b=$(basename "$f")
	check "$b: the same API as Flux's (v1)" "$CRDDIFF" "$f" "$(theirs "$b")" v1
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
defaults() {
	printf 'apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: d\n  namespace: %s\nspec:\n  interval: 1m\n  url: https://example.com/x.git\n' "$NS" |
		k create -f - >/dev/null &&
		[ "$(k get gitrepository -n "$NS" d -o go-template='{{.status}} {{.spec.timeout}}')" = "map[observedGeneration:-1] 60s" ]
}
check "a new GitRepository gets Flux's defaults (status.observedGeneration -1, timeout 60s)" defaults
bad_url() {
	printf 'apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: b\nspec:\n  interval: 1m\n  url: git@github.com:x/y.git\n' |
		k apply --dry-run=server -n "$NS" -f - 2>&1 | grep -q "spec.url"
}
check "an scp-like Git URL is refused, as by Flux's CRD" bad_url
tap_end
