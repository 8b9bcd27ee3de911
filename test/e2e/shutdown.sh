#!/bin/bash
# shutdown.sh: SIGTERM while reconciles are stuck (issue #25).
#
#   bash test/e2e/shutdown.sh      (BIN=build/address-undefined/bin for the sanitizer build)
#
# With --graceful-shutdown-timeout=2s the drain times out while work is in
# flight; the operator must cancel it, never free it under its feet: exit
# 0, the Lease released (holderIdentity emptied), no sanitizer report.
#   1. a fetch stuck on a git server that accepts and never answers;
#   2. a Bucket listing stuck on an S3 endpoint that does the same;
#   3. an apply stuck in the apiserver: a validating webhook on ConfigMaps
#      whose server accepts and never answers (the apiserver waits for it).
#      Requests to the apiserver are not cancellable yet: the operator
#      abandons them after its cancel grace (main.c), lease released.
#   4. a notification in flight: an Alert's Provider whose address is the
#      silent server (issue #26).
# A silent server (Python) serves both.  Prints TAP.
set -u
NAME=shut
# The operator runs on this host (operator.bash OP_MODE=local): it signals the operator's process and reads its exit status and sanitizer report, and
# the servers it leaves hanging listen on loopback.
CFLUX_OPERATOR_MODE=${CFLUX_OPERATOR_MODE:-local}
. "$(dirname "$0")/lib/operator.bash"

LEASE=cflux-operator-leader-election
HOOK=cflux-shutdown-$$

# A TCP server that accepts every connection, counts it in $W/accepts
# and never says a word.
silent_server() {
	python3 - "$W/silent.port" "$W/accepts" <<'EOF' &
import socket, sys, threading
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(64)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
held = []
while True:
    c, _ = s.accept()
    held.append(c)
    with open(sys.argv[2], "a") as f:
        f.write("x\n")
EOF
	SILENT_PID=$!
	poll 10 test -s "$W/silent.port" || return 1
	SILENT_PORT=$(cat "$W/silent.port")
}

cleanup_shutdown() {
	[ -n "${SILENT_PID:-}" ] && kill "$SILENT_PID" 2>/dev/null
	k delete validatingwebhookconfiguration "$HOOK" --ignore-not-found >/dev/null 2>&1
	e2e_cleanup
}
trap cleanup_shutdown EXIT

accepted() { [ -s "$W/accepts" ]; }
lease_holder() { k get lease -n "$NS" "$LEASE" -o jsonpath='{.spec.holderIdentity}' 2>/dev/null; }
lease_held() { [ -n "$(lease_holder)" ]; }
lease_released() { k get lease -n "$NS" "$LEASE" >/dev/null 2>&1 && [ -z "$(lease_holder)" ]; }

# term: SIGTERM the operator; it must exit 0 within SECONDS.
term() {
	local secs=$1 i rc
	kill -TERM "$OP_PID" || return 1
	for i in $(seq 1 $((secs * 4))); do
		kill -0 "$OP_PID" 2>/dev/null || break
		sleep 0.25
	done
	if kill -0 "$OP_PID" 2>/dev/null; then
		echo "still running after ${secs}s"
		kill -KILL "$OP_PID"
		wait "$OP_PID"
		OP_PID=
		return 1
	fi
	wait "$OP_PID"
	rc=$?
	OP_PID=
	echo "exit status $rc"
	[ "$rc" -eq 0 ]
}

no_sanitizer_report() {
	! grep -E -A20 'AddressSanitizer|LeakSanitizer|runtime error:' "$W/operator.log"
}

check "CRDs installed" crd_install source.toolkit.fluxcd.io_gitrepositories.yaml \
	source.toolkit.fluxcd.io_buckets.yaml kustomize.toolkit.fluxcd.io_kustomizations.yaml
k create namespace "$NS" >/dev/null
check "a silent server listens" silent_server

# ---- 1. a stuck fetch
check "operator starts" start_operator --graceful-shutdown-timeout=2s
check "it holds the Lease" poll 30 lease_held
# spec.timeout 10s: before the fix the fetch failed at 10 s into freed memory.
gitrepo stuck "http://127.0.0.1:$SILENT_PORT/stuck.git" >/dev/null
check "the fetch is in flight (the server accepted)" poll 30 accepted
sleep 0.5
check "SIGTERM during the stuck fetch: exit 0 within 8s" term 8
check "the Lease is released" lease_released
# The fetch observed its cancellation: a clean close, not the last resort.
check "the fetch was cancelled, not abandoned" \
	bash -c "! grep 'did not end' '$W/operator.log' && grep -c '\"Stopped\"' '$W/operator.log'"
