/*
 * conditions.c: status.conditions setter rules (see conditions.h).
 */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/str.h"
#include "base/time.h"
#include "conditions.h"
#include "base/banned.h"

static cJSON *conditions_of(cJSON *status)
{
	cJSON *c = cJSON_GetObjectItemCaseSensitive(status, "conditions");

	if (!cJSON_IsArray(c)) {
		cJSON_DeleteItemFromObjectCaseSensitive(status, "conditions");
		c = cJSON_AddArrayToObject(status, "conditions");
	}
	return c;
}

const cJSON *cond_get(const cJSON *status, const char *type)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(status, "conditions"), *it;

	cJSON_ArrayForEach(it, c)
	{
		const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "type"));

		if (t && streq(t, type))
			return it;
	}
	return NULL;
}

bool cond_is_true(const cJSON *status, const char *type)
{
	const cJSON *c = cond_get(status, type);
	const char *s = c ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "status")) :
			    NULL;

	return s && streq(s, "True");
}

void cond_delete(cJSON *status, const char *type)
{
	cJSON *c = cJSON_GetObjectItemCaseSensitive(status, "conditions"), *it;

	cJSON_ArrayForEach(it, c)
	{
		const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "type"));

		if (t && streq(t, type)) {
			cJSON_Delete(cJSON_DetachItemViaPointer(c, it));
			return;
		}
	}
}

/* `msg` cut to COND_MESSAGE_MAX bytes with "...", never inside a UTF-8 sequence. */
static char *trim_message(const char *msg)
{
	size_t n = strlen(msg), cut;
	char *out;

	if (n <= COND_MESSAGE_MAX)
		return xstrdup(msg);
	cut = COND_MESSAGE_MAX - 3;
	while (cut > 0 && ((unsigned char)msg[cut] & 0xc0) == 0x80)
		cut--;
	out = xmalloc(cut + 4);
	memcpy(out, msg, cut);
	memcpy(out + cut, "...", 4);
	return out;
}

static bool str_field_eq(const cJSON *o, const char *k, const char *v)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));

	return s && streq(s, v);
}

static void replace_str(cJSON *o, const char *k, const char *v)
{
	cJSON_DeleteItemFromObjectCaseSensitive(o, k);
	cJSON_AddStringToObject(o, k, v);
}

void cond_set(cJSON *status, const char *type, const char *cstatus, const char *reason,
	      const char *message, long gen, int64_t now_ns)
{
	cJSON *conds = conditions_of(status), *c = (cJSON *)cond_get(status, type);
	char *msg = trim_message(message ? message : "");
	char ts[RFC3339_MAX];
	bool changed;

	if (!c) {
		c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "type", type);
		cJSON_AddItemToArray(conds, c);
		changed = true;
	} else {
		changed = !str_field_eq(c, "status", cstatus) || !str_field_eq(c, "reason", reason) ||
			  !str_field_eq(c, "message", msg) ||
			  !cJSON_GetObjectItemCaseSensitive(c, "lastTransitionTime");
	}
	replace_str(c, "status", cstatus);
	cJSON_DeleteItemFromObjectCaseSensitive(c, "observedGeneration");
	cJSON_AddNumberToObject(c, "observedGeneration", (double)gen);
	if (changed) {
		time_format_rfc3339(now_ns - now_ns % NSEC_PER_SEC, ts);
		replace_str(c, "lastTransitionTime", ts);
	}
	replace_str(c, "reason", reason);
	replace_str(c, "message", msg);
	free(msg);
	cond_sort(status);
}

void cond_mark_reconciling(cJSON *status, const char *reason, const char *message, long gen,
			   int64_t now_ns)
{
	cond_delete(status, COND_STALLED);
	cond_set(status, COND_RECONCILING, "True", reason, message, gen, now_ns);
}

void cond_mark_stalled(cJSON *status, const char *reason, const char *message, long gen,
		       int64_t now_ns)
{
	cond_delete(status, COND_RECONCILING);
	cond_set(status, COND_STALLED, "True", reason, message, gen, now_ns);
}

