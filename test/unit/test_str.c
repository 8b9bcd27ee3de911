/*
 * test_str.c: lib/base/str.c and err.c — checked parsing, error records.
 */
#include <errno.h>

#include "base/err.h"
#include "base/str.h"
#include "harness.h"

TEST(parse_int64_whole_string_only)
{
	int64_t v = 7;

	ASSERT_OK(parse_int64("-9223372036854775808", &v));
	ASSERT_EQ(v, INT64_MIN);
	ASSERT_OK(parse_int64("9223372036854775807", &v));
	ASSERT_EQ(v, INT64_MAX);
	ASSERT_OK(parse_int64("+12", &v));
	ASSERT_EQ(v, 12);
	ASSERT_EQ(parse_int64("9223372036854775808", &v), -ERANGE);
	ASSERT_EQ(parse_int64("12a", &v), -EINVAL);
	ASSERT_EQ(parse_int64(" 12", &v), -EINVAL);
	ASSERT_EQ(parse_int64("", &v), -EINVAL);
	ASSERT_EQ(parse_int64("-", &v), -EINVAL);
	ASSERT_EQ(v, 12);
}

TEST(parse_uint64_and_int)
{
	uint64_t u;
	int i;

	ASSERT_OK(parse_uint64("18446744073709551615", &u));
	ASSERT(u == UINT64_MAX);
	ASSERT_EQ(parse_uint64("18446744073709551616", &u), -ERANGE);
	ASSERT_EQ(parse_uint64("-1", &u), -EINVAL);
	ASSERT_OK(parse_int("-2147483648", &i));
	ASSERT_EQ(i, -2147483648LL);
	ASSERT_EQ(parse_int("2147483648", &i), -ERANGE);
}

TEST(predicates)
{
	ASSERT(str_startswith("refs/heads/main", "refs/heads/"));
	ASSERT(!str_startswith("ref", "refs/"));
	ASSERT(str_endswith("kustomization.yaml", ".yaml"));
	ASSERT(!str_endswith("a", ".yaml"));
	ASSERT(streq_ptr(NULL, NULL));
	ASSERT(!streq_ptr("a", NULL));
}

TEST(op_err_set_and_prefix)
{
	struct op_err e = OP_ERR_INIT;

	ASSERT_EQ(op_err_set(&e, -ENOENT, "file '%s' not found\n", "a.yaml"), -ENOENT);
	ASSERT_STREQ(e.msg, "file 'a.yaml' not found ");
	ASSERT_EQ(op_err_prefix(&e, "kustomization '%s'", "apps"), -ENOENT);
	ASSERT_STREQ(e.msg, "kustomization 'apps': file 'a.yaml' not found ");
	ASSERT_EQ(e.code, -ENOENT);
	ASSERT_EQ(op_err_set(NULL, -EIO, "x"), -EIO);
	op_err_clear(&e);
	ASSERT_EQ(e.code, 0);
	ASSERT_STREQ(op_strerror(-ENOENT), "No such file or directory");
}

TEST(op_err_truncates_long_messages)
{
	struct op_err e;
	char big[1000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	op_err_set(&e, -EINVAL, "%s", big);
	ASSERT_EQ(strlen(e.msg), sizeof(e.msg) - 1);
	op_err_prefix(&e, "ctx");
	ASSERT_EQ(strlen(e.msg), sizeof(e.msg) - 1);
	ASSERT(strncmp(e.msg, "ctx: xxx", 8) == 0);
}
