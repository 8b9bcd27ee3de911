/*
 * apply.h: server-side apply of an object set in stages, with Flux's
 * inventory and prune — kustomize-controller's apply, asynchronous.
 *
 * apply_set() takes the built objects of one Kustomization and:
 *
 *   1. resolves every kind with the mapper; a kind that does not exist
 *      yet is accepted only when a CustomResourceDefinition in the same
 *      set defines it (its objects are checked after stage 1);
 *   2. checks the whole set first: GET and a server-side dry-run apply
 *      of every object whose kind exists (the dry-run alone for an
 *      object presumed new, see prev_inventory).  If any object is invalid,
 *      NOTHING is applied and the error names it ("Deployment/ns/web
 *      dry-run failed (Invalid): ...").  (Flux checks stage by stage, so
 *      a bad Deployment can leave new CRDs and Namespaces behind; here a
 *      bad object anywhere stops the whole revision.)
 *   3. applies in Flux's stages, waiting for each of the first two to be
 *      ready (lib/apply/wait): cluster definitions (CustomResourceDefinition,
 *      Namespace, ClusterRole), then class kinds (*Class), then the rest;
 *      within a stage objects are sorted in Flux's kind order, and only
 *      those that drifted are applied (drift = labels, annotations or
 *      anything outside metadata and status differs between the dry-run
 *      result and the live object);
 *   4. takes over fields that `kubectl` (client-side apply, edit,
 *      before-first-apply) owns, so a field removed from Git is removed
 *      from the cluster (a JSON patch of metadata.managedFields, as
 *      Flux's cleanup does);
 *   5. honours the per-object annotations
 *      kustomize.toolkit.fluxcd.io/ssa: Ignore (never applied),
 *      IfNotPresent (applied only if absent), Merge (applied without
 *      taking over kubectl's fields);
 *      kustomize.toolkit.fluxcd.io/force: Enabled (recreate on an
 *      immutable-field error, like opts->force);
 *      kustomize.toolkit.fluxcd.io/prune: Disabled (never pruned);
 *      kustomize.toolkit.fluxcd.io/reconcile: Disabled (left alone, kept
 *      in the inventory);
 *   6. labels every object kustomize.toolkit.fluxcd.io/name|namespace (or
 *      another controller's owner labels: opts->owner_label_prefix);
 *   7. prunes (opts->prune) what prev_inventory lists and the new set does
 *      not, if it still carries our owner labels: background deletion,
 *      Namespaces and CRDs last.
 *
 * Result: Flux's change set words ("Deployment/ns/web created",
 * "configured", "unchanged", "deleted", "skipped") and the new inventory
 * ({"entries":[{"id":"<ns>_<name>_<group>_<Kind>","v":"<version>"}]}, in
 * apply order, as status.inventory holds it).
 *
 * Async contract as client.h: apply_set() either fails and never calls
 * `done`, or returns 0 and calls it exactly once on the loop thread.
 * Secret values never appear in results or logs.
 */
#ifndef CFLUX_APPLY_APPLY_H
#define CFLUX_APPLY_APPLY_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "kube/client.h"
#include "kube/mapper.h"

#define APPLY_LABEL_NAME "kustomize.toolkit.fluxcd.io/name"
#define APPLY_LABEL_NAMESPACE "kustomize.toolkit.fluxcd.io/namespace"

struct apply_run;

struct apply_opts {
	const char *field_manager;   /* "kustomize-controller" */
	const char *owner_name;      /* owner labels; both or neither */
	const char *owner_ns;
	/*
	 * The owner labels' prefix: "<prefix>/name" and "<prefix>/namespace"
	 * (helm-controller's "helm.toolkit.fluxcd.io").  NULL: kustomize-
	 * controller's, APPLY_LABEL_NAME and APPLY_LABEL_NAMESPACE.
	 */
	const char *owner_label_prefix;
	const char *default_ns;      /* namespaced objects without one; NULL: an error */
	bool force;                  /* recreate on immutable-field errors */
	bool prune;
	const char *prune_propagation; /* Background (NULL), Foreground or Orphan */
	/*
	 * {"entries":[...]} of the last success, or NULL.  Also a hint: an
	 * object it does not list is presumed new, so its dry-run comes
	 * before any GET and, when the answer shows nothing stored (no
	 * resourceVersion), no GET is made; one stored after all costs one
	 * request more.  NULL presumes nothing.
	 */
	const cJSON *prev_inventory;
	uint64_t stage_wait_ms;      /* wait for stages 1 and 2; 0: 5 minutes */
	unsigned concurrency;        /* requests in flight; 0: 8 */
	/*
	 * Annotations under this prefix ("cflux.io/") are provenance: they
	 * are written with a change but never cause one, so they name the
	 * revision that last changed the object, and a commit that leaves an
	 * object alone does not touch it (a Deployment's annotations bump its
	 * generation and would make it roll and be waited for).  NULL: none.
	 */
	const char *provenance_prefix;
	/*
	 * An annotation saying where an object came from ("cflux.io/source-
	 * path": "app/deploy.yaml:12"): a failure about that object ends
	 * with " (from app/deploy.yaml:12)".  NULL: none.
	 */
	const char *origin_annotation;
	/*
	 * Detect-only drift.  An object whose annotation `drift_annotation`
	 * is "detect" (in the set or on the live object), or every object
	 * when `detect_only`, is never written: where the dry-run result
	 * differs from the live object, where it is absent, or where it would
	 * be pruned, the result's `drift` says so and names the fields.
	 * NULL and false: none.
	 */
	const char *drift_annotation;
	bool detect_only;
	/*
	 * With detect-only drift: each entry that differs also has
	 * "changes", apply_diff_changes() of the live object and the dry-run
	 * result — except a Secret's, whose values are never given.
	 */
	bool drift_values;
	/*
	 * HelmRelease's driftDetection.ignore: JSON pointers (a JSON array of
	 * strings, the caller's, valid until its next call) of one object.
	 * With detect-only drift they are left out of the comparison, live
	 * and dry-run alike, and "" leaves the object out.  Otherwise (the
	 * correction) each keeps its live value, or stays absent.  NULL
	 * (function or result): none.
	 */
	const cJSON *(*drift_ignore)(const cJSON *desired, void *payload);
	void *drift_ignore_payload;
};

