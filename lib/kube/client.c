/*
 * client.c: REST verbs, status mapping and watch framing (see client.h).
 *
 * DESIGN
 * struct kube_engine is what clients share: the HTTP engine, the loop and
 * the credentials of the configuration (including the token re-read from
 * its file).  struct kube_client is a refcounted view of an engine with an
 * optional impersonated user; the engine lives while any client does.
 *
 * A request is a struct kube_call: built URL, headers and body, the user
 * callback, and the one retry allowed after a 401 (when a token file may
 * have rotated under us).  The HTTP completion decodes the body once,
 * maps the status (map_status(), the only place that does) and calls the
 * user back.
 *
 * Watches are calls with a streaming body: every chunk is appended to a
 * bounded line buffer, and each complete '\n'-terminated line is one event
 * {"type":..., "object":...}.  An ERROR event carries a Status: 410 ends
 * the watch with -ESTALE (the informer relists), others with their mapped
 * error.  Chunk boundaries never split an event (fluent-bit #11268).
 *
 * The token file is read on the loop thread: it is a few hundred bytes on
 * a tmpfs mount, read at most once a minute or after a 401.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/str.h"
#include "kube/client.h"
#include "kube/http.h"
#include "yj/yj.h"
#include "base/banned.h"

#define KUBE_DEFAULT_TIMEOUT_MS 30000
#define KUBE_WATCH_LINE_MAX (16u << 20)
#define TOKEN_RECHECK_MS 60000
#define USER_AGENT "cflux/0.1"

struct kube_engine {
	unsigned refs;
	uv_loop_t *loop;
	struct kube_http *http;
	struct kube_config *cfg;
	char *token;           /* current bearer token (from cfg or its file) */
	struct timespec token_mtime;
	uint64_t token_checked; /* uv_now() of the last look at the file */
	void (*close_cb)(void *);
	void *close_payload;
};

struct kube_client {
	unsigned refs;
	struct kube_engine *eng;
	char *impersonate;
};

struct kube_call {
	struct kube_client *c;
	char *method, *url, *body, *content_type;
	size_t body_len;
	uint64_t timeout_ms;
	size_t max_body;
	bool retried;
	bool is_apply;
	kube_cb cb;
	void *payload;
	struct http_req *req;
	struct kube_watch *watch; /* set for watches */
};

struct kube_watch {
	struct kube_call *call;
	struct buf line;
	kube_event_cb on_event;
	kube_cb done;
	void *payload;
	int stop_code;
	struct op_err err;  /* an ERROR event's Status, if any */
	bool errored;
};

static void engine_unref(struct kube_engine *e);

/* ---- credentials ---- */

