/*
 * reconcile.c: `cflux reconcile`, `cflux suspend` and `cflux resume`,
 * shaped like the flux CLI's commands of the same names:
 *
 *   cflux reconcile source git|oci|bucket|helm|chart NAME
 *   cflux reconcile kustomization|helmrelease|fluxconfiguration NAME [--with-source]
 *   cflux suspend|resume <kind> NAME
 *        [-n NS] [--timeout 5m] [--kubeconfig FILE] [--context NAME]
 *
 * reconcile annotates the object with reconcile.fluxcd.io/requestedAt (now,
 * RFC 3339 with nanoseconds, as flux), waits until the operator has handled
 * that request (status.lastHandledReconcileAt equals it), the object's
 * status is for its current generation and it is no longer Reconciling,
 * then reports Ready: the revision on success, the Ready message on
 * failure.  --with-source first does the same to the source the object
 * names.  suspend and resume set spec.suspend; resume then waits for Ready.
 * The messages are flux's ("► annotating ...", "✔ applied revision ...").
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/str.h"
#include "base/time.h"
#include "cli.h"
#include "yj/yj.h"
#include "base/banned.h"

static const char usage[] =
	"usage: cflux reconcile source git|oci|bucket|helm|chart NAME [flags]\n"
	"       cflux reconcile kustomization|helmrelease|fluxconfiguration NAME [--with-source] "
	"[flags]\n"
	"       cflux suspend|resume <kind> NAME [flags]\n"
	"flags: -n/--namespace NS, --timeout DURATION (5m), --kubeconfig FILE, --context NAME\n";

/* Poll interval while waiting (flux polls every 2 s). */
#define POLL_MS 500

struct rec {
	struct cli_flags *f;
	struct cli_kube *k;
	int64_t deadline;
};

static const char *str_at(const cJSON *obj, const char *ptr)
{
	const char *s = yj_get_str(obj, ptr);

	return s ? s : "";
}

static int64_t int_at(const cJSON *obj, const char *ptr)
{
	const cJSON *n = yj_get(obj, ptr);

	return cJSON_IsNumber(n) ? (int64_t)n->valuedouble : 0;
}

static char *success_message(const struct cli_kind *kd, const cJSON *obj)
{
	switch (kd->rev) {
	case CLI_REV_ARTIFACT:
		if (streq(kd->kind, "HelmRepository") && streq(str_at(obj, "/spec/type"), "oci"))
			return xstrdup(str_at(cli_condition(obj, "Ready"), "/message"));
		return xasprintf("fetched revision %s", str_at(obj, "/status/artifact/revision"));
	case CLI_REV_APPLIED:
		return xasprintf("applied revision %s", str_at(obj, "/status/lastAppliedRevision"));
	case CLI_REV_HELMRELEASE:
		if (yj_get_str(obj, "/status/history/0/chartVersion"))
			return xasprintf("applied revision %s",
					 str_at(obj, "/status/history/0/chartVersion"));
		return xasprintf("applied revision %s", str_at(obj, "/status/lastAttemptedRevision"));
	case CLI_REV_COMMIT:
		return xasprintf("applied revision %s", str_at(obj, "/status/sourceSyncedCommitId"));
	case CLI_REV_VERSION:
		return xasprintf("installed version %s", str_at(obj, "/status/currentVersion"));
	case CLI_REV_NONE:
		break;
	}
	return xstrdup("");
}

/*
 * Whether the status speaks for the current generation: the Ready
 * condition's own observedGeneration when it has one, else
 * status.observedGeneration (which a failing object may never have had).
 */
static bool current(const cJSON *obj)
{
	const cJSON *c = cli_condition(obj, "Ready");
	int64_t gen = int_at(obj, "/metadata/generation");
	int64_t cgen = c ? int_at(c, "/observedGeneration") : 0;

	if (cgen != 0)
		return cgen == gen;
	return int_at(obj, "/status/observedGeneration") == gen;
}

/*
 * Still at work: Reconciling=True, except "ProgressingWithRetry", which is
 * how a failed attempt waits for its retry (Ready=False says why).
 */
static bool reconciling(const cJSON *obj)
{
	const cJSON *c = cli_condition(obj, "Reconciling");

	return streq(str_at(c, "/status"), "True") &&
	       !streq(str_at(c, "/reason"), "ProgressingWithRetry");
}

/*
 * Poll `ref` until `done(obj, arg)`; *ret gets the last object.  Returns 0,
 * or 1 after printing the error (including the timeout).
 */
