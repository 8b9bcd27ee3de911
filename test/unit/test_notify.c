/*
 * test_notify.c: operator/notify.c — Flux's event JSON, the duplicate
 * key, Alert matching, RFC 0008's metadata, and each provider's request,
 * as the notification-controller (v1.9.3) builds them.  Expected bytes
 * are Go's encoding/json output for the notifier structs, written out by
 * hand from their field order; the HMAC and the key were computed apart
 * (Python's hmac and hashlib).
 */
#include <errno.h>
#include <string.h>

#include "base/alloc.h"
#include "base/str.h"
#include "harness.h"
#include "operator/controllers.h"
#include "operator/notify.h"
#include "yj/yj.h"

#define TS 1796367600LL /* 2026-12-04T07:00:00Z */

static cJSON *J(const char *s)
{
	cJSON *j = cJSON_Parse(s);

	ASSERT_NOT_NULL(j);
	return j;
}

static char *go(const cJSON *j)
{
	struct buf b = BUF_INIT(SIZE_MAX);

	ASSERT_EQ(yj_print_go(j, &b), 0);
	return buf_detach(&b, NULL);
}

static cJSON *event(const char *type, const char *meta)
{
	cJSON *m = meta ? J(meta) : NULL;
	struct notify_event e = {
		.api_version = "kustomize.toolkit.fluxcd.io/v1",
		.kind = "Kustomization",
		.ns = "apps",
		.name = "podinfo",
		.uid = "u-1",
		.resource_version = "42",
		.type = type,
		.reason = "HealthCheckFailed",
		.message = "Deployment/apps/podinfo <status> & more\nline2",
		.component = "kustomize-controller",
		.metadata = m,
	};
	cJSON *ev = notify_event_json(&e, "node-1", TS * 1000000000LL);

	cJSON_Delete(m);
	return ev;
}

#define EVENT_JSON                                                                                 \
	"{\"involvedObject\":{\"kind\":\"Kustomization\",\"namespace\":\"apps\",\"name\":"         \
	"\"podinfo\",\"uid\":\"u-1\",\"apiVersion\":\"kustomize.toolkit.fluxcd.io/v1\","           \
	"\"resourceVersion\":\"42\"},\"severity\":\"error\",\"timestamp\":"                        \
	"\"2026-12-04T07:00:00Z\",\"message\":\"Deployment/apps/podinfo \\u003cstatus\\u003e "     \
	"\\u0026 more\\nline2\",\"reason\":\"HealthCheckFailed\",\"metadata\":{"                   \
	"\"kustomize.toolkit.fluxcd.io/revision\":\"main@sha1:abc\"},\"reportingController\":"     \
	"\"kustomize-controller\",\"reportingInstance\":\"node-1\"}"

TEST(event_json_is_fluxs)
{
	cJSON *ev = event("Warning", "{\"kustomize.toolkit.fluxcd.io/revision\":\"main@sha1:abc\","
				     "\"kustomize.toolkit.fluxcd.io/digest\":\"sha256:x\","
				     "\"kustomize.toolkit.fluxcd.io/Checksum\":\"c\","
				     "\"other.example.com/x\":\"y\"}");
	char *s = go(ev);

	/* Go's field order, HTML-safe escaping; digest, checksum and foreign keys gone. */
	ASSERT_STREQ(s, EVENT_JSON);
	free(s);
	cJSON_Delete(ev);

	/* Normal is info; no metadata at all: no "metadata" member. */
	ev = event("Normal", NULL);
	ASSERT_STREQ(yj_get_str(ev, "/severity"), "info");
	ASSERT_NULL(cJSON_GetObjectItemCaseSensitive(ev, "metadata"));
	cJSON_Delete(ev);
}

TEST(event_key_is_the_event_servers)
{
	cJSON *ev = event("Warning", "{\"kustomize.toolkit.fluxcd.io/token\":\"t1\","
				     "\"kustomize.toolkit.fluxcd.io/revision\":\"main@sha1:abc\"}");
	char key[65], other[65];

	/* sha256("event/name=podinfo/namespace=apps/kind=Kustomization/message=...
	 * /revision=main@sha1:abc/token=t1") */
	notify_event_key(ev, key);
	ASSERT_STREQ(key, "36f7a01922a736b1c4f69d1b2d8799ddbe438541bdfaa241ab76f91227bf4feb");
	cJSON_Delete(ev);
	/* Another token is another key; the severity is not part of it. */
	ev = event("Normal", "{\"kustomize.toolkit.fluxcd.io/token\":\"t2\","
			     "\"kustomize.toolkit.fluxcd.io/revision\":\"main@sha1:abc\"}");
	notify_event_key(ev, other);
	ASSERT(strcmp(key, other) != 0);
	cJSON_Delete(ev);
}

