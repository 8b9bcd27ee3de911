/*
 * fuzz_tmpl_exec.c: fuzz target for lib/tmpl's executor.  The input is a
 * template, a line "===", and YAML values; the template runs with the
 * values as .Values (Helm's missingkey=zero) and with include and tpl
 * built on the function context, under tight limits (steps, depth, output,
 * memory).  Invariants: no crash, no leak, no hang (the step budget ends
 * every loop), output within its cap, and every failure explained.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "fuzz.h"
#include "tmpl/tmpl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fn_include(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n,
		      struct tmpl_val *ret, void *payload)
{
	return tmpl_ctx_include(ctx, a[0].s.p, a[1], ret);
}

static int fn_tpl(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n, struct tmpl_val *ret,
		  void *payload)
{
	return tmpl_ctx_tpl(ctx, a[0].s.p, a[0].s.n, a[1], ret, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = xmalloc(size + 1), *sep;
	struct tmpl_funcs *f = tmpl_funcs_new();
	struct tmpl_set *set;
	struct tmpl_error err = TMPL_ERROR_INIT;
	struct tmpl_arena *a = tmpl_arena_new(16u << 20);
	struct tmpl_exec_opts xo = { .arena = a, .missingkey = TMPL_MISSINGKEY_ZERO,
				     .max_steps = 200000, .max_depth = 32, .max_output = 1u << 20 };
	struct buf out = BUF_INIT(1u << 20);
	struct tmpl_map *top = tmpl_map_new(a, TMPL_NIL);
	struct tmpl_val values = tmpl_map_val(tmpl_map_new(a, TMPL_NIL));
	size_t tlen = size;
	int r;

	memcpy(in, data, size);
	in[size] = '\0';
	sep = memmem(in, size, "\n===\n", 5);
	if (sep) {
		cJSON *doc = fuzz_first_doc(sep + 5, size - (size_t)(sep + 5 - in), false);

		tlen = (size_t)(sep - in);
		if (doc)
			(void)tmpl_from_json(a, doc, 0, &values);
		cJSON_Delete(doc);
	}
#ifdef TMPL_HAVE_SPRIG
	tmpl_funcs_add_sprig(f);
#endif
	tmpl_funcs_add_data(f);
	(void)tmpl_funcs_add(f, "include", "sv", fn_include, NULL);
	(void)tmpl_funcs_add(f, "tpl", "sv", fn_tpl, NULL);
	set = tmpl_set_new(f, NULL);
	tmpl_map_set(top, "Values", 6, values);
	if (tmpl_set_parse(set, "t", in, tlen, &err) == 0) {
		r = tmpl_exec(set, "t", tmpl_map_val(top), &xo, &out, &err);
		if ((r < 0 && !err.msg) || out.len > xo.max_output)
			abort();
	}
	tmpl_error_release(&err);
	buf_release(&out);
	tmpl_set_free(set);
	tmpl_arena_free(a);
	tmpl_funcs_free(f);
	free(in);
	return 0;
}
