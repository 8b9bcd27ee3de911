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

struct kz_schema;

struct kz_id {
	char *kind, *ns, *name; /* ns "" for none */
};

enum kz_behavior { KZ_CREATE = 0, KZ_MERGE, KZ_REPLACE };

struct kz_res {
	cJSON *obj;          /* owned */
	char *origin;        /* file it came from ("dir/file.yaml:12"), for errors */
	struct kz_id *prev;  /* earlier ids, oldest first (ns: the effective namespace) */
	size_t nprev;
	char **prefixes, **suffixes;
	size_t nprefixes, nsuffixes;
	char **refvars;      /* names of the vars that read this resource */
	size_t nrefvars;
	const struct kz_schema *schema; /* the build's `openapi` choice (set when pushed) */
	bool generated;      /* made by a generator */
	bool helm;           /* inflated from a helm chart: no namespace transformer */
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
	const struct kz_schema *schema; /* given to the resources pushed, or NULL */
};

/* ---- resources (resource.c) ---- */
const char *kz__str(const cJSON *o, const char *ptr); /* string at ptr or "" */
/*
 * Compile `pat` with Go's regexp syntax and semantics (base/regex.h), as
 * kustomize compiles its selectors, image names and path matchers: RE2's
 * linear time and bounded size, where POSIX regcomp() expanded nested
 * repeats ("a++++…") into gigabytes.  0, or -EINVAL for a pattern Go
 * refuses.
 */
struct regex;
int kz__regex(const char *pat, struct regex **ret);
const char *kz__kind(const struct kz_res *r);
const char *kz__name(const struct kz_res *r);
const char *kz__ns(const struct kz_res *r);
/* group and version of apiVersion; group "" for the core group. */
void kz__gv(const cJSON *obj, char *group, size_t gn, char *version, size_t vn);
/*
 * Whether obj's kind is cluster-scoped: kyaml's table of the kinds
 * Kubernetes serves, else what a custom `openapi` schema's paths say
 * (sch may be NULL); every other kind is namespaced.
 */
bool kz__cluster_scoped(const cJSON *obj, const struct kz_schema *sch);
/*
 * kustomize's effective namespace of an object: "_non_namespaceable_" for
 * a cluster-scoped kind, "default" for none, else the namespace.
 */
#define KZ_NO_NS "_non_namespaceable_"
const char *kz__eff_ns(const cJSON *obj, const struct kz_schema *sch);
/* The same for a resource of the build, under its schema. */
bool kz__res_cluster(const struct kz_res *r);
const char *kz__res_eff_ns(const struct kz_res *r);
struct kz_res *kz__res_new(cJSON *obj, const char *origin);
void kz__res_free(struct kz_res *r);
struct kz_res *kz__res_copy(const struct kz_res *r);
void kz__res_store_prev(struct kz_res *r);
/* The original id (the first earlier one, or the current one). */
const char *kz__org_kind(const struct kz_res *r);
const char *kz__org_name(const struct kz_res *r);
const char *kz__org_ns(const struct kz_res *r); /* effective */
void kz__resmap_release(struct kz_resmap *m);
void kz__resmap_push(struct kz_resmap *m, struct kz_res *r);
/* The resource (other than `skip`) with this current id, or NULL. */
struct kz_res *kz__resmap_find_cur(struct kz_resmap *m, const char *group, const char *version,
				   const char *kind, const char *eff_ns, const char *name,
				   const struct kz_res *skip);
/* Forget the name index: call after renaming or removing resources. */
void kz__resmap_invalidate(struct kz_resmap *m);
/* Append `r` (taking it), refusing a duplicate current id. */
int kz__resmap_append(struct kz_resmap *m, struct kz_res *r, struct op_err *err);
/* Remove (and free) `r`. */
void kz__resmap_remove(struct kz_resmap *m, struct kz_res *r);
/* "Kind.version.group/name.namespace" as kustomize prints ids in errors */
char *kz__id_string(const struct kz_res *r);

/* ---- field specs and the transformer configuration (config.c) ---- */

/* A field spec: group/version/kind ("" matches any) and a path. Strings owned. */
struct kz_fs {
	char *group, *version, *kind;
	char *path; /* "spec/template/metadata/labels", "\/" escapes a slash */
	bool create;
};

struct kz_fsv {
	struct kz_fs *v;
	size_t n, alloc;
};

/* Name references: fields (refs) that name an object of group/version/kind. */
struct kz_nbr {
	char *group, *version, *kind;
	struct kz_fsv refs;
};

enum kz_tc_slot {
	KZ_TC_PREFIX,
	KZ_TC_SUFFIX,
	KZ_TC_NAMESPACE,
	KZ_TC_COMMON_LABELS,
	KZ_TC_LABELS,
	KZ_TC_TEMPLATE_LABELS,
	KZ_TC_ANNOTATIONS,
	KZ_TC_VAR_REF,
	KZ_TC_IMAGES,
	KZ_TC_REPLICAS,
	KZ_TC_NSLOTS
};

/* kustomize's TransformerConfig. */
struct kz_tconfig {
	struct kz_fsv fs[KZ_TC_NSLOTS];
	struct kz_nbr *nr;
	size_t nnr, anr;
};

int kz__type_order(const char *kind);
bool kz__gvk_selected(const char *g, const char *v, const char *k, const char *sg,
		      const char *sv, const char *sk);
/* Does the resource's group/version/kind match the spec's? */
bool kz__fs_selects(const struct kz_fs *fs, const cJSON *obj);
void kz__fsv_push(struct kz_fsv *v, const char *group, const char *version, const char *kind,
		  const char *path, bool create);
