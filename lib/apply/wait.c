/*
 * wait.c: health waits from watch events (see wait.h).
 *
 * DESIGN
 * A struct wait_req owns the objects (struct wobj) and their groups
 * (struct wgroup: one LIST+WATCH each).  Everything runs on the loop.
 * Once the outcome is known, finish() reports it, stops the timer and
 * every watch; the request is freed when the last callback of a request
 * in flight has come back (`inflight`) and the timer handle has closed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply/health.h"
#include "apply/wait.h"
#include "base/alloc.h"
#include "base/buf.h"
#include "base/str.h"
#include "yj/yj.h"
#include "base/banned.h"

#define WATCH_TIMEOUT_S 600

struct wgroup;

struct wobj {
	char *kind, *ns, *name;
	enum health st;
	bool found;
	char msg[256];
	struct wgroup *g;
	char *pod_selector; /* a workload's spec.selector.matchLabels, as a label selector */
	char why[384];      /* at a timeout: what its pods say (CrashLoopBackOff, ...) */
};

struct wgroup {
	struct wait_req *w;
	char *group, *version, *resource, *ns; /* ns NULL: cluster-scoped */
	char *label_selector, *field_selector;
	char *rv;
	struct kube_watch *watch;
};

struct wait_req {
	struct kube_client *c;
	struct kube_mapper *m;
	cJSON *pending;       /* the objects asked for, until setup() */
	char *label_selector;
	unsigned resolving;   /* kinds still being resolved (+1 while starting) */
	struct wobj *objs;
	size_t n;
	struct wgroup *groups;
	size_t ng;
	uv_timer_t timer;
	bool timer_closed;
	unsigned inflight;
	unsigned pod_lists;   /* at a timeout: pod lists still out */
	bool gone;            /* wait_terminated(): done is absent */
	bool finished;
	void (*done)(const struct wait_result *, void *);
	void *payload;
};

static void maybe_free(struct wait_req *w)
{
	size_t i;

	if (!w->finished || w->inflight || !w->timer_closed)
		return;
	for (i = 0; i < w->n; i++) {
		free(w->objs[i].kind);
		free(w->objs[i].ns);
		free(w->objs[i].name);
		free(w->objs[i].pod_selector);
	}
	for (i = 0; i < w->ng; i++) {
		struct wgroup *g = &w->groups[i];

		free(g->group);
		free(g->version);
		free(g->resource);
		free(g->ns);
		free(g->label_selector);
		free(g->field_selector);
		free(g->rv);
	}
	free(w->objs);
	free(w->groups);
	cJSON_Delete(w->pending);
	free(w->label_selector);
	kube_client_unref(w->c);
	free(w);
}

static void timer_closed(uv_handle_t *h)
{
	struct wait_req *w = h->data;

	w->timer_closed = true;
	maybe_free(w);
}

static void describe(const struct wobj *o, struct buf *b)
{
	if (o->ns)
		buf_addf(b, "%s/%s/%s", o->kind, o->ns, o->name);
	else
		buf_addf(b, "%s/%s", o->kind, o->name);
}

static void finish_msg(struct wait_req *w, int r, const char *msg);

static void finish(struct wait_req *w, int r)
{
	finish_msg(w, r, NULL);
}

static void finish_msg(struct wait_req *w, int r, const char *msg)
{
	struct wait_result res = { .r = r };
	struct buf b = BUF_INIT(sizeof(res.msg) - 1);
	bool first = true;
	size_t i;

	if (w->finished)
		return;
	w->finished = true;
	for (i = 0; i < w->n; i++) {
		const struct wobj *o = &w->objs[i];

		if (o->st == HEALTH_CURRENT)
			res.current++;
		else if (o->st == HEALTH_FAILED)
			res.failed++;
		else
			res.in_progress++;
	}
	if (r == -ETIMEDOUT)
		buf_adds(&b, "timeout waiting for: [");
	else if (r == -EIO)
		buf_adds(&b, "failed early due to stalled resources: [");
	if (r == -ETIMEDOUT || r == -EIO) {
		for (i = 0; i < w->n; i++) {
			const struct wobj *o = &w->objs[i];

			if (o->st == HEALTH_CURRENT || (r == -EIO && o->st != HEALTH_FAILED))
				continue;
			if (!first)
				buf_adds(&b, ", ");
			first = false;
			describe(o, &b);
			buf_addf(&b, " status: '%s'", w->gone ? "Terminating" :
				 !o->found ? "NotFound" :
				 o->st == HEALTH_FAILED ? "Failed" : "InProgress");
			if (r == -EIO && o->msg[0])
				buf_addf(&b, ": %s", o->msg);
			if (r == -ETIMEDOUT && o->why[0])
				buf_addf(&b, ": %s", o->why);
		}
		buf_adds(&b, "]");
	} else if (r == -ECANCELED) {
		buf_adds(&b, "health check canceled");
	} else if (msg) {
		buf_adds(&b, msg);
	}
	if (b.buf)
		snprintf(res.msg, sizeof(res.msg), "%s", b.buf);
	buf_release(&b);
	uv_timer_stop(&w->timer);
	uv_close((uv_handle_t *)&w->timer, timer_closed);
	for (i = 0; i < w->ng; i++)
		if (w->groups[i].watch)
			kube_watch_stop(w->groups[i].watch);
	w->done(&res, w->payload);
}

