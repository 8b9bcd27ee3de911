/*
 * notify.h: notifications — what Flux's notification-controller does with
 * the events the other controllers send it, done in process.
 *
 * MODEL
 * Every Event a reconciler records (rc_event()) is also offered here as a
 * Flux event (eventv1.Event: the involved object, severity info or error,
 * message, reason, metadata, reportingController).  Provider and Alert
 * (notification.toolkit.fluxcd.io/v1beta3) are static objects, as in Flux:
 * watched into a cache, never written.  For each event, as the
 * notification-controller's event server does it:
 *   1. metadata keeps only keys under event.toolkit.fluxcd.io/ and the
 *      object's own group, less <group>/checksum and <group>/digest;
 *   2. a duplicate (same object, message, revision, originRevision and
 *      token) within the rate-limit interval (5 min) is dropped, whether or
 *      not an Alert wants it; the token is then removed;
 *   3. every Alert that is not suspended and whose eventSources match
 *      (kind; namespace, the Alert's when unset; name or "*"; matchLabels
 *      against the object's labels; eventSeverity error takes only error
 *      events), whose inclusionList matches the message (if any) and whose
 *      exclusionList does not, gets a notification through its Provider
 *      (same namespace), with metadata combined as RFC 0008 orders it.
 *
 * Delivery is asynchronous: the Provider's Secrets (secretRef,
 * proxySecretRef, certSecretRef) are read, the payload built for its type
 * and POSTed, retried as Flux's client retries (transport errors, 429 and
 * 5xx but 501; waits of 2 s doubling to 30 s, Retry-After honoured), all
 * within the Provider's timeout (15 s).  A notification that cannot be
 * sent is logged and recorded as a Warning Event NotificationDispatchFailed
 * on the Alert (as Flux does) and on the Provider (Flux's v1beta3 Provider
 * has no status; its Events are where `kubectl describe provider` shows
 * it).  Provider types cflux does not send are reported the same way,
 * never skipped in silence.  No secret value reaches a log line or an
 * Event: tokens and addresses read from Secrets are masked.
 *
 * Bounded: at most NOTIFY_MAX_INFLIGHT deliveries at once (more are
 * dropped and logged), the duplicate filter holds at most 4096 keys.
 *
 * Threading: the loop thread only.
 */
#ifndef CFLUX_OPERATOR_NOTIFY_H
#define CFLUX_OPERATOR_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "kube/client.h"

#define NOTIFY_MAX_INFLIGHT 256

struct notify;

struct notify_opts {
	struct kube_client *client;  /* borrowed; outlives the notifier */
	const char *watch_namespace; /* NULL or "": all namespaces */
	uint64_t rate_limit_ms;      /* duplicate window; 0: 5 min */
	bool no_cross_ns;            /* --no-cross-namespace-refs */
};

int notify_new(const struct notify_opts *opts, struct notify **ret);

/* Start watching Providers and Alerts (when this process leads).  0 or -errno. */
int notify_start(struct notify *n);

/* The Extension's notification-controller.enabled: while off, events are dropped. */
void notify_set_enabled(struct notify *n, bool enabled);

/* Stop; deliveries in flight are cancelled.  `cb` runs once all is freed. */
void notify_close(struct notify *n, void (*cb)(void *payload), void *payload);

/* One event, as a reconciler recorded it. */
struct notify_event {
	const char *api_version, *kind, *ns, *name, *uid, *resource_version;
	const cJSON *labels;    /* the object's metadata.labels, or NULL */
	const char *type;       /* "Normal" or "Warning" */
	const char *reason;
	const char *message;
	const char *component;  /* "kustomize-controller" */
	const cJSON *metadata;  /* {"<group>/revision": ...}, or NULL */
};

/* Offer an event; nothing happens unless an Alert wants it.  Never fails. */
void notify_event(struct notify *n, const struct notify_event *ev);

