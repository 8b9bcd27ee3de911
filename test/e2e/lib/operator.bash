# operator.bash: shared by the operator e2e scenarios (source it from bash).
#
# Before sourcing, set NAME (a short scenario name).  Provides:
#   NS (namespace NAME-<pid>), REPO (git repository name), W (scratch dir),
#   TAP helpers pass/fail/check/poll/diag, k (the cached kubectl),
#   crd_install KIND_FILE... (ours from crds/ when present, else Flux's),
#   start_operator (bin/cflux-operator watching NS; SPORT/MPORT/HPORT),
#   gitrepo/kustomization appliers, cond/ready_is/ready_msg on any kind,
#   tap_end (operator log tail on failure, the plan line, exit status).
# Everything is removed on exit unless KEEP is set.

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

e2e_cleanup() {
	[ -n "$OP_PID" ] && kill "$OP_PID" 2>/dev/null && wait "$OP_PID" 2>/dev/null
	k delete namespace "$NS" --wait=false >/dev/null 2>&1
	rm -rf "$GIT_ROOT/$REPO.git"
	[ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap e2e_cleanup EXIT

free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 30000))
		! ss -ltn "( sport = :$p )" | grep -q ":$p" && echo "$p" && return
	done
}

# crd_install FILE...: our CRD from crds/ when it exists, else Flux's (the same API).
crd_install() {
	local f src
	for f in "$@"; do
		if [ -f "$repo/crds/$f" ]; then
			src=$repo/crds/$f
		else
			src=$(ls "$SOURCE_CONTROLLER_CRDS/$f" "$KUSTOMIZE_CONTROLLER_CRDS/$f" \
				"$HELM_CONTROLLER_CRDS/$f" 2>/dev/null | head -n 1)
			if [ -z "$src" ]; then
				bash "$repo/test/cluster/build.sh" flux-crds >&2 || return 1
				src=$(ls "$SOURCE_CONTROLLER_CRDS/$f" "$KUSTOMIZE_CONTROLLER_CRDS/$f" \
					"$HELM_CONTROLLER_CRDS/$f" 2>/dev/null | head -n 1)
			fi
		fi
		k apply --server-side --force-conflicts --field-manager=cflux-test -f "$src" || return 1
		k wait --for=condition=Established --timeout=30s \
			"crd/$(basename "$f" .yaml | sed 's/^\([^_]*\)_\(.*\)$/\2.\1/')" || return 1
	done
}

# Random ports can collide with other tests running at the same time: start
# again on new ports until all three endpoints answer.
start_operator() {
	local try
	# Every kind the operator watches must exist (an informer on a missing
	# resource only retries and logs).
	k apply --server-side --force-conflicts --field-manager=cflux-test -f "$repo/crds/" >/dev/null || return 1
	for try in 1 2 3 4 5; do
		SPORT=$(free_port)
		MPORT=$(free_port)
		HPORT=$(free_port)
		RUNTIME_NAMESPACE=$NS "$BIN/cflux-operator" --kubeconfig="$KUBECONFIG" \
			--log-level=debug --watch-all-namespaces=false --storage-path="$W/data" \
			--storage-addr="127.0.0.1:$SPORT" --storage-adv-addr="127.0.0.1:$SPORT" \
			--metrics-addr="127.0.0.1:$MPORT" --health-addr="127.0.0.1:$HPORT" \
			--requeue-dependency=2s "$@" >>"$W/operator.log" 2>&1 &
		OP_PID=$!
		if poll 10 bash -c "curl -fsS http://127.0.0.1:$SPORT/ && curl -fsS http://127.0.0.1:$MPORT/metrics && curl -fsS http://127.0.0.1:$HPORT/healthz" >/dev/null 2>&1 &&
			kill -0 "$OP_PID" 2>/dev/null; then
			return 0
		fi
		kill "$OP_PID" 2>/dev/null
		wait "$OP_PID" 2>/dev/null
		OP_PID=
	done
	return 1
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

tap_end() {
	if [ "$FAILED" -gt 0 ] && [ -f "$W/operator.log" ]; then
		echo "# operator log (tail):"
		tail -n 30 "$W/operator.log" | sed 's/^/# /'
	fi
	echo "1..$N"
	[ "$FAILED" -eq 0 ]
}
