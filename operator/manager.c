/*
 * manager.c: controllers, their informers and queues (see manager.h).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/hmap.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "conditions.h"
#include "kube/workqueue.h"
#include "source/git.h"
#include "manager.h"
#include "yj/yj.h"
#include "base/banned.h"

/* gotk_reconcile_duration_seconds: 10 exponential buckets from 10 ms (Flux's). */
#define NBUCKETS 10
static const double bucket_le[NBUCKETS] = { 0.01,   0.0297, 0.0882, 0.262, 0.778,
					    2.31,   6.86,   20.4,   60.6,  180.0 };

/* One object's reconcile durations (Flux labels the histogram per object). */
struct hist {
	uint64_t buckets[NBUCKETS + 1];
	double sum_s;
	uint64_t count;
	char key[]; /* the map's key lives here */
};

/* When an object last succeeded (or was first seen), for the staleness alarm. */
struct seen {
	uint64_t ok_ms;
	bool stale;     /* Stale=True written (or being written) */
	bool writing;   /* the sweep's status patch is in flight */
	char key[];
};

struct watcher {
	struct ctl *ctl;
	ctl_watch_cb cb;
	struct watcher *next;
};

struct ctl {
	struct mgr *m;
	struct ctl_desc d;
	void *data;
	struct informer *inf;
	struct wq *q;
	struct kevents *events;
	struct watcher *watchers; /* subscribed to our informer */
	struct hmap started;      /* key -> heap uint64_t loop ms of the reconcile's start */
	struct hmap hists;        /* key -> struct hist, dropped when the object is deleted */
	struct hmap seen;         /* key -> struct seen (staleness), dropped likewise */
	struct hmap written;      /* key -> struct kobj: our last write, until the cache has it */
	uint64_t successes, errors, requeues;
	bool disabled;
	const char *disabled_by; /* the setting that turned it off */
	struct rc_priv *running;  /* reconciles in flight */
	unsigned closes_left;     /* mgr_add() failing: handles still closing */
	struct ctl *next;
};

#define FINALIZER_FLUX "finalizers.fluxcd.io"

/* A reconcile in flight: the kind's view (struct rc) and the skeleton's. */
struct rc_priv {
	struct rc pub;
	char *key;
	uv_work_t work;
	void (*work_fn)(void *job);
	void (*work_done)(struct rc *rc, int status);
	void (*next)(struct rc *rc); /* rc_progress()'s continuation */
	bool retry;                  /* how the key is finished after the write */
	uint64_t requeue_ms;
	atomic_bool cancel;          /* set by mgr_close(); read by work on the pool */
	cJSON *annotations;          /* rc_annotate()'s, for its Events; or NULL */
	struct rc_priv *prev_run, *next_run;
};

struct mgr {
	struct mgr_opts o;
	struct ctl *ctls, **tail;
	uv_loop_t *loop;
	bool started, draining;
	bool closing;      /* mgr_close() called: in-flight reconciles are cancelled */
	unsigned running;  /* reconciles in flight, every controller */
	unsigned drains_left;
	int drain_status;
	void (*drain_cb)(int, void *);
	void *drain_payload;
	unsigned closes_left;
	void (*close_cb)(void *);
	void *close_payload;
	uv_timer_t stale_timer;   /* the staleness sweep, every second */
	bool stale_timer_on;
	unsigned stale_writes;    /* the sweep's status patches in flight */
	bool in_close;            /* close_all() started: closed_one() counts down */
	mgr_event_hook event_hook;
	void *event_hook_payload;
};

static struct rc_priv *rc_new(struct ctl *ctl, const char *key, struct kobj *obj);
static void rc_start(struct ctl *ctl, const char *key, struct kobj *obj);
static void stale_update(struct rc *rc);
static void stale_sweep(uv_timer_t *t);
static void closed_one(void *payload);
static void ctl_done(struct ctl *ctl, const char *key, uint64_t requeue_ms);

int mgr_new(const struct mgr_opts *opts, struct mgr **ret)
{
	struct mgr *m;

	if (!opts || !opts->client)
		return -EINVAL;
	m = xcalloc(1, sizeof(*m));
	m->o = *opts;
	m->o.watch_namespace = opts->watch_namespace && *opts->watch_namespace ?
				       xstrdup(opts->watch_namespace) :
				       NULL;
	m->o.label_selector = opts->label_selector && *opts->label_selector ?
				      xstrdup(opts->label_selector) :
				      NULL;
	if (!m->o.concurrent)
		m->o.concurrent = 4;
	m->loop = kube_client_loop(opts->client);
	m->tail = &m->ctls;
	*ret = m;
	return 0;
}

static const char *requested_at(const struct kobj *o)
{
	return o ? kobj_str(o, "metadata", "annotations", "reconcile.fluxcd.io/requestedAt",
			    NULL) :
		   NULL;
}

static struct seen *seen_get(struct ctl *ctl, const char *key)
{
	struct seen *s = hmap_get(&ctl->seen, key);

	if (!s) {
		size_t n = strlen(key) + 1;

		s = xcalloc(1, sizeof(*s) + n);
		memcpy(s->key, key, n);
		s->ok_ms = uv_now(ctl->m->loop);
		hmap_put(&ctl->seen, s->key, s);
	}
	return s;
}

static bool deleting(const struct kobj *o)
{
	return o && kobj_str(o, "metadata", "deletionTimestamp", NULL) != NULL;
}

/*
 * Flux's predicates: GenerationChanged OR ReconcileRequested (plus
 * deletion); and ours: a change of the pin (`cflux rollback`) is a
 * change of what to fetch, as a spec change would be.
 */
static bool worth_a_reconcile(enum informer_event ev, const struct kobj *obj,
			      const struct kobj *old)
{
	if (ev != INFORMER_UPDATE || !old)
		return true;
	if (obj->generation != old->generation)
		return true;
	if (!streq_ptr(requested_at(obj), requested_at(old)))
		return true;
	if (!streq_ptr(kobj_str(obj, "metadata", "annotations", GIT_PIN_ANNOTATION, NULL),
		       kobj_str(old, "metadata", "annotations", GIT_PIN_ANNOTATION, NULL)))
		return true;
	return deleting(obj) != deleting(old);
}

/*
 * Read your writes.  The object the apiserver returned from our last
 * write (a status, a finalizer) is kept until the informer's cache holds
 * that resourceVersion or a later one.  A reconcile that starts before
 * then (its key queued while the last one ran) works on the written
 * object, not on the cache's older copy, which lacks what the last
 * reconcile recorded: a HelmRelease's history read as "not ours yet"
 * was upgraded a second time.
 */
