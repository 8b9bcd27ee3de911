#!/bin/sh
# build.sh: build the regexp oracle into the test-binary cache if missing; print its path.
exec sh "$(dirname "$0")/../gobuild.sh" "$(dirname "$0")" regexoracle
