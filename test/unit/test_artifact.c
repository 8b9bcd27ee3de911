/*
 * test_artifact.c: lib/source/artifact.c — reproducible packing and
 * extraction that refuses hostile archives.
 *
 * Hostile archives are made here with libarchive directly, the way an
 * attacker would craft them (paths with "..", absolute paths, links,
 * sizes that lie, millions of entries).
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/alloc.h"
#include "harness.h"
#include "source/artifact.h"

static char *tpath(const char *rel)
{
	return xasprintf("%s/%s", harness_tmpdir(), rel);
}

static void put(const char *rel, const char *text, mode_t mode)
{
	char *p = tpath(rel), *slash = strrchr(p, '/');
	FILE *f;

	*slash = '\0';
	{
		char *cmd = xasprintf("mkdir -p '%s'", p);

		ASSERT_EQ(system(cmd), 0);
		free(cmd);
	}
	*slash = '/';
	f = fopen(p, "w");
	ASSERT_NOT_NULL(f);
	fputs(text, f);
	fclose(f);
	ASSERT_OK(chmod(p, mode));
	free(p);
}

static enum artifact_skip skip_dot_git(const char *rel, bool is_dir, void *payload)
{
	return is_dir && strcmp(rel, ".git") == 0 ? ARTIFACT_SKIP : ARTIFACT_KEEP;
}

TEST(same_tree_same_bytes)
{
	struct artifact_info a, b;
	struct op_err err;
	char *src = tpath("src"), *o1 = tpath("a.tar.gz"), *o2 = tpath("b.tar.gz"), *cmd;

	put("src/b/deploy.yaml", "kind: Deployment\n", 0644);
	put("src/a.yaml", "kind: ConfigMap\n", 0664);
	put("src/run.sh", "#!/bin/sh\n", 0755);
	put("src/.git/HEAD", "ref: refs/heads/main\n", 0644);
	{
		char *link = tpath("src/link.yaml");

		ASSERT_OK(symlink("a.yaml", link));
		free(link);
	}
	ASSERT_OK(artifact_archive(src, skip_dot_git, NULL, NULL, o1, &a, &err));
	ASSERT_EQ(a.files, 3);
	ASSERT(strncmp(a.digest, "sha256:", 7) == 0 && strlen(a.digest) == 71);

	/* Other times, modes (but the same exec bits) and creation order. */
	cmd = xasprintf("touch -d '2001-02-03' %s/a.yaml %s/b && chmod 600 %s/a.yaml && "
			"mv %s/b %s/b2 && mv %s/b2 %s/b", src, src, src, src, src, src, src);
	ASSERT_EQ(system(cmd), 0);
	free(cmd);
	ASSERT_OK(artifact_archive(src, skip_dot_git, NULL, NULL, o2, &b, &err));
	ASSERT_STREQ(a.digest, b.digest);
	ASSERT_EQ(a.size, b.size);
	cmd = xasprintf("cmp -s %s %s", o1, o2);
	ASSERT_EQ(system(cmd), 0);
	free(cmd);

	/* The digest is the sha256 of the file, as sha256sum computes it. */
	{
		char d[ARTIFACT_DIGEST_MAX], line[128];
		uint64_t size;
		FILE *f;

		ASSERT_OK(artifact_digest_file(o1, d, &size, &err));
		ASSERT_STREQ(d, a.digest);
		ASSERT_EQ(size, a.size);
		cmd = xasprintf("sha256sum %s", o1);
		f = popen(cmd, "r");
		ASSERT_NOT_NULL(fgets(line, sizeof(line), f));
		pclose(f);
		ASSERT(strncmp(line, a.digest + 7, 64) == 0);
		free(cmd);
	}
	/* A content change changes the digest. */
	put("src/a.yaml", "kind: Secret\n", 0644);
	ASSERT_OK(artifact_archive(src, skip_dot_git, NULL, NULL, o2, &b, &err));
	ASSERT(strcmp(a.digest, b.digest) != 0);
	free(src);
	free(o1);
	free(o2);
}

TEST(headers_are_normalised)
{
	struct artifact_info a;
	struct op_err err;
	char *src = tpath("src"), *out = tpath("x.tar.gz"), *cmd, line[256];
	FILE *f;
	int n = 0;

	put("src/dir/f.yaml", "x: 1\n", 0644);
	put("src/exec", "#!/bin/sh\n", 0751);
	ASSERT_OK(artifact_archive(src, NULL, NULL, NULL, out, &a, &err));
	cmd = xasprintf("tar -tvzf %s --numeric-owner", out);
	f = popen(cmd, "r");
	while (fgets(line, sizeof(line), f)) {
		/* e.g. "drwxr-x--- 0/0   0 1970-01-01 00:00 dir/" */
		ASSERT_CONTAINS(line, " 0/0 ");
		ASSERT_CONTAINS(line, "1970-01-01 00:00");
		if (strstr(line, " dir/f.yaml"))
			ASSERT(strncmp(line, "-rw-------", 10) == 0);
		else if (strstr(line, " exec"))
			ASSERT(strncmp(line, "-rwx------", 10) == 0);
		else if (strstr(line, " dir"))
			ASSERT(strncmp(line, "drwxr-x---", 10) == 0);
		n++;
	}
	pclose(f);
	ASSERT_EQ(n, 3);
	free(cmd);
	free(src);
	free(out);
}

