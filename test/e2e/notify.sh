#!/bin/bash
# notify.sh: notifications — Provider and Alert (v1beta3) — against a
# recording HTTP sink, and against Flux's own notification-controller
# (TAP).
#
# A GitRepository and a Kustomization reconcile; Alerts send their events
# through one Provider of each type cflux sends (generic, generic-hmac,
# slack, msteams, discord) to the sink (test/e2e/lib/sink.py), which
# records every request.  Checked: the event JSON and metadata (revision,
# summary, eventMetadata), each payload's fields and headers, the HMAC
# signature, eventSeverity, exclusionList, matchLabels, suspended Alerts
# and Providers, the duplicate filter, and the Warning Events of what
# cannot be sent (a type cflux does not send, a dead address, a 400).
# Git commit statuses (github, gitlab, gitea) go to the sink as a forge:
# the commit's statuses listed, a new one posted, an unchanged one not.
#
# The oracle: Flux's notification-controller (test/cluster/build.sh
# flux-notification, on this host) watches the same Alerts.  The events
# cflux sent are POSTed to it as Flux's controllers would, and what it
# sends to the sink is compared with what cflux sent, provider by
# provider: the same bytes, up to the order of map-born lists.
set -u

NAME=notify
# shellcheck source=test/e2e/lib/operator.bash
. "$(dirname "$0")/lib/operator.bash"

[ -x "$NOTIFICATION_CONTROLLER" ] || bash "$repo/test/cluster/build.sh" flux-notification >&2
check "CRDs installed" crd_install source.toolkit.fluxcd.io_gitrepositories.yaml \
	kustomize.toolkit.fluxcd.io_kustomizations.yaml \
	notification.toolkit.fluxcd.io_providers.yaml notification.toolkit.fluxcd.io_alerts.yaml \
	notification.toolkit.fluxcd.io_receivers.yaml
k create namespace "$NS" >/dev/null

# ------------------------------------------------------------ the sink
SINKLOG=$W/sink.jsonl
: >"$SINKLOG"
python3 "$repo/test/e2e/lib/sink.py" "$SERVERS_HOST" "$W/sink.port" "$SINKLOG" &
SINK_PID=$!
trap 'flux_stop; kill $SINK_PID 2>/dev/null; e2e_cleanup' EXIT
poll 10 test -s "$W/sink.port"
SINK=http://$SERVERS_HOST:$(cat "$W/sink.port")

# sinkq PATH [PYTHON-EXPR [WHO]]: how many requests to PATH satisfy EXPR, over
# b (the body, parsed), h (headers) and r (the record); WHO: cflux (default),
# flux (the notification-controller: any other user agent) or any.
sinkq() {
	python3 - "$SINKLOG" "$1" "${2:-True}" "${3:-cflux}" <<'EOF'
import hashlib, hmac, json, sys
log, path, expr, who = sys.argv[1:]
n = 0
for line in open(log):
    r = json.loads(line)
    h = r["headers"]
    go = not h.get("user-agent", "").startswith("cflux")
    if r["path"] != path or (who == "cflux" and go) or (who == "flux" and not go):
        continue
    try:
        b = json.loads(r["body"])
    except ValueError:
        b = None
    if eval(expr):
        n += 1
print(n)
EOF
}
# atleast N PATH EXPR [WHO]
atleast() { [ "$(sinkq "$2" "$3" "${4:-cflux}")" -ge "$1" ]; }
export -f sinkq atleast poll
export SINKLOG

# ------------------------------------------------------------ objects
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  v: "1"\n' >"$W/src/app.yaml"
COMMIT=$(bash "$repo/test/cluster/mkrepo.sh" "$REPO" "$W/src" main)
HMAC_TOKEN=hmac-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
SLACK_TOKEN=xoxb-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
k create secret generic -n "$NS" hmac --from-literal=token="$HMAC_TOKEN" \
	--from-literal=address="$SINK/hmac" --from-literal=headers="X-From: cflux-test" >/dev/null
k create secret generic -n "$NS" slack --from-literal=token="$SLACK_TOKEN" >/dev/null