static int wait_for(struct rec *rc, const struct kube_ref *ref,
		    bool (*done)(const cJSON *obj, const char *arg), const char *arg, cJSON **ret)
{
	for (;;) {
		struct op_err err = OP_ERR_INIT;
		cJSON *obj = NULL;
		int r = cli_kube_get(rc->k, ref, NULL, &obj, &err);

		if (r < 0)
			return cli_fail("%s", err.msg);
		if (done(obj, arg)) {
			*ret = obj;
			return 0;
		}
		cJSON_Delete(obj);
		if (time_now_ns() >= rc->deadline)
			return cli_fail("timed out waiting for the condition");
		cli_kube_sleep(rc->k, POLL_MS);
	}
}

static bool handled(const cJSON *obj, const char *ts)
{
	return streq(str_at(obj, "/status/lastHandledReconcileAt"), ts) && current(obj) &&
	       !reconciling(obj);
}

static bool is_ready(const cJSON *obj, const char *unused)
{
	(void)unused;
	return current(obj) && streq(str_at(cli_condition(obj, "Ready"), "/status"), "True");
}

/* The source that `obj` (of kind `kd`) names: its kind, namespace, name (new memory). */
static const struct cli_kind *source_of(const struct cli_kind *kd, const cJSON *obj,
					char **ret_ns, char **ret_name)
{
	const char *ns = str_at(obj, "/metadata/namespace");
	const cJSON *ref = NULL;

	if (streq(kd->kind, "Kustomization")) {
		ref = yj_get(obj, "/spec/sourceRef");
	} else if (streq(kd->kind, "HelmRelease")) {
		ref = yj_get(obj, "/spec/chartRef");
		if (!ref) {
			/* the HelmChart helm-controller makes: <ns>-<name>, in the source's namespace */
			const cJSON *src = yj_get(obj, "/spec/chart/spec/sourceRef");
			const char *sns = str_at(src, "/namespace");

			*ret_ns = xstrdup(*sns ? sns : ns);
			*ret_name = xasprintf("%s-%s", ns, str_at(obj, "/metadata/name"));
			return cli_kind_by_kind("HelmChart");
		}
	} else if (streq(kd->kind, "FluxConfiguration")) {
		/* the source the FluxConfiguration makes has its name and namespace */
		*ret_ns = xstrdup(ns);
		*ret_name = xstrdup(str_at(obj, "/metadata/name"));
		return cli_kind_by_kind(str_at(obj, "/spec/sourceKind")[0]
						? (streq(str_at(obj, "/spec/sourceKind"), "AzureBlob")
							   ? "Bucket" : str_at(obj, "/spec/sourceKind"))
						: "GitRepository");
	} else if (streq(kd->kind, "HelmChart")) {
		ref = yj_get(obj, "/spec/sourceRef");
	}
	if (!ref)
		return NULL;
	*ret_ns = xstrdup(*str_at(ref, "/namespace") ? str_at(ref, "/namespace") : ns);
	*ret_name = xstrdup(str_at(ref, "/name"));
	return cli_kind_by_kind(str_at(ref, "/kind"));
}

static int reconcile_one(struct rec *rc, const struct cli_kind *kd, const char *ns,
			 const char *name, bool with_source)
{
	struct kube_ref ref = cli_kind_ref(kd, ns, name);
	struct op_err err = OP_ERR_INIT;
	char ts[RFC3339_MAX];
	_cleanup_free_ char *patch = NULL, *msg = NULL;
	cJSON *obj = NULL, *res = NULL;
	const cJSON *ready;
	int r;

	r = cli_kube_get(rc->k, &ref, NULL, &obj, &err);
	if (r < 0)
		return cli_fail("%s", err.msg);
	if (cJSON_IsTrue(yj_get(obj, "/spec/suspend"))) {
		cJSON_Delete(obj);
		return cli_fail("resource is suspended");
	}
	if (with_source) {
		_cleanup_free_ char *sns = NULL, *sname = NULL;
		const struct cli_kind *skd = source_of(kd, obj, &sns, &sname);

		if (!skd) {
			cli_fail("cannot reconcile source of kind %s",
				 str_at(obj, "/spec/sourceRef/kind"));
			cJSON_Delete(obj);
			return 1;
		}
		r = reconcile_one(rc, skd, sns, sname, streq(skd->kind, "HelmChart"));
		if (r) {
			cJSON_Delete(obj);
			return r;
		}
	}
	cJSON_Delete(obj);
	cli_say("►", "annotating %s %s in %s namespace", kd->kind, name, ns);
	time_format_rfc3339_nano(time_now_ns(), ts);
	patch = xasprintf("{\"metadata\":{\"annotations\":{\"reconcile.fluxcd.io/requestedAt\":"
			  "\"%s\"}}}", ts);
	r = cli_kube_patch(rc->k, &ref, patch, &res, &err);
	if (r < 0)
		return cli_fail("%s", err.msg);
	cJSON_Delete(res);
	cli_say("✔", "%s annotated", kd->kind);
	cli_say("◎", "waiting for %s reconciliation", kd->kind);
	if (wait_for(rc, &ref, handled, ts, &obj))
		return 1;
	ready = cli_condition(obj, "Ready");
	if (!ready) {
		cJSON_Delete(obj);
		return cli_fail("status can't be determined");
	}
	if (!streq(str_at(ready, "/status"), "True")) {
		cli_fail("%s reconciliation failed: '%s'", kd->kind, str_at(ready, "/message"));
		cJSON_Delete(obj);
		return 1;
	}
	msg = success_message(kd, obj);
	cli_say("✔", "%s", msg);
	cJSON_Delete(obj);
	return 0;
}