void kz__fsv_release(struct kz_fsv *v);
/* kustomize's FsSlice.MergeAll (duplicates dropped, a differing `create` fails). */
int kz__fsv_merge(struct kz_fsv *v, const struct kz_fsv *in, struct op_err *err);
/* A list of field specs (maps of group, version, kind, path, create) appended to `out`. */
int kz__fsv_parse(const cJSON *list, struct kz_fsv *out, const char *where, struct op_err *err);
void kz__tc_default(struct kz_tconfig *tc);
void kz__tc_copy(struct kz_tconfig *dst, const struct kz_tconfig *src);
void kz__tc_release(struct kz_tconfig *tc);
/* dst = dst merged with src, as kustomize's TransformerConfig.Merge. */
int kz__tc_merge(struct kz_tconfig *dst, const struct kz_tconfig *src, struct op_err *err);
/* A `configurations` file, read strictly. */
int kz__tc_parse(struct kz_tconfig *tc, const cJSON *doc, const char *where, struct op_err *err);
/* What a `crds` file (a map of OpenAPI definitions) adds. */
int kz__tc_from_crds(struct kz_tconfig *tc, const cJSON *defs, const char *where,
		     struct op_err *err);

/*
 * The field-spec walk: call `set` on every node at fs->path in `obj`
 * (when the spec selects obj's kind).  `create` is the kind of leaf to
 * make where fs->create allows (KZ_CREATE_NONE: never create).  `set` gets
 * the node and its parent (an object or an array; NULL for obj itself)
 * and may replace the node with kz__replace_node().
 */
enum kz_create { KZ_CREATE_NONE = 0, KZ_CREATE_SCALAR, KZ_CREATE_MAP, KZ_CREATE_SEQ };
typedef int (*kz_set_fn)(cJSON *parent, cJSON *node, void *payload, struct op_err *err);
int kz__fs_filter(cJSON *obj, const struct kz_fs *fs, enum kz_create create, kz_set_fn set,
		  void *payload, struct op_err *err);
/* Put `with` where `node` is in `parent`, keeping its key; frees node. */
void kz__replace_node(cJSON *parent, cJSON *node, cJSON *with);

/* ---- name references (nameref.c) ---- */
int kz__fix_name_refs(struct kz_resmap *m, const struct kz_tconfig *tc, struct op_err *err);

/* ---- vars (vars.c) ---- */
struct kz_var {
	char *name;
	char *group, *version, *kind, *obj, *ns; /* objref */
	char *fieldpath;
};

/* Vars by name, no two alike. */
struct kz_varset {
	struct kz_var *v;
	size_t n, alloc;
};

void kz__varset_release(struct kz_varset *s);
/* Add src's vars to dst; a name already in dst is an error. */
int kz__varset_merge(struct kz_varset *dst, const struct kz_varset *src, struct op_err *err);
/* A kustomization's `vars`: record each on the object it reads and add it to `set`. */
int kz__vars_bind(struct kz_varset *set, struct kz_resmap *m, const cJSON *list,
		  const char *kfile, struct op_err *err);
/* Replace $(NAME) at the configuration's varReference fields. */
int kz__vars_resolve(const struct kz_varset *set, struct kz_resmap *m,
		     const struct kz_tconfig *tc, struct op_err *err);

/* ---- field paths (replace.c) ---- */
/*
 * kustomize's RNode.GetFieldValue lookup: the node at the dotted field
 * path (list entries as "[name=value]" or, with `slice_index`, "ports[0]"),
 * or NULL when a part is missing.  Errors for parts that cannot apply.
 */
int kz__field_get(const cJSON *obj, const char *path, bool slice_index, const cJSON **ret,
		  struct op_err *err);

/* ---- patches (patch.c) ---- */
/*
 * Fields as Go's JSON decoder matches them, without regard to case: the
 * field `name` of map m, and the first field of m not in names[n].
 */
const cJSON *kz__field_ci(const cJSON *m, const char *name);
const cJSON *kz__unknown_ci(const cJSON *m, const char *const *names, size_t n);

/*
 * The OpenAPI schema strategic merge follows (kustomize's `openapi` field).
 * Without a custom one, the kinds Kubernetes serves merge by the builtin
 * table of merge keys and every other kind plainly (lists replaced).  A
 * custom schema (swagger: `definitions` indexed by
 * x-kubernetes-group-version-kind) drives the merge of the kinds it
 * defines: a list merges by key only where its schema says
 * x-kubernetes-patch-strategy: merge.  `builtins` keeps the builtin table
 * for the other kinds, and for a $ref the custom schema does not define
 * (Flux preloads the builtin schema; `kustomize build` replaces it).
 */
struct kz_schema {
	cJSON *doc; /* the custom schema, or NULL */
	bool set;   /* a kustomization chose one: later bases' choices are ignored */
	bool builtins;
	/*
	 * "apiVersion kind" of the kinds the custom schema's paths make
	 * cluster-scoped (a GET path without namespaces/{namespace}, and none
	 * with it), as kyaml's findNamespaceability reads them.
	 */
	char **cluster;
	size_t ncluster;
};

/* Read doc's paths into sch->cluster (replacing what was there). */
void kz__schema_scopes(struct kz_schema *sch);
void kz__schema_release(struct kz_schema *sch);

/* Strategic merge `patch` into *target (merge keys, $patch directives). */
int kz__smp(cJSON **target, const cJSON *patch, const struct kz_schema *schema,
	    struct op_err *err);

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
