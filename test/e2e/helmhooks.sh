#!/bin/bash
# helmhooks.sh: a chart's Helm hooks under cflux-operator and under Flux's
# own helm-controller and source-controller, side by side (TAP).
#
# The chart (test/data/helm/hooks, `helm push`ed) has a pre-install/
# pre-upgrade Job of weight -5 deleted on success and on failure, a
# pre-install/pre-upgrade ConfigMap with no deletion policy (Helm's
# before-hook-creation), a post-install/post-upgrade Job, a pre-delete Job,
# a test Pod, a CRD in crds/ with a resource of its kind in templates/
# (created before the release's objects, left in place on uninstall), and
# a ConfigMap made from Helm's `lookup` of one in the namespace.  The
# Jobs run on the node.  Per side:
# install, an upgrade, an upgrade whose pre-upgrade Job fails, and the
# uninstall; after each, the release record (hooks' phases and deletion
# policies, times aside), the HelmRelease's status and which hook objects
# the cluster still holds must be the same.  A second release enables
# spec.test: its test Pod passes, then fails (TestSuccess, testHooks,
# RetriesExceeded as Flux has them).  A third has its test excluded by
# spec.test.filters and uninstall.keepHistory: deleted, its records stay
# (uninstalled); made again, install.replace installs v2 over them.  A
# fourth has upgrade.strategy RetryOnFailure: a failed upgrade is not
# remediated but retried, and upgraded once fixed; preserveValues keeps
# the old values under the new; install.disableTakeOwnership refuses a
# ConfigMap that exists without the release's ownership metadata.
set -u

NAME=helmhooks
CFLUX_OPERATOR_MODE=${CFLUX_OPERATOR_MODE:-local}
# shellcheck source=test/e2e/lib/operator.bash
. "$(dirname "$0")/lib/operator.bash"

[ -x "$SOURCE_CONTROLLER" ] && [ -x "$HELM_CONTROLLER" ] ||
	bash "$repo/test/cluster/build.sh" flux-helm >&2
[ -x "$HELM" ] || bash "$repo/test/cluster/build.sh" oracles >&2
check "CRDs installed" crd_install helm.toolkit.fluxcd.io_helmreleases.yaml \
	source.toolkit.fluxcd.io_ocirepositories.yaml source.toolkit.fluxcd.io_helmcharts.yaml
NSF=$NS-flux
k create namespace "$NS" >/dev/null
k create namespace "$NSF" >/dev/null
trap 'e2e_cleanup; flux_stop; k delete namespace "$NSF" --wait=false >/dev/null 2>&1; k delete crd hookwidgets.cflux.test --timeout=60s >/dev/null 2>&1' EXIT
# shellcheck source=test/e2e/lib/oracle.bash
. "$(dirname "$0")/lib/oracle.bash"
for n in "$NS" "$NSF"; do
	k create configmap -n "$n" lookup-src --from-literal=value=found >/dev/null
done

REG=$REGISTRY_HOST
R=$NAME-$$
h() { "$HELM" --kubeconfig "$KUBECONFIG" "$@"; }
mkdir -p "$W/pkg"
check "helm package and helm push to the registry" bash -c \
	"$(declare -f h); HELM='$HELM' KUBECONFIG='$KUBECONFIG'; h package -d '$W/pkg' '$repo/test/data/helm/hooks/chart' >/dev/null && h push '$W/pkg/hooks-0.1.0.tgz' 'oci://$REG/$R' --plain-http"

both <<YAML
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: chart, namespace: "@NS@"}
spec:
  interval: 10m
  url: oci://$REG/$R/hooks
  ref: {tag: 0.1.0}
  layerSelector: {mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip, operation: copy}
