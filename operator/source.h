/*
 * source.h: what the source kinds' reconcilers (ctl_gitrepository.c,
 * ctl_bucket.c, ...) share beyond the manager's skeleton.
 */
#ifndef CFLUX_OPERATOR_SOURCE_H
#define CFLUX_OPERATOR_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

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

/* desc->finalize of a source kind: its artifacts in `st` go with it, as Flux's finalizer does. */
void source_finalize(struct rc *rc, struct storage *st);

/*
 * The startup sweep (issue #25): once every informer has listed, remove
 * from `st` the artifacts and caches of source objects deleted while no
 * operator ran.  The caches are read on the loop thread into a snapshot
 * of the live objects; storage_sweep() runs on the thread pool against
 * it.  Only namespaces we watch (`watch_ns`, NULL or "": all) are swept,
 * and an object directory changed since the snapshot (an object created
 * meanwhile) is kept.  Call once, after mgr_synced(); logs what it removed.
 */
void source_sweep(uv_loop_t *loop, const struct mgr *m, struct storage *st, const char *watch_ns);

#endif
