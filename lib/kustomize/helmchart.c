/*
 * helmchart.c: helmCharts, kustomize's HelmChartInflationGenerator.
 *
 * DESIGN
 * kustomize does not render charts itself: it prepares a `helm template`
 * command line and reads what helm prints.  We do the same with the
 * rendering left to a hook (kz_opts.helm), so that lib/kustomize does not
 * depend on lib/helm, its neighbour on the same layer; the command line
 * (cli/kustomize.c) joins the two.  Without a hook a chart is refused as
 * kustomize refuses it without --enable-helm, which is also what Flux's
 * kustomize-controller does (it never enables helm).
 *
 * What we reproduce of kustomize v5.8.1 (api v0.21.1):
 *   - the chart is <chartHome>/<name> (chartHome relative to the
 *     kustomization, default "charts"; <chartHome>/<name>-<version>/<name>
 *     when both version and repo are given); a chart that is not there
 *     would be pulled by kustomize: we never download, so with a repo it
 *     is refused, and without one it is kustomize's own error;
 *   - values: valuesFile (default the chart's values.yaml), read through
 *     the load restriction, is the first -f; with valuesInline it is
 *     first merged with them (valuesMerge override: inline wins, merge:
 *     the file wins, replace: inline only), as kyaml's merge2 merges maps
 *     (a null in either removes the key, at any depth of maps; lists are
 *     replaced whole, even lists of maps with names, as the real
 *     kustomize does), and printed as sigs.k8s.io/yaml prints;
 *     then each additionalValuesFiles entry;
 *   - the namespace: the chart's own, else the kustomization's, else the
 *     nearest one above that sets one (kustomize's helmRootNamespace);
 *   - the release name: releaseName, else helm's --generate-name
 *     ("<chart>-<unix time>"); nameTemplate is refused (our helm has no
 *     --name-template);
 *   - the objects are marked helm-generated: the namespace transformer
 *     leaves them alone, as kustomize's does.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/str.h"
#include "kustomize/build.h"
#include "kustomize/internal.h"
#include "yj/yj.h"
#include "base/banned.h"

static const char *const chart_fields[] = {
	"name", "version", "repo", "releaseName", "namespace", "additionalValuesFiles",
	"valuesFile", "valuesInline", "valuesMerge", "includeCRDs", "skipHooks", "apiVersions",
	"kubeVersion", "nameTemplate", "skipTests", "debug", "devel",
	/* HelmGlobals, inline in a HelmChartInflationGenerator config */
	"chartHome", "configHome",
	/* the config's own resource fields */
	"apiVersion", "kind", "metadata",
};

/* kyaml's merge2 walk leaves no null field in the maps it walks (lists are not walked). */
static void drop_nulls(cJSON *m)
{
	cJSON *e = m->child, *next;

	for (; e; e = next) {
		next = e->next;
		if (cJSON_IsNull(e))
			cJSON_Delete(cJSON_DetachItemViaPointer(m, e));
		else if (cJSON_IsObject(e))
			drop_nulls(e);
	}
}

/* kyaml's merge2: `src` over `dst` (dst modified); drop_nulls() afterwards. */

static void merge2(cJSON *dst, const cJSON *src)
{
	const cJSON *s;

	cJSON_ArrayForEach(s, src) {
		cJSON *d = cJSON_GetObjectItemCaseSensitive(dst, s->string);

		if (cJSON_IsNull(s)) {
			cJSON_DeleteItemFromObjectCaseSensitive(dst, s->string);
		} else if (d && cJSON_IsObject(d) && cJSON_IsObject(s)) {
			merge2(d, s);
		} else if (d) {
			cJSON_ReplaceItemViaPointer(dst, d, cJSON_Duplicate(s, 1));
		} else {
			cJSON_AddItemToObject(dst, s->string, cJSON_Duplicate(s, 1));
		}
	}
}

/* The nearest namespace: the kustomization's, else one above (helmRootNamespace). */
static const char *inherited_ns(const struct kz_target *kt)
{
	for (; kt; kt = kt->parent) {
		const char *ns = kz__str(kt->k, "/namespace");

		if (*ns)
			return ns;
	}
	return "";
}

