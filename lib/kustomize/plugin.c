/*
 * plugin.c: a kustomization's `generators`, `transformers` and
 * `validators`: builtin plugin configs.
 *
 * DESIGN
 * As kustomize reads them: each entry is either the configs themselves
 * (YAML text holding objects) or a file or directory that `resources`
 * would accept (a directory is built as a kustomization, so configs may
 * be transformed before use).  Every config with `apiVersion: builtin`
 * names one of kustomize's builtin plugins by its kind and configures the
 * same function a kustomization field does (transform.c, patch.c,
 * replace.c, generate.c), with the field specs the config lists.  Any
 * other config is an exec or container (KRM function) plugin, which
 * kustomize runs only when told to and which we refuse, naming it.
 * Validators run on a copy; one that changes anything fails, as in
 * kustomize.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/str.h"
#include "kustomize/build.h"
#include "kustomize/internal.h"
#include "yj/yj.h"
#include "base/banned.h"

static const char *const field_of[] = {
	[KZ_PLUGIN_GENERATORS] = "generators",
	[KZ_PLUGIN_TRANSFORMERS] = "transformers",
	[KZ_PLUGIN_VALIDATORS] = "validators",
};

/* The plugin configs an entry list names, accumulated as kustomize accumulates them. */
static int load_configs(struct kz_target *kt, const cJSON *list, const char *field,
			struct kz_acc *out, struct op_err *err)
{
	cJSON *paths = cJSON_CreateArray();
	const cJSON *e;
	int r = 0;

	if (!cJSON_IsArray(list) && !cJSON_IsNull(list) && list) {
		cJSON_Delete(paths);
		return op_err_set(err, -EINVAL, "%s: '%s' must be a list", kt->kfile, field);
	}
	cJSON_ArrayForEach(e, list) {
		struct kz_resmap inl = { 0 };
		struct op_err ignore = OP_ERR_INIT;
		_cleanup_free_ char *origin = NULL;

		if (!cJSON_IsString(e)) {
			r = op_err_set(err, -EINVAL, "%s: %s: entries must be strings", kt->kfile,
				       field);
			break;
		}
		/* the configs themselves, when the text reads as objects; else a path */
		origin = xasprintf("%s: %s", kt->kfile, field);
		if (kz__parse_resources(e->valuestring, strlen(e->valuestring), origin, &inl,
					&ignore) == 0) {
			for (size_t i = 0; r == 0 && i < inl.n; i++) {
				r = kz__resmap_append(&out->m, inl.v[i], err);
				inl.v[i] = NULL;
			}
			kz__resmap_release(&inl);
			if (r < 0)
				break;
			continue;
		}
		kz__resmap_release(&inl);
		cJSON_AddItemToArray(paths, cJSON_CreateString(e->valuestring));
	}
	if (r == 0)
		r = kz__add_resources(kt, paths, out, err);
	cJSON_Delete(paths);
	return r;
}

static int fieldspecs(const cJSON *cfg, struct kz_fsv *fs, const char *where, struct op_err *err)
{
	return kz__fsv_parse(yj_get(cfg, "/fieldSpecs"), fs, where, err);
}

static int string_map(const cJSON *m, const char *what, const char *where, struct op_err *err)
{
	const cJSON *e;

	if (m && !cJSON_IsObject(m) && !cJSON_IsNull(m))
		return op_err_set(err, -EINVAL, "%s: '%s' must be a map", where, what);
	cJSON_ArrayForEach(e, m)
		if (!cJSON_IsString(e))
			return op_err_set(err, -EINVAL, "%s: %s: value of '%s' must be a string",
					  where, what, e->string);
	return 0;
}

