/*
 * ssh.c: a connection through the OpenSSH client (see transport.h).
 *
 * DESIGN
 * Why the OpenSSH client and not libssh2: Debian's libgit2 1.8 talks SSH
 * through libssh2 1.10, which signs RSA keys only with SHA-1
 * ("ssh-rsa"), refused by OpenSSH 8.8 and later and by the big Git
 * hosts.  So we run `ssh` and speak over its stdin and stdout, as git
 * itself does.
 *
 * Secrets: the key and known_hosts are written to a private directory
 * (0700, files 0600) removed when the connection ends; a passphrase
 * reaches ssh through an askpass script that prints it from the child's
 * environment.  Nothing secret is on ssh's command line.  ssh runs with
 * BatchMode, StrictHostKeyChecking=yes against the given known_hosts only
 * (no trust on first use), no agent and no password prompts.
 *
 * I/O: stdin and stdout are one end of a socket pair, so writes use
 * MSG_NOSIGNAL (a dead ssh never raises SIGPIPE) and reads and writes
 * wait in poll() no longer than the deadline (monotonic).  stderr is a
 * pipe drained as we go; its last 4 KiB become the error message, read for
 * ssh's well-known complaints (host key, refused key, bad passphrase).
 * The child is watched through a pidfd, so waiting for it to end never
 * sleeps in a loop: on EOF it gets 500 ms to exit before SIGKILL.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/path.h"
#include "base/str.h"
#include "source/transport.h"
#include "base/banned.h"

#define SSH_ERR_MAX 4096
#define EXIT_GRACE_MS 500
#define IO_CAP_MS 60000

struct src_ssh {
	pid_t pid;
	int sock, errfd;
	uint64_t deadline_ms;
	bool timed_out, failed;
	char host_port[300];
	char dir[256];
	char err[SSH_ERR_MAX];
	size_t errlen;
};

/* "'" + s + "'" with ' and ! escaped, as git quotes a path for the shell. */
static char *sq_quote(const char *s)
{
	struct buf b = BUF_INIT(8192);

	buf_addch(&b, '\'');
	for (; *s; s++) {
		if (*s == '\'' || *s == '!') {
			buf_adds(&b, "'\\");
			buf_addch(&b, *s);
			buf_addch(&b, '\'');
		} else {
			buf_addch(&b, *s);
		}
	}
	buf_addch(&b, '\'');
	return buf_detach(&b, NULL);
}

/* Split an ssh:// or scp-like URL; the parts are new strings. */
static int ssh_split(const char *url, char **user, char **host, char **port, char **path)
{
	const char *h, *slash, *at, *colon;

	*user = *host = *port = *path = NULL;
	if (str_startswith(url, "ssh://")) {
		h = url + 6;
		slash = strchr(h, '/');
		if (!slash)
			return -EINVAL;
		at = memchr(h, '@', (size_t)(slash - h));
		if (at) {
			*user = xstrndup(h, (size_t)(at - h));
			h = at + 1;
		}
		colon = memchr(h, ':', (size_t)(slash - h));
		*host = xstrndup(h, (size_t)((colon ? colon : slash) - h));
		if (colon)
			*port = xstrndup(colon + 1, (size_t)(slash - colon - 1));
		/* ssh://host/~user/repo names a path relative to a home. */
		*path = xstrdup(slash[1] == '~' ? slash + 1 : slash);
	} else {
		colon = strchr(url, ':');
		if (!colon)
			return -EINVAL;
		at = memchr(url, '@', (size_t)(colon - url));
		if (at)
			*user = xstrndup(url, (size_t)(at - url));
		h = at ? at + 1 : url;
		*host = xstrndup(h, (size_t)(colon - h));
		*path = xstrdup(colon + 1);
	}
	return **host && **path && (!*port || strspn(*port, "0123456789") == strlen(*port)) ?
		       0 : -EINVAL;
}

