#!/usr/bin/env bash
# run_timeout.sh: test/run.sh's per-program timeout (issue #25).  A fake
# unit test that never ends, run with TEST_TIMEOUT=2, must be killed and
# reported as a failure naming it, within seconds, and so must the
# programs it started.  Prints TAP.
set -u
cd "$(dirname "$0")/../.."
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
mkdir -p "$w/test"
cat >"$w/test/test_hang" <<'EOS'
#!/usr/bin/env bash
echo "1..1"
sleep 3600 &
echo $! >"$(dirname "$0")/child.pid"
wait
EOS
chmod +x "$w/test/test_hang"

start=$(date +%s)
out=$(BUILD=$w TEST_FILTER=test_hang TEST_TIMEOUT=2 timeout 60 bash test/run.sh unit 2>&1)
rc=$?
took=$(($(date +%s) - start))
n=0 failed=0
t() { # DESC CMD...
	n=$((n + 1))
	if "${@:2}"; then echo "ok $n - $1"; else echo "not ok $n - $1"; failed=1; fi
}
t "the runner ends within 30 s (took ${took}s)" test "$rc" -ne 124 -a "$took" -lt 30
t "the hung program fails by name" grep -q "^not ok - unit/test_hang timed out after 2s" <<<"$out"
t "the summary counts it" grep -q "^0 passed, 1 failed" <<<"$out"
t "the runner exits non-zero" test "$rc" -ne 0
gone() { # PID: not running (a killed child may take a moment to be reaped)
	local i
	for i in $(seq 1 50); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}
t "the program's own children are killed too" gone "$(cat "$w/test/child.pid")"
[ "$failed" -eq 0 ] || sed 's/^/# /' <<<"$out" | head -20
echo "1..$n"
exit "$failed"
