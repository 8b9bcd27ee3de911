/*
 * test_workqueue.c: lib/kube/workqueue.c on a real loop.
 *
 * Dedup, the dirty re-queue, one key never processed twice at once under
 * random load, max_concurrent (also changed live), backoff growth, cap and
 * reset measured with uv_now(), delayed adds in deadline order with the
 * earlier-deadline rule and one timer for all, the global bucket, jittered
 * RequeueAfter, shutdown and drain, error returns, metrics, and 10 000
 * keys through the queue.  Every test ends with the queue closed and
 * uv_loop_close() == 0; the sanitizer build checks each test for leaks.
 *
 * The process callback records what it is handed and, in KEEP mode, keeps
 * the key "in flight" in `busy` until the test finishes it, as an
 * asynchronous reconciler would.
 */
#include <stdio.h>

#include "base/alloc.h"
#include "base/backoff.h"
#include "base/buf.h"
#include "base/hmap.h"
#include "harness.h"
#include "kube/workqueue.h"

enum mode {
	KEEP,     /* leave the key processing until the test finishes it */
	DONE_NOW, /* wq_done() from inside the callback */
};

enum how { DONE, RETRY, DONE_AFTER };

struct rec {
	uv_loop_t loop;
	struct wq *q;
	enum mode mode;
	bool in_api;         /* set around wq_*() calls: process must not run then */
	struct buf log;      /* "key " per process call, in order */
	unsigned calls, inflight, max_inflight;
	struct hmap busy;    /* keys processing now -> our own copy */
	uint64_t times[512]; /* uv_now() of the first process calls */
	unsigned ntimes;
	unsigned close_after; /* DONE_NOW: wq_close() from the callback at this call */
	bool readd_first;     /* DONE_NOW: wq_add() the first key again after its wq_done() */
	unsigned drain_calls;
	int drain_status;
	bool closed, drain_before_close;
};

static void add(struct rec *r, const char *key);

static void process(struct wq *q, const char *key, void *payload)
{
	struct rec *r = payload;
	char *k;

	ASSERT(q == r->q);
	ASSERT(!r->in_api);                   /* never from inside a wq_*() call */
	ASSERT_NULL(hmap_get(&r->busy, key)); /* never twice at once */
	r->calls++;
	ASSERT_OK(buf_addf(&r->log, "%s ", key));
	if (r->ntimes < ARRAY_SIZE(r->times))
		r->times[r->ntimes++] = uv_now(&r->loop);
	if (r->mode == DONE_NOW) {
		/* `key` is the queue's copy: gone once the key is done. */
		char *again = r->readd_first && r->calls == 1 ? xstrdup(key) : NULL;

		ASSERT_OK(wq_done(q, key));
		if (again) {
			add(r, again);
			free(again);
		}
		if (r->close_after && r->calls == r->close_after)
			wq_close(q, NULL, NULL);
		return;
	}
	r->inflight++;
	if (r->inflight > r->max_inflight)
		r->max_inflight = r->inflight;
	k = xstrdup(key);
	hmap_put(&r->busy, k, k);
}

/* Finish `key` (which must be processing); returns the retry delay if any. */
static uint64_t finish(struct rec *r, const char *key, enum how how, uint64_t after_ms)
{
	char *k = hmap_remove(&r->busy, key);
	uint64_t d = 0;

	ASSERT_NOT_NULL(k);
	r->inflight--;
	r->in_api = true;
	switch (how) {
	case DONE:
		ASSERT_OK(wq_done(r->q, k));
		break;
	case RETRY:
		ASSERT_OK(wq_retry(r->q, k, &d));
		break;
	case DONE_AFTER:
		ASSERT_OK(wq_done_after(r->q, k, after_ms));
		break;
	}
	r->in_api = false;
	free(k);
	return d;
}

static void finish_all(struct rec *r)
{
	size_t it = 0;
	const char *k;

	/* Removing the current entry while iterating is allowed (hmap.h). */
	while (hmap_next(&r->busy, &it, &k, NULL))
		finish(r, k, DONE, 0);
}

static void add(struct rec *r, const char *key)
{
	r->in_api = true;
	ASSERT_OK(wq_add(r->q, key));
	r->in_api = false;
}

static void add_after(struct rec *r, const char *key, uint64_t ms)
{
	r->in_api = true;
	ASSERT_OK(wq_add_after(r->q, key, ms));
	r->in_api = false;
}

