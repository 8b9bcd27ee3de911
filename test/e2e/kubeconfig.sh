#!/bin/bash
# kubeconfig.sh: a Kustomization's spec.kubeConfig, applying to a second
# control plane (test/cluster/remote.sh: its own etcd and kube-apiserver)
# through a kubeconfig in a Secret, with Flux's semantics (TAP).
#
# The objects land in the remote cluster and not in this one; the health
# check watches the remote Deployment (HealthCheckFailed until its status,
# patched there, says it is available); prune deletes from the remote;
# the service account (serviceAccountName, else the chart's applier) is
# impersonated on the remote, whose RBAC decides; deletion prunes the
# remote.  The Secret is read as Flux reads it (key, else value, else
# value.yaml), with Flux's messages when it or its key is missing, and a
# kubeconfig that would read our files (tokenFile) is refused by name;
# kubeConfig.configMapRef (cloud identity) is Stalled UnsupportedField.
# A HelmRelease with the same kubeConfig installs into the remote: its
# objects and its release Secrets are there (the real helm lists it with
# the remote's kubeconfig), and deleting it uninstalls it there.
set -u

NAME=kubeconfig
# shellcheck source=test/e2e/lib/operator.bash
. "$(dirname "$0")/lib/operator.bash"

check "CRDs installed" crd_install source.toolkit.fluxcd.io_gitrepositories.yaml \
	kustomize.toolkit.fluxcd.io_kustomizations.yaml helm.toolkit.fluxcd.io_helmreleases.yaml \
	source.toolkit.fluxcd.io_ocirepositories.yaml source.toolkit.fluxcd.io_helmcharts.yaml
k create namespace "$NS" >/dev/null
RD=$W/remote
trap 'bash "$repo/test/cluster/remote.sh" stop "$RD" >/dev/null 2>&1; e2e_cleanup' EXIT
check "a second control plane starts" bash "$repo/test/cluster/remote.sh" start "$RD"
# shellcheck disable=SC1091
. "$RD/env"
r() { "$KUBECTL" --kubeconfig "$REMOTE_KUBECONFIG" "$@"; }
export -f r jpk cond poll
export REMOTE_KUBECONFIG

# The appliers this scenario impersonates on the remote: the chart's default
# one (cluster mode) with cluster-admin there, and a tenant confined to rapp.
r apply -f - >/dev/null <<EOF
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: applier}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
- {kind: User, name: "system:serviceaccount:$NS:flux-applier"}
---
apiVersion: v1
kind: Namespace
metadata: {name: rapp}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: tenant, namespace: rapp}
rules:
- {apiGroups: [""], resources: [configmaps], verbs: ["*"]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: tenant, namespace: rapp}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: tenant}
subjects:
- {kind: User, name: "system:serviceaccount:$NS:tenant"}
EOF
k create serviceaccount -n "$NS" tenant >/dev/null

mkdir -p "$W/src/remote" "$W/src/tenant" "$W/src/tenant-bad"
cat >"$W/src/remote/app.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata: {name: app, namespace: rapp}
data: {v: "v${V}"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: rapp}
spec:
  replicas: 0
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: cflux.local/none:1}]}
EOF
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: t1, namespace: rapp}\ndata: {v: "1"}\n' \
	>"$W/src/tenant/cm.yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: t2, namespace: default}\ndata: {v: "1"}\n' \
	>"$W/src/tenant-bad/cm.yaml"
bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src" main >/dev/null

check "operator starts" start_operator
gitrepo src "$GIT_HTTP_URL/$REPO.git" "ref: {branch: main}" >/dev/null
k create secret generic -n "$NS" remote-kc --from-file=value="$REMOTE_KUBECONFIG" >/dev/null
k create configmap -n "$NS" vars --from-literal=V=1 >/dev/null
kustomization remote src ./remote "prune: true" "wait: true" "timeout: 10s" \
	"kubeConfig: {secretRef: {name: remote-kc}}" \
	"postBuild: {substituteFrom: [{kind: ConfigMap, name: vars}]}" >/dev/null

check "applied to the remote cluster (substituteFrom read here): the ConfigMap and the Deployment" poll 60 bash -c \
	"[ \"\$(r get configmap -n rapp app -o jsonpath='{.data.v}')\" = v1 ] && r get deployment -n rapp web >/dev/null"
