/*
 * mapper.c: discovery cache (see mapper.h).
 *
 * DESIGN
 * One `struct gv` per group-version seen, holding its resource list (kind,
 * plural, namespaced), the loop time it was fetched, and the waiters of
 * an in-flight discovery request.  Subresources ("deployments/status") are
 * skipped.  Entries are never freed before the mapper: a later discovery
 * marks a kind that left it gone, so a mapping handed out stays valid.
 * A group-version the server does not serve (404) is cached as empty,
 * so a manifest full of unknown kinds costs one request per second at
 * most, not one per object.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/hmap.h"
#include "base/str.h"
#include "kube/mapper.h"
#include "base/banned.h"

#define REDISCOVER_MS 1000

struct waiter {
	char *kind;
	mapper_cb cb;
	void *payload;
	struct waiter *next;
};

/*
 * A mapping handed out stays where it is while the mapper lives: entries
 * are allocated one by one and never freed before mapper_free(); one that
 * left discovery is only marked gone.
 */
struct entry {
	struct kube_mapping m;
	bool gone;
};

struct gv {
	char *key;           /* "group/version" or "version" */
	char *group, *version;
	struct entry **v;
	size_t n;
	uint64_t fetched_at; /* uv_now(); 0: never */
	bool stale;          /* mapper_invalidate(): ask again before answering */
	bool stale_again;    /* invalidated while a request was in flight */
	bool in_flight;
	struct waiter *waiters;
	struct kube_mapper *mp;
	struct kube_call *call;
};

struct kube_mapper {
	struct kube_client *c;
	struct hmap gvs;
};

int mapper_new(struct kube_client *c, struct kube_mapper **ret)
{
	struct kube_mapper *mp = xcalloc(1, sizeof(*mp));

	mp->c = kube_client_ref(c);
	hmap_init(&mp->gvs);
	*ret = mp;
	return 0;
}

static void gv_free_entries(struct gv *g)
{
	size_t i;

	for (i = 0; i < g->n; i++) {
		free((char *)g->v[i]->m.resource);
		free((char *)g->v[i]->m.kind);
		free(g->v[i]);
	}
	free(g->v);
	g->v = NULL;
	g->n = 0;
}

/* The entry of `kind`, gone ones included when `any`. */
static struct entry *gv_entry(const struct gv *g, const char *kind, bool any)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		if ((any || !g->v[i]->gone) && streq(g->v[i]->m.kind, kind))
			return g->v[i];
	return NULL;
}

static const struct kube_mapping *gv_find(const struct gv *g, const char *kind)
{
	const struct entry *e = gv_entry(g, kind, false);

	return e ? &e->m : NULL;
}

static struct gv *gv_get(struct kube_mapper *mp, const char *api_version)
{
	struct gv *g = hmap_get(&mp->gvs, api_version);
	const char *slash;

	if (g)
		return g;
	g = xcalloc(1, sizeof(*g));
	g->key = xstrdup(api_version);
	slash = strchr(api_version, '/');
	g->group = slash ? xstrndup(api_version, (size_t)(slash - api_version)) : xstrdup("");
	g->version = xstrdup(slash ? slash + 1 : api_version);
	g->mp = mp;
	hmap_put(&mp->gvs, g->key, g);
	return g;
}

const struct kube_mapping *mapper_lookup(struct kube_mapper *mp, const char *api_version,
					 const char *kind)
{
	struct gv *g = hmap_get(&mp->gvs, api_version);

	return g ? gv_find(g, kind) : NULL;
}

static void answer(struct gv *g, struct waiter *w, const struct op_err *fail)
{
	const struct kube_mapping *m = fail ? NULL : gv_find(g, w->kind);
	struct op_err err;

	if (fail) {
		w->cb(fail->code, NULL, fail, w->payload);
	} else if (!m) {
		op_err_set(&err, -ENOENT, "no matches for kind \"%s\" in version \"%s\"", w->kind,
			   g->key);
		w->cb(-ENOENT, NULL, &err, w->payload);
	} else {
		w->cb(0, m, NULL, w->payload);
	}
	free(w->kind);
	free(w);
}

