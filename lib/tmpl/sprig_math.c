/*
 * sprig_math.c: Sprig's arithmetic (numeric.go and functions.go):
 * integer functions over spf13/cast's ToInt64, float functions over
 * ToFloat64, and the *f functions through shopspring/decimal, so
 * `addf 1.1 2.2` is 3.3 as in Helm, not 3.3000000000000003.
 *
 * DESIGN
 * shopspring's Decimal is an arbitrary-precision coefficient and a power
 * of ten.  NewFromFloat takes the shortest decimal that reads back as the
 * float; Add, Sub and Mul are exact; Div rounds half away from zero at 16
 * decimal places; Float64 is the nearest double to the exact value.  Here
 * a decimal is a digit string and an exponent: small and obviously
 * correct, with the digit count capped (a product of thousands of floats
 * fails cleanly instead of growing without end).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "tmpl/sprig.h"
#include "tmpl/tmpl.h"
#include "base/banned.h"

#define DEC_MAX_DIGITS 4096

/* ---------------------------------------------------------------- decimal */

/* value = (neg ? -1 : 1) * d[0..n) (decimal digits, most significant first) * 10^exp */
struct dec {
	bool neg;
	char *d; /* '0'..'9', no leading zeros; n == 0 means zero */
	size_t n;
	int64_t exp;
};

static void dec_free(struct dec *x)
{
	free(x->d);
	x->d = NULL;
	x->n = 0;
}

static void dec_trim(struct dec *x)
{
	size_t z = 0;

	while (z < x->n && x->d[z] == '0')
		z++;
	if (z) {
		memmove(x->d, x->d + z, x->n - z);
		x->n -= z;
	}
	if (x->n == 0)
		x->neg = false;
}

/* NewFromFloat: the shortest digits that read back as f. */
static int dec_from_float(double f, struct dec *ret)
{
	char tmp[64], *e;
	int prec;
	size_t i;

	memset(ret, 0, sizeof(*ret));
	if (isnan(f) || isinf(f))
		return -EINVAL;
	if (f == 0)
		return 0;
	for (prec = 0; prec < 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec, f);
		if (strtod(tmp, NULL) == f)
			break;
	}
	ret->neg = tmp[0] == '-';
	e = strchr(tmp, 'e');
	ret->d = xmalloc(32);
	for (i = ret->neg; tmp + i < e; i++)
		if (tmp[i] != '.')
			ret->d[ret->n++] = tmp[i];
	ret->exp = strtol(e + 1, NULL, 10) - (int64_t)(ret->n - 1);
	dec_trim(ret);
	return 0;
}

static double dec_to_float(const struct dec *x)
{
	struct buf b = BUF_INIT(DEC_MAX_DIGITS + 64);
	double f;

	if (x->n == 0)
		return 0;
	(void)buf_addf(&b, "%s%.*se%" PRId64, x->neg ? "-" : "", (int)x->n, x->d, x->exp);
	f = strtod(b.buf, NULL);
	buf_release(&b);
	return f;
}

/* |a| <=> |b| for digit strings (no leading zeros). */
static int mag_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	if (an != bn)
		return an < bn ? -1 : 1;
	return memcmp(a, b, an);
}

/* Digits of x padded with `z` zeros (x * 10^z), as a new string. */
static char *shifted(const struct dec *x, int64_t z, size_t *len)
{
	char *s = xmalloc(x->n + (size_t)z + 1);

	memcpy(s, x->d, x->n);
	memset(s + x->n, '0', (size_t)z);
	*len = x->n + (size_t)z;
	return s;
}

/* r = a + b or a - b on magnitudes (a >= b for sub), digit strings. */
static char *mag_addsub(const char *a, size_t an, const char *b, size_t bn, bool sub, size_t *rn)
{
	size_t n = an + 1, i;
	char *r = xmalloc(n);
	int carry = 0;

	for (i = 0; i < n; i++) {
		int x = i < an ? a[an - 1 - i] - '0' : 0, y = i < bn ? b[bn - 1 - i] - '0' : 0, v;

		v = sub ? x - y - carry : x + y + carry;
		carry = sub ? v < 0 : v >= 10;
		if (sub && v < 0)
			v += 10;
		else if (!sub && v >= 10)
			v -= 10;
		r[n - 1 - i] = (char)('0' + v);
	}
	*rn = n;
	return r;
}