static bool matches(const char *alert, const char *type, const char *labels, char *bad)
{
	cJSON *a = J(alert), *ev = event(type, NULL), *l = labels ? J(labels) : NULL;
	bool m = notify_alert_matches(a, ev, l, bad, 256);

	cJSON_Delete(a);
	cJSON_Delete(ev);
	cJSON_Delete(l);
	return m;
}

#define ALERT(spec) "{\"metadata\":{\"name\":\"a\",\"namespace\":\"apps\"},\"spec\":" spec "}"

TEST(alert_matching_as_the_event_server)
{
	char bad[256];

	/* The namespace defaults to the Alert's; the name may be "*". */
	ASSERT(matches(ALERT("{\"eventSources\":[{\"kind\":\"Kustomization\",\"name\":\"*\"}]}"),
			    "Normal", NULL, bad));
	ASSERT_STREQ(bad, "");
	ASSERT(matches(ALERT("{\"eventSources\":[{\"kind\":\"GitRepository\",\"name\":\"*\"},"
				  "{\"kind\":\"Kustomization\",\"name\":\"podinfo\"}]}"),
			    "Normal", NULL, bad));
	ASSERT(!matches(ALERT("{\"eventSources\":[{\"kind\":\"Kustomization\",\"name\":\"other\"}]}"),
			     "Normal", NULL, bad));
	ASSERT(!matches(ALERT("{\"eventSources\":[{\"kind\":\"Kustomization\",\"name\":\"*\","
				   "\"namespace\":\"flux-system\"}]}"),
			     "Normal", NULL, bad));
	ASSERT(!matches(ALERT("{\"eventSources\":[{\"kind\":\"HelmRelease\",\"name\":\"*\"}]}"),
			     "Normal", NULL, bad));
	/* eventSeverity error takes error events only; info takes all. */
	ASSERT(!matches(ALERT("{\"eventSeverity\":\"error\",\"eventSources\":[{\"kind\":"
				   "\"Kustomization\",\"name\":\"*\"}]}"),
			     "Normal", NULL, bad));
	ASSERT(matches(ALERT("{\"eventSeverity\":\"error\",\"eventSources\":[{\"kind\":"
				  "\"Kustomization\",\"name\":\"*\"}]}"),
			    "Warning", NULL, bad));
	ASSERT(matches(ALERT("{\"eventSeverity\":\"info\",\"eventSources\":[{\"kind\":"
				  "\"Kustomization\",\"name\":\"*\"}]}"),
			    "Warning", NULL, bad));
	/* matchLabels against the object's labels. */
	ASSERT(matches(ALERT("{\"eventSources\":[{\"kind\":\"Kustomization\",\"name\":\"*\","
				  "\"matchLabels\":{\"team\":\"a\"}}]}"),
			    "Normal", "{\"team\":\"a\",\"x\":\"y\"}", bad));
	ASSERT(!matches(ALERT("{\"eventSources\":[{\"kind\":\"Kustomization\",\"name\":\"*\","
				   "\"matchLabels\":{\"team\":\"a\"}}]}"),
			     "Normal", "{\"team\":\"b\"}", bad));
	ASSERT(!matches(ALERT("{\"eventSources\":[{\"kind\":\"Kustomization\",\"name\":\"*\","
				   "\"matchLabels\":{\"team\":\"a\"}}]}"),
			     "Normal", NULL, bad));
	/* Suspended: nothing. */
	ASSERT(!matches(ALERT("{\"suspend\":true,\"eventSources\":[{\"kind\":\"Kustomization\","
				   "\"name\":\"*\"}]}"),
			     "Normal", NULL, bad));
	/* Inclusion (Go regexes, unanchored), then exclusion. */
	ASSERT(matches(ALERT("{\"inclusionList\":[\"^nothing\",\"podinfo <stat\"],"
				  "\"eventSources\":[{\"kind\":\"Kustomization\",\"name\":\"*\"}]}"),
			    "Normal", NULL, bad));
	ASSERT(!matches(ALERT("{\"inclusionList\":[\"^nothing\"],\"eventSources\":[{\"kind\":"
				   "\"Kustomization\",\"name\":\"*\"}]}"),
			     "Normal", NULL, bad));
	ASSERT(!matches(ALERT("{\"exclusionList\":[\"line[0-9]$\"],\"eventSources\":[{\"kind\":"
				   "\"Kustomization\",\"name\":\"*\"}]}"),
			     "Normal", NULL, bad));
	/* A regex Go refuses is skipped and named; the others still count. */
	ASSERT(matches(ALERT("{\"exclusionList\":[\"(?<=x)y\",\"zzz\"],\"eventSources\":[{"
				  "\"kind\":\"Kustomization\",\"name\":\"*\"}]}"),
			    "Normal", NULL, bad));
	ASSERT_STREQ(bad, "failed to compile exclusion regex: (?<=x)y");
}

