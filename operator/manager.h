/*
 * manager.h: the controllers of one cflux-operator process — per kind an
 * informer, a workqueue and a reconcile function — and what they share.
 *
 * MODEL (controller-runtime's, on one libuv loop)
 * A controller is described by a struct ctl_desc (one per kind, each in
 * its ctl_<kind>.c, wired in main.c).  mgr_add() creates its informer and
 * workqueue;
 * mgr_start() (called when this process becomes the leader) starts every
 * informer.  The informer's events become keys on the workqueue when they
 * matter to Flux's predicates: an object appeared or disappeared, its
 * metadata.generation changed, its `reconcile.fluxcd.io/requestedAt`
 * annotation changed, or its deletion started.  Status-only updates —
 * ours, mostly — do not requeue it, which is what keeps reconcilers from
 * chasing their own writes.
 *
 * The queue hands keys to the reconciler skeleton (below), which runs the
 * lifecycle every kind shares and calls the kind's desc->reconcile or
 * desc->finalize with the object from the informer's cache.  The kind
 * works asynchronously and ends the reconcile exactly once; the key is
 * then finished: requeued after the interval (jittered), or after
 * exponential backoff on failure (Flux's 750 ms .. 15 min for sources).
 * A key is never reconciled twice at the same time; events arriving
 * meanwhile requeue it once it finishes.
 *
 * Controllers that react to another kind (a Kustomization to its
 * source's new artifact) subscribe with ctl_watch(): the callback sees
 * every event of the other controller's informer and may ctl_enqueue()
 * keys of its own.
 *
 * Shutdown: mgr_drain() stops dispatching and reports when in-flight
 * reconciles have finished or the deadline passed; mgr_close() cancels
 * those still running and releases everything once they have ended.
 *
 * Staleness (beyond Flux): an object with a spec.interval whose last
 * successful reconcile (Ready=True at its end) is older than
 * opts->stale_intervals of its intervals — counted from when this process
 * first saw it, if it never succeeded here — gets the condition
 * Stale=True (reason NoRecentSuccess) and a Warning Event "Stale", once;
 * the next success removes it.  A reconcile ending checks its own object;
 * a sweep every second checks the others (a failing source waiting out
 * its backoff, a queue that never reaches it) and writes the condition
 * alone.  Suspended objects and disabled controllers are never stale.
 * The gauge cflux_stale_objects{kind} counts them.
 *
 * Metrics, under Flux's names and labels: per object (kind, name,
 * namespace) the reconcile duration histogram
 * gotk_reconcile_duration_seconds (dropped when the object is deleted),
 * the Ready condition gauge gotk_reconcile_condition{type,status} and
 * gotk_suspend_status, the gauges read from the informer's cache at
 * scrape time; per controller controller_runtime_reconcile_total{result}
 * and workqueue_depth.  mgr_metrics() prints them.
 *
 * Threading: the loop thread only.
 */
#ifndef CFLUX_OPERATOR_MANAGER_H
#define CFLUX_OPERATOR_MANAGER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/backoff.h"
#include "base/buf.h"
#include "kube/client.h"
#include "kube/events.h"
#include "kube/informer.h"
#include "kube/kobj.h"

struct mgr;
struct ctl;
struct rc;

struct ctl_desc {
	const char *name;        /* "gitrepository": logs, metrics */
	const char *component;   /* Events' source: "source-controller" */
	const char *kind;        /* "GitRepository" */
	const char *api_version; /* "source.toolkit.fluxcd.io/v1" */
	struct kube_ref ref;     /* group, version, resource (ns and name unset) */
	bool cluster_scoped;     /* watched cluster-wide whatever --watch-all-namespaces says */
	unsigned concurrent;     /* reconciles at once; 0: the manager's default */
	struct backoff retry;    /* per-key backoff after a failure */
	/*
	 * A source kind: its objects publish status.artifact in the store,
	 * which Kustomizations (and FluxConfigurations) consume by kind.
	 */
	bool source;
	/* The kind handles spec.suspend itself (FluxConfiguration passes it on). */
	bool own_suspend;
	/*
	 * Reconciling is the kind's own (helm-controller's): a failed
	 * reconcile leaves it as written, not turned into ProgressingWithRetry.
	 */
	bool own_reconciling;
	const char *finalizer;   /* NULL: Flux's "finalizers.fluxcd.io" */
	/* The kind's own state per reconcile: rc->job, zeroed; NULL release: plain memory. */
	size_t job_size;
	void (*job_release)(void *job);
	/*
	 * The kind's logic (see THE RECONCILER SKELETON below).  `reconcile`
	 * runs for a live object that carries our finalizer and is not
	 * suspended; `finalize` (NULL: nothing to clean up) for an object
	 * being deleted that still carries it.  Each ends `rc` exactly once.
	 */
	void (*reconcile)(struct rc *rc);
	void (*finalize)(struct rc *rc);
};

