/*
 * kubebench.c: figures for lib/kube against the local control plane.
 *
 *   kubebench informer-memory N   create N ConfigMaps, then measure the RSS
 *                                 an informer holding all of them adds
 *   kubebench watch-latency N     time from a create being sent to its ADD
 *                                 reaching the informer handler (median, p99)
 *   kubebench ssa N               server-side apply N ConfigMaps with 64 in
 *                                 flight over one connection; objects/second
 *   kubebench manifests N DIR     write the same N ConfigMaps as YAML into
 *                                 DIR, for timing `kubectl apply --server-side`
 *
 * Uses $KUBECONFIG; works in namespace "kubebench" (created if missing,
 * emptied by `kubebench clean`).  Prints one "name: value unit" line per
 * figure.  Not a test: test/bench/kube.sh runs it (`make bench-kube`).
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/alloc.h"
#include "base/str.h"
#include "kube/client.h"
#include "kube/informer.h"

#define NS "kubebench"

static uv_loop_t loop;
static struct kube_client *client;
static unsigned inflight, started, finished, failed, total;
static const char *mode_verb; /* "create" or "apply" */

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			v = strtol(line + 6, NULL, 10);
	fclose(f);
	return v;
}

static cJSON *configmap(unsigned i)
{
	cJSON *o = cJSON_CreateObject(), *meta, *data;
	char name[32], val[64];

	snprintf(name, sizeof(name), "cm-%06u", i);
	snprintf(val, sizeof(val), "value-%u-0123456789abcdef", i);
	cJSON_AddStringToObject(o, "apiVersion", "v1");
	cJSON_AddStringToObject(o, "kind", "ConfigMap");
	meta = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(meta, "name", name);
	cJSON_AddStringToObject(meta, "namespace", NS);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(meta, "labels"), "app", "kubebench");
	data = cJSON_AddObjectToObject(o, "data");
	cJSON_AddStringToObject(data, "key", val);
	cJSON_AddStringToObject(data, "config.yaml", "replicas: 0\nimage: nginx:1.27\n");
	return o;
}

static void pump(void);

static void one_done(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	inflight--;
	finished++;
	if (r < 0 && r != -EEXIST) {
		if (failed++ < 3)
			fprintf(stderr, "kubebench: %s\n", err ? err->msg : "error");
	}
	pump();
}

static void pump(void)
{
	while (started < total && inflight < 64) {
		struct kube_ref ref = { .version = "v1", .resource = "configmaps", .ns = NS };
		struct kube_opts o = KUBE_OPTS_INIT;
		cJSON *cm = configmap(started);
		char name[32];
		int r;

		snprintf(name, sizeof(name), "cm-%06u", started);
		o.field_manager = "kubebench";
		if (streq(mode_verb, "apply")) {
			ref.name = name;
			o.force = true;
			r = kube_apply(client, &ref, cm, &o, one_done, NULL);
		} else {
			r = kube_create(client, &ref, cm, &o, one_done, NULL);
		}
		cJSON_Delete(cm);
		if (r < 0) {
			fprintf(stderr, "kubebench: cannot start request: %d\n", r);
			exit(1);
		}
		started++;
		inflight++;
	}
}

static void bulk(const char *verb, unsigned n)
{
	mode_verb = verb;
	total = n;
	started = finished = failed = 0;
	pump();
	while (finished < total)
		uv_run(&loop, UV_RUN_ONCE);
}

static bool sync_done;
static void sync_cb(int r, const cJSON *obj, const struct op_err *err, void *p)
{
	sync_done = true;
}

static void ensure_namespace(void)
{
	struct kube_ref ref = { .version = "v1", .resource = "namespaces", .name = NS };
	struct kube_opts o = KUBE_OPTS_INIT;
	cJSON *ns = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
				"\"metadata\":{\"name\":\"" NS "\"}}");

	o.field_manager = "kubebench";
	sync_done = false;
	kube_apply(client, &ref, ns, &o, sync_cb, NULL);
	while (!sync_done)
		uv_run(&loop, UV_RUN_ONCE);
	cJSON_Delete(ns);
}

/* ---- watch latency ---- */

static uint64_t sent_at[100000], seen_at[100000];

static void lat_event(struct informer *inf, enum informer_event ev, struct kobj *obj,
		      struct kobj *old, void *payload)
{
	unsigned i;

