#!/bin/bash
# apierrors.sh: a transient apiserver error in the middle of a HelmRelease's
# reconcile is tried again with the key's backoff (750 ms, doubling), as
# helm-controller hands the error to its rate limiter; never left until the
# next interval (here 1h).  Prints TAP.
#
# The apiserver answers 500 once, through the fault proxy (test/faults), to
# each of: the server-side apply of the HelmChart chart.spec makes, the read
# of a valuesFrom ConfigMap, and the list of the release records.  The
# HelmRelease still installs within a minute, the failures are visible as
# Ready=False on the way, and the proxy's log shows each fault was served.
#
# The operator runs on this host (operator.bash OP_MODE=local), its
# kubeconfig pointing at the proxy: the in-cluster one talks to the
# apiserver's Service, where no proxy stands.
set -u
NAME=apierr
CFLUX_OPERATOR_MODE=local
# shellcheck source=test/e2e/lib/operator.bash
. "$(dirname "$0")/lib/operator.bash"

k create namespace "$NS" >/dev/null
[ -x "$HELM" ] || bash "$repo/test/cluster/build.sh" oracles >&2

check "fault proxy listening" fault_proxy_start
check "CRDs installed" k apply --server-side --force-conflicts --field-manager=cflux-test -f "$repo/crds/"
KUBECONFIG=$W/proxy.kubeconfig check "operator started, through the proxy" start_operator_local

# The chart, packaged and indexed by the real helm into the Helm server.
PUB=$HELM_DIR/$NS
mkdir -p "$PUB"
cp -r "$repo/test/data/helm/hrapp/chart" "$W/hrapp"
check "hrapp 0.1.0 packaged into the Helm repository" bash -c \
	"'$HELM' package '$W/hrapp' -d '$PUB' >/dev/null && '$HELM' repo index '$PUB' --url '$HELM_URL/$NS'"
trap 'rm -rf "$PUB"; e2e_cleanup' EXIT

# One 500 for each: the three happen in this order in one reconcile, so
# each retry gets one step further.
ns_path="/namespaces/$NS"
cat >"$W/rules.json" <<EOF
[{"method": "PATCH", "path": "/apis/source.toolkit.fluxcd.io/v1$ns_path/helmcharts/$NS-app\$", "count": 1,
  "action": "status", "status": 500, "reason": "InternalError", "message": "injected: helmchart apply"},
 {"method": "GET", "path": "/api/v1$ns_path/configmaps/app-values\$", "count": 1,
  "action": "status", "status": 500, "reason": "InternalError", "message": "injected: values read"},
 {"method": "GET", "path": "/api/v1$ns_path/secrets\$", "query": "owner%3Dhelm", "count": 1,
  "action": "status", "status": 500, "reason": "InternalError", "message": "injected: records list"}]
EOF
check "fault rules set" curl -fsS -X POST --data-binary @"$W/rules.json" "http://127.0.0.1:$PROXY_PORT/__faults/rules"

k apply -f - >/dev/null <<YAML
apiVersion: v1
kind: ConfigMap
metadata: {name: app-values, namespace: $NS}
data:
  values.yaml: |
    message: from-configmap
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: web, namespace: $NS}
spec:
  interval: 1h
  url: $HELM_URL/$NS
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: app, namespace: $NS}
spec:
  interval: 1h
  timeout: 60s
  chart:
    spec:
      chart: hrapp
      version: '0.1.0'
      interval: 1h
      sourceRef: {kind: HelmRepository, name: web}
  valuesFrom:
  - {kind: ConfigMap, name: app-values}
YAML

# Each failure is Ready=False for about one backoff step, too short to
# poll for: the Events, which stay, show them.
check "installed within a minute despite the three 500s (interval 1h)" poll 60 is_ready helmrelease app True InstallSucceeded
check "the release's ConfigMap has the valuesFrom message" bash -c \
	"[ \"\$($KUBECTL get configmap -n $NS app-config -o jsonpath='{.data.message}')\" = from-configmap ]"
curl -fsS "http://127.0.0.1:$PROXY_PORT/__faults/log" >"$W/faults.json"
check "the proxy served each of the three faults once" python3 - "$W/faults.json" "$NS-app" <<'EOF'
import json, sys
log = json.load(open(sys.argv[1]))
hit = sorted(e["method"] + " " + e["url"].split("?")[0].rsplit("/", 1)[-1]
             for e in log if e.get("fault"))
want = ["GET app-values", "GET secrets", "PATCH " + sys.argv[2]]
assert hit == want, (hit, want)
EOF
check "each failure was an Event naming the apiserver's message" bash -c \
	"ev=\$($KUBECTL get events -n $NS --field-selector involvedObject.kind=HelmRelease -o jsonpath='{range .items[*]}{.message}{\"\\n\"}{end}');
	 for m in 'injected: helmchart apply' 'injected: values read' 'injected: records list'; do
		grep -qF \"\$m\" <<<\"\$ev\" || { echo \"no event with: \$m\"; echo \"\$ev\"; exit 1; }
	 done"

tap_end
