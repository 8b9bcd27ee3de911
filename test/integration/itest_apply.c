/*
 * itest_apply.c: lib/apply/apply.c against the real apiserver — stages
 * with a CRD and its CR in one set, drift, prune, the all-or-nothing
 * dry-run, force on immutable fields, kubectl field takeover and the ssa
 * annotations.
 */
#include <string.h>
#include <unistd.h>

#include "apply/apply.h"
#include "itest.h"
#include "kube/mapper.h"
#include "yj/yj.h"

struct ares {
	bool done;
	int r;
	char msg[1024];
	char *changes;
	char *pruned;
	cJSON *inventory;
	char *current; /* current_refs as ",Kind/name," */
	unsigned created, configured, unchanged, deleted, skipped;
};

static void applied(struct apply_result *res, void *payload)
{
	struct ares *a = payload;

	a->done = true;
	a->r = res->r;
	snprintf(a->msg, sizeof(a->msg), "%s", res->err.msg);
	a->changes = xstrdup(res->changes);
	a->pruned = xstrdup(res->pruned);
	a->inventory = res->inventory ? cJSON_Duplicate(res->inventory, 1) : NULL;
	{
		struct buf b = BUF_INIT(1 << 16);
		const cJSON *e;

		buf_adds(&b, ",");
		cJSON_ArrayForEach(e, res->current_refs)
			buf_addf(&b, "%s/%s,", yj_get_str(e, "/kind"), yj_get_str(e, "/metadata/name"));
		a->current = buf_detach(&b, NULL);
	}
	a->created = res->created;
	a->configured = res->configured;
	a->unchanged = res->unchanged;
	a->deleted = res->deleted;
	a->skipped = res->skipped;
}

static void ares_clear(struct ares *a)
{
	free(a->changes);
	free(a->pruned);
	free(a->current);
	cJSON_Delete(a->inventory);
	memset(a, 0, sizeof(*a));
}

static char *ns;
static uv_loop_t loop;
static struct kube_client *c;
static struct kube_mapper *mp;

/* Apply the YAML-ish JSON array `fmt` (with %1$s = the namespace) and wait. */
static void run(struct ares *a, const char *json, const cJSON *prev, bool force, bool prune)
{
	struct apply_opts o = {
		.field_manager = "kustomize-controller",
		.owner_name = "app",
		.owner_ns = "flux-system",
		.force = force,
		.prune = prune,
		.prev_inventory = prev,
		.stage_wait_ms = 60000,
	};
	cJSON *set = cJSON_Parse(json);

	ASSERT_NOT_NULL(set);
	ares_clear(a);
	ASSERT_OK(apply_set(c, mp, set, &o, applied, a, NULL));
	cJSON_Delete(set);
	itest_wait(&loop, &a->done, 120000);
}

static char *get_str(const char *resource, const char *group, const char *name, const char *ptr)
{
	struct kube_ref ref = { .group = group, .version = "v1", .resource = resource, .ns = ns,
				.name = name };
	struct itest_result res = { 0 };
	char *out = NULL;

	ITEST_CALL(&loop, res, kube_get(c, &ref, NULL, itest__cb, &res));
	if (res.r == 0 && yj_get_str(res.obj, ptr))
		out = xstrdup(yj_get_str(res.obj, ptr));
	else if (res.r < 0)
		out = xasprintf("<%s>", op_strerror(res.r));
	itest_result_clear(&res);
	return out ? out : xstrdup("<none>");
}

#define CRD                                                                                        \
	"{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","    \
	"\"metadata\":{\"name\":\"appwidgets.%1$s.cflux.io\"},\"spec\":{\"group\":"          \
	"\"%1$s.cflux.io\",\"names\":{\"kind\":\"Appwidget\",\"plural\":\"appwidgets\","        \
	"\"singular\":\"appwidget\",\"listKind\":\"AppwidgetList\"},\"scope\":\"Namespaced\","         \
	"\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true,\"schema\":"            \
	"{\"openAPIV3Schema\":{\"type\":\"object\",\"properties\":{\"spec\":{\"type\":"          \
	"\"object\",\"properties\":{\"size\":{\"type\":\"integer\"}}}}}}}]}}"

#define NS_OBJ "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%1$s\"}}"
#define WIDGET                                                                                     \
	"{\"apiVersion\":\"%1$s.cflux.io/v1\",\"kind\":\"Appwidget\",\"metadata\":{\"name\":"  \
	"\"w\",\"namespace\":\"%1$s\"},\"spec\":{\"size\":3}}"
