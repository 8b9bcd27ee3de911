/*
 * sprig_lists.c: Sprig's lists (list.go) and dicts (dict.go), with
 * dario.cat/mergo's merge rules and copystructure's deep copy.
 *
 * DESIGN
 * The list functions take interface{} and dispatch on reflect's kind, as
 * in Go: a slice works, anything else fails with "Cannot <verb> type
 * KIND" (the non-must variants panic with that error, which the executor
 * reports the same way), and nil makes reflect.TypeOf(nil).Kind()
 * dereference nil: "runtime error: invalid memory address or nil pointer
 * dereference".  Results are fresh []interface{} lists (Go's append on a
 * new slice); `slice` keeps the input's element type, as reflect's Slice
 * does.  Maps are shared and mutated in place where Go mutates them (set,
 * unset, merge), so `$_ := set $d "k" 1` changes $d for later readers.
 * keys and values follow Go's map order, which is random: ours is sorted.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "tmpl/sprig.h"
#include "tmpl/tmpl.h"
#include "base/banned.h"

#define NIL_DEREF "runtime error: invalid memory address or nil pointer dereference"

/* The slice argument, or the Go failure for what `verb` cannot take. */
static int need_slice(struct tmpl_ctx *ctx, const struct tmpl_val *v, const char *fmt)
{
	if (v->kind == TMPL_NIL || v->kind == TMPL_INVALID)
		return tmpl_ctx_errorf(ctx, NIL_DEREF);
	if (sprig_is_slice(v))
		return 0;
	return tmpl_ctx_errorf(ctx, fmt, tmpl_kind_name(v));
}

static struct tmpl_val list_ret(struct tmpl_list *l)
{
	return tmpl_list_val(l);
}

/* A nil []interface{} (Go's `return nil, nil` for a []interface{} result). */
static struct tmpl_val nil_list(void)
{
	return tmpl_list_val(NULL);
}

SPRIG_FN(fn_list)
{
	struct tmpl_list *l = sprig_list(ctx, n);
	size_t i;

	for (i = 0; i < n; i++)
		tmpl_list_push(tmpl_ctx_arena(ctx), l, a[i]);
	*ret = list_ret(l);
	return 0;
}

static int push_or_prepend(struct tmpl_ctx *ctx, const struct tmpl_val *a, bool front,
			   struct tmpl_val *ret)
{
	size_t len, i;
	struct tmpl_list *l;
	int r;

	if ((r = need_slice(ctx, &a[0], front ? "Cannot prepend on type %s" : "Cannot push on type %s")) < 0)
		return r;
	len = tmpl_len(&a[0]);
	l = sprig_list(ctx, len + 1);
	if (front)
		tmpl_list_push(tmpl_ctx_arena(ctx), l, a[1]);
	for (i = 0; i < len; i++)
		tmpl_list_push(tmpl_ctx_arena(ctx), l, sprig_slice_at(&a[0], i));
	if (!front)
		tmpl_list_push(tmpl_ctx_arena(ctx), l, a[1]);
	*ret = list_ret(l);
	return 0;
}

SPRIG_FN(fn_push)
{
	return push_or_prepend(ctx, a, false, ret);
}

SPRIG_FN(fn_prepend)
{
	return push_or_prepend(ctx, a, true, ret);
}

