/*
 * test_manager.c: operator/manager.c's setup path (issue #25: mgr_add()
 * aborted the process on a table entry the informer or queue refused).
 * No server is contacted: the manager is never started.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/alloc.h"
#include "kube/client.h"
#include "kube/config.h"
#include "operator/manager.h"
#include "harness.h"

static void noop_reconcile(struct rc *rc)
{
	rc_done(rc, 0);
}

static const struct ctl_desc good = {
	.name = "widget",
	.kind = "Widget",
	.api_version = "example.cflux.io/v1",
	.ref = { .group = "example.cflux.io", .version = "v1", .resource = "widgets" },
	.reconcile = noop_reconcile,
};

static void closed(void *payload)
{
	(*(int *)payload)++;
}

TEST(mgr_add_refuses_bad_entries_and_stays_usable)
{
	char dir[] = "/tmp/test_manager-XXXXXX", *kc, *text;
	struct kube_config *cfg = NULL;
	struct op_err err = OP_ERR_INIT;
	struct kube_client *c = NULL;
	struct mgr_opts mo = { 0 };
	struct ctl *ctl = NULL, *sentinel = (struct ctl *)&mo;
	struct ctl_desc bad;
	struct mgr *m = NULL;
	uv_loop_t loop;
	int mgr_closes = 0;
	FILE *f;

	ASSERT_NOT_NULL(mkdtemp(dir));
	kc = xasprintf("%s/kubeconfig", dir);
	text = xasprintf("apiVersion: v1\nkind: Config\ncurrent-context: t\n"
			 "clusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:1\n"
			 "users:\n- name: u\n  user:\n    token: t\n"
			 "contexts:\n- name: t\n  context:\n    cluster: c\n    user: u\n");
	f = fopen(kc, "w");
	ASSERT_NOT_NULL(f);
	fputs(text, f);
	fclose(f);
	ASSERT_OK(kube_config_load(kc, NULL, &cfg, &err));
	ASSERT_OK(uv_loop_init(&loop));
	ASSERT_OK(kube_client_new(&loop, cfg, &c, &err));
	mo.client = c;
	ASSERT_OK(mgr_new(&mo, &m));

	/* The informer refuses a ref without a resource. */
	bad = good;
	bad.ref.resource = NULL;
	ctl = sentinel;
	ASSERT_EQ(mgr_add(m, &bad, NULL, &ctl), -EINVAL);
	ASSERT(ctl == sentinel);
	/* The queue refuses a backoff whose start is past its cap (after the informer exists). */
	bad = good;
	bad.retry = (struct backoff){ .initial_ms = 10, .max_ms = 5, .factor = 2 };
	ASSERT_EQ(mgr_add(m, &bad, NULL, &ctl), -EINVAL);
	ASSERT(ctl == sentinel);
	/* No reconcile function. */
	bad = good;
	bad.reconcile = NULL;
	ASSERT_EQ(mgr_add(m, &bad, NULL, &ctl), -EINVAL);
	ASSERT_NULL(mgr_ctl(m, "widget"));

	ASSERT_OK(mgr_add(m, &good, NULL, &ctl));
	ASSERT(ctl == mgr_ctl(m, "widget"));
	ASSERT(ctl_desc(ctl)->reconcile == noop_reconcile);

	mgr_close(m, closed, &mgr_closes);
	uv_run(&loop, UV_RUN_DEFAULT);
	ASSERT_EQ(mgr_closes, 1);
	kube_client_close(c, NULL, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	ASSERT_OK(uv_loop_close(&loop));
	kube_config_free(cfg);
	unlink(kc);
	rmdir(dir);
	free(kc);
	free(text);
}
