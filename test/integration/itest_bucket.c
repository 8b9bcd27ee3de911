/*
 * itest_bucket.c: lib/source/bucket.c against the real servers of
 * test/cluster/servers.sh — versitygw (S3, SigV4 checked) over HTTP,
 * HTTPS and through the HTTP proxy, and Azurite (Azure Blob, Shared Key
 * and SAS checked).  Objects are written with test/cluster/objstore.py.
 *
 * What is proved: a first fetch writes every object (and .sourceignore)
 * and nothing ignored; the revision is Flux's (recomputed here from the
 * objects' MD5s for S3); an unchanged bucket downloads nothing; added,
 * changed and deleted objects move the revision; prefix; a wrong key, a
 * missing bucket, an expired SAS and a missing CA fail with the cause in
 * the message; 10 000 objects arrive through paginated listings with a
 * bounded peak RSS.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/path.h"
#include "base/str.h"
#include "harness.h"
#include "itest.h"
#include "source/bucket.h"

#define OBJ "python3 test/cluster/objstore.py"

/* Put `content` at `key` of bucket `b` ("s3" or "az"). */
static void put(const char *store, const char *b, const char *key, const char *content)
{
	free(itest_sh("printf '%%s' '%s' | " OBJ " %s put %s '%s' - && echo ok", content, store, b, key));
}

static void mkbucket(const char *store, const char *b)
{
	free(itest_sh(OBJ " %s mkbucket %s && echo ok", store, b));
}

struct run {
	struct bucket_opts o;
	struct bucket_result res;
	struct op_err err;
	char *dir;
};

static int run(struct run *f)
{
	static int k;
	struct artifact_limits lim = ARTIFACT_LIMITS_DEFAULT;

	if (f->dir)
		path_remove_all(f->dir);
	free(f->dir);
	f->dir = xasprintf("%s/out-%d", harness_tmpdir(), k++);
	ASSERT_OK(mkdir(f->dir, 0755));
	f->o.dir = f->dir;
	f->o.lim = lim;
	if (!f->o.timeout_s)
		f->o.timeout_s = 60;
	memset(&f->err, 0, sizeof(f->err));
	return bucket_fetch(&f->o, &f->res, &f->err);
}

static bool exists(const struct run *f, const char *rel)
{
	char *p = xasprintf("%s/%s", f->dir, rel);
	bool r = access(p, F_OK) == 0;

	free(p);
	return r;
}

static char *file(const struct run *f, const char *rel)
{
	return itest_sh("cat '%s/%s'", f->dir, rel);
}

static void run_release(struct run *f)
{
	if (f->dir)
		path_remove_all(f->dir);
	free(f->dir);
	f->dir = NULL;
}

/* Fresh options (an earlier run's directory is removed). */
static void s3_opts(struct run *f, const char *bucket)
{
	run_release(f);
	memset(f, 0, sizeof(*f));
	f->o.provider = BUCKET_S3;
	f->o.endpoint = itest_env("S3_ENDPOINT");
	f->o.insecure = true;
	f->o.bucket = bucket;
	f->o.access_key = itest_env("S3_ACCESS_KEY");
	f->o.secret_key = itest_env("S3_SECRET_KEY");
}

static void az_opts(struct run *f, const char *container)
{
	run_release(f);
	memset(f, 0, sizeof(*f));
	f->o.provider = BUCKET_AZURE;
	f->o.endpoint = itest_env("AZBLOB_URL");
	f->o.bucket = container;
	f->o.account_key = itest_env("AZBLOB_KEY");
}

