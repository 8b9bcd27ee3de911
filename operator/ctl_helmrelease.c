/*
 * ctl_helmrelease.c: the HelmRelease reconciler (helm.toolkit.fluxcd.io/v2),
 * helm-controller's contract, on lib/helm (render, release records) and
 * lib/apply (server-side apply, health, prune).
 *
 * One reconcile, as callbacks on the loop with the chart work on the
 * thread pool:
 *
 *   spec         every field is known: one we do not implement is refused
 *                with Stalled=True naming it (UnsupportedField)
 *   dependsOn    each HelmRelease Ready at its current generation, else
 *                Ready=False DependencyNotReady, retried later
 *   chart        chartRef OCIRepository or HelmChart: the source object's
 *                status.artifact (read from the apiserver, so a HelmChart
 *                needs no reconciler in this process); chart.spec: the
 *                HelmChart <ns>-<name> applied (owned by us) and its
 *                artifact read back
 *   values       valuesFrom in order (ConfigMap/Secret, valuesKey,
 *                targetPath with Helm's --set parser, optional), then
 *                spec.values on top, as fluxcd/pkg's
 *                ChartValuesFromReferences
 *   history      the release Secrets sh.helm.release.v1.<name>.v<N> of the
 *                storage namespace, decoded (thread pool)
 *   state        (thread pool) as helm-controller's DetermineReleaseState:
 *                absent -> install; pending-* -> unlocked (failed); failed
 *                -> remediation or RetriesExceeded; the deployed release's
 *                chart name, version and values differ -> upgrade;
 *                otherwise in sync and nothing is written to storage
 *   action       Helm's own steps: the new record created pending-*, the
 *                manifest applied (lib/apply, field manager
 *                helm-controller, owner labels helm.toolkit.fluxcd.io/name,
 *                Helm's ownership metadata, prune of what the chart no
 *                longer renders), the readiness wait (unless disableWait),
 *                the record marked deployed and the previous superseded;
 *                on failure the record is failed and the previous release
 *                stays deployed; upgrade remediation rolls back (a new
 *                revision with the previous manifest) while retries last
 *   status       history snapshots, lastAttemptedRevision, ConfigDigest,
 *                ReleaseAction, failure counters, inventory, Ready and
 *                Released with Flux's reasons
 *
 * Deletion uninstalls: the release's objects pruned (the inventory) and
 * its Secrets deleted, then the HelmChart we created.
 *
 * Post-rendering (postrender.h) as helm-controller's: the kustomize
 * post-renderers, commonMetadata and the origin labels, so the release's
 * manifest is kustomize's printing of the objects, as under Flux.
 *
 * Hooks (hooks.h) run as Helm runs them, each action's pre hooks before
 * the apply and its post hooks after the wait (install, upgrade,
 * rollback), the delete hooks around an uninstall, unless that action's
 * disableHooks.  spec.test runs the test hooks after an install or
 * upgrade, and on an in-sync release not yet tested: TestSuccess, the
 * snapshot's testHooks, and a failure remediated as the action's own
 * would be (rollback or uninstall while retries last, then Stalled).
 *
 * Helm's `lookup` is live while rendering an install or upgrade: the
 * render asks the loop (struct lookup), which asks the apiserver.
 *
 * The chart's crds/ are created before the pre hooks, apart from the
 * release (never in its manifest, never pruned), as the action's crds
 * policy says: Create (install's default), CreateReplace, Skip (upgrade's).
 *
 * In sync, spec.driftDetection (warn, enabled) compares the deployed
 * release's objects with the cluster by a server-side dry-run (lib/apply,
 * detect-only), as helm-controller's jsondiff: a DriftDetected Event
 * naming each object ("changed (x additions, y changes, z removals)",
 * apply_patch_counts(), or "removed"), and in mode enabled the drifted
 * objects applied again (DriftCorrected, "created"/"configured").
 *
 * driftDetection.ignore rules leave their paths out of the comparison
 * (jsondiff's IgnorePaths) and keep their live values in a correction.
 *
 * The actions' options, as helm-controller hands them to Helm: the
 * timeouts, disableWait and disableWaitForJobs (Jobs out of the readiness
 * wait), disableSchemaValidation, disableTakeOwnership (an existing object
 * without this release's ownership metadata fails the install or upgrade,
 * as Helm's existingResourceConflict), install.replace (over an
 * uninstalled release kept in history), upgrade.preserveValues (Helm's
 * --reuse-values), force (as the forceAt request), cleanupOnFail (what the
 * failed action created deleted), rollback.recreate (the updated
 * workloads' pods deleted), uninstall.keepHistory, deletionPropagation
 * and the wait for what the uninstall deleted, test.filters, the
 * remediations' ignoreTestFailures, and the RetryOnFailure strategy (no
 * remediation: the action again after retryInterval).  install.skipCRDs is
 * accepted and, as in helm-controller v2, has no effect (crds rules).
 *
 * spec.kubeConfig.secretRef: the release goes to a remote cluster (its
 * objects, hooks, waits, drift, `lookup` and its release Secrets), the
 * service account impersonated there, as helm-controller (remote.h).
 *
 * Refused when set: kubeConfig.configMapRef (a cloud provider's workload
 * identity), and disableOpenAPIValidation (server-side apply refuses a field the schema
 * does not declare whatever the validation setting, so there is nothing
 * to turn off).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "apply/apply.h"
#include "apply/wait.h"
#include "base/alloc.h"
#include "base/b64.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "conditions.h"
#include "controllers.h"
#include "helm/helm.h"
#include "hooks.h"
#include "kustomize/kustomize.h"
#include "postrender.h"
#include "remote.h"
#include "yj/yj.h"
#include "base/banned.h"

#define FIELD_MANAGER "helm-controller"
#define OWNER_PREFIX "helm.toolkit.fluxcd.io"
#define MAX_RELEASE_BYTES (64u << 20)
#define MAX_CHART_BYTES (100u << 20)
#define DEFAULT_MAX_HISTORY 5
#define RELEASE_NAME_MAX 53

enum hr_action {
	ACT_NONE,    /* in sync */
	ACT_INSTALL,
	ACT_UPGRADE,
	ACT_ROLLBACK,
	ACT_TEST,    /* in sync, but not tested yet (spec.test.enable) */
	ACT_STALL,   /* retries exhausted, or a chart we cannot run */
};

/* A sequential list of release Secret writes. */
struct sop {
	enum { SOP_CREATE, SOP_UPDATE, SOP_DELETE } kind;
	cJSON *secret; /* CREATE/UPDATE */
	char *name;    /* DELETE */
};

struct lookup;
static void lookup_close(struct lookup *lk);

struct hrjob {
	struct rc *rc;
	struct hr_ctl *h;
	struct kube_client *client; /* maybe impersonated; a reference */
	struct kube_mapper *mapper; /* the target cluster's kinds (borrowed) */
	struct remote *remote;      /* spec.kubeConfig's cluster, or NULL; a reference */
	struct kube_client *local;  /* with a remote: this cluster's applier client, or NULL */
	void (*applier_next)(struct hrjob *j); /* applier()'s continuation */
	const char *applier_reason;            /* its failure's reason */
	/* spec */
	char *release, *target_ns, *storage_ns;
	int64_t interval_ns, timeout_ns;
	int64_t install_timeout_ns, upgrade_timeout_ns; /* spec.<action>.timeout, else timeout */
	int64_t rollback_timeout_ns, uninstall_timeout_ns;
	bool create_ns, ns_created; /* spec.install.createNamespace */
	int max_history;
	bool wait_install, wait_upgrade, hooks_off_install, hooks_off_upgrade;
	bool hooks_off_rollback, hooks_off_uninstall;
	bool wait_rollback, wait_uninstall;       /* !spec.<action>.disableWait */
	bool jobs_install, jobs_upgrade, jobs_rollback; /* !spec.<action>.disableWaitForJobs */
	bool schema_off_install, schema_off_upgrade;  /* spec.<action>.disableSchemaValidation */
	bool keep_history;         /* spec.uninstall.keepHistory */
	/* spec.<action>.strategy RetryOnFailure: its retryInterval; 0: RemediateOnFailure */
	int64_t retry_install_ns, retry_upgrade_ns;
	bool force_upgrade, force_rollback;     /* spec.<action>.force */
	bool preserve_values;      /* spec.upgrade.preserveValues: Helm's --reuse-values */
	bool recreate;             /* spec.rollback.recreate: the workloads' pods deleted */
	cJSON *wait_set;           /* what the readiness wait takes, once pods are recreated */
	cJSON *rec;                /* recreate: [{ns, selector}] still to do */
	cJSON *rec_pods;           /* ... the pods of the current one, still to delete */
	bool own_off_install, own_off_upgrade; /* spec.<action>.disableTakeOwnership */
	int owni;                  /* the ownership check: the next object */
	cJSON *own_prev;           /* ... and what the deployed release holds (upgrades) */
	bool cleanup_upgrade, cleanup_rollback; /* spec.<action>.cleanupOnFail */
	cJSON *created;            /* what this action's apply created (cleanupOnFail) */
	bool replace;              /* spec.install.replace */
	const char *propagation;   /* spec.uninstall.deletionPropagation, as the API spells it */
	cJSON *test_filters;       /* spec.test.filters, or NULL */
	cJSON *test_skipped;       /* the record's hooks the filters left out, while testing */
	cJSON *uninstalling;       /* uninstall: the newest record, whose delete hooks run */
	void (*hooks_next)(struct hrjob *j);
	bool hooks_pre;
	char *post_delete_err;     /* uninstall: its errors so far ("; " between), as Helm's */
	bool truncate;             /* status.history truncated (in sync, or remediating) */
	bool test, test_ignore;    /* spec.test.enable, spec.test.ignoreFailures */
	/* <action>.remediation.ignoreTestFailures, else test.ignoreFailures */
	bool test_ignore_install, test_ignore_upgrade;
	int64_t test_timeout_ns;   /* spec.test.timeout, else timeout */
	cJSON *tested;             /* testHooks of the release tested now ({} for none) */
	int tested_version;
	enum hr_action tested_after; /* the action the test followed (ACT_NONE: in sync) */
	char *drift_mode;          /* spec.driftDetection.mode: NULL (disabled), warn, enabled */
	cJSON *drift_rules;        /* spec.driftDetection.ignore, or NULL */
	cJSON *drift_ign;          /* the paths drift_ignore() gave last */
	cJSON *drift_objects;      /* the deployed release's objects, checked for drift */
	cJSON *drifted;            /* the objects to correct */
	char *drift_created, *drift_configured; /* the correction's change set lines */
	const char *crds_install, *crds_upgrade; /* spec.<action>.crds: Create, CreateReplace, Skip */
	struct lookup *lookup;     /* the render's live `lookup`, served on the loop */
	cJSON *crds;               /* the chart's CRDObjects() to create (thread pool result) */
	int crdi;
	int install_retries, upgrade_retries;
	bool upgrade_uninstall;    /* upgrade.remediation.strategy: uninstall */
	bool remediate_last;       /* upgrade.remediation.remediateLastFailure */
	bool remediate_last_install; /* install.remediation.remediateLastFailure */
	void (*uninstalled)(struct hrjob *j); /* after an uninstall (deletion or remediation) */
	cJSON *post_renderers;     /* spec.postRenderers or NULL */
	cJSON *common_metadata;    /* spec.commonMetadata or NULL */
	bool force;                /* reconcile.fluxcd.io/forceAt handled: upgrade with --force */
	/* source */
	char *artifact, *digest, *src_revision, *helmchart;
	bool oci;
	/* values */
	cJSON *values;
	int vi;
	/* releases */
	cJSON *secrets; /* the List's items */
	/* thread pool results */
	int r;
	struct op_err err;
	char *errmsg;
	const char *reason;
	enum hr_action act;
	cJSON *history;   /* decoded releases, ascending versions */
	cJSON *last;      /* borrowed from history */
	cJSON *deployed;  /* borrowed: the newest deployed */
	cJSON *rel;       /* the new release record */
	cJSON *objects;   /* what the new release applies */
	char *chart_name, *chart_version, *app_version;
	char config_digest[72];
	int version;
	bool unlock;      /* the last record was pending-*: mark it failed first */
	/* action */
	struct sop *ops;
	size_t nops, opi;
	void (*ops_next)(struct hrjob *j);
	cJSON *prev_inv;  /* what the release being replaced applied: pruned if gone */
	uint64_t t_action;
};

static void ops_clear(struct hrjob *j)
{
	for (size_t i = 0; i < j->nops; i++) {
		cJSON_Delete(j->ops[i].secret);
		free(j->ops[i].name);
	}
	free(j->ops);
	j->ops = NULL;
	j->nops = j->opi = 0;
}

static void job_release(void *job)
{
	struct hrjob *j = job;

	if (j->client)
		kube_client_unref(j->client);
	remote_unref(j->remote);
	if (j->local)
		kube_client_unref(j->local);
	cJSON_Delete(j->uninstalling);
	free(j->post_delete_err);
	cJSON_Delete(j->tested);
	free(j->drift_mode);
	cJSON_Delete(j->drift_objects);
	cJSON_Delete(j->drifted);
	free(j->drift_created);
	free(j->drift_configured);
	cJSON_Delete(j->crds);
	lookup_close(j->lookup);
	free(j->release);
	free(j->target_ns);
	free(j->storage_ns);
	free(j->artifact);
	free(j->digest);
	free(j->src_revision);
	free(j->helmchart);
	cJSON_Delete(j->values);
	cJSON_Delete(j->post_renderers);
	cJSON_Delete(j->test_filters);
	cJSON_Delete(j->test_skipped);
	cJSON_Delete(j->created);
	cJSON_Delete(j->drift_rules);
	cJSON_Delete(j->drift_ign);
	cJSON_Delete(j->own_prev);
	cJSON_Delete(j->wait_set);
	cJSON_Delete(j->rec);
	cJSON_Delete(j->rec_pods);
	cJSON_Delete(j->common_metadata);
	cJSON_Delete(j->secrets);
	free(j->errmsg);
	cJSON_Delete(j->history);
	cJSON_Delete(j->rel);
	cJSON_Delete(j->objects);
	free(j->chart_name);
	free(j->chart_version);
	free(j->app_version);
	ops_clear(j);
	cJSON_Delete(j->prev_inv);
}

static uint64_t ms(int64_t ns)
{
	return (uint64_t)(ns / NSEC_PER_MSEC);
}

static void set_str(cJSON *o, const char *k, const char *v)
{
	cJSON_DeleteItemFromObjectCaseSensitive(o, k);
	if (v)
		cJSON_AddStringToObject(o, k, v);
}

static void set_num(cJSON *o, const char *k, double v)
{
	cJSON_DeleteItemFromObjectCaseSensitive(o, k);
	cJSON_AddNumberToObject(o, k, v);
}

static int status_int(const cJSON *st, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(st, k);

	return cJSON_IsNumber(v) ? yj_to_int(v->valuedouble) : 0;
}

/*
 * Flux's HandleAnnotationRequest: the request annotation `ann`
 * (reconcile.fluxcd.io/forceAt or resetAt) is handled once, when it
 * equals reconcile.fluxcd.io/requestedAt and neither was handled before.
 * Its value is recorded in status `key` whenever it is set.
 */
static bool handle_request(struct rc *rc, const char *ann, const char *key)
{
	const char *want = kobj_str(rc->obj, "metadata", "annotations", ann, NULL);
	const char *req = kobj_str(rc->obj, "metadata", "annotations",
				   "reconcile.fluxcd.io/requestedAt", NULL);
	const cJSON *st = yj_get(rc->obj->json, "/status");
	bool handle;

	if (!want)
		return false;
	handle = req && streq(want, req) &&
		 !streq_ptr(yj_get_str(st, "/lastHandledReconcileAt"), req) &&
		 !streq_ptr(yj_get_str(st, key), want);
	set_str(rc->status, key + 1, want);
	return handle;
}

/*
 * ---- Helm's `lookup`, live: the render (thread pool) asks, the loop answers.
 *
 * The worker stores its question and wakes the loop (uv_async); the loop
 * resolves the kind, GETs or LISTs with the release's client (impersonated
 * like everything else), and signals the answer.  One question at a time:
 * a render is one thread.  A question unanswered in LOOKUP_WAIT_MS fails
 * the render; a late answer is told apart by its sequence number.
 */
#define LOOKUP_WAIT_MS 30000

struct lookup {
	uv_async_t async;
	uv_mutex_t mu;
	uv_cond_t cv;
	struct kube_client *c;
	struct kube_mapper *m;
	unsigned seq, answered;       /* the question's number, the last answered */
	char *av, *kind, *ns, *name;  /* the question (pending when seq != asked) */
	unsigned asked;
	int r;
	cJSON *obj;
	char msg[512];
	unsigned calls;     /* questions in flight on the loop */
	bool handle_closed; /* freed once closed with none in flight */
};

static void lookup_maybe_free(struct lookup *lk);

struct lookup_call {
	struct lookup *lk;
	unsigned seq;
	char *av, *kind, *ns, *name;
};

static void lookup_answer(struct lookup_call *q, int r, cJSON *obj, const char *msg)
{
	struct lookup *lk = q->lk;

	uv_mutex_lock(&lk->mu);
	if (q->seq == lk->seq) {
		lk->r = r;
		cJSON_Delete(lk->obj);
		lk->obj = obj;
		obj = NULL;
		snprintf(lk->msg, sizeof(lk->msg), "%s", msg ? msg : "");
		lk->answered = q->seq;
		uv_cond_signal(&lk->cv);
	}
	uv_mutex_unlock(&lk->mu);
	cJSON_Delete(obj);
	free(q->av);
	free(q->kind);
	free(q->ns);
	free(q->name);
	free(q);
	lk->calls--;
	lookup_maybe_free(lk);
}

static void lookup_got(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct lookup_call *q = payload;
	cJSON *out;

	if (r == -ENOENT) {
		lookup_answer(q, 0, cJSON_CreateObject(), NULL); /* Helm: not found is {} */
		return;
	}
	if (r < 0) {
		lookup_answer(q, r, NULL, err && err->msg[0] ? err->msg : op_strerror(r));
		return;
	}
	out = obj ? cJSON_Duplicate(obj, 1) : cJSON_CreateObject();
	if (!*q->name) {
		/* As client-go's list decoding: each item gets the list's apiVersion and kind. */
		const char *lk = yj_get_str(out, "/kind");
		char *kind = lk && str_endswith(lk, "List") ? xstrndup(lk, strlen(lk) - 4) :
							       xstrdup(q->kind);
		cJSON *it;

		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(out, "items"))
		{
			if (!cJSON_GetObjectItemCaseSensitive(it, "apiVersion"))
				cJSON_AddStringToObject(it, "apiVersion", q->av);
			if (!cJSON_GetObjectItemCaseSensitive(it, "kind"))
				cJSON_AddStringToObject(it, "kind", kind);
		}
		free(kind);
	}
	lookup_answer(q, 0, out, NULL);
}

static void lookup_resolved(int r, const struct kube_mapping *mp, const struct op_err *err,
			    void *payload)
{
	struct lookup_call *q = payload;
	struct kube_ref ref = { 0 };
	char *m;

	(void)err;
	if (r < 0) {
		m = xasprintf("unable to get apiresource from unstructured: %s, Kind=%s", q->av,
			      q->kind);
		lookup_answer(q, r, NULL, m);
		free(m);
		return;
	}
	ref.group = mp->group;
	ref.version = mp->version;
	ref.resource = mp->resource;
	ref.ns = mp->namespaced && *q->ns ? q->ns : NULL;
	ref.name = *q->name ? q->name : NULL;
	r = ref.name ? kube_get(q->lk->c, &ref, NULL, lookup_got, q) :
		       kube_list(q->lk->c, &ref, NULL, lookup_got, q);
	if (r < 0)
		lookup_answer(q, r, NULL, "cannot send the lookup");
}

static void lookup_wake(uv_async_t *a)
{
	struct lookup *lk = a->data;
	struct lookup_call *q;

	uv_mutex_lock(&lk->mu);
	if (lk->asked == lk->seq) {
		uv_mutex_unlock(&lk->mu);
		return;
	}
	q = xcalloc(1, sizeof(*q));
	lk->calls++;
	q->lk = lk;
	q->seq = lk->asked = lk->seq;
	q->av = lk->av;
	q->kind = lk->kind;
	q->ns = lk->ns;
	q->name = lk->name;
	lk->av = lk->kind = lk->ns = lk->name = NULL;
	uv_mutex_unlock(&lk->mu);
	if (mapper_resolve(lk->m, q->av, q->kind, lookup_resolved, q) < 0)
		lookup_answer(q, -EIO, NULL, "cannot resolve the lookup's kind");
}

/* helm_lookup_fn, on the render's thread. */
static int lookup_fn(const char *api_version, const char *kind, const char *ns, const char *name,
		     cJSON **ret, struct op_err *reterr, void *payload)
{
	struct lookup *lk = payload;
	uint64_t deadline = uv_hrtime() + (uint64_t)LOOKUP_WAIT_MS * 1000000u;
	unsigned seq;
	int r = 0;

	uv_mutex_lock(&lk->mu);
	seq = ++lk->seq;
	free(lk->av);
	free(lk->kind);
	free(lk->ns);
	free(lk->name);
	lk->av = xstrdup(api_version);
	lk->kind = xstrdup(kind);
	lk->ns = xstrdup(ns);
	lk->name = xstrdup(name);
	uv_mutex_unlock(&lk->mu);
	uv_async_send(&lk->async);
	uv_mutex_lock(&lk->mu);
	while (lk->answered != seq && r == 0) {
		uint64_t now = uv_hrtime();

		if (now >= deadline ||
		    uv_cond_timedwait(&lk->cv, &lk->mu, deadline - now) == UV_ETIMEDOUT)
			r = op_err_set(reterr, -ETIMEDOUT, "lookup %s %s %s/%s: no answer", api_version,
				       kind, ns, name);
	}
	if (r == 0 && lk->r < 0)
		r = op_err_set(reterr, lk->r, "%s", lk->msg);
	else if (r == 0) {
		*ret = lk->obj;
		lk->obj = NULL;
	}
	uv_mutex_unlock(&lk->mu);
	return r;
}

