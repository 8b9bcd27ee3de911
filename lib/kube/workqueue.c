/*
 * workqueue.c: dedup FIFO, delay heap, per-key backoff and a global token
 * bucket on one libuv loop (see workqueue.h for the model).
 *
 * DESIGN
 * Every key the queue knows has one struct item, found through a hash map
 * (lib/base/hmap) whose key pointer is the item's own copy of the string.
 * The states of workqueue.h are fields of the item, not containers of
 * their own, because one key can be in several at once (processing and
 * dirty; processing and waiting):
 *
 *   queued      linked into the FIFO (fifo_next); client-go's dirty set
 *               for a key that is not processing;
 *   processing  linked into the running list (run_prev/run_next);
 *   dirty       an add arrived while processing: queue it when finished;
 *   waiting     heap_idx != HEAP_NONE, ordered by (ready_at, seq).
 *
 * Invariants: queued and processing exclude each other; dirty implies
 * processing.  An item with none of these and no failures to remember is
 * freed at once, so the map holds only keys with something pending.
 *
 * The running list is in dispatch order, so its head is the key that has
 * been processing longest: longest_running_ms is O(1), and the walk for
 * unfinished_work_ms is bounded by max_concurrent.
 *
 * The delay heap is an array of item pointers with each item's index
 * stored in it, so an earlier deadline can move a waiting key up in
 * O(log n).  `seq` breaks ties so keys with the same deadline leave in
 * the order they were added.  One uv_timer_t is armed for the top.
 *
 * Why dispatch from a uv_idle_t and not a zero-delay timer: libuv 1.44
 * runs, in the same pass, timers that timer callbacks start and that are
 * already due, so a dispatcher that wants to yield after a batch could not
 * do it with a timer.  An active idle handle runs once per loop iteration
 * and makes that iteration's poll non-blocking; dispatch hands out at most
 * DISPATCH_BATCH keys per iteration, so a reconciler that finishes keys
 * synchronously cannot starve I/O.  The idle handle is active only while
 * there is something to do (a key to hand out, or a drain to report), so
 * an idle queue costs no CPU; every state change calls update_idle().
 * Since process callbacks run only from on_idle(), they never nest inside
 * wq_add() or any other wq_*() call.
 *
 * The token bucket is golang.org/x/time/rate's Reserve(): tokens refill at
 * qps up to burst; each retry takes one, and when none is left the retry
 * waits until its (negative) share would have refilled.
 *
 * Lifetime: three handles (idle, delay timer, drain timer), all embedded
 * in struct wq; wq_close() closes them and the last close callback frees
 * everything.  Threading: loop thread only.
 */
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "base/alloc.h"
#include "base/backoff.h"
#include "base/hmap.h"
#include "kube/workqueue.h"
#include "base/banned.h"

/* Keys handed out per loop iteration at most (see DESIGN). */
#define DISPATCH_BATCH 64

#define HEAP_NONE SIZE_MAX

struct item {
	struct item *fifo_next;           /* while queued */
	struct item *run_prev, *run_next; /* while processing */
	size_t heap_idx;                  /* HEAP_NONE unless waiting */
	uint64_t ready_at;                /* waiting: when it is added */
	uint64_t seq;                     /* waiting: tie-break, insertion order */
	uint64_t queued_at;               /* when it became queued or dirty */
	uint64_t started_at;              /* when processing started */
	uint64_t backoff_ms;              /* struct backoff.current_ms for this key */
	unsigned failures;
	bool queued, processing, dirty;
	bool parked;                      /* processing, but not holding a slot */
	char key[]; /* the queue's copy; also the map's key */
};

struct wq {
	uv_loop_t *loop;
	struct wq_opts o;
	void (*process)(struct wq *q, const char *key, void *payload);
	void *payload;

	struct hmap items; /* key -> struct item */
	struct item *fifo_head, *fifo_tail;
	struct item *run_head, *run_tail;
	unsigned depth, processing;
	unsigned parked; /* processing keys that gave their slot back (wq_park) */

	struct item **heap;
	size_t nheap, heap_alloc;
	uint64_t seq;
	uint64_t armed_for; /* the deadline the delay timer is set for, while active */

