#!/bin/sh
# deps.sh: install what cflux needs to build and test on Debian bookworm.
#
# Idempotent: a machine that already has everything returns at once without
# touching apt.  Run as root (or with sudo available).  The product links
# only Debian's C libraries; the test tools (kube-apiserver, etcd, ...) are
# built from Go modules by test/cluster/build.sh into a cache outside the tree.
#
# libgit2 comes from bookworm-backports (1.8): 1.5 has neither shallow fetch
# nor network timeouts.
set -eu

# openssh-client and gpgv are the product's too: SSH sources run `ssh`
# (lib/source/git.h), signature checks run gpgv and ssh-keygen
# (lib/source/sigverify.h).  gnupg (gpg) only signs the tests' commits.
PKGS_BUILD="build-essential pkg-config libuv1-dev libcurl4-openssl-dev libcjson-dev
 libyaml-dev libarchive-dev zlib1g-dev libmbedtls-dev libcrypt-dev libexpat1-dev openssh-client gpgv"
PKGS_BACKPORTS="libgit2-dev"
PKGS_TEST="git gnupg openssl curl python3 openssh-server lighttpd tinyproxy
 docker-registry apache2-utils clang llvm procps iproute2 lighttpd-mod-openssl time
 libclang-rt-14-dev python3-jwt python3-cryptography"
# The local node (test/cluster/node.sh): container runtime, CNI plugins,
# what kubelet and kube-proxy call, the test app's busybox; util-linux gives
# unshare and nsenter, binutils strip (tools/image.py).
PKGS_NODE="containerd runc containernetworking-plugins iptables nftables conntrack socat
 busybox-static util-linux binutils"

missing=""
for p in $PKGS_BUILD $PKGS_BACKPORTS $PKGS_TEST $PKGS_NODE; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
		missing="$missing $p"
done
gitver=$(pkg-config --modversion libgit2 2>/dev/null || echo 0)
case "$gitver" in
1.[89]* | 1.[1-9][0-9]* | [2-9]*) ;;
*) missing="$missing libgit2-dev(>=1.8)" ;;
esac
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing" >&2
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	echo "deps: adding the bookworm-backports source" >&2
	printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' \
		'Suites: bookworm-backports' 'Components: main' \
		'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' |
		$SUDO tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null
fi
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $PKGS_BUILD $PKGS_TEST $PKGS_NODE >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports $PKGS_BACKPORTS >/dev/null
# The Debian packages enable and start services we start ourselves on free
# ports; stop them so they hold no well-known port (no-ops without systemd).
for s in lighttpd docker-registry ssh containerd; do
	$SUDO service "$s" stop >/dev/null 2>&1 || true
done
echo "deps: libgit2 $(pkg-config --modversion libgit2)" >&2
