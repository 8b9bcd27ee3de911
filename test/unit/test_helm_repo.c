/*
 * test_helm_repo.c: lib/helm/repo.c — a repository index read streaming,
 * the version source-controller picks, chart URLs as Helm resolves them
 * (expected values from Go's net/url with Helm's ResolveReferenceURL),
 * the index revision, and yj_parse_visit() under it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/path.h"
#include "base/str.h"
#include "helm/helm.h"
#include "yj/yj.h"
#include "harness.h"

static char *load(const char *rel, size_t *len)
{
	char path[512], *data;

	snprintf(path, sizeof(path), "%s/helmrepo/%s", harness_datadir(), rel);
	if (path_read_file(path, 1 << 20, &data, len) < 0)
		harness__fail(__FILE__, __LINE__, "cannot read %s", path);
	return data;
}

static struct helm_index_chart read_chart(const char *yaml, const char *chart)
{
	struct helm_index_chart c;
	struct op_err err;

	if (helm_index_read_chart(yaml, strlen(yaml), chart, NULL, &c, &err) < 0)
		harness__fail(__FILE__, __LINE__, "index: %s", err.msg);
	return c;
}

/* The version picked for `want`, or the error's text. */
static void expect_pick(const struct helm_index_chart *c, const char *want, const char *expect)
{
	const struct helm_index_version *v = NULL;
	struct op_err err;
	int r = helm_index_pick(c, want, &v, &err);

	if (r < 0 && !strstr(err.msg, expect))
		harness__fail(__FILE__, __LINE__, "'%s': got error '%s', want '%s'", want, err.msg,
			      expect);
	if (r == 0 && !streq(v->version, expect))
		harness__fail(__FILE__, __LINE__, "'%s': got %s, want %s", want, v->version, expect);
}

TEST(index_from_helm_repo_index)
{
	size_t len;
	char *data = load("index-relative.yaml", &len);
	struct helm_index_chart c;
	struct op_err err;
	static const char *const sorted[] = { "2.0.0-alpha.1", "1.4",           "v1.3.0",
					      "1.2.0-rc.1",    "1.1.0+build.2", "1.1.0",
					      "1.0.0" };
	size_t i;

	ASSERT_OK(helm_index_read_chart(data, len, "mychart", NULL, &c, &err));
	ASSERT(c.found);
	ASSERT_EQ(c.n, 7);
	ASSERT_EQ(c.entries, 10);
	for (i = 0; i < c.n; i++)
		ASSERT_STREQ(c.v[i].version, sorted[i]);
	ASSERT_EQ(c.v[6].nurls, 1);
	ASSERT_STREQ(c.v[6].urls[0], "mychart-1.0.0.tgz");
	ASSERT(str_startswith(c.v[6].digest, "") && strlen(c.v[6].digest) == 64);
	ASSERT(c.v[6].created_ns > 0);
	/*
	 * Flux reads versions strictly: "1.4" is not MAJOR.MINOR.PATCH, so
	 * the latest stable is v1.3.0 (the helm CLI would take 1.4).
	 */
	expect_pick(&c, "", "v1.3.0");
	expect_pick(&c, "*", "v1.3.0");
	expect_pick(&c, "1.4", "1.4");               /* exact text first */
	expect_pick(&c, ">=1.2.0-0", "2.0.0-alpha.1"); /* prereleases when asked */
	expect_pick(&c, "<1.3.0", "1.1.0"); /* of equal versions, the later created (.931 s) */
	expect_pick(&c, "~1.0", "1.0.0");
	expect_pick(&c, "1.1.0", "1.1.0");
	expect_pick(&c, "1.1.0+build.2", "1.1.0+build.2");
	expect_pick(&c, ">5", "no 'mychart' chart with version matching '>5' found");
	expect_pick(&c, ">>1", "improper constraint");
	helm_index_chart_release(&c);

	ASSERT_OK(helm_index_read_chart(data, len, "nothere", NULL, &c, &err));
	ASSERT(!c.found);
	expect_pick(&c, "", "no chart name found");
	helm_index_chart_release(&c);

	ASSERT_OK(helm_index_read_chart(data, len, NULL, NULL, &c, &err));
	ASSERT_EQ(c.n, 0);
	ASSERT_EQ(c.entries, 10);
	helm_index_chart_release(&c);
	free(data);

	data = load("index-absolute.yaml", &len);
	ASSERT_OK(helm_index_read_chart(data, len, "etcd", NULL, &c, &err));
	ASSERT_EQ(c.n, 1);
	ASSERT_STREQ(c.v[0].urls[0], "https://charts.example.com/stable/etcd-12.0.20.tgz");
	expect_pick(&c, "^12", "12.0.20");
	helm_index_chart_release(&c);
	free(data);
}

