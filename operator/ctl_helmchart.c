/*
 * ctl_helmchart.c: the HelmChart reconciler (source.toolkit.fluxcd.io/v1),
 * source-controller's contract, for charts from an HTTP(S) HelmRepository.
 *
 * The manager's skeleton (manager.h) does the lifecycle every kind
 * shares; finalize() removes the object's artifacts.  One reconcile:
 *
 *   spec          chart, version (a Masterminds range, "*" by default),
 *                 sourceRef, interval.  What cflux does not do yet is
 *                 refused with Stalled and a message naming the field:
 *                 a GitRepository or Bucket sourceRef, an OCI
 *                 HelmRepository, valuesFiles (other than the chart's
 *                 own values.yaml: merging them needs the chart packaged
 *                 again), verify.  reconcileStrategy and
 *                 ignoreMissingValuesFiles only act on those.
 *   source        the HelmRepository from the cache: missing is
 *                 SourceUnavailable, without an artifact NoSourceArtifact
 *                 (retried; a new repository artifact requeues the chart).
 *   resolve       on the thread pool: the repository's stored index (our
 *                 JSON) read streaming for this chart only, the version
 *                 picked as Flux's GetChartVersion (helm_index_pick());
 *                 unchanged name and version with the artifact in store
 *                 and the generation observed: nothing downloaded.
 *   download      helm_get (ctl_helmrepository.c): the repository's
 *                 credentials, basic auth only to its own host unless
 *                 passCredentials, at most 10 MiB (Flux's chart limit).
 *   store         on the thread pool: the archive loaded as a chart with
 *                 the hostile-archive rules of lib/helm (absolute paths,
 *                 "..", oversized files refused), its name checked, then
 *                 stored byte for byte as
 *                 <storage>/helmchart/<ns>/<name>/<chart>-<version>.tgz,
 *                 latest.tar.gz linked to it (status.url); two kept.
 *   status        artifact (revision: the chart version), url,
 *                 observedChartName, observedSourceArtifactRevision;
 *                 Flux's conditions and reasons (ChartPullSucceeded,
 *                 InvalidChartReference, ChartPullError,
 *                 AuthenticationFailed, ...) and messages.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/path.h"
#include "base/str.h"
#include "base/time.h"
#include "conditions.h"
#include "controllers.h"
#include "helm/helm.h"
#include "source.h"
#include "storage.h"
#include "yj/yj.h"
#include "base/banned.h"

#define KIND "HelmChart"
#define RECORDS 2
#define LATEST "latest.tar.gz"
#define MAX_CHART_SIZE ((uint64_t)10 << 20)

struct hcjob {
	struct rc *rc;
	struct storage *st;
	char *ns, *name, *tmp_root;
	char *chart, *version;
	int64_t interval_ns;
	uint64_t timeout_ms;
	cJSON *repo_spec;   /* the HelmRepository's spec */
	char *index_path;   /* its stored index (absolute) */
	char *repo_url;
	/* resolve */
	char *cv_name, *cv_version, *chart_url;
	bool up_to_date;
	/* download */
	struct helm_get get;
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

	free(j->ns);
	free(j->name);
	free(j->tmp_root);
	free(j->chart);
	free(j->version);
	cJSON_Delete(j->repo_spec);
	free(j->index_path);
	free(j->repo_url);
	free(j->cv_name);
	free(j->cv_version);
	free(j->chart_url);
	helm_get_release(&j->get);
	if (j->tmp) {
		path_remove_all(j->tmp);
		free(j->tmp);
	}
	free(j->tgz);
	free(j->rel);
}

/* The conditions a failure sets, as observeChartBuild and the reconciler do. */
static void fail(struct hcjob *j, const char *reason, const char *msg, bool stall)
{
	bool storage = streq(reason, "ArchiveOperationFailed") ||
		       streq(reason, "DirectoryCreationFailed");

	source_fail(j->rc, storage ? "StorageOperationFailed" : "FetchFailed", reason, msg, stall);
}

