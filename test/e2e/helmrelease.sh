#!/bin/bash
# helmrelease.sh: cflux-operator's HelmRelease reconciler against the real
# control plane, its node and the real registry (TAP).
#
# A small chart of our own (test/data/helm/hrapp: a Deployment of the
# node's test image, a ConfigMap, a Service) is packaged and pushed with
# the real `helm push`; a HelmRelease with chartRef OCIRepository (the
# layer Helm pushes, selected and copied as Flux requires) installs it:
# real pods Ready, Released/Ready InstallSucceeded, the release Secret one
# the real helm CLI lists and reads (`helm list`, `helm history`, `helm get
# values|manifest`), the objects carrying Helm's ownership metadata and
# Flux's owner labels.  A reconcile that changes nothing writes no new
# revision.  A values change (valuesFrom a ConfigMap with targetPath, and
# inline values) upgrades to revision 2, revision 1 superseded.  A bad value fails:
# UpgradeFailed with the apiserver's reason, Stalled RetriesExceeded, the
# failed revision 3 recorded and revision 2 still deployed and running;
# with upgrade.remediation.retries the failure is rolled back (revision 5
# deploys revision 2's manifest, Remediated RollbackSucceeded), and
# rollback.recreate replaces the Deployment's pods; an upgrade that adds
# a ConfigMap and then fails its wait deletes it (upgrade.cleanupOnFail).  A field
# cflux does not implement is refused with Stalled naming it.  A chart
# with hooks runs them as Jobs on the node (install, then uninstall).
# A HelmRelease with chart.spec from a HelmRepository on the local Helm
# server installs, and a new chart version in its range upgrades it.
# Deleting the HelmRelease uninstalls: objects and release Secrets gone.
set -u

NAME=helmrel
# shellcheck source=test/e2e/lib/operator.bash
. "$(dirname "$0")/lib/operator.bash"

check "CRDs installed" crd_install helm.toolkit.fluxcd.io_helmreleases.yaml \
	source.toolkit.fluxcd.io_ocirepositories.yaml source.toolkit.fluxcd.io_helmcharts.yaml \
	source.toolkit.fluxcd.io_helmrepositories.yaml
k create namespace "$NS" >/dev/null
[ -x "$HELM" ] || bash "$repo/test/cluster/build.sh" oracles >&2

REG=$REGISTRY_HOST
R=$NAME-$$
h() { "$HELM" --kubeconfig "$KUBECONFIG" -n "$NS" "$@"; }
export -f h
export HELM KUBECONFIG
jp() { jpk helmrelease "$@"; }
hr_cond() { cond helmrelease "$1" "$2" "$3"; }
reconcile_now() { k annotate -n "$NS" --overwrite helmrelease "$1" "reconcile.fluxcd.io/requestedAt=$(date +%s%N)" >/dev/null; }
# wait_cond NAME SECONDS TYPE STATUS REASON
wait_cond() {
	poll "$2" bash -c "[ \"\$($KUBECTL get helmrelease -n $NS $1 -o jsonpath='{.status.conditions[?(@.type==\"$3\")].status}/{.status.conditions[?(@.type==\"$3\")].reason}')\" = '$4/$5' ]"
}
secret_status() { # RELEASE VERSION: the status label of a release record
	k get secret -n "$NS" "sh.helm.release.v1.$1.v$2" -o jsonpath='{.metadata.labels.status}' 2>/dev/null
}
export -f wait_cond secret_status poll
# hr NAME [extra spec lines]
hr() {
	{
		printf 'apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\n'
		printf 'metadata:\n  name: %s\n  namespace: %s\n' "$1" "$NS"
		printf 'spec:\n  interval: 10m\n  timeout: 60s\n'
		printf '  chartRef:\n    kind: OCIRepository\n    name: chart\n'
		shift
		for l in "$@"; do printf '  %s\n' "$l"; done
	} | k apply -f -
}

