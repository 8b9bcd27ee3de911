/*
 * git.c: the only file that includes <git2.h> (see git.h).
 *
 * DESIGN
 * libgit2 is initialised once per process (pthread_once) with its global
 * network timeouts; everything else is per call: one git_repository per
 * fetch on the worker thread, errors read from git_error_last() on that
 * same thread and copied into struct op_err with URL userinfo removed.
 *
 * The callbacks share a struct ctx: credentials are offered once per kind
 * and connection (a second request on the same connection means the first
 * was refused, and retrying forever is what hangs other Git clients), the SSH host key is
 * checked against known_hosts here (libgit2 leaves that to us), and the
 * transfer-progress callback enforces the overall deadline and the size
 * bound.
 *
 * Checkout is two steps: check_tree() walks the commit's tree first,
 * reading only object headers, and refuses what the limits or the path
 * rules forbid; then libgit2 writes the tree (or the sparse directories)
 * into the target directory.  Submodules recurse through fetch_tree() with
 * a child ctx that shares the deadline, the error and the tally.
 */
#include <git2.h>
#include <git2/sys/errors.h>
#include <git2/sys/stream.h>
#include <git2/sys/transport.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <mbedtls/asn1.h>
#include <mbedtls/base64.h>
#include <mbedtls/x509_crt.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/path.h"
#include "base/semver.h"
#include "base/str.h"
#include "source/git.h"
#include "base/banned.h"

static pthread_once_t git_once = PTHREAD_ONCE_INIT;

static int tls_init(git_stream **out, const char *host, const char *port);
static int plain_init(git_stream **out, const char *host, const char *port);

static void git_init(void)
{
	git_libgit2_init();
	git_libgit2_opts(GIT_OPT_SET_SERVER_CONNECT_TIMEOUT, 10000);
	git_libgit2_opts(GIT_OPT_SET_SERVER_TIMEOUT, 30000);
	/*
	 * libgit2 writes to git:// sockets without MSG_NOSIGNAL: a server
	 * that hangs up would kill the process.  Ours (TLS, ssh) never raise
	 * SIGPIPE, so ignoring it here changes nothing else.
	 */
	signal(SIGPIPE, SIG_IGN);
	{
		git_stream_registration tls = { .version = GIT_STREAM_VERSION, .init = tls_init };
		git_stream_registration plain = { .version = GIT_STREAM_VERSION,
						   .init = plain_init };

		git_stream_register(GIT_STREAM_TLS, &tls);
		git_stream_register(GIT_STREAM_STANDARD, &plain);
	}
}

/* What has been checked out so far, across submodules. */
struct tally {
	uint64_t entries, bytes;
};

#define MAX_DEPTH 256     /* directory nesting in a tree */
#define MAX_SUBMODULES 8  /* submodule nesting */

struct ctx {
	const struct src_git_opts *o;
	const struct artifact_limits *lim;
	struct tally *tally;
	int level;       /* submodule nesting: 0 for the repository itself */
	bool by_commit;  /* a submodule: fetch the commit, whatever ref holds it */
	bool too_big;
	char host_port[300]; /* "[host]:port" or "host", for known_hosts */
	int tried_userpass;
	time_t deadline;
	bool timed_out;
	struct op_err *err;
	bool err_set, err_what;
	git_strarray headers; /* extra HTTP headers: the bearer token */
	char *header;
};

static int fail(struct ctx *c, int code, const char *fmt, ...) _printf_(3, 4);

static int fail(struct ctx *c, int code, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	op_err_set(c->err, code, "%s", msg);
	c->err_set = true;
	return code;
}

/* Copy libgit2's error for `rc` into reterr (unless a callback already said why). */
static int git_fail(struct ctx *c, int rc, const char *what)
{
	const git_error *e = git_error_last();
	struct buf clean = BUF_INIT(1024);
	int code;

	if (c->err_set) {
		/* Said by a callback or our streams: add what was being done, once. */
		if (!c->err_what) {
			op_err_prefix(c->err, "%s", what);
			c->err_what = true;
		}
		return c->err->code;
	}
	if (c->timed_out)
		return fail(c, -ETIMEDOUT, "%s: timed out after %us", what,
			    c->o->timeout_s ? c->o->timeout_s : 60);
	if (c->too_big)
		return fail(c, -EFBIG, "%s: the download is over the limit of %llu bytes", what,
			    (unsigned long long)c->lim->max_total_bytes);
	switch (rc) {
	case GIT_ENOTFOUND:
		code = -ENOENT;
		break;
	case GIT_EAUTH:
		code = -EACCES;
		break;
	case GIT_ECERTIFICATE:
		code = -EPROTO;
		break;
	case GIT_TIMEOUT:
		code = -ETIMEDOUT;
		break;
	default:
		code = -EIO;
	}
	log_redact_urls(&clean, e && e->message ? e->message : "unknown error");
	fail(c, code, "%s: %s", what, clean.buf);
	buf_release(&clean);
	return code;
}

static int credentials(git_credential **out, const char *url, const char *user_from_url,
		       unsigned int allowed, void *payload)
{
	struct ctx *c = payload;
	const char *user = c->o->username ? c->o->username : user_from_url ? user_from_url : "git";

	if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && c->o->username && c->o->password) {
		if (c->tried_userpass++)
			return fail(c, -EACCES, "authentication failed for user '%s'", user);
		return git_credential_userpass_plaintext_new(out, user, c->o->password);
	}
	if (allowed & GIT_CREDENTIAL_USERNAME)
		return git_credential_username_new(out, user);
	return fail(c, -EACCES, "authentication required but no credentials are configured");
}

/* The length of `host` as a binary IP address (4 or 16), or 0 for a name. */
static size_t ip_len(const char *host, unsigned char ret[16])
{
	unsigned char tmp[16];

	if (inet_pton(AF_INET, host, ret ? ret : tmp) == 1)
		return 4;
	if (inet_pton(AF_INET6, host, ret ? ret : tmp) == 1)
		return 16;
	return 0;
}

/*
 * mbedTLS 2.28 matches only DNS names against the host; an IP address
 * (a test server, a cluster-internal registry) is looked up among the
 * certificate's iPAddress subject-alternative names ([7]) here.
 */
static bool san_has_ip(const mbedtls_x509_crt *crt, const char *host)
{
	const mbedtls_x509_sequence *san;
	unsigned char ip[16];
	size_t n = ip_len(host, ip);

	for (san = &crt->subject_alt_names; san; san = san->next)
		if (san->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) && san->buf.len == n &&
		    memcmp(san->buf.p, ip, n) == 0)
			return true;
	return false;
}

/*
 * TLS: our stream (below) has verified the chain against the custom CA, or
 * the system's store without one, and the host name or IP; here the
 * verdict becomes a message.
 */
static int check_tls(struct ctx *c, int valid, const char *host)
{
	if (valid)
		return 0;
	if (c->o->ca_pem)
		fail(c, -EPROTO, "tls: the certificate of '%s' is not signed by the given "
		     "certificate authority or does not name the host", host);
	else
		fail(c, -EPROTO, "tls: the certificate of '%s' is not trusted (no custom CA given)",
		     host);
	return GIT_ECERTIFICATE;
}

/* ---- our streams: TLS for https://, plain for http:// and git:// ----
 *
 * libgit2 speaks HTTP; the sockets and the TLS under it are ours
 * (git_stream_register), so that a client certificate can be presented,
 * the whole chain (with intermediates) is verified against the CA the
 * source gives, IP addresses are matched against the certificate's IP
 * SANs, a proxy is reached with CONNECT, and every read and write is
 * bounded by the fetch's deadline.  A plain stream is the same struct
 * with `plain` set: no TLS on the socket.  libgit2 calls us with
 * the host and port only: the fetch running on this thread is found in
 * `cur` (each fetch runs on one worker thread from start to end).
 */
static __thread struct ctx *cur;

#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

/*
 * The system's CAs, parsed once (3.6 ms a parse here, once per connection
 * before) and shared read-only by every connection's verification.
 */
static mbedtls_x509_crt system_ca;
static int system_ca_rc;
static pthread_once_t system_ca_once = PTHREAD_ONCE_INIT;

static void load_system_ca(void)
{
	mbedtls_x509_crt_init(&system_ca);
	system_ca_rc = mbedtls_x509_crt_parse_file(&system_ca, SYSTEM_CA_BUNDLE);
}
#define TLS_CONNECT_MS 10000
#define TLS_IO_MS 30000

struct tls_stream {
	git_stream parent;
	struct ctx *c;
	char *host, *port;
	int fd;
	bool plain;        /* http:// or git://: no TLS on the socket */
	bool ready;
	mbedtls_ssl_context ssl;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca, own;
	mbedtls_pk_context key;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	git_cert_x509 cert;
};

