/*
 * sprig_date.c: Sprig's date functions (date.go) and the time.Time value
 * they pass around, over lib/tmpl/gotime.c.
 *
 * DESIGN
 * A time.Time template value (type "time.Time", a struct) holds its
 * instant and one of three locations: UTC, Local, or a fixed zone (name
 * and offset) -- the only ones a Sprig result can carry (toDate yields
 * Local or a fixed zone from the text; dateInZone returns a string).  So
 * the value lives in the arena without owning a zone reference.  It
 * prints with Time.String(), marshals to JSON as RFC 3339 with
 * nanoseconds, and offers the methods charts call (Unix, Format, Year,
 * ...).  Functions whose Go parameter is time.Time take interface{} here
 * and check the type themselves: the executor has no parameter letter for
 * named types (see the report on lib/tmpl).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/str.h"
#include "base/time.h"
#include "tmpl/gotime.h"
#include "tmpl/sprig.h"
#include "tmpl/tmpl.h"
#include "base/banned.h"

enum loc_kind { LOC_UTC, LOC_LOCAL, LOC_FIXED };

struct time_obj {
	int64_t sec;
	int32_t nsec;
	enum loc_kind loc;
	int offset;
	char name[16];
	bool mono;
	int64_t mono_ns;
};

static const struct tmpl_type time_type;

/* The gotime of a value (a zone reference taken: gotime_release() it). */
static void obj_to_gotime(const struct time_obj *o, struct gotime *t)
{
	memset(t, 0, sizeof(*t));
	t->sec = o->sec;
	t->nsec = o->nsec;
	t->mono = o->mono;
	t->mono_ns = o->mono_ns;
	if (o->loc == LOC_LOCAL)
		(void)gotime_zone_load("Local", &t->zone);
	else if (o->loc == LOC_FIXED)
		t->zone = gotime_zone_fixed(o->name, o->offset);
}

static struct tmpl_val time_val(struct tmpl_arena *ar, const struct gotime *t)
{
	struct time_obj *o = tmpl_alloc(ar, sizeof(*o));
	struct gotime_zone *local = NULL;

	(void)gotime_zone_load("Local", &local);
	o->sec = t->sec;
	o->nsec = t->nsec;
	o->mono = t->mono;
	o->mono_ns = t->mono_ns;
	if (!t->zone) {
		o->loc = LOC_UTC;
	} else if (t->zone == local) {
		o->loc = LOC_LOCAL;
	} else {
		const char *abbr;
		int off;

		gotime_lookup(t, &abbr, &off);
		o->loc = LOC_FIXED;
		o->offset = off;
		snprintf(o->name, sizeof(o->name), "%s", gotime_zone_name(t->zone));
	}
	return tmpl_obj(&time_type, o);
}

static bool is_time(const struct tmpl_val *v)
{
	return v->kind == TMPL_OBJ && v->type == &time_type && v->o;
}

static int time_string(const struct tmpl_val *self, struct buf *out)
{
	struct gotime t;
	int r;

	obj_to_gotime(self->o, &t);
	r = gotime_string(&t, out);
	gotime_release(&t);
	return r;
}

static cJSON *time_to_json(const struct tmpl_val *self)
{
	static const char layout[] = "2006-01-02T15:04:05.999999999Z07:00";
	struct buf b = BUF_INIT(256);
	struct gotime t;
	cJSON *j;

	obj_to_gotime(self->o, &t);
	(void)gotime_format(&t, layout, sizeof(layout) - 1, &b);
	gotime_release(&t);
	j = cJSON_CreateString(b.buf);
	buf_release(&b);
	return j;
}

static int m_unix(struct tmpl_ctx *ctx, const struct tmpl_val *self, const struct tmpl_val *a, size_t n,
		  struct tmpl_val *ret)
{
	*ret = tmpl_int64(((const struct time_obj *)self->o)->sec);
	return 0;
}

static int m_unix_nano(struct tmpl_ctx *ctx, const struct tmpl_val *self, const struct tmpl_val *a,
		       size_t n, struct tmpl_val *ret)
{
	const struct time_obj *o = self->o;

	*ret = tmpl_int64((int64_t)((uint64_t)o->sec * 1000000000u + (uint64_t)o->nsec));
	return 0;
}

static int m_format(struct tmpl_ctx *ctx, const struct tmpl_val *self, const struct tmpl_val *a,
		    size_t n, struct tmpl_val *ret)
{
	struct gotime t;
	struct buf b;
	int r;

	obj_to_gotime(self->o, &t);
	sprig_buf_init(ctx, &b);
	r = gotime_format(&t, a[0].s.p, a[0].s.n, &b);
	gotime_release(&t);
	if (r < 0) {
		buf_release(&b);
		return sprig_oom(ctx);
	}
	return sprig_ret_buf(ctx, &b, ret);
}

