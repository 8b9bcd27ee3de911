/*
 * serve.c: the operator's HTTP server: probes, metrics, artifacts (see serve.h).
 *
 * DESIGN
 * One uv_tcp_t listener; each connection is a struct conn with a request
 * buffer capped at 8 KiB and a uv_timer_t deadline.  When the request
 * headers are complete (blank line) the handler builds the body, one
 * uv_write sends status line, headers and body, and the connection closes
 * after the write completes.  A connection owns two handles and is freed
 * when both close callbacks have run.  At most CONN_MAX are open at once.
 *
 * A handler may answer with a file instead of a body (the artifact
 * server): the headers go first, then the file in 64 KiB chunks, each
 * read with uv_fs_read on the thread pool after the previous write
 * completed, so a large artifact never sits in memory and a slow client
 * holds one chunk.  A read in flight keeps the connection alive until its
 * callback has run.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/str.h"
#include "serve.h"
#include "base/banned.h"

#define REQ_MAX 8192
#define REQ_TIMEOUT_MS 10000
#define FILE_CHUNK (64u << 10)
/*
 * Open connections per server.  Past it a new connection is accepted and
 * closed at once (leaving it in the kernel's backlog would only delay
 * the refusal), so idle clients cannot exhaust our fds and memory; each
 * one that holds a slot is dropped after REQ_TIMEOUT_MS anyway.
 */
#define CONN_MAX 128

struct serve_srv {
	uv_tcp_t tcp;
	int port;
	serve_handler handler;
	serve_hook_handler hook;   /* a webhook server (serve_listen_hooks()) */
	size_t max_body;
	void *payload;
	struct conn *conns;
	unsigned pending;
	bool closing;
	void (*close_cb)(void *);
	void *close_payload;
};

struct conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_write_t wr;
	struct serve_srv *s;
	struct buf req;
	struct buf resp;
	int handles; /* still open */
	bool responded;
	/* file responses */
	int fd;            /* -1: none */
	bool head;         /* HEAD: headers only */
	bool fs_busy;      /* a uv_fs_read is in flight */
	bool closed;       /* conn_close() was called */
	bool awaiting;     /* a hook handler has not answered yet */
	uint64_t left;     /* bytes still to send */
	uv_fs_t fs;
	char *chunk;
	struct conn *next, *prev;
};

static void srv_maybe_free(struct serve_srv *s)
{
	if (s->closing && s->pending == 0) {
		void (*cb)(void *) = s->close_cb;
		void *p = s->close_payload;

		free(s);
		if (cb)
			cb(p);
	}
}

static void conn_free(struct conn *c)
{
	struct serve_srv *s = c->s;

	if (c->handles > 0 || c->fs_busy || c->awaiting)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->chunk);
	buf_release(&c->req);
	buf_release(&c->resp);
	free(c);
	s->pending--;
	srv_maybe_free(s);
}

static void conn_handle_closed(uv_handle_t *h)
{
	struct conn *c = h->data;

	c->handles--;
	conn_free(c);
}

static void conn_close(struct conn *c)
{
	struct serve_srv *s = c->s;

	if (c->closed)
		return;
	c->closed = true;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
	uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
}

/* RFC 9110's tchar: what a method token may hold. */
static bool is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Every byte of s[0..n) satisfies ok, or (ok NULL) is visible ASCII. */
static bool all_of(const char *s, size_t n, bool (*ok)(unsigned char))
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (ok ? !ok(c) : c <= ' ' || c >= 0x7f)
			return false;
	}
	return true;
}

