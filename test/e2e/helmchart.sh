#!/bin/bash
# helmchart.sh: HelmCharts from a GitRepository, from a Bucket and with
# valuesFiles from a HelmRepository, under cflux-operator (namespace NS)
# and under Flux's own source-controller and helm-controller (namespace
# NSF, built by test/cluster/build.sh flux-helm, run out of cluster), from
# the same Git repository, bucket and Helm server (TAP).
#
# The repository holds a chart directory with four dependencies: one
# already in charts/, one local (file://../lib) and two remote (from the
# Helm server: one resolved through the namespace's HelmRepository with
# that URL, one from a directory no HelmRepository names, whose index both
# fetch anonymously), plus values files at the root and in the chart.  Per HelmChart,
# both sides must agree on the revision (the chart version, with
# "+<12 hex>" under reconcileStrategy Revision and "+<generation>" with
# valuesFiles), observedChartName, observedValuesFiles and Ready's status,
# reason and message; the two packaged charts must render the same with
# `helm template`.  Then: a commit that changes no chart version rebuilds
# nothing (ChartVersion), a version bump is picked up by both, a missing
# values file stalls both alike, and a HelmRelease whose chart.spec names
# the GitRepository installs the same manifest on both sides.  Last,
# charts from an OCI HelmRepository (`helm push`ed; basic auth; cosign).
set -u

NAME=helmchart
CFLUX_OPERATOR_MODE=${CFLUX_OPERATOR_MODE:-local}
# shellcheck source=test/e2e/lib/operator.bash
. "$(dirname "$0")/lib/operator.bash"

[ -x "$SOURCE_CONTROLLER" ] && [ -x "$HELM_CONTROLLER" ] ||
	bash "$repo/test/cluster/build.sh" flux-helm >&2
[ -x "$HELM" ] || bash "$repo/test/cluster/build.sh" oracles >&2
check "CRDs installed" crd_install helm.toolkit.fluxcd.io_helmreleases.yaml \
	source.toolkit.fluxcd.io_helmcharts.yaml source.toolkit.fluxcd.io_helmrepositories.yaml \
	source.toolkit.fluxcd.io_gitrepositories.yaml source.toolkit.fluxcd.io_buckets.yaml