/* The lifecycle on either store: first, unchanged, added, changed, deleted. */
static void lifecycle(const char *store, struct run *f)
{
	char rev1[ARTIFACT_DIGEST_MAX], rev2[ARTIFACT_DIGEST_MAX], *s;

	put(store, f->o.bucket, "apps/a.yaml", "a: 1\n");
	put(store, f->o.bucket, "apps/deep/b.yaml", "b: 1\n");
	put(store, f->o.bucket, "README.md", "docs\n");
	put(store, f->o.bucket, ".sourceignore", "*.md\n");
	put(store, f->o.bucket, "dir/", "");
	ASSERT_OK(run(f));
	ASSERT(!f->res.unchanged);
	ASSERT_EQ(f->res.objects, 2);
	ASSERT_EQ(f->res.downloaded, 2);
	s = file(f, "apps/deep/b.yaml");
	ASSERT_STREQ(s, "b: 1");
	free(s);
	ASSERT(exists(f, ".sourceignore"));
	ASSERT(!exists(f, "README.md"));
	ASSERT(!exists(f, "dir"));
	memcpy(rev1, f->res.revision, sizeof(rev1));

	/* Unchanged: the listing only. */
	f->o.last_revision = rev1;
	ASSERT_OK(run(f));
	ASSERT(f->res.unchanged);
	ASSERT_EQ(f->res.downloaded, 0);
	ASSERT_STREQ(f->res.revision, rev1);
	ASSERT(!exists(f, "apps/a.yaml"));

	/* Added. */
	put(store, f->o.bucket, "apps/c.yaml", "c: 1\n");
	ASSERT_OK(run(f));
	ASSERT(!f->res.unchanged);
	ASSERT_EQ(f->res.objects, 3);
	ASSERT(exists(f, "apps/c.yaml"));
	memcpy(rev2, f->res.revision, sizeof(rev2));
	ASSERT(!streq(rev1, rev2));

	/* Changed. */
	f->o.last_revision = rev2;
	put(store, f->o.bucket, "apps/a.yaml", "a: 2\n");
	ASSERT_OK(run(f));
	ASSERT(!f->res.unchanged);
	s = file(f, "apps/a.yaml");
	ASSERT_STREQ(s, "a: 2");
	free(s);
	ASSERT(!streq(f->res.revision, rev2));

	/* Deleted. */
	free(itest_sh(OBJ " %s rm %s apps/c.yaml && echo ok", store, f->o.bucket));
	ASSERT_OK(run(f));
	ASSERT_EQ(f->res.objects, 2);
	ASSERT(!exists(f, "apps/c.yaml"));
}

TEST(s3_lifecycle_and_flux_revision)
{
	struct run f = { 0 };
	char *want;

	mkbucket("s3", "life");
	s3_opts(&f, "life");
	lifecycle("s3", &f);
	/*
	 * Flux's revision, recomputed from the objects themselves: versitygw's
	 * ETag of a single-part object is its MD5.
	 */
	want = itest_sh("cd '%s' && for k in apps/a.yaml apps/deep/b.yaml; do "
		  "printf '%%s %%s\\n' \"$k\" \"$(md5sum < \"$k\" | cut -d' ' -f1)\"; done | "
		  "sha256sum | cut -d' ' -f1", f.dir);
	ASSERT_STREQ(f.res.revision + 7, want);
	free(want);
	run_release(&f);
}

TEST(azure_lifecycle_shared_key)
{
	struct run f = { 0 };

	mkbucket("az", "life");
	az_opts(&f, "life");
	lifecycle("az", &f);
	run_release(&f);
}

TEST(prefix_and_ignore)
{
	static const char *const stores[] = { "s3", "az" };
	struct run f = { 0 };
	size_t i;

	for (i = 0; i < 2; i++) {
		mkbucket(stores[i], "prefix");
		put(stores[i], "prefix", "one/a.yaml", "a\n");
		put(stores[i], "prefix", "one/b.txt", "b\n");
		put(stores[i], "prefix", "one/sub/c.yaml", "c\n");
		put(stores[i], "prefix", "two/d.yaml", "d\n");
		if (i == 0)
			s3_opts(&f, "prefix");
		else
			az_opts(&f, "prefix");
		f.o.prefix = "one/";
		f.o.ignore = "*.txt\n/one/sub/\n";
		f.o.page_size = 1; /* a page per object: continuation tokens, markers */
		ASSERT_OK(run(&f));
		ASSERT_EQ(f.res.objects, 1);
		ASSERT_EQ(f.res.pages, 3);
		ASSERT(exists(&f, "one/a.yaml"));
		ASSERT(!exists(&f, "one/b.txt"));
		ASSERT(!exists(&f, "one/sub/c.yaml"));
		ASSERT(!exists(&f, "two/d.yaml"));
		run_release(&f);
	}
}

TEST(s3_failures_name_their_cause)
{
	struct run f = { 0 };

	mkbucket("s3", "fail");
	s3_opts(&f, "fail");
	f.o.secret_key = "not-the-secret";
	ASSERT_EQ(run(&f), -EACCES);
	ASSERT_CONTAINS(f.err.msg, "failed to confirm existence of 'fail' bucket");
	ASSERT_CONTAINS(f.err.msg, "SignatureDoesNotMatch");
	ASSERT(!strstr(f.err.msg, "not-the-secret"));

	s3_opts(&f, "fail");
	f.o.access_key = "nobody";
	ASSERT_EQ(run(&f), -EACCES);
	ASSERT_CONTAINS(f.err.msg, "access key");

	s3_opts(&f, "fail");
	f.o.access_key = f.o.secret_key = NULL;
	ASSERT_EQ(run(&f), -EACCES); /* anonymous: refused */

	s3_opts(&f, "no-such-bucket");
	ASSERT_EQ(run(&f), -ENOENT);
	ASSERT_STREQ(f.err.msg, "bucket 'no-such-bucket' not found");

	/* TLS without the servers' CA, then with it. */
	s3_opts(&f, "fail");
	f.o.endpoint = itest_env("S3_TLS_ENDPOINT");
	f.o.insecure = false;
	ASSERT_EQ(run(&f), -EPROTO);
	f.o.ca_pem = itest_slurp(itest_env("TEST_CA"));
	ASSERT_OK(run(&f));
	free((char *)f.o.ca_pem);
	run_release(&f);
}

