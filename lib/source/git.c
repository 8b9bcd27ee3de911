/*
 * git.c: the only file that includes <git2.h> (see git.h).
 *
 * DESIGN
 * libgit2 is initialised once per process (pthread_once) with its global
 * network timeouts; everything else is per call: one git_repository per
 * fetch on the worker thread, errors read from git_error_last() on that
 * same thread and copied into struct op_err with URL userinfo removed.
 *
 * The callbacks share a struct ctx: credentials are offered once per kind
 * and connection (a second request on the same connection means the first
 * was refused, and retrying forever is what hangs other Git clients), and
 * the transfer-progress callback enforces the overall deadline (monotonic)
 * and the size bound.
 *
 * The connections are ours (transport.h), adapted here to libgit2's
 * interfaces: HTTP(S) and git:// run over our streams (registered for
 * GIT_STREAM_TLS and GIT_STREAM_STANDARD), SSH over the OpenSSH client as a
 * smart subtransport.  libgit2 itself never opens a socket, so it never
 * writes to one without MSG_NOSIGNAL.
 *
 * Checkout is two steps: check_tree() walks the commit's tree first,
 * reading only object headers, and refuses what the limits or the path
 * rules forbid; then libgit2 writes the tree (or the sparse directories)
 * into the target directory.  Submodules recurse through fetch_tree() with
 * a child ctx that shares the deadline, the error and the tally.
 */
#include <git2.h>
#include <git2/sys/errors.h>
#include <git2/sys/stream.h>
#include <git2/sys/transport.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/path.h"
#include "base/semver.h"
#include "base/str.h"
#include "source/git.h"
#include "source/transport.h"
#include "base/banned.h"

static pthread_once_t git_once = PTHREAD_ONCE_INIT;

static int tls_init(git_stream **out, const char *host, const char *port);
static int plain_init(git_stream **out, const char *host, const char *port);

static void git_init(void)
{
	git_libgit2_init();
	git_libgit2_opts(GIT_OPT_SET_SERVER_CONNECT_TIMEOUT, 10000);
	git_libgit2_opts(GIT_OPT_SET_SERVER_TIMEOUT, 30000);
	{
		git_stream_registration tls = { .version = GIT_STREAM_VERSION, .init = tls_init };
		git_stream_registration plain = { .version = GIT_STREAM_VERSION,
						   .init = plain_init };

		git_stream_register(GIT_STREAM_TLS, &tls);
		git_stream_register(GIT_STREAM_STANDARD, &plain);
	}
}

/* What has been checked out so far, across submodules. */
struct tally {
	uint64_t entries, bytes;
};

#define MAX_DEPTH 256     /* directory nesting in a tree */
#define MAX_SUBMODULES 8  /* submodule nesting */

struct ctx {
	const struct src_git_opts *o;
	const struct artifact_limits *lim;
	struct tally *tally;
	int level;       /* submodule nesting: 0 for the repository itself */
	bool by_commit;  /* a submodule: fetch the commit, whatever ref holds it */
	bool too_big;
	char host_port[300]; /* "[host]:port" or "host", for known_hosts */
	int tried_userpass;
	uint64_t deadline_ms; /* src_now_ms() based */
	bool timed_out, cancelled;
	struct op_err *err;
	bool err_set, err_what;
	git_strarray headers; /* extra HTTP headers: the bearer token */
	char *header;
};

static int fail(struct ctx *c, int code, const char *fmt, ...) _printf_(3, 4);

static int fail(struct ctx *c, int code, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	op_err_set(c->err, code, "%s", msg);
	c->err_set = true;
	return code;
}

/* Copy libgit2's error for `rc` into reterr (unless a callback already said why). */
static int git_fail(struct ctx *c, int rc, const char *what)
{
	const git_error *e = git_error_last();
	struct buf clean = BUF_INIT(1024);
	int code;

	if (c->err_set) {
		/* Said by a callback or our streams: add what was being done, once. */
		if (!c->err_what) {
			op_err_prefix(c->err, "%s", what);
			c->err_what = true;
		}
		return c->err->code;
	}
	if (c->cancelled)
		return fail(c, -ECANCELED, "%s: cancelled", what);
	if (c->timed_out)
		return fail(c, -ETIMEDOUT, "%s: timed out after %us", what,
			    c->o->timeout_s ? c->o->timeout_s : 60);
	if (c->too_big)
		return fail(c, -EFBIG, "%s: the download is over the limit of %llu bytes", what,
			    (unsigned long long)c->lim->max_total_bytes);
	switch (rc) {
	case GIT_ENOTFOUND:
		code = -ENOENT;
		break;
	case GIT_EAUTH:
		code = -EACCES;
		break;
	case GIT_ECERTIFICATE:
		code = -EPROTO;
		break;
	case GIT_TIMEOUT:
		code = -ETIMEDOUT;
		break;
	default:
		code = -EIO;
	}
	log_redact_urls(&clean, e && e->message ? e->message : "unknown error");
	fail(c, code, "%s: %s", what, clean.buf);
	buf_release(&clean);
	return code;
}

static int credentials(git_credential **out, const char *url, const char *user_from_url,
		       unsigned int allowed, void *payload)
{
	struct ctx *c = payload;
	const char *user = c->o->username ? c->o->username : user_from_url ? user_from_url : "git";

	if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && c->o->username && c->o->password) {
		if (c->tried_userpass++)
			return fail(c, -EACCES, "authentication failed for user '%s'", user);
		return git_credential_userpass_plaintext_new(out, user, c->o->password);
	}
	if (allowed & GIT_CREDENTIAL_USERNAME)
		return git_credential_username_new(out, user);
	return fail(c, -EACCES, "authentication required but no credentials are configured");
}

/*
 * TLS: our stream (below) has verified the chain against the custom CA, or
 * the system's store without one, and the host name or IP; here the
 * verdict becomes a message.
 */
static int check_tls(struct ctx *c, int valid, const char *host)
{
	if (valid)
		return 0;
	if (c->o->ca_pem)
		fail(c, -EPROTO, "tls: the certificate of '%s' is not signed by the given "
		     "certificate authority or does not name the host", host);
	else
		fail(c, -EPROTO, "tls: the certificate of '%s' is not trusted (no custom CA given)",
		     host);
	return GIT_ECERTIFICATE;
}