static struct lookup *lookup_new(uv_loop_t *loop, struct kube_client *c, struct kube_mapper *m)
{
	struct lookup *lk = xcalloc(1, sizeof(*lk));

	uv_mutex_init(&lk->mu);
	uv_cond_init(&lk->cv);
	uv_async_init(loop, &lk->async, lookup_wake);
	lk->async.data = lk;
	lk->c = kube_client_ref(c);
	lk->m = m;
	return lk;
}

static void lookup_maybe_free(struct lookup *lk)
{
	if (!lk->handle_closed || lk->calls)
		return;
	uv_mutex_destroy(&lk->mu);
	uv_cond_destroy(&lk->cv);
	free(lk->av);
	free(lk->kind);
	free(lk->ns);
	free(lk->name);
	cJSON_Delete(lk->obj);
	kube_client_unref(lk->c);
	free(lk);
}

static void lookup_freed(uv_handle_t *h)
{
	struct lookup *lk = h->data;

	lk->handle_closed = true;
	lookup_maybe_free(lk);
}

/* After the render: freed once no question is in flight on the loop. */
static void lookup_close(struct lookup *lk)
{
	if (lk)
		uv_close((uv_handle_t *)&lk->async, lookup_freed);
}

/* ---- the spec: what is implemented, the rest refused ---- */

struct field {
	const char *name;
	const struct field *sub; /* allowed members of an object; NULL: any value */
	bool each;               /* an array of such objects */
};

#define F(n) { n, NULL, false }
#define FS(n, s) { n, s, false }
#define FE(n, s) { n, s, true }
static const struct field f_ref[] = { F("apiVersion"), F("kind"), F("name"), F("namespace"),
				      F(NULL) };
static const struct field f_name[] = { F("name"), F(NULL) };
/* Handed to the HelmChart, which verifies (matchOIDCIdentity is keyless: refused here). */
static const struct field f_verify[] = { F("provider"), FS("secretRef", f_name), F(NULL) };
static const struct field f_chart_spec[] = {
	F("chart"), F("version"), FS("sourceRef", f_ref), F("interval"),
	F("reconcileStrategy"), F("valuesFiles"), F("ignoreMissingValuesFiles"),
	FS("verify", f_verify), F(NULL)
};
static const struct field f_chart[] = { FS("spec", f_chart_spec), F(NULL) };
static const struct field f_values_from[] = { F("kind"), F("name"), F("valuesKey"),
					       F("targetPath"), F("optional"), F(NULL) };
static const struct field f_dep[] = { F("name"), F("namespace"), F(NULL) };
static const struct field f_install_rem[] = { F("retries"), F("remediateLastFailure"),
					       F("ignoreTestFailures"), F(NULL) };
/* skipCRDs: deprecated, and without effect in helm-controller v2 (crds rules); so here. */
static const struct field f_strategy[] = { F("name"), F("retryInterval"), F(NULL) };
static const struct field f_install[] = { F("timeout"), F("disableWait"), FS("strategy", f_strategy),
					  F("disableTakeOwnership"),
					  F("disableWaitForJobs"), F("disableHooks"),
					  F("disableSchemaValidation"), F("replace"),
					  F("skipCRDs"), FS("remediation", f_install_rem),
					  F("crds"), F("createNamespace"), F(NULL) };
static const struct field f_upgrade_rem[] = { F("retries"), F("strategy"),
					      F("remediateLastFailure"), F("ignoreTestFailures"),
					      F(NULL) };
static const struct field f_upgrade[] = { F("timeout"), F("disableWait"), FS("strategy", f_strategy),
					  F("disableTakeOwnership"),
					  F("disableWaitForJobs"), F("disableHooks"),
					  F("disableSchemaValidation"), F("force"), F("cleanupOnFail"),
					  F("preserveValues"), FS("remediation", f_upgrade_rem),
					  F("crds"), F(NULL) };
static const struct field f_selector[] = { F("group"), F("version"), F("kind"), F("name"),
					   F("namespace"), F("labelSelector"),
					   F("annotationSelector"), F(NULL) };
static const struct field f_patch[] = { F("patch"), FS("target", f_selector), F(NULL) };
static const struct field f_image[] = { F("name"), F("newName"), F("newTag"), F("digest"),
					F(NULL) };
static const struct field f_pr_kustomize[] = { FE("patches", f_patch), FE("images", f_image),
					       F(NULL) };
static const struct field f_post_renderer[] = { FS("kustomize", f_pr_kustomize), F(NULL) };
static const struct field f_common_md[] = { F("labels"), F("annotations"), F(NULL) };
static const struct field f_rollback[] = { F("disableHooks"), F("timeout"), F("disableWait"),
					   F("disableWaitForJobs"), F("force"), F("cleanupOnFail"),
					   F("recreate"), F(NULL) };
static const struct field f_uninstall[] = { F("disableHooks"), F("timeout"), F("disableWait"),
					    F("keepHistory"), F("deletionPropagation"), F(NULL) };
static const struct field f_test_filter[] = { F("name"), F("exclude"), F(NULL) };
static const struct field f_test[] = { F("enable"), F("timeout"), F("ignoreFailures"),
				       FE("filters", f_test_filter), F(NULL) };
static const struct field f_ignore_rule[] = { F("paths"), FS("target", f_selector), F(NULL) };
static const struct field f_drift[] = { F("mode"), FE("ignore", f_ignore_rule), F(NULL) };
static const struct field f_kc_secret[] = { F("name"), F("key"), F(NULL) };
static const struct field f_kubeconfig[] = { FS("secretRef", f_kc_secret), F(NULL) };
static const struct field f_spec[] = {
	FS("chartRef", f_ref),
	FE("postRenderers", f_post_renderer),
	FS("commonMetadata", f_common_md),
	FS("chart", f_chart),
	F("interval"),
	F("timeout"),
	F("releaseName"),
	F("targetNamespace"),
	F("storageNamespace"),
	F("values"),
	FE("valuesFrom", f_values_from),
	F("suspend"),
	FE("dependsOn", f_dep),
	F("serviceAccountName"),
	FS("kubeConfig", f_kubeconfig),
	F("maxHistory"),
	FS("install", f_install),
	FS("upgrade", f_upgrade),
	FS("rollback", f_rollback),
	FS("test", f_test),
	FS("driftDetection", f_drift),
	FS("uninstall", f_uninstall),
	/* Our client is always persistent: the choice changes nothing visible. */
	F("persistentClient"),
	F(NULL),
};

/* The first member of `o` (at `path`) that `allowed` does not list: 1 with its path in `ret`. */
static int unknown_field(const cJSON *o, const struct field *allowed, const char *path,
			 char *ret, size_t n)
{
	const cJSON *m;

	cJSON_ArrayForEach(m, o)
	{
		const struct field *f;

		for (f = allowed; f->name; f++)
			if (streq(f->name, m->string))
				break;
		if (!f->name) {
			snprintf(ret, n, "%s.%s", path, m->string);
			return 1;
		}
		if (f->sub) {
			char sub[256];

			snprintf(sub, sizeof(sub), "%s.%s", path, m->string);
			if (f->each) {
				const cJSON *e;

				cJSON_ArrayForEach(e, m)
					if (cJSON_IsObject(e) &&
					    unknown_field(e, f->sub, sub, ret, n))
						return 1;
			} else if (cJSON_IsObject(m) && unknown_field(m, f->sub, sub, ret, n)) {
				return 1;
			}
		}
	}
	return 0;
}

bool helmrelease_unsupported(const cJSON *spec, char *ret, size_t n)
{
	return unknown_field(spec, f_spec, "spec", ret, n) != 0;
}

/* Helm's release name rule as helm-controller shortens it (internal/release/name.go). */
char *helmrelease_name(const char *name_, const char *rn, const char *tns)
{
	char *name, hex[65];

	if (rn && *rn)
		name = xstrdup(rn);
	else if (tns && *tns)
		name = xasprintf("%s-%s", tns, name_);
	else
		name = xstrdup(name_);
	if (strlen(name) > RELEASE_NAME_MAX) {
		char *s;

		yj_sha256_hex(name, strlen(name), hex);
		s = xasprintf("%.40s-%.12s", name, hex);
		free(name);
		name = s;
	}
	return name;
}

/* ---- ending a reconcile ---- */

/*
 * A failed attempt: Ready=False with `reason` and an Event; Stalled with
 * `stall`.  Else requeued after `wait_ms` (waiting on a dependency or the
 * chart), or for 0 with the key's backoff, as helm-controller returns the
 * error to its rate limiter: a transient apiserver error is tried again in
 * a second, not after the interval.
 */
static void fail(struct hrjob *j, const char *reason, const char *msg, bool stall,
		 uint64_t wait_ms)
{
	struct rc *rc = j->rc;
	bool waiting = streq(reason, "DependencyNotReady") || streq(reason, "ArtifactFailed");

	rc_event(rc, waiting ? "Normal" : "Warning", reason, "%s", msg);
	if (!waiting)
		log_error(NULL, "Reconciliation failed", "controller", "helmrelease", "object",
			  rc->key, "reason", reason, "error", msg, NULL);
	if (stall) {
		rc_stall(rc, reason, msg);
		return;
	}
	cond_delete(rc->status, COND_STALLED);
	cond_set(rc->status, COND_READY, "False", reason, msg, rc_gen(rc), time_now_ns());
	if (wait_ms)
		rc_done(rc, wait_ms);
	else
		rc_retry(rc);
}

/* ---- release records ---- */

static const char *rel_status(const cJSON *rel)
{
	const char *s = yj_get_str(rel, "/info/status");

	return s ? s : "unknown";
}

static int rel_version(const cJSON *rel)
{
	return (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rel, "version"));
}

static void rel_set_status(cJSON *rel, const char *status, const char *desc)
{
	cJSON *info = cJSON_GetObjectItemCaseSensitive(rel, "info");

	cJSON_ReplaceItemInObjectCaseSensitive(info, "status", cJSON_CreateString(status));
	if (desc)
		cJSON_ReplaceItemInObjectCaseSensitive(info, "description",
						       cJSON_CreateString(desc));
}

static void op_add(struct hrjob *j, int kind, const cJSON *rel, bool update)
{
	struct sop *op;
	struct op_err err = OP_ERR_INIT;

	j->ops = xrealloc(j->ops, (j->nops + 1) * sizeof(*j->ops));
	op = &j->ops[j->nops++];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	if (kind == SOP_DELETE) {
		op->name = xasprintf("sh.helm.release.v1.%s.v%d", j->release, rel_version(rel));
		return;
	}
	op->secret = helm_release_secret(rel, j->storage_ns, update, time_now_ns() / NSEC_PER_SEC,
					 NULL, &err);
}

static void ops_run(struct hrjob *j);

static void op_done(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct hrjob *j = payload;
	char msg[1024];

	(void)obj;
	if (r < 0 && !(r == -ENOENT && j->ops[j->opi].kind == SOP_DELETE)) {
		snprintf(msg, sizeof(msg), "cannot write the release record: %s",
			 err && err->msg[0] ? err->msg : op_strerror(r));
		ops_clear(j);
		fail(j, "StorageFailed", msg, false, 0);
		return;
	}
	j->opi++;
	ops_run(j);
}

/* Run the queued Secret writes in order, then j->ops_next. */
static void ops_run(struct hrjob *j)
{
	struct kube_ref ref = { .version = "v1", .resource = "secrets", .ns = j->storage_ns };
	struct sop *op;
	int r;

	if (j->opi >= j->nops) {
		void (*next)(struct hrjob *) = j->ops_next;

		ops_clear(j);
		next(j);
		return;
	}
	op = &j->ops[j->opi];
	if (op->kind == SOP_DELETE) {
		ref.name = op->name;
		r = kube_delete(j->client, &ref, NULL, op_done, j);
	} else if (!op->secret) {
		r = -EINVAL;
	} else if (op->kind == SOP_CREATE) {
		r = kube_create(j->client, &ref, op->secret, NULL, op_done, j);
	} else {
		ref.name = yj_get_str(op->secret, "/metadata/name");
		r = kube_update(j->client, &ref, op->secret, NULL, op_done, j);
	}
	if (r < 0) {
		ops_clear(j);
		fail(j, "StorageFailed", "cannot write the release record", false, 0);
	}
}

static void ops_start(struct hrjob *j, void (*next)(struct hrjob *j))
{
	j->ops_next = next;
	j->opi = 0;
	ops_run(j);
}

/* ---- status ---- */

/* Flux's snapshot of a release (status.history[]). */
/* Append `v` as Go's encoding/json writes it: objects in their own order, or sorted (maps). */
static void go_json(const cJSON *v, bool sorted, struct buf *b)
{
	struct buf t = BUF_INIT(SIZE_MAX);
	const cJSON *it;

	if (cJSON_IsObject(v) && !sorted) {
		buf_addch(b, '{');
		cJSON_ArrayForEach(it, v) {
			cJSON *k = cJSON_CreateString(it->string);

			if (it != v->child)
				buf_addch(b, ',');
			go_json(k, true, b);
			buf_addch(b, ':');
			/* a chart's annotations and a dependency's import-values are maps */
			go_json(it, streq(it->string, "annotations") ||
					    streq(it->string, "import-values"), b);
			cJSON_Delete(k);
		}
		buf_addch(b, '}');
		return;
	}
	if (cJSON_IsArray(v) && !sorted) {
		buf_addch(b, '[');
		cJSON_ArrayForEach(it, v) {
			if (it != v->child)
				buf_addch(b, ',');
			go_json(it, false, b);
		}
		buf_addch(b, ']');
		return;
	}
	yj_print_canonical(v, &t);
	yj_escape_html(t.buf ? t.buf : "null", t.buf ? t.len : 4, b);
	buf_release(&t);
}

/*
 * helm-controller's snapshot digest: sha256 of its Observation of the
 * release, as json.Encoder writes it (name, version, info, chartMetadata,
 * config, manifest, hooks without the test hooks, namespace, ociDigest).
 */
static void observation_digest(const cJSON *rel, const char *oci_digest, char ret[72])
{
	struct buf b = BUF_INIT(SIZE_MAX);
	const cJSON *cfg = yj_get(rel, "/config"), *h;
	cJSON *name = cJSON_CreateString(yj_get_str(rel, "/name") ? yj_get_str(rel, "/name") : "");
	cJSON *manifest = cJSON_CreateString(yj_get_str(rel, "/manifest") ?
						     yj_get_str(rel, "/manifest") : "");
	cJSON *ns = cJSON_CreateString(yj_get_str(rel, "/namespace") ?
					       yj_get_str(rel, "/namespace") : "");
	bool any = false;

	buf_adds(&b, "{\"name\":");
	go_json(name, true, &b);
	buf_addf(&b, ",\"version\":%d,\"info\":", rel_version(rel));
	if (yj_get(rel, "/info"))
		go_json(yj_get(rel, "/info"), false, &b);
	else
		buf_adds(&b, "{}");
	buf_adds(&b, ",\"chartMetadata\":");
	if (yj_get(rel, "/chart/metadata"))
		go_json(yj_get(rel, "/chart/metadata"), false, &b);
	else
		buf_adds(&b, "{}");
	buf_adds(&b, ",\"config\":");
	if (cJSON_GetArraySize(cfg) > 0)
		go_json(cfg, true, &b);
	else
		buf_adds(&b, "null");
	buf_adds(&b, ",\"manifest\":");
	go_json(manifest, true, &b);
	buf_adds(&b, ",\"hooks\":");
	cJSON_ArrayForEach(h, yj_get(rel, "/hooks")) {
		const cJSON *e;
		bool test = false;

		cJSON_ArrayForEach(e, yj_get(h, "/events"))
			test |= streq_ptr(cJSON_GetStringValue(e), "test");
		if (test)
			continue;
		buf_addch(&b, any ? ',' : '[');
		go_json(h, false, &b);
		any = true;
	}
	buf_adds(&b, any ? "]" : "null");
	buf_adds(&b, ",\"namespace\":");
	go_json(ns, true, &b);
	if (oci_digest && *oci_digest) {
		cJSON *d = cJSON_CreateString(oci_digest);

		buf_adds(&b, ",\"ociDigest\":");
		go_json(d, true, &b);
		cJSON_Delete(d);
	}
	buf_adds(&b, "}\n");
	memcpy(ret, "sha256:", 7);
	yj_sha256_hex(b.buf, b.len, ret + 7);
	buf_release(&b);
	cJSON_Delete(name);
	cJSON_Delete(manifest);
	cJSON_Delete(ns);
}

/* The ociDigest a release's snapshot carries: the one it was made with (status), else ours. */
static const char *snapshot_oci_digest(const struct hrjob *j, const cJSON *rel)
{
	const cJSON *h;

	if (!j->oci)
		return NULL;
	cJSON_ArrayForEach(h, yj_get(j->rc->obj->json, "/status/history"))
		if ((int)cJSON_GetNumberValue(yj_get(h, "/version")) == rel_version(rel) &&
		    yj_get_str(h, "/ociDigest") && rel_version(rel) != j->version)
			return yj_get_str(h, "/ociDigest");
	return j->digest;
}

/* The testHooks the status recorded for release `version`, or NULL (not tested). */
static const cJSON *status_test_hooks(const struct hrjob *j, int version)
{
	const cJSON *h;

	cJSON_ArrayForEach(h, yj_get(j->rc->obj->json, "/status/history"))
		if ((int)cJSON_GetNumberValue(yj_get(h, "/version")) == version)
			return yj_get(h, "/testHooks");
	return NULL;
}

static cJSON *snapshot(const struct hrjob *j, const cJSON *rel)
{
	cJSON *s = cJSON_CreateObject();
	const char *fd = yj_get_str(rel, "/info/first_deployed");
	const char *ld = yj_get_str(rel, "/info/last_deployed");
	const char *av = yj_get_str(rel, "/chart/metadata/appVersion");
	const char *oci = snapshot_oci_digest(j, rel);
	char digest[72], cd[72];
	struct buf y = BUF_INIT(64u << 20);

	observation_digest(rel, oci, digest);
	if (yj_get(rel, "/config") && cJSON_GetArraySize(yj_get(rel, "/config")) > 0)
		yj_emit_yaml_go(yj_get(rel, "/config"), &y);
	yj_sha256_hex(y.buf ? y.buf : "", y.len, cd + 7);
	memcpy(cd, "sha256:", 7);
	buf_release(&y);
	cJSON_AddStringToObject(s, "digest", digest);
	cJSON_AddStringToObject(s, "name", j->release);
	cJSON_AddStringToObject(s, "namespace", yj_get_str(rel, "/namespace") ?
							yj_get_str(rel, "/namespace") : "");
	cJSON_AddNumberToObject(s, "version", rel_version(rel));
	cJSON_AddStringToObject(s, "status", rel_status(rel));
	cJSON_AddStringToObject(s, "chartName", yj_get_str(rel, "/chart/metadata/name") ?
							yj_get_str(rel, "/chart/metadata/name") : "");
	cJSON_AddStringToObject(s, "chartVersion",
				yj_get_str(rel, "/chart/metadata/version") ?
					yj_get_str(rel, "/chart/metadata/version") : "");
	if (av && *av)
		cJSON_AddStringToObject(s, "appVersion", av);
	cJSON_AddStringToObject(s, "configDigest", cd);
	if (fd && *fd)
		cJSON_AddStringToObject(s, "firstDeployed", fd);
	if (ld && *ld)
		cJSON_AddStringToObject(s, "lastDeployed", ld);
	if (oci)
		cJSON_AddStringToObject(s, "ociDigest", oci);
	if (j->tested && rel_version(rel) == j->tested_version)
		cJSON_AddItemToObject(s, "testHooks", cJSON_Duplicate(j->tested, 1));
	else if (status_test_hooks(j, rel_version(rel)))
		cJSON_AddItemToObject(s, "testHooks",
				      cJSON_Duplicate(status_test_hooks(j, rel_version(rel)), 1));
	return s;
}

static cJSON *history_get(const struct hrjob *j, int version);

static int cmp_snapshot_desc(const void *a, const void *b)
{
	double x = cJSON_GetNumberValue(yj_get(*(cJSON *const *)a, "/version"));
	double y = cJSON_GetNumberValue(yj_get(*(cJSON *const *)b, "/version"));

	return x < y ? 1 : x > y ? -1 : 0;
}

/*
 * status.history from the stored releases, newest first.  Flux truncates
 * it (below) only when the release is in sync and before a remediation
 * (j->truncate); otherwise what it held stays, the new releases on top.
 */