struct mgr_opts {
	struct kube_client *client;  /* borrowed; outlives the manager */
	const char *watch_namespace; /* NULL or "": all namespaces */
	const char *label_selector;  /* NULL or "": everything */
	unsigned concurrent;         /* default per controller (--concurrent) */
	double requeue_jitter;       /* fraction, Flux's 5% default: 0.05 */
	unsigned stale_intervals;    /* the staleness alarm's threshold; 0: off */
};

int mgr_new(const struct mgr_opts *opts, struct mgr **ret);

/*
 * Add a controller; `data` is the reconciler's own state (ctl_data()).
 * Only before mgr_start().  On success returns 0 and stores the
 * controller, owned by the manager, in *ret.  On failure returns a
 * negative errno (-EINVAL: after mgr_start(), no name or reconcile, or a
 * ref or backoff the informer or queue refuses) and leaves *ret and the
 * manager as they were.
 */
int mgr_add(struct mgr *m, const struct ctl_desc *desc, void *data, struct ctl **ret);

/* Start every informer; keys flow once each has listed.  Returns 0 or -errno. */
int mgr_start(struct mgr *m);

/* True once every informer has completed its first LIST. */
bool mgr_synced(const struct mgr *m);

/*
 * Stop dispatching and call `cb(status, payload)` once no reconcile is in
 * flight (status 0) or after `timeout_ms` (-ETIMEDOUT).  Called once.
 */
void mgr_drain(struct mgr *m, uint64_t timeout_ms, void (*cb)(int status, void *payload),
	       void *payload);

/*
 * Close informers and queues; `cb` runs when all memory is released.
 * Reconciles still in flight (after a drain that timed out) are cancelled
 * first (rc_cancelled()) and waited for: nothing is freed while one
 * runs, so `cb` may come late if one ignores its cancellation.  The
 * client stays in use until `cb`.
 */
void mgr_close(struct mgr *m, void (*cb)(void *payload), void *payload);

/* Prometheus text for every controller. */
void mgr_metrics(const struct mgr *m, struct buf *out);

/* The controller named `name`, or NULL. */
struct ctl *mgr_ctl(const struct mgr *m, const char *name);

/* The controller of `kind` ("GitRepository"), or NULL. */
struct ctl *mgr_ctl_kind(const struct mgr *m, const char *kind);

/*
 * The source controllers (desc->source), in the order added: NULL starts,
 * NULL ends.  Consumers of artifacts find a source's kind through these,
 * so a new source kind needs no code in them.
 */
struct ctl *mgr_next_source(const struct mgr *m, const struct ctl *prev);

/* --- for reconcilers --- */

void *ctl_data(const struct ctl *ctl);
const struct ctl_desc *ctl_desc(const struct ctl *ctl);
struct mgr *ctl_mgr(const struct ctl *ctl);
struct kube_client *ctl_client(const struct ctl *ctl);
struct informer *ctl_informer(const struct ctl *ctl);

/*
 * A client for what an object applies: a new reference to the
 * controller's own when `sa` is NULL or empty, else one impersonating
 * system:serviceaccount:<ns>:<sa>.  0, or -errno.  Release it with
 * kube_client_unref().
 */
int ctl_applier_client(const struct ctl *ctl, const char *ns, const char *sa,
		       struct kube_client **ret);

/* The same over another cluster's client `base` (a remote one, remote.h). */
int applier_client_on(struct kube_client *base, const char *ns, const char *sa,
		      struct kube_client **ret);

