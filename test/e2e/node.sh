#!/bin/bash
# node.sh: the local node (test/cluster/node.sh) against the real control
# plane (TAP): the node's identity (system:node:<name>, Node authorizer,
# NodeRestriction), pods that run, cluster DNS, ClusterIP Services from a
# pod and from this host, kubectl logs and exec, and isolation: kube-proxy's
# nft table and the node's mounts exist only in the node's namespaces.
# Then a second cluster with its own node is brought up beside the first
# (both run pods at the same time) and taken down, and the machine is
# checked to be as it was: no veth, route, cgroup, mount, nft table, sysctl
# or directory of it left.  Skipped without a node (CFLUX_NODE=0).
set -u
CD=${CFLUX_CLUSTER_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build/cluster}
repo=$(cd "$(dirname "$0")/../.." && pwd)
. "$CD/env"
. "$repo/test/cluster/env.sh"
N=0
FAILED=0
if [ -z "${NODE_NAME:-}" ]; then
	echo "ok 1 - # SKIP no node in this cluster (CFLUX_NODE=0)"
	echo "1..1"
	exit 0
fi
NS=node-$$
W=$CD/node-e2e-$$
OUT=$W/out
mkdir -p "$W"
pass() { N=$((N + 1)); echo "ok $N - $1"; }
fail() {
	N=$((N + 1)); FAILED=$((FAILED + 1))
	echo "not ok $N - $1"
	[ -s "$OUT" ] && sed 's/^/# /' "$OUT" | head -n 30
	return 0
}
check() { local d=$1; shift; if "$@" >"$OUT" 2>&1; then pass "$d"; else fail "$d"; fi; }
poll() { local s=$1 i; shift; for i in $(seq 1 $((s * 4))); do "$@" && return 0; sleep 0.25; done; "$@"; }
k() { "$KUBECTL" "$@"; }
C2=$W/c2
cleanup() {
	k delete namespace "$NS" --wait=false >/dev/null 2>&1
	[ -d "$C2" ] && env -i PATH="$PATH" HOME="$HOME" CFLUX_CLUSTER_DIR=$C2 bash "$repo/test/cluster/down.sh" >/dev/null 2>&1
	[ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT
k create namespace "$NS" >/dev/null

# ------------------------------------------------------------ identity
KK="$KUBECTL --kubeconfig=$NODE_DIR/kubeconfig-kubelet"
check "the node is Ready, registered by its kubelet" bash -c \
	"[ \"\$($KUBECTL get node $NODE_NAME -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status} {.status.addresses[?(@.type==\"InternalIP\")].address}')\" = 'True $NODE_IP' ]"
check "the kubelet's credentials are system:node:$NODE_NAME in system:nodes" bash -c \
	"$KK auth whoami -o jsonpath='{.status.userInfo.username} {.status.userInfo.groups}' | grep -q '^system:node:$NODE_NAME .*system:nodes'"
check "Node authorizer: the kubelet may not read a Secret no pod of it uses" bash -c \
	"$KUBECTL create secret generic -n $NS private --from-literal=a=b >/dev/null && ! $KK get secret -n $NS private"
check "NodeRestriction: the kubelet may not set node-restriction labels, nor create another Node" bash -c \
	"! $KK label node $NODE_NAME node-restriction.kubernetes.io/x=y && ! printf 'apiVersion: v1\nkind: Node\nmetadata: {name: other}\n' | $KK create -f -"

# ------------------------------------------------------------ pods, DNS, Services
k create deployment -n "$NS" web --image=cflux.local/testapp:1 --replicas=2 --port=8080 >/dev/null
k expose deployment -n "$NS" web --port=80 --target-port=8080 >/dev/null
check "a two-replica Deployment of the test app becomes Available" \
	k rollout status -n "$NS" deploy/web --timeout=60s
k run -n "$NS" client --image=cflux.local/testapp:1 --restart=Never --command -- sh -c \
	"nslookup kubernetes.default.svc.cluster.local && nslookup web.$NS.svc.cluster.local && wget -q -O- http://web.$NS.svc.cluster.local/ && echo && wget -q -O- http://web/" >/dev/null
done_ok() { [ "$(k get pod -n "$NS" client -o jsonpath='{.status.phase}')" = Succeeded ]; }
check "from a pod: cluster DNS resolves Services, the ClusterIP answers (FQDN and search path)" poll 60 done_ok
check "kubectl logs (through the kubelet)" bash -c \
	"$KUBECTL logs -n $NS client | grep -q 'cflux test app' && $KUBECTL logs -n $NS client | grep -q 'Address: $KUBERNETES_SVC_IP'"
check "kubectl exec (through the kubelet)" bash -c \
	"[ \"\$($KUBECTL exec -n $NS deploy/web -- cat /www/index.html)\" = 'cflux test app' ]"
check "from this host: the ClusterIP answers (the route into the node's namespace)" bash -c \
	"curl -fsS --max-time 5 http://\$($KUBECTL get svc -n $NS web -o jsonpath='{.spec.clusterIP}')/ | grep -q 'cflux test app'"

# ------------------------------------------------------------ isolation
HOLDER=$(cut -d' ' -f1 "$NODE_DIR/holder.pid")
check "kube-proxy's nft table is in the node's network namespace, not the host's" bash -c \
	"nsenter -t $HOLDER -n nft list tables | grep -q kube-proxy && ! nft list tables 2>/dev/null | grep -q kube-proxy"
check "the node's mounts (overlay /var, tmpfs /run, pod volumes) are not in the host's mount table" bash -c \
	"nsenter -t $HOLDER -m grep -q cflux-node-var /proc/self/mounts && ! grep -qE 'cflux-node|kubelet|containerd' /proc/self/mounts"
check "the kubelet's sysctls are the node's view only (host: vm.overcommit_memory $(cat /proc/sys/vm/overcommit_memory))" bash -c \
	"[ \"\$(nsenter -t $HOLDER -m cat /proc/sys/vm/overcommit_memory)\" = 1 ] && [ \"\$(cat /proc/sys/kernel/panic)\" = \"\$(sysctl -n kernel.panic)\" ]"

# ------------------------------------------------------------ a second cluster beside, then gone
snapshot() {
	echo "== sysctl"
	sysctl -n vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops \
		kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.ipv4.ip_forward
	echo "== nft"; nft list tables 2>/dev/null
	echo "== dirs"; ls -d /var/lib/kubelet /var/lib/containerd /var/lib/cni /var/log/pods \
		/var/log/containers /run/containerd /run/netns /etc/cni/net.d 2>/dev/null
}
snapshot >"$W/before"
check "a second cluster with its own node comes up beside this one" bash -c \
	"env -i PATH=\"$PATH\" HOME=\"$HOME\" CFLUX_CLUSTER_DIR=$C2 bash $repo/test/cluster/up.sh >$W/c2.log 2>&1"
N2=$(cat "$C2/node/index" 2>/dev/null || echo none)
check "its node has another index, veth and pod network (index $N2)" bash -c \
	"[ '$N2' != '$(cat "$NODE_DIR/index")' ] && ip link show cflux$N2 >/dev/null"
K2="$KUBECTL --kubeconfig=$C2/kubeconfig"
$K2 create deployment web2 --image=cflux.local/testapp:1 --replicas=1 >/dev/null 2>&1
check "both nodes run pods at the same time" bash -c \
	"$K2 rollout status deploy/web2 --timeout=60s && $KUBECTL get pods -n $NS -l app=web --field-selector=status.phase=Running -o name | grep -q ."
check "the second cluster goes down" bash -c "env -i PATH=\"$PATH\" HOME=\"$HOME\" CFLUX_CLUSTER_DIR=$C2 bash $repo/test/cluster/down.sh >>$W/c2.log 2>&1"
snapshot >"$W/after"
check "... and leaves the machine as it was: sysctls, nft tables, directories" diff "$W/before" "$W/after"
check "... no veth, route, cgroup or mount of it left" bash -c \
	"! ip link show cflux$N2 2>/dev/null && ! ip route | grep -q 'cflux$N2' && ! ls -d /sys/fs/cgroup/*/cflux-node-$N2 2>/dev/null && ! grep -q '$C2' /proc/self/mounts && [ ! -e $C2/node ]"
check "this cluster's node is still Ready" bash -c \
	"[ \"\$($KUBECTL get node $NODE_NAME -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}')\" = True ]"
echo "1..$N"
[ "$FAILED" -eq 0 ]
