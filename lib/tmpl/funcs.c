/*
 * funcs.c: the function registry and Go's builtin functions (funcs.go).
 *
 * DESIGN
 * A registry is a hash map from name to struct tmpl__func, each allocated
 * on its own so parse trees can keep a pointer to it.  Registering a name
 * twice replaces the entry in place (a FuncMap entry overrides a builtin),
 * so pointers already taken stay valid; removal frees the entry, so it
 * must happen before anything is parsed with the registry (tmpl.h).
 *
 * Builtins are ordinary entries with a `builtin` tag.  and, or and call
 * are executed by exec.c itself (they short-circuit or need the argument
 * nodes); the others are C functions here whose parameters are Go's
 * reflect.Value ("r" in the spec: the value arrives exactly as evaluated,
 * "no value" and values taken out of an interface{} included), so they can
 * reproduce Go's errors, down to the ones Go reports through a recovered
 * panic ("reflect: call of reflect.Value.Type on zero Value").
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "tmpl/internal.h"
#include "tmpl/tmpl.h"
#include "base/banned.h"

/* ---------------------------------------------------------------- registry */

const char *tmpl__ptype_name(char t)
{
	switch (t) {
	case P_STRING:
		return "string";
	case P_INT:
		return "int";
	case P_INT64:
		return "int64";
	case P_FLOAT:
		return "float64";
	case P_BOOL:
		return "bool";
	case P_UINT64:
		return "uint64";
	case P_MAP:
		return "map[string]interface {}";
	case P_LIST:
		return "[]interface {}";
	case P_VALUE:
		return "reflect.Value";
	default:
		return "interface {}";
	}
}

int tmpl__parse_params(const char *params, struct tmpl__func *f)
{
	size_t n = strlen(params);

	f->nparams = 0;
	f->variadic = false;
	for (size_t i = 0; i < n; i++) {
		char c = params[i];

		if (c == '*') {
			if (i != n - 1 || i == 0)
				return -EINVAL;
			f->variadic = true;
			continue;
		}
		if (!strchr("vsiIfbumlr", c) || f->nparams >= TMPL_MAX_PARAMS)
			return -EINVAL;
		f->types[f->nparams++] = c;
	}
	return 0;
}

static bool good_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0)
		return false;
	for (size_t i = 0; i < n;) {
		uint32_t r;
		size_t w = utf8_decode(name + i, n - i, &r);

		if (r != '_' && !tmpl__is_letter(r) && (i == 0 || !tmpl__is_digit(r)))
			return false;
		i += w;
	}
	return true;
}

static int add(struct tmpl_funcs *f, const char *name, const char *params, tmpl_fn fn,
	       void *payload, enum builtin bi)
{
	struct tmpl__func nf = { .name = name, .fn = fn, .payload = payload, .builtin = bi };
	struct tmpl__func *old;

	if (!good_name(name) || tmpl__parse_params(params, &nf) < 0)
		return -EINVAL;
	old = hmap_get(&f->map, name);
	if (old) {
		*old = nf;
		return 0;
	}
	hmap_put(&f->map, name, xmemdup(&nf, sizeof(nf)));
	return 0;
}

int tmpl_funcs_add(struct tmpl_funcs *f, const char *name, const char *params, tmpl_fn fn,
		   void *payload)
{
	if (!fn)
		return -EINVAL;
	return add(f, name, params, fn, payload, BI_NONE);
}

int tmpl_funcs_remove(struct tmpl_funcs *f, const char *name)
{
	struct tmpl__func *old = hmap_remove(&f->map, name);

	if (!old)
		return -ENOENT;
	free(old);
	return 0;
}

bool tmpl_funcs_has(const struct tmpl_funcs *f, const char *name)
{
	return hmap_get(&f->map, name) != NULL;
}

struct tmpl_funcs *tmpl_funcs_free(struct tmpl_funcs *f)
{
	size_t it = 0;
	const char *k;
	void *v;

