/*
 * test_apply.c: lib/apply/apply.c's pure parts — Flux's stages, kind
 * order, inventory ids and drift.
 */
#include "apply/apply.h"
#include "harness.h"
#include "yj/yj.h"

static cJSON *obj(const char *av, const char *kind, const char *ns, const char *name)
{
	cJSON *o = cJSON_CreateObject(), *m;

	cJSON_AddStringToObject(o, "apiVersion", av);
	cJSON_AddStringToObject(o, "kind", kind);
	m = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(m, "name", name);
	if (ns)
		cJSON_AddStringToObject(m, "namespace", ns);
	return o;
}

TEST(stages_as_flux)
{
	ASSERT_EQ(apply_stage("apiextensions.k8s.io/v1", "CustomResourceDefinition"), 0);
	ASSERT_EQ(apply_stage("v1", "Namespace"), 0);
	ASSERT_EQ(apply_stage("rbac.authorization.k8s.io/v1", "ClusterRole"), 0);
	ASSERT_EQ(apply_stage("example.com/v1", "ClusterRole"), 2);
	ASSERT_EQ(apply_stage("storage.k8s.io/v1", "StorageClass"), 1);
	ASSERT_EQ(apply_stage("networking.k8s.io/v1", "IngressClass"), 1);
	ASSERT_EQ(apply_stage("apps/v1", "Deployment"), 2);
}

TEST(kind_order)
{
	ASSERT(apply_kind_rank("CustomResourceDefinition") < apply_kind_rank("Namespace"));
	ASSERT(apply_kind_rank("Namespace") < apply_kind_rank("ServiceAccount"));
	ASSERT(apply_kind_rank("ConfigMap") < apply_kind_rank("Service"));
	ASSERT(apply_kind_rank("Service") < apply_kind_rank("Deployment"));
	ASSERT(apply_kind_rank("PodDisruptionBudget") < apply_kind_rank("Widget"));
	ASSERT_EQ(apply_kind_rank("Widget"), 0);
	ASSERT(apply_kind_rank("Widget") < apply_kind_rank("ValidatingWebhookConfiguration"));
}

TEST(object_order_ties_by_group_kind_namespace_name)
{
	cJSON *a = obj("v1", "ConfigMap", "a", "z"), *b = obj("v1", "ConfigMap", "b", "a");
	cJSON *c = obj("v1", "ConfigMap", "a", "y"), *d = obj("apps/v1", "Deployment", "a", "a");
	cJSON *w = obj("a.example.com/v1", "Widget", "a", "a");
	cJSON *x = obj("b.example.com/v1", "Gadget", "a", "a");

	ASSERT(apply_cmp(a, b) < 0);
	ASSERT(apply_cmp(c, a) < 0);
	ASSERT(apply_cmp(a, d) < 0);
	ASSERT(apply_cmp(d, w) < 0);
	ASSERT(apply_cmp(w, x) < 0); /* unknown kinds: by group first */
	ASSERT_EQ(apply_cmp(a, a), 0);
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(c);
	cJSON_Delete(d);
	cJSON_Delete(w);
	cJSON_Delete(x);
}

TEST(inventory_ids)
{
	char *id = apply_inventory_id("default", "podinfo", "apps", "Deployment");

	ASSERT_STREQ(id, "default_podinfo_apps_Deployment");
	free(id);
	id = apply_inventory_id("default", "podinfo", "", "Service");
	ASSERT_STREQ(id, "default_podinfo__Service");
	free(id);
	id = apply_inventory_id("", "demo", "", "Namespace");
	ASSERT_STREQ(id, "_demo__Namespace");
	free(id);
	id = apply_inventory_id(NULL, "system:controller:x", "rbac.authorization.k8s.io",
				"ClusterRole");
	ASSERT_STREQ(id, "_system__controller__x_rbac.authorization.k8s.io_ClusterRole");
	free(id);
}

