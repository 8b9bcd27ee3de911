#!/bin/bash
# stale.sh: the staleness alarm (beyond Flux): an object with no successful
# reconcile for --stale-threshold (3) of its intervals gets Stale=True, a
# Warning Event "Stale" once, and counts in cflux_stale_objects; the next
# success clears it; a FluxConfiguration's statuses[] show it for its
# source (TAP).
set -u

NAME=stale
# shellcheck source=test/e2e/lib/operator.bash
. "$(dirname "$0")/lib/operator.bash"

check "CRDs installed" crd_install source.toolkit.fluxcd.io_gitrepositories.yaml \
	kustomize.toolkit.fluxcd.io_kustomizations.yaml clusterconfig.cflux.io_fluxconfigurations.yaml
k create namespace "$NS" >/dev/null
export -f jpk cond poll

printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  v: "1"\n' >"$W/src/app.yaml"
bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src" main >/dev/null
DEAD=http://127.0.0.1:1/nothing.git

check "operator starts" start_operator
T0=$(date +%s%N)
gitrepo dead "$DEAD" "ref: {branch: main}" >/dev/null
k patch gitrepository -n "$NS" dead --type=merge -p '{"spec":{"interval":"2s","timeout":"1s"}}' >/dev/null
gitrepo good "$GIT_HTTP_URL/$REPO.git" "ref: {branch: main}" >/dev/null
k patch gitrepository -n "$NS" good --type=merge -p '{"spec":{"interval":"2s"}}' >/dev/null
gitrepo paused "$DEAD" "ref: {branch: main}" "suspend: true" >/dev/null

stale_is() { [ "$(cond gitrepository "$1" Stale status)" = "$2" ]; }
export -f stale_is
check "an unreachable source: Ready=False" poll 30 bash -c \
	"[ \"\$(cond gitrepository dead Ready status)\" = False ]"
check "... Stale=True after 3 intervals of 2 s" poll 30 stale_is dead True
MS=$((($(date +%s%N) - T0) / 1000000))
echo "# Stale after $MS ms (threshold 6 s, interval 2 s)"
# The sweep runs every second, so the alarm comes within one interval (2 s) of the
# threshold; the bound adds 2 s for kubectl's polling on a busy machine.
check "within one interval of the threshold (6-8 s, + 2 s of polling slack)" [ "$MS" -le 10000 ]
check "the condition says why" bash -c \
	"[ \"\$(cond gitrepository dead Stale reason)\" = NoRecentSuccess ] && [ \"\$(cond gitrepository dead Stale message)\" = 'no successful reconcile for more than 6s (3 intervals of 2s)' ]"
check "one Warning Event Stale" bash -c \
	"sleep 3; [ \"\$(k get events -n $NS --field-selector involvedObject.name=dead,reason=Stale,type=Warning -o jsonpath='{range .items[*]}{.count}{\"\\n\"}{end}')\" = 1 ]"
metric() { curl -fsS "http://$OP_ADDR:$MPORT/metrics" | grep -qxF "cflux_stale_objects{kind=\"GitRepository\"} $1"; }
export -f metric
export OP_ADDR MPORT
check "cflux_stale_objects{kind=GitRepository} 1" poll 10 metric 1
check "a healthy source and a suspended one are not stale" bash -c \
	"[ \"\$(cond gitrepository good Ready status)\" = True ] && [ -z \"\$(cond gitrepository good Stale status)\" ] && [ -z \"\$(cond gitrepository paused Stale status)\" ]"
check "the other conditions are untouched by the alarm" bash -c \
	"[ \"\$(cond gitrepository dead Ready reason)\" = GitOperationFailed ]"

k patch gitrepository -n "$NS" dead --type=merge -p "{\"spec\":{\"url\":\"$GIT_HTTP_URL/$REPO.git\"}}" >/dev/null
check "the source reachable again: Ready=True, Stale gone" poll 30 bash -c \
	"[ \"\$(cond gitrepository dead Ready status)\" = True ] && [ -z \"\$(cond gitrepository dead Stale status)\" ]"
check "cflux_stale_objects back to 0" poll 10 metric 0

# ------------------------------------------------------------ the roll-up
printf 'apiVersion: clusterconfig.cflux.io/v1\nkind: FluxConfiguration\nmetadata:\n  name: cfg\n  namespace: %s\nspec:\n  scope: cluster\n  namespace: %s\n  sourceKind: GitRepository\n  gitRepository:\n    url: %s\n    syncIntervalInSeconds: 2\n    timeoutInSeconds: 1\n    repositoryRef: {branch: main}\n  kustomizations:\n    apps: {path: ./}\n' \
	"$NS" "$NS" "$DEAD" | k apply -f - >/dev/null
check "a FluxConfiguration whose source is stale shows it in statuses[]" poll 40 bash -c \
	"k get fluxconfiguration -n $NS cfg -o jsonpath='{range .status.statuses[*]}{.kind}/{.name}:{range .statusConditions[*]}{.type}={.status},{end}{\"\\n\"}{end}' | grep -q '^GitRepository/cfg:.*Stale=True'"

tap_end
