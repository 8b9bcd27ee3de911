#!/bin/bash
# down.sh: stop the control plane started by up.sh (make cluster-down).
#
#   bash test/cluster/down.sh        state dir: $CFLUX_CLUSTER_DIR (default <repo>/build/cluster)
#
# Stops kube-controller-manager, kube-apiserver and etcd by the pids up.sh
# recorded (checking each pid still runs the recorded binary; never by name),
# waits for them to exit, and removes the etcd data dir, PKI, tokens and
# kubeconfigs.  Logs (*.log, audit.log) are kept for inspection.  Safe to run
# when nothing is up.
set -eu
. "$(dirname "$0")/lib.sh"

D=$CLUSTER_DIR
[ -d "$D" ] || exit 0
D=$(cd "$D" && pwd)

# The node first: a connected kubelet makes kube-apiserver linger on SIGTERM.
bash "$(dirname "$0")/node.sh" down || log "node.sh down failed"
# After a node, kube-apiserver 1.35 sits on SIGTERM (measured: more than
# 20 s, with no client left); its state is thrown away next, so it gets 3 s.
if [ -f "$D/kube-scheduler.pid" ]; then apiserver_wait=3; else apiserver_wait=15; fi
stop_proc kube-scheduler "$D/kube-scheduler.pid"
stop_proc kube-controller-manager "$D/kube-controller-manager.pid"
stop_proc kube-apiserver "$D/kube-apiserver.pid" "$apiserver_wait"
stop_proc etcd "$D/etcd.pid"

if [ -f "$D/etcd-data.path" ]; then
	data=$(cat "$D/etcd-data.path")
	case "$data" in
	/dev/shm/cflux-etcd.* | "$D"/etcd-data) rm -rf "$data" ;;
	*) log "not removing unexpected etcd data path '$data'" ;;
	esac
	rm -f "$D/etcd-data.path"
fi
rm -f "$D"/*.cmd
rm -rf "$D/pki" "$D"/kubeconfig* "$D/env" "$D/audit-policy.yaml"
log "cluster down (state $D)"
