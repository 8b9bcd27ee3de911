/*
 * itest_oci.c: lib/source/oci.c against the real registries of
 * test/cluster/servers.sh (Debian's docker-registry, distribution 2.8):
 * open over HTTP, htpasswd basic auth over HTTP and HTTPS (TEST_CA),
 * token auth with its token server, HTTPS requiring a client certificate
 * (mutual TLS), and through an HTTP proxy (tinyproxy, basic auth).
 *
 * What a real registry will not do on its own — serve a blob longer than
 * its manifest says, serve bytes that do not match their digest — it does
 * once its manifest lies or its filesystem storage is edited behind its
 * back, which these tests do ($REGISTRY_DATA).  A 100 MB manifest, which
 * distribution refuses to serve, comes from the fault proxy (test/faults)
 * in front of the HTTPS registry.
 *
 * Artifacts are pushed with oci.c's own push, in the format of `flux push
 * artifact`; compatibility with the flux CLI itself is test/e2e/oci.sh's.
 */
#include <fcntl.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "base/buf.h"
#include "base/path.h"
#include "itest.h"
#include "source/artifact.h"
#include "source/oci.h"
#include "yj/yj.h"

static const char *env(const char *k)
{
	const char *v = getenv(k);

	if (!v || !*v)
		harness__fail(__FILE__, __LINE__, "$%s is not set (run under test/run.sh)", k);
	return v;
}

static char *slurp(const char *path)
{
	struct buf b = BUF_INIT(1 << 24);
	char chunk[4096];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		harness__fail(__FILE__, __LINE__, "cannot read %s", path);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	return buf_detach(&b, NULL);
}

/* Replace a file's bytes in place (the registry's store, behind its back). */
static void overwrite(const char *path, const char *data, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0)
		harness__fail(__FILE__, __LINE__, "cannot overwrite %s", path);
}

/* ---- waiting for callbacks ---- */

struct w {
	bool done;
	int r;
	struct op_err err;
	char digest[ARTIFACT_DIGEST_MAX];
	struct oci_pull_result res; /* a copy; annotations kept */
	char **tags;
	size_t n_tags;
};

static void wait_for(uv_loop_t *loop, struct w *w)
{
	uint64_t start = uv_now(loop);

	while (!w->done) {
		uv_run(loop, UV_RUN_ONCE);
		uv_update_time(loop);
		if (uv_now(loop) - start > 120000)
			harness__fail(__FILE__, __LINE__, "timed out");
	}
}

static void w_reset(struct w *w)
{
	oci_pull_result_release(&w->res);
	for (size_t i = 0; i < w->n_tags; i++)
		free(w->tags[i]);
	free(w->tags);
	memset(w, 0, sizeof(*w));
}

static void done_cb(int r, const struct op_err *err, void *payload)
{
	struct w *w = payload;

	w->done = true;
	w->r = r;
	if (err)
		w->err = *err;
}

static void put_cb(int r, const char *digest, const struct op_err *err, void *payload)
{
	struct w *w = payload;

	done_cb(r, err, w);
	if (digest)
		snprintf(w->digest, sizeof(w->digest), "%s", digest);
}

static void pull_cb(int r, struct oci_pull_result *res, const struct op_err *err, void *payload)
{
	struct w *w = payload;

	done_cb(r, err, w);
	w->res = *res;
	res->annotations = NULL; /* now ours */
}

static void tags_cb(int r, const char *const *tags, size_t n, const struct op_err *err,
		    void *payload)
{
	struct w *w = payload;

	done_cb(r, err, w);
	w->tags = xcalloc(n + 1, sizeof(*w->tags));
	for (size_t i = 0; i < n; i++)
		w->tags[w->n_tags++] = xstrdup(tags[i]);
}

#define RUN(loop, w, call)                                                                         \
	do {                                                                                       \
		w_reset(&(w));                                                                     \
		ASSERT_OK(call);                                                                   \
		wait_for((loop), &(w));                                                            \
	} while (0)

static void closed_cb(void *p)
{
	*(bool *)p = true;
}

static void client_close(uv_loop_t *loop, struct oci_client *c)
{
	bool closed = false;

	oci_client_close(c, closed_cb, &closed);
	while (!closed)
		uv_run(loop, UV_RUN_ONCE);
}

static void finish_loop(uv_loop_t *loop)
{
	uv_run(loop, UV_RUN_DEFAULT);
	ASSERT_EQ(uv_loop_close(loop), 0);
}

/* A client for `host`/`repo`, with `o` as a template (may be NULL). */
static struct oci_client *client(uv_loop_t *loop, const char *host, const char *repo,
				 const struct oci_client_opts *tmpl)
{
	struct oci_client_opts o = OCI_CLIENT_OPTS_INIT;
	struct oci_client *c;
	struct op_err e = OP_ERR_INIT;

	if (tmpl)
		o = *tmpl;
	o.host = host;
	o.repo = repo;
	o.no_env_proxy = true;
	if (!o.timeout_ms)
		o.timeout_ms = 60000;
	if (oci_client_new(loop, &o, &c, &e) < 0)
		harness__fail(__FILE__, __LINE__, "oci_client_new: %s", e.msg);
	return c;
}

/* ---- pushing a Flux artifact ---- */

