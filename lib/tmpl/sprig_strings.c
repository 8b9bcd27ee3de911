/*
 * sprig_strings.c: Sprig's string functions (strings.go and the string
 * entries of functions.go), with the Go library behaviour they inherit:
 * strings.ToUpper/Title/TrimSpace/Split on UTF-8 (invalid bytes become
 * U+FFFD where Go's strings.Map rewrites them), goutils' byte-wise
 * Initials and DeleteWhiteSpace (which re-encode each byte as a rune, so
 * non-ASCII text comes out as Latin-1 mojibake, exactly as in Helm),
 * goutils' Wrap/Abbreviate, and xstrings' snake/kebab/Pascal case.
 *
 * DESIGN
 * Every result is built in a struct buf bounded by the arena's remaining
 * budget (sprig_buf_init), so sizes derived from arguments (repeat,
 * indent, wrap) fail cleanly with "memory limit exceeded".  Functions
 * that panic in Go (repeat with a negative count, substr out of range)
 * fail with the text of Go's panic, which text/template reports as
 * "error calling NAME: ...".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "tmpl/internal.h"
#include "tmpl/sprig.h"
#include "tmpl/tmpl.h"
#include "base/uniprops.h"
#include "base/banned.h"

#define S(i) (a[i].s.p)
#define L(i) (a[i].s.n)

static int add_rune(struct buf *b, uint32_t r)
{
	return utf8_add(b, r);
}

/*
 * strings.Map(f, s): f over each rune, invalid bytes as U+FFFD.  `st`
 * carries what a mapping remembers between runes (Title's previous rune,
 * SwapCase's "after white space").
 */
static int map_runes(struct tmpl_ctx *ctx, const struct tmpl_val *v, uint32_t (*f)(uint32_t r, uint32_t *st),
		     uint32_t st, struct tmpl_val *ret)
{
	const char *s = v->s.p;
	size_t n = v->s.n, i = 0;
	struct buf b;

	sprig_buf_init(ctx, &b);
	while (i < n) {
		uint32_t r;

		i += utf8_decode(s + i, n - i, &r);
		if (add_rune(&b, f(r, &st)) < 0) {
			buf_release(&b);
			return sprig_oom(ctx);
		}
	}
	return sprig_ret_buf(ctx, &b, ret);
}

static uint32_t to_upper(uint32_t r, uint32_t *st)
{
	return tmpl__to_case(0, r);
}

static uint32_t to_lower(uint32_t r, uint32_t *st)
{
	return tmpl__to_case(1, r);
}

SPRIG_FN(fn_upper)
{
	return map_runes(ctx, &a[0], to_upper, 0, ret);
}

SPRIG_FN(fn_lower)
{
	return map_runes(ctx, &a[0], to_lower, 0, ret);
}