/* ---- libgit2's streams over ours (transport.h) ----
 *
 * HTTP(S) and git:// connections: libgit2 calls us with the host and
 * port only, so the fetch running on this thread is found in `cur` (each
 * fetch runs on one worker thread from start to end).  A stream's error
 * goes to libgit2 and, unless one is already set or the deadline passed
 * (then git_fail() says "timed out"), to the fetch's error.
 */
static __thread struct ctx *cur;

struct git_src_stream {
	git_stream parent;
	struct ctx *c;
	char *host, *port;
	bool tls;
	struct src_stream *s;
	git_cert_x509 cert;
};

static bool deadline_passed(const struct ctx *c)
{
	return c && src_now_ms() >= c->deadline_ms;
}

static int stream_fail(struct git_src_stream *t, bool timed_out, const struct op_err *e)
{
	git_error_set_str(GIT_ERROR_NET, e->msg);
	if (t->c && e->code == -ECANCELED)
		t->c->cancelled = true;
	else if (t->c && timed_out)
		t->c->timed_out = true;
	else if (t->c && !t->c->err_set && !t->c->timed_out)
		fail(t->c, e->code, "%s", e->msg);
	return -1;
}

static int gs_connect(git_stream *stream)
{
	struct git_src_stream *t = (struct git_src_stream *)stream;
	const struct src_git_opts *o = t->c ? t->c->o : NULL;
	struct src_stream_opts so = { .tls = t->tls };
	struct op_err e = OP_ERR_INIT;
	struct src_proxy px;
	const unsigned char *der;
	size_t n = 0;
	int r;

	if (o) {
		struct src_proxy_opts po = { .url = o->url, .proxy_url = o->proxy_url,
					     .username = o->proxy_username,
					     .password = o->proxy_password };

		so.ca_pem = o->ca_pem;
		so.cert_pem = o->cert_pem;
		so.key_pem = o->key_pem;
		so.deadline_ms = t->c->deadline_ms;
		so.cancel = o->cancel;
		r = src_proxy_for(&po, t->host, &px, &e);
		if (r < 0)
			return stream_fail(t, false, &e);
		if (r > 0)
			so.proxy = &px;
	}
	r = src_stream_connect(&so, t->host, t->port, &t->s, &e);
	explicit_bzero(&px, sizeof(px));
	if (r < 0)
		return stream_fail(t, r == -ETIMEDOUT && deadline_passed(t->c), &e);
	if (!t->tls)
		return 0;
	der = src_stream_peer_cert(t->s, &n);
	t->cert.parent.cert_type = GIT_CERT_X509;
	t->cert.data = (void *)der;
	t->cert.len = n;
	if (!src_stream_verified(t->s)) {
		git_error_set_str(GIT_ERROR_SSL, "the server's certificate is not valid");
		return GIT_ECERTIFICATE;
	}
	return 0;
}

static int gs_certificate(git_cert **out, git_stream *stream)
{
	struct git_src_stream *t = (struct git_src_stream *)stream;

	*out = &t->cert.parent;
	return 0;
}

static ssize_t gs_read(git_stream *stream, void *buf, size_t len)
{
	struct git_src_stream *t = (struct git_src_stream *)stream;
	struct op_err e = OP_ERR_INIT;
	ssize_t n = src_stream_read(t->s, buf, len, &e);

	return n < 0 ? stream_fail(t, src_stream_timed_out(t->s), &e) : n;
}

static ssize_t gs_write(git_stream *stream, const char *buf, size_t len, int flags)
{
	struct git_src_stream *t = (struct git_src_stream *)stream;
	struct op_err e = OP_ERR_INIT;
	ssize_t n = src_stream_write(t->s, buf, len, &e);

	(void)flags;
	return n < 0 ? stream_fail(t, src_stream_timed_out(t->s), &e) : n;
}

static int gs_close(git_stream *stream)
{
	struct git_src_stream *t = (struct git_src_stream *)stream;

	src_stream_free(t->s);
	t->s = NULL;
	return 0;
}

static void gs_free(git_stream *stream)
{
	struct git_src_stream *t = (struct git_src_stream *)stream;

	gs_close(stream);
	free(t->host);
	free(t->port);
	free(t);
}

static int gs_new(git_stream **out, const char *host, const char *port, bool tls)
{
	struct git_src_stream *t = xcalloc(1, sizeof(*t));

	t->parent.version = GIT_STREAM_VERSION;
	t->parent.encrypted = tls;
	t->parent.connect = gs_connect;
	t->parent.certificate = tls ? gs_certificate : NULL;
	t->parent.read = gs_read;
	t->parent.write = gs_write;
	t->parent.close = gs_close;
	t->parent.free = gs_free;
	t->c = cur;
	t->tls = tls;
	t->host = xstrdup(host);
	t->port = xstrdup(port && *port ? port : tls ? "443" : "80");
	*out = &t->parent;
	return 0;
}

static int tls_init(git_stream **out, const char *host, const char *port)
{
	return gs_new(out, host, port, true);
}

static int plain_init(git_stream **out, const char *host, const char *port)
{
	return gs_new(out, host, port, false);
}

static int check_cert(git_cert *cert, int valid, const char *host, void *payload)
{
	if (cert->cert_type == GIT_CERT_X509)
		return check_tls(payload, valid, host);
	return GIT_PASSTHROUGH;
}

static int progress(const git_indexer_progress *stats, void *payload)
{
	struct ctx *c = payload;

	if (src_cancelled(c->o->cancel)) {
		c->cancelled = true;
		return -1;
	}
	if (src_now_ms() > c->deadline_ms) {
		c->timed_out = true;
		return -1;
	}
	if (stats->received_bytes > c->lim->max_total_bytes) {
		c->too_big = true;
		return -1;
	}
	return 0;
}