/* Re-read the token file if it changed (or `force`).  Loop thread. */
static void token_refresh(struct kube_engine *e, bool force)
{
	char buf[16384];
	struct stat st;
	ssize_t n;
	int fd;

	if (!e->cfg->token_file)
		return;
	if (!force && e->token && uv_now(e->loop) - e->token_checked < TOKEN_RECHECK_MS)
		return;
	e->token_checked = uv_now(e->loop);
	if (stat(e->cfg->token_file, &st) < 0)
		return;
	if (!force && e->token && st.st_mtim.tv_sec == e->token_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == e->token_mtime.tv_nsec)
		return;
	fd = open(e->cfg->token_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	free_secret(e->token);
	e->token = xstrdup(buf);
	explicit_bzero(buf, sizeof(buf));
	e->token_mtime = st.st_mtim;
}

/* ---- lifecycle ---- */

int kube_client_new(uv_loop_t *loop, const struct kube_config *cfg, struct kube_client **ret,
		    struct op_err *reterr)
{
	struct http_opts ho = HTTP_OPTS_INIT;
	struct kube_engine *e;
	struct kube_client *c;
	int r;

	if (!cfg->server || !*cfg->server)
		return op_err_set(reterr, -EINVAL, "kubeconfig has no server");
	e = xcalloc(1, sizeof(*e));
	e->refs = 1;
	e->loop = loop;
	e->cfg = kube_config_dup(cfg);
	ho.ca_pem = cfg->ca_pem;
	ho.cert_pem = cfg->cert_pem;
	ho.key_pem = cfg->key_pem;
	ho.insecure = cfg->insecure;
	ho.no_http2 = getenv("CFLUX_HTTP1") != NULL;
	r = http_new(loop, &ho, &e->http, reterr);
	if (r < 0) {
		kube_config_free(e->cfg);
		free(e);
		return r;
	}
	if (cfg->token)
		e->token = xstrdup(cfg->token);
	token_refresh(e, true);
	c = xcalloc(1, sizeof(*c));
	c->refs = 1;
	c->eng = e;
	if (cfg->impersonate)
		c->impersonate = xstrdup(cfg->impersonate);
	*ret = c;
	return 0;
}

int kube_client_impersonate(struct kube_client *c, const char *user, struct kube_client **ret)
{
	struct kube_client *d = xcalloc(1, sizeof(*d));

	d->refs = 1;
	d->eng = c->eng;
	d->eng->refs++;
	d->impersonate = user ? xstrdup(user) : NULL;
	*ret = d;
	return 0;
}

struct kube_client *kube_client_ref(struct kube_client *c)
{
	c->refs++;
	return c;
}

static void engine_closed(void *payload)
{
	struct kube_engine *e = payload;
	void (*cb)(void *) = e->close_cb;
	void *p = e->close_payload;

	free_secret(e->token);
	kube_config_free(e->cfg);
	free(e);
	if (cb)
		cb(p);
}

static void engine_unref(struct kube_engine *e)
{
	if (--e->refs > 0)
		return;
	http_close(e->http, engine_closed, e);
}

struct kube_client *kube_client_unref(struct kube_client *c)
{
	if (!c || --c->refs > 0)
		return NULL;
	free(c->impersonate);
	engine_unref(c->eng);
	free(c);
	return NULL;
}

void kube_client_close(struct kube_client *c, void (*close_cb)(void *payload), void *payload)
{
	c->eng->close_cb = close_cb;
	c->eng->close_payload = payload;
	kube_client_unref(c);
}

uv_loop_t *kube_client_loop(const struct kube_client *c)
{
	return c->eng->loop;
}

const char *kube_client_server(const struct kube_client *c)
{
	return c->eng->cfg->server;
}

const char *kube_client_namespace(const struct kube_client *c)
{
	return c->eng->cfg->ns ? c->eng->cfg->ns : "default";
}

/* ---- URLs ---- */

char *kube_ref_path(const struct kube_ref *ref)
{
	struct buf b = BUF_INIT(8192);

	if (!ref->group || !*ref->group)
		buf_addf(&b, "/api/%s", ref->version ? ref->version : "v1");
	else
		buf_addf(&b, "/apis/%s/%s", ref->group, ref->version);
	if (ref->ns && *ref->ns)
		buf_addf(&b, "/namespaces/%s", ref->ns);
	if (ref->resource)
		buf_addf(&b, "/%s", ref->resource);
	if (ref->name && *ref->name)
		buf_addf(&b, "/%s", ref->name);
	if (ref->subresource && *ref->subresource)
		buf_addf(&b, "/%s", ref->subresource);
	return buf_detach(&b, NULL);
}

static void add_query(struct buf *b, const char *key, const char *val)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;

	buf_addch(b, strchr(b->buf, '?') ? '&' : '?');
	buf_adds(b, key);
	buf_addch(b, '=');
	for (p = (const unsigned char *)val; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.' || *p == '~') {
			buf_addch(b, (char)*p);
		} else {
			buf_addch(b, '%');
			buf_addch(b, hex[*p >> 4]);
			buf_addch(b, hex[*p & 15]);
		}
	}
}