/* One builtin transformer config. */
static int transform_one(struct kz_target *kt, struct kz_resmap *m, const cJSON *cfg,
			 const char *where, struct op_err *err)
{
	const char *kind = kz__str(cfg, "/kind");
	struct kz_fsv fs = { 0 };
	int r = 0;

	if (streq(kind, "LabelTransformer") || streq(kind, "AnnotationsTransformer")) {
		const char *f = kind[0] == 'L' ? "labels" : "annotations";
		const cJSON *pairs = cJSON_GetObjectItemCaseSensitive(cfg, f);

		r = string_map(pairs, f, where, err);
		if (r == 0)
			r = fieldspecs(cfg, &fs, where, err);
		if (r == 0)
			r = kz__t_pairs(m, pairs, &fs, err);
	} else if (streq(kind, "NamespaceTransformer")) {
		const cJSON *u = yj_get(cfg, "/unsetOnly");

		r = fieldspecs(cfg, &fs, where, err);
		if (r == 0 && u && !cJSON_IsBool(u))
			r = op_err_set(err, -EINVAL, "%s: 'unsetOnly' must be true or false", where);
		if (r == 0)
			r = kz__t_namespace(m, kz__str(cfg, "/metadata/namespace"), &fs,
					    cJSON_IsTrue(u), kz__str(cfg, "/setRoleBindingSubjects"),
					    err);
	} else if (streq(kind, "PrefixTransformer") || streq(kind, "SuffixTransformer") ||
		   streq(kind, "PrefixSuffixTransformer")) {
		if (!yj_get(cfg, "/fieldSpecs") || cJSON_IsNull(yj_get(cfg, "/fieldSpecs")))
			r = op_err_set(err, -EINVAL, "%s: fieldSpecs is not expected to be nil",
				       where);
		if (r == 0)
			r = fieldspecs(cfg, &fs, where, err);
		if (r == 0 && kind[0] == 'P')
			r = kz__t_affix(m, kz__str(cfg, "/prefix"), false, &fs, err);
		if (r == 0 && (kind[0] == 'S' || streq(kind, "PrefixSuffixTransformer")))
			r = kz__t_affix(m, kz__str(cfg, "/suffix"), true, &fs, err);
	} else if (streq(kind, "ImageTagTransformer")) {
		r = fieldspecs(cfg, &fs, where, err);
		if (r == 0)
			r = kz__t_image(m, yj_get(cfg, "/imageTag"), &fs, where, err);
	} else if (streq(kind, "ReplicaCountTransformer")) {
		r = fieldspecs(cfg, &fs, where, err);
		if (r == 0)
			r = kz__t_replicas(m, yj_get(cfg, "/replica"), &fs, where, err);
	} else if (streq(kind, "PatchTransformer")) {
		r = kz__t_patch(kt, m, cfg, err);
	} else if (streq(kind, "PatchStrategicMergeTransformer")) {
		const cJSON *p = yj_get(cfg, "/patches");

		r = kz__t_psm(kt, m, yj_get(cfg, "/paths"), cJSON_IsString(p) ? p->valuestring : NULL,
			      err);
	} else if (streq(kind, "PatchJson6902Transformer")) {
		cJSON *entry = cJSON_CreateObject();
		const cJSON *t = yj_get(cfg, "/target");

		if (t)
			cJSON_AddItemToObject(entry, "target", cJSON_Duplicate(t, 1));
		if (*kz__str(cfg, "/path"))
			cJSON_AddStringToObject(entry, "path", kz__str(cfg, "/path"));
		if (*kz__str(cfg, "/jsonOp"))
			cJSON_AddStringToObject(entry, "patch", kz__str(cfg, "/jsonOp"));
		if (*kz__str(cfg, "/path") && *kz__str(cfg, "/jsonOp"))
			r = op_err_set(err, -EINVAL, "%s: must specify a file path or jsonOp, not both",
				       where);
		else if (!*kz__str(cfg, "/path") && !*kz__str(cfg, "/jsonOp"))
			r = op_err_set(err, -EINVAL, "%s: empty file path and empty jsonOp", where);
		else
			r = kz__t_json6902(kt, m, entry, err);
		cJSON_Delete(entry);
	} else if (streq(kind, "ReplacementTransformer")) {
		r = kz__apply_replacements(kt, m, yj_get(cfg, "/replacements"), err);
	} else if (streq(kind, "HashTransformer")) {
		/* names get the hash again at the end: kustomize keeps the mark too */
		for (size_t i = 0; i < m->n; i++) {
			struct kz_res *res = m->v[i];
			char h[11], *name;

			if (!res->needs_hash)
				continue;
			r = kz__hash(res->obj, h);
			if (r < 0)
				break;
			kz__res_store_prev(res);
			name = xasprintf("%s-%s", kz__name(res), h);
			yj_set(res->obj, "/metadata/name", cJSON_CreateString(name));
			free(name);
		}
		kz__resmap_invalidate(m);
	} else {
		r = op_err_set(err, -EINVAL, "%s: unable to load builtin %s", where, kind);
	}
	kz__fsv_release(&fs);
	kz__resmap_invalidate(m);
	return r;
}

/* IAMPolicyGenerator: a GKE workload-identity ServiceAccount. */
static int iam_policy(struct kz_resmap *m, const cJSON *cfg, const char *where,
		      struct op_err *err)
{
	const char *cloud = kz__str(cfg, "/cloud"), *ns;
	cJSON *sa, *meta, *anns;
	char *v;