void src_git_host_port(const char *url, char *out, size_t n)
{
	const char *h = strstr(url, "://"), *end, *at, *colon;
	char host[256];
	int port = 0;

	if (!h) {
		/* scp-like "git@host:path" */
		at = strchr(url, '@');
		h = at ? at + 1 : url;
		end = strchr(h, ':');
		snprintf(out, n, "%.*s",
			 (int)(end ? end - h : (long)strlen(h)), h);
		return;
	}
	h += 3;
	end = h + strcspn(h, "/");
	at = memchr(h, '@', (size_t)(end - h));
	if (at)
		h = at + 1;
	colon = memchr(h, ':', (size_t)(end - h));
	snprintf(host, sizeof(host), "%.*s", (int)((colon ? colon : end) - h), h);
	if (colon) {
		char num[16];

		snprintf(num, sizeof(num), "%.*s", (int)MIN((size_t)(end - colon - 1), sizeof(num) - 1),
			 colon + 1);
		if (parse_int(num, &port) < 0)
			port = 0;
	}
	if (port && port != 22)
		snprintf(out, n, "[%s]:%d", host, port);
	else
		snprintf(out, n, "%s", host);
}

/* ---- SSH: the OpenSSH client (transport.h) as libgit2's subtransport ---- */

struct ssh_sub {
	git_smart_subtransport parent;
	git_smart_subtransport_stream stream; /* one connection: LS, then the pack */
	struct ctx *c;
	struct src_ssh *s;
};

/* The connection failed: the fetch's error (once) and libgit2's. */
static int ssh_fail(struct ssh_sub *t, const struct op_err *e)
{
	struct ctx *c = t->c;

	if (e->code == -ECANCELED) {
		c->cancelled = true;
		git_error_set_str(GIT_ERROR_SSH, "cancelled");
		return -1;
	}
	if (t->s && src_ssh_timed_out(t->s)) {
		c->timed_out = true;
		git_error_set_str(GIT_ERROR_SSH, "timed out");
		return -1;
	}
	if (!c->err_set)
		fail(c, e->code, "%s", e->msg);
	git_error_set_str(GIT_ERROR_SSH, c->err->msg);
	return -1;
}

static int ssh_read(git_smart_subtransport_stream *stream, char *buf, size_t len,
		    size_t *ret)
{
	struct ssh_sub *t = container_of(stream, struct ssh_sub, stream);
	struct op_err e = OP_ERR_INIT;

	return src_ssh_read(t->s, buf, len, ret, &e) < 0 ? ssh_fail(t, &e) : 0;
}

static int ssh_write(git_smart_subtransport_stream *stream, const char *buf, size_t len)
{
	struct ssh_sub *t = container_of(stream, struct ssh_sub, stream);
	struct op_err e = OP_ERR_INIT;

	return src_ssh_write(t->s, buf, len, &e) < 0 ? ssh_fail(t, &e) : 0;
}

static void ssh_stream_free(git_smart_subtransport_stream *stream)
{
	(void)stream; /* part of the subtransport */
}

static int ssh_action(git_smart_subtransport_stream **out, git_smart_subtransport *sub,
		      const char *url, git_smart_service_t action)
{
	struct ssh_sub *t = container_of(sub, struct ssh_sub, parent);
	const struct src_git_opts *o = t->c->o;
	struct src_ssh_opts so = {
		.key = o->ssh_key,
		.passphrase = o->ssh_passphrase,
		.known_hosts = o->known_hosts,
		.username = o->username,
		.host_port = t->c->host_port,
		.deadline_ms = t->c->deadline_ms,
		.cancel = o->cancel,
	};
	struct op_err e = OP_ERR_INIT;

	switch (action) {
	case GIT_SERVICE_UPLOADPACK_LS:
		src_ssh_free(t->s);
		t->s = NULL;
		if (src_ssh_connect(&so, url, "git-upload-pack", &t->s, &e) < 0)
			return ssh_fail(t, &e);
		break;
	case GIT_SERVICE_UPLOADPACK:
		if (!t->s) {
			git_error_set_str(GIT_ERROR_SSH, "ssh: no connection");
			return -1;
		}
		break;
	default:
		git_error_set_str(GIT_ERROR_SSH, "ssh: only fetching is supported");
		return -1;
	}
	*out = &t->stream;
	return 0;
}

static int ssh_close(git_smart_subtransport *sub)
{
	struct ssh_sub *t = container_of(sub, struct ssh_sub, parent);

	src_ssh_free(t->s);
	t->s = NULL;
	return 0;
}

static void ssh_free(git_smart_subtransport *sub)
{
	ssh_close(sub);
	free(container_of(sub, struct ssh_sub, parent));
}

static int ssh_sub_new(git_smart_subtransport **out, git_transport *owner, void *param)
{
	struct ssh_sub *t = xcalloc(1, sizeof(*t));

	(void)owner;
	t->c = param;
	t->parent.action = ssh_action;
	t->parent.close = ssh_close;
	t->parent.free = ssh_free;
	t->stream.subtransport = &t->parent;
	t->stream.read = ssh_read;
	t->stream.write = ssh_write;
	t->stream.free = ssh_stream_free;
	*out = &t->parent;
	return 0;
}

static int ssh_transport(git_transport **out, git_remote *owner, void *param)
{
	git_smart_subtransport_definition def = { .callback = ssh_sub_new, .rpc = 0,
						   .param = param };

	return git_transport_smart(out, owner, &def);
}

static bool is_ssh_url(const char *url)
{
	const char *colon = strchr(url, ':');

	return str_startswith(url, "ssh://") || (colon && !strstr(url, "://") && colon != url);
}

static void init_callbacks(git_remote_callbacks *cb, struct ctx *c)
{
	git_remote_init_callbacks(cb, GIT_REMOTE_CALLBACKS_VERSION);
	cb->credentials = credentials;
	cb->certificate_check = check_cert;
	cb->transfer_progress = progress;
	if (is_ssh_url(c->o->url))
		cb->transport = ssh_transport;
	cb->payload = c;
}

/*
 * Ask the remote where `*ref` points (one round trip, no objects).  With a
 * semver constraint, *ref is chosen here: the highest tag that satisfies
 * it (a new string the caller frees replaces *ref).
 */
