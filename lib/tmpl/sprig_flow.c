/*
 * sprig_flow.c: Sprig's defaults and flow (defaults.go), type reflection
 * (reflect.go), encodings (base64/base32 as Go's encoding packages
 * decode them, errors included), JSON helpers, Go's `path` functions
 * (`filepath` is the same on Linux), net/url's Parse and String for
 * urlParse/urlJoin, and the network stub.
 *
 * DESIGN
 * "Empty" is template falseness (tmpl_truth), which is what Sprig's
 * reflect-based empty() computes.  The URL code follows net/url's parse
 * and String step by step (scheme, opaque, authority with userinfo and
 * port checks, percent-decoding per component, shouldEscape's tables);
 * IPv6 zones and the less common validity checks of hosts are kept
 * simple (see the checks below).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "tmpl/sprig.h"
#include "tmpl/tmpl.h"
#include "base/str.h"
#include "base/banned.h"

/* ---------------------------------------------------------------- defaults */

SPRIG_FN(fn_hello)
{
	*ret = tmpl_str_ref("Hello!", 6);
	return 0;
}

SPRIG_FN(fn_default)
{
	*ret = n < 2 || !tmpl_truth(&a[1]) ? a[0] : a[1];
	return 0;
}

SPRIG_FN(fn_empty)
{
	*ret = tmpl_bool(!tmpl_truth(&a[0]));
	return 0;
}

SPRIG_FN(fn_coalesce)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (tmpl_truth(&a[i])) {
			*ret = a[i];
			return 0;
		}
	*ret = tmpl_nil();
	return 0;
}

SPRIG_FN(fn_all)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!tmpl_truth(&a[i])) {
			*ret = tmpl_bool(false);
			return 0;
		}
	*ret = tmpl_bool(true);
	return 0;
}

SPRIG_FN(fn_any)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (tmpl_truth(&a[i])) {
			*ret = tmpl_bool(true);
			return 0;
		}
	*ret = tmpl_bool(false);
	return 0;
}

SPRIG_FN(fn_ternary)
{
	*ret = a[2].b ? a[0] : a[1];
	return 0;
}

SPRIG_FN(fn_fail)
{
	return tmpl_ctx_errorf(ctx, "%.*s", (int)a[0].s.n, a[0].s.p);
}

/* ---------------------------------------------------------------- reflection */

SPRIG_FN(fn_type_of)
{
	*ret = tmpl_strz(tmpl_ctx_arena(ctx), tmpl_type_name(&a[0]));
	return 0;
}

SPRIG_FN(fn_type_is)
{
	const char *t = tmpl_type_name(&a[1]);

	*ret = tmpl_bool(strlen(t) == a[0].s.n && memcmp(t, a[0].s.p, a[0].s.n) == 0);
	return 0;
}

SPRIG_FN(fn_type_is_like)
{
	const char *t = tmpl_type_name(&a[1]);
	size_t tl = strlen(t);

	*ret = tmpl_bool((tl == a[0].s.n && memcmp(t, a[0].s.p, tl) == 0) ||
			 (tl == a[0].s.n + 1 && t[0] == '*' && memcmp(t + 1, a[0].s.p, a[0].s.n) == 0));
	return 0;
}

SPRIG_FN(fn_kind_of)
{
	*ret = tmpl_strz(tmpl_ctx_arena(ctx), tmpl_kind_name(&a[0]));
	return 0;
}

SPRIG_FN(fn_kind_is)
{
	const char *k = tmpl_kind_name(&a[1]);

	*ret = tmpl_bool(strlen(k) == a[0].s.n && memcmp(k, a[0].s.p, a[0].s.n) == 0);
	return 0;
}

SPRIG_FN(fn_deep_equal)
{
	*ret = tmpl_bool(tmpl_deep_equal(&a[0], &a[1]));
	return 0;
}

/* ---------------------------------------------------------------- encodings */

static const char b64_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b32_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

SPRIG_FN(fn_b64enc)
{
	const unsigned char *s = (const unsigned char *)a[0].s.p;
	size_t len = a[0].s.n, i;
	struct buf b;
	int r = 0;

	sprig_buf_init(ctx, &b);
	for (i = 0; i + 2 < len && r == 0; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		char q[4] = { b64_alpha[v >> 18], b64_alpha[(v >> 12) & 63], b64_alpha[(v >> 6) & 63], b64_alpha[v & 63] };

		r = buf_add(&b, q, 4);
	}
	if (r == 0 && len - i == 1) {
		char q[4] = { b64_alpha[s[i] >> 2], b64_alpha[(s[i] & 3) << 4], '=', '=' };

		r = buf_add(&b, q, 4);
	} else if (r == 0 && len - i == 2) {
		uint32_t v = (uint32_t)s[i] << 8 | s[i + 1];
		char q[4] = { b64_alpha[v >> 10], b64_alpha[(v >> 4) & 63], b64_alpha[(v & 15) << 2], '=' };

		r = buf_add(&b, q, 4);
	}
	if (r < 0) {
		buf_release(&b);
		return sprig_oom(ctx);
	}
	return sprig_ret_buf(ctx, &b, ret);
}

