/*
 * test_storage.c: operator/storage.c — layout, URLs, GC and the file
 * server's path checks, in a temporary directory.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/str.h"
#include "harness.h"
#include "operator/storage.h"

static char *tmpdir(void)
{
	char *d = xstrdup("/tmp/cflux-storage-XXXXXX");

	ASSERT_NOT_NULL(mkdtemp(d));
	return d;
}

static void rm_tree(const char *d)
{
	char *cmd = xasprintf("rm -rf %s", d);

	ASSERT_OK(system(cmd));
	free(cmd);
}

static void put(const struct storage *st, const char *rel, long mtime)
{
	char *abs = storage_abs(st, rel);
	struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };
	FILE *f = fopen(abs, "w");

	ASSERT_NOT_NULL(f);
	fputs("x", f);
	fclose(f);
	ASSERT_OK(utimensat(AT_FDCWD, abs, ts, 0));
	free(abs);
}

TEST(paths_and_urls)
{
	char *d = tmpdir(), *root = xasprintf("%s/a/b", d), *rel, *url;
	struct op_err err = OP_ERR_INIT;
	struct storage *st;

	ASSERT_OK(storage_new(root, "source-controller.flux-system.svc.cluster.local.", &st, &err));
	rel = storage_rel_path("GitRepository", "flux-system", "podinfo", "abc.tar.gz");
	ASSERT_STREQ(rel, "gitrepository/flux-system/podinfo/abc.tar.gz");
	url = storage_url(st, rel);
	ASSERT_STREQ(url, "http://source-controller.flux-system.svc.cluster.local./gitrepository/"
			  "flux-system/podinfo/abc.tar.gz");
	free(url);
	storage_free(st);
	ASSERT_OK(storage_new(root, "https://cdn.example/", &st, &err));
	url = storage_url(st, rel);
	ASSERT_STREQ(url, "https://cdn.example/gitrepository/flux-system/podinfo/abc.tar.gz");
	free(url);
	ASSERT(!storage_has(st, rel));
	ASSERT_OK(storage_mkdir(st, "GitRepository", "flux-system", "podinfo", &err));
	put(st, rel, 1000);
	ASSERT(storage_has(st, rel));
	storage_free(st);
	free(rel);
	free(root);
	rm_tree(d);
	free(d);
}

TEST(gc_keeps_the_current_and_newest_records)
{
	char *d = tmpdir(), *rel;
	struct op_err err = OP_ERR_INIT;
	struct storage *st;
	const char *names[] = { "a.tar.gz", "b.tar.gz", "c.tar.gz", "d.tar.gz", "x.tar.gz.tmp" };
	size_t i;

	ASSERT_OK(storage_new(d, "localhost:9090", &st, &err));
	ASSERT_OK(storage_mkdir(st, "GitRepository", "ns", "repo", &err));
	for (i = 0; i < 5; i++) {
		rel = storage_rel_path("GitRepository", "ns", "repo", names[i]);
		put(st, rel, 1000 + (long)i);
		free(rel);
	}
	/* keep "a" (current, oldest) and the newest other one ("d"); drop b, c and the tmp. */
	ASSERT_EQ(storage_gc(st, "GitRepository", "ns", "repo", "a.tar.gz", 2), 3);
	for (i = 0; i < 5; i++) {
		rel = storage_rel_path("GitRepository", "ns", "repo", names[i]);
		ASSERT_EQ(storage_has(st, rel), i == 0 || i == 3);
		free(rel);
	}
	ASSERT_EQ(storage_gc(st, "GitRepository", "ns", "missing", NULL, 2), 0);
	ASSERT_OK(storage_remove_all(st, "GitRepository", "ns", "repo"));
	rel = storage_rel_path("GitRepository", "ns", "repo", "a.tar.gz");
	ASSERT(!storage_has(st, rel));
	free(rel);
	ASSERT_OK(storage_remove_all(st, "GitRepository", "ns", "repo"));
	storage_free(st);
	rm_tree(d);
	free(d);
}

