/*
 * config.c: field specs, the transformer configuration and the field-spec
 * walk (kustomize's "configurations").
 *
 * A field spec (group, version, kind, path, create) names a field that a
 * transformer works on: "metadata/labels" of everything, "spec/selector"
 * of a v1 Service, ...  The transformer configuration is kustomize's
 * TransformerConfig: one list of field specs per builtin transformer
 * (prefix, suffix, namespace, commonLabels, labels, templateLabels,
 * commonAnnotations, varReference, images, replicas) and the name
 * references (which fields of which kinds name an object of which kind).
 *
 * DESIGN
 * The defaults below restate kustomize's default configuration as C
 * data.  A kustomization's `configurations` files are read strictly
 * (unknown fields fail, as kustomize's UnmarshalStrict fails) and merged
 * over the defaults with kustomize's rules: a spec whose path is already
 * there for a group/version/kind the new spec selects is a duplicate and
 * dropped, unless their `create` differs ("conflicting fieldspecs"); the
 * lists are then ordered by group/version/kind as kustomize orders them
 * (a stable sort: kustomize's is not, but the order of specs of one kind
 * never changes a result).  `crds` files add the specs their OpenAPI
 * definitions declare with x-kubernetes-* extensions.  Configurations
 * travel with the resources: an overlay transforms with the merged
 * configuration of everything it accumulated (see build.c).
 *
 * The walk (kz__fs_filter) is kustomize's fieldspec filter: the path goes
 * through maps by key and through every element of a list it meets; a
 * segment ending in "[]" names a list and is never created; with
 * `create`, missing maps on the way and the leaf (of the kind the caller
 * asks for) are made, and an explicit null on the way becomes one; a
 * scalar in the middle of the path is an error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/str.h"
#include "kustomize/build.h"
#include "kustomize/internal.h"
#include "yj/yj.h"
#include "base/banned.h"

/* ---- kinds in kustomize's type order ---- */

static const char *const order_first[] = {
	"Namespace", "ResourceQuota", "StorageClass", "CustomResourceDefinition",
	"ServiceAccount", "PodSecurityPolicy", "Role", "ClusterRole", "RoleBinding",
	"ClusterRoleBinding", "ConfigMap", "Secret", "Endpoints", "Service", "LimitRange",
	"PriorityClass", "PersistentVolume", "PersistentVolumeClaim", "Deployment",
	"StatefulSet", "CronJob", "PodDisruptionBudget",
};
static const char *const order_last[] = { "MutatingWebhookConfiguration",
					  "ValidatingWebhookConfiguration" };

int kz__type_order(const char *kind)
{
	for (size_t j = 0; j < ARRAY_SIZE(order_first); j++)
		if (streq(order_first[j], kind))
			return -(int)ARRAY_SIZE(order_first) + (int)j;
	for (size_t j = 0; j < ARRAY_SIZE(order_last); j++)
		if (streq(order_last[j], kind))
			return 1 + (int)j;
	return 0;
}

/* kustomize's Gvk.IsLessThan: type order, then "group_version_kind". */
static int gvk_cmp(const char *g1, const char *v1, const char *k1, const char *g2,
		   const char *v2, const char *k2)
{
	int o1 = kz__type_order(k1), o2 = kz__type_order(k2), c;

	if (o1 != o2)
		return o1 < o2 ? -1 : 1;
	c = strcmp(*g1 ? g1 : "~G", *g2 ? g2 : "~G");
	if (c)
		return c;
	c = strcmp(*v1 ? v1 : "~V", *v2 ? v2 : "~V");
	if (c)
		return c;
	return strcmp(*k1 ? k1 : "~K", *k2 ? k2 : "~K");
}

/* ---- field spec vectors ---- */

static void fs_release(struct kz_fs *f)
{
	free(f->group);
	free(f->version);
	free(f->kind);
	free(f->path);
}

void kz__fsv_release(struct kz_fsv *v)
{
	for (size_t i = 0; i < v->n; i++)
		fs_release(&v->v[i]);
	free(v->v);
	memset(v, 0, sizeof(*v));
}

void kz__fsv_push(struct kz_fsv *v, const char *group, const char *version, const char *kind,
		  const char *path, bool create)
{
	struct kz_fs *f;

	XGROW(v->v, v->n + 1, v->alloc);
	f = &v->v[v->n++];
	f->group = xstrdup(group ? group : "");
	f->version = xstrdup(version ? version : "");
	f->kind = xstrdup(kind ? kind : "");
	f->path = xstrdup(path ? path : "");
	f->create = create;
}

static void fsv_copy(struct kz_fsv *dst, const struct kz_fsv *src)
{
	memset(dst, 0, sizeof(*dst));
	for (size_t i = 0; i < src->n; i++)
		kz__fsv_push(dst, src->v[i].group, src->v[i].version, src->v[i].kind,
			     src->v[i].path, src->v[i].create);
}

/* Does the group/version/kind selector (empty parts: any) select this one? */
bool kz__gvk_selected(const char *g, const char *v, const char *k, const char *sg,
		      const char *sv, const char *sk)
{
	return (!*sg || streq(g, sg)) && (!*sv || streq(v, sv)) && (!*sk || streq(k, sk));
}

bool kz__fs_selects(const struct kz_fs *fs, const cJSON *obj)
{
	char g[256], v[64];

	kz__gv(obj, g, sizeof(g), v, sizeof(v));
	return kz__gvk_selected(g, v, kz__str(obj, "/kind"), fs->group, fs->version, fs->kind);
}

/*
 * kustomize's FsSlice.MergeOne: `x` is already there when a spec with its
 * path exists whose group/version/kind x selects; then only a different
 * `create` is an error.
 */
static int fsv_merge_one(struct kz_fsv *v, const struct kz_fs *x, struct op_err *err)
{
	for (size_t i = 0; i < v->n; i++) {
		const struct kz_fs *e = &v->v[i];

		if (!streq(e->path, x->path) ||
		    !kz__gvk_selected(e->group, e->version, e->kind, x->group, x->version,
				      x->kind))
			continue;
		if (e->create != x->create)
			return op_err_set(err, -EINVAL,
					  "conflicting fieldspecs for path '%s' (kind '%s')", x->path,
					  *x->kind ? x->kind : e->kind);
		return 0;
	}
	kz__fsv_push(v, x->group, x->version, x->kind, x->path, x->create);
	return 0;
}

