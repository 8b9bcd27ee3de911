/*
 * leasectl: a process that contends for a Lease, for the leader-election
 * test (two of them, one leads, SIGTERM hands over).
 *
 *   leasectl NAMESPACE NAME IDENTITY
 *
 * Uses $KUBECONFIG; short timings (lease 3 s, renew 2 s, retry 200 ms) so
 * the test is quick.  Prints "leading" and "stopped" lines as leadership
 * changes; on SIGTERM releases the Lease, closes every handle and exits 0
 * when uv_loop_close() succeeds.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include "kube/client.h"
#include "kube/lease.h"

static uv_signal_t sig;
static struct lease *lease;
static struct kube_client *client;

static void started(void *p)
{
	printf("leading\n");
	fflush(stdout);
}

static void stopped(void *p)
{
	printf("stopped\n");
	fflush(stdout);
}

static void closed(void *p)
{
	kube_client_close(client, NULL, NULL);
}

static void released(void *p)
{
	lease_close(lease, closed, NULL);
}

static void on_term(uv_signal_t *s, int signum)
{
	uv_signal_stop(s);
	uv_close((uv_handle_t *)s, NULL);
	lease_release(lease, released, NULL);
}

int main(int argc, char **argv)
{
	struct lease_opts o = { 0 };
	struct kube_config *cfg = NULL;
	struct op_err err;
	uv_loop_t *loop = uv_default_loop();

	if (argc != 4) {
		fprintf(stderr, "usage: leasectl NAMESPACE NAME IDENTITY\n");
		return 2;
	}
	if (kube_config_load(NULL, NULL, &cfg, &err) < 0 ||
	    kube_client_new(loop, cfg, &client, &err) < 0) {
		fprintf(stderr, "leasectl: %s\n", err.msg);
		return 1;
	}
	kube_config_free(cfg);
	o.ns = argv[1];
	o.name = argv[2];
	o.identity = argv[3];
	o.lease_duration_ms = 3000;
	o.renew_deadline_ms = 2000;
	o.retry_period_ms = 200;
	o.on_started_leading = started;
	o.on_stopped_leading = stopped;
	lease_new(client, &o, &lease);
	lease_start(lease);
	uv_signal_init(loop, &sig);
	uv_signal_start(&sig, on_term, SIGTERM);
	uv_run(loop, UV_RUN_DEFAULT);
	if (uv_loop_close(loop) != 0) {
		fprintf(stderr, "leasectl: loop did not close\n");
		return 1;
	}
	return 0;
}
