#!/bin/bash
# rollback.sh: revision history and rollback (TAP).
#
# status.history: each applied revision's snapshot, most recent first, with
# the digest kustomize-controller computes (sha256 of the build as
# `kustomize build` prints it: checked against the real kustomize here,
# and against kustomize-controller itself in parity.sh).
#
# `cflux rollback kustomization NAME` pins the GitRepository to the commit
# of the previous applied revision (annotation cflux.io/pinned-commit), says
# what it did and which other Kustomizations follow, and waits until the
# old revision is applied; a new commit is then not followed; --to picks a
# revision or commit; --undo releases the pin and the ref's head comes
# back.  A FluxConfiguration shows its source's pin in statuses[], and its
# own re-apply of the GitRepository keeps it.  A pin set by hand (kubectl
# annotate) acts at once; a malformed one stalls, naming the annotation.
# Also `cflux suspend|resume --all`.
set -u

NAME=rollback
# shellcheck source=test/e2e/lib/operator.bash
. "$(dirname "$0")/lib/operator.bash"

CFLUX=$BIN/cflux
check "CRDs installed" crd_install source.toolkit.fluxcd.io_gitrepositories.yaml \
	kustomize.toolkit.fluxcd.io_kustomizations.yaml clusterconfig.cflux.io_fluxconfigurations.yaml
k create namespace "$NS" >/dev/null
export -f jpk cond poll is_ready

mkdir -p "$W/src/app" "$W/src/other" "$W/src/fc"
commit() { # V: app's ConfigMap at v=V; prints the commit
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: %s\ndata:\n  v: "%s"\n' \
		"$NS" "$1" >"$W/src/app/cm.yaml"
	bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src"
}
printf 'resources: [cm.yaml]\n' >"$W/src/app/kustomization.yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n  namespace: %s\n' "$NS" \
	>"$W/src/other/cm.yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fc\n  namespace: %s\n' "$NS" >"$W/src/fc/cm.yaml"
SHA1=$(commit 1)

check "operator starts" start_operator
gitrepo src "$GIT_HTTP_URL/$REPO.git" "ref: {branch: main}" >/dev/null
kustomization app src ./app "prune: true" >/dev/null
kustomization other src ./other >/dev/null
applied() { [ "$(jpk kustomization "$1" '{.status.lastAppliedRevision}')" = "main@sha1:$2" ]; }
cm_is() { [ "$(jpk configmap app '{.data.v}')" = "$1" ]; }
export -f applied cm_is
check "app applies the first commit" poll 60 applied app "$SHA1"

hist() { jpk kustomization app "{.status.history[$1].$2}"; }
want=sha256:$("$KUSTOMIZE" build "$W/src/app" | sha256sum | cut -d' ' -f1)
check "history: one snapshot, the build's digest as kustomize build's sha256" bash -c \
	"[ \"\$(jpk kustomization app '{.status.history[*].digest}')\" = '$want' ]"
check "... its outcome, revision, count and times" bash -c \
	"[ \"\$(jpk kustomization app '{.status.history[0].lastReconciledStatus}/{.status.history[0].metadata.revision}')\" = 'ReconciliationSucceeded/main@sha1:$SHA1' ] && [ \"\$(jpk kustomization app '{.status.history[0].totalReconciliations}')\" -ge 1 ] && jpk kustomization app '{.status.history[0].firstReconciled} {.status.history[0].lastReconciledDuration}' | grep -Eq '^20[0-9-]+T[0-9:]+Z [0-9.]+m?s$'"

SHA2=$(commit 2)
check "reconcile --with-source applies the second commit" "$CFLUX" reconcile ks app -n "$NS" --with-source
check "... v=2 in the cluster" cm_is 2
check "history: two snapshots, the newest first" bash -c \
	"[ \"\$(jpk kustomization app '{.status.history[*].metadata.revision}')\" = 'main@sha1:$SHA2 main@sha1:$SHA1' ]"

