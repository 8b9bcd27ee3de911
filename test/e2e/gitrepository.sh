#!/bin/bash
# gitrepository.sh: cflux-operator's GitRepository reconciler against the
# real control plane and the real git servers (TAP).
#
# Runs bin/cflux-operator (out of cluster, leader election on, watching one
# namespace gitrepo-<pid>) with its artifact store in a scratch directory,
# and checks what a Flux user sees: conditions and messages, the artifact
# in status, the artifact served over HTTP with the digest status claims,
# the ignore rules, a new commit picked up on request, failures that say
# what went wrong without leaking the password, spec.include (and its
# rebuild when the included repository moves), proxySecretRef (through a
# real proxy, tinyproxy, whose log shows the requests), sparseCheckout,
# recurseSubmodules, an artifact that survives a restart, the finalizer
# removing the artifacts, and a clean exit on SIGTERM.
set -u

NAME=gitrepo
# shellcheck source=test/e2e/lib/operator.bash
. "$(dirname "$0")/lib/operator.bash"

check "GitRepository CRD installed" crd_install source.toolkit.fluxcd.io_gitrepositories.yaml
k create namespace "$NS" >/dev/null

# ------------------------------------------------------------ the repository
mkdir -p "$W/src/deploy" "$W/src/.github" "$W/src/docs"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  v: "1"\n' \
	>"$W/src/deploy/app.yaml"
