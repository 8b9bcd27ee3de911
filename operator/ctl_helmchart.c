/*
 * ctl_helmchart.c: the HelmChart reconciler (source.toolkit.fluxcd.io/v1),
 * source-controller's contract: a chart from a HelmRepository (HTTP), or
 * from a path in a GitRepository's or a Bucket's artifact, packaged as an
 * artifact.
 *
 * The manager's skeleton (manager.h) does the lifecycle every kind
 * shares; finalize() removes the object's artifacts.  One reconcile:
 *
 *   spec          chart, version (a Masterminds range, "*" by default),
 *                 sourceRef, valuesFiles, ignoreMissingValuesFiles,
 *                 reconcileStrategy, interval.  verify and an OCI
 *                 HelmRepository are refused with Stalled and a message
 *                 naming them.
 *   source        the source object from the cache: missing is
 *                 SourceUnavailable, without an artifact NoSourceArtifact
 *                 (retried; the source's new artifact requeues the chart).
 *
 * From a HelmRepository (Flux's remote builder):
 *   resolve       on the thread pool: the repository's stored index (our
 *                 JSON) read streaming for this chart only, the version
 *                 picked as Flux's GetChartVersion (helm_index_pick()),
 *                 "+<generation>" added when valuesFiles are given; the
 *                 same name and version with the artifact in store and
 *                 the generation observed: nothing downloaded.
 *   download      helm_get (ctl_helmrepository.c): the repository's
 *                 credentials, basic auth only to its own host unless
 *                 passCredentials, at most 10 MiB (Flux's chart limit).
 *   store         on the thread pool: the archive loaded as a chart with
 *                 the hostile-archive rules of lib/helm, its name
 *                 checked; stored byte for byte, or with valuesFiles (read
 *                 from the chart's own files) merged into its values.yaml
 *                 and packaged again.
 *
 * From a GitRepository or a Bucket (Flux's local builder):
 *   build         on the thread pool: the source artifact extracted with
 *                 the hostile-archive rules, the chart at spec.chart (a
 *                 directory or a packaged .tgz) and its version, with
 *                 "+<12 hex of the revision>" under reconcileStrategy
 *                 Revision and ".<generation>"/"+<generation>" with
 *                 valuesFiles (read from the source's root); unchanged
 *                 name and version in store: nothing built, whatever the
 *                 commit (ChartVersion's point).  A directory's missing
 *                 dependencies are added: local ones (charts/<name>,
 *                 file://) loaded, remote ones resolved through the
 *                 HelmRepositories of the namespace with the same URL.
 *   dependencies  on the loop: each remote dependency downloaded with its
 *                 repository's credentials (helm_get).
 *   package       on the thread pool: the chart written as chartutil.Save
 *                 lays it out (helm_chart_write()) and packed as a
 *                 deterministic archive, <chart>-<version>.tgz.
 *
 *   status        artifact (revision: the chart version), url,
 *                 observedChartName, observedSourceArtifactRevision,
 *                 observedValuesFiles (with ignoreMissingValuesFiles);
 *                 Flux's conditions (FetchFailed or BuildFailed by the
 *                 build error's reason), reasons (ChartPullSucceeded,
 *                 ChartPackageSucceeded, InvalidChartReference,
 *                 ValuesFilesError, DependencyBuildError, ...) and
 *                 messages ("packaged 'x' chart with version 'y' and
 *                 merged values files [a b]").
 *
 * Not as Flux: a remote dependency whose repository no HelmRepository of
 * the namespace names is refused (Flux downloads that index anonymously).
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/path.h"
#include "base/semver.h"
#include "base/str.h"
#include "base/time.h"
#include "conditions.h"
#include "controllers.h"
#include "helm/helm.h"
#include "source.h"
#include "source/artifact.h"
#include "storage.h"
#include "yj/yj.h"
#include "base/banned.h"

#define KIND "HelmChart"
#define RECORDS 2
#define LATEST "latest.tar.gz"
#define MAX_CHART_SIZE ((uint64_t)10 << 20)
#define MAX_VALUES_FILE ((size_t)5 << 20)

/* A HelmRepository of the namespace, as a remote dependency may need it. */
struct repo_snap {
	char *url;        /* spec.url without trailing '/' */
	char *name;
	char *index_path; /* its stored index (absolute), or NULL without an artifact */
	cJSON *spec;
};

/* A remote dependency to download. */
struct dep_fetch {
	char *key;     /* alias or name: what the chart calls it */
	char *version; /* the version picked */
	char *url;     /* the chart's URL */
	char *path;    /* where it is downloaded */
	const struct repo_snap *repo;
};

struct hcjob {
	struct rc *rc;
	struct storage *st;
	char *ns, *name, *tmp_root;
	char *chart, *version;
	int64_t interval_ns;
	uint64_t timeout_ms;
	bool remote;        /* from a HelmRepository; else a GitRepository or a Bucket */
	bool force;         /* generation not observed: no cached build */
	char **values_files; /* spec.valuesFiles, NULL when Flux's GetValuesFiles() is empty */
	size_t nvalues_files;
	bool ignore_missing;
	char *vmeta;        /* build metadata for the version, or NULL */
	/* the stored artifact, for the cached-build check */
	char *cached_name, *cached_version;
	cJSON *cached_vf;   /* status.observedValuesFiles, or NULL */
	/* remote */
	cJSON *repo_spec;   /* the HelmRepository's spec */
	char *index_path;   /* its stored index (absolute) */
	char *repo_url;
	char *chart_url;
	struct helm_get get;
	bool getting;
	/* local */
	char *src_tgz;      /* the source artifact (absolute) */
	struct repo_snap *repos;
	size_t nrepos;
	struct dep_fetch *fetch;
	size_t nfetch, next_fetch;
	/* the build */
	char *cv_name, *cv_version;
	bool up_to_date, packaged;
	cJSON *result_vf;   /* the build's ValuesFiles (an array), or NULL */
	struct helm_chart *chart_obj;
	char *values_yaml;  /* values.yaml to package instead of the chart's, or NULL */
	size_t values_len;
	struct helm_chart **extra;
	char **extra_names;
	size_t nextra;
	char *tmp, *tgz;
	/* outputs */
	int r;
	struct op_err err;
	const char *reason;
	bool stall;
	struct artifact_info ai;
	char *rel;
};

