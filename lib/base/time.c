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

int duration_parse(const char *s, int64_t *ret_ns)
{
	uint64_t total = 0;
	bool neg = false;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (streq(s, "0")) {
		*ret_ns = 0;
		return 0;
	}
	if (!*s)
		return -EINVAL;
	while (*s) {
		uint64_t whole = 0, frac = 0, scale = 1, unit = 0, v;
		bool digits = false;
		size_t i, ulen = 0;

		while (*s >= '0' && *s <= '9') {
			if (whole > (UINT64_MAX - 9) / 10)
				return -ERANGE;
			whole = whole * 10 + (uint64_t)(*s++ - '0');
			digits = true;
		}
		if (*s == '.') {
			s++;
			while (*s >= '0' && *s <= '9') {
				/* Digits past nanosecond precision cannot matter. */
				if (scale < UINT64_C(1000000000000000000)) {
					frac = frac * 10 + (uint64_t)(*s - '0');
					scale *= 10;
				}
				s++;
				digits = true;
			}
		}
		if (!digits)
			return -EINVAL;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t n = strlen(units[i].name);

			/* Longest match: "ms" before "m", "ns" before nothing. */
			if (strncmp(s, units[i].name, n) == 0 && n > ulen) {
				unit = (uint64_t)units[i].ns;
				ulen = n;
			}
		}
		if (!unit)
			return -EINVAL;
		s += ulen;
		if (whole > (uint64_t)INT64_MAX / unit)
			return -ERANGE;
		v = whole * unit;
		if (frac) {
			/* frac/scale * unit, without losing precision. */
			long double f = (long double)frac * (long double)unit / (long double)scale;

			v += (uint64_t)f;
		}
		if (v > (uint64_t)INT64_MAX - total)
			return -ERANGE;
		total += v;
	}
	*ret_ns = neg ? -(int64_t)total : (int64_t)total;
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
