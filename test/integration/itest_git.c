/*
 * itest_git.c: lib/source/git.c against the real git servers of
 * test/cluster/servers.sh (git http-backend behind lighttpd, sshd).
 *
 * Each ref kind, HTTP basic auth and SSH keys with known_hosts (plain and
 * hashed), the cheap remote check that skips an unchanged fetch (proved
 * from the server's access log), and clear errors for a wrong password, a
 * wrong key, an unknown host key, a missing branch and an unreachable
 * server — with no secret in any message.  Also git:// and ECDSA keys;
 * hostile trees (test/cluster/mktree.sh: "..", ".GIT", symlinks out of
 * the tree, a 2 GB file, a million files) refused before anything is
 * written, in bounded memory; sparse checkout; nested submodules; HTTPS
 * through an intermediate CA and with a client certificate.
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/str.h"
#include "harness.h"
#include "itest.h"
#include "source/git.h"

/* A repository NAME with one file, committed by mkrepo.sh; returns the sha. */
static char *make_repo(const char *name, const char *content)
{
	char *dir = xasprintf("%s/src-%s", harness_tmpdir(), name), *sha;

	char *ok = itest_sh("mkdir -p %s/apps && printf '%%s' '%s' > %s/apps/cm.yaml && echo ok", dir,
		      content, dir);

	ASSERT_STREQ(ok, "ok");
	free(ok);
	sha = itest_sh("bash test/cluster/mkrepo.sh %s %s main", name, dir);
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
	char *text = itest_slurp(log), *p = text;
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
	url = xasprintf("%s/%s.git", itest_env("GIT_HTTP_URL"), name);
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
		char *text = itest_slurp(file);

		ASSERT_STREQ(text, "v1");
		free(text);
	}
	free(file);
	file = xasprintf("%s/.git", f.out);
	ASSERT(access(file, F_OK) < 0); /* a plain tree, no repository inside */
	free(file);

	/* Unchanged remote: one ls-remote, no upload-pack. */
	before = count_fetches(itest_env("GIT_HTTP_ACCESS_LOG"), name);
	f.o.last_commit = sha;
	ASSERT_OK(do_fetch(&f, url));
	ASSERT(f.res.unchanged);
	ASSERT_STREQ(f.res.commit, sha);
	ASSERT_EQ(count_fetches(itest_env("GIT_HTTP_ACCESS_LOG"), name), before);

	/* A new commit is fetched incrementally into the same cache. */
	sha2 = make_repo(name, "v2");
	ASSERT_OK(do_fetch(&f, url));
	ASSERT(!f.res.unchanged);
	ASSERT_STREQ(f.res.commit, sha2);
	file = xasprintf("%s/apps/cm.yaml", f.out);
	{
		char *text = itest_slurp(file);

		ASSERT_STREQ(text, "v2");
		free(text);
	}
	free(file);

	/* Tag and commit refs. */
	free(itest_sh("git -C %s/%s.git tag -a v1.2.3 -m release %s && echo ok", itest_env("GIT_ROOT"), name, sha));
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
	free(itest_sh("git -C %s/%s.git tag v1.3.0-rc.1 %s && git -C %s/%s.git tag v1.10.0 %s && "
		"git -C %s/%s.git tag latest %s && git -C %s/%s.git tag v2.0.0 %s && echo ok",
		itest_env("GIT_ROOT"), name, sha, itest_env("GIT_ROOT"), name, sha2, itest_env("GIT_ROOT"), name, sha,
		itest_env("GIT_ROOT"), name, sha));
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

/*
 * A commit older than the branch's head, into a cache a shallow fetch of
 * that head made (a pin or spec.ref.commit set on a GitRepository that
 * followed its branch): the cache is deepened and the commit found.
 */
