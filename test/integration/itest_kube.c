/*
 * itest_kube.c: lib/kube client and informer against the real apiserver.
 *
 * CRUD with each error mapped, pagination over 5 000 objects, server-side
 * apply conflicts with the conflicting manager named, dry-run, and an
 * informer that must see every create/update/delete exactly once, in
 * order, with a cache equal to a fresh LIST.
 */
#include <string.h>
#include <sys/wait.h>

#include "base/buf.h"
#include "base/hmap.h"
#include "base/str.h"
#include "itest.h"
#include "yj/yj.h"
#include "kube/informer.h"
#include "kube/mapper.h"
#include "apply/health.h"

static cJSON *configmap(const char *ns, const char *name, const char *k, const char *v)
{
	cJSON *o = cJSON_CreateObject(), *meta, *data;

	cJSON_AddStringToObject(o, "apiVersion", "v1");
	cJSON_AddStringToObject(o, "kind", "ConfigMap");
	meta = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(meta, "name", name);
	if (ns)
		cJSON_AddStringToObject(meta, "namespace", ns);
	/* kube-controller-manager adds kube-root-ca.crt to every namespace: tests select theirs. */
	cJSON_AddStringToObject(cJSON_AddObjectToObject(meta, "labels"), "itest", "kube");
	data = cJSON_AddObjectToObject(o, "data");
	if (k)
		cJSON_AddStringToObject(data, k, v);
	return o;
}

