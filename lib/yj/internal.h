/*
 * internal.h: what yaml.c and json.c share inside lib/yj.
 */
#ifndef CFLUX_YJ_INTERNAL_H
#define CFLUX_YJ_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Whether go-yaml v2 would read `s`, written as a plain scalar, back as
 * the same string (not a bool, null, number, timestamp, merge key or
 * base-60 float): its encoder's test for "may this string go unquoted".
 */
bool yj__plain_is_str(const char *s);

#endif
