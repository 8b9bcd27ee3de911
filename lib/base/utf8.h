/*
 * utf8.h: Go's unicode/utf8 for the code that must read and write UTF-8
 * as Go does: text/template and Sprig, Go's regexp, YAML and JSON
 * printing, Helm's strvals and chart checks.
 *
 * Decoding follows utf8.DecodeRune exactly: overlong forms, surrogates
 * and code points above U+10FFFF are invalid, and an invalid sequence
 * reads as U+FFFD of width 1, so callers step past one bad byte at a
 * time.  Pure functions; nothing here allocates except utf8_add() into
 * its buffer.
 */
#ifndef CFLUX_BASE_UTF8_H
#define CFLUX_BASE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define UTF8_RUNE_ERROR 0xFFFDu /* utf8.RuneError */
#define UTF8_MAX_RUNE 0x10FFFFu

/*
 * Decode the rune at `s` (`n` bytes left) into *ret and return its width,
 * 1..4.  An invalid sequence is UTF8_RUNE_ERROR, width 1; n == 0 is
 * UTF8_RUNE_ERROR, width 0.
 */
size_t utf8_decode(const char *s, size_t n, uint32_t *ret);

/*
 * Decode the last rune of the `n` > 0 bytes at `s` (utf8.DecodeLastRune):
 * returns its width; an invalid ending is UTF8_RUNE_ERROR, width 1.
 */
size_t utf8_decode_last(const char *s, size_t n, uint32_t *ret);

/* Whether the bytes at s..s+n are one valid sequence starting there: its width, or 0. */
static inline size_t utf8_valid_at(const char *s, size_t n)
{
	uint32_t r;
	size_t w = utf8_decode(s, n, &r);

	return r == UTF8_RUNE_ERROR && w == 1 ? 0 : w;
}

/* Whether the `n` bytes at `s` are valid UTF-8 (utf8.ValidString). */
bool utf8_valid(const char *s, size_t n);

/*
 * Append rune `r` as UTF-8 (utf8.AppendRune: a surrogate or a value past
 * U+10FFFF is written as U+FFFD).  0, or buf's error.
 */
int utf8_add(struct buf *out, uint32_t r);

#endif