static void job_release(void *job)
{
	struct hcjob *j = job;
	size_t i;

	free(j->ns);
	free(j->name);
	free(j->tmp_root);
	free(j->chart);
	free(j->version);
	for (i = 0; i < j->nvalues_files; i++)
		free(j->values_files[i]);
	free(j->values_files);
	free(j->vmeta);
	free(j->cached_name);
	free(j->cached_version);
	cJSON_Delete(j->cached_vf);
	cJSON_Delete(j->repo_spec);
	free(j->index_path);
	free(j->repo_url);
	free(j->chart_url);
	helm_get_release(&j->get);
	free(j->src_tgz);
	for (i = 0; i < j->nrepos; i++) {
		free(j->repos[i].url);
		free(j->repos[i].name);
		free(j->repos[i].index_path);
		cJSON_Delete(j->repos[i].spec);
	}
	free(j->repos);
	for (i = 0; i < j->nfetch; i++) {
		free(j->fetch[i].key);
		free(j->fetch[i].version);
		free(j->fetch[i].url);
		free(j->fetch[i].path);
	}
	free(j->fetch);
	free(j->cv_name);
	free(j->cv_version);
	cJSON_Delete(j->result_vf);
	helm_chart_free(j->chart_obj);
	free(j->values_yaml);
	for (i = 0; i < j->nextra; i++) {
		helm_chart_free(j->extra[i]);
		free(j->extra_names[i]);
	}
	free(j->extra);
	free(j->extra_names);
	if (j->tmp) {
		path_remove_all(j->tmp);
		free(j->tmp);
	}
	free(j->tgz);
	free(j->rel);
}

/* A build error as chart.BuildError prints it: "<summary>: <message>". */
static int build_err(struct hcjob *j, const char *reason, bool stall)
{
	static const struct {
		const char *reason, *summary;
	} sums[] = {
		{ "InvalidChartReference", "invalid chart reference" },
		{ "ChartPullError", "chart pull error" },
		{ "MetadataPatchError", "chart metadata patch error" },
		{ "ValuesFilesError", "values files merge error" },
		{ "DependencyBuildError", "dependency build error" },
		{ "ChartPackageError", "chart package error" },
		{ "Unknown", "unknown build error" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(sums); i++)
		if (streq(sums[i].reason, reason))
			op_err_prefix(&j->err, "%s", sums[i].summary);
	j->reason = reason;
	j->stall = stall;
	if (j->r >= 0)
		j->r = j->err.code < 0 ? j->err.code : -EINVAL;
	return j->r;
}

/*
 * The conditions a failure sets, as observeChartBuild and the reconciler
 * do: the build's own errors are BuildFailed, the rest FetchFailed (or
 * StorageOperationFailed).
 */
static void fail(struct hcjob *j, const char *reason, const char *msg, bool stall)
{
	bool storage = streq(reason, "ArchiveOperationFailed") ||
		       streq(reason, "DirectoryCreationFailed");
	bool build = streq(reason, "MetadataPatchError") || streq(reason, "ValuesFilesError") ||
		     streq(reason, "DependencyBuildError") || streq(reason, "ChartPackageError");

	if (build)
		cond_delete(j->rc->status, "FetchFailed");
	else if (!storage)
		cond_delete(j->rc->status, "BuildFailed");
	source_fail(j->rc, storage ? "StorageOperationFailed" : build ? "BuildFailed" : "FetchFailed",
		    reason, msg, stall);
}

/* Build.Summary(): "<pulled|packaged> 'name' chart with version 'v'[ and merged values files [a b]]". */
static char *summary(const struct hcjob *j)
{
	struct buf b = BUF_INIT(64 << 10);
	int n = cJSON_GetArraySize(j->result_vf), i;

	(void)!buf_addf(&b, "%s '%s' chart with version '%s'", j->packaged ? "packaged" : "pulled",
			j->cv_name, j->cv_version);
	if (n > 0) {
		(void)!buf_adds(&b, " and merged values files [");
		for (i = 0; i < n; i++)
			(void)!buf_addf(&b, "%s%s", i ? " " : "",
					cJSON_GetStringValue(cJSON_GetArrayItem(j->result_vf, i)));
		(void)!buf_adds(&b, "]");
	}
	return buf_detach(&b, NULL);
}

static void succeed(struct hcjob *j)
{
	struct rc *rc = j->rc;
	cJSON *st = rc->status;
	char *msg = summary(j);
	const char *reason = j->packaged ? "ChartPackageSucceeded" : "ChartPullSucceeded";
	char *rel = storage_rel_path(KIND, j->ns, j->name, LATEST), *url = storage_url(j->st, rel);
	struct source_stored s = {
		.fresh = !j->up_to_date,
		.rel = j->rel,
		.revision = j->cv_version,
		.ai = &j->ai,
		.reason = reason,
		.msg = msg,
	};

	cJSON_DeleteItemFromObjectCaseSensitive(st, "url");
	cJSON_AddStringToObject(st, "url", url);
	free(url);
	free(rel);
	cJSON_DeleteItemFromObjectCaseSensitive(st, "observedChartName");
	cJSON_AddStringToObject(st, "observedChartName", j->cv_name);
	/* Written with a new artifact only, as reconcileArtifact does. */
	if (!j->up_to_date) {
		cJSON_DeleteItemFromObjectCaseSensitive(st, "observedValuesFiles");
		if (j->ignore_missing && cJSON_GetArraySize(j->result_vf) > 0)
			cJSON_AddItemToObject(st, "observedValuesFiles",
					      cJSON_Duplicate(j->result_vf, 1));
	}
	cond_delete(st, "BuildFailed");
	if (source_stored(rc, j->st, &s)) {
		rc_event(rc, "Normal", reason, "%s", msg);
		log_info(NULL, "Stored artifact", "controller", "helmchart", "object", rc->key,
			 "revision", j->cv_version, NULL);
	}
	free(msg);
	rc_done(rc, (uint64_t)(j->interval_ns / NSEC_PER_MSEC));
}

/* ---- the build's pieces, on the thread pool ---- */

/* Masterminds' SetMetadata, then String(): "1.2.3-pre+meta". */
static int set_metadata(struct hcjob *j, const char *version, const char *meta, char **ret)
{
	struct semver v;
	char out[SEMVER_STRING_MAX];
	const char *p;
	bool dot = true;

	if (semver_parse_go(version, &v, &j->err) < 0) {
		op_err_prefix(&j->err, "failed to parse version from chart metadata as SemVer");
		return build_err(j, "MetadataPatchError", true);
	}
	for (p = meta; *p; p++) {
		if (*p == '.') {
			if (dot)
				break;
			dot = true;
			continue;
		}
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= 'A' && *p <= 'Z') || *p == '-'))
			break;
		dot = false;
	}
	if (*p || dot || strlen(meta) > SEMVER_MAX_LEN) {
		op_err_set(&j->err, -EINVAL, "failed to set SemVer metadata on chart version: "
			   "invalid metadata string");
		return build_err(j, "MetadataPatchError", true);
	}
	memcpy(v.meta, meta, strlen(meta) + 1);
	semver_format(&v, out);
	*ret = xstrdup(out);
	return 0;
}

