/*
 * test_workqueue.c: lib/kube/workqueue.c on a real loop — dedup, the
 * dirty re-queue, one key never processed twice at once, concurrency,
 * backoff growth and reset, delayed adds with the earlier-deadline rule,
 * the global bucket, shutdown, and 10 000 keys with a clean close.
 */
#include <stdio.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/hmap.h"
#include "harness.h"
#include "kube/workqueue.h"

struct rec {
	uv_loop_t *loop;
	struct buf log;            /* "key " per process call */
	unsigned calls, inflight, max_inflight;
	struct hmap busy;          /* keys processing now (key strings owned) */
	bool finish_now;           /* wq_done inside the callback */
	uint64_t times[64];
	unsigned ntimes;
};

static void process(struct wq *q, const char *key, void *payload)
{
	struct rec *r = payload;

	ASSERT_NULL(hmap_get(&r->busy, key)); /* never twice at once */
	r->calls++;
	buf_addf(&r->log, "%s ", key);
	if (r->ntimes < 64)
		r->times[r->ntimes++] = uv_now(r->loop);
	if (r->finish_now) {
		wq_done(q, key);
		return;
	}
	r->inflight++;
	if (r->inflight > r->max_inflight)
		r->max_inflight = r->inflight;
	{
		char *k = xstrdup(key);

		hmap_put(&r->busy, k, k);
	}
}

/* Finish `key` (which must be processing) with `how`: 0 done, 1 retry. */
static uint64_t finish(struct wq *q, struct rec *r, const char *key, int how)
{
	char *k = hmap_remove(&r->busy, key);
	uint64_t d = 0;

	ASSERT_NOT_NULL(k);
	r->inflight--;
	if (how == 0)
		wq_done(q, key);
	else
		d = wq_retry(q, key);
	free(k);
	return d;
}

static void spin(uv_loop_t *loop, uint64_t ms)
{
	uint64_t until;

	uv_update_time(loop);
	until = uv_now(loop) + ms;
	do {
		uv_run(loop, UV_RUN_NOWAIT);
		uv_sleep(1);
		uv_update_time(loop);
	} while (uv_now(loop) < until);
}

static void closed(void *p)
{
	*(bool *)p = true;
}

static void teardown(uv_loop_t *loop, struct wq *q, struct rec *r)
{
	bool done = false;
	size_t it = 0;
	const char *k;

	wq_close(q, closed, &done);
	uv_run(loop, UV_RUN_DEFAULT);
	ASSERT(done);
	ASSERT_EQ(uv_loop_close(loop), 0);
	while (hmap_next(&r->busy, &it, &k, NULL))
		free((char *)k);
	hmap_release(&r->busy);
	buf_release(&r->log);
}

static struct wq *setup(uv_loop_t *loop, struct rec *r, const struct wq_opts *o)
{
	struct wq *q;

	memset(r, 0, sizeof(*r));
	uv_loop_init(loop);
	r->loop = loop;
	buf_init(&r->log, 1 << 20);
	hmap_init(&r->busy);
	ASSERT_OK(wq_new(loop, o, process, r, &q));
	return q;
}

TEST(adds_coalesce)
{
	uv_loop_t loop;
	struct rec r;
	struct wq *q = setup(&loop, &r, NULL);

	wq_add(q, "ns/a");
	wq_add(q, "ns/a");
	wq_add(q, "ns/b");
	wq_add(q, "ns/a");
	spin(&loop, 5);
	ASSERT_STREQ(r.log.buf, "ns/a ");
	finish(q, &r, "ns/a", 0);
	spin(&loop, 5);
	ASSERT_STREQ(r.log.buf, "ns/a ns/b ");
	finish(q, &r, "ns/b", 0);
	spin(&loop, 5);
	ASSERT_EQ(r.calls, 2);
	teardown(&loop, q, &r);
}

TEST(add_while_processing_requeues_once_after)
{
	uv_loop_t loop;
	struct rec r;
	struct wq *q = setup(&loop, &r, NULL);
	struct wq_stats st;

	wq_add(q, "k");
	spin(&loop, 5);
	ASSERT_EQ(r.calls, 1);
	wq_add(q, "k");
	wq_add(q, "k");
	spin(&loop, 5);
	ASSERT_EQ(r.calls, 1); /* not twice at once */
	wq_get_stats(q, &st);
	ASSERT_EQ(st.processing, 1);
	finish(q, &r, "k", 0);
	spin(&loop, 5);
	ASSERT_EQ(r.calls, 2); /* exactly once more */
	finish(q, &r, "k", 0);
	spin(&loop, 5);
	ASSERT_EQ(r.calls, 2);
	teardown(&loop, q, &r);
}

TEST(max_concurrent_live_change)
{
	struct wq_opts o = WQ_OPTS_INIT;
	uv_loop_t loop;
	struct rec r;
	struct wq *q;
	char key[16];
	int i;

	o.max_concurrent = 2;
	q = setup(&loop, &r, &o);
	for (i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		wq_add(q, key);
	}
	spin(&loop, 5);
	ASSERT_EQ(r.inflight, 2);
	wq_set_max_concurrent(q, 5);
	spin(&loop, 5);
	ASSERT_EQ(r.inflight, 5);
	ASSERT_EQ(r.max_inflight, 5);
	for (i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		finish(q, &r, key, 0);
	}
	spin(&loop, 5);
	ASSERT_EQ(r.calls, 10);
	for (i = 5; i < 10; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		finish(q, &r, key, 0);
	}
	teardown(&loop, q, &r);
}

