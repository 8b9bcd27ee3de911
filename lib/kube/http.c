/*
 * http.c: libcurl's multi interface driven by libuv (see http.h).
 *
 * DESIGN
 * This is curl's docs/examples/multi-uv.c skeleton with the fixes the
 * example lacks:
 *  - one uv_poll_t per socket, created on curl's first interest in it and
 *    found again through curl_multi_assign()'s socketp, never by fd
 *    number, because curl reuses fd numbers;
 *  - on CURL_POLL_REMOVE the poll is stopped at once (curl closes the fd
 *    right after telling us) and its memory freed only in the close
 *    callback;
 *  - a negative poll status (libuv's answer to POLLERR: a socket with a
 *    pending error, such as a TLS peer that sent its alert and reset the
 *    connection) is passed on as curl's own poll loop passes POLLERR: as
 *    readable when curl waits to read, so that it reads what is queued
 *    (the alert: "alert bad certificate") before it meets the error, and
 *    as CURL_CSELECT_ERR when it waits to write (CURL_CSELECT_ERR alone
 *    would end the transfer with a bare "select/poll returned error"),
 *    and the poll, which libuv stopped, is started again;
 *  - curl_multi_socket_action() is never called from inside a callback
 *    curl is running: curl's timer request just (re)arms a uv_timer_t.
 * Completed transfers are collected with curl_multi_info_read() after
 * every socket_action and finished outside curl: the easy handle is
 * removed, the user callback runs, then the request is freed.
 *
 * Cancellation while curl is running one of our callbacks (a watch
 * handler that stops its own watch from on_data) cannot remove the easy
 * handle there; the request is marked and finished right after
 * socket_action returns.  Likewise a request started from inside such a
 * callback (a watch event that finishes a health wait, whose caller then
 * writes a status) cannot be added to the multi handle there — curl
 * refuses recursive calls — so it is added right after socket_action
 * returns.  `depth` tells which case we are in.
 *
 * Closing: every transfer is cancelled, curl_multi_cleanup() closes the
 * connections (telling us CURL_POLL_REMOVE for each), remaining polls and
 * the timer are closed, and the struct is freed when the last close
 * callback has run.
 */
/* Plain functions (no type-checking macros), so they can be pointers. */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/dl.h"
#include "base/str.h"
#include "kube/http.h"
#include "base/banned.h"

#define HTTP_DEFAULT_MAX_BODY (64u << 20)
/* Response headers kept for the callback; a longer header block is cut. */
#define HTTP_MAX_HEADERS (64u << 10)

struct sock_ctx {
	uv_poll_t poll;
	curl_socket_t fd;
	int events; /* the UV_READABLE/UV_WRITABLE curl asked for */
	struct kube_http *h;
	struct sock_ctx *next, *prev;
};

struct kube_http {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;
	struct http_opts opts;
	char *ca_pem, *cert_pem, *key_pem;
	char *proxy_url, *proxy_user, *proxy_pass, *user_agent;
	struct http_req *reqs;      /* active transfers */
	struct sock_ctx *socks;     /* live poll contexts */
	unsigned nreqs;
	int depth;                  /* >0 while curl runs our callbacks */
	bool closing;
	unsigned pending_closes;
	void (*close_cb)(void *);
	void *close_payload;
};

struct http_req {
	struct kube_http *h;
	CURL *easy;
	struct curl_slist *hdrs;
	char *body;
	struct buf resp;
	struct buf hdrs_in;         /* the last response's header lines */
	long retry_after;
	char ctype[128];
	char errbuf[CURL_ERROR_SIZE];
	http_done_cb cb;
	http_data_cb on_data;
	ssize_t (*body_read)(char *dst, size_t n, void *payload);
	void *payload;
	int abort_code;             /* set to abort: -ECANCELED, -EFBIG, on_data's */
	bool cancel_pending;
	bool add_pending;           /* started inside a curl callback: added after it */
	bool paused;                /* on_data asked for HTTP_DATA_PAUSE */
	struct http_req *next, *prev;
};

/*
 * libcurl is opened at the first http_new() (base/dl.h): a process that
 * never talks HTTP does not load it and the forty libraries it needs.
 * The soname is libcurl's ABI, unchanged since 7.16 (2006).
 */