YAML
hr() { # [-n NAME] MESSAGE FAILPRE [SPEC LINE...]
	local name=app
	[ "$1" = -n ] && name=$2 && shift 2
	local msg=$1 failpre=$2
	shift 2
	{
		cat <<YAML
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: $name, namespace: "@NS@"}
spec:
  interval: 10m
  timeout: 2m
  chartRef: {kind: OCIRepository, name: chart}
YAML
		for l in "$@"; do printf '  %s\n' "$l"; done
		printf '  values:\n    message: "%s"\n    failPre: %s\n    failTest: %s\n' "$msg" \
			"$failpre" "${FAILTEST:-false}"
		[ -z "${EXTRAVALS:-}" ] || printf '    %s\n' "$EXTRAVALS"
	} | both
}

check "cflux-operator starts" start_operator
check "Flux's source-controller and helm-controller start" flux_start "$NSF" source helm
if [ "$FAILED" -gt 0 ]; then
	tap_end
	exit 1
fi

status() { # NS [NAME]: the HelmRelease's status, what must agree
	k get helmrelease -n "$1" "${2:-app}" -o json | python3 -c '
import json, sys
s = json.load(sys.stdin)["status"]
out = {k: s.get(k) for k in ("lastAttemptedRevision", "lastAttemptedReleaseAction",
    "installFailures", "upgradeFailures", "failures")}
out["conditions"] = sorted((c["type"], c["status"], c["reason"], c["message"]) for c in s.get("conditions", []))
out["history"] = [(h["version"], h["status"], sorted((n, t.get("phase")) for n, t in (h.get("testHooks") or {}).items()) if "testHooks" in h else None)
                  for h in s.get("history", [])]
print(json.dumps(out, indent=1, sort_keys=True))'
}
hook_objects() { # NS: the hook objects there, with a Job's outcome
	k get jobs,configmaps -n "$1" -o json | python3 -c '
import json, sys
for o in sorted(json.load(sys.stdin)["items"], key=lambda o: (o["kind"], o["metadata"]["name"])):
    m = o["metadata"]
    if "helm.sh/hook" not in (m.get("annotations") or {}) and not m["name"].endswith("-config"):
        continue
    conds = sorted(c["type"] for c in o.get("status", {}).get("conditions", []) if c["status"] == "True")
    print(o["kind"], m["name"], (o.get("data") or {}).get("message", ""), conds)'
}
settled() { # VERSION READY [NAME]: both sides' Ready is READY with history[0] at VERSION
	for n in "$NS" "$NSF"; do
		[ "$(k get helmrelease -n "$n" "${3:-app}" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}/{.status.history[0].version}' 2>/dev/null)" = "$2/$1" ] || return 1
	done
}
compare() { # VERSION ACTION
	check "$2: the release record v$1 (hooks' phases and policies, status, description)" \
		same record release_record @NS@ app "$1"
	check "$2: the HelmRelease status" same status status @NS@
	check "$2: the hook objects left in the cluster" same "hook objects" hook_objects @NS@
}

hr first false
check "install: both Ready with release v1, the hooks run" poll 180 settled 1 True
compare 1 install
crd_apart() {
	k get hookwidget -n "$NS" app-widget >/dev/null && ! release_record "$NS" app 1 | grep -q CustomResourceDefinition
}
check "install: the chart's CRD created first, its HookWidget applied, the CRD not in the record (cflux)" crd_apart
check "install: Helm's lookup answered live (an object, and {} for one not there) (cflux)" bash -c \
	"[ \"\$($KUBECTL get configmap -n $NS app-lookup -o jsonpath='{.data.found} {.data.missing} {.data.kind}')\" = '{\"value\":\"found\"} {} ConfigMap' ]"
check "install: the pre Job deleted, the post Job complete, the hook ConfigMap kept (cflux)" bash -c \
	"[ \"\$(hook_objects_ns=$NS; $(declare -f hook_objects k); hook_objects $NS | tr '\n' ';')\" = \"ConfigMap app-config first [];ConfigMap app-hook-cm first [];Job app-post  ['Complete', 'SuccessCriteriaMet'];\" ]"

hr second false
check "upgrade: both Ready with release v2" poll 180 settled 2 True
compare 2 upgrade

