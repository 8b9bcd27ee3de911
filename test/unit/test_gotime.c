/*
 * test_gotime.c: lib/tmpl/gotime.c on its own.  Formatting and parsing are
 * checked case by case against Go's time package by
 * test/unit/go_oracle_diff.sh; these tests pin the clock hook, zone
 * loading and reference counting, which need no oracle.
 */
#include <errno.h>

#include "base/buf.h"
#include "harness.h"
#include "tmpl/gotime.h"

static int64_t fixed_clock(void)
{
	return INT64_C(1700000000123456789);
}

TEST(now_uses_the_injected_clock)
{
	struct buf b = BUF_INIT(256);
	struct gotime t;

	gotime_set_clock(fixed_clock);
	gotime_now(&t);
	ASSERT_EQ(t.sec, 1700000000);
	ASSERT_EQ(t.nsec, 123456789);
	ASSERT(!t.mono);
	ASSERT_OK(gotime_format(&t, "2006-01-02T15:04:05.000", 23, &b));
	/* The tests run with the machine's zone; compare in UTC. */
	gotime_in(&t, NULL);
	buf_reset(&b);
	ASSERT_OK(gotime_string(&t, &b));
	ASSERT_STREQ(b.buf, "2023-11-14 22:13:20.123456789 +0000 UTC");
	gotime_release(&t);
	gotime_set_clock(NULL);
	gotime_now(&t);
	ASSERT(t.mono);
	ASSERT(t.sec > 1700000000);
	gotime_release(&t);
	buf_release(&b);
}

TEST(zones_load_and_refuse_bad_names)
{
	struct gotime_zone *z = NULL;
	struct buf b = BUF_INIT(256);
	struct gotime t, u;

	ASSERT_OK(gotime_zone_load("UTC", &z));
	ASSERT_NULL(z);
	ASSERT_OK(gotime_zone_load("", &z));
	ASSERT_NULL(z);
	ASSERT_EQ(gotime_zone_load("No/Such_Zone", &z), -ENOENT);
	ASSERT_EQ(gotime_zone_load("../etc/passwd", &z), -EINVAL);
	ASSERT_EQ(gotime_zone_load("/etc/localtime", &z), -EINVAL);
	z = gotime_zone_fixed("XYZ", -(3 * 3600 + 30 * 60));
	gotime_date(2024, 1, 2, 3, 4, 5, 0, z, &t);
	gotime_zone_unref(z); /* t holds its own reference */
	gotime_copy(&u, &t);
	gotime_release(&t);
	ASSERT_OK(gotime_string(&u, &b));
	ASSERT_STREQ(b.buf, "2024-01-02 03:04:05 -0330 XYZ");
	ASSERT_STREQ(gotime_zone_name(u.zone), "XYZ");
	gotime_release(&u);
	buf_release(&b);
}

TEST(parse_errors_are_gos)
{
	struct gotime t;
	char *err = NULL;

	ASSERT_EQ(gotime_parse("2006-01-02", 10, "2024-02-30", 10, NULL, &t, &err), -EINVAL);
	ASSERT_STREQ(err, "parsing time \"2024-02-30\": day out of range");
	free(err);
	ASSERT_EQ(gotime_parse("2006-01-02", 10, "x", 1, NULL, &t, &err), -EINVAL);
	ASSERT_STREQ(err, "parsing time \"x\" as \"2006-01-02\": cannot parse \"x\" as \"2006\"");
	free(err);
	ASSERT_OK(gotime_parse("2006-01-02T15:04:05Z07:00", 25, "2024-01-02T03:04:05+02:00", 25, NULL, &t, &err));
	ASSERT_EQ(t.sec, 1704157445);
	gotime_release(&t);
}
