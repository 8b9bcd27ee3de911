/*
 * backoff.h: exponential backoff with jitter, and jittered intervals.
 *
 * One mechanism serves the three backoffs the operator needs, each with the
 * constants of the system it mirrors:
 *   - watch reconnects (client-go reflector): BACKOFF_WATCH
 *     800 ms initial, x2, cap 30 s, jitter 1.0, reset after 2 min healthy;
 *   - reconcile failures (Flux controllers' --min/max-retry-delay):
 *     BACKOFF_RECONCILE 750 ms initial, x2, cap 15 min, no jitter;
 *   - the workqueue's per-item limiter (client-go): 5 ms, x2, cap 1000 s.
 * Delays are milliseconds of the monotonic clock (uv_now()).
 *
 * Threading: a struct backoff belongs to one thread; the random source is
 * thread-local and seeded from getrandom().
 */
#ifndef CFLUX_BASE_BACKOFF_H
#define CFLUX_BASE_BACKOFF_H

#include <stddef.h>
#include <stdint.h>

struct backoff {
	uint64_t initial_ms;
	uint64_t max_ms;
	double factor;
	double jitter;          /* each delay grows by up to delay*jitter */
	uint64_t reset_after_ms; /* 0: never reset by itself */
	/* state */
	uint64_t current_ms;    /* next base delay; 0 before the first */
	uint64_t last_ms;       /* time of the last backoff_next() */
};

#define BACKOFF_WATCH { .initial_ms = 800, .max_ms = 30000, .factor = 2.0, .jitter = 1.0, \
			.reset_after_ms = 120000 }
#define BACKOFF_RECONCILE { .initial_ms = 750, .max_ms = 15 * 60 * 1000, .factor = 2.0 }
#define BACKOFF_WORKQUEUE { .initial_ms = 5, .max_ms = 1000 * 1000, .factor = 2.0 }

/*
 * The delay to wait before the next attempt, given the monotonic time
 * `now_ms`, and advance the state.  If reset_after_ms is set and that long
 * has passed since the previous call, starts again from initial_ms.
 */
uint64_t backoff_next(struct backoff *b, uint64_t now_ms);

/* Back to the initial delay (after a success). */
void backoff_reset(struct backoff *b);

/* Uniform random 64 bits (thread-local xoshiro256**, not for secrets). */
uint64_t rand_u64(void);

/* Uniform in [0, 1). */
double rand_unit(void);

/*
 * `interval_ms` spread by up to ±`fraction` (0.05 → ±5 %), as Flux's
 * --interval-jitter-percentage spreads requeues so objects created
 * together do not reconcile in lockstep.
 */
uint64_t jitter_interval(uint64_t interval_ms, double fraction);

/* A random lower-case hex string of `n` bytes (a reconcile ID, say). */
void rand_hex(char *out, size_t n);

/* A random UUID v4 string (37 bytes with the NUL). */
void rand_uuid(char out[37]);

#endif
