/*
 * value.c: the arena and the value model of lib/tmpl (see tmpl.h).
 *
 * DESIGN
 * An arena is a list of chunks.  Small allocations are carved from the
 * current chunk (64 KiB, or the next power of two for a bigger request, so
 * a chunk always fits at least one); big ones (over a quarter of a chunk)
 * get a chunk of their own, which keeps the waste of a half-used chunk
 * small.  Adopted malloc'd blocks hang on a second list.  `used` counts
 * every byte handed out and adopted; it is what the budget compares with.
 *
 * Maps keep their entries sorted bytewise by key: lookups are binary
 * searches, range and printing need no sort (Go sorts string keys bytewise
 * in fmtsort), and an insertion moves the tail up.  Charts build maps of
 * tens of keys, where a sorted array beats hashing; a hostile template
 * filling one map with a million keys pays quadratic moves, which the step
 * budget and the arena's byte budget bound.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/str.h"
#include "tmpl/internal.h"
#include "tmpl/tmpl.h"
#include "base/banned.h"

#define CHUNK_SIZE (64u << 10)

struct chunk {
	struct chunk *next;
	size_t size; /* usable bytes after the header */
	size_t off;  /* bytes used */
	_Alignas(16) unsigned char data[];
};

struct adopted {
	struct adopted *next;
	void *p;
};

struct tmpl_arena {
	struct chunk *cur;  /* small allocations come from here */
	struct chunk *full; /* retired and big chunks */
	struct adopted *adopted;
	size_t used;
	size_t max;
};

struct tmpl_arena *tmpl_arena_new(size_t max_bytes)
{
	struct tmpl_arena *a = xnew0(struct tmpl_arena, 1);

	a->max = max_bytes ? max_bytes : (size_t)1 << 30;
	return a;
}

static void free_chunks(struct chunk *c)
{
	while (c) {
		struct chunk *next = c->next;

		free(c);
		c = next;
	}
}

struct tmpl_arena *tmpl_arena_free(struct tmpl_arena *a)
{
	struct adopted *d;

	if (!a)
		return NULL;
	free_chunks(a->cur);
	free_chunks(a->full);
	for (d = a->adopted; d;) {
		struct adopted *next = d->next;

		free(d->p);
		free(d);
		d = next;
	}
	free(a);
	return NULL;
}

static struct chunk *chunk_new(size_t size)
{
	struct chunk *c = xmalloc(xalloc__mul(1, sizeof(*c) + size));

	c->next = NULL;
	c->size = size;
	c->off = 0;
	return c;
}

void *tmpl_alloc(struct tmpl_arena *a, size_t n)
{
	struct chunk *c = a->cur;
	size_t need = (n + 15) & ~(size_t)15;
	void *p;

	if (need < n)
		need = n; /* overflow: xmalloc below aborts */
	a->used += need;
	if (need > CHUNK_SIZE / 4) {
		c = chunk_new(need);
		c->off = need;
		c->next = a->full;
		a->full = c;
		memset(c->data, 0, n);
		return c->data;
	}
	if (!c || c->size - c->off < need) {
		if (c) {
			a->cur = c->next;
			c->next = a->full;
			a->full = c;
		}
		c = chunk_new(CHUNK_SIZE);
		c->next = a->cur;
		a->cur = c;
	}
	p = c->data + c->off;
	c->off += need;
	memset(p, 0, n);
	return p;
}

char *tmpl_memdup(struct tmpl_arena *a, const void *p, size_t n)
{
	char *d = tmpl_alloc(a, n + 1);

	if (n)
		memcpy(d, p, n);
	d[n] = '\0';
	return d;
}

void tmpl_arena_adopt(struct tmpl_arena *a, void *p, size_t size)
{
	struct adopted *d = xnew0(struct adopted, 1);

	d->p = p;
	d->next = a->adopted;
	a->adopted = d;
	a->used += size;
}

size_t tmpl_arena_used(const struct tmpl_arena *a)
{
	return a->used;
}

size_t tmpl_arena_max(const struct tmpl_arena *a)
{
	return a->max;
}

void tmpl__arena_mark(const struct tmpl_arena *a, struct tmpl__arena_mark *m)
{
	m->cur = a->cur;
	m->off = a->cur ? a->cur->off : 0;
	m->full = a->full;
	m->adopted = a->adopted;
	m->used = a->used;
}