int serve_parse_request(const char *req, size_t len, char method[16],
			 char path[SERVE_PATH_MAX])
{
	const char *eol = memchr(req, '\n', len), *sp1, *sp2, *q;
	size_t mlen, plen;

	if (!eol)
		return len >= REQ_MAX ? -EINVAL : -EAGAIN;
	sp1 = memchr(req, ' ', (size_t)(eol - req));
	if (!sp1)
		return -EINVAL;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
	if (!sp2)
		return -EINVAL;
	mlen = (size_t)(sp1 - req);
	plen = (size_t)(sp2 - sp1 - 1);
	q = memchr(sp1 + 1, '?', plen);
	if (q)
		plen = (size_t)(q - sp1 - 1);
	if (mlen == 0 || mlen >= 16 || plen == 0 || plen >= SERVE_PATH_MAX || sp1[1] != '/')
		return -EINVAL;
	/* A NUL or control byte would cut or bend the strings handed on. */
	if (!all_of(req, mlen, is_tchar) || !all_of(sp1 + 1, plen, NULL))
		return -EINVAL;
	memcpy(method, req, mlen);
	method[mlen] = '\0';
	memcpy(path, sp1 + 1, plen);
	path[plen] = '\0';
	/* The request is not NUL-terminated: the version is compared within its line. */
	if ((size_t)(eol - sp2 - 1) < 7 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0)
		return -EINVAL;
	return 0;
}

static void written(uv_write_t *w, int status)
{
	conn_close(w->data);
}

static const char *reason_of(int status)
{
	return status == 200 ? "OK" : status == 202 ? "Accepted" : status == 404 ? "Not Found" :
	       status == 503 ? "Service Unavailable" : status == 400 ? "Bad Request" :
	       status == 405 ? "Method Not Allowed" : status == 411 ? "Length Required" :
	       status == 413 ? "Payload Too Large" : "Internal Server Error";
}

static void file_read_next(struct conn *c);

static void file_written(uv_write_t *w, int status)
{
	struct conn *c = w->data;

	if (status < 0 || c->closed || c->left == 0) {
		conn_close(c);
		return;
	}
	file_read_next(c);
}

static void file_read_done(uv_fs_t *req)
{
	struct conn *c = req->data;
	ssize_t n = req->result;
	uv_buf_t b;

	uv_fs_req_cleanup(req);
	c->fs_busy = false;
	if (c->closed) {
		conn_free(c);
		return;
	}
	if (n <= 0) {
		/* The file shrank or broke under us: the client sees a short body. */
		conn_close(c);
		return;
	}
	c->left -= (uint64_t)n < c->left ? (uint64_t)n : c->left;
	b = uv_buf_init(c->chunk, (unsigned)n);
	c->wr.data = c;
	if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, file_written) < 0)
		conn_close(c);
}

static void file_read_next(struct conn *c)
{
	uv_buf_t b = uv_buf_init(c->chunk, FILE_CHUNK);

	if (c->left < FILE_CHUNK)
		b.len = (unsigned)c->left;
	c->fs.data = c;
	if (uv_fs_read(c->tcp.loop, &c->fs, c->fd, &b, 1, -1, file_read_done) < 0) {
		conn_close(c);
		return;
	}
	c->fs_busy = true;
}

/* Send the headers for `file`, then its bytes (see DESIGN). */
static void respond_file(struct conn *c, const char *file, bool head)
{
	struct stat st;
	uv_buf_t b;

	c->responded = true;
	c->fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (c->fd < 0 || fstat(c->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		static const char nf[] = "404 page not found\n";

		buf_addf(&c->resp,
			 "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
			 sizeof(nf) - 1, head ? "" : nf);
		c->left = 0;
	} else {
		buf_addf(&c->resp,
			 "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
			 "Content-Length: %llu\r\nConnection: close\r\n\r\n",
			 (unsigned long long)st.st_size);
		c->left = head ? 0 : (uint64_t)st.st_size;
		c->chunk = xmalloc(FILE_CHUNK);
	}
	b = uv_buf_init(c->resp.buf, (unsigned)c->resp.len);
	c->wr.data = c;
	if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, file_written) < 0)
		conn_close(c);
}

static void respond(struct conn *c, int status, const char *body, size_t len, bool head)
{
	uv_buf_t b;

	c->responded = true;
	buf_addf(&c->resp,
		 "HTTP/1.1 %d %s\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		 status, reason_of(status), len);
	if (!head)
		buf_add(&c->resp, body, len);
	b = uv_buf_init(c->resp.buf, (unsigned)c->resp.len);
	c->wr.data = c;
	if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, written) < 0)
		conn_close(c);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	static char slab[REQ_MAX];

	/* The loop thread reads one buffer at a time: one static slab is enough. */
	b->base = slab;
	b->len = sizeof(slab);
}

