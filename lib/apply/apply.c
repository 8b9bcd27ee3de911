/*
 * apply.c: staged server-side apply, inventory and prune (see apply.h).
 *
 * DESIGN
 * A struct apply_run walks through phases; in each, every object that
 * takes part runs its own small chain of requests, at most
 * `concurrency` objects at a time, and the phase ends when the last
 * chain has finished (`active` reaches 0 with nothing queued):
 *
 *   RESOLVE   mapper_resolve() per object (cached after the first); a
 *             NoMatch is asked again NOMATCH_TRIES times unless a CRD
 *             of the set defines the kind (then it waits for stage 0)
 *   CHECK     GET the live object, then dry-run apply (all objects whose
 *             kind exists); immutable-field errors mark a recreate when
 *             forced; any other error fails the run before anything
 *             is written.  An object the given previous inventory does
 *             not list is presumed new: its dry-run comes first, and an
 *             answer without a resourceVersion (nothing stored) stands
 *             for the GET's 404; any other answer goes the usual way
 *   STAGE s   (s = 0, 1, 2) for the stage's objects: deferred kinds are
 *             resolved and checked now; managedFields takeover; apply
 *             what drifted (recreate: delete, wait until gone, apply);
 *             then, for stages 0 and 1, wait until they are ready
 *   PRUNE     GET and DELETE what left the set
 *   DONE      report
 *
 * Objects are copied at the start; the run owns everything it touches
 * and frees it after `done` returns.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply/apply.h"
#include "apply/health.h"
#include "apply/wait.h"
#include "base/alloc.h"
#include "base/buf.h"
#include "base/hmap.h"
#include "base/str.h"
#include "yj/yj.h"
#include "base/banned.h"

#define ANN_SSA "kustomize.toolkit.fluxcd.io/ssa"
#define ANN_FORCE "kustomize.toolkit.fluxcd.io/force"
#define ANN_PRUNE "kustomize.toolkit.fluxcd.io/prune"
#define ANN_RECONCILE "kustomize.toolkit.fluxcd.io/reconcile"
#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"
#define DELETE_POLL_MS 500
/*
 * A kind discovery does not know is asked for again this many times, this
 * far apart (past the mapper's one-second memory of a miss), before the
 * object fails: a truly unknown kind costs a few seconds, not the stage
 * timeout.
 */
#define NOMATCH_TRIES 3
#define NOMATCH_RETRY_MS 1100

enum phase { PH_RESOLVE, PH_CHECK, PH_STAGE0, PH_STAGE1, PH_STAGE2, PH_PRUNE, PH_PRUNE_DEFS, PH_DONE };

enum action { ACT_NONE, ACT_CREATED, ACT_CONFIGURED, ACT_UNCHANGED, ACT_SKIPPED, ACT_DELETED };

struct aobj {
	struct apply_run *run;
	cJSON *desired;       /* owned; labels added */
	const char *av, *kind, *name, *ns; /* borrowed from desired (ns may be NULL) */
	char *group;          /* from apiVersion */
	int stage;
	struct kube_mapping map; /* once resolved; strings are our own copies (map_own) */
	char *map_own[3];
	bool resolved, deferred, checked;
	bool ignore;          /* ssa: Ignore, reconcile: disabled */
	bool if_not_present;
	bool merge;           /* ssa: Merge: no field-manager cleanup */
	bool detect;          /* drift detected, never written (opts.drift_annotation) */
	bool force;
	bool recreate;        /* immutable field and forced */
	cJSON *live;          /* GET result, or NULL when absent */
	cJSON *dry;           /* dry-run result */
	cJSON *result;        /* the apply's answer: the object as it is now */
	enum action act;
	uv_timer_t *timer;    /* recreate: waiting for the old object to go; a NoMatch retry */
	unsigned rechecks;    /* the live object moved between GET and dry-run */
	bool dry_first;       /* presumed new: the dry-run before any GET (CHECK) */
	unsigned resolve_tries; /* a kind not (yet) in discovery: asked again */
};

struct apply_run {
	struct kube_client *c;
	struct kube_mapper *m;
	struct apply_opts o;
	char *field_manager, *owner_name, *owner_ns, *default_ns;
	char *label_name, *label_ns; /* the owner labels' keys */
	cJSON *prev_inventory;
	struct hmap known; /* prev_inventory's ids (keys borrowed from it) */
	struct aobj *objs; /* the set, sorted in apply order */
	size_t n;
	struct aobj *stale; /* prune candidates, definitions (Namespace, CRD) last */
	size_t nstale, stale_defs; /* stale[stale_defs..] are pruned after the rest */
	bool waited[2];
	bool in_phase, again; /* run_phase() never nests: see there */
	enum phase phase;
	size_t next;     /* next object to start in this phase */
	unsigned active; /* chains running */
	int r;
	struct op_err err;
	bool prune_failed;
	struct buf changes, pruned; /* made at the end by change_sets() */
	cJSON *drift; /* apply_result.drift */
	unsigned created, configured, unchanged, deleted, skipped;
	void (*done)(struct apply_result *, void *);
	void *payload;
};

/* ---- pure helpers ---- */

static const char *const first_kinds[] = {
	"CustomResourceDefinition", "Namespace", "ClusterRole", "ClusterClass", "RuntimeClass",
	"PriorityClass", "StorageClass", "VolumeSnapshotClass", "IngressClass", "GatewayClass",
	"ClusterRoleBinding", "ResourceQuota", "ServiceAccount", "Role", "RoleBinding",
	"ConfigMap", "Secret", "Service", "LimitRange", "Deployment", "StatefulSet", "CronJob",
	"PodDisruptionBudget",
};
static const char *const last_kinds[] = { "MutatingWebhookConfiguration",
					  "ValidatingWebhookConfiguration" };

int apply_kind_rank(const char *kind)
{
	size_t i, nf = sizeof(first_kinds) / sizeof(first_kinds[0]);

	for (i = 0; i < nf; i++)
		if (streq(kind, first_kinds[i]))
			return -(int)nf + (int)i;
	for (i = 0; i < sizeof(last_kinds) / sizeof(last_kinds[0]); i++)
		if (streq(kind, last_kinds[i]))
			return 1 + (int)i;
	return 0;
}

static char *group_of(const char *av)
{
	const char *slash = av ? strchr(av, '/') : NULL;

	return slash ? xstrndup(av, (size_t)(slash - av)) : xstrdup("");
}

int apply_stage(const char *api_version, const char *kind)
{
	if (streq(kind, "CustomResourceDefinition") || streq(kind, "Namespace") ||
	    (streq(kind, "ClusterRole") && str_startswith(api_version, "rbac.authorization.k8s.io/")))
		return 0;
	if (str_endswith(kind, "Class"))
		return 1;
	return 2;
}

int apply_cmp(const cJSON *a, const cJSON *b)
{
	const char *ka = strempty(yj_get_str(a, "/kind")), *kb = strempty(yj_get_str(b, "/kind"));
	char *ga = group_of(yj_get_str(a, "/apiVersion")), *gb = group_of(yj_get_str(b, "/apiVersion"));
	int ra = apply_kind_rank(ka), rb = apply_kind_rank(kb), c;

	if (!streq(ga, gb) || !streq(ka, kb)) {
		c = ra != rb ? (ra < rb ? -1 : 1) : strcmp(ga, gb) ? strcmp(ga, gb) : strcmp(ka, kb);
	} else {
		c = strcmp(strempty(yj_get_str(a, "/metadata/namespace")),
			   strempty(yj_get_str(b, "/metadata/namespace")));
		if (!c)
			c = strcmp(strempty(yj_get_str(a, "/metadata/name")),
				   strempty(yj_get_str(b, "/metadata/name")));
	}
	free(ga);
	free(gb);
	return c;
}

char *apply_inventory_id(const char *ns, const char *name, const char *group, const char *kind)
{
	struct buf b = BUF_INIT(4096);
	const char *p;

	buf_addf(&b, "%s_", strempty(ns));
	for (p = name; *p; p++) {
		if (*p == ':')
			buf_adds(&b, "__");
		else
			buf_add(&b, p, 1);
	}
	buf_addf(&b, "_%s_%s", strempty(group), kind);
	return buf_detach(&b, NULL);
}

static bool json_equal(const cJSON *a, const cJSON *b)
{
	if (!a || !b)
		return !a && !b;
	return cJSON_Compare(a, b, true);
}

/* An absent map and an empty one are the same to the apiserver. */
static bool maps_equal(const cJSON *a, const cJSON *b)
{
	bool ea = !a || !cJSON_GetArraySize(a), eb = !b || !cJSON_GetArraySize(b);

	if (ea || eb)
		return ea && eb;
	return json_equal(a, b);
}

