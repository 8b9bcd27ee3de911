/*
 * ctl_helmrepository.c: the HelmRepository reconciler
 * (source.toolkit.fluxcd.io/v1), source-controller's contract.
 *
 * The manager's skeleton (manager.h) does the lifecycle every kind
 * shares; finalize() removes the object's artifacts.  One reconcile:
 *
 *   type oci      Flux keeps an OCI HelmRepository as a static object:
 *                 no fetch, no artifact, an empty status (its charts are
 *                 pulled by the HelmChart reconciler).  We empty the
 *                 status and remove any artifact; our finalizer stays
 *                 (Flux removes its own), so deletion still cleans up.
 *   spec          url (http or https; oci:// with type default is
 *                 Stalled URLInvalid, as Flux), interval, timeout
 *   Secrets       certSecretRef (ca.crt, tls.crt/tls.key), then
 *                 secretRef: username and password (basic auth; one
 *                 without the other is refused), and its TLS keys when
 *                 there is no certSecretRef (Flux's deprecated form).
 *                 passCredentials only matters for chart downloads from
 *                 other hosts (the HelmChart reconciler's).
 *   fetch         GET <url>/index.yaml (the URL's query kept) on the
 *                 loop, streamed to a temporary file, at most 50 MiB
 *                 (Flux's --helm-index-max-size default), redirects
 *                 followed.  With the ETag of the index the stored
 *                 artifact was made from, the request carries
 *                 If-None-Match, and a 304 downloads nothing.
 *   work          on the thread pool: revision = sha256 of the file as
 *                 downloaded (Flux digests its cached copy); equal to
 *                 the stored artifact's: nothing more (Flux's
 *                 short-circuit).  Otherwise the index is read streaming
 *                 and written as Flux stores it, JSON
 *                 (helm_index_write_json()), to
 *                 <storage>/helmrepository/<ns>/<name>/index-<hex>.yaml,
 *                 with index.yaml linked to it (status.url); two kept.
 *   status        Flux's conditions (FetchFailed, StorageOperationFailed,
 *                 ArtifactInStorage, Ready) and reasons (URLInvalid,
 *                 AuthenticationFailed, Failed, IndexationFailed,
 *                 Succeeded), its messages, the NewArtifact event
 *                 ("stored fetched index of size 2.4kB from '<url>'").
 *
 * A failure keeps the last artifact.  Messages never carry a password.
 */
#include <errno.h>
#include <stddef.h>
#include <strings.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "base/hmap.h"
#include "base/log.h"
#include "base/path.h"
#include "base/str.h"
#include "base/time.h"
#include "conditions.h"
#include "controllers.h"
#include "helm/helm.h"
#include "kube/http.h"
#include "secrets.h"
#include "source.h"
#include "storage.h"
#include "yj/yj.h"
#include "base/banned.h"

#define KIND "HelmRepository"
#define RECORDS 2
#define MAX_INDEX_SIZE ((uint64_t)50 << 20)
#define INDEX_LINK "index.yaml"

/* What a stored artifact was made from: the ETag that lets the next fetch skip it. */
struct hr_etag {
	char *key; /* "ns/name": the map's key */
	char *etag, *index_url, *revision;
};

struct hrjob {
	struct rc *rc;
	struct storage *st;
	struct hmap *etags;
	char *ns, *name, *tmp_root;
	char *url, *index_url;
	uint64_t timeout_ms;
	int64_t interval_ns;
	/* the download */
	struct helm_get get;
	char *tmp, *index_path;
	char *etag;
	/* the work */
	char *last_revision;
	int r;
	struct op_err err;
	const char *reason;
	char revision[72];
	bool unchanged;
	struct artifact_info ai;
	char *rel;
};

static void job_release(void *job)
{
	struct hrjob *j = job;

	free(j->ns);
	free(j->name);
	free(j->tmp_root);
	free(j->url);
	free(j->index_url);
	helm_get_release(&j->get);
	if (j->tmp) {
		path_remove_all(j->tmp);
		free(j->tmp);
	}
	free(j->index_path);
	free(j->etag);
	free(j->last_revision);
	free(j->rel);
}

static void etag_free(struct hr_etag *e)
{
	if (!e)
		return;
	free(e->key);
	free(e->etag);
	free(e->index_url);
	free(e->revision);
	free(e);
}

static void etag_forget(struct hrjob *j)
{
	etag_free(hmap_remove(j->etags, j->rc->key));
}