TEST(index_revision_is_the_file_digest)
{
	size_t len;
	char *data = load("index-relative.yaml", &len);
	char rev[72];

	/* sha256sum test/data/helmrepo/index-relative.yaml */
	helm_index_revision(data, len, rev);
	ASSERT_STREQ(rev,
		     "sha256:7d8f657b96cd881b4dd7b2af763c603d988399fd35ed6ada40e26c1d6c6be4dd");
	free(data);
}

TEST(index_ties_and_validation)
{
	/* Equal versions: the later `created` wins whatever the file order. */
	struct helm_index_chart c = read_chart(
		"apiVersion: v1\n"
		"entries:\n"
		"  a:\n"
		"  - {name: a, version: 1.0.0+old, created: \"2024-01-01T00:00:00Z\", urls: [old.tgz]}\n"
		"  - {name: a, version: 1.0.0+new, created: \"2024-02-01T00:00:00+01:00\", urls: [new.tgz]}\n"
		"  - {name: a, version: 1.0.0+mid, created: \"2024-01-15T00:00:00Z\"}\n"
		"  - {name: a, version: not-semver}\n"
		"  - {name: a}\n"
		"  - {name: a/b, version: 3.0.0}\n"
		"  - {name: a, version: 4.0.0, type: weird}\n"
		"  - {name: a, version: 0.9.0, type: library}\n"
		"  b:\n"
		"  - null\n"
		"  - {name: b, version: 9.9.9}\n",
		"a");

	ASSERT_EQ(c.n, 4); /* invalid versions dropped, as Helm's index loader does */
	ASSERT_EQ(c.entries, 10);
	ASSERT_STREQ(c.v[0].version, "1.0.0+old"); /* sorted stable: file order kept */
	ASSERT_STREQ(c.v[3].version, "0.9.0");
	expect_pick(&c, "", "1.0.0+new");
	expect_pick(&c, "1.0.0", "1.0.0+new");
	expect_pick(&c, "1.0.0+mid", "1.0.0+mid");
	expect_pick(&c, "<1", "0.9.0");
	helm_index_chart_release(&c);

	c = read_chart("apiVersion: v1\nentries:\n  a: []\n", "a");
	ASSERT(c.found);
	expect_pick(&c, "", "no chart version found");
	helm_index_chart_release(&c);

	/* JSON is an index too. */
	c = read_chart("{\"apiVersion\":\"v1\",\"entries\":{\"a\":[{\"name\":\"a\",\"version\":"
		       "\"1.2.3\",\"urls\":[\"https://x/a-1.2.3.tgz\"]}]}}",
		       "a");
	ASSERT_EQ(c.n, 1);
	ASSERT_STREQ(c.v[0].urls[0], "https://x/a-1.2.3.tgz");
	helm_index_chart_release(&c);
}

