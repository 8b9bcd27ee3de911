#!/bin/bash
# up.sh: start a local Kubernetes control plane for tests: etcd +
# kube-apiserver + kube-controller-manager on 127.0.0.1, free ports, binaries
# from the build.sh cache (run `bash test/cluster/build.sh core` first).
#
#   bash test/cluster/up.sh          (make cluster-up)   stop: test/cluster/down.sh
#
# State dir: $CFLUX_CLUSTER_DIR (default <repo>/build/cluster); etcd data on
# /dev/shm (--unsafe-no-fsync).  Generates its own CA, serving cert
# (127.0.0.1/localhost), service-account key pair and bearer tokens
# (--token-auth-file):
#   admin                 group system:masters          -> kubeconfig (current context)
#   cflux-operator        cluster-admin (ClusterRoleBinding cflux-test-cluster-admin)
#                                                       -> kubeconfig-operator
#   source-controller, kustomize-controller, helm-controller
#                         cluster-admin (same binding)  -> kubeconfig-<name>
#   system:kube-controller-manager  group system:masters (used by kube-controller-manager)
# Audit log (Metadata level, every request): $CFLUX_CLUSTER_DIR/audit.log.
# A node (node.sh: kubelet, kube-proxy, containerd, CoreDNS, in namespaces
# of its own) and kube-scheduler come with it unless CFLUX_NODE=0; then the
# apiserver and the test servers listen on the host end of the node's veth
# pair (HOST_ADDR, 10.222.N.1), which pods reach too, the apiserver runs
# with --authorization-mode=Node,RBAC and NodeRestriction, and the kubelet
# is system:node:cflux-node.  Without a node everything is on 127.0.0.1.
# CFLUX_KCM_QPS raises kube-controller-manager's client rate limit (20
# requests a second by default, which `make bench` would measure instead
# of the controllers under test).
# Writes $CFLUX_CLUSTER_DIR/env (shell-sourceable: KUBECONFIG, APISERVER_URL,
# CLUSTER_CA, *_TOKEN, ports, pids).  Running it again while the cluster is
# up and ready is a no-op.
set -eu
. "$(dirname "$0")/lib.sh"
. "$CLUSTER_SCRIPTS/env.sh"

D=$(cluster_dir)
PKI=$D/pki

# ---------------------------------------------------------------- already up?
if [ -f "$D/env" ] && proc_alive "$D/etcd.pid" && proc_alive "$D/kube-apiserver.pid" &&
	proc_alive "$D/kube-controller-manager.pid"; then
	# shellcheck disable=SC1091
	. "$D/env"
	if curl -fsS --max-time 5 --cacert "$CLUSTER_CA" "$APISERVER_URL/readyz" >/dev/null 2>&1; then
		log "cluster already up and ready at $APISERVER_URL (state $D)"
		exit 0
	fi
fi
# Anything left over from an earlier, partial run: stop it by pid first.
for p in kube-scheduler kube-controller-manager kube-apiserver etcd; do
	[ -f "$D/$p.pid" ] && log "leftover $p.pid: cleaning up with down.sh"
