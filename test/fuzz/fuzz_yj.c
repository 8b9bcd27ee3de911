/*
 * fuzz_yj.c: fuzz target for the YAML reader and writer.
 *
 * Parse the input as a YAML stream under tight limits (so the fuzzer
 * explores shapes, not sizes); for every document, emit it as YAML,
 * parse that again and require the same canonical JSON.  A crash, a leak
 * (under ASan) or a round trip that changes the data aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "yj/yj.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct yj_limits lim = YJ_LIMITS_DEFAULT;
	struct yj_stream s;
	struct op_err err;
	size_t i;

	lim.max_nodes = 20000;
	lim.max_alias_nodes = 5000;
	lim.max_depth = 64;
	if (yj_parse_stream((const char *)data, size, &lim, &s, &err) < 0)
		return 0;
	for (i = 0; i < s.n; i++) {
		struct buf y = BUF_INIT(1 << 24), a = BUF_INIT(1 << 24), b = BUF_INIT(1 << 24);
		cJSON *back = NULL;

		if (yj_emit_yaml(s.docs[i], &y) == 0 && yj_print_canonical(s.docs[i], &a) == 0) {
			if (yj_parse_one(y.buf, y.len, &back, &err) < 0)
				abort(); /* we wrote YAML we cannot read */
			if (yj_print_canonical(back, &b) < 0 || a.len != b.len ||
			    memcmp(a.buf, b.buf, a.len) != 0)
				abort(); /* the round trip changed the data */
			cJSON_Delete(back);
		}
		buf_release(&y);
		buf_release(&a);
		buf_release(&b);
	}
	yj_stream_release(&s);
	return 0;
}