static void etag_remember(struct hrjob *j, const char *etag, const char *revision)
{
	struct hr_etag *e;

	etag_forget(j);
	if (!etag || !*etag)
		return;
	e = xcalloc(1, sizeof(*e));
	e->key = xstrdup(j->rc->key);
	e->etag = xstrdup(etag);
	e->index_url = xstrdup(j->index_url);
	e->revision = xstrdup(revision);
	hmap_put(j->etags, e->key, e);
}

static void fail(struct hrjob *j, const char *reason, const char *msg, bool stall)
{
	bool storage = streq(reason, "ArchiveOperationFailed") ||
		       streq(reason, "DirectoryCreationFailed");

	source_fail(j->rc, storage ? "StorageOperationFailed" : "FetchFailed", reason, msg, stall);
}

/* Docker's units.HumanSize, as Flux's event prints the artifact's size: "2.017kB". */
static void human_size(double size, char *out, size_t n)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB" };
	size_t i = 0;

	while (size >= 1000 && i + 1 < ARRAY_SIZE(units)) {
		size /= 1000;
		i++;
	}
	snprintf(out, n, "%.4g%s", size, units[i]);
}

static char *link_url(const struct hrjob *j)
{
	char *rel = storage_rel_path(KIND, j->ns, j->name, INDEX_LINK), *url = storage_url(j->st, rel);

	free(rel);
	return url;
}

static void succeed(struct hrjob *j)
{
	struct rc *rc = j->rc;
	cJSON *st = rc->status;
	char *msg, *url, size[32];
	struct source_stored s = {
		.fresh = !j->unchanged,
		.rel = j->rel,
		.revision = j->revision,
		.ai = &j->ai,
	};

	if (!j->unchanged) {
		url = link_url(j);
		cJSON_DeleteItemFromObjectCaseSensitive(st, "url");
		cJSON_AddStringToObject(st, "url", url);
		free(url);
	} else {
		snprintf(j->revision, sizeof(j->revision), "%s",
			 yj_get_str(st, "/artifact/revision"));
	}
	if (j->etag)
		etag_remember(j, j->etag, j->revision);
	msg = xasprintf("stored artifact: revision '%s'", j->revision);
	s.msg = msg;
	if (source_stored(rc, j->st, &s)) {
		human_size((double)j->ai.size, size, sizeof(size));
		rc_event(rc, "Normal", "NewArtifact", "stored fetched index of size %s from '%s'",
			 size, j->url);
		log_info(NULL, "Stored artifact", "controller", "helmrepository", "object", rc->key,
			 "revision", j->revision, NULL);
	}
	free(msg);
	rc_done(rc, (uint64_t)(j->interval_ns / NSEC_PER_MSEC));
}

/* ---- the thread-pool part ---- */