TEST(drift)
{
	cJSON *live = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":"
				  "{\"name\":\"a\",\"resourceVersion\":\"5\",\"uid\":\"u\","
				  "\"managedFields\":[{\"manager\":\"x\"}],\"labels\":{\"l\":\"1\"}},"
				  "\"data\":{\"k\":\"v\"}}");
	cJSON *dry = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":"
				 "{\"name\":\"a\",\"resourceVersion\":\"5\",\"uid\":\"u\","
				 "\"managedFields\":[{\"manager\":\"y\"}],\"labels\":{\"l\":\"1\"}},"
				 "\"data\":{\"k\":\"v\"}}");

	ASSERT(!apply_drifted(live, dry, NULL)); /* managedFields differ: not drift */
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(dry, "data"), "k", cJSON_CreateString("w"));
	ASSERT(apply_drifted(live, dry, NULL));
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(dry, "data"), "k", cJSON_CreateString("v"));
	/* a provenance annotation alone is not drift; another annotation is */
	cJSON_AddItemToObject(cJSON_GetObjectItem(dry, "metadata"), "annotations",
			      cJSON_Parse("{\"cflux.io/source-revision\":\"main@sha1:2\"}"));
	ASSERT(!apply_drifted(live, dry, "cflux.io/"));
	ASSERT(apply_drifted(live, dry, NULL));
	cJSON_AddStringToObject(cJSON_GetObjectItem(cJSON_GetObjectItem(dry, "metadata"),
						    "annotations"), "team", "a");
	ASSERT(apply_drifted(live, dry, "cflux.io/"));
	cJSON_DeleteItemFromObject(cJSON_GetObjectItem(dry, "metadata"), "annotations");
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(cJSON_GetObjectItem(dry, "metadata"),
						      "labels"), "l", cJSON_CreateString("2"));
	ASSERT(apply_drifted(live, dry, NULL));
	ASSERT(apply_drifted(NULL, dry, NULL)); /* absent: created */
	cJSON_Delete(live);
	cJSON_Delete(dry);
}

/*
 * jsondiff's operations: a metadata removal is not counted, an added
 * member is an addition, and the three operations under spec (43 + 50 +
 * 82 bytes of JSON) give way to one replace of spec (137 bytes).
 */
TEST(patch_counts_as_jsondiff)
{
	cJSON *live = cJSON_Parse(
		"{\"kind\":\"Deployment\",\"metadata\":{\"name\":\"w\",\"labels\":{\"app\":\"w\","
		"\"tier\":\"x\"},\"annotations\":{\"a\":\"1\"}},\"spec\":{\"replicas\":3,"
		"\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx:2\"}]}}},"
		"\"status\":{\"replicas\":3}}");
	cJSON *dry = cJSON_Parse(
		"{\"kind\":\"Deployment\",\"metadata\":{\"name\":\"w\",\"labels\":{\"app\":\"w\"},"
		"\"annotations\":{\"a\":\"2\"}},\"spec\":{\"replicas\":1,\"paused\":false,"
		"\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx:1\"}]}}},"
		"\"status\":{\"replicas\":1}}");
	unsigned a, c, r;

	apply_patch_counts(live, dry, &a, &c, &r);
	ASSERT_EQ(a, 0);
	ASSERT_EQ(c, 2); /* annotations.a, and spec rationalized */
	ASSERT_EQ(r, 0);
	/* one scalar: a replace; a member only live: a removal; only dry-run: an addition */
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(dry, "spec"), "paused", cJSON_CreateFalse());
	cJSON_Delete(cJSON_DetachItemFromObject(cJSON_GetObjectItem(dry, "spec"), "paused"));
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(dry, "spec"), "template",
				  cJSON_Duplicate(yj_get(live, "/spec/template"), 1));
	apply_patch_counts(live, dry, &a, &c, &r);
	ASSERT_EQ(c, 2);
	ASSERT_EQ(a + r, 0);
	/* a removal and an addition under spec: cheaper as one replace of spec again */
	cJSON_AddNumberToObject(cJSON_GetObjectItem(live, "spec"), "minReadySeconds", 5);
	cJSON_AddStringToObject(cJSON_GetObjectItem(dry, "spec"), "strategy", "x");
	apply_patch_counts(live, dry, &a, &c, &r);
	ASSERT_EQ(a + r, 0);
	ASSERT_EQ(c, 2);
	cJSON_Delete(live);
	cJSON_Delete(dry);
	/* ... but not beside a long value: one addition, one removal */
	live = cJSON_Parse("{\"data\":{\"a\":\"1\",\"big\":\"0123456789012345678901234567890123456789\"}}");
	dry = cJSON_Parse("{\"data\":{\"b\":\"1\",\"big\":\"0123456789012345678901234567890123456789\"}}");
	apply_patch_counts(live, dry, &a, &c, &r);
	ASSERT_EQ(a, 1);
	ASSERT_EQ(c, 0);
	ASSERT_EQ(r, 1);
	cJSON_Delete(live);
	cJSON_Delete(dry);
	/* arrays by index: two more long elements, two additions at /- (short ones
	 * would be one replace of the array) */
