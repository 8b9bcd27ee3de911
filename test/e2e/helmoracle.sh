#!/bin/bash
# helmoracle.sh: the same HelmRelease under cflux-operator and under Flux's
# own helm-controller and source-controller (built by test/cluster/build.sh
# flux-helm, run out of cluster as make bench runs them), from the same chart in
# the same registry (TAP).
#
# One chart (test/data/helm/hrapp, `helm push`ed), an OCIRepository and a
# HelmRelease with values, post-renderers (a strategic-merge patch, a JSON
# 6902 patch with a target, an image) and commonMetadata, in a namespace
# each controller watches.  After the install, and again after an upgrade,
# per side: the release record Helm stores (decoded: the manifest, the
# values, the chart's metadata, status and description, the version), what
# `helm get manifest` and `helm history` print, the HelmRelease's status
# (conditions, history snapshot, lastAttempted*, the observed digests),
# and the applied objects' labels, annotations and data.  Everything is
# compared with the Flux namespace's name replaced by ours; timestamps,
# uids and resourceVersions aside.
set -u

NAME=helmoracle
# The operator runs on this host (operator.bash OP_MODE=local), watching its
# namespace only, beside Flux's controllers watching theirs.
CFLUX_OPERATOR_MODE=${CFLUX_OPERATOR_MODE:-local}
# shellcheck source=test/e2e/lib/operator.bash
. "$(dirname "$0")/lib/operator.bash"

[ -x "$SOURCE_CONTROLLER" ] && [ -x "$HELM_CONTROLLER" ] ||
	bash "$repo/test/cluster/build.sh" flux-helm >&2
[ -x "$HELM" ] || bash "$repo/test/cluster/build.sh" oracles >&2
check "CRDs installed" crd_install helm.toolkit.fluxcd.io_helmreleases.yaml \
	source.toolkit.fluxcd.io_ocirepositories.yaml source.toolkit.fluxcd.io_helmcharts.yaml
NSF=$NS-flux
k create namespace "$NS" >/dev/null
k create namespace "$NSF" >/dev/null
trap 'e2e_cleanup; flux_stop; k delete namespace "$NSF" --wait=false >/dev/null 2>&1' EXIT

REG=$REGISTRY_HOST
R=$NAME-$$
h() { "$HELM" --kubeconfig "$KUBECONFIG" "$@"; }
mkdir -p "$W/pkg"
check "helm package and helm push to the registry" bash -c \
	"$(declare -f h); HELM='$HELM' KUBECONFIG='$KUBECONFIG'; h package -d '$W/pkg' '$repo/test/data/helm/hrapp/chart' >/dev/null && h push '$W/pkg/hrapp-0.1.0.tgz' 'oci://$REG/$R' --plain-http"

# shellcheck source=test/e2e/lib/oracle.bash
. "$(dirname "$0")/lib/oracle.bash"
both <<EOF
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: chart, namespace: "@NS@"}
spec:
  interval: 10m
  url: oci://$REG/$R/hrapp
  ref: {tag: 0.1.0}
  layerSelector: {mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip, operation: copy}
EOF
hr() { # MESSAGE REPLICAS [DRIFT-MODE [DRIFT-IGNORE-RULES]]
	both <<EOF
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: app, namespace: "@NS@"}
spec:
  interval: 10m
  timeout: 2m
  chartRef: {kind: OCIRepository, name: chart}
  install: {disableWait: true}
  upgrade: {disableWait: true}
  driftDetection: {mode: ${3:-disabled}${4:+, ignore: $4}}
  values:
    message: "$1"
    replicaCount: $2
  commonMetadata:
    labels: {team: oracle, helm.toolkit.fluxcd.io/name: not-this}
    annotations: {owner: "a & b <c>"}
  postRenderers:
  - kustomize:
      patches:
      - patch: |
          apiVersion: apps/v1
          kind: Deployment
          metadata: {name: app}
          spec:
            template:
              metadata:
                labels: {patched: "yes"}
      - target: {kind: ConfigMap, labelSelector: "team=oracle"}
        patch: |
          - op: add
            path: /data/added
            value: by-json6902
      images:
      - name: busybox
        newName: registry.example/busybox
        newTag: "1.36"
EOF
}

