/*
 * patch.c: patches, patchesStrategicMerge, patchesJson6902, and the
 * strategic merge itself.
 *
 * DESIGN
 * Strategic merge without kustomize's builtin OpenAPI document: kustomize
 * merges built-in kinds with the patch strategies and merge keys of the
 * Kubernetes API, and custom resources as plain JSON merge.  We carry the
 * handful of merge keys that matter in manifests (containers by name,
 * ports by containerPort or port, env by name, volumes by name,
 * volumeMounts by mountPath, ...) in a table by field name, used for the
 * API groups Kubernetes serves itself.  A custom schema (the `openapi`
 * field, struct kz_schema) is walked as kyaml walks it, node by node.
 * Directives: `$patch: delete` (drop the object, a map, or a list element
 * chosen by merge key), `$patch: replace` (take the patch's map or list
 * as is), a null value deletes a field.
 *
 * Targets: a patch without a `target` applies to the object with its own
 * group, version, kind, name and namespace (by any name the object has
 * had); with one, to every object the selector picks: group, version,
 * kind, name and namespace are anchored regular expressions, plus label
 * and annotation selectors.  The patched object keeps its name, namespace
 * and kind unless the options allow a change.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/str.h"
#include "kustomize/build.h"
#include "kustomize/internal.h"
#include "base/regex.h"
#include "yj/yj.h"
#include "base/banned.h"

/* ---- strategic merge ---- */

static const char *const builtin_groups[] = {
	"", "apps", "batch", "policy", "autoscaling", "networking.k8s.io",
	"rbac.authorization.k8s.io", "storage.k8s.io", "scheduling.k8s.io", "extensions",
	"admissionregistration.k8s.io", "apiextensions.k8s.io", "apiregistration.k8s.io",
	"coordination.k8s.io", "discovery.k8s.io", "node.k8s.io", "certificates.k8s.io",
};

/* The merge key of list `field` (whose elements look like `sample`), or NULL. */
static const char *merge_key(const char *field, const cJSON *sample)
{
	static const struct {
		const char *field, *key;
	} keys[] = {
		{ "containers", "name" },     { "initContainers", "name" },
		{ "ephemeralContainers", "name" }, { "env", "name" },
		{ "volumes", "name" },        { "volumeMounts", "mountPath" },
		{ "volumeDevices", "devicePath" }, { "imagePullSecrets", "name" },
		{ "hostAliases", "ip" },      { "topologySpreadConstraints", "topologyKey" },
		{ "resourceClaims", "name" }, { "schedulingGates", "name" },
		{ "ownerReferences", "uid" }, { "conditions", "type" },
		{ "webhooks", "name" },
	};

	if (streq(field, "ports")) {
		if (cJSON_GetObjectItemCaseSensitive(sample, "containerPort"))
			return "containerPort";
		return "port";
	}
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (streq(keys[i].field, field))
			return keys[i].key;
	return NULL;
}

/*
 * kustomize's merge (kyaml) knows one directive, `$patch`.  The others of
 * Kubernetes' strategic merge ($setElementOrder/..., $retainKeys,
 * $deleteFromPrimitiveList/...) it treats as ordinary keys and prints, so
 * we do too.
 */
static bool is_directive(const char *k)
{
	return streq(k, "$patch");
}

/* A copy of a patch value with its directives removed. */
static cJSON *strip(const cJSON *p)
{
	cJSON *c, *e;

	if (cJSON_IsObject(p)) {
		c = cJSON_CreateObject();
		cJSON_ArrayForEach(e, p) {
			if (is_directive(e->string) || cJSON_IsNull(e))
				continue;
			cJSON_AddItemToObject(c, e->string, strip(e));
		}
		return c;
	}
	if (cJSON_IsArray(p)) {
		c = cJSON_CreateArray();
		cJSON_ArrayForEach(e, p) {
			if (cJSON_IsObject(e) && (streq(kz__str(e, "/$patch"), "delete") ||
						  (yj_get(e, "/$patch") && !e->child->next)))
				continue;
			cJSON_AddItemToArray(c, strip(e));
		}
		return c;
	}
	return cJSON_Duplicate(p, 1);
}

struct smp {
	const struct kz_schema *schema;
	struct op_err *err;
};

/*
 * How one node merges: by `sch`, its schema in the custom one; else by
 * the builtin table (`table`); else plainly (lists are replaced).
 */
struct node {
	const cJSON *sch;
	bool table;
};

/* `sch` with its $ref chain followed in the custom definitions. */
static const cJSON *deref(const struct smp *s, const cJSON *sch, bool *missing)
{
	const cJSON *defs = cJSON_GetObjectItemCaseSensitive(s->schema->doc, "definitions");

	for (unsigned i = 0; sch && i < 64; i++) {
		const cJSON *ref = cJSON_GetObjectItemCaseSensitive(sch, "$ref");

		if (!ref)
			return sch;
		sch = NULL;
		if (cJSON_IsString(ref) && strncmp(ref->valuestring, "#/definitions/", 14) == 0)
			sch = cJSON_GetObjectItemCaseSensitive(defs, ref->valuestring + 14);
		if (!sch)
			*missing = true;
	}
	return NULL;
}

