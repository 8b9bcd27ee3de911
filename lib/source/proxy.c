/*
 * proxy.c: which proxy a source's connection goes through (see
 * transport.h).
 *
 * DESIGN
 * Flux's rule for Git: the proxy a source names (proxySecretRef's
 * address, username, password), else the environment's $HTTPS_PROXY (for
 * https://) or $HTTP_PROXY (for http://), lower-case spellings too, unless
 * $NO_PROXY exempts the host.  Only http:// proxies are reached (with
 * CONNECT, by stream.c); credentials in the proxy URL's userinfo count
 * like given ones.  The credentials leave here base64-encoded for the
 * Proxy-Authorization header and are wiped from every scratch buffer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "base/macro.h"
#include "base/str.h"
#include "source/transport.h"
#include "base/banned.h"

bool src_no_proxy(const char *host)
{
	const char *np = getenv("NO_PROXY"), *p;
	size_t hl = strlen(host);

	if (!np)
		np = getenv("no_proxy");
	for (p = np; p && *p;) {
		size_t n = strcspn(p, ","), k;
		const char *e = p;

		while (n && (*e == ' ' || *e == '.')) {
			e++;
			n--;
		}
		k = n;
		while (k && e[k - 1] == ' ')
			k--;
		if ((k == 1 && *e == '*') ||
		    (k && k <= hl && !strncasecmp(host + hl - k, e, k) &&
		     (k == hl || host[hl - k - 1] == '.')))
			return true;
		p = e + n + (e[n] == ',');
	}
	return false;
}

int src_proxy_for(const struct src_proxy_opts *o, const char *host, struct src_proxy *p,
		  struct op_err *reterr)
{
	bool https = str_startswith(o->url, "https://");
	const char *u = o->proxy_url, *h, *end, *at, *hp, *colon;
	char cred[512];

	memset(p, 0, sizeof(*p));
	if (!https && !str_startswith(o->url, "http://"))
		return 0;
	if (!u) {
		u = getenv(https ? "HTTPS_PROXY" : "HTTP_PROXY");
		if (!u)
			u = getenv(https ? "https_proxy" : "http_proxy");
		if (!u || !*u || src_no_proxy(host))
			return 0;
	}
	if (str_startswith(u, "http://"))
		h = u + strlen("http://");
	else if (!strstr(u, "://"))
		h = u;
	else
		return op_err_set(reterr, -EINVAL, "the proxy must be an http:// proxy, not %.*s://",
				  (int)MIN(strcspn(u, ":"), (size_t)16), u);
	end = h + strcspn(h, "/");
	at = memrchr(h, '@', (size_t)(end - h));
	hp = at ? at + 1 : h;
	if (*hp == '[') {
		const char *rb = memchr(hp, ']', (size_t)(end - hp));

		if (!rb)
			return op_err_set(reterr, -EINVAL, "the proxy address is not a valid URL");
		snprintf(p->host, sizeof(p->host), "%.*s", (int)(rb - hp - 1), hp + 1);
		colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
	} else {
		colon = memchr(hp, ':', (size_t)(end - hp));
		snprintf(p->host, sizeof(p->host), "%.*s", (int)((colon ? colon : end) - hp), hp);
	}
	snprintf(p->port, sizeof(p->port), "%.*s",
		 colon ? (int)MIN((size_t)(end - colon - 1), sizeof(p->port) - 1) : 2,
		 colon ? colon + 1 : "80");
	if (!p->host[0] || !p->port[0])
		return op_err_set(reterr, -EINVAL, "the proxy address is not a valid URL");
	if (o->username)
		snprintf(cred, sizeof(cred), "%s:%s", o->username, o->password ? o->password : "");
	else if (at)
		snprintf(cred, sizeof(cred), "%.*s", (int)(at - h), h);
	else
		cred[0] = '\0';
	if (cred[0]) {
		char *enc = b64_encode(cred, strlen(cred));

		if (strlen(enc) < sizeof(p->auth))
			memcpy(p->auth, enc, strlen(enc) + 1);
		explicit_bzero(enc, strlen(enc));
		free(enc);
	}
	explicit_bzero(cred, sizeof(cred));
	return 1;
}
