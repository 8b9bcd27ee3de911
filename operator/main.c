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
 * Start-up: connect to the apiserver, open the artifact store, serve
 * /healthz, /readyz and /metrics at once; then, with leader election,
 * wait for the Lease (cflux-operator-leader-election in the runtime
 * namespace) before starting the controllers and the artifact server, as
 * source-controller does.  Losing the lease exits the process (as
 * controller-runtime does): a restarted pod is a clean follower.
 *
 * Shutdown: stop dispatching, let in-flight reconciles finish for up to
 * 25 s (--graceful-shutdown-timeout; a pod's default grace period is
 * 30 s), release the lease so a successor starts at once, then close
 * everything.  Reconciles still running at that deadline are cancelled
 * (mgr_close()) and waited for up to CANCEL_TIMEOUT_MS more: a fetch
 * notices within a fraction of a second.  One that does not (a request
 * to an apiserver that stopped answering) is abandoned: the lease is
 * released and the process exits 0 with _exit(), since freeing what that
 * reconcile still uses is exactly what must not happen.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/path.h"
#include "base/str.h"
#include "base/time.h"
#include "controllers.h"
#include "serve.h"
#include "source.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/lease.h"
#include "kube/mapper.h"
#include "remote.h"
#include "manager.h"
#include "notify.h"
#include "storage.h"
#include "trees.h"
#include "yj/yj.h"
#include "base/banned.h"

#ifndef CFLUX_VERSION
#define CFLUX_VERSION "0.0.0"
#endif

static const char *arg_kubeconfig;
static int arg_concurrent = 4;
static const char *arg_metrics_addr = ":8080";
static const char *arg_health_addr = ":9440";
static const char *arg_receiver_addr = ":9292";
static bool arg_leader_election = true;
static bool arg_watch_all_namespaces = true;
static const char *arg_watch_label_selector = "";
static bool arg_no_cross_namespace_refs;
static bool arg_insecure_kubeconfig_tls;
static const char *arg_default_service_account = "";
static const char *arg_storage_path = "/data";
static const char *arg_storage_addr = ":9090";
static const char *arg_storage_adv_addr = "";
static int64_t arg_requeue_dependency_ns = 30 * NSEC_PER_SEC;
static const char *arg_runtime_namespace;
static enum log_level arg_log_level = LOG_INFO;
static enum log_encoding arg_log_encoding = LOG_JSON;
static int64_t arg_shutdown_timeout_ns = 25 * NSEC_PER_SEC;
static int64_t arg_rate_limit_ns = 5 * 60 * NSEC_PER_SEC;
static int arg_stale_threshold = 3;
static int arg_extracted_max = 16;
static uint64_t arg_extracted_max_bytes = TREES_MAX_BYTES_DEFAULT;
/* --configuration-setting KEY=VALUE: Azure's configurationSettings, as the chart passes its values. */
static cJSON *arg_settings;

#define CANCEL_TIMEOUT_MS 3000

