/*
 * alloc.c: abort-on-OOM allocation (see alloc.h for the ownership rules).
 *
 * An allocation failure writes one JSON line to stderr with write(2), which
 * needs no memory, and aborts.  Sizes multiply through xalloc__mul(), which
 * treats overflow as out of memory rather than wrapping round.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/banned.h"

static _noreturn_ void oom(size_t n)
{
	char line[128];
	int len = snprintf(line, sizeof(line),
			   "{\"level\":\"fatal\",\"msg\":\"Out of memory\",\"size\":%zu}\n", n);

	if (len > 0 && write(STDERR_FILENO, line, (size_t)len) < 0) {
		/* Nothing left to report to. */
	}
	abort();
}

_noreturn_ void op__assert_fail(const char *expr, const char *file, int line, const char *func)
{
	char buf[512];
	int len = snprintf(buf, sizeof(buf),
			   "{\"level\":\"fatal\",\"msg\":\"Assertion failed\",\"expr\":\"%s\","
			   "\"file\":\"%s\",\"line\":%d,\"func\":\"%s\"}\n",
			   expr, file, line, func);

	if (len > 0 && write(STDERR_FILENO, buf, (size_t)MIN((size_t)len, sizeof(buf) - 1)) < 0) {
		/* Nothing left to report to. */
	}
	abort();
}

size_t xalloc__mul(size_t a, size_t b)
{
	size_t r;

	if (__builtin_mul_overflow(a, b, &r))
		oom(SIZE_MAX);
	return r;
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom(n);
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!p)
		oom(xalloc__mul(nmemb, size));
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		oom(n);
	return q;
}

char *xstrdup(const char *s)
{
	return xmemdup(s, strlen(s) + 1);
}

char *xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void *xmemdup(const void *p, size_t n)
{
	void *q = xmalloc(n);

	memcpy(q, p, n);
	return q;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom(0);
	return s;
}
