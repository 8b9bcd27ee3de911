/*
 * kustomize.c: `cflux kustomize build [--load-restrictor=...] [DIR]`.
 *
 * Prints what `kustomize build DIR` prints (DIR defaults to "."), built by
 * lib/kustomize with no network access, wherever it is run from: bases
 * and components may lie anywhere on disk ("../../base" from an overlay),
 * and files (resources, patches, generator inputs) obey kustomize's load
 * restriction, LoadRestrictionsRootOnly (in or below the kustomization's
 * directory) unless --load-restrictor says LoadRestrictionsNone.  On
 * failure the error goes to stderr, prefixed "Error: " as kustomize
 * prints it, and the exit status is 1; a bad command line exits 2.
 *
 * --enable-helm inflates helmCharts as kustomize does with the `helm`
 * binary, rendered here by lib/helm instead (this file is where the two
 * libraries meet: lib/kustomize asks, through its kz_helm_fn hook, for
 * what `helm template` would print).  --helm-kube-version and
 * --helm-api-versions override every chart's own, as in kustomize;
 * --helm-command is accepted and has nothing to name (no helm binary is
 * run); --helm-debug is refused.  Charts are never downloaded.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/str.h"
#include "cli.h"
#include "helm/helm.h"
#include "kustomize/kustomize.h"
#include "base/banned.h"

/* The --helm-* flags that override every chart's own. */
struct helm_flags {
	const char *kube_version; /* NULL: the chart's */
	const char **api_versions;
	size_t n_api_versions, alloc;
};

/* What `helm template` prints for one of kustomize's charts. */
static int inflate(const struct kz_helm_chart *c, struct buf *out, struct op_err *err,
		   void *payload)
{
	const struct helm_flags *f = payload;
	struct helm_render_opts ro = { 0 };
	struct helm_print_opts po = { 0 };
	struct helm_error full = HELM_ERROR_INIT;
	struct helm_chart *chart = NULL;
	struct helm_rendered *rendered = NULL;
	cJSON *values = cJSON_CreateObject();
	const char *kv = f->kube_version ? f->kube_version : c->kube_version;
	const char *env_ns = getenv("HELM_NAMESPACE");
	char kvbuf[64], major[24], minor[24];
	int r = 0;

	if (kv[0])
		r = helm_kube_version_parse(kv, kvbuf, major, minor, err);
	for (size_t i = 0; r == 0 && i < c->nvalues; i++) {
		cJSON *v = NULL;

		r = helm_values_read(c->values[i], c->values_len[i], &v, err);
		if (r < 0) {
			op_err_prefix(err, "failed to parse %s", c->values_names[i]);
			break;
		}
		helm_values_merge(values, v);
		cJSON_Delete(v);
	}
	if (r == 0)
		r = helm_chart_load_dir(c->chart_dir, NULL, &chart, err);
	if (r == 0) {
		ro.release_name = c->release_name;
		ro.ns = c->ns[0] ? c->ns : env_ns && env_ns[0] ? env_ns : "default";
		ro.kube_version = kv[0] ? kv : NULL;
		ro.api_versions = f->n_api_versions ? f->api_versions : c->api_versions;
		ro.n_api_versions = f->n_api_versions ? f->n_api_versions : c->n_api_versions;
		ro.include_crds = c->include_crds;
		r = helm_render(chart, values, &ro, &rendered, &full, err);
		if (r < 0 && full.msg)
			op_err_set(err, r, "%s", full.msg);
	}
	if (r == 0) {
		po.skip_tests = c->skip_tests;
		po.no_hooks = c->skip_hooks;
		r = helm_template_print(rendered, &po, out, err);
	}
	helm_rendered_free(rendered);
	helm_error_release(&full);
	helm_chart_free(chart);
	cJSON_Delete(values);
	return r;
}

static int kustomize_build(const char *dir, bool load_anywhere, struct helm_flags *helm)
{
	struct kz_opts o = KZ_OPTS_INIT;
	struct op_err err = OP_ERR_INIT;
	struct buf out = BUF_INIT((size_t)1 << 31);
	cJSON *list = NULL;
	int r;

	o.whole_fs = true;
	o.load_anywhere = load_anywhere;
	if (helm) {
		o.helm = inflate;
		o.helm_payload = helm;
	}
	r = kz_build_opts(NULL, dir, &o, &list, &err);
	if (r < 0) {
		fprintf(stderr, "Error: %s\n", err.msg);
		return 1;
	}
	r = kz_emit(list, &out);
	cJSON_Delete(list);
	if (r < 0) {
		fprintf(stderr, "Error: output too large\n");
		buf_release(&out);
		return 1;
	}
	if (fwrite(out.buf, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
		buf_release(&out);
		return 1;
	}
	buf_release(&out);
	return 0;
}

/* The arguments after "kustomize build". */
int cli_kustomize_build(int argc, char **argv)
{
	const char *dir = NULL, *lr = "LoadRestrictionsRootOnly";
	struct helm_flags helm = { 0 };
	bool enable_helm = false;
	int rc;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v = NULL;

		/* --flag=value or --flag value */
		if (str_startswith(a, "--") && strchr(a, '='))
			v = strchr(a, '=') + 1;
		else if (i + 1 < argc)
			v = argv[i + 1];
		if (str_startswith(a, "--load-restrictor=")) {
			lr = v;
		} else if (streq(a, "--load-restrictor") && v) {
			lr = argv[++i];
		} else if (streq(a, "--enable-helm")) {
			enable_helm = true;
		} else if (str_startswith(a, "--enable-helm=")) {
			enable_helm = streq(v, "true") || streq(v, "1") || streq(v, "t") ||
				      streq(v, "TRUE") || streq(v, "True") || streq(v, "T");
		} else if ((str_startswith(a, "--helm-command") ||
			    str_startswith(a, "--helm-kube-version") ||
			    str_startswith(a, "--helm-api-versions")) && v) {
			if (!strchr(a, '='))
				i++;
			if (str_startswith(a, "--helm-kube-version")) {
				helm.kube_version = v;
			} else if (str_startswith(a, "--helm-api-versions")) {
				XGROW(helm.api_versions, helm.n_api_versions + 1, helm.alloc);
				helm.api_versions[helm.n_api_versions++] = v;
			}
		} else if (str_startswith(a, "--helm-")) {
			fprintf(stderr, "Error: %s is not supported by cflux kustomize build\n", a);
			free(helm.api_versions);
			return 2;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "Error: unknown flag: %s\n", a);
			free(helm.api_versions);
			return cli_usage(stderr);
		} else if (!dir) {
			dir = a;
		} else {
			free(helm.api_versions);
			return cli_usage(stderr);
		}
	}
	if (!streq(lr, "LoadRestrictionsRootOnly") && !streq(lr, "LoadRestrictionsNone")) {
		fprintf(stderr, "Error: illegal flag value --load-restrictor %s; legal values: "
				"[LoadRestrictionsRootOnly LoadRestrictionsNone]\n", lr);
		free(helm.api_versions);
		return 2;
	}
	rc = kustomize_build(dir ? dir : ".", streq(lr, "LoadRestrictionsNone"),
			     enable_helm ? &helm : NULL);
	free(helm.api_versions);
	return rc;
}
