/*
 * test_regex.c: lib/base/regex.c on its own.  The bulk of the checking is
 * differential (test/unit/go_oracle_diff.sh, against Go's regexp); these tests
 * pin what must hold without Go: RE2's refusals with Go's messages, linear
 * time on inputs that make backtracking engines explode, and the limits.
 */
#include <errno.h>
#include <time.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "harness.h"
#include "base/regex.h"

static char *compile_err(const char *pat)
{
	struct regex *re = NULL;
	char *err = NULL;

	if (regex_compile(pat, strlen(pat), &re, &err) == 0) {
		regex_free(re);
		return xstrdup("ok");
	}
	return err;
}

#define ASSERT_COMPILE(pat, want)                                                                  \
	do {                                                                                       \
		char *e__ = compile_err(pat);                                                      \
		ASSERT_STREQ(e__, want);                                                           \
		free(e__);                                                                         \
	} while (0)

TEST(refuses_what_re2_refuses_with_gos_text)
{
	ASSERT_COMPILE("(?=a)", "error parsing regexp: invalid or unsupported Perl syntax: `(?=`");
	ASSERT_COMPILE("(?!a)", "error parsing regexp: invalid or unsupported Perl syntax: `(?!`");
	ASSERT_COMPILE("(a)\\1", "error parsing regexp: invalid escape sequence: `\\1`");
	ASSERT_COMPILE("a++", "error parsing regexp: invalid nested repetition operator: `++`");
	ASSERT_COMPILE("\\C", "error parsing regexp: invalid escape sequence: `\\C`");
	ASSERT_COMPILE("[a", "error parsing regexp: missing closing ]: `[a`");
	ASSERT_COMPILE("(a", "error parsing regexp: missing closing ): `(a`");
	ASSERT_COMPILE("a)", "error parsing regexp: unexpected ): `a)`");
	ASSERT_COMPILE("x{1001}", "error parsing regexp: invalid repeat count: `{1001}`");
	ASSERT_COMPILE("*", "error parsing regexp: missing argument to repetition operator: `*`");
	ASSERT_COMPILE("\\", "error parsing regexp: trailing backslash at end of expression: ``");
	ASSERT_COMPILE("\\p{Nope}", "error parsing regexp: invalid character class range: `\\p{Nope}`");
	ASSERT_COMPILE("(?P<n>a)(?:b)|\\pL{2}", "ok");
}

TEST(nesting_and_size_are_bounded)
{
	struct buf b = BUF_INIT(1 << 20);
	int i;

	for (i = 0; i < 1001; i++)
		ASSERT_OK(buf_addch(&b, '('));
	for (i = 0; i < 1001; i++)
		ASSERT_OK(buf_addch(&b, ')'));
	{
		char *e = compile_err(b.buf);

		ASSERT_CONTAINS(e, "error parsing regexp: expression nests too deeply: `((((");
		free(e);
	}
	buf_reset(&b);
	/* 100 counted repeats of 1000 copies: over REGEX_MAX_INSTS. */
	for (i = 0; i < 100; i++)
		ASSERT_OK(buf_adds(&b, "[a-z]{1000}"));
	{
		char *e = compile_err(b.buf);

		ASSERT_CONTAINS(e, "error parsing regexp: expression too large: `[a-z]{1000}");
		free(e);
	}
	buf_release(&b);
}

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

TEST(pathological_patterns_run_in_linear_time)
{
	static const char *pats[] = { "^(a+)+$", "^(a|aa)*$", "(a*)*b", "^(a?){30}a{30}$" };
	size_t n = 200000, i;
	char *s = xmalloc(n + 1);

	memset(s, 'a', n);
	s[n] = '\0';
	for (i = 0; i < ARRAY_SIZE(pats); i++) {
		struct regex *re = NULL;
		char *err = NULL;
		double t0 = seconds();

		ASSERT_OK(regex_compile(pats[i], strlen(pats[i]), &re, &err));
		/* Too few a's for the last pattern (30 at least), and no 'b'. */
		ASSERT(!regex_match(re, s, i == 3 ? 29 : n) || i < 2);
		ASSERT(seconds() - t0 < 5.0);
		regex_free(re);
	}
	free(s);
}

static int join_cb(void *ud, const char *p, size_t len)
{
	struct buf *b = ud;

	if (b->len)
		ASSERT_OK(buf_addch(b, '|'));
	return buf_add(b, p, len);
}

TEST(replace_split_and_quote)
{
	struct regex *re = NULL;
	char *err = NULL;
	struct buf out = BUF_INIT(1 << 20), small = BUF_INIT(4);

	ASSERT_OK(regex_compile("a(x*)b", 6, &re, &err));
	ASSERT_OK(regex_replace_all(re, "-ab-axxb-", 9, "$1W", 3, false, &out));
	ASSERT_STREQ(out.buf, "---"); /* $1W names the group "1W" */
	buf_reset(&out);
	ASSERT_OK(regex_replace_all(re, "-ab-axxb-", 9, "${1}W", 5, false, &out));
	ASSERT_STREQ(out.buf, "-W-xxW-");
	buf_reset(&out);
	ASSERT_OK(regex_replace_all(re, "-ab-axxb-", 9, "$1", 2, true, &out));
	ASSERT_STREQ(out.buf, "-$1-$1-");
	ASSERT_EQ(regex_replace_all(re, "-ab-axxb-", 9, "long replacement", 16, true, &small), -EFBIG);
	re = regex_free(re);
	buf_reset(&out);
	ASSERT_OK(regex_compile("x*", 2, &re, &err));
	ASSERT_EQ(regex_split(re, "axbxxc", 6, -1, join_cb, &out), 3);
	ASSERT_STREQ(out.buf, "a|b|c");
	regex_free(re);
	buf_reset(&out);
	ASSERT_OK(regex_quote_meta("1.5+[x]", 7, &out));
	ASSERT_STREQ(out.buf, "1\\.5\\+\\[x\\]");
	buf_release(&out);
	buf_release(&small);
}
