/*
 * main.c: the cflux-operator process: flags, logging, signals, the loop.
 *
 * DESIGN
 * Flags mirror Flux's controllers (and controller-runtime's), so a user's
 * muscle memory and existing manifests carry over; they land in arg_*
 * globals, the only mutable globals besides the log level (STYLE.md §10).
 * Boolean flags accept "--x", "--x=true" and "--x=false" as Go's flag
 * package does.
 *
 * The loop thread owns everything.  SIGTERM/SIGINT start an orderly
 * shutdown: stop serving, close every handle, run the loop until
 * uv_loop_close() succeeds, exit 0.  A second signal exits at once.
 *
 * The reconcilers are not wired in yet (issue #6): the process connects to
 * the apiserver, serves /healthz, /readyz (ready once the apiserver has
 * answered) and /metrics, and shuts down cleanly.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "health.h"
#include "kube/client.h"
#include "kube/config.h"
#include "base/banned.h"

#ifndef CFLUX_VERSION
#define CFLUX_VERSION "0.0.0"
#endif

static const char *arg_kubeconfig;
static int arg_concurrent = 4;
static const char *arg_metrics_addr = ":8080";
static const char *arg_health_addr = ":9440";
static bool arg_leader_election = true;
static bool arg_watch_all_namespaces = true;
static const char *arg_watch_label_selector = "";
static bool arg_no_cross_namespace_refs;
static const char *arg_default_service_account = "";
static const char *arg_storage_path = "/data";
static const char *arg_storage_addr = ":9090";
static const char *arg_storage_adv_addr = "";
static int64_t arg_requeue_dependency_ns = 30 * NSEC_PER_SEC;
static const char *arg_runtime_namespace;

static uv_loop_t *loop;
static struct kube_client *client;
static struct health_srv *health_srv, *metrics_srv;
static uv_signal_t sig_term, sig_int;
static uv_timer_t probe_timer;
static bool api_ready, shutting_down;

enum {
	OPT_KUBECONFIG = 256,
	OPT_CONCURRENT,
	OPT_LOG_LEVEL,
	OPT_LOG_ENCODING,
	OPT_METRICS_ADDR,
	OPT_HEALTH_ADDR,
	OPT_LEADER,
	OPT_WATCH_ALL,
	OPT_WATCH_SELECTOR,
	OPT_NO_CROSS_NS,
	OPT_DEFAULT_SA,
	OPT_STORAGE_PATH,
	OPT_STORAGE_ADDR,
	OPT_STORAGE_ADV_ADDR,
	OPT_REQUEUE_DEP,
	OPT_VERSION,
	OPT_HELP,
};

static void usage(FILE *f)
{
	fputs("usage: cflux-operator [flags]\n"
	      "\n"
	      "cflux keeps a Kubernetes cluster in the state a Git repository describes.\n"
	      "\n"
	      "  --kubeconfig=PATH               kubeconfig (default: $KUBECONFIG, in-cluster, ~/.kube/config)\n"
	      "  --concurrent=N                  concurrent reconciles per kind (default 4)\n"
	      "  --log-level=error|info|debug|trace   (default info)\n"
	      "  --log-encoding=json|console     (default json)\n"
	      "  --metrics-addr=ADDR             Prometheus /metrics (default :8080; 0 disables)\n"
	      "  --health-addr=ADDR              /healthz and /readyz (default :9440; 0 disables)\n"
	      "  --enable-leader-election[=BOOL] (default true)\n"
	      "  --watch-all-namespaces[=BOOL]   (default true; false: the runtime namespace only)\n"
	      "  --watch-label-selector=SEL      only objects matching SEL\n"
	      "  --no-cross-namespace-refs[=BOOL] refuse references to other namespaces\n"
	      "  --default-service-account=NAME  impersonate this SA when none is set\n"
	      "  --storage-path=DIR              artifact storage (default /data)\n"
	      "  --storage-addr=ADDR             artifact server (default :9090)\n"
	      "  --storage-adv-addr=HOST:PORT    address advertised in artifact URLs\n"
	      "  --requeue-dependency=DURATION   wait between dependency checks (default 30s)\n"
	      "  --version                       print the version and exit\n",
	      f);
}

static int parse_bool(const char *name, const char *v, bool *ret)
{
	if (!v || streq(v, "true") || streq(v, "1") || streq(v, "t") || streq(v, "True")) {
		*ret = true;
		return 0;
	}
	if (streq(v, "false") || streq(v, "0") || streq(v, "f") || streq(v, "False")) {
		*ret = false;
		return 0;
	}
	fprintf(stderr, "cflux-operator: invalid boolean value \"%s\" for --%s\n", v, name);
	return -EINVAL;
}

static int parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kubeconfig", required_argument, NULL, OPT_KUBECONFIG },
		{ "concurrent", required_argument, NULL, OPT_CONCURRENT },
		{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
		{ "log-encoding", required_argument, NULL, OPT_LOG_ENCODING },
		{ "metrics-addr", required_argument, NULL, OPT_METRICS_ADDR },
		{ "health-addr", required_argument, NULL, OPT_HEALTH_ADDR },
		{ "enable-leader-election", optional_argument, NULL, OPT_LEADER },
		{ "watch-all-namespaces", optional_argument, NULL, OPT_WATCH_ALL },
		{ "watch-label-selector", required_argument, NULL, OPT_WATCH_SELECTOR },
		{ "no-cross-namespace-refs", optional_argument, NULL, OPT_NO_CROSS_NS },
		{ "default-service-account", required_argument, NULL, OPT_DEFAULT_SA },
		{ "storage-path", required_argument, NULL, OPT_STORAGE_PATH },
		{ "storage-addr", required_argument, NULL, OPT_STORAGE_ADDR },
		{ "storage-adv-addr", required_argument, NULL, OPT_STORAGE_ADV_ADDR },
		{ "requeue-dependency", required_argument, NULL, OPT_REQUEUE_DEP },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	enum log_level level = LOG_INFO;
	enum log_encoding enc = LOG_JSON;
	int c, idx;

	/* Go's flag package also accepts a single dash. */
	while ((c = getopt_long_only(argc, argv, "", opts, &idx)) != -1) {
		switch (c) {
		case OPT_KUBECONFIG:
			arg_kubeconfig = optarg;
			break;
		case OPT_CONCURRENT:
			if (parse_int(optarg, &arg_concurrent) < 0 || arg_concurrent < 1) {
				fprintf(stderr, "cflux-operator: invalid --concurrent \"%s\"\n", optarg);
				return -EINVAL;
			}
			break;
		case OPT_LOG_LEVEL:
			if (log_parse_level(optarg, &level) < 0) {
				fprintf(stderr, "cflux-operator: invalid --log-level \"%s\" "
						"(error, info, debug, trace)\n", optarg);
				return -EINVAL;
			}
			break;
		case OPT_LOG_ENCODING:
			if (log_parse_encoding(optarg, &enc) < 0) {
				fprintf(stderr, "cflux-operator: invalid --log-encoding \"%s\" "
						"(json, console)\n", optarg);
				return -EINVAL;
			}
			break;
		case OPT_METRICS_ADDR:
			arg_metrics_addr = optarg;
			break;
		case OPT_HEALTH_ADDR:
			arg_health_addr = optarg;
			break;
		case OPT_LEADER:
			if (parse_bool(opts[idx].name, optarg, &arg_leader_election) < 0)
				return -EINVAL;
			break;
		case OPT_WATCH_ALL:
			if (parse_bool(opts[idx].name, optarg, &arg_watch_all_namespaces) < 0)
				return -EINVAL;
			break;
		case OPT_WATCH_SELECTOR:
			arg_watch_label_selector = optarg;
			break;
		case OPT_NO_CROSS_NS:
			if (parse_bool(opts[idx].name, optarg, &arg_no_cross_namespace_refs) < 0)
				return -EINVAL;
			break;
		case OPT_DEFAULT_SA:
			arg_default_service_account = optarg;
			break;
		case OPT_STORAGE_PATH:
			arg_storage_path = optarg;
			break;
		case OPT_STORAGE_ADDR:
			arg_storage_addr = optarg;
			break;
		case OPT_STORAGE_ADV_ADDR:
			arg_storage_adv_addr = optarg;
			break;
		case OPT_REQUEUE_DEP:
			if (duration_parse(optarg, &arg_requeue_dependency_ns) < 0) {
				fprintf(stderr, "cflux-operator: invalid --requeue-dependency \"%s\"\n",
					optarg);
				return -EINVAL;
			}
			break;
		case OPT_VERSION:
			printf("cflux-operator %s\n", CFLUX_VERSION);
			exit(0);
		case OPT_HELP:
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "cflux-operator: unexpected argument \"%s\"\n", argv[optind]);
		return -EINVAL;
	}
	log_setup(level, enc, STDERR_FILENO);
	arg_runtime_namespace = getenv("RUNTIME_NAMESPACE");
	return 0;
}