/*
 * spec.dependsOn as Flux's kustomize- and helm-controller check it: each
 * dependency (an object of this controller's kind, in its cache) Ready
 * at its current generation.  0 when all are; -ELOOP with `msg`
 * "dependency cycle: a -> b -> a" when one leads back to `obj` (the walk
 * is bounded); -EAGAIN with "dependency 'ns/name' is not ready".
 */
int ctl_check_dependencies(struct ctl *ctl, const struct kobj *obj, char *msg, size_t n);

/* The event recorder shared by all controllers of this kind. */
struct kevents *ctl_events(const struct ctl *ctl);

/*
 * LIST this controller's kind from the apiserver itself — a quorum read,
 * in the informer's namespace and label selector — for decisions that
 * cannot wait for the cache to catch up (removing a finalizer).  At most
 * `limit` items; `cb` gets the List object.  Returns 0 or -errno.
 */
int ctl_list_live(struct ctl *ctl, long limit, kube_cb cb, void *payload);

/*
 * THE RECONCILER SKELETON
 *
 * Every kind's reconcile has the same frame, written once in manager.c;
 * a ctl_<kind>.c holds only its kind's logic behind desc->reconcile and
 * desc->finalize:
 *
 *   gone          the key is finished: nothing to do
 *   deleted       with our finalizer (desc->finalizer, Flux's by default):
 *                 desc->finalize(rc), which ends with rc_finalized() once
 *                 its cleanup is done (the finalizer is then removed), or
 *                 with rc_done()/rc_retry() to try again later; without
 *                 our finalizer: finished
 *   suspended     spec.suspend (unless desc->own_suspend): logged,
 *                 finished, not requeued (a spec change wakes it)
 *   no finalizer  added, guarded by the resourceVersion (a conflict is
 *                 retried), then on with the object the apiserver returned
 *   live          desc->reconcile(rc)
 *
 * A struct rc is one reconcile in flight.  The kind edits rc->status (a
 * copy of the object's status) and ends the reconcile exactly once with
 * rc_done(), rc_retry(), rc_stall() or (finalize only) rc_finalized().
 * Ending writes the status — only if it differs from the object's — to
 * the status subresource, and finishes the key once the apiserver has
 * answered, so the next reconcile reads our own status and a drain at
 * shutdown waits for status writes.  On the way, Flux's finalize-status
 * rules apply to every kind:
 *   - lastHandledReconcileAt takes the requestedAt annotation's value;
 *   - Ready=True: Reconciling is removed and observedGeneration set;
 *   - Ready=False with Reconciling present: its reason becomes
 *     ProgressingWithRetry.
 * rc_progress() writes Reconciling=True (Flux's progressive status) while
 * work goes on.  Blocking or CPU-heavy work goes through rc_work(), so
 * the manager knows what runs on the thread pool.
 *
 * The kind's own state lives in rc->job (desc->job_size bytes, zeroed at
 * the start, released by desc->job_release at the end).  Callbacks may
 * keep `rc` until they end it; after that it is gone.
 */
struct rc {
	struct ctl *ctl;
	const char *key;   /* "ns/name", or "name" when cluster-scoped */
	struct kobj *obj;  /* the object as of our latest write; read-only */
	cJSON *status;     /* what will be written: starts as a copy of obj's status */
	void *job;         /* the kind's state */
	uint64_t t0;       /* loop time (ms) the reconcile started */
};

/* The object's generation, for conditions. */
long rc_gen(const struct rc *rc);

/*
 * End: write rc->status (see above) and finish the key; requeue after
 * `requeue_ms` (jittered), or never for 0.  A failed status write is
 * logged and the key retried with backoff.
 */
void rc_done(struct rc *rc, uint64_t requeue_ms);

/* End as rc_done(), then requeue after the key's backoff (a failure). */
void rc_retry(struct rc *rc);

/*
 * End with a terminal error: Stalled=True and Ready=False with `reason`
 * and `msg`, observedGeneration set, not requeued (a spec change wakes
 * the object).  Also records a Warning Event.
 */
void rc_stall(struct rc *rc, const char *reason, const char *msg);

/*
 * From desc->finalize: cleanup is done; remove our finalizer and finish.
 * Nothing else is written.
 */
void rc_finalized(struct rc *rc);