static const char *data_of(const cJSON *obj, const char *k)
{
	const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(obj, "data"), k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

TEST(crud_and_error_mapping)
{
	uv_loop_t loop;
	struct kube_client *c;
	struct itest_result res = { 0 };
	struct kube_ref ref = { .version = "v1", .resource = "configmaps", .name = "cm1" };
	struct kube_opts o = KUBE_OPTS_INIT;
	char *ns, *stale_rv;
	cJSON *cm;

	uv_loop_init(&loop);
	c = itest_client(&loop);
	ns = itest_namespace(&loop, c, "itest-crud");
	ref.ns = ns;

	ITEST_CALL(&loop, res, kube_get(c, &ref, NULL, itest__cb, &res));
	ASSERT_EQ(res.r, -ENOENT);
	ASSERT_EQ(res.err.http_status, 404);
	ASSERT_STREQ(res.err.reason, "NotFound");
	ASSERT_CONTAINS(res.err.msg, "\"cm1\" not found");

	cm = configmap(ns, "cm1", "a", "1");
	ITEST_CALL(&loop, res, kube_create(c, &ref, cm, NULL, itest__cb, &res));
	ASSERT_OK(res.r);
	ASSERT_STREQ(data_of(res.obj, "a"), "1");
	ITEST_CALL(&loop, res, kube_create(c, &ref, cm, NULL, itest__cb, &res));
	ASSERT_EQ(res.r, -EEXIST);
	ASSERT_STREQ(res.err.reason, "AlreadyExists");

	ITEST_CALL(&loop, res, kube_get(c, &ref, NULL, itest__cb, &res));
	ASSERT_OK(res.r);
	stale_rv = xstrdup(cJSON_GetObjectItem(cJSON_GetObjectItem(res.obj, "metadata"),
					       "resourceVersion")->valuestring);

	ITEST_CALL(&loop, res, kube_patch(c, &ref, KUBE_PATCH_MERGE, "{\"data\":{\"b\":\"2\"}}",
					  NULL, itest__cb, &res));
	ASSERT_OK(res.r);
	ASSERT_STREQ(data_of(res.obj, "b"), "2");

	/* An update carrying the old resourceVersion is a conflict. */
	cJSON_AddStringToObject(cJSON_GetObjectItem(cm, "metadata"), "resourceVersion", stale_rv);
	ITEST_CALL(&loop, res, kube_update(c, &ref, cm, NULL, itest__cb, &res));
	ASSERT_EQ(res.r, -ESTALE);
	ASSERT_EQ(res.err.http_status, 409);

	/* Invalid: a ConfigMap name with upper case. */
	{
		struct kube_ref bad = ref;
		cJSON *b = configmap(ns, "Bad_Name", "x", "y");

		bad.name = NULL;
		ITEST_CALL(&loop, res, kube_create(c, &bad, b, NULL, itest__cb, &res));
		ASSERT_EQ(res.r, -EINVAL);
		ASSERT_STREQ(res.err.reason, "Invalid");
		cJSON_Delete(b);
	}

	/* Dry-run changes nothing. */
	o.dry_run = true;
	ITEST_CALL(&loop, res, kube_delete(c, &ref, &o, itest__cb, &res));
	ASSERT_OK(res.r);
	ITEST_CALL(&loop, res, kube_get(c, &ref, NULL, itest__cb, &res));
	ASSERT_OK(res.r);
	{
		struct kube_ref ghost = ref;
		cJSON *g = configmap(ns, "ghost", "x", "y");

		ghost.name = "ghost";
		ITEST_CALL(&loop, res, kube_create(c, &ghost, g, &o, itest__cb, &res));
		ASSERT_OK(res.r);
		ITEST_CALL(&loop, res, kube_get(c, &ghost, NULL, itest__cb, &res));
		ASSERT_EQ(res.r, -ENOENT);
		cJSON_Delete(g);
	}

	ITEST_CALL(&loop, res, kube_delete(c, &ref, NULL, itest__cb, &res));
	ASSERT_OK(res.r);
	ITEST_CALL(&loop, res, kube_get(c, &ref, NULL, itest__cb, &res));
	ASSERT_EQ(res.r, -ENOENT);

	/* Raw paths: /readyz answers "ok". */
	ITEST_CALL(&loop, res, kube_get_raw(c, "/readyz", NULL, itest__cb, &res));
	ASSERT_OK(res.r);
	ASSERT(cJSON_IsString(res.obj));
	ASSERT_STREQ(res.obj->valuestring, "ok");

	itest_result_clear(&res);
	cJSON_Delete(cm);
	free(stale_rv);
	itest_delete_namespace(&loop, c, ns);
	itest_finish(&loop, c);
}

TEST(server_side_apply_conflicts)
{
	uv_loop_t loop;
	struct kube_client *c;
	struct itest_result res = { 0 };
	struct kube_ref ref = { .version = "v1", .resource = "configmaps", .name = "ssa" };
	struct kube_opts o = KUBE_OPTS_INIT;
	cJSON *a, *b;
	char *ns;

	uv_loop_init(&loop);
	c = itest_client(&loop);
	ns = itest_namespace(&loop, c, "itest-ssa");
	ref.ns = ns;
	a = configmap(ns, "ssa", "key", "from-a");
	b = configmap(ns, "ssa", "key", "from-b");

	o.field_manager = "manager-a";
	ITEST_CALL(&loop, res, kube_apply(c, &ref, a, &o, itest__cb, &res));
	ASSERT_OK(res.r);
	ASSERT_STREQ(data_of(res.obj, "key"), "from-a");

	o.field_manager = "manager-b";
	ITEST_CALL(&loop, res, kube_apply(c, &ref, b, &o, itest__cb, &res));
	ASSERT_EQ(res.r, -EBUSY);
	ASSERT_EQ(res.err.http_status, 409);
	ASSERT_CONTAINS(res.err.msg, "manager-a");
	ASSERT_CONTAINS(res.err.msg, ".data.key");

	o.force = true;
	ITEST_CALL(&loop, res, kube_apply(c, &ref, b, &o, itest__cb, &res));
	ASSERT_OK(res.r);
	ASSERT_STREQ(data_of(res.obj, "key"), "from-b");

	/* No field manager: refused before any request. */
	ASSERT_EQ(kube_apply(c, &ref, b, NULL, itest__cb, &res), -EINVAL);

	itest_result_clear(&res);
	cJSON_Delete(a);
	cJSON_Delete(b);
	itest_delete_namespace(&loop, c, ns);
	itest_finish(&loop, c);
}

/* Many creates in flight at once over the shared connection. */
struct bulk {
	unsigned started, done, failed, total, inflight;
	struct kube_client *c;
	const char *ns;
};

static void bulk_next(struct bulk *b);

static void bulk_cb(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct bulk *b = payload;

	b->done++;
	b->inflight--;
	if (r < 0)
		b->failed++;
	bulk_next(b);
}

static void bulk_next(struct bulk *b)
{
	while (b->started < b->total && b->inflight < 64) {
		char name[32];
		struct kube_ref ref = { .version = "v1", .resource = "configmaps", .ns = b->ns };
		cJSON *cm;

		snprintf(name, sizeof(name), "page-%05u", b->started);
		cm = configmap(b->ns, name, "i", name);
		ASSERT_OK(kube_create(b->c, &ref, cm, NULL, bulk_cb, b));
		cJSON_Delete(cm);
		b->started++;
		b->inflight++;
	}
}

TEST(pagination_over_5000_objects)
{
	enum { N = 5000 };
	uv_loop_t loop;
	struct kube_client *c;
	struct itest_result res = { 0 };
	struct kube_ref ref = { .version = "v1", .resource = "configmaps" };
	struct kube_opts o = KUBE_OPTS_INIT;
	struct bulk b = { .total = N };
	bool all_done = false;
	unsigned seen = 0, pages = 0;
	char *cont = NULL, *ns;

	uv_loop_init(&loop);
	c = itest_client(&loop);
	ns = itest_namespace(&loop, c, "itest-page");
	ref.ns = ns;
	b.c = c;
	b.ns = ns;
	bulk_next(&b);
	while (!all_done) {
		uv_run(&loop, UV_RUN_ONCE);
		all_done = b.done == N;
	}
	ASSERT_EQ(b.failed, 0);

	do {
		const cJSON *item;

		o.limit = 500;
		o.label_selector = "itest=kube";
		o.continue_token = cont;
		ITEST_CALL(&loop, res, kube_list(c, &ref, &o, itest__cb, &res));
		ASSERT_OK(res.r);
		cJSON_ArrayForEach(item, cJSON_GetObjectItem(res.obj, "items"))
			seen++;
		pages++;
		free(cont);
		cont = NULL;
		{
			const cJSON *ct = cJSON_GetObjectItem(cJSON_GetObjectItem(res.obj, "metadata"),
							      "continue");

			if (cJSON_IsString(ct) && *ct->valuestring)
				cont = xstrdup(ct->valuestring);
		}
	} while (cont);
	ASSERT_EQ(seen, N);
	ASSERT_EQ(pages, N / 500);

	itest_result_clear(&res);
	itest_delete_namespace(&loop, c, ns);
	itest_finish(&loop, c);
}

/* ---- informer ---- */

struct seen {
	struct buf log;  /* "A name rv\n" lines in delivery order */
	unsigned adds, updates, deletes;
};

static void on_event(struct informer *inf, enum informer_event ev, struct kobj *obj,
		     struct kobj *old, void *payload)
{
	struct seen *s = payload;
	static const char tag[] = { 'A', 'U', 'D' };

	ASSERT_OK(buf_addf(&s->log, "%c %s %s\n", tag[ev], obj->name, data_of(obj->json, "v") ?
		  data_of(obj->json, "v") : "-"));
	if (ev == INFORMER_ADD)
		s->adds++;
	else if (ev == INFORMER_UPDATE)
		s->updates++;
	else
		s->deletes++;
	if (ev == INFORMER_UPDATE)
		ASSERT(old && strcmp(old->rv, obj->rv) != 0);
}

/* Run a request to completion from inside a test with an informer running. */
#define SYNC(loop, res, call) ITEST_CALL(loop, res, call)

TEST(informer_exactly_once_in_order)
{
	enum { N = 50 };
	uv_loop_t loop;
	struct kube_client *c;
	struct informer *inf;
	struct informer_opts io = INFORMER_OPTS_INIT;
	struct itest_result res = { 0 };
	struct seen s = { .log = BUF_INIT(1 << 20) };
	struct buf want = BUF_INIT(1 << 20);
	struct kube_ref ref = { .version = "v1", .resource = "configmaps" };
	bool closed = false;
	char *ns, name[32], val[32];
	size_t it = 0;
	unsigned i, listed = 0;
	struct kobj *o;

	uv_loop_init(&loop);
	c = itest_client(&loop);
	ns = itest_namespace(&loop, c, "itest-inf");
	ref.ns = ns;
	/* Two objects exist before the informer starts: its LIST delivers them. */
	for (i = 0; i < 2; i++) {
		cJSON *cm;

		snprintf(name, sizeof(name), "pre-%u", i);
		cm = configmap(ns, name, "v", "0");
		SYNC(&loop, res, kube_create(c, &ref, cm, NULL, itest__cb, &res));
		ASSERT_OK(res.r);
		cJSON_Delete(cm);
	}
	io.ref = ref;
	io.label_selector = "itest=kube";
	io.page_size = 1; /* exercise pagination in the informer's LIST */
	ASSERT_OK(informer_new(c, &io, on_event, &s, &inf));
	ASSERT_OK(informer_start(inf));
	while (!informer_synced(inf))
		uv_run(&loop, UV_RUN_ONCE);
	ASSERT_EQ(s.adds, 2);
	buf_reset(&s.log);
	s.adds = 0;

	for (i = 0; i < N; i++) {
		cJSON *cm;
		struct kube_ref one = ref;

		snprintf(name, sizeof(name), "cm-%u", i % 10);
		snprintf(val, sizeof(val), "%u", i);
		one.name = name;
		if (i < 10) {
			cm = configmap(ns, name, "v", val);
			SYNC(&loop, res, kube_create(c, &ref, cm, NULL, itest__cb, &res));
			cJSON_Delete(cm);
			buf_addf(&want, "A %s %s\n", name, val);
		} else if (i < 40) {
			char patch[64];

			snprintf(patch, sizeof(patch), "{\"data\":{\"v\":\"%s\"}}", val);
			SYNC(&loop, res, kube_patch(c, &one, KUBE_PATCH_MERGE, patch, NULL,
						    itest__cb, &res));
			buf_addf(&want, "U %s %s\n", name, val);
		} else if (i < 45) {
			SYNC(&loop, res, kube_delete(c, &one, NULL, itest__cb, &res));
			buf_addf(&want, "D %s %u\n", name, (i % 10) + 30);
		} else {
			/* A no-op patch changes nothing and must deliver nothing. */
			SYNC(&loop, res, kube_patch(c, &one, KUBE_PATCH_MERGE, "{}", NULL,
						    itest__cb, &res));
		}
		ASSERT_OK(res.r);
	}
	/* Wait until all 45 changes arrived. */
	{
		uint64_t start = uv_now(&loop);

		while (s.adds + s.updates + s.deletes < 45 && uv_now(&loop) - start < 20000) {
			uv_run(&loop, UV_RUN_ONCE);
			uv_update_time(&loop);
		}
	}
	ASSERT_EQ(s.adds, 10);
	ASSERT_EQ(s.updates, 30);
	ASSERT_EQ(s.deletes, 5);
	ASSERT_STREQ(s.log.buf, want.buf);

	/* The cache equals a fresh LIST. */
	{
		struct kube_opts lo = KUBE_OPTS_INIT;

		lo.label_selector = "itest=kube";
		SYNC(&loop, res, kube_list(c, &ref, &lo, itest__cb, &res));
	}
	ASSERT_OK(res.r);
	{
		const cJSON *item;

		cJSON_ArrayForEach(item, cJSON_GetObjectItem(res.obj, "items"))
		{
			const cJSON *meta = cJSON_GetObjectItem(item, "metadata");
			char *key = kobj_make_key(ns, cJSON_GetObjectItem(meta, "name")->valuestring);
			struct kobj *cached = informer_get(inf, key);

			ASSERT_NOT_NULL(cached);
			ASSERT_STREQ(cached->rv, cJSON_GetObjectItem(meta, "resourceVersion")->valuestring);
			listed++;
			free(key);
		}
	}
	ASSERT_EQ(listed, informer_size(inf));
	while ((o = informer_next(inf, &it)) != NULL)
		ASSERT(o->refs >= 1);

	informer_close(inf, itest__closed, &closed);
	itest_wait(&loop, &closed, 10000);
	itest_result_clear(&res);
	buf_release(&s.log);
	buf_release(&want);
	itest_delete_namespace(&loop, c, ns);
	itest_finish(&loop, c);
}

/* ---- mapper ---- */

struct mres {
	bool done;
	int r;
	struct kube_mapping m;
	struct op_err err;
};

static void mapper_done(int r, const struct kube_mapping *m, const struct op_err *err, void *p)
{
	struct mres *res = p;

	res->done = true;
	res->r = r;
	if (m)
		res->m = *m;
	if (err)
		res->err = *err;
}

static void resolve(uv_loop_t *loop, struct kube_mapper *mp, const char *av, const char *kind,
		    struct mres *res)
{
	memset(res, 0, sizeof(*res));
	ASSERT_OK(mapper_resolve(mp, av, kind, mapper_done, res));
	itest_wait(loop, &res->done, 30000);
}

TEST(mapper_finds_builtin_and_fresh_crd_kinds)
{
	static const char crd[] =
		"{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
		"\"metadata\":{\"name\":\"widgets.itest.cflux.io\"},\"spec\":{\"group\":\"itest.cflux.io\","
		"\"names\":{\"kind\":\"Widget\",\"plural\":\"widgets\",\"singular\":\"widget\","
		"\"listKind\":\"WidgetList\"},\"scope\":\"Namespaced\",\"versions\":[{\"name\":\"v1\","
		"\"served\":true,\"storage\":true,\"schema\":{\"openAPIV3Schema\":{\"type\":\"object\","
		"\"x-kubernetes-preserve-unknown-fields\":true}}}]}}";
	struct kube_ref cref = { .group = "apiextensions.k8s.io", .version = "v1",
				 .resource = "customresourcedefinitions",
				 .name = "widgets.itest.cflux.io" };
	struct itest_result res = { 0 };
	struct kube_mapper *mp;
	struct kube_client *c;
	struct mres m;
	uv_loop_t loop;
	cJSON *obj;
	int tries;

	uv_loop_init(&loop);
	c = itest_client(&loop);
	ASSERT_OK(mapper_new(c, &mp));
	resolve(&loop, mp, "v1", "ConfigMap", &m);
	ASSERT_OK(m.r);
	ASSERT_STREQ(m.m.resource, "configmaps");
	ASSERT(m.m.namespaced);
	resolve(&loop, mp, "v1", "Namespace", &m);
	ASSERT_STREQ(m.m.resource, "namespaces");
	ASSERT(!m.m.namespaced);
	resolve(&loop, mp, "apps/v1", "Deployment", &m);
	ASSERT_STREQ(m.m.resource, "deployments");
	ASSERT_STREQ(m.m.group, "apps");
	ASSERT_NOT_NULL(mapper_lookup(mp, "apps/v1", "Deployment"));

	resolve(&loop, mp, "itest.cflux.io/v1", "Widget", &m);
	ASSERT_EQ(m.r, -ENOENT);
	ASSERT_STREQ(m.err.msg, "no matches for kind \"Widget\" in version \"itest.cflux.io/v1\"");

	/* Apply the CRD; the mapper finds the kind without a restart. */
	obj = cJSON_Parse(crd);
	{
		struct kube_opts o = KUBE_OPTS_INIT;

		o.field_manager = "itest";
		o.force = true;
		ITEST_CALL(&loop, res, kube_apply(c, &cref, obj, &o, itest__cb, &res));
		ASSERT_OK(res.r);
	}
	for (tries = 0; tries < 50; tries++) {
		uint64_t until;

		resolve(&loop, mp, "itest.cflux.io/v1", "Widget", &m);
		if (m.r == 0)
			break;
		/* Discovery follows the CRD within a second or two. */
		until = uv_now(&loop) + 1100;
		while (uv_now(&loop) < until) {
			uv_run(&loop, UV_RUN_NOWAIT);
			uv_sleep(50);
			uv_update_time(&loop);
		}
	}
	ASSERT_OK(m.r);
	ASSERT_STREQ(m.m.resource, "widgets");
	ASSERT(m.m.namespaced);

	ITEST_CALL(&loop, res, kube_delete(c, &cref, NULL, itest__cb, &res));
	ASSERT_OK(res.r);
	itest_result_clear(&res);
	cJSON_Delete(obj);
	mapper_free(mp);
	itest_finish(&loop, c);
}

/* ---- credentials ---- */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ASSERT_NOT_NULL(f);
	fputs(text, f);
	fclose(f);
}

