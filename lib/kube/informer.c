/*
 * informer.c: list + watch + cache (see informer.h).
 *
 * DESIGN
 * States: IDLE -> LISTING -> WATCHING, with WAITING (a backoff timer)
 * between failed attempts, and CLOSING.  At most one request is in flight
 * at a time (a LIST page or the WATCH), held in `call`/`watch` so close
 * can cancel it.
 *
 * LIST: pages of `page_size` with `limit`/`continue`, collected into
 * `next` (a fresh map), so a relist never shows a half-updated cache.  The
 * first page is a quorum read (resourceVersion unset): "at least as fresh
 * as" anything a previous watch delivered, which the diff needs.  When the
 * last page arrives, the new map is diffed against the cache (ADD / UPDATE
 * when the resourceVersion differs / DELETE for keys that disappeared), the
 * maps are swapped, and the watch starts from the list's resourceVersion.
 * If a continue token expires mid-list (410), the list restarts.
 *
 * WATCH: from `rv`, allowWatchBookmarks, timeoutSeconds random in
 * [min, 2*min].  Each event updates `rv` (bookmarks only do that).  An
 * ADDED or MODIFIED whose object has the resourceVersion already cached is
 * dropped, so a resumed watch can never deliver a duplicate.  A normal end
 * re-watches at once; -ESTALE (410, as HTTP status or ERROR event)
 * relists; anything else waits out the backoff first.  The backoff resets
 * after two healthy minutes (BACKOFF_WATCH).
 *
 * Cached objects have metadata.managedFields removed (cache_copy()).
 *
 * Ownership: the cache owns one reference per kobj; the map's key points
 * into the kobj (kobj->key), which lives as long as the entry.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/backoff.h"
#include "base/hmap.h"
#include "base/log.h"
#include "base/str.h"
#include "kube/informer.h"
#include "base/banned.h"

enum inf_state { INF_IDLE, INF_LISTING, INF_WATCHING, INF_WAITING, INF_CLOSING };

struct informer {
	struct kube_client *c;
	struct informer_opts opts;
	char *group, *version, *resource, *ns, *lsel, *fsel;
	informer_cb cb;
	void *payload;
	enum inf_state state;
	struct hmap cache;
	struct hmap next;     /* the relist being collected */
	char *rv;
	char *cont;           /* continue token of the list in progress */
	char *list_rv;
	bool synced;
	struct kube_call *call;
	struct kube_watch *watch;
	uv_timer_t timer;
	struct backoff backoff;
	struct informer_stats stats;
	bool in_flight;
	bool timer_closed;
	void (*close_cb)(void *);
	void *close_payload;
};

static void start_list(struct informer *inf);

/*
 * A cached copy of `obj` without metadata.managedFields: nothing in the
 * operator reads them, and they are often half of an object's size
 * (controller-runtime's cache drops them the same way).
 */
static struct kobj *cache_copy(const cJSON *obj)
{
	cJSON *dup = cJSON_Duplicate(obj, 1);

	cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(dup, "metadata"),
						"managedFields");
	return kobj_new(dup);
}
static void start_watch(struct informer *inf);
static void maybe_free(struct informer *inf);

static void set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? xstrdup(s) : NULL;
}

static struct kube_ref make_ref(const struct informer *inf)
{
	struct kube_ref r = { .group = inf->group, .version = inf->version,
			      .resource = inf->resource, .ns = inf->ns };

	return r;
}

static void clear_map(struct hmap *m)
{
	size_t it = 0;
	void *v;

	while (hmap_next(m, &it, NULL, &v))
		kobj_unref(v);
	hmap_release(m);
}

int informer_new(struct kube_client *c, const struct informer_opts *o, informer_cb cb,
		 void *payload, struct informer **ret)
{
	struct informer *inf;
	struct backoff b = BACKOFF_WATCH;

	if (!o->ref.version || !o->ref.resource || !cb)
		return -EINVAL;
	inf = xcalloc(1, sizeof(*inf));
	inf->c = kube_client_ref(c);
	inf->opts = *o;
	set_str(&inf->group, o->ref.group);
	set_str(&inf->version, o->ref.version);
	set_str(&inf->resource, o->ref.resource);
	set_str(&inf->ns, o->ref.ns);
	set_str(&inf->lsel, o->label_selector);
	set_str(&inf->fsel, o->field_selector);
	if (!inf->opts.page_size)
		inf->opts.page_size = 500;
	if (!inf->opts.min_watch_timeout_s)
		inf->opts.min_watch_timeout_s = 300;
	inf->cb = cb;
	inf->payload = payload;
	inf->backoff = b;
	inf->rv = xstrdup("");
	hmap_init(&inf->cache);
	hmap_init(&inf->next);
	uv_timer_init(kube_client_loop(c), &inf->timer);
	inf->timer.data = inf;
	*ret = inf;
	return 0;
}

