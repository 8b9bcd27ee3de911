#!/bin/bash
# smoke.sh: prove the test stack is real (control plane + source servers).
#
#   bash test/e2e/smoke.sh
#
# Assumes test/cluster/up.sh and test/cluster/servers.sh up already ran (the
# test runner starts and stops them); sources $CFLUX_CLUSTER_DIR/env and
# servers.env (default <repo>/build/cluster).  Prints TAP (`ok N - ...`,
# `not ok N - ...`, `# diagnostics`) and exits non-zero if any check failed.
# Creates namespace smoke-<pid> and CRD widgets.smoke.cflux.io; removes them
# at the end.  Scratch files under $CFLUX_CLUSTER_DIR/smoke.
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
CD=${CFLUX_CLUSTER_DIR:-$repo/build/cluster}
DATA=$here/data

if [ ! -f "$CD/env" ] || [ ! -f "$CD/servers.env" ]; then
	echo "1..0 # SKIP no cluster: run test/cluster/up.sh and test/cluster/servers.sh up first"
	echo "not ok 1 - $CD/env and $CD/servers.env exist"
	exit 1
fi
# shellcheck disable=SC1091
. "$CD/env"
# shellcheck disable=SC1091
. "$CD/servers.env"

W=$CD/smoke
rm -rf "$W"
mkdir -p "$W"
NS=smoke-$$
N=0
FAILED=0
OUT=$W/out

diag() { sed 's/^/# /' "$@" | head -n 40; }
pass() { N=$((N + 1)); echo "ok $N - $1"; }
fail() {
	N=$((N + 1)); FAILED=$((FAILED + 1))
	echo "not ok $N - $1"
	[ -s "$OUT" ] && diag "$OUT"
	return 0
}
# check DESC CMD...: pass if CMD succeeds; CMD's output goes to $OUT.
check() {
	local desc=$1
	shift
	if "$@" >"$OUT" 2>&1; then pass "$desc"; else fail "$desc"; fi
}
# poll SECONDS CMD...: retry CMD every 0.5 s for up to SECONDS.
poll() {
	local secs=$1 i
	shift
	for i in $(seq 1 $((secs * 2))); do
		"$@" && return 0
		sleep 0.5
	done
	"$@"
}
k() { "$KUBECTL" "$@"; }

cleanup() {
	k delete namespace "$NS" --wait=false >/dev/null 2>&1
	k delete -f "$DATA/smoke-crd.yaml" --wait=false >/dev/null 2>&1
	rm -f "$HELM_DIR/smoke-$$.txt" "$HELM_DIR/private/smoke-$$.txt"
	rm -rf "$GIT_ROOT/smoke-$$.git"
}
trap cleanup EXIT

# ------------------------------------------------------------ control plane
server_version() {
	k version -o json >"$W/version.json" || return 1
	python3 - "$W/version.json" <<'EOF'
import json, sys
v = json.load(open(sys.argv[1]))
s, c = v["serverVersion"]["gitVersion"], v["clientVersion"]["gitVersion"]
print("server", s, "client", c)
sys.exit(0 if s == "v1.35.4" and c == "v1.35.4" else 1)
EOF
}
check "kubectl version: server and client are v1.35.4" server_version

readyz() { [ "$(k get --raw /readyz)" = ok ]; }
check "kubectl get --raw /readyz is ok" readyz

check "create namespace $NS" k create namespace "$NS"

operator_can_list() { "$KUBECTL" --kubeconfig="$OPERATOR_KUBECONFIG" get namespaces -o name; }
check "user cflux-operator (kubeconfig-operator) is bound to cluster-admin" operator_can_list

crd_established() {
	k apply -f "$DATA/smoke-crd.yaml" &&
		k wait --for=condition=Established --timeout=30s crd/widgets.smoke.cflux.io
}
check "CRD widgets.smoke.cflux.io applied and Established" crd_established