/* Write `files` ("name", "content", ..., NULL) under a new directory; return it. */
static char *make_tree(const char *const *files)
{
	char *dir = xasprintf("%s/tree-%d", harness_tmpdir(), rand());

	ASSERT_OK(mkdir(dir, 0755));
	for (size_t i = 0; files[i]; i += 2) {
		char *p = xasprintf("%s/%s", dir, files[i]), *slash = strrchr(p, '/');

		*slash = '\0';
		(void)mkdir(p, 0755);
		*slash = '/';
		ASSERT_OK(path_write_file(p, files[i + 1], strlen(files[i + 1]), 0644));
		free(p);
	}
	return dir;
}

struct pushed {
	char manifest[ARTIFACT_DIGEST_MAX]; /* what the tag points at */
	char layer[ARTIFACT_DIGEST_MAX];
	uint64_t layer_size;
	char *manifest_json;
};

/*
 * Push `files` as a Flux artifact to `tag` with client `c` (opened with
 * push).  When `lie_size` is not 0, the manifest declares that size for
 * the layer instead of the real one.
 */
static void push_files(uv_loop_t *loop, struct oci_client *c, const char *tag,
		       const char *const *files, uint64_t lie_size, struct pushed *out)
{
	char *dir = make_tree(files), *tgz = xasprintf("%s.tgz", dir);
	struct artifact_info ai;
	struct op_err e = OP_ERR_INIT;
	struct oci_desc cfg = { .media_type = OCI_MT_FLUX_CONFIG }, lay = { .media_type = OCI_MT_FLUX_CONTENT };
	cJSON *ann = cJSON_CreateObject();
	char hex[65];
	struct w w = { 0 };

	if (artifact_archive(dir, NULL, NULL, NULL, tgz, &ai, &e) < 0)
		harness__fail(__FILE__, __LINE__, "archive: %s", e.msg);
	snprintf(lay.digest, sizeof(lay.digest), "%s", ai.digest);
	lay.size = lie_size ? lie_size : ai.size;
	yj_sha256_hex("{}", 2, hex);
	snprintf(cfg.digest, sizeof(cfg.digest), "sha256:%s", hex);
	cfg.size = 2;
	RUN(loop, w, oci_blob_push(c, NULL, tgz, ai.size, ai.digest, done_cb, &w));
	if (w.r < 0)
		harness__fail(__FILE__, __LINE__, "push layer: %s", w.err.msg);
	RUN(loop, w, oci_blob_push(c, "{}", NULL, 2, cfg.digest, done_cb, &w));
	ASSERT_OK(w.r);
	cJSON_AddStringToObject(ann, OCI_ANN_CREATED, "2026-01-01T00:00:00Z");
	cJSON_AddStringToObject(ann, OCI_ANN_SOURCE, "https://example.com/cflux");
	cJSON_AddStringToObject(ann, OCI_ANN_REVISION, tag);
	out->manifest_json = oci_manifest_build(&cfg, &lay, ann);
	RUN(loop, w, oci_manifest_put(c, tag, out->manifest_json, strlen(out->manifest_json),
				      OCI_MT_MANIFEST, put_cb, &w));
	if (w.r < 0)
		harness__fail(__FILE__, __LINE__, "put manifest: %s", w.err.msg);
	snprintf(out->manifest, sizeof(out->manifest), "%s", w.digest);
	snprintf(out->layer, sizeof(out->layer), "%s", ai.digest);
	out->layer_size = ai.size;
	w_reset(&w);
	cJSON_Delete(ann);
	free(tgz);
	free(dir);
}

static const char *const app_v1[] = { "deploy/cm.yaml", "kind: ConfigMap\nv: 1\n", "README.md",
				      "hello\n", NULL };
static const char *const app_v2[] = { "deploy/cm.yaml", "kind: ConfigMap\nv: 2\n", NULL };

/* Pull `tag` into a fresh layer file and check the extracted deploy/cm.yaml says `want`. */
static void pull_and_check(uv_loop_t *loop, struct oci_client *c, const struct oci_pull_opts *po,
			   const char *want, struct w *w)
{
	struct oci_pull_opts o = *po;
	char *layer = xasprintf("%s/layer-%d.tgz", harness_tmpdir(), rand());
	char *dest = xasprintf("%s/out-%d", harness_tmpdir(), rand()), *cm, *got;

	o.layer_path = layer;
	RUN(loop, *w, oci_pull(c, &o, pull_cb, w));
	if (w->r < 0)
		harness__fail(__FILE__, __LINE__, "pull: %s", w->err.msg);
	ASSERT_OK(mkdir(dest, 0755));
	ASSERT_OK(artifact_extract(layer, dest, NULL, NULL));
	cm = xasprintf("%s/deploy/cm.yaml", dest);
	got = slurp(cm);
	ASSERT_STREQ(got, want);
	free(got);
	free(cm);
	free(dest);
	free(layer);
}

static int count_in(const char *path, const char *needle)
{
	char *s = slurp(path);
	int n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p++)
		n++;
	free(s);
	return n;
}

/* Waits until the file has not grown for 300 ms (at most 5 s). */
static void settle(const char *path)
{
	struct stat st;
	off_t last = -1;

	for (int i = 0; i < 17; i++) {
		off_t size = stat(path, &st) == 0 ? st.st_size : -1;

		if (size == last)
			return;
		last = size;
		usleep(300000);
	}
}

/* ---- the tests ---- */

