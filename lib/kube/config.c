/*
 * config.c: kubeconfig and in-cluster configuration (see config.h).
 *
 * DESIGN
 * The kubeconfig is read whole (capped at 4 MiB), decoded with lib/yj into
 * cJSON, and the current (or named) context resolved to its cluster and
 * user entries.  Relative file paths in the kubeconfig are relative to the
 * file itself, as kubectl resolves them.  Inline `*-data` fields are
 * base64-decoded into memory; file fields are read into memory too, so
 * TLS material is handed to libcurl as blobs and nothing secret is ever
 * written anywhere.  Errors name the file and the field.
 *
 * Not supported (refused with a clear error rather than ignored): exec
 * credential plugins and auth-provider plugins.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "base/buf.h"
#include "base/str.h"
#include "kube/config.h"
#include "yj/yj.h"
#include "base/banned.h"

#define KUBECONFIG_MAX (4u << 20)
#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

struct kube_config *kube_config_free(struct kube_config *c)
{
	if (!c)
		return NULL;
	free(c->server);
	free(c->ca_pem);
	free(c->cert_pem);
	free_secret(c->key_pem);
	free_secret(c->token);
	free(c->token_file);
	free(c->username);
	free_secret(c->password);
	free(c->ns);
	free(c->impersonate);
	free(c);
	return NULL;
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

struct kube_config *kube_config_dup(const struct kube_config *c)
{
	struct kube_config *d = xcalloc(1, sizeof(*d));

	d->server = dup_or_null(c->server);
	d->ca_pem = dup_or_null(c->ca_pem);
	d->cert_pem = dup_or_null(c->cert_pem);
	d->key_pem = dup_or_null(c->key_pem);
	d->token = dup_or_null(c->token);
	d->token_file = dup_or_null(c->token_file);
	d->username = dup_or_null(c->username);
	d->password = dup_or_null(c->password);
	d->insecure = c->insecure;
	d->ns = dup_or_null(c->ns);
	d->impersonate = dup_or_null(c->impersonate);
	return d;
}

/* Read a whole small file into a NUL-terminated string. */
static int read_file(const char *path, size_t max, char **ret, size_t *ret_len,
		     struct op_err *err)
{
	struct buf b = BUF_INIT(max);
	char chunk[8192];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return op_err_set(err, -errno, "cannot open '%s': %s", path, op_strerror(errno));
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			op_err_set(err, -errno, "cannot read '%s': %s", path, op_strerror(errno));
			goto fail;
		}
		if (buf_add(&b, chunk, (size_t)n) < 0) {
			op_err_set(err, -EFBIG, "'%s' is larger than %zu bytes", path, max);
			goto fail;
		}
	}
	close(fd);
	explicit_bzero(chunk, sizeof(chunk));
	*ret = buf_detach(&b, ret_len);
	return 0;
fail:
	close(fd);
	explicit_bzero(chunk, sizeof(chunk));
	if (b.alloc)
		explicit_bzero(b.buf, b.len);
	buf_release(&b);
	return err ? err->code : -EIO;
}

static const char *get_str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Find the entry named `name` in a kubeconfig list ("clusters", ...). */
static const cJSON *find_named(const cJSON *root, const char *list, const char *name,
			       const char *field)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(root, list))
	{
		const char *n = get_str(e, "name");

		if (n && streq(n, name))
			return cJSON_GetObjectItemCaseSensitive(e, field);
	}
	return NULL;
}

/* A PEM from `<key>-data` (base64) or `<key>` (a file path). */
static int load_pem(const cJSON *obj, const char *key, const char *dir, const char *cfgpath,
		    char **ret, struct op_err *err)
{
	char datakey[64];
	const char *data, *file;

	snprintf(datakey, sizeof(datakey), "%s-data", key);
	data = get_str(obj, datakey);
	file = get_str(obj, key);
	if (data && *data) {
		if (b64_decode(data, ret, NULL) < 0)
			return op_err_set(err, -EINVAL, "'%s': field '%s' is not valid base64",
					  cfgpath, datakey);
		return 1;
	}
	if (file && *file && !dir)
		return op_err_set(err, -EPERM,
				  "kubeconfig '%s': field '%s' names a file, which is not read from this "
				  "kubeconfig; use '%s' with the content",
				  cfgpath, key, datakey);
	if (file && *file) {
		_cleanup_free_ char *path = file[0] == '/' ? xstrdup(file) :
							     xasprintf("%s/%s", dir, file);
		int r = read_file(path, 1u << 20, ret, NULL, err);

		if (r < 0)
			return op_err_prefix(err, "'%s': field '%s'", cfgpath, key);
		return 1;
	}
	return 0;
}

