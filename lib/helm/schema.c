/*
 * schema.c: values.schema.json, as Helm v3.21 checks it with
 * santhosh-tekuri/jsonschema v6 (chartutil.ValidateAgainstSchema).
 *
 * DESIGN
 * A direct interpreter over the schema's cJSON tree (no compile step):
 * the draft comes from "$schema" (drafts 4, 6, 7, 2019-09, 2020-12; none
 * or ".../schema" means 2020-12, v6's latest), and validate() follows
 * v6's validator keyword by keyword, in its order, building the same
 * error tree: one error per failing keyword at the instance location, a
 * "validation failed" group when one value collects several, $ref errors
 * folded into their single cause, allOf/anyOf/oneOf causes nested.  The
 * tree is printed as v6 prints it ("- at '/path': got string, want
 * integer", causes indented two spaces per level) under Helm's heading.
 * Where v6 walks a Go map (the instance's properties) the order is random
 * in Helm; here it is the key order, so a message with several errors
 * may list them in another order than one helm run.
 *
 * Supported: type, enum, const, properties, patternProperties,
 * additionalProperties, required, min/maxProperties, dependencies,
 * dependentRequired, dependentSchemas, propertyNames, items (all forms),
 * prefixItems, additionalItems, contains, min/maxContains, min/maxItems,
 * uniqueItems, min/maxLength, pattern (Go regexp syntax, as v6 uses),
 * minimum, maximum, exclusiveMinimum/Maximum (draft-4 booleans too),
 * multipleOf, not, allOf, anyOf, oneOf, if/then/else, and $ref to
 * "#/json/pointer", "#anchor" and to $id's inside the document.  Not
 * supported, each refused with a message naming it: $ref to another
 * document (Helm fetches http(s) ones), $dynamicRef/$recursiveRef, and
 * unevaluatedProperties/unevaluatedItems.  `format` is not asserted.
 *
 * Bounded: nesting of the evaluation (values and $ref chains) is capped,
 * and a $ref that comes back to the same schema for the same value is
 * v6's "reference cycle" error.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/str.h"
#include "helm/internal.h"
#include "base/regex.h"
#include "yj/yj.h"
#include "base/banned.h"

#define MAX_DEPTH 512

enum vkind {
	K_PLAIN, /* a keyword's error */
	K_GROUP, /* "validation failed" over several causes */
	K_REF,   /* a $ref's error, shown through its causes */
};

struct verr {
	enum vkind k;
	char *loc; /* JSON pointer of the instance */
	char *msg;
	struct verr **causes;
	size_t n;
};

struct frame {
	const cJSON *sch;
	const cJSON *val;
	const struct frame *up;
};

struct sv {
	const cJSON *root;
	int draft;
	int unsupported; /* set with msg when the schema uses what we do not implement */
	char unsupported_msg[200];
	unsigned depth;
};

static void verr_free(struct verr *e)
{
	size_t i;

	if (!e)
		return;
	for (i = 0; i < e->n; i++)
		verr_free(e->causes[i]);
	free(e->causes);
	free(e->loc);
	free(e->msg);
	free(e);
}

static struct verr *verr_new(enum vkind k, const char *loc, char *msg)
{
	struct verr *e = xnew0(struct verr, 1);

	e->k = k;
	e->loc = xstrdup(loc);
	e->msg = msg;
	return e;
}

struct verrs {
	struct verr **v;
	size_t n, alloc;
};

static void errs_add(struct verrs *l, struct verr *e)
{
	if (!e)
		return;
	XGROW(l->v, l->n + 1, l->alloc);
	l->v[l->n++] = e;
}

static void errs_free(struct verrs *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		verr_free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* v6's quote(): Go's %q with '"' unescaped and '\'' escaped, in single quotes. */
static void quote(struct buf *b, const char *s)
{
	buf_addch(b, '\'');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\\')
			buf_adds(b, "\\\\");
		else if (c == '\'')
			buf_adds(b, "\\'");
		else if (c == '\n')
			buf_adds(b, "\\n");
		else if (c == '\t')
			buf_adds(b, "\\t");
		else if (c == '\r')
			buf_adds(b, "\\r");
		else if (c < 0x20 || c == 0x7f)
			buf_addf(b, "\\x%02x", c);
		else
			buf_addch(b, (char)c);
	}
	buf_addch(b, '\'');
}

static char *quoted(const char *s)
{
	struct buf b = BUF_INIT(1 << 20);

	quote(&b, s);
	return buf_detach(&b, NULL);
}

static bool is_int64(const cJSON *v)
{
	return helm_values_is_int64(v, NULL);
}

static bool is_number(const cJSON *v)
{
	return cJSON_IsNumber(v) || is_int64(v);
}

static double num_of(const cJSON *v)
{
	int64_t i;

	if (helm_values_is_int64(v, &i))
		return (double)i;
	return v->valuedouble;
}

