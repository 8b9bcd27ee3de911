#!/bin/bash
# parity.sh: public kustomization directories applied by Flux's own
# source-controller and kustomize-controller, then by cflux, one after the
# other on the same cluster, and what each did compared (TAP).
#
# The directories are the committed public corpus (test/data/kustomize-
# public: metrics-server, descheduler, kwok, with their licences), served
# by the real git server.  Each side gets a clean slate: the same
# namespace, the same GitRepository and Kustomizations (targetNamespace
# that namespace, prune on); it reconciles until every Kustomization has
# settled, its results are saved, and then its objects are deleted (its
# own garbage collection prunes everything it applied, cluster-scoped
# objects too) before the other side starts.  So the two runs share names
# and need no normalising but of times and uids.  cflux runs on this host
# (operator.bash OP_MODE=local) watching the namespace alone, as Flux's
# controllers do here: in cluster mode it watches every namespace.
#
# Compared per Kustomization: every applied object (metadata but the
# server's fields, spec but a Service's allocated clusterIP, data; cflux's
# own provenance annotations cflux.io/* are checked present and then set
# aside), status.inventory, the conditions (type, status, reason,
# message), lastAppliedRevision and lastAttemptedRevision, status.history
# (digests, outcomes and revisions), and the distinct
# Events (type, reason, message, durations aside; how often a retry repeats
# one is timing); cflux's "(from file:line)" in error messages is set aside.
# Per GitRepository the artifact
# revision, the artifact's files (the tar.gz bytes differ: Go's gzip
# against ours), conditions and Events.
set -u

NAME=parity
CFLUX_OPERATOR_MODE=${CFLUX_OPERATOR_MODE:-local}
# shellcheck source=test/e2e/lib/operator.bash
. "$(dirname "$0")/lib/operator.bash"

[ -x "$SOURCE_CONTROLLER" ] && [ -x "$KUSTOMIZE_CONTROLLER" ] ||
	bash "$repo/test/cluster/build.sh" flux-kustomize >&2
# Every kind source- and kustomize-controller watch, or their managers do not start.
check "CRDs installed" crd_install source.toolkit.fluxcd.io_gitrepositories.yaml \
	source.toolkit.fluxcd.io_ocirepositories.yaml source.toolkit.fluxcd.io_buckets.yaml \
	source.toolkit.fluxcd.io_helmrepositories.yaml source.toolkit.fluxcd.io_helmcharts.yaml \
	source.toolkit.fluxcd.io_externalartifacts.yaml kustomize.toolkit.fluxcd.io_kustomizations.yaml
k create namespace "$NS" >/dev/null
trap 'e2e_cleanup; flux_stop' EXIT