provider() { # NAME TYPE ADDRESS [extra spec lines]
	{
		printf 'apiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Provider\n'
		printf 'metadata:\n  name: %s\n  namespace: %s\n' "$1" "$NS"
		printf 'spec:\n  type: %s\n' "$2"
		[ -n "$3" ] && printf '  address: %s\n' "$3"
		shift 3
		for l in "$@"; do printf '  %s\n' "$l"; done
	} | k apply -f - >/dev/null
}
alert() { # NAME PROVIDER SOURCES-JSON [extra spec lines]
	{
		printf 'apiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Alert\n'
		printf 'metadata:\n  name: %s\n  namespace: %s\n' "$1" "$NS"
		printf 'spec:\n  providerRef: {name: %s}\n  eventSources: %s\n' "$2" "$3"
		shift 3
		for l in "$@"; do printf '  %s\n' "$l"; done
	} | k apply -f - >/dev/null
}
KS='[{kind: Kustomization, name: "*"}]'
provider generic generic "$SINK/generic"
provider hmac generic-hmac "" "secretRef: {name: hmac}"
provider slack slack "$SINK/slack" "channel: ops" "secretRef: {name: slack}"
provider msteams msteams "$SINK/teams"
provider discord discord "$SINK/discord"
provider errors generic "$SINK/errors"
provider excl generic "$SINK/excl"
provider labelled generic "$SINK/labelled"
provider rocket rocket "$SINK/rocket"
provider dead generic "http://127.0.0.1:1/dead" "timeout: 2s"
provider refused generic "$SINK/status/400/"
provider paused generic "$SINK/paused" "suspend: true"
provider quiet generic "$SINK/quiet"
FORGE_TOKEN=forge-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
k create secret generic -n "$NS" forge --from-literal=token="$FORGE_TOKEN" >/dev/null
provider github github "$SINK/org/app" "secretRef: {name: forge}"
provider gitlab gitlab "$SINK/group/app.git" "secretRef: {name: forge}"
provider gitea gitea "$SINK/org/app" "secretRef: {name: forge}"
provider notoken github "$SINK/org/app"
check "Providers and Alerts accepted" true
alert generic generic '[{kind: GitRepository, name: "*"}, {kind: Kustomization, name: app}]' \
	'summary: "cluster one"' 'eventMetadata: {env: test}'
alert hmac hmac "$KS"
alert slack slack "$KS"
alert msteams msteams "$KS"
alert discord discord "$KS"
alert errors errors "$KS" "eventSeverity: error"
alert excl excl "$KS" 'exclusionList: ["^Reconciliation finished"]'
alert labelled labelled '[{kind: Kustomization, name: "*", matchLabels: {team: a}}, {kind: GitRepository, name: "*", matchLabels: {team: a}}]'
alert rocket rocket "$KS"
alert dead dead "$KS"
alert refused refused "$KS"
alert paused paused "$KS"
alert quiet quiet "$KS" "suspend: true"
for p in github gitlab gitea notoken; do alert "$p" "$p" "$KS"; done

gitrepo app "$GIT_HTTP_URL/$REPO.git" "ref: {branch: main}" >/dev/null
kustomization app app ./ "targetNamespace: $NS" >/dev/null
k label kustomization -n "$NS" app team=a >/dev/null

check "operator starts" start_operator
check "Kustomization Ready" poll 60 is_ready kustomization app True

# ------------------------------------------------------------ what arrived
REV="main@sha1:$COMMIT"
check "generic: the GitRepository's NewArtifact, with revision, summary and eventMetadata" \
	poll 20 atleast 1 /generic "b['involvedObject']['kind'] == 'GitRepository' and b['reason'] == 'NewArtifact' and b['severity'] == 'info' and b['metadata'] == {'revision': '$REV', 'summary': 'cluster one', 'env': 'test'} and b['reportingController'] == 'source-controller' and h['gotk-component'] == 'source-controller' and h['content-type'] == 'application/json'"