/* The cached build stands: same name and version, in store, nothing forcing a build. */
static bool cached(struct hcjob *j, bool requires_packaging)
{
	if (j->force || !streq_ptr(j->cached_name, j->cv_name) ||
	    !streq_ptr(j->cached_version, j->cv_version))
		return false;
	j->up_to_date = true;
	j->packaged = requires_packaging;
	cJSON_Delete(j->result_vf);
	j->result_vf = NULL;
	if (j->cached_vf) {
		j->result_vf = cJSON_Duplicate(j->cached_vf, 1);
	} else if (j->values_files) {
		size_t i;

		j->result_vf = cJSON_CreateArray();
		for (i = 0; i < j->nvalues_files; i++)
			cJSON_AddItemToArray(j->result_vf, cJSON_CreateString(j->values_files[i]));
	}
	return true;
}

/* One values file into `merged` (transform.MergeMaps), `p` naming it in errors. */
static int merge_values_data(struct hcjob *j, cJSON *merged, const char *data, size_t len,
			     const char *p)
{
	cJSON *v = NULL;

	if (helm_values_read(data, len, &v, &j->err) < 0) {
		op_err_prefix(&j->err, "unmarshaling values from '%s' failed", p);
		return -EINVAL;
	}
	helm_values_merge(merged, v);
	cJSON_Delete(v);
	return 0;
}

/*
 * OverwriteChartDefaultValues(): the merged values become values.yaml
 * (yaml.Marshal's text; {} is empty), unless that is what the chart has.
 * Returns 1 when replaced, 0 when equal, or a negative errno.
 */
static int overwrite_values(struct hcjob *j, const cJSON *merged)
{
	const struct helm_file *vf = &j->chart_obj->values_file;
	struct buf b = BUF_INIT(64u << 20);

	if (cJSON_GetArraySize(merged) > 0 && yj_emit_yaml_go(merged, &b) < 0) {
		buf_release(&b);
		op_err_set(&j->err, -EFBIG, "the merged values are too large");
		return -EFBIG;
	}
	if (!vf->data) {
		buf_release(&b);
		op_err_set(&j->err, -ENOENT, "failed to locate values file: values.yaml");
		return -ENOENT;
	}
	if (vf->len == b.len && !memcmp(vf->data, b.buf, b.len)) {
		buf_release(&b);
		return 0;
	}
	j->values_yaml = buf_detach(&b, &j->values_len);
	return 1;
}

/* Write the chart as Save does and pack it into the store as <name>-<version>.tgz. */
static void package(struct hcjob *j)
{
	static const struct artifact_limits lim = ARTIFACT_LIMITS_DEFAULT;
	struct helm_package_opts o = {
		.version = j->cv_version,
		.values_yaml = j->values_yaml,
		.values_len = j->values_len,
		.extra = (const struct helm_chart *const *)j->extra,
		.extra_names = (const char *const *)j->extra_names,
		.nextra = j->nextra,
	};
	char *dir = xasprintf("%s/package", j->tmp), *file = NULL, *abs = NULL;

	if (mkdir(dir, 0700) < 0) {
		j->r = op_err_set(&j->err, -errno, "failed to create temporary directory for "
				  "chart: %s", op_strerror(-errno));
		build_err(j, "ChartPackageError", false);
		goto out;
	}
	j->r = helm_chart_write(j->chart_obj, &o, dir, &j->err);
	if (j->r < 0) {
		op_err_prefix(&j->err, "failed to package chart");
		build_err(j, "ChartPackageError", false);
		goto out;
	}
	j->r = storage_mkdir(j->st, KIND, j->ns, j->name, &j->err);
	if (j->r < 0) {
		op_err_prefix(&j->err, "failed to create artifact directory");
		j->reason = "DirectoryCreationFailed";
		goto out;
	}
	file = xasprintf("%s-%s.tgz", j->cv_name, j->cv_version);
	j->rel = storage_rel_path(KIND, j->ns, j->name, file);
	abs = storage_abs(j->st, j->rel);
	j->r = artifact_archive(dir, NULL, NULL, &lim, abs, &j->ai, &j->err);
	if (j->r < 0) {
		op_err_prefix(&j->err, "unable to copy Helm chart to storage");
		j->reason = "ArchiveOperationFailed";
		goto out;
	}
	j->packaged = true;
	storage_gc(j->st, KIND, j->ns, j->name, file, RECORDS);
	storage_link(j->st, KIND, j->ns, j->name, LATEST, file);
out:
	free(file);
	free(abs);
	free(dir);
}

/* Store the archive at `src` byte for byte (a chart that needs no packaging). */
static void store_copy(struct hcjob *j, const char *data, size_t len)
{
	char *file = xasprintf("%s-%s.tgz", j->cv_name, j->cv_version), *abs, *tmp;

	j->r = storage_mkdir(j->st, KIND, j->ns, j->name, &j->err);
	if (j->r < 0) {
		op_err_prefix(&j->err, "failed to create artifact directory");
		j->reason = "DirectoryCreationFailed";
		free(file);
		return;
	}
	j->rel = storage_rel_path(KIND, j->ns, j->name, file);
	abs = storage_abs(j->st, j->rel);
	tmp = xasprintf("%s.tmp", abs);
	j->r = path_write_file(tmp, data, len, 0600);
	if (j->r == 0 && rename(tmp, abs) < 0)
		j->r = -errno;
	if (j->r == 0)
		j->r = artifact_digest_file(abs, j->ai.digest, &j->ai.size, &j->err);
	else
		op_err_set(&j->err, j->r, "unable to copy Helm chart to storage: %s",
			   op_strerror(j->r));
	if (j->r < 0) {
		unlink(tmp);
		j->reason = "ArchiveOperationFailed";
	} else {
		storage_gc(j->st, KIND, j->ns, j->name, file, RECORDS);
		storage_link(j->st, KIND, j->ns, j->name, LATEST, file);
	}
	free(tmp);
	free(abs);
	free(file);
}

