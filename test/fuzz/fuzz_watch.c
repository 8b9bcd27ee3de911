/*
 * fuzz_watch.c: fuzz target for the watch-stream framing and the
 * Kubernetes Status decoding in lib/kube/client.c.
 *
 * The input is split into chunks at arbitrary points (the first byte of
 * every 64 picks the split), as a network would deliver it, and fed to
 * the same code a live watch runs: line framing with the capped buffer,
 * event decoding, ERROR events mapped through map_status().  Invariants:
 * no crash or leak, and an event is delivered only as a complete line.
 * client.c is included directly to reach its static functions (h2o's
 * trick, STYLE.md §8).
 */
#include "../../lib/kube/client.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned events;

static int on_event(const char *type, const cJSON *obj, void *payload)
{
	if (!type || !cJSON_IsObject(obj))
		abort();
	events++;
	/* A handler may stop the watch; exercise that path too. */
	return streq(type, "STOP") ? -ECANCELED : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kube_call call = { 0 };
	struct kube_watch w = { 0 };
	size_t off = 0;

	call.url = (char *)"https://fuzz/api/v1/configmaps?watch=true";
	call.watch = &w;
	w.call = &call;
	w.on_event = on_event;
	buf_init(&w.line, 4096);
	while (off < size) {
		size_t n = 1 + (data[off] % 64);

		if (n > size - off)
			n = size - off;
		if (watch_data(NULL, 200, (const char *)data + off, n, &call) < 0)
			break;
		off += n;
	}
	buf_release(&w.line);
	return 0;
}