static int b64_val(unsigned char c)
{
	const char *p = c ? strchr(b64_alpha, c) : NULL;

	return p ? (int)(p - b64_alpha) : -1;
}

/* encoding/base64 StdEncoding.DecodeString: -1 and *bad = Go's error offset. */
static int b64_decode_go(const char *src, size_t n, struct buf *out, size_t *bad)
{
	size_t si = 0;

	for (;;) {
		int dbuf[4] = { 0 }, dlen = 4, j;
		uint32_t val;

		for (j = 0; j < 4; j++) {
			unsigned char in;
			int v;

			if (si == n) {
				if (j == 0)
					return 0;
				*bad = si - (size_t)j;
				return -1;
			}
			in = (unsigned char)src[si++];
			v = b64_val(in);
			if (v >= 0) {
				dbuf[j] = v;
				continue;
			}
			if (in == '\n' || in == '\r') {
				j--;
				continue;
			}
			if (in != '=' || j < 2) {
				*bad = si - 1;
				return -1;
			}
			if (j == 2) {
				while (si < n && (src[si] == '\n' || src[si] == '\r'))
					si++;
				if (si == n) {
					*bad = n;
					return -1;
				}
				if (src[si] != '=') {
					*bad = si - 1;
					return -1;
				}
				si++;
			}
			while (si < n && (src[si] == '\n' || src[si] == '\r'))
				si++;
			if (si < n) {
				*bad = si;
				return -1;
			}
			dlen = j;
			break;
		}
		val = (uint32_t)dbuf[0] << 18 | (uint32_t)dbuf[1] << 12 | (uint32_t)dbuf[2] << 6 | (uint32_t)dbuf[3];
		if (buf_addch(out, (char)(val >> 16)) < 0 || (dlen > 2 && buf_addch(out, (char)(val >> 8)) < 0) ||
		    (dlen > 3 && buf_addch(out, (char)val) < 0))
			return -EFBIG;
		if (dlen < 4)
			return 0;
	}
}

/* b64dec/b32dec: the decoded text, or the decoder's error text as the result. */
static int decode_ret(struct tmpl_ctx *ctx, const struct tmpl_val *s,
		      int (*dec)(const char *src, size_t n, struct buf *out, size_t *bad), const char *name,
		      struct tmpl_val *ret)
{
	struct buf b;
	size_t bad = 0;
	int r;

	sprig_buf_init(ctx, &b);
	r = dec(s->s.p, s->s.n, &b, &bad);
	if (r == -EFBIG) {
		buf_release(&b);
		return sprig_oom(ctx);
	}
	if (r < 0) {
		buf_release(&b);
		*ret = sprig_strf(tmpl_ctx_arena(ctx), "illegal %s data at input byte %zu", name, bad);
		return 0;
	}
	return sprig_ret_buf(ctx, &b, ret);
}

SPRIG_FN(fn_b64dec)
{
	return decode_ret(ctx, &a[0], b64_decode_go, "base64", ret);
}

SPRIG_FN(fn_b32enc)
{
	const unsigned char *s = (const unsigned char *)a[0].s.p;
	size_t len = a[0].s.n, i, k;
	struct buf b;
	int r = 0;

	sprig_buf_init(ctx, &b);
	for (i = 0; i < len && r == 0; i += 5) {
		unsigned char blk[5] = { 0 };
		size_t take = len - i < 5 ? len - i : 5, chars = (take * 8 + 4) / 5;
		uint64_t v = 0;

		memcpy(blk, s + i, take);
		for (k = 0; k < 5; k++)
			v = v << 8 | blk[k];
		for (k = 0; k < 8 && r == 0; k++)
			r = buf_addch(&b, k < chars ? b32_alpha[(v >> (35 - 5 * k)) & 31] : '=');
	}
	if (r < 0) {
		buf_release(&b);
		return sprig_oom(ctx);
	}
	return sprig_ret_buf(ctx, &b, ret);
}