check "generic: the Kustomization's ReconciliationSucceeded, revision applied" \
	poll 20 atleast 1 /generic "b['involvedObject'] == {'kind': 'Kustomization', 'namespace': '$NS', 'name': 'app', 'uid': b['involvedObject']['uid'], 'apiVersion': 'kustomize.toolkit.fluxcd.io/v1', 'resourceVersion': b['involvedObject']['resourceVersion']} and b['reason'] == 'ReconciliationSucceeded' and b['message'].startswith('Reconciliation finished in ') and b['metadata']['revision'] == '$REV' and h['gotk-component'] == 'kustomize-controller'"
# One pass over the log: requests may still arrive between two.
check "generic-hmac: address, token and headers from the Secret, X-Signature verifies" bash -c \
	"poll 20 atleast 1 /hmac True && [ \$(sinkq /hmac \"not (h['x-signature'] == 'sha256=' + hmac.new(b'$HMAC_TOKEN', r['body'].encode(), hashlib.sha256).hexdigest() and h['x-from'] == 'cflux-test')\") = 0 ]"
check "slack: channel, author, color, fields, bearer token" \
	poll 20 atleast 1 /slack "b['channel'] == 'ops' and b['username'] == 'kustomize-controller' and b['attachments'][0]['author_name'] == 'kustomization/app.$NS' and b['attachments'][0]['color'] == 'good' and {'title': 'revision', 'value': '$REV', 'short': False} in b['attachments'][0]['fields'] and h['authorization'] == 'Bearer $SLACK_TOKEN'"
check "msteams: an adaptive card naming the object" \
	poll 20 atleast 1 /teams "b['type'] == 'message' and b['attachments'][0]['content']['type'] == 'AdaptiveCard' and b['attachments'][0]['content']['body'][0]['items'][0]['text'] == 'kustomization/app.$NS'"
check "discord: Slack's payload to the hook's /slack" \
	poll 20 atleast 1 /discord/slack "b['attachments'][0]['fallback'] == '' and b['channel'] == ''"
check "exclusionList: Progressing sent, 'Reconciliation finished' not" bash -c \
	"poll 20 atleast 1 /excl \"b['reason'] == 'Progressing'\" && [ \$(sinkq /excl \"b['message'].startswith('Reconciliation finished')\") = 0 ]"
check "matchLabels: the labelled Kustomization's events, not the unlabelled GitRepository's" bash -c \
	"poll 20 atleast 1 /labelled \"b['involvedObject']['kind'] == 'Kustomization'\" && [ \$(sinkq /labelled \"b['involvedObject']['kind'] == 'GitRepository'\") = 0 ]"
check "eventSeverity error: no info event sent" bash -c "[ \$(sinkq /errors True any) = 0 ]"
check "a suspended Provider and a suspended Alert send nothing" bash -c \
	"[ \$(sinkq /paused True any) = 0 ] && [ \$(sinkq /quiet True any) = 0 ]"

# ------------------------------------------------------------ commit statuses
ctx() { # PROVIDER: Flux's default status context, from the Provider's uid
	local uid
	uid=$(k get provider -n "$NS" "$1" -o jsonpath='{.metadata.uid}')
	echo "kustomization/app/${uid%%-*}"
}
CTX=$(ctx github) CTXL=$(ctx gitlab) CTXT=$(ctx gitea)
GH=/api/v3/repos/org/app
GL=/api/v4/projects/group%2Fapp
GT=/api/v1/repos/org/app
check "github: the commit's statuses listed, then 'success' posted with the context, bearer token" bash -c \
	"poll 20 atleast 1 $GH/statuses/$COMMIT \"r['method'] == 'POST' and b == {'state': 'success', 'description': 'reconciliation succeeded', 'context': '$CTX'} and h['authorization'] == 'Bearer $FORGE_TOKEN' and h['content-type'] == 'application/json'\" && atleast 1 '$GH/commits/$COMMIT/statuses?per_page=50' \"r['method'] == 'GET'\""
check "gitlab: the project by its escaped path, name, PRIVATE-TOKEN" bash -c \
	"poll 20 atleast 1 $GL/statuses/$COMMIT \"b == {'state': 'success', 'name': '$CTXL', 'description': 'reconciliation succeeded'} and h['private-token'] == '$FORGE_TOKEN'\" && atleast 1 '$GL/repository/commits/$COMMIT/statuses?name=${CTXL//\//%2F}' True"
