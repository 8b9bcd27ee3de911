#!/bin/bash
# helmrepository.sh: the HelmRepository reconciler against the real control
# plane and the static Helm repository server of servers.sh (lighttpd, its
# access log; /private/ needs basic auth), with charts packaged and indexed
# by the real helm CLI (TAP).
#
# type default: Flux's revision (sha256 of index.yaml as served) and its
# artifact (the index as JSON, the chart's versions highest first); a second
# reconcile of an unchanged index downloads nothing (If-None-Match, 304 in
# the access log); a new chart version gives a new revision; basic auth
# from secretRef, a wrong password Ready=False naming the 401; an oci:// URL
# Stalled URLInvalid; type oci left static with an empty status, as Flux.
set -u
NAME=hrepo
# shellcheck source=test/e2e/lib/operator.bash
. "$(dirname "$0")/lib/operator.bash"

check "CRDs installed" crd_install source.toolkit.fluxcd.io_helmrepositories.yaml \
	source.toolkit.fluxcd.io_helmcharts.yaml
k create namespace "$NS" >/dev/null
check "operator started" start_operator

# Charts packaged by helm into this scenario's own directories of the server.
PUB=$HELM_DIR/$NS
PRIV=$HELM_DIR/private/$NS
mkdir -p "$PUB" "$PRIV" "$W/chart/templates"
TLSD=$HELM_DIR/private/$NS-tls
trap 'rm -rf "$PUB" "$PRIV" "$TLSD"; e2e_cleanup' EXIT
# package DIR VERSION: hello-VERSION.tgz into DIR, and DIR's index.yaml again
package() {
	printf 'apiVersion: v2\nname: hello\nversion: %s\nappVersion: "1.0"\n' "$2" >"$W/chart/Chart.yaml"
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hello\n' >"$W/chart/templates/cm.yaml"
	"$HELM" package "$W/chart" -d "$1" >/dev/null &&
		"$HELM" repo index "$1" --url "$HELM_URL${1#"$HELM_DIR"}"
}
package "$PUB" 0.1.0
package "$PRIV" 0.1.0

# helmrepo NAME URL [extra spec lines]
helmrepo() {
	local l
	{
		printf 'apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\n'
		printf 'metadata:\n  name: %s\n  namespace: %s\n' "$1" "$NS"
		printf 'spec:\n  interval: 10m\n  timeout: 20s\n  url: %s\n' "$2"
		shift 2
		for l in "$@"; do printf '  %s\n' "$l"; done
	} | k apply -f - >/dev/null
}
rev() { jpk helmrepository "$1" '{.status.artifact.revision}'; }
file_rev() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }
reconcile_now() {
	k annotate helmrepository -n "$NS" "$1" --overwrite \
		"reconcile.fluxcd.io/requestedAt=$(date +%s%N)" >/dev/null
}
handled() { # NAME VALUE: the requested reconcile was done
	[ "$(jpk helmrepository "$1" '{.status.lastHandledReconcileAt}')" = "$2" ]
}
# index GETs of PATH in the access log, by status: "200 304" counts
gets() {
	local ok nm
	ok=$(grep -c "\"GET $1 [^\"]*\" 200 " "$HELM_ACCESS_LOG")
	nm=$(grep -c "\"GET $1 [^\"]*\" 304 " "$HELM_ACCESS_LOG")
	echo "$ok $nm"
}

helmrepo open "$HELM_URL/$NS/"
check "open repository Ready" poll 30 is_ready helmrepository open True Succeeded
check "revision is the index's sha256" test "$(rev open)" = "$(file_rev "$PUB/index.yaml")"
check "Ready message names the revision" test "$(cond helmrepository open Ready message)" = \
	"stored artifact: revision '$(file_rev "$PUB/index.yaml")'"
check "artifact is index-<hex>.yaml, status.url its index.yaml link" bash -c '
	p=$(kubectl get helmrepository -n "$NS" open -o jsonpath="{.status.artifact.path}")
	u=$(kubectl get helmrepository -n "$NS" open -o jsonpath="{.status.url}")
	echo "$p $u"
	case $p in helmrepository/$NS/open/index-*.yaml) ;; *) exit 1 ;; esac
	case $u in */helmrepository/$NS/open/index.yaml) ;; *) exit 1 ;; esac' 