static bool rv_reached(const char *have, const char *want)
{
	char *e1, *e2;
	unsigned long long a, b;

	if (streq(have, want))
		return true;
	errno = 0;
	a = strtoull(have, &e1, 10);
	b = strtoull(want, &e2, 10);
	/* resourceVersions are opaque; the apiserver's are etcd revisions */
	if (errno || !*have || !*want || *e1 || *e2)
		return true;
	return a >= b;
}

static void written_put(struct ctl *ctl, const char *key, const cJSON *obj)
{
	cJSON *dup = cJSON_Duplicate(obj, 1);
	struct kobj *o, *c;

	kobj_unref(hmap_remove(&ctl->written, key));
	cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(dup, "metadata"),
						"managedFields");
	o = kobj_new(dup);
	if (!o)
		return;
	c = informer_get(ctl->inf, key);
	if ((c && rv_reached(c->rv, o->rv)) || !streq(o->key, key)) {
		kobj_unref(o);
		return;
	}
	hmap_put(&ctl->written, o->key, o);
}

/* The freshest object we know for `key`: the cache's, or our newer write. */
static struct kobj *freshest(struct ctl *ctl, const char *key)
{
	struct kobj *c = informer_get(ctl->inf, key), *w = hmap_get(&ctl->written, key);

	if (!w || !c)
		return c;
	if (rv_reached(c->rv, w->rv)) {
		kobj_unref(hmap_remove(&ctl->written, key));
		return c;
	}
	return w;
}

static void on_event(struct informer *inf, enum informer_event ev, struct kobj *obj,
		     struct kobj *old, void *payload)
{
	struct ctl *ctl = payload;
	struct kobj *w = hmap_get(&ctl->written, obj->key);
	struct watcher *w2;

	if (w && (ev == INFORMER_DELETE || rv_reached(obj->rv, w->rv)))
		kobj_unref(hmap_remove(&ctl->written, obj->key));
	if (worth_a_reconcile(ev, obj, old))
		wq_add(ctl->q, obj->key);
	if (ev == INFORMER_DELETE) {
		free(hmap_remove(&ctl->hists, obj->key));
		free(hmap_remove(&ctl->seen, obj->key));
	} else {
		seen_get(ctl, obj->key);
	}
	for (w2 = ctl->watchers; w2; w2 = w2->next)
		w2->cb(w2->ctl, ctl, ev, obj, old);
}

/* A disabled controller's answer to a key: say so in Ready, once. */
static void process_disabled(struct ctl *ctl, const char *key, struct kobj *obj)
{
	const cJSON *st = obj ? cJSON_GetObjectItemCaseSensitive(obj->json, "status") : NULL;
	const cJSON *ready = cond_get(st, COND_READY);
	const char *reason = ready ? yj_get_str(ready, "/reason") : NULL;
	struct rc_priv *p;
	char *msg;

	if (!obj || streq_ptr(reason, "ControllerDisabled")) {
		ctl_done(ctl, key, 0);
		return;
	}
	p = rc_new(ctl, key, obj);
	msg = xasprintf("%s is disabled by the Extension setting %s=false; this object is not "
			"reconciled", ctl->d.component ? ctl->d.component : ctl->d.name,
			ctl->disabled_by ? ctl->disabled_by : "enabled");
	cond_set(p->pub.status, COND_READY, "Unknown", "ControllerDisabled", msg, obj->generation,
		 time_now_ns());
	free(msg);
	rc_done(&p->pub, 0);
}

static void process(struct wq *q, const char *key, void *payload)
{
	struct ctl *ctl = payload;
	uint64_t *t = xmalloc(sizeof(*t));
	struct kobj *obj = freshest(ctl, key);

	if (ctl->m->closing) {
		free(t);
		wq_done(q, key);
		return;
	}
	if (ctl->disabled) {
		free(t);
		process_disabled(ctl, key, obj);
		return;
	}

	*t = uv_now(ctl->m->loop);
	free(hmap_put(&ctl->started, key, t));
	log_debug(NULL, "Reconciling", "controller", ctl->d.name, "object", key, NULL);
	if (!obj) {
		ctl_done(ctl, key, 0);
		return;
	}
	rc_start(ctl, key, obj);
}

/* A controller mgr_add() gave up on: freed once its handles have closed. */
static void ctl_unwound(void *payload)
{
	struct ctl *ctl = payload;

	if (--ctl->closes_left == 0)
		free(ctl);
}

int mgr_add(struct mgr *m, const struct ctl_desc *desc, void *data, struct ctl **ret)
{
	struct informer_opts io = INFORMER_OPTS_INIT;
	struct wq_opts wo = WQ_OPTS_INIT;
	struct ctl *ctl;
	int r;

	if (m->started || !desc || !desc->name || !desc->reconcile)
		return -EINVAL;
	ctl = xcalloc(1, sizeof(*ctl));
	ctl->m = m;
	ctl->d = *desc;
	ctl->data = data;
	hmap_init(&ctl->started);
	hmap_init(&ctl->hists);
	io.ref = desc->ref;
	io.ref.ns = desc->cluster_scoped ? NULL : m->o.watch_namespace;
	io.label_selector = m->o.label_selector;
	r = informer_new(m->o.client, &io, on_event, ctl, &ctl->inf);
	if (r < 0)
		goto out_free;
	wo.retry = desc->retry.initial_ms ? desc->retry : (struct backoff)BACKOFF_RECONCILE;
	wo.max_concurrent = desc->concurrent ? desc->concurrent : m->o.concurrent;
	wo.requeue_jitter = m->o.requeue_jitter;
	r = wq_new(m->loop, &wo, process, ctl, &ctl->q);
	if (r < 0)
		goto out_close_informer;
	r = events_new(m->o.client, desc->component ? desc->component : desc->name,
		       &ctl->events);
	if (r < 0)
		goto out_close_queue;
	*m->tail = ctl;
	m->tail = &ctl->next;
	*ret = ctl;
	return 0;

	/*
	 * The informer and the queue own handles: they free themselves once
	 * closed, and the controller's memory goes with the last of them.
	 */
out_close_queue:
	ctl->closes_left = 2; /* both counted before either can call back */
	wq_close(ctl->q, ctl_unwound, ctl);
	informer_close(ctl->inf, ctl_unwound, ctl);
	return r;
out_close_informer:
	ctl->closes_left = 1;
	informer_close(ctl->inf, ctl_unwound, ctl);
	return r;
out_free:
	free(ctl);
	return r;
}

int mgr_start(struct mgr *m)
{
	struct ctl *ctl;
	int r;

	if (m->started)
		return 0;
	m->started = true;
	if (m->o.stale_intervals) {
		uv_timer_init(m->loop, &m->stale_timer);
		m->stale_timer.data = m;
		uv_timer_start(&m->stale_timer, stale_sweep, 1000, 1000);
		m->stale_timer_on = true;
	}
	for (ctl = m->ctls; ctl; ctl = ctl->next) {
		r = informer_start(ctl->inf);
		if (r < 0)
			return r;
		log_info(NULL, "Starting workers", "controller", ctl->d.name, NULL);
	}
	return 0;
}