static int write_secret(const char *path, const char *text, mode_t mode)
{
	size_t n = strlen(text);
	char *t;
	int r;

	if (!n || text[n - 1] == '\n')
		return path_write_file(path, text, n, mode);
	/* A key must end with a newline for ssh to read it. */
	t = xmalloc(n + 1);
	memcpy(t, text, n);
	t[n] = '\n';
	r = path_write_file(path, t, n + 1, mode);
	explicit_bzero(t, n + 1);
	free(t);
	return r;
}

/* Read what ssh said on stderr so far (never blocks). */
static void drain_err(struct src_ssh *s)
{
	char buf[1024];
	ssize_t n;

	while (s->errfd >= 0 && (n = read(s->errfd, buf, sizeof(buf))) > 0) {
		size_t k = (size_t)n; /* < SSH_ERR_MAX */

		if (s->errlen + k >= SSH_ERR_MAX) {
			size_t drop = s->errlen + k - (SSH_ERR_MAX - 1);

			memmove(s->err, s->err + drop, s->errlen - drop);
			s->errlen -= drop;
		}
		memcpy(s->err + s->errlen, buf, k);
		s->errlen += k;
	}
	s->err[s->errlen] = '\0';
}

/* Wait up to `ms` for the child to exit, reaping it.  True if it did. */
static bool wait_exit(struct src_ssh *s, int ms)
{
	struct pollfd p = { .events = POLLIN };
	int n;

	if (s->pid <= 0)
		return true;
	p.fd = pidfd_open(s->pid, 0);
	if (p.fd >= 0) {
		do
			n = poll(&p, 1, ms);
		while (n < 0 && errno == EINTR);
		close(p.fd);
	}
	if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
		s->pid = 0;
		return true;
	}
	return false;
}

static void stop(struct src_ssh *s)
{
	if (s->sock >= 0)
		close(s->sock);
	s->sock = -1;
	/* ssh ends on EOF of its stdin; a moment, then it is killed. */
	if (s->pid > 0 && !wait_exit(s, EXIT_GRACE_MS)) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
	if (s->errfd >= 0)
		close(s->errfd);
	s->errfd = -1;
	if (s->dir[0]) {
		path_remove_all(s->dir);
		s->dir[0] = '\0';
	}
}

/* ssh stopped talking: say why, from its stderr. */
static int failed(struct src_ssh *s, struct op_err *err)
{
	const char *e, *last;
	char line[200];
	size_t n;

	s->failed = true;
	if (s->timed_out)
		return op_err_set(err, -ETIMEDOUT, "ssh: timed out");
	wait_exit(s, EXIT_GRACE_MS); /* its last words */
	drain_err(s);
	e = s->err;
	if (strstr(e, "Host key verification failed") ||
	    strstr(e, "REMOTE HOST IDENTIFICATION HAS CHANGED") || strstr(e, "host key is known"))
		return op_err_set(err, -EPROTO, "ssh: host key for '%s' does not match known_hosts",
				  s->host_port);
	if (strstr(e, "Permission denied") || strstr(e, "Too many authentication failures"))
		return op_err_set(err, -EACCES, "ssh: the key was refused by the server");
	if (strstr(e, "incorrect passphrase") || strstr(e, "Load key") ||
	    strstr(e, "invalid format"))
		return op_err_set(err, -EACCES, "ssh: the private key could not be loaded (wrong "
				  "passphrase or not a private key)");
	/* The last non-empty line, without the key or other input. */
	n = s->errlen;
	while (n && (e[n - 1] == '\n' || e[n - 1] == '\r'))
		n--;
	last = e + n;
	while (last > e && last[-1] != '\n')
		last--;
	snprintf(line, sizeof(line), "%.*s", (int)(e + n - last), last);
	return op_err_set(err, strstr(line, "timed out") ? -ETIMEDOUT :
			  strstr(line, "Connection refused") || strstr(line, "resolve") ?
			  -EHOSTUNREACH : -EIO,
			  "ssh: %s", *line ? line : "the connection closed unexpectedly");
}

