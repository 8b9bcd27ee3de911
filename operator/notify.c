/*
 * notify.c: notifications (see notify.h).
 *
 * DESIGN
 * Two informers (Providers, Alerts) hold the static objects.  An event is
 * turned into Flux's JSON once, filtered for duplicates, then matched
 * against every cached Alert; each match becomes a `struct job`, which
 * reads the Provider's Secrets one after the other (kube_get), builds the
 * request and sends it on an HTTP engine of its own (the Provider's CA,
 * client certificate and proxy), retrying on a timer.  Jobs are linked so
 * that notify_close() can cancel them.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "base/alloc.h"
#include "base/hmap.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "kube/events.h"
#include "kube/http.h"
#include "kube/informer.h"
#include "notify.h"
#include "secrets.h"
#include "base/regex.h"
#include "yj/yj.h"
#include "base/banned.h"

#define GROUP "notification.toolkit.fluxcd.io"
#define EVENT_GROUP "event.toolkit.fluxcd.io"
#define RATE_LIMIT_MS (5 * 60 * 1000)
#define DEDUP_MAX 4096
#define TIMEOUT_MS 15000
#define RETRY_MAX 4
#define RETRY_MIN_MS 2000
#define RETRY_CAP_MS 30000
#define MESSAGE_MAX 39000

struct seen {
	char key[65];
	uint64_t at_ms;
};

struct notify {
	struct kube_client *client;
	uv_loop_t *loop;
	struct informer *providers, *alerts;
	struct kevents *events;
	char *host;
	uint64_t rate_limit_ms;
	bool no_cross_ns, enabled, started, closing;
	struct hmap seen;
	struct job *jobs;
	unsigned inflight, open;
	struct notify_stats stats;
	void (*close_cb)(void *payload);
	void *close_payload;
};

enum step { STEP_SECRET, STEP_PROXY, STEP_CERT, STEP_SEND };

struct job {
	struct notify *n;
	struct job *prev, *next;
	cJSON *event, *alert, *provider; /* copies */
	enum step step;
	/* From the Provider and its Secrets (secret ones wiped on free). */
	char *address, *token, *proxy, *proxy_user, *proxy_pass;
	bool address_secret;
	cJSON *headers;
	struct secret_tls tls;
	/* The request. */
	struct kube_http *http;
	struct http_req *req;
	char *url, **hdrs;
	struct buf body;
	unsigned attempt;
	uint64_t deadline_ms;
	/* A commit status (github, gitlab, gitea): GET the list, then POST. */
	struct notify_status st;
	bool listed;
	uv_timer_t timer;
	bool timer_on;
};

/* ------------------------------------------------------------ helpers */

static const char *sget(const cJSON *o, const char *k)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static bool bget(const cJSON *o, const char *k)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, k));
}

/* Set string member `k` of `o`, keeping members sorted (Go marshals maps so). */
static void set_sorted(cJSON *o, const char *k, const char *v)
{
	cJSON *it, *item = cJSON_CreateString(v);

	cJSON_DeleteItemFromObjectCaseSensitive(o, k);
	for (it = o->child; it && strcmp(it->string, k) < 0; it = it->next)
		;
	item->string = xstrdup(k);
	if (!it) {
		cJSON_AddItemToArray(o, item); /* appends; the name is kept */
		return;
	}
	/* Insert before `it`. */
	item->next = it;
	item->prev = it->prev;
	if (it == o->child) {
		item->prev = it->prev; /* cJSON keeps the tail in child->prev */
		o->child = item;
	} else {
		it->prev->next = item;
	}
	it->prev = item;
}

/* The API group of "group/version" (or "" for "v1"). */
static void group_of(const char *api_version, char *out, size_t n)
{
	const char *slash = api_version ? strchr(api_version, '/') : NULL;

	snprintf(out, n, "%.*s", slash ? (int)(slash - api_version) : 0,
		 slash ? api_version : "");
}

/* "Kind/ns/name" of the involved object, as Flux's messages name it. */
static void involved(const cJSON *ev, char *out, size_t n)
{
	const cJSON *io = cJSON_GetObjectItemCaseSensitive(ev, "involvedObject");

	snprintf(out, n, "%s/%s/%s", strempty(sget(io, "kind")), strempty(sget(io, "namespace")),
		 strempty(sget(io, "name")));
}

/* ------------------------------------------------------------ the event */

cJSON *notify_event_json(const struct notify_event *e, const char *host, int64_t unix_ns)
{
	cJSON *ev = cJSON_CreateObject(), *io, *meta = cJSON_CreateObject(), *it;
	char ts[RFC3339_MAX], group[256], prefix[300], drop1[320], drop2[320];
	size_t len = strlen(e->message);

	io = cJSON_AddObjectToObject(ev, "involvedObject");
	if (e->kind)
		cJSON_AddStringToObject(io, "kind", e->kind);
	if (e->ns && *e->ns)
		cJSON_AddStringToObject(io, "namespace", e->ns);
	cJSON_AddStringToObject(io, "name", e->name);
	if (e->uid && *e->uid)
		cJSON_AddStringToObject(io, "uid", e->uid);
	if (e->api_version)
		cJSON_AddStringToObject(io, "apiVersion", e->api_version);
	if (e->resource_version && *e->resource_version)
		cJSON_AddStringToObject(io, "resourceVersion", e->resource_version);
	cJSON_AddStringToObject(ev, "severity", streq(e->type, "Warning") ? "error" : "info");
	time_format_rfc3339(unix_ns, ts);
	cJSON_AddStringToObject(ev, "timestamp", ts);
	if (len > MESSAGE_MAX) {
		char *cut = xstrndup(e->message, MESSAGE_MAX);

		cJSON_AddStringToObject(ev, "message", cut);
		free(cut);
	} else {
		cJSON_AddStringToObject(ev, "message", e->message);
	}
	cJSON_AddStringToObject(ev, "reason", e->reason);

	/* The event server's cleanupMetadata(). */
	group_of(e->api_version, group, sizeof(group));
	snprintf(prefix, sizeof(prefix), "%s/", group);
	snprintf(drop1, sizeof(drop1), "%schecksum", prefix);
	snprintf(drop2, sizeof(drop2), "%sdigest", prefix);
	cJSON_ArrayForEach(it, e->metadata)
	{
		if (!cJSON_IsString(it) || strcasecmp(it->string, drop1) == 0 ||
		    strcasecmp(it->string, drop2) == 0)
			continue;
		if (str_startswith(it->string, EVENT_GROUP "/") ||
		    str_startswith(it->string, prefix))
			set_sorted(meta, it->string, it->valuestring);
	}
	if (meta->child)
		cJSON_AddItemToObject(ev, "metadata", meta);
	else
		cJSON_Delete(meta);
	cJSON_AddStringToObject(ev, "reportingController", e->component);
	if (host && *host)
		cJSON_AddStringToObject(ev, "reportingInstance", host);
	return ev;
}

/* metadata["<object's group>/<suffix>"], or NULL. */
static const char *group_meta(const cJSON *ev, const char *suffix)
{
	const cJSON *io = cJSON_GetObjectItemCaseSensitive(ev, "involvedObject");
	char group[256], key[320];

	group_of(sget(io, "apiVersion"), group, sizeof(group));
	snprintf(key, sizeof(key), "%s/%s", group, suffix);
	return sget(cJSON_GetObjectItemCaseSensitive(ev, "metadata"), key);
}

void notify_event_key(const cJSON *ev, char ret[65])
{
	const cJSON *io = cJSON_GetObjectItemCaseSensitive(ev, "involvedObject");
	struct buf k = BUF_INIT(SIZE_MAX);
	const char *v;

	buf_addf(&k, "event/name=%s/namespace=%s/kind=%s/message=%s", strempty(sget(io, "name")),
		 strempty(sget(io, "namespace")), strempty(sget(io, "kind")),
		 strempty(sget(ev, "message")));
	if ((v = group_meta(ev, "originRevision")))
		buf_addf(&k, "/originRevision=%s", v);
	if ((v = group_meta(ev, "revision")))
		buf_addf(&k, "/revision=%s", v);
	if ((v = group_meta(ev, "token")))
		buf_addf(&k, "/token=%s", v);
	yj_sha256_hex(k.buf, k.len, ret);
	buf_release(&k);
}

