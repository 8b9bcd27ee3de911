#!/bin/bash
# ociartifact.sh: bin/cflux push/pull/list artifact(s) next to the real
# flux CLI (github.com/fluxcd/flux2/v2, built by test/cluster/build.sh
# oci), against the local registries (TAP): an artifact one pushes, the
# other pulls, both ways; the same media types and annotations; the same
# listing; credentials (--creds, the docker config) and HTTPS with a CA.
set -u

repo=$(cd "$(dirname "$0")/../.." && pwd)
CD=${CFLUX_CLUSTER_DIR:-$repo/build/cluster}
BIN=${BIN:-bin}
case $BIN in /*) ;; *) BIN=$repo/$BIN ;; esac
if [ ! -f "$CD/servers.env" ]; then
	echo "not ok 1 - no servers: $CD/servers.env missing"
	exit 1
fi
# shellcheck disable=SC1091
. "$CD/servers.env"
# shellcheck disable=SC1091
. "$repo/test/cluster/env.sh"
[ -x "$FLUX_CLI" ] || bash "$repo/test/cluster/build.sh" oci >&2

W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
N=0
FAILED=0
pass() { N=$((N + 1)); echo "ok $N - $1"; }
fail() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $1"; sed 's/^/# /' "$W/out" | head -n 20; }
check() {
	local d=$1
	shift
	if "$@" >"$W/out" 2>&1; then pass "$d"; else fail "$d"; fi
}
CFLUX=$BIN/cflux
R=ociartifact-$$
REG=$REGISTRY_HOST
export HOME=$W/home DOCKER_CONFIG=$W/docker
mkdir -p "$HOME" "$DOCKER_CONFIG"

mkdir -p "$W/app/deploy" "$W/app/.git"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n' >"$W/app/deploy/cm.yaml"
printf '#!/bin/sh\n' >"$W/app/run.sh"
chmod 755 "$W/app/run.sh"
echo ref >"$W/app/.git/HEAD"
echo img >"$W/app/logo.png"

# manifest TAG [CURL FLAGS]: the manifest JSON of the tag
manifest() {
	curl -fsS "${@:2}" -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		"${URL:-$REGISTRY_URL}/v2/$R/app/manifests/$1"
}
fields() { # the media types and annotation keys of a manifest, one per line
	/usr/bin/python3 -c 'import json,sys
m = json.load(sys.stdin)
print(m["mediaType"]); print(m["config"]["mediaType"])
for l in m["layers"]: print(l["mediaType"])
for k in sorted(m.get("annotations", {})): print(k, "=", m["annotations"][k] if k != "org.opencontainers.image.created" else "<time>")'
}
same_tree() { # A B: the same files with the same bytes and modes
	diff <(cd "$1" && find . -type f -printf '%p %m\n' | sort) <(cd "$2" && find . -type f -printf '%p %m\n' | sort) &&
		diff -r "$1" "$2"
}

# ------------------------------------------------------------ cflux pushes, flux pulls
check "cflux push artifact" "$CFLUX" push artifact "oci://$REG/$R/app:from-cflux" --path="$W/app" \
	--source=https://example.com/app --revision=main@sha1:1111 -a team=blue
mkdir -p "$W/flux-pulled"
check "flux pull artifact reads it" "$FLUX_CLI" pull artifact "oci://$REG/$R/app:from-cflux" -o "$W/flux-pulled"
cp "$W/out" "$W/flux-pull.txt"
check "  ... the tree, minus the default ignore paths (.git, *.png)" \
	bash -c "[ -f '$W/flux-pulled/deploy/cm.yaml' ] && [ -f '$W/flux-pulled/run.sh' ] && [ ! -e '$W/flux-pulled/.git' ] && [ ! -e '$W/flux-pulled/logo.png' ] && cmp '$W/app/deploy/cm.yaml' '$W/flux-pulled/deploy/cm.yaml'"
check "  ... flux reports its source and revision" \
	bash -c "grep -q 'source https://example.com/app' '$W/flux-pull.txt' && grep -q 'revision main@sha1:1111' '$W/flux-pull.txt'"

# ------------------------------------------------------------ flux pushes, cflux pulls
check "flux push artifact" "$FLUX_CLI" push artifact "oci://$REG/$R/app:from-flux" --path="$W/app" \
	--source=https://example.com/app --revision=main@sha1:1111 -a team=blue
mkdir -p "$W/cflux-pulled"
check "cflux pull artifact reads it" "$CFLUX" pull artifact "oci://$REG/$R/app:from-flux" -o "$W/cflux-pulled"
check "  ... the same tree flux itself pulls from its own push" \
	bash -c "mkdir -p '$W/flux-own' && '$FLUX_CLI' pull artifact 'oci://$REG/$R/app:from-flux' -o '$W/flux-own' >/dev/null 2>&1 && $(declare -f same_tree); same_tree '$W/flux-own' '$W/cflux-pulled'"
# (The same bytes, not the same modes: cflux push packs 0600/0700 as our
# artifact store does, flux push keeps each file's mode.)
check "  ... and the same files as from cflux's push" diff -r "$W/flux-pulled" "$W/cflux-pulled"
# $TMPDIR on another file system than --output (tmpfs and the disk): the
# files are moved in all the same (a rename across file systems fails).
check "cflux pull artifact into a directory on another file system than \$TMPDIR" \
	bash -c "x=\$(mktemp -d /dev/shm/cflux-pull.XXXXXX) && mkdir -p '$W/xdev' && TMPDIR=\$x '$CFLUX' pull artifact 'oci://$REG/$R/app:from-flux' -o '$W/xdev' >/dev/null; rc=\$?; rm -rf \$x; [ \$rc = 0 ] && [ \$(stat -f -c %T '$W') != tmpfs ] && diff -r '$W/cflux-pulled' '$W/xdev' && [ -z \"\$(ls -A '$W/xdev' | grep '^\.cflux-pull')\" ]"

# ------------------------------------------------------------ the same manifest shape
manifest from-cflux | fields >"$W/m.cflux"
manifest from-flux | fields >"$W/m.flux"
check "the same media types and annotations in both manifests" diff "$W/m.flux" "$W/m.cflux"
check "  ... which are Flux's" bash -c "head -3 '$W/m.cflux' | tr '\n' ' ' | grep -q 'application/vnd.oci.image.manifest.v1+json application/vnd.cncf.flux.config.v1+json application/vnd.cncf.flux.content.v1.tar+gzip'"

# ------------------------------------------------------------ list
"$FLUX_CLI" list artifacts "oci://$REG/$R/app" >"$W/l.flux" 2>&1
"$CFLUX" list artifacts "oci://$REG/$R/app" >"$W/l.cflux" 2>&1
norm() { tr -s ' \t' ' ' <"$1" | sed 's/ $//'; }
check "list artifacts: the same table as flux's" diff <(norm "$W/l.flux") <(norm "$W/l.cflux")
"$FLUX_CLI" push artifact "oci://$REG/$R/app:1.0.0" --path="$W/app" --source=s --revision=r >/dev/null 2>&1
"$FLUX_CLI" push artifact "oci://$REG/$R/app:2.0.0" --path="$W/app" --source=s --revision=r >/dev/null 2>&1
check "list with --filter-semver: the same as flux's" diff \
	<("$FLUX_CLI" list artifacts "oci://$REG/$R/app" --filter-semver='<2.0.0' 2>&1 | tr -s ' \t' ' ' | sed 's/ $//') \
	<("$CFLUX" list artifacts "oci://$REG/$R/app" --filter-semver='<2.0.0' 2>&1 | tr -s ' \t' ' ' | sed 's/ $//')
check "list with --filter-regex: the same as flux's" diff \
	<("$FLUX_CLI" list artifacts "oci://$REG/$R/app" --filter-regex='^from-' 2>&1 | tr -s ' \t' ' ' | sed 's/ $//') \
	<("$CFLUX" list artifacts "oci://$REG/$R/app" --filter-regex='^from-' 2>&1 | tr -s ' \t' ' ' | sed 's/ $//')

# ------------------------------------------------------------ reproducible, output
d1=$("$CFLUX" push artifact "oci://$REG/$R/app:repro" --path="$W/app" --source=s --revision=r --reproducible -o json | sed -n 's/.*"digest": "\(.*\)".*/\1/p')
d2=$("$CFLUX" push artifact "oci://$REG/$R/app:repro" --path="$W/app" --source=s --revision=r --reproducible -o json | sed -n 's/.*"digest": "\(.*\)".*/\1/p')
check "--reproducible: the same digest twice ($d1)" bash -c "[ -n '$d1' ] && [ '$d1' = '$d2' ]"
check "-o json: Flux's fields" bash -c "'$CFLUX' push artifact 'oci://$REG/$R/app:json' --path='$W/app' --source=s --revision=r -o json | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert sorted(d)==[\"digest\",\"repository\",\"tag\",\"url\"] and d[\"tag\"]==\"json\" and d[\"url\"].startswith(\"oci://\")'"

