/*
 * fuzz_status.c: fuzz target for the decoding of the Kubernetes Status an
 * apiserver answers a failed request with (lib/kube/client.c:
 * map_status(), the one place that maps HTTP statuses and Status reasons
 * to errors, reached from every REST verb's completion).
 *
 * Input: the first byte picks the HTTP status from `statuses` (its top
 * bit: the request was a server-side apply), the rest is the body, read
 * as call_done() reads it.  Invariants: a negative errno, the same one in
 * err.code; err.http_status is the status; err.msg non-empty and
 * err.reason NUL-terminated; a Status body's message is passed on when
 * it fits.  client.c is included directly for its static functions (as in
 * fuzz_watch.c, which covers a watch's ERROR events).
 */
#include "../../lib/kube/client.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const long statuses[] = { 400, 401, 403, 404, 409, 410, 415, 422,
				 429, 500, 503, 504, 0,   301, 999, -1 };

/* True if `s` holds no control character (op_err_set() blanks those). */
static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct op_err err = OP_ERR_INIT;
	const cJSON *msg;
	const char *end = NULL;
	cJSON *obj = NULL;
	long status;
	int code;

	if (size < 1 || size > (1u << 20))
		return 0;
	status = statuses[data[0] % (sizeof(statuses) / sizeof(statuses[0]))];
	if (size > 1)
		obj = cJSON_ParseWithLengthOpts((const char *)data + 1, size - 1, &end, 0);
	code = map_status(status, obj, data[0] & 0x80, "PATCH", "https://fuzz/api/v1/x", 7, &err);
	if (code >= 0 || err.code != code || err.http_status != status || err.retry_after != 7)
		abort();
	if (!err.msg[0] || strnlen(err.msg, sizeof(err.msg)) == sizeof(err.msg) ||
	    strnlen(err.reason, sizeof(err.reason)) == sizeof(err.reason))
		abort();
	msg = cJSON_GetObjectItemCaseSensitive(obj, "message");
	if (cJSON_IsString(msg) && *msg->valuestring && strlen(msg->valuestring) < sizeof(err.msg) &&
	    printable(msg->valuestring) && !strstr(err.msg, msg->valuestring) &&
	    cJSON_IsString(cJSON_GetObjectItemCaseSensitive(obj, "kind")) &&
	    streq(cJSON_GetObjectItemCaseSensitive(obj, "kind")->valuestring, "Status"))
		abort();
	cJSON_Delete(obj);
	return 0;
}
