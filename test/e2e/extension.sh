#!/bin/bash
# extension.sh: the Extension resource and live settings, and an operator
# restart mid-way (TAP).
#
# The Extension named flux configures the running operator from Azure's
# configurationSettings: kustomize-controller.enabled=false stops
# Kustomization reconciles (and says so on each object) without a
# restart, a bad value is refused naming the key, unknown keys are noted,
# and deletion waits until no FluxConfiguration is left.  Then the
# operator is stopped with SIGTERM while work is pending and started
# again: it converges to the same state.
set -u
NAME=ext
# shellcheck source=test/e2e/lib/operator.bash
. "$(dirname "$0")/lib/operator.bash"

ext_cleanup() {
	k patch extension flux --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1
	k delete extension flux --ignore-not-found --wait=false >/dev/null 2>&1
	e2e_cleanup
}
trap ext_cleanup EXIT

k apply --server-side --force-conflicts --field-manager=cflux-test -f "$repo/crds/" >/dev/null
k create namespace "$NS" >/dev/null
check "an Extension of another type is refused by the apiserver" bash -c \
	"printf 'apiVersion: clusterconfig.cflux.io/v1\nkind: Extension\nmetadata:\n  name: other\nspec:\n  extensionType: microsoft.azuremonitor\n' | $KUBECTL apply --dry-run=server -f - 2>&1 | grep -q 'microsoft.flux'"
check "pinning a version needs autoUpgradeMinorVersion false" bash -c \
	"printf 'apiVersion: clusterconfig.cflux.io/v1\nkind: Extension\nmetadata:\n  name: flux\nspec:\n  extensionType: microsoft.flux\n  version: 1.2.3\n' | $KUBECTL apply --dry-run=server -f - 2>&1 | grep -q 'autoUpgradeMinorVersion must be false'"

