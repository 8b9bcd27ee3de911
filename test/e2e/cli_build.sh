#!/bin/bash
# cli_build.sh: `cflux build kustomization` and `cflux diff kustomization`
# against the real control plane with the operator running (TAP).
#
# The oracle is the real flux CLI (v2.9.5): for the same Kustomization and
# directory `cflux build kustomization` must print byte for byte what
# `flux build kustomization` prints (plain, postBuild with substituteFrom a
# ConfigMap and a Secret, targetNamespace + namePrefix + patches + images +
# commonMetadata, a SOPS-encrypted Secret masked, a directory without a
# kustomization.yaml, --kustomization-file --dry-run); `cflux diff` must
# print the same "► Kind/ns/name created|drifted|deleted" lines and exit
# with the same status as `flux diff` (0 nothing changes, 1 something does;
# the lines under "drifted" differ by design: field paths, not dyff), and
# never a Secret's value.
set -u
NAME=clibuild
# shellcheck source=test/e2e/lib/operator.bash
. "$(dirname "$0")/lib/operator.bash"

[ -x "$FLUX_CLI" ] || bash "$repo/test/cluster/build.sh" oci >&2
CFLUX=$BIN/cflux
unset FLUX_SYSTEM_NAMESPACE FLUX_NS_FOLLOWS_KUBE_CONTEXT

check "CRDs installed" crd_install source.toolkit.fluxcd.io_gitrepositories.yaml \
	kustomize.toolkit.fluxcd.io_kustomizations.yaml
k create namespace "$NS" >/dev/null
k create namespace "$NS-t" >/dev/null

mkdir -p "$W/src/app" "$W/src/gen"
cat >"$W/src/app/kustomization.yaml" <<XEOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: $NS
resources:
- cm.yaml
- deploy.yaml
- secret.yaml
XEOF
cat >"$W/src/app/cm.yaml" <<'XEOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: app
data:
  greeting: "${GREETING:=hi}"
  colour: "${COLOUR:=none}"
  token: "${TOKEN:=none}"
XEOF
cat >"$W/src/app/deploy.yaml" <<'XEOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: registry.invalid/web:1.0
XEOF
cat >"$W/src/app/secret.yaml" <<'XEOF'
apiVersion: v1
kind: Secret
metadata:
  name: creds
stringData:
  password: hunter2-original
XEOF
# no kustomization.yaml: flux generates one
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gen\ndata: {v: "1"}\n' >"$W/src/gen/cm.yaml"
printf 'apiVersion: v1\nkind: Service\nmetadata:\n  name: gen\nspec:\n  ports: [{port: 80}]\n' \
	>"$W/src/gen/svc.yaml"
bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src" >/dev/null

k create configmap vars -n "$NS" --from-literal=COLOUR=blue >/dev/null
k create secret generic svars -n "$NS" --from-literal=TOKEN=s3cr3t-token >/dev/null

check "operator starts" start_operator
gitrepo src "$GIT_HTTP_URL/$REPO.git" "ref:" "  branch: main" >/dev/null
kustomization app src ./app "prune: true" "postBuild:" "  substitute: {GREETING: hello}" \
	"  substituteFrom:" "  - {kind: ConfigMap, name: vars}" "  - {kind: Secret, name: svars}" \
	"  - {kind: ConfigMap, name: absent, optional: true}" >/dev/null
kustomization tns src ./gen "targetNamespace: $NS-t" "namePrefix: p-" "nameSuffix: -s" \
	"commonMetadata: {labels: {team: a}, annotations: {owner: me}}" \
	"images: [{name: registry.invalid/web, newTag: '2.0'}]" \
	"patches:" "- target: {kind: ConfigMap}" \
	"  patch: '[{\"op\": \"add\", \"path\": \"/data/w\", \"value\": \"2\"}]'" >/dev/null
check "app Ready" poll 90 is_ready Kustomization app True
check "tns Ready" poll 90 is_ready Kustomization tns True

