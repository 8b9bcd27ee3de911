/*
 * macro.h: small language helpers shared by every module.
 *
 * Nothing here allocates or fails.  OP_ASSERT() is for programmer errors
 * only (a broken invariant, never bad input): it stays on in release
 * builds, writes one JSON fatal line to stderr and aborts, so a container
 * restarts instead of running on with corrupted state.
 */
#ifndef CFLUX_BASE_MACRO_H
#define CFLUX_BASE_MACRO_H

#include <stddef.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _sentinel_ __attribute__((sentinel))
#define _noreturn_ __attribute__((noreturn))
#define _warn_unused_ __attribute__((warn_unused_result))
#define _unused_ __attribute__((unused))

/* <sys/param.h> (pulled in by uv.h) defines the same two. */
#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif
#ifndef MAX
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#endif

_noreturn_ void op__assert_fail(const char *expr, const char *file, int line, const char *func);

#define OP_ASSERT(expr)                                                                            \
	do {                                                                                       \
		if (unlikely(!(expr)))                                                             \
			op__assert_fail(#expr, __FILE__, __LINE__, __func__);                      \
	} while (0)

/*
 * ALWAYS()/NEVER() wrap defensive checks for conditions that cannot happen
 * (SQLite's idiom).  In release builds they evaluate to the condition, so
 * the defensive branch still runs; in debug builds (-DCFLUX_DEBUG) a
 * violation aborts, so tests find the "impossible" case.
 */
#ifdef CFLUX_DEBUG
#define ALWAYS(x) ((x) ? 1 : (op__assert_fail(#x, __FILE__, __LINE__, __func__), 0))
#define NEVER(x) ((x) ? (op__assert_fail(#x, __FILE__, __LINE__, __func__), 1) : 0)
#else
#define ALWAYS(x) (x)
#define NEVER(x) (x)
#endif

#endif
