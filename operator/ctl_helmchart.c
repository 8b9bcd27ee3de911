/*
 * ctl_helmchart.c: the HelmChart reconciler (source.toolkit.fluxcd.io/v1),
 * source-controller's contract: a chart from a HelmRepository (HTTP or
 * OCI), or from a path in a GitRepository's or a Bucket's artifact,
 * packaged as an artifact.
 *
 * The manager's skeleton (manager.h) does the lifecycle every kind
 * shares; finalize() removes the object's artifacts.  One reconcile:
 *
 *   spec          chart, version (a Masterminds range, "*" by default),
 *                 sourceRef, valuesFiles, ignoreMissingValuesFiles,
 *                 reconcileStrategy, interval, verify (cosign keys,
 *                 OCI charts only).  Keyless cosign, notation, and an
 *                 OCI repository's cloud provider without a Secret are
 *                 refused with Stalled and a message naming them.
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
 * From an OCI HelmRepository (Flux's OCIChartRepository; no artifact):
 *   secrets       the repository's secretRef (a docker config, else
 *                 username/password) and certSecretRef, the chart's
 *                 verify.secretRef (every *.pub), one after the other.
 *   version       <url>/<chart> in the registry: a version (three parts)
 *                 is the tag as is; a range lists the tags and picks as
 *                 helmchart_oci_pick() (Helm's "_" for "+").
 *   verify        with keys, oci_pull() resolve-only with cosign, at
 *                 every reconcile before the cache (as Flux).
 *   download      unless the same name and version are in store: the
 *                 chart layer (application/vnd.cncf.helm.chart.content.
 *                 v1.tar+gzip), at most 10 MiB; then "store" as for an
 *                 HTTP repository (no name check: Flux names it by
 *                 spec.chart).
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
 * A remote dependency whose repository no HelmRepository of the namespace
 * names waits for that repository's index.yaml, downloaded anonymously as
 * Flux does, then is planned like the others (plan_rest).  An oci://
 * dependency is resolved and pulled on the loop like an OCI chart (the
 * credentials of the namespace's OCI HelmRepository with that URL, if
 * any).
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
#include "secrets.h"
#include "source.h"
#include "source/artifact.h"
#include "source/oci.h"
#include "storage.h"
#include "yj/yj.h"
#include "base/banned.h"

#define KIND "HelmChart"
#define RECORDS 2
#define LATEST "latest.tar.gz"
#define MAX_CHART_SIZE ((uint64_t)10 << 20)
#define MAX_INDEX_SIZE ((uint64_t)50 << 20) /* as a HelmRepository's */
#define MAX_VALUES_FILE ((size_t)5 << 20)

/* A HelmRepository of the namespace, as a remote dependency may need it. */
struct repo_snap {
	char *url;        /* spec.url without trailing '/' */
	char *name;
	char *index_path; /* its stored index (absolute), or NULL without an artifact */
	cJSON *spec;
	bool oci;         /* type oci: no index; its credentials serve oci:// dependencies */
};

/* A remote dependency to download. */
struct dep_fetch {
	char *key;     /* alias or name: what the chart calls it */
	char *version; /* the version picked */
	char *url;     /* the chart's URL */
	char *path;    /* where it is downloaded */
	size_t repo;   /* its repository in hcjob.repos (SIZE_MAX: none, an anonymous oci://) */
	bool oci;      /* url is oci://<repository>/<name>; version the constraint until pulled */
};

/* A remote dependency whose URL no HelmRepository names: planned once its index is here. */
struct dep_later {
	char *key, *name, *version, *repository;
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
	/* from an OCI HelmRepository */
	bool oci;
	char *oci_url;      /* oci://host/path/<chart>, as Flux names it in messages */
	struct oci_ref oref;
	char *o_secret, *o_cert, *keys_secret; /* Secret names, or NULL */
	bool o_secret_read, o_cert_read, keys_read;
	char *o_user, *o_pass, *o_config;      /* secretRef: basic auth or a docker config */
	struct secret_tls o_tls;
	char **keys;        /* cosign public keys (verify.secretRef) */
	size_t nkeys;
	struct oci_client *oc;
	char *tag;          /* the version picked (Helm's "+" form) */
	bool verified;
	/* local */
	char *src_tgz;      /* the source artifact (absolute) */
	struct repo_snap *repos;
	size_t nrepos;
	struct dep_fetch *fetch;
	size_t nfetch, next_fetch;
	struct dep_later *later;  /* their indexes downloaded anonymously, as Flux does */
	size_t nlater;
	char **anon;              /* those repositories' URLs, each once */
	size_t nanon, next_anon;
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
	free(j->oci_url);
	free(j->o_secret);
	free(j->o_cert);
	free(j->keys_secret);
	free_secret(j->o_user);
	free_secret(j->o_pass);
	free_secret(j->o_config);
	secret_tls_release(&j->o_tls);
	for (i = 0; i < j->nkeys; i++)
		free(j->keys[i]);
	free(j->keys);
	if (j->oc)
		oci_client_close(j->oc, NULL, NULL);
	free(j->tag);
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
	for (i = 0; i < j->nlater; i++) {
		free(j->later[i].key);
		free(j->later[i].name);
		free(j->later[i].version);
		free(j->later[i].repository);
	}
	free(j->later);
	for (i = 0; i < j->nanon; i++)
		free(j->anon[i]);
	free(j->anon);
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
		{ "ChartVerificationError", "chart verification error" },
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
	struct rc *rc = j->rc;
	bool storage = streq(reason, "ArchiveOperationFailed") ||
		       streq(reason, "DirectoryCreationFailed");
	bool verify = streq(reason, "ChartVerificationError");
	bool build = verify || streq(reason, "MetadataPatchError") ||
		     streq(reason, "ValuesFilesError") || streq(reason, "DependencyBuildError") ||
		     streq(reason, "ChartPackageError");