/* kyaml's ResourceSchema.Field: a property, or the additionalProperties' schema. */
static struct node field_node(const struct smp *s, struct node n, const char *field)
{
	struct node c = { NULL, n.table };
	const cJSON *f;
	bool missing = false;

	if (!n.sch)
		return c;
	f = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(n.sch, "properties"),
					     field);
	if (!f && cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(n.sch, "additionalProperties")))
		f = cJSON_GetObjectItemCaseSensitive(n.sch, "additionalProperties");
	c.sch = deref(s, f, &missing);
	c.table = missing && s->schema->builtins;
	return c;
}

/* kyaml's ResourceSchema.Elements: the items of an array. */
static struct node elem_node(const struct smp *s, struct node n)
{
	struct node c = { NULL, n.table };
	bool missing = false;

	if (!n.sch)
		return c;
	c.sch = streq(kz__str(n.sch, "/type"), "array")
			? deref(s, cJSON_GetObjectItemCaseSensitive(n.sch, "items"), &missing)
			: NULL;
	c.table = missing && s->schema->builtins;
	return c;
}

enum list_how { LIST_REPLACE, LIST_KEYED, LIST_PRIMITIVE };

#define MAX_KEYS 8

/* How list `field` (node n, elements like `sample`) merges, and its keys. */
static enum list_how list_how(struct node n, const char *field, const cJSON *sample,
			      const char *keys[MAX_KEYS], size_t *nkeys)
{
	const cJSON *strategy, *list, *key, *e;
	bool merge = false;

	*nkeys = 0;
	if (!n.sch) {
		if (!n.table || !cJSON_IsObject(sample) || !(keys[0] = merge_key(field, sample)))
			return LIST_REPLACE;
		*nkeys = 1;
		return LIST_KEYED;
	}
	strategy = cJSON_GetObjectItemCaseSensitive(n.sch, "x-kubernetes-patch-strategy");
	if (cJSON_IsString(strategy)) {
		/* a comma-separated list, such as "merge,retainKeys" */
		for (const char *t = strategy->valuestring; t; t = strchr(t, ',') ? strchr(t, ',') + 1 : NULL)
			merge |= strncmp(t, "merge", 5) == 0 && (t[5] == ',' || t[5] == '\0');
	}
	if (!merge)
		return LIST_REPLACE;
	list = cJSON_GetObjectItemCaseSensitive(n.sch, "x-kubernetes-list-map-keys");
	key = cJSON_GetObjectItemCaseSensitive(n.sch, "x-kubernetes-patch-merge-key");
	if (cJSON_IsArray(list)) {
		cJSON_ArrayForEach(e, list)
			if (cJSON_IsString(e) && *nkeys < MAX_KEYS)
				keys[(*nkeys)++] = e->valuestring;
	} else if (cJSON_IsString(key)) {
		keys[(*nkeys)++] = key->valuestring;
	}
	if (!*nkeys)
		return LIST_PRIMITIVE;
	return cJSON_IsObject(sample) ? LIST_KEYED : LIST_REPLACE;
}

static int merge_value(struct smp *s, cJSON **t, const cJSON *p, const char *field,
		       struct node n);

static bool scalar_eq(const cJSON *x, const cJSON *y)
{
	if (cJSON_IsString(x) && cJSON_IsString(y))
		return streq(x->valuestring, y->valuestring);
	if (cJSON_IsNumber(x) && cJSON_IsNumber(y))
		return x->valuedouble == y->valuedouble;
	return false;
}

/*
 * Two elements are the same when they agree on every key both have, and
 * have at least one (kyaml's rule for several keys; one key must match).
 */
static bool keys_eq(const cJSON *a, const cJSON *b, const char *const *keys, size_t nkeys)
{
	size_t common = 0;

	for (size_t i = 0; i < nkeys; i++) {
		const cJSON *x = cJSON_GetObjectItemCaseSensitive(a, keys[i]);
		const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, keys[i]);

		if (!x || !y)
			continue;
		if (!scalar_eq(x, y))
			return false;
		common++;
	}
	return common > 0;
}

static bool list_has(const cJSON *list, const cJSON *v)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, list)
		if (cJSON_Compare(e, v, true))
			return true;
	return false;
}

