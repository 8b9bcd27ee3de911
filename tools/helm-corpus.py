#!/usr/bin/env python3
"""helm-corpus.py: assemble test/data/charts/ from snapshots of public chart repositories.

Run by hand when the corpus changes, never by the tests.  Each case becomes

    test/data/charts/<case>/chart/      the chart, dependencies vendored under charts/
    test/data/charts/<case>/LICENSE     the licence of the repository it came from
    test/data/charts/<case>/SOURCE      repository, commit and path of every part

The values files (values-*.yaml) beside them are written by hand.  Dependencies
are vendored as `helm dependency build` would, but from the same snapshots:
each entry of Chart.yaml's `dependencies:` (and requirements.yaml) that is not
already under charts/ is copied from the repository that publishes a chart of
that name (DEPS below), recursively.  README.md files are left out to keep the
corpus small: no template of these charts reads them (.Files.Get "README.md"
appears nowhere), so the rendered output is the same.

Snapshots come from the `fetch` tool: /work/.mirror/<owner>+<repo>/repo.

    python3 tools/helm-corpus.py [CASE...]
"""
import io
import os
import shutil
import subprocess
import sys
import tarfile

import yaml

MIRROR = "/work/.mirror"
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "data", "charts")

BITNAMI = "bitnami/charts"
PROM = "prometheus-community/helm-charts"
GRAFANA = "grafana/helm-charts"
ARGO = "argoproj/argo-helm"

# case -> (repository, path of the chart, path of the licence)
CASES = {
    # Bitnami: application charts on the `common` library chart, many with subcharts.
    "bitnami-nginx": (BITNAMI, "bitnami/nginx", "LICENSE.md"),
    "bitnami-redis": (BITNAMI, "bitnami/redis", "LICENSE.md"),
    "bitnami-postgresql": (BITNAMI, "bitnami/postgresql", "LICENSE.md"),
    "bitnami-postgresql-ha": (BITNAMI, "bitnami/postgresql-ha", "LICENSE.md"),
    "bitnami-mysql": (BITNAMI, "bitnami/mysql", "LICENSE.md"),
    "bitnami-mariadb": (BITNAMI, "bitnami/mariadb", "LICENSE.md"),
    "bitnami-mongodb": (BITNAMI, "bitnami/mongodb", "LICENSE.md"),
    "bitnami-rabbitmq": (BITNAMI, "bitnami/rabbitmq", "LICENSE.md"),
    "bitnami-kafka": (BITNAMI, "bitnami/kafka", "LICENSE.md"),
    "bitnami-wordpress": (BITNAMI, "bitnami/wordpress", "LICENSE.md"),
    "bitnami-ghost": (BITNAMI, "bitnami/ghost", "LICENSE.md"),
    "bitnami-keycloak": (BITNAMI, "bitnami/keycloak", "LICENSE.md"),
    "bitnami-grafana": (BITNAMI, "bitnami/grafana", "LICENSE.md"),
    "bitnami-thanos": (BITNAMI, "bitnami/thanos", "LICENSE.md"),
    "bitnami-etcd": (BITNAMI, "bitnami/etcd", "LICENSE.md"),
    "bitnami-zookeeper": (BITNAMI, "bitnami/zookeeper", "LICENSE.md"),
    "bitnami-memcached": (BITNAMI, "bitnami/memcached", "LICENSE.md"),
    "bitnami-valkey": (BITNAMI, "bitnami/valkey", "LICENSE.md"),
    "bitnami-apache": (BITNAMI, "bitnami/apache", "LICENSE.md"),
    "bitnami-tomcat": (BITNAMI, "bitnami/tomcat", "LICENSE.md"),
    "bitnami-external-dns": (BITNAMI, "bitnami/external-dns", "LICENSE.md"),
    "bitnami-metrics-server": (BITNAMI, "bitnami/metrics-server", "LICENSE.md"),
    "bitnami-sealed-secrets": (BITNAMI, "bitnami/sealed-secrets", "LICENSE.md"),
    "bitnami-kube-state-metrics": (BITNAMI, "bitnami/kube-state-metrics", "LICENSE.md"),
    "bitnami-node-exporter": (BITNAMI, "bitnami/node-exporter", "LICENSE.md"),
    "bitnami-argo-cd": (BITNAMI, "bitnami/argo-cd", "LICENSE.md"),
    "bitnami-gitea": (BITNAMI, "bitnami/gitea", "LICENSE.md"),
    "bitnami-minio": (BITNAMI, "bitnami/minio", "LICENSE.md"),
    "bitnami-harbor": (BITNAMI, "bitnami/harbor", "LICENSE.md"),
    "bitnami-airflow": (BITNAMI, "bitnami/airflow", "LICENSE.md"),
    "bitnami-elasticsearch": (BITNAMI, "bitnami/elasticsearch", "LICENSE.md"),
    # Prometheus community.
    "prometheus": (PROM, "charts/prometheus", "LICENSE"),
    "kube-prometheus-stack": (PROM, "charts/kube-prometheus-stack", "LICENSE"),
    "kube-state-metrics": (PROM, "charts/kube-state-metrics", "LICENSE"),
    "prometheus-node-exporter": (PROM, "charts/prometheus-node-exporter", "LICENSE"),
    "alertmanager": (PROM, "charts/alertmanager", "LICENSE"),
    "prometheus-pushgateway": (PROM, "charts/prometheus-pushgateway", "LICENSE"),
    "prometheus-blackbox-exporter": (PROM, "charts/prometheus-blackbox-exporter", "LICENSE"),
    "prometheus-adapter": (PROM, "charts/prometheus-adapter", "LICENSE"),
    "prometheus-postgres-exporter": (PROM, "charts/prometheus-postgres-exporter", "LICENSE"),
    "prometheus-redis-exporter": (PROM, "charts/prometheus-redis-exporter", "LICENSE"),
    "prometheus-snmp-exporter": (PROM, "charts/prometheus-snmp-exporter", "LICENSE"),
    # Grafana.
    "grafana": (GRAFANA, "charts/grafana", "LICENSE"),
    "promtail": (GRAFANA, "charts/promtail", "LICENSE"),
    "tempo": (GRAFANA, "charts/tempo", "LICENSE"),
    "tempo-distributed": (GRAFANA, "charts/tempo-distributed", "LICENSE"),
    # Argo.
    "argo-cd": (ARGO, "charts/argo-cd", "LICENSE"),
    "argo-rollouts": (ARGO, "charts/argo-rollouts", "LICENSE"),
    "argo-events": (ARGO, "charts/argo-events", "LICENSE"),
    "argocd-apps": (ARGO, "charts/argocd-apps", "LICENSE"),
    # Single charts from their projects.
    "podinfo": ("stefanprodan/podinfo", "charts/podinfo", "LICENSE"),
    "ingress-nginx": ("kubernetes/ingress-nginx", "charts/ingress-nginx", "LICENSE"),
    "traefik": ("traefik/traefik-helm-chart", "traefik", "LICENSE"),
    "external-secrets": ("external-secrets/external-secrets", "deploy/charts/external-secrets",
                         "LICENSE"),
    "kyverno": ("kyverno/kyverno", "charts/kyverno", "LICENSE"),
    "kyverno-policies": ("kyverno/kyverno", "charts/kyverno-policies", "LICENSE"),
    "cert-manager": ("cert-manager/cert-manager", "deploy/charts/cert-manager", "LICENSE"),
    "metallb": ("metallb/metallb", "charts/metallb", "LICENSE"),
    "external-dns": ("kubernetes-sigs/external-dns", "charts/external-dns", "LICENSE.md"),
    "metrics-server": ("kubernetes-sigs/metrics-server", "charts/metrics-server", "LICENSE"),
    "fluent-bit": ("fluent/helm-charts", "charts/fluent-bit", "LICENSE"),
    "opentelemetry-collector": ("open-telemetry/opentelemetry-helm-charts",
                                "charts/opentelemetry-collector", "LICENSE"),
    "opentelemetry-operator": ("open-telemetry/opentelemetry-helm-charts",
                               "charts/opentelemetry-operator", "LICENSE"),
    "vault": ("hashicorp/vault-helm", ".", "LICENSE"),
    "keda": ("kedacore/charts", "keda", "LICENSE"),
    "velero": ("vmware-tanzu/helm-charts", "charts/velero", "LICENSE"),
}