static char *build_url(struct kube_client *c, const char *path, const struct kube_opts *o,
		       bool watch)
{
	struct buf b = BUF_INIT(65536);
	char num[32];

	buf_adds(&b, c->eng->cfg->server);
	buf_adds(&b, path);
	if (!o)
		return buf_detach(&b, NULL);
	if (watch)
		add_query(&b, "watch", "true");
	if (o->label_selector && *o->label_selector)
		add_query(&b, "labelSelector", o->label_selector);
	if (o->field_selector && *o->field_selector)
		add_query(&b, "fieldSelector", o->field_selector);
	if (o->resource_version)
		add_query(&b, "resourceVersion", o->resource_version);
	if (o->resource_version_match)
		add_query(&b, "resourceVersionMatch", o->resource_version_match);
	if (o->continue_token && *o->continue_token)
		add_query(&b, "continue", o->continue_token);
	if (o->limit > 0) {
		snprintf(num, sizeof(num), "%ld", o->limit);
		add_query(&b, "limit", num);
	}
	if (o->timeout_seconds > 0) {
		snprintf(num, sizeof(num), "%ld", o->timeout_seconds);
		add_query(&b, "timeoutSeconds", num);
	}
	if (o->allow_bookmarks)
		add_query(&b, "allowWatchBookmarks", "true");
	if (o->dry_run)
		add_query(&b, "dryRun", "All");
	if (o->field_manager && *o->field_manager)
		add_query(&b, "fieldManager", o->field_manager);
	if (o->force)
		add_query(&b, "force", "true");
	if (o->propagation && *o->propagation)
		add_query(&b, "propagationPolicy", o->propagation);
	return buf_detach(&b, NULL);
}

/* ---- status mapping (the one place; see the table in client.h) ---- */

/*
 * Fill `err` from an HTTP status and, if the body is a Status, its reason
 * and message.  Checklist: if you add a mapping here, update the table in
 * client.h.
 */
static int map_status(long status, const cJSON *body, bool is_apply, const char *method,
		      const char *url, long retry_after, struct op_err *err)
{
	const cJSON *reason = NULL, *message = NULL;
	const char *rs = "";
	int code;

	if (cJSON_IsObject(body)) {
		const cJSON *kind = cJSON_GetObjectItemCaseSensitive(body, "kind");

		if (cJSON_IsString(kind) && streq(kind->valuestring, "Status")) {
			reason = cJSON_GetObjectItemCaseSensitive(body, "reason");
			message = cJSON_GetObjectItemCaseSensitive(body, "message");
		}
	}
	if (cJSON_IsString(reason))
		rs = reason->valuestring;
	switch (status) {
	case 404:
		code = -ENOENT;
		break;
	case 409:
		if (streq(rs, "AlreadyExists"))
			code = -EEXIST;
		else if (is_apply)
			code = -EBUSY;
		else
			code = -ESTALE;
		break;
	case 410:
		code = -ESTALE;
		break;
	case 400:
	case 415:
	case 422:
		code = -EINVAL;
		break;
	case 401:
		code = -EACCES;
		break;
	case 403:
		code = -EPERM;
		break;
	case 429:
	case 503:
	case 504:
		code = -EAGAIN;
		break;
	default:
		code = streq(rs, "ServerTimeout") || streq(rs, "Timeout") ? -EAGAIN : -EIO;
	}
	if (cJSON_IsString(message) && *message->valuestring)
		op_err_set(err, code, "%s", message->valuestring);
	else
		op_err_set(err, code, "%s '%s': HTTP %ld", method, url, status);
	err->http_status = status;
	err->retry_after = retry_after;
	snprintf(err->reason, sizeof(err->reason), "%s", rs);
	return code;
}

/* ---- requests ---- */

static void call_free(struct kube_call *k)
{
	if (!k)
		return;
	kube_client_unref(k->c);
	free(k->method);
	free(k->url);
	free(k->body);
	free(k->content_type);
	free(k);
}

static int call_start(struct kube_call *k);

