/*
 * trace.c: `cflux trace`, as `flux trace` prints it: for an object in the
 * cluster, the Kustomization or HelmRelease that manages it (found from
 * its owner labels, or those of an owner up its ownerReferences), then
 * that one's source, each with its revision and Ready condition.
 *
 *   cflux trace -n apps deployment web
 *   cflux trace -n apps deploy/web cm/settings
 *   cflux trace web --kind=Deployment --api-version=apps/v1 -n apps
 *
 * Beyond flux, an object cflux applied says where it came from: the
 * lines "Source path:" (file:line in the source) and "Changed in:" (the
 * revision that last changed it), from its provenance annotations,
 * follow its Status line.  Without those annotations the report is
 * flux's to the byte (test/e2e/cli.sh compares them).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/str.h"
#include "base/time.h"
#include "cli.h"
#include "yj/yj.h"
#include "base/banned.h"

#define MAX_OWNER_DEPTH 16

static const char usage[] =
	"Trace in-cluster objects throughout the GitOps delivery pipeline\n\n"
	"Usage:\n  cflux trace <resource> <name> [<name> ...] [flags]\n\n"
	"Flags:\n"
	"      --api-version string   the Kubernetes object API version, e.g. 'apps/v1'\n"
	"      --kind string          the Kubernetes object kind, e.g. Deployment'\n";

static const char *s_or(const char *s)
{
	return s ? s : "";
}

/* A metav1.Time as Go's template prints it: "2026-12-03 06:40:00 +0000 UTC", local time. */
static void go_time(struct buf *b, const char *rfc3339)
{
	int64_t ns;
	time_t t;
	struct tm tm;
	char out[64];

	if (!rfc3339 || time_parse_rfc3339(rfc3339, &ns) < 0) {
		buf_adds(b, "0001-01-01 00:00:00 +0000 UTC");
		return;
	}
	t = (time_t)(ns / NSEC_PER_SEC);
	localtime_r(&t, &tm);
	strftime(out, sizeof(out), "%Y-%m-%d %H:%M:%S %z %Z", &tm);
	buf_adds(b, out);
}

static const cJSON *ready_of(const cJSON *obj)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, yj_get(obj, "/status/conditions"))
		if (streq_ptr(yj_get_str(c, "/type"), "Ready"))
			return c;
	return NULL;
}

/* "Label:" padded to `w` columns, then the value. */
static void line(struct buf *b, int w, const char *label, const char *value)
{
	buf_addf(b, "\n%-*s%s", w, label, s_or(value));
}

/*
 * The Status and Message lines of a section.  `failed`: the form sources
 * use, "Last reconciliation failed at" when Ready is False.
 */
static void status_lines(struct buf *b, int w, const cJSON *ready, bool failed)
{
	if (!ready) {
		line(b, w, "Status:", "Unknown");
		return;
	}
	buf_addf(b, "\n%-*s", w, "Status:");
	if (failed && streq_ptr(yj_get_str(ready, "/status"), "False"))
		buf_adds(b, "Last reconciliation failed at ");
	else
		buf_adds(b, "Last reconciled at ");
	go_time(b, yj_get_str(ready, "/lastTransitionTime"));
	line(b, w, "Message:", yj_get_str(ready, "/message"));
}

static cJSON *get(struct cli_kube *k, const char *group, const char *version,
		  const char *resource, const char *ns, const char *name, struct op_err *err)
{
	struct kube_ref ref = { .group = group, .version = version, .resource = resource,
				.ns = ns, .name = name };
	cJSON *o = NULL;

	return cli_kube_get(k, &ref, NULL, &o, err) < 0 ? NULL : o;
}