TEST(index_errors)
{
	static const struct {
		const char *yaml, *msg;
	} cases[] = {
		{ "", "empty index.yaml file" },
		{ "entries: {}\n", "no API version specified" },
		{ "apiVersion: \"\"\n", "no API version specified" },
		{ "- a\n", "not a mapping" },
		{ "apiVersion: v1\nentries: [1]\n", "entries is not a mapping" },
		{ "apiVersion: v1\nentries:\n  a:\n  - 5\n", "chart 'a': a version is not a mapping" },
		{ "apiVersion: v1\nentries:\n  a:\n  - {name: a, version: 1.0.0, urls: x}\n",
		  "chart 'a': urls is not a list" },
		{ "apiVersion: v1\nentries:\n  a:\n  - {name: a, version: 1.0.0, urls: [[x]]}\n",
		  "chart 'a': a url is not a string" },
		{ "apiVersion: v1\nentries:\n  a:\n  - {name: a, version: 1.0.0, created: yesterday}\n",
		  "created 'yesterday' is not an RFC 3339 time" },
		{ "apiVersion: v1\nentries:\n  a:\n  - {name: a, version: 1.0.0, digest: [x]}\n",
		  "field 'digest' is not a string" },
		{ "apiVersion: v1\nentries:\n  a:\n  - {name: a, version: [\n",
		  "line 5" },
	};
	struct helm_index_chart c;
	struct op_err err;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = helm_index_read_chart(cases[i].yaml, strlen(cases[i].yaml), "a", NULL, &c,
					      &err);

		if (r != -EINVAL || !strstr(err.msg, cases[i].msg))
			harness__fail(__FILE__, __LINE__, "case %zu: r=%d '%s', want '%s'", i, r,
				      r < 0 ? err.msg : "", cases[i].msg);
	}
}

TEST(strict_versions)
{
	static const char *const good[] = { "1.2.3", "v1.2.3", "0.0.0", "1.2.3-rc.1",
					    "1.2.3-0a.1", "1.2.3+b.01", "10.20.30-x-y+z" };
	static const char *const bad[] = { "1.2", "1", "01.2.3", "1.02.3", "1.2.3-01",
					   "1.2.3-", "1.2.3+", "1.2.3-a..b", "1.2.3.4", "V1.2.3",
					   "1.2.x", "" };
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!helm_version_strict(good[i]))
			harness__fail(__FILE__, __LINE__, "%s refused", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (helm_version_strict(bad[i]))
			harness__fail(__FILE__, __LINE__, "%s accepted", bad[i]);
}

