/*
 * transform.c: kustomize's builtin transformers (namespace, prefix,
 * suffix, labels, annotations, images, replicas) and the order in which a
 * kustomization runs its transformers.
 *
 * DESIGN
 * Each transformer is a function of the resources, its own settings and
 * the field specs it works on, exactly as kustomize's builtin plugins
 * are: a kustomization's fields (namespace, namePrefix, commonLabels ...)
 * configure them with the field specs of the transformer configuration
 * (config.c), and a `transformers` entry of kind LabelTransformer (...)
 * configures the same function with the field specs it lists (plugin.c).
 * The walk to each field is kz__fs_filter(); the functions here only say
 * what to write there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/str.h"
#include "kustomize/build.h"
#include "kustomize/internal.h"
#include "base/regex.h"
#include "yj/yj.h"
#include "base/banned.h"

/* ---- labels and annotations ---- */

static int set_pairs(cJSON *parent, cJSON *node, void *payload, struct op_err *err)
{
	const cJSON *map = payload, *e;

	if (cJSON_IsNull(node))
		return 0;
	if (!cJSON_IsObject(node))
		return op_err_set(err, -EINVAL, "wrong node kind: expected MappingNode");
	cJSON_ArrayForEach(e, map) {
		cJSON *v = cJSON_CreateString(cJSON_IsString(e) ? e->valuestring : "");

		if (cJSON_GetObjectItemCaseSensitive(node, e->string))
			cJSON_ReplaceItemInObjectCaseSensitive(node, e->string, v);
		else
			cJSON_AddItemToObject(node, e->string, v);
	}
	return 0;
}

int kz__t_pairs(struct kz_resmap *m, const cJSON *pairs, const struct kz_fsv *fs,
		struct op_err *err)
{
	if (!cJSON_GetArraySize(pairs))
		return 0;
	for (size_t i = 0; i < m->n; i++) {
		for (size_t j = 0; j < fs->n; j++) {
			int r = kz__fs_filter(m->v[i]->obj, &fs->v[j], KZ_CREATE_MAP, set_pairs,
					      (void *)pairs, err);

			if (r < 0) {
				_cleanup_free_ char *id = kz__id_string(m->v[i]);

				return op_err_prefix(err, "%s", id);
			}
		}
	}
	return 0;
}

/* ---- namespace ---- */

struct ns_set {
	const char *ns;
	bool unset_only;
};

static int set_ns(cJSON *parent, cJSON *node, void *payload, struct op_err *err)
{
	const struct ns_set *s = payload;

	if (cJSON_IsObject(node) || cJSON_IsArray(node))
		return op_err_set(err, -EINVAL, "namespace field specs must target scalar nodes");
	if (s->unset_only && !cJSON_IsNull(node) &&
	    !(cJSON_IsString(node) && !*node->valuestring))
		return 0;
	if (!parent)
		return 0;
	kz__replace_node(parent, node, cJSON_CreateString(s->ns));
	return 0;
}

static bool is_binding(const char *kind)
{
	return streq(kind, "RoleBinding") || streq(kind, "ClusterRoleBinding");
}

static int set_subjects(cJSON *obj, const struct ns_set *s, const char *mode,
			struct op_err *err)
{
	cJSON *subjects = cJSON_GetObjectItemCaseSensitive(obj, "subjects"), *e;

	if (streq(mode, "none") || !subjects || cJSON_IsNull(subjects))
		return 0;
	if (!cJSON_IsArray(subjects))
		return op_err_set(err, -EINVAL, "setting namespace on (cluster)role binding "
				  "subjects: wrong node kind: expected SequenceNode");
	cJSON_ArrayForEach(e, subjects) {
		const char *want = streq(mode, "allServiceAccounts") ? "kind" : "name";
		const char *val = streq(mode, "allServiceAccounts") ? "ServiceAccount" : "default";
		const cJSON *f;
		cJSON *nsf;

		if (!cJSON_IsObject(e))
			return op_err_set(err, -EINVAL, "setting namespace on (cluster)role binding "
					  "subjects: wrong node kind: expected MappingNode");
		f = cJSON_GetObjectItemCaseSensitive(e, want);
		if (!cJSON_IsString(f) || !streq(f->valuestring, val))
			continue;
		nsf = cJSON_GetObjectItemCaseSensitive(e, "namespace");
		if (!nsf)
			nsf = cJSON_AddStringToObject(e, "namespace", "");
		if (set_ns(e, nsf, (void *)s, err) < 0)
			return -EINVAL;
	}
	return 0;
}

