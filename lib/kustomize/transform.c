/*
 * transform.c: field specs and the builtin transformers a kustomization
 * runs on its resources, in kustomize's order (namespace, prefix, suffix,
 * labels, annotations, replicas, images), and the name-reference fix-up
 * that runs once on the final list.
 *
 * DESIGN
 * A field spec is kustomize's (group, version, kind, path, create): the
 * path walks maps by key and goes through every element of any list it
 * meets ("containers[]" says so explicitly, plain "containers" does it
 * too), creating missing maps only when `create` is set.  The tables
 * below restate kustomize's default transformer configuration
 * (api/internal/konfig/builtinpluginconsts) as C data.
 *
 * Name references: every renamed object remembers its earlier ids.  For
 * each field that may name an object of a given kind (a ConfigMap in a
 * pod's volumes, a ServiceAccount in a RoleBinding's subjects, ...), a
 * value equal to an earlier name of exactly one such object in a visible
 * namespace is replaced by that object's current name.
 */
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/str.h"
#include "kustomize/build.h"
#include "kustomize/internal.h"
#include "yj/yj.h"
#include "base/banned.h"

bool kz__fs_selects(const struct kz_fieldspec *fs, const cJSON *obj)
{
	char g[256], v[64];

	kz__gv(obj, g, sizeof(g), v, sizeof(v));
	if (fs->kind && !streq(fs->kind, kz__str(obj, "/kind")))
		return false;
	if (fs->group && !streq(fs->group, g))
		return false;
	if (fs->version && !streq(fs->version, v))
		return false;
	return true;
}

/* Split "a/b\/c/d[]" into segments, unescaping "\/". */
static size_t split_path(const char *path, char ***ret)
{
	char **v = NULL, *cur = xmalloc(strlen(path) + 1);
	size_t n = 0, alloc = 0, len = 0;
	const char *p;

	for (p = path;; p++) {
		if (*p == '\\' && p[1] == '/') {
			cur[len++] = '/';
			p++;
			continue;
		}
		if (*p == '/' || !*p) {
			cur[len] = '\0';
			XGROW(v, n + 1, alloc);
			v[n++] = xstrdup(cur);
			len = 0;
			if (!*p)
				break;
			continue;
		}
		cur[len++] = *p;
	}
	free(cur);
	*ret = v;
	return n;
}

static cJSON *make_leaf(int type)
{
	switch (type) {
	case cJSON_Object:
		return cJSON_CreateObject();
	case cJSON_Array:
		return cJSON_CreateArray();
	default:
		return cJSON_CreateString("");
	}
}

static int walk(cJSON *node, char **segs, size_t n, bool create, int create_type, kz_visit_fn fn,
		void *payload)
{
	char key[512];
	size_t kl;
	bool arr;
	cJSON *child;
	int r;

	if (cJSON_IsArray(node)) {
		cJSON *e;

		cJSON_ArrayForEach(e, node) {
			r = walk(e, segs, n, create, create_type, fn, payload);
			if (r < 0)
				return r;
		}
		return 0;
	}
	if (!cJSON_IsObject(node))
		return 0;
	kl = strlen(segs[0]);
	arr = kl >= 2 && streq(segs[0] + kl - 2, "[]");
	snprintf(key, sizeof(key), "%.*s", (int)(arr ? kl - 2 : kl), segs[0]);
	child = cJSON_GetObjectItemCaseSensitive(node, key);
	if (n == 1) {
		if (!child || cJSON_IsNull(child)) {
			if (!create)
				return 0;
			child = make_leaf(create_type);
			if (cJSON_GetObjectItemCaseSensitive(node, key))
				cJSON_ReplaceItemInObjectCaseSensitive(node, key, child);
			else
				cJSON_AddItemToObject(node, key, child);
		}
		return fn(node, key, child, payload);
	}
	if (!child || cJSON_IsNull(child)) {
		if (!create)
			return 0;
		child = arr ? cJSON_CreateArray() : cJSON_CreateObject();
		if (cJSON_GetObjectItemCaseSensitive(node, key))
			cJSON_ReplaceItemInObjectCaseSensitive(node, key, child);
		else
			cJSON_AddItemToObject(node, key, child);
	}
	return walk(child, segs + 1, n - 1, create, create_type, fn, payload);
}

int kz__fs_apply(cJSON *obj, const char *path, bool create, int create_type, kz_visit_fn fn,
		 void *payload)
{
	char **segs;
	size_t n = split_path(path, &segs);
	int r = walk(obj, segs, n, create, create_type, fn, payload);

	for (size_t i = 0; i < n; i++)
		free(segs[i]);
	free(segs);
	return r;
}

/* ---- the default field specs ---- */

#define FS(g, v, k, p, c) { g, v, k, p, c }

