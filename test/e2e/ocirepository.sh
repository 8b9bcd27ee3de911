#!/bin/bash
# ocirepository.sh: cflux-operator's OCIRepository reconciler against the
# real control plane and the real registries of servers.sh (TAP).
#
# Artifacts are pushed with bin/cflux push artifact (Flux's format); the
# hostile ones, which no well-behaved tool pushes, with lib/oci_push.py.
# Signatures are made by the real cosign CLI (built from its Go module by
# test/cluster/build.sh oci).  Checked, as a Flux user sees it: tag,
# semver and digest references and their revisions; a new tag and a
# moved tag picked up; the artifact served with the digest in status and
# status.url; the ignore rules and layerSelector copy; a Kustomization
# applying from the OCIRepository (lastAppliedOriginRevision); basic and
# token auth from a dockerconfigjson, HTTPS with certSecretRef, a registry
# requiring a client certificate (with and without one), proxySecretRef
# through a real proxy (tinyproxy: its log, a wrong password); a missing
# tag, a bad credential, a digest mismatch, and hostile layers ("..",
# absolute paths, a symlink out, a gzip bomb, 100 001 entries, a blob
# longer than its manifest says, a 100 MB manifest from the fault proxy)
# each ending Ready=False with a message naming the cause while the last
# good artifact stays; cosign: signed, unsigned, wrongly signed, keyless
# refused; the finalizer removing the artifacts.
set -u

NAME=ocirepo
# shellcheck source=test/e2e/lib/operator.bash
. "$(dirname "$0")/lib/operator.bash"
LIB=$(cd "$(dirname "$0")/lib" && pwd)

check "OCIRepository CRD installed" crd_install source.toolkit.fluxcd.io_ocirepositories.yaml \
	kustomize.toolkit.fluxcd.io_kustomizations.yaml
k create namespace "$NS" >/dev/null
[ -x "$COSIGN" ] || bash "$repo/test/cluster/build.sh" oci >&2

CFLUX=$BIN/cflux
REG=$REGISTRY_HOST
R=$NAME-$$ # repository prefix of this run

# ------------------------------------------------------------ helpers
# ocirepo NAME URL [extra spec lines]
ocirepo() {
	{
		printf 'apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\n'
		printf 'metadata:\n  name: %s\n  namespace: %s\n' "$1" "$NS"
		printf 'spec:\n  interval: 10m\n  timeout: 30s\n  url: %s\n' "$2"
		shift 2
		for l in "$@"; do printf '  %s\n' "$l"; done
	} | k apply -f -
}
jp() { jpk ocirepository "$@"; }
ready_is() { is_ready ocirepository "$@"; }
ready_msg() { cond ocirepository "$1" Ready message; }
reconcile_now() { k annotate -n "$NS" --overwrite ocirepository "$1" "reconcile.fluxcd.io/requestedAt=$(date +%s%N)" >/dev/null; }
# wait_msg NAME SECONDS PATTERN: the Ready message matches (grep -E)
wait_msg() { poll "$2" bash -c "$KUBECTL get ocirepository -n $NS $1 -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].message}' | grep -Eq -- \"\$0\"" "$3"; }
# push TAG DIR [REG]: cflux push artifact; prints the manifest digest
push() {
	"$CFLUX" push artifact "oci://${3:-$REG}/$R/app:$1" --path="$2" --source=https://example.com/app \
		--revision="$1@sha1:0123456789abcdef" --output=json "${@:4}" | sed -n 's/.*"digest": "\(.*\)".*/\1/p'
}
mkapp() { # DIR VALUE [SOURCEIGNORE]: a ConfigMap app, a PNG (cflux push leaves it out),
	# CI files (OCIRepository's default rules drop them), notes, and a .sourceignore
	mkdir -p "$1/deploy" "$1/docs" "$1/.github"
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: oci-app\n  namespace: %s\ndata:\n  v: "%s"\n' \
		"$NS" "$2" >"$1/deploy/app.yaml"
	printf '\x89PNG' >"$1/docs/logo.png"
	echo "ci" >"$1/.github/ci.yaml"
	echo "secret-notes" >"$1/docs/notes.txt"
	[ -z "${3:-}" ] || echo "$3" >"$1/.sourceignore"
}
fetch_artifact() { # NAME: the artifact is served with the digest and size in status
	local url dig
	url=$(jp "$1" '{.status.artifact.url}')
	dig=$(jp "$1" '{.status.artifact.digest}')
	art_curl "$W/a.tgz" "$url" && [ "sha256:$(sha256sum "$W/a.tgz" | cut -d' ' -f1)" = "$dig" ] &&
		[ "$(stat -c %s "$W/a.tgz")" = "$(jp "$1" '{.status.artifact.size}')" ]
}

mkapp "$W/v1" 1
mkapp "$W/v2" 2 docs/notes.txt
D1=$(push v1 "$W/v1")
check "cflux push artifact v1" test -n "$D1"

check "operator starts" start_operator

# ------------------------------------------------------------ tag
ocirepo tag "oci://$REG/$R/app" "ref:" "  tag: v1" >/dev/null
check "tag v1: Ready=True, stored artifact for digest 'v1@$D1'" wait_msg tag 30 "^stored artifact for digest 'v1@$D1'\$"
check "ArtifactInStorage=True, reason Succeeded" bash -c "[ \"$(cond ocirepository tag ArtifactInStorage reason)\" = Succeeded ]"
check "artifact served at status.artifact.url with its digest and size" fetch_artifact tag
check "artifact path is ocirepository/<ns>/<name>/<digest>.tar.gz" \
	bash -c "[ \"$(jp tag '{.status.artifact.path}')\" = ocirepository/$NS/tag/$D1.tar.gz ]"
