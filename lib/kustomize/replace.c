/*
 * replace.c: `replacements`, kustomize v5's ReplacementTransformer.
 *
 * A replacement copies one value (a field of one source object, or a
 * fixed `sourceValue`) into fields of every object its targets select.
 * It runs last among a kustomization's transformers, so it sees names
 * with prefixes and namespaces applied but without content hashes (those
 * come at the very end, and name-reference fixing then updates the
 * references it knows).
 *
 * DESIGN
 * kustomize works on YAML nodes, which keep each scalar's text and tag
 * apart; we work on cJSON, where the two are one.  The difference shows
 * in what a replacement does to a scalar field: kustomize copies only the
 * text and keeps the target's tag, so "3" copied into `replicas: 1`
 * gives the number 3, "abc" copied there fails the build (it cannot be
 * read as an int), and 8080 copied into `image: x` gives the string
 * "8080".  A field the replacement creates has no tag at all, so its
 * text is read afresh ("true" becomes a bool).  struct rp_val therefore
 * carries a value as kustomize does, tag and text, and scalars are
 * materialised with yj_resolve_scalar() only when written.
 *
 * Field paths ("spec.template.spec.containers.[name=app].image") split
 * on dots, keeping "[...]" whole and honouring "\." escapes.  The source
 * path is a plain lookup (list entries by exact value, "-" for the last
 * element, no wildcard).  Target paths are kustomize's PathMatcher:
 * "[field=value]" is an *unanchored regular expression* over every list
 * element (so "[name=app]" also picks "app2"), "*" is every element of a
 * list, a number an index, and with `options.create` missing fields,
 * list entries and the element one past the end are made.  A target
 * path that finds nothing is an error unless it could create it.
 *
 * A path that runs into a string holding JSON or YAML continues inside
 * it ("data.config\.json.db.host"): the string is parsed, changed and
 * written back, as compact or indented JSON if it looked like JSON (keys
 * then sorted, as Go prints maps) and as YAML otherwise.
 *
 * Selection: the source must be exactly one object, matched exactly by
 * group, version, kind, name and namespace against its current id or any
 * earlier one; targets select by anchored regular expressions over those
 * ids plus label and annotation selectors, and `reject` entries remove
 * objects matching either their id fields or their selectors.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/str.h"
#include "kustomize/build.h"
#include "kustomize/internal.h"
#include "base/regex.h"
#include "yj/yj.h"
#include "base/banned.h"

/* Texts we assemble (field paths, delimited values) are capped: past it, -EFBIG. */
#ifndef RP_TEXT_MAX
#define RP_TEXT_MAX (1u << 26)
#endif

/* A YAML node's tag, as far as a replacement can tell them apart. */
enum rp_tag { T_STR, T_INT, T_FLOAT, T_BOOL, T_NULL, T_PLAIN, T_MAP, T_SEQ };

/* A value as kustomize holds it: a tag and the scalar's text, or a tree. */
struct rp_val {
	enum rp_tag tag;
	char *text;  /* scalars: the text (owned) */
	cJSON *tree; /* maps and lists: a copy (owned) */
};

static void val_release(struct rp_val *v)
{
	free(v->text);
	cJSON_Delete(v->tree);
}

static bool is_scalar(const cJSON *j)
{
	return !cJSON_IsObject(j) && !cJSON_IsArray(j);
}

static bool is_int(const cJSON *j)
{
	return cJSON_IsRaw(j) || yj_int64(j, NULL);
}

static enum rp_tag tag_of(const cJSON *j)
{
	if (cJSON_IsString(j))
		return T_STR;
	if (cJSON_IsRaw(j))
		return T_INT;
	if (cJSON_IsNumber(j))
		return is_int(j) ? T_INT : T_FLOAT;
	if (cJSON_IsBool(j))
		return T_BOOL;
	if (cJSON_IsObject(j))
		return T_MAP;
	if (cJSON_IsArray(j))
		return T_SEQ;
	return T_NULL;
}

/* The text of a scalar as YAML would hold it; "" for null, maps and lists. */
static char *scalar_text(const cJSON *j)
{
	char num[64];

	if (cJSON_IsString(j) || cJSON_IsRaw(j))
		return xstrdup(j->valuestring);
	if (cJSON_IsBool(j))
		return xstrdup(cJSON_IsTrue(j) ? "true" : "false");
	if (cJSON_IsNumber(j)) {
		if (is_int(j))
			snprintf(num, sizeof(num), "%lld", (long long)yj_to_int64(j->valuedouble));
		else
			yj_format_float(j->valuedouble, 64, 0, num, sizeof(num));
		return xstrdup(num);
	}
	return xstrdup("");
}

static const char *kind_name(const cJSON *j)
{
	if (cJSON_IsObject(j))
		return "MappingNode";
	if (cJSON_IsArray(j))
		return "SequenceNode";
	return "ScalarNode";
}

/*
 * The scalar `text` read with the tag `tag`, as writing a YAML node and
 * reading it back does; NULL when the text does not fit the tag.
 */
static cJSON *resolve(enum rp_tag tag, const char *text)
{
	static const enum yj_scalar_want want[] = {
		[T_STR] = YJ_SCALAR_STR,     [T_INT] = YJ_SCALAR_INT,   [T_FLOAT] = YJ_SCALAR_FLOAT,
		[T_BOOL] = YJ_SCALAR_BOOL,   [T_NULL] = YJ_SCALAR_NULL, [T_PLAIN] = YJ_SCALAR_ANY,
		[T_MAP] = YJ_SCALAR_STR,     [T_SEQ] = YJ_SCALAR_STR,
	};

	return yj_resolve_scalar(text, /* core_bools= */ true, want[tag]);
}

/* ---- field paths ---- */

struct rp_path {
	char **seg;
	size_t n;
};

static void path_release(struct rp_path *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->seg[i]);
	free(p->seg);
}

static void path_push(struct rp_path *p, char *s)
{
	p->seg = xrealloc(p->seg, (p->n + 1) * sizeof(*p->seg));
	p->seg[p->n++] = s;
}

/*
 * Split a field path as kustomize's SmarterPathSplitter: on '.', where
 * "\." is a literal dot, a leading '.' is dropped, and "[...]" spanning
 * dots stays one segment ("[name=a.b]"; "[a.b]" without '=' is the map
 * key "a.b").
 */
static int path_too_long(struct rp_path *raw, struct rp_path *ret, struct buf *b,
			 struct op_err *err)
{
	buf_release(b);
	path_release(raw);
	path_release(ret);
	return op_err_set(err, -EFBIG, "replacements: a field path is over the limit of %u bytes",
			  (unsigned)RP_TEXT_MAX);
}

