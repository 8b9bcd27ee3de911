/*
 * test_helm.c: lib/helm's pieces that need no template engine: chart
 * loading (directories, .helmignore, archives, hostile archives), Chart.yaml
 * typing and validation, values and --set parsing, coalescing, dependency
 * processing, manifest splitting and ordering, what `helm template` prints,
 * values.schema.json, release records.  Expected results are Helm v3.21's
 * (read from its source and checked with the pinned helm binary); the
 * whole render is compared with helm itself by helm_diff.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <zlib.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "base/path.h"
#include "base/str.h"
#include "harness.h"
#include "helm/helm.h"
#include "helm/internal.h"
#include "source/artifact.h"
#include "yj/yj.h"

#define put harness_put

static cJSON *json(const char *s)
{
	cJSON *j = cJSON_Parse(s);

	ASSERT_NOT_NULL(j);
	return j;
}

/* Canonical JSON text of `j` (freed by the caller). */
static char *canon(const cJSON *j)
{
	struct buf b = BUF_INIT(1 << 24);

	ASSERT_OK(yj_print_canonical(j, &b));
	return buf_detach(&b, NULL);
}

#define ASSERT_JSON(j, want)                                                                       \
	do {                                                                                       \
		char *c__ = canon(j);                                                              \
		ASSERT_STREQ(c__, want);                                                           \
		free(c__);                                                                         \
	} while (0)

static const struct helm_file *find_file(const struct helm_file *v, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (streq(v[i].name, name))
			return &v[i];
	return NULL;
}

/* ---- loading ---- */

TEST(load_dir_classifies_files)
{
	const char *d = harness_tmpdir();
	struct helm_chart *c = NULL;
	struct op_err err = OP_ERR_INIT;

	put(d, "Chart.yaml", "apiVersion: v2\nname: top\nversion: 1.2.3\n"
			     "dependencies:\n- name: sub\n  version: '>=0.1'\n  repository: x\n");
	put(d, "values.yaml", "a: 1\nb: {c: true}\n");
	put(d, "values.schema.json", "{}");
	put(d, "templates/deploy.yaml", "kind: Deployment\n");
	put(d, "templates/sub/_h.tpl", "{{ define \"x\" }}{{ end }}");
	put(d, "templates/.hidden.yaml", "ignored by Helm's default rule");
	put(d, "crds/c.yaml", "kind: CustomResourceDefinition\n");
	put(d, "README.md", "\xef\xbb\xbfhello");
	put(d, "secret.key", "ignored by .helmignore");
	put(d, ".helmignore", "# comment\n*.key\n");
	put(d, "charts/sub/Chart.yaml", "apiVersion: v2\nname: sub\nversion: 0.1.0\n");
	put(d, "charts/sub/templates/s.yaml", "kind: Service\n");
	put(d, "charts/_skipped/Chart.yaml", "not a chart");
	ASSERT_OK(helm_chart_load_dir(d, NULL, &c, &err));
	ASSERT_STREQ(c->md.name, "top");
	ASSERT_STREQ(c->md.version, "1.2.3");
	ASSERT_EQ(c->ntemplates, 2);
	ASSERT_NOT_NULL(find_file(c->templates, c->ntemplates, "templates/deploy.yaml"));
	ASSERT_NOT_NULL(find_file(c->templates, c->ntemplates, "templates/sub/_h.tpl"));
	ASSERT_NOT_NULL(find_file(c->files, c->nfiles, "crds/c.yaml"));
	ASSERT_NOT_NULL(find_file(c->files, c->nfiles, ".helmignore"));
	/* The BOM is gone. */
	ASSERT_STREQ(find_file(c->files, c->nfiles, "README.md")->data, "hello");
	ASSERT_NULL(find_file(c->files, c->nfiles, "secret.key"));
	ASSERT_NOT_NULL(c->schema.data);
	ASSERT_JSON(c->values, "{\"a\":1,\"b\":{\"c\":true}}");
	ASSERT_EQ(c->ndeps, 1);
	ASSERT_STREQ(c->deps[0]->md.name, "sub");
	ASSERT(c->deps[0]->parent == c);
	helm_chart_free(c);
}

TEST(helmignore_negation_and_dirs)
{
	const char *d = harness_tmpdir();
	struct helm_chart *c = NULL;

	put(d, "Chart.yaml", "apiVersion: v2\nname: t\nversion: 1.0.0\n");
	/* "docs/" ignores the directory; a pattern with '/' matches the path. */
	put(d, ".helmignore", "docs/\nfiles/*.bin\n");
	put(d, "docs/a.txt", "x");
	put(d, "files/a.bin", "x");
	put(d, "files/a.txt", "x");
	ASSERT_OK(helm_chart_load_dir(d, NULL, &c, NULL));
	ASSERT_NULL(find_file(c->files, c->nfiles, "docs/a.txt"));
	ASSERT_NULL(find_file(c->files, c->nfiles, "files/a.bin"));
	ASSERT_NOT_NULL(find_file(c->files, c->nfiles, "files/a.txt"));
	helm_chart_free(c);

	/* Helm's quirk: a "!p" rule that does not match a path ignores it. */
	d = harness_tmpdir();
	put(d, "Chart.yaml", "apiVersion: v2\nname: t\nversion: 1.0.0\n");
	put(d, ".helmignore", "!keep.txt\n");
	put(d, "keep.txt", "x");
	ASSERT_EQ(helm_chart_load_dir(d, NULL, &c, NULL), -EINVAL); /* Chart.yaml ignored too */
}

TEST(helmignore_refuses_double_star)
{
	const char *d = harness_tmpdir();
	struct helm_chart *c = NULL;
	struct op_err err = OP_ERR_INIT;

	put(d, "Chart.yaml", "apiVersion: v2\nname: t\nversion: 1.0.0\n");
	put(d, ".helmignore", "**/x\n");
	ASSERT_EQ(helm_chart_load_dir(d, NULL, &c, &err), -EINVAL);
	ASSERT_STREQ(err.msg, "double-star (**) syntax is not supported");
}

TEST(chart_yaml_typed_as_go)
{
	struct helm_metadata md;
	const char *y = "apiVersion: v2\nname: t\nversion: 1.0\nappVersion: 1.10\n"
			"keywords: [1, true, x]\nannotations: {a: 2}\nDeprecated: yes\n"
			"unknown: [1, 2]\n";

	ASSERT_OK(helm_metadata_parse(y, strlen(y), &md, NULL));
	/* Numbers in string fields are text, floats at float32 precision. */
	ASSERT_STREQ(md.version, "1");
	ASSERT_STREQ(md.app_version, "1.1");
	ASSERT_EQ(md.nkeywords, 3);
	ASSERT_STREQ(md.keywords[0], "1");
	ASSERT_STREQ(md.keywords[1], "true");
	ASSERT_STREQ(yj_get_str(md.annotations, "/a"), "2");
	/* Keys match field names case-insensitively; YAML 1.1 booleans. */
	ASSERT(md.deprecated);
	helm_metadata_release(&md);
}

