#!/usr/bin/env bash
# run.sh: `make chaos`, the fault campaign.  A campaign, not a test of
# `make test`: it takes an hour or more at its full size.
#
# The scenario: CHAOS_SOURCES sources (Git repositories on the test git
# server, CHAOS_OCI of them OCI artifacts in the test registry), each
# feeding CHAOS_KUSTOMIZATIONS/CHAOS_SOURCES Kustomizations.  Kustomization
# N applies ConfigMap cm-N (data: rev, ks); the first of each source also a
# Deployment with one real pod, waited on.  Beside them, CHAOS_HELM
# HelmReleases take chart `chaosapp` from a HelmRepository on the test Helm
# server (chart.spec, version "*"), each applying ConfigMap hr-N-cm (data:
# rev).  Each trial commits revision R+1 to every source (for Helm: chart
# version 0.1.R+1, packaged and indexed by helm), asks the sources (the
# HelmRepository too) to fetch at once, waits a random
# 0-3 s (so the fault lands mid-fetch, mid-build or mid-apply), injects one
# fault, and then requires, within two source intervals (2 x 30 s) plus a
# minute after the fault ends (the report counts the trials that made it
# within the two intervals alone):
#   - every source Ready at its new revision, every Kustomization Ready
#     with it applied, every HelmChart at chart version 0.1.R+1 and every
#     HelmRelease Ready with it released, every ConfigMap at rev R+1
#     (never a mix: an object
#     applied from a half-read revision would show), every Deployment
#     rolled, nothing stuck deleting (finalizers);
#   - no Event flood: an object gets at most CHAOS_EVENT_BUDGET new Event
#     objects in one trial (a repeated one must be aggregated, its count
#     raised, not written again);
#   - the operator's RSS and open fds back near their baseline, and no
#     descriptor left open on a deleted file.
# Faults (CHAOS_FAULTS, each tried CHAOS_REPS times, default 20):
#   operator-kill      SIGKILL of the operator's process (the kubelet
#                      restarts it in its pod, storage kept)
#   apiserver-restart  kube-apiserver stopped 0-4 s and started again
#   etcd-restart       etcd the same
#   etcd-compact       etcdctl compact to the current revision, then defrag
#                      (every watch's resourceVersion is gone)
#   git-down           the git HTTP server down for 30 s
#   registry-down      the OCI registry down for 30 s
#   helm-down          the Helm repository server down for 30 s
#   apiserver-faults   the apiserver through test/faults' proxy for 30 s:
#                      429 with Retry-After, 500, 503, watches reset and
#                      ended with 410, slow answers (operator on this host)
#   disk-full          the artifact storage (a 48 MiB tmpfs) full for 30 s
#                      (operator on this host)
# The first six run against the operator installed in the cluster by the
# chart, as users run it; the last two need the operator's connection or
# disk in the test's hands, so they run it on this host (`make` builds it).
#
# Report: build/chaos/report.md (faults tried and survived, the slowest
# recovery, event and RSS figures); exit 1 if any trial failed.
#
#   make chaos                         (needs make cluster-up)
#   CHAOS_REPS=2 CHAOS_FAULTS="git-down etcd-compact" make chaos
set -u
NAME=chaos
# shellcheck disable=SC1091
. "$(dirname "$0")/../e2e/lib/operator.bash"

REPS=${CHAOS_REPS:-20}
NKS=${CHAOS_KUSTOMIZATIONS:-50}
NSRC=${CHAOS_SOURCES:-10}
NOCI=${CHAOS_OCI:-2}
NHR=${CHAOS_HELM:-2}
FAULTS=${CHAOS_FAULTS:-operator-kill apiserver-restart etcd-restart etcd-compact git-down registry-down helm-down apiserver-faults disk-full}
EVENT_BUDGET=${CHAOS_EVENT_BUDGET:-10}
DOWN=${CHAOS_DOWN_SECONDS:-30}
INTERVAL=30 # the sources' interval; a trial should converge within two after its fault
RANDOM=${CHAOS_SEED:-$$}
CFLUX=$BIN/cflux
OUTD=$repo/build/chaos
mkdir -p "$OUTD"
REPORT=${CHAOS_REPORT:-$OUTD/report.md}
ROWS=$W/rows.tsv
: >"$ROWS"

