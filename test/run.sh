#!/usr/bin/env bash
# run.sh: the test runner behind `make test` (all) and `make unit` (unit).
#
# Runs every test program, echoes its TAP lines, and counts "ok" and
# "not ok" lines across all of them into the single closing line
# "N passed, N failed".  A program that exits non-zero without printing a
# "not ok" line (it crashed before its first test, say) counts as one
# failure, so nothing can fail silently.
#
#   unit   test/unit binaries, fuzz-corpus replays
#   all    unit, then the integration suite: brings the local control plane
#          and source servers up (test/cluster/), runs test/integration
#          binaries and test/e2e/*.sh against them, and always takes
#          everything down again, also when a test fails or on Ctrl-C.
#
# Every program runs under a timeout (TEST_TIMEOUT seconds, default 900:
# the slowest e2e scenario takes about 5 minutes on a 2-core machine); one
# that hangs is killed (SIGTERM, then SIGKILL 10 s later, its whole process
# group) and counts as a failure that names it, instead of hanging CI.
#
# Environment: BUILD (build directory, from make), BIN (binaries),
# TEST_FILTER (only programs whose name contains it), TEST_TIMEOUT.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/default}
BIN=${BIN:-bin}
mode=${1:-all}
passed=0
failed=0
export CFLUX_TESTDATA=$PWD/test/data BUILD BIN
# Leaks inside system libraries (libssh2) are not ours to fix; see the file.
export LSAN_OPTIONS=suppressions=$PWD/test/lsan.supp:print_suppressions=0

run_prog() { # name, command...
	local name=$1 out rc p f
	shift
	if [ -n "${TEST_FILTER:-}" ] && [[ $name != *"$TEST_FILTER"* ]]; then
		return 0
	fi
	echo "# $name"
	out=$(timeout --kill-after=10 "${TEST_TIMEOUT:-900}" "$@" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	p=$(grep -cE '^ok ' <<<"$out")
	f=$(grep -cE '^not ok ' <<<"$out")
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		echo "not ok - $name timed out after ${TEST_TIMEOUT:-900}s"
		f=$((f + 1))
	elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $name exited with status $rc"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
}

run_unit() {
	local t name
	for t in "$BUILD"/test/test_*; do
		[ -x "$t" ] || continue
		run_prog "unit/${t##*/}" "$t"
	done
	for t in "$BUILD"/test/replay_*; do
		[ -x "$t" ] || continue
		name=${t##*/replay_}
		run_prog "fuzz-replay/$name" "$t" "test/fuzz/corpus/$name"
	done
	run_prog "lint" bash -c 'tools/lint.sh && echo "ok 1 - lint: banned functions, foreign includes"'
	for t in test/unit/*.sh; do
		[ -f "$t" ] || continue
		run_prog "unit/${t##*/}" bash "$t"
	done
}

# A control plane that was already up when the run started belongs to
# the developer (make cluster-up): use it and leave it running.
cluster_was_up() {
	local d=${CFLUX_CLUSTER_DIR:-build/cluster}
	[ -f "$d/env" ] && [ -f "$d/servers.env" ] || return 1
	(
		. "$d/env" >/dev/null 2>&1 &&
			curl -fsS --max-time 3 --cacert "$CLUSTER_CA" "$APISERVER_URL/readyz" >/dev/null 2>&1 &&
			bash test/cluster/servers.sh status >/dev/null 2>&1
	)
}

cluster_down() {
	[ -f test/cluster/down.sh ] || return 0
	[ "${keep_cluster:-0}" = 1 ] && return 0
	bash test/cluster/servers.sh down >/dev/null 2>&1
	bash test/cluster/down.sh >/dev/null 2>&1
}

run_integration() {
	local t
	if [ ! -f test/cluster/up.sh ]; then
		echo "# no test/cluster: integration suite skipped"
		return 0
	fi
	keep_cluster=0
	cluster_was_up && keep_cluster=1
	trap 'cluster_down; exit 130' INT TERM
	echo "# bringing up the local control plane"
	if ! bash test/cluster/up.sh || ! bash test/cluster/servers.sh up; then
		echo "not ok - local control plane did not come up"
		failed=$((failed + 1))
		cluster_down
		return 0
	fi
	# shellcheck disable=SC1091
	. test/cluster/env.sh
	CFLUX_CLUSTER_DIR=${CFLUX_CLUSTER_DIR:-$PWD/build/cluster}
	# KUBECONFIG, APISERVER_URL, tokens, ...; then the source servers.
	# shellcheck disable=SC1091
	. "$CFLUX_CLUSTER_DIR/env"
	set -a
	# shellcheck disable=SC1091
	[ -f "$CFLUX_CLUSTER_DIR/servers.env" ] && . "$CFLUX_CLUSTER_DIR/servers.env"
	set +a
	# The operator's image for the in-cluster scenarios (test/e2e/lib/operator.bash).
	if [ -n "${NODE_NAME:-}" ] && [ "$BIN" = bin ]; then
		if ! VERSION=$(git describe --tags --always --dirty 2>/dev/null || echo 0.0.0) \
			BIN=$BIN bash tools/image.sh >/dev/null; then
			echo "not ok - make image: the operator image could not be built or pushed"
			failed=$((failed + 1))
		fi
	fi
	for t in "$BUILD"/test/itest_*; do
		[ -x "$t" ] || continue
		run_prog "integration/${t##*/}" "$t"
	done
	# Each scenario saves its logs, Events and statuses here; the audit
	# after them all looks there for every secret the tests seeded.
	export CFLUX_AUDIT_DIR=$CFLUX_CLUSTER_DIR/audit
	rm -rf "$CFLUX_AUDIT_DIR"
	for t in test/e2e/*.sh; do
		[ -f "$t" ] || continue
		run_prog "e2e/${t##*/}" bash "$t"
	done
	run_prog "e2e/secrets-audit" python3 test/e2e/lib/secrets_audit.py check \
		"$CFLUX_AUDIT_DIR" "$CFLUX_CLUSTER_DIR/servers.env"
	cluster_down
	trap - INT TERM
}

case $mode in
unit) run_unit ;;
all)
	run_unit
	run_integration
	;;
*)
	echo "usage: run.sh unit|all" >&2
	exit 2
	;;
esac
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