static void check(struct wait_req *w)
{
	bool all = true;
	size_t i;

	for (i = 0; i < w->n; i++) {
		if (w->objs[i].st == HEALTH_FAILED) {
			finish(w, -EIO);
			return;
		}
		if (w->objs[i].st != HEALTH_CURRENT)
			all = false;
	}
	if (all)
		finish(w, 0);
}

/*
 * The label selector of a workload's pods (spec.selector.matchLabels of a
 * Deployment, StatefulSet, DaemonSet or ReplicaSet), or NULL.
 */
static char *pod_selector_of(const char *kind, const cJSON *obj)
{
	const cJSON *ml = yj_get(obj, "/spec/selector/matchLabels"), *it;
	struct buf b = BUF_INIT(1024);
	char *sel;

	if (!streq(kind, "Deployment") && !streq(kind, "StatefulSet") &&
	    !streq(kind, "DaemonSet") && !streq(kind, "ReplicaSet"))
		return NULL;
	cJSON_ArrayForEach(it, ml)
		if (cJSON_IsString(it))
			buf_addf(&b, "%s%s=%s", b.len ? "," : "", it->string, it->valuestring);
	if (!b.len || b.len >= b.max - 1) {
		buf_release(&b);
		return NULL;
	}
	sel = buf_detach(&b, NULL);
	return sel;
}

/*
 * What a pod says about why it is not ready: a container waiting for a
 * reason other than starting (CrashLoopBackOff, ImagePullBackOff, ...) with
 * its last exit, a container that terminated with an error, or an
 * unschedulable pod.  Empty when nothing is wrong yet.
 */
static void pod_why(const cJSON *pod, char *out, size_t n)
{
	static const char *const lists[] = { "/status/initContainerStatuses",
					     "/status/containerStatuses" };
	const char *name = yj_get_str(pod, "/metadata/name");
	const cJSON *cs, *c;
	size_t i;

	out[0] = '\0';
	for (i = 0; i < 2 && !out[0]; i++) {
		cs = yj_get(pod, lists[i]);
		cJSON_ArrayForEach(c, cs)
		{
			const char *cn = yj_get_str(c, "/name");
			const char *wr = yj_get_str(c, "/state/waiting/reason");
			const cJSON *last = yj_get(c, "/lastState/terminated");
			const cJSON *term = yj_get(c, "/state/terminated");

			if (wr && !streq(wr, "ContainerCreating") && !streq(wr, "PodInitializing")) {
				if (last)
					snprintf(out, n, "pod %s: container %s: %s, last exit code %d (%s)",
						 name, cn, wr,
						 (int)cJSON_GetNumberValue(yj_get(last, "/exitCode")),
						 yj_get_str(last, "/reason") ? yj_get_str(last, "/reason") : "");
				else
					snprintf(out, n, "pod %s: container %s: %s: %s", name, cn, wr,
						 yj_get_str(c, "/state/waiting/message") ?
							 yj_get_str(c, "/state/waiting/message") : "");
				break;
			}
			if (term && cJSON_GetNumberValue(yj_get(term, "/exitCode")) != 0) {
				snprintf(out, n, "pod %s: container %s: terminated, exit code %d (%s)", name,
					 cn, (int)cJSON_GetNumberValue(yj_get(term, "/exitCode")),
					 yj_get_str(term, "/reason") ? yj_get_str(term, "/reason") : "");
				break;
			}
		}
	}
	if (!out[0]) {
		cJSON_ArrayForEach(c, yj_get(pod, "/status/conditions"))
			if (streq_ptr(yj_get_str(c, "/type"), "PodScheduled") &&
			    streq_ptr(yj_get_str(c, "/status"), "False"))
				snprintf(out, n, "pod %s: not scheduled: %s", name,
					 yj_get_str(c, "/message") ? yj_get_str(c, "/message") : "");
	}
}