hr third true
check "a failing pre-upgrade Job: both Ready False with release v3" poll 180 settled 3 False
compare 3 "failed pre-upgrade hook"
check "... the message is Helm's, naming the Job and its reason (cflux)" bash -c \
	"k() { $KUBECTL \"\$@\"; }; k get helmrelease -n $NS app -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].message}' | grep -qzF $'pre-upgrade hooks failed: 1 error occurred:\n\t* job app-pre failed: BackoffLimitExceeded'"
check "... nothing of v3 applied: the ConfigMap still says 'second' (cflux)" bash -c \
	"[ \"\$($KUBECTL get configmap -n $NS app-config -o jsonpath='{.data.message}')\" = second ]"

# ------------------------------------------------------------ spec.test: the test Pod
hr -n tst tested false "test: {enable: true}"
check "test: both Ready with release v1 after its test" poll 180 settled 1 True tst
check "test: the release record v1 (the test hook's phase)" same record release_record @NS@ tst 1
check "test: the HelmRelease status (TestSuccess, testHooks)" same status status @NS@ tst
check "... Ready TestSucceeded, the test Pod's phase Succeeded (cflux)" bash -c \
	"[ \"\$($KUBECTL get helmrelease -n $NS tst -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].reason}/{.status.history[0].testHooks.tst-test.phase}')\" = TestSucceeded/Succeeded ]"
FAILTEST=true hr -n tst tested false "test: {enable: true}"
check "a failing test: both Ready False with release v2" poll 180 settled 2 False tst
check "a failing test: the release record v2" same record release_record @NS@ tst 2
check "a failing test: the HelmRelease status (TestFailed, RetriesExceeded)" same status status @NS@ tst
check "... which says so: TestSuccess False, Ready TestFailed, Stalled RetriesExceeded (cflux)" bash -c \
	"[ \"\$($KUBECTL get helmrelease -n $NS tst -o jsonpath='{.status.conditions[?(@.type==\"TestSuccess\")].status}/{.status.conditions[?(@.type==\"Ready\")].reason}/{.status.conditions[?(@.type==\"Stalled\")].reason}/{.status.history[0].testHooks.tst-test.phase}')\" = False/TestFailed/RetriesExceeded/Failed ]"

# ------------------------------------------------------------ test filters, keepHistory, replace
KEEP=("test: {enable: true, filters: [{name: keep-test, exclude: true}]}"
	"uninstall: {keepHistory: true, deletionPropagation: foreground}" "install: {replace: true}")
hr -n keep kept false "${KEEP[@]}"
check "test filters: both Ready with release v1, the excluded test not run" poll 180 settled 1 True keep
check "test filters: the release record v1 (the skipped hook moved first, never run)" \
	same record release_record @NS@ keep 1
check "test filters: the HelmRelease status (TestSuccess, testHooks)" same status status @NS@ keep
k delete helmrelease -n "$NS" keep --wait=false >/dev/null
k delete helmrelease -n "$NSF" keep --wait=false >/dev/null
kept_gone() { for n in "$NS" "$NSF"; do ! k get helmrelease -n "$n" keep >/dev/null 2>&1 || return 1; done; }
check "keepHistory: both HelmReleases gone" poll 120 kept_gone
check "keepHistory: the record v1 kept, uninstalled" same record release_record @NS@ keep 1
check "... and its objects gone (cflux)" bash -c "! $KUBECTL get configmap -n $NS keep-config 2>/dev/null"
hr -n keep kept false "${KEEP[@]}"
check "install.replace: both Ready again with release v2" poll 180 settled 2 True keep
check "install.replace: the record v1, superseded" same record release_record @NS@ keep 1
check "install.replace: the record v2" same record release_record @NS@ keep 2
check "install.replace: the HelmRelease status" same status status @NS@ keep

