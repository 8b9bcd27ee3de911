/*
 * ctl_kustomization.c: the Kustomization reconciler
 * (kustomize.toolkit.fluxcd.io/v1), kustomize-controller's contract.
 *
 * The manager's skeleton (manager.h) does the lifecycle every kind
 * shares: the finalizer, suspend, the status write.  Deletion
 * (finalize()): delete what the inventory lists as spec.deletionPolicy
 * says (MirrorPrune: with spec.prune; Delete; Orphan: never;
 * WaitForTermination: as Delete, then wait until it is gone), as the
 * service account that applied it; a failed deletion (Forbidden, say)
 * keeps the finalizer, says why in Ready=False PruneFailed and an Event,
 * and is retried.  One reconcile, as callbacks on the loop with the file
 * work on the thread pool:
 *
 *   source       the source (any source kind) from its controller's
 *                cache; missing or without an artifact: Ready=False
 *                ArtifactFailed (only logged, as Flux), retried after
 *                retryInterval or --requeue-dependency
 *   dependsOn    each dependency Ready at its current generation, else
 *                Ready=False DependencyNotReady and the same wait; a
 *                dependency cycle is Stalled (Flux would wait forever)
 *   progress     Ready=Unknown, Reconciling=True "Fetching manifests for
 *                revision R with a timeout of T", written (as Flux does)
 *   variables    postBuild.substituteFrom ConfigMaps/Secrets in order,
 *                then postBuild.substitute
 *   keys         spec.decryption.secretRef: the age identities of its
 *                *.agekey entries (read as the controller, as Flux does)
 *   build        (thread pool) the artifact, verified against its digest,
 *                extracted once per digest and shared; kz_flux_build()
 *                (which decrypts SOPS-encrypted objects, then substitutes)
 *   apply        lib/apply: staged server-side apply with dry-run first,
 *                owner labels, inventory, prune
 *   status       inventory, lastAppliedRevision, lastAttemptedRevision,
 *                conditions, and history (Flux 2.7's: the build's digest
 *                and revision, once the build succeeded); requeue after
 *                spec.interval, or after spec.retryInterval on failure
 *                (Flux does not back off)
 *
 * A failed revision leaves the cluster and status.inventory as they
 * were: the dry-run gate means an invalid object applies nothing, and
 * lastAppliedRevision keeps naming what is actually deployed.
 *
 * The controller watches every source kind: a new artifact revision
 * requeues every Kustomization that uses it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apply/apply.h"
#include "apply/wait.h"
#include "base/alloc.h"
#include "base/b64.h"
#include "base/log.h"
#include "base/path.h"
#include "base/str.h"
#include "base/time.h"
#include "conditions.h"
#include "controllers.h"
#include "kustomize/kustomize.h"
#include "kustomize/sops.h"
#include "remote.h"
#include "source/artifact.h"
#include "trees.h"
#include "yj/yj.h"
#include "base/banned.h"

#define FIELD_MANAGER "kustomize-controller"

struct ksjob {
	struct rc *rc;
	struct ks_ctl *k;
	struct kube_client *client; /* maybe impersonated; a reference */
	struct kube_mapper *mapper; /* the target cluster's kinds (borrowed) */
	struct remote *remote;      /* spec.kubeConfig's cluster, or NULL; a reference */
	struct kube_client *local;  /* with a remote: this cluster's applier client, or NULL */
	void (*applier_next)(struct ksjob *j); /* applier()'s continuation */
	void (*applier_failed)(struct ksjob *j, const char *msg);
	/* inputs */
	char *artifact;  /* absolute path of the source's tar.gz */
	char *digest;    /* status.artifact.digest of the source */
	char *revision;  /* status.artifact.revision of the source */
	char *origin;    /* its org.opencontainers.image.revision (OCI artifacts), or NULL */
	char *path;      /* spec.path */
	char *target_ns;
	cJSON *kustomize;       /* the spec's kustomize fields, a kustomization fragment */
	cJSON *common_metadata; /* spec.commonMetadata or NULL */
	bool ignore_missing_components;
	cJSON *vars;     /* merged variables or NULL */
	bool strict;
	cJSON *subst_from; /* remaining substituteFrom refs */
	int subst_i;
	bool decrypt;                /* spec.decryption is set */
	struct sops_identities *ids; /* from spec.decryption.secretRef, or NULL */
	int64_t interval_ns, retry_ns, timeout_ns;
	/* outputs */
	int r;
	struct op_err err;
	const char *reason;
	cJSON *objects;
	cJSON *inventory;  /* after a successful apply */
	char *changes;
	uint64_t wait_t0;
	char build_digest[72]; /* kz_flux_digest() of the build, for status.history */
	char *tree_hex;    /* the extracted tree this build holds (tree_hold()) */
	char **trash;      /* evicted trees the build removes first; NULL-terminated */
	uint64_t tree_bytes; /* the tree's size if this build extracted it, else 0 */
};

static void job_release(void *job)
{
	struct ksjob *j = job;

	if (j->client)
		kube_client_unref(j->client);
	remote_unref(j->remote);
	if (j->local)
		kube_client_unref(j->local);
	free(j->artifact);
	free(j->digest);
	free(j->origin);
	free(j->revision);
	free(j->path);
	free(j->target_ns);
	cJSON_Delete(j->kustomize);
	cJSON_Delete(j->common_metadata);
	cJSON_Delete(j->vars);
	cJSON_Delete(j->subst_from);
	sops_identities_free(j->ids);
	cJSON_Delete(j->objects);
	cJSON_Delete(j->inventory);
	free(j->changes);
	free(j->tree_hex);
	trees_trash_free(j->trash);
}

/* Copy what the build needs from the spec (the build runs off the loop thread). */
static void kustomize_fields(struct ksjob *j)
{
	const cJSON *spec = yj_get(j->rc->obj->json, "/spec");

	kz_flux_spec(spec, &j->kustomize, &j->common_metadata);
	j->ignore_missing_components =
		cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(spec, "ignoreMissingComponents"));
}

static void stage_log(struct ksjob *j, const char *stage);

static uint64_t loop_now(struct ksjob *j)
{
	return uv_now(kube_client_loop(ctl_client(j->rc->ctl)));
}

static void set_str(cJSON *o, const char *k, const char *v)
{
	cJSON_DeleteItemFromObjectCaseSensitive(o, k);
	if (v)
		cJSON_AddStringToObject(o, k, v);
}