/* True when the key was seen within the window (and remember it now). */
static bool duplicate(struct notify *n, const char key[65])
{
	uint64_t now = uv_now(n->loop);
	struct seen *s = hmap_get(&n->seen, key);

	if (s && now - s->at_ms < n->rate_limit_ms)
		return true;
	if (!s) {
		if (hmap_size(&n->seen) >= DEDUP_MAX) {
			size_t it = 0;
			const char *k;
			void *v;

			/* Forget what has expired; if nothing has, forget everything. */
			while (hmap_next(&n->seen, &it, &k, &v)) {
				if (now - ((struct seen *)v)->at_ms >= n->rate_limit_ms) {
					hmap_remove(&n->seen, k);
					free(v);
					it = 0;
				}
			}
			if (hmap_size(&n->seen) >= DEDUP_MAX) {
				it = 0;
				while (hmap_next(&n->seen, &it, NULL, &v))
					free(v);
				hmap_release(&n->seen);
				hmap_init(&n->seen);
			}
		}
		s = xcalloc(1, sizeof(*s));
		memcpy(s->key, key, 65);
		hmap_put(&n->seen, s->key, s);
	}
	s->at_ms = now;
	return false;
}

/* ------------------------------------------------------------ matching */

static bool labels_match(const cJSON *want, const cJSON *labels)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, want)
	{
		const char *have = sget(labels, it->string);

		if (!cJSON_IsString(it) || !have || !streq(have, it->valuestring))
			return false;
	}
	return true;
}

static bool source_matches(const cJSON *src, const char *alert_ns, const cJSON *ev,
			   const cJSON *labels, const char *severity)
{
	const cJSON *io = cJSON_GetObjectItemCaseSensitive(ev, "involvedObject");
	const char *ns = sget(src, "namespace"), *name = sget(src, "name");
	const cJSON *ml = cJSON_GetObjectItemCaseSensitive(src, "matchLabels");

	if (!ns || !*ns)
		ns = alert_ns;
	if (!streq_ptr(strempty(sget(io, "namespace")), ns) ||
	    !streq_ptr(strempty(sget(io, "kind")), strempty(sget(src, "kind"))))
		return false;
	if (!streq(sget(ev, "severity"), severity) && !streq(severity, "info"))
		return false;
	if (!name || (!streq(name, "*") && !streq(name, strempty(sget(io, "name")))))
		return false;
	if (!ml || cJSON_IsNull(ml))
		return true;
	return labels_match(ml, labels);
}

/* Does any regex of `list` match `msg`?  Bad ones are named in `bad`. */
static bool list_matches(const cJSON *list, const char *msg, const char *what, char *bad,
			 size_t n)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, list)
	{
		struct regex *re = NULL;
		char *err = NULL;
		bool m;

		if (!cJSON_IsString(it))
			continue;
		if (regex_compile(it->valuestring, strlen(it->valuestring), &re, &err) < 0) {
			if (bad && !*bad)
				snprintf(bad, n, "failed to compile %s regex: %s", what,
					 it->valuestring);
			free(err);
			continue;
		}
		m = regex_match(re, msg, strlen(msg));
		regex_free(re);
		if (m)
			return true;
	}
	return false;
}

bool notify_alert_matches(const cJSON *alert, const cJSON *ev, const cJSON *labels, char *bad,
			  size_t n)
{
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(alert, "spec"), *src, *inc, *exc;
	const char *ns = yj_get_str(alert, "/metadata/namespace");
	const char *severity = sget(spec, "eventSeverity");
	const char *msg = strempty(sget(ev, "message"));
	bool any = false;

	if (bad && n)
		*bad = '\0';
	if (bget(spec, "suspend"))
		return false;
	if (!severity || !*severity)
		severity = "info";
	cJSON_ArrayForEach(src, cJSON_GetObjectItemCaseSensitive(spec, "eventSources"))
	{
		if (source_matches(src, strempty(ns), ev, labels, severity)) {
			any = true;
			break;
		}
	}
	if (!any)
		return false;
	inc = cJSON_GetObjectItemCaseSensitive(spec, "inclusionList");
	if (cJSON_GetArraySize(inc) > 0 && !list_matches(inc, msg, "inclusion", bad, n))
		return false;
	exc = cJSON_GetObjectItemCaseSensitive(spec, "exclusionList");
	if (cJSON_GetArraySize(exc) > 0 && list_matches(exc, msg, "exclusion", bad, n))
		return false;
	return true;
}

void notify_combine_metadata(cJSON *ev, const cJSON *alert)
{
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(alert, "spec"), *it;
	const cJSON *old = cJSON_GetObjectItemCaseSensitive(ev, "metadata");
	const cJSON *io = cJSON_GetObjectItemCaseSensitive(ev, "involvedObject");
	cJSON *meta = cJSON_CreateObject();
	const char *summary = sget(spec, "summary");
	char group[256], prefix[300];

	/* 1) event.toolkit.fluxcd.io/ keys, unprefixed. */
	cJSON_ArrayForEach(it, old)
		if (cJSON_IsString(it) && str_startswith(it->string, EVENT_GROUP "/"))
			set_sorted(meta, it->string + strlen(EVENT_GROUP "/"), it->valuestring);
	/* 2) the Alert's eventMetadata. */
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(spec, "eventMetadata"))
		if (cJSON_IsString(it))
			set_sorted(meta, it->string, it->valuestring);
	/* 3) its summary. */
	if (summary && *summary)
		set_sorted(meta, "summary", summary);
	/* 4) the object's own group's keys, unprefixed. */
	group_of(sget(io, "apiVersion"), group, sizeof(group));
	snprintf(prefix, sizeof(prefix), "%s/", group);
	cJSON_ArrayForEach(it, old)
		if (cJSON_IsString(it) && str_startswith(it->string, prefix))
			set_sorted(meta, it->string + strlen(prefix), it->valuestring);
	if (!meta->child) {
		cJSON_Delete(meta);
		return; /* Flux keeps the event's metadata as it was */
	}
	cJSON_DeleteItemFromObjectCaseSensitive(ev, "metadata");
	/* Back in its place, before reportingController. */
	cJSON *rc = cJSON_GetObjectItemCaseSensitive(ev, "reportingController");

	meta->string = xstrdup("metadata");
	meta->next = rc;
	meta->prev = rc->prev;
	rc->prev->next = meta;
	rc->prev = meta;
}

/* ------------------------------------------------------------ payloads */

