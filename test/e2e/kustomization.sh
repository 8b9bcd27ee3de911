#!/bin/bash
# kustomization.sh: cflux-operator's Kustomization reconciler against the
# real control plane and git server (TAP).
#
# A GitRepository and Kustomizations as a Flux user writes them: the
# applied objects with owner labels and the provenance annotation, Flux's
# conditions and inventory, post-build substitution, a new commit applied
# and what left Git pruned, a broken revision refused with the file and
# object named while the last good one stays, health checks, dependsOn
# (waiting, and a cycle), and garbage collection on deletion.
set -u
NAME=ks
# shellcheck source=test/e2e/lib/operator.bash
. "$(dirname "$0")/lib/operator.bash"

check "CRDs installed" crd_install source.toolkit.fluxcd.io_gitrepositories.yaml \
	kustomize.toolkit.fluxcd.io_kustomizations.yaml
k create namespace "$NS" >/dev/null

# ------------------------------------------------------------ the repository
mkdir -p "$W/src/app" "$W/src/broken" "$W/src/ok"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n  namespace: %s\n' "$NS" >"$W/src/ok/cm.yaml"
# ConfigMaps a finalizer holds, for deletionPolicy WaitForTermination.
for d in held held2; do
	mkdir -p "$W/src/$d"
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  finalizers: [cflux.io/e2e-hold]\n' \
		"$d" >"$W/src/$d/cm.yaml"