# ------------------------------------------------------------ the chart, pushed by helm
mkdir -p "$W/pkg"
check "helm package and helm push to the registry" bash -c \
	"h package -d '$W/pkg' '$repo/test/data/helm/hrapp/chart' && h push '$W/pkg/hrapp-0.1.0.tgz' 'oci://$REG/$R' --plain-http"
{
	printf 'apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\n'
	printf 'metadata:\n  name: chart\n  namespace: %s\n' "$NS"
	printf 'spec:\n  interval: 10m\n  url: oci://%s/%s/hrapp\n  ref:\n    tag: 0.1.0\n' "$REG" "$R"
	printf '  layerSelector:\n    mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip\n    operation: copy\n'
} | k apply -f - >/dev/null

start_operator
check "OCIRepository of the chart Ready" poll 60 is_ready ocirepository chart True

# ------------------------------------------------------------ install
k create configmap -n "$NS" app-values --from-literal=message=from-configmap >/dev/null
hr app "values:" "  message: inline" >/dev/null
check "install: Released and Ready InstallSucceeded" wait_cond app 120 Ready True InstallSucceeded
check "Ready message names the release and the chart" bash -c \
	"[ \"\$($KUBECTL get helmrelease -n $NS app -o jsonpath='{.status.conditions[?(@.type==\"Released\")].message}')\" = 'Helm install succeeded for release $NS/app.v1 with chart hrapp@0.1.0+'\"\$($KUBECTL get ocirepository -n $NS chart -o jsonpath='{.status.artifact.revision}' | sed 's/.*@sha256://' | cut -c1-12)\" ]"
check "the Deployment's pods are Ready on the node" bash -c \
	"[ \"\$($KUBECTL get deployment -n $NS app -o jsonpath='{.status.readyReplicas}')\" = 1 ]"
check "the objects carry Helm's ownership and Flux's owner labels" bash -c \
	"[ \"\$($KUBECTL get configmap -n $NS app-config -o jsonpath='{.metadata.labels.app\.kubernetes\.io/managed-by} {.metadata.annotations.meta\.helm\.sh/release-name} {.metadata.labels.helm\.toolkit\.fluxcd\.io/name} {.data.message}')\" = 'Helm app app inline' ]"
check "status: history v1 deployed, lastAttemptedRevision with the OCI digest, config digest, action" bash -c \
	"[ \"\$($KUBECTL get helmrelease -n $NS app -o jsonpath='{.status.history[0].version}/{.status.history[0].status}/{.status.history[0].chartName}/{.status.lastAttemptedReleaseAction}/{.status.storageNamespace}/{.status.observedGeneration}')\" = '1/deployed/hrapp/install/$NS/1' ] && $KUBECTL get helmrelease -n $NS app -o jsonpath='{.status.lastAttemptedRevision} {.status.lastAttemptedConfigDigest}' | grep -Eq '^0\.1\.0\+[0-9a-f]{12} sha256:[0-9a-f]{64}$'"
check "helm list: app deployed, revision 1, chart hrapp" bash -c \
	"h list -o json | python3 -c 'import json,sys; r=[x for x in json.load(sys.stdin) if x[\"name\"]==\"app\"][0]; assert r[\"status\"]==\"deployed\" and r[\"revision\"]==\"1\" and r[\"chart\"].startswith(\"hrapp-0.1.0\"), r'"
check "helm get values: the composed values" bash -c "h get values app -o json | grep -q '\"message\":\"inline\"'"
check "helm get manifest: the chart's objects" bash -c \
	"h get manifest app | grep -q '^kind: Deployment' && h get manifest app | grep -q 'name: app-config'"
gen_rv=$(k get secret -n "$NS" sh.helm.release.v1.app.v1 -o jsonpath='{.metadata.resourceVersion}')
reconcile_now app
sleep 3
check "a reconcile that changes nothing writes no new revision" bash -c \
	"! $KUBECTL get secret -n $NS sh.helm.release.v1.app.v2 >/dev/null 2>&1 && [ \"\$($KUBECTL get secret -n $NS sh.helm.release.v1.app.v1 -o jsonpath='{.metadata.resourceVersion}')\" = '$gen_rv' ] && [ \"\$($KUBECTL get helmrelease -n $NS app -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}')\" = True ]"

