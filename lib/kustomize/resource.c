/*
 * resource.c: resources and resource lists (see internal.h).
 *
 * A resource's id is its group, kind, namespace and name; a list never
 * holds two resources with the same current id, as kustomize's ResMap.
 * Renames push the old id onto `prev` first (kustomize's
 * StorePreviousId), so references written against any earlier name can
 * still be found.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/str.h"
#include "kustomize/internal.h"
#include "yj/yj.h"
#include "base/banned.h"

const char *kz__str(const cJSON *o, const char *ptr)
{
	const char *s = yj_get_str(o, ptr);

	return s ? s : "";
}

const char *kz__kind(const struct kz_res *r)
{
	return kz__str(r->obj, "/kind");
}

const char *kz__name(const struct kz_res *r)
{
	return kz__str(r->obj, "/metadata/name");
}

const char *kz__ns(const struct kz_res *r)
{
	return kz__str(r->obj, "/metadata/namespace");
}

void kz__gv(const cJSON *obj, char *group, size_t gn, char *version, size_t vn)
{
	const char *av = kz__str(obj, "/apiVersion");
	const char *slash = strrchr(av, '/');

	if (slash) {
		snprintf(group, gn, "%.*s", (int)(slash - av), av);
		snprintf(version, vn, "%s", slash + 1);
	} else {
		snprintf(group, gn, "%s", "");
		snprintf(version, vn, "%s", av);
	}
}

/*
 * Kinds kustomize knows to be cluster-scoped (kyaml's precomputed table,
 * keyed by apiVersion and kind); every other kind is namespaced.
 */
static const char *const cluster_scoped[] = {
	"admissionregistration.k8s.io/v1 MutatingWebhookConfiguration",
	"admissionregistration.k8s.io/v1 ValidatingWebhookConfiguration",
	"admissionregistration.k8s.io/v1beta1 MutatingWebhookConfiguration",
	"admissionregistration.k8s.io/v1beta1 ValidatingWebhookConfiguration",
	"apiextensions.k8s.io/v1 CustomResourceDefinition",
	"apiextensions.k8s.io/v1beta1 CustomResourceDefinition",
	"apiregistration.k8s.io/v1 APIService",
	"apiregistration.k8s.io/v1beta1 APIService",
	"certificates.k8s.io/v1 CertificateSigningRequest",
	"certificates.k8s.io/v1beta1 CertificateSigningRequest",
	"flowcontrol.apiserver.k8s.io/v1beta1 FlowSchema",
	"flowcontrol.apiserver.k8s.io/v1beta1 PriorityLevelConfiguration",
	"networking.k8s.io/v1 IngressClass",
	"networking.k8s.io/v1beta1 IngressClass",
	"node.k8s.io/v1 RuntimeClass",
	"node.k8s.io/v1beta1 RuntimeClass",
	"policy/v1beta1 PodSecurityPolicy",
	"rbac.authorization.k8s.io/v1 ClusterRole",
	"rbac.authorization.k8s.io/v1 ClusterRoleBinding",
	"rbac.authorization.k8s.io/v1beta1 ClusterRole",
	"rbac.authorization.k8s.io/v1beta1 ClusterRoleBinding",
	"scheduling.k8s.io/v1 PriorityClass",
	"scheduling.k8s.io/v1beta1 PriorityClass",
	"storage.k8s.io/v1 CSIDriver",
	"storage.k8s.io/v1 CSINode",
	"storage.k8s.io/v1 StorageClass",
	"storage.k8s.io/v1 VolumeAttachment",
	"storage.k8s.io/v1beta1 CSIDriver",
	"storage.k8s.io/v1beta1 CSINode",
	"storage.k8s.io/v1beta1 StorageClass",
	"storage.k8s.io/v1beta1 VolumeAttachment",
	"v1 ComponentStatus",
	"v1 Namespace",
	"v1 Node",
	"v1 PersistentVolume",
};

