/*
 * itest_git.c: lib/source/git.c against the real git servers of
 * test/cluster/servers.sh (git http-backend behind lighttpd, sshd).
 *
 * Each ref kind, HTTP basic auth and SSH keys with known_hosts (plain and
 * hashed), the cheap remote check that skips an unchanged fetch (proved
 * from the server's access log), and clear errors for a wrong password, a
 * wrong key, an unknown host key, a missing branch and an unreachable
 * server — with no secret in any message.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "harness.h"
#include "source/git.h"

static char *sh(const char *fmt, ...) _printf_(1, 2);

/* Run a shell command; return its first output line (a new string). */
static char *sh(const char *fmt, ...)
{
	char *cmd, line[512] = "";
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

static char *slurp(const char *path)
{
	struct buf b = BUF_INIT(1 << 20);
	char chunk[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	ASSERT_NOT_NULL(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	return buf_detach(&b, NULL);
}

static const char *env(const char *k)
{
	const char *v = getenv(k);

	if (!v)
		harness__fail(__FILE__, __LINE__, "%s is not set (servers.env)", k);
	return v;
}

/* A repository NAME with one file, committed by mkrepo.sh; returns the sha. */
static char *make_repo(const char *name, const char *content)
{
	char *dir = xasprintf("%s/src-%s", harness_tmpdir(), name), *sha;

	char *ok = sh("mkdir -p %s/apps && printf '%%s' '%s' > %s/apps/cm.yaml && echo ok", dir,
		      content, dir);

	ASSERT_STREQ(ok, "ok");
	free(ok);
	sha = sh("bash test/cluster/mkrepo.sh %s %s main", name, dir);
	ASSERT_EQ(strlen(sha), 40);
	free(dir);
	return sha;
}

struct fetch {
	struct src_git_opts o;
	struct src_git_result res;
	struct op_err err;
	char *cache, *out;
};

static int do_fetch(struct fetch *f, const char *url)
{
	static int k;

	free(f->out);
	f->o.url = url;
	if (!f->cache) {
		f->cache = xasprintf("%s/cache-%d", harness_tmpdir(), k);
		f->o.cache_dir = f->cache;
	}
	f->out = xasprintf("%s/out-%d", harness_tmpdir(), k++);
	ASSERT_OK(mkdir(f->out, 0755));
	f->o.checkout_dir = f->out;
	return src_git_fetch(&f->o, &f->res, &f->err);
}

static void fetch_release(struct fetch *f)
{
	free(f->cache);
	free(f->out);
}

static unsigned count_fetches(const char *log, const char *repo)
{
	char *text = slurp(log), *p = text;
	char *needle = xasprintf("/%s.git/git-upload-pack", repo);
	unsigned n = 0;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p++;
	}
	free(needle);
	free(text);
	return n;
}

TEST(http_branch_unchanged_and_new_commit)
{
	struct fetch f = { 0 };
	char name[32], *sha, *url, *file, *sha2;
	unsigned before;

	snprintf(name, sizeof(name), "gt-%d", getpid());
	sha = make_repo(name, "v1");
	url = xasprintf("%s/%s.git", env("GIT_HTTP_URL"), name);
	f.o.branch = "main";
	ASSERT_OK(do_fetch(&f, url));
	ASSERT_STREQ(f.res.commit, sha);
	{
		char want[80];

		snprintf(want, sizeof(want), "main@sha1:%s", sha);
		ASSERT_STREQ(f.res.revision, want);
	}
	ASSERT(!f.res.unchanged);
	file = xasprintf("%s/apps/cm.yaml", f.out);
	{
		char *text = slurp(file);

		ASSERT_STREQ(text, "v1");
		free(text);
	}
	free(file);
	file = xasprintf("%s/.git", f.out);
	ASSERT(access(file, F_OK) < 0); /* a plain tree, no repository inside */
	free(file);

	/* Unchanged remote: one ls-remote, no upload-pack. */
	before = count_fetches(env("GIT_HTTP_ACCESS_LOG"), name);
	f.o.last_commit = sha;
	ASSERT_OK(do_fetch(&f, url));
	ASSERT(f.res.unchanged);
	ASSERT_STREQ(f.res.commit, sha);
	ASSERT_EQ(count_fetches(env("GIT_HTTP_ACCESS_LOG"), name), before);

	/* A new commit is fetched incrementally into the same cache. */
	sha2 = make_repo(name, "v2");
	ASSERT_OK(do_fetch(&f, url));
	ASSERT(!f.res.unchanged);
	ASSERT_STREQ(f.res.commit, sha2);
	file = xasprintf("%s/apps/cm.yaml", f.out);
	{
		char *text = slurp(file);

		ASSERT_STREQ(text, "v2");
		free(text);
	}
	free(file);

	/* Tag and commit refs. */
	free(sh("git -C %s/%s.git tag -a v1.2.3 -m release %s && echo ok", env("GIT_ROOT"), name, sha));
	f.o.last_commit = NULL;
	f.o.tag = "v1.2.3";
	ASSERT_OK(do_fetch(&f, url));
	ASSERT_STREQ(f.res.commit, sha);
	ASSERT(strncmp(f.res.revision, "v1.2.3@sha1:", 12) == 0);
	f.o.tag = NULL;
	f.o.branch = NULL;
	f.o.commit = sha;
	f.o.branch = "main";
	ASSERT_OK(do_fetch(&f, url));
	ASSERT_STREQ(f.res.commit, sha);
	f.o.branch = NULL;
	ASSERT_OK(do_fetch(&f, url));
	ASSERT(strncmp(f.res.revision, "sha1:", 5) == 0);

	/* Semver over tags: the highest match, non-versions ignored. */
	free(sh("git -C %s/%s.git tag v1.3.0-rc.1 %s && git -C %s/%s.git tag v1.10.0 %s && "
		"git -C %s/%s.git tag latest %s && git -C %s/%s.git tag v2.0.0 %s && echo ok",
		env("GIT_ROOT"), name, sha, env("GIT_ROOT"), name, sha2, env("GIT_ROOT"), name, sha,
		env("GIT_ROOT"), name, sha));
	f.o.commit = NULL;
	f.o.semver = ">=1.0.0 <2.0.0";
	ASSERT_OK(do_fetch(&f, url));
	ASSERT_STREQ(f.res.commit, sha2);
	ASSERT(strncmp(f.res.revision, "v1.10.0@sha1:", 13) == 0);
	f.o.semver = "~1.2";
	ASSERT_OK(do_fetch(&f, url));
	ASSERT(strncmp(f.res.revision, "v1.2.3@sha1:", 12) == 0);
	f.o.semver = ">=3.0.0";
	ASSERT_EQ(do_fetch(&f, url), -ENOENT);
	ASSERT_STREQ(f.err.msg, "no tag matches the semver constraint '>=3.0.0'");
	f.o.semver = NULL;

	/* A missing branch says so. */
	f.o.commit = NULL;
	f.o.branch = "nope";
	ASSERT_EQ(do_fetch(&f, url), -ENOENT);
	ASSERT_STREQ(f.err.msg, "reference 'nope' not found in the repository");
	fetch_release(&f);
	free(url);
	free(sha);
	free(sha2);
}

TEST(http_basic_auth)
{
	struct fetch f = { 0 };
	char name[32], *url;

	snprintf(name, sizeof(name), "gta-%d", getpid());
	free(make_repo(name, "x"));
	url = xasprintf("%s/%s.git", env("GIT_HTTP_AUTH_URL"), name);
	f.o.branch = "main";
	ASSERT(do_fetch(&f, url) < 0);
	ASSERT_EQ(f.err.code, -EACCES);
	f.o.username = env("GIT_HTTP_USER");
	f.o.password = "wrong-password-123";
	ASSERT_EQ(do_fetch(&f, url), -EACCES);
	ASSERT_CONTAINS(f.err.msg, "authentication");
	ASSERT(!strstr(f.err.msg, "wrong-password-123"));
	f.o.password = env("GIT_HTTP_PASSWORD");
	ASSERT_OK(do_fetch(&f, url));
	fetch_release(&f);
	free(url);
}

TEST(ssh_keys_and_known_hosts)
{
	struct fetch f = { 0 };
	char name[32], *url, *key, *pass_key, *kh, *khh, *sha;

	snprintf(name, sizeof(name), "gts-%d", getpid());
	sha = make_repo(name, "ssh");
	url = xasprintf("%s/%s.git", env("GIT_SSH_URL"), name);
	key = slurp(env("SSH_KEY_ED25519"));
	pass_key = slurp(env("SSH_KEY_ED25519_PASS"));
	kh = slurp(env("SSH_KNOWN_HOSTS"));
	khh = slurp(env("SSH_KNOWN_HOSTS_HASHED"));
	f.o.branch = "main";
	f.o.ssh_key = key;
	f.o.known_hosts = kh;
	ASSERT_OK(do_fetch(&f, url));
	ASSERT_STREQ(f.res.commit, sha);
	f.o.known_hosts = khh;
	ASSERT_OK(do_fetch(&f, url));
	/* Passphrase-protected key. */
	f.o.ssh_key = pass_key;
	f.o.ssh_passphrase = env("SSH_KEY_PASSPHRASE");
	ASSERT_OK(do_fetch(&f, url));
	/* No known_hosts: no trust on first use. */
	f.o.known_hosts = NULL;
	ASSERT_EQ(do_fetch(&f, url), -EPROTO);
	ASSERT_CONTAINS(f.err.msg, "no known_hosts");
	/* A known_hosts for another key. */
	f.o.known_hosts = "[127.0.0.1]:1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n";
	ASSERT_EQ(do_fetch(&f, url), -EPROTO);
	ASSERT_CONTAINS(f.err.msg, "does not match known_hosts");
	/* A key the server does not accept (a fresh one). */
	{
		char *k2 = xasprintf("%s/other", harness_tmpdir()), *other;

		free(sh("ssh-keygen -q -t ed25519 -N '' -f %s && echo ok", k2));
		other = slurp(k2);
		f.o.known_hosts = kh;
		f.o.ssh_key = other;
		f.o.ssh_passphrase = NULL;
		ASSERT_EQ(do_fetch(&f, url), -EACCES);
		ASSERT(!strstr(f.err.msg, "PRIVATE"));
		free(other);
		free(k2);
	}
	fetch_release(&f);
	free(url);
	free(key);
	free(pass_key);
	free(kh);
	free(khh);
	free(sha);
}

TEST(https_with_a_custom_ca)
{
	struct fetch f = { 0 };
	char name[32], *url, *ca;

	snprintf(name, sizeof(name), "gtt-%d", getpid());
	free(make_repo(name, "tls"));
	url = xasprintf("%s/%s.git", env("GIT_HTTPS_AUTH_URL"), name);
	ca = slurp(env("TEST_CA"));
	f.o.branch = "main";
	f.o.username = env("GIT_HTTP_USER");
	f.o.password = env("GIT_HTTP_PASSWORD");
	/* Without the CA the server is not trusted. */
	ASSERT_EQ(do_fetch(&f, url), -EPROTO);
	f.o.ca_pem = ca;
	ASSERT_OK(do_fetch(&f, url));
	/* A CA that did not sign the server's certificate. */
	{
		char *k = xasprintf("%s/other-ca", harness_tmpdir()), *other, *crt;

		free(sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout %s.key -out %s.crt "
			"-days 1 -subj /CN=other >/dev/null 2>&1 && echo ok", k, k));
		crt = xasprintf("%s.crt", k);
		other = slurp(crt);
		free(crt);
		f.o.ca_pem = other;
		ASSERT_EQ(do_fetch(&f, url), -EPROTO);
		ASSERT_CONTAINS(f.err.msg, "not signed by the given certificate authority");
		free(other);
		free(k);
	}
	fetch_release(&f);
	free(ca);
	free(url);
}

TEST(unreachable_server_is_a_clear_error)
{
	struct fetch f = { 0 };

	f.o.branch = "main";
	f.o.timeout_s = 20;
	ASSERT(do_fetch(&f, "http://127.0.0.1:9/none.git") < 0);
	ASSERT_CONTAINS(f.err.msg, "unable to connect");
	fetch_release(&f);
}

TEST(name_ref_wins_over_semver_and_names_the_revision)
{
	struct fetch f = { 0 };
	char name[32], *url, *sha, *ok, *want;

	snprintf(name, sizeof(name), "gtn-%d", getpid());
	sha = make_repo(name, "pr");
	ok = sh("git --git-dir=%s/%s.git update-ref refs/pull/1/head %s && echo ok",
		env("GIT_ROOT"), name, sha);
	ASSERT_STREQ(ok, "ok");
	free(ok);
	url = xasprintf("%s/%s.git", env("GIT_HTTP_URL"), name);
	f.o.name = "refs/pull/1/head";
	f.o.semver = ">=1.0.0"; /* no tags at all: would fail if it were used */
	f.o.branch = "nope";
	ASSERT_OK(do_fetch(&f, url));
	want = xasprintf("refs/pull/1/head@sha1:%s", sha);
	ASSERT_STREQ(f.res.revision, want);
	free(want);
	f.o.name = "refs/pull/2/head";
	ASSERT_EQ(do_fetch(&f, url), -ENOENT);
	ASSERT_CONTAINS(f.err.msg, "refs/pull/2/head");
	fetch_release(&f);
	free(url);
	free(sha);
}

/*
 * A bearer token goes on the wire as "Authorization: Bearer ...": a
 * one-shot server records the request headers of libgit2's first request.
 */
struct oneshot {
	int fd;
	char req[8192];
};

static void *oneshot_serve(void *p)
{
	static const char resp[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
				   "Connection: close\r\n\r\n";
	struct oneshot *s = p;
	size_t n = 0;
	ssize_t r;
	int c = accept(s->fd, NULL, NULL);

	if (c < 0)
		return NULL;
	while (n < sizeof(s->req) - 1 && !strstr(s->req, "\r\n\r\n")) {
		r = read(c, s->req + n, sizeof(s->req) - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		s->req[n] = '\0';
	}
	if (write(c, resp, sizeof(resp) - 1) < 0)
		n = 0;
	close(c);
	return NULL;
}

TEST(bearer_token_is_sent)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct oneshot s = { 0 };
	struct fetch f = { 0 };
	socklen_t len = sizeof(sa);
	pthread_t th;
	char *url;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s.fd = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT(s.fd >= 0);
	ASSERT_OK(bind(s.fd, (struct sockaddr *)&sa, sizeof(sa)));
	ASSERT_OK(listen(s.fd, 1));
	ASSERT_OK(getsockname(s.fd, (struct sockaddr *)&sa, &len));
	ASSERT_OK(pthread_create(&th, NULL, oneshot_serve, &s));
	url = xasprintf("http://127.0.0.1:%d/repo.git", ntohs(sa.sin_port));
	f.o.bearer_token = "tok-3fa9c2";
	f.o.branch = "main";
	ASSERT(do_fetch(&f, url) < 0);
	pthread_join(th, NULL);
	close(s.fd);
	ASSERT_CONTAINS(s.req, "Authorization: Bearer tok-3fa9c2\r\n");
	ASSERT(!strstr(f.err.msg, "tok-3fa9c2"));
	fetch_release(&f);
	free(url);
}

extern char **environ;

/*
 * A real git server that goes silent mid-fetch (the fault proxy in front
 * of git http-backend stalls the upload-pack response): the fetch is cut
 * off with a timeout error, and returns, instead of hanging its worker.
 */
TEST(stalled_server_is_cut_off)
{
	char *bin = sh("bash test/faults/build.sh");
	char *portfile = xasprintf("%s/proxy-port", harness_tmpdir());
	char *up = xasprintf("http://127.0.0.1:%s", env("GIT_HTTP_PORT"));
	char *argv[] = { bin, (char *)"-listen", (char *)"127.0.0.1:0", (char *)"-upstream", up,
			 (char *)"-port-file", portfile, NULL };
	struct fetch f = { 0 };
	char name[32], *url, *ok;
	int port = 0, i;
	time_t t0;
	pid_t pid;

	snprintf(name, sizeof(name), "gts-%d", getpid());
	free(make_repo(name, "stall"));
	ASSERT_EQ(posix_spawn(&pid, bin, NULL, NULL, argv, environ), 0);
	for (i = 0; i < 500 && port == 0; i++) {
		FILE *pf = fopen(portfile, "r");

		if (pf) {
			if (fscanf(pf, "%d", &port) != 1)
				port = 0;
			fclose(pf);
		}
		if (!port)
			usleep(20000);
	}
	ASSERT(port > 0);
	ok = sh("curl -fsS -X POST --data-binary '[{\"path\":\"git-upload-pack\",\"action\":"
		"\"stall\",\"bytes\":0,\"delay_ms\":600000}]' http://127.0.0.1:%d/__faults/rules"
		" && echo ok", port);
	ASSERT_STREQ(ok, "ok");
	free(ok);
	url = xasprintf("http://127.0.0.1:%d/git/%s.git", port, name);
	f.o.branch = "main";
	f.o.timeout_s = 5;
	t0 = time(NULL);
	ASSERT(do_fetch(&f, url) < 0);
	ASSERT(time(NULL) - t0 < 40);
	ASSERT_EQ(f.err.code, -ETIMEDOUT);
	ASSERT_CONTAINS(f.err.msg, "timed out");
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	fetch_release(&f);
	free(url);
	free(up);
	free(portfile);
	free(bin);
}
