/*
 * ks_build.h: a Kustomization's manifests from an extracted artifact —
 * the build, post-build substitution and the provenance annotations,
 * before anything is applied.
 *
 * What Flux's kustomize-controller does between "artifact downloaded"
 * and "server-side apply":
 *
 *   1. `spec.path` under the artifact root (no escape: ".." and symlinks
 *      leaving the root are refused);
 *   2. the build.  A directory with a kustomization file, or any
 *      directory when the spec has kustomize fields (namePrefix,
 *      nameSuffix, patches, images, components, ...), is built by
 *      lib/kustomize as Flux's generator does it: the spec's fields and
 *      targetNamespace merged into the kustomization (one generated from
 *      the directory if there is none), files loadable from anywhere in
 *      the artifact.  A plain directory without such fields is read
 *      directly: every *.yaml / *.yml file below it, in lexical walk
 *      order, hidden files and directories skipped; each document must be
 *      a Kubernetes object (apiVersion and kind);
 *   2b. `commonMetadata`: its labels and annotations set on every object
 *      (metadata only), overriding;
 *   3. `postBuild`: ${var} substitution per object on its YAML text, with
 *      the variables already merged by the caller (substituteFrom in
 *      order, then substitute), skipped for objects labelled or
 *      annotated kustomize.toolkit.fluxcd.io/substitute: disabled, and
 *      not at all when there are no variables (as Flux);
 *   4. `targetNamespace` on every object whose kind the caller says is
 *      namespaced (the mapper knows; the callback decides), when the
 *      build was not kustomize's (there, kustomize's namespace did it);
 *   5. our provenance annotations on every object:
 *      cflux.io/source-revision and cflux.io/source-path (the file, from
 *      the artifact root, and the document's line).  They are written
 *      only with a real change (lib/apply's provenance_prefix), so they
 *      name the revision that last changed the object.
 *
 * Errors name the file and line: "deploy/app.yaml:12: ...".
 *
 * Threading: pure file and CPU work, no loop state: run it on the thread
 * pool.  The namespaced callback must be thread-safe.
 */
#ifndef CFLUX_OPERATOR_KS_BUILD_H
#define CFLUX_OPERATOR_KS_BUILD_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "base/err.h"

#define KS_ANN_REVISION "cflux.io/source-revision"
#define KS_ANN_PATH "cflux.io/source-path"

struct ks_build_in {
	const char *root;         /* the extracted artifact */
	const char *path;         /* spec.path ("" or "./" = root) */
	const cJSON *vars;        /* {"NAME":"value"} or NULL: no substitution */
	bool strict;              /* undefined variables without default are errors */
	const char *target_ns;    /* spec.targetNamespace or NULL */
	/*
	 * The spec's kustomize fields as a kustomization fragment
	 * (namePrefix, nameSuffix, patches, images, components and the
	 * legacy patchesStrategicMerge, patchesJson6902), or NULL.
	 */
	const cJSON *kustomize;
	const cJSON *common_metadata; /* spec.commonMetadata {labels, annotations} or NULL */
	bool ignore_missing_components; /* drop components whose directory is absent */
	const char *revision;     /* the artifact revision, for the annotation */
	/*
	 * Is this apiVersion/kind namespaced?  NULL: as kustomize decides,
	 * every kind but the built-in cluster-scoped ones (ks_cluster_scoped()).
	 */
	bool (*namespaced)(const char *api_version, const char *kind, void *payload);
	void *payload;
	/* Limits: files read, bytes read. 0: 10 000 files, 256 MiB. */
	unsigned max_files;
	unsigned long long max_bytes;
};

/*
 * Build.  On success returns 0 and stores a new JSON array of objects in
 * *ret (caller frees).  On failure returns a negative errno and *reterr
 * says what and where; *ret is untouched.
 */
int ks_build(const struct ks_build_in *in, cJSON **ret, struct op_err *reterr);

/* Whether `kind` is one of Kubernetes' built-in cluster-scoped kinds. */
bool ks_cluster_scoped(const char *kind);

#endif