chaos_cleanup() {
	if [ -n "$LOCAL_PID" ] && [ -z "${KEEP:-}" ]; then
		# while this host's operator runs, so finalizers are handled
		k delete kustomizations,helmreleases,gitrepositories,ocirepositories,helmcharts,helmrepositories --all -n "$NS" \
			--wait=true --timeout=60s >/dev/null 2>&1
	fi
	[ -z "$LOCAL_PID" ] || { kill -TERM "$LOCAL_PID" 2>/dev/null; wait "$LOCAL_PID" 2>/dev/null; LOCAL_PID=; }
	[ -z "$PROXY_PID" ] || { kill "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null; PROXY_PID=; }
	[ -z "$TMPFS" ] || { umount "$TMPFS" 2>/dev/null; TMPFS=; }
	[ -n "${KEEP:-}" ] || rm -rf "${GIT_ROOT:?}/$NS"-s*.git "${HELM_DIR:?}/$NS"
	e2e_cleanup
}
trap chaos_cleanup EXIT

say() { echo "# $(date +%T) $*"; }

# ---------------------------------------------------------------- the scenario

REV=0
declare -A SRCREV # KIND/NAME -> the revision its last commit has
src_kind() { if [ "$1" -le "$NOCI" ]; then echo OCIRepository; else echo GitRepository; fi; }
src_of() { echo $((($1 - 1) % NSRC + 1)); } # Kustomization N's source

# write_source S: source S's files at revision REV
write_source() {
	local s=$1 d=$W/src/s$1 n
	rm -rf "$d"
	mkdir -p "$d"
	for ((n = s; n <= NKS; n += NSRC)); do
		mkdir -p "$d/app-$n"
		printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%s\n  namespace: %s\ndata:\n  rev: "%s"\n  ks: ks-%s\n' \
			"$n" "$NS" "$REV" "$n" >"$d/app-$n/cm.yaml"
		[ "$n" -le "$NSRC" ] || continue
		cat >"$d/app-$n/deploy.yaml" <<-EOF
			apiVersion: apps/v1
			kind: Deployment
			metadata:
			  name: web-$n
			  namespace: $NS
			spec:
			  replicas: 1
			  selector:
			    matchLabels: {app: web-$n}
			  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 1}}
			  template:
			    metadata:
			      labels: {app: web-$n}
			    spec:
			      terminationGracePeriodSeconds: 1
			      containers:
			      - name: app
			        image: cflux.local/testapp:1
			        env: [{name: REV, value: "$REV"}]
		EOF
	done
}

# publish_chart: chart chaosapp, version 0.1.REV, in the Helm repository
# (packaged and indexed by the helm CLI, as a chart's publisher would).
publish_chart() {
	local d=$W/chaosapp
	[ "$NHR" -gt 0 ] || return 0
	mkdir -p "$d/templates" "$HELM_DIR/$NS"
	printf 'apiVersion: v2\nname: chaosapp\nversion: 0.1.%s\n' "$REV" >"$d/Chart.yaml"
	printf 'rev: "%s"\n' "$REV" >"$d/values.yaml"
	# shellcheck disable=SC2016 # a template, not a shell expansion
	printf '%s\n' 'apiVersion: v1' 'kind: ConfigMap' 'metadata:' '  name: {{ .Release.Name }}-cm' 'data:' \
		'  rev: {{ .Values.rev | quote }}' '  release: {{ .Release.Name }}' >"$d/templates/cm.yaml"
	"$HELM" package "$d" -d "$HELM_DIR/$NS" >/dev/null &&
		"$HELM" repo index "$HELM_DIR/$NS" --url "$HELM_URL/$NS"
}