TEST(metadata_combined_as_rfc_0008)
{
	cJSON *ev = event("Normal", "{\"kustomize.toolkit.fluxcd.io/revision\":\"main@sha1:abc\","
				    "\"event.toolkit.fluxcd.io/cluster\":\"from-event\","
				    "\"event.toolkit.fluxcd.io/summary\":\"from-event\"}");
	cJSON *a = J(ALERT("{\"summary\":\"from-summary\",\"eventMetadata\":{\"cluster\":"
			   "\"from-alert\",\"env\":\"prod\",\"revision\":\"from-alert\"},"
			   "\"eventSources\":[]}"));
	char *s;

	notify_combine_metadata(ev, a);
	s = go(cJSON_GetObjectItemCaseSensitive(ev, "metadata"));
	/* Event group < eventMetadata < summary < the object's group; sorted keys. */
	ASSERT_STREQ(s, "{\"cluster\":\"from-alert\",\"env\":\"prod\",\"revision\":\"main@sha1:abc\","
			"\"summary\":\"from-summary\"}");
	free(s);
	/* Still between reason and reportingController. */
	ASSERT_STREQ(cJSON_GetObjectItemCaseSensitive(ev, "metadata")->next->string,
		     "reportingController");
	ASSERT_STREQ(cJSON_GetObjectItemCaseSensitive(ev, "reason")->next->string, "metadata");
	cJSON_Delete(ev);
	cJSON_Delete(a);
}

static int build(const char *type, const cJSON *ev, const struct notify_target *t, char **url,
		 char **body, char ***hdrs, char *msg)
{
	struct buf b = BUF_INIT(SIZE_MAX);
	int r;

	*url = NULL;
	*hdrs = NULL;
	r = notify_build(type, ev, t, url, &b, hdrs, msg, 256);
	*body = buf_detach(&b, NULL);
	return r;
}

static void free_all(char *url, char *body, char **hdrs)
{
	free(url);
	free(body);
	for (char **h = hdrs; h && *h; h++)
		free(*h);
	free(hdrs);
}

static bool has_header(char **hdrs, const char *want)
{
	for (char **h = hdrs; h && *h; h++)
		if (streq(*h, want))
			return true;
	return false;
}

TEST(generic_and_hmac_requests)
{
	cJSON *ev = event("Warning", "{\"kustomize.toolkit.fluxcd.io/revision\":\"main@sha1:abc\"}");
	cJSON *h = J("{\"X-Team\":\"ops\"}");
	struct notify_target t = { .url = "http://sink:8080/hook", .headers = h };
	char *url, *body, **hdrs, msg[256];

	ASSERT_EQ(build("generic", ev, &t, &url, &body, &hdrs, msg), 0);
	ASSERT_STREQ(url, "http://sink:8080/hook");
	ASSERT_STREQ(body, EVENT_JSON);
	ASSERT(has_header(hdrs, "Content-Type: application/json"));
	ASSERT(has_header(hdrs, "gotk-component: kustomize-controller"));
	ASSERT(has_header(hdrs, "X-Team: ops"));
	free_all(url, body, hdrs);

	/* The HMAC of the body under the Secret's token. */
	t.token = "hmac-key-1";
	ASSERT_EQ(build("generic-hmac", ev, &t, &url, &body, &hdrs, msg), 0);
	ASSERT(has_header(
		hdrs,
		"X-Signature: sha256=27a1d3bd9f1e12dfde57681f13f8aecd8fc5769364da44fb455f2db022ba5cc7"));
	free_all(url, body, hdrs);
	t.token = NULL;
	ASSERT_EQ(build("generic-hmac", ev, &t, &url, &body, &hdrs, msg), -EINVAL);
	ASSERT_STREQ(msg, "HMAC key is empty");
	free_all(url, body, hdrs);

	/* Go's ParseRequestURI refusals. */
	t.url = "";
	ASSERT_EQ(build("generic", ev, &t, &url, &body, &hdrs, msg), -EINVAL);
	ASSERT_STREQ(msg, "invalid hook URL : parse \"\": empty url");
	free_all(url, body, hdrs);
	t.url = "sink:8080";
	ASSERT_EQ(build("generic", ev, &t, &url, &body, &hdrs, msg), 0);
	free_all(url, body, hdrs);
	t.url = "not a url";
	ASSERT_EQ(build("generic", ev, &t, &url, &body, &hdrs, msg), -EINVAL);
	ASSERT_STREQ(msg, "invalid hook URL not a url: parse \"not a url\": invalid URI for request");
	free_all(url, body, hdrs);
	/* A type cflux does not send is said so. */
	t.url = "http://x/";
	ASSERT_EQ(build("rocket", ev, &t, &url, &body, &hdrs, msg), -ENOTSUP);
	free_all(url, body, hdrs);
	cJSON_Delete(h);
	cJSON_Delete(ev);
}