static int rank(const char *type)
{
	if (streq(type, COND_STALLED))
		return 0;
	if (streq(type, COND_RECONCILING))
		return 1;
	if (streq(type, COND_READY))
		return 2;
	return 3;
}

static int cmp_cond(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	const char *tx = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "type"));
	const char *ty = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(y, "type"));
	double gx, gy;
	int rx, ry;

	tx = tx ? tx : "";
	ty = ty ? ty : "";
	rx = rank(tx);
	ry = rank(ty);
	if (rx != ry)
		return rx - ry;
	gx = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(x, "observedGeneration"));
	gy = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(y, "observedGeneration"));
	if (gx != gy && !(gx != gx) && !(gy != gy))
		return gx > gy ? -1 : 1;
	return strcmp(tx, ty);
}

void cond_sort(cJSON *status)
{
	cJSON *conds = cJSON_GetObjectItemCaseSensitive(status, "conditions"), **v;
	int n = cJSON_GetArraySize(conds), i;

	if (n < 2)
		return;
	v = xcalloc((size_t)n, sizeof(*v));
	for (i = n - 1; i >= 0; i--)
		v[i] = cJSON_DetachItemFromArray(conds, i);
	qsort(v, (size_t)n, sizeof(*v), cmp_cond);
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(conds, v[i]);
	free(v);
}

bool cond_ready_current(const cJSON *obj, long generation)
{
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(obj, "status");
	const cJSON *og = cJSON_GetObjectItemCaseSensitive(st, "observedGeneration");

	return cond_is_true(st, COND_READY) && cJSON_IsNumber(og) &&
	       (long)cJSON_GetNumberValue(og) == generation;
}

void history_upsert(cJSON *status, const char *digest, int64_t now_ns, int64_t took_ns,
		    const char *outcome, const cJSON *metadata)
{
	cJSON *h = cJSON_GetObjectItemCaseSensitive(status, "history"), *s = NULL, *e;
	char now[RFC3339_MAX], took[DURATION_MAX];
	int i = 0;

	if (!cJSON_IsArray(h)) {
		cJSON_DeleteItemFromObjectCaseSensitive(status, "history");
		h = cJSON_AddArrayToObject(status, "history");
	}
	time_format_rfc3339(now_ns, now);
	duration_format(took_ns, took);
	cJSON_ArrayForEach(e, h) {
		if (streq_ptr(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "digest")),
			      digest) &&
		    streq_ptr(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
				      e, "lastReconciledStatus")), outcome)) {
			s = cJSON_DetachItemFromArray(h, i);
			break;
		}
		i++;
	}
	if (s) {
		double n = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(
			s, "totalReconciliations"));

		cJSON_DeleteItemFromObjectCaseSensitive(s, "lastReconciled");
		cJSON_DeleteItemFromObjectCaseSensitive(s, "lastReconciledDuration");
		cJSON_DeleteItemFromObjectCaseSensitive(s, "totalReconciliations");
		cJSON_DeleteItemFromObjectCaseSensitive(s, "metadata");
		cJSON_AddStringToObject(s, "lastReconciled", now);
		cJSON_AddStringToObject(s, "lastReconciledDuration", took);
		cJSON_AddNumberToObject(s, "totalReconciliations", (n == n ? n : 0) + 1);
	} else {
		s = cJSON_CreateObject();
		cJSON_AddStringToObject(s, "digest", digest);
		cJSON_AddStringToObject(s, "firstReconciled", now);
		cJSON_AddStringToObject(s, "lastReconciled", now);
		cJSON_AddStringToObject(s, "lastReconciledDuration", took);
		cJSON_AddStringToObject(s, "lastReconciledStatus", outcome);
		cJSON_AddNumberToObject(s, "totalReconciliations", 1);
	}
	if (cJSON_GetArraySize(metadata) > 0)
		cJSON_AddItemToObject(s, "metadata", cJSON_Duplicate(metadata, 1));
	cJSON_InsertItemInArray(h, 0, s);
	while (cJSON_GetArraySize(h) > HISTORY_MAX)
		cJSON_DeleteItemFromArray(h, HISTORY_MAX);
}
