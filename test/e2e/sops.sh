#!/bin/bash
# sops.sh: Kustomization spec.decryption with SOPS and age keys (TAP).
#
# The Git repository holds Secrets encrypted by the real sops (v3.13.3,
# test/cluster/build.sh sops) for an age recipient, with the usual Flux
# setting encrypted_regex ^(data|stringData)$.  With the age key in the
# decryption Secret (identity.agekey) the Kustomization is Ready and the
# Secret in the cluster holds the plaintext.  With a wrong key it is
# Ready=False BuildFailed, the message names the resource and holds no
# plaintext; without spec.decryption it fails with kustomize-controller's
# "configuring decryption is required".  Putting the right key in the
# Secret recovers.  The secrets audit (lib/secrets_audit.py) then checks
# that neither the key nor a plaintext value reached a log, Event or status.
set -u
NAME=sops
# shellcheck source=test/e2e/lib/operator.bash
. "$(dirname "$0")/lib/operator.bash"

if [ ! -x "$SOPS" ] || [ ! -x "$AGE_KEYGEN" ]; then
	bash "$repo/test/cluster/build.sh" sops >/dev/null 2>&1 ||
		{ echo "not ok 1 - sops and age did not build"; echo "1..1"; exit 1; }
fi

check "CRDs installed" crd_install source.toolkit.fluxcd.io_gitrepositories.yaml \
	kustomize.toolkit.fluxcd.io_kustomizations.yaml
k create namespace "$NS" >/dev/null

"$AGE_KEYGEN" -o "$W/good.agekey" 2>/dev/null
"$AGE_KEYGEN" -o "$W/wrong.agekey" 2>/dev/null
RCPT=$("$AGE_KEYGEN" -y "$W/good.agekey")

# secret NAME PASSWORD: a Secret encrypted for RCPT into app-NAME/secret.yaml.
secret() {
	mkdir -p "$W/src/app-$1"
	printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\n  namespace: %s\n' "$1" "$NS" \
		>"$W/plain-$1.yaml"
	printf 'type: Opaque\nstringData:\n  password: %s\n  user: admin\n' "$2" >>"$W/plain-$1.yaml"
	"$SOPS" -e --age "$RCPT" --encrypted-regex '^(data|stringData)$' --input-type yaml \
		--output-type yaml "$W/plain-$1.yaml" >"$W/src/app-$1/secret.yaml"
}
PW_A=pw-a-$$-e2e
PW_B=pw-b-$$-e2e
PW_C=pw-c-$$-e2e
encrypt_all() { secret good "$PW_A" && secret wrong "$PW_B" && secret none "$PW_C"; }
check "sops encrypts the Secrets" encrypt_all
check "... and the plaintext is not in Git" bash -c "! grep -rqF -e $PW_A -e $PW_B -e $PW_C '$W/src'"
SHA=$(bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src")

k create secret generic -n "$NS" sops-good --from-file=identity.agekey="$W/good.agekey" >/dev/null
k create secret generic -n "$NS" sops-wrong --from-file=identity.agekey="$W/wrong.agekey" >/dev/null

check "operator starts" start_operator
gitrepo src "$GIT_HTTP_URL/$REPO.git" "ref:" "  branch: main" >/dev/null
kustomization good src ./app-good "decryption:" "  provider: sops" "  secretRef:" \
	"    name: sops-good" >/dev/null
kustomization wrong src ./app-wrong "decryption:" "  provider: sops" "  secretRef:" \
	"    name: sops-wrong" >/dev/null
kustomization none src ./app-none >/dev/null

applied() { [ "$(cond kustomization "$1" Ready message)" = "Applied revision: main@sha1:$SHA" ]; }
check "with the right age key: Ready" poll 60 applied good
check "... and the Secret in the cluster holds the plaintext" bash -c \
	"[ \"\$($KUBECTL get secret -n $NS good -o jsonpath='{.data.password}' | base64 -d)\" = $PW_A ]"
check "... and no sops metadata" bash -c \
	"! $KUBECTL get secret -n $NS good -o json | grep -q '\"sops\"'"

wrong_failed() {
	[ "$(cond kustomization wrong Ready status)" = False ] &&
		[ "$(cond kustomization wrong Ready reason)" = BuildFailed ] &&
		cond kustomization wrong Ready message | grep -qF \
			"decryption failed for 'Secret.v1.[noGrp]/wrong': failed to decrypt and format '$NS/wrong' Secret data: cannot get sops data key: no age identity matches"
}
check "with a wrong key: Ready=False BuildFailed naming the resource" poll 60 wrong_failed
check "... the message holds no plaintext" bash -c \
	"! $KUBECTL get kustomization -n $NS wrong -o json | grep -qF $PW_B"
check "... a Warning Event says it" poll 10 bash -c \
	"$KUBECTL get events -n $NS --field-selector involvedObject.name=wrong,reason=BuildFailed,type=Warning -o name | grep -q ."
check "... and nothing is applied" bash -c "! $KUBECTL get secret -n $NS wrong >/dev/null 2>&1"

none_failed() {
	[ "$(cond kustomization none Ready status)" = False ] &&
		cond kustomization none Ready message | grep -qF \
			"Secret/$NS/none is SOPS encrypted, configuring decryption is required for this secret to be reconciled"
}
check "without decryption: 'configuring decryption is required'" poll 60 none_failed
check "... and the encrypted Secret is not applied" bash -c \
	"! $KUBECTL get secret -n $NS none >/dev/null 2>&1"

# The right key put in the wrong Kustomization's Secret: it recovers.
k create secret generic -n "$NS" sops-wrong --from-file=identity.agekey="$W/good.agekey" \
	--dry-run=client -o yaml | k apply -f - >/dev/null
k annotate kustomization -n "$NS" wrong --overwrite reconcile.fluxcd.io/requestedAt=1 >/dev/null
check "the right key in the Secret: the failing one recovers" poll 60 applied wrong
check "... with the plaintext" bash -c \
	"[ \"\$($KUBECTL get secret -n $NS wrong -o jsonpath='{.data.password}' | base64 -d)\" = $PW_B ]"
log_clean() { ! op_log 2>/dev/null | grep -qF -e AGE-SECRET-KEY -e "$PW_A" -e "$PW_B" -e "$PW_C"; }
check "the operator log holds neither a key nor a plaintext" log_clean
tap_end
