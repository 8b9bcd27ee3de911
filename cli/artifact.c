/*
 * artifact.c: `cflux push artifact`, `cflux pull artifact` and `cflux list
 * artifacts`, compatible with the flux CLI's commands of the same names:
 * the same arguments, media types and annotations, so that an artifact
 * one pushes the other pulls, and an OCIRepository (ours or Flux's)
 * reads either.
 *
 *   push artifact oci://HOST/REPO[:TAG] --path=DIR|FILE --source=URL
 *        --revision=REV [--annotations=K=V]... [--ignore-paths=P,...]
 *        [--reproducible] [--output=json|yaml]
 *   pull artifact oci://HOST/REPO[:TAG|@DIGEST] --output=DIR
 *   list artifacts oci://HOST/REPO [--filter-regex=RE] [--filter-semver=C]
 *
 * Common flags: --creds=USER[:PASSWORD] (else the docker config at
 * $DOCKER_CONFIG/config.json or ~/.docker/config.json, else anonymous),
 * --insecure-registry (plain HTTP; TLS not verified), --provider=generic
 * (the cloud providers are refused: their logins need the cloud),
 * --timeout=DURATION (default 5m).  cflux's own additions, which the
 * flux CLI does not have: --ca-file, --cert-file/--key-file (a registry
 * with a private CA or client certificates).
 *
 * The artifact is Flux's: an OCI image manifest whose config has media
 * type application/vnd.cncf.flux.config.v1+json and whose one layer,
 * application/vnd.cncf.flux.content.v1.tar+gzip, is the gzip'd tar of the
 * directory (a single file is packed alone), minus the ignore rules
 * (default: VCS metadata and Flux's excluded extensions; VCS metadata is
 * never packed); the manifest carries org.opencontainers.image.created,
 * .source and .revision plus the --annotations.  The tar is cflux's
 * deterministic archive (source/artifact.h), so pushing the same tree
 * with --reproducible twice gives the same digest.
 *
 * Messages go to stderr in the flux CLI's form ("► pushing artifact to
 * ...", "✔ ..."); the table of `list` and the --output of `push` go to
 * stdout.
 */
#include <dirent.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/path.h"
#include "base/str.h"
#include "base/time.h"
#include "cli.h"
#include "source/artifact.h"
#include "source/ignore.h"
#include "source/oci.h"
#include "yj/yj.h"
#include "base/banned.h"

/* The flux CLI's default --ignore-paths: VCS metadata and ExcludeExt. */
static const char default_ignore[] = ".git/,.gitignore,.gitmodules,.gitattributes,*.jpg,*.jpeg,"
				     "*.gif,*.png,*.wmv,*.flv,*.tar.gz,*.zip";

struct args {
	const char *url, *path, *source, *revision, *output, *creds, *provider, *timeout;
	const char *ignore_paths, *filter_regex, *filter_semver;
	const char *ca_file, *cert_file, *key_file;
	const char **annotations;
	size_t n_annotations;
	bool insecure, reproducible;
};