struct values {
	char *text[64], *name[64];
	size_t len[64], n;
};

static void values_release(struct values *v)
{
	for (size_t i = 0; i < v->n; i++) {
		free(v->text[i]);
		free(v->name[i]);
	}
}

static int values_add(struct values *v, char *text, size_t len, char *name, const char *where,
		      struct op_err *err)
{
	if (v->n == ARRAY_SIZE(v->text)) {
		free(text);
		free(name);
		return op_err_set(err, -E2BIG, "%s: more than %zu values files", where,
				  ARRAY_SIZE(v->text));
	}
	v->text[v->n] = text;
	v->len[v->n] = len;
	v->name[v->n++] = name;
	return 0;
}

/*
 * The values file merged with valuesInline as kustomize does, printed as
 * sigs.k8s.io/yaml prints a map.
 */
static int merged_values(const char *file, size_t len, const cJSON *inline_, const char *merge,
			 char **ret, size_t *ret_len, const char *where, struct op_err *err)
{
	struct buf out = BUF_INIT((size_t)64 << 20);
	cJSON *v = NULL;
	int r;

	if (streq(merge, "replace")) {
		v = cJSON_Duplicate(inline_, 1);
	} else {
		struct yj_limits lim = YJ_LIMITS_DEFAULT;
		struct yj_stream st;

		lim.core_bools = true; /* kyaml reads it with go-yaml v3 */
		r = yj_parse_stream(file, len, &lim, &st, err);
		if (r < 0)
			return op_err_prefix(err, "%s: could not parse values file into rnode", where);
		v = st.n && cJSON_IsObject(st.docs[0]) ? cJSON_Duplicate(st.docs[0], 1)
						       : cJSON_CreateObject();
		yj_stream_release(&st);
		if (streq(merge, "merge")) {
			cJSON *file_values = v;

			v = cJSON_Duplicate(inline_, 1);
			merge2(v, file_values);
			cJSON_Delete(file_values);
		} else {
			merge2(v, inline_);
		}
	}
	drop_nulls(v);
	r = yj_emit_yaml_go(v, &out);
	cJSON_Delete(v);
	if (r < 0) {
		buf_release(&out);
		return op_err_set(err, -EFBIG, "%s: values too large", where);
	}
	*ret = buf_detach(&out, ret_len);
	return 0;
}

static int check_chart(const cJSON *c, const char *where, struct op_err *err)
{
	static const char *const strs[] = { "name", "version", "repo", "releaseName",
					    "namespace", "valuesFile", "valuesMerge",
					    "kubeVersion", "nameTemplate", "chartHome",
					    "configHome" };
	static const char *const bools[] = { "includeCRDs", "skipHooks", "skipTests", "debug",
					     "devel" };
	const cJSON *e;

	if (!cJSON_IsObject(c))
		return op_err_set(err, -EINVAL, "%s: a chart must be a map", where);
	cJSON_ArrayForEach(e, c) {
		size_t i;

		for (i = 0; i < ARRAY_SIZE(chart_fields); i++)
			if (streq(e->string, chart_fields[i]))
				break;
		if (i == ARRAY_SIZE(chart_fields))
			return op_err_set(err, -EINVAL, "%s: unknown field '%s'", where, e->string);
		if (cJSON_IsNull(e))
			continue;
		for (i = 0; i < ARRAY_SIZE(strs); i++)
			if (streq(e->string, strs[i]) && !cJSON_IsString(e))
				return op_err_set(err, -EINVAL, "%s: '%s' must be a string", where,
						  e->string);
		for (i = 0; i < ARRAY_SIZE(bools); i++)
			if (streq(e->string, bools[i]) && !cJSON_IsBool(e))
				return op_err_set(err, -EINVAL, "%s: '%s' must be a boolean", where,
						  e->string);
		if ((streq(e->string, "apiVersions") || streq(e->string, "additionalValuesFiles"))) {
			const cJSON *s;

			if (!cJSON_IsArray(e))
				return op_err_set(err, -EINVAL, "%s: '%s' must be a list of strings",
						  where, e->string);
			cJSON_ArrayForEach(s, e)
				if (!cJSON_IsString(s))
					return op_err_set(err, -EINVAL,
							  "%s: '%s' must be a list of strings", where,
							  e->string);
		}
		if (streq(e->string, "valuesInline") && !cJSON_IsObject(e))
			return op_err_set(err, -EINVAL, "%s: 'valuesInline' must be a map", where);
	}
	return 0;
}

