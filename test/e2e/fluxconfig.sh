#!/bin/bash
# fluxconfig.sh: the FluxConfiguration CRD and reconciler against the real
# control plane and git server (TAP).
#
# Azure's fluxConfigurations properties as a custom resource: the
# apiserver itself rejects a bad spec (CEL), Azure's own example is
# accepted, the reconciler creates the Flux objects Azure's agent would
# (names, labels, owner, durations, dependsOn), and rolls their state up
# into complianceState, statuses[] and sourceSyncedCommitId.
set -u
NAME=fc
# shellcheck source=test/e2e/lib/operator.bash
. "$(dirname "$0")/lib/operator.bash"

check "CRDs installed (FluxConfiguration is ours)" crd_install \
	source.toolkit.fluxcd.io_gitrepositories.yaml kustomize.toolkit.fluxcd.io_kustomizations.yaml \
	clusterconfig.cflux.io_fluxconfigurations.yaml
k create namespace "$NS" >/dev/null

fc() { # NAME SPEC-YAML (indented by two)
	printf 'apiVersion: clusterconfig.cflux.io/v1\nkind: FluxConfiguration\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n%s\n' \
		"$1" "$NS" "$2"
}
rejected() { # WANT-IN-MESSAGE NAME SPEC
	local out
	out=$(fc "$2" "$3" | k apply --dry-run=server -f - 2>&1) && { echo "accepted: $out"; return 1; }
	echo "$out"
	grep -q "$1" <<<"$out"
}