/* ---- from a HelmRepository: store, on the thread pool ---- */

/* mergeChartValues(): the files named, from the chart itself ("values.yaml": its values). */
static int merge_chart_values(struct hcjob *j, cJSON *merged)
{
	const struct helm_chart *c = j->chart_obj;
	size_t i, k;

	j->result_vf = cJSON_CreateArray();
	for (i = 0; i < j->nvalues_files; i++) {
		const char *p = j->values_files[i];
		char *clean = path_clean(p);
		const struct helm_file *f = NULL;
		int r = 0;

		if (streq(clean, "values.yaml")) {
			if (c->values)
				helm_values_merge(merged, c->values);
		} else {
			for (k = 0; k < c->nfiles && !f; k++)
				if (streq(c->files[k].name, clean))
					f = &c->files[k];
			if (!f && j->ignore_missing) {
				free(clean);
				continue;
			}
			if (!f)
				r = op_err_set(&j->err, -ENOENT, "no values file found at path '%s'", p);
			else
				r = merge_values_data(j, merged, f->data, f->len, p);
		}
		free(clean);
		if (r < 0)
			return r;
		cJSON_AddItemToArray(j->result_vf, cJSON_CreateString(p));
	}
	return 0;
}

static void store(void *job)
{
	struct hcjob *j = job;
	char *data = NULL;
	size_t len;
	cJSON *merged;
	int r;

	/* Validated as a chart first: Helm's archive rules and limits. */
	j->r = path_read_file(j->tgz, MAX_CHART_SIZE, &data, &len);
	if (j->r == 0)
		j->r = helm_chart_load_archive(data, len, NULL, &j->chart_obj, &j->err);
	else
		op_err_set(&j->err, j->r, "%s", op_strerror(j->r));
	if (j->r == 0 && !streq(j->chart_obj->md.name, j->cv_name))
		j->r = op_err_set(&j->err, -EINVAL, "the archive holds chart '%.100s', not '%.100s'",
				  j->chart_obj->md.name, j->cv_name);
	if (j->r < 0) {
		op_err_prefix(&j->err, "failed to download chart for remote reference: failed to "
			      "load chart");
		build_err(j, "ChartPullError", false);
		goto out;
	}
	if (!j->values_files && !j->vmeta) {
		store_copy(j, data, len);
		goto out;
	}
	merged = cJSON_CreateObject();
	r = merge_chart_values(j, merged);
	if (r == 0)
		r = overwrite_values(j, merged);
	cJSON_Delete(merged);
	if (r < 0) {
		j->r = r;
		if (j->err.msg[0] && !str_startswith(j->err.msg, "failed to locate"))
			op_err_prefix(&j->err, "failed to merge chart values");
		build_err(j, "ValuesFilesError", true);
		goto out;
	}
	if (r == 0) {
		cJSON_Delete(j->result_vf);
		j->result_vf = NULL;
	}
	package(j);
out:
	free(data);
}

static void stored(struct rc *rc, int status)
{
	struct hcjob *j = rc->job;

	if (status < 0)
		fail(j, "ChartPullError", "the chart's processing was cancelled", false);
	else if (j->r < 0)
		fail(j, j->reason, j->err.msg, j->stall);
	else
		succeed(j);
}

/* ---- from a HelmRepository: download, on the loop ---- */

/* Flux's rule: a 401 or a TLS failure is an authentication failure. */
static bool auth_failure(const char *why)
{
	return strstr(why, "401") || strcasestr(why, "unauthorized") || strcasestr(why, "tls") ||
	       strstr(why, "certificate");
}

static void downloaded(struct helm_get *g, int r, const char *reason, const char *why)
{
	struct hcjob *j = (struct hcjob *)((char *)g - offsetof(struct hcjob, get));
	char msg[1200];

	if (r < 0 && streq(reason, "AuthenticationFailed")) {
		fail(j, reason, why, false);
		return;
	}
	if (r < 0 || g->status != 200) {
		snprintf(msg, sizeof(msg), "chart pull error: failed to download chart for remote "
			 "reference: %s", why);
		if (auth_failure(why)) {
			char *m = xasprintf("failed to authenticate with the Helm repository: %s", msg);

			fail(j, "AuthenticationFailed", m, false);
			free(m);
			return;
		}
		fail(j, "ChartPullError", msg, false);
		return;
	}
	if (rc_work(j->rc, store, stored) < 0)
		fail(j, "ChartPullError", "cannot queue the chart's processing", false);
}

static int make_tmp(struct hcjob *j)
{
	char msg[1024];

	j->tmp = xasprintf("%s/helmchart-XXXXXX", j->tmp_root);
	if (!mkdtemp(j->tmp)) {
		snprintf(msg, sizeof(msg), "failed to create temporary working directory: %s",
			 op_strerror(-errno));
		free(j->tmp);
		j->tmp = NULL;
		fail(j, "DirectoryCreationFailed", msg, false);
		return -1;
	}
	return 0;
}

static void download(struct hcjob *j)
{
	if (make_tmp(j) < 0)
		return;
	j->tgz = xasprintf("%s/chart.tgz", j->tmp);
	helm_get_init(&j->get, j->rc, j->repo_spec, j->chart_url, j->tgz, MAX_CHART_SIZE,
		      j->timeout_ms, downloaded);
	helm_get_start(&j->get);
}

/* ---- from a HelmRepository: resolve, on the thread pool ---- */

/* A chart's version in a stored index: its name, version and URL. */
static int index_pick(struct hcjob *j, const char *index_path, const char *repo_url,
		      const char *chart, const char *want, char **ret_name, char **ret_version,
		      char **ret_url)
{
	struct helm_index_chart c = { 0 };
	const struct helm_index_version *v;
	char *data = NULL;
	size_t len;
	int r;

	r = path_read_file(index_path, (size_t)1 << 30, &data, &len);
	if (r < 0)
		return op_err_set(&j->err, r, "failed to load index: %s", op_strerror(r));
	r = helm_index_read_chart(data, len, chart, NULL, &c, &j->err);
	free(data);
	if (r < 0) {
		op_err_prefix(&j->err, "failed to load index");
		return r;
	}
	r = helm_index_pick(&c, want, &v, &j->err);
	if (r < 0) {
		helm_index_chart_release(&c);
		return -ENOENT;
	}
	*ret_name = xstrdup(c.name);
	*ret_version = xstrdup(v->version);
	if (!v->nurls)
		r = op_err_set(&j->err, -EINVAL, "chart '%.100s' has no downloadable URLs",
			       c.name);
	else
		r = helm_index_chart_url(repo_url, v->urls[0], ret_url, &j->err);
	helm_index_chart_release(&c);
	return r;
}

