/*
 * stream.c: TCP and TLS streams with deadlines (see transport.h); the
 * only file of lib/source that speaks TLS.
 *
 * DESIGN
 * A non-blocking socket under poll(): every wait is the smaller of a
 * per-operation cap (10 s to connect, 30 s without progress) and what is
 * left of the caller's absolute deadline on the monotonic clock, so no
 * single slow step can outlive the fetch.  Writes use MSG_NOSIGNAL: a
 * server that hangs up never raises SIGPIPE.
 *
 * Through a proxy the socket first carries CONNECT host:port with the
 * credentials up front (as curl does; proxies that answer 407 first and
 * close are common), and the answer is read up to its blank line, byte by
 * byte, so nothing of the tunnel is consumed.
 *
 * TLS is mbedTLS 2.28 with verification OPTIONAL: the handshake completes
 * even for an untrusted peer, and the verdict (the chain against the given
 * CA or the system's store, the host name, or for an IP address the
 * certificate's iPAddress SANs, which mbedTLS 2.28 does not match itself)
 * is kept for the caller, because libgit2 asks its certificate callback
 * and wants the certificate either way.  The system's CA bundle is parsed
 * once per process (3.6 ms a parse) and shared read-only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <mbedtls/asn1.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/macro.h"
#include "source/transport.h"
#include "base/banned.h"

#define CONNECT_MS 10000
#define IO_MS 30000
#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

struct src_stream {
	char *host, *port;
	int fd;
	bool tls, ready, verified, timed_out;
	uint64_t deadline_ms;
	mbedtls_ssl_context ssl;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca, own;
	mbedtls_pk_context key;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
};

static mbedtls_x509_crt system_ca;
static int system_ca_rc;
static pthread_once_t system_ca_once = PTHREAD_ONCE_INIT;

static void load_system_ca(void)
{
	mbedtls_x509_crt_init(&system_ca);
	system_ca_rc = mbedtls_x509_crt_parse_file(&system_ca, SYSTEM_CA_BUNDLE);
}

uint64_t src_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int src_wait_ms(uint64_t deadline_ms, int cap)
{
	uint64_t now;

	if (!deadline_ms)
		return cap;
	now = src_now_ms();
	if (now >= deadline_ms)
		return 0;
	return deadline_ms - now < (uint64_t)cap ? (int)(deadline_ms - now) : cap;
}

static int wait_fd(struct src_stream *s, short events, int cap)
{
	struct pollfd p = { .fd = s->fd, .events = events };
	int n;

	do
		n = poll(&p, 1, src_wait_ms(s->deadline_ms, cap));
	while (n < 0 && errno == EINTR);
	if (n == 0 && s->deadline_ms && src_now_ms() >= s->deadline_ms)
		s->timed_out = true;
	return n;
}

/* The socket's send and receive, deadline-bound; mbedTLS calls them too. */
static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct src_stream *s = ctx;

	for (;;) {
		ssize_t n = send(s->fd, buf, len, MSG_NOSIGNAL);

		if (n >= 0)
			return (int)n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return MBEDTLS_ERR_NET_SEND_FAILED;
		if (wait_fd(s, POLLOUT, IO_MS) <= 0)
			return MBEDTLS_ERR_SSL_TIMEOUT;
	}
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct src_stream *s = ctx;

	for (;;) {
		ssize_t n = recv(s->fd, buf, len, 0);

		if (n >= 0)
			return (int)n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return MBEDTLS_ERR_NET_RECV_FAILED;
		if (wait_fd(s, POLLIN, IO_MS) <= 0)
			return MBEDTLS_ERR_SSL_TIMEOUT;
	}
}

static int io_code(const struct src_stream *s)
{
	return s->timed_out ? -ETIMEDOUT : -EIO;
}

/*
 * Ask the proxy on s->fd for a tunnel to s->host:s->port and read its
 * answer up to the blank line.
 */
