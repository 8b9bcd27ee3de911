# operator.bash: shared by the operator e2e scenarios (source it from bash).
#
# Before sourcing, set NAME (a short scenario name).  Provides:
#   NS (namespace NAME-<pid>), REPO (git repository name), W (scratch dir),
#   TAP helpers pass/fail/check/poll/diag, k (the cached kubectl),
#   crd_install KIND_FILE... (ours from crds/ when present, else Flux's),
#   start_operator / stop_operator (the operator watching NS), op_log (its
#   log, every run), OP_ADDR with SPORT/MPORT/HPORT (its artifact, metrics
#   and health endpoints), OP_DATA (its artifact storage, readable here),
#   OP_RC (the exit status of the run stop_operator ended),
#   gitrepo/kustomization appliers, cond/ready_is/ready_msg on any kind,
#   tap_end (operator log tail on failure, the plan line, exit status).
# Everything is removed on exit unless KEEP is set.
#
# Two ways to run the operator, chosen here once (OP_MODE):
#   cluster  the way users run it: `helm install` of charts/cflux into NS,
#            the image `make image` built (tools/image.sh pushes it to the
#            local registry), on the local node, in-cluster configuration
#            and only the chart's RBAC (multi-tenancy on, as the chart's
#            default).  start_operator's flags become chart values.
#            stop_operator sends SIGTERM to the container's process (from
#            this host, as a crash or an OOM kill would end it): the kubelet
#            restarts it in the same pod, with the same artifact storage.
#   local    bin/cflux-operator on this host with the admin kubeconfig: when
#            the cluster has no node, when BIN is not the default build (the
#            sanitizer build: BIN=build/address-undefined/bin), or with
#            CFLUX_OPERATOR_MODE=local.

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
CD=${CFLUX_CLUSTER_DIR:-$repo/build/cluster}
BIN=${BIN:-bin}
case $BIN in /*) ;; *) BIN=$repo/$BIN ;; esac

if [ ! -f "$CD/env" ] || [ ! -f "$CD/servers.env" ]; then
	echo "not ok 1 - no cluster: $CD/env and $CD/servers.env missing"
	exit 1
fi
# shellcheck disable=SC1091
. "$CD/env"
# shellcheck disable=SC1091
. "$CD/servers.env"
# shellcheck disable=SC1091
. "$repo/test/cluster/env.sh"

if [ -n "${CFLUX_OPERATOR_MODE:-}" ]; then
	OP_MODE=$CFLUX_OPERATOR_MODE
elif [ -n "${NODE_NAME:-}" ] && [ "$BIN" = "$repo/bin" ]; then
	OP_MODE=cluster
else
	OP_MODE=local
fi
OP_RELEASE=cflux
OP_NS=  # the release's namespace: NS unless start_operator --release-namespace=X
OP_ADDR=127.0.0.1
OP_RC=

NS=$NAME-$$
REPO=$NAME-$$
W=$CD/$NAME-$$
OUT=$W/out
N=0
FAILED=0
OP_PID=
rm -rf "$W"
mkdir -p "$W/src" "$W/data"

diag() { sed 's/^/# /' "$@" | head -n 30; }
pass() { N=$((N + 1)); echo "ok $N - $1"; }
fail() {
	N=$((N + 1)); FAILED=$((FAILED + 1))
	echo "not ok $N - $1"
	[ -s "$OUT" ] && diag "$OUT"
	return 0
}
# check DESC CMD...: CMD's output goes to $OUT, shown on failure.
check() {
	local desc=$1
	shift
	if "$@" >"$OUT" 2>&1; then pass "$desc"; else fail "$desc"; fi
}
# poll SECONDS CMD...: retry every 0.25 s.
poll() {
	local secs=$1 i
	shift
	for i in $(seq 1 $((secs * 4))); do
		"$@" && return 0
		sleep 0.25
	done
	"$@"
}
k() { "$KUBECTL" "$@"; }

# audit_save: with CFLUX_AUDIT_DIR set (test/run.sh), the scenario's
# evidence for the secrets audit (lib/secrets_audit.py): the operator's
# log, the Events and our objects' statuses in its namespaces, and the
# secret values of the Secrets it created.
audit_save() {
	[ -n "${CFLUX_AUDIT_DIR:-}" ] || return 0
	local d=$CFLUX_AUDIT_DIR/$NAME-$$ ns kinds
	mkdir -p "$d" || return 0
	op_log >"$d/operator.log" 2>/dev/null
	kinds=$(k api-resources --no-headers -o name 2>/dev/null | grep -E \
		'\.(toolkit\.fluxcd\.io|cflux\.io)$' | paste -sd,)
	for ns in $(printf '%s\n' "$NS" "${OP_NS:-}" | sort -u); do
		k get events -n "$ns" -o json >>"$d/events.json" 2>/dev/null
		[ -n "$kinds" ] && k get "$kinds" -n "$ns" \
			-o jsonpath='{range .items[*]}{.kind}/{.metadata.name} {.status}{"\n"}{end}' \
			>>"$d/status.txt" 2>/dev/null
		k get secrets -n "$ns" -o json 2>/dev/null |
			python3 "$repo/test/e2e/lib/secrets_audit.py" seeds >>"$d/seeds" 2>/dev/null
	done
	return 0
}

e2e_cleanup() {
	audit_save
	rm -f "${TMPDIR:-/tmp}/cflux-free-ports.$$"
	[ -n "$OP_PID" ] && kill "$OP_PID" 2>/dev/null && wait "$OP_PID" 2>/dev/null
	[ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null && wait "$PROXY_PID" 2>/dev/null
	if [ "$OP_MODE" = cluster ] && [ -n "$OP_NS" ]; then
		# While the operator runs, its objects go (finalizers honoured), so
		# no namespace is left terminating on a finalizer nobody handles.
		# Only the kinds whose CRDs exist: one unknown kind fails the whole delete.
		local kinds
		kinds=$(k api-resources --no-headers -o name 2>/dev/null | grep -E \
			'^(kustomizations|gitrepositories|buckets|ocirepositories|helmrepositories|helmcharts|fluxconfigurations)\.' | paste -sd,)
		[ -n "$kinds" ] && k delete "$kinds" --all -n "$NS" --wait=true --timeout=30s >/dev/null 2>&1
		"$HELM" uninstall "$OP_RELEASE" -n "$OP_NS" --wait=false >/dev/null 2>&1
		# The applier binding a scope: cluster configuration got (cluster-wide).
		k delete clusterrolebinding "flux-applier-$NS" --ignore-not-found >/dev/null 2>&1
		[ "$OP_NS" != "$NS" ] && k delete namespace "$OP_NS" --wait=false >/dev/null 2>&1
	fi
	k delete namespace "$NS" --wait=false >/dev/null 2>&1
	rm -rf "$GIT_ROOT/$REPO.git"
	[ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap e2e_cleanup EXIT

# fault_proxy_start: test/faults' proxy in front of the apiserver (PROXY_PID,
# PROXY_PORT; its rules at http://127.0.0.1:$PROXY_PORT/__faults/rules) and
# $W/proxy.kubeconfig, the admin through it; stopped by e2e_cleanup.
PROXY_PID=
PROXY_PORT=
fault_proxy_start() {
	local fp
	fp=$(bash "$repo/test/faults/build.sh") || return 1
	"$fp" -listen 127.0.0.1:0 -upstream "$APISERVER_URL" -upstream-ca "$CLUSTER_CA" \
		-port-file "$W/proxy.port" >"$W/proxy.log" 2>&1 &
	PROXY_PID=$!
	poll 20 test -s "$W/proxy.port" || return 1
	PROXY_PORT=$(cat "$W/proxy.port")
	cat >"$W/proxy.kubeconfig" <<-EOF
		apiVersion: v1
		kind: Config
		clusters: [{name: proxy, cluster: {server: "http://127.0.0.1:$PROXY_PORT"}}]
		users: [{name: admin, user: {token: "$ADMIN_TOKEN"}}]
		contexts: [{name: proxy, context: {cluster: proxy, user: admin, namespace: $NS}}]
		current-context: proxy
	EOF
}

# free_port: a TCP port for a listener this test starts.  Drawn below the
# kernel's ephemeral range (ip_local_port_range, 32768-60999 here), where
# any outgoing connection could take it between the draw and the bind (CI
# once lost source-controller's metrics port so); not one in use by any
# socket; and not one this shell handed out before ($(free_port) runs in a
# subshell, so they are kept in a file named after the shell).
free_port() {
	local p given=${TMPDIR:-/tmp}/cflux-free-ports.$$
	while :; do
		p=$((20000 + RANDOM % 12000))
		grep -qx "$p" "$given" 2>/dev/null && continue
		[ -n "$(ss -tanH "( sport = :$p )" 2>/dev/null)" ] && continue
		echo "$p" >>"$given"
		echo "$p"
		return
	done
}

# flux_start NS NAME...: Flux's own controllers (NAME source, kustomize,
# helm or notification) on this host as oracles, watching NS alone, events off, the
# dependency requeue of 2 s start_operator gives cflux, logs in
# $W/NAME-controller.log, pids added to FLUX_PIDS; source-controller's
# artifacts under $W/flux-data, served on FLUX_STORAGE_PORT.  Returns once
# every one is ready (60 s), else prints the tails of their logs and
# returns 1.
FLUX_PIDS=()
flux_start() {
	local attempt
	# A random port another test took first makes a controller exit at
	# once: start those again on new ports.
	for attempt in 1 2 3; do
		flux_start_once "$@" && return 0
		echo "# flux_start: attempt $attempt failed" >&2
	done
	return 1
}
flux_start_once() {
	local ns=$1 name bin i port ready health=() logs=() pids=() args p
	shift
	for name in "$@"; do
		health+=("$(free_port)")
		logs+=("$W/$name-controller.log")
		args=(--metrics-addr="127.0.0.1:$(free_port)" --health-addr="127.0.0.1:${health[-1]}"
			--enable-leader-election=false --events-addr= --watch-all-namespaces=false)
		case $name in
		source)
			bin=$SOURCE_CONTROLLER
			FLUX_STORAGE_PORT=$(free_port)
			mkdir -p "$W/flux-data"
			args+=(--storage-path="$W/flux-data" --storage-addr="127.0.0.1:$FLUX_STORAGE_PORT"
				--storage-adv-addr="127.0.0.1:$FLUX_STORAGE_PORT")
			;;
		kustomize) bin=$KUSTOMIZE_CONTROLLER; args+=(--requeue-dependency=2s) ;;
		helm) bin=$HELM_CONTROLLER; args+=(--requeue-dependency=2s) ;;
		notification)
			# Events are POSTed to FLUX_EVENTS_PORT (its event server).
			bin=$NOTIFICATION_CONTROLLER
			FLUX_EVENTS_PORT=$(free_port)
			args=("${args[@]/--events-addr=/--events-addr=127.0.0.1:$FLUX_EVENTS_PORT}"
				--receiverAddr="127.0.0.1:$(free_port)")
			;;
		*) echo "flux_start: unknown controller $name" >&2; return 1 ;;
		esac
		RUNTIME_NAMESPACE=$ns "$bin" "${args[@]}" >"${logs[-1]}" 2>&1 &
		pids+=($!)
	done
	for i in $(seq 1 240); do
		ready=1
		for p in "${pids[@]}"; do
			kill -0 "$p" 2>/dev/null || { ready=dead; break; }
		done
		[ "$ready" = dead ] && break
		for port in "${health[@]}"; do
			curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null || { ready=0; break; }
		done
		if [ "$ready" = 1 ]; then
			FLUX_PIDS+=("${pids[@]}")
			return 0
		fi
		sleep 0.25
	done
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait "${pids[@]}" 2>/dev/null
	grep -h -m3 '"level":"error"' "${logs[@]}" | sed 's/^/# /'
	tail -n 8 "${logs[@]}" | sed 's/^/# /'
	return 1
}

# flux_stop: the controllers flux_start started, stopped.
flux_stop() {
	local p
	for p in "${FLUX_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	FLUX_PIDS=()
}

# crd_install FILE...: our CRD from crds/ when it exists, else Flux's (the same API).
crd_install() {
	local f src
	for f in "$@"; do
		if [ -f "$repo/crds/$f" ]; then
			src=$repo/crds/$f
		else
			src=$(ls "$SOURCE_CONTROLLER_CRDS/$f" "$KUSTOMIZE_CONTROLLER_CRDS/$f" \
				"$HELM_CONTROLLER_CRDS/$f" "$NOTIFICATION_CONTROLLER_CRDS/$f" 2>/dev/null |
				head -n 1)
			if [ -z "$src" ]; then
				bash "$repo/test/cluster/build.sh" flux-crds >&2 || return 1
				src=$(ls "$SOURCE_CONTROLLER_CRDS/$f" "$KUSTOMIZE_CONTROLLER_CRDS/$f" \
					"$HELM_CONTROLLER_CRDS/$f" "$NOTIFICATION_CONTROLLER_CRDS/$f" \
					2>/dev/null | head -n 1)
			fi
		fi
		k apply --server-side --force-conflicts --field-manager=cflux-test -f "$src" || return 1
		k wait --for=condition=Established --timeout=30s \
			"crd/$(basename "$f" .yaml | sed 's/^\([^_]*\)_\(.*\)$/\2.\1/')" || return 1
	done
}

# Random ports can collide with other tests running at the same time: start
# again on new ports until all three endpoints answer.
start_operator_local() {
	local try
	for try in 1 2 3 4 5; do
		SPORT=$(free_port)
		MPORT=$(free_port)
		HPORT=$(free_port)
		RPORT=$(free_port)
		RUNTIME_NAMESPACE=$NS "$BIN/cflux-operator" --kubeconfig="$KUBECONFIG" \
			--log-level=debug --watch-all-namespaces=false --storage-path="$W/data" \
			--storage-addr="127.0.0.1:$SPORT" --storage-adv-addr="127.0.0.1:$SPORT" \
			--metrics-addr="127.0.0.1:$MPORT" --health-addr="127.0.0.1:$HPORT" \
			--receiver-addr="127.0.0.1:$RPORT" --requeue-dependency=2s "$@" >>"$W/operator.log" 2>&1 &
		OP_PID=$!
		if poll 10 bash -c "curl -fsS http://127.0.0.1:$SPORT/ && curl -fsS http://127.0.0.1:$MPORT/metrics && curl -fsS http://127.0.0.1:$HPORT/healthz" >/dev/null 2>&1 &&
			kill -0 "$OP_PID" 2>/dev/null; then
			OP_DATA=$W/data
			return 0
		fi
		kill "$OP_PID" 2>/dev/null
		wait "$OP_PID" 2>/dev/null
		OP_PID=
	done
	return 1
}

# The operator's pods (names), the leader's first.
op_pods() {
	local leader
	leader=$(k get lease -n "$OP_NS" cflux-operator-leader-election -o jsonpath='{.spec.holderIdentity}' 2>/dev/null)
	leader=${leader%_*}
	{
		[ -n "$leader" ] && echo "$leader"
		k get pods -n "$OP_NS" -l app.kubernetes.io/name=cflux -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}'
	} | awk 'NF && !seen[$0]++'
}
op_pod() { op_pods | head -n 1; }

# OP_ADDR, OP_DATA of the current (leading) pod: the host reaches pod IPs,
# and the pod's emptyDir is a directory of the node's /var overlay.
op_locate() {
	local pod uid
	pod=$(op_pod)
	[ -n "$pod" ] || return 1
	OP_ADDR=$(k get pod -n "$OP_NS" "$pod" -o jsonpath='{.status.podIP}')
	uid=$(k get pod -n "$OP_NS" "$pod" -o jsonpath='{.metadata.uid}')
	OP_DATA=$NODE_DIR/var/lib/kubelet/pods/$uid/volumes/kubernetes.io~empty-dir/data
	[ -n "$OP_ADDR" ]
}

# helm_values FLAG...: the chart values for start_operator's flags.
OP_VALUES=()
helm_values() {
	local f
	OP_VALUES=(--set watchAllNamespaces=false --set log-level=debug
		--set kustomize-controller.requeue-dependency=2s
		--set image.repository="$CFLUX_IMAGE_REPOSITORY" --set image.digest="$CFLUX_IMAGE_DIGEST")
	for f in "$@"; do
		case $f in
		--no-cross-namespace-refs=true) OP_VALUES+=(--set multiTenancy.enforce=true) ;;
		--default-service-account=*) OP_VALUES+=(--set multiTenancy.applierServiceAccount="${f#*=}") ;;
		--replicas=*) OP_VALUES+=(--set replicas="${f#*=}") ;;
		# The operator in a namespace of its own, watching all (tenants elsewhere).
		--release-namespace=*) OP_VALUES+=(--set watchAllNamespaces=true) ;;
		--set=*) OP_VALUES+=(--set "${f#--set=}") ;;
		*) echo "start_operator: no chart value for $f" >&2; return 1 ;;
		esac
	done
}

op_ready() {
	local want=${1:-1}
	[ "$(k get deploy -n "$OP_NS" cflux-operator -o jsonpath='{.status.readyReplicas}' 2>/dev/null)" = "$want" ] &&
		[ -n "$(k get lease -n "$OP_NS" cflux-operator-leader-election -o jsonpath='{.spec.holderIdentity}' 2>/dev/null)" ]
}

# image_current: the image tools/image.sh last built holds today's
# bin/cflux-operator and is in the registry of the cluster now up (a
# cluster-down/up starts an empty one).
image_current() (
	e=$repo/build/image/cflux-operator.env
	[ -f "$e" ] && [ "$e" -nt "$repo/bin/cflux-operator" ] || exit 1
	# shellcheck disable=SC1090
	. "$e"
	curl -fsS -o /dev/null -I -H 'Accept: application/vnd.oci.image.index.v1+json' \
		-H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		"http://${CFLUX_IMAGE_REPOSITORY%%/*}/v2/${CFLUX_IMAGE_REPOSITORY#*/}/manifests/$CFLUX_IMAGE_DIGEST"
)