	if (!f)
		return NULL;
	while (hmap_next(&f->map, &it, &k, &v))
		free(v);
	hmap_release(&f->map);
	free(f);
	return NULL;
}

/* ---------------------------------------------------------------- helpers */

/* indirectInterface: a value taken out of an interface{} is the value. */
static struct tmpl_val indirect_iface(const struct tmpl_val *v)
{
	struct tmpl_val r = *v;

	if (r.kind == TMPL_NIL)
		return tmpl_invalid();
	r.boxed = 0;
	return r;
}

/* ---------------------------------------------------------------- not, len */

static int fn_not(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n, struct tmpl_val *ret,
		  void *payload)
{
	*ret = tmpl_bool(!tmpl_truth(&a[0]));
	return 0;
}

static int fn_len(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n, struct tmpl_val *ret,
		  void *payload)
{
	const struct tmpl_val *v = &a[0];

	switch (v->kind) {
	case TMPL_INVALID:
		return tmpl_ctx_errorf(ctx, "reflect: call of reflect.Value.Type on zero Value");
	case TMPL_NIL:
		return tmpl_ctx_errorf(ctx, "len of nil pointer");
	case TMPL_STRING:
	case TMPL_BYTES:
	case TMPL_LIST:
	case TMPL_MAP:
		*ret = tmpl_int((int64_t)tmpl_len(v));
		return 0;
	default:
		return tmpl_ctx_errorf(ctx, "len of type %s", tmpl_type_name(v));
	}
}

/* ---------------------------------------------------------------- index, slice */

/* indexArg: an int-like index within [0, cap]. */
static int index_arg(struct tmpl_ctx *ctx, const struct tmpl_val *index, size_t cap, size_t *ret)
{
	int64_t x;

	if (tmpl_is_int(index->kind)) {
		x = index->i;
	} else if (tmpl_is_uint(index->kind)) {
		x = (int64_t)index->u;
	} else if (index->kind == TMPL_INVALID || index->kind == TMPL_NIL) {
		return tmpl_ctx_errorf(ctx, "cannot index slice/array with nil");
	} else {
		return tmpl_ctx_errorf(ctx, "cannot index slice/array with type %s",
				       tmpl_type_name(index));
	}
	if (x < 0 || (uint64_t)x > cap)
		return tmpl_ctx_errorf(ctx, "index out of range: %lld", (long long)x);
	*ret = (size_t)x;
	return 0;
}

static int fn_index(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n,
		    struct tmpl_val *ret, void *payload)
{
	struct tmpl_val item = indirect_iface(&a[0]);
	size_t x;
	int r;

	if (item.kind == TMPL_INVALID)
		return tmpl_ctx_errorf(ctx, "index of untyped nil");
	/* The result keeps the element's static type: boxed if interface{}. */
	for (size_t i = 1; i < n; i++) {
		struct tmpl_val index = indirect_iface(&a[i]);

		if (item.kind == TMPL_NIL)
			return tmpl_ctx_errorf(ctx, "index of nil pointer");
		switch (item.kind) {
		case TMPL_STRING:
		case TMPL_BYTES:
			r = index_arg(ctx, &index, item.s.n, &x);
			if (r < 0)
				return r;
			if (x >= item.s.n)
				return tmpl_ctx_errorf(ctx, item.kind == TMPL_STRING ?
							    "reflect: string index out of range" :
							    "reflect: slice index out of range");
			item = (struct tmpl_val){ .kind = TMPL_UINT8, .u = (unsigned char)item.s.p[x] };
			break;
		case TMPL_LIST: {
			size_t len = item.l ? item.l->n : 0;

			r = index_arg(ctx, &index, len, &x);
			if (r < 0)
				return r;
			if (x >= len)
				return tmpl_ctx_errorf(ctx, "reflect: slice index out of range");
			{
				bool boxed = item.l->elem == TMPL_NIL;

				item = item.l->v[x];
				item.boxed = boxed;
			}
			break;
		}
		case TMPL_MAP: {
			const struct tmpl_val *e;
			enum tmpl_kind elem = item.m ? item.m->elem : TMPL_NIL;

			if (index.kind == TMPL_INVALID)
				return tmpl_ctx_errorf(ctx, "value is nil; should be of type string");
			if (index.kind != TMPL_STRING || index.type)
				return tmpl_ctx_errorf(ctx, "value has type %s; should be string",
						       tmpl_type_name(&index));
			e = tmpl_map_get(item.m, index.s.p, index.s.n);
			item = e ? *e : tmpl__zero(elem);
			item.boxed = elem == TMPL_NIL;
			break;
		}
		default:
			return tmpl_ctx_errorf(ctx, "can't index item of type %s", tmpl_type_name(&item));
		}
	}
	*ret = item;
	return 0;
}