# ------------------------------------------------------------ upgrade on a values change
hr app "values:" "  replicaCount: 2" "valuesFrom:" \
	"- kind: ConfigMap" "  name: app-values" "  valuesKey: message" "  targetPath: message" >/dev/null
check "upgrade: Ready UpgradeSucceeded" wait_cond app 120 Ready True UpgradeSucceeded
check "revision 2 deployed, revision 1 superseded" bash -c \
	"[ \"\$(secret_status app 2) \$(secret_status app 1)\" = 'deployed superseded' ]"
check "valuesFrom targetPath from the ConfigMap, inline replicaCount 2 running" bash -c \
	"[ \"\$($KUBECTL get configmap -n $NS app-config -o jsonpath='{.data.message}')\" = from-configmap ] && [ \"\$($KUBECTL get deployment -n $NS app -o jsonpath='{.status.readyReplicas}')\" = 2 ]"
check "helm history: 1 superseded, 2 deployed" bash -c \
	"h history app -o json | python3 -c 'import json,sys; r=json.load(sys.stdin); assert [(x[\"revision\"],x[\"status\"]) for x in r]==[(1,\"superseded\"),(2,\"deployed\")], r'"

# ------------------------------------------------------------ a bad value
hr app "values:" "  message: inline" "  replicaCount: not-a-number" >/dev/null
check "bad value: Released False UpgradeFailed, Stalled RetriesExceeded" bash -c \
	"wait_cond app 60 Released False UpgradeFailed && wait_cond app 10 Stalled True RetriesExceeded"
check "the message says what failed" bash -c \
	"$KUBECTL get helmrelease -n $NS app -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].message}' | grep -q '^Helm upgrade failed for release $NS/app with chart hrapp@0.1.0+.*Deployment'"
check "revision 3 failed, revision 2 still deployed and running" bash -c \
	"[ \"\$(secret_status app 3) \$(secret_status app 2)\" = 'failed deployed' ] && [ \"\$($KUBECTL get deployment -n $NS app -o jsonpath='{.status.readyReplicas}')\" = 2 ]"
check "helm list shows revision 3 failed" bash -c \
	"h list -a -o json | python3 -c 'import json,sys; r=[x for x in json.load(sys.stdin) if x[\"name\"]==\"app\"][0]; assert r[\"status\"]==\"failed\" and r[\"revision\"]==\"3\", r'"

# ------------------------------------------------------------ remediation: rollback
OLDPODS=$(k get pods -n "$NS" -l app.kubernetes.io/instance=app -o jsonpath='{.items[*].metadata.name}')
hr app "values:" "  message: inline" "  replicaCount: -1" "upgrade:" "  remediation:" "    retries: 1" \
	"rollback:" "  recreate: true" >/dev/null
check "with retries: the failed upgrade is rolled back (Remediated RollbackSucceeded)" \
	wait_cond app 90 Remediated True RollbackSucceeded
check "rollback: revision 4 failed, revision 5 deployed with revision 2's manifest" bash -c \
	"[ \"\$(secret_status app 4) \$(secret_status app 5) \$(secret_status app 2)\" = 'failed deployed superseded' ] && [ \"\$(h get manifest app --revision 5)\" = \"\$(h get manifest app --revision 2)\" ]"
recreated() { # each pod from before the rollback deleted (gone, or terminating)
	local p dt
	[ -n "$OLDPODS" ] || return 1
	for p in $OLDPODS; do
		dt=$(k get pod -n "$NS" "$p" -o jsonpath='{.metadata.deletionTimestamp}' 2>/dev/null) ||
			continue
		[ -n "$dt" ] || return 1
	done
}
export -f recreated
export OLDPODS
# Helm waits on the Deployment right after deleting its pods, as we do: its
# status may not yet show them gone, so the new pods' readiness is polled.
check "rollback.recreate: the Deployment's pods from before were deleted, 2 Ready anew" poll 90 bash -c \
	"recreated && [ \"\$($KUBECTL get deployment -n $NS app -o jsonpath='{.status.readyReplicas}')\" = 2 ]"

