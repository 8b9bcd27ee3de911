/*
 * itest.h: helpers for integration tests against the local control plane.
 *
 * Integration tests (test/integration/itest_<name>.c) use the unit harness
 * (TEST, ASSERT_*) and run with the control plane from test/cluster/up.sh
 * already up: test/run.sh exports KUBECONFIG (the admin kubeconfig,
 * build/cluster/kubeconfig) and CFLUX_CLUSTER_DIR.  Each test makes its own
 * loop and client, works in a namespace of its own (itest_namespace()),
 * and ends by closing everything and asserting uv_loop_close() == 0.
 *
 * itest_call() runs one asynchronous client call to completion: it spins
 * the loop until the callback has fired, so tests read top to bottom.
 */
#ifndef CFLUX_TEST_ITEST_H
#define CFLUX_TEST_ITEST_H

#include <cjson/cJSON.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "harness.h"
#include "kube/client.h"
#include "kube/config.h"

/* The result of one call, copied out of the callback. */
struct itest_result {
	bool done;
	int r;
	cJSON *obj; /* a copy; freed by itest_result_clear() */
	struct op_err err;
};

static inline void itest__cb(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct itest_result *res = payload;

	res->done = true;
	res->r = r;
	res->obj = obj ? cJSON_Duplicate(obj, 1) : NULL;
	if (err)
		res->err = *err;
}

static inline void itest_result_clear(struct itest_result *res)
{
	cJSON_Delete(res->obj);
	memset(res, 0, sizeof(*res));
}

/* Run the loop until *done (bounded by `ms` of loop time; fails the test). */
static inline void itest_wait(uv_loop_t *loop, const bool *done, uint64_t ms)
{
	uint64_t start = uv_now(loop);

	while (!*done) {
		uv_run(loop, UV_RUN_ONCE);
		uv_update_time(loop);
		if (uv_now(loop) - start > ms)
			harness__fail(__FILE__, __LINE__, "timed out after %llu ms",
				      (unsigned long long)ms);
	}
}

/*
 * `call` is an expression starting a request with itest__cb and &res, e.g.
 *   ITEST_CALL(loop, res, kube_get(c, &ref, NULL, itest__cb, &res));
 */
#define ITEST_CALL(loop, res, call)                                                                \
	do {                                                                                       \
		itest_result_clear(&(res));                                                        \
		ASSERT_OK(call);                                                                   \
		itest_wait((loop), &(res).done, 60000);                                            \
	} while (0)

/* A client from $KUBECONFIG; fails the test if there is none. */
static inline struct kube_client *itest_client(uv_loop_t *loop)
{
	struct kube_config *cfg = NULL;
	struct kube_client *c = NULL;
	struct op_err err;

	if (kube_config_load(NULL, NULL, &cfg, &err) < 0)
		harness__fail(__FILE__, __LINE__, "kubeconfig: %s", err.msg);
	if (kube_client_new(loop, cfg, &c, &err) < 0)
		harness__fail(__FILE__, __LINE__, "client: %s", err.msg);
	kube_config_free(cfg);
	return c;
}

static inline void itest__closed(void *payload)
{
	*(bool *)payload = true;
}

/* Close the client, drain the loop, and assert it closes cleanly. */
static inline void itest_finish(uv_loop_t *loop, struct kube_client *c)
{
	bool closed = false;

	if (c)
		kube_client_close(c, itest__closed, &closed);
	else
		closed = true;
	itest_wait(loop, &closed, 10000);
	uv_run(loop, UV_RUN_DEFAULT);
	ASSERT_EQ(uv_loop_close(loop), 0);
}

/*
 * Create a fresh namespace "<prefix>-<random>" and return its name; it is
 * deleted again by itest_delete_namespace().
 */
static inline char *itest_namespace(uv_loop_t *loop, struct kube_client *c, const char *prefix)
{
	struct kube_ref ref = { .version = "v1", .resource = "namespaces" };
	struct itest_result res = { 0 };
	char *name = xasprintf("%s-%08lx", prefix, (unsigned long)random() ^ (unsigned long)getpid());
	cJSON *ns = cJSON_CreateObject(), *meta = cJSON_AddObjectToObject(ns, "metadata");

	cJSON_AddStringToObject(ns, "apiVersion", "v1");
	cJSON_AddStringToObject(ns, "kind", "Namespace");
	cJSON_AddStringToObject(meta, "name", name);
	ITEST_CALL(loop, res, kube_create(c, &ref, ns, NULL, itest__cb, &res));
	if (res.r < 0)
		harness__fail(__FILE__, __LINE__, "create namespace %s: %s", name, res.err.msg);
	itest_result_clear(&res);
	cJSON_Delete(ns);
	return name;
}

static inline void itest_delete_namespace(uv_loop_t *loop, struct kube_client *c, char *name)
{
	struct kube_ref ref = { .version = "v1", .resource = "namespaces", .name = name };
	struct itest_result res = { 0 };

	ITEST_CALL(loop, res, kube_delete(c, &ref, NULL, itest__cb, &res));
	itest_result_clear(&res);
	free(name);
}