int kz__fsv_merge(struct kz_fsv *v, const struct kz_fsv *in, struct op_err *err)
{
	for (size_t i = 0; i < in->n; i++) {
		int r = fsv_merge_one(v, &in->v[i], err);

		if (r < 0)
			return r;
	}
	return 0;
}

/* Sorting keeps equal elements in order: compare by position last. */
struct sort_item {
	const char *g, *v, *k;
	size_t pos;
};

static int cmp_item(const void *a, const void *b)
{
	const struct sort_item *x = a, *y = b;
	int c = gvk_cmp(x->g, x->v, x->k, y->g, y->v, y->k);

	if (c)
		return c;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static void fsv_sort(struct kz_fsv *v)
{
	struct sort_item *it;
	struct kz_fs *out;

	if (v->n < 2)
		return;
	it = xnew0(struct sort_item, v->n);
	for (size_t i = 0; i < v->n; i++)
		it[i] = (struct sort_item){ v->v[i].group, v->v[i].version, v->v[i].kind, i };
	qsort(it, v->n, sizeof(*it), cmp_item);
	out = xnew0(struct kz_fs, v->alloc);
	for (size_t i = 0; i < v->n; i++)
		out[i] = v->v[it[i].pos];
	free(v->v);
	v->v = out;
	free(it);
}

/* ---- transformer configuration ---- */

static const char *const slot_names[KZ_TC_NSLOTS] = {
	[KZ_TC_PREFIX] = "namePrefix",
	[KZ_TC_SUFFIX] = "nameSuffix",
	[KZ_TC_NAMESPACE] = "namespace",
	[KZ_TC_COMMON_LABELS] = "commonLabels",
	[KZ_TC_LABELS] = "labels",
	[KZ_TC_TEMPLATE_LABELS] = "templateLabels",
	[KZ_TC_ANNOTATIONS] = "commonAnnotations",
	[KZ_TC_VAR_REF] = "varReference",
	[KZ_TC_IMAGES] = "images",
	[KZ_TC_REPLICAS] = "replicas",
};

void kz__tc_release(struct kz_tconfig *tc)
{
	for (size_t i = 0; i < KZ_TC_NSLOTS; i++)
		kz__fsv_release(&tc->fs[i]);
	for (size_t i = 0; i < tc->nnr; i++) {
		free(tc->nr[i].group);
		free(tc->nr[i].version);
		free(tc->nr[i].kind);
		kz__fsv_release(&tc->nr[i].refs);
	}
	free(tc->nr);
	memset(tc, 0, sizeof(*tc));
}

static struct kz_nbr *nbr_push(struct kz_tconfig *tc, const char *g, const char *v,
			       const char *k)
{
	struct kz_nbr *n;

	XGROW(tc->nr, tc->nnr + 1, tc->anr);
	n = &tc->nr[tc->nnr++];
	memset(n, 0, sizeof(*n));
	n->group = xstrdup(g ? g : "");
	n->version = xstrdup(v ? v : "");
	n->kind = xstrdup(k ? k : "");
	return n;
}

static int cmp_nbr(const void *a, const void *b)
{
	const struct kz_nbr *x = *(struct kz_nbr *const *)a, *y = *(struct kz_nbr *const *)b;
	int c = gvk_cmp(x->group, x->version, x->kind, y->group, y->version, y->kind);

	if (c)
		return c;
	return x < y ? -1 : x > y;
}

static void tc_sort(struct kz_tconfig *tc)
{
	for (size_t i = 0; i < KZ_TC_NSLOTS; i++)
		fsv_sort(&tc->fs[i]);
	if (tc->nnr > 1) {
		struct kz_nbr **p = xnew0(struct kz_nbr *, tc->nnr), *out;

		for (size_t i = 0; i < tc->nnr; i++)
			p[i] = &tc->nr[i];
		qsort(p, tc->nnr, sizeof(*p), cmp_nbr);
		out = xnew0(struct kz_nbr, tc->anr);
		for (size_t i = 0; i < tc->nnr; i++)
			out[i] = *p[i];
		free(tc->nr);
		tc->nr = out;
		free(p);
	}
}

/* kustomize's nbrSlice.mergeOne: same group/version/kind exactly merges referrers. */
static int nbr_merge_one(struct kz_tconfig *tc, const struct kz_nbr *x, struct op_err *err)
{
	bool found = false;

	for (size_t i = 0; i < tc->nnr; i++) {
		struct kz_nbr *n = &tc->nr[i];

		if (streq(n->group, x->group) && streq(n->version, x->version) &&
		    streq(n->kind, x->kind)) {
			int r = kz__fsv_merge(&n->refs, &x->refs, err);

			if (r < 0)
				return r;
			found = true;
		}
	}
	if (!found)
		fsv_copy(&nbr_push(tc, x->group, x->version, x->kind)->refs, &x->refs);
	return 0;
}

int kz__tc_merge(struct kz_tconfig *dst, const struct kz_tconfig *src, struct op_err *err)
{
	int r;

	for (size_t i = 0; i < KZ_TC_NSLOTS; i++) {
		r = kz__fsv_merge(&dst->fs[i], &src->fs[i], err);
		if (r < 0)
			return op_err_prefix(err, "failed to merge %s fieldSpec", slot_names[i]);
	}
	for (size_t i = 0; i < src->nnr; i++) {
		r = nbr_merge_one(dst, &src->nr[i], err);
		if (r < 0)
			return op_err_prefix(err, "failed to merge nameReference fieldSpec");
	}
	tc_sort(dst);
	return 0;
}

void kz__tc_copy(struct kz_tconfig *dst, const struct kz_tconfig *src)
{
	memset(dst, 0, sizeof(*dst));
	for (size_t i = 0; i < KZ_TC_NSLOTS; i++)
		fsv_copy(&dst->fs[i], &src->fs[i]);
	for (size_t i = 0; i < src->nnr; i++)
		fsv_copy(&nbr_push(dst, src->nr[i].group, src->nr[i].version, src->nr[i].kind)->refs,
			 &src->nr[i].refs);
}

/* ---- the defaults ---- */

struct fs_row {
	const char *group, *version, *kind, *path;
	bool create;
};

#define FS(g, v, k, p, c) { g, v, k, p, c }
#define ALL(p, c) FS(NULL, NULL, NULL, p, c)
#define AFF "spec/template/spec/affinity/"

/* metadata labels and pod-template labels (commonLabels and templateLabels end with these) */
#define METADATA_LABELS                                                                           \
	ALL("metadata/labels", true),                                                              \
		FS(NULL, "v1", "ReplicationController", "spec/template/metadata/labels", true),    \
		FS(NULL, NULL, "Deployment", "spec/template/metadata/labels", true),               \
		FS(NULL, NULL, "ReplicaSet", "spec/template/metadata/labels", true),               \
		FS(NULL, NULL, "DaemonSet", "spec/template/metadata/labels", true),                \
		FS("apps", NULL, "StatefulSet", "spec/template/metadata/labels", true),            \
		FS("apps", NULL, "StatefulSet", "spec/volumeClaimTemplates[]/metadata/labels",     \
		   true),                                                                          \
		FS("batch", NULL, "Job", "spec/template/metadata/labels", true),                   \
		FS("batch", NULL, "CronJob", "spec/jobTemplate/metadata/labels", true),            \
		FS("batch", NULL, "CronJob", "spec/jobTemplate/spec/template/metadata/labels", true)

#define POD_AFFINITY(g, k)                                                                         \
	FS(g, NULL, k,                                                                             \
	   AFF "podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/"     \
	       "labelSelector/matchLabels",                                                        \
	   false),                                                                                 \
		FS(g, NULL, k,                                                                     \
		   AFF "podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/" \
		       "matchLabels",                                                              \
		   false),                                                                         \
		FS(g, NULL, k,                                                                     \
		   AFF "podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/"          \
		       "podAffinityTerm/labelSelector/matchLabels",                                \
		   false),                                                                         \
		FS(g, NULL, k,                                                                     \
		   AFF "podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/"           \
		       "labelSelector/matchLabels",                                                \
		   false),                                                                         \
		FS(g, NULL, k, "spec/template/spec/topologySpreadConstraints/labelSelector/"       \
			       "matchLabels",                                                      \
		   false)

static const struct fs_row common_labels[] = {
	FS(NULL, "v1", "Service", "spec/selector", true),
	FS(NULL, "v1", "ReplicationController", "spec/selector", true),
	FS(NULL, NULL, "Deployment", "spec/selector/matchLabels", true),
	POD_AFFINITY("apps", "Deployment"),
	FS(NULL, NULL, "ReplicaSet", "spec/selector/matchLabels", true),
	FS(NULL, NULL, "DaemonSet", "spec/selector/matchLabels", true),
	FS("apps", NULL, "StatefulSet", "spec/selector/matchLabels", true),
	POD_AFFINITY("apps", "StatefulSet"),
	FS("batch", NULL, "Job", "spec/selector/matchLabels", false),
	FS("batch", NULL, "CronJob", "spec/jobTemplate/spec/selector/matchLabels", false),
	FS("policy", NULL, "PodDisruptionBudget", "spec/selector/matchLabels", false),
	FS("networking.k8s.io", NULL, "NetworkPolicy", "spec/podSelector/matchLabels", false),
	FS("networking.k8s.io", NULL, "NetworkPolicy", "spec/ingress/from/podSelector/matchLabels",
	   false),
	FS("networking.k8s.io", NULL, "NetworkPolicy", "spec/egress/to/podSelector/matchLabels",
	   false),
	METADATA_LABELS,
};

static const struct fs_row template_labels[] = { METADATA_LABELS };

static const struct fs_row common_annotations[] = {
	ALL("metadata/annotations", true),
	FS(NULL, "v1", "ReplicationController", "spec/template/metadata/annotations", true),
	FS(NULL, NULL, "Deployment", "spec/template/metadata/annotations", true),
	FS(NULL, NULL, "ReplicaSet", "spec/template/metadata/annotations", true),
	FS(NULL, NULL, "DaemonSet", "spec/template/metadata/annotations", true),
	FS(NULL, NULL, "StatefulSet", "spec/template/metadata/annotations", true),
	FS("batch", NULL, "Job", "spec/template/metadata/annotations", true),
	FS("batch", NULL, "CronJob", "spec/jobTemplate/metadata/annotations", true),
	FS("batch", NULL, "CronJob", "spec/jobTemplate/spec/template/metadata/annotations", true),
};

static const struct fs_row name_prefix[] = { ALL("metadata/name", false) };

static const struct fs_row namespace_specs[] = {
	FS(NULL, NULL, "Namespace", "metadata/name", true),
	FS("apiregistration.k8s.io", NULL, "APIService", "spec/service/namespace", true),
	FS("apiextensions.k8s.io", NULL, "CustomResourceDefinition",
	   "spec/conversion/webhook/clientConfig/service/namespace", false),
};

static const struct fs_row images[] = {
	ALL("spec/containers[]/image", true),
	ALL("spec/initContainers[]/image", true),
	ALL("spec/volumes[]/image/reference", true),
	ALL("spec/template/spec/containers[]/image", true),
	ALL("spec/template/spec/initContainers[]/image", true),
	ALL("spec/template/spec/volumes[]/image/reference", true),
};

static const struct fs_row replicas[] = {
	FS(NULL, NULL, "Deployment", "spec/replicas", true),
	FS(NULL, NULL, "ReplicationController", "spec/replicas", true),
	FS(NULL, NULL, "ReplicaSet", "spec/replicas", true),
	FS(NULL, NULL, "StatefulSet", "spec/replicas", true),
};

/* $(VAR) may be used in these fields. */
#define VAR_POD(k, pre)                                                                            \
	FS(NULL, NULL, k, pre "spec/containers/args", false),                                      \
		FS(NULL, NULL, k, pre "spec/containers/command", false),                           \
		FS(NULL, NULL, k, pre "spec/containers/env/value", false),                         \
		FS(NULL, NULL, k, pre "spec/containers/volumeMounts/mountPath", false),            \
		FS(NULL, NULL, k, pre "spec/initContainers/args", false),                          \
		FS(NULL, NULL, k, pre "spec/initContainers/command", false),                       \
		FS(NULL, NULL, k, pre "spec/initContainers/env/value", false),                     \
		FS(NULL, NULL, k, pre "spec/initContainers/volumeMounts/mountPath", false)

static const struct fs_row var_reference[] = {
	VAR_POD("CronJob", "spec/jobTemplate/spec/template/"),
	FS(NULL, NULL, "CronJob", "spec/jobTemplate/spec/template/volumes/nfs/server", false),
	VAR_POD("DaemonSet", "spec/template/"),
	FS(NULL, NULL, "DaemonSet", "spec/template/spec/volumes/nfs/server", false),
	VAR_POD("Deployment", "spec/template/"),
	FS(NULL, NULL, "Deployment", "spec/template/spec/volumes/nfs/server", false),
	FS(NULL, NULL, "Deployment", "spec/template/metadata/annotations", false),
	FS(NULL, NULL, "Ingress", "spec/rules/host", false),
	FS(NULL, NULL, "Ingress", "spec/tls/hosts", false),
	FS(NULL, NULL, "Ingress", "spec/tls/secretName", false),
	VAR_POD("Job", "spec/template/"),
	FS(NULL, NULL, "Job", "spec/template/spec/volumes/nfs/server", false),
	VAR_POD("Pod", ""),
	FS(NULL, NULL, "Pod", "spec/volumes/nfs/server", false),
	VAR_POD("ReplicaSet", "spec/template/"),
	FS(NULL, NULL, "ReplicaSet", "spec/template/spec/volumes/nfs/server", false),
	FS(NULL, NULL, "Service", "spec/ports/port", false),
	FS(NULL, NULL, "Service", "spec/ports/targetPort", false),
	VAR_POD("StatefulSet", "spec/template/"),
	FS(NULL, NULL, "StatefulSet", "spec/volumeClaimTemplates/spec/nfs/server", false),
	FS(NULL, NULL, "PersistentVolume", "spec/nfs/server", false),
	ALL("metadata/labels", false),
	ALL("metadata/annotations", false),
};

/* ---- default name references ---- */

#define REF(k, p) FS(NULL, NULL, k, p, false)
#define REFV(v, k, p) FS(NULL, v, k, p, false)
#define REFG(g, k, p) FS(g, NULL, k, p, false)
#define REFGV(g, v, k, p) FS(g, v, k, p, false)

/* A pod spec's reference at `sub` in every workload kind, as kustomize lists them. */
#define POD_REFS(sub)                                                                              \
	REFV("v1", "Pod", "spec/" sub), REF("PodTemplate", "template/spec/" sub),                  \
		REF("Deployment", "spec/template/spec/" sub),                                      \
		REF("ReplicaSet", "spec/template/spec/" sub),                                      \
		REF("DaemonSet", "spec/template/spec/" sub),                                       \
		REF("StatefulSet", "spec/template/spec/" sub), REF("Job", "spec/template/spec/" sub)

static const struct fs_row to_scalable[] = {
	REF("HorizontalPodAutoscaler", "spec/scaleTargetRef/name"),
};
static const struct fs_row to_configmap[] = {
	REFV("v1", "Pod", "spec/volumes/configMap/name"),
	REFV("v1", "Pod", "spec/containers/env/valueFrom/configMapKeyRef/name"),
	REFV("v1", "Pod", "spec/initContainers/env/valueFrom/configMapKeyRef/name"),
	REFV("v1", "Pod", "spec/containers/envFrom/configMapRef/name"),
	REFV("v1", "Pod", "spec/initContainers/envFrom/configMapRef/name"),
	REFV("v1", "Pod", "spec/volumes/projected/sources/configMap/name"),
#define CM_REFS(k, pre)                                                                            \
	REF(k, pre "volumes/configMap/name"),                                                      \
		REF(k, pre "containers/env/valueFrom/configMapKeyRef/name"),                       \
		REF(k, pre "initContainers/env/valueFrom/configMapKeyRef/name"),                   \
		REF(k, pre "containers/envFrom/configMapRef/name"),                                \
		REF(k, pre "initContainers/envFrom/configMapRef/name"),                            \
		REF(k, pre "volumes/projected/sources/configMap/name")
	CM_REFS("PodTemplate", "template/spec/"),
	CM_REFS("Deployment", "spec/template/spec/"),
	CM_REFS("ReplicaSet", "spec/template/spec/"),
	CM_REFS("DaemonSet", "spec/template/spec/"),
	CM_REFS("StatefulSet", "spec/template/spec/"),
	CM_REFS("Job", "spec/template/spec/"),
	REF("CronJob", "spec/jobTemplate/spec/template/spec/volumes/configMap/name"),
	REF("CronJob", "spec/jobTemplate/spec/template/spec/volumes/projected/sources/configMap/name"),
	REF("CronJob",
	    "spec/jobTemplate/spec/template/spec/containers/env/valueFrom/configMapKeyRef/name"),
	REF("CronJob",
	    "spec/jobTemplate/spec/template/spec/initContainers/env/valueFrom/configMapKeyRef/name"),
	REF("CronJob", "spec/jobTemplate/spec/template/spec/containers/envFrom/configMapRef/name"),
	REF("CronJob",
	    "spec/jobTemplate/spec/template/spec/initContainers/envFrom/configMapRef/name"),
	REF("Node", "spec/configSource/configMap"),
	REF("Role", "rules/resourceNames"),
	REF("ClusterRole", "rules/resourceNames"),
	REF("Ingress", "metadata/annotations/nginx.ingress.kubernetes.io\\/fastcgi-params-configmap"),
};
static const struct fs_row to_secret[] = {
	REFV("v1", "Pod", "spec/volumes/secret/secretName"),
	REFV("v1", "Pod", "spec/containers/env/valueFrom/secretKeyRef/name"),
	REFV("v1", "Pod", "spec/initContainers/env/valueFrom/secretKeyRef/name"),
	REFV("v1", "Pod", "spec/containers/envFrom/secretRef/name"),
	REFV("v1", "Pod", "spec/initContainers/envFrom/secretRef/name"),
	REFV("v1", "Pod", "spec/imagePullSecrets/name"),
	REFV("v1", "Pod", "spec/volumes/projected/sources/secret/name"),
#define SECRET_REFS(k, pre)                                                                        \
	REF(k, pre "volumes/secret/secretName"),                                                   \
		REF(k, pre "containers/env/valueFrom/secretKeyRef/name"),                          \
		REF(k, pre "initContainers/env/valueFrom/secretKeyRef/name"),                      \
		REF(k, pre "containers/envFrom/secretRef/name"),                                   \
		REF(k, pre "initContainers/envFrom/secretRef/name"),                               \
		REF(k, pre "imagePullSecrets/name"),                                               \
		REF(k, pre "volumes/projected/sources/secret/name")
	SECRET_REFS("PodTemplate", "template/spec/"),
	SECRET_REFS("Deployment", "spec/template/spec/"),
	SECRET_REFS("ReplicaSet", "spec/template/spec/"),
	SECRET_REFS("DaemonSet", "spec/template/spec/"),
	SECRET_REFS("StatefulSet", "spec/template/spec/"),
	SECRET_REFS("Job", "spec/template/spec/"),
	REF("CronJob", "spec/jobTemplate/spec/template/spec/volumes/secret/secretName"),
	REF("CronJob", "spec/jobTemplate/spec/template/spec/volumes/projected/sources/secret/name"),
	REF("CronJob",
	    "spec/jobTemplate/spec/template/spec/containers/env/valueFrom/secretKeyRef/name"),
	REF("CronJob",
	    "spec/jobTemplate/spec/template/spec/initContainers/env/valueFrom/secretKeyRef/name"),
	REF("CronJob", "spec/jobTemplate/spec/template/spec/containers/envFrom/secretRef/name"),
	REF("CronJob", "spec/jobTemplate/spec/template/spec/initContainers/envFrom/secretRef/name"),
	REF("CronJob", "spec/jobTemplate/spec/template/spec/imagePullSecrets/name"),
	REF("Ingress", "spec/tls/secretName"),
	REF("Ingress", "metadata/annotations/ingress.kubernetes.io\\/auth-secret"),
	REF("Ingress", "metadata/annotations/nginx.ingress.kubernetes.io\\/auth-secret"),
	REF("Ingress", "metadata/annotations/nginx.ingress.kubernetes.io\\/auth-tls-secret"),
	REF("ServiceAccount", "imagePullSecrets/name"),
	REF("StorageClass", "parameters/secretName"),
	REF("StorageClass", "parameters/adminSecretName"),
	REF("StorageClass", "parameters/userSecretName"),
	REF("StorageClass", "parameters/secretRef"),
	REF("Role", "rules/resourceNames"),
	REF("ClusterRole", "rules/resourceNames"),
	REFGV("serving.knative.dev", "v1", "Service",
	      "spec/template/spec/containers/env/valueFrom/secretKeyRef/name"),
	REF("PersistentVolume", "spec/azureFile/secretName"),
};
static const struct fs_row to_service[] = {
	REFG("apps", "StatefulSet", "spec/serviceName"),
	REF("Ingress", "spec/rules/http/paths/backend/serviceName"),
	REF("Ingress", "spec/backend/serviceName"),
	REF("Ingress", "spec/rules/http/paths/backend/service/name"),
	REF("Ingress", "spec/defaultBackend/service/name"),
	REFG("apiregistration.k8s.io", "APIService", "spec/service/name"),
	REFG("admissionregistration.k8s.io", "ValidatingWebhookConfiguration",
	     "webhooks/clientConfig/service"),
	REFG("admissionregistration.k8s.io", "MutatingWebhookConfiguration",
	     "webhooks/clientConfig/service"),
};
static const struct fs_row to_role[] = {
	REFG("rbac.authorization.k8s.io", "RoleBinding", "roleRef/name"),
};
static const struct fs_row to_clusterrole[] = {
	REFG("rbac.authorization.k8s.io", "RoleBinding", "roleRef/name"),
	REFG("rbac.authorization.k8s.io", "ClusterRoleBinding", "roleRef/name"),
};
#define WORKLOAD_REFS(sub)                                                                         \
	REF("Pod", "spec/" sub), REF("StatefulSet", "spec/template/spec/" sub),                    \
		REF("Deployment", "spec/template/spec/" sub),                                      \
		REF("ReplicationController", "spec/template/spec/" sub),                           \
		REF("CronJob", "spec/jobTemplate/spec/template/spec/" sub),                        \
		REF("Job", "spec/template/spec/" sub), REF("DaemonSet", "spec/template/spec/" sub)
static const struct fs_row to_sa[] = {
	REFG("rbac.authorization.k8s.io", "RoleBinding", "subjects"),
	REFG("rbac.authorization.k8s.io", "ClusterRoleBinding", "subjects"),
	WORKLOAD_REFS("serviceAccountName"),
};
static const struct fs_row to_pvc[] = {
	WORKLOAD_REFS("volumes/persistentVolumeClaim/claimName"),
};
static const struct fs_row to_pv[] = {
	REF("PersistentVolumeClaim", "spec/volumeName"),
	REF("ClusterRole", "rules/resourceNames"),
};
static const struct fs_row to_storageclass[] = {
	REF("PersistentVolume", "spec/storageClassName"),
	REF("PersistentVolumeClaim", "spec/storageClassName"),
	REF("StatefulSet", "spec/volumeClaimTemplates/spec/storageClassName"),
};
static const struct fs_row to_priorityclass[] = {
	WORKLOAD_REFS("priorityClassName"),
};
static const struct fs_row to_ingressclass[] = {
	REF("Ingress", "spec/ingressClassName"),
};
static const struct fs_row to_vap[] = {
	REFG("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding", "spec/policyName"),
};

struct nbr_row {
	const char *group, *version, *kind;
	const struct fs_row *refs;
	size_t n;
};

#define NBR(g, v, k, t) { g, v, k, t, ARRAY_SIZE(t) }
/*
 * As kustomize has them, including its quirks: ConfigMap, Secret and the
 * others name only a version, so they match those kinds in any group; and
 * IngressClass names the group "networking.k8s.io/v1", which no object
 * has, so its references are never fixed.
 */
static const struct nbr_row name_references[] = {
	NBR(NULL, NULL, "Deployment", to_scalable),
	NBR(NULL, NULL, "ReplicationController", to_scalable),
	NBR(NULL, NULL, "ReplicaSet", to_scalable),
	NBR(NULL, NULL, "StatefulSet", to_scalable),
	NBR(NULL, "v1", "ConfigMap", to_configmap),
	NBR(NULL, "v1", "Secret", to_secret),
	NBR(NULL, "v1", "Service", to_service),
	NBR("rbac.authorization.k8s.io", NULL, "Role", to_role),
	NBR("rbac.authorization.k8s.io", NULL, "ClusterRole", to_clusterrole),
	NBR(NULL, "v1", "ServiceAccount", to_sa),
	NBR(NULL, "v1", "PersistentVolumeClaim", to_pvc),
	NBR(NULL, "v1", "PersistentVolume", to_pv),
	NBR("storage.k8s.io", "v1", "StorageClass", to_storageclass),
	NBR("scheduling.k8s.io", "v1", "PriorityClass", to_priorityclass),
	NBR("networking.k8s.io/v1", "v1", "IngressClass", to_ingressclass),
	NBR("admissionregistration.k8s.io", NULL, "ValidatingAdmissionPolicy", to_vap),
};

static void add_rows(struct kz_fsv *v, const struct fs_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		kz__fsv_push(v, rows[i].group, rows[i].version, rows[i].kind, rows[i].path,
			     rows[i].create);
}

void kz__tc_default(struct kz_tconfig *tc)
{
	memset(tc, 0, sizeof(*tc));
	add_rows(&tc->fs[KZ_TC_PREFIX], name_prefix, ARRAY_SIZE(name_prefix));
	add_rows(&tc->fs[KZ_TC_SUFFIX], name_prefix, ARRAY_SIZE(name_prefix));
	add_rows(&tc->fs[KZ_TC_COMMON_LABELS], common_labels, ARRAY_SIZE(common_labels));
	add_rows(&tc->fs[KZ_TC_TEMPLATE_LABELS], template_labels, ARRAY_SIZE(template_labels));
	add_rows(&tc->fs[KZ_TC_ANNOTATIONS], common_annotations, ARRAY_SIZE(common_annotations));
	add_rows(&tc->fs[KZ_TC_NAMESPACE], namespace_specs, ARRAY_SIZE(namespace_specs));
	add_rows(&tc->fs[KZ_TC_VAR_REF], var_reference, ARRAY_SIZE(var_reference));
	add_rows(&tc->fs[KZ_TC_IMAGES], images, ARRAY_SIZE(images));
	add_rows(&tc->fs[KZ_TC_REPLICAS], replicas, ARRAY_SIZE(replicas));
	for (size_t i = 0; i < ARRAY_SIZE(name_references); i++) {
		const struct nbr_row *r = &name_references[i];

		add_rows(&nbr_push(tc, r->group, r->version, r->kind)->refs, r->refs, r->n);
	}
	tc_sort(tc);
}

/* ---- reading `configurations` files ---- */

/*
 * kustomize reads these with sigs.k8s.io/yaml's UnmarshalStrict, through
 * Go's JSON decoder: unknown fields fail, and field names match without
 * regard to case.
 */
const cJSON *kz__field_ci(const cJSON *m, const char *name)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, m)
		if (e->string && strcasecmp(e->string, name) == 0)
			return e;
	return NULL;
}

