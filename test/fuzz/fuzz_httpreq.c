/*
 * fuzz_httpreq.c: fuzz target for the request-line parser of the
 * operator's HTTP server (operator/serve.c serve_parse_request(): health,
 * metrics and artifacts, reachable from the network).
 *
 * serve.c is included, as it lives in operator/ and the replay binaries
 * link lib/ only.  The input is copied into a buffer of exactly its size
 * (the parser must not read past `len`; the sanitizer build catches an
 * over-read).  Invariants checked on success: a method of 1..15 bytes,
 * a path that starts with '/', is shorter than SERVE_PATH_MAX and holds no
 * '?' (the query is cut), and an input with a newline; -EAGAIN only for
 * input without one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../operator/serve.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char method[16], path[SERVE_PATH_MAX];
	char *req;
	int r;

	if (size > 2 * REQ_MAX)
		return 0;
	req = xmalloc(size ? size : 1);
	memcpy(req, data, size);
	r = serve_parse_request(req, size, method, path);
	if (r == 0) {
		size_t ml = strnlen(method, sizeof(method)), pl = strnlen(path, sizeof(path));

		if (ml == 0 || ml >= sizeof(method) || pl >= sizeof(path) || path[0] != '/' ||
		    memchr(path, '?', pl) || !memchr(req, '\n', size))
			abort();
	} else if (r == -EAGAIN) {
		if (memchr(req, '\n', size))
			abort();
	} else if (r != -EINVAL) {
		abort();
	}
	free(req);
	return 0;
}