#define CM(name, v)                                                                                \
	"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"" name "\","     \
	"\"namespace\":\"%1$s\"},\"data\":{\"v\":\"" v "\"}}"
#define DEPLOY(name, app)                                                                          \
	"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"" name     \
	"\",\"namespace\":\"%1$s\"},\"spec\":{\"replicas\":0,\"selector\":{\"matchLabels\":"      \
	"{\"app\":\"" app "\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"" app "\"}},"  \
	"\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}}}"

static char *with_ns(const char *fmt)
{
	return xasprintf(fmt, ns);
}

TEST(stages_drift_prune_and_all_or_nothing)
{
	struct ares a = { 0 };
	cJSON *inv;
	char *set, *v, *want;

	uv_loop_init(&loop);
	c = itest_client(&loop);
	ASSERT_OK(mapper_new(c, &mp));
	ns = xasprintf("itest-apply-%08lx", (unsigned long)random() ^ (unsigned long)getpid());

	/* A CRD, its CR, a Namespace and objects in it, in one set. */
	set = with_ns("[" WIDGET "," DEPLOY("web", "web") "," CM("cm", "1") "," NS_OBJ "," CRD "]");
	run(&a, set, NULL, false, false);
	free(set);
	if (a.r < 0)
		harness__fail(__FILE__, __LINE__, "apply: %s", a.msg);
	ASSERT_EQ(a.created + a.configured + a.unchanged, 5u);
	/* The change set in Flux's order, however the requests interleaved. */
	want = xasprintf("CustomResourceDefinition/appwidgets.%1$s.cflux.io created\n"
			 "Namespace/%1$s created\nConfigMap/%1$s/cm created\n"
			 "Deployment/%1$s/web created\nAppwidget/%1$s/w created", ns);
	ASSERT_STREQ(a.changes, want);
	free(want);
	ASSERT_STREQ(a.pruned, "");
	/*
	 * Current as the apply answered (no watch needed): the ConfigMap and
	 * the Namespace; not the CRD (not Established yet) nor a custom
	 * resource, whose controller may not have written its status yet.
	 */
	ASSERT_CONTAINS(a.current, ",ConfigMap/cm,");
	{
		char *nso = xasprintf(",Namespace/%s,", ns);

		ASSERT_CONTAINS(a.current, nso);
		free(nso);
	}
	ASSERT(!strstr(a.current, "CustomResourceDefinition/"));
	ASSERT(!strstr(a.current, "Appwidget/"));
	inv = cJSON_Duplicate(a.inventory, 1);
	want = xasprintf("_appwidgets.%1$s.cflux.io_apiextensions.k8s.io_CustomResourceDefinition,"
			 "_%1$s__Namespace,%1$s_cm__ConfigMap,%1$s_web_apps_Deployment,"
			 "%1$s_w_%1$s.cflux.io_Appwidget", ns);
	{
		struct buf ids = BUF_INIT(1 << 16);
		const cJSON *e;

		cJSON_ArrayForEach(e, yj_get(inv, "/entries"))
			buf_addf(&ids, "%s%s", ids.len ? "," : "", yj_get_str(e, "/id"));
		ASSERT_STREQ(ids.buf, want);
		buf_release(&ids);
	}
	free(want);
	ASSERT_STREQ(yj_get_str(cJSON_GetArrayItem(yj_get(inv, "/entries"), 3), "/v"), "v1");
	v = get_str("configmaps", NULL, "cm", "/metadata/labels/kustomize.toolkit.fluxcd.io~1name");
	ASSERT_STREQ(v, "app");
	free(v);

	/* The same again: nothing changes. */
	set = with_ns("[" WIDGET "," DEPLOY("web", "web") "," CM("cm", "1") "," NS_OBJ "," CRD "]");
	run(&a, set, inv, false, true);
	free(set);
	ASSERT_OK(a.r);
	if (a.unchanged != 5)
		harness__fail(__FILE__, __LINE__, "not unchanged: %s", a.changes);
	ASSERT_STREQ(a.changes, "");
	/* Unchanged objects are judged as they live: the CRD is Established by now. */
	ASSERT_CONTAINS(a.current, ",CustomResourceDefinition/");
	ASSERT(!strstr(a.current, "Appwidget/"));

	/* One change, one object gone: configured and pruned. */
	set = with_ns("[" WIDGET "," CM("cm", "2") "," NS_OBJ "," CRD "]");
	run(&a, set, inv, false, true);
	free(set);
	if (a.r < 0)
		harness__fail(__FILE__, __LINE__, "apply: %s", a.msg);
	ASSERT_EQ(a.configured, 1u);
	ASSERT_EQ(a.deleted, 1u);
	want = xasprintf("ConfigMap/%s/cm configured", ns);
	ASSERT_STREQ(a.changes, want);
	free(want);
	want = xasprintf("Deployment/%s/web deleted", ns);
	ASSERT_STREQ(a.pruned, want);
	free(want);
	cJSON_Delete(inv);
	inv = cJSON_Duplicate(a.inventory, 1);
	ASSERT_EQ(cJSON_GetArraySize(yj_get(inv, "/entries")), 4);

	/* One invalid object: nothing at all is applied. */
	set = with_ns("[" CM("cm", "3") "," CM("new", "1") ","
		      "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":"
		      "\"bad\",\"namespace\":\"%1$s\"},\"spec\":{\"replicas\":\"many\"}}]");
	run(&a, set, inv, false, true);
	free(set);
	ASSERT(a.r < 0);
	want = xasprintf("Deployment/%s/bad dry-run failed", ns);
	ASSERT_CONTAINS(a.msg, want);
	free(want);
	v = get_str("configmaps", NULL, "cm", "/data/v");
	ASSERT_STREQ(v, "2");
	free(v);
	v = get_str("configmaps", NULL, "new", "/data/v");
	ASSERT_STREQ(v, "<No such file or directory>");
	free(v);

	/* A kind nobody defines names the object. */
	set = with_ns("[{\"apiVersion\":\"nope.cflux.io/v1\",\"kind\":\"Nope\",\"metadata\":"
		      "{\"name\":\"x\",\"namespace\":\"%1$s\"}}]");
	run(&a, set, inv, false, false);
	free(set);
	ASSERT(a.r < 0);
	ASSERT_CONTAINS(a.msg, "Nope/");
	ASSERT_CONTAINS(a.msg, "no matches for kind");

	cJSON_Delete(inv);
	ares_clear(&a);
	{
		char *crd = xasprintf("appwidgets.%s.cflux.io", ns); /* before ns is freed */
		struct kube_ref cref = { .group = "apiextensions.k8s.io", .version = "v1",
					 .resource = "customresourcedefinitions", .name = crd };
		struct itest_result res = { 0 };

		ITEST_CALL(&loop, res, kube_delete(c, &cref, NULL, itest__cb, &res));
		itest_result_clear(&res);
		free(crd);
	}
	itest_delete_namespace(&loop, c, ns);
	mapper_free(mp);
	itest_finish(&loop, c);
}