TEST(s3_through_the_proxy)
{
	struct run f = { 0 };
	char *before, *after;

	mkbucket("s3", "proxied");
	put("s3", "proxied", "x.yaml", "x\n");
	s3_opts(&f, "proxied");
	f.o.proxy_url = itest_env("PROXY_URL");
	f.o.proxy_user = itest_env("PROXY_USER");
	f.o.proxy_pass = "wrong";
	ASSERT(run(&f) < 0);
	f.o.proxy_pass = itest_env("PROXY_PASSWORD");
	before = itest_sh("grep -c CONNECT '%s' || true", itest_env("PROXY_LOG"));
	ASSERT_OK(run(&f));
	after = itest_sh("grep -c CONNECT '%s' || true", itest_env("PROXY_LOG"));
	ASSERT(strtol(after, NULL, 10) > strtol(before, NULL, 10));
	free(before);
	free(after);
	run_release(&f);
}

TEST(azure_sas_and_failures)
{
	struct run f = { 0 };
	char *sas;

	mkbucket("az", "sas");
	put("az", "sas", "x.yaml", "x\n");
	az_opts(&f, "sas");
	f.o.account_key = NULL;
	sas = itest_sh(OBJ " az sas sas rl 2099-01-01T00:00:00Z");
	f.o.sas = sas;
	ASSERT_OK(run(&f));
	ASSERT_EQ(f.res.objects, 1);
	free(sas);

	sas = itest_sh(OBJ " az sas sas rl 2020-01-01T00:00:00Z");
	f.o.sas = sas;
	ASSERT_EQ(run(&f), -EACCES);
	ASSERT_CONTAINS(f.err.msg, "the SAS token expired at 2020-01-01T00:00:00Z");
	ASSERT(!strstr(f.err.msg, "sig="));
	free(sas);

	az_opts(&f, "sas");
	f.o.account_key = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXk=";
	ASSERT_EQ(run(&f), -EACCES);
	ASSERT_CONTAINS(f.err.msg, "failed to confirm existence of 'sas' bucket");
	ASSERT_CONTAINS(f.err.msg, "AuthorizationFailure");

	az_opts(&f, "no-such-container");
	ASSERT_EQ(run(&f), -ENOENT);
	ASSERT_STREQ(f.err.msg, "bucket 'no-such-container' not found");
	run_release(&f);
}

static long peak_rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/*
 * Many objects, `page` a listing page, memory bounded: S3's 10 000.
 * (Azurite takes 25-100 ms to store a blob once it holds thousands: its
 * 10 000 are in test/e2e/bucket.sh, written while other tests run; its
 * markers are paged here in prefix_and_ignore.)
 */
static void many(const char *store, unsigned n, unsigned page)
{
	struct run f = { 0 };
	struct timespec t0, t1;
	long before;

	mkbucket(store, "many");
	free(itest_sh(OBJ " %s fill many objs/ %u && echo ok", store, n));
	if (streq(store, "s3"))
		s3_opts(&f, "many");
	else
		az_opts(&f, "many");
	f.o.page_size = page;
	f.o.timeout_s = 300;
	before = peak_rss_kib();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_OK(run(&f));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "# %s: %u objects in %.1f s, %llu pages, peak RSS %ld -> %ld KiB\n",
		store, n, (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
		(unsigned long long)f.res.pages, before, peak_rss_kib());
	ASSERT_EQ(f.res.objects, n);
	ASSERT_EQ(f.res.downloaded, n);
	ASSERT(f.res.pages >= n / page && f.res.pages <= n / page + 1);
	{
		char *last = xasprintf("objs/%05u.yaml", n - 1);

		ASSERT(exists(&f, last));
		free(last);
	}
	/*
	 * The index (keys and ETags) and a page, not the objects: < 32 MiB
	 * more (ASan's quarantine and shadow memory take more).
	 */
#if defined(__SANITIZE_ADDRESS__)
	ASSERT(peak_rss_kib() - before < 512 * 1024);
#else
	ASSERT(peak_rss_kib() - before < 32 * 1024);
#endif
	run_release(&f);
}

TEST(s3_ten_thousand_objects)
{
	many("s3", 10000, 1000);
}

