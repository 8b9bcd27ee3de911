/*
 * hmap.h: a hash map from C strings to pointers.
 *
 * Open addressing with linear probing and tombstones, FNV-1a hashing,
 * growth at 70 % load.  The map does not own keys or values: a key pointer
 * must stay valid while its entry is in the map (store a key that lives
 * inside the value, as informer caches do with an object's "ns/name").
 * Allocation failure aborts (alloc.h).  Not thread-safe.
 */
#ifndef CFLUX_BASE_HMAP_H
#define CFLUX_BASE_HMAP_H

#include <stdbool.h>
#include <stddef.h>

struct hmap_entry {
	const char *key; /* NULL: empty; HMAP__TOMB: deleted */
	void *val;
	size_t hash;
};

struct hmap {
	struct hmap_entry *v;
	size_t cap;  /* a power of two, or 0 */
	size_t n;    /* live entries */
	size_t used; /* live + tombstones */
};

#define HMAP_INIT { 0 }

void hmap_init(struct hmap *m);
/* Free the table (not keys or values).  Accepts NULL. */
void hmap_release(struct hmap *m);

/* The value for `key`, or NULL. */
void *hmap_get(const struct hmap *m, const char *key);

/*
 * Insert or replace.  Returns the previous value for `key` (whose key
 * pointer is replaced by `key`), or NULL if there was none.
 */
void *hmap_put(struct hmap *m, const char *key, void *val);

/* Remove `key`; returns its value, or NULL if absent. */
void *hmap_remove(struct hmap *m, const char *key);

static inline size_t hmap_size(const struct hmap *m)
{
	return m->n;
}

/*
 * Iterate: `size_t it = 0; const char *k; void *v;
 * while (hmap_next(m, &it, &k, &v)) ...`.  Removing the current entry
 * during iteration is allowed; inserting is not.
 */
bool hmap_next(const struct hmap *m, size_t *it, const char **ret_key, void **ret_val);

#endif
