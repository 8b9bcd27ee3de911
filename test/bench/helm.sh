#!/usr/bin/env bash
# helm.sh: `make bench-helm` — `cflux helm template` next to `helm
# template` (v3.21.4) on real charts from test/data/charts.  Not a test: it
# measures and prints, but it also insists both print the same bytes, so a
# faster wrong answer cannot pass for a result.
#
#   large: kube-prometheus-stack with its optional parts on (values-on.yaml,
#          on.args): 1 MB of manifests from 1.7 MB of templates, with the
#          grafana, kube-state-metrics, node-exporter and CRD subcharts;
#          best of BENCH_HELM_RUNS (3) renders per tool.
#   mid:   bitnami-redis with its optional parts on: 100 renders in a row
#          per tool (BENCH_HELM_N), one process each, as a reconcile loop
#          over many releases would; total time.
#
# For each: wall time, CPU time (user + system: the fair figure on a
# loaded machine) and the largest peak RSS of any render.  The report
# lands in build/bench-helm.md.
set -eu
cd "$(dirname "$0")/../.."
RUNS=${BENCH_HELM_RUNS:-3}
N=${BENCH_HELM_N:-100}
BIN=${BIN:-bin}
. test/cluster/env.sh
[ -x "$HELM" ] || bash test/cluster/build.sh oracles >&2
[ -x "$BIN/cflux" ] || { echo "helm.sh: $BIN/cflux missing (make)" >&2; exit 1; }
export KUBECONFIG=/nonexistent HELM_CACHE_HOME=/nonexistent HELM_CONFIG_HOME=/nonexistent
unset HELM_NAMESPACE
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
ours=$PWD/$BIN/cflux

# run NAME REPEAT CMD...: the command REPEAT times in a row; prints
# "wall_seconds cpu_seconds max_rss_kib", output in $W/NAME.out.
run() {
	local name=$1 repeat=$2 i t u s m wall=0 cpu=0 rss=0
	shift 2
	for i in $(seq 1 "$repeat"); do
		/usr/bin/time -f '%e %U %S %M' -o "$W/time" "$@" >"$W/$name.out" 2>"$W/$name.err" ||
			{ echo "helm.sh: $name failed:" >&2; cat "$W/$name.err" >&2; exit 1; }
		read -r t u s m <"$W/time"
		wall=$(awk -v a="$wall" -v b="$t" 'BEGIN { print a + b }')
		cpu=$(awk -v a="$cpu" -v b="$u" -v c="$s" 'BEGIN { print a + b + c }')
		[ "$m" -gt "$rss" ] && rss=$m
	done
	echo "$wall $cpu $rss"
}

# best NAME CMD...: the fastest (by CPU) of RUNS single runs.
best() {
	local name=$1 i line bw bc br=0 w c m
	shift
	bw="" bc=""
	for i in $(seq 1 "$RUNS"); do
		line=$(run "$name" 1 "$@")
		read -r w c m <<<"$line"
		if [ -z "$bc" ] || awk -v a="$c" -v b="$bc" 'BEGIN { exit !(a < b) }'; then
			bw=$w bc=$c
		fi
		[ "$m" -gt "$br" ] && br=$m
	done
	echo "$bw $bc $br"
}

same() {
	cmp -s "$W/$1.out" "$W/$2.out" || {
		echo "helm.sh: the outputs of $1 and $2 differ:" >&2
		diff "$W/$2.out" "$W/$1.out" | head -20 >&2
		exit 1
	}
}

large=test/data/charts/kube-prometheus-stack
read -r -a largs <"$large/on.args"
read -r lcw lcc lcm < <(best cflux-large "$ours" helm template rel "$large/chart" -f "$large/values-on.yaml" "${largs[@]}")
read -r lhw lhc lhm < <(best helm-large "$HELM" template rel "$large/chart" -f "$large/values-on.yaml" "${largs[@]}")
same cflux-large helm-large
mid=test/data/charts/bitnami-redis
read -r mcw mcc mcm < <(run cflux-mid "$N" "$ours" helm template rel "$mid/chart" -f "$mid/values-on.yaml")
read -r mhw mhc mhm < <(run helm-mid "$N" "$HELM" template rel "$mid/chart" -f "$mid/values-on.yaml")
same cflux-mid helm-mid

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.1f", b / a; else print "inf" }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
{
	echo "# helm template: cflux next to helm $HELM_VERSION ($(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg))"
	echo
	echo "Outputs byte for byte equal. CPU = user + system seconds, the fair figure on a"
	echo "loaded machine; wall time as measured."
	echo
	echo "| workload | tool | wall | CPU | peak RSS |"
	echo "|---|---|---|---|---|"
	echo "| large: kube-prometheus-stack, all on ($(wc -c <"$W/cflux-large.out") bytes), best of $RUNS | cflux | ${lcw}s | ${lcc}s | $(mib "$lcm") |"
	echo "| | helm | ${lhw}s | ${lhc}s | $(mib "$lhm") |"
	echo "| mid: bitnami-redis, all on ($(wc -c <"$W/cflux-mid.out") bytes), $N renders | cflux | ${mcw}s | ${mcc}s | $(mib "$mcm") |"
	echo "| | helm | ${mhw}s | ${mhc}s | $(mib "$mhm") |"
	echo
	echo "helm/cflux: large $(ratio "$lcw" "$lhw")x wall, $(ratio "$lcc" "$lhc")x CPU, $(ratio "$lcm" "$lhm")x RSS;" \
		"mid $(ratio "$mcw" "$mhw")x wall, $(ratio "$mcc" "$mhc")x CPU, $(ratio "$mcm" "$mhm")x RSS"
} | tee build/bench-helm.md
