#!/usr/bin/env bash
# secrets_audit.sh: test/e2e/lib/secrets_audit.py finds what it must, and
# only that (issue #25).  Two scenarios' evidence, written here: one whose
# log, Event or status holds a seeded secret (a Secret's password, a line
# of a PEM private key, a test server's password from servers.env), one
# whose evidence holds only user names, certificates and public keys.
# Prints TAP.
set -u
cd "$(dirname "$0")/../.."
A=test/e2e/lib/secrets_audit.py
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
n=0
t() { # DESC CMD...
	n=$((n + 1))
	if "${@:2}"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fi
}
b64() { printf '%s' "$1" | base64 -w0; }

# A key pair of the shape the tests make (its body lines are what is searched).
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$w/client.key" 2>/dev/null
KEYLINE=$(sed -n 2p "$w/client.key")
cat >"$w/servers.env" <<EOF
export REGISTRY_USER='cflux'
export REGISTRY_PASSWORD='registry-pw-0123'
export TEST_CLIENT_KEY='$w/client.key'
export REGISTRY_URL='http://10.0.0.1:5000'
EOF
cat >"$w/secrets.json" <<EOF
{"items": [
 {"metadata": {"name": "auth"}, "type": "Opaque",
  "data": {"username": "$(b64 alice-the-user)", "password": "$(b64 hunter2-secret)",
           "ca.crt": "$(b64 'PUBLIC-CERT-LINE-0123456789')", "identity.pub": "$(b64 ssh-ed25519-PUBLICKEY)"}},
 {"metadata": {"name": "sh.helm.release.v1.x.v1"}, "type": "helm.sh/release.v1",
  "data": {"release": "$(b64 not-a-credential-123)"}}
]}
EOF
python3 "$A" seeds <"$w/secrets.json" >"$w/seeds"
t "seeds: the password of a Secret" grep -q $'^Secret auth/password\thunter2-secret$' "$w/seeds"
t "seeds: no user name, certificate, public key or Helm release record" \
	bash -c "! grep -E 'alice|PUBLIC|PUBLICKEY|not-a-credential' '$w/seeds'"

mkdir -p "$w/audit/leaky-1" "$w/audit/clean-2"
cp "$w/seeds" "$w/audit/leaky-1/seeds"
cp "$w/seeds" "$w/audit/clean-2/seeds"
printf '{"msg":"fetch failed","url":"http://alice:hunter2-secret@git"}\n' >"$w/audit/leaky-1/operator.log"
printf '{"items":[{"message":"auth with registry-pw-0123"}]}\n' >"$w/audit/leaky-1/events.json"
printf 'GitRepository/x {"m":"%s"}\n' "$KEYLINE" >"$w/audit/leaky-1/status.txt"
printf '{"msg":"user alice-the-user, ca PUBLIC-CERT-LINE-0123456789 at http://10.0.0.1:5000"}\n' \
	>"$w/audit/clean-2/operator.log"
out=$(python3 "$A" check "$w/audit" "$w/servers.env")
rc=$?
t "check fails when a scenario leaked" test "$rc" -ne 0
t "the leaky scenario is named, with each leak's secret and file" bash -c "
	grep -q '^not ok 2 - leaky-1' <<<'$out' &&
	grep -q '#   leaked: Secret auth/password in operator.log' <<<'$out' &&
	grep -q '#   leaked: REGISTRY_PASSWORD in events.json' <<<'$out' &&
	grep -q '#   leaked: TEST_CLIENT_KEY (the private key) in status.txt' <<<'$out'"
t "no value is printed" bash -c "! grep -F -e hunter2 -e registry-pw -e '$KEYLINE' <<<'$out'"
t "the clean scenario passes" grep -q '^ok 1 - clean-2' <<<"$out"
rm -rf "$w/audit/leaky-1"
t "check passes when none leaked" bash -c "python3 '$A' check '$w/audit' '$w/servers.env' >/dev/null"
echo "1..$n"