bool mgr_synced(const struct mgr *m)
{
	const struct ctl *ctl;

	for (ctl = m->ctls; ctl; ctl = ctl->next)
		if (!informer_synced(ctl->inf))
			return false;
	return m->started;
}

struct ctl *mgr_ctl(const struct mgr *m, const char *name)
{
	struct ctl *ctl;

	for (ctl = m->ctls; ctl; ctl = ctl->next)
		if (streq(ctl->d.name, name))
			return ctl;
	return NULL;
}

struct ctl *mgr_ctl_kind(const struct mgr *m, const char *kind)
{
	struct ctl *ctl;

	for (ctl = m->ctls; ctl; ctl = ctl->next)
		if (streq(ctl->d.kind, kind))
			return ctl;
	return NULL;
}

struct ctl *mgr_next_source(const struct mgr *m, const struct ctl *prev)
{
	struct ctl *ctl = prev ? prev->next : m->ctls;

	while (ctl && !ctl->d.source)
		ctl = ctl->next;
	return ctl;
}

static void drained_one(int status, void *payload)
{
	struct mgr *m = payload;

	if (status < 0 && m->drain_status == 0)
		m->drain_status = status;
	if (--m->drains_left == 0 && m->drain_cb)
		m->drain_cb(m->drain_status, m->drain_payload);
}

void mgr_drain(struct mgr *m, uint64_t timeout_ms, void (*cb)(int status, void *payload),
	       void *payload)
{
	struct ctl *ctl;

	m->draining = true;
	m->drain_cb = cb;
	m->drain_payload = payload;
	m->drains_left = 1;
	for (ctl = m->ctls; ctl; ctl = ctl->next) {
		m->drains_left++;
		if (wq_drain(ctl->q, timeout_ms, drained_one, m) < 0)
			drained_one(0, m);
	}
	drained_one(0, m);
}

static void closed_one(void *payload)
{
	struct mgr *m = payload;
	struct ctl *ctl, *next;

	if (--m->closes_left > 0)
		return;
	for (ctl = m->ctls; ctl; ctl = next) {
		size_t it = 0;
		const char *k;
		void *v;

		next = ctl->next;
		while (hmap_next(&ctl->started, &it, &k, &v))
			free(v);
		hmap_release(&ctl->started);
		it = 0;
		while (hmap_next(&ctl->hists, &it, &k, &v))
			free(v);
		hmap_release(&ctl->hists);
		it = 0;
		while (hmap_next(&ctl->seen, &it, &k, &v))
			free(v);
		hmap_release(&ctl->seen);
		it = 0;
		while (hmap_next(&ctl->written, &it, &k, &v))
			kobj_unref(v);
		hmap_release(&ctl->written);
		free(ctl);
	}
	if (m->close_cb)
		m->close_cb(m->close_payload);
	free((char *)m->o.watch_namespace);
	free((char *)m->o.label_selector);
	free(m);
}

static void stale_timer_closed(uv_handle_t *h)
{
	closed_one(h->data);
}

/* Close informers, queues and recorders; closed_one() frees the rest. */
static void close_all(struct mgr *m)
{
	struct ctl *ctl;

	m->closes_left = 1 + m->stale_writes;
	m->in_close = true;
	if (m->stale_timer_on) {
		m->closes_left++;
		uv_close((uv_handle_t *)&m->stale_timer, stale_timer_closed);
	}
	for (ctl = m->ctls; ctl; ctl = ctl->next) {
		struct watcher *w, *wn;

		for (w = ctl->watchers; w; w = wn) {
			wn = w->next;
			free(w);
		}
		ctl->watchers = NULL;
		events_free(ctl->events);
		ctl->events = NULL;
		m->closes_left += 2;
		informer_close(ctl->inf, closed_one, m);
		wq_close(ctl->q, closed_one, m);
	}
	closed_one(m);
}

/*
 * Why closing waits: a reconcile still in flight (a fetch on the thread
 * pool, a request to the apiserver) holds its struct rc, its controller,
 * and reads the informers' caches; it ends through rc_done() and friends
 * on its own time.  Freeing the controllers under it is a use after free
 * (issue #25), so the close is deferred until the last one has ended.  To
 * keep that short, each is cancelled: its flag (rc_cancelled()) is set,
 * which the source clients' waits observe within a fraction of a second,
 * rc_work() refuses new work, and ending writes no status (the apiserver
 * may be what is stuck; the next leader reconciles the object again).
 */
void mgr_close(struct mgr *m, void (*cb)(void *payload), void *payload)
{
	struct ctl *ctl;
	struct rc_priv *p;

	m->close_cb = cb;
	m->close_payload = payload;
	m->closing = true;
	for (ctl = m->ctls; ctl; ctl = ctl->next) {
		wq_shutdown(ctl->q);
		for (p = ctl->running; p; p = p->next_run)
			atomic_store(&p->cancel, true);
	}
	if (m->running == 0)
		close_all(m);
}

void *ctl_data(const struct ctl *ctl)
{
	return ctl->data;
}

const struct ctl_desc *ctl_desc(const struct ctl *ctl)
{
	return &ctl->d;
}

struct mgr *ctl_mgr(const struct ctl *ctl)
{
	return ctl->m;
}

struct kube_client *ctl_client(const struct ctl *ctl)
{
	return ctl->m->o.client;
}

#define MAX_DEPS_WALK 1000

static char *dep_key(const struct kobj *o, const cJSON *dep)
{
	const char *ns = yj_get_str(dep, "/namespace"), *name = yj_get_str(dep, "/name");

	return name ? kobj_make_key(ns && *ns ? ns : o->ns, name) : NULL;
}

/* Is `target` reachable from `from` through dependsOn?  Fills `path`. */
static bool reaches(struct informer *inf, const char *from, const char *target,
		    struct buf *path, unsigned *budget)
{
	struct kobj *o = informer_get(inf, from);
	const cJSON *dep;
	bool found = false;

	if (!o || (*budget)-- == 0)
		return false;
	cJSON_ArrayForEach(dep, yj_get(o->json, "/spec/dependsOn"))
	{
		char *k = dep_key(o, dep);
		size_t mark = path->len;

		if (!k)
			continue;
		buf_addf(path, " -> %s", k);
		found = streq(k, target) || reaches(inf, k, target, path, budget);
		free(k);
		if (found)
			break;
		buf_truncate(path, mark);
	}
	return found;
}