# ------------------------------------------------------------ upgrade.cleanupOnFail
# An upgrade that adds a ConfigMap and then fails its wait (an image that
# cannot be pulled, a 5 s timeout): the ConfigMap it created is deleted.
hr app "values:" "  message: inline" "  replicaCount: 2" "  image: cflux.local/testapp:absent" \
	"  extraObject: true" "upgrade:" "  timeout: 5s" "  cleanupOnFail: true" >/dev/null
check "cleanupOnFail: the upgrade creates app-extra, then waits for its Deployment" poll 90 \
	k get configmap -n "$NS" app-extra
check "... revision 6 fails its wait" poll 90 bash -c \
	"[ \"\$(secret_status app 6)\" = failed ]"
check "... which is deleted again, though revision 6's manifest holds it" bash -c \
	"h get manifest app --revision 6 | grep -q 'name: app-extra' && poll 30 bash -c '! $KUBECTL get configmap -n $NS app-extra >/dev/null 2>&1'"

# ------------------------------------------------------------ forceAt and resetAt
# Flux's request annotations, each handled once when it equals requestedAt.
hr rst "values:" "  message: rst" >/dev/null
check "forceAt/resetAt release installed" wait_cond rst 120 Ready True InstallSucceeded
k annotate -n "$NS" --overwrite helmrelease rst reconcile.fluxcd.io/forceAt=f1 \
	reconcile.fluxcd.io/requestedAt=f1 >/dev/null
check "forceAt equal to requestedAt: an in-sync release is upgraded (revision 2)" poll 60 bash -c \
	"[ \"\$(secret_status rst 2) \$($KUBECTL get helmrelease -n $NS rst -o jsonpath='{.status.lastHandledForceAt} {.status.conditions[?(@.type==\"Ready\")].reason}')\" = 'deployed f1 UpgradeSucceeded' ]"
k annotate -n "$NS" --overwrite helmrelease rst reconcile.fluxcd.io/requestedAt=f2 >/dev/null
check "... and only once: a later requestedAt alone upgrades nothing" bash -c \
	"poll 30 bash -c \"[ \\\"\\\$($KUBECTL get helmrelease -n $NS rst -o jsonpath='{.status.lastHandledReconcileAt}')\\\" = f2 ]\" && sleep 2 && ! $KUBECTL get secret -n $NS sh.helm.release.v1.rst.v3 >/dev/null 2>&1"
hr rst "values:" "  message: rst" "  replicaCount: not-a-number" >/dev/null
check "a bad value: Stalled RetriesExceeded after revision 3 failed" bash -c \
	"wait_cond rst 60 Stalled True RetriesExceeded && [ \"\$(secret_status rst 3)\" = failed ]"
k annotate -n "$NS" --overwrite helmrelease rst reconcile.fluxcd.io/resetAt=r1 \
	reconcile.fluxcd.io/requestedAt=r1 >/dev/null
check "resetAt: the failure counters reset, the upgrade is tried again (revision 4)" poll 60 bash -c \
	"[ \"\$(secret_status rst 4) \$($KUBECTL get helmrelease -n $NS rst -o jsonpath='{.status.lastHandledResetAt} {.status.upgradeFailures}')\" = 'failed r1 1' ]"

