/*
 * hooks.c: Helm's chart hooks (see hooks.h).
 *
 * DESIGN
 * One run is a chain of callbacks over the hooks of one event, one hook
 * at a time, as Helm's execHook: `load` reads a hook's manifest and
 * resolves its kind, then a step runs with a continuation (`then`) for
 * when it is done.  Waiting (for a deleted object to go, for a Job or Pod
 * to finish) is a GET every POLL_MS on a timer, bounded by the event's
 * deadline: hooks are few and short, so a watch per hook would buy
 * nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/str.h"
#include "base/time.h"
#include "hooks.h"
#include "yj/yj.h"
#include "base/banned.h"

#define POLL_MS 500
#define TIMED_OUT "timed out waiting for the condition"

struct hrun {
	struct kube_client *c;
	struct kube_mapper *m;
	cJSON *rel;
	char *event, *ns;
	uint64_t timeout_ms;
	uint64_t deadline; /* loop time: the hook at hand's (Helm's timeout is per hook) */
	hooks_cb done;
	void *payload;

	cJSON **hooks; /* borrowed from rel, in execution order */
	size_t n, i;   /* i: the hook being run */
	size_t k;      /* cleanup: the hook being deleted */
	bool failed;   /* cleanup after a failure */

	/* the hook at hand */
	cJSON *obj;
	char *group, *version, *resource, *name, *objns;
	void (*then)(struct hrun *r);
	uv_timer_t *timer;
	void (*poll)(struct hrun *r);

	int r;
	char *msg;      /* the error at hand */
	char *fail_msg; /* the hook's failure, kept through its cleanup */
};

static bool has_policy(const cJSON *h, const char *policy)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, yj_get(h, "/delete_policies"))
		if (streq_ptr(cJSON_GetStringValue(p), policy))
			return true;
	return false;
}

static bool for_event(const cJSON *h, const char *event)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, yj_get(h, "/events"))
		if (streq_ptr(cJSON_GetStringValue(e), event))
			return true;
	return false;
}

bool hooks_any(const cJSON *rel, const char *event)
{
	const cJSON *h;

	cJSON_ArrayForEach(h, yj_get(rel, "/hooks"))
		if (for_event(h, event))
			return true;
	return false;
}

static int weight(const cJSON *h)
{
	const cJSON *w = yj_get(h, "/weight");

	return cJSON_IsNumber(w) ? yj_to_int(w->valuedouble) : 0; /* omitted when 0 */
}

static const char *hook_str(const cJSON *h, const char *key)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(h, key));

	return s ? s : "";
}

static void set_last_run(cJSON *h, const char *key, const char *val)
{
	cJSON *lr = cJSON_GetObjectItemCaseSensitive(h, "last_run");

	if (!lr)
		lr = cJSON_AddObjectToObject(h, "last_run");
	cJSON_DeleteItemFromObjectCaseSensitive(lr, key);
	cJSON_AddStringToObject(lr, key, val);
}

static void stamp(cJSON *h, const char *key)
{
	char t[RFC3339_MAX];

	time_format_rfc3339_nano(time_now_ns(), t);
	set_last_run(h, key, t);
}

static void hook_clear(struct hrun *r)
{
	cJSON_Delete(r->obj);
	r->obj = NULL;
	free(r->group);
	free(r->version);
	free(r->resource);
	free(r->name);
	free(r->objns);
	r->group = r->version = r->resource = r->name = r->objns = NULL;
}

static void run_free(struct hrun *r)
{
	hook_clear(r);
	free(r->hooks);
	free(r->event);
	free(r->ns);
	free(r->msg);
	free(r->fail_msg);
	free(r);
}

static void finish(struct hrun *r)
{
	hooks_cb done = r->done;
	void *payload = r->payload;
	int rv = r->failed ? -EIO : r->r;
	char *msg = r->failed ? r->fail_msg : r->msg;

	if (r->failed)
		r->fail_msg = NULL;
	else
		r->msg = NULL;
	run_free(r);
	done(rv, rv < 0 ? (msg ? msg : "hook failed") : NULL, payload);
	free(msg);
}

static struct kube_ref ref_of(const struct hrun *r)
{
	struct kube_ref ref = { .group = r->group, .version = r->version, .resource = r->resource,
				.ns = r->objns, .name = r->name };

	return ref;
}

static uv_loop_t *loop_of(const struct hrun *r)
{
	return kube_client_loop(r->c);
}