/* Go's url.ParseRequestURI, as far as a webhook address goes. */
static int request_uri(const char *u, const char *what, char *msg, size_t n)
{
	const char *p = u;

	if (!*u) {
		snprintf(msg, n, "invalid %s URL : parse \"\": empty url", what);
		return -EINVAL;
	}
	if (*u == '/')
		return 0;
	if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) {
		while (*p && (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.'))
			p++;
		if (*p == ':')
			return 0;
	}
	snprintf(msg, n, "invalid %s URL %s: parse \"%s\": invalid URI for request", what, u, u);
	return -EINVAL;
}

static void add_field(cJSON *arr, const char *k1, const char *v1, const char *k2, const char *v2)
{
	cJSON *f = cJSON_CreateObject();

	cJSON_AddStringToObject(f, k1, v1);
	cJSON_AddStringToObject(f, k2, v2);
	cJSON_AddItemToArray(arr, f);
}

/* "kind/name.namespace", lower-case kind: how Slack, Discord and Teams name the object. */
static char *object_title(const cJSON *ev)
{
	const cJSON *io = cJSON_GetObjectItemCaseSensitive(ev, "involvedObject");
	char *s = xasprintf("%s/%s.%s", strempty(sget(io, "kind")), strempty(sget(io, "name")),
			    strempty(sget(io, "namespace")));

	for (char *p = s; *p && *p != '/'; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

static cJSON *slack_payload(const cJSON *ev, const char *channel, const char *username,
			    bool fallback)
{
	cJSON *p = cJSON_CreateObject(), *atts, *a, *fields, *it;
	const char *msg = strempty(sget(ev, "message"));
	char *title = object_title(ev);

	cJSON_AddStringToObject(p, "channel", strempty(channel));
	cJSON_AddStringToObject(p, "username",
				username && *username ? username :
							strempty(sget(ev, "reportingController")));
	cJSON_AddStringToObject(p, "icon_url", "");
	cJSON_AddStringToObject(p, "icon_emoji", "");
	atts = cJSON_AddArrayToObject(p, "attachments");
	a = cJSON_CreateObject();
	if (fallback) {
		const char *nl = strchr(msg, '\n');
		char *fb = xasprintf("%s: %.*s", title, nl ? (int)(nl - msg) : (int)strlen(msg),
				     msg);

		cJSON_AddStringToObject(a, "fallback", fb);
		free(fb);
	} else {
		cJSON_AddStringToObject(a, "fallback", "");
	}
	cJSON_AddStringToObject(a, "color", streq(sget(ev, "severity"), "error") ? "danger" : "good");
	cJSON_AddStringToObject(a, "author_name", title);
	cJSON_AddStringToObject(a, "text", msg);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(a, "mrkdwn_in"), cJSON_CreateString("text"));
	fields = cJSON_AddArrayToObject(a, "fields");
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(ev, "metadata"))
	{
		cJSON *f = cJSON_CreateObject();

		cJSON_AddStringToObject(f, "title", it->string);
		cJSON_AddStringToObject(f, "value", strempty(cJSON_GetStringValue(it)));
		cJSON_AddFalseToObject(f, "short");
		cJSON_AddItemToArray(fields, f);
	}
	cJSON_AddItemToArray(atts, a);
	free(title);
	return p;
}

static cJSON *text_block(const char *text, const char *size, const char *weight,
			 const char *color)
{
	cJSON *b = cJSON_CreateObject();

	cJSON_AddStringToObject(b, "type", "TextBlock");
	cJSON_AddStringToObject(b, "text", text);
	if (size)
		cJSON_AddStringToObject(b, "size", size);
	if (weight)
		cJSON_AddStringToObject(b, "weight", weight);
	if (color)
		cJSON_AddStringToObject(b, "color", color);
	cJSON_AddTrueToObject(b, "wrap");
	return b;
}

static cJSON *teams_payload(const cJSON *ev, bool legacy)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(ev, "metadata"), *it;
	bool error = streq(sget(ev, "severity"), "error");
	const char *msg = strempty(sget(ev, "message"));
	char *title = object_title(ev);
	cJSON *p = cJSON_CreateObject();

	if (legacy) {
		cJSON *sec, *facts;

		cJSON_AddStringToObject(p, "@type", "MessageCard");
		cJSON_AddStringToObject(p, "@context", "http://schema.org/extensions");
		cJSON_AddStringToObject(p, "themeColor", error ? "FF0000" : "0076D7");
		cJSON_AddStringToObject(p, "summary", title);
		sec = cJSON_CreateObject();
		cJSON_AddStringToObject(sec, "activityTitle", msg);
		cJSON_AddStringToObject(sec, "activitySubtitle", title);
		facts = cJSON_AddArrayToObject(sec, "facts");
		cJSON_ArrayForEach(it, meta)
			add_field(facts, "name", it->string, "value", strempty(cJSON_GetStringValue(it)));
		cJSON_AddItemToArray(cJSON_AddArrayToObject(p, "sections"), sec);
	} else {
		cJSON *att, *content, *container, *items, *fs, *facts;
		const char *summary = sget(meta, "summary");

		cJSON_AddStringToObject(p, "type", "message");
		att = cJSON_CreateObject();
		cJSON_AddStringToObject(att, "contentType", "application/vnd.microsoft.card.adaptive");
		content = cJSON_AddObjectToObject(att, "content");
		cJSON_AddStringToObject(content, "$schema",
					"http://adaptivecards.io/schemas/adaptive-card.json");
		cJSON_AddStringToObject(content, "type", "AdaptiveCard");
		cJSON_AddStringToObject(content, "version", "1.4");
		container = cJSON_CreateObject();
		cJSON_AddStringToObject(container, "type", "Container");
		items = cJSON_AddArrayToObject(container, "items");
		cJSON_AddItemToArray(items, text_block(title, "large", "bolder", NULL));
		cJSON_AddItemToArray(items, text_block(msg, NULL, NULL, error ? "attention" : NULL));
		fs = cJSON_CreateObject();
		cJSON_AddStringToObject(fs, "type", "FactSet");
		/* summary first, then the rest sorted (metadata is). */
		facts = cJSON_CreateArray();
		if (summary)
			add_field(facts, "title", "summary", "value", summary);
		cJSON_ArrayForEach(it, meta)
			if (!streq(it->string, "summary"))
				add_field(facts, "title", it->string, "value",
					  strempty(cJSON_GetStringValue(it)));
		if (cJSON_GetArraySize(facts) > 0)
			cJSON_AddItemToObject(fs, "facts", facts);
		else
			cJSON_Delete(facts);
		cJSON_AddItemToArray(items, fs);
		cJSON_AddItemToArray(cJSON_AddArrayToObject(content, "body"), container);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(content, "msteams"), "width", "Full");
		cJSON_AddItemToArray(cJSON_AddArrayToObject(p, "attachments"), att);
	}
	free(title);
	return p;
}

static void add_header(char ***hdrs, size_t *nh, char *h)
{
	*hdrs = xrealloc(*hdrs, (*nh + 2) * sizeof(**hdrs));
	(*hdrs)[(*nh)++] = h;
	(*hdrs)[*nh] = NULL;
}

/* The host part of an absolute URL, without the port. */
static void url_host(const char *u, char *out, size_t n)
{
	const char *p = strstr(u, "://"), *end, *at;

	*out = '\0';
	if (!p)
		return;
	p += 3;
	end = p + strcspn(p, "/?#");
	at = memchr(p, '@', (size_t)(end - p));
	if (at)
		p = at + 1;
	snprintf(out, n, "%.*s", (int)(end - p), p);
	if ((at = strchr(out, ':')) && out[0] != '[')
		*(char *)at = '\0';
}

