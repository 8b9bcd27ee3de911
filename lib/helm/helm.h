/*
 * helm.h: a Helm chart, its values and its render, byte for byte as
 * `helm template` (Helm v3.21.4) prints it, and the release records the
 * `helm` CLI reads.
 *
 * THE PIPELINE
 *
 *   helm_chart_load_dir()/_archive()/_path()   files -> struct helm_chart
 *   helm_values_read(), helm_strvals_parse(),
 *   helm_values_compose()                      -f / --set ... -> user values
 *   helm_render()                              dependencies (condition,
 *                                              tags, alias, import-values),
 *                                              coalescing, values.schema.json,
 *                                              templates, manifests, hooks
 *   helm_template_print()                      what `helm template` prints
 *   helm_release_*()                           the release Secret
 *
 * A loaded chart is immutable: helm_render() processes dependencies and
 * values on a private tree of its own, so one chart renders any number of
 * times, with any values, from any thread (one render per thread at once).
 *
 * VALUES
 * Values are cJSON trees, typed as Helm's Go values are: every number read
 * from YAML or JSON is a float64 (a cJSON number), and an integer that
 * `--set` typed (Go int64) is a cJSON *raw* item holding its decimal
 * digits.  The difference shows in templates (`1000000` prints "1e+06"
 * as a float64 and "1000000" as an int64; `eq` refuses to compare a
 * float64 with an int).  helm_values_int64() makes one.
 *
 * ERRORS
 * Every failure returns a negative errno and fills reterr with Helm's own
 * wording where Helm has one ("validation: chart.metadata.name is
 * required", "found in Chart.yaml, but missing in charts/ directory: x",
 * "values don't meet the specifications of the schema(s) ...", "execution
 * error at (chart/templates/x.yaml:3:4): msg").  Helm's messages can be
 * longer than struct op_err holds; helm_render() therefore also gives the
 * whole text in a struct helm_error where a caller wants it.
 *
 * LIMITS
 * Everything is bounded (struct helm_limits): a chart file 5 MiB and a
 * chart 100 MiB (Helm's own limits), the files of an archive, subchart
 * nesting, the rendered output, template execution steps and depth.
 *
 * Threading: reentrant; nothing here logs or blocks on the network (a
 * `lookup` callback may, it runs on the caller's thread).
 */
#ifndef CFLUX_HELM_HELM_H
#define CFLUX_HELM_HELM_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "yj/yj.h"

struct helm_limits {
	uint64_t max_file_bytes;   /* one chart file (Helm: 5 MiB) */
	uint64_t max_chart_bytes;  /* all files of a chart archive (Helm: 100 MiB) */
	uint64_t max_files;        /* entries of one archive or directory tree */
	unsigned max_chart_depth;  /* charts/ nested in charts/ */
	size_t max_output_bytes;   /* rendered text of one release, all files */
	uint64_t max_steps;        /* template execution budget (actions, iterations) */
	unsigned max_exec_depth;   /* nested include/template/tpl calls */
	size_t max_memory_bytes;   /* template values of one render */
};
#define HELM_LIMITS_DEFAULT                                                                        \
	{ .max_file_bytes = 5u << 20, .max_chart_bytes = 100u << 20, .max_files = 20000,          \
	  .max_chart_depth = 16, .max_output_bytes = 256u << 20, .max_steps = 50000000,           \
	  .max_exec_depth = 10000, .max_memory_bytes = (size_t)1 << 30 }

/* ---- the chart (chart.c, load.c) ---- */

struct helm_file {
	char *name; /* chart-relative, '/'-separated: "templates/deployment.yaml" */
	char *data; /* NUL-terminated (the NUL is not counted in len) */
	size_t len;
};

/* A Chart.yaml `dependencies[]` entry (or requirements.yaml for v1). */
struct helm_dependency {
	char *name, *version, *repository, *condition, *alias; /* "" when absent */
	char **tags;
	size_t ntags;
	bool enabled;
	cJSON *import_values; /* the array as written, or NULL */
};

