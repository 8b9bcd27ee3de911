#!/bin/sh
# build.sh: build the Go oracle into the test-binary cache if missing; print its path.
exec sh "$(dirname "$0")/../gobuild.sh" "$(dirname "$0")" gooracle