static int ls_remote(struct ctx *c, git_remote *remote, char **ref, git_oid *ret)
{
	git_remote_callbacks cb;
	const git_remote_head **heads;
	struct semver_constraint *sc = NULL;
	struct semver best = { 0 };
	_cleanup_free_ char *peeled = NULL;
	size_t n, i;
	bool found = false;
	int rc;

	if (c->o->semver && !c->o->name && semver_constraint_parse(c->o->semver, &sc, c->err) < 0) {
		c->err_set = true;
		return op_err_prefix(c->err, "invalid semver constraint '%s'", c->o->semver);
	}
	init_callbacks(&cb, c);
	rc = git_remote_connect(remote, GIT_DIRECTION_FETCH, &cb, NULL, &c->headers);
	if (rc < 0) {
		semver_constraint_free(sc);
		return git_fail(c, rc, "unable to connect to the repository");
	}
	rc = git_remote_ls(&heads, &n, remote);
	if (rc < 0) {
		git_remote_disconnect(remote);
		semver_constraint_free(sc);
		return git_fail(c, rc, "unable to list remote references");
	}
	if (sc) {
		for (i = 0; i < n; i++) {
			const char *name = heads[i]->name;
			struct semver v;

			if (!str_startswith(name, "refs/tags/") || str_endswith(name, "^{}") ||
			    semver_parse(name + 10, &v) < 0 || !semver_satisfies(sc, &v))
				continue;
			if (!found || semver_cmp(&v, &best) > 0) {
				best = v;
				free(*ref);
				*ref = xstrdup(name);
				found = true;
			}
		}
		semver_constraint_free(sc);
		if (!found) {
			git_remote_disconnect(remote);
			return fail(c, -ENOENT, "no tag matches the semver constraint '%s'",
				    c->o->semver);
		}
		found = false;
	}
	peeled = xasprintf("%s^{}", *ref);
	for (i = 0; i < n; i++) {
		/* An annotated tag's peeled entry names the commit. */
		if (streq(heads[i]->name, peeled)) {
			git_oid_cpy(ret, &heads[i]->oid);
			found = true;
			break;
		}
		if (streq(heads[i]->name, *ref)) {
			git_oid_cpy(ret, &heads[i]->oid);
			found = true;
		}
	}
	/* Found: the connection stays open for the download (one handshake). */
	if (!found) {
		git_remote_disconnect(remote);
		return fail(c, -ENOENT, "reference '%s' not found in the repository",
			    str_startswith(*ref, "refs/heads/") ? *ref + 11 :
			    str_startswith(*ref, "refs/tags/") ? *ref + 10 : *ref);
	}
	return 0;
}

/* ---- the tree check ---- */

static bool bad_component(const char *name)
{
	return !*name || streq(name, ".") || streq(name, "..") || strcasecmp(name, ".git") == 0 ||
	       strchr(name, '/') || strchr(name, '\\');
}

/*
 * Does a symlink at `path` (relative to the root) with target `to` stay
 * inside the tree?  The target is resolved lexically against the link's
 * directory; it may not be absolute nor climb above the root.
 */
static bool link_stays_inside(const char *path, const char *to, size_t n)
{
	int depth = 0;
	const char *p, *end = to + n;

	if (!n || *to == '/')
		return false;
	for (p = path; *p; p++)
		depth += *p == '/';
	for (p = to; p < end;) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		size_t len = (size_t)((slash ? slash : end) - p);

		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (--depth < 0)
				return false;
		} else if (len && !(len == 1 && *p == '.')) {
			depth++;
		}
		p = slash ? slash + 1 : end;
	}
	return true;
}

/* Is `dir` (a directory path) wanted by the sparse list?  *inside: all below it is. */
static bool sparse_wants(const struct src_git_opts *o, const char *dir, bool *inside)
{
	size_t i, n = strlen(dir);

	*inside = !o->n_sparse;
	if (*inside)
		return true;
	for (i = 0; i < o->n_sparse; i++) {
		const char *s = o->sparse[i];
		size_t sl = strlen(s);

		while (sl && s[sl - 1] == '/')
			sl--;
		if ((sl == n && strncmp(s, dir, n) == 0) ||
		    (n > sl && strncmp(s, dir, sl) == 0 && dir[sl] == '/')) {
			*inside = true;
			return true;
		}
		if (sl > n && strncmp(s, dir, n) == 0 && s[n] == '/')
			return true; /* an ancestor of a wanted directory */
	}
	return false;
}

/*
 * Walk `tree` (at `path`, "" for the root) before checkout.  Only entries
 * that will be written count: with a sparse list, the wanted directories.
 */
static int check_tree(struct ctx *c, git_repository *repo, git_odb *odb, const git_tree *tree,
		      struct buf *path, int depth, bool inside)
{
	size_t i, n = git_tree_entrycount(tree), base = path->len;
	int r = 0;

