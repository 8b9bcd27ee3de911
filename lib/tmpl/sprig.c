/*
 * sprig.c: the Sprig function map as Helm v3.21 offers it
 * (Masterminds/sprig v3.3.0's TxtFuncMap() without env and expandenv),
 * and the conversions the Sprig files share (see sprig.h).
 *
 * DESIGN
 * Registration is data: each area file exports a table and
 * tmpl_funcs_add_sprig() adds them in a fixed order.  Go's parameter
 * types are the tables' spec strings, so the executor applies Go's
 * argument rules before a callback runs; callbacks then only reproduce
 * what the Go function body does.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "tmpl/sprig.h"
#include "tmpl/tmpl.h"
#include "base/banned.h"

void sprig_buf_init(struct tmpl_ctx *ctx, struct buf *b)
{
	struct tmpl_arena *a = tmpl_ctx_arena(ctx);
	size_t used = tmpl_arena_used(a), max = tmpl_arena_max(a);

	buf_init(b, max > used ? max - used : 0);
}

int sprig_oom(struct tmpl_ctx *ctx)
{
	/* The buffer reached what the arena has left: the arena's own message. */
	if (tmpl_ctx_reserve(ctx, SIZE_MAX / 2) < 0)
		return -ENOMEM;
	return tmpl_ctx_fail(ctx, -ENOMEM, "memory limit exceeded");
}

int sprig_ret_buf(struct tmpl_ctx *ctx, struct buf *b, struct tmpl_val *ret)
{
	*ret = tmpl_str_buf(tmpl_ctx_arena(ctx), b);
	/* A short string is copied and `b` keeps its memory: release it. */
	buf_release(b);
	return 0;
}

struct tmpl_val sprig_strf(struct tmpl_arena *a, const char *fmt, ...)
{
	struct buf b = BUF_INIT((size_t)-2);
	struct tmpl_val v;
	va_list ap;

	va_start(ap, fmt);
	if (buf_vaddf(&b, fmt, ap) < 0)
		buf_reset(&b);
	va_end(ap);
	v = tmpl_str(a, b.buf, b.len);
	buf_release(&b);
	return v;
}

int sprig_ret_str(struct tmpl_ctx *ctx, const char *s, size_t n, struct tmpl_val *ret)
{
	*ret = tmpl_str(tmpl_ctx_arena(ctx), s, n);
	return 0;
}

int sprig_strval(const struct tmpl_val *v, struct buf *out)
{
	switch (v->kind) {
	case TMPL_STRING:
	case TMPL_BYTES:
		return buf_add(out, v->s.p, v->s.n);
	default:
		if (v->type && v->type->string)
			return v->type->string(v, out);
		return tmpl_sprint(out, v, 1);
	}
}

/* cast's trimZeroDecimal: "1.00" -> "1"; anything else unchanged. */
static size_t trim_zero_decimal(const char *s, size_t n)
{
	bool zero = false;
	size_t i;

	for (i = n; i > 0; i--) {
		if (s[i - 1] == '.') {
			if (zero)
				return i - 1;
		} else if (s[i - 1] == '0') {
			zero = true;
		} else {
			return n;
		}
	}
	return n;
}

/* Go's underscoreOK: underscores only between digits (after a base prefix). */
static bool underscore_ok(const char *s, size_t n)
{
	char saw = '^';
	size_t i = 0;
	bool hex = false;

	if (n >= 1 && (s[0] == '-' || s[0] == '+'))
		i++;
	if (n - i >= 2 && s[i] == '0' && strchr("bBoOxX", s[i + 1])) {
		hex = s[i + 1] == 'x' || s[i + 1] == 'X';
		i += 2;
		saw = '0';
	}
	for (; i < n; i++) {
		char c = s[i];

		if ((c >= '0' && c <= '9') || (hex && isxdigit((unsigned char)c))) {
			saw = '0';
			continue;
		}
		if (c == '_') {
			if (saw != '0')
				return false;
			saw = '_';
			continue;
		}
		if (saw == '_')
			return false;
		saw = '!';
	}
	return saw != '_';
}

/* strconv.ParseInt(s, 0, 64). */
static bool parse_int_base0(const char *s, size_t n, int64_t *ret)
{
	uint64_t x = 0, lim;
	bool neg = false, any = false, us = false;
	unsigned base = 10;
	size_t i = 0;

	if (n == 0)
		return false;
	if (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-';
		i++;
	}
	if (n - i >= 2 && s[i] == '0') {
		char b = (char)tolower((unsigned char)s[i + 1]);

		if (b == 'x' || b == 'o' || b == 'b') {
			base = b == 'x' ? 16 : b == 'o' ? 8 : 2;
			i += 2;
		} else {
			base = 8;
			i++;
			any = true; /* the leading 0 */
		}
	}
	for (; i < n; i++) {
		unsigned d;
		char c = (char)tolower((unsigned char)s[i]);

		if (c == '_') {
			us = true;
			continue;
		}
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'z')
			d = (unsigned)(c - 'a' + 10);
		else
			return false;
		if (d >= base)
			return false;
		if (x > (UINT64_MAX - d) / base)
			return false;
		x = x * base + d;
		any = true;
	}
	if (!any || (us && !underscore_ok(s, n)))
		return false;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	if (x > lim)
		return false;
	*ret = neg ? (int64_t)(0 - x) : (int64_t)x;
	return true;
}

