/*
 * time.h: Go/Kubernetes durations and RFC 3339 time.
 *
 * Durations are int64 nanoseconds, as Go's time.Duration, so values read
 * from Flux objects ("1m30s", "10m", "1.5h", "300ms") round-trip exactly,
 * and format the way Go prints them ("10m0s", "1h0m0s", "1.5s", "500ms",
 * "0s") — which is what Flux writes back into status and events.
 *
 * Wall-clock time is only for timestamps shown to users (status fields,
 * log "ts"); intervals and backoff use the monotonic clock (uv_now()).
 */
#ifndef CFLUX_BASE_TIME_H
#define CFLUX_BASE_TIME_H

#include <stdint.h>

#include "base/err.h"

#define NSEC_PER_USEC INT64_C(1000)
#define NSEC_PER_MSEC INT64_C(1000000)
#define NSEC_PER_SEC INT64_C(1000000000)
#define NSEC_PER_MIN (60 * NSEC_PER_SEC)
#define NSEC_PER_HOUR (60 * NSEC_PER_MIN)

/*
 * Parse a Go duration string (time.ParseDuration): an optional sign, then
 * one or more decimal numbers with optional fraction, each followed by a
 * unit in ns, us, µs, ms, s, m, h; "0" alone is allowed.  On success
 * stores nanoseconds in *ret_ns and returns 0; returns -EINVAL for syntax
 * and -ERANGE for overflow, leaving *ret_ns untouched.
 */
int duration_parse(const char *s, int64_t *ret_ns);

/*
 * The same, with Go's messages in reterr ("time: invalid duration \"x\"",
 * "time: missing unit in duration \"1\"", "time: unknown unit \"x\" in
 * duration \"1x\"").  A unit is the whole run of letters up to the next
 * number, as in Go ("1hx" is the unknown unit "hx").  0 or -EINVAL.
 */
int duration_parse_go(const char *s, int64_t *ret_ns, struct op_err *reterr);

/*
 * Parse an ISO 8601 duration as Azure writes them ("PT30M", "PT1H30M",
 * "P1DT12H", "PT90.5S", "P2W"): days, weeks, hours, minutes and seconds
 * (a fraction on the last field only).  Years and months have no fixed
 * length and are refused.  0, or -EINVAL for syntax, -ERANGE for overflow.
 */
int duration_parse_iso8601(const char *s, int64_t *ret_ns);

#define DURATION_MAX 40
/* Format as Go's Duration.String(); `out` holds DURATION_MAX bytes. */
void duration_format(int64_t ns, char out[DURATION_MAX]);

/* Wall-clock now, nanoseconds since the Unix epoch. */
int64_t time_now_ns(void);

#define RFC3339_MAX 40
/*
 * Format Unix nanoseconds in UTC: time_format_rfc3339() as metav1.Time
 * ("2026-11-24T19:32:12Z", seconds), time_format_rfc3339_micro() as
 * metav1.MicroTime ("2026-11-24T19:32:12.123456Z"), and
 * time_format_rfc3339_milli() for log lines ("...12.123Z").
 */
void time_format_rfc3339(int64_t unix_ns, char out[RFC3339_MAX]);
void time_format_rfc3339_micro(int64_t unix_ns, char out[RFC3339_MAX]);
void time_format_rfc3339_milli(int64_t unix_ns, char out[RFC3339_MAX]);
/* Go's time.RFC3339Nano in UTC, as time.Time marshals to JSON: the
 * fraction's trailing zeros dropped ("...12.5Z", "...12Z"). */
void time_format_rfc3339_nano(int64_t unix_ns, char out[RFC3339_MAX]);

/*
 * Parse RFC 3339 ("2026-11-24T19:32:12Z", optional fraction, "Z" or a
 * "+hh:mm" offset; "t"/"z" accepted as Go does).  Returns 0 and stores Unix
 * nanoseconds, or -EINVAL.
 */
int time_parse_rfc3339(const char *s, int64_t *ret_ns);

#endif