static uint64_t ms(int64_t ns)
{
	return (uint64_t)(ns / NSEC_PER_MSEC);
}

/* Ready=False (or Stalled) with `reason`; `wait_ms` 0: retryInterval. */
static void mark_failed(struct ksjob *j, const char *reason, const char *msg, bool stall,
			uint64_t wait_ms)
{
	struct rc *rc = j->rc;

	if (j->revision)
		set_str(rc->status, "lastAttemptedRevision", j->revision);
	if (stall) {
		rc_stall(rc, reason, msg);
		return;
	}
	cond_delete(rc->status, COND_STALLED);
	cond_set(rc->status, COND_READY, "False", reason, msg, rc_gen(rc), time_now_ns());
	rc_done(rc, wait_ms ? wait_ms : ms(j->retry_ns));
}

/*
 * A failed attempt: Ready=False with `reason`, lastAttemptedRevision, the
 * applied state untouched, and an Event.  Waiting on dependencies is a
 * Normal Event of kustomize-controller's own wording, the condition
 * keeping the detail; anything else a Warning with the message.
 */
static void fail(struct ksjob *j, const char *reason, const char *msg, bool stall,
		 uint64_t wait_ms)
{
	struct rc *rc = j->rc;

	if (streq(reason, "DependencyNotReady") && !stall) {
		char wait[DURATION_MAX];

		duration_format((int64_t)wait_ms * NSEC_PER_MSEC, wait);
		rc_event(rc, "Normal", reason,
			 "Dependencies do not meet ready condition, retrying in %s", wait);
	} else {
		rc_event(rc, "Warning", reason, "%s", msg);
		log_error(NULL, "Reconciliation failed", "controller", "kustomization", "object",
			  rc->key, "reason", reason, "error", msg, NULL);
	}
	mark_failed(j, reason, msg, stall, wait_ms);
}

/* The source or its artifact is not there yet: ArtifactFailed, only logged, as Flux. */
static void not_yet(struct ksjob *j, const char *msg, uint64_t wait_ms)
{
	log_info(NULL, msg, "controller", "kustomization", "object", j->rc->key, NULL);
	mark_failed(j, "ArtifactFailed", msg, false, wait_ms);
}

/*
 * The outcome of an attempt that got past the build, in status.history,
 * as kustomize-controller records it: the build's digest, and the
 * revision (and origin revision) in its metadata.
 */
static void record(struct ksjob *j, const char *outcome)
{
	cJSON *meta = cJSON_CreateObject();

	if (!j->build_digest[0]) {
		cJSON_Delete(meta);
		return;
	}
	cJSON_AddStringToObject(meta, "revision", j->revision);
	if (j->origin && *j->origin)
		cJSON_AddStringToObject(meta, "originRevision", j->origin);
	history_upsert(j->rc->status, j->build_digest, time_now_ns(),
		       (int64_t)(loop_now(j) - j->rc->t0) * NSEC_PER_MSEC, outcome, meta);
	cJSON_Delete(meta);
}

static void succeed(struct ksjob *j, const cJSON *inventory, const char *changes,
		    const char *healthy_msg)
{
	struct rc *rc = j->rc;
	cJSON *st = rc->status;
	int64_t now = time_now_ns();
	long gen = rc_gen(rc);
	char *msg = xasprintf("Applied revision: %s", j->revision);
	const char *prev = yj_get_str(st, "/lastAppliedRevision");
	char next[DURATION_MAX], took[DURATION_MAX];

	cond_delete(st, COND_STALLED);
	cond_set(st, COND_READY, "True", "ReconciliationSucceeded", msg, gen, now);
	if (healthy_msg)
		cond_set(st, COND_HEALTHY, "True", "Succeeded", healthy_msg, gen, now);
	else
		cond_delete(st, COND_HEALTHY);
	cJSON_DeleteItemFromObjectCaseSensitive(st, "inventory");
	cJSON_AddItemToObject(st, "inventory", cJSON_Duplicate(inventory, 1));
	/*
	 * As kustomize-controller: every reconcile that ends Ready says so in
	 * an Event (notifications and commit statuses hang on it); the
	 * recorder's spam filter bounds them.
	 */
	duration_format(j->interval_ns, next);
	duration_format((int64_t)(loop_now(j) - rc->t0) * NSEC_PER_MSEC, took);
	/* marked, as Flux marks it, for the Git providers' commit statuses */
	rc_annotate(rc, "commit_status", "update");
	rc_event(rc, "Normal", "ReconciliationSucceeded",
		 "Reconciliation finished in %s, next run in %s", took, next);
	rc_annotate(rc, "commit_status", NULL);
	if (!prev || !streq(prev, j->revision) || (changes && *changes))
		log_info(NULL, "Applied revision", "controller", "kustomization", "object", rc->key,
			 "revision", j->revision, NULL);
	set_str(st, "lastAppliedRevision", j->revision);
	set_str(st, "lastAttemptedRevision", j->revision);
	/* The revision an OCI artifact was built from, as Flux records it. */
	set_str(st, "lastAppliedOriginRevision", j->origin && *j->origin ? j->origin : NULL);
	record(j, "ReconciliationSucceeded");
	free(msg);
	rc_done(rc, ms(j->interval_ns));
}

/* ---- health ---- */

static void health_done(const struct wait_result *res, void *payload)
{
	struct ksjob *j = payload;
	char took[DURATION_MAX], *msg;
	cJSON *st = j->rc->status;

	rc_unpark(j->rc);
	duration_format((int64_t)(loop_now(j) - j->wait_t0) * NSEC_PER_MSEC, took);
	stage_log(j, "Health checked");
	if (res->r == 0) {
		msg = xasprintf("Health check passed in %s", took);
		succeed(j, j->inventory, j->changes, msg);
		free(msg);
		return;
	}
	/* Applied, but not healthy: the inventory moves on, lastAppliedRevision does not. */
	msg = xasprintf("Health check failed after %s: %s", took, res->msg);
	cJSON_DeleteItemFromObjectCaseSensitive(st, "inventory");
	cJSON_AddItemToObject(st, "inventory", cJSON_Duplicate(j->inventory, 1));
	cond_set(st, COND_HEALTHY, "False", "HealthCheckFailed", msg, rc_gen(j->rc),
		 time_now_ns());
	record(j, "HealthCheckFailed");
	fail(j, "HealthCheckFailed", msg, false, 0);
	free(msg);
}