/* The whole output of the shell command `cmd` (a new string). */
static inline char *itest_run_out(const char *cmd)
{
	struct buf b = BUF_INIT(1 << 22);
	char chunk[4096];
	FILE *f = popen(cmd, "r");
	size_t n;

	if (!f)
		harness__fail(__FILE__, __LINE__, "cannot run '%s'", cmd);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	pclose(f);
	while (b.len && b.buf[b.len - 1] == '\n')
		buf_truncate(&b, b.len - 1);
	return buf_detach(&b, NULL);
}

/*
 * The fault-injecting proxy (test/faults) in front of `upstream` (an
 * https URL whose CA is the file `ca`): plain HTTP on 127.0.0.1:p->port.
 */
struct itest_proxy {
	pid_t pid;
	int port;
};

static inline void itest_proxy_start(struct itest_proxy *p, const char *upstream, const char *ca)
{
	extern char **environ;
	char *bin = itest_run_out("bash test/faults/build.sh");
	char *portfile = xasprintf("%s/port", harness_tmpdir());
	char *argv[] = { bin, (char *)"-listen", (char *)"127.0.0.1:0", (char *)"-upstream",
			 (char *)upstream, (char *)"-upstream-ca", (char *)ca, (char *)"-port-file",
			 portfile, NULL };
	int i;

	if (!upstream || !ca)
		harness__fail(__FILE__, __LINE__, "no upstream or CA for the fault proxy");
	if (posix_spawn(&p->pid, bin, NULL, NULL, argv, environ) != 0)
		harness__fail(__FILE__, __LINE__, "cannot start %s", bin);
	for (i = 0, p->port = 0; i < 200; i++) {
		FILE *f = fopen(portfile, "r");

		if (f) {
			if (fscanf(f, "%d", &p->port) != 1)
				p->port = 0;
			fclose(f);
			if (p->port > 0)
				break;
		}
		usleep(20000);
	}
	if (p->port <= 0)
		harness__fail(__FILE__, __LINE__, "the fault proxy did not start");
	free(bin);
	free(portfile);
}

static inline void itest_proxy_stop(struct itest_proxy *p)
{
	kill(p->pid, SIGTERM);
	waitpid(p->pid, NULL, 0);
}

/* Replace the proxy's rules with `json` (see test/faults/main.go). */
static inline void itest_proxy_rules(struct itest_proxy *p, const char *json)
{
	char *path = xasprintf("%s/rules.json", harness_tmpdir()), *cmd;
	FILE *f = fopen(path, "w");

	if (!f)
		harness__fail(__FILE__, __LINE__, "cannot write %s", path);
	fputs(json, f);
	fclose(f);
	cmd = xasprintf("curl -fsS -o /dev/null -X POST --data-binary @%s "
			"http://127.0.0.1:%d/__faults/rules", path, p->port);
	if (system(cmd) != 0)
		harness__fail(__FILE__, __LINE__, "cannot set the fault proxy's rules");
	free(cmd);
	free(path);
}

/* A client talking plain HTTP to the proxy on `port`, as the admin. */
static inline struct kube_client *itest_proxy_client(uv_loop_t *loop, int port)
{
	struct kube_config cfg = { 0 };
	struct kube_client *c = NULL;
	struct op_err err;

	cfg.server = xasprintf("http://127.0.0.1:%d", port);
	cfg.token = getenv("ADMIN_TOKEN");
	cfg.ns = (char *)"default";
	if (!cfg.token)
		harness__fail(__FILE__, __LINE__, "ADMIN_TOKEN is not set");
	if (kube_client_new(loop, &cfg, &c, &err) < 0)
		harness__fail(__FILE__, __LINE__, "client: %s", err.msg);
	free(cfg.server);
	return c;
}

/* Run a shell command that must succeed; its first output line (a new string). */
static inline char *itest_sh(const char *fmt, ...) _printf_(1, 2);
static inline char *itest_sh(const char *fmt, ...)
{
	char *cmd, line[4096] = "";
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	ASSERT(vasprintf(&cmd, fmt, ap) >= 0);
	va_end(ap);
	f = popen(cmd, "r");
	ASSERT_NOT_NULL(f);
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	ASSERT_EQ(pclose(f), 0);
	line[strcspn(line, "\n")] = '\0';
	free(cmd);
	return xstrdup(line);
}

/* A file's contents (a new string). */
static inline char *itest_slurp(const char *path)
{
	struct buf b = BUF_INIT(1u << 24);
	char chunk[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	ASSERT_NOT_NULL(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		(void)buf_add(&b, chunk, n);
	fclose(f);
	return buf_detach(&b, NULL);
}

/* A variable servers.env must have set. */
static inline const char *itest_env(const char *k)
{
	const char *v = getenv(k);

	if (!v)
		harness__fail(__FILE__, __LINE__, "%s is not set (servers.env)", k);
	return v;
}

#endif