	double tokens; /* the bucket; negative while retries are reserved ahead */
	uint64_t tokens_at;

	uv_idle_t idle;
	uv_timer_t delay;
	uv_timer_t drain_timer;
	int open_handles;

	bool shut, closing;
	void (*drain_cb)(int status, void *payload);
	void *drain_payload;
	void (*close_cb)(void *payload);
	void *close_payload;

	struct wq_stats st; /* the counters; the rest is computed */
};

static void update_idle(struct wq *q);

/* ---- items ---- */

static struct item *item_get(const struct wq *q, const char *key)
{
	return hmap_get(&q->items, key);
}

static struct item *item_get_or_new(struct wq *q, const char *key)
{
	struct item *it = item_get(q, key);
	size_t n;

	if (it)
		return it;
	n = strlen(key);
	it = xcalloc(1, sizeof(*it) + n + 1);
	memcpy(it->key, key, n + 1);
	it->heap_idx = HEAP_NONE;
	hmap_put(&q->items, it->key, it);
	return it;
}

/* Free `it` if nothing about it needs remembering. */
static void item_maybe_free(struct wq *q, struct item *it)
{
	if (it->queued || it->processing || it->heap_idx != HEAP_NONE || it->failures)
		return;
	hmap_remove(&q->items, it->key);
	free(it);
}

