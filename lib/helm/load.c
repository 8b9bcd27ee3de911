/*
 * load.c: a chart from a directory or a .tgz, as Helm's chart/loader.
 *
 * DESIGN
 * Both sources become one list of (chart-relative name, bytes), which
 * helm__load_files() classifies exactly as LoadFiles() does: Chart.yaml
 * first (it decides the apiVersion the others depend on), then in list
 * order values.yaml, values.schema.json, Chart.lock/requirements.*,
 * templates/, charts/ (grouped by their first path segment and loaded
 * recursively, from directories and from .tgz archives), everything else
 * into .Files.  Helm walks the subchart groups in Go map order, which is
 * random; we load them in name order.
 *
 * Directories are walked in lexical order following symbolic links, with
 * .helmignore rules (Go path.Match patterns, Helm's own negation rule:
 * a "!pattern" that does not match ignores the path) plus the default
 * `templates/.?*`.  Archives are read in memory through lib/source's
 * artifact_read_mem() (libarchive stays in one file); Helm's path rules
 * (strip the first component, refuse absolute paths, "..", drive letters
 * and a top-level Chart.yaml) and its size limits are applied here.
 *
 * Every name and byte is owned by the list until classification moves it
 * into the chart; on any failure everything built so far is freed.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/path.h"
#include "base/str.h"
#include "helm/internal.h"
#include "source/artifact.h"
#include "base/banned.h"

static const struct helm_limits default_limits = HELM_LIMITS_DEFAULT;

struct flist {
	struct helm__buffered *v;
	size_t n, alloc;
};

static void flist_release(struct flist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].data);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static void flist_add(struct flist *l, char *name, char *data, size_t len)
{
	XGROW(l->v, l->n + 1, l->alloc);
	l->v[l->n].name = name;
	l->v[l->n].data = data;
	l->v[l->n].len = len;
	l->n++;
}

/* Helm strips a UTF-8 byte order mark from every file. */
static void strip_bom(char *data, size_t *len)
{
	if (*len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) {
		memmove(data, data + 3, *len - 3 + 1);
		*len -= 3;
	}
}

/* ---- the chart ---- */

static void files_free(struct helm_file *f, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(f[i].name);
		free(f[i].data);
	}
	free(f);
}

void helm_chart_free(struct helm_chart *c)
{
	size_t i;

	if (!c)
		return;
	helm_metadata_release(&c->md);
	cJSON_Delete(c->lock);
	cJSON_Delete(c->values);
	free(c->values_file.name);
	free(c->values_file.data);
	free(c->schema.name);
	free(c->schema.data);
	files_free(c->templates, c->ntemplates);
	files_free(c->files, c->nfiles);
	for (i = 0; i < c->ndeps; i++)
		helm_chart_free(c->deps[i]);
	free(c->deps);
	free(c);
}

static void add_file(struct helm_file **v, size_t *n, struct helm__buffered *f)
{
	*v = xrealloc(*v, xalloc__mul(*n + 1, sizeof(**v)));
	(*v)[*n].name = TAKE_PTR(f->name);
	(*v)[*n].data = TAKE_PTR(f->data);
	(*v)[*n].len = f->len;
	(*n)++;
}

static const char *ext_of(const char *name)
{
	const char *slash = strrchr(name, '/'), *dot = strrchr(name, '.');

	return dot && (!slash || dot > slash) ? dot : "";
}

/* One subchart group: the files under charts/<name>/ (or the one charts/<name>.tgz). */
struct group {
	char *name;
	struct flist files;
};

static int cmp_group(const void *a, const void *b)
{
	return strcmp(((const struct group *)a)->name, ((const struct group *)b)->name);
}

static int load_archive(struct helm__loader *ld, const void *tgz, size_t len, unsigned depth,
			struct helm_chart **ret, struct op_err *err);