check "gitea: target_url empty, token authorization" bash -c \
	"poll 20 atleast 1 $GT/statuses/$COMMIT \"b == {'state': 'success', 'target_url': '', 'description': 'reconciliation succeeded', 'context': '$CTXT'} and h['authorization'] == 'token $FORGE_TOKEN'\""
check "Progressing events set no status (Flux routes only the marked success and failures)" bash -c \
	"[ \$(sinkq $GH/statuses/$COMMIT \"b['description'] != 'reconciliation succeeded'\") = 0 ]"
posts() { sinkq "$GH/statuses/$COMMIT" "r['method'] == 'POST'"; }
lists() { sinkq "$GH/commits/$COMMIT/statuses?per_page=50" True; }
export -f posts lists
export GH COMMIT
P0=$(posts) L0=$(lists)
k annotate ks app -n "$NS" --overwrite "reconcile.fluxcd.io/requestedAt=$(date +%s%N)" >/dev/null
check "the same status again: listed, found, not posted twice" bash -c \
	"poll 30 bash -c '[ \$(lists) -gt $L0 ]'; sleep 1; echo \"lists \$(lists) (before $L0), posts \$(posts) (before $P0)\"; [ \$(lists) -gt $L0 ] && [ \$(posts) = $P0 ]"
check "slack, msteams and discord do not get the success marked for commit statuses" bash -c \
	"[ \$(sinkq /slack \"'Reconciliation finished' in json.dumps(b)\") = 0 ] && [ \$(sinkq /generic \"b['message'].startswith('Reconciliation finished') and b['metadata'].get('commit_status') == 'update'\") -ge 1 ]"

event_on() { # KIND NAME REASON SUBSTRING: a Warning Event says it
	k get events -n "$NS" --field-selector "involvedObject.kind=$1,involvedObject.name=$2,reason=$3,type=Warning" \
		-o jsonpath='{range .items[*]}{.message}{"\n"}{end}' | grep -qF -- "$4"
}
export -f event_on
check "a type cflux does not send: NotificationDispatchFailed on the Alert, saying so" \
	poll 20 event_on Alert rocket NotificationDispatchFailed \
	"failed to dispatch notification for Kustomization/$NS/app: failed to initialize notifier for provider 'rocket': spec.type 'rocket' is not supported by cflux"
check "an unreachable address: NotificationDispatchFailed on the Alert after the Provider's timeout" \
	poll 30 event_on Alert dead NotificationDispatchFailed "failed to send notification for Kustomization/$NS/app: postMessage failed: failed to execute request"
check "... and on the Provider (v1beta3 has no status)" \
	poll 10 event_on Provider dead NotificationDispatchFailed "failed to send notification for Kustomization/$NS/app"
check "github without a token: refused, in Flux's words" \
	poll 20 event_on Alert notoken NotificationDispatchFailed \
	"failed to initialize notifier for provider 'notoken': failed to initialize notifier: github token or github app details must be specified"
check "a 400 is not retried: its status and body in the Event" \
	poll 20 event_on Alert refused NotificationDispatchFailed \
	"postMessage failed: request failed: request failed with status code 400: refused by the sink"
check "the 400 was tried once per event (no retry: no body twice)" python3 -c '
import json, sys
bodies = [json.loads(l)["body"] for l in open(sys.argv[1]) if json.loads(l)["path"] == "/status/400/"
          and json.loads(l)["headers"].get("user-agent", "").startswith("cflux")]
sys.exit(0 if bodies and len(bodies) == len(set(bodies)) else 1)' "$SINKLOG"

# ------------------------------------------------------------ errors, once
k patch kustomization -n "$NS" app --type=merge -p '{"spec":{"path":"./missing"}}' >/dev/null
check "an error event reaches the eventSeverity error Alert" \
	poll 30 atleast 1 /errors "b['severity'] == 'error' and b['reason'] == 'ArtifactFailed' and 'missing' in b['message']"
check "... and the commit's statuses: failure (gitlab: failed)" bash -c \
	"poll 20 atleast 1 $GH/statuses/$COMMIT \"b['state'] == 'failure' and b['description'] == 'artifact failed'\" && poll 20 atleast 1 $GL/statuses/$COMMIT \"b['state'] == 'failed'\" && poll 20 atleast 1 $GT/statuses/$COMMIT \"b['state'] == 'failure'\""