int informer_start(struct informer *inf)
{
	if (inf->state != INF_IDLE)
		return -EALREADY;
	start_list(inf);
	return 0;
}

bool informer_synced(const struct informer *inf)
{
	return inf->synced;
}

struct kobj *informer_get(const struct informer *inf, const char *key)
{
	return hmap_get(&inf->cache, key);
}

size_t informer_size(const struct informer *inf)
{
	return hmap_size(&inf->cache);
}

struct kobj *informer_next(const struct informer *inf, size_t *it)
{
	void *v;

	return hmap_next(&inf->cache, it, NULL, &v) ? v : NULL;
}

const char *informer_resource_version(const struct informer *inf)
{
	return inf->rv;
}

void informer_get_stats(const struct informer *inf, struct informer_stats *ret)
{
	*ret = inf->stats;
}

/* ---- retry ---- */

static void timer_fired(uv_timer_t *t)
{
	struct informer *inf = t->data;

	if (inf->state != INF_WAITING)
		return;
	/* After a wait we relist only if we have nothing to resume from. */
	if (inf->synced && inf->rv[0])
		start_watch(inf);
	else
		start_list(inf);
}

static void retry_later(struct informer *inf, const struct op_err *err)
{
	uint64_t delay = backoff_next(&inf->backoff, uv_now(kube_client_loop(inf->c)));

	inf->stats.errors++;
	if (err && err->code == -EAGAIN && err->retry_after > 0 &&
	    (uint64_t)err->retry_after * 1000 > delay)
		delay = (uint64_t)err->retry_after * 1000;
	log_debug(NULL, "Informer retrying", "resource", inf->resource, "error",
		  err ? err->msg : "", NULL);
	inf->state = INF_WAITING;
	uv_timer_start(&inf->timer, timer_fired, delay, 0);
}

/* ---- list ---- */

static void list_done(int r, const cJSON *obj, const struct op_err *err, void *payload);

static void request_page(struct informer *inf)
{
	struct kube_ref ref = make_ref(inf);
	struct kube_opts o = KUBE_OPTS_INIT;
	int r;

	o.label_selector = inf->lsel;
	o.field_selector = inf->fsel;
	o.limit = inf->opts.page_size;
	o.continue_token = inf->cont;
	o.ret_call = &inf->call;
	o.timeout_ms = 60000;
	r = kube_list(inf->c, &ref, &o, list_done, inf);
	if (r < 0) {
		struct op_err e;

		inf->call = NULL;
		op_err_set(&e, r, "cannot list '%s'", inf->resource);
		retry_later(inf, &e);
		return;
	}
	inf->in_flight = true;
}

static void start_list(struct informer *inf)
{
	inf->state = INF_LISTING;
	clear_map(&inf->next);
	hmap_init(&inf->next);
	set_str(&inf->cont, NULL);
	request_page(inf);
}

/* Apply the completed list: diff against the cache, swap, notify. */
static void apply_list(struct informer *inf)
{
	struct hmap old = inf->cache;
	size_t it = 0;
	void *v;

	inf->cache = inf->next;
	hmap_init(&inf->next);
	/* Events in a stable order: new/changed first, then deletions. */
	while (hmap_next(&inf->cache, &it, NULL, &v)) {
		struct kobj *o = v, *prev = hmap_remove(&old, o->key);

		if (!prev)
			inf->cb(inf, INFORMER_ADD, o, NULL, inf->payload);
		else if (!streq(prev->rv, o->rv))
			inf->cb(inf, INFORMER_UPDATE, o, prev, inf->payload);
		kobj_unref(prev);
		if (inf->state == INF_CLOSING)
			break;
	}
	it = 0;
	while (inf->state != INF_CLOSING && hmap_next(&old, &it, NULL, &v))
		inf->cb(inf, INFORMER_DELETE, v, NULL, inf->payload);
	clear_map(&old);
}

static void list_done(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct informer *inf = payload;
	const cJSON *items, *item, *meta;
	const char *cont = NULL, *rv = NULL;

	inf->call = NULL;
	inf->in_flight = false;
	if (inf->state == INF_CLOSING) {
		maybe_free(inf);
		return;
	}
	if (r < 0) {
		if (r == -ESTALE && inf->cont) {
			/* The continue token expired: start the list over. */
			start_list(inf);
			return;
		}
		retry_later(inf, err);
		return;
	}
	meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	items = cJSON_GetObjectItemCaseSensitive(obj, "items");
	if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(meta, "continue")))
		cont = cJSON_GetObjectItemCaseSensitive(meta, "continue")->valuestring;
	if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(meta, "resourceVersion")))
		rv = cJSON_GetObjectItemCaseSensitive(meta, "resourceVersion")->valuestring;
	cJSON_ArrayForEach(item, items)
	{
		struct kobj *o = cache_copy(item), *dup;

		if (!o)
			continue;
		dup = hmap_put(&inf->next, o->key, o);
		kobj_unref(dup);
	}
	if (cont && *cont) {
		set_str(&inf->cont, cont);
		request_page(inf);
		return;
	}
	set_str(&inf->cont, NULL);
	set_str(&inf->rv, rv ? rv : "");
	inf->stats.lists++;
	apply_list(inf);
	if (inf->state == INF_CLOSING) {
		maybe_free(inf);
		return;
	}
	inf->synced = true;
	start_watch(inf);
}