static int fail(const char *fmt, ...) _printf_(1, 2);
static int fail(const char *fmt, ...)
{
	va_list ap;

	fputs("✗ ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static void say(const char *mark, const char *fmt, ...) _printf_(2, 3);
static void say(const char *mark, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s ", mark);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- the loop: run one asynchronous call to its end ---- */

struct wait {
	bool done;
	int r;
	struct op_err err;
	char digest[ARTIFACT_DIGEST_MAX];
	struct oci_pull_result res;
	struct oci_manifest *m;
	char **tags;
	size_t n_tags;
};

static void w_done(int r, const struct op_err *err, void *payload)
{
	struct wait *w = payload;

	w->done = true;
	w->r = r;
	if (err)
		w->err = *err;
	else if (r < 0)
		op_err_set(&w->err, r, "%s", op_strerror(r));
}

static void w_put(int r, const char *digest, const struct op_err *err, void *payload)
{
	struct wait *w = payload;

	w_done(r, err, w);
	if (digest)
		snprintf(w->digest, sizeof(w->digest), "%s", digest);
}

static void w_pull(int r, struct oci_pull_result *res, const struct op_err *err, void *payload)
{
	struct wait *w = payload;

	w_done(r, err, w);
	w->res = *res;
	res->annotations = NULL; /* now ours */
}

static void w_manifest(int r, struct oci_manifest *m, const struct op_err *err, void *payload)
{
	struct wait *w = payload;

	w_done(r, err, w);
	w->m = m; /* now ours */
}

static void w_tags(int r, const char *const *tags, size_t n, const struct op_err *err,
		   void *payload)
{
	struct wait *w = payload;

	w_done(r, err, w);
	w->tags = xcalloc(n + 1, sizeof(*w->tags));
	for (size_t i = 0; i < n; i++)
		w->tags[w->n_tags++] = xstrdup(tags[i]);
}

static void w_release(struct wait *w)
{
	oci_pull_result_release(&w->res);
	oci_manifest_free(w->m);
	for (size_t i = 0; i < w->n_tags; i++)
		free(w->tags[i]);
	free(w->tags);
	memset(w, 0, sizeof(*w));
}

/* Start `call` (0 or -errno) and run the loop until its callback; the result is w->r. */
#define RUN(loop, w, call)                                                                         \
	do {                                                                                       \
		int r__;                                                                           \
		w_release(&(w));                                                                   \
		r__ = (call);                                                                      \
		if (r__ < 0)                                                                       \
			w_done(r__, NULL, &(w));                                                   \
		while (!(w).done)                                                                  \
			uv_run((loop), UV_RUN_ONCE);                                               \
	} while (0)

static void closed(void *p)
{
	*(bool *)p = true;
}

/* ---- flags ---- */

enum {
	OPT_SOURCE = 256, OPT_REVISION, OPT_CREDS, OPT_PROVIDER, OPT_IGNORE, OPT_REPRODUCIBLE,
	OPT_INSECURE, OPT_TIMEOUT, OPT_REGEX, OPT_SEMVER, OPT_CA, OPT_CERT, OPT_KEY, OPT_DEBUG,
};

static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "path", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "annotations", required_argument, NULL, 'a' },
		{ "source", required_argument, NULL, OPT_SOURCE },
		{ "revision", required_argument, NULL, OPT_REVISION },
		{ "creds", required_argument, NULL, OPT_CREDS },
		{ "provider", required_argument, NULL, OPT_PROVIDER },
		{ "ignore-paths", required_argument, NULL, OPT_IGNORE },
		{ "reproducible", no_argument, NULL, OPT_REPRODUCIBLE },
		{ "insecure-registry", no_argument, NULL, OPT_INSECURE },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "filter-regex", required_argument, NULL, OPT_REGEX },
		{ "filter-semver", required_argument, NULL, OPT_SEMVER },
		{ "ca-file", required_argument, NULL, OPT_CA },
		{ "cert-file", required_argument, NULL, OPT_CERT },
		{ "key-file", required_argument, NULL, OPT_KEY },
		{ "debug", no_argument, NULL, OPT_DEBUG },
		{ 0 },
	};
	int ch;

	a->annotations = xcalloc((size_t)argc + 1, sizeof(*a->annotations));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "f:o:a:", opts, NULL)) != -1) {
		switch (ch) {
		case 'f': a->path = optarg; break;
		case 'o': a->output = optarg; break;
		case 'a': a->annotations[a->n_annotations++] = optarg; break;
		case OPT_SOURCE: a->source = optarg; break;
		case OPT_REVISION: a->revision = optarg; break;
		case OPT_CREDS: a->creds = optarg; break;
		case OPT_PROVIDER: a->provider = optarg; break;
		case OPT_IGNORE: a->ignore_paths = optarg; break;
		case OPT_REPRODUCIBLE: a->reproducible = true; break;
		case OPT_INSECURE: a->insecure = true; break;
		case OPT_TIMEOUT: a->timeout = optarg; break;
		case OPT_REGEX: a->filter_regex = optarg; break;
		case OPT_SEMVER: a->filter_semver = optarg; break;
		case OPT_CA: a->ca_file = optarg; break;
		case OPT_CERT: a->cert_file = optarg; break;
		case OPT_KEY: a->key_file = optarg; break;
		case OPT_DEBUG: break; /* the flux CLI's library logs; we have none to show */
		default: return -EINVAL;
		}
	}
	if (optind != argc - 1)
		return -EINVAL;
	a->url = argv[optind];
	return 0;
}

static char *read_file(const char *path, size_t max)
{
	struct buf b = BUF_INIT(max);
	char chunk[8192];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_add(&b, chunk, n) < 0) {
			fclose(f);
			buf_release(&b);
			return NULL;
		}
	fclose(f);
	return buf_detach(&b, NULL);
}

/* Everything a client needs from the flags; the strings live in `keep`. */
struct conn {
	struct oci_client_opts o;
	char *user, *pass, *ca, *cert, *key, *docker_config;
	const char *configs[1];
	uint64_t timeout_ms;
};

