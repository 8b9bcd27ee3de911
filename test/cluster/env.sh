# env.sh: source this (POSIX sh / bash) to get the paths of the test binaries
# built by test/cluster/build.sh, with the cached kubectl FIRST on PATH.
#
#   . test/cluster/env.sh        (bash: works from any directory;
#                                 plain sh: set CFLUX_REPO or run from the repo root)
#
# Sets CFLUX_TESTBIN (default $HOME/.cache/cflux/testbin) and, for each binary,
# a variable holding its path (whether or not it is built yet):
#   KUBE_APISERVER KUBE_CONTROLLER_MANAGER KUBECTL ETCD ETCDCTL KUSTOMIZE HELM
#   KUBE_SCHEDULER KUBELET KUBE_PROXY COREDNS
#   SOURCE_CONTROLLER KUSTOMIZE_CONTROLLER HELM_CONTROLLER
#   SOURCE_CONTROLLER_CRDS KUSTOMIZE_CONTROLLER_CRDS HELM_CONTROLLER_CRDS
# and the pinned versions of test/cluster/versions.sh.

if [ -n "${BASH_SOURCE:-}" ]; then
	CFLUX_CLUSTER_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
elif [ -n "${CFLUX_REPO:-}" ]; then
	CFLUX_CLUSTER_SCRIPTS=$CFLUX_REPO/test/cluster
else
	CFLUX_CLUSTER_SCRIPTS=$(pwd)/test/cluster
fi
. "$CFLUX_CLUSTER_SCRIPTS/versions.sh"

CFLUX_TESTBIN=${CFLUX_TESTBIN:-$HOME/.cache/cflux/testbin}
export CFLUX_TESTBIN

KUBE_BIN_DIR=$CFLUX_TESTBIN/kubernetes-$K8S_VERSION
KUBE_APISERVER=$KUBE_BIN_DIR/kube-apiserver
KUBE_CONTROLLER_MANAGER=$KUBE_BIN_DIR/kube-controller-manager
KUBECTL=$KUBE_BIN_DIR/kubectl
KUBE_SCHEDULER=$KUBE_BIN_DIR/kube-scheduler
KUBELET=$KUBE_BIN_DIR/kubelet
KUBE_PROXY=$KUBE_BIN_DIR/kube-proxy
COREDNS=$CFLUX_TESTBIN/coredns-$COREDNS_VERSION/coredns
ETCD=$CFLUX_TESTBIN/etcd-$ETCD_VERSION/etcd
ETCDCTL=$CFLUX_TESTBIN/etcd-$ETCD_VERSION/etcdctl
KUSTOMIZE=$CFLUX_TESTBIN/kustomize-$KUSTOMIZE_VERSION/kustomize
HELM=$CFLUX_TESTBIN/helm-$HELM_VERSION/helm
SOURCE_CONTROLLER=$CFLUX_TESTBIN/source-controller-$SOURCE_CONTROLLER_VERSION/source-controller
KUSTOMIZE_CONTROLLER=$CFLUX_TESTBIN/kustomize-controller-$KUSTOMIZE_CONTROLLER_VERSION/kustomize-controller
HELM_CONTROLLER=$CFLUX_TESTBIN/helm-controller-$HELM_CONTROLLER_VERSION/helm-controller
SOURCE_CONTROLLER_CRDS=${SOURCE_CONTROLLER%/*}/crds
KUSTOMIZE_CONTROLLER_CRDS=${KUSTOMIZE_CONTROLLER%/*}/crds
HELM_CONTROLLER_CRDS=${HELM_CONTROLLER%/*}/crds
export KUBE_APISERVER KUBE_CONTROLLER_MANAGER KUBECTL ETCD ETCDCTL KUSTOMIZE HELM \
	KUBE_SCHEDULER KUBELET KUBE_PROXY COREDNS \
	SOURCE_CONTROLLER KUSTOMIZE_CONTROLLER HELM_CONTROLLER \
	SOURCE_CONTROLLER_CRDS KUSTOMIZE_CONTROLLER_CRDS HELM_CONTROLLER_CRDS

# Cached kubectl (and the other tools) first on PATH, once.
case "$PATH:" in
"$KUBE_BIN_DIR:"*) ;;
*) PATH=$KUBE_BIN_DIR:${ETCD%/*}:${KUSTOMIZE%/*}:${HELM%/*}:$PATH ;;
esac
export PATH
