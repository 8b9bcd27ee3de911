/*
 * harness.h: the unit-test harness (libuv's test/task.h, h2o's picotest).
 *
 * A test file defines tests with TEST(name) { ... } and links with
 * harness.c, which provides main().  Each test runs in its own forked
 * process, so a crash, an abort or a sanitizer report fails that test only.
 * Output is TAP:
 *
 *     1..3
 *     ok 1 - buf: add_within_max
 *     not ok 2 - buf: add_past_max
 *     # test/unit/test_buf.c:41: ASSERT_EQ(r, -EFBIG): 0 != -27
 *
 * and the test/run.sh runner adds every binary's lines into the one final
 * "N passed, N failed".  `./test_x NAME` runs only the tests whose name
 * contains NAME; HARNESS_NOFORK=1 runs in-process (for gdb).
 *
 * Assertions print both expressions and both values, then fail the test.
 */
#ifndef CFLUX_TEST_HARNESS_H
#define CFLUX_TEST_HARNESS_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct harness_test {
	const char *name;
	void (*fn)(void);
	struct harness_test *next;
};

void harness__register(struct harness_test *t);
void harness__fail(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));
/* A directory with test data: $CFLUX_TESTDATA or "test/data". */
const char *harness_datadir(void);
/* A fresh temporary directory for this test, removed when it ends. */
const char *harness_tmpdir(void);
/* Write `text` to dir/rel, creating the directories on the way; fails the test on error. */
void harness_put(const char *dir, const char *rel, const char *text);

#define TEST(tname)                                                                                \
	static void test_##tname(void);                                                            \
	static struct harness_test harness_t_##tname = { #tname, test_##tname, NULL };             \
	__attribute__((constructor)) static void harness_reg_##tname(void)                         \
	{                                                                                          \
		harness__register(&harness_t_##tname);                                             \
	}                                                                                          \
	static void test_##tname(void)

#define ASSERT(x)                                                                                  \
	do {                                                                                       \
		if (!(x))                                                                          \
			harness__fail(__FILE__, __LINE__, "ASSERT(%s)", #x);                       \
	} while (0)

#define ASSERT_EQ(a, b)                                                                            \
	do {                                                                                       \
		int64_t a__ = (int64_t)(a), b__ = (int64_t)(b);                                    \
		if (a__ != b__)                                                                    \
			harness__fail(__FILE__, __LINE__, "ASSERT_EQ(%s, %s): %" PRId64            \
					  " != %" PRId64, #a, #b, a__, b__);                       \
	} while (0)

#define ASSERT_NE(a, b)                                                                            \
	do {                                                                                       \
		int64_t a__ = (int64_t)(a), b__ = (int64_t)(b);                                    \
		if (a__ == b__)                                                                    \
			harness__fail(__FILE__, __LINE__, "ASSERT_NE(%s, %s): both %" PRId64, #a,  \
				      #b, a__);                                                    \
	} while (0)

#define ASSERT_OK(x)                                                                               \
	do {                                                                                       \
		int64_t r__ = (int64_t)(x);                                                        \
		if (r__ < 0)                                                                       \
			harness__fail(__FILE__, __LINE__, "ASSERT_OK(%s): %" PRId64 " (%s)", #x,   \
				      r__, strerror((int)-r__));                                   \
	} while (0)

#define ASSERT_STREQ(a, b)                                                                         \
	do {                                                                                       \
		const char *a__ = (a), *b__ = (b);                                                 \
		if (!a__ || !b__ || strcmp(a__, b__) != 0)                                         \
			harness__fail(__FILE__, __LINE__, "ASSERT_STREQ(%s, %s): \"%s\" != \"%s\"", \
				      #a, #b, a__ ? a__ : "(null)", b__ ? b__ : "(null)");         \
	} while (0)

/* `hay` contains `needle`. */
#define ASSERT_CONTAINS(hay, needle)                                                               \
	do {                                                                                       \
		const char *h__ = (hay), *n__ = (needle);                                          \
		if (!h__ || !strstr(h__, n__))                                                     \
			harness__fail(__FILE__, __LINE__, "ASSERT_CONTAINS(%s, %s): \"%s\" lacks \"%s\"", \
				      #hay, #needle, h__ ? h__ : "(null)", n__);                   \
	} while (0)

#define ASSERT_NULL(x) ASSERT((x) == NULL)
#define ASSERT_NOT_NULL(x) ASSERT((x) != NULL)

#endif