static uint64_t now_ms(struct rec *r)
{
	uv_update_time(&r->loop);
	return uv_now(&r->loop);
}

/* Run the loop for about `ms` milliseconds. */
static void spin(struct rec *r, uint64_t ms)
{
	uint64_t until = now_ms(r) + ms;

	do {
		uv_run(&r->loop, UV_RUN_NOWAIT);
		uv_sleep(1);
	} while (now_ms(r) < until);
}

/* Run the loop until `cond` holds; fail after `max_ms`. */
#define RUN_UNTIL(r, cond, max_ms)                                                                 \
	do {                                                                                       \
		uint64_t until__ = now_ms(r) + (max_ms);                                           \
		while (!(cond)) {                                                                  \
			ASSERT(now_ms(r) < until__);                                               \
			uv_run(&(r)->loop, UV_RUN_NOWAIT);                                         \
		}                                                                                  \
	} while (0)

static struct rec *setup(const struct wq_opts *o, enum mode mode)
{
	struct rec *r = xcalloc(1, sizeof(*r));

	ASSERT_OK(uv_loop_init(&r->loop));
	buf_init(&r->log, 1 << 20);
	hmap_init(&r->busy);
	r->mode = mode;
	ASSERT_OK(wq_new(&r->loop, o, process, r, &r->q));
	return r;
}

static void closed(void *payload)
{
	struct rec *r = payload;

	r->closed = true;
	r->drain_before_close = r->drain_calls > 0;
}

static void free_rec(struct rec *r)
{
	size_t it = 0;
	const char *k;

	ASSERT_EQ(uv_loop_close(&r->loop), 0);
	while (hmap_next(&r->busy, &it, &k, NULL))
		free((char *)k);
	hmap_release(&r->busy);
	buf_release(&r->log);
	free(r);
}

static void teardown(struct rec *r)
{
	wq_close(r->q, closed, r);
	ASSERT(!r->closed); /* not before the handles have closed */
	uv_run(&r->loop, UV_RUN_DEFAULT);
	ASSERT(r->closed);
	free_rec(r);
}

static struct wq_stats stats(struct rec *r)
{
	struct wq_stats st;

	wq_get_stats(r->q, &st);
	return st;
}

TEST(adds_dedup_in_fifo_order)
{
	struct rec *r = setup(NULL, KEEP);

	add(r, "ns/a");
	add(r, "ns/a");
	add(r, "ns/b");
	add(r, "ns/a");
	add(r, "ns/c");
	ASSERT_EQ(r->calls, 0); /* dispatch waits for the loop */
	ASSERT_EQ(stats(r).adds, 3);
	ASSERT_EQ(stats(r).depth, 3);
	RUN_UNTIL(r, r->calls == 1, 1000);
	spin(r, 3);
	ASSERT_STREQ(r->log.buf, "ns/a ");
	finish(r, "ns/a", DONE, 0);
	RUN_UNTIL(r, r->calls == 2, 1000);
	finish(r, "ns/b", DONE, 0);
	RUN_UNTIL(r, r->calls == 3, 1000);
	finish(r, "ns/c", DONE, 0);
	spin(r, 3);
	ASSERT_STREQ(r->log.buf, "ns/a ns/b ns/c ");
	ASSERT_EQ(stats(r).keys, 0); /* nothing left to remember */
	teardown(r);
}

TEST(add_during_processing_requeues_once_after_done)
{
	struct rec *r = setup(NULL, KEEP);
	struct wq_stats st;

	add(r, "k");
	RUN_UNTIL(r, r->calls == 1, 1000);
	add(r, "k");
	add(r, "k");
	add(r, "k");
	spin(r, 5);
	ASSERT_EQ(r->calls, 1); /* not twice at once */
	st = stats(r);
	ASSERT_EQ(st.processing, 1);
	ASSERT_EQ(st.depth, 0);
	ASSERT_EQ(st.adds, 2); /* the first add and one dirty mark */
	finish(r, "k", DONE, 0);
	RUN_UNTIL(r, r->calls == 2, 1000);
	finish(r, "k", DONE, 0);
	spin(r, 5);
	ASSERT_EQ(r->calls, 2); /* exactly once more */
	ASSERT_EQ(stats(r).keys, 0);
	teardown(r);
}