# same DESC ARGS...: cflux and flux print the same stdout and exit status.
same() {
	local desc=$1 rc1 rc2
	shift
	"$CFLUX" "$@" >"$W/c.out" 2>"$W/c.err"; rc1=$?
	"$FLUX_CLI" "$@" >"$W/f.out" 2>"$W/f.err"; rc2=$?
	if [ "$rc1" = "$rc2" ] && cmp -s "$W/c.out" "$W/f.out"; then
		pass "$desc"
		return
	fi
	{ echo "cflux rc=$rc1 flux rc=$rc2"; diff "$W/f.out" "$W/c.out"; cat "$W/c.err" "$W/f.err"; } >"$OUT"
	fail "$desc"
}
# same_lines DESC ARGS...: the same "►" lines, in the same order, and exit status.
same_lines() {
	local desc=$1 rc1 rc2
	shift
	"$CFLUX" "$@" >"$W/c.out" 2>"$W/c.err"; rc1=$?
	"$FLUX_CLI" "$@" >"$W/f.out" 2>"$W/f.err"; rc2=$?
	grep '^►' "$W/c.out" >"$W/c.lines"
	grep '^►' "$W/f.out" >"$W/f.lines"
	if [ "$rc1" = "$rc2" ] && cmp -s "$W/c.lines" "$W/f.lines" &&
		{ [ "$rc1" = 0 ] || [ -s "$W/c.lines" ]; }; then
		pass "$desc (rc $rc1)"
		return
	fi
	{ echo "cflux rc=$rc1 flux rc=$rc2"; diff "$W/f.lines" "$W/c.lines"; cat "$W/c.out" "$W/c.err" "$W/f.err"; } >"$OUT"
	fail "$desc"
}

D=$W/src
same "build: substitute + substituteFrom ConfigMap and Secret = flux" \
	build kustomization app -n "$NS" --path "$D/app"
same "build: targetNamespace, prefix/suffix, patches, commonMetadata, generated kustomization = flux" \
	build kustomization tns -n "$NS" --path "$D/gen"
same "build --strict-substitute = flux" build kustomization app -n "$NS" --path "$D/app" --strict-substitute
k get ks app -n "$NS" -o yaml >"$W/ks-app.yaml"
same "build --kustomization-file = flux" build kustomization app -n "$NS" --path "$D/app" \
	--kustomization-file "$W/ks-app.yaml"
same "build --kustomization-file --dry-run (no substituteFrom) = flux" build kustomization app \
	-n "$NS" --path "$D/app" --kustomization-file "$W/ks-app.yaml" --dry-run
same "build: a missing Kustomization = flux (status)" build kustomization nope -n "$NS" --path "$D/app"

# A SOPS-encrypted Secret is masked as flux masks it.
mkdir -p "$W/sops"
cat >"$W/sops/s.yaml" <<'XEOF'
apiVersion: v1
kind: Secret
metadata:
  name: enc
stringData:
  password: ENC[AES256_GCM,data:abc,iv:x,tag:y,type:str]
data:
  token: RU5DW0FFUzI1Nl9HQ00sZGF0YTp4eXpd
sops:
  mac: ENC[AES256_GCM,data:mmm,iv:x,tag:y,type:str]
  version: 3.8.1
XEOF
same "build: SOPS Secret masked = flux" build kustomization app -n "$NS" --path "$W/sops"
if grep -q 'ENC\[' "$W/c.out"; then
	diag "$W/c.out" >"$OUT"; fail "build: no ciphertext printed"
else pass "build: no ciphertext printed"; fi

# ---- diff
# The operator's provenance annotations (cflux.io/source-path, -revision)
# are not drift to cflux (the operator never applies for them alone); flux
# sees them as fields kustomize-controller's manager would remove.
"$CFLUX" diff kustomization app -n "$NS" --path "$D/app" >"$W/c.out" 2>"$W/c.err"
rc=$?
if [ "$rc" = 0 ] && [ ! -s "$W/c.out" ]; then pass "diff: provenance annotations alone are no change (rc 0)"
else { echo "rc=$rc"; cat "$W/c.out" "$W/c.err"; } >"$OUT"; fail "diff: provenance annotations alone are no change"; fi
# Without them both CLIs judge the same live objects.
for ns in "$NS" "$NS-t"; do
	k annotate cm,secret,deploy,svc -n "$ns" -l kustomize.toolkit.fluxcd.io/namespace="$NS" \
		cflux.io/source-path- cflux.io/source-revision- >/dev/null 2>&1
done
same "diff: nothing changed = flux (rc 0, no output)" diff kustomization app -n "$NS" \
	--path "$D/app" --progress-bar=false
same "diff (generated kustomization): nothing changed = flux" diff kustomization tns -n "$NS" \
	--path "$D/gen" --progress-bar=false
cp -r "$D/app" "$W/app2"
sed -i 's/replicas: 1/replicas: 3/' "$W/app2/deploy.yaml"
same_lines "diff: a drifted Deployment = flux" diff kustomization app -n "$NS" --path "$W/app2" \
	--progress-bar=false
