/*
 * kustomize.h: a native `kustomize build`: files in, objects out.
 *
 * kz_build() reads the kustomization in `dir` (kustomization.yaml,
 * kustomization.yml or Kustomization), follows its resources, components
 * and generators through the tree under `root`, applies its transformers
 * and patches, and returns the objects in the order `kustomize build`
 * prints them (its "legacy" order).  kz_emit() prints them exactly as
 * `kustomize build` does.  kustomize v5's behaviour is the specification;
 * test/unit/kustomize_diff.sh compares us with the real binary byte for
 * byte.
 *
 * What is supported: resources (files, directories with a kustomization,
 * overlays of any depth), components, namespace, namePrefix, nameSuffix,
 * commonLabels, labels (includeSelectors, includeTemplates),
 * commonAnnotations, images, replicas, configMapGenerator and
 * secretGenerator (literals, files, envs, behavior, options, the content
 * hash suffix), generatorOptions, name references to renamed objects,
 * patches (strategic merge and JSON 6902, inline or from a file, with
 * target selectors), patchesStrategicMerge, patchesJson6902, replacements
 * (inline or from files), sortOptions, crds (the field specs their
 * OpenAPI definitions declare: annotations, label selectors, identities
 * and object references), vars, configurations,
 * builtin generators/transformers/validators, and helmCharts through a
 * renderer the caller passes (kz_opts.helm; without one they are refused
 * as kustomize refuses them without --enable-helm), and `openapi` (a
 * custom schema for strategic merge, or the builtin version).  Anything
 * else (exec and container plugins, the deprecated
 * helmChartInflationGenerator) fails the build with a message naming the
 * field, rather than being silently ignored.
 *
 * Safety: the build is a pure function of the files under `root`.  No
 * path may leave `root` (".." that climbs out, absolute paths, symlinks
 * pointing out: see path_join_safe()), remote resources (URLs, git
 * repositories) are refused as Flux's --no-remote-bases refuses them, and
 * struct kz_limits bounds files read, bytes read and kustomization nesting.
 *
 * Errors name the kustomization file and field, or the resource file
 * (with the document's line), in the message of reterr.
 *
 * Threading: no global state; run builds on worker threads freely.
 */
#ifndef CFLUX_KUSTOMIZE_KUSTOMIZE_H
#define CFLUX_KUSTOMIZE_KUSTOMIZE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

struct sops_identities;

struct kz_limits {
	size_t max_files;  /* files read (kustomizations, resources, patches, generator inputs) */
	size_t max_bytes;  /* bytes read, all files together */
	unsigned max_depth; /* nesting of kustomizations (resources and components) */
};

#define KZ_LIMITS_DEFAULT { .max_files = 10000, .max_bytes = 256u << 20, .max_depth = 64 }

/*
 * Build the kustomization in `dir`, a path relative to `root` ("" or "."
 * for root itself).  `lim` NULL means KZ_LIMITS_DEFAULT.  On success
 * returns 0 and stores a new JSON array of the objects, in output order,
 * in *ret (caller frees with cJSON_Delete()).  On failure returns a
 * negative errno (-ENOENT no kustomization or missing file, -EINVAL bad
 * input, -EPERM a path escaping root or a remote resource, -EFBIG/-E2BIG
 * a limit, -ENOTSUP an unsupported field) with reterr saying what and
 * where; *ret is untouched.
 */
int kz_build(const char *root, const char *dir, const struct kz_limits *lim, cJSON **ret,
	     struct op_err *reterr);

/*
 * What Flux's kustomize-controller changes about a build.
 *
 * `load_anywhere`: patches and generator inputs may be read from anywhere
 * under root, not only from the kustomization's directory and below
 * (kustomize's LoadRestrictionsNone, which Flux uses; root still bounds
 * everything).
 *
 * `overlay`: kustomization fields merged into the top kustomization
 * before it is built, as Flux's generator merges a Kustomization's spec
 * into kustomization.yaml: `namespace`, `namePrefix`, `nameSuffix`
 * replace; `patches`, `patchesStrategicMerge`, `patchesJson6902` and
 * `components` are appended; `images` entries replace the fields of an
 * entry with the same name, or are appended.  With an overlay, a
 * directory without a kustomization file is built as Flux generates one:
 * its resources are every *.yaml / *.yml file below it holding a
 * Kubernetes object (apiVersion and kind), in lexical walk order, hidden
 * entries skipped, and every subdirectory with a kustomization file of
 * its own, which is not descended into.
 *
 * `whole_fs`: build as `kustomize build` does on disk (the command line):
 * `root` is ignored and `dir` is absolute or relative to the working
 * directory; bases and components may lie anywhere, symlinks are
 * followed as kustomize's loader follows them (a kustomization's
 * directory is its real path), and files obey the load restriction
 * (`load_anywhere` false: kustomize's default LoadRestrictionsRootOnly,
 * judged on the real path of the file's directory).  Messages name files
 * relative to the working directory.
 *
 * `origin_annotation`: if set, each object gets this annotation with
 * where it came from, "file:line" from root (generated objects: their
 * kustomization file).
 */