mkdir -p "$W/src/app"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: %s\ndata:\n  v: "1"\n' "$NS" >"$W/src/app/cm.yaml"
SHA1=$(bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src")
check "operator starts" start_operator

EXT_HEAD="  autoUpgradeMinorVersion: true
  releaseTrain: Stable
  scope: {cluster: {releaseNamespace: $OP_NS}}"
extension() { # SETTINGS-YAML-LINES (EXT_HEAD: the properties above the settings)
	{
		printf 'apiVersion: clusterconfig.cflux.io/v1\nkind: Extension\nmetadata:\n  name: flux\n'
		printf 'spec:\n  extensionType: microsoft.flux\n%s\n' "$EXT_HEAD"
		printf '  configurationSettings:\n'
		for l in "$@"; do printf '    %s\n' "$l"; done
	} | k apply -f -
}
ext() { k get extension flux -o jsonpath="$1"; }

extension '"kustomize-controller.enabled": "false"' '"useKubeletIdentity": "true"' >/dev/null
check "Extension flux: Succeeded, currentVersion, Ready" poll 30 bash -c \
	"[ \"\$($KUBECTL get extension flux -o jsonpath='{.status.provisioningState} {.status.conditions[?(@.type==\"Ready\")].status}')\" = 'Succeeded True' ] && [ -n \"\$($KUBECTL get extension flux -o jsonpath='{.status.currentVersion}')\" ]"
check "an unknown setting is noted in statuses[]" bash -c \
	"$KUBECTL get extension flux -o jsonpath='{.status.statuses[*].message}' | grep -q useKubeletIdentity"

gitrepo src "$GIT_HTTP_URL/$REPO.git" "ref:" "  branch: main" >/dev/null
kustomization app src ./app "prune: true" >/dev/null
disabled() {
	[ "$(cond kustomization app Ready reason)" = ControllerDisabled ] &&
		cond kustomization app Ready message | grep -q "kustomize-controller.enabled=false"
}
check "kustomize-controller.enabled=false: the Kustomization says it is not reconciled" poll 30 disabled
check "... and nothing was applied" bash -c "! $KUBECTL get cm -n $NS app >/dev/null 2>&1"
check "the source controller still works" poll 30 is_ready gitrepository src True

extension '"kustomize-controller.enabled": "true"' '"kustomize-controller.concurrent": "8"' >/dev/null
applied() { [ "$(cond kustomization app Ready message)" = "Applied revision: main@sha1:$1" ]; }
check "enabled again, without a restart: the Kustomization is applied" poll 60 applied "$SHA1"
logged_switch() { op_log | grep -q "Controller enabled"; }
check "the operator logged the switch" logged_switch

extension '"kustomize-controller.concurrent": "lots"' >/dev/null
check "a bad value: provisioningState Failed, Ready=False naming the key" poll 30 bash -c \
	"[ \"\$($KUBECTL get extension flux -o jsonpath='{.status.provisioningState}')\" = Failed ] && $KUBECTL get extension flux -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].message}' | grep -q 'kustomize-controller.concurrent: \"lots\"'"

ready_msg() { ext '{.status.provisioningState} {.status.conditions[?(@.type=="Ready")].message}'; }
failed_with() { ready_msg | grep -q "^Failed .*$1"; }
check "auto-upgrade is reported as not managed by cflux, with the running version" bash -c \
	"$KUBECTL get extension flux -o jsonpath='{.status.statuses[?(@.code==\"AutoUpgradeNotManaged\")].message}' | grep -q \"installed ($(ext '{.status.currentVersion}'))\""

# The Extension's own properties: what cflux cannot do is refused by name.
EXT_HEAD="  autoUpgradeMinorVersion: false
  version: 0.0.1-not-this
  scope: {cluster: {releaseNamespace: $OP_NS}}"
extension '"kustomize-controller.concurrent": "4"' >/dev/null
check "a pinned version other than the running one: Failed, naming both" poll 30 failed_with \
	"version \"0.0.1-not-this\" is pinned, but this operator is $(ext '{.status.currentVersion}')"
EXT_HEAD="  autoUpgradeMinorVersion: false
  version: \"$(ext '{.status.currentVersion}')\"
  scope: {cluster: {releaseNamespace: elsewhere}}"
extension '"kustomize-controller.concurrent": "4"' >/dev/null
check "a releaseNamespace other than cflux's: Failed, naming both" poll 30 failed_with \
	"releaseNamespace \"elsewhere\": cflux runs in \"$OP_NS\""

# Protected settings: a Secret's keys are settings too, over the plain ones.
EXT_HEAD="  autoUpgradeMinorVersion: false
  version: \"$(ext '{.status.currentVersion}')\"
  scope: {cluster: {releaseNamespace: $OP_NS}}
  protectedSettingsSecretRef: {name: ext-protected, namespace: $NS}"
extension '"kustomize-controller.concurrent": "4"' >/dev/null
check "protected settings from a missing Secret: Failed, naming it" poll 30 failed_with \
	"Secret $NS/ext-protected: not found"
k create secret generic -n "$NS" ext-protected --from-literal=kustomize-controller.concurrent=lots >/dev/null
k annotate extension flux --overwrite reconcile.fluxcd.io/requestedAt=p1 >/dev/null
check "a protected setting is checked like the others (and wins over the plain one)" poll 30 \
	failed_with 'kustomize-controller.concurrent: "lots"'
k create secret generic -n "$NS" ext-protected --from-literal=kustomize-controller.concurrent=6 \
	--dry-run=client -o yaml | k replace -f - >/dev/null
k annotate extension flux --overwrite reconcile.fluxcd.io/requestedAt=p2 >/dev/null
check "... and a good one applies, with the pinned version matching: Succeeded" poll 30 bash -c \
	"[ \"\$($KUBECTL get extension flux -o jsonpath='{.status.provisioningState}')\" = Succeeded ]"
check "... without the auto-upgrade note once autoUpgradeMinorVersion is false" bash -c \
	"! $KUBECTL get extension flux -o jsonpath='{.status.statuses[*].code}' | grep -q AutoUpgradeNotManaged"

# ------------------------------------------------------------ deletion
printf 'apiVersion: clusterconfig.cflux.io/v1\nkind: FluxConfiguration\nmetadata:\n  name: cfg\n  namespace: %s\nspec:\n  gitRepository:\n    url: %s\n    repositoryRef: {branch: main}\n  kustomizations:\n    k: {path: ./app, wait: false}\n' \
	"$NS" "$GIT_HTTP_URL/$REPO.git" | k apply -f - >/dev/null
k delete extension flux --wait=false >/dev/null
blocked() {
	[ "$(ext '{.status.conditions[?(@.type=="Ready")].reason}')" = DeletionBlocked ] &&
		ext '{.status.conditions[?(@.type=="Ready")].message}' | grep -q "$NS/cfg"
}
check "deleting the Extension while a FluxConfiguration exists is blocked, naming it" poll 30 blocked
k delete fluxconfiguration -n "$NS" cfg >/dev/null
check "... and goes through once none is left" poll 30 bash -c "! $KUBECTL get extension flux >/dev/null 2>&1"

# ------------------------------------------------------------ restart
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: %s\ndata:\n  v: "2"\n' "$NS" >"$W/src/app/cm.yaml"
SHA2=$(bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src")
k annotate gitrepository -n "$NS" src --overwrite reconcile.fluxcd.io/requestedAt=restart >/dev/null
t_stop=$(date -u +%s)
stop_operator
# Released: no holder (local), or a new run (the kubelet restarts it in its
# pod) holding it well before the 35 s lease of the old one would expire.
released() {
	local h at
	h=$(k get lease -n "$NS" cflux-operator-leader-election -o jsonpath='{.spec.holderIdentity}' 2>/dev/null)
	[ -z "$h" ] && return 0
	at=$(k get lease -n "$NS" cflux-operator-leader-election -o jsonpath='{.spec.acquireTime}')
	[ "$OP_MODE" = cluster ] && [ "$(date -u -d "$at" +%s)" -ge "$t_stop" ] &&
		[ "$(date -u -d "$at" +%s)" -lt $((t_stop + 30)) ]
}
stopped_cleanly() { [ "$OP_RC" = 0 ] && poll 20 released; }
check "SIGTERM with work pending: clean exit 0, the lease released" stopped_cleanly
check "operator starts again" start_operator
check "after the restart it converges: the new revision applied" poll 60 applied "$SHA2"
check "the artifact store was reused (no second artifact for the first commit)" bash -c \
	"[ \$(ls $OP_DATA/gitrepository/$NS/src | wc -l) -le 2 ]"
tap_end
