/*
 * transport.h: the connections source clients make, written once, for
 * the thread pool (every call blocks, bounded by a deadline).
 *
 *   proxy.c   which proxy a connection goes through: the one a source
 *             gives (proxySecretRef), else $HTTPS_PROXY / $HTTP_PROXY
 *             unless $NO_PROXY exempts the host; an http:// proxy only.
 *   stream.c  a TCP stream, optionally TLS (mbedTLS: a custom CA or the
 *             system's, a client certificate, the chain through
 *             intermediates, IP addresses matched against the
 *             certificate's IP SANs), through the proxy in a CONNECT
 *             tunnel (credentials sent up front, as curl does).
 *   ssh.c     a connection through the OpenSSH client `ssh`: a command
 *             run on the server, spoken to over its stdin and stdout.
 *
 * Deadlines are on the monotonic clock (src_now_ms()), absolute, shared
 * by every connection of one fetch: a fetch's timeout bounds all of it.
 * A connection that runs out of time fails with -ETIMEDOUT and says so
 * (src_stream_timed_out()).
 *
 * Errors: negative errno and a one-line message in struct op_err; no
 * message ever carries a credential (proxy passwords, keys).  Library
 * code: nothing here logs or touches signal dispositions (writes use
 * MSG_NOSIGNAL on sockets, and ssh is spoken to over a socket pair).
 *
 * Threading: any thread; a connection is used by one thread at a time.
 */
#ifndef CFLUX_SOURCE_TRANSPORT_H
#define CFLUX_SOURCE_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

/* The monotonic clock, in milliseconds. */
uint64_t src_now_ms(void);

/*
 * Milliseconds to wait: `cap`, or less if `deadline_ms` (0: none) is
 * nearer; 0 once it has passed.
 */
int src_wait_ms(uint64_t deadline_ms, int cap);

/* ---- proxy.c ---- */

/* Where a connection goes instead of its server: an HTTP proxy. */
struct src_proxy {
	char host[256], port[16];
	char auth[512]; /* base64 "user:password" for Proxy-Authorization, or "" */
};

struct src_proxy_opts {
	const char *url;       /* the remote's URL: http(s):// only are proxied */
	const char *proxy_url; /* the source's proxy (proxySecretRef), or NULL: the environment */
	const char *username, *password; /* its credentials, or NULL */
};

/*
 * The proxy for a connection to `host` of o->url.  Returns 1 with *ret
 * filled, 0 for none, or a negative errno (-EINVAL: not an http://
 * proxy, or not a valid URL) with reterr saying why.
 */
int src_proxy_for(const struct src_proxy_opts *o, const char *host, struct src_proxy *ret,
		  struct op_err *reterr);

/* Does $NO_PROXY (comma-separated names, ".suffix", "*") exempt `host`? */
bool src_no_proxy(const char *host);

/* ---- stream.c ---- */

struct src_stream;

struct src_stream_opts {
	bool tls;                        /* else a plain TCP stream */
	const char *ca_pem;              /* trusted CAs (PEM), or NULL: the system's */
	const char *cert_pem, *key_pem;  /* a client certificate and its key, or NULL */
	const struct src_proxy *proxy;   /* tunnel through it, or NULL */
	uint64_t deadline_ms;            /* src_now_ms() based; 0: none */
};

/*
 * Connect to host:port (through the proxy; with TLS, the handshake too).
 * On success returns 0 and stores the stream in *ret.  A TLS peer whose
 * certificate does not verify is still connected: src_stream_verified()
 * says so, and the caller decides (git asks its certificate callback).
 * On failure returns a negative errno (-EHOSTUNREACH, -ECONNREFUSED,
 * -ETIMEDOUT, -EACCES from the proxy, -EPROTO, -EINVAL for bad PEM) with
 * reterr saying why; *ret is untouched.
 */
int src_stream_connect(const struct src_stream_opts *o, const char *host, const char *port,
		       struct src_stream **ret, struct op_err *reterr);

/*
 * Read up to `len` bytes: the count, 0 at the end of the stream, or a
 * negative errno with reterr set.  Write all of `len` bytes: `len` or a
 * negative errno.  Both wait no longer than the deadline, and a stall of
 * 30 s without progress fails too.
 */
ssize_t src_stream_read(struct src_stream *s, void *buf, size_t len, struct op_err *reterr);
ssize_t src_stream_write(struct src_stream *s, const void *buf, size_t len,
			 struct op_err *reterr);

/* Whether the TLS peer's certificate verified (and named the host); true for plain. */
bool src_stream_verified(const struct src_stream *s);

/* The TLS peer's certificate (DER, borrowed), or NULL for a plain stream. */
const unsigned char *src_stream_peer_cert(const struct src_stream *s, size_t *ret_len);

/* Whether the stream failed because its deadline passed. */
bool src_stream_timed_out(const struct src_stream *s);

/* Close (TLS close_notify first) and free.  Accepts NULL. */
void src_stream_free(struct src_stream *s);

/* ---- ssh.c ---- */

struct src_ssh;

struct src_ssh_opts {
	const char *key;          /* the private key (PEM/OpenSSH), required */
	const char *passphrase;   /* its passphrase, or NULL */
	const char *known_hosts;  /* known_hosts lines, required: no trust on first use */
	const char *username;     /* when the URL has none; NULL: "git" */
	const char *tmp_root;     /* for the private 0700 directory; NULL: $TMPDIR or /tmp */
	const char *host_port;    /* "[host]:port" or "host", for messages */
	uint64_t deadline_ms;     /* src_now_ms() based; 0: none */
};

/*
 * Run `command` (e.g. "git-upload-pack") with the quoted path of `url`
 * (ssh://[user@]host[:port]/path or scp-like [user@]host:path) on the
 * server through `ssh`, the key and known_hosts in a private directory
 * removed when the connection ends.  On success returns 0 and stores the
 * connection in *ret; on failure a negative errno with reterr set.
 */
int src_ssh_connect(const struct src_ssh_opts *o, const char *url, const char *command,
		    struct src_ssh **ret, struct op_err *reterr);

/*
 * Read what the command printed: stores the count in *ret_n (0 at the
 * end) and returns 0, or a negative errno with reterr saying why, from
 * ssh's own words on stderr (host key mismatch, key refused, ...).
 */
int src_ssh_read(struct src_ssh *s, void *buf, size_t len, size_t *ret_n,
		 struct op_err *reterr);

/* Write all of `buf` to the command's stdin: 0 or a negative errno (reterr as above). */
int src_ssh_write(struct src_ssh *s, const void *buf, size_t len, struct op_err *reterr);

/* Whether the connection failed because its deadline passed. */
bool src_ssh_timed_out(const struct src_ssh *s);

/* End the command (EOF on its stdin, killed if it lingers), remove the directory, free. */
void src_ssh_free(struct src_ssh *s);

#endif