start_operator_cluster() {
	local replicas=1 f
	OP_NS=$NS
	for f in "$@"; do
		case $f in
		--replicas=*) replicas=${f#*=} ;;
		--release-namespace=*) OP_NS=${f#*=} ;;
		esac
	done
	if [ -z "${CFLUX_IMAGE_DIGEST:-}" ]; then
		image_current || bash "$repo/tools/image.sh" >/dev/null || return 1
		# shellcheck disable=SC1091
		. "$repo/build/image/cflux-operator.env"
	fi
	if ! "$HELM" status "$OP_RELEASE" -n "$OP_NS" >/dev/null 2>&1; then
		helm_values "$@" || return 1
		"$HELM" install "$OP_RELEASE" "$repo/charts/cflux" -n "$OP_NS" --create-namespace \
			"${OP_VALUES[@]}" >"$W/helm.log" 2>&1 ||
			{ cat "$W/helm.log"; return 1; }
	fi
	poll 90 op_ready "$replicas" || { k get pods -n "$OP_NS" -o wide; return 1; }
	op_locate && SPORT=9090 MPORT=8080 HPORT=9440 &&
		poll 10 bash -c "curl -fsS http://$OP_ADDR:$MPORT/metrics && curl -fsS http://$OP_ADDR:$HPORT/readyz" >/dev/null
}

