/*
 * fuzz_httpresp.c: fuzz target for the response-header handling of
 * lib/kube/http.c: header_cb(), which curl calls with each header line a
 * server sends (it keeps the lines, bounded, and reads Retry-After and
 * Content-Type), and http_resp_header(), through which every source reads
 * the kept lines (ETag, Location, Link, WWW-Authenticate, ...).
 *
 * The input is what a server sends: it is cut into lines after each '\n',
 * as curl hands them over, and fed to header_cb() (a status line starts
 * a new response, as after a redirect).  Then every name in `names` and a
 * name taken from the first line are looked up.  Invariants: Retry-After
 * within 0..3600, Content-Type a string without CR or LF, the kept lines
 * within their cap, and a found value inside the kept lines, without a
 * line break or surrounding blanks.  http.c is included directly to reach
 * its static functions (as fuzz_watch.c does with client.c).
 */
#include "../../lib/kube/http.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = { "Content-Type", "Retry-After", "ETag", "Location", "Link",
				     "WWW-Authenticate", "Docker-Content-Digest", "Content-Length",
				     "x-amz-bucket-region", "x-ms-error-code", "" };

static void lookup(const struct http_resp *resp, const char *name)
{
	const char *v, *end = resp->headers + resp->headers_len;
	size_t n;

	if (http_resp_header(resp, name, &v, &n) < 0)
		return;
	if (v < resp->headers || v + n > end || memchr(v, '\n', n))
		abort();
	if (n > 0 && (v[0] == ' ' || v[0] == '\t' || v[n - 1] == ' ' || v[n - 1] == '\t' ||
		      v[n - 1] == '\r'))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_req r = { 0 };
	struct http_resp resp = { 0 };
	const char *p = (const char *)data, *end = p + size, *nl;
	char name[64];
	size_t i;

	if (size > (1u << 20))
		return 0;
	buf_init(&r.hdrs_in, HTTP_MAX_HEADERS);
	while (p < end) {
		char *line;
		size_t len;

		nl = memchr(p, '\n', (size_t)(end - p));
		len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		/* curl's buffer is its own: give header_cb exactly the line. */
		line = xmalloc(len);
		memcpy(line, p, len);
		if (header_cb(line, 1, len, &r) != len)
			abort();
		free(line);
		p += len;
	}
	if (r.retry_after < 0 || r.retry_after > 3600)
		abort();
	if (strnlen(r.ctype, sizeof(r.ctype)) == sizeof(r.ctype) || strpbrk(r.ctype, "\r\n"))
		abort();
	if (r.hdrs_in.len > HTTP_MAX_HEADERS)
		abort();
	resp.headers = r.hdrs_in.buf;
	resp.headers_len = r.hdrs_in.len;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		lookup(&resp, names[i]);
	/* A name the input chose: the first line up to its colon. */
	nl = memchr(data, ':', size < sizeof(name) - 1 ? size : sizeof(name) - 1);
	if (nl) {
		memcpy(name, data, (size_t)(nl - (const char *)data));
		name[nl - (const char *)data] = '\0';
		lookup(&resp, name);
	}
	buf_release(&r.hdrs_in);
	return 0;
}