check "... and not to this one" bash -c "! k get namespace rapp >/dev/null 2>&1"
check "the health check waits on the remote Deployment: HealthCheckFailed naming it" poll 60 bash -c \
	"[ \"\$(cond kustomization remote Ready reason)\" = HealthCheckFailed ] && cond kustomization remote Ready message | grep -q 'Deployment/rapp/web'"
check "the inventory lists the remote objects" bash -c \
	"[ \"\$(jpk kustomization remote '{.status.inventory.entries[*].id}')\" = 'rapp_app__ConfigMap rapp_web_apps_Deployment' ]"
# No controllers run there: the test says the Deployment is available.
r patch deployment -n rapp web --subresource=status --type=merge -p \
	'{"status":{"observedGeneration":1,"replicas":0,"updatedReplicas":0,"conditions":[{"type":"Available","status":"True","reason":"MinimumReplicasAvailable","message":"ok","lastUpdateTime":"2026-01-01T00:00:00Z","lastTransitionTime":"2026-01-01T00:00:00Z"},{"type":"Progressing","status":"True","reason":"NewReplicaSetAvailable","message":"ok","lastUpdateTime":"2026-01-01T00:00:00Z","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}' >/dev/null
k annotate kustomization -n "$NS" remote --overwrite reconcile.fluxcd.io/requestedAt="$(date +%s%N)" >/dev/null
check "the remote Deployment available: Ready ReconciliationSucceeded" poll 60 bash -c \
	"[ \"\$(cond kustomization remote Ready reason)\" = ReconciliationSucceeded ]"

# ------------------------------------------------------------ prune
sed -i '/^---$/,$!d' "$W/src/remote/app.yaml"
bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src" main >/dev/null
k annotate gitrepository -n "$NS" src --overwrite reconcile.fluxcd.io/requestedAt="$(date +%s%N)" >/dev/null
check "a ConfigMap removed from git is pruned from the remote" poll 60 bash -c \
	"! r get configmap -n rapp app >/dev/null 2>&1 && r get deployment -n rapp web >/dev/null"

# ------------------------------------------------------------ impersonation there
kustomization tenant src ./tenant "prune: true" "serviceAccountName: tenant" \
	"kubeConfig: {secretRef: {name: remote-kc, key: value}}" >/dev/null
kustomization tenantbad src ./tenant-bad "serviceAccountName: tenant" \
	"kubeConfig: {secretRef: {name: remote-kc}}" >/dev/null
check "serviceAccountName is impersonated on the remote: allowed in rapp" poll 60 bash -c \
	"[ \"\$(cond kustomization tenant Ready status)\" = True ] && r get configmap -n rapp t1 >/dev/null"
check "... and refused by the remote's RBAC elsewhere, naming the account" poll 60 bash -c \
	"[ \"\$(cond kustomization tenantbad Ready status)\" = False ] && cond kustomization tenantbad Ready message | grep -q 'system:serviceaccount:$NS:tenant'"

# ------------------------------------------------------------ the Secret, as Flux reads it
kustomization nosecret src ./tenant "kubeConfig: {secretRef: {name: missing}}" >/dev/null
check "a missing Secret: Flux's message" poll 60 bash -c \
	"[ \"\$(cond kustomization nosecret Ready reason)\" = ReconciliationFailed ] && [ \"\$(cond kustomization nosecret Ready message)\" = \"unable to read KubeConfig secret '$NS/missing' error: secrets \\\"missing\\\" not found\" ]"
k create secret generic -n "$NS" nokey --from-literal=other=x >/dev/null
kustomization nokey src ./tenant "kubeConfig: {secretRef: {name: nokey}}" >/dev/null
kustomization wrongkey src ./tenant "kubeConfig: {secretRef: {name: remote-kc, key: config}}" >/dev/null
check "no value key: Flux's message" poll 60 bash -c \
	"[ \"\$(cond kustomization nokey Ready message)\" = \"KubeConfig secret '$NS/nokey' does not contain a 'value' key with a kubeconfig\" ]"
check "a named key that is absent: Flux's message" poll 60 bash -c \
	"[ \"\$(cond kustomization wrongkey Ready message)\" = \"KubeConfig secret '$NS/remote-kc' does not contain a 'config' key with a kubeconfig\" ]"