static int path_split(const char *path, struct rp_path *ret, struct op_err *err)
{
	struct rp_path raw = { 0 };
	const char *p = path, *dot;

	memset(ret, 0, sizeof(*ret));
	if (*p == '.' && p[1])
		p++;
	for (;;) {
		struct buf b = BUF_INIT(RP_TEXT_MAX);

		/* one '.'-separated part, joined with the next while it ends in '\' */
		for (;;) {
			dot = strchr(p, '.');
			if (buf_add(&b, p, dot ? (size_t)(dot - p) : strlen(p)) < 0)
				return path_too_long(&raw, ret, &b, err);
			if (dot && b.len && b.buf[b.len - 1] == '\\') {
				b.buf[--b.len] = '\0';
				if (buf_addch(&b, '.') < 0)
					return path_too_long(&raw, ret, &b, err);
				p = dot + 1;
				continue;
			}
			break;
		}
		path_push(&raw, xstrdup(b.len ? b.buf : ""));
		buf_release(&b);
		if (!dot)
			break;
		p = dot + 1;
	}
	for (size_t i = 0; i < raw.n; i++) {
		const char *e = raw.seg[i];
		size_t el = strlen(e);

		if (e[0] == '[' && (el == 0 || e[el - 1] != ']')) {
			struct buf b = BUF_INIT(RP_TEXT_MAX);

			if (buf_adds(&b, e) < 0)
				return path_too_long(&raw, ret, &b, err);
			while (i < raw.n - 1) {
				const char *x = raw.seg[++i];

				if (buf_addch(&b, '.') < 0 || buf_adds(&b, x) < 0)
					return path_too_long(&raw, ret, &b, err);
				if (*x && x[strlen(x) - 1] == ']')
					break;
			}
			if (strchr(b.buf, '=')) {
				path_push(ret, xstrdup(b.buf));
			} else {
				const char *s = b.buf, *end = b.buf + b.len;

				while (s < end && (*s == '[' || *s == ']'))
					s++;
				while (end > s && (end[-1] == '[' || end[-1] == ']'))
					end--;
				path_push(ret, xstrndup(s, (size_t)(end - s)));
			}
			buf_release(&b);
		} else {
			path_push(ret, xstrdup(e));
		}
	}
	path_release(&raw);
	return 0;
}

/* Go's strconv.Atoi, within int range. */
static bool go_atoi(const char *s, long *ret)
{
	const char *p = s;
	bool neg = false;
	long v = 0;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (!*p)
		return false;
	for (; *p; p++) {
		if (*p < '0' || *p > '9' || v > 100000000L)
			return false;
		v = v * 10 + (*p - '0');
	}
	*ret = neg ? -v : v;
	return true;
}

static bool is_list_index(const char *s)
{
	size_t n = strlen(s);

	return n >= 2 && s[0] == '[' && s[n - 1] == ']';
}

/* "[name=value]" into its two halves; -EINVAL without '='. */
static int split_index(const char *seg, char **name, char **value, struct op_err *err)
{
	size_t n = strlen(seg);
	const char *body = seg + 1, *eq;
	size_t bl = n - 2;

	eq = memchr(body, '=', bl);
	if (!eq)
		return op_err_set(err, -EINVAL,
				  "list path element '%s' must contain fieldName=fieldValue", seg);
	*name = xstrndup(body, (size_t)(eq - body));
	*value = xstrndup(eq + 1, (size_t)(body + bl - eq - 1));
	return 0;
}

/* ---- the source: a plain lookup ---- */

static char *trim_dup(const char *s)
{
	const char *e = s + strlen(s);

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		e--;
	return xstrndup(s, (size_t)(e - s));
}

/*
 * kustomize's PathGetter: the node at `p` under `node`, or NULL when a
 * part is missing.  Errors for parts that cannot apply to the node.
 */
static int lookup(cJSON *node, const struct rp_path *p, cJSON **ret, struct op_err *err)
{
	for (size_t i = 0; i < p->n && node; i++) {
		_cleanup_free_ char *seg = trim_dup(p->seg[i]);
		long idx;

		if (!*seg)
			continue;
		if (cJSON_IsNull(node)) {
			node = NULL;
			break;
		}
		if (go_atoi(seg, &idx) || streq(seg, "-")) {
			if (!streq(seg, "-") && idx < 0)
				return op_err_set(err, -EINVAL, "array index %ld cannot be negative",
						  idx);
			if (!cJSON_IsArray(node))
				return op_err_set(err, -EINVAL,
						  "wrong node kind: expected SequenceNode but got %s",
						  kind_name(node));
			if (streq(seg, "-"))
				idx = cJSON_GetArraySize(node) - 1;
			node = idx >= 0 ? cJSON_GetArrayItem(node, (int)idx) : NULL;
		} else if (streq(seg, "*")) {
			return op_err_set(err, -EINVAL, "wildcard is not supported in PathGetter");
		} else if (is_list_index(seg)) {
			_cleanup_free_ char *name = NULL, *value = NULL;
			cJSON *e, *found = NULL;
			int r = split_index(seg, &name, &value, err);

			if (r < 0)
				return r;
			if (!cJSON_IsArray(node))
				return op_err_set(err, -EINVAL,
						  "wrong node kind: expected SequenceNode but got %s",
						  kind_name(node));
			cJSON_ArrayForEach(e, node) {
				const cJSON *f = *name ? cJSON_GetObjectItemCaseSensitive(e, name) : e;
				_cleanup_free_ char *t = NULL;

				if (*name && !cJSON_IsObject(e))
					continue;
				if (!f || !is_scalar(f))
					continue;
				t = scalar_text(f);
				if (streq(t, value)) {
					found = e;
					break;
				}
			}
			node = found;
		} else {
			if (!cJSON_IsObject(node))
				return op_err_set(err, -EINVAL,
						  "wrong node kind: expected MappingNode but got %s",
						  kind_name(node));
			node = cJSON_GetObjectItemCaseSensitive(node, seg);
		}
	}
	*ret = node;
	return 0;
}

/* kyaml's convertSliceIndex: "ports[0]" becomes "ports", "0". */
static void split_slice_index(struct rp_path *p)
{
	struct rp_path out = { 0 };

	for (size_t i = 0; i < p->n; i++) {
		char *s = p->seg[i], *open = strrchr(s, '[');
		size_t n = strlen(s);
		bool digits = open && n >= 2 && s[n - 1] == ']' && open + 1 < s + n - 1;

		for (char *d = open ? open + 1 : NULL; digits && d < s + n - 1; d++)
			digits = *d >= '0' && *d <= '9';
		if (!digits) {
			path_push(&out, s);
			continue;
		}
		if (open > s)
			path_push(&out, xstrndup(s, (size_t)(open - s)));
		path_push(&out, xstrndup(open + 1, (size_t)(s + n - 1 - open - 1)));
		free(s);
	}
	free(p->seg);
	*p = out;
}