	if (verify || streq(reason, "VerificationError"))
		cond_set(rc->status, "SourceVerified", "False", "VerificationError", msg,
			 rc_gen(rc), time_now_ns());
	if (verify || streq(reason, "VerificationError")) {
		/*
		 * The verifiers could not be made: no Fetch/BuildFailed, as Flux.
		 * The signature did not verify: BuildFailed, and Ready takes
		 * SourceVerified's reason (summarize's order), as Flux.
		 */
		if (verify) {
			cond_delete(rc->status, "FetchFailed");
			cond_set(rc->status, "BuildFailed", "True", reason, msg, rc_gen(rc),
				 time_now_ns());
		}
		rc_event(rc, "Warning", reason, "%s", msg);
		log_error(NULL, "Reconciler error", "controller", "helmchart", "object", rc->key,
			  "reason", reason, "error", msg, NULL);
		if (stall) {
			rc_stall(rc, reason, msg);
			return;
		}
		cond_set(rc->status, COND_READY, "False", "VerificationError", msg, rc_gen(rc),
			 time_now_ns());
		rc_retry(rc);
		return;
	}
	if (build)
		cond_delete(rc->status, "FetchFailed");
	else if (!storage)
		cond_delete(rc->status, "BuildFailed");
	source_fail(rc, storage ? "StorageOperationFailed" : build ? "BuildFailed" : "FetchFailed",
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
	if (j->verified) {
		char *m = xasprintf("verified signature of version %s", j->cv_version);

		cond_set(st, "SourceVerified", "True", "Succeeded", m, rc_gen(rc), time_now_ns());
		free(m);
	}
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
	if (j->r == 0 && !j->oci && !streq(j->chart_obj->md.name, j->cv_name))
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

/* ---- from an OCI HelmRepository: Flux's OCIChartRepository, on the loop ---- */

/* A tag as Helm's Tags() keeps it: strict semver once "_" reads "+"; its String() in `out`. */
static bool strict_tag(const char *tag, char out[SEMVER_STRING_MAX], struct semver *v)
{
	char t[OCI_TAG_MAX + 1];
	size_t i;

	if (strlen(tag) > OCI_TAG_MAX)
		return false;
	for (i = 0; tag[i]; i++)
		t[i] = tag[i] == '_' ? '+' : tag[i];
	t[i] = '\0';
	if (semver_parse(t, v) < 0)
		return false;
	semver_format(v, out);
	return streq(out, t); /* a loose version ("v1.2", "1.02.0") prints otherwise */
}

int helmchart_oci_pick(const char *const *tags, size_t n, const char *want, char **ret,
		       struct op_err *err)
{
	struct semver_constraint *sc = NULL;
	struct semver v, best;
	char norm[SEMVER_STRING_MAX], best_s[SEMVER_STRING_MAX] = "";
	size_t i, kept = 0;
	int r;

	*ret = NULL;
	for (i = 0; i < n; i++) {
		if (!strict_tag(tags[i], norm, &v))
			continue;
		kept++;
		if (want && *want && streq(norm, want)) {
			*ret = xstrdup(norm);
			return 0;
		}
	}
	if (!kept)
		return -ENODATA;
	r = semver_constraint_parse(!want || !*want ? "*" : want, &sc, err);
	if (r < 0)
		return r;
	for (i = 0; i < n; i++)
		if (strict_tag(tags[i], norm, &v) && semver_satisfies(sc, &v) &&
		    (!best_s[0] || semver_cmp(&v, &best) > 0)) {
			best = v;
			snprintf(best_s, sizeof(best_s), "%s", norm);
		}
	semver_constraint_free(sc);
	if (!best_s[0])
		return op_err_set(err, -ENOENT, "could not locate a version matching provided "
				  "version string %s", want ? want : "");
	*ret = xstrdup(best_s);
	return 0;
}

/* Flux's VersionParse: three dot-separated parts and a (loose) version. */
static bool exact_version(const char *v)
{
	const char *d = strchr(v, '.');
	struct semver sv;

	return d && strchr(d + 1, '.') && semver_parse(v, &sv) == 0;
}

/* Helm's tag for a version: "+" (build metadata) is not allowed in a tag, "_" stands for it. */
static void oci_tag(const char *version, char out[OCI_TAG_MAX + 1])
{
	size_t i;

	for (i = 0; version[i] && i < OCI_TAG_MAX; i++)
		out[i] = version[i] == '+' ? '_' : version[i];
	out[i] = '\0';
}

/*
 * A registry client for `ref` with the job's credentials (o_user/o_pass
 * or o_config) and TLS (o_tls), `repo_spec`'s insecure (NULL: none), as
 * for an OCIRepository: insecure is plain HTTP, and TLS unverified only
 * without a certSecretRef.
 */
static int oci_open(struct hcjob *j, const struct oci_ref *ref, const cJSON *repo_spec,
		    struct op_err *e)
{
	struct oci_client_opts co = OCI_CLIENT_OPTS_INIT;
	const char *cfgs[1] = { j->o_config };
	bool insecure = cJSON_IsTrue(yj_get(repo_spec, "/insecure"));

	co.host = ref->host;
	co.repo = ref->repo;
	co.username = j->o_user;
	co.password = j->o_pass;
	co.docker_configs = j->o_config ? cfgs : NULL;
	co.n_docker_configs = j->o_config ? 1 : 0;
	co.ca_pem = j->o_tls.ca;
	co.cert_pem = j->o_tls.cert;
	co.key_pem = j->o_tls.key;
	co.insecure = insecure && !j->o_cert;
	co.allow_http = insecure;
	co.timeout_ms = j->timeout_ms;
	co.user_agent = "cflux-source-controller";
	return oci_client_new(kube_client_loop(ctl_client(j->rc->ctl)), &co, &j->oc, e);
}

/* A repository's secretRef: a docker config, else basic auth (Flux's GetClientOpts for OCI). */
static bool oci_read_creds(struct hcjob *j, const cJSON *secret)
{
	j->o_config = secret_value(secret, ".dockerconfigjson");
	if (j->o_config)
		return true;
	j->o_user = secret_value(secret, "username");
	j->o_pass = secret_value(secret, "password");
	return !j->o_user == !j->o_pass;
}

static void oci_close(struct hcjob *j)
{
	if (j->oc)
		oci_client_close(j->oc, NULL, NULL);
	j->oc = NULL;
}

/* With credentials, a refusal is the login's failure (Flux logs in first). */
static void oci_pull_failed(struct hcjob *j, int r, const char *what, const char *why)
{
	char msg[1400];

	if ((j->o_user || j->o_config) && (r == -EACCES || auth_failure(why))) {
		/*
		 * Flux marks AuthenticationFailed, then its deferred build
		 * observation, seeing an error that is no BuildError, writes
		 * it over as "Unknown": what users see, so what we write.
		 */
		snprintf(msg, sizeof(msg), "unknown build error: failed to login to OCI registry: %s",
			 why);
		fail(j, "Unknown", msg, false);
		return;
	}
	snprintf(msg, sizeof(msg), "chart pull error: %s: %s", what, why);
	fail(j, "ChartPullError", msg, false);
}

static void oci_downloaded(int r, struct oci_pull_result *res, const struct op_err *err,
			   void *payload)
{
	struct hcjob *j = payload;
	char what[600];

	oci_pull_result_release(res);
	if (r < 0) {
		char why[sizeof(err->msg)];

		/* The registry's words first: failing ends the job (and closes the client). */
		snprintf(why, sizeof(why), "%s", err ? err->msg : op_strerror(r));
		snprintf(what, sizeof(what), "failed to download chart for remote reference: "
			 "failed to get '%s:%s'", j->oci_url, j->tag);
		oci_close(j);
		oci_pull_failed(j, r, what, why);
		return;
	}
	oci_close(j);
	if (rc_work(j->rc, store, stored) < 0)
		fail(j, "ChartPullError", "cannot queue the chart's processing", false);
}

static void oci_download(struct hcjob *j)
{
	struct oci_pull_opts po = { 0 };
	char tag[OCI_TAG_MAX + 1], msg[1024];
	int r;

	if (make_tmp(j) < 0)
		return;
	j->tgz = xasprintf("%s/chart.tgz", j->tmp);
	oci_tag(j->tag, tag);
	po.tag = tag;
	po.layer_media_type = OCI_MT_HELM_CHART;
	po.layer_path = j->tgz;
	po.max_layer = MAX_CHART_SIZE;
	r = oci_pull(j->oc, &po, oci_downloaded, j);
	if (r < 0) {
		oci_close(j);
		snprintf(msg, sizeof(msg), "chart pull error: failed to download chart for remote "
			 "reference: %s", op_strerror(r));
		fail(j, "ChartPullError", msg, false);
	}
}

/* The version is known (and verified): nothing to do when it is in store. */
static void oci_have_version(struct hcjob *j)
{
	if (cached(j, j->values_files || j->vmeta)) {
		oci_close(j);
		succeed(j);
		return;
	}
	oci_download(j);
}

static void oci_verified(int r, struct oci_pull_result *res, const struct op_err *err,
			 void *payload)
{
	struct hcjob *j = payload;
	char msg[1400];

	j->verified = res->verified;
	oci_pull_result_release(res);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "chart verification error: failed to verify %s:%s: %s",
			 j->oci_url, j->tag, err ? err->msg : op_strerror(r));
		oci_close(j);
		fail(j, "ChartVerificationError", msg, false);
		return;
	}
	oci_have_version(j);
}