TEST(never_twice_at_once_under_random_load)
{
	struct wq_opts o = WQ_OPTS_INIT;
	struct wq_stats st;
	struct rec *r;
	char key[16];
	int round, i;

	o.max_concurrent = 4;
	o.retry.initial_ms = 1;
	o.retry.max_ms = 4;
	o.qps = 0;
	r = setup(&o, KEEP);
	for (round = 0; round < 3000; round++) {
		size_t it = 0;
		const char *k;

		for (i = 0; i < 3; i++) {
			snprintf(key, sizeof(key), "ns/k%u", (unsigned)(rand_u64() % 16));
			if (rand_u64() % 4 == 0)
				add_after(r, key, rand_u64() % 3);
			else
				add(r, key);
		}
		uv_run(&r->loop, UV_RUN_NOWAIT);
		ASSERT(r->inflight <= 4);
		while (hmap_next(&r->busy, &it, &k, NULL)) {
			switch (rand_u64() % 5) {
			case 0:
				finish(r, k, RETRY, 0);
				break;
			case 1:
				finish(r, k, DONE_AFTER, rand_u64() % 3);
				break;
			case 2:
				break; /* still working */
			default:
				finish(r, k, DONE, 0);
			}
		}
	}
	/* Settle: finish everything until nothing is queued, waiting or running. */
	for (;;) {
		st = stats(r);
		if (!st.depth && !st.processing && !st.waiting)
			break;
		finish_all(r);
		uv_run(&r->loop, UV_RUN_NOWAIT);
		uv_sleep(1);
	}
	ASSERT_EQ(r->max_inflight, 4);
	ASSERT_EQ(st.processed, r->calls);
	ASSERT_EQ(st.keys, 0); /* done forgot every failure */
	teardown(r);
}

TEST(max_concurrent_respected_and_changed_live)
{
	struct wq_opts o = WQ_OPTS_INIT;
	struct rec *r;
	char key[16];
	int i;

	o.max_concurrent = 2;
	r = setup(&o, KEEP);
	for (i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		add(r, key);
	}
	RUN_UNTIL(r, r->inflight == 2, 1000);
	spin(r, 5);
	ASSERT_EQ(r->calls, 2);

	ASSERT_OK(wq_set_max_concurrent(r->q, 5));
	RUN_UNTIL(r, r->inflight == 5, 1000);
	spin(r, 5);
	ASSERT_EQ(r->calls, 5);
	ASSERT_EQ(r->max_inflight, 5);

	/* Lowering finishes nothing early; new keys wait until below the limit. */
	ASSERT_OK(wq_set_max_concurrent(r->q, 1));
	finish(r, "k0", DONE, 0);
	finish(r, "k1", DONE, 0);
	spin(r, 5);
	ASSERT_EQ(r->calls, 5);
	finish(r, "k2", DONE, 0);
	finish(r, "k3", DONE, 0);
	finish(r, "k4", DONE, 0);
	RUN_UNTIL(r, r->calls == 6, 1000);
	spin(r, 5);
	ASSERT_EQ(r->inflight, 1);
	ASSERT_EQ(wq_set_max_concurrent(r->q, 0), -EINVAL);
	while (r->calls < 10) {
		finish_all(r);
		RUN_UNTIL(r, r->inflight == 1, 1000);
		ASSERT_EQ(stats(r).processing, 1);
	}
	finish_all(r);
	ASSERT_EQ(r->max_inflight, 5);
	teardown(r);
}

/* A parked key keeps its key busy but gives its slot to the next one. */
TEST(parked_keys_give_their_slot_back)
{
	struct wq_opts o = WQ_OPTS_INIT;
	struct rec *r;
	char key[16];
	int i;

	o.max_concurrent = 2;
	r = setup(&o, KEEP);
	for (i = 0; i < 6; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		add(r, key);
	}
	RUN_UNTIL(r, r->inflight == 2, 1000);
	spin(r, 5);
	ASSERT_EQ(r->calls, 2);
	ASSERT_OK(wq_park(r->q, "k0"));
	ASSERT_OK(wq_park(r->q, "k0")); /* twice: a no-op */
	RUN_UNTIL(r, r->inflight == 3, 1000);
	spin(r, 5);
	ASSERT_EQ(r->calls, 3);
	ASSERT_EQ(stats(r).processing, 3);
	ASSERT_EQ(stats(r).parked, 1);
	/* Still processing: an add marks it dirty, it is not dispatched again. */
	add(r, "k0");
	spin(r, 5);
	ASSERT_EQ(r->calls, 3);
	/* Unparked past the limit: nothing new starts until two finish. */
	ASSERT_OK(wq_unpark(r->q, "k0"));
	ASSERT_EQ(stats(r).parked, 0);
	finish(r, "k1", DONE, 0);
	spin(r, 5);
	ASSERT_EQ(r->calls, 3);
	/* Finishing a parked key unparks it. */
	ASSERT_OK(wq_park(r->q, "k2"));
	RUN_UNTIL(r, r->calls == 4, 1000);
	finish(r, "k2", DONE, 0);
	ASSERT_EQ(stats(r).parked, 0);
	ASSERT_EQ(wq_park(r->q, "k2"), -ENOENT);
	ASSERT_EQ(wq_unpark(r->q, "nope"), -ENOENT);
	while (r->calls < 7) { /* k0 again (dirty), k4, k5 */
		finish_all(r);
		spin(r, 5);
	}
	finish_all(r);
	ASSERT_EQ(r->calls, 7);
	teardown(r);
}