check "artifact: the index as JSON, Flux's normalised form" bash -c "
	$(declare -f art_curl); art_curl '$W/a.json' \"\$(kubectl get helmrepository -n $NS open \
		-o jsonpath='{.status.artifact.url}')\" &&
	python3 - '$W/a.json' '$PUB/index.yaml' <<'EOF'
import json, sys, hashlib
doc = json.load(open(sys.argv[1]))
assert list(doc) == ['apiVersion', 'generated', 'entries'], list(doc)
v = doc['entries']['hello'][0]
assert v['version'] == '0.1.0' and v['apiVersion'] == 'v2' and v['appVersion'] == '1.0', v
assert v['urls'][0].endswith('/hello-0.1.0.tgz'), v
assert open(sys.argv[1]).read().startswith('{\n  \"apiVersion\": \"v1\",\n  \"generated\": '), 'indent'
EOF"
check "artifact digest is the stored file's" bash -c "
	d=\$(kubectl get helmrepository -n $NS open -o jsonpath='{.status.artifact.digest}')
	test \"\$d\" = \"sha256:\$(sha256sum '$W/a.json' | cut -d' ' -f1)\""

# An unchanged index: the next reconcile sends the stored ETag and gets a 304.
before=$(gets "/$NS/index.yaml")
t=$(date +%s%N)
k annotate helmrepository -n "$NS" open --overwrite "reconcile.fluxcd.io/requestedAt=$t" >/dev/null
check "requested reconcile handled" poll 20 handled open "$t"
# The server's access log may be written a moment after the answer, and
# another reconcile may come meanwhile: wait for the 304, then count the 200s.
revalidated() { local a; a=$(gets "/$NS/index.yaml"); [ "${a#* }" -gt "${before#* }" ]; }
poll 10 revalidated
after=$(gets "/$NS/index.yaml")
echo "# index GETs (200s 304s): before $before, after $after"
check "unchanged index: no download (a 304, no 200)" \
	bash -c "[ '${after% *}' = '${before% *}' ] && [ '${after#* }' -gt '${before#* }' ]"
check "unchanged index: same revision, still Ready" bash -c \
	"test \"$(rev open)\" = \"$(file_rev "$PUB/index.yaml")\""

# A new chart version: a new index, a new revision, both versions, highest first.
old=$(rev open)
package "$PUB" 0.2.0
reconcile_now open
check "new index picked up" poll 20 bash -c "[ \"\$(kubectl get helmrepository -n $NS open \
	-o jsonpath='{.status.artifact.revision}')\" = '$(file_rev "$PUB/index.yaml")' ]"
check "revision changed" test "$(rev open)" != "$old"
check "new artifact: versions highest first" bash -c "
	$(declare -f art_curl); art_curl '$W/b.json' \"\$(kubectl get helmrepository -n $NS open \
		-o jsonpath='{.status.artifact.url}')\" &&
	python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))[\"entries\"][\"hello\"];
assert [v[\"version\"] for v in e] == [\"0.2.0\", \"0.1.0\"], e' '$W/b.json'"
check "NewArtifact event with the index's size" poll 10 bash -c \
	"kubectl get events -n $NS --field-selector involvedObject.name=open,reason=NewArtifact \
	-o jsonpath='{.items[*].message}' | grep -q \"stored fetched index of size [0-9.]*[kM]\\?B from '$HELM_URL/$NS/'\""

# Basic auth from secretRef; a wrong password names the 401.
k create secret generic helm-auth -n "$NS" --from-literal=username="$HELM_HTTP_USER" \
	--from-literal=password="$HELM_HTTP_PASSWORD" >/dev/null
k create secret generic helm-wrong -n "$NS" --from-literal=username="$HELM_HTTP_USER" \
	--from-literal=password=not-the-password >/dev/null
helmrepo private "$HELM_URL/private/$NS" "secretRef:" "  name: helm-auth"
check "private repository with basic auth Ready" poll 30 is_ready helmrepository private True Succeeded
check "private revision" test "$(rev private)" = "$(file_rev "$PRIV/index.yaml")"
helmrepo wrong "$HELM_URL/private/$NS" "secretRef:" "  name: helm-wrong"
check "wrong password: Ready=False" poll 30 is_ready helmrepository wrong False Failed
check "wrong password: message names the 401" bash -c "
	m=\$(kubectl get helmrepository -n $NS wrong -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].message}')
	echo \"\$m\"; case \$m in *'401 Unauthorized'*) ;; *) exit 1 ;; esac
	case \$m in *not-the-password*) exit 1 ;; esac"
check "wrong password: FetchFailed=True" test "$(cond helmrepository wrong FetchFailed status)" = True
helmrepo missing "$HELM_URL/$NS/nothere"
check "missing index: Ready=False naming the 404" poll 30 bash -c "
	m=\$(kubectl get helmrepository -n $NS missing -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].message}')
	case \$m in *'index.yaml : 404 Not Found'*) ;; *) echo \"\$m\"; exit 1 ;; esac"
