/*
 * workqueue.h: the per-controller queue of object keys ("namespace/name"),
 * client-go's workqueue, rate limiter and delaying queue on one libuv loop.
 *
 * MODEL
 * Informer event handlers only compute keys and call wq_add(); the
 * reconciler reads the object from the cache when the queue hands it the
 * key.  Each key is, independently:
 *
 *   - queued:     in the FIFO, waiting for a free processing slot
 *                 (client-go's "dirty" set plus its queue);
 *   - processing: handed to the process callback and not finished yet;
 *   - waiting:    on the delay heap until a deadline (AddAfter), after
 *                 which it is added as if by wq_add().
 *
 * wq_add() on a queued key is a no-op, so bursts of events coalesce.  On a
 * processing key it only marks the key dirty, and the key is queued again
 * when processing finishes: one key is never processed twice at the same
 * time, and an event that arrives mid-reconcile is not lost.
 *
 * Dispatch.  Instead of worker goroutines blocked in Get(), the queue calls
 * `process(q, key, payload)` on the loop thread for queued keys, in FIFO
 * order, while fewer than `max_concurrent` keys are processing and not
 * parked (a key that only waits may give its slot back: wq_park()).  The
 * callback starts asynchronous work and, then or later, finishes the key
 * with exactly one of wq_done(), wq_done_after() or wq_retry().  Dispatch
 * runs from a uv_idle_t, never from inside a wq_*() call, so the callback
 * never nests inside the caller's own stack; see workqueue.c for why an
 * idle handle rather than a zero-delay timer.
 *
 * Delays.  wq_add_after() and retries put the key on one min-heap of
 * deadlines served by a single uv_timer_t, so thousands of waiting keys
 * cost one handle.  A key already waiting keeps the earlier of its two
 * deadlines.  As in client-go, the heap is independent of the FIFO: an
 * immediate wq_add() does not cancel a pending delayed add, so a key with
 * a RequeueAfter that also receives an event runs now and again at the
 * deadline.  Deadlines are relative to uv_now(), like uv_timer_start().
 *
 * Rate limiting (client-go's DefaultControllerRateLimiter).  wq_retry()
 * waits the larger of the key's exponential backoff (struct backoff
 * `retry`, 5 ms * 2^failures capped at 1000 s by default) and the delay of
 * one global token bucket (`qps`, `burst`; client-go's 10 qps, burst 100).
 * Success (wq_done(), wq_done_after()) forgets the key's failures.
 *
 * Shutdown (SIGTERM).  wq_shutdown() stops dispatching and refuses later
 * adds; wq_drain() also reports when the keys still processing have
 * finished, or that a deadline passed; wq_close() then releases the queue.
 *
 * Threading: the loop thread only.  Ownership: the queue copies every key
 * it keeps; keys passed in are borrowed for the duration of the call.
 */
#ifndef CFLUX_KUBE_WORKQUEUE_H
#define CFLUX_KUBE_WORKQUEUE_H

#include <stdint.h>
#include <uv.h>

#include "base/backoff.h"

struct wq;

/* The longest key accepted, in bytes (a Kubernetes "namespace/name" is <= 317). */
#define WQ_KEY_MAX 1024

struct wq_opts {
	/*
	 * Per-key backoff after wq_retry(): initial_ms, max_ms, factor and
	 * jitter are used; the state fields and reset_after_ms are not
	 * (a success resets a key).  Flux's controllers use BACKOFF_RECONCILE.
	 */
	struct backoff retry;
	double qps;              /* global retry bucket, tokens per second; 0: no bucket */
	unsigned burst;          /* bucket size; >= 1 when qps > 0 */
	unsigned max_concurrent; /* keys processing at once; >= 1 */
	/*
	 * wq_done_after() spreads its delay by up to ± this fraction, in
	 * [0, 1): Flux's --interval-jitter-percentage / 100.  0: exact.
	 */
	double requeue_jitter;
};

/* client-go's defaults (DefaultControllerRateLimiter, MaxConcurrentReconciles 1). */
#define WQ_OPTS_INIT                                                                               \
	{                                                                                          \
		.retry = BACKOFF_WORKQUEUE, .qps = 10, .burst = 100, .max_concurrent = 1,          \
		.requeue_jitter = 0                                                                \
	}

/*
 * Create a queue on `loop` that hands keys to `process(q, key, payload)`.
 * `opts` may be NULL for WQ_OPTS_INIT; it is copied.  `key` in the
 * callback is the queue's own copy: it stays valid until the key is
 * finished (wq_done(), wq_done_after(), wq_retry()) or the queue closed.
 *
 * On success returns 0 and stores the queue in *ret; release it with
 * wq_close().  On failure returns -EINVAL (no loop or callback,
 * max_concurrent 0, retry.initial_ms 0 or above retry.max_ms, qps
 * negative, burst 0 with a bucket, requeue_jitter outside [0, 1)) and
 * leaves *ret untouched.
 */
int wq_new(uv_loop_t *loop, const struct wq_opts *opts,
	   void (*process)(struct wq *q, const char *key, void *payload), void *payload,
	   struct wq **ret);

/*
 * Queue `key` now.  A queued key stays where it is; a processing key is
 * marked to run once more after it finishes.  Never calls `process`
 * itself: dispatch happens on a later loop iteration.
 *
 * Returns 0 (also when the add coalesced), -EINVAL for an empty key,
 * -ENAMETOOLONG for one longer than WQ_KEY_MAX, or -ESHUTDOWN after
 * wq_shutdown(); on failure nothing changes.
 */