static void conn_release(struct conn *cn)
{
	free(cn->user);
	free_secret(cn->pass);
	free(cn->ca);
	free(cn->cert);
	free_secret(cn->key);
	free_secret(cn->docker_config);
}

static int conn_init(const struct args *a, const struct oci_ref *ref, bool push, struct conn *cn)
{
	int64_t ns = 5 * 60 * NSEC_PER_SEC;

	memset(cn, 0, sizeof(*cn));
	if (a->provider && !streq(a->provider, "generic"))
		return fail("provider '%s' is not supported by cflux: its login needs the cloud; use "
			    "--creds or a docker config", a->provider);
	if (a->timeout && (duration_parse(a->timeout, &ns) < 0 || ns <= 0))
		return fail("invalid timeout '%s'", a->timeout);
	cn->timeout_ms = (uint64_t)(ns / NSEC_PER_MSEC);
	if (a->creds) {
		const char *colon = strchr(a->creds, ':');

		cn->user = colon ? xstrndup(a->creds, (size_t)(colon - a->creds)) : xstrdup(a->creds);
		cn->pass = xstrdup(colon ? colon + 1 : "");
	} else {
		/* The docker config the flux CLI's default keychain reads. */
		const char *dir = getenv("DOCKER_CONFIG"), *home = getenv("HOME");
		char *p = dir && *dir ? xasprintf("%s/config.json", dir) :
			  home ? xasprintf("%s/.docker/config.json", home) : NULL;

		if (p)
			cn->docker_config = read_file(p, 1 << 20);
		free(p);
	}
	if (a->ca_file && !(cn->ca = read_file(a->ca_file, 1 << 20)))
		return fail("cannot read --ca-file '%s'", a->ca_file);
	if (!a->cert_file != !a->key_file)
		return fail("--cert-file and --key-file go together");
	if (a->cert_file && (!(cn->cert = read_file(a->cert_file, 1 << 20)) ||
			     !(cn->key = read_file(a->key_file, 1 << 20))))
		return fail("cannot read --cert-file or --key-file");
	cn->o.host = ref->host;
	cn->o.repo = ref->repo;
	cn->o.username = cn->user;
	cn->o.password = cn->pass;
	if (cn->docker_config) {
		cn->configs[0] = cn->docker_config;
		cn->o.docker_configs = cn->configs;
		cn->o.n_docker_configs = 1;
	}
	cn->o.ca_pem = cn->ca;
	cn->o.cert_pem = cn->cert;
	cn->o.key_pem = cn->key;
	cn->o.insecure = a->insecure;
	cn->o.push = push;
	cn->o.timeout_ms = cn->timeout_ms;
	cn->o.user_agent = "cflux";
	return 0;
}

static int open_client(uv_loop_t *loop, const struct args *a, const struct oci_ref *ref, bool push,
		       struct conn *cn, struct oci_client **ret)
{
	struct op_err e = OP_ERR_INIT;

	if (conn_init(a, ref, push, cn))
		return 1;
	if (cn->user)
		say("►", "logging in to registry with credentials");
	if (oci_client_new(loop, &cn->o, ret, &e) < 0)
		return fail("%s", e.msg);
	return 0;
}

static void close_client(uv_loop_t *loop, struct oci_client *c)
{
	bool done = false;

	if (!c)
		return;
	oci_client_close(c, closed, &done);
	while (!done)
		uv_run(loop, UV_RUN_ONCE);
}

/* ---- push ---- */

/* The ggcr-shaped config the flux CLI writes: the time of creation and an empty platform. */
static char *config_json(const char *created)
{
	cJSON *c = cJSON_CreateObject(), *rootfs;
	char *s;

	cJSON_AddStringToObject(c, "architecture", "");
	cJSON_AddStringToObject(c, "created", created);
	cJSON_AddStringToObject(c, "os", "");
	rootfs = cJSON_AddObjectToObject(c, "rootfs");
	cJSON_AddStringToObject(rootfs, "type", "layers");
	cJSON_AddArrayToObject(rootfs, "diff_ids");
	cJSON_AddObjectToObject(c, "config");
	s = cJSON_PrintUnformatted(c);
	cJSON_Delete(c);
	return s;
}

/* Pack `path` (a directory, or one file staged alone) into `tgz`. */
static int pack(const char *path, const char *ignore_paths, const char *tmp, const char *tgz,
		struct artifact_info *ai)
{
	struct op_err e = OP_ERR_INIT;
	struct stat st;
	struct ignore *ig;
	char *rules = xstrdup(ignore_paths ? ignore_paths : default_ignore), *dir = NULL;
	int r;

