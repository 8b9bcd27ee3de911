/*
 * events.c: `cflux events`, shaped like `flux events`:
 *
 *   cflux events [--for Kind[/NAME]] [-n NS | -A]
 *
 * The Events of the objects cflux knows (cli/kinds.c), oldest first, as
 * LAST SEEN TYPE REASON OBJECT MESSAGE (NAMESPACE first with -A).  As
 * flux, --for Kustomization/NAME also lists its source's events, and
 * --for HelmRelease/NAME those of its chart's source and of its HelmChart.
 */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/str.h"
#include "base/time.h"
#include "cli.h"
#include "yj/yj.h"
#include "base/banned.h"

static const char usage[] = "usage: cflux events [--for Kind[/NAME]] [-n NS | -A] "
			    "[--kubeconfig FILE] [--context NAME]\n";

/* Append the items of the events matching `fsel` in `ns` to `all`. */
static int add_events(struct cli_kube *k, const char *ns, const char *fsel, cJSON *all)
{
	struct kube_ref ref = { .group = "", .version = "v1", .resource = "events", .ns = ns };
	struct kube_opts o = KUBE_OPTS_INIT;
	struct op_err err = OP_ERR_INIT;
	cJSON *list = NULL, *items, *e;
	int r;

	o.field_selector = fsel;
	r = cli_kube_list(k, &ref, &o, &list, &err);
	if (r < 0)
		return cli_fail("%s", err.msg);
	items = cJSON_DetachItemFromObject(list, "items");
	while (items && (e = cJSON_DetachItemViaPointer(items, items->child)))
		cJSON_AddItemToArray(all, e); /* now owned by all */
	cJSON_Delete(items);
	cJSON_Delete(list);
	return 0;
}

/* The events of the objects `kd`/`name` refers to (flux's references). */
static int add_ref_events(struct cli_kube *k, const struct cli_kind *kd, const char *ns,
			  const char *name, cJSON *all, bool *ret_other_ns)
{
	struct kube_ref ref = cli_kind_ref(kd, ns, name);
	struct op_err err = OP_ERR_INIT;
	const char *ptr = streq(kd->kind, "Kustomization") ? "/spec/sourceRef"
			  : streq(kd->kind, "HelmRelease") ? "/spec/chart/spec/sourceRef" : NULL;
	const cJSON *src;
	const char *sns;
	cJSON *obj = NULL;
	int r = 0;

	if (!ptr)
		return 0;
	if (cli_kube_get(k, &ref, NULL, &obj, &err) < 0)
		return cli_fail("%s", err.msg);
	src = yj_get(obj, ptr);
	sns = yj_get_str(src, "/namespace");
	if (!sns || !*sns)
		sns = ns;
	*ret_other_ns = !streq(sns, ns);
	if (src) {
		_cleanup_free_ char *fsel = xasprintf("involvedObject.kind=%s,involvedObject.name=%s",
						      yj_get_str(src, "/kind") ?: "",
						      yj_get_str(src, "/name") ?: "");
		r = add_events(k, sns, fsel, all);
	}
	if (r == 0 && streq(kd->kind, "HelmRelease")) {
		_cleanup_free_ char *fsel = xasprintf(
			"involvedObject.kind=HelmChart,involvedObject.name=%s-%s", ns, name);
		r = add_events(k, sns, fsel, all);
	}
	cJSON_Delete(obj);
	return r;
}

static int by_time(const void *a, const void *b)
{
	int64_t ta = cli_event_time(*(const cJSON *const *)a);
	int64_t tb = cli_event_time(*(const cJSON *const *)b);

	return ta < tb ? -1 : ta > tb;
}

