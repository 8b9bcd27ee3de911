#!/bin/bash
# gitverify.sh: GitRepository spec.verify — commit and tag signatures,
# OpenPGP and SSH — against the real control plane and git server (TAP).
#
# Commits and tags are signed by git itself (gpg, ssh-keygen) with keys
# made here; the Secret holds public keys as Flux reads them (*.asc key
# rings, *.sshpub authorized_keys).  Checked: Flux's conditions, reasons
# and messages (SourceVerified, sourceVerificationMode), each way a
# verification fails, and that a failure keeps the last good artifact.
set -u

NAME=gitverify
# shellcheck source=test/e2e/lib/operator.bash
. "$(dirname "$0")/lib/operator.bash"

check "GitRepository CRD installed" crd_install source.toolkit.fluxcd.io_gitrepositories.yaml
k create namespace "$NS" >/dev/null

# ------------------------------------------------------------ keys
export GNUPGHOME=$W/gnupg
mkdir -p "$GNUPGHOME" && chmod 700 "$GNUPGHOME"
GPG=(gpg --batch --pinentry-mode loopback --passphrase '')
"${GPG[@]}" --quick-gen-key 'Alice <alice@cflux.invalid>' ed25519 sign never 2>/dev/null
"${GPG[@]}" --quick-gen-key 'Bob <bob@cflux.invalid>' rsa2048 sign never 2>/dev/null
"${GPG[@]}" --armor --export alice@cflux.invalid >"$W/alice.asc"
"${GPG[@]}" --armor --export bob@cflux.invalid >"$W/bob.asc"
ALICE_FPR=$("${GPG[@]}" --with-colons --list-keys alice@cflux.invalid | awk -F: '/^fpr/ {print $10; exit}')
ALICE_ID=${ALICE_FPR: -16}
ssh-keygen -q -t ed25519 -N '' -C carol -f "$W/carol"
CAROL_FP=$(ssh-keygen -lf "$W/carol.pub" | cut -d' ' -f2)

k create secret generic -n "$NS" alice --from-file=alice.asc="$W/alice.asc" >/dev/null
k create secret generic -n "$NS" bob --from-file=bob.asc="$W/bob.asc" >/dev/null
k create secret generic -n "$NS" carol --from-file=carol.sshpub="$W/carol.pub" \
	--from-file=bob.asc="$W/bob.asc" >/dev/null