int wq_add(struct wq *q, const char *key);

/*
 * Add `key` once `delay_ms` have passed (0 is wq_add()).  If the key is
 * already waiting with an earlier deadline, that deadline is kept; with a
 * later one, the deadline moves earlier.  Returns as wq_add().
 */
int wq_add_after(struct wq *q, const char *key, uint64_t delay_ms);

/*
 * Processing of `key` succeeded: forget its failures (client-go's Forget
 * plus Done) and queue it again if an add arrived meanwhile.
 *
 * Returns 0, or -ENOENT if `key` is not processing (a caller bug: a second
 * finish, or a key never handed out); then nothing changes.
 */
int wq_done(struct wq *q, const char *key);

/*
 * Processing succeeded and the key should run again after `delay_ms`
 * (controller-runtime's RequeueAfter, a Flux spec.interval), spread by
 * `requeue_jitter`.  Forgets failures like wq_done(); the re-add follows
 * wq_add_after()'s earlier-deadline rule.  After wq_shutdown() the key is
 * finished but not scheduled.  Returns as wq_done().
 */
int wq_done_after(struct wq *q, const char *key, uint64_t delay_ms);

/*
 * Processing of `key` failed: count a failure and add the key again after
 * max(its backoff, the bucket's delay) (client-go's AddRateLimited plus
 * Done).  If an add arrived meanwhile, the key is also queued at once.
 * After wq_shutdown() the key is finished but not scheduled.
 *
 * On success returns 0 and stores the delay chosen, in milliseconds, in
 * *ret_delay_ms if not NULL (for a "requeue after" log line).  On failure
 * returns -ENOENT as wq_done() and leaves *ret_delay_ms untouched.
 */
int wq_retry(struct wq *q, const char *key, uint64_t *ret_delay_ms);

/* How many times in a row `key` has failed (client-go's NumRequeues); 0 if unknown. */
unsigned wq_failures(const struct wq *q, const char *key);

/*
 * Change how many keys may process at once, effective at the next
 * dispatch (the Extension resource changes --concurrent without a
 * restart).  Lowering it finishes nothing early: new keys wait until fewer
 * than `n` are processing.  Returns 0, or -EINVAL for 0.
 */
int wq_set_max_concurrent(struct wq *q, unsigned n);

/*
 * Stop dispatching and stop the delay timer.  Keys already processing may
 * still be finished; later adds fail with -ESHUTDOWN, as client-go drops
 * them.  Keys left queued or waiting are dropped by wq_close().
 * Idempotent.
 */
void wq_shutdown(struct wq *q);

/*
 * Shut down (wq_shutdown()) and report when no key is processing any
 * more: `drain_cb(status, payload)` runs on a later loop iteration with 0
 * once the last key has finished (at once if none was processing), with
 * -ETIMEDOUT if `timeout_ms` (0: no deadline) passed first, or with
 * -ECANCELED from wq_close() if the queue is closed before either.
 *
 * Returns 0 and then calls `drain_cb` exactly once; or returns -EINVAL
 * (NULL callback) or -EALREADY (a drain is pending) and never calls it.
 * The callback may call wq_close().
 */
int wq_drain(struct wq *q, uint64_t timeout_ms, void (*drain_cb)(int status, void *payload),
	     void *payload);

/*
 * Figures for metrics (client-go's workqueue metrics).  Counters only
 * grow; the rest is the state now.  Times are loop milliseconds.
 */
struct wq_stats {
	uint64_t adds;               /* adds that queued a key or marked it dirty (adds_total) */
	uint64_t retries;            /* wq_retry() calls (retries_total) */
	uint64_t processed;          /* process callbacks made */
	uint64_t queue_wait_ms;      /* sum over processed keys of the time queued */
	uint64_t work_ms;            /* sum over finished keys of the time processing */
	unsigned depth;              /* keys queued now (depth) */
	unsigned processing;         /* keys processing now */
	unsigned parked;             /* ... of which parked (wq_park) */
	unsigned waiting;            /* keys on the delay heap now */
	unsigned keys;               /* keys the queue holds any state for */
	uint64_t longest_running_ms; /* longest_running_processor */
	uint64_t unfinished_work_ms; /* sum over processing keys of their time so far */
};

/* Fill *ret with the queue's figures now.  Cannot fail. */
void wq_get_stats(const struct wq *q, struct wq_stats *ret);

/*
 * Park a processing key: it stays processing (never dispatched twice, an
 * add marks it dirty) but gives its slot back, so another key may start.
 * For work that only waits (watches, a Job to finish) and holds nothing
 * scarce meanwhile.  wq_unpark() takes the slot again, even past
 * max_concurrent (the key is already running); finishing a parked key
 * unparks it.  Both return 0, or -ENOENT when `key` is not processing;
 * parking twice is a no-op.
 */
int wq_park(struct wq *q, const char *key);
int wq_unpark(struct wq *q, const char *key);

/*
 * Stop the handles and free the queue once their close callbacks have run
 * (the libuv rule); then call `close_cb(payload)` if not NULL.  A pending
 * wq_drain() callback gets -ECANCELED first.  Queued, waiting and
 * processing keys are dropped: nothing may call wq_*() on `q` after this,
 * so drain first.  Accepts NULL; closing twice is a bug (asserted).
 * Like uv_close(), this cannot fail.
 */
void wq_close(struct wq *q, void (*close_cb)(void *payload), void *payload);

#endif
