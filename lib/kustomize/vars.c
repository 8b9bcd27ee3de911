/*
 * vars.c: kustomize's `vars` ($(NAME) references filled from a field of
 * another object).
 *
 * DESIGN
 * A var names an object (objref: group/version or apiVersion, kind,
 * name, optionally namespace) and a field of it (fieldref.fieldPath,
 * "metadata.name" by default).  As kustomize does, each kustomization's
 * vars are bound at the end of its own build: the one object (by any id
 * it has had, namespace compared only when the objref gives one) gets the
 * var's name recorded (struct kz_res.refvars), and the var joins the
 * set, where a second var of the same name, from anywhere, is an error.
 * The values are read only at the very end of the top-level build, after
 * names got their hashes and references were fixed, from the first
 * object that carries the var's name; then every string at the
 * configuration's varReference field specs has its $(NAME) replaced
 * ("$$" is a literal "$").  A value alone in its string keeps its type
 * (a port stays a number); inside a string it is printed.  A $(NAME) with
 * no var is left as it is.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/str.h"
#include "kustomize/build.h"
#include "kustomize/internal.h"
#include "yj/yj.h"
#include "base/banned.h"

static void var_release(struct kz_var *v);

void kz__varset_release(struct kz_varset *s)
{
	for (size_t i = 0; i < s->n; i++)
		var_release(&s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static const struct kz_var *varset_get(const struct kz_varset *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (streq(s->v[i].name, name))
			return &s->v[i];
	return NULL;
}

static void varset_add(struct kz_varset *s, const struct kz_var *v)
{
	struct kz_var *n;

	XGROW(s->v, s->n + 1, s->alloc);
	n = &s->v[s->n++];
	n->name = xstrdup(v->name);
	n->group = xstrdup(v->group);
	n->version = xstrdup(v->version);
	n->kind = xstrdup(v->kind);
	n->obj = xstrdup(v->obj);
	n->ns = xstrdup(v->ns);
	n->fieldpath = xstrdup(v->fieldpath);
}

int kz__varset_merge(struct kz_varset *dst, const struct kz_varset *src, struct op_err *err)
{
	for (size_t i = 0; i < src->n; i++) {
		if (varset_get(dst, src->v[i].name))
			return op_err_set(err, -EINVAL, "var '%s' already encountered",
					  src->v[i].name);
		varset_add(dst, &src->v[i]);
	}
	return 0;
}

static int known_ci(const cJSON *m, const char *const *names, size_t n, const char *what,
		    const char *kfile, struct op_err *err)
{
	const cJSON *e;

	if (!cJSON_IsObject(m) && !cJSON_IsNull(m) && m)
		return op_err_set(err, -EINVAL, "%s: vars: '%s' must be a map", kfile, what);
	e = kz__unknown_ci(m, names, n);
	if (e)
		return op_err_set(err, -EINVAL, "%s: vars: unknown field '%s' in %s", kfile,
				  e->string, what);
	cJSON_ArrayForEach(e, m) {
		if (!cJSON_IsString(e) && !cJSON_IsNull(e) && !cJSON_IsObject(e))
			return op_err_set(err, -EINVAL, "%s: vars: '%s' must be a string", kfile,
					  e->string);
	}
	return 0;
}

static const char *str_ci(const cJSON *m, const char *name)
{
	const cJSON *v = kz__field_ci(m, name);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static void var_release(struct kz_var *v)
{
	free(v->name);
	free(v->group);
	free(v->version);
	free(v->kind);
	free(v->obj);
	free(v->ns);
	free(v->fieldpath);
}

/* One `vars` entry, defaulted as kustomize defaults it; strings owned. */
static int var_parse(const cJSON *e, struct kz_var *v, const char *kfile, struct op_err *err)
{
	static const char *const top[] = { "name", "objref", "fieldref" };
	static const char *const ref[] = { "apiVersion", "group", "version", "kind", "name",
					   "namespace" };
	static const char *const fref[] = { "fieldPath" };
	const cJSON *o = kz__field_ci(e, "objref"), *f = kz__field_ci(e, "fieldref");
	const char *av, *slash;
	int r;

	if (!cJSON_IsObject(e))
		return op_err_set(err, -EINVAL, "%s: vars: entries must be maps", kfile);
	r = known_ci(e, top, ARRAY_SIZE(top), "a var", kfile, err);
	if (r == 0)
		r = known_ci(o, ref, ARRAY_SIZE(ref), "objref", kfile, err);
	if (r == 0)
		r = known_ci(f, fref, ARRAY_SIZE(fref), "fieldref", kfile, err);
	if (r < 0)
		return r;
	v->name = xstrdup(str_ci(e, "name"));
	v->group = xstrdup(str_ci(o, "group"));
	v->version = xstrdup(str_ci(o, "version"));
	v->kind = xstrdup(str_ci(o, "kind"));
	v->obj = xstrdup(str_ci(o, "name"));
	v->ns = xstrdup(str_ci(o, "namespace"));
	v->fieldpath = xstrdup(*str_ci(f, "fieldPath") ? str_ci(f, "fieldPath") : "metadata.name");
	av = str_ci(o, "apiVersion");
	/* apiVersion wins over group and version, as kustomize's Target.GVK() */
	slash = strchr(av, '/');
	if (slash && !strchr(slash + 1, '/')) {
		free(v->group);
		free(v->version);
		v->group = xstrndup(av, (size_t)(slash - av));
		v->version = xstrdup(slash + 1);
	} else if (*av && !slash) {
		free(v->version);
		v->version = xstrdup(av);
	}
	return 0;
}