int notify_build(const char *type, const cJSON *ev, const struct notify_target *t,
		 char **ret_url, struct buf *body, char ***ret_headers, char *msg, size_t n)
{
	const char *url = strempty(t->url);
	char **hdrs = NULL;
	cJSON *payload = NULL, *it;
	size_t nh = 0;
	int r;

	if (streq(type, "generic") || streq(type, "generic-hmac")) {
		bool hmac = streq(type, "generic-hmac");

		if ((r = request_uri(url, "hook", msg, n)) < 0)
			return r;
		if (hmac && (!t->token || !*t->token)) {
			snprintf(msg, n, "HMAC key is empty");
			return -EINVAL;
		}
		r = yj_print_go(ev, body);
		if (r < 0)
			return r;
		add_header(&hdrs, &nh, xstrdup("Content-Type: application/json"));
		add_header(&hdrs, &nh,
			   xasprintf("gotk-component: %s", strempty(sget(ev, "reportingController"))));
		cJSON_ArrayForEach(it, t->headers)
			if (cJSON_IsString(it))
				add_header(&hdrs, &nh, xasprintf("%s: %s", it->string, it->valuestring));
		if (hmac) {
			char sig[65];

			yj_hmac_sha256_hex(t->token, strlen(t->token), body->buf, body->len, sig);
			add_header(&hdrs, &nh, xasprintf("X-Signature: sha256=%s", sig));
		}
		*ret_url = xstrdup(url);
		*ret_headers = hdrs;
		return 0;
	}
	if (streq(type, "slack")) {
		if ((r = request_uri(url, "Slack hook", msg, n)) < 0)
			return r;
		payload = slack_payload(ev, t->channel, t->username, true);
		*ret_url = xstrdup(url);
	} else if (streq(type, "discord")) {
		size_t l = strlen(url);

		if ((r = request_uri(url, "Discord hook", msg, n)) < 0)
			return r;
		payload = slack_payload(ev, NULL, t->username, false);
		if (str_endswith(url, "/slack"))
			*ret_url = xstrdup(url);
		else
			*ret_url = xasprintf("%.*s/slack", (int)(l && url[l - 1] == '/' ? l - 1 : l),
					     url);
	} else if (streq(type, "msteams")) {
		char host[256];

		if ((r = request_uri(url, "MS Teams webhook", msg, n)) < 0)
			return r;
		url_host(url, host, sizeof(host));
		payload = teams_payload(ev, str_endswith(host, ".webhook.office.com"));
		*ret_url = xstrdup(url);
	} else {
		return -ENOTSUP;
	}
	r = yj_print_go(payload, body);
	cJSON_Delete(payload);
	if (r < 0) {
		free(*ret_url);
		*ret_url = NULL;
		return r;
	}
	add_header(&hdrs, &nh, xstrdup("Content-Type: application/json"));
	if (streq(type, "slack") && t->token && *t->token)
		add_header(&hdrs, &nh, xasprintf("Authorization: Bearer %s", t->token));
	*ret_headers = hdrs;
	return 0;
}

/* ------------------------------------------------------------ commit statuses */

bool notify_commit_status_type(const char *type)
{
	return streq_ptr(type, "github") || streq_ptr(type, "gitlab") || streq_ptr(type, "gitea");
}

char *notify_commit_status_id(const cJSON *ev, const char *provider_uid)
{
	const cJSON *io = cJSON_GetObjectItemCaseSensitive(ev, "involvedObject");
	const char *uid = strempty(provider_uid);
	char *id = xasprintf("%s/%s/%.*s", strempty(sget(io, "kind")), strempty(sget(io, "name")),
			     (int)strcspn(uid, "-"), uid);

	for (char *p = id; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return id;
}

/*
 * Go's camelcase split of a reason, joined with spaces and lower-cased
 * (formatNameAndDescription): runs of lower, upper, digits, other; an
 * upper run followed by a lower one gives it its last letter.
 */
static int char_class(char c)
{
	return islower((unsigned char)c) ? 1 : isupper((unsigned char)c) ? 2 :
	       isdigit((unsigned char)c) ? 3 : 4;
}

static char *reason_words(const char *s)
{
	struct buf out = BUF_INIT(4096);
	size_t n = strlen(s), i = 0, start = 0;

	while (i < n) {
		int cls = char_class(s[i]);
		size_t j = i;

		while (j < n && char_class(s[j]) == cls)
			j++;
		if (cls == 2 && j < n && char_class(s[j]) == 1) {
			/* "HTTPServer": "HTTP", then "S" starts the next word with "erver" */
			if (j - 1 > start) {
				if (out.len)
					buf_addch(&out, ' ');
				buf_add(&out, s + start, j - 1 - start);
			}
			start = j - 1;
			i = j;
			continue;
		}
		if (j > start) {
			if (out.len)
				buf_addch(&out, ' ');
			buf_add(&out, s + start, j - start);
		}
		start = i = j;
	}
	for (size_t k = 0; k < out.len; k++)
		out.buf[k] = (char)tolower((unsigned char)out.buf[k]);
	return buf_detach(&out, NULL);
}

/* Flux's parseRevision: the hash after the last ':' (or '/'), 40 or 64 hex digits. */
static int revision_commit(const char *rev, char *out, size_t n, char *msg, size_t mn)
{
	const char *h = strrchr(rev, ':') ? strrchr(rev, ':') + 1 :
			strrchr(rev, '/') ? strrchr(rev, '/') + 1 : rev;
	size_t l = strlen(h);

	if ((l != 40 && l != 64) || strspn(h, "0123456789abcdefABCDEF") != l) {
		snprintf(msg, mn, "failed to extract commit hash from '%s' revision", rev);
		return -EINVAL;
	}
	snprintf(out, n, "%s", h);
	return 0;
}

/*
 * giturls' parse as Flux's parseGitAddress uses it: "scheme://host" (ssh
 * becomes https) and the repository id (the path, no leading '/', no
 * ".git"); scp-like "git@host:owner/repo.git" too.
 */
static int git_address(const char *addr, char **host, char **id, char *msg, size_t n)
{
	const char *p = strstr(addr, "://"), *path;
	char scheme[32];

	if (p && (size_t)(p - addr) < sizeof(scheme)) {
		snprintf(scheme, sizeof(scheme), "%.*s", (int)(p - addr), addr);
		p += 3;
		path = p + strcspn(p, "/");
		if (strchr(p, '@') && strchr(p, '@') < path)
			p = strchr(p, '@') + 1;
	} else if ((p = strchr(addr, ':')) && !strchr(addr, '/') == !strchr(p, '/') &&
		   p > addr) {
		snprintf(scheme, sizeof(scheme), "ssh");
		path = p + 1;
		p = strchr(addr, '@') && strchr(addr, '@') < path ? strchr(addr, '@') + 1 : addr;
		*host = xasprintf("https://%.*s", (int)(path - 1 - p), p);
		goto id;
	} else {
		snprintf(msg, n, "failed parsing URL %s: not a Git URL", addr);
		return -EINVAL;
	}
	*host = xasprintf("%s://%.*s", streq(scheme, "ssh") ? "https" : scheme, (int)(path - p),
			  p);
id:
	while (*path == '/')
		path++;
	*id = xstrdup(path);
	if (str_endswith(*id, ".git"))
		(*id)[strlen(*id) - 4] = '\0';
	return 0;
}

void notify_status_release(struct notify_status *s)
{
	free(s->list_url);
	free(s->post_url);
	buf_release(&s->body);
	for (char **h = s->headers; h && *h; h++)
		free_secret(*h);
	free(s->headers);
	free(s->state);
	free(s->desc);
	free(s->id);
	memset(s, 0, sizeof(*s));
}

int notify_commit_status(const char *type, const cJSON *ev, const struct notify_target *t,
			 const char *id, struct notify_status *s, char *msg, size_t n)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(ev, "metadata");
	const char *reason = strempty(sget(ev, "reason")), *sev = strempty(sget(ev, "severity"));
	const char *rev = sget(meta, "commit") ? sget(meta, "commit") :
			  sget(meta, "originRevision") ? sget(meta, "originRevision") :
							 sget(meta, "revision");
	bool progressing = streq(reason, "Progressing");
	char sha[65], *host = NULL, *repo = NULL, *slash;
	size_t nh = 0;
	cJSON *body;
	int r = -EINVAL;

	memset(s, 0, sizeof(*s));
	s->body = (struct buf)BUF_INIT(64 * 1024);
	/* What the notifier's constructor checks, then its Post. */
	if (!t->token || !*t->token) {
		snprintf(msg, n, "failed to initialize notifier: %s",
			 streq(type, "github") ? "github token or github app details must be specified" :
			 streq(type, "gitlab") ? "gitlab token cannot be empty" :
						 "gitea token cannot be empty");
		return -EINVAL;
	}
	if (git_address(strempty(t->url), &host, &repo, msg, n) < 0)
		return -EINVAL;
	slash = strchr(repo, '/');
	if (!streq(type, "gitlab") && (!slash || strchr(slash + 1, '/'))) {
		if (streq(type, "github"))
			snprintf(msg, n, "failed to initialize notifier: invalid repository id: '%s'",
				 repo);
		else
			snprintf(msg, n, "failed to initialize notifier: invalid repository id \"%s\"",
				 repo);
		goto out;
	}
	/* From here on, Post's errors (-EBADMSG), not the constructor's. */
	r = -EBADMSG;
	if (progressing && !streq(type, "gitea")) {
		r = 1;
		goto out;
	}
	if (!rev) {
		snprintf(msg, n, "missing revision metadata");
		goto out;
	}
	if (revision_commit(rev, sha, sizeof(sha), msg, n) < 0)
		goto out;
	s->state = xstrdup(progressing ? "pending" :
			   streq(sev, "info") ? "success" :
			   streq(sev, "error") ? (streq(type, "gitlab") ? "failed" : "failure") : "");
	if (!*s->state) {
		snprintf(msg, n, "can't convert to %s state", type);
		goto out;
	}
	s->desc = reason_words(reason);
	s->id = xstrdup(id);
	body = cJSON_CreateObject();
	if (streq(type, "github")) {
		const char *api = strstr(host, "://github.com") && str_endswith(host, "://github.com") ?
					  "https://api.github.com/" : NULL;
		char *base = api ? xstrdup(api) : xasprintf("%s/api/v3/", host);

		s->list_url = xasprintf("%srepos/%s/commits/%s/statuses?per_page=50", base, repo, sha);
		s->post_url = xasprintf("%srepos/%s/statuses/%s", base, repo, sha);
		free(base);
		cJSON_AddStringToObject(body, "state", s->state);
		cJSON_AddStringToObject(body, "description", s->desc);
		cJSON_AddStringToObject(body, "context", s->id);
		add_header(&s->headers, &nh, xasprintf("Authorization: Bearer %s", t->token));
		add_header(&s->headers, &nh, xstrdup("Accept: application/vnd.github.v3+json"));
		add_header(&s->headers, &nh, xstrdup("X-GitHub-Api-Version: 2022-11-28"));
	} else if (streq(type, "gitlab")) {
		struct buf pid = BUF_INIT(4096), name = BUF_INIT(4096);

		for (const char *p = repo; *p; p++)
			*p == '/' ? buf_adds(&pid, "%2F") : buf_addch(&pid, *p);
		(void)buf_add_uri_escaped(&name, s->id, false); /* as Go's QueryEscape, for an id */
		s->list_url = xasprintf("%s/api/v4/projects/%s/repository/commits/%s/statuses?name=%s",
					host, pid.buf, sha, name.buf);
		s->post_url = xasprintf("%s/api/v4/projects/%s/statuses/%s", host, pid.buf, sha);
		buf_release(&pid);
		buf_release(&name);
		cJSON_AddStringToObject(body, "state", s->state);
		cJSON_AddStringToObject(body, "name", s->id);
		cJSON_AddStringToObject(body, "description", s->desc);
		add_header(&s->headers, &nh, xasprintf("PRIVATE-TOKEN: %s", t->token));
		add_header(&s->headers, &nh, xstrdup("Accept: application/json"));
	} else {
		s->list_url = xasprintf("%s/api/v1/repos/%s/commits/%s/statuses?limit=50&page=1", host,
					repo, sha);
		s->post_url = xasprintf("%s/api/v1/repos/%s/statuses/%s", host, repo, sha);
		cJSON_AddStringToObject(body, "state", s->state);
		cJSON_AddStringToObject(body, "target_url", "");
		cJSON_AddStringToObject(body, "description", s->desc);
		cJSON_AddStringToObject(body, "context", s->id);
		add_header(&s->headers, &nh, xasprintf("Authorization: token %s", t->token));
		add_header(&s->headers, &nh, xstrdup("Accept:")); /* none, as Gitea's SDK */
	}
	add_header(&s->headers, &nh, xstrdup("Content-Type: application/json"));
	r = yj_print_go(body, &s->body);
	cJSON_Delete(body);
	if (r == 0 && streq(type, "github"))
		r = buf_addch(&s->body, '\n'); /* go-github encodes with a json.Encoder */
out:
	free(host);
	free(repo);
	return r;
}

