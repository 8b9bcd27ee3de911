#!/bin/bash
# tenancy.sh: multi-tenancy lockdown (TAP).  The operator runs as the
# Extension's multiTenancy.enforce runs it, with --no-cross-namespace-refs
# and --default-service-account=flux-applier: a Kustomization applies as
# the service account of its own namespace, which may only touch that
# namespace, and may not read a source from another namespace.
set -u
NAME=tenant
# shellcheck source=test/e2e/lib/operator.bash
. "$(dirname "$0")/lib/operator.bash"

OTHER=$NS-other
k create namespace "$NS" >/dev/null
k create namespace "$OTHER" >/dev/null
trap 'e2e_cleanup; k delete namespace "$OTHER" --wait=false >/dev/null 2>&1' EXIT
# The tenant's applier: ConfigMaps in its own namespace, nothing else.
k create serviceaccount -n "$NS" flux-applier >/dev/null
k create role -n "$NS" applier --verb=get,list,watch,create,update,patch,delete --resource=configmaps >/dev/null
k create rolebinding -n "$NS" applier --role=applier --serviceaccount="$NS:flux-applier" >/dev/null

mkdir -p "$W/src/mine" "$W/src/theirs"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mine\n  namespace: %s\n' "$NS" >"$W/src/mine/cm.yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: theirs\n  namespace: %s\n' "$OTHER" >"$W/src/theirs/cm.yaml"
bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src" >/dev/null

# In the cluster the operator is installed in a namespace of its own (the
# chart binds that namespace's flux-applier to cluster-admin), as Azure's is.
check "operator starts with the lockdown flags" start_operator \
	--no-cross-namespace-refs=true --default-service-account=flux-applier --release-namespace="$NS-op"
gitrepo src "$GIT_HTTP_URL/$REPO.git" "ref:" "  branch: main" >/dev/null

kustomization mine src ./mine "prune: true" >/dev/null
check "its own namespace: applied as the tenant's service account, Ready" poll 60 bash -c \
	"[ \"\$($KUBECTL get kustomization -n $NS mine -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}')\" = True ]"
check "the object's field manager is kustomize-controller" bash -c \
	"$KUBECTL get cm -n $NS mine -o jsonpath='{.metadata.managedFields[*].manager}' | grep -qw kustomize-controller"

kustomization theirs src ./theirs "prune: true" >/dev/null
forbidden() {
	[ "$(cond kustomization theirs Ready status)" = False ] &&
		cond kustomization theirs Ready message | tee /dev/stderr | grep -q "ConfigMap/$OTHER/theirs" &&
		cond kustomization theirs Ready message | grep -qiE "forbidden|cannot"
}
check "another namespace: Ready=False, the object and the refusal named" poll 60 forbidden
check "nothing was created there" bash -c "! $KUBECTL get cm -n $OTHER theirs >/dev/null 2>&1"

# The same through a namespaced FluxConfiguration, as Azure users write it.
printf 'apiVersion: clusterconfig.cflux.io/v1\nkind: FluxConfiguration\nmetadata:\n  name: fc\n  namespace: %s\nspec:\n  scope: namespace\n  gitRepository: {url: %s, repositoryRef: {branch: main}}\n  kustomizations:\n    theirs: {path: ./theirs, prune: true, retryIntervalInSeconds: 2}\n' \
	"$NS" "$GIT_HTTP_URL/$REPO.git" | k apply -f - >/dev/null
fc_refused() {
	[ "$(jpk fluxconfiguration fc '{.status.complianceState}')" = Non-Compliant ] &&
		cond fluxconfiguration fc Ready message | tee /dev/stderr | grep -q "ConfigMap/$OTHER/theirs"
}
check "a namespaced FluxConfiguration reaching into another namespace: Non-Compliant, saying why" poll 60 fc_refused
check "and nothing was created there either" bash -c "! $KUBECTL get cm -n $OTHER theirs >/dev/null 2>&1"

printf 'apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: cross\n  namespace: %s\nspec:\n  interval: 10m\n  prune: false\n  path: ./mine\n  sourceRef: {kind: GitRepository, name: src, namespace: %s}\n' "$NS" "$OTHER" | k apply -f - >/dev/null
crossref() {
	[ "$(cond kustomization cross Ready status)" = False ] &&
		cond kustomization cross Ready message | tee /dev/stderr | grep -q "cross-namespace references have been blocked"
}
check "a source in another namespace: refused, says cross-namespace references are blocked" poll 30 crossref

sa_ks() {
	printf 'apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: nosa\n  namespace: %s\nspec:\n  interval: 10m\n  retryInterval: 2s\n  prune: false\n  path: ./mine\n  serviceAccountName: ghost\n  sourceRef: {kind: GitRepository, name: src}\n' "$NS" | k apply -f - >/dev/null
}
sa_ks
nosa() {
	[ "$(cond kustomization nosa Ready status)" = False ] &&
		cond kustomization nosa Ready message | tee /dev/stderr | grep -q "system:serviceaccount:$NS:ghost"
}
check "spec.serviceAccountName without rights: refused, naming the account" poll 60 nosa

k delete fluxconfiguration,kustomization -n "$NS" --all --wait=false >/dev/null
tap_end
