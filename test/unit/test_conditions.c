/*
 * test_conditions.c: operator/conditions.c — Flux's setter rules.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/str.h"
#include "base/time.h"
#include "harness.h"
#include "operator/conditions.h"
#include "yj/yj.h"

#define T0 (INT64_C(1700000000) * NSEC_PER_SEC + 123456789)
#define T1 (T0 + 60 * NSEC_PER_SEC)

static const char *field(const cJSON *status, const char *type, const char *key)
{
	const cJSON *c = cond_get(status, type);

	return c ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, key)) : NULL;
}

static const char *type_at(const cJSON *status, int i)
{
	const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(status, "conditions"), i);

	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "type"));
}

TEST(set_stamps_generation_and_truncated_time)
{
	cJSON *st = cJSON_CreateObject();
	const cJSON *c;

	cond_set(st, COND_READY, "True", "Succeeded", "stored artifact", 3, T0);
	c = cond_get(st, COND_READY);
	ASSERT_NOT_NULL(c);
	ASSERT_EQ((long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(c, "observedGeneration")),
		  3L);
	ASSERT_STREQ(field(st, COND_READY, "lastTransitionTime"), "2023-11-14T22:13:20Z");
	ASSERT_STREQ(field(st, COND_READY, "reason"), "Succeeded");
	ASSERT(cond_is_true(st, COND_READY));
	cJSON_Delete(st);
}

TEST(transition_time_moves_only_on_change)
{
	cJSON *st = cJSON_CreateObject();

	cond_set(st, COND_READY, "True", "Succeeded", "a", 1, T0);
	cond_set(st, COND_READY, "True", "Succeeded", "a", 2, T1);
	ASSERT_STREQ(field(st, COND_READY, "lastTransitionTime"), "2023-11-14T22:13:20Z");
	cond_set(st, COND_READY, "True", "Succeeded", "b", 2, T1);
	ASSERT_STREQ(field(st, COND_READY, "lastTransitionTime"), "2023-11-14T22:14:20Z");
	cond_set(st, COND_READY, "False", "GitOperationFailed", "b", 2, T1 + NSEC_PER_MIN);
	ASSERT_STREQ(field(st, COND_READY, "lastTransitionTime"), "2023-11-14T22:15:20Z");
	ASSERT(!cond_is_true(st, COND_READY));
	ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(st, "conditions")), 1);
	cJSON_Delete(st);
}

TEST(reconciling_and_stalled_exclude_each_other)
{
	cJSON *st = cJSON_CreateObject();

	cond_mark_reconciling(st, "Progressing", "building", 1, T0);
	ASSERT(cond_is_true(st, COND_RECONCILING));
	cond_mark_stalled(st, "URLInvalid", "bad url", 1, T0);
	ASSERT_NULL(cond_get(st, COND_RECONCILING));
	ASSERT(cond_is_true(st, COND_STALLED));
	cond_mark_reconciling(st, "Progressing", "again", 2, T0);
	ASSERT_NULL(cond_get(st, COND_STALLED));
	cond_delete(st, COND_RECONCILING);
	ASSERT_NULL(cond_get(st, COND_RECONCILING));
	cond_delete(st, "Absent");
	cJSON_Delete(st);
}

TEST(sort_order)
{
	cJSON *st = cJSON_CreateObject();

	cond_set(st, "FetchFailed", "True", "GitOperationFailed", "x", 1, T0);
	cond_set(st, "ArtifactInStorage", "True", "Succeeded", "x", 2, T0);
	cond_set(st, COND_READY, "False", "GitOperationFailed", "x", 2, T0);
	cond_set(st, COND_STALLED, "True", "x", "x", 2, T0);
	cond_set(st, "ArtifactOutdated", "True", "NewRevision", "x", 2, T0);
	ASSERT_STREQ(type_at(st, 0), "Stalled");
	ASSERT_STREQ(type_at(st, 1), "Ready");
	/* higher observedGeneration first, then by type */
	ASSERT_STREQ(type_at(st, 2), "ArtifactInStorage");
	ASSERT_STREQ(type_at(st, 3), "ArtifactOutdated");
	ASSERT_STREQ(type_at(st, 4), "FetchFailed");
	cJSON_Delete(st);
}