/*
 * Flux's progressive status: Reconciling=True with `reason` and `msg`
 * (and Ready=Unknown with `reason` and `ready_msg`, unless that is NULL),
 * written now; then `next(rc)` runs once the apiserver has it (at once if
 * nothing changed).  If the write fails the reconcile ends as rc_retry()
 * and `next` is never called.
 */
void rc_progress(struct rc *rc, const char *ready_msg, const char *reason, const char *msg,
		 void (*next)(struct rc *rc));

/*
 * Run `work(rc->job)` on the thread pool, then `done(rc, status)` on the
 * loop (status < 0: cancelled, e.g. -ECANCELED at shutdown; the reconcile
 * must still be ended).  `work` touches no loop state and does not log.
 * Returns 0, or a negative errno (then nothing is called): -ECANCELED
 * once the manager is closing.
 */
int rc_work(struct rc *rc, void (*work)(void *job), void (*done)(struct rc *rc, int status));

/*
 * Whether the manager is closing and this reconcile should give up: end
 * it at once (how does not matter: nothing more is written).  Any thread
 * may read it while the reconcile is in flight; rc_cancel_flag() gives
 * the flag itself, for the source clients' `cancel` option (their waits
 * fail with -ECANCELED soon after it is set).  Valid until the reconcile
 * ends.
 */
bool rc_cancelled(const struct rc *rc);
const atomic_bool *rc_cancel_flag(const struct rc *rc);

/*
 * While a reconcile only waits (objects to become Ready, a hook's Job to
 * finish: watches, no thread held), it may give its worker slot back, so
 * the controller starts the next object meanwhile; the reconcile goes on
 * as before and is still never run twice at once.  rc_unpark() takes the
 * slot again when the wait is over (ending the reconcile does too).
 */
void rc_park(struct rc *rc);
void rc_unpark(struct rc *rc);

/*
 * Record an Event about the object ("Normal"/"Warning"), with the
 * reconcile's annotations, and offer it to the event hook
 * (notifications).
 */
void rc_event(struct rc *rc, const char *type, const char *reason, const char *fmt, ...)
	_printf_(4, 5);

/*
 * Annotate the Events this reconcile records from now on, as Flux's
 * controllers annotate theirs: `key` ("revision", "originRevision",
 * "digest", "token") under the kind's API group
 * ("kustomize.toolkit.fluxcd.io/revision").  NULL or "" removes it.
 * Notifications match duplicates on the revision and show it.
 */
void rc_annotate(struct rc *rc, const char *key, const char *value);

/*
 * Every Event a reconcile records is also given to `hook` (one per
 * manager; NULL to stop): the controller, the object, the Event's type,
 * reason and whole message, and the reconcile's annotations (an object,
 * or NULL).  All borrowed for the call.
 */
typedef void (*mgr_event_hook)(void *payload, const struct ctl *ctl, const struct kobj *obj,
			       const char *type, const char *reason, const char *msg,
			       const cJSON *annotations);
void mgr_set_event_hook(struct mgr *m, mgr_event_hook hook, void *payload);

/*
 * Turn a controller off or on while running (the Extension's
 * <controller>.enabled).  While off, its objects are not reconciled:
 * each one it is asked about gets Ready=Unknown, reason
 * ControllerDisabled, saying which setting turned it off.  Every key is
 * queued again on each switch.  `setting` names the setting (borrowed,
 * static).
 */
void ctl_set_enabled(struct ctl *ctl, bool enabled, const char *setting);
bool ctl_enabled(const struct ctl *ctl);

/* Reconciles at once for this controller, effective at the next dispatch. */
void ctl_set_concurrent(struct ctl *ctl, unsigned n);

/* Queue every object the controller's cache holds. */
void ctl_requeue_all(struct ctl *ctl);

/* Queue `key` of this controller now. */
void ctl_enqueue(struct ctl *ctl, const char *key);

/* Subscribe `watcher` to every informer event of `other` (`from` in the callback). */
typedef void (*ctl_watch_cb)(struct ctl *watcher, struct ctl *from, enum informer_event ev,
			     struct kobj *obj, struct kobj *old);
void ctl_watch(struct ctl *watcher, struct ctl *other, ctl_watch_cb cb);

#endif