TEST(open_registry_push_pull_and_no_op)
{
	uv_loop_t loop;
	struct oci_client_opts po = { .push = true };
	struct oci_client *c;
	struct pushed p1 = { 0 }, p2 = { 0 };
	struct oci_pull_opts o = { .tag = "v1" };
	struct w w = { 0 };
	char rev[300], *log = xasprintf("%s/registry.log", env("SERVERS_DIR")), *head;
	int heads, gets;

	uv_loop_init(&loop);
	c = client(&loop, env("REGISTRY_HOST"), "itest/open", &po);
	push_files(&loop, c, "v1", app_v1, 0, &p1);
	pull_and_check(&loop, c, &o, "kind: ConfigMap\nv: 1\n", &w);
	snprintf(rev, sizeof(rev), "v1@%s", p1.manifest);
	ASSERT_STREQ(w.res.revision, rev);
	ASSERT_STREQ(w.res.tag, "v1");
	ASSERT_STREQ(w.res.digest, p1.manifest);
	ASSERT(!w.res.unchanged);
	ASSERT_STREQ(w.res.layer_digest, p1.layer);
	ASSERT_STREQ(w.res.layer_media_type, OCI_MT_FLUX_CONTENT);
	ASSERT_STREQ(yj_get_str(w.res.annotations, "/" OCI_ANN_SOURCE), "https://example.com/cflux");
	ASSERT_STREQ(yj_get_str(w.res.annotations, "/" OCI_ANN_REVISION), "v1");

	/* The no-op: one manifest HEAD, nothing downloaded. The registry
	 * writes its access log asynchronously, so the counts before it are
	 * taken once the log has settled (CI once counted one GET short). */
	head = xasprintf("\"HEAD /v2/itest/open/manifests/v1 ");
	settle(log);
	heads = count_in(log, head);
	gets = count_in(log, "\"GET /v2/itest/open/");
	o.unchanged_revision = rev;
	o.layer_path = "/nonexistent/never-written";
	RUN(&loop, w, oci_pull(c, &o, pull_cb, &w));
	ASSERT_OK(w.r);
	ASSERT(w.res.unchanged);
	ASSERT_STREQ(w.res.revision, rev);
	settle(log);
	ASSERT_EQ(count_in(log, head), heads + 1);
	ASSERT_EQ(count_in(log, "\"GET /v2/itest/open/"), gets);

	/* A new push to the tag is a new revision. */
	push_files(&loop, c, "v1", app_v2, 0, &p2);
	o.layer_path = NULL;
	pull_and_check(&loop, c, &o, "kind: ConfigMap\nv: 2\n", &w);
	ASSERT(!w.res.unchanged);
	snprintf(rev, sizeof(rev), "v1@%s", p2.manifest);
	ASSERT_STREQ(w.res.revision, rev);

	/* By digest: the revision is the digest alone, the old content still there. */
	memset(&o, 0, sizeof(o));
	o.digest = p1.manifest;
	pull_and_check(&loop, c, &o, "kind: ConfigMap\nv: 1\n", &w);
	ASSERT_STREQ(w.res.revision, p1.manifest);
	ASSERT_STREQ(w.res.tag, "");
	w_reset(&w);
	client_close(&loop, c);
	finish_loop(&loop);
	free(p1.manifest_json);
	free(p2.manifest_json);
	free(head);
	free(log);
}

TEST(semver_tags_and_missing_tag)
{
	uv_loop_t loop;
	struct oci_client_opts po = { .push = true };
	struct oci_client *c;
	struct pushed p = { 0 };
	struct oci_pull_opts o = { 0 };
	struct w w = { 0 };
	static const char *const tags[] = { "1.0.0", "1.1.0", "2.0.0-rc.1", "v1.2.0", "latest" };
	bool seen[5] = { 0 };

	uv_loop_init(&loop);
	c = client(&loop, env("REGISTRY_HOST"), "itest/semver", &po);
	for (size_t i = 0; i < 5; i++) {
		push_files(&loop, c, tags[i], app_v1, 0, &p);
		free(p.manifest_json);
	}
	RUN(&loop, w, oci_tags_list(c, tags_cb, &w));
	ASSERT_OK(w.r);
	ASSERT_EQ(w.n_tags, 5);
	for (size_t i = 0; i < w.n_tags; i++)
		for (size_t j = 0; j < 5; j++)
			seen[j] |= strcmp(w.tags[i], tags[j]) == 0;
	for (size_t j = 0; j < 5; j++)
		ASSERT(seen[j]);
	o.semver = ">=1.0.0";
	RUN(&loop, w, oci_pull(c, &o, pull_cb, &w));
	ASSERT_OK(w.r);
	ASSERT_STREQ(w.res.tag, "v1.2.0");
	o.semver = "1.x";
	o.semver_filter = "^1\\.\\d\\.0$";
	RUN(&loop, w, oci_pull(c, &o, pull_cb, &w));
	ASSERT_OK(w.r);
	ASSERT_STREQ(w.res.tag, "1.1.0");
	o.semver = ">=5.0.0";
	o.semver_filter = NULL;
	RUN(&loop, w, oci_pull(c, &o, pull_cb, &w));
	ASSERT_EQ(w.r, -ENOENT);
	ASSERT_EQ(w.res.stage, OCI_STAGE_TAG);
	ASSERT_STREQ(w.err.msg, "no match found for semver: >=5.0.0");
	/* A tag that is not there: the registry's own error code comes through. */
	memset(&o, 0, sizeof(o));
	o.tag = "missing";
	RUN(&loop, w, oci_pull(c, &o, pull_cb, &w));
	ASSERT_EQ(w.r, -ENOENT);
	ASSERT_EQ(w.res.stage, OCI_STAGE_DIGEST);
	ASSERT_CONTAINS(w.err.msg, "/v2/itest/semver/manifests/missing: 404 MANIFEST_UNKNOWN");
	/* No default tag pushed here: "latest" is pulled when no ref is given. */
	memset(&o, 0, sizeof(o));
	RUN(&loop, w, oci_pull(c, &o, pull_cb, &w));
	ASSERT_OK(w.r);
	ASSERT_STREQ(w.res.tag, "latest");
	w_reset(&w);
	client_close(&loop, c);
	finish_loop(&loop);
}