TEST(slack_and_discord_payloads)
{
	cJSON *ev = event("Warning", "{\"kustomize.toolkit.fluxcd.io/revision\":\"main@sha1:abc\"}");
	struct notify_target t = { .url = "https://hooks.slack.com/services/X", .token = "xoxb-1",
				   .channel = "ops" };
	char *url, *body, **hdrs, msg[256];

	ASSERT_EQ(build("slack", ev, &t, &url, &body, &hdrs, msg), 0);
	ASSERT_STREQ(body,
		     "{\"channel\":\"ops\",\"username\":\"kustomize-controller\",\"icon_url\":\"\","
		     "\"icon_emoji\":\"\",\"attachments\":[{\"fallback\":\"kustomization/"
		     "podinfo.apps: Deployment/apps/podinfo \\u003cstatus\\u003e \\u0026 more\","
		     "\"color\":\"danger\",\"author_name\":\"kustomization/podinfo.apps\",\"text\":"
		     "\"Deployment/apps/podinfo \\u003cstatus\\u003e \\u0026 more\\nline2\","
		     "\"mrkdwn_in\":[\"text\"],\"fields\":[{\"title\":\"kustomize.toolkit.fluxcd.io/"
		     "revision\",\"value\":\"main@sha1:abc\",\"short\":false}]}]}");
	ASSERT(has_header(hdrs, "Authorization: Bearer xoxb-1"));
	free_all(url, body, hdrs);

	/* Discord: Slack's payload without channel or fallback, to <hook>/slack. */
	t.url = "https://discord.com/api/webhooks/1/abc";
	t.username = "flux";
	ASSERT_EQ(build("discord", ev, &t, &url, &body, &hdrs, msg), 0);
	ASSERT_STREQ(url, "https://discord.com/api/webhooks/1/abc/slack");
	ASSERT(str_startswith(body, "{\"channel\":\"\",\"username\":\"flux\",\"icon_url\":\"\","
					 "\"icon_emoji\":\"\",\"attachments\":[{\"fallback\":\"\","
					 "\"color\":\"danger\","));
	ASSERT(!has_header(hdrs, "Authorization: Bearer xoxb-1"));
	free_all(url, body, hdrs);
	t.url = "https://discord.com/api/webhooks/1/abc/slack";
	ASSERT_EQ(build("discord", ev, &t, &url, &body, &hdrs, msg), 0);
	ASSERT_STREQ(url, "https://discord.com/api/webhooks/1/abc/slack");
	free_all(url, body, hdrs);
	cJSON_Delete(ev);
}

