/*
 * events.h: Kubernetes Events, as `kubectl describe` shows them.
 *
 * A recorder writes core/v1 Events for a reporting component
 * ("source-controller", "kustomize-controller", as Flux names them) the
 * way client-go's record package does: the first occurrence creates an
 * Event named "<object>.<16 hex>", and a repeat of the same (object, type,
 * reason, message) within ten minutes patches that Event's count and
 * lastTimestamp instead of creating another, so `kubectl get events` shows
 * COUNT and `describe` stays readable.  A per-object token bucket (burst
 * 25, one more every five minutes) keeps a hot loop from flooding etcd.
 *
 * Events are best-effort: recording never fails the caller and never
 * blocks; a failed write is logged at debug level.  Messages are cut to
 * 1024 bytes and URLs lose their userinfo, so no credential reaches an
 * Event.  Loop thread only.
 */
#ifndef CFLUX_KUBE_EVENTS_H
#define CFLUX_KUBE_EVENTS_H

#include "base/macro.h"
#include "kube/client.h"

struct kevents;

/* The object an event is about. */
struct kevent_obj {
	const char *api_version;
	const char *kind;
	const char *ns;
	const char *name;
	const char *uid;
	const char *resource_version;
};

/* Create a recorder for `component` (takes a reference on `c`). */
int events_new(struct kube_client *c, const char *component, struct kevents **ret);

/*
 * Record an event; `type` is "Normal" or "Warning".  Never fails; see
 * above.
 */
void events_record(struct kevents *r, const struct kevent_obj *obj, const char *type,
		   const char *reason, const char *fmt, ...) _printf_(5, 6);

/*
 * The same, with annotations on the Event (metadata.annotations: an object
 * of strings, copied; NULL for none), as Flux's controllers annotate the
 * revision they worked on.
 */
void events_record_annotated(struct kevents *r, const struct kevent_obj *obj,
			     const cJSON *annotations, const char *type, const char *reason,
			     const char *fmt, ...) _printf_(6, 7);

/* Writes in flight (for tests). */
unsigned events_pending(const struct kevents *r);

/* Free the recorder; writes in flight finish on their own.  Accepts NULL. */
void events_free(struct kevents *r);

#endif
