/*
 * azblob.c: the Azure Blob provider of bucket.h — Shared Key and SAS
 * authorization, List Blobs with markers and Get Blob, as Flux's azblob
 * SDK client speaks them.
 *
 * DESIGN
 * The endpoint is the account's blob service URL.  Its account name is
 * the first DNS label ("https://acct.blob.core.windows.net", Flux's
 * rule), except for an IP or localhost host, which is path-style
 * ("http://127.0.0.1:10000/acct": the first path component, as Azurite
 * and the Azure SDK read it).  A container is "<endpoint>/<container>",
 * a blob "<endpoint>/<container>/<name>" with the name percent-encoded
 * ("/" kept).
 *
 * Shared Key (https://learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key):
 * the string to sign is the verb, eleven empty standard headers (our GETs
 * have no body, no Content-Type, no Range; libcurl adds none of them),
 * the x-ms-* headers lower-cased and sorted as "name:value\n", then the
 * canonicalised resource: "/<account><path as sent>" and each query
 * parameter, sorted by lower-cased name, as "\nname:value" with its value
 * URL-decoded.  The signature is base64 HMAC-SHA256 under the decoded
 * account key.  With a path-style endpoint the account appears twice
 * ("/acct/acct/container"), as it must.
 *
 * SAS: the token's parameters are appended to every URL and nothing is
 * signed here (the token is the signature).  An expired or wrong token
 * is the server's 403 AuthenticationFailed, whose detail we pass on.
 *
 * ETags: the listing's <Etag> (0x8D..., unquoted) is stored quoted, which
 * is what Get Blob's ETag header says and what Flux's revision ends up
 * holding.  (Flux 1.7 indexes the listing's value hex-encoded, so every
 * one of its reconciles sees a change and downloads everything; the
 * revision it then stores is the quoted one.  We get the same revision
 * without the needless downloads.)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "base/buf.h"
#include "base/str.h"
#include "base/time.h"
#include "kube/http.h"
#include "source/bucket.h"
#include "source/xml.h"
#include "base/banned.h"

#define MS_VERSION "2021-08-06"

struct az {
	char *container_url; /* "<scheme>://<host>[/<acct>]/<container>" */
	char *account;
	char *key;           /* decoded account key, or NULL */
	size_t key_len;
	char *sas;           /* "sv=...&sig=..." without "?", or NULL */
	char *prefix;
	unsigned page;
	int64_t now_s;
};

static void az_free(void *p)
{
	struct az *a = p;

	if (!a)
		return;
	free(a->container_url);
	free(a->account);
	if (a->key)
		explicit_bzero(a->key, a->key_len);
	free(a->key);
	free_secret(a->sas);
	free(a->prefix);
	free(a);
}

static bool is_ip_or_localhost(const char *h, size_t n)
{
	size_t i;

	if (n == 9 && memcmp(h, "localhost", 9) == 0)
		return true;
	if (n && h[0] == '[')
		return true;
	for (i = 0; i < n; i++)
		if (!((h[i] >= '0' && h[i] <= '9') || h[i] == '.'))
			return false;
	return n > 0;
}

