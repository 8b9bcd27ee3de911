/*
 * test_http.c: lib/kube/http.c on a real loop against a tiny scripted
 * HTTP/1.1 server in the same process (plain TCP on 127.0.0.1).
 *
 * Transport-level cases only — bounded bodies, streaming in pieces,
 * cancellation from inside a data callback, deadlines, refused
 * connections, and the close sequence ending with uv_loop_close() == 0.
 * Everything Kubernetes-shaped is tested against the real apiserver in
 * test/integration/.
 */
#include <string.h>
#include <uv.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "harness.h"
#include "kube/http.h"

/* ---- a scripted server: answers every request with `reply` ---- */

struct server {
	uv_tcp_t tcp;
	int port;
	const char *reply;   /* sent once the request headers arrived */
	size_t reply_len;
	bool hold;           /* keep the connection open after the reply */
	uv_tcp_t *conn;
	struct buf req;
};

static void conn_closed(uv_handle_t *h)
{
	free(h);
}

static void wrote(uv_write_t *w, int status)
{
	struct server *s = w->data;

	free(w);
	if (!s->hold && s->conn) {
		uv_close((uv_handle_t *)s->conn, conn_closed);
		s->conn = NULL;
	}
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	b->base = xmalloc(65536);
	b->len = 65536;
}

static void read_cb(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
	struct server *s = st->data;

	if (n > 0) {
		buf_add(&s->req, b->base, (size_t)n);
		if (strstr(s->req.buf, "\r\n\r\n") && s->reply) {
			uv_write_t *w = xcalloc(1, sizeof(*w));
			uv_buf_t out = uv_buf_init((char *)s->reply, (unsigned)s->reply_len);

			w->data = s;
			uv_write(w, st, &out, 1, wrote);
			s->reply = NULL;
		}
	} else if (n < 0 && s->conn) {
		uv_close((uv_handle_t *)s->conn, conn_closed);
		s->conn = NULL;
	}
	free(b->base);
}

static void on_conn(uv_stream_t *srv, int status)
{
	struct server *s = srv->data;
	uv_tcp_t *c = xcalloc(1, sizeof(*c));

	uv_tcp_init(srv->loop, c);
	c->data = s;
	ASSERT_OK(uv_accept(srv, (uv_stream_t *)c));
	s->conn = c;
	uv_read_start((uv_stream_t *)c, alloc_cb, read_cb);
}

static void server_start(uv_loop_t *loop, struct server *s, const char *reply, bool hold)
{
	struct sockaddr_in addr;
	struct sockaddr_storage got;
	int len = sizeof(got);

	memset(s, 0, sizeof(*s));
	buf_init(&s->req, 1 << 20);
	s->reply = reply;
	s->reply_len = reply ? strlen(reply) : 0;
	s->hold = hold;
	uv_tcp_init(loop, &s->tcp);
	s->tcp.data = s;
	uv_ip4_addr("127.0.0.1", 0, &addr);
	ASSERT_OK(uv_tcp_bind(&s->tcp, (struct sockaddr *)&addr, 0));
	ASSERT_OK(uv_listen((uv_stream_t *)&s->tcp, 8, on_conn));
	uv_tcp_getsockname(&s->tcp, (struct sockaddr *)&got, &len);
	s->port = ntohs(((struct sockaddr_in *)&got)->sin_port);
}

static void server_stop(struct server *s)
{
	if (s->conn)
		uv_close((uv_handle_t *)s->conn, conn_closed);
	s->conn = NULL;
	uv_close((uv_handle_t *)&s->tcp, NULL);
	buf_release(&s->req);
}

/* ---- client side ---- */

struct result {
	bool done;
	int r;
	long status;
	char body[4096];
	struct op_err err;
	struct buf stream;
	int stop_after; /* on_data returns -ECONNABORTED after this many calls */
	int calls;
	struct http_req *self;
};

static void done_cb(struct http_req *req, int r, const struct http_resp *resp,
		    const struct op_err *err, void *payload)
{
	struct result *res = payload;

	res->done = true;
	res->r = r;
	res->status = resp->status;
	snprintf(res->body, sizeof(res->body), "%s", resp->body);
	if (err)
		res->err = *err;
}