/* One calendar field through a layout (Year "2006", Day "2", ...). */
static int field(struct tmpl_ctx *ctx, const struct tmpl_val *self, const char *layout, struct tmpl_val *ret)
{
	struct gotime t;
	char tmp[32];
	struct buf b = BUF_INIT(sizeof(tmp));
	int64_t v = 0;

	obj_to_gotime(self->o, &t);
	(void)gotime_format(&t, layout, strlen(layout), &b);
	gotime_release(&t);
	sscanf(b.buf, "%" SCNd64, &v);
	buf_release(&b);
	*ret = tmpl_int(v);
	return 0;
}

#define FIELD_METHOD(fname, layout)                                                                \
	static int fname(struct tmpl_ctx *ctx, const struct tmpl_val *self, const struct tmpl_val *a,   \
			 size_t n, struct tmpl_val *ret)                                                \
	{                                                                                          \
		return field(ctx, self, layout, ret);                                              \
	}

FIELD_METHOD(m_year, "2006")
FIELD_METHOD(m_day, "2")
FIELD_METHOD(m_hour, "15")
FIELD_METHOD(m_minute, "4")
FIELD_METHOD(m_second, "5")
FIELD_METHOD(m_yday, "002")

static int m_nanosecond(struct tmpl_ctx *ctx, const struct tmpl_val *self, const struct tmpl_val *a,
			size_t n, struct tmpl_val *ret)
{
	*ret = tmpl_int(((const struct time_obj *)self->o)->nsec);
	return 0;
}

static int m_in_loc(struct tmpl_ctx *ctx, const struct tmpl_val *self, enum loc_kind loc, struct tmpl_val *ret)
{
	struct time_obj *o = tmpl_alloc(tmpl_ctx_arena(ctx), sizeof(*o));

	*o = *(const struct time_obj *)self->o;
	o->loc = loc;
	*ret = tmpl_obj(&time_type, o);
	return 0;
}

static int m_utc(struct tmpl_ctx *ctx, const struct tmpl_val *self, const struct tmpl_val *a, size_t n,
		 struct tmpl_val *ret)
{
	return m_in_loc(ctx, self, LOC_UTC, ret);
}

static int m_local(struct tmpl_ctx *ctx, const struct tmpl_val *self, const struct tmpl_val *a, size_t n,
		   struct tmpl_val *ret)
{
	return m_in_loc(ctx, self, LOC_LOCAL, ret);
}

static int m_is_zero(struct tmpl_ctx *ctx, const struct tmpl_val *self, const struct tmpl_val *a,
		     size_t n, struct tmpl_val *ret)
{
	const struct time_obj *o = self->o;

	*ret = tmpl_bool(o->sec == INT64_C(-62135596800) && o->nsec == 0);
	return 0;
}

static int m_string(struct tmpl_ctx *ctx, const struct tmpl_val *self, const struct tmpl_val *a,
		    size_t n, struct tmpl_val *ret)
{
	struct buf b;

	sprig_buf_init(ctx, &b);
	if (time_string(self, &b) < 0) {
		buf_release(&b);
		return sprig_oom(ctx);
	}
	return sprig_ret_buf(ctx, &b, ret);
}

static const struct tmpl_method time_methods[] = {
	{ "Day", "", m_day },
	{ "Format", "s", m_format },
	{ "Hour", "", m_hour },
	{ "IsZero", "", m_is_zero },
	{ "Local", "", m_local },
	{ "Minute", "", m_minute },
	{ "Nanosecond", "", m_nanosecond },
	{ "Second", "", m_second },
	{ "String", "", m_string },
	{ "UTC", "", m_utc },
	{ "Unix", "", m_unix },
	{ "UnixNano", "", m_unix_nano },
	{ "Year", "", m_year },
	{ "YearDay", "", m_yday },
};

static const struct tmpl_type time_type = {
	.name = "time.Time",
	.kind = "struct",
	.methods = time_methods,
	.n_methods = ARRAY_SIZE(time_methods),
	.string = time_string,
	.to_json = time_to_json,
};

/* ---------------------------------------------------------------- functions */

SPRIG_FN(fn_now)
{
	struct gotime t;

	gotime_now(&t);
	*ret = time_val(tmpl_ctx_arena(ctx), &t);
	gotime_release(&t);
	return 0;
}

/* The instant of a date argument: a time.Time, Unix seconds (int kinds), else now. */
static void date_arg(const struct tmpl_val *v, bool int32_ok, struct gotime *t)
{
	if (is_time(v)) {
		obj_to_gotime(v->o, t);
	} else if (v->kind == TMPL_INT || v->kind == TMPL_INT64 || (int32_ok && v->kind == TMPL_INT32)) {
		gotime_unix(v->i, t);
	} else {
		gotime_now(t);
	}
}