for f in "$SOURCE_CONTROLLER_CRDS"/*.yaml; do
	[ -f "$repo/crds/$(basename "$f")" ] || k apply --server-side -f "$f" >/dev/null
done
NSF=$NS-flux
OBJ="python3 $repo/test/cluster/objstore.py"
k create namespace "$NS" >/dev/null
k create namespace "$NSF" >/dev/null
trap 'e2e_cleanup; flux_stop; $OBJ s3 rmbucket "$NS" >/dev/null 2>&1; rm -rf "$HELM_DIR/$NS" "$HELM_DIR/$NS-anon"; k delete namespace "$NSF" --wait=false >/dev/null 2>&1' EXIT
check "operator started" start_operator
check "Flux's source-controller and helm-controller started" flux_start "$NSF" source helm
h() { "$HELM" --kubeconfig "$KUBECONFIG" "$@"; }

# The remote dependency, on the Helm server.
PUB=$HELM_DIR/$NS
mkdir -p "$PUB" "$W/hello/templates"
printf 'apiVersion: v2\nname: hello\nversion: 1.2.0\n' >"$W/hello/Chart.yaml"
printf 'greeting: hi\n' >"$W/hello/values.yaml"
printf 'extra: from-extra\ngreeting: hello-extra\n' >"$W/hello/values-extra.yaml"
cat >"$W/hello/templates/cm.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata: {name: {{ .Release.Name }}-hello}
data:
  greeting: {{ .Values.greeting | quote }}
  extra: {{ .Values.extra | default "none" | quote }}
EOF
check "the remote dependency packaged and indexed on the Helm server" bash -c \
	"'$HELM' package -d '$PUB' '$W/hello' >/dev/null && '$HELM' repo index '$PUB' --url '$HELM_URL/$NS'"
# A repository no HelmRepository names: both fetch its index anonymously.
ANON=$HELM_DIR/$NS-anon
mkdir -p "$ANON" "$W/anon/templates"
printf 'apiVersion: v2\nname: anon\nversion: 0.4.2\n' >"$W/anon/Chart.yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Release.Name }}-anon}\n' >"$W/anon/templates/cm.yaml"
check "a dependency on a Helm server directory no HelmRepository names" bash -c \
	"'$HELM' package -d '$ANON' '$W/anon' >/dev/null && '$HELM' repo index '$ANON'"

# The Git repository.
S=$W/src
mkdir -p "$S/charts/app/templates" "$S/charts/app/charts/sub/templates" "$S/charts/lib/templates"
cat >"$S/charts/app/Chart.yaml" <<EOF
apiVersion: v2
name: app
version: 0.1.0
dependencies:
- name: sub
  version: 0.1.0
- name: lib
  version: 0.x
  repository: file://../lib
  alias: library
- name: hello
  version: 1.x
  repository: $HELM_URL/$NS/
- name: anon
  version: ~0.4.0
  repository: $HELM_URL/$NS-anon
EOF
printf 'color: blue\nsize: 1\nnested: {a: 1, b: 2}\n' >"$S/charts/app/values.yaml"
printf 'color: green\n' >"$S/charts/app/values-extra.yaml"
cat >"$S/charts/app/templates/cm.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata: {name: {{ .Release.Name }}-app}
data:
  color: {{ .Values.color | quote }}
  size: {{ .Values.size | quote }}
  nested: {{ .Values.nested | toJson | quote }}
  chart: {{ .Chart.Version | quote }}
EOF
printf 'apiVersion: v2\nname: sub\nversion: 0.1.0\n' >"$S/charts/app/charts/sub/Chart.yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Release.Name }}-sub}\n' \
	>"$S/charts/app/charts/sub/templates/cm.yaml"
printf 'apiVersion: v2\nname: lib\nversion: 0.3.1\n' >"$S/charts/lib/Chart.yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Release.Name }}-{{ .Chart.Name }}}\n' \
	>"$S/charts/lib/templates/cm.yaml"
printf 'size: 3\nnested: {b: 20, c: 30}\n' >"$S/values-prod.yaml"
SHA1=$(bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$S")

# The same files in a bucket.
$OBJ s3 mkbucket "$NS" >/dev/null
(cd "$S" && find . -type f | sed 's|^\./||') | while read -r f; do
	$OBJ s3 put "$NS" "$f" "$S/$f" >/dev/null
done
for ns in "$NS" "$NSF"; do
	k create secret generic s3 -n "$ns" --from-literal=accesskey="$S3_ACCESS_KEY" \
		--from-literal=secretkey="$S3_SECRET_KEY" >/dev/null
done

# shellcheck source=test/e2e/lib/oracle.bash
. "$(dirname "$0")/lib/oracle.bash"
both <<EOF
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: src, namespace: "@NS@"}
spec: {interval: 10m, url: "$GIT_HTTP_URL/$REPO.git", ref: {branch: main}}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: Bucket
metadata: {name: bkt, namespace: "@NS@"}
spec: {interval: 10m, provider: generic, bucketName: "$NS", endpoint: "$S3_ENDPOINT", insecure: true, secretRef: {name: s3}}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: charts, namespace: "@NS@"}
spec: {interval: 10m, url: "$HELM_URL/$NS/"}
EOF
# hc NAME KIND SOURCE CHART [extra spec, flow style]
hc() {
	both <<EOF
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmChart
metadata: {name: $1, namespace: "@NS@"}
spec: {interval: 10m, sourceRef: {kind: $2, name: $3}, chart: "$4"${5:+, $5}}
EOF
}
hc app GitRepository src ./charts/app
hc app-rev GitRepository src charts/app "reconcileStrategy: Revision"
hc app-vf GitRepository src charts/app "valuesFiles: [charts/app/values.yaml, values-prod.yaml, charts/app/values-extra.yaml]"
hc app-vf-missing GitRepository src charts/app "valuesFiles: [values-prod.yaml, nope.yaml], ignoreMissingValuesFiles: true"
hc app-vf-rev GitRepository src charts/app "valuesFiles: [values-prod.yaml], reconcileStrategy: Revision"
hc bkt-app Bucket bkt charts/app "reconcileStrategy: Revision"
hc remote-vf HelmRepository charts hello "version: 1.x, valuesFiles: [values.yaml, values-extra.yaml]"
hc bad-vf GitRepository src charts/app "valuesFiles: [nope.yaml]"

view() { # NS NAME: what both sides must agree on
	k get helmchart -n "$1" "$2" -o jsonpath='revision={.status.artifact.revision}
chart={.status.observedChartName}
valuesFiles={.status.observedValuesFiles}
ready={.status.conditions[?(@.type=="Ready")].status}/{.status.conditions[?(@.type=="Ready")].reason}
message={.status.conditions[?(@.type=="Ready")].message}
{"\n"}'
}
# settled NAME: both sides have a Ready status other than Unknown.
settled() {
	local a b
	a=$(cond helmchart "$1" Ready status)
	b=$(k get helmchart -n "$NSF" "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')
	[ -n "$a" ] && [ "$a" != Unknown ] && [ -n "$b" ] && [ "$b" != Unknown ]
}
# agree NAME: settled, and the same view (polled: a side may be one write behind).
agree() { settled "$1" && same "HelmChart $1" view @NS@ "$1" >/dev/null; }
for c in app app-rev app-vf app-vf-missing app-vf-rev bkt-app remote-vf bad-vf; do
	poll 90 agree "$c"
	check "HelmChart $c: revision, chart name, values files and Ready agree with source-controller" \
		same "HelmChart $c" view @NS@ "$c"
done
repoview() { # NS NAME: a HelmRepository as both must show it
	k get helmrepository -n "$1" "$2" -o jsonpath='revision={.status.artifact.revision}
ready={.status.conditions[?(@.type=="Ready")].status}/{.status.conditions[?(@.type=="Ready")].reason}
message={.status.conditions[?(@.type=="Ready")].message}
{"\n"}'
}
check "HelmRepository charts: revision and Ready as source-controller's" same "HelmRepository" repoview @NS@ charts
check "app-rev: the version carries the commit's first 12 hex" \
	test "$(jpk helmchart app-rev '{.status.artifact.revision}')" = "0.1.0+${SHA1:0:12}"
check "bad-vf: Stalled with ValuesFilesError naming the file" bash -c \
	"[ \"\$(kubectl get helmchart -n $NS bad-vf -o jsonpath='{.status.conditions[?(@.type==\"Stalled\")].reason}')\" = ValuesFilesError ] &&
	 kubectl get helmchart -n $NS bad-vf -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].message}' | grep -q \"no values file found at path '/nope.yaml'\""

# The packaged charts render alike (dependencies, merged values, versions).
artifact() { # DIR NS NAME
	local p
	p=$(k get helmchart -n "$2" "$3" -o jsonpath='{.status.artifact.path}')
	[ -n "$p" ] && echo "$1/$p"
}
render() { # DIR NS NAME
	local f
	f=$(artifact "$@") && h template rel "$f" --namespace x 2>&1
}
for c in app app-vf app-vf-missing bkt-app remote-vf; do
	check "HelmChart $c: cflux's package renders as source-controller's (helm template)" \
		bash -c "diff <($(declare -f k artifact render h); KUBECTL='$KUBECTL' HELM='$HELM' KUBECONFIG='$KUBECONFIG'; render '$W/flux-data' '$NSF' '$c') \
			<($(declare -f k artifact render h); KUBECTL='$KUBECTL' HELM='$HELM' KUBECONFIG='$KUBECONFIG'; render '$OP_DATA' '$NS' '$c') | head -20 | sed 's/^/# /'; exit \${PIPESTATUS[0]}"
done
check "the package holds the four dependencies, the aliased one by its alias" bash -c \
	"tar tzf '$(artifact "$OP_DATA" "$NS" app)' | grep -c '^app/charts/\(sub\|library\|hello\|anon\)/Chart.yaml\$' | grep -qx 4"

# A commit that changes no chart version: ChartVersion rebuilds nothing; Revision does.
d0=$(jpk helmchart app '{.status.artifact.digest}')
printf '# a comment\n' >>"$S/charts/app/templates/cm.yaml"
SHA2=$(bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$S")
for ns in "$NS" "$NSF"; do
	k annotate gitrepository -n "$ns" src --overwrite reconcile.fluxcd.io/requestedAt="$(date +%s%N)" >/dev/null
done
check "a new commit: app-rev moves to the new commit on both sides" poll 60 bash -c \
	"[ \"\$(kubectl get helmchart -n $NS app-rev -o jsonpath='{.status.artifact.revision}')\" = '0.1.0+${SHA2:0:12}' ] &&
	 [ \"\$(kubectl get helmchart -n $NSF app-rev -o jsonpath='{.status.artifact.revision}')\" = '0.1.0+${SHA2:0:12}' ]"
check "the same commit: app (ChartVersion) keeps its artifact, digest unchanged" \
	test "$(jpk helmchart app '{.status.artifact.digest}')" = "$d0"
check "app: observedSourceArtifactRevision follows the commit" poll 30 bash -c \
	"kubectl get helmchart -n $NS app -o jsonpath='{.status.observedSourceArtifactRevision}' | grep -q '$SHA2'"

# A version bump is picked up by both.
sed -i 's/^version: 0.1.0$/version: 0.2.0/' "$S/charts/app/Chart.yaml"
bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$S" >/dev/null
for ns in "$NS" "$NSF"; do
	k annotate gitrepository -n "$ns" src --overwrite reconcile.fluxcd.io/requestedAt="$(date +%s%N)" >/dev/null
done
bumped() { [ "$(jpk helmchart app '{.status.artifact.revision}')" = 0.2.0 ] && agree app; }
check "a version bump in Git: app moves to 0.2.0 on both sides, alike" poll 60 bumped

# A HelmRelease whose chart.spec names the GitRepository.
both <<EOF
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web, namespace: "@NS@"}
spec:
  interval: 10m
  chart:
    spec:
      chart: ./charts/app
      sourceRef: {kind: GitRepository, name: src}
      valuesFiles: [charts/app/values.yaml, values-prod.yaml]
  install: {disableWait: true}
  values: {color: red}
EOF
hr_ready() {
	[ "$(k get helmrelease -n "$1" web -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
}
check "HelmRelease from a GitRepository chart: Ready on both sides" poll 120 bash -c \
	"$(declare -f k hr_ready); KUBECTL='$KUBECTL'; hr_ready $NS && hr_ready $NSF"
check "the release's manifest is helm-controller's" same "manifest" h get manifest web -n @NS@
check "the release's chart version is helm-controller's" same "chart" bash -c \
	"'$HELM' --kubeconfig '$KUBECONFIG' list -n @NS@ -o json | python3 -c 'import json,sys; print([r[\"chart\"] for r in json.load(sys.stdin)])'"
check "the ConfigMap has the merged values and the release's own" bash -c \
	"kubectl get configmap -n $NS web-app -o jsonpath='{.data.color} {.data.size}' | grep -qx 'red 3'"

# ------------------------------------------------------------ charts from an OCI HelmRepository
# `helm push`ed to the registry (plain HTTP: insecure on both sides, as Flux needs it) and to
# the registry that wants basic auth; one version signed with the real cosign.
[ -x "$COSIGN" ] || bash "$repo/test/cluster/build.sh" oci >&2
OR=$NAME-$$
mkdir -p "$W/oci/ocichart/templates" "$W/pkg"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Release.Name }}-oci}\ndata: {v: {{ .Chart.Version | quote }}, c: {{ .Values.color | quote }}}\n' \
	>"$W/oci/ocichart/templates/cm.yaml"
printf 'color: blue\n' >"$W/oci/ocichart/values.yaml"
printf 'color: green\n' >"$W/oci/ocichart/values-extra.yaml"
ocipush() { # VERSION [HOST]
	printf 'apiVersion: v2\nname: ocichart\nversion: %s\n' "$1" >"$W/oci/ocichart/Chart.yaml"
	{ [ -f "$W/pkg/ocichart-$1.tgz" ] || h package -d "$W/pkg" "$W/oci/ocichart" >/dev/null; } &&
		h push "$W/pkg/ocichart-$1.tgz" "oci://${2:-$REGISTRY_HOST}/$OR" --plain-http >/dev/null 2>&1
}
check "helm push: ocichart 0.1.0, 0.2.0, 1.0.0-rc.1 and 0.3.0+build.1 to the registry" bash -c \
	"$(declare -f h ocipush); HELM='$HELM' KUBECONFIG='$KUBECONFIG' W='$W' OR='$OR' REGISTRY_HOST='$REGISTRY_HOST';
	 ocipush 0.1.0 && ocipush 0.2.0 && ocipush 1.0.0-rc.1 && ocipush 0.3.0+build.1"
check "helm push: ocichart 0.1.0 to the registry with basic auth" bash -c \
	"$(declare -f h ocipush); HELM='$HELM' KUBECONFIG='$KUBECONFIG' W='$W' OR='$OR';
	 '$HELM' registry login '$REGISTRY_AUTH_HOST' --insecure -u '$REGISTRY_USER' -p '$REGISTRY_PASSWORD' >/dev/null 2>&1;
	 ocipush 0.1.0 '$REGISTRY_AUTH_HOST'"
export COSIGN_PASSWORD=""
(cd "$W/oci" && "$COSIGN" generate-key-pair >/dev/null 2>&1)
dsig=$(curl -fsSI -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$REGISTRY_URL/v2/$OR/ocichart/manifests/0.1.0" |
	tr -d '\r' | sed -n 's/^Docker-Content-Digest: //Ip')
check "cosign signs ocichart 0.1.0" "$COSIGN" sign --key "$W/oci/cosign.key" --tlog-upload=false \
	--allow-http-registry --allow-insecure-registry --yes "$REGISTRY_HOST/$OR/ocichart@$dsig"
for ns in "$NS" "$NSF"; do
	k create secret generic cosign-pub -n "$ns" --from-file=cosign.pub="$W/oci/cosign.pub" >/dev/null
	k create secret generic regauth -n "$ns" --from-literal=username="$REGISTRY_USER" \
		--from-literal=password="$REGISTRY_PASSWORD" >/dev/null
	k create secret generic regbad -n "$ns" --from-literal=username="$REGISTRY_USER" \
		--from-literal=password=not-the-password >/dev/null
done
both <<YAML
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: oci, namespace: "@NS@"}
spec: {interval: 10m, type: oci, url: "oci://$REGISTRY_HOST/$OR", insecure: true}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: oci-auth, namespace: "@NS@"}
spec: {interval: 10m, type: oci, url: "oci://$REGISTRY_AUTH_HOST/$OR", insecure: true, secretRef: {name: regauth}}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: oci-bad, namespace: "@NS@"}
spec: {interval: 10m, type: oci, url: "oci://$REGISTRY_AUTH_HOST/$OR", insecure: true, secretRef: {name: regbad}}
YAML
hc oci-range HelmRepository oci ocichart "version: 0.x"
hc oci-latest HelmRepository oci ocichart
hc oci-pre HelmRepository oci ocichart "version: '>=1.0.0-0'"
hc oci-exact HelmRepository oci ocichart "version: 0.1.0"
hc oci-vf HelmRepository oci ocichart "version: 0.2.x, valuesFiles: [values.yaml, values-extra.yaml]"
hc oci-missing HelmRepository oci ocichart "version: 9.x"
hc oci-auth HelmRepository oci-auth ocichart "version: 0.1.0"
hc oci-bad HelmRepository oci-bad ocichart "version: 0.1.0"
hc oci-signed HelmRepository oci ocichart "version: 0.1.0, verify: {provider: cosign, secretRef: {name: cosign-pub}}"
hc oci-unsigned HelmRepository oci ocichart "version: 0.2.0, verify: {provider: cosign, secretRef: {name: cosign-pub}}"
for c in oci-range oci-latest oci-pre oci-exact oci-vf oci-missing oci-auth oci-signed; do
	poll 90 agree "$c"
	check "HelmChart $c (OCI): revision, chart name, values files and Ready agree with source-controller" \
		same "HelmChart $c" view @NS@ "$c"
done
check "HelmRepository oci (type oci): no artifact, Ready as source-controller's" same "HelmRepository" repoview @NS@ oci
check "oci-range: 0.x picks 0.3.0+build.1 (the tag 0.3.0_build.1)" \
	test "$(jpk helmchart oci-range '{.status.artifact.revision}')" = "0.3.0+build.1"
sv() { k get helmchart -n "$1" "$2" -o jsonpath='{.status.conditions[?(@.type=="SourceVerified")].status}/{.status.conditions[?(@.type=="SourceVerified")].reason}/{.status.conditions[?(@.type=="SourceVerified")].message}'; }
check "oci-signed: SourceVerified as source-controller's (True, verified signature of version 0.1.0)" \
	bash -c "$(declare -f k sv same norm); KUBECTL='$KUBECTL' NS='$NS' NSF='$NSF' W='$W'; same SourceVerified sv @NS@ oci-signed && grep -q 'True/Succeeded/verified signature of version 0.1.0' '$W/cflux.out'"
conds() { # NS NAME: Ready's status and reason, BuildFailed's reason, SourceVerified's status
	k get helmchart -n "$1" "$2" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}/{.status.conditions[?(@.type=="Ready")].reason}/{.status.conditions[?(@.type=="BuildFailed")].reason}/{.status.conditions[?(@.type=="SourceVerified")].status}'
}
# conds_are NAME WANT: both sides show WANT (printed when they do not).
conds_are() {
	local a b
	a=$(conds "$NS" "$1") b=$(conds "$NSF" "$1")
	[ "$a" = "$2" ] && [ "$b" = "$2" ] && return 0
	echo "# $1: cflux '$a', source-controller '$b', want '$2'"
	return 1
}
poll 60 conds_are oci-unsigned False/VerificationError/ChartVerificationError/False >/dev/null
check "oci-unsigned: Ready=False VerificationError, BuildFailed ChartVerificationError, SourceVerified=False, as source-controller" \
	conds_are oci-unsigned False/VerificationError/ChartVerificationError/False
# Flux marks AuthenticationFailed, then writes it over as Unknown (an error that is no BuildError).
poll 60 conds_are oci-bad False/Unknown// >/dev/null
check "oci-bad: a refused password is Ready=False Unknown, as source-controller says" \
	conds_are oci-bad False/Unknown//
check "oci-bad: the message says the login failed" bash -c \
	"kubectl get helmchart -n $NS oci-bad -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].message}' | grep -q '^unknown build error: failed to login to OCI registry: '"
check "HelmChart oci-vf: cflux's package renders as source-controller's (helm template)" \
	bash -c "diff <($(declare -f k artifact render h); KUBECTL='$KUBECTL' HELM='$HELM' KUBECONFIG='$KUBECONFIG'; render '$W/flux-data' '$NSF' oci-vf) \
		<($(declare -f k artifact render h); KUBECTL='$KUBECTL' HELM='$HELM' KUBECONFIG='$KUBECONFIG'; render '$OP_DATA' '$NS' oci-vf) | head -20 | sed 's/^/# /'; exit \${PIPESTATUS[0]}"
check "oci-exact: the stored chart is the pushed package, byte for byte" \
	cmp "$(artifact "$OP_DATA" "$NS" oci-exact)" "$W/pkg/ocichart-0.1.0.tgz"
# A new version in range is picked up by both.
check "helm push: ocichart 0.4.0" bash -c \
	"$(declare -f h ocipush); HELM='$HELM' KUBECONFIG='$KUBECONFIG' W='$W' OR='$OR' REGISTRY_HOST='$REGISTRY_HOST'; ocipush 0.4.0"
for ns in "$NS" "$NSF"; do
	k annotate helmchart -n "$ns" oci-range --overwrite reconcile.fluxcd.io/requestedAt="$(date +%s%N)" >/dev/null
done
ocibumped() { [ "$(jpk helmchart oci-range '{.status.artifact.revision}')" = 0.4.0 ] && agree oci-range; }
check "a new version in range: oci-range moves to 0.4.0 on both sides, alike" poll 60 ocibumped

# A chart in Git whose dependencies come from the OCI HelmRepository's registry.
mkdir -p "$S/charts/withoci/templates"
cat >"$S/charts/withoci/Chart.yaml" <<YAML
apiVersion: v2
name: withoci
version: 1.0.0
dependencies:
- name: ocichart
  version: ~0.3.0
  repository: oci://$REGISTRY_HOST/$OR
- name: ocichart
  version: 0.2.0
  repository: oci://$REGISTRY_HOST/$OR/
  alias: pinned
YAML
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Release.Name }}-withoci}\n' >"$S/charts/withoci/templates/cm.yaml"
bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$S" >/dev/null
for ns in "$NS" "$NSF"; do
	k annotate gitrepository -n "$ns" src --overwrite reconcile.fluxcd.io/requestedAt="$(date +%s%N)" >/dev/null
done
hc oci-dep GitRepository src charts/withoci
poll 90 agree oci-dep
check "HelmChart oci-dep (oci:// dependencies, one aliased): revision and Ready agree with source-controller" \
	same "HelmChart oci-dep" view @NS@ oci-dep
check "HelmChart oci-dep: cflux's package renders as source-controller's (helm template)" \
	bash -c "diff <($(declare -f k artifact render h); KUBECTL='$KUBECTL' HELM='$HELM' KUBECONFIG='$KUBECONFIG'; render '$W/flux-data' '$NSF' oci-dep) \
		<($(declare -f k artifact render h); KUBECTL='$KUBECTL' HELM='$HELM' KUBECONFIG='$KUBECONFIG'; render '$OP_DATA' '$NS' oci-dep) | head -20 | sed 's/^/# /'; exit \${PIPESTATUS[0]}"
check "oci-dep: the package holds ocichart 0.3.0+build.1 and 'pinned' 0.2.0" bash -c \
	"f='$(artifact "$OP_DATA" "$NS" oci-dep)'; tar xzOf \"\$f\" withoci/charts/ocichart/Chart.yaml | grep -qx 'version: 0.3.0+build.1' &&
	 tar xzOf \"\$f\" withoci/charts/pinned/Chart.yaml | grep -qx 'version: 0.2.0'"

if [ "$FAILED" -gt 0 ]; then
	echo "# source-controller log (tail):"
	tail -n 20 "$W/source-controller.log" | sed 's/^/# /'
fi
tap_end