void tmpl__arena_rollback(struct tmpl_arena *a, const struct tmpl__arena_mark *m)
{
	/* Chunks made since the mark sit before m->full on the full list
	 * (retired or big) or are the current one; the marked current chunk
	 * may have been retired among them. */
	while (a->full != m->full) {
		struct chunk *c = a->full;

		a->full = c->next;
		if (c != m->cur)
			free(c);
	}
	if (a->cur != m->cur)
		free_chunks(a->cur);
	a->cur = m->cur;
	if (a->cur) {
		a->cur->next = NULL;
		a->cur->off = m->off;
	}
	while (a->adopted != m->adopted) {
		struct adopted *d = a->adopted;

		a->adopted = d->next;
		free(d->p);
		free(d);
	}
	a->used = m->used;
}

/* ---------------------------------------------------------------- strings */

struct tmpl_val tmpl_str(struct tmpl_arena *a, const char *s, size_t n)
{
	return tmpl_str_ref(tmpl_memdup(a, s, n), n);
}

struct tmpl_val tmpl_strz(struct tmpl_arena *a, const char *s)
{
	return tmpl_str(a, s, strlen(s));
}

struct tmpl_val tmpl_strf(struct tmpl_arena *a, const char *fmt, ...)
{
	struct buf b = BUF_INIT((size_t)-2);
	struct tmpl_val v;
	va_list ap;

	va_start(ap, fmt);
	if (buf_vaddf(&b, fmt, ap) < 0)
		buf_reset(&b);
	va_end(ap);
	v = tmpl_str_buf(a, &b);
	buf_release(&b);
	return v;
}

struct tmpl_val tmpl_str_buf(struct tmpl_arena *a, struct buf *b)
{
	size_t n;
	char *p;

	if (b->len < 256) {
		struct tmpl_val v = tmpl_str(a, b->buf, b->len);

		buf_release(b);
		return v;
	}
	p = buf_detach(b, &n);
	tmpl_arena_adopt(a, p, n + 1);
	return tmpl_str_ref(p, n);
}

struct tmpl_val tmpl_bytes(struct tmpl_arena *a, const void *p, size_t n)
{
	struct tmpl_val v = { .kind = TMPL_BYTES };

	v.s.p = tmpl_memdup(a, p, n);
	v.s.n = n;
	return v;
}

/* ---------------------------------------------------------------- lists */

struct tmpl_val tmpl__zero(enum tmpl_kind k)
{
	struct tmpl_val v = { .kind = k };

	switch (k) {
	case TMPL_STRING:
	case TMPL_BYTES:
		v.s.p = "";
		break;
	case TMPL_INVALID:
		v.kind = TMPL_NIL;
		break;
	default:
		break;
	}
	return v;
}

struct tmpl_list *tmpl_list_new(struct tmpl_arena *a, enum tmpl_kind elem, size_t n, size_t cap)
{
	struct tmpl_list *l = tmpl_alloc(a, sizeof(*l));
	struct tmpl_val z = tmpl__zero(elem);

	if (cap < n)
		cap = n;
	l->elem = elem;
	l->n = n;
	l->alloc = cap;
	if (cap)
		l->v = tmpl_alloc(a, xalloc__mul(cap, sizeof(*l->v)));
	for (size_t i = 0; i < n; i++)
		l->v[i] = z;
	return l;
}

void tmpl_list_push(struct tmpl_arena *a, struct tmpl_list *l, struct tmpl_val v)
{
	if (l->n == l->alloc) {
		size_t cap = l->alloc ? l->alloc * 2 : 4;
		struct tmpl_val *nv = tmpl_alloc(a, xalloc__mul(cap, sizeof(*nv)));

		if (l->n)
			memcpy(nv, l->v, l->n * sizeof(*nv));
		l->v = nv;
		l->alloc = cap;
	}
	v.boxed = 0;
	l->v[l->n++] = v;
}

/* ---------------------------------------------------------------- maps */

struct tmpl_map *tmpl_map_new(struct tmpl_arena *a, enum tmpl_kind elem)
{
	struct tmpl_map *m = tmpl_alloc(a, sizeof(*m));

	m->elem = elem;
	m->arena = a;
	return m;
}

int tmpl__keycmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, MIN(an, bn));

	if (c)
		return c;
	return an < bn ? -1 : an > bn;
}