bool notify_status_duplicate(const char *type, const struct notify_status *s, const char *json,
			     size_t len)
{
	cJSON *list = cJSON_ParseWithLength(json, len);
	const cJSON *arr = cJSON_IsArray(list) ? list : NULL, *e;
	bool dup = false;

	cJSON_ArrayForEach(e, arr) {
		if (streq(type, "gitlab")) {
			/* any status of that commit with the same name, state and description */
			if (streq_ptr(sget(e, "status"), s->state) &&
			    streq_ptr(sget(e, "description"), s->desc) &&
			    streq_ptr(sget(e, "name"), s->id)) {
				dup = true;
				break;
			}
			continue;
		}
		/* GitHub, Gitea: the latest status of the context decides */
		if (!*strempty(sget(e, "context")) || !*strempty(sget(e, "state")) ||
		    !*strempty(sget(e, "description")))
			continue;
		if (streq(sget(e, "context"), s->id)) {
			dup = streq(sget(e, "state"), s->state) &&
			      streq(sget(e, "description"), s->desc);
			break;
		}
	}
	cJSON_Delete(list);
	return dup;
}

/* ------------------------------------------------------------ delivery */

static void job_free(struct job *j);

static void http_closed(void *payload)
{
	struct job *j = payload;

	j->http = NULL;
	job_free(j);
}

static void timer_closed(uv_handle_t *h)
{
	struct job *j = h->data;

	j->timer_on = false;
	job_free(j);
}

static void maybe_closed(struct notify *n);

/* Free once the engine and the timer are closed (each close comes back here). */
static void job_free(struct job *j)
{
	struct notify *n = j->n;

	if (j->http) {
		struct kube_http *h = j->http;

		j->req = NULL;
		http_close(h, http_closed, j);
		return;
	}
	if (j->timer_on) {
		if (!uv_is_closing((uv_handle_t *)&j->timer))
			uv_close((uv_handle_t *)&j->timer, timer_closed);
		return;
	}
	if (j->prev)
		j->prev->next = j->next;
	else
		n->jobs = j->next;
	if (j->next)
		j->next->prev = j->prev;
	n->inflight--;
	cJSON_Delete(j->event);
	cJSON_Delete(j->alert);
	cJSON_Delete(j->provider);
	free_secret(j->address);
	free_secret(j->token);
	free(j->proxy);
	free_secret(j->proxy_user);
	free_secret(j->proxy_pass);
	cJSON_Delete(j->headers);
	secret_tls_release(&j->tls);
	free_secret(j->url);
	for (char **h = j->hdrs; h && *h; h++)
		free_secret(*h);
	free(j->hdrs);
	buf_release(&j->body);
	notify_status_release(&j->st);
	free(j);
	maybe_closed(n);
}

/* Replace every occurrence of `secret` (4 bytes or more) in `s` with "*****". */
static void mask(char *s, size_t n, const char *secret)
{
	size_t sl = secret ? strlen(secret) : 0;
	struct buf out = BUF_INIT(SIZE_MAX);
	const char *p = s, *hit;

	if (sl < 4 || !strstr(s, secret))
		return;
	while ((hit = strstr(p, secret))) {
		buf_add(&out, p, (size_t)(hit - p));
		buf_adds(&out, "*****");
		p = hit + sl;
	}
	buf_adds(&out, p);
	snprintf(s, n, "%s", out.buf);
	buf_release(&out);
}

static void record(struct notify *n, const cJSON *obj, const char *kind, const char *type,
		   const char *reason, const char *msg)
{
	struct kevent_obj eo = {
		.api_version = GROUP "/v1beta3",
		.kind = kind,
		.ns = yj_get_str(obj, "/metadata/namespace"),
		.name = yj_get_str(obj, "/metadata/name"),
		.uid = yj_get_str(obj, "/metadata/uid"),
		.resource_version = yj_get_str(obj, "/metadata/resourceVersion"),
	};

	if (eo.name)
		events_record(n->events, &eo, type, reason, "%s", msg);
}

