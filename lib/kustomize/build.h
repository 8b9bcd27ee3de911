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

/* patches, patchesStrategicMerge (patch.c) */
int kz__apply_patches(struct kz_target *kt, struct kz_resmap *m, struct op_err *err);
/* patchesJson6902 (patch.c) */
int kz__apply_json6902(struct kz_target *kt, struct kz_resmap *m, struct op_err *err);
/* replacements (replace.c): run last among a kustomization's transformers. */
int kz__apply_replacements(struct kz_target *kt, struct kz_resmap *m, struct op_err *err);
/* Parse a YAML stream of objects into resources (expanding Lists). */
int kz__parse_resources(const char *data, size_t len, const char *origin, struct kz_resmap *out,
			struct op_err *err);

#endif