static uv_loop_t *loop;
static struct kube_client *client;
static struct serve_srv *health_srv, *metrics_srv, *storage_srv, *receiver_srv;
static struct receiver_srv receivers;
static struct ctl *ctl_receivers;
static struct storage *storage;
static struct mgr *mgr;
static struct notify *notifier;
static struct lease *lease;
static struct gitrepo_ctl gitrepo;
static struct ocirepo_ctl ocirepo;
static struct bucket_ctl bucket;
static struct helmrepo_ctl helmrepo;
static struct helmchart_ctl helmchart;
static struct ks_ctl kustomize;
static struct hr_ctl helmrel;
static struct ctl *ctl_helmreleases;
static struct fc_ctl fluxconfig;
static struct ext_ctl extension;
static struct ctl *ctl_kustomizations;
static struct kube_mapper *mapper;
static struct remotes *remotes; /* spec.kubeConfig's clusters, every kind's */
static char *extract_root;
static uv_signal_t sig_term, sig_int;
static uv_timer_t probe_timer, cancel_timer;
static bool api_ready, shutting_down, abandoning;

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
	OPT_INSECURE_KUBECONFIG_TLS,
	OPT_STORAGE_PATH,
	OPT_STORAGE_ADDR,
	OPT_STORAGE_ADV_ADDR,
	OPT_REQUEUE_DEP,
	OPT_SHUTDOWN_TIMEOUT,
	OPT_EXTRACTED_MAX,
	OPT_EXTRACTED_MAX_BYTES,
	OPT_SETTING,
	OPT_RATE_LIMIT,
	OPT_RECEIVER_ADDR,
	OPT_STALE_THRESHOLD,
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
	      "  --insecure-kubeconfig-tls[=BOOL] let spec.kubeConfig skip TLS verification\n"
	      "  --storage-path=DIR              artifact storage (default /data)\n"
	      "  --storage-addr=ADDR             artifact server (default :9090)\n"
	      "  --storage-adv-addr=HOST:PORT    address advertised in artifact URLs\n"
	      "  --requeue-dependency=DURATION   wait between dependency checks (default 30s)\n"
	      "  --graceful-shutdown-timeout=DURATION  wait for reconciles on SIGTERM (default 25s)\n"
	      "  --extracted-artifacts-max=N     artifact trees kept extracted for builds (default 16)\n"
	      "  --extracted-artifacts-max-bytes=N  and their bytes in all (default 1073741824)\n"
	      "  --stale-threshold=N             the Stale condition after N intervals with no\n"
	      "                                  successful reconcile (default 3; 0 disables)\n"
	      "  --receiver-addr=ADDR            Receivers' webhooks, /hook/... (default :9292;\n"
	      "                                  0 disables)\n"
	      "  --rate-limit-interval=DURATION  drop a notification repeating one sent this\n"
	      "                                  recently (default 5m)\n"
	      "  --configuration-setting=KEY=VALUE  one of the microsoft.flux extension's\n"
	      "                                  configurationSettings (repeatable; an Extension\n"
	      "                                  object overrides them live)\n"
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
		{ "insecure-kubeconfig-tls", optional_argument, NULL, OPT_INSECURE_KUBECONFIG_TLS },
		{ "storage-path", required_argument, NULL, OPT_STORAGE_PATH },
		{ "storage-addr", required_argument, NULL, OPT_STORAGE_ADDR },
		{ "storage-adv-addr", required_argument, NULL, OPT_STORAGE_ADV_ADDR },
		{ "requeue-dependency", required_argument, NULL, OPT_REQUEUE_DEP },
		{ "graceful-shutdown-timeout", required_argument, NULL, OPT_SHUTDOWN_TIMEOUT },
		{ "extracted-artifacts-max", required_argument, NULL, OPT_EXTRACTED_MAX },
		{ "extracted-artifacts-max-bytes", required_argument, NULL,
		  OPT_EXTRACTED_MAX_BYTES },
		{ "configuration-setting", required_argument, NULL, OPT_SETTING },
		{ "rate-limit-interval", required_argument, NULL, OPT_RATE_LIMIT },
		{ "receiver-addr", required_argument, NULL, OPT_RECEIVER_ADDR },
		{ "stale-threshold", required_argument, NULL, OPT_STALE_THRESHOLD },
		{ "receiverAddr", required_argument, NULL, OPT_RECEIVER_ADDR },
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
		case OPT_INSECURE_KUBECONFIG_TLS:
			if (parse_bool(opts[idx].name, optarg, &arg_insecure_kubeconfig_tls) < 0)
				return -EINVAL;
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
		case OPT_STALE_THRESHOLD:
			if (parse_int(optarg, &arg_stale_threshold) < 0 || arg_stale_threshold < 0 ||
			    arg_stale_threshold > 1000) {
				fprintf(stderr, "cflux-operator: invalid --stale-threshold \"%s\"\n",
					optarg);
				return -EINVAL;
			}
			break;
		case OPT_RECEIVER_ADDR:
			arg_receiver_addr = optarg;
			break;
		case OPT_RATE_LIMIT:
			if (duration_parse(optarg, &arg_rate_limit_ns) < 0 || arg_rate_limit_ns <= 0) {
				fprintf(stderr, "cflux-operator: invalid --rate-limit-interval \"%s\"\n",
					optarg);
				return -EINVAL;
			}
			break;
		case OPT_SHUTDOWN_TIMEOUT:
			if (duration_parse(optarg, &arg_shutdown_timeout_ns) < 0 ||
			    arg_shutdown_timeout_ns < 0) {
				fprintf(stderr,
					"cflux-operator: invalid --graceful-shutdown-timeout \"%s\"\n",
					optarg);
				return -EINVAL;
			}
			break;
		case OPT_EXTRACTED_MAX:
			if (parse_int(optarg, &arg_extracted_max) < 0 || arg_extracted_max < 1) {
				fprintf(stderr, "cflux-operator: invalid --extracted-artifacts-max \"%s\"\n",
					optarg);
				return -EINVAL;
			}
			break;
		case OPT_EXTRACTED_MAX_BYTES:
			if (parse_uint64(optarg, &arg_extracted_max_bytes) < 0 ||
			    arg_extracted_max_bytes == 0) {
				fprintf(stderr,
					"cflux-operator: invalid --extracted-artifacts-max-bytes \"%s\"\n",
					optarg);
				return -EINVAL;
			}
			break;
		case OPT_SETTING: {
			const char *eq = strchr(optarg, '=');
			char *k;

			if (!eq || eq == optarg) {
				fprintf(stderr, "cflux-operator: invalid --configuration-setting \"%s\" "
						"(want KEY=VALUE)\n", optarg);
				return -EINVAL;
			}
			if (!arg_settings)
				arg_settings = cJSON_CreateObject();
			k = xstrndup(optarg, (size_t)(eq - optarg));
			cJSON_DeleteItemFromObjectCaseSensitive(arg_settings, k);
			cJSON_AddStringToObject(arg_settings, k, eq + 1);
			free(k);
			break;
		}
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
	arg_log_level = level;
	arg_log_encoding = enc;
	arg_runtime_namespace = getenv("RUNTIME_NAMESPACE");
	return 0;
}