/* Milliseconds to wait: `cap`, or less if the fetch's deadline is nearer. */
static int wait_ms(const struct tls_stream *t, int cap)
{
	time_t left;

	if (!t->c)
		return cap;
	left = t->c->deadline - time(NULL);
	if (left <= 0)
		return 0;
	return left * 1000 < cap ? (int)(left * 1000) : cap;
}

static int wait_fd(struct tls_stream *t, short events, int cap)
{
	struct pollfd p = { .fd = t->fd, .events = events };
	int n;

	do
		n = poll(&p, 1, wait_ms(t, cap));
	while (n < 0 && errno == EINTR);
	if (n == 0 && t->c)
		t->c->timed_out = t->c->deadline <= time(NULL);
	return n;
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct tls_stream *t = ctx;

	for (;;) {
		ssize_t n = send(t->fd, buf, len, MSG_NOSIGNAL);

		if (n >= 0)
			return (int)n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return MBEDTLS_ERR_NET_SEND_FAILED;
		if (wait_fd(t, POLLOUT, TLS_IO_MS) <= 0)
			return MBEDTLS_ERR_SSL_TIMEOUT;
	}
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct tls_stream *t = ctx;

	for (;;) {
		ssize_t n = recv(t->fd, buf, len, 0);

		if (n >= 0)
			return (int)n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return MBEDTLS_ERR_NET_RECV_FAILED;
		if (wait_fd(t, POLLIN, TLS_IO_MS) <= 0)
			return MBEDTLS_ERR_SSL_TIMEOUT;
	}
}

/* Set libgit2's error (and ours, if a fetch is running) and return -1. */
static int tls_fail(struct tls_stream *t, int code, const char *fmt, ...) _printf_(3, 4);

static int tls_fail(struct tls_stream *t, int code, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	git_error_set_str(GIT_ERROR_NET, msg);
	if (t->c && !t->c->err_set && !t->c->timed_out)
		fail(t->c, code, "%s", msg);
	return -1;
}

/* Where a connection goes instead of its server: an HTTP proxy. */
struct proxy {
	char host[256], port[16];
	char auth[512]; /* base64 "user:password" for Proxy-Authorization, or "" */
};

/* Does $NO_PROXY (comma-separated names, ".suffix", "*") exempt `host`? */
static bool no_proxy(const char *host)
{
	const char *np = getenv("NO_PROXY"), *p;
	size_t hl = strlen(host);

	if (!np)
		np = getenv("no_proxy");
	for (p = np; p && *p;) {
		size_t n = strcspn(p, ","), k;
		const char *e = p;

		while (n && (*e == ' ' || *e == '.')) {
			e++;
			n--;
		}
		k = n;
		while (k && e[k - 1] == ' ')
			k--;
		if ((k == 1 && *e == '*') ||
		    (k && k <= hl && !strncasecmp(host + hl - k, e, k) &&
		     (k == hl || host[hl - k - 1] == '.')))
			return true;
		p = e + n + (e[n] == ',');
	}
	return false;
}

/*
 * The proxy for a connection to `host`: HTTP(S) remotes only; the one
 * given (proxySecretRef), else $HTTPS_PROXY or $HTTP_PROXY (lower case
 * too) unless $NO_PROXY exempts the host.  1 with *p filled, 0 for none,
 * or -1 (an http:// proxy only).  Messages never carry its credentials.
 */
static int proxy_for(struct ctx *c, const char *host, struct proxy *p)
{
	const struct src_git_opts *o = c->o;
	bool https = str_startswith(o->url, "https://");
	const char *u = o->proxy_url, *h, *end, *at, *hp, *colon;
	char cred[512];
	size_t n;

	memset(p, 0, sizeof(*p));
	if (!https && !str_startswith(o->url, "http://"))
		return 0;
	if (!u) {
		u = getenv(https ? "HTTPS_PROXY" : "HTTP_PROXY");
		if (!u)
			u = getenv(https ? "https_proxy" : "http_proxy");
		if (!u || !*u || no_proxy(host))
			return 0;
	}
	if (str_startswith(u, "http://"))
		h = u + strlen("http://");
	else if (!strstr(u, "://"))
		h = u;
	else
		return fail(c, -EINVAL, "the proxy must be an http:// proxy, not %.*s://",
			    (int)MIN(strcspn(u, ":"), (size_t)16), u);
	end = h + strcspn(h, "/");
	at = memrchr(h, '@', (size_t)(end - h));
	hp = at ? at + 1 : h;
	if (*hp == '[') {
		const char *rb = memchr(hp, ']', (size_t)(end - hp));

		if (!rb)
			return fail(c, -EINVAL, "the proxy address is not a valid URL");
		snprintf(p->host, sizeof(p->host), "%.*s", (int)(rb - hp - 1), hp + 1);
		colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
	} else {
		colon = memchr(hp, ':', (size_t)(end - hp));
		snprintf(p->host, sizeof(p->host), "%.*s", (int)((colon ? colon : end) - hp), hp);
	}
	snprintf(p->port, sizeof(p->port), "%.*s",
		 colon ? (int)MIN((size_t)(end - colon - 1), sizeof(p->port) - 1) : 2,
		 colon ? colon + 1 : "80");
	if (!p->host[0] || !p->port[0])
		return fail(c, -EINVAL, "the proxy address is not a valid URL");
	if (o->proxy_username)
		snprintf(cred, sizeof(cred), "%s:%s", o->proxy_username,
			 o->proxy_password ? o->proxy_password : "");
	else if (at)
		snprintf(cred, sizeof(cred), "%.*s", (int)(at - h), h);
	else
		cred[0] = '\0';
	if (cred[0] && mbedtls_base64_encode((unsigned char *)p->auth, sizeof(p->auth), &n,
					     (const unsigned char *)cred, strlen(cred)) != 0)
		p->auth[0] = '\0';
	explicit_bzero(cred, sizeof(cred));
	return 1;
}

/*
 * Ask the proxy on t->fd for a tunnel to t->host:t->port (CONNECT,
 * credentials sent up front, as curl does) and read its answer up to the
 * blank line; nothing of the tunnel is read.
 */
static int proxy_tunnel(struct tls_stream *t, struct proxy *px)
{
	bool v6 = strchr(t->host, ':') != NULL, auth = px->auth[0] != '\0';
	char req[1200], resp[4096];
	size_t off = 0, n = 0;
	int len, code = 0;

	len = snprintf(req, sizeof(req),
		       "CONNECT %s%s%s:%s HTTP/1.1\r\nHost: %s%s%s:%s\r\n%s%s%s"
		       "User-Agent: cflux\r\n\r\n",
		       v6 ? "[" : "", t->host, v6 ? "]" : "", t->port, v6 ? "[" : "", t->host,
		       v6 ? "]" : "", t->port, px->auth[0] ? "Proxy-Authorization: Basic " : "",
		       px->auth, px->auth[0] ? "\r\n" : "");
	explicit_bzero(px->auth, sizeof(px->auth));
	while (len > 0 && off < (size_t)len) {
		int w = bio_send(t, (const unsigned char *)req + off, (size_t)len - off);

		if (w <= 0)
			break;
		off += (size_t)w;
	}
	explicit_bzero(req, sizeof(req));
	if (len <= 0 || off < (size_t)len)
		return tls_fail(t, -EIO, "cannot talk to the proxy %s:%s", px->host, px->port);
	while (n < sizeof(resp) - 1 && !(n >= 4 && !memcmp(resp + n - 4, "\r\n\r\n", 4))) {
		int r = bio_recv(t, (unsigned char *)resp + n, 1);

		if (r <= 0)
			return tls_fail(t, t->c && t->c->timed_out ? -ETIMEDOUT : -EIO,
					"the proxy %s:%s closed the connection before answering",
					px->host, px->port);
		n++;
	}
	resp[n] = '\0';
	if (sscanf(resp, "HTTP/%*d.%*d %d", &code) != 1)
		return tls_fail(t, -EPROTO, "the proxy %s:%s did not answer in HTTP", px->host,
				px->port);
	if (code / 100 == 2)
		return 0;
	if (code == 407 || (code == 401 && auth)) /* tinyproxy says 401 to wrong credentials */
		return tls_fail(t, -EACCES, "the proxy %s:%s %s", px->host, px->port,
				auth ? "refused the proxy username and password" :
				"requires authentication: no proxy username and password are given");
	return tls_fail(t, -EPROTO, "the proxy %s:%s answered '%.*s' to CONNECT %s:%s", px->host,
			px->port, (int)MIN(strcspn(resp, "\r\n"), (size_t)80), resp, t->host,
			t->port);
}