if grep -A2 -x '  spec.replicas' "$W/c.out" | tr -d '\n' | grep -qx '  spec.replicas    - 1    + 3'; then
	pass "diff: spec.replicas - 1 + 3"
else diag "$W/c.out" >"$OUT"; fail "diff: spec.replicas - 1 + 3"; fi
sed -i 's/hunter2-original/hunter2-changed/' "$W/app2/secret.yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata: {v: "1"}\n' >"$W/app2/extra.yaml"
sed -i 's/^- secret.yaml/- secret.yaml\n- extra.yaml/' "$W/app2/kustomization.yaml"
same_lines "diff: Secret drifted, ConfigMap created = flux" diff kustomization app -n "$NS" \
	--path "$W/app2" --progress-bar=false
if grep -q -e 'hunter2' -e "$(printf hunter2-changed | base64)" -e "$(printf hunter2-original | base64)" \
	"$W/c.out" "$W/c.err" || ! grep -qx '  data.password' "$W/c.out"; then
	diag "$W/c.out" >"$OUT"; fail "diff: data.password named, no Secret value printed"
else pass "diff: data.password named, no Secret value printed"; fi
rm "$W/app2/cm.yaml"
sed -i '/^- cm.yaml/d' "$W/app2/kustomization.yaml"
same_lines "diff: a pruned ConfigMap is deleted = flux" diff kustomization app -n "$NS" \
	--path "$W/app2" --progress-bar=false
check "diff: the deleted line names it" grep -qx "► ConfigMap/$NS/app deleted" "$W/c.lines"

# ---- usage
"$CFLUX" build kustomization app --path "$D/app" --bogus >/dev/null 2>"$W/e"
check "build: a bad flag exits 2" test $? = 2
"$CFLUX" diff kustomization app --path "$D/app" --dry-run >/dev/null 2>"$W/e"
check "diff: --dry-run refused, exit 2" test $? = 2
"$CFLUX" diff kustomization app --path "$D/app" --recursive >/dev/null 2>"$W/e"
check "diff: --recursive refused, exit 2" test $? = 2

# ---- build --recursive --local-sources: a Kustomization that applies two more, one nested
mkdir -p "$W/rec/outer" "$W/rec/mid" "$W/rec/leaf" "$W/other/leaf2"
ksdoc() { # NAME PATH SOURCE [extra spec line]
	printf 'apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n  interval: 10m\n  path: %s\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: %s\n%s' \
		"$1" "$NS" "$2" "$3" "${4:+  $4
}"
}
{ ksdoc mid ./mid rec; echo ---; ksdoc leaf2 ./leaf2 other "targetNamespace: $NS-t"; } >"$W/rec/outer/ks.yaml"
ksdoc leaf ./leaf rec "namePrefix: x-" >"$W/rec/mid/ks.yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  namespace: %s\ndata: {from: leaf}\n' "$NS" >"$W/rec/leaf/cm.yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm2\ndata: {from: leaf2}\n' >"$W/other/leaf2/cm.yaml"
ksdoc outer ./outer rec >"$W/outer.yaml"
SRCS="GitRepository/$NS/rec=$W/rec,GitRepository/$NS/other=$W/other"
same "build --recursive --local-sources --dry-run = flux (three levels, two sources)" \
	build kustomization outer -n "$NS" --path "$W/rec/outer" --kustomization-file "$W/outer.yaml" \
	--dry-run --recursive --local-sources "$SRCS"
same "build --kustomization-file of a Kustomization the cluster lacks = flux (the error)" \
	build kustomization outer -n "$NS" --path "$W/rec/outer" --kustomization-file "$W/outer.yaml"
k apply -f "$W/outer.yaml" >/dev/null
same "build --recursive (the nested ones asked of the cluster, none there) = flux" \
	build kustomization outer -n "$NS" --path "$W/rec/outer" --kustomization-file "$W/outer.yaml" \
	--recursive --local-sources "$SRCS"
same "build --recursive without the nested source's path = flux (the error)" \
	build kustomization outer -n "$NS" --path "$W/rec/outer" --kustomization-file "$W/outer.yaml" \
	--dry-run --recursive --local-sources "GitRepository/$NS/rec=$W/rec"

k delete ks --all -n "$NS" --wait=false >/dev/null 2>&1
k delete namespace "$NS-t" --wait=false >/dev/null 2>&1
tap_end
