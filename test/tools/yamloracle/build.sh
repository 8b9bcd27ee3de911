#!/bin/sh
# build.sh: build the YAML oracle into the test-binary cache (never into
# the tree) if it is missing, and print its path.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
sum=$(cat "$here/main.go" "$here/go.mod" | sha256sum | cut -c1-12)
dir=${CFLUX_TESTBIN:-$HOME/.cache/cflux/testbin}/yamloracle-$sum
if [ ! -x "$dir/yamloracle" ]; then
	mkdir -p "$dir"
	(cd "$here" && GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0 \
		go build -trimpath -o "$dir/yamloracle.tmp.$$" . >&2)
	mv "$dir/yamloracle.tmp.$$" "$dir/yamloracle"
fi
echo "$dir/yamloracle"
