/*
 * s3.c: the S3 provider of bucket.h — AWS Signature Version 4,
 * ListObjectsV2 and GetObject, as Flux's minio-go client speaks them.
 *
 * DESIGN
 * Addressing: path-style, "<scheme>://<endpoint>/<bucket>/<key>", for
 * every endpoint but Amazon's own ("*.amazonaws.com"), where the bucket
 * is a virtual host ("<bucket>.<endpoint>") unless its name has a dot
 * (minio-go's rule: a dotted name breaks the wildcard certificate).
 * The scheme is https, or http with spec.insecure; the endpoint is
 * "host[:port]" only.
 *
 * Signing (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html):
 * every request is a GET without a body, so the payload hash is the hash
 * of nothing; the signed headers are host, x-amz-content-sha256 and
 * x-amz-date.  We send exactly the Host we sign (an explicit header), and
 * URLs whose path and query are already canonical (each path byte outside
 * the unreserved set percent-encoded, "/" kept; query names sorted, both
 * names and values encoded), so what is signed is what goes on the wire —
 * libcurl's own SigV4 does not sort the query (sources.md §5.2).  Without
 * keys requests go unsigned (anonymous), as minio-go does.
 *
 * Region: spec.region, else us-east-1 until the server says otherwise:
 * an error carrying <Region> (S3's AuthorizationHeaderMalformed or a
 * redirect) makes error() adopt it and ask for the request again, once.
 *
 * Listing: list-type=2, encoding-type=url (keys come back percent-encoded
 * and are decoded here, "+" as a space, only when the answer says
 * <EncodingType>url</EncodingType>), continuation tokens until
 * IsTruncated is false.  ETags lose their quotes (minio-go's trimEtag).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/str.h"
#include "kube/http.h"
#include "source/bucket.h"
#include "source/xml.h"
#include "yj/yj.h"
#include "base/banned.h"

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct s3 {
	char *base;   /* "https://host:port" */
	char *host;   /* the Host header, as signed */
	char *path;   /* "/bucket" (path-style) or "" (virtual-hosted) */
	char *bucket, *region, *prefix;
	char *ak, *sk;
	unsigned page;
	bool region_learned;
	int64_t now_s; /* tests: a fixed clock; 0: the real one */
};

static void s3_free(void *p)
{
	struct s3 *s = p;

	if (!s)
		return;
	free(s->base);
	free(s->host);
	free(s->path);
	free(s->bucket);
	free(s->region);
	free(s->prefix);
	free(s->ak);
	free_secret(s->sk);
	free(s);
}

static bool valid_host_port(const char *e)
{
	const char *p;

	if (!*e || strlen(e) > 255)
		return false;
	for (p = e; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr(".-:[]_", *p)))
			return false;
	return true;
}

static int s3_init(const struct bucket_opts *o, void **ret, struct op_err *reterr)
{
	const char *e = o->endpoint ? o->endpoint : "";
	bool aws, vhost;
	struct s3 *s;
	char *host;

	if (strstr(e, "://"))
		return op_err_set(reterr, -EINVAL, "invalid endpoint '%s': an S3 endpoint is "
				  "host[:port] without a scheme (spec.insecure selects http)", e);
	if (!valid_host_port(e))
		return op_err_set(reterr, -EINVAL, "invalid endpoint '%s': expected host[:port]", e);
	if (!o->bucket || !*o->bucket || strchr(o->bucket, '/'))
		return op_err_set(reterr, -EINVAL, "invalid bucket name '%s'",
				  o->bucket ? o->bucket : "");
	if (!o->access_key != !o->secret_key)
		return op_err_set(reterr, -EINVAL, "both an access key and a secret key are needed");
	s = xcalloc(1, sizeof(*s));
	/* minio-go leaves the default port out of Host, so do we. */
	host = xstrdup(e);
	if ((o->insecure && str_endswith(host, ":80")) ||
	    (!o->insecure && str_endswith(host, ":443")))
		host[strlen(host) - (o->insecure ? 3 : 4)] = '\0';
	aws = str_endswith(host, ".amazonaws.com") || str_endswith(host, ".amazonaws.com.cn");
	vhost = aws && !strchr(o->bucket, '.');
	s->host = vhost ? xasprintf("%s.%s", o->bucket, host) : xstrdup(host);
	s->base = xasprintf("%s://%s", o->insecure ? "http" : "https", s->host);
	s->path = vhost ? xstrdup("") : xasprintf("/%s", o->bucket);
	free(host);
	s->bucket = xstrdup(o->bucket);
	s->region = xstrdup(o->region && *o->region ? o->region : "us-east-1");
	s->region_learned = o->region && *o->region;
	s->prefix = o->prefix && *o->prefix ? xstrdup(o->prefix) : NULL;
	s->ak = o->access_key ? xstrdup(o->access_key) : NULL;
	s->sk = o->secret_key ? xstrdup(o->secret_key) : NULL;
	s->page = o->page_size;
	*ret = s;
	return 0;
}

