/*
 * reconcile.c: `cflux reconcile`, `cflux suspend` and `cflux resume`,
 * shaped like the flux CLI's commands of the same names, and `cflux
 * rollback`, which flux has not:
 *
 *   cflux reconcile source git|oci|bucket|helm|chart NAME
 *   cflux reconcile kustomization|helmrelease|fluxconfiguration NAME [--with-source]
 *   cflux suspend|resume <kind> NAME|--all
 *   cflux rollback kustomization NAME [--to REVISION] | --undo
 *        [-n NS] [--timeout 5m] [--kubeconfig FILE] [--context NAME]
 *
 * reconcile annotates the object with reconcile.fluxcd.io/requestedAt (now,
 * RFC 3339 with nanoseconds, as flux), waits until the operator has handled
 * that request (status.lastHandledReconcileAt equals it), the object's
 * status is for its current generation and it is no longer Reconciling,
 * then reports Ready: the revision on success, the Ready message on
 * failure.  --with-source first does the same to the source the object
 * names.  suspend and resume set spec.suspend; resume then waits for Ready.
 * --all does so to every object of the kind in the namespace, one by one.
 * The messages are flux's ("► annotating ...", "✔ applied revision ...").
 *
 * rollback pins the Kustomization's GitRepository to the commit of an
 * earlier revision from the Kustomization's status.history (the most
 * recent successful one other than what is applied, or the one --to
 * names: a revision, or a commit's first hex digits; a full commit not
 * in the history is taken as given) with GIT_PIN_ANNOTATION, requests a
 * reconcile, and waits until the source has fetched it and the
 * Kustomization has applied it.  Every Kustomization of that source
 * follows; they are named.  --undo removes the pin and waits until the
 * ref's head is applied again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/str.h"
#include "base/time.h"
#include "cli.h"
#include "source/git.h"
#include "yj/yj.h"
#include "base/banned.h"

static const char usage[] =
	"usage: cflux reconcile source git|oci|bucket|helm|chart NAME [flags]\n"
	"       cflux reconcile kustomization|helmrelease|fluxconfiguration NAME [--with-source] "
	"[flags]\n"
	"       cflux suspend|resume <kind> NAME|--all [flags]\n"
	"       cflux rollback kustomization NAME [--to REVISION] [flags]\n"
	"       cflux rollback kustomization NAME --undo [flags]\n"
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

	return cJSON_IsNumber(n) ? yj_to_int64(n->valuedouble) : 0;
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

/* ---- rollback ---- */

/* The commit of a Git revision ("main@sha1:<hex>", "sha1:<hex>"), or NULL. */
static const char *commit_of(const char *rev)
{
	const char *h = rev ? strstr(rev, "sha1:") : NULL;

	return h && strlen(h + 5) == 40 ? h + 5 : NULL;
}

static bool hex_prefix(const char *s, size_t min)
{
	size_t n = strspn(s, "0123456789abcdef");

	return n >= min && !s[n];
}

/*
 * The history snapshot to roll back to: the one `to` names (its revision,
 * or a prefix of its commit of at least 7 digits), else the most recent
 * successful one whose revision is not `applied` and that was first
 * applied no later than `applied` was (so a second rollback goes further
 * back rather than forward again).  Borrowed, or NULL.
 */
static const cJSON *rollback_target(const cJSON *ks, const char *to, const char *applied)
{
	const cJSON *s;
	const char *since = NULL;

	cJSON_ArrayForEach(s, yj_get(ks, "/status/history"))
		if (!since && streq(str_at(s, "/metadata/revision"), applied) &&
		    streq(str_at(s, "/lastReconciledStatus"), "ReconciliationSucceeded"))
			since = str_at(s, "/firstReconciled");
	cJSON_ArrayForEach(s, yj_get(ks, "/status/history")) {
		const char *rev = str_at(s, "/metadata/revision");
		const char *c = commit_of(rev);

		if (to) {
			const char *t = commit_of(to) ? commit_of(to) : to;

			if (streq(rev, to) || (c && hex_prefix(t, 7) && str_startswith(c, t)))
				return s;
			continue;
		}
		/* RFC 3339 in UTC, seconds: the strings compare as the times */
		if (c && !streq(rev, applied) &&
		    streq(str_at(s, "/lastReconciledStatus"), "ReconciliationSucceeded") &&
		    (!since || strcmp(str_at(s, "/firstReconciled"), since) <= 0))
			return s;
	}
	return NULL;
}

/* The Kustomization has tried revision `rev` at its generation, and is done trying. */
static bool attempted(const cJSON *obj, const char *rev)
{
	const char *st = str_at(cli_condition(obj, "Ready"), "/status");

	return current(obj) && !reconciling(obj) &&
	       streq(str_at(obj, "/status/lastAttemptedRevision"), rev) &&
	       (streq(st, "True") || streq(st, "False"));
}