static int date_in_zone(struct tmpl_ctx *ctx, const char *fmt, size_t fl, const struct tmpl_val *date,
			const char *zone, size_t zl, struct tmpl_val *ret)
{
	struct gotime_zone *z = NULL;
	char name[256];
	struct gotime t;
	struct buf b;
	int r;

	date_arg(date, true, &t);
	snprintf(name, sizeof(name), "%.*s", (int)zl, zone);
	if (zl >= sizeof(name) || memchr(zone, '\0', zl) || gotime_zone_load(name, &z) < 0)
		z = NULL; /* Sprig falls back to UTC */
	gotime_in(&t, z);
	gotime_zone_unref(z);
	sprig_buf_init(ctx, &b);
	r = gotime_format(&t, fmt, fl, &b);
	gotime_release(&t);
	if (r < 0) {
		buf_release(&b);
		return sprig_oom(ctx);
	}
	return sprig_ret_buf(ctx, &b, ret);
}

SPRIG_FN(fn_date)
{
	return date_in_zone(ctx, a[0].s.p, a[0].s.n, &a[1], "Local", 5, ret);
}

SPRIG_FN(fn_date_in_zone)
{
	return date_in_zone(ctx, a[0].s.p, a[0].s.n, &a[1], a[2].s.p, a[2].s.n, ret);
}

SPRIG_FN(fn_html_date)
{
	return date_in_zone(ctx, "2006-01-02", 10, &a[0], "Local", 5, ret);
}

SPRIG_FN(fn_html_date_in_zone)
{
	return date_in_zone(ctx, "2006-01-02", 10, &a[0], a[1].s.p, a[1].s.n, ret);
}

/* A time.Time parameter: Go's argument check, reported by the function. */
static int need_time(struct tmpl_ctx *ctx, const struct tmpl_val *v)
{
	if (is_time(v))
		return 0;
	if (v->kind == TMPL_NIL)
		return tmpl_ctx_errorf(ctx, "invalid value; expected time.Time");
	return tmpl_ctx_errorf(ctx, "wrong type for value; expected time.Time; got %s", tmpl_type_name(v));
}

static int date_modify(struct tmpl_ctx *ctx, const struct tmpl_val *a, bool must, struct tmpl_val *ret)
{
	struct op_err err = OP_ERR_INIT;
	struct gotime t;
	int64_t ns;
	char *d;
	int r;

	if ((r = need_time(ctx, &a[1])) < 0)
		return r;
	d = tmpl_memdup(tmpl_ctx_arena(ctx), a[0].s.p, a[0].s.n);
	if (memchr(a[0].s.p, '\0', a[0].s.n) || duration_parse_go(d, &ns, &err) < 0) {
		if (!must) {
			*ret = a[1];
			return 0;
		}
		return tmpl_ctx_errorf(ctx, "%s", err.msg[0] ? err.msg : "time: invalid duration");
	}
	obj_to_gotime(a[1].o, &t);
	gotime_add(&t, ns);
	*ret = time_val(tmpl_ctx_arena(ctx), &t);
	gotime_release(&t);
	return 0;
}

SPRIG_FN(fn_date_modify)
{
	return date_modify(ctx, a, false, ret);
}

SPRIG_FN(fn_must_date_modify)
{
	return date_modify(ctx, a, true, ret);
}

/* Go's Duration.Round(m). */
static int64_t duration_round(int64_t d, int64_t m)
{
	int64_t r = d % m;

	if (d < 0) {
		r = -r;
		if (r + r < m)
			return d + r;
		if (d - m + r < d)
			return d - m + r;
		return INT64_MIN;
	}
	if (r + r < m)
		return d - r;
	if (d + m - r > d)
		return d + m - r;
	return INT64_MAX;
}

/* time.Since(t): now minus t, by the monotonic clocks when both have one. */
static int64_t since(const struct gotime *t)
{
	struct gotime now;
	int64_t d;

	gotime_now(&now);
	if (now.mono && t->mono)
		d = now.mono_ns - t->mono_ns;
	else
		d = (int64_t)((uint64_t)(now.sec - t->sec) * 1000000000u + (uint64_t)(now.nsec - t->nsec));
	gotime_release(&now);
	return d;
}

SPRIG_FN(fn_ago)
{
	char out[DURATION_MAX];
	struct gotime t;

	if (is_time(&a[0]))
		obj_to_gotime(a[0].o, &t);
	else if (a[0].kind == TMPL_INT || a[0].kind == TMPL_INT64)
		gotime_unix(a[0].i, &t);
	else
		gotime_now(&t);
	duration_format(duration_round(since(&t), NSEC_PER_SEC), out);
	gotime_release(&t);
	return sprig_ret_str(ctx, out, strlen(out), ret);
}