static bool start_health(struct ksjob *j, const cJSON *current)
{
	const struct kobj *obj = j->rc->obj;
	const cJSON *spec = yj_get(obj->json, "/spec");
	bool all = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(spec, "wait"));
	const cJSON *checks = cJSON_GetObjectItemCaseSensitive(spec, "healthChecks");
	cJSON *set;
	char *sel = NULL;
	int r;

	if (!all && cJSON_GetArraySize(checks) == 0)
		return false;
	if (all) {
		set = cJSON_Duplicate(j->objects, 1);
		sel = xasprintf("%s=%s,%s=%s", APPLY_LABEL_NAME, obj->name, APPLY_LABEL_NAMESPACE,
				obj->ns);
	} else {
		const cJSON *c;

		set = cJSON_CreateArray();
		cJSON_ArrayForEach(c, checks)
		{
			cJSON *o = cJSON_CreateObject(), *m = cJSON_AddObjectToObject(o, "metadata");
			const char *av = yj_get_str(c, "/apiVersion");

			cJSON_AddStringToObject(o, "apiVersion", av ? av : "apps/v1");
			cJSON_AddStringToObject(o, "kind", yj_get_str(c, "/kind") ?
								   yj_get_str(c, "/kind") : "");
			cJSON_AddStringToObject(m, "name", yj_get_str(c, "/name") ?
								   yj_get_str(c, "/name") : "");
			if (yj_get_str(c, "/namespace"))
				cJSON_AddStringToObject(m, "namespace", yj_get_str(c, "/namespace"));
			cJSON_AddItemToArray(set, o);
		}
	}
	/* What the apply already saw Current needs no watch (kstatus says the same then). */
	wait_drop(set, current);
	j->wait_t0 = loop_now(j);
	/* The wait holds no thread: the slot goes to the next Kustomization meanwhile. */
	rc_park(j->rc);
	r = wait_ready(j->client, j->mapper, set, sel, ms(j->timeout_ns), health_done, j, NULL);
	cJSON_Delete(set);
	free(sel);
	if (r < 0) {
		rc_unpark(j->rc);
		fail(j, "HealthCheckFailed", "invalid health check: apiVersion, kind and name are needed",
		     true, 0);
	}
	return true;
}

/* ---- apply ---- */

/*
 * Detect-only drift (DRIFT_ANNOTATION "detect" on an object, or on the
 * Kustomization for all of its objects): the Drifted condition lists the
 * objects left as they are and the fields that differ, an Event says so
 * when that changes, and cflux_drift_objects counts them (from the
 * condition's message, which starts with the count).
 */
static void drift_status(struct ksjob *j, const cJSON *drift)
{
	cJSON *st = j->rc->status;
	const char *was = yj_get_str(cond_get(st, COND_DRIFTED), "/message");
	struct buf msg = BUF_INIT(4096);
	const cJSON *e;
	int i = 0, n = cJSON_GetArraySize(drift);

	if (!n) {
		if (was)
			rc_event(j->rc, "Normal", "DriftResolved",
				 "no drift from revision %s is left", j->revision);
		cond_delete(st, COND_DRIFTED);
		return;
	}
	buf_addf(&msg, "%d object%s drifted from revision %s and left as %s: ", n,
		 n == 1 ? "" : "s", j->revision, n == 1 ? "it is" : "they are");
	cJSON_ArrayForEach(e, drift) {
		if (i++ == 5) {
			buf_addf(&msg, "; and %d more", n - 5);
			break;
		}
		buf_addf(&msg, "%s%s (%s)", i > 1 ? "; " : "", yj_get_str(e, "/object"),
			 yj_get_str(e, "/fields"));
	}
	if (!streq_ptr(was, msg.buf))
		rc_event(j->rc, "Warning", "DriftDetected", "%s", msg.buf);
	cond_set(st, COND_DRIFTED, "True", "DriftDetected", msg.buf, rc_gen(j->rc),
		 time_now_ns());
	buf_release(&msg);
}

static void applied(struct apply_result *res, void *payload)
{
	struct ksjob *j = payload;

	if (res->r < 0 && res->prune_failed) {
		record(j, "PruneFailed");
		fail(j, "PruneFailed", res->err.msg, false, 0);
		return;
	}
	if (res->r < 0) {
		/* kustomize-controller's: the error, then what was applied before it, a line each. */
		char *msg = xasprintf("%s\n%s%s", res->err.msg, res->changes,
				      res->changes[0] ? "\n" : "");

		record(j, "ReconciliationFailed");
		fail(j, "ReconciliationFailed", msg, false, 0);
		free(msg);
		return;
	}
	stage_log(j, "Applied");
	drift_status(j, res->drift);
	j->inventory = cJSON_Duplicate(res->inventory, 1);
	j->changes = xasprintf("%s%s%s", res->changes, res->changes[0] && res->pruned[0] ? "\n" : "",
			       res->pruned);
	/* Flux's two Events: the apply's change set, then garbage collection's. */
	if (res->changes[0])
		rc_event(j->rc, "Normal", "Progressing", "%s", res->changes);
	if (res->pruned[0])
		rc_event(j->rc, "Normal", "Progressing", "%s", res->pruned);
	if (start_health(j, res->current_refs))
		return;
	succeed(j, j->inventory, j->changes, NULL);
}

static void start_apply(struct ksjob *j)
{
	const struct kobj *obj = j->rc->obj;
	/* None yet (the first apply): an empty one, so every object is presumed new. */
	cJSON *none = yj_get(obj->json, "/status/inventory") ? NULL :
			      cJSON_Parse("{\"entries\":[]}");
	const cJSON *inv = none ? none : yj_get(obj->json, "/status/inventory");
	struct apply_opts o = {
		.field_manager = FIELD_MANAGER,
		.owner_name = obj->name,
		.owner_ns = obj->ns,
		.force = cJSON_IsTrue(yj_get(obj->json, "/spec/force")),
		.prune = cJSON_IsTrue(yj_get(obj->json, "/spec/prune")),
		.prev_inventory = inv,
		.stage_wait_ms = ms(j->timeout_ns),
		.provenance_prefix = "cflux.io/",
		.origin_annotation = KZ_ANN_PATH,
		.drift_annotation = DRIFT_ANNOTATION,
		.detect_only = streq_ptr(kobj_str(obj, "metadata", "annotations", DRIFT_ANNOTATION,
						  NULL), "detect"),
	};
	int r;

	r = apply_set(j->client, j->mapper, j->objects, &o, applied, j, NULL);
	cJSON_Delete(none);
	if (r < 0)
		fail(j, "ReconciliationFailed", "cannot start the apply", false, 0);
}