struct apply_result {
	int r;                /* 0 or a negative errno */
	struct op_err err;    /* what and which object */
	bool prune_failed;    /* the failure happened while pruning */
	cJSON *inventory;     /* the new inventory (on success); borrowed */
	/*
	 * Flux's change sets, in its order: "Kind/ns/name created|configured"
	 * lines in apply order, and pruning's "Kind/ns/name deleted|skipped"
	 * (an object gone already is "deleted") in reverse apply order; ""
	 * when empty; borrowed.
	 */
	char *changes;
	char *pruned;
	/*
	 * The objects of `pruned` that were deleted (or were gone already):
	 * [{apiVersion, kind, metadata: {name, namespace}}], what
	 * wait_terminated() takes; borrowed.
	 */
	cJSON *pruned_refs;
	/*
	 * The objects this run created (they did not exist before it), as
	 * applied, also when the run failed part way: what Helm's
	 * cleanupOnFail deletes; borrowed.
	 */
	cJSON *created_refs;
	/*
	 * The objects already Current (kstatus) as the run left them — the
	 * apply's answer, or the live object when nothing was written —
	 * which a readiness wait need not watch (wait_drop()); borrowed.
	 */
	cJSON *current_refs;
	/*
	 * Detect-only objects that differ: [{"object": "Kind/ns/name",
	 * "fields": "spec.replicas, metadata.labels.app"}] ("absent", "not
	 * in the revision (not pruned)"), in apply order; borrowed.  Those
	 * present on both sides add "added", "changed" and "removed", as
	 * apply_patch_counts() counts them.
	 */
	cJSON *drift;
	unsigned created, configured, unchanged, deleted, skipped, drifted;
};

/*
 * Apply `objects` (a JSON array, borrowed: copied before return).
 * `done` gets the result, valid only during the callback.  Returns 0, or
 * -EINVAL for bad options.
 */
int apply_set(struct kube_client *c, struct kube_mapper *m, const cJSON *objects,
	      const struct apply_opts *opts, void (*done)(struct apply_result *res, void *payload),
	      void *payload, struct apply_run **ret);

/* --- pure helpers, exported for tests --- */

/* 0: cluster definitions, 1: class kinds, 2: the rest (Flux's stages). */
int apply_stage(const char *api_version, const char *kind);

/* Flux's kind order: negative for the first kinds, 0 for unknown, positive for the last. */
int apply_kind_rank(const char *kind);

/* Flux's object order: kind rank, then group, kind, namespace, name. */
int apply_cmp(const cJSON *a, const cJSON *b);

/* "<ns>_<name>_<group>_<Kind>" (':' in names written "__"), malloc'd. */
char *apply_inventory_id(const char *ns, const char *name, const char *group, const char *kind);

/*
 * The other way: an inventory entry's id and version ("v1") as an object
 * reference {apiVersion, kind, metadata: {name[, namespace]}}, or NULL
 * for an id not of that form.  Caller frees.
 */
cJSON *apply_inventory_ref(const char *id, const char *version);

/*
 * Whether `dry` (a dry-run result) differs from `live`: labels,
 * annotations (those under `provenance_prefix` aside; may be NULL), or
 * anything outside metadata and status.
 */
bool apply_drifted(const cJSON *live, const cJSON *dry, const char *provenance_prefix);

/*
 * The same comparison, field by field: how many fields differ, their
 * paths ("spec.replicas", "metadata.labels.app", "spec.ports[0].port")
 * appended to `out` (may be NULL), comma-separated, at most `max` of them
 * and then ", ...".  An absent map equals an empty one only for labels
 * and annotations, as in apply_drifted().
 */
unsigned apply_diff(const cJSON *live, const cJSON *dry, const char *provenance_prefix,
		    struct buf *out, unsigned max);
/*
 * The same differences with their values: a new array of {"path",
 * "live", "dry"} (a side without the field has no member), every one of
 * them, in apply_diff()'s order.  Values are copied as they are: the
 * caller masks what must not be shown.
 */
cJSON *apply_diff_changes(const cJSON *live, const cJSON *dry, const char *provenance_prefix);

/*
 * The same comparison as the JSON patch operations fluxcd/pkg/ssa's
 * jsondiff makes of it (wI2L/jsondiff, rationalized), counted by kind:
 * helm-controller's "changed (x additions, y changes, z removals)".
 * Removals within labels and annotations are not counted, as there.
 */
void apply_patch_counts(const cJSON *live, const cJSON *dry, unsigned *added, unsigned *changed,
			unsigned *removed);

#endif