start_operator() {
	local f
	OP_NS=$NS
	for f in "$@"; do case $f in --release-namespace=*) OP_NS=${f#*=} ;; esac; done
	# Every kind the operator watches must exist (an informer on a missing
	# resource only retries and logs).
	k apply --server-side --force-conflicts --field-manager=cflux-test -f "$repo/crds/" >/dev/null || return 1
	if [ "$OP_MODE" = cluster ]; then
		start_operator_cluster "$@"
	else
		# Local: the runtime namespace is NS, watched alone, as before.
		local a=()
		for f in "$@"; do case $f in --release-namespace=*) ;; *) a+=("$f") ;; esac; done
		start_operator_local "${a[@]}"
	fi
}

# A container's host process: ctr knows it by the pod's container ID.
op_host_pid() { # POD
	local cid
	cid=$(k get pod -n "$OP_NS" "$1" -o jsonpath='{.status.containerStatuses[0].containerID}')
	ctr --address "$CONTAINERD_SOCK" -n k8s.io tasks ls 2>/dev/null | awk -v id="${cid#containerd://}" '$1 == id {print $2}'
}

# op_hwm_kib: the operator's peak RSS (KiB), from its process as this host
# sees it: in the cluster the container's process (the node shares the
# host's PID namespace), else the local one.
op_hwm_kib() {
	local pid=$OP_PID
	[ "$OP_MODE" = cluster ] && pid=$(op_host_pid "$(op_pod)")
	awk '/VmHWM/ {print $2}' "/proc/$pid/status"
}

