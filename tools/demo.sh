#!/bin/bash
# demo.sh: the product's main job on a local control plane (make demo).
#
#   1. start (or reuse) the local control plane (with its node) and git server;
#   2. build the operator's image (make image), push it to the local
#      registry and `helm install` the chart, as a user would;
#   3. push a small app (a namespace, a Deployment of two replicas of the
#      test app, a Service, a ConfigMap) to a local Git repository;
#   4. apply a FluxConfiguration for it, as an Azure user would (the
#      properties of `az k8s-configuration flux create`), and show the
#      Flux objects it creates and `kubectl get` turning Compliant;
#   5. push a change and show the new revision applied, and the
#      annotation on the object that names the commit and file.
#
# The operator keeps running in the cluster; the control plane stays up for
# you to explore (`. build/cluster/env; kubectl get ks -A`) until
# `make cluster-down`.  Scratch files: build/demo/.
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
BIN=${BIN:-bin}
W=$repo/build/demo
CD=${CFLUX_CLUSTER_DIR:-$repo/build/cluster}
NS=demo
APP_NS=demo-app
OP_NS=flux-system

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if ! bash -c ". '$CD/env' 2>/dev/null && curl -fsS --max-time 3 --cacert \"\$CLUSTER_CA\" \"\$APISERVER_URL/readyz\"" >/dev/null 2>&1; then
	say "starting the local control plane, its node and the source servers (first time: builds them, ~12 min)"
	make -s cluster-up
fi
# shellcheck disable=SC1091
. "$CD/env"
# shellcheck disable=SC1091
. "$CD/servers.env"
# shellcheck disable=SC1091
. "$repo/test/cluster/env.sh"
k() { "$KUBECTL" "$@"; }

rm -rf "$W"
mkdir -p "$W/src/app" "$W/data"

[ -n "${NODE_NAME:-}" ] || { echo "demo: this control plane has no node (CFLUX_NODE=0?): make cluster-down, then make demo" >&2; exit 1; }

# A previous demo: its objects go while its operator still runs (their
# finalizers honoured), then the operator.
if k get namespace "$NS" >/dev/null 2>&1; then
	say "removing the previous demo"
	k delete fluxconfigurations --all -n "$NS" --wait=true --timeout=60s >/dev/null 2>&1
	for o in $(k get fluxconfigurations,gitrepositories,kustomizations -n "$NS" -o name 2>/dev/null); do
		k patch -n "$NS" "$o" --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null
	done
	k delete namespace "$NS" "$APP_NS" --ignore-not-found --wait=true --timeout=60s >/dev/null
fi
"$HELM" uninstall cflux -n "$OP_NS" --wait >/dev/null 2>&1 || true

say "pushing the sample app to $GIT_HTTP_URL/demo.git"
cat >"$W/src/app/namespace.yaml" <<EOF
apiVersion: v1
kind: Namespace
metadata:
  name: $APP_NS
EOF
cat >"$W/src/app/app.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: demo-app
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: cflux.local/testapp:1
        ports: [{containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /, port: 8080}
          periodSeconds: 2
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: demo-app
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  namespace: demo-app
data:
  greeting: ${GREETING:=hello}
EOF
rm -rf "$GIT_ROOT/demo.git"
SHA=$(bash test/cluster/mkrepo.sh demo "$W/src")
echo "commit $SHA"

say "building the operator's image (make image) and pushing it to the local registry"
make -s build
digest=$(BIN=$BIN bash tools/image.sh)
# shellcheck disable=SC1091
. build/image/cflux-operator.env
echo "$CFLUX_IMAGE_REPOSITORY@$digest"

say "helm install cflux charts/cflux -n $OP_NS"
"$HELM" install cflux charts/cflux -n "$OP_NS" --create-namespace \
	--set image.repository="$CFLUX_IMAGE_REPOSITORY" --set image.digest="$digest" --wait --timeout=120s 2>&1 |
	grep -v 'found symbolic link'
k get pods -n "$OP_NS" -o wide
k create namespace "$NS" --dry-run=client -o yaml | k apply -f - >/dev/null

say "applying a FluxConfiguration (Azure's fluxConfigurations properties)"
k apply -f - <<EOF
apiVersion: clusterconfig.cflux.io/v1
kind: FluxConfiguration
metadata:
  name: demo
  namespace: $NS
spec:
  scope: cluster
  sourceKind: GitRepository
  gitRepository:
    url: $GIT_HTTP_URL/demo.git
    syncIntervalInSeconds: 60
    repositoryRef:
      branch: main
  kustomizations:
    app:
      path: ./app
      prune: true
      wait: true
      timeoutInSeconds: 120
      postBuild:
        substitute:
          GREETING: "hello from cflux"
EOF
for i in $(seq 1 240); do
	[ "$(k get -n $NS fluxconfiguration demo -o jsonpath='{.status.complianceState}')" = Compliant ] && break
	sleep 0.5
done
k get -n "$NS" fluxconfigurations
echo
k get -n "$NS" gitrepositories,kustomizations
say "what was applied (as $NS's flux-applier, which the operator set up as Azure's agent does)"
k get -n "$APP_NS" deployments,services,configmaps -l kustomize.toolkit.fluxcd.io/name=demo-app
echo
k get -n "$APP_NS" pods -o wide
echo
echo "web-config greeting: $(k get -n $APP_NS configmap web-config -o jsonpath='{.data.greeting}')"
echo "deployed from:       $(k get -n $APP_NS deployment web -o jsonpath='{.metadata.annotations.cflux\.io/source-revision} {.metadata.annotations.cflux\.io/source-path}')"

say "pushing a change: the Service goes, the ConfigMap changes"
sed -i 's/greeting: .*/greeting: "${GREETING} (v2)"/' "$W/src/app/app.yaml"
awk 'BEGIN{RS="---\n"; ORS="---\n"} !/kind: Service/' "$W/src/app/app.yaml" | sed '$ d' >"$W/app.yaml"
mv "$W/app.yaml" "$W/src/app/app.yaml"
SHA2=$(bash test/cluster/mkrepo.sh demo "$W/src")
echo "commit $SHA2"
k annotate -n "$NS" gitrepository demo --overwrite "reconcile.fluxcd.io/requestedAt=$(date +%s)" >/dev/null
for i in $(seq 1 120); do
	[ "$(k get -n $NS fluxconfiguration demo -o jsonpath='{.status.sourceSyncedCommitId}')" = "main@sha1:$SHA2" ] &&
		[ "$(k get -n $NS kustomization demo-app -o jsonpath='{.status.lastAppliedRevision}')" = "main@sha1:$SHA2" ] &&
		break
	sleep 0.5
done
k get -n "$NS" fluxconfigurations
echo
k get -n "$NS" kustomizations
echo
echo "web-config greeting: $(k get -n $APP_NS configmap web-config -o jsonpath='{.data.greeting}')"
echo "service web:         $(k get -n $APP_NS service web -o name 2>&1 | tail -1)"
echo "inventory:"
k get -n "$NS" kustomization demo-app -o jsonpath='{range .status.inventory.entries[*]}  {.id}{"\n"}{end}'

say "the operator and the app, running"
k get pods -n "$OP_NS" -l app.kubernetes.io/name=cflux
k get pods -n "$APP_NS"

say "done"
echo "The operator runs in the cluster: . build/cluster/env; kubectl logs -n $OP_NS deploy/cflux-operator"
echo "The control plane is still up: kubectl get ks,gitrepo -A"
echo "Stop it with: make cluster-down"
