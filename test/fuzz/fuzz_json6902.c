/*
 * fuzz_json6902.c: fuzz target for the RFC 6902 JSON patch applier
 * (yj_json_patch(), which kustomize's `patches` and `patchesJson6902`
 * use).
 *
 * The input is two YAML (or JSON) documents separated by a line "===":
 * the document to patch, then the list of operations.  Besides crashes
 * and leaks, it checks the applier's promise: on failure the target is
 * exactly as it was (all or nothing), and on success the result prints
 * as YAML that reads back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "yj/yj.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static cJSON *parse(const char *s, size_t n)
{
	struct yj_limits lim = { .max_input_bytes = 1 << 16, .max_docs = 4, .max_depth = 32,
				 .max_nodes = 4096, .max_scalar_bytes = 1 << 12,
				 .max_alias_uses = 16, .max_alias_nodes = 256 };
	struct op_err err;
	struct yj_stream st;
	cJSON *doc = NULL;

	if (yj_parse_stream(s, n, &lim, &st, &err) < 0)
		return NULL;
	if (st.n >= 1) {
		doc = st.docs[0];
		st.docs[0] = NULL;
	}
	yj_stream_release(&st);
	return doc;
}

static char *canon(const cJSON *j)
{
	struct buf b = BUF_INIT(1 << 24);
	char *s = yj_print_canonical(j, &b) == 0 ? xstrdup(b.len ? b.buf : "") : NULL;

	buf_release(&b);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = xmalloc(size + 1), *sep;
	cJSON *target, *ops;
	struct op_err err;

	memcpy(in, data, size);
	in[size] = '\0';
	sep = strstr(in, "\n===\n");
	if (!sep) {
		free(in);
		return 0;
	}
	target = parse(in, (size_t)(sep - in));
	ops = parse(sep + 5, strlen(sep + 5));
	if (target && cJSON_IsArray(ops)) {
		char *before = canon(target), *after;

		if (yj_json_patch(&target, ops, &err) < 0) {
			after = canon(target);
			if (!before || !after || strcmp(before, after) != 0)
				abort(); /* a failed patch changed the document */
			free(after);
		} else if (target) {
			struct buf out = BUF_INIT(1 << 24);
			struct yj_stream st;

			if (yj_emit_yaml_go(target, &out) == 0) {
				if (yj_parse_stream(out.buf, out.len, NULL, &st, &err) < 0)
					abort(); /* we printed YAML we cannot read */
				yj_stream_release(&st);
			}
			buf_release(&out);
		}
		free(before);
	}
	cJSON_Delete(target);
	cJSON_Delete(ops);
	free(in);
	return 0;
}