static bool id_matches(const struct kz_var *v, const char *g, const char *ver, const char *kind,
		       const char *name, const char *eff_ns)
{
	if (!streq(v->group, g) || !streq(v->version, ver) || !streq(v->kind, kind) ||
	    !streq(v->obj, name))
		return false;
	return !*v->ns || streq(v->ns, eff_ns);
}

/* Does any id `r` has had match the var's objref? */
static bool var_selects(const struct kz_var *v, const struct kz_res *r)
{
	char g[256], ver[64];

	kz__gv(r->obj, g, sizeof(g), ver, sizeof(ver));
	for (size_t i = 0; i < r->nprev; i++)
		if (id_matches(v, g, ver, r->prev[i].kind, r->prev[i].name, r->prev[i].ns))
			return true;
	return id_matches(v, g, ver, kz__kind(r), kz__name(r), kz__res_eff_ns(r));
}

int kz__vars_bind(struct kz_varset *set, struct kz_resmap *m, const cJSON *list,
		  const char *kfile, struct op_err *err)
{
	const cJSON *e;
	int r = 0;

	if (list && !cJSON_IsArray(list) && !cJSON_IsNull(list))
		return op_err_set(err, -EINVAL, "%s: 'vars' must be a list", kfile);
	cJSON_ArrayForEach(e, list) {
		struct kz_var v = { 0 };
		struct kz_res *hit = NULL;
		size_t nhit = 0;

		r = var_parse(e, &v, kfile, err);
		for (size_t i = 0; r == 0 && i < m->n; i++) {
			if (var_selects(&v, m->v[i])) {
				hit = m->v[i];
				nhit++;
			}
		}
		if (r == 0 && nhit > 1)
			r = op_err_set(err, -EINVAL,
				       "%s: found %zu resId matches for var '%s' (unable to "
				       "disambiguate)",
				       kfile, nhit, v.name);
		if (r == 0 && hit) {
			hit->refvars = xrealloc(hit->refvars,
						(hit->nrefvars + 1) * sizeof(*hit->refvars));
			hit->refvars[hit->nrefvars++] = xstrdup(v.name);
		}
		if (r == 0 && varset_get(set, v.name))
			r = op_err_set(err, -EINVAL, "%s: var '%s' already encountered", kfile,
				       v.name);
		if (r == 0)
			varset_add(set, &v);
		var_release(&v);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- replacing $(NAME) ---- */

struct subst {
	const struct kz_varset *set;
	cJSON **vals; /* per var in set, a copy of its value */
};

static const cJSON *lookup_var(const struct subst *s, const char *name, size_t n)
{
	for (size_t i = 0; i < s->set->n; i++) {
		const char *vn = s->set->v[i].name;
		const cJSON *v = s->vals[i];

		if (strlen(vn) != n || strncmp(vn, name, n) != 0)
			continue;
		if (cJSON_IsString(v) || cJSON_IsNumber(v) || cJSON_IsBool(v) || cJSON_IsRaw(v))
			return v;
		return NULL;
	}
	return NULL;
}

/* A value as Go's %v prints it inside a string. */
static void print_value(const cJSON *v, struct buf *b)
{
	char num[64];

	if (cJSON_IsString(v) || cJSON_IsRaw(v)) {
		buf_adds(b, v->valuestring);
	} else if (cJSON_IsBool(v)) {
		buf_adds(b, cJSON_IsTrue(v) ? "true" : "false");
	} else {
		int64_t iv;

		if (yj_int64(v, &iv))
			snprintf(num, sizeof(num), "%lld", (long long)iv);
		else
			yj_format_float(v->valuedouble, 64, 0, num, sizeof(num));
		buf_adds(b, num);
	}
}

/*
 * kustomize's DoReplacements on `in`: a new item for the result, the
 * typed value itself when `in` is exactly "$(NAME)" of a known var.
 */
static cJSON *replace_text(const struct subst *s, const char *in)
{
	struct buf b = BUF_INIT((size_t)64 << 20);
	size_t n = strlen(in), checkpoint = 0;
	cJSON *out;

	for (size_t cur = 0; cur < n; cur++) {
		size_t adv = 1;

		if (in[cur] != '$' || cur + 1 >= n)
			continue;
		buf_add(&b, in + checkpoint, cur - checkpoint);
		if (in[cur + 1] == '$') {
			buf_addch(&b, '$');
		} else if (in[cur + 1] == '(') {
			const char *close = strchr(in + cur + 2, ')');

			if (!close) {
				buf_adds(&b, "$(");
			} else {
				size_t nl = (size_t)(close - (in + cur + 2));
				const cJSON *v = lookup_var(s, in + cur + 2, nl);

				if (v && cur == 0 && close == in + n - 1) {
					buf_release(&b);
					return cJSON_Duplicate(v, 1);
				}
				if (v)
					print_value(v, &b);
				else
					buf_add(&b, in + cur, nl + 3);
				adv = nl + 2;
			}
		} else {
			buf_addch(&b, '$');
			buf_addch(&b, in[cur + 1]);
		}
		cur += adv;
		checkpoint = cur + 1;
	}
	if (checkpoint < n)
		buf_add(&b, in + checkpoint, n - checkpoint);
	out = cJSON_CreateString(b.buf ? b.buf : "");
	buf_release(&b);
	return out;
}

static void replace_in(const struct subst *s, cJSON *parent, cJSON *node)
{
	cJSON *v = replace_text(s, node->valuestring);

	kz__replace_node(parent, node, v);
}

static int set_vars(cJSON *parent, cJSON *node, void *payload, struct op_err *err)
{
	const struct subst *s = payload;
	cJSON *e, *next;

	if (!node || cJSON_IsNull(node))
		return 0;
	if (cJSON_IsString(node)) {
		if (parent)
			replace_in(s, parent, node);
		return 0;
	}
	if (cJSON_IsObject(node)) {
		for (e = node->child; e; e = next) {
			next = e->next;
			if (cJSON_IsString(e))
				replace_in(s, node, e);
		}
		return 0;
	}
	if (cJSON_IsArray(node)) {
		for (e = node->child; e; e = next) {
			next = e->next;
			if (!cJSON_IsString(e))
				return op_err_set(err, -EINVAL, "invalid value type expect a string");
			replace_in(s, node, e);
		}
	}
	return 0;
}

int kz__vars_resolve(const struct kz_varset *set, struct kz_resmap *m,
		     const struct kz_tconfig *tc, struct op_err *err)
{
	struct subst s = { set, NULL };
	int r = 0;

	if (!set->n)
		return 0;
	s.vals = xnew0(cJSON *, set->n);
	for (size_t i = 0; r == 0 && i < set->n; i++) {
		const struct kz_var *v = &set->v[i];
		const struct kz_res *src = NULL;

		for (size_t j = 0; !src && j < m->n; j++)
			for (size_t k = 0; !src && k < m->v[j]->nrefvars; k++)
				if (streq(m->v[j]->refvars[k], v->name))
					src = m->v[j];
		if (!src) {
			r = op_err_set(err, -EINVAL,
				       "var '%s' cannot be mapped to a field in the set of known "
				       "resources",
				       v->name);
			break;
		}
		{
			const cJSON *val = NULL;

			r = kz__field_get(src->obj, v->fieldpath, true, &val, err);
			if (r == 0 && !val)
				r = op_err_set(err, -EINVAL,
					       "field specified in var '%s' (%s) not found in "
					       "corresponding resource",
					       v->name, v->fieldpath);
			/* a copy: replacing may change the object it came from */
			if (r == 0)
				s.vals[i] = cJSON_Duplicate(val, 1);
		}
	}
	for (size_t i = 0; r == 0 && i < m->n; i++)
		for (size_t j = 0; r == 0 && j < tc->fs[KZ_TC_VAR_REF].n; j++)
			r = kz__fs_filter(m->v[i]->obj, &tc->fs[KZ_TC_VAR_REF].v[j],
					  KZ_CREATE_NONE, set_vars, &s, err);
	for (size_t i = 0; i < set->n; i++)
		cJSON_Delete(s.vals[i]);
	free(s.vals);
	return r;
}