TEST(chart_yaml_validation_messages)
{
	static const struct {
		const char *yaml, *msg;
	} cases[] = {
		{ "apiVersion: v2\nversion: 1.0.0\n", "validation: chart.metadata.name is required" },
		{ "name: x\n", "validation: chart.metadata.version is required" },
		{ "name: x\nversion: 1.2.3.4\n", "validation: chart.metadata.version \"1.2.3.4\" is invalid" },
		{ "name: ..\nversion: 1.0.0\n", "validation: chart.metadata.name \"..\" is not allowed" },
		{ "name: a/b\nversion: 1.0.0\n", "validation: chart.metadata.name \"a/b\" is invalid" },
		{ "name: x\nversion: 1.0.0\ntype: lib\n",
		  "validation: chart.metadata.type must be application or library" },
		{ "name: x\nversion: 1.0.0\ndependencies:\n- name: a\n  alias: b.c\n",
		  "validation: dependency \"a\" has disallowed characters in the alias" },
		{ "name: x\nversion: 1.0.0\ndependencies:\n- name: a\n- name: b\n  alias: a\n",
		  "validation: more than one dependency with name or alias \"a\"" },
		{ "name: x\nversion: 1.0.0\ndependencies:\n- null\n",
		  "validation: dependencies must not contain empty or null nodes" },
		{ "name: x\nversion: 1.0.0\nmaintainers: [~]\n",
		  "validation: maintainers must not contain empty or null nodes" },
		{ "name: [x]\nversion: 1.0.0\n",
		  "cannot load Chart.yaml: error unmarshaling JSON: while decoding JSON: json: cannot "
		  "unmarshal array into Go struct field Metadata.name of type string" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct helm_metadata md;
		struct op_err err = OP_ERR_INIT;

		ASSERT_EQ(helm_metadata_parse(cases[i].yaml, strlen(cases[i].yaml), &md, &err),
			  -EINVAL);
		ASSERT_STREQ(err.msg, cases[i].msg);
	}
}

TEST(chart_yaml_sanitised_and_v1_default)
{
	struct helm_metadata md;
	const char *y = "name: \"x\\u00a0y\\u200b\"\nversion: v1.2.3-rc.1+b5\n"
			"description: \"tab\\there\"\n"
			"home: \"a\\u0378b\\u2007c\\u0301\\U0001F600\\uE000\"\n";

	ASSERT_OK(helm_metadata_parse(y, strlen(y), &md, NULL));
	ASSERT_STREQ(md.name, "x y");
	ASSERT_STREQ(md.description, "tab here");
	/*
	 * unicode.IsPrint, not a list of what charts usually hold: unassigned
	 * U+0378 and private-use U+E000 go, U+2007 is a space, a combining
	 * mark and an emoji stay.
	 */
	ASSERT_STREQ(md.home, "ab c\xcc\x81\xf0\x9f\x98\x80");
	ASSERT_STREQ(md.api_version, "v1");
	helm_metadata_release(&md);
}

TEST(semver_as_masterminds)
{
	ASSERT(helm__valid_semver("1"));
	ASSERT(helm__valid_semver("v1.2"));
	ASSERT(helm__valid_semver("1.2.3-alpha.1+build.07"));
	ASSERT(!helm__valid_semver("1.2.3-01"));
	ASSERT(!helm__valid_semver("1.2.3.4"));
	ASSERT(!helm__valid_semver("1.2.3_x"));
	ASSERT(helm__compatible_range(">=1.19.0-0", "v1.35.0"));
	ASSERT(helm__compatible_range("2.x.x", "2.31.3"));
	ASSERT(!helm__compatible_range("", "1.0.0"));
	ASSERT(!helm__compatible_range(">=1.20", "1.27.3-eks-1"));
}

/* ---- archives ---- */

struct tarw {
	struct buf b;
};

static void tar_add(struct buf *b, const char *name, char type, const char *data)
{
	char h[512] = { 0 };
	size_t len = data ? strlen(data) : 0, i;
	unsigned sum = 0;

	snprintf(h, 100, "%s", name);
	snprintf(h + 100, 8, "%07o", 0644);
	snprintf(h + 108, 8, "%07o", 0);
	snprintf(h + 116, 8, "%07o", 0);
	snprintf(h + 124, 12, "%011zo", len);
	snprintf(h + 136, 12, "%011o", 0);
	memset(h + 148, ' ', 8);
	h[156] = type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	for (i = 0; i < 512; i++)
		sum += (unsigned char)h[i];
	snprintf(h + 148, 8, "%06o", sum);
	ASSERT_OK(buf_add(b, h, 512));
	if (len) {
		char pad[512] = { 0 };

		ASSERT_OK(buf_add(b, data, len));
		ASSERT_OK(buf_add(b, pad, (512 - len % 512) % 512));
	}
}

/* A .tgz from name/content pairs (NULL-terminated). */
static char *make_tgz(size_t *ret_len, const char *const *pairs)
{
	struct buf tar = BUF_INIT(1 << 24);
	char zeros[1024] = { 0 }, *out;
	z_stream z = { 0 };
	size_t cap;

	for (; pairs[0]; pairs += 2)
		tar_add(&tar, pairs[0], pairs[1] ? '0' : '5', pairs[1]);
	ASSERT_OK(buf_add(&tar, zeros, sizeof(zeros)));
	ASSERT_EQ(deflateInit2(&z, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
	cap = deflateBound(&z, tar.len) + 64;
	out = xmalloc(cap);
	z.next_in = (unsigned char *)tar.buf;
	z.avail_in = (uInt)tar.len;
	z.next_out = (unsigned char *)out;
	z.avail_out = (uInt)cap;
	ASSERT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
	*ret_len = z.total_out;
	deflateEnd(&z);
	buf_release(&tar);
	return out;
}

TEST(archive_strips_first_component)
{
	static const char *const files[] = {
		"anyname/", NULL,
		"anyname/Chart.yaml", "apiVersion: v2\nname: a\nversion: 1.0.0\n",
		"anyname/templates/x.yaml", "\xef\xbb\xbfkind: X\n",
		"anyname/templates/.hidden", "kept: archives skip .helmignore",
		NULL,
	};
	struct helm_chart *c = NULL;
	size_t n;
	char *tgz = make_tgz(&n, files);

	ASSERT_OK(helm_chart_load_archive(tgz, n, NULL, &c, NULL));
	ASSERT_STREQ(c->md.name, "a");
	ASSERT_EQ(c->ntemplates, 2);
	ASSERT_STREQ(find_file(c->templates, c->ntemplates, "templates/x.yaml")->data, "kind: X\n");
	helm_chart_free(c);
	free(tgz);
}

TEST(archive_hostile_paths_refused)
{
	static const struct {
		const char *name, *msg;
	} cases[] = {
		{ "a//etc/passwd", "chart illegally contains absolute paths" },
		{ "a/../../x", "chart illegally references parent directory" },
		{ "a/c:/x", "chart contains illegally named files" },
		{ "Chart.yaml/x", "chart yaml not in base directory" },
		{ "toplevel", "chart illegally contains content outside the base directory: \"toplevel\"" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *files[] = { "a/Chart.yaml", "apiVersion: v2\nname: a\nversion: 1.0.0\n",
					cases[i].name, "x", NULL };
		struct op_err err = OP_ERR_INIT;
		struct helm_chart *c = NULL;
		size_t n;
		char *tgz = make_tgz(&n, files);

		ASSERT_EQ(helm_chart_load_archive(tgz, n, NULL, &c, &err), -EINVAL);
		ASSERT_STREQ(err.msg, cases[i].msg);
		free(tgz);
	}
}

TEST(archive_limits)
{
	struct helm_limits lim = HELM_LIMITS_DEFAULT;
	const char *files[] = { "a/Chart.yaml", "apiVersion: v2\nname: a\nversion: 1.0.0\n",
				"a/big", "0123456789012345678901234567890123456789", NULL };
	struct op_err err = OP_ERR_INIT;
	struct helm_chart *c = NULL;
	size_t n;
	char *tgz = make_tgz(&n, files);

	lim.max_file_bytes = 16;
	ASSERT_EQ(helm_chart_load_archive(tgz, n, &lim, &c, &err), -EFBIG);
	ASSERT_CONTAINS(err.msg, "larger than the maximum file size");
	lim = (struct helm_limits)HELM_LIMITS_DEFAULT;
	lim.max_chart_bytes = 50;
	ASSERT_EQ(helm_chart_load_archive(tgz, n, &lim, &c, &err), -EFBIG);
	free(tgz);
	ASSERT_EQ(helm_chart_load_archive("not gzip", 8, NULL, &c, &err), -EINVAL);
}

TEST(archive_subchart_tgz_and_depth)
{
	const char *inner_files[] = { "sub/Chart.yaml", "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
				      NULL };
	struct helm_limits lim = HELM_LIMITS_DEFAULT;
	struct op_err err = OP_ERR_INIT;
	struct helm_chart *c = NULL;
	size_t in_n, n;
	char *inner = make_tgz(&in_n, inner_files), *tgz, *raw;
	const char *d = harness_tmpdir();
	char *p = xasprintf("%s/top/charts/sub-0.1.0.tgz", d);

	put(d, "top/Chart.yaml", "apiVersion: v2\nname: top\nversion: 1.0.0\n");
	put(d, "top/charts/sub-0.1.0.tgz", "");
	FILE *f = fopen(p, "wb");

	ASSERT_NOT_NULL(f);
	ASSERT_EQ(fwrite(inner, 1, in_n, f), in_n);
	fclose(f);
	raw = xasprintf("%s/top", d);
	ASSERT_OK(helm_chart_load_path(raw, NULL, &c, &err));
	ASSERT_EQ(c->ndeps, 1);
	ASSERT_STREQ(c->deps[0]->md.name, "sub");
	helm_chart_free(c);
	lim.max_chart_depth = 0;
	ASSERT_EQ(helm_chart_load_path(raw, &lim, &c, &err), -E2BIG);
	ASSERT_CONTAINS(err.msg, "error unpacking subchart sub-0.1.0.tgz in top");
	/* A stray file under charts/ is taken for a chart, as Helm does. */
	put(d, "top/charts/README.md", "x");
	ASSERT_EQ(helm_chart_load_path(raw, NULL, &c, &err), -EINVAL);
	ASSERT_STREQ(err.msg, "error unpacking subchart README.md in top: Chart.yaml file is missing");
	(void)tgz;
	(void)n;
	free(raw);
	free(p);
	free(inner);
}

/* ---- values ---- */

TEST(values_read_first_document)
{
	cJSON *v = NULL;
	struct op_err err = OP_ERR_INIT;
	const char *y = "a: 010\nb: y\non: 1\n---\nb: [\n";

	ASSERT_OK(helm_values_read(y, strlen(y), &v, &err));
	/* YAML 1.1: octal, y is true, the key on is "true"; the rest ignored. */
	ASSERT_JSON(v, "{\"a\":8,\"b\":true,\"true\":1}");
	cJSON_Delete(v);
	ASSERT_OK(helm_values_read("", 0, &v, &err));
	ASSERT_JSON(v, "{}");
	cJSON_Delete(v);
	ASSERT_EQ(helm_values_read("- a\n", 4, &v, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "cannot unmarshal array into Go value of type map[string]interface {}");
	/* sigs.k8s.io/yaml's JSON step refuses infinities and NaN, in these words (helm 3.21.4) */
	ASSERT_EQ(helm_values_read("x: .inf\n", 8, &v, &err), -EINVAL);
	ASSERT_STREQ(err.msg, "error converting YAML to JSON: json: unsupported value: +Inf");
	ASSERT_EQ(helm_values_read("x: [-.Inf]\n", 11, &v, &err), -EINVAL);
	ASSERT_STREQ(err.msg, "error converting YAML to JSON: json: unsupported value: -Inf");
	ASSERT_EQ(helm_values_read("x: {y: .NaN}\n", 13, &v, &err), -EINVAL);
	ASSERT_STREQ(err.msg, "error converting YAML to JSON: json: unsupported value: NaN");
}

static char *set(const char *base, const char *expr, enum helm_set_kind kind, int *r,
		 struct op_err *err)
{
	cJSON *v = json(base);
	char *out;

	*r = helm_strvals_parse(v, expr, kind, NULL, NULL, err);
	out = canon(v);
	cJSON_Delete(v);
	return out;
}

TEST(strvals_typing_and_paths)
{
	static const struct {
		const char *base, *expr, *want;
		enum helm_set_kind kind;
	} cases[] = {
		{ "{}", "a=1,b=true,c=null,d=0,e=010,f=+5,g=1.5,h=TRUE", "{\"a\":1,\"b\":true,\"c\":null,\"d\":0,\"e\":\"010\",\"f\":5,\"g\":\"1.5\",\"h\":true}", HELM_SET },
		{ "{}", "a.b.c=x,a.b.d=y", "{\"a\":{\"b\":{\"c\":\"x\",\"d\":\"y\"}}}", HELM_SET },
		{ "{}", "a[2]=x", "{\"a\":[null,null,\"x\"]}", HELM_SET },
		{ "{}", "a[0].b=1,a[0].c=2", "{\"a\":[{\"b\":1,\"c\":2}]}", HELM_SET },
		{ "{}", "a[0][1]=z", "{\"a\":[[null,\"z\"]]}", HELM_SET },
		{ "{}", "a={x,y,3}", "{\"a\":[\"x\",\"y\",3]}", HELM_SET },
		{ "{}", "a={}", "{\"a\":[\"\"]}", HELM_SET },
		{ "{}", "a=", "{\"a\":\"\"}", HELM_SET },
		{ "{}", "a\\.b=c\\,d", "{\"a.b\":\"c,d\"}", HELM_SET },
		{ "{}", "a=1,b=true", "{\"a\":\"1\",\"b\":\"true\"}", HELM_SET_STRING },
		{ "{}", "a={\"x\":[1,2]},b=\"s\"", "{\"a\":{\"x\":[1,2]},\"b\":\"s\"}", HELM_SET_JSON },
		{ "{}", "a=", "{\"a\":null}", HELM_SET_JSON },
		{ "{}", "a.b=x,y=[z]", "{\"a\":{\"b\":\"x,y=[z]\"}}", HELM_SET_LITERAL },
		{ "{\"a\":{\"keep\":1}}", "a.b=2", "{\"a\":{\"b\":2,\"keep\":1}}", HELM_SET },
		{ "{\"a\":[1,2,3]}", "a[1]=x", "{\"a\":[1,\"x\",3]}", HELM_SET },
		{ "{}", ".a=1", "{}", HELM_SET },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct op_err err = OP_ERR_INIT;
		int r;
		char *got = set(cases[i].base, cases[i].expr, cases[i].kind, &r, &err);

		if (r < 0)
			fprintf(stderr, "# %s: %s\n", cases[i].expr, err.msg);
		ASSERT_OK(r);
		ASSERT_STREQ(got, cases[i].want);
		free(got);
	}
}

TEST(strvals_int64_is_raw)
{
	cJSON *v = json("{}");
	int64_t x;

	ASSERT_OK(helm_strvals_parse(v, "n=1000000,big=9223372036854775807", HELM_SET, NULL, NULL,
				     NULL));
	ASSERT(helm_values_is_int64(cJSON_GetObjectItem(v, "n"), &x));
	ASSERT_EQ(x, 1000000);
	ASSERT(helm_values_is_int64(cJSON_GetObjectItem(v, "big"), &x));
	ASSERT_EQ(x, INT64_MAX);
	cJSON_Delete(v);
}

TEST(strvals_errors_as_helm)
{
	static const struct {
		const char *base, *expr, *msg;
	} cases[] = {
		{ "{}", "a", "key \"a\" has no value" },
		{ "{}", "a,b=1", "key \"a\" has no value (cannot end with ,)" },
		{ "{}", "a.=1", "key map \"a\" has no value" },
		{ "{}", "a[x]=1", "error parsing index: strconv.Atoi: parsing \"x\": invalid syntax" },
		{ "{}", "a[-1]=1", "negative -1 index not allowed" },
		{ "{}", "a[65537]=1", "index of 65537 is greater than maximum supported index of 65536" },
		{ "{}", "a[0]x=1", "unexpected data at end of array index: \"x\"" },
		{ "{}", "a={x", "list must terminate with '}'" },
		{ "{\"a\":\"s\"}", "a.b=1",
		  "unable to parse key: interface conversion: interface {} is string, not "
		  "map[string]interface {}" },
		{ "{\"a\":{}}", "a[0]=1",
		  "unable to parse key: interface conversion: interface {} is map[string]interface {}, "
		  "not []interface {}" },
		{ "{}", "a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a=1",
		  "value name nested level is greater than maximum supported nested level of 30" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct op_err err = OP_ERR_INIT;
		int r;

		free(set(cases[i].base, cases[i].expr, HELM_SET, &r, &err));
		ASSERT(r < 0);
		ASSERT_STREQ(err.msg, cases[i].msg);
	}
}

/*
 * --set-json with a number float64 cannot hold: Helm refuses it (encoding/
 * json), where cJSON reads an infinity that then crashed printing (fuzz-long).
 */
TEST(strvals_json_out_of_range_refused)
{
	static const char *const exprs[] = { "aa=1001e07199254740993", "a=[1,-1e999]",
					     "a={\"b\":{\"c\":1e400}}" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(exprs); i++) {
		struct op_err err = OP_ERR_INIT;
		int r;
		char *got = set("{}", exprs[i], HELM_SET_JSON, &r, &err);

		ASSERT_EQ(r, -EINVAL);
		ASSERT_STREQ(err.msg, "invalid JSON value");
		ASSERT_STREQ(got, "{}");
		free(got);
	}
}

static int read_mem(const char *name, char **ret, size_t *ret_len, struct op_err *err,
		    void *payload)
{
	if (streq(name, "one.yaml"))
		*ret = xstrdup("a: {b: 1, c: 2}\nl: [1, 2]\n");
	else if (streq(name, "two.yaml"))
		*ret = xstrdup("a: {b: 3}\nl: [9]\nnul: null\n");
	else if (streq(name, "file.txt"))
		*ret = xstrdup("contents\n");
	else
		return op_err_set(err, -ENOENT, "open %s: no such file or directory", name);
	*ret_len = strlen(*ret);
	return 0;
}

TEST(values_compose_in_helms_order)
{
	const char *files[] = { "one.yaml", "two.yaml" };
	const char *sets[] = { "a.b=4" }, *strs[] = { "a.b=5" }, *jsons[] = { "a={\"b\":6}" };
	const char *sfiles[] = { "f=file.txt" };
	struct helm_value_opts o = { .files = files, .nfiles = 2, .set = sets, .nset = 1,
				     .set_string = strs, .nset_string = 1, .set_json = jsons,
				     .nset_json = 1, .set_file = sfiles, .nset_file = 1 };
	struct op_err err = OP_ERR_INIT;
	cJSON *v = NULL;

	ASSERT_OK(helm_values_compose(&o, read_mem, NULL, &v, &err));
	/* json, then --set, then --set-string wins; lists replace; null kept. */
	ASSERT_JSON(v, "{\"a\":{\"b\":\"5\"},\"f\":\"contents\\n\",\"l\":[9],\"nul\":null}");
	cJSON_Delete(v);
	files[1] = "missing.yaml";
	ASSERT_EQ(helm_values_compose(&o, read_mem, NULL, &v, &err), -ENOENT);
	ASSERT_STREQ(err.msg, "open missing.yaml: no such file or directory");
}

/* ---- coalescing and dependencies ---- */

static struct helm_chart *load(const char *dir)
{
	struct helm_chart *c = NULL;
	struct op_err err = OP_ERR_INIT;

	if (helm_chart_load_dir(dir, NULL, &c, &err) < 0)
		fprintf(stderr, "# %s\n", err.msg);
	ASSERT_NOT_NULL(c);
	return c;
}

TEST(coalesce_null_globals_subcharts)
{
	const char *d = harness_tmpdir();
	struct helm_chart *c;
	struct helm__node *n;
	cJSON *user = json("{\"drop\":null,\"keepnull\":null,\"t\":{\"x\":null},"
			   "\"global\":{\"g\":\"user\",\"m\":{\"a\":1}}}");
	cJSON *v = NULL;

	put(d, "Chart.yaml", "apiVersion: v2\nname: top\nversion: 1.0.0\n");
	put(d, "values.yaml", "drop: 1\nt: {x: 1, z: 2}\nsub: {own: top}\n"
			      "global: {g: chart, h: chart}\n");
	put(d, "charts/sub/Chart.yaml", "apiVersion: v2\nname: sub\nversion: 1.0.0\n");
	put(d, "charts/sub/values.yaml", "own: sub\nother: 1\nglobal: {m: {b: 2}, g: sub}\n");
	c = load(d);
	n = helm__node_new(c, NULL);
	ASSERT_OK(helm__coalesce(n, user, false, &v, NULL));
	/* A user null with no default to delete stays (keepnull). */
	ASSERT_JSON(v, "{\"global\":{\"g\":\"user\",\"h\":\"chart\",\"m\":{\"a\":1}},"
		       "\"keepnull\":null,"
		       "\"sub\":{\"global\":{\"g\":\"user\",\"h\":\"chart\",\"m\":{\"a\":1,\"b\":2}},"
		       "\"other\":1,\"own\":\"top\"},\"t\":{\"z\":2}}");
	cJSON_Delete(v);
	cJSON_Delete(user);
	/* A subchart's table must be a map. */
	user = json("{\"sub\":\"x\"}");
	{
		struct op_err err = OP_ERR_INIT;

		ASSERT_EQ(helm__coalesce(n, user, false, &v, &err), -EINVAL);
		ASSERT_STREQ(err.msg, "type mismatch on sub: %!t(string=x)");
	}
	cJSON_Delete(user);
	helm__node_free(n);
	helm_chart_free(c);
}

TEST(coalesce_null_in_both_is_kept)
{
	const char *d = harness_tmpdir();
	struct helm_chart *c;
	struct helm__node *n;
	cJSON *user = json("{\"t\":{\"a\":null,\"b\":null}}"), *v = NULL;

	put(d, "Chart.yaml", "apiVersion: v2\nname: top\nversion: 1.0.0\n");
	put(d, "values.yaml", "t: {a: 1, b: null}\n");
	c = load(d);
	n = helm__node_new(c, NULL);
	ASSERT_OK(helm__coalesce(n, user, false, &v, NULL));
	/* v3.21: a user null deletes a non-null default; null over null stays. */
	ASSERT_JSON(v, "{\"t\":{\"b\":null}}");
	cJSON_Delete(v);
	cJSON_Delete(user);
	helm__node_free(n);
	helm_chart_free(c);
}

TEST(dependencies_condition_tags_alias_import)
{
	const char *d = harness_tmpdir();
	struct helm_chart *c;
	struct helm__node *n;
	cJSON *user = json("{\"tags\":{\"front\":false},\"b\":{\"enabled\":true}}");
	char *vals;

	put(d, "Chart.yaml",
	    "apiVersion: v2\nname: top\nversion: 1.0.0\ndependencies:\n"
	    "- name: lib\n  version: 1.x\n  alias: a\n  condition: a.enabled\n"
	    "  import-values: [data, {child: deep.x, parent: imported}]\n"
	    "- name: lib\n  version: '*'\n  alias: b\n  condition: b.enabled\n  tags: [front]\n"
	    "- name: web\n  version: '>0'\n  tags: [front]\n");
	put(d, "values.yaml", "a: {enabled: true}\nb: {enabled: false}\nimported: {own: 1}\n");
	put(d, "charts/lib/Chart.yaml", "apiVersion: v2\nname: lib\nversion: 1.2.0\n");
	put(d, "charts/lib/values.yaml", "exports: {data: {fromlib: yes}}\ndeep: {x: {z: 2}}\n");
	put(d, "charts/web/Chart.yaml", "apiVersion: v2\nname: web\nversion: 2.0.0\n");
	c = load(d);
	n = helm__node_new(c, NULL);
	ASSERT_OK(helm__process_deps(n, user, NULL));
	/* b: condition true beats the false tag; web: disabled by its tag. */
	ASSERT_EQ(n->ndeps, 2);
	ASSERT_STREQ(n->deps[0]->md.name, "a");
	ASSERT_STREQ(n->deps[1]->md.name, "b");
	ASSERT_EQ(n->md.ndeps, 2);
	ASSERT_STREQ(n->md.deps[0].name, "a");
	ASSERT(n->md.deps[0].enabled);
	/* Imports sit under the chart's own values, which win. */
	ASSERT_JSON(n->md.deps[0].import_values,
		    "[{\"child\":\"exports.data\",\"parent\":\".\"},"
		    "{\"child\":\"deep.x\",\"parent\":\"imported\"}]");
	vals = canon(n->values);
	ASSERT_CONTAINS(vals, "\"fromlib\":true");
	ASSERT_CONTAINS(vals, "\"imported\":{\"own\":1,\"z\":2}");
	free(vals);
	cJSON_Delete(user);
	helm__node_free(n);
	helm_chart_free(c);
}

TEST(dependencies_without_list_untouched)
{
	const char *d = harness_tmpdir();
	struct helm_chart *c;
	struct helm__node *n;

	/* No dependencies: in Chart.yaml: every loaded subchart stays. */
	put(d, "Chart.yaml", "apiVersion: v2\nname: top\nversion: 1.0.0\n");
	put(d, "charts/s/Chart.yaml", "apiVersion: v2\nname: s\nversion: 1.0.0\n"
				      "dependencies:\n- name: t\n  condition: t.enabled\n");
	put(d, "charts/s/charts/t/Chart.yaml", "apiVersion: v2\nname: t\nversion: 1.0.0\n");
	put(d, "charts/s/values.yaml", "t: {enabled: false}\n");
	c = load(d);
	n = helm__node_new(c, NULL);
	ASSERT_OK(helm__process_deps(n, NULL, NULL));
	ASSERT_EQ(n->ndeps, 1);
	ASSERT_EQ(n->deps[0]->ndeps, 1);
	helm__node_free(n);
	helm_chart_free(c);
}

/* ---- manifests ---- */

static struct helm_rendered *sort_files(const char *const *pairs, int *r, struct op_err *err)
{
	struct helm__rfile files[16];
	struct helm_rendered *out = xnew0(struct helm_rendered, 1);
	size_t n = 0, i;

	for (; pairs[0]; pairs += 2, n++) {
		files[n].name = (char *)pairs[0];
		files[n].content = (char *)pairs[1];
		files[n].len = strlen(pairs[1]);
	}
	*r = helm__sort_manifests(files, n, NULL, 0, out, err);
	for (i = 0; i < n; i++)
		(void)i;
	return out;
}

TEST(manifests_split_sort_hooks)
{
	static const char *const files[] = {
		"c/templates/a.yaml",
		"\n\n  kind: Service\nmetadata: {name: s}\n---\n# only a comment\n---   \n"
		"kind: Deployment\n--- # trailing\nkind: ConfigMap\n",
		"c/templates/b.yaml",
		"kind: Job\nmetadata:\n  name: j\n  annotations:\n    helm.sh/hook: Pre-Install, test-success\n"
		"    helm.sh/hook-weight: \"-5\"\n    helm.sh/hook-delete-policy: hook-succeeded\n",
		"c/templates/c.yaml", "kind: Pod\nmetadata:\n  annotations: {helm.sh/hook: bogus}\n",
		"c/templates/_h.tpl", "kind: Secret\n",
		"c/templates/d.yaml", " \n\t\n",
		"c/templates/e.yaml", "kind: Namespace\n",
		NULL,
	};
	struct op_err err = OP_ERR_INIT;
	int r;
	struct helm_rendered *out = sort_files(files, &r, &err);

	ASSERT_OK(r);
	/*
	 * Namespace first, then Service, Deployment; the comment-only document
	 * (kind "") sorts first among unknown kinds, and "# trailing" joins the
	 * ConfigMap (after Namespace).  The first document lost its indent.
	 */
	ASSERT_STREQ(out->manifest,
		     "---\n# Source: c/templates/e.yaml\nkind: Namespace\n"
		     "---\n# Source: c/templates/a.yaml\n# trailing\nkind: ConfigMap\n"
		     "---\n# Source: c/templates/a.yaml\nkind: Service\nmetadata: {name: s}\n"
		     "---\n# Source: c/templates/a.yaml\nkind: Deployment\n"
		     "---\n# Source: c/templates/a.yaml\n# only a comment\n");
	ASSERT_EQ(out->nhooks, 1);
	ASSERT_STREQ(out->hooks[0].name, "j");
	ASSERT_EQ(out->hooks[0].nevents, 2);
	ASSERT_STREQ(out->hooks[0].events[0], "pre-install");
	ASSERT_STREQ(out->hooks[0].events[1], "test");
	ASSERT_EQ(out->hooks[0].weight, -5);
	ASSERT_STREQ(out->hooks[0].delete_policies[0], "hook-succeeded");
	{
		struct buf b = BUF_INIT(1 << 20);
		struct helm_print_opts po = { .skip_tests = true };
		const char *only[] = { "templates/a.yaml" };

		ASSERT_OK(helm_template_print(out, &po, &b, NULL));
		ASSERT(!strstr(b.buf, "kind: Job"));
		buf_reset(&b);
		po.skip_tests = false;
		ASSERT_OK(helm_template_print(out, &po, &b, NULL));
		ASSERT_CONTAINS(b.buf, "# only a comment\n---\n# Source: c/templates/b.yaml\nkind: Job");
		buf_reset(&b);
		po.show_only = only;
		po.nshow_only = 1;
		ASSERT_OK(helm_template_print(out, &po, &b, NULL));
		ASSERT(!strstr(b.buf, "Namespace"));
		ASSERT_CONTAINS(b.buf, "---\n# Source: c/templates/a.yaml\n# trailing\n");
		only[0] = "templates/nope.yaml";
		buf_reset(&b);
		ASSERT_EQ(helm_template_print(out, &po, &b, &err), -ENOENT);
		ASSERT_STREQ(err.msg, "could not find template templates/nope.yaml in chart");
		ASSERT_EQ(b.len, 0);
		buf_release(&b);
	}
	helm_rendered_free(out);
}

TEST(manifests_yaml_errors)
{
	static const char *const bad[] = { "c/templates/a.yaml", "a: [\n", NULL };
	static const char *const scalar[] = { "c/templates/a.yaml", "just text\n", NULL };
	struct op_err err = OP_ERR_INIT;
	int r;

	helm_rendered_free(sort_files(bad, &r, &err));
	ASSERT_EQ(r, -EINVAL);
	ASSERT_CONTAINS(err.msg, "YAML parse error on c/templates/a.yaml: error converting YAML to JSON");
	helm_rendered_free(sort_files(scalar, &r, &err));
	ASSERT_EQ(r, -EINVAL);
	ASSERT_STREQ(err.msg, "YAML parse error on c/templates/a.yaml: error unmarshaling JSON: "
			      "while decoding JSON: json: cannot unmarshal string into Go value of "
			      "type releaseutil.SimpleHead");
}

/* ---- schema ---- */

static int schema_check(const char *schema, const char *values, struct helm_error *full)
{
	const char *d = harness_tmpdir();
	struct helm_chart *c;
	struct helm__node *n;
	cJSON *v = json(values);
	int r;

	put(d, "Chart.yaml", "apiVersion: v2\nname: s\nversion: 1.0.0\n");
	put(d, "values.schema.json", schema);
	c = load(d);
	n = helm__node_new(c, NULL);
	r = helm__validate_schemas(n, v, full, NULL);
	helm__node_free(n);
	helm_chart_free(c);
	cJSON_Delete(v);
	return r;
}

TEST(schema_messages_as_jsonschema_v6)
{
	static const struct {
		const char *schema, *values, *msg;
	} cases[] = {
		{ "{\"properties\":{\"n\":{\"type\":\"integer\"}}}", "{\"n\":1.5}",
		  "- at '/n': got number, want integer\n" },
		{ "{\"required\":[\"a\",\"b\"]}", "{}", "- at '': missing properties 'a', 'b'\n" },
		{ "{\"properties\":{\"e\":{\"enum\":[\"x\",1]}}}", "{\"e\":\"y\"}",
		  "- at '/e': value must be one of 'x', 1\n" },
		{ "{\"additionalProperties\":false,\"properties\":{\"a\":{}}}", "{\"a\":1,\"z\":1,\"y\":2}",
		  "- at '': additional properties 'y', 'z' not allowed\n" },
		{ "{\"$schema\":\"http://json-schema.org/draft-07/schema#\",\"definitions\":{\"p\":"
		  "{\"type\":\"string\",\"minLength\":3}},\"properties\":{\"a\":{\"$ref\":"
		  "\"#/definitions/p\"},\"b\":{\"type\":[\"string\",\"null\"]}}}",
		  "{\"a\":\"xy\",\"b\":2}",
		  "- at '/a': minLength: got 2, want 3\n- at '/b': got number, want null or string\n" },
		{ "{\"properties\":{\"o\":{\"properties\":{\"x\":{\"minimum\":5},\"y\":{\"pattern\":\"^\\\\d+$\"}}}}}",
		  "{\"o\":{\"x\":1,\"y\":\"a1\"},\"p\":1}",
		  /* v6 lifts a lone group's causes to the top; deeper groups nest. */
		  "- at '/o/x': minimum: got 1, want 5\n"
		  "- at '/o/y': 'a1' does not match pattern '^\\\\d+$'\n" },
		{ "{\"properties\":{\"o\":{\"properties\":{\"x\":{\"minimum\":5},\"y\":{\"maxLength\":1}}},"
		  "\"p\":{\"type\":\"string\"}}}",
		  "{\"o\":{\"x\":1,\"y\":\"a1\"},\"p\":1}",
		  "- at '/o': validation failed\n  - at '/o/x': minimum: got 1, want 5\n"
		  "  - at '/o/y': maxLength: got 2, want 1\n- at '/p': got number, want string\n" },
		{ "{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"boolean\"}]}", "{}",
		  "- at '': anyOf failed\n  - at '': got object, want string\n"
		  "  - at '': got object, want boolean\n" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct helm_error full = HELM_ERROR_INIT;
		char *want = xasprintf("values don't meet the specifications of the schema(s) in the "
				       "following chart(s):\ns:\n%s", cases[i].msg);

		ASSERT_EQ(schema_check(cases[i].schema, cases[i].values, &full), -EINVAL);
		ASSERT_STREQ(full.msg, want);
		free(want);
		helm_error_release(&full);
	}
	ASSERT_OK(schema_check("{\"properties\":{\"n\":{\"type\":\"integer\",\"maximum\":3}}}",
			       "{\"n\":2.0}", NULL));
}

/* ---- release records ---- */

TEST(release_round_trip_and_secret)
{
	struct helm_rendered r = { 0 };
	struct helm_release_info info = { .first_deployed = 1700000000123456789LL,
					  .last_deployed = 1700000000123456789LL,
					  .description = "Install complete",
					  .status = "deployed" };
	cJSON *config = json("{\"b\":1,\"a\":\"<x>\"}"), *rel, *back = NULL, *sec, *from = NULL;
	struct buf enc = BUF_INIT(1 << 24);
	struct op_err err = OP_ERR_INIT;
	cJSON *labels = json("{\"team\":\"x\"}"), *bad = json("{\"owner\":\"me\"}");

	r.manifest = xstrdup("---\n# Source: c/templates/a.yaml\nkind: A\n");
	r.manifest_len = strlen(r.manifest);
	r.chart = json("{\"metadata\":{\"name\":\"c\",\"version\":\"1.0.0\"},\"lock\":null}");
	rel = helm_release_new("rel", "ns", 3, &r, config, &info);
	ASSERT_STREQ(yj_get_str(rel, "/info/first_deployed"), "2023-11-14T22:13:20.123456789Z");
	ASSERT_STREQ(yj_get_str(rel, "/info/deleted"), "");
	ASSERT_OK(helm_release_encode(rel, &enc));
	ASSERT_OK(helm_release_decode(enc.buf, enc.len, 1 << 20, &back, &err));
	ASSERT(cJSON_Compare(rel, back, true));
	/* Go's field order survives; maps are sorted. */
	ASSERT_STREQ(back->child->string, "name");
	ASSERT_STREQ(cJSON_GetObjectItem(back, "config")->child->string, "a");
	ASSERT_EQ(helm_release_decode(enc.buf, enc.len, 16, &from, &err), -EFBIG);
	sec = helm_release_secret(rel, "storage", false, 1700000000, labels, &err);
	ASSERT_NOT_NULL(sec);
	ASSERT_STREQ(yj_get_str(sec, "/metadata/name"), "sh.helm.release.v1.rel.v3");
	ASSERT_STREQ(yj_get_str(sec, "/metadata/labels/owner"), "helm");
	ASSERT_STREQ(yj_get_str(sec, "/metadata/labels/status"), "deployed");
	ASSERT_STREQ(yj_get_str(sec, "/metadata/labels/version"), "3");
	ASSERT_STREQ(yj_get_str(sec, "/metadata/labels/createdAt"), "1700000000");
	ASSERT_STREQ(yj_get_str(sec, "/metadata/labels/team"), "x");
	ASSERT_STREQ(yj_get_str(sec, "/type"), "helm.sh/release.v1");
	ASSERT_OK(helm_release_from_secret(sec, 1 << 20, &from, &err));
	ASSERT(cJSON_Compare(rel, from, true));
	ASSERT_NULL(helm_release_secret(rel, "storage", true, 1, bad, &err));
	ASSERT_CONTAINS(err.msg, "reserved label name 'owner'");
	/* Helm's legacy records are plain JSON. */
	{
		char *b = b64_encode("{\"name\":\"old\"}", 14);
		cJSON *legacy = NULL;

		ASSERT_OK(helm_release_decode(b, strlen(b), 1 << 20, &legacy, &err));
		ASSERT_STREQ(yj_get_str(legacy, "/name"), "old");
		cJSON_Delete(legacy);
		free(b);
	}
	cJSON_Delete(from);
	cJSON_Delete(sec);
	cJSON_Delete(back);
	cJSON_Delete(rel);
	cJSON_Delete(config);
	cJSON_Delete(labels);
	cJSON_Delete(bad);
	cJSON_Delete(r.chart);
	free(r.manifest);
	buf_release(&enc);
}

/* ---- small parsers ---- */

TEST(kube_version_as_parse_generic)
{
	char v[64], ma[24], mi[24];
	struct op_err err = OP_ERR_INIT;

	ASSERT_OK(helm_kube_version_parse("1.28", v, ma, mi, NULL));
	ASSERT_STREQ(v, "v1.28");
	ASSERT_OK(helm_kube_version_parse("v1.29.3-eks-123", v, ma, mi, NULL));
	ASSERT_STREQ(v, "v1.29.3");
	ASSERT_STREQ(ma, "1");
	ASSERT_STREQ(mi, "29");
	ASSERT_EQ(helm_kube_version_parse("1", v, ma, mi, &err), -EINVAL);
	ASSERT_EQ(helm_kube_version_parse("01.2", v, ma, mi, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "invalid kube version '01.2'");
}

TEST(path_match_and_glob)
{
	struct helm__glob *g = NULL;

	ASSERT_EQ(helm__path_match("templates/*.yaml", "templates/a.yaml"), 1);
	ASSERT_EQ(helm__path_match("templates/*.yaml", "templates/x/a.yaml"), 0);
	ASSERT_EQ(helm__path_match("*/[^b]?.y*", "t/ab.yaml"), 1);
	ASSERT_EQ(helm__path_match("a\\*", "a*"), 1);
	ASSERT_EQ(helm__path_match("[", "x"), -EINVAL);
	/*
	 * Invalid UTF-8 as Go's path.Match (go1.26) reads it: '?' takes one
	 * rune (an invalid byte is one), literals and '*' go byte by byte, and
	 * a class bound must be valid UTF-8.
	 */
	ASSERT_EQ(helm__path_match("?", "\xc0\x80"), 0);
	ASSERT_EQ(helm__path_match("??", "\xc0\x80"), 1);
	ASSERT_EQ(helm__path_match("?", "\xe0\x80\x80"), 0);
	ASSERT_EQ(helm__path_match("???", "\xe0\x80\x80"), 1);
	ASSERT_EQ(helm__path_match("?", "\x80"), 1);
	ASSERT_EQ(helm__path_match("[^a]", "\xff"), 1);
	ASSERT_EQ(helm__path_match("*\x80", "\xc3\x80"), 1);
	ASSERT_EQ(helm__path_match("\xff", "\xfe"), 0);
	ASSERT_EQ(helm__path_match("a*?", "a\xc3\x80"), 1);
	ASSERT_EQ(helm__path_match("[\xc0]?", "\xc0\x80"), -EINVAL);
	ASSERT_EQ(helm__path_match("*[\xc3]", "x"), -EINVAL);
	ASSERT_OK(helm__glob_compile("files/**.{json,yaml}", &g));
	ASSERT(helm__glob_match(g, "files/x/y.yaml"));
	ASSERT(!helm__glob_match(g, "files/x/y.txt"));
	helm__glob_free(g);
	ASSERT_OK(helm__glob_compile("conf/*", &g));
	ASSERT(helm__glob_match(g, "conf/a"));
	ASSERT(!helm__glob_match(g, "conf/a/b"));
	helm__glob_free(g);
	ASSERT_EQ(helm__glob_compile("[a-z0-9]", &g), -EINVAL); /* gobwas: one range per class */
}

/* Everything of a chart that helm_chart_write() must carry, as canonical text. */
static void assert_same_chart(const struct helm_chart *a, const struct helm_chart *b,
			      const char *version)
{
	cJSON *ma = helm_metadata_json(&a->md), *mb = helm_metadata_json(&b->md);
	char *want;
	size_t i;

	if (version)
		cJSON_ReplaceItemInObjectCaseSensitive(ma, "version", cJSON_CreateString(version));
	want = canon(ma);
	ASSERT_JSON(mb, want);
	free(want);
	cJSON_Delete(ma);
	cJSON_Delete(mb);
	ASSERT_EQ(a->ntemplates, b->ntemplates);
	for (i = 0; i < a->ntemplates; i++) {
		const struct helm_file *f = find_file(b->templates, b->ntemplates, a->templates[i].name);

		ASSERT_NOT_NULL(f);
		ASSERT_EQ(f->len, a->templates[i].len);
		ASSERT(!memcmp(f->data, a->templates[i].data, f->len));
	}
	ASSERT_EQ(a->nfiles, b->nfiles);
	ASSERT_EQ(a->ndeps, b->ndeps);
	for (i = 0; i < a->ndeps; i++) {
		ASSERT_STREQ(a->deps[i]->md.name, b->deps[i]->md.name);
		assert_same_chart(a->deps[i], b->deps[i], NULL);
	}
}

TEST(package_writes_what_it_loaded)
{
	const char *d = harness_tmpdir();
	char *src = xasprintf("%s/helm/deps/chart", harness_datadir());
	char *out = xasprintf("%s/pkg", d), *back = xasprintf("%s/pkg/deps", d);
	char *extra_dir = xasprintf("%s/helm/deps/chart/charts/lib", harness_datadir());
	struct helm_chart *c = load(src), *extra = load(extra_dir), *b;
	const struct helm_chart *extras[] = { extra };
	const char *names[] = { "third" };
	struct helm_package_opts o = { .version = "1.0.0+0123456789ab.2",
				       .values_yaml = "a: 1\n", .values_len = 5,
				       .extra = extras, .extra_names = names, .nextra = 1 };
	struct op_err err = OP_ERR_INIT;
	size_t i;

	ASSERT_EQ(mkdir(out, 0700), 0);
	ASSERT_OK(helm_chart_write(c, NULL, out, &err));
	b = load(back);
	assert_same_chart(c, b, NULL);
	ASSERT_EQ(b->values_file.len, c->values_file.len);
	ASSERT(!memcmp(b->values_file.data, c->values_file.data, b->values_file.len));
	helm_chart_free(b);

	/* The version, values.yaml and an aliased extra subchart, as the chart builder sets them. */
	path_remove_all(out);
	ASSERT_EQ(mkdir(out, 0700), 0);
	ASSERT_OK(helm_chart_write(c, &o, out, &err));
	b = load(back);
	ASSERT_STREQ(b->md.version, "1.0.0+0123456789ab.2");
	ASSERT_JSON(b->values, "{\"a\":1}");
	ASSERT_EQ(b->ndeps, c->ndeps + 1);
	for (i = 0; i < b->ndeps && !streq(b->deps[i]->md.name, "third"); i++)
		;
	ASSERT(i < b->ndeps);
	ASSERT_STREQ(b->deps[i]->md.version, extra->md.version);
	helm_chart_free(b);
	helm_chart_free(c);
	helm_chart_free(extra);
	free(src);
	free(out);
	free(back);
	free(extra_dir);
}

TEST(missing_deps_as_flux_counts_them)
{
	const char *d = harness_tmpdir();
	char *dir = xasprintf("%s/md", d);
	struct helm_dependency *m = NULL;
	struct helm_chart *c;
	size_t n;

	ASSERT_EQ(mkdir(dir, 0700), 0);
	put(dir, "Chart.yaml", "apiVersion: v2\nname: top\nversion: 1.0.0\ndependencies:\n"
			       "- name: a\n  version: '*'\n- name: b\n  alias: z\n  version: 1.x\n"
			       "  repository: file://../b\n- name: c\n  version: ~2\n"
			       "  repository: https://charts.example.com/\n");
	put(dir, "charts/a/Chart.yaml", "apiVersion: v2\nname: a\nversion: 0.1.0\n");
	c = load(dir);
	n = helm_chart_missing_deps(c, &m);
	ASSERT_EQ(n, 2);
	ASSERT_STREQ(m[0].name, "c");
	ASSERT_STREQ(m[0].repository, "https://charts.example.com/");
	ASSERT_STREQ(m[1].name, "b");
	ASSERT_STREQ(m[1].alias, "z");
	ASSERT_STREQ(m[1].version, "1.x");
	helm_missing_deps_free(m, n);
	helm_chart_free(c);

	/* A lock is what counts when there is one; equal numbers: nothing is missing. */
	put(dir, "Chart.lock", "dependencies:\n- name: a\n  version: 0.1.0\n  repository: ''\n"
			       "digest: sha256:x\ngenerated: '2026-01-01T00:00:00Z'\n");
	c = load(dir);
	ASSERT_EQ(helm_chart_missing_deps(c, &m), 0);
	ASSERT_NULL(m);
	helm_chart_free(c);
	free(dir);
}
