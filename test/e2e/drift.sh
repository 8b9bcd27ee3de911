#!/bin/bash
# drift.sh: detect-only drift (TAP).
#
# The annotation cflux.io/drift: detect, on an object (in Git or on the
# live object) or on a Kustomization (for all of its objects), makes cflux
# report drift instead of correcting it: nothing is written to that
# object, not even a prune, and the Kustomization's Drifted condition, a
# DriftDetected Event and the metric cflux_drift_objects name the objects
# and the fields that differ.  Without the annotation the same drift is
# corrected, as Flux does.
set -u
NAME=drift
# shellcheck source=test/e2e/lib/operator.bash
. "$(dirname "$0")/lib/operator.bash"

check "CRDs installed" crd_install source.toolkit.fluxcd.io_gitrepositories.yaml \
	kustomize.toolkit.fluxcd.io_kustomizations.yaml
k create namespace "$NS" >/dev/null

cm() { # NAME VALUE [ANNOTATION-LINE]
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: %s\n' "$1" "$NS"
	[ -n "${3:-}" ] && printf '  annotations:\n    %s\n' "$3"
	printf 'data:\n  k: "%s"\n' "$2"
}
mkdir -p "$W/src/app"
cm plain 1 >"$W/src/app/plain.yaml"
cm watched 1 'cflux.io/drift: detect' >"$W/src/app/watched.yaml"
SHA1=$(bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src")
check "operator starts" start_operator
gitrepo src "$GIT_HTTP_URL/$REPO.git" "ref:" "  branch: main" >/dev/null
kustomization app src ./app "prune: true" >/dev/null
requeue() { k annotate kustomization -n "$NS" app --overwrite "reconcile.fluxcd.io/requestedAt=$1" >/dev/null; }
drifted() { cond kustomization app Drifted message; }
applied() { [ "$(cond kustomization app Ready message)" = "Applied revision: main@sha1:$1" ]; }
check "the revision applies: Ready" poll 60 applied "$SHA1"
check "a detect-only object in Git that is absent is not created" bash -c \
	"! $KUBECTL get cm -n $NS watched >/dev/null 2>&1"
check "... and the Drifted condition says so" bash -c \
	"[ \"\$($KUBECTL get kustomization -n $NS app -o jsonpath='{.status.conditions[?(@.type==\"Drifted\")].message}')\" = '1 object drifted from revision main@sha1:$SHA1 and left as it is: ConfigMap/$NS/watched (absent)' ]"
check "... and it is not in the inventory" bash -c \
	"! $KUBECTL get kustomization -n $NS app -o jsonpath='{.status.inventory.entries[*].id}' | grep -q watched"

# A user marks the live object detect-only, then edits it.  A field only
# the user set (extra) is not drift: the apply would leave it too (SSA).
k annotate cm -n "$NS" plain cflux.io/drift=detect >/dev/null
k patch cm -n "$NS" plain --type=merge -p '{"data":{"k":"edited","extra":"x"}}' >/dev/null
requeue 1
two() { drifted | grep -q "^2 objects drifted" && drifted | grep -qF "ConfigMap/$NS/plain (data.k)"; }
check "an edited detect-only object is left as it is, its fields named" poll 30 two
check "... its value is still the edited one" bash -c \
	"[ \"\$($KUBECTL get cm -n $NS plain -o jsonpath='{.data.k}')\" = edited ]"
check "... Ready stays True (the revision is applied)" applied "$SHA1"
check "... a Warning Event DriftDetected names it" poll 10 bash -c \
	"$KUBECTL get events -n $NS --field-selector involvedObject.name=app,reason=DriftDetected -o jsonpath='{.items[*].message}' | grep -qF 'ConfigMap/$NS/plain (data.k)'"
metric() { curl -fsS "http://$OP_ADDR:$MPORT/metrics" | grep -qxF "cflux_drift_objects{kind=\"Kustomization\",name=\"app\",namespace=\"$NS\"} $1"; }
check "... and cflux_drift_objects counts both" poll 10 metric 2

# The annotation removed: the drift is corrected, as without cflux's extension.
k annotate cm -n "$NS" plain cflux.io/drift- >/dev/null
requeue 2
corrected() { [ "$($KUBECTL get cm -n "$NS" plain -o jsonpath='{.data.k}')" = 1 ]; }
check "without the annotation the object is corrected" poll 30 corrected
check "... and only the absent one is left in Drifted" poll 30 bash -c \
	"$KUBECTL get kustomization -n $NS app -o jsonpath='{.status.conditions[?(@.type==\"Drifted\")].message}' | grep -q '^1 object drifted'"

# The whole Kustomization detect-only: no write, no prune.
k annotate kustomization -n "$NS" app cflux.io/drift=detect >/dev/null
k patch cm -n "$NS" plain --type=merge -p '{"data":{"k":"edited-again"}}' >/dev/null
rm "$W/src/app/watched.yaml"
cm other 1 >"$W/src/app/other.yaml"
SHA2=$(bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src")
k annotate gitrepository -n "$NS" src --overwrite reconcile.fluxcd.io/requestedAt=x >/dev/null
whole() {
	applied "$SHA2" && drifted | grep -q "^2 objects drifted from revision main@sha1:$SHA2" &&
		drifted | grep -qF "ConfigMap/$NS/other (absent)" &&
		drifted | grep -qF "ConfigMap/$NS/plain (data.k)"
}
check "a detect-only Kustomization writes nothing: the new object absent, the edit kept" poll 60 whole
check "... neither created nor reverted" bash -c \
	"! $KUBECTL get cm -n $NS other >/dev/null 2>&1 && [ \"\$($KUBECTL get cm -n $NS plain -o jsonpath='{.data.k}')\" = edited-again ]"
k annotate kustomization -n "$NS" app cflux.io/drift- >/dev/null
requeue 3
healed() {
	corrected && k get cm -n "$NS" other >/dev/null 2>&1 &&
		[ -z "$(cond kustomization app Drifted status)" ]
}
check "the annotation removed from the Kustomization: corrected, created, no Drifted left" poll 60 healed
check "... with a DriftResolved Event" poll 10 bash -c \
	"$KUBECTL get events -n $NS --field-selector involvedObject.name=app,reason=DriftResolved -o name | grep -q ."
check "... and cflux_drift_objects is gone for it" bash -c \
	"! curl -fsS http://$OP_ADDR:$MPORT/metrics | grep -qF 'cflux_drift_objects{kind=\"Kustomization\",name=\"app\",namespace=\"$NS\"}'"

# Prune of a detect-only live object.
k annotate cm -n "$NS" other cflux.io/drift=detect >/dev/null
rm "$W/src/app/other.yaml"
SHA3=$(bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src")
k annotate gitrepository -n "$NS" src --overwrite reconcile.fluxcd.io/requestedAt=y >/dev/null
kept() { applied "$SHA3" && drifted | grep -qF "ConfigMap/$NS/other (not in the revision (not pruned))"; }
check "a detect-only object that left Git is not pruned, and is reported" poll 60 kept
check "... it is still there" bash -c "$KUBECTL get cm -n $NS other >/dev/null"
tap_end