TEST(retry_backoff_grows_5_10_20_and_resets)
{
	struct rec *r = setup(NULL, KEEP); /* client-go's 5 ms .. 1000 s */
	uint64_t d, t0, elapsed;
	unsigned i;

	add(r, "ns/k");
	RUN_UNTIL(r, r->calls == 1, 1000);
	for (i = 0; i < 6; i++) {
		uint64_t want = 5u << i;

		t0 = now_ms(r);
		d = finish(r, "ns/k", RETRY, 0);
		ASSERT_EQ(d, want);
		ASSERT_EQ(wq_failures(r->q, "ns/k"), i + 1);
		ASSERT_EQ(stats(r).waiting, 1);
		while (r->calls < i + 2)
			uv_run(&r->loop, UV_RUN_ONCE);
		elapsed = r->times[i + 1] - t0;
		/* Never early; late only by scheduling slack. */
		ASSERT(elapsed >= want);
		ASSERT(elapsed <= want + 50);
	}
	ASSERT_EQ(stats(r).retries, 6);
	finish(r, "ns/k", DONE, 0);
	ASSERT_EQ(wq_failures(r->q, "ns/k"), 0);
	add(r, "ns/k");
	RUN_UNTIL(r, r->calls == 8, 1000);
	ASSERT_EQ(finish(r, "ns/k", RETRY, 0), 5); /* back to the start */
	teardown(r);
}

TEST(retry_backoff_caps_at_max)
{
	struct wq_opts o = WQ_OPTS_INIT;
	static const uint64_t want[] = { 2, 4, 8, 10, 10, 10 };
	struct rec *r;
	unsigned i;

	o.retry.initial_ms = 2;
	o.retry.max_ms = 10;
	r = setup(&o, KEEP);
	add(r, "k");
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		RUN_UNTIL(r, r->calls == i + 1, 1000);
		ASSERT_EQ(finish(r, "k", RETRY, 0), want[i]);
	}
	RUN_UNTIL(r, r->calls == i + 1, 1000);
	finish(r, "k", DONE, 0);
	teardown(r);
}

TEST(retry_with_event_runs_now_and_after_backoff)
{
	struct wq_opts o = WQ_OPTS_INIT;
	struct rec *r;
	uint64_t t0;

	o.retry.initial_ms = 80;
	r = setup(&o, KEEP);
	add(r, "k");
	RUN_UNTIL(r, r->calls == 1, 1000);
	add(r, "k"); /* an event while it runs */
	t0 = now_ms(r);
	ASSERT_EQ(finish(r, "k", RETRY, 0), 80);
	RUN_UNTIL(r, r->calls == 2, 1000);
	ASSERT(r->times[1] - t0 < 80); /* the event runs at once */
	finish(r, "k", DONE, 0);
	ASSERT_EQ(wq_failures(r->q, "k"), 0);
	/* client-go keeps the rate-limited add too: one more run at the deadline. */
	RUN_UNTIL(r, r->calls == 3, 1000);
	ASSERT(r->times[2] - t0 >= 80);
	finish(r, "k", DONE, 0);
	spin(r, 5);
	ASSERT_EQ(r->calls, 3);
	teardown(r);
}