SPRIG_FN(fn_chunk)
{
	int64_t size = a[0].i, len, cs, i, j;
	struct tmpl_list *outer;
	double f;
	int r;

	if ((r = need_slice(ctx, &a[1], "Cannot chunk type %s")) < 0)
		return r;
	len = (int64_t)tmpl_len(&a[1]);
	f = floor((double)(len - 1) / (double)size) + 1;
	cs = sprig_f2i(f);
	if (cs < 0 || size <= 0)
		return tmpl_ctx_errorf(ctx, "runtime error: makeslice: len out of range");
	if (tmpl_ctx_steps(ctx, (uint64_t)cs) < 0)
		return -ETIME;
	outer = tmpl_list_new(tmpl_ctx_arena(ctx), TMPL_LIST, 0, (size_t)cs);
	for (i = 0; i < cs; i++) {
		int64_t clen = size;
		struct tmpl_list *c;

		if (i == cs - 1) {
			clen = sprig_f2i(floor(fmod((double)len, (double)size)));
			if (clen == 0)
				clen = size;
		}
		c = sprig_list(ctx, (size_t)clen);
		for (j = 0; j < clen; j++)
			tmpl_list_push(tmpl_ctx_arena(ctx), c, sprig_slice_at(&a[1], (size_t)(i * size + j)));
		tmpl_list_push(tmpl_ctx_arena(ctx), outer, tmpl_list_val(c));
	}
	*ret = tmpl_list_val(outer);
	return 0;
}

static int first_last(struct tmpl_ctx *ctx, const struct tmpl_val *v, bool last, struct tmpl_val *ret)
{
	size_t len;
	int r;

	if ((r = need_slice(ctx, v, last ? "Cannot find last on type %s" : "Cannot find first on type %s")) < 0)
		return r;
	len = tmpl_len(v);
	*ret = len == 0 ? tmpl_nil() : sprig_slice_at(v, last ? len - 1 : 0);
	return 0;
}

SPRIG_FN(fn_first)
{
	return first_last(ctx, &a[0], false, ret);
}

SPRIG_FN(fn_last)
{
	return first_last(ctx, &a[0], true, ret);
}

static int rest_initial(struct tmpl_ctx *ctx, const struct tmpl_val *v, bool rest, struct tmpl_val *ret)
{
	struct tmpl_list *l;
	size_t len, i;
	int r;

	if ((r = need_slice(ctx, v, rest ? "Cannot find rest on type %s" : "Cannot find initial on type %s")) < 0)
		return r;
	len = tmpl_len(v);
	if (len == 0) {
		*ret = nil_list();
		return 0;
	}
	l = sprig_list(ctx, len - 1);
	for (i = rest ? 1 : 0; i < (rest ? len : len - 1); i++)
		tmpl_list_push(tmpl_ctx_arena(ctx), l, sprig_slice_at(v, i));
	*ret = list_ret(l);
	return 0;
}

SPRIG_FN(fn_rest)
{
	return rest_initial(ctx, &a[0], true, ret);
}

SPRIG_FN(fn_initial)
{
	return rest_initial(ctx, &a[0], false, ret);
}

SPRIG_FN(fn_reverse)
{
	struct tmpl_list *l;
	size_t len, i;
	int r;

	if ((r = need_slice(ctx, &a[0], "Cannot find reverse on type %s")) < 0)
		return r;
	len = tmpl_len(&a[0]);
	l = sprig_list(ctx, len);
	for (i = len; i > 0; i--)
		tmpl_list_push(tmpl_ctx_arena(ctx), l, sprig_slice_at(&a[0], i - 1));
	*ret = list_ret(l);
	return 0;
}

SPRIG_FN(fn_compact)
{
	struct tmpl_list *l;
	size_t len, i;
	int r;

	if ((r = need_slice(ctx, &a[0], "Cannot compact on type %s")) < 0)
		return r;
	len = tmpl_len(&a[0]);
	l = sprig_list(ctx, len);
	for (i = 0; i < len; i++) {
		struct tmpl_val x = sprig_slice_at(&a[0], i);

		if (tmpl_truth(&x))
			tmpl_list_push(tmpl_ctx_arena(ctx), l, x);
	}
	*ret = list_ret(l);
	return 0;
}

static bool in_vals(const struct tmpl_val *hay, size_t n, const struct tmpl_val *needle)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (tmpl_deep_equal(needle, &hay[i]))
			return true;
	return false;
}

