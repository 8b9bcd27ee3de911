/*
 * itest_faults.c: lib/kube against the real apiserver behind the
 * fault-injecting proxy (test/faults): every injected fault ends in a
 * retry or a clear error — never a hang, a crash or a leak (run under
 * SANITIZE=address,undefined too) — and the loop closes cleanly.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "apply/apply.h"
#include "base/buf.h"
#include "itest.h"
#include "kube/informer.h"
#include "kube/mapper.h"

struct proxy {
	struct itest_proxy fp;
	int port;
};

static void proxy_start(struct proxy *p)
{
	itest_proxy_start(&p->fp, getenv("APISERVER_URL"), getenv("CLUSTER_CA"));
	p->port = p->fp.port;
}

static void proxy_stop(struct proxy *p)
{
	itest_proxy_stop(&p->fp);
}

static void rules(struct proxy *p, const char *json)
{
	itest_proxy_rules(&p->fp, json);
}

static struct kube_client *proxied_client(uv_loop_t *loop, struct proxy *p)
{
	return itest_proxy_client(loop, p->port);
}

TEST(status_faults_map_to_errors)
{
	struct kube_ref ref = { .version = "v1", .resource = "namespaces", .name = "default" };
	struct itest_result res = { 0 };
	struct proxy p = { 0 };
	struct kube_client *c;
	uv_loop_t loop;

	proxy_start(&p);
	uv_loop_init(&loop);
	c = proxied_client(&loop, &p);
	ITEST_CALL(&loop, res, kube_get(c, &ref, NULL, itest__cb, &res));
	ASSERT_OK(res.r);

	rules(&p, "[{\"path\":\"/api/v1/namespaces/default$\",\"count\":1,\"action\":\"status\","
		  "\"status\":429,\"reason\":\"TooManyRequests\",\"message\":\"slow down\","
		  "\"retry_after\":2}]");
	ITEST_CALL(&loop, res, kube_get(c, &ref, NULL, itest__cb, &res));
	ASSERT_EQ(res.r, -EAGAIN);
	ASSERT_EQ(res.err.retry_after, 2);
	ASSERT_STREQ(res.err.msg, "slow down");
	ITEST_CALL(&loop, res, kube_get(c, &ref, NULL, itest__cb, &res));
	ASSERT_OK(res.r); /* count exhausted: passes through */

	rules(&p, "[{\"count\":1,\"action\":\"status\",\"status\":500,\"reason\":\"InternalError\","
		  "\"message\":\"etcd is sad\"}]");
	ITEST_CALL(&loop, res, kube_get(c, &ref, NULL, itest__cb, &res));
	ASSERT_EQ(res.r, -EIO);
	ASSERT_STREQ(res.err.reason, "InternalError");
	rules(&p, "[{\"count\":1,\"action\":\"status\",\"status\":409,\"reason\":\"Conflict\","
		  "\"message\":\"the object has been modified\"}]");
	ITEST_CALL(&loop, res, kube_get(c, &ref, NULL, itest__cb, &res));
	ASSERT_EQ(res.r, -ESTALE);
	rules(&p, "[{\"count\":1,\"action\":\"status\",\"status\":410,\"reason\":\"Expired\","
		  "\"message\":\"too old\"}]");
	ITEST_CALL(&loop, res, kube_get(c, &ref, NULL, itest__cb, &res));
	ASSERT_EQ(res.r, -ESTALE);
	rules(&p, "[{\"count\":1,\"action\":\"status\",\"status\":503,\"reason\":\"ServiceUnavailable\"}]");
	ITEST_CALL(&loop, res, kube_get(c, &ref, NULL, itest__cb, &res));
	ASSERT_EQ(res.r, -EAGAIN);

	itest_result_clear(&res);
	itest_finish(&loop, c);
	proxy_stop(&p);
}