TEST(token_file_rotation_is_picked_up)
{
	const char *server = getenv("APISERVER_URL"), *ca = getenv("CLUSTER_CA");
	const char *token = getenv("ADMIN_TOKEN");
	struct itest_result res = { 0 };
	struct kube_ref ref = { .version = "v1", .resource = "namespaces", .name = "default" };
	struct kube_config *cfg = NULL;
	struct kube_client *c;
	struct op_err err;
	char *kc, *tf;
	uv_loop_t loop;

	ASSERT_NOT_NULL(server);
	ASSERT_NOT_NULL(ca);
	ASSERT_NOT_NULL(token);
	kc = xasprintf("%s/kubeconfig", harness_tmpdir());
	tf = xasprintf("%s/token", harness_tmpdir());
	write_file(tf, "not-a-valid-token\n");
	{
		char *text = xasprintf(
			"apiVersion: v1\nkind: Config\ncurrent-context: t\n"
			"clusters:\n- name: c\n  cluster:\n    server: %s\n"
			"    certificate-authority: %s\n"
			"users:\n- name: u\n  user:\n    tokenFile: token\n"
			"contexts:\n- name: t\n  context:\n    cluster: c\n    user: u\n"
			"    namespace: team-a\n",
			server, ca);

		write_file(kc, text);
		free(text);
	}
	ASSERT_OK(kube_config_load(kc, NULL, &cfg, &err));
	ASSERT_STREQ(cfg->ns, "team-a");
	ASSERT_STREQ(cfg->token_file, tf);
	uv_loop_init(&loop);
	ASSERT_OK(kube_client_new(&loop, cfg, &c, &err));
	ASSERT_STREQ(kube_client_namespace(c), "team-a");

	ITEST_CALL(&loop, res, kube_get(c, &ref, NULL, itest__cb, &res));
	ASSERT_EQ(res.r, -EACCES);
	ASSERT_EQ(res.err.http_status, 401);
	ASSERT(!strstr(res.err.msg, "not-a-valid-token"));

	/* Rotate the file under the running client: the next call works. */
	{
		char *line = xasprintf("%s\n", token);

		write_file(tf, line);
		free(line);
	}
	ITEST_CALL(&loop, res, kube_get(c, &ref, NULL, itest__cb, &res));
	ASSERT_OK(res.r);

	itest_result_clear(&res);
	kube_config_free(cfg);
	free(kc);
	free(tf);
	itest_finish(&loop, c);
}