static void write_history(struct hrjob *j)
{
	cJSON *hist = cJSON_CreateArray(), **v;
	int n = cJSON_GetArraySize(j->history), kept = 0, m, floor = 0;
	const cJSON *old, *prev;

	/*
	 * Flux's history holds only releases this object saw: an install
	 * starts it afresh (ClearHistory), and a record older than what it
	 * holds (one left by keepHistory, or by `helm install` before an
	 * adoption) never enters it.
	 */
	cJSON_ArrayForEach(old, yj_get(j->rc->status, "/history"))
	{
		int ver = (int)cJSON_GetNumberValue(yj_get(old, "/version"));

		if (!floor || ver < floor)
			floor = ver;
	}
	if ((j->act == ACT_INSTALL && j->version) || (!floor && j->version))
		floor = j->version;

	/*
	 * As helm-controller's Snapshots.Truncate: the newest release, then
	 * the older ones down to and including the first deployed or
	 * superseded one; with none of those, at most 5.
	 */
	for (int i = n - 1; i >= 0 && kept < 5; i--) {
		const cJSON *rel = cJSON_GetArrayItem(j->history, i);
		const char *s = rel_status(rel);

		if (rel_version(rel) < floor)
			break;
		cJSON_AddItemToArray(hist, snapshot(j, rel));
		kept++;
		if (i < n - 1 && (streq(s, "deployed") || streq(s, "superseded")))
			break;
	}
	prev = j->truncate || j->act == ACT_INSTALL ? NULL : yj_get(j->rc->status, "/history");
	cJSON_ArrayForEach(old, prev)
	{
		int ver = (int)cJSON_GetNumberValue(yj_get(old, "/version"));
		const cJSON *h, *rel = history_get(j, ver);
		bool have = false;

		cJSON_ArrayForEach(h, hist)
			have |= (int)cJSON_GetNumberValue(yj_get(h, "/version")) == ver;
		if (!have)
			cJSON_AddItemToArray(hist, rel ? snapshot(j, rel) : cJSON_Duplicate(old, 1));
	}
	m = cJSON_GetArraySize(hist);
	v = xcalloc(m ? (size_t)m : 1, sizeof(*v));
	for (int i = 0; i < m; i++)
		v[i] = cJSON_DetachItemFromArray(hist, 0);
	qsort(v, (size_t)m, sizeof(*v), cmp_snapshot_desc);
	for (int i = 0; i < m; i++)
		cJSON_AddItemToArray(hist, v[i]);
	free(v);
	cJSON_DeleteItemFromObjectCaseSensitive(j->rc->status, "history");
	cJSON_AddItemToObject(j->rc->status, "history", hist);
}

/* The record of `version` in j->history, or NULL. */
static cJSON *history_get(const struct hrjob *j, int version)
{
	cJSON *rel;

	cJSON_ArrayForEach(rel, j->history)
		if (rel_version(rel) == version)
			return rel;
	return NULL;
}

/* Put `rel` (copied) into j->history in version order. */
static void history_put(struct hrjob *j, const cJSON *rel)
{
	cJSON *old = history_get(j, rel_version(rel)), *it;
	int i = 0;

	if (old) {
		cJSON_ReplaceItemViaPointer(j->history, old, cJSON_Duplicate(rel, 1));
		return;
	}
	cJSON_ArrayForEach(it, j->history)
	{
		if (rel_version(it) > rel_version(rel))
			break;
		i++;
	}
	if (i >= cJSON_GetArraySize(j->history))
		cJSON_AddItemToArray(j->history, cJSON_Duplicate(rel, 1));
	else
		cJSON_InsertItemInArray(j->history, i, cJSON_Duplicate(rel, 1));
}

static void attempted(struct hrjob *j, const char *action)
{
	cJSON *st = j->rc->status;
	char *rev = xasprintf("%s", j->chart_version ? j->chart_version : "");

	set_str(st, "lastAttemptedRevision", rev);
	if (j->oci && j->digest)
		set_str(st, "lastAttemptedRevisionDigest", j->digest);
	set_str(st, "lastAttemptedConfigDigest", j->config_digest);
	set_num(st, "lastAttemptedGeneration", (double)rc_gen(j->rc));
	/* helm-controller's events: the chart version, and the values' digest as token. */
	rc_annotate(j->rc, "revision", rev);
	rc_annotate(j->rc, "token", j->config_digest);
	if (action)
		set_str(st, "lastAttemptedReleaseAction", action);
	set_str(st, "storageNamespace", j->storage_ns);
	set_str(st, "helmChart", j->helmchart);
	free(rev);
}

static char *release_ref(const struct hrjob *j, int version)
{
	return version ? xasprintf("%s/%s.v%d", j->target_ns, j->release, version) :
			 xasprintf("%s/%s", j->target_ns, j->release);
}

/* Released=True from the deployed release (Ready is the caller's). */
static void released(struct hrjob *j, const char *reason, const char *msg)
{
	struct rc *rc = j->rc;
	int64_t now = time_now_ns();

	cond_delete(rc->status, COND_STALLED);
	cond_set(rc->status, "Released", "True", reason, msg, rc_gen(rc), now);
	cJSON_DeleteItemFromObjectCaseSensitive(rc->status, "failures");
	cJSON_DeleteItemFromObjectCaseSensitive(rc->status, "installFailures");
	cJSON_DeleteItemFromObjectCaseSensitive(rc->status, "upgradeFailures");
	{
		char d[72];

		/* As helm-controller, the digests of what the ready release was made with. */
		postrender_digest(j->post_renderers, d);
		set_str(rc->status, "observedPostRenderersDigest", d[0] ? d : NULL);
		postrender_metadata_digest(j->common_metadata, d);
		set_str(rc->status, "observedCommonMetadataDigest", d[0] ? d : NULL);
	}
}

/* Ready=True from the deployed release, requeue after the interval. */
static void ready(struct hrjob *j, const char *reason, const char *msg)
{
	struct rc *rc = j->rc;

	released(j, reason, msg);
	cond_set(rc->status, COND_READY, "True", reason, msg, rc_gen(rc), time_now_ns());
	write_history(j);
	rc_done(rc, ms(j->interval_ns));
}

/* ---- actions ---- */

static void action_failed(struct hrjob *j, const char *what);

static void mark_deployed(struct hrjob *j);
static void start_test(struct hrjob *j);
static void start_drift(struct hrjob *j);
static void in_sync(struct hrjob *j);

static void finish_success(struct hrjob *j)
{
	const char *verb = j->act == ACT_INSTALL ? "install" : j->act == ACT_UPGRADE ? "upgrade" :
										      "rollback";
	char *ref = release_ref(j, j->version), *msg;

	if (j->act == ACT_ROLLBACK) {
		struct rc *rc = j->rc;
		int64_t now = time_now_ns();

		msg = xasprintf("Helm rollback to previous release %s with chart %s@%s succeeded",
				ref, j->chart_name, yj_get_str(j->rel, "/chart/metadata/version"));
		cond_set(rc->status, "Remediated", "True", "RollbackSucceeded", msg, rc_gen(rc),
			 now);
		cond_set(rc->status, COND_READY, "False", "RollbackSucceeded", msg, rc_gen(rc), now);
		rc_event(rc, "Normal", "RollbackSucceeded", "%s", msg);
		write_history(j);
		free(msg);
		free(ref);
		/* The upgrade is tried again while retries last. */
		{
			int f = status_int(rc->status, "upgradeFailures");

			if (j->upgrade_retries >= 0 && f > j->upgrade_retries) {
				char m[128];

				snprintf(m, sizeof(m), "Failed to upgrade after %d attempt(s)", f);
				cond_mark_stalled(rc->status, "RetriesExceeded", m, rc_gen(rc), now);
				rc_done(rc, 0);
				return;
			}
		}
		rc_done(rc, ms(j->interval_ns));
		return;
	}
	msg = xasprintf("Helm %s succeeded for release %s with chart %s@%s", verb, ref,
			j->chart_name, j->chart_version);
	cond_delete(j->rc->status, "Remediated");
	rc_event(j->rc, "Normal", j->act == ACT_INSTALL ? "InstallSucceeded" : "UpgradeSucceeded",
		 "%s", msg);
	log_info(NULL, "Release deployed", "controller", "helmrelease", "object", j->rc->key,
		 "release", ref, NULL);
	if (j->test) {
		released(j, j->act == ACT_INSTALL ? "InstallSucceeded" : "UpgradeSucceeded", msg);
		j->tested_after = j->act;
		start_test(j);
	} else {
		ready(j, j->act == ACT_INSTALL ? "InstallSucceeded" : "UpgradeSucceeded", msg);
	}
	free(msg);
	free(ref);
}

static void mark_deployed(struct hrjob *j)
{
	cJSON *rel;
	const char *desc = j->act == ACT_INSTALL ? "Install complete" :
			   j->act == ACT_UPGRADE ? "Upgrade complete" : NULL;
	char *rb = NULL;

	if (j->act == ACT_ROLLBACK) {
		rb = xasprintf("Rollback to %d", rel_version(j->deployed));
		desc = rb;
	}
	/* Every other deployed record becomes superseded, as Helm's upgrade and rollback do. */
	cJSON_ArrayForEach(rel, j->history)
	{
		if (rel_version(rel) != j->version && streq(rel_status(rel), "deployed")) {
			rel_set_status(rel, "superseded", NULL);
			op_add(j, SOP_UPDATE, rel, true);
		}
	}
	rel_set_status(j->rel, "deployed", desc);
	op_add(j, SOP_UPDATE, j->rel, true);
	history_put(j, j->rel);
	free(rb);
	ops_start(j, finish_success);
}

/* ---- hooks (hooks.h), around the apply and the wait ---- */

static int64_t action_timeout(const struct hrjob *j);
static void start_apply(struct hrjob *j);

static const char *hook_event(const struct hrjob *j, bool pre)
{
	switch (j->act) {
	case ACT_INSTALL:
		return pre ? "pre-install" : "post-install";
	case ACT_UPGRADE:
		return pre ? "pre-upgrade" : "post-upgrade";
	default:
		return pre ? "pre-rollback" : "post-rollback";
	}
}

static bool hooks_on(const struct hrjob *j)
{
	return !(j->act == ACT_INSTALL ? j->hooks_off_install :
		 j->act == ACT_UPGRADE ? j->hooks_off_upgrade : j->hooks_off_rollback);
}

static void hooks_done(int r, const char *msg, void *payload)
{
	struct hrjob *j = payload;
	char *e;

	rc_unpark(j->rc);
	if (r >= 0) {
		j->hooks_next(j);
		return;
	}
	/* Helm's wrapping, per action (install.go, upgrade.go; rollback's is bare). */
	if (j->act == ACT_INSTALL)
		e = xasprintf("failed %s: %s", hook_event(j, j->hooks_pre), msg);
	else if (j->act == ACT_UPGRADE)
		e = xasprintf("%s hooks failed: %s", hook_event(j, j->hooks_pre), msg);
	else
		e = xstrdup(msg);
	action_failed(j, e);
	free(e);
}

/* The release's hooks for this action's pre or post event, then `next`. */
static void run_hooks(struct hrjob *j, bool pre, void (*next)(struct hrjob *j))
{
	struct hooks_opts o = {
		.c = j->client,
		.m = j->mapper,
		.rel = j->rel,
		.event = hook_event(j, pre),
		.ns = j->target_ns,
		.timeout_ms = ms(action_timeout(j)),
	};

	if (!hooks_on(j) || !hooks_any(j->rel, o.event)) {
		next(j);
		return;
	}
	j->hooks_next = next;
	j->hooks_pre = pre;
	/* Hooks mostly wait for their Jobs and Pods: the slot goes to the next release. */
	rc_park(j->rc);
	if (hooks_exec(&o, hooks_done, j) < 0) {
		rc_unpark(j->rc);
		action_failed(j, "cannot run the hooks");
	}
}

static void pre_hooks(struct hrjob *j);

static void crds_established(const struct wait_result *res, void *payload)
{
	struct hrjob *j = payload;

	if (res->r < 0) {
		action_failed(j, res->msg);
		return;
	}
	cJSON_Delete(j->crds);
	j->crds = NULL;
	pre_hooks(j);
}

static void next_crd(struct hrjob *j);

static void crd_written(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct hrjob *j = payload;
	const cJSON *crd = cJSON_GetArrayItem(j->crds, j->crdi);

	(void)obj;
	/* As Helm's installCRDs: one that exists already is left as it is (Create). */
	if (r < 0 && r != -EEXIST) {
		char *m = xasprintf("failed to install CRD %s: %s",
				    strempty(yj_get_str(crd, "/metadata/name")),
				    err && err->msg[0] ? err->msg : op_strerror(r));

		action_failed(j, m);
		free(m);
		return;
	}
	j->crdi++;
	next_crd(j);
}

/* The chart's CRDs, one at a time, as the action's policy says; then they are waited on. */
static void next_crd(struct hrjob *j)
{
	const char *policy = j->act == ACT_INSTALL ? j->crds_install : j->crds_upgrade;
	const cJSON *crd = cJSON_GetArrayItem(j->crds, j->crdi);
	struct kube_ref ref = { .group = "apiextensions.k8s.io", .version = "v1",
				.resource = "customresourcedefinitions" };
	struct kube_opts o = KUBE_OPTS_INIT;
	int r;

	if (!crd) {
		if (wait_ready(j->client, j->mapper, j->crds, NULL, 60000, crds_established, j,
			       NULL) < 0)
			action_failed(j, "cannot wait for the chart's CRDs");
		return;
	}
	o.field_manager = FIELD_MANAGER;
	if (streq(policy, "CreateReplace")) {
		ref.name = strempty(yj_get_str(crd, "/metadata/name"));
		o.force = true;
		r = kube_apply(j->client, &ref, crd, &o, crd_written, j);
	} else {
		r = kube_create(j->client, &ref, crd, &o, crd_written, j);
	}
	if (r < 0)
		crd_written(r, NULL, NULL, j);
}

static void ns_created(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct hrjob *j = payload;

	(void)obj;
	if (r < 0 && r != -EEXIST) {
		action_failed(j, err && err->msg[0] ? err->msg : op_strerror(r));
		return;
	}
	j->ns_created = true;
	pre_hooks(j);
}

static void pre_hooks(struct hrjob *j)
{
	/* As Helm's CreateNamespace: labelled name=<ns>; one that exists is fine. */
	if (j->act == ACT_INSTALL && j->create_ns && !j->ns_created) {
		struct kube_ref ref = { .version = "v1", .resource = "namespaces" };
		struct kube_opts o = KUBE_OPTS_INIT;
		cJSON *ns = cJSON_CreateObject(), *meta;

		cJSON_AddStringToObject(ns, "apiVersion", "v1");
		cJSON_AddStringToObject(ns, "kind", "Namespace");
		meta = cJSON_AddObjectToObject(ns, "metadata");
		cJSON_AddStringToObject(meta, "name", j->target_ns);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(meta, "labels"), "name", j->target_ns);
		o.field_manager = FIELD_MANAGER;
		if (kube_create(j->client, &ref, ns, &o, ns_created, j) < 0)
			ns_created(-EIO, NULL, NULL, j);
		cJSON_Delete(ns);
		return;
	}
	if (j->crds && (j->act == ACT_INSTALL || j->act == ACT_UPGRADE)) {
		j->crdi = 0;
		next_crd(j);
		return;
	}
	run_hooks(j, true, start_apply);
}

static void post_hooks(struct hrjob *j)
{
	run_hooks(j, false, mark_deployed);
}

/* ---- tests (spec.test): the release's test hooks, as `helm test` ---- */

static void start_rollback(struct hrjob *j);
static void start_uninstall_remediation(struct hrjob *j);

/* helm-controller's testHooks of a snapshot: per test hook its last run. */
static cJSON *test_hooks_status(const cJSON *rel, int *count)
{
	cJSON *m = cJSON_CreateObject();
	const cJSON *h;

	*count = 0;
	cJSON_ArrayForEach(h, yj_get(rel, "/hooks"))
	{
		const cJSON *e;
		bool test = false;
		cJSON *o;

		cJSON_ArrayForEach(e, yj_get(h, "/events"))
			test |= streq_ptr(cJSON_GetStringValue(e), "test");
		if (!test)
			continue;
		(*count)++;
		o = cJSON_CreateObject();
		for (size_t i = 0; i < 2; i++) {
			static const char *const from[] = { "/last_run/started_at",
							    "/last_run/completed_at" };
			static const char *const to[] = { "lastStarted", "lastCompleted" };
			const char *t = yj_get_str(h, from[i]);
			char out[RFC3339_MAX];
			int64_t ns;

			/* metav1.Time: whole seconds */
			if (t && *t && time_parse_rfc3339(t, &ns) == 0) {
				time_format_rfc3339(ns, out);
				cJSON_AddStringToObject(o, to[i], out);
			}
		}
		if (yj_get_str(h, "/last_run/phase") && *yj_get_str(h, "/last_run/phase"))
			cJSON_AddStringToObject(o, "phase", yj_get_str(h, "/last_run/phase"));
		cJSON_AddItemToObject(m, strempty(yj_get_str(h, "/name")), o);
	}
	return m;
}

static bool test_failed(const cJSON *test_hooks)
{
	const cJSON *h;

	cJSON_ArrayForEach(h, test_hooks)
		if (streq_ptr(yj_get_str(h, "/phase"), "Failed"))
			return true;
	return false;
}

/* The newest earlier release to roll back to (helm-controller's Previous). */
static cJSON *previous_release(const struct hrjob *j, int version)
{
	cJSON *rel, *best = NULL;

	cJSON_ArrayForEach(rel, j->history)
		if (rel_version(rel) < version &&
		    (streq(rel_status(rel), "superseded") || streq(rel_status(rel), "deployed")))
			best = rel;
	return best;
}

/* helm-controller's GetActiveRetry: the retry interval of the action last attempted, or 0. */
static int64_t active_retry_ns(const struct hrjob *j, bool install)
{
	return install ? j->retry_install_ns : j->retry_upgrade_ns;
}

/* Whether the active remediation (install's or upgrade's) lets a failed test be. */
static bool test_failures_ignored(const struct hrjob *j, bool install)
{
	return install ? j->test_ignore_install : j->test_ignore_upgrade;
}

static void test_finished(struct hrjob *j)
{
	struct rc *rc = j->rc;
	cJSON *st = rc->status;
	int64_t now = time_now_ns();
	int count = 0;
	char *ref = release_ref(j, j->tested_version), *msg;
	const char *cv = strempty(yj_get_str(j->rel, "/chart/metadata/version"));
	const char *err = j->errmsg; /* the test's failure, or NULL */

	cJSON_Delete(test_hooks_status(j->rel, &count));
	if (!err) {
		char hooks[64];

		if (count)
			snprintf(hooks, sizeof(hooks), "%d test hook%s completed successfully", count,
				 count > 1 ? "s" : "");
		else
			snprintf(hooks, sizeof(hooks), "no test hooks");
		msg = xasprintf("Helm test succeeded for release %s with chart %s@%s: %s", ref,
				j->chart_name, cv, hooks);
		cond_set(st, "TestSuccess", "True", "TestSucceeded", msg, rc_gen(rc), now);
		rc_event(rc, "Normal", "TestSucceeded", "%s", msg);
		cond_delete(st, COND_STALLED);
	} else {
		msg = xasprintf("Helm test failed for release %s with chart %s@%s: %s", ref,
				j->chart_name, cv, err);
		set_num(st, "failures", status_int(st, "failures") + 1);
		cond_set(st, "TestSuccess", "False", "TestFailed", msg, rc_gen(rc), now);
		rc_event(rc, "Warning", "TestFailed", "%s", msg);
	}
	free(ref);
	/* helm-controller's summary: TestSuccess rules Ready unless its failures are ignored. */
	if (!j->test_ignore) {
		cond_set(st, COND_READY, err ? "False" : "True", err ? "TestFailed" : "TestSucceeded",
			 msg, rc_gen(rc), now);
	} else {
		const cJSON *rel = cond_get(st, "Released");

		cond_set(st, COND_READY, strempty(yj_get_str(rel, "/status")),
			 strempty(yj_get_str(rel, "/reason")), strempty(yj_get_str(rel, "/message")),
			 rc_gen(rc), now);
	}
	free(msg);
	if (!err || test_failures_ignored(j, streq_ptr(yj_get_str(st, "/lastAttemptedReleaseAction"),
						       "install"))) {
		write_history(j);
		rc_done(rc, ms(j->interval_ns));
		return;
	}
	/* A failed test is a failed release: remediated as the action's failure would be. */
	{
		bool install = streq_ptr(yj_get_str(st, "/lastAttemptedReleaseAction"), "install");
		const char *counter = install ? "installFailures" : "upgradeFailures";
		int f = status_int(st, counter) + 1;
		int retries = install ? j->install_retries : j->upgrade_retries;
		bool exhausted = retries >= 0 && f > retries;
		cJSON *prev = previous_release(j, j->tested_version);

		set_num(st, counter, f);
		if (active_retry_ns(j, install)) {
			char d[DURATION_MAX], *m;

			duration_format(active_retry_ns(j, install), d);
			m = xasprintf("retrying after %s", d);
			cond_mark_reconciling(st, "ProgressingWithRetry", m, rc_gen(rc), now);
			free(m);
			write_history(j);
			rc_done(rc, ms(active_retry_ns(j, install)));
			return;
		}
		if (j->tested_after != ACT_NONE) {
			j->act = install ? ACT_INSTALL : ACT_UPGRADE;
			if (!install && !j->upgrade_uninstall && prev &&
			    (!exhausted || j->remediate_last)) {
				j->deployed = prev;
				start_rollback(j);
				return;
			}
			if ((install && retries != 0 && (!exhausted || j->remediate_last_install)) ||
			    (!install && j->upgrade_uninstall && (!exhausted || j->remediate_last))) {
				start_uninstall_remediation(j);
				return;
			}
		}
		write_history(j);
		if (exhausted) {
			char m[128];

			snprintf(m, sizeof(m), "Failed to %s after %d attempt(s)",
				 install ? "install" : "upgrade", f);
			cond_mark_stalled(st, "RetriesExceeded", m, rc_gen(rc), now);
			rc_done(rc, 0);
			return;
		}
		rc_done(rc, ms(j->interval_ns));
	}
}

/* Whether spec.test.filters name `name` with exclude `exclude`. */
static bool test_filter_has(const cJSON *filters, const char *name, bool exclude)
{
	const cJSON *f;

	cJSON_ArrayForEach(f, filters)
		if (cJSON_IsTrue(yj_get(f, "/exclude")) == exclude &&
		    streq_ptr(yj_get_str(f, "/name"), name))
			return true;
	return false;
}

static bool test_filter_any(const cJSON *filters, bool exclude)
{
	const cJSON *f;

	cJSON_ArrayForEach(f, filters)
		if (cJSON_IsTrue(yj_get(f, "/exclude")) == exclude)
			return true;
	return false;
}