int ctl_check_dependencies(struct ctl *ctl, const struct kobj *obj, char *msg, size_t n)
{
	struct informer *inf = ctl_informer(ctl);
	const cJSON *dep;

	cJSON_ArrayForEach(dep, yj_get(obj->json, "/spec/dependsOn"))
	{
		char *k = dep_key(obj, dep);
		struct buf path = BUF_INIT(8192);
		unsigned budget = MAX_DEPS_WALK;
		struct kobj *d;

		if (!k)
			continue;
		buf_addf(&path, "%s -> %s", obj->key, k);
		if (streq(k, obj->key) || reaches(inf, k, obj->key, &path, &budget)) {
			snprintf(msg, n, "dependency cycle: %s", path.buf);
			buf_release(&path);
			free(k);
			return -ELOOP;
		}
		buf_release(&path);
		d = informer_get(inf, k);
		if (!d || !cond_ready_current(d->json, d->generation)) {
			snprintf(msg, n, "dependency '%s' is not ready", k);
			free(k);
			return -EAGAIN;
		}
		free(k);
	}
	return 0;
}

int applier_client_on(struct kube_client *base, const char *ns, const char *sa,
		      struct kube_client **ret)
{
	char *user;
	int r;

	if (!sa || !*sa) {
		*ret = kube_client_ref(base);
		return 0;
	}
	user = xasprintf("system:serviceaccount:%s:%s", ns, sa);
	r = kube_client_impersonate(base, user, ret);
	free(user);
	return r;
}

int ctl_applier_client(const struct ctl *ctl, const char *ns, const char *sa,
		       struct kube_client **ret)
{
	return applier_client_on(ctl_client(ctl), ns, sa, ret);
}

struct informer *ctl_informer(const struct ctl *ctl)
{
	return ctl->inf;
}

struct kevents *ctl_events(const struct ctl *ctl)
{
	return ctl->events;
}

static void observe(struct ctl *ctl, const char *key, bool ok)
{
	uint64_t *t = hmap_remove(&ctl->started, key);
	struct hist *h;
	double s;
	int i;

	if (!t)
		return;
	s = (double)(uv_now(ctl->m->loop) - *t) / 1000.0;
	free(t);
	if (log_enabled(LOG_DEBUG)) {
		char took[32];

		snprintf(took, sizeof(took), "%.3fs", s);
		log_debug(NULL, ok ? "Reconciled" : "Reconcile failed", "controller", ctl->d.name,
			  "object", key, "took", took, NULL);
	}
	for (i = 0; i < NBUCKETS && s > bucket_le[i]; i++)
		;
	h = hmap_get(&ctl->hists, key);
	if (!h) {
		size_t n = strlen(key) + 1;

		h = xcalloc(1, sizeof(*h) + n);
		memcpy(h->key, key, n);
		hmap_put(&ctl->hists, h->key, h);
	}
	h->buckets[i]++;
	h->sum_s += s;
	h->count++;
	if (ok)
		ctl->successes++;
	else
		ctl->errors++;
}

static void ctl_done(struct ctl *ctl, const char *key, uint64_t requeue_ms)
{
	observe(ctl, key, true);
	if (requeue_ms) {
		ctl->requeues++;
		wq_done_after(ctl->q, key, requeue_ms);
	} else {
		wq_done(ctl->q, key);
	}
}

static uint64_t ctl_retry(struct ctl *ctl, const char *key)
{
	uint64_t delay = 0;

	observe(ctl, key, false);
	wq_retry(ctl->q, key, &delay);
	return delay;
}

static struct kube_ref obj_ref(const struct ctl *ctl, const struct kobj *obj)
{
	struct kube_ref ref = ctl->d.ref;

	ref.ns = obj->ns;
	ref.name = obj->name;
	return ref;
}

/*
 * Make `patch` (a JSON merge patch, RFC 7386) remove what `old` has and
 * it lacks: a null for each such key, at every level where both are
 * objects.  Without it a field a reconciler dropped would stay.
 */
static void add_removals(cJSON *patch, const cJSON *old)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, old) {
		cJSON *p = cJSON_GetObjectItemCaseSensitive(patch, it->string);

		if (!p)
			cJSON_AddNullToObject(patch, it->string);
		else if (cJSON_IsObject(p) && cJSON_IsObject(it))
			add_removals(p, it);
	}
}

static int ctl_patch_status(struct ctl *ctl, const struct kobj *obj, const cJSON *status, kube_cb cb,
		     void *payload)
{
	struct kube_ref ref = obj_ref(ctl, obj);
	cJSON *body = cJSON_CreateObject(), *st = cJSON_Duplicate(status, 1);
	const cJSON *old = cJSON_GetObjectItemCaseSensitive(obj->json, "status");
	char *text;
	int r;

	if (cJSON_IsObject(old) && cJSON_IsObject(st))
		add_removals(st, old);
	cJSON_AddItemToObject(body, "status", st);
	text = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	ref.subresource = "status";
	r = kube_patch(ctl->m->o.client, &ref, KUBE_PATCH_MERGE, text, NULL, cb, payload);
	cJSON_free(text);
	return r;
}

static int ctl_patch_finalizers(struct ctl *ctl, const struct kobj *obj, const cJSON *finalizers,
			 kube_cb cb, void *payload)
{
	struct kube_ref ref = obj_ref(ctl, obj);
	cJSON *body = cJSON_CreateObject(), *meta = cJSON_AddObjectToObject(body, "metadata");
	char *text;
	int r;

	cJSON_AddItemToObject(meta, "finalizers", cJSON_Duplicate(finalizers, 1));
	cJSON_AddStringToObject(meta, "resourceVersion", obj->rv);
	text = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	r = kube_patch(ctl->m->o.client, &ref, KUBE_PATCH_MERGE, text, NULL, cb, payload);
	cJSON_free(text);
	return r;
}

int ctl_list_live(struct ctl *ctl, long limit, kube_cb cb, void *payload)
{
	struct kube_opts o = KUBE_OPTS_INIT;
	struct kube_ref ref = ctl->d.ref;

	ref.ns = ctl->d.cluster_scoped ? NULL : ctl->m->o.watch_namespace;
	ref.name = NULL;
	o.label_selector = ctl->m->o.label_selector;
	o.limit = limit;
	return kube_list(ctl->m->o.client, &ref, &o, cb, payload);
}

/* ---- the reconciler skeleton (see manager.h) ---- */

static const char *finalizer_of(const struct ctl *ctl)
{
	return ctl->d.finalizer ? ctl->d.finalizer : FINALIZER_FLUX;
}

static bool has_finalizer(const struct ctl *ctl, const struct kobj *o)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, yj_get(o->json, "/metadata/finalizers"))
		if (cJSON_IsString(it) && streq(it->valuestring, finalizer_of(ctl)))
			return true;
	return false;
}

static cJSON *status_of(const struct kobj *o)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(o->json, "status");

	return cJSON_IsObject(s) ? cJSON_Duplicate(s, 1) : cJSON_CreateObject();
}