/* The job failed: `how` is "dispatch" (before sending) or "send". */
static void job_fail(struct job *j, const char *how, const char *why)
{
	struct notify *n = j->n;
	char io[512], msg[2048];

	involved(j->event, io, sizeof(io));
	snprintf(msg, sizeof(msg), "failed to %s notification for %s: %s", how, io, why);
	mask(msg, sizeof(msg), j->token);
	if (j->address_secret)
		mask(msg, sizeof(msg), j->address);
	mask(msg, sizeof(msg), j->proxy_pass);
	n->stats.failed++;
	log_error(NULL, streq(how, "send") ? "failed to send notification" :
					      "failed to dispatch notification",
		  "alert", yj_get_str(j->alert, "/metadata/name"), "namespace",
		  yj_get_str(j->alert, "/metadata/namespace"), "error", msg, NULL);
	if (!n->closing) {
		record(n, j->alert, "Alert", "Warning", "NotificationDispatchFailed", msg);
		if (j->provider)
			record(n, j->provider, "Provider", "Warning", "NotificationDispatchFailed",
			       msg);
	}
	job_free(j);
}

/* The Provider could not be turned into a sender: Flux's "failed to initialize notifier" failure. */
static void init_fail(struct job *j, const char *fmt, ...) _printf_(2, 3);
static void init_fail(struct job *j, const char *fmt, ...)
{
	char why[1024], msg[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof(msg), "failed to initialize notifier for provider '%s': %s",
		 strempty(yj_get_str(j->provider, "/metadata/name")), why);
	job_fail(j, "dispatch", msg);
}

static void send_attempt(struct job *j);

static void retry_fire(uv_timer_t *t)
{
	send_attempt(t->data);
}

/*
 * A commit status's answer: the list (a duplicate ends it, else the POST
 * follows), then the POST's.  Not retried: Flux's Git clients do not.
 */
static void status_sent(struct job *j, const char *type, int r, const struct http_resp *resp,
			const struct op_err *err)
{
	struct notify *n = j->n;
	bool ok = r == 0 && resp->status >= 200 && resp->status < 300;
	char why[1024];

	if (!ok) {
		const char *what = !j->listed ? (streq(type, "gitlab") ? "unable to list commit status"
								: "could not list commit statuses") :
				   streq(type, "github") ? "could not create commit status" : NULL;

		if (r < 0)
			snprintf(why, sizeof(why), "%s%s%s %s: %s", what ? what : "", what ? ": " : "",
				 j->listed ? "POST" : "GET", j->listed ? j->st.post_url : j->st.list_url,
				 err ? err->msg : op_strerror(r));
		else
			snprintf(why, sizeof(why), "%s%s%s %s: %ld %.*s", what ? what : "",
				 what ? ": " : "", j->listed ? "POST" : "GET",
				 j->listed ? j->st.post_url : j->st.list_url, resp->status,
				 (int)(resp->body_len < 512 ? resp->body_len : 512), resp->body);
		job_fail(j, "send", why);
		return;
	}
	if (!j->listed) {
		j->listed = true;
		if (!notify_status_duplicate(type, &j->st, resp->body, resp->body_len)) {
			send_attempt(j);
			return;
		}
		log_debug(NULL, "commit status unchanged: not posted again", "alert",
			  yj_get_str(j->alert, "/metadata/name"), NULL);
	}
	n->stats.sent++;
	job_free(j);
}

static void sent(struct http_req *req, int r, const struct http_resp *resp,
		 const struct op_err *err, void *payload)
{
	struct job *j = payload;
	struct notify *n = j->n;
	const char *type = yj_get_str(j->provider, "/spec/type");
	uint64_t now = uv_now(n->loop), wait;
	char why[1024];
	bool retry;

	j->req = NULL;
	j->attempt++;
	if (r == -ECANCELED || n->closing) {
		job_free(j);
		return;
	}
	if (j->st.post_url) {
		status_sent(j, type, r, resp, err);
		return;
	}
	if (r == 0 && resp->status >= 200 && resp->status < 300) {
		if (streq(type, "slack") && streq(j->url, "https://slack.com/api/chat.postMessage")) {
			cJSON *b = cJSON_ParseWithLength(resp->body, resp->body_len);

			if (!b) {
				job_fail(j, "send", "postMessage failed: request failed: unable to "
						    "unmarshal response body");
				return;
			}
			if (!bget(b, "ok")) {
				snprintf(why, sizeof(why), "postMessage failed: request failed: "
							    "Slack responded with error: %s",
					 strempty(sget(b, "error")));
				cJSON_Delete(b);
				job_fail(j, "send", why);
				return;
			}
			cJSON_Delete(b);
		}
		n->stats.sent++;
		log_debug(NULL, "notification sent", "alert", yj_get_str(j->alert, "/metadata/name"),
			  "namespace", yj_get_str(j->alert, "/metadata/namespace"), NULL);
		job_free(j);
		return;
	}
	retry = r < 0 || resp->status == 429 || resp->status == 0 ||
		(resp->status >= 500 && resp->status != 501);
	if (!retry) {
		snprintf(why, sizeof(why),
			 "postMessage failed: request failed: request failed with status code "
			 "%ld: %.*s",
			 resp->status, (int)(resp->body_len < 512 ? resp->body_len : 512),
			 resp->body);
		job_fail(j, "send", why);
		return;
	}
	if (j->attempt > RETRY_MAX) {
		snprintf(why, sizeof(why),
			 "postMessage failed: failed to execute request: POST %s giving up after %u "
			 "attempt(s)%s%s",
			 j->url, j->attempt, r < 0 ? ": " : "", r < 0 && err ? err->msg : "");
		job_fail(j, "send", why);
		return;
	}
	wait = RETRY_MIN_MS << (j->attempt - 1);
	if (wait > RETRY_CAP_MS)
		wait = RETRY_CAP_MS;
	if (r == 0 && (resp->status == 429 || resp->status == 503) && resp->retry_after > 0)
		wait = (uint64_t)resp->retry_after * 1000;
	if (now + wait >= j->deadline_ms) {
		job_fail(j, "send", "postMessage failed: failed to execute request: context "
				    "deadline exceeded");
		return;
	}
	uv_timer_start(&j->timer, retry_fire, wait, 0);
}

static void send_attempt(struct job *j)
{
	struct http_req_opts o = HTTP_REQ_OPTS_INIT;
	const char *get_hdrs[8];
	uint64_t now = uv_now(j->n->loop);
	int r;

	o.method = "POST";
	o.url = j->url;
	o.headers = (const char *const *)j->hdrs;
	o.body = j->body.buf;
	o.body_len = j->body.len;
	if (j->st.post_url) {
		size_t k = 0;

		/* the GET without a body goes without its Content-Type, as Go's clients send it */
		for (char **h = j->st.headers; h && *h && k + 1 < sizeof(get_hdrs) / sizeof(*get_hdrs);
		     h++)
			if (j->listed || !str_startswith(*h, "Content-Type:"))
				get_hdrs[k++] = *h;
		get_hdrs[k] = NULL;
		o.method = j->listed ? "POST" : "GET";
		o.url = j->listed ? j->st.post_url : j->st.list_url;
		o.headers = get_hdrs;
		o.body = j->listed ? j->st.body.buf : NULL;
		o.body_len = j->listed ? j->st.body.len : 0;
	}
	o.max_body = 64 * 1024;
	o.timeout_ms = j->deadline_ms > now ? j->deadline_ms - now : 1;
	r = http_request(j->http, &o, sent, j, &j->req);
	if (r < 0) {
		char why[256];

		snprintf(why, sizeof(why), "postMessage failed: failed to execute request: %s",
			 op_strerror(r));
		job_fail(j, "send", why);
	}
}

