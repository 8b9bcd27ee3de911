/*
 * test_kustomize.c: lib/kustomize pieces: the content hash, strategic
 * merge, the output format, root confinement and limits.  The behaviour
 * as a whole is checked against kustomize itself by kustomize_diff.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "base/str.h"
#include "harness.h"
#include "kustomize/internal.h"
#include "kustomize/kustomize.h"
#include "yj/yj.h"

static cJSON *parse(const char *y)
{
	cJSON *j = NULL;

	ASSERT_OK(yj_parse_one(y, strlen(y), &j, NULL));
	return j;
}

#define put harness_put

TEST(hash_configmap_ignores_name)
{
	/* kustomize's suffix for data {a:"1", b:"<x&y>", c:"multi\nline"} */
	cJSON *a = parse("kind: ConfigMap\nmetadata: {name: p-cm}\n"
			 "data: {a: \"1\", b: \"<x&y>\", c: \"multi\\nline\"}\n");
	cJSON *b = parse("kind: ConfigMap\nmetadata: {name: other}\n"
			 "data: {a: \"1\", b: \"<x&y>\", c: \"multi\\nline\"}\n");
	char ha[11], hb[11];

	ASSERT_OK(kz__hash(a, ha));
	ASSERT_OK(kz__hash(b, hb));
	ASSERT_STREQ(ha, "8kfdbmmbdf");
	ASSERT_STREQ(hb, ha);
	cJSON_Delete(a);
	cJSON_Delete(b);
}

TEST(go_json_escapes_html)
{
	cJSON *j = parse("{\"k\": \"<a&b>\"}");
	struct buf b = BUF_INIT(1024);

	ASSERT_OK(kz__go_json(j, &b));
	ASSERT_STREQ(b.buf, "{\"k\":\"\\u003ca\\u0026b\\u003e\"}");
	buf_release(&b);
	cJSON_Delete(j);
}

TEST(smp_merges_containers_by_name_patch_first)
{
	cJSON *t = parse("apiVersion: apps/v1\nkind: Deployment\nspec:\n  containers:\n"
			 "  - {name: a, image: x}\n  - {name: b, image: y}\n");
	cJSON *p = parse("spec:\n  containers:\n  - {name: b, image: z}\n  - {name: c}\n"
			 "  - {name: a, $patch: delete}\n");
	struct buf out = BUF_INIT(4096);

	ASSERT_OK(kz__smp(&t, p, NULL, NULL));
	ASSERT_OK(yj_print_canonical(yj_get(t, "/spec/containers"), &out));
	ASSERT_STREQ(out.buf, "[{\"image\":\"z\",\"name\":\"b\"},{\"name\":\"c\"}]");
	buf_release(&out);
	cJSON_Delete(t);
	cJSON_Delete(p);
}

TEST(smp_custom_resource_replaces_lists_and_null_deletes)
{
	cJSON *t = parse("apiVersion: x.io/v1\nkind: W\nspec: {l: [1, 2], a: 1, b: 2}\n");
	cJSON *p = parse("spec: {l: [3], a: null}\n");
	struct buf out = BUF_INIT(4096);

	ASSERT_OK(kz__smp(&t, p, NULL, NULL));
	ASSERT_OK(yj_print_canonical(yj_get(t, "/spec"), &out));
	ASSERT_STREQ(out.buf, "{\"b\":2,\"l\":[3]}");
	buf_release(&out);
	cJSON_Delete(t);
	cJSON_Delete(p);
}

TEST(emit_matches_kustomize_format)
{
	cJSON *l = cJSON_CreateArray();
	struct buf out = BUF_INIT(4096);

	cJSON_AddItemToArray(l, parse("{\"kind\":\"A\",\"b10\":1,\"b9\":\"yes\",\"m\":\"x\\ny\"}"));
	cJSON_AddItemToArray(l, parse("{\"kind\":\"B\",\"l\":[],\"n\":1.5e7}"));
	ASSERT_OK(kz_emit(l, &out));
	/* go-yaml v2 quotes "n" (a YAML 1.1 bool) even as a key */
	ASSERT_STREQ(out.buf, "b9: \"yes\"\nb10: 1\nkind: A\nm: |-\n  x\n  y\n---\n"
			      "kind: B\nl: []\n\"n\": 15000000\n");
	buf_release(&out);
	cJSON_Delete(l);
}

TEST(build_refuses_escape_and_remote)
{
	const char *d = harness_tmpdir();
	struct op_err err = OP_ERR_INIT;
	cJSON *list = NULL;

	put(d, "a/kustomization.yaml", "resources:\n- ../../x\n");
	ASSERT_EQ(kz_build(d, "a", NULL, &list, &err), -EPERM);
	ASSERT_CONTAINS(err.msg, "leaves the source root");
	put(d, "b/kustomization.yaml", "resources:\n- github.com/org/repo//dir\n");
	ASSERT_EQ(kz_build(d, "b", NULL, &list, &err), -EPERM);
	ASSERT_CONTAINS(err.msg, "remote");
	ASSERT_NULL(list);
}