done
cat >"$W/src/app/app.yaml" <<EOF
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: $NS
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
        image: cflux.local/testapp:\${TAG:=0}
        ports: [{containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /, port: 8080}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: $NS
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
EOF
# A Deployment whose container exits at once (the Kustomization must say so).
mkdir -p "$W/src/crash"
cat >"$W/src/crash/crash.yaml" <<EOF
apiVersion: apps/v1
kind: Deployment
metadata:
  name: crasher
  namespace: $NS
spec:
  replicas: 1
  selector:
    matchLabels: {app: crasher}
  template:
    metadata:
      labels: {app: crasher}
    spec:
      containers:
      - name: crasher
        image: cflux.local/testapp:1
        command: [sh, -c, "echo starting; exit 3"]
        readinessProbe:
          httpGet: {path: /, port: 8080}
EOF
cat >"$W/src/app/config.yaml" <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: $NS
data:
  greeting: \${GREETING}
  region: \${REGION}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: extra
  namespace: $NS
data:
  a: "1"
EOF
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [oops\n' >"$W/src/broken/bad.yaml"
# A kustomize base and overlay (a generated ConfigMap the Deployment refers to).
mkdir -p "$W/src/kz/base" "$W/src/kz/overlay"
cat >"$W/src/kz/base/deploy.yaml" <<EOF
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 0
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
      - name: api
        image: nginx:1.27
        envFrom:
        - configMapRef: {name: api-env}
EOF
printf 'resources: [deploy.yaml]\nconfigMapGenerator:\n- name: api-env\n  literals: [MODE=base]\n' >"$W/src/kz/base/kustomization.yaml"
printf 'resources: [../base]\nnamePrefix: ov-\nconfigMapGenerator:\n- name: api-env\n  behavior: merge\n  literals: [MODE=overlay]\n' >"$W/src/kz/overlay/kustomization.yaml"
SHA1=$(bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src")
k create configmap -n "$NS" vars --from-literal=REGION=eu-west >/dev/null

check "operator starts" start_operator
jp() { jpk kustomization "$@"; }

gitrepo src "$GIT_HTTP_URL/$REPO.git" "ref:" "  branch: main" >/dev/null
kustomization app src ./app "prune: true" "wait: true" "postBuild:" \
	"  substitute: {GREETING: hello, TAG: '1'}" \
	"  substituteFrom: [{kind: ConfigMap, name: vars}]" >/dev/null

applied_msg() { [ "$(cond kustomization app Ready message)" = "Applied revision: main@sha1:$1" ]; }
check "Ready=True 'Applied revision: main@sha1:<sha>'" poll 60 applied_msg "$SHA1"
check "Healthy=True after wait: true" bash -c "[ \"$(cond kustomization app Healthy status)\" = True ]"
if [ "$OP_MODE" = cluster ]; then
	check "... because the Deployment's two pods are Running and Ready" bash -c \
		"[ \"\$($KUBECTL get deploy -n $NS web -o jsonpath='{.status.readyReplicas}')\" = 2 ] && [ \"\$($KUBECTL get pods -n $NS -l app=web --field-selector=status.phase=Running -o name | wc -l)\" = 2 ]"
	check "the Service answers from a pod, through cluster DNS" bash -c \
		"$KUBECTL run -n $NS dnscheck --image=cflux.local/testapp:1 --restart=Never --command -- wget -q -O- http://web.$NS.svc.cluster.local/ >/dev/null && for i in \$(seq 1 60); do [ \"\$($KUBECTL get pod -n $NS dnscheck -o jsonpath='{.status.phase}')\" = Succeeded ] && exit 0; sleep 0.5; done; $KUBECTL logs -n $NS dnscheck; exit 1"
fi
check "lastAppliedRevision, lastAttemptedRevision, observedGeneration" bash -c \
	"[ \"$(jp app '{.status.lastAppliedRevision}')\" = main@sha1:$SHA1 ] && [ \"$(jp app '{.status.lastAttemptedRevision}')\" = main@sha1:$SHA1 ] && [ \"$(jp app '{.status.observedGeneration}')\" = 1 ]"
inventory() { jp app '{range .status.inventory.entries[*]}{.id}{" "}{.v}{"\n"}{end}'; }
want_inv="$NS""_extra__ConfigMap v1
$NS""_settings__ConfigMap v1
$NS""_web__Service v1
$NS""_web_apps_Deployment v1"
check "inventory in Flux's format and order" bash -c "[ \"\$1\" = \"\$2\" ]" _ "$(inventory)" "$want_inv"
check "owner labels on applied objects" bash -c \
	"[ \"\$($KUBECTL get deploy -n $NS web -o jsonpath='{.metadata.labels.kustomize\.toolkit\.fluxcd\.io/name}/{.metadata.labels.kustomize\.toolkit\.fluxcd\.io/namespace}')\" = app/$NS ]"
check "provenance: the commit and file:line on the object" bash -c \
	"[ \"\$($KUBECTL get deploy -n $NS web -o jsonpath='{.metadata.annotations.cflux\.io/source-revision} {.metadata.annotations.cflux\.io/source-path}')\" = 'main@sha1:$SHA1 app/app.yaml:1' ]"
check "postBuild: substitute, substituteFrom and \${var:=default}" bash -c \
	"[ \"\$($KUBECTL get cm -n $NS settings -o jsonpath='{.data.greeting}/{.data.region}')\" = hello/eu-west ] && [ \"\$($KUBECTL get deploy -n $NS web -o jsonpath='{.spec.template.spec.containers[0].image}')\" = cflux.local/testapp:1 ]"
check "field manager kustomize-controller" bash -c \
	"$KUBECTL get cm -n $NS extra -o jsonpath='{.metadata.managedFields[*].manager}' | grep -qw kustomize-controller"

# ------------------------------------------------------------ a new commit
cat >"$W/src/app/config.yaml" <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: $NS
data:
  greeting: \${GREETING} again
  region: \${REGION}
EOF
SHA2=$(bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src")
k annotate gitrepository -n "$NS" src --overwrite reconcile.fluxcd.io/requestedAt=one >/dev/null
check "a new source revision is applied without touching the Kustomization" poll 60 applied_msg "$SHA2"
check "the ConfigMap that left Git is pruned" poll 20 bash -c "! $KUBECTL get cm -n $NS extra >/dev/null 2>&1"
check "the changed one is updated" bash -c \
	"[ \"\$($KUBECTL get cm -n $NS settings -o jsonpath='{.data.greeting}')\" = 'hello again' ]"
check "Events Progressing: the change set, and garbage collection's in an Event of its own, as Flux's" poll 10 bash -c \
	"$KUBECTL get events -n $NS --field-selector involvedObject.name=app,reason=Progressing -o jsonpath='{range .items[*]}{.message}{\"\\n\"}{end}' | grep -qx 'ConfigMap/$NS/extra deleted'"

# ------------------------------------------------------------ a broken revision
cat >>"$W/src/app/app.yaml" <<EOF
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: broken
  namespace: $NS
spec:
  replicas: lots
EOF
SHA3=$(bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src")
BROKEN_LINE=$(($(grep -n 'name: broken' "$W/src/app/app.yaml" | cut -d: -f1) - 3))
k annotate gitrepository -n "$NS" src --overwrite reconcile.fluxcd.io/requestedAt=two >/dev/null
refused() {
	[ "$(cond kustomization app Ready reason)" = ReconciliationFailed ] &&
		[ "$(jp app '{.status.lastAttemptedRevision}')" = "main@sha1:$SHA3" ] &&
		cond kustomization app Ready message | tee /dev/stderr | grep -q "Deployment/$NS/broken dry-run failed.*(from app/app.yaml:$BROKEN_LINE)"
}
check "an invalid object: Ready=False ReconciliationFailed naming it and its file:line" poll 60 refused
check "the last good revision stays applied and in status" bash -c \
	"[ \"$(jp app '{.status.lastAppliedRevision}')\" = main@sha1:$SHA2 ] && $KUBECTL get svc -n $NS web >/dev/null && ! $KUBECTL get deploy -n $NS broken >/dev/null 2>&1"

# ------------------------------------------------------------ build errors
kustomization bad src ./broken >/dev/null
badbuild() {
	[ "$(cond kustomization bad Ready reason)" = BuildFailed ] &&
		cond kustomization bad Ready message | tee /dev/stderr | grep -q "broken/bad.yaml"
}
check "a YAML error: Ready=False BuildFailed naming the file" poll 30 badbuild
kustomization nopath src ./nowhere >/dev/null
check "a missing path: ArtifactFailed 'kustomization path not found'" poll 30 bash -c \
	"[ \"\$($KUBECTL get kustomization -n $NS nopath -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].message}')\" = \"kustomization path not found: './nowhere'\" ]"

# ------------------------------------------------------------ health checks
kustomization hc src ./ok "healthChecks:" "- {apiVersion: apps/v1, kind: Deployment, name: ghost, namespace: $NS}" \
	"timeout: 2s" >/dev/null
healthfail() {
	[ "$(cond kustomization hc Ready reason)" = HealthCheckFailed ] &&
		cond kustomization hc Ready message | tee /dev/stderr | grep -q "Deployment/$NS/ghost status: 'NotFound'"
}
check "a health check that never passes: HealthCheckFailed naming the object" poll 40 healthfail

if [ "$OP_MODE" = cluster ]; then
	kustomization crash src ./crash "wait: true" "timeout: 15s" >/dev/null
	crashing() {
		[ "$(cond kustomization crash Ready reason)" = HealthCheckFailed ] &&
			cond kustomization crash Ready message | tee /dev/stderr |
			grep -qE "Deployment/$NS/crasher status: 'InProgress': pod crasher-[a-z0-9-]+: container crasher: (CrashLoopBackOff, last|terminated,) exit code 3 \(Error\)"
	}
	check "a crashing pod: HealthCheckFailed with the pod's reason and exit code" poll 60 crashing
fi

# ------------------------------------------------------------ dependsOn
kustomization after src ./ok "dependsOn: [{name: missing}]" >/dev/null
check "dependsOn a missing Kustomization: DependencyNotReady" poll 30 bash -c \
	"[ \"\$($KUBECTL get kustomization -n $NS after -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].reason}')\" = DependencyNotReady ]"
kustomization cyc-a src ./ok "dependsOn: [{name: cyc-b}]" >/dev/null
kustomization cyc-b src ./ok "dependsOn: [{name: cyc-a}]" >/dev/null
cycle() {
	[ "$(cond kustomization cyc-a Stalled status)" = True ] &&
		cond kustomization cyc-a Stalled message | tee /dev/stderr | grep -q "dependency cycle"
}
check "a dependsOn cycle: Stalled=True, the cycle named" poll 30 cycle

# ------------------------------------------------------------ refused fields
# A field cflux does not implement is never ignored: Stalled=True naming it
# (the list of every refused field is test/unit/test_ksfields.c).
kustomization remote src ./ok "kubeConfig: {configMapRef: {name: cloud-identity}}" >/dev/null
refused() {
	[ "$(cond kustomization remote Stalled status)" = True ] &&
		[ "$(cond kustomization remote Ready reason)" = UnsupportedField ] &&
		cond kustomization remote Stalled message | tee /dev/stderr | grep -q "spec.kubeConfig.configMapRef"
}
check "spec.kubeConfig.configMapRef: Stalled=True UnsupportedField naming it" poll 30 refused

# ------------------------------------------------------------ kustomize
# The overlay with Flux's spec fields on top; the oracle is the real
# kustomize building the same overlay with those fields written into it.
PATCH='[{"op": "replace", "path": "/spec/replicas", "value": 0}, {"op": "add", "path": "/spec/paused", "value": true}]'
kustomization kz src ./kz/overlay "prune: true" "targetNamespace: $NS" \
	"images: [{name: nginx, newTag: '1.29'}]" \
	"patches: [{target: {kind: Deployment}, patch: '$PATCH'}]" \
	"commonMetadata: {labels: {team: a}}" >/dev/null
kz_ready() { [ "$(cond kustomization kz Ready status)" = True ]; }
check "a kustomization.yaml overlay with spec images, patches, commonMetadata: Ready" poll 60 kz_ready
mkdir -p "$W/oracle/kz/overlay"
cp -r "$W/src/kz/base" "$W/oracle/kz/"
{
	cat "$W/src/kz/overlay/kustomization.yaml"
	printf 'namespace: %s\nimages:\n- name: nginx\n  newTag: "1.29"\n' "$NS"
	printf "patches:\n- target: {kind: Deployment}\n  patch: '%s'\n" "$PATCH"
} >"$W/oracle/kz/overlay/kustomization.yaml"
same_as_kustomize() {
	"$KUSTOMIZE" build "$W/oracle/kz/overlay" >"$W/oracle.yaml" || return 1
	python3 - "$W/oracle.yaml" "$NS" "$KUBECTL" <<'PY'
import json, subprocess, sys
docs = [d for d in open(sys.argv[1]).read().split("\n---\n") if d.strip()]
ok = True
def sub(a, b):  # everything kustomize set is there (the apiserver adds defaults)
    if isinstance(a, dict):
        return isinstance(b, dict) and all(k in b and sub(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(sub(x, y) for x, y in zip(a, b))
    return a == b
for d in docs:
    want = json.loads(subprocess.check_output([sys.argv[3], "create", "--dry-run=client", "-o", "json", "-f", "-"], input=d.encode()))
    kind, name = want["kind"], want["metadata"]["name"]
    got = json.loads(subprocess.check_output([sys.argv[3], "get", "-n", sys.argv[2], kind, name, "-o", "json"]))
    for field in ("data", "spec"):
        if field in want:
            same = want[field] == got.get(field) if field == "data" else sub(want[field], got.get(field))
            print("%s/%s %s: %s" % (kind, name, field, "same" if same else "DIFFERENT %r != %r" % (want[field], got.get(field))))
            ok = ok and same
    if got["metadata"].get("labels", {}).get("team") != "a":
        print("%s/%s: commonMetadata label missing" % (kind, name))
        ok = False
print("%d objects compared" % len(docs))
sys.exit(0 if ok and len(docs) == 2 else 1)
PY
}
check "the applied objects are what kustomize builds (hashed ConfigMap name, image, patch)" same_as_kustomize
check "provenance: the Deployment's source-path is the base file" bash -c \
	"[ \"\$($KUBECTL get deploy -n $NS ov-api -o jsonpath='{.metadata.annotations.cflux\.io/source-path}')\" = kz/base/deploy.yaml:1 ]"

# ------------------------------------------------------------ older API versions
# Flux's deprecated v1beta2 is served (the same schema as v1), and what is
# written at it is reconciled as any Kustomization.
printf '%s\n' "apiVersion: kustomize.toolkit.fluxcd.io/v1beta2" "kind: Kustomization" \
	"metadata: {name: old-api, namespace: $NS}" \
	"spec: {interval: 10m, prune: true, path: ./ok, sourceRef: {kind: GitRepository, name: src}}" |
	k apply -f - >/dev/null 2>&1
check "a Kustomization written at v1beta2 is reconciled: Ready" poll 60 bash -c \
	"[ \"\$($KUBECTL get kustomization -n $NS old-api -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}')\" = True ]"
k delete kustomization -n "$NS" old-api --wait=false >/dev/null 2>&1

# ------------------------------------------------------------ deletion
# WaitForTermination: the finalizer stays while what was deleted is
# Terminating, and goes once it is gone; after spec.timeout (20s here) it
# goes anyway, with a Warning.
kustomization held src ./held "prune: true" "targetNamespace: $NS" "deletionPolicy: WaitForTermination" >/dev/null
kustomization held2 src ./held2 "prune: true" "targetNamespace: $NS" "deletionPolicy: WaitForTermination" >/dev/null
both_ready() { [ "$(cond kustomization held Ready status)/$(cond kustomization held2 Ready status)" = True/True ]; }
check "WaitForTermination: two Kustomizations applying finalizer-held ConfigMaps are Ready" poll 60 both_ready
k delete kustomization -n "$NS" held held2 --wait=false >/dev/null
terminating() { [ -n "$(k get cm -n "$NS" held -o jsonpath='{.metadata.deletionTimestamp}' 2>/dev/null)" ]; }
check "WaitForTermination: the deleted ConfigMap is Terminating" poll 30 terminating
sleep 3
check "WaitForTermination: the Kustomization waits for it (still there, being deleted)" bash -c \
	"[ -n \"\$($KUBECTL get kustomization -n $NS held -o jsonpath='{.metadata.deletionTimestamp}')\" ]"
k patch cm -n "$NS" held --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null
check "WaitForTermination: the Kustomization goes once the ConfigMap is gone" poll 30 bash -c \
	"! $KUBECTL get kustomization -n $NS held >/dev/null 2>&1"
ev() { # NAME: the Kustomization's Events, "type message" one per line
	k get events -n "$NS" --field-selector "involvedObject.kind=Kustomization,involvedObject.name=$1" \
		-o jsonpath='{range .items[*]}{.type} {.message}{"\n"}{end}'
}
check "deletion: the change set as a Normal Event (ConfigMap/$NS/held deleted)" \
	grep -qx "Normal ConfigMap/$NS/held deleted" <(ev held)
check "WaitForTermination: past spec.timeout the Kustomization goes, with a Warning" poll 60 bash -c \
	"! $KUBECTL get kustomization -n $NS held2 >/dev/null 2>&1"
check "WaitForTermination: the Warning says so" \
	grep -qx "Warning failed to wait for resources termination" <(ev held2)
k patch cm -n "$NS" held2 --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1
k delete kustomization -n "$NS" hc after cyc-a cyc-b bad nopath kz crash --wait=false >/dev/null 2>&1
k delete kustomization -n "$NS" app --wait=false >/dev/null
check "deleting a prune: true Kustomization removes what it applied" poll 30 bash -c \
	"! $KUBECTL get kustomization -n $NS app >/dev/null 2>&1 && ! $KUBECTL get deploy -n $NS web >/dev/null 2>&1 && ! $KUBECTL get cm -n $NS settings >/dev/null 2>&1"

stop_operator
check "SIGTERM: clean exit 0" test "$OP_RC" = 0
tap_end