static void call_done(struct http_req *req, int r, const struct http_resp *resp,
		      const struct op_err *herr, void *payload)
{
	struct kube_call *k = payload;
	struct op_err err = OP_ERR_INIT;
	cJSON *obj = NULL;

	k->req = NULL;
	if (r < 0) {
		k->cb(r, NULL, herr, k->payload);
		call_free(k);
		return;
	}
	if (resp->body_len > 0) {
		const char *end = NULL;

		obj = cJSON_ParseWithLengthOpts(resp->body, resp->body_len, &end, 0);
		/* JSON is the whole body: a pod's log may start with a number ("2026-..."). */
		if (obj && end && end < resp->body + resp->body_len &&
		    end[strspn(end, " \t\r\n")] != '\0') {
			cJSON_Delete(obj);
			obj = NULL;
		}
		if (!obj && resp->status >= 200 && resp->status < 300 &&
		    !str_startswith(resp->content_type, "application/json")) {
			/* A raw, non-JSON success body (/readyz says "ok"). */
			obj = cJSON_CreateString(resp->body);
		}
	}
	if (resp->status == 401 && !k->retried && k->c->eng->cfg->token_file) {
		/* The token may have rotated: re-read it and try once more. */
		k->retried = true;
		token_refresh(k->c->eng, true);
		cJSON_Delete(obj);
		if (call_start(k) == 0)
			return;
		op_err_set(&err, -EACCES, "%s '%s': unauthorized", k->method, k->url);
		k->cb(-EACCES, NULL, &err, k->payload);
		call_free(k);
		return;
	}
	if (resp->status >= 200 && resp->status < 300) {
		if (resp->body_len > 0 && !obj) {
			op_err_set(&err, -EINVAL, "%s '%s': response is not JSON", k->method, k->url);
			k->cb(-EINVAL, NULL, &err, k->payload);
		} else {
			k->cb(0, obj, NULL, k->payload);
		}
	} else {
		int code = map_status(resp->status, obj, k->is_apply, k->method, k->url,
				      resp->retry_after, &err);

		k->cb(code, obj, &err, k->payload);
	}
	cJSON_Delete(obj);
	call_free(k);
}

static int watch_data(struct http_req *req, long status, const char *data, size_t n,
		      void *payload);

static int call_start(struct kube_call *k)
{
	struct http_req_opts ho = HTTP_REQ_OPTS_INIT;
	struct kube_engine *e = k->c->eng;
	char auth[16400], imp[1100], ctype[128];
	const char *hdrs[8];
	int nh = 0, r;

	token_refresh(e, false);
	hdrs[nh++] = "Accept: application/json";
	hdrs[nh++] = "User-Agent: " USER_AGENT;
	if (e->token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", e->token);
		hdrs[nh++] = auth;
	}
	if (k->c->impersonate) {
		snprintf(imp, sizeof(imp), "Impersonate-User: %s", k->c->impersonate);
		hdrs[nh++] = imp;
	}
	if (k->content_type) {
		snprintf(ctype, sizeof(ctype), "Content-Type: %s", k->content_type);
		hdrs[nh++] = ctype;
	}
	hdrs[nh] = NULL;
	ho.method = k->method;
	ho.url = k->url;
	ho.headers = hdrs;
	ho.body = k->body;
	ho.body_len = k->body_len;
	ho.timeout_ms = k->timeout_ms;
	ho.max_body = k->max_body;
	if (k->watch)
		ho.on_data = watch_data;
	r = http_request(e->http, &ho, call_done, k, &k->req);
	explicit_bzero(auth, sizeof(auth));
	return r;
}

static struct kube_call *call_new(struct kube_client *c, const char *method, char *url,
				  const struct kube_opts *o, kube_cb cb, void *payload)
{
	struct kube_call *k = xcalloc(1, sizeof(*k));

	k->c = kube_client_ref(c);
	k->method = xstrdup(method);
	k->url = url;
	k->cb = cb;
	k->payload = payload;
	k->timeout_ms = o && o->timeout_ms ? o->timeout_ms : KUBE_DEFAULT_TIMEOUT_MS;
	k->max_body = o ? o->max_body : 0;
	return k;
}

