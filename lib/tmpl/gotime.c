/*
 * gotime.c: Go's time.Time formatting, parsing and zones (see gotime.h).
 *
 * DESIGN
 * Layouts are tokenised exactly as Go's nextStdChunk does (the order of
 * the tests matters: "Jan" before "January" only when a lower-case
 * letter does not follow, "_2006" is '_' then the year, ".000" is a
 * fraction only when no digit follows), and formatting and parsing walk
 * the same token stream, so a layout means the same thing both ways.
 * Civil dates use the proleptic Gregorian calendar in days since
 * 1970-01-01 (Hinnant's days_from_civil), which covers Go's whole range.
 *
 * A zone is a list of types (offset, DST flag, abbreviation) and
 * transitions, as in a TZif file; a fixed zone is one type and no
 * transition.  The local zone is loaded once (pthread_once) and never
 * freed; its reference count is not touched.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "tmpl/gotime.h"
#include "base/banned.h"

#define SECS_PER_DAY INT64_C(86400)
#define ZONEINFO_MAX (1 << 20)

struct zone_type {
	int32_t offset;
	bool isdst;
	char abbr[16];
};

struct gotime_zone {
	int refs; /* -1: immortal (the local zone) */
	char *name;
	struct zone_type *types;
	size_t ntypes;
	int64_t *when;
	uint8_t *idx;
	size_t ntx;
};

/* ------------------------------------------------------------ zones */

static struct gotime_zone *zone_new(const char *name)
{
	struct gotime_zone *z = xcalloc(1, sizeof(*z));

	z->refs = 1;
	z->name = xstrdup(name);
	return z;
}

struct gotime_zone *gotime_zone_ref(struct gotime_zone *z)
{
	if (z && z->refs > 0)
		__atomic_add_fetch(&z->refs, 1, __ATOMIC_RELAXED);
	return z;
}

struct gotime_zone *gotime_zone_unref(struct gotime_zone *z)
{
	if (!z || z->refs < 0)
		return NULL;
	if (__atomic_sub_fetch(&z->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		free(z->name);
		free(z->types);
		free(z->when);
		free(z->idx);
		free(z);
	}
	return NULL;
}

struct gotime_zone *gotime_zone_fixed(const char *name, int offset)
{
	struct gotime_zone *z = zone_new(name);

	z->types = xnew0(struct zone_type, 1);
	z->ntypes = 1;
	z->types[0].offset = offset;
	snprintf(z->types[0].abbr, sizeof(z->types[0].abbr), "%s", name);
	return z;
}

const char *gotime_zone_name(const struct gotime_zone *z)
{
	return z ? z->name : "UTC";
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Parse TZif data (Go's LoadLocationFromTZData); NULL when malformed. */
static struct gotime_zone *zone_from_tzif(const char *name, const unsigned char *d, size_t n)
{
	struct gotime_zone *z;
	uint32_t cnt[6]; /* isutcnt isstdcnt leapcnt timecnt typecnt charcnt */
	size_t i, tsize = 4, need;
	const unsigned char *p;
	int version;

	if (n < 44 || memcmp(d, "TZif", 4) != 0)
		return NULL;
	version = d[4] == 0 ? 1 : d[4] - '0';
	for (i = 0; i < 6; i++)
		cnt[i] = be32(d + 20 + 4 * i);
	p = d + 44;
	if (version >= 2) {
		/* Skip the 32-bit block: the 64-bit one follows with its own header. */
		size_t skip = (size_t)cnt[3] * 5 + (size_t)cnt[4] * 6 + cnt[5] + (size_t)cnt[2] * 8 + cnt[1] + cnt[0];

		if (skip + 44 > n - 44 || memcmp(p + skip, "TZif", 4) != 0)
			return NULL;
		for (i = 0; i < 6; i++)
			cnt[i] = be32(p + skip + 20 + 4 * i);
		p += skip + 44;
		tsize = 8;
	}
	need = (size_t)cnt[3] * (tsize + 1) + (size_t)cnt[4] * 6 + cnt[5];
	if (cnt[4] == 0 || cnt[4] > 256 || cnt[3] > 100000 || need > (size_t)(d + n - p))
		return NULL;
	z = zone_new(name);
	z->ntx = cnt[3];
	z->when = xnew0(int64_t, z->ntx + 1);
	z->idx = xnew0(uint8_t, z->ntx + 1);
	for (i = 0; i < z->ntx; i++) {
		if (tsize == 8)
			z->when[i] = (int64_t)((uint64_t)be32(p + 8 * i) << 32 | be32(p + 8 * i + 4));
		else
			z->when[i] = (int32_t)be32(p + 4 * i);
	}
	p += z->ntx * tsize;
	for (i = 0; i < z->ntx; i++) {
		z->idx[i] = p[i];
		if (p[i] >= cnt[4])
			goto bad;
	}
	p += z->ntx;
	z->ntypes = cnt[4];
	z->types = xnew0(struct zone_type, z->ntypes);
	for (i = 0; i < z->ntypes; i++) {
		const unsigned char *t = p + 6 * i;
		uint8_t ai = t[5];
		const char *chars = (const char *)(p + 6 * cnt[4]);
		size_t k = 0;

		z->types[i].offset = (int32_t)be32(t);
		z->types[i].isdst = t[4] != 0;
		if (ai >= cnt[5])
			goto bad;
		while (ai + k < cnt[5] && chars[ai + k] && k + 1 < sizeof(z->types[i].abbr)) {
			z->types[i].abbr[k] = chars[ai + k];
			k++;
		}
	}
	return z;
bad:
	z->refs = 1;
	gotime_zone_unref(z);
	return NULL;
}

static struct gotime_zone *zone_from_file(const char *name, const char *path)
{
	struct gotime_zone *z = NULL;
	unsigned char *d;
	struct stat st;
	ssize_t r;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > ZONEINFO_MAX) {
		close(fd);
		return NULL;
	}
	d = xmalloc((size_t)st.st_size + 1);
	r = read(fd, d, (size_t)st.st_size);
	close(fd);
	if (r == st.st_size)
		z = zone_from_tzif(name, d, (size_t)r);
	free(d);
	return z;
}

/* Go's loadLocation over $ZONEINFO and the platform directories. */
static struct gotime_zone *zone_from_sources(const char *name)
{
	static const char *const dirs[] = { "/usr/share/zoneinfo/", "/usr/share/lib/zoneinfo/",
					    "/usr/lib/locale/TZ/", "/etc/zoneinfo/" };
	const char *env = getenv("ZONEINFO");
	struct gotime_zone *z;
	char path[4096];
	size_t i;

	if (env && *env) {
		snprintf(path, sizeof(path), "%s/%s", env, name);
		if ((z = zone_from_file(name, path)) != NULL)
			return z;
	}
	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), "%s%s", dirs[i], name);
		if ((z = zone_from_file(name, path)) != NULL)
			return z;
	}
	return NULL;
}