/* ---- Signature Version 4 ---- */

char *s3__authorization(const struct s3_sign *s)
{
	struct buf creq = BUF_INIT(1u << 20), sts = BUF_INIT(4096), signed_hdrs = BUF_INIT(4096);
	unsigned char k[32], k2[32];
	char day[9], creq_hash[65], sig[65], *key, *out;
	const char *const *h;

	snprintf(day, sizeof(day), "%.8s", s->date);
	(void)buf_addf(&creq, "%s\n%s\n%s\n", s->method, s->path, s->query);
	for (h = s->headers; *h; h++) {
		size_t nl = strcspn(*h, ":");

		(void)buf_addf(&creq, "%s\n", *h);
		(void)buf_addf(&signed_hdrs, "%s%.*s", h == s->headers ? "" : ";", (int)nl, *h);
	}
	(void)buf_addf(&creq, "\n%s\n%s", signed_hdrs.buf, s->payload_hash);
	yj_sha256_hex(creq.buf, creq.len, creq_hash);
	(void)buf_addf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", s->date, day,
		       s->region, s->service, creq_hash);
	key = xasprintf("AWS4%s", s->secret_key);
	bucket__hmac(key, strlen(key), day, strlen(day), k);
	free_secret(key);
	bucket__hmac(k, 32, s->region, strlen(s->region), k2);
	bucket__hmac(k2, 32, s->service, strlen(s->service), k);
	bucket__hmac(k, 32, "aws4_request", 12, k2);
	bucket__hmac(k2, 32, sts.buf, sts.len, k);
	str_hex(k, 32, sig);
	explicit_bzero(k2, sizeof(k2));
	out = xasprintf("AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, "
			"Signature=%s", s->access_key, day, s->region, s->service, signed_hdrs.buf,
			sig);
	buf_release(&creq);
	buf_release(&sts);
	buf_release(&signed_hdrs);
	return out;
}

void s3__set_clock(void *st, int64_t unix_s)
{
	((struct s3 *)st)->now_s = unix_s;
}

/* A GET of `path` (encoded) with the canonical `query` ("" for none), signed. */
static int make_req(struct s3 *s, const char *path, const char *query, struct bucket_req *ret)
{
	time_t now = s->now_s ? (time_t)s->now_s : time(NULL);
	char date[32];
	struct tm tm;
	size_t n = 0;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y%m%dT%H%M%SZ", &tm);
	memset(ret, 0, sizeof(*ret));
	ret->url = xasprintf("%s%s%s%s", s->base, path, *query ? "?" : "", query);
	ret->headers[n++] = xasprintf("Host: %s", s->host);
	ret->headers[n++] = xstrdup("x-amz-content-sha256: " EMPTY_SHA256);
	ret->headers[n++] = xasprintf("x-amz-date: %s", date);
	if (s->ak) {
		char *h_host = xasprintf("host:%s", s->host), *h_date = xasprintf("x-amz-date:%s", date);
		const char *hdrs[] = { h_host, "x-amz-content-sha256:" EMPTY_SHA256, h_date, NULL };
		struct s3_sign sg = {
			.method = "GET", .path = path, .query = query, .headers = hdrs,
			.payload_hash = EMPTY_SHA256, .date = date, .region = s->region,
			.service = "s3", .access_key = s->ak, .secret_key = s->sk,
		};
		char *auth = s3__authorization(&sg);

		ret->headers[n++] = xasprintf("Authorization: %s", auth);
		free(auth);
		free(h_host);
		free(h_date);
	}
	return 0;
}