/* The Git or OCI repository section of a Kustomization's (w 17) or HelmRelease's trace. */
static void repository(struct buf *b, int w, const char *kind, const cJSON *src, bool helm)
{
	const cJSON *ref = yj_get(src, "/spec/ref");

	buf_adds(b, "\n---");
	line(b, w, streq(kind, "GitRepository") ? "GitRepository:" : "OCIRepository:",
	     yj_get_str(src, "/metadata/name"));
	line(b, w, "Namespace:", yj_get_str(src, "/metadata/namespace"));
	line(b, w, "URL:", yj_get_str(src, "/spec/url"));
	if (ref && cJSON_IsObject(ref)) {
		if (yj_get_str(ref, "/tag") && *yj_get_str(ref, "/tag"))
			line(b, w, "Tag:", yj_get_str(ref, "/tag"));
		else if (yj_get_str(ref, "/semver") && *yj_get_str(ref, "/semver"))
			line(b, w, "Tag:", yj_get_str(ref, "/semver"));
		else if (streq(kind, "GitRepository") && yj_get_str(ref, "/branch") &&
			 *yj_get_str(ref, "/branch"))
			line(b, w, "Branch:", yj_get_str(ref, "/branch"));
		else if (streq(kind, "OCIRepository") && yj_get_str(ref, "/digest") &&
			 *yj_get_str(ref, "/digest"))
			line(b, w, "Digest:", yj_get_str(ref, "/digest"));
	}
	if (yj_get(src, "/status/artifact")) {
		const cJSON *md = yj_get(src, "/status/artifact/metadata");

		line(b, w, "Revision:", yj_get_str(src, "/status/artifact/revision"));
		/* flux's Kustomization trace of an OCI source: the origin annotations, in key order. */
		if (!helm && streq(kind, "OCIRepository") && cJSON_GetArraySize(md) > 0) {
			const char *rev = yj_get_str(md, "/org.opencontainers.image.revision");
			const char *srcu = yj_get_str(md, "/org.opencontainers.image.source");

			buf_addch(b, '\n');
			if (rev)
				buf_addf(b, "Origin Revision: %s", rev);
			buf_addch(b, '\n');
			if (srcu)
				buf_addf(b, "Origin Source:   %s", srcu);
		}
	}
	status_lines(b, w, ready_of(src), true);
}

static int trace_kustomization(struct cli_kube *k, const char *ns, const char *name,
			       struct buf *b, struct op_err *why)
{
	struct op_err err = OP_ERR_INIT;
	cJSON *ks = get(k, "kustomize.toolkit.fluxcd.io", "v1", "kustomizations", ns, name, &err);
	const char *kind, *sns, *tns;
	cJSON *src = NULL;

	if (!ks)
		return op_err_set(why, -ENOENT, "failed to find kustomization: %s", err.msg);
	kind = s_or(yj_get_str(ks, "/spec/sourceRef/kind"));
	sns = yj_get_str(ks, "/spec/sourceRef/namespace");
	if (!sns || !*sns)
		sns = ns;
	if (streq(kind, "GitRepository") || streq(kind, "OCIRepository")) {
		src = get(k, "source.toolkit.fluxcd.io", "v1",
			  streq(kind, "GitRepository") ? "gitrepositories" : "ocirepositories", sns,
			  yj_get_str(ks, "/spec/sourceRef/name"), &err);
		if (!src) {
			cJSON_Delete(ks);
			return op_err_set(why, -ENOENT, "failed to find %s: %s", kind, err.msg);
		}
	}
	buf_adds(b, "\n---");
	line(b, 17, "Kustomization:", name);
	line(b, 17, "Namespace:", ns);
	tns = yj_get_str(ks, "/spec/targetNamespace");
	if (tns && *tns)
		line(b, 17, "Target:", tns);
	line(b, 17, "Path:", yj_get_str(ks, "/spec/path"));
	line(b, 17, "Revision:", yj_get_str(ks, "/status/lastAppliedRevision"));
	status_lines(b, 17, ready_of(ks), false);
	if (src)
		repository(b, 17, kind, src, false);
	cJSON_Delete(src);
	cJSON_Delete(ks);
	return 0;
}

