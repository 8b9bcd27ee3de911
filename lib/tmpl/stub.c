/*
 * stub.c: placeholders for the parts of tmpl.h not written yet, so the
 * header links from its first commit.  Each fails with -ENOSYS.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "tmpl/internal.h"
#include "tmpl/tmpl.h"
#include "base/banned.h"

int tmpl_to_json(const struct tmpl_val *v, cJSON **ret, struct op_err *reterr)
{
	return op_err_set(reterr, -ENOSYS, "not implemented");
}

void tmpl_funcs_add_data(struct tmpl_funcs *f)
{
}

int tmpl_to_yaml(const struct tmpl_val *v, struct buf *out, struct op_err *reterr)
{
	return -ENOSYS;
}

int tmpl_to_json_text(const struct tmpl_val *v, bool escape_html, struct buf *out,
		      struct op_err *reterr)
{
	return -ENOSYS;
}

int tmpl_parse_json(struct tmpl_arena *a, const char *s, size_t n, struct tmpl_val *ret,
		    struct op_err *reterr)
{
	return -ENOSYS;
}
