/*
 * workqueue.c: dedup FIFO, delay heap, backoff and bucket (see
 * workqueue.h for the model).
 *
 * DESIGN
 * Every known key has one struct item in a hash map.  Flags say where it
 * is: `queued` (linked into the FIFO), `processing`, `dirty` (an add came
 * while processing), and `heap_idx` (>= 0 while waiting on the heap).  An
 * item with no flag and no failures is freed at once, so the map holds
 * only keys with something pending.  The delay heap is an array of items
 * ordered by `ready_at` (loop milliseconds); the timer is armed for the
 * top.  `kick` is a zero-delay timer that runs dispatch on the next loop
 * iteration.
 */
#include <string.h>

#include "base/alloc.h"
#include "base/hmap.h"
#include "kube/workqueue.h"
#include "base/banned.h"

struct item {
	char *key;
	bool queued, processing, dirty;
	long heap_idx;       /* -1: not waiting */
	uint64_t ready_at;
	uint64_t started_at;
	unsigned failures;
	struct item *next;   /* FIFO link */
};

struct wq {
	uv_loop_t *loop;
	struct wq_opts o;
	wq_process_cb process;
	void *payload;
	struct hmap items;
	struct item *head, *tail;
	unsigned depth, processing;
	struct item **heap;
	size_t nheap, heap_alloc;
	uv_timer_t delay, kick;
	double tokens;
	uint64_t tokens_at;
	bool shut, closing;
	int open_handles;
	struct wq_stats st;
	void (*close_cb)(void *);
	void *close_payload;
};

static void schedule_kick(struct wq *q);

static struct item *get_item(struct wq *q, const char *key, bool create)
{
	struct item *it = hmap_get(&q->items, key);

	if (it || !create)
		return it;
	it = xcalloc(1, sizeof(*it));
	it->key = xstrdup(key);
	it->heap_idx = -1;
	hmap_put(&q->items, it->key, it);
	return it;
}

static void maybe_free(struct wq *q, struct item *it)
{
	if (it->queued || it->processing || it->heap_idx >= 0 || it->failures)
		return;
	hmap_remove(&q->items, it->key);
	free(it->key);
	free(it);
}

/* ---- the heap ---- */

static void heap_swap(struct wq *q, size_t a, size_t b)
{
	struct item *t = q->heap[a];

	q->heap[a] = q->heap[b];
	q->heap[b] = t;
	q->heap[a]->heap_idx = (long)a;
	q->heap[b]->heap_idx = (long)b;
}

