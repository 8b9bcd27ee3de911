/*
 * deps.c: chart dependencies as chartutil/dependencies.go processes them
 * at install/template time.
 *
 * DESIGN
 * A render works on a private tree of struct helm__node mirroring the
 * loaded chart, so the chart itself is never changed.  Processing, per
 * chart that declares `dependencies:` (a chart without the list is left
 * as loaded, subcharts and all, exactly as Helm does):
 *  1. the loaded subcharts no entry names (by name and a compatible
 *     version) are kept first; then each entry takes the first loaded
 *     subchart of its name and version, copied and renamed to its alias;
 *  2. every entry starts enabled; the chart's defaults are coalesced with
 *     the values passed down (the user's at the top, the parent's
 *     coalesced values below, with paths prefixed "sub."); `tags` (any
 *     true enables, else any false disables) then `condition` (the first
 *     path that holds a bool decides) switch entries off;
 *  3. subcharts whose name a disabled entry has are dropped, the rest are
 *     processed recursively, and the metadata keeps only enabled entries;
 *  4. bottom up, import-values (the string form "x" imports the child's
 *     exports.x into the root, the map form child->parent paths) are
 *     merged under the chart's own values (which win), and the chart's
 *     values become the merged defaults of the whole subtree.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/str.h"
#include "helm/internal.h"
#include "base/banned.h"

/* A node for `src` with copies of `md` and `values`, room for `ndeps` children. */
static struct helm__node *node_alloc(const struct helm_chart *src, const struct helm_metadata *md,
				     const cJSON *values, size_t ndeps, struct helm__node *parent)
{
	struct helm__node *n = xnew0(struct helm__node, 1);

	n->src = src;
	n->parent = parent;
	helm__metadata_copy(&n->md, md);
	n->values = values ? cJSON_Duplicate(values, 1) : NULL;
	n->deps = xnew0(struct helm__node *, ndeps + 1);
	n->ndeps = ndeps;
	return n;
}

struct helm__node *helm__node_new(const struct helm_chart *c, struct helm__node *parent)
{
	struct helm__node *n = node_alloc(c, &c->md, c->values, c->ndeps, parent);
	size_t i;

	for (i = 0; i < c->ndeps; i++)
		n->deps[i] = helm__node_new(c->deps[i], n);
	return n;
}

void helm__node_free(struct helm__node *n)
{
	size_t i;

	if (!n)
		return;
	helm_metadata_release(&n->md);
	cJSON_Delete(n->values);
	for (i = 0; i < n->ndeps; i++)
		helm__node_free(n->deps[i]);
	free(n->deps);
	free(n);
}

/* A deep copy of the subtree at `n`, hung under `parent`. */
static struct helm__node *node_copy(const struct helm__node *n, struct helm__node *parent)
{
	struct helm__node *c = node_alloc(n->src, &n->md, n->values, n->ndeps, parent);
	size_t i;

	for (i = 0; i < n->ndeps; i++)
		c->deps[i] = node_copy(n->deps[i], c);
	return c;
}

char *helm__node_path(const struct helm__node *n)
{
	_cleanup_free_ char *up = NULL;

	if (!n->parent)
		return xstrdup(n->md.name);
	up = helm__node_path(n->parent);
	return xasprintf("%s/charts/%s", up, n->md.name);
}

static void set_name(char **field, const char *v)
{
	char *s = xstrdup(v);

	free(*field);
	*field = s;
}

static void process_tags(struct helm_metadata *md, const cJSON *cvals)
{
	const cJSON *vt = cJSON_GetObjectItemCaseSensitive(cvals, "tags");
	size_t i, j;

	if (!cJSON_IsObject(vt))
		return;
	for (i = 0; i < md->ndeps; i++) {
		struct helm_dependency *d = &md->deps[i];
		bool has_true = false, has_false = false;

		for (j = 0; j < d->ntags; j++) {
			const cJSON *b = cJSON_GetObjectItemCaseSensitive(vt, d->tags[j]);

			if (cJSON_IsTrue(b))
				has_true = true;
			else if (cJSON_IsFalse(b))
				has_false = true;
		}
		if (!has_true && has_false)
			d->enabled = false;
		else
			d->enabled = true;
	}
}

