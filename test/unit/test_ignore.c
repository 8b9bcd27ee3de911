/*
 * test_ignore.c: lib/source/ignore.c — gitignore rules as
 * source-controller applies them to artifacts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "harness.h"
#include "source/artifact.h"
#include "source/ignore.h"

static void expect(struct ignore *ig, const char *path, bool is_dir, bool want)
{
	if (ignore_match(ig, path, is_dir) != want)
		harness__fail(__FILE__, __LINE__, "'%s'%s: want %s", path, is_dir ? " (dir)" : "",
			      want ? "excluded" : "kept");
}

TEST(defaults_without_rules)
{
	struct ignore *ig = ignore_new(NULL, NULL);

	expect(ig, ".git", true, true);
	expect(ig, ".git/config", false, true);
	expect(ig, "sub/.gitignore", false, true);
	expect(ig, "logo.png", false, true);
	expect(ig, "docs/img/x.jpg", false, true);
	expect(ig, ".github", true, true);
	expect(ig, ".github/workflows/ci.yaml", false, true);
	expect(ig, "a/b/.sops.yaml", false, true);
	expect(ig, ".sops.yaml", false, true);
	expect(ig, "deploy/app.yaml", false, false);
	expect(ig, "github/x.yaml", false, false);
	/* dir-only rule: a file named .github is kept */
	expect(ig, ".github", false, false);
	ignore_free(ig);
}

TEST(spec_ignore_replaces_defaults_but_not_vcs)
{
	struct ignore *ig = ignore_new(NULL, "# only deploy\n/*\n!/deploy\n");

	expect(ig, "logo.png", false, true);
	expect(ig, "deploy", true, false);
	expect(ig, "deploy/logo.png", false, false); /* defaults are gone */
	expect(ig, ".git/config", false, true);      /* VCS rules stay... */
	expect(ig, "deploy/.git/x", false, false);   /* ...below the user's rules, as in Flux */
	expect(ig, "README.md", false, true);
	expect(ig, "apps/x.yaml", false, true);
	ignore_free(ig);
	ig = ignore_new(NULL, "/*\n!/deploy/app.yaml\n");
	expect(ig, "deploy/app.yaml", false, false); /* re-included inside an excluded dir */
	expect(ig, "deploy/other.yaml", false, true);
	/* "deploy" is excluded but must be entered, without its own entry */
	ASSERT_EQ(ignore_skip("deploy", true, ig), ARTIFACT_SKIP_ENTRY);
	ASSERT_EQ(ignore_skip("deploy/app.yaml", false, ig), ARTIFACT_KEEP);
	ASSERT_EQ(ignore_skip("deploy/other.yaml", false, ig), ARTIFACT_SKIP);
	ignore_free(ig);
}

TEST(globs)
{
	ASSERT(ignore_glob("**/secret.yaml", "a/b/secret.yaml"));
	ASSERT(ignore_glob("**/secret.yaml", "secret.yaml"));
	ASSERT(ignore_glob("a/**/z.txt", "a/b/c/z.txt"));
	ASSERT(ignore_glob("a/**/z.txt", "a/z.txt"));
	ASSERT(ignore_glob("docs/*.md", "docs/x.md"));
	ASSERT(!ignore_glob("docs/*.md", "docs/sub/x.md"));
	ASSERT(ignore_glob("docs/", "docs/sub/x.md"));
	ASSERT(ignore_glob("*.tmp", "a/b/c.tmp"));
	ASSERT(ignore_glob("file?.txt", "file1.txt"));
	ASSERT(!ignore_glob("file?.txt", "file10.txt"));
	ASSERT(ignore_glob("[abc].yaml", "b.yaml"));
	ASSERT(!ignore_glob("[abc].yaml", "d.yaml"));
	ASSERT(ignore_glob("/build", "build/x"));
	ASSERT(!ignore_glob("/build", "src/build"));
	ASSERT(ignore_glob("build", "src/build"));
	ASSERT(ignore_glob("trailing   ", "trailing"));
	ASSERT(ignore_glob("\\#hash", "#hash"));
}

TEST(sourceignore_files_are_scoped_to_their_directory)
{
	char *d = xstrdup("/tmp/cflux-ignore-XXXXXX"), *p;
	struct ignore *ig;
	FILE *f;

	ASSERT_NOT_NULL(mkdtemp(d));
	p = xasprintf("%s/apps", d);
	ASSERT_OK(mkdir(p, 0700));
	free(p);
	p = xasprintf("%s/apps/.sourceignore", d);
	f = fopen(p, "w");
	ASSERT_NOT_NULL(f);
	fputs("*.txt\n/local.yaml\n", f);
	fclose(f);
	free(p);
	ig = ignore_new(d, NULL);
	expect(ig, "apps/notes.txt", false, true);
	expect(ig, "apps/deep/notes.txt", false, true);
	expect(ig, "notes.txt", false, false); /* outside its directory */
	expect(ig, "apps/local.yaml", false, true);
	expect(ig, "apps/deep/local.yaml", false, false);
	expect(ig, "logo.png", false, false); /* a .sourceignore replaces the defaults (Flux) */
	expect(ig, ".git/HEAD", false, true);
	ignore_free(ig);
	p = xasprintf("rm -rf %s", d);
	ASSERT_OK(system(p));
	free(p);
	free(d);
}
