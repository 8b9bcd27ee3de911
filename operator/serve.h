/*
 * serve.h: the operator's small HTTP server: /healthz, /readyz and
 * Prometheus /metrics, each on its own listener as controller-runtime
 * serves them (--health-addr, --metrics-addr).
 *
 * It also serves the artifact store (--storage-addr): a handler may
 * answer with a file, streamed in chunks.
 *
 * The server answers GET and HEAD (webhook servers, below, any method with a
 * body) and closes the
 * connection after each response; requests are capped at 8 KiB and must
 * arrive within 10 s.  It is meant for kubelet probes and a Prometheus
 * scraper, not for browsers.
 */
#ifndef CFLUX_OPERATOR_SERVE_H
#define CFLUX_OPERATOR_SERVE_H

#include <stdbool.h>
#include <uv.h>

#include "base/buf.h"
#include "base/err.h"

struct serve_srv;

/* The longest request path served, NUL included. */
#define SERVE_PATH_MAX 1024

/*
 * Produce the body for `path` into `out` and return the HTTP status
 * (200, 404, 500, 503).  Or answer with a file: store a malloc'd absolute
 * path in *ret_file (the server frees it); its bytes are then the body,
 * streamed, and a file that cannot be opened as a regular file (symlinks
 * are not followed) is a 404.  Called on the loop thread.
 */
typedef int (*serve_handler)(const char *path, struct buf *out, char **ret_file,
			      void *payload);

/*
 * Listen on `addr` ("127.0.0.1:8080", ":8080", "0" or "" to disable).  On
 * success returns 0 and stores the server in *ret (NULL when disabled);
 * fails with -EINVAL for a bad address or -EADDRINUSE.
 */
int serve_listen(uv_loop_t *loop, const char *addr, serve_handler h, void *payload,
		  struct serve_srv **ret, struct op_err *reterr);

/*
 * WEBHOOKS
 * A second kind of server (the Receivers' --receiver-addr): any method,
 * the request's headers and a body of Content-Length bytes (at most
 * `max_body`; chunked bodies are refused with 411), and an answer given
 * later.  The handler gets the request (borrowed for the call: copy what
 * it keeps) and must call serve_reply() exactly once, at once or from a
 * later callback; the connection waits for it, even past the 10 s read
 * deadline (then nothing is sent).
 */
struct serve_request {
	const char *method, *path;   /* path without the query */
	const char *headers;         /* the header lines, "Name: value\r\n"... */
	size_t headers_len;
	const char *body;
	size_t body_len;
};
struct serve_reply;
typedef void (*serve_hook_handler)(const struct serve_request *req, struct serve_reply *reply,
				   void *payload);

int serve_listen_hooks(uv_loop_t *loop, const char *addr, serve_hook_handler h, size_t max_body,
		       void *payload, struct serve_srv **ret, struct op_err *reterr);

/* Answer a webhook request with `status` and a text `body`. */
void serve_reply(struct serve_reply *reply, int status, const char *body);

/*
 * The value of request header `name` (case-insensitive), trimmed: 0 with
 * *ret_val (not NUL-terminated, borrowed like `req`) and *ret_len, or
 * -ENOENT.
 */
int serve_header(const struct serve_request *req, const char *name, const char **ret_val,
		 size_t *ret_len);

/* The port actually bound (useful with port 0). */
int serve_port(const struct serve_srv *s);

/* Close the listener and every connection; `cb` runs when memory is gone. */
void serve_close(struct serve_srv *s, void (*cb)(void *payload), void *payload);

/*
 * Parse the request line of `req` (up to the first CRLF): on success
 * stores the method and path (without query) into the given buffers and
 * returns 0; -EAGAIN if the line is incomplete, -EINVAL if malformed (a
 * method that is not an RFC 9110 token, a path with a byte outside
 * visible ASCII).
 */
int serve_parse_request(const char *req, size_t len, char method[16],
			 char path[SERVE_PATH_MAX]);

#endif