sleep 8 # the Kustomization fails again every 2 s (retryInterval), with the same message
check "the same failure repeated is sent once (the duplicate filter)" bash -c \
	"[ \$(sinkq /errors True) = 1 ] && [ \$(k get events -n $NS --field-selector involvedObject.name=app,reason=ArtifactFailed -o jsonpath='{.items[0].count}') -ge 2 ]"
check "the Event itself carries the revision annotation" bash -c \
	"k get events -n $NS --field-selector involvedObject.kind=Kustomization,reason=ArtifactFailed -o jsonpath='{.items[0].metadata.annotations}' | grep -qF '\"kustomize.toolkit.fluxcd.io/revision\":\"$REV\"'"
check "no token in the operator's log or Events" bash -c \
	"! { op_log; k get events -n $NS -o json; } | grep -qE '$HMAC_TOKEN|$SLACK_TOKEN|$FORGE_TOKEN'"

# ------------------------------------------------------------ the CLIs
[ -x "$FLUX_CLI" ] || bash "$repo/test/cluster/build.sh" oci >&2
cli_same "get alert-providers = flux" get alert-providers -n "$NS"
cli_same "get alerts = flux" get alerts -n "$NS"
cli_same "get alert NAME (suspended) = flux" get alert quiet -n "$NS"
cli_same "get alerts --status-selector ready=true = flux" get alerts -n "$NS" --status-selector ready=true
cli_same "get all = flux (providers and alerts after the Kustomization)" get all -n "$NS"
check "reconcile alert: refused (exit 2), not pretended" bash -c \
	"'$BIN/cflux' reconcile alert generic -n $NS 2>$W/e; [ \$? = 2 ] && grep -qF 'not supported by cflux yet' $W/e"

# ------------------------------------------------------------ the Extension's switch
check "Extension CRD installed" crd_install clusterconfig.cflux.io_extensions.yaml
ext_notify() { # true|false: the flux Extension's notification-controller.enabled
	printf 'apiVersion: clusterconfig.cflux.io/v1\nkind: Extension\nmetadata:\n  name: flux\nspec:\n  extensionType: microsoft.flux\n  autoUpgradeMinorVersion: true\n  scope: {cluster: {releaseNamespace: %s}}\n  configurationSettings:\n    notification-controller.enabled: "%s"\n' \
		"${OP_NS:-$NS}" "$1" | k apply -f - >/dev/null &&
		poll 30 bash -c "[ \"\$(k get extension flux -o jsonpath='{.status.provisioningState}')\" = Succeeded ]"
}
# Unique messages (a missing path each time): a repeat would be a duplicate.
sent_about() { sinkq /generic "b['involvedObject']['kind'] == 'Kustomization' and '$1' in b['message']"; }
warned_about() {
	k get events -n "$NS" --field-selector involvedObject.kind=Kustomization,reason=ArtifactFailed \
		-o jsonpath='{range .items[*]}{.message}{"\n"}{end}' | grep -qF "$1"
}
export -f sent_about warned_about
check "notification-controller.enabled=false applied" ext_notify false
k patch kustomization -n "$NS" app --type=merge -p '{"spec":{"path":"./missing-off"}}' >/dev/null
check "switched off: the failure is an Event, and is not sent" bash -c \
	"poll 30 warned_about missing-off && sleep 3 && [ \$(sent_about missing-off) = 0 ]"
check "notification-controller.enabled=true applied" ext_notify true
k patch kustomization -n "$NS" app --type=merge -p '{"spec":{"path":"./missing-on"}}' >/dev/null
check "switched on again: the next failure is sent" poll 30 bash -c "[ \$(sent_about missing-on) = 1 ]"
k patch kustomization -n "$NS" app --type=merge -p '{"spec":{"path":"./"}}' >/dev/null
check "the Extension goes" k delete extension flux --wait=true --timeout=30s