static int az_init(const struct bucket_opts *o, void **ret, struct op_err *reterr)
{
	const char *e = o->endpoint ? o->endpoint : "", *host, *hend, *path;
	struct buf u = BUF_INIT(4096);
	size_t hostlen, i;
	struct az *a;
	char *account = NULL, *end;

	if (!str_startswith(e, "https://") && !str_startswith(e, "http://"))
		return op_err_set(reterr, -EINVAL, "invalid endpoint '%s': an Azure Blob endpoint is "
				  "the account's http(s):// URL", e);
	if (strpbrk(e, "?#"))
		return op_err_set(reterr, -EINVAL, "invalid endpoint '%s': a query or fragment is "
				  "not allowed (put a SAS token in the Secret's sasKey)", e);
	if (!o->bucket || !*o->bucket || strchr(o->bucket, '/'))
		return op_err_set(reterr, -EINVAL, "invalid container name '%s'",
				  o->bucket ? o->bucket : "");
	host = strstr(e, "://") + 3;
	path = strchr(host, '/');
	hend = path ? path : host + strlen(host);
	/* The host without its port: "[::1]:10000" -> "[::1]", "a.b:10" -> "a.b". */
	if (host[0] == '[') {
		const char *rb = memchr(host, ']', (size_t)(hend - host));

		hostlen = rb ? (size_t)(rb - host) + 1 : 0;
	} else {
		hostlen = strcspn(host, ":/");
	}
	if (!hostlen)
		return op_err_set(reterr, -EINVAL, "invalid endpoint '%s': no host", e);
	if (is_ip_or_localhost(host, hostlen)) {
		const char *p = path ? path + 1 : "";
		size_t n = strcspn(p, "/");

		if (!n)
			return op_err_set(reterr, -EINVAL, "failed to extract account name from endpoint "
					  "'%s': a path-style endpoint names the account first "
					  "(http://127.0.0.1:10000/<account>)", e);
		account = xstrndup(p, n);
	} else {
		size_t n = strcspn(host, ".");
		unsigned dots = 0;

		for (i = 0; i < hostlen; i++)
			dots += host[i] == '.';
		if (n >= hostlen || dots < 2)
			return op_err_set(reterr, -EINVAL, "failed to extract account name from endpoint: "
					  "expected '%.*s' to be a subdomain", (int)hostlen, host);
		account = xstrndup(host, n);
	}
	a = xcalloc(1, sizeof(*a));
	a->account = account;
	(void)buf_add(&u, e, strlen(e));
	while (u.len && u.buf[u.len - 1] == '/')
		buf_truncate(&u, u.len - 1);
	(void)buf_addch(&u, '/');
	(void)buf_add_uri_escaped(&u, o->bucket, false);
	a->container_url = buf_detach(&u, NULL);
	if (o->account_key) {
		if (b64_decode(o->account_key, &a->key, &a->key_len) < 0 || !a->key_len) {
			az_free(a);
			return op_err_set(reterr, -EINVAL, "invalid accountKey: not base64");
		}
	} else if (o->sas) {
		const char *s = o->sas[0] == '?' ? o->sas + 1 : o->sas;

		if (!*s || strpbrk(s, " \t\r\n#")) {
			az_free(a);
			return op_err_set(reterr, -EINVAL, "unable to parse SAS token");
		}
		a->sas = xstrdup(s);
		end = a->sas + strlen(a->sas);
		while (end > a->sas && end[-1] == '&')
			*--end = '\0';
	}
	a->prefix = o->prefix && *o->prefix ? xstrdup(o->prefix) : NULL;
	a->page = o->page_size;
	*ret = a;
	return 0;
}

void azblob__set_clock(void *st, int64_t unix_s)
{
	((struct az *)st)->now_s = unix_s;
}

/* ---- Shared Key ---- */

struct qparam {
	char *name, *value;
};