/* A copy of annotations `a` without the keys under `prefix`. */
static cJSON *without_prefix(const cJSON *a, const char *prefix)
{
	cJSON *c = a ? cJSON_Duplicate(a, 1) : NULL, *it, *next;

	if (!c || !prefix)
		return c;
	for (it = c->child; it; it = next) {
		next = it->next;
		if (it->string && str_startswith(it->string, prefix))
			cJSON_Delete(cJSON_DetachItemViaPointer(c, it));
	}
	return c;
}

/* Counting and naming differing paths: the state of one apply_diff(). */
struct diff {
	struct buf path; /* where we are: "spec.template" */
	struct buf *out;
	unsigned n, max;
	cJSON *changes; /* apply_diff_changes(): [{path, live, dry}], or NULL */
};

/* A differing path; `a` the live value, `b` the dry-run's (either may be NULL). */
static void diff_add(struct diff *d, const cJSON *a, const cJSON *b)
{
	if (d->changes) {
		cJSON *c = cJSON_CreateObject();

		cJSON_AddStringToObject(c, "path", d->path.buf);
		if (a)
			cJSON_AddItemToObject(c, "live", cJSON_Duplicate(a, 1));
		if (b)
			cJSON_AddItemToObject(c, "dry", cJSON_Duplicate(b, 1));
		cJSON_AddItemToArray(d->changes, c);
	}
	d->n++;
	if (!d->out)
		return;
	if (d->n > d->max) {
		if (d->n == d->max + 1)
			buf_adds(d->out, ", ...");
		return;
	}
	if (d->n > 1)
		buf_adds(d->out, ", ");
	buf_add(d->out, d->path.buf, d->path.len);
}

static void diff_at(struct diff *d, const cJSON *a, const cJSON *b);

/* Each member of objects `a` and `b` (either may be NULL) under the current path. */
static void diff_members(struct diff *d, const cJSON *a, const cJSON *b)
{
	const cJSON *it;
	size_t at = d->path.len;

	cJSON_ArrayForEach(it, a) {
		buf_addf(&d->path, "%s%s", at ? "." : "", it->string);
		diff_at(d, it, cJSON_GetObjectItemCaseSensitive(b, it->string));
		buf_truncate(&d->path, at);
	}
	cJSON_ArrayForEach(it, b) {
		if (cJSON_GetObjectItemCaseSensitive(a, it->string))
			continue;
		buf_addf(&d->path, "%s%s", at ? "." : "", it->string);
		diff_add(d, NULL, it);
		buf_truncate(&d->path, at);
	}
}

static void diff_at(struct diff *d, const cJSON *a, const cJSON *b)
{
	size_t at = d->path.len;

	if (json_equal(a, b))
		return;
	if (cJSON_IsObject(a) && cJSON_IsObject(b)) {
		diff_members(d, a, b);
	} else if (cJSON_IsArray(a) && cJSON_IsArray(b) &&
		   cJSON_GetArraySize(a) == cJSON_GetArraySize(b)) {
		const cJSON *x, *y = b->child;
		int i = 0;

		cJSON_ArrayForEach(x, a) {
			buf_addf(&d->path, "[%d]", i++);
			diff_at(d, x, y);
			buf_truncate(&d->path, at);
			y = y->next;
		}
	} else {
		diff_add(d, a, b);
	}
}

static unsigned diff_objects(const cJSON *live, const cJSON *dry, const char *provenance_prefix,
			     struct buf *out, unsigned max, cJSON *changes)
{
	struct diff d = { .path = BUF_INIT(4096), .out = out, .max = max, .changes = changes };
	cJSON *x, *y;

	if (!maps_equal(yj_get(dry, "/metadata/labels"), yj_get(live, "/metadata/labels"))) {
		buf_adds(&d.path, "metadata.labels");
		diff_members(&d, yj_get(live, "/metadata/labels"), yj_get(dry, "/metadata/labels"));
		buf_truncate(&d.path, 0);
	}
	x = without_prefix(yj_get(dry, "/metadata/annotations"), provenance_prefix);
	y = without_prefix(yj_get(live, "/metadata/annotations"), provenance_prefix);
	if (!maps_equal(x, y)) {
		buf_adds(&d.path, "metadata.annotations");
		diff_members(&d, y, x);
		buf_truncate(&d.path, 0);
	}
	cJSON_Delete(x);
	cJSON_Delete(y);
	x = cJSON_Duplicate(live, 1);
	y = cJSON_Duplicate(dry, 1);
	cJSON_DeleteItemFromObjectCaseSensitive(x, "metadata");
	cJSON_DeleteItemFromObjectCaseSensitive(x, "status");
	cJSON_DeleteItemFromObjectCaseSensitive(y, "metadata");
	cJSON_DeleteItemFromObjectCaseSensitive(y, "status");
	diff_members(&d, x, y);
	cJSON_Delete(x);
	cJSON_Delete(y);
	buf_release(&d.path);
	return d.n;
}

/*
 * ---- JSON patch operations, counted as fluxcd/pkg/ssa's jsondiff counts
 * them (wI2L/jsondiff with Rationalize): helm-controller's drift summary.
 *
 * Members in sorted key order: both present, compared; only in the live
 * object, "remove"; only in the dry-run, "add".  Arrays by index: extra
 * live elements removed, extra dry-run ones added.  Differing kinds or
 * scalars, "replace".  Rationalize: the operations under one value are
 * replaced by one "replace" of it when their JSON is longer than that
 * replace's (values counted as Go marshals them, HTML-safe; an "add"
 * counts no value length, as jsondiff has it without factorizing).
 */
#define OP_BASE_LEN 19 /* {"op":"","path":""} */
#define VALUE_FIELD_LEN 9 /* ,"value": */

struct jd {
	struct buf ptr; /* the JSON pointer at hand */
	char *ops;      /* 'a', 'r' (replace), 'd' (remove) */
	size_t *lens;
	size_t n, cap;
};

static size_t go_json_len(const cJSON *v)
{
	struct buf c = BUF_INIT(SIZE_MAX), h = BUF_INIT(SIZE_MAX);
	size_t n;

	yj_print_canonical(v, &c);
	yj_escape_html(c.buf ? c.buf : "null", c.buf ? c.len : 4, &h);
	n = h.len;
	buf_release(&c);
	buf_release(&h);
	return n;
}

static void jd_op(struct jd *d, char op, size_t value_len)
{
	size_t len = OP_BASE_LEN + d->ptr.len;

	if (d->n == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 16;
		d->ops = xrealloc(d->ops, d->cap);
		d->lens = xrealloc(d->lens, d->cap * sizeof(*d->lens));
	}
	len += op == 'a' ? 3 + VALUE_FIELD_LEN : op == 'd' ? 6 : 7 + VALUE_FIELD_LEN + value_len;
	d->ops[d->n] = op;
	d->lens[d->n++] = len;
}

/* The JSON kind: false and true are one. */
static int jd_kind(const cJSON *v)
{
	return cJSON_IsBool(v) ? cJSON_True : (v->type & 0xff);
}

static void jd_key(struct buf *ptr, const char *k)
{
	buf_addch(ptr, '/');
	for (; *k; k++) {
		if (*k == '~')
			buf_adds(ptr, "~0");
		else if (*k == '/')
			buf_adds(ptr, "~1");
		else
			buf_addch(ptr, *k);
	}
}

static void jd_diff(struct jd *d, const cJSON *src, const cJSON *tgt);

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void jd_objects(struct jd *d, const cJSON *src, const cJSON *tgt)
{
	size_t n = 0, at = d->ptr.len, i;
	const char **keys = xcalloc((size_t)cJSON_GetArraySize(src) + (size_t)cJSON_GetArraySize(tgt) + 1,
				    sizeof(*keys));
	const cJSON *it;

	cJSON_ArrayForEach(it, src)
		keys[n++] = it->string;
	cJSON_ArrayForEach(it, tgt)
		if (!cJSON_GetObjectItemCaseSensitive(src, it->string))
			keys[n++] = it->string;
	qsort(keys, n, sizeof(*keys), cmp_key);
	for (i = 0; i < n; i++) {
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(src, keys[i]);
		const cJSON *b = cJSON_GetObjectItemCaseSensitive(tgt, keys[i]);

		jd_key(&d->ptr, keys[i]);
		if (a && b)
			jd_diff(d, a, b);
		else if (a)
			jd_op(d, 'd', 0);
		else
			jd_op(d, 'a', 0);
		buf_truncate(&d->ptr, at);
	}
	free(keys);
}

