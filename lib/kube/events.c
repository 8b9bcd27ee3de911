/*
 * events.c: the event recorder (see events.h).
 *
 * DESIGN
 * `cache` maps an aggregation key (involved object's uid or kind/ns/name,
 * type, reason, message) to the Event we wrote for it: its name,
 * namespace, count, first timestamp and when we last touched it.  Entries
 * form an LRU list capped at 4096; the oldest is dropped when full.
 * `buckets` holds the per-object spam limiter.
 *
 * The recorder is refcounted: every write in flight holds a reference,
 * so events_free() while writes are pending frees nothing they still use.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/backoff.h"
#include "base/buf.h"
#include "base/hmap.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "kube/events.h"
#include "base/banned.h"

#define CACHE_MAX 4096
#define AGGREGATE_MS (10 * 60 * 1000)
#define MESSAGE_MAX 1024
#define BUCKET_BURST 25.0
#define BUCKET_REFILL_MS (5 * 60 * 1000)

struct entry {
	char *key;
	char *ev_name, *ev_ns;
	unsigned count;
	int64_t first_ns;
	uint64_t last_ms;
	struct entry *prev, *next; /* LRU: head is the newest */
};

struct bucket {
	char *key;
	double tokens;
	uint64_t at_ms;
};

struct kevents {
	unsigned refs;
	struct kube_client *c;
	char *component, *host;
	struct hmap cache, buckets;
	struct entry *head, *tail;
	unsigned pending;
};

struct write {
	struct kevents *r;
	char *key;
	cJSON *event; /* the full Event, to create it if a patch finds it gone */
	char *ns;
};

static void entry_unlink(struct kevents *r, struct entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		r->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		r->tail = e->prev;
	e->prev = e->next = NULL;
}

static void entry_push(struct kevents *r, struct entry *e)
{
	e->next = r->head;
	if (r->head)
		r->head->prev = e;
	r->head = e;
	if (!r->tail)
		r->tail = e;
}

static void entry_free(struct entry *e)
{
	free(e->key);
	free(e->ev_name);
	free(e->ev_ns);
	free(e);
}

static void unref(struct kevents *r)
{
	size_t it = 0;
	void *v;

	if (--r->refs > 0)
		return;
	while (hmap_next(&r->cache, &it, NULL, &v))
		entry_free(v);
	hmap_release(&r->cache);
	it = 0;
	while (hmap_next(&r->buckets, &it, NULL, &v)) {
		free(((struct bucket *)v)->key);
		free(v);
	}
	hmap_release(&r->buckets);
	kube_client_unref(r->c);
	free(r->component);
	free(r->host);
	free(r);
}

int events_new(struct kube_client *c, const char *component, struct kevents **ret)
{
	struct kevents *r = xcalloc(1, sizeof(*r));
	char host[256];

	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	r->refs = 1;
	r->c = kube_client_ref(c);
	r->component = xstrdup(component);
	r->host = xstrdup(host);
	hmap_init(&r->cache);
	hmap_init(&r->buckets);
	*ret = r;
	return 0;
}

void events_free(struct kevents *r)
{
	if (r)
		unref(r);
}

unsigned events_pending(const struct kevents *r)
{
	return r->pending;
}

/* The spam filter: may this object have another event now? */
static bool bucket_take(struct kevents *r, const char *objkey)
{
	uint64_t now = uv_now(kube_client_loop(r->c));
	struct bucket *b = hmap_get(&r->buckets, objkey);

	if (!b) {
		if (hmap_size(&r->buckets) >= CACHE_MAX) {
			/* Forget everyone rather than grow without bound. */
			size_t it = 0;
			void *v;

			while (hmap_next(&r->buckets, &it, NULL, &v)) {
				free(((struct bucket *)v)->key);
				free(v);
			}
			hmap_release(&r->buckets);
			hmap_init(&r->buckets);
		}
		b = xcalloc(1, sizeof(*b));
		b->key = xstrdup(objkey);
		b->tokens = BUCKET_BURST;
		b->at_ms = now;
		hmap_put(&r->buckets, b->key, b);
	}
	b->tokens += (double)(now - b->at_ms) / BUCKET_REFILL_MS;
	if (b->tokens > BUCKET_BURST)
		b->tokens = BUCKET_BURST;
	b->at_ms = now;
	if (b->tokens < 1.0)
		return false;
	b->tokens -= 1.0;
	return true;
}

