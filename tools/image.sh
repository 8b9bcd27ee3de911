#!/bin/bash
# image.sh: `make image` — the cflux-operator OCI image (tools/image.py,
# from Debian packages, no Docker daemon) in build/image/cflux-operator/,
# pushed to the local registry when test/cluster/servers.sh runs one.
#
#   VERSION=... BIN=bin bash tools/image.sh
#
# Writes build/image/cflux-operator.env: CFLUX_IMAGE_REPOSITORY,
# CFLUX_IMAGE_TAG, CFLUX_IMAGE_DIGEST (what `helm install` is given), and
# prints the digest.  Two runs on one tree print the same digest.
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
BIN=${BIN:-bin}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo 0.0.0)}
OUT=$repo/build/image
CD=${CFLUX_CLUSTER_DIR:-$repo/build/cluster}
mkdir -p "$OUT"
t0=$(date +%s.%N)
digest=$(python3 tools/image.py operator "$BIN/cflux-operator" "$OUT/cflux-operator" --version "$VERSION")
t1=$(date +%s.%N)
echo "image: cflux-operator $digest ($(python3 -c "print('%.1f' % ($t1 - $t0))") s)" >&2
repository=ghcr.io/cflux/cflux-operator
if [ -f "$CD/servers.env" ]; then
	# shellcheck disable=SC1091
	. "$CD/servers.env"
	repository=$REGISTRY_HOST/cflux-operator
	python3 tools/image.py push "$OUT/cflux-operator" "$repository:$VERSION" >/dev/null
	echo "image: pushed $repository:$VERSION" >&2
else
	echo "image: no local registry ($CD/servers.env missing): not pushed (make cluster-up first)" >&2
fi
cat >"$OUT/cflux-operator.env" <<EOT
export CFLUX_IMAGE_REPOSITORY='$repository'
export CFLUX_IMAGE_TAG='$VERSION'
export CFLUX_IMAGE_DIGEST='$digest'
EOT
echo "$digest"