# ------------------------------------------------------------ rollback
"$CFLUX" rollback ks app -n "$NS" >"$W/rb.out" 2>&1
rc=$?
check "rollback: exit 0" [ "$rc" = 0 ]
check "... says what it pins, and from what" grep -qF "► pinning GitRepository $NS/src to commit $SHA1 (revision main@sha1:$SHA1) (applied: main@sha1:$SHA2)" "$W/rb.out"
check "... names the Kustomization that follows the same source" grep -qF "◎ Kustomization $NS/other uses the same source and follows it" "$W/rb.out"
check "... and prints the applied revision" grep -qxF "✔ applied revision main@sha1:$SHA1" "$W/rb.out"
check "the cluster is back at v=1, the source pinned" bash -c \
	"cm_is 1 && [ \"\$(jpk gitrepository src '{.metadata.annotations.cflux\.io/pinned-commit}')\" = $SHA1 ] && [ \"\$(jpk gitrepository src '{.status.artifact.revision}')\" = main@sha1:$SHA1 ]"
check "the GitRepository says so: Pinned=True RolledBack" bash -c \
	"[ \"\$(cond gitrepository src Pinned status)/\$(cond gitrepository src Pinned reason)\" = True/RolledBack ] && cond gitrepository src Pinned message | grep -q 'pinned to commit $SHA1'"
check "the other Kustomization followed" poll 30 applied other "$SHA1"

SHA3=$(commit 3)
"$CFLUX" reconcile source git src -n "$NS" >/dev/null 2>&1
check "a new commit is not followed while pinned" bash -c \
	"sleep 2; cm_is 1 && [ \"\$(jpk gitrepository src '{.status.artifact.revision}')\" = main@sha1:$SHA1 ]"

"$CFLUX" rollback ks app -n "$NS" --undo >"$W/undo.out" 2>&1
rc=$?
check "--undo: exit 0, the ref's head applied again" bash -c \
	"cat '$W/undo.out'; [ $rc = 0 ] && grep -qF '► releasing the pin of GitRepository $NS/src (commit $SHA1)' '$W/undo.out' && grep -qxF '✔ applied revision main@sha1:$SHA3' '$W/undo.out'"
check "... v=3, no annotation, no Pinned condition" bash -c \
	"cm_is 3 && [ -z \"\$(jpk gitrepository src '{.metadata.annotations.cflux\.io/pinned-commit}')\" ] && [ -z \"\$(cond gitrepository src Pinned status)\" ]"

"$CFLUX" rollback ks app -n "$NS" --to "${SHA2:0:8}" >"$W/to.out" 2>&1
rc=$?
check "--to a commit's first digits: that revision applied" bash -c \
	"cat '$W/to.out'; [ $rc = 0 ] && grep -qxF '✔ applied revision main@sha1:$SHA2' '$W/to.out' && cm_is 2"
"$CFLUX" rollback ks app -n "$NS" --undo >/dev/null 2>&1
check "... and undone" cm_is 3

# ------------------------------------------------------------ refusals
refused() { # RC PATTERN ARGS...: the exit status and the message
	local want=$1 pat=$2
	shift 2
	"$CFLUX" "$@" >"$W/r.out" 2>&1
	local rc=$?
	cat "$W/r.out"
	[ "$rc" = "$want" ] && grep -qF -- "$pat" "$W/r.out"
}
check "--undo when not pinned: exit 1" refused 1 "GitRepository $NS/src is not pinned" rollback ks app -n "$NS" --undo
check "--to a revision not in the history: exit 1" refused 1 "revision 'deadbeef' is not in the history" rollback ks app -n "$NS" --to deadbeef
check "--to with --undo: exit 2" refused 2 "--to and --undo exclude each other" rollback ks app -n "$NS" --undo --to x
check "rollback of another kind: exit 2" refused 2 "rollback is for a Kustomization" rollback source git src -n "$NS"
check "rollback of a missing Kustomization: exit 1" refused 1 "Kustomization object 'nope' not found" rollback ks nope -n "$NS"

