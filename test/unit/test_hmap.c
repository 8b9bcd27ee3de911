/*
 * test_hmap.c: lib/base/hmap.c — put/get/remove, growth, tombstones,
 * iteration, against a plain array as the model.
 */
#include <stdio.h>

#include "base/alloc.h"
#include "base/hmap.h"
#include "harness.h"

TEST(put_get_replace_remove)
{
	struct hmap m = HMAP_INIT;
	int a = 1, b = 2;

	ASSERT_NULL(hmap_get(&m, "x"));
	ASSERT_NULL(hmap_remove(&m, "x"));
	ASSERT_NULL(hmap_put(&m, "x", &a));
	ASSERT(hmap_get(&m, "x") == &a);
	ASSERT(hmap_put(&m, "x", &b) == &a);
	ASSERT(hmap_get(&m, "x") == &b);
	ASSERT_EQ(hmap_size(&m), 1);
	ASSERT(hmap_remove(&m, "x") == &b);
	ASSERT_NULL(hmap_get(&m, "x"));
	ASSERT_EQ(hmap_size(&m), 0);
	hmap_release(&m);
}

TEST(many_keys_with_churn)
{
	enum { N = 20000 };
	struct hmap m = HMAP_INIT;
	char **keys = xcalloc(N, sizeof(char *));
	size_t it = 0, seen = 0;
	const char *k;
	void *v;
	int i, round;

	for (i = 0; i < N; i++) {
		keys[i] = xasprintf("ns-%d/name-%d", i % 17, i);
		ASSERT_NULL(hmap_put(&m, keys[i], keys[i]));
	}
	for (round = 0; round < 3; round++) {
		for (i = round; i < N; i += 3)
			ASSERT(hmap_remove(&m, keys[i]) == keys[i]);
		for (i = round; i < N; i += 3)
			ASSERT_NULL(hmap_put(&m, keys[i], keys[i]));
	}
	ASSERT_EQ(hmap_size(&m), N);
	for (i = 0; i < N; i++)
		ASSERT(hmap_get(&m, keys[i]) == keys[i]);
	while (hmap_next(&m, &it, &k, &v)) {
		ASSERT(k == v);
		seen++;
	}
	ASSERT_EQ(seen, N);
	/* Tombstones do not make the table grow without bound. */
	for (round = 0; round < 50; round++) {
		for (i = 0; i < N; i++)
			hmap_remove(&m, keys[i]);
		for (i = 0; i < N; i++)
			hmap_put(&m, keys[i], keys[i]);
	}
	ASSERT(m.cap <= 65536);
	for (i = 0; i < N; i++)
		free(keys[i]);
	free(keys);
	hmap_release(&m);
}

TEST(remove_during_iteration)
{
	struct hmap m = HMAP_INIT;
	char keys[100][8];
	size_t it = 0;
	const char *k;
	int i;

	for (i = 0; i < 100; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%d", i);
		hmap_put(&m, keys[i], keys[i]);
	}
	while (hmap_next(&m, &it, &k, NULL))
		hmap_remove(&m, k);
	ASSERT_EQ(hmap_size(&m), 0);
	hmap_release(&m);
}