static int fn_slice(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n,
		    struct tmpl_val *ret, void *payload)
{
	struct tmpl_val item = indirect_iface(&a[0]);
	size_t idx[3] = { 0, 0, 0 }, len, cap;
	size_t nidx = n - 1;
	int r;

	if (item.kind == TMPL_INVALID)
		return tmpl_ctx_errorf(ctx, "slice of untyped nil");
	if (nidx > 3)
		return tmpl_ctx_errorf(ctx, "too many slice indexes: %zu", nidx);
	switch (item.kind) {
	case TMPL_STRING:
		if (nidx == 3)
			return tmpl_ctx_errorf(ctx, "cannot 3-index slice a string");
		len = cap = item.s.n;
		break;
	case TMPL_BYTES:
		len = cap = item.s.n;
		break;
	case TMPL_LIST:
		len = item.l ? item.l->n : 0;
		cap = len;
		break;
	default:
		return tmpl_ctx_errorf(ctx, "can't slice item of type %s", tmpl_type_name(&item));
	}
	idx[1] = len;
	for (size_t i = 0; i < nidx; i++) {
		struct tmpl_val index = indirect_iface(&a[1 + i]);

		r = index_arg(ctx, &index, cap, &idx[i]);
		if (r < 0)
			return r;
	}
	if (idx[0] > idx[1])
		return tmpl_ctx_errorf(ctx, "invalid slice index: %zu > %zu", idx[0], idx[1]);
	if (nidx == 3 && idx[1] > idx[2])
		return tmpl_ctx_errorf(ctx, "invalid slice index: %zu > %zu", idx[1], idx[2]);
	if (item.kind == TMPL_LIST) {
		struct tmpl_list *l = tmpl_list_new(tmpl_ctx_arena(ctx), item.l ? item.l->elem : TMPL_NIL,
						    0, idx[1] - idx[0]);

		for (size_t i = idx[0]; i < idx[1]; i++)
			tmpl_list_push(tmpl_ctx_arena(ctx), l, item.l->v[i]);
		*ret = tmpl_named(tmpl_list_val(l), item.type);
		return 0;
	}
	/* A substring shares the bytes but must end in a NUL: copy. */
	*ret = item.kind == TMPL_STRING ?
		       tmpl_str(tmpl_ctx_arena(ctx), item.s.p + idx[0], idx[1] - idx[0]) :
		       tmpl_bytes(tmpl_ctx_arena(ctx), item.s.p + idx[0], idx[1] - idx[0]);
	ret->type = item.type;
	return 0;
}

/* ---------------------------------------------------------------- printing */

/* The buffers below are bounded by what is left of the arena's budget. */
static int str_result(struct tmpl_ctx *ctx, struct buf *b, int r, struct tmpl_val *ret)
{
	if (r < 0) {
		buf_release(b);
		if (r == -EFBIG)
			return tmpl_ctx_fail(ctx, -ENOMEM, "memory limit of %zu bytes exceeded",
					     tmpl_arena_max(tmpl_ctx_arena(ctx)));
		return tmpl_ctx_fail(ctx, -E2BIG, "value nests too deeply to print");
	}
	*ret = tmpl_str_buf(tmpl_ctx_arena(ctx), b);
	buf_release(b);
	return 0;
}