# ------------------------------------------------------------ the repository
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  v: "1"\n' >"$W/src/app.yaml"
SIGNED=$(MKREPO_SIGNKEY=$ALICE_FPR bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src" main)
SSHSIGNED=$(MKREPO_SIGNFORMAT=ssh MKREPO_SIGNKEY=$W/carol bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src" ssh)
UNSIGNED=$(bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src" plain)
G=(git -c user.name=t -c user.email=t@cflux.invalid -c "user.signingKey=$ALICE_FPR" --git-dir="$GIT_ROOT/$REPO.git")
"${G[@]}" tag -s -m "signed v1" v1 "$SIGNED"
"${G[@]}" tag v2 "$SIGNED"
"${G[@]}" tag -a -m "annotated, unsigned" v3 "$SIGNED"
V1_ID=$("${G[@]}" rev-parse v1)
V3_ID=$("${G[@]}" rev-parse v3)

check "operator starts" start_operator

msg() { cond gitrepository "$1" SourceVerified message; }
verified() { # NAME STATUS REASON: SourceVerified's status and reason
	[ "$(cond gitrepository "$1" SourceVerified status)" = "$2" ] &&
		[ "$(cond gitrepository "$1" SourceVerified reason)" = "$3" ]
}
both_are() { # NAME STATUS REASON: Ready and SourceVerified
	is_ready gitrepository "$1" "$2" "$3" && verified "$@"
}
nokeys() {
	is_ready gitrepository nokeys False VerificationError &&
		cond gitrepository nokeys Ready message | grep -q 'public keys secret error: .*nosuch.* not found'
}
verify_spec() { # MODE SECRET
	printf '%s\n' "verify:" "  mode: $1" "  secretRef:" "    name: $2"
}

# ------------------------------------------------------------ OpenPGP, HEAD
mapfile -t V < <(verify_spec HEAD alice)
gitrepo pgp "$GIT_HTTP_URL/$REPO.git" "ref:" "  branch: main" "${V[@]}" >/dev/null
check "HEAD signed with OpenPGP, key in the Secret: Ready=True, SourceVerified=True" \
	poll 30 both_are pgp True Succeeded
check "... Flux's message names the commit and the primary key ID" \
	bash -c "[ \"\$1\" = \"verified signature of
	- commit '$SIGNED' with key '$ALICE_ID'\" ]" _ "$(msg pgp)"
check "... status.sourceVerificationMode HEAD" \
	bash -c "[ \"$(jpk gitrepository pgp '{.status.sourceVerificationMode}')\" = HEAD ]"

mapfile -t V < <(verify_spec HEAD bob)
gitrepo pgpwrong "$GIT_HTTP_URL/$REPO.git" "ref:" "  branch: main" "${V[@]}" >/dev/null
check "signed by a key not in the Secret: Ready=False InvalidCommitSignature, no matching key" \
	poll 30 both_are pgpwrong False InvalidCommitSignature
check "... the message is Flux's" \
	bash -c "[ \"\$1\" = \"signature verification of commit '$SIGNED' failed: unable to verify Git commit: unable to verify payload with any of the given key rings: no matching key\" ]" _ "$(cond gitrepository pgpwrong Ready message)"
check "... and no artifact was stored" \
	bash -c "[ -z \"$(jpk gitrepository pgpwrong '{.status.artifact}')\" ] && [ ! -e $OP_DATA/gitrepository/$NS/pgpwrong ]"

mapfile -t V < <(verify_spec HEAD alice)
gitrepo unsigned "$GIT_HTTP_URL/$REPO.git" "ref:" "  branch: plain" "${V[@]}" >/dev/null
check "an unsigned commit: Ready=False, unsupported signature type: empty" \
	poll 30 bash -c "[ \"\$($KUBECTL get gitrepository -n $NS unsigned -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].message}')\" = \"signature verification of commit '$UNSIGNED' failed: unsupported signature type: empty\" ]"

mapfile -t V < <(verify_spec HEAD nosuch)
gitrepo nokeys "$GIT_HTTP_URL/$REPO.git" "ref:" "  branch: main" "${V[@]}" >/dev/null
check "the keys Secret is missing: Ready=False VerificationError, says so" \
	poll 30 nokeys

# ------------------------------------------------------------ SSH
mapfile -t V < <(verify_spec HEAD carol)
gitrepo sshsig "$GIT_HTTP_URL/$REPO.git" "ref:" "  branch: ssh" "${V[@]}" >/dev/null
check "HEAD signed with SSH, key under *.sshpub: SourceVerified=True with its SHA256 fingerprint" \
	poll 30 bash -c "[ \"\$($KUBECTL get gitrepository -n $NS sshsig -o jsonpath='{.status.conditions[?(@.type==\"SourceVerified\")].message}')\" = \"verified signature of
	- commit '$SSHSIGNED' with key '$CAROL_FP'\" ]"
mapfile -t V < <(verify_spec HEAD alice)
gitrepo sshnokey "$GIT_HTTP_URL/$REPO.git" "ref:" "  branch: ssh" "${V[@]}" >/dev/null
check "an SSH signature and only OpenPGP keys: says no SSH keys were found" \
	poll 30 bash -c "$KUBECTL get gitrepository -n $NS sshnokey -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].message}' | grep -qF 'SSH signature detected but no SSH public keys found in secret (keys with .sshpub suffix)'"

# ------------------------------------------------------------ tags
mapfile -t V < <(verify_spec TagAndHEAD alice)
gitrepo tagboth "$GIT_HTTP_URL/$REPO.git" "ref:" "  tag: v1" "${V[@]}" >/dev/null
check "TagAndHEAD on a signed tag: both verified, Flux's message" \
	poll 30 bash -c "[ \"\$($KUBECTL get gitrepository -n $NS tagboth -o jsonpath='{.status.conditions[?(@.type==\"SourceVerified\")].message}')\" = \"verified signature of
	- tag 'v1@$V1_ID' with key '$ALICE_ID'
	- commit '$SIGNED' with key '$ALICE_ID'\" ]"
check "... sourceVerificationMode TagAndHEAD, artifact v1@sha1:<commit>" \
	bash -c "[ \"$(jpk gitrepository tagboth '{.status.sourceVerificationMode} {.status.artifact.revision}')\" = \"TagAndHEAD v1@sha1:$SIGNED\" ]"
mapfile -t V < <(verify_spec Tag alice)
gitrepo taglight "$GIT_HTTP_URL/$REPO.git" "ref:" "  tag: v2" "${V[@]}" >/dev/null
check "Tag on a lightweight tag: Ready=False InvalidGitObject, not signed" \
	poll 30 bash -c "[ \"\$($KUBECTL get gitrepository -n $NS taglight -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].reason} {.status.conditions[?(@.type==\"Ready\")].message}')\" = \"InvalidGitObject cannot verify signature of tag 'v2' since it is not signed\" ]"
gitrepo tagunsigned "$GIT_HTTP_URL/$REPO.git" "ref:" "  tag: v3" "${V[@]}" >/dev/null
check "Tag on an annotated unsigned tag: names the tag object" \
	poll 30 bash -c "$KUBECTL get gitrepository -n $NS tagunsigned -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].message}' | grep -qF \"tag 'v3@$V3_ID' since it is not signed\""
gitrepo tagbranch "$GIT_HTTP_URL/$REPO.git" "ref:" "  branch: main" "${V[@]}" >/dev/null
check "Tag with a branch ref: Stalled=True InvalidVerificationMode" \
	poll 30 bash -c "[ \"\$($KUBECTL get gitrepository -n $NS tagbranch -o jsonpath='{.status.conditions[?(@.type==\"Stalled\")].status} {.status.conditions[?(@.type==\"Stalled\")].reason}')\" = 'True InvalidVerificationMode' ]"

# ------------------------------------------------------------ a new, unsigned commit
echo '  w: "2"' >>"$W/src/app.yaml"
NEW=$(bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src" main)
k annotate gitrepository -n "$NS" pgp --overwrite reconcile.fluxcd.io/requestedAt=unsigned >/dev/null
check "an unsigned commit pushed on top: Ready=False naming it" \
	poll 30 bash -c "$KUBECTL get gitrepository -n $NS pgp -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].message}' | grep -qF \"commit '$NEW' failed: unsupported signature type: empty\""
check "... the verified artifact stays in status and in storage" \
	bash -c "[ \"$(jpk gitrepository pgp '{.status.artifact.revision}')\" = main@sha1:$SIGNED ] && [ -f $OP_DATA/gitrepository/$NS/pgp/$SIGNED.tar.gz ]"
check "... no key material in the status, events or logs" \
	bash -c "! { $KUBECTL get gitrepository -n $NS -o yaml; $KUBECTL get events -n $NS -o yaml; op_log; } | grep -q 'BEGIN PGP PUBLIC KEY'"

# ------------------------------------------------------------ no verify again
gitrepo pgp "$GIT_HTTP_URL/$REPO.git" "ref:" "  branch: main" >/dev/null
check "spec.verify removed: the new commit is stored; SourceVerified and the mode are gone" \
	poll 30 bash -c "[ \"\$($KUBECTL get gitrepository -n $NS pgp -o jsonpath='{.status.artifact.revision}|{.status.sourceVerificationMode}|{.status.conditions[?(@.type==\"SourceVerified\")].status}')\" = 'main@sha1:$NEW||' ]"


tap_end