static int do_request(struct kube_client *c, const char *method, const struct kube_ref *ref,
		      const char *raw_path, const struct kube_opts *o, const char *body,
		      const char *content_type, kube_cb cb, void *payload)
{
	_cleanup_free_ char *path = raw_path ? xstrdup(raw_path) : kube_ref_path(ref);
	struct kube_call *k;
	int r;

	k = call_new(c, method, build_url(c, path, o, false), o, cb, payload);
	if (body) {
		k->body = xstrdup(body);
		k->body_len = strlen(body);
		k->content_type = xstrdup(content_type ? content_type : "application/json");
		k->is_apply = content_type && streq(content_type, "application/apply-patch+yaml");
	}
	r = call_start(k);
	if (r < 0) {
		call_free(k);
		return r;
	}
	if (o && o->ret_call)
		*o->ret_call = k;
	return 0;
}

void kube_call_cancel(struct kube_call *k)
{
	if (k && k->req)
		http_cancel(k->req);
}

static int do_with_object(struct kube_client *c, const char *method, const struct kube_ref *ref,
			  const cJSON *obj, const char *ctype, const struct kube_opts *o,
			  kube_cb cb, void *payload)
{
	_cleanup_free_ char *body = cJSON_PrintUnformatted(obj);

	if (!body)
		return -ENOMEM;
	return do_request(c, method, ref, NULL, o, body, ctype, cb, payload);
}

int kube_get(struct kube_client *c, const struct kube_ref *ref, const struct kube_opts *opts,
	     kube_cb cb, void *payload)
{
	return do_request(c, "GET", ref, NULL, opts, NULL, NULL, cb, payload);
}

int kube_list(struct kube_client *c, const struct kube_ref *ref, const struct kube_opts *opts,
	      kube_cb cb, void *payload)
{
	struct kube_ref coll = *ref;

	coll.name = NULL;
	return do_request(c, "GET", &coll, NULL, opts, NULL, NULL, cb, payload);
}

int kube_get_raw(struct kube_client *c, const char *path, const struct kube_opts *opts,
		 kube_cb cb, void *payload)
{
	return do_request(c, "GET", NULL, path, opts, NULL, NULL, cb, payload);
}

int kube_create(struct kube_client *c, const struct kube_ref *ref, const cJSON *obj,
		const struct kube_opts *opts, kube_cb cb, void *payload)
{
	struct kube_ref coll = *ref;

	coll.name = NULL;
	return do_with_object(c, "POST", &coll, obj, NULL, opts, cb, payload);
}

int kube_update(struct kube_client *c, const struct kube_ref *ref, const cJSON *obj,
		const struct kube_opts *opts, kube_cb cb, void *payload)
{
	return do_with_object(c, "PUT", ref, obj, NULL, opts, cb, payload);
}

int kube_patch(struct kube_client *c, const struct kube_ref *ref, enum kube_patch_type type,
	       const char *patch, const struct kube_opts *opts, kube_cb cb, void *payload)
{
	static const char *const ctypes[] = {
		[KUBE_PATCH_MERGE] = "application/merge-patch+json",
		[KUBE_PATCH_JSON] = "application/json-patch+json",
		[KUBE_PATCH_STRATEGIC] = "application/strategic-merge-patch+json",
	};

	return do_request(c, "PATCH", ref, NULL, opts, patch, ctypes[type], cb, payload);
}

int kube_apply(struct kube_client *c, const struct kube_ref *ref, const cJSON *obj,
	       const struct kube_opts *opts, kube_cb cb, void *payload)
{
	if (!opts || !opts->field_manager)
		return -EINVAL; /* server-side apply requires a field manager */
	return do_with_object(c, "PATCH", ref, obj, "application/apply-patch+yaml", opts, cb,
			      payload);
}

int kube_delete(struct kube_client *c, const struct kube_ref *ref, const struct kube_opts *opts,
		kube_cb cb, void *payload)
{
	return do_request(c, "DELETE", ref, NULL, opts, NULL, NULL, cb, payload);
}