static bool flag(const cJSON *c, const char *name)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, name));
}

/* `chart_home` joined with more parts, '/'-separated, cleaned of an empty home. */
static char *join3(const char *a, const char *b, const char *c)
{
	if (c)
		return xasprintf("%s/%s/%s", a, b, c);
	return xasprintf("%s/%s", a, b);
}

int kz__helm_chart(struct kz_target *kt, struct kz_resmap *m, const cJSON *chart,
		   const cJSON *globals, const char *ns, struct op_err *err)
{
	const char *name = kz__str(chart, "/name"), *version = kz__str(chart, "/version");
	const char *repo = kz__str(chart, "/repo"), *merge = kz__str(chart, "/valuesMerge");
	const char *vfile = kz__str(chart, "/valuesFile");
	const cJSON *inline_ = cJSON_GetObjectItemCaseSensitive(chart, "valuesInline"), *e;
	_cleanup_free_ char *where = NULL, *home = NULL, *chart_rel = NULL, *chart_abs = NULL;
	_cleanup_free_ char *vrel = NULL, *release = NULL, *origin = NULL;
	_cleanup_free_ const char **apis = NULL;
	struct kz_helm_chart hc = { 0 };
	struct values vals = { .n = 0 };
	struct buf out = BUF_INIT((size_t)256 << 20);
	struct kz_resmap got = { 0 };
	char kind;
	size_t napis = 0, aapis = 0;
	int r;

	where = xasprintf("%s: helmCharts '%s'", kt->kfile, name);
	r = check_chart(chart, where, err);
	if (r < 0)
		return r;
	if (globals && globals != chart) {
		r = check_chart(globals, where, err);
		if (r < 0)
			return r;
	}
	if (!kt->ctx->helm)
		return op_err_set(err, -ENOTSUP,
				  "%s: must specify --enable-helm (helm charts are not inflated "
				  "here, as in Flux's kustomize-controller)",
				  where);
	if (!*name)
		return op_err_set(err, -EINVAL, "%s: chart name cannot be empty", kt->kfile);
	if (*merge && !streq(merge, "merge") && !streq(merge, "override") &&
	    !streq(merge, "replace"))
		return op_err_set(err, -EINVAL,
				  "%s: valuesMerge must be one of [merge override replace]", where);
	if (!*merge)
		merge = "override";
	if (*kz__str(chart, "/nameTemplate")) {
		if (*kz__str(chart, "/releaseName"))
			return op_err_set(err, -EINVAL,
					  "%s: cannot set --name-template and also specify a name",
					  where);
		return op_err_set(err, -ENOTSUP, "%s: nameTemplate is not supported", where);
	}
	if (flag(chart, "debug") || flag(chart, "devel"))
		return op_err_set(err, -ENOTSUP, "%s: '%s' is not supported", where,
				  flag(chart, "debug") ? "debug" : "devel");

	/* the chart's directory, relative to the kustomization */
	home = xstrdup(*kz__str(globals, "/chartHome") ? kz__str(globals, "/chartHome") : "charts");
	if (*version && *repo) {
		char *h = xasprintf("%s/%s-%s", home, name, version);

		free(home);
		home = h;
	}
	chart_rel = join3(home, name, NULL);
	r = kz__stat(kt, chart_rel, &kind, &chart_abs, err);
	if (r < 0)
		return op_err_prefix(err, "%s", where);
	if (kind != 'd') {
		if (!*repo)
			return op_err_set(err, -ENOENT,
					  "%s: no repo specified for pull, no chart found at '%s'",
					  where, chart_rel);
		return op_err_set(err, -ENOTSUP,
				  "%s: chart not found at '%s' and charts are never downloaded "
				  "(pull it from '%s' into the chart home first)",
				  where, chart_rel, repo);
	}

	/* the values files */
	vrel = *vfile ? xstrdup(vfile) : join3(home, name, "values.yaml");
	{
		char *text, *path;
		size_t len;

		r = kz__read(kt, vrel, &text, &len, &path, err);
		if (r < 0)
			return r;
		if (inline_ && inline_->child) {
			char *merged = NULL;
			size_t mlen = 0;

			r = merged_values(text, len, inline_, merge, &merged, &mlen, where, err);
			free(text);
			if (r < 0) {
				free(path);
				return r;
			}
			text = merged;
			len = mlen;
		}
		r = values_add(&vals, text, len, path, where, err);
		if (r < 0)
			goto out;
	}
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(chart, "additionalValuesFiles")) {
		char *text, *path;
		size_t len;

		r = kz__read(kt, e->valuestring, &text, &len, &path, err);
		if (r < 0) {
			op_err_prefix(err, "%s: could not load additionalValuesFile", where);
			goto out;
		}
		r = values_add(&vals, text, len, path, where, err);
		if (r < 0)
			goto out;
	}
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(chart, "apiVersions")) {
		XGROW(apis, napis + 1, aapis);
		apis[napis++] = e->valuestring;
	}

	if (*kz__str(chart, "/releaseName")) {
		release = xstrdup(kz__str(chart, "/releaseName"));
	} else {
		/* helm's --generate-name: the chart's base name up to a '.', and the time */
		const char *slash = strrchr(chart_rel, '/');
		const char *base = slash ? slash + 1 : chart_rel;
		size_t n = strcspn(base, ".");

		release = xasprintf("%.*s-%lld", (int)(n ? n : 5), n ? base : "chart",
				    (long long)time(NULL));
	}
	hc.chart_dir = chart_abs;
	hc.release_name = release;
	hc.ns = *kz__str(chart, "/namespace") ? kz__str(chart, "/namespace") : ns;
	hc.values = (const char *const *)vals.text;
	hc.values_names = (const char *const *)vals.name;
	hc.values_len = vals.len;
	hc.nvalues = vals.n;
	hc.api_versions = apis;
	hc.n_api_versions = napis;
	hc.kube_version = kz__str(chart, "/kubeVersion");
	hc.include_crds = flag(chart, "includeCRDs");
	hc.skip_tests = flag(chart, "skipTests");
	hc.skip_hooks = flag(chart, "skipHooks");
	r = kt->ctx->helm(&hc, &out, err, kt->ctx->helm_payload);
	if (r < 0) {
		op_err_prefix(err, "%s", where);
		goto out;
	}
	origin = xasprintf("%s (helm chart %s)", kt->kfile, name);
	r = kz__parse_resources(out.buf ? out.buf : "", out.len, origin, &got, err);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < got.n && r == 0; i++) {
		got.v[i]->helm = true;
		r = kz__resmap_append(m, got.v[i], err);
		got.v[i] = NULL;
	}
out:
	kz__resmap_release(&got); /* what was not appended */
	buf_release(&out);
	values_release(&vals);
	return r;
}

int kz__helm_charts(struct kz_target *kt, struct kz_resmap *m, struct op_err *err)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(kt->k, "helmCharts"), *c;
	const cJSON *globals = cJSON_GetObjectItemCaseSensitive(kt->k, "helmGlobals");
	const char *ns = inherited_ns(kt);
	int r;

	if (globals && !cJSON_IsNull(globals) && !cJSON_IsObject(globals))
		return op_err_set(err, -EINVAL, "%s: 'helmGlobals' must be a map", kt->kfile);
	if (list && !cJSON_IsNull(list) && !cJSON_IsArray(list))
		return op_err_set(err, -EINVAL, "%s: 'helmCharts' must be a list", kt->kfile);
	cJSON_ArrayForEach(c, list) {
		r = kz__helm_chart(kt, m, c, globals, ns, err);
		if (r < 0)
			return r;
	}
	return 0;
}