# stop_operator: SIGTERM; OP_RC is its exit status.  In the cluster the
# kubelet starts it again in the same pod (start_operator waits for that).
stop_operator() {
	if [ "$OP_MODE" = local ]; then
		OP_RC=0
		kill -TERM "$OP_PID"
		wait "$OP_PID" || OP_RC=$?
		OP_PID=
		return 0
	fi
	local pod restarts pid i
	pod=$(op_pod)
	restarts=$(k get pod -n "$OP_NS" "$pod" -o jsonpath='{.status.containerStatuses[0].restartCount}')
	pid=$(op_host_pid "$pod")
	[ -n "$pid" ] || { echo "stop_operator: no process for pod $pod" >&2; return 1; }
	k logs -n "$OP_NS" "$pod" -f >"$W/operator-$pod-$restarts.log" 2>&1 &
	local follower=$!
	sleep 0.5
	kill -TERM "$pid"
	for i in $(seq 1 240); do
		OP_RC=$(k get pod -n "$OP_NS" "$pod" -o jsonpath='{.status.containerStatuses[0].lastState.terminated.exitCode}')
		[ "$(k get pod -n "$OP_NS" "$pod" -o jsonpath='{.status.containerStatuses[0].restartCount}')" != "$restarts" ] &&
			[ -n "$OP_RC" ] && break
		sleep 0.25
	done
	wait "$follower" 2>/dev/null
	[ -n "$OP_RC" ]
}