TEST(basic_auth_over_http_and_https)
{
	uv_loop_t loop;
	struct oci_client_opts po = { .push = true };
	struct oci_client *c;
	struct pushed p = { 0 };
	struct oci_pull_opts o = { .tag = "v1" };
	struct w w = { 0 };
	char *ca = slurp(env("TEST_CA"));
	char *cfg = xasprintf("{\"auths\":{\"%s\":{\"auth\":\"%s\"}}}", env("REGISTRY_TLS_HOST"),
			      "placeholder");
	char *plain = xasprintf("%s:%s", env("REGISTRY_USER"), env("REGISTRY_PASSWORD"));
	char *auth = b64_encode(plain, strlen(plain));
	const char *cfgs[1];

	uv_loop_init(&loop);
	/* HTTP, username and password. */
	po.username = env("REGISTRY_USER");
	po.password = env("REGISTRY_PASSWORD");
	c = client(&loop, env("REGISTRY_AUTH_HOST"), "itest/basic", &po);
	push_files(&loop, c, "v1", app_v1, 0, &p);
	free(p.manifest_json);
	pull_and_check(&loop, c, &o, "kind: ConfigMap\nv: 1\n", &w);
	client_close(&loop, c);
	/* A wrong password: refused, and said so. */
	po.password = "wrong";
	c = client(&loop, env("REGISTRY_AUTH_HOST"), "itest/basic", &po);
	RUN(&loop, w, oci_pull(c, &o, pull_cb, &w));
	ASSERT_EQ(w.r, -EACCES);
	ASSERT_EQ(w.res.stage, OCI_STAGE_DIGEST);
	ASSERT_CONTAINS(w.err.msg, "the registry refused the credentials");
	ASSERT(!strstr(w.err.msg, "wrong"));
	client_close(&loop, c);
	/* None at all. */
	c = client(&loop, env("REGISTRY_AUTH_HOST"), "itest/basic", NULL);
	RUN(&loop, w, oci_pull(c, &o, pull_cb, &w));
	ASSERT_EQ(w.r, -EACCES);
	ASSERT_CONTAINS(w.err.msg, "required: no credentials given");
	client_close(&loop, c);

	/* HTTPS with the test CA, credentials from a dockerconfigjson. */
	free(cfg);
	cfg = xasprintf("{\"auths\":{\"https://%s\":{\"auth\":\"%s\"}}}", env("REGISTRY_TLS_HOST"),
			auth);
	cfgs[0] = cfg;
	memset(&po, 0, sizeof(po));
	po.push = true;
	po.docker_configs = cfgs;
	po.n_docker_configs = 1;
	po.ca_pem = ca;
	c = client(&loop, env("REGISTRY_TLS_HOST"), "itest/tls", &po);
	push_files(&loop, c, "v1", app_v1, 0, &p);
	free(p.manifest_json);
	pull_and_check(&loop, c, &o, "kind: ConfigMap\nv: 1\n", &w);
	client_close(&loop, c);
	/* Without the CA: a TLS error, not the plain-HTTP fallback's 400. */
	po.ca_pem = NULL;
	c = client(&loop, env("REGISTRY_TLS_HOST"), "itest/tls", &po);
	RUN(&loop, w, oci_pull(c, &o, pull_cb, &w));
	ASSERT_EQ(w.r, -EPROTO);
	ASSERT_CONTAINS(w.err.msg, "https://");
	ASSERT_CONTAINS(w.err.msg, "certificate");
	client_close(&loop, c);
	/* insecure: TLS without verification. */
	po.insecure = true;
	c = client(&loop, env("REGISTRY_TLS_HOST"), "itest/tls", &po);
	RUN(&loop, w, oci_pull(c, &o, pull_cb, &w));
	ASSERT_OK(w.r);
	client_close(&loop, c);
	w_reset(&w);
	finish_loop(&loop);
	free(ca);
	free(cfg);
	free(plain);
	free(auth);
}