TEST(chart_urls_as_helm)
{
	/* Expected values: Helm's ResolveReferenceURL run with Go 1.x net/url. */
	static const struct {
		const char *base, *ref, *want;
	} cases[] = {
		{ "https://charts.example.com/stable", "mychart-1.0.0.tgz",
		  "https://charts.example.com/stable/mychart-1.0.0.tgz" },
		{ "https://charts.example.com/stable/", "mychart-1.0.0.tgz",
		  "https://charts.example.com/stable/mychart-1.0.0.tgz" },
		{ "https://charts.example.com/stable//", "mychart-1.0.0.tgz",
		  "https://charts.example.com/stable//mychart-1.0.0.tgz" },
		{ "https://charts.example.com", "mychart-1.0.0.tgz",
		  "https://charts.example.com/mychart-1.0.0.tgz" },
		{ "https://charts.example.com/a/b", "../c/x.tgz", "https://charts.example.com/a/c/x.tgz" },
		{ "https://charts.example.com/a/b", "/abs/x.tgz", "https://charts.example.com/abs/x.tgz" },
		{ "https://charts.example.com/a/b", "./x.tgz", "https://charts.example.com/a/b/x.tgz" },
		{ "https://charts.example.com/a/b", "../../../x.tgz", "https://charts.example.com/x.tgz" },
		{ "https://charts.example.com/a/b?token=1", "x.tgz",
		  "https://charts.example.com/a/b/x.tgz?token=1" },
		{ "https://charts.example.com/a/b?token=1", "x.tgz?other=2",
		  "https://charts.example.com/a/b/x.tgz?token=1" },
		{ "https://charts.example.com/a/b", "x.tgz#frag",
		  "https://charts.example.com/a/b/x.tgz#frag" },
		{ "https://charts.example.com/a/b", "//mirror.example.org/p/x.tgz",
		  "https://mirror.example.org/p/x.tgz" },
		{ "https://charts.example.com/a/b", "https://other.example.org/x.tgz",
		  "https://other.example.org/x.tgz" },
		{ "https://charts.example.com/a/b", "oci://reg.example.org/x", "oci://reg.example.org/x" },
		{ "http://127.0.0.1:8080/charts", "sub/dir/x-1.0.0.tgz",
		  "http://127.0.0.1:8080/charts/sub/dir/x-1.0.0.tgz" },
		{ "https://charts.example.com/a/b", "sub/./x/../y.tgz",
		  "https://charts.example.com/a/b/sub/y.tgz" },
		{ "https://charts.example.com/a/b", "a:b.tgz", "a:b.tgz" },
		{ "https://charts.example.com/a/b", ".", "https://charts.example.com/a/b/" },
		{ "https://charts.example.com/a/b", "..", "https://charts.example.com/a/" },
	};
	struct op_err err;
	char *got;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (helm_index_chart_url(cases[i].base, cases[i].ref, &got, &err) < 0)
			harness__fail(__FILE__, __LINE__, "%s + %s: %s", cases[i].base, cases[i].ref,
				      err.msg);
		if (!streq(got, cases[i].want))
			harness__fail(__FILE__, __LINE__, "%s + %s: got %s, want %s", cases[i].base,
				      cases[i].ref, got, cases[i].want);
		free(got);
	}
	ASSERT(helm_index_chart_url("https://x/a", ":x.tgz", &got, &err) == -EINVAL);
	ASSERT_CONTAINS(err.msg, "missing protocol scheme");
}

/* ---- yj_parse_visit() ---- */

struct seen {
	struct buf log;
	size_t n;
	int fail_at;
};

static int record(const char *const *path, size_t depth, cJSON *node, void *payload)
{
	struct seen *s = payload;
	char *j = cJSON_PrintUnformatted(node);
	size_t i;

	for (i = 0; i < depth; i++)
		buf_addf(&s->log, "%s/", path[i] ? path[i] : "-");
	buf_addf(&s->log, "=%s;", j);
	free(j);
	cJSON_Delete(node);
	if (++s->n == (size_t)s->fail_at)
		return -ECANCELED;
	return 0;
}

TEST(yj_visit_hands_over_nodes)
{
	const char *y = "a: 1\n"
			"b:\n"
			"  x: [1, {k: v}]\n"
			"  w: &anc {p: 1}\n"
			"  z: *anc\n"
			"  <<: {m: 2}\n"
			"c: [[1, 2], [3]]\n";
	struct seen s = { .log = BUF_INIT(1 << 20) };
	struct op_err err;
	cJSON *rest = NULL;
	char *j;

	ASSERT_OK(yj_parse_visit(y, strlen(y), NULL, 2, record, &s, &rest, &err));
	ASSERT_STREQ(s.log.buf, "b/x/=[1,{\"k\":\"v\"}];b/w/={\"p\":1};b/z/={\"p\":1};c/-/=[1,2];"
				"c/-/=[3];");
	j = cJSON_PrintUnformatted(rest);
	/* What remains: the parents, and a merge (never handed over) in place. */
	ASSERT_STREQ(j, "{\"a\":1,\"b\":{\"m\":2},\"c\":[]}");
	free(j);
	cJSON_Delete(rest);
	buf_release(&s.log);

	/* The visitor's error stops the reading and is returned. */
	s = (struct seen){ .log = BUF_INIT(1 << 20), .fail_at = 2 };
	ASSERT_EQ(yj_parse_visit(y, strlen(y), NULL, 2, record, &s, NULL, &err), -ECANCELED);
	ASSERT_EQ(s.n, 2);
	buf_release(&s.log);

	/* max_nodes counts what is held, not what was handed over. */
	{
		struct yj_limits lim = YJ_LIMITS_DEFAULT;
		struct buf big = BUF_INIT(1 << 20);
		int i;

		lim.max_nodes = 100;
		buf_adds(&big, "l:\n");
		for (i = 0; i < 1000; i++)
			buf_adds(&big, "- [1, 2, 3]\n");
		s = (struct seen){ .log = BUF_INIT(1 << 20) };
		ASSERT_OK(yj_parse_visit(big.buf, big.len, &lim, 2, record, &s, NULL, &err));
		ASSERT_EQ(s.n, 1000);
		ASSERT(yj_parse_visit(big.buf, big.len, &lim, 1, record, &s, NULL, &err) == -E2BIG);
		buf_release(&s.log);
		buf_release(&big);
	}
	ASSERT(yj_parse_visit("a: 1", 4, NULL, 0, record, &s, NULL, &err) == -EINVAL);
}

