/*
 * ctl_receiver.c: Receiver (notification.toolkit.fluxcd.io/v1), as
 * notification-controller v1.9.3 does it: the reconciler publishes the
 * webhook path, and the receiver server answers on it.
 *
 * RECONCILE
 *   type, resourceFilter, resources[].filter  cflux answers generic,
 *       generic-hmac, github and gitlab; the other types and the CEL
 *       filters stall (UnsupportedField), naming what;
 *   secretRef  its `token` (TokenNotFound while missing, retried);
 *   status     webhookPath /hook/sha256(token+name+namespace), Ready
 *       "Receiver initialized for path: ...", requeued after interval.
 *
 * THE SERVER (receiver_hook(), on --receiver-addr; every replica serves)
 * A POST to /hook/<digest> finds its Receiver by status.webhookPath (a
 * LIST, so a replica that does not lead answers too), refuses it when
 * suspended or not Ready (503), validates the call for the type (generic:
 * nothing; generic-hmac: X-Signature "sha256=<hmac of the body>"; github:
 * X-Hub-Signature-256 and X-GitHub-Event among spec.events; gitlab:
 * X-Gitlab-Token and X-Gitlab-Event), else 400; then annotates every
 * resource (by name, or "*" with matchLabels) with
 * reconcile.fluxcd.io/requestedAt, which is what the reconcilers react to.
 * 200 when all were annotated, 500 otherwise; 404 for an unknown path.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "conditions.h"
#include "controllers.h"
#include "secrets.h"
#include "yj/yj.h"
#include "base/banned.h"

#define KIND "Receiver"
#define GROUP "notification.toolkit.fluxcd.io"
#define HOOK_PREFIX "/hook/"

/* The kinds a Receiver may name, their API and resource. */
static const struct {
	const char *kind, *group, *version, *resource;
} kinds[] = {
	{ "GitRepository", "source.toolkit.fluxcd.io", "v1", "gitrepositories" },
	{ "OCIRepository", "source.toolkit.fluxcd.io", "v1", "ocirepositories" },
	{ "Bucket", "source.toolkit.fluxcd.io", "v1", "buckets" },
	{ "HelmRepository", "source.toolkit.fluxcd.io", "v1", "helmrepositories" },
	{ "HelmChart", "source.toolkit.fluxcd.io", "v1", "helmcharts" },
	{ "Kustomization", "kustomize.toolkit.fluxcd.io", "v1", "kustomizations" },
	{ "HelmRelease", "helm.toolkit.fluxcd.io", "v2", "helmreleases" },
	{ "ImageRepository", "image.toolkit.fluxcd.io", "v1", "imagerepositories" },
	{ "ImagePolicy", "image.toolkit.fluxcd.io", "v1", "imagepolicies" },
	{ "ImageUpdateAutomation", "image.toolkit.fluxcd.io", "v1", "imageupdateautomations" },
	{ "ArtifactGenerator", "source.extensions.fluxcd.io", "v1beta1", "artifactgenerators" },
	{ "ExternalArtifact", "source.toolkit.fluxcd.io", "v1", "externalartifacts" },
};

static bool supported_type(const char *t)
{
	return t && (streq(t, "generic") || streq(t, "generic-hmac") || streq(t, "github") ||
		     streq(t, "gitlab"));
}

const char *receiver_unsupported(const cJSON *spec, char *msg, size_t n)
{
	const char *t = yj_get_str(spec, "/type");
	const cJSON *res;
	int i = 0;

	if (!supported_type(t)) {
		snprintf(msg, n, "spec.type '%s' is not supported by cflux (generic, generic-hmac, "
				 "github and gitlab are)",
			 strempty(t));
		return msg;
	}
	if (yj_get_str(spec, "/resourceFilter") && *yj_get_str(spec, "/resourceFilter")) {
		snprintf(msg, n, "spec.resourceFilter (CEL) is not supported by cflux yet");
		return msg;
	}
	cJSON_ArrayForEach(res, cJSON_GetObjectItemCaseSensitive(spec, "resources"))
	{
		const char *f = yj_get_str(res, "/filter");

		if (f && *f) {
			snprintf(msg, n, "spec.resources[%d].filter (CEL) is not supported by cflux yet",
				 i);
			return msg;
		}
		i++;
	}
	return NULL;
}