TEST(round_trip_extract)
{
	struct artifact_info a;
	struct op_err err;
	char *src = tpath("src"), *out = tpath("x.tar.gz"), *dst = tpath("dst"), *cmd;

	put("src/apps/base/kustomization.yaml", "resources: [d.yaml]\n", 0644);
	put("src/apps/base/d.yaml", "kind: Deployment\n", 0644);
	put("src/empty", "", 0644);
	ASSERT_OK(artifact_archive(src, NULL, NULL, NULL, out, &a, &err));
	ASSERT_OK(mkdir(dst, 0755));
	ASSERT_OK(artifact_extract(out, dst, NULL, &err));
	cmd = xasprintf("diff -r %s %s", src, dst);
	ASSERT_EQ(system(cmd), 0);
	free(cmd);
	free(src);
	free(out);
	free(dst);
}

TEST(pack_limits)
{
	struct artifact_limits lim = { .max_entries = 3, .max_file_bytes = 10, .max_total_bytes = 15 };
	struct artifact_info a;
	struct op_err err;
	char *src = tpath("src"), *out = tpath("x.tar.gz");

	put("src/big", "0123456789abc", 0644);
	ASSERT_EQ(artifact_archive(src, NULL, NULL, &lim, out, &a, &err), -EFBIG);
	ASSERT_CONTAINS(err.msg, "file 'big' is 13 bytes");
	ASSERT(access(out, F_OK) < 0);
	put("src/big", "012345678", 0644);
	put("src/c", "012345678", 0644);
	ASSERT_EQ(artifact_archive(src, NULL, NULL, &lim, out, &a, &err), -EFBIG);
	ASSERT_CONTAINS(err.msg, "over the limit of 15 bytes");
	lim.max_total_bytes = 100;
	put("src/d", "", 0644);
	put("src/e", "", 0644);
	ASSERT_EQ(artifact_archive(src, NULL, NULL, &lim, out, &a, &err), -E2BIG);
	ASSERT_CONTAINS(err.msg, "more than 3 entries");
	free(src);
	free(out);
}

/* ---- hostile archives ---- */

struct evil {
	const char *name;
	mode_t type;
	const char *link;
	int64_t declared;
	const char *data;
};

