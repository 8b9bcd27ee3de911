/*
 * lease.c: leader election (see lease.h).
 *
 * DESIGN
 * One timer drives rounds: every retry period a GET of the Lease, then,
 * if we may take or keep it, an update (or a create when it is absent)
 * carrying the resourceVersion just read.  `observed_*` remember the last
 * holder and renewTime we saw and `observed_at` when they last changed;
 * another holder's lease is expired when observed_at + its duration has
 * passed on our clock.  `last_renew` is when we last wrote successfully as
 * leader; a leader that cannot renew within the renew deadline steps down.
 * At most one request is in flight (`call`), so close can cancel it.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/backoff.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "kube/lease.h"
#include "base/banned.h"

struct lease {
	struct kube_client *c;
	struct lease_opts o;
	char *ns, *name, *identity;
	uv_timer_t timer;
	struct kube_call *call;
	bool started, leader, stopping, closing, timer_closed;
	char *observed_holder, *observed_renew;
	uint64_t observed_at, last_renew;
	char *leader_seen; /* for on_new_leader */
	void (*done)(void *);
	void *done_payload;
};

static void round_start(uv_timer_t *t);

static void set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? xstrdup(s) : NULL;
}

static uint64_t now_ms(const struct lease *l)
{
	return uv_now(kube_client_loop(l->c));
}

int lease_new(struct kube_client *c, const struct lease_opts *o, struct lease **ret)
{
	struct lease *l;

	if (!o->ns || !o->name)
		return -EINVAL;
	l = xcalloc(1, sizeof(*l));
	l->c = kube_client_ref(c);
	l->o = *o;
	l->ns = xstrdup(o->ns);
	l->name = xstrdup(o->name);
	if (o->identity) {
		l->identity = xstrdup(o->identity);
	} else {
		char host[128], rnd[9];

		if (gethostname(host, sizeof(host)) < 0)
			snprintf(host, sizeof(host), "cflux");
		host[sizeof(host) - 1] = '\0';
		rand_hex(rnd, 8);
		l->identity = xasprintf("%s_%s", host, rnd);
	}
	if (!l->o.lease_duration_ms)
		l->o.lease_duration_ms = 15000;
	if (!l->o.renew_deadline_ms)
		l->o.renew_deadline_ms = 10000;
	if (!l->o.retry_period_ms)
		l->o.retry_period_ms = 2000;
	uv_timer_init(kube_client_loop(c), &l->timer);
	l->timer.data = l;
	*ret = l;
	return 0;
}

bool lease_is_leader(const struct lease *l)
{
	return l->leader;
}

const char *lease_identity(const struct lease *l)
{
	return l->identity;
}

int lease_start(struct lease *l)
{
	if (l->started)
		return -EALREADY;
	l->started = true;
	uv_timer_start(&l->timer, round_start, 0, 0);
	return 0;
}

static void next_round(struct lease *l)
{
	if (!l->closing && !l->stopping)
		uv_timer_start(&l->timer, round_start, l->o.retry_period_ms, 0);
}

static void become(struct lease *l, bool leader)
{
	if (l->leader == leader)
		return;
	l->leader = leader;
	if (leader && l->o.on_started_leading)
		l->o.on_started_leading(l->o.payload);
	if (!leader && l->o.on_stopped_leading)
		l->o.on_stopped_leading(l->o.payload);
}

static void note_leader(struct lease *l, const char *holder)
{
	if (!holder || !*holder || streq_ptr(holder, l->leader_seen))
		return;
	set_str(&l->leader_seen, holder);
	if (l->o.on_new_leader)
		l->o.on_new_leader(holder, l->o.payload);
}

/* The Lease we want written: held by us (or by nobody on release). */
static cJSON *lease_body(struct lease *l, const cJSON *old, bool release)
{
	cJSON *o = old ? cJSON_Duplicate(old, 1) : cJSON_CreateObject(), *spec;
	const char *holder = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "spec"),
						 "holderIdentity"));
	char now[RFC3339_MAX];
	bool ours = holder && streq(holder, l->identity);
	int transitions = 0;

	time_format_rfc3339_micro(time_now_ns(), now);
	if (!old) {
		cJSON *meta = cJSON_AddObjectToObject(o, "metadata");

		cJSON_AddStringToObject(o, "apiVersion", "coordination.k8s.io/v1");
		cJSON_AddStringToObject(o, "kind", "Lease");
		cJSON_AddStringToObject(meta, "name", l->name);
		cJSON_AddStringToObject(meta, "namespace", l->ns);
	}
	spec = cJSON_GetObjectItemCaseSensitive(o, "spec");
	if (!spec)
		spec = cJSON_AddObjectToObject(o, "spec");
	if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(spec, "leaseTransitions")))
		transitions = cJSON_GetObjectItemCaseSensitive(spec, "leaseTransitions")->valueint;
	if (!release && old && !ours)
		transitions++;
	cJSON_DeleteItemFromObjectCaseSensitive(spec, "holderIdentity");
	cJSON_DeleteItemFromObjectCaseSensitive(spec, "leaseDurationSeconds");
	cJSON_DeleteItemFromObjectCaseSensitive(spec, "renewTime");
	cJSON_DeleteItemFromObjectCaseSensitive(spec, "leaseTransitions");
	cJSON_AddStringToObject(spec, "holderIdentity", release ? "" : l->identity);
	cJSON_AddNumberToObject(spec, "leaseDurationSeconds",
				release ? 1 : (double)((l->o.lease_duration_ms + 999) / 1000));
	cJSON_AddStringToObject(spec, "renewTime", now);
	cJSON_AddNumberToObject(spec, "leaseTransitions", transitions);
	if (!release && !ours) {
		cJSON_DeleteItemFromObjectCaseSensitive(spec, "acquireTime");
		cJSON_AddStringToObject(spec, "acquireTime", now);
	}
	return o;
}