static int trace_helmrelease(struct cli_kube *k, const char *ns, const char *name,
			     struct buf *b, struct op_err *why)
{
	struct op_err err = OP_ERR_INIT;
	cJSON *hr = get(k, "helm.toolkit.fluxcd.io", "v2", "helmreleases", ns, name, &err);
	cJSON *chart = NULL, *src = NULL;
	const char *hc, *skind = NULL, *sns, *tns;

	if (!hr)
		return op_err_set(why, -ENOENT, "failed to find HelmRelease: %s", err.msg);
	hc = yj_get_str(hr, "/status/helmChart");
	if (hc && *hc) {
		_cleanup_free_ char *cns = xstrdup(hc);
		char *slash = strchr(cns, '/');

		if (slash)
			*slash = '\0';
		chart = get(k, "source.toolkit.fluxcd.io", "v1", "helmcharts", slash ? cns : ns,
			    slash ? slash + 1 : cns, &err);
		if (!chart) {
			cJSON_Delete(hr);
			return op_err_set(why, -ENOENT, "failed to find HelmChart: %s", err.msg);
		}
	}
	if (!yj_get(hr, "/spec/chart")) {
		skind = yj_get_str(hr, "/spec/chartRef/kind");
		sns = yj_get_str(hr, "/spec/chartRef/namespace");
		if (streq_ptr(skind, "OCIRepository"))
			src = get(k, "source.toolkit.fluxcd.io", "v1", "ocirepositories",
				  sns && *sns ? sns : ns, yj_get_str(hr, "/spec/chartRef/name"), &err);
		else
			skind = NULL;
	} else {
		skind = yj_get_str(hr, "/spec/chart/spec/sourceRef/kind");
		sns = yj_get_str(hr, "/spec/chart/spec/sourceRef/namespace");
		if (streq_ptr(skind, "GitRepository") || streq_ptr(skind, "HelmRepository"))
			src = get(k, "source.toolkit.fluxcd.io", "v1",
				  streq(skind, "GitRepository") ? "gitrepositories" :
								  "helmrepositories",
				  sns && *sns ? sns : ns,
				  yj_get_str(hr, "/spec/chart/spec/sourceRef/name"), &err);
		else
			skind = NULL;
	}
	if (skind && !src) {
		cJSON_Delete(hr);
		cJSON_Delete(chart);
		return op_err_set(why, -ENOENT, "failed to find %s: %s", skind, err.msg);
	}
	buf_adds(b, "\n---");
	line(b, 16, "HelmRelease:", name);
	line(b, 16, "Namespace:", ns);
	tns = yj_get_str(hr, "/spec/targetNamespace");
	if (tns && *tns)
		line(b, 16, "Target:", tns);
	line(b, 16, "Revision:", yj_get_str(hr, "/status/lastAttemptedRevision"));
	status_lines(b, 16, ready_of(hr), false);
	if (chart) {
		buf_adds(b, "\n---");
		line(b, 16, "HelmChart:", yj_get_str(chart, "/metadata/name"));
		line(b, 16, "Namespace:", yj_get_str(chart, "/metadata/namespace"));
		line(b, 16, "Chart:", yj_get_str(chart, "/spec/chart"));
		line(b, 16, "Version:", yj_get_str(chart, "/spec/version"));
		if (yj_get(chart, "/status/artifact"))
			line(b, 16, "Revision:", yj_get_str(chart, "/status/artifact/revision"));
		status_lines(b, 16, ready_of(chart), false);
	}
	if (src && streq(skind, "HelmRepository")) {
		buf_adds(b, "\n---");
		line(b, 16, "HelmRepository:", yj_get_str(src, "/metadata/name"));
		line(b, 16, "Namespace:", yj_get_str(src, "/metadata/namespace"));
		line(b, 16, "URL:", yj_get_str(src, "/spec/url"));
		if (yj_get(src, "/status/artifact"))
			line(b, 16, "Revision:", yj_get_str(src, "/status/artifact/revision"));
		status_lines(b, 16, ready_of(src), false);
	} else if (src) {
		/* flux's HelmRelease template aligns its Git section at 15, its OCI one at 17. */
		repository(b, streq(skind, "GitRepository") ? 15 : 17, skind, src, true);
	}
	cJSON_Delete(src);
	cJSON_Delete(chart);
	cJSON_Delete(hr);
	return 0;
}

