#!/usr/bin/env bash
# run.sh: `make bench` — cflux and Flux side by side on the same work, in
# the shape of Flux's own benchmark (fluxcd/flux-benchmark).
#
#   BENCH_N=100 bash test/bench/run.sh          (N applications, default 100)
#   BENCH_RUNS="floor flux cflux"               (which runs, in this order)
#   BENCH_CLUSTER=fresh|reuse                   (fresh: a new control plane per run,
#                                                torn down after; reuse: the one up now)
#   BENCH_SOURCES=shared|per-app                (one repository and GitRepository for
#                                                all, or one of each per application)
#   BENCH_KIND=kustomize|helm                   (the applications as Kustomizations, or
#                                                as HelmReleases of one chart)
#
# The scenario: one Git repository with N paths (per-app: N repositories
# with one path each), each path holding a ServiceAccount, a Service, a
# Deployment scaled to 0 and an Ingress with three ${variables}; one
# GitRepository (per-app: N) and N Kustomizations (wait: true,
# timeout 1m, interval 60m, retryInterval 2m, postBuild.substitute with
# the three variables) as Flux users write them.  Three runs:
#   floor  the 4N objects applied by a minimal bulk server-side-apply
#          client (test/tools/benchfloor), then waited Ready;
#   flux   Flux's source-controller (--concurrent=10) and
#          kustomize-controller (--concurrent=20), out of cluster, Flux's CRDs;
#   cflux  cflux-operator with its defaults, our CRDs.
# For each: time to all N Ready and to the first, peak RSS and CPU seconds
# of each controller process, apiserver requests by user agent (audit
# log), then one commit changing all N and the time until all are Ready
# at the new revision.  Every run's objects are checked present at the end.
#
# BENCH_KIND=helm: the same four objects per application from one chart
# (test/data/helm/bench, `helm push`ed to the test registry), one
# OCIRepository of it and N HelmReleases (release app-I in bench-apps,
# interval 60m, timeout 1m, a value per release) as Flux users write them;
# flux is source-controller and helm-controller (--concurrent=20); the
# floor applies `helm template`'s output of the N releases; the change of
# all N is a new value in every HelmRelease (N upgrades).
# The report is printed and written to build/bench/report.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
N=${BENCH_N:-100}
RUNS=${BENCH_RUNS:-floor flux cflux}
MODE=${BENCH_CLUSTER:-fresh}
SOURCES=${BENCH_SOURCES:-shared}
case $SOURCES in shared | per-app) ;; *) echo "BENCH_SOURCES: shared or per-app" >&2; exit 2 ;; esac
KIND=${BENCH_KIND:-kustomize}
case $KIND in kustomize | helm) ;; *) echo "BENCH_KIND: kustomize or helm" >&2; exit 2 ;; esac
BUILD=${BUILD:-build/default}
BIN=${BIN:-bin}
OUT=$repo/build/bench
mkdir -p "$OUT"
. test/cluster/env.sh
. test/cluster/lib.sh # free_ports
log() { printf 'bench: %s\n' "$*" >&2; }

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# ------------------------------------------------------------ the cluster
CD=
cluster_up() {
	if [ "$MODE" = reuse ]; then
		CD=${CFLUX_CLUSTER_DIR:-$repo/build/cluster}
		. "$CD/env"
		export KUBECONFIG
		k delete namespace bench bench-apps --ignore-not-found --wait=true --timeout=120s >/dev/null 2>&1 || true
	else
		CD=$OUT/cluster
		# A clean environment: the previous run's cluster variables (ETCD_*) must not leak in.
		# The controller-manager at 20 requests a second (its default) needs
		# some 15 s to observe 100 new Deployments (a ReplicaSet and a status
		# each), and every run's "all Ready" waits on it: unthrottled, so the
		# runs measure the apiserver and the controllers under test.
		env -i PATH="$PATH" HOME="$HOME" CFLUX_CLUSTER_DIR="$CD" CFLUX_NODE=0 CFLUX_KCM_QPS=${BENCH_KCM_QPS:-1000} \
			bash test/cluster/up.sh >/dev/null
		env -i PATH="$PATH" HOME="$HOME" CFLUX_CLUSTER_DIR="$CD" bash test/cluster/servers.sh up >/dev/null
	fi
	. "$CD/env"
	. "$CD/servers.env"
	export KUBECONFIG GIT_ROOT
}
cluster_down() {
	if [ "$MODE" = reuse ]; then
		# Leave the shared cluster as we found it: no finalizer may outlive the controllers.
		local o
		for o in $(k get gitrepositories,kustomizations,helmreleases,ocirepositories -n bench -o name 2>/dev/null); do
			k patch -n bench "$o" --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1 || true
		done
		k delete namespace bench bench-apps --ignore-not-found --wait=true --timeout=120s >/dev/null 2>&1 || true
		return 0
	fi
	env -i PATH="$PATH" HOME="$HOME" CFLUX_CLUSTER_DIR="$CD" bash test/cluster/servers.sh down >/dev/null 2>&1 || true
	env -i PATH="$PATH" HOME="$HOME" CFLUX_CLUSTER_DIR="$CD" bash test/cluster/down.sh >/dev/null 2>&1 || true
}
k() { "$KUBECTL" "$@"; }