static int store_index(struct hrjob *j, const char *data, size_t len)
{
	struct yj_limits lim = YJ_LIMITS_DEFAULT;
	char *file = xasprintf("index-%s.yaml", j->revision + strlen("sha256:"));
	char *abs, *tmp, *scratch = xasprintf("%s/scratch", j->tmp);
	int out = -1, sc = -1, r;

	r = storage_mkdir(j->st, KIND, j->ns, j->name, &j->err);
	if (r < 0) {
		op_err_prefix(&j->err, "failed to create artifact directory");
		j->reason = "DirectoryCreationFailed";
		free(file);
		free(scratch);
		return r;
	}
	j->rel = storage_rel_path(KIND, j->ns, j->name, file);
	abs = storage_abs(j->st, j->rel);
	tmp = xasprintf("%s.tmp", abs);
	sc = open(scratch, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	out = sc < 0 ? -1 : open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (sc < 0 || out < 0) {
		r = op_err_set(&j->err, -errno, "unable to save artifact to storage: %s",
			       op_strerror(errno));
		j->reason = "ArchiveOperationFailed";
		goto out;
	}
	r = helm_index_write_json(data, len, sc, out, &lim, NULL, &j->err);
	if (r == -EINVAL || r == -EFBIG || r == -E2BIG) {
		op_err_prefix(&j->err, "failed to load Helm repository from index YAML: failed to "
			      "load index");
		j->reason = "IndexationFailed";
		goto out;
	}
	/* Closed whatever the write did: a full disk fails the write, and
	 * the descriptor must not outlive it. */
	if (close(out) < 0 && r == 0)
		r = op_err_set(&j->err, -errno, "%s", op_strerror(errno));
	out = -1;
	if (r == 0 && rename(tmp, abs) < 0)
		r = op_err_set(&j->err, -errno, "%s", op_strerror(errno));
	if (r == 0)
		r = artifact_digest_file(abs, j->ai.digest, &j->ai.size, &j->err);
	if (r < 0) {
		op_err_prefix(&j->err, "unable to save artifact to storage");
		j->reason = "ArchiveOperationFailed";
		goto out;
	}
	storage_gc(j->st, KIND, j->ns, j->name, file, RECORDS);
	storage_link(j->st, KIND, j->ns, j->name, INDEX_LINK, file);
out:
	if (out >= 0)
		close(out);
	if (sc >= 0)
		close(sc);
	if (r < 0)
		unlink(tmp);
	unlink(scratch);
	free(scratch);
	free(tmp);
	free(abs);
	free(file);
	return r;
}

static void work(void *job)
{
	struct hrjob *j = job;
	char *data = NULL;
	size_t len = 0;

	j->r = path_read_file(j->index_path, MAX_INDEX_SIZE, &data, &len);
	if (j->r < 0) {
		op_err_set(&j->err, j->r, "failed to fetch Helm repository index: cannot read the "
			   "downloaded index: %s", op_strerror(j->r));
		j->reason = "Failed";
		return;
	}
	unlink(j->index_path);
	helm_index_revision(data, len, j->revision);
	/* Flux's short-circuit: the index as downloaded is the one stored. */
	if (j->last_revision && streq(j->last_revision, j->revision))
		j->unchanged = true;
	else
		j->r = store_index(j, data, len);
	free(data);
}

static void work_done(struct rc *rc, int status)
{
	struct hrjob *j = rc->job;

	if (status < 0)
		fail(j, "Failed", "the index's processing was cancelled", false);
	else if (j->r < 0)
		fail(j, j->reason, j->err.msg, false);
	else
		succeed(j);
}

/* ---- the download, on the loop ---- */

/* The stored artifact's ETag, when the index it came from is the one asked for. */
static const char *known_etag(const struct hrjob *j)
{
	const struct hr_etag *e = hmap_get(j->etags, j->rc->key);

	if (!e || !j->last_revision || !streq(e->index_url, j->index_url) ||
	    !streq(e->revision, j->last_revision))
		return NULL;
	return e->etag;
}

static void fetched(struct helm_get *g, int r, const char *reason, const char *why)
{
	struct hrjob *j = (struct hrjob *)((char *)g - offsetof(struct hrjob, get));
	char msg[1024];

	if (r < 0 && streq(reason, "AuthenticationFailed")) {
		fail(j, reason, why, false);
		return;
	}
	if (r < 0 || (g->status != 200 && g->status != 304)) {
		snprintf(msg, sizeof(msg), "failed to fetch Helm repository index: failed to cache "
			 "index to temporary file: %s", why);
		if (r == 0)
			etag_forget(j);
		fail(j, "Failed", msg, false);
		return;
	}
	j->etag = g->etag ? xstrdup(g->etag) : NULL;
	if (g->status == 304) {
		j->unchanged = true;
		free(j->etag);
		j->etag = xstrdup(g->if_none_match);
		succeed(j);
		return;
	}
	if (rc_work(j->rc, work, work_done) < 0)
		fail(j, "Failed", "cannot queue the index's processing", false);
}

static void fetch(struct hrjob *j, const cJSON *spec)
{
	char msg[1024];

	j->tmp = xasprintf("%s/helmrepository-XXXXXX", j->tmp_root);
	if (!mkdtemp(j->tmp)) {
		snprintf(msg, sizeof(msg), "failed to fetch Helm repository index: failed to create "
			 "temp file to cache index to: %s", op_strerror(errno));
		free(j->tmp);
		j->tmp = NULL;
		fail(j, "Failed", msg, false);
		return;
	}
	j->index_path = xasprintf("%s/index.yaml", j->tmp);
	helm_get_init(&j->get, j->rc, spec, j->index_url, j->index_path, MAX_INDEX_SIZE,
		      j->timeout_ms, fetched);
	j->get.if_none_match = known_etag(j) ? xstrdup(known_etag(j)) : NULL;
	helm_get_start(&j->get);
}

/* ---- a HelmRepository's download (helm_get, controllers.h) ---- */

static void get_done(struct helm_get *g, int r, const char *reason, const char *msg)
{
	if (g->fd >= 0) {
		close(g->fd);
		g->fd = -1;
	}
	g->done(g, r, reason, msg);
}

static int on_data(struct http_req *req, long status, const char *data, size_t n, void *payload)
{
	struct helm_get *g = payload;
	ssize_t w;

	(void)req;
	if (status != 200)
		return 0; /* an error page: not kept */
	if (g->got + n > g->max_bytes)
		return -EFBIG;
	while (n) {
		w = write(g->fd, data, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			g->werr = -errno;
			return g->werr;
		}
		data += w;
		n -= (size_t)w;
		g->got += (uint64_t)w;
	}
	return 0;
}

/* Go's http.StatusText for what a repository answers. */
static const char *status_text(long status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "";
	}
}