check "no sanitizer report" no_sanitizer_report
k delete gitrepository -n "$NS" stuck --wait=false >/dev/null 2>&1
k patch gitrepository -n "$NS" stuck --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1

# ---- 2. a stuck bucket listing (S3, the same silent server)
: >"$W/accepts"
LOG_FROM=$(($(wc -l <"$W/operator.log") + 1))
check "operator starts again" start_operator --graceful-shutdown-timeout=2s
check "it holds the Lease" poll 40 lease_held
k apply -f - >/dev/null <<EOF
apiVersion: source.toolkit.fluxcd.io/v1
kind: Bucket
metadata: {name: stuck, namespace: $NS}
spec: {interval: 10m, timeout: 60s, provider: generic, bucketName: b, endpoint: "127.0.0.1:$SILENT_PORT", insecure: true}
EOF
check "the listing is in flight (the server accepted)" poll 30 accepted
sleep 0.5
check "SIGTERM during the stuck listing: exit 0 within 8s" term 8
check "the Lease is released" lease_released
run_log() { tail -n +"$LOG_FROM" "$W/operator.log"; }
cancelled() { ! run_log | grep 'did not end' && run_log | grep -c '"Stopped"'; }
check "the listing was cancelled, not abandoned" cancelled
check "no sanitizer report" no_sanitizer_report
k delete bucket -n "$NS" stuck --wait=false >/dev/null 2>&1
k patch bucket -n "$NS" stuck --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1

# ---- 3. a stuck apply
mkdir -p "$W/src/app"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n  namespace: %s\n' "$NS" \
	>"$W/src/app/cm.yaml"
bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src" >/dev/null
: >"$W/accepts"
CA=$(base64 -w0 <"$CLUSTER_CA")
k apply -f - >/dev/null <<EOF
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: $HOOK
webhooks:
- name: hold.shutdown.cflux.io
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: Fail
  timeoutSeconds: 30
  clientConfig:
    url: https://127.0.0.1:$SILENT_PORT/
    caBundle: $CA
  namespaceSelector:
    matchLabels: {kubernetes.io/metadata.name: $NS}
  rules:
  - apiGroups: [""]
    apiVersions: [v1]
    operations: [CREATE, UPDATE]
    resources: [configmaps]
EOF
check "operator starts again" start_operator --graceful-shutdown-timeout=2s
check "it holds the Lease" poll 40 lease_held
gitrepo src "$GIT_HTTP_URL/$REPO.git" "ref:" "  branch: main" >/dev/null
kustomization app src ./app >/dev/null
check "the apply is in flight (the webhook server accepted)" poll 40 accepted
sleep 0.5
check "SIGTERM during the stuck apply: exit 0 within 10s" term 10
check "the Lease is released" lease_released
check "no sanitizer report" no_sanitizer_report

# ---- 4. a notification in flight
k delete validatingwebhookconfiguration "$HOOK" --ignore-not-found >/dev/null 2>&1
check "notification CRDs installed" crd_install notification.toolkit.fluxcd.io_providers.yaml \
	notification.toolkit.fluxcd.io_alerts.yaml
k apply -f - >/dev/null <<EOF
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: {name: silent, namespace: $NS}
spec: {type: generic, address: "http://127.0.0.1:$SILENT_PORT/hook", timeout: 60s}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: {name: all, namespace: $NS}
spec: {providerRef: {name: silent}, eventSources: [{kind: GitRepository, name: "*"}]}
EOF
: >"$W/accepts"
check "operator starts again" start_operator --graceful-shutdown-timeout=2s
check "it holds the Lease" poll 40 lease_held
gitrepo dead "http://127.0.0.1:1/dead.git" >/dev/null # fails at once: a Warning Event to send
check "the notification is in flight (the server accepted)" poll 30 accepted
sleep 0.5
check "SIGTERM while a notification waits for its answer: exit 0 within 8s" term 8
check "the Lease is released" lease_released
check "no sanitizer report" no_sanitizer_report

tap_end