static int tunnel(struct src_stream *s, const struct src_proxy *px, struct op_err *err)
{
	bool v6 = strchr(s->host, ':') != NULL, auth = px->auth[0] != '\0';
	char req[1200], resp[4096];
	size_t off = 0, n = 0;
	int len, code = 0;

	len = snprintf(req, sizeof(req),
		       "CONNECT %s%s%s:%s HTTP/1.1\r\nHost: %s%s%s:%s\r\n%s%s%s"
		       "User-Agent: cflux\r\n\r\n",
		       v6 ? "[" : "", s->host, v6 ? "]" : "", s->port, v6 ? "[" : "", s->host,
		       v6 ? "]" : "", s->port, auth ? "Proxy-Authorization: Basic " : "",
		       px->auth, auth ? "\r\n" : "");
	while (len > 0 && off < (size_t)len) {
		int w = bio_send(s, (const unsigned char *)req + off, (size_t)len - off);

		if (w <= 0)
			break;
		off += (size_t)w;
	}
	explicit_bzero(req, sizeof(req));
	if (len <= 0 || off < (size_t)len)
		return op_err_set(err, io_code(s), "cannot talk to the proxy %s:%s", px->host,
				  px->port);
	while (n < sizeof(resp) - 1 && !(n >= 4 && !memcmp(resp + n - 4, "\r\n\r\n", 4))) {
		int r = bio_recv(s, (unsigned char *)resp + n, 1);

		if (r <= 0)
			return op_err_set(err, io_code(s), "the proxy %s:%s closed the connection "
					  "before answering", px->host, px->port);
		n++;
	}
	resp[n] = '\0';
	if (sscanf(resp, "HTTP/%*d.%*d %d", &code) != 1)
		return op_err_set(err, -EPROTO, "the proxy %s:%s did not answer in HTTP", px->host,
				  px->port);
	if (code / 100 == 2)
		return 0;
	if (code == 407 || (code == 401 && auth)) /* tinyproxy says 401 to wrong credentials */
		return op_err_set(err, -EACCES, "the proxy %s:%s %s", px->host, px->port,
				  auth ? "refused the proxy username and password" :
					 "requires authentication: no proxy username and "
					 "password are given");
	return op_err_set(err, -EPROTO, "the proxy %s:%s answered '%.*s' to CONNECT %s:%s",
			  px->host, px->port, (int)MIN(strcspn(resp, "\r\n"), (size_t)80), resp,
			  s->host, s->port);
}

static int tcp_connect(struct src_stream *s, const struct src_proxy *px, struct op_err *err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL, *a;
	const char *host = px ? px->host : s->host, *port = px ? px->port : s->port;
	int rc, e = ECONNREFUSED;

	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0)
		return op_err_set(err, -EHOSTUNREACH, "failed to resolve address for %s%s: %s",
				  px ? "the proxy " : "", host, gai_strerror(rc));
	for (a = ai; a; a = a->ai_next) {
		socklen_t sl = sizeof(e);

		s->fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			       a->ai_protocol);
		if (s->fd < 0) {
			e = errno;
			continue;
		}
		if (connect(s->fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		e = errno;
		if (e == EINPROGRESS) {
			if (wait_fd(s, POLLOUT, CONNECT_MS) > 0 &&
			    getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &sl) == 0 && e == 0)
				break;
			if (e == EINPROGRESS)
				e = ETIMEDOUT;
		}
		close(s->fd);
		s->fd = -1;
	}
	freeaddrinfo(ai);
	if (s->fd < 0)
		return op_err_set(err, s->timed_out ? -ETIMEDOUT : -e, "failed to connect to %s%s: %s",
				  px ? "the proxy " : "", host, op_strerror(e));
	return px ? tunnel(s, px, err) : 0;
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

static int tls_handshake(struct src_stream *s, const struct src_stream_opts *o,
			 struct op_err *err)
{
	const char *pers = "cflux-source";
	bool ip = ip_len(s->host, NULL) != 0;
	const mbedtls_x509_crt *peer;
	char ebuf[128];
	int rc;

	rc = mbedtls_ctr_drbg_seed(&s->drbg, mbedtls_entropy_func, &s->entropy,
				   (const unsigned char *)pers, strlen(pers));
	if (rc == 0)
		rc = mbedtls_ssl_config_defaults(&s->conf, MBEDTLS_SSL_IS_CLIENT,
						 MBEDTLS_SSL_TRANSPORT_STREAM,
						 MBEDTLS_SSL_PRESET_DEFAULT);
	if (rc != 0)
		return op_err_set(err, -EIO, "tls: cannot set up a connection to '%s'", s->host);
	mbedtls_ssl_conf_rng(&s->conf, mbedtls_ctr_drbg_random, &s->drbg);
	/* The verdict is read after the handshake: the caller decides. */
	mbedtls_ssl_conf_authmode(&s->conf, MBEDTLS_SSL_VERIFY_OPTIONAL);
	if (o->ca_pem) {
		rc = mbedtls_x509_crt_parse(&s->ca, (const unsigned char *)o->ca_pem,
					    strlen(o->ca_pem) + 1);
		if (rc < 0)
			return op_err_set(err, -EINVAL, "the certificate authority given for '%s' "
					  "is not valid PEM", s->host);
		mbedtls_ssl_conf_ca_chain(&s->conf, &s->ca, NULL);
	} else {
		pthread_once(&system_ca_once, load_system_ca);
		if (system_ca_rc < 0)
			return op_err_set(err, -EINVAL, "tls: cannot read the system's certificate "
					  "authorities for '%s'", s->host);
		mbedtls_ssl_conf_ca_chain(&s->conf, &system_ca, NULL);
	}
	if (o->cert_pem && o->key_pem) {
		rc = mbedtls_x509_crt_parse(&s->own, (const unsigned char *)o->cert_pem,
					    strlen(o->cert_pem) + 1);
		if (rc == 0)
			rc = mbedtls_pk_parse_key(&s->key, (const unsigned char *)o->key_pem,
						  strlen(o->key_pem) + 1, NULL, 0);
		if (rc == 0)
			rc = mbedtls_pk_check_pair(&s->own.pk, &s->key);
		if (rc == 0)
			rc = mbedtls_ssl_conf_own_cert(&s->conf, &s->own, &s->key);
		if (rc != 0)
			return op_err_set(err, -EINVAL, "tls: the client certificate or its key is "
					  "not valid PEM, or they do not match");
	}
	rc = mbedtls_ssl_setup(&s->ssl, &s->conf);
	if (rc == 0 && !ip)
		rc = mbedtls_ssl_set_hostname(&s->ssl, s->host);
	if (rc != 0)
		return op_err_set(err, -EIO, "tls: cannot set up a connection to '%s'", s->host);
	mbedtls_ssl_set_bio(&s->ssl, s, bio_send, bio_recv, NULL);
	do
		rc = mbedtls_ssl_handshake(&s->ssl);
	while (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE);
	if (rc != 0) {
		if (s->timed_out)
			return op_err_set(err, -ETIMEDOUT, "tls: handshake with '%s' timed out",
					  s->host);
		mbedtls_strerror(rc, ebuf, sizeof(ebuf));
		return op_err_set(err, -EPROTO, "tls: handshake with '%s' failed (%s)%s", s->host,
				  ebuf, o->cert_pem ? "" :
				  "; does the server require a client certificate?");
	}
	s->ready = true;
	peer = mbedtls_ssl_get_peer_cert(&s->ssl);
	if (!peer)
		return op_err_set(err, -EPROTO, "tls: '%s' sent no certificate", s->host);
	s->verified = mbedtls_ssl_get_verify_result(&s->ssl) == 0 &&
		      (!ip || san_has_ip(peer, s->host));
	return 0;
}