static void jd_arrays(struct jd *d, const cJSON *src, const cJSON *tgt)
{
	int sl = cJSON_GetArraySize(src), tl = cJSON_GetArraySize(tgt);
	int ml = sl < tl ? sl : tl, i;
	size_t at = d->ptr.len;

	if (tl < sl) {
		buf_addf(&d->ptr, "/%d", ml);
		for (i = ml; i < sl; i++)
			jd_op(d, 'd', 0);
		buf_truncate(&d->ptr, at);
	}
	for (i = 0; i < ml; i++) {
		buf_addf(&d->ptr, "/%d", i);
		jd_diff(d, cJSON_GetArrayItem(src, i), cJSON_GetArrayItem(tgt, i));
		buf_truncate(&d->ptr, at);
	}
	if (tl > sl) {
		buf_adds(&d->ptr, "/-");
		for (i = ml; i < tl; i++)
			jd_op(d, 'a', 0);
		buf_truncate(&d->ptr, at);
	}
}

static void jd_diff(struct jd *d, const cJSON *src, const cJSON *tgt)
{
	size_t size = d->n, cur = 0, i;

	if (jd_kind(src) != jd_kind(tgt)) {
		if (d->ptr.len == 0)
			jd_op(d, 'a', 0);
		else
			jd_op(d, 'r', go_json_len(tgt));
		return;
	}
	if (json_equal(src, tgt))
		return;
	if (cJSON_IsArray(src))
		jd_arrays(d, src, tgt);
	else if (cJSON_IsObject(src))
		jd_objects(d, src, tgt);
	else {
		jd_op(d, 'r', go_json_len(tgt));
		return;
	}
	for (i = size; i < d->n; i++)
		cur += d->lens[i];
	if (d->n > size &&
	    cur > OP_BASE_LEN + 7 + d->ptr.len + VALUE_FIELD_LEN + go_json_len(tgt)) {
		d->n = size;
		jd_op(d, 'r', go_json_len(tgt));
	}
}

/* {"metadata": {"annotations", "labels"}} of `obj`, as jsondiff's copy. */
static cJSON *annotations_and_labels(const cJSON *obj)
{
	static const char *const keys[] = { "annotations", "labels" };
	static const char *const paths[] = { "/metadata/annotations", "/metadata/labels" };
	cJSON *c = cJSON_CreateObject(), *m = NULL;

	for (size_t i = 0; i < 2; i++) {
		const cJSON *v = yj_get(obj, paths[i]);

		if (!v)
			continue;
		if (!m)
			m = cJSON_AddObjectToObject(c, "metadata");
		cJSON_AddItemToObject(m, keys[i], cJSON_Duplicate(v, 1));
	}
	return c;
}

void apply_patch_counts(const cJSON *live, const cJSON *dry, unsigned *added, unsigned *changed,
			unsigned *removed)
{
	struct jd d = { .ptr = BUF_INIT(SIZE_MAX) };
	cJSON *x = annotations_and_labels(live), *y = annotations_and_labels(dry);
	size_t meta;

	*added = *changed = *removed = 0;
	jd_diff(&d, x, y);
	/* jsondiff drops the metadata's removals (labels core controllers add). */
	meta = d.n;
	cJSON_Delete(x);
	cJSON_Delete(y);
	x = cJSON_Duplicate(live, 1);
	y = cJSON_Duplicate(dry, 1);
	cJSON_DeleteItemFromObjectCaseSensitive(x, "metadata");
	cJSON_DeleteItemFromObjectCaseSensitive(x, "status");
	cJSON_DeleteItemFromObjectCaseSensitive(y, "metadata");
	cJSON_DeleteItemFromObjectCaseSensitive(y, "status");
	buf_truncate(&d.ptr, 0);
	jd_diff(&d, x, y);
	for (size_t i = 0; i < d.n; i++) {
		if (d.ops[i] == 'a')
			(*added)++;
		else if (d.ops[i] == 'r')
			(*changed)++;
		else if (i >= meta)
			(*removed)++;
	}
	cJSON_Delete(x);
	cJSON_Delete(y);
	free(d.ops);
	free(d.lens);
	buf_release(&d.ptr);
}

unsigned apply_diff(const cJSON *live, const cJSON *dry, const char *provenance_prefix,
		    struct buf *out, unsigned max)
{
	return diff_objects(live, dry, provenance_prefix, out, max, NULL);
}

cJSON *apply_diff_changes(const cJSON *live, const cJSON *dry, const char *provenance_prefix)
{
	cJSON *changes = cJSON_CreateArray();

	diff_objects(live, dry, provenance_prefix, NULL, 0, changes);
	return changes;
}

bool apply_drifted(const cJSON *live, const cJSON *dry, const char *provenance_prefix)
{
	if (!live || !yj_get_str(dry, "/metadata/resourceVersion"))
		return true;
	return apply_diff(live, dry, provenance_prefix, NULL, 0) > 0;
}

/* A label or annotation `key` equal to `val`, case-insensitively (Flux's AnyInMetadata). */
static bool meta_is(const cJSON *obj, const char *key, const char *val)
{
	const cJSON *l = yj_get(obj, "/metadata/labels"), *a = yj_get(obj, "/metadata/annotations");
	const char *lv = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(l, key));
	const char *av = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, key));

	return (lv && *lv && !strcasecmp(lv, val)) || (av && *av && !strcasecmp(av, val));
}

/* ---- the run ---- */

/* Whether `obj` (desired or live) is detect-only in this run. */
static bool run_detects(const struct apply_run *run, const cJSON *obj)
{
	return run->o.detect_only ||
	       (run->o.drift_annotation && meta_is(obj, run->o.drift_annotation, "detect"));
}

static void describe(const struct aobj *o, struct buf *b)
{
	if (o->ns && *o->ns)
		buf_addf(b, "%s/%s/%s", o->kind, o->ns, o->name);
	else
		buf_addf(b, "%s/%s", o->kind, o->name);
}

static void fail_obj(struct apply_run *run, struct aobj *o, int r, const char *what,
		     const struct op_err *err)
{
	struct buf b = BUF_INIT(4096);

	if (run->r < 0)
		return;
	describe(o, &b);
	if (err && err->reason[0])
		buf_addf(&b, " %s (%s): %s", what, err->reason, err->msg);
	else
		buf_addf(&b, " %s: %s", what, err && err->msg[0] ? err->msg : op_strerror(r));
	if (run->o.origin_annotation) {
		const cJSON *meta = cJSON_GetObjectItemCaseSensitive(o->desired, "metadata");
		const char *from = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(meta, "annotations"), run->o.origin_annotation));

		if (from)
			buf_addf(&b, " (from %s)", from);
	}
	run->r = r < 0 ? r : -EIO;
	op_err_set(&run->err, run->r, "%s", b.buf);
	buf_release(&b);
}

static void run_phase(struct apply_run *run);
static void obj_next(struct aobj *o);

static void obj_finished(struct aobj *o)
{
	struct apply_run *run = o->run;

	run->active--;
	run_phase(run);
}

/*
 * Keep mapping `m` for `o`.  The mapper's strings die with its cache
 * (mapper_invalidate() after stage 0), so they are copied.
 */
static void keep_mapping(struct aobj *o, const struct kube_mapping *m)
{
	int i;

	for (i = 0; i < 3; i++)
		free(o->map_own[i]);
	o->map = *m;
	o->map.group = o->map_own[0] = xstrdup(m->group ? m->group : "");
	o->map.version = o->map_own[1] = xstrdup(m->version);
	o->map.resource = o->map_own[2] = xstrdup(m->resource);
	o->map.kind = o->kind;
}

static struct kube_ref obj_ref(const struct aobj *o)
{
	struct kube_ref ref = {
		.group = o->map.group,
		.version = o->map.version,
		.resource = o->map.resource,
		.ns = o->map.namespaced ? o->ns : NULL,
		.name = o->name,
	};

	return ref;
}

/* Take mapping `m` for `o`: namespace defaulting or stripping. */
static void take_mapping(struct aobj *o, const struct kube_mapping *m)
{
	struct apply_run *run = o->run;

	{
		keep_mapping(o, m);
		o->resolved = true;
		if (m->namespaced && (!o->ns || !*o->ns)) {
			if (run->default_ns) {
				cJSON *meta = cJSON_GetObjectItemCaseSensitive(o->desired, "metadata");

				cJSON_AddStringToObject(meta, "namespace", run->default_ns);
				o->ns = yj_get_str(o->desired, "/metadata/namespace");
			} else {
				struct op_err e = OP_ERR_INIT;

				op_err_set(&e, -EINVAL, "namespace not specified");
				fail_obj(run, o, -EINVAL, "invalid", &e);
			}
		} else if (!m->namespaced) {
			o->ns = NULL;
			cJSON_DeleteItemFromObjectCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(o->desired, "metadata"), "namespace");
		}
	}
}

static void resolve_retry(uv_timer_t *t);
static void timer_free(uv_handle_t *h);

