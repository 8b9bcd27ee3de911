/*
 * health.c: kstatus-style health (see health.h).
 *
 * DESIGN
 * health_assess() first applies the rules every object shares (being
 * deleted; status.observedGeneration behind metadata.generation), then a
 * per-kind function if there is one, else the generic condition rules.
 * Each rule sets the result and returns; the first one that speaks wins.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "apply/health.h"
#include "base/macro.h"
#include "base/str.h"
#include "yj/yj.h"
#include "base/banned.h"

static void set(struct health_result *r, enum health h, const char *fmt, ...) _printf_(3, 4);

static void set(struct health_result *r, enum health h, const char *fmt, ...)
{
	va_list ap;

	r->status = h;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
}

const char *health_name(enum health h)
{
	return h == HEALTH_CURRENT ? "Current" : h == HEALTH_FAILED ? "Failed" : "InProgress";
}

static const cJSON *get(const cJSON *o, const char *a, const char *b)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);

	return b ? cJSON_GetObjectItemCaseSensitive(x, b) : x;
}

static long num(const cJSON *o, const char *a, const char *b, long dflt)
{
	const cJSON *x = get(o, a, b);

	return cJSON_IsNumber(x) ? (long)yj_to_int64(x->valuedouble) : dflt;
}

static const char *str(const cJSON *o, const char *a, const char *b)
{
	const cJSON *x = get(o, a, b);

	return cJSON_IsString(x) ? x->valuestring : NULL;
}

/* The condition of `type` in status.conditions, or NULL. */
static const cJSON *cond(const cJSON *o, const char *type)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, get(o, "status", "conditions"))
	{
		const char *t = str(c, "type", NULL);

		if (t && streq(t, type))
			return c;
	}
	return NULL;
}

static bool cond_is(const cJSON *o, const char *type, const char *status)
{
	const cJSON *c = cond(o, type);
	const char *s = c ? str(c, "status", NULL) : NULL;

	return s && streq(s, status);
}

static const char *cond_msg(const cJSON *o, const char *type)
{
	const cJSON *c = cond(o, type);
	const char *m = c ? str(c, "message", NULL) : NULL;

	return m ? m : "";
}

/* kstatus's deploymentConditions, rule for rule and in its order. */
static void deployment(const cJSON *o, struct health_result *r)
{
	long want = num(o, "spec", "replicas", 1), updated = num(o, "status", "updatedReplicas", 0);
	long total = num(o, "status", "replicas", 0), avail = num(o, "status", "availableReplicas", 0);
	long ready = num(o, "status", "readyReplicas", 0);
	const cJSON *prog = cond(o, "Progressing");
	/* Without a deadline the controller sets no Progressing: always progressing. */
	bool progressing = num(o, "spec", "progressDeadlineSeconds", 2147483647) == 2147483647;

	if (prog && str(prog, "reason", NULL) && streq(str(prog, "reason", NULL), "ProgressDeadlineExceeded"))
		return set(r, HEALTH_FAILED, "Progress deadline exceeded");
	if (prog && streq_ptr(str(prog, "status", NULL), "True") &&
	    streq_ptr(str(prog, "reason", NULL), "NewReplicaSetAvailable"))
		progressing = true;
	if (want > total)
		return set(r, HEALTH_IN_PROGRESS, "Replicas: %ld/%ld", total, want);
	if (want > updated)
		return set(r, HEALTH_IN_PROGRESS, "Updated: %ld/%ld", updated, want);
	if (total > want)
		return set(r, HEALTH_IN_PROGRESS, "Pending termination: %ld", total - want);
	if (updated > avail)
		return set(r, HEALTH_IN_PROGRESS, "Available: %ld/%ld", avail, updated);
	if (want > ready)
		return set(r, HEALTH_IN_PROGRESS, "Ready: %ld/%ld", ready, want);
	if (!progressing)
		return set(r, HEALTH_IN_PROGRESS, "ReplicaSet not Available");
	if (!cond_is(o, "Available", "True"))
		return set(r, HEALTH_IN_PROGRESS, "Deployment not Available");
	set(r, HEALTH_CURRENT, "Deployment is available. Replicas: %ld", total);
}

