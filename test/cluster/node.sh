#!/bin/bash
# node.sh: a real node for the local control plane: containerd + runc +
# CNI from Debian, kubelet and kube-proxy v1.35.4, CoreDNS, all of it
# isolated from the machine and from other clusters' nodes.
#
#   bash test/cluster/node.sh prepare   (up.sh, before kube-apiserver starts)
#   bash test/cluster/node.sh up        (up.sh, once the control plane is ready)
#   bash test/cluster/node.sh down      (down.sh, first)
#   bash test/cluster/node.sh status
#
# Isolation (several clusters run on one machine at the same time, each
# with its node; nothing of one touches another or the machine):
#   - an index N (1..99), taken by creating the cgroup cflux-node-N in the
#     pids hierarchy (mkdir is atomic); every process of the node runs in
#     cflux-node-N (subgroup node/) in every cgroup hierarchy, and the
#     kubelet's cgroupRoot is /cflux-node-N, so pods land below it too;
#   - a network namespace and a mount namespace of its own, held by one
#     process (the "holder"): kube-proxy's nft tables, iptables chains,
#     the CNI bridge, conntrack and net.* sysctls are the namespace's;
#     the host sees only a veth pair, cflux<N> (10.222.N.1/24) <-> eth0
#     (10.222.N.2/24) and two routes through it (pods 10.223.N.0/24,
#     Services 10.<100+N>.0.0/16), all gone with the namespace;
#   - in the mount namespace: a tmpfs on /run (containerd's state, runc,
#     pod network namespaces, CNI IPAM), an overlay on /var whose upper
#     layer is $ND/var (the kubelet's /var/lib/kubelet with its hard-coded
#     device-plugins socket, /var/log/pods, /var/log/containers), and the
#     six sysctls the kubelet would set machine-wide (vm.overcommit_memory,
#     vm.panic_on_oom, kernel.panic, kernel.panic_on_oops,
#     kernel.keys.root_maxkeys/maxbytes) read from files holding the values
#     it wants, so it changes nothing;
#   - containerd's root is $ND/containerd, its socket $ND/containerd.sock.
# The control plane and the test servers listen on 10.222.N.1 (HOST_ADDR
# in node.env), which the host and the pods both reach.
#
# down: SIGTERM to the kubelet and kube-proxy, then SIGKILL to every
# process left in cflux-node-N (containers, shims, containerd, the holder);
# when the last one is gone the kernel drops both namespaces, with every
# mount, the veth pair, the routes and the nft tables in them; then the
# cgroups are removed (deepest first) and $ND deleted.
#
# Images (no Docker, no network): pause (test/cluster/pause.c, static),
# the test app (busybox-static from Debian: httpd on 8080 serving /www)
# and CoreDNS, built by tools/image.py and imported into containerd as
# cflux.local/{pause:1,testapp:1,coredns:$COREDNS_VERSION}.  containerd
# pulls other images from the test registry over plain HTTP.
set -eu
. "$(dirname "$0")/lib.sh"
. "$CLUSTER_SCRIPTS/env.sh"

D=$(cluster_dir)
ND=$D/node
PKI=$D/pki
NODE_NAME=cflux-node
CG=/sys/fs/cgroup
IMG_CACHE=$CFLUX_TESTBIN/images