static int tcp_connect(struct tls_stream *t)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL, *a;
	struct proxy px;
	int rc, err = ECONNREFUSED, via = t->c ? proxy_for(t->c, t->host, &px) : 0;
	const char *host = via > 0 ? px.host : t->host, *port = via > 0 ? px.port : t->port;

	if (via < 0) {
		git_error_set_str(GIT_ERROR_NET, t->c->err->msg);
		return -1;
	}
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0)
		return tls_fail(t, -EHOSTUNREACH, "failed to resolve address for %s%s: %s",
				via > 0 ? "the proxy " : "", host, gai_strerror(rc));
	for (a = ai; a; a = a->ai_next) {
		socklen_t sl = sizeof(err);

		t->fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			       a->ai_protocol);
		if (t->fd < 0) {
			err = errno;
			continue;
		}
		if (connect(t->fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		err = errno;
		if (err == EINPROGRESS) {
			if (wait_fd(t, POLLOUT, TLS_CONNECT_MS) > 0 &&
			    getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &sl) == 0 && err == 0)
				break;
			if (err == EINPROGRESS)
				err = ETIMEDOUT;
		}
		close(t->fd);
		t->fd = -1;
	}
	freeaddrinfo(ai);
	if (t->fd < 0)
		return tls_fail(t, -err, "failed to connect to %s%s: %s",
				via > 0 ? "the proxy " : "", host, op_strerror(err));
	return via > 0 ? proxy_tunnel(t, &px) : 0;
}

static int tls_connect(git_stream *stream)
{
	struct tls_stream *t = (struct tls_stream *)stream;
	const struct src_git_opts *o = t->c ? t->c->o : NULL;
	const char *pers = "cflux-git";
	char ebuf[128];
	uint32_t flags;
	bool ip = ip_len(t->host, NULL) != 0;
	int rc;

	if (tcp_connect(t) < 0)
		return -1;
	if (t->plain)
		return 0;
	rc = mbedtls_ctr_drbg_seed(&t->drbg, mbedtls_entropy_func, &t->entropy,
				   (const unsigned char *)pers, strlen(pers));
	if (rc == 0)
		rc = mbedtls_ssl_config_defaults(&t->conf, MBEDTLS_SSL_IS_CLIENT,
						 MBEDTLS_SSL_TRANSPORT_STREAM,
						 MBEDTLS_SSL_PRESET_DEFAULT);
	if (rc != 0)
		return tls_fail(t, -EIO, "tls: cannot set up a connection to '%s'", t->host);
	mbedtls_ssl_conf_rng(&t->conf, mbedtls_ctr_drbg_random, &t->drbg);
	/* The verdict is read after the handshake: libgit2 asks for it. */
	mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_OPTIONAL);
	if (o && o->ca_pem) {
		rc = mbedtls_x509_crt_parse(&t->ca, (const unsigned char *)o->ca_pem,
					    strlen(o->ca_pem) + 1);
		if (rc < 0)
			return tls_fail(t, -EINVAL, "the certificate authority given for '%s' "
					"is not valid PEM", t->host);
		mbedtls_ssl_conf_ca_chain(&t->conf, &t->ca, NULL);
	} else {
		pthread_once(&system_ca_once, load_system_ca);
		if (system_ca_rc < 0)
			return tls_fail(t, -EINVAL, "tls: cannot read the system's certificate "
					"authorities for '%s'", t->host);
		mbedtls_ssl_conf_ca_chain(&t->conf, &system_ca, NULL);
	}
	if (o && o->cert_pem && o->key_pem) {
		rc = mbedtls_x509_crt_parse(&t->own, (const unsigned char *)o->cert_pem,
					    strlen(o->cert_pem) + 1);
		if (rc == 0)
			rc = mbedtls_pk_parse_key(&t->key, (const unsigned char *)o->key_pem,
						  strlen(o->key_pem) + 1, NULL, 0);
		if (rc == 0)
			rc = mbedtls_pk_check_pair(&t->own.pk, &t->key);
		if (rc == 0)
			rc = mbedtls_ssl_conf_own_cert(&t->conf, &t->own, &t->key);
		if (rc != 0)
			return tls_fail(t, -EINVAL, "tls: the client certificate or its key is not "
					"valid PEM, or they do not match");
	}
	rc = mbedtls_ssl_setup(&t->ssl, &t->conf);
	if (rc == 0 && !ip)
		rc = mbedtls_ssl_set_hostname(&t->ssl, t->host);
	if (rc != 0)
		return tls_fail(t, -EIO, "tls: cannot set up a connection to '%s'", t->host);
	mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
	do
		rc = mbedtls_ssl_handshake(&t->ssl);
	while (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE);
	if (rc != 0) {
		if (t->c && t->c->timed_out)
			return tls_fail(t, -ETIMEDOUT, "tls: handshake with '%s' timed out", t->host);
		mbedtls_strerror(rc, ebuf, sizeof(ebuf));
		return tls_fail(t, -EPROTO, "tls: handshake with '%s' failed (%s)%s", t->host, ebuf,
				o && o->cert_pem ? "" :
				"; does the server require a client certificate?");
	}
	t->ready = true;
	{
		const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&t->ssl);

		if (!peer)
			return tls_fail(t, -EPROTO, "tls: '%s' sent no certificate", t->host);
		t->cert.parent.cert_type = GIT_CERT_X509;
		t->cert.data = peer->raw.p;
		t->cert.len = peer->raw.len;
		flags = mbedtls_ssl_get_verify_result(&t->ssl);
		if (flags != 0 || (ip && !san_has_ip(peer, t->host))) {
			git_error_set_str(GIT_ERROR_SSL, "the server's certificate is not valid");
			return GIT_ECERTIFICATE;
		}
	}
	return 0;
}

static int tls_certificate(git_cert **out, git_stream *stream)
{
	struct tls_stream *t = (struct tls_stream *)stream;

	*out = &t->cert.parent;
	return 0;
}

