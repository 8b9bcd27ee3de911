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