static int load_sub(struct helm__loader *ld, struct helm_chart *c, struct group *g,
		    unsigned depth, struct op_err *err)
{
	struct helm_chart *sc = NULL;
	int r;

	if (streq(ext_of(g->name), ".tgz")) {
		struct helm__buffered *f = &g->files.v[0];

		if (!streq(f->name, g->name))
			return op_err_set(err, -EINVAL, "error unpacking subchart tar in %s: expected "
					  "%s, got %s", c->md.name, g->name, f->name);
		if (depth + 1 > ld->lim->max_chart_depth)
			r = op_err_set(err, -E2BIG, "subcharts nested deeper than %u levels",
				       ld->lim->max_chart_depth);
		else
			r = load_archive(ld, f->data, f->len, depth + 1, &sc, err);
	} else {
		size_t i, k = 0;

		/* Drop the "<name>/" prefix; a bare "charts/<name>" file has no place. */
		for (i = 0; i < g->files.n; i++) {
			struct helm__buffered *f = &g->files.v[i];
			char *slash = strchr(f->name, '/');

			if (!slash) {
				free(f->name);
				free(f->data);
				continue;
			}
			memmove(f->name, slash + 1, strlen(slash + 1) + 1);
			g->files.v[k++] = *f;
		}
		g->files.n = k;
		if (depth + 1 > ld->lim->max_chart_depth) {
			r = op_err_set(err, -E2BIG, "subcharts nested deeper than %u levels",
				       ld->lim->max_chart_depth);
		} else {
			r = helm__load_files(ld, g->files.v, g->files.n, depth + 1, &sc, err);
			g->files.n = 0; /* consumed */
		}
	}
	if (r < 0) {
		op_err_prefix(err, "error unpacking subchart %s in %s", g->name, c->md.name);
		helm_chart_free(sc);
		return r;
	}
	sc->parent = c;
	c->deps = xrealloc(c->deps, xalloc__mul(c->ndeps + 1, sizeof(*c->deps)));
	c->deps[c->ndeps++] = sc;
	return 0;
}

/* Parse a YAML file into a JSON value for Chart.lock/requirements.lock. */
static int load_lock(struct helm_chart *c, const struct helm__buffered *f, struct op_err *err)
{
	cJSON *doc = NULL;
	int r = helm__yaml_first(f->data, f->len, &doc, err);

	if (r < 0)
		return op_err_prefix(err, "cannot load %s: error converting YAML to JSON", f->name);
	if (doc && !cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		return op_err_set(err, -EINVAL, "cannot load %s: error unmarshaling JSON: while "
				  "decoding JSON: json: cannot unmarshal into Go value of type "
				  "chart.Lock", f->name);
	}
	cJSON_Delete(c->lock);
	c->lock = doc;
	return 0;
}