static ssize_t tls_read(git_stream *stream, void *buf, size_t len)
{
	struct tls_stream *t = (struct tls_stream *)stream;
	int rc;

	if (t->plain)
		rc = bio_recv(t, buf, len);
	else
		do
			rc = mbedtls_ssl_read(&t->ssl, buf, len);
		while (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE);
	if (rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
		return 0;
	if (rc < 0)
		return tls_fail(t, t->c && t->c->timed_out ? -ETIMEDOUT : -EIO,
				"%sreading from '%s' failed", t->plain ? "" : "tls: ", t->host);
	return rc;
}

static ssize_t tls_write(git_stream *stream, const char *buf, size_t len, int flags)
{
	struct tls_stream *t = (struct tls_stream *)stream;
	int rc;

	(void)flags;
	if (t->plain)
		rc = bio_send(t, (const unsigned char *)buf, len);
	else
		do
			rc = mbedtls_ssl_write(&t->ssl, (const unsigned char *)buf, len);
		while (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE);
	if (rc < 0)
		return tls_fail(t, t->c && t->c->timed_out ? -ETIMEDOUT : -EIO,
				"%swriting to '%s' failed", t->plain ? "" : "tls: ", t->host);
	return rc;
}

static int tls_close(git_stream *stream)
{
	struct tls_stream *t = (struct tls_stream *)stream;

	if (t->ready && !t->plain)
		mbedtls_ssl_close_notify(&t->ssl);
	t->ready = false;
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	return 0;
}

static void tls_free(git_stream *stream)
{
	struct tls_stream *t = (struct tls_stream *)stream;

	tls_close(stream);
	mbedtls_ssl_free(&t->ssl);
	mbedtls_ssl_config_free(&t->conf);
	mbedtls_x509_crt_free(&t->ca);
	mbedtls_x509_crt_free(&t->own);
	mbedtls_pk_free(&t->key);
	mbedtls_ctr_drbg_free(&t->drbg);
	mbedtls_entropy_free(&t->entropy);
	free(t->host);
	free(t->port);
	free(t);
}

static int tls_init(git_stream **out, const char *host, const char *port)
{
	struct tls_stream *t = xcalloc(1, sizeof(*t));

	t->parent.version = GIT_STREAM_VERSION;
	t->parent.encrypted = 1;
	t->parent.connect = tls_connect;
	t->parent.certificate = tls_certificate;
	t->parent.read = tls_read;
	t->parent.write = tls_write;
	t->parent.close = tls_close;
	t->parent.free = tls_free;
	t->c = cur;
	t->host = xstrdup(host);
	t->port = xstrdup(port && *port ? port : "443");
	t->fd = -1;
	mbedtls_ssl_init(&t->ssl);
	mbedtls_ssl_config_init(&t->conf);
	mbedtls_x509_crt_init(&t->ca);
	mbedtls_x509_crt_init(&t->own);
	mbedtls_pk_init(&t->key);
	mbedtls_entropy_init(&t->entropy);
	mbedtls_ctr_drbg_init(&t->drbg);
	*out = &t->parent;
	return 0;
}

/*
 * http:// and git:// connections are ours too (GIT_STREAM_STANDARD): the
 * same deadline-bound socket, through the proxy for http://, no TLS.
 */
static int plain_init(git_stream **out, const char *host, const char *port)
{
	struct tls_stream *t;

	tls_init(out, host, port && *port ? port : "80");
	t = (struct tls_stream *)*out;
	t->plain = true;
	t->parent.encrypted = 0;
	t->parent.certificate = NULL;
	return 0;
}

static int check_cert(git_cert *cert, int valid, const char *host, void *payload)
{
	if (cert->cert_type == GIT_CERT_X509)
		return check_tls(payload, valid, host);
	return GIT_PASSTHROUGH;
}

static int progress(const git_indexer_progress *stats, void *payload)
{
	struct ctx *c = payload;

	if (time(NULL) > c->deadline) {
		c->timed_out = true;
		return -1;
	}
	if (stats->received_bytes > c->lim->max_total_bytes) {
		c->too_big = true;
		return -1;
	}
	return 0;
}

static void set_host_port(struct ctx *c, const char *url)
{
	const char *h = strstr(url, "://"), *end, *at, *colon;
	char host[256];
	int port = 0;

	if (!h) {
		/* scp-like "git@host:path" */
		at = strchr(url, '@');
		h = at ? at + 1 : url;
		end = strchr(h, ':');
		snprintf(c->host_port, sizeof(c->host_port), "%.*s",
			 (int)(end ? end - h : (long)strlen(h)), h);
		return;
	}
	h += 3;
	end = h + strcspn(h, "/");
	at = memchr(h, '@', (size_t)(end - h));
	if (at)
		h = at + 1;
	colon = memchr(h, ':', (size_t)(end - h));
	snprintf(host, sizeof(host), "%.*s", (int)((colon ? colon : end) - h), h);
	if (colon) {
		char num[16];

		snprintf(num, sizeof(num), "%.*s", (int)MIN((size_t)(end - colon - 1), sizeof(num) - 1),
			 colon + 1);
		if (parse_int(num, &port) < 0)
			port = 0;
	}
	if (port && port != 22)
		snprintf(c->host_port, sizeof(c->host_port), "[%s]:%d", host, port);
	else
		snprintf(c->host_port, sizeof(c->host_port), "%s", host);
}

/* ---- SSH: the OpenSSH client as libgit2's transport ----
 *
 * libgit2 1.8 in Debian talks SSH through libssh2 1.10, which signs RSA
 * keys only with SHA-1 ("ssh-rsa"), refused by OpenSSH 8.8 and later and
 * by the big Git hosts.  So SSH URLs go through a smart subtransport of our
 * own that runs `ssh` and speaks the Git protocol over its stdin and
 * stdout, as git itself does.  The key and known_hosts are written to a
 * private directory (0700, files 0600) removed when the connection closes;
 * a passphrase reaches ssh through an askpass script that prints it from
 * the child's environment.  Nothing secret is on ssh's command line.
 * Every read and write is bounded by the fetch's deadline; on expiry the
 * child is killed and reaped.  ssh's stderr (the last 4 KiB) becomes the
 * error message.
 */
#define SSH_ERR_MAX 4096

struct ssh_sub {
	git_smart_subtransport parent;
	git_smart_subtransport_stream stream; /* one connection: LS, then the pack */
	struct ctx *c;
	pid_t pid;
	int sock, errfd;
	char dir[256];
	char err[SSH_ERR_MAX];
	size_t errlen;
	bool failed;
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

static void ssh_cleanup_dir(struct ssh_sub *t)
{
	if (!t->dir[0])
		return;
	path_remove_all(t->dir);
	t->dir[0] = '\0';
}

/* Read what ssh said on stderr so far (never blocks). */
static void ssh_drain_err(struct ssh_sub *t)
{
	char buf[1024];
	ssize_t n;

	while (t->errfd >= 0 && (n = read(t->errfd, buf, sizeof(buf))) > 0) {
		size_t k = (size_t)n; /* < SSH_ERR_MAX */

		if (t->errlen + k >= SSH_ERR_MAX) {
			size_t drop = t->errlen + k - (SSH_ERR_MAX - 1);

			memmove(t->err, t->err + drop, t->errlen - drop);
			t->errlen -= drop;
		}
		memcpy(t->err + t->errlen, buf, k);
		t->errlen += k;
	}
	t->err[t->errlen] = '\0';
}

static void ssh_stop(struct ssh_sub *t)
{
	int i;

	if (t->sock >= 0)
		close(t->sock);
	t->sock = -1;
	if (t->pid > 0) {
		/* ssh ends on EOF of its stdin; give it a moment, then kill it. */
		for (i = 0; i < 50 && waitpid(t->pid, NULL, WNOHANG) == 0; i++)
			usleep(10000);
		if (i == 50) {
			kill(t->pid, SIGKILL);
			waitpid(t->pid, NULL, 0);
		}
		t->pid = 0;
	}
	if (t->errfd >= 0)
		close(t->errfd);
	t->errfd = -1;
	ssh_cleanup_dir(t);
}

/* ssh stopped talking: say why, from its stderr.  Returns -1 for libgit2. */
static int ssh_failed(struct ssh_sub *t)
{
	struct ctx *c = t->c;
	const char *e, *last;
	char line[200];
	size_t n;

	if (t->failed)
		return -1;
	t->failed = true;
	if (c->timed_out) {
		git_error_set_str(GIT_ERROR_SSH, "timed out");
		return -1;
	}
	/* Wait a little for ssh's last words. */
	for (n = 0; n < 50 && t->pid > 0 && waitpid(t->pid, NULL, WNOHANG) == 0; n++)
		usleep(10000);
	if (n < 50)
		t->pid = 0;
	ssh_drain_err(t);
	e = t->err;
	if (strstr(e, "Host key verification failed") ||
	    strstr(e, "REMOTE HOST IDENTIFICATION HAS CHANGED") || strstr(e, "host key is known"))
		fail(c, -EPROTO, "ssh: host key for '%s' does not match known_hosts", c->host_port);
	else if (strstr(e, "Permission denied") || strstr(e, "Too many authentication failures"))
		fail(c, -EACCES, "ssh: the key was refused by the server");
	else if (strstr(e, "incorrect passphrase") || strstr(e, "Load key") ||
		 strstr(e, "invalid format"))
		fail(c, -EACCES, "ssh: the private key could not be loaded (wrong passphrase or "
		     "not a private key)");
	else {
		/* The last non-empty line, without the key or other input. */
		n = t->errlen;
		while (n && (e[n - 1] == '\n' || e[n - 1] == '\r'))
			n--;
		last = e + n;
		while (last > e && last[-1] != '\n')
			last--;
		snprintf(line, sizeof(line), "%.*s", (int)(e + n - last), last);
		fail(c, strstr(line, "timed out") ? -ETIMEDOUT :
			strstr(line, "Connection refused") || strstr(line, "resolve") ? -EHOSTUNREACH :
			-EIO, "ssh: %s", *line ? line : "the connection closed unexpectedly");
	}
	git_error_set_str(GIT_ERROR_SSH, c->err->msg);
	return -1;
}

/* Wait for `events` on the socket within the deadline; <= 0 on expiry. */
static int ssh_wait(struct ssh_sub *t, short events)
{
	struct pollfd p[2] = { { .fd = t->sock, .events = events },
			       { .fd = t->errfd, .events = POLLIN } };
	time_t left;
	int n;

	for (;;) {
		left = t->c->deadline - time(NULL);
		if (left <= 0) {
			t->c->timed_out = true;
			return 0;
		}
		n = poll(p, t->errfd >= 0 ? 2 : 1, left > 60 ? 60000 : (int)left * 1000);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n > 0 && (p[1].revents & (POLLIN | POLLHUP)))
			ssh_drain_err(t);
		if (p[0].revents)
			return 1;
		if (p[1].revents & POLLHUP) {
			close(t->errfd);
			t->errfd = -1;
		}
	}
}

static int ssh_read(git_smart_subtransport_stream *stream, char *buf, size_t len,
		    size_t *ret)
{
	struct ssh_sub *t = container_of(stream, struct ssh_sub, stream);
	ssize_t n;

	*ret = 0;
	for (;;) {
		n = recv(t->sock, buf, len, MSG_DONTWAIT);
		if (n > 0) {
			*ret = (size_t)n;
			return 0;
		}
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			return ssh_failed(t);
		if (ssh_wait(t, POLLIN) <= 0)
			return ssh_failed(t);
	}
}

static int ssh_write(git_smart_subtransport_stream *stream, const char *buf, size_t len)
{
	struct ssh_sub *t = container_of(stream, struct ssh_sub, stream);

	while (len > 0) {
		ssize_t n = send(t->sock, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
			if (ssh_wait(t, POLLOUT) <= 0)
				return ssh_failed(t);
			continue;
		}
		return ssh_failed(t);
	}
	return 0;
}

static void ssh_stream_free(git_smart_subtransport_stream *stream)
{
	(void)stream; /* part of the subtransport */
}

static int ssh_start(struct ssh_sub *t, const char *url)
{
	struct ctx *c = t->c;
	const struct src_git_opts *o = c->o;
	_cleanup_free_ char *user = NULL, *host = NULL, *port = NULL, *path = NULL;
	_cleanup_free_ char *cmd = NULL, *key = NULL, *kh = NULL, *ask = NULL;
	_cleanup_free_ char *o_kh = NULL, *o_key = NULL, *o_user = NULL, *pass_env = NULL;
	const char *tmp = getenv("TMPDIR");
	posix_spawn_file_actions_t fa;
	char *argv[40], **envp;
	int sv[2], ep[2], argc = 0, r;
	size_t i, nenv = 0;

	if (!o->known_hosts || !*o->known_hosts)
		return fail(c, -EPROTO, "ssh: no known_hosts given for '%s'; refusing to trust "
			    "an unknown host key", c->host_port);
	if (!o->ssh_key)
		return fail(c, -EACCES, "ssh: no private key given (the Secret's 'identity')");
	if (ssh_split(url, &user, &host, &port, &path) < 0 || strpbrk(path, "\n\r") ||
	    host[0] == '-')
		return fail(c, -EINVAL, "ssh: cannot read the repository URL");
	snprintf(t->dir, sizeof(t->dir), "%s/cflux-ssh-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(t->dir)) {
		t->dir[0] = '\0';
		return fail(c, -errno, "ssh: cannot create a private directory: %s",
			    op_strerror(errno));
	}
	key = xasprintf("%s/key", t->dir);
	kh = xasprintf("%s/known_hosts", t->dir);
	r = write_secret(key, o->ssh_key, 0600);
	if (r == 0)
		r = write_secret(kh, o->known_hosts, 0600);
	if (r == 0 && o->ssh_passphrase) {
		ask = xasprintf("%s/askpass", t->dir);
		r = write_secret(ask, "#!/bin/sh\nprintf '%s\\n' \"$CFLUX_SSH_PASSPHRASE\"\n", 0700);
	}
	if (r < 0)
		return fail(c, r, "ssh: cannot write to a private directory: %s", op_strerror(r));

	o_kh = xasprintf("UserKnownHostsFile=%s", kh);
	o_key = xasprintf("IdentityFile=%s", key);
	o_user = xasprintf("User=%s", user ? user : o->username ? o->username : "git");
	{
		char *q = sq_quote(path);

		cmd = xasprintf("git-upload-pack %s", q);
		free(q);
	}
	argv[argc++] = (char *)"ssh";
	argv[argc++] = (char *)"-F";
	argv[argc++] = (char *)"/dev/null";
#define OPT(v) do { argv[argc++] = (char *)"-o"; argv[argc++] = (char *)(v); } while (0)
	OPT(o->ssh_passphrase ? "BatchMode=no" : "BatchMode=yes");
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
		pass_env = xasprintf("CFLUX_SSH_PASSPHRASE=%s", o->ssh_passphrase);
		envp[nenv++] = pass_env;
		envp[nenv++] = xasprintf("SSH_ASKPASS=%s", ask);
		envp[nenv++] = (char *)"SSH_ASKPASS_REQUIRE=force";
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    pipe2(ep, O_CLOEXEC) < 0) {
		r = fail(c, -errno, "ssh: cannot create pipes: %s", op_strerror(errno));
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
	posix_spawn_file_actions_adddup2(&fa, sv[1], 1);
	posix_spawn_file_actions_adddup2(&fa, ep[1], 2);
	r = posix_spawnp(&t->pid, "ssh", &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(sv[1]);
	close(ep[1]);
	t->sock = sv[0];
	t->errfd = ep[0];
	fcntl(t->errfd, F_SETFL, O_NONBLOCK);
	if (r != 0) {
		t->pid = 0;
		r = fail(c, -r, "ssh: cannot run the OpenSSH client 'ssh': %s", op_strerror(r));
	}
out:
	if (pass_env)
		explicit_bzero(pass_env, strlen(pass_env));
	if (ask)
		free(envp[nenv - 2]);
	free(envp);
	return r;
}

static int ssh_action(git_smart_subtransport_stream **out, git_smart_subtransport *sub,
		      const char *url, git_smart_service_t action)
{
	struct ssh_sub *t = container_of(sub, struct ssh_sub, parent);

	switch (action) {
	case GIT_SERVICE_UPLOADPACK_LS:
		ssh_stop(t);
		t->failed = false;
		t->errlen = 0;
		if (ssh_start(t, url) < 0) {
			ssh_stop(t);
			git_error_set_str(GIT_ERROR_SSH, t->c->err->msg);
			return -1;
		}
		break;
	case GIT_SERVICE_UPLOADPACK:
		if (t->sock < 0) {
			git_error_set_str(GIT_ERROR_SSH, "ssh: no connection");
			return -1;
		}
		break;
	default:
		git_error_set_str(GIT_ERROR_SSH, "ssh: only fetching is supported");
		return -1;
	}
	*out = &t->stream;
	return 0;
}

static int ssh_close(git_smart_subtransport *sub)
{
	ssh_stop(container_of(sub, struct ssh_sub, parent));
	return 0;
}

static void ssh_free(git_smart_subtransport *sub)
{
	struct ssh_sub *t = container_of(sub, struct ssh_sub, parent);

	ssh_stop(t);
	free(t);
}

static int ssh_sub_new(git_smart_subtransport **out, git_transport *owner, void *param)
{
	struct ssh_sub *t = xcalloc(1, sizeof(*t));

	(void)owner;
	t->c = param;
	t->sock = t->errfd = -1;
	t->parent.action = ssh_action;
	t->parent.close = ssh_close;
	t->parent.free = ssh_free;
	t->stream.subtransport = &t->parent;
	t->stream.read = ssh_read;
	t->stream.write = ssh_write;
	t->stream.free = ssh_stream_free;
	*out = &t->parent;
	return 0;
}

static int ssh_transport(git_transport **out, git_remote *owner, void *param)
{
	git_smart_subtransport_definition def = { .callback = ssh_sub_new, .rpc = 0,
						   .param = param };

	return git_transport_smart(out, owner, &def);
}

static bool is_ssh_url(const char *url)
{
	const char *colon = strchr(url, ':');

	return str_startswith(url, "ssh://") || (colon && !strstr(url, "://") && colon != url);
}

static void init_callbacks(git_remote_callbacks *cb, struct ctx *c)
{
	git_remote_init_callbacks(cb, GIT_REMOTE_CALLBACKS_VERSION);
	cb->credentials = credentials;
	cb->certificate_check = check_cert;
	cb->transfer_progress = progress;
	if (is_ssh_url(c->o->url))
		cb->transport = ssh_transport;
	cb->payload = c;
}

/*
 * Ask the remote where `*ref` points (one round trip, no objects).  With a
 * semver constraint, *ref is chosen here: the highest tag that satisfies
 * it (a new string the caller frees replaces *ref).
 */
static int ls_remote(struct ctx *c, git_remote *remote, char **ref, git_oid *ret)
{
	git_remote_callbacks cb;
	const git_remote_head **heads;
	struct semver_constraint *sc = NULL;
	struct semver best = { 0 };
	_cleanup_free_ char *peeled = NULL;
	size_t n, i;
	bool found = false;
	int rc;

	if (c->o->semver && !c->o->name && semver_constraint_parse(c->o->semver, &sc, c->err) < 0) {
		c->err_set = true;
		return op_err_prefix(c->err, "invalid semver constraint '%s'", c->o->semver);
	}
	init_callbacks(&cb, c);
	rc = git_remote_connect(remote, GIT_DIRECTION_FETCH, &cb, NULL, &c->headers);
	if (rc < 0) {
		semver_constraint_free(sc);
		return git_fail(c, rc, "unable to connect to the repository");
	}
	rc = git_remote_ls(&heads, &n, remote);
	if (rc < 0) {
		git_remote_disconnect(remote);
		semver_constraint_free(sc);
		return git_fail(c, rc, "unable to list remote references");
	}
	if (sc) {
		for (i = 0; i < n; i++) {
			const char *name = heads[i]->name;
			struct semver v;

			if (!str_startswith(name, "refs/tags/") || str_endswith(name, "^{}") ||
			    semver_parse(name + 10, &v) < 0 || !semver_satisfies(sc, &v))
				continue;
			if (!found || semver_cmp(&v, &best) > 0) {
				best = v;
				free(*ref);
				*ref = xstrdup(name);
				found = true;
			}
		}
		semver_constraint_free(sc);
		if (!found) {
			git_remote_disconnect(remote);
			return fail(c, -ENOENT, "no tag matches the semver constraint '%s'",
				    c->o->semver);
		}
		found = false;
	}
	peeled = xasprintf("%s^{}", *ref);
	for (i = 0; i < n; i++) {
		/* An annotated tag's peeled entry names the commit. */
		if (streq(heads[i]->name, peeled)) {
			git_oid_cpy(ret, &heads[i]->oid);
			found = true;
			break;
		}
		if (streq(heads[i]->name, *ref)) {
			git_oid_cpy(ret, &heads[i]->oid);
			found = true;
		}
	}
	/* Found: the connection stays open for the download (one handshake). */
	if (!found) {
		git_remote_disconnect(remote);
		return fail(c, -ENOENT, "reference '%s' not found in the repository",
			    str_startswith(*ref, "refs/heads/") ? *ref + 11 :
			    str_startswith(*ref, "refs/tags/") ? *ref + 10 : *ref);
	}
	return 0;
}

/* ---- the tree check ---- */

static bool bad_component(const char *name)
{
	return !*name || streq(name, ".") || streq(name, "..") || strcasecmp(name, ".git") == 0 ||
	       strchr(name, '/') || strchr(name, '\\');
}

/*
 * Does a symlink at `path` (relative to the root) with target `to` stay
 * inside the tree?  The target is resolved lexically against the link's
 * directory; it may not be absolute nor climb above the root.
 */
static bool link_stays_inside(const char *path, const char *to, size_t n)
{
	int depth = 0;
	const char *p, *end = to + n;

	if (!n || *to == '/')
		return false;
	for (p = path; *p; p++)
		depth += *p == '/';
	for (p = to; p < end;) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		size_t len = (size_t)((slash ? slash : end) - p);

		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (--depth < 0)
				return false;
		} else if (len && !(len == 1 && *p == '.')) {
			depth++;
		}
		p = slash ? slash + 1 : end;
	}
	return true;
}