# ------------------------------------------------------------ remediation by uninstall
# A failed install with retries is uninstalled and installed again; after
# the last retry it is uninstalled once more (remediateLastFailure defaults
# to true with retries) and stalls.  Nothing of it is left behind.
hr rmi "values:" "  replicaCount: not-a-number" "install:" "  remediation:" "    retries: 1" >/dev/null
check "install remediation: Remediated UninstallSucceeded, then Stalled after 2 attempts" bash -c \
	"wait_cond rmi 90 Stalled True RetriesExceeded && [ \"\$($KUBECTL get helmrelease -n $NS rmi -o jsonpath='{.status.installFailures} {.status.conditions[?(@.type==\"Remediated\")].reason} {.status.conditions[?(@.type==\"Stalled\")].message}')\" = '2 UninstallSucceeded Failed to install after 2 attempt(s)' ]"
check "... each failed install uninstalled: no release record left" bash -c \
	"[ -z \"\$($KUBECTL get secret -n $NS -l owner=helm,name=rmi -o name)\" ]"
check "... two UninstallSucceeded Events" bash -c \
	"[ \"\$($KUBECTL get events -n $NS --field-selector involvedObject.name=rmi,reason=UninstallSucceeded -o jsonpath='{.items[*].count}' | tr ' ' '\\n' | awk '{s+=\$1} END {print s}')\" -ge 2 ]"
# Upgrade remediation by uninstall: the whole release goes, then installs again.
hr rmu "values:" "  message: first" "upgrade:" "  remediation:" "    retries: 1" \
	"    strategy: uninstall" >/dev/null
check "strategy uninstall: installed first" wait_cond rmu 120 Ready True InstallSucceeded
hr rmu "values:" "  message: first" "  replicaCount: not-a-number" "upgrade:" "  remediation:" \
	"    retries: 1" "    strategy: uninstall" >/dev/null
check "a failed upgrade is remediated by uninstalling the release (an UninstallSucceeded Event)" \
	poll 90 bash -c "$KUBECTL get events -n $NS --field-selector involvedObject.name=rmu,reason=UninstallSucceeded -o name | grep -q ."

check "... its objects were removed or recreated by the next install (no revision 2 left)" poll 60 bash -c \
	"! $KUBECTL get secret -n $NS sh.helm.release.v1.rmu.v2 >/dev/null 2>&1"

# ------------------------------------------------------------ the release target changes
hr tgt "values:" "  message: target" >/dev/null
check "target: installed as release tgt" wait_cond tgt 120 Ready True InstallSucceeded
hr tgt "releaseName: tgt-renamed" "values:" "  message: target" >/dev/null
moved() {
	[ "$(secret_status tgt-renamed 1)" = deployed ] &&
		[ -z "$($KUBECTL get secret -n "$NS" -l owner=helm,name=tgt -o name)" ] &&
		! $KUBECTL get configmap -n "$NS" tgt-config >/dev/null 2>&1 &&
		$KUBECTL get configmap -n "$NS" tgt-renamed-config >/dev/null 2>&1
}
check "a new releaseName uninstalls the old release (records and objects) and installs the new" \
	poll 120 moved
check "... with the history of the new release only" bash -c \
	"[ \"\$($KUBECTL get helmrelease -n $NS tgt -o jsonpath='{.status.history[*].name}')\" = tgt-renamed ]"

# ------------------------------------------------------------ install.createNamespace
hr newns "targetNamespace: $NS-new" "install:" "  createNamespace: true" "values:" "  message: elsewhere" >/dev/null
check "install.createNamespace: the target namespace made as Helm makes it (label name), the release in it" bash -c \
	"wait_cond newns 120 Ready True InstallSucceeded && [ \"\$($KUBECTL get namespace $NS-new -o jsonpath='{.metadata.labels.name}')\" = $NS-new ] && [ \"\$($KUBECTL get configmap -n $NS-new $NS-new-newns-config -o jsonpath='{.data.message}')\" = elsewhere ]"
k delete helmrelease -n "$NS" newns --wait=true --timeout=60s >/dev/null 2>&1
k delete namespace "$NS-new" --wait=false >/dev/null 2>&1

