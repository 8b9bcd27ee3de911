/*
 * mapper.c: discovery cache (see mapper.h).
 *
 * DESIGN
 * One `struct gv` per group-version seen, holding its resource list (kind,
 * plural, namespaced), the loop time it was fetched, and the waiters of
 * an in-flight discovery request.  Subresources ("deployments/status") are
 * skipped.  A group-version the server does not serve (404) is cached as
 * empty, so a manifest full of unknown kinds costs one request per second
 * at most, not one per object.
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

struct gv {
	char *key;           /* "group/version" or "version" */
	char *group, *version;
	struct kube_mapping *v;
	size_t n;
	uint64_t fetched_at; /* uv_now(); 0: never */
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

static void gv_clear(struct gv *g)
{
	size_t i;

	for (i = 0; i < g->n; i++) {
		free((char *)g->v[i].resource);
		free((char *)g->v[i].kind);
	}
	free(g->v);
	g->v = NULL;
	g->n = 0;
}

static const struct kube_mapping *gv_find(const struct gv *g, const char *kind)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		if (streq(g->v[i].kind, kind))
			return &g->v[i];
	return NULL;
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
		gv_clear(g);
		g->fetched_at = uv_now(kube_client_loop(g->mp->c));
		cJSON_ArrayForEach(res, cJSON_GetObjectItemCaseSensitive(obj, "resources"))
		{
			const cJSON *name = cJSON_GetObjectItemCaseSensitive(res, "name");
			const cJSON *kind = cJSON_GetObjectItemCaseSensitive(res, "kind");
			struct kube_mapping *m;

			if (!cJSON_IsString(name) || !cJSON_IsString(kind) ||
			    strchr(name->valuestring, '/'))
				continue;
			g->v = xrealloc(g->v, (g->n + 1) * sizeof(*g->v));
			m = &g->v[g->n++];
			m->group = g->group;
			m->version = g->version;
			m->resource = xstrdup(name->valuestring);
			m->kind = xstrdup(kind->valuestring);
			m->namespaced = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res,
										     "namespaced"));
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

	if (m) {
		cb(0, m, NULL, payload);
		return 0;
	}
	w = xcalloc(1, sizeof(*w));
	w->kind = xstrdup(kind);
	w->cb = cb;
	w->payload = payload;
	if (!g->in_flight && g->fetched_at && now - g->fetched_at < REDISCOVER_MS) {
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

		g->fetched_at = 0;
		if (!g->in_flight)
			gv_clear(g);
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
		gv_clear(g);
		free(g->key);
		free(g->group);
		free(g->version);
		free(g);
	}
	hmap_release(&mp->gvs);
	kube_client_unref(mp->c);
	free(mp);
}
