/*
 * coalesce.c: user values over chart defaults, as chartutil's coalesce.go
 * in Helm v3.21 does it.
 *
 * DESIGN
 * Three walks, transcribed rule for rule because the results are
 * observable in templates:
 *  - coalesce_values(): each key of the chart's values.yaml missing from
 *    the user's map is copied in; a user null deletes the key (coalesce
 *    mode) or stays (merge mode); maps recurse, in merge mode for keys
 *    that name a subchart.
 *  - coalesce_tables() (coalesceTablesFullKey): src fills dst's missing
 *    keys; a dst null is deleted when src held a non-null value
 *    (coalesce mode; Helm v3.21's srcOriginalNonNil rule, so a null in
 *    both stays), kept otherwise; a table never replaces a scalar or the
 *    reverse.
 *  - coalesce_deps()/coalesce_globals(): for each dependency, its table
 *    (created if absent; a non-table is "type mismatch on x") first
 *    receives the parent's globals (the parent's win), then the subchart
 *    coalesces recursively.
 * Go shares nested maps between the trees in a few places (copyMap is
 * shallow); here every copy is deep, which differs only when a chart
 * later mutates one of two aliases of the same table.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/str.h"
#include "helm/internal.h"
#include "yj/yj.h"
#include "base/banned.h"

static void put(cJSON *obj, const char *key, cJSON *val)
{
	cJSON *old = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (old)
		cJSON_ReplaceItemInObjectCaseSensitive(obj, key, val);
	else
		cJSON_AddItemToObject(obj, key, val);
}

static void coalesce_tables(cJSON *dst, const cJSON *src, bool merge)
{
	const cJSON *s;

	cJSON_ArrayForEach(s, src) {
		cJSON *d = cJSON_GetObjectItemCaseSensitive(dst, s->string);

		if (d && cJSON_IsNull(d)) {
			if (!merge && !cJSON_IsNull(s))
				cJSON_DeleteItemFromObjectCaseSensitive(dst, s->string);
			continue;
		}
		if (!d) {
			cJSON_AddItemToObject(dst, s->string, cJSON_Duplicate(s, 1));
			continue;
		}
		if (cJSON_IsObject(s) && cJSON_IsObject(d))
			coalesce_tables(d, s, merge);
		/* A table over a scalar or the reverse: dst wins (Helm warns). */
	}
}

void helm__coalesce_tables(cJSON *dst, const cJSON *src, bool merge)
{
	if (src && dst)
		coalesce_tables(dst, src, merge);
}

void helm_values_coalesce(cJSON *dst, const cJSON *src)
{
	helm__coalesce_tables(dst, src, false);
}

static bool is_dep_name(const struct helm__node *n, const char *key)
{
	size_t i;

	for (i = 0; i < n->ndeps; i++)
		if (streq(n->deps[i]->md.name, key))
			return true;
	return false;
}

static void coalesce_values(const struct helm__node *n, cJSON *v, bool merge)
{
	const cJSON *val;

	cJSON_ArrayForEach(val, n->values) {
		cJSON *value = cJSON_GetObjectItemCaseSensitive(v, val->string);

		if (!value) {
			cJSON_AddItemToObject(v, val->string, cJSON_Duplicate(val, 1));
		} else if (cJSON_IsNull(value) && !merge) {
			cJSON_DeleteItemFromObjectCaseSensitive(v, val->string);
		} else if (cJSON_IsObject(value) && cJSON_IsObject(val)) {
			coalesce_tables(value, val, merge || is_dep_name(n, val->string));
		}
	}
}

/* Merge the parent's `global` table into the subchart's values `dest`. */
static void coalesce_globals(cJSON *dest, const cJSON *src)
{
	cJSON *dg = cJSON_GetObjectItemCaseSensitive(dest, "global");
	const cJSON *sg = cJSON_GetObjectItemCaseSensitive(src, "global"), *s;
	bool fresh = false;

	if (!dg) {
		dg = cJSON_CreateObject();
		fresh = true;
	} else if (!cJSON_IsObject(dg)) {
		return; /* Helm: "skipping globals because destination global is not a table" */
	}
	if (sg && !cJSON_IsObject(sg)) {
		if (fresh)
			cJSON_Delete(dg);
		return;
	}
	cJSON_ArrayForEach(s, sg) {
		cJSON *d = cJSON_GetObjectItemCaseSensitive(dg, s->string);

		if (cJSON_IsObject(s)) {
			cJSON *vv = cJSON_Duplicate(s, 1);

			if (!d) {
				cJSON_AddItemToObject(dg, s->string, vv);
			} else if (!cJSON_IsObject(d)) {
				cJSON_Delete(vv); /* "cannot merge map onto non-map" */
			} else {
				/* The parent's table wins; the subchart's fills it in. */
				coalesce_tables(vv, d, true);
				cJSON_ReplaceItemInObjectCaseSensitive(dg, s->string, vv);
			}
		} else if (d && cJSON_IsObject(d)) {
			continue; /* "key is table. Skipping" */
		} else {
			put(dg, s->string, cJSON_Duplicate(s, 1));
		}
	}
	if (fresh)
		cJSON_AddItemToObject(dest, "global", dg);
}

/* fmt's %t of a non-bool value, for "type mismatch on x: %t". */
static void bad_t(const cJSON *v, char *out, size_t n)
{
	char num[64];

	if (!v || cJSON_IsNull(v)) {
		snprintf(out, n, "%%!t(<nil>)");
	} else if (cJSON_IsBool(v)) {
		snprintf(out, n, "%s", cJSON_IsTrue(v) ? "true" : "false");
	} else if (cJSON_IsString(v)) {
		snprintf(out, n, "%%!t(string=%s)", v->valuestring);
	} else if (cJSON_IsRaw(v)) {
		snprintf(out, n, "%%!t(int64=%s)", v->valuestring);
	} else if (cJSON_IsNumber(v)) {
		yj_format_float(v->valuedouble, 64, false, num, sizeof(num));
		snprintf(out, n, "%%!t(float64=%s)", num);
	} else {
		snprintf(out, n, "%%!t([]interface {}=[...])");
	}
}

static int coalesce(const struct helm__node *n, cJSON *dest, bool merge, struct op_err *err);

static int coalesce_deps(const struct helm__node *n, cJSON *dest, bool merge, struct op_err *err)
{
	size_t i;
	int r;

	for (i = 0; i < n->ndeps; i++) {
		const struct helm__node *sub = n->deps[i];
		cJSON *dv = cJSON_GetObjectItemCaseSensitive(dest, sub->md.name);

		if (!dv) {
			dv = cJSON_CreateObject();
			cJSON_AddItemToObject(dest, sub->md.name, dv);
		} else if (!cJSON_IsObject(dv)) {
			char t[300];

			bad_t(dv, t, sizeof(t));
			return op_err_set(err, -EINVAL, "type mismatch on %s: %s", sub->md.name, t);
		}
		coalesce_globals(dv, dest);
		r = coalesce(sub, dv, merge, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int coalesce(const struct helm__node *n, cJSON *dest, bool merge, struct op_err *err)
{
	coalesce_values(n, dest, merge);
	return coalesce_deps(n, dest, merge, err);
}

int helm__coalesce(const struct helm__node *n, const cJSON *user, bool merge, cJSON **ret,
		   struct op_err *err)
{
	cJSON *dest = user ? cJSON_Duplicate(user, 1) : cJSON_CreateObject();
	int r = coalesce(n, dest, merge, err);

	if (r < 0) {
		cJSON_Delete(dest);
		return r;
	}
	*ret = dest;
	return 0;
}