TEST(force_takeover_and_annotations)
{
	struct ares a = { 0 };
	struct itest_result res = { 0 };
	struct kube_ref cms = { .version = "v1", .resource = "configmaps", .name = "edited" };
	cJSON *kubectl_obj;
	char *set, *v;

	uv_loop_init(&loop);
	c = itest_client(&loop);
	ASSERT_OK(mapper_new(c, &mp));
	ns = itest_namespace(&loop, c, "itest-apply-force");
	cms.ns = ns;

	/* Immutable selector: refused without force, recreated with it. */
	set = with_ns("[" DEPLOY("imm", "a") "]");
	run(&a, set, NULL, false, false);
	free(set);
	ASSERT_OK(a.r);
	set = with_ns("[" DEPLOY("imm", "b") "]");
	run(&a, set, NULL, false, false);
	ASSERT(a.r < 0);
	ASSERT_CONTAINS(a.msg, "immutable");
	run(&a, set, NULL, true, false);
	free(set);
	if (a.r < 0)
		harness__fail(__FILE__, __LINE__, "forced apply: %s", a.msg);
	ASSERT_EQ(a.created, 1u);
	v = get_str("deployments", "apps", "imm", "/spec/selector/matchLabels/app");
	ASSERT_STREQ(v, "b");
	free(v);

	/* A field kubectl added is taken over and removed when Git does not have it. */
	set = with_ns("[" CM("edited", "1") "]");
	run(&a, set, NULL, false, false);
	ASSERT_OK(a.r);
	kubectl_obj = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":"
				  "{\"name\":\"edited\"},\"data\":{\"extra\":\"by-hand\"}}");
	ITEST_CALL(&loop, res, kube_apply(c, &cms, kubectl_obj,
					  &(struct kube_opts){ .field_manager = "kubectl",
							       .force = true },
					  itest__cb, &res));
	ASSERT_OK(res.r);
	itest_result_clear(&res);
	cJSON_Delete(kubectl_obj);
	v = get_str("configmaps", NULL, "edited", "/data/extra");
	ASSERT_STREQ(v, "by-hand");
	free(v);
	run(&a, set, NULL, false, false);
	free(set);
	ASSERT_OK(a.r);
	v = get_str("configmaps", NULL, "edited", "/data/extra");
	ASSERT_STREQ(v, "<none>");
	free(v);

	/* ssa: IfNotPresent leaves an existing object alone; Ignore never applies. */
	set = with_ns("[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
		      "\"keep\",\"namespace\":\"%1$s\",\"annotations\":{\"kustomize.toolkit.fluxcd."
		      "io/ssa\":\"IfNotPresent\"}},\"data\":{\"v\":\"1\"}}]");
	run(&a, set, NULL, false, false);
	free(set);
	ASSERT_OK(a.r);
	ASSERT_EQ(a.created, 1u);
	set = with_ns("[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
		      "\"keep\",\"namespace\":\"%1$s\",\"annotations\":{\"kustomize.toolkit.fluxcd."
		      "io/ssa\":\"IfNotPresent\"}},\"data\":{\"v\":\"2\"}},{\"apiVersion\":\"v1\","
		      "\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"ign\",\"namespace\":\"%1$s\","
		      "\"annotations\":{\"kustomize.toolkit.fluxcd.io/ssa\":\"ignore\"}}}]");
	run(&a, set, NULL, false, false);
	free(set);
	ASSERT_OK(a.r);
	ASSERT_EQ(a.skipped, 2u);
	v = get_str("configmaps", NULL, "keep", "/data/v");
	ASSERT_STREQ(v, "1");
	free(v);
	v = get_str("configmaps", NULL, "ign", "/metadata/name");
	ASSERT_STREQ(v, "<No such file or directory>");
	free(v);

	/* A namespaced object without a namespace takes default_ns... here none: an error. */
	run(&a, "[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"x\"}}]",
	    NULL, false, false);
	ASSERT(a.r < 0);
	ASSERT_CONTAINS(a.msg, "namespace not specified");

	ares_clear(&a);
	itest_delete_namespace(&loop, c, ns);
	mapper_free(mp);
	itest_finish(&loop, c);
}