/* ---- build, on the thread pool ---- */

static const char *digest_hex(const char *digest)
{
	const char *hex = strchr(digest, ':');

	return hex ? hex + 1 : digest;
}

/* Before a build: hold its tree (trees.h), and take the trash to remove. */
static void tree_hold(struct ksjob *j)
{
	struct ks_ctl *k = j->k;
	const char *hex = digest_hex(j->digest);

	if (!k->trees)
		(void)trees_new(k->extract_root, k->max_trees, k->max_tree_bytes, &k->trees);
	j->tree_hex = xstrdup(hex);
	j->trash = trees_hold(k->trees, hex);
}

/* After the build (or when it could not start). */
static void tree_drop(struct ksjob *j)
{
	if (!j->tree_hex)
		return;
	trees_drop(j->k->trees, j->tree_hex, j->tree_bytes);
	free(j->tree_hex);
	j->tree_hex = NULL;
}

void ks_ctl_release(struct ks_ctl *k)
{
	trees_free(k->trees);
	k->trees = NULL;
}

/*
 * The artifact's tree, extracted once per digest under the cache root and
 * shared by every Kustomization using it.  Extraction goes to a private
 * directory renamed into place, so a reader never sees half a tree.
 */
static int extracted_tree(struct ksjob *j, char **ret)
{
	static const struct artifact_limits lim = ARTIFACT_LIMITS_DEFAULT;
	const char *hex = digest_hex(j->digest);
	char digest[ARTIFACT_DIGEST_MAX], *dir, *tmp;
	struct stat st;
	uint64_t size;
	int r;

	dir = xasprintf("%s/%s", j->k->extract_root, hex);
	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
		*ret = dir;
		return 0;
	}
	r = artifact_digest_file(j->artifact, digest, &size, &j->err);
	if (r < 0) {
		free(dir);
		return r;
	}
	if (!streq(digest, j->digest)) {
		free(dir);
		return op_err_set(&j->err, -EBADMSG,
				  "artifact digest mismatch: status says '%s', the file has '%s'",
				  j->digest, digest);
	}
	tmp = xasprintf("%s/.tmp-%s-XXXXXX", j->k->extract_root, hex);
	if (!mkdtemp(tmp)) {
		r = op_err_set(&j->err, -errno, "cannot create '%s': %s", tmp, op_strerror(errno));
		free(tmp);
		free(dir);
		return r;
	}
	r = artifact_extract(j->artifact, tmp, &lim, &j->err);
	if (r == 0)
		j->tree_bytes = path_tree_bytes(tmp);
	if (r == 0 && rename(tmp, dir) < 0 && errno != ENOTEMPTY && errno != EEXIST)
		r = op_err_set(&j->err, -errno, "cannot move the extracted artifact: %s",
			       op_strerror(errno));
	path_remove_all(tmp); /* gone after a successful rename; a loser's copy otherwise */
	free(tmp);
	if (r < 0) {
		free(dir);
		return r;
	}
	*ret = dir;
	return 0;
}

static void work(void *job)
{
	struct ksjob *j = job;
	struct kz_flux_in in = {
		.path = j->path,
		.vars = j->vars,
		.strict = j->strict,
		.target_ns = j->target_ns,
		.kustomize = j->kustomize,
		.common_metadata = j->common_metadata,
		.ignore_missing_components = j->ignore_missing_components,
		.revision = j->revision,
		.decrypt = j->decrypt,
		.ids = j->ids,
	};
	char *tree = NULL;

	for (size_t i = 0; j->trash && j->trash[i]; i++)
		path_remove_all(j->trash[i]);
	j->r = extracted_tree(j, &tree);
	if (j->r < 0) {
		j->reason = "ArtifactFailed";
		return;
	}
	in.root = tree;
	j->r = kz_flux_build(&in, &j->objects, &j->err);
	if (j->r < 0)
		j->reason = j->r == -ENOENT ? "ArtifactFailed" : "BuildFailed";
	else if (kz_flux_digest(j->objects, j->build_digest) < 0)
		j->build_digest[0] = '\0'; /* past 256 MiB of YAML: no history entry */
	free(tree);
}

static void stage_log(struct ksjob *j, const char *stage)
{
	if (log_enabled(LOG_DEBUG)) {
		char t[32];

		snprintf(t, sizeof(t), "%.3fs", (double)(loop_now(j) - j->rc->t0) / 1000.0);
		log_debug(NULL, stage, "controller", "kustomization", "object", j->rc->key, "at", t,
			  NULL);
	}
}

/*
 * kustomize-controller refuses to apply a v1 Secret that still has a
 * top-level "sops" key (not decrypted: no spec.decryption, or no "mac"),
 * so the ciphertext never lands in the cluster as the Secret's data.
 */
static bool encrypted_secret(struct ksjob *j)
{
	const cJSON *o;
	char msg[600];

	cJSON_ArrayForEach(o, j->objects)
	{
		const char *ns = yj_get_str(o, "/metadata/namespace");

		if (!streq_ptr(yj_get_str(o, "/kind"), "Secret") ||
		    !streq_ptr(yj_get_str(o, "/apiVersion"), "v1") ||
		    !cJSON_GetObjectItemCaseSensitive(o, "sops"))
			continue;
		snprintf(msg, sizeof(msg),
			 "Secret/%s%s%s is SOPS encrypted, configuring decryption is required for "
			 "this secret to be reconciled",
			 ns && *ns ? ns : "", ns && *ns ? "/" : "",
			 yj_get_str(o, "/metadata/name"));
		record(j, "ReconciliationFailed");
		fail(j, "ReconciliationFailed", msg, false, 0);
		return true;
	}
	return false;
}