static int health_handler_fn(const char *path, struct buf *out, char **ret_file,
			     void *payload)
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

static int metrics_handler_fn(const char *path, struct buf *out, char **ret_file,
			      void *payload)
{
	if (!streq(path, "/metrics"))
		return 404;
	if (mgr)
		mgr_metrics(mgr, out);
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

static const char *runtime_namespace(void);

static void probe(uv_timer_t *t)
{
	static bool swept;

	if (shutting_down)
		return;
	kube_get_raw(client, "/readyz", NULL, probe_done, NULL);
	/*
	 * Once the caches are complete, the store's leftovers of objects
	 * deleted while stopped can go.  Not with a label selector: objects
	 * outside it are not ours to judge.
	 */
	if (!swept && mgr && mgr_synced(mgr) && !(arg_watch_label_selector &&
						   *arg_watch_label_selector)) {
		swept = true;
		source_sweep(loop, mgr, storage,
			     arg_watch_all_namespaces ? NULL : runtime_namespace());
	}
}

static void close_client(void *payload)
{
	kube_client_close(client, NULL, NULL);
	client = NULL;
}

static void lease_closed(void *payload)
{
	close_client(NULL);
}

static void lease_released(void *payload)
{
	lease_close(lease, lease_closed, NULL);
	lease = NULL;
}

static void notifier_closed(void *payload);

static void mgr_closed(void *payload)
{
	mgr = NULL;
	ks_ctl_release(&kustomize);
	helmrepo_ctl_release(&helmrepo);
	remotes_free(remotes);
	remotes = NULL;
	uv_close((uv_handle_t *)&cancel_timer, NULL);
	if (abandoning)
		return; /* abandoned() ends the process */
	notify_close(notifier, notifier_closed, NULL);
}

/* After the manager: no reconcile records events any more. */
static void notifier_closed(void *payload)
{
	notifier = NULL;
	mapper_free(mapper);
	mapper = NULL;
	if (extract_root) {
		path_remove_all(extract_root);
		free(extract_root);
		extract_root = NULL;
	}
	if (lease)
		lease_release(lease, lease_released, NULL);
	else
		close_client(NULL);
}

static void abandoned(void *payload)
{
	log_info(NULL, "Stopped", NULL);
	_exit(0);
}

/* Cancelled reconciles did not end in time: see the top comment. */
static void cancel_expired(uv_timer_t *t)
{
	log_error(NULL, "Cancelled reconciles did not end; exiting without them", NULL);
	abandoning = true;
	if (lease)
		lease_release(lease, abandoned, NULL);
	else
		abandoned(NULL);
}

static void drained(int status, void *payload)
{
	if (status < 0) {
		log_error(NULL, "Reconciles still running at the deadline are cancelled", NULL);
		uv_timer_start(&cancel_timer, cancel_expired, CANCEL_TIMEOUT_MS, 0);
	}
	mgr_close(mgr, mgr_closed, NULL);
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
	serve_close(health_srv, NULL, NULL);
	serve_close(metrics_srv, NULL, NULL);
	serve_close(storage_srv, NULL, NULL);
	storage_srv = NULL;
	serve_close(receiver_srv, NULL, NULL);
	receiver_srv = NULL;
	uv_signal_stop(&sig_int);
	uv_close((uv_handle_t *)&sig_int, NULL);
	uv_signal_stop(&sig_term);
	uv_close((uv_handle_t *)&sig_term, NULL);
	mgr_drain(mgr, (uint64_t)(arg_shutdown_timeout_ns / NSEC_PER_MSEC), drained, NULL);
}

static void start_controllers(void *payload)
{
	struct op_err err = OP_ERR_INIT;
	int r;

	if (shutting_down)
		return;
	log_info(NULL, "Starting controllers", NULL);
	r = serve_listen(loop, arg_storage_addr, storage_http_handler, storage, &storage_srv,
			  &err);
	if (r < 0)
		log_error(NULL, "Unable to start the artifact server", "error", err.msg, NULL);
	r = mgr_start(mgr);
	if (r == 0)
		r = notify_start(notifier);
	if (r < 0) {
		log_error(NULL, "Unable to start the controllers", "error", op_strerror(r), NULL);
		exit(1);
	}
}

static void stopped_leading(void *payload)
{
	if (shutting_down)
		return;
	log_error(NULL, "Leader election lost", NULL);
	exit(1);
}

static void new_leader(const char *identity, void *payload)
{
	log_info(NULL, "New leader elected", "leader", identity, NULL);
}

static const char *runtime_namespace(void)
{
	const char *ns = arg_runtime_namespace;

	if (!ns || !*ns)
		ns = kube_client_namespace(client);
	return ns && *ns ? ns : "flux-system";
}

/* The Extension's settings (or the flags', when it goes away), applied live. */
static void apply_settings(const struct ext_settings *s, void *payload)
{
	struct ctl *src = NULL;

	/* source-controller's settings reach every source kind. */
	while ((src = mgr_next_source(mgr, src))) {
		ctl_set_enabled(src, s->source_enabled, "source-controller.enabled");
		ctl_set_concurrent(src, s->source_concurrent);
	}
	ctl_set_enabled(ctl_kustomizations, s->kustomize_enabled, "kustomize-controller.enabled");
	ctl_set_concurrent(ctl_kustomizations, s->kustomize_concurrent);
	ctl_set_enabled(ctl_helmreleases, s->helm_enabled, "helm-controller.enabled");
	ctl_set_enabled(ctl_receivers, s->notification_enabled, "notification-controller.enabled");
	ctl_set_concurrent(ctl_helmreleases, s->helm_concurrent);
	helmrel.requeue_dependency_ms = s->requeue_dependency_ms;
	helmrel.no_cross_ns = s->multi_tenancy;
	if (s->log_level_set)
		log_setup(s->log_level, arg_log_encoding, STDERR_FILENO);
	kustomize.requeue_dependency_ms = s->requeue_dependency_ms;
	kustomize.no_cross_ns = s->multi_tenancy;
	/* Azure's multi-tenancy: Flux's lockdown flags, applier flux-applier by default. */
	kustomize.default_sa = s->multi_tenancy && !*arg_default_service_account ?
				       "flux-applier" :
				       arg_default_service_account;
	kustomize.strict_substitution = s->strict_substitution;
	helmrel.default_sa = kustomize.default_sa;
	notify_set_enabled(notifier, s->notification_enabled);
	fluxconfig.applier = s->multi_tenancy ? kustomize.default_sa : NULL;
}

/*
 * The --configuration-setting values over the flags' settings: checked as
 * an Extension's are (a bad value stops the start, naming the key), then
 * applied.  Keys cflux does not use are logged, as Azure lists them.
 */
static int apply_flag_settings(struct op_err *err)
{
	cJSON *notes = cJSON_CreateArray(), *it;
	char msg[512];
	int r = 0;

	if (arg_settings &&
	    ext_parse_settings(arg_settings, &extension.base, msg, sizeof(msg), notes) < 0)
		r = op_err_set(err, -EINVAL, "--configuration-setting: %s", msg);
	if (arg_settings && r == 0) {
		/* configurationSettings hold no secrets (those are protected settings). */
		char *text = cJSON_PrintUnformatted(arg_settings);

		log_info(NULL, "Configuration settings", "settings", text, NULL);
		cJSON_free(text);
	}
	cJSON_ArrayForEach(it, notes)
		log_info(NULL, "Configuration setting ignored", "message",
			 cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "message")), NULL);
	cJSON_Delete(notes);
	cJSON_Delete(arg_settings);
	arg_settings = NULL;
	if (r == 0)
		apply_settings(&extension.base, NULL);
	return r;
}