#define CURL_FUNCS(X) \
	X(curl_easy_cleanup) \
	X(curl_easy_getinfo) \
	X(curl_easy_init) \
	X(curl_easy_pause) \
	X(curl_easy_setopt) \
	X(curl_easy_strerror) \
	X(curl_global_init) \
	X(curl_multi_add_handle) \
	X(curl_multi_assign) \
	X(curl_multi_cleanup) \
	X(curl_multi_info_read) \
	X(curl_multi_init) \
	X(curl_multi_remove_handle) \
	X(curl_multi_setopt) \
	X(curl_multi_socket_action) \
	X(curl_slist_append) \
	X(curl_slist_free_all) \
	X(curl_version_info)
DL_DEFINE(curl_lib, "libcurl.so.4", CURL_FUNCS);
/* curl.h checks the argument count of these four with macros of the same name. */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt
#undef curl_share_setopt
#define curl_easy_cleanup (*dl_curl_easy_cleanup)
#define curl_easy_getinfo (*dl_curl_easy_getinfo)
#define curl_easy_init (*dl_curl_easy_init)
#define curl_easy_pause (*dl_curl_easy_pause)
#define curl_easy_setopt (*dl_curl_easy_setopt)
#define curl_easy_strerror (*dl_curl_easy_strerror)
#define curl_global_init (*dl_curl_global_init)
#define curl_multi_add_handle (*dl_curl_multi_add_handle)
#define curl_multi_assign (*dl_curl_multi_assign)
#define curl_multi_cleanup (*dl_curl_multi_cleanup)
#define curl_multi_info_read (*dl_curl_multi_info_read)
#define curl_multi_init (*dl_curl_multi_init)
#define curl_multi_remove_handle (*dl_curl_multi_remove_handle)
#define curl_multi_setopt (*dl_curl_multi_setopt)
#define curl_multi_socket_action (*dl_curl_multi_socket_action)
#define curl_slist_append (*dl_curl_slist_append)
#define curl_slist_free_all (*dl_curl_slist_free_all)
#define curl_version_info (*dl_curl_version_info)

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_code;

static void curl_init(void)
{
	curl_init_code = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void check_done(struct kube_http *h);
static void run_pending_cancels(struct kube_http *h);

static char *dup_opt(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void opts_release(struct kube_http *h)
{
	free(h->ca_pem);
	free(h->cert_pem);
	free_secret(h->key_pem);
	free(h->proxy_url);
	free(h->proxy_user);
	free_secret(h->proxy_pass);
	free(h->user_agent);
}

/* ---- socket and timer plumbing ---- */

static void maybe_free(struct kube_http *h)
{
	if (h->closing && h->pending_closes == 0) {
		void (*cb)(void *) = h->close_cb;
		void *payload = h->close_payload;

		opts_release(h);
		free(h);
		if (cb)
			cb(payload);
	}
}

static void sock_closed(uv_handle_t *handle)
{
	struct sock_ctx *c = handle->data;
	struct kube_http *h = c->h;

	free(c);
	h->pending_closes--;
	maybe_free(h);
}

static void sock_release(struct kube_http *h, struct sock_ctx *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		h->socks = c->next;
	if (c->next)
		c->next->prev = c->prev;
	uv_poll_stop(&c->poll);
	h->pending_closes++;
	uv_close((uv_handle_t *)&c->poll, sock_closed);
}

static void poll_cb(uv_poll_t *p, int status, int events)
{
	struct sock_ctx *c = p->data;
	struct kube_http *h = c->h;
	int flags = 0, running;

	if (status < 0) {
		if (c->events & UV_READABLE)
			flags |= CURL_CSELECT_IN;
		if ((c->events & UV_WRITABLE) || !flags)
			flags |= CURL_CSELECT_ERR;
	}
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	h->depth++;
	curl_multi_socket_action(h->multi, c->fd, flags, &running);
	h->depth--;
	/*
	 * libuv stops a poll on POLLERR.  Should curl have read queued data
	 * and still be waiting, poll again: the pending error wakes it at
	 * once, and its next read meets the error.  (`c` is freed only in
	 * the close callback, so it is still ours here.)
	 */
	if (status < 0 && !uv_is_closing((uv_handle_t *)&c->poll))
		uv_poll_start(&c->poll, c->events, poll_cb);
	check_done(h);
}

static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct kube_http *h = userp;
	struct sock_ctx *c = socketp;
	int events = 0;

	if (what == CURL_POLL_REMOVE) {
		if (c) {
			if (h->multi)
				curl_multi_assign(h->multi, s, NULL);
			sock_release(h, c);
		}
		return 0;
	}
	if (!c) {
		c = xcalloc(1, sizeof(*c));
		c->fd = s;
		c->h = h;
		if (uv_poll_init_socket(h->loop, &c->poll, s) < 0) {
			free(c);
			return -1;
		}
		c->poll.data = c;
		c->next = h->socks;
		if (h->socks)
			h->socks->prev = c;
		h->socks = c;
		curl_multi_assign(h->multi, s, c);
	}
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	c->events = events;
	uv_poll_start(&c->poll, events, poll_cb);
	return 0;
}

static void timer_cb(uv_timer_t *t)
{
	struct kube_http *h = t->data;
	int running;

	h->depth++;
	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	h->depth--;
	check_done(h);
}

static int timerfunc(CURLM *multi, long timeout_ms, void *userp)
{
	struct kube_http *h = userp;

	if (h->closing)
		return 0;
	if (timeout_ms < 0)
		uv_timer_stop(&h->timer);
	else
		/* 0 fires on the next loop iteration: never re-entrant. */
		uv_timer_start(&h->timer, timer_cb, (uint64_t)timeout_ms, 0);
	return 0;
}

/* ---- transfers ---- */

static int map_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_OK:
		return 0;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_USE_SSL_FAILED:
		return -EPROTO;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return -ECONNRESET;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return -EINVAL;
	default:
		return -EIO;
	}
}