static void work_done(struct rc *rc, int status)
{
	struct ksjob *j = rc->job;

	tree_drop(j);
	stage_log(j, "Built");
	/* the keys are not needed past the build: wipe them now */
	sops_identities_free(j->ids);
	j->ids = NULL;
	if (status < 0 || j->r < 0) {
		fail(j, status < 0 ? "BuildFailed" : j->reason,
		     status < 0 ? "the build was cancelled" : j->err.msg, false, 0);
		return;
	}
	if (encrypted_secret(j))
		return;
	start_apply(j);
}

static void start_build(struct ksjob *j)
{
	tree_hold(j);
	if (rc_work(j->rc, work, work_done) < 0) {
		tree_drop(j);
		fail(j, "BuildFailed", "cannot queue the build", false, 0);
	}
}

/* ---- decryption keys ---- */

/*
 * The age identities of the decryption Secret: every data key ending in
 * ".agekey" (Flux's DecryptionAgeExt).  Flux's other kinds (*.asc,
 * sops.vault-token, sops.aws-kms, ...) are ignored here; a document only
 * they could open fails at decryption, saying cflux does not support them.
 */
static void got_keys(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct ksjob *j = payload;
	const char *name = yj_get_str(j->rc->obj->json, "/spec/decryption/secretRef/name");
	const cJSON *it;
	char msg[600], e[256];

	if (r < 0) {
		if (r == -ENOENT)
			snprintf(msg, sizeof(msg), "secrets \"%s\" not found", name);
		else
			snprintf(msg, sizeof(msg), "cannot get sops decryption Secret '%s/%s': %s",
				 j->rc->obj->ns, name, err ? err->msg : op_strerror(r));
		fail(j, "BuildFailed", msg, false, 0);
		return;
	}
	j->ids = sops_identities_new();
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(obj, "data"))
	{
		size_t n = strlen(it->string ? it->string : "");
		char *text = NULL;
		size_t tl = 0;
		int a = -EINVAL;

		if (n < 7 || !streq(it->string + n - 7, ".agekey") || !cJSON_IsString(it))
			continue;
		if (b64_decode(it->valuestring, &text, &tl) == 0) {
			a = sops_identities_add(j->ids, text, tl, e, sizeof(e));
			explicit_bzero(text, tl);
		} else {
			snprintf(e, sizeof(e), "invalid base64");
		}
		free(text);
		if (a < 0) {
			snprintf(msg, sizeof(msg),
				 "failed to import '%s' data from sops decryption Secret '%s/%s': %s",
				 it->string, j->rc->obj->ns, name, e);
			fail(j, "BuildFailed", msg, false, 0);
			return;
		}
	}
	start_build(j);
}

/* spec.decryption: remember it, and read its Secret if it names one. */
static void load_keys(struct ksjob *j)
{
	const cJSON *d = yj_get(j->rc->obj->json, "/spec/decryption");
	const char *name = yj_get_str(d, "/secretRef/name");
	struct kube_ref kr = { .version = "v1", .resource = "secrets", .ns = j->rc->obj->ns };

	j->decrypt = cJSON_IsObject(d);
	if (!j->decrypt || !name || !*name) {
		start_build(j);
		return;
	}
	kr.name = name;
	if (kube_get(ctl_client(j->rc->ctl), &kr, NULL, got_keys, j) < 0)
		fail(j, "BuildFailed", "cannot read the sops decryption Secret", false, 0);
}

/* ---- variables ---- */

static void add_vars(struct ksjob *j, const cJSON *data, bool b64)
{
	kz_vars_add(j->vars, data, b64);
}

static void next_var_source(struct ksjob *j);

static void got_var_source(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct ksjob *j = payload;
	const cJSON *ref = cJSON_GetArrayItem(j->subst_from, j->subst_i);
	const char *kind = yj_get_str(ref, "/kind"), *name = yj_get_str(ref, "/name");
	char msg[512];

	if (r < 0) {
		if (r == -ENOENT && cJSON_IsTrue(yj_get(ref, "/optional"))) {
			j->subst_i++;
			next_var_source(j);
			return;
		}
		snprintf(msg, sizeof(msg), "substitute from '%s/%s' error: %s", kind, name,
			 err ? err->msg : op_strerror(r));
		fail(j, "BuildFailed", msg, false, 0);
		return;
	}
	add_vars(j, cJSON_GetObjectItemCaseSensitive(obj, "data"), streq(kind, "Secret"));
	j->subst_i++;
	next_var_source(j);
}

static const char *applier_sa(const struct ksjob *j);

/*
 * Where postBuild.substituteFrom is read: this cluster, as Flux reads it
 * even when applying elsewhere (spec.kubeConfig), and as the applier (the
 * chart gives the operator itself no right to read ConfigMaps).
 */
static struct kube_client *local_client(struct ksjob *j)
{
	if (!j->remote)
		return j->client;
	if (!j->local &&
	    ctl_applier_client(j->rc->ctl, j->rc->obj->ns, applier_sa(j), &j->local) < 0)
		return NULL;
	return j->local;
}

static void next_var_source(struct ksjob *j)
{
	const cJSON *ref = cJSON_GetArrayItem(j->subst_from, j->subst_i);
	const cJSON *subst = yj_get(j->rc->obj->json, "/spec/postBuild/substitute");

	if (ref) {
		const char *kind = yj_get_str(ref, "/kind"), *name = yj_get_str(ref, "/name");
		struct kube_ref kr = { .version = "v1", .ns = j->rc->obj->ns, .name = name };

		kr.resource = kind && streq(kind, "Secret") ? "secrets" : "configmaps";
		struct kube_client *c = local_client(j);

		if (!name || !c || kube_get(c, &kr, NULL, got_var_source, j) < 0)
			fail(j, "BuildFailed", "invalid postBuild.substituteFrom entry", true, 0);
		return;
	}
	if (cJSON_IsObject(subst))
		add_vars(j, subst, false);
	load_keys(j);
}

static void load_vars(struct ksjob *j)
{
	const cJSON *pb = yj_get(j->rc->obj->json, "/spec/postBuild");

	if (!cJSON_IsObject(pb)) {
		load_keys(j);
		return;
	}
	j->vars = cJSON_CreateObject();
	j->subst_from = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(pb, "substituteFrom"), 1);
	if (!j->subst_from)
		j->subst_from = cJSON_CreateArray();
	next_var_source(j);
}

/* ---- source and dependencies ---- */