int kz__t_namespace(struct kz_resmap *m, const char *ns, const struct kz_fsv *fs, bool unset_only,
		    const char *mode, struct op_err *err)
{
	struct ns_set s = { ns, unset_only };
	static char none[] = "", path[] = "metadata/namespace";
	static const struct kz_fs meta_ns = { none, none, none, path, true };
	int r;

	if (!*ns)
		return 0;
	if (*mode && !streq(mode, "defaultOnly") && !streq(mode, "allServiceAccounts") &&
	    !streq(mode, "none"))
		return op_err_set(err, -EINVAL,
				  "invalid value '%s' for setRoleBindingSubjects: must be one of "
				  "'defaultOnly', 'none' or 'allServiceAccounts'",
				  mode);
	for (size_t i = 0; i < m->n; i++) {
		struct kz_res *res = m->v[i];
		const char *av = kz__str(res->obj, "/apiVersion");
		_cleanup_free_ char *name = xstrdup(kz__name(res));
		bool binding = is_binding(kz__kind(res));
		char g[256], v[64];

		if (res->helm)
			continue; /* helm sets the namespace of what it renders */
		kz__res_store_prev(res);
		if (!kz__res_cluster(res)) {
			r = kz__fs_filter(res->obj, &meta_ns, KZ_CREATE_SCALAR, set_ns, &s, err);
			if (r < 0)
				goto fail;
		}
		if (binding) {
			r = set_subjects(res->obj, &s, *mode ? mode : "defaultOnly", err);
			if (r < 0)
				goto fail;
		}
		for (size_t j = 0; j < fs->n; j++) {
			const struct kz_fs *f = &fs->v[j];

			if (streq(f->path, "metadata/namespace") ||
			    (streq(f->path, "metadata/name") && !streq(av, "v1")) ||
			    (binding && is_binding(f->kind) && streq(f->path, "subjects/namespace")))
				continue;
			r = kz__fs_filter(res->obj, f, KZ_CREATE_SCALAR, set_ns, &s, err);
			if (r < 0)
				goto fail;
		}
		if (!streq(name, kz__name(res)))
			kz__resmap_invalidate(m);
		kz__gv(res->obj, g, sizeof(g), v, sizeof(v));
		if (kz__resmap_find_cur(m, g, v, kz__kind(res), kz__res_eff_ns(res), kz__name(res),
					res)) {
			_cleanup_free_ char *id = kz__id_string(res);

			return op_err_set(err, -EINVAL,
					  "namespace transformation produces ID conflict: %s", id);
		}
		continue;
fail:
		{
			_cleanup_free_ char *id = kz__id_string(res);

			return op_err_prefix(err, "namespace transformation failed: %s", id);
		}
	}
	return 0;
}

/* ---- prefix and suffix ---- */

struct affix {
	const char *s;
	bool suffix;
};

static int set_affix(cJSON *parent, cJSON *node, void *payload, struct op_err *err)
{
	const struct affix *a = payload;
	char *val;

	if (cJSON_IsObject(node) || cJSON_IsArray(node))
		return op_err_set(err, -EINVAL, "wrong node kind: expected ScalarNode");
	if (!parent)
		return 0;
	{
		const char *cur = cJSON_IsString(node) ? node->valuestring : "";

		val = a->suffix ? xasprintf("%s%s", cur, a->s) : xasprintf("%s%s", a->s, cur);
	}
	kz__replace_node(parent, node, cJSON_CreateString(val));
	free(val);
	return 0;
}

static void push_str(char ***v, size_t *n, const char *s)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = xstrdup(s);
}