bool kz__cluster_scoped(const cJSON *obj)
{
	const char *av = kz__str(obj, "/apiVersion"), *kind = kz__str(obj, "/kind");
	size_t la = strlen(av), i;

	for (i = 0; i < ARRAY_SIZE(cluster_scoped); i++) {
		const char *e = cluster_scoped[i];

		if (strncmp(e, av, la) == 0 && e[la] == ' ' && streq(e + la + 1, kind))
			return true;
	}
	return false;
}

const char *kz__eff_ns(const cJSON *obj)
{
	const char *ns = kz__str(obj, "/metadata/namespace");

	if (kz__cluster_scoped(obj))
		return KZ_NO_NS;
	return *ns ? ns : "default";
}

const char *kz__org_kind(const struct kz_res *r)
{
	return r->nprev ? r->prev[0].kind : kz__kind(r);
}

const char *kz__org_name(const struct kz_res *r)
{
	return r->nprev ? r->prev[0].name : kz__name(r);
}

const char *kz__org_ns(const struct kz_res *r)
{
	return r->nprev ? r->prev[0].ns : kz__eff_ns(r->obj);
}

struct kz_res *kz__res_new(cJSON *obj, const char *origin)
{
	struct kz_res *r = xnew0(struct kz_res, 1);

	r->obj = obj;
	r->origin = xstrdup(origin ? origin : "");
	return r;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void kz__res_free(struct kz_res *r)
{
	if (!r)
		return;
	cJSON_Delete(r->obj);
	free(r->origin);
	for (size_t i = 0; i < r->nprev; i++) {
		free(r->prev[i].kind);
		free(r->prev[i].ns);
		free(r->prev[i].name);
	}
	free(r->prev);
	free_strv(r->prefixes, r->nprefixes);
	free_strv(r->suffixes, r->nsuffixes);
	free_strv(r->refvars, r->nrefvars);
	free(r);
}

static char **copy_strv(char *const *v, size_t n)
{
	char **c = n ? xnew0(char *, n) : NULL;

	for (size_t i = 0; i < n; i++)
		c[i] = xstrdup(v[i]);
	return c;
}

struct kz_res *kz__res_copy(const struct kz_res *r)
{
	struct kz_res *c = kz__res_new(cJSON_Duplicate(r->obj, 1), r->origin);

