/*
 * logs.c: `cflux logs`, shaped like `flux logs`: the operator's log, read
 * from its pods (label app.kubernetes.io/name=cflux in --flux-namespace,
 * default flux's: flux-system or $FLUX_SYSTEM_NAMESPACE) through the
 * apiserver, each JSON line printed in flux's template
 *
 *   <ts> <level> <Kind>[/<name>.<namespace>] - <msg> <error>
 *
 * and filtered as flux filters: --level, --kind (case-insensitive), --name,
 * and the object's namespace (-n, default flux-system) unless -A.  The
 * kind and object come from our log's "controller" and "object"
 * ("ns/name") fields.  --tail N, --since 5m, --since-time RFC3339 go to the
 * log request.  -f follows: every replica's log is polled each second
 * (sinceTime, with the kubelet's timestamps to skip lines already shown).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/str.h"
#include "base/time.h"
#include "cli.h"
#include "yj/yj.h"
#include "base/banned.h"

static const char usage[] =
	"usage: cflux logs [--kind KIND] [--name NAME] [--level debug|info|error] [-A]\n"
	"                  [--tail N] [--since DURATION | --since-time RFC3339] [-f]\n"
	"                  [--flux-namespace NS] [-n NS] [--kubeconfig FILE] [--context NAME]\n";

#define SELECTOR "app.kubernetes.io/name=cflux"
#define FOLLOW_MS 1000

struct pod {
	char *name;
	char last[RFC3339_MAX + 8]; /* the kubelet's timestamp of the last line shown */
};

/* The Kind our log's "controller" names ("gitrepository"), or NULL. */
static const char *kind_of(const char *controller)
{
	for (size_t i = 0; controller && i < cli_n_kinds; i++)
		if (strcasecmp(cli_kinds[i].kind, controller) == 0)
			return cli_kinds[i].kind;
	return NULL;
}

/* Print one JSON line as flux does, if the filters keep it. */
static void print_line(const struct cli_flags *f, const char *ns_filter, const char *line,
		       struct buf *out)
{
	cJSON *l = cJSON_Parse(line);
	const char *obj, *slash, *kind, *level, *err;
	char ns[256] = "", name[256] = "";

	if (!cJSON_IsObject(l)) {
		cJSON_Delete(l);
		return;
	}
	obj = yj_get_str(l, "/object");
	if (obj && (slash = strchr(obj, '/'))) {
		snprintf(ns, sizeof(ns), "%.*s", (int)(slash - obj), obj);
		snprintf(name, sizeof(name), "%s", slash + 1);
	} else if (obj) {
		snprintf(name, sizeof(name), "%s", obj);
	}
	kind = kind_of(yj_get_str(l, "/controller"));
	level = yj_get_str(l, "/level");
	err = yj_get_str(l, "/error");
	if ((!f->level || streq_ptr(f->level, level)) &&
	    (!f->kind || (kind && strcasecmp(f->kind, kind) == 0)) &&
	    (!f->name || strcasecmp(f->name, name) == 0) &&
	    (f->all_ns || strcasecmp(ns_filter, ns) == 0)) {
		buf_addf(out, "%s %s %s", strempty(yj_get_str(l, "/ts")), strempty(level),
			 strempty(kind));
		if (name[0])
			buf_addf(out, "/%s.%s", name, ns);
		buf_addf(out, " - %s %s\n", strempty(yj_get_str(l, "/msg")), strempty(err));
	}
	cJSON_Delete(l);
}

/*
 * One read of `p`'s log; with `stamps` every line starts with the
 * kubelet's RFC 3339 time and a space: lines not after p->last are
 * skipped, p->last moves on.
 */
