/*
 * benchfloor: the floor of `make bench` — what the apiserver itself
 * allows: every object of a directory of manifests server-side applied
 * by a minimal bulk client (64 requests in flight on one HTTP/2
 * connection, no reconciler, no dry-run, no inventory), then waited
 * Ready from watches.
 *
 *   benchfloor DIR LABEL_SELECTOR
 *
 * DIR holds *.yaml files (any depth); every object must carry the labels
 * LABEL_SELECTOR selects, so the wait needs one watch per kind.  Prints
 * "applied: N objects in S s", "ready: S s" and exits non-zero on any
 * failure.  Uses $KUBECONFIG.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

#include "apply/wait.h"
#include "base/alloc.h"
#include "base/buf.h"
#include "base/str.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/mapper.h"
#include "yj/yj.h"

#define INFLIGHT 64

static uv_loop_t loop;
static struct kube_client *client;
static struct kube_mapper *mapper;
static cJSON *objects;
static int next_obj, total, inflight, failed, done_count;
static bool waited;
static int wait_r;

static void load_dir(const char *dir)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort), i;

	for (i = 0; i < n; i++) {
		char *p = xasprintf("%s/%s", dir, names[i]->d_name);
		struct stat st;

		if (names[i]->d_name[0] != '.' && stat(p, &st) == 0) {
			if (S_ISDIR(st.st_mode)) {
				load_dir(p);
			} else if (str_endswith(p, ".yaml")) {
				struct yj_limits lim = YJ_LIMITS_DEFAULT;
				struct yj_stream s = { 0 };
				struct op_err err = OP_ERR_INIT;
				struct buf b = BUF_INIT(64u << 20);
				char chunk[65536];
				FILE *f = fopen(p, "r");
				size_t k;

				while (f && (k = fread(chunk, 1, sizeof(chunk), f)) > 0)
					buf_add(&b, chunk, k);
				if (f)
					fclose(f);
				if (yj_parse_stream(b.buf ? b.buf : "", b.len, &lim, &s, &err) < 0) {
					fprintf(stderr, "benchfloor: %s: %s\n", p, err.msg);
					exit(1);
				}
				for (k = 0; k < s.n; k++) {
					if (cJSON_IsObject(s.docs[k])) {
						cJSON_AddItemToArray(objects, s.docs[k]);
						s.docs[k] = NULL;
					}
				}
				yj_stream_release(&s);
				buf_release(&b);
			}
		}
		free(p);
		free(names[i]);
	}
	free(names);
}

static void start_more(void);

static void applied(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	inflight--;
	done_count++;
	if (r < 0) {
		failed++;
		fprintf(stderr, "benchfloor: apply failed: %s\n", err ? err->msg : op_strerror(r));
	}
	start_more();
}

struct resolving {
	cJSON *obj;
};

static void resolved(int r, const struct kube_mapping *m, const struct op_err *err, void *p)
{
	cJSON *o = p;
	struct kube_ref ref;
	struct kube_opts ko = KUBE_OPTS_INIT;

	if (r < 0) {
		applied(r, NULL, err, NULL);
		return;
	}
	ref = (struct kube_ref){ .group = m->group, .version = m->version, .resource = m->resource,
				 .ns = m->namespaced ? yj_get_str(o, "/metadata/namespace") : NULL,
				 .name = yj_get_str(o, "/metadata/name") };
	ko.field_manager = "benchfloor";
	ko.force = true;
	if (kube_apply(client, &ref, o, &ko, applied, NULL) < 0)
		applied(-EIO, NULL, NULL, NULL);
}

static void start_more(void)
{
	while (inflight < INFLIGHT && next_obj < total) {
		cJSON *o = cJSON_GetArrayItem(objects, next_obj++);

		inflight++;
		if (mapper_resolve(mapper, yj_get_str(o, "/apiVersion"), yj_get_str(o, "/kind"),
				   resolved, o) < 0)
			applied(-EIO, NULL, NULL, NULL);
	}
}

static void ready(const struct wait_result *res, void *payload)
{
	waited = true;
	wait_r = res->r;
	if (res->r < 0)
		fprintf(stderr, "benchfloor: %s\n", res->msg);
}

static void closed(void *p)
{
	*(bool *)p = true;
}

int main(int argc, char **argv)
{
	struct kube_config *cfg = NULL;
	struct op_err err = OP_ERR_INIT;
	uint64_t t0, t1, t2;
	bool is_closed = false;

	if (argc != 3) {
		fprintf(stderr, "usage: benchfloor DIR LABEL_SELECTOR\n");
		return 2;
	}
	uv_loop_init(&loop);
	if (kube_config_load(NULL, NULL, &cfg, &err) < 0 ||
	    kube_client_new(&loop, cfg, &client, &err) < 0) {
		fprintf(stderr, "benchfloor: %s\n", err.msg);
		return 1;
	}
	kube_config_free(cfg);
	mapper_new(client, &mapper);
	objects = cJSON_CreateArray();
	load_dir(argv[1]);
	total = cJSON_GetArraySize(objects);
	uv_update_time(&loop);
	t0 = uv_now(&loop);
	start_more();
	while (done_count < total)
		uv_run(&loop, UV_RUN_ONCE);
	uv_update_time(&loop);
	t1 = uv_now(&loop);
	printf("applied: %d objects in %.2f s (%d failed)\n", total, (double)(t1 - t0) / 1000.0,
	       failed);
	if (wait_ready(client, mapper, objects, argv[2], 15 * 60 * 1000, ready, NULL, NULL) < 0)
		return 1;
	while (!waited)
		uv_run(&loop, UV_RUN_ONCE);
	uv_update_time(&loop);
	t2 = uv_now(&loop);
	printf("ready: %.2f s\n", (double)(t2 - t0) / 1000.0);
	cJSON_Delete(objects);
	mapper_free(mapper);
	kube_client_close(client, closed, &is_closed);
	while (!is_closed)
		uv_run(&loop, UV_RUN_ONCE);
	uv_run(&loop, UV_RUN_DEFAULT);
	return failed || wait_r < 0 ? 1 : 0;
}
