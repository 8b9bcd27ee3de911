/*
 * trees.c: the extracted trees' bookkeeping and eviction (see trees.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/hmap.h"
#include "trees.h"
#include "base/banned.h"

struct tree {
	unsigned users;
	uint64_t used_at;
	uint64_t bytes;
	char hex[];
};

struct trees {
	const char *root;
	unsigned max_trees;
	uint64_t max_bytes;
	struct hmap map; /* hex -> struct tree */
	uint64_t bytes;  /* sum of the trees' bytes */
	char **trash;    /* renamed away, not yet removed; NULL-terminated */
	size_t n_trash;
	uint64_t clock;  /* use stamps */
};

int trees_new(const char *root, unsigned max_trees, uint64_t max_bytes, struct trees **ret)
{
	struct trees *t = xcalloc(1, sizeof(*t));

	t->root = root;
	t->max_trees = max_trees ? max_trees : TREES_MAX_DEFAULT;
	t->max_bytes = max_bytes ? max_bytes : TREES_MAX_BYTES_DEFAULT;
	hmap_init(&t->map);
	*ret = t;
	return 0;
}

void trees_trash_free(char **trash)
{
	for (size_t i = 0; trash && trash[i]; i++)
		free(trash[i]);
	free(trash);
}

void trees_free(struct trees *t)
{
	const char *key;
	size_t it = 0;
	void *v;

	if (!t)
		return;
	while (hmap_next(&t->map, &it, &key, &v))
		free(v);
	hmap_release(&t->map);
	trees_trash_free(t->trash);
	free(t);
}

static bool over(const struct trees *t)
{
	return hmap_size(&t->map) > t->max_trees || t->bytes > t->max_bytes;
}

static void evict(struct trees *t)
{
	while (over(t)) {
		struct tree *lru = NULL, *tr;
		const char *key;
		size_t it = 0;
		char *dir, *away;
		void *v;

		while (hmap_next(&t->map, &it, &key, &v)) {
			tr = v;
			if (!tr->users && (!lru || tr->used_at < lru->used_at))
				lru = tr;
		}
		if (!lru)
			return; /* every tree is in use: over the cap until one is dropped */
		hmap_remove(&t->map, lru->hex);
		t->bytes -= lru->bytes;
		dir = xasprintf("%s/%s", t->root, lru->hex);
		away = xasprintf("%s/.evict-%s", t->root, lru->hex);
		if (rename(dir, away) == 0) {
			t->trash = xrealloc(t->trash, (t->n_trash + 2) * sizeof(*t->trash));
			t->trash[t->n_trash++] = away; /* now owned by the trash list */
			t->trash[t->n_trash] = NULL;
			away = NULL;
		}
		free(away);
		free(dir);
		free(lru);
	}
}

char **trees_hold(struct trees *t, const char *hex)
{
	struct tree *tr = hmap_get(&t->map, hex);
	char **trash;

	if (!tr) {
		size_t n = strlen(hex) + 1;

		tr = xcalloc(1, sizeof(*tr) + n);
		memcpy(tr->hex, hex, n);
		hmap_put(&t->map, tr->hex, tr);
	}
	tr->users++;
	tr->used_at = ++t->clock;
	evict(t);
	trash = t->trash;
	t->trash = NULL;
	t->n_trash = 0;
	return trash;
}

void trees_drop(struct trees *t, const char *hex, uint64_t bytes)
{
	struct tree *tr = hmap_get(&t->map, hex);

	if (tr && tr->users)
		tr->users--;
	if (tr && bytes) {
		t->bytes = t->bytes - tr->bytes + bytes;
		tr->bytes = bytes;
	}
	evict(t);
}

unsigned trees_count(const struct trees *t)
{
	return (unsigned)hmap_size(&t->map);
}

uint64_t trees_bytes(const struct trees *t)
{
	return t->bytes;
}