/*
 * `path` names the kubeconfig in messages; `inline_only`: it came from
 * elsewhere than a file (a Secret), so nothing in it may make us read a
 * file or act as someone else (see kube_config_parse()).
 */
static int from_kubeconfig(const char *path, const char *text, size_t len, const char *context,
			   bool inline_only, struct kube_config **ret, struct op_err *err)
{
	_cleanup_free_ char *dir = NULL;
	const cJSON *ctx, *cluster, *user;
	struct kube_config *c = NULL;
	cJSON *root = NULL;
	const char *ctxname, *cname, *uname, *s;
	char *slash;
	int r;

	r = yj_parse_one(text, len, &root, err);
	if (r < 0)
		return op_err_prefix(err, "kubeconfig '%s'", path);
	dir = xstrdup(path);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
	} else {
		free(dir);
		dir = xstrdup(".");
	}
	if (inline_only) {
		free(dir);
		dir = NULL; /* load_pem() refuses file fields */
	}
	ctxname = context ? context : get_str(root, "current-context");
	if (!ctxname || !*ctxname) {
		r = op_err_set(err, -EINVAL, "kubeconfig '%s': no current-context", path);
		goto out;
	}
	ctx = find_named(root, "contexts", ctxname, "context");
	if (!ctx) {
		r = op_err_set(err, -ENOENT, "kubeconfig '%s': context '%s' not found", path,
			       ctxname);
		goto out;
	}
	cname = get_str(ctx, "cluster");
	uname = get_str(ctx, "user");
	cluster = cname ? find_named(root, "clusters", cname, "cluster") : NULL;
	if (!cluster) {
		r = op_err_set(err, -ENOENT, "kubeconfig '%s': cluster '%s' not found", path,
			       cname ? cname : "");
		goto out;
	}
	user = uname ? find_named(root, "users", uname, "user") : NULL;
	c = xcalloc(1, sizeof(*c));
	s = get_str(cluster, "server");
	if (!s || !*s) {
		r = op_err_set(err, -EINVAL, "kubeconfig '%s': cluster '%s' has no server", path,
			       cname);
		goto out;
	}
	c->server = xstrdup(s);
	while (str_endswith(c->server, "/") && strlen(c->server) > 1)
		c->server[strlen(c->server) - 1] = '\0';
	c->insecure = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cluster,
								    "insecure-skip-tls-verify"));
	r = load_pem(cluster, "certificate-authority", dir, path, &c->ca_pem, err);
	if (r < 0)
		goto out;
	c->ns = xstrdup(get_str(ctx, "namespace") ? get_str(ctx, "namespace") : "default");
	if (user) {
		if (cJSON_GetObjectItemCaseSensitive(user, "exec") ||
		    cJSON_GetObjectItemCaseSensitive(user, "auth-provider")) {
			r = op_err_set(err, -ENOTSUP,
				       "kubeconfig '%s': user '%s' uses a credential plugin, which "
				       "cflux does not run; use a token, token file or client "
				       "certificate",
				       path, uname);
			goto out;
		}
		r = load_pem(user, "client-certificate", dir, path, &c->cert_pem, err);
		if (r < 0)
			goto out;
		r = load_pem(user, "client-key", dir, path, &c->key_pem, err);
		if (r < 0)
			goto out;
		if (get_str(user, "token"))
			c->token = xstrdup(get_str(user, "token"));
		if (inline_only && (get_str(user, "tokenFile") || get_str(user, "as") ||
				    cJSON_GetObjectItemCaseSensitive(user, "as-groups"))) {
			r = op_err_set(err, -EPERM,
				       "kubeconfig '%s': user '%s' has '%s', which this kubeconfig may not use%s",
				       path, uname, get_str(user, "tokenFile") ? "tokenFile" : "as",
				       get_str(user, "tokenFile") ?
					       ": use 'token' with the content" :
					       ": impersonation comes from serviceAccountName");
			goto out;
		}
		if (get_str(user, "tokenFile")) {
			s = get_str(user, "tokenFile");
			c->token_file = s[0] == '/' ? xstrdup(s) : xasprintf("%s/%s", dir, s);
		}
		c->username = dup_or_null(get_str(user, "username"));
		c->password = dup_or_null(get_str(user, "password"));
		c->impersonate = dup_or_null(get_str(user, "as"));
	}
	*ret = TAKE_PTR(c);
	r = 0;