int kz__field_get(const cJSON *obj, const char *path, bool slice_index, const cJSON **ret,
		  struct op_err *err)
{
	struct rp_path p;
	cJSON *node = NULL;
	int r;

	r = path_split(path, &p, err);
	if (r < 0)
		return r;
	if (slice_index)
		split_slice_index(&p);
	r = lookup((cJSON *)obj, &p, &node, err);
	path_release(&p);
	if (r == 0)
		*ret = node;
	return r;
}

/* ---- selecting objects ---- */

struct rp_id {
	const char *group, *version, *kind, *name, *ns;
};

/* The ids of `r`: its current one, then the ones it had before. */
static size_t ids_of(const struct kz_res *r, char *g, size_t gn, char *v, size_t vn,
		     struct rp_id **ret)
{
	struct rp_id *ids = xnew0(struct rp_id, r->nprev + 1);

	kz__gv(r->obj, g, gn, v, vn);
	ids[0] = (struct rp_id){ g, v, kz__kind(r), kz__name(r), kz__ns(r) };
	for (size_t i = 0; i < r->nprev; i++)
		ids[i + 1] = (struct rp_id){ g, v, r->prev[i].kind, r->prev[i].name,
					     r->prev[i].ns };
	*ret = ids;
	return r->nprev + 1;
}

static const char *eff_ns(const char *ns)
{
	return *ns ? ns : "default";
}

/* The exact match kustomize uses for a replacement's source. */
static bool id_selected(const struct rp_id *id, const cJSON *sel)
{
	const char *g = kz__str(sel, "/group"), *v = kz__str(sel, "/version");
	const char *k = kz__str(sel, "/kind"), *n = kz__str(sel, "/name");
	const char *ns = kz__str(sel, "/namespace");

	return (!*n || streq(n, id->name)) && (!*ns || streq(eff_ns(ns), eff_ns(id->ns))) &&
	       (!*g || streq(g, id->group)) && (!*v || streq(v, id->version)) &&
	       (!*k || streq(k, id->kind));
}

/* An anchored regular expression, compiled once per selector field. */
struct rp_re {
	bool set;
	struct regex *re;
};

struct rp_sel {
	struct rp_re f[5]; /* group, version, kind, name, namespace */
	const char *labels, *annotations;
	bool has_id;
};

static const char *const sel_fields[] = { "group", "version", "kind", "name", "namespace" };
static const char *const sel_ptrs[] = { "/group", "/version", "/kind", "/name", "/namespace" };

static void sel_release(struct rp_sel *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(s->f); i++)
		if (s->f[i].set)
			regex_free(s->f[i].re);
}

static int sel_init(struct rp_sel *s, const cJSON *sel, const char *kfile, struct op_err *err)
{
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < ARRAY_SIZE(sel_fields); i++) {
		const char *pat = kz__str(sel, sel_ptrs[i]);
		_cleanup_free_ char *anchored = NULL;

		if (!*pat)
			continue;
		s->has_id = true;
		anchored = xasprintf("^(%s)$", pat);
		if (kz__regex(anchored, &s->f[i].re) < 0) {
			sel_release(s);
			return op_err_set(err, -EINVAL,
					  "%s: replacements: invalid regular expression '%s' in "
					  "'%s'",
					  kfile, pat, sel_fields[i]);
		}
		s->f[i].set = true;
	}
	s->labels = kz__str(sel, "/labelSelector");
	s->annotations = kz__str(sel, "/annotationSelector");
	return 0;
}

static bool re_ok(const struct rp_re *re, const char *s)
{
	return !re->set || regex_match(re->re, s, strlen(s));
}

static bool sel_matches_id(const struct rp_sel *s, const struct rp_id *id)
{
	return re_ok(&s->f[0], id->group) && re_ok(&s->f[1], id->version) &&
	       re_ok(&s->f[2], id->kind) && re_ok(&s->f[3], id->name) &&
	       re_ok(&s->f[4], id->ns);
}

/* Do the label and annotation selectors of `s` both match `obj`? */
static int sel_matches_meta(const struct rp_sel *s, const cJSON *obj, const char *kfile,
			    bool *ret, struct op_err *err)
{
	bool a = true, l = true;

	if (*s->annotations &&
	    kz__selector_match(s->annotations, yj_get(obj, "/metadata/annotations"), &a) < 0)
		return op_err_set(err, -EINVAL, "%s: replacements: invalid annotationSelector '%s'",
				  kfile, s->annotations);
	if (*s->labels && kz__selector_match(s->labels, yj_get(obj, "/metadata/labels"), &l) < 0)
		return op_err_set(err, -EINVAL, "%s: replacements: invalid labelSelector '%s'",
				  kfile, s->labels);
	*ret = a && l;
	return 0;
}

static char *source_string(const cJSON *src)
{
	const char *g = kz__str(src, "/group"), *v = kz__str(src, "/version");
	const char *k = kz__str(src, "/kind"), *n = kz__str(src, "/name");
	const char *ns = kz__str(src, "/namespace");

	return xasprintf("%s.%s.%s/%s.%s", *k ? k : "[noKind]", *v ? v : "[noVer]",
			 *g ? g : "[noGrp]", *n ? n : "[noName]", *ns ? ns : "[noNs]");
}

static int find_source(struct kz_resmap *m, const cJSON *src, const char *kfile,
		       struct kz_res **ret, struct op_err *err)
{
	struct kz_res *found = NULL;

	for (size_t i = 0; i < m->n; i++) {
		char g[256], v[64];
		struct rp_id *ids;
		size_t n = ids_of(m->v[i], g, sizeof(g), v, sizeof(v), &ids);
		bool hit = false;

		for (size_t j = 0; j < n && !hit; j++)
			hit = id_selected(&ids[j], src);
		free(ids);
		if (!hit)
			continue;
		if (found) {
			_cleanup_free_ char *s = source_string(src);

			return op_err_set(err, -EINVAL,
					  "%s: replacements: multiple matches for source selector "
					  "'%s'",
					  kfile, s);
		}
		found = m->v[i];
	}
	if (!found) {
		_cleanup_free_ char *s = source_string(src);

		return op_err_set(err, -EINVAL, "%s: replacements: nothing selected by source '%s'",
				  kfile, s);
	}
	*ret = found;
	return 0;
}

