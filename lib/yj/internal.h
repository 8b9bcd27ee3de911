/*
 * internal.h: what yaml.c and json.c share inside lib/yj.
 */
#ifndef CFLUX_YJ_INTERNAL_H
#define CFLUX_YJ_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Format `v` with the fewest digits that read back as the same value at
 * `bits` (32 or 64) precision, as Go does:
 *   json = true:  encoding/json's float64 form ('f' for 1e-6 <= |v| < 1e21,
 *                 else 'e' with "e-07" cleaned to "e-7");
 *   json = false: strconv.FormatFloat(v, 'g', -1, bits) ('e' below 1e-4
 *                 and from 1e6: "1e+06").
 * `out` holds at least 64 bytes.
 */
void yj__format_float(double v, int bits, int json, char *out, size_t n);

/*
 * Length of the valid UTF-8 sequence at `s` (1..4), or 0 if invalid.  `s`
 * is NUL-terminated, so reading up to 4 bytes stops at the NUL.
 */
size_t yj__utf8_len(const unsigned char *s);

/*
 * Whether go-yaml v2 would read `s`, written as a plain scalar, back as
 * the same string (not a bool, null, number, timestamp, merge key or
 * base-60 float): its encoder's test for "may this string go unquoted".
 */
bool yj__plain_is_str(const char *s);

#endif
