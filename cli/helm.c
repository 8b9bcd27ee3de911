/*
 * helm.c: `cflux helm template [NAME] CHART [flags]`.
 *
 * Prints what `helm template` (v3.21) prints for a chart directory or
 * .tgz, rendered by lib/helm: the same flags (-f/--values, --set,
 * --set-string, --set-file, --set-json, --set-literal, -n/--namespace,
 * --kube-version, -a/--api-versions, --include-crds, --skip-tests,
 * --no-hooks, -s/--show-only, --is-upgrade, --skip-schema-validation,
 * --name-template, -g/--generate-name, --release-name,
 * --render-subchart-notes), the same output.  Charts are never fetched:
 * CHART is a local path.  On failure the error goes to stderr, prefixed
 * "Error: " as helm prints it, and the exit status is 1.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/path.h"
#include "base/str.h"
#include "helm/helm.h"
#include "cli.h"
#include "base/banned.h"

struct strv {
	const char **v;
	size_t n, alloc;
};

static void strv_add(struct strv *s, const char *x)
{
	XGROW(s->v, s->n + 1, s->alloc);
	s->v[s->n++] = x;
}

/* pflag's StringSlice: one flag may carry several comma-separated values. */
static void strv_add_split(struct strv *s, char *x)
{
	char *comma;

	for (;;) {
		comma = strchr(x, ',');
		if (comma)
			*comma = '\0';
		strv_add(s, x);
		if (!comma)
			break;
		x = comma + 1;
	}
}