static void written(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct lease *l = payload;

	l->call = NULL;
	if (l->closing) {
		return;
	}
	if (r == 0) {
		l->last_renew = now_ms(l);
		set_str(&l->observed_holder, l->identity);
		l->observed_at = now_ms(l);
		note_leader(l, l->identity);
		become(l, true);
	} else {
		log_debug(NULL, "Lease update failed", "lease", l->name, "error",
			  err ? err->msg : "", NULL);
		if (l->leader && now_ms(l) - l->last_renew >= l->o.renew_deadline_ms)
			become(l, false);
	}
	next_round(l);
}

static void got(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct lease *l = payload;
	struct kube_ref ref = { .group = "coordination.k8s.io", .version = "v1",
				.resource = "leases", .ns = l->ns, .name = l->name };
	struct kube_opts o = KUBE_OPTS_INIT;
	const cJSON *spec;
	const char *holder, *renew;
	double dur;
	cJSON *body;
	int rc;

	l->call = NULL;
	if (l->closing)
		return;
	o.ret_call = &l->call;
	o.timeout_ms = l->o.renew_deadline_ms;
	if (r == -ENOENT) {
		body = lease_body(l, NULL, false);
		ref.name = NULL;
		rc = kube_create(l->c, &ref, body, &o, written, l);
		cJSON_Delete(body);
		if (rc < 0)
			next_round(l);
		return;
	}
	if (r < 0) {
		if (l->leader && now_ms(l) - l->last_renew >= l->o.renew_deadline_ms)
			become(l, false);
		next_round(l);
		return;
	}
	spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
	holder = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(spec, "holderIdentity"));
	renew = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(spec, "renewTime"));
	dur = cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(spec, "leaseDurationSeconds")) ?
		      cJSON_GetObjectItemCaseSensitive(spec, "leaseDurationSeconds")->valuedouble :
		      15;
	if (!streq_ptr(holder, l->observed_holder) || !streq_ptr(renew, l->observed_renew)) {
		set_str(&l->observed_holder, holder);
		set_str(&l->observed_renew, renew);
		l->observed_at = now_ms(l);
	}
	note_leader(l, holder);
	if (holder && *holder && !streq(holder, l->identity) &&
	    now_ms(l) < l->observed_at + (uint64_t)(dur * 1000)) {
		/* Someone else holds a live lease. */
		become(l, false);
		next_round(l);
		return;
	}
	body = lease_body(l, obj, false);
	rc = kube_update(l->c, &ref, body, &o, written, l);
	cJSON_Delete(body);
	if (rc < 0)
		next_round(l);
}

static void round_start(uv_timer_t *t)
{
	struct lease *l = t->data;
	struct kube_ref ref = { .group = "coordination.k8s.io", .version = "v1",
				.resource = "leases", .ns = l->ns, .name = l->name };
	struct kube_opts o = KUBE_OPTS_INIT;

	if (l->closing || l->stopping)
		return;
	o.ret_call = &l->call;
	o.timeout_ms = l->o.renew_deadline_ms;
	if (kube_get(l->c, &ref, &o, got, l) < 0)
		next_round(l);
}

static void released(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct lease *l = payload;

	l->call = NULL;
	if (l->done)
		l->done(l->done_payload);
}

static void release_got(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct lease *l = payload;
	struct kube_ref ref = { .group = "coordination.k8s.io", .version = "v1",
				.resource = "leases", .ns = l->ns, .name = l->name };
	struct kube_opts o = KUBE_OPTS_INIT;
	const char *holder;
	cJSON *body;

	l->call = NULL;
	holder = r == 0 ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
				  cJSON_GetObjectItemCaseSensitive(obj, "spec"), "holderIdentity")) :
			  NULL;
	if (!holder || !streq(holder, l->identity)) {
		released(0, NULL, NULL, l);
		return;
	}
	o.ret_call = &l->call;
	body = lease_body(l, obj, true);
	if (kube_update(l->c, &ref, body, &o, released, l) < 0)
		released(0, NULL, NULL, l);
	cJSON_Delete(body);
}

void lease_release(struct lease *l, void (*done)(void *payload), void *payload)
{
	struct kube_ref ref = { .group = "coordination.k8s.io", .version = "v1",
				.resource = "leases", .ns = l->ns, .name = l->name };
	struct kube_opts o = KUBE_OPTS_INIT;
	bool was = l->leader;

	l->stopping = true;
	l->done = done;
	l->done_payload = payload;
	uv_timer_stop(&l->timer);
	if (l->call)
		kube_call_cancel(l->call); /* its callback sees stopping and does nothing more */
	become(l, false);
	if (!was) {
		if (done)
			done(payload);
		return;
	}
	o.ret_call = &l->call;
	if (kube_get(l->c, &ref, &o, release_got, l) < 0 && done)
		done(payload);
}

static void timer_closed(uv_handle_t *h)
{
	struct lease *l = h->data;
	void (*cb)(void *) = l->done;
	void *p = l->done_payload;

	kube_client_unref(l->c);
	free(l->ns);
	free(l->name);
	free(l->identity);
	free(l->observed_holder);
	free(l->observed_renew);
	free(l->leader_seen);
	free(l);
	if (cb)
		cb(p);
}

void lease_close(struct lease *l, void (*cb)(void *payload), void *payload)
{
	if (!l)
		return;
	l->closing = true;
	l->done = cb;
	l->done_payload = payload;
	if (l->call)
		kube_call_cancel(l->call);
	uv_timer_stop(&l->timer);
	uv_close((uv_handle_t *)&l->timer, timer_closed);
}