/* A list of scalars merged as a set: the patch's values first, then the others. */
static void merge_primitive(cJSON **t, const cJSON *p)
{
	cJSON *out = cJSON_CreateArray();
	const cJSON *e;

	cJSON_ArrayForEach(e, p)
		if (!list_has(out, e))
			cJSON_AddItemToArray(out, cJSON_Duplicate(e, 1));
	cJSON_ArrayForEach(e, *t)
		if (!list_has(out, e))
			cJSON_AddItemToArray(out, cJSON_Duplicate(e, 1));
	cJSON_Delete(*t);
	*t = out;
}

static int merge_list(struct smp *s, cJSON **t, const cJSON *p, const char *field,
		      struct node n)
{
	const cJSON *pe;
	const char *keys[MAX_KEYS];
	size_t nkeys;
	/* an empty patch list merges too: it leaves a keyed list as it is */
	const cJSON *sample = p->child ? p->child : cJSON_IsArray(*t) ? (*t)->child : NULL;
	enum list_how how = list_how(n, field, sample, keys, &nkeys);
	struct node en = elem_node(s, n);
	cJSON *out;

	if (how == LIST_PRIMITIVE && cJSON_IsArray(*t)) {
		merge_primitive(t, p);
		return 0;
	}
	if (how != LIST_KEYED || !cJSON_IsArray(*t)) {
		cJSON_Delete(*t);
		*t = strip(p);
		return 0;
	}
	cJSON_ArrayForEach(pe, p) {
		if (cJSON_IsObject(pe) && streq(kz__str(pe, "/$patch"), "replace")) {
			cJSON_Delete(*t);
			*t = strip(p);
			return 0;
		}
	}
	/*
	 * kustomize merges lists "prepending": with one key, the patch's
	 * elements come first, in the patch's order (merged into the matching
	 * element where there is one), then the elements the patch did not
	 * name, in their order.  With several keys (kyaml removes and appends
	 * each element of the list again), the patch's new elements come
	 * first, then every element of the list, merged, in its order.
	 * `$patch: delete` elements remove their match.
	 */
	out = cJSON_CreateArray();
	{
		size_t nt = (size_t)cJSON_GetArraySize(*t), i = 0;
		cJSON **merged = xcalloc(nt ? nt : 1, sizeof(*merged)), *te;
		bool *named = xcalloc(nt ? nt : 1, sizeof(*named));
		int r = 0;

		cJSON_ArrayForEach(pe, p) {
			bool del = !cJSON_IsObject(pe) || streq(kz__str(pe, "/$patch"), "delete");

			for (i = 0, te = (*t)->child; te; te = te->next, i++)
				if (cJSON_IsObject(pe) && keys_eq(te, pe, keys, nkeys))
					break;
			if (te && !named[i]) {
				named[i] = true;
				if (!del) {
					merged[i] = cJSON_Duplicate(te, 1);
					r = merge_value(s, &merged[i], pe, NULL, en);
					if (r < 0)
						break;
				}
			}
			if (del)
				continue;
			if (!te)
				cJSON_AddItemToArray(out, strip(pe));
			else if (nkeys == 1 && merged[i])
				cJSON_AddItemToArray(out, cJSON_Duplicate(merged[i], 1));
		}
		for (i = 0, te = (*t)->child; r == 0 && te; te = te->next, i++) {
			if (!named[i])
				cJSON_AddItemToArray(out, cJSON_Duplicate(te, 1));
			else if (nkeys > 1 && merged[i])
				cJSON_AddItemToArray(out, cJSON_Duplicate(merged[i], 1));
		}
		for (i = 0; i < nt; i++)
			cJSON_Delete(merged[i]);
		free(merged);
		free(named);
		if (r < 0) {
			cJSON_Delete(out);
			return r;
		}
	}
	cJSON_Delete(*t);
	*t = out;
	return 0;
}

static int merge_map(struct smp *s, cJSON *t, const cJSON *p, struct node n)
{
	const cJSON *pe;
	int r;

	cJSON_ArrayForEach(pe, p) {
		cJSON *te;

		if (is_directive(pe->string))
			continue;
		te = cJSON_GetObjectItemCaseSensitive(t, pe->string);
		if (cJSON_IsNull(pe)) {
			cJSON_DeleteItemFromObjectCaseSensitive(t, pe->string);
			continue;
		}
		if (!te) {
			if (cJSON_IsObject(pe) && streq(kz__str(pe, "/$patch"), "delete"))
				continue;
			cJSON_AddItemToObject(t, pe->string, strip(pe));
			continue;
		}
		{
			cJSON *copy = cJSON_Duplicate(te, 1);

			r = merge_value(s, &copy, pe, pe->string, field_node(s, n, pe->string));
			if (r < 0) {
				cJSON_Delete(copy);
				return r;
			}
			if (copy)
				cJSON_ReplaceItemInObjectCaseSensitive(t, pe->string, copy);
			else
				cJSON_DeleteItemFromObjectCaseSensitive(t, pe->string);
		}
	}
	return 0;
}