/* The value a replacement copies: the source's field, refined by its options. */
static int get_value(struct kz_target *kt, struct kz_resmap *m, const cJSON *rep,
		     struct rp_val *ret, struct op_err *err)
{
	const cJSON *src = yj_get(rep, "/source"), *sv = yj_get(rep, "/sourceValue");
	const char *fp, *delim;
	struct kz_res *res;
	struct rp_path p;
	cJSON *node;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (sv && !cJSON_IsNull(sv) && src && !cJSON_IsNull(src))
		return op_err_set(err, -EINVAL,
				  "%s: replacements: value and resource selectors are mutually "
				  "exclusive",
				  kt->kfile);
	if (sv && !cJSON_IsNull(sv)) {
		ret->tag = T_PLAIN;
		ret->text = xstrdup(cJSON_IsString(sv) ? sv->valuestring : "");
		return 0;
	}
	r = find_source(m, src, kt->kfile, &res, err);
	if (r < 0)
		return r;
	fp = *kz__str(src, "/fieldPath") ? kz__str(src, "/fieldPath") : "metadata.name";
	r = path_split(fp, &p, err);
	if (r < 0)
		return op_err_prefix(err, "%s", kt->kfile);
	r = lookup(res->obj, &p, &node, err);
	path_release(&p);
	if (r < 0)
		return op_err_prefix(err, "%s: replacements: error looking up replacement source",
				     kt->kfile);
	if (!node || cJSON_IsNull(node) ||
	    ((cJSON_IsObject(node) || cJSON_IsArray(node)) && !node->child)) {
		_cleanup_free_ char *s = source_string(src);

		return op_err_set(err, -EINVAL,
				  "%s: replacements: fieldPath '%s' is missing for replacement "
				  "source '%s'",
				  kt->kfile, fp, s);
	}
	ret->tag = tag_of(node);
	if (ret->tag == T_MAP || ret->tag == T_SEQ)
		ret->tree = cJSON_Duplicate(node, 1);
	else
		ret->text = scalar_text(node);
	delim = kz__str(src, "/options/delimiter");
	if (*delim) {
		const cJSON *ix = yj_get(src, "/options/index");
		long index = cJSON_IsNumber(ix) ? (long)yj_to_int64(ix->valuedouble) : 0, i = 0;
		const char *s = ret->text, *at;
		size_t dl = strlen(delim);

		if (!ret->text) {
			val_release(ret);
			return op_err_set(err, -EINVAL,
					  "%s: replacements: delimiter option can only be used with "
					  "scalar nodes",
					  kt->kfile);
		}
		for (at = strstr(s, delim); at && i < index; at = strstr(s, delim), i++)
			s = at + dl;
		if (index < 0 || i < index) {
			r = op_err_set(err, -EINVAL,
				       "%s: replacements: options.index %ld is out of bounds for value "
				       "'%s'",
				       kt->kfile, index, ret->text);
			val_release(ret);
			return r;
		}
		{
			char *part = at ? xstrndup(s, (size_t)(at - s)) : xstrdup(s);

			free(ret->text);
			ret->text = part;
		}
	}
	return 0;
}

/* ---- targets: kustomize's PathMatcher ---- */

struct hit {
	cJSON *parent, *node;
	bool fresh; /* created by us: no tag, the text decides the type */
};

struct walk {
	bool create;
	enum rp_tag create_tag; /* the value's tag: what a created leaf becomes */
	struct hit *v;
	size_t n;
	bool absorbed; /* the path ended in a spot kustomize writes to but never prints */
	struct op_err *err;
};

static void hit_push(struct walk *w, cJSON *parent, cJSON *node, bool fresh)
{
	w->v = xrealloc(w->v, (w->n + 1) * sizeof(*w->v));
	w->v[w->n++] = (struct hit){ parent, node, fresh };
}

/* What to create for a missing part, given the part that follows it. */
static cJSON *new_part(const struct walk *w, const char *next, bool *fresh)
{
	long idx;

	*fresh = false;
	if (next && (is_list_index(next) || (go_atoi(next, &idx) && idx >= 0)))
		return cJSON_CreateArray();
	if (next)
		return cJSON_CreateObject();
	if (w->create_tag == T_MAP)
		return cJSON_CreateObject();
	if (w->create_tag == T_SEQ)
		return cJSON_CreateArray();
	*fresh = true;
	return cJSON_CreateNull();
}

static int wrong_kind(struct walk *w, const char *want, const cJSON *got)
{
	return op_err_set(w->err, -EINVAL, "wrong node kind: expected %s but got %s", want,
			  kind_name(got));
}

/* The text a list element is matched against: its YAML, trimmed. */
static char *elem_text(const cJSON *e)
{
	struct buf b = BUF_INIT(1u << 24);
	char *t;

	if (is_scalar(e))
		return cJSON_IsNull(e) ? xstrdup("null") : scalar_text(e);
	if (yj_emit_yaml(e, &b) < 0) {
		buf_release(&b);
		return xstrdup("");
	}
	t = trim_dup(b.len ? b.buf : "");
	buf_release(&b);
	return t;
}

static int walk(struct walk *w, cJSON *parent, cJSON *node, const struct rp_path *p, size_t i,
		bool fresh);

static int walk_in_string(struct walk *w, cJSON *str, const struct rp_path *p, size_t i);

static int walk_index(struct walk *w, cJSON *node, const struct rp_path *p, size_t i, long idx)
{
	int len;
	cJSON *e;

	if (cJSON_IsNull(node)) {
		if (w->create && idx == 0)
			w->absorbed = true;
		else
			return op_err_set(w->err, -EINVAL,
					  "index %ld specified but only 0 elements found", idx);
		return 0;
	}
	if (!cJSON_IsArray(node))
		return wrong_kind(w, "SequenceNode", node);
	len = cJSON_GetArraySize(node);
	if (len == idx && w->create) {
		bool fresh;

		e = new_part(w, i + 1 < p->n ? p->seg[i + 1] : NULL, &fresh);
		cJSON_AddItemToArray(node, e);
		return walk(w, node, e, p, i + 1, fresh);
	}
	if (idx >= len)
		return op_err_set(w->err, -EINVAL, "index %ld specified but only %d elements found",
				  idx, len);
	return walk(w, node, cJSON_GetArrayItem(node, (int)idx), p, i + 1, false);
}

