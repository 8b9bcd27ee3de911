/*
 * utf8.c: Go's unicode/utf8 (see utf8.h).
 */
#include "base/utf8.h"
#include "base/banned.h"

size_t utf8_decode(const char *s, size_t n, uint32_t *ret)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t c;
	size_t len;

	if (n == 0) {
		*ret = UTF8_RUNE_ERROR;
		return 0;
	}
	c = p[0];
	if (c < 0x80) {
		*ret = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		c &= 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		c &= 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		c &= 0x07;
	} else {
		goto bad;
	}
	if (n < len)
		goto bad;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			goto bad;
		/* utf8's accept ranges for the second byte: no overlong form, surrogate or rune past U+10FFFF. */
		if (i == 1) {
			if (p[0] == 0xE0 && p[1] < 0xA0)
				goto bad;
			if (p[0] == 0xED && p[1] > 0x9F)
				goto bad;
			if (p[0] == 0xF0 && p[1] < 0x90)
				goto bad;
			if (p[0] == 0xF4 && p[1] > 0x8F)
				goto bad;
		}
		c = (c << 6) | (p[i] & 0x3F);
	}
	*ret = c;
	return len;
bad:
	*ret = UTF8_RUNE_ERROR;
	return 1;
}

size_t utf8_decode_last(const char *s, size_t n, uint32_t *ret)
{
	size_t start = n - 1, lim = n > 4 ? n - 4 : 0;
	uint32_t c;

	if ((unsigned char)s[start] < 0x80) {
		*ret = (unsigned char)s[start];
		return 1;
	}
	/* Back up over continuation bytes, at most UTFMax-1 of them. */
	while (start > lim && ((unsigned char)s[start] & 0xC0) == 0x80)
		start--;
	if (utf8_decode(s + start, n - start, &c) != n - start) {
		*ret = UTF8_RUNE_ERROR;
		return 1;
	}
	*ret = c;
	return n - start;
}

bool utf8_valid(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t w;

		if ((unsigned char)s[i] < 0x80) {
			i++;
			continue;
		}
		w = utf8_valid_at(s + i, n - i);
		if (w == 0)
			return false;
		i += w;
	}
	return true;
}

int utf8_add(struct buf *out, uint32_t r)
{
	char b[4];

	if (r > UTF8_MAX_RUNE || (r >= 0xD800 && r <= 0xDFFF))
		r = UTF8_RUNE_ERROR;
	if (r < 0x80)
		return buf_addch(out, (char)r);
	if (r < 0x800) {
		b[0] = (char)(0xC0 | (r >> 6));
		b[1] = (char)(0x80 | (r & 0x3F));
		return buf_add(out, b, 2);
	}
	if (r < 0x10000) {
		b[0] = (char)(0xE0 | (r >> 12));
		b[1] = (char)(0x80 | ((r >> 6) & 0x3F));
		b[2] = (char)(0x80 | (r & 0x3F));
		return buf_add(out, b, 3);
	}
	b[0] = (char)(0xF0 | (r >> 18));
	b[1] = (char)(0x80 | ((r >> 12) & 0x3F));
	b[2] = (char)(0x80 | ((r >> 6) & 0x3F));
	b[3] = (char)(0x80 | (r & 0x3F));
	return buf_add(out, b, 4);
}
