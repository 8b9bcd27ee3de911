/*
 * test_envsubst.c: lib/apply/envsubst.c against the behaviour of Flux's
 * envsubst (fluxcd/pkg/envsubst, its documented cases), non-strict and
 * strict.
 */
#include "kustomize/envsubst.h"
#include "base/str.h"
#include "harness.h"

struct kv {
	const char *k, *v;
};

struct env {
	const struct kv *kv;
	bool lenient; /* every name is "set" (to "" when absent), as non-strict Flux */
};

static bool lookup(const char *name, const char **ret, void *payload)
{
	const struct env *e = payload;
	const struct kv *p;

	for (p = e->kv; p && p->k; p++)
		if (streq(p->k, name)) {
			*ret = p->v;
			return true;
		}
	*ret = "";
	return e->lenient;
}

static void is(const struct kv *kv, const char *in, const char *want)
{
	struct env e = { kv, true };
	struct buf out = BUF_INIT(1 << 20);
	struct op_err err;

	if (envsubst(in, lookup, &e, false, &out, &err) < 0)
		harness__fail(__FILE__, __LINE__, "%s: %s", in, err.msg);
	if (strcmp(out.buf, want) != 0)
		harness__fail(__FILE__, __LINE__, "%s: got \"%s\", want \"%s\"", in, out.buf, want);
	buf_release(&out);
}

TEST(operators)
{
	const struct kv v1[] = { { "var01", "abcdEFGH28ij" }, { NULL, NULL } };
	const struct kv v2[] = { { "var01", "ABCDEFGH28IJ" }, { NULL, NULL } };
	const struct kv path[] = { { "path_name", "/home/bozo/ideas/thoughts.for.today" }, { NULL, NULL } };
	const struct kv z[] = { { "stringZ", "abcABC123ABCabc" }, { NULL, NULL } };
	const struct kv fn[] = { { "filename", "bash.string.txt" }, { NULL, NULL } };

	is(NULL, "abcdEFGH28ij", "abcdEFGH28ij");
	is(v1, "${#var01}", "12");
	is(v1, "${var01^}", "AbcdEFGH28ij");
	is(v1, "${var01^^}", "ABCDEFGH28IJ");
	is(v2, "${var01,}", "aBCDEFGH28IJ");
	is(v2, "${var01,,}", "abcdefgh28ij");
	is(path, "${path_name:11}", "ideas/thoughts.for.today");
	is(path, "${path_name:11:5}", "ideas");
	is(z, "${stringZ/%abc/XYZ}", "abcABC123ABCXYZ");
	is(z, "${stringZ/#abc/XYZ}", "XYZABC123ABCabc");
	is(z, "${stringZ//abc/xyz}", "xyzABC123ABCxyz");
	is(z, "${stringZ/abc/xyz}", "xyzABC123ABCabc");
	is(fn, "${filename#*.}", "string.txt");
	is(fn, "${filename##*.}", "txt");
	is(fn, "${filename%.*}", "bash.string");
	is(fn, "${filename%%.*}", "bash");
}

TEST(prefix_suffix_and_slashes)
{
	const struct kv sv[] = { { "stringZ", "somevalue" }, { NULL, NULL } };
	const struct kv p1[] = { { "filename", "path/to/file" }, { NULL, NULL } };
	const struct kv p2[] = { { "filename", "/path/to/file" }, { NULL, NULL } };
	const struct kv fb[] = { { "stringZ", "foo/bar" }, { NULL, NULL } };
	const struct kv fbb[] = { { "stringZ", "foo/bar/baz" }, { NULL, NULL } };
	const struct kv dot[] = { { "stringZ", "foo.bar" }, { NULL, NULL } };

	is(sv, "${stringZ/#/prefix-}", "prefix-somevalue");
	is(sv, "${stringZ/%/-suffix}", "somevalue-suffix");
	is(p1, "${filename#*/}", "to/file");
	is(p2, "${filename#*/}", "path/to/file");
	is(p1, "${filename##*/}", "file");
	is(p2, "${filename##*/}", "file");
	is(fb, "${stringZ/\\//-}", "foo-bar");
	is(fbb, "${stringZ//\\//-}", "foo-bar-baz");
	is(dot, "${stringZ/./}", "foobar");
}