static int walk_match(struct walk *w, cJSON *node, const struct rp_path *p, size_t i)
{
	_cleanup_free_ char *name = NULL, *value = NULL;
	struct regex *re;
	size_t before = w->n;
	cJSON *e;
	int r = split_index(p->seg[i], &name, &value, w->err);

	if (r < 0)
		return r;
	if (cJSON_IsNull(node)) {
		if (w->create)
			w->absorbed = true;
		return 0;
	}
	if (!cJSON_IsArray(node))
		return wrong_kind(w, "SequenceNode", node);
	if (kz__regex(value, &re) < 0)
		return op_err_set(w->err, -EINVAL, "invalid regular expression '%s' in '%s'", value,
				  p->seg[i]);
	for (int pass = 0; pass < 2; pass++) {
		cJSON_ArrayForEach(e, node) {
			const cJSON *f = e;
			_cleanup_free_ char *t = NULL;

			if (*name) {
				if (!cJSON_IsObject(e))
					continue;
				f = cJSON_GetObjectItemCaseSensitive(e, name);
				if (!f)
					continue;
			}
			t = elem_text(f);
			if (!regex_match(re, t, strlen(t)))
				continue;
			if (*name)
				r = walk(w, node, e, p, i + 1, false);
			else /* a primitive element ends the path: the rest is ignored */
				hit_push(w, node, e, false);
			if (r < 0)
				goto out;
		}
		if (w->n > before || !w->create || pass == 1)
			break;
		/* Nothing matched: append an element made from the pattern and look again. */
		e = resolve(T_PLAIN, value);
		if (!e)
			e = cJSON_CreateString(value);
		if (*name) {
			cJSON *m = cJSON_CreateObject();

			cJSON_AddItemToObject(m, name, e);
			e = m;
		}
		cJSON_AddItemToArray(node, e);
	}
out:
	regex_free(re);
	return r;
}

static int walk(struct walk *w, cJSON *parent, cJSON *node, const struct rp_path *p, size_t i,
		bool fresh)
{
	const char *seg;
	long idx;
	cJSON *e, *child;
	int r;

	if (i == p->n) {
		hit_push(w, parent, node, fresh);
		return 0;
	}
	seg = p->seg[i];
	if (go_atoi(seg, &idx) && idx >= 0)
		return walk_index(w, node, p, i, idx);
	if (is_list_index(seg))
		return walk_match(w, node, p, i);
	if (streq(seg, "*")) {
		if (cJSON_IsNull(node))
			return 0;
		if (!cJSON_IsArray(node))
			return wrong_kind(w, "SequenceNode", node);
		cJSON_ArrayForEach(e, node) {
			r = walk(w, node, e, p, i + 1, false);
			if (r < 0)
				return r;
		}
		return 0;
	}
	if (cJSON_IsNull(node)) {
		if (w->create)
			w->absorbed = true;
		return 0;
	}
	if (!*seg)
		return wrong_kind(w, "ScalarNode", node);
	if (!cJSON_IsObject(node))
		return wrong_kind(w, "MappingNode", node);
	child = cJSON_GetObjectItemCaseSensitive(node, seg);
	if (!child) {
		if (!w->create)
			return 0;
		child = new_part(w, i + 1 < p->n ? p->seg[i + 1] : NULL, &fresh);
		cJSON_AddItemToObject(node, seg, child);
		return walk(w, node, child, p, i + 1, fresh);
	}
	if (is_scalar(child) && i + 1 < p->n) {
		if (cJSON_IsNull(child)) {
			if (w->create)
				w->absorbed = true;
			return 0;
		}
		if (!cJSON_IsString(child))
			return wrong_kind(w, "MappingNode", child);
		return walk_in_string(w, child, p, i + 1);
	}
	return walk(w, node, child, p, i + 1, false);
}

/* YAML text parsed as kustomize's go-yaml v3 parses it; -EINVAL if it is not one document. */
static int parse_doc(const char *s, cJSON **ret)
{
	struct yj_limits lim = YJ_LIMITS_DEFAULT;
	struct op_err e = OP_ERR_INIT;
	struct yj_stream st;
	int r;

	lim.core_bools = true;
	r = yj_parse_stream(s, strlen(s), &lim, &st, &e);
	if (r < 0)
		return r;
	if (st.n != 1) {
		yj_stream_release(&st);
		return -EINVAL;
	}
	*ret = TAKE_PTR(st.docs[0]);
	yj_stream_release(&st);
	return 0;
}

/*
 * The path runs on into a string: kustomize reads the string as YAML and
 * goes on in that copy.  What it finds there is written to the copy and
 * dropped (a successful write into the string itself happened earlier, in
 * set_structured()); only errors count.
 */
static int walk_in_string(struct walk *w, cJSON *str, const struct rp_path *p, size_t i)
{
	struct walk sub = { .create = w->create, .create_tag = w->create_tag, .err = w->err };
	cJSON *doc;
	int r;

	if (parse_doc(str->valuestring, &doc) < 0)
		return op_err_set(w->err, -EINVAL, "cannot parse the value of '%s' as YAML",
				  p->seg[i - 1]);
	r = walk(&sub, NULL, doc, p, i, false);
	if (r == 0 && (sub.n || sub.absorbed))
		w->absorbed = true;
	free(sub.v);
	cJSON_Delete(doc);
	return r;
}

/* Put `with` (taken) where `node` (freed) is; a copy may carry a key of its own. */
static void replace_node(cJSON *parent, cJSON *node, cJSON *with)
{
	if (with->string && !(with->type & cJSON_StringIsConst))
		free(with->string);
	with->string = cJSON_IsObject(parent) ? xstrdup(node->string) : NULL;
	with->type &= ~cJSON_StringIsConst;
	cJSON_ReplaceItemViaPointer(parent, node, with);
}

/*
 * Write `val` into the field `h` as kustomize's setFieldValue: with a
 * delimiter, into one part of the field's text; a scalar field keeps its
 * tag and takes the text; anything else becomes the value.
 */
static int set_field(const cJSON *opts, struct hit *h, const struct rp_val *val,
		     struct op_err *err)
{
	const char *delim = kz__str(opts, "/delimiter");
	_cleanup_free_ char *text = NULL;
	cJSON *nv;

