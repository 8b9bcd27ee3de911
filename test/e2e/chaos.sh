#!/usr/bin/env bash
# chaos.sh: `make chaos` on a tiny scale, so it cannot rot: 6 Kustomizations
# from 3 sources (one OCI) and one HelmRelease from the Helm server, one try
# each of an operator SIGKILL, an etcd compaction, the git server and the
# Helm server down 10 s, a burst of apiserver errors and the artifact
# storage full for 10 s (test/chaos/run.sh; the full campaign is
# `make chaos`).  Each trial also checks that the operator holds no
# descriptor on a deleted file: a full disk made the HelmRepository leak
# one per failed index write, until the fix that came with this check.
set -u
cd "$(dirname "$0")/../.."
N=0
FAILED=0
t() { # DESC CMD: one TAP line
	N=$((N + 1))
	if eval "$2"; then echo "ok $N - $1"; else echo "not ok $N - $1"; FAILED=$((FAILED + 1)); fi
}
log=$(mktemp)
CHAOS_REPS=1 CHAOS_KUSTOMIZATIONS=6 CHAOS_SOURCES=3 CHAOS_OCI=1 CHAOS_HELM=1 CHAOS_DOWN_SECONDS=10 \
	CHAOS_FAULTS="operator-kill etcd-compact git-down helm-down apiserver-faults disk-full" CHAOS_REPORT=build/chaos/e2e.md \
	timeout 900 bash test/chaos/run.sh >"$log" 2>&1
rc=$?
t "the campaign runs and every trial survives" '[ $rc = 0 ]'
for f in operator-kill etcd-compact git-down helm-down apiserver-faults disk-full; do
	t "... $f: tried once, survived" "grep -q '^| $f | 1 | 1 |' build/chaos/e2e.md"
done
# The kubelet restarts the killed container in its pod; the new process has
# the pod's identity (name and UID), so it takes the Lease back at once
# instead of waiting out the dead one's 35 s.
t "... operator-kill: converged less than the 35 s lease after the kill" \
	"awk -F' *[|] *' '\$2 == \"operator-kill\" { exit !(\$6 + 0 < 35) }' build/chaos/e2e.md"
if [ "$FAILED" -gt 0 ]; then sed 's/^/# /' "$log" | grep -av '^# #' | tail -n 40; fi
rm -f "$log"
echo "1..$N"
[ "$FAILED" -eq 0 ]