int cli_events(int argc, char **argv)
{
	static const char *const header[] = { "Last seen", "Type", "Reason", "Object", "Message" };
	static const char *const header_ns[] = { "Namespace", "Last seen", "Type", "Reason",
						 "Object", "Message" };
	const struct cli_kind *for_kd = NULL;
	const char *for_name = NULL;
	bool other_ns = false, show_ns;
	struct cli_flags f;
	struct cli_kube *k = NULL;
	_cleanup_free_ char *fsel = NULL;
	_cleanup_free_ const cJSON **ev = NULL;
	struct buf out = BUF_INIT(CLI_OUT_MAX);
	struct cli_table *t;
	cJSON *list = NULL;
	const cJSON *e;
	size_t n = 0;
	int64_t now = time_now_ns();
	int r;

	r = cli_flags_parse(argc, argv, CLI_F_FOR, usage, &f);
	if (r)
		return r > 0 ? 0 : 2;
	if (f.n_args) {
		fprintf(stderr, "✗ unexpected argument: %s\n%s", f.args[0], usage);
		return 2;
	}
	if (f.for_sel) {
		const char *slash = strchr(f.for_sel, '/');
		_cleanup_free_ char *kind = slash ? xstrndup(f.for_sel, (size_t)(slash - f.for_sel))
						  : xstrdup(f.for_sel);

		for (size_t i = 0; i < cli_n_kinds && !for_kd; i++)
			if (strcasecmp(cli_kinds[i].kind, kind) == 0)
				for_kd = &cli_kinds[i];
		if (!for_kd || (slash && !slash[1])) {
			fprintf(stderr, "✗ --for selector must be of format <kind>[/<name>]\n");
			return 2;
		}
		for_name = slash ? slash + 1 : NULL;
		fsel = for_name ? xasprintf("involvedObject.kind=%s,involvedObject.name=%s",
					    for_kd->kind, for_name)
				: xasprintf("involvedObject.kind=%s", for_kd->kind);
	}
	if (cli_kube_open(&f, &k) < 0)
		return 1;
	list = cJSON_CreateArray();
	r = add_events(k, f.all_ns ? NULL : cli_kube_ns(k), fsel, list);
	if (r == 0 && for_name)
		r = add_ref_events(k, for_kd, cli_kube_ns(k), for_name, list, &other_ns);
	if (r) {
		cJSON_Delete(list);
		cli_kube_close(k);
		return 1;
	}
	show_ns = f.all_ns || other_ns;
	ev = xcalloc((size_t)cJSON_GetArraySize(list) + 1, sizeof(*ev));
	cJSON_ArrayForEach(e, list)
		if (cli_kind_by_kind(yj_get_str(e, "/involvedObject/kind") ?: ""))
			ev[n++] = e;
	qsort(ev, n, sizeof(*ev), by_time); /* ties: the apiserver's order is not kept */
	if (n == 0) {
		if (f.all_ns)
			cli_fail("No events found.");
		else
			cli_fail("No events found in %s namespace.", cli_kube_ns(k));
		cJSON_Delete(list);
		cli_kube_close(k);
		return 0;
	}
	t = cli_table_new(show_ns ? 6 : 5);
	for (size_t i = 0; i < n; i++) {
		const char *cells[6];
		char seen[96];
		_cleanup_free_ char *obj = xasprintf("%s/%s",
						     yj_get_str(ev[i], "/involvedObject/kind") ?: "",
						     yj_get_str(ev[i], "/involvedObject/name") ?: "");
		size_t c = 0;

		cli_event_last_seen(ev[i], now, seen);
		if (show_ns)
			cells[c++] = yj_get_str(ev[i], "/metadata/namespace");
		cells[c++] = seen;
		cells[c++] = yj_get_str(ev[i], "/type");
		cells[c++] = yj_get_str(ev[i], "/reason");
		cells[c++] = obj;
		cells[c++] = yj_get_str(ev[i], "/message");
		cli_table_add(t, cells);
	}
	cli_table_render(t, show_ns ? header_ns : header, &out);
	fwrite(out.buf, 1, out.len, stdout);
	buf_release(&out);
	cli_table_free(t);
	cJSON_Delete(list);
	cli_kube_close(k);
	return 0;
}