static struct rc_priv *rc_new(struct ctl *ctl, const char *key, struct kobj *obj)
{
	struct rc_priv *p = xcalloc(1, sizeof(*p));

	p->key = xstrdup(key);
	p->pub.ctl = ctl;
	p->pub.key = p->key;
	p->pub.obj = kobj_ref(obj);
	p->pub.status = status_of(obj);
	p->pub.job = ctl->d.job_size ? xcalloc(1, ctl->d.job_size) : NULL;
	p->pub.t0 = uv_now(ctl->m->loop);
	atomic_init(&p->cancel, false);
	p->next_run = ctl->running;
	if (ctl->running)
		ctl->running->prev_run = p;
	ctl->running = p;
	ctl->m->running++;
	return p;
}

/* Take the object the apiserver returned (newer resourceVersion and status). */
static void rc_adopt(struct rc_priv *p, const cJSON *obj)
{
	kobj_unref(p->pub.obj);
	p->pub.obj = kobj_new(cJSON_Duplicate(obj, 1));
	written_put(p->pub.ctl, p->key, obj);
}

/* Release `p` and finish its key as decided. */
static void rc_release(struct rc_priv *p)
{
	struct ctl *ctl = p->pub.ctl;
	struct mgr *m = ctl->m;

	if (p->prev_run)
		p->prev_run->next_run = p->next_run;
	else
		ctl->running = p->next_run;
	if (p->next_run)
		p->next_run->prev_run = p->prev_run;
	if (p->retry)
		ctl_retry(ctl, p->key);
	else
		ctl_done(ctl, p->key, p->requeue_ms);
	if (p->pub.job && ctl->d.job_release)
		ctl->d.job_release(p->pub.job);
	free(p->pub.job);
	cJSON_Delete(p->pub.status);
	cJSON_Delete(p->annotations);
	kobj_unref(p->pub.obj);
	free(p->key);
	free(p);
	if (--m->running == 0 && m->closing)
		close_all(m);
}

static struct rc_priv *priv(struct rc *rc)
{
	return (struct rc_priv *)rc;
}

long rc_gen(const struct rc *rc)
{
	return rc->obj->generation;
}

static void set_observed_generation(cJSON *st, long gen)
{
	cJSON_DeleteItemFromObjectCaseSensitive(st, "observedGeneration");
	cJSON_AddNumberToObject(st, "observedGeneration", (double)gen);
}

/* Flux's finalize-status rules (manager.h), for every kind alike. */
static void finalize_status(struct rc *rc)
{
	const char *req = kobj_str(rc->obj, "metadata", "annotations",
				   "reconcile.fluxcd.io/requestedAt", NULL);
	const cJSON *ready = cond_get(rc->status, COND_READY);
	const char *rs = ready ? yj_get_str(ready, "/status") : NULL;
	const cJSON *rec = cond_get(rc->status, COND_RECONCILING);

	if (req) {
		cJSON_DeleteItemFromObjectCaseSensitive(rc->status, "lastHandledReconcileAt");
		cJSON_AddStringToObject(rc->status, "lastHandledReconcileAt", req);
	}
	if (streq_ptr(rs, "True")) {
		cond_delete(rc->status, COND_RECONCILING);
		set_observed_generation(rc->status, rc_gen(rc));
	} else if (streq_ptr(rs, "False") && rec && !rc->ctl->d.own_reconciling &&
		   !streq_ptr(yj_get_str(rec, "/reason"), "ProgressingWithRetry")) {
		char *msg = xstrdup(yj_get_str(rec, "/message") ? yj_get_str(rec, "/message") : "");

		cond_mark_reconciling(rc->status, "ProgressingWithRetry", msg, rc_gen(rc),
				      time_now_ns());
		free(msg);
	}
	stale_update(rc);
}

static bool status_unchanged(const struct rc *rc)
{
	const cJSON *old = cJSON_GetObjectItemCaseSensitive(rc->obj->json, "status");

	if (!old)
		return cJSON_GetArraySize(rc->status) == 0;
	return cJSON_Compare(old, rc->status, true);
}

static void status_written(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct rc_priv *p = payload;

	if (r < 0 && r != -ENOENT) {
		log_error(NULL, "Status update failed", "controller", p->pub.ctl->d.name, "object",
			  p->key, "error", err && err->msg[0] ? err->msg : op_strerror(r), NULL);
		p->retry = true;
	} else if (r >= 0 && obj) {
		written_put(p->pub.ctl, p->key, obj);
	}
	rc_release(p);
}

/* Write the status if it changed, then finish the key as p->retry/requeue_ms say. */
static void rc_end(struct rc_priv *p)
{
	int r;

	finalize_status(&p->pub);
	if (p->pub.ctl->m->closing || status_unchanged(&p->pub)) {
		rc_release(p);
		return;
	}
	r = ctl_patch_status(p->pub.ctl, p->pub.obj, p->pub.status, status_written, p);
	if (r < 0)
		status_written(r, NULL, NULL, p);
}

void rc_done(struct rc *rc, uint64_t requeue_ms)
{
	priv(rc)->retry = false;
	priv(rc)->requeue_ms = requeue_ms;
	rc_end(priv(rc));
}

void rc_park(struct rc *rc)
{
	wq_park(rc->ctl->q, priv(rc)->key);
}

void rc_unpark(struct rc *rc)
{
	wq_unpark(rc->ctl->q, priv(rc)->key);
}

void rc_retry(struct rc *rc)
{
	priv(rc)->retry = true;
	rc_end(priv(rc));
}

void rc_stall(struct rc *rc, const char *reason, const char *msg)
{
	int64_t now = time_now_ns();

	cond_mark_stalled(rc->status, reason, msg, rc_gen(rc), now);
	cond_set(rc->status, COND_READY, "False", reason, msg, rc_gen(rc), now);
	set_observed_generation(rc->status, rc_gen(rc));
	rc_done(rc, 0);
}

static void finalizer_removed(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct rc_priv *p = payload;

	if (r < 0 && r != -ENOENT) {
		log_error(NULL, "Cannot remove the finalizer", "controller", p->pub.ctl->d.name,
			  "object", p->key, "error", err && err->msg[0] ? err->msg : op_strerror(r),
			  NULL);
		p->retry = true;
	}
	rc_release(p);
}

/* Our finalizer added to (`add`) or removed from the object's list, others kept. */
static int patch_finalizer(struct rc_priv *p, bool add, kube_cb cb)
{
	cJSON *fins = cJSON_CreateArray();
	const cJSON *it;
	int r;

	cJSON_ArrayForEach(it, yj_get(p->pub.obj->json, "/metadata/finalizers"))
		if (!cJSON_IsString(it) || !streq(it->valuestring, finalizer_of(p->pub.ctl)))
			cJSON_AddItemToArray(fins, cJSON_Duplicate(it, 1));
	if (add)
		cJSON_AddItemToArray(fins, cJSON_CreateString(finalizer_of(p->pub.ctl)));
	r = ctl_patch_finalizers(p->pub.ctl, p->pub.obj, fins, cb, p);
	cJSON_Delete(fins);
	return r;
}