SPRIG_FN(fn_uniq)
{
	struct tmpl_list *l;
	size_t len, i;
	int r;

	if ((r = need_slice(ctx, &a[0], "Cannot find uniq on type %s")) < 0)
		return r;
	len = tmpl_len(&a[0]);
	/* Quadratic, as in Go: charge the comparisons. */
	if (tmpl_ctx_steps(ctx, (uint64_t)len * len / 64 + 1) < 0)
		return -ETIME;
	l = sprig_list(ctx, len);
	for (i = 0; i < len; i++) {
		struct tmpl_val x = sprig_slice_at(&a[0], i);

		if (!in_vals(l->v, l->n, &x))
			tmpl_list_push(tmpl_ctx_arena(ctx), l, x);
	}
	*ret = list_ret(l);
	return 0;
}

SPRIG_FN(fn_without)
{
	struct tmpl_list *l;
	size_t len, i;
	int r;

	if ((r = need_slice(ctx, &a[0], "Cannot find without on type %s")) < 0)
		return r;
	len = tmpl_len(&a[0]);
	if (tmpl_ctx_steps(ctx, (uint64_t)len * (n - 1) / 64 + 1) < 0)
		return -ETIME;
	l = sprig_list(ctx, len);
	for (i = 0; i < len; i++) {
		struct tmpl_val x = sprig_slice_at(&a[0], i);

		if (!in_vals(a + 1, n - 1, &x))
			tmpl_list_push(tmpl_ctx_arena(ctx), l, x);
	}
	*ret = list_ret(l);
	return 0;
}

SPRIG_FN(fn_has)
{
	size_t len, i;
	int r;

	if (a[1].kind == TMPL_NIL) {
		*ret = tmpl_bool(false);
		return 0;
	}
	if ((r = need_slice(ctx, &a[1], "Cannot find has on type %s")) < 0)
		return r;
	len = tmpl_len(&a[1]);
	for (i = 0; i < len; i++) {
		struct tmpl_val x = sprig_slice_at(&a[1], i);

		if (tmpl_deep_equal(&a[0], &x)) {
			*ret = tmpl_bool(true);
			return 0;
		}
	}
	*ret = tmpl_bool(false);
	return 0;
}

/* slice LIST [START [END]]: reflect's Slice, the element type kept. */
SPRIG_FN(fn_slice)
{
	int64_t start = 0, end, len;
	struct tmpl_list *l;
	int r;

	if ((r = need_slice(ctx, &a[0], "list should be type of slice or array but %s")) < 0)
		return r;
	len = (int64_t)tmpl_len(&a[0]);
	if (len == 0) {
		*ret = tmpl_nil();
		return 0;
	}
	if (n > 1)
		start = sprig_to_int64(&a[1]);
	end = n > 2 ? sprig_to_int64(&a[2]) : len;
	if (start < 0 || end < start || end > len)
		return tmpl_ctx_errorf(ctx, "reflect.Value.Slice: slice index out of bounds");
	if (a[0].kind == TMPL_BYTES) {
		*ret = tmpl_bytes(tmpl_ctx_arena(ctx), a[0].s.p + start, (size_t)(end - start));
		return 0;
	}
	l = tmpl_list_new(tmpl_ctx_arena(ctx), a[0].l->elem, (size_t)(end - start), (size_t)(end - start));
	if (end > start)
		memcpy(l->v, a[0].l->v + start, (size_t)(end - start) * sizeof(*l->v));
	*ret = tmpl_list_val(l);
	ret->type = a[0].type;
	return 0;
}

SPRIG_FN(fn_concat)
{
	struct tmpl_list *l = NULL;
	size_t i, j;

	for (i = 0; i < n; i++) {
		size_t len;

		if (a[i].kind == TMPL_NIL)
			return tmpl_ctx_errorf(ctx, NIL_DEREF);
		if (!sprig_is_slice(&a[i]))
			return tmpl_ctx_errorf(ctx, "Cannot concat type %s as list", tmpl_kind_name(&a[i]));
		len = tmpl_len(&a[i]);
		for (j = 0; j < len; j++) {
			if (!l)
				l = sprig_list(ctx, len);
			tmpl_list_push(tmpl_ctx_arena(ctx), l, sprig_slice_at(&a[i], j));
		}
	}
	/* Go: `var res []interface{}` returned as interface{}: nil when empty. */
	*ret = l ? list_ret(l) : nil_list();
	return 0;
}