/* Merge patch value p into *t; *t NULL afterwards means "delete". */
static int merge_value(struct smp *s, cJSON **t, const cJSON *p, const char *field,
		       struct node n)
{
	if (cJSON_IsObject(p)) {
		const char *dir = kz__str(p, "/$patch");

		if (streq(dir, "delete")) {
			cJSON_Delete(*t);
			*t = NULL;
			return 0;
		}
		if (streq(dir, "replace") || !cJSON_IsObject(*t)) {
			cJSON_Delete(*t);
			*t = strip(p);
			return 0;
		}
		return merge_map(s, *t, p, n);
	}
	if (cJSON_IsArray(p))
		return merge_list(s, t, p, field ? field : "", n);
	cJSON_Delete(*t);
	*t = cJSON_Duplicate(p, 1);
	return 0;
}

/*
 * kyaml's merge walks every map of the patched object, and the lists it
 * merges by key, and there drops a null written as nothing (`key:`); a
 * `null` or `~` it keeps.  Elements of other lists it does not walk.
 */
static void drop_implicit_nulls(const struct smp *s, cJSON *obj, struct node n)
{
	cJSON *e = obj->child, *next;

	for (; e; e = next) {
		struct node c = field_node(s, n, e->string);
		const char *keys[MAX_KEYS];
		size_t nkeys;

		next = e->next;
		if (yj_null_implicit(e)) {
			cJSON_Delete(cJSON_DetachItemViaPointer(obj, e));
		} else if (cJSON_IsObject(e)) {
			drop_implicit_nulls(s, e, c);
		} else if (cJSON_IsArray(e) &&
			   list_how(c, e->string, e->child, keys, &nkeys) == LIST_KEYED) {
			struct node en = elem_node(s, c);
			cJSON *el;

			cJSON_ArrayForEach(el, e)
				if (cJSON_IsObject(el))
					drop_implicit_nulls(s, el, en);
		}
	}
}

/* The custom schema's definition of group/version, kind, or NULL. */
static const cJSON *schema_for(const cJSON *doc, const char *g, const char *v, const char *kind)
{
	const cJSON *d, *gvk;

	cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(doc, "definitions")) {
		cJSON_ArrayForEach(gvk, cJSON_GetObjectItemCaseSensitive(
						d, "x-kubernetes-group-version-kind")) {
			if (streq(kz__str(gvk, "/group"), g) && streq(kz__str(gvk, "/version"), v) &&
			    streq(kz__str(gvk, "/kind"), kind))
				return d;
		}
	}
	return NULL;
}

int kz__smp(cJSON **target, const cJSON *patch, const struct kz_schema *schema,
	    struct op_err *err)
{
	static const struct kz_schema none = { .builtins = true };
	char g[256], v[64];
	struct smp s = { schema ? schema : &none, err };
	struct node n = { NULL, false };
	int r;

	kz__gv(*target, g, sizeof(g), v, sizeof(v));
	for (size_t i = 0; i < ARRAY_SIZE(builtin_groups); i++)
		if (streq(g, builtin_groups[i]))
			n.table = true;
	if (s.schema->doc) {
		n.sch = schema_for(s.schema->doc, g, v, kz__str(*target, "/kind"));
		if (n.sch || !s.schema->builtins)
			n.table = false;
	}
	r = merge_value(&s, target, patch, NULL, n);
	if (r == 0 && cJSON_IsObject(*target))
		drop_implicit_nulls(&s, *target, n);
	return r;
}

/* ---- selecting targets ---- */

static bool kz_re_match(const char *pattern, const char *s)
{
	struct regex *re;
	char *p;
	bool m;

	if (!pattern || !*pattern)
		return true;
	p = xasprintf("^(%s)$", pattern);
	if (kz__regex(p, &re) < 0) {
		free(p);
		return false;
	}
	m = regex_match(re, s, strlen(s));
	regex_free(re);
	free(p);
	return m;
}

