#!/bin/bash
# bench.sh: the `make bench` harness on a tiny N, so it cannot rot (TAP).
# The floor and cflux runs at N=5 on the control plane that is up; the
# real figures come from `make bench` (N=100, BENCH_N=1000), not from here.
set -u
cd "$(dirname "$0")/../.."
out=$(BENCH_N=5 BENCH_RUNS="floor cflux" BENCH_CLUSTER=reuse bash test/bench/run.sh 2>&1)
rc=$?
n=0
t() { n=$((n + 1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; printf '%s\n' "$out" | tail -n 20 | sed 's/^/# /'; fi; }
t "bench harness runs floor and cflux at N=5" '[ $rc = 0 ]'
t "the report has a floor row and a cflux row with times" \
	'grep -Eq "^\| floor \| [0-9.]+s" build/bench/report.md && grep -Eq "^\| cflux \| [0-9.]+s \| [0-9.]+s \| [0-9.]+s" build/bench/report.md'
t "the cflux row has the operator's peak RSS and CPU" 'grep -Eq "cflux-operator=[0-9]+MiB/[0-9.]+s" build/bench/report.md'
t "every run's objects were verified" 'grep -q "verified present" build/bench/report.md'
echo "1..$n"