TEST(done_after_forgets_failures_and_requeues_with_jitter)
{
	struct wq_opts o = WQ_OPTS_INIT;
	uint64_t t0, lo = UINT64_MAX, hi = 0;
	struct rec *r;
	char key[16];
	unsigned i;

	o.max_concurrent = 10;
	o.requeue_jitter = 0.5;
	r = setup(&o, KEEP);
	add(r, "k0");
	RUN_UNTIL(r, r->calls == 1, 1000);
	finish(r, "k0", RETRY, 0);
	RUN_UNTIL(r, r->calls == 2, 1000);
	ASSERT_EQ(wq_failures(r->q, "k0"), 1);
	for (i = 1; i < 10; i++) {
		snprintf(key, sizeof(key), "k%u", i);
		add(r, key);
	}
	RUN_UNTIL(r, r->inflight == 10, 1000);

	t0 = now_ms(r);
	for (i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "k%u", i);
		finish(r, key, DONE_AFTER, 100);
	}
	ASSERT_EQ(wq_failures(r->q, "k0"), 0);
	ASSERT_EQ(stats(r).waiting, 10);
	RUN_UNTIL(r, r->inflight == 10, 1000);
	for (i = 11; i < 21; i++) {
		uint64_t d = r->times[i] - t0;

		lo = MIN(lo, d);
		hi = MAX(hi, d);
	}
	/* 100 ms ± 50 %, and spread out rather than in lockstep. */
	ASSERT(lo >= 50);
	ASSERT(hi <= 150 + 50);
	ASSERT(hi - lo >= 2);
	finish_all(r);
	teardown(r);
}

TEST(add_after_earlier_deadline_wins)
{
	struct rec *r = setup(NULL, DONE_NOW);

	add_after(r, "c", 60);
	add_after(r, "a", 20);
	add_after(r, "b", 40);
	add_after(r, "c", 10);  /* earlier: moves up */
	add_after(r, "a", 500); /* later: ignored */
	ASSERT_EQ(stats(r).waiting, 3);
	ASSERT_EQ(r->calls, 0);
	RUN_UNTIL(r, r->calls == 3, 1000);
	ASSERT_STREQ(r->log.buf, "c a b ");
	ASSERT_EQ(stats(r).waiting, 0);
	spin(r, 5);
	ASSERT_EQ(r->calls, 3);
	teardown(r);
}

TEST(add_does_not_cancel_a_pending_delay)
{
	struct rec *r = setup(NULL, DONE_NOW);
	uint64_t t0 = now_ms(r);

	add_after(r, "d", 30);
	add(r, "d");
	RUN_UNTIL(r, r->calls == 1, 1000);
	ASSERT(r->times[0] - t0 < 30);
	ASSERT_EQ(stats(r).waiting, 1);
	RUN_UNTIL(r, r->calls == 2, 1000);
	ASSERT(r->times[1] - t0 >= 30);
	teardown(r);
}

TEST(add_after_on_processing_key_runs_after_done)
{
	struct rec *r = setup(NULL, KEEP);

	add(r, "k");
	RUN_UNTIL(r, r->calls == 1, 1000);
	add_after(r, "k", 5);
	spin(r, 20); /* the deadline passes while it runs: marked dirty */
	ASSERT_EQ(r->calls, 1);
	ASSERT_EQ(stats(r).waiting, 0);
	finish(r, "k", DONE, 0);
	RUN_UNTIL(r, r->calls == 2, 1000);
	finish(r, "k", DONE_AFTER, 0); /* RequeueAfter 0: at once */
	RUN_UNTIL(r, r->calls == 3, 1000);
	ASSERT_EQ(stats(r).waiting, 0);
	finish(r, "k", DONE, 0);
	teardown(r);
}

static void count_handle(uv_handle_t *h, void *arg)
{
	(*(unsigned *)arg)++;
}

