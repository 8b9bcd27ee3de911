#!/bin/bash
# chart.sh: the Helm chart charts/cflux (TAP): helm lint, the rendered
# objects accepted by the apiserver's server-side validation, a real
# `helm install` into the local control plane (every object accepted; the
# pod cannot run without a kubelet), the values that mirror the
# extension's configurationSettings, and a clean uninstall.
set -u
NAME=chart
# shellcheck source=test/e2e/lib/operator.bash
. "$(dirname "$0")/lib/operator.bash"

CHART=$repo/charts/cflux
[ -x "$HELM" ] || bash "$repo/test/cluster/build.sh" oracles >&2
lint() {
	"$HELM" lint --strict "$CHART" 2>&1 | tee /dev/stderr | grep -q "0 chart(s) failed"
}
check "helm lint --strict is clean" lint
k create namespace "$NS" >/dev/null
render() { "$HELM" template cflux "$CHART" --namespace "$NS" "$@"; }
check "scratch emptyDirs have a sizeLimit; --extracted-artifacts-max is passed (issue #25)" bash -c \
	"[ \$('$HELM' template cflux '$CHART' | grep -c 'emptyDir: {sizeLimit: 2Gi}') = 2 ] && '$HELM' template cflux '$CHART' | grep -q -- '--extracted-artifacts-max=16'"
check "helm template | kubectl apply --dry-run=server" bash -c \
	"$(declare -f render); HELM='$HELM' CHART='$CHART' NS='$NS'; render | '$KUBECTL' apply --dry-run=server -n '$NS' -f -"
check "configurationSettings keys reach the operator's flags" bash -c \
	"'$HELM' template cflux '$CHART' --set kustomize-controller.concurrent=9 --set log-level=debug | grep -q -- '--concurrent=9' && '$HELM' template cflux '$CHART' --set log-level=debug | grep -q -- '--log-level=debug'"
check "multiTenancy.enforce: flux-applier is the applier, cross-namespace refs refused" bash -c \
	"'$HELM' template cflux '$CHART' | grep -q -- '--default-service-account=flux-applier' && '$HELM' template cflux '$CHART' | grep -q -- '--no-cross-namespace-refs=true' && ! '$HELM' template cflux '$CHART' --set multiTenancy.enforce=false | grep -q -- '--default-service-account'"
check "the pod runs non-root, read-only, without privilege escalation or capabilities" bash -c \
	"'$HELM' template cflux '$CHART' | grep -q 'runAsNonRoot: true' && '$HELM' template cflux '$CHART' | grep -q 'readOnlyRootFilesystem: true' && '$HELM' template cflux '$CHART' | grep -q 'allowPrivilegeEscalation: false' && '$HELM' template cflux '$CHART' | grep -q 'drop: \[ALL\]'"
check "helm install succeeds" "$HELM" install cflux "$CHART" --namespace "$NS" --kubeconfig "$KUBECONFIG"
check "installed: Deployment, Service, ServiceAccounts, RBAC, CRDs" bash -c \
	"'$KUBECTL' get -n '$NS' deployment/cflux-operator service/cflux-operator serviceaccount/cflux-operator serviceaccount/flux-applier rolebinding/cflux-operator-leader-election && '$KUBECTL' get clusterrole/cflux-operator clusterrolebinding/cflux-applier crd/fluxconfigurations.clusterconfig.cflux.io"
check "helm uninstall succeeds" "$HELM" uninstall cflux --namespace "$NS" --kubeconfig "$KUBECONFIG"
tap_end