static void resolve(void *job)
{
	struct hcjob *j = job;
	char *name = NULL, *version = NULL;

	j->r = index_pick(j, j->index_path, j->repo_url, j->chart, j->version, &name, &version,
			  &j->chart_url);
	if (j->r == -ENOENT) {
		op_err_prefix(&j->err, "failed to get chart version for remote reference");
		build_err(j, "InvalidChartReference", true);
	} else if (j->r < 0 && !version) {
		op_err_prefix(&j->err, "failed to get chart version for remote reference");
		build_err(j, "ChartPullError", false);
	} else if (j->r < 0) {
		op_err_prefix(&j->err, "failed to download chart for remote reference");
		build_err(j, "ChartPullError", false);
	}
	j->cv_name = name;
	if (j->r == 0 && j->vmeta) {
		j->r = set_metadata(j, version, j->vmeta, &j->cv_version);
		free(version);
	} else {
		j->cv_version = version;
	}
}

static void resolved(struct rc *rc, int status)
{
	struct hcjob *j = rc->job;

	if (status < 0) {
		fail(j, "ChartPullError", "the chart's resolution was cancelled", false);
		return;
	}
	if (j->r < 0) {
		fail(j, j->reason, j->err.msg, j->stall);
		return;
	}
	if (cached(j, j->values_files || j->vmeta)) {
		succeed(j);
		return;
	}
	download(j);
}

/* ---- from a GitRepository or a Bucket: build, on the thread pool ---- */

/* mergeFileValues(): the files named, relative to the source's root. */
static int merge_file_values(struct hcjob *j, const char *root, cJSON *merged)
{
	size_t i;

	j->result_vf = cJSON_CreateArray();
	for (i = 0; i < j->nvalues_files; i++) {
		const char *p = j->values_files[i];
		char *path = NULL, *clean = path_clean(p), *data = NULL;
		struct stat sb;
		size_t len;
		int r;

		r = path_join_safe(root, clean, &path, &j->err);
		free(clean);
		if (r < 0)
			return r;
		r = stat(path, &sb) < 0 ? -errno : 0;
		if (r < 0 || !S_ISREG(sb.st_mode)) {
			bool missing = r == -ENOENT;

			if (missing && j->ignore_missing) {
				free(path);
				continue;
			}
			r = op_err_set(&j->err, -ENOENT, "no values file found at path '%s' "
				       "(reference '%s')", path + strlen(root), p);
			free(path);
			return r;
		}
		r = path_read_file(path, MAX_VALUES_FILE, &data, &len);
		free(path);
		if (r < 0)
			return op_err_set(&j->err, r, "could not read values from file '%s': %s", p,
					  op_strerror(r));
		r = merge_values_data(j, merged, data, len, p);
		free(data);
		if (r < 0)
			return r;
		cJSON_AddItemToArray(j->result_vf, cJSON_CreateString(p));
	}
	return 0;
}

/* Chart.yaml's name and version, from a chart directory or a packaged chart. */
static int read_metadata(struct hcjob *j, const char *path, bool is_dir)
{
	struct helm_metadata md = { 0 };
	struct helm_chart *c = NULL;
	char *file, *data = NULL;
	size_t len;
	int r;

	if (!is_dir) {
		r = helm_chart_load_path(path, NULL, &c, &j->err);
		if (r == 0) {
			j->cv_name = xstrdup(c->md.name);
			j->cv_version = xstrdup(c->md.version);
		}
		helm_chart_free(c);
		return r;
	}
	file = xasprintf("%s/Chart.yaml", path);
	r = path_read_file(file, (size_t)5 << 20, &data, &len);
	free(file);
	if (r < 0)
		return op_err_set(&j->err, r, "unable to read chart file '%s/Chart.yaml': %s",
				  j->chart, op_strerror(r));
	r = helm_metadata_parse(data, len, &md, &j->err);
	free(data);
	if (r == 0) {
		j->cv_name = xstrdup(md.name);
		j->cv_version = xstrdup(md.version);
	}
	helm_metadata_release(&md);
	return r;
}

/* A dependency found for the package: `c` (now the job's) under charts/<name>/. */
static void add_extra(struct hcjob *j, struct helm_chart *c, const char *name)
{
	j->extra = xrealloc(j->extra, xalloc__mul(j->nextra + 1, sizeof(*j->extra)));
	j->extra_names = xrealloc(j->extra_names,
				  xalloc__mul(j->nextra + 1, sizeof(*j->extra_names)));
	j->extra[j->nextra] = c;
	j->extra_names[j->nextra++] = xstrdup(name);
}

static int add_local_dep(struct hcjob *j, const char *root, const char *chart_rel,
			 const struct helm_dependency *d)
{
	const char *key = *d->alias ? d->alias : d->name;
	char *rel, *clean, *path = NULL;
	struct semver_constraint *con = NULL;
	struct helm_chart *c = NULL;
	struct semver v;
	struct stat sb;
	int r;

	if (!*d->repository)
		rel = xasprintf("%s/charts/%s", chart_rel, d->name);
	else
		rel = xasprintf("%s/%s", chart_rel, d->repository + strlen("file://"));
	clean = path_clean(rel);
	free(rel);
	r = path_join_safe(root, clean, &path, &j->err);
	if (r == 0 && stat(path, &sb) < 0)
		r = op_err_set(&j->err, -ENOENT, "no chart found at '/%s' (reference '%s')", clean,
			       d->repository);
	if (r == 0 && semver_constraint_parse(d->version, &con, &j->err) < 0)
		r = op_err_prefix(&j->err, "invalid version/constraint format '%s'", d->version);
	if (r == 0 && helm_chart_load_path(path, NULL, &c, &j->err) < 0)
		r = op_err_prefix(&j->err, "failed to load chart from '/%s' (reference '%s')",
				  clean, d->repository);
	if (r == 0 && semver_parse_go(c->md.version, &v, &j->err) < 0)
		r = -EINVAL;
	if (r == 0 && !semver_satisfies(con, &v))
		r = op_err_set(&j->err, -EINVAL, "can't get a valid version for constraint '%s'",
			       d->version);
	semver_constraint_free(con);
	free(clean);
	free(path);
	if (r < 0) {
		helm_chart_free(c);
		return op_err_prefix(&j->err, "failed to add local dependency '%s'", key);
	}
	add_extra(j, c, *d->alias ? d->alias : c->md.name);
	return 0;
}