	if (ev == INFORMER_ADD && sscanf(obj->name, "lat-%u", &i) == 1 && i < 100000)
		seen_at[i] = uv_hrtime();
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void watch_latency(unsigned n)
{
	struct informer_opts io = INFORMER_OPTS_INIT;
	struct informer *inf;
	uint64_t *d = xcalloc(n, sizeof(*d));
	unsigned i;

	io.ref.version = "v1";
	io.ref.resource = "configmaps";
	io.ref.ns = NS;
	io.label_selector = "bench=latency";
	informer_new(client, &io, lat_event, NULL, &inf);
	informer_start(inf);
	while (!informer_synced(inf))
		uv_run(&loop, UV_RUN_ONCE);
	for (i = 0; i < n; i++) {
		struct kube_ref ref = { .version = "v1", .resource = "configmaps", .ns = NS };
		char body[256];
		cJSON *cm;

		snprintf(body, sizeof(body),
			 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
			 "\"lat-%u\",\"labels\":{\"bench\":\"latency\"}}}", i);
		cm = cJSON_Parse(body);
		sent_at[i] = uv_hrtime();
		sync_done = false;
		kube_create(client, &ref, cm, NULL, sync_cb, NULL);
		while (!sync_done || !seen_at[i])
			uv_run(&loop, UV_RUN_ONCE);
		cJSON_Delete(cm);
		d[i] = seen_at[i] - sent_at[i];
	}
	qsort(d, n, sizeof(*d), cmp_u64);
	printf("watch-latency-median: %.2f ms\n", (double)d[n / 2] / 1e6);
	printf("watch-latency-p99: %.2f ms\n", (double)d[(n * 99) / 100] / 1e6);
	free(d);
	informer_close(inf, NULL, NULL);
}

static void informer_memory(unsigned n)
{
	struct informer_opts io = INFORMER_OPTS_INIT;
	struct informer *inf;
	long before, after;

	bulk("create", n);
	before = rss_kib();
	io.ref.version = "v1";
	io.ref.resource = "configmaps";
	io.ref.ns = NS;
	io.label_selector = "app=kubebench";
	informer_new(client, &io, lat_event, NULL, &inf);
	informer_start(inf);
	while (!informer_synced(inf))
		uv_run(&loop, UV_RUN_ONCE);
	after = rss_kib();
	printf("informer-objects: %zu\n", informer_size(inf));
	printf("informer-rss-added: %.1f MiB\n", (double)(after - before) / 1024.0);
	printf("process-rss: %.1f MiB\n", (double)after / 1024.0);
	informer_close(inf, NULL, NULL);
}

static void manifests(unsigned n, const char *dir)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		char path[4096];
		cJSON *cm = configmap(i);
		char *s = cJSON_PrintUnformatted(cm);
		FILE *f;

		snprintf(path, sizeof(path), "%s/cm-%06u.json", dir, i);
		f = fopen(path, "w");
		if (!f) {
			perror(path);
			exit(1);
		}
		fputs(s, f);
		fclose(f);
		free(s);
		cJSON_Delete(cm);
	}
}

int main(int argc, char **argv)
{
	struct kube_config *cfg = NULL;
	struct op_err err;
	unsigned n;
	int64_t v;

	if (argc < 3 || parse_int64(argv[2], &v) < 0 || v <= 0 || v > 100000) {
		fprintf(stderr, "usage: kubebench informer-memory|watch-latency|ssa|manifests N [DIR]\n");
		return 2;
	}
	n = (unsigned)v;
	if (streq(argv[1], "manifests")) {
		if (argc < 4)
			return 2;
		manifests(n, argv[3]);
		return 0;
	}
	uv_loop_init(&loop);
	if (kube_config_load(NULL, NULL, &cfg, &err) < 0 ||
	    kube_client_new(&loop, cfg, &client, &err) < 0) {
		fprintf(stderr, "kubebench: %s\n", err.msg);
		return 1;
	}
	kube_config_free(cfg);
	ensure_namespace();
	if (streq(argv[1], "informer-memory")) {
		informer_memory(n);
	} else if (streq(argv[1], "watch-latency")) {
		watch_latency(n);
	} else if (streq(argv[1], "ssa")) {
		uint64_t t0 = uv_hrtime();
		double secs;

		bulk("apply", n);
		secs = (double)(uv_hrtime() - t0) / 1e9;
		printf("ssa-objects: %u (failed %u)\n", n, failed);
		printf("ssa-seconds: %.2f s\n", secs);
		printf("ssa-rate: %.0f objects/s\n", n / secs);
	} else {
		fprintf(stderr, "kubebench: unknown mode '%s'\n", argv[1]);
		return 2;
	}
	kube_client_close(client, NULL, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	return uv_loop_close(&loop) == 0 ? 0 : 1;
}
