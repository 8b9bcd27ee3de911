/*
 * values.c: reading values files and composing the user values as
 * `helm install`/`helm template` do (pkg/cli/values, chartutil.Values).
 *
 * DESIGN
 * Values are cJSON trees typed as Go's (see helm.h): YAML and JSON
 * numbers are float64 (cJSON numbers), `--set` integers are int64 (cJSON
 * raw items holding their digits).  Composing merges the -f files in
 * order with Helm's mergeMaps (maps recurse, anything else replaces, a
 * null too), then applies the --set family in Helm's fixed order of
 * kinds, whatever the order on the command line.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/str.h"
#include "helm/internal.h"
#include "base/banned.h"

cJSON *helm_values_int64(int64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return cJSON_CreateRaw(buf);
}

bool helm_values_is_int64(const cJSON *v, int64_t *ret)
{
	int64_t x;

	if (!cJSON_IsRaw(v) || parse_int64(v->valuestring, &x) < 0)
		return false;
	if (ret)
		*ret = x;
	return true;
}

int helm_values_read(const char *data, size_t len, cJSON **ret, struct op_err *err)
{
	cJSON *doc = NULL;
	int r = helm__yaml_first(data, len, &doc, err);

	if (r < 0)
		return op_err_prefix(err, "error converting YAML to JSON");
	if (doc && !cJSON_IsObject(doc)) {
		r = op_err_set(err, -EINVAL, "error unmarshaling JSON: while decoding JSON: json: "
			       "cannot unmarshal %s into Go value of type map[string]interface {}",
			       cJSON_IsArray(doc)    ? "array" :
			       cJSON_IsString(doc) ? "string" :
			       cJSON_IsBool(doc)   ? "bool" :
						     "number");
		cJSON_Delete(doc);
		return r;
	}
	*ret = doc ? doc : cJSON_CreateObject();
	return 0;
}

void helm_values_merge(cJSON *dst, const cJSON *src)
{
	const cJSON *s;

	cJSON_ArrayForEach(s, src) {
		cJSON *d = cJSON_GetObjectItemCaseSensitive(dst, s->string);

		if (cJSON_IsObject(s) && cJSON_IsObject(d)) {
			helm_values_merge(d, s);
			continue;
		}
		if (d)
			cJSON_ReplaceItemInObjectCaseSensitive(dst, s->string, cJSON_Duplicate(s, 1));
		else
			cJSON_AddItemToObject(dst, s->string, cJSON_Duplicate(s, 1));
	}
}

int helm_values_compose(const struct helm_value_opts *o, helm_read_fn read, void *payload,
			cJSON **ret, struct op_err *err)
{
	cJSON *base = cJSON_CreateObject();
	size_t i;
	int r = 0;

	for (i = 0; i < o->nfiles && r == 0; i++) {
		char *data = NULL;
		size_t len = 0;
		cJSON *cur = NULL;

		r = read(o->files[i], &data, &len, err, payload);
		if (r < 0)
			break;
		r = helm_values_read(data, len, &cur, err);
		free(data);
		if (r < 0) {
			op_err_prefix(err, "failed to parse %s", o->files[i]);
			break;
		}
		helm_values_merge(base, cur);
		cJSON_Delete(cur);
	}
	for (i = 0; i < o->nset_json && r == 0; i++)
		if (helm_strvals_parse(base, o->set_json[i], HELM_SET_JSON, read, payload, err) < 0)
			r = op_err_set(err, -EINVAL, "failed parsing --set-json data %s",
				       o->set_json[i]);
	for (i = 0; i < o->nset && r == 0; i++)
		if ((r = helm_strvals_parse(base, o->set[i], HELM_SET, read, payload, err)) < 0)
			op_err_prefix(err, "failed parsing --set data");
	for (i = 0; i < o->nset_string && r == 0; i++)
		if ((r = helm_strvals_parse(base, o->set_string[i], HELM_SET_STRING, read, payload,
					    err)) < 0)
			op_err_prefix(err, "failed parsing --set-string data");
	for (i = 0; i < o->nset_file && r == 0; i++)
		if ((r = helm_strvals_parse(base, o->set_file[i], HELM_SET_FILE, read, payload,
					    err)) < 0)
			op_err_prefix(err, "failed parsing --set-file data");
	for (i = 0; i < o->nset_literal && r == 0; i++)
		if ((r = helm_strvals_parse(base, o->set_literal[i], HELM_SET_LITERAL, read,
					    payload, err)) < 0)
			op_err_prefix(err, "failed parsing --set-literal data");
	if (r < 0) {
		cJSON_Delete(base);
		return r;
	}
	*ret = base;
	return 0;
}

/* ---- chartutil.Values lookups ---- */

/* The next component of a dotted path: [*p, end), advancing *p past the dot. */
static const char *next_part(const char **p, size_t *len)
{
	const char *s = *p, *dot;

	if (!s)
		return NULL;
	dot = strchr(s, '.');
	*len = dot ? (size_t)(dot - s) : strlen(s);
	*p = dot ? dot + 1 : NULL;
	return s;
}

static cJSON *get_n(const cJSON *o, const char *k, size_t n)
{
	cJSON *c;

	cJSON_ArrayForEach(c, o)
		if (strlen(c->string) == n && !memcmp(c->string, k, n))
			return c;
	return NULL;
}

cJSON *helm__values_table(const cJSON *v, const char *path)
{
	const char *p = path, *part;
	size_t n;
	cJSON *t = (cJSON *)v;

	while ((part = next_part(&p, &n)) != NULL) {
		t = get_n(t, part, n);
		if (!cJSON_IsObject(t))
			return NULL;
	}
	return t;
}

const cJSON *helm__values_path(const cJSON *v, const char *path)
{
	const char *dot = strrchr(path, '.');
	const cJSON *t = v, *x;

	if (!path[0])
		return NULL;
	if (dot) {
		_cleanup_free_ char *prefix = xstrndup(path, (size_t)(dot - path));

		t = helm__values_table(v, prefix);
		if (!t)
			return NULL;
	}
	x = cJSON_GetObjectItemCaseSensitive(t, dot ? dot + 1 : path);
	return x && !cJSON_IsObject(x) ? x : NULL;
}