# ------------------------------------------------------------ credentials and TLS
check "cflux push with --creds to the basic-auth registry" "$CFLUX" push artifact \
	"oci://$REGISTRY_AUTH_HOST/$R/app:v1" --path="$W/app" --source=s --revision=r \
	--creds="$REGISTRY_USER:$REGISTRY_PASSWORD"
mkdir -p "$W/p-auth"
check "flux pulls it with --creds" "$FLUX_CLI" pull artifact "oci://$REGISTRY_AUTH_HOST/$R/app:v1" \
	-o "$W/p-auth" --creds="$REGISTRY_USER:$REGISTRY_PASSWORD"
check "cflux without credentials: refused, said so" bash -c \
	"'$CFLUX' pull artifact 'oci://$REGISTRY_AUTH_HOST/$R/app:v1' -o '$W/p-auth' 2>&1 | grep -q 'no credentials given'"
printf '{"auths":{"%s":{"auth":"%s"}}}' "$REGISTRY_TOKEN_HOST" \
	"$(printf '%s:%s' "$REGISTRY_USER" "$REGISTRY_PASSWORD" | base64 -w0)" >"$DOCKER_CONFIG/config.json"
check "cflux push to the token registry with the docker config" "$CFLUX" push artifact \
	"oci://$REGISTRY_TOKEN_HOST/$R/app:v1" --path="$W/app" --source=s --revision=r
