/*
 * bucket.c: a bucket's objects into a directory, whichever the provider
 * (see bucket.h for the contract; s3.c and azblob.c speak the protocols).
 *
 * DESIGN
 * bucket_fetch() runs on a thread-pool worker and owns a private libuv
 * loop with one HTTP engine (lib/kube/http.h) carrying the source's TLS
 * and proxy settings, so every request of the fetch shares its
 * connections.  The phases that are one request at a time (the
 * existence check, .sourceignore, the listing pages) run the loop until
 * their request is done; the downloads keep up to `max_fetches` requests
 * in flight, each completion starting the next, and run the loop until
 * none is left.  Writing the objects to disk happens in the engine's
 * data callback, on this worker thread — which is why the fetch owns a
 * loop rather than borrowing the operator's.
 *
 * The index is an array of (key, etag), filled page by page as the
 * listing arrives (each page parsed and dropped), sorted once at the
 * end.  Downloads mark vanished objects by dropping their ETag; the
 * array is compacted before the second revision.
 *
 * Transport failures, 5xx and throttling are retried twice per request
 * (Flux's SDK clients retry too); a refusal (403, 404, 400) is not.
 * Messages never carry URLs: an Azure SAS token is in every one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <mbedtls/base64.h>
#include <mbedtls/md.h>
#include <mbedtls/sha256.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/path.h"
#include "base/str.h"
#include "kube/http.h"
#include "source/bucket.h"
#include "source/ignore.h"
#include "source/transport.h"
#include "base/banned.h"

#define IGNORE_FILE ".sourceignore"
#define IGNORE_FILE_MAX (1u << 20)
#define PAGE_MAX_BODY (32u << 20)
#define ERROR_MAX_BODY (64u << 10)
#define ATTEMPTS 3

/* ---- helpers shared with the providers ---- */

void bucket__hmac(const void *key, size_t klen, const void *data, size_t n,
		  unsigned char ret[32])
{
	mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), key, klen, data, n, ret);
}

char *bucket__b64_encode(const void *data, size_t n)
{
	size_t olen = 0, cap = 4 * ((n + 2) / 3) + 1;
	char *out = xmalloc(cap);

	if (mbedtls_base64_encode((unsigned char *)out, cap, &olen, data, n) != 0)
		olen = 0;
	out[olen] = '\0';
	return out;
}

char *bucket__uri_decode(const char *s, size_t n, bool plus)
{
	char *out = xmalloc(n + 1), *o = out;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '%') {
			int hi, lo;

			if (i + 2 >= n) {
				free(out);
				return NULL;
			}
			hi = str_hexval((unsigned char)s[i + 1]);
			lo = str_hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0) {
				free(out);
				return NULL;
			}
			*o++ = (char)(hi << 4 | lo);
			i += 2;
		} else if (plus && s[i] == '+') {
			*o++ = ' ';
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

char *bucket__etag(const struct http_resp *resp, bool unquote)
{
	const char *v;
	size_t n;

	if (http_resp_header(resp, "ETag", &v, &n) < 0)
		return NULL;
	if (unquote && n >= 2 && v[0] == '"' && v[n - 1] == '"')
		return xstrndup(v + 1, n - 2);
	return xstrndup(v, n);
}

void bucket_req_release(struct bucket_req *r)
{
	size_t i;

	free(r->url);
	for (i = 0; i < BUCKET_REQ_HEADERS && r->headers[i]; i++)
		free_secret(r->headers[i]);
	memset(r, 0, sizeof(*r));
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct bucket_entry *)a)->key, ((const struct bucket_entry *)b)->key);
}

void bucket_revision(struct bucket_entry *v, size_t n, char ret[ARTIFACT_DIGEST_MAX])
{
	mbedtls_sha256_context c;
	unsigned char d[32];
	size_t i;

	if (n)
		qsort(v, n, sizeof(*v), entry_cmp);
	mbedtls_sha256_init(&c);
	mbedtls_sha256_starts_ret(&c, 0);
	for (i = 0; i < n; i++) {
		mbedtls_sha256_update_ret(&c, (const unsigned char *)v[i].key, strlen(v[i].key));
		mbedtls_sha256_update_ret(&c, (const unsigned char *)" ", 1);
		mbedtls_sha256_update_ret(&c, (const unsigned char *)v[i].etag, strlen(v[i].etag));
		mbedtls_sha256_update_ret(&c, (const unsigned char *)"\n", 1);
	}
	mbedtls_sha256_finish_ret(&c, d);
	mbedtls_sha256_free(&c);
	memcpy(ret, "sha256:", 7);
	str_hex(d, sizeof(d), ret + 7);
}