const cJSON *kz__unknown_ci(const cJSON *m, const char *const *names, size_t n)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, m) {
		size_t i;

		for (i = 0; i < n; i++)
			if (strcasecmp(e->string, names[i]) == 0)
				break;
		if (i == n)
			return e;
	}
	return NULL;
}

static int check_known(const cJSON *m, const char *const *names, size_t n, const char *where,
		       struct op_err *err)
{
	const cJSON *e = kz__unknown_ci(m, names, n);

	return e ? op_err_set(err, -EINVAL, "%s: unknown field \"%s\"", where, e->string) : 0;
}

static int str_field(const cJSON *m, const char *name, const char **ret, const char *where,
		     struct op_err *err)
{
	const cJSON *v = kz__field_ci(m, name);

	*ret = "";
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v))
		return op_err_set(err, -EINVAL, "%s: '%s' must be a string", where, name);
	*ret = v->valuestring;
	return 0;
}

static int fs_parse(const cJSON *e, struct kz_fsv *out, const char *where, struct op_err *err)
{
	static const char *const keys[] = { "group", "version", "kind", "path", "create" };
	const char *g, *v, *k, *p;
	const cJSON *c;
	int r;

	if (cJSON_IsNull(e)) {
		kz__fsv_push(out, "", "", "", "", false);
		return 0;
	}
	if (!cJSON_IsObject(e))
		return op_err_set(err, -EINVAL, "%s: a field spec must be a map", where);
	r = check_known(e, keys, ARRAY_SIZE(keys), where, err);
	if (r == 0)
		r = str_field(e, "group", &g, where, err);
	if (r == 0)
		r = str_field(e, "version", &v, where, err);
	if (r == 0)
		r = str_field(e, "kind", &k, where, err);
	if (r == 0)
		r = str_field(e, "path", &p, where, err);
	if (r < 0)
		return r;
	c = kz__field_ci(e, "create");
	if (c && !cJSON_IsBool(c) && !cJSON_IsNull(c))
		return op_err_set(err, -EINVAL, "%s: 'create' must be true or false", where);
	kz__fsv_push(out, g, v, k, p, cJSON_IsTrue(c));
	return 0;
}

