/*
 * itest_wait.c: lib/apply/wait.c against the real apiserver and
 * kube-controller-manager — health from watch events.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apply/wait.h"
#include "itest.h"
#include "kube/mapper.h"
#include "yj/yj.h"

struct wres {
	bool done;
	struct wait_result res;
	uint64_t at;
	uv_loop_t *loop;
};

static void waited(const struct wait_result *res, void *payload)
{
	struct wres *w = payload;

	w->done = true;
	w->res = *res;
	w->at = uv_now(w->loop);
}

struct mdone {
	bool done;
	int r;
};

static void resolved(int r, const struct kube_mapping *m, const struct op_err *err, void *p)
{
	struct mdone *d = p;

	d->done = true;
	d->r = r;
}

static void resolve(uv_loop_t *loop, struct kube_mapper *mp, const char *av, const char *kind)
{
	struct mdone d = { 0 };

	ASSERT_OK(mapper_resolve(mp, av, kind, resolved, &d));
	itest_wait(loop, &d.done, 30000);
	ASSERT_OK(d.r);
}

static void create(uv_loop_t *loop, struct kube_client *c, const struct kube_ref *ref,
		   const char *json)
{
	struct itest_result res = { 0 };
	cJSON *o = cJSON_Parse(json);

	ASSERT_NOT_NULL(o);
	ITEST_CALL(loop, res, kube_create(c, ref, o, NULL, itest__cb, &res));
	if (res.r < 0)
		harness__fail(__FILE__, __LINE__, "create: %s", res.err.msg);
	itest_result_clear(&res);
	cJSON_Delete(o);
}

static cJSON *refs(const char *ns, const char *json_fmt)
{
	char *s = xasprintf(json_fmt, ns, ns, ns);
	cJSON *a = cJSON_Parse(s);

	free(s);
	ASSERT_NOT_NULL(a);
	return a;
}

struct later {
	uv_timer_t t;
	struct kube_client *c;
	struct kube_ref ref;
	const char *json;
	const char *patch; /* merge patch instead of a create */
	struct itest_result res;
};

static void later_fire(uv_timer_t *t)
{
	struct later *l = t->data;
	cJSON *o = l->json ? cJSON_Parse(l->json) : NULL;

	if (l->patch)
		kube_patch(l->c, &l->ref, KUBE_PATCH_MERGE, l->patch, NULL, itest__cb, &l->res);
	else
		kube_create(l->c, &l->ref, o, NULL, itest__cb, &l->res);
	cJSON_Delete(o);
}