/* strings.Title's isSeparator. */
static bool is_separator(uint32_t r)
{
	if (r <= 0x7F)
		return !((r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || r == '_');
	if (tmpl__is_letter(r) || tmpl__is_digit(r))
		return false;
	return tmpl__is_space(r);
}

/* strings.Title: title-case each rune after a separator; *prev is the last rune. */
static uint32_t title_step(uint32_t r, uint32_t *prev)
{
	uint32_t o = is_separator(*prev) ? tmpl__to_case(2, r) : r;

	*prev = r;
	return o;
}

SPRIG_FN(fn_title)
{
	return map_runes(ctx, &a[0], title_step, ' ', ret);
}

/* goutils.Uncapitalize: lower-case the first rune of each word; *next says a word starts. */
static uint32_t untitle_step(uint32_t r, uint32_t *next)
{
	if (tmpl__is_space(r)) {
		*next = 1;
	} else if (*next) {
		*next = 0;
		return tmpl__to_case(1, r);
	}
	return r;
}

SPRIG_FN(fn_untitle)
{
	return map_runes(ctx, &a[0], untitle_step, 1, ret);
}

/* goutils.SwapCase; *ws says the previous rune was white space. */
static uint32_t swap_step(uint32_t r, uint32_t *ws)
{
	if (tmpl__is_upper(r) || tmpl__is_title(r)) {
		*ws = 0;
		return tmpl__to_case(1, r);
	}
	if (tmpl__is_lower(r)) {
		uint32_t o = tmpl__to_case(*ws ? 2 : 0, r);

		*ws = 0;
		return o;
	}
	*ws = tmpl__is_space(r);
	return r;
}

SPRIG_FN(fn_swapcase)
{
	return map_runes(ctx, &a[0], swap_step, 1, ret);
}

/* strings.TrimSpace. */
SPRIG_FN(fn_trim)
{
	const char *s = S(0);
	size_t lo = 0, hi = L(0);

	while (lo < hi) {
		uint32_t r;
		size_t w = utf8_decode(s + lo, hi - lo, &r);

		if (!tmpl__is_space(r) || (r == UTF8_RUNE_ERROR && w == 1))
			break;
		lo += w;
	}
	while (hi > lo) {
		uint32_t r;
		size_t w = utf8_decode_last(s + lo, hi - lo, &r);

		if (!tmpl__is_space(r) || (r == UTF8_RUNE_ERROR && w == 1))
			break;
		hi -= w;
	}
	return sprig_ret_str(ctx, s + lo, hi - lo, ret);
}

/* Whether rune r is in the cutset (strings.Trim's makeCutsetFunc). */
static bool in_cutset(const char *cut, size_t n, uint32_t r)
{
	size_t i = 0;

	while (i < n) {
		uint32_t c;

		i += utf8_decode(cut + i, n - i, &c);
		if (c == r)
			return true;
	}
	return false;
}

/* trimAll CUTSET S = strings.Trim(S, CUTSET). */
SPRIG_FN(fn_trim_all)
{
	const char *s = S(1);
	size_t lo = 0, hi = L(1);

	if (L(0) == 0)
		return sprig_ret_str(ctx, s, hi, ret);
	while (lo < hi) {
		uint32_t r;
		size_t w = utf8_decode(s + lo, hi - lo, &r);

		if (!in_cutset(S(0), L(0), r))
			break;
		lo += w;
	}
	while (hi > lo) {
		uint32_t r;
		size_t w = utf8_decode_last(s + lo, hi - lo, &r);

		if (!in_cutset(S(0), L(0), r))
			break;
		hi -= w;
	}
	return sprig_ret_str(ctx, s + lo, hi - lo, ret);
}

SPRIG_FN(fn_trim_suffix)
{
	if (L(1) >= L(0) && memcmp(S(1) + L(1) - L(0), S(0), L(0)) == 0)
		return sprig_ret_str(ctx, S(1), L(1) - L(0), ret);
	*ret = a[1];
	return 0;
}

SPRIG_FN(fn_trim_prefix)
{
	if (L(1) >= L(0) && memcmp(S(1), S(0), L(0)) == 0)
		return sprig_ret_str(ctx, S(1) + L(0), L(1) - L(0), ret);
	*ret = a[1];
	return 0;
}

SPRIG_FN(fn_contains)
{
	*ret = tmpl_bool(L(0) == 0 || memmem(S(1), L(1), S(0), L(0)) != NULL);
	return 0;
}

SPRIG_FN(fn_has_prefix)
{
	*ret = tmpl_bool(L(1) >= L(0) && memcmp(S(1), S(0), L(0)) == 0);
	return 0;
}

SPRIG_FN(fn_has_suffix)
{
	*ret = tmpl_bool(L(1) >= L(0) && memcmp(S(1) + L(1) - L(0), S(0), L(0)) == 0);
	return 0;
}

/* trunc C S: bytes, the last |C| when negative. */
SPRIG_FN(fn_trunc)
{
	int64_t c = a[0].i, len = (int64_t)L(1);

	if (c < 0 && len + c > 0)
		return sprig_ret_str(ctx, S(1) + len + c, (size_t)-c, ret);
	if (c >= 0 && len > c)
		return sprig_ret_str(ctx, S(1), (size_t)c, ret);
	*ret = a[1];
	return 0;
}

/* substr START END S, with Go's slice panics. */
SPRIG_FN(fn_substr)
{
	int64_t start = a[0].i, end = a[1].i, len = (int64_t)L(2);

	if (start < 0) {
		if (end < 0)
			return tmpl_ctx_errorf(ctx, "runtime error: slice bounds out of range [:%" PRId64 "]", end);
		if (end > len)
			return tmpl_ctx_errorf(ctx, "runtime error: slice bounds out of range [:%" PRId64 "] with length %" PRId64, end, len);
		return sprig_ret_str(ctx, S(2), (size_t)end, ret);
	}
	if (end < 0 || end > len) {
		if (start > len)
			return tmpl_ctx_errorf(ctx, "runtime error: slice bounds out of range [%" PRId64 ":%" PRId64 "]", start, len);
		return sprig_ret_str(ctx, S(2) + start, (size_t)(len - start), ret);
	}
	if (start > end)
		return tmpl_ctx_errorf(ctx, "runtime error: slice bounds out of range [%" PRId64 ":%" PRId64 "]", start, end);
	return sprig_ret_str(ctx, S(2) + start, (size_t)(end - start), ret);
}

/* Append `n` copies of s; Go's strings.Repeat panics. */
static int repeat_into(struct tmpl_ctx *ctx, struct buf *b, const char *s, size_t sl, int64_t n)
{
	int64_t i;

	if (n < 0)
		return tmpl_ctx_errorf(ctx, "strings: negative Repeat count");
	if (sl > 0 && (uint64_t)n > (uint64_t)INT64_MAX / sl)
		return tmpl_ctx_errorf(ctx, "strings: Repeat output length overflow");
	if (sl && tmpl_ctx_reserve(ctx, (size_t)n * sl) < 0)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (buf_add(b, s, sl) < 0)
			return sprig_oom(ctx);
	return 0;
}

SPRIG_FN(fn_repeat)
{
	struct buf b;
	int r;

	sprig_buf_init(ctx, &b);
	if ((r = repeat_into(ctx, &b, S(1), L(1), a[0].i)) < 0) {
		buf_release(&b);
		return r;
	}
	return sprig_ret_buf(ctx, &b, ret);
}

/* goutils.DeleteWhiteSpace: byte by byte, each byte re-encoded as a rune. */
SPRIG_FN(fn_nospace)
{
	struct buf b;
	size_t i, kept = 0;

	for (i = 0; i < L(0); i++)
		kept += !tmpl__is_space((unsigned char)S(0)[i]);
	if (kept == L(0)) {
		*ret = a[0];
		return 0;
	}
	sprig_buf_init(ctx, &b);
	for (i = 0; i < L(0); i++) {
		unsigned char c = (unsigned char)S(0)[i];

		if (!tmpl__is_space(c) && add_rune(&b, c) < 0) {
			buf_release(&b);
			return sprig_oom(ctx);
		}
	}
	return sprig_ret_buf(ctx, &b, ret);
}

/* goutils.Initials: the first byte (as a rune) after each white space. */
SPRIG_FN(fn_initials)
{
	struct buf b;
	bool gap = true;
	size_t i;

	sprig_buf_init(ctx, &b);
	for (i = 0; i < L(0); i++) {
		unsigned char c = (unsigned char)S(0)[i];

		if (tmpl__is_space(c)) {
			gap = true;
		} else if (gap) {
			if (add_rune(&b, c) < 0) {
				buf_release(&b);
				return sprig_oom(ctx);
			}
			gap = false;
		}
	}
	return sprig_ret_buf(ctx, &b, ret);
}

/* goutils.AbbreviateFull (errors give ""). */
static int abbreviate(struct tmpl_ctx *ctx, const char *s, size_t n, int64_t offset, int64_t width,
		      struct buf *b)
{
	int64_t len = (int64_t)n;

	if (n == 0 || width < 4)
		return 0;
	if (len <= width)
		return buf_add(b, s, n);
	if (offset > len)
		offset = len;
	if (len - offset < width - 3)
		offset = len - (width - 3);
	if (offset <= 4) {
		if (buf_add(b, s, (size_t)(width - 3)) < 0)
			return -EFBIG;
		return buf_adds(b, "...");
	}
	if (width < 7)
		return 0;
	if (offset + width - 3 < len) {
		if (buf_adds(b, "...") < 0)
			return -EFBIG;
		return abbreviate(ctx, s + offset, (size_t)(len - offset), 0, width - 3, b);
	}
	if (buf_adds(b, "...") < 0)
		return -EFBIG;
	return buf_add(b, s + len - (width - 3), (size_t)(width - 3));
}

SPRIG_FN(fn_abbrev)
{
	struct buf b;

	if (a[0].i < 4) {
		*ret = a[1];
		return 0;
	}
	sprig_buf_init(ctx, &b);
	if (abbreviate(ctx, S(1), L(1), 0, a[0].i, &b) < 0) {
		buf_release(&b);
		return sprig_oom(ctx);
	}
	return sprig_ret_buf(ctx, &b, ret);
}

SPRIG_FN(fn_abbrevboth)
{
	int64_t left = a[0].i, right = a[1].i;
	struct buf b;

	if (right < 4 || (left > 0 && right < 7)) {
		*ret = a[2];
		return 0;
	}
	sprig_buf_init(ctx, &b);
	if (abbreviate(ctx, S(2), L(2), left, right, &b) < 0) {
		buf_release(&b);
		return sprig_oom(ctx);
	}
	return sprig_ret_buf(ctx, &b, ret);
}

/* goutils.WrapCustom, byte offsets as in Go. */
static int wrap(struct tmpl_ctx *ctx, const char *s, size_t n, int64_t width, const char *nl,
		size_t nll, bool long_words, struct tmpl_val *ret)
{
	size_t off = 0, w;
	struct buf b;
	int r = 0;

	if (n == 0)
		return sprig_ret_str(ctx, "", 0, ret);
	if (nll == 0) {
		nl = "\n";
		nll = 1;
	}
	w = width < 1 ? 1 : (uint64_t)width > n ? n : (size_t)width;
	sprig_buf_init(ctx, &b);
	while (r == 0 && n - off > w) {
		const char *sp;
		size_t end, at;

		if (s[off] == ' ') {
			off++;
			continue;
		}
		end = w + off + 1;
		sp = memrchr(s + off, ' ', end - off);
		if (sp) {
			at = (size_t)(sp - s);
			r = buf_add(&b, s + off, at - off);
			if (r == 0)
				r = buf_add(&b, nl, nll);
			off = at + 1;
		} else if (long_words) {
			r = buf_add(&b, s + off, w);
			if (r == 0)
				r = buf_add(&b, nl, nll);
			off += w;
		} else {
			end = w + off;
			sp = memchr(s + end, ' ', n - end);
			if (!sp) {
				r = buf_add(&b, s + off, n - off);
				off = n;
			} else {
				at = (size_t)(sp - s);
				r = buf_add(&b, s + off, at - off);
				if (r == 0)
					r = buf_add(&b, nl, nll);
				off = at + 1;
			}
		}
	}
	if (r == 0)
		r = buf_add(&b, s + off, n - off);
	if (r < 0) {
		buf_release(&b);
		return sprig_oom(ctx);
	}
	return sprig_ret_buf(ctx, &b, ret);
}

SPRIG_FN(fn_wrap)
{
	return wrap(ctx, S(1), L(1), a[0].i, "", 0, false, ret);
}

SPRIG_FN(fn_wrap_with)
{
	return wrap(ctx, S(2), L(2), a[0].i, S(1), L(1), true, ret);
}

/* ---- xstrings: ToSnakeCase, ToKebabCase, ToPascalCase ---- */

static bool is_connector(uint32_t r)
{
	return r == '-' || r == '_' || tmpl__is_space(r);
}

static bool is_alphabet(uint32_t r)
{
	if (!tmpl__is_letter(r))
		return false;
	if (r < 0x3400)
		return true;
	return !((r >= 0x4E00 && r <= 0x9FCC) || (r >= 0x3400 && r <= 0x4D85) || (r >= 0x20000 && r <= 0x2B81D));
}

enum word { W_INVALID, W_NUMBER, W_UPPER, W_ALPHA, W_CONNECTOR, W_PUNCT, W_OTHER };

struct words {
	const char *s; /* remaining */
	size_t n;
};

/* xstrings' nextValidRune: skip invalid bytes; `prev` if nothing valid is left. */
static uint32_t next_valid(const char *s, size_t n, uint32_t prev, size_t *size)
{
	*size = 0;
	while (n > 0) {
		uint32_t r;
		size_t w = utf8_decode(s, n, &r);

		*size += w;
		if (!(r == UTF8_RUNE_ERROR && w == 1) && r != UTF8_RUNE_ERROR)
			return r;
		s += w;
		n -= w;
	}
	return prev;
}

/* xstrings' nextWord. */
static enum word next_word(struct words *ws, const char **word, size_t *wlen)
{
	const char *str = ws->s, *rem = ws->s;
	size_t n = ws->n, rn = ws->n, off, size;
	enum word wt;
	uint32_t r;

	*word = str;
	*wlen = 0;
	if (n == 0)
		return W_INVALID;
	r = next_valid(rem, rn, UTF8_RUNE_ERROR, &size);
	off = size;
	if (r == UTF8_RUNE_ERROR) {
		*wlen = off;
		ws->s = str + off;
		ws->n = n - off;
		return W_INVALID;
	}
#define ADVANCE(k) (rem += (k), rn -= (k))
	if (is_connector(r)) {
		wt = W_CONNECTOR;
		ADVANCE(size);
		while (rn > 0) {
			r = next_valid(rem, rn, r, &size);
			if (!is_connector(r))
				break;
			off += size;
			ADVANCE(size);
		}
	} else if (tmpl__is_punct(r)) {
		wt = W_PUNCT;
		ADVANCE(size);
		while (rn > 0) {
			r = next_valid(rem, rn, r, &size);
			if (!tmpl__is_punct(r))
				break;
			off += size;
			ADVANCE(size);
		}
	} else if (tmpl__is_upper(r)) {
		wt = W_UPPER;
		ADVANCE(size);
		if (rn > 0) {
			r = next_valid(rem, rn, r, &size);
			if (tmpl__is_upper(r)) {
				size_t prev = size;

				off += size;
				ADVANCE(size);
				while (rn > 0) {
					r = next_valid(rem, rn, r, &size);
					if (!tmpl__is_upper(r))
						break;
					prev = size;
					off += size;
					ADVANCE(size);
				}
				if (rn > 0 && is_alphabet(r)) {
					off -= prev;
					rem = str + off;
					rn = n - off;
				}
			} else if (is_alphabet(r)) {
				off += size;
				ADVANCE(size);
				while (rn > 0) {
					r = next_valid(rem, rn, r, &size);
					if (!is_alphabet(r) || tmpl__is_upper(r))
						break;
					off += size;
					ADVANCE(size);
				}
			}
		}
	} else if (is_alphabet(r)) {
		wt = W_ALPHA;
		ADVANCE(size);
		while (rn > 0) {
			r = next_valid(rem, rn, r, &size);
			if (!is_alphabet(r) || tmpl__is_upper(r))
				break;
			off += size;
			ADVANCE(size);
		}
	} else if (tmpl__is_number(r)) {
		wt = W_NUMBER;
		ADVANCE(size);
		while (rn > 0) {
			r = next_valid(rem, rn, r, &size);
			if (!tmpl__is_number(r))
				break;
			off += size;
			ADVANCE(size);
		}
	} else {
		wt = W_OTHER;
		ADVANCE(size);
		while (rn > 0) {
			r = next_valid(rem, rn, r, &size);
			if (size == 0 || is_connector(r) || is_alphabet(r) || tmpl__is_number(r) || tmpl__is_punct(r))
				break;
			off += size;
			ADVANCE(size);
		}
	}
#undef ADVANCE
	*wlen = off;
	ws->s = rem;
	ws->n = rn;
	return wt;
}

/* xstrings' toLower (for a word). */
static int word_lower(struct buf *b, enum word wt, const char *s, size_t n, char conn)
{
	size_t i = 0;
	int r = 0;

	if (wt != W_UPPER && wt != W_CONNECTOR)
		return buf_add(b, s, n);
	while (i < n && r == 0) {
		uint32_t c;

		i += utf8_decode(s + i, n - i, &c);
		if (is_connector(c))
			r = buf_addch(b, conn);
		else if (tmpl__is_upper(c))
			r = add_rune(b, tmpl__to_case(1, c));
		else
			r = add_rune(b, c);
	}
	return r;
}

/* xstrings' camelCaseToLowerCase. */
static int to_lower_case(struct buf *b, const char *s, size_t n, char conn)
{
	struct words ws = { s, n };
	const char *word, *last;
	size_t wl, ll;
	enum word wt, prev;
	int r = 0;

	if (n == 0)
		return 0;
	wt = next_word(&ws, &word, &wl);
	while (ws.n > 0 && r == 0) {
		if (wt != W_CONNECTOR)
			r = word_lower(b, wt, word, wl, conn);
		prev = wt;
		last = word;
		ll = wl;
		wt = next_word(&ws, &word, &wl);
		switch (prev) {
		case W_NUMBER:
			while (r == 0 && (wt == W_ALPHA || wt == W_NUMBER)) {
				r = word_lower(b, wt, word, wl, conn);
				wt = next_word(&ws, &word, &wl);
			}
			if (r == 0 && wt != W_INVALID && wt != W_PUNCT && wt != W_CONNECTOR)
				r = buf_addch(b, conn);
			break;
		case W_CONNECTOR:
			r = word_lower(b, prev, last, ll, conn);
			break;
		case W_PUNCT:
			break;
		default:
			if (wt != W_NUMBER) {
				if (wt != W_CONNECTOR && wt != W_PUNCT)
					r = buf_addch(b, conn);
				break;
			}
			if (ws.n == 0)
				break;
			last = word;
			ll = wl;
			wt = next_word(&ws, &word, &wl);
			if (wt != W_ALPHA) {
				r = word_lower(b, W_NUMBER, last, ll, conn);
				if (r == 0 && wt != W_CONNECTOR && wt != W_PUNCT)
					r = buf_addch(b, conn);
				break;
			}
			r = buf_addch(b, conn);
			if (r == 0)
				r = word_lower(b, W_NUMBER, last, ll, conn);
			while (r == 0 && (wt == W_ALPHA || wt == W_NUMBER)) {
				r = word_lower(b, wt, word, wl, conn);
				wt = next_word(&ws, &word, &wl);
			}
			if (r == 0 && wt != W_INVALID && wt != W_CONNECTOR && wt != W_PUNCT)
				r = buf_addch(b, conn);
			break;
		}
	}
	if (r == 0)
		r = word_lower(b, wt, word, wl, conn);
	return r;
}

static int lower_case_fn(struct tmpl_ctx *ctx, const struct tmpl_val *s, char conn, struct tmpl_val *ret)
{
	struct buf b;

	sprig_buf_init(ctx, &b);
	if (to_lower_case(&b, s->s.p, s->s.n, conn) < 0) {
		buf_release(&b);
		return sprig_oom(ctx);
	}
	return sprig_ret_buf(ctx, &b, ret);
}

SPRIG_FN(fn_snakecase)
{
	return lower_case_fn(ctx, &a[0], '_', ret);
}

SPRIG_FN(fn_kebabcase)
{
	return lower_case_fn(ctx, &a[0], '-', ret);
}

/* xstrings.ToPascalCase (toCamelCase with isBig). */
SPRIG_FN(fn_camelcase)
{
	const char *s = S(0);
	size_t left = L(0), size = 0;
	uint32_t r0 = 0, r1;
	bool first_upper = false;
	struct buf b;
	int r = 0;

	if (left == 0)
		return sprig_ret_str(ctx, "", 0, ret);
	sprig_buf_init(ctx, &b);
	while (left > 0 && r == 0) {
		size = utf8_decode(s, left, &r0);
		s += size;
		left -= size;
		if (!is_connector(r0)) {
			first_upper = tmpl__is_upper(r0);
			r0 = tmpl__to_case(0, r0);
			break;
		}
		r = add_rune(&b, r0);
	}
	if (left == 0) {
		if (r == 0 && size != 0)
			r = add_rune(&b, r0);
		goto out;
	}
	while (left > 0 && r == 0) {
		r1 = r0;
		size = utf8_decode(s, left, &r0);
		s += size;
		left -= size;
		if (is_connector(r0) && is_connector(r1)) {
			r = add_rune(&b, r1);
			continue;
		}
		if (is_connector(r1)) {
			first_upper = tmpl__is_upper(r0);
			r0 = tmpl__to_case(0, r0);
		} else {
			if (first_upper) {
				if (tmpl__is_upper(r0))
					r0 = tmpl__to_case(1, r0);
				else
					first_upper = false;
			}
			r = add_rune(&b, r1);
		}
	}
	if (r == 0)
		r = add_rune(&b, r0);
out:
	if (r < 0) {
		buf_release(&b);
		return sprig_oom(ctx);
	}
	return sprig_ret_buf(ctx, &b, ret);
}

/* A uniform random integer in [0, n) from the kernel's CSPRNG. */
static uint64_t rand_below(uint64_t n)
{
	uint64_t x, lim = UINT64_MAX - UINT64_MAX % n;

	do {
		if (getrandom(&x, sizeof(x), 0) != (ssize_t)sizeof(x))
			x = 0;
	} while (x >= lim);
	return x % n;
}

/* xstrings.Shuffle: a random permutation of the runes. */
SPRIG_FN(fn_shuffle)
{
	uint32_t *runes;
	size_t k = 0, i = 0;
	struct buf b;

	if (L(0) == 0) {
		*ret = a[0];
		return 0;
	}
	if (tmpl_ctx_reserve(ctx, L(0) * 8) < 0)
		return -ENOMEM;
	runes = xnew0(uint32_t, L(0));
	while (i < L(0))
		i += utf8_decode(S(0) + i, L(0) - i, &runes[k++]);
	for (i = k - 1; i > 0; i--) {
		size_t j = (size_t)rand_below(i + 1);
		uint32_t t = runes[i];

		runes[i] = runes[j];
		runes[j] = t;
	}
	sprig_buf_init(ctx, &b);
	for (i = 0; i < k; i++)
		if (add_rune(&b, runes[i]) < 0) {
			free(runes);
			buf_release(&b);
			return sprig_oom(ctx);
		}
	free(runes);
	return sprig_ret_buf(ctx, &b, ret);
}

/* goutils.CryptoRandom over an alphabet; a negative count gives "". */
static int rand_string(struct tmpl_ctx *ctx, int64_t count, const char *alphabet, struct tmpl_val *ret)
{
	size_t n = strlen(alphabet);
	struct buf b;
	int64_t i;

	if (count <= 0)
		return sprig_ret_str(ctx, "", 0, ret);
	if (tmpl_ctx_reserve(ctx, (size_t)count) < 0)
		return -ENOMEM;
	sprig_buf_init(ctx, &b);
	for (i = 0; i < count; i++)
		if (buf_addch(&b, alphabet[rand_below(n)]) < 0) {
			buf_release(&b);
			return sprig_oom(ctx);
		}
	return sprig_ret_buf(ctx, &b, ret);
}

#define ALPHA "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define DIGITS "0123456789"

SPRIG_FN(fn_rand_alpha)
{
	return rand_string(ctx, a[0].i, ALPHA, ret);
}

SPRIG_FN(fn_rand_alphanum)
{
	return rand_string(ctx, a[0].i, ALPHA DIGITS, ret);
}

SPRIG_FN(fn_rand_numeric)
{
	return rand_string(ctx, a[0].i, DIGITS, ret);
}

SPRIG_FN(fn_rand_ascii)
{
	static const char printable[] = " !\"#$%&'()*+,-./" DIGITS ":;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ"
					"[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";

	return rand_string(ctx, a[0].i, printable, ret);
}

enum join_style { JOIN_QUOTE, JOIN_SQUOTE, JOIN_CAT };

/*
 * quote, squote and cat: each non-nil argument, space-separated, as
 * strconv.Quote(strval(x)), '%v', or %v.
 */
static int join_args(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n, enum join_style style,
		     struct tmpl_val *ret)
{
	struct buf b, tmp;
	bool first = true;
	size_t i;
	int r = 0;

	sprig_buf_init(ctx, &b);
	sprig_buf_init(ctx, &tmp);
	for (i = 0; i < n && r == 0; i++) {
		if (a[i].kind == TMPL_NIL)
			continue;
		if (!first)
			r = buf_addch(&b, ' ');
		first = false;
		if (r < 0)
			break;
		switch (style) {
		case JOIN_QUOTE:
			buf_reset(&tmp);
			r = sprig_strval(&a[i], &tmp);
			if (r == 0)
				r = tmpl_quote(&b, tmp.buf, tmp.len);
			break;
		case JOIN_SQUOTE:
			r = buf_addch(&b, '\'');
			if (r == 0)
				r = tmpl_sprint(&b, &a[i], 1);
			if (r == 0)
				r = buf_addch(&b, '\'');
			break;
		case JOIN_CAT:
			r = tmpl_sprint(&b, &a[i], 1);
			break;
		}
	}
	buf_release(&tmp);
	if (r < 0) {
		buf_release(&b);
		return r == -EFBIG ? sprig_oom(ctx) : tmpl_ctx_fail(ctx, r, "cannot format a value");
	}
	return sprig_ret_buf(ctx, &b, ret);
}

SPRIG_FN(fn_quote)
{
	return join_args(ctx, a, n, JOIN_QUOTE, ret);
}

SPRIG_FN(fn_squote)
{
	return join_args(ctx, a, n, JOIN_SQUOTE, ret);
}

SPRIG_FN(fn_cat)
{
	return join_args(ctx, a, n, JOIN_CAT, ret);
}

static int indent(struct tmpl_ctx *ctx, bool lead_nl, int64_t spaces, const struct tmpl_val *s,
		  struct tmpl_val *ret)
{
	size_t lines = 1, i;
	struct buf b;
	int r = 0;

	for (i = 0; i < s->s.n; i++)
		lines += s->s.p[i] == '\n';
	sprig_buf_init(ctx, &b);
	if ((uint64_t)spaces > SIZE_MAX / lines || tmpl_ctx_reserve(ctx, (size_t)spaces * lines + s->s.n) < 0) {
		buf_release(&b);
		return -ENOMEM;
	}
	if (lead_nl)
		r = buf_addch(&b, '\n');
	for (i = 0; r == 0 && i < (size_t)spaces; i++)
		r = buf_addch(&b, ' ');
	for (i = 0; r == 0 && i < s->s.n; i++) {
		r = buf_addch(&b, s->s.p[i]);
		if (s->s.p[i] == '\n')
			for (size_t k = 0; r == 0 && k < (size_t)spaces; k++)
				r = buf_addch(&b, ' ');
	}
	if (r < 0) {
		buf_release(&b);
		return sprig_oom(ctx);
	}
	return sprig_ret_buf(ctx, &b, ret);
}

SPRIG_FN(fn_indent)
{
	if (a[0].i < 0)
		return tmpl_ctx_errorf(ctx, "strings: negative Repeat count");
	return indent(ctx, false, a[0].i, &a[1], ret);
}

SPRIG_FN(fn_nindent)
{
	if (a[0].i < 0)
		return tmpl_ctx_errorf(ctx, "strings: negative Repeat count");
	return indent(ctx, true, a[0].i, &a[1], ret);
}

/* strings.Replace(s, old, new, -1); an empty `old` inserts at every rune. */
SPRIG_FN(fn_replace)
{
	const char *s = S(2), *old = S(0), *nw = S(1);
	size_t n_s = L(2), lo = L(0), ln = L(1), i = 0;
	struct buf b;
	int r = 0;

	if (lo == 0 && ln == 0) {
		*ret = a[2];
		return 0;
	}
	sprig_buf_init(ctx, &b);
	if (lo == 0) {
		/* Go: new before every rune and at the end. */
		r = buf_add(&b, nw, ln);
		while (r == 0 && i < n_s) {
			uint32_t c;
			size_t w = utf8_decode(s + i, n_s - i, &c);

			r = buf_add(&b, s + i, w);
			if (r == 0)
				r = buf_add(&b, nw, ln);
			i += w;
		}
	} else {
		while (r == 0 && i < n_s) {
			const char *hit = memmem(s + i, n_s - i, old, lo);

			if (!hit) {
				r = buf_add(&b, s + i, n_s - i);
				break;
			}
			r = buf_add(&b, s + i, (size_t)(hit - (s + i)));
			if (r == 0)
				r = buf_add(&b, nw, ln);
			i = (size_t)(hit - s) + lo;
		}
	}
	if (r < 0) {
		buf_release(&b);
		return sprig_oom(ctx);
	}
	return sprig_ret_buf(ctx, &b, ret);
}

SPRIG_FN(fn_plural)
{
	*ret = a[2].i == 1 ? a[0] : a[1];
	return 0;
}

SPRIG_FN(fn_to_string)
{
	struct buf b;
	int r;

	sprig_buf_init(ctx, &b);
	if ((r = sprig_strval(&a[0], &b)) < 0) {
		buf_release(&b);
		return r == -EFBIG ? sprig_oom(ctx) : tmpl_ctx_fail(ctx, r, "cannot format a value");
	}
	return sprig_ret_buf(ctx, &b, ret);
}

/*
 * strings.SplitN(s, sep, max) as (start, length) pairs through `cb`;
 * max < 0: all; an empty sep splits after each UTF-8 sequence.
 */
static int split_n(const char *s, size_t n, const char *sep, size_t sl, int64_t max,
		   int (*cb)(void *ud, const char *p, size_t len), void *ud)
{
	size_t i = 0, count = 0;
	int r;

	if (max == 0)
		return 0;
	if (sl == 0) {
		while (i < n) {
			uint32_t c;
			size_t w = utf8_decode(s + i, n - i, &c);

			if (max > 0 && count == (size_t)max - 1)
				w = n - i;
			if ((r = cb(ud, s + i, w)) < 0)
				return r;
			count++;
			i += w;
		}
		return 0;
	}
	while (max < 0 || count < (size_t)max - 1) {
		const char *hit = memmem(s + i, n - i, sep, sl);

		if (!hit)
			break;
		if ((r = cb(ud, s + i, (size_t)(hit - (s + i)))) < 0)
			return r;
		count++;
		i = (size_t)(hit - s) + sl;
	}
	return cb(ud, s + i, n - i);
}

struct collect {
	struct tmpl_ctx *ctx;
	struct tmpl_list *l;
	struct tmpl_map *m;
	size_t k;
};

static int collect_list(void *ud, const char *p, size_t len)
{
	struct collect *c = ud;

	if (tmpl_ctx_steps(c->ctx, 1) < 0)
		return -ETIME;
	tmpl_list_push(tmpl_ctx_arena(c->ctx), c->l, tmpl_str(tmpl_ctx_arena(c->ctx), p, len));
	return 0;
}

static int collect_map(void *ud, const char *p, size_t len)
{
	struct collect *c = ud;
	char key[32];
	int kl = snprintf(key, sizeof(key), "_%zu", c->k++);

	if (tmpl_ctx_steps(c->ctx, 1) < 0)
		return -ETIME;
	tmpl_map_set(c->m, key, (size_t)kl, tmpl_str(tmpl_ctx_arena(c->ctx), p, len));
	return 0;
}

SPRIG_FN(fn_split_list)
{
	struct collect c = { ctx, sprig_str_list(ctx, 4), NULL, 0 };
	int r = split_n(S(1), L(1), S(0), L(0), -1, collect_list, &c);

	if (r < 0)
		return r;
	*ret = tmpl_list_val(c.l);
	return 0;
}

SPRIG_FN(fn_split)
{
	struct collect c = { ctx, NULL, tmpl_map_new(tmpl_ctx_arena(ctx), TMPL_STRING), 0 };
	int r = split_n(S(1), L(1), S(0), L(0), -1, collect_map, &c);

	if (r < 0)
		return r;
	*ret = tmpl_map_val(c.m);
	return 0;
}

SPRIG_FN(fn_splitn)
{
	struct collect c = { ctx, NULL, tmpl_map_new(tmpl_ctx_arena(ctx), TMPL_STRING), 0 };
	int r = split_n(S(2), L(2), S(0), L(0), a[1].i, collect_map, &c);

	if (r < 0)
		return r;
	*ret = tmpl_map_val(c.m);
	return 0;
}

/* Sprig's strslice: a slice's non-nil elements through strval; other values as one. */
static int strslice(struct tmpl_ctx *ctx, const struct tmpl_val *v, struct tmpl_list **ret)
{
	struct tmpl_arena *ar = tmpl_ctx_arena(ctx);
	struct tmpl_list *l;
	struct buf b;
	size_t i, len;
	int r = 0;

	if (v->kind == TMPL_LIST && v->l && v->l->elem == TMPL_STRING && !v->type) {
		*ret = v->l;
		return 0;
	}
	sprig_buf_init(ctx, &b);
	if (v->kind == TMPL_NIL) {
		*ret = sprig_str_list(ctx, 0);
		return 0;
	}
	if (!sprig_is_slice(v)) {
		l = sprig_str_list(ctx, 1);
		r = sprig_strval(v, &b);
		if (r == 0)
			tmpl_list_push(ar, l, tmpl_str_buf(ar, &b));
		goto out;
	}
	len = tmpl_len(v);
	l = sprig_str_list(ctx, len);
	for (i = 0; i < len && r == 0; i++) {
		struct tmpl_val x = sprig_slice_at(v, i);

		if (x.kind == TMPL_NIL)
			continue;
		buf_reset(&b);
		r = sprig_strval(&x, &b);
		if (r == 0)
			tmpl_list_push(ar, l, tmpl_str(ar, b.buf, b.len));
	}
out:
	buf_release(&b);
	if (r < 0)
		return r == -EFBIG ? sprig_oom(ctx) : tmpl_ctx_fail(ctx, r, "cannot format a value");
	*ret = l;
	return 0;
}

SPRIG_FN(fn_to_strings)
{
	struct tmpl_list *l;
	int r = strslice(ctx, &a[0], &l);

	if (r < 0)
		return r;
	*ret = tmpl_list_val(l);
	return 0;
}

SPRIG_FN(fn_join)
{
	struct tmpl_list *l;
	struct buf b;
	size_t i;
	int r = strslice(ctx, &a[1], &l);

	if (r < 0)
		return r;
	sprig_buf_init(ctx, &b);
	for (i = 0; i < l->n && r == 0; i++) {
		if (i)
			r = buf_add(&b, S(0), L(0));
		if (r == 0)
			r = buf_add(&b, l->v[i].s.p, l->v[i].s.n);
	}
	if (r < 0) {
		buf_release(&b);
		return sprig_oom(ctx);
	}
	return sprig_ret_buf(ctx, &b, ret);
}

static int cmp_strval(const void *x, const void *y)
{
	const struct tmpl_val *p = x, *q = y;
	int c = memcmp(p->s.p, q->s.p, MIN(p->s.n, q->s.n));

	if (c)
		return c;
	return p->s.n < q->s.n ? -1 : p->s.n > q->s.n;
}

/* sortAlpha: strslice of a slice, sorted bytewise; anything else [strval(x)]. */
SPRIG_FN(fn_sort_alpha)
{
	struct tmpl_arena *ar = tmpl_ctx_arena(ctx);
	struct tmpl_list *l, *c;
	int r;

	if (!sprig_is_slice(&a[0])) {
		struct buf b;

		sprig_buf_init(ctx, &b);
		if ((r = sprig_strval(&a[0], &b)) < 0) {
			buf_release(&b);
			return sprig_oom(ctx);
		}
		l = sprig_str_list(ctx, 1);
		tmpl_list_push(ar, l, tmpl_str_buf(ar, &b));
		buf_release(&b);
		*ret = tmpl_list_val(l);
		return 0;
	}
	if ((r = strslice(ctx, &a[0], &l)) < 0)
		return r;
	/* Go sorts the caller's []string in place; a copy is safer and prints the same. */
	c = tmpl_list_new(ar, TMPL_STRING, l->n, l->n);
	if (l->n)
		memcpy(c->v, l->v, l->n * sizeof(*l->v));
	qsort(c->v, c->n, sizeof(*c->v), cmp_strval);
	*ret = tmpl_list_val(c);
	return 0;
}

const struct sprig_fn sprig_strings_fns[] = {
	{ "abbrev", "is", fn_abbrev },
	{ "abbrevboth", "iis", fn_abbrevboth },
	{ "trunc", "is", fn_trunc },
	{ "trim", "s", fn_trim },
	{ "upper", "s", fn_upper },
	{ "lower", "s", fn_lower },
	{ "title", "s", fn_title },
	{ "untitle", "s", fn_untitle },
	{ "substr", "iis", fn_substr },
	{ "repeat", "is", fn_repeat },
	{ "trimall", "ss", fn_trim_all },
	{ "trimAll", "ss", fn_trim_all },
	{ "trimSuffix", "ss", fn_trim_suffix },
	{ "trimPrefix", "ss", fn_trim_prefix },
	{ "nospace", "s", fn_nospace },
	{ "initials", "s", fn_initials },
	{ "randAlphaNum", "i", fn_rand_alphanum },
	{ "randAlpha", "i", fn_rand_alpha },
	{ "randAscii", "i", fn_rand_ascii },
	{ "randNumeric", "i", fn_rand_numeric },
	{ "swapcase", "s", fn_swapcase },
	{ "shuffle", "s", fn_shuffle },
	{ "snakecase", "s", fn_snakecase },
	{ "camelcase", "s", fn_camelcase },
	{ "kebabcase", "s", fn_kebabcase },
	{ "wrap", "is", fn_wrap },
	{ "wrapWith", "iss", fn_wrap_with },
	{ "contains", "ss", fn_contains },
	{ "hasPrefix", "ss", fn_has_prefix },
	{ "hasSuffix", "ss", fn_has_suffix },
	{ "quote", "v*", fn_quote },
	{ "squote", "v*", fn_squote },
	{ "cat", "v*", fn_cat },
	{ "indent", "is", fn_indent },
	{ "nindent", "is", fn_nindent },
	{ "replace", "sss", fn_replace },
	{ "plural", "ssi", fn_plural },
	{ "toString", "v", fn_to_string },
	{ "splitList", "ss", fn_split_list },
	{ "split", "ss", fn_split },
	{ "splitn", "sis", fn_splitn },
	{ "toStrings", "v", fn_to_strings },
	{ "join", "sv", fn_join },
	{ "sortAlpha", "v", fn_sort_alpha },
};
const size_t sprig_strings_nfns = ARRAY_SIZE(sprig_strings_fns);
