/*
 * time.c: Go durations and RFC 3339 (see time.h).
 *
 * duration_parse() follows Go's time.ParseDuration grammar: fractions are
 * accumulated with a scale so "1.5h" is exact, and every step checks for
 * overflow past INT64_MAX nanoseconds (about 292 years).
 * duration_format() follows Go's Duration.String(): below one second the
 * largest fitting unit with a fraction ("1.5ms"), from one second up
 * "XhYmZ.FFFs" with trailing zeros of the fraction removed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/macro.h"
#include "base/str.h"
#include "base/time.h"
#include "base/banned.h"

static const struct {
	const char *name;
	int64_t ns;
} units[] = {
	{ "ns", 1 },
	{ "us", NSEC_PER_USEC },
	{ "\xc2\xb5s", NSEC_PER_USEC }, /* U+00B5 micro sign */
	{ "\xce\xbcs", NSEC_PER_USEC }, /* U+03BC Greek mu */
	{ "ms", NSEC_PER_MSEC },
	{ "s", NSEC_PER_SEC },
	{ "m", NSEC_PER_MIN },
	{ "h", NSEC_PER_HOUR },
};

/* Go's time.quote for the error texts: "..." with \" \\ and \xHH escapes. */
static void quote_into(char *out, size_t size, const char *s)
{
	size_t w = 0;

	if (size < 3)
		return;
	out[w++] = '"';
	for (; *s && w + 5 < size; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x80 || c < ' ') {
			w += (size_t)snprintf(out + w, size - w, "\\x%02x", c);
			continue;
		}
		if (c == '"' || c == '\\')
			out[w++] = '\\';
		out[w++] = (char)c;
	}
	out[w++] = '"';
	out[w] = '\0';
}

static int bad_duration(struct op_err *err, const char *what, const char *orig)
{
	char q[160];

	quote_into(q, sizeof(q), orig);
	return op_err_set(err, -EINVAL, "time: %s %s", what, q);
}

/* Overflow: Go's "invalid duration", but -ERANGE for the callers that tell it apart. */
static int too_long(struct op_err *err, const char *orig)
{
	bad_duration(err, "invalid duration", orig);
	return -ERANGE;
}

static int parse_impl(const char *orig, int64_t *ret_ns, struct op_err *err)
{
	const char *s = orig;
	uint64_t d = 0;
	bool neg = false;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (streq(s, "0")) {
		*ret_ns = 0;
		return 0;
	}
	if (!*s)
		return bad_duration(err, "invalid duration", orig);
	while (*s) {
		uint64_t v = 0, f = 0, unit = 0;
		double scale = 1;
		bool pre, post = false, of = false;
		const char *start;
		size_t i, ulen;

		if (!(*s == '.' || (*s >= '0' && *s <= '9')))
			return bad_duration(err, "invalid duration", orig);
		/* leadingInt */
		for (start = s; *s >= '0' && *s <= '9'; s++) {
			if (v > (UINT64_C(1) << 63) / 10)
				return too_long(err, orig);
			v = v * 10 + (uint64_t)(*s - '0');
			if (v > (UINT64_C(1) << 63))
				return too_long(err, orig);
		}
		pre = s != start;
		if (*s == '.') {
			/* leadingFraction: digits past overflow are ignored */
			for (start = ++s; *s >= '0' && *s <= '9'; s++) {
				if (of)
					continue;
				if (f > (UINT64_C(1) << 63) / 10 - 1 || f * 10 + (uint64_t)(*s - '0') > (UINT64_C(1) << 63)) {
					of = true;
					continue;
				}
				f = f * 10 + (uint64_t)(*s - '0');
				scale *= 10;
			}
			post = s != start;
		}
		if (!pre && !post)
			return bad_duration(err, "invalid duration", orig);
		/* The unit is the whole run up to the next number. */
		for (ulen = 0; s[ulen] && s[ulen] != '.' && !(s[ulen] >= '0' && s[ulen] <= '9'); ulen++)
			;
		if (ulen == 0)
			return bad_duration(err, "missing unit in duration", orig);
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strlen(units[i].name) == ulen && strncmp(s, units[i].name, ulen) == 0)
				unit = (uint64_t)units[i].ns;
		if (!unit) {
			char u[64], q[160], msg[256];

			snprintf(u, sizeof(u), "%.*s", (int)MIN(ulen, sizeof(u) - 1), s);
			quote_into(q, sizeof(q), u);
			snprintf(msg, sizeof(msg), "unknown unit %s in duration", q);
			return bad_duration(err, msg, orig);
		}
		s += ulen;
		if (v > (UINT64_C(1) << 63) / unit)
			return too_long(err, orig);
		v *= unit;
		if (f > 0) {
			/* float64 arithmetic, as Go does it */
			v += (uint64_t)((double)f * ((double)unit / scale));
			if (v > (UINT64_C(1) << 63))
				return too_long(err, orig);
		}
		d += v;
		if (d > (UINT64_C(1) << 63))
			return too_long(err, orig);
	}
	if (neg) {
		*ret_ns = (int64_t)(0 - d);
		return 0;
	}
	if (d > (uint64_t)INT64_MAX)
		return too_long(err, orig);
	*ret_ns = (int64_t)d;
	return 0;
}

