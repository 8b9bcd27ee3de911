/*
 * health.h: is an applied object healthy?  kstatus's rules (the status
 * library Flux's `wait: true` and `healthChecks` use), computed from one
 * object as a watch delivers it — no polling, no worker held.
 *
 *   CURRENT      reconciled and ready
 *   IN_PROGRESS  not there yet (rolling out, not observed, being deleted)
 *   FAILED       will not get there without a change (ProgressDeadline
 *                exceeded, a failed Job, Stalled=True, a crash-looping Pod)
 *
 * Built-in kinds have their own rules (Deployment, StatefulSet, DaemonSet,
 * ReplicaSet, Job, Pod, PersistentVolumeClaim, Service, Namespace,
 * CustomResourceDefinition, APIService); any other object is judged by
 * observedGeneration and its Ready / Reconciling / Stalled conditions, as
 * Flux's own kinds report them, and is Current when it has no status.
 */
#ifndef CFLUX_APPLY_HEALTH_H
#define CFLUX_APPLY_HEALTH_H

#include <cjson/cJSON.h>

enum health {
	HEALTH_CURRENT,
	HEALTH_IN_PROGRESS,
	HEALTH_FAILED,
};

struct health_result {
	enum health status;
	char message[256]; /* why, as kstatus words it ("Deployment is available. Replicas: 1") */
};

/* Judge `obj` (a full object with status). */
void health_assess(const cJSON *obj, struct health_result *ret);

/* "Current", "InProgress", "Failed". */
const char *health_name(enum health h);

#endif