TEST(file_server_paths)
{
	char *d = tmpdir(), *file = NULL, *want;
	struct op_err err = OP_ERR_INIT;
	struct buf out = BUF_INIT(4096);
	struct storage *st;

	ASSERT_OK(storage_new(d, "", &st, &err));
	ASSERT_EQ(storage_http_handler("/", &out, &file, st), 200);
	ASSERT_NULL(file);
	ASSERT_EQ(storage_http_handler("/gitrepository/ns/repo/a.tar.gz", &out, &file, st), 200);
	want = xasprintf("%s/gitrepository/ns/repo/a.tar.gz", d);
	ASSERT_STREQ(file, want);
	free(want);
	free(file);
	file = NULL;
	ASSERT_EQ(storage_http_handler("/gitrepository/../../etc/passwd", &out, &file, st), 404);
	ASSERT_EQ(storage_http_handler("/gitrepository/ns/.hidden", &out, &file, st), 404);
	ASSERT_EQ(storage_http_handler("/../x", &out, &file, st), 404);
	ASSERT_NULL(file);
	buf_release(&out);
	storage_free(st);
	rm_tree(d);
	free(d);
}

/* The sweep's keep callback: objects named "live*", and all of namespace "other". */
static bool keep_live(const char *kind, const char *ns, const char *name, void *payload)
{
	(*(int *)payload)++;
	ASSERT(streq(kind, "gitrepository") || streq(kind, "bucket"));
	return strncmp(name, "live", 4) == 0 || streq(ns, "other");
}

static bool exists(const struct storage *st, const char *rel)
{
	char *abs = storage_abs(st, rel);
	struct stat sb;
	bool r = lstat(abs, &sb) == 0;

	free(abs);
	return r;
}

TEST(sweep_removes_what_deleted_objects_left)
{
	static const char *const kinds[] = { "GitRepository", "Bucket", NULL };
	char *d = tmpdir(), *link;
	struct op_err err = OP_ERR_INIT;
	struct storage *st;
	int asked = 0;

	ASSERT_OK(storage_new(d, NULL, &st, &err));
	harness_put(d, "gitrepository/ns/live/a.tar.gz", "x");
	harness_put(d, "gitrepository/ns/gone/a.tar.gz", "x");
	harness_put(d, "gitrepository/other/gone/a.tar.gz", "x");
	harness_put(d, "gitrepository/empty/gone/a.tar.gz", "x");
	harness_put(d, ".cache/gitrepository/ns/live/objects/x", "x");
	harness_put(d, ".cache/gitrepository/ns/gone/objects/x", "x");
	harness_put(d, ".cache/gitrepository/ns/cacheonly/objects/pack/y", "x");
	harness_put(d, "bucket/ns/gone/b.tar.gz", "x");
	/* Not ours to judge: a kind not listed, hidden names, a stray file. */
	harness_put(d, "ocirepository/ns/gone/c.tar.gz", "x");
	harness_put(d, "gitrepository/ns/.hidden/x", "x");
	harness_put(d, "gitrepository/ns/file", "x");
	/* A symlink is never followed out of the store. */
	harness_put(d, "outside/keep", "x");
	link = xasprintf("%s/gitrepository/ns/link", d);
	ASSERT_OK(symlink("../../outside", link));

	ASSERT_EQ(storage_sweep(st, kinds, keep_live, &asked), 5);
	ASSERT_EQ(asked, 8);
	ASSERT(exists(st, "gitrepository/ns/live/a.tar.gz"));
	ASSERT(!exists(st, "gitrepository/ns/gone"));
	ASSERT(exists(st, "gitrepository/other/gone/a.tar.gz"));
	ASSERT(!exists(st, "gitrepository/empty")); /* left empty: removed */
	ASSERT(exists(st, ".cache/gitrepository/ns/live/objects/x"));
	ASSERT(!exists(st, ".cache/gitrepository/ns/gone"));
	ASSERT(!exists(st, ".cache/gitrepository/ns/cacheonly"));
	ASSERT(!exists(st, "bucket/ns"));
	ASSERT(exists(st, "ocirepository/ns/gone/c.tar.gz"));
	ASSERT(exists(st, "gitrepository/ns/.hidden/x"));
	ASSERT(exists(st, "gitrepository/ns/file"));
	ASSERT(exists(st, "gitrepository/ns/link"));
	ASSERT(exists(st, "outside/keep"));
	/* Nothing left to remove the second time. */
	ASSERT_EQ(storage_sweep(st, kinds, keep_live, &asked), 0);
	free(link);
	storage_free(st);
	rm_tree(d);
	free(d);
}
