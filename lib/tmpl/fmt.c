/*
 * fmt.c: Go's fmt (Sprintf, Sprint, Sprintln) and the strconv pieces it
 * rests on (Quote, FormatFloat), for template values.
 *
 * DESIGN
 * A port of fmt/print.go and fmt/format.go over struct tmpl_val instead of
 * reflect.Value.  `struct pp` is Go's printer state: the flags of the verb
 * being formatted (they stay set while a list or map is printed element by
 * element, which is why "%5v" pads every element), and whether a bad verb
 * is being reported (Go then skips String() methods).
 *
 * Values map onto Go's printArg/printValue like this: a top-level argument
 * is printArg (a nil interface prints "<nil>" for %v and "%!d(<nil>)"
 * otherwise); list elements and map entries go through printValue at depth
 * > 0, where a nil interface element prints "<nil>" whatever the verb.
 * TMPL_OBJ values print through their type's String() (for v s x X q) or
 * its gofmt text.
 *
 * Floats: the shortest digits that read back (strconv's -1 precision) are
 * found by asking the C library for correctly rounded digits at increasing
 * precision and checking the round trip, with a nudge of the last digit for
 * the asymmetric intervals at powers of two, so the result is Go's shortest
 * and closest.  Fixed precisions use the C library directly: both it and Go
 * round the exact binary value correctly, so the digits agree.
 *
 * Every function appends to a struct buf and returns 0 or the buffer's
 * -EFBIG; nesting is bounded (-ELOOP) so a map that contains itself cannot
 * recurse without end.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "tmpl/internal.h"
#include "tmpl/tmpl.h"
#include "base/banned.h"

#define MAX_DEPTH 10000

static size_t rune_count(const char *s, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i < n; c++) {
		uint32_t r;

		if ((unsigned char)s[i] < 0x80)
			i++;
		else
			i += utf8_decode(s + i, n - i, &r);
	}
	return c;
}

/* ---------------------------------------------------------------- strconv.Quote */

static const char lowerhex[] = "0123456789abcdef";

static int append_escaped_rune(struct buf *out, uint32_t r, char quote, bool ascii_only)
{
	char tmp[12];
	int n = 0;

	if (r == (uint32_t)quote || r == '\\') {
		tmp[0] = '\\';
		tmp[1] = (char)r;
		return buf_add(out, tmp, 2);
	}
	if (ascii_only) {
		if (r < 0x80 && tmpl__is_print(r))
			return buf_addch(out, (char)r);
	} else if (tmpl__is_print(r)) {
		return utf8_add(out, r);
	}
	switch (r) {
	case '\a':
		return buf_add(out, "\\a", 2);
	case '\b':
		return buf_add(out, "\\b", 2);
	case '\f':
		return buf_add(out, "\\f", 2);
	case '\n':
		return buf_add(out, "\\n", 2);
	case '\r':
		return buf_add(out, "\\r", 2);
	case '\t':
		return buf_add(out, "\\t", 2);
	case '\v':
		return buf_add(out, "\\v", 2);
	default:
		break;
	}
	if (r < ' ' || r == 0x7F) {
		tmp[n++] = '\\';
		tmp[n++] = 'x';
		tmp[n++] = lowerhex[(r >> 4) & 0xF];
		tmp[n++] = lowerhex[r & 0xF];
		return buf_add(out, tmp, (size_t)n);
	}
	if (r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
		r = 0xFFFD;
	if (r < 0x10000) {
		tmp[n++] = '\\';
		tmp[n++] = 'u';
		for (int s = 12; s >= 0; s -= 4)
			tmp[n++] = lowerhex[(r >> s) & 0xF];
	} else {
		tmp[n++] = '\\';
		tmp[n++] = 'U';
		for (int s = 28; s >= 0; s -= 4)
			tmp[n++] = lowerhex[(r >> s) & 0xF];
	}
	return buf_add(out, tmp, (size_t)n);
}

static int quote_with(struct buf *out, const char *s, size_t n, char quote, bool ascii_only)
{
	int r = buf_addch(out, quote);

	for (size_t i = 0; i < n && r == 0;) {
		uint32_t c;
		size_t w;

		if ((unsigned char)s[i] < 0x80) {
			c = (unsigned char)s[i];
			w = 1;
		} else {
			w = utf8_decode(s + i, n - i, &c);
		}
		if (w == 1 && c == 0xFFFD) {
			char tmp[4] = { '\\', 'x', lowerhex[((unsigned char)s[i]) >> 4],
					lowerhex[s[i] & 0xF] };

			r = buf_add(out, tmp, 4);
			i++;
			continue;
		}
		r = append_escaped_rune(out, c, quote, ascii_only);
		i += w;
	}
	return r ? r : buf_addch(out, quote);
}

int tmpl_quote(struct buf *out, const char *s, size_t n)
{
	return quote_with(out, s, n, '"', false);
}

static bool can_backquote(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint32_t r;
		size_t w = utf8_decode(s + i, n - i, &r);

		if (w > 1) {
			if (r == 0xFEFF)
				return false;
			i += w;
			continue;
		}
		if (r == 0xFFFD)
			return false;
		if ((r < ' ' && r != '\t') || r == '`' || r == 0x7F)
			return false;
		i++;
	}
	return true;
}

/* ---------------------------------------------------------------- strconv.FormatFloat */

/* Correctly rounded digits of v (> 0) at `prec` significant digits:
 * "d1d2..." and the decimal exponent of d1. */
static void digits_at(double v, int prec, char *digits, int *exp10)
{
	char buf[64], *e, *d = digits;

	snprintf(buf, sizeof(buf), "%.*e", prec - 1, v);
	e = strchr(buf, 'e');
	*exp10 = (int)strtol(e + 1, NULL, 10);
	for (char *p = buf; p < e; p++)
		if (*p >= '0' && *p <= '9')
			*d++ = *p;
	*d = '\0';
}