static void req_free(struct http_req *r)
{
	if (r->easy)
		curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->hdrs);
	free(r->body);
	buf_release(&r->resp);
	buf_release(&r->hdrs_in);
	free(r);
}

static void unlink_req(struct http_req *r)
{
	struct kube_http *h = r->h;

	if (r->prev)
		r->prev->next = r->next;
	else
		h->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	h->nreqs--;
}

/* Complete `r` with curl's result (or our own code), outside curl. */
static void finish(struct http_req *r, CURLcode rc, int code)
{
	struct kube_http *h = r->h;
	struct http_resp resp = { 0 };
	struct op_err err = OP_ERR_INIT;
	const char *method = "request";
	char *url = NULL;

	curl_multi_remove_handle(h->multi, r->easy);
	unlink_req(r);
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &resp.status);
	curl_easy_getinfo(r->easy, CURLINFO_EFFECTIVE_URL, &url);
	curl_easy_getinfo(r->easy, CURLINFO_EFFECTIVE_METHOD, &method);
	if (!code && r->abort_code)
		code = r->abort_code;
	if (!code)
		code = map_curl(rc);
	if (code) {
		/* curl's messages are capitalised phrases; ours are lower-case. */
		const char *detail = r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc);

		long connect_code = 0;

		curl_easy_getinfo(r->easy, CURLINFO_HTTP_CONNECTCODE, &connect_code);
		if (code == -ECANCELED) {
			detail = "cancelled";
		} else if (code == -EFBIG) {
			detail = "response body exceeds the size limit";
		} else if (h->proxy_url &&
			   (connect_code == 407 || (connect_code == 401 && h->proxy_user))) {
			/* As lib/source/stream.c says it (tinyproxy answers 401 to wrong ones). */
			code = -EACCES;
			detail = h->proxy_user ? "the proxy refused the proxy username and password"
					       : "the proxy requires authentication: no proxy username "
						 "and password are given";
		}
		op_err_set(&err, code, "%s '%s': %s", method ? method : "request",
			   url ? url : "", detail);
		err.http_status = resp.status;
	}
	resp.body = r->resp.buf;
	resp.body_len = r->resp.len;
	resp.content_type = r->ctype;
	resp.retry_after = r->retry_after;
	resp.headers = r->hdrs_in.buf;
	resp.headers_len = r->hdrs_in.len;
	resp.effective_url = url ? url : "";
	r->cb(r, code, &resp, code ? &err : NULL, r->payload);
	req_free(r);
}

static void check_done(struct kube_http *h)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
		struct http_req *r = NULL;
		CURLcode rc;

		if (msg->msg != CURLMSG_DONE)
			continue;
		rc = msg->data.result;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		finish(r, rc, 0);
	}
	run_pending_cancels(h);
}

/* Requests started while curl was running our callbacks: add them now. */
static void run_pending_adds(struct kube_http *h)
{
	struct http_req *r, *next;

	for (r = h->reqs; r; r = next) {
		next = r->next;
		if (!r->add_pending)
			continue;
		r->add_pending = false;
		if (curl_multi_add_handle(h->multi, r->easy) != CURLM_OK) {
			finish(r, CURLE_OUT_OF_MEMORY, -ENOMEM);
			next = h->reqs; /* the callback may have changed the list */
		}
	}
}