TEST(token_auth)
{
	uv_loop_t loop;
	struct oci_client_opts po = { .push = true };
	struct oci_client *c;
	struct pushed p = { 0 };
	struct oci_pull_opts o = { .tag = "v1" };
	struct w w = { 0 };
	char *plain = xasprintf("%s:%s", env("REGISTRY_USER"), env("REGISTRY_PASSWORD"));
	char *auth = b64_encode(plain, strlen(plain));
	char *cfg = xasprintf("{\"auths\":{\"%s\":{\"auth\":\"%s\"}}}", env("REGISTRY_TOKEN_HOST"),
			      auth);
	const char *cfgs[] = { "{\"auths\":{\"elsewhere.io\":{\"auth\":\"eDp5\"}}}", cfg };

	uv_loop_init(&loop);
	po.docker_configs = cfgs;
	po.n_docker_configs = 2;
	c = client(&loop, env("REGISTRY_TOKEN_HOST"), "itest/private", &po);
	push_files(&loop, c, "v1", app_v1, 0, &p);
	free(p.manifest_json);
	pull_and_check(&loop, c, &o, "kind: ConfigMap\nv: 1\n", &w);
	client_close(&loop, c);
	c = client(&loop, env("REGISTRY_TOKEN_HOST"), "public/app", &po);
	push_files(&loop, c, "v1", app_v1, 0, &p);
	free(p.manifest_json);
	client_close(&loop, c);
	/* Anonymous: public/ pulls, a private repository does not. */
	c = client(&loop, env("REGISTRY_TOKEN_HOST"), "public/app", NULL);
	pull_and_check(&loop, c, &o, "kind: ConfigMap\nv: 1\n", &w);
	client_close(&loop, c);
	c = client(&loop, env("REGISTRY_TOKEN_HOST"), "itest/private", NULL);
	RUN(&loop, w, oci_pull(c, &o, pull_cb, &w));
	ASSERT_EQ(w.r, -EACCES);
	ASSERT_CONTAINS(w.err.msg, "no credentials given");
	client_close(&loop, c);
	/* Wrong credentials: the token server says no. */
	po.username = env("REGISTRY_USER");
	po.password = "wrong-password";
	po.push = false;
	c = client(&loop, env("REGISTRY_TOKEN_HOST"), "itest/private", &po);
	RUN(&loop, w, oci_pull(c, &o, pull_cb, &w));
	ASSERT_EQ(w.r, -EACCES);
	ASSERT_CONTAINS(w.err.msg, "the token server refused the credentials");
	ASSERT(!strstr(w.err.msg, "wrong-password"));
	client_close(&loop, c);
	w_reset(&w);
	finish_loop(&loop);
	free(cfg);
	free(auth);
	free(plain);
}

/*
 * The registry that requires a client certificate (http.tls.clientcas),
 * and basic auth after it: the test CA's client certificate pushes and
 * pulls; none at all, or one the registry does not take (the server's
 * own, which is for serverAuth only), ends in the TLS alert, named as
 * such and as what it means.
 */
TEST(mutual_tls_registry)
{
	uv_loop_t loop;
	struct oci_client_opts po = { .push = true };
	struct oci_client *c;
	struct pushed p = { 0 };
	struct oci_pull_opts o = { .tag = "v1" };
	struct w w = { 0 };
	char *ca = slurp(env("TEST_CA"));
	char *cert = slurp(env("TEST_CLIENT_CERT")), *key = slurp(env("TEST_CLIENT_KEY"));
	char *spath = xasprintf("%s/pki/server.crt", env("SERVERS_DIR"));
	char *kpath = xasprintf("%s/pki/server.key", env("SERVERS_DIR"));
	char *scert = slurp(spath), *skey = slurp(kpath);

	uv_loop_init(&loop);
	po.username = env("REGISTRY_USER");
	po.password = env("REGISTRY_PASSWORD");
	po.ca_pem = ca;
	po.cert_pem = cert;
	po.key_pem = key;
	c = client(&loop, env("REGISTRY_MTLS_HOST"), "itest/mtls", &po);
	push_files(&loop, c, "v1", app_v1, 0, &p);
	free(p.manifest_json);
	pull_and_check(&loop, c, &o, "kind: ConfigMap\nv: 1\n", &w);
	client_close(&loop, c);
	/* No client certificate: refused by the registry, the cause named. */
	po.push = false;
	po.cert_pem = po.key_pem = NULL;
	for (int i = 0; i < 5; i++) { /* once flaky: a bare "select/poll returned error" */
		c = client(&loop, env("REGISTRY_MTLS_HOST"), "itest/mtls", &po);
		RUN(&loop, w, oci_pull(c, &o, pull_cb, &w));
		ASSERT(w.r < 0);
		ASSERT_EQ(w.res.stage, OCI_STAGE_DIGEST);
		ASSERT_CONTAINS(w.err.msg, "https://");
		ASSERT_CONTAINS(w.err.msg, "the registry refused the TLS handshake (alert bad certificate)"
					   ": it requires a client certificate, and none was given");
		client_close(&loop, c);
	}
	/* A certificate it does not take. */
	po.cert_pem = scert;
	po.key_pem = skey;
	c = client(&loop, env("REGISTRY_MTLS_HOST"), "itest/mtls", &po);
	RUN(&loop, w, oci_pull(c, &o, pull_cb, &w));
	ASSERT(w.r < 0);
	ASSERT_CONTAINS(w.err.msg, "it does not accept the client certificate given");
	client_close(&loop, c);
	w_reset(&w);
	finish_loop(&loop);
	free(ca);
	free(cert);
	free(key);
	free(scert);
	free(skey);
	free(spath);
	free(kpath);
}

/*
 * proxy_url: through the real HTTP proxy (tinyproxy, basic auth), whose
 * log shows each request; a wrong proxy password is refused by it and
 * said so, without the password.
 */
