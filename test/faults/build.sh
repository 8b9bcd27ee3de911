#!/bin/sh
# build.sh: build the fault-injecting proxy into the test-binary cache (never
# into the tree) if it is missing, and print its path.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
sum=$(cat "$here/main.go" "$here/go.mod" | sha256sum | cut -c1-12)
dir=${CFLUX_TESTBIN:-$HOME/.cache/cflux/testbin}/faultproxy-$sum
if [ ! -x "$dir/faultproxy" ]; then
	mkdir -p "$dir"
	(cd "$here" && GOTOOLCHAIN=local CGO_ENABLED=0 go build -trimpath -o "$dir/faultproxy.tmp.$$" . >&2)
	mv "$dir/faultproxy.tmp.$$" "$dir/faultproxy"
fi
echo "$dir/faultproxy"
