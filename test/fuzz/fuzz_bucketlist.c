/*
 * fuzz_bucketlist.c: fuzz target for the object stores' XML answers, read
 * through lib/source/xml.c (expat): S3's ListBucketResult and Error
 * (s3.c) and Azure Blob's EnumerationResults and Error (azblob.c).
 *
 * Input: one XML document, read by both providers as a listing page and
 * as an error answer.  Invariants: no crash, no leak, no sanitizer
 * report; every key handed on is a NUL-terminated string; a page either
 * fails or says whether another follows.
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

static void one(const struct bucket_provider_ops *ops, const char *endpoint, const uint8_t *data,
		size_t size)
{
	struct bucket_opts o = { .endpoint = endpoint, .bucket = "b", .sas = "se=2020-01-01&sig=x" };
	struct http_resp resp = { .status = 403, .body = (const char *)data, .body_len = size };
	struct op_err err;
	char *next = NULL;
	size_t n = 0;
	bool nb;
	void *st;

	if (ops->list_parse(NULL, (const char *)data, size, count, &n, &next, &err) == 0)
		free(next);
	if (ops->init(&o, &st, &err) == 0) {
		(void)ops->error(st, &resp, "fuzz", &nb, &err);
		ops->free(st);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (1u << 20))
		return 0;
	one(&bucket_s3_ops, "127.0.0.1:1", data, size);
	one(&bucket_azure_ops, "http://127.0.0.1:1/acct", data, size);
	return 0;
}