	c->nprev = r->nprev;
	c->prev = r->nprev ? xnew0(struct kz_id, r->nprev) : NULL;
	for (size_t i = 0; i < r->nprev; i++) {
		c->prev[i].kind = xstrdup(r->prev[i].kind);
		c->prev[i].ns = xstrdup(r->prev[i].ns);
		c->prev[i].name = xstrdup(r->prev[i].name);
	}
	c->prefixes = copy_strv(r->prefixes, r->nprefixes);
	c->nprefixes = r->nprefixes;
	c->suffixes = copy_strv(r->suffixes, r->nsuffixes);
	c->nsuffixes = r->nsuffixes;
	c->refvars = copy_strv(r->refvars, r->nrefvars);
	c->nrefvars = r->nrefvars;
	c->generated = r->generated;
	c->helm = r->helm;
	c->needs_hash = r->needs_hash;
	c->behavior = r->behavior;
	c->behavior_set = r->behavior_set;
	return c;
}

void kz__res_store_prev(struct kz_res *r)
{
	r->prev = xrealloc(r->prev, (r->nprev + 1) * sizeof(*r->prev));
	r->prev[r->nprev].kind = xstrdup(kz__kind(r));
	/* kustomize stores the effective namespace ("default" for none) */
	r->prev[r->nprev].ns = xstrdup(kz__eff_ns(r->obj));
	r->prev[r->nprev].name = xstrdup(kz__name(r));
	r->nprev++;
}

/* All the resources of one name (the hmap's values). */
struct kz_bucket {
	char *key; /* owned: the map's key points here */
	struct kz_res **v;
	size_t n, alloc;
};

void kz__resmap_invalidate(struct kz_resmap *m)
{
	size_t it = 0;
	const char *k;
	void *v;

	while (hmap_next(&m->idx, &it, &k, &v)) {
		struct kz_bucket *b = v;

		free(b->key);
		free(b->v);
		free(b);
	}
	hmap_release(&m->idx);
	m->idx_valid = false;
}

static void index_add(struct kz_resmap *m, struct kz_res *r)
{
	struct kz_bucket *b = hmap_get(&m->idx, kz__name(r));

	if (!b) {
		b = xnew0(struct kz_bucket, 1);
		b->key = xstrdup(kz__name(r));
		hmap_put(&m->idx, b->key, b);
	}
	XGROW(b->v, b->n + 1, b->alloc);
	b->v[b->n++] = r;
}

void kz__resmap_release(struct kz_resmap *m)
{
	kz__resmap_invalidate(m);
	for (size_t i = 0; i < m->n; i++)
		kz__res_free(m->v[i]);
	free(m->v);
	m->v = NULL;
	m->n = m->alloc = 0;
}

void kz__resmap_push(struct kz_resmap *m, struct kz_res *r)
{
	XGROW(m->v, m->n + 1, m->alloc);
	m->v[m->n++] = r;
	if (m->idx_valid)
		index_add(m, r);
}

struct kz_res *kz__resmap_find_cur(struct kz_resmap *m, const char *group, const char *version,
				   const char *kind, const char *eff_ns, const char *name,
				   const struct kz_res *skip)
{
	struct kz_bucket *b;

	if (!m->idx_valid) {
		hmap_init(&m->idx);
		for (size_t i = 0; i < m->n; i++)
			index_add(m, m->v[i]);
		m->idx_valid = true;
	}
	b = hmap_get(&m->idx, name);
	for (size_t i = 0; b && i < b->n; i++) {
		struct kz_res *r = b->v[i];
		char g[256], v[64];

		if (r == skip || !streq(kz__name(r), name) || !streq(kz__kind(r), kind))
			continue;
		kz__gv(r->obj, g, sizeof(g), v, sizeof(v));
		if (streq(g, group) && streq(v, version) && streq(kz__eff_ns(r->obj), eff_ns))
			return r;
	}
	return NULL;
}

void kz__resmap_remove(struct kz_resmap *m, struct kz_res *r)
{
	for (size_t i = 0; i < m->n; i++) {
		if (m->v[i] == r) {
			kz__resmap_invalidate(m);
			kz__res_free(r);
			memmove(&m->v[i], &m->v[i + 1], (m->n - i - 1) * sizeof(*m->v));
			m->n--;
			return;
		}
	}
}

char *kz__id_string(const struct kz_res *r)
{
	char g[256], v[64];
	const char *ns = kz__ns(r);

	kz__gv(r->obj, g, sizeof(g), v, sizeof(v));
	return xasprintf("%s.%s.%s/%s.%s", *kz__kind(r) ? kz__kind(r) : "[noKind]",
			 *v ? v : "[noVer]", *g ? g : "[noGrp]", kz__name(r),
			 *ns ? ns : "[noNs]");
}

int kz__resmap_append(struct kz_resmap *m, struct kz_res *r, struct op_err *err)
{
	char g[256], v[64];

	kz__gv(r->obj, g, sizeof(g), v, sizeof(v));
	if (kz__resmap_find_cur(m, g, v, kz__kind(r), kz__eff_ns(r->obj), kz__name(r), NULL)) {
		_cleanup_free_ char *id = kz__id_string(r);
		int rc = op_err_set(err, -EINVAL,
				    "may not add resource with an already registered id: %s (from '%s')",
				    id, r->origin);

		kz__res_free(r);
		return rc;
	}
	kz__resmap_push(m, r);
	return 0;
}