struct helm_maintainer {
	char *name, *email, *url; /* "" when absent */
};

/* Chart.yaml, with Helm's typing (numbers in string fields become text). */
struct helm_metadata {
	char *name, *home, *version, *description, *icon, *api_version, *condition, *tags,
		*app_version, *kube_version, *type; /* "" when absent */
	char **sources, **keywords;
	size_t nsources, nkeywords;
	struct helm_maintainer *maintainers;
	size_t nmaintainers;
	bool deprecated;
	cJSON *annotations; /* object of strings, or NULL */
	struct helm_dependency *deps;
	size_t ndeps;
	bool has_deps; /* a dependencies: list was given (even empty) */
};

/*
 * A loaded chart: read-only for callers.  `deps` are the subcharts found
 * under charts/ (directories and .tgz archives), in name order; which of
 * them a render uses is decided by helm_render().
 */
struct helm_chart {
	struct helm_metadata md;
	cJSON *lock;            /* Chart.lock / requirements.lock as JSON, or NULL */
	cJSON *values;          /* values.yaml: an object, or NULL without the file */
	struct helm_file values_file; /* values.yaml's own bytes; data NULL when absent */
	struct helm_file schema; /* values.schema.json; data NULL when absent */
	struct helm_file *templates;
	size_t ntemplates;
	struct helm_file *files; /* everything else: .Files (crds/, README.md...) */
	size_t nfiles;
	struct helm_chart **deps;
	size_t ndeps;
	struct helm_chart *parent;
};

/*
 * Load a chart from a directory (with .helmignore and Helm's default
 * `templates/.?*` rule; symbolic links followed, as Helm does), from a
 * gzip'd tar in memory (the first path component stripped, absolute
 * paths, ".." and drive letters refused, a UTF-8 BOM stripped from every
 * file, no .helmignore), or from a path that is either.  `lim` NULL means
 * HELM_LIMITS_DEFAULT.  On success returns 0 and stores the chart in
 * *ret (free with helm_chart_free()); on failure returns -EINVAL (bad
 * chart, with Helm's message), -EFBIG/-E2BIG (a limit) or -errno (I/O).
 */
int helm_chart_load_dir(const char *dir, const struct helm_limits *lim, struct helm_chart **ret,
			struct op_err *reterr);
int helm_chart_load_archive(const void *tgz, size_t len, const struct helm_limits *lim,
			    struct helm_chart **ret, struct op_err *reterr);
int helm_chart_load_path(const char *path, const struct helm_limits *lim,
			 struct helm_chart **ret, struct op_err *reterr);
void helm_chart_free(struct helm_chart *c);

/*
 * Parse Chart.yaml bytes into *ret and validate it as Helm's
 * Metadata.Validate() does.  Release with helm_metadata_release().
 */
int helm_metadata_parse(const char *data, size_t len, struct helm_metadata *ret,
			struct op_err *reterr);
void helm_metadata_release(struct helm_metadata *md);

/* The metadata as Go's encoding/json writes chart.Metadata (release records, toYaml .Chart). */
cJSON *helm_metadata_json(const struct helm_metadata *md);

/* ---- packaging (package.c) ---- */

/* What helm_chart_write() changes on the way (NULL: nothing). */
struct helm_package_opts {
	const char *version;     /* Chart.yaml's version, or NULL: as loaded */
	const char *values_yaml; /* values.yaml's bytes instead of the chart's, or NULL */
	size_t values_len;
	/* further subcharts, written as charts/<extra_names[i]>/ under that name */
	const struct helm_chart *const *extra;
	const char *const *extra_names;
	size_t nextra;
};

/*
 * Write `c` into the existing directory `dir` as the tree Helm's
 * chartutil.Save packs: <name>/Chart.yaml (the metadata as yaml.Marshal
 * prints it), Chart.lock (v2), values.yaml (its own bytes),
 * values.schema.json, templates, files, and every subchart as
 * <name>/charts/<sub>/.  Packing the tree is the caller's.  0, or -errno
 * with reterr set.
 */