check "status.url serves latest.tar.gz, the same bytes" \
	bash -c "art_curl - '$(jp tag '{.status.url}')' | cmp - '$W/a.tgz' && [ \"\$(basename '$(jp tag '{.status.url}')')\" = latest.tar.gz ]"
check "metadata: the manifest's annotations" \
	bash -c "[ \"$(jp tag '{.status.artifact.metadata.org\.opencontainers\.image\.revision}')\" = 'v1@sha1:0123456789abcdef' ] && [ \"$(jp tag '{.status.artifact.metadata.org\.opencontainers\.image\.source}')\" = https://example.com/app ]"
tar -tzf "$W/a.tgz" | sort >"$W/list"
check "default ignore rules applied (CI files out, notes in)" \
	bash -c "grep -qx deploy/app.yaml '$W/list' && ! grep -q .github '$W/list' && grep -q notes.txt '$W/list'"
check "NewArtifact Event names the origin source and revision" \
	poll 10 bash -c "$KUBECTL get events -n $NS --field-selector involvedObject.name=tag -o jsonpath='{.items[*].message}' | grep -q \"origin source 'https://example.com/app', origin revision 'v1@sha1:0123456789abcdef'\""

# ------------------------------------------------------------ the no-op and a moved tag
heads=$(grep -c "\"HEAD /v2/$R/app/manifests/v1 " "$SERVERS_DIR/registry.log")
gets=$(grep -c "\"GET /v2/$R/app/" "$SERVERS_DIR/registry.log")
reconcile_now tag
check "a reconcile with nothing new: handled" \
	poll 20 bash -c "[ \"\$($KUBECTL get ocirepository -n $NS tag -o jsonpath='{.status.lastHandledReconcileAt}')\" != '' ]"
sleep 1
check "the no-op costs one manifest HEAD and no GET" \
	bash -c "[ \$(grep -c '\"HEAD /v2/$R/app/manifests/v1 ' '$SERVERS_DIR/registry.log') = $((heads + 1)) ] && [ \$(grep -c '\"GET /v2/$R/app/' '$SERVERS_DIR/registry.log') = $gets ]"
D2=$(push v1 "$W/v2")
reconcile_now tag
check "the tag moved: new revision v1@$D2" wait_msg tag 30 "'v1@$D2'"
check "two artifacts kept, status.url follows" \
	bash -c "[ \$(ls '$OP_DATA/ocirepository/$NS/tag/' | grep -c 'tar.gz$') = 3 ] && art_curl - '$(jp tag '{.status.url}')' | tar -xzOf - deploy/app.yaml | grep -q 'v: \"2\"'"
art_curl - "$(jp tag '{.status.url}')" | tar -tzf - >"$W/list2"
check "a .sourceignore applies, and as in Flux drops the default rules (CI files back)" \
	bash -c "! grep -q notes.txt '$W/list2' && grep -q .github/ci.yaml '$W/list2'"

# ------------------------------------------------------------ Kustomization from the OCIRepository
{
	printf 'apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n'
	printf 'metadata:\n  name: app\n  namespace: %s\n' "$NS"
	printf 'spec:\n  interval: 10m\n  retryInterval: 2s\n  timeout: 20s\n  prune: true\n'
	printf '  targetNamespace: %s\n  path: ./deploy\n' "$NS"
	printf '  sourceRef:\n    kind: OCIRepository\n    name: tag\n'
} | k apply -f - >/dev/null
check "Kustomization applies from the OCIRepository: Applied revision v1@$D2" \
	poll 30 bash -c "[ \"\$($KUBECTL get kustomization -n $NS app -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].message}')\" = 'Applied revision: v1@$D2' ]"
check "the ConfigMap is there, v2" bash -c "[ \"$(k get configmap -n "$NS" oci-app -o jsonpath='{.data.v}')\" = 2 ]"
check "lastAppliedOriginRevision from the artifact's revision annotation" \
	bash -c "[ \"$(k get kustomization -n "$NS" app -o jsonpath='{.status.lastAppliedOriginRevision}')\" = 'v1@sha1:0123456789abcdef' ]"

# ------------------------------------------------------------ semver and digest
push 1.0.0 "$W/v1" >/dev/null
push 1.1.0 "$W/v1" >/dev/null
push 2.0.0-rc.1 "$W/v1" >/dev/null
ocirepo semver "oci://$REG/$R/app" "ref:" "  semver: '>=1.0.0'" >/dev/null
check "semver >=1.0.0 picks 1.1.0 (prereleases excluded)" wait_msg semver 30 "'1\\.1\\.0@sha256:"
D13=$(push 1.3.0 "$W/v2")
reconcile_now semver
check "a new tag is picked up: 1.3.0@$D13" wait_msg semver 30 "'1\\.3\\.0@$D13'"
ocirepo filter "oci://$REG/$R/app" "ref:" "  semver: '*'" "  semverFilter: '^1\\.0'" >/dev/null
check "semverFilter narrows the tags: 1.0.0" wait_msg filter 30 "'1\\.0\\.0@sha256:"
ocirepo digest "oci://$REG/$R/app" "ref:" "  digest: $D1" "  tag: v1" >/dev/null
check "digest wins over tag: revision is the digest alone" wait_msg digest 30 "^stored artifact for digest '$D1'\$"