static int data_cb(struct http_req *req, long status, const char *data, size_t n, void *payload)
{
	struct result *res = payload;

	res->calls++;
	buf_add(&res->stream, data, n);
	if (res->stop_after && res->calls >= res->stop_after) {
		/* Cancel ourselves from inside curl's write callback. */
		http_cancel(req);
	}
	return 0;
}

static void run_until(uv_loop_t *loop, bool *flag)
{
	uint64_t start = uv_now(loop);

	while (!*flag && uv_now(loop) - start < 10000) {
		uv_run(loop, UV_RUN_ONCE);
		uv_update_time(loop);
	}
	ASSERT(*flag);
}

static void closed_cb(void *p)
{
	*(bool *)p = true;
}

static void finish(uv_loop_t *loop, struct kube_http *h, struct server *s)
{
	bool closed = false;

	http_close(h, closed_cb, &closed);
	if (s)
		server_stop(s);
	uv_run(loop, UV_RUN_DEFAULT);
	ASSERT(closed);
	ASSERT_EQ(uv_loop_close(loop), 0);
}

static char *url(struct server *s, const char *path)
{
	return xasprintf("http://127.0.0.1:%d%s", s->port, path);
}

TEST(get_buffered_body)
{
	uv_loop_t loop;
	struct kube_http *h;
	struct server s;
	struct result res = { 0 };
	struct http_req_opts o = HTTP_REQ_OPTS_INIT;
	char *u;

	uv_loop_init(&loop);
	server_start(&loop, &s,
		     "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\n"
		     "Content-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"kind\":\"x\"}\n",
		     false);
	ASSERT_OK(http_new(&loop, NULL, &h, NULL));
	u = url(&s, "/api/v1/x?y=1");
	o.url = u;
	ASSERT_OK(http_request(h, &o, done_cb, &res, NULL));
	ASSERT_EQ(http_active(h), 1);
	run_until(&loop, &res.done);
	ASSERT_EQ(res.r, 0);
	ASSERT_EQ(res.status, 429);
	ASSERT_STREQ(res.body, "{\"kind\":\"x\"}\n");
	ASSERT_CONTAINS(s.req.buf, "GET /api/v1/x?y=1 HTTP/1.1");
	ASSERT_EQ(http_active(h), 0);
	free(u);
	finish(&loop, h, &s);
}

static void retry_cb(struct http_req *req, int r, const struct http_resp *resp,
		     const struct op_err *err, void *payload)
{
	*(long *)payload = resp->retry_after;
}

TEST(retry_after_header_is_reported)
{
	uv_loop_t loop;
	struct kube_http *h;
	struct server s;
	struct http_req_opts o = HTTP_REQ_OPTS_INIT;
	long ra = -1;
	char *u;

	uv_loop_init(&loop);
	server_start(&loop, &s, "HTTP/1.1 429 X\r\nretry-after: 7\r\nContent-Length: 0\r\n\r\n",
		     false);
	ASSERT_OK(http_new(&loop, NULL, &h, NULL));
	u = url(&s, "/");
	o.url = u;
	ASSERT_OK(http_request(h, &o, retry_cb, &ra, NULL));
	while (ra < 0)
		uv_run(&loop, UV_RUN_ONCE);
	ASSERT_EQ(ra, 7);
	free(u);
	finish(&loop, h, &s);
}

TEST(body_over_the_cap_is_efbig)
{
	uv_loop_t loop;
	struct kube_http *h;
	struct server s;
	struct result res = { 0 };
	struct http_req_opts o = HTTP_REQ_OPTS_INIT;
	char *u;

	uv_loop_init(&loop);
	server_start(&loop, &s,
		     "HTTP/1.1 200 OK\r\nContent-Length: 64\r\n\r\n"
		     "0123456789012345678901234567890123456789012345678901234567890123",
		     false);
	ASSERT_OK(http_new(&loop, NULL, &h, NULL));
	u = url(&s, "/big");
	o.url = u;
	o.max_body = 10;
	ASSERT_OK(http_request(h, &o, done_cb, &res, NULL));
	run_until(&loop, &res.done);
	ASSERT_EQ(res.r, -EFBIG);
	ASSERT_CONTAINS(res.err.msg, "size limit");
	free(u);
	finish(&loop, h, &s);
}

