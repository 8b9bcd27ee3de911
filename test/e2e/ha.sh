#!/bin/bash
# ha.sh: two replicas with leader election (TAP).  The chart with
# replicas: 2: one pod leads, the other waits.  A change is pushed and the
# leader pod deleted while the change is being reconciled: the other pod
# takes over within the lease duration (35 s), the change is applied
# exactly once (the apiserver's audit log counts the writes of the object),
# and the Events of the change are recorded exactly once (none lost with
# the leader, none doubled by its successor).  Cluster mode only.
set -u
NAME=ha
# shellcheck source=test/e2e/lib/operator.bash
. "$(dirname "$0")/lib/operator.bash"

cluster_only "two replicas need the operator in the cluster"
LEASE_S=35

k create namespace "$NS" >/dev/null
mkdir -p "$W/src/app"
cm() { printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: %s\ndata:\n  v: "%s"\n' "$NS" "$1" >"$W/src/app/cm.yaml"; }
cm 1
SHA1=$(bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src")

check "helm install with replicas: 2: both pods Ready, one holds the lease" start_operator --replicas=2
holder() { k get lease -n "$NS" cflux-operator-leader-election -o jsonpath='{.spec.holderIdentity}'; }
LEADER=$(holder)
LEADER_POD=${LEADER%_*}
check "the leader is one of the two pods, the other is Ready and waiting" bash -c \
	"$KUBECTL get pod -n $NS $LEADER_POD >/dev/null && [ \$($KUBECTL get pods -n $NS -l app.kubernetes.io/name=cflux -o name | wc -l) = 2 ]"

gitrepo src "$GIT_HTTP_URL/$REPO.git" "ref:" "  branch: main" >/dev/null
kustomization app src ./app "prune: true" >/dev/null
applied() { [ "$(cond kustomization app Ready message)" = "Applied revision: main@sha1:$1" ]; }
check "the leader applies the first revision" poll 60 applied "$SHA1"

# Writes of the ConfigMap (not dry runs) in the audit log.
writes() {
	grep -F "\"requestURI\":\"/api/v1/namespaces/$NS/configmaps/app" "$AUDIT_LOG" |
		grep -vF 'dryRun=All' | grep -cE '"verb":"(create|update|patch)".*"code":20[01]'
}
before=$(writes)

# ------------------------------------------------------------ the handover
cm 2
SHA2=$(bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src")
k annotate gitrepository -n "$NS" src --overwrite reconcile.fluxcd.io/requestedAt=ha >/dev/null
t0=$(date +%s.%N)
k delete pod -n "$NS" "$LEADER_POD" --wait=false >/dev/null
new_leader() { local h; h=$(holder); [ -n "$h" ] && [ "$h" != "$LEADER" ]; }
poll 60 new_leader
t1=$(date +%s.%N)
took=$(python3 -c "print('%.1f' % ($t1 - $t0))")
check "the other pod leads within the lease duration (${took} s < ${LEASE_S} s)" bash -c \
	"new_leader() { h=\$($KUBECTL get lease -n $NS cflux-operator-leader-election -o jsonpath='{.spec.holderIdentity}'); [ -n \"\$h\" ] && [ \"\$h\" != '$LEADER' ]; }; new_leader && python3 -c 'import sys; sys.exit(0 if $took < $LEASE_S else 1)'"
check "the change is applied after the handover" poll 60 applied "$SHA2"
check "the ConfigMap holds the new data" bash -c "[ \"\$($KUBECTL get cm -n $NS app -o jsonpath='{.data.v}')\" = 2 ]"
sleep 3
after=$(writes)
check "applied exactly once: one write of the object for the change (audit log: $before -> $after)" \
	test "$((after - before))" = 1
# The Events of KIND NAME with REASON, their counts added up.
events() {
	k get events -n "$NS" --field-selector "involvedObject.kind=$1,involvedObject.name=$2,reason=$3" \
		-o jsonpath='{range .items[*]}{.count}{"\n"}{end}' | awk '{ s += $1 } END { print s + 0 }'
}
two() { [ "$(events "$@")" = 2 ]; }
check "NewArtifact Events: two in all (the first revision, the change), none lost, none doubled" \
	poll 20 two GitRepository src NewArtifact
# Every reconcile that ends Ready records one, as kustomize-controller does
# (the new leader's first pass too), so: at least the two revisions'.
two_or_more() { [ "$(events "$@")" -ge 2 ]; }
check "ReconciliationSucceeded Events of the Kustomization: at least two (none lost)" \
	poll 20 two_or_more Kustomization app ReconciliationSucceeded
check "the deleted pod was replaced: two pods Ready again, one leading" poll 90 op_ready 2
tap_end