/* ---- the memory bound ---- */

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* A /proc/self/status field in KiB, or -1. */
static long status_kib(const char *field)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (str_startswith(line, field) && line[strlen(field)] == ':')
			v = strtol(line + strlen(field) + 1, NULL, 10);
	fclose(f);
	return v;
}

/* An index as public repositories write them: `charts` charts of `versions` versions. */
static void make_index(struct buf *b, int charts, int versions)
{
	int c, v;

	buf_adds(b, "apiVersion: v1\nentries:\n");
	for (c = 0; c < charts; c++) {
		buf_addf(b, "  chart-%d:\n", c);
		for (v = versions - 1; v >= 0; v--)
			buf_addf(b,
				 "  - annotations:\n"
				 "      category: Infrastructure\n"
				 "      licenses: Apache-2.0\n"
				 "    apiVersion: v2\n"
				 "    appVersion: %d.%d.0\n"
				 "    created: \"2024-05-%02dT10:%02d:00.123456789Z\"\n"
				 "    dependencies:\n"
				 "    - name: common\n"
				 "      repository: oci://registry-1.docker.io/charts\n"
				 "      tags:\n"
				 "      - bitnami-common\n"
				 "      version: 2.x.x\n"
				 "    description: Chart %d is a generated chart that stands for a "
				 "public one, with a description of typical length.\n"
				 "    digest: %064x\n"
				 "    home: https://example.com/charts/chart-%d\n"
				 "    icon: https://example.com/icons/chart-%d.svg\n"
				 "    keywords:\n"
				 "    - generated\n"
				 "    - test\n"
				 "    maintainers:\n"
				 "    - name: Maintainer\n"
				 "      url: https://example.com/maintainers\n"
				 "    name: chart-%d\n"
				 "    sources:\n"
				 "    - https://example.com/src/chart-%d\n"
				 "    urls:\n"
				 "    - https://example.com/charts/chart-%d-%d.%d.%d.tgz\n"
				 "    version: %d.%d.%d\n",
				 v / 10, v % 10, 1 + v % 28, v % 60, c, c * 1000 + v, c, c, c, c, c,
				 v / 100, (v / 10) % 10, v % 10, v / 100, (v / 10) % 10, v % 10);
	}
}