# ------------------------------------------------------------ the annotation by hand
k annotate gitrepository -n "$NS" src "cflux.io/pinned-commit=$SHA2" >/dev/null
check "kubectl annotate alone: the pin acts at once" poll 30 bash -c "applied app $SHA2 && cm_is 2"
k annotate gitrepository -n "$NS" src "cflux.io/pinned-commit=v1.0" --overwrite >/dev/null
check "a malformed pin: Stalled, naming the annotation" poll 30 bash -c \
	"[ \"\$(cond gitrepository src Stalled reason)\" = InvalidPin ] && cond gitrepository src Stalled message | grep -qF \"invalid annotation cflux.io/pinned-commit 'v1.0'\""
check "... and the cluster is left as it was" cm_is 2
k annotate gitrepository -n "$NS" src "cflux.io/pinned-commit-" >/dev/null
check "removed: the ref's head again" poll 30 bash -c "applied app $SHA3 && cm_is 3 && [ -z \"\$(cond gitrepository src Stalled status)\" ]"

# ------------------------------------------------------------ suspend|resume --all
check "suspend ks --all" "$CFLUX" suspend ks --all -n "$NS"
check "... every Kustomization of the namespace suspended" bash -c \
	"k get ks -n $NS -o jsonpath='{range .items[*]}{.spec.suspend}{\" \"}{end}'; [ \"\$(k get ks -n $NS -o jsonpath='{range .items[*]}{.spec.suspend}{\" \"}{end}')\" = 'true true ' ]"
check "resume ks --all waits for each" "$CFLUX" resume ks --all -n "$NS"
check "... none suspended, all Ready" bash -c \
	"[ \"\$(k get ks -n $NS -o jsonpath='{range .items[*]}{.spec.suspend}{\" \"}{end}')\" = 'false false ' ] && is_ready Kustomization app True && is_ready Kustomization other True"
check "--all with a name: exit 2" refused 2 "--all takes no name" suspend ks app --all -n "$NS"

# ------------------------------------------------------------ a FluxConfiguration
printf 'apiVersion: clusterconfig.cflux.io/v1\nkind: FluxConfiguration\nmetadata:\n  name: cfg\n  namespace: %s\nspec:\n  scope: cluster\n  namespace: %s\n  sourceKind: GitRepository\n  gitRepository:\n    url: %s\n    syncIntervalInSeconds: 600\n    repositoryRef: {branch: main}\n  kustomizations:\n    apps: {path: ./fc, prune: true}\n' \
	"$NS" "$NS" "$GIT_HTTP_URL/$REPO.git" | k apply -f - >/dev/null
check "the FluxConfiguration applies the head" poll 60 applied cfg-apps "$SHA3"
"$CFLUX" rollback ks cfg-apps -n "$NS" --to "$SHA1" >"$W/fc.out" 2>&1
rc=$?
check "rollback --to a full commit not in the history: taken as given" bash -c \
	"cat '$W/fc.out'; [ $rc = 0 ] && grep -qF 'commit $SHA1 is not in the history' '$W/fc.out' && grep -qxF '✔ applied revision main@sha1:$SHA1' '$W/fc.out'"
fc_pinned() {
	k get fluxconfiguration -n "$NS" cfg -o jsonpath='{range .status.statuses[*]}{.kind}/{.name}:{range .statusConditions[*]}{.type}={.status},{end}{"\n"}{end}' |
		grep -q '^GitRepository/cfg:.*Pinned=True' &&
		[ "$(jpk fluxconfiguration cfg '{.status.sourceSyncedCommitId}')" = "main@sha1:$SHA1" ]
}
export -f fc_pinned
check "the FluxConfiguration shows the pin (statuses[], sourceSyncedCommitId)" poll 30 fc_pinned
k patch fluxconfiguration -n "$NS" cfg --type=merge -p '{"spec":{"gitRepository":{"syncIntervalInSeconds":300}}}' >/dev/null
check "its re-apply of the GitRepository keeps the pin" bash -c \
	"poll 30 bash -c '[ \"\$(jpk gitrepository cfg \"{.spec.interval}\")\" = 5m0s ]' && sleep 2 && [ \"\$(jpk gitrepository cfg '{.metadata.annotations.cflux\.io/pinned-commit}')\" = $SHA1 ] && applied cfg-apps $SHA1"

tap_end