static void assess(struct wgroup *g, const cJSON *obj, bool deleted)
{
	struct wait_req *w = g->w;
	const char *name = yj_get_str(obj, "/metadata/name");
	size_t i;

	if (!name)
		return;
	for (i = 0; i < w->n; i++) {
		struct wobj *o = &w->objs[i];
		struct health_result hr;

		if (o->g != g || !streq(o->name, name))
			continue;
		if (w->gone) {
			o->found = !deleted;
			o->st = deleted ? HEALTH_CURRENT : HEALTH_IN_PROGRESS;
			continue;
		}
		if (deleted) {
			o->found = false;
			o->st = HEALTH_IN_PROGRESS;
			o->msg[0] = '\0';
			continue;
		}
		if (!yj_get_str(obj, "/kind")) {
			/* Items of a LIST carry no kind and apiVersion: health_assess needs them. */
			cJSON *typed = cJSON_Duplicate(obj, 1);
			char *av = *g->group ? xasprintf("%s/%s", g->group, g->version) :
					       xstrdup(g->version);

			cJSON_AddStringToObject(typed, "kind", o->kind);
			cJSON_AddStringToObject(typed, "apiVersion", av);
			health_assess(typed, &hr);
			cJSON_Delete(typed);
			free(av);
		} else {
			health_assess(obj, &hr);
		}
		o->found = true;
		o->st = hr.status;
		snprintf(o->msg, sizeof(o->msg), "%s", hr.message);
		free(o->pod_selector);
		o->pod_selector = pod_selector_of(o->kind, obj);
	}
}

static void set_rv(struct wgroup *g, const char *rv)
{
	if (!rv || !*rv)
		return;
	free(g->rv);
	g->rv = xstrdup(rv);
}

static void start_list(struct wgroup *g);
static void start_watch(struct wgroup *g);

static int on_event(const char *type, const cJSON *obj, void *payload)
{
	struct wgroup *g = payload;

	if (g->w->finished)
		return -ECANCELED;
	set_rv(g, yj_get_str(obj, "/metadata/resourceVersion"));
	if (streq(type, "BOOKMARK"))
		return 0;
	assess(g, obj, streq(type, "DELETED"));
	check(g->w);
	return g->w->finished ? -ECANCELED : 0;
}

static void watch_done(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct wgroup *g = payload;
	struct wait_req *w = g->w;

	g->watch = NULL;
	w->inflight--;
	if (!w->finished) {
		if (r == 0)
			start_watch(g);
		else if (r == -ESTALE)
			start_list(g);
		/* Other errors: the group stays as it is; the timeout reports it. */
	}
	maybe_free(w);
}

static struct kube_ref group_ref(const struct wgroup *g)
{
	struct kube_ref ref = {
		.group = g->group, .version = g->version, .resource = g->resource, .ns = g->ns
	};

	return ref;
}

static void start_watch(struct wgroup *g)
{
	struct kube_opts o = KUBE_OPTS_INIT;
	struct kube_ref ref = group_ref(g);

	o.resource_version = g->rv;
	o.allow_bookmarks = true;
	o.timeout_seconds = WATCH_TIMEOUT_S;
	o.label_selector = g->label_selector;
	o.field_selector = g->field_selector;
	if (kube_watch(g->w->c, &ref, &o, on_event, watch_done, g, &g->watch) == 0)
		g->w->inflight++;
}

static void list_done(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct wgroup *g = payload;
	struct wait_req *w = g->w;
	const cJSON *it;

	w->inflight--;
	if (!w->finished && r == 0) {
		size_t i;

		/* Waiting for absence, what the list does not hold is gone. */
		for (i = 0; w->gone && i < w->n; i++)
			if (w->objs[i].g == g) {
				w->objs[i].found = false;
				w->objs[i].st = HEALTH_CURRENT;
			}
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(obj, "items"))
			assess(g, it, false);
		set_rv(g, yj_get_str(obj, "/metadata/resourceVersion"));
		check(w);
		if (!w->finished)
			start_watch(g);
	}
	maybe_free(w);
}

static void start_list(struct wgroup *g)
{
	struct kube_opts o = KUBE_OPTS_INIT;
	struct kube_ref ref = group_ref(g);

	o.label_selector = g->label_selector;
	o.field_selector = g->field_selector;
	if (kube_list(g->w->c, &ref, &o, list_done, g) == 0)
		g->w->inflight++;
}