static void got(struct http_req *req, int r, const struct http_resp *resp,
		const struct op_err *err, void *payload)
{
	struct helm_get *g = payload;
	const char *v;
	size_t vn;
	char msg[1024];

	(void)req;
	g->status = resp->status;
	if (r == 0 && http_resp_header(resp, "ETag", &v, &vn) == 0)
		g->etag = xstrndup(v, vn);
	if (r == -EFBIG && !g->werr)
		snprintf(msg, sizeof(msg), "%s exceeds the maximum size of %llu bytes", g->url,
			 (unsigned long long)g->max_bytes);
	else if (r < 0)
		snprintf(msg, sizeof(msg), "%s", g->werr ? op_strerror(g->werr) :
			 err && err->msg[0] ? err->msg : op_strerror(r));
	else if (resp->status != 200 && !(resp->status == 304 && g->if_none_match))
		/* Helm's getter: "failed to fetch <url> : <status>". */
		snprintf(msg, sizeof(msg), "failed to fetch %s : %ld %s", g->url, resp->status,
			 status_text(resp->status));
	else
		msg[0] = '\0';
	get_done(g, r < 0 ? r : 0, "Failed", msg);
}

/* Credentials go to the repository's own scheme://host:port only, unless passCredentials. */
static bool same_origin(const char *a, const char *b)
{
	size_t na = strcspn(a + strcspn(a, ":") + 3, "/?#") + strcspn(a, ":") + 3;
	size_t nb = strcspn(b + strcspn(b, ":") + 3, "/?#") + strcspn(b, ":") + 3;

	return strstr(a, "://") && strstr(b, "://") && na == nb && strncasecmp(a, b, na) == 0;
}

static void download(struct helm_get *g)
{
	struct http_opts ho = HTTP_OPTS_INIT;
	struct http_req_opts ro = HTTP_REQ_OPTS_INIT;
	const char *headers[3] = { 0 };
	char *auth = NULL, *inm = NULL, msg[1024];
	struct op_err e = OP_ERR_INIT;
	size_t nh = 0;
	int r;

	ho.ca_pem = g->tls.ca;
	ho.cert_pem = g->tls.cert;
	ho.key_pem = g->tls.key;
	ho.no_http2 = true;
	ho.user_agent = "cflux-source-controller";
	r = http_new(kube_client_loop(ctl_client(g->rc->ctl)), &ho, &g->http, &e);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "failed to construct Helm client: %s", e.msg);
		get_done(g, r, "Failed", msg);
		return;
	}
	g->fd = open(g->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (g->fd < 0) {
		snprintf(msg, sizeof(msg), "cannot create '%s': %s", g->path, op_strerror(errno));
		get_done(g, -errno, "Failed", msg);
		return;
	}
	if (g->user && (g->pass_credentials || same_origin(g->url, g->repo_url))) {
		char *plain = xasprintf("%s:%s", g->user, g->pass ? g->pass : "");
		char *enc = b64_encode(plain, strlen(plain));

		auth = xasprintf("Authorization: Basic %s", enc);
		free_secret(plain);
		free_secret(enc);
		headers[nh++] = auth;
	}
	if (g->if_none_match) {
		inm = xasprintf("If-None-Match: %s", g->if_none_match);
		headers[nh++] = inm;
	}
	ro.url = g->url;
	ro.headers = headers;
	ro.timeout_ms = g->timeout_ms;
	ro.on_data = on_data;
	ro.max_redirects = 10;
	r = http_request(g->http, &ro, got, g, NULL);
	free_secret(auth);
	free(inm);
	if (r < 0)
		get_done(g, r, "Failed", op_strerror(r));
}