static int dec_add(const struct dec *a, const struct dec *b, bool negate_b, struct dec *ret)
{
	int64_t e = a->exp < b->exp ? a->exp : b->exp;
	size_t an, bn;
	char *x, *y;
	bool bneg = b->neg != negate_b;

	memset(ret, 0, sizeof(*ret));
	if (a->n == 0 || b->n == 0) {
		const struct dec *s = a->n ? a : b;

		if (s->n == 0)
			return 0;
		ret->d = xmemdup(s->d, s->n);
		ret->n = s->n;
		ret->exp = s->exp;
		ret->neg = s == a ? a->neg : bneg;
		return 0;
	}
	if (a->exp - e + (int64_t)a->n > DEC_MAX_DIGITS || b->exp - e + (int64_t)b->n > DEC_MAX_DIGITS)
		return -ERANGE;
	x = shifted(a, a->exp - e, &an);
	y = shifted(b, b->exp - e, &bn);
	ret->exp = e;
	if (a->neg == bneg) {
		ret->d = mag_addsub(x, an, y, bn, false, &ret->n);
		ret->neg = a->neg;
	} else if (mag_cmp(x, an, y, bn) >= 0) {
		ret->d = mag_addsub(x, an, y, bn, true, &ret->n);
		ret->neg = a->neg;
	} else {
		ret->d = mag_addsub(y, bn, x, an, true, &ret->n);
		ret->neg = bneg;
	}
	free(x);
	free(y);
	dec_trim(ret);
	return 0;
}

static int dec_mul(const struct dec *a, const struct dec *b, struct dec *ret)
{
	size_t n = a->n + b->n, i, j;
	unsigned *acc;

	memset(ret, 0, sizeof(*ret));
	if (a->n == 0 || b->n == 0)
		return 0;
	if (n > DEC_MAX_DIGITS)
		return -ERANGE;
	acc = xnew0(unsigned, n);
	for (i = 0; i < a->n; i++)
		for (j = 0; j < b->n; j++)
			acc[i + j + 1] += (unsigned)(a->d[i] - '0') * (unsigned)(b->d[j] - '0');
	for (i = n; i-- > 1;) {
		acc[i - 1] += acc[i] / 10;
		acc[i] %= 10;
	}
	ret->d = xmalloc(n);
	for (i = 0; i < n; i++)
		ret->d[i] = (char)('0' + acc[i]);
	free(acc);
	ret->n = n;
	ret->exp = a->exp + b->exp;
	ret->neg = a->neg != b->neg;
	dec_trim(ret);
	return 0;
}

/* DivRound(b, 16): half away from zero at 16 decimal places. */
static int dec_div(const struct dec *a, const struct dec *b, struct dec *ret)
{
	/*
	 * q = floor(ca * 10^k / cb) with k = ea - eb + 17: the quotient in
	 * units of 10^-17, one digit past the 16 places kept.  A negative k
	 * shifts the divisor instead.
	 */
	int64_t k = a->exp - b->exp + 17, i;
	size_t num_n, rem_n = 0, qn = 0, div_n;
	char *num, *rem, *q, *div;
	struct dec ua = *a, ub = *b;

	memset(ret, 0, sizeof(*ret));
	if (b->n == 0)
		return -EDOM;
	if (a->n == 0)
		return 0;
	ua.exp = 0;
	ub.exp = 0;
	if ((int64_t)a->n + (k > 0 ? k : 0) > DEC_MAX_DIGITS || (int64_t)b->n + (k < 0 ? -k : 0) > DEC_MAX_DIGITS)
		return -ERANGE;
	num = shifted(&ua, k > 0 ? k : 0, &num_n);
	div = shifted(&ub, k < 0 ? -k : 0, &div_n);
	rem = xmalloc(num_n + div_n + 2);
	q = xmalloc(num_n + 1);
	for (i = 0; i < (int64_t)num_n; i++) {
		int digit = 0;

		/* rem = rem * 10 + next digit */
		rem[rem_n++] = num[i];
		while (rem_n > 1 && rem[0] == '0') {
			memmove(rem, rem + 1, --rem_n);
		}
		while (mag_cmp(rem, rem_n, div, div_n) >= 0) {
			size_t rn;
			char *t = mag_addsub(rem, rem_n, div, div_n, true, &rn);
			size_t z = 0;

			while (z + 1 < rn && t[z] == '0')
				z++;
			memcpy(rem, t + z, rn - z);
			rem_n = rn - z;
			free(t);
			if (rem_n == 1 && rem[0] == '0')
				rem_n = 0;
			digit++;
		}
		q[qn++] = (char)('0' + digit);
	}
	free(num);
	free(rem);
	free(div);
	/* The last digit decides the rounding (>= 5 means remainder >= half). */
	{
		bool up = qn > 0 && q[qn - 1] >= '5';
		struct dec t = { false, q, qn - 1, -16 }, one = { false, NULL, 0, -16 };
		char d1 = '1';

		if (up) {
			one.d = &d1;
			one.n = 1;
			dec_trim(&t);
			if (dec_add(&t, &one, false, ret) < 0) {
				free(q);
				return -ERANGE;
			}
			free(q);
		} else {
			ret->d = q;
			ret->n = qn - 1;
			ret->exp = -16;
			dec_trim(ret);
		}
	}
	ret->neg = ret->n > 0 && (a->neg != b->neg);
	return 0;
}