static int qparam_cmp(const void *a, const void *b)
{
	const struct qparam *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

char *azblob__string_to_sign(const char *account, const char *url, const char *const *headers)
{
	struct buf s = BUF_INIT(1u << 20);
	const char *host = strstr(url, "://"), *path, *q;
	struct qparam *ps = NULL;
	size_t n = 0, i, plen;

	host = host ? host + 3 : url;
	path = strchr(host, '/');
	if (!path)
		path = "";
	q = strchr(path, '?');
	plen = q ? (size_t)(q - path) : strlen(path);
	/* The verb, then eleven standard headers we never send. */
	(void)buf_adds(&s, "GET\n\n\n\n\n\n\n\n\n\n\n\n");
	for (; headers && *headers; headers++)
		(void)buf_addf(&s, "%s\n", *headers);
	(void)buf_addf(&s, "/%s%.*s", account, (int)plen, plen ? path : "/");
	if (q) {
		const char *p = q + 1;

		while (*p) {
			size_t len = strcspn(p, "&"), eq = strcspn(p, "=");
			char *name;

			if (eq > len)
				eq = len;
			ps = xrealloc(ps, (n + 1) * sizeof(*ps));
			name = bucket__uri_decode(p, eq, true);
			ps[n].name = name ? name : xstrndup(p, eq);
			for (i = 0; ps[n].name[i]; i++)
				if (ps[n].name[i] >= 'A' && ps[n].name[i] <= 'Z')
					ps[n].name[i] = (char)(ps[n].name[i] - 'A' + 'a');
			ps[n].value = eq < len ? bucket__uri_decode(p + eq + 1, len - eq - 1, true) : NULL;
			if (!ps[n].value)
				ps[n].value = xstrdup("");
			n++;
			p += len;
			if (*p == '&')
				p++;
		}
		qsort(ps, n, sizeof(*ps), qparam_cmp);
		for (i = 0; i < n; i++) {
			if (i && streq(ps[i].name, ps[i - 1].name))
				(void)buf_addf(&s, ",%s", ps[i].value);
			else
				(void)buf_addf(&s, "\n%s:%s", ps[i].name, ps[i].value);
		}
		for (i = 0; i < n; i++) {
			free(ps[i].name);
			free(ps[i].value);
		}
		free(ps);
	}
	return buf_detach(&s, NULL);
}

/* A GET of `url` (without SAS) with its headers and, with a key, its signature. */
static int make_req(struct az *a, char *url, struct bucket_req *ret)
{
	time_t now = a->now_s ? (time_t)a->now_s : time(NULL);
	char date[64];
	struct tm tm;
	size_t n = 0;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	memset(ret, 0, sizeof(*ret));
	if (a->sas) {
		ret->url = xasprintf("%s%c%s", url, strchr(url, '?') ? '&' : '?', a->sas);
		free(url);
	} else {
		ret->url = url;
	}
	ret->headers[n++] = xasprintf("x-ms-date: %s", date);
	ret->headers[n++] = xstrdup("x-ms-version: " MS_VERSION);
	if (a->key) {
		char *h_date = xasprintf("x-ms-date:%s", date);
		const char *hdrs[] = { h_date, "x-ms-version:" MS_VERSION, NULL };
		char *sts = azblob__string_to_sign(a->account, ret->url, hdrs), *sig = NULL;
		unsigned char mac[32];

		bucket__hmac(a->key, a->key_len, sts, strlen(sts), mac);
		sig = bucket__b64_encode(mac, sizeof(mac));
		ret->headers[n++] = xasprintf("Authorization: SharedKey %s:%s", a->account, sig);
		free(sig);
		free(sts);
		free(h_date);
	}
	return 0;
}

static int az_list_req(void *st, const char *marker, unsigned max, struct bucket_req *ret)
{
	struct az *a = st;
	struct buf u = BUF_INIT(64u << 10);
	unsigned page = max ? max : a->page;

	(void)buf_addf(&u, "%s?restype=container&comp=list", a->container_url);
	if (marker) {
		(void)buf_adds(&u, "&marker=");
		(void)buf_add_uri_escaped(&u, marker, false);
	}
	if (page)
		(void)buf_addf(&u, "&maxresults=%u", page);
	if (a->prefix) {
		(void)buf_adds(&u, "&prefix=");
		(void)buf_add_uri_escaped(&u, a->prefix, false);
	}
	return make_req(a, buf_detach(&u, NULL), ret);
}

static int az_get_req(void *st, const char *key, struct bucket_req *ret)
{
	struct az *a = st;
	struct buf u = BUF_INIT(16u << 10);

	(void)buf_addf(&u, "%s/", a->container_url);
	(void)buf_add_uri_escaped(&u, key, true);
	return make_req(a, buf_detach(&u, NULL), ret);
}

static char *az_get_etag(const struct http_resp *resp)
{
	return bucket__etag(resp, false);
}

/* ---- listing ---- */

struct page {
	char *name, *etag;
	char *next;
	bucket_add_fn add;
	void *payload;
	struct op_err *err;
};

static int on_list(const char *path, const char *text, size_t len, void *payload)
{
	struct page *pg = payload;
	int r;

	if (streq(path, "EnumerationResults/Blobs/Blob/Name")) {
		free(pg->name);
		pg->name = xstrndup(text, len);
	} else if (streq(path, "EnumerationResults/Blobs/Blob/Properties/Etag")) {
		free(pg->etag);
		if (len >= 2 && text[0] == '"' && text[len - 1] == '"')
			pg->etag = xstrndup(text, len);
		else
			pg->etag = xasprintf("\"%.*s\"", (int)len, text);
	} else if (streq(path, "EnumerationResults/Blobs/Blob")) {
		if (!pg->name)
			return op_err_set(pg->err, -EBADMSG, "listing entry without a Name");
		r = pg->add(pg->name, pg->etag ? pg->etag : "", pg->payload);
		free(pg->name);
		free(pg->etag);
		pg->name = pg->etag = NULL;
		return r;
	} else if (streq(path, "EnumerationResults/NextMarker")) {
		free(pg->next);
		pg->next = len ? xstrndup(text, len) : NULL;
	}
	return 0;
}

static int az_list_parse(void *st, const char *body, size_t len, bucket_add_fn add,
			 void *payload, char **ret_next, struct op_err *reterr)
{
	struct page pg = { .add = add, .payload = payload, .err = reterr };
	int r;

	(void)st;
	r = xml_walk(body, len, on_list, &pg, reterr);
	free(pg.name);
	free(pg.etag);
	if (r < 0) {
		free(pg.next);
		return r;
	}
	*ret_next = pg.next;
	return 0;
}

/* ---- errors ---- */

struct azerr {
	char code[64];
	char msg[160], detail[200];
};

static int on_err(const char *path, const char *text, size_t len, void *payload)
{
	struct azerr *e = payload;

	if (streq(path, "Error/Code"))
		snprintf(e->code, sizeof(e->code), "%.*s", (int)len, text);
	else if (streq(path, "Error/Message"))
		/* The first line: the rest is a request id and a time. */
		snprintf(e->msg, sizeof(e->msg), "%.*s", (int)strcspn(text, "\r\n"), text);
	else if (streq(path, "Error/AuthenticationErrorDetail"))
		snprintf(e->detail, sizeof(e->detail), "%.*s", (int)len, text);
	return 0;
}

/*
 * A refused SAS says only "failed to authenticate" (Azure and Azurite
 * alike): if the token's own expiry (se) is past, say so.
 */
static void sas_expiry(const struct az *a, char *out, size_t n)
{
	const char *p = strstr(a->sas, "se="), *end;
	char *se = NULL, *full;
	int64_t t;

	if (!p || (p != a->sas && p[-1] != '&'))
		return;
	end = p + 3 + strcspn(p + 3, "&");
	se = bucket__uri_decode(p + 3, (size_t)(end - p - 3), true);
	if (!se)
		return;
	full = strlen(se) == 10 ? xasprintf("%sT00:00:00Z", se) : xstrdup(se);
	if (time_parse_rfc3339(full, &t) == 0 &&
	    t / NSEC_PER_SEC < (a->now_s ? a->now_s : (int64_t)time(NULL)))
		snprintf(out, n, "the SAS token expired at %s", se);
	free(full);
	free(se);
}

static int az_error(void *st, const struct http_resp *resp, const char *what, bool *ret_no_bucket,
		    struct op_err *reterr)
{
	struct az *a = st;
	struct azerr e;
	struct op_err ignored;
	const char *v;
	size_t n;
	int code;

	memset(&e, 0, sizeof(e));
	if (resp->body_len)
		(void)xml_walk(resp->body, resp->body_len, on_err, &e, &ignored);
	if (!e.code[0] && http_resp_header(resp, "x-ms-error-code", &v, &n) == 0)
		snprintf(e.code, sizeof(e.code), "%.*s", (int)n, v);
	*ret_no_bucket = streq(e.code, "ContainerNotFound");
	if (*ret_no_bucket || streq(e.code, "BlobNotFound") || (resp->status == 404 && !e.code[0]))
		code = -ENOENT;
	else if (resp->status == 401 || resp->status == 403)
		code = -EACCES;
	else if (resp->status == 429 || resp->status == 503)
		code = -EBUSY;
	else if (resp->status >= 500)
		code = -EIO;
	else
		code = -EINVAL;
	if (code == -EACCES && a && a->sas && !e.detail[0])
		sas_expiry(a, e.detail, sizeof(e.detail));
	if (e.code[0] && e.detail[0])
		return op_err_set(reterr, code, "%s: %s: %s (%s)", what, e.code,
				  e.msg[0] ? e.msg : "request refused", e.detail);
	if (e.code[0])
		return op_err_set(reterr, code, "%s: %s%s%s", what, e.code, e.msg[0] ? ": " : "",
				  e.msg);
	return op_err_set(reterr, code, "%s: HTTP status %ld", what, resp->status);
}

const struct bucket_provider_ops bucket_azure_ops = {
	.init = az_init,
	.free = az_free,
	.list_req = az_list_req,
	.list_parse = az_list_parse,
	.get_req = az_get_req,
	.get_etag = az_get_etag,
	.error = az_error,
};