/* Kubernetes label selector syntax over the map `labels`. */
int kz__selector_match(const char *sel, const cJSON *labels, bool *ret)
{
	const char *p = sel;

	*ret = true;
	while (*p) {
		const char *end = p;
		int depth = 0;
		char *term, *t, *op;
		bool ok;

		while (*end && (depth || *end != ',')) {
			if (*end == '(')
				depth++;
			else if (*end == ')')
				depth--;
			end++;
		}
		term = xstrndup(p, (size_t)(end - p));
		p = *end ? end + 1 : end;
		for (t = term; *t == ' '; t++)
			;
		if (*t == '!') {
			char *k = t + 1;

			k[strcspn(k, " ")] = '\0';
			ok = !cJSON_GetObjectItemCaseSensitive(labels, k);
		} else if ((op = strstr(t, "!="))) {
			const char *v;

			*op = '\0';
			t[strcspn(t, " ")] = '\0';
			for (v = op + 2; *v == ' '; v++)
				;
			{
				const cJSON *l = cJSON_GetObjectItemCaseSensitive(labels, t);
				char *vv = xstrdup(v);

				vv[strcspn(vv, " ")] = '\0';
				ok = !(cJSON_IsString(l) && streq(l->valuestring, vv));
				free(vv);
			}
		} else if ((op = strchr(t, '='))) {
			const char *v = op + 1;
			const cJSON *l;
			char *vv;

			*op = '\0';
			if (*v == '=')
				v++;
			t[strcspn(t, " ")] = '\0';
			while (*v == ' ')
				v++;
			vv = xstrdup(v);
			vv[strcspn(vv, " ")] = '\0';
			l = cJSON_GetObjectItemCaseSensitive(labels, t);
			ok = cJSON_IsString(l) && streq(l->valuestring, vv);
			free(vv);
		} else if (strstr(t, " in ") || strstr(t, " notin ")) {
			bool notin = strstr(t, " notin ") != NULL;
			char *k = t, *open = strchr(t, '('), *close = strrchr(t, ')'), *v;
			const cJSON *l;
			bool found = false;

			if (!open || !close) {
				free(term);
				return -EINVAL;
			}
			k[strcspn(k, " ")] = '\0';
			*close = '\0';
			l = cJSON_GetObjectItemCaseSensitive(labels, k);
			for (v = open + 1; v && *v;) {
				char *c = strchr(v, ','), *e;

				if (c)
					*c = '\0';
				while (*v == ' ')
					v++;
				e = v + strlen(v);
				while (e > v && e[-1] == ' ')
					*--e = '\0';
				if (cJSON_IsString(l) && streq(l->valuestring, v))
					found = true;
				v = c ? c + 1 : NULL;
			}
			ok = notin ? !found : found;
		} else {
			t[strcspn(t, " ")] = '\0';
			ok = !*t || cJSON_GetObjectItemCaseSensitive(labels, t) != NULL;
		}
		free(term);
		if (!ok)
			*ret = false;
	}
	return 0;
}

int kz_selects(const cJSON *sel, const cJSON *obj, struct op_err *reterr)
{
	static const char *const sels[] = { "/labelSelector", "/annotationSelector" };
	static const char *const maps[] = { "/metadata/labels", "/metadata/annotations" };
	char g[256], ver[64];
	const char *ns = yj_get_str(obj, "/metadata/namespace");

	if (!sel)
		return 1;
	kz__gv(obj, g, sizeof(g), ver, sizeof(ver));
	if (!kz_re_match(kz__str(sel, "/namespace"), ns ? ns : "") ||
	    !kz_re_match(kz__str(sel, "/name"), strempty(yj_get_str(obj, "/metadata/name"))) ||
	    !kz_re_match(kz__str(sel, "/group"), g) || !kz_re_match(kz__str(sel, "/version"), ver) ||
	    !kz_re_match(kz__str(sel, "/kind"), strempty(yj_get_str(obj, "/kind"))))
		return 0;
	for (size_t i = 0; i < 2; i++) {
		const char *s = kz__str(sel, sels[i]);
		bool ok;

		if (!*s)
			continue;
		if (kz__selector_match(s, yj_get(obj, maps[i]), &ok) < 0)
			return op_err_set(reterr, -EINVAL, "invalid %s '%s'", sels[i] + 1, s);
		if (!ok)
			return 0;
	}
	return 1;
}

static int select_targets(struct kz_target *kt, const cJSON *target, struct kz_resmap *m,
			  struct kz_res ***ret, size_t *ret_n, struct op_err *err)
{
	struct kz_res **v = NULL;
	size_t n = 0;

	for (size_t i = 0; i < m->n; i++) {
		struct kz_res *r = m->v[i];
		char g[256], ver[64];
		const char *org_ns = kz__org_ns(r);
		const char *org_name = r->nprev ? r->prev[0].name : kz__name(r);
		const char *ls = kz__str(target, "/labelSelector");
		const char *as = kz__str(target, "/annotationSelector");
		bool ok;

		kz__gv(r->obj, g, sizeof(g), ver, sizeof(ver));
		if (yj_get(target, "/namespace") && !kz_re_match(kz__str(target, "/namespace"), org_ns) &&
		    !kz_re_match(kz__str(target, "/namespace"), kz__res_eff_ns(r)))
			continue;
		if (!kz_re_match(kz__str(target, "/name"), org_name) &&
		    !kz_re_match(kz__str(target, "/name"), kz__name(r)))
			continue;
		if (!kz_re_match(kz__str(target, "/group"), g) ||
		    !kz_re_match(kz__str(target, "/version"), ver) ||
		    !kz_re_match(kz__str(target, "/kind"), kz__kind(r)))
			continue;
		if (*ls) {
			if (kz__selector_match(ls, yj_get(r->obj, "/metadata/labels"), &ok) < 0) {
				free(v);
				return op_err_set(err, -EINVAL, "%s: invalid labelSelector '%s'",
						  kt->kfile, ls);
			}
			if (!ok)
				continue;
		}
		if (*as) {
			if (kz__selector_match(as, yj_get(r->obj, "/metadata/annotations"), &ok) < 0) {
				free(v);
				return op_err_set(err, -EINVAL, "%s: invalid annotationSelector '%s'",
						  kt->kfile, as);
			}
			if (!ok)
				continue;
		}
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n++] = r;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* ---- applying ---- */

/* The resource a target-less strategic merge patch names, by any id it had. */
static int find_by_id(struct kz_target *kt, struct kz_resmap *m, const cJSON *patch,
		      struct kz_res **ret, struct op_err *err)
{
	char pg[256], pv[64];
	const char *kind = kz__str(patch, "/kind"), *name = kz__str(patch, "/metadata/name");
	/* ids compare effective namespaces: a cluster-scoped kind has none */
	const char *ns = kz__eff_ns(patch, &kt->ctx->schema);
	struct kz_res *found = NULL;
	size_t n = 0;

