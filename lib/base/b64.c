/*
 * b64.c: base64 (see b64.h).
 */
#include <errno.h>
#include <string.h>

#include "base/alloc.h"
#include "base/b64.h"
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

char *b64_encode(const void *in, size_t n)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = in;
	char *out = xmalloc((n + 2) / 3 * 4 + 1), *o = out;
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		*o++ = alphabet[p[i] >> 2];
		*o++ = alphabet[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		*o++ = alphabet[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
		*o++ = alphabet[p[i + 2] & 63];
	}
	if (i < n) {
		*o++ = alphabet[p[i] >> 2];
		if (i + 1 < n) {
			*o++ = alphabet[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
			*o++ = alphabet[(p[i + 1] & 15) << 2];
		} else {
			*o++ = alphabet[(p[i] & 3) << 4];
			*o++ = '=';
		}
		*o++ = '=';
	}
	*o = '\0';
	return out;
}
