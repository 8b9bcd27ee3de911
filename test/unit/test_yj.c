/*
 * test_yj.c: lib/yj — limits and hostile input, error positions, the
 * JSON helpers against the RFC examples, canonical printing and digests,
 * and YAML emission that reads back to the same tree.
 *
 * Kubernetes-compatible scalar resolution is tested differentially
 * against sigs.k8s.io/yaml by yj_diff.sh; here only what an oracle
 * cannot tell us.
 */
#include <math.h>
#include <sys/resource.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "harness.h"
#include <limits.h>

#include "yj/yj.h"

static cJSON *one(const char *yaml)
{
	cJSON *j = NULL;
	struct op_err err;

	if (yj_parse_one(yaml, strlen(yaml), &j, &err) < 0)
		harness__fail(__FILE__, __LINE__, "parse: %s", err.msg);
	return j;
}

static char *canon(const cJSON *j)
{
	struct buf b = BUF_INIT(1 << 24);

	ASSERT_OK(yj_print_canonical(j, &b));
	return buf_detach(&b, NULL);
}

static void canon_is(const char *yaml, const char *want)
{
	cJSON *j = one(yaml);
	char *c = canon(j);

	ASSERT_STREQ(c, want);
	free(c);
	cJSON_Delete(j);
}

TEST(stream_lines_and_skipping)
{
	static const char in[] = "# c\n---\na: 1\n---\n---\n# only\n---\nb: 2\n...\n--- # x\nnull\n";
	struct yj_stream s;
	struct op_err err;

	ASSERT_OK(yj_parse_stream(in, strlen(in), NULL, &s, &err));
	ASSERT_EQ(s.n, 2);
	ASSERT_EQ(s.lines[0], 3);
	ASSERT_EQ(s.lines[1], 8);
	yj_stream_release(&s);
}