TEST(defaults_nesting_and_escapes)
{
	const struct kv abc[] = { { "var", "abc" }, { NULL, NULL } };
	const struct kv dv[] = { { "default_var", "foo" }, { NULL, NULL } };
	const struct kv dv1[] = { { "default_var", "foo1" }, { NULL, NULL } };
	const struct kv v1[] = { { "var01", "abcdEFGH28ij" }, { NULL, NULL } };

	is(abc, "${var=xyz}", "abc");
	is(NULL, "${var=xyz}", "xyz");
	is(NULL, "${var:=xyz}", "xyz");
	is(NULL, "${var:-xyz}", "xyz");
	is(dv, "something ${var=${default_var}}", "something foo");
	is(dv1, "foo: ${var=${default_var}-suffix}", "foo: foo1-suffix");
	is(dv1, "foo: ${var=prefix${default_var}-suffix}", "foo: prefixfoo1-suffix");
	is(v1, "${var=${var01^^}}", "ABCDEFGH28IJ");
	is(v1, "$${var01}", "${var01}");
	is(v1, "some text ${var01}$${var$${var01}$var01${var01}",
	   "some text abcdEFGH28ij${var${var01}$var01abcdEFGH28ij");
	is(dv, "something $${var=${default_var}}", "something ${var=foo}");
	is(dv, "\\\\something ${var=${default_var}}", "\\\\something foo");
	is(v1, "plain $var01 and $ alone, cost: $5", "plain $var01 and $ alone, cost: $5");
}

static int strict(const struct kv *kv, const char *in, struct buf *out, struct op_err *err)
{
	struct env e = { kv, false };

	buf_reset(out);
	return envsubst(in, lookup, &e, true, out, err);
}

TEST(strict_mode)
{
	static const char *const must_fail[] = {
		"${missing}", "${#missing}", "${missing^}", "${missing^^}", "${missing,}",
		"${missing,,}", "${missing:0}", "${missing:0:10}", "${missing/pattern/replacement}",
		"${missing//pattern/replacement}", "${missing/#pattern/replacement}",
		"${missing/%pattern/replacement}", "${missing#pattern}", "${missing##pattern}",
		"${missing%pattern}", "${missing%%pattern}",
	};
	const struct kv foo[] = { { "foo", "bar" }, { "empty", "" }, { NULL, NULL } };
	struct buf out = BUF_INIT(1 << 20);
	struct op_err err;
	size_t i;

	ASSERT_OK(strict(foo, "${foo}", &out, &err));
	ASSERT_STREQ(out.buf, "bar");
	ASSERT_OK(strict(foo, "${empty}", &out, &err));
	ASSERT_STREQ(out.buf, "");
	for (i = 0; i < sizeof(must_fail) / sizeof(must_fail[0]); i++) {
		if (strict(foo, must_fail[i], &out, &err) != -EINVAL)
			harness__fail(__FILE__, __LINE__, "%s did not fail", must_fail[i]);
		ASSERT_STREQ(err.msg, "variable 'missing' is not set (strict mode)");
	}
	ASSERT_OK(strict(foo, "${missing:-fallback}", &out, &err));
	ASSERT_STREQ(out.buf, "fallback");
	ASSERT_OK(strict(foo, "${missing:=assigned}", &out, &err));
	ASSERT_STREQ(out.buf, "assigned");
	ASSERT_OK(strict(foo, "${missing=assigned}", &out, &err));
	ASSERT_STREQ(out.buf, "assigned");
	buf_release(&out);
}

TEST(errors_and_names)
{
	struct env e = { NULL, true };
	struct buf out = BUF_INIT(64);
	struct op_err err;

	ASSERT_EQ(envsubst("a ${unclosed", lookup, &e, false, &out, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "unterminated");
	ASSERT_EQ(envsubst("${}", lookup, &e, false, &out, &err), -EINVAL);
	ASSERT_EQ(envsubst("${var+x}", lookup, &e, false, &out, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "unsupported");
	buf_reset(&out);
	ASSERT_EQ(envsubst("0123456789012345678901234567890123456789012345678901234567890123456789",
			   lookup, &e, false, &out, &err), -EFBIG);
	ASSERT(envsubst_valid_name("cluster_env"));
	ASSERT(envsubst_valid_name("_x1"));
	ASSERT(!envsubst_valid_name("1x"));
	ASSERT(!envsubst_valid_name("a-b"));
	ASSERT(!envsubst_valid_name(""));
	buf_release(&out);
}

static bool counting(const char *name, const char **ret, void *payload)
{
	(void)name;
	(*(size_t *)payload)++;
	*ret = "abcabc";
	return true;
}

/* Nested "##"/"%%" patterns are expanded once per level: each level used
 * to expand its pattern twice, so 24 levels cost 2^24 lookups (found by
 * `make fuzz-long`: 600 bytes of input took 14 s). */
TEST(nested_longest_patterns_expand_once)
{
	struct buf in = BUF_INIT(1 << 20), out = BUF_INIT(1 << 20);
	struct op_err err;
	size_t calls = 0;
	int i;

	for (i = 0; i < 24; i++)
		buf_adds(&in, i % 2 ? "${c%%" : "${c##");
	buf_adds(&in, "c");
	for (i = 0; i < 24; i++)
		buf_adds(&in, "}");
	ASSERT_OK(envsubst(in.buf, counting, &calls, false, &out, &err));
	ASSERT_EQ(calls, (size_t)24);
	ASSERT_STREQ(out.buf, "c"); /* as bash: abcab, c, abcab, ... */
	buf_release(&in);
	buf_release(&out);
}