static void process_conditions(struct helm_metadata *md, const cJSON *cvals, const char *path)
{
	size_t i;

	for (i = 0; i < md->ndeps; i++) {
		struct helm_dependency *d = &md->deps[i];
		const char *s = d->condition, *e;

		/* strings.TrimSpace of the whole, then split on ',' (parts are not trimmed). */
		while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\v' || *s == '\f')
			s++;
		e = s + strlen(s);
		while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r' ||
				 e[-1] == '\v' || e[-1] == '\f'))
			e--;
		while (s < e) {
			const char *comma = memchr(s, ',', (size_t)(e - s));
			size_t len = comma ? (size_t)(comma - s) : (size_t)(e - s);

			if (len > 0) {
				_cleanup_free_ char *p = xasprintf("%s%.*s", path, (int)len, s);
				const cJSON *v = helm__values_path(cvals, p);

				if (cJSON_IsBool(v)) {
					d->enabled = cJSON_IsTrue(v);
					break;
				}
			}
			if (!comma)
				break;
			s = comma + 1;
		}
	}
}

static bool name_in(const char *name, char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (streq(names[i], name))
			return true;
	return false;
}

static int process_enabled(struct helm__node *c, const cJSON *v, const char *path,
			   struct op_err *err)
{
	struct helm__node **list, **keep;
	size_t nlist = 0, nkeep = 0, i, j, nrm = 0, k;
	char **rm;
	cJSON *cvals = NULL;
	int r;

	if (!c->md.has_deps)
		return 0;
	/* 1. unreferenced subcharts first, then one (aliased) copy per entry. */
	list = xnew0(struct helm__node *, c->ndeps + c->md.ndeps + 1);
	for (i = 0; i < c->ndeps; i++) {
		struct helm__node *ex = c->deps[i];
		bool referenced = false;

		for (j = 0; j < c->md.ndeps; j++)
			if (streq(ex->md.name, c->md.deps[j].name) &&
			    helm__compatible_range(c->md.deps[j].version, ex->md.version))
				referenced = true;
		if (!referenced) {
			list[nlist++] = ex;
			c->deps[i] = NULL;
		}
	}
	for (j = 0; j < c->md.ndeps; j++) {
		struct helm_dependency *req = &c->md.deps[j];

		for (i = 0; i < c->ndeps; i++) {
			struct helm__node *ex = c->deps[i];

			if (!ex || !streq(ex->md.name, req->name) ||
			    !helm__compatible_range(req->version, ex->md.version))
				continue;
			list[nlist] = node_copy(ex, c);
			if (req->alias[0])
				set_name(&list[nlist]->md.name, req->alias);
			nlist++;
			break;
		}
		if (req->alias[0])
			set_name(&req->name, req->alias);
	}
	for (i = 0; i < c->ndeps; i++)
		helm__node_free(c->deps[i]);
	free(c->deps);
	c->deps = list;
	c->ndeps = nlist;

	/* 2. enable, coalesce, tags, conditions. */
	for (j = 0; j < c->md.ndeps; j++)
		c->md.deps[j].enabled = true;
	r = helm__coalesce(c, v, false, &cvals, err);
	if (r < 0)
		return r;
	process_tags(&c->md, cvals);
	process_conditions(&c->md, cvals, path);

	/* 3. drop what is disabled, recurse into the rest. */
	rm = xnew0(char *, c->md.ndeps + 1);
	for (j = 0; j < c->md.ndeps; j++)
		if (!c->md.deps[j].enabled)
			rm[nrm++] = c->md.deps[j].name;
	keep = xnew0(struct helm__node *, c->ndeps + 1);
	for (i = 0; i < c->ndeps; i++) {
		if (name_in(c->deps[i]->md.name, rm, nrm))
			helm__node_free(c->deps[i]);
		else
			keep[nkeep++] = c->deps[i];
	}
	free(c->deps);
	c->deps = keep;
	c->ndeps = nkeep;
	for (i = 0; i < c->ndeps && r == 0; i++) {
		_cleanup_free_ char *sub = xasprintf("%s%s.", path, c->deps[i]->md.name);

		r = process_enabled(c->deps[i], cvals, sub, err);
	}
	/* The metadata keeps the enabled entries only (none: no list at all). */
	for (j = 0, k = 0; j < c->md.ndeps; j++) {
		struct helm_dependency *d = &c->md.deps[j];

		if (d->enabled) {
			c->md.deps[k++] = *d;
			continue;
		}
		free(d->name);
		free(d->version);
		free(d->repository);
		free(d->condition);
		free(d->alias);
		for (i = 0; i < d->ntags; i++)
			free(d->tags[i]);
		free(d->tags);
		cJSON_Delete(d->import_values);
	}
	c->md.ndeps = k;
	c->md.has_deps = k > 0;
	free(rm);
	cJSON_Delete(cvals);
	return r;
}