/* Wait for `events` on the socket within the deadline; <= 0 on expiry. */
static int wait_sock(struct src_ssh *s, short events)
{
	struct pollfd p[2] = { { .fd = s->sock, .events = events },
			       { .fd = s->errfd, .events = POLLIN } };
	int n, ms;

	for (;;) {
		ms = src_wait_ms(s->deadline_ms, IO_CAP_MS);
		if (ms == 0) {
			s->timed_out = true;
			return 0;
		}
		p[1].fd = s->errfd;
		n = poll(p, s->errfd >= 0 ? 2 : 1, ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n > 0 && (p[1].revents & (POLLIN | POLLHUP)))
			drain_err(s);
		if (p[0].revents)
			return 1;
		if (p[1].revents & POLLHUP) {
			close(s->errfd);
			s->errfd = -1;
		}
	}
}

int src_ssh_read(struct src_ssh *s, void *buf, size_t len, size_t *ret_n,
		 struct op_err *reterr)
{
	ssize_t n;

	*ret_n = 0;
	for (;;) {
		n = recv(s->sock, buf, len, MSG_DONTWAIT);
		if (n > 0) {
			*ret_n = (size_t)n;
			return 0;
		}
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			return failed(s, reterr);
		if (wait_sock(s, POLLIN) <= 0)
			return failed(s, reterr);
	}
}

int src_ssh_write(struct src_ssh *s, const void *buf, size_t len, struct op_err *reterr)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = send(s->sock, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
			if (wait_sock(s, POLLOUT) <= 0)
				return failed(s, reterr);
			continue;
		}
		return failed(s, reterr);
	}
	return 0;
}

bool src_ssh_timed_out(const struct src_ssh *s)
{
	return s->timed_out;
}

void src_ssh_free(struct src_ssh *s)
{
	if (!s)
		return;
	stop(s);
	free(s);
}

