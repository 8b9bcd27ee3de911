/*
 * test_time.c: lib/base/time.c — Go durations and RFC 3339, checked
 * against what Go's time package prints for the same values.
 */
#include <errno.h>

#include "base/macro.h"
#include "base/time.h"
#include "harness.h"

static int64_t dur(const char *s)
{
	int64_t v = -1;

	ASSERT_OK(duration_parse(s, &v));
	return v;
}

TEST(duration_parse_go_forms)
{
	ASSERT_EQ(dur("0"), 0);
	ASSERT_EQ(dur("10m"), 10 * NSEC_PER_MIN);
	ASSERT_EQ(dur("1m30s"), 90 * NSEC_PER_SEC);
	ASSERT_EQ(dur("1.5h"), 90 * NSEC_PER_MIN);
	ASSERT_EQ(dur("300ms"), 300 * NSEC_PER_MSEC);
	ASSERT_EQ(dur("2h45m0.5s"), 2 * NSEC_PER_HOUR + 45 * NSEC_PER_MIN + 500 * NSEC_PER_MSEC);
	ASSERT_EQ(dur("1us"), 1000);
	ASSERT_EQ(dur("1\xc2\xb5s"), 1000);
	ASSERT_EQ(dur("-5s"), -5 * NSEC_PER_SEC);
	ASSERT_EQ(dur(".5s"), 500 * NSEC_PER_MSEC);
	ASSERT_EQ(dur("1.s"), NSEC_PER_SEC);
	ASSERT_EQ(dur("100ns"), 100);
	ASSERT_EQ(dur("0.000000001s"), 1);
}

TEST(duration_parse_rejects)
{
	int64_t v = 42;

	ASSERT_EQ(duration_parse("", &v), -EINVAL);
	ASSERT_EQ(duration_parse("10", &v), -EINVAL);
	ASSERT_EQ(duration_parse("1d", &v), -EINVAL);
	ASSERT_EQ(duration_parse("m", &v), -EINVAL);
	ASSERT_EQ(duration_parse(".s", &v), -EINVAL);
	ASSERT_EQ(duration_parse("1m 2s", &v), -EINVAL);
	ASSERT_EQ(duration_parse("3000000h", &v), -ERANGE);
	ASSERT_EQ(duration_parse("9223372036854775808ns", &v), -ERANGE);
	ASSERT_EQ(v, 42);
}

static void fmt_is(int64_t ns, const char *want)
{
	char out[DURATION_MAX];

	duration_format(ns, out);
	ASSERT_STREQ(out, want);
}

TEST(duration_format_like_go)
{
	fmt_is(0, "0s");
	fmt_is(10 * NSEC_PER_MIN, "10m0s");
	fmt_is(NSEC_PER_HOUR, "1h0m0s");
	fmt_is(90 * NSEC_PER_SEC, "1m30s");
	fmt_is(1500 * NSEC_PER_MSEC, "1.5s");
	fmt_is(500 * NSEC_PER_MSEC, "500ms");
	fmt_is(1500 * NSEC_PER_USEC, "1.5ms");
	fmt_is(1500, "1.5\xc2\xb5s");
	fmt_is(999, "999ns");
	fmt_is(-5 * NSEC_PER_SEC, "-5s");
	fmt_is(25 * NSEC_PER_HOUR + 1, "25h0m0.000000001s");
	fmt_is(INT64_MAX, "2562047h47m16.854775807s");
}

TEST(duration_roundtrip)
{
	static const char *const in[] = { "5m0s", "1h0m0s", "1m30s", "750ms", "15m0s", "2h3m4.5s" };
	size_t i;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		fmt_is(dur(in[i]), in[i]);
}

TEST(rfc3339_format_and_parse)
{
	char out[RFC3339_MAX];
	int64_t t = 1795548732LL * NSEC_PER_SEC + 123456789, back;

	time_format_rfc3339(t, out);
	ASSERT_STREQ(out, "2026-11-24T19:32:12Z");
	time_format_rfc3339_micro(t, out);
	ASSERT_STREQ(out, "2026-11-24T19:32:12.123456Z");
	time_format_rfc3339_milli(t, out);
	ASSERT_STREQ(out, "2026-11-24T19:32:12.123Z");
	ASSERT_OK(time_parse_rfc3339("2026-11-24T19:32:12.123456789Z", &back));
	ASSERT_EQ(back, t);
	ASSERT_OK(time_parse_rfc3339("2026-11-24T20:32:12+01:00", &back));
	ASSERT_EQ(back, 1795548732LL * NSEC_PER_SEC);
	ASSERT_OK(time_parse_rfc3339("2026-11-24t19:32:12z", &back));
	ASSERT_EQ(time_parse_rfc3339("2026-11-24 19:32:12Z", &back), -EINVAL);
	ASSERT_EQ(time_parse_rfc3339("2026-13-24T19:32:12Z", &back), -EINVAL);
	ASSERT_EQ(time_parse_rfc3339("2026-11-24T19:32:12", &back), -EINVAL);
	ASSERT_EQ(time_parse_rfc3339("2026-11-24T19:32:12Zjunk", &back), -EINVAL);
}

TEST(rfc3339_before_epoch)
{
	char out[RFC3339_MAX];

	time_format_rfc3339_milli(-1 * NSEC_PER_MSEC, out);
	ASSERT_STREQ(out, "1969-12-31T23:59:59.999Z");
}

TEST(iso8601_durations_as_azure_writes_them)
{
	static const char *const bad[] = {
		"", "P", "PT", "30M", "P1M", "P1Y", "PT1D", "P1H", "PT1M1H", "PT1H1H",
		"PT1.5M30S", "PT-1S", "PT1", "P1DT", "PTS", "PT1.S", "PT99999999999999999999S",
	};
	int64_t v;

	ASSERT_OK(duration_parse_iso8601("PT30M", &v));
	ASSERT_EQ(v, 30 * NSEC_PER_MIN);
	ASSERT_OK(duration_parse_iso8601("PT1H30M", &v));
	ASSERT_EQ(v, 90 * NSEC_PER_MIN);
	ASSERT_OK(duration_parse_iso8601("P1DT12H", &v));
	ASSERT_EQ(v, 36 * NSEC_PER_HOUR);
	ASSERT_OK(duration_parse_iso8601("P2W", &v));
	ASSERT_EQ(v, 14 * 24 * NSEC_PER_HOUR);
	ASSERT_OK(duration_parse_iso8601("PT90.5S", &v));
	ASSERT_EQ(v, 90 * NSEC_PER_SEC + 500 * NSEC_PER_MSEC);
	ASSERT_OK(duration_parse_iso8601("PT0S", &v));
	ASSERT_EQ(v, 0);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		v = -7;
		ASSERT(duration_parse_iso8601(bad[i], &v) < 0);
		ASSERT_EQ(v, -7);
	}
}