/* Is `dir` (a directory path) wanted by the sparse list?  *inside: all below it is. */
static bool sparse_wants(const struct src_git_opts *o, const char *dir, bool *inside)
{
	size_t i, n = strlen(dir);

	*inside = !o->n_sparse;
	if (*inside)
		return true;
	for (i = 0; i < o->n_sparse; i++) {
		const char *s = o->sparse[i];
		size_t sl = strlen(s);

		while (sl && s[sl - 1] == '/')
			sl--;
		if ((sl == n && strncmp(s, dir, n) == 0) ||
		    (n > sl && strncmp(s, dir, sl) == 0 && dir[sl] == '/')) {
			*inside = true;
			return true;
		}
		if (sl > n && strncmp(s, dir, n) == 0 && s[n] == '/')
			return true; /* an ancestor of a wanted directory */
	}
	return false;
}

/*
 * Walk `tree` (at `path`, "" for the root) before checkout.  Only entries
 * that will be written count: with a sparse list, the wanted directories.
 */
static int check_tree(struct ctx *c, git_repository *repo, git_odb *odb, const git_tree *tree,
		      struct buf *path, int depth, bool inside)
{
	size_t i, n = git_tree_entrycount(tree), base = path->len;
	int r = 0;

	if (depth > MAX_DEPTH)
		return fail(c, -E2BIG, "the tree is nested more than %d directories deep at '%s'",
			    MAX_DEPTH, path->buf);
	for (i = 0; i < n && r == 0; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		const char *name = git_tree_entry_name(e);
		git_filemode_t mode = git_tree_entry_filemode(e);
		git_object_t type;
		size_t len;
		bool in = inside;

		buf_truncate(path, base);
		if ((base && buf_addch(path, '/') < 0) || buf_adds(path, name) < 0)
			return fail(c, -E2BIG, "the tree has a path longer than %zu bytes",
				    path->max);
		if (bad_component(name))
			return fail(c, -EPERM, "the tree has an unsafe path '%s'", path->buf);
		if (mode == GIT_FILEMODE_TREE) {
			if (!in && !sparse_wants(c->o, path->buf, &in))
				continue;
		} else if (!in) {
			continue; /* a file beside the sparse directories */
		}
		if (++c->tally->entries > c->lim->max_entries)
			return fail(c, -E2BIG, "the tree has more than %llu entries (at '%s')",
				    (unsigned long long)c->lim->max_entries, path->buf);
		switch (mode) {
		case GIT_FILEMODE_TREE:
			break;
		case GIT_FILEMODE_COMMIT:
			continue; /* a submodule: fetched and checked on its own */
		default:
			if (git_odb_read_header(&len, &type, odb, git_tree_entry_id(e)) < 0)
				return fail(c, -EIO, "object of '%s' is missing from the fetched pack",
					    path->buf);
			if (len > c->lim->max_file_bytes)
				return fail(c, -EFBIG, "file '%s' is %zu bytes, over the limit of %llu",
					    path->buf, len,
					    (unsigned long long)c->lim->max_file_bytes);
			c->tally->bytes += len;
			if (c->tally->bytes > c->lim->max_total_bytes)
				return fail(c, -EFBIG, "the tree is over the limit of %llu bytes at '%s'",
					    (unsigned long long)c->lim->max_total_bytes, path->buf);
			if (mode == GIT_FILEMODE_LINK) {
				git_blob *blob = NULL;
				bool ok;

				if (len > 4096 || git_blob_lookup(&blob, repo, git_tree_entry_id(e)) < 0)
					return fail(c, -EPERM, "symlink '%s' has an unreadable target",
						    path->buf);
				ok = link_stays_inside(path->buf, git_blob_rawcontent(blob),
						       (size_t)git_blob_rawsize(blob));
				if (!ok)
					r = fail(c, -EPERM, "symlink '%s' points outside the repository "
						 "('%.*s')", path->buf, (int)MIN(len, 200),
						 (const char *)git_blob_rawcontent(blob));
				git_blob_free(blob);
			}
			continue;
		}
		{
			git_tree *sub = NULL;

			if (git_tree_lookup(&sub, repo, git_tree_entry_id(e)) < 0)
				return fail(c, -EIO, "directory '%s' is missing from the fetched pack",
					    path->buf);
			r = check_tree(c, repo, odb, sub, path, depth + 1, in);
			git_tree_free(sub);
		}
	}
	buf_truncate(path, base);
	return r;
}

