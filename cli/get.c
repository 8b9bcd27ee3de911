/*
 * get.c: `cflux get`, shaped like `flux get`:
 *
 *   cflux get sources git|oci|bucket|helm|chart|all [NAME]
 *   cflux get kustomizations|ks | helmreleases|hr | all [NAME]
 *   cflux get receivers | alert-providers | alerts [NAME]  (notifications)
 *   cflux get fluxconfigurations|fc | extensions [NAME]     (cflux's kinds)
 *        [-n NS | -A] [--status-selector=ready=false] [-l SELECTOR]
 *        [--no-header] [-o json|yaml] [-w]
 *
 * The table is flux's: NAME REVISION SUSPENDED READY MESSAGE (no REVISION
 * for the notification kinds, nor SUSPENDED for providers; NAMESPACE
 * first with -A; NAME is kind/name under `get all`), the revision and the
 * message with hex digests cut to 8 characters as flux cuts them, and the
 * same messages for an empty result.  `get all` lists Flux's kinds in
 * flux's order, then the FluxConfigurations and Extensions, skipping kinds
 * with nothing to show and kinds the cluster does not serve.  -o json|yaml
 * (not in the flux CLI; kubectl's) prints the objects instead: a List, or
 * the object itself when one is named.  -w/--watch, as flux's: the objects,
 * then each change, every event a table of one row (the header once).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/str.h"
#include "cli.h"
#include "yj/yj.h"
#include "base/banned.h"

static const char usage[] =
	"usage: cflux get sources git|oci|bucket|helm|chart|all [NAME] [flags]\n"
	"       cflux get kustomizations|helmreleases|fluxconfigurations|extensions|all [NAME] "
	"[flags]\n"
	"       cflux get receivers|alert-providers|alerts [NAME] [flags]\n"
	"flags: -n/--namespace NS, -A/--all-namespaces, --status-selector TYPE=STATUS|TYPE!=STATUS,\n"
	"       -l/--label-selector SEL, --no-header, -o/--output json|yaml, -w/--watch,\n"
	"       --kubeconfig FILE, --context NAME\n";

struct get {
	struct cli_flags *f;
	struct cli_kube *k;
	const char *name;
	bool all;                  /* `get all`, `get sources all`: kind/name, skip empty kinds */
	char *sel_type, *sel_status;
	bool sel_negate;
	cJSON *items;              /* -o: the objects, in order */
	const struct cli_kind *kd; /* -w: the kind watched */
	bool headed;               /* -w: the header is out */
};

static const char *str_at(const cJSON *obj, const char *ptr)
{
	const char *s = yj_get_str(obj, ptr);

	return s ? s : "";
}

/* The REVISION column, before flux's shortening. */
static const char *revision(const struct cli_kind *kd, const cJSON *obj)
{
	switch (kd->rev) {
	case CLI_REV_ARTIFACT: return str_at(obj, "/status/artifact/revision");
	case CLI_REV_APPLIED: return str_at(obj, "/status/lastAppliedRevision");
	case CLI_REV_HELMRELEASE:
		if (yj_get_str(obj, "/status/history/0/chartVersion"))
			return str_at(obj, "/status/history/0/chartVersion");
		return str_at(obj, "/status/lastAttemptedRevision");
	case CLI_REV_COMMIT: return str_at(obj, "/status/sourceSyncedCommitId");
	case CLI_REV_VERSION: return str_at(obj, "/status/currentVersion");
	case CLI_REV_NONE: return "";
	}
	return "";
}

/* The READY and MESSAGE columns (flux's statusAndMessage). */
static void ready(const struct cli_kind *kd, const cJSON *obj, const char **ret_status,
		  const char **ret_msg)
{
	const cJSON *c = cli_condition(obj, "Ready");

	if (kd->static_ready) {
		*ret_status = "True";
		*ret_msg = kd->static_ready;
		return;
	}
	/* An OCI HelmRepository has no artifact; flux shows it Ready regardless. */
	if (streq(kd->kind, "HelmRepository") && streq(str_at(obj, "/spec/type"), "oci")) {
		*ret_status = "True";
		*ret_msg = "Helm repository is Ready";
		return;
	}
	if (!c) {
		*ret_status = "False";
		*ret_msg = "waiting to be reconciled";
		return;
	}
	*ret_status = str_at(c, "/status");
	*ret_msg = str_at(c, "/message");
}

static bool selected(const struct get *g, const struct cli_kind *kd, const cJSON *obj)
{
	bool m;

	if (!g->sel_type)
		return true;
	if (kd->static_ready) /* flux's readyStatusMatches: always Ready=True */
		m = strcasecmp(g->sel_type, "ready") == 0 && strcasecmp(g->sel_status, "true") == 0;
	else
		m = cli_condition_matches(obj, g->sel_type, g->sel_status);
	return g->sel_negate ? !m : m;
}

static void add_row(const struct get *g, const struct cli_kind *kd, const cJSON *obj,
		    struct cli_table *t)
{
	const char *cells[6], *status, *msg;
	_cleanup_free_ char *name = NULL, *rev = NULL, *m = NULL;
	size_t n = 0;