TEST(waits_from_watch_events)
{
	struct kube_ref cms = { .version = "v1", .resource = "configmaps" };
	struct kube_ref deps = { .group = "apps", .version = "v1", .resource = "deployments" };
	struct kube_mapper *mp;
	struct kube_client *c;
	struct wres w = { 0 };
	struct later l = { 0 };
	uv_loop_t loop;
	cJSON *set;
	char *ns, *json;
	uint64_t t0;

	uv_loop_init(&loop);
	w.loop = &loop;
	c = itest_client(&loop);
	ASSERT_OK(mapper_new(c, &mp));
	resolve(&loop, mp, "v1", "ConfigMap");
	resolve(&loop, mp, "apps/v1", "Deployment");
	ns = itest_namespace(&loop, c, "itest-wait");
	cms.ns = ns;
	deps.ns = ns;

	/* A ConfigMap is Current at once; a Deployment at 0 replicas once kcm has seen it. */
	create(&loop, c, &cms, "{\"metadata\":{\"name\":\"a\",\"labels\":{\"owner\":\"x\"}}}");
	create(&loop, c, &deps,
	       "{\"metadata\":{\"name\":\"web\",\"labels\":{\"owner\":\"x\"}},\"spec\":{\"replicas\":0,"
	       "\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":{\"metadata\":"
	       "{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"c\","
	       "\"image\":\"busybox\"}]}}}}");
	set = refs(ns, "[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a\","
		       "\"namespace\":\"%s\"}},{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\","
		       "\"metadata\":{\"name\":\"web\",\"namespace\":\"%s\"}}]");
	ASSERT_OK(wait_ready(c, mp, set, NULL, 30000, waited, &w, NULL));
	itest_wait(&loop, &w.done, 40000);
	ASSERT_EQ(w.res.r, 0);
	ASSERT_EQ(w.res.current, 2u);

	/* The same, narrowed by the owner label selector. */
	memset(&w, 0, sizeof(w));
	w.loop = &loop;
	ASSERT_OK(wait_ready(c, mp, set, "owner=x", 30000, waited, &w, NULL));
	itest_wait(&loop, &w.done, 40000);
	ASSERT_EQ(w.res.r, 0);
	cJSON_Delete(set);

	/* An object that appears while we wait: the watch sees it. */
	set = refs(ns, "[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
		       "\"late\",\"namespace\":\"%s\"}}]");
	memset(&w, 0, sizeof(w));
	w.loop = &loop;
	uv_update_time(&loop);
	t0 = uv_now(&loop);
	ASSERT_OK(wait_ready(c, mp, set, NULL, 30000, waited, &w, NULL));
	l.c = c;
	l.ref = cms;
	l.json = "{\"metadata\":{\"name\":\"late\"}}";
	uv_timer_init(&loop, &l.t);
	l.t.data = &l;
	uv_timer_start(&l.t, later_fire, 500, 0);
	itest_wait(&loop, &w.done, 40000);
	ASSERT_EQ(w.res.r, 0);
	ASSERT(w.at - t0 < 10000);
	cJSON_Delete(set);
	itest_wait(&loop, &l.res.done, 30000); /* the watch may see it before the reply comes */
	itest_result_clear(&l.res);

	/* Never there: a timeout that names it. */
	set = refs(ns, "[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
		       "\"never\",\"namespace\":\"%s\"}}]");
	memset(&w, 0, sizeof(w));
	w.loop = &loop;
	ASSERT_OK(wait_ready(c, mp, set, NULL, 1000, waited, &w, NULL));
	itest_wait(&loop, &w.done, 20000);
	ASSERT_EQ(w.res.r, -ETIMEDOUT);
	json = xasprintf("timeout waiting for: [ConfigMap/%s/never status: 'NotFound']", ns);
	ASSERT_STREQ(w.res.msg, json);
	free(json);
	cJSON_Delete(set);

	/* Nothing to wait for. */
	set = cJSON_CreateArray();
	memset(&w, 0, sizeof(w));
	w.loop = &loop;
	ASSERT_OK(wait_ready(c, mp, set, NULL, 1000, waited, &w, NULL));
	itest_wait(&loop, &w.done, 5000);
	ASSERT_EQ(w.res.r, 0);
	cJSON_Delete(set);

	/* A kind the cluster does not know ends the wait with -ENOENT, named. */
	set = refs(ns, "[{\"apiVersion\":\"nope.cflux.io/v1\",\"kind\":\"Nope\",\"metadata\":"
		       "{\"name\":\"x\",\"namespace\":\"%s\"}}]");
	memset(&w, 0, sizeof(w));
	w.loop = &loop;
	ASSERT_OK(wait_ready(c, mp, set, NULL, 10000, waited, &w, NULL));
	itest_wait(&loop, &w.done, 20000);
	ASSERT_EQ(w.res.r, -ENOENT);
	ASSERT_CONTAINS(w.res.msg, "no matches for kind \"Nope\"");
	cJSON_Delete(set);
	/* A cold mapper (its cache dropped) still finds known kinds. */
	mapper_invalidate(mp);
	set = refs(ns, "[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
		       "\"a\",\"namespace\":\"%s\"}}]");
	memset(&w, 0, sizeof(w));
	w.loop = &loop;
	ASSERT_OK(wait_ready(c, mp, set, NULL, 10000, waited, &w, NULL));
	itest_wait(&loop, &w.done, 20000);
	ASSERT_EQ(w.res.r, 0);
	cJSON_Delete(set);
	/*
	 * Another run invalidating the mapper while this wait still resolves
	 * (ConfigMap cached, ClusterRole asked) takes nothing from it: it
	 * used to find ConfigMap gone and fail with "no matches".
	 */
	resolve(&loop, mp, "v1", "ConfigMap");
	set = refs(ns, "[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
		       "\"a\",\"namespace\":\"%s\"}},{\"apiVersion\":"
		       "\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRole\",\"metadata\":"
		       "{\"name\":\"admin\"}}]");
	memset(&w, 0, sizeof(w));
	w.loop = &loop;
	ASSERT_OK(wait_ready(c, mp, set, NULL, 10000, waited, &w, NULL));
	mapper_invalidate(mp);
	itest_wait(&loop, &w.done, 20000);
	ASSERT_EQ(w.res.r, 0);
	cJSON_Delete(set);
	ASSERT_EQ(wait_ready(c, mp, set = cJSON_Parse("[{\"kind\":\"X\"}]"), NULL, 10, waited, &w,
			     NULL), -EINVAL);
	cJSON_Delete(set);

	uv_close((uv_handle_t *)&l.t, NULL);
	itest_delete_namespace(&loop, c, ns);
	mapper_free(mp);
	itest_finish(&loop, c);
}

/*
 * A Deployment that exists before the wait starts is first seen in a LIST,
 * whose items carry no kind: it must still be judged as a Deployment (it
 * once passed as Current at once, replicas or not).  With the local node
 * its crashing container is named at the timeout.
 */
TEST(a_listed_deployment_that_never_becomes_available_times_out)
{
	struct kube_ref deps = { .group = "apps", .version = "v1", .resource = "deployments" };
	struct kube_mapper *mp;
	struct kube_client *c;
	struct wres w = { 0 };
	uv_loop_t loop;
	cJSON *set;
	char *ns, *want;

	uv_loop_init(&loop);
	w.loop = &loop;
	c = itest_client(&loop);
	ASSERT_OK(mapper_new(c, &mp));
	resolve(&loop, mp, "apps/v1", "Deployment");
	ns = itest_namespace(&loop, c, "itest-wait-crash");
	deps.ns = ns;
	create(&loop, c, &deps,
	       "{\"metadata\":{\"name\":\"crasher\"},\"spec\":{\"replicas\":1,"
	       "\"selector\":{\"matchLabels\":{\"app\":\"crasher\"}},\"template\":{\"metadata\":"
	       "{\"labels\":{\"app\":\"crasher\"}},\"spec\":{\"containers\":[{\"name\":\"c\","
	       "\"image\":\"cflux.local/testapp:1\",\"command\":[\"sh\",\"-c\",\"exit 3\"],"
	       /* Without a probe a container is Ready while it runs: a slow exit could pass. */
	       "\"readinessProbe\":{\"httpGet\":{\"path\":\"/\",\"port\":8080}}}]}}}}");
	set = refs(ns, "[{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":"
		       "{\"name\":\"crasher\",\"namespace\":\"%s\"}}]");
	ASSERT_OK(wait_ready(c, mp, set, NULL, 12000, waited, &w, NULL));
	itest_wait(&loop, &w.done, 40000);
	ASSERT_EQ(w.res.r, -ETIMEDOUT);
	want = xasprintf("timeout waiting for: [Deployment/%s/crasher status: 'InProgress'", ns);
	ASSERT_CONTAINS(w.res.msg, want);
	free(want);
	if (getenv("NODE_NAME"))
		ASSERT_CONTAINS(w.res.msg, "exit code 3 (Error)");
	cJSON_Delete(set);
	itest_delete_namespace(&loop, c, ns);
	mapper_free(mp);
	itest_finish(&loop, c);
}

TEST(a_stalled_object_fails_fast)
{
	static const char crd[] =
		"{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
		"\"metadata\":{\"name\":\"gadgets.itest-wait.cflux.io\"},\"spec\":{\"group\":"
		"\"itest-wait.cflux.io\",\"names\":{\"kind\":\"Gadget\",\"plural\":\"gadgets\","
		"\"singular\":\"gadget\",\"listKind\":\"GadgetList\"},\"scope\":\"Namespaced\","
		"\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true,\"schema\":"
		"{\"openAPIV3Schema\":{\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":"
		"true}}}]}}";
	struct kube_ref cref = { .group = "apiextensions.k8s.io", .version = "v1",
				 .resource = "customresourcedefinitions" };
	struct kube_ref gref = { .group = "itest-wait.cflux.io", .version = "v1",
				 .resource = "gadgets" };
	struct itest_result res = { 0 };
	struct kube_mapper *mp;
	struct kube_client *c;
	struct wres w = { 0 };
	struct later l = { 0 };
	struct mdone d;
	uv_loop_t loop;
	cJSON *set, *o;
	char *ns, *want;
	int tries;

	uv_loop_init(&loop);
	w.loop = &loop;
	c = itest_client(&loop);
	ASSERT_OK(mapper_new(c, &mp));
	o = cJSON_Parse(crd);
	ITEST_CALL(&loop, res, kube_apply(c, &(struct kube_ref){ .group = cref.group,
		.version = "v1", .resource = cref.resource, .name = "gadgets.itest-wait.cflux.io" },
		o, &(struct kube_opts){ .field_manager = "itest", .force = true }, itest__cb, &res));
	ASSERT_OK(res.r);
	itest_result_clear(&res);
	cJSON_Delete(o);
	for (tries = 0; tries < 60; tries++) {
		memset(&d, 0, sizeof(d));
		mapper_invalidate(mp);
		ASSERT_OK(mapper_resolve(mp, "itest-wait.cflux.io/v1", "Gadget", resolved, &d));
		itest_wait(&loop, &d.done, 30000);
		if (d.r == 0)
			break;
		usleep(250000);
	}
	ASSERT_OK(d.r);
	ns = itest_namespace(&loop, c, "itest-wait-fail");
	gref.ns = ns;
	/* CR creation can lag the CRD being served for a moment. */
	for (tries = 0; tries < 40; tries++) {
		o = cJSON_Parse("{\"apiVersion\":\"itest-wait.cflux.io/v1\",\"kind\":\"Gadget\","
				"\"metadata\":{\"name\":\"g\"},\"status\":{\"conditions\":[{\"type\":"
				"\"Ready\",\"status\":\"False\",\"reason\":\"Progressing\"}]}}");
		ITEST_CALL(&loop, res, kube_create(c, &gref, o, NULL, itest__cb, &res));
		cJSON_Delete(o);
		if (res.r == 0)
			break;
		usleep(250000);
	}
	ASSERT_OK(res.r);
	itest_result_clear(&res);
	set = refs(ns, "[{\"apiVersion\":\"itest-wait.cflux.io/v1\",\"kind\":\"Gadget\","
		       "\"metadata\":{\"name\":\"g\",\"namespace\":\"%s\"}}]");
	ASSERT_OK(wait_ready(c, mp, set, NULL, 30000, waited, &w, NULL));
	l.c = c;
	l.ref = gref;
	l.ref.name = "g";
	l.patch = "{\"status\":{\"conditions\":[{\"type\":\"Stalled\",\"status\":\"True\","
		  "\"reason\":\"Broken\",\"message\":\"it broke\"}]}}";
	uv_timer_init(&loop, &l.t);
	l.t.data = &l;
	uv_timer_start(&l.t, later_fire, 300, 0);
	itest_wait(&loop, &w.done, 40000);
	ASSERT_EQ(w.res.r, -EIO);
	want = xasprintf("failed early due to stalled resources: [Gadget/%s/g status: 'Failed': "
			 "it broke]", ns);
	ASSERT_STREQ(w.res.msg, want);
	free(want);
	ASSERT_EQ(w.res.failed, 1u);
	cJSON_Delete(set);
	itest_wait(&loop, &l.res.done, 30000); /* the watch may see it before the reply comes */
	itest_result_clear(&l.res);
	uv_close((uv_handle_t *)&l.t, NULL);
	itest_delete_namespace(&loop, c, ns);
	mapper_free(mp);
	itest_finish(&loop, c);
}

/*
 * wait_terminated(): an object held by a finalizer is Terminating until
 * the finalizer goes, and the wait ends on the watch event of its
 * deletion; what never existed, or whose kind is unknown, is gone.
 */
TEST(waits_for_termination)
{
	struct kube_ref cms = { .version = "v1", .resource = "configmaps" };
	struct kube_mapper *mp;
	struct kube_client *c;
	struct itest_result res = { 0 };
	struct wres w = { 0 };
	struct later l = { 0 };
	uv_loop_t loop;
	cJSON *set;
	char *ns, *want;

	uv_loop_init(&loop);
	w.loop = &loop;
	c = itest_client(&loop);
	ASSERT_OK(mapper_new(c, &mp));
	ns = itest_namespace(&loop, c, "itest-wait-gone");
	cms.ns = ns;
	create(&loop, c, &cms, "{\"metadata\":{\"name\":\"held\",\"finalizers\":"
			       "[\"itest.cflux.io/hold\"]}}");
	cms.name = "held";
	ITEST_CALL(&loop, res, kube_delete(c, &cms, NULL, itest__cb, &res));
	ASSERT_OK(res.r);
	itest_result_clear(&res);

	/* Held: the timeout names it as Terminating. */
	set = refs(ns, "[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
		       "\"held\",\"namespace\":\"%s\"}},{\"apiVersion\":\"v1\",\"kind\":"
		       "\"ConfigMap\",\"metadata\":{\"name\":\"never\",\"namespace\":\"%s\"}},"
		       "{\"apiVersion\":\"nope.cflux.io/v1\",\"kind\":\"Nope\",\"metadata\":"
		       "{\"name\":\"x\",\"namespace\":\"%s\"}}]");
	ASSERT_OK(wait_terminated(c, mp, set, 1500, waited, &w, NULL));
	itest_wait(&loop, &w.done, 20000);
	ASSERT_EQ(w.res.r, -ETIMEDOUT);
	want = xasprintf("timeout waiting for: [ConfigMap/%s/held status: 'Terminating']", ns);
	ASSERT_STREQ(w.res.msg, want);
	free(want);
	ASSERT_EQ(w.res.current, 1u); /* "never"; the unknown kind is not counted */

	/* The finalizer removed while waiting: done from the watch. */
	memset(&w, 0, sizeof(w));
	w.loop = &loop;
	ASSERT_OK(wait_terminated(c, mp, set, 30000, waited, &w, NULL));
	l.c = c;
	l.ref = cms;
	l.patch = "{\"metadata\":{\"finalizers\":null}}";
	uv_timer_init(&loop, &l.t);
	l.t.data = &l;
	uv_timer_start(&l.t, later_fire, 500, 0);
	itest_wait(&loop, &w.done, 40000);
	ASSERT_EQ(w.res.r, 0);
	ASSERT_EQ(w.res.current, 2u);
	itest_wait(&loop, &l.res.done, 30000);
	itest_result_clear(&l.res);
	cJSON_Delete(set);

	uv_close((uv_handle_t *)&l.t, NULL);
	itest_delete_namespace(&loop, c, ns);
	mapper_free(mp);
	itest_finish(&loop, c);
}