TEST(retry_backoff_grows_and_resets)
{
	struct wq_opts o = WQ_OPTS_INIT;
	uv_loop_t loop;
	struct rec r;
	struct wq *q;
	uint64_t d;
	int i;

	o.base_delay_ms = 10;
	o.max_delay_ms = 80;
	o.qps = 0;
	q = setup(&loop, &r, &o);
	wq_add(q, "k");
	spin(&loop, 2);
	for (i = 0; i < 5; i++) {
		uint64_t want = 10u << i, t0;

		if (want > 80)
			want = 80;
		t0 = uv_now(&loop);
		d = finish(q, &r, "k", 1);
		ASSERT_EQ(d, want);
		ASSERT_EQ(wq_failures(q, "k"), (unsigned)i + 1);
		while (r.calls < (unsigned)i + 2) {
			uv_run(&loop, UV_RUN_ONCE);
			uv_update_time(&loop);
		}
		/* Not before its time (allow the timer's 1 ms granularity). */
		ASSERT(uv_now(&loop) - t0 + 1 >= want);
	}
	finish(q, &r, "k", 0);
	ASSERT_EQ(wq_failures(q, "k"), 0);
	wq_add(q, "k");
	spin(&loop, 2);
	ASSERT_EQ(finish(q, &r, "k", 1), 10);
	teardown(&loop, q, &r);
}

TEST(retry_with_news_runs_at_once)
{
	struct wq_opts o = WQ_OPTS_INIT;
	uv_loop_t loop;
	struct rec r;
	struct wq *q;

	o.base_delay_ms = 60000;
	q = setup(&loop, &r, &o);
	wq_add(q, "k");
	spin(&loop, 2);
	wq_add(q, "k"); /* an event while it runs */
	finish(q, &r, "k", 1);
	spin(&loop, 5);
	ASSERT_EQ(r.calls, 2);
	finish(q, &r, "k", 0);
	teardown(&loop, q, &r);
}

TEST(add_after_order_and_earlier_deadline_wins)
{
	uv_loop_t loop;
	struct rec r;
	struct wq *q;

	q = setup(&loop, &r, NULL);
	r.finish_now = true;
	wq_add_after(q, "c", 60);
	wq_add_after(q, "a", 20);
	wq_add_after(q, "b", 40);
	wq_add_after(q, "c", 10);  /* earlier: moves up */
	wq_add_after(q, "a", 500); /* later: ignored */
	spin(&loop, 100);
	ASSERT_STREQ(r.log.buf, "c a b ");
	/* An immediate add supersedes a pending delay. */
	wq_add_after(q, "d", 100000);
	wq_add(q, "d");
	spin(&loop, 5);
	ASSERT_STREQ(r.log.buf, "c a b d ");
	teardown(&loop, q, &r);
}

TEST(many_delays_one_timer)
{
	uv_loop_t loop;
	struct rec r;
	struct wq *q;
	struct wq_stats st;
	char key[32];
	unsigned i;

	q = setup(&loop, &r, NULL);
	r.finish_now = true;
	for (i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "k%u", i);
		wq_add_after(q, key, 1 + (i * 7919) % 50);
	}
	wq_get_stats(q, &st);
	ASSERT_EQ(st.waiting, 2000);
	spin(&loop, 80);
	ASSERT_EQ(r.calls, 2000);
	/* Dispatch order follows the deadlines. */
	ASSERT(r.ntimes == 64);
	for (i = 1; i < 64; i++)
		ASSERT(r.times[i] >= r.times[i - 1]);
	teardown(&loop, q, &r);
}

TEST(bucket_limits_bursts_of_retries)
{
	struct wq_opts o = WQ_OPTS_INIT;
	uv_loop_t loop;
	struct rec r;
	struct wq *q;
	char key[16];
	uint64_t d = 0;
	int i;

	o.base_delay_ms = 1;
	o.qps = 10;
	o.burst = 5;
	o.max_concurrent = 100;
	q = setup(&loop, &r, &o);
	for (i = 0; i < 8; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		wq_add(q, key);
	}
	spin(&loop, 3);
	for (i = 0; i < 8; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		d = finish(q, &r, key, 1);
		if (i < 5)
			ASSERT_EQ(d, 1);
	}
	/* The 8th retry waits for the 3rd token beyond the burst: ~300 ms. */
	ASSERT(d >= 250 && d <= 300);
	teardown(&loop, q, &r);
}

TEST(shutdown_stops_dispatch)
{
	uv_loop_t loop;
	struct rec r;
	struct wq *q;
	struct wq_stats st;

	q = setup(&loop, &r, NULL);
	wq_shutdown(q);
	wq_add(q, "k");
	spin(&loop, 5);
	ASSERT_EQ(r.calls, 0);
	wq_get_stats(q, &st);
	ASSERT_EQ(st.depth, 1);
	ASSERT_EQ(st.adds, 1);
	teardown(&loop, q, &r);
}

TEST(ten_thousand_keys)
{
	struct wq_opts o = WQ_OPTS_INIT;
	uv_loop_t loop;
	struct rec r;
	struct wq *q;
	char key[32];
	unsigned i;

	o.max_concurrent = 8;
	q = setup(&loop, &r, &o);
	r.finish_now = true;
	for (i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "ns-%u/obj-%u", i % 13, i);
		wq_add(q, key);
		wq_add(q, key);
	}
	spin(&loop, 50);
	ASSERT_EQ(r.calls, 10000);
	ASSERT_EQ(wq_new(&loop, NULL, NULL, NULL, &q), -EINVAL);
	teardown(&loop, q, &r);
}