static void oci_picked(struct hcjob *j)
{
	struct op_err e = OP_ERR_INIT;
	struct oci_pull_opts po = { 0 };
	char tag[OCI_TAG_MAX + 1], msg[1024];
	int r;

	j->cv_name = xstrdup(j->chart);
	if (j->vmeta) {
		r = set_metadata(j, j->tag, j->vmeta, &j->cv_version);
		if (r < 0) {
			oci_close(j);
			build_err(j, "MetadataPatchError", false);
			fail(j, j->reason, j->err.msg, false);
			return;
		}
	} else {
		j->cv_version = xstrdup(j->tag);
	}
	if (!j->nkeys) {
		oci_have_version(j);
		return;
	}
	/* Flux verifies at every reconcile, before looking at the cache. */
	oci_tag(j->tag, tag);
	po.tag = tag;
	po.cosign_keys = (const char *const *)j->keys;
	po.n_keys = j->nkeys;
	r = oci_pull(j->oc, &po, oci_verified, j);
	if (r < 0) {
		oci_close(j);
		op_err_set(&e, r, "%s", op_strerror(r));
		snprintf(msg, sizeof(msg), "chart verification error: failed to verify %s:%s: %s",
			 j->oci_url, j->tag, e.msg);
		fail(j, "ChartVerificationError", msg, false);
	}
}