void receiver_webhook_path(const char *token, const char *name, const char *ns, char ret[72])
{
	char *s = xasprintf("%s%s%s", token, name, ns);
	char hex[65];

	yj_sha256_hex(s, strlen(s), hex);
	free_secret(s);
	snprintf(ret, 72, HOOK_PREFIX "%s", hex);
}

/* ------------------------------------------------------------ reconcile */

static void token_got(int r, const cJSON *secret, const struct op_err *err, void *payload)
{
	struct rc *rc = payload;
	const char *name = yj_get_str(rc->obj->json, "/spec/secretRef/name");
	char *token = r == 0 ? secret_value(secret, "token") : NULL;
	int64_t iv = 10 * 60 * NSEC_PER_SEC;
	const char *ivs = yj_get_str(rc->obj->json, "/spec/interval");
	char path[72], msg[512];

	if (!token) {
		if (r < 0)
			snprintf(msg, sizeof(msg), "unable to read token from secret '%s/%s' error: %s",
				 rc->obj->ns, strempty(name), err ? err->msg : op_strerror(r));
		else
			snprintf(msg, sizeof(msg),
				 "invalid '%s/%s' secret data: required field 'token'", rc->obj->ns,
				 strempty(name));
		cond_set(rc->status, COND_READY, "False", "TokenNotFound", msg, rc_gen(rc),
			 time_now_ns());
		cJSON_DeleteItemFromObjectCaseSensitive(rc->status, "webhookPath");
		rc_event(rc, "Warning", "TokenNotFound", "%s", msg);
		rc_retry(rc);
		return;
	}
	receiver_webhook_path(token, rc->obj->name, rc->obj->ns, path);
	free_secret(token);
	snprintf(msg, sizeof(msg), "Receiver initialized for path: %s", path);
	if (!streq_ptr(yj_get_str(rc->status, "/webhookPath"), path))
		log_info(NULL, msg, "controller", "receiver", "object", rc->key, NULL);
	cond_delete(rc->status, COND_STALLED);
	cond_set(rc->status, COND_READY, "True", "Succeeded", msg, rc_gen(rc), time_now_ns());
	yj_set(rc->status, "/webhookPath", cJSON_CreateString(path));
	if (ivs && *ivs && (duration_parse(ivs, &iv) < 0 || iv <= 0))
		iv = 10 * 60 * NSEC_PER_SEC;
	rc_done(rc, (uint64_t)(iv / NSEC_PER_MSEC));
}

static void reconcile(struct rc *rc)
{
	const cJSON *spec = yj_get(rc->obj->json, "/spec");
	struct kube_ref ref = { .version = "v1", .resource = "secrets", .ns = rc->obj->ns };
	char msg[512];

	if (receiver_unsupported(spec, msg, sizeof(msg))) {
		rc_stall(rc, "UnsupportedField", msg);
		return;
	}
	ref.name = yj_get_str(spec, "/secretRef/name");
	if (!ref.name || kube_get(ctl_client(rc->ctl), &ref, NULL, token_got, rc) < 0) {
		rc_stall(rc, "TokenNotFound", "spec.secretRef is required");
		return;
	}
}

const struct ctl_desc receiver_desc = {
	.name = "receiver",
	.component = "notification-controller",
	.kind = KIND,
	.api_version = GROUP "/v1",
	.ref = { .group = GROUP, .version = "v1", .resource = "receivers" },
	.retry = BACKOFF_RECONCILE,
	.reconcile = reconcile,
};

/* ------------------------------------------------------------ the server */

struct call {
	struct receiver_srv *srv;
	struct serve_reply *reply;
	char *path, *headers, *body;
	size_t headers_len, body_len;
	cJSON *receiver;
	const cJSON *res;       /* the resource being annotated */
	cJSON *targets;         /* names still to annotate for `res` */
	bool failed;
	char stamp[RFC3339_MAX];
};