static int spawn(struct src_ssh *s, const struct src_ssh_opts *o, const char *url,
		 const char *command, struct op_err *err)
{
	_cleanup_free_ char *user = NULL, *host = NULL, *port = NULL, *path = NULL;
	_cleanup_free_ char *cmd = NULL, *key = NULL, *kh = NULL, *ask = NULL;
	_cleanup_free_ char *o_kh = NULL, *o_key = NULL, *o_user = NULL, *pass_env = NULL;
	const char *tmp = o->tmp_root ? o->tmp_root : getenv("TMPDIR");
	posix_spawn_file_actions_t fa;
	char *argv[40], **envp;
	int sv[2], ep[2], argc = 0, r;
	size_t i, nenv = 0;

	if (!o->known_hosts || !*o->known_hosts)
		return op_err_set(err, -EPROTO, "ssh: no known_hosts given for '%s'; refusing to "
				  "trust an unknown host key", s->host_port);
	if (!o->key)
		return op_err_set(err, -EACCES, "ssh: no private key given (the Secret's "
				  "'identity')");
	if (ssh_split(url, &user, &host, &port, &path) < 0 || strpbrk(path, "\n\r") ||
	    host[0] == '-')
		return op_err_set(err, -EINVAL, "ssh: cannot read the repository URL");
	snprintf(s->dir, sizeof(s->dir), "%s/cflux-ssh-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(s->dir)) {
		s->dir[0] = '\0';
		return op_err_set(err, -errno, "ssh: cannot create a private directory: %s",
				  op_strerror(errno));
	}
	key = xasprintf("%s/key", s->dir);
	kh = xasprintf("%s/known_hosts", s->dir);
	r = write_secret(key, o->key, 0600);
	if (r == 0)
		r = write_secret(kh, o->known_hosts, 0600);
	if (r == 0 && o->passphrase) {
		ask = xasprintf("%s/askpass", s->dir);
		r = write_secret(ask, "#!/bin/sh\nprintf '%s\\n' \"$CFLUX_SSH_PASSPHRASE\"\n", 0700);
	}
	if (r < 0)
		return op_err_set(err, r, "ssh: cannot write to a private directory: %s",
				  op_strerror(r));

	o_kh = xasprintf("UserKnownHostsFile=%s", kh);
	o_key = xasprintf("IdentityFile=%s", key);
	o_user = xasprintf("User=%s", user ? user : o->username ? o->username : "git");
	{
		char *q = sq_quote(path);

		cmd = xasprintf("%s %s", command, q);
		free(q);
	}
	argv[argc++] = (char *)"ssh";
	argv[argc++] = (char *)"-F";
	argv[argc++] = (char *)"/dev/null";
#define OPT(v) do { argv[argc++] = (char *)"-o"; argv[argc++] = (char *)(v); } while (0)
	OPT(o->passphrase ? "BatchMode=no" : "BatchMode=yes");
	OPT("StrictHostKeyChecking=yes");
	OPT(o_kh);
	OPT("GlobalKnownHostsFile=/dev/null");
	OPT("IdentitiesOnly=yes");
	OPT("IdentityAgent=none");
	OPT(o_key);
	OPT(o_user);
	OPT("PasswordAuthentication=no");
	OPT("KbdInteractiveAuthentication=no");
	OPT("ConnectTimeout=10");
	OPT("ServerAliveInterval=10");
	OPT("ServerAliveCountMax=3");
#undef OPT
	if (port) {
		argv[argc++] = (char *)"-p";
		argv[argc++] = port;
	}
	argv[argc++] = (char *)"--";
	argv[argc++] = host;
	argv[argc++] = cmd;
	argv[argc] = NULL;

	for (i = 0; environ[i]; i++)
		;
	envp = xcalloc(i + 4, sizeof(*envp));
	for (i = 0; environ[i]; i++)
		if (!str_startswith(environ[i], "SSH_ASKPASS") &&
		    !str_startswith(environ[i], "CFLUX_SSH_PASSPHRASE=") &&
		    !str_startswith(environ[i], "SSH_AUTH_SOCK="))
			envp[nenv++] = environ[i];
	if (ask) {
		pass_env = xasprintf("CFLUX_SSH_PASSPHRASE=%s", o->passphrase);
		envp[nenv++] = pass_env;
		envp[nenv++] = xasprintf("SSH_ASKPASS=%s", ask);
		envp[nenv++] = (char *)"SSH_ASKPASS_REQUIRE=force";
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		r = op_err_set(err, -errno, "ssh: cannot create pipes: %s", op_strerror(errno));
		goto out;
	}
	if (pipe2(ep, O_CLOEXEC) < 0) {
		r = op_err_set(err, -errno, "ssh: cannot create pipes: %s", op_strerror(errno));
		close(sv[0]);
		close(sv[1]);
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
	posix_spawn_file_actions_adddup2(&fa, sv[1], 1);
	posix_spawn_file_actions_adddup2(&fa, ep[1], 2);
	r = posix_spawnp(&s->pid, "ssh", &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(sv[1]);
	close(ep[1]);
	s->sock = sv[0];
	s->errfd = ep[0];
	fcntl(s->errfd, F_SETFL, O_NONBLOCK);
	if (r != 0) {
		s->pid = 0;
		r = op_err_set(err, -r, "ssh: cannot run the OpenSSH client 'ssh': %s",
			       op_strerror(r));
	}
out:
	if (pass_env)
		explicit_bzero(pass_env, strlen(pass_env));
	if (ask)
		free(envp[nenv - 2]);
	free(envp);
	return r;
}

int src_ssh_connect(const struct src_ssh_opts *o, const char *url, const char *command,
		    struct src_ssh **ret, struct op_err *reterr)
{
	struct src_ssh *s = xcalloc(1, sizeof(*s));
	int r;

	s->sock = s->errfd = -1;
	s->deadline_ms = o->deadline_ms;
	snprintf(s->host_port, sizeof(s->host_port), "%s", o->host_port ? o->host_port : "");
	r = spawn(s, o, url, command, reterr);
	if (r < 0) {
		src_ssh_free(s);
		return r;
	}
	*ret = s;
	return 0;
}