/*
 * As Helm's ReleaseTesting with helm-controller's filters: the hooks an
 * exclude filter names are set aside, then, with include filters, every
 * hook they do not name.  The record holds only the others while the
 * tests run; test_unfilter() puts the set-aside ones back in front.
 */
static void test_filter(struct hrjob *j)
{
	cJSON *hooks = cJSON_GetObjectItemCaseSensitive(j->rel, "hooks");

	cJSON_Delete(j->test_skipped);
	j->test_skipped = NULL;
	if (!j->test_filters || !cJSON_IsArray(hooks))
		return;
	j->test_skipped = cJSON_CreateArray();
	for (int pass = 0; pass < 2; pass++) {
		bool exclude = pass == 0;
		cJSON *h = hooks->child;

		if (!test_filter_any(j->test_filters, exclude))
			continue;
		while (h) {
			cJSON *next = h->next;
			bool named = test_filter_has(j->test_filters, yj_get_str(h, "/name"), exclude);

			if (named == exclude)
				cJSON_AddItemToArray(j->test_skipped,
						     cJSON_DetachItemViaPointer(hooks, h));
			h = next;
		}
	}
}

static void test_unfilter(struct hrjob *j)
{
	cJSON *hooks = cJSON_GetObjectItemCaseSensitive(j->rel, "hooks");

	if (!j->test_skipped || !cJSON_IsArray(hooks))
		return;
	while (cJSON_GetArraySize(hooks))
		cJSON_AddItemToArray(j->test_skipped, cJSON_DetachItemFromArray(hooks, 0));
	cJSON_ReplaceItemInObjectCaseSensitive(j->rel, "hooks", j->test_skipped);
	j->test_skipped = NULL;
}

static void test_done(int r, const char *msg, void *payload)
{
	struct hrjob *j = payload;
	int count;

	test_unfilter(j);
	cJSON_Delete(j->tested);
	j->tested = test_hooks_status(j->rel, &count);
	j->tested_version = rel_version(j->rel);
	free(j->errmsg);
	j->errmsg = r < 0 ? str_trim_dup(msg) : NULL;
	/* As `helm test`, the record keeps the test hooks' last runs. */
	op_add(j, SOP_UPDATE, j->rel, true);
	{
		/* history_put() replaces the tested record: keep pointing at it. */
		bool dep = j->deployed && rel_version(j->deployed) == j->tested_version;
		bool last = j->last && rel_version(j->last) == j->tested_version;

		history_put(j, j->rel);
		if (dep)
			j->deployed = history_get(j, j->tested_version);
		if (last)
			j->last = history_get(j, j->tested_version);
	}
	ops_start(j, test_finished);
}

/* Run the test hooks of j->rel (the release just made, or the deployed one). */
static void start_test(struct hrjob *j)
{
	struct hooks_opts o = {
		.c = j->client,
		.m = j->mapper,
		.rel = j->rel,
		.event = "test",
		.ns = j->target_ns,
		.timeout_ms = ms(j->test_timeout_ns),
	};

	test_filter(j);
	if (!hooks_any(j->rel, "test") || hooks_exec(&o, test_done, j) < 0)
		test_done(0, NULL, j);
}

static void waited(const struct wait_result *res, void *payload)
{
	struct hrjob *j = payload;

	rc_unpark(j->rc);
	if (res->r < 0) {
		action_failed(j, res->msg);
		return;
	}
	post_hooks(j);
}

static int64_t action_timeout(const struct hrjob *j)
{
	return j->act == ACT_INSTALL ? j->install_timeout_ns :
	       j->act == ACT_UPGRADE ? j->upgrade_timeout_ns : j->rollback_timeout_ns;
}

static bool wait_enabled(const struct hrjob *j)
{
	return j->act == ACT_INSTALL ? j->wait_install :
	       j->act == ACT_UPGRADE ? j->wait_upgrade : j->wait_rollback;
}

static bool wait_jobs(const struct hrjob *j)
{
	return j->act == ACT_INSTALL ? j->jobs_install :
	       j->act == ACT_UPGRADE ? j->jobs_upgrade : j->jobs_rollback;
}

/* Without WaitForJobs, Helm takes a Job as ready once it exists: out of the wait. */
static void drop_jobs(cJSON *set)
{
	cJSON *o = set ? set->child : NULL;

	while (o) {
		cJSON *next = o->next;

		if (streq_ptr(yj_get_str(o, "/kind"), "Job") &&
		    streq_ptr(yj_get_str(o, "/apiVersion"), "batch/v1"))
			cJSON_Delete(cJSON_DetachItemViaPointer(set, o));
		o = next;
	}
}

/*
 * References to what an inventory lists, for the readiness wait (the
 * inventory knows each object's namespace; the manifest may not): an
 * entry's id is "<ns>_<name>_<group>_<Kind>", ':' in a name written "__".
 */
static cJSON *inventory_refs(const cJSON *inv)
{
	cJSON *set = cJSON_CreateArray();
	const cJSON *e;

	cJSON_ArrayForEach(e, yj_get(inv, "/entries"))
	{
		const char *id = yj_get_str(e, "/id"), *v = yj_get_str(e, "/v");
		const char *u1, *k, *g;
		char *ns, *name, *group, *av, *p, *q;
		cJSON *o, *m;

		if (!id || !v || !(u1 = strchr(id, '_')) || !(k = strrchr(id, '_')) || k == u1)
			continue;
		for (g = k - 1; g > u1 && *g != '_'; g--)
			;
		if (g == u1)
			continue;
		ns = xstrndup(id, (size_t)(u1 - id));
		name = xstrndup(u1 + 1, (size_t)(g - u1 - 1));
		group = xstrndup(g + 1, (size_t)(k - g - 1));
		for (p = q = name; *p; p++, q++) {
			*q = *p;
			if (p[0] == '_' && p[1] == '_') {
				*q = ':';
				p++;
			}
		}
		*q = '\0';
		av = *group ? xasprintf("%s/%s", group, v) : xstrdup(v);
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "apiVersion", av);
		cJSON_AddStringToObject(o, "kind", k + 1);
		m = cJSON_AddObjectToObject(o, "metadata");
		cJSON_AddStringToObject(m, "name", name);
		if (*ns)
			cJSON_AddStringToObject(m, "namespace", ns);
		cJSON_AddItemToArray(set, o);
		free(ns);
		free(name);
		free(group);
		free(av);
	}
	return set;
}

static void start_wait(struct hrjob *j);
static void recreate_pods(struct hrjob *j);
static const char *object_ns(const struct hrjob *j, const cJSON *o);

static void applied(struct apply_result *res, void *payload)
{
	struct hrjob *j = payload;

	cJSON_Delete(j->created);
	j->created = cJSON_GetArraySize(res->created_refs) ?
			     cJSON_Duplicate(res->created_refs, 1) :
			     NULL;
	if (res->r < 0) {
		action_failed(j, res->err.msg);
		return;
	}
	/* helm-controller records no Event of the change set: the log has it. */
	if (res->changes[0] || res->pruned[0])
		log_debug(NULL, "Release applied", "controller", "helmrelease", "object", j->rc->key,
			  "changes", res->changes, "pruned", res->pruned, NULL);
	cJSON_Delete(j->wait_set);
	j->wait_set = inventory_refs(res->inventory);
	/*
	 * What the apply already saw Current needs no watch (kstatus says the
	 * same then), unless its pods are about to be recreated.
	 */
	if (j->act == ACT_ROLLBACK && j->recreate) {
		recreate_pods(j);
		return;
	}
	wait_drop(j->wait_set, res->current_refs);
	start_wait(j);
}

/* The readiness wait on j->wait_set (unless disableWait), then the post hooks. */
static void start_wait(struct hrjob *j)
{
	char *sel;
	int r;

	if (!wait_enabled(j)) {
		post_hooks(j);
		return;
	}
	sel = xasprintf(OWNER_PREFIX "/name=%s," OWNER_PREFIX "/namespace=%s", j->rc->obj->name,
			j->rc->obj->ns);
	if (!wait_jobs(j))
		drop_jobs(j->wait_set);
	/* The wait holds no thread: the slot goes to the next release meanwhile. */
	rc_park(j->rc);
	r = wait_ready(j->client, j->mapper, j->wait_set, sel, ms(action_timeout(j)), waited, j,
		       NULL);
	free(sel);
	if (r < 0) {
		rc_unpark(j->rc);
		action_failed(j, "cannot wait for the release's objects");
	}
}

/* ---- spec.rollback.recreate: Helm's recreate() after the rollback's update ---- */

/*
 * A label selector string from a workload's spec.selector (a map, or a
 * LabelSelector with matchLabels and matchExpressions), as Helm's
 * SelectorsForObject reads the kinds it knows; NULL for other kinds.
 */
static char *workload_selector(const cJSON *o)
{
	static const char *const kinds[] = { "ReplicationController", "ReplicaSet", "Deployment",
					     "DaemonSet", "StatefulSet", "Job", "Service" };
	const char *kind = yj_get_str(o, "/kind");
	const cJSON *sel = yj_get(o, "/spec/selector"), *m, *e;
	bool plain = streq_ptr(kind, "ReplicationController") || streq_ptr(kind, "Service");
	struct buf b = BUF_INIT(1u << 16);
	bool known = false;

	for (size_t i = 0; i < 7; i++)
		known |= streq_ptr(kind, kinds[i]);
	if (!known || !cJSON_IsObject(sel))
		return NULL;
	const cJSON *labels = plain ? sel : yj_get(sel, "/matchLabels");
	const cJSON *exprs = plain ? NULL : yj_get(sel, "/matchExpressions");

	cJSON_ArrayForEach(m, labels)
		if (cJSON_IsString(m))
			buf_addf(&b, "%s%s=%s", b.len ? "," : "", m->string, m->valuestring);
	cJSON_ArrayForEach(e, exprs)
	{
		const char *key = strempty(yj_get_str(e, "/key")), *op = yj_get_str(e, "/operator");
		const cJSON *v;
		bool first = true;

		if (b.len)
			buf_adds(&b, ",");
		if (streq_ptr(op, "Exists") || streq_ptr(op, "DoesNotExist")) {
			buf_addf(&b, "%s%s", streq(op, "Exists") ? "" : "!", key);
			continue;
		}
		buf_addf(&b, "%s %s (", key, streq_ptr(op, "NotIn") ? "notin" : "in");
		cJSON_ArrayForEach(v, yj_get(e, "/values"))
		{
			buf_addf(&b, "%s%s", first ? "" : ",", strempty(cJSON_GetStringValue(v)));
			first = false;
		}
		buf_adds(&b, ")");
	}
	if (!b.len) {
		buf_release(&b);
		return NULL; /* an empty selector would select every pod */
	}
	return buf_detach(&b, NULL);
}

static void recreate_next(struct hrjob *j);

static void recreate_deleted(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct hrjob *j = payload;

	(void)obj;
	/* As Helm: not critical to the rollback, so only logged. */
	if (r < 0 && r != -ENOENT)
		log_error(NULL, "Recreating pods failed", "controller", "helmrelease", "object",
			  j->rc->key, "error", err && err->msg[0] ? err->msg : op_strerror(r), NULL);
	recreate_next(j);
}

static void recreate_listed(int r, const cJSON *list, const struct op_err *err, void *payload)
{
	struct hrjob *j = payload;

	if (r < 0)
		log_error(NULL, "Recreating pods failed", "controller", "helmrelease", "object",
			  j->rc->key, "error", err && err->msg[0] ? err->msg : op_strerror(r), NULL);
	cJSON_Delete(j->rec_pods);
	j->rec_pods = r < 0 ? NULL :
			      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(list, "items"), 1);
	recreate_next(j);
}

/* Workload by workload: list its pods, then delete them one by one. */
static void recreate_next(struct hrjob *j)
{
	struct kube_ref ref = { .version = "v1", .resource = "pods" };
	struct kube_opts o = KUBE_OPTS_INIT;
	cJSON *w;

	if (cJSON_GetArraySize(j->rec_pods)) {
		cJSON *pod = cJSON_DetachItemFromArray(j->rec_pods, 0);
		int r;

		ref.ns = yj_get_str(pod, "/metadata/namespace");
		ref.name = yj_get_str(pod, "/metadata/name");
		r = kube_delete(j->client, &ref, NULL, recreate_deleted, j);
		cJSON_Delete(pod);
		if (r == 0)
			return;
	}
	w = cJSON_GetArraySize(j->rec) ? cJSON_DetachItemFromArray(j->rec, 0) : NULL;
	if (!w) {
		start_wait(j);
		return;
	}
	ref.ns = yj_get_str(w, "/ns");
	o.label_selector = yj_get_str(w, "/selector");
	if (kube_list(j->client, &ref, &o, recreate_listed, j) < 0) {
		cJSON_Delete(w);
		recreate_next(j);
		return;
	}
	cJSON_Delete(w);
}

/* The pods of what the rollback updated (not what it created), deleted to start anew. */
static void recreate_pods(struct hrjob *j)
{
	const cJSON *o;

	cJSON_Delete(j->rec);
	j->rec = cJSON_CreateArray();
	cJSON_ArrayForEach(o, j->objects)
	{
		char *sel = workload_selector(o);
		const cJSON *c;
		bool created = false;
		cJSON *w;

		if (!sel)
			continue;
		cJSON_ArrayForEach(c, j->created)
			created |= streq_ptr(yj_get_str(c, "/kind"), yj_get_str(o, "/kind")) &&
				   streq_ptr(yj_get_str(c, "/metadata/name"),
					     yj_get_str(o, "/metadata/name"));
		if (created) {
			free(sel);
			continue;
		}
		w = cJSON_CreateObject();
		cJSON_AddStringToObject(w, "ns", object_ns(j, o));
		cJSON_AddStringToObject(w, "selector", sel);
		cJSON_AddItemToArray(j->rec, w);
		free(sel);
	}
	cJSON_Delete(j->rec_pods);
	j->rec_pods = NULL;
	recreate_next(j);
}

/*
 * The inventory of what a release record's manifest holds, as apply.h
 * writes it: Helm prunes by the previous release's manifest, and the
 * HelmRelease CRD we serve (v1.4's) has no status.inventory.  A kind the
 * mapper has not seen yet is taken as namespaced.
 */
static void release_inventory(struct hrjob *j, const cJSON *rel, cJSON *inv)
{
	struct yj_stream s = { 0 };
	const char *m = yj_get_str(rel, "/manifest");
	cJSON *entries = cJSON_GetObjectItemCaseSensitive(inv, "entries");

	if (!m || yj_parse_stream(m, strlen(m), NULL, &s, NULL) < 0)
		return;
	for (size_t i = 0; i < s.n; i++) {
		const cJSON *d = s.docs[i];
		const char *av = yj_get_str(d, "/apiVersion"), *kind = yj_get_str(d, "/kind");
		const char *name = yj_get_str(d, "/metadata/name");
		const char *ns = yj_get_str(d, "/metadata/namespace"), *slash;
		const struct kube_mapping *mp;
		char *group, *id;
		cJSON *e;

		if (!av || !kind || !name)
			continue;
		mp = mapper_lookup(j->mapper, av, kind);
		if (mp && !mp->namespaced)
			ns = "";
		else if (!ns || !*ns)
			ns = j->target_ns;
		slash = strchr(av, '/');
		group = slash ? xstrndup(av, (size_t)(slash - av)) : xstrdup("");
		id = apply_inventory_id(ns, name, group, kind);
		e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "id", id);
		cJSON_AddStringToObject(e, "v", slash ? slash + 1 : av);
		cJSON_AddItemToArray(entries, e);
		free(id);
		free(group);
	}
	yj_stream_release(&s);
}

static cJSON *inventory_new(void)
{
	cJSON *inv = cJSON_CreateObject();

	cJSON_AddArrayToObject(inv, "entries");
	return inv;
}

static void start_apply(struct hrjob *j)
{
	struct apply_opts o = {
		.field_manager = FIELD_MANAGER,
		.owner_name = j->rc->obj->name,
		.owner_ns = j->rc->obj->ns,
		.owner_label_prefix = OWNER_PREFIX,
		.default_ns = j->target_ns,
		.prune = true,
		/* helm upgrade|rollback --force: recreate what cannot be patched */
		.force = (j->act == ACT_UPGRADE && (j->force || j->force_upgrade)) ||
			 (j->act == ACT_ROLLBACK && j->force_rollback),
		.stage_wait_ms = ms(action_timeout(j)),
	};

	if (!j->prev_inv) {
		j->prev_inv = inventory_new();
		if (j->deployed)
			release_inventory(j, j->deployed, j->prev_inv);
		if (j->last && j->last != j->deployed)
			release_inventory(j, j->last, j->prev_inv);
	}
	o.prev_inventory = j->prev_inv;

	j->t_action = uv_now(kube_client_loop(ctl_client(j->rc->ctl)));
	cJSON_Delete(j->created);
	j->created = NULL;
	if (apply_set(j->client, j->mapper, j->objects, &o, applied, j, NULL) < 0)
		action_failed(j, "cannot start the apply");
}

/* After a failed install or upgrade: remediation, or the terminal error. */
static void after_failure(struct hrjob *j);
static void cleanup_on_fail(struct hrjob *j);

static void action_failed(struct hrjob *j, const char *what)
{
	const char *verb = j->act == ACT_INSTALL ? "install" : j->act == ACT_UPGRADE ? "upgrade" :
										      "rollback";
	char *ref = release_ref(j, 0);
	char *desc;
	cJSON *st = j->rc->status;

	/* As helm-controller: the error trimmed (a hook's multierror ends in "\n\n"). */
	char *trimmed = str_trim_dup(what);

	free(j->errmsg);
	if (j->act == ACT_ROLLBACK)
		j->errmsg = xasprintf("Helm rollback to previous release %s.v%d with chart %s@%s "
				      "failed: %s", ref, rel_version(j->deployed), j->chart_name,
				      yj_get_str(j->rel, "/chart/metadata/version"), trimmed);
	else
		j->errmsg = xasprintf("Helm %s failed for release %s with chart %s@%s: %s", verb,
				      ref, j->chart_name, j->chart_version, trimmed);
	free(trimmed);
	free(ref);
	desc = xasprintf("%s \"%s\" failed: %s",
			 j->act == ACT_INSTALL ? "Release" : j->act == ACT_UPGRADE ? "Upgrade" :
										      "Rollback",
			 j->release, what);
	rel_set_status(j->rel, "failed", desc);
	free(desc);
	op_add(j, SOP_UPDATE, j->rel, true);
	history_put(j, j->rel);
	set_num(st, "failures", status_int(st, "failures") + 1);
	if (j->act == ACT_INSTALL)
		set_num(st, "installFailures", status_int(st, "installFailures") + 1);
	else if (j->act == ACT_UPGRADE)
		set_num(st, "upgradeFailures", status_int(st, "upgradeFailures") + 1);
	ops_start(j, cleanup_on_fail);
}

static void cleaned_up(struct apply_result *res, void *payload)
{
	struct hrjob *j = payload;

	/* As Helm's failRelease: a cleanup that fails wraps the action's error. */
	if (res->r < 0) {
		char *m = xasprintf("%s: an error occurred while cleaning up resources. original "
				    "%s error: unable to cleanup resources: %s", j->errmsg,
				    j->act == ACT_ROLLBACK ? "rollback" : "upgrade", res->err.msg);

		free(j->errmsg);
		j->errmsg = m;
	}
	cJSON_Delete(j->created);
	j->created = NULL;
	after_failure(j);
}

/*
 * spec.upgrade|rollback.cleanupOnFail: as Helm, what the failed action
 * created (objects that did not exist before it) is deleted, once the
 * record says failed.  A failure before the apply created nothing.
 */
static void cleanup_on_fail(struct hrjob *j)
{
	struct apply_opts o = {
		.field_manager = FIELD_MANAGER,
		.owner_name = j->rc->obj->name,
		.owner_ns = j->rc->obj->ns,
		.owner_label_prefix = OWNER_PREFIX,
		.prune = true,
	};
	bool on = j->act == ACT_UPGRADE ? j->cleanup_upgrade :
		  j->act == ACT_ROLLBACK ? j->cleanup_rollback : false;
	cJSON *inv, *none;
	const cJSON *c;
	int r;

	if (!on || !j->created) {
		after_failure(j);
		return;
	}
	inv = inventory_new();
	cJSON_ArrayForEach(c, j->created)
	{
		const char *av = strempty(yj_get_str(c, "/apiVersion")), *slash = strchr(av, '/');
		const char *ns = yj_get_str(c, "/metadata/namespace");
		const struct kube_mapping *mp = mapper_lookup(j->mapper, av,
							      strempty(yj_get_str(c, "/kind")));
		char *group = slash ? xstrndup(av, (size_t)(slash - av)) : xstrdup("");
		char *id = apply_inventory_id(mp && !mp->namespaced ? "" : ns ? ns : j->target_ns,
					      strempty(yj_get_str(c, "/metadata/name")), group,
					      strempty(yj_get_str(c, "/kind")));
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "id", id);
		cJSON_AddStringToObject(e, "v", slash ? slash + 1 : av);
		cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(inv, "entries"), e);
		free(id);
		free(group);
	}
	o.prev_inventory = inv;
	none = cJSON_CreateArray();
	r = apply_set(j->client, j->mapper, none, &o, cleaned_up, j, NULL);
	cJSON_Delete(none);
	cJSON_Delete(inv);
	if (r < 0)
		after_failure(j);
}

static void start_rollback(struct hrjob *j);
static void start_uninstall_remediation(struct hrjob *j);

