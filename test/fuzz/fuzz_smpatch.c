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
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "kustomize/internal.h"
#include "yj/yj.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static cJSON *parse(const char *s, size_t n)
{
	struct yj_limits lim = { .max_input_bytes = 1 << 16, .max_docs = 4, .max_depth = 32,
				 .max_nodes = 4096, .max_scalar_bytes = 1 << 12,
				 .max_alias_uses = 16, .max_alias_nodes = 256, .core_bools = true };
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = xmalloc(size + 1), *sep;
	cJSON *target, *patch;
	struct op_err err;

	memcpy(in, data, size);
	in[size] = '\0';
	sep = strstr(in, "\n===\n");
	if (!sep) {
		free(in);
		return 0;
	}
	target = parse(in, (size_t)(sep - in));
	patch = parse(sep + 5, strlen(sep + 5));
	if (cJSON_IsObject(target) && cJSON_IsObject(patch)) {
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(target, "kind");
		char *kind = xstrdup(cJSON_IsString(k) ? k->valuestring : "");

		if (kz__smp(&target, patch, kind, &err) == 0 && target) {
			struct buf out = BUF_INIT(1 << 24);
			struct yj_stream st;

			if (yj_emit_yaml_go(target, &out) == 0) {
				if (yj_parse_stream(out.buf, out.len, NULL, &st, &err) < 0)
					abort(); /* we printed YAML we cannot read */
				yj_stream_release(&st);
			}
			buf_release(&out);
		}
		free(kind);
	}
	cJSON_Delete(target);
	cJSON_Delete(patch);
	free(in);
	return 0;
}