# (flux and crane refuse a token realm on a private address such as
# 127.0.0.1; oras, with the same docker config, reads the manifest.)
check "oras reads its manifest through the token server with the same docker config" bash -c \
	"'$ORAS' manifest fetch --plain-http --registry-config '$DOCKER_CONFIG/config.json' '$REGISTRY_TOKEN_HOST/$R/app:v1' | grep -q 'application/vnd.cncf.flux.content.v1.tar+gzip'"
check "cflux push over HTTPS with --ca-file" "$CFLUX" push artifact "oci://$REGISTRY_TLS_HOST/$R/app:v1" \
	--path="$W/app" --source=s --revision=r --creds="$REGISTRY_USER:$REGISTRY_PASSWORD" --ca-file="$TEST_CA"
mkdir -p "$W/p-tls"
check "flux pulls it trusting the CA (SSL_CERT_FILE)" env SSL_CERT_FILE="$TEST_CA" "$FLUX_CLI" pull artifact \
	"oci://$REGISTRY_TLS_HOST/$R/app:v1" -o "$W/p-tls" --creds="$REGISTRY_USER:$REGISTRY_PASSWORD"
check "cflux pull over HTTPS without the CA: a certificate error" bash -c \
	"'$CFLUX' pull artifact 'oci://$REGISTRY_TLS_HOST/$R/app:v1' -o '$W/p-tls' --creds='$REGISTRY_USER:$REGISTRY_PASSWORD' 2>&1 | grep -qi certificate"
check "a cloud provider is refused with a message" bash -c \
	"'$CFLUX' pull artifact 'oci://$REG/$R/app:v1' -o '$W/p-tls' --provider=azure 2>&1 | grep -q \"provider 'azure' is not supported\""

echo "1..$N"
[ "$FAILED" -eq 0 ]