# ---------------------------------------------------------------- helpers
hierarchies() {
	local h
	for h in "$CG"/*; do
		[ -f "$h/cgroup.procs" ] && echo "$h"
	done
}

node_env() { # N: the addresses of node N
	local n=$1
	cat <<EOF
export NODE_INDEX='$n'
export NODE_NAME='$NODE_NAME'
export NODE_CGROUP='cflux-node-$n'
export NODE_VETH='cflux$n'
export HOST_ADDR='10.222.$n.1'
export NODE_IP='10.222.$n.2'
export POD_CIDR='10.223.$n.0/24'
export SERVICE_CIDR='10.$((100 + n)).0.0/16'
export KUBERNETES_SVC_IP='10.$((100 + n)).0.1'
export CLUSTER_DNS='10.$((100 + n)).0.10'
export NODE_DIR='$ND'
export CONTAINERD_SOCK='$ND/containerd.sock'
EOF
}

holder_pid() { [ -f "$ND/holder.pid" ] && proc_alive "$ND/holder.pid" && proc_pid "$ND/holder.pid"; }
in_node() { nsenter -t "$(holder_pid)" -n -m -- "$@"; }

# start_node_proc NAME BINARY ARGS...: in the node's cgroup and namespaces.
start_node_proc() {
	local name=$1 bin=$2 h
	shift 2
	[ -x "$bin" ] || die "$name: $bin is missing (run: bash test/cluster/build.sh)"
	local procs=""
	for h in $(hierarchies); do procs="$procs $h/$NODE_CGROUP/node/cgroup.procs"; done
	# shellcheck disable=SC2016
	setsid sh -c 'for f in $1; do echo $$ >"$f"; done; h=$2; shift 2; exec nsenter -t "$h" -n -m -- "$@"' \
		sh "$procs" "$(holder_pid)" "$bin" "$@" </dev/null >>"$ND/$name.log" 2>&1 &
	printf '%s %s\n' "$!" "$bin" >"$ND/$name.pid"
	log "started $name (pid $!, log $ND/$name.log)"
}

# ---------------------------------------------------------------- prepare
client_cert() { # NAME CN [O]
	local subj="/CN=$2"
	[ -n "${3:-}" ] && subj="/O=$3$subj"
	issue_cert "$PKI" "$1" "$subj" "basicConstraints=CA:FALSE" \
		"keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=clientAuth"
}

prepare() {
	[ -f "$PKI/ca.key" ] || die "$PKI/ca.key missing: node.sh prepare runs inside up.sh"
	for b in containerd runc ctr nsenter unshare ip iptables nft conntrack gcc; do
		command -v "$b" >/dev/null || die "$b not found (run tools/deps.sh)"
	done
	[ -x /usr/lib/cni/bridge ] || die "/usr/lib/cni/bridge missing (containernetworking-plugins)"
	[ -d "$CG/pids" ] || die "no cgroup v1 pids hierarchy at $CG/pids: this node setup needs cgroup v1"
	rm -rf "$ND"
	mkdir -p "$ND"
	# An index: the first free cflux-node-N cgroup (mkdir is the lock).
	local n h
	for n in $(seq 1 99); do
		mkdir "$CG/pids/cflux-node-$n" 2>/dev/null && break
		n=
	done
	[ -n "$n" ] || die "no free node index (1..99): $(ls -d "$CG"/pids/cflux-node-* | tr '\n' ' ')"
	echo "$n" >"$ND/index"
	node_env "$n" >"$ND/node.env"
	. "$ND/node.env"
	for h in $(hierarchies); do
		mkdir -p "$h/$NODE_CGROUP/node"
		if [ -f "$h/cpuset.cpus" ]; then
			cat "$h/cpuset.cpus" >"$h/$NODE_CGROUP/cpuset.cpus"
			cat "$h/cpuset.mems" >"$h/$NODE_CGROUP/cpuset.mems"
			cat "$h/cpuset.cpus" >"$h/$NODE_CGROUP/node/cpuset.cpus"
			cat "$h/cpuset.mems" >"$h/$NODE_CGROUP/node/cpuset.mems"
		fi
	done

	# The holder: new network and mount namespaces, in the node's cgroups.
	local procs=""
	for h in $(hierarchies); do procs="$procs $h/$NODE_CGROUP/node/cgroup.procs"; done
	# shellcheck disable=SC2016
	setsid sh -c 'for f in $1; do echo $$ >"$f"; done; exec unshare --net --mount --propagation private sleep infinity' \
		sh "$procs" </dev/null >>"$ND/holder.log" 2>&1 &
	local hp=$!
	printf '%s %s\n' "$hp" "$(command -v sleep)" >"$ND/holder.pid"
	for _ in $(seq 1 50); do
		[ "$(readlink "/proc/$hp/ns/net")" != "$(readlink /proc/self/ns/net)" ] && break
		sleep 0.05
	done
	[ "$(readlink "/proc/$hp/ns/net")" != "$(readlink /proc/self/ns/net)" ] || die "the holder did not unshare"
	N() { nsenter -t "$hp" -n -m -- "$@"; }

	# Network: a veth pair, addresses, routes.  Nothing else on the host.
	ip link add "$NODE_VETH" type veth peer name eth0 netns "$hp"
	ip addr add "$HOST_ADDR/24" dev "$NODE_VETH"
	ip link set "$NODE_VETH" up
	N ip link set lo up
	N ip addr add "$NODE_IP/24" dev eth0
	N ip link set eth0 up
	ip route add "$POD_CIDR" via "$NODE_IP" dev "$NODE_VETH"
	ip route add "$SERVICE_CIDR" via "$NODE_IP" dev "$NODE_VETH"
	N sysctl -qw net.ipv4.ip_forward=1
	N sysctl -qw net.ipv4.conf.all.route_localnet=1 2>/dev/null || true
	[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] && N sysctl -qw net.bridge.bridge-nf-call-iptables=1

	# Mounts, seen by the node only.
	mkdir -p "$ND/var" "$ND/var.work" "$ND/containerd" "$ND/cni" "$ND/certs.d" "$ND/sysctl"
	N mount -t tmpfs -o mode=755 cflux-node-run /run
	N mount -t overlay cflux-node-var -o "lowerdir=/var,upperdir=$ND/var,workdir=$ND/var.work" /var
	local s v
	for s in vm/overcommit_memory=1 vm/panic_on_oom=0 kernel/panic=10 kernel/panic_on_oops=1 \
		kernel/keys/root_maxkeys=1000000 kernel/keys/root_maxbytes=25000000; do
		v=${s#*=}
		s=${s%=*}
		echo "$v" >"$ND/sysctl/${s//\//.}"
		N mount --bind "$ND/sysctl/${s//\//.}" "/proc/sys/$s"
	done

	# Certificates: the node's identity and the components talking to it.
	client_cert kubelet "system:node:$NODE_NAME" system:nodes
	client_cert kube-proxy system:kube-proxy
	client_cert kube-scheduler system:kube-scheduler
	client_cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
	issue_cert "$PKI" kubelet-serving "/CN=$NODE_NAME" "basicConstraints=CA:FALSE" \
		"keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" \
		"subjectAltName=IP:$NODE_IP,DNS:$NODE_NAME"
	log "node $n prepared: host $HOST_ADDR, node $NODE_IP, pods $POD_CIDR, services $SERVICE_CIDR"
}

# ---------------------------------------------------------------- images
# build_image NAME TAG ARGS... -> $IMG_CACHE/NAME-TAG.tar (kept: same inputs, same digest)
build_image() {
	local name=$1 tag=$2 out
	shift 2
	out=$IMG_CACHE/$name-$tag
	[ -f "$out.tar" ] && return 0
	mkdir -p "$IMG_CACHE"
	python3 "$CLUSTER_REPO/tools/image.py" files "$out.oci" "$@" >/dev/null
	python3 "$CLUSTER_REPO/tools/image.py" archive "$out.oci" "cflux.local/$name:$tag" "$out.tar.tmp"
	rm -rf "$out.oci"
	mv "$out.tar.tmp" "$out.tar"
}

PAUSE_TAG=1-$(sha256sum "$CLUSTER_SCRIPTS/pause.c" | cut -c1-12)
TESTAPP_TAG=1
images() {
	if [ ! -f "$IMG_CACHE/pause-$PAUSE_TAG.tar" ]; then
		mkdir -p "$IMG_CACHE"
		gcc -static -Os -s -o "$IMG_CACHE/pause.bin" "$CLUSTER_SCRIPTS/pause.c"
		build_image pause "$PAUSE_TAG" --file "$IMG_CACHE/pause.bin:pause:755" --entrypoint '["/pause"]' --user 65535:65535
		rm -f "$IMG_CACHE/pause.bin"
	fi
	local applets="sh cat echo env hostname httpd ls mkdir nslookup sleep test true false wget" a sl=()
	for a in $applets; do sl+=(--symlink "bin/$a:busybox"); done
	build_image testapp "$TESTAPP_TAG" --deb-file busybox-static:/bin/busybox:bin/busybox "${sl[@]}" \
		--text "www/index.html:cflux test app" --dir tmp \
		--cmd '["/bin/httpd","-f","-p","8080","-h","/www"]' --user 65534:65534
	build_image coredns "$COREDNS_VERSION" --file "$COREDNS:coredns:755" --entrypoint '["/coredns"]' --user 65534:65534
	local i
	for i in "pause-$PAUSE_TAG" "testapp-$TESTAPP_TAG" "coredns-$COREDNS_VERSION"; do
		ctr --address "$CONTAINERD_SOCK" -n k8s.io images import "$IMG_CACHE/$i.tar" >/dev/null ||
			die "ctr images import $i failed"
	done
}

# ---------------------------------------------------------------- up
kubeconfig_cert() { # FILE NAME: a kubeconfig with the client cert NAME
	cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: cflux-test
  cluster: {server: '$APISERVER_URL', certificate-authority: '$PKI/ca.crt'}
users:
- name: $2
  user: {client-certificate: '$PKI/$2.crt', client-key: '$PKI/$2.key'}
contexts:
- name: default
  context: {cluster: cflux-test, user: $2}
current-context: default
EOF
}

up() {
	[ -f "$ND/node.env" ] || die "$ND/node.env missing: node.sh prepare first"
	. "$ND/node.env"
	. "$D/env"
	holder_pid >/dev/null || die "the node's namespace holder is gone"
	for b in "$KUBELET" "$KUBE_PROXY" "$COREDNS"; do
		[ -x "$b" ] || die "$b is missing: run 'bash test/cluster/build.sh core'"
	done
	local K="$KUBECTL --kubeconfig=$D/kubeconfig"

	# ---- containerd
	cat >"$ND/containerd.toml" <<EOF
version = 2
root = "$ND/containerd"
state = "/run/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$CONTAINERD_SOCK"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "cflux.local/pause:$PAUSE_TAG"
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$ND/cni"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$ND/certs.d"
[plugins."io.containerd.internal.v1.opt"]
  path = "$ND/containerd/opt"
EOF
	cat >"$ND/cni/10-cflux.conflist" <<EOF
{"cniVersion": "0.4.0", "name": "cflux", "plugins": [
  {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$POD_CIDR"}]],
            "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "/run/cni-ipam"}}
]}
EOF
	start_node_proc containerd "$(command -v containerd)" --config "$ND/containerd.toml"
	ctr_ok() { ctr --address "$CONTAINERD_SOCK" version; }
	wait_until 30 "containerd" "$ND/containerd.pid" ctr_ok || { tail_log "$ND/containerd.log"; die "containerd did not start"; }
	# The test registry, over plain HTTP (servers.sh writes its address later: see registry_hosts).
	images

	# ---- kubelet
	kubeconfig_cert "$ND/kubeconfig-kubelet" kubelet
	kubeconfig_cert "$ND/kubeconfig-proxy" kube-proxy
	printf 'options ndots:1\n' >"$ND/resolv.conf"
	cat >"$ND/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: '$PKI/ca.crt'}
authorization: {mode: Webhook}
address: '$NODE_IP'
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
tlsCertFile: '$PKI/kubelet-serving.crt'
tlsPrivateKeyFile: '$PKI/kubelet-serving.key'
containerRuntimeEndpoint: 'unix://$CONTAINERD_SOCK'
cgroupDriver: cgroupfs
cgroupRoot: '/$NODE_CGROUP'
failCgroupV1: false
failSwapOn: false
oomScoreAdj: 0
clusterDNS: ['$CLUSTER_DNS']
clusterDomain: cluster.local
resolvConf: '$ND/resolv.conf'
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
rotateCertificates: false
nodeStatusReportFrequency: 10s
# A container killed again and again waits at most 10 s for its restart
# (KubeletCrashLoopBackOffMax, beta and on in 1.35; the default grows to
# 5 min): make chaos SIGKILLs the operator 20 times in a row.
crashLoopBackOff: {maxContainerRestartPeriod: 10s}
EOF
	start_node_proc kubelet "$KUBELET" --config="$ND/kubelet.yaml" --kubeconfig="$ND/kubeconfig-kubelet" \
		--hostname-override="$NODE_NAME" --node-ip="$NODE_IP" --v=1
	# ---- kube-proxy
	cat >"$ND/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: nftables
clientConnection: {kubeconfig: '$ND/kubeconfig-proxy'}
hostnameOverride: '$NODE_NAME'
clusterCIDR: '$POD_CIDR'
bindAddress: '$NODE_IP'
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
nftables: {masqueradeAll: true}
EOF
	start_node_proc kube-proxy "$KUBE_PROXY" --config="$ND/kube-proxy.yaml" --v=1

	node_ready() { [ "$($K get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
	wait_until 60 "node $NODE_NAME Ready" "$ND/kubelet.pid" node_ready ||
		{ tail_log "$ND/kubelet.log"; die "the node did not become Ready"; }

	# ---- CoreDNS
	sed -e "s|@CLUSTER_DNS@|$CLUSTER_DNS|" -e "s|@COREDNS_VERSION@|$COREDNS_VERSION|" \
		"$CLUSTER_SCRIPTS/coredns.yaml" | $K apply -f - >/dev/null || die "could not apply CoreDNS"
	dns_ready() { [ "$($K -n kube-system get deploy coredns -o jsonpath='{.status.availableReplicas}')" = 1 ]; }
	wait_until 90 "CoreDNS available" "$ND/kubelet.pid" dns_ready ||
		{ $K -n kube-system get pods -o wide >&2; tail_log "$ND/kubelet.log"; die "CoreDNS did not become available"; }
	log "node $NODE_NAME Ready (cluster DNS $CLUSTER_DNS)"
}

# registry_hosts HOST:PORT: containerd pulls from this registry over plain HTTP.
registry_hosts() {
	[ -f "$ND/node.env" ] || return 0
	mkdir -p "$ND/certs.d/$1"
	printf 'server = "http://%s"\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' "$1" "$1" \
		>"$ND/certs.d/$1/hosts.toml"
}

# ---------------------------------------------------------------- down
cgroup_pids() {
	local f
	[ -n "${NODE_CGROUP:-}" ] || return 0
	for f in $(find "$CG"/*/"$NODE_CGROUP" -name cgroup.procs 2>/dev/null); do cat "$f"; done | sort -u
}