void rc_finalized(struct rc *rc)
{
	if (rc->ctl->m->closing) {
		rc_release(priv(rc));
		return;
	}
	if (patch_finalizer(priv(rc), false, finalizer_removed) < 0)
		finalizer_removed(-EIO, NULL, NULL, priv(rc));
}

static void finalizer_added(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct rc_priv *p = payload;

	if (r < 0) {
		/* Gone: nothing to do; a conflict or an error: again, with backoff. */
		if (r != -ENOENT) {
			log_error(NULL, "Cannot add the finalizer", "controller",
				  p->pub.ctl->d.name, "object", p->key, "error",
				  err && err->msg[0] ? err->msg : op_strerror(r), NULL);
			p->retry = true;
		}
		rc_release(p);
		return;
	}
	rc_adopt(p, obj);
	cJSON_Delete(p->pub.status);
	p->pub.status = status_of(p->pub.obj);
	if (p->pub.ctl->m->closing) {
		rc_release(p);
		return;
	}
	p->pub.ctl->d.reconcile(&p->pub);
}

static void rc_start(struct ctl *ctl, const char *key, struct kobj *obj)
{
	struct rc_priv *p = rc_new(ctl, key, obj);

	if (deleting(obj)) {
		if (!has_finalizer(ctl, obj))
			rc_release(p);
		else if (ctl->d.finalize)
			ctl->d.finalize(&p->pub);
		else
			rc_finalized(&p->pub);
		return;
	}
	if (!ctl->d.own_suspend && cJSON_IsTrue(yj_get(obj->json, "/spec/suspend"))) {
		log_info(NULL, "Reconciliation is suspended for this object", "controller",
			 ctl->d.name, "object", key, NULL);
		rc_release(p);
		return;
	}
	if (!has_finalizer(ctl, obj)) {
		if (patch_finalizer(p, true, finalizer_added) < 0)
			finalizer_added(-EIO, NULL, NULL, p);
		return;
	}
	ctl->d.reconcile(&p->pub);
}

static void progress_written(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct rc_priv *p = payload;

	if (r < 0) {
		if (r != -ENOENT) {
			log_error(NULL, "Status update failed", "controller", p->pub.ctl->d.name,
				  "object", p->key, "error",
				  err && err->msg[0] ? err->msg : op_strerror(r), NULL);
			p->retry = true;
		}
		rc_release(p);
		return;
	}
	rc_adopt(p, obj);
	if (p->pub.ctl->m->closing) {
		rc_release(p);
		return;
	}
	p->next(&p->pub);
}

void rc_progress(struct rc *rc, const char *ready_msg, const char *reason, const char *msg,
		 void (*next)(struct rc *rc))
{
	struct rc_priv *p = priv(rc);
	int64_t now = time_now_ns();
	int r;

	cond_mark_reconciling(rc->status, reason, msg, rc_gen(rc), now);
	if (ready_msg)
		cond_set(rc->status, COND_READY, "Unknown", reason, ready_msg, rc_gen(rc), now);
	if (rc->ctl->m->closing) {
		rc_release(p);
		return;
	}
	if (status_unchanged(rc)) {
		next(rc);
		return;
	}
	p->next = next;
	r = ctl_patch_status(rc->ctl, rc->obj, rc->status, progress_written, p);
	if (r < 0)
		progress_written(r, NULL, NULL, p);
}

static void work_run(uv_work_t *w)
{
	struct rc_priv *p = w->data;

	p->work_fn(p->pub.job);
}

static void work_after(uv_work_t *w, int status)
{
	struct rc_priv *p = w->data;

	p->work_done(&p->pub, status);
}

int rc_work(struct rc *rc, void (*work)(void *job), void (*done)(struct rc *rc, int status))
{
	struct rc_priv *p = priv(rc);

	if (rc->ctl->m->closing)
		return -ECANCELED;
	p->work_fn = work;
	p->work_done = done;
	p->work.data = p;
	return uv_queue_work(rc->ctl->m->loop, &p->work, work_run, work_after);
}

bool rc_cancelled(const struct rc *rc)
{
	return atomic_load(&((const struct rc_priv *)rc)->cancel);
}

const atomic_bool *rc_cancel_flag(const struct rc *rc)
{
	return &((const struct rc_priv *)rc)->cancel;
}

void rc_annotate(struct rc *rc, const char *key, const char *value)
{
	struct rc_priv *p = (struct rc_priv *)rc;
	const char *slash = strchr(rc->ctl->d.api_version, '/');
	char *k = xasprintf("%.*s/%s", slash ? (int)(slash - rc->ctl->d.api_version) : 0,
			    rc->ctl->d.api_version, key);

	if (!p->annotations)
		p->annotations = cJSON_CreateObject();
	cJSON_DeleteItemFromObjectCaseSensitive(p->annotations, k);
	if (value && *value)
		cJSON_AddStringToObject(p->annotations, k, value);
	free(k);
}

void mgr_set_event_hook(struct mgr *m, mgr_event_hook hook, void *payload)
{
	m->event_hook = hook;
	m->event_hook_payload = payload;
}

/* An Event about `obj`, and the event hook's call: rc_event() and the staleness sweep. */
static void obj_event(struct ctl *ctl, const struct kobj *obj, const cJSON *annotations,
		      const char *type, const char *reason, const char *msg)
{
	struct kevent_obj eo = {
		.api_version = ctl->d.api_version,
		.kind = ctl->d.kind,
		.ns = obj->ns,
		.name = obj->name,
		.uid = obj->uid,
		.resource_version = obj->rv,
	};

	if (ctl->events)
		events_record_annotated(ctl->events, &eo, annotations, type, reason, "%s", msg);
	if (ctl->m->event_hook)
		ctl->m->event_hook(ctl->m->event_hook_payload, ctl, obj, type, reason, msg,
				   annotations);
}

void rc_event(struct rc *rc, const char *type, const char *reason, const char *fmt, ...)
{
	/* Whole: notifications take up to 39000 bytes, Events keep 1024. */
	struct buf msg = BUF_INIT(SIZE_MAX);
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	obj_event(rc->ctl, rc->obj, ((struct rc_priv *)rc)->annotations, type, reason,
		  msg.buf ? msg.buf : "");
	buf_release(&msg);
}

/* ---- staleness (manager.h) ---- */