	for (char *p = rules; *p; p++)
		if (*p == ',')
			*p = '\n';
	if (stat(path, &st) < 0) {
		free(rules);
		return fail("invalid path '%s', must point to an existing directory or file: %s", path,
			    op_strerror(errno));
	}
	if (!S_ISDIR(st.st_mode)) {
		const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
		char *data = read_file(path, 1u << 30), *staged;

		if (!data) {
			free(rules);
			return fail("cannot read '%s'", path);
		}
		dir = xasprintf("%s/stage", tmp);
		staged = xasprintf("%s/%s", dir, base);
		r = mkdir(dir, 0700) < 0 ? -errno :
		    path_write_file(staged, data, (size_t)st.st_size, st.st_mode & 0777);
		free(staged);
		free(data);
		if (r < 0) {
			free(rules);
			free(dir);
			return fail("cannot stage '%s': %s", path, op_strerror(r));
		}
	}
	ig = ignore_new(NULL, rules);
	r = artifact_archive(dir ? dir : path, ignore_skip, ig, NULL, tgz, ai, &e);
	ignore_free(ig);
	free(rules);
	free(dir);
	if (r < 0)
		return fail("building artifact failed: %s", e.msg);
	return 0;
}

static int push_artifact(uv_loop_t *loop, const struct args *a, const char *tmp)
{
	struct oci_ref ref;
	struct op_err e = OP_ERR_INIT;
	struct conn cn = { 0 };
	struct oci_client *c = NULL;
	struct artifact_info ai;
	struct oci_desc cfg = { .media_type = OCI_MT_FLUX_CONFIG },
			lay = { .media_type = OCI_MT_FLUX_CONTENT };
	struct wait w = { 0 };
	cJSON *ann = cJSON_CreateObject();
	char created[RFC3339_MAX], hex[65], *tgz = xasprintf("%s/artifact.tgz", tmp);
	char *config = NULL, *manifest = NULL;
	int rc = 1;

	if (!a->source || !*a->source) {
		rc = fail("--source is required");
		goto out;
	}
	if (!a->revision || !*a->revision) {
		rc = fail("--revision is required");
		goto out;
	}
	if (!a->path || !*a->path) {
		rc = fail("invalid path \"%s\"", a->path ? a->path : "");
		goto out;
	}
	if (oci_ref_parse(a->url, true, &ref, &e) < 0) {
		rc = fail("%s", e.msg);
		goto out;
	}
	if (ref.digest[0]) {
		rc = fail("'%s': push to a tag, not a digest", a->url);
		goto out;
	}
	if (!ref.tag[0])
		snprintf(ref.tag, sizeof(ref.tag), "latest");
	time_format_rfc3339(a->reproducible ? 0 : time_now_ns(), created);
	cJSON_AddStringToObject(ann, OCI_ANN_CREATED, created);
	cJSON_AddStringToObject(ann, OCI_ANN_SOURCE, a->source);
	cJSON_AddStringToObject(ann, OCI_ANN_REVISION, a->revision);
	for (size_t i = 0; i < a->n_annotations; i++) {
		const char *eq = strchr(a->annotations[i], '=');
		char *k;

		if (!eq || eq == a->annotations[i] || strchr(eq + 1, '=')) {
			rc = fail("invalid annotation %s, must be in the format key=value",
				  a->annotations[i]);
			goto out;
		}
		k = xstrndup(a->annotations[i], (size_t)(eq - a->annotations[i]));
		cJSON_DeleteItemFromObjectCaseSensitive(ann, k);
		cJSON_AddStringToObject(ann, k, eq + 1);
		free(k);
	}
	if (pack(a->path, a->ignore_paths, tmp, tgz, &ai))
		goto out;
	if (open_client(loop, a, &ref, true, &cn, &c))
		goto out;
	if (!a->output)
		say("►", "pushing artifact to %s/%s:%s", ref.host, ref.repo, ref.tag);
	config = config_json(created);
	yj_sha256_hex(config, strlen(config), hex);
	snprintf(cfg.digest, sizeof(cfg.digest), "sha256:%s", hex);
	cfg.size = strlen(config);
	snprintf(lay.digest, sizeof(lay.digest), "%s", ai.digest);
	lay.size = ai.size;
	RUN(loop, w, oci_blob_push(c, NULL, tgz, ai.size, ai.digest, w_done, &w));
	if (w.r == 0)
		RUN(loop, w, oci_blob_push(c, config, NULL, cfg.size, cfg.digest, w_done, &w));
	if (w.r == 0) {
		manifest = oci_manifest_build(&cfg, &lay, ann);
		RUN(loop, w, oci_manifest_put(c, ref.tag, manifest, strlen(manifest), OCI_MT_MANIFEST,
					      w_put, &w));
	}
	if (w.r < 0) {
		rc = fail("pushing artifact failed: %s", w.err.msg);
		goto out;
	}
	if (a->output && streq(a->output, "json"))
		printf("{\n  \"url\": \"oci://%s/%s@%s\",\n  \"repository\": \"%s/%s\",\n"
		       "  \"tag\": \"%s\",\n  \"digest\": \"%s\"\n}\n", ref.host, ref.repo, w.digest,
		       ref.host, ref.repo, ref.tag, w.digest);
	else if (a->output && streq(a->output, "yaml"))
		printf("digest: %s\nrepository: %s/%s\ntag: %s\nurl: oci://%s/%s@%s\n", w.digest,
		       ref.host, ref.repo, ref.tag, ref.host, ref.repo, w.digest);
	else
		say("✔", "artifact successfully pushed to %s/%s@%s", ref.host, ref.repo, w.digest);
	rc = 0;
out:
	w_release(&w);
	close_client(loop, c);
	conn_release(&cn);
	cJSON_Delete(ann);
	free(config);
	free(manifest);
	free(tgz);
	return rc;
}