/* ---- presumed new: the dry-run before the GET ---- */

static struct itest_proxy fp;

/* Requests the proxy saw since the last call: "METHOD name[?dryRun]" counted, as "k=n,..." sorted. */
static char *requests_seen(void)
{
	char *cmd = xasprintf(
		"curl -fsS http://127.0.0.1:%d/__faults/log | python3 -c '"
		"import json, sys, collections\n"
		"c = collections.Counter()\n"
		"for e in json.load(sys.stdin) or []:\n"
		"    u = e[\"url\"]\n"
		"    if \"/configmaps/\" not in u: continue\n"
		"    n = u.split(\"?\")[0].rsplit(\"/\", 1)[1]\n"
		"    c[e[\"method\"] + \" \" + n + (\"?dry\" if \"dryRun\" in u else \"\")] += 1\n"
		"print(\",\".join(\"%%s=%%d\" %% kv for kv in sorted(c.items())))' && "
		"curl -fsS -o /dev/null -X POST http://127.0.0.1:%d/__faults/reset-log",
		fp.port, fp.port);
	char *out = itest_run_out(cmd);

	free(cmd);
	return out;
}

/*
 * An object the previous inventory does not list is presumed new: dry-run
 * and apply, no GET.  One that is there after all (made by someone else)
 * is looked at the usual way (GET, dry-run again) and comes out as it
 * always did: configured, or left alone under ssa: IfNotPresent.  An
 * invalid one fails with the message the usual way gives.  Without a
 * previous inventory nothing is presumed.
 */
