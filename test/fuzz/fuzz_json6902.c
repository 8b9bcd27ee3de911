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
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *canon(const cJSON *j)
{
	struct buf b = BUF_INIT(1 << 24);
	char *s = yj_print_canonical(j, &b) == 0 ? xstrdup(b.len ? b.buf : "") : NULL;

	buf_release(&b);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *target, *ops;
	struct op_err err;

	if (fuzz_two_docs(data, size, false, &target, &ops) < 0)
		return 0;
	if (target && cJSON_IsArray(ops)) {
		char *before = canon(target), *after;

		if (yj_json_patch(&target, ops, &err) < 0) {
			after = canon(target);
			if (!before || !after || strcmp(before, after) != 0)
				abort(); /* a failed patch changed the document */
			free(after);
		} else if (target) {
			struct buf out = BUF_INIT(1 << 24);

			if (yj_emit_yaml_go(target, &out) == 0)
				fuzz_yaml_reads_back(&out);
			buf_release(&out);
		}
		free(before);
	}
	cJSON_Delete(target);
	cJSON_Delete(ops);
	return 0;
}