/* ---- pull ---- */

/* Move what `from` holds into `to`, replacing entries of the same name (flux overwrites). */
static int move_into(const char *from, const char *to)
{
	DIR *d = opendir(from);
	struct dirent *de;
	int r = d ? 0 : -errno;

	while (d && r == 0 && (de = readdir(d))) {
		char *src, *dst;

		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		src = xasprintf("%s/%s", from, de->d_name);
		dst = xasprintf("%s/%s", to, de->d_name);
		path_remove_all(dst);
		if (rename(src, dst) < 0)
			r = -errno;
		free(src);
		free(dst);
	}
	if (d)
		closedir(d);
	return r;
}

static int pull_artifact(uv_loop_t *loop, const struct args *a, const char *tmp)
{
	struct oci_ref ref;
	struct op_err e = OP_ERR_INIT;
	struct conn cn = { 0 };
	struct oci_client *c = NULL;
	struct oci_pull_opts po = { 0 };
	struct wait w = { 0 };
	struct stat st;
	char *layer = xasprintf("%s/layer.tgz", tmp), *out = NULL;
	const char *src, *rev;
	int rc = 1;

	if (!a->output || !*a->output) {
		rc = fail("output path cannot be empty");
		goto done;
	}
	if (stat(a->output, &st) < 0 || !S_ISDIR(st.st_mode)) {
		rc = fail("invalid output path \"%s\": not a directory", a->output);
		goto done;
	}
	if (oci_ref_parse(a->url, true, &ref, &e) < 0) {
		rc = fail("%s", e.msg);
		goto done;
	}
	if (open_client(loop, a, &ref, false, &cn, &c))
		goto done;
	say("►", "pulling artifact from %s", a->url + 6);
	po.tag = ref.tag[0] ? ref.tag : NULL;
	po.digest = ref.digest[0] ? ref.digest : NULL;
	po.layer_path = layer;
	RUN(loop, w, oci_pull(c, &po, w_pull, &w));
	if (w.r < 0) {
		rc = fail("%s", w.err.msg);
		goto done;
	}
	/*
	 * Extracted beside its destination (a hidden directory inside it),
	 * so that moving the files in is a rename on one file system even
	 * when $TMPDIR is on another.
	 */
	out = xasprintf("%s/.cflux-pull-XXXXXX", a->output);
	if (!mkdtemp(out)) {
		rc = fail("cannot create a directory in '%s': %s", a->output, op_strerror(errno));
		free(out);
		out = NULL;
		goto done;
	}
	if (artifact_extract(layer, out, NULL, &e) < 0) {
		rc = fail("the first layer is not a tar.gz of files cflux can extract: %s",
			  e.msg[0] ? e.msg : op_strerror(errno));
		goto done;
	}
	if (move_into(out, a->output) < 0) {
		rc = fail("cannot move the content into '%s'", a->output);
		goto done;
	}
	src = yj_get_str(w.res.annotations, "/" "org.opencontainers.image.source");
	rev = yj_get_str(w.res.annotations, "/" "org.opencontainers.image.revision");
	if (src && *src)
		say("✔", "source %s", src);
	if (rev && *rev)
		say("✔", "revision %s", rev);
	say("✔", "digest %s/%s@%s", ref.host, ref.repo, w.res.digest);
	say("✔", "artifact content extracted to %s", a->output);
	rc = 0;
done:
	w_release(&w);
	close_client(loop, c);
	conn_release(&cn);
	free(layer);
	if (out)
		path_remove_all(out);
	free(out);
	return rc;
}