static void resolved(int r, const struct kube_mapping *m, const struct op_err *err, void *p)
{
	struct aobj *o = p;
	struct apply_run *run = o->run;

	if (r == 0) {
		take_mapping(o, m);
	} else if (r == -ENOENT && run->phase == PH_RESOLVE) {
		/* Maybe a CRD of this set defines it: look after stage 0. */
		size_t i;

		for (i = 0; i < run->n; i++) {
			const cJSON *d = run->objs[i].desired;

			if (streq(run->objs[i].kind, "CustomResourceDefinition") &&
			    streq(strempty(yj_get_str(d, "/spec/group")), o->group) &&
			    streq(strempty(yj_get_str(d, "/spec/names/kind")), o->kind))
				o->deferred = true;
		}
		if (!o->deferred && o->resolve_tries < NOMATCH_TRIES) {
			/*
			 * Discovery can miss a kind for a moment, a built-in one
			 * included, while the apiserver takes in CRDs another
			 * apply just created: ask again, briefly, as Flux's
			 * deferred mapper does, before calling it unknown.
			 */
			o->resolve_tries++;
			o->timer = xmalloc(sizeof(*o->timer));
			uv_timer_init(kube_client_loop(run->c), o->timer);
			o->timer->data = o;
			uv_timer_start(o->timer, resolve_retry, NOMATCH_RETRY_MS, 0);
			return;
		}
		if (!o->deferred)
			fail_obj(run, o, r, "dry-run failed", err);
	} else {
		fail_obj(run, o, r, "dry-run failed", err);
	}
	o->resolve_tries = 0;
	obj_finished(o);
}

static void resolve_retry(uv_timer_t *t)
{
	struct aobj *o = t->data;

	uv_close((uv_handle_t *)t, timer_free);
	o->timer = NULL;
	if (mapper_resolve(o->run->m, o->av, o->kind, resolved, o) < 0) {
		fail_obj(o->run, o, -EIO, "dry-run failed", NULL);
		o->resolve_tries = 0;
		obj_finished(o);
	}
}

/* ---- CHECK: get + dry-run ---- */

static void stage_object(struct aobj *o);

/* A check is over: in CHECK the chain ends; a deferred kind's goes on to be staged. */
static void check_done(struct aobj *o)
{
	if (o->run->phase == PH_CHECK || o->run->r < 0)
		obj_finished(o);
	else
		stage_object(o);
}

static bool immutable_error(const struct op_err *err)
{
	return err && (strstr(err->msg, "field is immutable") || strstr(err->msg, "immutable"));
}

static void start_check(struct aobj *o);
static char *obj_id(const struct aobj *o);

/* Does the set itself create Namespace `ns`? */
static bool set_creates_namespace(const struct apply_run *run, const char *ns)
{
	size_t i;

	for (i = 0; ns && i < run->n; i++)
		if (streq(run->objs[i].kind, "Namespace") && streq(run->objs[i].name, ns))
			return true;
	return false;
}

static void dry_run_done(int r, const cJSON *obj, const struct op_err *err, void *p)
{
	struct aobj *o = p;

	if (r == -ENOENT && o->run->phase == PH_CHECK && !o->live &&
	    set_creates_namespace(o->run, o->ns)) {
		/* Its namespace comes with stage 0: check it there. */
		o->dry_first = false;
		obj_finished(o);
		return;
	}
	if (o->dry_first) {
		o->dry_first = false;
		if (r < 0 || yj_get_str(obj, "/metadata/resourceVersion")) {
			/* Stored after all, or refused: GET and dry-run, the usual way. */
			start_check(o);
			return;
		}
		/* Not stored: what a GET would have said with its 404. */
	}
	if (r == 0 && o->live && o->rechecks < 3 &&
	    !streq_ptr(yj_get_str(obj, "/metadata/resourceVersion"),
		       yj_get_str(o->live, "/metadata/resourceVersion"))) {
		/*
		 * Someone (a controller adding an annotation) wrote the object
		 * between our GET and the dry-run: compare like with like.
		 */
		o->rechecks++;
		start_check(o);
		return;
	}
	if (r == 0) {
		cJSON_Delete(o->dry);
		o->dry = cJSON_Duplicate(obj, 1);
		o->checked = true;
	} else if (o->live && (o->force || o->run->o.force) && immutable_error(err)) {
		o->recreate = true;
		o->checked = true;
	} else {
		fail_obj(o->run, o, r, "dry-run failed", err);
	}
	check_done(o);
}

static void start_dry_run(struct aobj *o)
{
	struct kube_opts ko = KUBE_OPTS_INIT;
	struct kube_ref ref = obj_ref(o);

	ko.dry_run = true;
	ko.force = true;
	ko.field_manager = o->run->field_manager;
	if (kube_apply(o->run->c, &ref, o->desired, &ko, dry_run_done, o) < 0) {
		fail_obj(o->run, o, -EIO, "dry-run failed", NULL);
		obj_finished(o);
	}
}

/* Whether `ptr` is, or holds, what names the object (o->av, kind, name, ns point into it). */
static bool names_object(const char *ptr)
{
	static const char *const ids[] = { "/apiVersion", "/kind", "/metadata/name",
					   "/metadata/namespace" };
	size_t n = strlen(ptr);

	for (size_t i = 0; i < 4; i++)
		if (!strncmp(ids[i], ptr, n) && (ids[i][n] == '\0' || ids[i][n] == '/'))
			return true;
	return false;
}

/*
 * A correction under drift ignore rules changes only what was compared,
 * as applying jsondiff's patch does: an ignored field keeps its live value
 * (or stays absent).  A path through an array is left as desired.
 */
static void keep_ignored(struct aobj *o)
{
	const cJSON *ign = o->run->o.drift_ignore(o->desired, o->run->o.drift_ignore_payload);
	const cJSON *p;

	cJSON_ArrayForEach(p, ign)
	{
		const cJSON *v;

		if (!cJSON_IsString(p) || !p->valuestring[0] || names_object(p->valuestring))
			continue;
		v = yj_get(o->live, p->valuestring);
		if (v)
			yj_set(o->desired, p->valuestring, cJSON_Duplicate(v, 1));
		else
			yj_remove(o->desired, p->valuestring);
	}
}

static void got_live(int r, const cJSON *obj, const struct op_err *err, void *p)
{
	struct aobj *o = p;

	cJSON_Delete(o->live);
	o->live = NULL;
	if (r == 0) {
		o->live = cJSON_Duplicate(obj, 1);
	} else if (r != -ENOENT) {
		fail_obj(o->run, o, r, "get failed", err);
		obj_finished(o);
		return;
	}
	if (o->live && meta_is(o->live, ANN_SSA, "Ignore"))
		o->ignore = true;
	if (o->live && meta_is(o->live, ANN_RECONCILE, "disabled"))
		o->ignore = true;
	if (o->live && meta_is(o->live, ANN_FORCE, "enabled"))
		o->force = true;
	if (o->live && run_detects(o->run, o->live))
		o->detect = true;
	if (o->ignore || (o->live && o->if_not_present)) {
		o->checked = true;
		check_done(o);
		return;
	}
	if (o->live && !o->detect && o->run->o.drift_ignore)
		keep_ignored(o);
	start_dry_run(o);
}

static void start_check(struct aobj *o)
{
	struct kube_ref ref = obj_ref(o);

	if (kube_get(o->run->c, &ref, NULL, got_live, o) < 0) {
		fail_obj(o->run, o, -EIO, "get failed", NULL);
		obj_finished(o);
	}
}

/*
 * The first check of an object: one the previous inventory does not list
 * (a run given none presumes nothing) is most likely not there yet, so
 * its dry-run comes first and, if it says so, saves the GET.
 */
static void start_first_check(struct aobj *o)
{
	char *id;

	if (o->ignore || !o->run->prev_inventory) {
		start_check(o);
		return;
	}
	id = obj_id(o);
	o->dry_first = !hmap_get(&o->run->known, id);
	free(id);
	if (o->dry_first)
		start_dry_run(o);
	else
		start_check(o);
}

/* ---- STAGE: takeover, apply, recreate ---- */

static bool manager_matches(const cJSON *e, const char *field_manager)
{
	const char *m = strempty(yj_get_str(e, "/manager")), *op = strempty(yj_get_str(e, "/operation"));
	const char *sub = yj_get_str(e, "/subresource");

	if (sub && *sub)
		return false;
	if (streq(m, "kubectl") && (streq(op, "Apply") || streq(op, "Update")))
		return true;
	if (streq(m, "before-first-apply") && streq(op, "Update"))
		return true;
	return streq(m, field_manager) && streq(op, "Update");
}

/* Deep union of two managedFields FieldsV1 trees (sets of paths). */
static void fields_union(cJSON *into, const cJSON *from)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, from)
	{
		cJSON *have = cJSON_GetObjectItemCaseSensitive(into, it->string);

		if (!have)
			cJSON_AddItemToObject(into, it->string, cJSON_Duplicate(it, 1));
		else if (cJSON_IsObject(have) && cJSON_IsObject(it))
			fields_union(have, it);
	}
}