SPRIG_FN(fn_duration)
{
	char out[DURATION_MAX];
	int64_t sec = 0;

	if (a[0].kind == TMPL_STRING) {
		char tmp[32];

		snprintf(tmp, sizeof(tmp), "%.*s", (int)a[0].s.n, a[0].s.p);
		if (a[0].s.n >= sizeof(tmp) || parse_int64(tmp, &sec) < 0)
			sec = 0;
	} else if (a[0].kind == TMPL_INT64) {
		sec = a[0].i;
	}
	duration_format((int64_t)((uint64_t)sec * (uint64_t)NSEC_PER_SEC), out);
	return sprig_ret_str(ctx, out, strlen(out), ret);
}

SPRIG_FN(fn_duration_round)
{
	static const struct {
		uint64_t unit;
		const char *suffix;
	} units[] = {
		{ UINT64_C(365) * 24 * 3600 * 1000000000, "y" }, { UINT64_C(30) * 24 * 3600 * 1000000000, "mo" },
		{ UINT64_C(24) * 3600 * 1000000000, "d" },       { UINT64_C(3600) * 1000000000, "h" },
		{ UINT64_C(60) * 1000000000, "m" },              { UINT64_C(1000000000), "s" },
	};
	int64_t d = 0;
	uint64_t u;
	size_t i;

	if (a[0].kind == TMPL_STRING) {
		char tmp[128];

		snprintf(tmp, sizeof(tmp), "%.*s", (int)a[0].s.n, a[0].s.p);
		if (a[0].s.n >= sizeof(tmp) || duration_parse(tmp, &d) < 0)
			d = 0;
	} else if (a[0].kind == TMPL_INT64) {
		d = a[0].i;
	} else if (is_time(&a[0])) {
		struct gotime t;

		obj_to_gotime(a[0].o, &t);
		d = since(&t);
		gotime_release(&t);
	}
	u = d < 0 ? (uint64_t)0 - (uint64_t)d : (uint64_t)d;
	for (i = 0; i < ARRAY_SIZE(units); i++)
		if (u > units[i].unit) {
			*ret = sprig_strf(tmpl_ctx_arena(ctx), "%" PRIu64 "%s", u / units[i].unit, units[i].suffix);
			return 0;
		}
	*ret = tmpl_str_ref("0s", 2);
	return 0;
}

static int to_date(struct tmpl_ctx *ctx, const struct tmpl_val *a, bool must, struct tmpl_val *ret)
{
	struct gotime_zone *local = NULL;
	struct gotime t;
	char *err = NULL;

	(void)gotime_zone_load("Local", &local);
	if (gotime_parse(a[0].s.p, a[0].s.n, a[1].s.p, a[1].s.n, local, &t, &err) < 0) {
		int r = 0;

		if (must)
			r = tmpl_ctx_errorf(ctx, "%s", err);
		free(err);
		if (r < 0)
			return r;
		/* The zero Time: January 1, year 1, 00:00:00 UTC. */
		memset(&t, 0, sizeof(t));
		t.sec = INT64_C(-62135596800);
	}
	*ret = time_val(tmpl_ctx_arena(ctx), &t);
	gotime_release(&t);
	return 0;
}

SPRIG_FN(fn_to_date)
{
	return to_date(ctx, a, false, ret);
}

SPRIG_FN(fn_must_to_date)
{
	return to_date(ctx, a, true, ret);
}

SPRIG_FN(fn_unix_epoch)
{
	int r;

	if ((r = need_time(ctx, &a[0])) < 0)
		return r;
	*ret = sprig_strf(tmpl_ctx_arena(ctx), "%" PRId64, ((const struct time_obj *)a[0].o)->sec);
	return 0;
}

const struct sprig_fn sprig_date_fns[] = {
	{ "ago", "v", fn_ago },
	{ "date", "sv", fn_date },
	{ "date_in_zone", "svs", fn_date_in_zone },
	{ "date_modify", "sv", fn_date_modify },
	{ "dateInZone", "svs", fn_date_in_zone },
	{ "dateModify", "sv", fn_date_modify },
	{ "duration", "v", fn_duration },
	{ "durationRound", "v", fn_duration_round },
	{ "htmlDate", "v", fn_html_date },
	{ "htmlDateInZone", "vs", fn_html_date_in_zone },
	{ "must_date_modify", "sv", fn_must_date_modify },
	{ "mustDateModify", "sv", fn_must_date_modify },
	{ "mustToDate", "ss", fn_must_to_date },
	{ "now", "", fn_now },
	{ "toDate", "ss", fn_to_date },
	{ "unixEpoch", "v", fn_unix_epoch },
};
const size_t sprig_date_nfns = ARRAY_SIZE(sprig_date_fns);