# ------------------------------------------------------------ a dependsOn cycle
# The same walk as the Kustomization's (it used to catch only self-dependence).
hr cyc-a "dependsOn:" "- name: cyc-b" >/dev/null
hr cyc-b "dependsOn:" "- name: cyc-a" >/dev/null
check "dependsOn a cycle of two: Stalled, naming the cycle" bash -c \
	"wait_cond cyc-a 30 Stalled True DependencyNotReady && $KUBECTL get helmrelease -n $NS cyc-a -o jsonpath='{.status.conditions[?(@.type==\"Stalled\")].message}' | grep -qF 'dependency cycle: $NS/cyc-a -> $NS/cyc-b -> $NS/cyc-a'"
k delete helmrelease -n "$NS" cyc-a cyc-b --wait=false >/dev/null

# ------------------------------------------------------------ fields cflux does not implement
hr other "install:" "  disableOpenAPIValidation: true" >/dev/null
check "an unsupported field: Stalled UnsupportedField naming it" bash -c \
	"wait_cond other 30 Stalled True UnsupportedField && $KUBECTL get helmrelease -n $NS other -o jsonpath='{.status.conditions[?(@.type==\"Stalled\")].message}' | grep -q 'spec.install.disableOpenAPIValidation is not supported'"
check "nothing installed for it" bash -c "! $KUBECTL get secret -n $NS sh.helm.release.v1.other.v1 >/dev/null 2>&1"

# ------------------------------------------------------------ hooks, run as Jobs on the node
# The hooks chart of helmhooks.sh (which compares it with helm-controller),
# here through the chart's operator and its RBAC.
check "the hooks chart pushed" bash -c \
	"h package -d '$W/pkg' '$repo/test/data/helm/hooks/chart' && h push '$W/pkg/hooks-0.1.0.tgz' 'oci://$REG/$R' --plain-http"
{
	printf 'apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\n'
	printf 'metadata:\n  name: hooks\n  namespace: %s\n' "$NS"
	printf 'spec:\n  interval: 10m\n  url: oci://%s/%s/hooks\n  ref:\n    tag: 0.1.0\n' "$REG" "$R"
	printf '  layerSelector:\n    mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip\n    operation: copy\n'
} | k apply -f - >/dev/null
{
	printf 'apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\n'
	printf 'metadata:\n  name: hooked\n  namespace: %s\n' "$NS"
	printf 'spec:\n  interval: 10m\n  timeout: 120s\n  chartRef:\n    kind: OCIRepository\n    name: hooks\n'
} | k apply -f - >/dev/null
check "hooks: installed, its pre-install Job run and deleted, its post-install Job complete" bash -c \
	"wait_cond hooked 180 Ready True InstallSucceeded && ! $KUBECTL get job -n $NS hooked-pre >/dev/null 2>&1 && [ \"\$($KUBECTL get job -n $NS hooked-post -o jsonpath='{.status.succeeded}')\" = 1 ] && [ \"\$($KUBECTL get configmap -n $NS hooked-hook-cm -o jsonpath='{.data.message}')\" = hello ]"
check "helm get hooks lists the chart's hooks" bash -c \
	"[ \"\$(h get hooks hooked | grep -c '^kind:')\" = 5 ]"
k delete helmrelease -n "$NS" hooked --wait=false >/dev/null
check "hooks: the uninstall runs the pre-delete Job" poll 120 bash -c \
	"! $KUBECTL get helmrelease -n $NS hooked >/dev/null 2>&1 && [ \"\$($KUBECTL get job -n $NS hooked-pre-delete -o jsonpath='{.status.succeeded}')\" = 1 ] && ! $KUBECTL get configmap -n $NS hooked-config >/dev/null 2>&1"
check "hooks: the chart's CRD stays after the uninstall, as Helm leaves it" k get crd hookwidgets.cflux.test
k delete crd hookwidgets.cflux.test --timeout=60s >/dev/null 2>&1

