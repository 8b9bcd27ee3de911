/*
 * str.h: string predicates and checked number parsing.
 *
 * atoi() and friends are banned (banned.h): they cannot report garbage or
 * overflow.  The parse_* functions accept the whole string or nothing.
 */
#ifndef CFLUX_BASE_STR_H
#define CFLUX_BASE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline bool streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

/* NULL-safe: two NULLs are equal, NULL and a string are not. */
static inline bool streq_ptr(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/* `s`, or "" for NULL. */
static inline const char *strempty(const char *s)
{
	return s ? s : "";
}

static inline bool str_startswith(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static inline bool str_endswith(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

/*
 * Parse a whole decimal integer (optional sign, no spaces, no trailing
 * bytes).  On success stores it in *ret and returns 0; returns -EINVAL for
 * garbage and -ERANGE for overflow, leaving *ret untouched.
 */
int parse_int64(const char *s, int64_t *ret);
int parse_uint64(const char *s, uint64_t *ret);
int parse_int(const char *s, int *ret);

/* Same, for `n` bytes at `s` (not NUL-terminated). */
int parse_int64_n(const char *s, size_t n, int64_t *ret);

/* Lower-case hex of `n` bytes into `out` (2n + 1 bytes, NUL-terminated). */
void str_hex(const void *data, size_t n, char *out);

/* The value of the hex digit `c` (either case), or -1 when it is not one. */
int str_hexval(uint32_t c);

/* A copy of `s` without leading and trailing ASCII white space (Go's strings.TrimSpace). */
char *str_trim_dup(const char *s);

#endif