static void after_failure(struct hrjob *j)
{
	struct rc *rc = j->rc;
	cJSON *st = rc->status;
	int64_t now = time_now_ns();
	const char *reason = j->act == ACT_INSTALL ? "InstallFailed" :
			     j->act == ACT_UPGRADE ? "UpgradeFailed" : "RollbackFailed";
	int failures = j->act == ACT_INSTALL ? status_int(st, "installFailures") :
					       status_int(st, "upgradeFailures");
	int retries = j->act == ACT_INSTALL ? j->install_retries : j->upgrade_retries;

	rc_event(rc, "Warning", reason, "%s", j->errmsg);
	log_error(NULL, "Release failed", "controller", "helmrelease", "object", rc->key,
		  "reason", reason, "error", j->errmsg, NULL);
	write_history(j);
	if (j->act == ACT_ROLLBACK) {
		cond_set(st, "Remediated", "False", reason, j->errmsg, rc_gen(rc), now);
		cond_set(st, COND_READY, "False", reason, j->errmsg, rc_gen(rc), now);
		rc_done(rc, ms(j->interval_ns));
		return;
	}
	cond_set(st, "Released", "False", reason, j->errmsg, rc_gen(rc), now);
	/* strategy RetryOnFailure: no remediation, the action again after retryInterval. */
	if (active_retry_ns(j, j->act == ACT_INSTALL)) {
		char d[DURATION_MAX], *m;
		int64_t t = active_retry_ns(j, j->act == ACT_INSTALL);

		duration_format(t, d);
		m = xasprintf("retrying after %s", d);
		cond_set(st, COND_READY, "False", reason, j->errmsg, rc_gen(rc), now);
		cond_mark_reconciling(st, "ProgressingWithRetry", m, rc_gen(rc), now);
		free(m);
		rc_done(rc, ms(t));
		return;
	}
	if (j->act == ACT_UPGRADE && !j->upgrade_uninstall && j->deployed &&
	    (retries < 0 || failures <= retries || j->remediate_last)) {
		start_rollback(j);
		return;
	}
	/*
	 * As helm-controller: a failed install is remediated by uninstalling
	 * it (and so is a failed upgrade under strategy uninstall) while
	 * retries last, or for the last failure when remediateLastFailure.
	 */
	if (((j->act == ACT_INSTALL && retries != 0 &&
	      (retries < 0 || failures <= retries || j->remediate_last_install)) ||
	     (j->act == ACT_UPGRADE && j->upgrade_uninstall &&
	      (retries < 0 || failures <= retries || j->remediate_last)))) {
		cond_set(st, COND_READY, "False", reason, j->errmsg, rc_gen(rc), now);
		start_uninstall_remediation(j);
		return;
	}
	cond_set(st, COND_READY, "False", reason, j->errmsg, rc_gen(rc), now);
	if (retries >= 0 && failures > retries) {
		char msg[128];

		snprintf(msg, sizeof(msg), "Failed to %s after %d attempt(s)",
			 j->act == ACT_INSTALL ? "install" : "upgrade", failures);
		cond_mark_stalled(st, "RetriesExceeded", msg, rc_gen(rc), now);
		rc_done(rc, 0);
		return;
	}
	rc_done(rc, ms(j->interval_ns));
}

/* The objects a manifest applies, with Helm's ownership metadata. */
static int manifest_objects(struct hrjob *j, const char *manifest, cJSON **ret,
			    struct op_err *err)
{
	struct yj_stream s = { 0 };
	cJSON *arr;
	int r;

	r = yj_parse_stream(manifest, strlen(manifest), NULL, &s, err);
	if (r < 0)
		return r;
	arr = cJSON_CreateArray();
	for (size_t i = 0; i < s.n; i++) {
		cJSON *d = s.docs[i];

		if (!cJSON_IsObject(d) || !cJSON_GetArraySize(d))
			continue;
		yj_set_meta(d, "labels", "app.kubernetes.io/managed-by", "Helm");
		yj_set_meta(d, "annotations", "meta.helm.sh/release-name", j->release);
		yj_set_meta(d, "annotations", "meta.helm.sh/release-namespace", j->target_ns);
		cJSON_AddItemToArray(arr, d);
		s.docs[i] = NULL;
	}
	yj_stream_release(&s);
	*ret = arr;
	return 0;
}

static void start_rollback(struct hrjob *j)
{
	const cJSON *prev = j->deployed;
	cJSON *rel = cJSON_Duplicate(prev, 1);
	int64_t now = time_now_ns();
	char t[RFC3339_MAX];
	struct op_err err = OP_ERR_INIT;
	int last = 0;
	const cJSON *it;

	j->truncate = true; /* as helm-controller, before it remediates */
	cJSON_ArrayForEach(it, j->history)
		if (rel_version(it) > last)
			last = rel_version(it);
	cJSON_Delete(j->prev_inv);
	j->prev_inv = inventory_new();
	if (j->rel)
		release_inventory(j, j->rel, j->prev_inv);
	j->act = ACT_ROLLBACK;
	j->version = last + 1;
	cJSON_ReplaceItemInObjectCaseSensitive(rel, "version", cJSON_CreateNumber(j->version));
	time_format_rfc3339_nano(now, t);
	cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(rel, "info"),
					       "last_deployed", cJSON_CreateString(t));
	{
		char *d = xasprintf("Rollback to %d", rel_version(prev));

		rel_set_status(rel, "pending-rollback", d);
		free(d);
	}
	cJSON_Delete(j->rel);
	j->rel = rel;
	cJSON_Delete(j->objects);
	j->objects = NULL;
	if (manifest_objects(j, yj_get_str(rel, "/manifest") ? yj_get_str(rel, "/manifest") : "",
			     &j->objects, &err) < 0) {
		action_failed(j, err.msg);
		return;
	}
	op_add(j, SOP_CREATE, j->rel, false);
	history_put(j, j->rel);
	ops_start(j, pre_hooks);
}

/* ---- in sync: drift detection (spec.driftDetection), as helm-controller ---- */

static void in_sync(struct hrjob *j)
{
	struct rc *rc = j->rc;
	const cJSON *c = cond_get(rc->status, COND_READY);
	char *ref = release_ref(j, rel_version(j->deployed)), *msg;

	if (c && streq_ptr(yj_get_str(c, "/status"), "True")) {
		cond_delete(rc->status, COND_STALLED);
		write_history(j);
		rc_done(rc, ms(j->interval_ns));
	} else {
		msg = xasprintf("Helm %s succeeded for release %s with chart %s@%s",
				rel_version(j->deployed) == 1 ? "install" : "upgrade", ref,
				j->chart_name, j->chart_version);
		ready(j, rel_version(j->deployed) == 1 ? "InstallSucceeded" : "UpgradeSucceeded",
		      msg);
		free(msg);
	}
	free(ref);
}

/* "Kind/ns/name" (or "Kind/name"), as apply_result.drift names objects. */
static char *object_name(const cJSON *o)
{
	const char *ns = yj_get_str(o, "/metadata/namespace");

	return ns && *ns ? xasprintf("%s/%s/%s", strempty(yj_get_str(o, "/kind")), ns,
				     strempty(yj_get_str(o, "/metadata/name"))) :
			   xasprintf("%s/%s", strempty(yj_get_str(o, "/kind")),
				     strempty(yj_get_str(o, "/metadata/name")));
}

/* helm.toolkit.fluxcd.io/driftDetection: disabled, as a label or an annotation. */
static bool drift_excluded(const cJSON *o)
{
	static const char *const where[] = { "/metadata/labels", "/metadata/annotations" };

	for (size_t i = 0; i < 2; i++) {
		const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
			yj_get(o, where[i]), OWNER_PREFIX "/driftDetection"));

		if (v && !strcasecmp(v, "disabled"))
			return true;
	}
	return false;
}

static const cJSON *drift_ignore(const cJSON *desired, void *payload);

static void drift_corrected(struct apply_result *res, void *payload)
{
	struct hrjob *j = payload;
	char *ref = release_ref(j, rel_version(j->deployed));
	bool any = j->drift_created[0] || j->drift_configured[0];

	if (res->r < 0)
		rc_event(j->rc, "Warning", "DriftCorrectionFailed",
			 "Failed to correct cluster state of release %s:\n%s", ref, res->err.msg);
	else if (any)
		rc_event(j->rc, "Normal", "DriftCorrected",
			 "Cluster state of release %s has been corrected:\n%s%s%s", ref,
			 j->drift_created,
			 j->drift_created[0] && j->drift_configured[0] ? "\n" : "",
			 j->drift_configured);
	free(ref);
	in_sync(j);
}

static int cmp_objects(const void *a, const void *b)
{
	return apply_cmp(*(const cJSON *const *)a, *(const cJSON *const *)b);
}

/* The correction's lines: what is created, then what is patched, each in Flux's order. */
static char *change_lines(cJSON *objs, const char *action)
{
	int n = cJSON_GetArraySize(objs);
	cJSON **v = xcalloc(n ? (size_t)n : 1, sizeof(*v));
	struct buf b = BUF_INIT(SIZE_MAX);
	char *out;

	for (int i = 0; i < n; i++)
		v[i] = cJSON_GetArrayItem(objs, i);
	qsort(v, (size_t)n, sizeof(*v), cmp_objects);
	for (int i = 0; i < n; i++) {
		char *name = object_name(v[i]);

		buf_addf(&b, "%s%s %s", i ? "\n" : "", name, action);
		free(name);
	}
	free(v);
	out = buf_detach(&b, NULL);
	return out ? out : xstrdup("");
}

static void drift_checked(struct apply_result *res, void *payload)
{
	struct hrjob *j = payload;
	struct buf sum = BUF_INIT(SIZE_MAX);
	cJSON *created = cJSON_CreateArray(), *patched = cJSON_CreateArray();
	const cJSON *o, *d;
	char *ref;

	if (res->r < 0) {
		/* helm-controller: the state is unknown; nothing is corrected. */
		log_error(NULL, "Drift detection failed", "controller", "helmrelease", "object",
			  j->rc->key, "error", res->err.msg, NULL);
		cJSON_Delete(created);
		cJSON_Delete(patched);
		in_sync(j);
		return;
	}
	/* The summary in the manifest's order, as jsondiff's set. */
	cJSON_ArrayForEach(o, j->drift_objects)
	{
		char *name = object_name(o);

		cJSON_ArrayForEach(d, res->drift)
		{
			if (!streq_ptr(yj_get_str(d, "/object"), name))
				continue;
			if (streq_ptr(yj_get_str(d, "/fields"), "absent")) {
				buf_addf(&sum, "%s%s removed", sum.len ? "\n" : "", name);
				cJSON_AddItemToArray(created, cJSON_Duplicate(o, 1));
			} else {
				buf_addf(&sum, "%s%s changed (%d additions, %d changes, %d removals)",
					 sum.len ? "\n" : "", name,
					 (int)cJSON_GetNumberValue(yj_get(d, "/added")),
					 (int)cJSON_GetNumberValue(yj_get(d, "/changed")),
					 (int)cJSON_GetNumberValue(yj_get(d, "/removed")));
				cJSON_AddItemToArray(patched, cJSON_Duplicate(o, 1));
			}
			break;
		}
		free(name);
	}
	if (!sum.len) {
		buf_release(&sum);
		cJSON_Delete(created);
		cJSON_Delete(patched);
		in_sync(j);
		return;
	}
	ref = release_ref(j, rel_version(j->deployed));
	rc_event(j->rc, "Warning", "DriftDetected",
		 "Cluster state of release %s has drifted from the desired state:\n%s", ref, sum.buf);
	free(ref);
	buf_release(&sum);
	if (!streq(j->drift_mode, "enabled")) {
		cJSON_Delete(created);
		cJSON_Delete(patched);
		in_sync(j);
		return;
	}
	/* Correct it: what is gone is created, what drifted is applied again. */
	{
		struct apply_opts ao = {
			.field_manager = FIELD_MANAGER,
			.owner_name = j->rc->obj->name,
			.owner_ns = j->rc->obj->ns,
			.owner_label_prefix = OWNER_PREFIX,
			.default_ns = j->target_ns,
			.force = false,
			.stage_wait_ms = ms(j->timeout_ns),
			/* ignored fields keep their live values, as jsondiff's patch leaves them */
			.drift_ignore = j->drift_rules ? drift_ignore : NULL,
			.drift_ignore_payload = j,
		};
		cJSON *all = cJSON_CreateArray();

		free(j->drift_created);
		free(j->drift_configured);
		j->drift_created = change_lines(created, "created");
		j->drift_configured = change_lines(patched, "configured");
		cJSON_ArrayForEach(o, created)
			cJSON_AddItemToArray(all, cJSON_Duplicate(o, 1));
		cJSON_ArrayForEach(o, patched)
			cJSON_AddItemToArray(all, cJSON_Duplicate(o, 1));
		cJSON_Delete(created);
		cJSON_Delete(patched);
		cJSON_Delete(j->drifted);
		j->drifted = all;
		if (apply_set(j->client, j->mapper, j->drifted, &ao, drift_corrected, j, NULL) < 0)
			in_sync(j);
	}
}

/* Compare the deployed release's objects with the cluster (a dry-run; nothing written). */
/*
 * spec.driftDetection.ignore for one of the release's objects: the paths
 * of every rule whose target selects it (no target: every object), as
 * helm-controller's jsondiff.IgnoreRules.
 */
static const cJSON *drift_ignore(const cJSON *desired, void *payload)
{
	struct hrjob *j = payload;
	const cJSON *rule, *p;

	cJSON_Delete(j->drift_ign);
	j->drift_ign = cJSON_CreateArray();
	cJSON_ArrayForEach(rule, j->drift_rules)
	{
		struct op_err err = OP_ERR_INIT;
		int r = kz_selects(yj_get(rule, "/target"), desired, &err);

		if (r < 0)
			log_error(NULL, "Drift ignore rule not applied", "controller", "helmrelease",
				  "object", j->rc->key, "error", err.msg, NULL);
		if (r != 1)
			continue;
		cJSON_ArrayForEach(p, yj_get(rule, "/paths"))
			if (cJSON_IsString(p))
				cJSON_AddItemToArray(j->drift_ign, cJSON_CreateString(p->valuestring));
	}
	return j->drift_ign;
}

static void start_drift(struct hrjob *j)
{
	struct apply_opts ao = {
		.field_manager = FIELD_MANAGER,
		.owner_name = j->rc->obj->name,
		.owner_ns = j->rc->obj->ns,
		.owner_label_prefix = OWNER_PREFIX,
		.default_ns = j->target_ns,
		.detect_only = true,
		.stage_wait_ms = ms(j->timeout_ns),
		.drift_ignore = j->drift_rules ? drift_ignore : NULL,
		.drift_ignore_payload = j,
	};
	struct op_err err = OP_ERR_INIT;
	cJSON *objs = NULL, *o, *next;

	if (manifest_objects(j, strempty(yj_get_str(j->deployed, "/manifest")), &objs, &err) < 0) {
		in_sync(j);
		return;
	}
	for (o = objs ? objs->child : NULL; o; o = next) {
		next = o->next;
		if (drift_excluded(o))
			cJSON_Delete(cJSON_DetachItemViaPointer(objs, o));
	}
	/* Namespaced objects without a namespace get the release's, for the names. */
	cJSON_ArrayForEach(o, objs)
	{
		const struct kube_mapping *mp = mapper_lookup(j->mapper,
							      strempty(yj_get_str(o, "/apiVersion")),
							      strempty(yj_get_str(o, "/kind")));
		cJSON *meta = cJSON_GetObjectItemCaseSensitive(o, "metadata");

		if (mp && mp->namespaced && !yj_get_str(o, "/metadata/namespace"))
			cJSON_AddStringToObject(meta, "namespace", j->target_ns);
	}
	cJSON_Delete(j->drift_objects);
	j->drift_objects = objs;
	if (apply_set(j->client, j->mapper, j->drift_objects, &ao, drift_checked, j, NULL) < 0)
		in_sync(j);
}

/* ---- the chart, on the thread pool ---- */

static int read_file(const char *path, char **ret, size_t *ret_len, struct op_err *err)
{
	FILE *f = fopen(path, "rbe");
	struct buf b = BUF_INIT(MAX_CHART_BYTES);
	char tmp[65536];
	size_t n;

	if (!f)
		return op_err_set(err, -errno, "cannot open the artifact: %s", op_strerror(errno));
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0) {
		if (buf_add(&b, tmp, n) < 0) {
			fclose(f);
			buf_release(&b);
			return op_err_set(err, -EFBIG, "the chart artifact is larger than %u bytes",
					  MAX_CHART_BYTES);
		}
	}
	fclose(f);
	*ret = buf_detach(&b, ret_len);
	return 0;
}

static int cmp_version(const void *a, const void *b)
{
	return rel_version(*(cJSON *const *)a) - rel_version(*(cJSON *const *)b);
}

/* Decode the release Secrets into j->history, ascending. */
static int decode_history(struct hrjob *j)
{
	size_t n = (size_t)cJSON_GetArraySize(j->secrets), k = 0;
	cJSON **v = xcalloc(n ? n : 1, sizeof(*v));
	const cJSON *sec;

	cJSON_ArrayForEach(sec, j->secrets)
	{
		cJSON *rel = NULL;

		if (helm_release_from_secret(sec, MAX_RELEASE_BYTES, &rel, &j->err) < 0)
			continue; /* not readable: Helm's own list skips it too */
		v[k++] = rel;
	}
	qsort(v, k, sizeof(*v), cmp_version);
	j->history = cJSON_CreateArray();
	for (size_t i = 0; i < k; i++)
		cJSON_AddItemToArray(j->history, v[i]);
	free(v);
	return 0;
}

static bool rel_pending(const cJSON *rel)
{
	return str_startswith(rel_status(rel), "pending-");
}

/* The action helm-controller's state machine picks; fills j->act and the reason. */
/*
 * As helm-controller's DetermineReleaseState: for a generation not yet
 * observed Ready, post-renderers or commonMetadata other than those the
 * release was made with (their observed digests) put it out of sync.
 */
static bool renderers_changed(const struct hrjob *j, const cJSON *st)
{
	const cJSON *og = yj_get(cond_get(st, COND_READY), "/observedGeneration");
	char d[72];

	if (!cond_get(st, COND_READY) || (cJSON_IsNumber(og) &&
					  (long)yj_to_int64(og->valuedouble) == (long)j->rc->obj->generation))
		return false;
	postrender_digest(j->post_renderers, d);
	if (!streq(d, yj_get_str(st, "/observedPostRenderersDigest") ?
			      yj_get_str(st, "/observedPostRenderersDigest") : ""))
		return true;
	postrender_metadata_digest(j->common_metadata, d);
	return !streq(d, yj_get_str(st, "/observedCommonMetadataDigest") ?
				 yj_get_str(st, "/observedCommonMetadataDigest") : "");
}

static void decide(struct hrjob *j)
{
	const cJSON *st = yj_get(j->rc->obj->json, "/status");
	int n = cJSON_GetArraySize(j->history);
	bool managed = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(st, "history")) > 0;
	const cJSON *rel;

	j->last = n ? cJSON_GetArrayItem(j->history, n - 1) : NULL;
	j->deployed = NULL;
	for (int i = n - 1; i >= 0; i--) {
		rel = cJSON_GetArrayItem(j->history, i);
		if (streq(rel_status(rel), "deployed")) {
			j->deployed = (cJSON *)rel;
			break;
		}
	}
	if (!j->last || streq(rel_status(j->last), "uninstalled")) {
		int f = status_int(st, "installFailures");

		if (f > 0 && j->install_retries >= 0 && f > j->install_retries) {
			j->act = ACT_STALL;
			j->reason = "RetriesExceeded";
			free(j->errmsg);
			j->errmsg = xasprintf("Failed to install after %d attempt(s)", f);
			return;
		}
		j->act = ACT_INSTALL;
		return;
	}
	if (rel_pending(j->last))
		j->unlock = true;
	if (j->unlock || streq(rel_status(j->last), "failed")) {
		bool install = streq_ptr(yj_get_str(st, "/lastAttemptedReleaseAction"), "install");
		int f = status_int(st, install ? "installFailures" : "upgradeFailures");
		int retries = install ? j->install_retries : j->upgrade_retries;

		/* As helm-controller: under RetryOnFailure a failed release is upgraded again. */
		if (yj_get_str(st, "/lastAttemptedReleaseAction") && active_retry_ns(j, install)) {
			j->act = ACT_UPGRADE;
			return;
		}

		if (f > 0 && retries >= 0 && f > retries) {
			j->act = ACT_STALL;
			j->reason = "RetriesExceeded";
			free(j->errmsg);
			j->errmsg = xasprintf("Failed to %s after %d attempt(s)",
					      install ? "install" : "upgrade", f);
			return;
		}
		j->act = j->deployed ? ACT_UPGRADE : ACT_INSTALL;
		return;
	}
	if (!managed || !j->deployed) {
		j->act = ACT_UPGRADE; /* adoption of a release we did not make */
		return;
	}
	if (!streq_ptr(yj_get_str(j->deployed, "/chart/metadata/name"), j->chart_name) ||
	    !streq_ptr(yj_get_str(j->deployed, "/chart/metadata/version"), j->chart_version) ||
	    !cJSON_Compare(yj_get(j->deployed, "/config") ? yj_get(j->deployed, "/config") :
							    j->values,
			   j->values, true) ||
	    renderers_changed(j, st)) {
		int f = status_int(st, "upgradeFailures");

		if (f > 0 && j->upgrade_retries >= 0 && f > j->upgrade_retries) {
			j->act = ACT_STALL;
			j->reason = "RetriesExceeded";
			free(j->errmsg);
			j->errmsg = xasprintf("Failed to upgrade after %d attempt(s)", f);
			return;
		}
		j->act = ACT_UPGRADE;
		return;
	}
	/* As helm-controller: a force request upgrades an in-sync release. */
	j->act = j->force ? ACT_UPGRADE : ACT_NONE;
	if (j->act == ACT_NONE && j->test) {
		const cJSON *th = status_test_hooks(j, rel_version(j->deployed));
		bool install = streq_ptr(yj_get_str(st, "/lastAttemptedReleaseAction"), "install");
		int f = status_int(st, install ? "installFailures" : "upgradeFailures");
		int retries = install ? j->install_retries : j->upgrade_retries;

		if (!th) {
			j->act = ACT_TEST; /* Untested */
		} else if (!test_failures_ignored(j, install) && test_failed(th) && retries >= 0 &&
			   f > retries) {
			j->act = ACT_STALL;
			j->reason = "RetriesExceeded";
			free(j->errmsg);
			j->errmsg = xasprintf("Failed to %s after %d attempt(s)",
					      install ? "install" : "upgrade", f);
		} else if (!test_failures_ignored(j, install) && test_failed(th)) {
			/* tested again: the failure stands until it passes; or retried by upgrade */
			j->act = active_retry_ns(j, install) ? ACT_UPGRADE : ACT_TEST;
		}
	}
}