static int64_t interval_ms(const struct kobj *o)
{
	const char *iv = kobj_str(o, "spec", "interval", NULL);
	int64_t ns;

	if (!iv || duration_parse(iv, &ns) < 0 || ns <= 0)
		return 0;
	return ns / NSEC_PER_MSEC;
}

/* Is `o` past the threshold now?  Its interval (ms) in *ret_iv. */
static bool stale_due(const struct ctl *ctl, const struct kobj *o, const struct seen *s,
		      uint64_t now, int64_t *ret_iv)
{
	int64_t iv;

	if (!ctl->m->o.stale_intervals || ctl->disabled || !o || deleting(o) ||
	    cJSON_IsTrue(yj_get(o->json, "/spec/suspend")))
		return false;
	iv = interval_ms(o);
	if (iv <= 0)
		return false;
	*ret_iv = iv;
	return now - s->ok_ms >= (uint64_t)iv * ctl->m->o.stale_intervals;
}

static void stale_message(unsigned n, int64_t iv_ms, char *msg, size_t size)
{
	char all[DURATION_MAX], one[DURATION_MAX];

	duration_format(iv_ms * n * NSEC_PER_MSEC, all);
	duration_format(iv_ms * NSEC_PER_MSEC, one);
	snprintf(msg, size, "no successful reconcile for more than %s (%u intervals of %s)", all,
		 n, one);
}

/* A reconcile ending (finalize_status()): success clears the alarm, else it may raise it. */
static void stale_update(struct rc *rc)
{
	struct ctl *ctl = rc->ctl;
	const cJSON *ready = cond_get(rc->status, COND_READY);
	uint64_t now = uv_now(ctl->m->loop);
	struct seen *s;
	int64_t iv;
	char msg[256];
	bool was;

	if (!ctl->m->o.stale_intervals)
		return;
	s = seen_get(ctl, priv(rc)->key);
	if (ready && streq_ptr(yj_get_str(ready, "/status"), "True")) {
		s->ok_ms = now;
		s->stale = false;
		cond_delete(rc->status, COND_STALE);
		return;
	}
	if (!stale_due(ctl, rc->obj, s, now, &iv))
		return;
	/* Raised already: by an earlier reconcile, or by the sweep (maybe not in our copy yet). */
	was = cond_is_true(rc->status, COND_STALE) || s->stale;
	stale_message(ctl->m->o.stale_intervals, iv, msg, sizeof(msg));
	cond_set(rc->status, COND_STALE, "True", "NoRecentSuccess", msg, rc_gen(rc),
		 time_now_ns());
	if (!was)
		rc_event(rc, "Warning", "Stale", "%s", msg);
	s->stale = true;
}

struct stale_write {
	struct ctl *ctl;
	char key[];
};

static void stale_written(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct stale_write *w = payload;
	struct mgr *m = w->ctl->m;
	struct seen *s = hmap_get(&w->ctl->seen, w->key);

	if (s) {
		s->writing = false;
		if (r < 0)
			s->stale = false; /* a conflict, or gone: the next sweep looks again */
	}
	free(w);
	m->stale_writes--;
	if (m->in_close)
		closed_one(m);
}

/* The sweep: objects no reconcile is looking at now. */
static void stale_sweep(uv_timer_t *t)
{
	struct mgr *m = t->data;
	uint64_t now = uv_now(m->loop);
	struct ctl *ctl;

	for (ctl = m->ctls; ctl && !m->closing; ctl = ctl->next) {
		size_t it = 0;
		void *v;

		while (hmap_next(&ctl->seen, &it, NULL, &v)) {
			struct seen *s = v;
			struct kobj *o;
			struct stale_write *w;
			struct kube_ref ref;
			cJSON *body, *st;
			char msg[256], *text;
			int64_t iv;
			size_t n;

			if (s->stale || s->writing || hmap_get(&ctl->started, s->key))
				continue;
			o = informer_get(ctl->inf, s->key);
			if (!stale_due(ctl, o, s, now, &iv))
				continue;
			s->stale = true;
			if (cond_is_true(yj_get(o->json, "/status"), COND_STALE))
				continue; /* written before (this process's or another's) */
			stale_message(m->o.stale_intervals, iv, msg, sizeof(msg));
			body = cJSON_CreateObject();
			cJSON_AddStringToObject(cJSON_AddObjectToObject(body, "metadata"),
						"resourceVersion", o->rv);
			st = cJSON_Duplicate(yj_get(o->json, "/status"), 1);
			if (!st)
				st = cJSON_CreateObject();
			cond_set(st, COND_STALE, "True", "NoRecentSuccess", msg, o->generation,
				 time_now_ns());
			cJSON_AddItemToObject(cJSON_AddObjectToObject(body, "status"), "conditions",
					      cJSON_DetachItemFromObjectCaseSensitive(st,
										      "conditions"));
			cJSON_Delete(st);
			text = cJSON_PrintUnformatted(body);
			cJSON_Delete(body);
			n = strlen(s->key) + 1;
			w = xcalloc(1, sizeof(*w) + n);
			w->ctl = ctl;
			memcpy(w->key, s->key, n);
			ref = obj_ref(ctl, o);
			ref.subresource = "status";
			/* The resourceVersion guards the conditions against a write we have not seen. */
			if (kube_patch(m->o.client, &ref, KUBE_PATCH_MERGE, text, NULL, stale_written,
				       w) < 0) {
				free(w);
				s->stale = false;
			} else {
				s->writing = true;
				m->stale_writes++;
				obj_event(ctl, o, NULL, "Warning", "Stale", msg);
			}
			cJSON_free(text);
		}
	}
}

void ctl_set_enabled(struct ctl *ctl, bool enabled, const char *setting)
{
	if (ctl->disabled == !enabled)
		return;
	ctl->disabled = !enabled;
	ctl->disabled_by = setting;
	log_info(NULL, enabled ? "Controller enabled" : "Controller disabled", "controller",
		 ctl->d.name, "setting", setting ? setting : "", NULL);
	ctl_requeue_all(ctl);
}

bool ctl_enabled(const struct ctl *ctl)
{
	return !ctl->disabled;
}

void ctl_set_concurrent(struct ctl *ctl, unsigned n)
{
	if (n)
		wq_set_max_concurrent(ctl->q, n);
}

void ctl_requeue_all(struct ctl *ctl)
{
	struct kobj *o;
	size_t it = 0;

	while ((o = informer_next(ctl->inf, &it)))
		wq_add(ctl->q, o->key);
}

void ctl_enqueue(struct ctl *ctl, const char *key)
{
	wq_add(ctl->q, key);
}

void ctl_watch(struct ctl *watcher, struct ctl *other, ctl_watch_cb cb)
{
	struct watcher *w = xcalloc(1, sizeof(*w));

	w->ctl = watcher;
	w->cb = cb;
	w->next = other->watchers;
	other->watchers = w;
}