/* untilStep: Go's loop, its length checked against the budget first. */
static int until_step(struct tmpl_ctx *ctx, int64_t start, int64_t stop, int64_t step,
		      struct tmpl_val *ret)
{
	struct tmpl_list *l;
	uint64_t count = 0;
	int64_t i;

	if (stop < start && step < 0)
		count = ((uint64_t)start - (uint64_t)stop + (uint64_t)(-(step + 1))) / ((uint64_t)(-(step + 1)) + 1);
	else if (stop > start && step > 0)
		count = ((uint64_t)stop - (uint64_t)start + (uint64_t)step - 1) / (uint64_t)step;
	if (count > 0 && (tmpl_ctx_steps(ctx, count) < 0 || tmpl_ctx_reserve(ctx, count * sizeof(struct tmpl_val)) < 0))
		return -ETIME;
	l = tmpl_list_new(tmpl_ctx_arena(ctx), TMPL_INT, 0, (size_t)count);
	if (stop < start) {
		if (step < 0)
			for (i = start; i > stop; i += step) {
				tmpl_list_push(tmpl_ctx_arena(ctx), l, tmpl_int(i));
				if (i < INT64_MIN - step)
					break;
			}
	} else if (step > 0) {
		for (i = start; i < stop; i += step) {
			tmpl_list_push(tmpl_ctx_arena(ctx), l, tmpl_int(i));
			if (i > INT64_MAX - step)
				break;
		}
	}
	*ret = tmpl_list_val(l);
	return 0;
}

SPRIG_FN(fn_until)
{
	return until_step(ctx, 0, a[0].i, a[0].i < 0 ? -1 : 1, ret);
}

SPRIG_FN(fn_until_step)
{
	return until_step(ctx, a[0].i, a[1].i, a[2].i, ret);
}

const struct sprig_fn sprig_lists_fns[] = {
	{ "tuple", "v*", fn_list },
	{ "list", "v*", fn_list },
	{ "append", "vv", fn_push },
	{ "push", "vv", fn_push },
	{ "mustAppend", "vv", fn_push },
	{ "mustPush", "vv", fn_push },
	{ "prepend", "vv", fn_prepend },
	{ "mustPrepend", "vv", fn_prepend },
	{ "first", "v", fn_first },
	{ "mustFirst", "v", fn_first },
	{ "rest", "v", fn_rest },
	{ "mustRest", "v", fn_rest },
	{ "last", "v", fn_last },
	{ "mustLast", "v", fn_last },
	{ "initial", "v", fn_initial },
	{ "mustInitial", "v", fn_initial },
	{ "reverse", "v", fn_reverse },
	{ "mustReverse", "v", fn_reverse },
	{ "uniq", "v", fn_uniq },
	{ "mustUniq", "v", fn_uniq },
	{ "without", "vv*", fn_without },
	{ "mustWithout", "vv*", fn_without },
	{ "has", "vv", fn_has },
	{ "mustHas", "vv", fn_has },
	{ "slice", "vv*", fn_slice },
	{ "mustSlice", "vv*", fn_slice },
	{ "concat", "v*", fn_concat },
	{ "chunk", "iv", fn_chunk },
	{ "mustChunk", "iv", fn_chunk },
	{ "compact", "v", fn_compact },
	{ "mustCompact", "v", fn_compact },
	{ "until", "i", fn_until },
	{ "untilStep", "iii", fn_until_step },
};
const size_t sprig_lists_nfns = ARRAY_SIZE(sprig_lists_fns);

/* ---------------------------------------------------------------- dicts */

