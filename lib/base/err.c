/*
 * err.c: filling struct op_err, and a thread-safe errno table.
 *
 * strerror() is not thread-safe and strerror_r() has two incompatible
 * signatures, so op_strerror() returns glibc's static, immutable
 * descriptions through strerrordesc_np() and lower-cases nothing: callers
 * print them after a colon, as git does.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/banned.h"

static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

int op_err_set(struct op_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return code;
	memset(e, 0, sizeof(*e));
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	sanitize(e->msg);
	return code;
}

int op_err_prefix(struct op_err *e, const char *fmt, ...)
{
	char ctx[sizeof(e->msg)], old[sizeof(e->msg)];
	va_list ap;

	if (!e)
		return -EIO;
	if (!e->code)
		e->code = -EIO;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	if (old[0])
		snprintf(e->msg, sizeof(e->msg), "%s: %s", ctx, old);
	else
		snprintf(e->msg, sizeof(e->msg), "%s", ctx);
	sanitize(e->msg);
	return e->code;
}

void op_err_clear(struct op_err *e)
{
	if (e)
		memset(e, 0, sizeof(*e));
}

const char *op_strerror(int code)
{
	const char *s;

	if (code < 0)
		code = -code;
	s = strerrordesc_np(code);
	return s ? s : "unknown error";
}