/* Index of `key`, or of where it would go (*found false). */
static size_t map_find(const struct tmpl_map *m, const char *key, size_t klen, bool *found)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = tmpl__keycmp(m->e[mid].key, m->e[mid].klen, key, klen);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

struct tmpl_val *tmpl_map_get(const struct tmpl_map *m, const char *key, size_t klen)
{
	bool found;
	size_t i;

	if (!m || !m->n)
		return NULL;
	i = map_find(m, key, klen, &found);
	return found ? &m->e[i].v : NULL;
}

void tmpl_map_set(struct tmpl_map *m, const char *key, size_t klen, struct tmpl_val v)
{
	bool found;
	size_t i = map_find(m, key, klen, &found);

	v.boxed = 0;
	if (found) {
		m->e[i].v = v;
		return;
	}
	if (m->n == m->alloc) {
		size_t cap = m->alloc ? m->alloc * 2 : 8;
		struct tmpl_map_entry *ne = tmpl_alloc(m->arena, xalloc__mul(cap, sizeof(*ne)));

		if (m->n)
			memcpy(ne, m->e, m->n * sizeof(*ne));
		m->e = ne;
		m->alloc = cap;
	}
	memmove(&m->e[i + 1], &m->e[i], (m->n - i) * sizeof(*m->e));
	m->e[i].key = tmpl_memdup(m->arena, key, klen);
	m->e[i].klen = klen;
	m->e[i].v = v;
	m->n++;
}

bool tmpl_map_del(struct tmpl_map *m, const char *key, size_t klen)
{
	bool found;
	size_t i;

	if (!m || !m->n)
		return false;
	i = map_find(m, key, klen, &found);
	if (!found)
		return false;
	memmove(&m->e[i], &m->e[i + 1], (m->n - i - 1) * sizeof(*m->e));
	m->n--;
	return true;
}

/* ---------------------------------------------------------------- queries */

size_t tmpl_len(const struct tmpl_val *v)
{
	switch (v->kind) {
	case TMPL_STRING:
	case TMPL_BYTES:
		return v->s.n;
	case TMPL_LIST:
		return v->l ? v->l->n : 0;
	case TMPL_MAP:
		return v->m ? v->m->n : 0;
	default:
		return 0;
	}
}

bool tmpl_truth(const struct tmpl_val *v)
{
	switch (v->kind) {
	case TMPL_INVALID:
	case TMPL_NIL:
		return false;
	case TMPL_BOOL:
		return v->b;
	case TMPL_INT:
	case TMPL_INT64:
	case TMPL_INT32:
		return v->i != 0;
	case TMPL_UINT:
	case TMPL_UINT8:
	case TMPL_UINT64:
		return v->u != 0;
	case TMPL_FLOAT64:
		return v->f != 0;
	case TMPL_COMPLEX128:
		return v->c.re != 0 || v->c.im != 0;
	case TMPL_STRING:
	case TMPL_BYTES:
	case TMPL_LIST:
	case TMPL_MAP:
		return tmpl_len(v) > 0;
	case TMPL_OBJ:
		/* A struct is always true; a pointer is true unless nil. */
		return v->o != NULL || (v->type && v->type->kind && strcmp(v->type->kind, "struct") == 0);
	}
	return false;
}

const char *tmpl__kind_type_name(enum tmpl_kind k)
{
	switch (k) {
	case TMPL_INVALID:
	case TMPL_NIL:
		return "interface {}";
	case TMPL_BOOL:
		return "bool";
	case TMPL_INT:
		return "int";
	case TMPL_INT64:
		return "int64";
	case TMPL_INT32:
		return "int32";
	case TMPL_UINT:
		return "uint";
	case TMPL_UINT8:
		return "uint8";
	case TMPL_UINT64:
		return "uint64";
	case TMPL_FLOAT64:
		return "float64";
	case TMPL_COMPLEX128:
		return "complex128";
	case TMPL_STRING:
		return "string";
	case TMPL_BYTES:
		return "[]uint8";
	case TMPL_LIST:
		return "[]interface {}";
	case TMPL_MAP:
		return "map[string]interface {}";
	case TMPL_OBJ:
		return "struct {}";
	}
	return "?";
}