/*
 * encoding/base32 StdEncoding.DecodeString (newlines ignored; padding
 * required): -1 and *bad = the offset Go reports.
 */
static int b32_decode_go(const char *src, size_t n, struct buf *out, size_t *bad)
{
	char clean[8];
	size_t si = 0, olen = 0;

	while (si < n) {
		int dbuf[8] = { 0 }, dlen = 8, j;
		uint64_t v = 0;
		static const int keep[] = { 0, 0, 1, 0, 2, 3, 0, 4, 5 };

		for (j = 0; j < 8;) {
			unsigned char in;
			const char *p;

			if (si == n) {
				*bad = olen - (size_t)j;
				return -1;
			}
			in = (unsigned char)src[si++];
			if (in == '\n' || in == '\r')
				continue;
			olen++;
			if (in == '=' && j >= 2) {
				/* Padding: the rest of this quantum must be '=' and end the input. */
				size_t k;

				for (k = (size_t)j; k < 8; k++) {
					if (k > (size_t)j) {
						while (si < n && (src[si] == '\n' || src[si] == '\r'))
							si++;
						if (si == n || src[si] != '=') {
							*bad = olen - 1 + (k - (size_t)j);
							(void)clean;
							return -1;
						}
						si++;
						olen++;
					}
				}
				while (si < n && (src[si] == '\n' || src[si] == '\r'))
					si++;
				if (si < n || keep[j] == 0 || (j != 2 && j != 4 && j != 5 && j != 7)) {
					*bad = olen - 1;
					return -1;
				}
				dlen = j;
				break;
			}
			p = in ? strchr(b32_alpha, in) : NULL;
			if (!p) {
				*bad = olen - 1;
				return -1;
			}
			dbuf[j++] = (int)(p - b32_alpha);
		}
		for (j = 0; j < 8; j++)
			v = v << 5 | (uint64_t)dbuf[j];
		for (j = 0; j < (dlen == 8 ? 5 : keep[dlen]); j++)
			if (buf_addch(out, (char)(v >> (32 - 8 * j))) < 0)
				return -EFBIG;
		if (dlen < 8)
			return 0;
	}
	return 0;
}

SPRIG_FN(fn_b32dec)
{
	return decode_ret(ctx, &a[0], b32_decode_go, "base32", ret);
}

/* ---------------------------------------------------------------- JSON */