TEST(through_an_http_proxy)
{
	uv_loop_t loop;
	struct oci_client_opts po = { .push = true };
	struct oci_client *c;
	struct pushed p = { 0 };
	struct oci_pull_opts o = { .tag = "v1" };
	struct w w = { 0 };
	char *ca = slurp(env("TEST_CA"));
	char *connect = xasprintf("CONNECT %s ", env("REGISTRY_TLS_HOST"));
	char *plain = xasprintf("CONNECT %s ", env("REGISTRY_HOST"));
	int before_tls = count_in(env("PROXY_LOG"), connect);
	int before_plain = count_in(env("PROXY_LOG"), plain);

	uv_loop_init(&loop);
	/* HTTPS: a CONNECT tunnel, TLS to the registry inside it. */
	po.username = env("REGISTRY_USER");
	po.password = env("REGISTRY_PASSWORD");
	po.ca_pem = ca;
	po.proxy_url = env("PROXY_URL");
	po.proxy_user = env("PROXY_USER");
	po.proxy_pass = env("PROXY_PASSWORD");
	c = client(&loop, env("REGISTRY_TLS_HOST"), "itest/proxied", &po);
	push_files(&loop, c, "v1", app_v1, 0, &p);
	free(p.manifest_json);
	pull_and_check(&loop, c, &o, "kind: ConfigMap\nv: 1\n", &w);
	client_close(&loop, c);
	settle(env("PROXY_LOG"));
	ASSERT(count_in(env("PROXY_LOG"), connect) > before_tls);
	/* Plain HTTP: tunnelled too (as GitRepository's transport does). */
	po.username = po.password = NULL;
	po.ca_pem = NULL;
	c = client(&loop, env("REGISTRY_HOST"), "itest/proxied", &po);
	push_files(&loop, c, "v1", app_v1, 0, &p);
	free(p.manifest_json);
	pull_and_check(&loop, c, &o, "kind: ConfigMap\nv: 1\n", &w);
	client_close(&loop, c);
	settle(env("PROXY_LOG"));
	ASSERT(count_in(env("PROXY_LOG"), plain) > before_plain);
	/* A wrong proxy password: the proxy's 407, named. */
	po.push = false;
	po.proxy_pass = "proxy-pass-xyzzy";
	c = client(&loop, env("REGISTRY_HOST"), "itest/proxied", &po);
	RUN(&loop, w, oci_pull(c, &o, pull_cb, &w));
	ASSERT(w.r < 0);
	ASSERT_EQ(w.r, -EACCES);
	ASSERT_CONTAINS(w.err.msg, "the proxy refused the proxy username and password");
	ASSERT(!strstr(w.err.msg, "xyzzy"));
	client_close(&loop, c);
	w_reset(&w);
	finish_loop(&loop);
	free(ca);
	free(connect);
	free(plain);
}

/* The file the registry keeps a blob's bytes in. */
static char *blob_data_path(const char *store, const char *digest)
{
	return xasprintf("%s/docker/registry/v2/blobs/sha256/%.2s/%s/data", store, digest + 7,
			 digest + 7);
}

TEST(hostile_registry_answers)
{
	uv_loop_t loop;
	struct oci_client_opts po = { .push = true };
	struct oci_client *c;
	struct pushed p = { 0 };
	struct oci_pull_opts o = { .tag = "big" };
	struct w w = { 0 };
	char *store = xasprintf("%s/registry", env("REGISTRY_DATA")), *path, *layer;
	static const char *const other[] = { "x.yaml", "other content\n", NULL };
	struct stat sb;

	uv_loop_init(&loop);
	c = client(&loop, env("REGISTRY_HOST"), "itest/hostile", &po);

	/* A blob longer than its manifest says: cut off at the declared size. */
	push_files(&loop, c, "big", app_v1, 10, &p);
	layer = xasprintf("%s/layer-big.tgz", harness_tmpdir());
	o.layer_path = layer;
	RUN(&loop, w, oci_pull(c, &o, pull_cb, &w));
	ASSERT_EQ(w.r, -EFBIG);
	ASSERT_EQ(w.res.stage, OCI_STAGE_PULL);
	ASSERT_CONTAINS(w.err.msg, "is larger than its declared size of 10 bytes");
	ASSERT(stat(layer, &sb) < 0); /* nothing left behind */
	free(p.manifest_json);

	/* Bytes that do not match their digest (the store edited behind the registry's back). */
	push_files(&loop, c, "tampered", other, 0, &p);
	path = blob_data_path(store, p.layer);
	{
		char *junk;

		/* Same size, other bytes. */
		ASSERT_OK(stat(path, &sb));
		junk = xmalloc((size_t)sb.st_size);
		memset(junk, 'x', (size_t)sb.st_size);
		overwrite(path, junk, (size_t)sb.st_size);
		free(junk);
	}
	o.tag = "tampered";
	RUN(&loop, w, oci_pull(c, &o, pull_cb, &w));
	ASSERT_EQ(w.r, -EBADMSG);
	ASSERT_CONTAINS(w.err.msg, "blob digest mismatch");
	ASSERT(stat(layer, &sb) < 0);
	free(path);
	free(p.manifest_json);

	/* No layer of the asked media type. */
	push_files(&loop, c, "plain", app_v1, 0, &p);
	o.tag = "plain";
	o.layer_media_type = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
	RUN(&loop, w, oci_pull(c, &o, pull_cb, &w));
	ASSERT_EQ(w.r, -ENOENT);
	ASSERT_EQ(w.res.stage, OCI_STAGE_LAYER);
	ASSERT_STREQ(w.err.msg, "failed to find layer with media type "
				"'application/vnd.cncf.helm.chart.content.v1.tar+gzip' in artifact");
	free(p.manifest_json);
	w_reset(&w);
	client_close(&loop, c);
	finish_loop(&loop);
	free(layer);
	free(store);
}

