/*
 * build.h: one kustomization being built, for the files of lib/kustomize.
 */
#ifndef CFLUX_KUSTOMIZE_BUILD_H
#define CFLUX_KUSTOMIZE_BUILD_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "kustomize/internal.h"
#include "kustomize/kustomize.h"

struct kz_ctx {
	const char *root;      /* "/" when whole_fs */
	struct kz_limits lim;
	size_t files, bytes;
	bool load_anywhere;    /* files anywhere (LoadRestrictionsNone) */
	bool whole_fs;         /* kustomize on disk: see kz_opts */
	char *cwd;             /* whole_fs: the working directory, for messages */
	const cJSON *overlay;  /* fields merged into the top kustomization */
	kz_helm_fn helm;       /* renders helmCharts, or NULL */
	void *helm_payload;
	struct kz_schema schema; /* the `openapi` field's choice for the build */
};

/*
 * One kustomization being built.  `dir` is relative to ctx->root and
 * cleaned ("." for root itself); with whole_fs, root is "/" and `dir` is
 * the directory's real path without its leading "/", so symlinks are
 * already resolved, as kustomize's loader resolves them.
 */
struct kz_target {
	struct kz_ctx *ctx;
	const struct kz_target *parent; /* the kustomization that refers to this one */
	char *dir;
	char *kfile; /* the kustomization file as messages name it */
	char *kpath; /* the kustomization file, relative to root */
	cJSON *k;    /* the parsed kustomization */
	bool component;
	unsigned depth;
};

/* `rel` (relative to ctx->root) as messages show it (caller frees). */
char *kz__display(const struct kz_ctx *ctx, const char *rel);

/*
 * Read the file `rel` (relative to the kustomization's directory) whole.
 * Like kustomize's default load restrictions, the file must lie in or
 * below that directory unless ctx->load_anywhere.  On success *ret
 * (caller frees, NUL-terminated), *ret_len and, if not NULL, *ret_path
 * (the file as messages and origins name it; caller frees).
 */
int kz__read(struct kz_target *kt, const char *rel, char **ret, size_t *ret_len, char **ret_path,
	     struct op_err *err);

/*
 * What is at `rel` (relative to the kustomization's directory): *kind 'd',
 * 'f', or 0 when absent, and its path on disk in *ret_abs (caller frees).
 * The path is confined as bases are (root, or anywhere with whole_fs).
 */
int kz__stat(struct kz_target *kt, const char *rel, char *kind, char **ret_abs,
	     struct op_err *err);

/*
 * What a kustomization accumulates (kustomize's ResAccumulator): the
 * resources, the transformer configuration they are transformed with,
 * and the vars bound so far.  A base's accumulator is merged into its
 * overlay's; a component works on its parent's.
 */
struct kz_acc {
	struct kz_resmap m;
	struct kz_tconfig tc;
	struct kz_varset vars;
};

void kz__acc_release(struct kz_acc *a);

/* Parse a YAML stream of objects into resources (expanding Lists). */
int kz__parse_resources(const char *data, size_t len, const char *origin, struct kz_resmap *out,
			struct op_err *err);

/* ---- builtin transformers (transform.c, patch.c, replace.c) ---- */
/* Set the string map `pairs` at every field spec (labels, annotations). */
int kz__t_pairs(struct kz_resmap *m, const cJSON *pairs, const struct kz_fsv *fs,
		struct op_err *err);
/* NamespaceTransformer; `mode` is setRoleBindingSubjects ("" for defaultOnly). */
int kz__t_namespace(struct kz_resmap *m, const char *ns, const struct kz_fsv *fs, bool unset_only,
		    const char *mode, struct op_err *err);
/* PrefixTransformer / SuffixTransformer. */
int kz__t_affix(struct kz_resmap *m, const char *s, bool suffix, const struct kz_fsv *fs,
		struct op_err *err);
/* ImageTagTransformer: `spec` is {name, newName, newTag, digest, tagSuffix}. */
int kz__t_image(struct kz_resmap *m, const cJSON *spec, const struct kz_fsv *fs,
		const char *where, struct op_err *err);
/* ReplicaCountTransformer: `spec` is {name, count}. */
int kz__t_replicas(struct kz_resmap *m, const cJSON *spec, const struct kz_fsv *fs,
		   const char *where, struct op_err *err);
/* PatchStrategicMergeTransformer: `paths` (files or inline patches) and `patches`. */
int kz__t_psm(struct kz_target *kt, struct kz_resmap *m, const cJSON *paths, const char *patches,
	      struct op_err *err);
/* PatchTransformer: one `patches` entry {path | patch, target, options}. */
int kz__t_patch(struct kz_target *kt, struct kz_resmap *m, const cJSON *entry,
		struct op_err *err);
/* PatchJson6902Transformer: {target, path | patch}. */
int kz__t_json6902(struct kz_target *kt, struct kz_resmap *m, const cJSON *entry,
		   struct op_err *err);
/* ReplacementTransformer: a `replacements` list (inline or {path}). */
int kz__apply_replacements(struct kz_target *kt, struct kz_resmap *m, const cJSON *list,
			   struct op_err *err);
/* A kustomization's transformers, in kustomize's order, then its `transformers`. */
int kz__transform(struct kz_target *kt, struct kz_acc *acc, struct op_err *err);

/* ---- generators (generate.c) ---- */
/*
 * One configMapGenerator (secret false) or secretGenerator entry, with
 * `gopts` the kustomization's generatorOptions (or NULL), absorbed into
 * `m` as its behavior says.
 */
int kz__generate(struct kz_target *kt, struct kz_resmap *m, const cJSON *args, bool secret,
		 const cJSON *gopts, struct op_err *err);

/* ---- helm charts (helmchart.c) ---- */
/*
 * One chart (a helmCharts entry or a HelmChartInflationGenerator config)
 * inflated through ctx->helm and appended to `m`, marked helm-generated;
 * `globals` gives chartHome, `ns` the namespace inherited when the chart
 * names none.
 */
int kz__helm_chart(struct kz_target *kt, struct kz_resmap *m, const cJSON *chart,
		   const cJSON *globals, const char *ns, struct op_err *err);
/* The kustomization's helmCharts, with helmGlobals. */
int kz__helm_charts(struct kz_target *kt, struct kz_resmap *m, struct op_err *err);

/* ---- plugin configs (plugin.c) ---- */
enum kz_plugin_kind { KZ_PLUGIN_GENERATORS, KZ_PLUGIN_TRANSFORMERS, KZ_PLUGIN_VALIDATORS };
/*
 * Run the kustomization's `generators`, `transformers` or `validators`:
 * each entry a file or directory of builtin plugin configs, or the
 * configs inline.  Exec and container (KRM function) plugins are refused.
 */
int kz__plugins_run(struct kz_target *kt, struct kz_acc *acc, enum kz_plugin_kind which,
		    struct op_err *err);
/* Accumulate the resources listed (files, directories) into `acc`, as `resources` does. */
int kz__add_resources(struct kz_target *kt, const cJSON *list, struct kz_acc *acc,
		      struct op_err *err);

#endif