	if (depth > MAX_DEPTH)
		return fail(c, -E2BIG, "the tree is nested more than %d directories deep at '%s'",
			    MAX_DEPTH, path->buf);
	for (i = 0; i < n && r == 0; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		const char *name = git_tree_entry_name(e);
		git_filemode_t mode = git_tree_entry_filemode(e);
		git_object_t type;
		size_t len;
		bool in = inside;

		buf_truncate(path, base);
		if ((base && buf_addch(path, '/') < 0) || buf_adds(path, name) < 0)
			return fail(c, -E2BIG, "the tree has a path longer than %zu bytes",
				    path->max);
		if (bad_component(name))
			return fail(c, -EPERM, "the tree has an unsafe path '%s'", path->buf);
		if (mode == GIT_FILEMODE_TREE) {
			if (!in && !sparse_wants(c->o, path->buf, &in))
				continue;
		} else if (!in) {
			continue; /* a file beside the sparse directories */
		}
		if (++c->tally->entries > c->lim->max_entries)
			return fail(c, -E2BIG, "the tree has more than %llu entries (at '%s')",
				    (unsigned long long)c->lim->max_entries, path->buf);
		switch (mode) {
		case GIT_FILEMODE_TREE:
			break;
		case GIT_FILEMODE_COMMIT:
			continue; /* a submodule: fetched and checked on its own */
		default:
			if (git_odb_read_header(&len, &type, odb, git_tree_entry_id(e)) < 0)
				return fail(c, -EIO, "object of '%s' is missing from the fetched pack",
					    path->buf);
			if (len > c->lim->max_file_bytes)
				return fail(c, -EFBIG, "file '%s' is %zu bytes, over the limit of %llu",
					    path->buf, len,
					    (unsigned long long)c->lim->max_file_bytes);
			c->tally->bytes += len;
			if (c->tally->bytes > c->lim->max_total_bytes)
				return fail(c, -EFBIG, "the tree is over the limit of %llu bytes at '%s'",
					    (unsigned long long)c->lim->max_total_bytes, path->buf);
			if (mode == GIT_FILEMODE_LINK) {
				git_blob *blob = NULL;
				bool ok;

				if (len > 4096 || git_blob_lookup(&blob, repo, git_tree_entry_id(e)) < 0)
					return fail(c, -EPERM, "symlink '%s' has an unreadable target",
						    path->buf);
				ok = link_stays_inside(path->buf, git_blob_rawcontent(blob),
						       (size_t)git_blob_rawsize(blob));
				if (!ok)
					r = fail(c, -EPERM, "symlink '%s' points outside the repository "
						 "('%.*s')", path->buf, (int)MIN(len, 200),
						 (const char *)git_blob_rawcontent(blob));
				git_blob_free(blob);
			}
			continue;
		}
		{
			git_tree *sub = NULL;

			if (git_tree_lookup(&sub, repo, git_tree_entry_id(e)) < 0)
				return fail(c, -EIO, "directory '%s' is missing from the fetched pack",
					    path->buf);
			r = check_tree(c, repo, odb, sub, path, depth + 1, in);
			git_tree_free(sub);
		}
	}
	buf_truncate(path, base);
	return r;
}

/* ---- checkout ---- */

static int write_blob(struct ctx *c, git_repository *repo, const git_tree_entry *e,
		      const char *abs, const char *rel)
{
	git_filemode_t mode = git_tree_entry_filemode(e);
	git_blob *blob = NULL;
	const char *p;
	size_t n;
	int fd, r = 0;

	if (git_blob_lookup(&blob, repo, git_tree_entry_id(e)) < 0)
		return fail(c, -EIO, "object of '%s' is missing from the fetched pack", rel);
	p = git_blob_rawcontent(blob);
	n = (size_t)git_blob_rawsize(blob);
	if (mode == GIT_FILEMODE_LINK) {
		_cleanup_free_ char *to = xstrndup(p, n);

		if (symlink(to, abs) < 0)
			r = fail(c, -errno, "cannot create symlink '%s': %s", rel, op_strerror(errno));
		git_blob_free(blob);
		return r;
	}
	fd = open(abs, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644);
	if (fd < 0) {
		r = fail(c, -errno, "cannot create '%s': %s", rel, op_strerror(errno));
	} else {
		while (n > 0) {
			ssize_t w = write(fd, p, n);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				r = fail(c, w < 0 ? -errno : -EIO, "cannot write '%s': %s", rel,
					 op_strerror(w < 0 ? errno : EIO));
				break;
			}
			p += w;
			n -= (size_t)w;
		}
		if (close(fd) < 0 && r == 0)
			r = fail(c, -errno, "cannot write '%s': %s", rel, op_strerror(errno));
	}
	git_blob_free(blob);
	return r;
}

/*
 * Write `tree` (checked by check_tree() first) below `root`, rel path in
 * `path`.  Blobs are read one at a time, each bounded by max_file_bytes; a
 * submodule becomes an empty directory that fetch_submodules() may fill.
 */
static int write_tree(struct ctx *c, git_repository *repo, const git_tree *tree,
		      const char *root, struct buf *path, bool inside)
{
	size_t i, n = git_tree_entrycount(tree), base = path->len;
	int r = 0;

	for (i = 0; i < n && r == 0; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		git_filemode_t mode = git_tree_entry_filemode(e);
		_cleanup_free_ char *abs = NULL;
		bool in = inside;

		buf_truncate(path, base);
		if ((base && buf_addch(path, '/') < 0) || buf_adds(path, git_tree_entry_name(e)) < 0)
			return -E2BIG;
		if (mode == GIT_FILEMODE_TREE || mode == GIT_FILEMODE_COMMIT) {
			if (!in && !sparse_wants(c->o, path->buf, &in))
				continue;
		} else if (!in) {
			continue;
		}
		abs = xasprintf("%s/%s", root, path->buf);
		if (mode == GIT_FILEMODE_TREE || mode == GIT_FILEMODE_COMMIT) {
			git_tree *sub = NULL;

			if (mkdir(abs, 0755) < 0 && errno != EEXIST)
				return fail(c, -errno, "cannot create directory '%s': %s", path->buf,
					    op_strerror(errno));
			if (mode == GIT_FILEMODE_COMMIT)
				continue;
			if (git_tree_lookup(&sub, repo, git_tree_entry_id(e)) < 0)
				return fail(c, -EIO, "directory '%s' is missing from the fetched pack",
					    path->buf);
			r = write_tree(c, repo, sub, root, path, in);
			git_tree_free(sub);
			continue;
		}
		r = write_blob(c, repo, e, abs, path->buf);
	}
	buf_truncate(path, base);
	return r;
}

/* ---- submodules ---- */

/* `rel` (a .gitmodules URL) resolved against the parent's URL. */
char *src_git_submodule_url(const char *parent, const char *rel)
{
	_cleanup_free_ char *base = NULL;
	const char *scheme;
	char *slash, *floor;

	if (!str_startswith(rel, "./") && !str_startswith(rel, "../"))
		return xstrdup(rel);
	base = xstrdup(parent);
	/* The path starts after "scheme://host" or an scp-like "host:"; the
	 * trailing '/'s are cut above it, never into the "://". */
	scheme = strstr(base, "://");
	floor = scheme ? base + (scheme - base) + 3 : base;
	if (scheme)
		floor += strcspn(floor, "/");
	else if (strchr(base, ':'))
		floor = strchr(base, ':');
	while (strlen(base) > (size_t)(floor - base) && base[strlen(base) - 1] == '/')
		base[strlen(base) - 1] = '\0';
	for (;;) {
		if (str_startswith(rel, "./")) {
			rel += 2;
		} else if (str_startswith(rel, "../")) {
			rel += 3;
			slash = strrchr(base, '/');
			if (slash && slash >= floor)
				*slash = '\0';
		} else {
			break;
		}
	}
	return xasprintf("%s/%s", base, rel);
}