int kz__fsv_parse(const cJSON *list, struct kz_fsv *out, const char *where, struct op_err *err)
{
	const cJSON *e;

	if (!list || cJSON_IsNull(list))
		return 0;
	if (!cJSON_IsArray(list))
		return op_err_set(err, -EINVAL, "%s: must be a list of field specs", where);
	cJSON_ArrayForEach(e, list) {
		int r = fs_parse(e, out, where, err);

		if (r < 0)
			return r;
	}
	return 0;
}

int kz__tc_parse(struct kz_tconfig *tc, const cJSON *doc, const char *where, struct op_err *err)
{
	const char *names[KZ_TC_NSLOTS + 1];
	const cJSON *e;
	int r;

	memset(tc, 0, sizeof(*tc));
	if (cJSON_IsNull(doc))
		return 0;
	if (!cJSON_IsObject(doc))
		return op_err_set(err, -EINVAL, "%s: a transformer configuration must be a map",
				  where);
	for (size_t i = 0; i < KZ_TC_NSLOTS; i++)
		names[i] = slot_names[i];
	names[KZ_TC_NSLOTS] = "nameReference";
	r = check_known(doc, names, ARRAY_SIZE(names), where, err);
	for (size_t i = 0; r == 0 && i < KZ_TC_NSLOTS; i++) {
		_cleanup_free_ char *w = xasprintf("%s: %s", where, slot_names[i]);

		r = kz__fsv_parse(kz__field_ci(doc, slot_names[i]), &tc->fs[i], w, err);
	}
	e = kz__field_ci(doc, "nameReference");
	if (r == 0 && e && !cJSON_IsNull(e) && !cJSON_IsArray(e))
		r = op_err_set(err, -EINVAL, "%s: nameReference must be a list", where);
	if (r == 0 && cJSON_IsArray(e)) {
		static const char *const keys[] = { "group", "version", "kind", "fieldSpecs" };
		_cleanup_free_ char *w = xasprintf("%s: nameReference", where);
		const cJSON *n;

		cJSON_ArrayForEach(n, e) {
			const char *g = "", *v = "", *k = "";
			struct kz_nbr *nb;

			if (!cJSON_IsObject(n) && !cJSON_IsNull(n)) {
				r = op_err_set(err, -EINVAL, "%s: entries must be maps", w);
				break;
			}
			r = check_known(n, keys, ARRAY_SIZE(keys), w, err);
			if (r == 0)
				r = str_field(n, "group", &g, w, err);
			if (r == 0)
				r = str_field(n, "version", &v, w, err);
			if (r == 0)
				r = str_field(n, "kind", &k, w, err);
			if (r < 0)
				break;
			nb = nbr_push(tc, g, v, k);
			r = kz__fsv_parse(kz__field_ci(n, "fieldSpecs"), &nb->refs, w, err);
			if (r < 0)
				break;
		}
	}
	if (r < 0) {
		kz__tc_release(tc);
		return r;
	}
	tc_sort(tc);
	return 0;
}