static void get_secrets(struct helm_get *g);

static void got_cert(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct helm_get *g = payload;
	char msg[1024], why[600];

	g->cert_read = true;
	if (r < 0) {
		snprintf(msg, sizeof(msg), "failed to get TLS authentication secret '%s/%s': %s",
			 g->ns, g->cert_secret, err && err->msg[0] ? err->msg : op_strerror(r));
		get_done(g, r, "AuthenticationFailed", msg);
		return;
	}
	if (secret_tls_read(obj, g->ns, g->cert_secret, &g->tls, why, sizeof(why)) < 0) {
		snprintf(msg, sizeof(msg), "failed to construct Helm client's TLS config: %s", why);
		get_done(g, -EINVAL, "AuthenticationFailed", msg);
		return;
	}
	get_secrets(g);
}

static void got_secret(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct helm_get *g = payload;
	char msg[1024], why[600];

	g->secret_read = true;
	if (r < 0) {
		snprintf(msg, sizeof(msg), "failed to get authentication secret '%s/%s': %s", g->ns,
			 g->secret_name, err && err->msg[0] ? err->msg : op_strerror(r));
		get_done(g, r, "AuthenticationFailed", msg);
		return;
	}
	g->user = secret_value(obj, "username");
	g->pass = secret_value(obj, "password");
	if (!g->user != !g->pass) {
		snprintf(msg, sizeof(msg), "failed to detect authentication methods: secret '%s/%s': "
			 "'%s' given without '%s'", g->ns, g->secret_name,
			 g->user ? "username" : "password", g->user ? "password" : "username");
		get_done(g, -EINVAL, "AuthenticationFailed", msg);
		return;
	}
	/* TLS keys in secretRef: Flux's deprecated form, used without a certSecretRef. */
	if (!g->cert_secret &&
	    secret_tls_read(obj, g->ns, g->secret_name, &g->tls, why, sizeof(why)) < 0) {
		snprintf(msg, sizeof(msg), "failed to detect authentication methods: %s", why);
		get_done(g, -EINVAL, "AuthenticationFailed", msg);
		return;
	}
	get_secrets(g);
}

static void get_secrets(struct helm_get *g)
{
	struct kube_ref ref = { .version = "v1", .resource = "secrets", .ns = g->ns };
	kube_cb cb = NULL;

	if (g->cert_secret && !g->cert_read)
		ref.name = g->cert_secret, cb = got_cert;
	else if (g->secret_name && !g->secret_read)
		ref.name = g->secret_name, cb = got_secret;
	if (!cb) {
		download(g);
		return;
	}
	if (kube_get(ctl_client(g->rc->ctl), &ref, NULL, cb, g) < 0)
		cb(-EIO, NULL, NULL, g);
}

void helm_get_init(struct helm_get *g, struct rc *rc, const cJSON *repo_spec, const char *url,
		   const char *path, uint64_t max_bytes, uint64_t timeout_ms,
		   void (*done)(struct helm_get *g, int r, const char *reason, const char *msg))
{
	memset(g, 0, sizeof(*g));
	g->fd = -1;
	g->rc = rc;
	g->ns = xstrdup(rc->obj->ns);
	g->repo_url = xstrdup(yj_get_str(repo_spec, "/url") ? yj_get_str(repo_spec, "/url") : "");
	g->secret_name = source_strdup(yj_get_str(repo_spec, "/secretRef/name"));
	g->cert_secret = source_strdup(yj_get_str(repo_spec, "/certSecretRef/name"));
	g->pass_credentials = cJSON_IsTrue(yj_get(repo_spec, "/passCredentials"));
	g->url = xstrdup(url);
	g->path = xstrdup(path);
	g->max_bytes = max_bytes;
	g->timeout_ms = timeout_ms;
	g->done = done;
}

void helm_get_start(struct helm_get *g)
{
	get_secrets(g);
}

void helm_get_release(struct helm_get *g)
{
	if (!g->ns)
		return;
	free(g->ns);
	free(g->repo_url);
	free(g->secret_name);
	free(g->cert_secret);
	free(g->url);
	free(g->path);
	free(g->if_none_match);
	free(g->etag);
	free(g->user);
	free_secret(g->pass);
	secret_tls_release(&g->tls);
	if (g->http)
		http_close(g->http, NULL, NULL);
	if (g->fd >= 0)
		close(g->fd);
	memset(g, 0, sizeof(*g));
}