static bool past_deadline(const struct hrun *r)
{
	return uv_now(loop_of(r)) >= r->deadline;
}

static void timer_closed(uv_handle_t *h)
{
	free(h);
}

static void poll_fire(uv_timer_t *t)
{
	struct hrun *r = t->data;

	uv_close((uv_handle_t *)t, timer_closed);
	r->timer = NULL;
	r->poll(r);
}

/* Call r->poll after POLL_MS (or at once). */
static void poll_later(struct hrun *r, uint64_t ms)
{
	r->timer = xmalloc(sizeof(*r->timer));
	uv_timer_init(loop_of(r), r->timer);
	r->timer->data = r;
	uv_timer_start(r->timer, poll_fire, ms, 0);
}

/* Helm's multierror text for one error. */
static char *multierror(const char *msg)
{
	return xasprintf("1 error occurred:\n\t* %s\n\n", msg);
}

static const char *err_text(int rv, const struct op_err *err)
{
	return err && err->msg[0] ? err->msg : op_strerror(rv);
}

/* ---- loading a hook: its object and where it lives ---- */

static void loaded(int rv, const struct kube_mapping *mp, const struct op_err *err, void *p);

/* Parse hook `h`'s manifest and resolve its kind, then r->then (r->r < 0 on failure). */
static void load(struct hrun *r, const cJSON *h, void (*then)(struct hrun *r))
{
	const char *m = hook_str(h, "manifest");
	struct op_err err = OP_ERR_INIT;
	struct yj_stream s = { 0 };
	const char *av;

	hook_clear(r);
	r->then = then;
	if (yj_parse_stream(m, strlen(m), NULL, &s, &err) < 0 || s.n < 1) {
		r->r = -EINVAL;
		free(r->msg);
		r->msg = xasprintf("unable to build kubernetes object for %s hook %s: %s", r->event,
				   hook_str(h, "path"), err.msg[0] ? err.msg : "empty manifest");
		yj_stream_release(&s);
		then(r);
		return;
	}
	r->obj = s.docs[0];
	s.docs[0] = NULL;
	yj_stream_release(&s);
	av = yj_get_str(r->obj, "/apiVersion");
	r->name = xstrdup(strempty(yj_get_str(r->obj, "/metadata/name")));
	if (mapper_resolve(r->m, strempty(av), strempty(yj_get_str(r->obj, "/kind")), loaded, r) < 0) {
		r->r = -EIO;
		free(r->msg);
		r->msg = xstrdup("cannot resolve the hook's kind");
		then(r);
	}
}

static void loaded(int rv, const struct kube_mapping *mp, const struct op_err *err, void *p)
{
	struct hrun *r = p;

	if (rv < 0) {
		r->r = rv;
		free(r->msg);
		r->msg = xasprintf("unable to build kubernetes object for %s hook: %s", r->event,
				   err_text(rv, err));
		r->then(r);
		return;
	}
	r->group = xstrdup(mp->group ? mp->group : "");
	r->version = xstrdup(mp->version);
	r->resource = xstrdup(mp->resource);
	if (mp->namespaced) {
		const char *ns = yj_get_str(r->obj, "/metadata/namespace");

		r->objns = xstrdup(ns && *ns ? ns : r->ns);
		if (!ns || !*ns)
			cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(r->obj, "metadata"),
						"namespace", r->ns);
	} else {
		cJSON_DeleteItemFromObjectCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(r->obj, "metadata"), "namespace");
	}
	r->r = 0;
	r->then(r);
}

/* ---- deleting a hook's object and waiting until it is gone ---- */

static void gone_got(int rv, const cJSON *obj, const struct op_err *err, void *p)
{
	struct hrun *r = p;

	(void)obj;
	if (rv == -ENOENT) {
		r->r = 0;
		r->then(r);
		return;
	}
	if (past_deadline(r)) {
		r->r = -ETIMEDOUT;
		free(r->msg);
		r->msg = xstrdup(TIMED_OUT);
		r->then(r);
		return;
	}
	(void)err;
	poll_later(r, POLL_MS);
}

static void gone_poll(struct hrun *r)
{
	struct kube_ref ref = ref_of(r);

	if (kube_get(r->c, &ref, NULL, gone_got, r) < 0)
		gone_got(-EIO, NULL, NULL, r);
}

