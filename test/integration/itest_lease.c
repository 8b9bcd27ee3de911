/*
 * itest_lease.c: leader election and events against the real apiserver.
 *
 * Two candidates on one loop: exactly one leads; a release hands over
 * within a retry period; a leader that vanishes without releasing is
 * replaced after the lease duration.  Two processes (test/tools/leasectl):
 * exactly one leads, SIGTERM to the leader hands over within a few
 * seconds.  Events: repeats aggregate into one Event with a count, and
 * `kubectl describe` shows them.
 */
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/str.h"
#include "itest.h"
#include "kube/events.h"
#include "kube/lease.h"
#include "yj/yj.h"
#include <fcntl.h>

extern char **environ;

struct cand {
	int starts, stops;
};

static void started(void *p)
{
	((struct cand *)p)->starts++;
}

static void stopped(void *p)
{
	((struct cand *)p)->stops++;
}

static struct lease *candidate(struct kube_client *c, const char *ns, const char *id,
			       struct cand *st)
{
	struct lease_opts o = { 0 };
	struct lease *l;

	o.ns = ns;
	o.name = "itest-leader";
	o.identity = id;
	o.lease_duration_ms = 2000;
	o.renew_deadline_ms = 1500;
	o.retry_period_ms = 200;
	o.on_started_leading = started;
	o.on_stopped_leading = stopped;
	o.payload = st;
	ASSERT_OK(lease_new(c, &o, &l));
	ASSERT_OK(lease_start(l));
	return l;
}

static void spin(uv_loop_t *loop, uint64_t ms)
{
	uint64_t until;

	uv_update_time(loop);
	until = uv_now(loop) + ms;
	while (uv_now(loop) < until) {
		uv_run(loop, UV_RUN_NOWAIT);
		uv_sleep(5);
		uv_update_time(loop);
	}
}

static void done_flag(void *p)
{
	*(bool *)p = true;
}

TEST(one_leader_release_and_takeover)
{
	struct cand a = { 0 }, b = { 0 };
	struct kube_client *c;
	struct lease *la, *lb;
	bool released = false, ca = false, cb = false;
	uv_loop_t loop;
	uint64_t t0;
	char *ns;

	uv_loop_init(&loop);
	c = itest_client(&loop);
	ns = itest_namespace(&loop, c, "itest-lease");
	la = candidate(c, ns, "cand-a", &a);
	lb = candidate(c, ns, "cand-b", &b);
	spin(&loop, 1500);
	ASSERT_EQ(lease_is_leader(la) + lease_is_leader(lb), 1);
	if (lease_is_leader(lb)) {
		struct lease *t = la;

		la = lb;
		lb = t;
	}
	/* la leads.  Release it: lb takes over within a retry period or two. */
	lease_release(la, done_flag, &released);
	itest_wait(&loop, &released, 5000);
	ASSERT(!lease_is_leader(la));
	t0 = uv_now(&loop);
	while (!lease_is_leader(lb)) {
		uv_run(&loop, UV_RUN_ONCE);
		uv_update_time(&loop);
		ASSERT(uv_now(&loop) - t0 < 2000);
	}
	printf("# hand-over after release: %llu ms\n", (unsigned long long)(uv_now(&loop) - t0));
	spin(&loop, 1000);
	ASSERT(lease_is_leader(lb)); /* and keeps it while renewing */

	/* lb vanishes without releasing: la (competing again) waits out the lease. */
	lease_close(la, done_flag, &ca);
	itest_wait(&loop, &ca, 5000);
	a.starts = 0;
	la = candidate(c, ns, "cand-c", &a); /* a new identity: not the holder's */
	lease_close(lb, done_flag, &cb);
	itest_wait(&loop, &cb, 5000);
	t0 = uv_now(&loop);
	while (!lease_is_leader(la)) {
		uv_run(&loop, UV_RUN_ONCE);
		uv_update_time(&loop);
		ASSERT(uv_now(&loop) - t0 < 6000);
	}
	ASSERT(uv_now(&loop) - t0 >= 1500); /* not before the lease expired */
	printf("# takeover after a silent leader: %llu ms\n",
	       (unsigned long long)(uv_now(&loop) - t0));
	ca = false;
	lease_close(la, done_flag, &ca);
	itest_wait(&loop, &ca, 5000);
	itest_delete_namespace(&loop, c, ns);
	itest_finish(&loop, c);
}

/* ---- two processes ---- */

struct child {
	pid_t pid;
	int out; /* read end of its stdout */
	char buf[256];
	size_t len;
};