TEST(an_older_commit_after_a_shallow_fetch_of_the_head)
{
	struct fetch f = { 0 };
	char name[32], *sha1, *sha2, *url, *file, *text;

	snprintf(name, sizeof(name), "gs-%d", getpid());
	sha1 = make_repo(name, "v1");
	sha2 = make_repo(name, "v2");
	url = xasprintf("%s/%s.git", itest_env("GIT_HTTP_URL"), name);
	f.o.branch = "main";
	ASSERT_OK(do_fetch(&f, url));
	ASSERT_STREQ(f.res.commit, sha2);
	f.o.commit = sha1;
	ASSERT_OK(do_fetch(&f, url));
	ASSERT_STREQ(f.res.commit, sha1);
	file = xasprintf("%s/apps/cm.yaml", f.out);
	text = itest_slurp(file);
	ASSERT_STREQ(text, "v1");
	free(text);
	free(file);
	/* and back to the head, from the deepened cache */
	f.o.commit = NULL;
	ASSERT_OK(do_fetch(&f, url));
	ASSERT_STREQ(f.res.commit, sha2);
	fetch_release(&f);
	free(url);
	free(sha1);
	free(sha2);
}

/*
 * A cache the fetch cannot use (here its packs cut short, as a kill in
 * the middle of writing them could leave them; make chaos found a cache
 * that libgit2's shallow negotiation failed on for good, "incomplete pack
 * header") is removed and the fetch made again into an empty one, instead
 * of failing every time after.
 */
TEST(a_broken_cache_is_made_again)
{
	struct fetch f = { 0 };
	char name[32], *sha2, *url, *ok;

	snprintf(name, sizeof(name), "gb-%d", getpid());
	free(make_repo(name, "v1"));
	url = xasprintf("%s/%s.git", itest_env("GIT_HTTP_URL"), name);
	f.o.branch = "main";
	ASSERT_OK(do_fetch(&f, url));
	ASSERT(!f.res.cache_reset);
	ok = itest_sh("for p in %s/objects/pack/*.pack; do chmod u+w $p && truncate -s 20 $p || exit 1; "
		      "done && echo ok", f.cache);
	ASSERT_STREQ(ok, "ok");
	free(ok);
	sha2 = make_repo(name, "v2");
	ASSERT_OK(do_fetch(&f, url));
	ASSERT_STREQ(f.res.commit, sha2);
	ASSERT(f.res.cache_reset);
	/* and the new cache serves the next fetch as usual */
	ASSERT_OK(do_fetch(&f, url));
	ASSERT(!f.res.cache_reset);
	fetch_release(&f);
	free(url);
	free(sha2);
}