/* ---------------------------------------------------------------- functions */

SPRIG_FN(fn_add1)
{
	*ret = tmpl_int64((int64_t)((uint64_t)sprig_to_int64(&a[0]) + 1));
	return 0;
}

SPRIG_FN(fn_add)
{
	uint64_t s = 0;
	size_t i;

	for (i = 0; i < n; i++)
		s += (uint64_t)sprig_to_int64(&a[i]);
	*ret = tmpl_int64((int64_t)s);
	return 0;
}

SPRIG_FN(fn_sub)
{
	*ret = tmpl_int64((int64_t)((uint64_t)sprig_to_int64(&a[0]) - (uint64_t)sprig_to_int64(&a[1])));
	return 0;
}

SPRIG_FN(fn_mul)
{
	uint64_t p = (uint64_t)sprig_to_int64(&a[0]);
	size_t i;

	for (i = 1; i < n; i++)
		p *= (uint64_t)sprig_to_int64(&a[i]);
	*ret = tmpl_int64((int64_t)p);
	return 0;
}

static int divmod(struct tmpl_ctx *ctx, const struct tmpl_val *a, bool mod, struct tmpl_val *ret)
{
	int64_t x = sprig_to_int64(&a[0]), y = sprig_to_int64(&a[1]);

	if (y == 0)
		return tmpl_ctx_errorf(ctx, "runtime error: integer divide by zero");
	if (x == INT64_MIN && y == -1) /* Go wraps: -x overflows to itself, x % -1 is 0 */
		*ret = tmpl_int64(mod ? 0 : INT64_MIN);
	else
		*ret = tmpl_int64(mod ? x % y : x / y);
	return 0;
}

SPRIG_FN(fn_div)
{
	return divmod(ctx, a, false, ret);
}

SPRIG_FN(fn_mod)
{
	return divmod(ctx, a, true, ret);
}

/* max/min over cast.ToInt64 of each argument. */
static struct tmpl_val extreme(const struct tmpl_val *a, size_t n, bool max)
{
	int64_t m = sprig_to_int64(&a[0]);
	size_t i;

	for (i = 1; i < n; i++) {
		int64_t x = sprig_to_int64(&a[i]);

		if (max ? x > m : x < m)
			m = x;
	}
	return tmpl_int64(m);
}

SPRIG_FN(fn_max)
{
	*ret = extreme(a, n, true);
	return 0;
}

SPRIG_FN(fn_min)
{
	*ret = extreme(a, n, false);
	return 0;
}

/* Go's math.Max/Min: NaN wins, and +0 > -0. */
static double go_max(double x, double y)
{
	if (isinf(x) && x > 0)
		return x;
	if (isinf(y) && y > 0)
		return y;
	if (isnan(x) || isnan(y))
		return NAN;
	if (x == 0 && x == y)
		return signbit(x) ? y : x;
	return x > y ? x : y;
}

static double go_min(double x, double y)
{
	if (isinf(x) && x < 0)
		return x;
	if (isinf(y) && y < 0)
		return y;
	if (isnan(x) || isnan(y))
		return NAN;
	if (x == 0 && x == y)
		return signbit(x) ? x : y;
	return x < y ? x : y;
}

/* maxf/minf: math.Max/Min folded over cast.ToFloat64 of each argument. */
static struct tmpl_val fold_float(const struct tmpl_val *a, size_t n, double (*f)(double, double))
{
	double m = sprig_to_float64(&a[0]);
	size_t i;

	for (i = 1; i < n; i++)
		m = f(m, sprig_to_float64(&a[i]));
	return tmpl_float(m);
}

SPRIG_FN(fn_maxf)
{
	*ret = fold_float(a, n, go_max);
	return 0;
}

SPRIG_FN(fn_minf)
{
	*ret = fold_float(a, n, go_min);
	return 0;
}

SPRIG_FN(fn_floor)
{
	*ret = tmpl_float(floor(sprig_to_float64(&a[0])));
	return 0;
}

SPRIG_FN(fn_ceil)
{
	*ret = tmpl_float(ceil(sprig_to_float64(&a[0])));
	return 0;
}