# ------------------------------------------------------------ failures, each named
ocirepo missing "oci://$REG/$R/app" "ref:" "  tag: nope" >/dev/null
check "a missing tag: Ready=False OCIArtifactPullFailed, MANIFEST_UNKNOWN named" \
	poll 30 bash -c "[ \"\$($KUBECTL get ocirepository -n $NS missing -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].reason}')\" = OCIArtifactPullFailed ] && $KUBECTL get ocirepository -n $NS missing -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].message}' | grep -q 'failed to determine artifact digest: .*manifests/nope: 404 MANIFEST_UNKNOWN'"
check "FetchFailed=True with the same reason" bash -c "[ \"$(cond ocirepository missing FetchFailed reason)\" = OCIArtifactPullFailed ]"
ocirepo baddigest "oci://$REG/$R/app" "ref:" "  digest: sha256:$(printf x | sha256sum | cut -d' ' -f1)" >/dev/null
check "a digest that is not there: Ready=False, MANIFEST_UNKNOWN" \
	wait_msg baddigest 30 "manifests/sha256:[0-9a-f]+: 404 MANIFEST_UNKNOWN"
ocirepo withtag "oci://$REG/$R/app:v1" >/dev/null
check "a tag in the URL: Stalled URLInvalid" \
	poll 20 bash -c "[ \"\$($KUBECTL get ocirepository -n $NS withtag -o jsonpath='{.status.conditions[?(@.type==\"Stalled\")].reason}')\" = URLInvalid ] && $KUBECTL get ocirepository -n $NS withtag -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].message}' | grep -q \"URL must not contain a tag; remove ':v1'\""

# ------------------------------------------------------------ auth: basic (HTTP, HTTPS) and token
k create secret docker-registry basic -n "$NS" --docker-server="$REGISTRY_AUTH_HOST" \
	--docker-username="$REGISTRY_USER" --docker-password="$REGISTRY_PASSWORD" >/dev/null
k create secret docker-registry badpass -n "$NS" --docker-server="$REGISTRY_AUTH_HOST" \
	--docker-username="$REGISTRY_USER" --docker-password=not-the-password >/dev/null
k create secret docker-registry token -n "$NS" --docker-server="$REGISTRY_TOKEN_HOST" \
	--docker-username="$REGISTRY_USER" --docker-password="$REGISTRY_PASSWORD" >/dev/null
k create secret docker-registry tls -n "$NS" --docker-server="$REGISTRY_TLS_HOST" \
	--docker-username="$REGISTRY_USER" --docker-password="$REGISTRY_PASSWORD" >/dev/null
k create secret generic ca -n "$NS" --from-file=ca.crt="$TEST_CA" >/dev/null
DA=$(push v1 "$W/v1" "$REGISTRY_AUTH_HOST" --creds="$REGISTRY_USER:$REGISTRY_PASSWORD")
DT=$(push v1 "$W/v1" "$REGISTRY_TOKEN_HOST" --creds="$REGISTRY_USER:$REGISTRY_PASSWORD")
DS=$(push v1 "$W/v1" "$REGISTRY_TLS_HOST" --creds="$REGISTRY_USER:$REGISTRY_PASSWORD" --ca-file="$TEST_CA")
ocirepo basic "oci://$REGISTRY_AUTH_HOST/$R/app" "ref:" "  tag: v1" "secretRef:" "  name: basic" >/dev/null
check "basic auth from a dockerconfigjson: Ready" wait_msg basic 30 "'v1@$DA'"
ocirepo badpass "oci://$REGISTRY_AUTH_HOST/$R/app" "ref:" "  tag: v1" "secretRef:" "  name: badpass" >/dev/null
check "a bad credential: Ready=False, the refusal named" \
	wait_msg badpass 30 "authentication to '$REGISTRY_AUTH_HOST' failed: the registry refused the credentials"
check "the password is nowhere in the status or the events" \
	bash -c "! $KUBECTL get ocirepository,events -n $NS -o yaml | grep -q not-the-password"
ocirepo anon "oci://$REGISTRY_AUTH_HOST/$R/app" "ref:" "  tag: v1" >/dev/null
check "no credential: Ready=False, 'no credentials given'" wait_msg anon 30 "required: no credentials given"
ocirepo token "oci://$REGISTRY_TOKEN_HOST/$R/app" "ref:" "  tag: v1" "secretRef:" "  name: token" >/dev/null
check "token auth (Bearer realm) from a dockerconfigjson: Ready" wait_msg token 30 "'v1@$DT'"
check "the token server was asked" grep -q 'authed=True' "$REGISTRY_TOKEN_LOG"
ocirepo https "oci://$REGISTRY_TLS_HOST/$R/app" "ref:" "  tag: v1" "secretRef:" "  name: tls" \
	"certSecretRef:" "  name: ca" >/dev/null
check "HTTPS with the CA from certSecretRef: Ready" wait_msg https 30 "'v1@$DS'"
ocirepo noca "oci://$REGISTRY_TLS_HOST/$R/app" "ref:" "  tag: v1" "secretRef:" "  name: tls" >/dev/null
check "HTTPS without the CA: Ready=False naming the certificate" wait_msg noca 30 "https://.*certificate"

