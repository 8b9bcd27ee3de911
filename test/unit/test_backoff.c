/*
 * test_backoff.c: lib/base/backoff.c — growth, caps, reset, jitter bounds.
 */
#include "base/backoff.h"
#include "harness.h"

TEST(reconcile_backoff_doubles_to_cap)
{
	struct backoff b = BACKOFF_RECONCILE;
	uint64_t want = 750, d;
	int i;

	for (i = 0; i < 20; i++) {
		d = backoff_next(&b, (uint64_t)i);
		ASSERT_EQ(d, want);
		want = want * 2 > 15 * 60 * 1000 ? 15 * 60 * 1000 : want * 2;
	}
	backoff_reset(&b);
	ASSERT_EQ(backoff_next(&b, 100), 750);
}

TEST(watch_backoff_jitter_and_reset)
{
	struct backoff b = BACKOFF_WATCH;
	uint64_t d;
	int i;

	d = backoff_next(&b, 0);
	ASSERT(d >= 800 && d <= 1600);
	d = backoff_next(&b, 1000);
	ASSERT(d >= 1600 && d <= 3200);
	for (i = 0; i < 10; i++)
		d = backoff_next(&b, 2000);
	ASSERT(d >= 30000 && d <= 60000);
	/* Two healthy minutes later it starts over. */
	d = backoff_next(&b, 2000 + 120000);
	ASSERT(d >= 800 && d <= 1600);
}

TEST(jitter_interval_stays_in_band)
{
	int i;

	for (i = 0; i < 1000; i++) {
		uint64_t v = jitter_interval(600000, 0.05);

		ASSERT(v >= 570000 && v <= 630000);
	}
	ASSERT_EQ(jitter_interval(1000, 0), 1000);
}

TEST(random_ids)
{
	char a[37], b[37], h[17];

	rand_uuid(a);
	rand_uuid(b);
	ASSERT_EQ(strlen(a), 36);
	ASSERT(a[14] == '4');
	ASSERT(a[19] == '8' || a[19] == '9' || a[19] == 'a' || a[19] == 'b');
	ASSERT(strcmp(a, b) != 0);
	rand_hex(h, 16);
	ASSERT_EQ(strlen(h), 16);
}