/* A remote dependency: its version from the index of the HelmRepository with its URL. */
static int plan_remote_dep(struct hcjob *j, const struct helm_dependency *d)
{
	const char *key = *d->alias ? d->alias : d->name;
	size_t ulen = strlen(d->repository), i;
	struct dep_fetch *f;
	char *name = NULL, *version = NULL, *url = NULL;
	int r;

	while (ulen && d->repository[ulen - 1] == '/')
		ulen--;
	if (!str_startswith(d->repository, "http://") && !str_startswith(d->repository, "https://"))
		return op_err_set(&j->err, -EINVAL, "failed to add remote dependency '%s': the url "
				  "scheme is not supported: %s", key, d->repository);
	for (i = 0; i < j->nrepos; i++)
		if (strlen(j->repos[i].url) == ulen && !strncmp(j->repos[i].url, d->repository, ulen))
			break;
	if (i == j->nrepos)
		return op_err_set(&j->err, -ENOENT, "failed to add remote dependency '%s': no "
				  "HelmRepository in namespace '%s' has the URL '%.*s' (cflux "
				  "resolves remote dependencies through HelmRepositories)", key,
				  j->ns, (int)ulen, d->repository);
	if (!j->repos[i].index_path)
		return op_err_set(&j->err, -ENOENT, "failed to add remote dependency '%s': "
				  "HelmRepository '%s' has no artifact", key, j->repos[i].name);
	r = index_pick(j, j->repos[i].index_path, j->repos[i].url, d->name,
		       *d->version ? d->version : "*", &name, &version, &url);
	if (r < 0) {
		op_err_prefix(&j->err, "failed to get chart '%s' version '%s' from '%s'", d->name,
			      d->version, d->repository);
		free(name);
		free(version);
		free(url);
		return op_err_prefix(&j->err, "failed to add remote dependency '%s'", key);
	}
	free(name);
	j->fetch = xrealloc(j->fetch, xalloc__mul(j->nfetch + 1, sizeof(*j->fetch)));
	f = &j->fetch[j->nfetch];
	f->key = xstrdup(key);
	f->version = version;
	f->url = url;
	f->path = xasprintf("%s/dependency-%zu.tgz", j->tmp, j->nfetch);
	f->repo = &j->repos[i];
	j->nfetch++;
	return 0;
}

static void build(void *job)
{
	static const struct artifact_limits lim = ARTIFACT_LIMITS_DEFAULT;
	struct hcjob *j = job;
	struct helm_dependency *missing = NULL;
	char *src = xasprintf("%s/source", j->tmp), *path = NULL, *clean = NULL;
	size_t nmissing = 0, i;
	cJSON *merged = NULL;
	struct stat sb;
	bool is_dir = false;
	int r;

	if (mkdir(src, 0700) < 0) {
		j->r = op_err_set(&j->err, -errno, "failed to create directory to untar source "
				  "into: %s", op_strerror(-errno));
		j->reason = "DirectoryCreationFailed";
		goto out;
	}
	j->r = artifact_extract(j->src_tgz, src, &lim, &j->err);
	if (j->r < 0) {
		op_err_prefix(&j->err, "artifact untar error");
		build_err(j, "Unknown", false);
		goto out;
	}
	clean = path_clean(j->chart);
	j->r = path_join_safe(src, clean, &path, &j->err);
	if (j->r == 0 && stat(path, &sb) < 0)
		j->r = op_err_set(&j->err, -errno, "stat %s: %s", j->chart, op_strerror(-errno));
	is_dir = j->r == 0 && S_ISDIR(sb.st_mode);
	if (j->r == 0)
		j->r = read_metadata(j, path, is_dir);
	if (j->r < 0) {
		build_err(j, "InvalidChartReference", true);
		goto out;
	}
	if (j->vmeta) {
		char *v = j->cv_version;

		j->cv_version = NULL;
		r = set_metadata(j, v, j->vmeta, &j->cv_version);
		free(v);
		if (r < 0)
			goto out;
	}
	if (cached(j, is_dir || j->values_files || j->vmeta))
		goto out;
	if (!is_dir && !j->values_files && !j->vmeta) {
		char *data = NULL;
		size_t len;

		j->r = path_read_file(path, MAX_CHART_SIZE, &data, &len);
		if (j->r < 0) {
			op_err_set(&j->err, j->r, "failed to open file to copy from: %s",
				   op_strerror(j->r));
			build_err(j, "ChartPullError", false);
			goto out;
		}
		store_copy(j, data, len);
		free(data);
		goto out;
	}
	if (j->values_files) {
		merged = cJSON_CreateObject();
		j->r = merge_file_values(j, src, merged);
		if (j->r < 0) {
			build_err(j, "ValuesFilesError", true);
			goto out;
		}
	}
	j->r = helm_chart_load_path(path, NULL, &j->chart_obj, &j->err);
	if (j->r < 0) {
		build_err(j, "ChartPackageError", false);
		goto out;
	}
	if (merged) {
		r = overwrite_values(j, merged);
		if (r < 0) {
			j->r = r;
			build_err(j, "ValuesFilesError", true);
			goto out;
		}
		if (r == 0) {
			cJSON_Delete(j->result_vf);
			j->result_vf = NULL;
		}
	} else {
		cJSON_Delete(j->result_vf);
		j->result_vf = NULL;
	}
	if (is_dir)
		nmissing = helm_chart_missing_deps(j->chart_obj, &missing);
	for (i = 0; i < nmissing && j->r == 0; i++) {
		const struct helm_dependency *d = &missing[i];

		if (!*d->repository || str_startswith(d->repository, "file://"))
			j->r = add_local_dep(j, src, clean, d);
		else
			j->r = plan_remote_dep(j, d);
	}
	helm_missing_deps_free(missing, nmissing);
	if (j->r < 0) {
		build_err(j, "DependencyBuildError", false);
		goto out;
	}
	if (!j->nfetch)
		package(j);
out:
	cJSON_Delete(merged);
	free(clean);
	free(path);
	free(src);
}

/* ---- remote dependencies: downloads on the loop, then the package ---- */