TEST(build_limits)
{
	const char *d = harness_tmpdir();
	struct kz_limits lim = KZ_LIMITS_DEFAULT;
	struct op_err err = OP_ERR_INIT;
	cJSON *list = NULL;

	put(d, "kustomization.yaml", "resources:\n- a\n");
	put(d, "a/kustomization.yaml", "resources:\n- ../b\n");
	put(d, "b/kustomization.yaml", "resources:\n- cm.yaml\n");
	put(d, "b/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n");
	lim.max_depth = 1;
	ASSERT_EQ(kz_build(d, ".", &lim, &list, &err), -E2BIG);
	lim = (struct kz_limits)KZ_LIMITS_DEFAULT;
	lim.max_files = 2;
	ASSERT_EQ(kz_build(d, ".", &lim, &list, &err), -E2BIG);
	lim = (struct kz_limits)KZ_LIMITS_DEFAULT;
	lim.max_bytes = 40;
	ASSERT_EQ(kz_build(d, ".", &lim, &list, &err), -EFBIG);
	ASSERT_OK(kz_build(d, ".", NULL, &list, &err));
	ASSERT_EQ(cJSON_GetArraySize(list), 1);
	cJSON_Delete(list);
}

TEST(errors_name_the_file)
{
	const char *d = harness_tmpdir();
	struct op_err err = OP_ERR_INIT;
	cJSON *list = NULL;

	put(d, "kustomization.yaml", "resources:\n- bad.yaml\n");
	put(d, "bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [x\n");
	ASSERT_EQ(kz_build(d, ".", NULL, &list, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "bad.yaml");
	put(d, "kustomization.yaml", "resources: []\nnamePrefx: x\n");
	ASSERT_EQ(kz_build(d, ".", NULL, &list, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "kustomization.yaml");
	ASSERT_CONTAINS(err.msg, "namePrefx");
}

TEST(unsupported_fields_refused_by_name)
{
	const char *d = harness_tmpdir();
	struct op_err err = OP_ERR_INIT;
	cJSON *list = NULL;

	put(d, "kustomization.yaml", "helmChartInflationGenerator:\n- chartName: x\n");
	ASSERT_EQ(kz_build(d, ".", NULL, &list, &err), -ENOTSUP);
	ASSERT_CONTAINS(err.msg, "deprecated helmChartInflationGenerator");
	/* without a renderer (kustomize without --enable-helm, and Flux) */
	put(d, "kustomization.yaml", "helmCharts:\n- name: x\n");
	ASSERT_EQ(kz_build(d, ".", NULL, &list, &err), -ENOTSUP);
	ASSERT_CONTAINS(err.msg, "helmCharts 'x': must specify --enable-helm");
}

/* What the renderer was asked, and what it answers. */
struct fake_helm {
	int calls;
	char dir[512], release[64], ns[64], kube[32];
	char values[4][256];
	size_t nvalues;
	bool crds, tests, hooks;
	const char *answer;
};

static int fake_render(const struct kz_helm_chart *c, struct buf *out, struct op_err *err,
		       void *payload)
{
	struct fake_helm *f = payload;

	(void)err;
	f->calls++;
	snprintf(f->dir, sizeof(f->dir), "%s", c->chart_dir);
	snprintf(f->release, sizeof(f->release), "%s", c->release_name);
	snprintf(f->ns, sizeof(f->ns), "%s", c->ns);
	snprintf(f->kube, sizeof(f->kube), "%s", c->kube_version);
	f->nvalues = c->nvalues;
	for (size_t i = 0; i < c->nvalues && i < 4; i++)
		snprintf(f->values[i], sizeof(f->values[i]), "%.*s", (int)c->values_len[i],
			 c->values[i]);
	f->crds = c->include_crds;
	f->tests = c->skip_tests;
	f->hooks = c->skip_hooks;
	return buf_adds(out, f->answer);
}

TEST(helm_charts_through_the_renderer)
{
	const char *d = harness_tmpdir();
	struct kz_opts o = KZ_OPTS_INIT;
	struct fake_helm f = { .answer = "---\n# Source: mini/templates/cm.yaml\napiVersion: v1\n"
					 "kind: ConfigMap\nmetadata:\n  name: web-cm\n" };
	struct op_err err = OP_ERR_INIT;
	cJSON *list = NULL;

	put(d, "base/charts/mini/Chart.yaml", "apiVersion: v2\nname: mini\nversion: 1.0.0\n");
	put(d, "base/charts/mini/values.yaml", "a: 1\nb:\n  c: x\n  d: null\nl: [1, 2]\n");
	put(d, "base/extra.yaml", "e: 5\n");
	put(d, "base/kustomization.yaml",
	    "helmCharts:\n- name: mini\n  releaseName: web\n  includeCRDs: true\n"
	    "  skipTests: true\n  kubeVersion: '1.30'\n  additionalValuesFiles: [extra.yaml]\n"
	    "  valuesInline:\n    b: {c: z}\n    l: [3]\n");
	put(d, "kustomization.yaml", "namespace: prod\nresources:\n- base\n");
	o.helm = fake_render;
	o.helm_payload = &f;
	ASSERT_OK(kz_build_opts(d, ".", &o, &list, &err));
	ASSERT_EQ(f.calls, 1);
	ASSERT(str_endswith(f.dir, "/base/charts/mini"));
	ASSERT_STREQ(f.release, "web");
	ASSERT_STREQ(f.ns, "prod"); /* inherited from the overlay */
	ASSERT_STREQ(f.kube, "1.30");
	ASSERT(f.crds && f.tests && !f.hooks);
	ASSERT_EQ(f.nvalues, 2);
	/* the inline values over the file's, nulls gone, lists replaced */
	ASSERT_STREQ(f.values[0], "a: 1\nb:\n  c: z\nl:\n- 3\n");
	ASSERT_STREQ(f.values[1], "e: 5\n");
	/* the overlay's namespace is not set on what helm rendered */
	ASSERT_EQ(cJSON_GetArraySize(list), 1);
	ASSERT_STREQ(yj_get_str(list, "/0/metadata/name"), "web-cm");
	ASSERT_NULL(yj_get(list, "/0/metadata/namespace"));
	cJSON_Delete(list);
	list = NULL;

	/* a chart that is not there and would have to be downloaded */
	put(d, "kustomization.yaml",
	    "helmCharts:\n- name: other\n  repo: https://charts.example.com\n");
	ASSERT_EQ(kz_build_opts(d, ".", &o, &list, &err), -ENOTSUP);
	ASSERT_CONTAINS(err.msg, "charts are never downloaded");
	put(d, "kustomization.yaml", "helmCharts:\n- name: other\n");
	ASSERT_EQ(kz_build_opts(d, ".", &o, &list, &err), -ENOENT);
	ASSERT_CONTAINS(err.msg, "no repo specified for pull");
	put(d, "kustomization.yaml", "helmCharts:\n- name: mini\n  nameTemplate: x\n");
	ASSERT_EQ(kz_build_opts(d, ".", &o, &list, &err), -ENOTSUP);
	ASSERT_CONTAINS(err.msg, "nameTemplate is not supported");
	put(d, "kustomization.yaml",
	    "helmGlobals: {chartHome: base/charts}\nhelmCharts:\n- name: mini\n  bogus: 1\n");
	ASSERT_EQ(kz_build_opts(d, ".", &o, &list, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "unknown field 'bogus'");
	ASSERT_EQ(f.calls, 1);
}

/* kz_selects: Flux's Selector over one object (HelmRelease driftDetection.ignore targets). */
TEST(selects_one_object)
{
	cJSON *obj = parse("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"
			   "  namespace: prod\n  labels: {tier: front}\n"
			   "  annotations: {team: a}\n");
	cJSON *core = parse("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n");
	struct op_err err = OP_ERR_INIT;
	struct {
		const char *sel;
		int want;
	} cases[] = {
		{ "{}", 1 },
		{ "kind: Deployment", 1 },
		{ "kind: Deploy", 0 }, /* anchored */
		{ "kind: Deploy.*", 1 },
		{ "{group: apps, version: v1, name: web, namespace: prod}", 1 },
		{ "namespace: dev", 0 },
		{ "labelSelector: tier=front", 1 },
		{ "labelSelector: tier in (back)", 0 },
		{ "annotationSelector: team", 1 },
		{ "annotationSelector: '!team'", 0 },
	};

	ASSERT_EQ(kz_selects(NULL, obj, &err), 1);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *sel = parse(cases[i].sel);

		ASSERT_EQ(kz_selects(sel, obj, &err), cases[i].want);
		cJSON_Delete(sel);
	}
	{
		cJSON *sel = parse("group: ''\nkind: ConfigMap\n");

		ASSERT_EQ(kz_selects(sel, core, &err), 1);
		ASSERT_EQ(kz_selects(sel, obj, &err), 0);
		cJSON_Delete(sel);
		sel = parse("labelSelector: 'a in (b'\n");
		ASSERT_EQ(kz_selects(sel, obj, &err), -EINVAL);
		ASSERT_CONTAINS(err.msg, "invalid labelSelector");
		cJSON_Delete(sel);
	}
	cJSON_Delete(obj);
	cJSON_Delete(core);
}