out:
	kube_config_free(c);
	cJSON_Delete(root);
	return r;
}

int kube_config_in_cluster(const char *root, struct kube_config **ret, struct op_err *err)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
	_cleanup_free_ char *tok = NULL, *ca = NULL, *ns = NULL, *nsfile = NULL;
	struct kube_config *c;
	int r;

	if (!host || !*host || !port || !*port)
		return op_err_set(err, -ENOENT, "not running in a cluster: "
				  "KUBERNETES_SERVICE_HOST/PORT are not set");
	tok = xasprintf("%s%s/token", root ? root : "", SA_DIR);
	ca = xasprintf("%s%s/ca.crt", root ? root : "", SA_DIR);
	nsfile = xasprintf("%s%s/namespace", root ? root : "", SA_DIR);
	c = xcalloc(1, sizeof(*c));
	/* An IPv6 host needs brackets in a URL. */
	c->server = strchr(host, ':') ? xasprintf("https://[%s]:%s", host, port) :
					xasprintf("https://%s:%s", host, port);
	r = read_file(ca, 1u << 20, &c->ca_pem, NULL, err);
	if (r < 0) {
		kube_config_free(c);
		return op_err_prefix(err, "in-cluster configuration");
	}
	if (access(tok, R_OK) < 0) {
		kube_config_free(c);
		return op_err_set(err, -ENOENT, "in-cluster configuration: no token at '%s'", tok);
	}
	c->token_file = TAKE_PTR(tok);
	if (read_file(nsfile, 4096, &ns, NULL, NULL) == 0) {
		ns[strcspn(ns, "\r\n ")] = '\0';
		c->ns = TAKE_PTR(ns);
	} else {
		c->ns = xstrdup("default");
	}
	*ret = c;
	return 0;
}

int kube_config_load(const char *path, const char *context, struct kube_config **ret,
		     struct op_err *err)
{
	_cleanup_free_ char *text = NULL, *home_cfg = NULL, *list = NULL;
	const char *env = getenv("KUBECONFIG");
	size_t len;
	int r;

	if (!path && env && *env) {
		/* KUBECONFIG is a list: take the first file that exists. */
		char *p, *save;

		list = xstrdup(env);
		for (p = list; p && *p; p = save) {
			save = strchr(p, ':');
			if (save)
				*save++ = '\0';
			if (*p && access(p, R_OK) == 0) {
				path = p;
				break;
			}
		}
		if (!path)
			return op_err_set(err, -ENOENT, "no readable file in KUBECONFIG '%s'", env);
	}
	if (!path && getenv("KUBERNETES_SERVICE_HOST"))
		return kube_config_in_cluster("", ret, err);
	if (!path) {
		const char *home = getenv("HOME");

		home_cfg = xasprintf("%s/.kube/config", home ? home : "");
		path = home_cfg;
	}
	r = read_file(path, KUBECONFIG_MAX, &text, &len, err);
	if (r < 0)
		return r;
	r = from_kubeconfig(path, text, len, context, false, ret, err);
	explicit_bzero(text, len);
	return r;
}

int kube_config_parse(const char *name, const char *text, size_t len, struct kube_config **ret,
		      struct op_err *err)
{
	if (len > KUBECONFIG_MAX)
		return op_err_set(err, -EFBIG, "kubeconfig '%s' is larger than %u bytes", name,
				  KUBECONFIG_MAX);
	return from_kubeconfig(name, text, len, NULL, true, ret, err);
}