/* Every reconciler's Event, offered to the Alerts (manager.h's event hook). */
static void event_to_notify(void *payload, const struct ctl *ctl, const struct kobj *obj,
			    const char *type, const char *reason, const char *msg,
			    const cJSON *annotations)
{
	const struct ctl_desc *d = ctl_desc(ctl);
	struct notify_event ev = {
		.api_version = d->api_version,
		.kind = d->kind,
		.ns = obj->ns,
		.name = obj->name,
		.uid = obj->uid,
		.resource_version = obj->rv,
		.labels = yj_get(obj->json, "/metadata/labels"),
		.type = type,
		.reason = reason,
		.message = msg,
		.component = d->component,
		.metadata = annotations,
	};

	notify_event(payload, &ev);
}

static int setup_controllers(struct op_err *err)
{
	struct mgr_opts mo = {
		.client = client,
		.watch_namespace = arg_watch_all_namespaces ? NULL : runtime_namespace(),
		.label_selector = arg_watch_label_selector,
		.concurrent = (unsigned)arg_concurrent,
		.requeue_jitter = 0.05,
		.stale_intervals = (unsigned)arg_stale_threshold,
	};
	const char *tmp = getenv("TMPDIR");
	struct ctl *ctl;
	char *adv = NULL;
	int r;

	if (!*arg_storage_adv_addr) {
		/* source-controller's default: the pod's hostname and the storage port. */
		char host[256] = "localhost";
		const char *port = strrchr(arg_storage_addr, ':');

		gethostname(host, sizeof(host) - 1);
		adv = xasprintf("%s%s", host, port ? port : ":9090");
	}
	r = storage_new(arg_storage_path, adv ? adv : arg_storage_adv_addr, &storage, err);
	free(adv);
	if (r < 0)
		return r;
	r = mgr_new(&mo, &mgr);
	if (r < 0)
		return op_err_set(err, r, "cannot create the manager");
	{
		struct notify_opts no = {
			.client = client,
			.watch_namespace = mo.watch_namespace,
			.rate_limit_ms = (uint64_t)(arg_rate_limit_ns / NSEC_PER_MSEC),
			.no_cross_ns = arg_no_cross_namespace_refs,
		};

		r = notify_new(&no, &notifier);
		if (r < 0)
			return op_err_set(err, r, "cannot create the notifier");
		mgr_set_event_hook(mgr, event_to_notify, notifier);
	}
	gitrepo.storage = storage;
	gitrepo.tmp_root = tmp && *tmp ? tmp : "/tmp";
	r = mapper_new(client, &mapper);
	if (r < 0)
		return op_err_set(err, r, "cannot create the REST mapper");
	/* Extracted artifacts are a cache: start each process with an empty one. */
	extract_root = xasprintf("%s/cflux-artifacts-%d", gitrepo.tmp_root, (int)getpid());
	if (mkdir(extract_root, 0700) < 0 && errno != EEXIST)
		return op_err_set(err, -errno, "cannot create '%s': %s", extract_root,
				  op_strerror(errno));
	kustomize.storage = storage;
	kustomize.mapper = mapper;
	kustomize.extract_root = extract_root;
	kustomize.max_trees = (unsigned)arg_extracted_max;
	kustomize.max_tree_bytes = arg_extracted_max_bytes;
	kustomize.requeue_dependency_ms = (uint64_t)(arg_requeue_dependency_ns / NSEC_PER_MSEC);
	kustomize.no_cross_ns = arg_no_cross_namespace_refs;
	remotes = remotes_new(loop, arg_insecure_kubeconfig_tls);
	kustomize.remotes = remotes;
	kustomize.default_sa = arg_default_service_account;
	/* The source kinds first: the consumers below watch every one added. */
	r = mgr_add(mgr, &gitrepository_desc, &gitrepo, &ctl);
	if (r < 0)
		return op_err_set(err, r, "cannot add the %s controller", gitrepository_desc.name);
	gitrepository_watch_includes(ctl);
	ocirepo.storage = storage;
	ocirepo.tmp_root = gitrepo.tmp_root;
	r = mgr_add(mgr, &ocirepository_desc, &ocirepo, &ctl);
	if (r < 0)
		return op_err_set(err, r, "cannot add the %s controller", ocirepository_desc.name);
	bucket.storage = storage;
	bucket.tmp_root = gitrepo.tmp_root;
	r = mgr_add(mgr, &bucket_desc, &bucket, &ctl);
	if (r < 0)
		return op_err_set(err, r, "cannot add the %s controller", bucket_desc.name);
	helmrepo.storage = storage;
	helmrepo.tmp_root = gitrepo.tmp_root;
	r = mgr_add(mgr, &helmrepository_desc, &helmrepo, &ctl);
	if (r < 0)
		return op_err_set(err, r, "cannot add the %s controller", helmrepository_desc.name);
	helmchart.storage = storage;
	helmchart.tmp_root = gitrepo.tmp_root;
	r = mgr_add(mgr, &helmchart_desc, &helmchart, &ctl);
	if (r < 0)
		return op_err_set(err, r, "cannot add the %s controller", helmchart_desc.name);
	helmchart_watch_repositories(ctl);
	r = mgr_add(mgr, &kustomization_desc, &kustomize, &ctl_kustomizations);
	if (r < 0)
		return op_err_set(err, r, "cannot add the %s controller", kustomization_desc.name);
	helmrel.storage = storage;
	helmrel.tmp_root = gitrepo.tmp_root;
	helmrel.mapper = mapper;
	helmrel.remotes = remotes;
	helmrel.requeue_dependency_ms = kustomize.requeue_dependency_ms;
	helmrel.no_cross_ns = arg_no_cross_namespace_refs;
	helmrel.default_sa = arg_default_service_account;
	r = mgr_add(mgr, &helmrelease_desc, &helmrel, &ctl_helmreleases);
	if (r < 0)
		return op_err_set(err, r, "cannot add the %s controller", helmrelease_desc.name);
	helmrelease_watch_sources(ctl_helmreleases);
	r = mgr_add(mgr, &receiver_desc, NULL, &ctl_receivers);
	if (r < 0)
		return op_err_set(err, r, "cannot add the %s controller", receiver_desc.name);
	/* Every replica answers webhooks (they only annotate; the leader reconciles). */
	receivers = (struct receiver_srv){ .client = client, .watch_ns = mo.watch_namespace,
					   .no_cross_ns = arg_no_cross_namespace_refs };
	r = serve_listen_hooks(loop, arg_receiver_addr, receiver_hook, 4u << 20, &receivers,
			       &receiver_srv, err);
	if (r < 0)
		return r;
	fluxconfig.kustomizations = ctl_kustomizations;
	fluxconfig.resync_ms = 10 * 60 * 1000;
	kustomization_watch_sources(fluxconfig.kustomizations);
	r = mgr_add(mgr, &fluxconfiguration_desc, &fluxconfig, &extension.fluxconfigs);
	if (r < 0)
		return op_err_set(err, r, "cannot add the %s controller",
				  fluxconfiguration_desc.name);
	fluxconfig_watch_children(extension.fluxconfigs);
	extension.version = CFLUX_VERSION;
	extension.ns = runtime_namespace();
	extension.apply = apply_settings;
	extension.base = (struct ext_settings){
		.source_enabled = true,
		.kustomize_enabled = true,
		.helm_enabled = true,
		.notification_enabled = true,
		.helm_concurrent = (unsigned)arg_concurrent,
		.source_concurrent = (unsigned)arg_concurrent,
		.kustomize_concurrent = (unsigned)arg_concurrent,
		.log_level_set = true,
		.log_level = arg_log_level,
		.requeue_dependency_ms = kustomize.requeue_dependency_ms,
		.multi_tenancy = arg_no_cross_namespace_refs,
		.strict_substitution = false,
	};
	r = mgr_add(mgr, &extension_desc, &extension, &ctl);
	if (r < 0)
		return op_err_set(err, r, "cannot add the %s controller", extension_desc.name);
	r = apply_flag_settings(err);
	if (r < 0)
		return r;
	if (!arg_leader_election) {
		start_controllers(NULL);
		return 0;
	}
	{
		/*
		 * In a pod, the identity is its name and UID (POD_UID, from the
		 * downward API): when the kubelet restarts a killed container
		 * in the same pod, the holder is itself and it takes the Lease
		 * back at once, where a new random identity (lease.c's default,
		 * used elsewhere) waits out the 35 s, as Flux's controllers do.
		 */
		const char *uid = getenv("POD_UID");
		_cleanup_free_ char *identity = NULL;
		char host[128];

		if (uid && *uid && gethostname(host, sizeof(host)) == 0) {
			host[sizeof(host) - 1] = '\0';
			identity = xasprintf("%s_%s", host, uid);
		}
		struct lease_opts lo = {
			.ns = runtime_namespace(),
			.name = "cflux-operator-leader-election",
			.identity = identity,
			.lease_duration_ms = 35000,
			.renew_deadline_ms = 30000,
			.retry_period_ms = 5000,
			.on_started_leading = start_controllers,
			.on_stopped_leading = stopped_leading,
			.on_new_leader = new_leader,
		};

		r = lease_new(client, &lo, &lease);
		if (r == 0)
			r = lease_start(lease);
		if (r < 0)
			return op_err_set(err, r, "cannot start leader election");
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct kube_config *cfg = NULL;
	struct op_err err = OP_ERR_INIT;
	int r;

	if (parse_args(argc, argv) < 0)
		return 2;
	/*
	 * The process's policy, set here and nowhere in lib/: a peer that
	 * hangs up on one of our sockets (libuv writes without MSG_NOSIGNAL)
	 * is an error on that connection, not the end of the process.
	 */
	signal(SIGPIPE, SIG_IGN);
	loop = uv_default_loop();
	r = kube_config_load(arg_kubeconfig, NULL, &cfg, &err);
	if (r == 0)
		r = kube_client_new(loop, cfg, &client, &err);
	kube_config_free(cfg);
	if (r < 0) {
		log_error(NULL, "Unable to create a Kubernetes client", "error", err.msg, NULL);
		return 1;
	}
	r = serve_listen(loop, arg_health_addr, health_handler_fn, NULL, &health_srv, &err);
	if (r == 0)
		r = serve_listen(loop, arg_metrics_addr, metrics_handler_fn, NULL, &metrics_srv,
				  &err);
	if (r < 0) {
		log_error(NULL, "Unable to start the health and metrics endpoints", "error", err.msg,
			  NULL);
		kube_client_close(client, NULL, NULL);
		uv_run(loop, UV_RUN_DEFAULT);
		return 1;
	}
	r = setup_controllers(&err);
	if (r < 0) {
		log_error(NULL, "Unable to start", "error", err.msg, NULL);
		return 1;
	}
	uv_signal_init(loop, &sig_term);
	uv_signal_start(&sig_term, shutdown_start, SIGTERM);
	uv_signal_init(loop, &sig_int);
	uv_signal_start(&sig_int, shutdown_start, SIGINT);
	uv_timer_init(loop, &probe_timer);
	uv_timer_init(loop, &cancel_timer);
	uv_timer_start(&probe_timer, probe, 0, 10000);
	log_info(NULL, "Starting cflux-operator", "version", CFLUX_VERSION, "server",
		 kube_client_server(client), NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	storage_free(storage);
	r = uv_loop_close(loop);
	if (r < 0) {
		log_error(NULL, "Event loop did not close", "error", uv_strerror(r), NULL);
		return 1;
	}
	log_info(NULL, "Stopped", NULL);
	return 0;
}