struct podlist {
	struct wait_req *w;
	size_t obj;
};

static void pods_listed(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct podlist *pl = payload;
	struct wait_req *w = pl->w;
	const cJSON *it;

	w->inflight--;
	w->pod_lists--;
	if (!w->finished && r == 0) {
		struct wobj *o = &w->objs[pl->obj];

		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(obj, "items"))
		{
			pod_why(it, o->why, sizeof(o->why));
			if (o->why[0])
				break;
		}
	}
	/* A list refused (no right to read pods) only leaves the reason out. */
	if (!w->finished && !w->pod_lists)
		finish(w, -ETIMEDOUT);
	free(pl);
	maybe_free(w);
}

/*
 * Timed out: before saying so, ask the pods of the workloads still in
 * progress why (at most a few lists, each bounded), so a crashing
 * container is named rather than a bare 'InProgress'.
 */
static void on_timeout(uv_timer_t *t)
{
	struct wait_req *w = t->data;
	size_t i;

	for (i = 0; i < w->n && w->pod_lists < 4; i++) {
		struct wobj *o = &w->objs[i];
		struct kube_opts ko = KUBE_OPTS_INIT;
		struct kube_ref ref = { .version = "v1", .resource = "pods", .ns = o->ns };
		struct podlist *pl;

		if (o->st == HEALTH_CURRENT || !o->pod_selector || !o->ns)
			continue;
		pl = xcalloc(1, sizeof(*pl));
		pl->w = w;
		pl->obj = i;
		ko.label_selector = o->pod_selector;
		ko.limit = 20;
		ko.timeout_ms = 5000;
		if (kube_list(w->c, &ref, &ko, pods_listed, pl) < 0) {
			free(pl);
			continue;
		}
		w->inflight++;
		w->pod_lists++;
	}
	if (!w->pod_lists)
		finish(w, -ETIMEDOUT);
}

static struct wgroup *group_for(struct wait_req *w, const struct kube_mapping *m, const char *ns,
				const char *label_selector, const char *name)
{
	char *fs = label_selector ? NULL : xasprintf("metadata.name=%s", name);
	size_t i;

	for (i = 0; i < w->ng; i++) {
		struct wgroup *g = &w->groups[i];

		if (streq(g->group, m->group) && streq(g->version, m->version) &&
		    streq(g->resource, m->resource) && streq_ptr(g->ns, ns) &&
		    streq_ptr(g->field_selector, fs)) {
			free(fs);
			return g;
		}
	}
	w->groups[w->ng] = (struct wgroup){
		.w = w,
		.group = xstrdup(m->group),
		.version = xstrdup(m->version),
		.resource = xstrdup(m->resource),
		.ns = ns ? xstrdup(ns) : NULL,
		.label_selector = label_selector ? xstrdup(label_selector) : NULL,
		.field_selector = fs,
	};
	return &w->groups[w->ng++];
}

/* All kinds resolved (or one failed): build the groups and start listing. */
static void setup(struct wait_req *w)
{
	const cJSON *it;
	size_t i = 0;

	if (w->finished)
		return;
	cJSON_ArrayForEach(it, w->pending)
	{
		const char *av = yj_get_str(it, "/apiVersion"), *kind = yj_get_str(it, "/kind");
		const char *name = yj_get_str(it, "/metadata/name");
		const char *ns = yj_get_str(it, "/metadata/namespace");
		const struct kube_mapping *mp = mapper_lookup(w->m, av, kind);

		if (!mp && w->gone)
			continue; /* its kind is gone from the cluster: so is it */
		if (!mp) {
			char msg[512];

			snprintf(msg, sizeof(msg), "no matches for kind \"%s\" in version \"%s\"", kind,
				 av);
			finish_msg(w, -ENOENT, msg);
			return;
		}
		if (!mp->namespaced)
			ns = NULL;
		else if (!ns || !*ns)
			ns = "default";
		w->objs[i].kind = xstrdup(kind);
		w->objs[i].ns = ns ? xstrdup(ns) : NULL;
		w->objs[i].name = xstrdup(name);
		w->objs[i].st = HEALTH_IN_PROGRESS;
		w->objs[i].g = group_for(w, mp, ns, w->label_selector, name);
		w->n = ++i;
	}
	check(w); /* an empty set is done at once */
	for (i = 0; i < w->ng && !w->finished; i++)
		start_list(&w->groups[i]);
}