static int check_dependencies(struct ksjob *j)
{
	char msg[600];
	int r = ctl_check_dependencies(j->rc->ctl, j->rc->obj, msg, sizeof(msg));

	if (r == -ELOOP)
		fail(j, "DependencyNotReady", msg, true, 0);
	else if (r < 0)
		fail(j, "DependencyNotReady", msg, false, j->k->requeue_dependency_ms);
	return r;
}

static bool parse_durations(struct ksjob *j)
{
	const cJSON *o = j->rc->obj->json;
	const char *iv = yj_get_str(o, "/spec/interval");
	const char *ri = yj_get_str(o, "/spec/retryInterval");
	const char *to = yj_get_str(o, "/spec/timeout");

	if (!iv || duration_parse(iv, &j->interval_ns) < 0 || j->interval_ns <= 0)
		j->interval_ns = 10 * NSEC_PER_MIN;
	if (!ri || duration_parse(ri, &j->retry_ns) < 0 || j->retry_ns <= 0)
		j->retry_ns = j->interval_ns;
	if (!to || duration_parse(to, &j->timeout_ns) < 0 || j->timeout_ns <= 0)
		j->timeout_ns = j->interval_ns;
	return iv != NULL;
}

/* Every source kind is found through the manager: a new one needs nothing here. */
static struct ctl *source_ctl(struct ksjob *j, const char *kind)
{
	struct ctl *c = mgr_ctl_kind(ctl_mgr(j->rc->ctl), kind);

	return c && ctl_desc(c)->source ? c : NULL;
}

static void fetch(struct rc *rc);

/* The service account the Kustomization acts as (its own, or the default), or NULL. */
static const char *applier_sa(const struct ksjob *j)
{
	const char *sa = yj_get_str(j->rc->obj->json, "/spec/serviceAccountName");

	if (!sa || !*sa)
		sa = j->k->default_sa && *j->k->default_sa ? j->k->default_sa : NULL;
	return sa;
}

/* ---- the spec ---- */

/*
 * Every field of the served v1 schema is either read below or named
 * here, so that none is accepted and then ignored.  sourceRef.apiVersion
 * is read by no one, in Flux either (the kind picks the source).
 */
const char *kustomization_unsupported(const cJSON *spec, char *msg, size_t n)
{
	const cJSON *e, *v;

	if ((v = yj_get(spec, "/kubeConfig/configMapRef")) && !cJSON_IsNull(v)) {
		snprintf(msg, n, "spec.kubeConfig.configMapRef is not supported by cflux (a cloud "
			 "provider's workload identity): use spec.kubeConfig.secretRef");
		return msg;
	}
	if ((v = yj_get(spec, "/decryption")) && !cJSON_IsNull(v)) {
		const char *p = yj_get_str(v, "/provider"), *sa = yj_get_str(v, "/serviceAccountName");

		/* Flux's CRD allows "sops" only; ours may be laxer, so say it here */
		if (!p || !streq(p, "sops")) {
			snprintf(msg, n, "spec.decryption.provider '%s' is not supported: only "
				 "'sops' is", p ? p : "");
			return msg;
		}
		if (sa && *sa) {
			snprintf(msg, n, "spec.decryption.serviceAccountName is not supported by "
				 "cflux (workload identity for KMS): use an age key in "
				 "spec.decryption.secretRef");
			return msg;
		}
	}
	if (cJSON_GetArraySize(yj_get(spec, "/healthCheckExprs")) > 0) {
		snprintf(msg, n, "spec.healthCheckExprs is not supported by cflux yet (CEL "
			 "expressions): use spec.healthChecks or spec.wait");
		return msg;
	}
	cJSON_ArrayForEach(e, yj_get(spec, "/dependsOn"))
		if (yj_get_str(e, "/readyExpr") && *yj_get_str(e, "/readyExpr")) {
			snprintf(msg, n, "spec.dependsOn[].readyExpr (of '%s') is not supported by "
				 "cflux yet (CEL expressions)",
				 yj_get_str(e, "/name") ? yj_get_str(e, "/name") : "");
			return msg;
		}
	return NULL;
}

/* ---- the client: this cluster, as the service account, or spec.kubeConfig's ---- */

static void reconcile_source(struct ksjob *j);
static void applier_failed(struct ksjob *j, const char *msg);

static void applier_client(struct ksjob *j, struct kube_client *base)
{
	if (applier_client_on(base, j->rc->obj->ns, applier_sa(j), &j->client) < 0) {
		j->applier_failed(j, "cannot impersonate the service account");
		return;
	}
	j->applier_next(j);
}

static void got_remote(int r, struct remote *remote, const char *msg, void *payload)
{
	struct ksjob *j = payload;

	if (r < 0) {
		j->applier_failed(j, msg);
		return;
	}
	j->remote = remote;
	j->mapper = remote ? remote_mapper(remote) : j->k->mapper;
	applier_client(j, remote ? remote_client(remote) : ctl_client(j->rc->ctl));
}

/*
 * The client and mapper the Kustomization applies, prunes and checks
 * health with: this cluster's, as its service account (spec, else the
 * default) when it has one; with spec.kubeConfig the remote cluster's
 * (remote.h), the service account impersonated there, as Flux.  Then
 * next(j), or failed(j, msg).
 */
static void applier(struct ksjob *j, void (*next)(struct ksjob *j),
		    void (*failed)(struct ksjob *j, const char *msg))
{
	j->applier_next = next;
	j->applier_failed = failed;
	remote_for(j->k->remotes, ctl_client(j->rc->ctl), j->rc->obj, got_remote, j);
}

static void reconcile(struct rc *rc)
{
	struct ksjob *j = rc->job;
	struct ks_ctl *k = ctl_data(rc->ctl);
	const cJSON *o = rc->obj->json;
	char msg[600];

	j->rc = rc;
	j->k = k;
	parse_durations(j);
	if (kustomization_unsupported(yj_get(o, "/spec"), msg, sizeof(msg))) {
		fail(j, "UnsupportedField", msg, true, 0);
		return;
	}
	applier(j, reconcile_source, applier_failed);
}

static void applier_failed(struct ksjob *j, const char *msg)
{
	fail(j, "ReconciliationFailed", msg, false, 0);
}