sed 's/^    token: .*/    tokenFile: \/var\/run\/secrets\/kubernetes.io\/serviceaccount\/token/' \
	"$REMOTE_KUBECONFIG" >"$W/filekc"
k create secret generic -n "$NS" filekc --from-file=value.yaml="$W/filekc" >/dev/null
kustomization filekc src ./tenant "kubeConfig: {secretRef: {name: filekc}}" >/dev/null
check "value.yaml read; a tokenFile (one of our files) is refused by name" poll 60 bash -c \
	"[ \"\$(cond kustomization filekc Ready reason)\" = ReconciliationFailed ] && cond kustomization filekc Ready message | grep -q \"user 'remote-admin' has 'tokenFile'\""
kustomization cmref src ./tenant "kubeConfig: {configMapRef: {name: cloud}}" >/dev/null
check "kubeConfig.configMapRef: Stalled UnsupportedField, naming it" poll 60 bash -c \
	"[ \"\$(cond kustomization cmref Stalled reason)\" = UnsupportedField ] && cond kustomization cmref Ready message | grep -q 'spec.kubeConfig.configMapRef'"
check "no Secret value in the conditions or Events" bash -c \
	"! { k get kustomizations -n $NS -o yaml; k get events -n $NS -o yaml; } | grep -qF \"$REMOTE_ADMIN_TOKEN\""

# ------------------------------------------------------------ a HelmRelease
[ -x "$HELM" ] || bash "$repo/test/cluster/build.sh" oracles >&2
mkdir -p "$W/pkg"
check "hrapp packaged and pushed with helm" bash -c \
	"'$HELM' package -d '$W/pkg' '$repo/test/data/helm/hrapp/chart' >/dev/null && '$HELM' push '$W/pkg/hrapp-0.1.0.tgz' 'oci://$REGISTRY_HOST/$NS' --plain-http"
k apply -f - >/dev/null <<EOF
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: chart, namespace: $NS}
spec:
  interval: 10m
  url: oci://$REGISTRY_HOST/$NS/hrapp
  ref: {tag: 0.1.0}
  layerSelector: {mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip, operation: copy}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web, namespace: $NS}
spec:
  interval: 10m
  timeout: 60s
  chartRef: {kind: OCIRepository, name: chart}
  targetNamespace: rapp
  storageNamespace: rapp
  install: {disableWait: true}
  kubeConfig: {secretRef: {name: remote-kc}}
EOF
check "a HelmRelease installs into the remote (Ready InstallSucceeded)" poll 90 bash -c \
	"[ \"\$(cond helmrelease web Ready reason)\" = InstallSucceeded ]"
check "... its release record is the remote's, and the real helm lists it there" bash -c \
	"r get secret -n rapp sh.helm.release.v1.rapp-web.v1 >/dev/null && '$HELM' --kubeconfig '$REMOTE_KUBECONFIG' list -n rapp -o json | python3 -c 'import json,sys; r=json.load(sys.stdin); assert [(x[\"name\"],x[\"status\"],x[\"chart\"][:12]) for x in r]==[(\"rapp-web\",\"deployed\",\"hrapp-0.1.0+\")], r'"
check "... its objects are in the remote, nothing here" bash -c \
	"r get configmap -n rapp rapp-web-config >/dev/null && r get deployment -n rapp rapp-web >/dev/null && ! k get namespace rapp >/dev/null 2>&1 && ! k get secrets -A -l owner=helm,name=rapp-web -o name | grep -q ."
k delete helmrelease -n "$NS" web --timeout=60s >/dev/null
check "deleting the HelmRelease uninstalls it from the remote" bash -c \
	"! r get secret -n rapp sh.helm.release.v1.rapp-web.v1 >/dev/null 2>&1 && ! r get configmap -n rapp rapp-web-config >/dev/null 2>&1"

# ------------------------------------------------------------ deletion prunes the remote
k delete kustomization -n "$NS" remote tenant --timeout=60s >/dev/null
check "deleting the Kustomizations deletes their objects from the remote" bash -c \
	"! r get deployment -n rapp web >/dev/null 2>&1 && ! r get configmap -n rapp t1 >/dev/null 2>&1"
check "no operator log line carries the remote's token" bash -c "! op_log | grep -qF \"$REMOTE_ADMIN_TOKEN\""

tap_end
