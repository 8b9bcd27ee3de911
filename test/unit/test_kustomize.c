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

	ASSERT_OK(kz__smp(&t, p, "Deployment", NULL));
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

	ASSERT_OK(kz__smp(&t, p, "W", NULL));
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

	put(d, "kustomization.yaml", "resources: []\nopenapi:\n  path: schema.json\n");
	ASSERT_EQ(kz_build(d, ".", NULL, &list, &err), -ENOTSUP);
	ASSERT_CONTAINS(err.msg, "field 'openapi': custom OpenAPI schemas are not supported");
	put(d, "kustomization.yaml", "helmCharts:\n- name: x\n");
	ASSERT_EQ(kz_build(d, ".", NULL, &list, &err), -ENOTSUP);
	ASSERT_CONTAINS(err.msg, "field 'helmCharts': helm charts are not supported");
}
