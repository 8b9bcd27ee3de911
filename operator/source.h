/*
 * source.h: what the source kinds' reconcilers (ctl_gitrepository.c,
 * ctl_bucket.c, ...) share beyond the manager's skeleton.
 */
#ifndef CFLUX_OPERATOR_SOURCE_H
#define CFLUX_OPERATOR_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kube/kobj.h"
#include "manager.h"
#include "storage.h"

/*
 * spec.interval (required, > 0) and spec.timeout (default 60 s, > 0;
 * rounded up to whole seconds).  Returns 0, or -EINVAL with Flux's Stalled
 * reason (InvalidInterval, InvalidTimeout) in *ret_reason and `msg`.
 */
int source_durations(const struct kobj *o, int64_t *ret_interval_ns, unsigned *ret_timeout_s,
		     const char **ret_reason, char *msg, size_t n);

/* A spec string to keep: a copy of `s`, or NULL when it is absent or empty. */
char *source_strdup(const char *s);

/*
 * End a reconcile with a failure as source-controller records one:
 * `cond` (FetchFailed, StorageOperationFailed, ...) True with `reason` and
 * `msg`, a Warning event, the error logged; then Stalled (`stall`: not
 * retried) or Ready=False with the same reason and a retry with backoff.
 */
void source_fail(struct rc *rc, const char *cond, const char *reason, const char *msg,
		 bool stall);

/* desc->finalize of a source kind: its artifacts in `st` go with it, as Flux's finalizer does. */
void source_finalize(struct rc *rc, struct storage *st);

#endif