static struct gotime_zone *local_zone;
static pthread_once_t local_once = PTHREAD_ONCE_INIT;

/* Go's initLocal. */
static void local_init(void)
{
	const char *tz = getenv("TZ");
	struct gotime_zone *z = NULL;

	if (!tz) {
		z = zone_from_file("Local", "/etc/localtime");
	} else if (*tz) {
		if (*tz == ':')
			tz++;
		if (*tz == '/') {
			z = zone_from_file(strcmp(tz, "/etc/localtime") == 0 ? "Local" : tz, tz);
		} else if (*tz && strcmp(tz, "UTC") != 0) {
			z = zone_from_sources(tz);
		}
	}
	if (!z) {
		z = gotime_zone_fixed("UTC", 0);
		free(z->name);
		z->name = xstrdup("UTC");
	} else if (!tz || *tz != '/') {
		free(z->name);
		z->name = xstrdup(tz && *tz ? tz : "Local");
	}
	z->refs = -1;
	local_zone = z;
}

static struct gotime_zone *zone_local(void)
{
	pthread_once(&local_once, local_init);
	return local_zone;
}

int gotime_zone_load(const char *name, struct gotime_zone **ret)
{
	struct gotime_zone *z;

	if (!*name || strcmp(name, "UTC") == 0) {
		*ret = NULL;
		return 0;
	}
	if (strcmp(name, "Local") == 0) {
		*ret = zone_local();
		return 0;
	}
	if (strstr(name, "..") || name[0] == '/' || name[0] == '\\')
		return -EINVAL;
	z = zone_from_sources(name);
	if (!z)
		return -ENOENT;
	*ret = z;
	return 0;
}

/* Go's lookupFirstZone: the zone before the first transition. */
static size_t first_zone(const struct gotime_zone *z)
{
	size_t i;
	bool used = false;

	for (i = 0; i < z->ntx; i++)
		if (z->idx[i] == 0)
			used = true;
	if (!used)
		return 0;
	if (z->ntx > 0 && z->types[z->idx[0]].isdst) {
		for (i = z->idx[0]; i-- > 0;)
			if (!z->types[i].isdst)
				return i;
	}
	for (i = 0; i < z->ntypes; i++)
		if (!z->types[i].isdst)
			return i;
	return 0;
}

/* Go's Location.lookup: the zone type at `sec`, and the span it holds for. */
static const struct zone_type *zone_lookup(const struct gotime_zone *z, int64_t sec, int64_t *start,
					   int64_t *end)
{
	size_t lo, hi;

	*start = INT64_MIN;
	*end = INT64_MAX;
	if (z->ntx == 0 || sec < z->when[0]) {
		if (z->ntx > 0)
			*end = z->when[0];
		return &z->types[first_zone(z)];
	}
	lo = 0;
	hi = z->ntx;
	while (hi - lo > 1) {
		size_t m = lo + (hi - lo) / 2;

		if (sec < z->when[m])
			hi = m;
		else
			lo = m;
	}
	*start = z->when[lo];
	if (lo + 1 < z->ntx)
		*end = z->when[lo + 1];
	return &z->types[z->idx[lo]];
}

void gotime_lookup(const struct gotime *t, const char **ret_abbr, int *ret_offset)
{
	const struct zone_type *zt;
	int64_t a, b;

	if (!t->zone) {
		*ret_abbr = "UTC";
		*ret_offset = 0;
		return;
	}
	zt = zone_lookup(t->zone, t->sec, &a, &b);
	*ret_abbr = zt->abbr;
	*ret_offset = zt->offset;
}

/* ------------------------------------------------------------ instants */

void gotime_copy(struct gotime *dst, const struct gotime *src)
{
	*dst = *src;
	dst->zone = gotime_zone_ref(src->zone);
}

void gotime_release(struct gotime *t)
{
	t->zone = gotime_zone_unref(t->zone);
}

void gotime_in(struct gotime *t, struct gotime_zone *z)
{
	struct gotime_zone *old = t->zone;

	t->zone = gotime_zone_ref(z);
	gotime_zone_unref(old);
}

void gotime_add(struct gotime *t, int64_t ns)
{
	int64_t s = ns / 1000000000, n = ns % 1000000000;

	t->sec += s;
	t->nsec += (int32_t)n;
	if (t->nsec >= 1000000000) {
		t->sec++;
		t->nsec -= 1000000000;
	} else if (t->nsec < 0) {
		t->sec--;
		t->nsec += 1000000000;
	}
	if (t->mono)
		t->mono_ns += ns;
}

void gotime_unix(int64_t sec, struct gotime *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->sec = sec;
	ret->zone = zone_local();
}

static int64_t (*clock_fn)(void);
static struct timespec mono_start;
static pthread_once_t mono_once = PTHREAD_ONCE_INIT;

static void mono_init(void)
{
	clock_gettime(CLOCK_MONOTONIC, &mono_start);
}

void gotime_set_clock(int64_t (*clock)(void))
{
	clock_fn = clock;
}

