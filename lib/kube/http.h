/*
 * http.h: HTTP transfers on a libuv loop (libcurl's multi interface).
 *
 * The only module that talks to libcurl; everything above it speaks in
 * requests, responses and struct op_err.  One `struct kube_http` owns one
 * curl multi handle, so all transfers to one apiserver share connections,
 * and over TLS they are multiplexed on HTTP/2: a thousand watches cost one
 * TCP connection.  Dead connections are found by TCP keepalive (curl has
 * no HTTP/2 ping knob).
 *
 * ASYNC CONTRACT (libuv's): http_request() either fails and never calls
 * its callback, or returns 0 and calls the callback exactly once, on the
 * loop thread.  Data passed to callbacks is borrowed for the call.
 * http_cancel() delivers -ECANCELED through the callback before it
 * returns, unless the request has already completed.
 *
 * Bodies are bounded: a response larger than `max_body` fails with -EFBIG
 * instead of growing without limit.  Streaming responses (watches, blob
 * downloads) pass `on_data` and get each chunk as it arrives instead;
 * nothing accumulates.  Response headers are kept (bounded) for the
 * callback: http_resp_header() reads one.
 *
 * Two kinds of user: the Kubernetes client (one engine per apiserver,
 * HTTP/2, long-lived) and the source clients (OCI registries, Helm
 * repositories, S3 and Azure Blob: one engine per fetch, with the
 * source's own CA, client certificate, `insecure` and proxy from its
 * Secrets).  Both go through the same transfers; the source clients add
 * redirects (registries send blob downloads to storage), HEAD requests,
 * and uploads from a file descriptor.
 *
 * Threading: loop thread only.
 */
#ifndef CFLUX_KUBE_HTTP_H
#define CFLUX_KUBE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "base/err.h"

struct kube_http;
struct http_req;

/* TLS and connection settings shared by every transfer of one client. */
struct http_opts {
	const char *ca_pem;   /* CA bundle (PEM text); NULL: system CAs */
	const char *cert_pem; /* client certificate (PEM text) or NULL */
	const char *key_pem;  /* its private key (PEM text) or NULL; kept in memory only */
	bool insecure;        /* insecure-skip-tls-verify */
	bool no_http2;        /* force HTTP/1.1 (one connection per watch) */
	uint64_t connect_timeout_ms; /* 0: 10 s */
	/*
	 * An HTTP(S) proxy for every transfer ("http://host:port"), with its
	 * credentials (kept in memory only).  NULL: libcurl's default, which
	 * honours HTTPS_PROXY/HTTP_PROXY/NO_PROXY from the environment.
	 */
	const char *proxy_url, *proxy_user, *proxy_pass;
	bool no_env_proxy;    /* ignore the environment's proxy variables */
	const char *user_agent; /* NULL: "cflux" */
};
#define HTTP_OPTS_INIT { 0 }

struct http_resp {
	long status;              /* HTTP status, 0 if none arrived */
	const char *body;         /* NUL-terminated; "" for streaming requests */
	size_t body_len;
	const char *content_type; /* or "" */
	long retry_after;         /* seconds from Retry-After, 0 if absent */
	const char *headers;      /* the final response's header lines, "Name: value\r\n"... */
	size_t headers_len;
	const char *effective_url; /* after redirects; "" if unknown */
};

/*
 * The value of response header `name` (case-insensitive; the first one if
 * repeated), without surrounding blanks: on success returns 0 and points
 * *ret_val at it (not NUL-terminated; borrowed like `resp`) with its length
 * in *ret_len.  Returns -ENOENT if absent.
 */
int http_resp_header(const struct http_resp *resp, const char *name, const char **ret_val,
		     size_t *ret_len);

/*
 * Completion: `r` (< 0) is a transport failure (-ETIMEDOUT,
 * -ECONNREFUSED, -EPROTO for TLS, -EFBIG for an oversized body,
 * -ECANCELED, -EIO, ...) explained in `err`; r == 0 means a response
 * arrived, whatever its status — mapping statuses to errors is the
 * caller's business (kube_client).  `resp` is always valid.
 */