# Where a dependency of a given name is published (first match wins).
DEPS = {
    "kube-state-metrics": (PROM, "charts/kube-state-metrics"),
    "prometheus-node-exporter": (PROM, "charts/prometheus-node-exporter"),
    "prometheus-windows-exporter": (PROM, "charts/prometheus-windows-exporter"),
    "prometheus-operator-crds": (PROM, "charts/prometheus-operator-crds"),
    "alertmanager": (PROM, "charts/alertmanager"),
    "prometheus-pushgateway": (PROM, "charts/prometheus-pushgateway"),
    "grafana": (GRAFANA, "charts/grafana", "570b7560b~1"),
    "grafana-agent-operator": (GRAFANA, "charts/agent-operator"),
    "rollout-operator": (GRAFANA, "charts/rollout-operator"),
    "minio": ("minio/minio", "helm/minio"),
    "redis-ha": ("DandyDeveloper/charts", "charts/redis-ha"),
    "bitwarden-sdk-server": ("external-secrets/bitwarden-sdk-server",
                             "deploy/charts/bitwarden-sdk-server"),
    "openreports": ("openreports/reports-api", "charts/openreports"),
}

# Parts of a repository that its chart's .helmignore leaves out anyway,
# removed from the copy to keep the corpus small (case -> paths).
PRUNE = {
    "vault": ["test", ".github"],
    "kube-prometheus-stack": ["hack", "ci", "unittests"],
}

# Cases taken from a tag rather than the snapshot's HEAD (case -> ref).
REFS = {
    # Later kyverno charts depend on charts not published in any repository here.
    "kyverno": "v1.15.3",
    # grafana and tempo moved to grafana-community/helm-charts: the last commit before.
    "grafana": "570b7560b~1",
    "tempo": "5c770826e~1",
}