	if (g->all) {
		name = xasprintf("%s/%s", kd->kind, str_at(obj, "/metadata/name"));
		for (char *p = name; *p && *p != '/'; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
	} else {
		name = xstrdup(str_at(obj, "/metadata/name"));
	}
	ready(kd, obj, &status, &msg);
	rev = kd->truncate_rev ? cli_truncate_hex(revision(kd, obj)) : xstrdup(revision(kd, obj));
	/* flux leaves a HelmRelease's message whole, and the notification kinds' */
	m = streq(kd->kind, "HelmRelease") || kd->rev == CLI_REV_NONE ? xstrdup(msg) :
									  cli_truncate_hex(msg);
	if (g->f->all_ns)
		cells[n++] = str_at(obj, "/metadata/namespace");
	cells[n++] = name;
	if (kd->rev != CLI_REV_NONE)
		cells[n++] = rev;
	if (!kd->no_suspend)
		cells[n++] = cJSON_IsTrue(yj_get(obj, "/spec/suspend")) ? "True" : "False";
	cells[n++] = status;
	cells[n++] = m;
	cli_table_add(t, cells);
}

static const char *ns_or_any(const struct get *g)
{
	static char buf[300];

	if (g->f->all_ns)
		return "any";
	snprintf(buf, sizeof(buf), "\"%s\"", cli_kube_ns(g->k));
	return buf;
}

/* One kind: list, filter, print.  Returns 0, or 1 after printing an error. */
static int get_kind(struct get *g, const struct cli_kind *kd)
{
	static const char *const all[] = { "Namespace", "Name",  "Revision",
					   "Suspended", "Ready", "Message" };
	const char *header[6];
	size_t nh = 0;
	struct kube_ref ref = cli_kind_ref(kd, g->f->all_ns ? NULL : cli_kube_ns(g->k), NULL);
	struct kube_opts o = KUBE_OPTS_INIT;
	struct op_err err = OP_ERR_INIT;
	_cleanup_free_ char *fsel = NULL;
	struct cli_table *t;
	cJSON *list = NULL;
	const cJSON *it;
	int r;

	/* flux's columns: some kinds have no revision, a Provider no suspend. */
	for (size_t i = 0; i < 6; i++) {
		if ((i == 0 && !g->f->all_ns) || (i == 2 && kd->rev == CLI_REV_NONE) ||
		    (i == 3 && kd->no_suspend))
			continue;
		header[nh++] = all[i];
	}
	if (g->name) {
		fsel = xasprintf("metadata.name=%s", g->name);
		o.field_selector = fsel;
	}
	o.label_selector = g->f->label_selector;
	r = cli_kube_list(g->k, &ref, &o, &list, &err);
	if (r == -ENOENT && g->all)
		return 0; /* the cluster does not serve this kind */
	if (r < 0)
		return cli_fail("%s", err.msg);
	t = cli_table_new(nh);
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(list, "items")) {
		if (!selected(g, kd, it))
			continue;
		if (g->items) {
			cJSON *dup = cJSON_Duplicate(it, true);

			if (!cJSON_GetObjectItemCaseSensitive(dup, "kind")) {
				cJSON_AddStringToObject(dup, "kind", kd->kind);
			}
			cJSON_AddItemToArray(g->items, dup); /* now owned by items */
			continue;
		}
		add_row(g, kd, it, t);
	}
	if (!g->items) {
		if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(list, "items")) == 0 &&
		    !g->all) {
			cJSON_Delete(list);
			cli_table_free(t);
			if (g->name)
				return cli_fail("%s object '%s' not found in %s namespace", kd->kind,
						g->name, ns_or_any(g));
			return cli_fail("no %s objects found in %s namespace", kd->kind,
					ns_or_any(g));
		}
		if (!(g->all && cli_table_rows(t) == 0)) {
			struct buf out = BUF_INIT(CLI_OUT_MAX);

			cli_table_render(t, g->f->no_header ? NULL : header, &out);
			fwrite(out.buf, 1, out.len, stdout);
			if (g->all)
				fputc('\n', stdout);
			buf_release(&out);
		}
	}
	cli_table_free(t);
	cJSON_Delete(list);
	return 0;
}

/* -w: one event, a table of its one row (flux prints each so, unaligned with the last). */
static int watched(const char *type, const cJSON *obj, void *payload)
{
	struct get *g = payload;
	static const char *const all[] = { "Namespace", "Name",  "Revision",
					   "Suspended", "Ready", "Message" };
	const char *header[6];
	struct buf out = BUF_INIT(CLI_OUT_MAX);
	struct cli_table *t;
	size_t nh = 0;

	if (streq(type, "BOOKMARK"))
		return 0;
	for (size_t i = 0; i < 6; i++) {
		if ((i == 0 && !g->f->all_ns) || (i == 2 && g->kd->rev == CLI_REV_NONE) ||
		    (i == 3 && g->kd->no_suspend))
			continue;
		header[nh++] = all[i];
	}
	t = cli_table_new(nh);
	add_row(g, g->kd, obj, t);
	cli_table_render(t, g->f->no_header || g->headed ? NULL : header, &out);
	g->headed = true;
	fwrite(out.buf, 1, out.len, stdout);
	fflush(stdout);
	buf_release(&out);
	cli_table_free(t);
	return 0;
}