#define L50 "\"01234567890123456789012345678901234567890123456789\""
	live = cJSON_Parse("{\"l\":[" L50 "]}");
	dry = cJSON_Parse("{\"l\":[" L50 "," L50 "," L50 "]}");
	apply_patch_counts(live, dry, &a, &c, &r);
	ASSERT_EQ(a, 2);
	ASSERT_EQ(c, 0);
	cJSON_Delete(live);
	cJSON_Delete(dry);
	live = cJSON_Parse("{\"l\":[1]}");
	dry = cJSON_Parse("{\"l\":[1,2,3]}");
	apply_patch_counts(live, dry, &a, &c, &r);
	ASSERT_EQ(a, 0);
	ASSERT_EQ(c, 1);
#undef L50
	cJSON_Delete(live);
	cJSON_Delete(dry);
}

TEST(drift_fields_are_named)
{
	cJSON *live = cJSON_Parse(
		"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"w\","
		"\"resourceVersion\":\"5\",\"labels\":{\"app\":\"w\",\"tier\":\"x\"},"
		"\"annotations\":{\"cflux.io/source-revision\":\"a\",\"cflux.io/drift\":\"detect\"}},"
		"\"spec\":{\"replicas\":3,\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\","
		"\"image\":\"nginx:2\"}]}}},\"status\":{\"replicas\":3}}");
	cJSON *dry = cJSON_Parse(
		"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"w\","
		"\"resourceVersion\":\"5\",\"labels\":{\"app\":\"w\"},"
		"\"annotations\":{\"cflux.io/source-revision\":\"b\",\"cflux.io/drift\":\"detect\"}},"
		"\"spec\":{\"replicas\":1,\"paused\":false,\"template\":{\"spec\":{\"containers\":"
		"[{\"name\":\"c\",\"image\":\"nginx:1\"}]}}},\"status\":{\"replicas\":1}}");
	struct buf out = BUF_INIT(4096);

	ASSERT_EQ(apply_diff(live, dry, "cflux.io/", &out, 10), 4);
	ASSERT_STREQ(out.buf, "metadata.labels.tier, spec.replicas, "
			      "spec.template.spec.containers[0].image, spec.paused");
	buf_reset(&out);
	ASSERT_EQ(apply_diff(live, dry, "cflux.io/", &out, 2), 4);
	ASSERT_STREQ(out.buf, "metadata.labels.tier, spec.replicas, ...");
	buf_reset(&out);
	/* the same object: nothing named, as apply_drifted() says */
	ASSERT_EQ(apply_diff(live, live, "cflux.io/", &out, 10), 0);
	ASSERT(!apply_drifted(live, live, "cflux.io/"));
	ASSERT_EQ(out.len, 0);
	buf_release(&out);
	{
		/* with values: the same paths in the same order, live and dry sides */
		cJSON *ch = apply_diff_changes(live, dry, "cflux.io/");
		char *text = cJSON_PrintUnformatted(ch);

		ASSERT_STREQ(text,
			     "[{\"path\":\"metadata.labels.tier\",\"live\":\"x\"},"
			     "{\"path\":\"spec.replicas\",\"live\":3,\"dry\":1},"
			     "{\"path\":\"spec.template.spec.containers[0].image\",\"live\":\"nginx:2\","
			     "\"dry\":\"nginx:1\"},{\"path\":\"spec.paused\",\"dry\":false}]");
		free(text);
		cJSON_Delete(ch);
		ch = apply_diff_changes(live, live, "cflux.io/");
		ASSERT_EQ(cJSON_GetArraySize(ch), 0);
		cJSON_Delete(ch);
	}
	cJSON_Delete(live);
	cJSON_Delete(dry);
}