/* kstatus's stsConditions, rule for rule and in its order. */
static void statefulset(const cJSON *o, struct health_result *r)
{
	long want = num(o, "spec", "replicas", 1), ready = num(o, "status", "readyReplicas", 0);
	long current = num(o, "status", "currentReplicas", 0), total = num(o, "status", "replicas", 0);
	long updated = num(o, "status", "updatedReplicas", 0);
	const cJSON *us = get(o, "spec", "updateStrategy");
	long partition = num(us, "rollingUpdate", "partition", -1);
	const char *strategy = str(us, "type", NULL);
	const char *cur = str(o, "status", "currentRevision"), *upd = str(o, "status", "updateRevision");

	if (strategy && streq(strategy, "OnDelete"))
		return set(r, HEALTH_CURRENT, "StatefulSet is using the ondelete update strategy");
	if (want > total)
		return set(r, HEALTH_IN_PROGRESS, "Replicas: %ld/%ld", total, want);
	if (want > ready)
		return set(r, HEALTH_IN_PROGRESS, "Ready: %ld/%ld", ready, want);
	if (total > want)
		return set(r, HEALTH_IN_PROGRESS, "Pending termination: %ld", total - want);
	if (partition != -1) {
		if (updated < want - partition)
			return set(r, HEALTH_IN_PROGRESS, "updated: %ld/%ld", updated, want - partition);
		return set(r, HEALTH_CURRENT, "Partition rollout complete. updated: %ld", updated);
	}
	if (want > current)
		return set(r, HEALTH_IN_PROGRESS, "current: %ld/%ld", current, want);
	if (!streq(cur ? cur : "", upd ? upd : ""))
		return set(r, HEALTH_IN_PROGRESS, "Waiting for updated revision to match current");
	set(r, HEALTH_CURRENT, "All replicas scheduled as expected. Replicas: %ld", total);
}

/* kstatus's daemonsetConditions: its generation fields must be set. */
static void daemonset(const cJSON *o, struct health_result *r)
{
	long desired = num(o, "status", "desiredNumberScheduled", -1);
	long scheduled = num(o, "status", "currentNumberScheduled", 0);
	long updated = num(o, "status", "updatedNumberScheduled", 0);
	long avail = num(o, "status", "numberAvailable", 0), ready = num(o, "status", "numberReady", 0);

	if (!cJSON_IsNumber(get(o, "metadata", "generation")))
		return set(r, HEALTH_IN_PROGRESS, "DaemonSet metadata.generation not found");
	if (!cJSON_IsNumber(get(o, "status", "observedGeneration")))
		return set(r, HEALTH_IN_PROGRESS, "DaemonSet status.observedGeneration not found");
	if (desired < 0)
		return set(r, HEALTH_IN_PROGRESS, "Missing .status.desiredNumberScheduled");
	if (scheduled < desired)
		return set(r, HEALTH_IN_PROGRESS, "Current: %ld/%ld", scheduled, desired);
	if (updated < desired)
		return set(r, HEALTH_IN_PROGRESS, "Updated: %ld/%ld", updated, desired);
	if (avail < desired)
		return set(r, HEALTH_IN_PROGRESS, "Available: %ld/%ld", avail, desired);
	if (ready < desired)
		return set(r, HEALTH_IN_PROGRESS, "Ready: %ld/%ld", ready, desired);
	set(r, HEALTH_CURRENT, "All replicas scheduled as expected. Replicas: %ld", desired);
}

static void replicaset(const cJSON *o, struct health_result *r)
{
	long want = num(o, "spec", "replicas", 1), ready = num(o, "status", "readyReplicas", 0);
	long avail = num(o, "status", "availableReplicas", 0);
	long labeled = num(o, "status", "fullyLabeledReplicas", 0);

	if (cond_is(o, "ReplicaFailure", "True"))
		return set(r, HEALTH_IN_PROGRESS, "Replica failure: %s", cond_msg(o, "ReplicaFailure"));
	if (labeled < want)
		return set(r, HEALTH_IN_PROGRESS, "Labelled: %ld/%ld", labeled, want);
	if (avail < want)
		return set(r, HEALTH_IN_PROGRESS, "Available: %ld/%ld", avail, want);
	if (ready < want)
		return set(r, HEALTH_IN_PROGRESS, "Ready: %ld/%ld", ready, want);
	set(r, HEALTH_CURRENT, "ReplicaSet is available. Replicas: %ld", want);
}

static void job(const cJSON *o, struct health_result *r)
{
	if (cond_is(o, "Failed", "True"))
		return set(r, HEALTH_FAILED, "Job Failed. failed: %ld/%ld", num(o, "status", "failed", 0),
			   num(o, "spec", "completions", 1));
	if (cond_is(o, "Complete", "True"))
		return set(r, HEALTH_CURRENT, "Job Completed. succeeded: %ld/%ld",
			   num(o, "status", "succeeded", 0), num(o, "spec", "completions", 1));
	set(r, HEALTH_IN_PROGRESS, "Job in progress. success: %ld, active: %ld, failed: %ld",
	    num(o, "status", "succeeded", 0), num(o, "status", "active", 0),
	    num(o, "status", "failed", 0));
}

