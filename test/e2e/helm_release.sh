#!/bin/bash
# helm_release.sh: Helm release records written and read by lib/helm,
# against the real `helm` (v3.21.4) on the local control plane (TAP).
#
#  - a release `helm install` stored is read back by lib/helm: name,
#    revision, status, chart, values, and a manifest byte-equal to the one
#    lib/helm renders for the same chart and values;
#  - a release lib/helm stored (the Secret written with kubectl) is one the
#    helm CLI works with: `helm list`, `helm history`, `helm get manifest`
#    and `helm get values` see it as we wrote it, `helm upgrade` takes it
#    as the deployed revision (and supersedes it, rewriting our Secret,
#    which lib/helm reads back), and `helm rollback` to it re-deploys the
#    manifest we stored.
set -u
NAME=helmrel
# shellcheck source=test/e2e/lib/operator.bash
. "$(dirname "$0")/lib/operator.bash"

BUILD=${BUILD:-build/default}
case $BUILD in /*) ;; *) BUILD=$repo/$BUILD ;; esac
TOOL=$BUILD/test/helmrel
CHART=$repo/test/data/charts/podinfo/chart
[ -x "$HELM" ] || bash "$repo/test/cluster/build.sh" oracles >&2
h() { "$HELM" --kubeconfig "$KUBECONFIG" -n "$NS" "$@"; }
secret() { k get secret -n "$NS" "sh.helm.release.v1.$1.v$2" -o json; }

k create namespace "$NS" >/dev/null

# ---- helm writes, we read ----
check "helm install" h install theirs "$CHART" --set replicaCount=2,ui.message=hello
check "lib/helm decodes the release helm stored" bash -c \
	"$(declare -f secret k); NS='$NS' KUBECTL='$KUBECTL' KUBECONFIG='$KUBECONFIG'; secret theirs 1 | '$TOOL' decode >'$W/theirs.json'"
check "name, revision, status, chart, values as helm wrote them" python3 - "$W/theirs.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["name"] == "theirs" and r["version"] == 1, r.get("name")
assert r["info"]["status"] == "deployed", r["info"]
assert r["info"]["description"] == "Install complete"
assert r["chart"]["metadata"]["name"] == "podinfo"
assert r["config"] == {"replicaCount": 2, "ui": {"message": "hello"}}, r["config"]
assert r["namespace"].startswith("helmrel-")
assert any(h["events"] == ["test"] for h in r.get("hooks", [])), "test hooks kept apart"
EOF
check "helm's stored manifest equals the one lib/helm renders" bash -c \
	"$(declare -f secret k); NS='$NS' KUBECTL='$KUBECTL' KUBECONFIG='$KUBECONFIG'; secret theirs 1 | '$TOOL' manifest >'$W/theirs.manifest' && '$TOOL' render '$CHART' theirs '$NS' replicaCount=2 ui.message=hello >'$W/ours.manifest' && cmp '$W/theirs.manifest' '$W/ours.manifest'"

# ---- we write, helm reads ----
check "a Secret written by lib/helm is accepted" bash -c \
	"'$TOOL' write '$CHART' ours '$NS' replicaCount=3 | '$KUBECTL' create -f -"
check "helm list shows it deployed, revision 1, chart podinfo" bash -c \
	"'$HELM' --kubeconfig '$KUBECONFIG' -n '$NS' list -o json | python3 -c 'import json,sys; r=[x for x in json.load(sys.stdin) if x[\"name\"]==\"ours\"][0]; assert r[\"status\"]==\"deployed\" and r[\"revision\"]==\"1\" and r[\"chart\"].startswith(\"podinfo-\"), r'"
check "helm history: one revision, Install complete" bash -c \
	"'$HELM' --kubeconfig '$KUBECONFIG' -n '$NS' history ours | grep -q 'deployed.*Install complete'"
# `helm get manifest` prints the stored manifest with Println: one more newline.
check "helm get manifest returns the manifest we stored" bash -c \
	"'$HELM' --kubeconfig '$KUBECONFIG' -n '$NS' get manifest ours >'$W/got.manifest' && { '$TOOL' render '$CHART' ours '$NS' replicaCount=3; echo; } >'$W/want.manifest' && cmp '$W/want.manifest' '$W/got.manifest'"
check "helm get values returns the values we stored" bash -c \
	"'$HELM' --kubeconfig '$KUBECONFIG' -n '$NS' get values ours -o json | python3 -c 'import json,sys; assert json.load(sys.stdin)=={\"replicaCount\":3}'"
check "helm upgrade builds on our release" h upgrade ours "$CHART" --set replicaCount=4
check "our revision 1 superseded, revision 2 deployed" bash -c \
	"'$HELM' --kubeconfig '$KUBECONFIG' -n '$NS' history ours -o json | python3 -c 'import json,sys; h=json.load(sys.stdin); assert [x[\"status\"] for x in h]==[\"superseded\",\"deployed\"], h'"
check "helm rewrote our Secret; lib/helm reads it back (status superseded)" bash -c \
	"$(declare -f secret k); NS='$NS' KUBECTL='$KUBECTL' KUBECONFIG='$KUBECONFIG'; secret ours 1 | '$TOOL' decode | python3 -c 'import json,sys; r=json.load(sys.stdin); assert r[\"info\"][\"status\"]==\"superseded\" and r[\"config\"]=={\"replicaCount\":3}, r[\"info\"]' && secret ours 1 | grep -q '\"status\": \"superseded\"'"
check "helm rollback to our revision re-deploys our manifest" bash -c \
	"'$HELM' --kubeconfig '$KUBECONFIG' -n '$NS' rollback ours 1 && '$HELM' --kubeconfig '$KUBECONFIG' -n '$NS' get manifest ours --revision 3 | cmp '$W/want.manifest' -"
check "the Deployment is back at 3 replicas" bash -c \
	"'$KUBECTL' get deployment -n '$NS' ours-podinfo -o jsonpath='{.spec.replicas}' | grep -qx 3"
check "helm uninstall removes both releases" bash -c \
	"'$HELM' --kubeconfig '$KUBECONFIG' -n '$NS' uninstall theirs ours && ! '$KUBECTL' get secret -n '$NS' -l owner=helm -o name | grep -q ."
tap_end
