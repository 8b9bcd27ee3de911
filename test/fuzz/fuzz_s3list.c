/*
 * fuzz_s3list.c: fuzz target for S3's ListBucketResult (s3.c) and Error documents, read
 * through lib/source/xml.c (expat).
 *
 * Input: one XML document, read as a listing page and as an error
 * answer.  Invariants: no crash, no leak, no sanitizer report; every key
 * handed on is a NUL-terminated string; a page either fails or says
 * whether another follows.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube/http.h"
#include "source/bucket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count(const char *key, const char *etag, void *payload)
{
	*(size_t *)payload += strlen(key) + strlen(etag);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bucket_opts o = { .endpoint = "127.0.0.1:1", .bucket = "b" };
	struct http_resp resp = { .status = 403, .body = (const char *)data, .body_len = size };
	struct op_err err;
	char *next = NULL;
	size_t n = 0;
	bool nb;
	void *st;

	if (size > (1u << 20))
		return 0;
	if (bucket_s3_ops.list_parse(NULL, (const char *)data, size, count, &n, &next, &err) == 0)
		free(next);
	if (bucket_s3_ops.init(&o, &st, &err) == 0) {
		(void)bucket_s3_ops.error(st, &resp, "fuzz", &nb, &err);
		bucket_s3_ops.free(st);
	}
	return 0;
}