/* encoding/json's Indent with prefix "" and indent "  " over compact JSON. */
static int json_indent(const char *s, size_t n, struct buf *out)
{
	size_t i, depth = 0, k;
	bool in_str = false, esc = false, need_indent = false;
	int r = 0;

	for (i = 0; i < n && r == 0; i++) {
		char c = s[i];

		if (in_str) {
			r = buf_addch(out, c);
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (need_indent && c != ']' && c != '}') {
			need_indent = false;
			depth++;
			r = buf_addch(out, '\n');
			for (k = 0; r == 0 && k < depth; k++)
				r = buf_adds(out, "  ");
		}
		if (r < 0)
			break;
		switch (c) {
		case '"':
			in_str = true;
			r = buf_addch(out, c);
			break;
		case '{':
		case '[':
			need_indent = true;
			r = buf_addch(out, c);
			break;
		case ',':
			r = buf_addch(out, c);
			if (r == 0)
				r = buf_addch(out, '\n');
			for (k = 0; r == 0 && k < depth; k++)
				r = buf_adds(out, "  ");
			break;
		case ':':
			r = buf_adds(out, ": ");
			break;
		case '}':
		case ']':
			if (need_indent) {
				need_indent = false; /* "{}" and "[]" stay compact */
			} else {
				depth--;
				r = buf_addch(out, '\n');
				for (k = 0; r == 0 && k < depth; k++)
					r = buf_adds(out, "  ");
			}
			if (r == 0)
				r = buf_addch(out, c);
			break;
		default:
			r = buf_addch(out, c);
		}
	}
	return r;
}

/* json.Marshal variants: mode 0 compact, 1 indented, 2 raw (no HTML escaping). */
static int to_json(struct tmpl_ctx *ctx, const struct tmpl_val *v, int mode, bool must, struct tmpl_val *ret)
{
	struct op_err err = OP_ERR_INIT;
	struct buf b, ind;
	int r;

	sprig_buf_init(ctx, &b);
	r = tmpl_to_json_text(v, mode != 2, &b, &err);
	if (r == -EFBIG) {
		buf_release(&b);
		return sprig_oom(ctx);
	}
	if (r < 0) {
		buf_release(&b);
		if (must || mode == 2)
			return tmpl_ctx_errorf(ctx, "%s", err.msg);
		*ret = tmpl_str_ref("", 0);
		return 0;
	}
	if (mode != 1)
		return sprig_ret_buf(ctx, &b, ret);
	sprig_buf_init(ctx, &ind);
	r = json_indent(b.buf, b.len, &ind);
	buf_release(&b);
	if (r < 0) {
		buf_release(&ind);
		return sprig_oom(ctx);
	}
	return sprig_ret_buf(ctx, &ind, ret);
}

SPRIG_FN(fn_to_json)
{
	return to_json(ctx, &a[0], 0, false, ret);
}

SPRIG_FN(fn_must_to_json)
{
	return to_json(ctx, &a[0], 0, true, ret);
}

SPRIG_FN(fn_to_pretty_json)
{
	return to_json(ctx, &a[0], 1, false, ret);
}

SPRIG_FN(fn_must_to_pretty_json)
{
	return to_json(ctx, &a[0], 1, true, ret);
}

SPRIG_FN(fn_to_raw_json)
{
	return to_json(ctx, &a[0], 2, true, ret);
}

static int from_json(struct tmpl_ctx *ctx, const struct tmpl_val *s, bool must, struct tmpl_val *ret)
{
	struct op_err err = OP_ERR_INIT;

	if (tmpl_parse_json(tmpl_ctx_arena(ctx), s->s.p, s->s.n, ret, &err) < 0) {
		if (must)
			return tmpl_ctx_errorf(ctx, "%s", err.msg);
		*ret = tmpl_nil();
	}
	return 0;
}

SPRIG_FN(fn_from_json)
{
	return from_json(ctx, &a[0], false, ret);
}

SPRIG_FN(fn_must_from_json)
{
	return from_json(ctx, &a[0], true, ret);
}

/* ---------------------------------------------------------------- paths */

/* Go's path.Clean. */
static int path_clean_go(const char *p, size_t n, struct buf *out)
{
	bool rooted = n > 0 && p[0] == '/';
	size_t r = 0, dotdot = 0;

	buf_reset(out);
	if (n == 0)
		return buf_addch(out, '.');
	if (rooted) {
		if (buf_addch(out, '/') < 0)
			return -EFBIG;
		r = dotdot = 1;
	}
	while (r < n) {
		if (p[r] == '/') {
			r++;
		} else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/')) {
			r++;
		} else if (p[r] == '.' && p[r + 1] == '.' && (r + 2 == n || p[r + 2] == '/')) {
			r += 2;
			if (out->len > dotdot) {
				size_t w = out->len - 1;

				while (w > dotdot && out->buf[w] != '/')
					w--;
				buf_truncate(out, w);
			} else if (!rooted) {
				if (out->len > 0 && buf_addch(out, '/') < 0)
					return -EFBIG;
				if (buf_adds(out, "..") < 0)
					return -EFBIG;
				dotdot = out->len;
			}
		} else {
			if (((rooted && out->len != 1) || (!rooted && out->len != 0)) && buf_addch(out, '/') < 0)
				return -EFBIG;
			for (; r < n && p[r] != '/'; r++)
				if (buf_addch(out, p[r]) < 0)
					return -EFBIG;
		}
	}
	if (out->len == 0)
		return buf_addch(out, '.');
	return 0;
}

SPRIG_FN(fn_clean)
{
	struct buf b;

	sprig_buf_init(ctx, &b);
	if (path_clean_go(a[0].s.p, a[0].s.n, &b) < 0) {
		buf_release(&b);
		return sprig_oom(ctx);
	}
	return sprig_ret_buf(ctx, &b, ret);
}

SPRIG_FN(fn_base)
{
	const char *p = a[0].s.p;
	size_t len = a[0].s.n, i;

	if (len == 0)
		return sprig_ret_str(ctx, ".", 1, ret);
	while (len > 0 && p[len - 1] == '/')
		len--;
	if (len == 0)
		return sprig_ret_str(ctx, "/", 1, ret);
	for (i = len; i > 0 && p[i - 1] != '/'; i--)
		;
	return sprig_ret_str(ctx, p + i, len - i, ret);
}

SPRIG_FN(fn_dir)
{
	const char *p = a[0].s.p;
	size_t i = a[0].s.n;
	struct buf b;

	while (i > 0 && p[i - 1] != '/')
		i--;
	sprig_buf_init(ctx, &b);
	if (path_clean_go(p, i, &b) < 0) {
		buf_release(&b);
		return sprig_oom(ctx);
	}
	return sprig_ret_buf(ctx, &b, ret);
}