# ------------------------------------------------------------ upgrade.strategy RetryOnFailure
RETRY="upgrade: {strategy: {name: RetryOnFailure, retryInterval: 1h}, cleanupOnFail: true}"
hr -n rty first false "$RETRY"
check "RetryOnFailure: both Ready with release v1" poll 180 settled 1 True rty
hr -n rty second true "$RETRY"
check "RetryOnFailure: a failing upgrade, both Ready False with release v2" poll 180 settled 2 False rty
check "RetryOnFailure: the HelmRelease status (no remediation; Reconciling, retrying after 1h)" \
	same status status @NS@ rty
check "... which says so (cflux)" bash -c \
	"[ \"\$($KUBECTL get helmrelease -n $NS rty -o jsonpath='{.status.conditions[?(@.type==\"Reconciling\")].reason}: {.status.conditions[?(@.type==\"Reconciling\")].message}')\" = 'ProgressingWithRetry: retrying after 1h0m0s' ]"
hr -n rty third false "$RETRY"
check "RetryOnFailure: fixed, the failed release upgraded: both Ready with release v3" \
	poll 180 settled 3 True rty
check "RetryOnFailure: the record v2, failed" same record release_record @NS@ rty 2
check "RetryOnFailure: the HelmRelease status" same status status @NS@ rty

# ------------------------------------------------------------ upgrade.preserveValues
EXTRAVALS="extra: kept" hr -n pv first false "upgrade: {preserveValues: true}"
check "preserveValues: both Ready with release v1" poll 180 settled 1 True pv
hr -n pv second false "upgrade: {preserveValues: true}"
check "preserveValues: both Ready with release v2" poll 180 settled 2 True pv
check "preserveValues: the record v2 (the old values kept under the new, the chart's values)" \
	same record release_record @NS@ pv 2
check "... 'extra' kept from v1 (cflux)" bash -c \
	"$(declare -f release_record k); k() { $KUBECTL \"\$@\"; }; release_record $NS pv 2 | grep -q '\"extra\": \"kept\"'"

# ------------------------------------------------------------ install.disableTakeOwnership
for n in "$NS" "$NSF"; do k create configmap -n "$n" own-config --from-literal=message=mine >/dev/null; done
hr -n own first false "install: {disableTakeOwnership: true}"
own_failed() {
	for n in "$NS" "$NSF"; do
		[ "$(k get helmrelease -n "$n" own -o jsonpath='{.status.conditions[?(@.type=="Ready")].reason}' 2>/dev/null)" = InstallFailed ] || return 1
	done
}
check "disableTakeOwnership: an existing ConfigMap of no release fails the install on both" \
	poll 120 own_failed
# Retried after a backoff that differs between the two (the failures counter with it).
status_retried() { status "$@" | grep -v '"failures":'; }
check "disableTakeOwnership: the HelmRelease status (Helm's ownership error, no installFailures)" \
	same status status_retried @NS@ own
check "... no record made, the ConfigMap left as it was (cflux)" bash -c \
	"! $KUBECTL get secret -n $NS sh.helm.release.v1.own.v1 2>/dev/null && [ \"\$($KUBECTL get configmap -n $NS own-config -o jsonpath='{.data.message}')\" = mine ]"

k delete helmrelease -n "$NS" app tst keep rty pv own --wait=false >/dev/null
k delete helmrelease -n "$NSF" app tst keep rty pv own --wait=false >/dev/null
gone() {
	for n in "$NS" "$NSF"; do
		for r in app tst keep rty pv own; do
			! k get helmrelease -n "$n" "$r" >/dev/null 2>&1 || return 1
		done
	done
}
check "uninstall: both HelmReleases gone" poll 120 gone
check "uninstall: the pre-delete Job ran and stayed, the release's objects went, as under Flux" \
	same "hook objects" hook_objects @NS@
check "uninstall: the chart's CRD stays, as Helm leaves it" k get crd hookwidgets.cflux.test
if [ "$FAILED" -gt 0 ]; then
	tail -n 15 "$W/helm-controller.log" | sed 's/^/# /'
fi
tap_end
