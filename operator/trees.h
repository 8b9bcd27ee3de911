/*
 * trees.h: the artifact trees extracted for Kustomization builds, kept
 * between builds and bounded in number and in bytes (issue #25).
 *
 * A tree is named by its artifact's digest (hex) and lives in
 * <root>/<hex>.  The loop thread counts the builds holding each tree
 * (trees_hold() before a build, trees_drop() after, with the tree's size
 * as the build found it) and stamps its last use.  Past `max_trees`
 * trees or `max_bytes` bytes, the least recently used trees no build
 * holds are evicted: renamed to "<root>/.evict-<hex>" (one metadata
 * operation, so a build that wants that digest again extracts it afresh
 * and never reads a tree being removed) and handed to the next
 * trees_hold() caller as trash, to remove on the thread pool.  A tree
 * larger than max_bytes on its own is evicted as soon as it is dropped.
 *
 * Threading: the loop thread only (the trash is removed elsewhere).
 */
#ifndef CFLUX_OPERATOR_TREES_H
#define CFLUX_OPERATOR_TREES_H

#include <stdint.h>

struct trees;

#define TREES_MAX_DEFAULT 16 /* --extracted-artifacts-max */
/* --extracted-artifacts-max-bytes: half the chart's /tmp emptyDir (2Gi), shared with checkouts */
#define TREES_MAX_BYTES_DEFAULT (1ull << 30)

/* Trees under `root` (borrowed); 0 for a limit: its default. */
int trees_new(const char *root, unsigned max_trees, uint64_t max_bytes, struct trees **ret);
/* Forget every tree (the directories stay: the root goes at exit).  Accepts NULL. */
void trees_free(struct trees *t);

/*
 * A build is about to read tree `hex`.  Returns the trash gathered so far
 * (NULL-terminated paths, or NULL), now the caller's: remove each, then
 * trees_trash_free().
 */
char **trees_hold(struct trees *t, const char *hex);

/* The build of `hex` ended; `bytes` is the tree's size if known (0: not). */
void trees_drop(struct trees *t, const char *hex, uint64_t bytes);

/* Trees kept, and their bytes as last reported. */
unsigned trees_count(const struct trees *t);
uint64_t trees_bytes(const struct trees *t);

void trees_trash_free(char **trash);

#endif
