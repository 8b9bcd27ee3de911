/*
 * secrets.c: Flux's Secret conventions for sources (see secrets.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "base/str.h"
#include "secrets.h"
#include "yj/yj.h"
#include "base/banned.h"

char *secret_value(const cJSON *secret, const char *key)
{
	const cJSON *data = yj_get(secret, "/data");
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(data, key));
	char *out = NULL;
	size_t n;

	if (!v || b64_decode(v, &out, &n) < 0)
		return NULL;
	return out;
}

static char *value_or(const cJSON *secret, const char *key, const char *legacy)
{
	char *v = secret_value(secret, key);

	return v ? v : secret_value(secret, legacy);
}

int secret_tls_read(const cJSON *secret, const char *ns, const char *name, struct secret_tls *ret,
		    char *msg, size_t n)
{
	struct secret_tls t = { 0 };

	t.ca = value_or(secret, "ca.crt", "caFile");
	t.cert = value_or(secret, "tls.crt", "certFile");
	t.key = value_or(secret, "tls.key", "keyFile");
	if (!t.cert != !t.key) {
		snprintf(msg, n, "secret '%s/%s': a client certificate needs both tls.crt and "
			 "tls.key", ns, name);
		secret_tls_release(&t);
		return -EINVAL;
	}
	*ret = t;
	return 0;
}

void secret_tls_release(struct secret_tls *t)
{
	free(t->ca);
	free(t->cert);
	free_secret(t->key);
	memset(t, 0, sizeof(*t));
}

int secret_proxy_read(int r, const cJSON *secret, const struct op_err *err, const char *ns,
		      const char *name, char **ret_url, char **ret_user, char **ret_pass, char *msg,
		      size_t n)
{
	char *url;

	if (r == -ENOENT) {
		snprintf(msg, n, "failed to configure proxy options: secret '%s/%s' not found", ns,
			 name);
		return -ENOENT;
	}
	if (r < 0) {
		snprintf(msg, n, "failed to configure proxy options: failed to get secret '%s/%s': "
			 "%s", ns, name, err && err->msg[0] ? err->msg : op_strerror(r));
		return r;
	}
	url = secret_value(secret, "address");
	if (!url) {
		snprintf(msg, n, "failed to configure proxy options: secret '%s/%s': key 'address' "
			 "not found", ns, name);
		return -EINVAL;
	}
	if (!*url) {
		snprintf(msg, n, "failed to configure proxy options: secret '%s/%s': proxy address "
			 "is empty", ns, name);
		free(url);
		return -EINVAL;
	}
	if (str_startswith(url, "socks5://") || str_startswith(url, "https://")) {
		snprintf(msg, n, "failed to configure proxy options: secret '%s/%s': %.*s proxies "
			 "are not supported by cflux; use an http:// proxy", ns, name,
			 (int)strcspn(url, ":"), url);
		free(url);
		return -EINVAL;
	}
	if (!str_startswith(url, "http://")) {
		snprintf(msg, n, "failed to configure proxy options: secret '%s/%s': proxy URL must "
			 "use one of the supported schemes (http, https, socks5)", ns, name);
		free(url);
		return -EINVAL;
	}
	*ret_url = url;
	*ret_user = secret_value(secret, "username");
	*ret_pass = secret_value(secret, "password");
	return 0;
}

size_t secret_cosign_keys(const cJSON *secret, char ***ret)
{
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(secret, "data"), *it;
	char **keys = xcalloc((size_t)cJSON_GetArraySize(data) + 1, sizeof(*keys));
	size_t n = 0;

	cJSON_ArrayForEach(it, data)
		if (str_endswith(it->string, ".pub")) {
			char *v = secret_value(secret, it->string);

			if (v)
				keys[n++] = v;
		}
	if (!n) {
		free(keys);
		keys = NULL;
	}
	*ret = keys;
	return n;
}
