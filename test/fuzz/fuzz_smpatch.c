/*
 * fuzz_smpatch.c: fuzz target for the strategic merge patch applier
 * (kz__smp() in lib/kustomize/patch.c).
 *
 * The input is two YAML documents separated by a line "===": the object
 * to patch, then the patch.  Both are read with tight limits; when both
 * are maps the patch is applied with the object's kind (so the built-in
 * kinds' merge keys and custom resources' plain merge are both reached).
 * A crash, a leak (under ASan) or a result that cannot be printed as
 * YAML and read back aborts.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "kustomize/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *target, *patch;
	struct op_err err;

	if (fuzz_two_docs(data, size, true, &target, &patch) < 0)
		return 0;
	if (cJSON_IsObject(target) && cJSON_IsObject(patch)) {
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(target, "kind");
		char *kind = xstrdup(cJSON_IsString(k) ? k->valuestring : "");

		if (kz__smp(&target, patch, kind, &err) == 0 && target) {
			struct buf out = BUF_INIT(1 << 24);

			if (yj_emit_yaml_go(target, &out) == 0)
				fuzz_yaml_reads_back(&out);
			buf_release(&out);
		}
		free(kind);
	}
	cJSON_Delete(target);
	cJSON_Delete(patch);
	return 0;
}