	kz__gv(patch, pg, sizeof(pg), pv, sizeof(pv));
	for (size_t i = 0; i < m->n; i++) {
		struct kz_res *r = m->v[i];
		char g[256], v[64];
		bool match;

		kz__gv(r->obj, g, sizeof(g), v, sizeof(v));
		if (!streq(g, pg) || !streq(v, pv))
			continue;
		match = streq(kz__kind(r), kind) && streq(kz__name(r), name) &&
			streq(kz__res_eff_ns(r), ns);
		for (size_t j = 0; !match && j < r->nprev; j++)
			match = streq(r->prev[j].kind, kind) && streq(r->prev[j].name, name) &&
				streq(r->prev[j].ns, ns);
		if (match) {
			found = r;
			n++;
		}
	}
	if (n != 1)
		return op_err_set(err, n ? -EINVAL : -ENOENT,
				  "%s: %s; failed to find unique target for patch %s %s/%s",
				  kt->kfile, n ? "multiple matches" : "no matches", kind,
				  kz__str(patch, "/metadata/namespace"), name);
	*ret = found;
	return 0;
}

struct patch_opts {
	bool name_change, kind_change;
};

static int apply_smp(struct kz_resmap *m, struct kz_res *r, const cJSON *patch,
		     const struct patch_opts *o, const struct kz_schema *schema,
		     struct op_err *err)
{
	_cleanup_free_ char *name = xstrdup(kz__name(r)), *ns = xstrdup(kz__ns(r)),
			    *kind = xstrdup(kz__kind(r));
	cJSON *obj = r->obj;
	int rc;

