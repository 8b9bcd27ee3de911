/*
 * internal.h: what the files of lib/kustomize share.
 *
 * A resource is a cJSON object plus the bookkeeping kustomize keeps in its
 * "build annotations": the ids it had before renames (for name references
 * and for targets that name an object by an older name), the prefixes and
 * suffixes applied to it, and generator options.  We keep them in the C
 * struct instead, so nothing has to be stripped before printing.
 */
#ifndef CFLUX_KUSTOMIZE_INTERNAL_H
#define CFLUX_KUSTOMIZE_INTERNAL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/hmap.h"

struct kz_id {
	char *kind, *ns, *name; /* ns "" for none */
};

enum kz_behavior { KZ_CREATE = 0, KZ_MERGE, KZ_REPLACE };

struct kz_res {
	cJSON *obj;          /* owned */
	char *origin;        /* file it came from ("dir/file.yaml:12"), for errors */
	struct kz_id *prev;  /* earlier ids, oldest first */
	size_t nprev;
	char **prefixes, **suffixes;
	size_t nprefixes, nsuffixes;
	bool generated;      /* made by a generator */
	bool needs_hash;     /* append the content hash at the end */
	enum kz_behavior behavior;
	bool behavior_set;   /* the generator named its behavior ("unspecified" if not) */
};

/*
 * The resources in order, plus an index by current name that makes
 * kz__resmap_find_cur() O(1) instead of a scan (a build of n objects would
 * otherwise be O(n^2)).  The index is built on demand and thrown away by
 * kz__resmap_invalidate(), which every step that renames or removes
 * resources calls; it keys on the name only, so namespace, kind and group
 * changes need no invalidation (they are compared live).
 */
struct kz_resmap {
	struct kz_res **v;
	size_t n, alloc;
	struct hmap idx; /* name -> struct kz_bucket */
	bool idx_valid;
};

/* ---- resources (resource.c) ---- */
const char *kz__str(const cJSON *o, const char *ptr); /* string at ptr or "" */
const char *kz__kind(const struct kz_res *r);
const char *kz__name(const struct kz_res *r);
const char *kz__ns(const struct kz_res *r);
/* group and version of apiVersion; group "" for the core group. */
void kz__gv(const cJSON *obj, char *group, size_t gn, char *version, size_t vn);
bool kz__cluster_scoped(const cJSON *obj);
struct kz_res *kz__res_new(cJSON *obj, const char *origin);
void kz__res_free(struct kz_res *r);
struct kz_res *kz__res_copy(const struct kz_res *r);
void kz__res_store_prev(struct kz_res *r);
void kz__resmap_release(struct kz_resmap *m);
void kz__resmap_push(struct kz_resmap *m, struct kz_res *r);
/* The resource (other than `skip`) with this current id, or NULL. */
struct kz_res *kz__resmap_find_cur(struct kz_resmap *m, const char *group, const char *kind,
				   const char *ns, const char *name, const struct kz_res *skip);
/* Forget the name index: call after renaming or removing resources. */
void kz__resmap_invalidate(struct kz_resmap *m);
/* Append `r` (taking it), refusing a duplicate current id. */
int kz__resmap_append(struct kz_resmap *m, struct kz_res *r, struct op_err *err);
/* "Kind.version.group/name.namespace" as kustomize prints ids in errors */
char *kz__id_string(const struct kz_res *r);

/* ---- field specs (transform.c) ---- */
struct kz_fieldspec {
	const char *group, *version, *kind; /* NULL: any */
	const char *path;                   /* "spec/template/metadata/labels" */
	bool create;
};

/* Does the resource's gvk match the spec's (unset parts match anything)? */
bool kz__fs_selects(const struct kz_fieldspec *fs, const cJSON *obj);

/*
 * Visit every node at fs->path in obj (through every element of a list
 * on the way), creating missing maps (or, at the end, a value made by
 * `create_leaf`) when fs->create.  `fn` may replace the node: it gets
 * the parent and key (or index) of it.
 */
typedef int (*kz_visit_fn)(cJSON *parent, const char *key, cJSON *node, void *payload);
int kz__fs_apply(cJSON *obj, const char *path, bool create, int create_type, kz_visit_fn fn,
		 void *payload);

struct kz_target;
int kz__transform(struct kz_target *kt, struct kz_resmap *m, struct op_err *err);
int kz__fix_name_refs(struct kz_resmap *m, struct op_err *err);

/* ---- patches (patch.c) ---- */
/* Strategic merge `patch` into *target (kinds' merge keys, $patch directives). */
int kz__smp(cJSON **target, const cJSON *patch, const char *kind, struct op_err *err);

/*
 * Kubernetes label selector syntax ("a=b,c!=d,e in (f,g),!h") over the
 * string map `labels` (NULL: no labels).  0 with *ret set, or -EINVAL for
 * a selector it cannot parse.
 */
int kz__selector_match(const char *sel, const cJSON *labels, bool *ret);

/* ---- hashing (hash.c) ---- */
/* kustomize's 10-character content hash of a ConfigMap or Secret. */
int kz__hash(const cJSON *obj, char out[11]);
/* Go's encoding/json string escaping (HTML-safe: <, >, & as \u003c ...). */
int kz__go_json(const cJSON *j, struct buf *out);

#endif