check "cflux-operator starts" start_operator
check "Flux's source-controller and helm-controller start" flux_start "$NSF" source helm
if [ "$FAILED" -gt 0 ]; then
	tap_end
	exit 1
fi

# What one side did, as text with the namespace written @NS@.
record() { release_record "$1" app "$2"; } # NS VERSION
status() { # NS: the HelmRelease's status, what must agree
	k get helmrelease -n "$1" app -o json | python3 -c '
import json, sys
s = json.load(sys.stdin)["status"]
out = {k: s.get(k) for k in ("lastAttemptedRevision", "lastAttemptedConfigDigest",
    "lastAttemptedReleaseAction", "lastAttemptedGeneration", "observedGeneration",
    "observedPostRenderersDigest", "observedCommonMetadataDigest", "storageNamespace",
    "installFailures", "upgradeFailures", "failures")}
out["conditions"] = sorted((c["type"], c["status"], c["reason"], c["message"]) for c in s.get("conditions", []))
# the digests cover the release times, so they differ; digest_formula checks them
out["history"] = [{k: v for k, v in h.items() if k not in ("firstDeployed", "lastDeployed", "digest")}
                  for h in s.get("history", [])]
print(json.dumps(out, indent=1, sort_keys=True))'
}
objects() { # NS: the applied objects' labels, annotations and content
	k get configmap,deployment,service -n "$1" -l helm.toolkit.fluxcd.io/name=app -o json | python3 -c '
import json, sys
for o in sorted(json.load(sys.stdin)["items"], key=lambda o: (o["kind"], o["metadata"]["name"])):
    m = o["metadata"]
    print(o["kind"], m["name"], json.dumps(m.get("labels"), sort_keys=True),
          json.dumps(m.get("annotations"), sort_keys=True))
    print(" ", json.dumps(o.get("data") or o.get("spec", {}).get("template") or o.get("spec", {}).get("ports"), sort_keys=True))'
}
digest_formula() { # NS: each history snapshot's digest is helm-controller's, from the stored record
	k get helmrelease -n "$1" app -o json >"$W/hr-$1.json"
	k get secret -n "$1" -l owner=helm,name=app -o json >"$W/rel-$1.json"
	python3 - "$W/hr-$1.json" "$W/rel-$1.json" <<'PY'
import base64, gzip, hashlib, json, sys
hr = json.load(open(sys.argv[1]))
recs = {}
for s in json.load(open(sys.argv[2]))["items"]:
    r = json.loads(gzip.decompress(base64.b64decode(base64.b64decode(s["data"]["release"]))))
    recs[r["version"]] = r
def go(v):  # Go's json.Encoder: compact, HTML-safe
    t = json.dumps(v, separators=(",", ":"), ensure_ascii=False)
    for a, b in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                 ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        t = t.replace(a, b)
    return t
bad = 0
for h in hr["status"]["history"]:
    r = recs[h["version"]]
    md = dict(r["chart"]["metadata"])
    if "annotations" in md:
        md["annotations"] = dict(sorted(md["annotations"].items()))
    cfg = r.get("config") or None
    def srt(x):
        return {k: srt(x[k]) for k in sorted(x)} if isinstance(x, dict) else [srt(e) for e in x] if isinstance(x, list) else x
    hooks = [x for x in r.get("hooks") or [] if "test" not in x.get("events", [])] or None
    obs = {"name": r["name"], "version": r["version"], "info": r["info"], "chartMetadata": md,
           "config": srt(cfg) if cfg else None, "manifest": r.get("manifest", ""),
           "hooks": hooks, "namespace": r["namespace"]}
    if h.get("ociDigest"):
        obs["ociDigest"] = h["ociDigest"]
    want = "sha256:" + hashlib.sha256((go(obs) + "\n").encode()).hexdigest()
    if want != h["digest"]:
        print("# v%d: status %s, formula %s" % (h["version"], h["digest"], want))
        bad += 1
sys.exit(1 if bad or not hr["status"]["history"] else 0)
PY
}
compare() { # VERSION ACTION
	check "$2: the release record v$1 (manifest, values, chart, status, description)" \
		same record record @NS@ "$1"
	check "$2: helm get manifest" same manifest h get manifest app -n @NS@
	check "$2: helm history (revision, status, chart, app version, description)" \
		same history bash -c "$(declare -f h); HELM='$HELM' KUBECONFIG='$KUBECONFIG'; h history app -n @NS@ -o json | python3 -c 'import json,sys; [print(r[\"revision\"], r[\"status\"], r[\"chart\"], r[\"app_version\"], r[\"description\"]) for r in json.load(sys.stdin)]'"
	check "$2: the HelmRelease status" same status status @NS@
	check "$2: the applied objects" same objects objects @NS@
	check "$2: Flux's snapshot digests follow helm-controller's formula" digest_formula "$NSF"
	check "$2: ours do too" digest_formula "$NS"
}