/* fmt's %v of a number (the schema's or the value's, as a float64). */
static void fmt_num(struct buf *b, double d)
{
	char t[64];

	yj_format_float(d, 64, false, t, sizeof(t));
	buf_adds(b, t);
}

/* v6's display(): strings quoted, numbers and booleans with %v. */
static void display(struct buf *b, const cJSON *v)
{
	if (cJSON_IsString(v))
		quote(b, v->valuestring);
	else if (cJSON_IsArray(v) || cJSON_IsObject(v))
		buf_adds(b, "value");
	else if (cJSON_IsNull(v))
		buf_adds(b, "<nil>");
	else if (cJSON_IsBool(v))
		buf_adds(b, cJSON_IsTrue(v) ? "true" : "false");
	else if (is_int64(v))
		buf_adds(b, v->valuestring);
	else
		fmt_num(b, v->valuedouble);
}

static const char *type_of(const cJSON *v)
{
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsBool(v))
		return "boolean";
	if (is_number(v))
		return "number";
	if (cJSON_IsString(v))
		return "string";
	if (cJSON_IsArray(v))
		return "array";
	return "object";
}

static bool is_integer(const cJSON *v)
{
	double d;

	if (is_int64(v))
		return true;
	d = v->valuedouble;
	return isfinite(d) && d == floor(d);
}

/* v6's equals(): numbers by value, the rest structurally. */
static bool json_equal(const cJSON *a, const cJSON *b)
{
	const cJSON *x, *y;

	if (is_number(a) && is_number(b))
		return num_of(a) == num_of(b);
	if (cJSON_IsNull(a) || cJSON_IsNull(b))
		return cJSON_IsNull(a) && cJSON_IsNull(b);
	if (cJSON_IsBool(a) || cJSON_IsBool(b))
		return cJSON_IsBool(a) && cJSON_IsBool(b) && cJSON_IsTrue(a) == cJSON_IsTrue(b);
	if (cJSON_IsString(a) || cJSON_IsString(b))
		return cJSON_IsString(a) && cJSON_IsString(b) &&
		       streq(a->valuestring, b->valuestring);
	if (cJSON_IsArray(a) && cJSON_IsArray(b)) {
		if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
			return false;
		for (x = a->child, y = b->child; x && y; x = x->next, y = y->next)
			if (!json_equal(x, y))
				return false;
		return true;
	}
	if (cJSON_IsObject(a) && cJSON_IsObject(b)) {
		if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
			return false;
		cJSON_ArrayForEach(x, a) {
			y = cJSON_GetObjectItemCaseSensitive(b, x->string);
			if (!y || !json_equal(x, y))
				return false;
		}
		return true;
	}
	return false;
}

static char *child_loc(const char *loc, const char *tok)
{
	struct buf b = BUF_INIT(1 << 20);
	const char *p;

	buf_adds(&b, loc);
	buf_addch(&b, '/');
	for (p = tok; *p; p++) {
		if (*p == '~')
			buf_adds(&b, "~0");
		else if (*p == '/')
			buf_adds(&b, "~1");
		else
			buf_addch(&b, *p);
	}
	return buf_detach(&b, NULL);
}

static const cJSON *kw(const cJSON *s, const char *name)
{
	return cJSON_IsObject(s) ? cJSON_GetObjectItemCaseSensitive(s, name) : NULL;
}

/* ---- $ref ---- */

static void unsupported(struct sv *v, const char *fmt, const char *what)
{
	if (v->unsupported)
		return;
	v->unsupported = -ENOTSUP;
	snprintf(v->unsupported_msg, sizeof(v->unsupported_msg), fmt, what);
}

/* A JSON pointer fragment ("/a/b", percent- and ~-escaped) inside `root`. */
static const cJSON *resolve_pointer(const cJSON *root, const char *ptr)
{
	struct buf tok = BUF_INIT(1 << 16);
	const cJSON *cur = root;
	const char *p = ptr;

	while (cur && *p == '/') {
		p++;
		buf_reset(&tok);
		while (*p && *p != '/') {
			if (*p == '~' && p[1] == '0') {
				buf_addch(&tok, '~');
				p += 2;
			} else if (*p == '~' && p[1] == '1') {
				buf_addch(&tok, '/');
				p += 2;
			} else if (*p == '%' && p[1] && p[2]) {
				char h[3] = { p[1], p[2], 0 };

				buf_addch(&tok, (char)strtol(h, NULL, 16));
				p += 3;
			} else {
				buf_addch(&tok, *p++);
			}
		}
		if (cJSON_IsArray(cur)) {
			int64_t i;

			cur = parse_int64(tok.buf, &i) == 0 && i >= 0 && i < INT32_MAX ?
				      cJSON_GetArrayItem(cur, (int)i) :
				      NULL;
		} else {
			cur = kw(cur, tok.buf);
		}
	}
	buf_release(&tok);
	return *p ? NULL : cur;
}