	if (*delim) {
		const cJSON *ix = yj_get(opts, "/index");
		long index = cJSON_IsNumber(ix) ? (long)yj_to_int64(ix->valuedouble) : 0, i = 0;
		_cleanup_free_ char *cur = NULL;
		const char *v = val->text ? val->text : "";
		struct buf b = BUF_INIT(RP_TEXT_MAX);
		const char *s, *at;
		size_t dl = strlen(delim), nparts = 1;
		bool big = false;

		if (!is_scalar(h->node))
			return op_err_set(err, -EINVAL,
					  "delimiter option can only be used with scalar nodes");
		cur = h->fresh ? xstrdup("") : cJSON_IsNull(h->node) ? xstrdup("null")
								     : scalar_text(h->node);
		for (at = strstr(cur, delim); at; at = strstr(at + dl, delim))
			nparts++;
		if (index < 0) {
			big = buf_adds(&b, v) < 0 || buf_adds(&b, delim) < 0 || buf_adds(&b, cur) < 0;
		} else if ((size_t)index >= nparts) {
			big = buf_adds(&b, cur) < 0 || buf_adds(&b, delim) < 0 || buf_adds(&b, v) < 0;
		} else {
			for (s = cur; !big; i++) {
				at = strstr(s, delim);
				if (i == index)
					big = buf_adds(&b, v) < 0;
				else
					big = buf_add(&b, s, at ? (size_t)(at - s) : strlen(s)) < 0;
				if (!at)
					break;
				big = big || buf_adds(&b, delim) < 0;
				s = at + dl;
			}
		}
		if (big) {
			buf_release(&b);
			return op_err_set(err, -EFBIG,
					  "replacements: the delimited value is over the limit of %u "
					  "bytes", (unsigned)RP_TEXT_MAX);
		}
		text = xstrdup(b.len ? b.buf : "");
		buf_release(&b);
	} else if (val->text) {
		text = xstrdup(val->text);
	}
	if (h->fresh) {
		nv = text ? resolve(T_PLAIN, text) : cJSON_Duplicate(val->tree, 1);
	} else if (is_scalar(h->node)) {
		nv = resolve(tag_of(h->node), text ? text : "");
	} else if (val->tree) {
		nv = cJSON_Duplicate(val->tree, 1);
	} else {
		nv = resolve(val->tag, text ? text : "");
	}
	if (!nv)
		return op_err_set(err, -EINVAL, "cannot decode '%s' as a %s", text ? text : "",
				  is_scalar(h->node) && !h->fresh ? "value of the target's type"
								  : "value");
	replace_node(h->parent, h->node, nv);
	h->node = nv;
	return 0;
}

/* ---- values inside strings ---- */

/* Go's json.MarshalIndent(v, "", "  ") from its compact form. */
static int json_indent(const char *s, struct buf *out)
{
	int depth = 0, r = 0;
	bool in_str = false;

	for (; *s && r == 0; s++) {
		char c = *s;

		if (in_str) {
			r = buf_addch(out, c);
			if (c == '\\' && s[1])
				r = buf_addch(out, *++s);
			else if (c == '"')
				in_str = false;
			continue;
		}
		switch (c) {
		case '"':
			in_str = true;
			r = buf_addch(out, c);
			break;
		case '{':
		case '[':
			r = buf_addch(out, c);
			if (s[1] == '}' || s[1] == ']') {
				r = buf_addch(out, *++s);
				break;
			}
			depth++;
			r = buf_addch(out, '\n');
			for (int d = 0; d < depth && r == 0; d++)
				r = buf_adds(out, "  ");
			break;
		case '}':
		case ']':
			depth--;
			r = buf_addch(out, '\n');
			for (int d = 0; d < depth && r == 0; d++)
				r = buf_adds(out, "  ");
			if (r == 0)
				r = buf_addch(out, c);
			break;
		case ',':
			r = buf_addch(out, c);
			if (r == 0)
				r = buf_addch(out, '\n');
			for (int d = 0; d < depth && r == 0; d++)
				r = buf_adds(out, "  ");
			break;
		case ':':
			r = buf_adds(out, ": ");
			break;
		default:
			r = buf_addch(out, c);
		}
	}
	return r;
}

/* The changed document written back in the form the string had. */
static char *serialize(const cJSON *doc, const char *orig)
{
	struct buf b = BUF_INIT(64u << 20), pretty = BUF_INIT(64u << 20);
	const char *first = orig;
	char *s = NULL;

	while (*first == ' ' || *first == '\t' || *first == '\n' || *first == '\r')
		first++;
	if (*first == '{' || *first == '[') {
		if (kz__go_json(doc, &b) == 0) {
			if (strchr(orig, '\n') && strstr(orig, "  ")) {
				if (json_indent(b.buf, &pretty) == 0)
					s = xstrdup(pretty.buf);
			} else {
				s = xstrdup(b.buf);
			}
		}
	} else if (yj_emit_yaml(doc, &b) == 0) {
		s = trim_dup(b.buf);
	}
	buf_release(&b);
	buf_release(&pretty);
	return s;
}

/*
 * kustomize's first try for each target path: does a prefix of the path
 * reach a string?  Then read the string as YAML, set the rest of the path
 * in it, and write it back.  Returns 1 if it did, 0 if the normal path
 * should be tried instead.
 */
static int set_structured(cJSON *obj, const struct rp_path *p, const struct rp_val *val,
			  bool create)
{
	struct op_err e = OP_ERR_INIT;
	struct rp_path pre = *p, rest;
	struct walk w = { .create = create, .create_tag = val->tag, .err = &e };
	cJSON *str = NULL, *doc;
	char *text;
	int done = 0;

	if (p->n < 2)
		return 0;
	for (size_t i = 1; i < p->n; i++) {
		cJSON *node;

		pre.n = i;
		if (lookup(obj, &pre, &node, &e) < 0 || !node)
			continue;
		if (!is_scalar(node))
			continue;
		if (!cJSON_IsString(node))
			return 0; /* the normal path fails on it too */
		if (parse_doc(node->valuestring, &doc) < 0)
			continue;
		str = node;
		rest.seg = p->seg + i;
		rest.n = p->n - i;
		break;
	}
	if (!str)
		return 0;
	if (walk(&w, NULL, doc, &rest, 0, false) < 0 || w.n == 0)
		goto out;
	for (size_t i = 0; i < w.n; i++) {
		cJSON *nv;

		if (!w.v[i].parent)
			goto out; /* the whole document: not writable */
		if (w.v[i].fresh)
			nv = val->text ? resolve(T_PLAIN, val->text) : cJSON_Duplicate(val->tree, 1);
		else if (is_scalar(w.v[i].node))
			nv = resolve(tag_of(w.v[i].node), val->text ? val->text : "");
		else
			nv = val->tree ? cJSON_Duplicate(val->tree, 1) : resolve(val->tag, val->text);
		if (!nv)
			goto out; /* kustomize cannot print it back and gives up quietly */
		replace_node(w.v[i].parent, w.v[i].node, nv);
	}
	text = serialize(doc, str->valuestring);
	if (text) {
		free(str->valuestring);
		str->valuestring = text;
		done = 1;
	}
out:
	free(w.v);
	cJSON_Delete(doc);
	return done;
}