/* -f and --set-file read files ("-" is stdin), as Helm's readFile(). */
static int read_cli_file(const char *name, char **ret, size_t *ret_len, struct op_err *err,
			 void *payload)
{
	struct buf b = BUF_INIT((size_t)64 << 20);
	char chunk[65536];
	size_t n;
	int r;

	if (strcmp(name, "-") != 0) {
		r = path_read_file(name, (size_t)64 << 20, ret, ret_len);
		if (r < 0)
			return op_err_set(err, r, "open %s: %s", name, op_strerror(r));
		return 0;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		if (buf_add(&b, chunk, n) < 0) {
			buf_release(&b);
			return op_err_set(err, -EFBIG, "stdin is larger than 64 MiB");
		}
	*ret = buf_detach(&b, ret_len);
	return 0;
}

enum {
	OPT_SET = 256,
	OPT_SET_STRING,
	OPT_SET_FILE,
	OPT_SET_JSON,
	OPT_SET_LITERAL,
	OPT_KUBE_VERSION,
	OPT_INCLUDE_CRDS,
	OPT_SKIP_TESTS,
	OPT_NO_HOOKS,
	OPT_IS_UPGRADE,
	OPT_SKIP_SCHEMA,
	OPT_NAME_TEMPLATE,
	OPT_RELEASE_NAME,
	OPT_SUB_NOTES,
	OPT_UNSUPPORTED,
};

static int helm_fail(const char *msg, bool rendering)
{
	fprintf(stderr, "Error: %s%s\n", msg,
		rendering ? "\n\nUse --debug flag to render out invalid YAML" : "");
	return 1;
}

int cli_helm_template(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "values", required_argument, NULL, 'f' },
		{ "set", required_argument, NULL, OPT_SET },
		{ "set-string", required_argument, NULL, OPT_SET_STRING },
		{ "set-file", required_argument, NULL, OPT_SET_FILE },
		{ "set-json", required_argument, NULL, OPT_SET_JSON },
		{ "set-literal", required_argument, NULL, OPT_SET_LITERAL },
		{ "namespace", required_argument, NULL, 'n' },
		{ "kube-version", required_argument, NULL, OPT_KUBE_VERSION },
		{ "api-versions", required_argument, NULL, 'a' },
		{ "include-crds", no_argument, NULL, OPT_INCLUDE_CRDS },
		{ "skip-tests", no_argument, NULL, OPT_SKIP_TESTS },
		{ "no-hooks", no_argument, NULL, OPT_NO_HOOKS },
		{ "show-only", required_argument, NULL, 's' },
		{ "is-upgrade", no_argument, NULL, OPT_IS_UPGRADE },
		{ "skip-schema-validation", no_argument, NULL, OPT_SKIP_SCHEMA },
		{ "name-template", required_argument, NULL, OPT_NAME_TEMPLATE },
		{ "generate-name", no_argument, NULL, 'g' },
		{ "release-name", no_argument, NULL, OPT_RELEASE_NAME },
		{ "render-subchart-notes", no_argument, NULL, OPT_SUB_NOTES },
		{ "validate", no_argument, NULL, OPT_UNSUPPORTED },
		{ "output-dir", required_argument, NULL, OPT_UNSUPPORTED },
		{ "post-renderer", required_argument, NULL, OPT_UNSUPPORTED },
		{ "dependency-update", no_argument, NULL, OPT_UNSUPPORTED },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct strv files = { 0 }, set = { 0 }, set_string = { 0 }, set_file = { 0 },
		    set_json = { 0 }, set_literal = { 0 }, apis = { 0 }, show = { 0 };
	struct helm_render_opts ro = { 0 };
	struct helm_print_opts po = { 0 };
	struct helm_value_opts vo = { 0 };
	struct helm_error full = HELM_ERROR_INIT;
	struct op_err err = OP_ERR_INIT;
	struct helm_chart *chart = NULL;
	struct helm_rendered *rendered = NULL;
	struct buf out = BUF_INIT((size_t)1 << 31);
	cJSON *values = NULL;
	const char *name = "release-name", *chart_path, *ns = getenv("HELM_NAMESPACE");
	char kv[64], major[24], minor[24];
	bool generate = false, name_template = false;
	int c, li, rc = 1, r;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:n:a:s:gh", longopts, &li)) != -1) {
		switch (c) {
		case 'f':
			strv_add_split(&files, optarg);
			break;
		case OPT_SET:
			strv_add(&set, optarg);
			break;
		case OPT_SET_STRING:
			strv_add(&set_string, optarg);
			break;
		case OPT_SET_FILE:
			strv_add(&set_file, optarg);
			break;
		case OPT_SET_JSON:
			strv_add(&set_json, optarg);
			break;
		case OPT_SET_LITERAL:
			strv_add(&set_literal, optarg);
			break;
		case 'n':
			ns = optarg;
			break;
		case OPT_KUBE_VERSION:
			ro.kube_version = optarg[0] ? optarg : NULL;
			break;
		case 'a':
			strv_add_split(&apis, optarg);
			break;
		case OPT_INCLUDE_CRDS:
			ro.include_crds = true;
			break;
		case OPT_SKIP_TESTS:
			po.skip_tests = true;
			break;
		case OPT_NO_HOOKS:
			po.no_hooks = true;
			break;
		case 's':
			strv_add(&show, optarg);
			break;
		case OPT_IS_UPGRADE:
			ro.is_upgrade = true;
			break;
		case OPT_SKIP_SCHEMA:
			ro.skip_schema_validation = true;
			break;
		case OPT_NAME_TEMPLATE:
			name_template = true;
			break;
		case 'g':
			generate = true;
			break;
		case OPT_RELEASE_NAME:
		case OPT_SUB_NOTES:
			/* Only for --output-dir and installs: no effect on what is printed. */
			break;
		case 'h':
			rc = cli_usage(stdout);
			goto out;
		case OPT_UNSUPPORTED:
			/* Named from the table: argv[optind - 1] may be the flag's argument. */
			fprintf(stderr, "Error: --%s is not supported by cflux helm template\n",
				longopts[li].name);
			goto out;
		case ':':
			fprintf(stderr, "Error: flag needs an argument: %s\n", argv[optind - 1]);
			goto out;
		default:
			fprintf(stderr, "Error: unknown flag: %s\n", argv[optind - 1]);
			goto out;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		fputs("Error: \"cflux helm template\" requires at least 1 argument\n", stderr);
		goto out;
	}
	if (argc > 2) {
		fprintf(stderr, "Error: expected at most two arguments, unexpected arguments: %s\n",
			argv[2]);
		goto out;
	}
	if (argc == 2 && (generate || name_template)) {
		fprintf(stderr, "Error: cannot set --%s and also specify a name\n",
			generate ? "generate-name" : "name-template");
		goto out;
	}
	if (name_template) {
		fputs("Error: --name-template is not supported by cflux helm template\n", stderr);
		goto out;
	}
	if (argc == 2)
		name = argv[0];
	chart_path = argv[argc - 1];
	if (ro.kube_version && helm_kube_version_parse(ro.kube_version, kv, major, minor, &err) < 0) {
		rc = helm_fail(err.msg, false);
		goto out;
	}
	if (access(chart_path, F_OK) < 0) {
		fprintf(stderr, "Error: path \"%s\" not found\n", chart_path);
		goto out;
	}
	vo.files = files.v;
	vo.nfiles = files.n;
	vo.set = set.v;
	vo.nset = set.n;
	vo.set_string = set_string.v;
	vo.nset_string = set_string.n;
	vo.set_file = set_file.v;
	vo.nset_file = set_file.n;
	vo.set_json = set_json.v;
	vo.nset_json = set_json.n;
	vo.set_literal = set_literal.v;
	vo.nset_literal = set_literal.n;
	if (helm_values_compose(&vo, read_cli_file, NULL, &values, &err) < 0) {
		rc = helm_fail(err.msg, false);
		goto out;
	}
	if (helm_chart_load_path(chart_path, NULL, &chart, &err) < 0) {
		rc = helm_fail(err.msg, false);
		goto out;
	}
	if (chart->md.deprecated && (!chart->md.type[0] || streq(chart->md.type, "application")))
		fputs("WARNING: This chart is deprecated\n", stderr);
	ro.release_name = name;
	ro.ns = ns && ns[0] ? ns : "default";
	ro.api_versions = apis.v;
	ro.n_api_versions = apis.n;
	r = helm_render(chart, values, &ro, &rendered, &full, &err);
	if (r < 0) {
		rc = helm_fail(full.msg ? full.msg : err.msg, full.rendering);
		goto out;
	}
	po.show_only = show.v;
	po.nshow_only = show.n;
	if (helm_template_print(rendered, &po, &out, &err) < 0) {
		rc = helm_fail(err.msg, false);
		goto out;
	}
	if (fwrite(out.buf, 1, out.len, stdout) == out.len && fflush(stdout) == 0)
		rc = 0;
out:
	buf_release(&out);
	helm_rendered_free(rendered);
	helm_error_release(&full);
	helm_chart_free(chart);
	cJSON_Delete(values);
	free(files.v);
	free(set.v);
	free(set_string.v);
	free(set_file.v);
	free(set_json.v);
	free(set_literal.v);
	free(apis.v);
	free(show.v);
	return rc;
}