static void write_free(struct write *w)
{
	w->r->pending--;
	unref(w->r);
	free(w->key);
	free(w->ns);
	cJSON_Delete(w->event);
	free(w);
}

static void created(int rc, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct write *w = payload;

	if (rc < 0)
		log_debug(NULL, "Event not recorded", "error", err ? err->msg : "", NULL);
	write_free(w);
}

static void create_event(struct write *w)
{
	struct kube_ref ref = { .version = "v1", .resource = "events", .ns = w->ns };

	if (kube_create(w->r->c, &ref, w->event, NULL, created, w) < 0)
		write_free(w);
}

static void set_fresh_name(cJSON *event, const char *involved_name, char **ret_name)
{
	cJSON *meta = cJSON_GetObjectItemCaseSensitive(event, "metadata");
	char suffix[17];
	char *name;

	rand_hex(suffix, 16);
	name = xasprintf("%s.%s", involved_name, suffix);
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "name");
	cJSON_AddStringToObject(meta, "name", name);
	*ret_name = name;
}

static void patched(int rc, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct write *w = payload;
	struct entry *e;
	char *name = NULL;
	const cJSON *inv;

	if (rc != -ENOENT) {
		created(rc, obj, err, payload);
		return;
	}
	/* The Event expired (events live an hour in etcd): write it afresh. */
	inv = cJSON_GetObjectItemCaseSensitive(w->event, "involvedObject");
	set_fresh_name(w->event, cJSON_GetObjectItemCaseSensitive(inv, "name")->valuestring, &name);
	cJSON_ReplaceItemInObjectCaseSensitive(w->event, "count", cJSON_CreateNumber(1));
	e = hmap_get(&w->r->cache, w->key);
	if (e) {
		free(e->ev_name);
		e->ev_name = name;
		e->count = 1;
	} else {
		free(name);
	}
	create_event(w);
}

static void record_v(struct kevents *r, const struct kevent_obj *obj, const cJSON *annotations,
		     const char *type, const char *reason, const char *fmt, va_list ap)
	_printf_(6, 0);

void events_record(struct kevents *r, const struct kevent_obj *obj, const char *type,
		   const char *reason, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	record_v(r, obj, NULL, type, reason, fmt, ap);
	va_end(ap);
}

void events_record_annotated(struct kevents *r, const struct kevent_obj *obj,
			     const cJSON *annotations, const char *type, const char *reason,
			     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	record_v(r, obj, annotations, type, reason, fmt, ap);
	va_end(ap);
}