/*
 * helmCharts: one chart to inflate, as kustomize's
 * HelmChartInflationGenerator hands it to `helm template` (kustomize
 * --enable-helm).  lib/kustomize does everything on its side of that
 * command line: the chart home and values files (with the load
 * restriction), valuesInline merged as `valuesMerge` says, the namespace
 * inherited from the kustomization or the kustomizations above it, the
 * release name; the hook only renders.
 */
struct kz_helm_chart {
	const char *chart_dir;    /* the chart directory, a path on disk */
	const char *release_name; /* releaseName, or the one helm's --generate-name makes */
	const char *ns;           /* "" for none (helm's "default") */
	/* the -f values documents, in order: YAML text and the name errors give */
	const char *const *values, *const *values_names;
	const size_t *values_len;
	size_t nvalues;
	const char *const *api_versions; /* --api-versions */
	size_t n_api_versions;
	const char *kube_version; /* "" for helm's default */
	bool include_crds, skip_tests, skip_hooks;
};

/*
 * Render `c` and append what `helm template` prints to `out`; 0, or a
 * negative errno with reterr set (helm's message).
 */
typedef int (*kz_helm_fn)(const struct kz_helm_chart *c, struct buf *out, struct op_err *reterr,
			  void *payload);

struct kz_opts {
	struct kz_limits lim;
	bool load_anywhere;
	bool whole_fs;
	/*
	 * `fifo`: without sortOptions, keep the objects in the order they were
	 * read, as krusty does with its Options.Reorder unspecified (Flux's
	 * builder); false: the legacy order `kustomize build` prints.
	 */
	bool fifo;
	const cJSON *overlay;
	const char *origin_annotation;
	/*
	 * `helm`: renders helmCharts (kustomize build --enable-helm).  NULL
	 * refuses them, as kustomize does without --enable-helm and as Flux's
	 * kustomize-controller always does.
	 */
	kz_helm_fn helm;
	void *helm_payload;
	/*
	 * `openapi_builtins`: a custom `openapi` schema adds to the builtin
	 * merge keys, as Flux's builder preloads kustomize's builtin schema;
	 * false: it replaces them, as `kustomize build` does.
	 */
	bool openapi_builtins;
};

#define KZ_OPTS_INIT { .lim = KZ_LIMITS_DEFAULT }

/* kz_build() with `opts` (NULL: KZ_OPTS_INIT). */
int kz_build_opts(const char *root, const char *dir, const struct kz_opts *opts, cJSON **ret,
		  struct op_err *reterr);

/*
 * A Flux Kustomization's manifests from an extracted artifact: what
 * kustomize-controller does between "artifact downloaded" and
 * "server-side apply".
 *
 *   1. `path` under the artifact root (no escape: ".." and symlinks
 *      leaving the root are refused; a missing one is -ENOENT
 *      "kustomization path not found: '<path>'");
 *   2. the build, as Flux's generator sets it up: kz_build_opts() with
 *      load_anywhere, the spec's kustomize fields as the overlay and
 *      targetNamespace as its `namespace` (so a directory without a
 *      kustomization file gets the one Flux generates);
 *   3. `commonMetadata`: its labels and annotations set on every object
 *      (metadata only), overriding;
 *   3b. `decryption`: SOPS-encrypted objects decrypted (see `decrypt`
 *      below), with kustomize-controller's error text;
 *   4. `postBuild`: ${var} substitution per object on its YAML text
 *      (envsubst.h), with the variables already merged by the caller
 *      (substituteFrom in order, then substitute), skipped for objects
 *      labelled or annotated kustomize.toolkit.fluxcd.io/substitute:
 *      disabled, and not at all when there are no variables (as Flux);
 *   5. the provenance annotations on every object: KZ_ANN_REVISION and
 *      KZ_ANN_PATH (the file, from the artifact root, and the document's
 *      line).
 *
 * Errors name the file and line: "deploy/app.yaml:12: ...".  Pure file
 * and CPU work: run it on the thread pool.
 */