static int s3_list_req(void *st, const char *marker, unsigned max, struct bucket_req *ret)
{
	struct s3 *s = st;
	struct buf q = BUF_INIT(64u << 10);
	unsigned page = max ? max : s->page;
	int r;

	/* Names in canonical (sorted) order; values encoded as signed. */
	if (marker) {
		(void)buf_adds(&q, "continuation-token=");
		(void)buf_add_uri_escaped(&q, marker, false);
		(void)buf_addch(&q, '&');
	}
	(void)buf_adds(&q, "encoding-type=url&list-type=2");
	if (page)
		(void)buf_addf(&q, "&max-keys=%u", page);
	if (s->prefix) {
		(void)buf_adds(&q, "&prefix=");
		(void)buf_add_uri_escaped(&q, s->prefix, false);
	}
	r = make_req(s, *s->path ? s->path : "/", q.buf, ret);
	buf_release(&q);
	return r;
}

static int s3_get_req(void *st, const char *key, struct bucket_req *ret)
{
	struct s3 *s = st;
	struct buf p = BUF_INIT(16u << 10);
	int r;

	(void)buf_addf(&p, "%s/", s->path);
	(void)buf_add_uri_escaped(&p, key, true);
	r = make_req(s, p.buf, "", ret);
	buf_release(&p);
	return r;
}

static char *trim_etag(const char *v, size_t n)
{
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"')
		return xstrndup(v + 1, n - 2);
	return xstrndup(v, n);
}

static char *s3_get_etag(const struct http_resp *resp)
{
	return bucket__etag(resp, true);
}

/* ---- listing ---- */

struct page {
	struct bucket_entry *v;
	size_t n, cap;
	char *key, *etag;
	bool truncated, url_encoded;
	char *next;
	struct op_err *err;
};

static int on_list(const char *path, const char *text, size_t len, void *payload)
{
	struct page *pg = payload;

	if (streq(path, "ListBucketResult/Contents/Key")) {
		free(pg->key);
		pg->key = xstrndup(text, len);
	} else if (streq(path, "ListBucketResult/Contents/ETag")) {
		free(pg->etag);
		pg->etag = trim_etag(text, len);
	} else if (streq(path, "ListBucketResult/Contents")) {
		if (!pg->key)
			return op_err_set(pg->err, -EBADMSG, "listing entry without a Key");
		if (pg->n == pg->cap) {
			pg->cap = pg->cap ? 2 * pg->cap : 64;
			pg->v = xrealloc(pg->v, pg->cap * sizeof(*pg->v));
		}
		pg->v[pg->n].key = pg->key;
		pg->v[pg->n].etag = pg->etag ? pg->etag : xstrdup("");
		pg->n++;
		pg->key = pg->etag = NULL;
	} else if (streq(path, "ListBucketResult/IsTruncated")) {
		pg->truncated = len == 4 && memcmp(text, "true", 4) == 0;
	} else if (streq(path, "ListBucketResult/NextContinuationToken")) {
		free(pg->next);
		pg->next = len ? xstrndup(text, len) : NULL;
	} else if (streq(path, "ListBucketResult/EncodingType")) {
		pg->url_encoded = len == 3 && memcmp(text, "url", 3) == 0;
	}
	return 0;
}