static void succeed(struct hcjob *j)
{
	struct rc *rc = j->rc;
	cJSON *st = rc->status;
	char *msg = xasprintf("pulled '%s' chart with version '%s'", j->cv_name, j->cv_version);
	char *rel = storage_rel_path(KIND, j->ns, j->name, LATEST), *url = storage_url(j->st, rel);
	struct source_stored s = {
		.fresh = !j->up_to_date,
		.rel = j->rel,
		.revision = j->cv_version,
		.ai = &j->ai,
		.reason = "ChartPullSucceeded",
		.msg = msg,
	};

	cJSON_DeleteItemFromObjectCaseSensitive(st, "url");
	cJSON_AddStringToObject(st, "url", url);
	free(url);
	free(rel);
	cJSON_DeleteItemFromObjectCaseSensitive(st, "observedChartName");
	cJSON_AddStringToObject(st, "observedChartName", j->cv_name);
	cJSON_DeleteItemFromObjectCaseSensitive(st, "observedValuesFiles");
	cond_delete(st, "BuildFailed");
	if (source_stored(rc, j->st, &s)) {
		rc_event(rc, "Normal", "ChartPullSucceeded", "%s", msg);
		log_info(NULL, "Stored artifact", "controller", "helmchart", "object", rc->key,
			 "revision", j->cv_version, NULL);
	}
	free(msg);
	rc_done(rc, (uint64_t)(j->interval_ns / NSEC_PER_MSEC));
}

/* ---- store, on the thread pool ---- */


static void store(void *job)
{
	struct hcjob *j = job;
	struct helm_chart *c = NULL;
	char *file = NULL, *abs = NULL, *tmp = NULL, *data = NULL;
	size_t len;

	/* Validated as a chart first: Helm's archive rules and limits. */
	j->r = path_read_file(j->tgz, MAX_CHART_SIZE, &data, &len);
	if (j->r == 0)
		j->r = helm_chart_load_archive(data, len, NULL, &c, &j->err);
	else
		op_err_set(&j->err, j->r, "%s", op_strerror(j->r));
	if (j->r == 0 && !streq(c->md.name, j->cv_name))
		j->r = op_err_set(&j->err, -EINVAL, "the archive holds chart '%.100s', not '%.100s'",
				  c->md.name, j->cv_name);
	helm_chart_free(c);
	if (j->r < 0) {
		op_err_prefix(&j->err, "chart pull error: failed to download chart for remote "
			      "reference: failed to load chart");
		j->reason = "ChartPullError";
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
		goto out;
	}
	storage_gc(j->st, KIND, j->ns, j->name, file, RECORDS);
	storage_link(j->st, KIND, j->ns, j->name, LATEST, file);
out:
	free(data);
	free(tmp);
	free(abs);
	free(file);
}

static void stored(struct rc *rc, int status)
{
	struct hcjob *j = rc->job;

	if (status < 0)
		fail(j, "ChartPullError", "the chart's processing was cancelled", false);
	else if (j->r < 0)
		fail(j, j->reason, j->err.msg, false);
	else
		succeed(j);
}