/* The subschema whose $id / $anchor (or draft-4 id) is `want`, anywhere in `s`. */
static const cJSON *find_id(const cJSON *s, const char *key, const char *want, unsigned depth)
{
	const cJSON *c, *id, *hit;

	if (depth > 256 || (!cJSON_IsObject(s) && !cJSON_IsArray(s)))
		return NULL;
	id = kw(s, key);
	if (cJSON_IsString(id) && streq(id->valuestring, want))
		return s;
	for (c = s->child; c; c = c->next) {
		if (c->string && (streq(c->string, "enum") || streq(c->string, "const")))
			continue;
		hit = find_id(c, key, want, depth + 1);
		if (hit)
			return hit;
	}
	return NULL;
}

static const cJSON *resolve_ref(struct sv *v, const char *ref)
{
	const char *hash = strchr(ref, '#');
	const cJSON *base = v->root, *t;

	if (hash != ref) {
		/* Another resource: only an $id of this document can name it. */
		_cleanup_free_ char *doc = xstrndup(ref, hash ? (size_t)(hash - ref) : strlen(ref));

		base = find_id(v->root, v->draft == 4 ? "id" : "$id", doc, 0);
		if (!base) {
			unsupported(v, "values.schema.json: $ref \"%s\" to another document is not "
				    "supported", ref);
			return NULL;
		}
		if (!hash)
			return base;
	}
	if (!hash[1])
		return base;
	if (hash[1] == '/')
		return resolve_pointer(base, hash + 1);
	/* "#name": $anchor (2019+), or an $id of "#name" (draft 6/7), id (4). */
	t = find_id(base, v->draft >= 2019 ? "$anchor" : v->draft == 4 ? "id" : "$id",
		    v->draft >= 2019 ? hash + 1 : hash, 0);
	return t;
}

/* ---- validation ---- */

static struct verr *validate(struct sv *v, const cJSON *s, const cJSON *val, const char *loc,
			     const struct frame *up, bool same_value);

/* A child value: properties, items. */
static struct verr *validate_val(struct sv *v, const cJSON *s, const cJSON *val, const char *loc,
				 const char *tok, const struct frame *up)
{
	_cleanup_free_ char *cl = child_loc(loc, tok);

	return validate(v, s, val, cl, up, false);
}

static void plain(struct verrs *l, const char *loc, char *msg)
{
	errs_add(l, verr_new(K_PLAIN, loc, msg));
}

static void nested(struct verrs *l, const char *loc, const char *msg, struct verrs *causes)
{
	struct verr *e = verr_new(K_PLAIN, loc, xstrdup(msg));

	e->causes = causes->v;
	e->n = causes->n;
	memset(causes, 0, sizeof(*causes));
	errs_add(l, e);
}

static struct verr *ref_error(const char *loc, struct verr *inner)
{
	struct verr *e = verr_new(K_REF, loc, xstrdup("validation failed"));

	if (inner->k == K_GROUP) {
		e->causes = inner->causes;
		e->n = inner->n;
		inner->causes = NULL;
		inner->n = 0;
		verr_free(inner);
	} else {
		e->causes = xnew0(struct verr *, 1);
		e->causes[0] = inner;
		e->n = 1;
	}
	return e;
}

static const char *const type_names[] = { "null", "boolean", "number", "integer",
					  "string", "array", "object" };

static void check_type(struct verrs *l, const cJSON *t, const cJSON *val, const char *loc)
{
	const char *got = type_of(val);
	bool want[ARRAY_SIZE(type_names)] = { false }, match = false, any = false;
	struct buf b = BUF_INIT(1 << 12);
	const cJSON *c;
	size_t i;

	if (cJSON_IsString(t)) {
		for (i = 0; i < ARRAY_SIZE(type_names); i++)
			if (streq(t->valuestring, type_names[i]))
				want[i] = any = true;
	} else if (cJSON_IsArray(t)) {
		cJSON_ArrayForEach(c, t)
			for (i = 0; cJSON_IsString(c) && i < ARRAY_SIZE(type_names); i++)
				if (streq(c->valuestring, type_names[i]))
					want[i] = any = true;
	}
	if (!any)
		return;
	for (i = 0; i < ARRAY_SIZE(type_names); i++)
		if (want[i] && (streq(got, type_names[i]) ||
				(i == 3 && streq(got, "number") && is_integer(val))))
			match = true;
	if (match)
		return;
	buf_addf(&b, "got %s, want ", got);
	for (i = 0, any = false; i < ARRAY_SIZE(type_names); i++) {
		if (!want[i])
			continue;
		buf_addf(&b, "%s%s", any ? " or " : "", type_names[i]);
		any = true;
	}
	plain(l, loc, buf_detach(&b, NULL));
}

static bool regex_ok(struct sv *v, const char *pat, const char *s)
{
	struct regex *re = NULL;
	char *e = NULL;
	bool ok;

	if (regex_compile(pat, strlen(pat), &re, &e) < 0) {
		free(e);
		unsupported(v, "values.schema.json: pattern \"%s\" does not compile", pat);
		return true;
	}
	ok = regex_match(re, s, strlen(s));
	regex_free(re);
	return ok;
}