TEST(transport_faults_end_in_clear_errors)
{
	struct kube_ref ref = { .version = "v1", .resource = "namespaces" };
	struct itest_result res = { 0 };
	struct kube_opts o = KUBE_OPTS_INIT;
	struct proxy p = { 0 };
	struct kube_client *c;
	uv_loop_t loop;

	proxy_start(&p);
	uv_loop_init(&loop);
	c = proxied_client(&loop, &p);

	/* A stream cut off mid-body. */
	rules(&p, "[{\"count\":1,\"action\":\"reset_after\",\"bytes\":20}]");
	ITEST_CALL(&loop, res, kube_list(c, &ref, NULL, itest__cb, &res));
	ASSERT(res.r == -ECONNRESET || res.r == -EINVAL);
	/* A body larger than the cap. */
	rules(&p, "[{\"count\":1,\"action\":\"enlarge\",\"size\":300000}]");
	o.max_body = 100000;
	ITEST_CALL(&loop, res, kube_list(c, &ref, &o, itest__cb, &res));
	ASSERT_EQ(res.r, -EFBIG);
	ASSERT_CONTAINS(res.err.msg, "size limit");
	/* Enlarged but within the cap: still valid JSON, still a list. */
	rules(&p, "[{\"count\":1,\"action\":\"enlarge\",\"size\":50000}]");
	ITEST_CALL(&loop, res, kube_list(c, &ref, &o, itest__cb, &res));
	ASSERT_OK(res.r);
	ASSERT(cJSON_IsArray(cJSON_GetObjectItem(res.obj, "items")));
	/* Slow headers beyond the deadline, and a request never answered. */
	rules(&p, "[{\"count\":1,\"action\":\"delay\",\"delay_ms\":3000}]");
	o.timeout_ms = 500;
	ITEST_CALL(&loop, res, kube_list(c, &ref, &o, itest__cb, &res));
	ASSERT_EQ(res.r, -ETIMEDOUT);
	rules(&p, "[{\"count\":1,\"action\":\"drop\"}]");
	ITEST_CALL(&loop, res, kube_list(c, &ref, &o, itest__cb, &res));
	ASSERT_EQ(res.r, -ETIMEDOUT);
	/* A body that stalls, then continues, within the deadline. */
	rules(&p, "[{\"count\":1,\"action\":\"stall\",\"bytes\":100,\"delay_ms\":200}]");
	o.timeout_ms = 5000;
	ITEST_CALL(&loop, res, kube_list(c, &ref, &o, itest__cb, &res));
	ASSERT_OK(res.r);

	itest_result_clear(&res);
	itest_finish(&loop, c);
	proxy_stop(&p);
}

struct counts {
	unsigned adds, updates, deletes;
};

static void count_event(struct informer *inf, enum informer_event ev, struct kobj *obj,
			struct kobj *old, void *payload)
{
	struct counts *n = payload;

	if (ev == INFORMER_ADD)
		n->adds++;
	else if (ev == INFORMER_UPDATE)
		n->updates++;
	else
		n->deletes++;
}

static void create_cm(uv_loop_t *loop, struct kube_client *c, const char *ns, const char *name)
{
	struct kube_ref ref = { .version = "v1", .resource = "configmaps", .ns = ns };
	struct itest_result res = { 0 };
	char *body = xasprintf("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{"
			       "\"name\":\"%s\",\"labels\":{\"itest\":\"faults\"}}}", name);
	cJSON *o = cJSON_Parse(body);

	ITEST_CALL(loop, res, kube_create(c, &ref, o, NULL, itest__cb, &res));
	ASSERT_OK(res.r);
	itest_result_clear(&res);
	cJSON_Delete(o);
	free(body);
}

static void wait_adds(uv_loop_t *loop, struct counts *n, unsigned want)
{
	uint64_t start = uv_now(loop);

	while (n->adds < want) {
		uv_run(loop, UV_RUN_ONCE);
		uv_update_time(loop);
		if (uv_now(loop) - start > 30000)
			harness__fail(__FILE__, __LINE__, "only %u of %u adds", n->adds, want);
	}
}