static void spawn_leasectl(struct child *ch, const char *ns, const char *id)
{
	const char *build = getenv("BUILD") ? getenv("BUILD") : "build/default";
	char *bin = xasprintf("%s/test/leasectl", build);
	char *argv[] = { bin, (char *)ns, (char *)"itest-proc-leader", (char *)id, NULL };
	posix_spawn_file_actions_t fa;
	int p[2];

	ASSERT_OK(pipe(p));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_addclose(&fa, p[0]);
	ASSERT_EQ(posix_spawn(&ch->pid, bin, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	ch->out = p[0];
	fcntl(ch->out, F_SETFL, O_NONBLOCK);
	free(bin);
}

static bool leading(struct child *ch)
{
	ssize_t n = read(ch->out, ch->buf + ch->len, sizeof(ch->buf) - 1 - ch->len);

	if (n > 0)
		ch->len += (size_t)n;
	ch->buf[ch->len] = '\0';
	return strstr(ch->buf, "leading") && !strstr(strstr(ch->buf, "leading"), "stopped");
}

static uint64_t mono_ms(void)
{
	return uv_hrtime() / 1000000;
}

TEST(two_processes_sigterm_hands_over)
{
	struct child a = { 0 }, b = { 0 }, *lead, *other;
	struct kube_client *c;
	uint64_t t0;
	uv_loop_t loop;
	int status;
	char *ns;

	uv_loop_init(&loop);
	c = itest_client(&loop);
	ns = itest_namespace(&loop, c, "itest-proc");
	spawn_leasectl(&a, ns, "proc-a");
	spawn_leasectl(&b, ns, "proc-b");
	t0 = mono_ms();
	while (!leading(&a) && !leading(&b)) {
		usleep(20000);
		ASSERT(mono_ms() - t0 < 10000);
	}
	usleep(1000000);
	ASSERT(leading(&a) != leading(&b)); /* exactly one */
	lead = leading(&a) ? &a : &b;
	other = lead == &a ? &b : &a;
	kill(lead->pid, SIGTERM);
	t0 = mono_ms();
	while (!leading(other)) {
		usleep(20000);
		ASSERT(mono_ms() - t0 < 5000);
	}
	printf("# two processes: hand-over after SIGTERM in %llu ms\n",
	       (unsigned long long)(mono_ms() - t0));
	ASSERT_EQ(waitpid(lead->pid, &status, 0), lead->pid);
	ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0); /* released, loop closed */
	kill(other->pid, SIGTERM);
	ASSERT_EQ(waitpid(other->pid, &status, 0), other->pid);
	ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(a.out);
	close(b.out);
	itest_delete_namespace(&loop, c, ns);
	itest_finish(&loop, c);
}

/* ---- events ---- */

TEST(events_aggregate_and_describe_shows_them)
{
	struct kube_ref cmref = { .version = "v1", .resource = "configmaps" };
	struct kube_ref evref = { .version = "v1", .resource = "events" };
	struct itest_result res = { 0 };
	struct kube_opts lo = KUBE_OPTS_INIT;
	struct kevent_obj obj = { .api_version = "v1", .kind = "ConfigMap", .name = "watched" };
	struct kevents *rec;
	struct kube_client *c;
	const cJSON *item;
	uv_loop_t loop;
	char *ns, *cmd, *out;
	int n3 = 0, other = 0;

	uv_loop_init(&loop);
	c = itest_client(&loop);
	ns = itest_namespace(&loop, c, "itest-events");
	cmref.ns = evref.ns = obj.ns = ns;
	{
		cJSON *cm = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
					"\"metadata\":{\"name\":\"watched\"}}");

		ITEST_CALL(&loop, res, kube_create(c, &cmref, cm, NULL, itest__cb, &res));
		ASSERT_OK(res.r);
		obj.uid = xstrdup(yj_get_str(res.obj, "/metadata/uid"));
		cJSON_Delete(cm);
	}
	ASSERT_OK(events_new(c, "kustomize-controller", &rec));
	events_record(rec, &obj, "Warning", "ReconciliationFailed",
		      "fetch from 'https://user:s3cret@git.example.com/r.git' failed");
	while (events_pending(rec))
		uv_run(&loop, UV_RUN_ONCE);
	events_record(rec, &obj, "Warning", "ReconciliationFailed",
		      "fetch from 'https://user:s3cret@git.example.com/r.git' failed");
	while (events_pending(rec))
		uv_run(&loop, UV_RUN_ONCE);
	events_record(rec, &obj, "Warning", "ReconciliationFailed",
		      "fetch from 'https://user:s3cret@git.example.com/r.git' failed");
	events_record(rec, &obj, "Normal", "ReconciliationSucceeded", "Applied revision: main@sha1:abc");
	while (events_pending(rec))
		uv_run(&loop, UV_RUN_ONCE);

	lo.field_selector = "involvedObject.name=watched";
	ITEST_CALL(&loop, res, kube_list(c, &evref, &lo, itest__cb, &res));
	ASSERT_OK(res.r);
	cJSON_ArrayForEach(item, cJSON_GetObjectItem(res.obj, "items"))
	{
		const char *reason = yj_get_str(item, "/reason");

		ASSERT_STREQ(yj_get_str(item, "/source/component"), "kustomize-controller");
		ASSERT_STREQ(yj_get_str(item, "/involvedObject/uid"), obj.uid);
		ASSERT(!strstr(yj_get_str(item, "/message"), "s3cret"));
		if (streq(reason, "ReconciliationFailed")) {
			ASSERT_EQ(yj_get(item, "/count")->valueint, 3);
			ASSERT_STREQ(yj_get_str(item, "/type"), "Warning");
			n3++;
		} else {
			ASSERT_STREQ(reason, "ReconciliationSucceeded");
			other++;
		}
	}
	ASSERT_EQ(n3, 1);
	ASSERT_EQ(other, 1);
	cmd = xasprintf("kubectl describe configmap watched -n %s", ns);
	out = itest_run_out(cmd);
	ASSERT_CONTAINS(out, "ReconciliationFailed");
	ASSERT_CONTAINS(out, "x3 over");
	ASSERT_CONTAINS(out, "fetch from 'https://git.example.com/r.git' failed");
	ASSERT_CONTAINS(out, "Applied revision: main@sha1:abc");
	free(out);
	free(cmd);
	events_free(rec);
	free((char *)obj.uid);
	itest_result_clear(&res);
	itest_delete_namespace(&loop, c, ns);
	itest_finish(&loop, c);
}
