/*
 * kube.c: what the cluster commands of bin/cflux share: the flags kubectl
 * and the flux CLI have (--kubeconfig, --context, -n/--namespace,
 * -A/--all-namespaces) plus each command's own, and a synchronous face on
 * lib/kube's asynchronous client.
 *
 * DESIGN
 * One flag table serves every command; a command names the flags it takes
 * (CLI_F_*) and any other is refused with the flux CLI's message ("unknown
 * flag: --x"), so a typo never passes silently.  GNU getopt_long permutes,
 * so flags may follow the positional arguments, as with cobra.
 *
 * The client is lib/kube's (kubeconfig loading, TLS, credentials): a
 * synchronous call starts the asynchronous one and runs the private loop
 * until its callback has run.  Nothing else is on that loop, so the
 * command is a plain sequence of requests.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#include "base/alloc.h"
#include "base/str.h"
#include "base/time.h"
#include "cli.h"
#include "kube/config.h"
#include "kube/mapper.h"
#include "apply/apply.h"
#include "yj/yj.h"
#include "base/banned.h"

struct cli_kube {
	uv_loop_t loop;
	struct kube_client *client;
	struct kube_mapper *mapper; /* made on first use */
	char *ns;
};

void cli_say(const char *mark, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s ", mark);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("✗ ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* ---- flags ---- */

enum {
	OPT_KUBECONFIG = 256, OPT_CONTEXT, OPT_STATUS_SELECTOR, OPT_NO_HEADER, OPT_WITH_SOURCE,
	OPT_TIMEOUT, OPT_NS_FOLLOWS, OPT_FOR, OPT_COMPACT, OPT_KIND, OPT_API_VERSION,
	OPT_ALL, OPT_TO, OPT_UNDO, OPT_NAME, OPT_LEVEL, OPT_TAIL, OPT_FLUX_NS, OPT_SINCE,
	OPT_SINCE_TIME, OPT_WATCH,
};

/* A DNS-1123 label, as flux checks the namespace. */
static bool dns_label(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

int cli_flags_parse(int argc, char **argv, unsigned allowed, const char *usage,
		    struct cli_flags *f)
{
	static const struct option opts[] = {
		{ "kubeconfig", required_argument, NULL, OPT_KUBECONFIG },
		{ "context", required_argument, NULL, OPT_CONTEXT },
		{ "namespace", required_argument, NULL, 'n' },
		{ "all-namespaces", no_argument, NULL, 'A' },
		{ "ns-follows-kube-context", no_argument, NULL, OPT_NS_FOLLOWS },
		{ "status-selector", required_argument, NULL, OPT_STATUS_SELECTOR },
		{ "output", required_argument, NULL, 'o' },
		{ "label-selector", required_argument, NULL, 'l' },
		{ "no-header", no_argument, NULL, OPT_NO_HEADER },
		{ "with-source", no_argument, NULL, OPT_WITH_SOURCE },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "for", required_argument, NULL, OPT_FOR },
		{ "compact", no_argument, NULL, OPT_COMPACT },
		{ "kind", required_argument, NULL, OPT_KIND },
		{ "api-version", required_argument, NULL, OPT_API_VERSION },
		{ "all", no_argument, NULL, OPT_ALL },
		{ "to", required_argument, NULL, OPT_TO },
		{ "undo", no_argument, NULL, OPT_UNDO },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "watch", no_argument, NULL, 'w' },
		{ "level", required_argument, NULL, OPT_LEVEL },
		{ "follow", no_argument, NULL, 'f' },
		{ "tail", required_argument, NULL, OPT_TAIL },
		{ "flux-namespace", required_argument, NULL, OPT_FLUX_NS },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "since-time", required_argument, NULL, OPT_SINCE_TIME },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *env;
	bool ns_set = false;
	int c, idx;

	memset(f, 0, sizeof(*f));
	f->timeout_ns = 5 * NSEC_PER_MIN;
	f->ns = "flux-system";
	env = getenv("FLUX_SYSTEM_NAMESPACE");
	if (env && dns_label(env))
		f->ns = env;
	env = getenv("FLUX_NS_FOLLOWS_KUBE_CONTEXT");
	f->ns_follows_context = env && *env;
	optind = 0;
	opterr = 0;
	f->tail = -1;
	while ((c = getopt_long(argc, argv, ":n:Ao:l:hfw", opts, &idx)) != -1) {
		unsigned need = 0;

		switch (c) {
		case OPT_KUBECONFIG: f->kubeconfig = optarg; break;
		case OPT_CONTEXT: f->context = optarg; break;
		case 'n': f->ns = optarg; ns_set = true; break;
		case 'A': f->all_ns = true; break;
		case OPT_NS_FOLLOWS: f->ns_follows_context = true; break;
		case OPT_STATUS_SELECTOR: f->status_selector = optarg; need = CLI_F_GET; break;
		case 'o': f->output = optarg; need = allowed & CLI_F_TREE ? CLI_F_TREE : CLI_F_GET; break;
		case OPT_COMPACT: f->compact = true; need = CLI_F_TREE; break;
		case OPT_KIND: f->kind = optarg; need = allowed & CLI_F_LOGS ? CLI_F_LOGS : CLI_F_TRACE; break;
		case OPT_NAME: f->name = optarg; need = CLI_F_LOGS; break;
		case OPT_LEVEL: f->level = optarg; need = CLI_F_LOGS; break;
		case 'f': f->follow = true; need = CLI_F_LOGS; break;
		case 'w': f->watch = true; need = CLI_F_GET; break;
		case OPT_FLUX_NS: f->flux_ns = optarg; need = CLI_F_LOGS; break;
		case OPT_SINCE_TIME: f->since_time = optarg; need = CLI_F_LOGS; break;
		case OPT_TAIL: {
			char *end;

			need = CLI_F_LOGS;
			f->tail = strtoll(optarg, &end, 10);
			if (!*optarg || *end) {
				fprintf(stderr, "✗ invalid argument \"%s\" for \"--tail\" flag\n", optarg);
				return -EINVAL;
			}
			break;
		}
		case OPT_SINCE:
			need = CLI_F_LOGS;
			if (duration_parse(optarg, &f->since_ns) < 0 || f->since_ns <= 0) {
				fprintf(stderr, "✗ invalid argument \"%s\" for \"--since\" flag\n", optarg);
				return -EINVAL;
			}
			break;
		case OPT_API_VERSION: f->api_version = optarg; need = CLI_F_TRACE; break;
		case 'l': f->label_selector = optarg; need = CLI_F_GET; break;
		case OPT_NO_HEADER: f->no_header = true; need = CLI_F_GET; break;
		case OPT_FOR: f->for_sel = optarg; need = CLI_F_FOR; break;
		case OPT_WITH_SOURCE: f->with_source = true; need = CLI_F_WITH_SOURCE; break;
		case OPT_ALL: f->all = true; need = CLI_F_ALL; break;
		case OPT_TO: f->to = optarg; need = CLI_F_ROLLBACK; break;
		case OPT_UNDO: f->undo = true; need = CLI_F_ROLLBACK; break;
		case OPT_TIMEOUT:
			need = CLI_F_TIMEOUT;
			if (duration_parse(optarg, &f->timeout_ns) < 0 || f->timeout_ns <= 0) {
				fprintf(stderr, "✗ invalid argument \"%s\" for \"--timeout\" flag\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'h':
			fputs(usage, stdout);
			return 1;
		case ':':
			fprintf(stderr, "✗ flag needs an argument: %s\n", argv[optind - 1]);
			return -EINVAL;
		default:
			if (optopt)
				fprintf(stderr, "✗ unknown shorthand flag: '%c' in -%c\n", optopt,
					optopt);
			else
				fprintf(stderr, "✗ unknown flag: %s\n", argv[optind - 1]);
			return -EINVAL;
		}
		if (need && !(allowed & need)) {
			fprintf(stderr, "✗ unknown flag: --%s\n",
				c == 'o' ? "output" : c == 'l' ? "label-selector" :
				c == 'f' ? "follow" : c == 'w' ? "watch" : opts[idx].name);
			return -EINVAL;
		}
	}
	if (f->output && !streq(f->output, "json") && !streq(f->output, "yaml")) {
		fprintf(stderr, "✗ invalid output format \"%s\": json or yaml\n", f->output);
		return -EINVAL;
	}
	if (ns_set && !dns_label(f->ns)) {
		fprintf(stderr, "✗ namespace must be a valid DNS label: \"%s\"\n", f->ns);
		return -EINVAL;
	}
	if (ns_set)
		f->ns_follows_context = false;
	f->args = argv + optind;
	f->n_args = argc - optind;
	return 0;
}

/* ---- the client ---- */

int cli_kube_open(struct cli_flags *f, struct cli_kube **ret)
{
	struct kube_config *cfg = NULL;
	struct op_err err = OP_ERR_INIT;
	struct cli_kube *k = xcalloc(1, sizeof(*k));
	int r;

	uv_loop_init(&k->loop);
	r = kube_config_load(f->kubeconfig, f->context, &cfg, &err);
	if (r == 0)
		r = kube_client_new(&k->loop, cfg, &k->client, &err);
	if (r < 0) {
		cli_fail("%s", err.msg[0] ? err.msg : op_strerror(r));
		kube_config_free(cfg);
		cli_kube_close(k);
		return r;
	}
	k->ns = xstrdup(f->ns_follows_context && cfg->ns && *cfg->ns ? cfg->ns : f->ns);
	kube_config_free(cfg);
	*ret = k;
	return 0;
}

static void closed(void *p)
{
	*(bool *)p = true;
}

void cli_kube_close(struct cli_kube *k)
{
	bool done = false;

	if (!k)
		return;
	mapper_free(k->mapper);
	if (k->client) {
		kube_client_close(k->client, closed, &done);
		while (!done)
			uv_run(&k->loop, UV_RUN_ONCE);
	}
	uv_run(&k->loop, UV_RUN_DEFAULT);
	uv_loop_close(&k->loop);
	free(k->ns);
	free(k);
}

const char *cli_kube_ns(const struct cli_kube *k)
{
	return k->ns;
}

struct call {
	bool done;
	int r;
	cJSON *obj;
	struct op_err err;
};

static void call_done(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct call *c = payload;

	c->done = true;
	c->r = r;
	if (r == 0 && obj)
		c->obj = cJSON_Duplicate(obj, true);
	if (r < 0 && err)
		c->err = *err;
}

/* Run the loop until `c` is done: 0, or its error in `err` (c->obj freed). */
static int call_wait(struct cli_kube *k, struct call *c, struct op_err *err)
{
	while (!c->done)
		uv_run(&k->loop, UV_RUN_ONCE);
	if (c->r < 0) {
		*err = c->err;
		if (!err->msg[0])
			op_err_set(err, c->r, "%s", op_strerror(c->r));
		cJSON_Delete(c->obj);
		c->obj = NULL;
	}
	return c->r < 0 ? c->r : 0;
}

enum verb { V_GET, V_LIST, V_PATCH, V_RAW, V_APPLY, V_DELETE };

/*
 * `patch` is the merge patch for V_PATCH, the path for V_RAW; `obj` the
 * object for V_APPLY.
 */
static int run_obj(struct cli_kube *k, enum verb v, const struct kube_ref *ref,
		   const struct kube_opts *o, const char *patch, const cJSON *obj, cJSON **ret,
		   struct op_err *err)
{
	struct kube_opts dflt = KUBE_OPTS_INIT;
	struct call c = { 0 };
	int r;

	if (!o)
		o = &dflt;
	switch (v) {
	case V_GET: r = kube_get(k->client, ref, o, call_done, &c); break;
	case V_LIST: r = kube_list(k->client, ref, o, call_done, &c); break;
	case V_RAW: r = kube_get_raw(k->client, patch, o, call_done, &c); break;
	case V_APPLY: r = kube_apply(k->client, ref, obj, o, call_done, &c); break;
	case V_DELETE: r = kube_delete(k->client, ref, o, call_done, &c); break;
	default:
		r = kube_patch(k->client, ref, KUBE_PATCH_MERGE, patch, o, call_done, &c);
		break;
	}
	if (r < 0)
		return op_err_set(err, r, "%s", op_strerror(r));
	r = call_wait(k, &c, err);
	if (r < 0)
		return r;
	*ret = c.obj ? c.obj : cJSON_CreateObject();
	return 0;
}

static int run(struct cli_kube *k, enum verb v, const struct kube_ref *ref,
	       const struct kube_opts *o, const char *arg, cJSON **ret, struct op_err *err)
{
	return run_obj(k, v, ref, o, arg, NULL, ret, err);
}

int cli_kube_apply(struct cli_kube *k, const struct kube_ref *ref, const cJSON *obj,
		   cJSON **ret, struct op_err *err)
{
	struct kube_opts o = KUBE_OPTS_INIT;

	o.field_manager = "cflux";
	o.force = true;
	return run_obj(k, V_APPLY, ref, &o, NULL, obj, ret, err);
}

int cli_kube_delete(struct cli_kube *k, const struct kube_ref *ref, struct op_err *err)
{
	cJSON *o = NULL;
	int r = run(k, V_DELETE, ref, NULL, NULL, &o, err);

	cJSON_Delete(o);
	return r;
}

struct resolve {
	bool done;
	int r;
	bool namespaced;
};

static void resolved(int r, const struct kube_mapping *m, const struct op_err *err, void *payload)
{
	struct resolve *c = payload;

	(void)err;
	c->done = true;
	c->r = r;
	c->namespaced = r == 0 && m && m->namespaced;
}

int cli_kube_namespaced(struct cli_kube *k, const char *api_version, const char *kind)
{
	struct resolve c = { 0 };
	int r;

	if (!k->mapper && (r = mapper_new(k->client, &k->mapper)) < 0)
		return r;
	r = mapper_resolve(k->mapper, api_version, kind, resolved, &c);
	if (r < 0)
		return r;
	while (!c.done)
		uv_run(&k->loop, UV_RUN_ONCE);
	return c.r < 0 ? c.r : c.namespaced;
}

int cli_kube_get(struct cli_kube *k, const struct kube_ref *ref, const struct kube_opts *o,
		 cJSON **ret, struct op_err *err)
{
	return run(k, V_GET, ref, o, NULL, ret, err);
}

int cli_kube_list(struct cli_kube *k, const struct kube_ref *ref, const struct kube_opts *o,
		  cJSON **ret, struct op_err *err)
{
	return run(k, V_LIST, ref, o, NULL, ret, err);
}

/* A watch's call: its end is call_done()'s (`c` first), its events the caller's. */
struct watching {
	struct call c;
	int (*on_event)(const char *type, const cJSON *obj, void *payload);
	void *payload;
};

/* kube_watch() has one payload for both callbacks: ours, which passes the caller's on. */
static int watch_event(const char *type, const cJSON *obj, void *payload)
{
	struct watching *w = payload;

	return w->on_event(type, obj, w->payload);
}

int cli_kube_watch(struct cli_kube *k, const struct kube_ref *ref, const struct kube_opts *o,
		   int (*on_event)(const char *type, const cJSON *obj, void *payload),
		   void *payload, struct op_err *err)
{
	struct watching w = { .on_event = on_event, .payload = payload };
	int r;

	r = kube_watch(k->client, ref, o, watch_event, call_done, &w, NULL);
	if (r < 0)
		return op_err_set(err, r, "%s", op_strerror(r));
	r = call_wait(k, &w.c, err);
	cJSON_Delete(w.c.obj);
	return r;
}

int cli_kube_raw(struct cli_kube *k, const char *path, const struct kube_opts *o, cJSON **ret,
		 struct op_err *err)
{
	return run(k, V_RAW, NULL, o, path, ret, err);
}

/* A resource list (`path` /api/v1 or /apis/G/V): the entry `name` names. */
static bool find_resource(struct cli_kube *k, const char *path, const char *group,
			  const char *name, struct cli_resource *ret)
{
	struct op_err err = OP_ERR_INIT;
	const cJSON *e, *sn;
	cJSON *list = NULL;
	bool found = false;

	if (run(k, V_RAW, NULL, NULL, path, &list, &err) < 0)
		return false;
	cJSON_ArrayForEach(e, yj_get(list, "/resources")) {
		const char *res = yj_get_str(e, "/name"), *kind = yj_get_str(e, "/kind");
		const char *one = yj_get_str(e, "/singularName");

		if (!res || !kind || strchr(res, '/'))
			continue; /* a subresource */
		found = strcasecmp(res, name) == 0 || strcasecmp(kind, name) == 0 ||
			(one && strcasecmp(one, name) == 0);
		cJSON_ArrayForEach(sn, yj_get(e, "/shortNames"))
			found = found || (cJSON_IsString(sn) && strcasecmp(sn->valuestring, name) == 0);
		if (!found)
			continue;
		snprintf(ret->group, sizeof(ret->group), "%s", group);
		snprintf(ret->version, sizeof(ret->version), "%s",
			 strrchr(path, '/') + 1);
		snprintf(ret->resource, sizeof(ret->resource), "%s", res);
		snprintf(ret->kind, sizeof(ret->kind), "%s", kind);
		ret->namespaced = cJSON_IsTrue(yj_get(e, "/namespaced"));
		break;
	}
	cJSON_Delete(list);
	return found;
}

int cli_kube_resource(struct cli_kube *k, const char *arg, struct cli_resource *ret)
{
	struct op_err err = OP_ERR_INIT;
	_cleanup_free_ char *name = xstrdup(arg);
	char *dot = strchr(name, '.');
	const char *want_group = NULL;
	const cJSON *g;
	cJSON *groups = NULL;
	bool found = false;

	if (dot) { /* deployments.apps */
		*dot = '\0';
		want_group = dot + 1;
	}
	if (!want_group && find_resource(k, "/api/v1", "", name, ret))
		return 0;
	if (run(k, V_RAW, NULL, NULL, "/apis", &groups, &err) < 0)
		return -EIO;
	cJSON_ArrayForEach(g, yj_get(groups, "/groups")) {
		const char *gn = yj_get_str(g, "/name"), *gv = yj_get_str(g, "/preferredVersion/version");
		_cleanup_free_ char *path = NULL;

		if (!gn || !gv || (want_group && !streq(gn, want_group)))
			continue;
		path = xasprintf("/apis/%s/%s", gn, gv);
		if ((found = find_resource(k, path, gn, name, ret)))
			break;
	}
	cJSON_Delete(groups);
	return found ? 0 : -ENOENT;
}

int cli_kube_patch(struct cli_kube *k, const struct kube_ref *ref, const char *merge_patch,
		   cJSON **ret, struct op_err *err)
{
	return run(k, V_PATCH, ref, NULL, merge_patch, ret, err);
}

static void timer_fired(uv_timer_t *t)
{
	*(bool *)t->data = true;
}

static void timer_closed(uv_handle_t *h)
{
	*(bool *)h->data = true;
}

void cli_kube_sleep(struct cli_kube *k, uint64_t ms)
{
	uv_timer_t t;
	bool fired = false, done = false;

	uv_timer_init(&k->loop, &t);
	t.data = &fired;
	uv_timer_start(&t, timer_fired, ms, 0);
	while (!fired)
		uv_run(&k->loop, UV_RUN_ONCE);
	t.data = &done;
	uv_close((uv_handle_t *)&t, timer_closed);
	while (!done)
		uv_run(&k->loop, UV_RUN_ONCE);
}

struct set_call {
	bool done;
	int r;
	struct op_err err;
	cJSON *drift;
};

static void set_done(struct apply_result *res, void *payload)
{
	struct set_call *c = payload;

	c->done = true;
	c->r = res->r;
	c->err = res->err;
	c->drift = res->drift ? cJSON_Duplicate(res->drift, true) : cJSON_CreateArray();
}

int cli_kube_detect_drift(struct cli_kube *k, const cJSON *objects, const struct apply_opts *o,
			  cJSON **ret, struct op_err *err)
{
	struct apply_opts ao = *o;
	struct set_call c = { 0 };
	struct apply_run *run = NULL;
	int r;

	ao.detect_only = true;
	if (!k->mapper && (r = mapper_new(k->client, &k->mapper)) < 0)
		return op_err_set(err, r, "%s", op_strerror(r));
	r = apply_set(k->client, k->mapper, objects, &ao, set_done, &c, &run);
	if (r < 0)
		return op_err_set(err, r, "%s", op_strerror(r));
	while (!c.done)
		uv_run(&k->loop, UV_RUN_ONCE);
	if (c.r < 0) {
		*err = c.err;
		cJSON_Delete(c.drift);
		return c.r;
	}
	*ret = c.drift;
	return 0;
}
