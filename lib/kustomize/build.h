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
	const char *root;
	struct kz_limits lim;
	size_t files, bytes;
	bool load_anywhere;    /* files anywhere under root (LoadRestrictionsNone) */
	const cJSON *overlay;  /* fields merged into the top kustomization */
};

struct kz_target {
	struct kz_ctx *ctx;
	char *dir;   /* relative to root, cleaned; "." for root */
	char *kfile; /* "dir/kustomization.yaml", for messages */
	cJSON *k;    /* the parsed kustomization */
	bool component;
	unsigned depth;
};

/*
 * Read the file `rel` (relative to the kustomization's directory) whole.
 * Like kustomize's default load restrictions, the file must lie in or
 * below that directory.  On success *ret (caller frees, NUL-terminated),
 * *ret_len and, if not NULL, *ret_path (its path from root; caller frees).
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