TEST(add_after_many_keys_in_deadline_order_one_timer)
{
	enum { N = 3000 };
	static unsigned dl[N], order[N];
	struct rec *r = setup(NULL, DONE_NOW);
	struct buf want = BUF_INIT(1 << 20);
	unsigned i, j, handles = 0;
	char key[16];

	for (i = 0; i < N; i++) {
		dl[i] = 1 + (i * 7919u) % 60;
		snprintf(key, sizeof(key), "k%u", i);
		add_after(r, key, dl[i]);
	}
	ASSERT_EQ(stats(r).waiting, N);
	ASSERT_EQ(stats(r).keys, N);
	uv_walk(&r->loop, count_handle, &handles);
	ASSERT_EQ(handles, 3); /* not one timer per key */

	/* Expected: by deadline, and in insertion order for equal deadlines. */
	for (i = 0; i < N; i++) {
		for (j = i; j > 0 && dl[order[j - 1]] > dl[i]; j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
	for (i = 0; i < N; i++)
		ASSERT_OK(buf_addf(&want, "k%u ", order[i]));

	RUN_UNTIL(r, r->calls == N, 2000);
	ASSERT_STREQ(r->log.buf, want.buf);
	ASSERT_EQ(stats(r).keys, 0);
	buf_release(&want);
	teardown(r);
}

TEST(bucket_delays_retries_beyond_burst)
{
	struct wq_opts o = WQ_OPTS_INIT;
	struct rec *r;
	char key[16];
	uint64_t d[8];
	int i;

	o.retry.initial_ms = 1;
	o.qps = 10;
	o.burst = 5;
	o.max_concurrent = 100;
	r = setup(&o, KEEP);
	for (i = 0; i < 8; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		add(r, key);
	}
	RUN_UNTIL(r, r->inflight == 8, 1000);
	/* One loop time for all: the bucket does not refill in between. */
	for (i = 0; i < 8; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		d[i] = finish(r, key, RETRY, 0);
	}
	for (i = 0; i < 5; i++)
		ASSERT_EQ(d[i], 1); /* the burst: the per-key backoff wins */
	ASSERT_EQ(d[5], 100);       /* then one token per 100 ms */
	ASSERT_EQ(d[6], 200);
	ASSERT_EQ(d[7], 300);
	teardown(r);

	/* qps 0: no bucket. */
	o.qps = 0;
	r = setup(&o, KEEP);
	for (i = 0; i < 8; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		add(r, key);
	}
	RUN_UNTIL(r, r->inflight == 8, 1000);
	for (i = 0; i < 8; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		ASSERT_EQ(finish(r, key, RETRY, 0), 1);
	}
	teardown(r);
}

TEST(shutdown_stops_dispatch)
{
	struct rec *r = setup(NULL, KEEP);
	struct wq_stats st;

	add(r, "a");
	add(r, "b");
	add_after(r, "c", 60000); /* still waiting at shutdown, however slow the machine */
	RUN_UNTIL(r, r->calls == 1, 1000);
	wq_shutdown(r->q);
	wq_shutdown(r->q); /* idempotent */
	ASSERT_EQ(wq_add(r->q, "d"), -ESHUTDOWN);
	ASSERT_EQ(wq_add_after(r->q, "d", 1), -ESHUTDOWN);
	ASSERT_EQ(wq_add(r->q, "a"), -ESHUTDOWN);
	spin(r, 20);
	ASSERT_EQ(r->calls, 1); /* neither "b" nor the delayed "c" */
	finish(r, "a", DONE, 0); /* keys already processing may finish */
	spin(r, 5);
	ASSERT_EQ(r->calls, 1);
	st = stats(r);
	ASSERT_EQ(st.depth, 1);
	ASSERT_EQ(st.waiting, 1);
	ASSERT_EQ(st.processing, 0);
	ASSERT_EQ(st.adds, 2);
	teardown(r); /* drops "b" and "c" */
}

static void drained(int status, void *payload)
{
	struct rec *r = payload;

	r->drain_calls++;
	r->drain_status = status;
}

TEST(drain_reports_when_the_last_key_finishes)
{
	struct wq_opts o = WQ_OPTS_INIT;
	struct rec *r;

	o.max_concurrent = 2;
	r = setup(&o, KEEP);
	add(r, "a");
	add(r, "b");
	add(r, "c");
	RUN_UNTIL(r, r->inflight == 2, 1000);
	ASSERT_OK(wq_drain(r->q, 5000, drained, r));
	ASSERT_EQ(wq_drain(r->q, 5000, drained, r), -EALREADY);
	spin(r, 5);
	ASSERT_EQ(r->drain_calls, 0);
	finish(r, "a", DONE, 0);
	spin(r, 5);
	ASSERT_EQ(r->drain_calls, 0);
	ASSERT_EQ(r->calls, 2); /* "c" is not dispatched any more */
	finish(r, "b", RETRY, 0);
	RUN_UNTIL(r, r->drain_calls == 1, 1000);
	ASSERT_EQ(r->drain_status, 0);
	spin(r, 5);
	ASSERT_EQ(r->drain_calls, 1);
	ASSERT_EQ(r->calls, 2);
	teardown(r);
}

TEST(drain_times_out)
{
	struct rec *r = setup(NULL, KEEP);
	uint64_t t0;

	add(r, "a");
	RUN_UNTIL(r, r->calls == 1, 1000);
	t0 = now_ms(r);
	ASSERT_OK(wq_drain(r->q, 20, drained, r));
	RUN_UNTIL(r, r->drain_calls == 1, 1000);
	ASSERT_EQ(r->drain_status, -ETIMEDOUT);
	ASSERT(now_ms(r) - t0 >= 20);
	/* Finishing late is still allowed; the drain is not reported twice. */
	finish(r, "a", DONE, 0);
	spin(r, 5);
	ASSERT_EQ(r->drain_calls, 1);
	teardown(r);
}

TEST(drain_of_idle_queue_reports_on_next_iteration)
{
	struct rec *r = setup(NULL, KEEP);

	ASSERT_EQ(wq_drain(r->q, 0, NULL, r), -EINVAL);
	ASSERT_OK(wq_drain(r->q, 0, drained, r));
	ASSERT_EQ(r->drain_calls, 0); /* never from inside the call */
	uv_run(&r->loop, UV_RUN_NOWAIT);
	ASSERT_EQ(r->drain_calls, 1);
	ASSERT_EQ(r->drain_status, 0);
	teardown(r);
}

TEST(close_cancels_a_pending_drain_before_close_cb)
{
	struct rec *r = setup(NULL, KEEP);

	add(r, "a");
	RUN_UNTIL(r, r->calls == 1, 1000);
	ASSERT_OK(wq_drain(r->q, 0, drained, r));
	wq_close(r->q, closed, r);
	uv_run(&r->loop, UV_RUN_DEFAULT);
	ASSERT(r->closed);
	ASSERT_EQ(r->drain_calls, 1);
	ASSERT_EQ(r->drain_status, -ECANCELED);
	ASSERT(r->drain_before_close);
	free_rec(r);
}

TEST(errors)
{
	struct wq_opts o = WQ_OPTS_INIT;
	struct wq *sentinel = (struct wq *)&o, *q = sentinel;
	struct rec *r = setup(NULL, KEEP);
	char *longkey = xcalloc(1, WQ_KEY_MAX + 2);
	uint64_t d = 42;

	ASSERT_EQ(wq_new(&r->loop, NULL, NULL, NULL, &q), -EINVAL);
	o.max_concurrent = 0;
	ASSERT_EQ(wq_new(&r->loop, &o, process, NULL, &q), -EINVAL);
	o = (struct wq_opts)WQ_OPTS_INIT;
	o.retry.initial_ms = 0;
	ASSERT_EQ(wq_new(&r->loop, &o, process, NULL, &q), -EINVAL);
	o = (struct wq_opts)WQ_OPTS_INIT;
	o.retry.max_ms = 1;
	ASSERT_EQ(wq_new(&r->loop, &o, process, NULL, &q), -EINVAL);
	o = (struct wq_opts)WQ_OPTS_INIT;
	o.burst = 0;
	ASSERT_EQ(wq_new(&r->loop, &o, process, NULL, &q), -EINVAL);
	o = (struct wq_opts)WQ_OPTS_INIT;
	o.qps = -1;
	ASSERT_EQ(wq_new(&r->loop, &o, process, NULL, &q), -EINVAL);
	o = (struct wq_opts)WQ_OPTS_INIT;
	o.requeue_jitter = 1;
	ASSERT_EQ(wq_new(&r->loop, &o, process, NULL, &q), -EINVAL);
	ASSERT(q == sentinel); /* untouched on failure */

	ASSERT_EQ(wq_add(r->q, ""), -EINVAL);
	memset(longkey, 'x', WQ_KEY_MAX + 1);
	ASSERT_EQ(wq_add(r->q, longkey), -ENAMETOOLONG);
	ASSERT_EQ(wq_add_after(r->q, longkey, 10), -ENAMETOOLONG);
	longkey[WQ_KEY_MAX] = '\0';
	ASSERT_OK(wq_add(r->q, longkey));
	ASSERT_EQ(wq_done(r->q, "nope"), -ENOENT);
	ASSERT_EQ(wq_done_after(r->q, "nope", 5), -ENOENT);
	ASSERT_EQ(wq_retry(r->q, "nope", &d), -ENOENT);
	ASSERT_EQ(d, 42);
	ASSERT_EQ(wq_done(r->q, longkey), -ENOENT); /* queued, not processing */
	RUN_UNTIL(r, r->calls == 1, 1000);
	finish(r, longkey, DONE, 0);
	ASSERT_EQ(wq_done(r->q, longkey), -ENOENT); /* a second finish */
	ASSERT_EQ(wq_failures(r->q, "nope"), 0);
	free(longkey);
	teardown(r);
}

TEST(stats_for_metrics)
{
	struct wq_opts o = WQ_OPTS_INIT;
	struct wq_stats st;
	struct rec *r;

	o.max_concurrent = 2;
	r = setup(&o, KEEP);
	add(r, "a");
	add(r, "b");
	add(r, "c");
	add_after(r, "d", 100000);
	RUN_UNTIL(r, r->inflight == 2, 1000);
	spin(r, 30);
	st = stats(r);
	ASSERT_EQ(st.adds, 3);
	ASSERT_EQ(st.processed, 2);
	ASSERT_EQ(st.depth, 1);
	ASSERT_EQ(st.processing, 2);
	ASSERT_EQ(st.waiting, 1);
	ASSERT_EQ(st.keys, 4);
	ASSERT(st.longest_running_ms >= 30);
	ASSERT(st.unfinished_work_ms >= 60);
	finish(r, "a", RETRY, 0);
	spin(r, 10);
	st = stats(r);
	ASSERT_EQ(st.retries, 1);
	ASSERT(st.longest_running_ms >= 40); /* "b" is still the oldest */
	ASSERT(st.work_ms >= 30);
	finish_all(r);                       /* "b" and "c", dispatched meanwhile */
	RUN_UNTIL(r, r->calls == 4, 1000); /* the retried "a" */
	finish_all(r);
	st = stats(r);
	ASSERT_EQ(st.processing, 0);
	ASSERT_EQ(st.longest_running_ms, 0);
	ASSERT_EQ(st.unfinished_work_ms, 0);
	ASSERT_EQ(st.processed, 4);
	teardown(r);
}

TEST(dispatch_yields_to_the_loop_between_batches)
{
	struct wq_opts o = WQ_OPTS_INIT;
	struct rec *r;
	char key[16];
	unsigned i;

	o.max_concurrent = 1;
	r = setup(&o, DONE_NOW); /* a reconciler that finishes synchronously */
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "k%u", i);
		add(r, key);
	}
	uv_run(&r->loop, UV_RUN_NOWAIT);
	ASSERT(r->calls > 0 && r->calls < 1000);
	RUN_UNTIL(r, r->calls == 1000, 2000);
	teardown(r);
}