/* ---- list ---- */

static int tag_cmp_desc(const void *a, const void *b)
{
	return strcmp(*(const char *const *)b, *(const char *const *)a);
}

static int list_artifacts(uv_loop_t *loop, const struct args *a)
{
	struct oci_ref ref;
	struct op_err e = OP_ERR_INIT;
	struct conn cn = { 0 };
	struct oci_client *c = NULL;
	struct wait w = { 0 }, mw = { 0 };
	struct buf table = BUF_INIT(64u << 20);
	const char **tags = NULL;
	int n, rc = 1;

	if (oci_ref_parse(a->url, true, &ref, &e) < 0) {
		rc = fail("%s", e.msg);
		goto done;
	}
	if (ref.tag[0] || ref.digest[0]) {
		rc = fail("'%s': list a repository, without a tag or digest", a->url);
		goto done;
	}
	if (open_client(loop, a, &ref, false, &cn, &c))
		goto done;
	RUN(loop, w, oci_tags_list(c, w_tags, &w));
	if (w.r < 0) {
		rc = fail("listing tags failed: %s", w.err.msg);
		goto done;
	}
	tags = xcalloc(w.n_tags + 1, sizeof(*tags));
	n = 0;
	for (size_t i = 0; i < w.n_tags; i++)
		/* cosign's signatures, attestations and SBOMs are not artifacts. */
		if (!str_endswith(w.tags[i], ".sig") && !str_endswith(w.tags[i], ".att") &&
		    !str_endswith(w.tags[i], ".sbom"))
			tags[n++] = w.tags[i];
	qsort(tags, (size_t)n, sizeof(*tags), tag_cmp_desc);
	n = oci_tags_filter(tags, (size_t)n, a->filter_semver, a->filter_regex, false, &e);
	if (n < 0) {
		rc = fail("%s", e.msg);
		goto done;
	}
	buf_adds(&table, "ARTIFACT\tDIGEST\tSOURCE\tREVISION\n");
	for (int i = 0; i < n; i++) {
		const char *src, *rev;

		RUN(loop, mw, oci_manifest_get(c, tags[i], w_manifest, &mw));
		if (mw.r < 0) {
			rc = fail("fetching manifest failed: %s", mw.err.msg);
			goto done;
		}
		src = yj_get_str(mw.m->annotations, "/" "org.opencontainers.image.source");
		rev = yj_get_str(mw.m->annotations, "/" "org.opencontainers.image.revision");
		buf_addf(&table, "%s/%s:%s\t%s\t%s\t%s\n", ref.host, ref.repo, tags[i], mw.m->digest,
			 src ? src : "", rev ? rev : "");
	}
	fwrite(table.buf, 1, table.len, stdout);
	rc = 0;
done:
	w_release(&w);
	w_release(&mw);
	free(tags);
	buf_release(&table);
	close_client(loop, c);
	conn_release(&cn);
	return rc;
}

int cli_artifact(int argc, char **argv)
{
	struct args a = { 0 };
	uv_loop_t loop;
	char tmp[] = "/tmp/cflux-artifact-XXXXXX";
	const char *what = argc > 1 ? argv[1] : "";
	int rc;

	if (parse_args(argc - 1, argv + 1, &a) < 0) {
		free(a.annotations);
		cli_usage(stderr);
		return 2;
	}
	if (!mkdtemp(tmp)) {
		free(a.annotations);
		return fail("cannot create a temporary directory: %s", op_strerror(errno));
	}
	uv_loop_init(&loop);
	if (streq(argv[0], "push") && streq(what, "artifact"))
		rc = push_artifact(&loop, &a, tmp);
	else if (streq(argv[0], "pull") && streq(what, "artifact"))
		rc = pull_artifact(&loop, &a, tmp);
	else
		rc = list_artifacts(&loop, &a);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	path_remove_all(tmp);
	free(a.annotations);
	fflush(stdout);
	return rc;
}
