#!/bin/bash
# receiver.sh: Receivers (notification.toolkit.fluxcd.io/v1) — the webhook
# path, each type's check of the caller, and the reconcile a call starts
# (TAP).
#
# A GitRepository with a 10 minute interval learns of a new commit only
# through its Receiver: a GitHub push, signed as GitHub signs it
# (X-Hub-Signature-256), must bring the new revision at once.  Also:
# generic-hmac with matchLabels, gitlab's token and event filter, refusals
# (a bad signature, an event not listed, an unknown path, a suspended
# Receiver), and what cflux does not do stalls by name.
set -u

NAME=receiver
# shellcheck source=test/e2e/lib/operator.bash
. "$(dirname "$0")/lib/operator.bash"

check "CRDs installed" crd_install source.toolkit.fluxcd.io_gitrepositories.yaml \
	kustomize.toolkit.fluxcd.io_kustomizations.yaml notification.toolkit.fluxcd.io_receivers.yaml
k create namespace "$NS" >/dev/null
export -f jpk cond poll

printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  v: "1"\n' >"$W/src/app.yaml"
C1=$(bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src" main)
TOKEN=rcv-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
k create secret generic -n "$NS" webhook-token --from-literal=token="$TOKEN" >/dev/null
k create secret generic -n "$NS" no-token --from-literal=other=x >/dev/null

receiver() { # NAME TYPE RESOURCES-YAML [extra spec lines]
	{
		printf 'apiVersion: notification.toolkit.fluxcd.io/v1\nkind: Receiver\n'
		printf 'metadata:\n  name: %s\n  namespace: %s\n' "$1" "$NS"
		printf 'spec:\n  type: %s\n  secretRef: {name: webhook-token}\n  resources: %s\n' "$2" "$3"
		shift 3
		for l in "$@"; do printf '  %s\n' "$l"; done
	} | k apply -f - >/dev/null
}
GIT='[{kind: GitRepository, name: app}]'
receiver gh github "$GIT" 'events: ["push"]'
receiver gl gitlab "$GIT" 'events: ["Push Hook"]'
receiver hmac generic-hmac '[{kind: Kustomization, name: "*", matchLabels: {team: a}}]'
receiver plain generic "$GIT"
receiver paused generic "$GIT"
receiver bb bitbucket "$GIT"
receiver cel generic "$GIT" 'resourceFilter: "true"'
receiver notoken generic "$GIT"
k patch receiver -n "$NS" notoken --type=merge -p '{"spec":{"secretRef":{"name":"no-token"}}}' >/dev/null

gitrepo app "$GIT_HTTP_URL/$REPO.git" "ref: {branch: main}" >/dev/null
kustomization app app ./ "targetNamespace: $NS" >/dev/null
k label kustomization -n "$NS" app team=a >/dev/null

check "operator starts" start_operator
if [ "$OP_MODE" = cluster ]; then
	HOOK=http://$(k get svc -n "$OP_NS" webhook-receiver -o jsonpath='{.spec.clusterIP}'):80
else
	HOOK=http://127.0.0.1:$RPORT
fi
check "GitRepository Ready at the first commit" poll 60 bash -c \
	"[ \"\$(jpk gitrepository app '{.status.artifact.revision}')\" = main@sha1:$C1 ]"

path_of() { python3 -c 'import hashlib, sys; print("/hook/" + hashlib.sha256((sys.argv[1] + sys.argv[2] + sys.argv[3]).encode()).hexdigest())' "$TOKEN" "$1" "$NS"; }
for r in gh gl hmac plain; do
	check "Receiver $r Ready, webhookPath is Flux's" poll 30 bash -c \
		"[ \"\$(jpk receiver $r '{.status.webhookPath}')\" = '$(path_of $r)' ] && [ \"\$(cond receiver $r Ready message)\" = 'Receiver initialized for path: $(path_of $r)' ]"
done
check "a type cflux does not answer stalls, naming it" poll 30 bash -c \
	"[ \"\$(cond receiver bb Stalled reason)\" = UnsupportedField ] && cond receiver bb Ready message | grep -qF \"spec.type 'bitbucket' is not supported by cflux\""
check "a CEL resourceFilter stalls, naming it" poll 30 bash -c \
	"cond receiver cel Ready message | grep -qF 'spec.resourceFilter (CEL) is not supported by cflux yet'"
check "a Secret without token: Ready=False TokenNotFound" poll 30 bash -c \
	"[ \"\$(cond receiver notoken Ready reason)\" = TokenNotFound ] && cond receiver notoken Ready message | grep -qF \"secret data: required field 'token'\""

# post PATH BODY [curl header args...]: prints the HTTP status
post() {
	local p=$1 b=$2
	shift 2
	curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' "$@" \
		--data-binary "$b" "$HOOK$p"
}
sig() { printf '%s' "$1" | openssl dgst -sha256 -hmac "$TOKEN" | sed 's/^.*= //'; }
export -f post sig path_of
export HOOK TOKEN
BODY='{"ref":"refs/heads/main","after":"x"}'

# ------------------------------------------------------------ GitHub
C2=$(printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  v: "2"\n' >"$W/src/app.yaml" &&
	bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src" main)
check "a bad GitHub signature: 400" bash -c \
	"[ \"\$(post '$(path_of gh)' '$BODY' -H 'X-GitHub-Event: push' -H 'X-Hub-Signature-256: sha256=$(sig other)')\" = 400 ]"
check "a GitHub event not listed in events: 400" bash -c \
	"[ \"\$(post '$(path_of gh)' '$BODY' -H 'X-GitHub-Event: ping' -H 'X-Hub-Signature-256: sha256=$(sig "$BODY")')\" = 400 ]"
check "refused calls changed nothing" bash -c \
	"sleep 1; [ \"\$(jpk gitrepository app '{.status.artifact.revision}')\" = main@sha1:$C1 ] && [ -z \"\$(jpk gitrepository app '{.metadata.annotations.reconcile\.fluxcd\.io/requestedAt}')\" ]"
T0=$(date +%s%N)
check "a signed GitHub push: 200" bash -c \
	"[ \"\$(post '$(path_of gh)' '$BODY' -H 'X-GitHub-Event: push' -H 'X-Hub-Signature-256: sha256=$(sig "$BODY")')\" = 200 ]"
check "... and the GitRepository has the new commit" poll 30 bash -c \
	"[ \"\$(jpk gitrepository app '{.status.artifact.revision}')\" = main@sha1:$C2 ]"
MS=$((($(date +%s%N) - T0) / 1000000))
echo "# push to new revision: $MS ms"
# The figure is printed; the bound only says "at once, not at the next interval"
# (timed assertions on a loaded 2-core machine flake; locally it is ~0.5 s).
check "at once: within 5 s of the push (interval 10m)" [ "$MS" -le 5000 ]
check "the annotation Flux's reconcilers answer: lastHandledReconcileAt" bash -c \
	"[ -n \"\$(jpk gitrepository app '{.metadata.annotations.reconcile\.fluxcd\.io/requestedAt}')\" ] && poll 10 bash -c '[ \"\$(jpk gitrepository app \"{.status.lastHandledReconcileAt}\")\" = \"\$(jpk gitrepository app \"{.metadata.annotations.reconcile\\.fluxcd\\.io/requestedAt}\")\" ]'"

# ------------------------------------------------------------ the others
ann() { jpk "$1" app '{.metadata.annotations.reconcile\.fluxcd\.io/requestedAt}'; }
export -f ann
A=$(ann gitrepository)
check "gitlab: a wrong X-Gitlab-Token: 400" bash -c \
	"[ \"\$(post '$(path_of gl)' '{}' -H 'X-Gitlab-Token: nope' -H 'X-Gitlab-Event: Push Hook')\" = 400 ]"
check "gitlab: an event not listed: 400" bash -c \
	"[ \"\$(post '$(path_of gl)' '{}' -H 'X-Gitlab-Token: $TOKEN' -H 'X-Gitlab-Event: Tag Push Hook')\" = 400 ]"
check "gitlab: the token and a listed event: 200, annotated" bash -c \
	"[ \"\$(post '$(path_of gl)' '{}' -H 'X-Gitlab-Token: $TOKEN' -H 'X-Gitlab-Event: push hook')\" = 200 ] && [ \"\$(ann gitrepository)\" != '$A' ]"
KA=$(ann kustomization)
check "generic-hmac: a bad X-Signature: 400" bash -c \
	"[ \"\$(post '$(path_of hmac)' '{\"a\":1}' -H 'X-Signature: sha256=$(sig x)')\" = 400 ]"
check "generic-hmac: signed, matchLabels: the labelled Kustomization annotated" bash -c \
	"[ \"\$(post '$(path_of hmac)' '{\"a\":1}' -H 'X-Signature: sha256=$(sig '{"a":1}')')\" = 200 ] && [ \"\$(ann kustomization)\" != '$KA' ]"
check "generic: any call: 200" bash -c "[ \"\$(post '$(path_of plain)' '')\" = 200 ]"
k patch receiver -n "$NS" paused --type=merge -p '{"spec":{"suspend":true}}' >/dev/null
check "a Receiver suspended after it was Ready: 503" poll 10 bash -c \
	"[ \"\$(post '$(path_of paused)' '')\" = 503 ]"
check "an unknown path: 404" bash -c "[ \"\$(post /hook/0000 '')\" = 404 ]"
check "not under /hook/: 404" bash -c "[ \"\$(post /other '')\" = 404 ]"
[ -x "$FLUX_CLI" ] || bash "$repo/test/cluster/build.sh" oci >&2
cli_same "get receivers = flux" get receivers -n "$NS"
cli_same "get receivers -A = flux" get receivers -A
cli_same "get receiver NAME (stalled) = flux" get receiver bb -n "$NS"
cli_same "get all = flux (receivers after the Kustomization)" get all -n "$NS"
check "no token in the operator's log or Events" bash -c \
	"! { op_log; k get events -n $NS -o json; } | grep -qF '$TOKEN'"

tap_end