# The corpus, one repository; the directories each side reconciles (no two
# applying the same object: which of them creates it and which finds it
# would be a race, on either side).
cp -r "$repo/test/data/kustomize-public/." "$W/src/"
SHA=$(bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src")
DIRS=(
	metrics-server/manifests/overlays/release
	descheduler/kubernetes/deployment
	kwok/kustomize/kwok
	kwok/kustomize/stage/pod/fast
)

apply_all() {
	gitrepo src "$GIT_HTTP_URL/$REPO.git" "ref:" "  branch: main" >/dev/null
	local i=0 d
	for d in "${DIRS[@]}"; do
		i=$((i + 1))
		# The kwok stages are CRs of the CRDs k3 applies: after it, or their
		# first attempts race the CRDs, differently on each side.
		kustomization "k$i" src "./$d" "prune: true" "targetNamespace: $NS" \
			${DEPS[$d]:+"dependsOn: [{name: ${DEPS[$d]}}]"} >/dev/null
	done
}
declare -A DEPS=([kwok/kustomize/stage/pod/fast]=k3)
settled() { # every Kustomization reconciled: Ready True, or False at its generation and not waiting
	local i
	for i in $(seq 1 ${#DIRS[@]}); do
		local s
		s=$(k get kustomization -n "$NS" "k$i" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}/{.status.conditions[?(@.type=="Ready")].reason}/{.status.observedGeneration}{.status.lastAttemptedRevision}' 2>/dev/null)
		case $s in True/*/1*) ;; False/DependencyNotReady/*|False/ArtifactFailed/*) return 1 ;; False/*main@*) ;; *) return 1 ;; esac
	done
}

# save SIDE: what this side did, as text files under $W/SIDE/
save() {
	local d=$W/$1 i
	mkdir -p "$d"
	for i in $(seq 1 ${#DIRS[@]}); do
		k get kustomization -n "$NS" "k$i" -o json >"$d/k$i.json"
		python3 - "$d/k$i.json" "$KUBECTL" "$NS" >"$d/k$i.txt" 2>&1 <<'PY'
import json, re, subprocess, sys
ks = json.load(open(sys.argv[1]))
kubectl, ns = sys.argv[2], sys.argv[3]
st = ks.get("status", {})
dur = lambda s: re.sub(r"\b[0-9.]+(ms|s|m)\b", "<d>", s)
# cflux names the file and line of a failing object; Flux does not.
mine = lambda s: re.sub(r" \(from [^ ()]+:[0-9]+\)", "", s)
print("conditions:", json.dumps(sorted((c["type"], c["status"], c["reason"], mine(c["message"]))
                                       for c in st.get("conditions", []))))
print("lastAppliedRevision:", st.get("lastAppliedRevision"))
print("lastAttemptedRevision:", st.get("lastAttemptedRevision"))
# Flux 2.7's history: each snapshot's digest (of the build), outcome and
# revision; how many times each was reconciled is timing.
print("history:", json.dumps([(h["digest"], h["lastReconciledStatus"], h.get("metadata"))
                              for h in st.get("history", [])], sort_keys=True))
print("inventory:", json.dumps(st.get("inventory")))
ev = json.loads(subprocess.run([kubectl, "get", "events", "-n", ns, "-o", "json",
    "--field-selector", "involvedObject.uid=" + ks["metadata"]["uid"]],
    capture_output=True, text=True).stdout or '{"items": []}')
# Each distinct Event once: how often a retry repeats one is timing.
for e in sorted({(e["type"], e["reason"], mine(dur(e["message"]))) for e in ev["items"]}):
    print("event:", *e)
prov = 0
for e in (st.get("inventory") or {}).get("entries", []):
    nsn, rest = e["id"].split("_", 1)
    name, group, kind = rest.rsplit("_", 2)
    name = name.replace("__", ":")
    ref = kind + ("." + e["v"] + "." + group if group else "") + "/" + name
    cmd = [kubectl, "get", ref, "-o", "json"] + (["-n", nsn] if nsn else [])
    o = json.loads(subprocess.run(cmd, capture_output=True, text=True).stdout or "{}")
    m = o.get("metadata", {})
    for f in ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation"):
        m.pop(f, None)
    ann = m.get("annotations") or {}
    mine = [a for a in ann if a.startswith("cflux.io/")]
    prov += bool(mine)
    for a in mine:
        del ann[a]
    if not ann:
        m.pop("annotations", None)
    o.pop("status", None)
    if o.get("kind") == "Service":  # allocated by the apiserver, run by run
        for f in ("clusterIP", "clusterIPs"):
            o.get("spec", {}).pop(f, None)
    print("object:", e["id"], json.dumps(o, sort_keys=True))
print("provenance-annotated:", prov)
PY
	done
	k get gitrepository -n "$NS" src -o json | python3 -c '
import json, sys
s = json.load(sys.stdin)["status"]
print("revision:", s.get("artifact", {}).get("revision"))
print("conditions:", json.dumps(sorted((c["type"], c["status"], c["reason"], c["message"]) for c in s.get("conditions", []))))' >"$d/src.txt"
	curl -fsS "$(k get gitrepository -n "$NS" src -o jsonpath='{.status.artifact.url}')" -o "$d/src.tgz" &&
		mkdir -p "$d/src" && tar -xzf "$d/src.tgz" -C "$d/src" &&
		(cd "$d/src" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$d/src.files"
}
# applied SIDE: "TYPE NAME [NAMESPACE]" of every object that side's
# Kustomizations applied (their inventories, as saved).
applied() {
	python3 - "$W/$1" <<'PY'
import glob, json, sys
for f in sorted(glob.glob(sys.argv[1] + "/k*.json")):
    for e in (json.load(open(f)).get("status", {}).get("inventory") or {}).get("entries", []):
        nsn, rest = e["id"].split("_", 1)
        name, group, kind = rest.rsplit("_", 2)
        print(kind + ("." + e["v"] + "." + group if group else ""), name.replace("__", ":"), nsn)
PY
}
all_gone() { # SIDE
	local t n ns
	while read -r t n ns; do
		[ -z "$(k get "$t" "$n" ${ns:+-n "$ns"} --ignore-not-found -o name 2>/dev/null)" ] || return 1
	done < <(applied "$1")
}
# teardown SIDE: delete what this side made and wait until its objects are
# gone (a garbage collector deletes in the background: a CRD still
# terminating would meet the other side's apply).
teardown() {
	local i
	for i in $(seq 1 ${#DIRS[@]}); do
		k delete kustomization -n "$NS" "k$i" --wait=false >/dev/null 2>&1
	done
	k delete gitrepository -n "$NS" src --wait=false >/dev/null 2>&1
	poll 120 bash -c "[ -z \"\$($KUBECTL get kustomizations,gitrepositories -n $NS -o name 2>/dev/null)\" ]" &&
		poll 120 all_gone "$1"
}

# ------------------------------------------------------------ Flux
check "Flux's source-controller and kustomize-controller start" flux_start "$NS" source kustomize
apply_all
check "Flux: every Kustomization settles" poll 180 settled
save flux
check "Flux: teardown (its garbage collection, every object gone)" teardown flux
flux_stop

# ------------------------------------------------------------ cflux
check "cflux-operator starts" start_operator
apply_all
check "cflux: every Kustomization settles" poll 180 settled
save cflux

# ------------------------------------------------------------ compare
same_file() { # DESC FILE
	if cmp -s "$W/flux/$2" "$W/cflux/$2"; then
		pass "$1"
	else
		diff "$W/flux/$2" "$W/cflux/$2" | head -30 >"$OUT"
		fail "$1"
	fi
}
same_file "GitRepository: revision and conditions as Flux's" src.txt
same_file "GitRepository: the artifact holds the same files" src.files
i=0
for d in "${DIRS[@]}"; do
	i=$((i + 1))
	grep -v '^provenance-annotated:' "$W/flux/k$i.txt" >"$W/flux/k$i.cmp"
	grep -v '^provenance-annotated:' "$W/cflux/k$i.txt" >"$W/cflux/k$i.cmp"
	same_file "$d: objects, inventory, conditions, revisions and Events as Flux's" "k$i.cmp"
	n=$(grep -c '^object:' "$W/cflux/k$i.txt")
	check "$d: cflux's provenance annotations on its $n objects" \
		grep -qx "provenance-annotated: $n" "$W/cflux/k$i.txt"
done
# PARITY_KEEP=DIR keeps both sides' records and the operator's log there.
[ -n "${PARITY_KEEP:-}" ] && mkdir -p "$PARITY_KEEP" &&
	cp -r "$W/flux" "$W/cflux" "$W/operator.log" "$W/kustomize-controller.log" "$PARITY_KEEP/"
teardown cflux >/dev/null
tap_end