/* Go's %v of a value from an import-values map entry. */
static char *go_v(const cJSON *v)
{
	char *s;

	if (!v || cJSON_IsNull(v))
		return xstrdup("<nil>");
	s = helm__scalar_text(v, true);
	return s ? s : xstrdup(cJSON_IsArray(v) ? "[...]" : "map[...]");
}

/* pathToMap(): {a: {b: data}} for "a.b"; data itself for ".".  Takes data. */
static cJSON *path_to_map(const char *path, cJSON *data)
{
	const char *end;

	if (streq(path, "."))
		return data;
	end = path + strlen(path);
	for (;;) {
		const char *dot = end;
		cJSON *m = cJSON_CreateObject();
		_cleanup_free_ char *k = NULL;

		while (dot > path && dot[-1] != '.')
			dot--;
		k = xstrndup(dot, (size_t)(end - dot));
		cJSON_AddItemToObject(m, k, data);
		data = m;
		if (dot == path)
			return data;
		end = dot - 1;
	}
}

static int process_import(struct helm__node *c, struct op_err *err)
{
	cJSON *cvals = NULL, *b;
	size_t i, j;
	int r;

	for (i = 0; i < c->ndeps; i++) {
		r = process_import(c->deps[i], err);
		if (r < 0)
			return r;
	}
	if (!c->md.has_deps)
		return 0;
	r = helm__coalesce(c, NULL, true, &cvals, err);
	if (r < 0)
		return r;
	b = cJSON_CreateObject();
	for (j = 0; j < c->md.ndeps; j++) {
		struct helm_dependency *d = &c->md.deps[j];
		cJSON *out = cJSON_CreateArray(), *iv;

		cJSON_ArrayForEach(iv, d->import_values) {
			_cleanup_free_ char *child = NULL, *parent = NULL, *path = NULL;
			cJSON *entry;
			const cJSON *t;

			if (cJSON_IsObject(iv)) {
				child = go_v(cJSON_GetObjectItemCaseSensitive(iv, "child"));
				parent = go_v(cJSON_GetObjectItemCaseSensitive(iv, "parent"));
			} else if (cJSON_IsString(iv)) {
				child = xasprintf("exports.%s", iv->valuestring);
				parent = xstrdup(".");
			} else {
				continue;
			}
			entry = cJSON_CreateObject();
			cJSON_AddStringToObject(entry, "child", child);
			cJSON_AddStringToObject(entry, "parent", parent);
			cJSON_AddItemToArray(out, entry);
			path = xasprintf("%s.%s", d->name, child);
			t = helm__values_table(cvals, path);
			if (!t)
				continue; /* Helm: "ImportValues missing table" warning */
			if (cJSON_IsString(iv)) {
				helm__coalesce_tables(b, t, true);
			} else {
				cJSON *m = path_to_map(parent, cJSON_Duplicate(t, 1));

				helm__coalesce_tables(b, m, true);
				cJSON_Delete(m);
			}
		}
		cJSON_Delete(d->import_values);
		d->import_values = NULL;
		if (cJSON_GetArraySize(out) > 0)
			d->import_values = out;
		else
			cJSON_Delete(out);
	}
	helm__coalesce_tables(cvals, b, true);
	cJSON_Delete(b);
	cJSON_Delete(c->values);
	c->values = cvals;
	return 0;
}

int helm__process_deps(struct helm__node *root, const cJSON *user, struct op_err *err)
{
	cJSON *empty = NULL;
	int r;

	if (!user)
		user = empty = cJSON_CreateObject();
	r = process_enabled(root, user, "", err);
	cJSON_Delete(empty);
	if (r == 0)
		r = process_import(root, err);
	return r;
}