TEST(http_basic_auth)
{
	struct fetch f = { 0 };
	char name[32], *url;

	snprintf(name, sizeof(name), "gta-%d", getpid());
	free(make_repo(name, "x"));
	url = xasprintf("%s/%s.git", itest_env("GIT_HTTP_AUTH_URL"), name);
	f.o.branch = "main";
	ASSERT(do_fetch(&f, url) < 0);
	ASSERT_EQ(f.err.code, -EACCES);
	f.o.username = itest_env("GIT_HTTP_USER");
	f.o.password = "wrong-password-123";
	ASSERT_EQ(do_fetch(&f, url), -EACCES);
	ASSERT_CONTAINS(f.err.msg, "authentication");
	ASSERT(!strstr(f.err.msg, "wrong-password-123"));
	f.o.password = itest_env("GIT_HTTP_PASSWORD");
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
	url = xasprintf("%s/%s.git", itest_env("GIT_SSH_URL"), name);
	key = itest_slurp(itest_env("SSH_KEY_ED25519"));
	pass_key = itest_slurp(itest_env("SSH_KEY_ED25519_PASS"));
	kh = itest_slurp(itest_env("SSH_KNOWN_HOSTS"));
	khh = itest_slurp(itest_env("SSH_KNOWN_HOSTS_HASHED"));
	f.o.branch = "main";
	f.o.ssh_key = key;
	f.o.known_hosts = kh;
	if (do_fetch(&f, url) < 0)
		harness__fail(__FILE__, __LINE__, "%s", f.err.msg);
	ASSERT_STREQ(f.res.commit, sha);
	f.o.known_hosts = khh;
	ASSERT_OK(do_fetch(&f, url));
	/* Passphrase-protected key. */
	f.o.ssh_key = pass_key;
	f.o.ssh_passphrase = itest_env("SSH_KEY_PASSPHRASE");
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

		free(itest_sh("ssh-keygen -q -t ed25519 -N '' -f %s && echo ok", k2));
		other = itest_slurp(k2);
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
	url = xasprintf("%s/%s.git", itest_env("GIT_HTTPS_AUTH_URL"), name);
	ca = itest_slurp(itest_env("TEST_CA"));
	f.o.branch = "main";
	f.o.username = itest_env("GIT_HTTP_USER");
	f.o.password = itest_env("GIT_HTTP_PASSWORD");
	/* Without the CA the server is not trusted. */
	ASSERT_EQ(do_fetch(&f, url), -EPROTO);
	f.o.ca_pem = ca;
	ASSERT_OK(do_fetch(&f, url));
	/* A CA that did not sign the server's certificate. */
	{
		char *k = xasprintf("%s/other-ca", harness_tmpdir()), *other, *crt;

		free(itest_sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout %s.key -out %s.crt "
			"-days 1 -subj /CN=other >/dev/null 2>&1 && echo ok", k, k));
		crt = xasprintf("%s.crt", k);
		other = itest_slurp(crt);
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

/* Lines of the proxy's request log that mention `needle`. */
static int proxy_log_count(const char *needle)
{
	char *log = itest_slurp(itest_env("PROXY_LOG")), *p;
	int n = 0;

	for (p = log; (p = strstr(p, needle)); p++)
		n++;
	free(log);
	return n;
}

TEST(through_an_http_proxy_given_or_from_the_environment)
{
	struct fetch f = { 0 };
	char name[32], *url, *ca, *tunnel, *env_proxy, *auth, *no_proxy;
	int before;

	snprintf(name, sizeof(name), "gtp-%d", getpid());
	free(make_repo(name, "proxied"));
	url = xasprintf("%s/%s.git", itest_env("GIT_HTTPS_URL"), name);
	/* The servers listen on SERVERS_HOST (the node's host address, or loopback). */
	tunnel = xasprintf("CONNECT %s:%s ", itest_env("SERVERS_HOST"), itest_env("GIT_HTTPS_PORT"));
	ca = itest_slurp(itest_env("TEST_CA"));
	f.o.branch = "main";
	f.o.ca_pem = ca;
	/* Given, with credentials: one tunnel per connection, in the proxy's log. */
	before = proxy_log_count(tunnel);
	f.o.proxy_url = itest_env("PROXY_URL");
	f.o.proxy_username = itest_env("PROXY_USER");
	f.o.proxy_password = itest_env("PROXY_PASSWORD");
	ASSERT_OK(do_fetch(&f, url));
	ASSERT(proxy_log_count(tunnel) > before);
	/* Without credentials the proxy says 407: a clear error. */
	f.o.proxy_username = f.o.proxy_password = NULL;
	ASSERT_EQ(do_fetch(&f, url), -EACCES);
	ASSERT_CONTAINS(f.err.msg, "requires authentication");
	/* A proxy that is not there: the fetch fails, it does not go around it. */
	f.o.proxy_url = "http://127.0.0.1:9";
	ASSERT(do_fetch(&f, url) < 0);
	ASSERT_CONTAINS(f.err.msg, "failed to connect to the proxy 127.0.0.1");
	f.o.proxy_url = "socks5://127.0.0.1:9";
	ASSERT_EQ(do_fetch(&f, url), -EINVAL);
	ASSERT_CONTAINS(f.err.msg, "must be an http:// proxy");
	/* From the environment, credentials in the URL; NO_PROXY exempts the host. */
	f.o.proxy_url = NULL;
	auth = xasprintf("%s:%s@", itest_env("PROXY_USER"), itest_env("PROXY_PASSWORD"));
	env_proxy = xasprintf("http://%s%s", auth, itest_env("PROXY_URL") + strlen("http://"));
	setenv("HTTPS_PROXY", env_proxy, 1);
	before = proxy_log_count(tunnel);
	ASSERT_OK(do_fetch(&f, url));
	ASSERT(proxy_log_count(tunnel) > before);
	ASSERT(!strstr(f.err.msg, itest_env("PROXY_PASSWORD")));
	setenv("HTTPS_PROXY", "http://127.0.0.1:9", 1);
	no_proxy = xasprintf("example.invalid, .other.invalid,%s", itest_env("SERVERS_HOST"));
	setenv("NO_PROXY", no_proxy, 1);
	ASSERT_OK(do_fetch(&f, url));
	unsetenv("NO_PROXY");
	ASSERT(do_fetch(&f, url) < 0);
	unsetenv("HTTPS_PROXY");
	free(no_proxy);
	free(auth);
	free(env_proxy);
	free(tunnel);
	free(ca);
	free(url);
	fetch_release(&f);
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
	ok = itest_sh("git --git-dir=%s/%s.git update-ref refs/pull/1/head %s && echo ok",
		itest_env("GIT_ROOT"), name, sha);
	ASSERT_STREQ(ok, "ok");
	free(ok);
	url = xasprintf("%s/%s.git", itest_env("GIT_HTTP_URL"), name);
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
/* The port a spawned server writes to `portfile` once it listens (10 s at most). */
static int wait_port_file(const char *portfile)
{
	int port = 0, i;

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
	return port;
}

TEST(stalled_server_is_cut_off)
{
	char *bin = itest_sh("bash test/faults/build.sh");
	char *portfile = xasprintf("%s/proxy-port", harness_tmpdir());
	char *up = xasprintf("http://%s:%s", itest_env("SERVERS_HOST"), itest_env("GIT_HTTP_PORT"));
	char *argv[] = { bin, (char *)"-listen", (char *)"127.0.0.1:0", (char *)"-upstream", up,
			 (char *)"-port-file", portfile, NULL };
	struct fetch f = { 0 };
	char name[32], *url, *ok;
	int port;
	time_t t0;
	pid_t pid;

	snprintf(name, sizeof(name), "gts-%d", getpid());
	free(make_repo(name, "stall"));
	ASSERT_EQ(posix_spawn(&pid, bin, NULL, NULL, argv, environ), 0);
	port = wait_port_file(portfile);
	ok = itest_sh("curl -fsS -X POST --data-binary '[{\"path\":\"git-upload-pack\",\"action\":"
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

/* A repository built by test/cluster/mktree.sh NAME KIND ARGS; its URL over HTTP. */
static char *hostile_repo(const char *kind, const char *args, char **ret_sha)
{
	static int k;
	char name[48], *sha;

	snprintf(name, sizeof(name), "gth-%d-%d", getpid(), k++);
	sha = itest_sh("bash test/cluster/mktree.sh %s %s %s", name, kind, args);
	ASSERT_EQ(strlen(sha), 40);
	if (ret_sha)
		*ret_sha = sha;
	else
		free(sha);
	return xasprintf("%s/%s.git", itest_env("GIT_HTTP_URL"), name);
}

/* Does `dir` hold nothing? */
static bool empty_dir(const char *dir)
{
	char *n = itest_sh("ls -A %s | wc -l", dir);
	bool empty = streq(n, "0");

	free(n);
	return empty;
}

static long maxrss_kib(void)
{
	struct rusage ru;

	ASSERT_OK(getrusage(RUSAGE_SELF, &ru));
	return ru.ru_maxrss;
}

TEST(hostile_trees_are_refused_before_anything_is_written)
{
	static const struct {
		const char *kind, *args, *want;
		int code;
	} cases[] = {
		{ "dotdot", "", "unsafe path '..'", -EPERM },
		{ "dotgit", "", "unsafe path '.GIT'", -EPERM },
		{ "abslink", "", "symlink 'passwd' points outside the repository ('/etc/passwd')",
		  -EPERM },
		{ "uplink", "", "symlink 'a/esc' points outside the repository ('../../etc')",
		  -EPERM },
		/* A million files, from one shared subtree: a tiny pack. */
		{ "many", "1000 1000", "the tree has more than 100000 entries", -E2BIG },
	};
	struct fetch f = { 0 };
	size_t i;

	f.o.branch = "main";
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char *url = hostile_repo(cases[i].kind, cases[i].args, NULL);

		fetch_release(&f);
		memset(&f, 0, sizeof(f));
		f.o.branch = "main";
		ASSERT_EQ(do_fetch(&f, url), cases[i].code);
		ASSERT_CONTAINS(f.err.msg, cases[i].want);
		ASSERT(empty_dir(f.out));
		free(url);
	}
	/* A symlink that stays inside is checked out as a symlink. */
	{
		char *url = hostile_repo("inlink", "", NULL), *p, *to;

		ASSERT_OK(do_fetch(&f, url));
		p = xasprintf("%s/a/in", f.out);
		to = itest_sh("readlink %s", p);
		ASSERT_STREQ(to, "../ok.txt");
		free(to);
		free(p);
		free(url);
	}
	fetch_release(&f);
}

TEST(a_2gb_file_is_refused_in_bounded_memory)
{
	struct artifact_limits lim = ARTIFACT_LIMITS_DEFAULT;
	struct fetch f = { 0 };
	char name[32], *url, *dir, *ok;
	long before = maxrss_kib();

	url = hostile_repo("big", "2G", NULL);
	f.o.branch = "main";
	f.o.timeout_s = 120;
	ASSERT_EQ(do_fetch(&f, url), -EFBIG);
	ASSERT_CONTAINS(f.err.msg, "file 'big.bin' is 2147483648 bytes, over the limit of "
			"268435456");
	ASSERT(empty_dir(f.out));
	/* Sizes come from object headers: the blob is never inflated. */
	printf("# peak RSS %ld KiB before the fetch, %ld KiB after\n", before, maxrss_kib());
	ASSERT(maxrss_kib() - before < 64 * 1024);
	fetch_release(&f);
	free(url);

	/* The download itself is cut off past max_total_bytes. */
	snprintf(name, sizeof(name), "gtr-%d", getpid());
	dir = xasprintf("%s/src-%s", harness_tmpdir(), name);
	ok = itest_sh("mkdir -p %s && head -c 3000000 /dev/urandom > %s/noise.bin && echo ok", dir, dir);
	ASSERT_STREQ(ok, "ok");
	free(itest_sh("bash test/cluster/mkrepo.sh %s %s main", name, dir));
	url = xasprintf("%s/%s.git", itest_env("GIT_HTTP_URL"), name);
	memset(&f, 0, sizeof(f));
	lim.max_total_bytes = 1 << 20;
	f.o.branch = "main";
	f.o.lim = &lim;
	ASSERT_EQ(do_fetch(&f, url), -EFBIG);
	ASSERT_CONTAINS(f.err.msg, "the download is over the limit of 1048576 bytes");
	fetch_release(&f);
	free(url);
	free(dir);
	free(ok);
}

TEST(git_daemon_and_rsa_and_ecdsa_keys)
{
	static const char *const keys[] = { "SSH_KEY_RSA", "SSH_KEY_ECDSA" };
	struct fetch f = { 0 };
	char name[32], *url, *sha, *kh;
	size_t i;

	snprintf(name, sizeof(name), "gtd-%d", getpid());
	sha = make_repo(name, "daemon");
	url = xasprintf("%s/%s.git", itest_env("GIT_DAEMON_URL"), name);
	f.o.branch = "main";
	ASSERT_OK(do_fetch(&f, url));
	ASSERT_STREQ(f.res.commit, sha);
	free(url);
	url = xasprintf("%s/%s.git", itest_env("GIT_SSH_URL"), name);
	kh = itest_slurp(itest_env("SSH_KNOWN_HOSTS_HASHED"));
	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		char *key = itest_slurp(itest_env(keys[i]));

		fetch_release(&f);
		memset(&f, 0, sizeof(f));
		f.o.branch = "main";
		f.o.ssh_key = key;
		f.o.known_hosts = kh;
		if (do_fetch(&f, url) < 0)
			harness__fail(__FILE__, __LINE__, "%s: %s", keys[i], f.err.msg);
		ASSERT_STREQ(f.res.commit, sha);
		free(key);
	}
	fetch_release(&f);
	free(kh);
	free(url);
	free(sha);
}

TEST(sparse_checkout_writes_only_the_directories_asked_for)
{
	static const char *const dirs[] = { "apps/prod", "infra" };
	static const char *const missing[] = { "apps/staging" };
	struct fetch f = { 0 };
	char name[32], *dir, *sha, *files;

	snprintf(name, sizeof(name), "gtp-%d", getpid());
	dir = xasprintf("%s/src-%s", harness_tmpdir(), name);
	free(itest_sh("mkdir -p %s/apps/prod/x %s/apps/dev %s/infra %s/docs && cd %s && "
		"echo a > apps/prod/a.yaml && echo b > apps/prod/x/b.yaml && echo c > apps/dev/c.yaml"
		" && echo r > apps/root.yaml && echo i > infra/i.yaml && echo d > docs/d.md && "
		"echo t > top.md", dir, dir, dir, dir, dir));
	sha = itest_sh("bash test/cluster/mkrepo.sh %s %s main", name, dir);
	free(dir);
	dir = xasprintf("%s/%s.git", itest_env("GIT_HTTP_URL"), name);
	f.o.branch = "main";
	f.o.sparse = dirs;
	f.o.n_sparse = ARRAY_SIZE(dirs);
	ASSERT_OK(do_fetch(&f, dir));
	ASSERT_STREQ(f.res.commit, sha);
	files = itest_sh("cd %s && find . -type f | sort | tr '\\n' ' '", f.out);
	ASSERT_STREQ(files, "./apps/prod/a.yaml ./apps/prod/x/b.yaml ./infra/i.yaml ");
	free(files);
	f.o.sparse = missing;
	f.o.n_sparse = 1;
	ASSERT_EQ(do_fetch(&f, dir), -ENOENT);
	ASSERT_CONTAINS(f.err.msg, "sparse checkout directory 'apps/staging' does not exist");
	fetch_release(&f);
	free(dir);
	free(sha);
}

TEST(submodules_nested_with_relative_and_absolute_urls)
{
	struct fetch f = { 0 };
	char leaf[32], mid[32], top[32], *dir, *ok, *url, *files, *midurl;

	snprintf(leaf, sizeof(leaf), "gtsl-%d", getpid());
	snprintf(mid, sizeof(mid), "gtsm-%d", getpid());
	snprintf(top, sizeof(top), "gtst-%d", getpid());
	dir = xasprintf("%s/src-%s", harness_tmpdir(), leaf);
	ok = itest_sh("mkdir -p %s && echo leaf > %s/leaf.yaml && echo ok", dir, dir);
	ASSERT_STREQ(ok, "ok");
	free(ok);
	free(itest_sh("bash test/cluster/mkrepo.sh %s %s main", leaf, dir));
	/* mid holds leaf at "deep" by a relative URL; top holds mid by an absolute one. */
	midurl = xasprintf("%s/%s.git", itest_env("GIT_HTTP_URL"), mid);
	free(itest_sh("bash test/cluster/mktree.sh %s submodule %s deep ../%s.git", mid, leaf, leaf));
	free(itest_sh("bash test/cluster/mktree.sh %s submodule %s lib %s", top, mid, midurl));
	url = xasprintf("%s/%s.git", itest_env("GIT_HTTP_URL"), top);
	f.o.branch = "main";
	/* Without recurseSubmodules the gitlink stays an empty directory. */
	if (do_fetch(&f, url) < 0)
		harness__fail(__FILE__, __LINE__, "%s", f.err.msg);
	files = itest_sh("cd %s && find . -type f | sort | tr '\\n' ' '", f.out);
	ASSERT_STREQ(files, "./.gitmodules ./ok.txt ");
	free(files);
	f.o.submodules = true;
	if (do_fetch(&f, url) < 0)
		harness__fail(__FILE__, __LINE__, "%s", f.err.msg);
	files = itest_sh("cd %s && find . -type f | sort | tr '\\n' ' '", f.out);
	ASSERT_STREQ(files, "./.gitmodules ./lib/.gitmodules ./lib/deep/leaf.yaml ./lib/ok.txt "
		     "./ok.txt ");
	free(files);
	/* A submodule whose repository is gone: the error names it. */
	free(itest_sh("rm -rf %s/%s.git && echo", itest_env("GIT_ROOT"), leaf));
	fetch_release(&f);
	memset(&f, 0, sizeof(f));
	f.o.branch = "main";
	f.o.submodules = true;
	ASSERT(do_fetch(&f, url) < 0);
	ASSERT_CONTAINS(f.err.msg, "submodule 'lib': submodule 'deep': ");
	fetch_release(&f);
	free(url);
	free(midurl);
	free(dir);
}

TEST(https_client_certificate)
{
	struct fetch f = { 0 };
	char name[32], *url, *ca, *crt, *key, *other;
	char *k = xasprintf("%s/other.key", harness_tmpdir());

	snprintf(name, sizeof(name), "gtm-%d", getpid());
	free(make_repo(name, "mtls"));
	url = xasprintf("%s/%s.git", itest_env("GIT_MTLS_URL"), name);
	ca = itest_slurp(itest_env("TEST_CA"));
	crt = itest_slurp(itest_env("TEST_CLIENT_CERT"));
	key = itest_slurp(itest_env("TEST_CLIENT_KEY"));
	f.o.branch = "main";
	f.o.ca_pem = ca;
	/* The server wants a certificate and gets none. */
	ASSERT_EQ(do_fetch(&f, url), -EPROTO);
	ASSERT_CONTAINS(f.err.msg, "does the server require a client certificate?");
	f.o.cert_pem = crt;
	f.o.key_pem = key;
	if (do_fetch(&f, url) < 0)
		harness__fail(__FILE__, __LINE__, "%s", f.err.msg);
	/* A key that is not the certificate's; no key text in the message. */
	free(itest_sh("openssl genrsa -out %s 2048 2>/dev/null; echo", k));
	other = itest_slurp(k);
	f.o.key_pem = other;
	ASSERT_EQ(do_fetch(&f, url), -EINVAL);
	ASSERT_CONTAINS(f.err.msg, "do not match");
	ASSERT(!strstr(f.err.msg, "PRIVATE"));
	fetch_release(&f);
	free(other);
	free(k);
	free(key);
	free(crt);
	free(ca);
	free(url);
}

/*
 * SSH runs the OpenSSH client: a server that accepts and never speaks is
 * cut off by the timeout, the ssh child is reaped, and the private
 * directory holding the key is gone.
 */
TEST(ssh_stalled_server_is_cut_off_and_the_key_removed)
{
	struct fetch f = { 0 };
	char *tmp = xasprintf("%s/sshtmp", harness_tmpdir()), *url, *key, *kh, *left;
	char *portfile = xasprintf("%s/stall-port", harness_tmpdir());
	char *prog = xasprintf("import socket,time\n"
			       "s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(4)\n"
			       "open('%s','w').write(str(s.getsockname()[1]))\n"
			       "c=[s.accept() for _ in range(4)]; time.sleep(600)\n", portfile);
	char *argv[] = { (char *)"python3", (char *)"-c", prog, NULL };
	const char *old = getenv("TMPDIR");
	char *saved = old ? xstrdup(old) : NULL;
	int port;
	time_t t0;
	pid_t pid;

	ASSERT_OK(mkdir(tmp, 0700));
	ASSERT_EQ(posix_spawnp(&pid, "python3", NULL, NULL, argv, environ), 0);
	port = wait_port_file(portfile);
	url = xasprintf("ssh://git@127.0.0.1:%d/stall.git", port);
	key = itest_slurp(itest_env("SSH_KEY_RSA"));
	kh = xasprintf("[127.0.0.1]:%d ssh-ed25519 "
		       "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n", port);
	setenv("TMPDIR", tmp, 1);
	f.o.branch = "main";
	f.o.ssh_key = key;
	f.o.known_hosts = kh;
	f.o.timeout_s = 3;
	t0 = time(NULL);
	ASSERT(do_fetch(&f, url) < 0);
	ASSERT(time(NULL) - t0 < 20);
	ASSERT_EQ(f.err.code, -ETIMEDOUT);
	ASSERT_CONTAINS(f.err.msg, "timed out");
	if (saved)
		setenv("TMPDIR", saved, 1);
	else
		unsetenv("TMPDIR");
	left = itest_sh("ls -A %s | wc -l", tmp);
	ASSERT_STREQ(left, "0");
	kill(pid, SIGKILL);
	ASSERT_EQ(waitpid(pid, NULL, 0), pid);
	/* No ssh child left behind, zombie or not. */
	ASSERT_EQ(waitpid(-1, NULL, WNOHANG), -1);
	fetch_release(&f);
	free(left);
	free(kh);
	free(key);
	free(url);
	free(prog);
	free(portfile);
	free(tmp);
	free(saved);
}
