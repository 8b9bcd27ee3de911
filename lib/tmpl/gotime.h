/*
 * gotime.h: Go's time.Time for the template engine: formatting and
 * parsing with Go's reference layouts ("2006-01-02T15:04:05Z07:00"),
 * time zones (UTC, fixed offsets, the system zoneinfo), Time.String().
 *
 * A struct gotime is an instant (Unix seconds and nanoseconds) plus the
 * location it is shown in.  Locations are immutable and reference
 * counted: a struct gotime holds one reference (NULL means UTC), taken by
 * gotime_copy() and dropped by gotime_release().
 *
 * "Local" is the process's zone as Go finds it: $TZ (unset: /etc/localtime;
 * empty: UTC; else a zoneinfo name), read once.  Named zones come from
 * $ZONEINFO or /usr/share/zoneinfo (TZif files, their transitions; past
 * the last transition the last zone in effect holds, where Go would read
 * the file's POSIX TZ footer: Debian's files list transitions to 2037).
 *
 * The wall clock is read through gotime_now(), which tests replace with
 * gotime_set_clock().
 */
#ifndef CFLUX_TMPL_GOTIME_H
#define CFLUX_TMPL_GOTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

struct gotime_zone;

struct gotime {
	int64_t sec;  /* Unix seconds */
	int32_t nsec; /* 0..999 999 999 */
	struct gotime_zone *zone; /* owned reference; NULL: UTC */
	bool mono;    /* from gotime_now(): String() adds " m=+..." as Go does */
	int64_t mono_ns;
};

/*
 * Go's time.LoadLocation: "" and "UTC" give UTC (*ret = NULL), "Local"
 * the local zone, anything else a zoneinfo file.  Returns 0, or -ENOENT
 * for an unknown zone and -EINVAL for a bad name ("../x", "/abs").
 */
int gotime_zone_load(const char *name, struct gotime_zone **ret);

/* Go's time.FixedZone(name, offset seconds east of UTC); never fails. */
struct gotime_zone *gotime_zone_fixed(const char *name, int offset);

/* Take or drop a reference; both accept NULL.  unref returns NULL. */
struct gotime_zone *gotime_zone_ref(struct gotime_zone *z);
struct gotime_zone *gotime_zone_unref(struct gotime_zone *z);

/* The location's name: "UTC", "Local", "Europe/Paris", a fixed zone's name. */
const char *gotime_zone_name(const struct gotime_zone *z);

/* The abbreviation ("CET", "" for an unnamed fixed zone) and offset at an instant. */
void gotime_lookup(const struct gotime *t, const char **ret_abbr, int *ret_offset);

/* Copy (taking a zone reference) and release. */
void gotime_copy(struct gotime *dst, const struct gotime *src);
void gotime_release(struct gotime *t);

/* Go's t.In(zone) (zone reference taken), t.Add(ns), t.Unix(). */
void gotime_in(struct gotime *t, struct gotime_zone *z);
void gotime_add(struct gotime *t, int64_t ns);

/* Go's time.Unix(sec, 0).In(Local) as sprig's date helpers build it. */
void gotime_unix(int64_t sec, struct gotime *ret);

/* time.Now() in Local (a monotonic reading included). */
void gotime_now(struct gotime *ret);

/* Replace the wall clock (Unix nanoseconds); NULL restores it.  Tests only. */
void gotime_set_clock(int64_t (*clock)(void));

/*
 * Go's Date(year, month, day, hour, min, sec, nsec, loc), normalising
 * out-of-range fields the way Go does (month 13 is January next year).
 */
void gotime_date(int64_t year, int month, int64_t day, int64_t hour, int64_t min, int64_t sec,
		 int64_t nsec, struct gotime_zone *z, struct gotime *ret);

/* Append t formatted with a Go layout (Time.Format).  0 or -EFBIG. */
int gotime_format(const struct gotime *t, const char *layout, size_t llen, struct buf *out);

/* Append Time.String(): "2006-01-02 15:04:05.999999999 -0700 MST". */
int gotime_string(const struct gotime *t, struct buf *out);

/*
 * Go's time.ParseInLocation(layout, value, zone).  On success returns 0
 * and fills *ret (owning a zone reference).  On failure returns -EINVAL
 * and stores Go's message ("parsing time \"x\" as \"2006\": cannot
 * parse ...") in *ret_err (malloc'd).
 */
int gotime_parse(const char *layout, size_t llen, const char *value, size_t vlen,
		 struct gotime_zone *zone, struct gotime *ret, char **ret_err);

#endif
