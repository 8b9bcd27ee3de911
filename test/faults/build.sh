#!/bin/sh
# build.sh: build the fault proxy into the test-binary cache if missing; print its path.
exec sh "$(dirname "$0")/../tools/gobuild.sh" "$(dirname "$0")" faultproxy