const char *tmpl_type_name(const struct tmpl_val *v)
{
	static const char *const lists[] = {
		[TMPL_NIL] = "[]interface {}",  [TMPL_BOOL] = "[]bool",
		[TMPL_INT] = "[]int",           [TMPL_INT64] = "[]int64",
		[TMPL_INT32] = "[]int32",       [TMPL_UINT] = "[]uint",
		[TMPL_UINT8] = "[]uint8",       [TMPL_UINT64] = "[]uint64",
		[TMPL_FLOAT64] = "[]float64",   [TMPL_STRING] = "[]string",
		[TMPL_BYTES] = "[][]uint8",     [TMPL_LIST] = "[][]interface {}",
		[TMPL_MAP] = "[]map[string]interface {}",
	};
	static const char *const maps[] = {
		[TMPL_NIL] = "map[string]interface {}",
		[TMPL_BOOL] = "map[string]bool",
		[TMPL_INT] = "map[string]int",
		[TMPL_INT64] = "map[string]int64",
		[TMPL_FLOAT64] = "map[string]float64",
		[TMPL_STRING] = "map[string]string",
		[TMPL_BYTES] = "map[string][]uint8",
		[TMPL_LIST] = "map[string][]interface {}",
		[TMPL_MAP] = "map[string]map[string]interface {}",
	};
	enum tmpl_kind e;

	if (v->type && v->type->name)
		return v->type->name;
	switch (v->kind) {
	case TMPL_INVALID:
	case TMPL_NIL:
		return "<nil>";
	case TMPL_LIST:
		e = v->l ? v->l->elem : TMPL_NIL;
		if ((size_t)e < ARRAY_SIZE(lists) && lists[e])
			return lists[e];
		return "[]interface {}";
	case TMPL_MAP:
		e = v->m ? v->m->elem : TMPL_NIL;
		if ((size_t)e < ARRAY_SIZE(maps) && maps[e])
			return maps[e];
		return "map[string]interface {}";
	default:
		return tmpl__kind_type_name(v->kind);
	}
}

const char *tmpl_kind_name(const struct tmpl_val *v)
{
	switch (v->kind) {
	case TMPL_INVALID:
	case TMPL_NIL:
		return "invalid";
	case TMPL_BYTES:
	case TMPL_LIST:
		return "slice";
	case TMPL_MAP:
		return "map";
	case TMPL_OBJ:
		return v->type && v->type->kind ? v->type->kind : "struct";
	default:
		return tmpl__kind_type_name(v->kind);
	}
}

/* The element type a list or map value holds (TMPL_NIL: interface{}). */
static enum tmpl_kind elem_of(const struct tmpl_val *v)
{
	if (v->kind == TMPL_LIST)
		return v->l ? v->l->elem : TMPL_NIL;
	if (v->kind == TMPL_MAP)
		return v->m ? v->m->elem : TMPL_NIL;
	return TMPL_INVALID;
}

static bool deep_equal(const struct tmpl_val *a, const struct tmpl_val *b, unsigned depth)
{
	bool anil = a->kind == TMPL_INVALID || a->kind == TMPL_NIL;
	bool bnil = b->kind == TMPL_INVALID || b->kind == TMPL_NIL;

	if (depth > 10000)
		return false;
	if (anil || bnil)
		return anil && bnil;
	if (a->kind != b->kind || a->type != b->type)
		return false;
	switch (a->kind) {
	case TMPL_BOOL:
		return a->b == b->b;
	case TMPL_INT:
	case TMPL_INT64:
	case TMPL_INT32:
		return a->i == b->i;
	case TMPL_UINT:
	case TMPL_UINT8:
	case TMPL_UINT64:
		return a->u == b->u;
	case TMPL_FLOAT64:
		return a->f == b->f;
	case TMPL_COMPLEX128:
		return a->c.re == b->c.re && a->c.im == b->c.im;
	case TMPL_STRING:
	case TMPL_BYTES:
		/* DeepEqual distinguishes a nil []byte from an empty one; we
		 * do not keep that difference. */
		return a->s.n == b->s.n && memcmp(a->s.p, b->s.p, a->s.n) == 0;
	case TMPL_LIST:
		if (elem_of(a) != elem_of(b))
			return false;
		if ((a->l == NULL) != (b->l == NULL))
			return false;
		if (a->l == b->l)
			return true;
		if (a->l->n != b->l->n)
			return false;
		for (size_t i = 0; i < a->l->n; i++)
			if (!deep_equal(&a->l->v[i], &b->l->v[i], depth + 1))
				return false;
		return true;
	case TMPL_MAP:
		if (elem_of(a) != elem_of(b))
			return false;
		if ((a->m == NULL) != (b->m == NULL))
			return false;
		if (a->m == b->m)
			return true;
		if (a->m->n != b->m->n)
			return false;
		for (size_t i = 0; i < a->m->n; i++) {
			const struct tmpl_map_entry *x = &a->m->e[i], *y = &b->m->e[i];

			if (x->klen != y->klen || memcmp(x->key, y->key, x->klen) != 0 ||
			    !deep_equal(&x->v, &y->v, depth + 1))
				return false;
		}
		return true;
	case TMPL_OBJ:
		return a->o == b->o;
	default:
		return false;
	}
}