SPRIG_FN(fn_dict)
{
	struct tmpl_map *m = tmpl_map_new(tmpl_ctx_arena(ctx), TMPL_NIL);
	struct buf k;
	size_t i;

	sprig_buf_init(ctx, &k);
	for (i = 0; i < n; i += 2) {
		buf_reset(&k);
		if (sprig_strval(&a[i], &k) < 0) {
			buf_release(&k);
			return sprig_oom(ctx);
		}
		tmpl_map_set(m, k.buf, k.len, i + 1 < n ? a[i + 1] : tmpl_str_ref("", 0));
	}
	buf_release(&k);
	*ret = tmpl_map_val(m);
	return 0;
}

/* A nil map parameter cannot be written: Go panics. */
static int need_map(struct tmpl_ctx *ctx, const struct tmpl_val *m)
{
	if (!m->m)
		return tmpl_ctx_errorf(ctx, "assignment to entry in nil map");
	return 0;
}

SPRIG_FN(fn_get)
{
	struct tmpl_val *v = a[0].m ? tmpl_map_get(a[0].m, a[1].s.p, a[1].s.n) : NULL;

	*ret = v ? *v : tmpl_str_ref("", 0);
	return 0;
}

SPRIG_FN(fn_set)
{
	int r;

	if ((r = need_map(ctx, &a[0])) < 0)
		return r;
	tmpl_map_set(a[0].m, a[1].s.p, a[1].s.n, a[2]);
	*ret = a[0];
	ret->type = NULL;
	return 0;
}

SPRIG_FN(fn_unset)
{
	if (a[0].m)
		tmpl_map_del(a[0].m, a[1].s.p, a[1].s.n);
	*ret = a[0];
	ret->type = NULL;
	return 0;
}

SPRIG_FN(fn_has_key)
{
	*ret = tmpl_bool(a[0].m && tmpl_map_get(a[0].m, a[1].s.p, a[1].s.n));
	return 0;
}

SPRIG_FN(fn_pluck)
{
	struct tmpl_list *l = sprig_list(ctx, n);
	size_t i;

	for (i = 1; i < n; i++) {
		struct tmpl_val *v = a[i].m ? tmpl_map_get(a[i].m, a[0].s.p, a[0].s.n) : NULL;

		if (v)
			tmpl_list_push(tmpl_ctx_arena(ctx), l, *v);
	}
	*ret = list_ret(l);
	return 0;
}

SPRIG_FN(fn_keys)
{
	struct tmpl_list *l = sprig_str_list(ctx, 8);
	size_t i, j;

	for (i = 0; i < n; i++)
		for (j = 0; a[i].m && j < a[i].m->n; j++)
			tmpl_list_push(tmpl_ctx_arena(ctx), l, tmpl_str_ref(a[i].m->e[j].key, a[i].m->e[j].klen));
	*ret = list_ret(l);
	return 0;
}

SPRIG_FN(fn_values)
{
	struct tmpl_list *l = sprig_list(ctx, tmpl_len(&a[0]));
	size_t j;

	for (j = 0; a[0].m && j < a[0].m->n; j++)
		tmpl_list_push(tmpl_ctx_arena(ctx), l, a[0].m->e[j].v);
	*ret = list_ret(l);
	return 0;
}

static bool in_keys(const struct tmpl_val *keys, size_t n, const char *k, size_t kl)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (keys[i].s.n == kl && memcmp(keys[i].s.p, k, kl) == 0)
			return true;
	return false;
}

SPRIG_FN(fn_pick)
{
	struct tmpl_map *m = tmpl_map_new(tmpl_ctx_arena(ctx), TMPL_NIL);
	size_t i;

	for (i = 1; i < n; i++) {
		struct tmpl_val *v = a[0].m ? tmpl_map_get(a[0].m, a[i].s.p, a[i].s.n) : NULL;

		if (v)
			tmpl_map_set(m, a[i].s.p, a[i].s.n, *v);
	}
	*ret = tmpl_map_val(m);
	return 0;
}