/* ---- the fetch ---- */

struct fetch {
	uv_loop_t loop;
	uv_timer_t cancel_timer; /* polls o->cancel, when given */
	struct kube_http *http;
	const struct bucket_provider_ops *p;
	void *st;
	const struct bucket_opts *o;
	struct bucket_result *res;
	struct ignore *ig;
	struct bucket_entry *v;
	size_t n, cap;
	uint64_t deadline; /* uv_now() */
	unsigned timeout_s;
	/* downloads */
	size_t next;
	unsigned active, max_active;
	uint64_t total_bytes;
	int r;             /* the first download failure */
	struct op_err err;
};

/* What one request came back with. */
struct reply {
	bool done;
	int r;                /* 0, or the transport's or provider's errno */
	bool no_bucket;
	struct buf body;      /* a success's body (buffered requests) */
	char *etag;
	struct op_err err;
	const char *what;
	struct fetch *f;
	/* downloads */
	size_t i;
	int fd;
	uint64_t bytes;
	unsigned attempt;
};

static uint64_t remaining_ms(struct fetch *f)
{
	uint64_t now;

	uv_update_time(&f->loop);
	now = uv_now(&f->loop);
	return now >= f->deadline ? 0 : f->deadline - now;
}

/*
 * The cancel flag is another thread's: polled every SRC_CANCEL_POLL_MS.
 * Once set, every transfer in flight ends with -ECANCELED, and request()
 * and dl_start() refuse to start another.
 */
static void cancel_tick(uv_timer_t *t)
{
	struct fetch *f = t->data;

	if (src_cancelled(f->o->cancel))
		http_cancel_all(f->http);
}

/* A transport failure, in our words: http.c's message names the URL. */
static int transport_error(struct fetch *f, int r, const struct op_err *e, const char *what,
			   struct op_err *out)
{
	const char *detail = e ? strstr(e->msg, "': ") : NULL;

	if (r == -ETIMEDOUT)
		return op_err_set(out, r, "%s: timeout after %us", what, f->timeout_s);
	return op_err_set(out, r, "%s: %s", what, detail ? detail + 3 : op_strerror(r));
}

static bool retryable(int r)
{
	return r == -ECONNRESET || r == -EIO || r == -EBUSY || r == -ECONNREFUSED;
}

static void reply_done(struct http_req *req, int r, const struct http_resp *resp,
		       const struct op_err *err, void *payload)
{
	struct reply *rp = payload;
	struct fetch *f = rp->f;

	(void)req;
	rp->done = true;
	if (r < 0) {
		rp->r = transport_error(f, r, err, rp->what, &rp->err);
		return;
	}
	if (resp->status >= 200 && resp->status < 300) {
		if (resp->body_len && buf_add(&rp->body, resp->body, resp->body_len) < 0)
			rp->r = op_err_set(&rp->err, -EFBIG, "%s: response too large", rp->what);
		rp->etag = f->p->get_etag(resp);
		return;
	}
	rp->r = f->p->error(f->st, resp, rp->what, &rp->no_bucket, &rp->err);
}

/*
 * Make one buffered request and run the loop until it is answered; an
 * -EAGAIN from the provider (it learned the bucket's region) builds the
 * request again, and transient failures are retried.
 */