/* Name the other Kustomizations that use the GitRepository `sns`/`sname` (they follow). */
static void say_followers(struct rec *rc, const char *ns, const char *name, const char *sns,
			  const char *sname)
{
	struct kube_ref ref = cli_kind_ref(cli_kind_by_kind("Kustomization"), NULL, NULL);
	struct op_err err = OP_ERR_INIT;
	cJSON *list = NULL;
	const cJSON *o;

	if (cli_kube_list(rc->k, &ref, NULL, &list, &err) < 0)
		return; /* not allowed to list them all: nothing to say */
	cJSON_ArrayForEach(o, yj_get(list, "/items")) {
		const char *ons = str_at(o, "/metadata/namespace"), *on = str_at(o, "/metadata/name");
		const char *rns = str_at(o, "/spec/sourceRef/namespace");

		if (streq(str_at(o, "/spec/sourceRef/kind"), "GitRepository") &&
		    streq(str_at(o, "/spec/sourceRef/name"), sname) && streq(*rns ? rns : ons, sns) &&
		    !(streq(ons, ns) && streq(on, name)))
			cli_say("◎", "Kustomization %s/%s uses the same source and follows it", ons, on);
	}
	cJSON_Delete(list);
}

/*
 * Set (commit) or remove (NULL) the pin of the GitRepository, with a
 * reconcile request, and wait for the source to handle it.  Returns 0
 * with its revision in *ret_rev (new memory), or 1 after saying why.
 */
static int repin(struct rec *rc, const struct kube_ref *sref, const char *commit,
		 char **ret_rev)
{
	struct op_err err = OP_ERR_INIT;
	char ts[RFC3339_MAX];
	_cleanup_free_ char *patch = NULL, *val = NULL;
	cJSON *res = NULL;
	const cJSON *ready;

	time_format_rfc3339_nano(time_now_ns(), ts);
	val = commit ? xasprintf("\"%s\"", commit) : xstrdup("null");
	patch = xasprintf("{\"metadata\":{\"annotations\":{\"%s\":%s,"
			  "\"reconcile.fluxcd.io/requestedAt\":\"%s\"}}}", GIT_PIN_ANNOTATION, val,
			  ts);
	if (cli_kube_patch(rc->k, sref, patch, &res, &err) < 0)
		return cli_fail("%s", err.msg);
	cJSON_Delete(res);
	res = NULL;
	cli_say("◎", "waiting for GitRepository reconciliation");
	if (wait_for(rc, sref, handled, ts, &res))
		return 1;
	ready = cli_condition(res, "Ready");
	if (!streq(str_at(ready, "/status"), "True")) {
		cli_fail("GitRepository reconciliation failed: '%s'", str_at(ready, "/message"));
		cJSON_Delete(res);
		return 1;
	}
	*ret_rev = xstrdup(str_at(res, "/status/artifact/revision"));
	cli_say("✔", "fetched revision %s", *ret_rev);
	cJSON_Delete(res);
	return 0;
}

