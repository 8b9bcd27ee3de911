/*
 * kobj.c: immutable refcounted objects (see kobj.h).
 */
#include <stdarg.h>
#include <string.h>

#include "base/alloc.h"
#include "kube/kobj.h"
#include "yj/yj.h"
#include "base/banned.h"

static const char *str_or(const cJSON *parent, const char *key, const char *dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(parent, key);

	return cJSON_IsString(v) ? v->valuestring : dflt;
}

char *kobj_make_key(const char *ns, const char *name)
{
	return ns && *ns ? xasprintf("%s/%s", ns, name) : xstrdup(name);
}

struct kobj *kobj_new(cJSON *json)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(json, "metadata");
	const cJSON *gen = cJSON_GetObjectItemCaseSensitive(meta, "generation");
	struct kobj *o;
	const char *name = str_or(meta, "name", NULL);

	if (!name) {
		cJSON_Delete(json);
		return NULL;
	}
	o = xcalloc(1, sizeof(*o));
	o->refs = 1;
	o->json = json;
	o->name = name;
	o->ns = str_or(meta, "namespace", "");
	o->rv = str_or(meta, "resourceVersion", "");
	o->uid = str_or(meta, "uid", "");
	o->generation = cJSON_IsNumber(gen) ? (long)yj_to_int64(gen->valuedouble) : 0;
	o->key = kobj_make_key(o->ns, o->name);
	return o;
}

struct kobj *kobj_ref(struct kobj *o)
{
	o->refs++;
	return o;
}

struct kobj *kobj_unref(struct kobj *o)
{
	if (!o || --o->refs > 0)
		return NULL;
	cJSON_Delete(o->json);
	free(o->key);
	free(o);
	return NULL;
}

const char *kobj_str(const struct kobj *o, ...)
{
	const cJSON *cur = o->json;
	const char *k;
	va_list ap;

	va_start(ap, o);
	while (cur && (k = va_arg(ap, const char *)) != NULL)
		cur = cJSON_GetObjectItemCaseSensitive(cur, k);
	va_end(ap);
	return cJSON_IsString(cur) ? cur->valuestring : NULL;
}
