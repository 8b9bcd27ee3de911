/*
 * manager.h: the controllers of one cflux-operator process — per kind an
 * informer, a workqueue and a reconcile function — and what they share.
 *
 * MODEL (controller-runtime's, on one libuv loop)
 * A controller is described by a struct ctl_desc (one per kind, in a
 * table in main.c).  mgr_add() creates its informer and workqueue;
 * mgr_start() (called when this process becomes the leader) starts every
 * informer.  The informer's events become keys on the workqueue when they
 * matter to Flux's predicates: an object appeared or disappeared, its
 * metadata.generation changed, its `reconcile.fluxcd.io/requestedAt`
 * annotation changed, or its deletion started.  Status-only updates —
 * ours, mostly — do not requeue it, which is what keeps reconcilers from
 * chasing their own writes.
 *
 * The queue hands keys to `desc->reconcile(ctl, key, obj)` with the
 * object from the informer's cache (a reference the callee may keep via
 * kobj_ref(); NULL once the object is gone).  The reconciler works
 * asynchronously and finishes the key exactly once with ctl_done()
 * (success, optional requeue after the interval, jittered) or
 * ctl_retry() (failure: exponential backoff, Flux's 750 ms .. 15 min for
 * sources).  A key is never reconciled twice at the same time; events
 * arriving meanwhile requeue it once it finishes.
 *
 * Controllers that react to another kind (a Kustomization to its
 * source's new artifact) subscribe with ctl_watch(): the callback sees
 * every event of the other controller's informer and may ctl_enqueue()
 * keys of its own.
 *
 * Shutdown: mgr_drain() stops dispatching and reports when in-flight
 * reconciles have finished or the deadline passed; mgr_close() releases
 * everything.
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

struct ctl_desc {
	const char *name;        /* "gitrepository": logs, metrics */
	const char *component;   /* Events' source: "source-controller" */
	const char *kind;        /* "GitRepository" */
	const char *api_version; /* "source.toolkit.fluxcd.io/v1" */
	struct kube_ref ref;     /* group, version, resource (ns and name unset) */
	bool cluster_scoped;     /* watched cluster-wide whatever --watch-all-namespaces says */
	unsigned concurrent;     /* reconciles at once; 0: the manager's default */
	struct backoff retry;    /* per-key backoff after ctl_retry() */
	void (*reconcile)(struct ctl *ctl, const char *key, struct kobj *obj);
};

struct mgr_opts {
	struct kube_client *client;  /* borrowed; outlives the manager */
	const char *watch_namespace; /* NULL or "": all namespaces */
	const char *label_selector;  /* NULL or "": everything */
	unsigned concurrent;         /* default per controller (--concurrent) */
	double requeue_jitter;       /* fraction, Flux's 5% default: 0.05 */
};

int mgr_new(const struct mgr_opts *opts, struct mgr **ret);

/*
 * Add a controller; `data` is the reconciler's own state (ctl_data()).
 * Only before mgr_start().  Returns the controller, owned by the manager.
 */
struct ctl *mgr_add(struct mgr *m, const struct ctl_desc *desc, void *data);

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

/* Close informers and queues; `cb` runs when all memory is released. */
void mgr_close(struct mgr *m, void (*cb)(void *payload), void *payload);

/* Prometheus text for every controller. */
void mgr_metrics(const struct mgr *m, struct buf *out);

/* The controller named `name`, or NULL. */
struct ctl *mgr_ctl(const struct mgr *m, const char *name);

/* --- for reconcilers --- */

void *ctl_data(const struct ctl *ctl);
const struct ctl_desc *ctl_desc(const struct ctl *ctl);
struct mgr *ctl_mgr(const struct ctl *ctl);
struct kube_client *ctl_client(const struct ctl *ctl);
struct informer *ctl_informer(const struct ctl *ctl);

/* The event recorder shared by all controllers of this kind. */
struct kevents *ctl_events(const struct ctl *ctl);

/*
 * Finish `key` successfully; requeue after `requeue_ms` (jittered by the
 * manager's requeue_jitter), or never for 0.
 */
void ctl_done(struct ctl *ctl, const char *key, uint64_t requeue_ms);

/* Finish `key` with a failure: requeue after its backoff.  Returns the delay in ms. */
uint64_t ctl_retry(struct ctl *ctl, const char *key);

/*
 * Write `status` (borrowed) to obj's status subresource as a JSON merge
 * patch, so that the status becomes `status`: fields obj's status has and
 * `status` lacks are removed.  `cb` as kube_cb (may be NULL).  Returns 0
 * or -errno.
 */
int ctl_patch_status(struct ctl *ctl, const struct kobj *obj, const cJSON *status, kube_cb cb,
		     void *payload);

/*
 * Merge-patch obj's metadata.finalizers to `finalizers` (a JSON array,
 * borrowed), guarded by obj's resourceVersion (a conflict fails with 409).
 */
int ctl_patch_finalizers(struct ctl *ctl, const struct kobj *obj, const cJSON *finalizers,
			 kube_cb cb, void *payload);

/*
 * LIST this controller's kind from the apiserver itself — a quorum read,
 * in the informer's namespace and label selector — for decisions that
 * cannot wait for the cache to catch up (removing a finalizer).  At most
 * `limit` items; `cb` gets the List object.  Returns 0 or -errno.
 */
int ctl_list_live(struct ctl *ctl, long limit, kube_cb cb, void *payload);

/* Record an Event about `obj` ("Normal"/"Warning"). */
void ctl_event(struct ctl *ctl, const struct kobj *obj, const char *type, const char *reason,
	       const char *fmt, ...) _printf_(5, 6);

/*
 * The end of a reconcile: write `status` (borrowed; lastHandledReconcileAt
 * is set from obj's requestedAt annotation) and, once the apiserver has
 * answered, finish obj's key — ctl_retry() if `retry`, else ctl_done()
 * with `requeue_ms`.  Finishing only after the write means the next
 * reconcile of the key reads our own status, and a drain at shutdown
 * waits for status writes too.  A failed write is logged and retried.
 */
void ctl_finish(struct ctl *ctl, const struct kobj *obj, const cJSON *status, bool retry,
		uint64_t requeue_ms);

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

/* Subscribe `watcher` to every informer event of `other`. */
typedef void (*ctl_watch_cb)(struct ctl *watcher, enum informer_event ev, struct kobj *obj,
			     struct kobj *old);
void ctl_watch(struct ctl *watcher, struct ctl *other, ctl_watch_cb cb);

#endif