static size_t fmt_limit(struct tmpl_ctx *ctx)
{
	struct tmpl_arena *a = tmpl_ctx_arena(ctx);
	size_t used = tmpl_arena_used(a), max = tmpl_arena_max(a);

	return used < max ? max - used : 0;
}

static int fn_print(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n,
		    struct tmpl_val *ret, void *payload)
{
	struct buf b = BUF_INIT(fmt_limit(ctx));

	return str_result(ctx, &b, tmpl_sprint(&b, a, n), ret);
}

static int fn_println(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n,
		      struct tmpl_val *ret, void *payload)
{
	struct buf b = BUF_INIT(fmt_limit(ctx));

	return str_result(ctx, &b, tmpl_sprintln(&b, a, n), ret);
}

static int fn_printf(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n,
		     struct tmpl_val *ret, void *payload)
{
	struct buf b = BUF_INIT(fmt_limit(ctx));

	return str_result(ctx, &b, tmpl_sprintf(&b, a[0].s.p, a[0].s.n, a + 1, n - 1), ret);
}

/* evalArgs: Sprint of the arguments, "no value" as "<no value>". */
static int eval_args(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n, struct buf *out)
{
	struct tmpl_val *v;
	int r;

	if (n == 1 && a[0].kind == TMPL_STRING)
		return buf_add(out, a[0].s.p, a[0].s.n);
	v = xnew0(struct tmpl_val, n ? n : 1);
	for (size_t i = 0; i < n; i++) {
		v[i] = a[i];
		if (v[i].kind == TMPL_NIL || v[i].kind == TMPL_INVALID)
			v[i] = tmpl_str_ref("<no value>", 10);
	}
	r = tmpl_sprint(out, v, n);
	free(v);
	return r;
}

static int fn_html(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n, struct tmpl_val *ret,
		   void *payload)
{
	struct buf s = BUF_INIT(fmt_limit(ctx)), b = BUF_INIT(fmt_limit(ctx));
	int r = eval_args(ctx, a, n, &s);

	for (size_t i = 0; r == 0 && i < s.len; i++) {
		switch (s.buf[i]) {
		case '\0':
			r = buf_adds(&b, "\xEF\xBF\xBD");
			break;
		case '"':
			r = buf_adds(&b, "&#34;");
			break;
		case '\'':
			r = buf_adds(&b, "&#39;");
			break;
		case '&':
			r = buf_adds(&b, "&amp;");
			break;
		case '<':
			r = buf_adds(&b, "&lt;");
			break;
		case '>':
			r = buf_adds(&b, "&gt;");
			break;
		default:
			r = buf_addch(&b, s.buf[i]);
		}
	}
	buf_release(&s);
	return str_result(ctx, &b, r, ret);
}

static int fn_js(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n, struct tmpl_val *ret,
		 void *payload)
{
	struct buf s = BUF_INIT(fmt_limit(ctx)), b = BUF_INIT(fmt_limit(ctx));
	int r = eval_args(ctx, a, n, &s);

	for (size_t i = 0; r == 0 && i < s.len;) {
		unsigned char c = (unsigned char)s.buf[i];

		if (c >= 0x80) {
			uint32_t rn;
			size_t w = utf8_decode(s.buf + i, s.len - i, &rn);

			if (tmpl__is_print(rn))
				r = buf_add(&b, s.buf + i, w);
			else
				r = buf_addf(&b, "\\u%04X", rn);
			i += w;
			continue;
		}
		switch (c) {
		case '\\':
			r = buf_adds(&b, "\\\\");
			break;
		case '\'':
			r = buf_adds(&b, "\\'");
			break;
		case '"':
			r = buf_adds(&b, "\\\"");
			break;
		case '<':
			r = buf_adds(&b, "\\u003C");
			break;
		case '>':
			r = buf_adds(&b, "\\u003E");
			break;
		case '&':
			r = buf_adds(&b, "\\u0026");
			break;
		case '=':
			r = buf_adds(&b, "\\u003D");
			break;
		default:
			if (c < ' ')
				r = buf_addf(&b, "\\u00%c%c", "0123456789ABCDEF"[c >> 4],
					     "0123456789ABCDEF"[c & 0xF]);
			else
				r = buf_addch(&b, (char)c);
		}
		i++;
	}
	buf_release(&s);
	return str_result(ctx, &b, r, ret);
}