int src_stream_connect(const struct src_stream_opts *o, const char *host, const char *port,
		       struct src_stream **ret, struct op_err *reterr)
{
	struct src_stream *s = xcalloc(1, sizeof(*s));
	int r;

	s->host = xstrdup(host);
	s->port = xstrdup(port);
	s->fd = -1;
	s->tls = o->tls;
	s->verified = !o->tls;
	s->deadline_ms = o->deadline_ms;
	mbedtls_ssl_init(&s->ssl);
	mbedtls_ssl_config_init(&s->conf);
	mbedtls_x509_crt_init(&s->ca);
	mbedtls_x509_crt_init(&s->own);
	mbedtls_pk_init(&s->key);
	mbedtls_entropy_init(&s->entropy);
	mbedtls_ctr_drbg_init(&s->drbg);
	r = tcp_connect(s, o->proxy, reterr);
	if (r == 0 && o->tls)
		r = tls_handshake(s, o, reterr);
	if (r < 0) {
		src_stream_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

ssize_t src_stream_read(struct src_stream *s, void *buf, size_t len, struct op_err *reterr)
{
	int rc;

	if (!s->tls)
		rc = bio_recv(s, buf, len);
	else
		do
			rc = mbedtls_ssl_read(&s->ssl, buf, len);
		while (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE);
	if (rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
		return 0;
	if (rc < 0)
		return op_err_set(reterr, io_code(s), "%sreading from '%s' failed",
				  s->tls ? "tls: " : "", s->host);
	return rc;
}

ssize_t src_stream_write(struct src_stream *s, const void *buf, size_t len,
			 struct op_err *reterr)
{
	size_t off = 0;
	int rc;

	while (off < len) {
		if (!s->tls)
			rc = bio_send(s, (const unsigned char *)buf + off, len - off);
		else
			do
				rc = mbedtls_ssl_write(&s->ssl, (const unsigned char *)buf + off,
						       len - off);
			while (rc == MBEDTLS_ERR_SSL_WANT_READ ||
			       rc == MBEDTLS_ERR_SSL_WANT_WRITE);
		if (rc <= 0)
			return op_err_set(reterr, io_code(s), "%swriting to '%s' failed",
					  s->tls ? "tls: " : "", s->host);
		off += (size_t)rc;
	}
	return (ssize_t)len;
}

bool src_stream_verified(const struct src_stream *s)
{
	return s->verified;
}

const unsigned char *src_stream_peer_cert(const struct src_stream *s, size_t *ret_len)
{
	const mbedtls_x509_crt *peer = s->tls && s->ready ? mbedtls_ssl_get_peer_cert(&s->ssl) :
							   NULL;

	if (!peer)
		return NULL;
	*ret_len = peer->raw.len;
	return peer->raw.p;
}

bool src_stream_timed_out(const struct src_stream *s)
{
	return s->timed_out;
}

void src_stream_free(struct src_stream *s)
{
	if (!s)
		return;
	if (s->ready && s->tls)
		mbedtls_ssl_close_notify(&s->ssl);
	if (s->fd >= 0)
		close(s->fd);
	mbedtls_ssl_free(&s->ssl);
	mbedtls_ssl_config_free(&s->conf);
	mbedtls_x509_crt_free(&s->ca);
	mbedtls_x509_crt_free(&s->own);
	mbedtls_pk_free(&s->key);
	mbedtls_ctr_drbg_free(&s->drbg);
	mbedtls_entropy_free(&s->entropy);
	free(s->host);
	free(s->port);
	free(s);
}