SPRIG_FN(fn_ext)
{
	const char *p = a[0].s.p;
	size_t i;

	for (i = a[0].s.n; i > 0 && p[i - 1] != '/'; i--)
		if (p[i - 1] == '.')
			return sprig_ret_str(ctx, p + i - 1, a[0].s.n - (i - 1), ret);
	return sprig_ret_str(ctx, "", 0, ret);
}

SPRIG_FN(fn_is_abs)
{
	*ret = tmpl_bool(a[0].s.n > 0 && a[0].s.p[0] == '/');
	return 0;
}

/* ---------------------------------------------------------------- URLs */

enum url_mode { ENC_PATH, ENC_PATH_SEGMENT, ENC_HOST, ENC_ZONE, ENC_USER, ENC_QUERY, ENC_FRAGMENT };

/* net/url's shouldEscape. */
static bool should_escape(unsigned char c, enum url_mode m)
{
	if (isalnum(c))
		return false;
	if ((m == ENC_HOST || m == ENC_ZONE) && strchr("!$&'()*+,;=:[]<>\"", c) && c)
		return false;
	switch (c) {
	case '-':
	case '_':
	case '.':
	case '~':
		return false;
	case '$':
	case '&':
	case '+':
	case ',':
	case '/':
	case ':':
	case ';':
	case '=':
	case '?':
	case '@':
		switch (m) {
		case ENC_PATH:
			return c == '?';
		case ENC_PATH_SEGMENT:
			return c == '/' || c == ';' || c == ',' || c == '?';
		case ENC_USER:
			return c == '@' || c == '/' || c == '?' || c == ':';
		case ENC_QUERY:
			return true;
		case ENC_FRAGMENT:
			return false;
		default:
			break;
		}
		break;
	default:
		break;
	}
	if (m == ENC_FRAGMENT && (c == '!' || c == '(' || c == ')' || c == '*'))
		return false;
	return true;
}

static int url_escape(struct buf *b, const char *s, size_t n, enum url_mode m)
{
	size_t i;
	int r = 0;

	for (i = 0; i < n && r == 0; i++) {
		unsigned char c = (unsigned char)s[i];

		if (should_escape(c, m))
			r = buf_addf(b, "%%%c%c", "0123456789ABCDEF"[c >> 4], "0123456789ABCDEF"[c & 15]);
		else
			r = buf_addch(b, (char)c);
	}
	return r;
}

/* net/url's unescape; on a bad escape stores Go's error text in *err. */
static int url_unescape(const char *s, size_t n, enum url_mode m, struct buf *out, char **err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '%') {
			int hi = i + 2 < n ? str_hexval((unsigned char)s[i + 1]) : -1;
			int lo = i + 2 < n ? str_hexval((unsigned char)s[i + 2]) : -1;

			if (hi < 0 || lo < 0) {
				size_t k = n - i < 3 ? n - i : 3;

				*err = xasprintf("invalid URL escape \"%.*s\"", (int)k, s + i);
				return -EINVAL;
			}
			if (buf_addch(out, (char)(hi << 4 | lo)) < 0)
				return -EFBIG;
			i += 2;
			continue;
		}
		if (m == ENC_HOST && (unsigned char)s[i] < 0x80 && should_escape((unsigned char)s[i], ENC_HOST)) {
			*err = xasprintf("invalid character \"%c\" in host name", s[i]);
			return -EINVAL;
		}
		if (buf_addch(out, s[i]) < 0)
			return -EFBIG;
	}
	return 0;
}

struct url {
	struct buf scheme, opaque, user, pass, host, path, query, fragment;
	bool has_user, has_pass;
};

static void url_init(struct tmpl_ctx *ctx, struct url *u)
{
	sprig_buf_init(ctx, &u->scheme);
	sprig_buf_init(ctx, &u->opaque);
	sprig_buf_init(ctx, &u->user);
	sprig_buf_init(ctx, &u->pass);
	sprig_buf_init(ctx, &u->host);
	sprig_buf_init(ctx, &u->path);
	sprig_buf_init(ctx, &u->query);
	sprig_buf_init(ctx, &u->fragment);
	u->has_user = u->has_pass = false;
}

static void url_release(struct url *u)
{
	buf_release(&u->scheme);
	buf_release(&u->opaque);
	buf_release(&u->user);
	buf_release(&u->pass);
	buf_release(&u->host);
	buf_release(&u->path);
	buf_release(&u->query);
	buf_release(&u->fragment);
}

