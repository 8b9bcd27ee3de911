#!/bin/bash
# remote.sh start|stop DIR: a second control plane (etcd and kube-apiserver
# only: no controllers, no node), for what applies to a remote cluster
# (a Kustomization's spec.kubeConfig).  It listens where the first cluster's
# apiserver does, so the node's pods reach it, and serves with the first
# cluster's certificate; its tokens are its own.  `start` writes DIR/env
# (REMOTE_APISERVER_URL, REMOTE_ADMIN_TOKEN, REMOTE_KUBECONFIG) and
# DIR/kubeconfig (its admin, CA inline).  Needs the first cluster's env.
set -eu
. "$(dirname "$0")/lib.sh"
. "$CLUSTER_SCRIPTS/env.sh"

cmd=${1:-}
R=${2:?usage: remote.sh start|stop DIR}
case $cmd in
stop)
	stop_proc kube-apiserver "$R/kube-apiserver.pid"
	stop_proc etcd "$R/etcd.pid"
	rm -rf "$R/etcd-data"
	exit 0
	;;
start) ;;
*) die "usage: remote.sh start|stop DIR" ;;
esac

D=${CFLUX_CLUSTER_DIR:?set CFLUX_CLUSTER_DIR to the first cluster}
PKI=$D/pki
# shellcheck disable=SC1091
. "$D/env"
HOST=${APISERVER_URL#https://}
HOST=${HOST%:*}
mkdir -p "$R"
R=$(cd "$R" && pwd)
read -r R_EPORT R_EPEER PORT <<<"$(free_ports 3)"
TOKEN=$(openssl rand -hex 24)
umask 077
printf '%s,remote-admin,uid-remote-admin,"system:masters"\n' "$TOKEN" >"$R/tokens.csv"
umask 022
for v in $(compgen -e | grep '^ETCD_'); do unset "$v"; done
start_proc etcd "$R/etcd.pid" "$R/etcd.log" "$ETCD" \
	--name=remote --data-dir="$R/etcd-data" \
	--listen-client-urls="http://127.0.0.1:$R_EPORT" \
	--advertise-client-urls="http://127.0.0.1:$R_EPORT" \
	--listen-peer-urls="http://127.0.0.1:$R_EPEER" \
	--initial-advertise-peer-urls="http://127.0.0.1:$R_EPEER" \
	--initial-cluster="remote=http://127.0.0.1:$R_EPEER" \
	--unsafe-no-fsync=true --log-level=warn
etcd_ok() { curl -fsS --max-time 2 "http://127.0.0.1:$R_EPORT/health" | grep -q '"health":"true"'; }
wait_until 30 "remote etcd" "$R/etcd.pid" etcd_ok || { tail_log "$R/etcd.log"; die "remote etcd"; }
URL=https://$HOST:$PORT
start_proc kube-apiserver "$R/kube-apiserver.pid" "$R/kube-apiserver.log" "$KUBE_APISERVER" \
	--etcd-servers="http://127.0.0.1:$R_EPORT" \
	--bind-address="$HOST" --advertise-address="$HOST" --secure-port="$PORT" \
	--cert-dir="$R" --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
	--client-ca-file="$PKI/ca.crt" --token-auth-file="$R/tokens.csv" \
	--authorization-mode=RBAC --disable-admission-plugins=ServiceAccount \
	--service-cluster-ip-range=10.96.0.0/16 \
	--service-account-issuer="$URL/" \
	--service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
	--profiling=false
readyz() { curl -fsS --max-time 2 --cacert "$PKI/ca.crt" "$URL/readyz" | grep -qx ok; }
wait_until 90 "remote kube-apiserver /readyz" "$R/kube-apiserver.pid" readyz ||
	{ tail_log "$R/kube-apiserver.log"; die "remote kube-apiserver"; }
umask 077
cat >"$R/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: remote
  cluster:
    server: $URL
    certificate-authority-data: $(base64 -w0 <"$PKI/ca.crt")
users:
- name: remote-admin
  user:
    token: $TOKEN
contexts:
- name: remote
  context: {cluster: remote, user: remote-admin, namespace: default}
current-context: remote
KC
cat >"$R/env" <<ENV
export REMOTE_APISERVER_URL='$URL'
export REMOTE_ADMIN_TOKEN='$TOKEN'
export REMOTE_KUBECONFIG='$R/kubeconfig'
ENV
umask 022
log "remote control plane at $URL (state $R)"