int helm__load_files(struct helm__loader *ld, struct helm__buffered *files, size_t n,
		     unsigned depth, struct helm_chart **ret, struct op_err *err)
{
	struct helm_chart *c = xnew0(struct helm_chart, 1);
	struct group *groups = NULL;
	size_t ngroups = 0, i, j;
	bool have_md = false;
	int r = 0;

	/* Chart.yaml first: the apiVersion decides how requirements.* are read. */
	for (i = 0; i < n && r == 0; i++) {
		cJSON *doc = NULL;

		if (!files[i].name || !streq(files[i].name, "Chart.yaml"))
			continue;
		r = helm__yaml_first(files[i].data, files[i].len, &doc, err);
		if (r < 0) {
			op_err_prefix(err, "cannot load Chart.yaml: error converting YAML to JSON");
			break;
		}
		r = helm__metadata_apply(&c->md, doc, "Chart.yaml", err);
		cJSON_Delete(doc);
		have_md = true;
		if (r == 0 && !c->md.api_version[0]) {
			free(c->md.api_version);
			c->md.api_version = xstrdup("v1");
		}
	}
	for (i = 0; i < n && r == 0; i++) {
		struct helm__buffered *f = &files[i];
		const char *name = f->name;

		if (!name || streq(name, "Chart.yaml"))
			continue;
		if (streq(name, "Chart.lock") || streq(name, "requirements.lock")) {
			r = load_lock(c, f, err);
			if (r == 0 && streq(name, "requirements.lock")) {
				if (!have_md) {
					r = helm__metadata_apply(&c->md, NULL, name, err);
					have_md = true;
				}
				if (streq(c->md.api_version, "v1"))
					add_file(&c->files, &c->nfiles, f);
			}
		} else if (streq(name, "values.yaml")) {
			cJSON *doc = NULL;

			r = helm__yaml_first(f->data, f->len, &doc, err);
			if (r < 0) {
				op_err_prefix(err, "cannot load values.yaml: error converting YAML to "
					      "JSON");
			} else if (doc && !cJSON_IsObject(doc)) {
				r = op_err_set(err, -EINVAL, "cannot load values.yaml: error "
					       "unmarshaling JSON: while decoding JSON: json: cannot "
					       "unmarshal %s into Go value of type map[string]"
					       "interface {}", cJSON_IsArray(doc) ? "array" : "scalar");
			} else {
				cJSON_Delete(c->values);
				c->values = doc;
				doc = NULL;
				free(c->values_file.name);
				free(c->values_file.data);
				c->values_file.name = TAKE_PTR(f->name);
				c->values_file.data = TAKE_PTR(f->data);
				c->values_file.len = f->len;
			}
			cJSON_Delete(doc);
		} else if (streq(name, "values.schema.json")) {
			free(c->schema.name);
			free(c->schema.data);
			c->schema.name = TAKE_PTR(f->name);
			c->schema.data = TAKE_PTR(f->data);
			c->schema.len = f->len;
		} else if (streq(name, "requirements.yaml")) {
			cJSON *doc = NULL;

			r = helm__yaml_first(f->data, f->len, &doc, err);
			if (r < 0) {
				op_err_prefix(err, "cannot load requirements.yaml: error converting "
					      "YAML to JSON");
				break;
			}
			r = helm__metadata_apply(&c->md, doc, "requirements.yaml", err);
			have_md = true;
			cJSON_Delete(doc);
			if (r == 0 && streq(c->md.api_version, "v1"))
				add_file(&c->files, &c->nfiles, f);
		} else if (str_startswith(name, "templates/")) {
			add_file(&c->templates, &c->ntemplates, f);
		} else if (str_startswith(name, "charts/")) {
			const char *rest = name + 7, *slash;
			size_t gl;

			if (streq(ext_of(name), ".prov")) {
				add_file(&c->files, &c->nfiles, f);
				continue;
			}
			slash = strchr(rest, '/');
			gl = slash ? (size_t)(slash - rest) : strlen(rest);
			for (j = 0; j < ngroups; j++)
				if (strlen(groups[j].name) == gl && !strncmp(groups[j].name, rest, gl))
					break;
			if (j == ngroups) {
				groups = xrealloc(groups, xalloc__mul(ngroups + 1, sizeof(*groups)));
				memset(&groups[ngroups], 0, sizeof(*groups));
				groups[ngroups].name = xstrndup(rest, gl);
				ngroups++;
			}
			flist_add(&groups[j].files, xstrdup(rest), TAKE_PTR(f->data), f->len);
			free(f->name);
			f->name = NULL;
		} else {
			add_file(&c->files, &c->nfiles, f);
		}
	}
	if (r == 0 && !have_md)
		r = op_err_set(err, -EINVAL, "Chart.yaml file is missing");
	if (r == 0)
		r = helm__metadata_validate(&c->md, err);
	if (r == 0 && ngroups)
		qsort(groups, ngroups, sizeof(*groups), cmp_group);
	for (j = 0; j < ngroups && r == 0; j++) {
		if (groups[j].name[0] == '_' || groups[j].name[0] == '.')
			continue;
		r = load_sub(ld, c, &groups[j], depth, err);
	}
	for (j = 0; j < ngroups; j++) {
		free(groups[j].name);
		flist_release(&groups[j].files);
	}
	free(groups);
	for (i = 0; i < n; i++) {
		free(files[i].name);
		free(files[i].data);
		files[i].name = files[i].data = NULL;
	}
	if (r < 0) {
		helm_chart_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

/* ---- archives ---- */

struct arch {
	struct flist files;
	struct helm__loader *ld;
	struct op_err *err;
};

/* Go's path.Clean for the '/'-separated names of an archive. */
static bool drive_letter(const char *n)
{
	return ((n[0] >= 'a' && n[0] <= 'z') || (n[0] >= 'A' && n[0] <= 'Z')) && n[1] == ':' &&
	       n[2] == '/';
}

static int arch_entry(const char *name, enum artifact_entry_kind kind, const char *data,
		      size_t len, void *payload)
{
	struct arch *a = payload;
	char delim = strchr(name, '\\') ? '\\' : '/';
	const char *first_end = strchr(name, delim);
	_cleanup_free_ char *rest = NULL;
	char *clean, *p, *copy;

	if (kind == ARTIFACT_ENTRY_DIR)
		return 0;
	/* A link carries no bytes; Helm reads it as an empty file. */
	rest = xstrdup(first_end ? first_end + 1 : "");
	for (p = rest; *p; p++)
		if (*p == delim)
			*p = '/';
	if (rest[0] == '/')
		return op_err_set(a->err, -EINVAL, "chart illegally contains absolute paths");
	clean = path_clean(rest);
	if (streq(clean, ".")) {
		free(clean);
		return op_err_set(a->err, -EINVAL, "chart illegally contains content outside the "
				  "base directory: \"%s\"", name);
	}
	if (str_startswith(clean, "..")) {
		free(clean);
		return op_err_set(a->err, -EINVAL, "chart illegally references parent directory");
	}
	if (drive_letter(clean)) {
		free(clean);
		return op_err_set(a->err, -EINVAL, "chart contains illegally named files");
	}
	if (first_end ? (size_t)(first_end - name) == 10 && !strncmp(name, "Chart.yaml", 10) :
			streq(name, "Chart.yaml")) {
		free(clean);
		return op_err_set(a->err, -EINVAL, "chart yaml not in base directory");
	}
	if (a->files.n >= a->ld->lim->max_files) {
		free(clean);
		return op_err_set(a->err, -E2BIG, "chart archive has more than %llu files",
				  (unsigned long long)a->ld->lim->max_files);
	}
	if (a->ld->bytes + len > a->ld->lim->max_chart_bytes) {
		free(clean);
		return op_err_set(a->err, -EFBIG, "decompressed chart is larger than the maximum "
				  "file size %llu", (unsigned long long)a->ld->lim->max_chart_bytes);
	}
	a->ld->bytes += len;
	copy = xmalloc(len + 1);
	if (len)
		memcpy(copy, data, len);
	copy[len] = '\0';
	strip_bom(copy, &len);
	flist_add(&a->files, clean, copy, len);
	return 0;
}

static int load_archive(struct helm__loader *ld, const void *tgz, size_t len, unsigned depth,
			struct helm_chart **ret, struct op_err *err)
{
	const struct helm_limits *lim = ld->lim;
	struct artifact_limits al;
	struct arch a = { .ld = ld, .err = err };
	int r;

	if (len < 2 || memcmp(tgz, "\x1f\x8b", 2) != 0)
		return op_err_set(err, -EINVAL, "gzip: invalid header");
	al.max_entries = lim->max_files + 1000; /* directories too */
	al.max_file_bytes = lim->max_file_bytes;
	al.max_total_bytes = lim->max_chart_bytes;
	r = artifact_read_mem(tgz, len, &al, arch_entry, &a, err);
	if (r == -EFBIG && err && strstr(err->msg, "bytes, over the limit"))
		op_err_set(err, -EFBIG, "decompressed chart file is larger than the maximum file "
			   "size %llu", (unsigned long long)lim->max_file_bytes);
	else if (r == -EFBIG && err && strstr(err->msg, "archive is over the limit"))
		op_err_set(err, -EFBIG, "decompressed chart is larger than the maximum file size %llu",
			   (unsigned long long)lim->max_chart_bytes);
	if (r == 0 && a.files.n == 0)
		r = op_err_set(err, -EINVAL, "no files in chart archive");
	if (r == 0) {
		r = helm__load_files(ld, a.files.v, a.files.n, depth, ret, err);
		a.files.n = 0;
	}
	flist_release(&a.files);
	return r;
}

int helm_chart_load_archive(const void *tgz, size_t len, const struct helm_limits *lim,
			    struct helm_chart **ret, struct op_err *err)
{
	struct helm__loader ld = { .lim = lim ? lim : &default_limits };

	return load_archive(&ld, tgz, len, 0, ret, err);
}

/* ---- directories ---- */

struct rule {
	char *pat;
	bool negate, must_dir;
	enum { R_BASENAME, R_PATH } kind;
};

struct walker {
	const char *root;
	struct rule *rules;
	size_t nrules;
	struct flist files;
	struct helm__loader *ld;
	struct op_err *err;
};

static int add_rule(struct walker *w, const char *line, struct op_err *err)
{
	_cleanup_free_ char *s = xstrdup(line);
	char *p = s, *e;
	struct rule r = { 0 };

	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\v' || *p == '\f')
		p++;
	e = p + strlen(p);
	while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\v' ||
			 e[-1] == '\f'))
		*--e = '\0';
	if (!*p || *p == '#')
		return 0;
	if (strstr(p, "**"))
		return op_err_set(err, -EINVAL, "double-star (**) syntax is not supported");
	if (helm__path_match(p, "abc") < 0)
		return op_err_set(err, -EINVAL, "syntax error in pattern");
	if (*p == '!') {
		r.negate = true;
		p++;
	}
	e = p + strlen(p);
	if (e > p && e[-1] == '/') {
		r.must_dir = true;
		*--e = '\0';
	}
	if (*p == '/') {
		p++;
		r.kind = R_PATH;
	} else {
		r.kind = strchr(p, '/') ? R_PATH : R_BASENAME;
	}
	r.pat = xstrdup(p);
	w->rules = xrealloc(w->rules, xalloc__mul(w->nrules + 1, sizeof(*w->rules)));
	w->rules[w->nrules++] = r;
	return 0;
}