TEST(index_picks_linux_amd64)
{
	uv_loop_t loop;
	struct oci_client_opts po = { .push = true };
	struct oci_client *c;
	struct pushed a = { 0 }, b = { 0 };
	struct oci_pull_opts o = { .tag = "multi" };
	struct w w = { 0 };
	char *idx;

	uv_loop_init(&loop);
	c = client(&loop, env("REGISTRY_HOST"), "itest/index", &po);
	push_files(&loop, c, "arm", app_v1, 0, &a);
	push_files(&loop, c, "amd", app_v2, 0, &b);
	idx = xasprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":["
			"{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu,"
			"\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}},"
			"{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu,"
			"\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}",
			OCI_MT_INDEX, OCI_MT_MANIFEST, a.manifest, strlen(a.manifest_json),
			OCI_MT_MANIFEST, b.manifest, strlen(b.manifest_json));
	RUN(&loop, w, oci_manifest_put(c, "multi", idx, strlen(idx), OCI_MT_INDEX, put_cb, &w));
	ASSERT_OK(w.r);
	{
		char idx_digest[ARTIFACT_DIGEST_MAX], rev[300];

		snprintf(idx_digest, sizeof(idx_digest), "%s", w.digest);
		pull_and_check(&loop, c, &o, "kind: ConfigMap\nv: 2\n", &w);
		/* The revision is the index's digest; the content the amd64 child's. */
		snprintf(rev, sizeof(rev), "multi@%s", idx_digest);
		ASSERT_STREQ(w.res.revision, rev);
		ASSERT_STREQ(w.res.layer_digest, b.layer);
	}
	w_reset(&w);
	client_close(&loop, c);
	finish_loop(&loop);
	free(idx);
	free(a.manifest_json);
	free(b.manifest_json);
}

/* ---- cosign: a signature pushed as cosign lays it out, made here with mbedTLS ---- */

static void push_signature(uv_loop_t *loop, struct oci_client *c, const char *digest,
			   mbedtls_pk_context *pk, mbedtls_ctr_drbg_context *drbg)
{
	char *payload = xasprintf("{\"critical\":{\"identity\":{\"docker-reference\":\"%s\"},"
				  "\"image\":{\"docker-manifest-digest\":\"%s\"},\"type\":\"cosign "
				  "container image signature\"},\"optional\":null}",
				  oci_client_name(c), digest);
	unsigned char hash[32], sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
	char hex[65], *sigb64, *m, tag[80];
	char pdig[80], cdig[80];
	size_t n;
	struct w w = { 0 };

	mbedtls_sha256_ret((unsigned char *)payload, strlen(payload), hash, 0);
	ASSERT_OK(mbedtls_pk_sign(pk, MBEDTLS_MD_SHA256, hash, 32, sig, &n,
				  mbedtls_ctr_drbg_random, drbg));
	sigb64 = b64_encode(sig, n);
	yj_sha256_hex(payload, strlen(payload), hex);
	snprintf(pdig, sizeof(pdig), "sha256:%s", hex);
	yj_sha256_hex("{}", 2, hex);
	snprintf(cdig, sizeof(cdig), "sha256:%s", hex);
	RUN(loop, w, oci_blob_push(c, payload, NULL, strlen(payload), pdig, done_cb, &w));
	ASSERT_OK(w.r);
	RUN(loop, w, oci_blob_push(c, "{}", NULL, 2, cdig, done_cb, &w));
	ASSERT_OK(w.r);
	m = xasprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":"
		      "\"application/vnd.oci.image.config.v1+json\",\"size\":2,\"digest\":\"%s\"},"
		      "\"layers\":[{\"mediaType\":\"%s\",\"size\":%zu,\"digest\":\"%s\","
		      "\"annotations\":{\"dev.cosignproject.cosign/signature\":\"%s\"}}]}",
		      OCI_MT_MANIFEST, cdig, OCI_MT_COSIGN_PAYLOAD, strlen(payload), pdig, sigb64);
	snprintf(tag, sizeof(tag), "sha256-%s.sig", digest + 7);
	RUN(loop, w, oci_manifest_put(c, tag, m, strlen(m), OCI_MT_MANIFEST, put_cb, &w));
	ASSERT_OK(w.r);
	w_reset(&w);
	free(m);
	free(sigb64);
	free(payload);
}