/* The object's manager under `group` (its owner labels), else up its owners'. */
static bool managed_by(struct cli_kube *k, const cJSON *obj, const char *group, char **ret_ns,
		       char **ret_name, int depth)
{
	_cleanup_free_ char *kn = xasprintf("%s/name", group), *kns = xasprintf("%s/namespace", group);
	const cJSON *labels = yj_get(obj, "/metadata/labels"), *o;
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(labels, kn));
	const char *ns = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(labels, kns));

	if (name && *name) {
		*ret_name = xstrdup(name);
		*ret_ns = xstrdup(s_or(ns));
		return true;
	}
	if (depth >= MAX_OWNER_DEPTH)
		return false;
	cJSON_ArrayForEach(o, yj_get(obj, "/metadata/ownerReferences")) {
		const char *av = s_or(yj_get_str(o, "/apiVersion")), *slash = strchr(av, '/');
		_cleanup_free_ char *arg = slash ? xasprintf("%s.%.*s", s_or(yj_get_str(o, "/kind")),
							      (int)(slash - av), av) :
						   xstrdup(s_or(yj_get_str(o, "/kind")));
		struct cli_resource res;
		struct op_err err = OP_ERR_INIT;
		cJSON *owner;
		bool found;

		if (cli_kube_resource(k, arg, &res) < 0)
			return false;
		owner = get(k, res.group, slash ? slash + 1 : av, res.resource,
			    res.namespaced ? yj_get_str(obj, "/metadata/namespace") : NULL,
			    yj_get_str(o, "/name"), &err);
		if (!owner)
			return false;
		found = managed_by(k, owner, group, ret_ns, ret_name, depth + 1);
		cJSON_Delete(owner);
		return found; /* flux follows the first owner only */
	}
	return false;
}

/*
 * One object's report into `b`; a failure is flux's line on stderr, with
 * no report, and the trace goes on (flux exits 0 either way).
 */
static void trace_object(struct cli_kube *k, const cJSON *obj, struct buf *b)
{
	const char *kind = s_or(yj_get_str(obj, "/kind")), *name = yj_get_str(obj, "/metadata/name");
	const char *ons = yj_get_str(obj, "/metadata/namespace");
	const char *path = yj_get_str(obj, "/metadata/annotations/cflux.io~1source-path");
	const char *rev = yj_get_str(obj, "/metadata/annotations/cflux.io~1source-revision");
	_cleanup_free_ char *mns = NULL, *mname = NULL;
	struct op_err why = OP_ERR_INIT;
	bool ks = managed_by(k, obj, "kustomize.toolkit.fluxcd.io", &mns, &mname, 0);
	int w = ks ? 17 : 16, r;

	if (!ks && !managed_by(k, obj, "helm.toolkit.fluxcd.io", &mns, &mname, 0)) {
		op_err_set(&why, -ENOENT, "object not managed by Flux");
		goto failed;
	}
	buf_addch(b, '\n');
	buf_addf(b, "%-*s%s/%s", w, "Object:", kind, s_or(name));
	if (ons && *ons)
		line(b, w, "Namespace:", ons);
	line(b, w, "Status:", "Managed by Flux");
	if (path)
		line(b, w, "Source path:", path);
	if (rev)
		line(b, w, "Changed in:", rev);
	r = ks ? trace_kustomization(k, mns, mname, b, &why) :
		 trace_helmrelease(k, mns, mname, b, &why);
	if (r == 0) {
		buf_addch(b, '\n');
		return;
	}
failed:
	buf_truncate(b, 0);
	fprintf(stderr, "failed to trace %s/%s in namespace %s: %s", kind, s_or(name), s_or(ons),
		why.msg);
}

