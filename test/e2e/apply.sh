#!/bin/bash
# apply.sh: what a Kustomization does to the cluster beyond the happy path
# (TAP): CRDs and their instances in one revision, drift reverted,
# `prune: disabled` honoured, an immutable field refused and then
# recreated with `force`, and a dependsOn chain three deep reconciled in
# order.
set -u
NAME=apply
# shellcheck source=test/e2e/lib/operator.bash
. "$(dirname "$0")/lib/operator.bash"

k create namespace "$NS" >/dev/null
GROUP="$NS.cflux.test"

# ------------------------------------------------------------ the repository
mkdir -p "$W/src/crd" "$W/src/cfg" "$W/src/chain/a" "$W/src/chain/b" "$W/src/chain/c"
cat >"$W/src/crd/crd.yaml" <<EOF
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.$GROUP
spec:
  group: $GROUP
  names: {kind: Gadget, plural: gadgets, singular: gadget}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
EOF
cat >"$W/src/crd/gadget.yaml" <<EOF
apiVersion: $GROUP/v1
kind: Gadget
metadata:
  name: g1
  namespace: $NS
spec:
  size: 3
EOF
cfg() { # the cfg/ directory: a mutable ConfigMap, a kept one, an immutable one
	cat >"$W/src/cfg/cm.yaml" <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: drift
  namespace: $NS
data:
  key: from-git
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: frozen
  namespace: $NS
immutable: true
data:
  key: $1
EOF
	if [ "$2" = keep ]; then
		cat >"$W/src/cfg/kept.yaml" <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: kept
  namespace: $NS
  annotations:
    kustomize.toolkit.fluxcd.io/prune: disabled
EOF
	else
		rm -f "$W/src/cfg/kept.yaml"
	fi
}
cfg v1 keep
for d in a b c; do
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: chain-%s\n  namespace: %s\n' "$d" "$NS" >"$W/src/chain/$d/cm.yaml"
done
bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src" >/dev/null

check "operator starts" start_operator
gitrepo src "$GIT_HTTP_URL/$REPO.git" "ref:" "  branch: main" >/dev/null
ready() { [ "$(cond kustomization "$1" Ready status)" = True ]; }
again() { k annotate kustomization -n "$NS" "$1" --overwrite "reconcile.fluxcd.io/requestedAt=$2" >/dev/null; }

# ------------------------------------------------------------ CRDs and instances
kustomization crd src ./crd "prune: true" "wait: true" >/dev/null
check "a CRD and an instance of it in one revision: Ready" poll 60 ready crd
check "the Gadget exists with its spec" bash -c \
	"[ \"\$($KUBECTL get gadgets.$GROUP -n $NS g1 -o jsonpath='{.spec.size}')\" = 3 ]"

# ------------------------------------------------------------ drift
kustomization cfg src ./cfg "prune: true" >/dev/null
check "cfg Ready" poll 60 ready cfg
k patch configmap -n "$NS" drift --type=merge -p '{"data":{"key":"edited"}}' >/dev/null
again cfg drift
check "a kubectl edit is reverted at the next reconcile" poll 30 bash -c \
	"[ \"\$($KUBECTL get cm -n $NS drift -o jsonpath='{.data.key}')\" = from-git ]"

# ------------------------------------------------------------ prune: disabled
cfg v1 drop
bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src" >/dev/null
k annotate gitrepository -n "$NS" src --overwrite reconcile.fluxcd.io/requestedAt=prune >/dev/null
sha_now() { git --git-dir="$GIT_ROOT/$REPO.git" rev-parse main; }
at_head() { [ "$(jpk kustomization "$1" '{.status.lastAppliedRevision}')" = "main@sha1:$(sha_now)" ]; }
check "the revision without kept.yaml is applied" poll 60 at_head cfg
check "an object annotated prune: disabled stays when it leaves Git" k get configmap -n "$NS" kept

# ------------------------------------------------------------ immutable fields
cfg v2 drop
bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src" >/dev/null
k annotate gitrepository -n "$NS" src --overwrite reconcile.fluxcd.io/requestedAt=immutable >/dev/null
immutable() {
	[ "$(cond kustomization cfg Ready status)" = False ] &&
		cond kustomization cfg Ready message | tee /dev/stderr | grep -q "ConfigMap/$NS/frozen" &&
		cond kustomization cfg Ready message | grep -qi "immutable"
}
check "an immutable field changed: Ready=False, the object and the reason named" poll 60 immutable
check "the old object is untouched" bash -c \
	"[ \"\$($KUBECTL get cm -n $NS frozen -o jsonpath='{.data.key}')\" = v1 ]"
k patch kustomization -n "$NS" cfg --type=merge -p '{"spec":{"force":true}}' >/dev/null
check "with force: true it is recreated and the Kustomization is Ready" poll 60 bash -c \
	"[ \"\$($KUBECTL get cm -n $NS frozen -o jsonpath='{.data.key}')\" = v2 ] && [ \"\$($KUBECTL get kustomization -n $NS cfg -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}')\" = True ]"

# ------------------------------------------------------------ dependsOn, three deep
# a waits on a health check of a ConfigMap that does not exist yet: b and c
# must wait for it, and apply nothing, until it is there.
kustomization chain-c src ./chain/c "dependsOn: [{name: chain-b}]" >/dev/null
kustomization chain-b src ./chain/b "dependsOn: [{name: chain-a}]" >/dev/null
kustomization chain-a src ./chain/a "timeout: 5s" \
	"healthChecks: [{apiVersion: v1, kind: ConfigMap, name: gate, namespace: $NS}]" >/dev/null
waiting() { [ "$(cond kustomization "$1" Ready reason)" = DependencyNotReady ]; }
check "while a is not healthy, b waits (DependencyNotReady)" poll 30 waiting chain-b
check "and c waits" poll 30 waiting chain-c
check "neither b's nor c's objects exist" bash -c \
	"! $KUBECTL get cm -n $NS chain-b >/dev/null 2>&1 && ! $KUBECTL get cm -n $NS chain-c >/dev/null 2>&1"
k create configmap -n "$NS" gate >/dev/null
check "once a is healthy, a, b and c become Ready" poll 60 bash -c \
	"for x in a b c; do [ \"\$($KUBECTL get kustomization -n $NS chain-\$x -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}')\" = True ] || exit 1; done"
order() { # Ready times: a <= b <= c
	local ta tb tc
	ta=$(cond kustomization chain-a Ready lastTransitionTime)
	tb=$(cond kustomization chain-b Ready lastTransitionTime)
	tc=$(cond kustomization chain-c Ready lastTransitionTime)
	echo "a $ta b $tb c $tc"
	[[ ! "$tb" < "$ta" ]] && [[ ! "$tc" < "$tb" ]]
}
check "in order" order

k delete kustomization -n "$NS" --all --wait=false >/dev/null
k delete crd "gadgets.$GROUP" --wait=false >/dev/null 2>&1
tap_end