bool tmpl_deep_equal(const struct tmpl_val *a, const struct tmpl_val *b)
{
	return deep_equal(a, b, 0);
}

/* ---------------------------------------------------------------- cJSON */

static int from_json(struct tmpl_arena *a, const cJSON *j, unsigned flags, unsigned depth,
		     struct tmpl_val *ret)
{
	const cJSON *c;
	int r;

	if (depth > 10000)
		return -E2BIG;
	if (cJSON_IsObject(j)) {
		struct tmpl_map *m = tmpl_map_new(a, TMPL_NIL);
		size_t n = 0;
		bool sorted = true;
		const char *prev = NULL;

		for (c = j->child; c; c = c->next) {
			n++;
			if (prev && strcmp(prev, c->string) >= 0)
				sorted = false;
			prev = c->string;
		}
		if (sorted) {
			/* Already in order (yj and most JSON): append directly. */
			m->e = tmpl_alloc(a, xalloc__mul(n ? n : 1, sizeof(*m->e)));
			m->alloc = n;
			for (c = j->child; c; c = c->next) {
				struct tmpl_map_entry *e = &m->e[m->n];

				e->klen = strlen(c->string);
				e->key = tmpl_memdup(a, c->string, e->klen);
				r = from_json(a, c, flags, depth + 1, &e->v);
				if (r < 0)
					return r;
				m->n++;
			}
		} else {
			for (c = j->child; c; c = c->next) {
				struct tmpl_val v;

				r = from_json(a, c, flags, depth + 1, &v);
				if (r < 0)
					return r;
				tmpl_map_set(m, c->string, strlen(c->string), v);
			}
		}
		*ret = tmpl_map_val(m);
		return 0;
	}
	if (cJSON_IsArray(j)) {
		struct tmpl_list *l;
		size_t n = 0, i = 0;

		for (c = j->child; c; c = c->next)
			n++;
		l = tmpl_list_new(a, TMPL_NIL, n, n);
		for (c = j->child; c; c = c->next) {
			r = from_json(a, c, flags, depth + 1, &l->v[i++]);
			if (r < 0)
				return r;
		}
		*ret = tmpl_list_val(l);
		return 0;
	}
	if (cJSON_IsString(j)) {
		*ret = tmpl_strz(a, j->valuestring);
		return 0;
	}
	if (cJSON_IsRaw(j)) {
		/* An exact big integer from lib/yj. */
		int64_t i;

		if ((flags & TMPL_JSON_INT64) && parse_int64(j->valuestring, &i) == 0)
			*ret = tmpl_int64(i);
		else
			*ret = tmpl_float(strtod(j->valuestring, NULL));
		return 0;
	}
	if (cJSON_IsNumber(j)) {
		double d = j->valuedouble;

		if ((flags & TMPL_JSON_INT64) && d == floor(d) && fabs(d) < 9.2e18)
			*ret = tmpl_int64((int64_t)d);
		else
			*ret = tmpl_float(d);
		return 0;
	}
	if (cJSON_IsTrue(j) || cJSON_IsFalse(j)) {
		*ret = tmpl_bool(cJSON_IsTrue(j));
		return 0;
	}
	*ret = tmpl_nil();
	return 0;
}

int tmpl_from_json(struct tmpl_arena *a, const cJSON *j, unsigned flags, struct tmpl_val *ret)
{
	struct tmpl_val v;
	int r = from_json(a, j, flags, 0, &v);

	if (r == 0)
		*ret = v;
	return r;
}
