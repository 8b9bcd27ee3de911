/*
 * test_buf.c: lib/base/buf.c — bounded growth, appends, consume, detach.
 */
#include <errno.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "harness.h"

TEST(empty_is_a_string)
{
	struct buf b = BUF_INIT(16);

	ASSERT_STREQ(b.buf, "");
	ASSERT_EQ(b.len, 0);
	buf_release(&b);
}

TEST(add_within_max)
{
	struct buf b;

	buf_init(&b, 8);
	ASSERT_OK(buf_adds(&b, "abcd"));
	ASSERT_OK(buf_addf(&b, "%d%c", 12, 'x'));
	ASSERT_STREQ(b.buf, "abcd12x");
	ASSERT_OK(buf_addch(&b, 'y'));
	ASSERT_EQ(b.len, 8);
	ASSERT(b.alloc <= 9);
	buf_release(&b);
}

/* SIZE_MAX once wrapped max + 1 to 0: a 1-byte allocation, then an overflow. */
TEST(unlimited_max_grows)
{
	struct buf b = BUF_INIT(SIZE_MAX);

	ASSERT_OK(buf_adds(&b, "0123456789abcdef"));
	ASSERT_OK(buf_adds(&b, "0123456789abcdef"));
	ASSERT_EQ(b.len, 32);
	ASSERT(b.alloc > 32);
	ASSERT_STREQ(b.buf, "0123456789abcdef0123456789abcdef");
	buf_release(&b);
}

TEST(add_past_max_fails_and_keeps_contents)
{
	struct buf b;

	buf_init(&b, 5);
	ASSERT_OK(buf_adds(&b, "abc"));
	ASSERT_EQ(buf_adds(&b, "def"), -EFBIG);
	ASSERT_EQ(buf_addf(&b, "%s", "xyz"), -EFBIG);
	ASSERT_STREQ(b.buf, "abc");
	ASSERT_EQ(buf_grow(&b, (size_t)-1), -EFBIG);
	buf_release(&b);
}

TEST(consume_and_truncate)
{
	struct buf b;

	buf_init(&b, 100);
	ASSERT_OK(buf_adds(&b, "line1\nline2\n"));
	buf_consume(&b, 6);
	ASSERT_STREQ(b.buf, "line2\n");
	buf_truncate(&b, 5);
	ASSERT_STREQ(b.buf, "line2");
	buf_consume(&b, 99);
	ASSERT_STREQ(b.buf, "");
	buf_release(&b);
}

TEST(detach_transfers_ownership)
{
	struct buf b;
	size_t n;
	char *s;

	buf_init(&b, 100);
	s = buf_detach(&b, &n);
	ASSERT_STREQ(s, "");
	free(s);
	ASSERT_OK(buf_adds(&b, "hello"));
	s = buf_detach(&b, &n);
	ASSERT_STREQ(s, "hello");
	ASSERT_EQ(n, 5);
	ASSERT_EQ(b.len, 0);
	ASSERT_STREQ(b.buf, "");
	free(s);
	buf_release(&b);
}

TEST(uri_escaped_keeps_the_unreserved)
{
	struct buf b = BUF_INIT(256);

	ASSERT_OK(buf_add_uri_escaped(&b, "a b/c~d_e.f-g+h=\xff", true));
	ASSERT_STREQ(b.buf, "a%20b/c~d_e.f-g%2Bh%3D%FF");
	buf_reset(&b);
	ASSERT_OK(buf_add_uri_escaped(&b, "a/b", false));
	ASSERT_STREQ(b.buf, "a%2Fb");
	buf_release(&b);
	b = (struct buf)BUF_INIT(4);
	ASSERT_EQ(buf_add_uri_escaped(&b, "ab c", false), -EFBIG);
	buf_release(&b);
}