valid_cr() { poll 10 k apply -n "$NS" -f "$DATA/smoke-widget-valid.yaml" && k get -n "$NS" widgets.smoke.cflux.io good -o jsonpath='{.spec.size}' | grep -qx 3; }
check "valid Widget accepted" valid_cr

invalid_cr() {
	if k apply -n "$NS" -f "$DATA/smoke-widget-invalid.yaml"; then
		echo "accepted a Widget with spec.size: \"three\""
		return 1
	fi
	return 0
}
if invalid_cr >"$OUT" 2>&1 && grep -q 'spec.size' "$OUT"; then
	pass "Widget with a string spec.size rejected by the server ($(grep -o 'spec.size[^,]*' "$OUT" | head -1))"
else
	fail "Widget with a string spec.size rejected by the server"
fi

# the same, straight through the API with the operator's token: 422
raw_invalid() {
	local code
	code=$(curl -sS -o "$W/raw.json" -w '%{http_code}' --cacert "$CLUSTER_CA" \
		-H "Authorization: Bearer $OPERATOR_TOKEN" -H 'Content-Type: application/json' \
		-X POST "$APISERVER_URL/apis/smoke.cflux.io/v1/namespaces/$NS/widgets" \
		-d '{"apiVersion":"smoke.cflux.io/v1","kind":"Widget","metadata":{"name":"bad2"},"spec":{"size":"x"}}')
	echo "HTTP $code"
	head -c 400 "$W/raw.json"
	[ "$code" = 422 ]
}
check "POST of a bad Widget with the operator token returns 422" raw_invalid

deployment_available() {
	k apply -n "$NS" -f "$DATA/smoke-deployment.yaml" &&
		k wait -n "$NS" --for=condition=Available --timeout=60s deployment/zero
}
check "Deployment with replicas 0 becomes Available" deployment_available

ns_deletion() {
	local ns=$NS-del
	k create namespace "$ns" && k create configmap -n "$ns" x --from-literal=a=b &&
		k delete namespace "$ns" --timeout=60s &&
		! k get namespace "$ns" 2>/dev/null
}
check "namespace deletion finishes" ns_deletion

# cm_owned NAME UID: a ConfigMap owned by ConfigMap "owner" with UID.
cm_owned() {
	k apply -n "$NS" -f - <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: $1
  ownerReferences:
  - {apiVersion: v1, kind: ConfigMap, name: owner, uid: "$2"}
data: {a: b}
EOF
}
cm_gone() { ! k get configmap -n "$NS" "$1" >/dev/null 2>&1; }
gc_cascade() {
	local uid
	k create configmap -n "$NS" owner --from-literal=a=b || return 1
	uid=$(k get configmap -n "$NS" owner -o jsonpath='{.metadata.uid}')
	cm_owned dependent "$uid" || return 1
	k delete configmap -n "$NS" owner || return 1
	poll 60 cm_gone dependent && echo "$uid" >"$W/owner.uid"
}
check "ConfigMap dependent is garbage-collected after its owner is deleted" gc_cascade
gc_works() {
	# owner "owner" is deleted already: a new object pointing at its uid is GC'd
	[ -s "$W/owner.uid" ] || return 1
	cm_owned dangling "$(cat "$W/owner.uid")" || return 1
	poll 60 cm_gone dangling
}
check "ConfigMap whose owner was deleted is garbage-collected" gc_works

# ------------------------------------------------------------ git servers
SRC=$W/repo-src
mkdir -p "$SRC"
echo "smoke $$" >"$SRC/README"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-git\ndata:\n  a: b\n' >"$SRC/cm.yaml"
SHA=$(bash "$repo/test/cluster/mkrepo.sh" "smoke-$$" "$SRC" 2>"$OUT") && [ -n "$SHA" ]
if [ -n "${SHA:-}" ]; then pass "mkrepo.sh created smoke-$$.git at $SHA"; else fail "mkrepo.sh created smoke-$$.git"; fi

