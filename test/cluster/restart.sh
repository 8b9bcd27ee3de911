#!/usr/bin/env bash
# restart.sh NAME: stop one component of the running local control plane
# (kube-apiserver, etcd or kube-controller-manager) by pid and start it
# again with exactly the command line up.sh gave it, on the same ports and
# data, then wait until it is healthy.  Tests use it to prove that clients
# ride out a real apiserver restart.
#
#   bash test/cluster/restart.sh kube-apiserver
#   RESTART_DOWN_SECONDS=3 bash test/cluster/restart.sh kube-apiserver
#     (stay down that long before starting again)
set -eu
CLUSTER_SCRIPTS=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC1091
. "$CLUSTER_SCRIPTS/lib.sh"
D=${CFLUX_CLUSTER_DIR:-$(cd "$CLUSTER_SCRIPTS/../.." && pwd)/build/cluster}
name=${1:?usage: restart.sh kube-apiserver|etcd|kube-controller-manager}
case $name in kube-apiserver | etcd | kube-controller-manager) ;; *) die "unknown component '$name'" ;; esac
[ -f "$D/$name.cmd" ] || die "$D/$name.cmd missing: was the cluster started by up.sh?"
# shellcheck disable=SC1091
. "$D/env"
mapfile -d '' cmd <"$D/$name.cmd"
stop_proc "$name" "$D/$name.pid"
sleep "${RESTART_DOWN_SECONDS:-0}"
# etcd reads ETCD_* from its environment and refuses to start when one
# shadows a flag (the env file exports ETCD_URL, ETCD_PID, ...).
etcd_url=$ETCD_URL
for v in $(compgen -e | grep '^ETCD_'); do unset "$v"; done
start_proc "$name" "$D/$name.pid" "$D/$name.log" "${cmd[@]}"
ETCD_URL=$etcd_url
case $name in
kube-apiserver)
	ok() { curl -fsS --max-time 2 --cacert "$CLUSTER_CA" "$APISERVER_URL/readyz" | grep -qx ok; }
	wait_until 60 "kube-apiserver /readyz" "$D/$name.pid" ok || { tail_log "$D/$name.log"; die "not ready"; }
	;;
etcd)
	ok() { curl -fsS --max-time 2 "$ETCD_URL/health" | grep -q '"health":"true"'; }
	wait_until 30 "etcd" "$D/$name.pid" ok || { tail_log "$D/$name.log"; die "not healthy"; }
	;;
esac
log "restarted $name"