/* kustomize leaves these names alone, whatever the field specs say. */
static bool skip_affix(const struct kz_res *r)
{
	char g[256], v[64];
	const char *k = kz__org_kind(r);

	kz__gv(r->obj, g, sizeof(g), v, sizeof(v));
	return streq(k, "CustomResourceDefinition") || streq(k, "Namespace") ||
	       (streq(k, "APIService") && streq(g, "apiregistration.k8s.io"));
}

int kz__t_affix(struct kz_resmap *m, const char *s, bool suffix, const struct kz_fsv *fs,
		struct op_err *err)
{
	struct affix a = { s, suffix };

	kz__resmap_invalidate(m);
	for (size_t i = 0; i < m->n; i++) {
		struct kz_res *r = m->v[i];
		char g[256], v[64];

		if (skip_affix(r))
			continue;
		kz__gv(r->obj, g, sizeof(g), v, sizeof(v));
		for (size_t j = 0; j < fs->n; j++) {
			const struct kz_fs *f = &fs->v[j];
			int rc;

			if (!kz__gvk_selected(g, v, kz__org_kind(r), f->group, f->version, f->kind))
				continue;
			if (streq(f->path, "metadata/name") && *s) {
				if (suffix)
					push_str(&r->suffixes, &r->nsuffixes, s);
				else
					push_str(&r->prefixes, &r->nprefixes, s);
				kz__res_store_prev(r);
			}
			rc = kz__fs_filter(r->obj, f, KZ_CREATE_SCALAR, set_affix, &a, err);
			if (rc < 0) {
				_cleanup_free_ char *id = kz__id_string(r);

				return op_err_prefix(err, "%s", id);
			}
		}
	}
	kz__resmap_invalidate(m);
	return 0;
}

/* ---- images ---- */