# commit: revision REV+1 to every source; SRCREV and want.json follow.
commit() {
	local s sha dig
	REV=$((REV + 1))
	publish_chart || return 1
	for ((s = 1; s <= NSRC; s++)); do
		write_source "$s"
		if [ "$(src_kind "$s")" = OCIRepository ]; then
			dig=$("$CFLUX" push artifact "oci://$REGISTRY_HOST/$NS/s$s:latest" --path="$W/src/s$s" \
				--source=chaos --revision="r$REV@sha1:$(printf '%040d' "$REV")" --output=json |
				sed -n 's/.*"digest": "\(.*\)".*/\1/p')
			[ -n "$dig" ] || return 1
			SRCREV[OCIRepository/s$s]="latest@$dig"
		else
			sha=$(bash "$repo/test/cluster/mkrepo.sh" "$NS-s$s" "$W/src/s$s" 2>/dev/null | tail -n 1)
			[ -n "$sha" ] || return 1
			SRCREV[GitRepository/s$s]="main@sha1:$sha"
		fi
	done
	want_json >"$W/want.json"
}

want_json() {
	local s n sep=
	printf '{"rev": %s, "sources": {' "$REV"
	for ((s = 1; s <= NSRC; s++)); do
		printf '%s"%s/s%s": "%s"' "$sep" "$(src_kind "$s")" "$s" "${SRCREV[$(src_kind "$s")/s$s]}"
		sep=", "
	done
	printf '}, "kustomizations": {'
	sep=
	for ((n = 1; n <= NKS; n++)); do
		printf '%s"ks-%s": "%s/s%s"' "$sep" "$n" "$(src_kind "$(src_of "$n")")" "$(src_of "$n")"
		sep=", "
	done
	printf '}, "deployments": ['
	sep=
	for ((n = 1; n <= NSRC && n <= NKS; n++)); do
		printf '%s"web-%s"' "$sep" "$n"
		sep=", "
	done
	printf '], "helmreleases": ['
	sep=
	for ((n = 1; n <= NHR; n++)); do
		printf '%s"hr-%s"' "$sep" "$n"
		sep=", "
	done
	printf ']}\n'
}

objects() {
	{
		local s n kind
		for ((s = 1; s <= NSRC; s++)); do
			kind=$(src_kind "$s")
			printf -- '---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: %s\nmetadata:\n  name: s%s\n  namespace: %s\n' \
				"$kind" "$s" "$NS"
			printf 'spec:\n  interval: %ss\n  timeout: 20s\n' "$INTERVAL"
			if [ "$kind" = OCIRepository ]; then
				printf '  url: oci://%s/%s/s%s\n  insecure: true\n  ref: {tag: latest}\n' "$REGISTRY_HOST" "$NS" "$s"
			else
				printf '  url: %s/%s-s%s.git\n  ref: {branch: main}\n' "$GIT_HTTP_URL" "$NS" "$s"
			fi
		done
		for ((n = 1; n <= NKS; n++)); do
			s=$(src_of "$n")
			printf -- '---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n'
			printf 'metadata:\n  name: ks-%s\n  namespace: %s\n' "$n" "$NS"
			printf 'spec:\n  interval: 5m\n  retryInterval: 5s\n  timeout: 60s\n  prune: true\n'
			printf '  sourceRef: {kind: %s, name: s%s}\n  path: ./app-%s\n' "$(src_kind "$s")" "$s" "$n"
			[ "$n" -le "$NSRC" ] && printf '  wait: true\n'
		done
		if [ "$NHR" -gt 0 ]; then
			printf -- '---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\n'
			printf 'metadata:\n  name: charts\n  namespace: %s\n' "$NS"
			printf 'spec:\n  interval: %ss\n  timeout: 20s\n  url: %s/%s\n' "$INTERVAL" "$HELM_URL" "$NS"
		fi
		for ((n = 1; n <= NHR; n++)); do
			printf -- '---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\n'
			printf 'metadata:\n  name: hr-%s\n  namespace: %s\n' "$n" "$NS"
			printf 'spec:\n  interval: 5m\n  timeout: 60s\n  chart:\n    spec:\n      chart: chaosapp\n'
			printf '      version: "*"\n      interval: %ss\n      sourceRef: {kind: HelmRepository, name: charts}\n' "$INTERVAL"
			# An upgrade an apiserver fault broke is a failed release; as
			# in Flux, only remediation retries try it again before the next
			# change (without them it waits, Stalled RetriesExceeded).
			printf '  install: {remediation: {retries: 3}}\n  upgrade: {remediation: {retries: 3}}\n'
		done
	} | k apply -f - >/dev/null
}

