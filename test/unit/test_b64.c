/*
 * test_b64.c: lib/base/b64.c — RFC 4648's test vectors both ways, the
 * URL-safe alphabet and white space on decoding, and binary round trips.
 */
#include <errno.h>
#include <string.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "harness.h"

TEST(rfc4648_vectors_both_ways)
{
	static const char *const v[][2] = {
		{ "", "" },	    { "f", "Zg==" },	 { "fo", "Zm8=" },
		{ "foo", "Zm9v" },  { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};
	size_t i, n;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char *e = b64_encode(v[i][0], strlen(v[i][0])), *d = NULL;

		ASSERT_STREQ(e, v[i][1]);
		ASSERT_OK(b64_decode(e, &d, &n));
		ASSERT_EQ(n, strlen(v[i][0]));
		ASSERT_STREQ(d, v[i][0]);
		free(e);
		free(d);
	}
}

TEST(binary_round_trip_and_decoding_leniency)
{
	unsigned char all[256];
	char *e, *d = NULL;
	size_t i, n;

	for (i = 0; i < sizeof(all); i++)
		all[i] = (unsigned char)i;
	e = b64_encode(all, sizeof(all));
	ASSERT_OK(b64_decode(e, &d, &n));
	ASSERT_EQ(n, sizeof(all));
	ASSERT(memcmp(d, all, n) == 0);
	free(e);
	free(d);
	/* "user:pass" with a line break, and the URL-safe form of 0xfb 0xff. */
	ASSERT_OK(b64_decode("dXNlcjpw\nYXNz", &d, &n));
	ASSERT_STREQ(d, "user:pass");
	free(d);
	ASSERT_OK(b64_decode("-_8", &d, &n));
	ASSERT_EQ(n, 2);
	ASSERT_EQ((unsigned char)d[0], 0xfb);
	ASSERT_EQ((unsigned char)d[1], 0xff);
	free(d);
	ASSERT_EQ(b64_decode("ab*c", &d, &n), -EINVAL);
}
