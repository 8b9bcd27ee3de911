/*
 * lease.h: leader election on a coordination.k8s.io/v1 Lease, with
 * client-go's semantics and defaults (15 s lease, 10 s renew deadline,
 * 2 s retry period — what Flux's controllers use).
 *
 * A candidate takes the Lease when it does not exist, has no holder, or
 * its holder has not renewed it for leaseDurationSeconds — measured, as
 * client-go does, from when *we* observed the record last change, on our
 * monotonic clock, so clock skew between machines does not matter.  All
 * writes carry the resourceVersion they read: of two candidates racing,
 * one gets a conflict and tries again next round.  The leader renews
 * every retry period and steps down when it could not renew for the renew
 * deadline.  lease_release() hands over at once: it empties the holder
 * (and sets a one-second duration), so another candidate takes the Lease
 * at its next retry instead of waiting for expiry — the clean hand-over
 * on SIGTERM.
 *
 * Loop thread only.  Callbacks run on the loop.
 */
#ifndef CFLUX_KUBE_LEASE_H
#define CFLUX_KUBE_LEASE_H

#include <stdbool.h>
#include <stdint.h>

#include "kube/client.h"

struct lease;

struct lease_opts {
	const char *ns;
	const char *name;
	const char *identity;        /* NULL: "<hostname>_<random>" */
	uint64_t lease_duration_ms;  /* 0: 15 s */
	uint64_t renew_deadline_ms;  /* 0: 10 s */
	uint64_t retry_period_ms;    /* 0: 2 s */
	void (*on_started_leading)(void *payload);
	void (*on_stopped_leading)(void *payload);
	void (*on_new_leader)(const char *identity, void *payload);
	void *payload;
};

/* Create a candidate (takes a reference on `c`); not started. */
int lease_new(struct kube_client *c, const struct lease_opts *opts, struct lease **ret);

/* Start trying to acquire the Lease.  0 or -EALREADY. */
int lease_start(struct lease *l);

bool lease_is_leader(const struct lease *l);
const char *lease_identity(const struct lease *l);

/*
 * Give up leadership now (if held) by writing an empty holder, then call
 * `done(payload)`; the candidate stops competing.  on_stopped_leading runs
 * first if we were leading.
 */
void lease_release(struct lease *l, void (*done)(void *payload), void *payload);

/* Stop without releasing, and free once handles closed; then `cb`. */
void lease_close(struct lease *l, void (*cb)(void *payload), void *payload);

#endif