printf 'apiVersion: v1\nentries:\n  x: [ {name: x\n' >"$PUB/broken.yaml"
mkdir -p "$PUB/broken" && mv "$PUB/broken.yaml" "$PUB/broken/index.yaml"
helmrepo broken "$HELM_URL/$NS/broken"
check "unreadable index: Ready=False IndexationFailed" poll 30 is_ready helmrepository broken False \
	IndexationFailed

# oci:// with type default is refused as Flux refuses it; type oci is static.
helmrepo ociurl "oci://$REGISTRY_HOST/charts"
check "oci URL with type default: Stalled URLInvalid" poll 30 bash -c "
	[ \"\$(kubectl get helmrepository -n $NS ociurl -o jsonpath='{.status.conditions[?(@.type==\"Stalled\")].reason}')\" = URLInvalid ]"
helmrepo oci "oci://$REGISTRY_HOST/charts" "type: oci"
check "type oci: reconciled (finalizer) with an empty status" poll 30 bash -c "
	f=\$(kubectl get helmrepository -n $NS oci -o jsonpath='{.metadata.finalizers}')
	s=\$(kubectl get helmrepository -n $NS oci -o jsonpath='{.status}')
	echo \"\$f / \$s\"; [ -n \"\$f\" ] && [ -z \"\$s\" -o \"\$s\" = '{}' ]"

# ---- HelmChart from these repositories
# helmchart NAME REPO VERSION
helmchart() {
	{
		printf 'apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmChart\n'
		printf 'metadata:\n  name: %s\n  namespace: %s\n' "$1" "$NS"
		printf 'spec:\n  interval: 10m\n  chart: hello\n  version: "%s"\n' "$3"
		printf '  sourceRef:\n    kind: HelmRepository\n    name: %s\n' "$2"
	} | k apply -f - >/dev/null
}
crev() { jpk helmchart "$1" '{.status.artifact.revision}'; }
# ready_msg_has KIND NAME REASON TEXT: Ready's reason, and TEXT in its message
ready_msg_has() {
	local r m
	r=$(cond "$1" "$2" Ready reason)
	m=$(cond "$1" "$2" Ready message)
	echo "$r: $m"
	[ "$r" = "$3" ] && case $m in *"$4"*) true ;; *) false ;; esac
}
export -f cond jpk ready_msg_has
helmchart range open ">=0.1.0 <1.0.0"
check "HelmChart Ready with the highest version in range" poll 30 is_ready helmchart range True \
	ChartPullSucceeded
check "revision is the chart version" test "$(crev range)" = 0.2.0
check "Ready message as Flux's" test "$(cond helmchart range Ready message)" = \
	"pulled 'hello' chart with version '0.2.0'"
check "observedChartName" test "$(jpk helmchart range '{.status.observedChartName}')" = hello
check "observedSourceArtifactRevision" test \
	"$(jpk helmchart range '{.status.observedSourceArtifactRevision}')" = "$(rev open)"
check "artifact path is hello-0.2.0.tgz" test "$(jpk helmchart range '{.status.artifact.path}')" = \
	"helmchart/$NS/range/hello-0.2.0.tgz"
check "artifact: the repository's bytes" bash -c "
	$(declare -f art_curl); art_curl '$W/c.tgz' '$(jpk helmchart range '{.status.artifact.url}')' &&
	cmp '$W/c.tgz' '$PUB/hello-0.2.0.tgz'"
package "$PUB" 0.3.0
reconcile_now open
check "a new version in range is picked up (the repository's new artifact requeues the chart)" \
	poll 30 bash -c "[ \"\$(kubectl get helmchart -n $NS range -o jsonpath='{.status.artifact.revision}')\" = 0.3.0 ]"