static void oci_tags(int r, const char *const *tags, size_t n, const struct op_err *err,
		     void *payload)
{
	struct hcjob *j = payload;
	struct op_err e = OP_ERR_INIT;
	char what[600], why[800];

	snprintf(what, sizeof(what), "failed to get chart version for remote reference: could not "
		 "get tags for \"%s\"", j->chart);
	if (r < 0) {
		snprintf(why, sizeof(why), "could not fetch tags for \"%s\": %s", j->oci_url,
			 err ? err->msg : op_strerror(r));
		oci_close(j);
		oci_pull_failed(j, r, what, why);
		return;
	}
	r = helmchart_oci_pick(tags, n, j->version, &j->tag, &e);
	if (r == -ENODATA) {
		oci_close(j);
		snprintf(why, sizeof(why), "unable to locate any tags in provided repository: %s",
			 j->oci_url);
		oci_pull_failed(j, 0, what, why);
		return;
	}
	if (r < 0) {
		oci_close(j);
		snprintf(why, sizeof(why), "chart pull error: failed to get chart version for "
			 "remote reference: %s", e.msg);
		fail(j, "ChartPullError", why, false);
		return;
	}
	oci_picked(j);
}

static void oci_connect(struct hcjob *j)
{
	struct op_err e = OP_ERR_INIT;
	char msg[1024];
	int r;

	r = oci_open(j, &j->oref, j->repo_spec, &e);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "failed to construct Helm client: %s", e.msg);
		fail(j, "Failed", msg, false);
		return;
	}
	if (exact_version(j->version)) {
		/* Flux's shortcut: a version, not a range, is the tag; no listing. */
		j->tag = xstrdup(j->version);
		oci_picked(j);
		return;
	}
	r = oci_tags_list(j->oc, oci_tags, j);
	if (r < 0)
		oci_tags(r, NULL, 0, NULL, j);
}

static void oci_secrets(struct hcjob *j);

static void oci_got_secret(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct hcjob *j = payload;
	char msg[1024];

	j->o_secret_read = true;
	if (r < 0) {
		snprintf(msg, sizeof(msg), "failed to get authentication secret '%s/%s': %s", j->ns,
			 j->o_secret, err ? err->msg : op_strerror(r));
		fail(j, "AuthenticationFailed", msg, false);
		return;
	}
	if (!oci_read_creds(j, obj)) {
		snprintf(msg, sizeof(msg), "invalid '%s' secret data: required fields "
			 "'username' and 'password'", j->o_secret);
		fail(j, "AuthenticationFailed", msg, false);
		return;
	}
	oci_secrets(j);
}

