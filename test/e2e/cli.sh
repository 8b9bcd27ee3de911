#!/bin/bash
# cli.sh: bin/cflux's cluster commands (get, tree, trace, events, reconcile,
# suspend, resume)
# against the real control plane with the operator running (TAP).
#
# The oracle is the real flux CLI (built from its Go module, test/cluster/
# build.sh oci): on the same objects `cflux get` must print byte for byte
# what `flux get` prints.  reconcile must wait for a new commit to be
# applied and print it; suspend and resume must change spec.suspend and
# the operator's behaviour.  Also: the kubectl flags (--kubeconfig,
# --context), bad flags refused, -o json|yaml, --status-selector, and the
# flux CLI's own reconcile/suspend/resume working against cflux.
set -u
NAME=cli
# shellcheck source=test/e2e/lib/operator.bash
. "$(dirname "$0")/lib/operator.bash"

[ -x "$FLUX_CLI" ] || bash "$repo/test/cluster/build.sh" oci >&2
CFLUX=$BIN/cflux
# Both CLIs read the same objects; neither may look at the other's environment.
unset FLUX_SYSTEM_NAMESPACE FLUX_NS_FOLLOWS_KUBE_CONTEXT

check "CRDs installed" crd_install source.toolkit.fluxcd.io_gitrepositories.yaml \
	kustomize.toolkit.fluxcd.io_kustomizations.yaml clusterconfig.cflux.io_fluxconfigurations.yaml
k create namespace "$NS" >/dev/null

mkdir -p "$W/src/app"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: %s\ndata: {v: "1"}\n' \
	"$NS" >"$W/src/app/cm.yaml"
