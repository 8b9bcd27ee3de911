#!/bin/bash
# bench.sh: the `make bench` harness on a tiny N, so it cannot rot (TAP).
# The floor and cflux runs at N=5 with one shared source, then cflux at
# N=3 with a repository and GitRepository per application (after the
# request and CPU guard at N=20), then floor and
# cflux at N=3 with HelmReleases (BENCH_KIND=helm), on the control plane
# that is up; the real figures come from `make bench` (N=100,
# BENCH_N=1000), not from here.
set -u
cd "$(dirname "$0")/../.."
export BENCH_IDLE_SECONDS=1 # the idle sample, not a wait for a real idle figure
n=0
t() { n=$((n + 1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; printf '%s\n' "$out" | tail -n 20 | sed 's/^/# /'; fi; }

out=$(BENCH_N=5 BENCH_RUNS="floor cflux" BENCH_CLUSTER=reuse bash test/bench/run.sh 2>&1)
rc=$?
t "bench harness runs floor and cflux at N=5" '[ $rc = 0 ]'
t "the report has a floor row and a cflux row with times" \
	'grep -Eq "^\| floor \| [0-9.]+s" build/bench/report.md && grep -Eq "^\| cflux \| [0-9.]+s \| [0-9.]+s \| [0-9.]+s" build/bench/report.md'
t "the cflux row has the operator's peak RSS and CPU" 'grep -Eq "cflux-operator=[0-9]+MiB/[0-9.]+s" build/bench/report.md'
t "every run's objects were verified" 'grep -q "verified present" build/bench/report.md'
t "the cflux run's idle memory is split into anonymous and file pages" \
	'grep -Eq "^cflux idle \(1 s after all Ready\): cflux-operator RSS [1-9][0-9.]* MiB = [0-9.]+ MiB anonymous \+ [1-9][0-9.]* MiB file pages$" build/bench/report.md'

# The regression guard (issue #24): at N=20 with one shared source, the
# whole run (apply, then a commit changing all) may cost each application
# at most 45 apiserver requests (34 measured when written) and 0.05 s of
# the operator's CPU (0.015 s measured).  Time is not asserted.
out=$(BENCH_N=20 BENCH_RUNS=cflux BENCH_CLUSTER=reuse bash test/bench/run.sh 2>&1)
rc=$?
per=$(sed -n 's/^cflux per application: \([0-9.]*\) CPU seconds, \([0-9.]*\) apiserver requests$/\1 \2/p' build/bench/report.md)
out="$out
per application: ${per:-none}"
t "at N=20 the report gives CPU and requests per application" '[ $rc = 0 ] && [ -n "$per" ]'
t "... at most 45 apiserver requests per application" \
	'awk -v r="${per#* }" "BEGIN { exit !(r > 0 && r <= 45) }"'
t "... at most 0.05 CPU seconds per application" \
	'awk -v c="${per% *}" "BEGIN { exit !(c > 0 && c <= 0.05) }"'

out=$(BENCH_N=3 BENCH_RUNS=cflux BENCH_SOURCES=per-app BENCH_CLUSTER=reuse bash test/bench/run.sh 2>&1)
rc=$?
t "the per-application variant runs cflux at N=3" '[ $rc = 0 ]'
t "its report says so and has a cflux row with times" \
	'grep -q "sources: per-app" build/bench/report.md && grep -Eq "^\| cflux \| [0-9.]+s \| [0-9.]+s \| [0-9.]+s" build/bench/report.md'
t "each application got its own source" \
	'[ "$(grep -c "Stored artifact" build/bench/cflux-operator.log)" -ge 6 ]'
out=$(BENCH_N=3 BENCH_RUNS="floor cflux" BENCH_KIND=helm BENCH_CLUSTER=reuse bash test/bench/run.sh 2>&1)
rc=$?
t "the HelmRelease variant runs floor and cflux at N=3" '[ $rc = 0 ]'
t "its report says so and has floor and cflux rows with times" \
	'grep -q "N=3 HelmReleases of one chart" build/bench/report.md && grep -Eq "^\| floor \| [0-9.]+s" build/bench/report.md && grep -Eq "^\| cflux \| [0-9.]+s \| [0-9.]+s \| [0-9.]+s" build/bench/report.md'
t "each release was installed, then upgraded" \
	'[ "$(grep -c "Release deployed" build/bench/cflux-operator.log)" -ge 6 ]'
# `make soak` on a tiny scale, so it cannot rot: one minute at N=5.
out=$(BENCH_N=5 BENCH_RUNS=cflux BENCH_CLUSTER=reuse BENCH_SOAK_MINUTES=1 bash test/bench/run.sh 2>&1)
rc=$?
t "the soak runs a minute at N=5 and passes its own verdict" \
	'[ $rc = 0 ] && grep -qx "Verdict: PASS" build/bench/soak.md'
t "... with RSS and fds sampled and a round all Ready" \
	'grep -Eq "^\| cflux-operator \| [1-9][0-9]* \|" build/bench/soak.md && grep -Eq "^Rounds: [1-9][0-9]*, all Ready in" build/bench/soak.md'
echo "1..$n"