static void run_pending_cancels(struct kube_http *h)
{
	struct http_req *r, *next;

	if (h->depth > 0)
		return;
	run_pending_adds(h);
	for (r = h->reqs; r; r = next) {
		next = r->next;
		if (r->cancel_pending) {
			finish(r, CURLE_OK, r->abort_code ? r->abort_code : -ECANCELED);
			/* The callback may have cancelled or started others. */
			next = h->reqs;
		}
	}
}

static size_t header_cb(char *p, size_t size, size_t n, void *userdata)
{
	struct http_req *r = userdata;
	size_t len = size * n, i;

	if (len > 5 && strncmp(p, "HTTP/", 5) == 0) {
		/*
		 * A new response (after 100 Continue or a redirect): forget the
		 * last one's headers.
		 */
		r->retry_after = 0;
		r->ctype[0] = '\0';
		buf_reset(&r->hdrs_in);
		return len;
	}
	/* Past the cap the rest is dropped: only a hostile server sends 64 KiB. */
	if (len > 2)
		(void)buf_add(&r->hdrs_in, p, len);
	if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
		char num[32];
		int64_t v;

		for (i = 12; i < len && (p[i] == ' ' || p[i] == '\t'); i++)
			;
		snprintf(num, sizeof(num), "%.*s", (int)(len - i), p + i);
		num[strcspn(num, "\r\n ")] = '\0';
		if (parse_int64(num, &v) == 0 && v >= 0)
			r->retry_after = v > 3600 ? 3600 : (long)v;
	} else if (len > 13 && strncasecmp(p, "Content-Type:", 13) == 0) {
		for (i = 13; i < len && (p[i] == ' ' || p[i] == '\t'); i++)
			;
		snprintf(r->ctype, sizeof(r->ctype), "%.*s", (int)(len - i), p + i);
		r->ctype[strcspn(r->ctype, "\r\n")] = '\0';
	}
	return len;
}