/*
 * The JSON patch that hands kubectl's fields to us (Flux's
 * PatchReplaceFieldsManagers), or NULL when there is nothing to take.
 */
static char *takeover_patch(const cJSON *live, const char *fm)
{
	const cJSON *mf = yj_get(live, "/metadata/managedFields"), *e;
	cJSON *ours = NULL, *entries = cJSON_CreateArray(), *patch, *op;
	bool edited = false;
	char *text;

	cJSON_ArrayForEach(e, mf)
		if (streq(strempty(yj_get_str(e, "/manager")), fm) &&
		    streq(strempty(yj_get_str(e, "/operation")), "Apply") && !ours)
			ours = cJSON_Duplicate(e, 1);
	cJSON_ArrayForEach(e, mf)
	{
		if (ours && streq(strempty(yj_get_str(e, "/manager")), fm) &&
		    streq(strempty(yj_get_str(e, "/operation")), "Apply"))
			continue;
		if (manager_matches(e, fm)) {
			edited = true;
			if (!ours) {
				ours = cJSON_Duplicate(e, 1);
				cJSON_DeleteItemFromObjectCaseSensitive(ours, "manager");
				cJSON_AddStringToObject(ours, "manager", fm);
				cJSON_DeleteItemFromObjectCaseSensitive(ours, "operation");
				cJSON_AddStringToObject(ours, "operation", "Apply");
			} else {
				cJSON *f = cJSON_GetObjectItemCaseSensitive(ours, "fieldsV1");

				if (!f)
					f = cJSON_AddObjectToObject(ours, "fieldsV1");
				fields_union(f, cJSON_GetObjectItemCaseSensitive(e, "fieldsV1"));
			}
			continue;
		}
		cJSON_AddItemToArray(entries, cJSON_Duplicate(e, 1));
	}
	patch = cJSON_CreateArray();
	if (yj_get(live, "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration")) {
		op = cJSON_CreateObject();
		cJSON_AddStringToObject(op, "op", "remove");
		cJSON_AddStringToObject(
			op, "path",
			"/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration");
		cJSON_AddItemToArray(patch, op);
	}
	if (edited) {
		cJSON_AddItemToArray(entries, ours);
		ours = NULL;
		op = cJSON_CreateObject();
		cJSON_AddStringToObject(op, "op", "replace");
		cJSON_AddStringToObject(op, "path", "/metadata/managedFields");
		cJSON_AddItemToObject(op, "value", entries);
		entries = NULL;
		cJSON_AddItemToArray(patch, op);
	}
	cJSON_Delete(ours);
	cJSON_Delete(entries);
	text = cJSON_GetArraySize(patch) ? cJSON_PrintUnformatted(patch) : NULL;
	cJSON_Delete(patch);
	return text;
}

static void record(struct apply_run *run, struct aobj *o, enum action act)
{
	o->act = act;
	switch (act) {
	case ACT_CREATED:
		run->created++;
		break;
	case ACT_CONFIGURED:
		run->configured++;
		break;
	case ACT_UNCHANGED:
		run->unchanged++;
		return;
	case ACT_SKIPPED:
		run->skipped++;
		return;
	case ACT_DELETED:
		run->deleted++;
		break;
	default:
		return;
	}
}

static const char *const action_words[] = { "", "created", "configured", "unchanged", "skipped",
					    "deleted" };

static void change_line(struct buf *b, const struct aobj *o)
{
	if (b->len)
		buf_adds(b, "\n");
	describe(o, b);
	buf_addf(b, " %s", action_words[o->act]);
}

static int cmp_stale_desc(const void *a, const void *b)
{
	const struct aobj *x = *(const struct aobj *const *)a, *y = *(const struct aobj *const *)b;

	return apply_cmp(y->desired, x->desired);
}

/*
 * The change sets as Flux's events print them, whatever order the
 * concurrent requests ended in: what was created or configured in apply
 * order (stage by stage, kinds in Flux's order), and what pruning
 * did (deleted, gone already, or skipped) in the reverse of that order,
 * as ssa's DeleteAll sorts it.
 */
static void change_sets(struct apply_run *run)
{
	const struct aobj **st;
	size_t i, n = 0;

	for (i = 0; i < run->n; i++)
		if (run->objs[i].act == ACT_CREATED || run->objs[i].act == ACT_CONFIGURED)
			change_line(&run->changes, &run->objs[i]);
	st = xcalloc(run->nstale ? run->nstale : 1, sizeof(*st));
	for (i = 0; i < run->nstale; i++)
		if (run->stale[i].act == ACT_DELETED || run->stale[i].act == ACT_SKIPPED)
			st[n++] = &run->stale[i];
	qsort(st, n, sizeof(*st), cmp_stale_desc);
	for (i = 0; i < n; i++)
		change_line(&run->pruned, st[i]);
	free(st);
}

/* A detect-only object that differs: what, and which fields (or "absent"). */
static void drift_add(struct apply_run *run, struct aobj *o, const char *fields)
{
	struct buf what = BUF_INIT(4096);
	cJSON *e = cJSON_CreateObject();

	describe(o, &what);
	cJSON_AddStringToObject(e, "object", what.buf);
	cJSON_AddStringToObject(e, "fields", fields);
	if (!run->drift)
		run->drift = cJSON_CreateArray();
	cJSON_AddItemToArray(run->drift, e);
	buf_release(&what);
	o->act = ACT_UNCHANGED;
}

static void applied(int r, const cJSON *obj, const struct op_err *err, void *p)
{
	struct aobj *o = p;

	if (r < 0) {
		fail_obj(o->run, o, r, "apply failed", err);
	} else {
		record(o->run, o, o->live && !o->recreate ? ACT_CONFIGURED : ACT_CREATED);
		cJSON_Delete(o->result);
		o->result = obj ? cJSON_Duplicate(obj, 1) : NULL;
	}
	obj_finished(o);
}

static void do_apply(struct aobj *o)
{
	struct kube_opts ko = KUBE_OPTS_INIT;
	struct kube_ref ref = obj_ref(o);

	ko.force = true;
	ko.field_manager = o->run->field_manager;
	if (kube_apply(o->run->c, &ref, o->desired, &ko, applied, o) < 0) {
		fail_obj(o->run, o, -EIO, "apply failed", NULL);
		obj_finished(o);
	}
}

static void timer_free(uv_handle_t *h)
{
	free(h);
}

static void gone_check(int r, const cJSON *obj, const struct op_err *err, void *p);

static void poll_gone(uv_timer_t *t)
{
	struct aobj *o = t->data;
	struct kube_ref ref = obj_ref(o);

	if (kube_get(o->run->c, &ref, NULL, gone_check, o) < 0) {
		fail_obj(o->run, o, -EIO, "immutable field detected, failed to wait for deletion",
			 NULL);
		uv_close((uv_handle_t *)o->timer, timer_free);
		o->timer = NULL;
		obj_finished(o);
	}
}

static void gone_check(int r, const cJSON *obj, const struct op_err *err, void *p)
{
	struct aobj *o = p;

	if (r == 0) {
		uv_timer_start(o->timer, poll_gone, DELETE_POLL_MS, 0);
		return;
	}
	uv_close((uv_handle_t *)o->timer, timer_free);
	o->timer = NULL;
	if (r != -ENOENT) {
		fail_obj(o->run, o, r, "immutable field detected, failed to wait for deletion", err);
		obj_finished(o);
		return;
	}
	do_apply(o);
}

static void deleted_for_recreate(int r, const cJSON *obj, const struct op_err *err, void *p)
{
	struct aobj *o = p;

	if (r < 0 && r != -ENOENT) {
		fail_obj(o->run, o, r, "immutable field detected, failed to delete object", err);
		obj_finished(o);
		return;
	}
	o->timer = xmalloc(sizeof(*o->timer));
	uv_timer_init(kube_client_loop(o->run->c), o->timer);
	o->timer->data = o;
	uv_timer_start(o->timer, poll_gone, 0, 0);
}

static void taken_over(int r, const cJSON *obj, const struct op_err *err, void *p)
{
	struct aobj *o = p;

	if (r < 0) {
		fail_obj(o->run, o, r, "metadata.managedFields cleanup failed", err);
		obj_finished(o);
		return;
	}
	do_apply(o);
}