/*
 * Helm's upgrade with ReuseValues (helm-controller's preserveValues): the
 * current release (the deployed one, else a failed or superseded last)
 * gives its values: the chart's defaults become the old chart's values
 * under the old config, and the new values are the spec's over the old
 * config.  NULL without a current release (the spec's values as they are).
 */
static cJSON *reuse_values(const struct hrjob *j, struct helm_chart *chart)
{
	const cJSON *cur = j->deployed, *cfg;
	cJSON *old, *vals;

	if (!cur && j->last &&
	    (streq(rel_status(j->last), "failed") || streq(rel_status(j->last), "superseded")))
		cur = j->last;
	if (!cur)
		return NULL;
	cfg = yj_get(cur, "/config");
	old = cJSON_IsObject(cfg) ? cJSON_Duplicate(cfg, 1) : cJSON_CreateObject();
	helm_values_coalesce(old, yj_get(cur, "/chart/values"));
	cJSON_Delete(chart->values);
	chart->values = old;
	vals = cJSON_Duplicate(j->values, 1);
	helm_values_coalesce(vals, cJSON_IsObject(cfg) ? cfg : NULL);
	return vals;
}

static void work(void *job)
{
	struct hrjob *j = job;
	static const struct helm_limits lim = HELM_LIMITS_DEFAULT;
	struct helm_chart *chart = NULL;
	struct helm_rendered *out = NULL;
	struct helm_error full = HELM_ERROR_INIT;
	char *data = NULL;
	size_t len = 0;
	int64_t now = time_now_ns();
	cJSON *reused = NULL; /* upgrade.preserveValues: the values the upgrade takes */
	const char *v;
	struct buf y = BUF_INIT(64u << 20);

	j->reason = "ArtifactFailed";
	j->r = read_file(j->artifact, &data, &len, &j->err);
	if (j->r < 0)
		return;
	j->r = helm_chart_load_archive(data, len, &lim, &chart, &j->err);
	free(data);
	if (j->r < 0)
		return;
	/* OCI digest tracking: <version>+<first 12 hex of the digest>, as Flux records it. */
	if (j->oci && j->digest && strchr(j->digest, ':')) {
		char *nv = xasprintf("%s+%.12s", chart->md.version, strchr(j->digest, ':') + 1);

		free(chart->md.version);
		chart->md.version = nv;
	}
	j->chart_name = xstrdup(chart->md.name);
	j->chart_version = xstrdup(chart->md.version);
	v = chart->md.app_version;
	j->app_version = xstrdup(v ? v : "");
	if (cJSON_GetArraySize(j->values) > 0)
		yj_emit_yaml_go(j->values, &y);
	memcpy(j->config_digest, "sha256:", 7);
	yj_sha256_hex(y.buf ? y.buf : "", y.len, j->config_digest + 7);
	buf_release(&y);
	decode_history(j);
	decide(j);
	if (j->act != ACT_INSTALL && j->act != ACT_UPGRADE)
		goto out;
	/* Helm's availableName: an uninstalled release kept in history is replaced only with replace. */
	if (j->act == ACT_INSTALL && j->last && streq(rel_status(j->last), "uninstalled") &&
	    !j->replace) {
		j->reason = "InstallFailed";
		j->r = -EEXIST;
		free(j->errmsg);
		j->errmsg = xstrdup("cannot re-use a name that is still in use");
		goto out;
	}
	{
		int last = j->last ? rel_version(j->last) : 0;
		struct helm_render_opts o = {
			.release_name = j->release,
			.ns = j->target_ns,
			.revision = last + 1,
			.is_upgrade = j->act == ACT_UPGRADE,
			/* As Helm: crds/ is created apart, never part of the release. */
			.crds_apart = !streq(j->act == ACT_INSTALL ? j->crds_install : j->crds_upgrade,
					     "Skip"),
			.lookup = j->lookup ? lookup_fn : NULL,
			.lookup_payload = j->lookup,
			.record = true,
			.skip_dependency_check = true,
			.skip_schema_validation = j->act == ACT_INSTALL ? j->schema_off_install :
									  j->schema_off_upgrade,
			.lim = &lim,
		};
		struct helm_release_info info = {
			.first_deployed = now,
			.last_deployed = now,
			.status = j->act == ACT_INSTALL ? "pending-install" : "pending-upgrade",
			.description = j->act == ACT_INSTALL ? "Initial install underway" :
							       "Preparing upgrade",
		};
		int64_t fd;

		j->version = last + 1;
		j->reason = j->act == ACT_INSTALL ? "InstallFailed" : "UpgradeFailed";
		if (j->act == ACT_UPGRADE && j->preserve_values)
			reused = reuse_values(j, chart);
		j->r = helm_render(chart, reused ? reused : j->values, &o, &out, &full, &j->err);
		if (j->r < 0) {
			free(j->errmsg);
			j->errmsg = full.msg ? xstrdup(full.msg) : xstrdup(j->err.msg);
			helm_error_release(&full);
			goto out;
		}
		if (j->deployed && time_parse_rfc3339(yj_get_str(j->deployed,
								 "/info/first_deployed") ?
							      yj_get_str(j->deployed,
									 "/info/first_deployed") :
							      "",
						      &fd) == 0)
			info.first_deployed = fd;
		{
			struct buf pm = BUF_INIT(64u << 20);
			struct postrender_in pin = {
				.manifest = out->manifest,
				.len = out->manifest_len,
				.post_renderers = j->post_renderers,
				.common_metadata = j->common_metadata,
				.name = j->rc->obj->name,
				.ns = j->rc->obj->ns,
				.tmp_root = j->h->tmp_root ? j->h->tmp_root : "/tmp",
			};

			j->r = postrender(&pin, &pm, &j->err);
			if (j->r < 0) {
				buf_release(&pm);
				free(j->errmsg);
				j->errmsg = xstrdup(j->err.msg);
				goto out;
			}
			free(out->manifest);
			out->manifest_len = pm.len;
			out->manifest = buf_detach(&pm, NULL);
			if (!out->manifest)
				out->manifest = xstrdup("");
		}
		info.notes = out->notes;
		if (out->crds) {
			struct yj_stream cs = { 0 };

			j->r = yj_parse_stream(out->crds, strlen(out->crds), NULL, &cs, &j->err);
			if (j->r < 0) {
				free(j->errmsg);
				j->errmsg = xasprintf("failed to read the chart's CRDs: %s", j->err.msg);
				goto out;
			}
			j->crds = cJSON_CreateArray();
			for (size_t i = 0; i < cs.n; i++) {
				if (cJSON_IsObject(cs.docs[i]) && cJSON_GetArraySize(cs.docs[i])) {
					cJSON_AddItemToArray(j->crds, cs.docs[i]);
					cs.docs[i] = NULL;
				}
			}
			yj_stream_release(&cs);
		}
		j->rel = helm_release_new(j->release, j->target_ns, j->version, out,
					  reused ? reused : j->values, &info);
		j->r = manifest_objects(j, out->manifest, &j->objects, &j->err);
		if (j->r < 0) {
			free(j->errmsg);
			j->errmsg = xstrdup(j->err.msg);
		}
	}
out:
	cJSON_Delete(reused);
	helm_rendered_free(out);
	helm_chart_free(chart);
}

/*
 * As helm-controller's ReleaseTargetChanged: the release the status last
 * recorded (storage namespace, release namespace and name, chart name)
 * is not the one the spec now names.
 */
static bool target_changed(const struct hrjob *j)
{
	const cJSON *st = yj_get(j->rc->obj->json, "/status");
	const cJSON *cur = yj_get(st, "/history/0");
	const char *sns = yj_get_str(st, "/storageNamespace");

	if (!sns || !*sns || !cur)
		return false;
	return !streq(sns, j->storage_ns) ||
	       !streq_ptr(yj_get_str(cur, "/namespace"), j->target_ns) ||
	       !streq_ptr(yj_get_str(cur, "/name"), j->release) ||
	       !streq_ptr(yj_get_str(cur, "/chartName"), j->chart_name);
}

static void uninstall(struct hrjob *j);

/* The old target is uninstalled: its history forgotten, the new one installed next. */
static void target_uninstalled(struct hrjob *j)
{
	struct rc *rc = j->rc;

	rc_event(rc, "Normal", "UninstallSucceeded",
		 "Helm uninstall succeeded for release %s/%s: the release target changed",
		 j->storage_ns, j->release);
	cJSON_DeleteItemFromObjectCaseSensitive(rc->status, "history");
	cJSON_DeleteItemFromObjectCaseSensitive(rc->status, "failures");
	cJSON_DeleteItemFromObjectCaseSensitive(rc->status, "installFailures");
	cJSON_DeleteItemFromObjectCaseSensitive(rc->status, "upgradeFailures");
	cJSON_DeleteItemFromObjectCaseSensitive(rc->status, "storageNamespace");
	rc_done(rc, 1);
}

static void start_target_uninstall(struct hrjob *j)
{
	const cJSON *st = yj_get(j->rc->obj->json, "/status");

	free(j->release);
	free(j->target_ns);
	free(j->storage_ns);
	j->release = xstrdup(yj_get_str(st, "/history/0/name"));
	j->target_ns = xstrdup(yj_get_str(st, "/history/0/namespace") ?
				       yj_get_str(st, "/history/0/namespace") : j->rc->obj->ns);
	j->storage_ns = xstrdup(yj_get_str(st, "/storageNamespace"));
	j->uninstalled = target_uninstalled;
	uninstall(j);
}

/* ---- spec.<action>.disableTakeOwnership: Helm's existingResourceConflict ---- */

static void release_action(struct hrjob *j);
static void own_next(struct hrjob *j);

/* Helm's resourceString(): Kind "name" in namespace "ns". */
static char *resource_string(const cJSON *o, const char *ns)
{
	return xasprintf("%s \"%s\" in namespace \"%s\"", strempty(yj_get_str(o, "/kind")),
			 strempty(yj_get_str(o, "/metadata/name")), ns);
}

/* Helm's checkOwnership: NULL, or what is wrong ("invalid ownership metadata; ..."). */
static char *ownership_error(const struct hrjob *j, const cJSON *live)
{
	static const char *const what[] = { "label", "annotation", "annotation" };
	static const char *const where[] = { "/metadata/labels", "/metadata/annotations",
					     "/metadata/annotations" };
	static const char *const key[] = { "app.kubernetes.io/managed-by",
					   "meta.helm.sh/release-name",
					   "meta.helm.sh/release-namespace" };
	const char *want[] = { "Helm", j->release, j->target_ns };
	char *out = NULL;

	for (size_t i = 0; i < 3; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(yj_get(live, where[i]), key[i]);
		const char *have = cJSON_GetStringValue(v);
		char *e, *all;

		if (have && streq(have, want[i]))
			continue;
		if (!have)
			e = xasprintf("%s validation error: missing key \"%s\": must be set to \"%s\"",
				      what[i], key[i], want[i]);
		else
			e = xasprintf("%s validation error: key \"%s\" must equal \"%s\": current "
				      "value is \"%s\"", what[i], key[i], want[i], have);
		all = xasprintf("%s; %s", out ? out : "invalid ownership metadata", e);
		free(e);
		free(out);
		out = all;
	}
	return out;
}

static void own_failed(struct hrjob *j, char *msg)
{
	j->r = -EEXIST;
	free(j->errmsg);
	j->errmsg = xasprintf("Unable to continue with %s: %s",
			      j->act == ACT_INSTALL ? "install" : "update", msg);
	free(msg);
	release_action(j);
}

static const char *object_ns(const struct hrjob *j, const cJSON *o)
{
	const struct kube_mapping *mp = mapper_lookup(j->mapper,
						      strempty(yj_get_str(o, "/apiVersion")),
						      strempty(yj_get_str(o, "/kind")));
	const char *ns = yj_get_str(o, "/metadata/namespace");

	return mp && !mp->namespaced ? "" : ns && *ns ? ns : j->target_ns;
}

static void own_got(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct hrjob *j = payload;
	const cJSON *o = cJSON_GetArrayItem(j->objects, j->owni - 1);
	char *what, *why;

	if (r == -ENOENT) {
		own_next(j);
		return;
	}
	what = resource_string(o, object_ns(j, o));
	if (r < 0) {
		why = xasprintf("could not get information about the resource %s: %s", what,
				err && err->msg[0] ? err->msg : op_strerror(r));
		free(what);
		own_failed(j, why);
		return;
	}
	why = ownership_error(j, obj);
	if (why) {
		char *m = xasprintf("%s exists and cannot be imported into the current release: %s",
				    what, why);

		free(why);
		free(what);
		own_failed(j, m);
		return;
	}
	free(what);
	own_next(j);
}

/* One object after the other, in the release's order; the first conflict fails the action. */
static void own_next(struct hrjob *j)
{
	const cJSON *o;

	while ((o = cJSON_GetArrayItem(j->objects, j->owni++))) {
		const char *av = strempty(yj_get_str(o, "/apiVersion")), *slash = strchr(av, '/');
		const char *kind = strempty(yj_get_str(o, "/kind")), *ns = object_ns(j, o);
		const struct kube_mapping *mp = mapper_lookup(j->mapper, av, kind);
		struct kube_ref ref = { 0 };
		char *group, *id;
		bool had;

		/* A kind the cluster does not know yet cannot exist: nothing to take over. */
		if (!mp)
			continue;
		group = slash ? xstrndup(av, (size_t)(slash - av)) : xstrdup("");
		id = apply_inventory_id(ns, strempty(yj_get_str(o, "/metadata/name")), group, kind);
		had = false;
		if (j->own_prev) {
			const cJSON *e;

			cJSON_ArrayForEach(e, yj_get(j->own_prev, "/entries"))
				had |= streq_ptr(yj_get_str(e, "/id"), id);
		}
		free(id);
		free(group);
		if (had)
			continue; /* an upgrade checks only what it creates */
		ref.group = mp->group;
		ref.version = mp->version;
		ref.resource = mp->resource;
		ref.ns = mp->namespaced ? ns : NULL;
		ref.name = strempty(yj_get_str(o, "/metadata/name"));
		if (kube_get(j->client, &ref, NULL, own_got, j) == 0)
			return;
		own_failed(j, xstrdup("cannot get the release's objects"));
		return;
	}
	release_action(j);
}

static void own_check(struct hrjob *j)
{
	cJSON_Delete(j->own_prev);
	j->own_prev = NULL;
	if (j->act == ACT_UPGRADE && j->deployed) {
		j->own_prev = inventory_new();
		release_inventory(j, j->deployed, j->own_prev);
	}
	j->owni = 0;
	own_next(j);
}

static void work_done(struct rc *rc, int status)
{
	struct hrjob *j = rc->job;

	if (status < 0) {
		fail(j, "ArtifactFailed", "the chart work was cancelled", false, 0);
		return;
	}
	if (j->r < 0 && (streq(j->reason, "ArtifactFailed") ||
			 streq(j->reason, "UnsupportedField"))) {
		const char *msg = j->errmsg ? j->errmsg : j->err.msg;

		if (streq(j->reason, "UnsupportedField")) {
			attempted(j, j->act == ACT_INSTALL ? "install" : "upgrade");
			fail(j, j->reason, msg, true, 0);
			return;
		}
		fail(j, j->reason, msg, false, 0);
		return;
	}
	if (target_changed(j)) {
		start_target_uninstall(j);
		return;
	}
	/* Flux resets the failure counters when the generation, chart or values change. */
	{
		const cJSON *st = yj_get(rc->obj->json, "/status");
		const char *lar = yj_get_str(st, "/lastAttemptedRevision");
		const char *lcd = yj_get_str(st, "/lastAttemptedConfigDigest");
		long lag = (long)cJSON_GetNumberValue(yj_get(st, "/lastAttemptedGeneration"));
		/* resetAt is looked at first, so its lastHandled moves even with other causes */
		bool reset = handle_request(rc, "reconcile.fluxcd.io/resetAt", "/lastHandledResetAt");

		if (reset || (lar && (!streq(lar, j->chart_version) ||
				      !streq_ptr(lcd, j->config_digest) || lag != rc_gen(rc)))) {
			cJSON_DeleteItemFromObjectCaseSensitive(rc->status, "failures");
			cJSON_DeleteItemFromObjectCaseSensitive(rc->status, "installFailures");
			cJSON_DeleteItemFromObjectCaseSensitive(rc->status, "upgradeFailures");
			if (j->act == ACT_STALL) {
				/* Those were the previous attempt's: try again. */
				j->act = j->deployed ? ACT_UPGRADE : ACT_INSTALL;
				rc_done(rc, 1);
				return;
			}
		}
	}
	if (j->act == ACT_STALL) {
		cond_mark_stalled(rc->status, j->reason, j->errmsg, rc_gen(rc), time_now_ns());
		write_history(j);
		rc_done(rc, 0);
		return;
	}
	if (j->act == ACT_TEST) {
		attempted(j, NULL);
		j->truncate = true; /* in sync */
		cJSON_Delete(j->rel);
		j->rel = cJSON_Duplicate(j->deployed, 1);
		j->tested_after = ACT_NONE;
		start_test(j);
		return;
	}
	if (j->act == ACT_NONE) {
		j->truncate = true;
		attempted(j, NULL);
		if (j->drift_mode)
			start_drift(j);
		else
			in_sync(j);
		return;
	}
	attempted(j, j->act == ACT_INSTALL ? "install" : "upgrade");
	if (j->unlock) {
		char *d = xasprintf("Release unlocked from stale '%s' state", rel_status(j->last));

		rel_set_status(j->last, "failed", d);
		free(d);
		op_add(j, SOP_UPDATE, j->last, true);
	}
	if (j->r == 0 && (j->act == ACT_INSTALL ? j->own_off_install : j->own_off_upgrade)) {
		own_check(j);
		return;
	}
	release_action(j);
}

static void retry_later(struct hrjob *j)
{
	rc_retry(j->rc);
}

/*
 * The action from its rendered record: a render that failed is a failed
 * attempt without a record (as Helm's), else the record is created and
 * the pre hooks come.
 */
static void release_action(struct hrjob *j)
{
	struct rc *rc = j->rc;
	cJSON *rel;

	if (j->r < 0) {
		/*
		 * A failure before any record (the render, an ownership
		 * conflict), as helm-controller takes it: counted in failures
		 * only (nothing in storage, so nothing to remediate), Reconciling
		 * left as the action's "Running ..." and the action tried again
		 * after the backoff.
		 */
		const char *verb = j->act == ACT_INSTALL ? "install" : "upgrade";
		const char *reason = j->act == ACT_INSTALL ? "InstallFailed" : "UpgradeFailed";
		char *ref = release_ref(j, 0), *msg, *running, d[DURATION_MAX];
		int64_t now = time_now_ns();

		cJSON_Delete(j->rel);
		j->rel = NULL;
		msg = xasprintf("Helm %s failed for release %s with chart %s@%s: %s", verb, ref,
				j->chart_name, j->chart_version,
				j->errmsg ? j->errmsg : j->err.msg);
		free(ref);
		free(j->errmsg);
		j->errmsg = msg;
		set_num(rc->status, "failures", status_int(rc->status, "failures") + 1);
		duration_format(action_timeout(j), d);
		running = xasprintf("Running '%s' action with timeout of %s", verb, d);
		cond_mark_reconciling(rc->status, "Progressing", running, rc_gen(rc), now);
		free(running);
		cond_set(rc->status, "Released", "False", reason, msg, rc_gen(rc), now);
		cond_set(rc->status, COND_READY, "False", reason, msg, rc_gen(rc), now);
		rc_event(rc, "Warning", reason, "%s", msg);
		log_error(NULL, "Release failed", "controller", "helmrelease", "object", rc->key,
			  "reason", reason, "error", msg, NULL);
		write_history(j);
		ops_start(j, retry_later);
		return;
	}
	/* Helm's history limit, applied when the new record is created (upgrades). */
	if (j->act == ACT_UPGRADE && j->max_history > 0) {
		int n = cJSON_GetArraySize(j->history), excess = n - (j->max_history - 1);

		cJSON_ArrayForEach(rel, j->history)
		{
			if (excess <= 0)
				break;
			if (rel == j->deployed || rel == j->last)
				continue;
			op_add(j, SOP_DELETE, rel, false);
			excess--;
		}
	}
	/* Helm's install with replace supersedes the last record, unless that one failed. */
	if (j->act == ACT_INSTALL && j->replace && j->last && !streq(rel_status(j->last), "failed")) {
		rel_set_status(j->last, "superseded", "superseded by new release");
		op_add(j, SOP_UPDATE, j->last, true);
	}
	op_add(j, SOP_CREATE, j->rel, false);
	history_put(j, j->rel);
	/* history_put() copied the record: j->deployed and j->last still point into history. */
	ops_start(j, pre_hooks);
}

/* ---- releases in storage ---- */