static void call_end(struct call *c, int status, const char *body)
{
	serve_reply(c->reply, status, body);
	free(c->path);
	free(c->headers);
	free_secret(c->body);
	cJSON_Delete(c->receiver);
	cJSON_Delete(c->targets);
	free(c);
}

static const char *hdr(const struct call *c, const char *name, char *out, size_t n)
{
	struct serve_request rq = { .headers = c->headers, .headers_len = c->headers_len };
	const char *v;
	size_t l;

	if (serve_header(&rq, name, &v, &l) < 0)
		return NULL;
	snprintf(out, n, "%.*s", (int)l, v);
	return out;
}

static bool consttime_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;

	for (size_t i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

/* Is `event` among spec.events (case-insensitive; all when none)? */
static bool event_allowed(const cJSON *spec, const char *event)
{
	const cJSON *e, *events = cJSON_GetObjectItemCaseSensitive(spec, "events");

	if (cJSON_GetArraySize(events) == 0)
		return true;
	cJSON_ArrayForEach(e, events)
		if (cJSON_IsString(e) && event && strcasecmp(e->valuestring, event) == 0)
			return true;
	return false;
}

/* NULL when the call is genuine, else why not. */
static const char *validate(struct call *c, const char *token, char *why, size_t n)
{
	const cJSON *spec = yj_get(c->receiver, "/spec");
	const char *type = yj_get_str(spec, "/type");
	char h[512], want[72], sig[65];

	if (streq(type, "generic"))
		return NULL;
	if (streq(type, "generic-hmac") || streq(type, "github")) {
		const char *name = streq(type, "github") ? "X-Hub-Signature-256" : "X-Signature";

		if (!hdr(c, name, h, sizeof(h))) {
			snprintf(why, n, "missing %s header", name);
			return why;
		}
		yj_hmac_sha256_hex(token, strlen(token), c->body, c->body_len, sig);
		snprintf(want, sizeof(want), "sha256=%s", sig);
		if (!consttime_eq(h, want)) {
			snprintf(why, n, "%s", streq(type, "github") ?
						       "the GitHub signature header is invalid" :
						       "unable to validate HMAC signature");
			return why;
		}
		if (streq(type, "github") && !event_allowed(spec, hdr(c, "X-GitHub-Event", h, sizeof(h)))) {
			snprintf(why, n, "the GitHub event \"%s\" is not authorised",
				 hdr(c, "X-GitHub-Event", h, sizeof(h)) ? h : "");
			return why;
		}
		return NULL;
	}
	if (streq(type, "gitlab")) {
		if (!hdr(c, "X-Gitlab-Token", h, sizeof(h)) || !consttime_eq(h, token)) {
			snprintf(why, n, "the X-Gitlab-Token header value does not match the "
					 "receiver token");
			return why;
		}
		if (!event_allowed(spec, hdr(c, "X-Gitlab-Event", h, sizeof(h)))) {
			snprintf(why, n, "the GitLab event \"%s\" is not authorised",
				 hdr(c, "X-Gitlab-Event", h, sizeof(h)) ? h : "");
			return why;
		}
		return NULL;
	}
	snprintf(why, n, "receiver type '%s' is not supported by cflux", strempty(type));
	return why;
}

static void next_resource(struct call *c);
static void start_resource(struct call *c);

static int kind_index(const char *kind)
{
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (streq_ptr(kind, kinds[i].kind))
			return (int)i;
	return -1;
}

static const char *res_ns(const struct call *c)
{
	const char *ns = yj_get_str(c->res, "/namespace");

	return ns && *ns ? ns : yj_get_str(c->receiver, "/metadata/namespace");
}

static void res_failed(struct call *c, const char *why)
{
	c->failed = true;
	log_error(NULL, "unable to request reconciliation", "receiver",
		  yj_get_str(c->receiver, "/metadata/name"), "namespace",
		  yj_get_str(c->receiver, "/metadata/namespace"), "kind",
		  yj_get_str(c->res, "/kind"), "name", yj_get_str(c->res, "/name"), "error", why,
		  NULL);
}

static void annotated(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct call *c = payload;

	if (r < 0)
		res_failed(c, err ? err->msg : op_strerror(r));
	else
		log_info(NULL, "resource annotated", "receiver",
			 yj_get_str(c->receiver, "/metadata/name"), "kind", yj_get_str(c->res, "/kind"),
			 "name", yj_get_str(obj, "/metadata/name"), "namespace", res_ns(c), NULL);
	next_resource(c);
}

/* Annotate the next name of c->targets; once none is left, the next resource. */
static void next_resource(struct call *c)
{
	cJSON *t = c->targets ? c->targets->child : NULL;
	int k = kind_index(yj_get_str(c->res, "/kind"));
	struct kube_ref ref;
	char patch[256];
	int r;

	if (!t) {
		cJSON_Delete(c->targets);
		c->targets = NULL;
		c->res = c->res->next;
		if (!c->res) {
			call_end(c, c->failed ? 500 : 200, c->failed ? "failed\n" : "ok\n");
			return;
		}
		start_resource(c);
		return;
	}
	cJSON_DetachItemViaPointer(c->targets, t);
	ref = (struct kube_ref){ .group = kinds[k].group, .version = kinds[k].version,
				 .resource = kinds[k].resource, .ns = res_ns(c),
				 .name = t->valuestring };
	snprintf(patch, sizeof(patch),
		 "{\"metadata\":{\"annotations\":{\"reconcile.fluxcd.io/requestedAt\":\"%s\"}}}",
		 c->stamp);
	r = kube_patch(c->srv->client, &ref, KUBE_PATCH_MERGE, patch, NULL, annotated, c);
	cJSON_Delete(t);
	if (r < 0) {
		res_failed(c, op_strerror(r));
		next_resource(c);
	}
}

static void listed(int r, const cJSON *list, const struct op_err *err, void *payload)
{
	struct call *c = payload;
	const cJSON *it;

	if (r < 0) {
		res_failed(c, err ? err->msg : op_strerror(r));
	} else {
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(list, "items"))
			cJSON_AddItemToArray(c->targets,
					     cJSON_CreateString(yj_get_str(it, "/metadata/name")));
		if (!c->targets->child)
			log_error(NULL, "no resources found with matching labels", "receiver",
				  yj_get_str(c->receiver, "/metadata/name"), "kind",
				  yj_get_str(c->res, "/kind"), "namespace", res_ns(c), NULL);
	}
	next_resource(c);
}