static void oci_got_cert(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct hcjob *j = payload;
	char msg[1024], why[512];

	j->o_cert_read = true;
	if (r < 0) {
		snprintf(msg, sizeof(msg), "failed to get TLS authentication secret '%s/%s': %s",
			 j->ns, j->o_cert, err ? err->msg : op_strerror(r));
		fail(j, "AuthenticationFailed", msg, false);
		return;
	}
	if (secret_tls_read(obj, j->ns, j->o_cert, &j->o_tls, why, sizeof(why)) < 0) {
		fail(j, "AuthenticationFailed", why, false);
		return;
	}
	oci_secrets(j);
}

static void oci_got_keys(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct hcjob *j = payload;
	char msg[1024];

	j->keys_read = true;
	if (r < 0) {
		snprintf(msg, sizeof(msg), "failed to verify the signature using provider 'cosign': "
			 "failed to get secret '%s/%s': %s", j->ns, j->keys_secret,
			 err ? err->msg : op_strerror(r));
		fail(j, "VerificationError", msg, false);
		return;
	}
	j->nkeys = secret_cosign_keys(obj, &j->keys);
	if (!j->nkeys) {
		snprintf(msg, sizeof(msg), "failed to verify the signature using provider 'cosign': "
			 "no public keys found in secret '%s/%s'", j->ns, j->keys_secret);
		fail(j, "VerificationError", msg, false);
		return;
	}
	oci_secrets(j);
}

/* The Secrets, one after the other, then the registry. */
static void oci_secrets(struct hcjob *j)
{
	struct kube_ref ref = { .version = "v1", .resource = "secrets", .ns = j->ns };
	kube_cb cb = NULL;

	if (j->o_secret && !j->o_secret_read) {
		ref.name = j->o_secret;
		cb = oci_got_secret;
	} else if (j->o_cert && !j->o_cert_read) {
		ref.name = j->o_cert;
		cb = oci_got_cert;
	} else if (j->keys_secret && !j->keys_read) {
		ref.name = j->keys_secret;
		cb = oci_got_keys;
	}
	if (!cb) {
		oci_connect(j);
		return;
	}
	if (kube_get(ctl_client(j->rc->ctl), &ref, NULL, cb, j) < 0)
		cb(-EIO, NULL, NULL, j);
}