static int copy_to_target(struct kz_target *kt, struct kz_res *res, const struct rp_val *val,
			  const cJSON *sel, struct op_err *err)
{
	const cJSON *opts = yj_get(sel, "/options"), *fps = yj_get(sel, "/fieldPaths"), *fp;
	bool create = cJSON_IsTrue(yj_get(opts, "/create"));
	const char *dflt[] = { "metadata.name" };
	size_t nfp = cJSON_GetArraySize(fps);

	for (size_t k = 0; k < (nfp ? nfp : 1); k++) {
		const char *path;
		struct rp_path p;
		struct walk w = { .create = create, .create_tag = val->tag, .err = err };
		int r;

		fp = nfp ? cJSON_GetArrayItem(fps, (int)k) : NULL;
		path = fp ? (cJSON_IsString(fp) ? fp->valuestring : "") : dflt[0];
		r = path_split(path, &p, err);
		if (r < 0) {
			op_err_prefix(err, "%s", kt->kfile);
			break;
		}
		if (set_structured(res->obj, &p, val, create)) {
			path_release(&p);
			continue;
		}
		r = walk(&w, NULL, res->obj, &p, 0, false);
		path_release(&p);
		if (r == 0 && w.n == 0 && !w.absorbed)
			r = op_err_set(err, -EINVAL, "unable to find %sfield \"%s\" in replacement target",
				       create ? "or create " : "", path);
		for (size_t i = 0; r == 0 && i < w.n; i++) {
			if (!w.v[i].parent) {
				r = op_err_set(err, -EINVAL, "cannot replace the whole object");
				break;
			}
			r = set_field(opts, &w.v[i], val, err);
		}
		free(w.v);
		if (r < 0) {
			_cleanup_free_ char *id = kz__id_string(res);

			return op_err_prefix(err, "%s: replacements: target '%s'", kt->kfile, id);
		}
	}
	return 0;
}