/* metadata labels and pod-template labels (kustomize's templateLabels) */
static const struct kz_fieldspec template_labels[] = {
	FS(NULL, NULL, NULL, "metadata/labels", true),
	FS(NULL, "v1", "ReplicationController", "spec/template/metadata/labels", true),
	FS(NULL, NULL, "Deployment", "spec/template/metadata/labels", true),
	FS(NULL, NULL, "ReplicaSet", "spec/template/metadata/labels", true),
	FS(NULL, NULL, "DaemonSet", "spec/template/metadata/labels", true),
	FS("apps", NULL, "StatefulSet", "spec/template/metadata/labels", true),
	FS("apps", NULL, "StatefulSet", "spec/volumeClaimTemplates[]/metadata/labels", true),
	FS("batch", NULL, "Job", "spec/template/metadata/labels", true),
	FS("batch", NULL, "CronJob", "spec/jobTemplate/metadata/labels", true),
	FS("batch", NULL, "CronJob", "spec/jobTemplate/spec/template/metadata/labels", true),
};

#define AFF "spec/template/spec/affinity/"
/* selectors (kustomize's commonLabels), then the template labels */
static const struct kz_fieldspec selector_labels[] = {
	FS(NULL, "v1", "Service", "spec/selector", true),
	FS(NULL, "v1", "ReplicationController", "spec/selector", true),
	FS(NULL, NULL, "Deployment", "spec/selector/matchLabels", true),
	FS("apps", NULL, "Deployment",
	   AFF "podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
	   false),
	FS("apps", NULL, "Deployment",
	   AFF "podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
	   false),
	FS("apps", NULL, "Deployment",
	   AFF "podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
	   false),
	FS("apps", NULL, "Deployment",
	   AFF "podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
	   false),
	FS("apps", NULL, "Deployment", "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels",
	   false),
	FS(NULL, NULL, "ReplicaSet", "spec/selector/matchLabels", true),
	FS(NULL, NULL, "DaemonSet", "spec/selector/matchLabels", true),
	FS("apps", NULL, "StatefulSet", "spec/selector/matchLabels", true),
	FS("apps", NULL, "StatefulSet",
	   AFF "podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
	   false),
	FS("apps", NULL, "StatefulSet",
	   AFF "podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
	   false),
	FS("apps", NULL, "StatefulSet",
	   AFF "podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
	   false),
	FS("apps", NULL, "StatefulSet",
	   AFF "podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
	   false),
	FS("apps", NULL, "StatefulSet", "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels",
	   false),
	FS("batch", NULL, "Job", "spec/selector/matchLabels", false),
	FS("batch", NULL, "CronJob", "spec/jobTemplate/spec/selector/matchLabels", false),
	FS("policy", NULL, "PodDisruptionBudget", "spec/selector/matchLabels", false),
	FS("networking.k8s.io", NULL, "NetworkPolicy", "spec/podSelector/matchLabels", false),
	FS("networking.k8s.io", NULL, "NetworkPolicy", "spec/ingress/from/podSelector/matchLabels", false),
	FS("networking.k8s.io", NULL, "NetworkPolicy", "spec/egress/to/podSelector/matchLabels", false),
};

static const struct kz_fieldspec annotation_specs[] = {
	FS(NULL, NULL, NULL, "metadata/annotations", true),
	FS(NULL, "v1", "ReplicationController", "spec/template/metadata/annotations", true),
	FS(NULL, NULL, "Deployment", "spec/template/metadata/annotations", true),
	FS(NULL, NULL, "ReplicaSet", "spec/template/metadata/annotations", true),
	FS(NULL, NULL, "DaemonSet", "spec/template/metadata/annotations", true),
	FS(NULL, NULL, "StatefulSet", "spec/template/metadata/annotations", true),
	FS("batch", NULL, "Job", "spec/template/metadata/annotations", true),
	FS("batch", NULL, "CronJob", "spec/jobTemplate/metadata/annotations", true),
	FS("batch", NULL, "CronJob", "spec/jobTemplate/spec/template/metadata/annotations", true),
};

static const struct kz_fieldspec image_specs[] = {
	FS(NULL, NULL, NULL, "spec/containers[]/image", false),
	FS(NULL, NULL, NULL, "spec/initContainers[]/image", false),
	FS(NULL, NULL, NULL, "spec/volumes[]/image/reference", false),
	FS(NULL, NULL, NULL, "spec/template/spec/containers[]/image", false),
	FS(NULL, NULL, NULL, "spec/template/spec/initContainers[]/image", false),
	FS(NULL, NULL, NULL, "spec/template/spec/volumes[]/image/reference", false),
};

static const struct kz_fieldspec replica_specs[] = {
	FS(NULL, NULL, "Deployment", "spec/replicas", true),
	FS(NULL, NULL, "ReplicationController", "spec/replicas", true),
	FS(NULL, NULL, "ReplicaSet", "spec/replicas", true),
	FS(NULL, NULL, "StatefulSet", "spec/replicas", true),
};

/* ---- map setters (labels, annotations) ---- */