static void got_releases(int r, const cJSON *list, const struct op_err *err, void *payload)
{
	struct hrjob *j = payload;
	char msg[600];

	if (r < 0) {
		snprintf(msg, sizeof(msg), "cannot list the release records in '%s': %s",
			 j->storage_ns, err && err->msg[0] ? err->msg : op_strerror(r));
		fail(j, "StorageFailed", msg, false, 0);
		return;
	}
	j->secrets = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(list, "items"), 1);
	if (!j->secrets)
		j->secrets = cJSON_CreateArray();
	j->force = handle_request(j->rc, "reconcile.fluxcd.io/forceAt", "/lastHandledForceAt");
	if (!j->lookup)
		j->lookup = lookup_new(kube_client_loop(j->client), j->client, j->mapper);
	if (rc_work(j->rc, work, work_done) < 0)
		fail(j, "ArtifactFailed", "cannot queue the chart work", false, 0);
}

static void list_releases(struct hrjob *j)
{
	struct kube_ref ref = { .version = "v1", .resource = "secrets", .ns = j->storage_ns };
	struct kube_opts o = KUBE_OPTS_INIT;
	char *sel = xasprintf("owner=helm,name=%s", j->release);

	o.label_selector = sel;
	if (kube_list(j->client, &ref, &o, got_releases, j) < 0)
		fail(j, "StorageFailed", "cannot list the release records", false, 0);
	free(sel);
}

/* ---- values ---- */

static void next_values(struct hrjob *j);
static const char *applier_sa(const struct hrjob *j);

/* A valuesFrom entry's targetPath: set as Helm's --set parser (quoted: --set-string). */
static int set_target(struct hrjob *j, const char *path, const char *val, size_t n,
		      struct op_err *err)
{
	bool quoted = n >= 2 && ((val[0] == '"' && val[n - 1] == '"') ||
				 (val[0] == '\'' && val[n - 1] == '\''));
	char *expr = quoted ? xasprintf("%s=%.*s", path, (int)(n - 2), val + 1) :
			      xasprintf("%s=%.*s", path, (int)n, val);
	const cJSON *inline_values = yj_get(j->rc->obj->json, "/spec/values");
	int r;

	if (cJSON_IsObject(inline_values))
		helm_values_merge(j->values, inline_values);
	r = helm_strvals_parse(j->values, expr, quoted ? HELM_SET_STRING : HELM_SET, NULL, NULL,
			       err);
	free(expr);
	return r;
}

static void got_values(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct hrjob *j = payload;
	const cJSON *ref = cJSON_GetArrayItem(yj_get(j->rc->obj->json, "/spec/valuesFrom"), j->vi);
	const char *kind = yj_get_str(ref, "/kind"), *name = yj_get_str(ref, "/name");
	const char *key = yj_get_str(ref, "/valuesKey"), *tp = yj_get_str(ref, "/targetPath");
	bool optional = cJSON_IsTrue(yj_get(ref, "/optional")), secret = streq_ptr(kind, "Secret");
	const cJSON *data;
	struct op_err e = OP_ERR_INIT;
	char msg[1024], *val = NULL;
	size_t n = 0;

	if (!key || !*key)
		key = "values.yaml";
	if (r < 0) {
		if (r == -ENOENT && optional) {
			j->vi++;
			next_values(j);
			return;
		}
		snprintf(msg, sizeof(msg), "could not resolve %s chart values reference '%s/%s' "
			 "with key '%s': %s", kind, j->rc->obj->ns, name, key,
			 err && err->msg[0] ? err->msg : op_strerror(r));
		fail(j, "InitFailed", msg, false, 0);
		return;
	}
	data = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "data"), key);
	if (!cJSON_IsString(data)) {
		if (optional) {
			j->vi++;
			next_values(j);
			return;
		}
		snprintf(msg, sizeof(msg), "could not resolve %s chart values reference '%s/%s' "
			 "with key '%s': missing key", kind, j->rc->obj->ns, name, key);
		fail(j, "InitFailed", msg, false, 0);
		return;
	}
	if (secret) {
		if (b64_decode(data->valuestring, &val, &n) < 0) {
			snprintf(msg, sizeof(msg), "Secret '%s/%s' key '%s' is not base64",
				 j->rc->obj->ns, name, key);
			fail(j, "InitFailed", msg, false, 0);
			return;
		}
	} else {
		val = xstrdup(data->valuestring);
		n = strlen(val);
	}
	if (tp && *tp) {
		r = set_target(j, tp, val, n, &e);
	} else {
		cJSON *v = NULL;

		r = helm_values_read(val, n, &v, &e);
		if (r == 0)
			helm_values_merge(j->values, v);
		cJSON_Delete(v);
	}
	free(val);
	if (r < 0) {
		/* The message names the reference, never the value (it may be a secret). */
		snprintf(msg, sizeof(msg), "unable to read values from %s '%s/%s' key '%s'%s%s",
			 kind, j->rc->obj->ns, name, key, secret ? "" : ": ", secret ? "" : e.msg);
		fail(j, "InitFailed", msg, false, 0);
		return;
	}
	j->vi++;
	next_values(j);
}

static void next_values(struct hrjob *j)
{
	const cJSON *ref = cJSON_GetArrayItem(yj_get(j->rc->obj->json, "/spec/valuesFrom"), j->vi);
	const cJSON *inline_values = yj_get(j->rc->obj->json, "/spec/values");

	if (ref) {
		const char *kind = yj_get_str(ref, "/kind"), *name = yj_get_str(ref, "/name");
		struct kube_ref kr = { .version = "v1", .ns = j->rc->obj->ns, .name = name };

		if (!name || !kind || (!streq(kind, "Secret") && !streq(kind, "ConfigMap"))) {
			fail(j, "InitFailed", "spec.valuesFrom entries need kind ConfigMap or Secret "
			     "and a name", true, 0);
			return;
		}
		kr.resource = streq(kind, "Secret") ? "secrets" : "configmaps";
		/*
		 * In this cluster, as helm-controller reads them even when releasing
		 * elsewhere (spec.kubeConfig); as the applier, since the chart gives
		 * the operator itself no right to read ConfigMaps.
		 */
		if (j->remote && !j->local &&
		    ctl_applier_client(j->rc->ctl, j->rc->obj->ns, applier_sa(j), &j->local) < 0) {
			fail(j, "InitFailed", "cannot impersonate the service account", false, 0);
			return;
		}
		if (kube_get(j->remote ? j->local : j->client, &kr, NULL, got_values, j) < 0)
			fail(j, "InitFailed", "cannot read spec.valuesFrom", false, 0);
		return;
	}
	if (cJSON_IsObject(inline_values))
		helm_values_merge(j->values, inline_values);
	list_releases(j);
}

static void start_values(struct rc *rc)
{
	struct hrjob *j = rc->job;

	j->values = cJSON_CreateObject();
	j->vi = 0;
	next_values(j);
}

/* ---- the chart's source ---- */

static void got_source(int r, const cJSON *src, const struct op_err *err, void *payload)
{
	struct hrjob *j = payload;
	struct rc *rc = j->rc;
	const char *path = yj_get_str(src, "/status/artifact/path");
	const char *kind = yj_get_str(src, "/kind"), *name = yj_get_str(src, "/metadata/name");
	char msg[800], wait[DURATION_MAX];

	duration_format((int64_t)j->h->requeue_dependency_ms * NSEC_PER_MSEC, wait);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "could not get the chart source: %s",
			 err && err->msg[0] ? err->msg : op_strerror(r));
		fail(j, "ArtifactFailed", msg, false, r == -ENOENT ? j->h->requeue_dependency_ms : 0);
		return;
	}
	if (!path || !yj_get_str(src, "/status/artifact/digest") ||
	    !storage_has(j->h->storage, path)) {
		snprintf(msg, sizeof(msg), "HelmChart '%s/%s' is not ready: no artifact, retrying "
			 "in %s", yj_get_str(src, "/metadata/namespace"), name ? name : "", wait);
		if (kind && !streq(kind, "HelmChart"))
			snprintf(msg, sizeof(msg), "%s '%s/%s' is not ready: no artifact, retrying "
				 "in %s", kind, yj_get_str(src, "/metadata/namespace"),
				 name ? name : "", wait);
		fail(j, "ArtifactFailed", msg, false, j->h->requeue_dependency_ms);
		return;
	}
	j->artifact = storage_abs(j->h->storage, path);
	j->digest = xstrdup(yj_get_str(src, "/status/artifact/digest"));
	j->src_revision = yj_get_str(src, "/status/artifact/revision") ?
				  xstrdup(yj_get_str(src, "/status/artifact/revision")) :
				  NULL;
	j->oci = streq_ptr(kind, "OCIRepository");
	if (j->oci && j->src_revision) {
		/*
		 * As helm-controller's mutateChartWithSourceRevision: the digest
		 * is the revision's ("<tag>@sha256:<manifest>"), not the artifact's.
		 */
		const char *at = strrchr(j->src_revision, '@');

		free(j->digest);
		j->digest = xstrdup(at ? at + 1 : j->src_revision);
	}
	rc_progress(rc, "Reconciliation in progress", "Progressing",
		    "Fresh generation of HelmRelease or chart source changed", start_values);
}

/* chart.spec: the HelmChart <ns>-<name>, applied as helm-controller owns it. */
static void apply_helmchart(struct hrjob *j)
{
	const cJSON *cs = yj_get(j->rc->obj->json, "/spec/chart/spec");
	const char *sns = yj_get_str(cs, "/sourceRef/namespace");
	char *name = xasprintf("%s-%s", j->rc->obj->ns, j->rc->obj->name);
	cJSON *hc = cJSON_CreateObject(), *spec, *m;
	struct kube_ref ref = { .group = "source.toolkit.fluxcd.io", .version = "v1",
				.resource = "helmcharts", .name = name };
	struct kube_opts o = KUBE_OPTS_INIT;
	static const char *const keep[] = { "chart", "version", "interval", "reconcileStrategy",
					    "valuesFiles", "ignoreMissingValuesFiles", "verify" };

	if (!sns || !*sns)
		sns = j->rc->obj->ns;
	ref.ns = sns;
	cJSON_AddStringToObject(hc, "apiVersion", "source.toolkit.fluxcd.io/v1");
	cJSON_AddStringToObject(hc, "kind", "HelmChart");
	m = cJSON_AddObjectToObject(hc, "metadata");
	cJSON_AddStringToObject(m, "name", name);
	cJSON_AddStringToObject(m, "namespace", sns);
	yj_set_meta(hc, "labels", OWNER_PREFIX "/name", j->rc->obj->name);
	yj_set_meta(hc, "labels", OWNER_PREFIX "/namespace", j->rc->obj->ns);
	spec = cJSON_AddObjectToObject(hc, "spec");
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(cs, keep[i]);

		if (v)
			cJSON_AddItemToObject(spec, keep[i], cJSON_Duplicate(v, 1));
	}
	if (!cJSON_GetObjectItemCaseSensitive(spec, "interval"))
		cJSON_AddStringToObject(spec, "interval",
					yj_get_str(j->rc->obj->json, "/spec/interval"));
	{
		cJSON *sr = cJSON_AddObjectToObject(spec, "sourceRef");

		cJSON_AddStringToObject(sr, "kind", yj_get_str(cs, "/sourceRef/kind") ?
							    yj_get_str(cs, "/sourceRef/kind") : "");
		cJSON_AddStringToObject(sr, "name", yj_get_str(cs, "/sourceRef/name") ?
							    yj_get_str(cs, "/sourceRef/name") : "");
	}
	j->helmchart = xasprintf("%s/%s", sns, name);
	o.field_manager = FIELD_MANAGER;
	o.force = true;
	if (kube_apply(ctl_client(j->rc->ctl), &ref, hc, &o, got_source, j) < 0)
		fail(j, "ArtifactFailed", "cannot apply the HelmChart", false, 0);
	cJSON_Delete(hc);
	free(name);
}

static void get_source(struct hrjob *j)
{
	const cJSON *ref = yj_get(j->rc->obj->json, "/spec/chartRef");
	const char *kind = yj_get_str(ref, "/kind"), *name = yj_get_str(ref, "/name");
	const char *ns = yj_get_str(ref, "/namespace");
	struct kube_ref kr = { .group = "source.toolkit.fluxcd.io", .version = "v1" };
	char msg[600];

	if (!ref) {
		if (!yj_get_str(j->rc->obj->json, "/spec/chart/spec/chart") ||
		    !yj_get_str(j->rc->obj->json, "/spec/chart/spec/sourceRef/name")) {
			fail(j, "InvalidChartReference",
			     "one of spec.chartRef or spec.chart.spec (chart, sourceRef) is needed",
			     true, 0);
			return;
		}
		apply_helmchart(j);
		return;
	}
	if (yj_get(j->rc->obj->json, "/spec/chart")) {
		fail(j, "InvalidChartReference", "spec.chart and spec.chartRef are exclusive", true,
		     0);
		return;
	}
	if (!name || !kind) {
		fail(j, "InvalidChartReference", "spec.chartRef needs kind and name", true, 0);
		return;
	}
	if (streq(kind, "OCIRepository")) {
		kr.resource = "ocirepositories";
	} else if (streq(kind, "HelmChart")) {
		kr.resource = "helmcharts";
	} else {
		snprintf(msg, sizeof(msg), "spec.chartRef.kind '%s' is not supported", kind);
		fail(j, "InvalidChartReference", msg, true, 0);
		return;
	}
	if (!ns || !*ns)
		ns = j->rc->obj->ns;
	if (j->h->no_cross_ns && !streq(ns, j->rc->obj->ns)) {
		snprintf(msg, sizeof(msg), "cross-namespace references are not allowed: "
			 "cannot access %s %s/%s", kind, ns, name);
		fail(j, "AccessDenied", msg, true, 0);
		return;
	}
	kr.ns = ns;
	kr.name = name;
	/*
	 * From the source's informer, as helm-controller reads its cache; a
	 * source not there (not yet seen, or in a namespace not watched) is
	 * asked of the apiserver, whose answer is the authority.
	 */
	{
		struct ctl *sctl = mgr_ctl_kind(ctl_mgr(j->rc->ctl), kind);
		char *key = kobj_make_key(ns, name);
		struct kobj *src = sctl && informer_synced(ctl_informer(sctl)) ?
					   informer_get(ctl_informer(sctl), key) : NULL;

		free(key);
		if (src) {
			got_source(0, src->json, NULL, j);
			return;
		}
	}
	if (kube_get(ctl_client(j->rc->ctl), &kr, NULL, got_source, j) < 0)
		fail(j, "ArtifactFailed", "cannot read the chart source", false, 0);
}

/* ---- dependencies ---- */

static int check_dependencies(struct hrjob *j)
{
	char msg[600];
	int r = ctl_check_dependencies(j->rc->ctl, j->rc->obj, msg, sizeof(msg));

	if (r == -ELOOP)
		fail(j, "DependencyNotReady", msg, true, 0);
	else if (r < 0)
		fail(j, "DependencyNotReady", msg, false, j->h->requeue_dependency_ms);
	return r;
}

/* ---- the spec ---- */

/* The release's name and namespaces (also what an uninstall needs). */
static void read_names(struct hrjob *j)
{
	const struct kobj *o = j->rc->obj;
	const char *tns = kobj_str(o, "spec", "targetNamespace", NULL);
	const char *sns = kobj_str(o, "spec", "storageNamespace", NULL);

	j->release = helmrelease_name(o->name, kobj_str(o, "spec", "releaseName", NULL),
				      kobj_str(o, "spec", "targetNamespace", NULL));
	j->target_ns = xstrdup(tns && *tns ? tns : o->ns);
	j->storage_ns = xstrdup(sns && *sns ? sns : o->ns);
}

/*
 * spec.uninstall, and the timeout under it: what a deletion needs too,
 * whatever else the spec holds.
 */
static int read_uninstall_spec(struct hrjob *j, char *msg, size_t n)
{
	const cJSON *spec = yj_get(j->rc->obj->json, "/spec");
	const char *to = yj_get_str(spec, "/timeout"), *uto = yj_get_str(spec, "/uninstall/timeout");
	/* helm-controller's GetDeletionPropagation: background unless set. */
	static const char *const dp[][2] = { { "background", "Background" },
					     { "foreground", "Foreground" },
					     { "orphan", "Orphan" } };
	const char *p = yj_get_str(spec, "/uninstall/deletionPropagation");
	int64_t t = 5 * NSEC_PER_MIN;

	j->hooks_off_uninstall = cJSON_IsTrue(yj_get(spec, "/uninstall/disableHooks"));
	j->wait_uninstall = !cJSON_IsTrue(yj_get(spec, "/uninstall/disableWait"));
	j->keep_history = cJSON_IsTrue(yj_get(spec, "/uninstall/keepHistory"));
	j->propagation = "Background";
	for (size_t i = 0; i < 3; i++)
		if (streq_ptr(p, dp[i][0]))
			j->propagation = dp[i][1];
	if (p && !streq(p, "background") && streq(j->propagation, "Background")) {
		snprintf(msg, n, "invalid spec.uninstall.deletionPropagation '%s'", p);
		return -EINVAL;
	}
	if ((to && (duration_parse(to, &t) < 0 || t <= 0)) ||
	    (uto && (duration_parse(uto, &t) < 0 || t <= 0))) {
		snprintf(msg, n, "invalid spec.uninstall.timeout");
		return -EINVAL;
	}
	j->uninstall_timeout_ns = t;
	return 0;
}