void gotime_now(struct gotime *ret)
{
	struct timespec ts, mono;
	int64_t ns;

	pthread_once(&mono_once, mono_init);
	memset(ret, 0, sizeof(*ret));
	ret->zone = zone_local();
	if (clock_fn) {
		ns = clock_fn();
		ret->sec = ns / 1000000000;
		ret->nsec = (int32_t)(ns % 1000000000);
		if (ret->nsec < 0) {
			ret->sec--;
			ret->nsec += 1000000000;
		}
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	ret->sec = ts.tv_sec;
	ret->nsec = (int32_t)ts.tv_nsec;
	ret->mono = true;
	ret->mono_ns = (int64_t)(mono.tv_sec - mono_start.tv_sec) * 1000000000 + (mono.tv_nsec - mono_start.tv_nsec) + 1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12). */
static int64_t days_from_civil(int64_t y, int m, int64_t d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	*y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y += *m <= 2;
}

static bool is_leap(int64_t y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static int days_in(int m, int64_t y)
{
	static const int dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

static int64_t floordiv(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Go's norm: carry lo's overflow of base into hi. */
static void norm(int64_t *hi, int64_t *lo, int64_t base)
{
	int64_t n = floordiv(*lo, base);

	*hi += n;
	*lo -= n * base;
}

void gotime_date(int64_t year, int month, int64_t day, int64_t hour, int64_t min, int64_t sec,
		 int64_t nsec, struct gotime_zone *z, struct gotime *ret)
{
	int64_t m = month - 1, utime;
	const struct zone_type *zt;
	int64_t start, end;

	norm(&year, &m, 12);
	norm(&sec, &nsec, 1000000000);
	norm(&min, &sec, 60);
	norm(&hour, &min, 60);
	norm(&day, &hour, 24);
	utime = (days_from_civil(year, (int)m + 1, 1) + day - 1) * SECS_PER_DAY + hour * 3600 + min * 60 + sec;
	if (z) {
		zt = zone_lookup(z, utime, &start, &end);
		if (zt->offset != 0) {
			int64_t utc = utime - zt->offset;

			if (utc < start || utc >= end)
				zt = zone_lookup(z, utc, &start, &end);
			utime -= zt->offset;
		}
	}
	memset(ret, 0, sizeof(*ret));
	ret->sec = utime;
	ret->nsec = (int32_t)nsec;
	ret->zone = gotime_zone_ref(z);
}

/* ------------------------------------------------------------ layouts */

enum std {
	STD_NONE,
	STD_LONG_MONTH,
	STD_MONTH,
	STD_NUM_MONTH,
	STD_ZERO_MONTH,
	STD_LONG_WEEKDAY,
	STD_WEEKDAY,
	STD_DAY,
	STD_UNDER_DAY,
	STD_ZERO_DAY,
	STD_UNDER_YDAY,
	STD_ZERO_YDAY,
	STD_HOUR,
	STD_HOUR12,
	STD_ZERO_HOUR12,
	STD_MINUTE,
	STD_ZERO_MINUTE,
	STD_SECOND,
	STD_ZERO_SECOND,
	STD_LONG_YEAR,
	STD_YEAR,
	STD_PM,
	STD_pm,
	STD_TZ,
	STD_ISO8601_TZ,
	STD_ISO8601_SECONDS_TZ,
	STD_ISO8601_SHORT_TZ,
	STD_ISO8601_COLON_TZ,
	STD_ISO8601_COLON_SECONDS_TZ,
	STD_NUM_TZ,
	STD_NUM_SECONDS_TZ,
	STD_NUM_SHORT_TZ,
	STD_NUM_COLON_TZ,
	STD_NUM_COLON_SECONDS_TZ,
	STD_FRAC0, /* .000 */
	STD_FRAC9, /* .999 */
};

struct chunk {
	size_t prefix; /* literal bytes before the element */
	enum std std;
	size_t len;   /* bytes of the element in the layout */
	int digits;   /* STD_FRAC*: how many */
	char sep;     /* STD_FRAC*: '.' or ',' */
};

static bool lower_at(const char *s, size_t n, size_t i)
{
	return i < n && s[i] >= 'a' && s[i] <= 'z';
}

static bool digit_at(const char *s, size_t n, size_t i)
{
	return i < n && s[i] >= '0' && s[i] <= '9';
}

static bool has(const char *s, size_t n, size_t i, const char *lit)
{
	size_t k = strlen(lit);

	return n - i >= k && memcmp(s + i, lit, k) == 0;
}

/* Go's nextStdChunk. */
static struct chunk next_chunk(const char *l, size_t n)
{
	static const enum std std0x[] = { STD_ZERO_MONTH, STD_ZERO_DAY,    STD_ZERO_HOUR12,
					  STD_ZERO_MINUTE, STD_ZERO_SECOND, STD_YEAR };
	struct chunk c = { n, STD_NONE, 0, 0, 0 };
	size_t i;

	for (i = 0; i < n; i++) {
		c.prefix = i;
		switch (l[i]) {
		case 'J':
			if (has(l, n, i, "Jan")) {
				if (has(l, n, i, "January"))
					return c.std = STD_LONG_MONTH, c.len = 7, c;
				if (!lower_at(l, n, i + 3))
					return c.std = STD_MONTH, c.len = 3, c;
			}
			break;
		case 'M':
			if (has(l, n, i, "Mon")) {
				if (has(l, n, i, "Monday"))
					return c.std = STD_LONG_WEEKDAY, c.len = 6, c;
				if (!lower_at(l, n, i + 3))
					return c.std = STD_WEEKDAY, c.len = 3, c;
			}
			if (has(l, n, i, "MST"))
				return c.std = STD_TZ, c.len = 3, c;
			break;
		case '0':
			if (i + 1 < n && l[i + 1] >= '1' && l[i + 1] <= '6')
				return c.std = std0x[l[i + 1] - '1'], c.len = 2, c;
			if (has(l, n, i, "002"))
				return c.std = STD_ZERO_YDAY, c.len = 3, c;
			break;
		case '1':
			if (i + 1 < n && l[i + 1] == '5')
				return c.std = STD_HOUR, c.len = 2, c;
			return c.std = STD_NUM_MONTH, c.len = 1, c;
		case '2':
			if (has(l, n, i, "2006"))
				return c.std = STD_LONG_YEAR, c.len = 4, c;
			return c.std = STD_DAY, c.len = 1, c;
		case '_':
			if (i + 1 < n && l[i + 1] == '2') {
				if (has(l, n, i + 1, "2006")) {
					c.prefix = i + 1;
					return c.std = STD_LONG_YEAR, c.len = 4, c;
				}
				return c.std = STD_UNDER_DAY, c.len = 2, c;
			}
			if (has(l, n, i, "__2"))
				return c.std = STD_UNDER_YDAY, c.len = 3, c;
			break;
		case '3':
			return c.std = STD_HOUR12, c.len = 1, c;
		case '4':
			return c.std = STD_MINUTE, c.len = 1, c;
		case '5':
			return c.std = STD_SECOND, c.len = 1, c;
		case 'P':
			if (i + 1 < n && l[i + 1] == 'M')
				return c.std = STD_PM, c.len = 2, c;
			break;
		case 'p':
			if (i + 1 < n && l[i + 1] == 'm')
				return c.std = STD_pm, c.len = 2, c;
			break;
		case '-':
			if (has(l, n, i, "-070000"))
				return c.std = STD_NUM_SECONDS_TZ, c.len = 7, c;
			if (has(l, n, i, "-07:00:00"))
				return c.std = STD_NUM_COLON_SECONDS_TZ, c.len = 9, c;
			if (has(l, n, i, "-0700"))
				return c.std = STD_NUM_TZ, c.len = 5, c;
			if (has(l, n, i, "-07:00"))
				return c.std = STD_NUM_COLON_TZ, c.len = 6, c;
			if (has(l, n, i, "-07"))
				return c.std = STD_NUM_SHORT_TZ, c.len = 3, c;
			break;
		case 'Z':
			if (has(l, n, i, "Z070000"))
				return c.std = STD_ISO8601_SECONDS_TZ, c.len = 7, c;
			if (has(l, n, i, "Z07:00:00"))
				return c.std = STD_ISO8601_COLON_SECONDS_TZ, c.len = 9, c;
			if (has(l, n, i, "Z0700"))
				return c.std = STD_ISO8601_TZ, c.len = 5, c;
			if (has(l, n, i, "Z07:00"))
				return c.std = STD_ISO8601_COLON_TZ, c.len = 6, c;
			if (has(l, n, i, "Z07"))
				return c.std = STD_ISO8601_SHORT_TZ, c.len = 3, c;
			break;
		case '.':
		case ',':
			if (i + 1 < n && (l[i + 1] == '0' || l[i + 1] == '9')) {
				char ch = l[i + 1];
				size_t j = i + 1;

				while (j < n && l[j] == ch)
					j++;
				/* Only a run of digits that ends here is a fraction. */
				if (!digit_at(l, n, j)) {
					c.std = ch == '0' ? STD_FRAC0 : STD_FRAC9;
					c.len = j - i;
					c.digits = (int)(j - (i + 1));
					c.sep = l[i];
					return c;
				}
			}
			break;
		default:
			break;
		}
	}
	c.prefix = n;
	return c;
}

static const char *const long_months[] = { "January", "February", "March",     "April",
					   "May",     "June",     "July",      "August",
					   "September", "October", "November", "December" };
static const char *const long_days[] = { "Sunday",   "Monday", "Tuesday", "Wednesday",
					 "Thursday", "Friday", "Saturday" };

/* Go's appendInt: `width` zero-padded digits, a '-' first when negative. */
static int add_int(struct buf *b, int64_t x, int width)
{
	char tmp[32];
	uint64_t u = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
	int n = 0, r;

	if (x < 0 && (r = buf_addch(b, '-')) < 0)
		return r;
	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	while (width-- > n)
		if ((r = buf_addch(b, '0')) < 0)
			return r;
	while (n > 0)
		if ((r = buf_addch(b, tmp[--n])) < 0)
			return r;
	return 0;
}

static int add_nano(struct buf *b, int32_t nsec, const struct chunk *c)
{
	char digits[10];
	int n = c->digits, i, r;

	if (c->std == STD_FRAC9 && (n == 0 || nsec == 0))
		return 0;
	snprintf(digits, sizeof(digits), "%09d", nsec);
	if (n > 9)
		n = 9;
	if (c->std == STD_FRAC9)
		while (n > 0 && digits[n - 1] == '0')
			n--;
	if (n == 0)
		return 0;
	if ((r = buf_addch(b, c->sep)) < 0)
		return r;
	for (i = 0; i < n; i++)
		if ((r = buf_addch(b, digits[i])) < 0)
			return r;
	return 0;
}

static bool is_iso(enum std s)
{
	return s >= STD_ISO8601_TZ && s <= STD_ISO8601_COLON_SECONDS_TZ;
}

static int add_zone(struct buf *b, enum std s, int offset)
{
	int zone = offset / 60, abs_off = offset, r;

	if (offset == 0 && is_iso(s))
		return buf_addch(b, 'Z');
	if (zone < 0) {
		r = buf_addch(b, '-');
		zone = -zone;
		abs_off = -abs_off;
	} else {
		r = buf_addch(b, '+');
	}
	if (r < 0 || (r = add_int(b, zone / 60, 2)) < 0)
		return r;
	if (s == STD_ISO8601_COLON_TZ || s == STD_NUM_COLON_TZ || s == STD_ISO8601_COLON_SECONDS_TZ ||
	    s == STD_NUM_COLON_SECONDS_TZ)
		if ((r = buf_addch(b, ':')) < 0)
			return r;
	if (s != STD_NUM_SHORT_TZ && s != STD_ISO8601_SHORT_TZ)
		if ((r = add_int(b, zone % 60, 2)) < 0)
			return r;
	if (s == STD_ISO8601_SECONDS_TZ || s == STD_NUM_SECONDS_TZ || s == STD_NUM_COLON_SECONDS_TZ ||
	    s == STD_ISO8601_COLON_SECONDS_TZ) {
		if ((s == STD_NUM_COLON_SECONDS_TZ || s == STD_ISO8601_COLON_SECONDS_TZ) && (r = buf_addch(b, ':')) < 0)
			return r;
		if ((r = add_int(b, abs_off % 60, 2)) < 0)
			return r;
	}
	return 0;
}

int gotime_format(const struct gotime *t, const char *l, size_t n, struct buf *out)
{
	const char *abbr;
	int offset, month, day, r = 0;
	int64_t local, days, year, secs, yday;
	int hour, min, sec, wday;

	gotime_lookup(t, &abbr, &offset);
	local = t->sec + offset;
	days = floordiv(local, SECS_PER_DAY);
	secs = local - days * SECS_PER_DAY;
	civil_from_days(days, &year, &month, &day);
	yday = days - days_from_civil(year, 1, 1) + 1;
	hour = (int)(secs / 3600);
	min = (int)(secs / 60 % 60);
	sec = (int)(secs % 60);
	wday = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
	while (n > 0 && r == 0) {
		struct chunk c = next_chunk(l, n);

		if (c.prefix && (r = buf_add(out, l, c.prefix)) < 0)
			return r;
		if (c.std == STD_NONE)
			break;
		l += c.prefix + c.len;
		n -= c.prefix + c.len;
		switch (c.std) {
		case STD_YEAR:
			r = add_int(out, (year < 0 ? -year : year) % 100, 2);
			break;
		case STD_LONG_YEAR:
			r = add_int(out, year, 4);
			break;
		case STD_MONTH:
			r = buf_add(out, long_months[month - 1], 3);
			break;
		case STD_LONG_MONTH:
			r = buf_adds(out, long_months[month - 1]);
			break;
		case STD_NUM_MONTH:
			r = add_int(out, month, 0);
			break;
		case STD_ZERO_MONTH:
			r = add_int(out, month, 2);
			break;
		case STD_WEEKDAY:
			r = buf_add(out, long_days[wday], 3);
			break;
		case STD_LONG_WEEKDAY:
			r = buf_adds(out, long_days[wday]);
			break;
		case STD_DAY:
			r = add_int(out, day, 0);
			break;
		case STD_UNDER_DAY:
			if (day < 10 && (r = buf_addch(out, ' ')) < 0)
				break;
			r = add_int(out, day, 0);
			break;
		case STD_ZERO_DAY:
			r = add_int(out, day, 2);
			break;
		case STD_UNDER_YDAY:
			if (yday < 100 && (r = buf_adds(out, yday < 10 ? "  " : " ")) < 0)
				break;
			r = add_int(out, yday, 0);
			break;
		case STD_ZERO_YDAY:
			r = add_int(out, yday, 3);
			break;
		case STD_HOUR:
			r = add_int(out, hour, 2);
			break;
		case STD_HOUR12:
		case STD_ZERO_HOUR12:
			r = add_int(out, hour % 12 == 0 ? 12 : hour % 12, c.std == STD_HOUR12 ? 0 : 2);
			break;
		case STD_MINUTE:
			r = add_int(out, min, 0);
			break;
		case STD_ZERO_MINUTE:
			r = add_int(out, min, 2);
			break;
		case STD_SECOND:
			r = add_int(out, sec, 0);
			break;
		case STD_ZERO_SECOND:
			r = add_int(out, sec, 2);
			break;
		case STD_PM:
			r = buf_adds(out, hour >= 12 ? "PM" : "AM");
			break;
		case STD_pm:
			r = buf_adds(out, hour >= 12 ? "pm" : "am");
			break;
		case STD_TZ:
			if (*abbr) {
				r = buf_adds(out, abbr);
				break;
			}
			/* No name: the -0700 form. */
			r = buf_addch(out, offset < 0 ? '-' : '+');
			if (r == 0)
				r = add_int(out, (offset < 0 ? -offset : offset) / 60 / 60, 2);
			if (r == 0)
				r = add_int(out, (offset < 0 ? -offset : offset) / 60 % 60, 2);
			break;
		case STD_FRAC0:
		case STD_FRAC9:
			r = add_nano(out, t->nsec, &c);
			break;
		default:
			r = add_zone(out, c.std, offset);
			break;
		}
	}
	return r;
}

int gotime_string(const struct gotime *t, struct buf *out)
{
	static const char layout[] = "2006-01-02 15:04:05.999999999 -0700 MST";
	int r = gotime_format(t, layout, sizeof(layout) - 1, out);

	if (r == 0 && t->mono) {
		/* Go: " m=±s.nnnnnnnnn" with the monotonic reading. */
		int64_t m = t->mono_ns;

		r = buf_addf(out, " m=%c%" PRId64 ".%09" PRId64, m < 0 ? '-' : '+', (m < 0 ? -m : m) / 1000000000,
			     (m < 0 ? -m : m) % 1000000000);
	}
	return r;
}

/* ------------------------------------------------------------ parsing */

struct span {
	const char *p;
	size_t n;
};

/* Go's time.quote: "..." with \" \\ and \xHH for non-ASCII and controls. */
static void quote(struct buf *b, struct span s)
{
	size_t i;

	(void)buf_addch(b, '"');
	for (i = 0; i < s.n; i++) {
		unsigned char c = (unsigned char)s.p[i];

		if (c >= 0x80 || c < ' ') {
			(void)buf_addf(b, "\\x%02x", c);
			continue;
		}
		if (c == '"' || c == '\\')
			(void)buf_addch(b, '\\');
		(void)buf_addch(b, (char)c);
	}
	(void)buf_addch(b, '"');
}

static int parse_error(char **ret_err, struct span layout, struct span value, struct span elem,
		       struct span velem, const char *msg)
{
	struct buf b = BUF_INIT(1 << 16);

	(void)buf_adds(&b, "parsing time ");
	quote(&b, value);
	if (msg) {
		(void)buf_adds(&b, msg);
	} else {
		(void)buf_adds(&b, " as ");
		quote(&b, layout);
		(void)buf_adds(&b, ": cannot parse ");
		quote(&b, velem);
		(void)buf_adds(&b, " as ");
		quote(&b, elem);
	}
	*ret_err = buf_detach(&b, NULL);
	return -EINVAL;
}

static bool vdigit(struct span v, size_t i)
{
	return i < v.n && v.p[i] >= '0' && v.p[i] <= '9';
}

static void advance(struct span *v, size_t k)
{
	v->p += k;
	v->n -= k;
}

/* Go's getnum: one or two digits (exactly two when fixed). */
static bool getnum(struct span *v, bool fixed, int *ret)
{
	if (!vdigit(*v, 0))
		return false;
	if (!vdigit(*v, 1)) {
		if (fixed)
			return false;
		*ret = v->p[0] - '0';
		advance(v, 1);
		return true;
	}
	*ret = (v->p[0] - '0') * 10 + (v->p[1] - '0');
	advance(v, 2);
	return true;
}

static bool getnum3(struct span *v, bool fixed, int *ret)
{
	int n = 0;
	size_t i;

	for (i = 0; i < 3 && vdigit(*v, i); i++)
		n = n * 10 + (v->p[i] - '0');
	if (i == 0 || (fixed && i != 3))
		return false;
	*ret = n;
	advance(v, i);
	return true;
}

/* Go's atoi on a whole span: optional sign, digits, nothing else. */
static bool span_atoi(struct span s, int64_t *ret)
{
	bool neg = false;
	uint64_t x = 0;
	size_t i = 0;

	if (s.n > 0 && (s.p[0] == '-' || s.p[0] == '+')) {
		neg = s.p[0] == '-';
		i = 1;
	}
	if (i == s.n)
		return false;
	for (; i < s.n; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
		if (x > (UINT64_C(1) << 63) / 10)
			return false;
		x = x * 10 + (uint64_t)(s.p[i] - '0');
		if (x > (UINT64_C(1) << 63))
			return false;
	}
	*ret = neg ? -(int64_t)x : (int64_t)x;
	return true;
}

/* Go's lookup: case-insensitive ASCII prefix match against names. */
static int lookup_name(const char *const *tab, size_t ntab, size_t len, struct span *v)
{
	size_t i, k;

	for (i = 0; i < ntab; i++) {
		size_t nl = len ? len : strlen(tab[i]);

		if (v->n < nl)
			continue;
		for (k = 0; k < nl; k++) {
			char a = v->p[k], b = tab[i][k];

			if (a != b) {
				a |= 0x20;
				b |= 0x20;
				if (a != b || a < 'a' || a > 'z')
					break;
			}
		}
		if (k == nl) {
			advance(v, nl);
			return (int)i;
		}
	}
	return -1;
}

/* Go's parseNanoseconds: v starts with the separator; `nbytes` includes it. */
static bool parse_nanos(struct span v, size_t nbytes, int64_t *ns, const char **range)
{
	struct span d;
	size_t i;

	if (v.p[0] != '.' && v.p[0] != ',')
		return false;
	if (nbytes > 10)
		nbytes = 10;
	d.p = v.p + 1;
	d.n = nbytes - 1;
	if (!span_atoi(d, ns))
		return false;
	if (*ns < 0) {
		*range = "fractional second";
		return true;
	}
	for (i = 0; i < 10 - nbytes; i++)
		*ns *= 10;
	return true;
}

/* Go's leadingInt on the digits at *v (for parseSignedOffset). */
static size_t signed_offset_len(struct span v)
{
	uint64_t x = 0;
	size_t i = 1;

	if (v.n == 0 || (v.p[0] != '-' && v.p[0] != '+'))
		return 0;
	while (i < v.n && v.p[i] >= '0' && v.p[i] <= '9') {
		x = x * 10 + (uint64_t)(v.p[i] - '0');
		if (x > 1000)
			x = 1000;
		i++;
	}
	if (i == 1 || x > 23)
		return 0;
	return i;
}

/* Go's parseTimeZone: the length of a zone abbreviation at v, or 0. */
static size_t zone_name_len(struct span v)
{
	size_t up;

	if (v.n < 3)
		return 0;
	if (v.n >= 4 && (memcmp(v.p, "ChST", 4) == 0 || memcmp(v.p, "MeST", 4) == 0))
		return 4;
	if (memcmp(v.p, "GMT", 3) == 0) {
		struct span rest = { v.p + 3, v.n - 3 };

		return rest.n == 0 ? 3 : 3 + signed_offset_len(rest);
	}
	if (v.p[0] == '+' || v.p[0] == '-')
		return signed_offset_len(v);
	for (up = 0; up < 6 && up < v.n && v.p[up] >= 'A' && v.p[up] <= 'Z'; up++)
		;
	switch (up) {
	case 5:
		return v.p[4] == 'T' ? 5 : 0;
	case 4:
		return v.p[3] == 'T' || memcmp(v.p, "WITA", 4) == 0 ? 4 : 0;
	case 3:
		return 3;
	default:
		return 0;
	}
}

/* Go's skip: match the layout's literal prefix; spaces match runs of spaces. */
static bool skip(struct span *v, struct span prefix)
{
	while (prefix.n > 0) {
		if (prefix.p[0] == ' ') {
			if (v->n > 0 && v->p[0] != ' ')
				return false;
			while (prefix.n > 0 && prefix.p[0] == ' ')
				advance(&prefix, 1);
			while (v->n > 0 && v->p[0] == ' ')
				advance(v, 1);
			continue;
		}
		if (v->n == 0 || v->p[0] != prefix.p[0])
			return false;
		advance(&prefix, 1);
		advance(v, 1);
	}
	return true;
}

/* Go's Location.lookupName: an abbreviation in use near `utime`. */
static bool zone_lookup_name(const struct gotime_zone *z, const char *name, size_t n, int64_t utime,
			     int *offset)
{
	size_t i;

	for (i = 0; i < z->ntypes; i++) {
		const struct zone_type *t = &z->types[i];
		int64_t a, b;

		if (strlen(t->abbr) == n && memcmp(t->abbr, name, n) == 0 &&
		    zone_lookup(z, utime - t->offset, &a, &b) == t) {
			*offset = t->offset;
			return true;
		}
	}
	for (i = 0; i < z->ntypes; i++) {
		const struct zone_type *t = &z->types[i];

		if (strlen(t->abbr) == n && memcmp(t->abbr, name, n) == 0) {
			*offset = t->offset;
			return true;
		}
	}
	return false;
}

int gotime_parse(const char *lp, size_t ln, const char *vp, size_t vn, struct gotime_zone *loc,
		 struct gotime *ret, char **ret_err)
{
	static const char *const short_days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	struct span layout = { lp, ln }, value = { vp, vn }, l = layout, v = value;
	int64_t year = 0, nsec = 0;
	int month = -1, day = -1, yday = -1, hour = 0, min = 0, sec = 0;
	int zone_offset = -1;
	bool am = false, pm = false, utc = false;
	struct span zname = { NULL, 0 };

	for (;;) {
		struct chunk c = next_chunk(l.p, l.n);
		struct span prefix = { l.p, c.prefix }, elem = { l.p + c.prefix, c.len }, hold;
		const char *range = NULL;
		bool ok = true;

		if (!skip(&v, prefix))
			return parse_error(ret_err, layout, value, prefix, v, NULL);
		if (c.std == STD_NONE) {
			if (v.n != 0) {
				struct buf m = BUF_INIT(1 << 16);
				char *msg;
				int r;

				(void)buf_adds(&m, ": extra text: ");
				quote(&m, v);
				msg = buf_detach(&m, NULL);
				r = parse_error(ret_err, layout, value, elem, v, msg);
				free(msg);
				return r;
			}
			break;
		}
		advance(&l, c.prefix + c.len);
		hold = v;
		switch (c.std) {
		case STD_YEAR: {
			struct span p = { v.p, 2 };

			if (v.n < 2 || !span_atoi(p, &year)) {
				ok = false;
				break;
			}
			advance(&v, 2);
			year += year >= 69 ? 1900 : 2000;
			break;
		}
		case STD_LONG_YEAR: {
			struct span p = { v.p, 4 };

			if (v.n < 4 || !vdigit(v, 0) || !span_atoi(p, &year)) {
				ok = false;
				break;
			}
			advance(&v, 4);
			break;
		}
		case STD_MONTH:
			month = lookup_name(long_months, 12, 3, &v) + 1;
			ok = month > 0;
			break;
		case STD_LONG_MONTH:
			month = lookup_name(long_months, 12, 0, &v) + 1;
			ok = month > 0;
			break;
		case STD_NUM_MONTH:
		case STD_ZERO_MONTH:
			ok = getnum(&v, c.std == STD_ZERO_MONTH, &month);
			if (ok && (month <= 0 || month > 12))
				range = "month";
			break;
		case STD_WEEKDAY:
			ok = lookup_name(short_days, 7, 0, &v) >= 0;
			break;
		case STD_LONG_WEEKDAY:
			ok = lookup_name(long_days, 7, 0, &v) >= 0;
			break;
		case STD_DAY:
		case STD_UNDER_DAY:
		case STD_ZERO_DAY:
			if (c.std == STD_UNDER_DAY && v.n > 0 && v.p[0] == ' ')
				advance(&v, 1);
			ok = getnum(&v, c.std == STD_ZERO_DAY, &day);
			break;
		case STD_UNDER_YDAY:
		case STD_ZERO_YDAY:
			for (int i = 0; i < 2; i++)
				if (c.std == STD_UNDER_YDAY && v.n > 0 && v.p[0] == ' ')
					advance(&v, 1);
			ok = getnum3(&v, c.std == STD_ZERO_YDAY, &yday);
			break;
		case STD_HOUR:
			ok = getnum(&v, false, &hour);
			if (hour < 0 || hour >= 24)
				range = "hour";
			break;
		case STD_HOUR12:
		case STD_ZERO_HOUR12:
			ok = getnum(&v, c.std == STD_ZERO_HOUR12, &hour);
			if (hour < 0 || hour > 12)
				range = "hour";
			break;
		case STD_MINUTE:
		case STD_ZERO_MINUTE:
			ok = getnum(&v, c.std == STD_ZERO_MINUTE, &min);
			if (min < 0 || min >= 60)
				range = "minute";
			break;
		case STD_SECOND:
		case STD_ZERO_SECOND:
			ok = getnum(&v, c.std == STD_ZERO_SECOND, &sec);
			if (!ok)
				break;
			if (sec < 0 || sec >= 60) {
				range = "second";
				break;
			}
			/* A fraction in the value that the layout does not name. */
			if (v.n >= 2 && (v.p[0] == '.' || v.p[0] == ',') && vdigit(v, 1)) {
				struct chunk nc = next_chunk(l.p, l.n);
				size_t k = 2;

				if (nc.std == STD_FRAC0 || nc.std == STD_FRAC9)
					break;
				while (k < v.n && vdigit(v, k))
					k++;
				ok = parse_nanos(v, k, &nsec, &range);
				advance(&v, k);
			}
			break;
		case STD_PM:
		case STD_pm:
			if (v.n < 2) {
				ok = false;
				break;
			}
			if (memcmp(v.p, c.std == STD_PM ? "PM" : "pm", 2) == 0)
				pm = true;
			else if (memcmp(v.p, c.std == STD_PM ? "AM" : "am", 2) == 0)
				am = true;
			else
				ok = false;
			advance(&v, 2);
			break;
		case STD_TZ: {
			size_t k;

			if (v.n >= 3 && memcmp(v.p, "UTC", 3) == 0) {
				utc = true;
				advance(&v, 3);
				break;
			}
			k = zone_name_len(v);
			if (k == 0) {
				ok = false;
				break;
			}
			zname.p = v.p;
			zname.n = k;
			advance(&v, k);
			break;
		}
		case STD_FRAC0: {
			size_t nd = 1 + (size_t)c.digits;

			if (v.n < nd) {
				ok = false;
				break;
			}
			ok = parse_nanos(v, nd, &nsec, &range);
			advance(&v, nd);
			break;
		}
		case STD_FRAC9: {
			size_t i = 0;

			if (v.n < 2 || (v.p[0] != '.' && v.p[0] != ',') || !vdigit(v, 1))
				break;
			while (i + 1 < v.n && vdigit(v, i + 1))
				i++;
			ok = parse_nanos(v, 1 + i, &nsec, &range);
			advance(&v, 1 + i);
			break;
		}
		default: {
			/* Numeric zones: ±hh, ±hhmm, ±hh:mm, ±hhmmss, ±hh:mm:ss; ISO forms also Z. */
			char sign;
			struct span hh, mm = { "00", 2 }, ss = { "00", 2 };
			int hr = 0, mi = 0, se = 0;
			enum std s = c.std;

			if (is_iso(s) && v.n >= 1 && v.p[0] == 'Z') {
				advance(&v, 1);
				utc = true;
				break;
			}
			if (s == STD_ISO8601_COLON_TZ || s == STD_NUM_COLON_TZ) {
				if (v.n < 6 || v.p[3] != ':') {
					ok = false;
					break;
				}
				hh = (struct span){ v.p + 1, 2 };
				mm = (struct span){ v.p + 4, 2 };
				sign = v.p[0];
				advance(&v, 6);
			} else if (s == STD_NUM_SHORT_TZ || s == STD_ISO8601_SHORT_TZ) {
				if (v.n < 3) {
					ok = false;
					break;
				}
				hh = (struct span){ v.p + 1, 2 };
				sign = v.p[0];
				advance(&v, 3);
			} else if (s == STD_ISO8601_COLON_SECONDS_TZ || s == STD_NUM_COLON_SECONDS_TZ) {
				if (v.n < 9 || v.p[3] != ':' || v.p[6] != ':') {
					ok = false;
					break;
				}
				hh = (struct span){ v.p + 1, 2 };
				mm = (struct span){ v.p + 4, 2 };
				ss = (struct span){ v.p + 7, 2 };
				sign = v.p[0];
				advance(&v, 9);
			} else if (s == STD_ISO8601_SECONDS_TZ || s == STD_NUM_SECONDS_TZ) {
				if (v.n < 7) {
					ok = false;
					break;
				}
				hh = (struct span){ v.p + 1, 2 };
				mm = (struct span){ v.p + 3, 2 };
				ss = (struct span){ v.p + 5, 2 };
				sign = v.p[0];
				advance(&v, 7);
			} else {
				if (v.n < 5) {
					ok = false;
					break;
				}
				hh = (struct span){ v.p + 1, 2 };
				mm = (struct span){ v.p + 3, 2 };
				sign = v.p[0];
				advance(&v, 5);
			}
			ok = getnum(&hh, true, &hr) && getnum(&mm, true, &mi) && getnum(&ss, true, &se);
			if (hr > 24)
				range = "time zone offset hour";
			if (mi > 60)
				range = "time zone offset minute";
			if (se > 60)
				range = "time zone offset second";
			zone_offset = (hr * 60 + mi) * 60 + se;
			if (sign == '-')
				zone_offset = -zone_offset;
			else if (sign != '+')
				ok = false;
			break;
		}
		}
		if (range) {
			char msg[64];

			snprintf(msg, sizeof(msg), ": %s out of range", range);
			return parse_error(ret_err, layout, value, elem, v, msg);
		}
		if (!ok)
			return parse_error(ret_err, layout, value, elem, hold, NULL);
	}
	if (pm && hour < 12)
		hour += 12;
	else if (am && hour == 12)
		hour = 0;
	if (yday >= 0) {
		int m = 0, d = 0;

		if (is_leap(year)) {
			if (yday == 31 + 29) {
				m = 2;
				d = 29;
			} else if (yday > 31 + 29) {
				yday--;
			}
		}
		if (yday < 1 || yday > 365)
			return parse_error(ret_err, layout, value, l, v, ": day-of-year out of range");
		if (m == 0) {
			int before = 0;

			for (m = 1; m < 12 && before + days_in(m, 2001) < yday; m++)
				before += days_in(m, 2001);
			d = yday - before;
		}
		if (month >= 0 && month != m)
			return parse_error(ret_err, layout, value, l, v, ": day-of-year does not match month");
		month = m;
		if (day >= 0 && day != d)
			return parse_error(ret_err, layout, value, l, v, ": day-of-year does not match day");
		day = d;
	} else {
		if (month < 0)
			month = 1;
		if (day < 0)
			day = 1;
	}
	if (day < 1 || day > days_in(month, year))
		return parse_error(ret_err, layout, value, l, v, ": day out of range");
	if (utc) {
		gotime_date(year, month, day, hour, min, sec, nsec, NULL, ret);
		return 0;
	}
	if (zone_offset != -1) {
		int64_t a, b;
		const struct zone_type *zt;
		char name[16];

		gotime_date(year, month, day, hour, min, sec, nsec, NULL, ret);
		ret->sec -= zone_offset;
		/* The local zone, when it has this offset (and name) then. */
		if (loc) {
			zt = zone_lookup(loc, ret->sec, &a, &b);
			if (zt->offset == zone_offset &&
			    (zname.n == 0 || (strlen(zt->abbr) == zname.n && memcmp(zt->abbr, zname.p, zname.n) == 0))) {
				ret->zone = gotime_zone_ref(loc);
				return 0;
			}
		} else if (zone_offset == 0 && (zname.n == 0 || (zname.n == 3 && memcmp(zname.p, "UTC", 3) == 0))) {
			return 0;
		}
		snprintf(name, sizeof(name), "%.*s", (int)MIN(zname.n, sizeof(name) - 1), zname.p ? zname.p : "");
		ret->zone = gotime_zone_fixed(name, zone_offset);
		return 0;
	}
	if (zname.n) {
		int offset = 0;
		char name[16];

		gotime_date(year, month, day, hour, min, sec, nsec, NULL, ret);
		if (loc && zone_lookup_name(loc, zname.p, zname.n, ret->sec, &offset)) {
			ret->sec -= offset;
			ret->zone = gotime_zone_ref(loc);
			return 0;
		}
		if (!loc && zname.n == 3 && memcmp(zname.p, "UTC", 3) == 0)
			return 0;
		if (zname.n > 3 && memcmp(zname.p, "GMT", 3) == 0) {
			struct span off = { zname.p + 3, zname.n - 3 };
			int64_t h = 0;

			if (span_atoi(off, &h))
				offset = (int)h * 3600;
		}
		snprintf(name, sizeof(name), "%.*s", (int)MIN(zname.n, sizeof(name) - 1), zname.p);
		ret->zone = gotime_zone_fixed(name, offset);
		return 0;
	}
	gotime_date(year, month, day, hour, min, sec, nsec, loc, ret);
	return 0;
}