static int fn_urlquery(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n,
		       struct tmpl_val *ret, void *payload)
{
	struct buf s = BUF_INIT(fmt_limit(ctx)), b = BUF_INIT(fmt_limit(ctx));
	int r = eval_args(ctx, a, n, &s);

	/* url.QueryEscape: unreserved bytes kept, space as '+', rest %XX. */
	for (size_t i = 0; r == 0 && i < s.len; i++) {
		unsigned char c = (unsigned char)s.buf[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~')
			r = buf_addch(&b, (char)c);
		else if (c == ' ')
			r = buf_addch(&b, '+');
		else
			r = buf_addf(&b, "%%%c%c", "0123456789ABCDEF"[c >> 4],
				     "0123456789ABCDEF"[c & 0xF]);
	}
	buf_release(&s);
	return str_result(ctx, &b, r, ret);
}

/* ---------------------------------------------------------------- comparisons */

enum bkind { K_INVALID, K_BOOL, K_COMPLEX, K_INT, K_FLOAT, K_STRING, K_UINT };

static enum bkind basic_kind(const struct tmpl_val *v)
{
	switch (v->kind) {
	case TMPL_BOOL:
		return K_BOOL;
	case TMPL_INT:
	case TMPL_INT64:
	case TMPL_INT32:
		return K_INT;
	case TMPL_UINT:
	case TMPL_UINT8:
	case TMPL_UINT64:
		return K_UINT;
	case TMPL_FLOAT64:
		return K_FLOAT;
	case TMPL_COMPLEX128:
		return K_COMPLEX;
	case TMPL_STRING:
		return K_STRING;
	default:
		return K_INVALID;
	}
}

static bool is_nil(const struct tmpl_val *v)
{
	switch (v->kind) {
	case TMPL_INVALID:
	case TMPL_NIL:
		return true;
	case TMPL_MAP:
		return v->m == NULL;
	case TMPL_LIST:
		return v->l == NULL;
	case TMPL_OBJ:
		return v->o == NULL && v->type && v->type->kind && strcmp(v->type->kind, "ptr") == 0;
	default:
		return false;
	}
}

/* Go's reflect.Kind of a value, for canCompare. */
static int rkind(const struct tmpl_val *v)
{
	if (v->kind == TMPL_BYTES)
		return TMPL_LIST;
	return v->kind == TMPL_NIL ? TMPL_INVALID : (int)v->kind;
}

static int sprintf_val(struct buf *b, const char *fmt, const struct tmpl_val *v)
{
	return tmpl_sprintf(b, fmt, strlen(fmt), v, 1);
}

/* eq(arg1, arg2...): 1 true, 0 false, <0 error (message set). */
static int eq_values(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n)
{
	struct tmpl_val a1 = indirect_iface(&a[0]);
	enum bkind k1 = basic_kind(&a1);

	if (n < 2)
		return tmpl_ctx_errorf(ctx, "missing argument for comparison");
	for (size_t i = 1; i < n; i++) {
		struct tmpl_val arg = indirect_iface(&a[i]);
		enum bkind k2 = basic_kind(&arg);
		bool truth = false;

		if (k1 != k2) {
			if (k1 == K_INT && k2 == K_UINT) {
				truth = a1.i >= 0 && (uint64_t)a1.i == arg.u;
			} else if (k1 == K_UINT && k2 == K_INT) {
				truth = arg.i >= 0 && a1.u == (uint64_t)arg.i;
			} else if (a1.kind != TMPL_INVALID && arg.kind != TMPL_INVALID) {
				return tmpl_ctx_errorf(ctx, "incompatible types for comparison: %s and %s",
						       tmpl_type_name(&a1), tmpl_type_name(&arg));
			}
		} else {
			switch (k1) {
			case K_BOOL:
				truth = a1.b == arg.b;
				break;
			case K_FLOAT:
				truth = a1.f == arg.f;
				break;
			case K_COMPLEX:
				truth = a1.c.re == arg.c.re && a1.c.im == arg.c.im;
				break;
			case K_INT:
				truth = a1.i == arg.i;
				break;
			case K_UINT:
				truth = a1.u == arg.u;
				break;
			case K_STRING:
				truth = a1.s.n == arg.s.n && memcmp(a1.s.p, arg.s.p, a1.s.n) == 0;
				break;
			default:
				if (rkind(&a1) != rkind(&arg) && a1.kind != TMPL_INVALID &&
				    arg.kind != TMPL_INVALID) {
					struct buf m = BUF_INIT(1 << 16);
					int r;

					(void)buf_adds(&m, "non-comparable types ");
					(void)sprintf_val(&m, "%s", &a1);
					(void)buf_addf(&m, ": %s, %s: ", tmpl_type_name(&a1),
						       tmpl_type_name(&arg));
					(void)sprintf_val(&m, "%v", &arg);
					r = tmpl_ctx_errorf(ctx, "%s", m.buf);
					buf_release(&m);
					return r;
				}
				if (is_nil(&a1) || is_nil(&arg)) {
					truth = is_nil(&arg) == is_nil(&a1);
				} else if (arg.kind == TMPL_LIST || arg.kind == TMPL_MAP ||
					   arg.kind == TMPL_BYTES) {
					struct buf m = BUF_INIT(1 << 16);
					int r;

					(void)buf_adds(&m, "non-comparable type ");
					(void)sprintf_val(&m, "%s", &arg);
					(void)buf_addf(&m, ": %s", tmpl_type_name(&arg));
					r = tmpl_ctx_errorf(ctx, "%s", m.buf);
					buf_release(&m);
					return r;
				} else {
					truth = a1.type == arg.type && a1.o == arg.o;
				}
			}
		}
		if (truth)
			return 1;
	}
	return 0;
}

static int fn_eq(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n, struct tmpl_val *ret,
		 void *payload)
{
	int r = eq_values(ctx, a, n);

	if (r < 0)
		return r;
	*ret = tmpl_bool(r == 1);
	return 0;
}

static int fn_ne(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n, struct tmpl_val *ret,
		 void *payload)
{
	int r = eq_values(ctx, a, n);

	if (r < 0)
		return r;
	*ret = tmpl_bool(r == 0);
	return 0;
}

/* lt(a, b): 1 true, 0 false, <0 error. */
static int lt_values(struct tmpl_ctx *ctx, const struct tmpl_val *x, const struct tmpl_val *y)
{
	struct tmpl_val a1 = indirect_iface(x), a2 = indirect_iface(y);
	enum bkind k1 = basic_kind(&a1), k2;

	if (k1 == K_INVALID)
		return tmpl_ctx_errorf(ctx, "invalid type for comparison");
	k2 = basic_kind(&a2);
	if (k2 == K_INVALID)
		return tmpl_ctx_errorf(ctx, "invalid type for comparison");
	if (k1 != k2) {
		if (k1 == K_INT && k2 == K_UINT)
			return a1.i < 0 || (uint64_t)a1.i < a2.u;
		if (k1 == K_UINT && k2 == K_INT)
			return a2.i >= 0 && a1.u < (uint64_t)a2.i;
		return tmpl_ctx_errorf(ctx, "incompatible types for comparison: %s and %s",
				       tmpl_type_name(&a1), tmpl_type_name(&a2));
	}
	switch (k1) {
	case K_BOOL:
	case K_COMPLEX:
		return tmpl_ctx_errorf(ctx, "invalid type for comparison");
	case K_FLOAT:
		return a1.f < a2.f;
	case K_INT:
		return a1.i < a2.i;
	case K_UINT:
		return a1.u < a2.u;
	default: {
		int c = memcmp(a1.s.p, a2.s.p, MIN(a1.s.n, a2.s.n));

		return c < 0 || (c == 0 && a1.s.n < a2.s.n);
	}
	}
}

static int fn_lt(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n, struct tmpl_val *ret,
		 void *payload)
{
	int r = lt_values(ctx, &a[0], &a[1]);

	if (r < 0)
		return r;
	*ret = tmpl_bool(r);
	return 0;
}

static int fn_le(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n, struct tmpl_val *ret,
		 void *payload)
{
	int r = lt_values(ctx, &a[0], &a[1]);

	if (r == 0)
		r = eq_values(ctx, a, 2);
	if (r < 0)
		return r;
	*ret = tmpl_bool(r);
	return 0;
}

static int fn_gt(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n, struct tmpl_val *ret,
		 void *payload)
{
	int r = lt_values(ctx, &a[0], &a[1]);

	if (r == 0)
		r = eq_values(ctx, a, 2);
	if (r < 0)
		return r;
	*ret = tmpl_bool(!r);
	return 0;
}

static int fn_ge(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n, struct tmpl_val *ret,
		 void *payload)
{
	int r = lt_values(ctx, &a[0], &a[1]);

	if (r < 0)
		return r;
	*ret = tmpl_bool(!r);
	return 0;
}

/* ---------------------------------------------------------------- the builtins */

struct tmpl_funcs *tmpl_funcs_new(void)
{
	struct tmpl_funcs *f = xnew0(struct tmpl_funcs, 1);