# ------------------------------------------------------------ chart.spec from the Helm repository server
# The most common shape: a HelmRepository (the local Helm server, charts
# packaged and indexed by helm) and a HelmRelease naming a chart and a
# version range in it; its HelmChart <ns>-web is made for it, and a new
# version in the range published to the repository upgrades the release.
PUB=$HELM_DIR/$NS
mkdir -p "$PUB" "$W/web"
cp -r "$repo/test/data/helm/hrapp/chart" "$W/web/hrapp"
publish() { # VERSION
	sed -i "s/^version: .*/version: $1/" "$W/web/hrapp/Chart.yaml" &&
		h package "$W/web/hrapp" -d "$PUB" >/dev/null && h repo index "$PUB" --url "$HELM_URL/$NS"
}
check "hrapp 0.1.0 packaged into the Helm repository" publish 0.1.0
printf 'apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: web\n  namespace: %s\nspec:\n  interval: 10m\n  url: %s/%s\n' \
	"$NS" "$HELM_URL" "$NS" | k apply -f - >/dev/null
k apply -f - >/dev/null <<YAML
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web, namespace: $NS}
spec:
  interval: 10m
  timeout: 60s
  chart:
    spec:
      chart: hrapp
      version: '>=0.1.0 <1.0.0'
      interval: 1m
      sourceRef: {kind: HelmRepository, name: web}
  values: {message: web}
YAML
check "chart.spec: installed from the Helm repository (Ready InstallSucceeded)" \
	wait_cond web 120 Ready True InstallSucceeded
check "... through the HelmChart $NS-web it made (Ready, chart version 0.1.0)" bash -c \
	"[ \"\$($KUBECTL get helmchart -n $NS $NS-web -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status} {.status.artifact.revision}') \$($KUBECTL get helmrelease -n $NS web -o jsonpath='{.status.helmChart} {.status.lastAttemptedRevision}')\" = 'True 0.1.0 $NS/$NS-web 0.1.0' ]"
check "... the release's ConfigMap says what its values say" bash -c \
	"[ \"\$($KUBECTL get configmap -n $NS web-config -o jsonpath='{.data.message}')\" = web ]"
check "hrapp 0.2.0 published" publish 0.2.0
k annotate -n "$NS" --overwrite helmrepository web "reconcile.fluxcd.io/requestedAt=$(date +%s%N)" >/dev/null
check "a new version in range upgrades the release: revision 2 with hrapp-0.2.0" poll 120 bash -c \
	"[ \"\$(secret_status web 2) \$($KUBECTL get helmrelease -n $NS web -o jsonpath='{.status.lastAttemptedRevision} {.status.conditions[?(@.type==\"Ready\")].reason}')\" = 'deployed 0.2.0 UpgradeSucceeded' ]"
check "helm history: hrapp-0.1.0 superseded, hrapp-0.2.0 deployed" bash -c \
	"h history web -o json | python3 -c 'import json,sys; r=json.load(sys.stdin); assert [(x[\"chart\"],x[\"status\"]) for x in r]==[(\"hrapp-0.1.0\",\"superseded\"),(\"hrapp-0.2.0\",\"deployed\")], r'"
k delete helmrelease -n "$NS" web --wait=false >/dev/null
check "deleting the HelmRelease uninstalls it and deletes its HelmChart" poll 60 bash -c \
	"! $KUBECTL get helmchart -n $NS $NS-web >/dev/null 2>&1 && ! $KUBECTL get configmap -n $NS web-config >/dev/null 2>&1"
rm -rf "$PUB"

# ------------------------------------------------------------ uninstall on delete
k delete helmrelease -n "$NS" app --wait=false >/dev/null
check "delete uninstalls: HelmRelease, objects and release Secrets gone" poll 60 bash -c \
	"! $KUBECTL get helmrelease -n $NS app >/dev/null 2>&1 && ! $KUBECTL get deployment,configmap,service -n $NS app app-config 2>/dev/null | grep -q app && [ -z \"\$($KUBECTL get secret -n $NS -l owner=helm,name=app -o name)\" ]"
check "helm list no longer shows it" bash -c "! h list -a -q | grep -qx app"

tap_end