helmchart nover open "9.x"
check "missing version: Stalled InvalidChartReference naming it" poll 30 ready_msg_has helmchart nover \
	InvalidChartReference "no 'hello' chart with version matching '9.x' found"
check "missing version: Stalled=True" test "$(cond helmchart nover Stalled status)" = True
helmchart privchart private "*"
check "chart from the basic-auth repository" poll 30 is_ready helmchart privchart True ChartPullSucceeded
k create secret generic helm-auth2 -n "$NS" --from-literal=username="$HELM_HTTP_USER" \
	--from-literal=password="$HELM_HTTP_PASSWORD" >/dev/null
helmrepo private2 "$HELM_URL/private/$NS" "secretRef:" "  name: helm-auth2"
check "second private repository Ready" poll 30 is_ready helmrepository private2 True Succeeded
k create secret generic helm-auth2 -n "$NS" --from-literal=username="$HELM_HTTP_USER" \
	--from-literal=password=wrong --dry-run=client -o yaml | k apply -f - >/dev/null 2>&1
helmchart badcred private2 "*"
check "bad credential for the chart: AuthenticationFailed naming the 401" poll 30 ready_msg_has \
	helmchart badcred AuthenticationFailed "401 Unauthorized"
package "$PUB" 0.4.0
head -c 3000 /dev/urandom >"$PUB/hello-0.4.0.tgz"
reconcile_now open
helmchart corrupt open "0.4.0"
check "corrupt tgz: ChartPullError naming the archive" poll 30 ready_msg_has helmchart corrupt \
	ChartPullError "failed to load chart"
printf 'apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmChart\nmetadata: {name: gitchart, namespace: %s}\nspec: {interval: 10m, chart: ./charts/x, sourceRef: {kind: GitRepository, name: g}}\n' "$NS" |
	k apply -f - >/dev/null
check "a GitRepository sourceRef that does not exist: SourceUnavailable naming it" poll 30 \
	ready_msg_has helmchart gitchart SourceUnavailable 'gitrepositories.source.toolkit.fluxcd.io "g" not found'

# HTTPS (the test CA in certSecretRef) with basic auth; the index's chart URLs are relative.
mkdir -p "$TLSD"
printf 'apiVersion: v2\nname: hello\nversion: 0.5.0\n' >"$W/chart/Chart.yaml"
"$HELM" package "$W/chart" -d "$TLSD" >/dev/null && "$HELM" repo index "$TLSD"
k create secret generic helm-ca -n "$NS" --from-file=ca.crt="$TEST_CA" >/dev/null
helmrepo https "$HELM_HTTPS_URL/private/$NS-tls" "secretRef:" "  name: helm-auth" \
	"certSecretRef:" "  name: helm-ca"
check "HTTPS repository (certSecretRef's CA, basic auth) Ready" poll 30 is_ready helmrepository https \
	True Succeeded
check "HTTPS revision" test "$(rev https)" = "$(file_rev "$TLSD/index.yaml")"
helmchart httpschart https "0.x"
check "chart over HTTPS with basic auth (a relative chart URL)" poll 30 is_ready helmchart httpschart \
	True ChartPullSucceeded
check "the HTTPS chart is the server's bytes" bash -c "
	$(declare -f art_curl); art_curl '$W/tls.tgz' '$(jpk helmchart httpschart '{.status.artifact.url}')' &&
	cmp '$W/tls.tgz' '$TLSD/hello-0.5.0.tgz'"
helmrepo noca "$HELM_HTTPS_URL/private/$NS-tls" "secretRef:" "  name: helm-auth"
check "HTTPS without the CA: Ready=False naming the certificate" poll 30 bash -c "
	m=\$(kubectl get helmrepository -n $NS noca -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].message}')
	case \$m in *certificate*) ;; *) echo \"\$m\"; exit 1 ;; esac"

# Deletion removes the artifacts.
k delete helmrepository -n "$NS" open --wait=true --timeout=30s >/dev/null 2>&1
check "deleted: artifacts removed" bash -c "[ \"$OP_MODE\" = cluster ] || [ ! -e '$OP_DATA/helmrepository/$NS/open' ]"

tap_end