int duration_parse_go(const char *s, int64_t *ret_ns, struct op_err *err)
{
	return parse_impl(s, ret_ns, err) < 0 ? -EINVAL : 0;
}

int duration_parse(const char *s, int64_t *ret_ns)
{
	return parse_impl(s, ret_ns, NULL);
}

int duration_parse_iso8601(const char *s, int64_t *ret_ns)
{
	static const struct {
		char unit;
		bool in_time; /* after the 'T' */
		int64_t ns;
	} fields[] = {
		{ 'W', false, 7 * 24 * NSEC_PER_HOUR }, { 'D', false, 24 * NSEC_PER_HOUR },
		{ 'H', true, NSEC_PER_HOUR },           { 'M', true, NSEC_PER_MIN },
		{ 'S', true, NSEC_PER_SEC },
	};
	size_t next = 0; /* fields in order, each at most once */
	bool in_time = false, any = false, frac_seen = false;
	int64_t total = 0;

	if (!s || *s++ != 'P')
		return -EINVAL;
	while (*s) {
		int64_t whole = 0, frac = 0, scale = 1, v;
		size_t i;

		if (*s == 'T') {
			if (in_time || !s[1])
				return -EINVAL;
			in_time = true;
			s++;
			continue;
		}
		if (frac_seen || *s < '0' || *s > '9')
			return -EINVAL;
		for (; *s >= '0' && *s <= '9'; s++) {
			if (whole > (INT64_MAX - 9) / 10)
				return -ERANGE;
			whole = whole * 10 + (*s - '0');
		}
		if (*s == '.' || *s == ',') {
			frac_seen = true;
			if (*++s < '0' || *s > '9')
				return -EINVAL;
			for (; *s >= '0' && *s <= '9'; s++)
				if (scale < NSEC_PER_SEC) {
					frac = frac * 10 + (*s - '0');
					scale *= 10;
				}
		}
		for (i = next; i < ARRAY_SIZE(fields); i++)
			if (fields[i].unit == *s && fields[i].in_time == in_time)
				break;
		if (i == ARRAY_SIZE(fields))
			return -EINVAL;
		next = i + 1;
		s++;
		if (whole > INT64_MAX / fields[i].ns)
			return -ERANGE;
		v = whole * fields[i].ns + (int64_t)((double)frac / (double)scale *
						    (double)fields[i].ns);
		if (v > INT64_MAX - total)
			return -ERANGE;
		total += v;
		any = true;
	}
	if (!any)
		return -EINVAL;
	*ret_ns = total;
	return 0;
}

/* Write v/10^prec with the fraction's trailing zeros dropped ("1.5"). */
static size_t fmt_frac(char *p, uint64_t v, int prec)
{
	char tmp[32];
	uint64_t div = 1, whole, frac;
	int i, n;

	for (i = 0; i < prec; i++)
		div *= 10;
	whole = v / div;
	frac = v % div;
	n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)whole);
	if (frac) {
		int digits = prec;

		while (frac % 10 == 0) {
			frac /= 10;
			digits--;
		}
		n += snprintf(tmp + n, sizeof(tmp) - (size_t)n, ".%0*llu", digits,
			      (unsigned long long)frac);
	}
	memcpy(p, tmp, (size_t)n + 1);
	return (size_t)n;
}