static void deleted(int rv, const cJSON *obj, const struct op_err *err, void *p)
{
	struct hrun *r = p;

	(void)obj;
	if (rv < 0 && rv != -ENOENT) {
		r->r = rv;
		free(r->msg);
		r->msg = xstrdup(err_text(rv, err));
		r->then(r);
		return;
	}
	r->poll = gone_poll;
	gone_poll(r);
}

/* Delete the loaded hook's object and wait until it is gone, then `then`. */
static void delete_loaded(struct hrun *r, void (*then)(struct hrun *r))
{
	struct kube_ref ref = ref_of(r);
	struct kube_opts o = KUBE_OPTS_INIT;

	r->then = then;
	o.propagation = "Background";
	if (kube_delete(r->c, &ref, &o, deleted, r) < 0)
		deleted(-EIO, NULL, NULL, r);
}

/* ---- the cleanup by policy, after the hooks ran ---- */

static void clean_next(struct hrun *r);

static void clean_done_one(struct hrun *r)
{
	if (r->r < 0 && !r->failed) {
		/* As Helm: a failed hook-succeeded deletion fails the event. */
		finish(r);
		return;
	}
	r->r = 0;
	clean_next(r);
}

static void clean_loaded(struct hrun *r)
{
	if (r->r < 0) {
		clean_done_one(r);
		return;
	}
	delete_loaded(r, clean_done_one);
}

/* Delete, last first, the hooks [0, k) whose hook-succeeded policy says so. */
static void clean_next(struct hrun *r)
{
	while (r->k > 0) {
		const cJSON *h = r->hooks[--r->k];

		if (streq(hook_str(h, "kind"), "CustomResourceDefinition") ||
		    !has_policy(h, "hook-succeeded"))
			continue;
		r->deadline = uv_now(loop_of(r)) + r->timeout_ms;
		load(r, h, clean_loaded);
		return;
	}
	finish(r);
}

/* ---- running one hook ---- */

static void next_hook(struct hrun *r);

static void hook_failed_cleaned(struct hrun *r)
{
	/* The hook-failed deletion's own error is only Helm's log line. */
	r->failed = true;
	r->k = r->i;
	clean_next(r);
}

/* The hook at r->i failed while it ran: its hook-failed policy, then the earlier hooks'. */
static void run_failed(struct hrun *r, const char *what)
{
	cJSON *h = r->hooks[r->i];

	stamp(h, "completed_at");
	set_last_run(h, "phase", "Failed");
	free(r->fail_msg);
	r->fail_msg = multierror(what);
	r->failed = true;
	if (!streq(hook_str(h, "kind"), "CustomResourceDefinition") &&
	    has_policy(h, "hook-failed")) {
		delete_loaded(r, hook_failed_cleaned);
		return;
	}
	hook_failed_cleaned(r);
}

static void run_succeeded(struct hrun *r)
{
	cJSON *h = r->hooks[r->i];

	stamp(h, "completed_at");
	set_last_run(h, "phase", "Succeeded");
	r->i++;
	next_hook(r);
}

static bool cond_true(const cJSON *obj, const char *type, const char **reason)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, yj_get(obj, "/status/conditions"))
	{
		if (streq_ptr(yj_get_str(c, "/type"), type) &&
		    streq_ptr(yj_get_str(c, "/status"), "True")) {
			*reason = strempty(yj_get_str(c, "/reason"));
			return true;
		}
	}
	return false;
}

static void watch_got(int rv, const cJSON *obj, const struct op_err *err, void *p)
{
	struct hrun *r = p;
	const char *kind = hook_str(r->hooks[r->i], "kind"), *reason;
	char *why;

	(void)err;
	if (rv == 0 && streq(kind, "Job")) {
		if (cond_true(obj, "Complete", &reason)) {
			run_succeeded(r);
			return;
		}
		if (cond_true(obj, "Failed", &reason)) {
			why = xasprintf("job %s failed: %s", r->name, reason);
			run_failed(r, why);
			free(why);
			return;
		}
	} else if (rv == 0) {
		const char *phase = strempty(yj_get_str(obj, "/status/phase"));

		if (streq(phase, "Succeeded")) {
			run_succeeded(r);
			return;
		}
		if (streq(phase, "Failed")) {
			why = xasprintf("pod %s failed", r->name);
			run_failed(r, why);
			free(why);
			return;
		}
	}
	if (past_deadline(r)) {
		run_failed(r, TIMED_OUT);
		return;
	}
	poll_later(r, POLL_MS);
}

