/*
 * internal.h: what the files of lib/helm share.
 */
#ifndef CFLUX_HELM_INTERNAL_H
#define CFLUX_HELM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "helm/helm.h"

/* ---- chart.c ---- */

/*
 * Read the first YAML document of `data` as sigs.k8s.io/yaml.Unmarshal
 * does (go-yaml v2 reads one document; what follows is not looked at),
 * with every number a float64 (raw big integers become doubles, as Go's
 * json.Unmarshal makes them).  *ret is NULL for an empty document.
 */
int helm__yaml_first(const char *data, size_t len, cJSON **ret, struct op_err *reterr);

/* encoding/json's name for a value's JSON type: "object", "array", "string", "bool", "number". */
const char *helm__json_kind(const cJSON *v);

/*
 * A scalar as text, as sigs.k8s.io/yaml turns it into a Go string field
 * (go_v false: integers in decimal, other numbers at float32 precision)
 * or as fmt's %v prints it (go_v true).  A new string, or NULL for a
 * non-scalar.
 */
char *helm__scalar_text(const cJSON *v, bool go_v);

/* Turn every raw (exact integer) item of `j` into a float64 number. */
void helm__floatify(cJSON *j);

/*
 * Apply the fields present in the YAML/JSON object `doc` to `md` as Go's
 * json.Unmarshal into chart.Metadata does (keys matched case-insensitively,
 * scalars turned into strings for string fields as sigs.k8s.io/yaml does,
 * unknown keys ignored).  `file` names the file for messages.
 */
int helm__metadata_apply(struct helm_metadata *md, const cJSON *doc, const char *file,
			 struct op_err *reterr);

/* chart.Metadata.Validate(): sanitises strings, checks names, versions, aliases. */
int helm__metadata_validate(struct helm_metadata *md, struct op_err *reterr);

/* A deep copy of `md` into *ret. */
void helm__metadata_copy(struct helm_metadata *ret, const struct helm_metadata *md);

/* Masterminds semver: whether `v` is a version NewVersion accepts. */
bool helm__valid_semver(const char *v);

/* chartutil.IsCompatibleRange(constraint, version). */
bool helm__compatible_range(const char *constraint, const char *version);

/* ---- release.c ---- */

/*
 * Compact JSON of `j` as encoding/json writes Go structs built in field
 * order: objects keep their member order, except the members that are Go
 * maps (config, values, annotations, import-values, serverInfo), whose
 * keys are sorted; no HTML escaping (SetEscapeHTML(false)).
 */
int helm__json_ordered(const cJSON *j, struct buf *out);

/* ---- load.c ---- */

/* One chart file read from a directory or an archive, before classification. */
struct helm__buffered {
	char *name;
	char *data;
	size_t len;
};

/*
 * What one load shares down the tree of subcharts: the limits and the
 * bytes read so far by the whole tree (archives inside archives
 * included), so nesting cannot multiply the budget.
 */
struct helm__loader {
	const struct helm_limits *lim;
	uint64_t bytes;
};

/*
 * chart/loader.LoadFiles(): classify `files` (names relative to the chart
 * root) into a chart, loading charts/ subcharts.  Takes ownership of the
 * files' names and data (the array is emptied whatever happens).
 * `depth` counts nesting for the limit.
 */
int helm__load_files(struct helm__loader *ld, struct helm__buffered *files, size_t n,
		     unsigned depth, struct helm_chart **ret, struct op_err *reterr);

/* ---- deps.c, coalesce.c ---- */

/*
 * A chart as one render sees it, after dependency processing: the loaded
 * chart's files, with metadata and values of its own (an alias renames
 * it; disabled dependencies are gone; import-values rewrite the values).
 */
struct helm__node {
	const struct helm_chart *src; /* templates, files, schema: borrowed */
	struct helm_metadata md;      /* owned copy */
	cJSON *values;                /* owned; NULL when the chart has none */
	struct helm__node **deps;     /* Dependencies(), owned */
	size_t ndeps;
	struct helm__node *parent;
};