/* ---- checkout ---- */

static int write_blob(struct ctx *c, git_repository *repo, const git_tree_entry *e,
		      const char *abs, const char *rel)
{
	git_filemode_t mode = git_tree_entry_filemode(e);
	git_blob *blob = NULL;
	const char *p;
	size_t n;
	int fd, r = 0;

	if (git_blob_lookup(&blob, repo, git_tree_entry_id(e)) < 0)
		return fail(c, -EIO, "object of '%s' is missing from the fetched pack", rel);
	p = git_blob_rawcontent(blob);
	n = (size_t)git_blob_rawsize(blob);
	if (mode == GIT_FILEMODE_LINK) {
		_cleanup_free_ char *to = xstrndup(p, n);

		if (symlink(to, abs) < 0)
			r = fail(c, -errno, "cannot create symlink '%s': %s", rel, op_strerror(errno));
		git_blob_free(blob);
		return r;
	}
	fd = open(abs, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644);
	if (fd < 0) {
		r = fail(c, -errno, "cannot create '%s': %s", rel, op_strerror(errno));
	} else {
		while (n > 0) {
			ssize_t w = write(fd, p, n);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				r = fail(c, w < 0 ? -errno : -EIO, "cannot write '%s': %s", rel,
					 op_strerror(w < 0 ? errno : EIO));
				break;
			}
			p += w;
			n -= (size_t)w;
		}
		if (close(fd) < 0 && r == 0)
			r = fail(c, -errno, "cannot write '%s': %s", rel, op_strerror(errno));
	}
	git_blob_free(blob);
	return r;
}

/*
 * Write `tree` (checked by check_tree() first) below `root`, rel path in
 * `path`.  Blobs are read one at a time, each bounded by max_file_bytes; a
 * submodule becomes an empty directory that fetch_submodules() may fill.
 */
static int write_tree(struct ctx *c, git_repository *repo, const git_tree *tree,
		      const char *root, struct buf *path, bool inside)
{
	size_t i, n = git_tree_entrycount(tree), base = path->len;
	int r = 0;

	for (i = 0; i < n && r == 0; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		git_filemode_t mode = git_tree_entry_filemode(e);
		_cleanup_free_ char *abs = NULL;
		bool in = inside;

		buf_truncate(path, base);
		if ((base && buf_addch(path, '/') < 0) || buf_adds(path, git_tree_entry_name(e)) < 0)
			return -E2BIG;
		if (mode == GIT_FILEMODE_TREE || mode == GIT_FILEMODE_COMMIT) {
			if (!in && !sparse_wants(c->o, path->buf, &in))
				continue;
		} else if (!in) {
			continue;
		}
		abs = xasprintf("%s/%s", root, path->buf);
		if (mode == GIT_FILEMODE_TREE || mode == GIT_FILEMODE_COMMIT) {
			git_tree *sub = NULL;

			if (mkdir(abs, 0755) < 0 && errno != EEXIST)
				return fail(c, -errno, "cannot create directory '%s': %s", path->buf,
					    op_strerror(errno));
			if (mode == GIT_FILEMODE_COMMIT)
				continue;
			if (git_tree_lookup(&sub, repo, git_tree_entry_id(e)) < 0)
				return fail(c, -EIO, "directory '%s' is missing from the fetched pack",
					    path->buf);
			r = write_tree(c, repo, sub, root, path, in);
			git_tree_free(sub);
			continue;
		}
		r = write_blob(c, repo, e, abs, path->buf);
	}
	buf_truncate(path, base);
	return r;
}