static int request(struct fetch *f, int (*build)(struct fetch *f, const void *arg,
						  struct bucket_req *ret),
		   const void *arg, const char *what, size_t max_body, struct reply *rp)
{
	unsigned attempt, again = 0;

	for (attempt = 0; attempt < ATTEMPTS; attempt++) {
		struct http_req_opts ro = HTTP_REQ_OPTS_INIT;
		struct bucket_req rq = { 0 };
		uint64_t left = remaining_ms(f);
		int r;

		buf_release(&rp->body);
		free(rp->etag);
		memset(rp, 0, sizeof(*rp));
		rp->f = f;
		rp->what = what;
		rp->fd = -1;
		buf_init(&rp->body, max_body);
		if (!left)
			return rp->r = op_err_set(&rp->err, -ETIMEDOUT, "%s: timeout after %us", what,
						  f->timeout_s);
		if (src_cancelled(f->o->cancel))
			return rp->r = op_err_set(&rp->err, -ECANCELED, "%s: cancelled", what);
		r = build(f, arg, &rq);
		if (r < 0)
			return rp->r = op_err_set(&rp->err, r, "%s: cannot build the request", what);
		ro.url = rq.url;
		ro.headers = (const char *const *)rq.headers;
		ro.timeout_ms = left;
		ro.max_body = max_body > ERROR_MAX_BODY ? max_body : ERROR_MAX_BODY;
		r = http_request(f->http, &ro, reply_done, rp, NULL);
		bucket_req_release(&rq);
		if (r < 0)
			return rp->r = op_err_set(&rp->err, r, "%s: %s", what, op_strerror(r));
		while (!rp->done)
			uv_run(&f->loop, UV_RUN_ONCE);
		if (rp->r == -EAGAIN && again++ == 0) {
			attempt--;
			continue;
		}
		if (!retryable(rp->r))
			break;
	}
	return rp->r;
}

static void reply_release(struct reply *rp)
{
	buf_release(&rp->body);
	free(rp->etag);
	rp->etag = NULL;
}

struct list_arg {
	const char *marker;
	unsigned max;
};

static int build_list(struct fetch *f, const void *arg, struct bucket_req *ret)
{
	const struct list_arg *a = arg;

	return f->p->list_req(f->st, a->marker, a->max, ret);
}

static int build_get(struct fetch *f, const void *arg, struct bucket_req *ret)
{
	return f->p->get_req(f->st, arg, ret);
}

/* Is `key` one we can write as a file below dir?  0 or -EINVAL with reterr. */
static int check_key(const char *key, struct op_err *reterr)
{
	const char *p = key;

	if (strlen(key) > BUCKET_KEY_MAX)
		return op_err_set(reterr, -EINVAL, "object key '%.100s...' is longer than %d bytes",
				  key, BUCKET_KEY_MAX);
	if (key[0] == '/')
		return op_err_set(reterr, -EINVAL, "object key '%.300s' is an absolute path", key);
	while (*p) {
		size_t n = strcspn(p, "/");

		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return op_err_set(reterr, -EINVAL, "object key '%.300s' has a '%.*s' path "
					  "component", key, (int)n, p);
		p += n;
		if (*p == '/')
			p++;
	}
	return 0;
}

struct adder {
	struct fetch *f;
	struct op_err *err;
};

static int add_entry(const char *key, const char *etag, void *payload)
{
	struct adder *a = payload;
	struct fetch *f = a->f;
	int r;

	if (!*key || str_endswith(key, "/") || streq(key, IGNORE_FILE))
		return 0;
	if (ignore_match(f->ig, key, false))
		return 0;
	r = check_key(key, a->err);
	if (r < 0)
		return r;
	if (f->n >= f->o->lim.max_entries)
		return op_err_set(a->err, -E2BIG, "more than %llu objects",
				  (unsigned long long)f->o->lim.max_entries);
	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 256;
		f->v = xrealloc(f->v, f->cap * sizeof(*f->v));
	}
	f->v[f->n].key = xstrdup(key);
	f->v[f->n].etag = xstrdup(etag);
	f->n++;
	return 0;
}

/* ---- downloads ---- */

static void start_downloads(struct fetch *f);