# ------------------------------------------------------------ the oracle
check "Flux's notification-controller starts (same Alerts)" flux_start "$NS" notification
# The events cflux sent (its generic deliveries, metadata re-prefixed as
# the controllers send it), replayed to Flux's event server.
python3 - "$SINKLOG" "$W/replay" <<'EOF'
import json, os, sys
log, out = sys.argv[1:]
os.makedirs(out, exist_ok=True)
seen = set()
for line in open(log):
    r = json.loads(line)
    if r["path"] != "/generic":
        continue
    b = json.loads(r["body"])
    key = (b["involvedObject"]["kind"], b["reason"])
    if key in seen or key not in {("GitRepository", "NewArtifact"), ("Kustomization", "ReconciliationSucceeded"), ("Kustomization", "Progressing")}:
        continue
    seen.add(key)
    group = b["involvedObject"]["apiVersion"].split("/")[0]
    b["metadata"] = {group + "/" + k: v for k, v in b["metadata"].items() if k not in ("summary", "env")}
    with open(os.path.join(out, "%d.json" % len(seen)), "w") as f:
        json.dump(b, f)
EOF
check "three events to replay" bash -c "[ \$(ls $W/replay | wc -l) = 3 ]"
for f in "$W"/replay/*.json; do
	curl -fsS -o /dev/null -H 'Content-Type: application/json' --data-binary @"$f" \
		"http://127.0.0.1:$FLUX_EVENTS_PORT/" || fail "POST $(basename "$f") to Flux's event server"
done
check "Flux delivered the replayed events" poll 30 atleast 3 /generic True flux

# same PATH: for every event Flux sent to PATH, cflux sent the same request.
same() {
	python3 - "$SINKLOG" "$1" <<'EOF'
import json, sys
log, path = sys.argv[1:]
def norm(b):
    # Go ranges over a map for Slack's fields and the old Teams facts: any order.
    for a in b.get("attachments") or []:
        if isinstance(a.get("fields"), list):
            a["fields"].sort(key=lambda f: f["title"])
    for s in b.get("sections") or []:
        s["facts"].sort(key=lambda f: f["name"])
    return b
HDRS = ("content-type", "gotk-component", "x-signature", "authorization", "x-from",
        "private-token", "accept", "x-github-api-version")
ours, theirs = {}, []
for line in open(log):
    r = json.loads(line)
    if r["path"] != path:
        continue
    go = not r["headers"].get("user-agent", "").startswith("cflux")
    b = json.loads(r["body"]) if r["body"] else {}
    text = json.dumps(b, sort_keys=True)
    if go:
        theirs.append((r, b))
    else:
        ours.setdefault(text, r)
        ours.setdefault(json.dumps(norm(b), sort_keys=True), r)
bad = 0
for r, b in theirs:
    n = json.dumps(norm(b), sort_keys=True)
    mine = ours.get(n)
    if mine is None:
        print("Flux sent, cflux did not:", r["body"][:400])
        bad += 1
        continue
    if (path in ("/generic", "/hmac") or "/statuses" in path) and mine["body"] != r["body"]:
        print("not byte for byte:\n ours:  ", mine["body"][:400], "\n theirs:", r["body"][:400])
        bad += 1
    for h in HDRS:
        if h == "accept" and "/statuses" not in path:
            continue  # curl's default Accept: */* where Go's http client sends none
        if mine["headers"].get(h) != r["headers"].get(h):
            print("header", h, "ours:", mine["headers"].get(h), "theirs:", r["headers"].get(h))
            bad += 1
print(len(theirs), "compared")
sys.exit(1 if bad or not theirs else 0)
EOF
}
for p in /generic /hmac /slack /teams /discord/slack /excl /labelled "$GH/statuses/$COMMIT" \
	"$GL/statuses/$COMMIT" "$GT/statuses/$COMMIT" "$GH/commits/$COMMIT/statuses?per_page=50" \
	"$GL/repository/commits/$COMMIT/statuses?name=${CTXL//\//%2F}"; do
	# Flux posts to each provider on its own; /generic first is no sign the rest came.
	check "as Flux sends it: $p" poll 20 same "$p"
done
check "Flux and cflux send nothing for the suspended" bash -c \
	"[ \$(sinkq /paused True any) = 0 ] && [ \$(sinkq /quiet True any) = 0 ]"
flux_stop

tap_end
