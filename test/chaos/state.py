#!/usr/bin/env python3
"""state.py: has the chaos scenario's namespace converged, and is it whole?

    state.py converged WANT.json < objects.json
    state.py events EVENTS.json

`objects.json` is `kubectl get gitrepositories,ocirepositories,
helmrepositories,helmcharts,kustomizations,helmreleases,configmaps,
deployments -n NS -o json`.  WANT.json says what the last commit holds:
{"rev": R, "sources": {"KIND/NAME": "REVISION"}, "kustomizations":
{"NAME": "KIND/SOURCE"}, "deployments": ["NAME"], "helmreleases":
["NAME"]}.

converged: exit 0 when every source is Ready at its revision, every
Kustomization Ready with lastAppliedRevision its source's, every ConfigMap
cm-N there with data.rev R (never a mix of two revisions: a half-read one
would show as one), every Deployment rolled to R, every HelmRelease Ready
with chart version 0.1.R released from its HelmChart (Ready at 0.1.R) and
its ConfigMap NAME-cm at rev R, the HelmRepository Ready, and nothing is
stuck deleting.  Otherwise exit 1, with the first problems on stdout.

events: the Events of the namespace as "OBJECT REASON COUNT" lines, for
the flood check (an object's Events in a trial, and how many times each
was counted by aggregation).
"""
import json
import sys


def ready(o):
    for c in o.get("status", {}).get("conditions", []) or []:
        if c.get("type") == "Ready":
            return c.get("status") == "True", c.get("message", "")
    return False, "no Ready condition"


def converged(want_path):
    want = json.load(open(want_path))
    items = json.load(sys.stdin).get("items", [])
    by = {}
    problems = []
    for o in items:
        key = "%s/%s" % (o["kind"], o["metadata"]["name"])
        by[key] = o
        if o["metadata"].get("deletionTimestamp"):
            problems.append("%s is stuck deleting (finalizers %s)" % (key, o["metadata"].get("finalizers")))
    for key, rev in sorted(want["sources"].items()):
        o = by.get(key)
        if not o:
            problems.append("%s is missing" % key)
            continue
        ok, msg = ready(o)
        got = o.get("status", {}).get("artifact", {}).get("revision")
        if not ok or got != rev:
            problems.append("%s: Ready=%s at %s, want %s (%s)" % (key, ok, got, rev, msg[:120]))
    for name, src in sorted(want["kustomizations"].items()):
        o = by.get("Kustomization/" + name)
        if not o:
            problems.append("Kustomization/%s is missing" % name)
            continue
        ok, msg = ready(o)
        got = o.get("status", {}).get("lastAppliedRevision")
        if not ok or got != want["sources"][src]:
            problems.append("Kustomization/%s: Ready=%s at %s, want %s (%s)"
                            % (name, ok, got, want["sources"][src], msg[:120]))
        n = name.split("-", 1)[1]
        cm = by.get("ConfigMap/cm-" + n)
        if not cm:
            problems.append("ConfigMap/cm-%s is missing" % n)
        elif cm.get("data", {}).get("rev") != str(want["rev"]) or cm["data"].get("ks") != name:
            problems.append("ConfigMap/cm-%s holds %s, want rev %s" % (n, cm.get("data"), want["rev"]))
    for name in want.get("deployments", []):
        o = by.get("Deployment/" + name)
        if not o:
            problems.append("Deployment/%s is missing" % name)
            continue
        env = o["spec"]["template"]["spec"]["containers"][0].get("env", [])
        rev = [e.get("value") for e in env if e.get("name") == "REV"]
        st = o.get("status", {})
        if rev != [str(want["rev"])] or st.get("updatedReplicas") != o["spec"].get("replicas", 1) \
                or st.get("readyReplicas") != o["spec"].get("replicas", 1) \
                or st.get("observedGeneration") != o["metadata"].get("generation"):
            problems.append("Deployment/%s: REV %s, status %s" % (name, rev, {
                k: st.get(k) for k in ("updatedReplicas", "readyReplicas", "observedGeneration")}))
    hrs = want.get("helmreleases", [])
    if hrs:
        o = by.get("HelmRepository/charts")
        ok, msg = ready(o) if o else (False, "missing")
        if not ok:
            problems.append("HelmRepository/charts: not Ready (%s)" % msg[:120])
    version = "0.1.%s" % want["rev"]
    for name in hrs:
        o = by.get("HelmRelease/" + name)
        if not o:
            problems.append("HelmRelease/%s is missing" % name)
            continue
        ok, msg = ready(o)
        st = o.get("status", {})
        got = st.get("lastAttemptedRevision")
        if not ok or got != version:
            problems.append("HelmRelease/%s: Ready=%s at %s, want %s (%s)" % (name, ok, got, version, msg[:120]))
        hc = by.get("HelmChart/" + (st.get("helmChart") or "/").split("/", 1)[1])
        if not hc:
            problems.append("HelmRelease/%s: its HelmChart %s is missing" % (name, st.get("helmChart")))
        else:
            ok, msg = ready(hc)
            got = hc.get("status", {}).get("artifact", {}).get("revision")
            if not ok or got != version:
                problems.append("HelmChart/%s: Ready=%s at %s, want %s (%s)"
                                % (hc["metadata"]["name"], ok, got, version, msg[:120]))
        cm = by.get("ConfigMap/%s-cm" % name)
        if not cm:
            problems.append("ConfigMap/%s-cm is missing" % name)
        elif cm.get("data", {}).get("rev") != str(want["rev"]) or cm["data"].get("release") != name:
            problems.append("ConfigMap/%s-cm holds %s, want rev %s" % (name, cm.get("data"), want["rev"]))
    for p in problems[:8]:
        print(p)
    if len(problems) > 8:
        print("... and %d more" % (len(problems) - 8))
    return 0 if not problems else 1


def events(path):
    for e in json.load(open(path)).get("items", []):
        io = e.get("involvedObject", {})
        print("%s/%s %s %d" % (io.get("kind"), io.get("name"), e.get("reason"),
                               e.get("count") or (e.get("series") or {}).get("count") or 1))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "converged":
        sys.exit(converged(sys.argv[2]))
    if len(sys.argv) == 3 and sys.argv[1] == "events":
        sys.exit(events(sys.argv[2]))
    sys.exit("usage: state.py converged WANT.json < objects.json | state.py events EVENTS.json")