struct gitmodule {
	char *path, *url;
};

static int collect_module(const git_config_entry *e, void *payload)
{
	struct gitmodule *m = payload;
	size_t n = strlen(e->name);

	/* submodule.<name>.path = m->path: remember <name> to find its url */
	if (n > 15 && streq(e->name + n - 5, ".path") && m->path && streq(e->value, m->path)) {
		free(m->url);
		m->url = xstrndup(e->name, n - 5);
	}
	return 0;
}

static int fetch_tree(struct ctx *c, struct src_git_result *ret);

/* Check out the submodule recorded at `path` (commit `id`) below the checkout. */
static int fetch_submodule(struct ctx *c, const char *path, const git_oid *id)
{
	const struct src_git_opts *o = c->o;
	_cleanup_free_ char *gm = xasprintf("%s/.gitmodules", o->checkout_dir), *key = NULL;
	_cleanup_free_ char *url = NULL, *cache = NULL, *dir = NULL, *mangled = NULL;
	struct gitmodule m = { .path = (char *)path };
	struct src_git_opts so;
	struct src_git_result sr;
	git_config *cfg = NULL;
	git_config_entry *e = NULL;
	struct ctx sc;
	char hex[GIT_OID_MAX_HEXSIZE + 1], *p;
	int r;

	if (c->level + 1 > MAX_SUBMODULES)
		return fail(c, -E2BIG, "submodules are nested more than %d deep at '%s'",
			    MAX_SUBMODULES, path);
	if (git_config_open_ondisk(&cfg, gm) < 0)
		return fail(c, -ENOENT, "submodule '%s' is not described in .gitmodules", path);
	git_config_foreach_match(cfg, "^submodule\\..*\\.path$", collect_module, &m);
	if (m.url) {
		key = xasprintf("%s.url", m.url);
		if (git_config_get_entry(&e, cfg, key) == 0)
			url = src_git_submodule_url(o->url, e->value);
		git_config_entry_free(e);
	}
	free(m.url);
	git_config_free(cfg);
	if (!url)
		return fail(c, -ENOENT, "submodule '%s' has no URL in .gitmodules", path);
	if (!str_startswith(url, "http://") && !str_startswith(url, "https://") &&
	    !str_startswith(url, "ssh://") && !str_startswith(url, "git://"))
		return fail(c, -EINVAL, "submodule '%s' has an unsupported URL scheme", path);
	mangled = xstrdup(path);
	for (p = mangled; *p; p++)
		if (*p == '/')
			*p = '%';
	cache = xasprintf("%s/modules/%s", o->cache_dir, mangled);
	dir = xasprintf("%s/%s", o->checkout_dir, path);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return fail(c, -errno, "cannot create the directory of submodule '%s'", path);
	git_oid_tostr(hex, sizeof(hex), id);
	so = *o;
	so.url = url;
	so.branch = so.tag = so.semver = so.name = NULL;
	so.commit = hex;
	so.cache_dir = cache;
	so.checkout_dir = dir;
	so.last_commit = NULL;
	so.sparse = NULL;
	so.n_sparse = 0;
	so.signatures = false;
	sc = *c;
	sc.o = &so;
	sc.level = c->level + 1;
	sc.by_commit = true;
	sc.tried_userpass = 0;
	src_git_host_port(url, sc.host_port, sizeof(sc.host_port));
	r = fetch_tree(&sc, &sr);
	c->err_set = sc.err_set;
	c->err_what = sc.err_what;
	c->timed_out = sc.timed_out;
	if (r < 0)
		op_err_prefix(c->err, "submodule '%s'", path);
	return r;
}

/* Every submodule (gitlink) in `tree` that the checkout holds, recursively. */
static int fetch_submodules(struct ctx *c, git_repository *repo, const git_tree *tree,
			    struct buf *path)
{
	size_t i, n = git_tree_entrycount(tree), base = path->len;
	int r = 0;

	for (i = 0; i < n && r == 0; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		git_filemode_t mode = git_tree_entry_filemode(e);
		git_tree *sub = NULL;
		bool in;

		if (mode != GIT_FILEMODE_TREE && mode != GIT_FILEMODE_COMMIT)
			continue;
		buf_truncate(path, base);
		if ((base && buf_addch(path, '/') < 0) || buf_adds(path, git_tree_entry_name(e)) < 0)
			return -E2BIG;
		if (!sparse_wants(c->o, path->buf, &in))
			continue;
		if (mode == GIT_FILEMODE_COMMIT) {
			r = fetch_submodule(c, path->buf, git_tree_entry_id(e));
			continue;
		}
		if (git_tree_lookup(&sub, repo, git_tree_entry_id(e)) < 0)
			continue;
		r = fetch_submodules(c, repo, sub, path);
		git_tree_free(sub);
	}
	buf_truncate(path, base);
	return r;
}

/* ---- fetch and checkout ---- */

/* Fetch `spec` (one refspec) from the remote into the cache. */
static int fetch_spec(struct ctx *c, git_remote *remote, const char *spec, int depth)
{
	git_fetch_options fo;
	git_strarray specs;
	char *specp = (char *)spec;

	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	init_callbacks(&fo.callbacks, c);
	fo.custom_headers = c->headers;
	fo.depth = depth;
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	specs.strings = &specp;
	specs.count = 1;
	if (git_remote_connected(remote)) {
		/*
		 * Still connected from ls_remote(): download on the same
		 * connection (over SSH, the same ssh process), then record the
		 * ref so that the next fetch offers it as a base.
		 */
		int rc = git_remote_download(remote, &specs, &fo);

		if (rc == 0)
			rc = git_remote_update_tips(remote, &fo.callbacks, 0,
						    GIT_REMOTE_DOWNLOAD_TAGS_NONE, NULL);
		git_remote_disconnect(remote);
		return rc;
	}
	/* A new connection asks for credentials afresh. */
	c->tried_userpass = 0;
	return git_remote_fetch(remote, &specs, &fo, NULL);
}