static int watch_kind(struct get *g)
{
	struct kube_ref ref = cli_kind_ref(g->kd, g->f->all_ns ? NULL : cli_kube_ns(g->k), NULL);
	struct kube_opts o = KUBE_OPTS_INIT;
	struct op_err err = OP_ERR_INIT;
	_cleanup_free_ char *fsel = g->name ? xasprintf("metadata.name=%s", g->name) : NULL;

	o.field_selector = fsel;
	o.label_selector = g->f->label_selector;
	if (cli_kube_watch(g->k, &ref, &o, watched, g, &err) < 0)
		return cli_fail("%s", err.msg);
	return 0;
}

/* kubectl's JSON: four-space indents, "key": value. */
static void print_json(const cJSON *j)
{
	_cleanup_free_ char *s = cJSON_Print(j);
	bool line_start = true;

	for (const char *p = s; p && *p; p++) {
		if (*p == '\t')
			fputs(line_start ? "    " : " ", stdout);
		else
			fputc(*p, stdout);
		line_start = *p == '\n' || (line_start && *p == '\t');
	}
	fputc('\n', stdout);
}

static int print_items(const struct get *g)
{
	const cJSON *one = g->name && cJSON_GetArraySize(g->items) == 1
				   ? cJSON_GetArrayItem(g->items, 0) : NULL;
	cJSON *list = NULL;
	const cJSON *doc = one;

	if (g->name && cJSON_GetArraySize(g->items) == 0)
		return cli_fail("object '%s' not found in %s namespace", g->name, ns_or_any(g));
	if (!one) {
		list = cJSON_CreateObject();
		cJSON_AddStringToObject(list, "apiVersion", "v1");
		cJSON_AddItemReferenceToObject(list, "items", g->items);
		cJSON_AddStringToObject(list, "kind", "List");
		cJSON_AddItemToObject(list, "metadata", cJSON_CreateObject());
		cJSON_AddStringToObject(cJSON_GetObjectItem(list, "metadata"), "resourceVersion", "");
		doc = list;
	}
	if (streq(g->f->output, "json")) {
		print_json(doc);
	} else {
		struct buf out = BUF_INIT(CLI_OUT_MAX);

		yj_emit_yaml_go(doc, &out);
		fwrite(out.buf, 1, out.len, stdout);
		buf_release(&out);
	}
	cJSON_Delete(list);
	return 0;
}

int cli_get(int argc, char **argv)
{
	struct cli_flags f;
	struct get g = { .f = &f };
	const struct cli_kind *kd = NULL;
	bool sources_all = false;
	int used = 0, rc = 0, r;

	r = cli_flags_parse(argc, argv, CLI_F_GET, usage, &f);
	if (r)
		return r > 0 ? 0 : 2;
	if (f.n_args >= 1 && streq(f.args[0], "all")) {
		g.all = true;
		used = 1;
	} else if (f.n_args >= 2 && (streq(f.args[0], "sources") || streq(f.args[0], "source")) &&
		   streq(f.args[1], "all")) {
		g.all = sources_all = true;
		used = 2;
	} else {
		kd = cli_kind_find(f.args, f.n_args, &used);
		if (!kd) {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (f.n_args > used + 1) {
		fprintf(stderr, "✗ too many arguments\n%s", usage);
		return 2;
	}
	g.name = f.n_args > used ? f.args[used] : NULL;
	if (f.status_selector &&
	    cli_status_selector(f.status_selector, &g.sel_type, &g.sel_status, &g.sel_negate) < 0) {
		fprintf(stderr, "✗ expected status selector in type=status or type!=status format, "
				"but found: %s\n", f.status_selector);
		return 2;
	}
	if (f.watch && g.all) {
		fprintf(stderr, "✗ expected a single resource type, but found all\n");
		return 1;
	}
	if (f.watch && f.output) {
		fprintf(stderr, "✗ --watch prints the table: -o is not allowed with it\n");
		return 2;
	}
	if (cli_kube_open(&f, &g.k) < 0)
		return 1;
	if (f.watch) {
		g.kd = kd;
		rc = watch_kind(&g);
		cli_kube_close(g.k);
		free(g.sel_type);
		free(g.sel_status);
		return rc;
	}
	if (f.output)
		g.items = cJSON_CreateArray();
	if (kd) {
		rc = get_kind(&g, kd);
	} else {
		for (size_t i = 0; i < cli_n_kinds; i++) {
			if (sources_all && !cli_kinds[i].source)
				continue;
			if (get_kind(&g, &cli_kinds[i]))
				rc = 1;
		}
	}
	if (g.items && rc == 0)
		rc = print_items(&g);
	cJSON_Delete(g.items);
	free(g.sel_type);
	free(g.sel_status);
	cli_kube_close(g.k);
	return rc;
}