TEST(errors_carry_line_and_column)
{
	static const char in[] = "a: 1\n---\nb:\n  c: 1\n d: 2\n";
	struct yj_stream s;
	struct op_err err;
	cJSON *j = NULL;

	ASSERT_EQ(yj_parse_stream(in, strlen(in), NULL, &s, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "document 2: line 5:");
	ASSERT_EQ(yj_parse_one("a: 1\n---\nb: 2\n", 14, &j, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "expected one document, found 2");
	ASSERT_EQ(yj_parse_one("a: 1\n--- b: 2\n", 14, &j, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "line 2: invalid document separator");
	ASSERT_NULL(j);
}

static long peak_rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

TEST(billion_laughs_fails_fast_and_small)
{
	struct buf b = BUF_INIT(1 << 20);
	struct yj_stream s;
	struct op_err err;
	long before = peak_rss_kib();
	int i, j;

	buf_adds(&b, "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
	for (i = 1; i < 12; i++) {
		buf_addf(&b, "l%d: &l%d [", i, i);
		for (j = 0; j < 10; j++)
			buf_addf(&b, "%s*l%d", j ? ", " : "", i - 1);
		buf_adds(&b, "]\n");
	}
	ASSERT_EQ(yj_parse_stream(b.buf, b.len, NULL, &s, &err), -E2BIG);
	ASSERT_CONTAINS(err.msg, "alias expansion limit (100000 nodes)");
	/* A hundred thousand nodes at most, not 10^12. */
	ASSERT(peak_rss_kib() - before < 32 * 1024);
	printf("# billion laughs: %s; peak RSS grew %ld KiB\n", err.msg, peak_rss_kib() - before);
	buf_release(&b);
}

TEST(deep_nesting_refused)
{
	size_t n = 10000, i;
	char *in = xmalloc(2 * n + 8);
	struct yj_stream s;
	struct op_err err;

	for (i = 0; i < n; i++)
		in[i] = '[';
	for (i = 0; i < n; i++)
		in[n + i] = ']';
	in[2 * n] = '\n';
	ASSERT_EQ(yj_parse_stream(in, 2 * n + 1, NULL, &s, &err), -E2BIG);
	ASSERT_CONTAINS(err.msg, "nesting depth limit (256)");
	free(in);
}

TEST(huge_input_and_scalar_refused)
{
	struct yj_limits lim = YJ_LIMITS_DEFAULT;
	size_t big = 100u << 20;
	char *in = xmalloc(big + 16);
	struct yj_stream s;
	struct op_err err;
	long before = peak_rss_kib();

	memcpy(in, "a: ", 3);
	memset(in + 3, 'x', big);
	in[big + 3] = '\n';
	ASSERT_EQ(yj_parse_stream(in, big + 4, NULL, &s, &err), -EFBIG);
	ASSERT_CONTAINS(err.msg, "exceeds the limit");
	/* Within the input limit, the scalar limit stops it. */
	lim.max_input_bytes = big + 16;
	ASSERT_EQ(yj_parse_stream(in, big + 4, &lim, &s, &err), -EFBIG);
	ASSERT_CONTAINS(err.msg, "scalar of 104857600 bytes exceeds the limit");
	printf("# 100 MB scalar: peak RSS grew %ld KiB beyond the input\n",
	       peak_rss_kib() - before - (long)(big >> 10));
	free(in);
}

TEST(limits_on_documents_and_aliases)
{
	struct yj_limits lim = YJ_LIMITS_DEFAULT;
	struct yj_stream s;
	struct op_err err;

	lim.max_docs = 2;
	ASSERT_EQ(yj_parse_stream("a: 1\n---\nb: 1\n---\nc: 1\n", 22, &lim, &s, &err), -E2BIG);
	ASSERT_CONTAINS(err.msg, "more than 2 documents");
	lim = (struct yj_limits)YJ_LIMITS_DEFAULT;
	lim.max_alias_uses = 2;
	ASSERT_EQ(yj_parse_stream("a: &x 1\nb: *x\nc: *x\nd: *x\n", 26, &lim, &s, &err), -E2BIG);
	ASSERT_CONTAINS(err.msg, "alias limit (2)");
}

TEST(canonical_like_go)
{
	canon_is("b: 1\na: [true, null, 1.5, \"x\"]\n", "{\"a\":[true,null,1.5,\"x\"],\"b\":1}");
	canon_is("a: 1e21\nb: 1e20\nc: 1e-7\nd: 0.000001\ne: -0.0\n",
		 "{\"a\":1e+21,\"b\":100000000000000000000,\"c\":1e-7,\"d\":0.000001,\"e\":-0}");
	canon_is("a: \"<&>\\u2028\\x01\"\n", "{\"a\":\"<&>\\u2028\\u0001\"}");
	canon_is("a: 9007199254740993\nb: -9223372036854775808\n",
		 "{\"a\":9007199254740993,\"b\":-9223372036854775808}");
}

TEST(digest_of_canonical_form)
{
	cJSON *a = one("{b: 1, a: 2}"), *b = one("a: 2\nb: 1\n");
	char da[72], db[72], hex[65];

	ASSERT_OK(yj_digest(a, da));
	ASSERT_OK(yj_digest(b, db));
	ASSERT_STREQ(da, db);
	/* sha256 of {"a":2,"b":1}: printf '{"a":2,"b":1}' | sha256sum */
	yj_sha256_hex("{\"a\":2,\"b\":1}", 13, hex);
	ASSERT_STREQ(da + 7, hex);
	yj_sha256_hex("", 0, hex);
	ASSERT_STREQ(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	cJSON_Delete(a);
	cJSON_Delete(b);
}

TEST(json_pointer_get_set)
{
	cJSON *j = one("metadata: {name: x, labels: {a/b: c, \"m~n\": d}}\nitems: [10, 20]\n");

	ASSERT_STREQ(yj_get_str(j, "/metadata/name"), "x");
	ASSERT_STREQ(yj_get_str(j, "/metadata/labels/a~1b"), "c");
	ASSERT_STREQ(yj_get_str(j, "/metadata/labels/m~0n"), "d");
	ASSERT_EQ(yj_get(j, "/items/1")->valueint, 20);
	ASSERT_NULL(yj_get(j, "/items/2"));
	ASSERT_NULL(yj_get(j, "/items/01"));
	ASSERT_NULL(yj_get(j, "/nope/x"));
	ASSERT(yj_get(j, "") == j);
	ASSERT_OK(yj_set(j, "/metadata/annotations/k", cJSON_CreateString("v")));
	ASSERT_STREQ(yj_get_str(j, "/metadata/annotations/k"), "v");
	ASSERT_OK(yj_set(j, "/metadata/name", cJSON_CreateString("y")));
	ASSERT_STREQ(yj_get_str(j, "/metadata/name"), "y");
	ASSERT_EQ(yj_set(j, "/items/0/x", cJSON_CreateString("v")), -EINVAL);
	ASSERT_EQ(yj_set(j, "bad", cJSON_CreateString("v")), -EINVAL);
	ASSERT_OK(yj_remove(j, "/metadata/labels/a~1b"));
	ASSERT_NULL(yj_get(j, "/metadata/labels/a~1b"));
	ASSERT_STREQ(yj_get_str(j, "/metadata/labels/m~0n"), "d");
	ASSERT_OK(yj_remove(j, "/items/0"));
	ASSERT_EQ(yj_get(j, "/items/0")->valueint, 20);
	ASSERT_EQ(yj_remove(j, "/items/5"), -ENOENT);
	ASSERT_EQ(yj_remove(j, "/nope/x"), -ENOENT);
	ASSERT_EQ(yj_remove(j, ""), -EINVAL);
	ASSERT_OK(yj_remove(j, "/metadata"));
	ASSERT_NULL(yj_get(j, "/metadata"));
	cJSON_Delete(j);
}

static void merge_case(const char *target, const char *patch, const char *want)
{
	cJSON *t = cJSON_Parse(target), *p = cJSON_Parse(patch);
	char *got;

	ASSERT_OK(yj_merge_patch(&t, p));
	got = canon(t);
	ASSERT_STREQ(got, want);
	free(got);
	cJSON_Delete(t);
	cJSON_Delete(p);
}

TEST(merge_patch_rfc7386_appendix)
{
	merge_case("{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
	merge_case("{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}");
	merge_case("{\"a\":\"b\"}", "{\"a\":null}", "{}");
	merge_case("{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}");
	merge_case("{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
	merge_case("{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}");
	merge_case("{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}");
	merge_case("{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}");
	merge_case("[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]");
	merge_case("{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]");
	merge_case("{\"a\":\"foo\"}", "null", "null");
	merge_case("{\"a\":\"foo\"}", "\"bar\"", "\"bar\"");
	merge_case("{\"e\":null}", "{\"a\":1}", "{\"a\":1,\"e\":null}");
	merge_case("[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}");
	merge_case("{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}");
}

static int patch_case(const char *doc, const char *patch, const char *want, struct op_err *err)
{
	cJSON *t = cJSON_Parse(doc), *p = cJSON_Parse(patch);
	char *before = canon(t), *got;
	int r = yj_json_patch(&t, p, err);

	got = canon(t);
	if (r == 0)
		ASSERT_STREQ(got, want);
	else
		ASSERT_STREQ(got, before); /* all or nothing */
	free(got);
	free(before);
	cJSON_Delete(t);
	cJSON_Delete(p);
	return r;
}

TEST(json_patch_rfc6902_appendix)
{
	struct op_err e;

	ASSERT_OK(patch_case("{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]",
			     "{\"baz\":\"qux\",\"foo\":\"bar\"}", &e));
	ASSERT_OK(patch_case("{\"foo\":[\"bar\",\"baz\"]}",
			     "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]",
			     "{\"foo\":[\"bar\",\"qux\",\"baz\"]}", &e));
	ASSERT_OK(patch_case("{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"remove\",\"path\":\"/baz\"}]",
			     "{\"foo\":\"bar\"}", &e));
	ASSERT_OK(patch_case("{\"foo\":[\"bar\",\"qux\",\"baz\"]}",
			     "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]", "{\"foo\":[\"bar\",\"baz\"]}", &e));
	ASSERT_OK(patch_case("{\"baz\":\"qux\",\"foo\":\"bar\"}",
			     "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]",
			     "{\"baz\":\"boo\",\"foo\":\"bar\"}", &e));
	ASSERT_OK(patch_case("{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":\"grault\"}}",
			     "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]",
			     "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}", &e));
	ASSERT_OK(patch_case("{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
			     "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
			     "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}", &e));
	ASSERT_OK(patch_case("{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
			     "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"qux\"},"
			     "{\"op\":\"test\",\"path\":\"/foo/1\",\"value\":2}]",
			     "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}", &e));
	ASSERT_EQ(patch_case("{\"baz\":\"qux\"}", "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]",
			     NULL, &e), -ESTALE);
	ASSERT_CONTAINS(e.msg, "operation 0 (test '/baz'): test failed");
	ASSERT_OK(patch_case("{\"foo\":\"bar\"}",
			     "[{\"op\":\"add\",\"path\":\"/child\",\"value\":{\"grandchild\":{}}}]",
			     "{\"child\":{\"grandchild\":{}},\"foo\":\"bar\"}", &e));
	ASSERT_EQ(patch_case("{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]",
			     NULL, &e), -ENOENT);
	ASSERT_OK(patch_case("{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":10}]",
			     "{\"/\":9,\"~1\":10}", &e));
	ASSERT_OK(patch_case("{\"foo\":[\"bar\"]}",
			     "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":[\"abc\",\"def\"]}]",
			     "{\"foo\":[\"bar\",[\"abc\",\"def\"]]}", &e));
	/* kustomize's replace sets a missing member, but not a missing parent or index. */
	ASSERT_OK(patch_case("{\"a\":{}}", "[{\"op\":\"replace\",\"path\":\"/a/b\",\"value\":1}]",
			     "{\"a\":{\"b\":1}}", &e));
	ASSERT_EQ(patch_case("{\"a\":{}}", "[{\"op\":\"replace\",\"path\":\"/a/b/c\",\"value\":1}]",
			     NULL, &e), -ENOENT);
	ASSERT_EQ(patch_case("{\"a\":[1]}", "[{\"op\":\"replace\",\"path\":\"/a/1\",\"value\":2}]",
			     NULL, &e), -ENOENT);
	/* All or nothing: the second op fails, the first is rolled back. */
	ASSERT_EQ(patch_case("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/b\",\"value\":2},"
			     "{\"op\":\"remove\",\"path\":\"/zz\"}]", NULL, &e), -ENOENT);
	ASSERT_CONTAINS(e.msg, "operation 1 (remove '/zz')");
	ASSERT_EQ(patch_case("{\"a\":1}", "[{\"op\":\"frob\",\"path\":\"/a\"}]", NULL, &e), -EINVAL);
	ASSERT_EQ(patch_case("{\"a\":{\"b\":1}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b/c\"}]",
			     NULL, &e), -EINVAL);
}

TEST(emit_reads_back_the_same)
{
	static const char *const docs[] = {
		"a: yes\nb: 'yes'\nc: '0755'\nd: '1e3'\ne: ''\nf: '~'\ng: 'null'\nh: '- x'\n"
		"i: 'a: b'\nj: 'x #y'\nk: ' lead'\nl: 'trail '\nm: \"tab\\tx\"\nn: '<<'\n",
		"text: |\n  line1\n    more\n  line3\nkeep: |+\n  k\n\n\nstrip: |-\n  s\n",
		"list:\n- a\n- - nested\n  - 2\n- {x: 1, y: [1, 2]}\n- []\n- {}\nempty: {}\n",
		"big: 18446744073709551615\nneg: -9007199254740993\nf: 1.5e-9\nz: -0.0\n",
		"\"key: colon\": 1\n\"on\": 2\n\"1\": 3\nnull_: 4\n",
		"- top\n- level\n",
	};
	size_t i;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		cJSON *a = one(docs[i]), *b;
		struct buf y = BUF_INIT(1 << 20);
		char *ca, *cb;

		ASSERT_OK(yj_emit_yaml(a, &y));
		b = one(y.buf);
		ca = canon(a);
		cb = canon(b);
		if (strcmp(ca, cb) != 0)
			harness__fail(__FILE__, __LINE__, "doc %zu: %s\nemitted:\n%s\nread back: %s", i,
				      ca, y.buf, cb);
		free(ca);
		free(cb);
		buf_release(&y);
		cJSON_Delete(a);
		cJSON_Delete(b);
	}
}

TEST(emit_layout)
{
	cJSON *j = one("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, labels: {a: b}}\n"
		       "data: {k: v}\nlist: [1, {a: 1, b: 2}]\n");
	struct buf y = BUF_INIT(1 << 20);

	ASSERT_OK(yj_emit_yaml(j, &y));
	ASSERT_STREQ(y.buf, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels:\n"
			    "    a: b\ndata:\n  k: v\nlist:\n- 1\n- a: 1\n  b: 2\n");
	buf_release(&y);
	cJSON_Delete(j);
}

TEST(print_indent_as_go_marshal_indent)
{
	cJSON *j = cJSON_Parse("{\"a\":[{\"b\":1.5e3},{}],\"c\":[],\"d\":\"<x&y>\",\"e\":{}}");
	struct buf out = BUF_INIT(4096);

	ASSERT_NOT_NULL(j);
	ASSERT_OK(yj_print_indent(j, "  ", &out));
	/* what json.MarshalIndent(v, "", "  ") prints for the same value */
	ASSERT_STREQ(out.buf, "{\n  \"a\": [\n    {\n      \"b\": 1500\n    },\n    {}\n  ],\n"
			      "  \"c\": [],\n  \"d\": \"\\u003cx\\u0026y\\u003e\",\n  \"e\": {}\n}");
	buf_release(&out);
	cJSON_Delete(j);
}

/* Numbers out of int64's range are not integers (casting them was undefined
 * behaviour, found by make fuzz-long in a kustomization's annotations). */
TEST(int64_only_within_range)
{
	cJSON *n = cJSON_CreateNumber(42);
	int64_t v = 0;

	ASSERT(yj_int64(n, &v));
	ASSERT_EQ(v, (int64_t)42);
	cJSON_SetNumberValue(n, -9223372036854775808.0);
	ASSERT(yj_int64(n, &v));
	ASSERT_EQ(v, INT64_MIN);
	cJSON_SetNumberValue(n, 9223372036854775808.0);
	ASSERT(!yj_int64(n, &v));
	cJSON_SetNumberValue(n, 5.66667e69);
	ASSERT(!yj_int64(n, NULL));
	cJSON_SetNumberValue(n, 1.5);
	ASSERT(!yj_int64(n, NULL));
	ASSERT(!yj_int64(NULL, NULL));
	cJSON_Delete(n);
	ASSERT_EQ(yj_to_int64(5.66667e69), INT64_MAX);
	ASSERT_EQ(yj_to_int64(-1e300), INT64_MIN);
	ASSERT_EQ(yj_to_int64(0.0 / 0.0), (int64_t)0);
	ASSERT_EQ(yj_to_int64(-7.9), (int64_t)-7);
	ASSERT_EQ(yj_to_int(1e18), INT_MAX);
	ASSERT_EQ(yj_to_int(-1e18), INT_MIN);
	ASSERT_EQ(yj_to_int(12.0), 12);
}

/* A NaN or an infinity: strconv's words, never a crash (fuzz-long found one). */
TEST(format_float_non_finite)
{
	char out[64];
	cJSON *j = cJSON_CreateObject();
	struct buf b = BUF_INIT(1 << 10);

	yj_format_float(HUGE_VAL, 64, 1, out, sizeof(out));
	ASSERT_STREQ(out, "+Inf");
	yj_format_float(-HUGE_VAL, 64, 0, out, sizeof(out));
	ASSERT_STREQ(out, "-Inf");
	yj_format_float(NAN, 32, 0, out, sizeof(out));
	ASSERT_STREQ(out, "NaN");
	yj_format_float(1e21, 64, 1, out, sizeof(out));
	ASSERT_STREQ(out, "1e+21");
	cJSON_AddNumberToObject(j, "a", HUGE_VAL);
	ASSERT_OK(yj_print_canonical(j, &b));
	ASSERT_STREQ(b.buf, "{\"a\":+Inf}");
	buf_release(&b);
	cJSON_Delete(j);
}

/*
 * go-yaml v2 sorts keys with digit runs compared as int64s, which in Go
 * wrap around past 2^63: helm 3.21.4's toYaml prints these in this order
 * (...616 wraps to 0, ...617 to 1).  The C sum was signed overflow,
 * undefined (make fuzz-long, kustomize); the sanitizer build checks it.
 */
TEST(go_yaml_key_order_wraps_as_go)
{
	cJSON *j = cJSON_Parse("{\"k3\":1,\"k18446744073709551617\":2,\"k2\":3,"
			       "\"k18446744073709551616\":4}");
	struct buf b = BUF_INIT(1 << 12);

	ASSERT_NOT_NULL(j);
	ASSERT_OK(yj_emit_yaml_go(j, &b));
	ASSERT_STREQ(b.buf, "k18446744073709551616: 4\nk18446744073709551617: 2\nk2: 3\nk3: 1\n");
	buf_release(&b);
	cJSON_Delete(j);
}