static void set_signed(struct src_git_signed *s, const char *sig, size_t sig_len,
		       const char *payload, size_t len)
{
	s->sig = sig ? xstrndup(sig, sig_len) : NULL;
	s->payload = xmalloc(len + 1);
	memcpy(s->payload, payload, len);
	s->payload[len] = '\0';
	s->len = len;
}

/* Where a tag object's signature starts (a line opening an armored block), or NULL. */
static const char *tag_signature(const char *data, size_t len)
{
	static const char *const begin[] = { "-----BEGIN PGP SIGNATURE-----",
					     "-----BEGIN SSH SIGNATURE-----",
					     "-----BEGIN SIGNED MESSAGE-----" };
	const char *p = memmem(data, len, "\n\n", 2), *end = data + len;
	size_t i;

	/* After the header, the first line that opens a signature block. */
	for (p = p ? p + 2 : end; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		for (i = 0; i < ARRAY_SIZE(begin); i++)
			if ((size_t)(end - p) >= strlen(begin[i]) &&
			    !memcmp(p, begin[i], strlen(begin[i])))
				return p;
		p = nl ? nl + 1 : end;
	}
	return NULL;
}

/*
 * The signatures spec.verify checks: the commit's ("gpgsig" header), and
 * when `ref` is a tag, the annotated tag object's (appended to its
 * message).  The tag object is the local ref's target after the fetch.
 */
static int read_signatures(struct ctx *c, git_repository *repo, git_odb *odb, git_commit *commit,
			   const char *ref, struct src_git_result *ret)
{
	git_buf sig = GIT_BUF_INIT, data = GIT_BUF_INIT;
	git_odb_object *obj = NULL;
	git_oid tid;
	int rc;

	rc = git_commit_extract_signature(&sig, &data, repo, (git_oid *)git_commit_id(commit),
					  NULL);
	if (rc == 0) {
		set_signed(&ret->commit_sig, sig.ptr, sig.size, data.ptr, data.size);
	} else if (rc == GIT_ENOTFOUND) {
		set_signed(&ret->commit_sig, NULL, 0, "", 0); /* unsigned */
	}
	git_buf_dispose(&sig);
	git_buf_dispose(&data);
	if (rc < 0 && rc != GIT_ENOTFOUND)
		return git_fail(c, rc, "unable to read the commit's signature");
	if (!str_startswith(ref, "refs/tags/"))
		return 0;
	ret->by_tag = true;
	snprintf(ret->tag, sizeof(ret->tag), "%s", ref + strlen("refs/tags/"));
	if (git_reference_name_to_id(&tid, repo, ref) == 0 && git_odb_read(&obj, odb, &tid) == 0 &&
	    git_odb_object_type(obj) == GIT_OBJECT_TAG) {
		const char *d = git_odb_object_data(obj);
		size_t n = git_odb_object_size(obj);
		const char *at = tag_signature(d, n);

		git_oid_tostr(ret->tag_id, sizeof(ret->tag_id), &tid);
		if (at)
			set_signed(&ret->tag_sig, at, (size_t)(d + n - at), d, (size_t)(at - d));
		else
			set_signed(&ret->tag_sig, NULL, 0, d, n);
	}
	git_odb_object_free(obj);
	return 0;
}

void src_git_result_release(struct src_git_result *r)
{
	free(r->commit_sig.sig);
	free(r->commit_sig.payload);
	free(r->tag_sig.sig);
	free(r->tag_sig.payload);
	memset(&r->commit_sig, 0, sizeof(r->commit_sig));
	memset(&r->tag_sig, 0, sizeof(r->tag_sig));
}