SPRIG_FN(fn_omit)
{
	struct tmpl_map *m = tmpl_map_new(tmpl_ctx_arena(ctx), TMPL_NIL);
	size_t j;

	for (j = 0; a[0].m && j < a[0].m->n; j++) {
		const struct tmpl_map_entry *e = &a[0].m->e[j];

		if (!in_keys(a + 1, n - 1, e->key, e->klen))
			tmpl_map_set(m, e->key, e->klen, e->v);
	}
	*ret = tmpl_map_val(m);
	return 0;
}

/*
 * mergo's deepMerge of two map[string]interface{} (dst changed in place):
 * a src map merges into a dst map; otherwise src's value is taken when
 * dst lacks the key or holds an empty value, and always with `overwrite`
 * (nil included); without it a nil src value is skipped.
 */
static int deep_merge(struct tmpl_ctx *ctx, struct tmpl_map *dst, const struct tmpl_map *src,
		      bool overwrite, unsigned depth)
{
	size_t i;

	if (depth > 10000)
		return tmpl_ctx_errorf(ctx, "merge: maps nest too deeply");
	if (tmpl_ctx_steps(ctx, src->n) < 0)
		return -ETIME;
	for (i = 0; i < src->n; i++) {
		const struct tmpl_map_entry *se = &src->e[i];
		struct tmpl_val *dv = tmpl_map_get(dst, se->key, se->klen);
		const struct tmpl_val *sv = &se->v;
		bool dst_empty = !dv || !tmpl_truth(dv);
		int r;

		if (sv->kind == TMPL_NIL) {
			/* A nil interface{} in src: only overwriting copies it. */
			if (overwrite)
				tmpl_map_set(dst, se->key, se->klen, *sv);
			continue;
		}
		if (sv->kind == TMPL_MAP && dv && dv->kind == TMPL_MAP && dv->m && sv->m) {
			if ((r = deep_merge(ctx, dv->m, sv->m, overwrite, depth + 1)) < 0)
				return r;
		}
		/* A non-empty dst keeps its map (merged above), and its slice unless overwriting. */
		if (!dst_empty && sv->kind == TMPL_MAP && dv->kind == TMPL_MAP)
			continue;
		if (!dst_empty && sv->kind == TMPL_LIST && !overwrite)
			continue;
		if (overwrite || dst_empty)
			tmpl_map_set(dst, se->key, se->klen, *sv);
	}
	return 0;
}

static int merge(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n, bool overwrite,
		 struct tmpl_val *ret)
{
	struct tmpl_map *dst = a[0].m;
	size_t i;
	int r;

	for (i = 1; i < n; i++) {
		if (!a[i].m || a[i].m->n == 0)
			continue;
		if (!dst)
			dst = tmpl_map_new(tmpl_ctx_arena(ctx), TMPL_NIL);
		if ((r = deep_merge(ctx, dst, a[i].m, overwrite, 0)) < 0)
			return r;
	}
	*ret = dst ? tmpl_map_val(dst) : a[0];
	ret->type = NULL;
	return 0;
}

SPRIG_FN(fn_merge)
{
	return merge(ctx, a, n, false, ret);
}

SPRIG_FN(fn_merge_overwrite)
{
	return merge(ctx, a, n, true, ret);
}