struct image {
	const char *name, *new_name, *new_tag, *digest, *tag_suffix;
	struct regex *re;
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

static int set_image(cJSON *parent, cJSON *node, void *payload, struct op_err *err)
{
	struct image *im = payload;
	char *name, *tag, *digest, *out;
	const char *t, *d;
	_cleanup_free_ char *joined = NULL;

	if (cJSON_IsObject(node) || cJSON_IsArray(node))
		return op_err_set(err, -EINVAL, "wrong node kind: expected ScalarNode for an image");
	if (!parent || !cJSON_IsString(node) ||
	    !regex_match(im->re, node->valuestring, strlen(node->valuestring)))
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
	kz__replace_node(parent, node, cJSON_CreateString(out));
	free(out);
	free(name);
	free(tag);
	free(digest);
	return 0;
}

/* kustomize's legacy image filter: every "containers"/"initContainers" list, anywhere. */
static int image_walk(cJSON *node, struct image *im, struct op_err *err)
{
	cJSON *c;
	int r;

	if (cJSON_IsArray(node)) {
		cJSON_ArrayForEach(c, node) {
			r = image_walk(c, im, err);
			if (r < 0)
				return r;
		}
		return 0;
	}
	if (!cJSON_IsObject(node))
		return 0;
	cJSON_ArrayForEach(c, node) {
		r = image_walk(c, im, err);
		if (r < 0)
			return r;
		if ((streq(c->string, "containers") || streq(c->string, "initContainers")) &&
		    cJSON_IsArray(c)) {
			cJSON *e, *img;

			cJSON_ArrayForEach(e, c) {
				if (cJSON_IsObject(e) &&
				    (img = cJSON_GetObjectItemCaseSensitive(e, "image"))) {
					r = set_image(e, img, im, err);
					if (r < 0)
						return r;
				}
			}
		}
	}
	return 0;
}

int kz__t_image(struct kz_resmap *m, const cJSON *spec, const struct kz_fsv *fs,
		const char *where, struct op_err *err)
{
	struct image im;
	char *pat;
	int r = 0;

	im.name = kz__str(spec, "/name");
	im.new_name = kz__str(spec, "/newName");
	im.new_tag = kz__str(spec, "/newTag");
	im.digest = kz__str(spec, "/digest");
	im.tag_suffix = kz__str(spec, "/tagSuffix");
	pat = xasprintf("^%s(:[a-zA-Z0-9_.{}-]*)?(@sha256:[a-zA-Z0-9_.{}-]*)?$", im.name);
	r = kz__regex(pat, &im.re);
	free(pat);
	if (r < 0)
		return op_err_set(err, -EINVAL, "%s: images: invalid name '%s'", where, im.name);
	for (size_t i = 0; r == 0 && i < m->n; i++)
		if (!streq(kz__kind(m->v[i]), "CustomResourceDefinition"))
			r = image_walk(m->v[i]->obj, &im, err);
	for (size_t i = 0; r == 0 && i < m->n; i++) {
		if (streq(kz__kind(m->v[i]), "CustomResourceDefinition"))
			continue;
		for (size_t j = 0; r == 0 && j < fs->n; j++)
			r = kz__fs_filter(m->v[i]->obj, &fs->v[j], KZ_CREATE_NONE, set_image, &im,
					  err);
	}
	regex_free(im.re);
	if (r < 0)
		return op_err_prefix(err, "%s: images", where);
	return 0;
}

/* ---- replicas ---- */

static int set_count(cJSON *parent, cJSON *node, void *payload, struct op_err *err)
{
	if (cJSON_IsObject(node) || cJSON_IsArray(node))
		return op_err_set(err, -EINVAL, "wrong node kind: expected ScalarNode for replicas");
	if (parent)
		kz__replace_node(parent, node, cJSON_Duplicate(payload, 1));
	return 0;
}

static bool any_id_named(const struct kz_res *r, const char *name, const struct kz_fs *f)
{
	char g[256], v[64];

	kz__gv(r->obj, g, sizeof(g), v, sizeof(v));
	if (streq(kz__name(r), name) &&
	    kz__gvk_selected(g, v, kz__kind(r), f->group, f->version, f->kind))
		return true;
	for (size_t i = 0; i < r->nprev; i++)
		if (streq(r->prev[i].name, name) &&
		    kz__gvk_selected(g, v, r->prev[i].kind, f->group, f->version, f->kind))
			return true;
	return false;
}

int kz__t_replicas(struct kz_resmap *m, const cJSON *spec, const struct kz_fsv *fs,
		   const char *where, struct op_err *err)
{
	const char *name = kz__str(spec, "/name");
	const cJSON *count = yj_get(spec, "/count");
	cJSON *c;
	bool found = false;
	int r = 0;

	if (count && !cJSON_IsNumber(count) && !cJSON_IsNull(count))
		return op_err_set(err, -EINVAL, "%s: replicas: 'count' of '%s' must be a number",
				  where, name);
	c = cJSON_CreateNumber(cJSON_IsNumber(count) ? (double)yj_to_int64(count->valuedouble) : 0);
	for (size_t j = 0; r == 0 && j < fs->n; j++) {
		for (size_t i = 0; r == 0 && i < m->n; i++) {
			if (!any_id_named(m->v[i], name, &fs->v[j]))
				continue;
			found = true;
			r = kz__fs_filter(m->v[i]->obj, &fs->v[j], KZ_CREATE_SCALAR, set_count, c,
					  err);
		}
	}
	cJSON_Delete(c);
	if (r < 0)
		return op_err_prefix(err, "%s: replicas", where);
	if (!found)
		return op_err_set(err, -EINVAL,
				  "%s: replicas: resource with name %s does not match a config with "
				  "a replicas field",
				  where, name);
	return 0;
}

/* ---- the transformers of a kustomization, in kustomize's order ---- */

/* The field specs of one `labels` entry (kustomize's LabelTransformer configurator). */
static int label_specs(const struct kz_target *kt, const cJSON *e, const struct kz_tconfig *tc,
		       struct kz_fsv *out, struct op_err *err)
{
	int r = kz__fsv_parse(yj_get(e, "/fields"), out, kt->kfile, err);
	struct kz_fsv meta = { 0 };