static int check_add(const struct wq *q, const char *key)
{
	if (q->shut || q->closing)
		return -ESHUTDOWN;
	if (!key || !*key)
		return -EINVAL;
	if (strnlen(key, WQ_KEY_MAX + 1) > WQ_KEY_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* ---- the delay heap ---- */

static bool heap_less(const struct item *a, const struct item *b)
{
	if (a->ready_at != b->ready_at)
		return a->ready_at < b->ready_at;
	return a->seq < b->seq;
}

static void heap_set(struct wq *q, size_t i, struct item *it)
{
	q->heap[i] = it;
	it->heap_idx = i;
}

static void heap_up(struct wq *q, size_t i)
{
	struct item *it = q->heap[i];

	while (i > 0 && heap_less(it, q->heap[(i - 1) / 2])) {
		heap_set(q, i, q->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(q, i, it);
}

static void heap_down(struct wq *q, size_t i)
{
	struct item *it = q->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= q->nheap)
			break;
		if (c + 1 < q->nheap && heap_less(q->heap[c + 1], q->heap[c]))
			c++;
		if (!heap_less(q->heap[c], it))
			break;
		heap_set(q, i, q->heap[c]);
		i = c;
	}
	heap_set(q, i, it);
}

static struct item *heap_pop(struct wq *q)
{
	struct item *top = q->heap[0];

	q->nheap--;
	if (q->nheap > 0) {
		heap_set(q, 0, q->heap[q->nheap]);
		heap_down(q, 0);
	}
	top->heap_idx = HEAP_NONE;
	return top;
}

static void delay_fired(uv_timer_t *t);

/* Point the delay timer at the heap's top, unless it is there already. */
static void arm_delay(struct wq *q)
{
	uint64_t now = uv_now(q->loop), at;

	if (q->shut || q->closing || q->nheap == 0) {
		uv_timer_stop(&q->delay);
		return;
	}
	at = q->heap[0]->ready_at;
	if (uv_is_active((uv_handle_t *)&q->delay) && q->armed_for == at)
		return;
	q->armed_for = at;
	uv_timer_start(&q->delay, delay_fired, at > now ? at - now : 0, 0);
}

/* ---- adding ---- */

static void fifo_push(struct wq *q, struct item *it)
{
	it->queued = true;
	it->fifo_next = NULL;
	if (q->fifo_tail)
		q->fifo_tail->fifo_next = it;
	else
		q->fifo_head = it;
	q->fifo_tail = it;
	q->depth++;
}

/* client-go's Type.Add on an item: queue it, or mark it dirty. */
static void add_now(struct wq *q, struct item *it)
{
	if (it->queued || it->dirty)
		return;
	q->st.adds++;
	it->queued_at = uv_now(q->loop);
	if (it->processing)
		it->dirty = true;
	else
		fifo_push(q, it);
}

/* client-go's delaying queue: wait, keeping the earlier deadline. */
static void add_later(struct wq *q, struct item *it, uint64_t delay_ms)
{
	uint64_t now = uv_now(q->loop);
	uint64_t at = delay_ms > UINT64_MAX - now ? UINT64_MAX : now + delay_ms;

	if (it->heap_idx != HEAP_NONE) {
		if (at < it->ready_at) {
			it->ready_at = at;
			heap_up(q, it->heap_idx);
		}
	} else {
		XGROW(q->heap, q->nheap + 1, q->heap_alloc);
		it->ready_at = at;
		it->seq = q->seq++;
		q->nheap++;
		heap_set(q, q->nheap - 1, it);
		heap_up(q, q->nheap - 1);
	}
	arm_delay(q);
}

int wq_add(struct wq *q, const char *key)
{
	int r = check_add(q, key);

	if (r < 0)
		return r;
	add_now(q, item_get_or_new(q, key));
	update_idle(q);
	return 0;
}

int wq_add_after(struct wq *q, const char *key, uint64_t delay_ms)
{
	int r = check_add(q, key);

	if (r < 0)
		return r;
	if (delay_ms == 0)
		return wq_add(q, key);
	add_later(q, item_get_or_new(q, key), delay_ms);
	return 0;
}

static void delay_fired(uv_timer_t *t)
{
	struct wq *q = t->data;
	uint64_t now = uv_now(q->loop);

	while (q->nheap > 0 && q->heap[0]->ready_at <= now)
		add_now(q, heap_pop(q));
	arm_delay(q);
	update_idle(q);
}

/* ---- dispatching ---- */

static bool can_dispatch(const struct wq *q)
{
	return !q->shut && !q->closing && q->fifo_head &&
	       q->processing - q->parked < q->o.max_concurrent;
}

static bool drain_ready(const struct wq *q)
{
	return q->drain_cb && q->processing == 0 && !q->closing;
}

static void finish_drain(struct wq *q, int status)
{
	void (*cb)(int, void *) = q->drain_cb;

	q->drain_cb = NULL;
	uv_timer_stop(&q->drain_timer);
	cb(status, q->drain_payload);
}

static void on_idle(uv_idle_t *h)
{
	struct wq *q = h->data;
	unsigned n;

	for (n = 0; n < DISPATCH_BATCH && can_dispatch(q); n++) {
		struct item *it = q->fifo_head;
		uint64_t now = uv_now(q->loop);

		q->fifo_head = it->fifo_next;
		if (!q->fifo_head)
			q->fifo_tail = NULL;
		it->fifo_next = NULL;
		it->queued = false;
		q->depth--;

		it->processing = true;
		it->started_at = now;
		it->run_next = NULL;
		it->run_prev = q->run_tail;
		if (q->run_tail)
			q->run_tail->run_next = it;
		else
			q->run_head = it;
		q->run_tail = it;
		q->processing++;
		q->st.processed++;
		q->st.queue_wait_ms += now - it->queued_at;

		/* The callback may finish the key, and so free `it`: do not touch it after. */
		q->process(q, it->key, q->payload);
	}
	if (drain_ready(q))
		finish_drain(q, 0);
	update_idle(q);
}

static void update_idle(struct wq *q)
{
	bool want = can_dispatch(q) || drain_ready(q);
	bool active = uv_is_active((uv_handle_t *)&q->idle);

	if (want && !active)
		uv_idle_start(&q->idle, on_idle);
	else if (!want && active)
		uv_idle_stop(&q->idle);
}

/* ---- finishing ---- */

/*
 * The common part of wq_done*() and wq_retry(): take `key` out of
 * processing.  Returns the item (not freed; the caller decides), or NULL
 * if `key` is not processing.
 */
static struct item *finish(struct wq *q, const char *key)
{
	struct item *it = key ? item_get(q, key) : NULL;

	if (!it || !it->processing)
		return NULL;
	if (it->run_prev)
		it->run_prev->run_next = it->run_next;
	else
		q->run_head = it->run_next;
	if (it->run_next)
		it->run_next->run_prev = it->run_prev;
	else
		q->run_tail = it->run_prev;
	it->run_prev = it->run_next = NULL;
	it->processing = false;
	q->processing--;
	if (it->parked) {
		it->parked = false;
		q->parked--;
	}
	q->st.work_ms += uv_now(q->loop) - it->started_at;
	return it;
}

/*
 * After finish(): an add that came while processing queues the key now;
 * its queued_at stays the time of that add.
 */
static void requeue_dirty(struct wq *q, struct item *it)
{
	if (!it->dirty)
		return;
	it->dirty = false;
	if (!q->shut && !q->closing)
		fifo_push(q, it);
}

static void forget(struct item *it)
{
	it->failures = 0;
	it->backoff_ms = 0;
}

int wq_done(struct wq *q, const char *key)
{
	struct item *it = finish(q, key);

	if (!it)
		return -ENOENT;
	forget(it);
	requeue_dirty(q, it);
	item_maybe_free(q, it);
	update_idle(q);
	return 0;
}

int wq_done_after(struct wq *q, const char *key, uint64_t delay_ms)
{
	struct item *it = finish(q, key);

	if (!it)
		return -ENOENT;
	forget(it);
	if (!q->shut && !q->closing) {
		if (delay_ms == 0)
			add_now(q, it); /* client-go: AddAfter(0) is Add */
		else if (q->o.requeue_jitter > 0)
			add_later(q, it, jitter_interval(delay_ms, q->o.requeue_jitter));
		else
			add_later(q, it, delay_ms);
	}
	requeue_dirty(q, it);
	item_maybe_free(q, it);
	update_idle(q);
	return 0;
}

/* The global bucket's delay for one more retry (x/time/rate's Reserve().Delay()). */
static uint64_t bucket_delay(struct wq *q)
{
	uint64_t now = uv_now(q->loop);

	if (q->o.qps <= 0)
		return 0;
	q->tokens += (double)(now - q->tokens_at) * q->o.qps / 1000.0;
	if (q->tokens > (double)q->o.burst)
		q->tokens = (double)q->o.burst;
	q->tokens_at = now;
	q->tokens -= 1.0;
	if (q->tokens >= 0)
		return 0;
	/* Round up, so never early, but not by a float's last bit. */
	return (uint64_t)ceil(-q->tokens * 1000.0 / q->o.qps - 1e-6);
}

int wq_retry(struct wq *q, const char *key, uint64_t *ret_delay_ms)
{
	struct item *it = finish(q, key);
	struct backoff b;
	uint64_t d, bucket;

	if (!it)
		return -ENOENT;
	q->st.retries++;

	/* The key's own backoff: a struct backoff rebuilt from its one word of state. */
	b = q->o.retry;
	b.current_ms = it->backoff_ms;
	d = backoff_next(&b, uv_now(q->loop));
	it->backoff_ms = b.current_ms;
	if (it->failures < UINT_MAX)
		it->failures++;

	/* MaxOf(per-item, bucket), as client-go's default controller limiter. */
	bucket = bucket_delay(q);
	if (bucket > d)
		d = bucket;

	if (!q->shut && !q->closing)
		add_later(q, it, d);
	requeue_dirty(q, it);
	update_idle(q);
	if (ret_delay_ms)
		*ret_delay_ms = d;
	return 0;
}

unsigned wq_failures(const struct wq *q, const char *key)
{
	const struct item *it = key ? item_get(q, key) : NULL;

	return it ? it->failures : 0;
}

int wq_set_max_concurrent(struct wq *q, unsigned n)
{
	if (n == 0)
		return -EINVAL;
	q->o.max_concurrent = n;
	update_idle(q);
	return 0;
}

void wq_shutdown(struct wq *q)
{
	q->shut = true;
	arm_delay(q); /* stops it */
	update_idle(q);
}

static void drain_timeout(uv_timer_t *t)
{
	struct wq *q = t->data;

	if (q->drain_cb)
		finish_drain(q, q->processing == 0 ? 0 : -ETIMEDOUT);
	update_idle(q);
}

int wq_drain(struct wq *q, uint64_t timeout_ms, void (*drain_cb)(int status, void *payload),
	     void *payload)
{
	if (!drain_cb)
		return -EINVAL;
	if (q->drain_cb)
		return -EALREADY;
	wq_shutdown(q);
	q->drain_cb = drain_cb;
	q->drain_payload = payload;
	if (timeout_ms)
		uv_timer_start(&q->drain_timer, drain_timeout, timeout_ms, 0);
	update_idle(q);
	return 0;
}

int wq_park(struct wq *q, const char *key)
{
	struct item *it = key ? item_get(q, key) : NULL;

	if (!it || !it->processing)
		return -ENOENT;
	if (!it->parked) {
		it->parked = true;
		q->parked++;
		update_idle(q);
	}
	return 0;
}

int wq_unpark(struct wq *q, const char *key)
{
	struct item *it = key ? item_get(q, key) : NULL;

	if (!it || !it->processing)
		return -ENOENT;
	if (it->parked) {
		it->parked = false;
		q->parked--;
	}
	return 0;
}

void wq_get_stats(const struct wq *q, struct wq_stats *ret)
{
	uint64_t now = uv_now(q->loop);
	const struct item *it;

	*ret = q->st;
	ret->depth = q->depth;
	ret->processing = q->processing;
	ret->parked = q->parked;
	ret->waiting = (unsigned)q->nheap;
	ret->keys = (unsigned)hmap_size(&q->items);
	ret->longest_running_ms = q->run_head ? now - q->run_head->started_at : 0;
	ret->unfinished_work_ms = 0;
	for (it = q->run_head; it; it = it->run_next)
		ret->unfinished_work_ms += now - it->started_at;
}

/* ---- lifecycle ---- */

static int check_opts(const struct wq_opts *o)
{
	if (o->max_concurrent == 0)
		return -EINVAL;
	if (o->retry.initial_ms == 0 || o->retry.max_ms < o->retry.initial_ms)
		return -EINVAL;
	if (!(o->retry.jitter >= 0) || !isfinite(o->retry.jitter))
		return -EINVAL;
	if (!(o->qps >= 0) || !isfinite(o->qps) || (o->qps > 0 && o->burst == 0))
		return -EINVAL;
	if (!(o->requeue_jitter >= 0 && o->requeue_jitter < 1))
		return -EINVAL;
	return 0;
}

int wq_new(uv_loop_t *loop, const struct wq_opts *opts,
	   void (*process)(struct wq *q, const char *key, void *payload), void *payload,
	   struct wq **ret)
{
	struct wq_opts dflt = WQ_OPTS_INIT;
	struct wq *q;
	int r;

	if (!loop || !process)
		return -EINVAL;
	if (!opts)
		opts = &dflt;
	r = check_opts(opts);
	if (r < 0)
		return r;

	q = xcalloc(1, sizeof(*q));
	q->loop = loop;
	q->o = *opts;
	/* Per-key state lives in the items; a success, not time, resets a key. */
	q->o.retry.current_ms = 0;
	q->o.retry.last_ms = 0;
	q->o.retry.reset_after_ms = 0;
	q->process = process;
	q->payload = payload;
	hmap_init(&q->items);
	q->tokens = (double)q->o.burst;
	q->tokens_at = uv_now(loop);

	/* On Unix these only fill in the struct and cannot fail (libuv 1.44 src/unix). */
	uv_idle_init(loop, &q->idle);
	uv_timer_init(loop, &q->delay);
	uv_timer_init(loop, &q->drain_timer);
	q->idle.data = q;
	q->delay.data = q;
	q->drain_timer.data = q;
	q->open_handles = 3;

	*ret = q;
	return 0;
}

static void handle_closed(uv_handle_t *h)
{
	struct wq *q = h->data;
	void (*cb)(void *);
	void *p;
	size_t iter = 0;
	void *v;

	if (--q->open_handles > 0)
		return;
	if (q->drain_cb) {
		void (*dcb)(int, void *) = q->drain_cb;

		q->drain_cb = NULL;
		dcb(-ECANCELED, q->drain_payload);
	}
	while (hmap_next(&q->items, &iter, NULL, &v))
		free(v);
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
	OP_ASSERT(!q->closing);
	q->closing = true;
	q->shut = true;
	q->close_cb = close_cb;
	q->close_payload = payload;
	/* uv_close() stops an active handle first. */
	uv_close((uv_handle_t *)&q->idle, handle_closed);
	uv_close((uv_handle_t *)&q->delay, handle_closed);
	uv_close((uv_handle_t *)&q->drain_timer, handle_closed);
}