# ------------------------------------------------------------ mutual TLS: a registry that requires a client certificate
k create secret docker-registry mtls -n "$NS" --docker-server="$REGISTRY_MTLS_HOST" \
	--docker-username="$REGISTRY_USER" --docker-password="$REGISTRY_PASSWORD" >/dev/null
k create secret generic clientcert -n "$NS" --from-file=ca.crt="$TEST_CA" \
	--from-file=tls.crt="$TEST_CLIENT_CERT" --from-file=tls.key="$TEST_CLIENT_KEY" >/dev/null
DM=$(push v1 "$W/v1" "$REGISTRY_MTLS_HOST" --creds="$REGISTRY_USER:$REGISTRY_PASSWORD" --ca-file="$TEST_CA" \
	--cert-file="$TEST_CLIENT_CERT" --key-file="$TEST_CLIENT_KEY")
check "cflux push artifact to the mutual-TLS registry (--cert-file/--key-file)" test -n "$DM"
ocirepo mtls "oci://$REGISTRY_MTLS_HOST/$R/app" "ref:" "  tag: v1" "secretRef:" "  name: mtls" \
	"certSecretRef:" "  name: clientcert" >/dev/null
check "mutual TLS with ca.crt, tls.crt and tls.key from certSecretRef: Ready" wait_msg mtls 30 "^stored artifact for digest 'v1@$DM'\$"
ocirepo mtlsnocert "oci://$REGISTRY_MTLS_HOST/$R/app" "ref:" "  tag: v1" "secretRef:" "  name: mtls" \
	"certSecretRef:" "  name: ca" >/dev/null
check "mutual TLS without a client certificate: Ready=False, the refusal named" \
	wait_msg mtlsnocert 30 "the registry refused the TLS handshake \\(alert bad certificate\\): it requires a client certificate, and none was given"
check "  ... reason OCIArtifactPullFailed" bash -c "[ \"$(cond ocirepository mtlsnocert Ready reason)\" = OCIArtifactPullFailed ]"
check "  ... the client key is nowhere in status, events or the operator's log" \
	bash -c "! { $KUBECTL get ocirepository,events -n $NS -o yaml; op_log; } | grep -q \"\$(sed -n 2p '$TEST_CLIENT_KEY')\""

# ------------------------------------------------------------ proxySecretRef: through a real proxy (tinyproxy)
k create secret generic proxy -n "$NS" --from-literal=address="$PROXY_URL" \
	--from-literal=username="$PROXY_USER" --from-literal=password="$PROXY_PASSWORD" >/dev/null
k create secret generic badproxy -n "$NS" --from-literal=address="$PROXY_URL" \
	--from-literal=username="$PROXY_USER" --from-literal=password=proxy-pass-xyzzy >/dev/null
ocirepo viaproxy "oci://$REGISTRY_TLS_HOST/$R/app" "ref:" "  tag: v1" "secretRef:" "  name: tls" \
	"certSecretRef:" "  name: ca" "proxySecretRef:" "  name: proxy" >/dev/null
check "HTTPS through the proxy from proxySecretRef: Ready" wait_msg viaproxy 30 "'v1@$DS'"
check "  ... the proxy's log shows the tunnel to the registry" \
	poll 10 grep -q "CONNECT $REGISTRY_TLS_HOST " "$PROXY_LOG"
ocirepo viaproxyhttp "oci://$REG/$R/app" "ref:" "  tag: v1" "proxySecretRef:" "  name: proxy" >/dev/null
check "plain HTTP through the proxy: Ready" wait_msg viaproxyhttp 30 "'v1@sha256:"
check "  ... the proxy's log shows the tunnel to the registry" poll 10 grep -q "CONNECT $REG " "$PROXY_LOG"
ocirepo badproxy "oci://$REG/$R/app" "ref:" "  tag: v1" "proxySecretRef:" "  name: badproxy" >/dev/null
check "a wrong proxy password: Ready=False, says the proxy refused it" \
	wait_msg badproxy 30 "the proxy refused the proxy username and password"
check "  ... and the proxy password is nowhere in status, events or logs" \
	bash -c "! { $KUBECTL get ocirepository,events -n $NS -o yaml; op_log; } | grep -q proxy-pass-xyzzy"
k create secret generic noaddress -n "$NS" --from-literal=username=u >/dev/null
ocirepo noaddress "oci://$REG/$R/app" "ref:" "  tag: v1" "proxySecretRef:" "  name: noaddress" >/dev/null
check "a proxy Secret without an address: Ready=False AuthenticationFailed, Flux's message" \
	poll 30 bash -c "[ \"\$($KUBECTL get ocirepository -n $NS noaddress -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].reason} {.status.conditions[?(@.type==\"Ready\")].message}')\" = \"AuthenticationFailed failed to get proxy address: secret '$NS/noaddress': key 'address' not found\" ]"