/* A new bare repository as the cache. */
static int cache_init(git_repository **repo, const char *dir)
{
	git_repository_init_options io;

	git_repository_init_options_init(&io, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
	io.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH;
	return git_repository_init_ext(repo, dir, &io);
}

/*
 * Shallow (depth 1) for a branch or tag over HTTP(S).  A commit may be
 * anywhere in its branch's history, so it is fetched whole; so is SSH or
 * git://, where libgit2 1.8's stateful shallow request is refused by git
 * upload-pack ("expected SHA1 list", whatever carries it) — the persistent
 * cache keeps later fetches incremental.  A cache that an earlier shallow
 * fetch left holds the branch's head alone, and a plain fetch would find
 * the head up to date and bring nothing older: a commit (spec.ref.commit,
 * a pin) deepens it to the whole history.
 */
static int fetch_depth(const struct src_git_opts *o, git_repository *repo)
{
	if (o->commit)
		return git_repository_is_shallow(repo) ? GIT_FETCH_DEPTH_UNSHALLOW : 0;
	return str_startswith(o->url, "http") ? 1 : 0;
}

/* Fetch c->o's revision into its cache and check it out: see git.h. */
static int fetch_tree(struct ctx *c, struct src_git_result *ret)
{
	const struct src_git_opts *o = c->o;
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	git_odb *odb = NULL;
	git_oid want;
	char hex[GIT_OID_MAX_HEXSIZE + 1];
	_cleanup_free_ char *ref = NULL, *spec = NULL;
	struct buf path = BUF_INIT(4096);
	const char *name = NULL;
	int rc, r = 0;
	bool had_cache;
	size_t i;

	struct ctx *outer = cur;

	cur = c; /* for the TLS stream */
	memset(ret, 0, sizeof(*ret));
	if (o->name && !o->commit) {
		ref = xstrdup(o->name);
		name = o->name;
	} else if (o->semver && !o->commit) {
		ref = xstrdup("refs/tags/"); /* chosen by ls_remote() */
	} else if (o->tag && !o->commit) {
		ref = xasprintf("refs/tags/%s", o->tag);
		name = o->tag;
	} else {
		name = o->branch ? o->branch : "master";
		ref = xasprintf("refs/heads/%s", name);
	}

	rc = git_repository_open_bare(&repo, o->cache_dir);
	had_cache = rc == 0;
	if (rc < 0)
		rc = cache_init(&repo, o->cache_dir);
	if (rc < 0) {
		r = git_fail(c, rc, "unable to create the repository cache");
		goto out;
	}
	rc = git_remote_create_anonymous(&remote, repo, o->url);
	if (rc < 0) {
		r = git_fail(c, rc, "invalid repository URL");
		goto out;
	}
	if (o->commit) {
		if (git_oid_fromstr(&want, o->commit) < 0 || strlen(o->commit) != 40) {
			r = fail(c, -EINVAL, "invalid commit '%s': want 40 hex digits", o->commit);
			goto out;
		}
	} else {
		r = ls_remote(c, remote, &ref, &want);
		if (r < 0)
			goto out;
		if (o->semver && !o->name)
			name = ref + strlen("refs/tags/");
	}
	git_oid_tostr(hex, sizeof(hex), &want);
	if (o->last_commit && streq(o->last_commit, hex)) {
		/* Nothing changed: no fetch, no checkout. */
		ret->unchanged = true;
		goto result;
	}
	if (!o->commit || git_commit_lookup(&commit, repo, &want) < 0) {
		if (c->by_commit) {
			/*
			 * A submodule's commit: ask for it by id (servers that
			 * allow it send just that), else every branch.
			 */
			spec = xasprintf("+%s:refs/cflux/want", hex);
			rc = fetch_spec(c, remote, spec, 1);
			if (rc < 0 && !c->timed_out && !c->too_big && !c->err_set)
				rc = fetch_spec(c, remote, "+refs/heads/*:refs/heads/*", 0);
		} else {
			spec = xasprintf("+%s:%s", ref, ref);
			rc = fetch_spec(c, remote, spec, fetch_depth(o, repo));
			/*
			 * The server answered (ls-remote) but the fetch into the
			 * cache failed: the cache may be the cause (a fetch cut
			 * short by a kill, or a shallow history libgit2 cannot
			 * negotiate from: "incomplete pack header", found by
			 * make chaos).  Once, start again from an empty cache;
			 * it is only ever a way to fetch less.
			 */
			if (rc < 0 && had_cache && !c->timed_out && !c->too_big && !c->err_set &&
			    !c->cancelled) {
				git_remote_free(remote);
				git_repository_free(repo);
				remote = NULL;
				repo = NULL;
				path_remove_all(o->cache_dir);
				rc = cache_init(&repo, o->cache_dir);
				if (rc == 0)
					rc = git_remote_create_anonymous(&remote, repo, o->url);
				if (rc == 0)
					rc = fetch_spec(c, remote, spec, fetch_depth(o, repo));
				ret->cache_reset = true;
			}
		}
		if (rc < 0) {
			r = git_fail(c, rc, "unable to fetch from the repository");
			goto out;
		}
		if (!commit && git_commit_lookup(&commit, repo, &want) < 0) {
			r = fail(c, -ENOENT, "commit '%s' not found in '%s'", hex,
				 c->by_commit ? o->url : name);
			goto out;
		}
	}
	rc = git_commit_tree(&tree, commit);
	if (rc == 0)
		rc = git_repository_odb(&odb, repo);
	if (rc < 0) {
		r = git_fail(c, rc, "unable to read the commit's tree");
		goto out;
	}
	for (i = 0; i < o->n_sparse; i++) {
		git_tree_entry *e = NULL;
		const char *d = o->sparse[i];

		while (*d == '/' || str_startswith(d, "./"))
			d += *d == '/' ? 1 : 2;
		if (git_tree_entry_bypath(&e, tree, d) < 0 ||
		    git_tree_entry_type(e) != GIT_OBJECT_TREE) {
			git_tree_entry_free(e);
			r = fail(c, -ENOENT, "sparse checkout directory '%s' does not exist in "
				 "commit '%s'", o->sparse[i], hex);
			goto out;
		}
		git_tree_entry_free(e);
	}
	r = check_tree(c, repo, odb, tree, &path, 0, o->n_sparse == 0);
	if (r < 0)
		goto out;
	r = write_tree(c, repo, tree, o->checkout_dir, &path, o->n_sparse == 0);
	if (r < 0)
		goto out;
	if (o->submodules) {
		r = fetch_submodules(c, repo, tree, &path);
		if (r < 0)
			goto out;
	}
	if (o->signatures) {
		r = read_signatures(c, repo, odb, commit, ref, ret);
		if (r < 0)
			goto out;
	}
	{
		const char *msg = git_commit_summary(commit);

		snprintf(ret->message, sizeof(ret->message), "%s", msg ? msg : "");
	}
result:
	memcpy(ret->commit, hex, 41);
	if (o->commit && !o->branch)
		snprintf(ret->revision, sizeof(ret->revision), "sha1:%s", hex);
	else
		snprintf(ret->revision, sizeof(ret->revision), "%s@sha1:%s", name, hex);
out:
	if (r < 0)
		src_git_result_release(ret);
	buf_release(&path);
	git_odb_free(odb);
	git_tree_free(tree);
	git_commit_free(commit);
	git_remote_free(remote);
	git_repository_free(repo);
	cur = outer;
	return r;
}

int src_git_fetch(const struct src_git_opts *o, struct src_git_result *ret, struct op_err *err)
{
	static const struct artifact_limits dflt = ARTIFACT_LIMITS_DEFAULT;
	struct tally tally = { 0 };
	struct ctx c = { .o = o, .err = err, .lim = o->lim ? o->lim : &dflt, .tally = &tally };
	int r;

	pthread_once(&git_once, git_init);
	c.deadline_ms = src_now_ms() + 1000ull * (o->timeout_s ? o->timeout_s : 60);
	if (o->bearer_token) {
		c.header = xasprintf("Authorization: Bearer %s", o->bearer_token);
		c.headers.strings = &c.header;
		c.headers.count = 1;
	}
	src_git_host_port(o->url, c.host_port, sizeof(c.host_port));
	r = fetch_tree(&c, ret);
	if (c.header) {
		explicit_bzero(c.header, strlen(c.header));
		free(c.header);
	}
	return r;
}