done
if ls "$D"/*.pid >/dev/null 2>&1 || [ -f "$D/etcd-data.path" ] || [ -d "$D/node" ]; then
	CFLUX_CLUSTER_DIR=$D bash "$CLUSTER_SCRIPTS/down.sh"
fi

for b in "$ETCD" "$KUBE_APISERVER" "$KUBE_CONTROLLER_MANAGER" "$KUBECTL"; do
	[ -x "$b" ] || die "$b is missing: run 'bash test/cluster/build.sh core' (or make testbin)"
done
command -v openssl >/dev/null || die "openssl not found"
command -v curl >/dev/null || die "curl not found"

# From here on, a failure (or ^C) stops whatever this run started.
up_done=0
trap 'exit 130' INT TERM
trap '[ "$up_done" = 1 ] || { log "failed: stopping what was started (logs kept in $D)"; CFLUX_CLUSTER_DIR=$D bash "$CLUSTER_SCRIPTS/down.sh"; }' EXIT

t_start=$(date +%s.%N)
rm -f "$D"/*.log "$D/env" "$D"/kubeconfig*
mkdir -p "$PKI"
chmod 700 "$PKI"

# ---------------------------------------------------------------- PKI
gen_ca() {
	openssl genrsa -out "$PKI/ca.key" 2048 2>/dev/null
	openssl req -x509 -new -key "$PKI/ca.key" -sha256 -days 3650 -subj "/CN=cflux-test-cluster-ca" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
		-out "$PKI/ca.crt" 2>/dev/null
}
gen_ca

# ---------------------------------------------------------------- node network
# The node's namespaces and addresses come first: the apiserver listens
# where pods can reach it.
if [ "${CFLUX_NODE:-1}" != 0 ]; then
	bash "$CLUSTER_SCRIPTS/node.sh" prepare || die "the node could not be prepared"
	# shellcheck disable=SC1091
	. "$D/node/node.env"
else
	HOST_ADDR=127.0.0.1 SERVICE_CIDR=10.0.0.0/16 KUBERNETES_SVC_IP=10.0.0.1
fi

gen_pki() {
	openssl genrsa -out "$PKI/apiserver.key" 2048 2>/dev/null
	openssl req -new -key "$PKI/apiserver.key" -subj "/CN=kube-apiserver" -out "$PKI/apiserver.csr" 2>/dev/null
	cat >"$PKI/apiserver.ext" <<EOF
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:$HOST_ADDR,IP:$KUBERNETES_SVC_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
EOF
	openssl x509 -req -in "$PKI/apiserver.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
		-days 3650 -sha256 -extfile "$PKI/apiserver.ext" -out "$PKI/apiserver.crt" 2>/dev/null
	openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
	openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
	rm -f "$PKI/apiserver.csr" "$PKI/ca.srl"
}
gen_pki

# ---------------------------------------------------------------- tokens
tok() { openssl rand -hex 24; }
ADMIN_TOKEN=$(tok)
OPERATOR_TOKEN=$(tok)
SOURCE_CONTROLLER_TOKEN=$(tok)
KUSTOMIZE_CONTROLLER_TOKEN=$(tok)
HELM_CONTROLLER_TOKEN=$(tok)
KCM_TOKEN=$(tok)
cat >"$PKI/tokens.csv" <<EOF
$ADMIN_TOKEN,admin,uid-admin,"system:masters"
$OPERATOR_TOKEN,cflux-operator,uid-cflux-operator
$SOURCE_CONTROLLER_TOKEN,source-controller,uid-source-controller
$KUSTOMIZE_CONTROLLER_TOKEN,kustomize-controller,uid-kustomize-controller
$HELM_CONTROLLER_TOKEN,helm-controller,uid-helm-controller
$KCM_TOKEN,system:kube-controller-manager,uid-kube-controller-manager,"system:masters"
EOF
chmod 600 "$PKI/tokens.csv"

cat >"$D/audit-policy.yaml" <<'EOF'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
EOF

# ---------------------------------------------------------------- ports
read -r ETCD_PORT ETCD_PEER_PORT APISERVER_PORT <<<"$(free_ports 3)"
APISERVER_URL=https://$HOST_ADDR:$APISERVER_PORT
ETCD_URL=http://127.0.0.1:$ETCD_PORT

# kubeconfig FILE USER TOKEN
kubeconfig() {
	local cadata
	cadata=$(base64 -w0 <"$PKI/ca.crt")
	umask 077
	cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: cflux-test
  cluster:
    server: $APISERVER_URL
    certificate-authority-data: $cadata
users:
- name: $2
  user:
    token: $3
contexts:
- name: $2@cflux-test
  context:
    cluster: cflux-test
    user: $2
    namespace: default
current-context: $2@cflux-test
EOF
	umask 022
}
kubeconfig "$D/kubeconfig" admin "$ADMIN_TOKEN"
kubeconfig "$D/kubeconfig-operator" cflux-operator "$OPERATOR_TOKEN"
kubeconfig "$D/kubeconfig-source-controller" source-controller "$SOURCE_CONTROLLER_TOKEN"
kubeconfig "$D/kubeconfig-kustomize-controller" kustomize-controller "$KUSTOMIZE_CONTROLLER_TOKEN"
kubeconfig "$D/kubeconfig-helm-controller" helm-controller "$HELM_CONTROLLER_TOKEN"
kubeconfig "$PKI/kubeconfig-kcm" system:kube-controller-manager "$KCM_TOKEN"

# ---------------------------------------------------------------- etcd
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	ETCD_DATA=$(mktemp -d /dev/shm/cflux-etcd.XXXXXX)
else
	ETCD_DATA=$D/etcd-data
	mkdir -p "$ETCD_DATA"
fi
echo "$ETCD_DATA" >"$D/etcd-data.path"
# etcd reads ETCD_* variables as flags and refuses ones a flag shadows: a
# shell that sourced an env file of ours has ETCD_DATA_DIR and the like.
for v in $(compgen -e | grep '^ETCD_'); do unset "$v"; done
start_proc etcd "$D/etcd.pid" "$D/etcd.log" "$ETCD" \
	--name=cflux --data-dir="$ETCD_DATA/member-data" \
	--listen-client-urls="$ETCD_URL" --advertise-client-urls="$ETCD_URL" \
	--listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
	--initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
	--initial-cluster="cflux=http://127.0.0.1:$ETCD_PEER_PORT" \
	--unsafe-no-fsync=true --log-level=warn
etcd_ok() { curl -fsS --max-time 2 "$ETCD_URL/health" | grep -q '"health":"true"'; }
wait_until 30 "etcd" "$D/etcd.pid" etcd_ok || { tail_log "$D/etcd.log"; die "etcd did not become healthy"; }

# ---------------------------------------------------------------- kube-apiserver
if [ -n "${NODE_NAME:-}" ]; then
	# A real node: its own identity (Node authorizer, NodeRestriction), pods
	# with service-account tokens, and kubectl logs/exec through the kubelet.
	node_flags=(--authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction
		--kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt"
		--kubelet-client-key="$PKI/apiserver-kubelet-client.key"
		--kubelet-certificate-authority="$PKI/ca.crt"
		--kubelet-preferred-address-types=InternalIP,Hostname)
else
	node_flags=(--authorization-mode=RBAC --disable-admission-plugins=ServiceAccount)
fi
start_proc kube-apiserver "$D/kube-apiserver.pid" "$D/kube-apiserver.log" "$KUBE_APISERVER" \
	--etcd-servers="$ETCD_URL" \
	--bind-address="$HOST_ADDR" --advertise-address="$HOST_ADDR" --secure-port="$APISERVER_PORT" \
	--cert-dir="$PKI" --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
	--client-ca-file="$PKI/ca.crt" --token-auth-file="$PKI/tokens.csv" \
	"${node_flags[@]}" \
	--service-cluster-ip-range="$SERVICE_CIDR" --allow-privileged=true \
	--service-account-issuer="$APISERVER_URL/" \
	--service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
	--audit-policy-file="$D/audit-policy.yaml" --audit-log-path="$D/audit.log" \
	--audit-log-maxsize=0 --audit-log-maxbackup=0 \
	--profiling=false
readyz() { curl -fsS --max-time 2 --cacert "$PKI/ca.crt" "$APISERVER_URL/readyz" | grep -qx ok; }
wait_until 60 "kube-apiserver /readyz" "$D/kube-apiserver.pid" readyz ||
	{ tail_log "$D/kube-apiserver.log"; die "kube-apiserver did not become ready"; }

# ---------------------------------------------------------------- kube-controller-manager
start_proc kube-controller-manager "$D/kube-controller-manager.pid" "$D/kube-controller-manager.log" \
	"$KUBE_CONTROLLER_MANAGER" \
	--kubeconfig="$PKI/kubeconfig-kcm" --authentication-kubeconfig="$PKI/kubeconfig-kcm" \
	--authorization-kubeconfig="$PKI/kubeconfig-kcm" \
	--service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
	--cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
	--bind-address=127.0.0.1 --secure-port=0 --leader-elect=false \
	--controllers='*,-serviceaccount-token' --cluster-name=cflux-test \
	${CFLUX_KCM_QPS:+--kube-api-qps="$CFLUX_KCM_QPS" --kube-api-burst="$((2 * CFLUX_KCM_QPS))"}

# ---------------------------------------------------------------- RBAC for the test users
K() { "$KUBECTL" --kubeconfig="$D/kubeconfig" "$@"; }
K apply -f - >/dev/null <<'EOF' || die "could not create the cluster-admin binding"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: cflux-test-cluster-admin
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: cflux-operator}
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: source-controller}
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: kustomize-controller}
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: helm-controller}
EOF

# kube-controller-manager is working once it created the default ServiceAccount.
sa_ok() { K get serviceaccount default -n default; }
wait_until 60 "kube-controller-manager (default ServiceAccount)" "$D/kube-controller-manager.pid" sa_ok ||
	{ tail_log "$D/kube-controller-manager.log"; die "kube-controller-manager is not working"; }

# ---------------------------------------------------------------- kube-scheduler
if [ -n "${NODE_NAME:-}" ]; then
	cat >"$PKI/kubeconfig-scheduler" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: cflux-test
  cluster: {server: '$APISERVER_URL', certificate-authority: '$PKI/ca.crt'}
users:
- name: kube-scheduler
  user: {client-certificate: '$PKI/kube-scheduler.crt', client-key: '$PKI/kube-scheduler.key'}
contexts:
- name: default
  context: {cluster: cflux-test, user: kube-scheduler}
current-context: default
EOF
	start_proc kube-scheduler "$D/kube-scheduler.pid" "$D/kube-scheduler.log" "$KUBE_SCHEDULER" \
		--kubeconfig="$PKI/kubeconfig-scheduler" --authentication-kubeconfig="$PKI/kubeconfig-scheduler" \
		--authorization-kubeconfig="$PKI/kubeconfig-scheduler" --secure-port=0 --leader-elect=false
fi

# ---------------------------------------------------------------- env
cat >"$D/env" <<EOF
# Generated by test/cluster/up.sh; source it (sh/bash).
export CFLUX_CLUSTER_DIR='$D'
export CFLUX_TESTBIN='$CFLUX_TESTBIN'
export KUBECONFIG='$D/kubeconfig'
export OPERATOR_KUBECONFIG='$D/kubeconfig-operator'
export SOURCE_CONTROLLER_KUBECONFIG='$D/kubeconfig-source-controller'
export KUSTOMIZE_CONTROLLER_KUBECONFIG='$D/kubeconfig-kustomize-controller'
export HELM_CONTROLLER_KUBECONFIG='$D/kubeconfig-helm-controller'
export APISERVER_URL='$APISERVER_URL'
export APISERVER_PORT='$APISERVER_PORT'
export CLUSTER_CA='$PKI/ca.crt'
export ADMIN_TOKEN='$ADMIN_TOKEN'
export OPERATOR_TOKEN='$OPERATOR_TOKEN'
export SOURCE_CONTROLLER_TOKEN='$SOURCE_CONTROLLER_TOKEN'
export KUSTOMIZE_CONTROLLER_TOKEN='$KUSTOMIZE_CONTROLLER_TOKEN'
export HELM_CONTROLLER_TOKEN='$HELM_CONTROLLER_TOKEN'
export SA_SIGNING_KEY='$PKI/sa.key'
export AUDIT_LOG='$D/audit.log'
export ETCD_URL='$ETCD_URL'
export ETCD_PORT='$ETCD_PORT'
export ETCD_PEER_PORT='$ETCD_PEER_PORT'
export ETCD_DATA_DIR='$ETCD_DATA'
export ETCD_PID='$(proc_pid "$D/etcd.pid")'
export APISERVER_PID='$(proc_pid "$D/kube-apiserver.pid")'
export KCM_PID='$(proc_pid "$D/kube-controller-manager.pid")'
export KUBECTL='$KUBECTL'
export ETCDCTL='$ETCDCTL'
case "\$PATH:" in '${KUBECTL%/*}:'*) ;; *) export PATH='${KUBECTL%/*}':\$PATH ;; esac
EOF
if [ -n "${NODE_NAME:-}" ]; then
	cat "$D/node/node.env" >>"$D/env"
	echo "export KUBE_SCHEDULER_PID='$(proc_pid "$D/kube-scheduler.pid")'" >>"$D/env"
	bash "$CLUSTER_SCRIPTS/node.sh" up || die "the node did not come up"
else
	echo "export HOST_ADDR='127.0.0.1'" >>"$D/env"
fi
up_done=1
log "cluster up at $APISERVER_URL in $(python3 -c "print('%.1f' % ($(date +%s.%N) - $t_start))") s"
log "use: export KUBECONFIG=$D/kubeconfig   (or: . $D/env)"