	if (o->name_change || o->kind_change)
		kz__res_store_prev(r);
	rc = kz__smp(&obj, patch, schema, err);
	if (rc < 0)
		return rc;
	if (!obj || (cJSON_IsObject(obj) && !obj->child)) {
		r->obj = obj;
		kz__resmap_remove(m, r);
		return 0;
	}
	r->obj = obj;
	if (!o->kind_change)
		yj_set(r->obj, "/kind", cJSON_CreateString(kind));
	if (!o->name_change)
		yj_set(r->obj, "/metadata/name", cJSON_CreateString(name));
	if (*ns)
		yj_set(r->obj, "/metadata/namespace", cJSON_CreateString(ns));
	else if (yj_get(r->obj, "/metadata/namespace"))
		cJSON_DeleteItemFromObjectCaseSensitive(yj_get(r->obj, "/metadata"), "namespace");
	return 0;
}

static int load_patch_text(struct kz_target *kt, const cJSON *entry, char **ret, size_t *ret_len,
			   char **ret_src, struct op_err *err)
{
	const char *path = kz__str(entry, "/path"), *inl = kz__str(entry, "/patch");

	if (*path && *inl)
		return op_err_set(err, -EINVAL, "%s: patches: patch and path can't be set at the same time",
				  kt->kfile);
	if (!*path && !*inl)
		return op_err_set(err, -EINVAL, "%s: patches: must specify one of patch and path",
				  kt->kfile);
	if (*inl) {
		*ret = xstrdup(inl);
		*ret_len = strlen(inl);
		*ret_src = xasprintf("%s: inline patch", kt->kfile);
		return 0;
	}
	*ret_src = NULL;
	return kz__read(kt, path, ret, ret_len, ret_src, err);
}

/*
 * kustomize keeps its bookkeeping in "internal.config.kubernetes.io/..."
 * annotations while it builds, and a JSON patch sees them: "add
 * /metadata/annotations/x" works on an object without annotations, and a
 * copy of /metadata/annotations carries them along.  So for the length of
 * a JSON patch we put ours there too, as kustomize spells them, and take
 * them away afterwards (kustomize restores its own after the patch, so a
 * patch cannot change them).
 */
#define KZ_INTERNAL_ANN "internal.config.kubernetes.io/"

static void add_csv(cJSON *anns, const char *key, char *const *v, size_t n, size_t stride)
{
	struct buf b = BUF_INIT(1u << 20);

	if (!n)
		return;
	for (size_t i = 0; i < n; i++) {
		if ((i && buf_addch(&b, ',') < 0) || buf_adds(&b, v[i * stride]) < 0)
			break;
	}
	cJSON_AddStringToObject(anns, key, b.len ? b.buf : "");
	buf_release(&b);
}

static void build_annotations_add(struct kz_res *r)
{
	cJSON *meta = yj_get(r->obj, "/metadata"), *anns;
	char **kinds, **names, **nss;

	if (!cJSON_IsObject(meta))
		return;
	anns = cJSON_GetObjectItemCaseSensitive(meta, "annotations");
	if (!cJSON_IsObject(anns)) {
		cJSON_DeleteItemFromObjectCaseSensitive(meta, "annotations");
		anns = cJSON_AddObjectToObject(meta, "annotations");
	}
	if (r->generated) {
		static const char *const beh[] = { "create", "merge", "replace" };

		cJSON_AddStringToObject(anns, KZ_INTERNAL_ANN "generatorBehavior",
					r->behavior_set ? beh[r->behavior] : "unspecified");
		if (r->needs_hash)
			cJSON_AddStringToObject(anns, KZ_INTERNAL_ANN "needsHashSuffix", "enabled");
	}
	add_csv(anns, KZ_INTERNAL_ANN "prefixes", r->prefixes, r->nprefixes, 1);
	add_csv(anns, KZ_INTERNAL_ANN "suffixes", r->suffixes, r->nsuffixes, 1);
	kinds = xnew0(char *, r->nprev + 1);
	names = xnew0(char *, r->nprev + 1);
	nss = xnew0(char *, r->nprev + 1);
	for (size_t i = 0; i < r->nprev; i++) {
		kinds[i] = r->prev[i].kind;
		names[i] = r->prev[i].name;
		nss[i] = r->prev[i].ns;
	}
	add_csv(anns, KZ_INTERNAL_ANN "previousKinds", kinds, r->nprev, 1);
	add_csv(anns, KZ_INTERNAL_ANN "previousNames", names, r->nprev, 1);
	add_csv(anns, KZ_INTERNAL_ANN "previousNamespaces", nss, r->nprev, 1);
	free(kinds);
	free(names);
	free(nss);
	if (!anns->child)
		cJSON_DeleteItemFromObjectCaseSensitive(meta, "annotations");
}

static void build_annotations_remove(struct kz_res *r)
{
	cJSON *meta = yj_get(r->obj, "/metadata");
	cJSON *anns = cJSON_GetObjectItemCaseSensitive(meta, "annotations"), *e, *next;

	if (!cJSON_IsObject(anns))
		return;
	for (e = anns->child; e; e = next) {
		next = e->next;
		if (e->string && str_startswith(e->string, KZ_INTERNAL_ANN))
			cJSON_Delete(cJSON_DetachItemViaPointer(anns, e));
	}
	if (!anns->child)
		cJSON_DeleteItemFromObjectCaseSensitive(meta, "annotations");
}

static bool looks_json6902(const cJSON *doc)
{
	return cJSON_IsArray(doc);
}

static int apply_6902(struct kz_resmap *m, struct kz_res **sel, size_t n, const cJSON *ops,
		      const char *src, bool legacy, struct op_err *err)
{
	(void)m;
	for (size_t i = 0; i < n; i++) {
		int r;

		/* `patches` records the id first; the older patchesJson6902 does not */
		if (!legacy)
			kz__res_store_prev(sel[i]);
		build_annotations_add(sel[i]);
		r = yj_json_patch(&sel[i]->obj, ops, err);
		build_annotations_remove(sel[i]);
		if (r < 0)
			return op_err_prefix(err, "%s", src);
	}
	return 0;
}

static int one_patch(struct kz_target *kt, struct kz_resmap *m, const cJSON *entry,
		     bool force_smp, bool force_6902, struct op_err *err)
{
	char *text = NULL, *src = NULL;
	size_t len;
	struct yj_stream s = { 0 };
	struct yj_limits lim = YJ_LIMITS_DEFAULT;
	const cJSON *target = yj_get(entry, "/target");
	struct patch_opts o = { cJSON_IsTrue(yj_get(entry, "/options/allowNameChange")),
				cJSON_IsTrue(yj_get(entry, "/options/allowKindChange")) };
	int r = load_patch_text(kt, entry, &text, &len, &src, err);

	if (r < 0)
		return r;
	/* strategic merge patches are read by kyaml (go-yaml v3: "y" is a string) */
	lim.core_bools = true;
	r = yj_parse_stream(text, len, &lim, &s, err);
	if (r < 0) {
		op_err_prefix(err, "%s", src);
		goto out;
	}
	if (!force_smp && (force_6902 || (s.n == 1 && looks_json6902(s.docs[0])))) {
		/* JSON patches go through sigs.k8s.io/yaml (YAML 1.1: "y" is true) */
		yj_stream_release(&s);
		r = yj_parse_stream(text, len, NULL, &s, err);
		if (r < 0) {
			op_err_prefix(err, "%s", src);
			goto out;
		}
	}
	if (s.n == 0) {
		r = op_err_set(err, -EINVAL, "%s: empty patch", src);
		goto out;
	}
	if (!force_smp && (force_6902 || (s.n == 1 && looks_json6902(s.docs[0])))) {
		struct kz_res **sel = NULL;
		size_t n = 0;

		if (!target) {
			r = op_err_set(err, -EINVAL, "%s: must specify a target for JSON patch", src);
			goto out;
		}
		if (!cJSON_IsArray(s.docs[0])) {
			r = op_err_set(err, -EINVAL, "%s: a JSON patch must be a list of operations",
				       src);
			goto out;
		}
		r = select_targets(kt, target, m, &sel, &n, err);
		if (r == 0)
			r = apply_6902(m, sel, n, s.docs[0], src, force_6902, err);
		free(sel);
		goto out;
	}
	for (size_t i = 0; i < s.n; i++) {
		if (!cJSON_IsObject(s.docs[i])) {
			r = op_err_set(err, -EINVAL, "%s: a strategic merge patch must be a map", src);
			goto out;
		}
	}
	if (target) {
		struct kz_res **sel = NULL;
		size_t n = 0;

		if (s.n > 1) {
			r = op_err_set(err, -EINVAL,
				       "%s: multiple strategic merge patches in one entry cannot "
				       "have a target",
				       src);
			goto out;
		}
		r = select_targets(kt, target, m, &sel, &n, err);
		for (size_t i = 0; r == 0 && i < n; i++)
			r = apply_smp(m, sel[i], s.docs[0], &o, &kt->ctx->schema, err);
		free(sel);
		goto out;
	}
	for (size_t i = 0; r == 0 && i < s.n; i++) {
		struct kz_res *t = NULL;

		r = find_by_id(kt, m, s.docs[i], &t, err);
		if (r == 0)
			r = apply_smp(m, t, s.docs[i], &o, &kt->ctx->schema, err);
	}
out:
	yj_stream_release(&s);
	free(text);
	free(src);
	return r;
}

int kz__t_psm(struct kz_target *kt, struct kz_resmap *m, const cJSON *paths, const char *patches,
	      struct op_err *err)
{
	const cJSON *e;
	int r;