TEST(cosign_verification_before_the_pull)
{
	uv_loop_t loop;
	struct oci_client_opts po = { .push = true };
	struct oci_client *c;
	struct pushed signed_ = { 0 }, unsigned_ = { 0 }, wrong = { 0 };
	struct oci_pull_opts o = { .tag = "signed" };
	struct w w = { 0 };
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_pk_context good, bad;
	char pub[1024];
	const char *keys[1] = { pub };

	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);
	ASSERT_OK(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0));
	mbedtls_pk_init(&good);
	mbedtls_pk_init(&bad);
	ASSERT_OK(mbedtls_pk_setup(&good, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)));
	ASSERT_OK(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(good),
				      mbedtls_ctr_drbg_random, &drbg));
	ASSERT_OK(mbedtls_pk_setup(&bad, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)));
	ASSERT_OK(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(bad),
				      mbedtls_ctr_drbg_random, &drbg));
	ASSERT_OK(mbedtls_pk_write_pubkey_pem(&good, (unsigned char *)pub, sizeof(pub)));

	uv_loop_init(&loop);
	c = client(&loop, env("REGISTRY_HOST"), "itest/cosign", &po);
	push_files(&loop, c, "signed", app_v1, 0, &signed_);
	push_signature(&loop, c, signed_.manifest, &good, &drbg);
	push_files(&loop, c, "unsigned", app_v2, 0, &unsigned_);
	push_files(&loop, c, "wrong", app_v2, 0, &wrong);
	push_signature(&loop, c, wrong.manifest, &bad, &drbg);

	o.cosign_keys = keys;
	o.n_keys = 1;
	pull_and_check(&loop, c, &o, "kind: ConfigMap\nv: 1\n", &w);
	ASSERT(w.res.verified);
	o.tag = "unsigned";
	RUN(&loop, w, oci_pull(c, &o, pull_cb, &w));
	ASSERT_EQ(w.r, -EBADMSG);
	ASSERT_EQ(w.res.stage, OCI_STAGE_VERIFY);
	ASSERT_CONTAINS(w.err.msg, "no matching signatures were found for '");
	ASSERT_CONTAINS(w.err.msg, "/itest/cosign:unsigned': no signature was pushed");
	o.tag = "wrong";
	RUN(&loop, w, oci_pull(c, &o, pull_cb, &w));
	ASSERT_EQ(w.r, -EBADMSG);
	ASSERT_CONTAINS(w.err.msg, "does not verify with any of the 1 public key(s)");
	w_reset(&w);
	client_close(&loop, c);
	finish_loop(&loop);
	free(signed_.manifest_json);
	free(unsigned_.manifest_json);
	free(wrong.manifest_json);
	mbedtls_pk_free(&good);
	mbedtls_pk_free(&bad);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
}

TEST(close_cancels_a_pull_in_flight)
{
	uv_loop_t loop;
	struct oci_client *c;
	struct oci_pull_opts o = { .tag = "v1" };
	struct w w = { 0 };
	bool closed = false;

	uv_loop_init(&loop);
	c = client(&loop, env("REGISTRY_HOST"), "itest/open", NULL);
	ASSERT_OK(oci_pull(c, &o, pull_cb, &w));
	oci_client_close(c, closed_cb, &closed);
	/* The callback ran with -ECANCELED before the client went. */
	while (!closed)
		uv_run(&loop, UV_RUN_ONCE);
	ASSERT(w.done);
	ASSERT_EQ(w.r, -ECANCELED);
	w_reset(&w);
	finish_loop(&loop);
}

/* The process's peak resident memory, in KiB (VmHWM). */
static long peak_rss_kib(void)
{
	char *s = slurp("/proc/self/status"), *p = strstr(s, "VmHWM:");
	long v = p ? strtol(p + 6, NULL, 10) : -1;

	free(s);
	return v;
}

TEST(manifest_of_100_mb_is_refused_in_bounded_memory)
{
	uv_loop_t loop;
	struct oci_client_opts po = { .push = true };
	struct oci_client *c;
	struct pushed p = { 0 };
	struct oci_pull_opts o = { .tag = "huge" };
	struct itest_proxy fp;
	struct w w = { 0 };
	char *ca = slurp(env("TEST_CA")), *host;
	long before;

	itest_proxy_start(&fp, env("REGISTRY_TLS_URL"), env("TEST_CA"));
	itest_proxy_rules(&fp, "[{\"method\":\"GET\",\"path\":\"/manifests/\","
			  "\"action\":\"enlarge\",\"size\":104857600}]");
	uv_loop_init(&loop);
	po.username = env("REGISTRY_USER");
	po.password = env("REGISTRY_PASSWORD");
	po.ca_pem = ca;
	c = client(&loop, env("REGISTRY_TLS_HOST"), "itest/huge", &po);
	push_files(&loop, c, "huge", app_v1, 0, &p);
	client_close(&loop, c);
	host = xasprintf("127.0.0.1:%d", fp.port);
	c = client(&loop, host, "itest/huge", &po);
	before = peak_rss_kib();
	o.layer_path = "/nonexistent/never-written";
	RUN(&loop, w, oci_pull(c, &o, pull_cb, &w));
	ASSERT_EQ(w.r, -EFBIG);
	/* The proxy drops HEAD's Content-Length: the tag resolves by GET already. */
	ASSERT(w.res.stage == OCI_STAGE_DIGEST || w.res.stage == OCI_STAGE_PULL);
	ASSERT_CONTAINS(w.err.msg, "manifest is larger than 4194304 bytes");
	/* Cut off at 4 MiB: nowhere near the 100 MB sent. */
	ASSERT(peak_rss_kib() - before < 16 * 1024);
	w_reset(&w);
	client_close(&loop, c);
	finish_loop(&loop);
	itest_proxy_stop(&fp);
	free(p.manifest_json);
	free(host);
	free(ca);
}
