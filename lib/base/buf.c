/*
 * buf.c: bounded growable buffer (see buf.h).
 *
 * DESIGN
 * `alloc` counts the bytes allocated including room for the terminating
 * NUL; `alloc == 0` means buf points at buf__empty and nothing is owned.
 * Growth doubles, capped at max + 1, so a buffer never allocates more than
 * one byte past its maximum.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/banned.h"

char buf__empty[1];

void buf_init(struct buf *b, size_t max)
{
	b->buf = buf__empty;
	b->len = 0;
	b->alloc = 0;
	b->max = max;
}

void buf_release(struct buf *b)
{
	if (!b)
		return;
	if (b->alloc)
		free(b->buf);
	buf_init(b, b->max);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->alloc)
		b->buf[0] = '\0';
}

char *buf_detach(struct buf *b, size_t *ret_len)
{
	char *p;

	if (ret_len)
		*ret_len = b->len;
	p = b->alloc ? b->buf : xstrdup("");
	buf_init(b, b->max);
	return p;
}

int buf_grow(struct buf *b, size_t extra)
{
	size_t need, n;

	if (extra > b->max || b->len > b->max - extra)
		return -EFBIG;
	need = b->len + extra + 1;
	if (need <= b->alloc)
		return 0;
	n = b->alloc ? b->alloc : 64;
	while (n < need)
		n = n > SIZE_MAX / 2 ? need : n * 2;
	/* max == SIZE_MAX ("no limit") must not wrap max + 1 to 0 */
	if (b->max < SIZE_MAX && n > b->max + 1)
		n = b->max + 1;
	if (b->alloc) {
		b->buf = xrealloc(b->buf, n);
	} else {
		b->buf = xmalloc(n);
		b->buf[0] = '\0';
	}
	b->alloc = n;
	return 0;
}

int buf_add(struct buf *b, const void *data, size_t n)
{
	int r;

	if (n == 0)
		return 0;
	r = buf_grow(b, n);
	if (r < 0)
		return r;
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return 0;
}

int buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int buf_addch(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

int buf_add_uri_escaped(struct buf *b, const char *s, bool keep_slash)
{
	static const char digits[] = "0123456789ABCDEF";
	const unsigned char *p;
	int r = 0;

	for (p = (const unsigned char *)s; *p && r == 0; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.' || *p == '~' || (keep_slash && *p == '/')) {
			r = buf_addch(b, (char)*p);
		} else {
			char e[3] = { '%', digits[*p >> 4], digits[*p & 15] };

			r = buf_add(b, e, 3);
		}
	}
	return r;
}

int buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n, r;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return -EINVAL;
	r = buf_grow(b, (size_t)n);
	if (r < 0)
		return r;
	vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vaddf(b, fmt, ap);
	va_end(ap);
	return r;
}

void buf_truncate(struct buf *b, size_t len)
{
	if (len >= b->len)
		return;
	b->len = len;
	b->buf[len] = '\0';
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->buf, b->buf + n, b->len - n);
	b->len -= n;
	b->buf[b->len] = '\0';
}
