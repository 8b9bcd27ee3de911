/*
 * informer.h: a watched, cached view of one kind (client-go's reflector +
 * store + informer, on the loop).
 *
 * An informer LISTs its resource (paginated), then WATCHes from the list's
 * resourceVersion with bookmarks and a randomised timeout (5-10 min), and
 * keeps a cache of immutable kobj keyed "namespace/name".  It resumes a
 * watch that ended normally from the last resourceVersion it saw; on 410
 * Gone/Expired it relists and turns the difference between the cache and
 * the new list into the events it missed; transport failures retry with
 * client-go's reflector backoff (800 ms .. 30 s, jitter).  Every change is
 * delivered once, in order: ADD for a new key, UPDATE when the
 * resourceVersion changed, DELETE (with the last known object) when it is
 * gone — so a handler sees no duplicates across reconnects and relists.
 *
 * Handlers should only turn events into workqueue keys (STYLE.md §4): the
 * reconcile reads the cache, not the event.
 *
 * Threading: loop thread only.  Objects passed to the handler are
 * borrowed; kobj_ref() to keep one.
 */
#ifndef CFLUX_KUBE_INFORMER_H
#define CFLUX_KUBE_INFORMER_H

#include <stdbool.h>

#include "kube/client.h"
#include "kube/kobj.h"

struct informer;

enum informer_event {
	INFORMER_ADD,
	INFORMER_UPDATE,
	INFORMER_DELETE,
};

/* `old` is set for UPDATE (the previous object) and NULL otherwise. */
typedef void (*informer_cb)(struct informer *inf, enum informer_event ev, struct kobj *obj,
			    struct kobj *old, void *payload);

struct informer_opts {
	struct kube_ref ref;          /* group/version/resource; ns NULL = all */
	const char *label_selector;
	const char *field_selector;
	long page_size;               /* LIST limit; 0: 500 */
	unsigned min_watch_timeout_s; /* 0: 300 (the watch lasts 1-2x this) */
};
#define INFORMER_OPTS_INIT { .page_size = 500 }

/*
 * Create an informer (not started).  Takes a reference on `c`.  On
 * success returns 0 and stores it in *ret; returns -EINVAL for a bad ref.
 */
int informer_new(struct kube_client *c, const struct informer_opts *opts, informer_cb cb,
		 void *payload, struct informer **ret);

/* Start listing and watching.  0, or -EALREADY. */
int informer_start(struct informer *inf);

/* True once the first LIST has been applied to the cache. */
bool informer_synced(const struct informer *inf);

/* The cached object for `key` ("ns/name"), borrowed, or NULL. */
struct kobj *informer_get(const struct informer *inf, const char *key);

/* Number of cached objects. */
size_t informer_size(const struct informer *inf);

/*
 * Iterate the cache: `size_t it = 0; struct kobj *o;
 * while ((o = informer_next(inf, &it))) ...` (objects borrowed; do not
 * change the informer while iterating).
 */
struct kobj *informer_next(const struct informer *inf, size_t *it);

/* The resourceVersion the informer is at ("" before the first list). */
const char *informer_resource_version(const struct informer *inf);

/* Counters for tests and metrics. */
struct informer_stats {
	unsigned lists;        /* LIST rounds completed */
	unsigned watches;      /* WATCH requests started */
	unsigned relists_410;  /* relists caused by 410 Gone/Expired */
	unsigned errors;       /* failed LIST/WATCH attempts */
};
void informer_get_stats(const struct informer *inf, struct informer_stats *ret);

/*
 * Stop everything, drop the cache and the client reference, and free the
 * informer once no request is in flight; then call close_cb(payload) if
 * not NULL.  The handler is not called again.  Never touch `inf` after.
 */
void informer_close(struct informer *inf, void (*close_cb)(void *payload), void *payload);

#endif
