/*
 * source.c: shared parts of the source reconcilers (see source.h).
 */
#include <errno.h>
#include <stdio.h>

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