/* net/url's Parse (not via a request); on failure *err has the cause. */
static int url_parse(const char *s, size_t n, struct url *u, char **err)
{
	const char *hash = memchr(s, '#', n), *rest, *end, *q;
	size_t i, rl;
	int r;

	if (hash) {
		r = url_unescape(hash + 1, (size_t)(s + n - hash - 1), ENC_FRAGMENT, &u->fragment, err);
		if (r < 0)
			return r;
		n = (size_t)(hash - s);
	}
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			*err = xstrdup("net/url: invalid control character in URL");
			return -EINVAL;
		}
	if (n == 1 && s[0] == '*')
		return buf_addch(&u->path, '*');
	/* getScheme */
	rest = s;
	rl = n;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (isalpha((unsigned char)c))
			continue;
		if (isdigit((unsigned char)c) || c == '+' || c == '-' || c == '.') {
			if (i == 0)
				break;
			continue;
		}
		if (c == ':') {
			if (i == 0) {
				*err = xstrdup("missing protocol scheme");
				return -EINVAL;
			}
			for (size_t k = 0; k < i; k++)
				if (buf_addch(&u->scheme, (char)tolower((unsigned char)s[k])) < 0)
					return -EFBIG;
			rest = s + i + 1;
			rl = n - i - 1;
		}
		break;
	}
	end = rest + rl;
	q = memchr(rest, '?', rl);
	if (q) {
		if (buf_add(&u->query, q + 1, (size_t)(end - q - 1)) < 0)
			return -EFBIG;
		end = q;
		rl = (size_t)(end - rest);
	}
	if (rl == 0 || rest[0] != '/') {
		const char *slash, *colon;

		if (u->scheme.len) {
			if (buf_add(&u->opaque, rest, rl) < 0)
				return -EFBIG;
			return 0;
		}
		slash = memchr(rest, '/', rl);
		colon = memchr(rest, ':', slash ? (size_t)(slash - rest) : rl);
		if (colon) {
			*err = xstrdup("first path segment in URL cannot contain colon");
			return -EINVAL;
		}
	}
	if ((u->scheme.len || !(rl >= 3 && memcmp(rest, "///", 3) == 0)) && rl >= 2 && memcmp(rest, "//", 2) == 0) {
		const char *auth = rest + 2, *aend = memchr(auth, '/', rl - 2), *at = NULL, *host, *p;

		if (!aend)
			aend = end;
		for (p = auth; p < aend; p++)
			if (*p == '@')
				at = p;
		host = at ? at + 1 : auth;
		if (at) {
			const char *colon = memchr(auth, ':', (size_t)(at - auth));

			for (p = auth; p < at; p++)
				if (!isalnum((unsigned char)*p) && !strchr("-._:~!$&'()*+,;=%@", *p)) {
					*err = xstrdup("net/url: invalid userinfo");
					return -EINVAL;
				}
			u->has_user = true;
			if ((r = url_unescape(auth, colon ? (size_t)(colon - auth) : (size_t)(at - auth), ENC_USER, &u->user, err)) < 0)
				return r;
			if (colon) {
				u->has_pass = true;
				if ((r = url_unescape(colon + 1, (size_t)(at - colon - 1), ENC_USER, &u->pass, err)) < 0)
					return r;
			}
		}
		if (host < aend && *host == '[') {
			const char *close = memchr(host, ']', (size_t)(aend - host));

			if (!close) {
				*err = xstrdup("missing ']' in host");
				return -EINVAL;
			}
			/* After "]": nothing, or ":" and digits (validOptionalPort). */
			bool port_ok = close + 1 == aend || close[1] == ':';

			for (p = close + 2; port_ok && p < aend; p++)
				port_ok = isdigit((unsigned char)*p);
			if (!port_ok) {
				*err = xasprintf("invalid port \"%.*s\" after host", (int)(aend - close - 1), close + 1);
				return -EINVAL;
			}
		} else {
			const char *colon = NULL;

			for (p = host; p < aend; p++)
				if (*p == ':')
					colon = p;
			if (colon)
				for (p = colon + 1; p < aend; p++)
					if (!isdigit((unsigned char)*p)) {
						*err = xasprintf("invalid port \"%.*s\" after host", (int)(aend - colon), colon);
						return -EINVAL;
					}
		}
		if ((r = url_unescape(host, (size_t)(aend - host), ENC_HOST, &u->host, err)) < 0)
			return r;
		rl -= (size_t)(aend - rest);
		rest = aend;
	}
	return url_unescape(rest, rl, ENC_PATH, &u->path, err);
}