static void stage_object(struct aobj *o)
{
	struct apply_run *run = o->run;
	struct kube_opts ko = KUBE_OPTS_INIT;
	struct kube_ref ref = obj_ref(o);
	char *patch = NULL;

	if (o->ignore || (o->live && o->if_not_present)) {
		record(run, o, ACT_SKIPPED);
		obj_finished(o);
		return;
	}
	if (o->detect) {
		struct buf fields = BUF_INIT(4096);
		const cJSON *ign = run->o.drift_ignore ?
					   run->o.drift_ignore(o->desired, run->o.drift_ignore_payload) :
					   NULL;
		cJSON *live = NULL, *dry = NULL;
		const cJSON *p;
		bool whole = false;

		cJSON_ArrayForEach(p, ign)
			whole |= streq_ptr(cJSON_GetStringValue(p), "");
		if (cJSON_GetArraySize(ign) && !whole && o->live) {
			/* As jsondiff's IgnorePaths: removed from both sides before comparing. */
			live = cJSON_Duplicate(o->live, 1);
			dry = cJSON_Duplicate(o->dry, 1);
			cJSON_ArrayForEach(p, ign)
				if (cJSON_IsString(p)) {
					yj_remove(live, p->valuestring);
					yj_remove(dry, p->valuestring);
				}
		}
		if (whole)
			record(run, o, ACT_UNCHANGED);
		else if (!o->live)
			drift_add(run, o, "absent");
		else if (apply_diff(live ? live : o->live, dry ? dry : o->dry,
				    run->o.provenance_prefix, &fields, 10)) {
			const cJSON *l = live ? live : o->live, *d = dry ? dry : o->dry;
			cJSON *e;
			unsigned a, c, r;

			drift_add(run, o, fields.buf);
			e = cJSON_GetArrayItem(run->drift, cJSON_GetArraySize(run->drift) - 1);
			apply_patch_counts(l, d, &a, &c, &r);
			cJSON_AddNumberToObject(e, "added", a);
			cJSON_AddNumberToObject(e, "changed", c);
			cJSON_AddNumberToObject(e, "removed", r);
			if (run->o.drift_values && !streq(o->kind, "Secret"))
				cJSON_AddItemToObject(e, "changes",
						      apply_diff_changes(l, d,
									 run->o.provenance_prefix));
		} else
			record(run, o, ACT_UNCHANGED);
		cJSON_Delete(live);
		cJSON_Delete(dry);
		buf_release(&fields);
		obj_finished(o);
		return;
	}
	if (o->recreate) {
		ko.propagation = "Background";
		if (kube_delete(run->c, &ref, &ko, deleted_for_recreate, o) < 0) {
			fail_obj(run, o, -EIO, "immutable field detected, failed to delete object",
				 NULL);
			obj_finished(o);
		}
		return;
	}
	if (o->live && !o->merge)
		patch = takeover_patch(o->live, run->field_manager);
	if (patch) {
		ko.field_manager = run->field_manager;
		if (kube_patch(run->c, &ref, KUBE_PATCH_JSON, patch, &ko, taken_over, o) < 0) {
			fail_obj(run, o, -EIO, "metadata.managedFields cleanup failed", NULL);
			obj_finished(o);
		}
		free(patch);
		return;
	}
	if (!apply_drifted(o->live, o->dry, run->o.provenance_prefix)) {
		record(run, o, ACT_UNCHANGED);
		obj_finished(o);
		return;
	}
	do_apply(o);
}

/* ---- PRUNE ---- */

static void pruned(int r, const cJSON *obj, const struct op_err *err, void *p)
{
	struct aobj *o = p;

	if (r == 0 || r == -ENOENT) {
		if (r == 0)
			record(o->run, o, ACT_DELETED);
		else
			o->act = ACT_DELETED;
	} else {
		o->run->prune_failed = true;
		fail_obj(o->run, o, r, "prune failed", err);
	}
	obj_finished(o);
}

static void prune_got(int r, const cJSON *obj, const struct op_err *err, void *p)
{
	struct aobj *o = p;
	struct apply_run *run = o->run;
	struct kube_opts ko = KUBE_OPTS_INIT;
	struct kube_ref ref = obj_ref(o);
	const char *ln, *lns;

	if (r == -ENOENT) {
		o->act = ACT_DELETED; /* gone already: deleted, to ssa's Delete */
		obj_finished(o);
		return;
	}
	if (r < 0) {
		run->prune_failed = true;
		fail_obj(run, o, r, "prune failed", err);
		obj_finished(o);
		return;
	}
	ln = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(yj_get(obj, "/metadata/labels"),
								   run->label_name));
	lns = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(yj_get(obj, "/metadata/labels"),
								    run->label_ns));
	if (meta_is(obj, ANN_PRUNE, "disabled") || meta_is(obj, ANN_RECONCILE, "disabled") ||
	    !run->owner_name || !ln || !lns || !streq(ln, run->owner_name) ||
	    !streq(lns, run->owner_ns)) {
		o->act = ACT_SKIPPED;
		obj_finished(o);
		return;
	}
	if (yj_get(obj, "/metadata/deletionTimestamp")) {
		o->act = ACT_DELETED; /* being deleted already */
		obj_finished(o);
		return;
	}
	if (run->o.detect_only ||
	    (run->o.drift_annotation && meta_is(obj, run->o.drift_annotation, "detect"))) {
		drift_add(run, o, "not in the revision (not pruned)");
		obj_finished(o);
		return;
	}
	ko.propagation = run->o.prune_propagation ? run->o.prune_propagation : "Background";
	if (kube_delete(run->c, &ref, &ko, pruned, o) < 0) {
		run->prune_failed = true;
		fail_obj(run, o, -EIO, "prune failed", NULL);
		obj_finished(o);
	}
}

static void prune_resolved(int r, const struct kube_mapping *m, const struct op_err *err,
			   void *p)
{
	struct aobj *o = p;
	struct kube_ref ref;

	if (r < 0) {
		/* The kind is gone (its CRD was removed): nothing left to delete. */
		obj_finished(o);
		return;
	}
	keep_mapping(o, m);
	ref = obj_ref(o);
	if (kube_get(o->run->c, &ref, NULL, prune_got, o) < 0)
		obj_finished(o);
}

/* ---- phases ---- */

static bool in_stage(const struct aobj *o, enum phase ph)
{
	return (int)(ph - PH_STAGE0) == o->stage;
}

static bool takes_part(const struct apply_run *run, const struct aobj *o)
{
	switch (run->phase) {
	case PH_RESOLVE:
		return true;
	case PH_CHECK:
		return o->resolved && !o->deferred;
	case PH_STAGE0:
	case PH_STAGE1:
	case PH_STAGE2:
		return in_stage(o, run->phase);
	default:
		return false;
	}
}

static void start_obj(struct aobj *o)
{
	struct apply_run *run = o->run;

	switch (run->phase) {
	case PH_RESOLVE:
		if (mapper_resolve(run->m, o->av, o->kind, resolved, o) < 0) {
			fail_obj(run, o, -EIO, "dry-run failed", NULL);
			obj_finished(o);
		}
		return;
	case PH_CHECK:
		start_first_check(o);
		return;
	default:
		obj_next(o);
	}
}

static void deferred_resolved(int r, const struct kube_mapping *m, const struct op_err *err,
			      void *p);

static void resolve_again(uv_timer_t *t)
{
	struct aobj *o = t->data;

	uv_close((uv_handle_t *)t, timer_free);
	o->timer = NULL;
	mapper_invalidate(o->run->m);
	if (mapper_resolve(o->run->m, o->av, o->kind, deferred_resolved, o) < 0) {
		fail_obj(o->run, o, -EIO, "dry-run failed", NULL);
		obj_finished(o);
	}
}

static void deferred_resolved(int r, const struct kube_mapping *m, const struct op_err *err,
			      void *p)
{
	struct aobj *o = p;
	uint64_t wait = o->run->o.stage_wait_ms ? o->run->o.stage_wait_ms : 5 * 60 * 1000;

	if (r == -ENOENT && (uint64_t)o->resolve_tries * DELETE_POLL_MS < wait) {
		/* Established, but not in discovery yet: the apiserver catches up in moments. */
		o->resolve_tries++;
		o->timer = xmalloc(sizeof(*o->timer));
		uv_timer_init(kube_client_loop(o->run->c), o->timer);
		o->timer->data = o;
		uv_timer_start(o->timer, resolve_again, DELETE_POLL_MS, 0);
		return;
	}
	if (r < 0) {
		fail_obj(o->run, o, r, "dry-run failed", err);
		obj_finished(o);
		return;
	}
	o->deferred = false;
	take_mapping(o, m);
	obj_next(o);
}

/* The stage chain of one object: resolve/check if deferred, then stage it. */
static void obj_next(struct aobj *o)
{
	struct apply_run *run = o->run;

	if (run->r < 0) {
		obj_finished(o);
		return;
	}
	if (o->deferred) {
		mapper_invalidate(run->m);
		if (mapper_resolve(run->m, o->av, o->kind, deferred_resolved, o) < 0) {
			fail_obj(run, o, -EIO, "dry-run failed", NULL);
			obj_finished(o);
		}
		return;
	}
	if (!o->checked) {
		/* A deferred kind, resolvable now: check it as CHECK did the others. */
		start_first_check(o);
		return;
	}
	stage_object(o);
}