poke() {
	local s pids=()
	for ((s = 1; s <= NSRC; s++)); do
		k annotate -n "$NS" --overwrite "$(src_kind "$s")" "s$s" "reconcile.fluxcd.io/requestedAt=$(date +%s%N)" >/dev/null &
		pids+=($!)
	done
	if [ "$NHR" -gt 0 ]; then
		k annotate -n "$NS" --overwrite helmrepository charts "reconcile.fluxcd.io/requestedAt=$(date +%s%N)" >/dev/null &
		pids+=($!)
	fi
	wait "${pids[@]}" # not the operator and proxy this shell started
}

# wait_converged SECONDS: converged, checked every second (what is still
# missing every 10 s goes to W/waits, for a slow recovery's post-mortem).
wait_converged() {
	local end=$((SECONDS + $1)) next=$((SECONDS + 10))
	until converged; do
		[ "$SECONDS" -lt "$end" ] || return 1
		if [ "$SECONDS" -ge "$next" ]; then
			{ date +%T; head -n 4 "$W/problems"; } >>"$W/waits"
			next=$((SECONDS + 10))
		fi
		sleep 1
	done
}

converged() {
	k get gitrepositories,ocirepositories,helmrepositories,helmcharts,kustomizations,helmreleases,configmaps,deployments \
		-n "$NS" -o json 2>/dev/null |
		python3 "$repo/test/chaos/state.py" converged "$W/want.json" >"$W/problems" 2>&1
}

# ---------------------------------------------------------------- the operator

LOCAL_PID=
TMPFS=