static void kind_resolved(int r, const struct kube_mapping *m, const struct op_err *err,
			  void *payload)
{
	struct wait_req *w = payload;

	w->inflight--;
	if (--w->resolving == 0)
		setup(w);
	maybe_free(w);
}

static int start(struct kube_client *c, struct kube_mapper *m, const cJSON *objects,
		 const char *label_selector, bool gone, uint64_t timeout_ms,
		 void (*done)(const struct wait_result *res, void *payload), void *payload,
		 struct wait_req **ret)
{
	struct wait_req *w;
	const cJSON *it;
	size_t n = (size_t)cJSON_GetArraySize(objects);

	if (!done)
		return -EINVAL;
	cJSON_ArrayForEach(it, objects)
		if (!yj_get_str(it, "/apiVersion") || !yj_get_str(it, "/kind") ||
		    !yj_get_str(it, "/metadata/name"))
			return -EINVAL;
	w = xcalloc(1, sizeof(*w));
	w->objs = xcalloc(n ? n : 1, sizeof(*w->objs));
	w->groups = xcalloc(n ? n : 1, sizeof(*w->groups));
	w->done = done;
	w->payload = payload;
	w->m = m;
	w->c = kube_client_ref(c);
	w->pending = cJSON_Duplicate(objects, 1);
	w->label_selector = label_selector ? xstrdup(label_selector) : NULL;
	w->gone = gone;
	uv_timer_init(kube_client_loop(c), &w->timer);
	w->timer.data = w;
	uv_timer_start(&w->timer, on_timeout, timeout_ms ? timeout_ms : 1, 0);
	if (ret)
		*ret = w;
	/*
	 * Resolve every kind first (the mapper may have dropped its cache, as
	 * after a CRD was applied).  A callback may come before
	 * mapper_resolve() returns, so `resolving` holds one extra count
	 * until every request has been started.
	 */
	w->resolving = 1;
	w->inflight++;
	cJSON_ArrayForEach(it, w->pending)
	{
		w->resolving++;
		w->inflight++;
		if (mapper_resolve(m, yj_get_str(it, "/apiVersion"), yj_get_str(it, "/kind"),
				   kind_resolved, w) < 0)
			kind_resolved(-EIO, NULL, NULL, w);
	}
	kind_resolved(0, NULL, NULL, w);
	return 0;
}

/* The group of an apiVersion ("" for the core group), its length in *n. */
static const char *av_group(const char *av, size_t *n)
{
	const char *slash = av ? strchr(av, '/') : NULL;

	*n = slash ? (size_t)(slash - av) : 0;
	return slash ? av : "";
}

static bool same_object(const cJSON *a, const cJSON *b)
{
	const char *na = yj_get_str(a, "/metadata/namespace"), *nb = yj_get_str(b, "/metadata/namespace");
	size_t la, lb;
	const char *ga = av_group(yj_get_str(a, "/apiVersion"), &la);
	const char *gb = av_group(yj_get_str(b, "/apiVersion"), &lb);

	return la == lb && !strncmp(ga, gb, la) &&
	       streq_ptr(yj_get_str(a, "/kind"), yj_get_str(b, "/kind")) &&
	       streq_ptr(yj_get_str(a, "/metadata/name"), yj_get_str(b, "/metadata/name")) &&
	       streq(na ? na : "", nb ? nb : "");
}

void wait_drop(cJSON *objects, const cJSON *known)
{
	cJSON *o = objects ? objects->child : NULL;

	while (o) {
		cJSON *next = o->next;
		const cJSON *k;

		cJSON_ArrayForEach(k, known)
			if (same_object(o, k)) {
				cJSON_Delete(cJSON_DetachItemViaPointer(objects, o));
				break;
			}
		o = next;
	}
}

int wait_ready(struct kube_client *c, struct kube_mapper *m, const cJSON *objects,
	       const char *label_selector, uint64_t timeout_ms,
	       void (*done)(const struct wait_result *res, void *payload), void *payload,
	       struct wait_req **ret)
{
	return start(c, m, objects, label_selector, false, timeout_ms, done, payload, ret);
}

int wait_terminated(struct kube_client *c, struct kube_mapper *m, const cJSON *objects,
		    uint64_t timeout_ms, void (*done)(const struct wait_result *res, void *payload),
		    void *payload, struct wait_req **ret)
{
	return start(c, m, objects, NULL, true, timeout_ms, done, payload, ret);
}

void wait_cancel(struct wait_req *w)
{
	if (w && !w->finished)
		finish(w, -ECANCELED);
}