hr from-git 1
settled() { # VERSION: both sides Ready with release version VERSION deployed
	for n in "$NS" "$NSF"; do
		[ "$(k get helmrelease -n "$n" app -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}/{.status.history[0].version}' 2>/dev/null)" = "True/$1" ] || return 1
	done
}
check "install: both controllers Ready with release v1" poll 120 settled 1
compare 1 install

hr changed 2
check "upgrade: both controllers Ready with release v2" poll 120 settled 2
compare 2 upgrade
check "upgrade: the record v1 superseded on both" same "record v1" record @NS@ 1

# ------------------------------------------------------------ drift detection
# The same changes made behind both controllers' backs: a Deployment scaled
# and its image changed, a ConfigMap key removed, a Service deleted.  Both
# report the same drift (jsondiff's operation counts) and, in mode
# enabled, correct it; an ignore rule leaves the Deployment's replicas as
# scaled, on both.
hr changed 2 enabled "[{paths: [/spec/replicas], target: {kind: Deploy.*}}, {paths: [/data/absent]}]"
observed() { # both sides have seen the current generation
	for n in "$NS" "$NSF"; do
		[ "$(k get helmrelease -n "$n" app -o jsonpath='{.status.observedGeneration}/{.metadata.generation}/{.status.conditions[?(@.type=="Ready")].status}')" = \
			"$(k get helmrelease -n "$n" app -o jsonpath='{.metadata.generation}/{.metadata.generation}')/True" ] || return 1
	done
}
check "driftDetection enabled: both see the new generation" poll 60 observed
check "... still release v2, nothing upgraded" settled 2
for n in "$NS" "$NSF"; do
	k scale deployment -n "$n" app --replicas=3 >/dev/null
	k set image deployment -n "$n" app app=cflux.local/testapp:drifted >/dev/null
	k patch configmap -n "$n" app-config --type json -p '[{"op":"remove","path":"/data/message"}]' >/dev/null
	k delete service -n "$n" app --wait=true >/dev/null
	k annotate -n "$n" --overwrite helmrelease app "reconcile.fluxcd.io/requestedAt=drift-$$" >/dev/null
done
event_msgs() { # NS REASON: the messages of the HelmRelease's Events of REASON
	k get events -n "$1" --field-selector "involvedObject.name=app,involvedObject.kind=HelmRelease,reason=$2" \
		-o jsonpath='{range .items[*]}{.message}{"\n---\n"}{end}'
}
corrected() {
	for n in "$NS" "$NSF"; do
		[ -n "$(event_msgs "$n" DriftCorrected)" ] || return 1
	done
}
check "both detect the drift and correct it (DriftCorrected)" poll 90 corrected
check "drift: the same DriftDetected message (objects and operation counts)" \
	same DriftDetected event_msgs @NS@ DriftDetected
check "drift: the same DriftCorrected message" same DriftCorrected event_msgs @NS@ DriftCorrected
check "drift: the objects are as the release has them again" same objects objects @NS@
summary_ok() {
	event_msgs "$NS" DriftDetected | grep -qx "ConfigMap/$NS/app-config changed (1 additions, 0 changes, 0 removals)" &&
		event_msgs "$NS" DriftDetected | grep -qx "Service/$NS/app removed"
}
check "drift: cflux's summary names what changed and what was removed" summary_ok
check "drift: the ignored replicas stay as scaled, the image is the release's again (cflux)" bash -c \
	"[ \"\$($KUBECTL get deployment -n $NS app -o jsonpath='{.spec.replicas} {.spec.template.spec.containers[0].image}')\" = '3 cflux.local/testapp:1' ]"
check "drift: no new release was made (still v2)" settled 2
if [ "$FAILED" -gt 0 ]; then
	tail -n 15 "$W/helm-controller.log" | sed 's/^/# /'
fi
tap_end
