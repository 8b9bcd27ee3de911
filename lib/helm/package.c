/*
 * package.c: a loaded chart written back as the tree Helm's chartutil.Save
 * puts in its archive, and the dependencies a chart directory lacks.
 *
 * DESIGN
 * Save writes <name>/Chart.yaml as yaml.Marshal prints the metadata (the
 * chart's own file is not kept: a v1 chart's dependencies stay in
 * requirements.yaml), Chart.lock for a v2 chart with a lock,
 * values.yaml's own bytes, values.schema.json, the templates, the other
 * files, then each subchart as a directory <name>/charts/<sub>/, however
 * it was found (a directory or a .tgz).  We write that tree into a
 * directory; packing it is the caller's (lib/source's deterministic
 * archives), so one tree always gives the same bytes.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "base/path.h"
#include "base/str.h"
#include "helm/internal.h"
#include "base/banned.h"

/* Create `rel`'s parent directories under `root`, then the file. */
static int write_rel(const char *root, const char *rel, const char *data, size_t len,
		     struct op_err *err)
{
	_cleanup_free_ char *path = NULL;
	char *slash;
	int r;

	r = path_join_safe(root, rel, &path, err);
	if (r < 0)
		return r;
	for (slash = strchr(path + strlen(root) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			r = -errno;
		*slash = '/';
		if (r < 0)
			return op_err_set(err, r, "cannot create the directory of %s: %s", rel,
					  op_strerror(r));
	}
	r = path_write_file(path, data, len, 0600);
	if (r < 0)
		return op_err_set(err, r, "cannot write %s: %s", rel, op_strerror(r));
	return 0;
}

static int write_yaml(const char *root, const char *rel, const cJSON *doc, struct op_err *err)
{
	struct buf b = BUF_INIT(64u << 20);
	int r;

	r = yj_emit_yaml_go(doc, &b);
	if (r < 0)
		r = op_err_set(err, r, "cannot print %s", rel);
	else
		r = write_rel(root, rel, b.buf, b.len, err);
	buf_release(&b);
	return r;
}

static int write_files(const char *root, const char *base, const struct helm_file *f, size_t n,
		       struct op_err *err)
{
	size_t i;
	int r = 0;

	for (i = 0; i < n && r == 0; i++) {
		char *rel = xasprintf("%s/%s", base, f[i].name);

		r = write_rel(root, rel, f[i].data, f[i].len, err);
		free(rel);
	}
	return r;
}

/* writeTarContents(): the chart under <base>/<name>, as `name` (an alias may rename it). */
static int write_chart(const struct helm_chart *c, const char *root, const char *prefix,
		       const char *name, const char *version, const struct helm_package_opts *o,
		       struct op_err *err)
{
	_cleanup_free_ char *base = NULL, *rel = NULL;
	cJSON *md;
	size_t i;
	int r;

	if (!*name || strchr(name, '/') || streq(name, ".") || streq(name, ".."))
		return op_err_set(err, -EINVAL, "\"%s\" is not a valid chart name", name);
	base = *prefix ? xasprintf("%s/%s", prefix, name) : xstrdup(name);