static void watch_poll(struct hrun *r)
{
	struct kube_ref ref = ref_of(r);

	if (kube_get(r->c, &ref, NULL, watch_got, r) < 0)
		watch_got(-EIO, NULL, NULL, r);
}

static void created(int rv, const cJSON *obj, const struct op_err *err, void *p)
{
	struct hrun *r = p;
	cJSON *h = r->hooks[r->i];
	const char *kind = hook_str(h, "kind");

	(void)obj;
	/* Helm sets Unknown before it creates, then Succeeded or Failed. */
	set_last_run(h, "phase", "Unknown");
	if (rv < 0) {
		char *me = multierror(err_text(rv, err));

		stamp(h, "completed_at");
		set_last_run(h, "phase", "Failed");
		r->r = rv;
		free(r->msg);
		r->msg = xasprintf("warning: Hook %s %s failed: %s", r->event, hook_str(h, "path"),
				   me);
		free(me);
		finish(r);
		return;
	}
	if (!streq(kind, "Job") && !streq(kind, "Pod")) {
		run_succeeded(r);
		return;
	}
	r->poll = watch_poll;
	watch_poll(r);
}

static void create_hook(struct hrun *r)
{
	struct kube_ref ref = ref_of(r);
	struct kube_opts o = KUBE_OPTS_INIT;
	cJSON *h = r->hooks[r->i];

	if (r->r < 0) {
		finish(r);
		return;
	}
	ref.name = NULL;
	stamp(h, "started_at");
	set_last_run(h, "completed_at", "");
	set_last_run(h, "phase", "Running");
	o.field_manager = "helm-controller";
	if (kube_create(r->c, &ref, r->obj, &o, created, r) < 0)
		created(-EIO, NULL, NULL, r);
}

static void hook_loaded(struct hrun *r)
{
	const cJSON *h = r->hooks[r->i];

	if (r->r < 0) {
		finish(r);
		return;
	}
	if (!streq(hook_str(h, "kind"), "CustomResourceDefinition") &&
	    has_policy(h, "before-hook-creation")) {
		delete_loaded(r, create_hook);
		return;
	}
	create_hook(r);
}

static void next_hook(struct hrun *r)
{
	cJSON *h;

	if (r->i == r->n) {
		r->k = r->n;
		r->failed = false;
		clean_next(r);
		return;
	}
	h = r->hooks[r->i];
	r->deadline = uv_now(loop_of(r)) + r->timeout_ms;
	/* As Helm: no policy means before-hook-creation, and the record says so. */
	if (cJSON_GetArraySize(yj_get(h, "/delete_policies")) == 0) {
		cJSON *p = cJSON_CreateArray();

		cJSON_AddItemToArray(p, cJSON_CreateString("before-hook-creation"));
		cJSON_DeleteItemFromObjectCaseSensitive(h, "delete_policies");
		cJSON_AddItemToObject(h, "delete_policies", p);
	}
	load(r, h, hook_loaded);
}

static int by_weight(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	int c;

	if (weight(x) != weight(y))
		return weight(x) < weight(y) ? -1 : 1;
	c = strcmp(hook_str(x, "name"), hook_str(y, "name"));
	return c;
}

/* A stable sort (insertion: hooks are few) by weight, then name. */
static void sort_hooks(cJSON **v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		cJSON *x = v[i];
		size_t j = i;

		while (j > 0 && by_weight(&v[j - 1], &x) > 0) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
}

int hooks_exec(const struct hooks_opts *o, hooks_cb done, void *payload)
{
	struct hrun *r;
	cJSON *h;

	if (!o || !o->c || !o->m || !o->rel || !o->event || !o->ns || !done)
		return -EINVAL;
	r = xcalloc(1, sizeof(*r));
	r->c = o->c;
	r->m = o->m;
	r->rel = o->rel;
	r->event = xstrdup(o->event);
	r->ns = xstrdup(o->ns);
	r->timeout_ms = o->timeout_ms ? o->timeout_ms : 300000;
	r->done = done;
	r->payload = payload;
	cJSON_ArrayForEach(h, yj_get(o->rel, "/hooks"))
	{
		if (!for_event(h, o->event))
			continue;
		r->hooks = xrealloc(r->hooks, (r->n + 1) * sizeof(*r->hooks));
		r->hooks[r->n++] = h;
	}
	sort_hooks(r->hooks, r->n);
	/* From the loop, so that `done` never runs before this returns. */
	r->poll = next_hook;
	poll_later(r, 0);
	return 0;
}