	if (!cJSON_GetArraySize(paths) && (!patches || !*patches))
		return op_err_set(err, -EINVAL, "%s: empty file path and empty patch content",
				  kt->kfile);
	cJSON_ArrayForEach(e, paths) {
		cJSON *entry = cJSON_CreateObject();

		if (!cJSON_IsString(e)) {
			cJSON_Delete(entry);
			return op_err_set(err, -EINVAL,
					  "%s: patchesStrategicMerge: entries must be strings",
					  kt->kfile);
		}
		/* a file name, or else the patch itself (kustomize tries the file first) */
		cJSON_AddStringToObject(entry, strchr(e->valuestring, '\n') ? "patch" : "path",
					e->valuestring);
		r = one_patch(kt, m, entry, true, false, err);
		cJSON_Delete(entry);
		if (r < 0)
			return r;
	}
	if (patches && *patches) {
		cJSON *entry = cJSON_CreateObject();

		cJSON_AddStringToObject(entry, "patch", patches);
		r = one_patch(kt, m, entry, true, false, err);
		cJSON_Delete(entry);
		if (r < 0)
			return r;
	}
	return 0;
}

int kz__t_patch(struct kz_target *kt, struct kz_resmap *m, const cJSON *entry,
		struct op_err *err)
{
	if (!cJSON_IsObject(entry))
		return op_err_set(err, -EINVAL, "%s: patches: entries must be maps", kt->kfile);
	return one_patch(kt, m, entry, false, false, err);
}

int kz__t_json6902(struct kz_target *kt, struct kz_resmap *m, const cJSON *entry,
		   struct op_err *err)
{
	if (!cJSON_IsObject(entry) || !yj_get(entry, "/target"))
		return op_err_set(err, -EINVAL, "%s: patchesJson6902: each entry needs a target",
				  kt->kfile);
	if (!*kz__str(entry, "/target/name"))
		return op_err_set(err, -EINVAL, "%s: patchesJson6902: must specify the target name",
				  kt->kfile);
	return one_patch(kt, m, entry, false, true, err);
}