int helm_chart_write(const struct helm_chart *c, const struct helm_package_opts *o,
		     const char *dir, struct op_err *reterr);

/*
 * The dependencies Chart.lock (or else Chart.yaml) asks for that the
 * chart's charts/ does not hold, by alias or name, as Flux's dependency
 * manager counts them (none when the numbers agree).  Returns how many,
 * sorted by that key, in *ret (release with helm_missing_deps_free()).
 */
size_t helm_chart_missing_deps(const struct helm_chart *c, struct helm_dependency **ret);
void helm_missing_deps_free(struct helm_dependency *d, size_t n);
void helm_dependency_release(struct helm_dependency *d);

/* ---- values (values.c, strvals.c) ---- */

/*
 * Read a values document as Helm's ReadValues (sigs.k8s.io/yaml into a
 * map): the first YAML document, numbers as float64, YAML 1.1 scalars;
 * an empty file is {}.  Not a mapping: -EINVAL.  On success *ret is a new
 * object.
 */
int helm_values_read(const char *data, size_t len, cJSON **ret, struct op_err *reterr);

/* A Go int64 value (see VALUES above). */
cJSON *helm_values_int64(int64_t v);
/* Whether `v` is such an int64; its value in *ret. */
bool helm_values_is_int64(const cJSON *v, int64_t *ret);

/*
 * Merge `src` into `dst` as `helm install -f a.yaml -f b.yaml` merges its
 * files: maps merge recursively, anything else in src replaces (a null
 * too).  `src` is left as it was.
 */
void helm_values_merge(cJSON *dst, const cJSON *src);

/*
 * Helm's chartutil.CoalesceTables(dst, src): `src` fills in what `dst`
 * lacks, maps recursively; a null in dst deletes the key.  For
 * `--reuse-values` (HelmRelease upgrade.preserveValues).
 */
void helm_values_coalesce(cJSON *dst, const cJSON *src);

enum helm_set_kind {
	HELM_SET,         /* --set: typed (true/false/null/int64) */
	HELM_SET_STRING,  /* --set-string: every value a string */
	HELM_SET_JSON,    /* --set-json: values are JSON */
	HELM_SET_FILE,    /* --set-file: values are file names, read through `read` */
	HELM_SET_LITERAL, /* --set-literal: one key, the rest of the text verbatim */
};

/*
 * Read the file a --set-file value names: on success 0 and a new
 * NUL-terminated buffer in *ret (caller frees) of *ret_len bytes.
 */
typedef int (*helm_read_fn)(const char *name, char **ret, size_t *ret_len, struct op_err *reterr,
			    void *payload);

/*
 * Apply one `--set`-style expression ("a.b=1,c[0].d=x") to the object
 * `dst`, as Helm's strvals parser does: the same path syntax (\ escapes,
 * [i] indices up to 65536, at most 30 nested names), the same typing and
 * the same error texts ("key \"a\" has no value").  `read` is used only
 * for HELM_SET_FILE.  On failure dst may be partly updated, as in Helm.
 */
int helm_strvals_parse(cJSON *dst, const char *expr, enum helm_set_kind kind, helm_read_fn read,
		       void *payload, struct op_err *reterr);

/* What `helm template` takes on its command line, in the order given. */
struct helm_value_opts {
	const char *const *files; /* -f/--values */
	size_t nfiles;
	const char *const *set, *const *set_string, *const *set_json, *const *set_file,
		*const *set_literal;
	size_t nset, nset_string, nset_json, nset_file, nset_literal;
};

/*
 * The user values, composed as Helm does: the -f files merged in order,
 * then every --set-json, --set, --set-string, --set-file, --set-literal
 * (in that fixed order of kinds).  `read` reads -f and --set-file files.
 */