/* The objects the arguments name, as kubectl's resource builder reads them. */
static int objects(struct cli_kube *k, const struct cli_flags *f, cJSON *out)
{
	struct op_err err = OP_ERR_INIT;
	struct cli_resource res;
	int i;

	if (f->kind || f->api_version) {
		const char *slash;
		_cleanup_free_ char *arg = NULL;
		cJSON *o;

		if (f->n_args < 1)
			return cli_fail("object name is required");
		if (!f->kind)
			return cli_fail("object kind is required (--kind)");
		if (!f->api_version)
			return cli_fail("object apiVersion is required (--api-version)");
		slash = strchr(f->api_version, '/');
		arg = slash ? xasprintf("%s.%.*s", f->kind, (int)(slash - f->api_version),
					f->api_version) :
			      xstrdup(f->kind);
		if (cli_kube_resource(k, arg, &res) < 0)
			return cli_fail("failed to find object: no matches for kind \"%s\" in "
					"version \"%s\"", f->kind, f->api_version);
		o = get(k, res.group, slash ? slash + 1 : f->api_version, res.resource,
			res.namespaced ? cli_kube_ns(k) : NULL, f->args[0], &err);
		if (!o)
			return cli_fail("failed to find object: %s", err.msg);
		cJSON_AddItemToArray(out, o);
		return 0;
	}
	if (f->n_args < 1 || (!strchr(f->args[0], '/') && f->n_args < 2))
		return cli_fail("either `<resource>/<name>` or `<resource> <name>` is required as "
				"an argument");
	for (i = strchr(f->args[0], '/') ? 0 : 1; i < f->n_args; i++) {
		_cleanup_free_ char *type = NULL;
		const char *name, *slash = strchr(f->args[i], '/');
		cJSON *o;

		if (strchr(f->args[0], '/')) {
			if (!slash)
				return cli_fail("there is no need to specify a resource type as a "
						"separate argument when passing arguments in "
						"resource/name form");
			type = xstrndup(f->args[i], (size_t)(slash - f->args[i]));
			name = slash + 1;
		} else {
			type = xstrdup(f->args[0]);
			name = f->args[i];
		}
		if (cli_kube_resource(k, type, &res) < 0)
			return cli_fail("the server doesn't have a resource type \"%s\"", type);
		o = get(k, res.group, res.version, res.resource,
			res.namespaced ? cli_kube_ns(k) : NULL, name, &err);
		if (!o)
			return cli_fail("x: %s", err.msg);
		if (!yj_get_str(o, "/kind"))
			cJSON_AddStringToObject(o, "kind", res.kind);
		cJSON_AddItemToArray(out, o);
	}
	return 0;
}

int cli_trace(int argc, char **argv)
{
	struct cli_flags f;
	struct cli_kube *k = NULL;
	cJSON *objs, *o;
	int r, n, i = 0;

	r = cli_flags_parse(argc, argv, CLI_F_TRACE, usage, &f);
	if (r)
		return r > 0 ? 0 : 1;
	if (cli_kube_open(&f, &k) < 0)
		return 1;
	objs = cJSON_CreateArray();
	r = objects(k, &f, objs);
	n = r ? 0 : cJSON_GetArraySize(objs);
	for (o = n ? objs->child : NULL; o; o = o->next) {
		struct buf b = BUF_INIT(CLI_OUT_MAX);

		trace_object(k, o, &b);
		if (b.len)
			fwrite(b.buf, 1, b.len, stdout);
		buf_release(&b);
		if (++i < n)
			puts("---");
	}
	cJSON_Delete(objs);
	cli_kube_close(k);
	return r;
}