static int s3_list_parse(void *st, const char *body, size_t len, bucket_add_fn add,
			 void *payload, char **ret_next, struct op_err *reterr)
{
	struct page pg = { .err = reterr };
	size_t i;
	int r;

	(void)st;
	r = xml_walk(body, len, on_list, &pg, reterr);
	if (r == 0 && pg.truncated && !pg.next)
		r = op_err_set(reterr, -EBADMSG, "truncated listing without a continuation token");
	for (i = 0; i < pg.n && r == 0; i++) {
		char *key = pg.v[i].key;

		if (pg.url_encoded && !(key = bucket__uri_decode(pg.v[i].key, strlen(pg.v[i].key),
								 true)))
			r = op_err_set(reterr, -EBADMSG, "malformed URL-encoded key '%.200s'",
				       pg.v[i].key);
		if (r == 0)
			r = add(key, pg.v[i].etag, payload);
		if (key != pg.v[i].key)
			free(key);
	}
	for (i = 0; i < pg.n; i++) {
		free(pg.v[i].key);
		free(pg.v[i].etag);
	}
	free(pg.v);
	free(pg.key);
	free(pg.etag);
	if (r == 0 && pg.truncated) {
		*ret_next = pg.next;
		pg.next = NULL;
	} else if (r == 0) {
		*ret_next = NULL;
	}
	free(pg.next);
	return r;
}

/* ---- errors ---- */

struct s3err {
	char code[64], region[64];
	char msg[200];
};

static int on_err(const char *path, const char *text, size_t len, void *payload)
{
	struct s3err *e = payload;

	if (streq(path, "Error/Code"))
		snprintf(e->code, sizeof(e->code), "%.*s", (int)len, text);
	else if (streq(path, "Error/Message"))
		snprintf(e->msg, sizeof(e->msg), "%.*s", (int)len, text);
	else if (streq(path, "Error/Region"))
		snprintf(e->region, sizeof(e->region), "%.*s", (int)len, text);
	return 0;
}

/*
 * Credentials refused, whatever the status: AWS answers 403, versitygw
 * 404 XAdminUserNotFound for an unknown access key.
 */
static bool is_auth_code(const char *code)
{
	static const char *const codes[] = {
		"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken",
		"InvalidToken", "XAdminUserNotFound", "AuthorizationHeaderMalformed",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(codes); i++)
		if (streq(code, codes[i]))
			return true;
	return false;
}

static int s3_error(void *st, const struct http_resp *resp, const char *what,
		    bool *ret_no_bucket, struct op_err *reterr)
{
	struct s3 *s = st;
	struct s3err e;
	struct op_err ignored;
	const char *v;
	size_t n;
	int code;

	memset(&e, 0, sizeof(e));
	if (resp->body_len)
		(void)xml_walk(resp->body, resp->body_len, on_err, &e, &ignored);
	if (!e.region[0] && http_resp_header(resp, "x-amz-bucket-region", &v, &n) == 0)
		snprintf(e.region, sizeof(e.region), "%.*s", (int)n, v);
	if (e.region[0] && !s->region_learned && !streq(e.region, s->region) &&
	    (resp->status == 400 || resp->status == 301 || resp->status == 403)) {
		free(s->region);
		s->region = xstrdup(e.region);
		s->region_learned = true;
		return op_err_set(reterr, -EAGAIN, "%s: the bucket is in region '%s'", what,
				  e.region);
	}
	*ret_no_bucket = streq(e.code, "NoSuchBucket");
	if (*ret_no_bucket || streq(e.code, "NoSuchKey") || (resp->status == 404 && !e.code[0]))
		code = -ENOENT;
	else if (resp->status == 401 || resp->status == 403 || is_auth_code(e.code))
		code = -EACCES;
	else if (resp->status == 429 || resp->status == 503)
		code = -EBUSY;
	else if (resp->status >= 500)
		code = -EIO;
	else
		code = -EINVAL;
	if (e.msg[0] && e.code[0])
		return op_err_set(reterr, code, "%s: %s (%s)", what, e.msg, e.code);
	if (e.code[0])
		return op_err_set(reterr, code, "%s: %s", what, e.code);
	return op_err_set(reterr, code, "%s: HTTP status %ld", what, resp->status);
}

const struct bucket_provider_ops bucket_s3_ops = {
	.init = s3_init,
	.free = s3_free,
	.list_req = s3_list_req,
	.list_parse = s3_list_parse,
	.get_req = s3_get_req,
	.get_etag = s3_get_etag,
	.error = s3_error,
};