typedef void (*http_done_cb)(struct http_req *req, int r, const struct http_resp *resp,
			     const struct op_err *err, void *payload);

/*
 * Streaming: called with each piece of the body as it arrives, once the
 * status is known (`status`).  Return 0 to go on, or a negative errno to
 * abort the transfer; the completion then reports that errno.  Return
 * HTTP_DATA_PAUSE to stop the transfer without taking the piece: nothing
 * more is read from the connection (the server is held back by TCP) until
 * http_resume(), which delivers the same bytes again (perhaps with more).
 * This is how a consumer slower than the network — a blob written and
 * hashed on the thread pool — keeps its memory bounded.
 */
#define HTTP_DATA_PAUSE 1
typedef int (*http_data_cb)(struct http_req *req, long status, const char *data, size_t n,
			    void *payload);

struct http_req_opts {
	const char *method;             /* "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE" */
	const char *url;
	const char *const *headers;     /* NULL-terminated "Name: value" list, or NULL */
	const char *body;               /* request body or NULL */
	size_t body_len;
	uint64_t timeout_ms;            /* whole-transfer deadline; 0: none (watches) */
	size_t max_body;                /* cap on a buffered body; 0: 64 MiB */
	http_data_cb on_data;           /* streaming; NULL: buffer the body */
	unsigned max_redirects;         /* follow up to this many 3xx; 0: none */
	/*
	 * Upload `body_len` bytes pulled from `body_read` instead of `body`
	 * (a large blob need not sit in memory).  It fills up to `n` bytes of
	 * `dst` and returns the count, 0 at the end, or a negative errno that
	 * aborts the transfer.  Called on the loop thread, with the
	 * request's payload.
	 */
	ssize_t (*body_read)(char *dst, size_t n, void *payload);
};
#define HTTP_REQ_OPTS_INIT { .method = "GET" }

/*
 * Create a transfer engine on `loop`.  On success returns 0 and stores it
 * in *ret; release with http_close().  Fails with -EINVAL if libcurl lacks
 * what we need, leaving *ret untouched.
 */
int http_new(uv_loop_t *loop, const struct http_opts *opts, struct kube_http **ret,
	     struct op_err *reterr);

/*
 * Cancel every transfer (their callbacks get -ECANCELED), close every
 * handle, and free `h` once all close callbacks have run; then call
 * `close_cb(payload)` if not NULL.  Never touch `h` afterwards.
 */
void http_close(struct kube_http *h, void (*close_cb)(void *payload), void *payload);

/*
 * Start a transfer.  The options, headers and body are copied; nothing
 * needs to outlive the call.  On success returns 0 and, if ret_req is not
 * NULL, stores a handle valid until the callback returns (for
 * http_cancel()).  Fails with -EINVAL for bad options or -ESHUTDOWN
 * after http_close(); the callback is then never called.
 */
int http_request(struct kube_http *h, const struct http_req_opts *opts, http_done_cb cb,
		 void *payload, struct http_req **ret_req);

/* Cancel a transfer in flight; see the contract above.  Accepts NULL. */
void http_cancel(struct http_req *req);

/*
 * Cancel every transfer in flight, as http_cancel() each (a giving-up
 * caller: a fetch told to stop).  Transfers the callbacks start meanwhile
 * are cancelled too, so a callback must not start one after another.
 */
void http_cancel_all(struct kube_http *h);

/*
 * Go on with a transfer whose on_data returned HTTP_DATA_PAUSE.  on_data
 * may be called again before this returns; the completion callback is
 * not.  A no-op for a request that is not paused.
 */
void http_resume(struct http_req *req);

/* Transfers in flight (for tests and metrics). */
unsigned http_active(const struct kube_http *h);

#endif
