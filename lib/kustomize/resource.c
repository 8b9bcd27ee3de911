/*
 * resource.c: resources and resource lists (see internal.h).
 *
 * A resource's id is its group, kind, namespace and name; a list never
 * holds two resources with the same current id, as kustomize's ResMap.
 * Renames push the old id onto `prev` first (kustomize's
 * StorePreviousId), so references written against any earlier name can
 * still be found.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/str.h"
#include "kustomize/internal.h"
#include "base/regex.h"
#include "yj/yj.h"
#include "base/banned.h"

const char *kz__str(const cJSON *o, const char *ptr)
{
	const char *s = yj_get_str(o, ptr);

	return s ? s : "";
}

int kz__regex(const char *pat, struct regex **ret)
{
	char *msg = NULL;
	int r = regex_compile(pat, strlen(pat), ret, &msg);

	free(msg);
	return r < 0 ? -EINVAL : 0;
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

static bool listed(const char *const *v, size_t n, const char *av, const char *kind)
{
	size_t la = strlen(av);

	for (size_t i = 0; i < n; i++)
		if (strncmp(v[i], av, la) == 0 && v[i][la] == ' ' && streq(v[i] + la + 1, kind))
			return true;
	return false;
}

/*
 * The groups of kyaml's table: a kind of theirs it answers from the table,
 * whatever a custom schema says.
 */
static bool builtin_group(const char *av)
{
	static const char *const groups[] = {
		"admissionregistration.k8s.io/", "apiextensions.k8s.io/", "apiregistration.k8s.io/",
		"apps/", "authentication.k8s.io/", "authorization.k8s.io/", "autoscaling/",
		"batch/", "certificates.k8s.io/", "coordination.k8s.io/", "discovery.k8s.io/",
		"events.k8s.io/", "extensions/", "flowcontrol.apiserver.k8s.io/",
		"networking.k8s.io/", "node.k8s.io/", "policy/", "rbac.authorization.k8s.io/",
		"scheduling.k8s.io/", "storage.k8s.io/",
	};

	if (!strchr(av, '/'))
		return true; /* the core group */
	for (size_t i = 0; i < ARRAY_SIZE(groups); i++)
		if (str_startswith(av, groups[i]))
			return true;
	return false;
}

bool kz__cluster_scoped(const cJSON *obj, const struct kz_schema *sch)
{
	const char *av = kz__str(obj, "/apiVersion"), *kind = kz__str(obj, "/kind");

	if (listed(cluster_scoped, ARRAY_SIZE(cluster_scoped), av, kind))
		return true;
	return sch && sch->ncluster && !builtin_group(av) &&
	       listed((const char *const *)sch->cluster, sch->ncluster, av, kind);
}

const char *kz__eff_ns(const cJSON *obj, const struct kz_schema *sch)
{
	const char *ns = kz__str(obj, "/metadata/namespace");

	if (kz__cluster_scoped(obj, sch))
		return KZ_NO_NS;
	return *ns ? ns : "default";
}

bool kz__res_cluster(const struct kz_res *r)
{
	return kz__cluster_scoped(r->obj, r->schema);
}

const char *kz__res_eff_ns(const struct kz_res *r)
{
	return kz__eff_ns(r->obj, r->schema);
}

void kz__schema_release(struct kz_schema *sch)
{
	for (size_t i = 0; i < sch->ncluster; i++)
		free(sch->cluster[i]);
	free(sch->cluster);
	sch->cluster = NULL;
	sch->ncluster = 0;
	cJSON_Delete(sch->doc);
	sch->doc = NULL;
}

void kz__schema_scopes(struct kz_schema *sch)
{
	const cJSON *path;
	char **ns = NULL;
	size_t nns = 0;

	for (size_t i = 0; i < sch->ncluster; i++)
		free(sch->cluster[i]);
	free(sch->cluster);
	sch->cluster = NULL;
	sch->ncluster = 0;
	cJSON_ArrayForEach(path, cJSON_GetObjectItemCaseSensitive(sch->doc, "paths")) {
		const cJSON *gvk = yj_get(path, "/get/x-kubernetes-group-version-kind");
		const char *g = kz__str(gvk, "/group"), *v = kz__str(gvk, "/version");
		const char *k = kz__str(gvk, "/kind");
		char *id;

		if (!cJSON_IsObject(gvk) || !*v || !*k || !path->string)
			continue;
		id = *g ? xasprintf("%s/%s %s", g, v, k) : xasprintf("%s %s", v, k);
		if (strstr(path->string, "namespaces/{namespace}")) {
			ns = xrealloc(ns, (nns + 1) * sizeof(*ns));
			ns[nns++] = id;
		} else {
			sch->cluster = xrealloc(sch->cluster, (sch->ncluster + 1) * sizeof(char *));
			sch->cluster[sch->ncluster++] = id;
		}
	}
	/* a kind with any namespaced path is namespaced */
	for (size_t i = 0; i < sch->ncluster;) {
		bool namespaced = false;

		for (size_t j = 0; j < nns && !namespaced; j++)
			namespaced = streq(ns[j], sch->cluster[i]);
		if (namespaced) {
			free(sch->cluster[i]);
			sch->cluster[i] = sch->cluster[--sch->ncluster];
		} else {
			i++;
		}
	}
	for (size_t j = 0; j < nns; j++)
		free(ns[j]);
	free(ns);
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
	return r->nprev ? r->prev[0].ns : kz__res_eff_ns(r);
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
	c->schema = r->schema;
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
	r->prev[r->nprev].ns = xstrdup(kz__res_eff_ns(r));
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
	if (m->schema)
		r->schema = m->schema;
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
		if (streq(g, group) && streq(v, version) && streq(kz__res_eff_ns(r), eff_ns))
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

	if (m->schema)
		r->schema = m->schema;
	kz__gv(r->obj, g, sizeof(g), v, sizeof(v));
	if (kz__resmap_find_cur(m, g, v, kz__kind(r), kz__res_eff_ns(r), kz__name(r), NULL)) {
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