TEST(presumed_new_objects_skip_the_get)
{
	struct ares a = { 0 };
	struct itest_result res = { 0 };
	struct kube_client *direct;
	struct kube_ref ref = { .version = "v1", .resource = "configmaps", .name = "there" };
	cJSON *empty = cJSON_Parse("{\"entries\":[]}"), *obj, *inv;
	char *set, *seen, msg[1024];

	uv_loop_init(&loop);
	itest_proxy_start(&fp, getenv("APISERVER_URL"), getenv("CLUSTER_CA"));
	direct = itest_client(&loop);
	c = itest_proxy_client(&loop, fp.port);
	ASSERT_OK(mapper_new(c, &mp));
	ns = itest_namespace(&loop, direct, "itest-apply-new");
	ref.ns = ns;
	free(requests_seen());

	/* Two new objects: a dry-run and an apply each, no GET. */
	set = with_ns("[" CM("a", "1") "," CM("b", "1") "]");
	run(&a, set, empty, false, false);
	free(set);
	ASSERT_OK(a.r);
	ASSERT_EQ(a.created, 2u);
	seen = requests_seen();
	ASSERT_STREQ(seen, "PATCH a=1,PATCH a?dry=1,PATCH b=1,PATCH b?dry=1");
	free(seen);
	inv = cJSON_Duplicate(a.inventory, 1);

	/* Listed ones the usual way; one made by someone else, presumed new, found. */
	obj = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":"
			  "{\"name\":\"there\"},\"data\":{\"v\":\"by-hand\"}}");
	ITEST_CALL(&loop, res, kube_create(direct, &ref, obj, NULL, itest__cb, &res));
	cJSON_Delete(obj);
	ASSERT_OK(res.r);
	itest_result_clear(&res);
	set = with_ns("[" CM("a", "1") "," CM("b", "2") "," CM("there", "1") "]");
	run(&a, set, inv, false, false);
	free(set);
	ASSERT_OK(a.r);
	ASSERT_EQ(a.created, 0u);
	ASSERT_EQ(a.unchanged, 1u);
	ASSERT_EQ(a.configured, 2u);
	ASSERT_CONTAINS(a.changes, "ConfigMap/");
	ASSERT_CONTAINS(a.changes, "/there configured");
	seen = requests_seen();
	ASSERT_STREQ(seen, "GET a=1,GET b=1,GET there=1,PATCH a?dry=1,PATCH b=1,PATCH b?dry=1,"
			   "PATCH there=1,PATCH there?dry=2");
	free(seen);

	/* ssa: IfNotPresent on one that is there: left alone, as before. */
	set = with_ns("[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
		      "\"there\",\"namespace\":\"%1$s\",\"annotations\":{\"kustomize.toolkit."
		      "fluxcd.io/ssa\":\"IfNotPresent\"}},\"data\":{\"v\":\"3\"}}]");
	run(&a, set, empty, false, false);
	free(set);
	ASSERT_OK(a.r);
	ASSERT_EQ(a.skipped, 1u);
	free(requests_seen());

	/* Invalid: the same failure as without the presumption. */
	set = with_ns("[" CM("c", "1") ",{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
		      "\"metadata\":{\"name\":\"Bad_Name\",\"namespace\":\"%1$s\"}}]");
	run(&a, set, NULL, false, false);
	ASSERT(a.r < 0);
	snprintf(msg, sizeof(msg), "%s", a.msg);
	run(&a, set, empty, false, false);
	free(set);
	ASSERT(a.r < 0);
	ASSERT_STREQ(a.msg, msg);
	ASSERT_CONTAINS(a.msg, "Bad_Name");
	seen = get_str("configmaps", NULL, "c", "/metadata/name");
	ASSERT_STREQ(seen, "<No such file or directory>"); /* all or nothing still */
	free(seen);
	free(requests_seen());

	/* No previous inventory: nothing presumed, a GET for each. */
	set = with_ns("[" CM("d", "1") "]");
	run(&a, set, NULL, false, false);
	free(set);
	ASSERT_OK(a.r);
	seen = requests_seen();
	ASSERT_STREQ(seen, "GET d=1,PATCH d=1,PATCH d?dry=1");
	free(seen);

	cJSON_Delete(inv);
	cJSON_Delete(empty);
	ares_clear(&a);
	itest_delete_namespace(&loop, direct, ns);
	mapper_free(mp);
	kube_client_unref(c);
	itest_finish(&loop, direct);
	itest_proxy_stop(&fp);
}