/* Counters, for tests and metrics. */
struct notify_stats {
	unsigned long events, duplicates, sent, failed, dropped;
};
void notify_get_stats(const struct notify *n, struct notify_stats *ret);

/*
 * What cflux cannot do with a Provider's spec — a type it does not send,
 * serviceAccountName — named in `msg` (the Alert's Warning Event says it);
 * or NULL.
 */
const char *notify_provider_unsupported(const cJSON *spec, char *msg, size_t n);

/* --- the pure parts, exposed for unit tests --- */

/*
 * The event as Flux's recorder marshals it (eventv1.Event, fields in Go's
 * order), at `unix_ns`, from `host`; metadata cleaned as step 1 above.
 */
cJSON *notify_event_json(const struct notify_event *ev, const char *host, int64_t unix_ns);

/* The duplicate filter's key for an event made by notify_event_json(). */
void notify_event_key(const cJSON *event, char ret[65]);

/*
 * Whether Alert `alert` (the object) wants `event` (notify_event_json()'s,
 * for an object with `labels`).  A bad regular expression in a list is
 * skipped and described in `bad` (empty when none), as Flux's InvalidConfig
 * event does.
 */
bool notify_alert_matches(const cJSON *alert, const cJSON *event, const cJSON *labels, char *bad,
			  size_t n);

/* RFC 0008's metadata for `alert`: replaces event's "metadata" in place. */
void notify_combine_metadata(cJSON *event, const cJSON *alert);

/* What a Provider sends, beyond its type. */
struct notify_target {
	const char *url;      /* the address */
	const char *token;    /* secret token, or NULL */
	const char *channel, *username;
	const cJSON *headers; /* secret headers: {"Name": "value"}, or NULL */
};

/*
 * The request for provider `type`: the URL to POST to (malloc'd) in
 * *ret_url, the body in `body`, the headers ("Name: value", malloc'd,
 * NULL-terminated) in *ret_headers.  Returns 0, -ENOTSUP for a type cflux
 * does not send, or -EINVAL with `msg` for a bad address.
 */
int notify_build(const char *type, const cJSON *event, const struct notify_target *t,
		 char **ret_url, struct buf *body, char ***ret_headers, char *msg, size_t n);

/*
 * Git commit statuses (types github, gitlab and gitea), as Flux's
 * notifiers set them: the state from the severity (a Progressing event:
 * none for GitHub and GitLab, "pending" for Gitea), the description the
 * reason split at its capitals, lower-cased ("reconciliation
 * succeeded"), the context (GitLab: name) `id` (the default is
 * notify_commit_status_id()'s), on the commit the event's revision names,
 * in the repository the address names.  The latest status of that
 * context is listed first and an equal one is not posted again.
 */
struct notify_status {
	char *list_url, *post_url; /* GET, then POST (malloc'd) */
	struct buf body;           /* the POST's */
	char **headers;            /* both requests' ("Name: value", NULL-terminated) */
	char *state, *desc, *id;   /* for the duplicate test */
};

/* Flux's default status context: lower("<kind>/<name>/<uid up to its first '-'>"). */
char *notify_commit_status_id(const cJSON *event, const char *provider_uid);

/* Whether `type` sets commit statuses. */
bool notify_commit_status_type(const char *type);

/*
 * Fill `s` for `event` (its metadata combined, notify_combine_metadata())
 * and provider `type`.  Returns 0, 1 when there is nothing to set (the
 * event is Progressing and the type skips it), or -EINVAL with the error
 * in `msg` in Flux's words (no revision, a revision without a commit, a
 * bad address or token).  notify_status_release() in every case.
 */
int notify_commit_status(const char *type, const cJSON *event, const struct notify_target *t,
			 const char *id, struct notify_status *s, char *msg, size_t n);
void notify_status_release(struct notify_status *s);

/* Whether the listed statuses (the GET's JSON body) already say what `s` would. */
bool notify_status_duplicate(const char *type, const struct notify_status *s, const char *json,
			     size_t len);

#endif