TEST(long_messages_are_cut_on_a_character_boundary)
{
	cJSON *st = cJSON_CreateObject();
	size_t n = COND_MESSAGE_MAX + 100, i;
	char *big = xmalloc(n + 1);
	const char *m;

	/* "é" is two bytes: make the cut point fall inside one. */
	for (i = 0; i + 1 < n; i += 2) {
		big[i] = (char)0xc3;
		big[i + 1] = (char)0xa9;
	}
	big[n - 1] = 'x';
	big[n] = 0;
	cond_set(st, COND_READY, "False", "BuildFailed", big, 1, T0);
	m = field(st, COND_READY, "message");
	ASSERT(strlen(m) <= COND_MESSAGE_MAX);
	ASSERT(str_endswith(m, "..."));
	ASSERT(((unsigned char)m[strlen(m) - 4] & 0xc0) == 0x80); /* ends after a whole "é" */
	ASSERT((unsigned char)m[strlen(m) - 5] == 0xc3);
	free(big);
	cJSON_Delete(st);
}

static const char *snap(const cJSON *st, int i, const char *key)
{
	const cJSON *s = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(st, "history"), i);
	const cJSON *v = yj_get(s, key);

	if (cJSON_IsNumber(v)) {
		static char n[32];

		snprintf(n, sizeof(n), "%d", (int)v->valuedouble);
		return n;
	}
	return cJSON_GetStringValue(v);
}

TEST(history_upsert_as_flux)
{
	cJSON *st = cJSON_CreateObject(), *meta = cJSON_CreateObject();
	int64_t s = NSEC_PER_SEC;
	char d[16];
	int i;

	cJSON_AddStringToObject(meta, "revision", "main@sha1:a");
	history_upsert(st, "sha256:a", T0, 1500 * NSEC_PER_MSEC, "ReconciliationSucceeded", meta);
	ASSERT_STREQ(snap(st, 0, "/digest"), "sha256:a");
	ASSERT_STREQ(snap(st, 0, "/firstReconciled"), "2023-11-14T22:13:20Z");
	ASSERT_STREQ(snap(st, 0, "/lastReconciledDuration"), "1.5s");
	ASSERT_STREQ(snap(st, 0, "/totalReconciliations"), "1");
	ASSERT_STREQ(snap(st, 0, "/metadata/revision"), "main@sha1:a");
	/* the same digest, another outcome: a snapshot of its own, in front */
	history_upsert(st, "sha256:a", T0 + s, s, "HealthCheckFailed", meta);
	ASSERT_STREQ(snap(st, 0, "/lastReconciledStatus"), "HealthCheckFailed");
	ASSERT_STREQ(snap(st, 1, "/lastReconciledStatus"), "ReconciliationSucceeded");
	/* the same digest and outcome again: counted, moved to the front, first time kept */
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "revision");
	cJSON_AddStringToObject(meta, "revision", "main@sha1:b");
	history_upsert(st, "sha256:a", T0 + 60 * s, 2 * s, "ReconciliationSucceeded", meta);
	ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(st, "history")), 2);
	ASSERT_STREQ(snap(st, 0, "/lastReconciledStatus"), "ReconciliationSucceeded");
	ASSERT_STREQ(snap(st, 0, "/totalReconciliations"), "2");
	ASSERT_STREQ(snap(st, 0, "/firstReconciled"), "2023-11-14T22:13:20Z");
	ASSERT_STREQ(snap(st, 0, "/lastReconciled"), "2023-11-14T22:14:20Z");
	ASSERT_STREQ(snap(st, 0, "/lastReconciledDuration"), "2s");
	ASSERT_STREQ(snap(st, 0, "/metadata/revision"), "main@sha1:b"); /* replaced */
	/* no metadata: none kept */
	history_upsert(st, "sha256:a", T0 + 61 * s, s, "ReconciliationSucceeded", NULL);
	ASSERT_NULL(snap(st, 0, "/metadata/revision"));
	/* at most HISTORY_MAX, the oldest dropped */
	for (i = 0; i < 6; i++) {
		snprintf(d, sizeof(d), "sha256:n%d", i);
		history_upsert(st, d, T0 + (100 + i) * s, s, "ReconciliationSucceeded", NULL);
	}
	ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(st, "history")), HISTORY_MAX);
	ASSERT_STREQ(snap(st, 0, "/digest"), "sha256:n5");
	ASSERT_STREQ(snap(st, 4, "/digest"), "sha256:n1");
	cJSON_Delete(meta);
	cJSON_Delete(st);
}
