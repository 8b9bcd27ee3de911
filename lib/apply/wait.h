/*
 * wait.h: wait until a set of objects is healthy (kstatus Current), from
 * watch events — no thread and no polling loop is held while waiting.
 *
 * For `wait: true` and `healthChecks` of a Kustomization.  The objects
 * are grouped by resource and namespace; each group is LISTed once and
 * then WATCHed from the list's resourceVersion, narrowed by a label
 * selector (the owner labels every applied object carries) or, without
 * one, by a field selector per object.  Every event re-assesses the
 * object with health_assess() (health.h).  The wait ends:
 *
 *   - r = 0 as soon as every object is Current;
 *   - r = -EIO at once when an object is Failed (fail fast; Flux's
 *     "failed early due to stalled resources");
 *   - r = -ETIMEDOUT after `timeout_ms`, naming what was not ready and,
 *     for a workload (Deployment, StatefulSet, DaemonSet, ReplicaSet), what
 *     its pods say: a container in CrashLoopBackOff with its last exit
 *     code, an image that cannot be pulled, a pod not scheduled (one pod
 *     list per such workload, at most four, 5 s each; without the right
 *     to list pods the reason is left out);
 *   - r = -ECANCELED after wait_cancel();
 *   - r = -ENOENT when a kind is unknown to the cluster (after asking
 *     discovery again: a CRD applied a moment ago is found).
 *
 * An object that does not exist is InProgress ("NotFound").  Watches that
 * end are resumed from their last resourceVersion; a 410 relists.
 *
 * Async contract as client.h: wait_ready() either fails and never calls
 * `done`, or returns 0 and calls it exactly once on the loop thread.
 */
#ifndef CFLUX_APPLY_WAIT_H
#define CFLUX_APPLY_WAIT_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "kube/client.h"
#include "kube/mapper.h"

struct wait_req;

struct wait_result {
	int r;
	unsigned current, in_progress, failed;
	/*
	 * Flux's words: "timeout waiting for: [Deployment/ns/web status:
	 * 'InProgress']" (then ": pod web-x: container web: CrashLoopBackOff,
	 * last exit code 3 (Error)"), or the failed objects with their kstatus
	 * message.
	 */
	char msg[2048];
};

/*
 * Wait for `objects` (a JSON array of objects or references with
 * apiVersion, kind, metadata.name and, for namespaced kinds,
 * metadata.namespace; borrowed) to be Current.  `label_selector` may be
 * NULL.  Returns 0, or -EINVAL for a malformed entry.
 */
int wait_ready(struct kube_client *c, struct kube_mapper *m, const cJSON *objects,
	       const char *label_selector, uint64_t timeout_ms,
	       void (*done)(const struct wait_result *res, void *payload), void *payload,
	       struct wait_req **ret);

/*
 * Wait for `objects` to be gone (NotFound), as Flux's
 * WaitForSetTermination: `res->current` counts those gone; a timeout
 * names the rest with status 'Terminating'.  Never fails early.
 */
int wait_terminated(struct kube_client *c, struct kube_mapper *m, const cJSON *objects,
		    uint64_t timeout_ms, void (*done)(const struct wait_result *res, void *payload),
		    void *payload, struct wait_req **ret);

/*
 * Take out of `objects` (a wait set, as wait_ready() takes it) those that
 * `known` lists (references, same group, kind, name and namespace): what
 * an apply already saw Current (apply_result.current_refs) needs no watch.
 */
void wait_drop(cJSON *objects, const cJSON *known);

/* Stop waiting; `done` runs with -ECANCELED. */
void wait_cancel(struct wait_req *w);

#endif