/* c->res's names into c->targets (a LIST for "*" with matchLabels), then annotate them. */
static void start_resource(struct call *c)
{
	int k = kind_index(yj_get_str(c->res, "/kind"));
	const char *name = yj_get_str(c->res, "/name"), *rns;
	const cJSON *ml = yj_get(c->res, "/matchLabels"), *it;

	c->targets = cJSON_CreateArray();
	if (k < 0 || !name) {
		res_failed(c, "unknown kind");
		next_resource(c);
		return;
	}
	rns = yj_get_str(c->receiver, "/metadata/namespace");
	if (c->srv->no_cross_ns && !streq_ptr(res_ns(c), rns)) {
		res_failed(c, "cross-namespace references are not allowed");
		next_resource(c);
		return;
	}
	if (streq(name, "*")) {
		struct kube_ref ref = { .group = kinds[k].group, .version = kinds[k].version,
					.resource = kinds[k].resource, .ns = res_ns(c) };
		struct kube_opts o = { 0 };
		struct buf sel = BUF_INIT(4096);
		int r;

		if (!ml || !ml->child) {
			res_failed(c, "matchLabels field not set when using wildcard '*' as name");
			buf_release(&sel);
			next_resource(c);
			return;
		}
		cJSON_ArrayForEach(it, ml)
			buf_addf(&sel, "%s%s=%s", sel.len ? "," : "", it->string,
				 strempty(cJSON_GetStringValue(it)));
		o.label_selector = sel.buf;
		r = kube_list(c->srv->client, &ref, &o, listed, c);
		buf_release(&sel);
		if (r < 0) {
			res_failed(c, op_strerror(r));
			next_resource(c);
		}
		return;
	}
	cJSON_AddItemToArray(c->targets, cJSON_CreateString(name));
	next_resource(c);
}