int serve_header(const struct serve_request *req, const char *name, const char **ret_val,
		 size_t *ret_len)
{
	const char *p = req->headers, *end = req->headers + req->headers_len;
	size_t nl = strlen(name);

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *v, *ve;

		if (!eol)
			eol = end;
		if ((size_t)(eol - p) > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
			v = p + nl + 1;
			ve = eol;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			*ret_val = v;
			*ret_len = (size_t)(ve - v);
			return 0;
		}
		p = eol + 1;
	}
	return -ENOENT;
}

void serve_reply(struct serve_reply *reply, int status, const char *body)
{
	struct conn *c = (struct conn *)reply;

	c->awaiting = false;
	if (c->closed) {
		conn_free(c); /* timed out or closed meanwhile: nobody to answer */
		return;
	}
	respond(c, status, body, strlen(body), false);
}

/* A webhook request: headers, then Content-Length bytes of body (see serve.h). */
static void on_hook_read(struct conn *c, const char *hdr_end)
{
	struct serve_srv *s = c->s;
	struct serve_request req = { 0 };
	char method[16], path[SERVE_PATH_MAX], num[24];
	const char *first_eol = memchr(c->req.buf, '\n', c->req.len), *v;
	size_t hlen = (size_t)(hdr_end - c->req.buf), vl;
	uint64_t clen = 0;

	req.headers = first_eol + 1;
	req.headers_len = (size_t)(hdr_end - req.headers);
	if (serve_header(&req, "Transfer-Encoding", &v, &vl) == 0) {
		respond(c, 411, "length required\n", 16, false);
		return;
	}
	if (serve_header(&req, "Content-Length", &v, &vl) == 0) {
		snprintf(num, sizeof(num), "%.*s", (int)(vl < 20 ? vl : 20), v);
		if (parse_uint64(num, &clen) < 0) {
			respond(c, 400, "bad request\n", 12, false);
			return;
		}
	}
	if (clen > s->max_body) {
		respond(c, 413, "request body too large\n", 23, false);
		return;
	}
	if (c->req.len < hlen + clen)
		return; /* more to come */
	uv_read_stop((uv_stream_t *)&c->tcp);
	if (serve_parse_request(c->req.buf, c->req.len, method, path) < 0) {
		respond(c, 400, "bad request\n", 12, false);
		return;
	}
	req.method = method;
	req.path = path;
	req.body = c->req.buf + hlen;
	req.body_len = (size_t)clen;
	c->awaiting = true;
	s->hook(&req, (struct serve_reply *)c, s->payload);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
	struct conn *c = st->data;
	char method[16], path[SERVE_PATH_MAX];
	const char *hdr_end;
	int r;

	if (n < 0) {
		conn_close(c);
		return;
	}
	if (n == 0 || c->responded || c->awaiting)
		return;
	if (buf_add(&c->req, b->base, (size_t)n) < 0) {
		respond(c, c->s->hook ? 413 : 400, "request too large\n", 18, false);
		return;
	}
	hdr_end = memmem(c->req.buf, c->req.len, "\r\n\r\n", 4);
	if (hdr_end) {
		hdr_end += 4;
	} else {
		hdr_end = memmem(c->req.buf, c->req.len, "\n\n", 2);
		if (hdr_end)
			hdr_end += 2;
	}
	if (!hdr_end) {
		if (c->s->hook && c->req.len > REQ_MAX)
			respond(c, 400, "request headers too large\n", 26, false);
		return;
	}
	if (c->s->hook) {
		on_hook_read(c, hdr_end);
		return;
	}
	uv_read_stop(st);
	r = serve_parse_request(c->req.buf, c->req.len, method, path);
	if (r < 0) {
		respond(c, 400, "bad request\n", 12, false);
	} else if (!streq(method, "GET") && !streq(method, "HEAD")) {
		respond(c, 405, "method not allowed\n", 19, false);
	} else {
		struct buf body = BUF_INIT(16u << 20);
		char *file = NULL;
		int status = c->s->handler(path, &body, &file, c->s->payload);

		if (file)
			respond_file(c, file, streq(method, "HEAD"));
		else
			respond(c, status, body.buf, body.len, streq(method, "HEAD"));
		free(file);
		buf_release(&body);
	}
}

