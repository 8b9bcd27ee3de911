/*
 * b64.h: base64 (RFC 4648), for kubeconfig `*-data` fields, YAML
 * !!binary scalars, Secret values and HTTP Basic credentials.
 */
#ifndef CFLUX_BASE_B64_H
#define CFLUX_BASE_B64_H

#include <stddef.h>

/*
 * Decode `in` (standard or URL-safe alphabet; padding and white space
 * ignored) into a new NUL-terminated buffer.  On success returns 0 and
 * stores it in *ret (caller frees) and its length in *ret_len (if not
 * NULL); returns -EINVAL for a character outside the alphabet.
 */
int b64_decode(const char *in, char **ret, size_t *ret_len);

/*
 * Encode `n` bytes of `in` with the standard alphabet and padding into a
 * new NUL-terminated string (caller frees; never NULL).
 */
char *b64_encode(const void *in, size_t n);

#endif