static int rollback(struct rec *rc, const char *ns, const char *name, const char *to, bool undo)
{
	const struct cli_kind *kd = cli_kind_by_kind("Kustomization");
	struct kube_ref ref = cli_kind_ref(kd, ns, name), sref;
	struct op_err err = OP_ERR_INIT;
	_cleanup_free_ char *sns = NULL, *sname = NULL, *rev = NULL, *commit = NULL;
	const struct cli_kind *skd;
	const cJSON *target = NULL, *ready;
	cJSON *ks = NULL, *src = NULL;
	const char *pinned, *applied;
	int r;

	r = cli_kube_get(rc->k, &ref, NULL, &ks, &err);
	if (r == -ENOENT)
		return cli_fail("Kustomization object '%s' not found in \"%s\" namespace", name, ns);
	if (r < 0)
		return cli_fail("%s", err.msg);
	skd = source_of(kd, ks, &sns, &sname);
	if (!skd || !streq(skd->kind, "GitRepository")) {
		r = cli_fail("rollback pins a GitRepository to a commit; the source of Kustomization "
			     "%s/%s is a %s", ns, name, str_at(ks, "/spec/sourceRef/kind"));
		goto out;
	}
	sref = cli_kind_ref(skd, sns, sname);
	if (cli_kube_get(rc->k, &sref, NULL, &src, &err) < 0) {
		r = cli_fail("%s", err.msg);
		goto out;
	}
	pinned = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		yj_get(src, "/metadata/annotations"), GIT_PIN_ANNOTATION));
	applied = str_at(ks, "/status/lastAppliedRevision");
	if (undo) {
		if (!pinned) {
			r = cli_fail("GitRepository %s/%s is not pinned: nothing to undo", sns, sname);
			goto out;
		}
		cli_say("►", "releasing the pin of GitRepository %s/%s (commit %s)", sns, sname,
			pinned);
	} else {
		target = rollback_target(ks, to, applied);
		if (target) {
			commit = xstrdup(commit_of(str_at(target, "/metadata/revision")));
		} else if (to && hex_prefix(commit_of(to) ? commit_of(to) : to, 40)) {
			commit = xstrdup(commit_of(to) ? commit_of(to) : to);
			cli_say("◎", "commit %s is not in the history of Kustomization %s/%s; "
				"taking it as given", commit, ns, name);
		} else if (to) {
			r = cli_fail("revision '%s' is not in the history of Kustomization %s/%s "
				     "(give a full 40-digit commit to pin one that is not)", to, ns,
				     name);
			goto out;
		} else {
			r = cli_fail("no earlier successful revision in the history of Kustomization "
				     "%s/%s to roll back to", ns, name);
			goto out;
		}
		cli_say("►", "pinning GitRepository %s/%s to commit %s%s%s%s (applied: %s)", sns,
			sname, commit, target ? " (revision " : "",
			target ? str_at(target, "/metadata/revision") : "", target ? ")" : "",
			*applied ? applied : "nothing yet");
	}
	say_followers(rc, ns, name, sns, sname);
	r = repin(rc, &sref, undo ? NULL : commit, &rev);
	if (r)
		goto out;
	cli_say("◎", "waiting for Kustomization reconciliation");
	cJSON_Delete(ks);
	ks = NULL;
	r = wait_for(rc, &ref, attempted, rev, &ks);
	if (r)
		goto out;
	ready = cli_condition(ks, "Ready");
	if (!streq(str_at(ready, "/status"), "True")) {
		r = cli_fail("Kustomization reconciliation failed: '%s'", str_at(ready, "/message"));
		goto out;
	}
	cli_say("✔", "applied revision %s", rev);
	if (!undo)
		cli_say("✔", "pinned; `cflux rollback kustomization %s -n %s --undo` follows the ref "
			"again", name, ns);
out:
	cJSON_Delete(ks);
	cJSON_Delete(src);
	return r;
}

/* suspend|resume --all: each object of the kind in the namespace, in turn. */
static int set_suspend_all(struct rec *rc, const struct cli_kind *kd, const char *ns,
			   bool suspend)
{
	struct kube_ref ref = cli_kind_ref(kd, ns, NULL);
	struct op_err err = OP_ERR_INIT;
	cJSON *list = NULL;
	const cJSON *o;
	int r = 0;

	if (cli_kube_list(rc->k, &ref, NULL, &list, &err) < 0)
		return cli_fail("%s", err.msg);
	if (cJSON_GetArraySize(yj_get(list, "/items")) == 0)
		cli_say("✗", "no %s objects found in %s namespace", kd->kind, ns);
	cJSON_ArrayForEach(o, yj_get(list, "/items"))
		if (set_suspend(rc, kd, ns, str_at(o, "/metadata/name"), suspend))
			r = 1;
	cJSON_Delete(list);
	return r;
}

int cli_reconcile(int argc, char **argv)
{
	const char *verb = argv[0];
	bool reconcile = streq(verb, "reconcile"), rollback_verb = streq(verb, "rollback");
	struct cli_flags f;
	struct rec rc = { .f = &f };
	const struct cli_kind *kd;
	int used = 0, r;

	r = cli_flags_parse(argc, argv, CLI_F_TIMEOUT | (reconcile ? CLI_F_WITH_SOURCE : 0) |
				    (rollback_verb ? CLI_F_ROLLBACK : 0) |
				    (!reconcile && !rollback_verb ? CLI_F_ALL : 0), usage, &f);
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
	if (rollback_verb && !streq(kd->kind, "Kustomization")) {
		fprintf(stderr, "✗ rollback is for a Kustomization (it pins its GitRepository)\n");
		return 2;
	}
	if (f.undo && f.to) {
		fprintf(stderr, "✗ --to and --undo exclude each other\n");
		return 2;
	}
	if (f.all && f.n_args != used) {
		fprintf(stderr, "✗ --all takes no name\n");
		return 2;
	}
	if (!f.all && f.n_args != used + 1) {
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
	else if (rollback_verb)
		r = rollback(&rc, cli_kube_ns(rc.k), f.args[used], f.to, f.undo);
	else if (f.all)
		r = set_suspend_all(&rc, kd, cli_kube_ns(rc.k), streq(verb, "suspend"));
	else
		r = set_suspend(&rc, kd, cli_kube_ns(rc.k), f.args[used], streq(verb, "suspend"));
	cli_kube_close(rc.k);
	return r;
}