/* copystructure.Copy: new maps and lists all the way down. */
static int deep_copy(struct tmpl_ctx *ctx, const struct tmpl_val *v, struct tmpl_val *ret, unsigned depth)
{
	struct tmpl_arena *ar = tmpl_ctx_arena(ctx);
	size_t i;
	int r;

	if (depth > 10000)
		return tmpl_ctx_errorf(ctx, "deepCopy error: nesting too deep");
	if (tmpl_ctx_steps(ctx, 1) < 0)
		return -ETIME;
	*ret = *v;
	if (v->kind == TMPL_MAP && v->m) {
		struct tmpl_map *m = tmpl_map_new(ar, v->m->elem);

		for (i = 0; i < v->m->n; i++) {
			struct tmpl_val x;

			if ((r = deep_copy(ctx, &v->m->e[i].v, &x, depth + 1)) < 0)
				return r;
			tmpl_map_set(m, v->m->e[i].key, v->m->e[i].klen, x);
		}
		ret->m = m;
	} else if (v->kind == TMPL_LIST && v->l) {
		struct tmpl_list *l = tmpl_list_new(ar, v->l->elem, 0, v->l->n);

		for (i = 0; i < v->l->n; i++) {
			struct tmpl_val x;

			if ((r = deep_copy(ctx, &v->l->v[i], &x, depth + 1)) < 0)
				return r;
			tmpl_list_push(ar, l, x);
		}
		ret->l = l;
	} else if (v->kind == TMPL_BYTES) {
		*ret = tmpl_bytes(ar, v->s.p, v->s.n);
	}
	return 0;
}

SPRIG_FN(fn_deep_copy)
{
	/* copystructure.Copy(nil) panics inside reflect. */
	if (a[0].kind == TMPL_NIL)
		return tmpl_ctx_errorf(ctx, "reflect: call of reflect.Value.Type on zero Value");
	return deep_copy(ctx, &a[0], ret, 0);
}

static bool is_plain_map(const struct tmpl_val *v)
{
	return v->kind == TMPL_MAP && !v->type && (!v->m || v->m->elem == TMPL_NIL);
}

/* dig K1 K2 ... DEFAULT DICT, with Go's type assertions (and their panics). */
SPRIG_FN(fn_dig)
{
	const struct tmpl_val *d = &a[n - 1];
	size_t i;

	if (n < 3)
		return tmpl_ctx_errorf(ctx, "dig needs at least three arguments");
	if (!is_plain_map(d))
		return tmpl_ctx_errorf(ctx, "interface conversion: interface {} is %s, not map[string]interface {}",
				       d->kind == TMPL_NIL ? "nil" : tmpl_type_name(d));
	for (i = 0; i < n - 2; i++)
		if (a[i].kind != TMPL_STRING || a[i].type)
			return tmpl_ctx_errorf(ctx, "interface conversion: interface {} is %s, not string",
					       a[i].kind == TMPL_NIL ? "nil" : tmpl_type_name(&a[i]));
	for (i = 0; i < n - 2; i++) {
		struct tmpl_val *step = d->m ? tmpl_map_get(d->m, a[i].s.p, a[i].s.n) : NULL;

		if (!step) {
			*ret = a[n - 2];
			return 0;
		}
		if (i == n - 3) {
			*ret = *step;
			return 0;
		}
		if (!is_plain_map(step))
			return tmpl_ctx_errorf(ctx, "interface conversion: interface {} is %s, not map[string]interface {}",
					       step->kind == TMPL_NIL ? "nil" : tmpl_type_name(step));
		d = step;
	}
	*ret = a[n - 2];
	return 0;
}

const struct sprig_fn sprig_dicts_fns[] = {
	{ "dict", "v*", fn_dict },
	{ "get", "ms", fn_get },
	{ "set", "msv", fn_set },
	{ "unset", "ms", fn_unset },
	{ "hasKey", "ms", fn_has_key },
	{ "pluck", "sm*", fn_pluck },
	{ "keys", "m*", fn_keys },
	{ "pick", "ms*", fn_pick },
	{ "omit", "ms*", fn_omit },
	{ "merge", "mm*", fn_merge },
	{ "mergeOverwrite", "mm*", fn_merge_overwrite },
	{ "mustMerge", "mm*", fn_merge },
	{ "mustMergeOverwrite", "mm*", fn_merge_overwrite },
	{ "values", "m", fn_values },
	{ "deepCopy", "v", fn_deep_copy },
	{ "mustDeepCopy", "v", fn_deep_copy },
	{ "dig", "v*", fn_dig },
};
const size_t sprig_dicts_nfns = ARRAY_SIZE(sprig_dicts_fns);