TEST(streaming_and_cancel_from_inside)
{
	uv_loop_t loop;
	struct kube_http *h;
	struct server s;
	struct result res = { .stream = BUF_INIT(1 << 16), .stop_after = 1 };
	struct http_req_opts o = HTTP_REQ_OPTS_INIT;
	char *u;

	uv_loop_init(&loop);
	/* A chunked stream that never ends: only our cancel ends it. */
	server_start(&loop, &s,
		     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		     "6\r\n{\"a\":1\r\n3\r\n}\n{\r\n",
		     true);
	ASSERT_OK(http_new(&loop, NULL, &h, NULL));
	u = url(&s, "/watch");
	o.url = u;
	o.on_data = data_cb;
	ASSERT_OK(http_request(h, &o, done_cb, &res, NULL));
	run_until(&loop, &res.done);
	ASSERT_EQ(res.r, -ECANCELED);
	ASSERT(res.stream.len >= 6);
	ASSERT(strncmp(res.stream.buf, "{\"a\":1", 6) == 0);
	ASSERT_EQ(http_active(h), 0);
	buf_release(&res.stream);
	free(u);
	finish(&loop, h, &s);
}

TEST(deadline_and_cancel_outside)
{
	uv_loop_t loop;
	struct kube_http *h;
	struct server s;
	struct result a = { 0 }, b = { 0 };
	struct http_req_opts o = HTTP_REQ_OPTS_INIT;
	struct http_req *rb;
	char *u;

	uv_loop_init(&loop);
	server_start(&loop, &s, NULL, true); /* accepts, never answers */
	ASSERT_OK(http_new(&loop, NULL, &h, NULL));
	u = url(&s, "/slow");
	o.url = u;
	o.timeout_ms = 300;
	ASSERT_OK(http_request(h, &o, done_cb, &a, NULL));
	o.timeout_ms = 0;
	ASSERT_OK(http_request(h, &o, done_cb, &b, &rb));
	run_until(&loop, &a.done);
	ASSERT_EQ(a.r, -ETIMEDOUT);
	ASSERT(!b.done);
	http_cancel(rb);
	ASSERT(b.done);
	ASSERT_EQ(b.r, -ECANCELED);
	free(u);
	finish(&loop, h, &s);
}

TEST(connection_refused_and_close_cancels)
{
	uv_loop_t loop;
	struct kube_http *h;
	struct server s;
	struct result a = { 0 }, b = { 0 };
	struct http_req_opts o = HTTP_REQ_OPTS_INIT;
	char *u;
	int port;

	uv_loop_init(&loop);
	/* Learn a free port, then close the listener. */
	server_start(&loop, &s, NULL, false);
	port = s.port;
	server_stop(&s);
	uv_run(&loop, UV_RUN_NOWAIT);
	ASSERT_OK(http_new(&loop, NULL, &h, NULL));
	u = xasprintf("http://127.0.0.1:%d/", port);
	o.url = u;
	ASSERT_OK(http_request(h, &o, done_cb, &a, NULL));
	run_until(&loop, &a.done);
	ASSERT_EQ(a.r, -ECONNREFUSED);
	ASSERT_CONTAINS(a.err.msg, "GET");
	free(u);

	/* A transfer still running when the engine closes gets -ECANCELED. */
	server_start(&loop, &s, NULL, true);
	u = url(&s, "/");
	o.url = u;
	ASSERT_OK(http_request(h, &o, done_cb, &b, NULL));
	uv_run(&loop, UV_RUN_NOWAIT);
	free(u);
	{
		bool closed = false;

		http_close(h, closed_cb, &closed);
		ASSERT(b.done);
		ASSERT_EQ(b.r, -ECANCELED);
		server_stop(&s);
		uv_run(&loop, UV_RUN_DEFAULT);
		ASSERT(closed);
		ASSERT_EQ(uv_loop_close(&loop), 0);
	}
}

TEST(bad_options_never_call_back)
{
	uv_loop_t loop;
	struct kube_http *h;
	struct result res = { 0 };
	struct http_req_opts o = HTTP_REQ_OPTS_INIT;

	uv_loop_init(&loop);
	ASSERT_OK(http_new(&loop, NULL, &h, NULL));
	ASSERT_EQ(http_request(h, &o, done_cb, &res, NULL), -EINVAL);
	ASSERT(!res.done);
	finish(&loop, h, NULL);
}