# clone_ok DIR URL [env...]: clone, then HEAD must be $SHA
clone_ok() {
	local dir=$W/$1 url=$2
	shift 2
	rm -rf "$dir"
	env "$@" git clone -q "$url" "$dir" || return 1
	[ "$(git -C "$dir" rev-parse HEAD)" = "$SHA" ] || { echo "HEAD is not $SHA"; return 1; }
}
# The machine may export GIT_SSL_CAINFO (it overrides http.sslCAInfo): set it.
check "git clone over HTTP (no auth)" clone_ok c-http "$GIT_HTTP_URL/smoke-$$.git"
no_creds_refused() { ! env GIT_TERMINAL_PROMPT=0 git ls-remote "$GIT_HTTP_AUTH_URL/smoke-$$.git"; }
check "git over HTTP basic-auth path without credentials is refused" no_creds_refused
check "git clone over HTTP with basic auth" clone_ok c-http-auth \
	"http://$GIT_HTTP_USER:$GIT_HTTP_PASSWORD@$SERVERS_HOST:$GIT_HTTP_PORT/auth-git/smoke-$$.git"
check "git clone over HTTPS (test CA)" clone_ok c-https "$GIT_HTTPS_URL/smoke-$$.git" GIT_SSL_CAINFO="$TEST_CA"
check "git clone over HTTPS with basic auth (test CA)" clone_ok c-https-auth \
	"https://$GIT_HTTP_USER:$GIT_HTTP_PASSWORD@$SERVERS_HOST:$GIT_HTTPS_PORT/auth-git/smoke-$$.git" GIT_SSL_CAINFO="$TEST_CA"
https_untrusted() { ! env GIT_SSL_CAINFO=/etc/ssl/certs/ca-certificates.crt git ls-remote "$GIT_HTTPS_URL/smoke-$$.git"; }
check "git over HTTPS without the test CA fails verification" https_untrusted
check "git clone over git://" clone_ok c-daemon "$GIT_DAEMON_URL/smoke-$$.git"
check "git clone over SSH (ed25519 key, StrictHostKeyChecking=yes, known_hosts)" \
	clone_ok c-ssh "$GIT_SSH_URL/smoke-$$.git"
ssh_cmd() { # key known_hosts
	echo "ssh -F /dev/null -i $1 -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$2"
}
check "git clone over SSH (rsa key, hashed known_hosts)" clone_ok c-ssh-rsa "$GIT_SSH_URL/smoke-$$.git" \
	GIT_SSH_COMMAND="$(ssh_cmd "$SSH_KEY_RSA" "$SSH_KNOWN_HOSTS_HASHED")"
check "git clone over SSH (ecdsa key)" clone_ok c-ssh-ecdsa "$GIT_SSH_URL/smoke-$$.git" \
	GIT_SSH_COMMAND="$(ssh_cmd "$SSH_KEY_ECDSA" "$SSH_KNOWN_HOSTS")"
# passphrase-protected key: ssh asks $SSH_ASKPASS (forced) for the passphrase
printf '#!/bin/sh\necho "$SSH_KEY_PASSPHRASE"\n' >"$W/askpass"
chmod +x "$W/askpass"
key_is_encrypted() { ! ssh-keygen -y -P '' -f "$SSH_KEY_ED25519_PASS"; }
check "SSH key with passphrase is encrypted" key_is_encrypted
check "git clone over SSH (ed25519 key with passphrase)" clone_ok c-ssh-pass "$GIT_SSH_URL/smoke-$$.git" \
	GIT_SSH_COMMAND="$(ssh_cmd "$SSH_KEY_ED25519_PASS" "$SSH_KNOWN_HOSTS" | sed 's/-o BatchMode=yes //')" \
	SSH_ASKPASS="$W/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=none
