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

int tmpl_sprintf(struct buf *out, const char *format, size_t flen, const struct tmpl_val *args,
		 size_t nargs)
{
	return -ENOSYS;
}

int tmpl_sprint(struct buf *out, const struct tmpl_val *args, size_t nargs)
{
	return -ENOSYS;
}

int tmpl_sprintln(struct buf *out, const struct tmpl_val *args, size_t nargs)
{
	return -ENOSYS;
}

int tmpl_print_value(struct buf *out, const struct tmpl_val *v)
{
	return -ENOSYS;
}

int tmpl_quote(struct buf *out, const char *s, size_t n)
{
	return -ENOSYS;
}

int tmpl_format_float(struct buf *out, double v, char fmt, int prec, int bits)
{
	return -ENOSYS;
}

struct tmpl_funcs *tmpl_funcs_new(void)
{
	return xnew0(struct tmpl_funcs, 1);
}

struct tmpl_funcs *tmpl_funcs_free(struct tmpl_funcs *f)
{
	free(f);
	return NULL;
}

int tmpl_funcs_add(struct tmpl_funcs *f, const char *name, const char *params, tmpl_fn fn,
		   void *payload)
{
	return 0;
}

int tmpl_funcs_remove(struct tmpl_funcs *f, const char *name)
{
	return -ENOENT;
}

bool tmpl_funcs_has(const struct tmpl_funcs *f, const char *name)
{
	return false;
}

void tmpl_funcs_add_data(struct tmpl_funcs *f)
{
}

struct tmpl_set *tmpl_set_new(const struct tmpl_funcs *f, const struct tmpl_set_opts *opts)
{
	return xnew0(struct tmpl_set, 1);
}

struct tmpl_set *tmpl_set_free(struct tmpl_set *s)
{
	free(s);
	return NULL;
}

void tmpl_error_release(struct tmpl_error *e)
{
}

int tmpl_set_parse(struct tmpl_set *s, const char *name, const char *text, size_t len,
		   struct tmpl_error *reterr)
{
	return -ENOSYS;
}

bool tmpl_set_has(const struct tmpl_set *s, const char *name)
{
	return false;
}

const char *tmpl_set_root_name(const struct tmpl_set *s)
{
	return "gotpl";
}

int tmpl_exec(const struct tmpl_set *s, const char *name, struct tmpl_val data,
	      const struct tmpl_exec_opts *opts, struct buf *out, struct tmpl_error *reterr)
{
	return -ENOSYS;
}

struct tmpl_arena *tmpl_ctx_arena(struct tmpl_ctx *ctx)
{
	return NULL;
}

void *tmpl_ctx_payload(const struct tmpl_ctx *ctx)
{
	return NULL;
}

const struct tmpl_set *tmpl_ctx_set(const struct tmpl_ctx *ctx)
{
	return NULL;
}

const char *tmpl_ctx_func_name(const struct tmpl_ctx *ctx)
{
	return "";
}

int tmpl_ctx_errorf(struct tmpl_ctx *ctx, const char *fmt, ...)
{
	return -EINVAL;
}

int tmpl_ctx_fail(struct tmpl_ctx *ctx, int code, const char *fmt, ...)
{
	return code;
}

const char *tmpl_ctx_message(const struct tmpl_ctx *ctx)
{
	return "";
}

int tmpl_ctx_reserve(struct tmpl_ctx *ctx, size_t n)
{
	return 0;
}

int tmpl_ctx_steps(struct tmpl_ctx *ctx, uint64_t n)
{
	return 0;
}

unsigned tmpl_ctx_depth(const struct tmpl_ctx *ctx)
{
	return 0;
}

unsigned tmpl_ctx_max_depth(const struct tmpl_ctx *ctx)
{
	return 0;
}

int tmpl_ctx_include(struct tmpl_ctx *ctx, const char *name, struct tmpl_val data,
		     struct tmpl_val *ret)
{
	return -ENOSYS;
}

int tmpl_ctx_tpl(struct tmpl_ctx *ctx, const char *text, size_t len, struct tmpl_val data,
		 struct tmpl_val *ret, bool *ret_parse_failed)
{
	return -ENOSYS;
}

int tmpl_ctx_call(struct tmpl_ctx *ctx, const char *name, const struct tmpl_val *args,
		  size_t nargs, struct tmpl_val *ret)
{
	return -ENOSYS;
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