# ------------------------------------------------------------ hostile content: the last good artifact stays
hostile() { # TAG KIND: a layer from evil_tar.py under TAG
	/usr/bin/python3 "$LIB/evil_tar.py" "$2" "$W/$2.tgz" &&
		/usr/bin/python3 "$LIB/oci_push.py" "$REGISTRY_URL" "$R/app" "$1" "$W/$2.tgz" >/dev/null
}
stays() { # NAME REVISION: the artifact in status is still REVISION and still served
	[ "$(jp "$1" '{.status.artifact.revision}')" = "$2" ] && fetch_artifact "$1"
}
reason_is() { [ "$(cond ocirepository "$1" Ready reason)" = "$2" ]; }
ocirepo evil "oci://$REG/$R/app" "ref:" "  tag: evil" >/dev/null
"$CFLUX" push artifact "oci://$REG/$R/app:evil" --path="$W/v1" --source=s --revision=r >/dev/null 2>&1
check "evil starts from a good artifact" wait_msg evil 30 "^stored artifact for digest 'evil@"
GOOD=$(jp evil '{.status.artifact.revision}')
for kind in dotdot absolute symlink bomb entries; do
	case $kind in
	dotdot) want="failed to extract layer contents from artifact: .*\\.\\./\\.\\./escaped\\.yaml" ;;
	absolute) want="failed to extract layer contents from artifact: .*absolute" ;;
	symlink) want="'evil' is a symlink to '/etc', outside the tree" ;;
	bomb) want="'zeros\\.yaml' is 314572800 bytes, over the limit" ;;
	entries) want="more than 100000 entries" ;;
	esac
	hostile evil "$kind"
	reconcile_now evil
	check "hostile layer ($kind): Ready=False naming the cause: $want" wait_msg evil 60 "$want"
	check "  ... reason OCIArtifactLayerOperationFailed" reason_is evil OCIArtifactLayerOperationFailed
	check "  ... the last good artifact stays in status and storage" stays evil "$GOOD"
done
check "nothing escaped the scratch directory" bash -c "[ ! -e /tmp/cflux-absolute.yaml ] && [ ! -e '$W/escaped.yaml' ]"
check "operator memory stayed bounded (VmHWM < 200 MiB)" \
	bash -c "[ \$(op_hwm_kib) -lt 204800 ]"

# A blob longer than its manifest says: cut off at the declared size.
"$CFLUX" push artifact "oci://$REG/$R/app:short" --path="$W/v1" --source=s --revision=r >/dev/null 2>&1
/usr/bin/python3 "$LIB/evil_tar.py" dotdot "$W/long.tgz"
/usr/bin/python3 "$LIB/oci_push.py" "$REGISTRY_URL" "$R/app" short "$W/long.tgz" --declare-size 100 >/dev/null
ocirepo short "oci://$REG/$R/app" "ref:" "  tag: short" >/dev/null
check "a blob longer than its declared size: Ready=False OCIArtifactPullFailed" \
	wait_msg short 30 "failed to pull artifact from .*is larger than its declared size of 100 bytes"