	if (!streq(cloud, "gke"))
		return op_err_set(err, -EINVAL, "%s: cloud provider %s not supported yet", where,
				  cloud);
	sa = cJSON_CreateObject();
	cJSON_AddStringToObject(sa, "apiVersion", "v1");
	cJSON_AddStringToObject(sa, "kind", "ServiceAccount");
	meta = cJSON_AddObjectToObject(sa, "metadata");
	anns = cJSON_AddObjectToObject(meta, "annotations");
	v = xasprintf("%s@%s.iam.gserviceaccount.com", kz__str(cfg, "/serviceAccount/name"),
		      kz__str(cfg, "/serviceAccount/projectId"));
	cJSON_AddStringToObject(anns, "iam.gke.io/gcp-service-account", v);
	free(v);
	cJSON_AddStringToObject(meta, "name", kz__str(cfg, "/kubernetesService/name"));
	ns = kz__str(cfg, "/kubernetesService/namespace");
	if (*ns)
		cJSON_AddStringToObject(meta, "namespace", ns);
	return kz__resmap_append(m, kz__res_new(sa, where), err);
}

/* One builtin generator config. */
static int generate_one(struct kz_target *kt, struct kz_resmap *m, const cJSON *cfg,
			const char *where, struct op_err *err)
{
	const char *kind = kz__str(cfg, "/kind");

	if (streq(kind, "ConfigMapGenerator") || streq(kind, "SecretGenerator")) {
		cJSON *args = cJSON_Duplicate(cfg, 1);
		int r;

		/* the args default their name and namespace to the config's own */
		if (!*kz__str(args, "/name"))
			yj_set(args, "/name", cJSON_CreateString(kz__str(cfg, "/metadata/name")));
		if (!*kz__str(args, "/namespace") && *kz__str(cfg, "/metadata/namespace"))
			yj_set(args, "/namespace",
			       cJSON_CreateString(kz__str(cfg, "/metadata/namespace")));
		r = kz__generate(kt, m, args, kind[0] == 'S', NULL, err);
		cJSON_Delete(args);
		return r;
	}
	if (streq(kind, "IAMPolicyGenerator"))
		return iam_policy(m, cfg, where, err);
	if (streq(kind, "HelmChartInflationGenerator"))
		return kz__helm_chart(kt, m, cfg, cfg, "", err);
	return op_err_set(err, -EINVAL, "%s: unable to load builtin %s", where, kind);
}

/* Does the resource list differ from `before` (ids, order aside, and contents)? */
static bool changed(const struct kz_resmap *before, const struct kz_resmap *after)
{
	if (before->n != after->n)
		return true;
	for (size_t i = 0; i < before->n; i++)
		if (!cJSON_Compare(before->v[i]->obj, after->v[i]->obj, true))
			return true;
	return false;
}

int kz__plugins_run(struct kz_target *kt, struct kz_acc *acc, enum kz_plugin_kind which,
		    struct op_err *err)
{
	const char *field = field_of[which];
	const cJSON *list = yj_get(kt->k, field[0] == 'g' ? "/generators"
					  : field[0] == 't' ? "/transformers"
							    : "/validators");
	struct kz_acc cfgs = { 0 };
	int r;

	if (!cJSON_GetArraySize(list))
		return 0;
	r = load_configs(kt, list, field, &cfgs, err);
	for (size_t i = 0; r == 0 && i < cfgs.m.n; i++) {
		const cJSON *cfg = cfgs.m.v[i]->obj;
		_cleanup_free_ char *where = xasprintf("%s: %s: %s '%s'", kt->kfile, field,
						       kz__str(cfg, "/kind"),
						       kz__str(cfg, "/metadata/name"));

		if (!streq(kz__str(cfg, "/apiVersion"), "builtin")) {
			r = op_err_set(err, -ENOTSUP,
				       "%s (apiVersion '%s') is an exec or container (KRM function) "
				       "plugin; only builtin plugins are supported",
				       where, kz__str(cfg, "/apiVersion"));
			break;
		}
		if (which == KZ_PLUGIN_GENERATORS) {
			r = generate_one(kt, &acc->m, cfg, where, err);
		} else if (which == KZ_PLUGIN_TRANSFORMERS) {
			r = transform_one(kt, &acc->m, cfg, where, err);
		} else {
			struct kz_resmap copy = { 0 };

			for (size_t j = 0; j < acc->m.n; j++)
				kz__resmap_push(&copy, kz__res_copy(acc->m.v[j]));
			r = transform_one(kt, &copy, cfg, where, err);
			if (r == 0 && changed(&acc->m, &copy))
				r = op_err_set(err, -EINVAL, "%s: validator shouldn't modify the "
							     "resource map",
					       where);
			kz__resmap_release(&copy);
		}
	}
	kz__acc_release(&cfgs);
	return r;
}
