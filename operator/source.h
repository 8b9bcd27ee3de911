/*
 * source.h: what the source kinds' reconcilers (ctl_gitrepository.c,
 * ctl_bucket.c, ...) share beyond the manager's skeleton.
 */
#ifndef CFLUX_OPERATOR_SOURCE_H
#define CFLUX_OPERATOR_SOURCE_H

#include <stdbool.h>
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

/*
 * End a reconcile with a failure as source-controller records one:
 * `cond` (FetchFailed, StorageOperationFailed, ...) True with `reason` and
 * `msg`, a Warning event, the error logged; then Stalled (`stall`: not
 * retried) or Ready=False with the same reason and a retry with backoff.
 */
void source_fail(struct rc *rc, const char *cond, const char *reason, const char *msg,
		 bool stall);
/* What a source reconcile stored (see source_stored()). */
struct source_stored {
	bool fresh;                     /* archived anew at `rel`; false: the stored one stands */
	const char *rel;                /* the artifact in the store */
	const char *revision;           /* Flux's revision */
	const struct artifact_info *ai; /* the archive's digest and size */
	const cJSON *metadata;          /* status.artifact.metadata (copied), or NULL */
	const char *ignore;             /* status.observedIgnore, or NULL */
	const char *reason;             /* their reason; NULL: Succeeded */
	const char *msg;                /* ArtifactInStorage's and Ready's message */
};

/*
 * The success every source kind ends with, as source-controller writes
 * it: a fresh artifact replaces status.artifact (a stored one has its URL
 * refreshed); Stalled, FetchFailed, StorageOperationFailed and
 * ArtifactOutdated go; ArtifactInStorage and Ready are True with
 * `s->reason` and `s->msg`; observedIgnore is `s->ignore`.  Returns true when the
 * artifact's revision or digest changed: the kind's NewArtifact event is
 * due.
 */
bool source_stored(struct rc *rc, const struct storage *st, const struct source_stored *s);

/*
 * Annotate the reconcile's next Events with status.artifact's revision
 * and digest, as source-controller annotates NewArtifact (source_stored()
 * does it when it returns true).
 */
void source_annotate(struct rc *rc);

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