/* ---- the spec ---- */

/*
 * Flux's NormalizeURL and DownloadIndex: the URL's path without its
 * trailing '/', then "/index.yaml", the query and fragment kept.  NULL
 * for a URL that is not http(s)://host...
 */
static char *index_url_of(const char *url)
{
	const char *host = str_startswith(url, "http://")  ? url + 7 :
			   str_startswith(url, "https://") ? url + 8 : NULL;
	const char *tail, *slash;
	size_t end;

	if (!host || !*host || strchr("/?#", *host))
		return NULL;
	tail = host + strcspn(host, "?#");
	slash = memchr(host, '/', (size_t)(tail - host));
	end = (size_t)(tail - url);
	while (slash && end > (size_t)(slash - url) && url[end - 1] == '/')
		end--;
	return xasprintf("%.*s/index.yaml%s", (int)end, url, tail);
}

static void reconcile(struct rc *rc)
{
	struct helmrepo_ctl *g = ctl_data(rc->ctl);
	struct hrjob *j = rc->job;
	const struct kobj *o = rc->obj;
	const char *type = yj_get_str(o->json, "/spec/type"), *why;
	const char *rev = yj_get_str(o->json, "/status/artifact/revision");
	const char *path = yj_get_str(o->json, "/status/artifact/path");
	unsigned timeout_s;
	char msg[1024];

	j->rc = rc;
	j->st = g->storage;
	j->etags = &g->etags;
	j->ns = xstrdup(o->ns);
	j->name = xstrdup(o->name);
	j->tmp_root = xstrdup(g->tmp_root);
	j->url = xstrdup(yj_get_str(o->json, "/spec/url") ? yj_get_str(o->json, "/spec/url") : "");
	if (streq_ptr(type, "oci")) {
		/* Flux's static OCI HelmRepository: no artifact, an empty status. */
		storage_remove_all(j->st, KIND, j->ns, j->name);
		etag_forget(j);
		cJSON_Delete(rc->status);
		rc->status = cJSON_CreateObject();
		rc_done(rc, 0);
		return;
	}
	if (str_startswith(j->url, "oci://")) {
		fail(j, "URLInvalid", "invalid Helm repository URL: 'oci' URL scheme cannot be used "
		     "with 'default' HelmRepository type", true);
		return;
	}
	j->index_url = index_url_of(j->url);
	if (!j->index_url) {
		snprintf(msg, sizeof(msg), "invalid Helm repository URL: parse \"%s\": not an "
			 "http(s) URL with a host", j->url);
		fail(j, "URLInvalid", msg, true);
		return;
	}
	if (source_durations(o, &j->interval_ns, &timeout_s, &why, msg, sizeof(msg)) < 0) {
		fail(j, why, msg, true);
		return;
	}
	j->timeout_ms = (uint64_t)timeout_s * 1000;
	/* An artifact that left the store is built again (Flux's reconcileStorage). */
	if (path && !storage_has(j->st, path)) {
		cJSON_DeleteItemFromObjectCaseSensitive(rc->status, "artifact");
		cJSON_DeleteItemFromObjectCaseSensitive(rc->status, "url");
		cond_delete(rc->status, "ArtifactInStorage");
	} else if (rev && path) {
		j->last_revision = xstrdup(rev);
	}
	fetch(j, yj_get(o->json, "/spec"));
}

static void finalize(struct rc *rc)
{
	struct helmrepo_ctl *g = ctl_data(rc->ctl);

	etag_free(hmap_remove(&g->etags, rc->key));
	source_finalize(rc, g->storage);
}

void helmrepo_ctl_release(struct helmrepo_ctl *g)
{
	size_t it = 0;
	const char *k;
	void *v;

	while (hmap_next(&g->etags, &it, &k, &v))
		etag_free(v);
	hmap_release(&g->etags);
}

const struct ctl_desc helmrepository_desc = {
	.name = "helmrepository",
	.component = "source-controller",
	.kind = KIND,
	.api_version = "source.toolkit.fluxcd.io/v1",
	.ref = { .group = "source.toolkit.fluxcd.io", .version = "v1",
		 .resource = "helmrepositories" },
	.retry = BACKOFF_RECONCILE,
	.source = true,
	.job_size = sizeof(struct hrjob),
	.job_release = job_release,
	.reconcile = reconcile,
	.finalize = finalize,
};