static int read_spec(struct hrjob *j, char *msg, size_t n)
{
	const struct kobj *o = j->rc->obj;
	const cJSON *spec = yj_get(o->json, "/spec");
	const char *iv = kobj_str(o, "spec", "interval", NULL);
	const char *to = kobj_str(o, "spec", "timeout", NULL);
	const char *strategy = yj_get_str(spec, "/upgrade/remediation/strategy");
	const cJSON *v;
	char path[300];

	if (helmrelease_unsupported(spec, path, sizeof(path))) {
		snprintf(msg, n, "%s is not supported by cflux yet", path);
		return -ENOTSUP;
	}
	if (!iv || duration_parse(iv, &j->interval_ns) < 0 || j->interval_ns <= 0) {
		snprintf(msg, n, "invalid spec.interval '%s'", iv ? iv : "");
		return -EINVAL;
	}
	j->timeout_ns = 5 * NSEC_PER_MIN;
	if (to && (duration_parse(to, &j->timeout_ns) < 0 || j->timeout_ns <= 0)) {
		snprintf(msg, n, "invalid spec.timeout '%s'", to);
		return -EINVAL;
	}
	v = yj_get(spec, "/maxHistory");
	j->max_history = cJSON_IsNumber(v) ? yj_to_int(v->valuedouble) : DEFAULT_MAX_HISTORY;
	j->wait_install = !cJSON_IsTrue(yj_get(spec, "/install/disableWait"));
	j->wait_upgrade = !cJSON_IsTrue(yj_get(spec, "/upgrade/disableWait"));
	j->wait_rollback = !cJSON_IsTrue(yj_get(spec, "/rollback/disableWait"));
	j->jobs_install = !cJSON_IsTrue(yj_get(spec, "/install/disableWaitForJobs"));
	j->jobs_upgrade = !cJSON_IsTrue(yj_get(spec, "/upgrade/disableWaitForJobs"));
	j->jobs_rollback = !cJSON_IsTrue(yj_get(spec, "/rollback/disableWaitForJobs"));
	j->schema_off_install = cJSON_IsTrue(yj_get(spec, "/install/disableSchemaValidation"));
	j->schema_off_upgrade = cJSON_IsTrue(yj_get(spec, "/upgrade/disableSchemaValidation"));
	for (int i = 0; i < 2; i++) {
		static const char *const act[] = { "install", "upgrade" };
		char p[64];
		const char *name, *ri;
		int64_t *t = i ? &j->retry_upgrade_ns : &j->retry_install_ns;

		snprintf(p, sizeof(p), "/%s/strategy/name", act[i]);
		name = yj_get_str(spec, p);
		snprintf(p, sizeof(p), "/%s/strategy/retryInterval", act[i]);
		ri = yj_get_str(spec, p);
		*t = 0;
		if (name && !streq(name, "RemediateOnFailure") && !streq(name, "RetryOnFailure")) {
			snprintf(msg, n, "invalid spec.%s.strategy.name '%s'", act[i], name);
			return -EINVAL;
		}
		if (!streq_ptr(name, "RetryOnFailure"))
			continue;
		*t = 5 * NSEC_PER_MIN; /* helm-controller's default */
		if (ri && (duration_parse(ri, t) < 0 || *t <= 0)) {
			snprintf(msg, n, "invalid spec.%s.strategy.retryInterval '%s'", act[i], ri);
			return -EINVAL;
		}
	}
	j->force_upgrade = cJSON_IsTrue(yj_get(spec, "/upgrade/force"));
	j->preserve_values = cJSON_IsTrue(yj_get(spec, "/upgrade/preserveValues"));
	j->recreate = cJSON_IsTrue(yj_get(spec, "/rollback/recreate"));
	j->own_off_install = cJSON_IsTrue(yj_get(spec, "/install/disableTakeOwnership"));
	j->own_off_upgrade = cJSON_IsTrue(yj_get(spec, "/upgrade/disableTakeOwnership"));
	j->force_rollback = cJSON_IsTrue(yj_get(spec, "/rollback/force"));
	j->cleanup_upgrade = cJSON_IsTrue(yj_get(spec, "/upgrade/cleanupOnFail"));
	j->cleanup_rollback = cJSON_IsTrue(yj_get(spec, "/rollback/cleanupOnFail"));
	j->replace = cJSON_IsTrue(yj_get(spec, "/install/replace"));
	v = yj_get(spec, "/install/remediation/retries");
	j->install_retries = cJSON_IsNumber(v) ? yj_to_int(v->valuedouble) : 0;
	v = yj_get(spec, "/upgrade/remediation/retries");
	j->upgrade_retries = cJSON_IsNumber(v) ? yj_to_int(v->valuedouble) : 0;
	v = yj_get(spec, "/upgrade/remediation/remediateLastFailure");
	j->remediate_last = v ? cJSON_IsTrue(v) : j->upgrade_retries > 0;
	v = yj_get(spec, "/install/remediation/remediateLastFailure");
	j->remediate_last_install = v ? cJSON_IsTrue(v) : j->install_retries > 0;
	j->upgrade_uninstall = streq_ptr(strategy, "uninstall");
	if (strategy && !streq(strategy, "rollback") && !streq(strategy, "uninstall")) {
		snprintf(msg, n, "invalid spec.upgrade.remediation.strategy '%s'", strategy);
		return -EINVAL;
	}
	j->post_renderers = cJSON_Duplicate(yj_get(spec, "/postRenderers"), 1);
	j->common_metadata = cJSON_Duplicate(yj_get(spec, "/commonMetadata"), 1);
	j->hooks_off_install = cJSON_IsTrue(yj_get(spec, "/install/disableHooks"));
	j->hooks_off_upgrade = cJSON_IsTrue(yj_get(spec, "/upgrade/disableHooks"));
	j->hooks_off_rollback = cJSON_IsTrue(yj_get(spec, "/rollback/disableHooks"));
	{
		const char *m = yj_get_str(spec, "/driftDetection/mode");

		if (m && !streq(m, "disabled") && !streq(m, "warn") && !streq(m, "enabled")) {
			snprintf(msg, n, "invalid spec.driftDetection.mode '%s'", m);
			return -EINVAL;
		}
		free(j->drift_mode);
		j->drift_mode = m && !streq(m, "disabled") ? xstrdup(m) : NULL;
		cJSON_Delete(j->drift_rules);
		j->drift_rules = cJSON_GetArraySize(yj_get(spec, "/driftDetection/ignore")) ?
					 cJSON_Duplicate(yj_get(spec, "/driftDetection/ignore"), 1) :
					 NULL;
	}
	{
		static const char *const policies[] = { "Create", "CreateReplace", "Skip" };
		const char *ic = yj_get_str(spec, "/install/crds"), *uc = yj_get_str(spec, "/upgrade/crds");

		/* helm-controller's defaults: Create on install, Skip on upgrade. */
		j->crds_install = "Create";
		j->crds_upgrade = "Skip";
		for (size_t i = 0; i < 3; i++) {
			if (streq_ptr(ic, policies[i]))
				j->crds_install = policies[i];
			if (streq_ptr(uc, policies[i]))
				j->crds_upgrade = policies[i];
		}
		if ((ic && !streq(ic, j->crds_install)) || (uc && !streq(uc, j->crds_upgrade))) {
			snprintf(msg, n, "invalid CRDs policy '%s': must be Create, CreateReplace or Skip",
				 ic && !streq(ic, j->crds_install) ? ic : uc);
			return -EINVAL;
		}
	}
	j->test = cJSON_IsTrue(yj_get(spec, "/test/enable"));
	j->test_ignore = cJSON_IsTrue(yj_get(spec, "/test/ignoreFailures"));
	/* helm-controller's MustIgnoreTestFailures: the remediation's own, else the test's. */
	v = yj_get(spec, "/install/remediation/ignoreTestFailures");
	j->test_ignore_install = cJSON_IsBool(v) ? cJSON_IsTrue(v) : j->test_ignore;
	v = yj_get(spec, "/upgrade/remediation/ignoreTestFailures");
	j->test_ignore_upgrade = cJSON_IsBool(v) ? cJSON_IsTrue(v) : j->test_ignore;
	cJSON_Delete(j->test_filters);
	j->test_filters = cJSON_GetArraySize(yj_get(spec, "/test/filters")) ?
				  cJSON_Duplicate(yj_get(spec, "/test/filters"), 1) :
				  NULL;
	j->test_timeout_ns = j->timeout_ns;
	if (yj_get_str(spec, "/test/timeout") &&
	    (duration_parse(yj_get_str(spec, "/test/timeout"), &j->test_timeout_ns) < 0 ||
	     j->test_timeout_ns <= 0)) {
		snprintf(msg, n, "invalid spec.test.timeout");
		return -EINVAL;
	}
	{
		const char *it = yj_get_str(spec, "/install/timeout");
		const char *ut = yj_get_str(spec, "/upgrade/timeout");
		int64_t t;

		if ((it && (duration_parse(it, &t) < 0 || t <= 0)) ||
		    (ut && (duration_parse(ut, &t) < 0 || t <= 0))) {
			snprintf(msg, n, "invalid spec.install.timeout or spec.upgrade.timeout");
			return -EINVAL;
		}
		j->install_timeout_ns = j->upgrade_timeout_ns = j->timeout_ns;
		j->rollback_timeout_ns = j->timeout_ns;
		if (yj_get_str(spec, "/rollback/timeout") &&
		    (duration_parse(yj_get_str(spec, "/rollback/timeout"), &j->rollback_timeout_ns) < 0 ||
		     j->rollback_timeout_ns <= 0)) {
			snprintf(msg, n, "invalid spec.rollback.timeout");
			return -EINVAL;
		}
		if (read_uninstall_spec(j, msg, n) < 0)
			return -EINVAL;
		j->create_ns = cJSON_IsTrue(yj_get(spec, "/install/createNamespace"));
		if (it)
			duration_parse(it, &j->install_timeout_ns);
		if (ut)
			duration_parse(ut, &j->upgrade_timeout_ns);
	}
	return 0;
}

/* spec.serviceAccountName, else --default-service-account, else NULL. */
static const char *applier_sa(const struct hrjob *j)
{
	const char *sa = kobj_str(j->rc->obj, "spec", "serviceAccountName", NULL);

	return sa && *sa ? sa : j->h->default_sa;
}

static void got_remote(int r, struct remote *remote, const char *msg, void *payload)
{
	struct hrjob *j = payload;

	if (r < 0) {
		fail(j, j->applier_reason, msg, false, 0);
		return;
	}
	j->remote = remote;
	j->mapper = remote ? remote_mapper(remote) : j->h->mapper;
	if (applier_client_on(remote ? remote_client(remote) : ctl_client(j->rc->ctl),
			      j->rc->obj->ns, applier_sa(j), &j->client) < 0) {
		fail(j, j->applier_reason, "cannot impersonate the service account", false, 0);
		return;
	}
	j->applier_next(j);
}

/*
 * j->client and j->mapper: this cluster's, or spec.kubeConfig's remote
 * one (remote.h), as the service account (spec, else the default) when
 * there is one; then next(j), or the failure with `reason`.
 */
static void applier(struct hrjob *j, void (*next)(struct hrjob *j), const char *reason)
{
	j->applier_next = next;
	j->applier_reason = reason;
	remote_for(j->h->remotes, ctl_client(j->rc->ctl), j->rc->obj, got_remote, j);
}

static void reconcile_applier_ready(struct hrjob *j)
{
	if (check_dependencies(j) < 0)
		return;
	get_source(j);
}

static void reconcile(struct rc *rc)
{
	struct hrjob *j = rc->job;
	char msg[600];
	int r;

	j->rc = rc;
	j->h = ctl_data(rc->ctl);
	j->interval_ns = 10 * NSEC_PER_MIN;
	read_names(j);
	r = read_spec(j, msg, sizeof(msg));
	if (r < 0) {
		fail(j, r == -ENOTSUP ? "UnsupportedField" : "InvalidSpec", msg, true, 0);
		return;
	}
	applier(j, reconcile_applier_ready, "InitFailed");
}

/* ---- deletion: uninstall ---- */

static void fin_helmchart_deleted(int r, const cJSON *obj, const struct op_err *err,
				  void *payload)
{
	struct hrjob *j = payload;

	(void)obj;
	(void)err;
	if (r < 0 && r != -ENOENT) {
		fail(j, "UninstallFailed", "cannot delete the HelmChart", false, 0);
		return;
	}
	rc_finalized(j->rc);
}

static void fin_done(struct hrjob *j)
{
	const char *hc = yj_get_str(j->rc->obj->json, "/status/helmChart");
	const char *slash = hc ? strchr(hc, '/') : NULL;

	rc_event(j->rc, "Normal", "UninstallSucceeded", "Helm uninstall succeeded for release %s/%s",
		 j->storage_ns, j->release);
	if (slash && yj_get(j->rc->obj->json, "/spec/chart")) {
		char *ns = xstrndup(hc, (size_t)(slash - hc));
		struct kube_ref ref = { .group = "source.toolkit.fluxcd.io", .version = "v1",
					.resource = "helmcharts", .ns = ns, .name = slash + 1 };
		int r = kube_delete(ctl_client(j->rc->ctl), &ref, NULL, fin_helmchart_deleted, j);

		free(ns);
		if (r == 0)
			return;
	}
	rc_finalized(j->rc);
}

/* The records are gone: the uninstall is complete. */
static void fin_records_deleted(struct hrjob *j)
{
	if (j->post_delete_err) {
		int nerr = 1;

		for (const char *p = j->post_delete_err; (p = strstr(p, "; ")); p += 2)
			nerr++;
		char *msg = xasprintf("Helm uninstall failed: uninstallation completed with %d "
				      "error(s): %s", nerr, j->post_delete_err);

		fail(j, "UninstallFailed", msg, false, 0);
		free(msg);
		return;
	}
	j->uninstalled(j);
}

/* The uninstalled release's hooks for `event`, then `next`; NULL `msg` when they succeeded. */
static void delete_hooks(struct hrjob *j, const char *event, hooks_cb next)
{
	struct hooks_opts o = {
		.c = j->client,
		.m = j->mapper,
		.rel = j->uninstalling,
		.event = event,
		.ns = strempty(yj_get_str(j->uninstalling, "/namespace")),
		.timeout_ms = ms(j->uninstall_timeout_ns),
	};

	if (j->hooks_off_uninstall || !j->uninstalling || !hooks_any(j->uninstalling, event) ||
	    hooks_exec(&o, next, j) < 0)
		next(0, NULL, j);
}

/* Helm's uninstall error list, in order. */
static void uninstall_error(struct hrjob *j, const char *msg)
{
	char *t = str_trim_dup(msg), *all;

	if (!j->post_delete_err) {
		j->post_delete_err = t;
		return;
	}
	all = xasprintf("%s; %s", j->post_delete_err, t);
	free(t);
	free(j->post_delete_err);
	j->post_delete_err = all;
}

/*
 * The end of Helm's uninstall: without keepHistory every record is
 * purged; with it the newest is kept, marked uninstalled, beside the
 * others as they were (helm history lists them; an install again needs
 * spec.install.replace, as Helm's).
 */
static void fin_delete_records(struct hrjob *j)
{
	const cJSON *sec;

	if (j->keep_history && j->uninstalling) {
		char t[RFC3339_MAX];

		time_format_rfc3339_nano(time_now_ns(), t);
		rel_set_status(j->uninstalling, "uninstalled", "Uninstallation complete");
		cJSON_ReplaceItemInObjectCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(j->uninstalling, "info"), "deleted",
			cJSON_CreateString(t));
		op_add(j, SOP_UPDATE, j->uninstalling, true);
		ops_start(j, fin_records_deleted);
		return;
	}
	cJSON_ArrayForEach(sec, j->secrets)
	{
		struct sop *op;

		j->ops = xrealloc(j->ops, (j->nops + 1) * sizeof(*j->ops));
		op = &j->ops[j->nops++];
		memset(op, 0, sizeof(*op));
		op->kind = SOP_DELETE;
		op->name = xstrdup(yj_get_str(sec, "/metadata/name") ?
					   yj_get_str(sec, "/metadata/name") : "");
	}
	ops_start(j, fin_records_deleted);
}

/* As Helm: a post-delete hook's failure is reported once the records are purged. */
static void post_delete_done(int r, const char *msg, void *payload)
{
	struct hrjob *j = payload;

	if (r < 0)
		uninstall_error(j, msg);
	fin_delete_records(j);
}

/* Helm's uninstall waits for what it deleted to be gone (unless disableWait). */
static void fin_terminated(const struct wait_result *res, void *payload)
{
	struct hrjob *j = payload;

	if (res->r < 0)
		uninstall_error(j, res->msg);
	delete_hooks(j, "post-delete", post_delete_done);
}

static void fin_pruned(struct apply_result *res, void *payload)
{
	struct hrjob *j = payload;
	char msg[1024];

	if (res->r < 0) {
		snprintf(msg, sizeof(msg), "Helm uninstall failed: %s", res->err.msg);
		fail(j, "UninstallFailed", msg, false, 0);
		return;
	}
	if (j->wait_uninstall && cJSON_GetArraySize(res->pruned_refs) > 0 &&
	    wait_terminated(j->client, j->mapper, res->pruned_refs, ms(j->uninstall_timeout_ns),
			    fin_terminated, j, NULL) == 0)
		return;
	delete_hooks(j, "post-delete", post_delete_done);
}

static void pre_delete_done(int r, const char *msg, void *payload)
{
	struct hrjob *j = payload;
	struct apply_opts o = {
		.field_manager = FIELD_MANAGER,
		.owner_name = j->rc->obj->name,
		.owner_ns = j->rc->obj->ns,
		.owner_label_prefix = OWNER_PREFIX,
		.prune = true,
		.prune_propagation = j->propagation,
		.prev_inventory = j->prev_inv,
	};
	cJSON *none;
	char *m;

	if (r < 0) {
		char *t = str_trim_dup(msg);

		m = xasprintf("Helm uninstall failed: %s", t);
		fail(j, "UninstallFailed", m, false, 0);
		free(m);
		free(t);
		return;
	}
	none = cJSON_CreateArray();
	if (apply_set(j->client, j->mapper, none, &o, fin_pruned, j, NULL) < 0)
		fail(j, "UninstallFailed", "Helm uninstall failed: cannot start", false, 0);
	cJSON_Delete(none);
}

/*
 * Helm's uninstall: delete what the release's records hold (the deployed
 * one and the latest, which a failed upgrade may have half applied),
 * then the records.
 */
static void fin_records(int r, const cJSON *list, const struct op_err *err, void *payload)
{
	struct hrjob *j = payload;
	const cJSON *sec;
	cJSON *newest = NULL, *deployed = NULL;
	char msg[600];

	if (r < 0) {
		snprintf(msg, sizeof(msg), "Helm uninstall failed: cannot list the release records: "
			 "%s", err && err->msg[0] ? err->msg : op_strerror(r));
		fail(j, "UninstallFailed", msg, false, 0);
		return;
	}
	j->secrets = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(list, "items"), 1);
	j->prev_inv = inventory_new();
	cJSON_ArrayForEach(sec, j->secrets)
	{
		cJSON *rel = NULL;

		if (helm_release_from_secret(sec, MAX_RELEASE_BYTES, &rel, NULL) < 0)
			continue;
		if (streq(rel_status(rel), "deployed") &&
		    (!deployed || rel_version(rel) > rel_version(deployed))) {
			cJSON_Delete(deployed);
			deployed = cJSON_Duplicate(rel, 1);
		}
		if (!newest || rel_version(rel) > rel_version(newest)) {
			cJSON_Delete(newest);
			newest = rel;
		} else {
			cJSON_Delete(rel);
		}
	}
	if (deployed)
		release_inventory(j, deployed, j->prev_inv);
	if (newest && (!deployed || rel_version(newest) != rel_version(deployed)))
		release_inventory(j, newest, j->prev_inv);
	cJSON_Delete(deployed);
	/* Helm runs the delete hooks of the newest record. */
	cJSON_Delete(j->uninstalling);
	j->uninstalling = newest;
	free(j->post_delete_err);
	j->post_delete_err = NULL;
	/*
	 * Uninstalled already (keepHistory, or `helm uninstall --keep-history`):
	 * Helm purges the records, or with keepHistory has nothing to do
	 * ("already deleted", which helm-controller takes as done).
	 */
	if (newest && streq(rel_status(newest), "uninstalled")) {
		if (j->keep_history)
			j->uninstalled(j);
		else
			fin_delete_records(j);
		return;
	}
	delete_hooks(j, "pre-delete", pre_delete_done);
}

/* Helm's uninstall of the release, then j->uninstalled(j). */
static void uninstall(struct hrjob *j)
{
	struct kube_ref ref = { .version = "v1", .resource = "secrets", .ns = j->storage_ns };
	struct kube_opts o = KUBE_OPTS_INIT;
	char *sel = xasprintf("owner=helm,name=%s", j->release);

	o.label_selector = sel;
	cJSON_Delete(j->secrets);
	j->secrets = NULL;
	cJSON_Delete(j->prev_inv);
	j->prev_inv = NULL;
	ops_clear(j);
	if (kube_list(j->client, &ref, &o, fin_records, j) < 0)
		fail(j, "UninstallFailed", "Helm uninstall failed: cannot list the records", false,
		     0);
	free(sel);
}

/* Remediation by uninstall done: Remediated, and the install comes again (or the stall). */
static void remediation_uninstalled(struct hrjob *j)
{
	struct rc *rc = j->rc;
	int64_t now = time_now_ns();
	bool install = j->act == ACT_INSTALL;
	int failures = status_int(rc->status, install ? "installFailures" : "upgradeFailures");
	int retries = install ? j->install_retries : j->upgrade_retries;
	char *ref = release_ref(j, j->version);
	char *msg = xasprintf("Helm uninstall remediation for release %s with chart %s@%s "
			      "succeeded", ref, j->chart_name, j->chart_version);
	cJSON *rel;

	if (j->keep_history) {
		rel = j->uninstalling ? history_get(j, rel_version(j->uninstalling)) : NULL;
		if (rel)
			rel_set_status(rel, "uninstalled", "Uninstallation complete");
	} else {
		cJSON_ArrayForEach(rel, j->history)
			rel_set_status(rel, "uninstalled", "Uninstallation complete");
	}
	write_history(j);
	cond_set(rc->status, "Remediated", "True", "UninstallSucceeded", msg, rc_gen(rc), now);
	cond_set(rc->status, COND_READY, "False", "UninstallSucceeded", msg, rc_gen(rc), now);
	rc_event(rc, "Normal", "UninstallSucceeded", "%s", msg);
	free(msg);
	free(ref);
	if (retries >= 0 && failures > retries) {
		char m[128];

		snprintf(m, sizeof(m), "Failed to %s after %d attempt(s)",
			 install ? "install" : "upgrade", failures);
		cond_mark_stalled(rc->status, "RetriesExceeded", m, rc_gen(rc), now);
		rc_done(rc, 0);
		return;
	}
	/* The install again, after the backoff (helm-controller's ErrMustRequeue: rate-limited). */
	rc_retry(rc);
}

static void start_uninstall_remediation(struct hrjob *j)
{
	j->truncate = true;
	j->uninstalled = remediation_uninstalled;
	uninstall(j);
}

static void finalize(struct rc *rc)
{
	struct hrjob *j = rc->job;
	char msg[300];

	j->rc = rc;
	j->h = ctl_data(rc->ctl);
	j->interval_ns = 10 * NSEC_PER_MIN;
	if (cJSON_IsTrue(yj_get(rc->obj->json, "/spec/suspend"))) {
		rc_finalized(rc);
		return;
	}
	read_names(j);
	if (read_uninstall_spec(j, msg, sizeof(msg)) < 0) {
		fail(j, "UninstallFailed", msg, false, 0);
		return;
	}
	j->uninstalled = fin_done;
	applier(j, uninstall, "UninstallFailed");
}

/* A chart source's artifact revision changed: requeue the HelmReleases using it. */
static void on_source(struct ctl *ctl, struct ctl *from, enum informer_event ev, struct kobj *obj,
		      struct kobj *old)
{
	const char *rev = yj_get_str(obj->json, "/status/artifact/revision");
	const char *orev = old ? yj_get_str(old->json, "/status/artifact/revision") : NULL;
	const char *skind = ctl_desc(from)->kind;
	struct kobj *hr;
	size_t it = 0;

	if (ev == INFORMER_DELETE || !rev || streq_ptr(rev, orev))
		return;
	while ((hr = informer_next(ctl_informer(ctl), &it))) {
		const cJSON *ref = yj_get(hr->json, "/spec/chartRef");
		const char *kind = yj_get_str(ref, "/kind"), *name = yj_get_str(ref, "/name");
		const char *ns = yj_get_str(ref, "/namespace");
		char *own = xasprintf("%s-%s", hr->ns, hr->name);

		if ((streq_ptr(kind, skind) && streq_ptr(name, obj->name) &&
		     streq(ns && *ns ? ns : hr->ns, obj->ns)) ||
		    (streq(skind, "HelmChart") && streq(own, obj->name)))
			ctl_enqueue(ctl, hr->key);
		free(own);
	}
}

/* A HelmRelease gone: its remote cluster's client with it. */
static void on_self(struct ctl *ctl, struct ctl *from, enum informer_event ev, struct kobj *obj,
		    struct kobj *old)
{
	struct hr_ctl *h = ctl_data(ctl);

	(void)from;
	(void)old;
	if (ev == INFORMER_DELETE)
		remote_forget_obj(h->remotes, obj);
}

void helmrelease_watch_sources(struct ctl *hr)
{
	struct ctl *src = NULL;

	ctl_watch(hr, hr, on_self);

	while ((src = mgr_next_source(ctl_mgr(hr), src)))
		ctl_watch(hr, src, on_source);
}

const struct ctl_desc helmrelease_desc = {
	.name = "helmrelease",
	.component = "helm-controller",
	.kind = "HelmRelease",
	.api_version = "helm.toolkit.fluxcd.io/v2",
	.ref = { .group = "helm.toolkit.fluxcd.io", .version = "v2", .resource = "helmreleases" },
	.retry = BACKOFF_RECONCILE,
	.job_size = sizeof(struct hrjob),
	.job_release = job_release,
	.own_reconciling = true,
	.reconcile = reconcile,
	.finalize = finalize,
};
