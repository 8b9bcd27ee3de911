/*
 * sprig.h: what the Sprig files (lib/tmpl/sprig_*.c) share; internal to
 * lib/tmpl.  The public entry point is tmpl_funcs_add_sprig() (tmpl.h).
 *
 * Each sprig_<area>.c defines a table of its functions (name, Go
 * parameter spec as tmpl_funcs_add() reads it, callback); sprig.c
 * registers every table, as sprig.TxtFuncMap() builds its map, minus env
 * and expandenv, which Helm deletes.
 *
 * The helpers reproduce the Go conversions Sprig leans on: strval
 * (toString, join, dict keys), spf13/cast's ToInt64/ToInt/ToFloat64 (the
 * arithmetic), and the reflect checks of the list functions with their
 * messages.  Results are built in struct bufs bounded by what the arena
 * has left, so `repeat 1000000000 "x"` fails cleanly ("memory limit
 * exceeded") instead of allocating.
 */
#ifndef CFLUX_TMPL_SPRIG_H
#define CFLUX_TMPL_SPRIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "tmpl/tmpl.h"

struct sprig_fn {
	const char *name;
	const char *params;
	tmpl_fn fn;
};

#define SPRIG_TABLE(area)                                                                          \
	extern const struct sprig_fn sprig_##area##_fns[];                                         \
	extern const size_t sprig_##area##_nfns

SPRIG_TABLE(strings);
SPRIG_TABLE(lists);
SPRIG_TABLE(dicts);
SPRIG_TABLE(math);
SPRIG_TABLE(flow);
SPRIG_TABLE(regex);
SPRIG_TABLE(date);
SPRIG_TABLE(semver);
SPRIG_TABLE(crypto);

#define SPRIG_FN(name) static int name(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n, \
				       struct tmpl_val *ret, void *payload)

/* A buffer bounded by what the running execution's arena has left. */
void sprig_buf_init(struct tmpl_ctx *ctx, struct buf *b);

/* Turn a buffer's failure (-EFBIG) into the execution's memory error. */
int sprig_oom(struct tmpl_ctx *ctx);

/* *ret = the buffer as a string (adopted by the arena); returns 0. */
int sprig_ret_buf(struct tmpl_ctx *ctx, struct buf *b, struct tmpl_val *ret);

/* tmpl_strf() that frees its scratch buffer. */
struct tmpl_val sprig_strf(struct tmpl_arena *a, const char *fmt, ...) _printf_(2, 3);

/* *ret = a copy of `n` bytes; returns 0. */
int sprig_ret_str(struct tmpl_ctx *ctx, const char *s, size_t n, struct tmpl_val *ret);

/*
 * Sprig's strval: a string as is, []byte as text, a Stringer through
 * String(), anything else as fmt's %v (nil: "<nil>").  0 or -EFBIG.
 */
int sprig_strval(const struct tmpl_val *v, struct buf *out);

/* spf13/cast: ToInt64 (and ToInt, the same on amd64) and ToFloat64, errors as 0. */
int64_t sprig_to_int64(const struct tmpl_val *v);
double sprig_to_float64(const struct tmpl_val *v);

/* Go's int64(f) on amd64: out of range and NaN give INT64_MIN. */
int64_t sprig_f2i(double f);

/*
 * The elements of a slice argument (lists, and []byte as uint8s into
 * `tmp`... callers pass lists).  For anything else fail as sprig's
 * must* variants do: "Cannot <what> type %T" is the caller's; this only
 * tells whether `v` is a slice.
 */
bool sprig_is_slice(const struct tmpl_val *v);

/* Element i of a slice value (a list, or a []byte as uint8). */
struct tmpl_val sprig_slice_at(const struct tmpl_val *v, size_t i);

/* A new []interface{} list with room for `cap`. */
struct tmpl_list *sprig_list(struct tmpl_ctx *ctx, size_t cap);

/* A []string list of `n` strings (filled by the caller). */
struct tmpl_list *sprig_str_list(struct tmpl_ctx *ctx, size_t cap);

#endif
