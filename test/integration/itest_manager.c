/*
 * itest_manager.c: operator/manager.c against the real apiserver, with
 * the watch held back by the fault proxy (test/faults).
 *
 * Read your writes: a reconcile that starts before the informer has
 * seen the last reconcile's status write works on the written object.
 * Before, it got the cache's older copy; a HelmRelease whose history
 * it therefore lacked was taken for a release not yet ours and
 * upgraded a second time (a fresh-clone CI run, helmrelease.sh).
 */
#include <stdio.h>
#include <string.h>

#include "itest.h"
#include "operator/manager.h"
#include "yj/yj.h"

#define RUNS 3

static int runs;
static int counts[RUNS];      /* status.count as each reconcile saw it */
static bool finalizers[RUNS]; /* whether it saw our finalizer */

static void widget_reconcile(struct rc *rc)
{
	const cJSON *n = yj_get(rc->obj->json, "/status/count");
	const cJSON *fin = yj_get(rc->obj->json, "/metadata/finalizers");
	int k = cJSON_IsNumber(n) ? n->valueint : 0;

	if (runs < RUNS) {
		counts[runs] = k;
		finalizers[runs] = cJSON_GetArraySize(fin) > 0;
	}
	runs++;
	cJSON_DeleteItemFromObjectCaseSensitive(rc->status, "count");
	cJSON_AddNumberToObject(rc->status, "count", k + 1);
	/* Again at once: long before the held-back watch delivers the write. */
	rc_done(rc, runs < RUNS ? 1 : 0);
}

static void mgr_closed(void *payload)
{
	*(bool *)payload = true;
}

TEST(a_reconcile_sees_the_last_ones_status_before_the_watch_does)
{
	struct itest_proxy fp = { 0 };
	struct mgr_opts mo = { 0 };
	struct ctl_desc d = { 0 };
	struct kube_client *admin, *c;
	struct mgr *m = NULL;
	struct ctl *ctl;
	uv_loop_t loop;
	bool closed = false;
	char *ns, *group, *out;
	uint64_t t0;

	uv_loop_init(&loop);
	admin = itest_client(&loop);
	ns = itest_namespace(&loop, admin, "itest-mgr");
	group = xasprintf("%s.cflux.io", ns);
	out = itest_sh(
		"kubectl apply -f - >/dev/null <<EOF\n"
		"apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
		"metadata: {name: widgets.%1$s}\n"
		"spec:\n  group: %1$s\n  scope: Namespaced\n"
		"  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}\n"
		"  versions:\n  - name: v1\n    served: true\n    storage: true\n"
		"    subresources: {status: {}}\n"
		"    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}\n"
		"EOF\n"
		"kubectl wait --for condition=established --timeout=60s crd/widgets.%1$s >/dev/null && "
		"kubectl apply -n %2$s -f - >/dev/null <<EOF\n"
		"apiVersion: %1$s/v1\nkind: Widget\n"
		"metadata: {name: w, finalizers: [finalizers.fluxcd.io]}\nspec: {}\n"
		"EOF\n",
		group, ns);
	free(out);

	itest_proxy_start(&fp, getenv("APISERVER_URL"), getenv("CLUSTER_CA"));
	/* Every watch holds its stream for 4 s: the cache stays as listed. */
	itest_proxy_rules(&fp, "[{\"query\":\"watch=true\",\"action\":\"stall\",\"bytes\":0,"
			       "\"delay_ms\":4000}]");
	c = itest_proxy_client(&loop, fp.port);

	mo.client = c;
	mo.watch_namespace = ns;
	ASSERT_OK(mgr_new(&mo, &m));
	d.name = "widget";
	d.kind = "Widget";
	d.api_version = "v1";
	d.ref = (struct kube_ref){ .group = group, .version = "v1", .resource = "widgets" };
	d.reconcile = widget_reconcile;
	ASSERT_OK(mgr_add(m, &d, NULL, &ctl));
	ASSERT_OK(mgr_start(m));

	t0 = uv_now(&loop);
	while (runs < RUNS && uv_now(&loop) - t0 < 30000) {
		uv_run(&loop, UV_RUN_ONCE);
		uv_update_time(&loop);
	}
	ASSERT_EQ(runs, RUNS);
	/* All three ran inside the watch's hold. */
	ASSERT(uv_now(&loop) - t0 < 4000);
	ASSERT_EQ(counts[0], 0);
	ASSERT_EQ(counts[1], 1); /* the cache still said 0 */
	ASSERT_EQ(counts[2], 2);
	ASSERT(finalizers[0] && finalizers[1] && finalizers[2]);

	mgr_close(m, mgr_closed, &closed);
	itest_wait(&loop, &closed, 10000);
	kube_client_close(c, NULL, NULL);
	itest_proxy_stop(&fp);

	out = itest_sh("kubectl get -n %s widgets.%s w -o jsonpath='{.status.count}'", ns, group);
	ASSERT_STREQ(out, "3");
	free(out);
	out = itest_sh("kubectl patch -n %1$s widgets.%2$s w --type merge "
		       "-p '{\"metadata\":{\"finalizers\":null}}' >/dev/null && "
		       "kubectl delete crd widgets.%2$s --wait=false >/dev/null",
		       ns, group);
	free(out);
	free(group);
	itest_delete_namespace(&loop, admin, ns);
	itest_finish(&loop, admin);
}