SPRIG_FN(fn_round)
{
	double on = n > 2 ? a[2].f : .5, val = sprig_to_float64(&a[0]), pw = pow(10, (double)a[1].i);
	double digit = pw * val, ip, frac = modf(digit, &ip);

	*ret = tmpl_float((frac >= on ? ceil(digit) : floor(digit)) / pw);
	return 0;
}

enum dec_op { DEC_ADD, DEC_SUB, DEC_MUL, DEC_DIV };

/* execDecimalOp: fold the arguments through a decimal operation. */
static int decimal_op(struct tmpl_ctx *ctx, const struct tmpl_val *first, const struct tmpl_val *rest,
		      size_t n, enum dec_op op, struct tmpl_val *ret)
{
	struct dec acc, x, r;
	size_t i;
	int e = 0;

	if (dec_from_float(sprig_to_float64(first), &acc) < 0)
		return tmpl_ctx_errorf(ctx, "Cannot create a Decimal from %s", isnan(sprig_to_float64(first)) ? "NaN" : sprig_to_float64(first) > 0 ? "+Inf" : "-Inf");
	for (i = 0; i < n && e == 0; i++) {
		double f = sprig_to_float64(&rest[i]);

		if (dec_from_float(f, &x) < 0) {
			dec_free(&acc);
			return tmpl_ctx_errorf(ctx, "Cannot create a Decimal from %s", isnan(f) ? "NaN" : f > 0 ? "+Inf" : "-Inf");
		}
		switch (op) {
		case DEC_ADD:
			e = dec_add(&acc, &x, false, &r);
			break;
		case DEC_SUB:
			e = dec_add(&acc, &x, true, &r);
			break;
		case DEC_MUL:
			e = dec_mul(&acc, &x, &r);
			break;
		case DEC_DIV:
			e = dec_div(&acc, &x, &r);
			break;
		}
		dec_free(&x);
		dec_free(&acc);
		if (e == 0)
			acc = r;
	}
	if (e == -EDOM)
		return tmpl_ctx_errorf(ctx, "decimal division by 0");
	if (e < 0)
		return tmpl_ctx_errorf(ctx, "decimal: number too large to compute");
	*ret = tmpl_float(dec_to_float(&acc));
	dec_free(&acc);
	return 0;
}

SPRIG_FN(fn_add1f)
{
	struct tmpl_val one = tmpl_int(1);

	return decimal_op(ctx, &a[0], &one, 1, DEC_ADD, ret);
}

SPRIG_FN(fn_addf)
{
	struct tmpl_val zero = tmpl_float(0);

	return decimal_op(ctx, &zero, a, n, DEC_ADD, ret);
}

SPRIG_FN(fn_subf)
{
	return decimal_op(ctx, &a[0], a + 1, n - 1, DEC_SUB, ret);
}

SPRIG_FN(fn_mulf)
{
	return decimal_op(ctx, &a[0], a + 1, n - 1, DEC_MUL, ret);
}

SPRIG_FN(fn_divf)
{
	return decimal_op(ctx, &a[0], a + 1, n - 1, DEC_DIV, ret);
}

SPRIG_FN(fn_int)
{
	*ret = tmpl_int(sprig_to_int64(&a[0]));
	return 0;
}

SPRIG_FN(fn_int64)
{
	*ret = tmpl_int64(sprig_to_int64(&a[0]));
	return 0;
}

SPRIG_FN(fn_float64)
{
	*ret = tmpl_float(sprig_to_float64(&a[0]));
	return 0;
}

/* strconv.Atoi, 0 on a syntax error, clamped on overflow. */
SPRIG_FN(fn_atoi)
{
	const char *s = a[0].s.p;
	size_t len = a[0].s.n, i = 0;
	bool neg = false, range = false;
	uint64_t x = 0;

	if (len > 0 && (s[0] == '-' || s[0] == '+')) {
		neg = s[0] == '-';
		i = 1;
	}
	if (i == len) {
		*ret = tmpl_int(0);
		return 0;
	}
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9') {
			*ret = tmpl_int(0);
			return 0;
		}
		if (!range && x > (UINT64_MAX - 9) / 10)
			range = true;
		if (!range)
			x = x * 10 + (uint64_t)(s[i] - '0');
	}
	if (range || x > (uint64_t)INT64_MAX + neg)
		*ret = tmpl_int(neg ? INT64_MIN : INT64_MAX);
	else
		*ret = tmpl_int(neg ? (int64_t)(0 - x) : (int64_t)x);
	return 0;
}