/* ---- watch ---- */

static int watch_event(const char *type, const cJSON *obj, void *payload)
{
	struct informer *inf = payload;
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *rvj = cJSON_GetObjectItemCaseSensitive(meta, "resourceVersion");
	struct kobj *o, *prev;

	if (inf->state == INF_CLOSING)
		return -ECANCELED;
	if (cJSON_IsString(rvj))
		set_str(&inf->rv, rvj->valuestring);
	if (streq(type, "BOOKMARK"))
		return 0;
	o = cache_copy(obj);
	if (!o)
		return 0;
	if (streq(type, "DELETED")) {
		prev = hmap_remove(&inf->cache, o->key);
		if (prev)
			inf->cb(inf, INFORMER_DELETE, prev, NULL, inf->payload);
		kobj_unref(prev);
		kobj_unref(o);
		return 0;
	}
	prev = hmap_get(&inf->cache, o->key);
	if (prev && streq(prev->rv, o->rv)) {
		/* Already seen (a resumed watch replaying): not a change. */
		kobj_unref(o);
		return 0;
	}
	hmap_put(&inf->cache, o->key, o);
	inf->cb(inf, prev ? INFORMER_UPDATE : INFORMER_ADD, o, prev, inf->payload);
	kobj_unref(prev);
	return inf->state == INF_CLOSING ? -ECANCELED : 0;
}

static void watch_done(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct informer *inf = payload;

	inf->watch = NULL;
	inf->in_flight = false;
	if (inf->state == INF_CLOSING) {
		maybe_free(inf);
		return;
	}
	if (r == 0) {
		/* The server ended the watch (timeout): resume where we were. */
		start_watch(inf);
		return;
	}
	if (r == -ESTALE) {
		inf->stats.relists_410++;
		start_list(inf);
		return;
	}
	retry_later(inf, err);
}

static void start_watch(struct informer *inf)
{
	struct kube_ref ref = make_ref(inf);
	struct kube_opts o = KUBE_OPTS_INIT;
	unsigned min = inf->opts.min_watch_timeout_s;
	int r;

	inf->state = INF_WATCHING;
	o.label_selector = inf->lsel;
	o.field_selector = inf->fsel;
	o.resource_version = inf->rv;
	o.allow_bookmarks = true;
	/* Spread reconnects of many informers over [min, 2*min]. */
	o.timeout_seconds = (long)(min + rand_u64() % (min + 1));
	r = kube_watch(inf->c, &ref, &o, watch_event, watch_done, inf, &inf->watch);
	if (r < 0) {
		struct op_err e;

		inf->watch = NULL;
		op_err_set(&e, r, "cannot watch '%s'", inf->resource);
		retry_later(inf, &e);
		return;
	}
	inf->stats.watches++;
	inf->in_flight = true;
}

/* ---- close ---- */

static void timer_closed(uv_handle_t *h)
{
	struct informer *inf = h->data;

	inf->timer_closed = true;
	maybe_free(inf);
}

static void maybe_free(struct informer *inf)
{
	void (*cb)(void *);
	void *p;

	if (inf->in_flight || !inf->timer_closed)
		return;
	cb = inf->close_cb;
	p = inf->close_payload;
	clear_map(&inf->cache);
	clear_map(&inf->next);
	kube_client_unref(inf->c);
	free(inf->group);
	free(inf->version);
	free(inf->resource);
	free(inf->ns);
	free(inf->lsel);
	free(inf->fsel);
	free(inf->rv);
	free(inf->cont);
	free(inf->list_rv);
	free(inf);
	if (cb)
		cb(p);
}

void informer_close(struct informer *inf, void (*close_cb)(void *payload), void *payload)
{
	if (!inf)
		return;
	inf->state = INF_CLOSING;
	inf->close_cb = close_cb;
	inf->close_payload = payload;
	uv_timer_stop(&inf->timer);
	uv_close((uv_handle_t *)&inf->timer, timer_closed);
	if (inf->watch)
		kube_watch_stop(inf->watch);
	else if (inf->call)
		kube_call_cancel(inf->call);
}