/* The client is ready: find the source's artifact. */
static void reconcile_source(struct ksjob *j)
{
	struct rc *rc = j->rc;
	struct ks_ctl *k = j->k;
	const cJSON *ref = yj_get(rc->obj->json, "/spec/sourceRef");
	const char *kind = yj_get_str(ref, "/kind"), *name = yj_get_str(ref, "/name");
	const char *ns = yj_get_str(ref, "/namespace");
	struct ctl *sctl;
	struct kobj *src;
	char *skey, msg[600];
	const char *path;

	if (!kind || !name) {
		fail(j, "ArtifactFailed", "spec.sourceRef needs kind and name", true, 0);
		return;
	}
	if (!ns || !*ns)
		ns = rc->obj->ns;
	if (k->no_cross_ns && !streq(ns, rc->obj->ns)) {
		snprintf(msg, sizeof(msg),
			 "can't access '%s/%s/%s', cross-namespace references have been blocked",
			 kind, ns, name);
		fail(j, "AccessDenied", msg, true, 0);
		return;
	}
	sctl = source_ctl(j, kind);
	if (!sctl) {
		snprintf(msg, sizeof(msg), "source kind '%s' is not supported yet", kind);
		fail(j, "ArtifactFailed", msg, true, 0);
		return;
	}
	skey = kobj_make_key(ns, name);
	src = informer_get(ctl_informer(sctl), skey);
	free(skey);
	if (!src) {
		/* The API's NotFound text, as Flux's condition carries it. */
		snprintf(msg, sizeof(msg), "%s.source.toolkit.fluxcd.io \"%s\" not found",
			 streq(kind, "Bucket") ? "buckets" :
			 streq(kind, "OCIRepository") ? "ocirepositories" : "gitrepositories", name);
		not_yet(j, msg, 0);
		return;
	}
	path = yj_get_str(src->json, "/status/artifact/path");
	j->digest = yj_get_str(src->json, "/status/artifact/digest") ?
			    xstrdup(yj_get_str(src->json, "/status/artifact/digest")) :
			    NULL;
	j->origin = yj_get_str(src->json, "/status/artifact/metadata/org.opencontainers.image.revision") ?
			    xstrdup(yj_get_str(src->json,
					       "/status/artifact/metadata/org.opencontainers.image.revision")) :
			    NULL;
	j->revision = yj_get_str(src->json, "/status/artifact/revision") ?
			      xstrdup(yj_get_str(src->json, "/status/artifact/revision")) :
			      NULL;
	/* kustomize-controller's events carry the source's revision (notifications show it). */
	rc_annotate(rc, "revision", j->revision);
	rc_annotate(rc, "originRevision", j->origin);
	if (!path || !j->digest || !j->revision || !storage_has(k->storage, path)) {
		char wait[DURATION_MAX];

		duration_format((int64_t)k->requeue_dependency_ms * NSEC_PER_MSEC, wait);
		snprintf(msg, sizeof(msg), "Source artifact not found, retrying in %s", wait);
		not_yet(j, msg, k->requeue_dependency_ms);
		return;
	}
	j->artifact = storage_abs(k->storage, path);
	if (check_dependencies(j) < 0)
		return;
	{
		char timeout[DURATION_MAX], *pmsg;

		duration_format(j->timeout_ns, timeout);
		pmsg = xasprintf("Fetching manifests for revision %s with a timeout of %s",
				 j->revision, timeout);
		rc_progress(rc, "Reconciliation in progress", "Progressing", pmsg, fetch);
		free(pmsg);
	}
}

/* Progress is recorded: read what the build needs from the spec, then the variables. */
static void fetch(struct rc *rc)
{
	struct ksjob *j = rc->job;
	const cJSON *o = rc->obj->json;

	j->path = xstrdup(yj_get_str(o, "/spec/path") ? yj_get_str(o, "/spec/path") : "");
	j->target_ns = yj_get_str(o, "/spec/targetNamespace") ?
			       xstrdup(yj_get_str(o, "/spec/targetNamespace")) :
			       NULL;
	kustomize_fields(j);
	j->strict = j->k->strict_substitution;
	load_vars(j);
}

/* ---- deletion ---- */

/*
 * Garbage collection on deletion, as the identity that applied.  As Flux:
 * a failed one keeps the finalizer and is retried (here with Ready=False
 * PruneFailed saying why), so nothing is left behind unseen; a service
 * account that no longer exists cannot prune, so its objects are named in
 * a Warning and the object is let go.
 */
static void gc_failed(struct ksjob *j, const char *msg)
{
	struct rc *rc = j->rc;

	rc_event(rc, "Warning", "PruneFailed", "%s", msg);
	log_error(NULL, "Garbage collection on deletion failed", "controller", "kustomization",
		  "object", rc->key, "error", msg, NULL);
	cond_set(rc->status, COND_READY, "False", "PruneFailed", msg, rc_gen(rc), time_now_ns());
	rc_retry(rc);
}

/* The reason of an Event Flux sends outside a reconcile: Ready's, else "info". */
static const char *ready_reason(const struct rc *rc)
{
	const char *r = yj_get_str(cond_get(rc->status, COND_READY), "/reason");

	return r && *r ? r : "info";
}

static void terminated(const struct wait_result *res, void *payload)
{
	struct ksjob *j = payload;
	struct rc *rc = j->rc;

	if (res->r < 0) {
		rc_event(rc, "Warning", ready_reason(rc), "failed to wait for resources termination");
		log_error(NULL, "failed to wait for resources termination", "controller",
			  "kustomization", "object", rc->key, "error", res->msg, NULL);
	}
	rc_finalized(rc);
}

/*
 * Deleted: the change set as a Normal Event, as Flux's finalize; with
 * deletionPolicy WaitForTermination the finalizer stays until what was
 * deleted is gone, or spec.timeout has passed (a Warning, then let go).
 */
static void pruned_all(struct apply_result *res, void *payload)
{
	struct ksjob *j = payload;
	struct rc *rc = j->rc;
	char msg[1024];
	int r;

	if (res->r < 0) {
		snprintf(msg, sizeof(msg), "pruning for deleted resource failed: %s", res->err.msg);
		gc_failed(j, msg);
		return;
	}
	if (!res->pruned[0]) {
		rc_finalized(rc);
		return;
	}
	rc_event(rc, "Normal", ready_reason(rc), "%s", res->pruned);
	if (!streq_ptr(yj_get_str(rc->obj->json, "/spec/deletionPolicy"), "WaitForTermination")) {
		rc_finalized(rc);
		return;
	}
	r = wait_terminated(j->client, j->mapper, res->pruned_refs, ms(j->timeout_ns),
			    terminated, j, NULL);
	if (r < 0)
		rc_finalized(rc);
}