static void heap_up(struct wq *q, size_t i)
{
	while (i > 0 && q->heap[(i - 1) / 2]->ready_at > q->heap[i]->ready_at) {
		heap_swap(q, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_down(struct wq *q, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < q->nheap && q->heap[l]->ready_at < q->heap[m]->ready_at)
			m = l;
		if (r < q->nheap && q->heap[r]->ready_at < q->heap[m]->ready_at)
			m = r;
		if (m == i)
			return;
		heap_swap(q, i, m);
		i = m;
	}
}

static void heap_remove(struct wq *q, struct item *it)
{
	size_t i = (size_t)it->heap_idx;

	heap_swap(q, i, q->nheap - 1);
	q->nheap--;
	it->heap_idx = -1;
	if (i < q->nheap) {
		heap_up(q, i);
		heap_down(q, i);
	}
}

static void delay_fired(uv_timer_t *t);

static void arm_delay(struct wq *q)
{
	uint64_t now = uv_now(q->loop);

	if (q->closing)
		return;
	if (q->nheap == 0) {
		uv_timer_stop(&q->delay);
		return;
	}
	uv_timer_start(&q->delay, delay_fired,
		       q->heap[0]->ready_at > now ? q->heap[0]->ready_at - now : 0, 0);
}

/* ---- adding ---- */

static void enqueue(struct wq *q, struct item *it)
{
	if (it->queued)
		return;
	if (it->processing) {
		it->dirty = true;
		return;
	}
	it->queued = true;
	it->next = NULL;
	if (q->tail)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	q->depth++;
	schedule_kick(q);
}

void wq_add(struct wq *q, const char *key)
{
	struct item *it;

	if (q->closing)
		return;
	q->st.adds++;
	it = get_item(q, key, true);
	/* An immediate add makes a pending delay pointless. */
	if (it->heap_idx >= 0 && !it->processing) {
		heap_remove(q, it);
		arm_delay(q);
	}
	enqueue(q, it);
}

static void add_after_item(struct wq *q, struct item *it, uint64_t delay_ms)
{
	uint64_t at = uv_now(q->loop) + delay_ms;

	if (it->queued)
		return;
	if (it->heap_idx >= 0) {
		if (at < it->ready_at) {
			it->ready_at = at;
			heap_up(q, (size_t)it->heap_idx);
		}
	} else {
		XGROW(q->heap, q->nheap + 1, q->heap_alloc);
		it->ready_at = at;
		it->heap_idx = (long)q->nheap;
		q->heap[q->nheap++] = it;
		heap_up(q, (size_t)it->heap_idx);
	}
	arm_delay(q);
}

void wq_add_after(struct wq *q, const char *key, uint64_t delay_ms)
{
	if (q->closing)
		return;
	if (delay_ms == 0) {
		wq_add(q, key);
		return;
	}
	q->st.adds++;
	add_after_item(q, get_item(q, key, true), delay_ms);
}

static void delay_fired(uv_timer_t *t)
{
	struct wq *q = t->data;
	uint64_t now = uv_now(q->loop);

	while (q->nheap > 0 && q->heap[0]->ready_at <= now) {
		struct item *it = q->heap[0];

		heap_remove(q, it);
		enqueue(q, it);
	}
	arm_delay(q);
}

/* ---- dispatching ---- */

static void dispatch(uv_timer_t *t)
{
	struct wq *q = t->data;

	while (!q->shut && !q->closing && q->head && q->processing < q->o.max_concurrent) {
		struct item *it = q->head;

		q->head = it->next;
		if (!q->head)
			q->tail = NULL;
		q->depth--;
		it->queued = false;
		it->processing = true;
		it->dirty = false;
		it->started_at = uv_now(q->loop);
		q->processing++;
		q->st.processed++;
		q->process(q, it->key, q->payload);
	}
}

static void schedule_kick(struct wq *q)
{
	if (!q->closing && !q->shut && q->head && q->processing < q->o.max_concurrent &&
	    !uv_is_active((uv_handle_t *)&q->kick))
		uv_timer_start(&q->kick, dispatch, 0, 0);
}

/* Common end of processing; returns the item (still alive). */
static struct item *finish(struct wq *q, const char *key)
{
	struct item *it = get_item(q, key, false);

	if (!it || !it->processing)
		return NULL; /* not ours: a programmer error, ignored */
	it->processing = false;
	q->processing--;
	return it;
}

void wq_done(struct wq *q, const char *key)
{
	struct item *it = finish(q, key);

	if (!it)
		return;
	it->failures = 0;
	if (it->dirty) {
		it->dirty = false;
		enqueue(q, it);
	}
	schedule_kick(q);
	maybe_free(q, it);
}

void wq_done_after(struct wq *q, const char *key, uint64_t delay_ms)
{
	struct item *it = finish(q, key);

	if (!it)
		return;
	it->failures = 0;
	if (it->dirty) {
		it->dirty = false;
		enqueue(q, it);
	} else {
		add_after_item(q, it, delay_ms);
	}
	schedule_kick(q);
}

/* The global bucket's delay for one more retry (client-go's rate.Limiter). */
static uint64_t bucket_delay(struct wq *q)
{
	uint64_t now = uv_now(q->loop);

	if (q->o.qps <= 0)
		return 0;
	q->tokens += (double)(now - q->tokens_at) * q->o.qps / 1000.0;
	if (q->tokens > q->o.burst)
		q->tokens = q->o.burst;
	q->tokens_at = now;
	q->tokens -= 1.0;
	if (q->tokens >= 0)
		return 0;
	return (uint64_t)(-q->tokens * 1000.0 / q->o.qps);
}

uint64_t wq_retry(struct wq *q, const char *key)
{
	struct item *it = finish(q, key);
	uint64_t d, b;
	unsigned i;

	if (!it)
		return 0;
	q->st.retries++;
	d = q->o.base_delay_ms;
	for (i = 0; i < it->failures && d < q->o.max_delay_ms; i++)
		d *= 2;
	if (d > q->o.max_delay_ms)
		d = q->o.max_delay_ms;
	it->failures++;
	b = bucket_delay(q);
	if (b > d)
		d = b;
	if (it->dirty) {
		/* New information arrived: try again now, not after the backoff. */
		it->dirty = false;
		enqueue(q, it);
	} else {
		add_after_item(q, it, d);
	}
	schedule_kick(q);
	return d;
}

unsigned wq_failures(const struct wq *q, const char *key)
{
	const struct item *it = hmap_get(&q->items, key);

	return it ? it->failures : 0;
}

void wq_set_max_concurrent(struct wq *q, unsigned n)
{
	q->o.max_concurrent = n ? n : 1;
	schedule_kick(q);
}

void wq_shutdown(struct wq *q)
{
	q->shut = true;
	uv_timer_stop(&q->kick);
}

void wq_get_stats(const struct wq *q, struct wq_stats *ret)
{
	uint64_t now = uv_now(q->loop);
	size_t it = 0;
	void *v;

	*ret = q->st;
	ret->depth = q->depth;
	ret->processing = q->processing;
	ret->waiting = (unsigned)q->nheap;
	ret->longest_running_ms = 0;
	while (hmap_next(&q->items, &it, NULL, &v)) {
		const struct item *i = v;

		if (i->processing && now - i->started_at > ret->longest_running_ms)
			ret->longest_running_ms = now - i->started_at;
	}
}

/* ---- lifecycle ---- */

int wq_new(uv_loop_t *loop, const struct wq_opts *opts, wq_process_cb process, void *payload,
	   struct wq **ret)
{
	struct wq_opts dflt = WQ_OPTS_INIT;
	struct wq *q;

	if (!process || (opts && opts->max_concurrent == 0))
		return -EINVAL;
	q = xcalloc(1, sizeof(*q));
	q->loop = loop;
	q->o = opts ? *opts : dflt;
	if (!q->o.base_delay_ms)
		q->o.base_delay_ms = 1;
	if (q->o.max_delay_ms < q->o.base_delay_ms)
		q->o.max_delay_ms = q->o.base_delay_ms;
	q->process = process;
	q->payload = payload;
	hmap_init(&q->items);
	q->tokens = q->o.burst;
	q->tokens_at = uv_now(loop);
	uv_timer_init(loop, &q->delay);
	uv_timer_init(loop, &q->kick);
	q->delay.data = q;
	q->kick.data = q;
	q->open_handles = 2;
	*ret = q;
	return 0;
}

static void handle_closed(uv_handle_t *h)
{
	struct wq *q = h->data;
	void (*cb)(void *);
	void *p;
	size_t it = 0;
	void *v;

	if (--q->open_handles > 0)
		return;
	while (hmap_next(&q->items, &it, NULL, &v)) {
		struct item *i = v;

		free(i->key);
		free(i);
	}
	hmap_release(&q->items);
	free(q->heap);
	cb = q->close_cb;
	p = q->close_payload;
	free(q);
	if (cb)
		cb(p);
}

void wq_close(struct wq *q, void (*close_cb)(void *payload), void *payload)
{
	if (!q)
		return;
	q->closing = true;
	q->close_cb = close_cb;
	q->close_payload = payload;
	uv_timer_stop(&q->delay);
	uv_timer_stop(&q->kick);
	uv_close((uv_handle_t *)&q->delay, handle_closed);
	uv_close((uv_handle_t *)&q->kick, handle_closed);
}