#define KZ_ANN_REVISION "cflux.io/source-revision"
#define KZ_ANN_PATH "cflux.io/source-path"

struct kz_flux_in {
	const char *root;      /* the extracted artifact */
	const char *path;      /* spec.path ("" or "./" = root) */
	const cJSON *vars;     /* {"NAME":"value"} or NULL: no substitution */
	bool strict;           /* undefined variables without default are errors */
	const char *target_ns; /* spec.targetNamespace or NULL */
	/*
	 * The spec's kustomize fields as a kustomization fragment
	 * (namePrefix, nameSuffix, patches, images, components and the
	 * legacy patchesStrategicMerge, patchesJson6902), or NULL.
	 */
	const cJSON *kustomize;
	const cJSON *common_metadata;   /* spec.commonMetadata {labels, annotations} or NULL */
	bool ignore_missing_components; /* drop components whose directory is absent */
	const char *revision;           /* the artifact revision, for the annotation */
	size_t max_files, max_bytes;    /* 0: KZ_LIMITS_DEFAULT's */
	/*
	 * spec.decryption is set: every object sops_is_encrypted() finds is
	 * decrypted (sops.h) after the build, before substitution, with `ids`
	 * (may be NULL or empty: then such an object fails with "no age
	 * identity matches").  The MAC is not checked, as in Flux.
	 */
	bool decrypt;
	const struct sops_identities *ids;
};

/*
 * The variables of postBuild: merge a substituteFrom ConfigMap's or
 * Secret's `data` (`b64`: base64 values, a Secret's) or the inline
 * `substitute` map into `vars`, a later key replacing an earlier one, with
 * newlines dropped from values as Flux drops them.  Non-string values and
 * undecodable ones are skipped.  Shared by kustomize-controller and the
 * CLI's `build kustomization`.
 */
void kz_vars_add(cJSON *vars, const cJSON *data, bool b64);

/*
 * From a Kustomization's `spec`: the kustomize fragment kz_flux_in's
 * `kustomize` takes (namePrefix, nameSuffix, patches, images,
 * components), new in *ret_kustomize, and a copy of commonMetadata in
 * *ret_common_metadata (NULL if none).  Caller frees both.
 */
void kz_flux_spec(const cJSON *spec, cJSON **ret_kustomize, cJSON **ret_common_metadata);

/*
 * Build.  On success returns 0 and stores a new JSON array of objects in
 * *ret (caller frees), in the order kustomize reads them, without its
 * legacy sort (Flux's krusty options leave the order unset, so both
 * kustomize-controller and `flux build` keep it).  On failure returns a negative errno and *reterr
 * says what and where; *ret is untouched.
 */
int kz_flux_build(const struct kz_flux_in *in, cJSON **ret, struct op_err *reterr);

/* The most YAML kz_flux_digest() prints to hash. */
#define KZ_DIGEST_MAX_BYTES ((size_t)256 << 20)

/*
 * The digest kustomize-controller keeps in status.history: "sha256:<hex>"
 * of what kz_flux_build() built (`objects`), printed as `kustomize build`
 * prints it, without the provenance annotations KZ_ANN_REVISION and
 * KZ_ANN_PATH (Flux hashes its build before anything is added).  The
 * objects are left as they were.  0, or -EFBIG past KZ_DIGEST_MAX_BYTES.
 */
int kz_flux_digest(cJSON *objects, char ret[72]);

/*
 * Whether a kustomize target selector (Flux's Selector: group, version,
 * kind, name and namespace as anchored regexes, labelSelector and
 * annotationSelector) selects the object `obj`: 1 or 0, or -EINVAL with
 * reterr naming a selector that does not parse.  A NULL `sel` selects all.
 */
int kz_selects(const cJSON *sel, const cJSON *obj, struct op_err *reterr);

/*
 * Append the objects of the array `list` to `out` as `kustomize build`
 * prints them: each as sigs.k8s.io/yaml prints it, separated by "---"
 * lines.  0, or -EFBIG past out's maximum.
 */
int kz_emit(const cJSON *list, struct buf *out);

#endif