static void pack(void *job)
{
	struct hcjob *j = job;
	size_t i;

	for (i = 0; i < j->nfetch; i++) {
		struct dep_fetch *f = &j->fetch[i];
		struct helm_chart *c = NULL;
		char *data = NULL;
		size_t len;

		j->r = path_read_file(f->path, MAX_CHART_SIZE, &data, &len);
		if (j->r == 0)
			j->r = helm_chart_load_archive(data, len, NULL, &c, &j->err);
		else
			op_err_set(&j->err, j->r, "%s", op_strerror(j->r));
		free(data);
		if (j->r < 0) {
			op_err_prefix(&j->err, "failed to add remote dependency '%s': failed to load "
				      "downloaded archive of version '%s'", f->key, f->version);
			build_err(j, "DependencyBuildError", false);
			return;
		}
		add_extra(j, c, f->key);
	}
	package(j);
}

static void fetch_next(struct hcjob *j);

static void dep_downloaded(struct helm_get *g, int r, const char *reason, const char *why)
{
	struct hcjob *j = (struct hcjob *)((char *)g - offsetof(struct hcjob, get));
	struct dep_fetch *f = &j->fetch[j->next_fetch];
	char *msg;

	(void)reason;
	if (r < 0 || g->status != 200) {
		msg = xasprintf("dependency build error: failed to add remote dependency '%s': chart "
				"download of version '%s' failed: %s", f->key, f->version, why);
		fail(j, "DependencyBuildError", msg, false);
		free(msg);
		return;
	}
	helm_get_release(&j->get);
	j->next_fetch++;
	fetch_next(j);
}

static void fetch_next(struct hcjob *j)
{
	struct dep_fetch *f;

	if (j->next_fetch == j->nfetch) {
		if (rc_work(j->rc, pack, stored) < 0)
			fail(j, "ChartPackageError", "cannot queue the chart's packaging", false);
		return;
	}
	f = &j->fetch[j->next_fetch];
	helm_get_init(&j->get, j->rc, f->repo->spec, f->url, f->path, MAX_CHART_SIZE,
		      j->timeout_ms, dep_downloaded);
	helm_get_start(&j->get);
}

static void built(struct rc *rc, int status)
{
	struct hcjob *j = rc->job;

	if (status < 0)
		fail(j, "ChartPackageError", "the chart's build was cancelled", false);
	else if (j->r < 0)
		fail(j, j->reason, j->err.msg, j->stall);
	else if (j->up_to_date || j->rel)
		succeed(j);
	else
		fetch_next(j);
}

/* ---- the spec ---- */

const char *helmchart_unsupported(const cJSON *spec, char *msg, size_t n)
{
	const char *kind = yj_get_str(spec, "/sourceRef/kind");

	if (!streq_ptr(kind, "HelmRepository") && !streq_ptr(kind, "GitRepository") &&
	    !streq_ptr(kind, "Bucket")) {
		snprintf(msg, n, "failed to get source: unsupported source kind '%s', must be one "
			 "of: [HelmRepository GitRepository Bucket]", kind ? kind : "");
		return "UnsupportedSourceKind";
	}
	if (yj_get(spec, "/verify")) {
		snprintf(msg, n, "spec.verify is not supported by cflux yet (cosign verification of "
			 "OCI charts)");
		return "VerificationError";
	}
	return NULL;
}

/* Flux's GetValuesFiles(): spec.valuesFiles, except [values.yaml] alone, which is nothing. */
static void read_values_files(struct hcjob *j, const cJSON *spec)
{
	const cJSON *vf = yj_get(spec, "/valuesFiles"), *e;
	char *c0;

	if (cJSON_GetArraySize(vf) == 0)
		return;
	if (cJSON_GetArraySize(vf) == 1) {
		c0 = path_clean(cJSON_GetStringValue(cJSON_GetArrayItem(vf, 0)) ?: "");
		if (streq(c0, "values.yaml")) {
			free(c0);
			return;
		}
		free(c0);
	}
	j->values_files = xnew0(char *, (size_t)cJSON_GetArraySize(vf));
	cJSON_ArrayForEach(e, vf)
		j->values_files[j->nvalues_files++] = xstrdup(cJSON_GetStringValue(e) ?: "");
}

/* The hash of a Git revision ("main@sha1:<hex>") or a Bucket's digest, cut to 12. */
static char *revision_meta(const char *rev)
{
	const char *colon = strrchr(rev, ':'), *at = strrchr(rev, '@'), *slash = strrchr(rev, '/');
	const char *hex = colon ? colon + 1 : at ? at + 1 : slash ? slash + 1 : rev;

	return xstrndup(hex, 12);
}

/* The HelmRepositories of the namespace, for remote dependencies. */
static void snapshot_repos(struct hcjob *j, struct ctl *repos)
{
	struct kobj *r;
	size_t it = 0;

	if (!repos)
		return;
	while ((r = informer_next(ctl_informer(repos), &it))) {
		const char *url = yj_get_str(r->json, "/spec/url");
		const char *path = yj_get_str(r->json, "/status/artifact/path");
		struct repo_snap *s;
		size_t ulen;

		if (!streq(r->ns, j->ns) || !url ||
		    streq_ptr(yj_get_str(r->json, "/spec/type"), "oci"))
			continue;
		ulen = strlen(url);
		while (ulen && url[ulen - 1] == '/')
			ulen--;
		j->repos = xrealloc(j->repos, xalloc__mul(j->nrepos + 1, sizeof(*j->repos)));
		s = &j->repos[j->nrepos++];
		s->url = xstrndup(url, ulen);
		s->name = xstrdup(r->name);
		s->index_path = path && storage_has(j->st, path) ? storage_abs(j->st, path) : NULL;
		s->spec = cJSON_Duplicate(yj_get(r->json, "/spec"), 1);
	}
}

static const char *resource_of(const char *kind)
{
	return streq(kind, "GitRepository") ? "gitrepositories" :
	       streq(kind, "Bucket")	    ? "buckets" :
					      "helmrepositories";
}