/* The chart's reference under the repository's URL, then the Secrets. */
static void oci_begin(struct hcjob *j, const cJSON *spec)
{
	const char *url = yj_get_str(j->repo_spec, "/url") ?: "";
	size_t ulen = strlen(url);
	struct op_err e = OP_ERR_INIT;
	char msg[1024];

	while (ulen && url[ulen - 1] == '/')
		ulen--;
	j->oci_url = xasprintf("%.*s/%s", (int)ulen, url, j->chart);
	if (!str_startswith(url, "oci://") || oci_ref_parse(j->oci_url, true, &j->oref, &e) < 0 ||
	    j->oref.tag[0] || j->oref.digest[0]) {
		snprintf(msg, sizeof(msg), "invalid OCI registry URL: %s%s%s", j->oci_url,
			 e.msg[0] ? ": " : "", e.msg);
		fail(j, "URLInvalid", msg, true);
		return;
	}
	j->o_secret = source_strdup(yj_get_str(j->repo_spec, "/secretRef/name"));
	j->o_cert = source_strdup(yj_get_str(j->repo_spec, "/certSecretRef/name"));
	j->keys_secret = source_strdup(yj_get_str(spec, "/verify/secretRef/name"));
	oci_secrets(j);
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

/* Keep a dependency whose repository no HelmRepository names for after its index is here. */
static void plan_later(struct hcjob *j, const char *key, const char *name, const char *version,
		       const char *repository, size_t ulen)
{
	struct dep_later *l;
	size_t i;

	j->later = xrealloc(j->later, xalloc__mul(j->nlater + 1, sizeof(*j->later)));
	l = &j->later[j->nlater++];
	l->key = xstrdup(key);
	l->name = xstrdup(name);
	l->version = xstrdup(version);
	l->repository = xstrdup(repository);
	for (i = 0; i < j->nanon; i++)
		if (strlen(j->anon[i]) == ulen && !strncmp(j->anon[i], repository, ulen))
			return;
	j->anon = xrealloc(j->anon, xalloc__mul(j->nanon + 1, sizeof(*j->anon)));
	j->anon[j->nanon++] = xstrndup(repository, ulen);
}

/*
 * An oci:// dependency: resolved and pulled on the loop (fetch_next), with
 * the credentials of the namespace's OCI HelmRepository of that URL, if
 * any, else anonymously (Flux's OCIChartRepository for the URL).
 */
static int plan_oci_dep(struct hcjob *j, const char *key, const char *dname,
			const char *dversion, const char *repository, size_t ulen)
{
	struct dep_fetch *f;
	struct oci_ref ref;
	struct op_err e = OP_ERR_INIT;
	size_t i;

	j->fetch = xrealloc(j->fetch, xalloc__mul(j->nfetch + 1, sizeof(*j->fetch)));
	f = &j->fetch[j->nfetch];
	f->url = xasprintf("%.*s/%s", (int)ulen, repository, dname);
	if (oci_ref_parse(f->url, true, &ref, &e) < 0 || ref.tag[0] || ref.digest[0]) {
		op_err_set(&j->err, -EINVAL, "failed to add remote dependency '%s': invalid OCI "
			   "reference '%s'%s%s", key, f->url, e.msg[0] ? ": " : "", e.msg);
		free(f->url);
		return -EINVAL;
	}
	f->key = xstrdup(key);
	f->version = xstrdup(*dversion ? dversion : "*");
	f->path = xasprintf("%s/dependency-%zu.tgz", j->tmp, j->nfetch);
	f->oci = true;
	f->repo = SIZE_MAX;
	for (i = 0; i < j->nrepos; i++)
		if (j->repos[i].oci && strlen(j->repos[i].url) == ulen &&
		    !strncmp(j->repos[i].url, repository, ulen))
			f->repo = i;
	j->nfetch++;
	return 0;
}

/*
 * A remote dependency: its version from the index of the HelmRepository
 * with its URL; without one, from the repository's own index fetched
 * anonymously (Flux's namespacedChartRepositoryCallback), planned again
 * once that is here (`later` false then).
 */
static int plan_remote_dep(struct hcjob *j, const char *key, const char *dname,
			   const char *dversion, const char *repository, bool later)
{
	size_t ulen = strlen(repository), i;
	struct dep_fetch *f;
	char *name = NULL, *version = NULL, *url = NULL;
	int r;

	while (ulen && repository[ulen - 1] == '/')
		ulen--;
	if (str_startswith(repository, "oci://"))
		return plan_oci_dep(j, key, dname, dversion, repository, ulen);
	if (!str_startswith(repository, "http://") && !str_startswith(repository, "https://"))
		return op_err_set(&j->err, -EINVAL, "failed to add remote dependency '%s': the url "
				  "scheme is not supported: %s", key, repository);
	for (i = 0; i < j->nrepos; i++)
		if (!j->repos[i].oci && strlen(j->repos[i].url) == ulen &&
		    !strncmp(j->repos[i].url, repository, ulen))
			break;
	if (i == j->nrepos && later) {
		plan_later(j, key, dname, dversion, repository, ulen);
		return 0;
	}
	if (i == j->nrepos)
		return op_err_set(&j->err, -ENOENT, "failed to add remote dependency '%s': no "
				  "index for '%.*s'", key, (int)ulen, repository);
	if (!j->repos[i].index_path)
		return op_err_set(&j->err, -ENOENT, "failed to add remote dependency '%s': "
				  "HelmRepository '%s' has no artifact", key, j->repos[i].name);
	r = index_pick(j, j->repos[i].index_path, j->repos[i].url, dname,
		       *dversion ? dversion : "*", &name, &version, &url);
	if (r < 0) {
		op_err_prefix(&j->err, "failed to get chart '%s' version '%s' from '%s'", dname,
			      dversion, repository);
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
	f->repo = i;
	f->oci = false;
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
			j->r = plan_remote_dep(j, *d->alias ? d->alias : d->name, d->name,
					       d->version, d->repository, true);
	}
	helm_missing_deps_free(missing, nmissing);
	if (j->r < 0) {
		build_err(j, "DependencyBuildError", false);
		goto out;
	}
	if (!j->nfetch && !j->nlater)
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

/* ---- oci:// dependencies: one after the other, on the loop ---- */

static void oci_dep_fail(struct hcjob *j, const struct dep_fetch *f, const char *what,
			 const char *why)
{
	char *msg = xasprintf("dependency build error: failed to add remote dependency '%s': %s: "
			      "%s", f->key, what, why);

	oci_close(j);
	fail(j, "DependencyBuildError", msg, false);
	free(msg);
}

static void oci_dep_pulled(int r, struct oci_pull_result *res, const struct op_err *err,
			   void *payload)
{
	struct hcjob *j = payload;
	struct dep_fetch *f = &j->fetch[j->next_fetch];
	char what[300];

	oci_pull_result_release(res);
	if (r < 0) {
		snprintf(what, sizeof(what), "chart download of version '%s' failed", f->version);
		oci_dep_fail(j, f, what, err ? err->msg : op_strerror(r));
		return;
	}
	oci_close(j);
	j->next_fetch++;
	fetch_next(j);
}

static void oci_dep_pull(struct hcjob *j, struct dep_fetch *f)
{
	struct oci_pull_opts po = { 0 };
	char tag[OCI_TAG_MAX + 1];
	int r;

	oci_tag(f->version, tag);
	po.tag = tag;
	po.layer_media_type = OCI_MT_HELM_CHART;
	po.layer_path = f->path;
	po.max_layer = MAX_CHART_SIZE;
	r = oci_pull(j->oc, &po, oci_dep_pulled, j);
	if (r < 0)
		oci_dep_fail(j, f, "chart download failed", op_strerror(r));
}

static void oci_dep_tags(int r, const char *const *tags, size_t n, const struct op_err *err,
			 void *payload)
{
	struct hcjob *j = payload;
	struct dep_fetch *f = &j->fetch[j->next_fetch];
	struct op_err e = OP_ERR_INIT;
	char what[600], *tag = NULL;

	snprintf(what, sizeof(what), "failed to get chart '%s' version '%s' from '%s'",
		 strrchr(f->url, '/') + 1, f->version, f->url);
	if (r < 0) {
		oci_dep_fail(j, f, what, err ? err->msg : op_strerror(r));
		return;
	}
	r = helmchart_oci_pick(tags, n, f->version, &tag, &e);
	if (r == -ENODATA)
		op_err_set(&e, r, "unable to locate any tags in provided repository: %s", f->url);
	if (r < 0) {
		oci_dep_fail(j, f, what, e.msg);
		return;
	}
	free(f->version);
	f->version = tag;
	oci_dep_pull(j, f);
}

static void oci_dep_connect(struct hcjob *j, struct dep_fetch *f)
{
	struct op_err e = OP_ERR_INIT;
	struct oci_ref ref;
	int r;

	(void)oci_ref_parse(f->url, true, &ref, &e); /* checked when planned */
	r = oci_open(j, &ref, f->repo != SIZE_MAX ? j->repos[f->repo].spec : NULL, &e);
	if (r < 0) {
		oci_dep_fail(j, f, "failed to create registry client", e.msg);
		return;
	}
	if (exact_version(f->version)) {
		oci_dep_pull(j, f);
		return;
	}
	r = oci_tags_list(j->oc, oci_dep_tags, j);
	if (r < 0)
		oci_dep_tags(r, NULL, 0, NULL, j);
}

static void oci_dep_secret(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct hcjob *j = payload;
	struct dep_fetch *f = &j->fetch[j->next_fetch];
	char why[600];

	if (r < 0) {
		snprintf(why, sizeof(why), "failed to get authentication secret '%s/%s': %s", j->ns,
			 yj_get_str(j->repos[f->repo].spec, "/secretRef/name"),
			 err ? err->msg : op_strerror(r));
		oci_dep_fail(j, f, "failed to get chart repository", why);
		return;
	}
	(void)oci_read_creds(j, obj); /* half a pair: the half is sent, and the registry says */
	oci_dep_connect(j, f);
}

static void oci_dep_start(struct hcjob *j, struct dep_fetch *f)
{
	const char *sec = f->repo != SIZE_MAX ?
				  yj_get_str(j->repos[f->repo].spec, "/secretRef/name") :
				  NULL;
	struct kube_ref ref = { .version = "v1", .resource = "secrets", .ns = j->ns, .name = sec };

	free_secret(j->o_user);
	free_secret(j->o_pass);
	free_secret(j->o_config);
	j->o_user = j->o_pass = j->o_config = NULL;
	if (!sec || !*sec) {
		oci_dep_connect(j, f);
		return;
	}
	if (kube_get(ctl_client(j->rc->ctl), &ref, NULL, oci_dep_secret, j) < 0)
		oci_dep_secret(-EIO, NULL, NULL, j);
}

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
	if (f->oci) {
		oci_dep_start(j, f);
		return;
	}
	helm_get_init(&j->get, j->rc, j->repos[f->repo].spec, f->url, f->path, MAX_CHART_SIZE,
		      j->timeout_ms, dep_downloaded);
	helm_get_start(&j->get);
}

/* The dependencies that waited for their repository's index, on the thread pool. */
static void plan_rest(void *job)
{
	struct hcjob *j = job;
	size_t i;

	for (i = 0; i < j->nlater && j->r == 0; i++)
		j->r = plan_remote_dep(j, j->later[i].key, j->later[i].name, j->later[i].version,
				       j->later[i].repository, false);
	if (j->r < 0)
		build_err(j, "DependencyBuildError", false);
}

static void planned(struct rc *rc, int status)
{
	struct hcjob *j = rc->job;

	if (status < 0)
		fail(j, "DependencyBuildError", "the dependencies' planning was cancelled", false);
	else if (j->r < 0)
		fail(j, j->reason, j->err.msg, j->stall);
	else
		fetch_next(j);
}

static void anon_next(struct hcjob *j);

static void anon_downloaded(struct helm_get *g, int r, const char *reason, const char *why)
{
	struct hcjob *j = (struct hcjob *)((char *)g - offsetof(struct hcjob, get));
	const char *url = j->anon[j->next_anon];
	struct repo_snap *s;
	char *msg;

	(void)reason;
	if (r < 0 || g->status != 200) {
		msg = xasprintf("dependency build error: failed to add remote dependency: failed to "
				"fetch index of '%s': %s", url, why);
		fail(j, "DependencyBuildError", msg, false);
		free(msg);
		return;
	}
	j->repos = xrealloc(j->repos, xalloc__mul(j->nrepos + 1, sizeof(*j->repos)));
	s = &j->repos[j->nrepos++];
	s->url = xstrdup(url);
	s->name = xstrdup(url);
	s->index_path = xstrdup(g->path);
	s->spec = cJSON_CreateObject();
	s->oci = false;
	cJSON_AddStringToObject(s->spec, "url", url);
	helm_get_release(&j->get);
	j->next_anon++;
	anon_next(j);
}

/* Each unnamed repository's index.yaml, anonymously (Flux's shim HelmRepository). */
static void anon_next(struct hcjob *j)
{
	cJSON *spec;
	char *url, *path;

	if (j->next_anon == j->nanon) {
		if (rc_work(j->rc, plan_rest, planned) < 0)
			fail(j, "DependencyBuildError", "cannot queue the dependencies' planning",
			     false);
		return;
	}
	spec = cJSON_CreateObject();
	cJSON_AddStringToObject(spec, "url", j->anon[j->next_anon]);
	url = xasprintf("%s/index.yaml", j->anon[j->next_anon]);
	path = xasprintf("%s/index-%zu.yaml", j->tmp, j->next_anon);
	helm_get_init(&j->get, j->rc, spec, url, path, MAX_INDEX_SIZE, j->timeout_ms,
		      anon_downloaded);
	helm_get_start(&j->get);
	cJSON_Delete(spec);
	free(url);
	free(path);
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
	else if (j->nlater)
		anon_next(j);
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
	if (yj_get(spec, "/verify") &&
	    streq_ptr(yj_get_str(spec, "/verify/provider"), "notation")) {
		snprintf(msg, n, "spec.verify.provider 'notation' is not supported by cflux; use "
			 "cosign with public keys");
		return "VerificationError";
	}
	if (yj_get(spec, "/verify") && !yj_get_str(spec, "/verify/secretRef/name")) {
		snprintf(msg, n, "failed to verify the signature using provider 'cosign keyless': "
			 "keyless verification needs Fulcio and Rekor, which cflux does not reach; "
			 "give the public keys in spec.verify.secretRef");
		return "VerificationError";
	}
	return NULL;
}

const char *helmchart_oci_unsupported(const cJSON *repo_spec, const char *repo, char *msg,
				      size_t n)
{
	const char *prov = yj_get_str(repo_spec, "/provider");

	if (prov && *prov && !streq(prov, "generic") &&
	    !yj_get_str(repo_spec, "/secretRef/name")) {
		snprintf(msg, n, "HelmRepository '%s': spec.provider '%s': the login to the %s "
			 "registry needs the cloud's identity service, which cflux does not reach; "
			 "give the credentials in spec.secretRef instead", repo, prov, prov);
		return "InvalidProviderConfiguration";
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

		if (!streq(r->ns, j->ns) || !url)
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
		s->oci = streq_ptr(yj_get_str(r->json, "/spec/type"), "oci");
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
	/* As Flux: a failed verification is computed again; no verify, no condition. */
	if (!yj_get(spec, "/verify") ||
	    streq_ptr(yj_get_str(cond_get(rc->status, "SourceVerified"), "/status"), "False"))
		cond_delete(rc->status, "SourceVerified");
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
	j->oci = j->remote && streq_ptr(yj_get_str(src->json, "/spec/type"), "oci");
	if (j->oci) {
		/* No artifact: the registry is asked directly (Flux's OCIChartRepository). */
		if (j->values_files)
			j->vmeta = xasprintf("%ld", rc_gen(rc));
		j->repo_spec = cJSON_Duplicate(yj_get(src->json, "/spec"), 1);
		why = helmchart_oci_unsupported(j->repo_spec, src_name, msg, sizeof(msg));
		if (why) {
			fail(j, why, msg, true);
			return;
		}
		oci_begin(j, spec);
		return;
	}
	if (yj_get(spec, "/verify")) {
		snprintf(msg, sizeof(msg), "spec.verify: only charts from an OCI HelmRepository "
			 "can be verified, and '%s' is a %s", src_name, kind);
		fail(j, "VerificationError", msg, true);
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