TEST(large_index_within_twice_its_size)
{
#ifdef UNDER_ASAN
	const int charts = 40; /* the sanitizers' allocator is not what is measured */
#else
	const int charts = 350; /* 30.6 MB */
#endif
	struct buf b = BUF_INIT(64u << 20);
	const struct helm_index_version *v;
	struct helm_index_chart c;
	struct yj_limits lim = YJ_LIMITS_DEFAULT;
	struct op_err err;
	long base, hwm;
	bool reset = false;
	FILE *f;

	make_index(&b, charts, 100);
	/* Reset the peak RSS (Linux "clear_refs" 5), then read. */
	f = fopen("/proc/self/clear_refs", "w");
	if (f) {
		reset = fputs("5", f) >= 0;
		reset = fclose(f) == 0 && reset;
	}
	base = status_kib("VmRSS");
	ASSERT_OK(helm_index_read_chart(b.buf, b.len, "chart-7", &lim, &c, &err));
	hwm = status_kib("VmHWM");
	ASSERT_EQ(c.entries, (size_t)charts * 100);
	ASSERT_EQ(c.n, 100);
	ASSERT_OK(helm_index_pick(&c, "~0.5", &v, &err));
	ASSERT_STREQ(v->version, "0.5.9");
	ASSERT_STREQ(v->urls[0], "https://example.com/charts/chart-7-0.5.9.tgz");
	printf("# index of %zu bytes: RSS %ld KiB before reading, peak %ld KiB\n", b.len, base,
	       hwm);
#ifndef UNDER_ASAN
	ASSERT(b.len > 30000000);
	/* The input is in `base`: what reading adds stays under the input's size. */
	if (reset && base > 0 && hwm > 0)
		ASSERT((size_t)(hwm - base) * 1024 < b.len);
#endif
	helm_index_chart_release(&c);
	/* The normalised artifact, written streaming: the same bound. */
	{
		char sp[512], op[512];
		struct helm_index_json_stats js;
		int sfd, ofd;

		snprintf(sp, sizeof(sp), "%s/big-scratch", harness_tmpdir());
		snprintf(op, sizeof(op), "%s/big.json", harness_tmpdir());
		sfd = open(sp, O_RDWR | O_CREAT | O_TRUNC, 0600);
		ofd = open(op, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		ASSERT(sfd >= 0 && ofd >= 0);
		f = fopen("/proc/self/clear_refs", "w");
		if (f) {
			reset = fputs("5", f) >= 0;
			reset = fclose(f) == 0 && reset;
		}
		base = status_kib("VmRSS");
		if (helm_index_write_json(b.buf, b.len, sfd, ofd, &lim, &js, &err) < 0)
			harness__fail(__FILE__, __LINE__, "%s", err.msg);
		hwm = status_kib("VmHWM");
		ASSERT_EQ(js.charts, (size_t)charts);
		ASSERT_EQ(js.versions, (size_t)charts * 100);
		printf("# normalised JSON: RSS %ld KiB before, peak %ld KiB\n", base, hwm);
#ifndef UNDER_ASAN
		if (reset && base > 0 && hwm > 0)
			ASSERT((size_t)(hwm - base) * 1024 < b.len);
#endif
		close(sfd);
		close(ofd);
		unlink(sp);
		unlink(op);
	}
	buf_release(&b);
}

/* helm_index_write_json() of `yaml` into a string (NULL on error, with `err`). */
static char *index_json(const char *yaml, size_t len, struct op_err *err)
{
	char sp[512], op[512], *out = NULL;
	size_t n;
	int s, o, r;

	snprintf(sp, sizeof(sp), "%s/index-scratch", harness_tmpdir());
	snprintf(op, sizeof(op), "%s/index.json", harness_tmpdir());
	s = open(sp, O_RDWR | O_CREAT | O_TRUNC, 0600);
	o = open(op, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ASSERT(s >= 0 && o >= 0);
	r = helm_index_write_json(yaml, len, s, o, NULL, NULL, err);
	close(s);
	close(o);
	if (r == 0)
		ASSERT_OK(path_read_file(op, 64u << 20, &out, &n));
	unlink(sp);
	unlink(op);
	return out;
}

/*
 * The artifact as source-controller writes it: expected text worked out
 * from encoding/json's MarshalIndent of helm's repo.IndexFile (field
 * order, omitempty, zero times, HTML escaping, map keys sorted, a
 * dropped invalid version, versions highest first).
 */
TEST(index_json_as_flux_writes_it)
{
	static const char yaml[] =
		"apiVersion: v1\n"
		"generated: \"2024-01-02T03:04:05.500+02:00\"\n"
		"entries:\n"
		"  zeta:\n"
		"  - name: zeta\n"
		"    version: 1.0.0\n"
		"    description: a <b> & c\n"
		"    urls: [zeta-1.0.0.tgz]\n"
		"    created: \"2024-01-01T00:00:00.000000000Z\"\n"
		"    digest: abc\n"
		"  - name: zeta\n"
		"    version: 2.0.0\n"
		"    apiVersion: v2\n"
		"    annotations: {b: \"2\", a: \"1\"}\n"
		"    dependencies:\n"
		"    - name: dep\n"
		"      repository: https://x\n"
		"      version: 1.x\n"
		"  - name: zeta\n"
		"    version: not-semver\n"
		"  alpha:\n"
		"  - name: alpha\n"
		"    version: 0.1.0\n"
		"    removed: true\n"
		"    urls: []\n"
		"  empty: []\n";
	static const char want[] =
		"{\n"
		"  \"apiVersion\": \"v1\",\n"
		"  \"generated\": \"2024-01-02T03:04:05.5+02:00\",\n"
		"  \"entries\": {\n"
		"    \"alpha\": [\n"
		"      {\n"
		"        \"name\": \"alpha\",\n"
		"        \"version\": \"0.1.0\",\n"
		"        \"apiVersion\": \"v1\",\n"
		"        \"urls\": [],\n"
		"        \"created\": \"0001-01-01T00:00:00Z\",\n"
		"        \"removed\": true\n"
		"      }\n"
		"    ],\n"
		"    \"empty\": [],\n"
		"    \"zeta\": [\n"
		"      {\n"
		"        \"name\": \"zeta\",\n"
		"        \"version\": \"2.0.0\",\n"
		"        \"apiVersion\": \"v2\",\n"
		"        \"annotations\": {\n"
		"          \"a\": \"1\",\n"
		"          \"b\": \"2\"\n"
		"        },\n"
		"        \"dependencies\": [\n"
		"          {\n"
		"            \"name\": \"dep\",\n"
		"            \"version\": \"1.x\",\n"
		"            \"repository\": \"https://x\"\n"
		"          }\n"
		"        ],\n"
		"        \"urls\": null,\n"
		"        \"created\": \"0001-01-01T00:00:00Z\"\n"
		"      },\n"
		"      {\n"
		"        \"name\": \"zeta\",\n"
		"        \"version\": \"1.0.0\",\n"
		"        \"description\": \"a \\u003cb\\u003e \\u0026 c\",\n"
		"        \"apiVersion\": \"v1\",\n"
		"        \"urls\": [\n"
		"          \"zeta-1.0.0.tgz\"\n"
		"        ],\n"
		"        \"created\": \"2024-01-01T00:00:00Z\",\n"
		"        \"digest\": \"abc\"\n"
		"      }\n"
		"    ]\n"
		"  }\n"
		"}";
	struct op_err err;
	char *got = index_json(yaml, sizeof(yaml) - 1, &err);

	if (!got)
		harness__fail(__FILE__, __LINE__, "%s", err.msg);
	ASSERT_STREQ(got, want);
	free(got);
	/* A document without entries, and the errors IndexFromBytes gives. */
	got = index_json("apiVersion: v1\n", 15, &err);
	ASSERT_STREQ(got, "{\n  \"apiVersion\": \"v1\",\n  \"generated\": \"0001-01-01T00:00:00Z\",\n"
			  "  \"entries\": null\n}");
	free(got);
	ASSERT_NULL(index_json("entries: {}\n", 12, &err));
	ASSERT_STREQ(err.msg, "no API version specified");
	ASSERT_NULL(index_json("", 0, &err));
	ASSERT_STREQ(err.msg, "empty index.yaml file");
}