/* ---- submodules ---- */

/* `rel` (a .gitmodules URL) resolved against the parent's URL. */
static char *resolve_url(const char *parent, const char *rel)
{
	_cleanup_free_ char *base = NULL;
	char *slash;

	if (!str_startswith(rel, "./") && !str_startswith(rel, "../"))
		return xstrdup(rel);
	base = xstrdup(parent);
	while (*base && base[strlen(base) - 1] == '/')
		base[strlen(base) - 1] = '\0';
	for (;;) {
		if (str_startswith(rel, "./")) {
			rel += 2;
		} else if (str_startswith(rel, "../")) {
			rel += 3;
			slash = strrchr(base, '/');
			if (slash && slash > strstr(base, "://") + 2)
				*slash = '\0';
		} else {
			break;
		}
	}
	return xasprintf("%s/%s", base, rel);
}

struct gitmodule {
	char *path, *url;
};

static int collect_module(const git_config_entry *e, void *payload)
{
	struct gitmodule *m = payload;
	size_t n = strlen(e->name);

	/* submodule.<name>.path = m->path: remember <name> to find its url */
	if (n > 15 && streq(e->name + n - 5, ".path") && m->path && streq(e->value, m->path)) {
		free(m->url);
		m->url = xstrndup(e->name, n - 5);
	}
	return 0;
}

static int fetch_tree(struct ctx *c, struct src_git_result *ret);

/* Check out the submodule recorded at `path` (commit `id`) below the checkout. */
static int fetch_submodule(struct ctx *c, const char *path, const git_oid *id)
{
	const struct src_git_opts *o = c->o;
	_cleanup_free_ char *gm = xasprintf("%s/.gitmodules", o->checkout_dir), *key = NULL;
	_cleanup_free_ char *url = NULL, *cache = NULL, *dir = NULL, *mangled = NULL;
	struct gitmodule m = { .path = (char *)path };
	struct src_git_opts so;
	struct src_git_result sr;
	git_config *cfg = NULL;
	git_config_entry *e = NULL;
	struct ctx sc;
	char hex[GIT_OID_MAX_HEXSIZE + 1], *p;
	int r;

	if (c->level + 1 > MAX_SUBMODULES)
		return fail(c, -E2BIG, "submodules are nested more than %d deep at '%s'",
			    MAX_SUBMODULES, path);
	if (git_config_open_ondisk(&cfg, gm) < 0)
		return fail(c, -ENOENT, "submodule '%s' is not described in .gitmodules", path);
	git_config_foreach_match(cfg, "^submodule\\..*\\.path$", collect_module, &m);
	if (m.url) {
		key = xasprintf("%s.url", m.url);
		if (git_config_get_entry(&e, cfg, key) == 0)
			url = resolve_url(o->url, e->value);
		git_config_entry_free(e);
	}
	free(m.url);
	git_config_free(cfg);
	if (!url)
		return fail(c, -ENOENT, "submodule '%s' has no URL in .gitmodules", path);
	if (!str_startswith(url, "http://") && !str_startswith(url, "https://") &&
	    !str_startswith(url, "ssh://") && !str_startswith(url, "git://"))
		return fail(c, -EINVAL, "submodule '%s' has an unsupported URL scheme", path);
	mangled = xstrdup(path);
	for (p = mangled; *p; p++)
		if (*p == '/')
			*p = '%';
	cache = xasprintf("%s/modules/%s", o->cache_dir, mangled);
	dir = xasprintf("%s/%s", o->checkout_dir, path);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return fail(c, -errno, "cannot create the directory of submodule '%s'", path);
	git_oid_tostr(hex, sizeof(hex), id);
	so = *o;
	so.url = url;
	so.branch = so.tag = so.semver = so.name = NULL;
	so.commit = hex;
	so.cache_dir = cache;
	so.checkout_dir = dir;
	so.last_commit = NULL;
	so.sparse = NULL;
	so.n_sparse = 0;
	so.signatures = false;
	sc = *c;
	sc.o = &so;
	sc.level = c->level + 1;
	sc.by_commit = true;
	sc.tried_userpass = 0;
	set_host_port(&sc, url);
	r = fetch_tree(&sc, &sr);
	c->err_set = sc.err_set;
	c->err_what = sc.err_what;
	c->timed_out = sc.timed_out;
	if (r < 0)
		op_err_prefix(c->err, "submodule '%s'", path);
	return r;
}

/* Every submodule (gitlink) in `tree` that the checkout holds, recursively. */
static int fetch_submodules(struct ctx *c, git_repository *repo, const git_tree *tree,
			    struct buf *path)
{
	size_t i, n = git_tree_entrycount(tree), base = path->len;
	int r = 0;

	for (i = 0; i < n && r == 0; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		git_filemode_t mode = git_tree_entry_filemode(e);
		git_tree *sub = NULL;
		bool in;

		if (mode != GIT_FILEMODE_TREE && mode != GIT_FILEMODE_COMMIT)
			continue;
		buf_truncate(path, base);
		if ((base && buf_addch(path, '/') < 0) || buf_adds(path, git_tree_entry_name(e)) < 0)
			return -E2BIG;
		if (!sparse_wants(c->o, path->buf, &in))
			continue;
		if (mode == GIT_FILEMODE_COMMIT) {
			r = fetch_submodule(c, path->buf, git_tree_entry_id(e));
			continue;
		}
		if (git_tree_lookup(&sub, repo, git_tree_entry_id(e)) < 0)
			continue;
		r = fetch_submodules(c, repo, sub, path);
		git_tree_free(sub);
	}
	buf_truncate(path, base);
	return r;
}

/* ---- fetch and checkout ---- */

/* Fetch `spec` (one refspec) from the remote into the cache. */
static int fetch_spec(struct ctx *c, git_remote *remote, const char *spec, int depth)
{
	git_fetch_options fo;
	git_strarray specs;
	char *specp = (char *)spec;

	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	init_callbacks(&fo.callbacks, c);
	fo.custom_headers = c->headers;
	fo.depth = depth;
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	specs.strings = &specp;
	specs.count = 1;
	if (git_remote_connected(remote)) {
		/*
		 * Still connected from ls_remote(): download on the same
		 * connection (over SSH, the same ssh process), then record the
		 * ref so that the next fetch offers it as a base.
		 */
		int rc = git_remote_download(remote, &specs, &fo);

		if (rc == 0)
			rc = git_remote_update_tips(remote, &fo.callbacks, 0,
						    GIT_REMOTE_DOWNLOAD_TAGS_NONE, NULL);
		git_remote_disconnect(remote);
		return rc;
	}
	/* A new connection asks for credentials afresh. */
	c->tried_userpass = 0;
	return git_remote_fetch(remote, &specs, &fo, NULL);
}

static void set_signed(struct src_git_signed *s, const char *sig, size_t sig_len,
		       const char *payload, size_t len)
{
	s->sig = sig ? xstrndup(sig, sig_len) : NULL;
	s->payload = xmalloc(len + 1);
	memcpy(s->payload, payload, len);
	s->payload[len] = '\0';
	s->len = len;
}

/* Where a tag object's signature starts (a line opening an armored block), or NULL. */
static const char *tag_signature(const char *data, size_t len)
{
	static const char *const begin[] = { "-----BEGIN PGP SIGNATURE-----",
					     "-----BEGIN SSH SIGNATURE-----",
					     "-----BEGIN SIGNED MESSAGE-----" };
	const char *p = memmem(data, len, "\n\n", 2), *end = data + len;
	size_t i;

	/* After the header, the first line that opens a signature block. */
	for (p = p ? p + 2 : end; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		for (i = 0; i < ARRAY_SIZE(begin); i++)
			if ((size_t)(end - p) >= strlen(begin[i]) &&
			    !memcmp(p, begin[i], strlen(begin[i])))
				return p;
		p = nl ? nl + 1 : end;
	}
	return NULL;
}

/*
 * The signatures spec.verify checks: the commit's ("gpgsig" header), and
 * when `ref` is a tag, the annotated tag object's (appended to its
 * message).  The tag object is the local ref's target after the fetch.
 */
