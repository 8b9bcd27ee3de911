#!/bin/bash
# chart.sh: the Helm chart charts/cflux (TAP): helm lint, the rendered
# objects accepted by the apiserver's server-side validation, the values
# that mirror the extension's configurationSettings reaching the operator's
# flags, and a real `helm install` into the local control plane: on the
# local node the operator pod runs the image `make image` built and becomes
# Ready through /readyz in under 60 s, with in-cluster configuration; then
# a clean uninstall.  Without a node only the objects are checked.
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
render() { "$HELM" template cflux "$CHART" --namespace "$NS" "$@" 2>/dev/null; }
check "scratch emptyDirs have a sizeLimit; --extracted-artifacts-max is passed (issue #25)" bash -c \
	"[ \$('$HELM' template cflux '$CHART' | grep -c 'emptyDir: {sizeLimit: 2Gi}') = 2 ] && '$HELM' template cflux '$CHART' | grep -q -- '--extracted-artifacts-max=16'"
check "helm template | kubectl apply --dry-run=server" bash -c \
	"$(declare -f render); HELM='$HELM' CHART='$CHART' NS='$NS'; render | '$KUBECTL' apply --dry-run=server -n '$NS' -f -"
flags() { render "$@" | grep -E '^ +- --'; }
values_reach() {
	local f
	f=$(flags --set kustomize-controller.concurrent=9 --set source-controller.concurrent=3 \
		--set source-controller.enabled=false --set helm-controller.enabled=true --set log-level=debug \
		--set kustomize-controller.requeue-dependency=7s)
	grep -q -- '--concurrent=9' <<<"$f" &&
		grep -q -- '--configuration-setting=kustomize-controller.concurrent=9' <<<"$f" &&
		grep -q -- '--configuration-setting=source-controller.concurrent=3' <<<"$f" &&
		grep -q -- '--configuration-setting=source-controller.enabled=false' <<<"$f" &&
		grep -q -- '--configuration-setting=helm-controller.enabled=true' <<<"$f" &&
		grep -q -- '--requeue-dependency=7s' <<<"$f" && grep -q -- '--log-level=debug' <<<"$f"
}
check "configurationSettings keys reach the operator's flags (enabled, concurrent, requeue, log level)" values_reach
check "multiTenancy.enforce: flux-applier is the applier, cross-namespace refs refused" bash -c \
	"'$HELM' template cflux '$CHART' | grep -q -- '--default-service-account=flux-applier' && '$HELM' template cflux '$CHART' | grep -q -- '--no-cross-namespace-refs=true' && ! '$HELM' template cflux '$CHART' --set multiTenancy.enforce=false | grep -q -- '--default-service-account'"
check "the pod runs non-root, read-only, without privilege escalation or capabilities" bash -c \
	"'$HELM' template cflux '$CHART' | grep -q 'runAsNonRoot: true' && '$HELM' template cflux '$CHART' | grep -q 'readOnlyRootFilesystem: true' && '$HELM' template cflux '$CHART' | grep -q 'allowPrivilegeEscalation: false' && '$HELM' template cflux '$CHART' | grep -q 'drop: \[ALL\]'"
check "the default image is the release's; a digest pins it" bash -c \
	"'$HELM' template cflux '$CHART' | grep -q 'image: \"ghcr.io/cflux/cflux-operator:0.1.0\"' && '$HELM' template cflux '$CHART' --set image.repository=r.example/op --set image.digest=sha256:abc | grep -q 'image: \"r.example/op@sha256:abc\"'"

if [ "$OP_MODE" = cluster ]; then
	[ -n "${CFLUX_IMAGE_DIGEST:-}" ] || . "$repo/build/image/cflux-operator.env"
	t0=$(date +%s.%N)
	check "helm install (the local image, by digest) succeeds" "$HELM" install cflux "$CHART" --namespace "$NS" \
		--kubeconfig "$KUBECONFIG" --set image.repository="$CFLUX_IMAGE_REPOSITORY" \
		--set image.digest="$CFLUX_IMAGE_DIGEST" --set kustomize-controller.concurrent=3 --set log-level=debug
	OP_NS=$NS
	ready() { [ "$(k get deploy -n "$NS" cflux-operator -o jsonpath='{.status.readyReplicas}')" = 1 ]; }
	poll 60 ready
	took=$(python3 -c "print('%.1f' % ($(date +%s.%N) - $t0))")
	check "the operator pod is Running and Ready through /readyz in under 60 s (${took} s)" bash -c \
		"[ \"\$($KUBECTL get pods -n $NS -l app.kubernetes.io/name=cflux -o jsonpath='{.items[0].status.phase} {.items[0].status.containerStatuses[0].ready}')\" = 'Running true' ] && python3 -c 'import sys; sys.exit(0 if $took < 60 else 1)'"
	check "in-cluster configuration: it talks to the kubernetes Service" bash -c \
		"$KUBECTL logs -n $NS deploy/cflux-operator | grep 'Starting cflux-operator' | grep -q '\"server\":\"https://$KUBERNETES_SVC_IP:443\"'"
	check "its image runs as 65534 with a read-only root filesystem" bash -c \
		"[ \"\$($KUBECTL get pods -n $NS -l app.kubernetes.io/name=cflux -o jsonpath='{.items[0].spec.securityContext.runAsUser} {.items[0].spec.containers[0].securityContext.readOnlyRootFilesystem}')\" = '65534 true' ]"
	check "the values reached it: the settings it started with are logged" bash -c \
		"$KUBECTL logs -n $NS deploy/cflux-operator | grep 'Configuration settings' | grep -qF 'kustomize-controller.concurrent\\\":\\\"3'"
fi
check "installed: Deployment, Service, ServiceAccounts, RBAC, CRDs" bash -c \
	"$HELM status cflux -n $NS >/dev/null 2>&1 || $HELM install cflux $CHART --namespace $NS --kubeconfig $KUBECONFIG >/dev/null 2>&1; '$KUBECTL' get -n '$NS' deployment/cflux-operator service/cflux-operator serviceaccount/cflux-operator serviceaccount/flux-applier rolebinding/cflux-operator-leader-election && '$KUBECTL' get clusterrole/cflux-operator-$NS clusterrolebinding/cflux-applier-$NS crd/fluxconfigurations.clusterconfig.cflux.io"
check "helm uninstall succeeds" "$HELM" uninstall cflux --namespace "$NS" --kubeconfig "$KUBECONFIG"
tap_end