op_pid() {
	if [ -n "$LOCAL_PID" ]; then echo "$LOCAL_PID"
	elif [ "$OP_MODE" = local ]; then echo "$OP_PID"
	else op_host_pid "$(op_pod)"; fi
}
op_rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$(op_pid)/status" 2>/dev/null; }
op_fds() { find "/proc/$(op_pid)/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
# op_deleted: the files the operator holds open though they are deleted
# (a descriptor a failed write left open shows here, once per failure).
op_deleted() { find "/proc/$(op_pid)/fd" -mindepth 1 -maxdepth 1 -lname '*(deleted)' -printf '%l\n' 2>/dev/null; }

# start_local: this host's operator, through the fault proxy, its storage on
# a small tmpfs; the in-cluster one is uninstalled first.
start_local() {
	if "$HELM" status "$OP_RELEASE" -n "$OP_NS" >/dev/null 2>&1; then
		"$HELM" uninstall "$OP_RELEASE" -n "$OP_NS" --wait >/dev/null 2>&1
	fi
	fault_proxy_start || return 1
	TMPFS=$W/storage
	mkdir -p "$TMPFS"
	if [ "$(id -u)" = 0 ]; then
		mount -t tmpfs -o size=48m tmpfs "$TMPFS" || { TMPFS=; return 1; }
	fi
	SPORT=$(free_port) MPORT=$(free_port) HPORT=$(free_port) RPORT=$(free_port)
	RUNTIME_NAMESPACE=$NS "$BIN/cflux-operator" --kubeconfig="$W/proxy.kubeconfig" \
		--log-level=debug --watch-all-namespaces=false --storage-path="$TMPFS" \
		--storage-addr="127.0.0.1:$SPORT" --storage-adv-addr="127.0.0.1:$SPORT" \
		--metrics-addr="127.0.0.1:$MPORT" --health-addr="127.0.0.1:$HPORT" \
		--receiver-addr="127.0.0.1:$RPORT" >>"$W/operator-local.log" 2>&1 &
	LOCAL_PID=$!
	poll 20 curl -fsS "http://127.0.0.1:$HPORT/readyz" >/dev/null 2>&1
}

# ---------------------------------------------------------------- the faults

rules() { curl -fsS -X POST --data-binary "$1" "http://127.0.0.1:$PROXY_PORT/__faults/rules" >/dev/null; }

inject() {
	case $1 in
	operator-kill)
		local pid
		pid=$(op_pid)
		[ -n "$pid" ] && kill -KILL "$pid" || return 1
		FAULT_END=$(date +%s.%N) # recovery counts the restart
		if [ "$OP_MODE" = local ]; then
			wait "$OP_PID" 2>/dev/null
			start_operator_local
		else
			sleep 2
			poll 120 op_ready && op_locate
		fi
		;;
	apiserver-restart) RESTART_DOWN_SECONDS=$((RANDOM % 5)) bash "$repo/test/cluster/restart.sh" kube-apiserver 2>/dev/null ;;
	etcd-restart) RESTART_DOWN_SECONDS=$((RANDOM % 5)) bash "$repo/test/cluster/restart.sh" etcd 2>/dev/null ;;
	etcd-compact)
		local rev
		rev=$("$ETCDCTL" --endpoints="$ETCD_URL" endpoint status -w json |
			python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Status"]["header"]["revision"])') &&
			"$ETCDCTL" --endpoints="$ETCD_URL" compact "$rev" >/dev/null &&
			"$ETCDCTL" --endpoints="$ETCD_URL" defrag >/dev/null
		;;
	git-down) bash "$repo/test/cluster/servers.sh" bounce lighttpd-git "$DOWN" 2>/dev/null ;;
	registry-down) bash "$repo/test/cluster/servers.sh" bounce registry "$DOWN" 2>/dev/null ;;
	helm-down) bash "$repo/test/cluster/servers.sh" bounce lighttpd-helm "$DOWN" 2>/dev/null ;;
	apiserver-faults)
		# Bursts of each, a few tens of requests each, then clear.
		rules "[{\"method\": \"PATCH\", \"count\": $((10 + RANDOM % 30)), \"action\": \"status\", \"status\": 429, \"reason\": \"TooManyRequests\", \"retry_after\": 1},
			{\"query\": \"watch=true\", \"count\": $((3 + RANDOM % 8)), \"action\": \"reset_after\", \"bytes\": $((RANDOM % 400))},
			{\"query\": \"watch=true\", \"count\": $((2 + RANDOM % 5)), \"action\": \"watch_error_after\", \"events\": $((RANDOM % 3))},
			{\"method\": \"GET\", \"count\": $((10 + RANDOM % 30)), \"action\": \"status\", \"status\": 500, \"reason\": \"InternalError\"},
			{\"method\": \"POST\", \"count\": $((5 + RANDOM % 10)), \"action\": \"status\", \"status\": 503, \"reason\": \"ServiceUnavailable\"},
			{\"count\": $((20 + RANDOM % 40)), \"action\": \"delay\", \"delay_ms\": $((200 + RANDOM % 1500))}]" &&
			sleep "$DOWN" && curl -fsS -X DELETE "http://127.0.0.1:$PROXY_PORT/__faults/rules" >/dev/null
		;;
	disk-full)
		# The storage was filled before the commit (trial); it stays full
		# while the new revision arrives: what the artifact GC frees (stale
		# revisions past their TTL) is filled again at once, or a fetch
		# slips into it; the answer must be a clear failure; then it is freed.
		local until=$((SECONDS + DOWN)) n=0
		while [ "$SECONDS" -lt "$until" ]; do
			dd if=/dev/zero of="$TMPFS/filler.$((n++))" bs=64k >/dev/null 2>&1
			sleep 0.2
		done
		k get gitrepositories,ocirepositories -n "$NS" -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].message}{"\n"}{end}' >"$W/full.msgs"
		rm -f "$TMPFS"/filler*
		grep -qi "no space left" "$W/full.msgs" || { echo "# disk full: no source said so:"; head -n 3 "$W/full.msgs" | sed 's/^/#   /'; return 1; }
		;;
	*) echo "unknown fault $1" >&2; return 1 ;;
	esac
}