static void discovered(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct gv *g = payload;
	struct waiter *w, *list;
	const cJSON *res;

	g->in_flight = false;
	g->call = NULL;
	if (r == 0 || r == -ENOENT) {
		size_t i;

		for (i = 0; i < g->n; i++)
			g->v[i]->gone = true;
		g->fetched_at = uv_now(kube_client_loop(g->mp->c));
		/* An answer to a request older than the invalidation is stale too. */
		g->stale = g->stale_again;
		g->stale_again = false;
		cJSON_ArrayForEach(res, cJSON_GetObjectItemCaseSensitive(obj, "resources"))
		{
			const cJSON *name = cJSON_GetObjectItemCaseSensitive(res, "name");
			const cJSON *kind = cJSON_GetObjectItemCaseSensitive(res, "kind");
			struct entry *e;

			if (!cJSON_IsString(name) || !cJSON_IsString(kind) ||
			    strchr(name->valuestring, '/'))
				continue;
			e = gv_entry(g, kind->valuestring, true);
			if (!e || !streq(e->m.resource, name->valuestring)) {
				e = xcalloc(1, sizeof(*e));
				e->m.group = g->group;
				e->m.version = g->version;
				e->m.resource = xstrdup(name->valuestring);
				e->m.kind = xstrdup(kind->valuestring);
				g->v = xrealloc(g->v, (g->n + 1) * sizeof(*g->v));
				/* Newest first, so a renamed resource wins over the gone one. */
				memmove(g->v + 1, g->v, g->n * sizeof(*g->v));
				g->v[0] = e;
				g->n++;
			}
			e->gone = false;
			e->m.namespaced = cJSON_IsTrue(
				cJSON_GetObjectItemCaseSensitive(res, "namespaced"));
		}
		err = NULL;
	}
	list = g->waiters;
	g->waiters = NULL;
	while ((w = list) != NULL) {
		list = w->next;
		answer(g, w, err);
	}
}

int mapper_resolve(struct kube_mapper *mp, const char *api_version, const char *kind,
		   mapper_cb cb, void *payload)
{
	struct gv *g = gv_get(mp, api_version);
	const struct kube_mapping *m = gv_find(g, kind);
	uint64_t now = uv_now(kube_client_loop(mp->c));
	struct waiter *w;

	if (m && !g->stale) {
		cb(0, m, NULL, payload);
		return 0;
	}
	w = xcalloc(1, sizeof(*w));
	w->kind = xstrdup(kind);
	w->cb = cb;
	w->payload = payload;
	if (!m && !g->stale && !g->in_flight && g->fetched_at &&
	    now - g->fetched_at < REDISCOVER_MS) {
		/* Asked a moment ago and it was not there. */
		answer(g, w, NULL);
		return 0;
	}
	w->next = g->waiters;
	g->waiters = w;
	if (!g->in_flight) {
		_cleanup_free_ char *path = g->group[0] ?
						    xasprintf("/apis/%s/%s", g->group, g->version) :
						    xasprintf("/api/%s", g->version);
		struct kube_opts o = KUBE_OPTS_INIT;
		int r;

		o.ret_call = &g->call;
		r = kube_get_raw(mp->c, path, &o, discovered, g);
		if (r < 0) {
			g->waiters = w->next;
			free(w->kind);
			free(w);
			return r;
		}
		g->in_flight = true;
	}
	return 0;
}

void mapper_invalidate(struct kube_mapper *mp)
{
	size_t it = 0;
	void *v;

	while (hmap_next(&mp->gvs, &it, NULL, &v)) {
		struct gv *g = v;

		g->stale = true;
		g->stale_again = g->in_flight;
	}
}

void mapper_free(struct kube_mapper *mp)
{
	size_t it = 0;
	void *v;

	if (!mp)
		return;
	while (hmap_next(&mp->gvs, &it, NULL, &v)) {
		struct gv *g = v;

		/* The cancelled request answers the waiters with -ECANCELED. */
		if (g->in_flight)
			kube_call_cancel(g->call);
		gv_free_entries(g);
		free(g->key);
		free(g->group);
		free(g->version);
		free(g);
	}
	hmap_release(&mp->gvs);
	kube_client_unref(mp->c);
	free(mp);
}