static void start_send(struct job *j)
{
	struct notify *n = j->n;
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(j->provider, "spec");
	const char *type = strempty(sget(spec, "type"));
	struct notify_target t = {
		.url = j->address,
		.token = j->token,
		.channel = sget(spec, "channel"),
		.username = sget(spec, "username"),
		.headers = j->headers,
	};
	struct http_opts ho = HTTP_OPTS_INIT;
	struct op_err err = OP_ERR_INIT;
	char msg[1024], why[1200];
	int r;

	notify_combine_metadata(j->event, j->alert);
	if (notify_commit_status_type(type)) {
		char *id = notify_commit_status_id(j->event, yj_get_str(j->provider, "/metadata/uid"));

		r = notify_commit_status(type, j->event, &t, id, &j->st, msg, sizeof(msg));
		free(id);
		if (r == 1) {
			job_free(j); /* nothing to set for this event */
			return;
		}
		if (r == -EINVAL) {
			init_fail(j, "%s", msg);
			return;
		}
		if (r < 0) {
			job_fail(j, "send", msg);
			return;
		}
	} else {
		r = notify_build(type, j->event, &t, &j->url, &j->body, &j->hdrs, msg, sizeof(msg));
	}
	if (r < 0) {
		/* -ENOTSUP cannot happen: dispatch() refused the type (notify_provider_unsupported()). */
		if (r == -ENOTSUP)
			init_fail(j, "failed to initialize notifier: provider %s not supported", type);
		else
			init_fail(j, "failed to initialize notifier: %s", msg);
		return;
	}
	ho.ca_pem = j->tls.ca;
	ho.cert_pem = j->tls.cert;
	ho.key_pem = j->tls.key;
	ho.proxy_url = j->proxy;
	ho.proxy_user = j->proxy_user;
	ho.proxy_pass = j->proxy_pass;
	ho.no_http2 = true;
	ho.user_agent = "cflux-notification";
	r = http_new(n->loop, &ho, &j->http, &err);
	if (r < 0) {
		snprintf(why, sizeof(why), "postMessage failed: %s", err.msg);
		job_fail(j, "send", why);
		return;
	}
	uv_timer_init(n->loop, &j->timer);
	j->timer.data = j;
	j->timer_on = true;
	send_attempt(j);
}

static void next_step(struct job *j);

static void secret_got(int r, const cJSON *secret, const struct op_err *err, void *payload)
{
	struct job *j = payload;
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(j->provider, "spec");
	const char *ns = yj_get_str(j->provider, "/metadata/namespace");
	char msg[1024];

	if (j->n->closing) {
		job_free(j);
		return;
	}
	switch (j->step) {
	case STEP_SECRET: {
		const char *name = yj_get_str(spec, "/secretRef/name");
		char *v;

		if (r < 0) {
			init_fail(j, "failed to get secret '%s/%s': %s", ns, name, err->msg);
			return;
		}
		if ((v = secret_value(secret, "address"))) {
			char *tr = str_trim_dup(v);

			free_secret(v);
			if (strlen(tr) > 2048) {
				free_secret(tr);
				init_fail(j, "invalid address in secret: address exceeds maximum "
					     "length of 2048 bytes");
				return;
			}
			free_secret(j->address);
			j->address = tr;
			j->address_secret = true;
		}
		if ((v = secret_value(secret, "token"))) {
			j->token = str_trim_dup(v);
			free_secret(v);
		}
		/* GitHub's and Gitea's notifiers take the password for a token. */
		if (!j->token && (streq_ptr(sget(spec, "type"), "github") ||
				  streq_ptr(sget(spec, "type"), "gitea")) &&
		    (v = secret_value(secret, "password"))) {
			j->token = str_trim_dup(v);
			free_secret(v);
		}
		if ((v = secret_value(secret, "proxy"))) {
			free(j->proxy);
			j->proxy = str_trim_dup(v);
			free_secret(v);
		}
		if ((v = secret_value(secret, "headers"))) {
			struct op_err perr = OP_ERR_INIT;
			cJSON *h = NULL;

			if (yj_parse_one(v, strlen(v), &h, &perr) < 0 || (h && !cJSON_IsObject(h))) {
				free_secret(v);
				cJSON_Delete(h);
				init_fail(j, "failed to read headers from secret: not a map of "
					     "strings");
				return;
			}
			free_secret(v);
			j->headers = h;
		}
		j->step = STEP_PROXY;
		break;
	}
	case STEP_PROXY: {
		const char *name = yj_get_str(spec, "/proxySecretRef/name");

		free(j->proxy);
		j->proxy = NULL;
		if (secret_proxy_read(r, secret, err, ns, name, &j->proxy, &j->proxy_user,
				      &j->proxy_pass, msg, sizeof(msg)) < 0) {
			init_fail(j, "%s", msg);
			return;
		}
		j->step = STEP_CERT;
		break;
	}
	case STEP_CERT: {
		const char *name = yj_get_str(spec, "/certSecretRef/name");

		if (r < 0) {
			init_fail(j, "failed to get secret '%s/%s': %s", ns, name, err->msg);
			return;
		}
		if (secret_tls_read(secret, ns, name, &j->tls, msg, sizeof(msg)) < 0) {
			init_fail(j, "failed to get TLS config: %s", msg);
			return;
		}
		j->step = STEP_SEND;
		break;
	}
	case STEP_SEND:
		break;
	}
	next_step(j);
}

/* Read the next Secret the Provider names, or send. */
static void next_step(struct job *j)
{
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(j->provider, "spec");
	static const char *const refs[] = { "/secretRef/name", "/proxySecretRef/name",
					    "/certSecretRef/name" };
	struct kube_ref ref = { .version = "v1", .resource = "secrets" };
	char why[512];

	for (; j->step < STEP_SEND; j->step++) {
		const char *name = yj_get_str(spec, refs[j->step]);

		if (!name || !*name)
			continue;
		ref.ns = yj_get_str(j->provider, "/metadata/namespace");
		ref.name = name;
		if (kube_get(j->n->client, &ref, NULL, secret_got, j) < 0) {
			snprintf(why, sizeof(why), "failed to get secret '%s/%s'", ref.ns, name);
			job_fail(j, "dispatch", why);
		}
		return;
	}
	start_send(j);
}

const char *notify_provider_unsupported(const cJSON *spec, char *msg, size_t n)
{
	const char *type = strempty(sget(spec, "type")), *sa = sget(spec, "serviceAccountName");
	static const char *const sent[] = { "generic", "generic-hmac", "slack", "msteams",
					    "discord", "github", "gitlab", "gitea" };
	bool ok = false;

	for (size_t i = 0; i < sizeof(sent) / sizeof(*sent); i++)
		ok |= streq(type, sent[i]);
	if (!ok) {
		snprintf(msg, n, "spec.type '%s' is not supported by cflux (generic, generic-hmac, "
				 "slack, msteams, discord, github, gitlab and gitea are)",
			 type);
		return msg;
	}
	if (*strempty(sget(spec, "commitStatusExpr"))) {
		snprintf(msg, n, "spec.commitStatusExpr is not supported by cflux (it has no CEL); "
				 "remove it for Flux's default status context <kind>/<name>/<uid>");
		return msg;
	}
	if (sa && *sa) {
		/* Flux's own answer while its ObjectLevelWorkloadIdentity gate is off (the default). */
		snprintf(msg, n, "to use spec.serviceAccountName for provider authentication please "
				 "enable the ObjectLevelWorkloadIdentity feature gate in the "
				 "controller");
		return msg;
	}
	return NULL;
}

