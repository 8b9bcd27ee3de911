/*
 * hmap.c: open-addressing string hash map (see hmap.h).
 *
 * DESIGN
 * Capacity is a power of two so the probe step is a mask.  Deleted slots
 * become tombstones so probe chains stay intact; a rehash (on growth, or
 * when tombstones fill the table) drops them.  The stored hash makes
 * rehashing and most failed comparisons cheap.
 */
#include <stdint.h>
#include <string.h>

#include "base/alloc.h"
#include "base/hmap.h"
#include "base/banned.h"

static const char tomb_mark[1];
#define TOMB ((const char *)tomb_mark)

static size_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return (size_t)h;
}

void hmap_init(struct hmap *m)
{
	memset(m, 0, sizeof(*m));
}

void hmap_release(struct hmap *m)
{
	if (!m)
		return;
	free(m->v);
	hmap_init(m);
}

static struct hmap_entry *find(const struct hmap *m, const char *key, size_t h)
{
	size_t mask = m->cap - 1, i;

	if (!m->cap)
		return NULL;
	for (i = h & mask;; i = (i + 1) & mask) {
		struct hmap_entry *e = &m->v[i];

		if (!e->key)
			return NULL;
		if (e->key != TOMB && e->hash == h && strcmp(e->key, key) == 0)
			return e;
	}
}

static void rehash(struct hmap *m, size_t cap)
{
	struct hmap_entry *old = m->v;
	size_t oldcap = m->cap, i;

	m->v = xcalloc(cap, sizeof(*m->v));
	m->cap = cap;
	m->used = m->n;
	for (i = 0; i < oldcap; i++) {
		size_t j;

		if (!old[i].key || old[i].key == TOMB)
			continue;
		for (j = old[i].hash & (cap - 1); m->v[j].key; j = (j + 1) & (cap - 1))
			;
		m->v[j] = old[i];
	}
	free(old);
}

void *hmap_get(const struct hmap *m, const char *key)
{
	struct hmap_entry *e = find(m, key, hash_str(key));

	return e ? e->val : NULL;
}

void *hmap_put(struct hmap *m, const char *key, void *val)
{
	size_t h = hash_str(key), i, mask;
	struct hmap_entry *e = find(m, key, h);

	if (e) {
		void *old = e->val;

		e->key = key;
		e->val = val;
		return old;
	}
	if ((m->used + 1) * 10 >= m->cap * 7)
		rehash(m, m->n * 2 >= m->cap ? (m->cap ? m->cap * 2 : 16) : m->cap);
	mask = m->cap - 1;
	for (i = h & mask; m->v[i].key && m->v[i].key != TOMB; i = (i + 1) & mask)
		;
	if (!m->v[i].key)
		m->used++;
	m->v[i].key = key;
	m->v[i].val = val;
	m->v[i].hash = h;
	m->n++;
	return NULL;
}

void *hmap_remove(struct hmap *m, const char *key)
{
	struct hmap_entry *e = find(m, key, hash_str(key));
	void *val;

	if (!e)
		return NULL;
	val = e->val;
	e->key = TOMB;
	e->val = NULL;
	m->n--;
	return val;
}

bool hmap_next(const struct hmap *m, size_t *it, const char **ret_key, void **ret_val)
{
	for (; *it < m->cap; (*it)++) {
		struct hmap_entry *e = &m->v[*it];

		if (e->key && e->key != TOMB) {
			if (ret_key)
				*ret_key = e->key;
			if (ret_val)
				*ret_val = e->val;
			(*it)++;
			return true;
		}
	}
	return false;
}