/* ---- download, on the loop ---- */

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
		/* Flux's rule: a 401 or a TLS failure is an authentication failure. */
		if (strstr(why, "401") || strcasestr(why, "unauthorized") || strcasestr(why, "tls") ||
		    strstr(why, "certificate")) {
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

static void download(struct hcjob *j)
{
	char msg[1024];

	j->tmp = xasprintf("%s/helmchart-XXXXXX", j->tmp_root);
	if (!mkdtemp(j->tmp)) {
		snprintf(msg, sizeof(msg), "failed to create temporary working directory: %s",
			 op_strerror(errno));
		free(j->tmp);
		j->tmp = NULL;
		fail(j, "DirectoryCreationFailed", msg, false);
		return;
	}
	j->tgz = xasprintf("%s/chart.tgz", j->tmp);
	helm_get_init(&j->get, j->rc, j->repo_spec, j->chart_url, j->tgz, MAX_CHART_SIZE,
		      j->timeout_ms, downloaded);
	helm_get_start(&j->get);
}

/* ---- resolve, on the thread pool ---- */

static void resolve(void *job)
{
	struct hcjob *j = job;
	struct helm_index_chart c = { 0 };
	const struct helm_index_version *v;
	char *data = NULL;
	size_t len;

	j->r = path_read_file(j->index_path, (size_t)1 << 30, &data, &len);
	if (j->r < 0) {
		op_err_set(&j->err, j->r, "chart pull error: failed to get chart version for remote "
			   "reference: failed to load index: %s", op_strerror(j->r));
		j->reason = "ChartPullError";
		return;
	}
	j->r = helm_index_read_chart(data, len, j->chart, NULL, &c, &j->err);
	free(data);
	if (j->r < 0) {
		op_err_prefix(&j->err, "chart pull error: failed to get chart version for remote "
			      "reference: failed to load index");
		j->reason = "ChartPullError";
		return;
	}
	j->r = helm_index_pick(&c, j->version, &v, &j->err);
	if (j->r < 0) {
		op_err_prefix(&j->err, "invalid chart reference: failed to get chart version for "
			      "remote reference");
		j->reason = "InvalidChartReference";
		j->stall = true;
		goto out;
	}
	j->cv_name = xstrdup(c.name);
	j->cv_version = xstrdup(v->version);
	if (!v->nurls) {
		j->r = op_err_set(&j->err, -EINVAL, "chart pull error: failed to download chart for "
				  "remote reference: chart '%.100s' has no downloadable URLs",
				  c.name);
		j->reason = "ChartPullError";
		goto out;
	}
	j->r = helm_index_chart_url(j->repo_url, v->urls[0], &j->chart_url, &j->err);
	if (j->r < 0) {
		op_err_prefix(&j->err, "chart pull error: failed to download chart for remote "
			      "reference");
		j->reason = "ChartPullError";
	}
out:
	helm_index_chart_release(&c);
}

static void resolved(struct rc *rc, int status)
{
	struct hcjob *j = rc->job;
	const cJSON *o = rc->obj->json;
	const char *path = yj_get_str(o, "/status/artifact/path");
	const cJSON *og = yj_get(o, "/status/observedGeneration");

	if (status < 0) {
		fail(j, "ChartPullError", "the chart's resolution was cancelled", false);
		return;
	}
	if (j->r < 0) {
		fail(j, j->reason, j->err.msg, j->stall);
		return;
	}
	/* Flux's cache: same chart and version, in store, generation observed. */
	if (streq_ptr(yj_get_str(o, "/status/observedChartName"), j->cv_name) &&
	    streq_ptr(yj_get_str(o, "/status/artifact/revision"), j->cv_version) && path &&
	    storage_has(j->st, path) && og && (long)cJSON_GetNumberValue(og) == rc_gen(rc)) {
		j->up_to_date = true;
		succeed(j);
		return;
	}
	download(j);
}

/* ---- the spec ---- */

const char *helmchart_unsupported(const cJSON *spec, char *msg, size_t n)
{
	const char *kind = yj_get_str(spec, "/sourceRef/kind");
	const cJSON *vf = yj_get(spec, "/valuesFiles");

	if (!streq_ptr(kind, "HelmRepository")) {
		snprintf(msg, n, "spec.sourceRef.kind '%s': charts from a GitRepository or a Bucket "
			 "are not supported by cflux yet", kind ? kind : "");
		return "UnsupportedSourceKind";
	}
	if (yj_get(spec, "/verify")) {
		snprintf(msg, n, "spec.verify is not supported by cflux yet (cosign verification of "
			 "OCI charts)");
		return "VerificationError";
	}
	if (cJSON_GetArraySize(vf) > 1 ||
	    (cJSON_GetArraySize(vf) == 1 &&
	     !streq_ptr(cJSON_GetStringValue(cJSON_GetArrayItem(vf, 0)), "values.yaml"))) {
		snprintf(msg, n, "spec.valuesFiles is not supported by cflux yet (merging values "
			 "files needs the chart packaged again); only [values.yaml] is accepted");
		return "ValuesFilesError";
	}
	return NULL;
}

static void reconcile(struct rc *rc)
{
	struct helmchart_ctl *g = ctl_data(rc->ctl);
	struct hcjob *j = rc->job;
	const struct kobj *o = rc->obj;
	const cJSON *spec = yj_get(o->json, "/spec");
	const char *why, *repo_name = yj_get_str(spec, "/sourceRef/name");
	const char *ver = yj_get_str(spec, "/version");
	struct ctl *repos = mgr_ctl_kind(ctl_mgr(rc->ctl), "HelmRepository");
	struct kobj *repo = NULL;
	const char *rpath;
	unsigned timeout_s;
	char msg[1024], *key;

	j->rc = rc;
	j->st = g->storage;
	j->ns = xstrdup(o->ns);
	j->name = xstrdup(o->name);
	j->tmp_root = xstrdup(g->tmp_root);
	j->chart = xstrdup(yj_get_str(spec, "/chart") ? yj_get_str(spec, "/chart") : "");
	j->version = xstrdup(ver && *ver ? ver : "*");
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
	if (yj_get_str(rc->status, "/artifact/path") &&
	    !storage_has(j->st, yj_get_str(rc->status, "/artifact/path"))) {
		cJSON_DeleteItemFromObjectCaseSensitive(rc->status, "artifact");
		cJSON_DeleteItemFromObjectCaseSensitive(rc->status, "url");
		cond_delete(rc->status, "ArtifactInStorage");
	}
	key = xasprintf("%s/%s", o->ns, repo_name ? repo_name : "");
	repo = repos ? informer_get(ctl_informer(repos), key) : NULL;
	free(key);
	if (!repo) {
		snprintf(msg, sizeof(msg), "failed to get source: helmrepositories.source.toolkit."
			 "fluxcd.io \"%s\" not found", repo_name ? repo_name : "");
		fail(j, "SourceUnavailable", msg, false);
		return;
	}
	if (streq_ptr(yj_get_str(repo->json, "/spec/type"), "oci")) {
		snprintf(msg, sizeof(msg), "spec.sourceRef: HelmRepository '%s' is of type 'oci': "
			 "charts from OCI HelmRepositories are not supported by cflux yet; use an "
			 "OCIRepository with the Helm chart layer", repo_name);
		fail(j, "UnsupportedSourceKind", msg, true);
		return;
	}
	rpath = yj_get_str(repo->json, "/status/artifact/path");
	if (!rpath || !storage_has(j->st, rpath)) {
		snprintf(msg, sizeof(msg), "no artifact available for HelmRepository source '%s'",
			 repo_name);
		fail(j, "NoSourceArtifact", msg, false);
		return;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(rc->status, "observedSourceArtifactRevision");
	cJSON_AddStringToObject(rc->status, "observedSourceArtifactRevision",
				yj_get_str(repo->json, "/status/artifact/revision"));
	j->repo_spec = cJSON_Duplicate(yj_get(repo->json, "/spec"), 1);
	j->repo_url = xstrdup(yj_get_str(j->repo_spec, "/url") ? yj_get_str(j->repo_spec, "/url") :
								   "");
	j->index_path = storage_abs(j->st, rpath);
	if (rc_work(rc, resolve, resolved) < 0)
		fail(j, "ChartPullError", "cannot queue the chart's resolution", false);
}

static void finalize(struct rc *rc)
{
	source_finalize(rc, ((struct helmchart_ctl *)ctl_data(rc->ctl))->storage);
}

/* A HelmRepository's new artifact requeues the HelmCharts that use it. */
static void on_repository(struct ctl *ctl, struct ctl *from, enum informer_event ev,
			  struct kobj *obj, struct kobj *old)
{
	const char *rev = yj_get_str(obj->json, "/status/artifact/revision");
	const char *orev = old ? yj_get_str(old->json, "/status/artifact/revision") : NULL;
	struct kobj *hc;
	size_t it = 0;

	(void)from;
	if (ev == INFORMER_DELETE || !rev || streq_ptr(rev, orev))
		return;
	while ((hc = informer_next(ctl_informer(ctl), &it)))
		if (streq(hc->ns, obj->ns) &&
		    streq_ptr(yj_get_str(hc->json, "/spec/sourceRef/kind"), "HelmRepository") &&
		    streq_ptr(yj_get_str(hc->json, "/spec/sourceRef/name"), obj->name))
			ctl_enqueue(ctl, hc->key);
}

void helmchart_watch_repositories(struct ctl *charts)
{
	struct ctl *repos = mgr_ctl_kind(ctl_mgr(charts), "HelmRepository");

	if (repos)
		ctl_watch(charts, repos, on_repository);
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