int http_resp_header(const struct http_resp *resp, const char *name, const char **ret_val,
		     size_t *ret_len)
{
	const char *p = resp->headers, *end = p ? p + resp->headers_len : NULL;
	size_t nl = strlen(name);

	while (p && p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *v, *ve;

		if (!eol)
			eol = end;
		if ((size_t)(eol - p) > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
			for (v = p + nl + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
				;
			for (ve = eol; ve > v && (ve[-1] == '\r' || ve[-1] == ' ' ||
						  ve[-1] == '\t');
			     ve--)
				;
			*ret_val = v;
			*ret_len = (size_t)(ve - v);
			return 0;
		}
		p = eol + 1;
	}
	return -ENOENT;
}

static size_t read_cb(char *dst, size_t size, size_t n, void *userdata)
{
	struct http_req *r = userdata;
	ssize_t got;

	if (r->abort_code)
		return CURL_READFUNC_ABORT;
	got = r->body_read(dst, size * n, r->payload);
	if (got < 0) {
		r->abort_code = (int)got;
		return CURL_READFUNC_ABORT;
	}
	return (size_t)got;
}

static size_t write_cb(char *p, size_t size, size_t n, void *userdata)
{
	struct http_req *r = userdata;
	size_t len = size * n;
	long status = 0;

	if (r->abort_code)
		return 0;
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	if (r->on_data && status >= 200 && status < 300) {
		int rc = r->on_data(r, status, p, len, r->payload);

		if (rc == HTTP_DATA_PAUSE) {
			/* curl keeps the bytes and offers them again on resume. */
			r->paused = true;
			return CURL_WRITEFUNC_PAUSE;
		}
		if (rc < 0) {
			r->abort_code = rc;
			return 0;
		}
		return len;
	}
	if (buf_add(&r->resp, p, len) < 0) {
		r->abort_code = -EFBIG;
		return 0;
	}
	return len;
}

/*
 * libcurl's RTMP and LDAP libraries bring in GnuTLS, whose load-time
 * constructor reads its configuration and p11-kit's modules: 0.6 MiB of
 * resident pages for protocols never allowed here (CURLOPT_PROTOCOLS_STR).
 * Set before libcurl is first loaded, which the process does while it
 * starts, before any other thread reads the environment; a value the user
 * set stays.
 */
static pthread_once_t gnutls_once = PTHREAD_ONCE_INIT;

static void gnutls_off(void)
{
	setenv("GNUTLS_NO_IMPLICIT_INIT", "1", 0);
}

int http_new(uv_loop_t *loop, const struct http_opts *opts, struct kube_http **ret,
	     struct op_err *reterr)
{
	const curl_version_info_data *v;
	struct kube_http *h;
	int r;

	pthread_once(&gnutls_once, gnutls_off);
	r = dl_load(&curl_lib, reterr);
	if (r < 0) {
		op_err_prefix(reterr, "cannot initialise libcurl");
		return r;
	}
	pthread_once(&curl_once, curl_init);
	if (curl_init_code != CURLE_OK)
		return op_err_set(reterr, -EIO, "cannot initialise libcurl: %s",
				  curl_easy_strerror(curl_init_code));
	v = curl_version_info(CURLVERSION_NOW);
	if (v->version_num < 0x074d00) /* 7.77: CA blobs */
		return op_err_set(reterr, -EINVAL, "libcurl %s is too old (need 7.77)", v->version);
	h = xcalloc(1, sizeof(*h));
	h->loop = loop;
	if (opts)
		h->opts = *opts;
	h->ca_pem = dup_opt(h->opts.ca_pem);
	h->cert_pem = dup_opt(h->opts.cert_pem);
	h->key_pem = dup_opt(h->opts.key_pem);
	h->proxy_url = dup_opt(h->opts.proxy_url);
	h->proxy_user = dup_opt(h->opts.proxy_user);
	h->proxy_pass = dup_opt(h->opts.proxy_pass);
	h->user_agent = xstrdup(h->opts.user_agent ? h->opts.user_agent : "cflux");
	/* The copies are ours; the caller's pointers are not kept. */
	h->opts.ca_pem = h->opts.cert_pem = h->opts.key_pem = NULL;
	h->opts.proxy_url = h->opts.proxy_user = h->opts.proxy_pass = NULL;
	h->opts.user_agent = NULL;
	h->multi = curl_multi_init();
	if (!h->multi) {
		opts_release(h);
		free(h);
		return op_err_set(reterr, -ENOMEM, "cannot create a curl multi handle");
	}
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timerfunc);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	/*
	 * Idle connections kept for reuse: over HTTP/1.1 (an HTTP proxy in
	 * front, or no_http2) every concurrent request has its own, and
	 * libcurl's default cache grows with the requests added at once.
	 */
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, 8L);
	/* kube-apiserver allows 1000 streams per connection by default. */
	curl_multi_setopt(h->multi, CURLMOPT_MAX_CONCURRENT_STREAMS, 500L);
	uv_timer_init(loop, &h->timer);
	h->timer.data = h;
	*ret = h;
	return 0;
}

static void timer_closed(uv_handle_t *handle)
{
	struct kube_http *h = handle->data;

	h->pending_closes--;
	maybe_free(h);
}

void http_close(struct kube_http *h, void (*close_cb)(void *payload), void *payload)
{
	if (!h)
		return;
	h->closing = true;
	h->close_cb = close_cb;
	h->close_payload = payload;
	while (h->reqs)
		finish(h->reqs, CURLE_OK, -ECANCELED);
	/* Closes cached connections; curl reports CURL_POLL_REMOVE for each. */
	curl_multi_cleanup(h->multi);
	h->multi = NULL;
	while (h->socks)
		sock_release(h, h->socks);
	h->pending_closes++;
	uv_close((uv_handle_t *)&h->timer, timer_closed);
}

static struct curl_blob blob_of(const char *pem)
{
	struct curl_blob b = { .data = (void *)pem, .len = strlen(pem), .flags = CURL_BLOB_COPY };

	return b;
}

