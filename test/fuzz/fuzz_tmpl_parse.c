/*
 * fuzz_tmpl_parse.c: fuzz target for lib/tmpl's lexer and parser (template
 * text comes from users' charts).  The input is parsed as one template
 * file into a set with Go's builtins and Helm's data functions (and Sprig
 * when built in); if it parses, its top-level template runs once with no
 * data under tight limits.  Invariants: no crash, no leak, a failed parse
 * always explains itself (an error message of Go's shape) and leaves the
 * set without the template.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tmpl/tmpl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tmpl_funcs *f = tmpl_funcs_new();
	struct tmpl_set_opts so = TMPL_SET_OPTS_INIT;
	struct tmpl_set *set;
	struct tmpl_error err = TMPL_ERROR_INIT;
	struct tmpl_arena *a = tmpl_arena_new(8u << 20);
	struct tmpl_exec_opts xo = { .arena = a, .max_steps = 100000, .max_depth = 32,
				     .max_output = 1u << 20 };
	struct buf out = BUF_INIT(1u << 20);

#ifdef TMPL_HAVE_SPRIG
	tmpl_funcs_add_sprig(f);
#endif
	tmpl_funcs_add_data(f);
	so.max_parse_depth = 200;
	set = tmpl_set_new(f, &so);
	if (tmpl_set_parse(set, "fuzz", (const char *)data, size, &err) < 0) {
		if (!err.msg || strncmp(err.msg, "template: fuzz", 14) != 0 ||
		    tmpl_set_has(set, "fuzz"))
			abort();
	} else {
		tmpl_error_release(&err);
		(void)tmpl_exec(set, "fuzz", tmpl_invalid(), &xo, &out, &err);
		if (out.len > xo.max_output)
			abort();
	}
	tmpl_error_release(&err);
	buf_release(&out);
	tmpl_arena_free(a);
	tmpl_set_free(set);
	tmpl_funcs_free(f);
	return 0;
}