echo "ci" >"$W/src/.github/ci.yaml"
printf '\x89PNG' >"$W/src/docs/logo.png"
echo "readme" >"$W/src/README.md"
SHA1=$(bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src")

# ------------------------------------------------------------ the operator
check "operator starts: health, metrics and artifact endpoints answer" start_operator

jp() { jpk gitrepository "$@"; }
ready_is() { is_ready gitrepository "$@"; }
ready_msg() { cond gitrepository "$1" Ready message; }

# ------------------------------------------------------------ happy path
gitrepo main "$GIT_HTTP_URL/$REPO.git" "ref:" "  branch: main" >/dev/null
check "Ready=True with Flux's message for branch main" \
	poll 30 bash -c "[ \"\$($KUBECTL get gitrepository -n $NS main -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].message}')\" = \"stored artifact for revision 'main@sha1:$SHA1'\" ]"
check "status.artifact.revision and observedGeneration" \
	bash -c "[ \"$(jp main '{.status.artifact.revision}')\" = main@sha1:$SHA1 ] && [ \"$(jp main '{.status.observedGeneration}')\" = 1 ]"
check "finalizer finalizers.fluxcd.io added" \
	bash -c "[ \"$(jp main '{.metadata.finalizers[*]}')\" = finalizers.fluxcd.io ]"
URL=$(jp main '{.status.artifact.url}')
DIGEST=$(jp main '{.status.artifact.digest}')
fetch_artifact() {
	art_curl "$W/a.tar.gz" "$URL" &&
		[ "sha256:$(sha256sum "$W/a.tar.gz" | cut -d' ' -f1)" = "$DIGEST" ] &&
		[ "$(stat -c %s "$W/a.tar.gz")" = "$(jp main '{.status.artifact.size}')" ]
}
check "artifact served at status.artifact.url with the digest and size in status" fetch_artifact
tar_has() { # FILE PATH...: every PATH is in the archive
	local f=$1 p
	shift
	tar -tzf "$f" | sort >"$W/list"
	cat "$W/list"
	for p in "$@"; do grep -qx "$p" "$W/list" || { echo "missing $p"; return 1; }; done
}
tar_lacks() { # FILE PATTERN: no entry matches
	! tar -tzf "$1" | grep -E "$2"
}
check "artifact holds deploy/app.yaml and README.md" tar_has "$W/a.tar.gz" deploy/app.yaml README.md
check "default ignore rules: no .github/, no *.png" tar_lacks "$W/a.tar.gz" '^\.github|logo\.png'
check "artifact path layout gitrepository/<ns>/<name>/<sha>.tar.gz" \
	test -f "$OP_DATA/gitrepository/$NS/main/$SHA1.tar.gz"
check "Event NewArtifact recorded" \
	poll 10 bash -c "$KUBECTL get events -n $NS --field-selector involvedObject.name=main,reason=NewArtifact -o name | grep -q ."
check "readiness and metrics endpoints" \
	bash -c "curl -fsS http://$OP_ADDR:$HPORT/readyz | grep -qx ok && curl -fsS http://$OP_ADDR:$MPORT/metrics | grep -q 'gotk_reconcile_duration_seconds_count{kind=\"GitRepository\",name=\"main\",namespace=\"$NS\"} [1-9]'"
L="kind=\"GitRepository\",name=\"main\",namespace=\"$NS\""
check "gotk_reconcile_condition: Ready True is 1, False and Unknown 0" bash -c "
	m=\$(curl -fsS http://$OP_ADDR:$MPORT/metrics) &&
	grep -qxF 'gotk_reconcile_condition{$L,type=\"Ready\",status=\"True\"} 1' <<<\"\$m\" &&
	grep -qxF 'gotk_reconcile_condition{$L,type=\"Ready\",status=\"False\"} 0' <<<\"\$m\" &&
	grep -qxF 'gotk_reconcile_condition{$L,type=\"Ready\",status=\"Unknown\"} 0' <<<\"\$m\""
check "gotk_suspend_status 0, then 1 once suspended" bash -c "
	curl -fsS http://$OP_ADDR:$MPORT/metrics | grep -qxF 'gotk_suspend_status{$L} 0' &&
	$KUBECTL patch gitrepository -n $NS main --type=merge -p '{\"spec\":{\"suspend\":true}}' >/dev/null &&
	for i in \$(seq 1 40); do curl -fsS http://$OP_ADDR:$MPORT/metrics | grep -qxF 'gotk_suspend_status{$L} 1' && exit 0; sleep 0.25; done; exit 1"
k patch gitrepository -n "$NS" main --type=merge -p '{"spec":{"suspend":false}}' >/dev/null

# ------------------------------------------------------------ spec.ignore
gitrepo ign "$GIT_HTTP_URL/$REPO.git" "ref:" "  branch: main" 'ignore: |' '  /*' '  !/deploy' >/dev/null
ignored_artifact() {
	local url
	url=$(jp ign '{.status.artifact.url}')
	[ -n "$url" ] && art_curl "$W/ign.tar.gz" "$url" &&
		[ "$(tar -tzf "$W/ign.tar.gz" | sort | tr '\n' ' ')" = "deploy/ deploy/app.yaml " ]
}
check "spec.ignore '/*' '!/deploy' keeps only deploy/" poll 30 ignored_artifact

# ------------------------------------------------------------ a new commit
echo "v2" >"$W/src/README.md"
SHA2=$(bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src")
k annotate gitrepository -n "$NS" main --overwrite "reconcile.fluxcd.io/requestedAt=t2" >/dev/null
check "requestedAt picks up the new commit at once" \
	poll 30 bash -c "[ \"\$($KUBECTL get gitrepository -n $NS main -o jsonpath='{.status.artifact.revision}')\" = main@sha1:$SHA2 ]"
check "lastHandledReconcileAt echoes the request" \
	poll 10 bash -c "[ \"\$($KUBECTL get gitrepository -n $NS main -o jsonpath='{.status.lastHandledReconcileAt}')\" = t2 ]"
log_lines() { grep -c "$1" "$GIT_HTTP_ACCESS_LOG"; }
# lighttpd writes its access log in batches, every few seconds: let it catch up.
sleep 5
refs_before=$(log_lines "/git/$REPO.git/info/refs")
packs_before=$(log_lines "/git/$REPO.git/git-upload-pack")
k annotate gitrepository -n "$NS" main --overwrite "reconcile.fluxcd.io/requestedAt=t3" >/dev/null
poll 30 bash -c "[ \"\$($KUBECTL get gitrepository -n $NS main -o jsonpath='{.status.lastHandledReconcileAt}')\" = t3 ]"
no_fetch() {
	echo "info/refs: $refs_before -> $(log_lines "/git/$REPO.git/info/refs")"
	echo "git-upload-pack: $packs_before -> $(log_lines "/git/$REPO.git/git-upload-pack")"
	[ "$(log_lines "/git/$REPO.git/info/refs")" -gt "$refs_before" ] &&
		[ "$(log_lines "/git/$REPO.git/git-upload-pack")" -eq "$packs_before" ]
}
sleep 5
check "an unchanged remote: one ref listing, no fetch (server access log)" no_fetch
check "old artifacts collected, two kept" \
	bash -c "[ \$(ls $OP_DATA/gitrepository/$NS/main | wc -l) -le 2 ]"

# ------------------------------------------------------------ failures
gitrepo nobranch "$GIT_HTTP_URL/$REPO.git" "ref:" "  branch: nope" >/dev/null
check "missing branch: Ready=False GitOperationFailed, says which ref" \
	poll 30 bash -c "[ \"\$($KUBECTL get gitrepository -n $NS nobranch -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].reason}')\" = GitOperationFailed ] && $KUBECTL get gitrepository -n $NS nobranch -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].message}' | tee /dev/stderr | grep -q nope"
k create secret generic -n "$NS" badauth --from-literal=username="$GIT_HTTP_USER" \
	--from-literal=password=wrong-password-xyzzy >/dev/null
gitrepo badauth "$GIT_HTTP_AUTH_URL/$REPO.git" "ref:" "  branch: main" "secretRef:" "  name: badauth" >/dev/null
check "wrong password: Ready=False AuthenticationFailed" poll 30 ready_is badauth False AuthenticationFailed
check "no secret in the status, events or logs" \
	bash -c "! { $KUBECTL get gitrepository -n $NS badauth -o yaml; $KUBECTL get events -n $NS -o yaml; op_log; } | grep -q wrong-password-xyzzy"
k create secret generic -n "$NS" goodauth --from-literal=username="$GIT_HTTP_USER" \
	--from-literal=password="$GIT_HTTP_PASSWORD" >/dev/null
gitrepo goodauth "$GIT_HTTP_AUTH_URL/$REPO.git" "ref:" "  branch: main" "secretRef:" "  name: goodauth" >/dev/null
check "basic auth from secretRef: Ready=True" poll 30 ready_is goodauth True Succeeded
k create secret generic -n "$NS" mtls --from-file=ca.crt="$TEST_CA" \
	--from-file=tls.crt="$TEST_CLIENT_CERT" --from-file=tls.key="$TEST_CLIENT_KEY" >/dev/null
gitrepo mtls "$GIT_MTLS_URL/$REPO.git" "ref:" "  branch: main" "secretRef:" "  name: mtls" >/dev/null
check "HTTPS client certificate (tls.crt, tls.key) and a CA behind an intermediate: Ready=True" \
	poll 30 ready_is mtls True Succeeded
k create secret generic -n "$NS" nocert --from-file=ca.crt="$TEST_CA" >/dev/null
gitrepo nocert "$GIT_MTLS_URL/$REPO.git" "ref:" "  branch: main" "secretRef:" "  name: nocert" >/dev/null
check "the same server without a client certificate: Ready=False, says it may need one" \
	poll 30 bash -c "$KUBECTL get gitrepository -n $NS nocert -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].message}' | grep -q 'does the server require a client certificate'"
gitrepo unreach "http://127.0.0.1:1/none.git" >/dev/null
check "unreachable server: Ready=False GitOperationFailed" poll 30 ready_is unreach False GitOperationFailed
gitrepo badurl "ftp://example.invalid/x.git" >/dev/null 2>"$OUT"
if grep -q "spec.url" "$OUT"; then
	pass "bad URL scheme refused by the CRD's validation"
else
	check "bad URL scheme: Stalled=True URLInvalid" poll 30 bash -c "[ \"\$($KUBECTL get gitrepository -n $NS badurl -o jsonpath='{.status.conditions[?(@.type==\"Stalled\")].reason}')\" = URLInvalid ]"
fi
git --git-dir="$GIT_ROOT/$REPO.git" tag v1.0.0 "$SHA1"
git --git-dir="$GIT_ROOT/$REPO.git" tag v1.1.0 "$SHA2"
git --git-dir="$GIT_ROOT/$REPO.git" tag v2.0.0-rc.1 "$SHA2"
gitrepo semver "$GIT_HTTP_URL/$REPO.git" "ref:" "  semver: '>=1.0.0 <2.0.0'" >/dev/null
check "semver ref: the highest matching tag, pre-releases left out" \
	poll 30 bash -c "[ \"\$($KUBECTL get gitrepository -n $NS semver -o jsonpath='{.status.artifact.revision}')\" = v1.1.0@sha1:$SHA2 ]"

# ------------------------------------------------------------ SSH and ref.name
k create secret generic -n "$NS" sshkey --from-file=identity="$SSH_KEY_ED25519" \
	--from-file=known_hosts="$SSH_KNOWN_HOSTS" >/dev/null
gitrepo ssh "$GIT_SSH_URL/$REPO.git" "ref:" "  branch: main" "secretRef:" "  name: sshkey" >/dev/null
check "SSH with an ed25519 identity and known_hosts: Ready=True" poll 60 ready_is ssh True Succeeded
sed 's/^[^ ]*/[127.0.0.1]:1/' "$SSH_KNOWN_HOSTS" >"$W/other_hosts"
k create secret generic -n "$NS" sshother --from-file=identity="$SSH_KEY_ED25519" \
	--from-file=known_hosts="$W/other_hosts" >/dev/null
gitrepo sshunknown "$GIT_SSH_URL/$REPO.git" "ref:" "  branch: main" "secretRef:" "  name: sshother" >/dev/null
unknown_host() {
	ready_is sshunknown False && ready_msg sshunknown | tee /dev/stderr | grep -qi "host key"
}
check "SSH to a host not in known_hosts: Ready=False, says the host key is unknown" poll 60 unknown_host
git --git-dir="$GIT_ROOT/$REPO.git" update-ref refs/pull/7/head "$SHA1"
gitrepo pr "$GIT_HTTP_URL/$REPO.git" "ref:" "  name: refs/pull/7/head" >/dev/null
check "ref.name: revision refs/pull/7/head@sha1:<sha>" \
	poll 30 bash -c "[ \"\$($KUBECTL get gitrepository -n $NS pr -o jsonpath='{.status.artifact.revision}')\" = refs/pull/7/head@sha1:$SHA1 ]"

# ------------------------------------------------------------ proxySecretRef
k create secret generic -n "$NS" proxy --from-literal=address="$PROXY_URL" \
	--from-literal=username="$PROXY_USER" --from-literal=password="$PROXY_PASSWORD" >/dev/null
k create secret generic -n "$NS" httpsca --from-file=ca.crt="$TEST_CA" >/dev/null
gitrepo viaproxy "$GIT_HTTPS_URL/$REPO.git" "ref:" "  branch: main" "secretRef:" "  name: httpsca" \
	"proxySecretRef:" "  name: proxy" >/dev/null
check "HTTPS through the proxy (CONNECT, our TLS inside): Ready=True" poll 30 ready_is viaproxy True Succeeded
check "... the proxy's log shows the tunnel to the git server" \
	grep -q "CONNECT $SERVERS_HOST:$GIT_HTTPS_PORT " "$PROXY_LOG"
gitrepo viaproxyhttp "$GIT_HTTP_URL/$REPO.git" "ref:" "  branch: main" "proxySecretRef:" "  name: proxy" >/dev/null
check "plain HTTP through the proxy: Ready=True, the tunnel in the proxy's log" \
	poll 30 bash -c "$KUBECTL get gitrepository -n $NS viaproxyhttp -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True && grep -q 'CONNECT $SERVERS_HOST:$GIT_HTTP_PORT ' '$PROXY_LOG'"
k create secret generic -n "$NS" badproxy --from-literal=address="$PROXY_URL" \
	--from-literal=username="$PROXY_USER" --from-literal=password=proxy-pass-xyzzy >/dev/null
gitrepo badproxy "$GIT_HTTPS_URL/$REPO.git" "ref:" "  branch: main" "secretRef:" "  name: httpsca" \
	"proxySecretRef:" "  name: badproxy" >/dev/null
check "a wrong proxy password: Ready=False, says the proxy refused it" \
	poll 30 bash -c "$KUBECTL get gitrepository -n $NS badproxy -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status} {.status.conditions[?(@.type==\"Ready\")].message}' | grep -q '^False .*refused the proxy username and password'"
check "... and the proxy password is nowhere in status, events or logs" \
	bash -c "! { $KUBECTL get gitrepository -n $NS badproxy -o yaml; $KUBECTL get events -n $NS -o yaml; op_log; } | grep -q proxy-pass-xyzzy"
k create secret generic -n "$NS" noaddress --from-literal=username=x >/dev/null
gitrepo noaddress "$GIT_HTTP_URL/$REPO.git" "proxySecretRef:" "  name: noaddress" >/dev/null
check "a proxy Secret without address: Ready=False AuthenticationFailed, Flux's message" \
	poll 30 bash -c "[ \"\$($KUBECTL get gitrepository -n $NS noaddress -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].reason} {.status.conditions[?(@.type==\"Ready\")].message}')\" = \"AuthenticationFailed failed to configure proxy options: secret '$NS/noaddress': key 'address' not found\" ]"

# ------------------------------------------------------------ include
mkdir -p "$W/lib/deploy"
printf 'lib: v1\n' >"$W/lib/deploy/lib.yaml"
echo "lib readme" >"$W/lib/README.md"
LIB1=$(bash "$repo/test/cluster/mkrepo.sh" "$REPO-lib" "$W/lib")
gitrepo withlib "$GIT_HTTP_URL/$REPO.git" "ref:" "  branch: main" "include:" \
	"- repository:" "    name: lib" "  fromPath: deploy" "  toPath: vendor/lib" >/dev/null
check "include of a GitRepository that does not exist: Ready=False, IncludeUnavailable NotFound" \
	poll 30 bash -c "[ \"\$($KUBECTL get gitrepository -n $NS withlib -o jsonpath='{.status.conditions[?(@.type==\"IncludeUnavailable\")].reason}')\" = NotFound ] && [ \"\$($KUBECTL get gitrepository -n $NS withlib -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}')\" = False ]"
gitrepo lib "$GIT_HTTP_URL/$REPO-lib.git" "ref:" "  branch: main" >/dev/null
# included_is REV CONTENT: withlib's artifact carries lib's REV, with CONTENT in vendor/lib/lib.yaml
included_is() {
	local url
	[ "$(jp withlib '{.status.includedArtifacts[0].revision}')" = "main@sha1:$1" ] &&
		ready_is withlib True Succeeded && url=$(jp withlib '{.status.artifact.url}') &&
		art_curl "$W/inc.tar.gz" "$url" && tar -xzf "$W/inc.tar.gz" -C "$W" -O vendor/lib/lib.yaml | grep -qx "$2" &&
		! tar -tzf "$W/inc.tar.gz" | grep -q '^vendor/lib/README.md'
}
check "the included artifact's fromPath lands at toPath once it exists; includedArtifacts set" \
	poll 60 included_is "$LIB1" "lib: v1"
check "observedInclude echoes spec.include" \
	bash -c "[ \"$(jp withlib '{.status.observedInclude[0].toPath}')\" = vendor/lib ]"
WITHLIB_REV=$(jp withlib '{.status.artifact.revision}')
printf 'lib: v2\n' >"$W/lib/deploy/lib.yaml"
LIB2=$(bash "$repo/test/cluster/mkrepo.sh" "$REPO-lib" "$W/lib")
k annotate gitrepository -n "$NS" lib --overwrite "reconcile.fluxcd.io/requestedAt=lib2" >/dev/null
rebuilt_with_lib2() {
	included_is "$LIB2" "lib: v2" && [ "$(jp withlib '{.status.artifact.revision}')" = "$WITHLIB_REV" ]
}
check "a new artifact of the included repository rebuilds the includer's (its own revision unchanged)" \
	poll 60 rebuilt_with_lib2

# ------------------------------------------------------------ sparse checkout, submodules
gitrepo sparse "$GIT_HTTP_URL/$REPO.git" "ref:" "  branch: main" "sparseCheckout:" "- deploy" >/dev/null
sparse_artifact() {
	local url
	url=$(jp sparse '{.status.artifact.url}')
	[ -n "$url" ] && art_curl "$W/sp.tar.gz" "$url" &&
		[ "$(tar -tzf "$W/sp.tar.gz" | sort | tr '\n' ' ')" = "deploy/ deploy/app.yaml " ] &&
		[ "$(jp sparse '{.status.observedSparseCheckout[0]}')" = deploy ]
}
check "sparseCheckout [deploy]: only deploy/ in the artifact, observedSparseCheckout set" poll 30 sparse_artifact
gitrepo sparsebad "$GIT_HTTP_URL/$REPO.git" "ref:" "  branch: main" "sparseCheckout:" "- nope" >/dev/null
check "sparseCheckout of a missing directory: Ready=False, says which" \
	poll 30 bash -c "$KUBECTL get gitrepository -n $NS sparsebad -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].message}' | grep -q \"sparse checkout directory 'nope' does not exist\""
bash "$repo/test/cluster/mktree.sh" "$REPO-super" submodule "$REPO-lib" lib "../$REPO-lib.git" >/dev/null
gitrepo super "$GIT_HTTP_URL/$REPO-super.git" "ref:" "  branch: main" "recurseSubmodules: true" >/dev/null
super_artifact() {
	local url
	url=$(jp super '{.status.artifact.url}')
	[ -n "$url" ] && art_curl "$W/super.tar.gz" "$url" &&
		tar -tzf "$W/super.tar.gz" | grep -qx lib/deploy/lib.yaml &&
		[ "$(jp super '{.status.observedRecurseSubmodules}')" = true ]
}
check "recurseSubmodules: the submodule (relative URL) is in the artifact" poll 60 super_artifact

# ------------------------------------------------------------ restart
# Every GitRepository of the repository must be at its head first (ign has
# not seen the second commit), and sparsebad fetches at every retry.
k delete gitrepository -n "$NS" sparsebad >/dev/null
k annotate gitrepository -n "$NS" ign --overwrite "reconcile.fluxcd.io/requestedAt=r1" >/dev/null
poll 30 bash -c "[ \"\$($KUBECTL get gitrepository -n $NS ign -o jsonpath='{.status.artifact.revision}')\" = main@sha1:$SHA2 ]"
sleep 5
packs_before=$(log_lines "/git/$REPO.git/git-upload-pack")
OLD_DIGEST=$(jp main '{.status.artifact.digest}')
OLD_URL=$(jp main '{.status.artifact.url}')
stop_operator
check "operator restarts (local: on other ports)" start_operator
restarted_served() {
	local url
	url=$(jp main '{.status.artifact.url}')
	[ -n "$url" ] && { [ "$OP_MODE" = cluster ] || [ "$url" != "$OLD_URL" ]; } && art_curl "$W/r.tar.gz" "$url" &&
		[ "sha256:$(sha256sum "$W/r.tar.gz" | cut -d' ' -f1)" = "$OLD_DIGEST" ]
}
check "after a restart the artifact is still served (local: at the new address), same digest" poll 30 restarted_served
sleep 5
check "after a restart: no fetch, only the ref listing (server access log)" \
	bash -c "echo \"upload-pack: $packs_before -> \$(grep -c /git/$REPO.git/git-upload-pack $GIT_HTTP_ACCESS_LOG)\"; [ \$(grep -c /git/$REPO.git/git-upload-pack $GIT_HTTP_ACCESS_LOG) -eq $packs_before ]"

# ------------------------------------------------------------ deletion
check "the bare repository cache is kept between fetches" \
	test -d "$OP_DATA/.cache/gitrepository/$NS/main/objects"
k delete gitrepository -n "$NS" main --wait=false >/dev/null
check "delete: the finalizer removes the artifacts and lets the object go" \
	poll 30 bash -c "! $KUBECTL get gitrepository -n $NS main >/dev/null 2>&1 && [ ! -e $OP_DATA/gitrepository/$NS/main ]"
check "delete: the bare repository cache goes too (issue #25)" \
	bash -c "[ ! -e $OP_DATA/.cache/gitrepository/$NS/main ] || { find $OP_DATA/.cache | head; exit 1; }"

# ------------------------------------------------------------ SIGTERM
stop_operator
stopped() { [ "$OP_RC" = 0 ] && op_log | grep -q Stopped; }
check "SIGTERM: clean exit 0" stopped
tap_end
