/*
 * fuzz.h: what several fuzz targets share, header-only (each target is a
 * program of its own): an input read as two YAML documents separated by
 * a line "===", and the check that YAML we printed reads back.
 */
#ifndef CFLUX_TEST_FUZZ_H
#define CFLUX_TEST_FUZZ_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "yj/yj.h"

/* The first document of `s`, read with tight limits, or NULL. */
static inline cJSON *fuzz_first_doc(const char *s, size_t n, bool core_bools)
{
	struct yj_limits lim = { .max_input_bytes = 1 << 16, .max_docs = 4, .max_depth = 32,
				 .max_nodes = 4096, .max_scalar_bytes = 1 << 12,
				 .max_alias_uses = 16, .max_alias_nodes = 256,
				 .core_bools = core_bools };
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

/*
 * Split the input at its first "\n===\n" and read each side's first
 * document into *a and *b (either may be NULL).  -1 without a separator.
 */
static inline int fuzz_two_docs(const uint8_t *data, size_t size, bool core_bools, cJSON **a,
				cJSON **b)
{
	char *in = xmalloc(size + 1), *sep;

	memcpy(in, data, size);
	in[size] = '\0';
	sep = strstr(in, "\n===\n");
	if (!sep) {
		free(in);
		return -1;
	}
	*a = fuzz_first_doc(in, (size_t)(sep - in), core_bools);
	*b = fuzz_first_doc(sep + 5, strlen(sep + 5), core_bools);
	free(in);
	return 0;
}

/* Abort unless `out`, YAML we printed, reads back. */
static inline void fuzz_yaml_reads_back(const struct buf *out)
{
	struct yj_stream st;
	struct op_err err;

	if (yj_parse_stream(out->buf, out->len, NULL, &st, &err) < 0)
		abort(); /* we printed YAML we cannot read */
	yj_stream_release(&st);
}

#endif