static char *make_evil(const char *file, const struct evil *v, size_t n, bool cut)
{
	char *path = tpath(file);
	struct archive *a = archive_write_new();
	size_t i;

	archive_write_set_format_pax_restricted(a);
	archive_write_add_filter_gzip(a);
	ASSERT_EQ(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();

		archive_entry_set_pathname(e, v[i].name);
		archive_entry_set_filetype(e, v[i].type);
		archive_entry_set_perm(e, 0644);
		if (v[i].link) {
			if (v[i].type == AE_IFLNK)
				archive_entry_set_symlink(e, v[i].link);
			else
				archive_entry_set_hardlink(e, v[i].link);
		}
		archive_entry_set_size(e, v[i].data ? (int64_t)strlen(v[i].data) : v[i].declared);
		archive_write_header(a, e);
		if (v[i].data)
			archive_write_data(a, v[i].data, strlen(v[i].data));
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
	if (cut)
		ASSERT_OK(truncate(path, 60));
	return path;
}

static int extract_fresh(const char *tgz, const struct artifact_limits *lim, struct op_err *err)
{
	static int k;
	char *dst = xasprintf("%s/x%d", harness_tmpdir(), k++);
	int r;

	ASSERT_OK(mkdir(dst, 0755));
	r = artifact_extract(tgz, dst, lim, err);
	free(dst);
	return r;
}

TEST(extract_refuses_traversal_and_links)
{
	static const struct evil dotdot[] = { { "../../etc/evil", AE_IFREG, NULL, 0, "x" } };
	static const struct evil absolute[] = { { "/tmp/cflux-evil", AE_IFREG, NULL, 0, "x" } };
	static const struct evil hard[] = { { "h", AE_IFREG, "/etc/passwd", 0, NULL } };
	static const struct evil sym[] = {
		{ "link", AE_IFLNK, "/etc", 0, NULL },
		{ "link/passwd", AE_IFREG, NULL, 0, "owned" },
	};
	static const struct evil climb[] = { { "a/b/up", AE_IFLNK, "../../../etc", 0, NULL } };
	static const struct evil inside[] = {
		{ "a/b/ok", AE_IFLNK, "../../c.yaml", 0, NULL },
		{ "c.yaml", AE_IFREG, NULL, 0, "c: 1\n" },
	};
	static const struct evil fifo[] = { { "p", AE_IFIFO, NULL, 0, NULL } };
	struct op_err err;
	char *t;

	t = make_evil("dotdot.tgz", dotdot, 1, false);
	ASSERT_EQ(extract_fresh(t, NULL, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "leaves its root");
	free(t);
	t = make_evil("abs.tgz", absolute, 1, false);
	ASSERT_EQ(extract_fresh(t, NULL, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "absolute");
	ASSERT(access("/tmp/cflux-evil", F_OK) < 0);
	free(t);
	t = make_evil("hard.tgz", hard, 1, false);
	ASSERT_EQ(extract_fresh(t, NULL, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "not a file or directory");
	free(t);
	/* A symlink leading out of the tree says the archive is hostile. */
	t = make_evil("sym.tgz", sym, 2, false);
	ASSERT_EQ(extract_fresh(t, NULL, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "'link' is a symlink to '/etc', outside the tree");
	free(t);
	t = make_evil("climb.tgz", climb, 1, false);
	ASSERT_EQ(extract_fresh(t, NULL, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "outside the tree");
	free(t);
	/* One that stays inside is skipped, as Flux skips symlinks. */
	t = make_evil("inside.tgz", inside, 2, false);
	ASSERT_OK(extract_fresh(t, NULL, &err));
	free(t);
	t = make_evil("fifo.tgz", fifo, 1, false);
	ASSERT_EQ(extract_fresh(t, NULL, &err), -EINVAL);
	free(t);
}

TEST(extract_limits_and_corruption)
{
	static const struct evil huge[] = { { "big", AE_IFREG, NULL, 3ll << 30, NULL } };
	static const struct evil two[] = {
		{ "a", AE_IFREG, NULL, 0, "0123456789" },
		{ "b", AE_IFREG, NULL, 0, "0123456789" },
	};
	struct artifact_limits lim = { .max_entries = 10, .max_file_bytes = 1 << 20,
				       .max_total_bytes = 15 };
	struct op_err err;
	char *t;

	/* Refused from the header, before a byte is written. */
	t = make_evil("huge.tgz", huge, 1, false);
	ASSERT_EQ(extract_fresh(t, NULL, &err), -EFBIG);
	ASSERT_CONTAINS(err.msg, "'big' is 3221225472 bytes");
	free(t);
	t = make_evil("two.tgz", two, 2, false);
	ASSERT_EQ(extract_fresh(t, &lim, &err), -EFBIG);
	lim.max_total_bytes = 100;
	lim.max_entries = 1;
	ASSERT_EQ(extract_fresh(t, &lim, &err), -E2BIG);
	free(t);
	t = make_evil("trunc.tgz", two, 2, true);
	ASSERT_EQ(extract_fresh(t, NULL, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "truncated");
	free(t);
	t = tpath("missing.tgz");
	ASSERT_EQ(extract_fresh(t, NULL, &err), -EINVAL);
	free(t);
}

/* A sparse entry (GNU tar -S, old GNU and pax forms) comes out with its holes as zeros. */
TEST(extract_sparse_files)
{
	static const char *const formats[] = { "gnu", "pax" };

	for (size_t i = 0; i < 2; i++) {
		char *src = tpath("sp"), *tar = tpath("sp.tar"), *dst, *cmd, *got;
		struct op_err err = OP_ERR_INIT;
		char tail[5] = { 0 }, head[16];
		const char zero[16] = { 0 };
		struct stat sb;
		FILE *f = fopen(src, "w");

		ASSERT_NOT_NULL(f);
		ASSERT_OK(fseek(f, 60000, SEEK_SET));
		fputs("end\n", f);
		fclose(f);
		cmd = xasprintf("tar -C '%s' --format=%s -cSf '%s' sp", harness_tmpdir(), formats[i],
				tar);
		ASSERT_EQ(system(cmd), 0);
		free(cmd);
		dst = xasprintf("%s/sparse-%zu", harness_tmpdir(), i);
		ASSERT_OK(mkdir(dst, 0755));
		ASSERT_OK(artifact_extract(tar, dst, NULL, &err));
		got = xasprintf("%s/sp", dst);
		ASSERT_OK(stat(got, &sb));
		ASSERT_EQ(sb.st_size, 60004);
		f = fopen(got, "r");
		ASSERT_NOT_NULL(f);
		ASSERT_EQ(fread(head, 1, sizeof(head), f), sizeof(head));
		ASSERT(memcmp(head, zero, sizeof(head)) == 0);
		ASSERT_OK(fseek(f, 60000, SEEK_SET));
		ASSERT_EQ(fread(tail, 1, 4, f), 4);
		ASSERT_STREQ(tail, "end\n");
		fclose(f);
		unlink(src);
		unlink(tar);
		free(got);
		free(dst);
		free(src);
		free(tar);
	}
}