static size_t utf8_count(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static int cmp_members(const void *a, const void *b)
{
	return strcmp((*(cJSON *const *)a)->string, (*(cJSON *const *)b)->string);
}

static void missing_list(struct buf *b, const cJSON *obj, const cJSON *req, size_t *n)
{
	const cJSON *r;

	*n = 0;
	cJSON_ArrayForEach(r, req) {
		if (!cJSON_IsString(r) || cJSON_GetObjectItemCaseSensitive(obj, r->valuestring))
			continue;
		if (*n)
			buf_adds(b, ", ");
		quote(b, r->valuestring);
		(*n)++;
	}
}

static void obj_validate(struct sv *v, const cJSON *s, const cJSON *obj, const char *loc,
			 const struct frame *up, struct verrs *errs)
{
	const cJSON *t, *c;
	cJSON **members;
	size_t n = (size_t)cJSON_GetArraySize(obj), i, k = 0, nmiss;
	struct buf add = BUF_INIT(1 << 20);
	size_t nadd = 0;

	if (cJSON_IsNumber(t = kw(s, "minProperties")) && (double)n < t->valuedouble)
		plain(errs, loc, xasprintf("minProperties: got %zu, want %d", n, t->valueint));
	if (cJSON_IsNumber(t = kw(s, "maxProperties")) && (double)n > t->valuedouble)
		plain(errs, loc, xasprintf("maxProperties: got %zu, want %d", n, t->valueint));
	if (cJSON_IsArray(t = kw(s, "required"))) {
		struct buf b = BUF_INIT(1 << 20);

		missing_list(&b, obj, t, &nmiss);
		if (nmiss)
			plain(errs, loc, xasprintf("missing propert%s %s", nmiss == 1 ? "y" : "ies",
						   b.buf));
		buf_release(&b);
	}
	if (v->draft < 2019 && cJSON_IsObject(t = kw(s, "dependencies"))) {
		cJSON_ArrayForEach(c, t) {
			if (!cJSON_GetObjectItemCaseSensitive(obj, c->string))
				continue;
			if (cJSON_IsArray(c)) {
				struct buf b = BUF_INIT(1 << 20);

				missing_list(&b, obj, c, &nmiss);
				if (nmiss) {
					_cleanup_free_ char *q = quoted(c->string);

					plain(errs, loc, xasprintf("properties %s required, if %s exists",
								   b.buf, q));
				}
				buf_release(&b);
			} else {
				errs_add(errs, validate(v, c, obj, loc, up, true));
			}
		}
	}
	members = xnew0(cJSON *, n + 1);
	cJSON_ArrayForEach(c, obj)
		members[k++] = (cJSON *)c;
	qsort(members, n, sizeof(*members), cmp_members);
	for (i = 0; i < n; i++) {
		const cJSON *pv = members[i], *ps, *pp, *ap;
		const char *pname = pv->string;
		bool evaluated = false;

		ps = kw(kw(s, "properties"), pname);
		if (ps) {
			evaluated = true;
			errs_add(errs, validate_val(v, ps, pv, loc, pname, up));
		}
		cJSON_ArrayForEach(pp, kw(s, "patternProperties")) {
			if (regex_ok(v, pp->string, pname)) {
				evaluated = true;
				errs_add(errs, validate_val(v, pp, pv, loc, pname, up));
			}
		}
		ap = kw(s, "additionalProperties");
		if (!evaluated && ap) {
			if (cJSON_IsFalse(ap)) {
				if (nadd)
					buf_adds(&add, ", ");
				quote(&add, pname);
				nadd++;
			} else if (cJSON_IsObject(ap)) {
				errs_add(errs, validate_val(v, ap, pv, loc, pname, up));
			}
		}
	}
	if (nadd)
		plain(errs, loc, xasprintf("additional properties %s not allowed", add.buf));
	buf_release(&add);
	if (v->draft > 4 && (t = kw(s, "propertyNames")) != NULL) {
		for (i = 0; i < n; i++) {
			cJSON *name = cJSON_CreateString(members[i]->string);
			struct verr *e = validate(v, t, name, loc, up, false);

			cJSON_Delete(name);
			if (e) {
				_cleanup_free_ char *q = quoted(members[i]->string);

				verr_free(e);
				plain(errs, loc, xasprintf("invalid propertyName %s", q));
			}
		}
	}
	free(members);
	if (v->draft >= 2019) {
		cJSON_ArrayForEach(c, kw(s, "dependentSchemas"))
			if (cJSON_GetObjectItemCaseSensitive(obj, c->string))
				errs_add(errs, validate(v, c, obj, loc, up, true));
		cJSON_ArrayForEach(c, kw(s, "dependentRequired")) {
			struct buf b = BUF_INIT(1 << 20);

			if (!cJSON_GetObjectItemCaseSensitive(obj, c->string))
				continue;
			missing_list(&b, obj, c, &nmiss);
			if (nmiss) {
				_cleanup_free_ char *q = quoted(c->string);

				plain(errs, loc, xasprintf("properties %s required, if %s exists", b.buf,
							   q));
			}
			buf_release(&b);
		}
	}
}

static void arr_validate(struct sv *v, const cJSON *s, const cJSON *arr, const char *loc,
			 const struct frame *up, struct verrs *errs)
{
	const cJSON *t, *items = kw(s, "items"), *c;
	int n = cJSON_GetArraySize(arr), i, evaluated = 0;
	char tok[24];

	if (cJSON_IsNumber(t = kw(s, "minItems")) && n < t->valuedouble)
		plain(errs, loc, xasprintf("minItems: got %d, want %d", n, t->valueint));
	if (cJSON_IsNumber(t = kw(s, "maxItems")) && n > t->valuedouble)
		plain(errs, loc, xasprintf("maxItems: got %d, want %d", n, t->valueint));
	if (cJSON_IsTrue(kw(s, "uniqueItems")) && n > 1) {
		int a, b;
		bool dup = false;

		for (a = 0; a < n && !dup; a++)
			for (b = a + 1; b < n && !dup; b++)
				if (json_equal(cJSON_GetArrayItem(arr, a), cJSON_GetArrayItem(arr, b))) {
					plain(errs, loc, xasprintf("items at %d and %d are equal", a, b));
					dup = true;
				}
	}
	if (v->draft < 2020) {
		if (cJSON_IsObject(items) || cJSON_IsBool(items)) {
			for (i = 0, c = arr->child; c; c = c->next, i++) {
				snprintf(tok, sizeof(tok), "%d", i);
				errs_add(errs, validate_val(v, items, c, loc, tok, up));
			}
			evaluated = n;
		} else if (cJSON_IsArray(items)) {
			int m = MIN(n, cJSON_GetArraySize(items));

			for (i = 0; i < m; i++) {
				snprintf(tok, sizeof(tok), "%d", i);
				errs_add(errs, validate_val(v, cJSON_GetArrayItem(items, i),
							    cJSON_GetArrayItem(arr, i), loc, tok, up));
			}
			evaluated = m;
		}
		t = kw(s, "additionalItems");
		if (cJSON_IsFalse(t) && cJSON_IsArray(items) && evaluated != n) {
			plain(errs, loc, xasprintf("last %d additionalItem(s) not allowed",
						   n - evaluated));
		} else if (cJSON_IsObject(t) && cJSON_IsArray(items)) {
			for (i = evaluated; i < n; i++) {
				snprintf(tok, sizeof(tok), "%d", i - evaluated);
				errs_add(errs, validate_val(v, t, cJSON_GetArrayItem(arr, i), loc, tok,
							    up));
			}
		}
	} else {
		const cJSON *prefix = kw(s, "prefixItems");

		evaluated = MIN(n, cJSON_GetArraySize(prefix));
		for (i = 0; i < evaluated; i++) {
			snprintf(tok, sizeof(tok), "%d", i);
			errs_add(errs, validate_val(v, cJSON_GetArrayItem(prefix, i),
						    cJSON_GetArrayItem(arr, i), loc, tok, up));
		}
		if (items && !cJSON_IsArray(items)) {
			for (i = evaluated; i < n; i++) {
				snprintf(tok, sizeof(tok), "%d", i - evaluated);
				errs_add(errs, validate_val(v, items, cJSON_GetArrayItem(arr, i), loc,
							    tok, up));
			}
		}
	}
	if (v->draft > 4 && (t = kw(s, "contains")) != NULL) {
		struct verrs cerrs = { 0 };
		int matched = 0;
		const cJSON *mn = v->draft >= 2019 ? kw(s, "minContains") : NULL;
		const cJSON *mx = v->draft >= 2019 ? kw(s, "maxContains") : NULL;

		for (i = 0, c = arr->child; c; c = c->next, i++) {
			struct verr *e;

			snprintf(tok, sizeof(tok), "%d", i);
			e = validate_val(v, t, c, loc, tok, up);
			if (e)
				errs_add(&cerrs, e);
			else
				matched++;
		}
		if (cJSON_IsNumber(mn)) {
			if (matched < mn->valuedouble) {
				char *m = matched ? xasprintf("min %d items required to match "
							      "contains schema, but matched %d items",
							      mn->valueint, matched) :
						    xasprintf("min %d items required to match "
							      "contains schema, but none matched",
							      mn->valueint);

				nested(errs, loc, m, &cerrs);
				free(m);
			}
		} else if (matched == 0) {
			nested(errs, loc, "no items match contains schema", &cerrs);
		}
		if (cJSON_IsNumber(mx) && matched > mx->valuedouble)
			plain(errs, loc, xasprintf("max %d items required to match contains schema, "
						   "but matched %d items", mx->valueint, matched));
		errs_free(&cerrs);
	}
}

static void str_validate(struct sv *v, const cJSON *s, const cJSON *str, const char *loc,
			 struct verrs *errs)
{
	const cJSON *t;
	size_t len = utf8_count(str->valuestring);

	if (cJSON_IsNumber(t = kw(s, "minLength")) && (double)len < t->valuedouble)
		plain(errs, loc, xasprintf("minLength: got %zu, want %d", len, t->valueint));
	if (cJSON_IsNumber(t = kw(s, "maxLength")) && (double)len > t->valuedouble)
		plain(errs, loc, xasprintf("maxLength: got %zu, want %d", len, t->valueint));
	if (cJSON_IsString(t = kw(s, "pattern")) && !regex_ok(v, t->valuestring, str->valuestring)) {
		_cleanup_free_ char *a = quoted(str->valuestring), *b = quoted(t->valuestring);

		plain(errs, loc, xasprintf("%s does not match pattern %s", a, b));
	}
}

static void num_msg(struct verrs *errs, const char *loc, const char *what, double got, double want)
{
	struct buf b = BUF_INIT(256);

	buf_addf(&b, "%s: got ", what);
	fmt_num(&b, got);
	buf_adds(&b, ", want ");
	fmt_num(&b, want);
	plain(errs, loc, buf_detach(&b, NULL));
}

static void num_validate(struct sv *v, const cJSON *s, const cJSON *val, const char *loc,
			 struct verrs *errs)
{
	const cJSON *mn = kw(s, "minimum"), *mx = kw(s, "maximum");
	const cJSON *emn = kw(s, "exclusiveMinimum"), *emx = kw(s, "exclusiveMaximum");
	const cJSON *mo = kw(s, "multipleOf");
	double x = num_of(val);

	if (v->draft == 4) {
		/* Draft 4: exclusiveMinimum/Maximum are booleans modifying minimum/maximum. */
		if (cJSON_IsNumber(mn)) {
			if (cJSON_IsTrue(emn) ? x <= mn->valuedouble : x < mn->valuedouble)
				num_msg(errs, loc, cJSON_IsTrue(emn) ? "exclusiveMinimum" : "minimum", x,
					mn->valuedouble);
		}
		if (cJSON_IsNumber(mx)) {
			if (cJSON_IsTrue(emx) ? x >= mx->valuedouble : x > mx->valuedouble)
				num_msg(errs, loc, cJSON_IsTrue(emx) ? "exclusiveMaximum" : "maximum", x,
					mx->valuedouble);
		}
	} else {
		if (cJSON_IsNumber(mn) && x < mn->valuedouble)
			num_msg(errs, loc, "minimum", x, mn->valuedouble);
		if (cJSON_IsNumber(mx) && x > mx->valuedouble)
			num_msg(errs, loc, "maximum", x, mx->valuedouble);
		if (cJSON_IsNumber(emn) && x <= emn->valuedouble)
			num_msg(errs, loc, "exclusiveMinimum", x, emn->valuedouble);
		if (cJSON_IsNumber(emx) && x >= emx->valuedouble)
			num_msg(errs, loc, "exclusiveMaximum", x, emx->valuedouble);
	}
	if (cJSON_IsNumber(mo) && mo->valuedouble != 0) {
		double q = x / mo->valuedouble;

		if (q != floor(q) || !isfinite(q))
			num_msg(errs, loc, "multipleOf", x, mo->valuedouble);
	}
}

static void cond_validate(struct sv *v, const cJSON *s, const cJSON *val, const char *loc,
			  const struct frame *up, struct verrs *errs)
{
	const cJSON *t, *c;
	struct verr *e;

	if ((t = kw(s, "not")) != NULL) {
		e = validate(v, t, val, loc, up, true);
		if (!e)
			plain(errs, loc, xstrdup("not failed"));
		verr_free(e);
	}
	if (cJSON_IsArray(t = kw(s, "allOf")) && t->child) {
		struct verrs sub = { 0 };

		cJSON_ArrayForEach(c, t)
			errs_add(&sub, validate(v, c, val, loc, up, true));
		if (sub.n)
			nested(errs, loc, "allOf failed", &sub);
		errs_free(&sub);
	}
	if (cJSON_IsArray(t = kw(s, "anyOf")) && t->child) {
		struct verrs sub = { 0 };
		bool matched = false;

		cJSON_ArrayForEach(c, t) {
			e = validate(v, c, val, loc, up, true);
			if (!e) {
				matched = true;
				break;
			}
			errs_add(&sub, e);
		}
		if (!matched)
			nested(errs, loc, "anyOf failed", &sub);
		errs_free(&sub);
	}
	if (cJSON_IsArray(t = kw(s, "oneOf")) && t->child) {
		struct verrs sub = { 0 };
		int matched = -1, i = 0;

		cJSON_ArrayForEach(c, t) {
			e = validate(v, c, val, loc, up, true);
			if (e) {
				if (matched == -1)
					errs_add(&sub, e);
				else
					verr_free(e);
			} else if (matched == -1) {
				matched = i;
			} else {
				plain(errs, loc, xasprintf("oneOf failed, subschemas %d, %d matched",
							   matched, i));
				break;
			}
			i++;
		}
		if (matched == -1)
			nested(errs, loc, "oneOf failed, none matched", &sub);
		errs_free(&sub);
	}
	if (v->draft >= 7 && (t = kw(s, "if")) != NULL) {
		e = validate(v, t, val, loc, up, true);
		if (!e) {
			if ((c = kw(s, "then")) != NULL)
				errs_add(errs, validate(v, c, val, loc, up, true));
		} else if ((c = kw(s, "else")) != NULL) {
			errs_add(errs, validate(v, c, val, loc, up, true));
		}
		verr_free(e);
	}
}

static struct verr *validate(struct sv *v, const cJSON *s, const cJSON *val, const char *loc,
			     const struct frame *up, bool same_value)
{
	struct verrs errs = { 0 };
	struct frame me = { s, val, up };
	const struct frame *f;
	const cJSON *t;
	struct verr *ret = NULL;

	if (cJSON_IsTrue(s) || !s)
		return NULL;
	if (cJSON_IsFalse(s))
		return verr_new(K_PLAIN, loc, xstrdup("false schema"));
	if (!cJSON_IsObject(s))
		return NULL;
	if (v->depth >= MAX_DEPTH) {
		unsupported(v, "values.schema.json: %s nested too deeply", "evaluation");
		return NULL;
	}
	/* The same schema again for the same value through $refs: v6's reference cycle. */
	for (f = up; same_value && f; f = f->up) {
		if (f->val != val)
			break;
		if (f->sch == s)
			return verr_new(K_PLAIN, loc, xstrdup("reference cycle"));
	}
	v->depth++;
	/* Before 2019-09, a $ref makes every other keyword of its object inert. */
	if (v->draft < 2019 && cJSON_IsString(kw(s, "$ref")))
		goto ref;
	if (kw(s, "$dynamicRef") || kw(s, "$recursiveRef"))
		unsupported(v, "values.schema.json: %s is not supported",
			    kw(s, "$dynamicRef") ? "$dynamicRef" : "$recursiveRef");
	if (kw(s, "unevaluatedProperties") || kw(s, "unevaluatedItems"))
		unsupported(v, "values.schema.json: %s is not supported",
			    kw(s, "unevaluatedProperties") ? "unevaluatedProperties" :
							     "unevaluatedItems");

	if ((t = kw(s, "type")) != NULL) {
		check_type(&errs, t, val, loc);
		if (errs.n)
			goto out;
	}
	if ((t = kw(s, "const")) != NULL && v->draft > 4 && !json_equal(val, t)) {
		struct buf b = BUF_INIT(1 << 20);

		if (cJSON_IsArray(t) || cJSON_IsObject(t)) {
			buf_adds(&b, "const failed");
		} else {
			buf_adds(&b, "value must be ");
			display(&b, t);
		}
		plain(&errs, loc, buf_detach(&b, NULL));
		goto out;
	}
	if (cJSON_IsArray(t = kw(s, "enum"))) {
		const cJSON *c;
		bool matched = false, primitive = true;

		cJSON_ArrayForEach(c, t) {
			if (json_equal(val, c))
				matched = true;
			if (cJSON_IsArray(c) || cJSON_IsObject(c))
				primitive = false;
		}
		if (!matched) {
			struct buf b = BUF_INIT(1 << 20);

			if (!primitive) {
				buf_adds(&b, "enum failed");
			} else if (cJSON_GetArraySize(t) == 1) {
				buf_adds(&b, "value must be ");
				display(&b, t->child);
			} else {
				buf_adds(&b, "value must be one of ");
				cJSON_ArrayForEach(c, t) {
					if (c != t->child)
						buf_adds(&b, ", ");
					display(&b, c);
				}
			}
			plain(&errs, loc, buf_detach(&b, NULL));
			goto out;
		}
	}
ref:
	if (cJSON_IsString(t = kw(s, "$ref"))) {
		const cJSON *target = resolve_ref(v, t->valuestring);
		struct verr *e = NULL;

		if (!target) {
			unsupported(v, "values.schema.json: $ref \"%s\" not found", t->valuestring);
		} else {
			e = validate(v, target, val, loc, &me, true);
			if (e)
				e = ref_error(loc, e);
		}
		if (v->draft < 2019) {
			ret = e;
			goto done;
		}
		errs_add(&errs, e);
	}
	if (cJSON_IsObject(val))
		obj_validate(v, s, val, loc, &me, &errs);
	else if (cJSON_IsArray(val))
		arr_validate(v, s, val, loc, &me, &errs);
	else if (cJSON_IsString(val))
		str_validate(v, s, val, loc, &errs);
	else if (is_number(val))
		num_validate(v, s, val, loc, &errs);
	cond_validate(v, s, val, loc, &me, &errs);
out:
	if (errs.n == 1) {
		ret = errs.v[0];
		errs.n = 0;
	} else if (errs.n > 1) {
		ret = verr_new(K_GROUP, loc, xstrdup("validation failed"));
		ret->causes = errs.v;
		ret->n = errs.n;
		errs.v = NULL;
		errs.n = 0;
	}
done:
	errs_free(&errs);
	v->depth--;
	return ret;
}

/* v6's display(): causes of a lone-cause $ref are shown in its place. */
static void print_err(const struct verr *e, struct buf *b, int indent)
{
	size_t i;

	if (!(e->k == K_REF && e->n == 1)) {
		if (indent > 0) {
			int j;

			buf_addch(b, '\n');
			for (j = 0; j < indent - 1; j++)
				buf_adds(b, "  ");
			buf_adds(b, "- ");
		}
		indent++;
		buf_adds(b, "at ");
		quote(b, e->loc);
		buf_addf(b, ": %s", e->msg);
	}
	for (i = 0; i < e->n; i++)
		print_err(e->causes[i], b, indent);
}

static int draft_of(const cJSON *root)
{
	const cJSON *s = kw(root, "$schema");
	const char *u;

	if (!cJSON_IsString(s))
		return 2020;
	u = s->valuestring;
	if (str_startswith(u, "http://"))
		u += 7;
	else if (str_startswith(u, "https://"))
		u += 8;
	if (str_startswith(u, "json-schema.org/draft-04/"))
		return 4;
	if (str_startswith(u, "json-schema.org/draft-06/"))
		return 6;
	if (str_startswith(u, "json-schema.org/draft-07/"))
		return 7;
	if (str_startswith(u, "json-schema.org/draft/2019-09/"))
		return 2019;
	return 2020;
}

/* ValidateAgainstSingleSchema(): append the chart's part of the message. */
static int validate_one(const struct helm__node *n, const cJSON *values, struct buf *msg)
{
	const struct helm_file *f = &n->src->schema;
	struct sv v = { 0 };
	cJSON *root = cJSON_ParseWithLength(f->data, f->len);
	struct verr *e;
	size_t i;
	int r = 0;

	if (!root) {
		buf_addf(msg, "%s:\njsonschema: invalid JSON in values.schema.json", n->md.name);
		return -EINVAL;
	}
	v.root = root;
	v.draft = draft_of(root);
	e = validate(&v, root, values, "", NULL, false);
	if (v.unsupported) {
		buf_addf(msg, "%s:\n%s\n", n->md.name, v.unsupported_msg);
		r = v.unsupported;
	} else if (e) {
		struct buf t = BUF_INIT(16u << 20);

		/* Under v6's first line (which Helm cuts), each cause as "\n- at ...". */
		if (e->k == K_GROUP) {
			for (i = 0; i < e->n; i++)
				print_err(e->causes[i], &t, 1);
		} else {
			print_err(e, &t, 1);
		}
		buf_addf(msg, "%s:\n%s\n", n->md.name, t.len ? t.buf + 1 : "");
		buf_release(&t);
		r = -EINVAL;
	}
	verr_free(e);
	cJSON_Delete(root);
	return r;
}

/* ValidateAgainstSchema(): the chart, then each dependency on its own table. */
static int validate_tree(const struct helm__node *n, const cJSON *values, struct buf *msg)
{
	size_t i;
	int r = 0, e;

	if (n->src->schema.data)
		r = validate_one(n, values, msg);
	for (i = 0; i < n->ndeps; i++) {
		const struct helm__node *sub = n->deps[i];
		const cJSON *sv = cJSON_GetObjectItemCaseSensitive(values, sub->md.name);

		if (!sv || cJSON_IsNull(sv))
			continue;
		if (!cJSON_IsObject(sv)) {
			buf_addf(msg, "%s:\ninvalid type for values: expected object (map), got %s\n",
				 sub->md.name,
				 cJSON_IsArray(sv)    ? "[]interface {}" :
				 cJSON_IsString(sv) ? "string" :
				 cJSON_IsBool(sv)   ? "bool" :
				 is_int64(sv)       ? "int64" :
						      "float64");
			r = -EINVAL;
			continue;
		}
		e = validate_tree(sub, sv, msg);
		if (e < 0)
			r = e;
	}
	return r;
}

int helm__validate_schemas(const struct helm__node *root, const cJSON *values,
			   struct helm_error *full, struct op_err *err)
{
	struct buf msg = BUF_INIT(16u << 20);
	int r = validate_tree(root, values, &msg);
	char *text;

	if (r == 0) {
		buf_release(&msg);
		return 0;
	}
	text = xasprintf("values don't meet the specifications of the schema(s) in the following "
			 "chart(s):\n%s", msg.buf);
	buf_release(&msg);
	op_err_set(err, r == -ENOTSUP ? -ENOTSUP : -EINVAL, "%s", text);
	if (full) {
		free(full->msg);
		full->msg = text;
	} else {
		free(text);
	}
	return r == -ENOTSUP ? -ENOTSUP : -EINVAL;
}