int http_request(struct kube_http *h, const struct http_req_opts *o, http_done_cb cb,
		 void *payload, struct http_req **ret_req)
{
	struct http_req *r;
	const char *const *hp;
	CURL *e;

	if (h->closing)
		return -ESHUTDOWN;
	if (!o->url || !o->method || !cb)
		return -EINVAL;
	e = curl_easy_init();
	if (!e)
		return -ENOMEM;
	r = xcalloc(1, sizeof(*r));
	r->h = h;
	r->easy = e;
	r->cb = cb;
	r->on_data = o->on_data;
	r->body_read = o->body_read;
	r->payload = payload;
	buf_init(&r->resp, o->max_body ? o->max_body : HTTP_DEFAULT_MAX_BODY);
	buf_init(&r->hdrs_in, HTTP_MAX_HEADERS);

	curl_easy_setopt(e, CURLOPT_URL, o->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 10L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(h->opts.connect_timeout_ms ? h->opts.connect_timeout_ms : 10000));
	if (o->timeout_ms)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)o->timeout_ms);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
			 h->opts.no_http2 ? (long)CURL_HTTP_VERSION_1_1 : (long)CURL_HTTP_VERSION_2TLS);
	/* Wait for a multiplexed connection rather than open a second one. */
	curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	if (h->ca_pem) {
		struct curl_blob b = blob_of(h->ca_pem);

		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
	}
	if (h->cert_pem && h->key_pem) {
		struct curl_blob c = blob_of(h->cert_pem), k = blob_of(h->key_pem);

		curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &c);
		curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &k);
		curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
	}
	if (h->opts.insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	curl_easy_setopt(e, CURLOPT_USERAGENT, h->user_agent);
	if (h->proxy_url) {
		curl_easy_setopt(e, CURLOPT_PROXY, h->proxy_url);
		if (h->proxy_user)
			curl_easy_setopt(e, CURLOPT_PROXYUSERNAME, h->proxy_user);
		if (h->proxy_pass)
			curl_easy_setopt(e, CURLOPT_PROXYPASSWORD, h->proxy_pass);
		/* CONNECT for https and http alike, as git's streams do. */
		curl_easy_setopt(e, CURLOPT_HTTPPROXYTUNNEL, 1L);
	} else if (h->opts.no_env_proxy) {
		curl_easy_setopt(e, CURLOPT_PROXY, "");
	}
	if (o->max_redirects) {
		/*
		 * A redirect to another host drops our Authorization header
		 * (curl's default without CURLOPT_UNRESTRICTED_AUTH): a registry's
		 * token must not reach the storage it redirects blob reads to.
		 */
		curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)o->max_redirects);
		curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	}
	/* No "Expect: 100-continue" round trip for large bodies. */
	r->hdrs = curl_slist_append(r->hdrs, "Expect:");
	for (hp = o->headers; hp && *hp; hp++)
		r->hdrs = curl_slist_append(r->hdrs, *hp);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
	if (o->body_read) {
		curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(e, CURLOPT_READDATA, r);
		curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)o->body_len);
	} else if (o->body) {
		r->body = xmemdup(o->body, o->body_len + 1);
		r->body[o->body_len] = '\0';
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
	}
	if (strcmp(o->method, "HEAD") == 0)
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	else if (strcmp(o->method, "GET") == 0 && !o->body && !o->body_read)
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	else if (strcmp(o->method, o->body_read ? "PUT" : "POST") != 0 ||
		 (!o->body && !o->body_read))
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, o->method);

	if (h->depth > 0) {
		/* Inside a curl callback: curl_multi_add_handle() would refuse. */
		r->add_pending = true;
	} else if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
		req_free(r);
		return -ENOMEM;
	}
	r->next = h->reqs;
	if (h->reqs)
		h->reqs->prev = r;
	h->reqs = r;
	h->nreqs++;
	if (ret_req)
		*ret_req = r;
	return 0;
}

void http_cancel(struct http_req *r)
{
	if (!r || r->cancel_pending)
		return;
	if (r->h->depth > 0) {
		/* Inside curl: abort on the next write, finish after it returns. */
		r->abort_code = -ECANCELED;
		r->cancel_pending = true;
		return;
	}
	finish(r, CURLE_OK, -ECANCELED);
}

void http_cancel_all(struct kube_http *h)
{
	struct http_req *r;

	/* Each finish() may unlink others or add new ones: look again from the head. */
	for (r = h->reqs; r;) {
		if (r->cancel_pending) {
			r = r->next;
			continue;
		}
		http_cancel(r);
		r = h->reqs;
	}
}

void http_resume(struct http_req *r)
{
	struct kube_http *h;

	if (!r || !r->paused || r->cancel_pending)
		return;
	h = r->h;
	r->paused = false;
	/*
	 * curl may hand the bytes it held back to write_cb from inside
	 * curl_easy_pause(): count it as a curl callback, so a request
	 * started or cancelled there is deferred as usual.  Completion is
	 * left to the timer curl arms, never run from here.
	 */
	h->depth++;
	curl_easy_pause(r->easy, CURLPAUSE_CONT);
	h->depth--;
	run_pending_cancels(h);
}

unsigned http_active(const struct kube_http *h)
{
	return h->nreqs;
}