static void reconcile(struct rc *rc)
{
	struct helmchart_ctl *g = ctl_data(rc->ctl);
	struct hcjob *j = rc->job;
	const struct kobj *o = rc->obj;
	const cJSON *spec = yj_get(o->json, "/spec");
	const char *why, *src_name = yj_get_str(spec, "/sourceRef/name");
	const char *kind = yj_get_str(spec, "/sourceRef/kind");
	const char *ver = yj_get_str(spec, "/version"), *spath, *srev;
	const cJSON *og = yj_get(o->json, "/status/observedGeneration");
	struct ctl *sources;
	struct kobj *src = NULL;
	unsigned timeout_s;
	char msg[1024], *key;

	j->rc = rc;
	j->st = g->storage;
	j->ns = xstrdup(o->ns);
	j->name = xstrdup(o->name);
	j->tmp_root = xstrdup(g->tmp_root);
	j->chart = xstrdup(yj_get_str(spec, "/chart") ? yj_get_str(spec, "/chart") : "");
	j->version = xstrdup(ver && *ver ? ver : "*");
	j->ignore_missing = cJSON_IsTrue(yj_get(spec, "/ignoreMissingValuesFiles"));
	if (source_durations(o, &j->interval_ns, &timeout_s, &why, msg, sizeof(msg)) < 0) {
		fail(j, why, msg, true);
		return;
	}
	j->timeout_ms = (uint64_t)timeout_s * 1000;
	why = helmchart_unsupported(spec, msg, sizeof(msg));
	if (why) {
		fail(j, why, msg, true);
		return;
	}
	/* An artifact that left the store is built again (Flux's reconcileStorage). */
	spath = yj_get_str(rc->status, "/artifact/path");
	if (spath && !storage_has(j->st, spath)) {
		cJSON_DeleteItemFromObjectCaseSensitive(rc->status, "artifact");
		cJSON_DeleteItemFromObjectCaseSensitive(rc->status, "url");
		cond_delete(rc->status, "ArtifactInStorage");
	}
	j->force = !og || (long)cJSON_GetNumberValue(og) != rc_gen(rc);
	if (yj_get_str(rc->status, "/artifact/path")) {
		j->cached_name = source_strdup(yj_get_str(rc->status, "/observedChartName"));
		j->cached_version = source_strdup(yj_get_str(rc->status, "/artifact/revision"));
		j->cached_vf = cJSON_Duplicate(yj_get(rc->status, "/observedValuesFiles"), 1);
	}
	read_values_files(j, spec);

	sources = mgr_ctl_kind(ctl_mgr(rc->ctl), kind);
	key = xasprintf("%s/%s", o->ns, src_name ? src_name : "");
	src = sources ? informer_get(ctl_informer(sources), key) : NULL;
	free(key);
	if (!src) {
		snprintf(msg, sizeof(msg), "failed to get source: %s.source.toolkit.fluxcd.io "
			 "\"%s\" not found", resource_of(kind), src_name ? src_name : "");
		fail(j, "SourceUnavailable", msg, false);
		return;
	}
	j->remote = streq(kind, "HelmRepository");
	if (j->remote && streq_ptr(yj_get_str(src->json, "/spec/type"), "oci")) {
		snprintf(msg, sizeof(msg), "spec.sourceRef: HelmRepository '%s' is of type 'oci': "
			 "charts from OCI HelmRepositories are not supported by cflux yet; use an "
			 "OCIRepository with the Helm chart layer", src_name);
		fail(j, "UnsupportedSourceKind", msg, true);
		return;
	}
	spath = yj_get_str(src->json, "/status/artifact/path");
	srev = yj_get_str(src->json, "/status/artifact/revision");
	if (!spath || !storage_has(j->st, spath)) {
		snprintf(msg, sizeof(msg), "no artifact available for %s source '%s'", kind,
			 src_name);
		fail(j, "NoSourceArtifact", msg, false);
		return;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(rc->status, "observedSourceArtifactRevision");
	cJSON_AddStringToObject(rc->status, "observedSourceArtifactRevision", srev ? srev : "");

	if (j->remote) {
		if (j->values_files)
			j->vmeta = xasprintf("%ld", rc_gen(rc));
		j->repo_spec = cJSON_Duplicate(yj_get(src->json, "/spec"), 1);
		j->repo_url = xstrdup(yj_get_str(j->repo_spec, "/url") ?: "");
		j->index_path = storage_abs(j->st, spath);
		if (rc_work(rc, resolve, resolved) < 0)
			fail(j, "ChartPullError", "cannot queue the chart's resolution", false);
		return;
	}
	if (streq_ptr(yj_get_str(spec, "/reconcileStrategy"), "Revision") && srev)
		j->vmeta = revision_meta(srev);
	if (j->values_files) {
		char *m = j->vmeta ? xasprintf("%s.%ld", j->vmeta, rc_gen(rc)) :
				     xasprintf("%ld", rc_gen(rc));

		free(j->vmeta);
		j->vmeta = m;
	}
	j->src_tgz = storage_abs(j->st, spath);
	snapshot_repos(j, mgr_ctl_kind(ctl_mgr(rc->ctl), "HelmRepository"));
	if (make_tmp(j) < 0)
		return;
	if (rc_work(rc, build, built) < 0)
		fail(j, "ChartPackageError", "cannot queue the chart's build", false);
}

static void finalize(struct rc *rc)
{
	source_finalize(rc, ((struct helmchart_ctl *)ctl_data(rc->ctl))->storage);
}

/* A source's new artifact requeues the HelmCharts that use it. */
static void on_source(struct ctl *ctl, struct ctl *from, enum informer_event ev,
		      struct kobj *obj, struct kobj *old)
{
	const char *rev = yj_get_str(obj->json, "/status/artifact/revision");
	const char *orev = old ? yj_get_str(old->json, "/status/artifact/revision") : NULL;
	const char *kind = ctl_desc(from)->kind;
	struct kobj *hc;
	size_t it = 0;

	if (ev == INFORMER_DELETE || !rev || streq_ptr(rev, orev))
		return;
	while ((hc = informer_next(ctl_informer(ctl), &it)))
		if (streq(hc->ns, obj->ns) &&
		    streq_ptr(yj_get_str(hc->json, "/spec/sourceRef/kind"), kind) &&
		    streq_ptr(yj_get_str(hc->json, "/spec/sourceRef/name"), obj->name))
			ctl_enqueue(ctl, hc->key);
}

void helmchart_watch_repositories(struct ctl *charts)
{
	static const char *const kinds[] = { "HelmRepository", "GitRepository", "Bucket" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(kinds); i++) {
		struct ctl *src = mgr_ctl_kind(ctl_mgr(charts), kinds[i]);

		if (src)
			ctl_watch(charts, src, on_source);
	}
}

const struct ctl_desc helmchart_desc = {
	.name = "helmchart",
	.component = "source-controller",
	.kind = KIND,
	.api_version = "source.toolkit.fluxcd.io/v1",
	.ref = { .group = "source.toolkit.fluxcd.io", .version = "v1", .resource = "helmcharts" },
	.retry = BACKOFF_RECONCILE,
	.source = true,
	.job_size = sizeof(struct hcjob),
	.job_release = job_release,
	.reconcile = reconcile,
	.finalize = finalize,
};