	hmap_init(&f->map);
	/* and, or, call: executed by exec.c (short-circuit, node names). */
	(void)add(f, "and", "rr*", NULL, NULL, BI_AND);
	(void)add(f, "or", "rr*", NULL, NULL, BI_OR);
	(void)add(f, "call", "rr*", NULL, NULL, BI_CALL);
	(void)add(f, "html", "v*", fn_html, NULL, BI_HTML);
	(void)add(f, "index", "rr*", fn_index, NULL, BI_INDEX);
	(void)add(f, "slice", "rr*", fn_slice, NULL, BI_SLICE);
	(void)add(f, "js", "v*", fn_js, NULL, BI_JS);
	(void)add(f, "len", "r", fn_len, NULL, BI_LEN);
	(void)add(f, "not", "r", fn_not, NULL, BI_NOT);
	(void)add(f, "print", "v*", fn_print, NULL, BI_PRINT);
	(void)add(f, "printf", "sv*", fn_printf, NULL, BI_PRINTF);
	(void)add(f, "println", "v*", fn_println, NULL, BI_PRINTLN);
	(void)add(f, "urlquery", "v*", fn_urlquery, NULL, BI_URLQUERY);
	(void)add(f, "eq", "rr*", fn_eq, NULL, BI_EQ);
	(void)add(f, "ge", "rr", fn_ge, NULL, BI_GE);
	(void)add(f, "gt", "rr", fn_gt, NULL, BI_GT);
	(void)add(f, "le", "rr", fn_le, NULL, BI_LE);
	(void)add(f, "lt", "rr", fn_lt, NULL, BI_LT);
	(void)add(f, "ne", "rr", fn_ne, NULL, BI_NE);
	return f;
}