static int health_handler_fn(const char *path, struct buf *out, void *payload)
{
	if (streq(path, "/healthz") || streq(path, "/livez")) {
		buf_adds(out, "ok");
		return 200;
	}
	if (streq(path, "/readyz")) {
		buf_adds(out, api_ready && !shutting_down ? "ok" : "not ready");
		return api_ready && !shutting_down ? 200 : 503;
	}
	return 404;
}

static int metrics_handler_fn(const char *path, struct buf *out, void *payload)
{
	if (!streq(path, "/metrics"))
		return 404;
	buf_addf(out,
		 "# HELP cflux_build_info Build information.\n"
		 "# TYPE cflux_build_info gauge\n"
		 "cflux_build_info{version=\"%s\"} 1\n"
		 "# HELP cflux_apiserver_ready Whether the apiserver answered /readyz.\n"
		 "# TYPE cflux_apiserver_ready gauge\n"
		 "cflux_apiserver_ready %d\n",
		 CFLUX_VERSION, api_ready ? 1 : 0);
	return 200;
}

static void probe_done(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	if (r < 0 && !shutting_down && err)
		log_error(NULL, "Apiserver not ready", "error", err->msg, NULL);
	api_ready = r == 0;
}

static void probe(uv_timer_t *t)
{
	if (!shutting_down)
		kube_get_raw(client, "/readyz", NULL, probe_done, NULL);
}