static int read_pod(struct cli_kube *k, const struct cli_flags *f, const char *flux_ns,
		    const char *ns_filter, struct pod *p, const char *since_time, bool first)
{
	struct kube_opts o = KUBE_OPTS_INIT;
	struct op_err err = OP_ERR_INIT;
	struct buf path = BUF_INIT(4096), out = BUF_INIT(CLI_OUT_MAX);
	cJSON *body = NULL;
	const char *text, *line;
	char *copy = NULL, *next;
	int r;

	buf_addf(&path, "/api/v1/namespaces/%s/pods/%s/log?timestamps=true", flux_ns, p->name);
	/* --tail 0: the last line is read for its time, not shown (-f goes on from it) */
	if (first && f->tail >= 0)
		buf_addf(&path, "&tailLines=%lld", f->tail ? f->tail : 1);
	if (first && f->since_ns)
		buf_addf(&path, "&sinceSeconds=%lld",
			 (long long)((f->since_ns + NSEC_PER_SEC / 2) / NSEC_PER_SEC));
	if (since_time)
		buf_addf(&path, "&sinceTime=%s", since_time);
	o.max_body = CLI_OUT_MAX;
	r = cli_kube_raw(k, path.buf, &o, &body, &err);
	buf_release(&path);
	if (r < 0) {
		fprintf(stderr, "failed getting logs: %s\n", err.msg);
		return r;
	}
	/* A log of one JSON line comes back parsed: put it back as text. */
	if (cJSON_IsString(body))
		copy = xstrdup(body->valuestring);
	else
		copy = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	for (line = copy; line && *line; line = next) {
		const char *sp;
		char ts[sizeof(p->last)];

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		sp = strchr(line, ' ');
		if (!sp || (size_t)(sp - line) >= sizeof(ts))
			continue;
		snprintf(ts, sizeof(ts), "%.*s", (int)(sp - line), line);
		if (p->last[0] && strcmp(ts, p->last) <= 0)
			continue;
		snprintf(p->last, sizeof(p->last), "%s", ts);
		text = sp + 1;
		if (*text == '{' && !(first && f->tail == 0))
			print_line(f, ns_filter, text, &out);
	}
	free(copy);
	fwrite(out.buf, 1, out.len, stdout);
	fflush(stdout);
	buf_release(&out);
	return 0;
}

int cli_logs(int argc, char **argv)
{
	struct cli_flags f;
	struct cli_kube *k = NULL;
	struct kube_ref ref = { .version = "v1", .resource = "pods" };
	struct kube_opts o = KUBE_OPTS_INIT;
	struct op_err err = OP_ERR_INIT;
	struct pod *pods = NULL;
	const char *flux_ns, *env;
	const cJSON *it;
	cJSON *list = NULL;
	size_t n = 0;
	int r;

	r = cli_flags_parse(argc, argv, CLI_F_LOGS, usage, &f);
	if (r)
		return r > 0 ? 0 : 2;
	if (f.n_args) {
		fprintf(stderr, "✗ no argument required\n");
		return 2;
	}
	if (f.since_ns && f.since_time) {
		fprintf(stderr, "✗ at most one of `sinceTime` or `sinceDuration` may be specified\n");
		return 2;
	}
	if (f.since_time && time_parse_rfc3339(f.since_time, &(int64_t){ 0 }) < 0) {
		fprintf(stderr, "✗ %s is not a valid (RFC3339) time\n", f.since_time);
		return 2;
	}
	if (f.level && !streq(f.level, "debug") && !streq(f.level, "info") &&
	    !streq(f.level, "error")) {
		fprintf(stderr, "✗ invalid argument \"%s\" for \"--level\" flag: unsupported log level "
				"'%s', must be one of: debug, info, error\n", f.level, f.level);
		return 2;
	}
	env = getenv("FLUX_SYSTEM_NAMESPACE");
	flux_ns = f.flux_ns ? f.flux_ns : env && *env ? env : "flux-system";
	if (cli_kube_open(&f, &k) < 0)
		return 1;
	ref.ns = flux_ns;
	o.label_selector = SELECTOR;
	r = cli_kube_list(k, &ref, &o, &list, &err);
	if (r < 0) {
		r = cli_fail("%s", err.msg);
		goto out;
	}
	cJSON_ArrayForEach(it, yj_get(list, "/items")) {
		if (!streq_ptr(yj_get_str(it, "/status/phase"), "Running"))
			continue;
		pods = xrealloc(pods, (n + 1) * sizeof(*pods));
		pods[n].name = xstrdup(yj_get_str(it, "/metadata/name"));
		pods[n++].last[0] = '\0';
	}
	if (!n) {
		r = cli_fail("no cflux operator pod is running in namespace '%s' (label %s)", flux_ns,
			     SELECTOR);
		goto out;
	}
	r = 0;
	for (size_t i = 0; i < n; i++)
		if (read_pod(k, &f, flux_ns, cli_kube_ns(k), &pods[i], f.since_time, true) < 0)
			r = 1;
	while (f.follow) {
		cli_kube_sleep(k, FOLLOW_MS);
		for (size_t i = 0; i < n; i++) {
			char since[RFC3339_MAX + 8];

			/* sinceTime has second precision: from the last line's second on */
			snprintf(since, sizeof(since), "%.19sZ", pods[i].last);
			(void)read_pod(k, &f, flux_ns, cli_kube_ns(k), &pods[i],
				       pods[i].last[0] ? since : NULL, false);
		}
	}
out:
	for (size_t i = 0; i < n; i++)
		free(pods[i].name);
	free(pods);
	cJSON_Delete(list);
	cli_kube_close(k);
	return r;
}