void duration_format(int64_t ns, char out[DURATION_MAX])
{
	uint64_t u = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
	char *p = out;

	if (ns < 0)
		*p++ = '-';
	if (u == 0) {
		memcpy(out, "0s", 3);
		return;
	}
	if (u < (uint64_t)NSEC_PER_SEC) {
		if (u < (uint64_t)NSEC_PER_USEC) {
			p += fmt_frac(p, u, 0);
			memcpy(p, "ns", 3);
		} else if (u < (uint64_t)NSEC_PER_MSEC) {
			p += fmt_frac(p, u, 3);
			memcpy(p, "\xc2\xb5s", 4);
		} else {
			p += fmt_frac(p, u, 6);
			memcpy(p, "ms", 3);
		}
		return;
	}
	if (u >= (uint64_t)NSEC_PER_HOUR) {
		p += snprintf(p, 24, "%lluh", (unsigned long long)(u / (uint64_t)NSEC_PER_HOUR));
		u %= (uint64_t)NSEC_PER_HOUR;
		p += snprintf(p, 8, "%llum", (unsigned long long)(u / (uint64_t)NSEC_PER_MIN));
		u %= (uint64_t)NSEC_PER_MIN;
	} else if (u >= (uint64_t)NSEC_PER_MIN) {
		p += snprintf(p, 8, "%llum", (unsigned long long)(u / (uint64_t)NSEC_PER_MIN));
		u %= (uint64_t)NSEC_PER_MIN;
	}
	p += fmt_frac(p, u, 9);
	memcpy(p, "s", 2);
}

int64_t time_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static void fmt_time(int64_t unix_ns, int digits, char out[RFC3339_MAX])
{
	time_t sec = (time_t)(unix_ns / NSEC_PER_SEC);
	int64_t sub = unix_ns % NSEC_PER_SEC;
	struct tm tm;
	size_t n;

	if (sub < 0) {
		sub += NSEC_PER_SEC;
		sec--;
	}
	gmtime_r(&sec, &tm);
	n = strftime(out, RFC3339_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
	if (digits == 3)
		n += (size_t)snprintf(out + n, RFC3339_MAX - n, ".%03lld",
				      (long long)(sub / NSEC_PER_MSEC));
	else if (digits == 6)
		n += (size_t)snprintf(out + n, RFC3339_MAX - n, ".%06lld",
				      (long long)(sub / NSEC_PER_USEC));
	else if (digits == 9 && sub) {
		n += (size_t)snprintf(out + n, RFC3339_MAX - n, ".%09lld", (long long)sub);
		while (out[n - 1] == '0')
			n--;
	}
	snprintf(out + n, RFC3339_MAX - n, "Z");
}

void time_format_rfc3339(int64_t unix_ns, char out[RFC3339_MAX])
{
	fmt_time(unix_ns, 0, out);
}

void time_format_rfc3339_micro(int64_t unix_ns, char out[RFC3339_MAX])
{
	fmt_time(unix_ns, 6, out);
}

void time_format_rfc3339_milli(int64_t unix_ns, char out[RFC3339_MAX])
{
	fmt_time(unix_ns, 3, out);
}

void time_format_rfc3339_nano(int64_t unix_ns, char out[RFC3339_MAX])
{
	fmt_time(unix_ns, 9, out);
}

static int digits_n(const char **s, int n, int *ret)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if ((*s)[i] < '0' || (*s)[i] > '9')
			return -EINVAL;
		v = v * 10 + ((*s)[i] - '0');
	}
	*s += n;
	*ret = v;
	return 0;
}

int time_parse_rfc3339(const char *s, int64_t *ret_ns)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0;
	int64_t frac = 0, scale = NSEC_PER_SEC, off = 0;
	struct tm tm = { 0 };
	time_t t;

	if (digits_n(&s, 4, &y) || *s++ != '-' || digits_n(&s, 2, &mo) || *s++ != '-' ||
	    digits_n(&s, 2, &d) || (*s != 'T' && *s != 't') || !*s++ || digits_n(&s, 2, &h) ||
	    *s++ != ':' || digits_n(&s, 2, &mi) || *s++ != ':' || digits_n(&s, 2, &sec))
		return -EINVAL;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return -EINVAL;
		while (*s >= '0' && *s <= '9') {
			if (scale > 1) {
				scale /= 10;
				frac += (*s - '0') * scale;
			}
			s++;
		}
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		int sign = *s++ == '-' ? -1 : 1;

		if (digits_n(&s, 2, &oh) || *s++ != ':' || digits_n(&s, 2, &om))
			return -EINVAL;
		off = sign * ((int64_t)oh * 3600 + om * 60);
	} else {
		return -EINVAL;
	}
	if (*s || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 ||
	    oh > 23 || om > 59)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	*ret_ns = ((int64_t)t - off) * NSEC_PER_SEC + frac;
	return 0;
}