down() {
	[ -d "$ND" ] || return 0
	if [ ! -f "$ND/node.env" ]; then
		rm -rf "$ND"
		return 0
	fi
	. "$ND/node.env"
	stop_proc kubelet "$ND/kubelet.pid"
	stop_proc kube-proxy "$ND/kube-proxy.pid"
	# Everything else of the node: containers, shims, containerd, the holder.
	local i p
	for i in $(seq 1 50); do
		p=$(cgroup_pids)
		[ -z "$p" ] && break
		# shellcheck disable=SC2086
		kill -KILL $p 2>/dev/null || true
		sleep 0.1
	done
	[ -z "$(cgroup_pids)" ] || log "processes left in $NODE_CGROUP: $(cgroup_pids | tr '\n' ' ')"
	# The namespaces die with their last process; their veth pair with them.
	for i in $(seq 1 50); do
		ip link show "$NODE_VETH" >/dev/null 2>&1 || break
		sleep 0.1
	done
	ip link show "$NODE_VETH" >/dev/null 2>&1 && { log "veth $NODE_VETH still there: deleting it"; ip link del "$NODE_VETH" || true; }
	local h d
	for h in $(hierarchies); do
		[ -d "$h/$NODE_CGROUP" ] || continue
		for d in $(find "$h/$NODE_CGROUP" -depth -type d); do
			rmdir "$d" 2>/dev/null || sleep 0.2
			[ -d "$d" ] && { rmdir "$d" 2>/dev/null || log "cannot remove cgroup $d"; }
		done
	done
	rm -rf "$ND"
	log "node $NODE_NAME down (index $NODE_INDEX)"
}

status() {
	[ -f "$ND/node.env" ] || { echo "node: not prepared"; return 1; }
	. "$ND/node.env"
	local n rc=0
	for n in holder containerd kubelet kube-proxy; do
		if proc_alive "$ND/$n.pid"; then echo "$n: running (pid $(proc_pid "$ND/$n.pid"))"; else echo "$n: stopped"; rc=1; fi
	done
	return $rc
}

case "${1:-}" in
prepare) prepare ;;
up) up ;;
down) down ;;
status) status ;;
registry) registry_hosts "${2:?registry HOST:PORT}" ;;
*) die "usage: node.sh prepare|up|down|status|registry HOST:PORT" ;;
esac