# ------------------------------------------------------------ the CRD's own checks
several_refs() {
	fc two "  gitRepository:
    url: https://example.com/x.git
    repositoryRef: {branch: main, tag: v1}" | k apply --dry-run=server -f -
}
check "several repository refs are accepted, as Azure's API accepts them" several_refs
check "sourceKind GitRepository without its body is rejected" rejected "needs the gitRepository body" nobody \
"  sourceKind: GitRepository
  ociRepository: {url: oci://example.com/x}"
check "dependsOn an unknown kustomization is rejected" rejected "other kustomizations of this configuration" deps \
"  gitRepository: {url: https://example.com/x.git, repositoryRef: {branch: main}}
  kustomizations:
    apps: {path: ./apps, dependsOn: [infra]}"
check "a bad sourceKind is rejected" rejected "supported values" kind \
"  sourceKind: Helm
  gitRepository: {url: https://example.com/x.git}"
check "configuration + kustomization names over 62 characters are rejected" rejected "62 characters" \
	"a-very-long-configuration-name-for-azure-0123456789" \
"  gitRepository: {url: https://example.com/x.git, repositoryRef: {branch: main}}
  kustomizations:
    also-a-rather-long-kustomization-name: {path: ./x}"
azure_example() {
	fc srs-fluxconfig "  scope: cluster
  namespace: $NS
  sourceKind: GitRepository
  suspend: false
  gitRepository:
    url: https://github.com/Azure/arc-k8s-demo
    timeoutInSeconds: 600
    syncIntervalInSeconds: 600
    repositoryRef: {branch: master, tag: null, semver: null, commit: null}
  kustomizations:
    srs-kustomization1:
      name: srs-kustomization1
      path: ./test/path
      dependsOn: []
      timeoutInSeconds: 600
      syncIntervalInSeconds: 600
      wait: true
      postBuild:
        substitute: {cluster_env: prod}
        substituteFrom: [{kind: ConfigMap, name: cluster-test, optional: true}]
    srs-kustomization2:
      name: srs-kustomization2
      path: ./other/test/path
      dependsOn: [srs-kustomization1]
      retryIntervalInSeconds: 600
      prune: false
      wait: false" | k apply --dry-run=server -f -
}
check "Azure's GetFluxConfiguration example properties are accepted as spec" azure_example
defaults() {
	fc defaults "  gitRepository: {url: https://example.com/x.git, repositoryRef: {branch: main}}
  kustomizations:
    k: {}" | k apply --dry-run=server -o jsonpath='{.spec.scope} {.spec.sourceKind} {.spec.gitRepository.syncIntervalInSeconds} {.spec.kustomizations.k.wait} {.spec.kustomizations.k.prune} {.status.observedGeneration}' -f -
}
check "Azure's defaults (cluster, GitRepository, 600 s, wait, no prune; observedGeneration -1)" \
	bash -c '[ "$1" = "cluster GitRepository 600 true false -1" ]' _ "$(defaults 2>&1)"

# ------------------------------------------------------------ the reconciler
mkdir -p "$W/src/infra" "$W/src/apps"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: infra\n  namespace: %s\n' "$NS" >"$W/src/infra/cm.yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: %s\ndata:\n  env: ${cluster_env}\n' "$NS" >"$W/src/apps/cm.yaml"
SHA1=$(bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src")
check "operator starts" start_operator

fc cfg "  gitRepository:
    url: $GIT_HTTP_URL/$REPO.git
    syncIntervalInSeconds: 90
    timeoutInSeconds: 30
    repositoryRef: {branch: main}
  kustomizations:
    infra: {path: ./infra, prune: true, wait: false, retryIntervalInSeconds: 2}
    apps:
      path: ./apps
      prune: true
      wait: false
      retryIntervalInSeconds: 2
      dependsOn: [infra]
      postBuild: {substitute: {cluster_env: prod}}" | k apply -f - >/dev/null

jfc() { jpk fluxconfiguration cfg "$1"; }
check "GitRepository cfg: Azure's name, Go durations, ref" poll 30 bash -c \
	"[ \"\$($KUBECTL get gitrepository -n $NS cfg -o jsonpath='{.spec.interval} {.spec.timeout} {.spec.ref.branch}')\" = '1m30s 30s main' ]"
check "children labelled and owned by the configuration" bash -c \
	"[ \"\$($KUBECTL get kustomization -n $NS cfg-apps -o jsonpath='{.metadata.labels.clusterconfig\.cflux\.io/name} {.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name} {.metadata.ownerReferences[0].controller}')\" = 'cfg FluxConfiguration/cfg true' ]"
check "Kustomization cfg-apps: dependsOn cfg-infra, sourceRef cfg, postBuild" bash -c \
	"[ \"\$($KUBECTL get kustomization -n $NS cfg-apps -o jsonpath='{.spec.dependsOn[0].name} {.spec.sourceRef.kind}/{.spec.sourceRef.name} {.spec.postBuild.substitute.cluster_env}')\" = 'cfg-infra GitRepository/cfg prod' ]"
compliant() { [ "$(jfc '{.status.complianceState}')" = Compliant ]; }
check "complianceState Compliant once everything is applied" poll 90 compliant
check "Ready=True, provisioningState Succeeded, sourceSyncedCommitId main@sha1:<sha>" bash -c \
	"[ \"\$($KUBECTL get fc -n $NS cfg -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status} {.status.provisioningState} {.status.sourceSyncedCommitId}')\" = 'True Succeeded main@sha1:$SHA1' ]"
check "statuses[]: the source and both kustomizations, Compliant" bash -c \
	"[ \"\$($KUBECTL get fc -n $NS cfg -o jsonpath='{range .status.statuses[*]}{.kind}/{.name}={.complianceState} {end}')\" = 'GitRepository/cfg=Compliant Kustomization/cfg-apps=Compliant Kustomization/cfg-infra=Compliant ' ]"
check "the app was applied with the substitution" bash -c \
	"[ \"\$($KUBECTL get cm -n $NS app -o jsonpath='{.data.env}')\" = prod ]"
check "an Event for the change to Compliant" poll 10 bash -c \
	"$KUBECTL get events -n $NS --field-selector involvedObject.name=cfg,involvedObject.kind=FluxConfiguration -o jsonpath='{.items[*].message}' | grep -q -- '-> Compliant'"
check "kubectl get fc shows SCOPE, URL, COMPLIANCE, READY" bash -c \
	"$KUBECTL get fc -n $NS | tee /dev/stderr | grep -E '^cfg +cluster +http.*/$REPO.git +Compliant +True'"

# ------------------------------------------------------------ non-compliance
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: %s\ndata: [not, a, map]\n' "$NS" >"$W/src/apps/cm.yaml"
SHA2=$(bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src")
k annotate gitrepository -n "$NS" cfg --overwrite reconcile.fluxcd.io/requestedAt=x >/dev/null
noncompliant() {
	[ "$(jfc '{.status.complianceState}')" = Non-Compliant ] &&
		[ "$(cond fluxconfiguration cfg Ready status)" = False ] &&
		cond fluxconfiguration cfg Ready message | tee /dev/stderr | grep -q "ConfigMap/$NS/app"
}
check "a broken revision: Non-Compliant, Ready=False with the child's message" poll 90 noncompliant

# Several refs: Azure's precedence (commit over semver, tag and branch),
# which is the GitRepository's: main has moved on, the commit stays.
fc pinned "  gitRepository:
    url: $GIT_HTTP_URL/$REPO.git
    repositoryRef: {branch: main, commit: $SHA1}" | k apply -f - >/dev/null
check "repositoryRef branch + commit: the GitRepository gets both" poll 30 bash -c \
	"[ \"\$($KUBECTL get gitrepository -n $NS pinned -o jsonpath='{.spec.ref.branch} {.spec.ref.commit}')\" = 'main $SHA1' ]"
check "... and syncs the commit, not the branch's head" poll 60 bash -c \
	"[ \"\$($KUBECTL get fc -n $NS pinned -o jsonpath='{.status.sourceSyncedCommitId}')\" = 'main@sha1:$SHA1' ]"
k delete fluxconfiguration -n "$NS" pinned --wait=false >/dev/null

# ------------------------------------------------------------ spec changes
k patch fluxconfiguration -n "$NS" cfg --type=json \
	-p '[{"op":"remove","path":"/spec/kustomizations/apps"},{"op":"replace","path":"/spec/suspend","value":true}]' >/dev/null
check "a kustomization removed from the map is deleted" poll 30 bash -c \
	"! $KUBECTL get kustomization -n $NS cfg-apps >/dev/null 2>&1"
check "suspend: the children are suspended and the state is Suspended" poll 30 bash -c \
	"[ \"\$($KUBECTL get kustomization -n $NS cfg-infra -o jsonpath='{.spec.suspend}')\" = true ] && [ \"\$($KUBECTL get fc -n $NS cfg -o jsonpath='{.status.complianceState}')\" = Suspended ]"
fc bad "  namespace: elsewhere
  gitRepository: {url: $GIT_HTTP_URL/$REPO.git, repositoryRef: {branch: main}}" | k apply -f - >/dev/null
check "spec.namespace other than its own: Stalled, provisioningState Failed" poll 30 bash -c \
	"[ \"\$($KUBECTL get fc -n $NS bad -o jsonpath='{.status.conditions[?(@.type==\"Stalled\")].status} {.status.provisioningState}')\" = 'True Failed' ]"

# ------------------------------------------------------------ waitForReconciliation
# Azure's provisioningState waits for compliance: Creating while the
# objects reconcile, then Succeeded, or Failed when reconciliationWaitDuration
# passes first.  A Deployment whose image does not exist never gets ready.
mkdir -p "$W/src/stuck"
printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: stuck\n  namespace: %s\nspec:\n  selector: {matchLabels: {app: stuck}}\n  template:\n    metadata: {labels: {app: stuck}}\n    spec:\n      containers: [{name: c, image: registry.invalid/none:1}]\n' \
	"$NS" >"$W/src/stuck/deploy.yaml"
bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src" >/dev/null
fc waitstuck "  waitForReconciliation: true
  reconciliationWaitDuration: PT10S
  gitRepository: {url: $GIT_HTTP_URL/$REPO.git, repositoryRef: {branch: main}}
  kustomizations:
    s: {path: ./stuck, wait: true, timeoutInSeconds: 600}" | k apply -f - >/dev/null
fc waitok "  waitForReconciliation: true
  reconciliationWaitDuration: PT10M
  gitRepository: {url: $GIT_HTTP_URL/$REPO.git, repositoryRef: {branch: main}}
  kustomizations:
    i: {path: ./infra, wait: false}" | k apply -f - >/dev/null
check "waitForReconciliation: provisioningState Creating while the objects reconcile" poll 30 \
	bash -c "[ \"\$($KUBECTL get fc -n $NS waitstuck -o jsonpath='{.status.provisioningState} {.status.complianceState}')\" = 'Creating Pending' ]"
check "... Failed once reconciliationWaitDuration has passed, saying so" poll 60 bash -c \
	"[ \"\$($KUBECTL get fc -n $NS waitstuck -o jsonpath='{.status.provisioningState}')\" = Failed ] && $KUBECTL get fc -n $NS waitstuck -o jsonpath='{.status.errorMessage}' | grep -q 'within reconciliationWaitDuration'"
check "... and Succeeded where the objects reconcile in time" poll 60 bash -c \
	"[ \"\$($KUBECTL get fc -n $NS waitok -o jsonpath='{.status.provisioningState} {.status.complianceState}')\" = 'Succeeded Compliant' ]"
fc waitbad "  waitForReconciliation: true
  reconciliationWaitDuration: 30m
  gitRepository: {url: $GIT_HTTP_URL/$REPO.git, repositoryRef: {branch: main}}" | k apply -f - >/dev/null
check "a reconciliationWaitDuration that is not ISO 8601: Stalled, naming it" poll 30 bash -c \
	"[ \"\$($KUBECTL get fc -n $NS waitbad -o jsonpath='{.status.provisioningState}')\" = Failed ] && $KUBECTL get fc -n $NS waitbad -o jsonpath='{.status.errorMessage}' | grep -q 'reconciliationWaitDuration \"30m\" is not an ISO 8601'"
k delete fc -n "$NS" waitstuck waitok waitbad --wait=false >/dev/null

# Azure's provider on a Git source becomes Flux's; what cflux cannot reach is refused by name.
fc azprov "  gitRepository: {url: $GIT_HTTP_URL/$REPO.git, repositoryRef: {branch: main}, provider: Azure}" |
	k apply -f - >/dev/null
check "gitRepository.provider Azure: the GitRepository is Stalled InvalidProviderConfiguration" poll 30 bash -c \
	"[ \"\$($KUBECTL get gitrepository -n $NS azprov -o jsonpath='{.spec.provider} {.status.conditions[?(@.type==\"Stalled\")].reason}')\" = 'azure InvalidProviderConfiguration' ]"
check "... and the configuration is Non-Compliant with its message" poll 30 bash -c \
	"[ \"\$($KUBECTL get fc -n $NS azprov -o jsonpath='{.status.complianceState}')\" = Non-Compliant ] && $KUBECTL get fc -n $NS azprov -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].message}' | grep -q \"spec.provider 'azure' is not supported by cflux\""
k delete fc -n "$NS" azprov --wait=false >/dev/null

# ------------------------------------------------------------ Flux objects a kustomization applies
# Azure lists the Flux objects in each kustomization's inventory among the
# statuses, appliedBy that Kustomization; a HelmRelease with its
# helmReleaseProperties.  They count towards compliance.
mkdir -p "$W/src/flux"
printf 'apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: inner\n  namespace: %s\nspec:\n  interval: 10m\n  url: %s\n  ref: {branch: main}\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: rel\n  namespace: %s\nspec:\n  interval: 10m\n  chartRef: {kind: OCIRepository, name: missing}\n' \
	"$NS" "$GIT_HTTP_URL/$REPO.git" "$NS" >"$W/src/flux/objects.yaml"
bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src" >/dev/null
fc nested "  gitRepository: {url: $GIT_HTTP_URL/$REPO.git, repositoryRef: {branch: main}}
  kustomizations:
    f: {path: ./flux, wait: false}" | k apply -f - >/dev/null
listed() {
	$KUBECTL get fc -n "$NS" nested -o json | python3 -c '
import json, sys
st = {(s["kind"], s["name"]): s for s in json.load(sys.stdin)["status"].get("statuses", [])}
g, h = st[("GitRepository", "inner")], st[("HelmRelease", "rel")]
assert g["appliedBy"] == {"name": "nested-f", "namespace": "'"$NS"'"}, g
assert g["complianceState"] == "Compliant", g
assert h["complianceState"] == "Non-Compliant" and h["appliedBy"]["name"] == "nested-f", h
p = h["helmReleaseProperties"]
assert p["lastRevisionApplied"] == 0 and p["failureCount"] >= 0 and "installFailureCount" in p, p
assert any(c["type"] == "Ready" and c["status"] == "False" for c in h["statusConditions"]), h
' 2>/dev/null
}
check "a kustomization's GitRepository and HelmRelease are listed in statuses[], appliedBy it" poll 60 listed
check "... and the failing HelmRelease makes the configuration Non-Compliant with its message" poll 30 bash -c \
	"[ \"\$($KUBECTL get fc -n $NS nested -o jsonpath='{.status.complianceState}')\" = Non-Compliant ] && $KUBECTL get fc -n $NS nested -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].message}' | grep -q missing"
k delete fc -n "$NS" nested --wait=false >/dev/null

# ------------------------------------------------------------ credentials
# Azure's ways to give the source credentials other than localAuthRef:
# httpsUser, sshKnownHosts and httpsCACert in the spec (the last two
# base64), the secrets in the Secret protectedSettingsSecretRef names.
k create secret generic -n "$NS" https-ps --from-literal=httpsKey="$GIT_HTTP_PASSWORD" >/dev/null
fc https "  gitRepository:
    url: $GIT_HTTPS_AUTH_URL/$REPO.git
    repositoryRef: {branch: main}
    httpsUser: $GIT_HTTP_USER
    httpsCACert: $(base64 -w0 "$TEST_CA")
  protectedSettingsSecretRef: {name: https-ps}" | k apply -f - >/dev/null
fc_compliant() { [ "$(jpk fluxconfiguration "$1" '{.status.complianceState}')" = Compliant ]; }
check "HTTPS with httpsUser, httpsCACert and the password in protected settings: Compliant" poll 60 fc_compliant https
check "the Secret https-auth holds Flux's keys (username, password, ca.crt) and is owned" bash -c \
	"[ \"\$($KUBECTL get secret -n $NS https-auth -o go-template='{{range \$k, \$v := .data}}{{\$k}} {{end}}{{(index .metadata.ownerReferences 0).kind}}')\" = 'ca.crt password username FluxConfiguration' ] && [ \"\$($KUBECTL get gitrepository -n $NS https -o jsonpath='{.spec.secretRef.name}')\" = https-auth ]"
k create secret generic -n "$NS" ssh-ps --from-file=sshPrivateKey="$SSH_KEY_ED25519" >/dev/null
fc ssh "  gitRepository:
    url: $GIT_SSH_URL/$REPO.git
    repositoryRef: {branch: main}
    sshKnownHosts: $(base64 -w0 "$SSH_KNOWN_HOSTS")
  protectedSettingsSecretRef: {name: ssh-ps}" | k apply -f - >/dev/null
check "SSH with sshKnownHosts and the private key in protected settings: Compliant" poll 60 fc_compliant ssh
fc noprot "  gitRepository: {url: $GIT_HTTPS_AUTH_URL/$REPO.git, repositoryRef: {branch: main}, httpsUser: x}
  protectedSettingsSecretRef: {name: absent}" | k apply -f - >/dev/null
check "a missing protected-settings Secret: a Warning Event naming it" poll 30 bash -c \
	"$KUBECTL get events -n $NS --field-selector involvedObject.name=noprot,reason=AuthSecretFailed -o jsonpath='{.items[*].message}' | grep -q 'Secret $NS/absent not found'"
fc both "  gitRepository: {url: $GIT_HTTPS_AUTH_URL/$REPO.git, repositoryRef: {branch: main}, httpsUser: x, localAuthRef: creds}" |
	k apply -f - >/dev/null
check "localAuthRef with httpsUser: Stalled, naming both" poll 30 bash -c \
	"[ \"\$($KUBECTL get fc -n $NS both -o jsonpath='{.status.conditions[?(@.type==\"Stalled\")].status}')\" = True ] && $KUBECTL get fc -n $NS both -o jsonpath='{.status.conditions[?(@.type==\"Stalled\")].message}' | grep -q 'localAuthRef cannot be combined with'"
no_secret_leak() {
	! op_log | grep -qF "$GIT_HTTP_PASSWORD" &&
		! k get events -n "$NS" -o yaml | grep -qF "$GIT_HTTP_PASSWORD" &&
		! k get fc -n "$NS" -o yaml | grep -qF "$GIT_HTTP_PASSWORD" &&
		! k get fc -n "$NS" -o yaml | grep -qF "BEGIN OPENSSH"
}
check "no secret in the log, events or FluxConfiguration" no_secret_leak
k delete fc -n "$NS" https ssh noprot both --wait=false >/dev/null

check "a configuration gets the finalizer clusterconfig.cflux.io/finalizer" bash -c \
	"[ \"\$($KUBECTL get fc -n $NS cfg -o jsonpath='{.metadata.finalizers[*]}')\" = clusterconfig.cflux.io/finalizer ]"
k delete fluxconfiguration -n "$NS" cfg --wait=false >/dev/null
check "deleting the configuration deletes its Flux objects, then itself" poll 60 bash -c \
	"! $KUBECTL get gitrepository -n $NS cfg >/dev/null 2>&1 && ! $KUBECTL get kustomization -n $NS cfg-infra >/dev/null 2>&1 && ! $KUBECTL get fc -n $NS cfg >/dev/null 2>&1"

# ------------------------------------------------------------ ordered deletion
# c depends on b, b on a.  c and b are held by a finalizer of the test's
# own: while one stays, nothing it depends on and not the source may be
# deleted.
for d in a b c; do
	mkdir -p "$W/src/ord/$d"
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ord-%s\n  namespace: %s\n' "$d" "$NS" >"$W/src/ord/$d/cm.yaml"
done
rm -f "$W/src/apps/cm.yaml"
bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src" >/dev/null
fc ord "  gitRepository: {url: $GIT_HTTP_URL/$REPO.git, repositoryRef: {branch: main}}
  kustomizations:
    a: {path: ./ord/a, retryIntervalInSeconds: 2}
    b: {path: ./ord/b, retryIntervalInSeconds: 2, dependsOn: [a]}
    c: {path: ./ord/c, retryIntervalInSeconds: 2, dependsOn: [b]}" | k apply -f - >/dev/null
check "configuration ord Compliant" poll 90 bash -c \
	"[ \"\$($KUBECTL get fc -n $NS ord -o jsonpath='{.status.complianceState}')\" = Compliant ]"
hold() { k patch kustomization -n "$NS" "$1" --type=json -p '[{"op":"add","path":"/metadata/finalizers/-","value":"test.cflux.io/hold"}]' >/dev/null; }
release() { k patch kustomization -n "$NS" "$1" --type=json -p '[{"op":"test","path":"/metadata/finalizers/0","value":"test.cflux.io/hold"},{"op":"remove","path":"/metadata/finalizers/0"}]' >/dev/null; }
deleting() { [ -n "$($KUBECTL get "$1" -n "$NS" "$2" -o jsonpath='{.metadata.deletionTimestamp}' 2>/dev/null)" ]; }
stays() { # KIND NAME...: each exists and is not being deleted
	while [ $# -gt 1 ]; do
		k get "$1" -n "$NS" "$2" >/dev/null && ! deleting "$1" "$2" || { echo "$1 $2 went"; return 1; }
		shift 2
	done
}
hold ord-c
hold ord-b
k delete fluxconfiguration -n "$NS" ord --wait=false >/dev/null
check "deletion starts with the Kustomization nothing depends on (c)" poll 30 deleting kustomization ord-c
after2() { sleep 2; "$@"; }
check "while c stays, b, a and the source stay" \
	after2 stays kustomization ord-b kustomization ord-a gitrepository ord
# Once its own finalizer is gone (it has pruned), drop the test's.
poll 30 release ord-c
check "c gone, b is deleted next" poll 30 deleting kustomization ord-b
check "while b stays, a and the source stay" after2 stays kustomization ord-a gitrepository ord
poll 30 release ord-b
gone() {
	! k get fc -n "$NS" ord >/dev/null 2>&1 && ! k get kustomizations,gitrepositories -n "$NS" -o name | grep -q ord
}
check "then a, the source and the configuration go" poll 60 gone
check "an Event per child deleted" bash -c \
	"[ \"\$($KUBECTL get events -n $NS --field-selector involvedObject.name=ord,reason=DeletingChildren -o name | wc -l)\" -ge 4 ]"
tap_end
