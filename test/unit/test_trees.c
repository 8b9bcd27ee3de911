/*
 * test_trees.c: operator/trees.c — the extracted trees' count and byte
 * caps, least recently used first, never a tree a build holds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/path.h"
#include "harness.h"
#include "operator/trees.h"

/* Extract (pretend) tree `hex` of `bytes` bytes under `root`, as a build would. */
static uint64_t make_tree(const char *root, const char *hex, size_t bytes)
{
	char *rel = xasprintf("%s/f", hex), *text = xmalloc(bytes + 1);
	char *dir = xasprintf("%s/%s", root, hex);
	uint64_t n;

	memset(text, 'x', bytes);
	text[bytes] = '\0';
	harness_put(root, rel, text);
	n = path_tree_bytes(dir);
	free(dir);
	free(text);
	free(rel);
	return n;
}

static int present(const char *root, const char *name)
{
	char *p = xasprintf("%s/%s", root, name);
	struct stat sb;
	int r = stat(p, &sb) == 0;

	free(p);
	return r;
}

/* One build of `hex`: hold, extract if absent, drop; the trash is removed. */
static void build(struct trees *t, const char *root, const char *hex, size_t bytes)
{
	char **trash = trees_hold(t, hex);
	uint64_t got = 0;

	for (size_t i = 0; trash && trash[i]; i++)
		path_remove_all(trash[i]);
	trees_trash_free(trash);
	if (!present(root, hex))
		got = make_tree(root, hex, bytes);
	trees_drop(t, hex, got);
}

TEST(byte_cap_evicts_least_recently_used)
{
	const char *root = harness_tmpdir();
	struct trees *t;
	char **trash;

	ASSERT_OK(trees_new(root, 100, 2500, &t));
	build(t, root, "a", 1000);
	build(t, root, "b", 1000);
	ASSERT_EQ(trees_bytes(t), 2000);
	build(t, root, "a", 1000); /* a is now the most recent */
	build(t, root, "c", 1000); /* 3000 > 2500: b goes */
	ASSERT_EQ(trees_count(t), 2);
	ASSERT_EQ(trees_bytes(t), 2000);
	ASSERT(present(root, "a"));
	ASSERT(!present(root, "b"));
	ASSERT(present(root, ".evict-b")); /* renamed away, removed by the next build */
	build(t, root, "a", 1000);
	ASSERT(!present(root, ".evict-b"));
	/* A held tree is never evicted: over the cap until it is dropped. */
	trash = trees_hold(t, "c");
	trees_trash_free(trash);
	build(t, root, "d", 2000); /* 4000: a (the oldest) goes, then d: c is held */
	ASSERT(present(root, "c"));
	ASSERT(!present(root, "a") && !present(root, "d"));
	ASSERT_EQ(trees_bytes(t), 1000);
	trees_drop(t, "c", 0);
	ASSERT(present(root, "c"));
	ASSERT_EQ(trees_count(t), 1);
	/* A tree larger than the cap on its own is gone once dropped. */
	build(t, root, "e", 3000);
	ASSERT(!present(root, "e"));
	ASSERT_EQ(trees_count(t), 0);
	ASSERT_EQ(trees_bytes(t), 0);
	trees_free(t);
}

TEST(count_cap_still_holds)
{
	const char *root = harness_tmpdir();
	struct trees *t;

	ASSERT_OK(trees_new(root, 2, 0, &t)); /* 0: the default byte cap */
	build(t, root, "a", 10);
	build(t, root, "b", 10);
	build(t, root, "c", 10);
	ASSERT_EQ(trees_count(t), 2);
	ASSERT(!present(root, "a"));
	ASSERT(present(root, "b") && present(root, "c"));
	ASSERT_EQ(trees_bytes(t), 20);
	trees_free(t);
}