static void stage_waited(const struct wait_result *res, void *payload)
{
	struct apply_run *run = payload;

	if (res->r < 0 && run->r == 0) {
		run->r = res->r;
		op_err_set(&run->err, res->r, "%s", res->msg);
	}
	run->active--;
	run->phase++;
	run->next = 0;
	run_phase(run);
}

static bool wait_stage(struct apply_run *run, enum phase ph)
{
	cJSON *set = cJSON_CreateArray();
	size_t i;
	int r;

	for (i = 0; i < run->n; i++) {
		const struct aobj *o = &run->objs[i];

		if (in_stage(o, ph) && !o->ignore && o->act != ACT_SKIPPED && !(o->detect && !o->live))
			cJSON_AddItemReferenceToArray(set, o->desired);
	}
	if (!cJSON_GetArraySize(set)) {
		cJSON_Delete(set);
		return false;
	}
	run->active++;
	r = wait_ready(run->c, run->m, set, NULL,
		       run->o.stage_wait_ms ? run->o.stage_wait_ms : 5 * 60 * 1000, stage_waited,
		       run, NULL);
	cJSON_Delete(set);
	if (r < 0) {
		run->active--;
		return false;
	}
	if (ph == PH_STAGE0)
		mapper_invalidate(run->m);
	return true;
}

static void finish(struct apply_run *run);
static void build_stale(struct apply_run *run);

/*
 * Start what may start and move to the next phase when one is over.  A
 * request's callback may run before the request function returns (the
 * mapper answers from its cache), so this can be re-entered from inside
 * itself: the inner call only asks the outer one to look again, so the
 * run is finished (and freed) by the outermost call alone.
 */
static void run_phase(struct apply_run *run)
{
	unsigned limit = run->o.concurrency ? run->o.concurrency : 8;

	if (run->in_phase) {
		run->again = true;
		return;
	}
	run->in_phase = true;
	for (;;) {
		run->again = false;
		if (run->phase == PH_PRUNE || run->phase == PH_PRUNE_DEFS) {
			size_t end = run->phase == PH_PRUNE ? run->stale_defs : run->nstale;

			if (run->phase == PH_PRUNE_DEFS && run->next < run->stale_defs)
				run->next = run->stale_defs;
			while (run->r == 0 && run->active < limit && run->next < end) {
				struct aobj *o = &run->stale[run->next++];

				run->active++;
				if (mapper_resolve(run->m, o->av, o->kind, prune_resolved, o) < 0)
					obj_finished(o);
			}
		} else if (run->phase < PH_PRUNE) {
			while (run->r == 0 && run->active < limit && run->next < run->n) {
				struct aobj *o = &run->objs[run->next++];

				if (!takes_part(run, o))
					continue;
				run->active++;
				start_obj(o);
			}
		}
		if (run->again)
			continue;
		if (run->active > 0)
			break;
		if (run->r < 0 || run->phase == PH_DONE) {
			finish(run);
			return;
		}
		/* The phase is over. */
		if ((run->phase == PH_STAGE0 || run->phase == PH_STAGE1) &&
		    !run->waited[run->phase - PH_STAGE0]) {
			run->waited[run->phase - PH_STAGE0] = true;
			if (wait_stage(run, run->phase))
				break; /* stage_waited() moves on */
		}
		run->phase++;
		run->next = 0;
		if (run->phase == PH_PRUNE)
			build_stale(run);
	}
	run->in_phase = false;
}

/* ---- inventory, prune list, result ---- */

static char *obj_id(const struct aobj *o)
{
	return apply_inventory_id(o->ns, o->name, o->group, o->kind);
}

cJSON *apply_inventory_ref(const char *id, const char *version)
{
	const char *last = strrchr(id, '_'), *first, *g;
	char *head, *name, *p, *q, *group, *av;
	cJSON *o;

	if (!last || last == id || !last[1])
		return NULL;
	for (g = last - 1; g > id && *g != '_'; g--)
		;
	if (*g != '_')
		return NULL;
	first = strchr(id, '_');
	if (!first || first >= g)
		return NULL;
	head = xstrndup(first + 1, (size_t)(g - first - 1));
	name = xstrdup(head);
	for (p = head, q = name; *p; p++, q++) {
		if (p[0] == '_' && p[1] == '_') {
			*q = ':';
			p++;
		} else {
			*q = *p;
		}
	}
	*q = '\0';
	group = xstrndup(g + 1, (size_t)(last - g - 1));
	av = *group ? xasprintf("%s/%s", group, version) : xstrdup(version);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "apiVersion", av);
	cJSON_AddStringToObject(o, "kind", last + 1);
	{
		cJSON *meta = cJSON_AddObjectToObject(o, "metadata");

		cJSON_AddStringToObject(meta, "name", name);
		if (first > id) {
			char *ns = xstrndup(id, (size_t)(first - id));

			cJSON_AddStringToObject(meta, "namespace", ns);
			free(ns);
		}
	}
	free(head);
	free(name);
	free(group);
	free(av);
	return o;
}

static void init_obj(struct apply_run *run, struct aobj *o, cJSON *desired)
{
	o->run = run;
	o->desired = desired;
	o->av = yj_get_str(desired, "/apiVersion");
	o->kind = yj_get_str(desired, "/kind");
	o->name = yj_get_str(desired, "/metadata/name");
	o->ns = yj_get_str(desired, "/metadata/namespace");
	o->group = group_of(o->av);
	o->stage = apply_stage(o->av, o->kind);
}

static int cmp_stale(const void *a, const void *b)
{
	const struct aobj *x = a, *y = b;
	bool dx = x->stage == 0 && !streq(x->kind, "ClusterRole");
	bool dy = y->stage == 0 && !streq(y->kind, "ClusterRole");

	if (dx != dy)
		return dx ? 1 : -1;
	return apply_cmp(x->desired, y->desired);
}

static void build_stale(struct apply_run *run)
{
	const cJSON *e;
	size_t cap, i;

	if (!run->o.prune || !run->prev_inventory)
		return;
	cap = (size_t)cJSON_GetArraySize(yj_get(run->prev_inventory, "/entries"));
	run->stale = xcalloc(cap ? cap : 1, sizeof(*run->stale));
	cJSON_ArrayForEach(e, yj_get(run->prev_inventory, "/entries"))
	{
		const char *id = yj_get_str(e, "/id"), *v = yj_get_str(e, "/v");
		bool keep = false;
		cJSON *ref;

		if (!id || !v)
			continue;
		for (i = 0; i < run->n && !keep; i++) {
			char *mine = obj_id(&run->objs[i]);

			keep = streq(mine, id);
			free(mine);
		}
		if (keep || !(ref = apply_inventory_ref(id, v)))
			continue;
		init_obj(run, &run->stale[run->nstale++], ref);
	}
	qsort(run->stale, run->nstale, sizeof(*run->stale), cmp_stale);
	run->stale_defs = run->nstale;
	for (i = 0; i < run->nstale; i++) {
		if (run->stale[i].stage == 0 && !streq(run->stale[i].kind, "ClusterRole")) {
			run->stale_defs = i;
			break;
		}
	}
}

static void run_free(struct apply_run *run)
{
	size_t i;

	for (i = 0; i < run->n; i++) {
		cJSON_Delete(run->objs[i].desired);
		cJSON_Delete(run->objs[i].live);
		cJSON_Delete(run->objs[i].dry);
		cJSON_Delete(run->objs[i].result);
		free(run->objs[i].group);
		free(run->objs[i].map_own[0]);
		free(run->objs[i].map_own[1]);
		free(run->objs[i].map_own[2]);
	}
	for (i = 0; i < run->nstale; i++) {
		cJSON_Delete(run->stale[i].desired);
		free(run->stale[i].group);
		free(run->stale[i].map_own[0]);
		free(run->stale[i].map_own[1]);
		free(run->stale[i].map_own[2]);
	}
	free(run->objs);
	free(run->stale);
	hmap_release(&run->known);
	cJSON_Delete(run->prev_inventory);
	buf_release(&run->changes);
	buf_release(&run->pruned);
	cJSON_Delete(run->drift);
	free(run->field_manager);
	free(run->owner_name);
	free(run->owner_ns);
	free(run->label_name);
	free(run->label_ns);
	free(run->default_ns);
	free((char *)run->o.provenance_prefix);
	free((char *)run->o.drift_annotation);
	kube_client_unref(run->c);
	free(run);
}

