/*
 * test_path.c: lib/base/path.c — lexical cleaning and the safe join,
 * including symlinks that try to leave the root.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/path.h"
#include "harness.h"

static void clean_is(const char *in, const char *want)
{
	char *c = path_clean(in);

	ASSERT_STREQ(c, want);
	free(c);
}

TEST(clean_like_go)
{
	clean_is("", ".");
	clean_is(".", ".");
	clean_is("a//b/./c/", "a/b/c");
	clean_is("a/b/../c", "a/c");
	clean_is("a/../..", "..");
	clean_is("../a/../b", "../b");
	clean_is("/../a", "/a");
	clean_is("/", "/");
	clean_is("a/./../../b", "../b");
	clean_is("./a", "a");
	clean_is("..a/b..", "..a/b..");
}

static char *root(void)
{
	const char *t = harness_tmpdir();
	char *r = xasprintf("%s/root", t);

	ASSERT_OK(mkdir(r, 0755));
	return r;
}

TEST(join_plain_and_missing)
{
	char *r = root(), *p = NULL;
	struct op_err e;

	ASSERT_OK(path_join_safe(r, "apps/base/x.yaml", &p, &e));
	ASSERT(strncmp(p, r, strlen(r)) == 0);
	ASSERT_STREQ(p + strlen(r), "/apps/base/x.yaml");
	free(p);
	ASSERT_OK(path_join_safe(r, "./a//b/", &p, &e));
	ASSERT_STREQ(p + strlen(r), "/a/b");
	free(p);
	ASSERT_OK(path_join_safe(r, "", &p, &e));
	ASSERT_STREQ(p, r);
	free(p);
	free(r);
}

TEST(join_refuses_dotdot_and_absolute)
{
	char *r = root(), *p = NULL;
	struct op_err e;

	ASSERT_EQ(path_join_safe(r, "../etc/passwd", &p, &e), -EINVAL);
	ASSERT_CONTAINS(e.msg, "'../etc/passwd' leaves its root");
	ASSERT_EQ(path_join_safe(r, "a/../../b", &p, &e), -EINVAL);
	ASSERT_EQ(path_join_safe(r, "a/..", &p, &e), -EINVAL);
	ASSERT_EQ(path_join_safe(r, "/etc/passwd", &p, &e), -EINVAL);
	ASSERT_CONTAINS(e.msg, "absolute");
	ASSERT_NULL(p);
	/* Names that merely contain dots are fine. */
	ASSERT_OK(path_join_safe(r, "a..b/..c/d..", &p, &e));
	free(p);
	free(r);
}

TEST(join_symlinks_inside_ok_outside_refused)
{
	char *r = root(), *p = NULL, *x;
	struct op_err e;

	x = xasprintf("%s/real", r);
	ASSERT_OK(mkdir(x, 0755));
	free(x);
	x = xasprintf("%s/inside", r);
	ASSERT_OK(symlink("real", x));
	free(x);
	x = xasprintf("%s/real/up", r);
	ASSERT_OK(symlink("../real", x));
	free(x);
	x = xasprintf("%s/escape", r);
	ASSERT_OK(symlink("../../etc", x));
	free(x);
	x = xasprintf("%s/real/deep", r);
	ASSERT_OK(symlink("../../outside", x));
	free(x);
	x = xasprintf("%s/abs", r);
	ASSERT_OK(symlink("/etc", x));
	free(x);
	x = xasprintf("%s/loop", r);
	ASSERT_OK(symlink("loop", x));
	free(x);

	ASSERT_OK(path_join_safe(r, "inside/file", &p, &e));
	ASSERT_STREQ(p + strlen(r), "/real/file");
	free(p);
	ASSERT_OK(path_join_safe(r, "inside/up/up/f", &p, &e));
	ASSERT_STREQ(p + strlen(r), "/real/f");
	free(p);
	p = NULL;
	ASSERT_EQ(path_join_safe(r, "escape/passwd", &p, &e), -ELOOP);
	ASSERT_CONTAINS(e.msg, "symlink 'escape' points outside the root");
	ASSERT_EQ(path_join_safe(r, "inside/deep/x", &p, &e), -ELOOP);
	ASSERT_CONTAINS(e.msg, "'real/deep'");
	ASSERT_EQ(path_join_safe(r, "abs", &p, &e), -ELOOP);
	ASSERT_EQ(path_join_safe(r, "loop/x", &p, &e), -ELOOP);
	ASSERT_CONTAINS(e.msg, "too many symlinks");
	ASSERT_NULL(p);
	free(r);
}

TEST(join_too_long)
{
	char *r = root(), *p = NULL, big[5000];
	struct op_err e;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ASSERT_EQ(path_join_safe(r, big, &p, &e), -ENAMETOOLONG);
	free(r);
}