/* ---- the `crds` field ---- */

/* The definition `name` in the map of OpenAPI definitions (its "Schema"). */
static const cJSON *crd_schema(const cJSON *defs, const char *name)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(defs, name);

	return d ? kz__field_ci(d, "Schema") : NULL;
}

static int crd_walk(struct kz_tconfig *tc, const char *kind, const cJSON *defs,
		    const char *type, const char *path, unsigned depth, struct op_err *err)
{
	const cJSON *schema = crd_schema(defs, type), *p;
	int r = 0;

	if (!schema || depth > 32)
		return 0;
	cJSON_ArrayForEach(p, kz__field_ci(schema, "properties")) {
		_cleanup_free_ char *fp = *path ? xasprintf("%s/%s", path, p->string)
						: xstrdup(p->string);
		const cJSON *ver = cJSON_GetObjectItemCaseSensitive(p, "x-kubernetes-object-ref-api-version");
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(p, "x-kubernetes-object-ref-kind");
		const cJSON *nk = cJSON_GetObjectItemCaseSensitive(p, "x-kubernetes-object-ref-name-key");
		const cJSON *ref = cJSON_GetObjectItemCaseSensitive(p, "$ref");
		struct kz_fsv one = { 0 };

		if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(p, "x-kubernetes-annotation"))) {
			kz__fsv_push(&one, "", "", kind, fp, false);
			r = kz__fsv_merge(&tc->fs[KZ_TC_ANNOTATIONS], &one, err);
			kz__fsv_release(&one);
		}
		if (r == 0 &&
		    cJSON_IsString(cJSON_GetObjectItemCaseSensitive(p, "x-kubernetes-label-selector"))) {
			kz__fsv_push(&one, "", "", kind, fp, false);
			r = kz__fsv_merge(&tc->fs[KZ_TC_COMMON_LABELS], &one, err);
			kz__fsv_release(&one);
		}
		if (r == 0 &&
		    cJSON_IsString(cJSON_GetObjectItemCaseSensitive(p, "x-kubernetes-identity"))) {
			kz__fsv_push(&one, "", "", kind, fp, false);
			r = kz__fsv_merge(&tc->fs[KZ_TC_PREFIX], &one, err);
			kz__fsv_release(&one);
		}
		if (r == 0 && cJSON_IsString(ver) && cJSON_IsString(k)) {
			struct kz_tconfig add = { 0 };
			_cleanup_free_ char *np = xasprintf(
				"%s/%s", fp, cJSON_IsString(nk) ? nk->valuestring : "name");

			kz__fsv_push(&nbr_push(&add, "", ver->valuestring, k->valuestring)->refs, "",
				     "", kind, np, false);
			r = nbr_merge_one(tc, &add.nr[0], err);
			kz__tc_release(&add);
		}
		if (r == 0 && cJSON_IsString(ref) && *ref->valuestring)
			r = crd_walk(tc, kind, defs, ref->valuestring, fp, depth + 1, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int kz__tc_from_crds(struct kz_tconfig *tc, const cJSON *defs, const char *where,
		     struct op_err *err)
{
	const cJSON *d;

	memset(tc, 0, sizeof(*tc));
	if (!cJSON_IsObject(defs))
		return op_err_set(err, -EINVAL, "%s: not a map of OpenAPI definitions", where);
	cJSON_ArrayForEach(d, defs) {
		const cJSON *props = kz__field_ci(crd_schema(defs, d->string), "properties");
		const char *dot = strrchr(d->string, '.');
		struct kz_tconfig one = { 0 };
		int r;

		if (!cJSON_IsObject(d))
			return op_err_set(err, -EINVAL, "%s: '%s' is not an OpenAPI definition",
					  where, d->string);
		if (!cJSON_GetObjectItemCaseSensitive(props, "kind") ||
		    !cJSON_GetObjectItemCaseSensitive(props, "apiVersion") ||
		    !cJSON_GetObjectItemCaseSensitive(props, "metadata"))
			continue;
		r = crd_walk(&one, dot ? dot + 1 : d->string, defs, d->string, "", 0, err);
		if (r == 0)
			r = kz__tc_merge(tc, &one, err);
		kz__tc_release(&one);
		if (r < 0) {
			kz__tc_release(tc);
			return op_err_prefix(err, "%s", where);
		}
	}
	return 0;
}

/* ---- the field-spec walk ---- */

/* kustomize's PathSplitter: "a/b\/c" is ["a", "b/c"]; a leading "/" is ignored. */
static size_t split_path(const char *path, char ***ret)
{
	char **v = NULL;
	size_t n = 0, alloc = 0;
	const char *p = path, *start;
	struct buf cur = BUF_INIT(1u << 20);

	if (*p == '/' && p[1])
		p++;
	for (start = p;; p++) {
		if (*p == '\\' && p[1] == '/') {
			buf_add(&cur, start, (size_t)(p - start));
			buf_addch(&cur, '/');
			start = p + 2;
			p++;
			continue;
		}
		if (*p == '/' || !*p) {
			buf_add(&cur, start, (size_t)(p - start));
			XGROW(v, n + 1, alloc);
			v[n++] = xstrdup(cur.buf ? cur.buf : "");
			buf_reset(&cur);
			start = p + 1;
			if (!*p)
				break;
		}
	}
	buf_release(&cur);
	*ret = v;
	return n;
}

struct fs_walk {
	const struct kz_fs *fs;
	enum kz_create create;
	kz_set_fn set;
	void *payload;
	struct op_err *err;
	char **segs;
	size_t nsegs;
};

static cJSON *make_kind(enum kz_create k)
{
	switch (k) {
	case KZ_CREATE_MAP:
		return cJSON_CreateObject();
	case KZ_CREATE_SEQ:
		return cJSON_CreateArray();
	default:
		return cJSON_CreateString("");
	}
}

void kz__replace_node(cJSON *parent, cJSON *node, cJSON *with)
{
	if (!(with->type & cJSON_StringIsConst))
		free(with->string);
	with->string = node->string ? xstrdup(node->string) : NULL;
	with->type &= ~cJSON_StringIsConst;
	cJSON_ReplaceItemViaPointer(parent, node, with);
}

static int fs_walk(struct fs_walk *w, cJSON *parent, cJSON *node, size_t i)
{
	const char *seg;
	char *field;
	size_t len;
	bool is_seq;
	enum kz_create kind = KZ_CREATE_NONE;
	cJSON *child;
	int r;

	if (i == w->nsegs)
		return w->set(parent, node, w->payload, w->err);
	if (!node || cJSON_IsNull(node))
		return 0;
	if (cJSON_IsArray(node)) {
		cJSON *e, *next;

		for (e = node->child; e; e = next) {
			next = e->next;
			r = fs_walk(w, node, e, i);
			if (r < 0)
				return r;
		}
		return 0;
	}
	if (!cJSON_IsObject(node))
		return op_err_set(w->err, -EINVAL, "considering field '%s': expected sequence or "
				  "mapping node", w->fs->path);
	seg = w->segs[i];
	len = strlen(seg);
	is_seq = len >= 2 && streq(seg + len - 2, "[]");
	field = xstrndup(seg, is_seq ? len - 2 : len);
	if (!*field) {
		free(field);
		return op_err_set(w->err, -EINVAL, "considering field '%s': cannot set or create an "
				  "empty field name", w->fs->path);
	}
	child = cJSON_GetObjectItemCaseSensitive(node, field);
	if (!w->fs->create || w->create == KZ_CREATE_NONE || is_seq) {
		if (is_seq)
			kind = KZ_CREATE_SEQ;
	} else {
		kind = i + 1 == w->nsegs ? w->create : KZ_CREATE_MAP;
		if (!child) {
			child = make_kind(kind);
			cJSON_AddItemToObject(node, field, child);
		}
	}
	free(field);
	if (!child)
		return 0;
	if (cJSON_IsNull(child) && kind != KZ_CREATE_NONE) {
		/* an explicit null on the way takes the kind the path wants */
		cJSON *n = make_kind(kind);

		kz__replace_node(node, child, n);
		child = n;
	}
	return fs_walk(w, node, child, i + 1);
}

int kz__fs_filter(cJSON *obj, const struct kz_fs *fs, enum kz_create create, kz_set_fn set,
		  void *payload, struct op_err *err)
{
	struct fs_walk w = { fs, create, set, payload, err, NULL, 0 };
	int r;

	if (!kz__fs_selects(fs, obj))
		return 0;
	w.nsegs = split_path(fs->path, &w.segs);
	r = fs_walk(&w, NULL, obj, 0);
	for (size_t i = 0; i < w.nsegs; i++)
		free(w.segs[i]);
	free(w.segs);
	return r;
}