/* ignore.Rules.Ignore(), negation quirk included. */
static bool ignored(const struct walker *w, const char *rel, bool is_dir)
{
	const char *base = strrchr(rel, '/');
	size_t i;

	base = base ? base + 1 : rel;
	for (i = 0; i < w->nrules; i++) {
		const struct rule *r = &w->rules[i];
		bool m = helm__path_match(r->pat, r->kind == R_BASENAME ? base : rel) == 1;

		if (r->negate) {
			if (r->must_dir && !is_dir)
				return true;
			if (!m)
				return true;
			continue;
		}
		if (r->must_dir && !is_dir)
			continue;
		if (m)
			return true;
	}
	return false;
}

static int walk(struct walker *w, const char *rel, unsigned depth)
{
	_cleanup_free_ char *abs = rel[0] ? xasprintf("%s/%s", w->root, rel) : xstrdup(w->root);
	char **names = NULL;
	size_t n = 0, i;
	int r = 0;

	if (depth > 64)
		return op_err_set(w->err, -ELOOP, "directory '%s' is nested too deep (a symbolic "
				  "link loop?)", rel);
	r = path_list_dir(abs, &names, &n);
	if (r < 0)
		return op_err_set(w->err, r, "cannot read directory '%s': %s", rel[0] ? rel : ".",
				  op_strerror(r));
	for (i = 0; i < n && r == 0; i++) {
		_cleanup_free_ char *crel = rel[0] ? xasprintf("%s/%s", rel, names[i]) :
						      xstrdup(names[i]);
		_cleanup_free_ char *cabs = xasprintf("%s/%s", w->root, crel);
		struct stat st;
		char *data = NULL;
		size_t len = 0;

		/* stat(), not lstat(): Helm follows symbolic links into the tree. */
		if (stat(cabs, &st) < 0) {
			r = op_err_set(w->err, -errno, "error evaluating symlink %s: %s", cabs,
				       op_strerror(errno));
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			if (!ignored(w, crel, true))
				r = walk(w, crel, depth + 1);
			continue;
		}
		if (ignored(w, crel, false))
			continue;
		if (!S_ISREG(st.st_mode)) {
			r = op_err_set(w->err, -EINVAL, "cannot load irregular file %s as it has file "
				       "mode type bits set", cabs);
			break;
		}
		if ((uint64_t)st.st_size > w->ld->lim->max_file_bytes) {
			r = op_err_set(w->err, -EFBIG, "chart file \"%s\" is larger than the maximum "
				       "file size %llu", names[i],
				       (unsigned long long)w->ld->lim->max_file_bytes);
			break;
		}
		if (w->files.n >= w->ld->lim->max_files ||
		    w->ld->bytes + (uint64_t)st.st_size > w->ld->lim->max_chart_bytes) {
			r = op_err_set(w->err, -E2BIG, "chart directory is over the limit of %llu "
				       "files or %llu bytes",
				       (unsigned long long)w->ld->lim->max_files,
				       (unsigned long long)w->ld->lim->max_chart_bytes);
			break;
		}
		r = path_read_file(cabs, w->ld->lim->max_file_bytes, &data, &len);
		if (r < 0) {
			op_err_set(w->err, r, "error reading %s: %s", crel, op_strerror(r));
			break;
		}
		w->ld->bytes += len;
		strip_bom(data, &len);
		flist_add(&w->files, TAKE_PTR(crel), data, len);
	}
	path_names_free(names, n);
	return r;
}

