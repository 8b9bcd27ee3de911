/*
 * source.c: shared parts of the source reconcilers (see source.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/alloc.h"
#include "base/hmap.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "conditions.h"
#include "source.h"
#include "yj/yj.h"
#include "base/banned.h"

int source_durations(const struct kobj *o, int64_t *ret_interval_ns, unsigned *ret_timeout_s,
		     const char **ret_reason, char *msg, size_t n)
{
	const char *iv = kobj_str(o, "spec", "interval", NULL);
	const char *to = kobj_str(o, "spec", "timeout", NULL);
	int64_t interval_ns, timeout_ns = 60 * NSEC_PER_SEC;

	if (!iv || duration_parse(iv, &interval_ns) < 0 || interval_ns <= 0) {
		snprintf(msg, n, "invalid interval '%s'", iv ? iv : "");
		*ret_reason = "InvalidInterval";
		return -EINVAL;
	}
	if (to && (duration_parse(to, &timeout_ns) < 0 || timeout_ns <= 0)) {
		snprintf(msg, n, "invalid timeout '%s'", to);
		*ret_reason = "InvalidTimeout";
		return -EINVAL;
	}
	*ret_interval_ns = interval_ns;
	*ret_timeout_s = (unsigned)((timeout_ns + NSEC_PER_SEC - 1) / NSEC_PER_SEC);
	return 0;
}

void source_finalize(struct rc *rc, struct storage *st)
{
	storage_remove_all(st, ctl_desc(rc->ctl)->kind, rc->obj->ns, rc->obj->name);
	rc_finalized(rc);
}

char *source_strdup(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

void source_fail(struct rc *rc, const char *cond, const char *reason, const char *msg, bool stall)
{
	long gen = rc_gen(rc);
	int64_t now = time_now_ns();

	cond_set(rc->status, cond, "True", reason, msg, gen, now);
	rc_event(rc, "Warning", reason, "%s", msg);
	log_error(NULL, "Reconciler error", "controller", ctl_desc(rc->ctl)->name, "object",
		  rc->key, "reason", reason, "error", msg, NULL);
	if (stall) {
		rc_stall(rc, reason, msg);
		return;
	}
	cond_set(rc->status, COND_READY, "False", reason, msg, gen, now);
	rc_retry(rc);
}

void source_annotate(struct rc *rc)
{
	rc_annotate(rc, "revision", yj_get_str(rc->status, "/artifact/revision"));
	rc_annotate(rc, "digest", yj_get_str(rc->status, "/artifact/digest"));
}

bool source_stored(struct rc *rc, const struct storage *st, const struct source_stored *s)
{
	cJSON *status = rc->status, *art;
	long gen = rc_gen(rc);
	int64_t now = time_now_ns();
	bool changed = false;

	if (s->fresh) {
		changed = !streq_ptr(yj_get_str(status, "/artifact/revision"), s->revision) ||
			  !streq_ptr(yj_get_str(status, "/artifact/digest"), s->ai->digest);
		art = storage_artifact(st, s->rel, s->revision, s->ai, now);
		if (s->metadata)
			cJSON_AddItemToObject(art, "metadata", cJSON_Duplicate(s->metadata, 1));
		cJSON_DeleteItemFromObjectCaseSensitive(status, "artifact");
		cJSON_AddItemToObject(status, "artifact", art);
	} else if ((art = cJSON_GetObjectItemCaseSensitive(status, "artifact"))) {
		storage_artifact_refresh(st, art);
	}
	cond_delete(status, COND_STALLED);
	cond_delete(status, "FetchFailed");
	cond_delete(status, "StorageOperationFailed");
	cond_delete(status, "ArtifactOutdated");
	cond_set(status, "ArtifactInStorage", "True", s->reason ? s->reason : "Succeeded", s->msg,
		 gen, now);
	cond_set(status, COND_READY, "True", s->reason ? s->reason : "Succeeded", s->msg, gen, now);
	cJSON_DeleteItemFromObjectCaseSensitive(status, "observedIgnore");
	if (s->ignore)
		cJSON_AddStringToObject(status, "observedIgnore", s->ignore);
	if (changed)
		source_annotate(rc);
	return changed;
}

/* ---- the startup sweep ---- */

