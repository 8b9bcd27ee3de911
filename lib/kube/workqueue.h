/*
 * workqueue.h: per-controller queue of object keys ("namespace/name"),
 * client-go's workqueue + rate limiter + delaying queue on one libuv loop.
 *
 * DESIGN
 * A key is at once in any of: queued (in the FIFO), processing (handed to
 * the process callback, not yet finished), waiting (on the delay heap).
 * wq_add() on a queued key is a no-op; on a processing key it marks the key
 * dirty so that wq_done() queues it again — so one key is never processed
 * twice at the same time, an event that arrives mid-reconcile is not lost,
 * and bursts of events coalesce into one reconcile.
 *
 * Instead of worker threads calling Get(), the queue dispatches: it calls
 * `process(q, key)` on the loop thread for queued keys while fewer than
 * `max_concurrent` are processing.  The callback starts asynchronous work
 * and later calls exactly one of wq_done(), wq_done_after() or
 * wq_retry().  Dispatch runs from a zero-delay timer, never from inside
 * wq_add(), so callbacks never nest.
 *
 * Delays (wq_add_after(), retries) live in one min-heap of deadlines
 * served by one uv_timer_t, so thousands of waiting keys cost one handle.
 * A key already waiting keeps the earlier of two deadlines (client-go).
 * Retries wait max(per-key exponential backoff, global token bucket), as
 * client-go's DefaultControllerRateLimiter: base * 2^(failures-1) capped
 * at max, and a bucket of `qps` with `burst`; success (wq_done*) forgets
 * the key's failures.
 *
 * Threading: loop thread only.  Ownership: keys are copied on add.
 */
#ifndef CFLUX_KUBE_WORKQUEUE_H
#define CFLUX_KUBE_WORKQUEUE_H

#include <stdint.h>
#include <uv.h>

struct wq;

struct wq_opts {
	uint64_t base_delay_ms;  /* first retry delay */
	uint64_t max_delay_ms;   /* retry delay cap */
	double qps;              /* global retry bucket rate; 0: no bucket */
	unsigned burst;          /* bucket size */
	unsigned max_concurrent; /* keys processing at once */
};
/* client-go's defaults; Flux's controllers use 750 ms .. 15 min. */
#define WQ_OPTS_INIT                                                                               \
	{ .base_delay_ms = 5, .max_delay_ms = 1000 * 1000, .qps = 10, .burst = 100,               \
	  .max_concurrent = 1 }

typedef void (*wq_process_cb)(struct wq *q, const char *key, void *payload);

/*
 * Create a queue on `loop`.  On success returns 0 and stores it in *ret;
 * release with wq_close().  -EINVAL for max_concurrent 0 or a NULL callback.
 */
int wq_new(uv_loop_t *loop, const struct wq_opts *opts, wq_process_cb process, void *payload,
	   struct wq **ret);

/* Queue `key` (copied) now. */
void wq_add(struct wq *q, const char *key);

/* Queue `key` after `delay_ms` (an interval's requeue); 0 is wq_add(). */
void wq_add_after(struct wq *q, const char *key, uint64_t delay_ms);

/* Processing of `key` succeeded: forget its failures; run again if dirty. */
void wq_done(struct wq *q, const char *key);

/* Succeeded, and should run again after `delay_ms` (RequeueAfter). */
void wq_done_after(struct wq *q, const char *key, uint64_t delay_ms);

/*
 * Processing failed: queue again after the backoff (at once if an event
 * arrived meanwhile).  Returns the delay chosen, in milliseconds.
 */
uint64_t wq_retry(struct wq *q, const char *key);

/* How many times `key` failed in a row (0 if none or unknown). */
unsigned wq_failures(const struct wq *q, const char *key);

/* Change the concurrency live (the Extension's <controller>.concurrent). */
void wq_set_max_concurrent(struct wq *q, unsigned n);

/* Stop dispatching; adds are still recorded.  For a drain on SIGTERM. */
void wq_shutdown(struct wq *q);

struct wq_stats {
	uint64_t adds;       /* wq_add / wq_add_after calls */
	uint64_t retries;    /* wq_retry calls */
	uint64_t processed;  /* process callbacks made */
	unsigned depth;      /* keys queued now */
	unsigned processing; /* keys processing now */
	unsigned waiting;    /* keys on the delay heap now */
	uint64_t longest_running_ms;
};
void wq_get_stats(const struct wq *q, struct wq_stats *ret);

/*
 * Stop the timers and free the queue once its handles have closed; then
 * call `close_cb(payload)` if not NULL.  Keys still processing are
 * forgotten; their later wq_done()/wq_retry() must not happen.
 */
void wq_close(struct wq *q, void (*close_cb)(void *payload), void *payload);

#endif