# The operator's log: every run of every pod (cluster), or the file (local).
op_log() {
	if [ "$OP_MODE" = local ]; then
		cat "$W/operator.log" 2>/dev/null
		return 0
	fi
	local p
	cat "$W"/operator-*.log 2>/dev/null
	for p in $(op_pods); do k logs -n "$OP_NS" "$p" 2>/dev/null; done
}

# jpk KIND NAME JSONPATH
jpk() { k get "$1" -n "$NS" "$2" -o jsonpath="$3" 2>/dev/null; }
# cond KIND NAME TYPE FIELD: a condition's field
cond() { jpk "$1" "$2" "{.status.conditions[?(@.type==\"$3\")].$4}"; }
# is_ready KIND NAME STATUS [REASON]
is_ready() {
	[ "$(cond "$1" "$2" Ready status)" = "$3" ] &&
		{ [ -z "${4:-}" ] || [ "$(cond "$1" "$2" Ready reason)" = "$4" ]; }
}

# gitrepo NAME URL [extra spec lines]
gitrepo() {
	{
		printf 'apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\n'
		printf 'metadata:\n  name: %s\n  namespace: %s\n' "$1" "$NS"
		printf 'spec:\n  interval: 10m\n  timeout: 20s\n  url: %s\n' "$2"
		shift 2
		for l in "$@"; do printf '  %s\n' "$l"; done
	} | k apply -f -
}