struct sweep {
	uv_work_t work;
	struct storage *st;
	char *watch_ns;   /* NULL: all */
	char **kinds;     /* NULL-terminated */
	size_t n_kinds;
	struct hmap live; /* "<kind lower-cased>/<ns>/<name>" -> itself */
	time_t t0;        /* when the snapshot was taken */
	int removed;
};

static char *live_key(const char *kind, const char *ns, const char *name)
{
	char *k = xasprintf("%s/%s/%s", kind, ns, name);

	for (char *p = k; *p && *p != '/'; p++)
		*p = (char)tolower((unsigned char)*p);
	return k;
}

/* Changed since the snapshot: an object created (and stored) meanwhile. */
static bool newer(const char *dir, time_t t0)
{
	struct stat sb;

	return stat(dir, &sb) == 0 && sb.st_mtime >= t0;
}

static bool sweep_keep(const char *kind, const char *ns, const char *name, void *payload)
{
	struct sweep *sw = payload;
	_cleanup_free_ char *key = live_key(kind, ns, name), *rel = NULL, *dir = NULL,
			    *cache = NULL;

	if ((sw->watch_ns && !streq(ns, sw->watch_ns)) || hmap_get(&sw->live, key))
		return true;
	rel = storage_rel_path(kind, ns, name, "");
	dir = storage_abs(sw->st, rel);
	cache = storage_cache_dir(sw->st, kind, ns, name);
	return newer(dir, sw->t0) || newer(cache, sw->t0);
}

static void sweep_work(uv_work_t *w)
{
	struct sweep *sw = w->data;

	sw->removed = storage_sweep(sw->st, (const char *const *)sw->kinds, sweep_keep, sw);
}

static void sweep_done(uv_work_t *w, int status)
{
	struct sweep *sw = w->data;
	const char *key;
	size_t it = 0;
	void *v;

	if (status == 0 && sw->removed > 0) {
		char n[16];

		snprintf(n, sizeof(n), "%d", sw->removed);
		log_info(NULL, "Removed the storage of objects deleted while stopped", "directories",
			 n, NULL);
	}
	while (hmap_next(&sw->live, &it, &key, &v))
		free(v);
	hmap_release(&sw->live);
	for (size_t i = 0; i < sw->n_kinds; i++)
		free(sw->kinds[i]);
	free(sw->kinds);
	free(sw->watch_ns);
	free(sw);
}

void source_sweep(uv_loop_t *loop, const struct mgr *m, struct storage *st, const char *watch_ns)
{
	struct sweep *sw = xcalloc(1, sizeof(*sw));
	const struct ctl *ctl = NULL;

	sw->st = st;
	sw->watch_ns = watch_ns && *watch_ns ? xstrdup(watch_ns) : NULL;
	sw->t0 = time(NULL);
	hmap_init(&sw->live);
	while ((ctl = mgr_next_source(m, ctl))) {
		const char *kind = ctl_desc(ctl)->kind;
		struct informer *inf = ctl_informer(ctl);
		struct kobj *o;
		size_t it = 0;

		sw->kinds = xrealloc(sw->kinds, (sw->n_kinds + 2) * sizeof(*sw->kinds));
		sw->kinds[sw->n_kinds++] = xstrdup(kind);
		sw->kinds[sw->n_kinds] = NULL;
		while ((o = informer_next(inf, &it))) {
			char *key = live_key(kind, o->ns, o->name);

			free(hmap_put(&sw->live, key, key)); /* keys are unique: NULL */
		}
	}
	sw->work.data = sw;
	if (!sw->kinds || uv_queue_work(loop, &sw->work, sweep_work, sweep_done) < 0)
		sweep_done(&sw->work, -ECANCELED);
}