static int set_suspend(struct rec *rc, const struct cli_kind *kd, const char *ns,
		       const char *name, bool suspend)
{
	struct kube_ref ref = cli_kind_ref(kd, ns, name);
	struct op_err err = OP_ERR_INIT;
	_cleanup_free_ char *msg = NULL;
	cJSON *obj = NULL;
	int r;

	if (streq(kd->kind, "Extension"))
		return cli_fail("an Extension has no spec.suspend; it cannot be %s",
				suspend ? "suspended" : "resumed");
	r = cli_kube_get(rc->k, &ref, NULL, &obj, &err);
	if (r == -ENOENT)
		return cli_fail("%s object '%s' not found in \"%s\" namespace", kd->kind, name, ns);
	if (r < 0)
		return cli_fail("%s", err.msg);
	cJSON_Delete(obj);
	obj = NULL;
	cli_say("►", "%s %s %s in %s namespace", suspend ? "suspending" : "resuming", kd->human,
		name, ns);
	r = cli_kube_patch(rc->k, &ref, suspend ? "{\"spec\":{\"suspend\":true}}"
						: "{\"spec\":{\"suspend\":false}}", &obj, &err);
	if (r < 0)
		return cli_fail("%s", err.msg);
	cJSON_Delete(obj);
	obj = NULL;
	cli_say("✔", "%s %s", kd->human, suspend ? "suspended" : "resumed");
	if (suspend)
		return 0;
	cli_say("◎", "waiting for %s reconciliation", kd->kind);
	if (wait_for(rc, &ref, is_ready, NULL, &obj))
		return cli_fail("%s %s reconciliation failed", kd->kind, name);
	cli_say("✔", "%s %s reconciliation completed", kd->kind, name);
	msg = success_message(kd, obj);
	cli_say("✔", "%s", msg);
	cJSON_Delete(obj);
	return 0;
}

int cli_reconcile(int argc, char **argv)
{
	const char *verb = argv[0];
	bool reconcile = streq(verb, "reconcile");
	struct cli_flags f;
	struct rec rc = { .f = &f };
	const struct cli_kind *kd;
	int used = 0, r;

	r = cli_flags_parse(argc, argv, CLI_F_TIMEOUT | (reconcile ? CLI_F_WITH_SOURCE : 0), usage,
			    &f);
	if (r)
		return r > 0 ? 0 : 2;
	kd = cli_kind_find(f.args, f.n_args, &used);
	if (!kd) {
		fputs(usage, stderr);
		return 2;
	}
	if (kd->get_only) {
		fprintf(stderr, "✗ %s %s is not supported by cflux yet (get is)\n", verb, kd->human);
		return 2;
	}
	if (f.n_args != used + 1) {
		fprintf(stderr, "✗ %s name is required\n", kd->kind);
		return 2;
	}
	if (f.all_ns) {
		fprintf(stderr, "✗ %s takes one object: -A/--all-namespaces is not allowed\n", verb);
		return 2;
	}
	if (f.with_source && !streq(kd->kind, "Kustomization") &&
	    !streq(kd->kind, "HelmRelease") && !streq(kd->kind, "FluxConfiguration")) {
		fprintf(stderr, "✗ unknown flag: --with-source\n");
		return 2;
	}
	if (cli_kube_open(&f, &rc.k) < 0)
		return 1;
	rc.deadline = time_now_ns() + f.timeout_ns;
	if (reconcile)
		r = reconcile_one(&rc, kd, cli_kube_ns(rc.k), f.args[used], f.with_source);
	else
		r = set_suspend(&rc, kd, cli_kube_ns(rc.k), f.args[used], streq(verb, "suspend"));
	cli_kube_close(rc.k);
	return r;
}