int helm_values_compose(const struct helm_value_opts *o, helm_read_fn read, void *payload,
			cJSON **ret, struct op_err *reterr);

/* ---- rendering (render.c, deps.c, coalesce.c, schema.c, manifest.c) ---- */

/*
 * A live lookup for the template function `lookup` (installs and
 * upgrades; `helm template` has none and gets an empty map).  On success
 * store a new object in *ret (the object, a List, or {} for not found).
 */
typedef int (*helm_lookup_fn)(const char *api_version, const char *kind, const char *ns,
			      const char *name, cJSON **ret, struct op_err *reterr, void *payload);

struct helm_render_opts {
	const char *release_name; /* NULL: "release-name" */
	const char *ns;           /* NULL: "default" */
	int revision;             /* 0: 1 */
	bool is_upgrade;
	const char *kube_version; /* NULL: "v1.35.0", as the pinned helm reports */
	const char *const *api_versions; /* appended to the default set */
	size_t n_api_versions;
	bool skip_schema_validation;
	/*
	 * No action.CheckDependencies(): the helm CLI makes that check before
	 * install and upgrade, Helm's actions (helm-controller's path) do not.
	 */
	bool skip_dependency_check;
	bool include_crds; /* crds/ files printed first in the manifest */
	bool crds_apart;   /* crds/ files in helm_rendered.crds, as installs take them */
	bool sub_notes;    /* NOTES.txt of subcharts too */
	bool record;       /* fill helm_rendered.chart for a release record */
	helm_lookup_fn lookup;
	void *lookup_payload;
	const struct helm_limits *lim; /* NULL: HELM_LIMITS_DEFAULT */
};

/*
 * Read a --kube-version as Helm does (k8s.io/apimachinery's ParseGeneric:
 * "1.28", "v1.28.3", trailing text ignored) into "v<components>" in
 * `ret` (64 bytes) and the major and minor numbers (24 bytes each).
 * -EINVAL with reterr naming it otherwise.
 */
int helm_kube_version_parse(const char *s, char ret[64], char major[24], char minor[24],
			    struct op_err *reterr);

struct helm_hook {
	char *name, *kind, *path, *manifest;
	char **events;
	size_t nevents;
	int weight;
	char **delete_policies, **output_log_policies;
	size_t ndelete_policies, noutput_log_policies;
};

/* What a render gives: the parts of a Helm release. */
struct helm_rendered {
	char *manifest; /* release.manifest: "---\n# Source: x\n<doc>\n" blocks */
	size_t manifest_len;
	struct helm_hook *hooks; /* in Helm's kind order */
	size_t nhooks;
	char *notes;  /* rendered NOTES.txt ("" when none) */
	char *crds;   /* opts.crds_apart: CRDObjects(), "---\n# Source: x\n<doc>" blocks, or NULL */
	cJSON *chart; /* the processed chart as a release record stores it (opts.record), or NULL */
};

/* The whole text of a render failure (op_err holds 256 bytes). */
struct helm_error {
	char *msg;      /* Helm's full message (malloc'd), or NULL */
	bool rendering; /* failed while rendering (kubeVersion, templates,
			 * manifests): where `helm template` adds "Use --debug
			 * flag to render out invalid YAML" */
};
#define HELM_ERROR_INIT { .msg = NULL }
void helm_error_release(struct helm_error *e);

/*
 * Render `c` with the user values `values` (NULL: none) as `helm
 * template`/`helm install` do.  On success returns 0 and stores the
 * result in *ret (free with helm_rendered_free()).  On failure returns a
 * negative errno, with Helm's message in reterr and, if `full` is not
 * NULL, the whole message there (release it with helm_error_release()).
 */
int helm_render(const struct helm_chart *c, const cJSON *values, const struct helm_render_opts *o,
		struct helm_rendered **ret, struct helm_error *full, struct op_err *reterr);
void helm_rendered_free(struct helm_rendered *r);