TEST(informer_recovers_from_watch_faults)
{
	struct informer_opts io = INFORMER_OPTS_INIT;
	struct informer_stats st;
	struct counts n = { 0 };
	struct proxy p = { 0 };
	struct kube_client *c, *direct;
	struct informer *inf;
	bool closed = false;
	uv_loop_t loop;
	char *ns;

	proxy_start(&p);
	uv_loop_init(&loop);
	direct = itest_client(&loop);
	ns = itest_namespace(&loop, direct, "itest-faults");
	c = proxied_client(&loop, &p);
	io.ref.version = "v1";
	io.ref.resource = "configmaps";
	io.ref.ns = ns;
	io.label_selector = "itest=faults";
	io.min_watch_timeout_s = 1;
	/* The first watch gets a 410 ERROR event after one event. */
	rules(&p, "[{\"query\":\"watch=true\",\"count\":1,\"action\":\"watch_error_after\",\"events\":1}]");
	ASSERT_OK(informer_new(c, &io, count_event, &n, &inf));
	ASSERT_OK(informer_start(inf));
	while (!informer_synced(inf))
		uv_run(&loop, UV_RUN_ONCE);
	create_cm(&loop, direct, ns, "a");
	wait_adds(&loop, &n, 1);
	create_cm(&loop, direct, ns, "b");
	wait_adds(&loop, &n, 2);
	informer_get_stats(inf, &st);
	ASSERT(st.relists_410 >= 1);

	/* The next watch is cut off mid-stream: back off, resume, see everything. */
	rules(&p, "[{\"query\":\"watch=true\",\"count\":1,\"action\":\"reset_after\",\"bytes\":1}]");
	{
		/* Watches last 1-2 s here: wait until the reset has happened. */
		uint64_t start = uv_now(&loop);
		char *log = NULL;

		while (!log || !strstr(log, "reset_after")) {
			char *cmd = xasprintf("curl -fsS http://127.0.0.1:%d/__faults/log", p.port);

			free(log);
			log = itest_run_out(cmd);
			free(cmd);
			ASSERT(uv_now(&loop) - start < 20000);
			{
				uint64_t until = uv_now(&loop) + 200;

				while (uv_now(&loop) < until) {
					uv_run(&loop, UV_RUN_NOWAIT);
					uv_sleep(10);
					uv_update_time(&loop);
				}
			}
		}
		free(log);
	}
	create_cm(&loop, direct, ns, "c");
	wait_adds(&loop, &n, 3);
	create_cm(&loop, direct, ns, "d");
	wait_adds(&loop, &n, 4);
	ASSERT_EQ(n.adds, 4);
	ASSERT_EQ(n.updates, 0);
	ASSERT_EQ(n.deletes, 0);
	ASSERT_EQ(informer_size(inf), 4);
	informer_get_stats(inf, &st);
	ASSERT(st.errors >= 1); /* the reset was seen and retried */

	informer_close(inf, itest__closed, &closed);
	itest_wait(&loop, &closed, 10000);
	kube_client_unref(c);
	itest_delete_namespace(&loop, direct, ns);
	itest_finish(&loop, direct);
	proxy_stop(&p);
}

struct applied {
	bool done;
	int r;
	unsigned created;
	char msg[512];
};

static void apply_done(struct apply_result *res, void *payload)
{
	struct applied *a = payload;

	a->done = true;
	a->r = res->r;
	a->created = res->created;
	snprintf(a->msg, sizeof(a->msg), "%s", res->err.msg);
}

static void apply_one(uv_loop_t *loop, struct kube_client *c, struct kube_mapper *mp,
		      const char *json, struct applied *a)
{
	struct apply_opts o = { .field_manager = "kustomize-controller", .owner_name = "app",
				.owner_ns = "flux-system", .stage_wait_ms = 60000 };
	cJSON *set = cJSON_Parse(json);

	ASSERT_NOT_NULL(set);
	memset(a, 0, sizeof(*a));
	ASSERT_OK(apply_set(c, mp, set, &o, apply_done, a, NULL));
	cJSON_Delete(set);
	itest_wait(loop, &a->done, 60000);
}

/*
 * Discovery answering 404 for a built-in group-version for a moment (the
 * apiserver does, while it takes in CRDs another apply created): the
 * apply asks again and succeeds.  A kind no one serves still fails, with
 * kubectl's message, in seconds.
 */
TEST(apply_survives_a_discovery_miss)
{
	struct proxy p = { 0 };
	struct kube_client *c, *direct;
	struct kube_mapper *mp;
	struct applied a;
	uv_loop_t loop;
	uint64_t t0;
	char *ns, *json;

	proxy_start(&p);
	uv_loop_init(&loop);
	c = proxied_client(&loop, &p);
	direct = itest_client(&loop);
	ns = itest_namespace(&loop, direct, "nomatch");
	ASSERT_OK(mapper_new(c, &mp));

	rules(&p, "[{\"path\":\"^/apis/rbac.authorization.k8s.io/v1$\",\"count\":2,"
		  "\"action\":\"status\",\"status\":404,\"reason\":\"NotFound\","
		  "\"message\":\"the server could not find the requested resource\"}]");
	json = xasprintf("[{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"Role\","
			 "\"metadata\":{\"name\":\"r\",\"namespace\":\"%s\"},\"rules\":[]}]", ns);
	apply_one(&loop, c, mp, json, &a);
	free(json);
	ASSERT_OK(a.r);
	ASSERT_EQ(a.created, 1);

	json = xasprintf("[{\"apiVersion\":\"nope.cflux.io/v1\",\"kind\":\"Nope\","
			 "\"metadata\":{\"name\":\"n\",\"namespace\":\"%s\"}}]", ns);
	t0 = uv_now(&loop);
	apply_one(&loop, c, mp, json, &a);
	free(json);
	ASSERT_EQ(a.r, -ENOENT);
	ASSERT_CONTAINS(a.msg, "no matches for kind \"Nope\" in version \"nope.cflux.io/v1\"");
	ASSERT(uv_now(&loop) - t0 < 10000);

	mapper_free(mp);
	kube_client_unref(c);
	itest_delete_namespace(&loop, direct, ns);
	itest_finish(&loop, direct);
	proxy_stop(&p);
}
