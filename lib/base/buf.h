/*
 * buf.h: a growable byte buffer with a hard maximum (curl's dynbuf, git's
 * strbuf).
 *
 * The contents are always NUL-terminated (b->buf[b->len] == '\0') once the
 * buffer has grown, and b->buf is never NULL after buf_init() (it points at
 * a shared empty string until the first byte is added), so b->buf can be
 * passed to string functions at any time.  Every append checks the maximum
 * first: an append that would exceed `max` bytes of content fails with
 * -EFBIG and leaves the buffer unchanged.  Allocation failure aborts (see
 * alloc.h).
 *
 * Lifecycle: buf_init() / buf_release() for embedded buffers; buf_detach()
 * hands the bytes to the caller (free with free()).
 */
#ifndef CFLUX_BASE_BUF_H
#define CFLUX_BASE_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/macro.h"

struct buf {
	char *buf;
	size_t len;
	size_t alloc;
	size_t max;
};

extern char buf__empty[];
#define BUF_INIT(maxlen) { .buf = buf__empty, .len = 0, .alloc = 0, .max = (maxlen) }

/* Initialise an empty buffer that will hold at most `max` bytes. */
void buf_init(struct buf *b, size_t max);

/* Free the contents and reset to empty; `max` is kept.  Accepts NULL. */
void buf_release(struct buf *b);

/* Forget the contents but keep the memory; `max` is kept. */
void buf_reset(struct buf *b);

/*
 * Return the contents as a malloc'd NUL-terminated string the caller owns
 * (never NULL) and reset `b` to empty.  The length is stored in *ret_len if
 * not NULL.
 */
char *buf_detach(struct buf *b, size_t *ret_len);

/* Make room for `extra` more bytes.  0, or -EFBIG past the maximum. */
int buf_grow(struct buf *b, size_t extra) _warn_unused_;

/* Append bytes, a string, one byte, or formatted text.  0 or -EFBIG. */
int buf_add(struct buf *b, const void *data, size_t n);
int buf_adds(struct buf *b, const char *s);
int buf_addch(struct buf *b, char c);
int buf_addf(struct buf *b, const char *fmt, ...) _printf_(2, 3);
int buf_vaddf(struct buf *b, const char *fmt, va_list ap) _printf_(2, 0);

/*
 * Append `s` percent-encoded as RFC 3986 says: the unreserved characters
 * (ALPHA, DIGIT, "-", "_", ".", "~") as they are, "/" too with
 * `keep_slash`, every other byte as "%XX" (upper-case hex).  0 or -EFBIG.
 */
int buf_add_uri_escaped(struct buf *b, const char *s, bool keep_slash);

/* Shorten to `len` bytes (no-op if already shorter). */
void buf_truncate(struct buf *b, size_t len);

/* Remove the first `n` bytes (a consumed line from a stream). */
void buf_consume(struct buf *b, size_t n);

#endif