static bool reads_back(const char *digits, int exp10, double v, int bits)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%c.%se%d", digits[0], digits + 1, exp10);
	if (bits == 32)
		return strtof(buf, NULL) == (float)v;
	return strtod(buf, NULL) == v;
}

/* Add `delta` (+1/-1) to the last digit; false if it leaves the range. */
static bool nudge(char *digits, int *exp10, int delta)
{
	size_t n = strlen(digits);
	size_t i = n;

	if (delta > 0) {
		while (i > 0 && digits[i - 1] == '9')
			digits[--i] = '0';
		if (i == 0) {
			memmove(digits + 1, digits, n);
			digits[0] = '1';
			digits[n] = '\0';
			(*exp10)++;
			return true;
		}
		digits[i - 1]++;
		return true;
	}
	while (i > 0 && digits[i - 1] == '0')
		digits[--i] = '9';
	if (i == 0)
		return false;
	digits[i - 1]--;
	if (digits[0] == '0') {
		if (n == 1)
			return false;
		memmove(digits, digits + 1, n);
		digits[n - 1] = '9';
		(*exp10)--;
	}
	return true;
}

/* Shortest digits of v (> 0) that read back at `bits`. */
static void shortest(double v, int bits, char *digits, int *exp10)
{
	int maxp = bits == 32 ? 9 : 17;

	for (int p = 1; p <= maxp; p++) {
		char alt[32];
		int ae;

		digits_at(v, p, digits, exp10);
		if (reads_back(digits, *exp10, v, bits))
			goto trim;
		/* At a power of two the interval is lopsided: a neighbour of
		 * the nearest p-digit number may read back when it does not. */
		for (int d = -1; d <= 1; d += 2) {
			memcpy(alt, digits, strlen(digits) + 1);
			ae = *exp10;
			if (nudge(alt, &ae, d) && strlen(alt) == (size_t)p &&
			    reads_back(alt, ae, v, bits)) {
				memcpy(digits, alt, strlen(alt) + 1);
				*exp10 = ae;
				goto trim;
			}
		}
	}
trim:
	for (size_t n = strlen(digits); n > 1 && digits[n - 1] == '0'; n--)
		digits[n - 1] = '\0';
}