# Bytes that do not match their digest: the registry's store edited behind its back
# (content of this run only: blobs are shared by every repository of the registry).
mkapp "$W/mm" "mismatch-$$-$RANDOM"
push mismatch "$W/mm" >/dev/null
LAYER=$("$CFLUX" list artifacts "oci://$REG/$R/app" --filter-regex='^mismatch$' >/dev/null; \
	curl -fsS -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$REGISTRY_URL/v2/$R/app/manifests/mismatch" |
	/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"][7:])')
BLOB=$REGISTRY_DATA/registry/docker/registry/v2/blobs/sha256/${LAYER:0:2}/$LAYER/data
/usr/bin/python3 -c 'import sys; p=sys.argv[1]; n=len(open(p,"rb").read()); open(p,"wb").write(b"x"*n)' "$BLOB"
ocirepo mismatch "oci://$REG/$R/app" "ref:" "  tag: mismatch" >/dev/null
check "a blob whose bytes do not match its digest: Ready=False, 'blob digest mismatch'" \
	wait_msg mismatch 30 "blob digest mismatch: want 'sha256:$LAYER'"

# A 100 MB manifest, from the fault proxy in front of the HTTPS registry.
FP_BIN=$(bash "$repo/test/faults/build.sh")
"$FP_BIN" -listen "$SERVERS_HOST:0" -upstream "$REGISTRY_TLS_URL" -upstream-ca "$TEST_CA" \
	-port-file "$W/fp.port" >"$W/fp.log" 2>&1 &
FP_PID=$!
poll 10 test -s "$W/fp.port"
FPH=$SERVERS_HOST:$(cat "$W/fp.port")
curl -fsS -X POST --data-binary '[{"method":"GET","path":"/manifests/","action":"enlarge","size":104857600}]' \
	"http://$FPH/__faults/rules" >/dev/null
k create secret docker-registry proxied -n "$NS" --docker-server="$FPH" \
	--docker-username="$REGISTRY_USER" --docker-password="$REGISTRY_PASSWORD" >/dev/null
ocirepo huge "oci://$FPH/$R/app" "ref:" "  tag: v1" "secretRef:" "  name: proxied" >/dev/null
check "a 100 MB manifest: Ready=False, refused past 4 MiB" wait_msg huge 60 "manifest is larger than 4194304 bytes"
check "operator memory still bounded after it (VmHWM < 200 MiB)" \
	bash -c "[ \$(op_hwm_kib) -lt 204800 ]"
kill "$FP_PID" 2>/dev/null
wait "$FP_PID" 2>/dev/null

# ------------------------------------------------------------ layerSelector copy
ocirepo copy "oci://$REG/$R/app" "ref:" "  tag: v1" "layerSelector:" \
	"  mediaType: application/vnd.cncf.flux.content.v1.tar+gzip" "  operation: copy" >/dev/null
check "layerSelector copy: Ready" wait_msg copy 30 "'v1@$D2'"
LD=$(curl -fsS -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$REGISTRY_URL/v2/$R/app/manifests/v1" |
	/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"])')
check "copy stores the layer as is: the artifact digest is the layer's" \
	bash -c "[ \"$(jp copy '{.status.artifact.digest}')\" = '$LD' ] && [ -n \"$(jp copy '{.status.observedLayerSelector.operation}')\" ]"
ocirepo wrongmt "oci://$REG/$R/app" "ref:" "  tag: v1" "layerSelector:" "  mediaType: application/x-none" >/dev/null
check "no layer of the media type: OCIArtifactLayerOperationFailed" \
	wait_msg wrongmt 30 "failed to find layer with media type 'application/x-none' in artifact"
ocirepo ign "oci://$REG/$R/app" "ref:" "  tag: 1.0.0" "ignore: |" "    deploy/" >/dev/null
ign_ok() { # the CI file comes back (no default rules), deploy/ goes
	local u
	u=$(jp ign '{.status.artifact.url}')
	[ -n "$u" ] && art_curl - "$u" | tar -tzf - >"$W/ign.list" && grep -q .github/ci.yaml "$W/ign.list" &&
		! grep -q '^deploy/' "$W/ign.list"
}
check "spec.ignore replaces the default rules" poll 30 ign_ok
check "observedIgnore recorded" bash -c "[ \"$(jp ign '{.status.observedIgnore}')\" = 'deploy/' ]"

# ------------------------------------------------------------ cosign
export COSIGN_PASSWORD=""
(cd "$W" && "$COSIGN" generate-key-pair >/dev/null 2>&1 && mkdir -p other && cd other &&
	"$COSIGN" generate-key-pair >/dev/null 2>&1)
check "cosign generated two key pairs" test -s "$W/cosign.pub" -a -s "$W/other/cosign.key"
k create secret generic cosign-pub -n "$NS" --from-file=cosign.pub="$W/cosign.pub" >/dev/null
sign() { # TAG KEY: sign the tag's digest with the real cosign, no transparency log
	local d
	d=$(curl -fsSI -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$REGISTRY_URL/v2/$R/app/manifests/$1" |
		tr -d '\r' | sed -n 's/^Docker-Content-Digest: //Ip')
	"$COSIGN" sign --key "$2" --tlog-upload=false --allow-http-registry --allow-insecure-registry \
		--yes "$REG/$R/app@$d" >"$W/cosign.log" 2>&1
}
DSG=$(push signed "$W/v1")
push unsigned "$W/v2" >/dev/null
push wrongkey "$W/v2" >/dev/null
check "cosign signs 'signed' with the key" sign signed "$W/cosign.key"
check "cosign signs 'wrongkey' with the other key" sign wrongkey "$W/other/cosign.key"
ocirepo signed "oci://$REG/$R/app" "ref:" "  tag: signed" "verify:" "  provider: cosign" \
	"  secretRef:" "    name: cosign-pub" >/dev/null
check "a cosign-signed artifact verifies: Ready" wait_msg signed 30 "'signed@$DSG'"
check "SourceVerified=True: verified signature of revision signed@$DSG" \
	bash -c "[ \"$(cond ocirepository signed SourceVerified message)\" = 'verified signature of revision signed@$DSG' ]"
ocirepo unsigned "oci://$REG/$R/app" "ref:" "  tag: unsigned" "verify:" "  provider: cosign" \
	"  secretRef:" "    name: cosign-pub" >/dev/null
no_artifact() { [ -z "$(jp "$1" '{.status.artifact}')" ]; }
check "an unsigned artifact: Ready=False VerificationError" poll 30 reason_is unsigned VerificationError
check "  ... and no artifact" no_artifact unsigned
check "  ... message names it" wait_msg unsigned 5 "failed to verify the signature using provider 'cosign': no matching signatures were found for '.*:unsigned': no signature was pushed"
check "  ... SourceVerified=False" bash -c "[ \"$(cond ocirepository unsigned SourceVerified status)\" = False ]"
ocirepo wrongkey "oci://$REG/$R/app" "ref:" "  tag: wrongkey" "verify:" "  provider: cosign" \
	"  secretRef:" "    name: cosign-pub" >/dev/null
check "a wrongly signed artifact: Ready=False, the signature does not verify" \
	wait_msg wrongkey 30 "does not verify with any of the 1 public key"
# The signed tag moves to an unsigned artifact: the verified one stays.
push signed "$W/v2" >/dev/null
reconcile_now signed
check "the tag moves to an unsigned artifact: refused" wait_msg signed 30 "no matching signatures were found"
check "  ... the last verified artifact stays in status and storage" stays signed "signed@$DSG"
ocirepo keyless "oci://$REG/$R/app" "ref:" "  tag: v1" "verify:" "  provider: cosign" >/dev/null
check "keyless verification: Stalled, saying Fulcio and Rekor are out of reach" \
	poll 20 bash -c "[ \"\$($KUBECTL get ocirepository -n $NS keyless -o jsonpath='{.status.conditions[?(@.type==\"Stalled\")].status}')\" = True ] && $KUBECTL get ocirepository -n $NS keyless -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].message}' | grep -q 'keyless verification needs Fulcio and Rekor'"

# ------------------------------------------------------------ FluxConfiguration sourceKind OCIRepository
fc() { # NAME SPEC-YAML (indented by two)
	printf 'apiVersion: clusterconfig.cflux.io/v1\nkind: FluxConfiguration\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n%s\n' \
		"$1" "$NS" "$2" | k apply -f - 2>&1
}
jfc() { k get fluxconfiguration -n "$NS" "$1" -o jsonpath="$2" 2>/dev/null; }
# The configuration's Kustomization applies the same ConfigMap: the earlier one goes first (pruning it).
k delete kustomization -n "$NS" app --wait=false >/dev/null
check "(the Kustomization app is deleted and its ConfigMap pruned)" \
	poll 60 bash -c "! $KUBECTL get kustomization -n $NS app >/dev/null 2>&1 && ! $KUBECTL get configmap -n $NS oci-app >/dev/null 2>&1"
# Azure's protected settings: the client key of tlsConfig, as plain text in the Secret.
k create secret generic fc-protected -n "$NS" --from-file=privateKey="$TEST_CLIENT_KEY" >/dev/null
fc ocicfg "  scope: namespace
  namespace: $NS
  sourceKind: OCIRepository
  protectedSettingsSecretRef: {name: fc-protected}
  ociRepository:
    url: oci://$REGISTRY_MTLS_HOST/$R/app
    repositoryRef: {tag: v1}
    localAuthRef: mtls
    tlsConfig:
      caCertificate: $(base64 -w0 <"$TEST_CA")
      clientCertificate: $(base64 -w0 <"$TEST_CLIENT_CERT")
    verify:
      provider: Cosign
      verificationConfig:
        author: $(base64 -w0 <"$W/cosign.pub")
    syncIntervalInSeconds: 600
    timeoutInSeconds: 120
  kustomizations:
    app: {path: ./deploy, prune: true}" >/dev/null
TLSD=$(curl -fsSI --cacert "$TEST_CA" --cert "$TEST_CLIENT_CERT" --key "$TEST_CLIENT_KEY" \
	-u "$REGISTRY_USER:$REGISTRY_PASSWORD" \
	-H 'Accept: application/vnd.oci.image.manifest.v1+json' "$REGISTRY_MTLS_URL/v2/$R/app/manifests/v1" |
	tr -d '\r' | sed -n 's/^Docker-Content-Digest: //Ip')
SSL_CERT_FILE=$TEST_CA "$COSIGN" sign --key "$W/cosign.key" --tlog-upload=false --yes \
	--registry-username="$REGISTRY_USER" --registry-password="$REGISTRY_PASSWORD" \
	--registry-client-cert="$TEST_CLIENT_CERT" --registry-client-key="$TEST_CLIENT_KEY" \
	"$REGISTRY_MTLS_HOST/$R/app@$TLSD" >"$W/cosign-tls.log" 2>&1
fc_state() { [ "$(jfc "$1" '{.status.complianceState}')" = "$2" ]; }
check "FluxConfiguration sourceKind OCIRepository (a registry requiring a client certificate, localAuthRef, tlsConfig with the client certificate, cosign keys) reaches Compliant" \
	poll 60 fc_state ocicfg Compliant
check "sourceSyncedCommitId is the OCI revision v1@$TLSD" \
	bash -c "[ \"$(jfc ocicfg '{.status.sourceSyncedCommitId}')\" = 'v1@$TLSD' ]"
check "the OCIRepository Azure's agent would write: secretRef localAuthRef, certSecretRef and verify.secretRef <config>-auth, Flux's durations" \
	bash -c "[ \"$(jp ocicfg '{.spec.url} {.spec.secretRef.name} {.spec.certSecretRef.name} {.spec.verify.provider} {.spec.verify.secretRef.name} {.spec.ref.tag} {.spec.interval} {.spec.timeout}')\" = 'oci://$REGISTRY_MTLS_HOST/$R/app mtls ocicfg-auth cosign ocicfg-auth v1 10m0s 2m0s' ]"
check "  ... verified: SourceVerified=True" \
	bash -c "[ \"$(cond ocirepository ocicfg SourceVerified status)\" = True ]"
# Compliant can be seen between two reconciles of the Kustomization (the
# OCIRepository's status moving requeues it), so its Ready is polled.
ocicfg_app_ready() {
	[ "$(k get kustomization -n "$NS" ocicfg-app -o jsonpath='{.spec.sourceRef.kind} {.status.conditions[?(@.type=="Ready")].status}')" = 'OCIRepository True' ] &&
		k get configmap -n "$NS" oci-app >/dev/null
}
check "  ... its Kustomization ocicfg-app from sourceRef.kind OCIRepository is Ready, and applied the ConfigMap" \
	poll 30 ocicfg_app_ready
auth_key() { k get secret -n "$NS" ocicfg-auth -o jsonpath="{.data.$1}" | base64 -d; }
auth_secret_ok() {
	cmp -s <(auth_key 'author\.pub') "$W/cosign.pub" && cmp -s <(auth_key 'ca\.crt') "$TEST_CA" &&
		cmp -s <(auth_key 'tls\.crt') "$TEST_CLIENT_CERT" && cmp -s <(auth_key 'tls\.key') "$TEST_CLIENT_KEY"
}
check "  ... <config>-auth: ca.crt, tls.crt, tls.key (the protected privateKey) and the key as author.pub" auth_secret_ok
check "  ... the configuration's statuses list the OCIRepository as Compliant" \
	bash -c "[ \"$(jfc ocicfg '{.status.statuses[?(@.kind=="OCIRepository")].name} {.status.statuses[?(@.kind=="OCIRepository")].complianceState}')\" = 'ocicfg Compliant' ]"

# Source only (no kustomizations): a digest ref on the plain registry, Azure's layerSelector, no credentials.
fc ocidig "  sourceKind: OCIRepository
  ociRepository:
    url: oci://$REG/$R/app
    repositoryRef: {digest: $D13, tag: v1}
    layerSelector: {mediaType: application/vnd.cncf.flux.content.v1.tar+gzip, operation: extract}" >/dev/null
check "a digest repositoryRef with a layerSelector: Compliant, sourceSyncedCommitId the digest alone" \
	poll 60 bash -c "[ \"\$($KUBECTL get fluxconfiguration -n $NS ocidig -o jsonpath='{.status.complianceState} {.status.sourceSyncedCommitId}')\" = 'Compliant $D13' ]"
check "  ... ref and layerSelector passed on; no secretRef, no certSecretRef" \
	bash -c "[ \"$(jp ocidig '{.spec.ref.digest} {.spec.ref.tag} {.spec.layerSelector.mediaType} {.spec.layerSelector.operation}|{.spec.secretRef}{.spec.certSecretRef}{.spec.verify}')\" = '$D13 v1 application/vnd.cncf.flux.content.v1.tar+gzip extract|' ]"
fc ocisem "  sourceKind: OCIRepository
  ociRepository: {url: oci://$REG/$R/app, repositoryRef: {semver: '>=1.0.0 <1.2.0'}}" >/dev/null
check "a semver repositoryRef: Compliant at 1.1.0" \
	poll 60 bash -c "$KUBECTL get fluxconfiguration -n $NS ocisem -o jsonpath='{.status.complianceState} {.status.sourceSyncedCommitId}' | grep -Eq '^Compliant 1\.1\.0@sha256:'"
fc ocilatest "  sourceKind: OCIRepository
  ociRepository: {url: oci://$REG/$R/app}" >/dev/null
check "no repositoryRef: the tag latest (Azure's default), which is not there: Non-Compliant, named" \
	poll 60 bash -c "[ \"\$($KUBECTL get ocirepository -n $NS ocilatest -o jsonpath='{.spec.ref.tag}')\" = latest ] && [ \"\$($KUBECTL get fluxconfiguration -n $NS ocilatest -o jsonpath='{.status.complianceState}')\" = Non-Compliant ] && $KUBECTL get fluxconfiguration -n $NS ocilatest -o json | grep -q 'manifests/latest: 404 MANIFEST_UNKNOWN'"

out=$(fc badwi "  sourceKind: OCIRepository
  ociRepository: {url: oci://$REG/$R/app, useWorkloadIdentity: true}")
check "useWorkloadIdentity: Non-Compliant, Stalled, saying Entra ID is out of reach" \
	poll 30 bash -c "[ \"\$($KUBECTL get fluxconfiguration -n $NS badwi -o jsonpath='{.status.conditions[?(@.type==\"Stalled\")].status}')\" = True ] && $KUBECTL get fluxconfiguration -n $NS badwi -o jsonpath='{.status.errorMessage}' | grep -q 'useWorkloadIdentity needs Microsoft Entra ID'"
check "  ... and no OCIRepository made" bash -c "! $KUBECTL get ocirepository -n $NS badwi >/dev/null 2>&1"
out=$(fc nokey "  sourceKind: OCIRepository
  ociRepository: {url: oci://$REG/$R/app, tlsConfig: {clientCertificate: $(base64 -w0 <"$TEST_CLIENT_CERT")}}")
check "a clientCertificate without protected settings: Stalled, naming privateKey" \
	poll 30 bash -c "$KUBECTL get fluxconfiguration -n $NS nokey -o jsonpath='{.status.errorMessage}' | grep -q 'clientCertificate needs its private key: the Secret named by protectedSettingsSecretRef, key privateKey'"
out=$(fc badkey "  sourceKind: OCIRepository
  ociRepository: {url: oci://$REG/$R/app, tlsConfig: {privateKey: c2VjcmV0}}")
check "tlsConfig.privateKey in the spec is refused by the apiserver" grep -q "tlsConfig.privateKey is a secret" <<<"$out"
out=$(fc badurl "  sourceKind: OCIRepository
  ociRepository: {url: https://$REG/$R/app}")
check "an ociRepository.url without oci:// is refused by the apiserver" grep -q "ociRepository.url" <<<"$out"
k delete fluxconfiguration -n "$NS" ocicfg --wait=false >/dev/null
check "deleting the configuration deletes its OCIRepository and Kustomization (and the ConfigMap, pruned)" \
	poll 60 bash -c "! $KUBECTL get ocirepository -n $NS ocicfg >/dev/null 2>&1 && ! $KUBECTL get kustomization -n $NS ocicfg-app >/dev/null 2>&1 && ! $KUBECTL get configmap -n $NS oci-app >/dev/null 2>&1"

# ------------------------------------------------------------ deletion
k delete ocirepository -n "$NS" tag --wait=false >/dev/null
check "the finalizer removes the artifacts, then the object goes" \
	poll 30 bash -c "! $KUBECTL get ocirepository -n $NS tag >/dev/null 2>&1 && [ ! -e '$OP_DATA/ocirepository/$NS/tag' ]"

tap_end