	if (r == 0)
		r = kz__fsv_merge(out, &tc->fs[KZ_TC_LABELS], err);
	if (r == 0 && cJSON_IsTrue(yj_get(e, "/includeSelectors"))) {
		r = kz__fsv_merge(out, &tc->fs[KZ_TC_COMMON_LABELS], err);
	} else if (r == 0) {
		if (cJSON_IsTrue(yj_get(e, "/includeTemplates")))
			r = kz__fsv_merge(out, &tc->fs[KZ_TC_TEMPLATE_LABELS], err);
		kz__fsv_push(&meta, "", "", "", "metadata/labels", true);
		if (r == 0)
			r = kz__fsv_merge(out, &meta, err);
		kz__fsv_release(&meta);
	}
	if (r < 0)
		return op_err_prefix(err, "%s: labels: failed to merge labels", kt->kfile);
	return 0;
}

int kz__transform(struct kz_target *kt, struct kz_acc *acc, struct op_err *err)
{
	const cJSON *k = kt->k, *e;
	struct kz_resmap *m = &acc->m;
	const struct kz_tconfig *tc = &acc->tc;
	const char *s;
	int r;

	/* Patches, prefixes, suffixes and replacements may rename or remove: the
	 * name index is rebuilt on the next lookup after this step. */
	kz__resmap_invalidate(m);
	if (cJSON_GetArraySize(yj_get(k, "/patchesStrategicMerge"))) {
		r = kz__t_psm(kt, m, yj_get(k, "/patchesStrategicMerge"), NULL, err);
		if (r < 0)
			return r;
	}
	cJSON_ArrayForEach(e, yj_get(k, "/patches")) {
		r = kz__t_patch(kt, m, e, err);
		if (r < 0)
			return r;
	}
	kz__resmap_invalidate(m);
	s = kz__str(k, "/namespace");
	if (*s) {
		r = kz__t_namespace(m, s, &tc->fs[KZ_TC_NAMESPACE], false, "defaultOnly", err);
		if (r < 0)
			return op_err_prefix(err, "%s", kt->kfile);
	}
	s = kz__str(k, "/namePrefix");
	if (*s) {
		r = kz__t_affix(m, s, false, &tc->fs[KZ_TC_PREFIX], err);
		if (r < 0)
			return op_err_prefix(err, "%s: namePrefix", kt->kfile);
	}
	s = kz__str(k, "/nameSuffix");
	if (*s) {
		r = kz__t_affix(m, s, true, &tc->fs[KZ_TC_SUFFIX], err);
		if (r < 0)
			return op_err_prefix(err, "%s: nameSuffix", kt->kfile);
	}
	cJSON_ArrayForEach(e, yj_get(k, "/labels")) {
		struct kz_fsv fs = { 0 };

		r = label_specs(kt, e, tc, &fs, err);
		if (r == 0)
			r = kz__t_pairs(m, yj_get(e, "/pairs"), &fs, err);
		kz__fsv_release(&fs);
		if (r < 0)
			return op_err_prefix(err, "%s: labels", kt->kfile);
	}
	r = kz__t_pairs(m, yj_get(k, "/commonLabels"), &tc->fs[KZ_TC_COMMON_LABELS], err);
	if (r == 0)
		r = kz__t_pairs(m, yj_get(k, "/commonAnnotations"), &tc->fs[KZ_TC_ANNOTATIONS],
				err);
	if (r < 0)
		return op_err_prefix(err, "%s", kt->kfile);
	cJSON_ArrayForEach(e, yj_get(k, "/patchesJson6902")) {
		r = kz__t_json6902(kt, m, e, err);
		if (r < 0)
			return r;
	}
	cJSON_ArrayForEach(e, yj_get(k, "/replicas")) {
		r = kz__t_replicas(m, e, &tc->fs[KZ_TC_REPLICAS], kt->kfile, err);
		if (r < 0)
			return r;
	}
	cJSON_ArrayForEach(e, yj_get(k, "/images")) {
		r = kz__t_image(m, e, &tc->fs[KZ_TC_IMAGES], kt->kfile, err);
		if (r < 0)
			return r;
	}
	if (cJSON_GetArraySize(yj_get(k, "/replacements")))
		r = kz__apply_replacements(kt, m, yj_get(k, "/replacements"), err);
	kz__resmap_invalidate(m);
	if (r < 0)
		return r;
	return kz__plugins_run(kt, acc, KZ_PLUGIN_TRANSFORMERS, err);
}