static void gc_prune(struct ksjob *j)
{
	struct apply_opts o = {
		.field_manager = FIELD_MANAGER,
		.owner_name = j->rc->obj->name,
		.owner_ns = j->rc->obj->ns,
		.prune = true,
		.prev_inventory = yj_get(j->rc->obj->json, "/status/inventory"),
	};
	cJSON *none = cJSON_CreateArray();

	if (apply_set(j->client, j->mapper, none, &o, pruned_all, j, NULL) < 0)
		gc_failed(j, "pruning for deleted resource failed: cannot start");
	cJSON_Delete(none);
}

static void gc_applier_failed(struct ksjob *j, const char *msg)
{
	char *m = xasprintf("pruning for deleted resource failed: %s", msg);

	gc_failed(j, m);
	free(m);
}

static void gc_account_checked(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct ksjob *j = payload;
	struct rc *rc = j->rc;
	const char *sa = applier_sa(j);
	const cJSON *e;
	struct buf left = BUF_INIT(4096);
	char msg[600];

	if (r == -ENOENT) {
		cJSON_ArrayForEach(e, yj_get(rc->obj->json, "/status/inventory/entries"))
			buf_addf(&left, "%s%s", left.len ? ", " : "",
				 yj_get_str(e, "/id") ? yj_get_str(e, "/id") : "");
		rc_event(rc, "Warning", "PruneFailed",
			 "unable to prune objects: service account %s/%s not found: %s", rc->obj->ns,
			 sa, left.len ? left.buf : "(none)");
		log_error(NULL, "Skipping pruning, the account to impersonate is gone", "controller",
			  "kustomization", "object", rc->key, "serviceAccount", sa, NULL);
		buf_release(&left);
		rc_finalized(rc);
		return;
	}
	if (r < 0) {
		snprintf(msg, sizeof(msg), "pruning for deleted resource failed: service account "
			 "%s/%s: %s", rc->obj->ns, sa, err && err->msg[0] ? err->msg : op_strerror(r));
		gc_failed(j, msg);
		return;
	}
	applier(j, gc_prune, gc_applier_failed);
}

/*
 * Whether deletion deletes what the inventory lists, as Flux's
 * finalizerShouldDeleteResources: never when suspended or without
 * entries; MirrorPrune (the default) as spec.prune says, Delete always,
 * Orphan never, WaitForTermination as Delete (then waits).
 */
static bool delete_inventory(const cJSON *o)
{
	const char *policy = yj_get_str(o, "/spec/deletionPolicy");

	if (cJSON_IsTrue(yj_get(o, "/spec/suspend")) ||
	    cJSON_GetArraySize(yj_get(o, "/status/inventory/entries")) == 0)
		return false;
	if (!policy || !*policy || streq(policy, "MirrorPrune"))
		return cJSON_IsTrue(yj_get(o, "/spec/prune"));
	return streq(policy, "Delete") || streq(policy, "WaitForTermination");
}

static void finalize(struct rc *rc)
{
	struct ksjob *j = rc->job;
	const char *sa;

	j->rc = rc;
	j->k = ctl_data(rc->ctl);
	parse_durations(j);
	if (!delete_inventory(rc->obj->json)) {
		rc_finalized(rc);
		return;
	}
	sa = applier_sa(j);
	if (sa) {
		struct kube_ref ref = { .version = "v1", .resource = "serviceaccounts",
					.ns = rc->obj->ns, .name = sa };

		if (kube_get(ctl_client(rc->ctl), &ref, NULL, gc_account_checked, j) < 0)
			gc_account_checked(-EIO, NULL, NULL, j);
		return;
	}
	applier(j, gc_prune, gc_applier_failed);
}

/* A source's artifact revision changed: requeue the Kustomizations using it. */
static void on_source(struct ctl *ctl, struct ctl *from, enum informer_event ev, struct kobj *obj,
		      struct kobj *old)
{
	const char *rev = yj_get_str(obj->json, "/status/artifact/revision");
	const char *orev = old ? yj_get_str(old->json, "/status/artifact/revision") : NULL;
	const char *skind = ctl_desc(from)->kind;
	struct informer *inf = ctl_informer(ctl);
	struct kobj *ks;
	size_t it = 0;

	if (ev == INFORMER_DELETE || !rev || streq_ptr(rev, orev))
		return;
	while ((ks = informer_next(inf, &it))) {
		const cJSON *ref = yj_get(ks->json, "/spec/sourceRef");
		const char *kind = yj_get_str(ref, "/kind"), *name = yj_get_str(ref, "/name");
		const char *ns = yj_get_str(ref, "/namespace");

		if (streq_ptr(kind, skind) && name && streq(name, obj->name) &&
		    streq(ns && *ns ? ns : ks->ns, obj->ns))
			ctl_enqueue(ctl, ks->key);
	}
}

/* A Kustomization gone: its remote cluster's client with it. */
static void on_self(struct ctl *ctl, struct ctl *from, enum informer_event ev, struct kobj *obj,
		    struct kobj *old)
{
	struct ks_ctl *k = ctl_data(ctl);

	(void)from;
	(void)old;
	if (ev == INFORMER_DELETE)
		remote_forget_obj(k->remotes, obj);
}

void kustomization_watch_sources(struct ctl *ks)
{
	struct ctl *src = NULL;

	ctl_watch(ks, ks, on_self);

	while ((src = mgr_next_source(ctl_mgr(ks), src)))
		ctl_watch(ks, src, on_source);
}

const struct ctl_desc kustomization_desc = {
	.name = "kustomization",
	.component = "kustomize-controller",
	.kind = "Kustomization",
	.api_version = "kustomize.toolkit.fluxcd.io/v1",
	.ref = { .group = "kustomize.toolkit.fluxcd.io", .version = "v1",
		 .resource = "kustomizations" },
	.retry = BACKOFF_RECONCILE,
	.job_size = sizeof(struct ksjob),
	.job_release = job_release,
	.reconcile = reconcile,
	.finalize = finalize,
};