static void shutdown_start(uv_signal_t *s, int signum)
{
	if (shutting_down) {
		/* A second signal: do not wait any longer. */
		_exit(1);
	}
	shutting_down = true;
	log_info(NULL, "Shutting down", "signal", signum == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
	uv_timer_stop(&probe_timer);
	uv_close((uv_handle_t *)&probe_timer, NULL);
	health_close(health_srv, NULL, NULL);
	health_close(metrics_srv, NULL, NULL);
	kube_client_close(client, NULL, NULL);
	client = NULL;
	uv_signal_stop(&sig_int);
	uv_close((uv_handle_t *)&sig_int, NULL);
	uv_signal_stop(&sig_term);
	uv_close((uv_handle_t *)&sig_term, NULL);
}

int main(int argc, char **argv)
{
	struct kube_config *cfg = NULL;
	struct op_err err = OP_ERR_INIT;
	int r;

	if (parse_args(argc, argv) < 0)
		return 2;
	loop = uv_default_loop();
	r = kube_config_load(arg_kubeconfig, NULL, &cfg, &err);
	if (r == 0)
		r = kube_client_new(loop, cfg, &client, &err);
	kube_config_free(cfg);
	if (r < 0) {
		log_error(NULL, "Unable to create a Kubernetes client", "error", err.msg, NULL);
		return 1;
	}
	r = health_listen(loop, arg_health_addr, health_handler_fn, NULL, &health_srv, &err);
	if (r == 0)
		r = health_listen(loop, arg_metrics_addr, metrics_handler_fn, NULL, &metrics_srv,
				  &err);
	if (r < 0) {
		log_error(NULL, "Unable to start the health and metrics endpoints", "error", err.msg,
			  NULL);
		kube_client_close(client, NULL, NULL);
		uv_run(loop, UV_RUN_DEFAULT);
		return 1;
	}
	uv_signal_init(loop, &sig_term);
	uv_signal_start(&sig_term, shutdown_start, SIGTERM);
	uv_signal_init(loop, &sig_int);
	uv_signal_start(&sig_int, shutdown_start, SIGINT);
	uv_timer_init(loop, &probe_timer);
	uv_timer_start(&probe_timer, probe, 0, 10000);
	log_info(NULL, "Starting cflux-operator", "version", CFLUX_VERSION, "server",
		 kube_client_server(client), NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	r = uv_loop_close(loop);
	if (r < 0) {
		log_error(NULL, "Event loop did not close", "error", uv_strerror(r), NULL);
		return 1;
	}
	log_info(NULL, "Stopped", NULL);
	return 0;
}