int helm_chart_load_dir(const char *dir, const struct helm_limits *lim, struct helm_chart **ret,
			struct op_err *err)
{
	struct helm__loader ld = { .lim = lim ? lim : &default_limits };
	struct walker w = { .root = dir, .ld = &ld, .err = err };
	_cleanup_free_ char *ifile = xasprintf("%s/.helmignore", dir);
	char *data = NULL;
	size_t i;
	int r;

	r = path_read_file(ifile, ld.lim->max_file_bytes, &data, NULL);
	if (r == 0) {
		char *line = data, *nl;

		if (str_startswith(line, "\xef\xbb\xbf"))
			line += 3;
		for (; line && r == 0; line = nl ? nl + 1 : NULL) {
			nl = strchr(line, '\n');
			if (nl)
				*nl = '\0';
			r = add_rule(&w, line, err);
		}
		free(data);
	} else if (r == -ENOENT) {
		r = 0;
	} else {
		op_err_set(err, r, "cannot read '%s': %s", ifile, op_strerror(r));
	}
	if (r == 0)
		r = add_rule(&w, "templates/.?*", err);
	if (r == 0)
		r = walk(&w, "", 0);
	if (r == 0) {
		r = helm__load_files(&ld, w.files.v, w.files.n, 0, ret, err);
		w.files.n = 0;
	}
	flist_release(&w.files);
	for (i = 0; i < w.nrules; i++)
		free(w.rules[i].pat);
	free(w.rules);
	return r;
}

int helm_chart_load_path(const char *path, const struct helm_limits *lim,
			 struct helm_chart **ret, struct op_err *err)
{
	struct stat st;
	char *data = NULL;
	size_t len = 0;
	int r;

	if (!lim)
		lim = &default_limits;
	if (stat(path, &st) < 0)
		return op_err_set(err, -errno, "path \"%s\" not found", path);
	if (S_ISDIR(st.st_mode))
		return helm_chart_load_dir(path, lim, ret, err);
	r = path_read_file(path, lim->max_chart_bytes, &data, &len);
	if (r < 0)
		return op_err_set(err, r, "file '%s' cannot be read: %s", path, op_strerror(r));
	if (len < 3 || memcmp(data, "\x1f\x8b\x08", 3) != 0) {
		free(data);
		if (str_endswith(path, ".yml") || str_endswith(path, ".yaml"))
			return op_err_set(err, -EINVAL, "file '%s' seems to be a YAML file, but "
					  "expected a gzipped archive", path);
		return op_err_set(err, -EINVAL, "file '%s' does not appear to be a gzipped archive",
				  path);
	}
	r = helm_chart_load_archive(data, len, lim, ret, err);
	free(data);
	return r;
}
