#!/bin/bash
# rbac.sh: the operator as the chart installs it, with nothing but the
# chart's RBAC (TAP).  The operator runs in a namespace of its own; the
# objects live in another, as Azure's configurations do.  The three things
# the chart's RBAC once broke (issue 16): writing the <config>-auth Secret,
# a FluxConfiguration outside the release namespace (its flux-applier set up
# there), and garbage collection on deletion; then a garbage collection that
# is forbidden keeps the finalizer and says why; and `kubectl auth can-i
# --list` for the operator is exactly the table of charts/cflux/README.md.
# In local mode (no node, or the sanitizer build) the operator runs with
# the admin kubeconfig: the RBAC parts are skipped there.
set -u
NAME=rbac
# shellcheck source=test/e2e/lib/operator.bash
. "$(dirname "$0")/lib/operator.bash"

cluster_only "the chart's RBAC needs the operator in the cluster"

OPNS=$NS-op
OTHER=$NS-other
k create namespace "$NS" >/dev/null
k create namespace "$OTHER" >/dev/null
trap 'e2e_cleanup; k delete namespace "$OTHER" --wait=false >/dev/null 2>&1' EXIT
mkdir -p "$W/src/app" "$W/src/there" "$W/src/gc" "$W/src/lim"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: %s\ndata:\n  v: "1"\n' "$NS" >"$W/src/app/cm.yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: there\n  namespace: %s\n' "$OTHER" >"$W/src/there/cm.yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gc\n  namespace: %s\n' "$NS" >"$W/src/gc/cm.yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lim\n  namespace: %s\n' "$NS" >"$W/src/lim/cm.yaml"
bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src" >/dev/null

check "helm install with the chart's defaults (multi-tenancy), in its own namespace" \
	start_operator --release-namespace="$OPNS"
SA=system:serviceaccount:$OPNS:cflux-operator

# ------------------------------------------------------------ can-i --list
canis() { # the resource rows of can-i --list: "resource names verbs", sorted
	k auth can-i --list --as="$SA" -n "$OPNS" | awk 'NR > 1 && $1 !~ /^\[/ {
		names = $3; gsub(/[][]/, "", names); v = ""
		for (i = 4; i <= NF; i++) v = v " " $i; gsub(/[][]/, "", v); sub(/^ /, "", v)
		print $1 "|" names "|" v }' | sort
}
documented() {
	sed -n '/<!-- can-i:begin -->/,/<!-- can-i:end -->/p' "$repo/charts/cflux/README.md" |
		awk -F'|' 'NR > 3 && NF > 4 { r = $2; n = $3; v = $4; gsub(/[` ]/, "", r); gsub(/ /, "", n)
			gsub(/^ +| +$/, "", v); print r "|" n "|" v }' | sort
}
documented_rows() { documented | wc -l; }
check "kubectl auth can-i --list for the operator is the README's table" \
	bash -c '[ "$1" -gt 10 ] && diff <(echo "$2") <(echo "$3")' _ "$(documented_rows)" "$(canis)" "$(documented)"
check "the operator may not read ConfigMaps, list Secrets or touch Deployments itself" bash -c \
	"! $KUBECTL auth can-i get configmaps --as=$SA -n $NS && ! $KUBECTL auth can-i list secrets --as=$SA -n $NS && ! $KUBECTL auth can-i create deployments --as=$SA -n $NS"

# ------------------------------------------------------------ 1 and 2: a FluxConfiguration elsewhere, with credentials
k create secret generic -n "$NS" ps --from-literal=httpsKey="$GIT_HTTP_PASSWORD" >/dev/null
printf 'apiVersion: clusterconfig.cflux.io/v1\nkind: FluxConfiguration\nmetadata:\n  name: cfg\n  namespace: %s\nspec:\n  scope: cluster\n  gitRepository:\n    url: %s\n    repositoryRef: {branch: main}\n    httpsUser: %s\n  protectedSettingsSecretRef: {name: ps}\n  kustomizations:\n    app: {path: ./app, prune: true, retryIntervalInSeconds: 2}\n    there: {path: ./there, prune: true, retryIntervalInSeconds: 2}\n' \
	"$NS" "$GIT_HTTP_AUTH_URL/$REPO.git" "$GIT_HTTP_USER" | k apply -f - >/dev/null