# ------------------------------------------------------------ the scenario
gen_app() { # DIR I VALUE
	local d=$1/apps/app-$2
	mkdir -p "$d"
	cat >"$d/app.yaml" <<EOF
apiVersion: v1
kind: ServiceAccount
metadata:
  name: app-$2
  namespace: \${NAMESPACE}
  labels: {bench: app}
---
apiVersion: v1
kind: Service
metadata:
  name: app-$2
  namespace: \${NAMESPACE}
  labels: {bench: app}
  annotations: {bench/value: "$3"}
spec:
  selector: {app: app-$2}
  ports: [{name: http, port: 9898, targetPort: 9898}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-$2
  namespace: \${NAMESPACE}
  labels: {bench: app}
spec:
  replicas: 0
  selector:
    matchLabels: {app: app-$2}
  template:
    metadata:
      labels: {app: app-$2}
    spec:
      serviceAccountName: app-$2
      containers:
      - name: podinfo
        image: ghcr.io/stefanprodan/podinfo:\${VERSION}
        ports: [{containerPort: 9898}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: app-$2
  namespace: \${NAMESPACE}
  labels: {bench: app}
spec:
  rules:
  - host: app-$2.\${DOMAIN}
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service: {name: app-$2, port: {number: 9898}}
EOF
}
src_name() { # I -> the GitRepository (and repository) app-I reads from
	if [ "$SOURCES" = per-app ]; then echo "app-$1"; else echo bench; fi
}
# gen_repo VALUE: commit every application at VALUE; writes the revision
# each Kustomization must reach, "app-I main@sha1:<hex>" lines, to $OUT/revs.
gen_repo() {
	local src=$OUT/src i sha
	rm -rf "$src"
	mkdir -p "$src"
	if [ "$SOURCES" = per-app ]; then
		for i in $(seq 1 "$N"); do
			gen_app "$src/app-$i" "$i" "$1"
			sha=$(bash test/cluster/mkrepo.sh "app-$i" "$src/app-$i")
			echo "app-$i main@sha1:$sha"
		done >"$OUT/revs"
	else
		for i in $(seq 1 "$N"); do gen_app "$src" "$i" "$1"; done
		sha=$(bash test/cluster/mkrepo.sh bench "$src")
		for i in $(seq 1 "$N"); do echo "app-$i main@sha1:$sha"; done >"$OUT/revs"
	fi
}
gitrepositories() { # NS
	local s
	for s in $(for i in $(seq 1 "$N"); do src_name "$i"; done | sort -u); do
		printf -- '---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n  interval: 60m\n  url: %s/%s.git\n  ref: {branch: main}\n' \
			"$s" "$1" "$GIT_HTTP_URL" "$s"
	done
}
kustomizations() { # NS
	local i
	for i in $(seq 1 "$N"); do
		cat <<EOF
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: app-$i
  namespace: $1
spec:
  interval: 60m
  retryInterval: 2m
  timeout: 1m
  wait: true
  prune: true
  path: ./apps/app-$i
  sourceRef: {kind: GitRepository, name: $(src_name "$i")}
  postBuild:
    substitute: {NAMESPACE: bench-apps, VERSION: "6.7.0", DOMAIN: bench.example.com}
EOF
	done
}
floor_manifests() { # substituted copies for the floor client
	local dst=$OUT/floor i
	rm -rf "$dst"
	for i in $(seq 1 "$N"); do gen_app "$dst" "$i" v1; done
	find "$dst" -name '*.yaml' -exec sed -i 's/${NAMESPACE}/bench-apps/g; s/${VERSION}/6.7.0/g; s/${DOMAIN}/bench.example.com/g' {} +
}

# ---- BENCH_KIND=helm
CHART_TAG=0.1.0
push_chart() {
	[ -x "$HELM" ] || bash test/cluster/build.sh oracles >&2
	rm -rf "$OUT/chart-pkg"
	mkdir -p "$OUT/chart-pkg"
	"$HELM" package -d "$OUT/chart-pkg" test/data/helm/bench/chart >/dev/null
	"$HELM" push "$OUT/chart-pkg/benchapp-$CHART_TAG.tgz" "oci://$REGISTRY_HOST/bench" --plain-http >/dev/null 2>&1
}
helmreleases() { # NS VALUE
	local i
	printf -- '---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: benchapp\n  namespace: %s\nspec:\n  interval: 60m\n  url: oci://%s/bench/benchapp\n  ref: {tag: "%s"}\n  layerSelector: {mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip, operation: copy}\n' \
		"$1" "$REGISTRY_HOST" "$CHART_TAG"
	for i in $(seq 1 "$N"); do
		cat <<EOF
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: app-$i
  namespace: $1
spec:
  interval: 60m
  timeout: 1m
  releaseName: app-$i
  targetNamespace: bench-apps
  storageNamespace: bench-apps
  chartRef: {kind: OCIRepository, name: benchapp}
  values: {value: "$2"}
EOF
	done
}
floor_helm_manifests() { # the N releases as helm template renders them
	local dst=$OUT/floor i
	rm -rf "$dst"
	mkdir -p "$dst"
	[ -x "$HELM" ] || bash test/cluster/build.sh oracles >&2
	for i in $(seq 1 "$N"); do
		"$HELM" template "app-$i" test/data/helm/bench/chart -n bench-apps --set value=v1 >"$dst/app-$i.yaml"
		sed -i '/^metadata:/a\  namespace: bench-apps' "$dst/app-$i.yaml"
	done
}
# helm_ready_count NS: HelmReleases Ready at their current generation.
helm_ready_count() {
	k get helmreleases -n "$1" -o jsonpath='{range .items[*]}{.metadata.generation} {.status.observedGeneration} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' 2>/dev/null |
		awk '$1 == $2 && $3 == "True" { n++ } END { print n + 0 }'
}

# ready_count NS: Kustomizations Ready at the revision $OUT/revs wants.
ready_count() {
	if [ "$KIND" = helm ]; then
		helm_ready_count "$1"
		return
	fi
	k get kustomizations -n "$1" -o jsonpath='{range .items[*]}{.metadata.name} {.status.conditions[?(@.type=="Ready")].status} {.status.lastAppliedRevision}{"\n"}{end}' 2>/dev/null |
		awk 'NR == FNR { want[$1] = $2; next } $2 == "True" && want[$1] == $3 { n++ } END { print n + 0 }' "$OUT/revs" -
}

# wait_all NS T0 -> sets T_FIRST, T_ALL (seconds since T0)
wait_all() {
	local ns=$1 t0=$2 c
	T_FIRST= T_ALL=
	while :; do
		c=$(ready_count "$ns" || echo 0)
		[ -z "$T_FIRST" ] && [ "$c" -gt 0 ] && T_FIRST=$(secs "$t0" "$(now)")
		if [ "$c" -ge "$N" ]; then
			T_ALL=$(secs "$t0" "$(now)")
			return 0
		fi
		if [ "$(secs "$t0" "$(now)" | cut -d. -f1)" -gt $((600 + N)) ]; then
			log "timed out: $c of $N Ready"
			T_ALL=timeout
			return 1
		fi
		sleep 0.5
	done
}

proc_stats() { # PID -> "peakMiB cpuSeconds"
	local hwm ticks
	hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0)
	ticks=$(awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0)
	awk -v h="$hwm" -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f %.2f", h / 1024, t / hz }'
}

AUDIT_START=0
audit_mark() { AUDIT_START=$(wc -l <"$AUDIT_LOG" 2>/dev/null || echo 0); }
requests_by_agent() { # -> "agent=count ..." from the audit log since audit_mark, kubectl excluded
	python3 - "$AUDIT_LOG" "$AUDIT_START" <<'EOF'
import collections, itertools, json, sys
c = collections.Counter()
for line in itertools.islice(open(sys.argv[1]), int(sys.argv[2]), None):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("stage") != "ResponseComplete":
        continue
    ua = (e.get("userAgent") or "?").split("/")[0].split(" ")[0]
    if ua.startswith("kubectl") or ua.startswith("kube-controller-manager") or ua == "kube-apiserver":
        continue
    c[ua] += 1
print(" ".join("%s=%d" % kv for kv in c.most_common(4)))
EOF
}

verify_objects() { # every run must have done the whole work
	local got
	got=$(k get serviceaccounts,services,deployments,ingresses -n bench-apps -l bench=app -o name | wc -l)
	[ "$got" -eq $((4 * N)) ] || { log "only $got of $((4 * N)) objects present"; return 1; }
}

RESULTS=()
record() { RESULTS+=("$*"); }

# ------------------------------------------------------------ runs
run_floor() {
	cluster_up
	if [ "$KIND" = helm ]; then floor_helm_manifests; else floor_manifests; fi
	k create namespace bench-apps >/dev/null
	local t0 out
	audit_mark
	t0=$(now)
	out=$("$BUILD/test/benchfloor" "$OUT/floor" bench=app)
	local t_all
	t_all=$(secs "$t0" "$(now)")
	log "floor: $out"
	verify_objects
	record "floor|$t_all|-|-|-|$(requests_by_agent)|-"
	cluster_down
}

BG_PIDS=""
start_bg() { # LOG CMD... -> PID in BG_PID; every such process is killed on exit
	"${@:2}" >"$1" 2>&1 &
	BG_PID=$!
	BG_PIDS="$BG_PIDS $BG_PID"
}

run_controllers() { # NAME: flux or cflux
	local name=$1 ns=bench pids="" t0 p stats
	cluster_up
	if [ "$KIND" = helm ]; then push_chart; else gen_repo v1; fi
	k create namespace "$ns" >/dev/null
	k create namespace bench-apps >/dev/null
	# Five ports the kernel says are free (a random range could collide).
	local port p1 p2 p3 p4
	read -r port p1 p2 p3 p4 <<<"$(free_ports 5)"
	if [ "$name" = flux ] && [ "$KIND" = helm ]; then
		[ -x "$SOURCE_CONTROLLER" ] && [ -x "$HELM_CONTROLLER" ] || bash test/cluster/build.sh flux-helm >&2
		k apply --server-side --force-conflicts -f "$SOURCE_CONTROLLER_CRDS/" \
			-f "$HELM_CONTROLLER_CRDS/" >/dev/null
		k wait --for=condition=Established --timeout=60s crd --all >/dev/null
		mkdir -p "$OUT/flux-data"
		RUNTIME_NAMESPACE=$ns start_bg "$OUT/source-controller.log" "$SOURCE_CONTROLLER" \
			--storage-path="$OUT/flux-data" --storage-addr=127.0.0.1:$port \
			--storage-adv-addr=127.0.0.1:$port --metrics-addr=127.0.0.1:$p1 \
			--health-addr=127.0.0.1:$p2 --enable-leader-election=false \
			--events-addr= --concurrent=10 --watch-all-namespaces=false
		pids="source-controller:$BG_PID"
		RUNTIME_NAMESPACE=$ns start_bg "$OUT/helm-controller.log" "$HELM_CONTROLLER" \
			--metrics-addr=127.0.0.1:$p3 --health-addr=127.0.0.1:$p4 \
			--enable-leader-election=false --events-addr= --concurrent=20 \
			--watch-all-namespaces=false
		pids="$pids helm-controller:$BG_PID"
	elif [ "$name" = flux ]; then
		[ -x "$SOURCE_CONTROLLER" ] && [ -x "$KUSTOMIZE_CONTROLLER" ] || bash test/cluster/build.sh flux >&2
		# Every source kind: kustomize-controller watches them all.
		k apply --server-side --force-conflicts -f "$SOURCE_CONTROLLER_CRDS/" \
			-f "$KUSTOMIZE_CONTROLLER_CRDS/" >/dev/null
		k wait --for=condition=Established --timeout=60s crd --all >/dev/null
		mkdir -p "$OUT/flux-data"
		RUNTIME_NAMESPACE=$ns start_bg "$OUT/source-controller.log" "$SOURCE_CONTROLLER" \
			--storage-path="$OUT/flux-data" --storage-addr=127.0.0.1:$port \
			--storage-adv-addr=127.0.0.1:$port --metrics-addr=127.0.0.1:$p1 \
			--health-addr=127.0.0.1:$p2 --enable-leader-election=false \
			--events-addr= --concurrent=10 --watch-all-namespaces=false
		pids="source-controller:$BG_PID"
		RUNTIME_NAMESPACE=$ns start_bg "$OUT/kustomize-controller.log" "$KUSTOMIZE_CONTROLLER" \
			--metrics-addr=127.0.0.1:$p3 --health-addr=127.0.0.1:$p4 \
			--enable-leader-election=false --events-addr= --concurrent=20 \
			--watch-all-namespaces=false
		pids="$pids kustomize-controller:$BG_PID"
	else
		k apply --server-side --force-conflicts -f crds/ >/dev/null
		k wait --for=condition=Established --timeout=60s crd --all >/dev/null
		rm -rf "$OUT/cflux-data"
		RUNTIME_NAMESPACE=$ns start_bg "$OUT/cflux-operator.log" "$BIN/cflux-operator" \
			--storage-path="$OUT/cflux-data" --storage-addr=127.0.0.1:$port \
			--storage-adv-addr=127.0.0.1:$port --metrics-addr=127.0.0.1:$p1 \
			--health-addr=127.0.0.1:$p2 --enable-leader-election=false \
			--receiver-addr=0 --watch-all-namespaces=false ${BENCH_CFLUX_ARGS:-}
		pids="cflux-operator:$BG_PID"
	fi
	sleep 2
	audit_mark
	t0=$(now)
	# The objects are applied while the clock runs and the poller watches:
	# time to first Ready must not wait for kubectl to finish.
	if [ "$KIND" = helm ]; then
		helmreleases "$ns" v1 | k apply -f - >/dev/null &
	else
		{ gitrepositories "$ns"; kustomizations "$ns"; } | k apply -f - >/dev/null &
	fi
	local apply_pid=$!
	wait_all "$ns" "$t0" || true
	wait "$apply_pid"
	local first=$T_FIRST all=$T_ALL
	verify_objects
	# Steady state: one commit that changes all N.
	if [ "$KIND" = helm ]; then
		t0=$(now)
		helmreleases "$ns" v2 | k apply -f - >/dev/null
		sleep 1 # the new generations in place before counting
	else
		gen_repo v2
		t0=$(now)
		k annotate gitrepository -n "$ns" --all --overwrite "reconcile.fluxcd.io/requestedAt=$(date +%s)" >/dev/null
	fi
	wait_all "$ns" "$t0" || true
	local again=$T_ALL
	[ -n "${BENCH_SOAK_MINUTES:-}" ] && soak "$ns" "$pids"
	stats=""
	for p in $pids; do
		stats="$stats ${p%%:*}=$(proc_stats "${p#*:}" | awk '{ print $1 "MiB/" $2 "s" }')"
	done
	local reqs idle=""
	reqs=$(requests_by_agent)
	# Idle: what each controller holds once everything is Ready and it has
	# nothing to do (BENCH_IDLE_SECONDS later), split into anonymous memory
	# and file pages (mostly shared libraries).
	sleep "${BENCH_IDLE_SECONDS:-20}"
	for p in $pids; do
		idle="$idle ${p%%:*}=$(awk '/^VmRSS/ { r = $2 } /^RssAnon/ { a = $2 } /^RssFile/ { f = $2 }
			END { printf "%.1f/%.1f/%.1f", r / 1024, a / 1024, f / 1024 }' "/proc/${p#*:}/status")"
	done
	record "$name|$all|$first|$again|${stats# }|$reqs|${idle# }"
	for p in $pids; do kill "${p#*:}" 2>/dev/null || true; done
	wait 2>/dev/null || true
	cluster_down
}

# ------------------------------------------------------------ the soak
# soak NS PIDS (BENCH_SOAK_MINUTES, `make soak`): the steady state users
# live in, one change of all N every minute for that long.  Each
# controller's RSS (and its anonymous part) and open fds are sampled
# every 10 s, each round's time to all Ready at the new revision noted,
# and the reconciles that failed during the soak counted from the log
# (not the first apply's: its health checks may time out while the
# controller-manager catches up with N Deployments); test/bench/soak.py
# judges them (flat within 10% after a warm-up of a fifth of the run)
# into $OUT/soak.md.
soak() {
	local ns=$1 pids=$2 end v=2 t0 next p pid rss anon fds log
	end=$(($(date +%s) + BENCH_SOAK_MINUTES * 60))
	log=$OUT/${pids%%:*}.log
	printf 'elapsed\tprocess\trss_kib\tanon_kib\tfds\n' >"$OUT/soak-samples.tsv"
	printf 'round\tready_s\n' >"$OUT/soak-rounds.tsv"
	local start base
	start=$(date +%s)
	base=$(wc -l <"$log" 2>/dev/null || echo 0) # failures before the soak are the first apply's
	while [ "$(date +%s)" -lt "$end" ]; do
		v=$((v + 1))
		next=$(($(date +%s) + 60))
		t0=$(now)
		if [ "$KIND" = helm ]; then
			helmreleases "$ns" "v$v" | k apply -f - >/dev/null
		else
			gen_repo "v$v"
			k annotate gitrepository -n "$ns" --all --overwrite "reconcile.fluxcd.io/requestedAt=$(date +%s%N)" >/dev/null
		fi
		if wait_all "$ns" "$t0"; then
			printf '%s\t%s\n' "$v" "$T_ALL" >>"$OUT/soak-rounds.tsv"
		else
			printf '%s\ttimeout\n' "$v" >>"$OUT/soak-rounds.tsv"
		fi
		while [ "$(date +%s)" -lt "$next" ] && [ "$(date +%s)" -lt "$end" ]; do
			for p in $pids; do
				pid=${p#*:}
				rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
				anon=$(awk '/^RssAnon/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
				fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
				printf '%s\t%s\t%s\t%s\t%s\n' "$(($(date +%s) - start))" "${p%%:*}" "$rss" \
					"$anon" "$fds" >>"$OUT/soak-samples.tsv"
			done
			sleep 10
		done
	done
	local failed
	failed=$(tail -n +$((base + 1)) "$log" 2>/dev/null | grep -c '"Reconciliation failed"\|"Release failed"' || true)
	python3 test/bench/soak.py "$OUT" "$N" "$BENCH_SOAK_MINUTES" "$KIND" "${failed:-0}" \
		>"$OUT/soak.md" || SOAK_FAILED=1
	cat "$OUT/soak.md" >&2
}
SOAK_FAILED=0

# A failed run (set -e) must not leave its controllers behind.
cleanup() {
	local p
	for p in $BG_PIDS; do kill "$p" 2>/dev/null || true; done
	cluster_down
}
trap cleanup EXIT
for r in $RUNS; do
	log "run: $r (N=$N)"
	case $r in
	floor) run_floor ;;
	flux | cflux) run_controllers "$r" ;;
	*) log "unknown run $r"; exit 2 ;;
	esac
done

# ------------------------------------------------------------ the report
{
	if [ "$KIND" = helm ]; then
		echo "# cflux bench: N=$N HelmReleases of one chart ($((4 * N)) objects)"
	else
		echo "# cflux bench: N=$N applications ($((4 * N)) objects), sources: $SOURCES"
	fi
	echo
	peer="kustomize-controller $KUSTOMIZE_CONTROLLER_VERSION"
	[ "$KIND" = helm ] && peer="helm-controller $HELM_CONTROLLER_VERSION"
	echo "Same machine ($(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)), same scenario; cluster: $MODE$([ "$MODE" = fresh ] && echo ", a new control plane per run"). kube-apiserver $K8S_VERSION; Flux source-controller $SOURCE_CONTROLLER_VERSION (--concurrent=10), $peer (--concurrent=20); cflux-operator defaults."
	echo
	echo "| run | all Ready | first Ready | all Ready after a commit changing all | peak RSS / CPU per process | apiserver requests by client |"
	echo "|---|---|---|---|---|---|"
	for r in "${RESULTS[@]}"; do
		IFS='|' read -r name all first again stats reqs _ <<<"$r"
		sfx() { [ "$1" = - ] && echo - || echo "$1s"; }
		echo "| $name | $(sfx "$all") | $(sfx "$first") | $(sfx "$again") | $stats | $reqs |"
	done
	echo
	fl= cf= fx=
	for r in "${RESULTS[@]}"; do
		IFS='|' read -r name all _ <<<"$r"
		case $name in floor) fl=$all ;; flux) fx=$all ;; cflux) cf=$all ;; esac
	done
	[ -n "$cf" ] && [ -n "$fx" ] && awk -v a="$cf" -v b="$fx" 'BEGIN { if (b > 0) printf "cflux/flux time: %.2f\n", a / b }'
	[ -n "$cf" ] && [ -n "$fl" ] && awk -v a="$cf" -v b="$fl" 'BEGIN { if (b > 0) printf "cflux/floor time: %.2f\n", a / b }'
	# Per application, over the whole run (the first apply and the commit
	# changing all N): the controllers' CPU and the apiserver requests.
	for r in "${RESULTS[@]}"; do
		IFS='|' read -r name _ _ _ stats reqs _ <<<"$r"
		[ "$name" = floor ] && continue
		awk -v n="$N" -v name="$name" -v stats="$stats" -v reqs="$reqs" 'BEGIN {
			cpu = 0; k = split(stats, s, " ")
			for (i = 1; i <= k; i++) { split(s[i], a, "/"); sub(/s$/, "", a[2]); cpu += a[2] }
			q = 0; k = split(reqs, s, " ")
			for (i = 1; i <= k; i++) if (s[i] ~ "^" (name == "cflux" ? "cflux" : "(source|kustomize|helm)-controller") "=") { split(s[i], a, "="); q += a[2] }
			printf "%s per application: %.4f CPU seconds, %.1f apiserver requests\n", name, cpu / n, q / n }'
	done
	echo
	for r in "${RESULTS[@]}"; do
		IFS='|' read -r name _ _ _ _ _ idle <<<"$r"
		[ "$name" = floor ] || [ -z "$idle" ] && continue
		echo "$idle" | awk -v name="$name" -v s="${BENCH_IDLE_SECONDS:-20}" '{
			for (i = 1; i <= NF; i++) { split($i, a, "[=/]")
				printf "%s idle (%s s after all Ready): %s RSS %s MiB = %s MiB anonymous + %s MiB file pages\n", name, s, a[1], a[2], a[3], a[4] } }'
	done
	echo
	echo "Every run's 4N objects were verified present at the end."
} | tee "$OUT/report.md"
[ "$SOAK_FAILED" = 0 ]