# kustomization NAME SOURCE PATH [extra spec lines]  (prune: false unless given)
kustomization() {
	local l prune="prune: false"
	for l in "${@:4}"; do case $l in prune:*) prune= ;; esac; done
	{
		printf 'apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n'
		printf 'metadata:\n  name: %s\n  namespace: %s\n' "$1" "$NS"
		printf 'spec:\n  interval: 10m\n  retryInterval: 2s\n  timeout: 20s\n'
		printf '  sourceRef:\n    kind: GitRepository\n    name: %s\n  path: %s\n' "$2" "$3"
		[ -n "$prune" ] && printf '  %s\n' "$prune"
		shift 3
		for l in "$@"; do printf '  %s\n' "$l"; done
	} | k apply -f -
}

# cluster_only WHY: a scenario that needs the operator in the cluster ends
# here, skipped, in local mode.
cluster_only() {
	[ "$OP_MODE" = cluster ] && return 0
	echo "ok 1 - # SKIP $1 (OP_MODE=$OP_MODE)"
	echo "1..1"
	exit 0
}

# art_curl OUT URL: fetch an artifact from status.artifact.url.  In the
# cluster the URL names the operator's Service; this host reaches its
# ClusterIP (through the node's kube-proxy) but does not use cluster DNS.
art_curl() {
	local url=$2 ip
	if [ "$OP_MODE" = cluster ]; then
		ip=$(k get svc -n "$OP_NS" cflux-operator -o jsonpath='{.spec.clusterIP}')
		url=${url/cflux-operator.$OP_NS.svc.cluster.local./$ip}
	fi
	# Until the Service has a ready endpoint, and kube-proxy has it, the
	# connection is rejected at once (seen under load in two CI runs, once
	# for longer than 20 s): wait for the endpoint, then try for 60 s.
	if [ "$OP_MODE" = cluster ]; then
		poll 60 bash -c "$KUBECTL get endpointslices -n $OP_NS -l kubernetes.io/service-name=cflux-operator -o jsonpath='{.items[*].endpoints[*].conditions.ready}' | grep -q true"
	fi
	curl -fsS --retry 60 --retry-delay 1 --retry-connrefused -o "$1" "$url" && return 0
	# What the next post-mortem needs: was the pod ready, did the Service have it?
	[ "$OP_MODE" = cluster ] && {
		k get pods -n "$OP_NS" -l app.kubernetes.io/name=cflux -o wide
		k get endpointslices -n "$OP_NS" -l kubernetes.io/service-name=cflux-operator -o yaml | grep -E 'ready|addresses' -A1
	} >&2
	return 1
}