/* strconv.ParseFloat(s, 64): Go's float syntax only (no spaces, hex needs 'p'). */
static bool parse_float(const char *s, size_t n, double *ret)
{
	char tmp[128], *end;
	size_t i, w = 0;
	bool hex = false, p = false, us = false;
	double d;

	if (n == 0 || n >= sizeof(tmp))
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '_') {
			us = true;
			continue;
		}
		if (isspace((unsigned char)c) || c == '(' || c == '\0')
			return false;
		tmp[w++] = c;
	}
	tmp[w] = '\0';
	if (us && !underscore_ok(s, n))
		return false;
	i = tmp[0] == '-' || tmp[0] == '+';
	if (tmp[i] == '0' && (tmp[i + 1] == 'x' || tmp[i + 1] == 'X')) {
		hex = true;
		p = strchr(tmp, 'p') || strchr(tmp, 'P');
		if (!p)
			return false;
	}
	errno = 0;
	d = strtod(tmp, &end);
	if (*end != '\0' || end == tmp)
		return false;
	if (errno == ERANGE && isinf(d))
		return false;
	(void)hex;
	*ret = d;
	return true;
}

int64_t sprig_f2i(double f)
{
	if (isnan(f) || f >= 9223372036854775808.0 || f < -9223372036854775808.0)
		return INT64_MIN;
	return (int64_t)f;
}

int64_t sprig_to_int64(const struct tmpl_val *v)
{
	int64_t x;

	switch (v->kind) {
	case TMPL_BOOL:
		return v->b ? 1 : 0;
	case TMPL_INT:
	case TMPL_INT64:
	case TMPL_INT32:
		return v->i;
	case TMPL_UINT:
	case TMPL_UINT8:
	case TMPL_UINT64:
		return (int64_t)v->u;
	case TMPL_FLOAT64:
		return sprig_f2i(v->f);
	case TMPL_STRING:
		if (v->type)
			return 0;
		if (parse_int_base0(v->s.p, trim_zero_decimal(v->s.p, v->s.n), &x))
			return x;
		return 0;
	default:
		return 0;
	}
}

double sprig_to_float64(const struct tmpl_val *v)
{
	double d;

	switch (v->kind) {
	case TMPL_BOOL:
		return v->b ? 1 : 0;
	case TMPL_INT:
	case TMPL_INT64:
	case TMPL_INT32:
		return (double)v->i;
	case TMPL_UINT:
	case TMPL_UINT8:
	case TMPL_UINT64:
		return (double)v->u;
	case TMPL_FLOAT64:
		return v->f;
	case TMPL_STRING:
		if (!v->type && parse_float(v->s.p, v->s.n, &d))
			return d;
		return 0;
	default:
		return 0;
	}
}

bool sprig_is_slice(const struct tmpl_val *v)
{
	return v->kind == TMPL_LIST || v->kind == TMPL_BYTES;
}

struct tmpl_val sprig_slice_at(const struct tmpl_val *v, size_t i)
{
	struct tmpl_val x = { .kind = TMPL_UINT8 };

	if (v->kind == TMPL_LIST)
		return v->l->v[i];
	x.u = (unsigned char)v->s.p[i];
	return x;
}

struct tmpl_list *sprig_list(struct tmpl_ctx *ctx, size_t cap)
{
	return tmpl_list_new(tmpl_ctx_arena(ctx), TMPL_NIL, 0, cap);
}

struct tmpl_list *sprig_str_list(struct tmpl_ctx *ctx, size_t cap)
{
	return tmpl_list_new(tmpl_ctx_arena(ctx), TMPL_STRING, 0, cap);
}

void tmpl_funcs_add_sprig(struct tmpl_funcs *f)
{
	static const struct {
		const struct sprig_fn *t;
		const size_t *n;
	} tables[] = {
		{ sprig_strings_fns, &sprig_strings_nfns }, { sprig_lists_fns, &sprig_lists_nfns },
		{ sprig_dicts_fns, &sprig_dicts_nfns },     { sprig_math_fns, &sprig_math_nfns },
		{ sprig_flow_fns, &sprig_flow_nfns },       { sprig_regex_fns, &sprig_regex_nfns },
		{ sprig_date_fns, &sprig_date_nfns },       { sprig_semver_fns, &sprig_semver_nfns },
		{ sprig_crypto_fns, &sprig_crypto_nfns },
	};
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(tables); i++)
		for (j = 0; j < *tables[i].n; j++) {
			const struct sprig_fn *fn = &tables[i].t[j];
			int r = tmpl_funcs_add(f, fn->name, fn->params, fn->fn, NULL);

			OP_ASSERT(r == 0);
		}
}