# ---------------------------------------------------------------- trials

RSS0= FDS0=
baseline() {
	RSS0=$(op_rss_kib)
	FDS0=$(op_fds)
	say "baseline: RSS $((RSS0 / 1024)) MiB, $FDS0 fds"
}

# trial FAULT I: one commit, one fault, the checks; a row in ROWS.
trial() {
	local f=$1 i=$2 t0 t1 dl ok=1 why= ev_max rss fds e0
	k get events -n "$NS" -o json >"$W/ev0.json"
	[ "$f" != disk-full ] || dd if=/dev/zero of="$TMPFS/filler" bs=1M >/dev/null 2>&1
	commit || { pass_fail 0 "$f #$i: commit failed"; return; }
	poke
	sleep "$((RANDOM % 4)).$((RANDOM % 10))"
	t0=$(date +%s.%N)
	FAULT_END=
	inject "$f" || { ok=0; why="the fault itself failed"; }
	t1=${FAULT_END:-$(date +%s.%N)}
	# the deadline counts from the fault's end (for a kill, the kill)
	dl=$(python3 -c "print(max(1, int($((2 * INTERVAL + 60)) - ($(date +%s.%N) - $t1))))")
	wait_converged "$dl" || { ok=0; why="not converged in $((2 * INTERVAL + 60))s after the fault: $(head -n 3 "$W/problems" | tr '\n' ';')"; }
	local took
	took=$(python3 -c "print('%.1f' % ($(date +%s.%N) - $t1))")
	# Events: new Event objects per involved object in this trial.
	k get events -n "$NS" -o json >"$W/ev1.json"
	ev_max=$(python3 - "$W/ev0.json" "$W/ev1.json" <<-'PY'
		import json, sys, collections
		old = {e["metadata"]["uid"] for e in json.load(open(sys.argv[1]))["items"]}
		per = collections.Counter()
		for e in json.load(open(sys.argv[2]))["items"]:
		    if e["metadata"]["uid"] not in old:
		        io = e.get("involvedObject", {})
		        per["%s/%s" % (io.get("kind"), io.get("name"))] += 1
		print(max(per.values()) if per else 0, per.most_common(1)[0][0] if per else "-")
	PY
	)
	[ "${ev_max%% *}" -le "$EVENT_BUDGET" ] || { ok=0; why="$why event flood: ${ev_max#* } got ${ev_max%% *} new Events"; }
	if [ "$f" = operator-kill ]; then baseline >/dev/null; fi
	rss=$(op_rss_kib) fds=$(op_fds)
	if [ -n "$rss" ] && [ "$rss" -gt $((RSS0 * 3 / 2 + 8192)) ]; then ok=0; why="$why RSS ${rss} KiB against ${RSS0}"; fi
	if [ -n "$fds" ] && [ "$fds" -gt $((FDS0 + 12)) ]; then ok=0; why="$why $fds fds against $FDS0"; fi
	op_deleted >"$W/deleted"
	if [ -s "$W/deleted" ]; then
		ok=0
		why="$why $(wc -l <"$W/deleted") fds open on deleted files ($(sort "$W/deleted" | uniq -c | head -n 2 | tr -s ' \n' ' '))"
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$f" "$i" "$ok" "$took" "${ev_max%% *}" "${rss:-?}" "${fds:-?}" "$INTERVAL" >>"$ROWS"
	pass_fail "$ok" "$f #$i: converged to rev $REV in ${took}s after the fault; max new Events per object ${ev_max%% *}; RSS $((${rss:-0} / 1024)) MiB, ${fds:-?} fds${why:+ -- $why}"
}

pass_fail() { if [ "$1" = 1 ]; then pass "$2"; else fail "$2"; fi; }