# cli_same DESC ARGS...: bin/cflux and the flux CLI ($FLUX_CLI) print the
# same stdout and exit status.  An object's status may move between the two
# runs (a retrying Kustomization is Ready Unknown while one runs): a
# difference is taken only if it stays over five tries.
cli_same() {
	local desc=$1 rc1 rc2 i
	shift
	for i in 1 2 3 4 5; do
		"$BIN/cflux" "$@" >"$W/c.out" 2>"$W/c.err"; rc1=$?
		"$FLUX_CLI" "$@" >"$W/f.out" 2>"$W/f.err"; rc2=$?
		if [ "$rc1" = "$rc2" ] && cmp -s "$W/c.out" "$W/f.out"; then
			pass "$desc"
			return
		fi
		sleep 0.3
	done
	{ echo "cflux rc=$rc1 flux rc=$rc2"; diff "$W/f.out" "$W/c.out"; cat "$W/c.err"; } >"$OUT"
	fail "$desc"
}

# `bash -c` checks see the helpers too.
export -f k op_log op_pods op_pod art_curl op_host_pid op_hwm_kib
export NS W OP_MODE OP_RELEASE OP_NS OP_PID KUBECTL CONTAINERD_SOCK

tap_end() {
	if [ "$FAILED" -gt 0 ]; then
		echo "# operator log (tail, $OP_MODE):"
		op_log | tail -n 30 | sed 's/^/# /'
	fi
	echo "1..$N"
	[ "$FAILED" -eq 0 ]
}