static int read_signatures(struct ctx *c, git_repository *repo, git_odb *odb, git_commit *commit,
			   const char *ref, struct src_git_result *ret)
{
	git_buf sig = GIT_BUF_INIT, data = GIT_BUF_INIT;
	git_odb_object *obj = NULL;
	git_oid tid;
	int rc;

	rc = git_commit_extract_signature(&sig, &data, repo, (git_oid *)git_commit_id(commit),
					  NULL);
	if (rc == 0) {
		set_signed(&ret->commit_sig, sig.ptr, sig.size, data.ptr, data.size);
	} else if (rc == GIT_ENOTFOUND) {
		set_signed(&ret->commit_sig, NULL, 0, "", 0); /* unsigned */
	}
	git_buf_dispose(&sig);
	git_buf_dispose(&data);
	if (rc < 0 && rc != GIT_ENOTFOUND)
		return git_fail(c, rc, "unable to read the commit's signature");
	if (!str_startswith(ref, "refs/tags/"))
		return 0;
	ret->by_tag = true;
	snprintf(ret->tag, sizeof(ret->tag), "%s", ref + strlen("refs/tags/"));
	if (git_reference_name_to_id(&tid, repo, ref) == 0 && git_odb_read(&obj, odb, &tid) == 0 &&
	    git_odb_object_type(obj) == GIT_OBJECT_TAG) {
		const char *d = git_odb_object_data(obj);
		size_t n = git_odb_object_size(obj);
		const char *at = tag_signature(d, n);

		git_oid_tostr(ret->tag_id, sizeof(ret->tag_id), &tid);
		if (at)
			set_signed(&ret->tag_sig, at, (size_t)(d + n - at), d, (size_t)(at - d));
		else
			set_signed(&ret->tag_sig, NULL, 0, d, n);
	}
	git_odb_object_free(obj);
	return 0;
}

void src_git_result_release(struct src_git_result *r)
{
	free(r->commit_sig.sig);
	free(r->commit_sig.payload);
	free(r->tag_sig.sig);
	free(r->tag_sig.payload);
	memset(&r->commit_sig, 0, sizeof(r->commit_sig));
	memset(&r->tag_sig, 0, sizeof(r->tag_sig));
}

/* Fetch c->o's revision into its cache and check it out: see git.h. */
static int fetch_tree(struct ctx *c, struct src_git_result *ret)
{
	const struct src_git_opts *o = c->o;
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	git_odb *odb = NULL;
	git_oid want;
	char hex[GIT_OID_MAX_HEXSIZE + 1];
	_cleanup_free_ char *ref = NULL, *spec = NULL;
	struct buf path = BUF_INIT(4096);
	const char *name = NULL;
	int rc, r = 0;
	size_t i;

	struct ctx *outer = cur;

	cur = c; /* for the TLS stream */
	memset(ret, 0, sizeof(*ret));
	if (o->name && !o->commit) {
		ref = xstrdup(o->name);
		name = o->name;
	} else if (o->semver && !o->commit) {
		ref = xstrdup("refs/tags/"); /* chosen by ls_remote() */
	} else if (o->tag && !o->commit) {
		ref = xasprintf("refs/tags/%s", o->tag);
		name = o->tag;
	} else {
		name = o->branch ? o->branch : "master";
		ref = xasprintf("refs/heads/%s", name);
	}

	rc = git_repository_open_bare(&repo, o->cache_dir);
	if (rc < 0) {
		git_repository_init_options io;

		git_repository_init_options_init(&io, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
		io.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH;
		rc = git_repository_init_ext(&repo, o->cache_dir, &io);
	}
	if (rc < 0) {
		r = git_fail(c, rc, "unable to create the repository cache");
		goto out;
	}
	rc = git_remote_create_anonymous(&remote, repo, o->url);
	if (rc < 0) {
		r = git_fail(c, rc, "invalid repository URL");
		goto out;
	}
	if (o->commit) {
		if (git_oid_fromstr(&want, o->commit) < 0 || strlen(o->commit) != 40) {
			r = fail(c, -EINVAL, "invalid commit '%s': want 40 hex digits", o->commit);
			goto out;
		}
	} else {
		r = ls_remote(c, remote, &ref, &want);
		if (r < 0)
			goto out;
		if (o->semver && !o->name)
			name = ref + strlen("refs/tags/");
	}
	git_oid_tostr(hex, sizeof(hex), &want);
	if (o->last_commit && streq(o->last_commit, hex)) {
		/* Nothing changed: no fetch, no checkout. */
		ret->unchanged = true;
		goto result;
	}
	if (!o->commit || git_commit_lookup(&commit, repo, &want) < 0) {
		if (c->by_commit) {
			/*
			 * A submodule's commit: ask for it by id (servers that
			 * allow it send just that), else every branch.
			 */
			spec = xasprintf("+%s:refs/cflux/want", hex);
			rc = fetch_spec(c, remote, spec, 1);
			if (rc < 0 && !c->timed_out && !c->too_big && !c->err_set)
				rc = fetch_spec(c, remote, "+refs/heads/*:refs/heads/*", 0);
		} else {
			/*
			 * Shallow (depth 1) for a branch or tag over HTTP(S).  A
			 * commit may be anywhere in its branch's history, so it
			 * is fetched whole; so is SSH or git://, where libgit2
			 * 1.8's stateful shallow request is refused by git
			 * upload-pack ("expected SHA1 list", whatever carries it)
			 * — the persistent cache keeps later fetches incremental.
			 */
			spec = xasprintf("+%s:%s", ref, ref);
			rc = fetch_spec(c, remote, spec,
					o->commit || !str_startswith(o->url, "http") ? 0 : 1);
		}
		if (rc < 0) {
			r = git_fail(c, rc, "unable to fetch from the repository");
			goto out;
		}
		if (!commit && git_commit_lookup(&commit, repo, &want) < 0) {
			r = fail(c, -ENOENT, "commit '%s' not found in '%s'", hex,
				 c->by_commit ? o->url : name);
			goto out;
		}
	}
	rc = git_commit_tree(&tree, commit);
	if (rc == 0)
		rc = git_repository_odb(&odb, repo);
	if (rc < 0) {
		r = git_fail(c, rc, "unable to read the commit's tree");
		goto out;
	}
	for (i = 0; i < o->n_sparse; i++) {
		git_tree_entry *e = NULL;
		const char *d = o->sparse[i];

		while (*d == '/' || str_startswith(d, "./"))
			d += *d == '/' ? 1 : 2;
		if (git_tree_entry_bypath(&e, tree, d) < 0 ||
		    git_tree_entry_type(e) != GIT_OBJECT_TREE) {
			git_tree_entry_free(e);
			r = fail(c, -ENOENT, "sparse checkout directory '%s' does not exist in "
				 "commit '%s'", o->sparse[i], hex);
			goto out;
		}
		git_tree_entry_free(e);
	}
	r = check_tree(c, repo, odb, tree, &path, 0, o->n_sparse == 0);
	if (r < 0)
		goto out;
	r = write_tree(c, repo, tree, o->checkout_dir, &path, o->n_sparse == 0);
	if (r < 0)
		goto out;
	if (o->submodules) {
		r = fetch_submodules(c, repo, tree, &path);
		if (r < 0)
			goto out;
	}
	if (o->signatures) {
		r = read_signatures(c, repo, odb, commit, ref, ret);
		if (r < 0)
			goto out;
	}
	{
		const char *msg = git_commit_summary(commit);

		snprintf(ret->message, sizeof(ret->message), "%s", msg ? msg : "");
	}
result:
	memcpy(ret->commit, hex, 41);
	if (o->commit && !o->branch)
		snprintf(ret->revision, sizeof(ret->revision), "sha1:%s", hex);
	else
		snprintf(ret->revision, sizeof(ret->revision), "%s@sha1:%s", name, hex);
out:
	if (r < 0)
		src_git_result_release(ret);
	buf_release(&path);
	git_odb_free(odb);
	git_tree_free(tree);
	git_commit_free(commit);
	git_remote_free(remote);
	git_repository_free(repo);
	cur = outer;
	return r;
}

int src_git_fetch(const struct src_git_opts *o, struct src_git_result *ret, struct op_err *err)
{
	static const struct artifact_limits dflt = ARTIFACT_LIMITS_DEFAULT;
	struct tally tally = { 0 };
	struct ctx c = { .o = o, .err = err, .lim = o->lim ? o->lim : &dflt, .tally = &tally };
	int r;

	pthread_once(&git_once, git_init);
	c.deadline = time(NULL) + (o->timeout_s ? o->timeout_s : 60);
	if (o->bearer_token) {
		c.header = xasprintf("Authorization: Bearer %s", o->bearer_token);
		c.headers.strings = &c.header;
		c.headers.count = 1;
	}
	set_host_port(&c, o->url);
	r = fetch_tree(&c, ret);
	if (c.header) {
		explicit_bzero(c.header, strlen(c.header));
		free(c.header);
	}
	return r;
}