TEST(msteams_payloads)
{
	cJSON *ev = event("Normal", "{\"kustomize.toolkit.fluxcd.io/revision\":\"main@sha1:abc\"}");
	cJSON *a = J(ALERT("{\"summary\":\"prod\",\"eventSources\":[]}"));
	struct notify_target t = { .url = "https://example.com/workflows/1" };
	char *url, *body, **hdrs, msg[256];

	notify_combine_metadata(ev, a);
	/* An adaptive card (Power Automate workflows), summary first among the facts. */
	ASSERT_EQ(build("msteams", ev, &t, &url, &body, &hdrs, msg), 0);
	ASSERT_STREQ(
		body,
		"{\"type\":\"message\",\"attachments\":[{\"contentType\":\"application/"
		"vnd.microsoft.card.adaptive\",\"content\":{\"$schema\":\"http://adaptivecards.io/"
		"schemas/adaptive-card.json\",\"type\":\"AdaptiveCard\",\"version\":\"1.4\",\"body\":[{"
		"\"type\":\"Container\",\"items\":[{\"type\":\"TextBlock\",\"text\":\"kustomization/"
		"podinfo.apps\",\"size\":\"large\",\"weight\":\"bolder\",\"wrap\":true},{\"type\":"
		"\"TextBlock\",\"text\":\"Deployment/apps/podinfo \\u003cstatus\\u003e \\u0026 "
		"more\\nline2\",\"wrap\":true},{\"type\":\"FactSet\",\"facts\":[{\"title\":\"summary\","
		"\"value\":\"prod\"},{\"title\":\"revision\",\"value\":\"main@sha1:abc\"}]}]}],"
		"\"msteams\":{\"width\":\"Full\"}}}]}");
	free_all(url, body, hdrs);
	/* The old connector for *.webhook.office.com. */
	t.url = "https://acme.webhook.office.com:443/webhookb2/x";
	ASSERT_EQ(build("msteams", ev, &t, &url, &body, &hdrs, msg), 0);
	ASSERT_STREQ(body, "{\"@type\":\"MessageCard\",\"@context\":\"http://schema.org/extensions\","
			   "\"themeColor\":\"0076D7\",\"summary\":\"kustomization/podinfo.apps\","
			   "\"sections\":[{\"activityTitle\":\"Deployment/apps/podinfo \\u003cstatus"
			   "\\u003e \\u0026 more\\nline2\",\"activitySubtitle\":\"kustomization/"
			   "podinfo.apps\",\"facts\":[{\"name\":\"revision\",\"value\":"
			   "\"main@sha1:abc\"},{\"name\":\"summary\",\"value\":\"prod\"}]}]}");
	free_all(url, body, hdrs);
	cJSON_Delete(ev);
	cJSON_Delete(a);
}

TEST(receiver_webhook_path_is_fluxs)
{
	char path[72];

	/* "/hook/" + sha256(token + name + namespace), as Receiver.GetWebhookPath(). */
	receiver_webhook_path("my-token", "recv", "flux-system", path);
	ASSERT_STREQ(path, "/hook/7ee14dd2eb03b83acd78e7ef196fa87f36f972df5411fa259bf3ec41d47615ed");
}

#define SHA "0123456789abcdef0123456789abcdef01234567"

static int status_of(const char *type, cJSON *ev, const char *url, const char *token,
		     struct notify_status *s, char *msg)
{
	struct notify_target t = { .url = url, .token = token };
	cJSON *alert = J("{\"spec\":{}}");
	char *id = notify_commit_status_id(ev, "4F2B9c1d-aaaa-bbbb");
	int r;

	notify_combine_metadata(ev, alert);
	ASSERT_STREQ(id, "kustomization/podinfo/4f2b9c1d");
	r = notify_commit_status(type, ev, &t, id, s, msg, 256);
	free(id);
	cJSON_Delete(alert);
	return r;
}

