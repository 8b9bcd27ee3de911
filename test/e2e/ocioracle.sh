#!/bin/bash
# ocioracle.sh: the same OCIRepositories under cflux-operator and under
# Flux's own source-controller (built by test/cluster/build.sh flux-source, run
# out of cluster as make bench runs it), against the same registries (TAP).
#
# Each object is applied twice, once in a namespace each controller
# watches; then per object: the same status.artifact.revision, the same
# Ready status and reason, and artifacts with the same content (file
# names, modes, sizes and bytes; the gzip bytes differ, Go's compressor
# against libarchive's), the same metadata (the manifest's annotations).
# Cases: a tag, semver, a digest, basic auth (dockerconfigjson), HTTPS
# with a CA (certSecretRef), spec.ignore, layerSelector copy, a cosign
# signature made by the real cosign CLI (verified by both; Flux 2.7's
# source-controller reads cosign's legacy .sig signatures), and failures:
# a missing tag, a bad password, an unsigned artifact.
set -u

NAME=ocioracle
# The operator runs on this host (operator.bash OP_MODE=local): it runs beside Flux's source-controller, which runs on this host too.
CFLUX_OPERATOR_MODE=${CFLUX_OPERATOR_MODE:-local}
# shellcheck source=test/e2e/lib/operator.bash
. "$(dirname "$0")/lib/operator.bash"

[ -x "$SOURCE_CONTROLLER" ] || bash "$repo/test/cluster/build.sh" flux-source >&2
[ -x "$COSIGN" ] || bash "$repo/test/cluster/build.sh" oci >&2
check "OCIRepository CRD installed" crd_install source.toolkit.fluxcd.io_ocirepositories.yaml
NSF=$NS-flux
k create namespace "$NS" >/dev/null
k create namespace "$NSF" >/dev/null
trap 'e2e_cleanup; flux_stop; k delete namespace "$NSF" --wait=false >/dev/null 2>&1' EXIT

CFLUX=$BIN/cflux
REG=$REGISTRY_HOST
R=$NAME-$$

mkdir -p "$W/app/deploy" "$W/app/.github" "$W/app/bin"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: oracle\ndata:\n  v: "1"\n' >"$W/app/deploy/cm.yaml"
echo ci >"$W/app/.github/ci.yaml"
printf '#!/bin/sh\necho hi\n' >"$W/app/bin/run.sh"
chmod 755 "$W/app/bin/run.sh"
push() { # REGISTRY TAG [flags]
	"$CFLUX" push artifact "oci://$1/$R/app:$2" --path="$W/app" --source=https://example.com/oracle \
		--revision="$2@sha1:feedface" "${@:3}" >/dev/null 2>&1
}
check "artifacts pushed (open, basic auth, HTTPS)" bash -c "$(declare -f push); CFLUX='$CFLUX' W='$W' R='$R'
	push '$REG' v1 && push '$REG' 1.2.0 && push '$REG' 1.3.0 && push '$REG' signed && push '$REG' unsigned &&
	push '$REGISTRY_AUTH_HOST' v1 --creds='$REGISTRY_USER:$REGISTRY_PASSWORD' &&
	push '$REGISTRY_TLS_HOST' v1 --creds='$REGISTRY_USER:$REGISTRY_PASSWORD' --ca-file='$TEST_CA'"
DIG=$(curl -fsSI -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$REGISTRY_URL/v2/$R/app/manifests/1.2.0" |
	tr -d '\r' | sed -n 's/^Docker-Content-Digest: //Ip')
SIGD=$(curl -fsSI -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$REGISTRY_URL/v2/$R/app/manifests/signed" |
	tr -d '\r' | sed -n 's/^Docker-Content-Digest: //Ip')
export COSIGN_PASSWORD=""
(cd "$W" && "$COSIGN" generate-key-pair >/dev/null 2>&1)
check "the real cosign signs 'signed'" "$COSIGN" sign --key "$W/cosign.key" --tlog-upload=false \
	--allow-http-registry --allow-insecure-registry --yes "$REG/$R/app@$SIGD"

for ns in "$NS" "$NSF"; do
	k create secret docker-registry basic -n "$ns" --docker-server="$REGISTRY_AUTH_HOST" \
		--docker-username="$REGISTRY_USER" --docker-password="$REGISTRY_PASSWORD" >/dev/null
	k create secret docker-registry badpass -n "$ns" --docker-server="$REGISTRY_AUTH_HOST" \
		--docker-username="$REGISTRY_USER" --docker-password=wrong >/dev/null
	k create secret docker-registry tls -n "$ns" --docker-server="$REGISTRY_TLS_HOST" \
		--docker-username="$REGISTRY_USER" --docker-password="$REGISTRY_PASSWORD" >/dev/null
	k create secret generic ca -n "$ns" --from-file=ca.crt="$TEST_CA" >/dev/null
	k create secret generic cosign -n "$ns" --from-file=cosign.pub="$W/cosign.pub" >/dev/null
done