static int dl_data(struct http_req *req, long status, const char *data, size_t n, void *payload)
{
	struct reply *rp = payload;
	struct fetch *f = rp->f;
	const struct artifact_limits *lim = &f->o->lim;

	(void)req, (void)status;
	rp->bytes += n;
	f->total_bytes += n;
	if (rp->bytes > lim->max_file_bytes)
		return op_err_set(&rp->err, -EFBIG, "object '%s' is larger than %llu bytes",
				  f->v[rp->i].key, (unsigned long long)lim->max_file_bytes);
	if (f->total_bytes > lim->max_total_bytes)
		return op_err_set(&rp->err, -EFBIG, "the objects are larger than %llu bytes in all",
				  (unsigned long long)lim->max_total_bytes);
	while (n) {
		ssize_t w = write(rp->fd, data, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return op_err_set(&rp->err, -errno, "cannot write object '%s': %s",
					  f->v[rp->i].key, op_strerror(-errno));
		data += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Create the directories above `path` (below dir) and open the file. */
static int dl_open(struct fetch *f, struct reply *rp, char **ret_path)
{
	const char *key = f->v[rp->i].key;
	char *path = NULL, *slash;
	int r;

	r = path_join_safe(f->o->dir, key, &path, &rp->err);
	if (r < 0)
		return r;
	for (slash = strchr(path + strlen(f->o->dir) + 1, '/'); slash;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(path, 0750) < 0 && errno != EEXIST)
			r = -errno;
		*slash = '/';
		if (r < 0)
			break;
	}
	if (r == 0) {
		rp->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (rp->fd < 0)
			r = -errno;
	}
	if (r < 0) {
		free(path);
		return op_err_set(&rp->err, r, "cannot write object '%.300s': %s%s", key,
				  op_strerror(r), r == -ENOTDIR || r == -EISDIR ?
				  " (another object's key is a prefix of its path)" : "");
	}
	*ret_path = path;
	return 0;
}

static void dl_done(struct http_req *req, int r, const struct http_resp *resp,
		    const struct op_err *err, void *payload);

static int dl_start(struct fetch *f, struct reply *rp)
{
	struct http_req_opts ro = HTTP_REQ_OPTS_INIT;
	struct bucket_req rq = { 0 };
	uint64_t left = remaining_ms(f);
	int r;

	if (!left)
		return op_err_set(&rp->err, -ETIMEDOUT, "%s: timeout after %us", rp->what,
				  f->timeout_s);
	if (src_cancelled(f->o->cancel))
		return op_err_set(&rp->err, -ECANCELED, "%s: cancelled", rp->what);
	r = f->p->get_req(f->st, f->v[rp->i].key, &rq);
	if (r < 0)
		return op_err_set(&rp->err, r, "cannot build the request for '%s'", f->v[rp->i].key);
	ro.url = rq.url;
	ro.headers = (const char *const *)rq.headers;
	ro.timeout_ms = left;
	ro.max_body = ERROR_MAX_BODY;
	ro.on_data = dl_data;
	r = http_request(f->http, &ro, dl_done, rp, NULL);
	bucket_req_release(&rq);
	if (r < 0)
		return op_err_set(&rp->err, r, "cannot start the download of '%s': %s",
				  f->v[rp->i].key, op_strerror(r));
	return 0;
}

static void dl_fail(struct fetch *f, struct reply *rp)
{
	if (!f->r) {
		f->r = rp->r;
		f->err = rp->err;
	}
}

static void dl_done(struct http_req *req, int r, const struct http_resp *resp,
		    const struct op_err *err, void *payload)
{
	struct reply *rp = payload;
	struct fetch *f = rp->f;
	struct bucket_entry *e = &f->v[rp->i];

	(void)req;
	if (r < 0 && rp->err.code)
		rp->r = rp->err.code; /* our own data callback's failure */
	else if (r < 0)
		rp->r = transport_error(f, r, err, rp->what, &rp->err);
	else if (resp->status < 200 || resp->status >= 300)
		rp->r = f->p->error(f->st, resp, rp->what, &rp->no_bucket, &rp->err);
	if (rp->r == 0) {
		char *etag = f->p->get_etag(resp);

		if (etag && !streq(etag, e->etag)) {
			free(e->etag);
			e->etag = etag;
			etag = NULL;
		}
		free(etag);
		f->res->downloaded++;
		f->res->bytes += rp->bytes;
	} else if (rp->r == -ENOENT && !rp->no_bucket) {
		/* Vanished since the listing: out of the index, as Flux does. */
		free(e->etag);
		e->etag = NULL;
		rp->r = 0;
	} else if (retryable(rp->r) && ++rp->attempt < ATTEMPTS && !f->r) {
		f->total_bytes -= rp->bytes;
		rp->bytes = 0;
		if (ftruncate(rp->fd, 0) == 0 && lseek(rp->fd, 0, SEEK_SET) == 0) {
			rp->r = 0;
			memset(&rp->err, 0, sizeof(rp->err));
			if (dl_start(f, rp) == 0)
				return;
			rp->r = rp->err.code;
		}
	}
	close(rp->fd);
	rp->fd = -1;
	if (rp->r < 0 || !e->etag) {
		char *path = NULL;
		struct op_err ignored;

		if (path_join_safe(f->o->dir, e->key, &path, &ignored) == 0)
			unlink(path);
		free(path);
	}
	if (rp->r < 0)
		dl_fail(f, rp);
	f->active--;
	free((char *)rp->what);
	free(rp);
	start_downloads(f);
}

static void start_downloads(struct fetch *f)
{
	while (!f->r && f->active < f->max_active && f->next < f->n) {
		struct reply *rp = xcalloc(1, sizeof(*rp));
		char *path = NULL;

		rp->f = f;
		rp->i = f->next++;
		rp->fd = -1;
		rp->what = xasprintf("failed to get '%.300s' object", f->v[rp->i].key);
		if (dl_open(f, rp, &path) < 0 || dl_start(f, rp) < 0) {
			rp->r = rp->err.code;
			if (rp->fd >= 0) {
				close(rp->fd);
				unlink(path);
			}
			dl_fail(f, rp);
			free(path);
			free((char *)rp->what);
			free(rp);
			return;
		}
		free(path);
		f->active++;
	}
}

/* ---- the phases ---- */

static int load_ignore(struct fetch *f, struct op_err *reterr)
{
	char *path = NULL, *text = NULL;
	struct reply rp = { 0 };
	char what[256];
	int r;

	snprintf(what, sizeof(what), "failed to get Etag for '%s' object", IGNORE_FILE);
	r = request(f, build_get, IGNORE_FILE, what, IGNORE_FILE_MAX, &rp);
	if (r == -ENOENT && !rp.no_bucket) {
		r = 0;
	} else if (r == 0) {
		r = path_join_safe(f->o->dir, IGNORE_FILE, &path, reterr);
		if (r == 0)
			r = path_write_file(path, rp.body.buf, rp.body.len, 0600);
		if (r < 0)
			op_err_set(reterr, r, "cannot write '%s': %s", IGNORE_FILE, op_strerror(r));
		else
			text = xmemdup(rp.body.buf, rp.body.len + 1);
	} else {
		*reterr = rp.err;
	}
	reply_release(&rp);
	free(path);
	if (r < 0)
		return r;
	if (text)
		ignore_add(f->ig, "", text);
	free(text);
	if (f->o->ignore)
		ignore_add(f->ig, "", f->o->ignore);
	return 0;
}

static int check_exists(struct fetch *f, struct op_err *reterr)
{
	struct list_arg a = { .marker = NULL, .max = 1 };
	struct reply rp = { 0 };
	char what[320];
	int r;

	snprintf(what, sizeof(what), "failed to confirm existence of '%.200s' bucket",
		 f->o->bucket);
	r = request(f, build_list, &a, what, PAGE_MAX_BODY, &rp);
	if (r < 0 && rp.no_bucket)
		r = op_err_set(reterr, -ENOENT, "bucket '%.200s' not found", f->o->bucket);
	else if (r < 0)
		*reterr = rp.err;
	reply_release(&rp);
	return r;
}

static int list_all(struct fetch *f, struct op_err *reterr)
{
	struct adder ad = { .f = f, .err = reterr };
	struct list_arg a = { 0 };
	char what[320], *marker = NULL;
	int r;

	snprintf(what, sizeof(what), "listing objects from bucket '%.200s' failed", f->o->bucket);
	do {
		struct reply rp = { 0 };
		char *next = NULL;

		a.marker = marker;
		r = request(f, build_list, &a, what, PAGE_MAX_BODY, &rp);
		if (r < 0)
			*reterr = rp.err;
		else
			r = f->p->list_parse(f->st, rp.body.buf, rp.body.len, add_entry, &ad, &next,
					     reterr);
		reply_release(&rp);
		f->res->pages++;
		if (r == 0 && next && marker && streq(next, marker))
			r = op_err_set(reterr, -EBADMSG, "the server repeated the same page marker");
		free(marker);
		marker = next;
	} while (r == 0 && marker);
	free(marker);
	if (r < 0)
		op_err_prefix(reterr, "indexation of objects from bucket '%.200s' failed",
			      f->o->bucket);
	return r;
}

static int download_all(struct fetch *f, struct op_err *reterr)
{
	size_t i, j;

	f->max_active = f->o->max_fetches ? f->o->max_fetches : BUCKET_MAX_FETCHES;
	start_downloads(f);
	while (f->active)
		uv_run(&f->loop, UV_RUN_ONCE);
	if (f->r < 0) {
		*reterr = f->err;
		op_err_prefix(reterr, "fetch from bucket '%.200s' failed", f->o->bucket);
		return f->r;
	}
	for (i = j = 0; i < f->n; i++) {
		if (f->v[i].etag)
			f->v[j++] = f->v[i];
		else
			free(f->v[i].key);
	}
	f->n = j;
	return 0;
}

static void http_closed(void *payload)
{
	*(bool *)payload = true;
}

int bucket_fetch(const struct bucket_opts *o, struct bucket_result *ret, struct op_err *reterr)
{
	struct http_opts ho = HTTP_OPTS_INIT;
	struct bucket_result res;
	struct fetch f = { .o = o, .res = &res };
	bool closed = false;
	size_t i;
	int r;

	memset(&res, 0, sizeof(res));
	f.p = o->provider == BUCKET_AZURE ? &bucket_azure_ops : &bucket_s3_ops;
	r = f.p->init(o, &f.st, reterr);
	if (r < 0)
		return r;
	r = uv_loop_init(&f.loop);
	if (r < 0) {
		f.p->free(f.st);
		return op_err_set(reterr, r, "cannot create a loop: %s", uv_strerror(r));
	}
	ho.ca_pem = o->ca_pem;
	ho.cert_pem = o->cert_pem;
	ho.key_pem = o->key_pem;
	ho.proxy_url = o->proxy_url;
	ho.proxy_user = o->proxy_user;
	ho.proxy_pass = o->proxy_pass;
	ho.user_agent = "cflux-source-controller";
	r = http_new(&f.loop, &ho, &f.http, reterr);
	if (r < 0) {
		uv_loop_close(&f.loop);
		f.p->free(f.st);
		return r;
	}
	if (o->cancel) {
		uv_timer_init(&f.loop, &f.cancel_timer);
		f.cancel_timer.data = &f;
		uv_timer_start(&f.cancel_timer, cancel_tick, SRC_CANCEL_POLL_MS, SRC_CANCEL_POLL_MS);
	}
	f.timeout_s = o->timeout_s ? o->timeout_s : 60;
	uv_update_time(&f.loop);
	f.deadline = uv_now(&f.loop) + (uint64_t)f.timeout_s * 1000;
	f.ig = ignore_new_empty();

	r = check_exists(&f, reterr);
	if (r == 0)
		r = load_ignore(&f, reterr);
	if (r == 0)
		r = list_all(&f, reterr);
	if (r == 0) {
		bucket_revision(f.v, f.n, res.revision);
		res.unchanged = o->last_revision && streq(o->last_revision, res.revision);
		if (!res.unchanged) {
			r = download_all(&f, reterr);
			if (r == 0)
				bucket_revision(f.v, f.n, res.revision);
		}
		res.objects = f.n;
	}

	if (o->cancel)
		uv_close((uv_handle_t *)&f.cancel_timer, NULL);
	http_close(f.http, http_closed, &closed);
	while (!closed)
		uv_run(&f.loop, UV_RUN_ONCE);
	uv_run(&f.loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&f.loop) != 0)
		r = r ? r : op_err_set(reterr, -EBUSY, "the fetch's loop did not close");
	ignore_free(f.ig);
	for (i = 0; i < f.n; i++) {
		free(f.v[i].key);
		free(f.v[i].etag);
	}
	free(f.v);
	f.p->free(f.st);
	if (r == 0)
		*ret = res;
	return r;
}