static void url_set(struct tmpl_map *m, const char *k, struct tmpl_arena *ar, const struct buf *b)
{
	tmpl_map_set(m, k, strlen(k), tmpl_str(ar, b->buf, b->len));
}

SPRIG_FN(fn_url_parse)
{
	struct tmpl_arena *ar = tmpl_ctx_arena(ctx);
	struct tmpl_map *m;
	struct url u;
	char *err = NULL;
	struct buf hn, ui;
	int r;

	url_init(ctx, &u);
	r = url_parse(a[0].s.p, a[0].s.n, &u, &err);
	if (r < 0) {
		url_release(&u);
		if (r == -EFBIG)
			return sprig_oom(ctx);
		r = tmpl_ctx_errorf(ctx, "unable to parse url: parse \"%.*s\": %s", (int)a[0].s.n, a[0].s.p, err);
		free(err);
		return r;
	}
	m = tmpl_map_new(ar, TMPL_NIL);
	url_set(m, "scheme", ar, &u.scheme);
	url_set(m, "host", ar, &u.host);
	sprig_buf_init(ctx, &hn);
	{
		/* Hostname(): the host without port and brackets. */
		const char *h = u.host.buf, *colon = NULL;
		size_t hl = u.host.len, k;

		if (hl && h[0] == '[') {
			const char *close = memchr(h, ']', hl);

			(void)buf_add(&hn, h + 1, close ? (size_t)(close - h - 1) : hl - 1);
		} else {
			for (k = 0; k < hl; k++)
				if (h[k] == ':')
					colon = h + k;
			(void)buf_add(&hn, h, colon ? (size_t)(colon - h) : hl);
		}
	}
	url_set(m, "hostname", ar, &hn);
	buf_release(&hn);
	url_set(m, "path", ar, &u.path);
	url_set(m, "query", ar, &u.query);
	url_set(m, "opaque", ar, &u.opaque);
	url_set(m, "fragment", ar, &u.fragment);
	sprig_buf_init(ctx, &ui);
	if (u.has_user) {
		(void)url_escape(&ui, u.user.buf, u.user.len, ENC_USER);
		if (u.has_pass) {
			(void)buf_addch(&ui, ':');
			(void)url_escape(&ui, u.pass.buf, u.pass.len, ENC_USER);
		}
	}
	url_set(m, "userinfo", ar, &ui);
	buf_release(&ui);
	url_release(&u);
	*ret = tmpl_map_val(m);
	return 0;
}

/* sprig's dictGetOrEmpty: a string value, "" when absent, a panic otherwise. */
static int dict_str(struct tmpl_ctx *ctx, const struct tmpl_map *m, const char *k, const char **s, size_t *n)
{
	struct tmpl_val *v = m ? tmpl_map_get(m, k, strlen(k)) : NULL;

	*s = "";
	*n = 0;
	if (!v)
		return 0;
	if (v->kind == TMPL_NIL)
		return tmpl_ctx_errorf(ctx, "runtime error: invalid memory address or nil pointer dereference");
	if (v->kind != TMPL_STRING)
		return tmpl_ctx_errorf(ctx, "unable to parse %s key, must be of type string, but %s found", k,
				       tmpl_kind_name(v));
	*s = v->s.p;
	*n = v->s.n;
	return 0;
}