TEST(kubeconfig_errors_name_file_and_field)
{
	struct kube_config *cfg = NULL;
	struct op_err err;
	char *kc = xasprintf("%s/kc", harness_tmpdir());

	write_file(kc, "apiVersion: v1\nkind: Config\ncurrent-context: nope\ncontexts: []\n");
	ASSERT_EQ(kube_config_load(kc, NULL, &cfg, &err), -ENOENT);
	ASSERT_CONTAINS(err.msg, "context 'nope' not found");
	ASSERT_CONTAINS(err.msg, kc);
	write_file(kc, "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n"
		       "clusters:\n- name: c\n  cluster: {server: 'https://h:1'}\n"
		       "users:\n- name: u\n  user:\n    exec: {command: aws}\n");
	ASSERT_EQ(kube_config_load(kc, NULL, &cfg, &err), -ENOTSUP);
	ASSERT_CONTAINS(err.msg, "credential plugin");
	write_file(kc, "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n"
		       "clusters:\n- name: c\n  cluster: {server: 'https://h:1', "
		       "certificate-authority-data: '!!notbase64'}\n");
	ASSERT_EQ(kube_config_load(kc, NULL, &cfg, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "certificate-authority-data");
	write_file(kc, "key: [unclosed\n");
	ASSERT_EQ(kube_config_load(kc, NULL, &cfg, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, kc);
	ASSERT_NULL(cfg);
	free(kc);
}

/* ---- informer across a real apiserver restart and an etcd compaction ---- */

struct replay {
	struct hmap state;   /* key -> strdup'd resourceVersion */
	unsigned events, dup_adds, stale_updates, ghost_deletes, regressions;
};

static long rv_num(const char *rv)
{
	return strtol(rv, NULL, 10);
}

static void replay_event(struct informer *inf, enum informer_event ev, struct kobj *obj,
			 struct kobj *old, void *payload)
{
	struct replay *r = payload;
	char *prev = hmap_get(&r->state, obj->key);

	r->events++;
	switch (ev) {
	case INFORMER_ADD:
		if (prev)
			r->dup_adds++;
		break;
	case INFORMER_UPDATE:
		if (!prev || strcmp(prev, obj->rv) == 0)
			r->stale_updates++;
		else if (rv_num(obj->rv) < rv_num(prev))
			r->regressions++;
		break;
	case INFORMER_DELETE:
		if (!prev)
			r->ghost_deletes++;
		break;
	}
	if (prev) {
		hmap_remove(&r->state, obj->key);
		/* The key string was allocated together with the value. */
		free(prev - (strlen(obj->key) + 1));
	}
	if (ev != INFORMER_DELETE) {
		size_t kl = strlen(obj->key) + 1;
		char *mem = xmalloc(kl + strlen(obj->rv) + 1);

		memcpy(mem, obj->key, kl);
		memcpy(mem + kl, obj->rv, strlen(obj->rv) + 1);
		hmap_put(&r->state, mem, mem + kl);
	}
}

static void write_burst(uv_loop_t *loop, struct kube_client *c, const char *ns, unsigned from,
			unsigned n)
{
	struct kube_ref ref = { .version = "v1", .resource = "configmaps", .ns = ns };
	struct itest_result res = { 0 };
	unsigned i;

	for (i = from; i < from + n; i++) {
		char name[32], patch[64];
		struct kube_ref one = ref;
		cJSON *cm;

		snprintf(name, sizeof(name), "r-%u", i % 7);
		one.name = name;
		switch (i % 3) {
		case 0:
			cm = configmap(ns, name, "v", "c");
			ITEST_CALL(loop, res, kube_create(c, &ref, cm, NULL, itest__cb, &res));
			cJSON_Delete(cm);
			break;
		case 1:
			snprintf(patch, sizeof(patch), "{\"data\":{\"v\":\"%u\"}}", i);
			ITEST_CALL(loop, res, kube_patch(c, &one, KUBE_PATCH_MERGE, patch, NULL,
							 itest__cb, &res));
			break;
		default:
			ITEST_CALL(loop, res, kube_delete(c, &one, NULL, itest__cb, &res));
		}
		/* NotFound / AlreadyExists are part of the churn. */
	}
	itest_result_clear(&res);
}

static int run(const char *cmd)
{
	int r = system(cmd);

	return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

TEST(informer_survives_apiserver_restart_and_compaction)
{
	uv_loop_t loop;
	struct kube_client *c;
	struct informer *inf;
	struct informer_opts io = INFORMER_OPTS_INIT;
	struct informer_stats st;
	struct replay rp = { .state = HMAP_INIT };
	struct itest_result res = { 0 };
	struct kube_ref ref = { .version = "v1", .resource = "configmaps" };
	struct kube_opts lo = KUBE_OPTS_INIT;
	const char *item_;
	uint64_t start;
	bool closed = false;
	unsigned listed = 0;
	char *ns, cmd[1024];
	size_t it = 0;
	void *v;
	const cJSON *item;

	if (!getenv("ETCDCTL") || !getenv("ETCD_URL"))
		harness__fail(__FILE__, __LINE__, "ETCDCTL and ETCD_URL must be set (build/cluster/env)");
	uv_loop_init(&loop);
	c = itest_client(&loop);
	ns = itest_namespace(&loop, c, "itest-restart");
	ref.ns = ns;
	io.ref = ref;
	io.label_selector = "itest=kube";
	ASSERT_OK(informer_new(c, &io, replay_event, &rp, &inf));
	ASSERT_OK(informer_start(inf));
	while (!informer_synced(inf))
		uv_run(&loop, UV_RUN_ONCE);
	write_burst(&loop, c, ns, 0, 30);

	/* Compact etcd to its head, then restart the real apiserver. */
	snprintf(cmd, sizeof(cmd),
		 "rev=$(\"$ETCDCTL\" --endpoints \"$ETCD_URL\" endpoint status -w json | "
		 "python3 -c 'import json,sys;print(json.load(sys.stdin)[0][\"Status\"][\"header\"][\"revision\"])') && "
		 "\"$ETCDCTL\" --endpoints \"$ETCD_URL\" compact \"$rev\" >/dev/null && "
		 "bash test/cluster/restart.sh kube-apiserver 2>/dev/null && "
		 /* Leave the cluster as healthy as we found it: kube-controller-manager
		  * would otherwise sit in its reconnect backoff for a while. */
		 "bash test/cluster/restart.sh kube-controller-manager 2>/dev/null");
	ASSERT_EQ(run(cmd), 0);
	/* Writes right after the restart race the informer's reconnect and relist. */
	write_burst(&loop, c, ns, 30, 60);

	/* Converge: the replayed state equals a fresh LIST. */
	lo.label_selector = "itest=kube";
	start = uv_now(&loop);
	for (;;) {
		uint64_t until;
		bool same = true;

		ITEST_CALL(&loop, res, kube_list(c, &ref, &lo, itest__cb, &res));
		ASSERT_OK(res.r);
		listed = 0;
		cJSON_ArrayForEach(item, cJSON_GetObjectItem(res.obj, "items"))
		{
			const cJSON *meta = cJSON_GetObjectItem(item, "metadata");
			char *key = kobj_make_key(ns, cJSON_GetObjectItem(meta, "name")->valuestring);
			const char *rv = hmap_get(&rp.state, key);

			if (!rv || strcmp(rv, cJSON_GetObjectItem(meta, "resourceVersion")->valuestring))
				same = false;
			listed++;
			free(key);
		}
		if (same && listed == hmap_size(&rp.state))
			break;
		until = uv_now(&loop) + 500;
		while (uv_now(&loop) < until) {
			uv_run(&loop, UV_RUN_NOWAIT);
			uv_sleep(20);
			uv_update_time(&loop);
		}
		ASSERT(uv_now(&loop) - start < 60000);
	}
	informer_get_stats(inf, &st);
	printf("# events %u, lists %u, watches %u, 410 relists %u, errors %u\n", rp.events,
	       st.lists, st.watches, st.relists_410, st.errors);
	ASSERT_EQ(rp.dup_adds, 0);
	ASSERT_EQ(rp.stale_updates, 0);
	ASSERT_EQ(rp.ghost_deletes, 0);
	ASSERT_EQ(rp.regressions, 0);
	ASSERT_EQ(informer_size(inf), listed);
	ASSERT(st.watches >= 2);

	informer_close(inf, itest__closed, &closed);
	itest_wait(&loop, &closed, 10000);
	while (hmap_next(&rp.state, &it, &item_, &v))
		free((char *)item_);
	hmap_release(&rp.state);
	itest_result_clear(&res);
	itest_delete_namespace(&loop, c, ns);
	itest_finish(&loop, c);
}

TEST(impersonation_is_authorised_as_the_other_user)
{
	struct kube_ref ref = { .version = "v1", .resource = "namespaces" };
	struct itest_result res = { 0 };
	struct kube_client *c, *sa;
	uv_loop_t loop;

	uv_loop_init(&loop);
	c = itest_client(&loop);
	ASSERT_OK(kube_client_impersonate(c, "system:serviceaccount:default:nobody", &sa));
	ITEST_CALL(&loop, res, kube_list(sa, &ref, NULL, itest__cb, &res));
	ASSERT_EQ(res.r, -EPERM);
	ASSERT_EQ(res.err.http_status, 403);
	ASSERT_CONTAINS(res.err.msg, "\"system:serviceaccount:default:nobody\" cannot list");
	/* The admin client it derives from is unaffected. */
	ITEST_CALL(&loop, res, kube_list(c, &ref, NULL, itest__cb, &res));
	ASSERT_OK(res.r);
	kube_client_unref(sa);
	itest_result_clear(&res);
	itest_finish(&loop, c);
}

/* ---- health of real objects (lib/apply/health) ---- */

TEST(health_of_a_real_deployment)
{
	static const char dep[] =
		"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"zero\"},"
		"\"spec\":{\"replicas\":0,\"selector\":{\"matchLabels\":{\"app\":\"zero\"}},"
		"\"template\":{\"metadata\":{\"labels\":{\"app\":\"zero\"}},\"spec\":{\"containers\":"
		"[{\"name\":\"c\",\"image\":\"registry.invalid/none:1\"}]}}}}";
	struct kube_ref ref = { .group = "apps", .version = "v1", .resource = "deployments",
				.name = "zero" };
	struct itest_result res = { 0 };
	struct kube_opts o = KUBE_OPTS_INIT;
	struct health_result h = { 0 };
	struct kube_client *c;
	uv_loop_t loop;
	cJSON *obj;
	char *ns;
	int tries;

	uv_loop_init(&loop);
	c = itest_client(&loop);
	ns = itest_namespace(&loop, c, "itest-health");
	ref.ns = ns;
	obj = cJSON_Parse(dep);
	o.field_manager = "itest";
	ITEST_CALL(&loop, res, kube_apply(c, &ref, obj, &o, itest__cb, &res));
	ASSERT_OK(res.r);
	/* Just created: not observed yet, or observed and Available. */
	health_assess(res.obj, &h);
	ASSERT(h.status != HEALTH_FAILED);
	/* kube-controller-manager makes it Available within seconds. */
	for (tries = 0; tries < 60; tries++) {
		ITEST_CALL(&loop, res, kube_get(c, &ref, NULL, itest__cb, &res));
		ASSERT_OK(res.r);
		health_assess(res.obj, &h);
		if (h.status == HEALTH_CURRENT)
			break;
		uv_sleep(500);
		uv_update_time(&loop);
	}
	ASSERT_EQ(h.status, HEALTH_CURRENT);
	ASSERT_CONTAINS(h.message, "Deployment is available");
	/* Scaled up with an image that cannot be pulled (no kubelet): in progress. */
	ITEST_CALL(&loop, res, kube_patch(c, &ref, KUBE_PATCH_MERGE, "{\"spec\":{\"replicas\":1}}",
					  NULL, itest__cb, &res));
	ASSERT_OK(res.r);
	for (tries = 0; tries < 20; tries++) {
		ITEST_CALL(&loop, res, kube_get(c, &ref, NULL, itest__cb, &res));
		health_assess(res.obj, &h);
		if (h.status == HEALTH_IN_PROGRESS && !strstr(h.message, "generation"))
			break;
		uv_sleep(250);
		uv_update_time(&loop);
	}
	ASSERT_EQ(h.status, HEALTH_IN_PROGRESS);
	cJSON_Delete(obj);
	itest_result_clear(&res);
	itest_delete_namespace(&loop, c, ns);
	itest_finish(&loop, c);
}

/*
 * A request started from inside a watch handler — curl is running our
 * write callback then — must still go out (it used to fail at once with
 * -ENOMEM: curl refuses a recursive curl_multi_add_handle()).  This is
 * how a health wait's last event leads to a status write.
 */
struct nested {
	uv_loop_t *loop;
	struct kube_client *c;
	struct kube_ref ref;
	int start_r;
	struct itest_result get;
	bool started;
};

static int nested_event(const char *type, const cJSON *obj, void *payload)
{
	struct nested *n = payload;

	/*
	 * Ours only: kube-controller-manager adds kube-root-ca.crt to a new
	 * namespace too, and that ADDED may come before ours exists.
	 */
	if (!n->started && streq(type, "ADDED") &&
	    streq_ptr(yj_get_str(obj, "/metadata/name"), n->ref.name)) {
		n->started = true;
		n->start_r = kube_get(n->c, &n->ref, NULL, itest__cb, &n->get);
	}
	return 0;
}

static void nested_done(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
}

TEST(request_started_inside_a_watch_handler)
{
	struct kube_ref cms = { .version = "v1", .resource = "configmaps" };
	struct itest_result res = { 0 };
	struct nested n = { 0 };
	struct kube_watch *w = NULL;
	struct kube_opts wo = KUBE_OPTS_INIT;
	uv_loop_t loop;
	cJSON *cm;
	char *ns;

	uv_loop_init(&loop);
	n.loop = &loop;
	n.c = itest_client(&loop);
	ns = itest_namespace(&loop, n.c, "itest-nested");
	cms.ns = ns;
	n.ref = cms;
	n.ref.name = "nested";
	wo.timeout_seconds = 60;
	ASSERT_OK(kube_watch(n.c, &cms, &wo, nested_event, nested_done, &n, &w));
	cm = cJSON_Parse("{\"metadata\":{\"name\":\"nested\"}}");
	ITEST_CALL(&loop, res, kube_create(n.c, &cms, cm, NULL, itest__cb, &res));
	ASSERT_OK(res.r);
	itest_result_clear(&res);
	cJSON_Delete(cm);
	itest_wait(&loop, &n.started, 30000);
	ASSERT_OK(n.start_r);
	itest_wait(&loop, &n.get.done, 30000);
	ASSERT_OK(n.get.r);
	ASSERT_STREQ(yj_get_str(n.get.obj, "/metadata/name"), "nested");
	itest_result_clear(&n.get);
	kube_watch_stop(w);
	itest_delete_namespace(&loop, n.c, ns);
	itest_finish(&loop, n.c);
}