static void record_v(struct kevents *r, const struct kevent_obj *obj, const cJSON *annotations,
		     const char *type, const char *reason, const char *fmt, va_list ap)
{
	struct buf raw = BUF_INIT(64 * 1024), msg = BUF_INIT(64 * 1024);
	const char *ns = obj->ns && *obj->ns ? obj->ns : "default";
	char now[RFC3339_MAX], *objkey, *key;
	uint64_t now_ms = uv_now(kube_client_loop(r->c));
	struct entry *e;
	struct write *w;
	cJSON *ev, *meta, *inv;

	buf_vaddf(&raw, fmt, ap);
	log_redact_urls(&msg, raw.buf);
	buf_release(&raw);
	if (msg.len > MESSAGE_MAX) {
		/* Cut on a UTF-8 boundary. */
		size_t cut = MESSAGE_MAX;

		while (cut > 0 && ((unsigned char)msg.buf[cut] & 0xc0) == 0x80)
			cut--;
		buf_truncate(&msg, cut);
	}
	objkey = xasprintf("%s/%s/%s/%s", obj->kind ? obj->kind : "", ns, obj->name,
			   obj->uid ? obj->uid : "");
	if (!bucket_take(r, objkey)) {
		log_debug(NULL, "Event dropped by the spam filter", "object", objkey, "reason",
			  reason, NULL);
		free(objkey);
		buf_release(&msg);
		return;
	}
	key = xasprintf("%s\n%s\n%s\n%s", objkey, type, reason, msg.buf);
	free(objkey);
	time_format_rfc3339(time_now_ns(), now);

	ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "apiVersion", "v1");
	cJSON_AddStringToObject(ev, "kind", "Event");
	meta = cJSON_AddObjectToObject(ev, "metadata");
	cJSON_AddStringToObject(meta, "namespace", ns);
	if (annotations && annotations->child)
		cJSON_AddItemToObject(meta, "annotations", cJSON_Duplicate(annotations, true));
	inv = cJSON_AddObjectToObject(ev, "involvedObject");
	if (obj->api_version)
		cJSON_AddStringToObject(inv, "apiVersion", obj->api_version);
	if (obj->kind)
		cJSON_AddStringToObject(inv, "kind", obj->kind);
	cJSON_AddStringToObject(inv, "name", obj->name);
	if (obj->ns && *obj->ns)
		cJSON_AddStringToObject(inv, "namespace", obj->ns);
	if (obj->uid)
		cJSON_AddStringToObject(inv, "uid", obj->uid);
	if (obj->resource_version)
		cJSON_AddStringToObject(inv, "resourceVersion", obj->resource_version);
	cJSON_AddStringToObject(ev, "reason", reason);
	cJSON_AddStringToObject(ev, "message", msg.buf);
	cJSON_AddStringToObject(ev, "type", type);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(ev, "source"), "component", r->component);
	cJSON_AddStringToObject(ev, "reportingComponent", r->component);
	cJSON_AddStringToObject(ev, "reportingInstance", r->host);
	cJSON_AddStringToObject(ev, "lastTimestamp", now);
	buf_release(&msg);

	w = xcalloc(1, sizeof(*w));
	w->r = r;
	r->refs++;
	r->pending++;
	w->ns = xstrdup(ns);
	w->key = key;
	w->event = ev;

	e = hmap_get(&r->cache, key);
	if (e && now_ms - e->last_ms < AGGREGATE_MS) {
		/* A repeat: bump the count of the Event we wrote. */
		struct kube_ref ref = { .version = "v1", .resource = "events", .ns = e->ev_ns,
					.name = e->ev_name };
		char patch[256], first[RFC3339_MAX];

		e->count++;
		e->last_ms = now_ms;
		entry_unlink(r, e);
		entry_push(r, e);
		time_format_rfc3339(e->first_ns, first);
		cJSON_AddStringToObject(meta, "name", e->ev_name);
		cJSON_AddStringToObject(ev, "firstTimestamp", first);
		cJSON_AddNumberToObject(ev, "count", e->count);
		snprintf(patch, sizeof(patch), "{\"count\":%u,\"lastTimestamp\":\"%s\"}", e->count,
			 now);
		if (kube_patch(r->c, &ref, KUBE_PATCH_MERGE, patch, NULL, patched, w) < 0)
			write_free(w);
		return;
	}
	if (e) {
		/* Too old to aggregate: start over with a new Event. */
		hmap_remove(&r->cache, e->key);
		entry_unlink(r, e);
		entry_free(e);
	}
	if (hmap_size(&r->cache) >= CACHE_MAX) {
		struct entry *old = r->tail;

		hmap_remove(&r->cache, old->key);
		entry_unlink(r, old);
		entry_free(old);
	}
	e = xcalloc(1, sizeof(*e));
	e->key = xstrdup(key);
	e->ev_ns = xstrdup(ns);
	e->count = 1;
	e->first_ns = time_now_ns();
	e->last_ms = now_ms;
	set_fresh_name(ev, obj->name, &e->ev_name);
	cJSON_AddStringToObject(ev, "firstTimestamp", now);
	cJSON_AddNumberToObject(ev, "count", 1);
	hmap_put(&r->cache, e->key, e);
	entry_push(r, e);
	create_event(w);
}
