#!/bin/sh
# gobuild.sh DIR NAME: build the Go test tool in DIR (a module under test/)
# into the test-binary cache as NAME, keyed by a hash of its sources, only
# when missing; print the binary's path.  Never writes into the tree
# except go.sum.  Test tools only: Go never builds the product.
set -eu
dir=$(cd "$1" && pwd)
name=$2
sum=$(cat "$dir"/*.go "$dir/go.mod" | sha256sum | cut -c1-12)
out=${CFLUX_TESTBIN:-$HOME/.cache/cflux/testbin}/$name-$sum
if [ ! -x "$out/$name" ]; then
	mkdir -p "$out"
	(cd "$dir" && GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0 \
		go build -trimpath -o "$out/$name.tmp.$$" . >&2)
	mv "$out/$name.tmp.$$" "$out/$name"
fi
echo "$out/$name"