# NAME|URL|spec lines (';'-separated)|expected Ready status
CASES=(
	"tag|oci://$REG/$R/app|ref:;  tag: v1|True"
	"semver|oci://$REG/$R/app|ref:;  semver: '~1.2'|True"
	"digest|oci://$REG/$R/app|ref:;  digest: $DIG|True"
	"basic|oci://$REGISTRY_AUTH_HOST/$R/app|ref:;  tag: v1;secretRef:;  name: basic|True"
	"https|oci://$REGISTRY_TLS_HOST/$R/app|ref:;  tag: v1;secretRef:;  name: tls;certSecretRef:;  name: ca|True"
	"ignore|oci://$REG/$R/app|ref:;  tag: v1;ignore: bin/|True"
	"copy|oci://$REG/$R/app|ref:;  tag: v1;layerSelector:;  mediaType: application/vnd.cncf.flux.content.v1.tar+gzip;  operation: copy|True"
	"signed|oci://$REG/$R/app|ref:;  tag: signed;verify:;  provider: cosign;  secretRef:;    name: cosign|True"
	"missing|oci://$REG/$R/app|ref:;  tag: nope|False"
	"badpass|oci://$REGISTRY_AUTH_HOST/$R/app|ref:;  tag: v1;secretRef:;  name: badpass|False"
	"unsigned|oci://$REG/$R/app|ref:;  tag: unsigned;verify:;  provider: cosign;  secretRef:;    name: cosign|False"
)
apply_case() { # NS NAME URL SPEC
	{
		printf 'apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\n'
		printf 'metadata:\n  name: %s\n  namespace: %s\n' "$2" "$1"
		printf 'spec:\n  interval: 10m\n  timeout: 30s\n  url: %s\n' "$3"
		tr ';' '\n' <<<"$4" | sed 's/^/  /'
	} | k apply -f - >/dev/null
}
for c in "${CASES[@]}"; do
	IFS='|' read -r name url spec want <<<"$c"
	apply_case "$NS" "$name" "$url" "$spec"
	apply_case "$NSF" "$name" "$url" "$spec"
done

check "cflux-operator starts" start_operator
check "Flux's source-controller $SOURCE_CONTROLLER_VERSION starts" flux_start "$NSF" source
if [ "$FAILED" -gt 0 ]; then
	tap_end
	exit 1
fi

ready_of() { k get ocirepository -n "$1" "$2" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null; }
settled() { # NS NAME WANT: Ready reached WANT (True, or False after a real attempt)
	[ "$(ready_of "$1" "$2")" = "$3" ]
}
content() { # NS NAME: "mode size sha256 name" per file of the artifact, sorted
	local url d
	url=$(k get ocirepository -n "$1" "$2" -o jsonpath='{.status.artifact.url}')
	d=$W/x-$1-$2
	rm -rf "$d"
	mkdir -p "$d"
	curl -fsS "$url" -o "$d.tgz" || return 1
	tar -tvzf "$d.tgz" | awk '$1 !~ /^d/ {print $1, $3, $6}' | sort -k3 >"$d.list"
	tar -xzf "$d.tgz" -C "$d" || return 1
	(cd "$d" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum) >"$d.sums"
	cat "$d.list" "$d.sums"
}
# agree JSONPATH: both sides' $name give the same value.  Polled for a
# while: one side may be between two status writes when the other settles
# (CI once read a different Ready reason there, once); a lasting difference
# fails with both values.
agree() {
	local a b i
	for i in $(seq 1 20); do
		a=$(jr "$NS" "$1")
		b=$(jr "$NSF" "$1")
		[ "$a" = "$b" ] && return 0
		sleep 1
	done
	echo "cflux: '$a'; flux: '$b'"
	return 1
}
for c in "${CASES[@]}"; do
	IFS='|' read -r name url spec want <<<"$c"
	check "$name: both controllers settle on Ready=$want" \
		poll 90 bash -c "$(declare -f ready_of settled k); KUBECTL='$KUBECTL'; settled '$NS' '$name' '$want' && settled '$NSF' '$name' '$want'"
	jr() { k get ocirepository -n "$1" "$name" -o jsonpath="$2" 2>/dev/null; }
	check "$name: the same revision ('$(jr "$NSF" '{.status.artifact.revision}')')" \
		agree '{.status.artifact.revision}'
	check "$name: the same Ready reason ('$(jr "$NSF" '{.status.conditions[?(@.type=="Ready")].reason}')')" \
		agree '{.status.conditions[?(@.type=="Ready")].reason}'
	if [ "$want" = True ]; then
		if [ "$name" = copy ]; then
			check "$name: the same artifact bytes (the layer as is)" \
				bash -c "[ '$(jr "$NS" '{.status.artifact.digest}')' = '$(jr "$NSF" '{.status.artifact.digest}')' ]"
		else
			content "$NS" "$name" >"$W/c.cflux" 2>&1
			content "$NSF" "$name" >"$W/c.flux" 2>&1
			cp "$W/c.flux" "$OUT"
			check "$name: the same artifact content (names, modes, sizes, bytes)" \
				bash -c "[ -s '$W/c.flux' ] && diff <(sed 's|x-$NS-|x-|' '$W/c.cflux') <(sed 's|x-$NSF-|x-|' '$W/c.flux') >'$OUT'"
		fi
		check "$name: the same metadata (manifest annotations)" \
			bash -c "[ '$(jr "$NS" '{.status.artifact.metadata}')' = '$(jr "$NSF" '{.status.artifact.metadata}')' ]"
		check "$name: the same status.url file name" \
			bash -c "[ '$(basename "$(jr "$NS" '{.status.url}')")' = '$(basename "$(jr "$NSF" '{.status.url}')")' ]"
	fi
done
check "signed: both say SourceVerified=True 'verified signature of revision signed@$SIGD'" \
	bash -c "[ \"$(k get ocirepository -n "$NS" signed -o jsonpath='{.status.conditions[?(@.type=="SourceVerified")].message}')\" = 'verified signature of revision signed@$SIGD' ] && [ \"$(k get ocirepository -n "$NSF" signed -o jsonpath='{.status.conditions[?(@.type=="SourceVerified")].message}')\" = 'verified signature of revision signed@$SIGD' ]"

if [ "$FAILED" -gt 0 ]; then
	echo "# source-controller log (tail):"
	tail -n 20 "$W/source-controller.log" | sed 's/^/# /'
fi
tap_end