struct helm_print_opts {
	bool no_hooks;
	bool skip_tests;
	const char *const *show_only; /* --show-only patterns (filepath.Match) */
	size_t nshow_only;
};

/*
 * Append what `helm template` prints for `r` to `out`: the manifest
 * trimmed, then every hook as "---\n# Source: ...", filtered by
 * --show-only.  -EFBIG past out's maximum; -ENOENT with "could not find
 * template x in chart" for a --show-only pattern that matches nothing.
 */
int helm_template_print(const struct helm_rendered *r, const struct helm_print_opts *o,
			struct buf *out, struct op_err *reterr);

/* ---- release records (release.c) ---- */

/*
 * The release JSON of Helm v3 (pkg/release.Release: name, info, chart,
 * config, manifest, hooks, version, namespace in that order).  `info` is
 * {first_deployed, last_deployed, deleted, description, status, notes};
 * times are Unix nanoseconds, written as Go's RFC 3339 with nanoseconds
 * (0 writes "").
 */
struct helm_release_info {
	int64_t first_deployed, last_deployed, deleted;
	const char *description, *status, *notes;
};

/*
 * Build a release object from a render: `config` the user values (may be
 * NULL), `version` the revision.  Returns a new object.
 */
cJSON *helm_release_new(const char *name, const char *ns, int version,
			const struct helm_rendered *r, const cJSON *config,
			const struct helm_release_info *info);

/*
 * Serialise `rel` as Helm stores it: Go's JSON, gzip, base64
 * (StdEncoding); the text is appended to out.  0 or -EFBIG.
 */
int helm_release_encode(const cJSON *rel, struct buf *out);

/*
 * Read a stored release: base64, gunzip when the bytes are gzip (else
 * plain JSON, Helm's legacy form), JSON.  `max_bytes` bounds the
 * decompressed size.  On success *ret is a new object.
 */
int helm_release_decode(const char *b64, size_t len, size_t max_bytes, cJSON **ret,
			struct op_err *reterr);

/*
 * The Secret that stores `rel` (named sh.helm.release.v1.<name>.v<version>
 * in `storage_ns`, type helm.sh/release.v1, labels name/owner/status/
 * version plus createdAt (`update` false) or modifiedAt (`update` true) at
 * `now_s`, and data.release = the encoded release, base64'd once more as
 * Kubernetes wants `data`).  `labels` (may be NULL) adds custom labels.
 * Returns a new object, or NULL with reterr set when the release has no
 * name/version or a label uses a reserved name.
 */
cJSON *helm_release_secret(const cJSON *rel, const char *storage_ns, bool update, int64_t now_s,
			   const cJSON *labels, struct op_err *reterr);

/* The release a Secret holds (the inverse of helm_release_secret()). */
int helm_release_from_secret(const cJSON *secret, size_t max_bytes, cJSON **ret,
			     struct op_err *reterr);

/* ---- chart repositories: index.yaml (repo.c) ---- */

/*
 * A repository index is read streaming: yj_parse_visit() hands over one
 * chart version at a time and only the versions of the chart asked for
 * are kept, so the peak is the input plus one chart's versions (a 30 MB
 * public index stays well under twice its size).  The rules are
 * source-controller's IndexFromBytes (v1.7): an empty input is "empty
 * index.yaml file", a missing apiVersion "no API version specified";
 * versions that fail Helm's metadata validation (no name, a name with a
 * '/', no version or one Masterminds cannot read, an unknown type) are
 * dropped; the rest are sorted as Helm's SortEntries, highest version
 * first (equal versions keep the index's order).  A chart version field
 * of the wrong type (a non-string url, a created that is not RFC 3339)
 * refuses the whole index, as Go's decoder does.
 */
struct helm_index_version {
	char *version;     /* as written */
	char *digest;      /* "" when none */
	char *created;     /* as written, "" when none */
	int64_t created_ns; /* 0 when none */
	char **urls;
	size_t nurls;
};

