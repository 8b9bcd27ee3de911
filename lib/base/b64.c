/*
 * b64.c: base64 encoding and decoding (see b64.h).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "base/buf.h"
#include "base/banned.h"

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int b64_decode(const char *in, char **ret, size_t *ret_len)
{
	size_t n = strlen(in), o = 0;
	char *out = xmalloc(n / 4 * 3 + 4);
	unsigned acc = 0;
	int bits = 0;

	for (; *in; in++) {
		int v;

		if (*in == '=' || *in == '\n' || *in == '\r' || *in == ' ' || *in == '\t')
			continue;
		v = b64val((unsigned char)*in);
		if (v < 0) {
			free(out);
			return -EINVAL;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[o] = '\0';
	*ret = out;
	if (ret_len)
		*ret_len = o;
	return 0;
}

int b64_encode(const void *in, size_t n, struct buf *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = in;
	size_t i, o;
	int r;

	if (n / 3 + 1 > (SIZE_MAX - out->len) / 4)
		return -EFBIG;
	r = buf_grow(out, (n + 2) / 3 * 4);
	if (r < 0)
		return r;
	o = out->len;
	for (i = 0; i + 3 <= n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];

		out->buf[o++] = tab[v >> 18];
		out->buf[o++] = tab[(v >> 12) & 63];
		out->buf[o++] = tab[(v >> 6) & 63];
		out->buf[o++] = tab[v & 63];
	}
	if (i < n) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0);

		out->buf[o++] = tab[v >> 18];
		out->buf[o++] = tab[(v >> 12) & 63];
		out->buf[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out->buf[o++] = '=';
	}
	out->buf[o] = '\0';
	out->len = o;
	return 0;
}