/* `key` ("ns/name", or "name" when cluster-scoped) as Prometheus labels. */
static void object_labels(char *out, size_t size, const struct ctl *ctl, const char *key)
{
	const char *slash = strchr(key, '/');

	if (slash)
		snprintf(out, size, "kind=\"%s\",name=\"%s\",namespace=\"%.*s\"", ctl->d.kind,
			 slash + 1, (int)(slash - key), key);
	else
		snprintf(out, size, "kind=\"%s\",name=\"%s\",namespace=\"\"", ctl->d.kind, key);
}

static void print_histograms(const struct ctl *ctl, struct buf *out)
{
	char labels[WQ_KEY_MAX + 64];
	size_t it = 0;
	const char *key;
	void *v;
	int i;

	while (hmap_next(&ctl->hists, &it, &key, &v)) {
		const struct hist *h = v;
		uint64_t cum = 0;

		object_labels(labels, sizeof(labels), ctl, key);
		for (i = 0; i < NBUCKETS; i++) {
			cum += h->buckets[i];
			buf_addf(out, "gotk_reconcile_duration_seconds_bucket{%s,le=\"%g\"} %llu\n",
				 labels, bucket_le[i], (unsigned long long)cum);
		}
		buf_addf(out,
			 "gotk_reconcile_duration_seconds_bucket{%s,le=\"+Inf\"} %llu\n"
			 "gotk_reconcile_duration_seconds_sum{%s} %.6f\n"
			 "gotk_reconcile_duration_seconds_count{%s} %llu\n",
			 labels, (unsigned long long)h->count, labels, h->sum_s, labels,
			 (unsigned long long)h->count);
	}
}

/*
 * Flux's gauges, read from the informer's cache at scrape time, so they
 * can never disagree with the objects: gotk_reconcile_condition for the
 * Ready condition (1 for its status, 0 for the other two; nothing for an
 * object without one yet) and gotk_suspend_status (spec.suspend).
 */
static void print_gauges(const struct ctl *ctl, struct buf *out, bool suspend, bool drift)
{
	static const char *const statuses[] = { "True", "False", "Unknown" };
	char labels[WQ_KEY_MAX + 64];
	struct kobj *o;
	size_t it = 0;
	int i;

	while ((o = informer_next(ctl->inf, &it))) {
		const cJSON *c;

		object_labels(labels, sizeof(labels), ctl, o->key);
		if (suspend) {
			const cJSON *sp = yj_get(o->json, "/spec/suspend");

			buf_addf(out, "gotk_suspend_status{%s} %d\n", labels, cJSON_IsTrue(sp));
			continue;
		}
		c = cond_get(yj_get(o->json, "/status"), COND_DRIFTED);
		if (drift) {
			/* The count leads the condition's message (ctl_kustomization.c). */
			if (c)
				buf_addf(out, "cflux_drift_objects{%s} %ld\n", labels,
					 yj_get_str(c, "/message") ?
						 strtol(yj_get_str(c, "/message"), NULL, 10) : 0L);
			continue;
		}
		cJSON_ArrayForEach(c, yj_get(o->json, "/status/conditions")) {
			const char *st = yj_get_str(c, "/status");

			if (!streq_ptr(yj_get_str(c, "/type"), "Ready") || !st)
				continue;
			for (i = 0; i < 3; i++)
				buf_addf(out, "gotk_reconcile_condition{%s,type=\"Ready\",status=\"%s\"} %d\n",
					 labels, statuses[i], streq(st, statuses[i]));
			break;
		}
	}
}

void mgr_metrics(const struct mgr *m, struct buf *out)
{
	const struct ctl *ctl;

	buf_adds(out, "# HELP gotk_reconcile_duration_seconds The duration in seconds of a "
		      "reconciliation.\n# TYPE gotk_reconcile_duration_seconds histogram\n");
	for (ctl = m->ctls; ctl; ctl = ctl->next)
		print_histograms(ctl, out);
	buf_adds(out, "# HELP gotk_reconcile_condition 1 for the status an object's Ready "
		      "condition has, 0 for the others.\n# TYPE gotk_reconcile_condition gauge\n");
	for (ctl = m->ctls; ctl; ctl = ctl->next)
		print_gauges(ctl, out, false, false);
	buf_adds(out, "# HELP gotk_suspend_status 1 while an object's spec.suspend is true.\n"
		      "# TYPE gotk_suspend_status gauge\n");
	for (ctl = m->ctls; ctl; ctl = ctl->next)
		print_gauges(ctl, out, true, false);
	buf_adds(out, "# HELP cflux_drift_objects Objects a detect-only Kustomization left "
		      "drifted (its Drifted condition).\n# TYPE cflux_drift_objects gauge\n");
	for (ctl = m->ctls; ctl; ctl = ctl->next)
		print_gauges(ctl, out, false, true);
	if (m->o.stale_intervals) {
		uint64_t now = uv_now(m->loop);

		buf_adds(out, "# HELP cflux_stale_objects Objects with no successful reconcile for "
			      "--stale-threshold of their intervals.\n# TYPE cflux_stale_objects gauge\n");
		for (ctl = m->ctls; ctl; ctl = ctl->next) {
			size_t it = 0;
			unsigned n = 0;
			int64_t iv;
			void *v;

			while (hmap_next(&ctl->seen, &it, NULL, &v)) {
				const struct seen *s = v;

				n += stale_due(ctl, informer_get(ctl->inf, s->key), s, now, &iv);
			}
			buf_addf(out, "cflux_stale_objects{kind=\"%s\"} %u\n", ctl->d.kind, n);
		}
	}
	buf_adds(out, "# HELP controller_runtime_reconcile_total Total number of reconciliations "
		      "per controller.\n# TYPE controller_runtime_reconcile_total counter\n");
	for (ctl = m->ctls; ctl; ctl = ctl->next)
		buf_addf(out,
			 "controller_runtime_reconcile_total{controller=\"%s\",result=\"success\"} "
			 "%llu\n"
			 "controller_runtime_reconcile_total{controller=\"%s\",result=\"error\"} "
			 "%llu\n"
			 "controller_runtime_reconcile_total{controller=\"%s\",result=\"requeue_"
			 "after\"} %llu\n",
			 ctl->d.name, (unsigned long long)ctl->successes, ctl->d.name,
			 (unsigned long long)ctl->errors, ctl->d.name,
			 (unsigned long long)ctl->requeues);
	buf_adds(out, "# HELP workqueue_depth Current depth of workqueue.\n"
		      "# TYPE workqueue_depth gauge\n");
	for (ctl = m->ctls; ctl; ctl = ctl->next) {
		struct wq_stats ws;

		wq_get_stats(ctl->q, &ws);
		buf_addf(out, "workqueue_depth{name=\"%s\"} %u\n", ctl->d.name, ws.depth);
	}
}