/* %e from digits: d.ddde±XX with `prec` fraction digits (-1: all). */
static int fmt_e(struct buf *out, const char *digits, int exp10, int prec, char e)
{
	size_t nd = strlen(digits);
	int r = buf_addch(out, digits[0]);

	if (prec < 0)
		prec = (int)nd - 1;
	if (r == 0 && prec > 0) {
		r = buf_addch(out, '.');
		for (int i = 1; r == 0 && i <= prec; i++)
			r = buf_addch(out, (size_t)i < nd ? digits[i] : '0');
	}
	if (r == 0)
		r = buf_addf(out, "%c%c%02d", e, exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
	return r;
}

/* %f from digits with `prec` fraction digits (-1: as many as needed). */
static int fmt_f(struct buf *out, const char *digits, int exp10, int prec)
{
	int nd = (int)strlen(digits), dp = exp10 + 1, r = 0;

	if (prec < 0)
		prec = nd - dp > 0 ? nd - dp : 0;
	if (dp > 0) {
		for (int i = 0; r == 0 && i < dp; i++)
			r = buf_addch(out, i < nd ? digits[i] : '0');
	} else {
		r = buf_addch(out, '0');
	}
	if (r == 0 && prec > 0) {
		r = buf_addch(out, '.');
		for (int i = 0; r == 0 && i < prec; i++) {
			int j = dp + i;

			r = buf_addch(out, j >= 0 && j < nd ? digits[j] : '0');
		}
	}
	return r;
}

int tmpl_format_float(struct buf *out, double v, char fmt, int prec, int bits)
{
	char digits[40];
	int exp10, r;
	char cfmt[16];

	if (isnan(v))
		return buf_adds(out, "NaN");
	if (isinf(v))
		return buf_adds(out, v > 0 ? "+Inf" : "-Inf");
	if (bits == 32)
		v = (float)v;
	if (fmt == 'b') {
		/* mantissa p exponent, as strconv's %b. */
		int e;
		double m = frexp(fabs(v), &e);
		int mbits = bits == 32 ? 24 : 53;
		uint64_t mant = (uint64_t)ldexp(m, mbits);
		int ex = e - mbits;

		if (v == 0)
			ex = bits == 32 ? -149 : -1074;
		return buf_addf(out, "%s%llup%c%d", signbit(v) ? "-" : "", (unsigned long long)mant,
				ex < 0 ? '-' : '+', ex < 0 ? -ex : ex);
	}
	if (fmt == 'x' || fmt == 'X') {
		/* Hex float; Go's form matches C's %a for finite values but
		 * with at least two exponent digits. */
		char tmp[64], *p;

		if (prec < 0)
			snprintf(tmp, sizeof(tmp), fmt == 'x' ? "%a" : "%A", v);
		else
			snprintf(tmp, sizeof(tmp), fmt == 'x' ? "%.*a" : "%.*A", prec, v);
		p = strpbrk(tmp, "pP");
		if (p && (p[1] == '+' || p[1] == '-') && p[2] && !p[3]) {
			r = buf_add(out, tmp, (size_t)(p - tmp) + 2);
			return r ? r : buf_addf(out, "0%c", p[2]);
		}
		return buf_adds(out, tmp);
	}
	if (prec >= 0) {
		if (fmt == 'g' || fmt == 'G') {
			if (prec == 0)
				prec = 1;
		}
		snprintf(cfmt, sizeof(cfmt), "%%.%d%c", prec > 1000 ? 1000 : prec, fmt);
		/* C's snprintf rounds the exact value as Go does. */
		{
			char tmp[1200];
			int n = snprintf(tmp, sizeof(tmp), cfmt, v);

			if (n < 0)
				return -EINVAL;
			if ((size_t)n >= sizeof(tmp))
				n = (int)sizeof(tmp) - 1;
			r = buf_add(out, tmp, (size_t)n);
			/* Go pads long precisions with zeros beyond 1000 too. */
			for (int i = 1000; r == 0 && i < prec && fmt == 'f'; i++)
				r = buf_addch(out, '0');
			return r;
		}
	}
	if (signbit(v)) {
		r = buf_addch(out, '-');
		if (r)
			return r;
		v = -v;
	}
	if (v == 0) {
		switch (fmt) {
		case 'e':
		case 'E':
			return buf_addf(out, "0%c+00", fmt);
		default:
			return buf_addch(out, '0');
		}
	}
	if (v == floor(v) && v < 1e15 && (fmt == 'f' || ((fmt == 'g' || fmt == 'G') && v < 1e6))) {
		/* Integral and small: the digits are the integer's. */
		return buf_addf(out, "%.0f", v);
	}
	shortest(v, bits, digits, &exp10);
	switch (fmt) {
	case 'e':
	case 'E':
		return fmt_e(out, digits, exp10, -1, fmt);
	case 'f':
		return fmt_f(out, digits, exp10, -1);
	default:
		/* 'g': %e iff the exponent is < -4 or >= 6 (shortest uses 6). */
		if (exp10 < -4 || exp10 >= 6)
			return fmt_e(out, digits, exp10, -1, fmt == 'G' ? 'E' : 'e');
		return fmt_f(out, digits, exp10, -1);
	}
}

/* ---------------------------------------------------------------- the printer */

struct pp {
	struct buf *out;
	int err;
	/* fmt flags */
	bool wid_present, prec_present, minus, plus, sharp, space, zero, plus_v, sharp_v;
	int wid, prec;
	bool erroring;
};

static void clear_flags(struct pp *p)
{
	p->wid_present = p->prec_present = p->minus = p->plus = p->sharp = false;
	p->space = p->zero = p->plus_v = p->sharp_v = false;
	p->wid = p->prec = 0;
}

static void w(struct pp *p, const void *s, size_t n)
{
	if (!p->err)
		p->err = buf_add(p->out, s, n);
}

static void ws(struct pp *p, const char *s)
{
	w(p, s, strlen(s));
}

static void wc(struct pp *p, char c)
{
	if (!p->err)
		p->err = buf_addch(p->out, c);
}

static void write_padding(struct pp *p, int n)
{
	char c = p->zero && !p->minus ? '0' : ' ';

	for (; n > 0 && !p->err; n--)
		wc(p, c);
}

static void pad(struct pp *p, const char *s, size_t n)
{
	int width;

	if (!p->wid_present || p->wid == 0) {
		w(p, s, n);
		return;
	}
	width = p->wid - (int)rune_count(s, n);
	if (!p->minus) {
		write_padding(p, width);
		w(p, s, n);
	} else {
		w(p, s, n);
		write_padding(p, width);
	}
}

static void pads(struct pp *p, const char *s)
{
	pad(p, s, strlen(s));
}

static void fmt_boolean(struct pp *p, bool v)
{
	pads(p, v ? "true" : "false");
}

static void fmt_unicode(struct pp *p, uint64_t u)
{
	char tmp[128];
	int prec = 4, i = (int)sizeof(tmp);
	bool old_zero;

	if (p->prec_present && p->prec > 4) {
		prec = p->prec;
		if (prec > 100)
			prec = 100;
	}
	if (p->sharp && u <= 0x10FFFF && tmpl__is_print((uint32_t)u)) {
		struct buf rb = BUF_INIT(8);
		size_t rl;

		(void)utf8_add(&rb, (uint32_t)u);
		rl = rb.len;
		tmp[--i] = '\'';
		i -= (int)rl;
		memcpy(tmp + i, rb.buf, rl);
		tmp[--i] = '\'';
		tmp[--i] = ' ';
		buf_release(&rb);
	}
	while (u >= 16) {
		tmp[--i] = "0123456789ABCDEF"[u & 0xF];
		prec--;
		u >>= 4;
	}
	tmp[--i] = "0123456789ABCDEF"[u];
	prec--;
	while (prec > 0) {
		tmp[--i] = '0';
		prec--;
	}
	tmp[--i] = '+';
	tmp[--i] = 'U';
	old_zero = p->zero;
	p->zero = false;
	pad(p, tmp + i, sizeof(tmp) - (size_t)i);
	p->zero = old_zero;
}

static void fmt_integer(struct pp *p, uint64_t u, int base, bool is_signed, char verb,
			const char *digits)
{
	bool negative = is_signed && (int64_t)u < 0;
	char stack[128], *tmp = stack;
	size_t size = sizeof(stack);
	int prec = 0;
	size_t i;
	bool old_zero;

	if (negative)
		u = 0 - u;
	if (p->wid_present || p->prec_present) {
		size_t width = 3 + (size_t)p->wid + (size_t)p->prec;

		if (width > size) {
			tmp = xmalloc(width);
			size = width;
		}
	}
	if (p->prec_present) {
		prec = p->prec;
		if (prec == 0 && u == 0) {
			old_zero = p->zero;
			p->zero = false;
			write_padding(p, p->wid);
			p->zero = old_zero;
			goto out;
		}
	} else if (p->zero && !p->minus && p->wid_present) {
		prec = p->wid;
		if (negative || p->plus || p->space)
			prec--;
	}
	i = size;
	switch (base) {
	case 10:
		while (u >= 10) {
			tmp[--i] = (char)('0' + u % 10);
			u /= 10;
		}
		break;
	case 16:
		while (u >= 16) {
			tmp[--i] = digits[u & 0xF];
			u >>= 4;
		}
		break;
	case 8:
		while (u >= 8) {
			tmp[--i] = (char)('0' + (u & 7));
			u >>= 3;
		}
		break;
	default:
		while (u >= 2) {
			tmp[--i] = (char)('0' + (u & 1));
			u >>= 1;
		}
		break;
	}
	tmp[--i] = digits[u];
	while (i > 0 && prec > (int)(size - i))
		tmp[--i] = '0';
	if (p->sharp) {
		switch (base) {
		case 2:
			tmp[--i] = 'b';
			tmp[--i] = '0';
			break;
		case 8:
			if (tmp[i] != '0')
				tmp[--i] = '0';
			break;
		case 16:
			tmp[--i] = digits[16];
			tmp[--i] = '0';
			break;
		default:
			break;
		}
	}
	if (verb == 'O') {
		tmp[--i] = 'o';
		tmp[--i] = '0';
	}
	if (negative)
		tmp[--i] = '-';
	else if (p->plus)
		tmp[--i] = '+';
	else if (p->space)
		tmp[--i] = ' ';
	old_zero = p->zero;
	p->zero = false;
	pad(p, tmp + i, size - i);
	p->zero = old_zero;
out:
	if (tmp != stack)
		free(tmp);
}

/* Truncate to the precision, in runes. */
static size_t truncate_len(const struct pp *p, const char *s, size_t n)
{
	if (p->prec_present) {
		int left = p->prec;

		for (size_t i = 0; i < n;) {
			uint32_t r;

			if (--left < 0)
				return i;
			i += utf8_decode(s + i, n - i, &r);
		}
	}
	return n;
}

static void fmt_s(struct pp *p, const char *s, size_t n)
{
	pad(p, s, truncate_len(p, s, n));
}

static void fmt_sx(struct pp *p, const char *s, size_t n, const char *digits)
{
	size_t length = n;
	int width;

	if (p->prec_present && p->prec < (int)length)
		length = (size_t)p->prec;
	width = 2 * (int)length;
	if (width > 0) {
		if (p->space) {
			if (p->sharp)
				width *= 2;
			width += (int)length - 1;
		} else if (p->sharp) {
			width += 2;
		}
	} else {
		if (p->wid_present)
			write_padding(p, p->wid);
		return;
	}
	if (p->wid_present && p->wid > width && !p->minus)
		write_padding(p, p->wid - width);
	if (p->sharp) {
		wc(p, '0');
		wc(p, digits[16]);
	}
	for (size_t i = 0; i < length; i++) {
		unsigned char c = (unsigned char)s[i];

		if (p->space && i > 0) {
			wc(p, ' ');
			if (p->sharp) {
				wc(p, '0');
				wc(p, digits[16]);
			}
		}
		wc(p, digits[c >> 4]);
		wc(p, digits[c & 0xF]);
	}
	if (p->wid_present && p->wid > width && p->minus)
		write_padding(p, p->wid - width);
}

static void fmt_q(struct pp *p, const char *s, size_t n)
{
	struct buf q = BUF_INIT(p->out->max);

	n = truncate_len(p, s, n);
	if (p->sharp && can_backquote(s, n)) {
		if (buf_addch(&q, '`') == 0 && buf_add(&q, s, n) == 0 && buf_addch(&q, '`') == 0)
			pad(p, q.buf, q.len);
		else if (!p->err)
			p->err = -EFBIG;
		buf_release(&q);
		return;
	}
	if (quote_with(&q, s, n, '"', p->plus) == 0)
		pad(p, q.buf, q.len);
	else if (!p->err)
		p->err = -EFBIG;
	buf_release(&q);
}

static void fmt_c(struct pp *p, uint64_t c)
{
	struct buf b = BUF_INIT(8);

	(void)utf8_add(&b, c > 0x10FFFF ? 0xFFFD : (uint32_t)c);
	pad(p, b.buf, b.len);
	buf_release(&b);
}

static void fmt_qc(struct pp *p, uint64_t c)
{
	struct buf b = BUF_INIT(32);
	uint32_t r = c > 0x10FFFF ? 0xFFFD : (uint32_t)c;

	/* strconv.QuoteRune: the rune in single quotes, escaped as Quote. */
	(void)buf_addch(&b, '\'');
	if (r >= 0xD800 && r <= 0xDFFF)
		r = 0xFFFD;
	(void)append_escaped_rune(&b, r, '\'', p->plus);
	(void)buf_addch(&b, '\'');
	pad(p, b.buf, b.len);
	buf_release(&b);
}

static void fmt_float(struct pp *p, double v, int size, char verb, int prec)
{
	struct buf num = BUF_INIT(4096);
	char *s;
	size_t n;

	if (p->prec_present)
		prec = p->prec;
	/* num[0] is the sign slot, as in Go. */
	(void)buf_addch(&num, '+');
	if (tmpl_format_float(&num, v, verb, prec, size) < 0) {
		if (!p->err)
			p->err = -EFBIG;
		buf_release(&num);
		return;
	}
	s = num.buf;
	n = num.len;
	if (s[1] == '-' || s[1] == '+') {
		s++;
		n--;
	} else {
		s[0] = '+';
	}
	if (p->space && s[0] == '+' && !p->plus)
		s[0] = ' ';
	if (s[1] == 'I' || s[1] == 'N') {
		bool old_zero = p->zero;

		p->zero = false;
		if (s[1] == 'N' && !p->space && !p->plus) {
			s++;
			n--;
		}
		pad(p, s, n);
		p->zero = old_zero;
		buf_release(&num);
		return;
	}
	if (p->sharp && verb != 'b') {
		int digits = 0;
		struct buf res = BUF_INIT(4096);
		char tail[16] = "";
		bool has_dot = false, nonzero = false;
		size_t cut = n;

		if (verb == 'v' || verb == 'g' || verb == 'G' || verb == 'x') {
			digits = prec;
			if (digits == -1)
				digits = 6;
		}
		for (size_t i = 1; i < n; i++) {
			char c = s[i];

			if (c == '.') {
				has_dot = true;
				continue;
			}
			if (c == 'p' || c == 'P' ||
			    ((c == 'e' || c == 'E') && verb != 'x' && verb != 'X')) {
				snprintf(tail, sizeof(tail), "%.*s", (int)(n - i), s + i);
				cut = i;
				break;
			}
			if (c != '0')
				nonzero = true;
			if (nonzero)
				digits--;
		}
		(void)buf_add(&res, s, cut);
		if (!has_dot) {
			if (cut == 2 && s[1] == '0')
				digits--;
			(void)buf_addch(&res, '.');
		}
		for (; digits > 0; digits--)
			(void)buf_addch(&res, '0');
		(void)buf_adds(&res, tail);
		buf_release(&num);
		num = res;
		s = num.buf;
		n = num.len;
	}
	if (p->plus || s[0] != '+') {
		if (p->zero && !p->minus && p->wid_present && p->wid > (int)n) {
			wc(p, s[0]);
			write_padding(p, p->wid - (int)n);
			w(p, s + 1, n - 1);
		} else {
			pad(p, s, n);
		}
	} else {
		pad(p, s + 1, n - 1);
	}
	buf_release(&num);
}

/* ---- print.go ---- */

static void print_arg(struct pp *p, const struct tmpl_val *arg, char verb, int depth);
static void print_value(struct pp *p, const struct tmpl_val *v, char verb, int depth);

static void type_string(struct pp *p, const struct tmpl_val *v)
{
	ws(p, tmpl_type_name(v));
}

static void bad_verb(struct pp *p, char verb, const struct tmpl_val *v, bool top)
{
	p->erroring = true;
	ws(p, "%!");
	wc(p, verb);
	wc(p, '(');
	if (v->kind == TMPL_INVALID || v->kind == TMPL_NIL) {
		ws(p, "<nil>");
	} else {
		type_string(p, v);
		wc(p, '=');
		if (top)
			print_arg(p, v, 'v', 0);
		else
			print_value(p, v, 'v', 0);
	}
	wc(p, ')');
	p->erroring = false;
}

static void fmt_bool(struct pp *p, bool b, char verb, const struct tmpl_val *v, bool top)
{
	if (verb == 't' || verb == 'v')
		fmt_boolean(p, b);
	else
		bad_verb(p, verb, v, top);
}

static void fmt0x64(struct pp *p, uint64_t v, bool leading0x)
{
	bool sharp = p->sharp;

	p->sharp = leading0x;
	fmt_integer(p, v, 16, false, 'v', "0123456789abcdefx");
	p->sharp = sharp;
}

static void fmt_int(struct pp *p, uint64_t u, bool is_signed, char verb, const struct tmpl_val *v,
		    bool top)
{
	static const char *ld = "0123456789abcdefx", *ud = "0123456789ABCDEFX";

	switch (verb) {
	case 'v':
		if (p->sharp_v && !is_signed)
			fmt0x64(p, u, true);
		else
			fmt_integer(p, u, 10, is_signed, verb, ld);
		break;
	case 'd':
		fmt_integer(p, u, 10, is_signed, verb, ld);
		break;
	case 'b':
		fmt_integer(p, u, 2, is_signed, verb, ld);
		break;
	case 'o':
	case 'O':
		fmt_integer(p, u, 8, is_signed, verb, ld);
		break;
	case 'x':
		fmt_integer(p, u, 16, is_signed, verb, ld);
		break;
	case 'X':
		fmt_integer(p, u, 16, is_signed, verb, ud);
		break;
	case 'c':
		fmt_c(p, u);
		break;
	case 'q':
		fmt_qc(p, u);
		break;
	case 'U':
		fmt_unicode(p, u);
		break;
	default:
		bad_verb(p, verb, v, top);
	}
}

static void fmt_flt(struct pp *p, double f, char verb, const struct tmpl_val *v, bool top)
{
	switch (verb) {
	case 'v':
		fmt_float(p, f, 64, 'g', -1);
		break;
	case 'b':
	case 'g':
	case 'G':
	case 'x':
	case 'X':
		fmt_float(p, f, 64, verb, -1);
		break;
	case 'f':
	case 'e':
	case 'E':
		fmt_float(p, f, 64, verb, 6);
		break;
	case 'F':
		fmt_float(p, f, 64, 'f', 6);
		break;
	default:
		bad_verb(p, verb, v, top);
	}
}

static void fmt_complex(struct pp *p, double re, double im, char verb, const struct tmpl_val *v,
			bool top)
{
	bool old_plus;

	switch (verb) {
	case 'v':
	case 'b':
	case 'g':
	case 'G':
	case 'x':
	case 'X':
	case 'f':
	case 'F':
	case 'e':
	case 'E':
		old_plus = p->plus;
		wc(p, '(');
		fmt_flt(p, re, verb, v, top);
		p->plus = true;
		fmt_flt(p, im, verb, v, top);
		ws(p, "i)");
		p->plus = old_plus;
		break;
	default:
		bad_verb(p, verb, v, top);
	}
}

static void fmt_string(struct pp *p, const char *s, size_t n, char verb, const struct tmpl_val *v,
		       bool top)
{
	switch (verb) {
	case 'v':
		if (p->sharp_v)
			fmt_q(p, s, n);
		else
			fmt_s(p, s, n);
		break;
	case 's':
		fmt_s(p, s, n);
		break;
	case 'x':
		fmt_sx(p, s, n, "0123456789abcdefx");
		break;
	case 'X':
		fmt_sx(p, s, n, "0123456789ABCDEFX");
		break;
	case 'q':
		fmt_q(p, s, n);
		break;
	default:
		bad_verb(p, verb, v, top);
	}
}

static void fmt_bytes(struct pp *p, const struct tmpl_val *v, char verb, int depth)
{
	const unsigned char *b = (const unsigned char *)v->s.p;
	size_t n = v->s.n;

	switch (verb) {
	case 'v':
	case 'd':
		if (p->sharp_v) {
			ws(p, "[]byte{");
			for (size_t i = 0; i < n; i++) {
				if (i > 0)
					ws(p, ", ");
				fmt0x64(p, b[i], true);
			}
			wc(p, '}');
		} else {
			wc(p, '[');
			for (size_t i = 0; i < n; i++) {
				if (i > 0)
					wc(p, ' ');
				fmt_integer(p, b[i], 10, false, verb, "0123456789abcdefx");
			}
			wc(p, ']');
		}
		break;
	case 's':
		fmt_s(p, v->s.p, n);
		break;
	case 'x':
		fmt_sx(p, v->s.p, n, "0123456789abcdefx");
		break;
	case 'X':
		fmt_sx(p, v->s.p, n, "0123456789ABCDEFX");
		break;
	case 'q':
		fmt_q(p, v->s.p, n);
		break;
	default:
		/* printValue of the []uint8: each byte with the verb. */
		wc(p, '[');
		for (size_t i = 0; i < n; i++) {
			struct tmpl_val e = { .kind = TMPL_UINT8, .u = b[i] };

			if (i > 0)
				wc(p, ' ');
			print_value(p, &e, verb, depth + 1);
		}
		wc(p, ']');
	}
}

static void fmt_pointer(struct pp *p, const void *ptr, char verb, const struct tmpl_val *v)
{
	uintptr_t u = (uintptr_t)ptr;

	switch (verb) {
	case 'v':
		if (u == 0)
			pads(p, "<nil>");
		else
			fmt0x64(p, u, !p->sharp);
		break;
	case 'p':
		fmt0x64(p, u, !p->sharp);
		break;
	case 'b':
	case 'o':
	case 'd':
	case 'x':
	case 'X':
		fmt_int(p, u, false, verb, v, false);
		break;
	default:
		bad_verb(p, verb, v, false);
	}
}

/* Go's handleMethods: String() for v s x X q.  True if it printed. */
static bool handle_methods(struct pp *p, const struct tmpl_val *v, char verb)
{
	struct buf s;

	if (p->erroring || p->sharp_v || !v->type || !v->type->string)
		return false;
	if (verb != 'v' && verb != 's' && verb != 'x' && verb != 'X' && verb != 'q')
		return false;
	buf_init(&s, p->out->max);
	if (v->type->string(v, &s) < 0) {
		buf_release(&s);
		if (!p->err)
			p->err = -EFBIG;
		return true;
	}
	fmt_string(p, s.buf, s.len, verb, v, false);
	buf_release(&s);
	return true;
}

static void print_obj(struct pp *p, const struct tmpl_val *v, char verb)
{
	struct buf s;

	if (verb == 'p') {
		fmt_pointer(p, v->o, verb, v);
		return;
	}
	if (!v->type || !v->type->gofmt) {
		ws(p, "{}");
		return;
	}
	buf_init(&s, p->out->max);
	if (v->type->gofmt(v, p->plus_v, &s) < 0 && !p->err)
		p->err = -EFBIG;
	w(p, s.buf, s.len);
	buf_release(&s);
}

static void print_value(struct pp *p, const struct tmpl_val *v, char verb, int depth)
{
	if (p->err)
		return;
	if (depth > MAX_DEPTH) {
		p->err = -ELOOP;
		return;
	}
	if (depth > 0 && v->kind != TMPL_INVALID && v->kind != TMPL_NIL &&
	    handle_methods(p, v, verb))
		return;
	switch (v->kind) {
	case TMPL_INVALID:
	case TMPL_NIL:
		/* A nil interface{} element. */
		if (depth == 0 && v->kind == TMPL_INVALID) {
			ws(p, "<invalid reflect.Value>");
		} else if (depth > 0 && p->sharp_v) {
			ws(p, "interface {}(nil)");
		} else if (verb == 'v' || depth > 0) {
			ws(p, "<nil>");
		} else {
			bad_verb(p, verb, v, false);
		}
		break;
	case TMPL_BOOL:
		fmt_bool(p, v->b, verb, v, false);
		break;
	case TMPL_INT:
	case TMPL_INT64:
	case TMPL_INT32:
		fmt_int(p, (uint64_t)v->i, true, verb, v, false);
		break;
	case TMPL_UINT:
	case TMPL_UINT8:
	case TMPL_UINT64:
		fmt_int(p, v->u, false, verb, v, false);
		break;
	case TMPL_FLOAT64:
		fmt_flt(p, v->f, verb, v, false);
		break;
	case TMPL_COMPLEX128:
		fmt_complex(p, v->c.re, v->c.im, verb, v, false);
		break;
	case TMPL_STRING:
		fmt_string(p, v->s.p, v->s.n, verb, v, false);
		break;
	case TMPL_BYTES:
		fmt_bytes(p, v, verb, depth);
		break;
	case TMPL_MAP:
		if (p->sharp_v) {
			type_string(p, v);
			if (!v->m) {
				ws(p, "(nil)");
				return;
			}
			wc(p, '{');
		} else {
			ws(p, "map[");
		}
		for (size_t i = 0; v->m && i < v->m->n && !p->err; i++) {
			struct tmpl_val k = tmpl_str_ref(v->m->e[i].key, v->m->e[i].klen);

			if (i > 0) {
				if (p->sharp_v)
					ws(p, ", ");
				else
					wc(p, ' ');
			}
			print_value(p, &k, verb, depth + 1);
			wc(p, ':');
			print_value(p, &v->m->e[i].v, verb, depth + 1);
		}
		wc(p, p->sharp_v ? '}' : ']');
		break;
	case TMPL_LIST:
		if (p->sharp_v) {
			type_string(p, v);
			if (!v->l) {
				ws(p, "(nil)");
				return;
			}
			wc(p, '{');
		} else {
			wc(p, '[');
		}
		for (size_t i = 0; v->l && i < v->l->n && !p->err; i++) {
			if (i > 0) {
				if (p->sharp_v)
					ws(p, ", ");
				else
					wc(p, ' ');
			}
			print_value(p, &v->l->v[i], verb, depth + 1);
		}
		wc(p, p->sharp_v ? '}' : ']');
		break;
	case TMPL_OBJ:
		print_obj(p, v, verb);
		break;
	}
}

static void print_arg(struct pp *p, const struct tmpl_val *arg, char verb, int depth)
{
	if (arg->kind == TMPL_INVALID || arg->kind == TMPL_NIL) {
		if (verb == 'T' || verb == 'v')
			pads(p, "<nil>");
		else
			bad_verb(p, verb, arg, true);
		return;
	}
	if (verb == 'T') {
		const char *t = tmpl_type_name(arg);

		fmt_s(p, t, strlen(t));
		return;
	}
	if (verb == 'p') {
		switch (arg->kind) {
		case TMPL_MAP:
			fmt_pointer(p, arg->m, 'p', arg);
			return;
		case TMPL_LIST:
			fmt_pointer(p, arg->l, 'p', arg);
			return;
		case TMPL_OBJ:
			fmt_pointer(p, arg->o, 'p', arg);
			return;
		default:
			bad_verb(p, 'p', arg, true);
			return;
		}
	}
	switch (arg->kind) {
	case TMPL_BOOL:
		fmt_bool(p, arg->b, verb, arg, true);
		return;
	case TMPL_FLOAT64:
		fmt_flt(p, arg->f, verb, arg, true);
		return;
	case TMPL_COMPLEX128:
		fmt_complex(p, arg->c.re, arg->c.im, verb, arg, true);
		return;
	case TMPL_INT:
	case TMPL_INT64:
	case TMPL_INT32:
		if (!arg->type) {
			fmt_int(p, (uint64_t)arg->i, true, verb, arg, true);
			return;
		}
		break;
	case TMPL_UINT:
	case TMPL_UINT8:
	case TMPL_UINT64:
		if (!arg->type) {
			fmt_int(p, arg->u, false, verb, arg, true);
			return;
		}
		break;
	case TMPL_STRING:
		if (!arg->type) {
			fmt_string(p, arg->s.p, arg->s.n, verb, arg, true);
			return;
		}
		break;
	case TMPL_BYTES:
		if (!arg->type) {
			fmt_bytes(p, arg, verb, depth);
			return;
		}
		break;
	default:
		break;
	}
	if (!handle_methods(p, arg, verb))
		print_value(p, arg, verb, depth);
}

static int finish(struct pp *p)
{
	return p->err;
}

int tmpl__fmt_value(struct buf *out, const struct tmpl_val *v, char verb, bool plus, bool sharp)
{
	struct pp p = { .out = out };

	p.plus_v = plus && verb == 'v';
	p.plus = plus && verb != 'v';
	p.sharp_v = sharp && verb == 'v';
	p.sharp = sharp && verb != 'v';
	print_arg(&p, v, verb, 0);
	return finish(&p);
}

int tmpl_print_value(struct buf *out, const struct tmpl_val *v)
{
	if (v->kind == TMPL_INVALID)
		return buf_adds(out, "<no value>");
	return tmpl__fmt_value(out, v, 'v', false, false);
}

int tmpl_sprint(struct buf *out, const struct tmpl_val *args, size_t nargs)
{
	struct pp p = { .out = out };
	bool prev_string = false;

	for (size_t i = 0; i < nargs && !p.err; i++) {
		bool is_string = args[i].kind == TMPL_STRING;

		if (i > 0 && !is_string && !prev_string)
			wc(&p, ' ');
		clear_flags(&p);
		print_arg(&p, &args[i], 'v', 0);
		prev_string = is_string;
	}
	return finish(&p);
}

int tmpl_sprintln(struct buf *out, const struct tmpl_val *args, size_t nargs)
{
	struct pp p = { .out = out };

	for (size_t i = 0; i < nargs && !p.err; i++) {
		if (i > 0)
			wc(&p, ' ');
		clear_flags(&p);
		print_arg(&p, &args[i], 'v', 0);
	}
	wc(&p, '\n');
	return finish(&p);
}

static bool too_large(int x)
{
	return x > 1000000 || x < -1000000;
}

static bool too_large_64(int64_t x)
{
	return x > 1000000 || x < -1000000;
}

static int parsenum(const char *s, size_t start, size_t end, bool *isnum, size_t *newi)
{
	int num = 0;
	size_t i;

	*isnum = false;
	if (start >= end) {
		*newi = end;
		return 0;
	}
	for (i = start; i < end && s[i] >= '0' && s[i] <= '9'; i++) {
		if (too_large(num)) {
			*isnum = false;
			*newi = end;
			return 0;
		}
		num = num * 10 + (s[i] - '0');
		*isnum = true;
	}
	*newi = i;
	return num;
}

/* intFromArg: a width or precision from an argument. */
static int int_from_arg(const struct tmpl_val *a, size_t nargs, size_t *argnum, bool *is_int)
{
	int num = 0;

	*is_int = false;
	if (*argnum < nargs) {
		const struct tmpl_val *v = &a[*argnum];

		if (tmpl_is_int(v->kind) && !too_large_64(v->i)) {
			num = (int)v->i;
			*is_int = true;
		} else if (tmpl_is_uint(v->kind) && v->u <= 1000000) {
			num = (int)v->u;
			*is_int = true;
		}
		(*argnum)++;
	}
	return num;
}

/* parseArgNumber/argNumber: "[n]". */
static size_t arg_number(const char *format, size_t i, size_t end, size_t *argnum, size_t nargs,
			 bool *reordered, bool *good, bool *found)
{
	*found = false;
	if (i >= end || format[i] != '[')
		return i;
	*reordered = true;
	if (end - i < 3) {
		*good = false;
		return i + 1;
	}
	for (size_t j = i + 1; j < end; j++) {
		if (format[j] == ']') {
			bool isnum;
			size_t newi;
			int width = parsenum(format, i + 1, j, &isnum, &newi);

			if (!isnum || newi != j) {
				*good = false;
				return j + 1;
			}
			if (width - 1 >= 0 && (size_t)(width - 1) < nargs) {
				*argnum = (size_t)(width - 1);
				*found = true;
				return j + 1;
			}
			*good = false;
			*found = true;
			return j + 1;
		}
	}
	*good = false;
	return i + 1;
}

int tmpl_sprintf(struct buf *out, const char *format, size_t end, const struct tmpl_val *a,
		 size_t nargs)
{
	struct pp p = { .out = out };
	size_t argnum = 0, i = 0;
	bool after_index = false, reordered = false, good;

	while (i < end && !p.err) {
		size_t lasti = i;
		uint32_t verb;
		size_t size;

		good = true;
		while (i < end && format[i] != '%')
			i++;
		if (i > lasti)
			w(&p, format + lasti, i - lasti);
		if (i >= end)
			break;
		i++;
		clear_flags(&p);
		for (; i < end; i++) {
			char c = format[i];

			if (c == '#') {
				p.sharp = true;
			} else if (c == '0') {
				p.zero = true;
			} else if (c == '+') {
				p.plus = true;
			} else if (c == '-') {
				p.minus = true;
			} else if (c == ' ') {
				p.space = true;
			} else {
				if (c >= 'a' && c <= 'z' && argnum < nargs) {
					if (c == 'v' || c == 'w') {
						p.sharp_v = p.sharp;
						p.sharp = false;
						p.plus_v = p.plus;
						p.plus = false;
					}
					print_arg(&p, &a[argnum], c, 0);
					argnum++;
					i++;
					goto next;
				}
				break;
			}
		}
		i = arg_number(format, i, end, &argnum, nargs, &reordered, &good, &after_index);
		if (i < end && format[i] == '*') {
			i++;
			p.wid = int_from_arg(a, nargs, &argnum, &p.wid_present);
			if (!p.wid_present)
				ws(&p, "%!(BADWIDTH)");
			if (p.wid < 0) {
				p.wid = -p.wid;
				p.minus = true;
				p.zero = false;
			}
			after_index = false;
		} else {
			p.wid = parsenum(format, i, end, &p.wid_present, &i);
			if (after_index && p.wid_present)
				good = false;
		}
		if (i + 1 < end && format[i] == '.') {
			i++;
			if (after_index)
				good = false;
			i = arg_number(format, i, end, &argnum, nargs, &reordered, &good,
				       &after_index);
			if (i < end && format[i] == '*') {
				i++;
				p.prec = int_from_arg(a, nargs, &argnum, &p.prec_present);
				if (p.prec < 0) {
					p.prec = 0;
					p.prec_present = false;
				}
				if (!p.prec_present)
					ws(&p, "%!(BADPREC)");
				after_index = false;
			} else {
				p.prec = parsenum(format, i, end, &p.prec_present, &i);
				if (!p.prec_present) {
					p.prec = 0;
					p.prec_present = true;
				}
			}
		}
		if (!after_index)
			i = arg_number(format, i, end, &argnum, nargs, &reordered, &good,
				       &after_index);
		if (i >= end) {
			ws(&p, "%!(NOVERB)");
			break;
		}
		size = utf8_decode(format + i, end - i, &verb);
		i += size;
		if (verb == '%') {
			wc(&p, '%');
		} else if (!good) {
			ws(&p, "%!");
			(void)utf8_add(out, verb);
			ws(&p, "(BADINDEX)");
		} else if (argnum >= nargs) {
			ws(&p, "%!");
			if (!p.err)
				p.err = utf8_add(out, verb);
			ws(&p, "(MISSING)");
		} else {
			if (verb == 'v' || verb == 'w') {
				p.sharp_v = p.sharp;
				p.sharp = false;
				p.plus_v = p.plus;
				p.plus = false;
			}
			if (verb >= 0x80) {
				/* A multibyte verb is always bad. */
				p.erroring = true;
				ws(&p, "%!");
				if (!p.err)
					p.err = utf8_add(out, verb);
				wc(&p, '(');
				if (a[argnum].kind == TMPL_NIL || a[argnum].kind == TMPL_INVALID) {
					ws(&p, "<nil>");
				} else {
					type_string(&p, &a[argnum]);
					wc(&p, '=');
					print_arg(&p, &a[argnum], 'v', 0);
				}
				wc(&p, ')');
				p.erroring = false;
			} else {
				print_arg(&p, &a[argnum], (char)verb, 0);
			}
			argnum++;
		}
next:;
	}
	if (!reordered && argnum < nargs && !p.err) {
		clear_flags(&p);
		ws(&p, "%!(EXTRA ");
		for (size_t k = argnum; k < nargs; k++) {
			if (k > argnum)
				ws(&p, ", ");
			if (a[k].kind == TMPL_NIL || a[k].kind == TMPL_INVALID) {
				ws(&p, "<nil>");
			} else {
				type_string(&p, &a[k]);
				wc(&p, '=');
				print_arg(&p, &a[k], 'v', 0);
			}
		}
		wc(&p, ')');
	}
	return finish(&p);
}