/*
 * Kubernetes' own API groups (core, "apps", "batch", "*.k8s.io"): their
 * readiness shows in the object the apply answered.  A custom resource's
 * controller may not have written its status yet, so it is watched.
 */
static bool builtin_group(const char *group)
{
	static const char *const dotted[] = {
		"rbac.authorization.k8s.io", "networking.k8s.io", "storage.k8s.io",
		"apiextensions.k8s.io", "admissionregistration.k8s.io", "scheduling.k8s.io",
		"coordination.k8s.io", "node.k8s.io", "discovery.k8s.io", "certificates.k8s.io",
		"flowcontrol.apiserver.k8s.io", "apiregistration.k8s.io", "events.k8s.io",
	};

	if (!group || !strchr(group, '.'))
		return true; /* core, apps, batch, policy, autoscaling */
	for (size_t i = 0; i < sizeof(dotted) / sizeof(dotted[0]); i++)
		if (streq(group, dotted[i]))
			return true;
	return false;
}

/* {apiVersion, kind, metadata: {name, namespace}} of an object. */
static cJSON *ref_of(const cJSON *obj)
{
	cJSON *r = cJSON_CreateObject(), *m;
	const char *ns = yj_get_str(obj, "/metadata/namespace");

	cJSON_AddStringToObject(r, "apiVersion", strempty(yj_get_str(obj, "/apiVersion")));
	cJSON_AddStringToObject(r, "kind", strempty(yj_get_str(obj, "/kind")));
	m = cJSON_AddObjectToObject(r, "metadata");
	cJSON_AddStringToObject(m, "name", strempty(yj_get_str(obj, "/metadata/name")));
	if (ns && *ns)
		cJSON_AddStringToObject(m, "namespace", ns);
	return r;
}

static void finish(struct apply_run *run)
{
	struct apply_result res = { .r = run->r };
	cJSON *inv = NULL;
	size_t i;

	res.err = run->err;
	res.prune_failed = run->prune_failed;
	if (run->r == 0) {
		cJSON *entries;

		inv = cJSON_CreateObject();
		entries = cJSON_AddArrayToObject(inv, "entries");
		for (i = 0; i < run->n; i++) {
			const struct aobj *o = &run->objs[i];
			cJSON *e;
			char *id;
			const char *slash = strchr(o->av, '/');

			if (o->detect && !o->live)
				continue; /* detect-only and absent: not ours (yet) */
			e = cJSON_CreateObject();
			id = obj_id(o);

			cJSON_AddStringToObject(e, "id", id);
			cJSON_AddStringToObject(e, "v", slash ? slash + 1 : o->av);
			cJSON_AddItemToArray(entries, e);
			free(id);
		}
	}
	res.inventory = inv;
	change_sets(run);
	res.changes = run->changes.buf ? run->changes.buf : (char *)"";
	res.pruned = run->pruned.buf ? run->pruned.buf : (char *)"";
	res.pruned_refs = cJSON_CreateArray();
	for (size_t k = 0; k < run->nstale; k++)
		if (run->stale[k].act == ACT_DELETED)
			cJSON_AddItemToArray(res.pruned_refs,
					     cJSON_Duplicate(run->stale[k].desired, 1));
	res.current_refs = cJSON_CreateArray();
	for (i = 0; i < run->n && run->r == 0; i++) {
		const struct aobj *o = &run->objs[i];
		const cJSON *now = o->result ? o->result : o->act == ACT_UNCHANGED ? o->live : NULL;
		struct health_result h;

		if (!now || o->detect || !builtin_group(o->group))
			continue;
		health_assess(now, &h);
		if (h.status == HEALTH_CURRENT)
			cJSON_AddItemToArray(res.current_refs, ref_of(now));
	}
	res.created_refs = cJSON_CreateArray();
	for (i = 0; i < run->n; i++)
		if (run->objs[i].act == ACT_CREATED && !run->objs[i].recreate)
			cJSON_AddItemToArray(res.created_refs, cJSON_Duplicate(run->objs[i].desired, 1));
	res.created = run->created;
	res.configured = run->configured;
	res.unchanged = run->unchanged;
	res.deleted = run->deleted;
	res.skipped = run->skipped;
	res.drift = run->drift;
	res.drifted = (unsigned)cJSON_GetArraySize(run->drift);
	run->phase = PH_DONE;
	run->done(&res, run->payload);
	cJSON_Delete(inv);
	cJSON_Delete(res.pruned_refs);
	cJSON_Delete(res.created_refs);
	cJSON_Delete(res.current_refs);
	run_free(run);
}

/* A run that fails before any request: report it on the next loop iteration. */
static void early_fail_cb(uv_timer_t *t)
{
	struct apply_run *run = t->data;

	uv_close((uv_handle_t *)t, timer_free);
	finish(run);
}

static int cmp_obj(const void *a, const void *b)
{
	const struct aobj *x = a, *y = b;

	if (x->stage != y->stage)
		return x->stage - y->stage;
	return apply_cmp(x->desired, y->desired);
}

int apply_set(struct kube_client *c, struct kube_mapper *m, const cJSON *objects,
	      const struct apply_opts *opts, void (*done)(struct apply_result *res, void *payload),
	      void *payload, struct apply_run **ret)
{
	struct apply_run *run;
	const cJSON *it;
	size_t n = (size_t)cJSON_GetArraySize(objects), i = 0;

	if (!c || !m || !opts || !opts->field_manager || !done || !cJSON_IsArray(objects))
		return -EINVAL;
	run = xcalloc(1, sizeof(*run));
	run->c = kube_client_ref(c);
	run->m = m;
	run->o = *opts;
	run->o.provenance_prefix = opts->provenance_prefix ? xstrdup(opts->provenance_prefix) : NULL;
	run->o.drift_annotation = opts->drift_annotation ? xstrdup(opts->drift_annotation) : NULL;
	run->field_manager = xstrdup(opts->field_manager);
	run->owner_name = opts->owner_name ? xstrdup(opts->owner_name) : NULL;
	run->owner_ns = opts->owner_ns ? xstrdup(opts->owner_ns) : NULL;
	if (opts->owner_label_prefix) {
		run->label_name = xasprintf("%s/name", opts->owner_label_prefix);
		run->label_ns = xasprintf("%s/namespace", opts->owner_label_prefix);
	} else {
		run->label_name = xstrdup(APPLY_LABEL_NAME);
		run->label_ns = xstrdup(APPLY_LABEL_NAMESPACE);
	}
	run->default_ns = opts->default_ns && *opts->default_ns ? xstrdup(opts->default_ns) : NULL;
	run->prev_inventory = opts->prev_inventory ? cJSON_Duplicate(opts->prev_inventory, 1) : NULL;
	hmap_init(&run->known);
	cJSON_ArrayForEach(it, yj_get(run->prev_inventory, "/entries"))
	{
		const char *id = yj_get_str(it, "/id");

		if (id)
			hmap_put(&run->known, id, (void *)id);
	}
	run->done = done;
	run->payload = payload;
	buf_init(&run->changes, 16u << 20);
	buf_init(&run->pruned, 16u << 20);
	run->objs = xcalloc(n ? n : 1, sizeof(*run->objs));
	cJSON_ArrayForEach(it, objects)
	{
		struct aobj *o = &run->objs[i];

		if (!yj_get_str(it, "/apiVersion") || !yj_get_str(it, "/kind") ||
		    !yj_get_str(it, "/metadata/name")) {
			if (run->r == 0) {
				run->r = -EINVAL;
				op_err_set(&run->err, -EINVAL,
					   "object %zu has no apiVersion, kind or metadata.name", i);
			}
			continue;
		}
		{
			cJSON *d = cJSON_Duplicate(it, 1);

			if (run->owner_name && run->owner_ns) {
				yj_set_meta(d, "labels", run->label_name, run->owner_name);
				yj_set_meta(d, "labels", run->label_ns, run->owner_ns);
			}
			init_obj(run, o, d);
		}
		o->ignore = meta_is(o->desired, ANN_SSA, "Ignore") ||
			    meta_is(o->desired, ANN_RECONCILE, "disabled");
		o->if_not_present = meta_is(o->desired, ANN_SSA, "IfNotPresent");
		o->merge = meta_is(o->desired, ANN_SSA, "Merge");
		o->force = meta_is(o->desired, ANN_FORCE, "enabled");
		o->detect = run_detects(run, o->desired);
		i++;
	}
	run->n = i;
	qsort(run->objs, run->n, sizeof(*run->objs), cmp_obj);
	if (ret)
		*ret = run;
	if (run->r < 0) {
		uv_timer_t *t = xmalloc(sizeof(*t));

		uv_timer_init(kube_client_loop(c), t);
		t->data = run;
		uv_timer_start(t, early_fail_cb, 0, 0);
		return 0;
	}
	run->phase = PH_RESOLVE;
	run_phase(run);
	return 0;
}