SPRIG_FN(fn_url_join)
{
	static const char *const keys[] = { "scheme", "host", "path", "query", "opaque", "fragment", "userinfo" };
	const char *f[7];
	size_t fl[7], i;
	struct buf b;
	int r = 0;

	for (i = 0; i < 7; i++)
		if ((r = dict_str(ctx, a[0].m, keys[i], &f[i], &fl[i])) < 0)
			return r;
	sprig_buf_init(ctx, &b);
	if (fl[4]) {
		r = buf_add(&b, f[0], fl[0]);
		if (r == 0)
			r = buf_addch(&b, ':');
		if (r == 0)
			r = buf_add(&b, f[4], fl[4]);
	} else {
		struct buf path;

		if (fl[0])
			r = buf_add(&b, f[0], fl[0]) < 0 ? -EFBIG : buf_addch(&b, ':');
		if (r == 0 && (fl[0] || fl[1] || fl[6])) {
			if (fl[1] || fl[2] || fl[6])
				r = buf_adds(&b, "//");
			if (r == 0 && fl[6]) {
				/* userinfo goes through url.Parse("proto://U@host"): re-escaped. */
				struct url u;
				char *err = NULL;
				struct buf tmp;

				sprig_buf_init(ctx, &tmp);
				(void)buf_adds(&tmp, "proto://");
				(void)buf_add(&tmp, f[6], fl[6]);
				(void)buf_adds(&tmp, "@host");
				url_init(ctx, &u);
				r = url_parse(tmp.buf, tmp.len, &u, &err);
				buf_release(&tmp);
				if (r < 0) {
					url_release(&u);
					buf_release(&b);
					r = tmpl_ctx_errorf(ctx, "unable to parse userinfo in dict: parse \"proto://%.*s@host\": %s",
							    (int)fl[6], f[6], err ? err : "");
					free(err);
					return r;
				}
				r = url_escape(&b, u.user.buf, u.user.len, ENC_USER);
				if (r == 0 && u.has_pass) {
					r = buf_addch(&b, ':');
					if (r == 0)
						r = url_escape(&b, u.pass.buf, u.pass.len, ENC_USER);
				}
				if (r == 0)
					r = buf_addch(&b, '@');
				url_release(&u);
			}
			if (r == 0 && fl[1])
				r = url_escape(&b, f[1], fl[1], ENC_HOST);
		}
		sprig_buf_init(ctx, &path);
		if (r == 0)
			r = url_escape(&path, f[2], fl[2], ENC_PATH);
		if (r == 0 && path.len && path.buf[0] != '/' && fl[1])
			r = buf_addch(&b, '/');
		if (r == 0 && b.len == 0) {
			const char *slash = memchr(path.buf, '/', path.len);

			if (memchr(path.buf, ':', slash ? (size_t)(slash - path.buf) : path.len))
				r = buf_adds(&b, "./");
		}
		if (r == 0)
			r = buf_add(&b, path.buf, path.len);
		buf_release(&path);
	}
	if (r == 0 && fl[3]) {
		r = buf_addch(&b, '?');
		if (r == 0)
			r = buf_add(&b, f[3], fl[3]);
	}
	if (r == 0 && fl[5]) {
		r = buf_addch(&b, '#');
		if (r == 0)
			r = url_escape(&b, f[5], fl[5], ENC_FRAGMENT);
	}
	if (r < 0) {
		buf_release(&b);
		return sprig_oom(ctx);
	}
	return sprig_ret_buf(ctx, &b, ret);
}

/* Helm replaces the DNS lookup: "" unless --enable-dns (which cflux does not offer). */
SPRIG_FN(fn_get_host_by_name)
{
	*ret = tmpl_str_ref("", 0);
	return 0;
}

const struct sprig_fn sprig_flow_fns[] = {
	{ "hello", "", fn_hello },
	{ "default", "vv*", fn_default },
	{ "empty", "v", fn_empty },
	{ "coalesce", "v*", fn_coalesce },
	{ "all", "v*", fn_all },
	{ "any", "v*", fn_any },
	{ "ternary", "vvb", fn_ternary },
	{ "fail", "s", fn_fail },
	{ "typeOf", "v", fn_type_of },
	{ "typeIs", "sv", fn_type_is },
	{ "typeIsLike", "sv", fn_type_is_like },
	{ "kindOf", "v", fn_kind_of },
	{ "kindIs", "sv", fn_kind_is },
	{ "deepEqual", "vv", fn_deep_equal },
	{ "b64enc", "s", fn_b64enc },
	{ "b64dec", "s", fn_b64dec },
	{ "b32enc", "s", fn_b32enc },
	{ "b32dec", "s", fn_b32dec },
	{ "toJson", "v", fn_to_json },
	{ "mustToJson", "v", fn_must_to_json },
	{ "toPrettyJson", "v", fn_to_pretty_json },
	{ "mustToPrettyJson", "v", fn_must_to_pretty_json },
	{ "toRawJson", "v", fn_to_raw_json },
	{ "mustToRawJson", "v", fn_to_raw_json },
	{ "fromJson", "s", fn_from_json },
	{ "mustFromJson", "s", fn_must_from_json },
	{ "base", "s", fn_base },
	{ "dir", "s", fn_dir },
	{ "clean", "s", fn_clean },
	{ "ext", "s", fn_ext },
	{ "isAbs", "s", fn_is_abs },
	{ "osBase", "s", fn_base },
	{ "osClean", "s", fn_clean },
	{ "osDir", "s", fn_dir },
	{ "osExt", "s", fn_ext },
	{ "osIsAbs", "s", fn_is_abs },
	{ "urlParse", "s", fn_url_parse },
	{ "urlJoin", "m", fn_url_join },
	{ "getHostByName", "s", fn_get_host_by_name },
};
const size_t sprig_flow_nfns = ARRAY_SIZE(sprig_flow_fns);
