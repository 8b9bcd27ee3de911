/*
 * hooks.h: Helm's chart hooks, run as Helm's execHook runs them, for the
 * HelmRelease reconciler's install, upgrade, rollback and uninstall.
 *
 * hooks_exec() takes the release record (its "hooks", as lib/helm's
 * helm_release_new() writes them) and one event ("pre-install", ...).
 * The hooks of that event, ordered by weight then name (the record keeps
 * Helm's kind order, and the sort is stable), each in turn:
 *
 *   1. no deletion policy means before-hook-creation; under that policy
 *      the object is deleted (background propagation) and waited for
 *      until it is gone; CustomResourceDefinitions are never deleted;
 *   2. the object is created (POST, as Helm's Create: an object still
 *      there is "already exists"), in the release namespace unless the
 *      manifest names one; last_run gets started_at and phase Running;
 *   3. a Job is waited on until Complete ("job <name> failed: <reason>"
 *      when Failed), a Pod until Succeeded ("pod <name> failed"); any
 *      other kind is done once created; the timeout bounds each hook's
 *      waits, as Helm's ("timed out waiting for the condition");
 *   4. last_run gets completed_at and phase Succeeded or Failed.
 *
 * On a failure the hook's hook-failed policy and the earlier hooks'
 * hook-succeeded policy delete what they name, and `done` gets Helm's
 * text for the error (multierror's "1 error occurred:\n\t* ...\n\n" for
 * a wait, "warning: Hook <event> <path> failed: ..." for a create).
 * After all succeed, hook-succeeded deletes, last hook first.  The
 * caller wraps the text as its action does ("failed pre-install: %s").
 *
 * Threading: the loop thread.  The record is modified in place and must
 * outlive the run; `done` is called exactly once, never before
 * hooks_exec() returns 0.
 */
#ifndef CFLUX_OPERATOR_HOOKS_H
#define CFLUX_OPERATOR_HOOKS_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "kube/client.h"
#include "kube/mapper.h"

struct hooks_opts {
	struct kube_client *c;
	struct kube_mapper *m;
	cJSON *rel;         /* the release record, its hooks' last_run updated */
	const char *event;  /* "pre-install", "post-upgrade", "pre-delete", ... */
	const char *ns;     /* the release namespace */
	uint64_t timeout_ms;
};

/* `msg` is NULL on success. */
typedef void (*hooks_cb)(int r, const char *msg, void *payload);

/* Whether `rel` has a hook for `event`. */
bool hooks_any(const cJSON *rel, const char *event);

/* Run the hooks of o->event; 0, or -EINVAL for bad options (done not called). */
int hooks_exec(const struct hooks_opts *o, hooks_cb done, void *payload);

#endif
