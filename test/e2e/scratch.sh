#!/bin/bash
# scratch.sh: the operator's scratch space stays bounded (issue #25).
#
#   bash test/e2e/scratch.sh
#
# Artifacts are extracted once per digest under $TMPDIR/cflux-artifacts-
# <pid>.  With --extracted-artifacts-max=2, five commits in a row leave at
# most two extracted trees (plus at most one being evicted), not five.
# The HTTP server holds at most 128 connections (serve.c CONN_MAX): 200
# idle ones get the rest closed at once, and it answers again after.
# A GitRepository deleted while the operator was stopped loses its storage
# at the next start (the startup sweep).
# Prints TAP.
set -u
NAME=scratch
# The operator runs on this host (operator.bash OP_MODE=local): it counts the trees in the process's own TMPDIR and opens 200 connections
# to its health port from here.
CFLUX_OPERATOR_MODE=${CFLUX_OPERATOR_MODE:-local}
. "$(dirname "$0")/lib/operator.bash"

check "CRDs installed" crd_install source.toolkit.fluxcd.io_gitrepositories.yaml \
	kustomize.toolkit.fluxcd.io_kustomizations.yaml
k create namespace "$NS" >/dev/null
mkdir -p "$W/tmp" "$W/src/app"

commit() { # N: a new commit; prints its sha
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: %s\ndata:\n  n: "%s"\n' \
		"$NS" "$1" >"$W/src/app/cm.yaml"
	bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src"
}
applied() { [ "$(jpk kustomization app '{.status.lastAppliedRevision}')" = "main@sha1:$1" ]; }
# Trees (not the private .tmp-/.evict- directories) and everything.
trees() { find "$W/tmp"/cflux-artifacts-* -mindepth 1 -maxdepth 1 -type d ! -name '.*' | wc -l; }
all_dirs() { find "$W/tmp"/cflux-artifacts-* -mindepth 1 -maxdepth 1 -type d | wc -l; }
bounded() {
	local t a
	t=$(trees) a=$(all_dirs)
	echo "trees $t, all $a"
	[ "$t" -le 2 ] && [ "$a" -le 3 ]
}

SHA=$(commit 0)
TMPDIR=$W/tmp check "operator starts" start_operator --extracted-artifacts-max=2
gitrepo src "$GIT_HTTP_URL/$REPO.git" "ref:" "  branch: main" >/dev/null
kustomization app src ./app >/dev/null
check "commit 0 applied" poll 60 applied "$SHA"
for i in 1 2 3 4; do
	SHA=$(commit "$i")
	k annotate gitrepository -n "$NS" src --overwrite "reconcile.fluxcd.io/requestedAt=$i" >/dev/null
	check "commit $i applied" poll 60 applied "$SHA"
	check "after commit $i: at most 2 extracted trees" bounded
done

# conn_cap PORT: 200 idle connections; how many the server closed at once.
conn_cap() {
	python3 - "$1" <<'EOF'
import socket, sys, time
port = int(sys.argv[1])
socks = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(200)]
time.sleep(1)
closed = 0
for s in socks:
    s.setblocking(False)
    try:
        closed += s.recv(1) == b""
    except BlockingIOError:
        pass
    except ConnectionResetError:
        closed += 1
print("closed by the server:", closed, "of 200")
for s in socks:
    s.close()
sys.exit(0 if 72 <= closed <= 80 else 1)
EOF
}
check "200 idle connections: all but 128 closed at once" conn_cap "$HPORT"
check "then the health endpoint answers" poll 5 curl -fsS "http://127.0.0.1:$HPORT/healthz"

# The startup sweep: a GitRepository deleted while the operator was stopped
# (its finalizer removed by hand) leaves its artifact and its clone cache;
# the next start removes them, and keeps those of the objects that remain.
gitrepo keep "$GIT_HTTP_URL/$REPO.git" "ref:" "  branch: main" >/dev/null
stored() { [ -d "$OP_DATA/gitrepository/$NS/$1" ] && [ -d "$OP_DATA/.cache/gitrepository/$NS/$1" ]; }
both_stored() { stored src && stored keep; }
check "two GitRepositories, each with its stored artifact and cache" poll 60 both_stored
stop_operator
k patch gitrepository -n "$NS" src --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null
k delete gitrepository -n "$NS" src >/dev/null
check "src deleted while the operator was stopped: its storage stays for now" stored src
TMPDIR=$W/tmp check "operator starts again" start_operator --extracted-artifacts-max=2
gone() { [ ! -e "$OP_DATA/gitrepository/$NS/src" ] && [ ! -e "$OP_DATA/.cache/gitrepository/$NS/src" ]; }
check "the startup sweep removes src's artifact and cache" poll 60 gone
check "and keeps keep's" stored keep
swept_logged() { op_log | grep -q 'Removed the storage of objects deleted while stopped'; }
check "the operator's log says what it removed" swept_logged

tap_end