def mirror(repo):
    return os.path.join(MIRROR, repo.replace("/", "+"), "repo")


def head(repo, ref="HEAD"):
    return subprocess.check_output(["git", "-C", mirror(repo), "rev-parse", ref + "^{commit}"],
                                   text=True).strip()


def extract(repo, path, dest, ref="HEAD"):
    """Copy `path` of the repository at `ref` to `dest` (README.md files left out)."""
    data = subprocess.check_output(["git", "-C", mirror(repo), "archive", "--format=tar", ref,
                                    path])
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        for m in tf.getmembers():
            rel = os.path.relpath(m.name, path)
            if rel == "." or os.path.basename(rel) == "README.md":
                continue
            out = os.path.join(dest, rel)
            if m.isdir():
                os.makedirs(out, exist_ok=True)
            elif m.isfile():
                os.makedirs(os.path.dirname(out), exist_ok=True)
                with open(out, "wb") as f:
                    f.write(tf.extractfile(m).read())
                if m.mode & 0o111:
                    os.chmod(out, 0o755)


def dep_source(repo, name):
    if repo == BITNAMI:
        return (BITNAMI, "bitnami/" + name)
    return DEPS.get(name)


def listed_deps(chart):
    deps = []
    for f in ("Chart.yaml", "requirements.yaml"):
        p = os.path.join(chart, f)
        if os.path.exists(p):
            doc = yaml.safe_load(open(p)) or {}
            deps += doc.get("dependencies") or []
    return deps


def vendor(repo, chart, sources, depth=0):
    """Vendor the dependencies of `chart` (a directory) into its charts/."""
    for d in listed_deps(chart):
        name = d["name"]
        charts = os.path.join(chart, "charts")
        if os.path.isdir(os.path.join(charts, name)) or any(
                f.startswith(name + "-") and f.endswith(".tgz")
                for f in (os.listdir(charts) if os.path.isdir(charts) else [])):
            continue
        repo_url = d.get("repository") or ""
        if repo_url.startswith("file://"):
            print("  %s: local dependency %s missing" % (chart, repo_url))
            continue
        src = dep_source(repo, name)
        if not src:
            print("  %s: no source for dependency %s (%s)" % (chart, name, repo_url))
            continue
        dst = os.path.join(charts, name)
        ref = src[2] if len(src) > 2 else "HEAD"
        extract(src[0], src[1], dst, ref)
        sources.append("%s %s %s -> %s" % (src[0], head(src[0], ref), src[1],
                                           os.path.relpath(dst, ROOT)))
        vendor(src[0], dst, sources, depth + 1)


def build(case):
    repo, path, lic = CASES[case]
    base = os.path.join(ROOT, case)
    chart = os.path.join(base, "chart")
    if os.path.isdir(chart):
        shutil.rmtree(chart)
    os.makedirs(base, exist_ok=True)
    ref = REFS.get(case, "HEAD")
    extract(repo, path, chart, ref)
    for p in PRUNE.get(case, []):
        shutil.rmtree(os.path.join(chart, p), ignore_errors=True)
    sources = ["%s %s %s -> %s/chart" % (repo, head(repo, ref), path, case)]
    vendor(repo, chart, sources)
    lictext = subprocess.check_output(["git", "-C", mirror(repo), "show", ref + ":" + lic])
    with open(os.path.join(base, "LICENSE"), "wb") as f:
        f.write(lictext)
    with open(os.path.join(base, "SOURCE"), "w") as f:
        f.write("# repository commit path -> where (README.md files left out%s)\n" %
                "".join(", " + p + "/ (in .helmignore) left out" for p in PRUNE.get(case, [])))
        f.write("\n".join(sources) + "\n")


def main():
    cases = sys.argv[1:] or sorted(CASES)
    for c in cases:
        print(c)
        build(c)


if __name__ == "__main__" and (len(sys.argv) < 2 or sys.argv[1] != "--values"):
    main()


# ---- values-on.yaml: a first draft, edited by hand afterwards ----

SWITCHES = ("enabled", "create", "install")


def switches(d, depth=0):
    """A copy of the values keeping only false switches, turned on, and empty passwords, set."""
    out = {}
    if not isinstance(d, dict) or depth > 4:
        return out
    for k, v in d.items():
        if k in SWITCHES and v is False:
            out[k] = True
        elif isinstance(k, str) and "password" in k.lower() and v == "":
            out[k] = "pinned-" + k
        elif isinstance(v, dict):
            sub = switches(v, depth + 1)
            if sub:
                out[k] = sub
    return out


def draft_values(case):
    base = os.path.join(ROOT, case)
    path = os.path.join(base, "values-on.yaml")
    if os.path.exists(path):
        return
    vals = yaml.safe_load(open(os.path.join(base, "chart", "values.yaml"))) or {}
    with open(path, "w") as f:
        f.write("# Optional parts of the chart switched on (drafted by tools/helm-corpus.py\n"
                "# --values, then edited by hand); passwords pinned so the output is stable.\n")
        yaml.safe_dump(switches(vals), f, default_flow_style=False, sort_keys=True)


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "--values":
    for c in sys.argv[2:] or sorted(CASES):
        draft_values(c)