TEST(process_may_finish_re_add_and_close_inside_callback)
{
	struct rec *r = setup(NULL, DONE_NOW);

	r->readd_first = true;
	r->close_after = 6;
	add(r, "a");
	add(r, "b");
	add(r, "c");
	add(r, "d");
	add(r, "e");
	uv_run(&r->loop, UV_RUN_DEFAULT); /* ends: the callback closed the queue */
	ASSERT_EQ(r->calls, 6);
	ASSERT_STREQ(r->log.buf, "a b c d e a ");
	free_rec(r);
}

TEST(ten_thousand_keys)
{
	struct wq_opts o = WQ_OPTS_INIT;
	struct wq_stats st;
	struct rec *r;
	char key[32];
	unsigned i;

	o.max_concurrent = 8;
	r = setup(&o, KEEP);
	for (i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "ns-%u/obj-%u", i % 13, i);
		add(r, key);
		add(r, key);
	}
	ASSERT_EQ(stats(r).depth, 10000);
	for (;;) {
		size_t it = 0;
		const char *k;

		st = stats(r);
		if (!st.depth && !st.processing && !st.waiting)
			break;
		uv_run(&r->loop, UV_RUN_NOWAIT);
		ASSERT(r->inflight <= 8);
		while (hmap_next(&r->busy, &it, &k, NULL)) {
			/* Every 200th key fails once (50 retries: within the burst). */
			unsigned n = 0;

			sscanf(k, "ns-%*u/obj-%u", &n);
			if (n % 200 == 0 && wq_failures(r->q, k) == 0)
				finish(r, k, RETRY, 0);
			else
				finish(r, k, DONE, 0);
		}
	}
	ASSERT_EQ(r->calls, 10050);
	ASSERT_EQ(st.retries, 50);
	ASSERT_EQ(st.keys, 0);
	teardown(r);
}