struct pairs {
	const cJSON *map; /* {"k":"v"} */
};

static int set_pairs(cJSON *parent, const char *key, cJSON *node, void *payload)
{
	const struct pairs *p = payload;
	const cJSON *e;

	if (!cJSON_IsObject(node))
		return 0;
	cJSON_ArrayForEach(e, p->map) {
		if (cJSON_GetObjectItemCaseSensitive(node, e->string))
			cJSON_ReplaceItemInObjectCaseSensitive(node, e->string,
							       cJSON_Duplicate(e, 1));
		else
			cJSON_AddItemToObject(node, e->string, cJSON_Duplicate(e, 1));
	}
	return 0;
}

static int apply_specs(struct kz_resmap *m, const struct kz_fieldspec *fs, size_t n, int type,
		       kz_visit_fn fn, void *payload)
{
	for (size_t i = 0; i < m->n; i++) {
		for (size_t j = 0; j < n; j++) {
			int r;

			if (!kz__fs_selects(&fs[j], m->v[i]->obj))
				continue;
			r = kz__fs_apply(m->v[i]->obj, fs[j].path, fs[j].create, type, fn, payload);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int add_labels(struct kz_resmap *m, const cJSON *map, bool selectors, bool templates)
{
	struct pairs p = { map };
	static const struct kz_fieldspec meta[] = { FS(NULL, NULL, NULL, "metadata/labels", true) };
	int r;

	if (selectors) {
		r = apply_specs(m, selector_labels, ARRAY_SIZE(selector_labels), cJSON_Object,
				set_pairs, &p);
		if (r < 0)
			return r;
		return apply_specs(m, template_labels, ARRAY_SIZE(template_labels), cJSON_Object,
				   set_pairs, &p);
	}
	if (templates)
		return apply_specs(m, template_labels, ARRAY_SIZE(template_labels), cJSON_Object,
				   set_pairs, &p);
	return apply_specs(m, meta, 1, cJSON_Object, set_pairs, &p);
}

/* ---- namespace ---- */

static int set_string(cJSON *parent, const char *key, cJSON *node, void *payload)
{
	if (cJSON_IsArray(node) || cJSON_IsObject(node))
		return 0;
	cJSON_ReplaceItemInObjectCaseSensitive(parent, key, cJSON_CreateString(payload));
	return 0;
}

static int set_namespace(struct kz_resmap *m, const char *ns, struct op_err *err)
{
	for (size_t i = 0; i < m->n; i++) {
		struct kz_res *r = m->v[i];
		cJSON *subj, *s;
		char g[256], v[64];
		const char *kind = kz__kind(r);

		kz__res_store_prev(r);
		if (!kz__cluster_scoped(r->obj))
			kz__fs_apply(r->obj, "metadata/namespace", true, cJSON_String, set_string,
				     (void *)ns);
		kz__gv(r->obj, g, sizeof(g), v, sizeof(v));
		if (streq(kind, "Namespace") && streq(kz__str(r->obj, "/apiVersion"), "v1"))
			kz__fs_apply(r->obj, "metadata/name", true, cJSON_String, set_string,
				     (void *)ns);
		if (streq(kind, "APIService") && streq(g, "apiregistration.k8s.io"))
			kz__fs_apply(r->obj, "spec/service/namespace", true, cJSON_String,
				     set_string, (void *)ns);
		if (streq(kind, "CustomResourceDefinition") && streq(g, "apiextensions.k8s.io"))
			kz__fs_apply(r->obj, "spec/conversion/webhook/clientConfig/service/namespace",
				     false, cJSON_String, set_string, (void *)ns);
		if ((streq(kind, "RoleBinding") || streq(kind, "ClusterRoleBinding")) &&
		    cJSON_IsArray(subj = yj_get(r->obj, "/subjects"))) {
			cJSON_ArrayForEach(s, subj) {
				if (!streq(kz__str(s, "/name"), "default"))
					continue;
				if (cJSON_GetObjectItemCaseSensitive(s, "namespace"))
					cJSON_ReplaceItemInObjectCaseSensitive(
						s, "namespace", cJSON_CreateString(ns));
				else
					cJSON_AddStringToObject(s, "namespace", ns);
			}
		}
		if (kz__resmap_find_cur(m, g, kind, kz__ns(r), kz__name(r), r)) {
			_cleanup_free_ char *id = kz__id_string(r);

			return op_err_set(err, -EINVAL,
					  "namespace transformation produces id conflict: %s", id);
		}
	}
	return 0;
}

/* ---- prefix / suffix ---- */

static bool skip_rename(const cJSON *obj)
{
	char g[256], v[64];
	const char *kind = kz__str(obj, "/kind");

	kz__gv(obj, g, sizeof(g), v, sizeof(v));
	return streq(kind, "CustomResourceDefinition") || streq(kind, "Namespace") ||
	       (streq(kind, "APIService") && streq(g, "apiregistration.k8s.io"));
}

static void push_str(char ***v, size_t *n, const char *s)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = xstrdup(s);
}

static void rename_all(struct kz_resmap *m, const char *prefix, const char *suffix)
{
	for (size_t i = 0; i < m->n; i++) {
		struct kz_res *r = m->v[i];
		char *name;

		if (skip_rename(r->obj))
			continue;
		if (prefix)
			push_str(&r->prefixes, &r->nprefixes, prefix);
		else
			push_str(&r->suffixes, &r->nsuffixes, suffix);
		if (!*(prefix ? prefix : suffix))
			continue;
		kz__res_store_prev(r);
		name = prefix ? xasprintf("%s%s", prefix, kz__name(r))
			      : xasprintf("%s%s", kz__name(r), suffix);
		yj_set(r->obj, "/metadata/name", cJSON_CreateString(name));
		free(name);
	}
}

/* ---- images ---- */

struct image {
	const char *name, *new_name, *new_tag, *digest, *tag_suffix;
	regex_t re;
};

/* kustomize's image.Split: name, tag and digest of a reference. */
static void image_split(const char *s, char **name, char **tag, char **digest)
{
	const char *search = s, *at, *colon;
	size_t off = 0;
	const char *slash = strchr(s, '/');

	if (slash && slash > s) {
		search = slash;
		off = (size_t)(slash - s);
	}
	at = strchr(search, '@');
	colon = strchr(search, ':');
	*tag = *digest = NULL;
	if (!at && !colon) {
		*name = xstrdup(s);
		return;
	}
	if (at && (!colon || at < colon)) {
		*name = xstrndup(s, (size_t)(at - search) + off);
		*digest = xstrdup(at + 1);
		return;
	}
	if (at && colon) {
		*name = xstrndup(s, (size_t)(colon - search) + off);
		*tag = xstrndup(colon + 1, (size_t)(at - colon - 1));
		*digest = xstrdup(at + 1);
		return;
	}
	*name = xstrndup(s, (size_t)(colon - search) + off);
	*tag = xstrdup(colon + 1);
}

static int set_image(cJSON *parent, const char *key, cJSON *node, void *payload)
{
	struct image *im = payload;
	char *name, *tag, *digest, *out;
	const char *t, *d;
	_cleanup_free_ char *joined = NULL;

	if (!cJSON_IsString(node) || regexec(&im->re, node->valuestring, 0, NULL, 0) != 0)
		return 0;
	image_split(node->valuestring, &name, &tag, &digest);
	t = tag;
	d = digest;
	if (*im->new_tag && *im->digest) {
		t = im->new_tag;
		d = im->digest;
	} else if (*im->new_tag) {
		t = im->new_tag;
		d = NULL;
	} else if (*im->digest) {
		t = NULL;
		d = im->digest;
	} else if (*im->tag_suffix) {
		joined = xasprintf("%s%s", t ? t : "", im->tag_suffix);
		t = joined;
		d = NULL;
	}
	out = xasprintf("%s%s%s%s%s", *im->new_name ? im->new_name : name, t && *t ? ":" : "",
			t && *t ? t : "", d && *d ? "@" : "", d && *d ? d : "");
	cJSON_ReplaceItemInObjectCaseSensitive(parent, key, cJSON_CreateString(out));
	free(out);
	free(name);
	free(tag);
	free(digest);
	return 0;
}

/* kustomize's legacy image filter: every "containers"/"initContainers" list. */
static void image_walk(cJSON *node, struct image *im)
{
	cJSON *c;

	if (cJSON_IsArray(node)) {
		cJSON_ArrayForEach(c, node)
			image_walk(c, im);
		return;
	}
	if (!cJSON_IsObject(node))
		return;
	cJSON_ArrayForEach(c, node) {
		image_walk(c, im);
		if ((streq(c->string, "containers") || streq(c->string, "initContainers")) &&
		    cJSON_IsArray(c)) {
			cJSON *e, *img;

			cJSON_ArrayForEach(e, c) {
				if (cJSON_IsObject(e) &&
				    (img = cJSON_GetObjectItemCaseSensitive(e, "image")))
					set_image(e, "image", img, im);
			}
		}
	}
}

static int apply_image(struct kz_resmap *m, const cJSON *spec, const char *kfile,
		       struct op_err *err)
{
	struct image im;
	char *pat;
	int r;

	im.name = kz__str(spec, "/name");
	im.new_name = kz__str(spec, "/newName");
	im.new_tag = kz__str(spec, "/newTag");
	im.digest = kz__str(spec, "/digest");
	im.tag_suffix = kz__str(spec, "/tagSuffix");
	pat = xasprintf("^%s(:[a-zA-Z0-9_.{}-]*)?(@sha256:[a-zA-Z0-9_.{}-]*)?$", im.name);
	r = regcomp(&im.re, pat, REG_EXTENDED | REG_NOSUB);
	free(pat);
	if (r != 0)
		return op_err_set(err, -EINVAL, "%s: images: invalid name '%s'", kfile, im.name);
	for (size_t i = 0; i < m->n; i++) {
		if (!streq(kz__kind(m->v[i]), "CustomResourceDefinition"))
			image_walk(m->v[i]->obj, &im);
	}
	r = apply_specs(m, image_specs, ARRAY_SIZE(image_specs), cJSON_String, set_image, &im);
	regfree(&im.re);
	return r;
}

/* ---- replicas ---- */

static int set_count(cJSON *parent, const char *key, cJSON *node, void *payload)
{
	cJSON_ReplaceItemInObjectCaseSensitive(parent, key, cJSON_Duplicate(payload, 1));
	return 0;
}

static bool any_name(const struct kz_res *r, const char *name)
{
	if (streq(kz__name(r), name))
		return true;
	for (size_t i = 0; i < r->nprev; i++)
		if (streq(r->prev[i].name, name))
			return true;
	return false;
}

static int apply_replicas(struct kz_resmap *m, const cJSON *spec, const char *kfile,
			  struct op_err *err)
{
	const char *name = kz__str(spec, "/name");
	cJSON *count = yj_get(spec, "/count");
	bool found = false;

	if (!cJSON_IsNumber(count))
		return op_err_set(err, -EINVAL, "%s: replicas: 'count' of '%s' must be a number",
				  kfile, name);
	for (size_t i = 0; i < m->n; i++) {
		for (size_t j = 0; j < ARRAY_SIZE(replica_specs); j++) {
			if (!kz__fs_selects(&replica_specs[j], m->v[i]->obj) ||
			    !any_name(m->v[i], name))
				continue;
			found = true;
			kz__fs_apply(m->v[i]->obj, replica_specs[j].path, true, cJSON_Number,
				     set_count, count);
		}
	}
	if (!found)
		return op_err_set(err, -EINVAL,
				  "%s: replicas: resource with name %s does not match a config with "
				  "a replicas field",
				  kfile, name);
	return 0;
}

/* ---- the transformer sequence of one kustomization ---- */

int kz__transform(struct kz_target *kt, struct kz_resmap *m, struct op_err *err)
{
	const cJSON *k = kt->k, *e;
	const char *s;
	int r;

	/* Patches, prefixes, suffixes and replacements may rename or remove: the
	 * name index is rebuilt on the next lookup after this step. */
	kz__resmap_invalidate(m);
	r = kz__apply_patches(kt, m, err);
	kz__resmap_invalidate(m);
	if (r < 0)
		return r;
	s = kz__str(k, "/namespace");
	if (*s) {
		r = set_namespace(m, s, err);
		if (r < 0)
			return r;
	}
	if (yj_get(k, "/namePrefix"))
		rename_all(m, kz__str(k, "/namePrefix"), NULL);
	if (yj_get(k, "/nameSuffix"))
		rename_all(m, NULL, kz__str(k, "/nameSuffix"));
	cJSON_ArrayForEach(e, yj_get(k, "/labels")) {
		const cJSON *pairs = yj_get(e, "/pairs");

		if (cJSON_IsObject(pairs)) {
			cJSON *t = yj_get(e, "/includeTemplates"), *sel = yj_get(e, "/includeSelectors");

			r = add_labels(m, pairs, cJSON_IsTrue(sel), cJSON_IsTrue(t));
			if (r < 0)
				return r;
		}
	}
	if (cJSON_IsObject(yj_get(k, "/commonLabels"))) {
		r = add_labels(m, yj_get(k, "/commonLabels"), true, true);
		if (r < 0)
			return r;
	}
	if (cJSON_IsObject(yj_get(k, "/commonAnnotations"))) {
		struct pairs p = { yj_get(k, "/commonAnnotations") };

		r = apply_specs(m, annotation_specs, ARRAY_SIZE(annotation_specs), cJSON_Object,
				set_pairs, &p);
		if (r < 0)
			return r;
	}
	r = kz__apply_json6902(kt, m, err);
	if (r < 0)
		return r;
	cJSON_ArrayForEach(e, yj_get(k, "/replicas")) {
		r = apply_replicas(m, e, kt->kfile, err);
		if (r < 0)
			return r;
	}
	cJSON_ArrayForEach(e, yj_get(k, "/images")) {
		r = apply_image(m, e, kt->kfile, err);
		if (r < 0)
			return r;
	}
	r = kz__apply_replacements(kt, m, err);
	kz__resmap_invalidate(m);
	return r;
}

/* ---- name references ---- */

struct ref_spec {
	const char *kind;   /* referrer kind */
	const char *group;  /* referrer group, NULL any */
	const char *path;
};

struct referral {
	const char *kind, *group; /* the referred-to kind */
	const struct ref_spec *specs;
	size_t n;
};

#define R(k, g, p) { k, g, p }
#define PODS(sub)                                                                                 \
	R("Pod", NULL, "spec/" sub), R("PodTemplate", NULL, "template/spec/" sub),                 \
		R("Deployment", NULL, "spec/template/spec/" sub),                                   \
		R("ReplicaSet", NULL, "spec/template/spec/" sub),                                   \
		R("DaemonSet", NULL, "spec/template/spec/" sub),                                    \
		R("StatefulSet", NULL, "spec/template/spec/" sub),                                  \
		R("Job", NULL, "spec/template/spec/" sub),                                          \
		R("CronJob", NULL, "spec/jobTemplate/spec/template/spec/" sub)
#define WORKLOADS(sub)                                                                            \
	R("Pod", NULL, "spec/" sub), R("StatefulSet", NULL, "spec/template/spec/" sub),             \
		R("Deployment", NULL, "spec/template/spec/" sub),                                   \
		R("ReplicationController", NULL, "spec/template/spec/" sub),                        \
		R("CronJob", NULL, "spec/jobTemplate/spec/template/spec/" sub),                     \
		R("Job", NULL, "spec/template/spec/" sub),                                          \
		R("DaemonSet", NULL, "spec/template/spec/" sub)

static const struct ref_spec to_scalable[] = {
	R("HorizontalPodAutoscaler", NULL, "spec/scaleTargetRef/name"),
};
static const struct ref_spec to_configmap[] = {
	PODS("volumes/configMap/name"),
	PODS("containers/env/valueFrom/configMapKeyRef/name"),
	PODS("initContainers/env/valueFrom/configMapKeyRef/name"),
	PODS("containers/envFrom/configMapRef/name"),
	PODS("initContainers/envFrom/configMapRef/name"),
	PODS("volumes/projected/sources/configMap/name"),
	R("Node", NULL, "spec/configSource/configMap"),
	R("Role", NULL, "rules/resourceNames"),
	R("ClusterRole", NULL, "rules/resourceNames"),
	R("Ingress", NULL, "metadata/annotations/nginx.ingress.kubernetes.io\\/fastcgi-params-configmap"),
};
static const struct ref_spec to_secret[] = {
	PODS("volumes/secret/secretName"),
	PODS("containers/env/valueFrom/secretKeyRef/name"),
	PODS("initContainers/env/valueFrom/secretKeyRef/name"),
	PODS("containers/envFrom/secretRef/name"),
	PODS("initContainers/envFrom/secretRef/name"),
	PODS("imagePullSecrets/name"),
	PODS("volumes/projected/sources/secret/name"),
	R("Ingress", NULL, "spec/tls/secretName"),
	R("Ingress", NULL, "metadata/annotations/ingress.kubernetes.io\\/auth-secret"),
	R("Ingress", NULL, "metadata/annotations/nginx.ingress.kubernetes.io\\/auth-secret"),
	R("Ingress", NULL, "metadata/annotations/nginx.ingress.kubernetes.io\\/auth-tls-secret"),
	R("ServiceAccount", NULL, "imagePullSecrets/name"),
	R("StorageClass", NULL, "parameters/secretName"),
	R("StorageClass", NULL, "parameters/adminSecretName"),
	R("StorageClass", NULL, "parameters/userSecretName"),
	R("StorageClass", NULL, "parameters/secretRef"),
	R("Role", NULL, "rules/resourceNames"),
	R("ClusterRole", NULL, "rules/resourceNames"),
	R("Service", "serving.knative.dev", "spec/template/spec/containers/env/valueFrom/secretKeyRef/name"),
	R("PersistentVolume", NULL, "spec/azureFile/secretName"),
};
static const struct ref_spec to_service[] = {
	R("StatefulSet", "apps", "spec/serviceName"),
	R("Ingress", NULL, "spec/rules/http/paths/backend/serviceName"),
	R("Ingress", NULL, "spec/backend/serviceName"),
	R("Ingress", NULL, "spec/rules/http/paths/backend/service/name"),
	R("Ingress", NULL, "spec/defaultBackend/service/name"),
	R("APIService", "apiregistration.k8s.io", "spec/service/name"),
	R("ValidatingWebhookConfiguration", "admissionregistration.k8s.io",
	  "webhooks/clientConfig/service"),
	R("MutatingWebhookConfiguration", "admissionregistration.k8s.io",
	  "webhooks/clientConfig/service"),
};
static const struct ref_spec to_role[] = {
	R("RoleBinding", "rbac.authorization.k8s.io", "roleRef/name"),
};
static const struct ref_spec to_clusterrole[] = {
	R("RoleBinding", "rbac.authorization.k8s.io", "roleRef/name"),
	R("ClusterRoleBinding", "rbac.authorization.k8s.io", "roleRef/name"),
};
static const struct ref_spec to_sa[] = {
	R("RoleBinding", "rbac.authorization.k8s.io", "subjects"),
	R("ClusterRoleBinding", "rbac.authorization.k8s.io", "subjects"),
	WORKLOADS("serviceAccountName"),
};
static const struct ref_spec to_pvc[] = {
	WORKLOADS("volumes/persistentVolumeClaim/claimName"),
};
static const struct ref_spec to_pv[] = {
	R("PersistentVolumeClaim", NULL, "spec/volumeName"),
	R("ClusterRole", NULL, "rules/resourceNames"),
};
static const struct ref_spec to_storageclass[] = {
	R("PersistentVolume", NULL, "spec/storageClassName"),
	R("PersistentVolumeClaim", NULL, "spec/storageClassName"),
	R("StatefulSet", NULL, "spec/volumeClaimTemplates/spec/storageClassName"),
};
static const struct ref_spec to_priorityclass[] = {
	WORKLOADS("priorityClassName"),
};
static const struct ref_spec to_ingressclass[] = {
	R("Ingress", NULL, "spec/ingressClassName"),
};
static const struct ref_spec to_vap[] = {
	R("ValidatingAdmissionPolicyBinding", "admissionregistration.k8s.io", "spec/policyName"),
};

#define REF(k, g, t) { k, g, t, ARRAY_SIZE(t) }
static const struct referral referrals[] = {
	REF("Deployment", NULL, to_scalable),
	REF("ReplicationController", NULL, to_scalable),
	REF("ReplicaSet", NULL, to_scalable),
	REF("StatefulSet", NULL, to_scalable),
	REF("ConfigMap", "", to_configmap),
	REF("Secret", "", to_secret),
	REF("Service", "", to_service),
	REF("Role", "rbac.authorization.k8s.io", to_role),
	REF("ClusterRole", "rbac.authorization.k8s.io", to_clusterrole),
	REF("ServiceAccount", "", to_sa),
	REF("PersistentVolumeClaim", "", to_pvc),
	REF("PersistentVolume", "", to_pv),
	REF("StorageClass", "storage.k8s.io", to_storageclass),
	REF("PriorityClass", "scheduling.k8s.io", to_priorityclass),
	REF("IngressClass", "networking.k8s.io", to_ingressclass),
	REF("ValidatingAdmissionPolicy", "admissionregistration.k8s.io", to_vap),
};

/*
 * Renamed resources by (kind, earlier name), in resource order: a
 * reference can only need fixing if it names something that was renamed,
 * so this index replaces a scan of every resource per reference.
 */
struct prev_bucket {
	char *key; /* "kind/name", owned: the map's key points here */
	struct kz_res **v;
	size_t n, alloc;
};

static void prev_index_build(struct hmap *h, const struct kz_resmap *m)
{
	hmap_init(h);
	for (size_t i = 0; i < m->n; i++) {
		struct kz_res *r = m->v[i];

		for (size_t j = 0; j < r->nprev; j++) {
			char *key = xasprintf("%s/%s", r->prev[j].kind, r->prev[j].name);
			struct prev_bucket *b = hmap_get(h, key);

			if (!b) {
				b = xnew0(struct prev_bucket, 1);
				b->key = TAKE_PTR(key);
				hmap_put(h, b->key, b);
			}
			free(key);
			if (b->n && b->v[b->n - 1] == r)
				continue; /* two earlier ids with the same name */
			XGROW(b->v, b->n + 1, b->alloc);
			b->v[b->n++] = r;
		}
	}
}

static void prev_index_release(struct hmap *h)
{
	size_t it = 0;
	const char *k;
	void *v;

	while (hmap_next(h, &it, &k, &v)) {
		struct prev_bucket *b = v;

		free(b->key);
		free(b->v);
		free(b);
	}
	hmap_release(h);
}

struct nameref {
	struct kz_resmap *m;
	struct hmap *prev; /* prev_index_build() */
	const struct referral *ref;
	const struct kz_res *referrer;
	const char *path;
	struct op_err *err;
};

static bool prev_named(const struct kz_res *r, const char *kind, const char *name)
{
	for (size_t i = 0; i < r->nprev; i++)
		if (streq(r->prev[i].name, name) && streq(r->prev[i].kind, kind))
			return true;
	return false;
}

static bool ns_eq(const char *a, const char *b)
{
	return streq(*a ? a : "default", *b ? b : "default");
}

static const char *org_ns(const struct kz_res *r)
{
	return r->nprev ? r->prev[0].ns : (*kz__ns(r) ? kz__ns(r) : "default");
}

/* The one referral `name` means for this referrer, NULL for none, or an error. */
static int select_referral(struct nameref *nr, const char *name, const char *want_ns,
			   struct kz_res **ret)
{
	struct kz_res *cand[64];
	size_t n = 0, i;
	const cJSON *rr = NULL;
	bool referrer_cluster = kz__cluster_scoped(nr->referrer->obj);
	_cleanup_free_ char *key = xasprintf("%s/%s", nr->ref->kind, name);
	const struct prev_bucket *b = hmap_get(nr->prev, key);

	if (str_endswith(nr->path, "roleRef/name"))
		rr = yj_get(nr->referrer->obj, "/roleRef");
	for (i = 0; b && i < b->n && n < ARRAY_SIZE(cand); i++) {
		struct kz_res *c = b->v[i];
		char g[256], v[64];

		if (!prev_named(c, nr->ref->kind, name))
			continue;
		kz__gv(c->obj, g, sizeof(g), v, sizeof(v));
		if (nr->ref->group && !streq(nr->ref->group, g))
			continue;
		if (rr && (!streq(kz__str(rr, "/kind"), kz__kind(c)) ||
			   !streq(kz__str(rr, "/apiGroup"), g)))
			continue;
		if (!referrer_cluster && !kz__cluster_scoped(c->obj) &&
		    !streq(kz__kind(c), "ServiceAccount") &&
		    !ns_eq(kz__ns(nr->referrer), kz__ns(c)))
			continue;
		if (want_ns && !streq(org_ns(c), want_ns) && !ns_eq(kz__ns(c), want_ns))
			continue;
		cand[n++] = c;
	}
	*ret = NULL;
	if (n == 0)
		return 0;
	for (i = 1; i < n; i++) {
		if (!streq(kz__name(cand[i]), kz__name(cand[0])) ||
		    (want_ns && !streq(kz__ns(cand[i]), kz__ns(cand[0])))) {
			_cleanup_free_ char *id = kz__id_string(nr->referrer);

			return op_err_set(nr->err, -EINVAL,
					  "found multiple possible referrals for '%s' in '%s' of %s",
					  name, nr->path, id);
		}
	}
	*ret = cand[0];
	return 0;
}

static int fix_scalar(struct nameref *nr, cJSON *parent, const char *key, cJSON *node, int idx)
{
	struct kz_res *target;
	int r;

	if (!cJSON_IsString(node))
		return 0;
	r = select_referral(nr, node->valuestring, NULL, &target);
	if (r < 0 || !target || streq(kz__name(target), node->valuestring))
		return r;
	if (idx >= 0)
		cJSON_ReplaceItemInArray(parent, idx, cJSON_CreateString(kz__name(target)));
	else
		cJSON_ReplaceItemInObjectCaseSensitive(parent, key,
						       cJSON_CreateString(kz__name(target)));
	return 0;
}

static int fix_mapping(struct nameref *nr, cJSON *node)
{
	struct kz_res *target;
	cJSON *name = cJSON_GetObjectItemCaseSensitive(node, "name");
	const char *ns = yj_get_str(node, "/namespace");
	int r;

	if (!cJSON_IsString(name))
		return 0;
	r = select_referral(nr, name->valuestring, ns, &target);
	if (r < 0 || !target)
		return r;
	if (streq(kz__name(target), name->valuestring) && !*kz__ns(target))
		return 0;
	cJSON_ReplaceItemInObjectCaseSensitive(node, "name", cJSON_CreateString(kz__name(target)));
	if (!*kz__ns(target))
		return 0;
	if (cJSON_GetObjectItemCaseSensitive(node, "namespace"))
		cJSON_ReplaceItemInObjectCaseSensitive(node, "namespace",
						       cJSON_CreateString(kz__ns(target)));
	else
		cJSON_AddStringToObject(node, "namespace", kz__ns(target));
	return 0;
}

static int fix_ref(cJSON *parent, const char *key, cJSON *node, void *payload)
{
	struct nameref *nr = payload;

	if (cJSON_IsString(node))
		return fix_scalar(nr, parent, key, node, -1);
	if (cJSON_IsObject(node))
		return fix_mapping(nr, node);
	if (cJSON_IsArray(node)) {
		cJSON *e;
		int i = 0, r;

		for (e = node->child; e; e = e->next, i++) {
			r = cJSON_IsObject(e) ? fix_mapping(nr, e) : fix_scalar(nr, node, NULL, e, i);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int kz__fix_name_refs(struct kz_resmap *m, struct op_err *err)
{
	struct hmap prev;
	int r = 0;

	prev_index_build(&prev, m);
	for (size_t ri = 0; r == 0 && ri < ARRAY_SIZE(referrals); ri++) {
		const struct referral *ref = &referrals[ri];

		for (size_t i = 0; r == 0 && i < m->n; i++) {
			struct kz_res *res = m->v[i];
			char g[256], v[64];

			kz__gv(res->obj, g, sizeof(g), v, sizeof(v));
			for (size_t j = 0; r == 0 && j < ref->n; j++) {
				struct nameref nr = { m, &prev, ref, res, ref->specs[j].path, err };

				if (!streq(ref->specs[j].kind, kz__kind(res)) ||
				    (ref->specs[j].group && !streq(ref->specs[j].group, g)))
					continue;
				r = kz__fs_apply(res->obj, ref->specs[j].path, false, cJSON_String,
						 fix_ref, &nr);
			}
		}
	}
	prev_index_release(&prev);
	return r;
}
