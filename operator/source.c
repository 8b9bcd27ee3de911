/*
 * source.c: shared parts of the source reconcilers (see source.h).
 */
#include <errno.h>
#include <stdio.h>

#include "base/alloc.h"
#include "base/log.h"
#include "conditions.h"
#include "base/time.h"
#include "source.h"
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