compliant() { [ "$(jpk fluxconfiguration cfg '{.status.complianceState}')" = Compliant ]; }
check "a FluxConfiguration outside the release namespace, with httpsUser and protected settings: Compliant" \
	poll 90 compliant
check "the <config>-auth Secret was written (username, password)" bash -c \
	"[ \"\$($KUBECTL get secret -n $NS cfg-auth -o go-template='{{range \$k, \$v := .data}}{{\$k}} {{end}}')\" = 'password username ' ]"
check "flux-applier set up in the configuration's namespace, bound to cluster-admin (scope cluster)" bash -c \
	"$KUBECTL get serviceaccount -n $NS flux-applier >/dev/null && [ \"\$($KUBECTL get clusterrolebinding flux-applier-$NS -o jsonpath='{.roleRef.name} {.subjects[0].namespace}/{.subjects[0].name}')\" = 'cluster-admin $NS/flux-applier' ]"
check "applied as flux-applier, in its namespace and (scope cluster) another" bash -c \
	"$KUBECTL get cm -n $NS app >/dev/null && $KUBECTL get cm -n $OTHER there >/dev/null"

# ------------------------------------------------------------ 3: garbage collection on deletion
gitrepo src "$GIT_HTTP_URL/$REPO.git" "ref:" "  branch: main" >/dev/null
kustomization gc src ./gc "prune: true" >/dev/null
check "a prune: true Kustomization applies" poll 60 is_ready kustomization gc True
k delete kustomization -n "$NS" gc --wait=false >/dev/null
check "deleting it removes what it applied, and then the Kustomization" poll 60 bash -c \
	"! $KUBECTL get kustomization -n $NS gc >/dev/null 2>&1 && ! $KUBECTL get cm -n $NS gc >/dev/null 2>&1"

# ------------------------------------------------------------ a forbidden garbage collection
k create serviceaccount -n "$NS" limited >/dev/null
k create role -n "$NS" limited --verb=get,list,watch,create,update,patch --resource=configmaps >/dev/null
k create rolebinding -n "$NS" limited --role=limited --serviceaccount="$NS:limited" >/dev/null
kustomization lim src ./lim "prune: true" "serviceAccountName: limited" >/dev/null
check "a Kustomization whose account may not delete applies" poll 60 is_ready kustomization lim True
k delete kustomization -n "$NS" lim --wait=false >/dev/null
held() {
	k get kustomization -n "$NS" lim -o jsonpath='{.metadata.finalizers}' | grep -q finalizers.fluxcd.io &&
		[ "$(cond kustomization lim Ready reason)" = PruneFailed ] &&
		cond kustomization lim Ready message | tee /dev/stderr | grep -q "forbidden"
}
check "its deletion is forbidden to prune: the finalizer stays, Ready=False PruneFailed says so" poll 60 held
check "... and the objects are still there" bash -c "$KUBECTL get cm -n $NS lim >/dev/null"
check "... a Warning Event says it too" poll 30 bash -c \
	"$KUBECTL get events -n $NS --field-selector involvedObject.name=lim,reason=PruneFailed -o name | grep -q ."
k create role -n "$NS" limited --verb=get,list,watch,create,update,patch,delete --resource=configmaps \
	--dry-run=client -o yaml | k apply -f - >/dev/null
check "once it may delete: the objects go, then the Kustomization" poll 60 bash -c \
	"! $KUBECTL get kustomization -n $NS lim >/dev/null 2>&1 && ! $KUBECTL get cm -n $NS lim >/dev/null 2>&1"

k delete fluxconfiguration -n "$NS" cfg --wait=false >/dev/null
check "deleting the FluxConfiguration prunes its objects in both namespaces" poll 60 bash -c \
	"! $KUBECTL get fluxconfiguration -n $NS cfg >/dev/null 2>&1 && ! $KUBECTL get cm -n $OTHER there >/dev/null 2>&1"
k delete clusterrolebinding "flux-applier-$NS" --ignore-not-found >/dev/null
tap_end