	md = helm_metadata_json(&c->md);
	cJSON_ReplaceItemInObjectCaseSensitive(md, "name", cJSON_CreateString(name));
	if (version)
		cJSON_ReplaceItemInObjectCaseSensitive(md, "version", cJSON_CreateString(version));
	if (streq(c->md.api_version, "v1"))
		cJSON_DeleteItemFromObjectCaseSensitive(md, "dependencies");
	rel = xasprintf("%s/Chart.yaml", base);
	r = write_yaml(root, rel, md, err);
	cJSON_Delete(md);
	if (r == 0 && c->lock && streq(c->md.api_version, "v2")) {
		free(rel);
		rel = xasprintf("%s/Chart.lock", base);
		r = write_yaml(root, rel, c->lock, err);
	}
	if (r == 0 && (c->values_file.data || (o && o->values_yaml))) {
		free(rel);
		rel = xasprintf("%s/values.yaml", base);
		if (o && o->values_yaml)
			r = write_rel(root, rel, o->values_yaml, o->values_len, err);
		else
			r = write_rel(root, rel, c->values_file.data, c->values_file.len, err);
	}
	if (r == 0 && c->schema.data) {
		free(rel);
		rel = xasprintf("%s/values.schema.json", base);
		r = write_rel(root, rel, c->schema.data, c->schema.len, err);
	}
	if (r == 0)
		r = write_files(root, base, c->templates, c->ntemplates, err);
	if (r == 0)
		r = write_files(root, base, c->files, c->nfiles, err);
	free(rel);
	rel = xasprintf("%s/charts", base);
	for (i = 0; i < c->ndeps && r == 0; i++)
		r = write_chart(c->deps[i], root, rel, c->deps[i]->md.name, NULL, NULL, err);
	for (i = 0; o && i < o->nextra && r == 0; i++)
		r = write_chart(o->extra[i], root, rel, o->extra_names[i], NULL, NULL, err);
	return r;
}

int helm_chart_write(const struct helm_chart *c, const struct helm_package_opts *o,
		     const char *dir, struct op_err *reterr)
{
	return write_chart(c, dir, "", c->md.name, o ? o->version : NULL, o, reterr);
}

/* ---- the dependencies a chart lacks ---- */

static void dep_fill(struct helm_dependency *d, const char *name, const char *version,
		     const char *repository, const char *alias)
{
	memset(d, 0, sizeof(*d));
	d->name = xstrdup(name ? name : "");
	d->version = xstrdup(version ? version : "");
	d->repository = xstrdup(repository ? repository : "");
	d->alias = xstrdup(alias ? alias : "");
	d->condition = xstrdup("");
}

static int cmp_dep(const void *a, const void *b)
{
	const struct helm_dependency *x = a, *y = b;

	return strcmp(*x->alias ? x->alias : x->name, *y->alias ? y->alias : y->name);
}

size_t helm_chart_missing_deps(const struct helm_chart *c, struct helm_dependency **ret)
{
	const cJSON *lock = c->lock ? cJSON_GetObjectItemCaseSensitive(c->lock, "dependencies") :
				      NULL;
	size_t nreq = lock ? (size_t)cJSON_GetArraySize(lock) : c->md.ndeps, n = 0, i, k;
	struct helm_dependency *out;

	*ret = NULL;
	if (nreq == c->ndeps)
		return 0;
	out = xnew0(struct helm_dependency, nreq + 1);
	for (i = 0; i < nreq; i++) {
		struct helm_dependency d;
		const char *key;
		bool found = false;

		if (lock) {
			const cJSON *e = cJSON_GetArrayItem(lock, (int)i);

			dep_fill(&d, yj_get_str(e, "/name"), yj_get_str(e, "/version"),
				 yj_get_str(e, "/repository"), yj_get_str(e, "/alias"));
		} else {
			const struct helm_dependency *s = &c->md.deps[i];

			dep_fill(&d, s->name, s->version, s->repository, s->alias);
		}
		key = *d.alias ? d.alias : d.name;
		for (k = 0; k < c->ndeps && !found; k++)
			found = streq(c->deps[k]->md.name, key);
		/* A map in Flux: the same name twice is one entry (the last). */
		for (k = 0; k < n && !found; k++)
			if (streq(*out[k].alias ? out[k].alias : out[k].name, key)) {
				helm_dependency_release(&out[k]);
				out[k] = d;
				found = true;
				d.name = NULL;
			}
		if (found) {
			if (d.name)
				helm_dependency_release(&d);
			continue;
		}
		out[n++] = d;
	}
	if (!n) {
		free(out);
		return 0;
	}
	qsort(out, n, sizeof(*out), cmp_dep);
	*ret = out;
	return n;
}

void helm_missing_deps_free(struct helm_dependency *d, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		helm_dependency_release(&d[i]);
	free(d);
}