SHA1=$(bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src")
check "operator starts" start_operator
gitrepo src "$GIT_HTTP_URL/$REPO.git" "ref:" "  branch: main" >/dev/null
kustomization app src ./app >/dev/null
kustomization broken src ./missing >/dev/null
check "app Ready" poll 60 is_ready Kustomization app True
check "broken Ready=False" poll 60 is_ready Kustomization broken False

same() { cli_same "$@"; }
same "get sources git = flux" get sources git -n "$NS"
same "get kustomizations = flux" get kustomizations -n "$NS"
same "get ks NAME = flux" get ks app -n "$NS"
same "get ks --status-selector ready=false = flux" get ks -n "$NS" --status-selector ready=false
same "get ks --status-selector ready!=false = flux" get ks -n "$NS" --status-selector 'ready!=false'
same "get ks --no-header = flux" get ks -n "$NS" --no-header
same "get sources all = flux" get sources all -n "$NS"
same "get all = flux" get all -n "$NS"
k label ks app broken -n "$NS" "cli-test=$NS" >/dev/null
same "get -A -l (namespace column) = flux" get ks -A -l "cli-test=$NS"
same "get -A -l --status-selector = flux" get ks -A -l "cli-test=$NS" --status-selector ready=true
same "get helmreleases (none) = flux" get hr -n "$NS"

# get --watch: both CLIs watch the same Kustomization through a suspend and a resume
# (started while it is at rest, so that both begin from the same state)
poll 30 is_ready Kustomization app True
sleep 1
"$CFLUX" get ks app -n "$NS" --watch >"$W/cw.out" 2>&1 &
CW=$!
"$FLUX_CLI" get ks app -n "$NS" --watch >"$W/fw.out" 2>&1 &
FW=$!
check "get --watch: the object first, with the header" poll 20 bash -c \
	"[ \$(wc -l <'$W/cw.out') -ge 2 ] && [ \$(wc -l <'$W/fw.out') -ge 2 ]"
k patch ks app -n "$NS" --type=merge -p '{"spec":{"suspend":true}}' >/dev/null
sleep 1
k patch ks app -n "$NS" --type=merge -p '{"spec":{"suspend":false}}' >/dev/null
check "get --watch: each change a row" poll 20 bash -c "[ \$(wc -l <'$W/cw.out') -ge 4 ]"
sleep 3 # the resumed reconcile's status writes
kill "$CW" "$FW" 2>/dev/null
wait "$CW" "$FW" 2>/dev/null
check "get --watch: the same rows as flux's, event by event" bash -c \
	"diff '$W/fw.out' '$W/cw.out'"
check "get all --watch: refused as flux refuses it" bash -c \
	"'$CFLUX' get all --watch -n '$NS' 2>&1 | grep -qxF '✗ expected a single resource type, but found all'"

# ------------------------------------------------------------ tree
# A Kustomization that applies another (and a Secret and a ConfigMap): flux
# tree opens the inner one's inventory.
mkdir -p "$W/src/outer" "$W/src/inner"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: inner\n  namespace: %s\ndata: {v: "1"}\n' \
	"$NS" >"$W/src/inner/cm.yaml"
{
	printf 'apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: inner\n  namespace: %s\n' "$NS"
	printf 'spec:\n  interval: 10m\n  path: ./inner\n  prune: true\n  sourceRef: {kind: GitRepository, name: src}\n---\n'
	printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: outer\n  namespace: %s\nstringData: {k: v}\n---\n' "$NS"
	printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s-tree\n' "$NS"
} >"$W/src/outer/objects.yaml"
bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src" >/dev/null
k annotate gitrepository -n "$NS" src --overwrite reconcile.fluxcd.io/requestedAt=tree >/dev/null
kustomization outer src ./outer "prune: true" >/dev/null
check "outer and the inner it applies Ready" poll 90 bash -c \
	"$(declare -f is_ready cond jpk k); KUBECTL='$KUBECTL' NS='$NS'; is_ready Kustomization outer True && is_ready Kustomization inner True"
same "tree ks (nested) = flux" tree ks outer -n "$NS"
same "tree kustomization --compact = flux" tree kustomization outer -n "$NS" --compact
same "tree ks -o json = flux" tree ks outer -n "$NS" -o json
same "tree ks -o yaml = flux" tree ks outer -n "$NS" -o yaml
same "tree of a missing Kustomization: the same error exit" tree ks nope -n "$NS"

# ------------------------------------------------------------ trace
# trace: flux's report byte for byte, once cflux's two provenance lines
# (Source path, Changed in) are taken out; failures on stderr as flux's.
k create configmap -n "$NS" loose --from-literal=v=1 >/dev/null
same_trace() {
	local desc=$1 rc1 rc2
	shift
	"$CFLUX" trace "$@" >"$W/c.out" 2>"$W/c.err"; rc1=$?
	"$FLUX_CLI" trace "$@" >"$W/f.out" 2>"$W/f.err"; rc2=$?
	grep -vE '^(Source path|Changed in): ' "$W/c.out" >"$W/c.cmp"
	if [ "$rc1" = "$rc2" ] && cmp -s "$W/c.cmp" "$W/f.out" && cmp -s "$W/c.err" "$W/f.err"; then
		pass "$desc"
	else
		{ echo "cflux rc=$rc1 flux rc=$rc2"; diff "$W/f.out" "$W/c.cmp"; diff "$W/f.err" "$W/c.err"; } >"$OUT"
		fail "$desc"
	fi
}
same_trace "trace configmap NAME = flux (Kustomization, GitRepository)" configmap app -n "$NS"
same_trace "trace cm/NAME cm/NAME = flux (two reports, one not managed)" cm/app cm/loose -n "$NS"
same_trace "trace NAME --kind --api-version = flux" app --kind=ConfigMap --api-version=v1 -n "$NS"
same_trace "trace of a Kustomization applied by another = flux" kustomization inner -n "$NS"
check "trace: cflux adds where the object came from (file:line, the commit that changed it)" bash -c \
	"'$CFLUX' trace cm app -n '$NS' | grep -qx 'Source path:     app/cm.yaml:1' &&
	 '$CFLUX' trace cm app -n '$NS' | grep -qx 'Changed in:      main@sha1:$SHA1'"
check "trace without a name: refused, exit 1" bash -c "! '$CFLUX' trace cm -n '$NS' 2>/dev/null"
k delete kustomization -n "$NS" outer --wait=false >/dev/null

# The message for nothing found, on stderr as flux prints it.
"$CFLUX" get ks nope -n "$NS" 2>"$W/c.err"; rc1=$?
"$FLUX_CLI" get ks nope -n "$NS" 2>"$W/f.err"
check "get of a missing object: flux's message, exit 1" \
	bash -c "[ $rc1 = 1 ] && cmp '$W/c.err' '$W/f.err'"

check "get ks -o json: a List of the Kustomizations" bash -c \
	"'$CFLUX' get ks -n '$NS' -o json | jq -e '.kind == \"List\" and ([.items[].metadata.name] | sort) == [\"app\",\"broken\"]'"
check "get ks NAME -o yaml: the object" bash -c \
	"'$CFLUX' get ks app -n '$NS' -o yaml | grep -qx 'kind: Kustomization'"
check "get fluxconfigurations (none): flux-style message, exit 1" bash -c \
	"'$CFLUX' get fc -n '$NS' 2>&1 | grep -qx \"✗ no FluxConfiguration objects found in \\\"$NS\\\" namespace\" && [ \${PIPESTATUS[0]} = 1 ]"

# ------------------------------------------------------------ flags
check "bad flag refused (exit 2, named)" bash -c \
	"'$CFLUX' get ks --bogus 2>&1 >/dev/null | grep -q 'unknown flag: --bogus' && [ \${PIPESTATUS[0]} = 2 ]"
check "--with-source refused by get" bash -c \
	"'$CFLUX' get ks --with-source >/dev/null 2>&1; [ \$? = 2 ]"
check "bad output format refused" bash -c "! '$CFLUX' get ks -o wide -n '$NS' 2>/dev/null"
check "--kubeconfig FILE without KUBECONFIG" bash -c \
	"env -u KUBECONFIG HOME=/nonexistent '$CFLUX' get ks app -n '$NS' --kubeconfig '$KUBECONFIG' | grep -q '^app'"
ctx=$(k config current-context)
check "--context NAME" bash -c "'$CFLUX' --context '$ctx' get ks app -n '$NS' 2>&1 | grep -q '^app' ||
	'$CFLUX' get ks app -n '$NS' --context '$ctx' | grep -q '^app'"
check "--context unknown: named in the error" bash -c \
	"'$CFLUX' get ks -n '$NS' --context nosuch 2>&1 | grep -q nosuch"
check "FLUX_SYSTEM_NAMESPACE is the default namespace" bash -c \
	"FLUX_SYSTEM_NAMESPACE='$NS' '$CFLUX' get ks app | grep -q '^app'"

# ------------------------------------------------------------ events
# LAST SEEN moves with the clock: compare the other columns.
events_cols() { "$1" events -n "$NS" --for "$2" 2>&1 | awk -F'\t' '{ $1 = ""; print }' | sed 's/  */ /g'; }
export -f events_cols
check "events --for Kustomization/app = flux (but LAST SEEN)" bash -c \
	"[ \"\$(events_cols '$CFLUX' Kustomization/app)\" = \"\$(events_cols '$FLUX_CLI' Kustomization/app)\" ]"
check "events: the Kustomization's ReconciliationSucceeded or Progressing event" bash -c \
	"'$CFLUX' events -n '$NS' --for Kustomization/app | grep -q 'Kustomization/app'"
check "events --for GitRepository/src = flux (but LAST SEEN)" bash -c \
	"[ \"\$(events_cols '$CFLUX' GitRepository/src)\" = \"\$(events_cols '$FLUX_CLI' GitRepository/src)\" ]"
check "events --for bad selector refused" bash -c "! '$CFLUX' events --for Nope/x -n '$NS' 2>/dev/null"

# ------------------------------------------------------------ reconcile
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: %s\ndata: {v: "2"}\n' \
	"$NS" >"$W/src/app/cm.yaml"
SHA2=$(bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src")
"$CFLUX" reconcile ks app -n "$NS" --with-source >"$W/rec.out" 2>&1; rc=$?
cp "$W/rec.out" "$OUT"
check "reconcile --with-source: exit 0" test "$rc" = 0
check "reconcile --with-source: the source fetched the new commit" \
	grep -qx "✔ fetched revision main@sha1:$SHA2" "$W/rec.out"
check "reconcile --with-source: applied the new commit, printed" \
	grep -qx "✔ applied revision main@sha1:$SHA2" "$W/rec.out"
check "reconcile: the cluster has the new data" bash -c \
	"[ \"\$(k get cm app -n '$NS' -o jsonpath='{.data.v}')\" = 2 ]"
check "reconcile: lastHandledReconcileAt = the requestedAt annotation" bash -c \
	"a=\$(k get ks app -n '$NS' -o jsonpath='{.metadata.annotations.reconcile\\.fluxcd\\.io/requestedAt}');
	 [ -n \"\$a\" ] && [ \"\$a\" = \"\$(k get ks app -n '$NS' -o jsonpath='{.status.lastHandledReconcileAt}')\" ]"
"$CFLUX" reconcile ks broken -n "$NS" --timeout 60s >"$W/broken.out" 2>&1; rc=$?
check "reconcile of a failing Kustomization: exit 1 with its Ready message" bash -c \
	"cat '$W/broken.out'; [ $rc = 1 ] && grep -q \"Kustomization reconciliation failed: '.*missing\" '$W/broken.out'"
check "reconcile source git" bash -c \
	"'$CFLUX' reconcile source git src -n '$NS' 2>&1 | grep -qx '✔ fetched revision main@sha1:$SHA2'"
check "reconcile of a missing object fails" bash -c "! '$CFLUX' reconcile ks nope -n '$NS' 2>/dev/null"

# ------------------------------------------------------------ suspend / resume
check "suspend ks" bash -c "'$CFLUX' suspend ks app -n '$NS' 2>&1 | grep -qx '✔ kustomization suspended'"
check "suspend: spec.suspend=true" bash -c \
	"[ \"\$(k get ks app -n '$NS' -o jsonpath='{.spec.suspend}')\" = true ]"
same "get ks shows SUSPENDED True = flux" get ks app -n "$NS"
check "reconcile of a suspended object refused" bash -c \
	"'$CFLUX' reconcile ks app -n '$NS' 2>&1 | grep -qx '✗ resource is suspended'"
# While suspended a new commit is not applied.
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: %s\ndata: {v: "3"}\n' \
	"$NS" >"$W/src/app/cm.yaml"
SHA3=$(bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src")
"$CFLUX" reconcile source git src -n "$NS" >/dev/null 2>&1
sleep 2
check "suspended: the new commit is not applied" bash -c \
	"[ \"\$(k get cm app -n '$NS' -o jsonpath='{.data.v}')\" = 2 ]"
"$CFLUX" resume ks app -n "$NS" >"$W/res.out" 2>&1; rc=$?
cp "$W/res.out" "$OUT"
check "resume: exit 0, completed" bash -c \
	"[ $rc = 0 ] && grep -qx '✔ Kustomization app reconciliation completed' '$W/res.out'"
check "resume: spec.suspend=false and the new commit applied" bash -c \
	"[ \"\$(k get ks app -n '$NS' -o jsonpath='{.spec.suspend}')\" = false ] &&
	 [ \"\$(k get cm app -n '$NS' -o jsonpath='{.data.v}')\" = 3 ]"
check "resume: printed the applied revision" grep -qx "✔ applied revision main@sha1:$SHA3" "$W/res.out"
check "suspend of an Extension refused" bash -c "! '$CFLUX' suspend extension x -n '$NS' 2>/dev/null"

# ------------------------------------------------------------ the flux CLI against cflux
check "flux reconcile ks --with-source works on cflux" \
	"$FLUX_CLI" reconcile ks app -n "$NS" --with-source --timeout 60s
check "flux suspend / resume work on cflux" bash -c \
	"'$FLUX_CLI' suspend ks app -n '$NS' && '$FLUX_CLI' resume ks app -n '$NS' --timeout 60s"

# ------------------------------------------------------------ config (az k8s-configuration flux)
mkdir -p "$W/src/cfgapp"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfgapp\n  namespace: %s\n' "$NS" \
	>"$W/src/cfgapp/cm.yaml"
bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src" >/dev/null
"$CFLUX" config create cfg -n "$NS" -u "$GIT_HTTP_URL/$REPO.git" --branch main --interval 1m \
	--kustomization name=app path=./cfgapp prune=true disable_health_check=true \
	--kustomization name=later path=./cfgapp depends_on=app >"$W/cfg.json" 2>"$W/cfg.err"; rc=$?
cp "$W/cfg.err" "$OUT"
check "config create: exit 0 once provisioned, az's flattened JSON (provisioningState Succeeded)" bash -c \
	"[ $rc = 0 ] && jq -e '.name == \"cfg\" and .provisioningState == \"Succeeded\" and .gitRepository.repositoryRef.branch == \"main\" and .gitRepository.syncIntervalInSeconds == 60 and .kustomizations.app.prune == true and .kustomizations.app.wait == false and .kustomizations.later.dependsOn == [\"app\"]' '$W/cfg.json'"
check "config create: the Flux objects it stands for reconcile (cfg-app applies its ConfigMap)" poll 90 bash -c \
	"$(declare -f k); KUBECTL='$KUBECTL'; k get cm -n '$NS' cfgapp >/dev/null 2>&1"
check "config list: the configuration, as JSON" bash -c \
	"'$CFLUX' config list -n '$NS' | jq -e 'map(.name) == [\"cfg\"]'"
check "config list -o table: az's columns" bash -c \
	"'$CFLUX' config list -n '$NS' -o table | awk 'NR == 1 && \$1 == \"Namespace\" && \$3 == \"Scope\" { h = 1 } NR == 2 && \$2 == \"cfg\" && \$3 == \"cluster\" { r = 1 } END { exit !(h && r) }'"
check "config show: the configuration" bash -c \
	"'$CFLUX' config show cfg -n '$NS' | jq -e '.gitRepository.url == \"$GIT_HTTP_URL/$REPO.git\"'"
check "config create again: an update (a changed flag applied)" bash -c \
	"'$CFLUX' config create cfg -n '$NS' -u '$GIT_HTTP_URL/$REPO.git' --branch main --interval 2m --kustomization name=app path=./cfgapp prune=true disable_health_check=true | jq -e '.gitRepository.syncIntervalInSeconds == 120 and (.kustomizations | keys) == [\"app\"]'"
check "config create: az's checks before any request (two refs refused, exit 2)" bash -c \
	"'$CFLUX' config create bad -n '$NS' -u https://x/r.git --branch a --tag b 2>&1; [ \$? = 2 ]"
check "config delete: waits until it is gone, and what it applied is pruned" bash -c \
	"'$CFLUX' config delete cfg -n '$NS' && ! $KUBECTL get fluxconfiguration -n '$NS' cfg 2>/dev/null && ! $KUBECTL get kustomization -n '$NS' cfg-app 2>/dev/null"
check "config show of what is gone: exit 1" bash -c "! '$CFLUX' config show cfg -n '$NS' 2>/dev/null"

# ------------------------------------------------------------ completion (bash, and zsh through bashcompinit)
# zsh from Debian's packages, unpacked under the test tools (not on these machines).
ZSH_ROOT=$CFLUX_TESTBIN/zsh-deb
if [ ! -x "$ZSH_ROOT/bin/zsh" ]; then
	(d=$(mktemp -d) && cd "$d" && apt-get download zsh zsh-common >/dev/null 2>&1 &&
		for p in ./*.deb; do dpkg-deb -x "$p" "$ZSH_ROOT"; done; rm -rf "$d")
fi
# comp SHELL WORD...: what completing the last WORD offers, one per line
comp() {
	local sh=$1
	shift
	if [ "$sh" = bash ]; then
		PATH=$BIN:$PATH bash -c 'source <(cflux completion bash); COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _cflux; printf "%s\n" "${COMPREPLY[@]}"' _ "$@"
	else
		PATH=$BIN:$PATH "$ZSH_ROOT/bin/zsh" -f -c 'module_path=("$1"/usr/lib/x86_64-linux-gnu/zsh/5.9); fpath=("$1"/usr/share/zsh/functions/*(/)); shift; autoload -U compinit && compinit -u -D; source <(cflux completion zsh); emulate -L sh; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _cflux; printf "%s\n" "${COMPREPLY[@]}"' _ "$ZSH_ROOT" "$@"
	fi
}
# offers SHELL WANT WORD...: WANT is among the completions (bash filters by the
# word; zsh filters afterwards, as its completion system matches itself)
offers() { local sh=$1 want=$2; shift 2; comp "$sh" "$@" | grep -qxF -- "$want"; }
only() { [ "$(comp bash "${@:2}" | tr '\n' ' ')" = "$1" ]; }
check "completion bash: the verbs, filtered by the word" only "reconcile resume " cflux re
check "completion bash: sources' kinds" offers bash chart cflux get sources ch
check "completion bash: object names from the cluster, in -n's namespace" offers bash app cflux reconcile ks -n "$NS" a
check "completion bash: a source's names" offers bash src cflux get sources git --namespace "$NS" ""
check "completion bash: a command's flags" offers bash --with-source cflux reconcile ks app --wi
check "completion bash: flag values (--level)" offers bash error cflux logs --level e
check "completion zsh: the same function through bashcompinit: kinds" offers zsh kustomizations cflux get ""
check "completion zsh: names from the cluster" offers zsh broken cflux reconcile kustomization -n "$NS" ""
check "completion: another shell refused, exit 2" bash -c "'$CFLUX' completion fish 2>/dev/null; [ \$? = 2 ]"

# ------------------------------------------------------------ the flux CLI's check and get all -A
check "flux get all -A: every namespace, ours among them" bash -c \
	"'$FLUX_CLI' get all -A >'$W/all.out' 2>&1; grep -qE '^$NS[[:space:]]+kustomization/app[[:space:]]' '$W/all.out'"
if [ "$OP_MODE" = cluster ]; then
	check "flux check: passes on cflux's chart (its Deployment and CRDs carry part-of=flux)" bash -c \
		"'$FLUX_CLI' check --namespace '$OP_NS' >'$W/check.out' 2>&1; rc=\$?; cat '$W/check.out'; [ \$rc = 0 ] && grep -qxF '✔ cflux-operator: deployment ready' '$W/check.out' && grep -qxF '✔ kustomizations.kustomize.toolkit.fluxcd.io/v1' '$W/check.out' && grep -qxF '✔ fluxconfigurations.clusterconfig.cflux.io/v1' '$W/check.out'"
fi

# ------------------------------------------------------------ logs (the operator's pods)
check "logs: a bad level refused, exit 2" bash -c "'$CFLUX' logs --level warn 2>&1; [ \$? = 2 ]"
check "logs: an argument refused, exit 2" bash -c "'$CFLUX' logs app 2>&1; [ \$? = 2 ]"
if [ "$OP_MODE" = cluster ]; then
	LOGS=("$CFLUX" logs --flux-namespace "$OP_NS" -n "$NS")
	k patch ks broken -n "$NS" --type=merge -p '{"spec":{"path":"./missing-for-logs"}}' >/dev/null
	LAST="error Kustomization/broken.$NS - Reconciliation failed kustomization path not found: './missing-for-logs'"
	logs_say() { "${LOGS[@]}" "$@" 2>&1 | grep -qF -- "$LAST"; }
	check "logs --kind --name --level error: flux's line for the failure" \
		poll 30 logs_say --kind kustomization --name broken --level error
	check "logs: only the namespace asked for (-n), every one with -A" bash -c \
		"[ -z \"\$('$CFLUX' logs --flux-namespace '$OP_NS' -n default --kind Kustomization --name broken)\" ] && '$CFLUX' logs --flux-namespace '$OP_NS' -A --kind Kustomization --name broken | grep -qF \"Kustomization/broken.$NS - \""
	check "logs --level info: no error line" bash -c \
		"! '$CFLUX' logs --flux-namespace '$OP_NS' -n '$NS' --level info | grep -q ' error '"
	T0=$(date -u -d '-1 second' +%Y-%m-%dT%H:%M:%S)
	"${LOGS[@]}" -f --tail 0 --kind Kustomization >"$W/follow.log" 2>&1 &
	FPID=$!
	sleep 2
	k patch ks broken -n "$NS" --type=merge -p '{"spec":{"path":"./missing-while-following"}}' >/dev/null
	check "logs -f: a new failure shows up while following" poll 30 grep -qF \
		"Kustomization/broken.$NS - Reconciliation failed kustomization path not found: './missing-while-following'" "$W/follow.log"
	kill "$FPID" 2>/dev/null
	wait "$FPID" 2>/dev/null
	check "logs -f --tail 0: nothing from before it started" python3 -c '
import sys
lines = open(sys.argv[1]).read().splitlines()
old = [l for l in lines if l[:19] < sys.argv[2]]
print("\n".join(old[:5]))
sys.exit(1 if old or not lines else 0)' "$W/follow.log" "$T0"
fi

tap_end