static void on_timeout(uv_timer_t *t)
{
	conn_close(t->data);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct serve_srv *s = server->data;
	struct conn *c;

	if (status < 0)
		return;
	c = xcalloc(1, sizeof(*c));
	c->s = s;
	buf_init(&c->req, REQ_MAX + s->max_body);
	buf_init(&c->resp, (16u << 20) + 4096);
	uv_tcp_init(server->loop, &c->tcp);
	uv_timer_init(server->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	c->handles = 2;
	c->fd = -1;
	s->pending++;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0 || s->pending > CONN_MAX) {
		conn_close(c);
		return;
	}
	uv_timer_start(&c->timer, on_timeout, REQ_TIMEOUT_MS, 0);
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static int parse_addr(const char *addr, struct sockaddr_storage *ss)
{
	const char *colon = strrchr(addr, ':');
	char host[128];
	int port;

	if (!colon)
		return -EINVAL;
	if (parse_int(colon + 1, &port) < 0 || port < 0 || port > 65535)
		return -EINVAL;
	if (colon == addr) {
		snprintf(host, sizeof(host), "0.0.0.0");
	} else {
		size_t n = (size_t)(colon - addr);

		if (n >= sizeof(host))
			return -EINVAL;
		memcpy(host, addr, n);
		host[n] = '\0';
		if (host[0] == '[' && host[n - 1] == ']') {
			memmove(host, host + 1, n - 2);
			host[n - 2] = '\0';
		}
	}
	if (streq(host, "localhost"))
		snprintf(host, sizeof(host), "127.0.0.1");
	if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0)
		return 0;
	if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0)
		return 0;
	return -EINVAL;
}

static void free_on_close(uv_handle_t *h)
{
	free(h->data);
}

int serve_listen(uv_loop_t *loop, const char *addr, serve_handler h, void *payload,
		  struct serve_srv **ret, struct op_err *reterr)
{
	struct sockaddr_storage ss, got;
	struct serve_srv *s;
	int r, len = sizeof(got);

	if (!addr || !*addr || streq(addr, "0")) {
		*ret = NULL;
		return 0;
	}
	if (parse_addr(addr, &ss) < 0)
		return op_err_set(reterr, -EINVAL, "invalid listen address '%s'", addr);
	s = xcalloc(1, sizeof(*s));
	s->handler = h;
	s->payload = payload;
	uv_tcp_init(loop, &s->tcp);
	s->tcp.data = s;
	r = uv_tcp_bind(&s->tcp, (struct sockaddr *)&ss, 0);
	if (r == 0)
		r = uv_listen((uv_stream_t *)&s->tcp, 64, on_connection);
	if (r < 0) {
		/* Freed by the close callback, when the loop next runs. */
		uv_close((uv_handle_t *)&s->tcp, free_on_close);
		return op_err_set(reterr, r, "cannot listen on '%s': %s", addr, uv_strerror(r));
	}
	uv_tcp_getsockname(&s->tcp, (struct sockaddr *)&got, &len);
	s->port = got.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&got)->sin6_port) :
					      ntohs(((struct sockaddr_in *)&got)->sin_port);
	*ret = s;
	return 0;
}

int serve_listen_hooks(uv_loop_t *loop, const char *addr, serve_hook_handler h, size_t max_body,
		       void *payload, struct serve_srv **ret, struct op_err *reterr)
{
	int r = serve_listen(loop, addr, NULL, payload, ret, reterr);

	if (r == 0 && *ret) {
		(*ret)->hook = h;
		(*ret)->max_body = max_body;
	}
	return r;
}

int serve_port(const struct serve_srv *s)
{
	return s ? s->port : 0;
}

static void listener_closed(uv_handle_t *h)
{
	struct serve_srv *s = h->data;

	s->pending--;
	srv_maybe_free(s);
}

void serve_close(struct serve_srv *s, void (*cb)(void *payload), void *payload)
{
	if (!s) {
		if (cb)
			cb(payload);
		return;
	}
	s->closing = true;
	s->close_cb = cb;
	s->close_payload = payload;
	while (s->conns)
		conn_close(s->conns);
	s->pending++;
	uv_close((uv_handle_t *)&s->tcp, listener_closed);
}