/* A node tree mirroring the loaded chart `c` (nothing processed yet). */
struct helm__node *helm__node_new(const struct helm_chart *c, struct helm__node *parent);
void helm__node_free(struct helm__node *n);

/* ChartFullPath(): "root", "root/charts/sub"; caller frees. */
char *helm__node_path(const struct helm__node *n);

/*
 * chartutil.ProcessDependenciesWithMerge(chart, userValues): enable or
 * disable dependencies (tags, conditions), resolve aliases, then apply
 * import-values bottom up.  Rewrites the tree in place.
 */
int helm__process_deps(struct helm__node *root, const cJSON *user, struct op_err *reterr);

/*
 * chartutil.CoalesceValues (merge false) / MergeValues (merge true):
 * `user` values over the chart's defaults, subcharts and globals.  On
 * success *ret is a new object.
 */
int helm__coalesce(const struct helm__node *n, const cJSON *user, bool merge, cJSON **ret,
		   struct op_err *reterr);

/* chartutil.CoalesceTables / MergeTables: src (borrowed) into dst. */
void helm__coalesce_tables(cJSON *dst, const cJSON *src, bool merge);

/* ---- schema.c ---- */

/*
 * chartutil.ValidateAgainstSchema(): the coalesced values of every chart
 * with a values.schema.json (subcharts on their own table) against it.
 * On failure -EINVAL with Helm's text ("values don't meet the
 * specifications of the schema(s) in the following chart(s):\n...") in
 * full->msg (if `full` is not NULL) and, shortened, in reterr.
 */
int helm__validate_schemas(const struct helm__node *root, const cJSON *values,
			   struct helm_error *full, struct op_err *reterr);

/* ---- release.c ---- */

/* The processed chart as a release record stores it (pkg/chart.Chart JSON). */
cJSON *helm__chart_json(const struct helm__node *n);

/* ---- manifest.c ---- */

/* A rendered template file. */
struct helm__rfile {
	char *name; /* "chart/templates/x.yaml" */
	char *content;
	size_t len;
};

/* A crds/ file printed with --include-crds. */
struct helm__crd {
	char *path; /* "chart/crds/x.yaml" */
	const char *data; /* borrowed from the chart */
	size_t len;
};

/* strings.TrimSpace on [*s, *s + *n). */
void helm__trim_space(const char **s, size_t *n);

/*
 * releaseutil.SortManifests() plus renderResources()' manifest text:
 * split `files` (sorted by name) into documents, hooks and manifests in
 * InstallOrder, and fill out->manifest (CRDs first) and out->hooks.
 */
int helm__sort_manifests(const struct helm__rfile *files, size_t n, const struct helm__crd *crds,
			 size_t ncrds, struct helm_rendered *out, struct op_err *reterr);

void helm__hook_release(struct helm_hook *h);

/* ---- match.c ---- */

/*
 * Go's path.Match / filepath.Match on '/'-separated names: `*`, `?`,
 * `[...]` (with `^` negation and ranges) and `\` escapes, none crossing
 * '/'.  Returns 1 for a match, 0 for none, -EINVAL for a bad pattern
 * (Go's ErrBadPattern, also reported when the name does not match).
 */
int helm__path_match(const char *pattern, const char *name);

/*
 * A compiled gobwas/glob pattern with '/' as the separator, as
 * .Files.Glob uses it: `*` (no '/'), `**` (anything), `?`, `[abc]`,
 * `[!abc]`, `[a-z]`, `{a,b}` alternatives, `\` escapes.
 */
struct helm__glob;
int helm__glob_compile(const char *pattern, struct helm__glob **ret);
bool helm__glob_match(const struct helm__glob *g, const char *name);
void helm__glob_free(struct helm__glob *g);

/* ---- values.c ---- */

/* chartutil.Values.Table(path): the object at a dotted path, or NULL. */
cJSON *helm__values_table(const cJSON *v, const char *path);

/*
 * chartutil.Values.PathValue(path): the non-table value at a dotted path.
 * NULL when absent or a table (Helm's ErrNoValue).
 */
const cJSON *helm__values_path(const cJSON *v, const char *path);

#endif
