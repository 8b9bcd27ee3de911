/*
 * conditions.h: status.conditions with Flux's setter rules and kstatus
 * semantics, on a cJSON status object.
 *
 * Every reconciler builds the status it will patch with these, so all
 * kinds agree on the rules users (and `kubectl wait`, `flux`, kstatus)
 * rely on:
 *
 *   - cond_set() stamps the condition's observedGeneration with the
 *     object's generation, and keeps lastTransitionTime unless status,
 *     reason or message changed (RFC 3339, seconds, UTC);
 *   - messages are cut to COND_MESSAGE_MAX bytes, ending "...", on a
 *     UTF-8 boundary;
 *   - Reconciling and Stalled are "abnormal-true": present only while
 *     True; marking one deletes the other;
 *   - conditions are sorted Stalled, Reconciling, Ready, then the rest by
 *     higher observedGeneration first, then by type (cond_sort(), which
 *     cond_set() calls).
 *
 * Ownership: `status` is the caller's; conditions live in its
 * "conditions" array, created when missing.  Strings are copied.
 * Threading: none (pure data).
 */
#ifndef CFLUX_OPERATOR_CONDITIONS_H
#define CFLUX_OPERATOR_CONDITIONS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#define COND_MESSAGE_MAX 32768

/* Condition types (Flux's meta package). */
#define COND_READY "Ready"
#define COND_RECONCILING "Reconciling"
#define COND_STALLED "Stalled"
#define COND_HEALTHY "Healthy"
/* cflux's own: detect-only objects that differ from the revision (ctl_kustomization.c). */
#define COND_DRIFTED "Drifted"
/* cflux's own: no successful reconcile for --stale-threshold intervals (manager.h). */
#define COND_STALE "Stale"
/* The annotation that makes an object, or a Kustomization's every object, detect-only. */
#define DRIFT_ANNOTATION "cflux.io/drift"

/*
 * Set condition `type` to `cstatus` ("True", "False", "Unknown") with
 * `reason` and `message` (printf-free: pass the final text) at object
 * generation `gen`.  `now_ns` is the transition time used when one is
 * due (time_now_ns() in production; fixed in tests).
 */
void cond_set(cJSON *status, const char *type, const char *cstatus, const char *reason,
	      const char *message, long gen, int64_t now_ns);

/* Remove condition `type` if present. */
void cond_delete(cJSON *status, const char *type);

/* The condition object of `type`, or NULL.  Borrowed from `status`. */
const cJSON *cond_get(const cJSON *status, const char *type);

/* True if condition `type` exists with status "True". */
bool cond_is_true(const cJSON *status, const char *type);

/* An object's status: Ready=True and observedGeneration == `generation` (a dependency met). */
bool cond_ready_current(const cJSON *obj, long generation);

/* Reconciling=True (deletes Stalled). */
void cond_mark_reconciling(cJSON *status, const char *reason, const char *message, long gen,
			   int64_t now_ns);

/* Stalled=True (deletes Reconciling). */
void cond_mark_stalled(cJSON *status, const char *reason, const char *message, long gen,
		       int64_t now_ns);

/* Sort the conditions as Flux does (see the top of this file). */
void cond_sort(cJSON *status);

/* status.history keeps at most this many snapshots (Flux's HistoryMaxSize). */
#define HISTORY_MAX 5

/*
 * Flux 2.7's status.history (fluxcd/pkg's History.Upsert): the snapshot
 * of `digest` with `outcome` (a reason: ReconciliationSucceeded,
 * HealthCheckFailed, ...) gets lastReconciled `now_ns`, its duration
 * `took_ns`, one more totalReconciliations and a copy of `metadata` (an
 * object of strings, or NULL), and moves to the front; if there is none,
 * a new one is put there.  Most recent first, HISTORY_MAX kept.
 */
void history_upsert(cJSON *status, const char *digest, int64_t now_ns, int64_t took_ns,
		    const char *outcome, const cJSON *metadata);

#endif