static void pod(const cJSON *o, struct health_result *r)
{
	const char *phase = str(o, "status", "phase");
	const cJSON *cs;

	if (phase && streq(phase, "Succeeded"))
		return set(r, HEALTH_CURRENT, "Pod has completed successfully");
	if (phase && streq(phase, "Failed"))
		return set(r, HEALTH_FAILED, "Pod has completed, but not successfully");
	cJSON_ArrayForEach(cs, get(o, "status", "containerStatuses"))
	{
		const char *why = str(get(cs, "state", "waiting"), "reason", NULL);

		if (why && (streq(why, "CrashLoopBackOff") || streq(why, "ImagePullBackOff") ||
			    streq(why, "ErrImagePull") || streq(why, "CreateContainerConfigError")))
			return set(r, HEALTH_FAILED, "Pod container '%s' is in %s",
				   str(cs, "name", NULL) ? str(cs, "name", NULL) : "?", why);
	}
	if (phase && streq(phase, "Running") && cond_is(o, "Ready", "True"))
		return set(r, HEALTH_CURRENT, "Pod is Ready");
	set(r, HEALTH_IN_PROGRESS, "Pod phase %s", phase ? phase : "unknown");
}

static bool generic(const cJSON *o, struct health_result *r)
{
	if (cond_is(o, "Stalled", "True"))
		return set(r, HEALTH_FAILED, "%s", cond_msg(o, "Stalled")), true;
	if (cond_is(o, "Reconciling", "True"))
		return set(r, HEALTH_IN_PROGRESS, "%s", cond_msg(o, "Reconciling")), true;
	if (cond(o, "Ready")) {
		if (cond_is(o, "Ready", "True"))
			return set(r, HEALTH_CURRENT, "%s", cond_msg(o, "Ready")), true;
		return set(r, HEALTH_IN_PROGRESS, "%s", cond_msg(o, "Ready")), true;
	}
	return false;
}

void health_assess(const cJSON *o, struct health_result *r)
{
	const char *kind = str(o, "kind", NULL), *group = str(o, "apiVersion", NULL);
	long gen = num(o, "metadata", "generation", -1);
	long observed = num(o, "status", "observedGeneration", -1);

	memset(r, 0, sizeof(*r));
	kind = kind ? kind : "";
	group = group ? group : "";
	if (str(o, "metadata", "deletionTimestamp"))
		return set(r, HEALTH_IN_PROGRESS, "Resource scheduled for deletion");
	if (gen >= 0 && cJSON_IsNumber(get(o, "status", "observedGeneration")) && observed < gen)
		return set(r, HEALTH_IN_PROGRESS, "%s generation is %ld, but latest observed generation "
			   "is %ld", kind, gen, observed);
	if (str_startswith(group, "apps/") && streq(kind, "Deployment"))
		return deployment(o, r);
	if (str_startswith(group, "apps/") && streq(kind, "StatefulSet"))
		return statefulset(o, r);
	if (str_startswith(group, "apps/") && streq(kind, "DaemonSet"))
		return daemonset(o, r);
	if (str_startswith(group, "apps/") && streq(kind, "ReplicaSet"))
		return replicaset(o, r);
	if (str_startswith(group, "batch/") && streq(kind, "Job"))
		return job(o, r);
	if (streq(group, "v1") && streq(kind, "Pod"))
		return pod(o, r);
	if (streq(group, "v1") && streq(kind, "PersistentVolumeClaim")) {
		const char *phase = str(o, "status", "phase");

		if (phase && streq(phase, "Bound"))
			return set(r, HEALTH_CURRENT, "PVC is Bound");
		return set(r, HEALTH_IN_PROGRESS, "PVC is not Bound. phase: %s", phase ? phase : "");
	}
	if (streq(group, "v1") && streq(kind, "Service")) {
		const char *type = str(o, "spec", "type");

		if (type && streq(type, "LoadBalancer") &&
		    cJSON_GetArraySize(get(get(o, "status", "loadBalancer"), "ingress", NULL)) == 0)
			return set(r, HEALTH_IN_PROGRESS, "Waiting for the load balancer's address");
		return set(r, HEALTH_CURRENT, "Service is ready");
	}
	if (streq(group, "v1") && streq(kind, "Namespace")) {
		const char *phase = str(o, "status", "phase");

		if (phase && streq(phase, "Terminating"))
			return set(r, HEALTH_IN_PROGRESS, "Namespace is terminating");
		return set(r, HEALTH_CURRENT, "Namespace is active");
	}
	if (str_startswith(group, "apiextensions.k8s.io/") && streq(kind, "CustomResourceDefinition")) {
		if (cond_is(o, "NamesAccepted", "False"))
			return set(r, HEALTH_FAILED, "CRD names not accepted: %s",
				   cond_msg(o, "NamesAccepted"));
		if (cond_is(o, "Established", "True"))
			return set(r, HEALTH_CURRENT, "CRD is established");
		return set(r, HEALTH_IN_PROGRESS, "CRD is not established yet");
	}
	if (str_startswith(group, "apiregistration.k8s.io/") && streq(kind, "APIService")) {
		if (cond_is(o, "Available", "True"))
			return set(r, HEALTH_CURRENT, "APIService is available");
		return set(r, HEALTH_IN_PROGRESS, "APIService is not available: %s",
			   cond_msg(o, "Available"));
	}
	if (generic(o, r))
		return;
	set(r, HEALTH_CURRENT, "Resource is current");
}