/* ---- watches ---- */

static int watch_line(struct kube_watch *w, const char *line, size_t n)
{
	const cJSON *type, *obj;
	cJSON *ev;
	int r = 0;

	ev = cJSON_ParseWithLength(line, n);
	if (!ev)
		return op_err_set(&w->err, -EPROTO, "watch '%s': malformed event", w->call->url);
	type = cJSON_GetObjectItemCaseSensitive(ev, "type");
	obj = cJSON_GetObjectItemCaseSensitive(ev, "object");
	if (!cJSON_IsString(type) || !cJSON_IsObject(obj)) {
		r = op_err_set(&w->err, -EPROTO, "watch '%s': event without type or object",
			       w->call->url);
	} else if (streq(type->valuestring, "ERROR")) {
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(obj, "code");
		long status = cJSON_IsNumber(code) ? (long)yj_to_int64(code->valuedouble) : 500;

		r = map_status(status, obj, false, "WATCH", w->call->url, 0, &w->err);
		w->errored = true;
	} else {
		r = w->on_event(type->valuestring, obj, w->payload);
		if (r < 0)
			op_err_set(&w->err, r, "watch '%s': stopped by its handler", w->call->url);
	}
	cJSON_Delete(ev);
	return r;
}

static int watch_data(struct http_req *req, long status, const char *data, size_t n,
		      void *payload)
{
	struct kube_call *k = payload;
	struct kube_watch *w = k->watch;
	size_t start = 0, i;
	int r;

	for (i = 0; i < n; i++) {
		if (data[i] != '\n')
			continue;
		if (w->line.len > 0) {
			if (buf_add(&w->line, data + start, i - start) < 0)
				goto toobig;
			r = watch_line(w, w->line.buf, w->line.len);
			buf_reset(&w->line);
		} else if (i > start) {
			r = watch_line(w, data + start, i - start);
		} else {
			r = 0;
		}
		start = i + 1;
		if (r < 0) {
			w->stop_code = r;
			return r;
		}
	}
	if (start < n && buf_add(&w->line, data + start, n - start) < 0)
		goto toobig;
	return 0;
toobig:
	w->stop_code = op_err_set(&w->err, -EFBIG, "watch '%s': event exceeds %zu bytes", k->url,
				  w->line.max);
	return -EFBIG;
}

/* The call's completion for a watch: report why the stream ended. */
static void watch_finished(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct kube_watch *w = payload;

	if (w->stop_code)
		w->done(w->stop_code, NULL, &w->err, w->payload);
	else
		w->done(r, obj, err, w->payload);
	buf_release(&w->line);
	free(w);
}

int kube_watch(struct kube_client *c, const struct kube_ref *ref, const struct kube_opts *opts,
	       kube_event_cb on_event, kube_cb done, void *payload, struct kube_watch **ret)
{
	_cleanup_free_ char *path = NULL;
	struct kube_ref coll = *ref;
	struct kube_watch *w;
	struct kube_call *k;
	int r;

	coll.name = NULL;
	path = kube_ref_path(&coll);
	w = xcalloc(1, sizeof(*w));
	k = call_new(c, "GET", build_url(c, path, opts, true), NULL, watch_finished, w);
	k->timeout_ms = 0; /* bounded by timeoutSeconds and keepalive instead */
	w->call = k;
	w->on_event = on_event;
	w->done = done;
	w->payload = payload;
	buf_init(&w->line, opts && opts->max_body ? opts->max_body : KUBE_WATCH_LINE_MAX);
	k->watch = w;
	r = call_start(k);
	if (r < 0) {
		buf_release(&w->line);
		free(w);
		call_free(k);
		return r;
	}
	if (ret)
		*ret = w;
	return 0;
}

void kube_watch_stop(struct kube_watch *w)
{
	if (w && w->call->req) {
		w->stop_code = op_err_set(&w->err, -ECANCELED, "watch '%s': stopped", w->call->url);
		http_cancel(w->call->req);
	}
}