static int apply_targets(struct kz_target *kt, struct kz_resmap *m, const struct rp_val *val,
			 const cJSON *targets, struct op_err *err)
{
	const cJSON *t;

	cJSON_ArrayForEach(t, targets) {
		const cJSON *sel = yj_get(t, "/select"), *rej;
		struct rp_sel s, *rs = NULL;
		size_t nrs = 0;
		int r;

		if (!cJSON_IsObject(sel))
			return op_err_set(err, -EINVAL,
					  "%s: replacements: target must specify resources to select",
					  kt->kfile);
		r = sel_init(&s, sel, kt->kfile, err);
		if (r < 0)
			return r;
		cJSON_ArrayForEach(rej, yj_get(t, "/reject")) {
			rs = xrealloc(rs, (nrs + 1) * sizeof(*rs));
			r = sel_init(&rs[nrs], rej, kt->kfile, err);
			if (r < 0)
				break;
			nrs++;
		}
		for (size_t i = 0; r == 0 && i < m->n; i++) {
			struct kz_res *res = m->v[i];
			char g[256], v[64];
			struct rp_id *ids = NULL;
			size_t nids;
			bool ok = true, chosen = false;

			r = sel_matches_meta(&s, res->obj, kt->kfile, &ok, err);
			for (size_t j = 0; r == 0 && ok && j < nrs; j++) {
				bool hit;

				if (!*rs[j].labels && !*rs[j].annotations)
					continue;
				r = sel_matches_meta(&rs[j], res->obj, kt->kfile, &hit, err);
				if (hit)
					ok = false;
			}
			if (r < 0 || !ok)
				continue;
			nids = ids_of(res, g, sizeof(g), v, sizeof(v), &ids);
			for (size_t j = 0; ok && j < nrs; j++) {
				if (!rs[j].has_id)
					continue;
				for (size_t k = 0; k < nids && ok; k++)
					if (sel_matches_id(&rs[j], &ids[k]))
						ok = false;
			}
			for (size_t k = 0; ok && k < nids && !chosen; k++)
				chosen = sel_matches_id(&s, &ids[k]);
			free(ids);
			if (chosen)
				r = copy_to_target(kt, res, val, t, err);
		}
		sel_release(&s);
		for (size_t j = 0; j < nrs; j++)
			sel_release(&rs[j]);
		free(rs);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- reading the replacements ---- */

static bool known(const char *k, const char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (streq(k, v[i]))
			return true;
	return false;
}

/* Check field names and types as kustomize's strict decoding does. */
static int check_fields(const cJSON *o, const char *const *names, size_t n, const char *what,
			const char *kfile, struct op_err *err)
{
	const cJSON *e;

	if (!cJSON_IsObject(o))
		return op_err_set(err, -EINVAL, "%s: replacements: '%s' must be a map", kfile, what);
	cJSON_ArrayForEach(e, o) {
		if (!known(e->string, names, n))
			return op_err_set(err, -EINVAL, "%s: replacements: unknown field '%s' in '%s'",
					  kfile, e->string, what);
	}
	return 0;
}

static int check_options(const cJSON *o, const char *kfile, struct op_err *err)
{
	static const char *const f[] = { "delimiter", "index", "encoding", "create" };
	const cJSON *v;
	int r;

	if (!o || cJSON_IsNull(o))
		return 0;
	r = check_fields(o, f, ARRAY_SIZE(f), "options", kfile, err);
	if (r < 0)
		return r;
	if ((v = yj_get(o, "/delimiter")) && !cJSON_IsString(v) && !cJSON_IsNull(v))
		return op_err_set(err, -EINVAL, "%s: replacements: 'delimiter' must be a string", kfile);
	if ((v = yj_get(o, "/encoding")) && !cJSON_IsString(v) && !cJSON_IsNull(v))
		return op_err_set(err, -EINVAL, "%s: replacements: 'encoding' must be a string", kfile);
	if ((v = yj_get(o, "/index")) && !cJSON_IsNull(v) && (!is_int(v) || cJSON_IsRaw(v)))
		return op_err_set(err, -EINVAL, "%s: replacements: 'index' must be an integer", kfile);
	if ((v = yj_get(o, "/create")) && !cJSON_IsBool(v) && !cJSON_IsNull(v))
		return op_err_set(err, -EINVAL, "%s: replacements: 'create' must be a bool", kfile);
	return 0;
}

static int check_selector(const cJSON *s, const char *what, const char *kfile,
			  struct op_err *err)
{
	static const char *const f[] = { "group", "version", "kind", "name", "namespace",
					 "labelSelector", "annotationSelector" };
	const cJSON *e;
	int r = check_fields(s, f, ARRAY_SIZE(f), what, kfile, err);

	cJSON_ArrayForEach(e, s) {
		if (r == 0 && !cJSON_IsString(e) && !cJSON_IsNull(e))
			r = op_err_set(err, -EINVAL, "%s: replacements: '%s' must be a string", kfile,
				       e->string);
	}
	return r;
}

static int check_replacement(const cJSON *rep, bool inline_entry, const char *kfile,
			     struct op_err *err)
{
	static const char *const f[] = { "source", "targets", "sourceValue", "path" };
	static const char *const sf[] = { "group", "version", "kind", "name", "namespace",
					  "fieldPath", "options" };
	static const char *const tf[] = { "select", "reject", "fieldPaths", "options" };
	const cJSON *src = yj_get(rep, "/source"), *t, *e;
	int r;

	if (inline_entry) {
		r = check_fields(rep, f, ARRAY_SIZE(f), "replacements", kfile, err);
		if (r < 0)
			return r;
	} else if (!cJSON_IsObject(rep)) {
		return op_err_set(err, -EINVAL, "%s: replacements: an entry must be a map", kfile);
	}
	if (src && !cJSON_IsNull(src)) {
		r = check_fields(src, sf, ARRAY_SIZE(sf), "source", kfile, err);
		cJSON_ArrayForEach(e, src) {
			if (r == 0 && !streq(e->string, "options") && !cJSON_IsString(e) &&
			    !cJSON_IsNull(e))
				r = op_err_set(err, -EINVAL,
					       "%s: replacements: source '%s' must be a string", kfile,
					       e->string);
		}
		if (r == 0)
			r = check_options(yj_get(src, "/options"), kfile, err);
		if (r < 0)
			return r;
	}
	if ((e = yj_get(rep, "/sourceValue")) && !cJSON_IsString(e) && !cJSON_IsNull(e))
		return op_err_set(err, -EINVAL, "%s: replacements: 'sourceValue' must be a string",
				  kfile);
	t = yj_get(rep, "/targets");
	if (t && !cJSON_IsArray(t) && !cJSON_IsNull(t))
		return op_err_set(err, -EINVAL, "%s: replacements: 'targets' must be a list", kfile);
	cJSON_ArrayForEach(e, t) {
		const cJSON *x;

		if (!cJSON_IsObject(e))
			return op_err_set(err, -EINVAL, "%s: replacements: a target must be a map",
					  kfile);
		r = inline_entry ? check_fields(e, tf, ARRAY_SIZE(tf), "targets", kfile, err) : 0;
		if (r == 0 && (x = yj_get(e, "/select")) && !cJSON_IsNull(x))
			r = inline_entry ? check_selector(x, "select", kfile, err) : 0;
		if (r == 0 && (x = yj_get(e, "/reject")) && !cJSON_IsArray(x) && !cJSON_IsNull(x))
			r = op_err_set(err, -EINVAL, "%s: replacements: 'reject' must be a list",
				       kfile);
		cJSON_ArrayForEach(x, yj_get(e, "/reject")) {
			if (r == 0 && inline_entry)
				r = check_selector(x, "reject", kfile, err);
			else if (r == 0 && !cJSON_IsObject(x))
				r = op_err_set(err, -EINVAL,
					       "%s: replacements: a reject entry must be a map", kfile);
		}
		if (r == 0 && (x = yj_get(e, "/fieldPaths")) && !cJSON_IsArray(x) && !cJSON_IsNull(x))
			r = op_err_set(err, -EINVAL, "%s: replacements: 'fieldPaths' must be a list",
				       kfile);
		cJSON_ArrayForEach(x, yj_get(e, "/fieldPaths")) {
			if (r == 0 && !cJSON_IsString(x))
				r = op_err_set(err, -EINVAL,
					       "%s: replacements: fieldPaths must be strings", kfile);
		}
		if (r == 0)
			r = check_options(yj_get(e, "/options"), kfile, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Gather the replacements of the kustomization, reading `path:` entries. */
static int load(struct kz_target *kt, const cJSON *list, cJSON *out, struct op_err *err)
{
	const cJSON *e;
	int r;

	cJSON_ArrayForEach(e, list) {
		const char *path = kz__str(e, "/path");
		struct yj_limits lim = YJ_LIMITS_DEFAULT;
		struct yj_stream st;
		char *data;
		size_t len;
		cJSON *doc, *x;

		r = check_replacement(e, true, kt->kfile, err);
		if (r < 0)
			return r;
		if (!*path) {
			cJSON_AddItemToArray(out, cJSON_Duplicate(e, 1));
			continue;
		}
		if ((yj_get(e, "/source") && !cJSON_IsNull(yj_get(e, "/source"))) ||
		    cJSON_GetArraySize(yj_get(e, "/targets")) > 0)
			return op_err_set(err, -EINVAL,
					  "%s: replacements: cannot specify both path and inline "
					  "replacement",
					  kt->kfile);
		r = kz__read(kt, path, &data, &len, NULL, err);
		if (r < 0)
			return r;
		r = yj_parse_stream(data, len, &lim, &st, err);
		free(data);
		if (r < 0)
			return op_err_prefix(err, "%s: replacements: '%s'", kt->kfile, path);
		doc = st.n ? st.docs[0] : NULL;
		if (cJSON_IsArray(doc)) {
			cJSON_ArrayForEach(x, doc) {
				r = check_replacement(x, false, kt->kfile, err);
				if (r < 0)
					break;
				cJSON_AddItemToArray(out, cJSON_Duplicate(x, 1));
			}
		} else if (cJSON_IsObject(doc)) {
			r = check_replacement(doc, false, kt->kfile, err);
			if (r == 0)
				cJSON_AddItemToArray(out, cJSON_Duplicate(doc, 1));
		} else {
			r = op_err_set(err, -EINVAL,
				       "%s: replacements: unsupported replacement type in '%s'",
				       kt->kfile, path);
		}
		yj_stream_release(&st);
		if (r < 0)
			return r;
	}
	return 0;
}

int kz__apply_replacements(struct kz_target *kt, struct kz_resmap *m, const cJSON *list,
			   struct op_err *err)
{
	cJSON *reps = cJSON_CreateArray();
	const cJSON *rep;
	int r = load(kt, list, reps, err);

	cJSON_ArrayForEach(rep, reps) {
		const cJSON *src = yj_get(rep, "/source"), *sv = yj_get(rep, "/sourceValue");
		struct rp_val val;

		if (r < 0)
			break;
		if (((!src || cJSON_IsNull(src)) && (!sv || cJSON_IsNull(sv))) ||
		    !cJSON_IsArray(yj_get(rep, "/targets"))) {
			r = op_err_set(err, -EINVAL,
				       "%s: replacements must specify a source and at least one "
				       "target",
				       kt->kfile);
			break;
		}
		r = get_value(kt, m, rep, &val, err);
		if (r < 0)
			break;
		r = apply_targets(kt, m, &val, yj_get(rep, "/targets"), err);
		val_release(&val);
	}
	cJSON_Delete(reps);
	return r;
}