# phase DESC START FAULTS: start the operator one way, converge, then
# every fault REPS times.
phase() {
	local f i
	check "$1" "$2"
	objects
	check "the scenario converges" wait_converged 300
	[ "$FAILED" = 0 ] || diag "$W/problems"
	baseline
	for f in $3; do
		for ((i = 1; i <= REPS; i++)); do trial "$f" "$i"; done
	done
}

# ---------------------------------------------------------------- main

k create ns "$NS" >/dev/null
say "scenario: $NSRC sources ($NOCI OCI), $NKS Kustomizations, $NHR HelmReleases, faults: $FAULTS; $REPS each; seed ${CHAOS_SEED:-$$}"
# The kinds first: with only the local faults chosen, no chart install
# brings them before the first commit.
k apply --server-side --force-conflicts --field-manager=cflux-test -f "$repo/crds/" >/dev/null ||
	{ fail "CRDs"; tap_end; }
commit || { fail "first commit"; tap_end; }
IN_CLUSTER=
LOCAL_FAULTS=
for f in $FAULTS; do
	case $f in apiserver-faults | disk-full) LOCAL_FAULTS="$LOCAL_FAULTS $f" ;; *) IN_CLUSTER="$IN_CLUSTER $f" ;; esac
done

if [ -n "$IN_CLUSTER" ]; then
	if [ "$OP_MODE" != cluster ]; then
		say "no node (or BIN is not bin/): the in-cluster faults run against the operator on this host"
	fi
	phase "operator starts ($OP_MODE)" start_operator "$IN_CLUSTER"
	[ "$OP_MODE" = local ] && { kill -TERM "$OP_PID" 2>/dev/null; wait "$OP_PID" 2>/dev/null; OP_PID=; }
fi
if [ "$(id -u)" != 0 ] && [[ " $LOCAL_FAULTS " == *" disk-full "* ]]; then
	say "not root: no tmpfs for the disk-full fault; skipping it"
	LOCAL_FAULTS=${LOCAL_FAULTS/disk-full/}
fi
if [ -n "${LOCAL_FAULTS// /}" ]; then
	phase "operator on this host, through the fault proxy, storage on a 48 MiB tmpfs" start_local "$LOCAL_FAULTS"
fi

python3 - "$ROWS" "$REPORT" "$NSRC" "$NOCI" "$NKS" "$NHR" "$REPS" "${CHAOS_SEED:-$$}" <<'PY'
import sys, collections
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
by = collections.OrderedDict()
for f, i, ok, took, ev, rss, fds, interval in rows:
    by.setdefault(f, []).append((ok == "1", float(took), int(ev), rss, fds, float(took) <= 2 * int(interval)))
out = ["# make chaos", "",
       "%s sources (%s OCI), %s Kustomizations, %s HelmReleases; %s tries of each fault; seed %s." % tuple(sys.argv[3:9]), "",
       "A trial survives when everything converged within two source intervals plus a minute after its fault; "
       "the third column counts those within the two intervals (%s s) alone." % (2 * int(rows[0][7]) if rows else "?"), "",
       "| fault | tried | survived | within 2 intervals | slowest recovery (s) | median (s) | most new Events on one object | RSS KiB (last) | fds (last) |",
       "|---|---|---|---|---|---|---|---|---|"]
for f, rs in by.items():
    t = sorted(r[1] for r in rs)
    out.append("| %s | %d | %d | %d | %.1f | %.1f | %d | %s | %s |" % (
        f, len(rs), sum(r[0] for r in rs), sum(r[0] and r[5] for r in rs), t[-1], t[len(t) // 2],
        max(r[2] for r in rs), rs[-1][3], rs[-1][4]))
tried = len(rows)
surv = sum(1 for r in rows if r[2] == "1")
inside = sum(1 for r in rows if r[2] == "1" and float(r[3]) <= 2 * int(r[7]))
out += ["", "Total: %d tried, %d survived, %d of them within two intervals." % (tried, surv, inside)]
open(sys.argv[2], "w").write("\n".join(out) + "\n")
print("\n".join("# " + l for l in out))
PY
tap_end