TEST(commit_statuses_as_fluxs_git_notifiers)
{
	cJSON *ev = event("Warning", "{\"kustomize.toolkit.fluxcd.io/revision\":\"main@sha1:" SHA "\"}");
	struct notify_status s;
	char msg[256];

	/* GitHub Enterprise (any host but github.com): /api/v3/, a failure, the reason's words */
	ASSERT_EQ(status_of("github", ev, "https://ghe.example/org/app.git", "tok", &s, msg), 0);
	ASSERT_STREQ(s.list_url, "https://ghe.example/api/v3/repos/org/app/commits/" SHA
				 "/statuses?per_page=50");
	ASSERT_STREQ(s.post_url, "https://ghe.example/api/v3/repos/org/app/statuses/" SHA);
	ASSERT_STREQ(s.body.buf, "{\"state\":\"failure\",\"description\":\"health check failed\","
				 "\"context\":\"kustomization/podinfo/4f2b9c1d\"}\n");
	ASSERT(has_header(s.headers, "Authorization: Bearer tok"));
	/* the latest status of the context decides */
	ASSERT(notify_status_duplicate("github", &s, "[{\"context\":\"kustomization/podinfo/4f2b9c1d\","
				       "\"state\":\"failure\",\"description\":\"health check failed\"},"
				       "{\"context\":\"kustomization/podinfo/4f2b9c1d\",\"state\":"
				       "\"success\",\"description\":\"x\"}]", 200));
	ASSERT(!notify_status_duplicate("github", &s, "[{\"context\":\"kustomization/podinfo/"
				        "4f2b9c1d\",\"state\":\"success\",\"description\":"
				        "\"health check failed\"}]", 120));
	ASSERT(!notify_status_duplicate("github", &s, "not json", 8));
	notify_status_release(&s);
	cJSON_Delete(ev);

	/* github.com: the public API; an ssh address is its https host */
	ev = event("Normal", "{\"kustomize.toolkit.fluxcd.io/revision\":\"main@sha1:" SHA "\"}");
	ASSERT_EQ(status_of("github", ev, "ssh://git@github.com/org/app", "tok", &s, msg), 0);
	ASSERT_STREQ(s.post_url, "https://api.github.com/repos/org/app/statuses/" SHA);
	ASSERT(str_startswith(s.body.buf, "{\"state\":\"success\","));
	notify_status_release(&s);
	cJSON_Delete(ev);

	/* GitLab: the project's path escaped, "failed", its token header; no trailing newline */
	ev = event("Warning", "{\"kustomize.toolkit.fluxcd.io/revision\":\"main@sha1:" SHA "\"}");
	ASSERT_EQ(status_of("gitlab", ev, "git@gitlab.example:group/sub/app.git", "tok", &s, msg),
		  0);
	ASSERT_STREQ(s.post_url, "https://gitlab.example/api/v4/projects/group%2Fsub%2Fapp/statuses/"
				 SHA);
	ASSERT_STREQ(s.list_url, "https://gitlab.example/api/v4/projects/group%2Fsub%2Fapp/"
				 "repository/commits/" SHA "/statuses?name=kustomization%2Fpodinfo%2F"
				 "4f2b9c1d");
	ASSERT_STREQ(s.body.buf, "{\"state\":\"failed\",\"name\":\"kustomization/podinfo/4f2b9c1d\","
				 "\"description\":\"health check failed\"}");
	ASSERT(has_header(s.headers, "PRIVATE-TOKEN: tok"));
	ASSERT(notify_status_duplicate("gitlab", &s, "[{\"status\":\"success\"},{\"status\":"
				       "\"failed\",\"name\":\"kustomization/podinfo/4f2b9c1d\","
				       "\"description\":\"health check failed\"}]", 200));
	notify_status_release(&s);
	/* Gitea: target_url empty, its token scheme */
	ASSERT_EQ(status_of("gitea", ev, "http://gitea:3000/org/app", "tok", &s, msg), 0);
	ASSERT_STREQ(s.post_url, "http://gitea:3000/api/v1/repos/org/app/statuses/" SHA);
	ASSERT_STREQ(s.body.buf, "{\"state\":\"failure\",\"target_url\":\"\",\"description\":"
				 "\"health check failed\",\"context\":\"kustomization/podinfo/4f2b9c1d\"}");
	ASSERT(has_header(s.headers, "Authorization: token tok"));
	notify_status_release(&s);

	/* Flux's refusals: the constructor's (-EINVAL), then Post's (-EBADMSG) */
	ASSERT_EQ(status_of("gitlab", ev, "http://gitlab/g/a", NULL, &s, msg), -EINVAL);
	ASSERT_STREQ(msg, "failed to initialize notifier: gitlab token cannot be empty");
	notify_status_release(&s);
	ASSERT_EQ(status_of("gitea", ev, "http://gitea/a", "tok", &s, msg), -EINVAL);
	ASSERT_STREQ(msg, "failed to initialize notifier: invalid repository id \"a\"");
	notify_status_release(&s);
	cJSON_Delete(ev);
	ev = event("Warning", "{\"kustomize.toolkit.fluxcd.io/revision\":\"v1.0.0\"}");
	ASSERT_EQ(status_of("github", ev, "http://ghe/o/a", "tok", &s, msg), -EBADMSG);
	ASSERT_STREQ(msg, "failed to extract commit hash from 'v1.0.0' revision");
	notify_status_release(&s);
	cJSON_Delete(ev);
	ev = event("Warning", NULL);
	ASSERT_EQ(status_of("github", ev, "http://ghe/o/a", "tok", &s, msg), -EBADMSG);
	ASSERT_STREQ(msg, "missing revision metadata");
	notify_status_release(&s);
	cJSON_Delete(ev);
}