: >"$W/empty_known_hosts"
ssh_unknown_host() {
	! env GIT_SSH_COMMAND="$(ssh_cmd "$SSH_KEY_ED25519" "$W/empty_known_hosts")" git ls-remote "$GIT_SSH_URL/smoke-$$.git"
}
check "git over SSH with an unknown host key is refused" ssh_unknown_host
push_ssh() {
	local d=$W/c-ssh
	echo pushed >"$d/pushed.txt" && git -C "$d" add pushed.txt &&
		git -C "$d" -c user.name=t -c user.email=t@t commit -qm push &&
		git -C "$d" push -q origin HEAD:refs/heads/main &&
		[ "$(git --git-dir="$GIT_ROOT/smoke-$$.git" rev-parse main)" = "$(git -C "$d" rev-parse HEAD)" ]
}
check "git push over SSH" push_ssh
http_logged() { grep -q "GET /git/smoke-$$.git/info/refs" "$GIT_HTTP_ACCESS_LOG"; }
check "lighttpd access log records the HTTP fetches" http_logged

# ------------------------------------------------------------ OCI registry
# blob_roundtrip BASEURL [curl auth args...]: POST upload, PUT with digest, GET back.
blob_roundtrip() {
	local base=$1
	shift
	local blob=$W/blob.bin digest loc code
	head -c 4096 /dev/urandom >"$blob"
	digest=sha256:$(sha256sum "$blob" | cut -d' ' -f1)
	loc=$(curl -sS "$@" -o /dev/null -D - -X POST "$base/v2/smoke/blob/blobs/uploads/" |
		tr -d '\r' | awk 'tolower($1)=="location:" {print $2}')
	[ -n "$loc" ] || { echo "no Location from POST uploads"; return 1; }
	case "$loc" in /*) loc=$base$loc ;; esac
	case "$loc" in *\?*) loc="$loc&digest=$digest" ;; *) loc="$loc?digest=$digest" ;; esac
	code=$(curl -sS "$@" -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/octet-stream' \
		--data-binary @"$blob" "$loc")
	echo "PUT $code"
	[ "$code" = 201 ] || return 1
	curl -fsS "$@" -o "$W/blob.back" "$base/v2/smoke/blob/blobs/$digest" || return 1
	cmp "$blob" "$W/blob.back"
}
check "registry (open): blob push/pull round-trip" blob_roundtrip "$REGISTRY_URL"
reg_noauth() {
	local code
	code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$REGISTRY_AUTH_URL/v2/smoke/blob/blobs/uploads/")
	echo "POST without credentials: $code"
	[ "$code" = 401 ]
}
check "registry (auth): upload without credentials is 401" reg_noauth
check "registry (auth): blob round-trip with credentials" blob_roundtrip "$REGISTRY_AUTH_URL" \
	-u "$REGISTRY_USER:$REGISTRY_PASSWORD"

# ------------------------------------------------------------ Helm static server
helm_fetch() {
	echo "helm $$" >"$HELM_DIR/smoke-$$.txt"
	[ "$(curl -fsS "$HELM_URL/smoke-$$.txt")" = "helm $$" ] &&
		curl -fsS "$HELM_URL/index.yaml" | grep -q '^apiVersion: v1' &&
		grep -q "GET /smoke-$$.txt" "$HELM_ACCESS_LOG"
}
check "Helm static server serves files (and logs the GET)" helm_fetch
helm_private() {
	echo "private $$" >"$HELM_DIR/private/smoke-$$.txt"
	[ "$(curl -sS -o /dev/null -w '%{http_code}' "$HELM_URL/private/smoke-$$.txt")" = 401 ] &&
		[ "$(curl -fsS -u "$HELM_HTTP_USER:$HELM_HTTP_PASSWORD" "$HELM_URL/private/smoke-$$.txt")" = "private $$" ]
}
check "Helm static server /private/ needs basic auth" helm_private

echo "1..$N"
if [ "$FAILED" -gt 0 ]; then
	echo "# $FAILED of $N checks failed"
	exit 1
fi
echo "# all $N checks passed"