static void dispatch(struct notify *n, const cJSON *ev, const struct kobj *alert)
{
	const char *ans = alert->ns, *pname = yj_get_str(alert->json, "/spec/providerRef/name");
	const char *ens = yj_get_str(ev, "/involvedObject/namespace");
	struct kobj *prov;
	const cJSON *pspec;
	struct job *j;
	char key[512], why[1024];

	if (n->inflight >= NOTIFY_MAX_INFLIGHT) {
		n->stats.dropped++;
		log_error(NULL, "notification dropped: too many in flight", "alert", alert->name,
			  "namespace", alert->ns, NULL);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->n = n;
	j->event = cJSON_Duplicate(ev, true);
	j->alert = cJSON_Duplicate(alert->json, true);
	j->body = (struct buf)BUF_INIT(1024 * 1024);
	j->next = n->jobs;
	if (n->jobs)
		n->jobs->prev = j;
	n->jobs = j;
	n->inflight++;
	if (n->no_cross_ns && !streq_ptr(ens, ans)) {
		char io[512];

		involved(ev, io, sizeof(io));
		snprintf(why, sizeof(why),
			 "discarding event, access denied to cross-namespace sources: alert "
			 "'%s/%s' can't process event from '%s', cross-namespace references have "
			 "been blocked",
			 ans, alert->name, io);
		job_fail(j, "dispatch", why);
		return;
	}
	snprintf(key, sizeof(key), "%s/%s", ans, strempty(pname));
	prov = informer_get(n->providers, key);
	if (!prov) {
		snprintf(why, sizeof(why),
			 "failed to read provider: providers." GROUP " \"%s\" not found",
			 strempty(pname));
		job_fail(j, "dispatch", why);
		return;
	}
	pspec = cJSON_GetObjectItemCaseSensitive(prov->json, "spec");
	if (bget(pspec, "suspend")) {
		job_free(j);
		return;
	}
	/*
	 * Flux's routing of commit-status events: one marked as a status
	 * update (a Kustomization's "Reconciliation finished") goes to Git
	 * and generic Providers only; a Git Provider gets those, failures,
	 * and events naming a commit.
	 */
	{
		const char *type = strempty(sget(pspec, "type"));
		bool git = notify_commit_status_type(type);
		bool generic = streq(type, "generic") || streq(type, "generic-hmac");
		bool update = streq_ptr(group_meta(ev, "commit_status"), "update");
		const char *commit = sget(cJSON_GetObjectItemCaseSensitive(ev, "metadata"),
					  EVENT_GROUP "/commit");

		if ((!git && !generic && update) ||
		    (git && !(commit && *commit) && !update &&
		     !streq_ptr(sget(ev, "severity"), "error"))) {
			job_free(j);
			return;
		}
	}
	j->provider = cJSON_Duplicate(prov->json, true);
	if (notify_provider_unsupported(pspec, why, sizeof(why))) {
		init_fail(j, "%s", why);
		return;
	}
	if (sget(pspec, "address"))
		j->address = xstrdup(sget(pspec, "address"));
	if (sget(pspec, "proxy") && *sget(pspec, "proxy"))
		j->proxy = xstrdup(sget(pspec, "proxy"));
	{
		const char *to = sget(pspec, "timeout");
		int64_t ns = (int64_t)TIMEOUT_MS * NSEC_PER_MSEC;

		if (to && *to && duration_parse(to, &ns) < 0)
			ns = (int64_t)TIMEOUT_MS * NSEC_PER_MSEC;
		j->deadline_ms = uv_now(n->loop) + (uint64_t)(ns / NSEC_PER_MSEC);
	}
	next_step(j);
}

void notify_event(struct notify *n, const struct notify_event *e)
{
	size_t it = 0;
	struct kobj *a;
	char key[65], bad[512];
	cJSON *ev, *meta;

	if (!n || !n->enabled || !n->started || n->closing || !e->name || !e->kind)
		return;
	/* No Alert at all (the common case): no JSON, no hashing. */
	if (informer_size(n->alerts) == 0)
		return;
	n->stats.events++;
	ev = notify_event_json(e, n->host, time_now_ns());
	notify_event_key(ev, key);
	if (duplicate(n, key)) {
		n->stats.duplicates++;
		log_debug(NULL, "Discarding event, rate limiting duplicate events", "kind", e->kind,
			  "name", e->name, "namespace", e->ns, NULL);
		cJSON_Delete(ev);
		return;
	}
	/* excludeInternalMetadata(): the token only served the duplicate key. */
	meta = cJSON_GetObjectItemCaseSensitive(ev, "metadata");
	if (meta) {
		char group[256], tk[320];

		group_of(e->api_version, group, sizeof(group));
		snprintf(tk, sizeof(tk), "%s/token", group);
		cJSON_DeleteItemFromObjectCaseSensitive(meta, tk);
		if (!meta->child)
			cJSON_DeleteItemFromObjectCaseSensitive(ev, "metadata");
	}
	while ((a = informer_next(n->alerts, &it))) {
		bool m = notify_alert_matches(a->json, ev, e->labels, bad, sizeof(bad));

		if (*bad)
			record(n, a->json, "Alert", "Warning", "InvalidConfig", bad);
		if (m)
			dispatch(n, ev, a);
	}
	cJSON_Delete(ev);
}

/* ------------------------------------------------------------ lifecycle */

/* The caches are read when an event comes; their changes need no handling. */
static void cache_only(struct informer *inf, enum informer_event ev, struct kobj *obj,
		       struct kobj *old, void *payload)
{
}

int notify_new(const struct notify_opts *o, struct notify **ret)
{
	struct notify *n = xcalloc(1, sizeof(*n));
	struct informer_opts io = INFORMER_OPTS_INIT;
	char host[256];
	int r;

	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	n->client = o->client;
	n->loop = kube_client_loop(o->client);
	n->host = xstrdup(host);
	n->rate_limit_ms = o->rate_limit_ms ? o->rate_limit_ms : RATE_LIMIT_MS;
	n->no_cross_ns = o->no_cross_ns;
	n->enabled = true;
	hmap_init(&n->seen);
	io.ref = (struct kube_ref){ .group = GROUP, .version = "v1beta3", .resource = "providers",
				    .ns = o->watch_namespace };
	r = informer_new(o->client, &io, cache_only, NULL, &n->providers);
	if (r == 0) {
		io.ref.resource = "alerts";
		r = informer_new(o->client, &io, cache_only, NULL, &n->alerts);
	}
	if (r == 0)
		r = events_new(o->client, "notification-controller", &n->events);
	if (r < 0) {
		if (n->providers)
			informer_close(n->providers, NULL, NULL);
		free(n->host);
		free(n);
		return r;
	}
	*ret = n;
	return 0;
}

int notify_start(struct notify *n)
{
	int r = informer_start(n->providers);

	if (r == 0)
		r = informer_start(n->alerts);
	if (r == 0)
		n->started = true;
	return r;
}

void notify_set_enabled(struct notify *n, bool enabled)
{
	n->enabled = enabled;
}

void notify_get_stats(const struct notify *n, struct notify_stats *ret)
{
	*ret = n->stats;
}

static void maybe_closed(struct notify *n)
{
	size_t it = 0;
	void *v;

	if (!n->closing || n->open > 0 || n->inflight > 0)
		return;
	while (hmap_next(&n->seen, &it, NULL, &v))
		free(v);
	hmap_release(&n->seen);
	events_free(n->events);
	free(n->host);
	if (n->close_cb)
		n->close_cb(n->close_payload);
	free(n);
}

static void informer_closed(void *payload)
{
	struct notify *n = payload;

	n->open--;
	maybe_closed(n);
}

void notify_close(struct notify *n, void (*cb)(void *payload), void *payload)
{
	struct job *j, *next;

	n->closing = true;
	n->close_cb = cb;
	n->close_payload = payload;
	n->open = 2;
	informer_close(n->providers, informer_closed, n);
	informer_close(n->alerts, informer_closed, n);
	for (j = n->jobs; j; j = next) {
		next = j->next;
		if (j->req)
			http_cancel(j->req); /* sent() frees it */
		else if (j->timer_on && uv_is_active((uv_handle_t *)&j->timer))
			job_free(j);
		/* else a Secret read is in flight: secret_got() frees it */
	}
}