/* toDecimal: fmt.Sprint(v) parsed as octal, 0 on any error. */
SPRIG_FN(fn_to_decimal)
{
	struct buf b;
	uint64_t x = 0;
	bool neg = false, bad = false;
	size_t i = 0;

	sprig_buf_init(ctx, &b);
	if (tmpl_sprint(&b, &a[0], 1) < 0) {
		buf_release(&b);
		return sprig_oom(ctx);
	}
	if (b.len > 0 && (b.buf[0] == '-' || b.buf[0] == '+')) {
		neg = b.buf[0] == '-';
		i = 1;
	}
	bad = i == b.len;
	for (; i < b.len && !bad; i++) {
		if (b.buf[i] < '0' || b.buf[i] > '7' || x > (UINT64_MAX >> 3))
			bad = true;
		else
			x = x * 8 + (uint64_t)(b.buf[i] - '0');
	}
	buf_release(&b);
	if (bad || x > (uint64_t)INT64_MAX + neg)
		*ret = tmpl_int64(0);
	else
		*ret = tmpl_int64(neg ? (int64_t)(0 - x) : (int64_t)x);
	return 0;
}

SPRIG_FN(fn_rand_int)
{
	int64_t lo = a[0].i, hi = a[1].i, x;
	uint64_t span;

	if (hi - lo <= 0)
		return tmpl_ctx_errorf(ctx, "invalid argument to Intn");
	span = (uint64_t)(hi - lo);
	do {
		if (getrandom(&x, sizeof(x), 0) != (ssize_t)sizeof(x))
			x = 0;
	} while ((uint64_t)x >= UINT64_MAX - UINT64_MAX % span);
	*ret = tmpl_int(lo + (int64_t)((uint64_t)x % span));
	return 0;
}

/* seq: bash's seq over untilStep, printed space-separated. */
SPRIG_FN(fn_seq)
{
	int64_t start, end, step, i;
	struct buf b;
	uint64_t count = 0;

	if (n == 0 || n > 3)
		return sprig_ret_str(ctx, "", 0, ret);
	if (n == 1) {
		start = 1;
		end = a[0].i;
		step = end < start ? -1 : 1;
		end += step;
	} else if (n == 2) {
		start = a[0].i;
		end = a[1].i;
		step = end < start ? -1 : 1;
		end += step;
	} else {
		int64_t inc = 1;

		start = a[0].i;
		end = a[2].i;
		step = a[1].i;
		if (end < start) {
			inc = -1;
			if (step > 0)
				return sprig_ret_str(ctx, "", 0, ret);
		}
		end += inc;
	}
	if (end > start && step > 0)
		count = ((uint64_t)end - (uint64_t)start + (uint64_t)step - 1) / (uint64_t)step;
	else if (end < start && step < 0)
		count = ((uint64_t)start - (uint64_t)end - (uint64_t)step - 1) / (uint64_t)(-step);
	if (count && (tmpl_ctx_steps(ctx, count) < 0 || tmpl_ctx_reserve(ctx, count * 4) < 0))
		return -ETIME;
	sprig_buf_init(ctx, &b);
	for (i = 0; (uint64_t)i < count; i++)
		if (buf_addf(&b, i ? " %" PRId64 : "%" PRId64, start + i * step) < 0) {
			buf_release(&b);
			return sprig_oom(ctx);
		}
	return sprig_ret_buf(ctx, &b, ret);
}

const struct sprig_fn sprig_math_fns[] = {
	{ "add1", "v", fn_add1 },
	{ "add", "v*", fn_add },
	{ "sub", "vv", fn_sub },
	{ "div", "vv", fn_div },
	{ "mod", "vv", fn_mod },
	{ "mul", "vv*", fn_mul },
	{ "randInt", "ii", fn_rand_int },
	{ "add1f", "v", fn_add1f },
	{ "addf", "v*", fn_addf },
	{ "subf", "vv*", fn_subf },
	{ "divf", "vv*", fn_divf },
	{ "mulf", "vv*", fn_mulf },
	{ "biggest", "vv*", fn_max },
	{ "max", "vv*", fn_max },
	{ "min", "vv*", fn_min },
	{ "maxf", "vv*", fn_maxf },
	{ "minf", "vv*", fn_minf },
	{ "ceil", "v", fn_ceil },
	{ "floor", "v", fn_floor },
	{ "round", "vif*", fn_round },
	{ "atoi", "s", fn_atoi },
	{ "int64", "v", fn_int64 },
	{ "int", "v", fn_int },
	{ "float64", "v", fn_float64 },
	{ "seq", "i*", fn_seq },
	{ "toDecimal", "v", fn_to_decimal },
};
const size_t sprig_math_nfns = ARRAY_SIZE(sprig_math_fns);