struct helm_index_chart {
	char *name;        /* the chart asked for */
	bool found;        /* the index has an entry of that name (maybe empty) */
	struct helm_index_version *v; /* valid versions, highest first */
	size_t n;
	size_t entries;    /* chart versions in the whole index */
};

/*
 * Read index.yaml (or index.json) `data` and keep the versions of
 * `chart` (NULL: none, only check the index and count `entries`).  `lim`
 * NULL means YJ_LIMITS_DEFAULT (max_nodes counts one chart version at a
 * time, not the index).  0, or -EINVAL/-EFBIG/-E2BIG with reterr set.
 */
int helm_index_read_chart(const char *data, size_t len, const char *chart,
			  const struct yj_limits *lim, struct helm_index_chart *ret,
			  struct op_err *reterr);
void helm_index_chart_release(struct helm_index_chart *c);

/*
 * The version HelmChart's `spec.version` picks, as source-controller's
 * ChartRepository.GetChartVersion: a version written exactly as `want`
 * first; otherwise `want` as a Masterminds constraint ("" and "*" mean
 * the latest stable), over the versions fluxcd/pkg/version.ParseVersion
 * accepts (strict MAJOR.MINOR.PATCH, an optional "v"), prereleases only
 * when the constraint names one; the highest wins, and between equal
 * versions (build metadata differs) the latest `created`.  *ret points
 * into `c`.  0, -ENOENT ("no chart name found", "no chart version
 * found", "no 'x' chart with version matching 'y' found") or -EINVAL (a
 * bad constraint, Masterminds' message).
 */
int helm_index_pick(const struct helm_index_chart *c, const char *want,
		    const struct helm_index_version **ret, struct op_err *reterr);

/* Masterminds' StrictNewVersion, after an optional leading "v". */
bool helm_version_strict(const char *s);

/*
 * A chart's download URL from its index `ref` (its first url), as
 * Helm's repo.ResolveReferenceURL: an absolute `ref` as is; otherwise
 * resolved (RFC 3986, as Go's url.ResolveReference) against the
 * repository URL with one trailing '/' of its path trimmed and one added, the result
 * keeping the repository URL's query.  *ret is malloc'd.  0, or -EINVAL
 * when either URL cannot be parsed.
 */
int helm_index_chart_url(const char *repo_url, const char *ref, char **ret,
			 struct op_err *reterr);

/*
 * A HelmRepository's artifact revision: "sha256:<hex>" of the index file
 * exactly as downloaded (source-controller digests the cached file).
 */
void helm_index_revision(const char *data, size_t len, char ret[72]);

/*
 * A HelmRepository's artifact, index-<hex>.yaml: the index as
 * source-controller stores it, json.MarshalIndent(index, "", "  ") of
 * what IndexFromBytes reads (versions that fail Helm's metadata
 * validation dropped, chart names in byte order, versions highest
 * first; IndexFile's and ChartVersion's fields in Go's order with their
 * omitempty rules; times as Go prints them, the zero time for a missing
 * one; <, > and & escaped as Go does).  Written to `out_fd` streaming:
 * each version is written to `scratch_fd` (an empty file, read back with
 * pread) as it is read, so the peak is the input plus one version plus a
 * record per version.  0, or -EINVAL (a bad index, reterr as
 * helm_index_read_chart()'s), -EFBIG/-E2BIG (`lim`) or -errno (I/O).
 * Not yet: the Unicode sanitising of strings Helm's validation does
 * beyond helm__metadata_validate()'s, Go's strict decoding (unknown
 * fields and duplicate keys refuse the index there).
 */
struct helm_index_json_stats {
	size_t charts, versions;
};
int helm_index_write_json(const char *data, size_t len, int scratch_fd, int out_fd,
			  const struct yj_limits *lim, struct helm_index_json_stats *ret_stats,
			  struct op_err *reterr);

#endif