static void token_read(int r, const cJSON *secret, const struct op_err *err, void *payload)
{
	struct call *c = payload;
	char *token = r == 0 ? secret_value(secret, "token") : NULL;
	char why[256];

	if (!token) {
		log_error(NULL, "unable to validate payload", "receiver",
			  yj_get_str(c->receiver, "/metadata/name"), "error",
			  "unable to read the token from the receiver's secret", NULL);
		call_end(c, 400, "invalid request\n");
		return;
	}
	if (validate(c, token, why, sizeof(why))) {
		free_secret(token);
		log_error(NULL, "unable to validate payload", "receiver",
			  yj_get_str(c->receiver, "/metadata/name"), "namespace",
			  yj_get_str(c->receiver, "/metadata/namespace"), "error", why, NULL);
		call_end(c, 400, "invalid request\n");
		return;
	}
	free_secret(token);
	time_format_rfc3339_nano(time_now_ns(), c->stamp);
	c->res = yj_get(c->receiver, "/spec/resources")->child;
	if (!c->res) {
		call_end(c, 200, "ok\n");
		return;
	}
	start_resource(c);
}

static void receivers_listed(int r, const cJSON *list, const struct op_err *err, void *payload)
{
	struct call *c = payload;
	struct kube_ref ref = { .version = "v1", .resource = "secrets" };
	const cJSON *it;

	if (r < 0) {
		log_error(NULL, "unable to list receivers", "error", err ? err->msg : op_strerror(r),
			  NULL);
		call_end(c, 500, "unable to list receivers\n");
		return;
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(list, "items"))
	{
		if (streq_ptr(yj_get_str(it, "/status/webhookPath"), c->path)) {
			c->receiver = cJSON_Duplicate(it, true);
			break;
		}
	}
	if (!c->receiver) {
		call_end(c, 404, "404 page not found\n");
		return;
	}
	log_info(NULL, "handling request", "receiver", yj_get_str(c->receiver, "/metadata/name"),
		 "namespace", yj_get_str(c->receiver, "/metadata/namespace"), NULL);
	if (cJSON_IsTrue(yj_get(c->receiver, "/spec/suspend")) ||
	    !cond_is_true(yj_get(c->receiver, "/status"), COND_READY)) {
		log_error(NULL, "unable to process request", "receiver",
			  yj_get_str(c->receiver, "/metadata/name"), "error",
			  cJSON_IsTrue(yj_get(c->receiver, "/spec/suspend")) ?
				  "receiver is suspended" :
				  "receiver is not ready",
			  NULL);
		call_end(c, 503, "unable to process request\n");
		return;
	}
	ref.ns = yj_get_str(c->receiver, "/metadata/namespace");
	ref.name = yj_get_str(c->receiver, "/spec/secretRef/name");
	if (!ref.name || kube_get(c->srv->client, &ref, NULL, token_read, c) < 0)
		call_end(c, 400, "invalid request\n");
}

void receiver_hook(const struct serve_request *req, struct serve_reply *reply, void *payload)
{
	struct receiver_srv *srv = payload;
	struct kube_ref ref = { .group = GROUP, .version = "v1", .resource = "receivers",
				.ns = srv->watch_ns };
	struct call *c;

	if (!str_startswith(req->path, HOOK_PREFIX) || !streq(req->method, "POST")) {
		serve_reply(reply, 404, "404 page not found\n");
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->srv = srv;
	c->reply = reply;
	c->path = xstrdup(req->path);
	c->headers = xstrndup(req->headers, req->headers_len);
	c->headers_len = req->headers_len;
	c->body = xmalloc(req->body_len + 1);
	memcpy(c->body, req->body, req->body_len);
	c->body[req->body_len] = '\0';
	c->body_len = req->body_len;
	if (kube_list(srv->client, &ref, NULL, receivers_listed, c) < 0)
		call_end(c, 500, "unable to list receivers\n");
}
