/*
 * err.h: the error record that explains a negative errno.
 *
 * Functions that can fail return int: 0 (or a non-negative count) on
 * success, a negative errno on failure.  Callers that must explain *why*
 * pass a `struct op_err *reterr` last; it is filled only on failure.  It is
 * fixed-size, so filling it never fails and it can be copied from a worker
 * thread back to the loop thread.  reterr may always be NULL.
 *
 * Messages follow git's rules: one line, lower-case, no trailing period,
 * the subject in quotes ("cannot read 'kustomization.yaml': ...").
 * Propagate, don't overwrite: add context with op_err_prefix() only at a
 * layer that knows something new.
 */
#ifndef CFLUX_BASE_ERR_H
#define CFLUX_BASE_ERR_H

#include <errno.h>

#include "base/macro.h"

struct op_err {
	int code;        /* same negative errno as the return value */
	long http_status; /* 0 if not an HTTP failure */
	long retry_after; /* seconds from Retry-After, 0 if none */
	char reason[32];  /* Kubernetes Status.reason, e.g. "Conflict" */
	char msg[256];    /* one line, lower-case, subject in quotes */
};

#define OP_ERR_INIT { 0 }

/*
 * Fill `e` (if not NULL) with `code` and a formatted message, replacing what
 * was there.  Returns `code`, so `return op_err_set(e, -EINVAL, ...);` works.
 * Control characters in the message are replaced by spaces.
 */
int op_err_set(struct op_err *e, int code, const char *fmt, ...) _printf_(3, 4);

/*
 * Prepend "<context>: " to the message already in `e`, keeping code, HTTP
 * status and reason.  Returns e->code (or -EIO if e is NULL or unset).
 */
int op_err_prefix(struct op_err *e, const char *fmt, ...) _printf_(2, 3);

/* Reset `e` to "no error". */
void op_err_clear(struct op_err *e);

/*
 * A short, thread-safe description of a negative (or positive) errno, for
 * messages: "no such file or directory".  Never NULL.
 */
const char *op_strerror(int code);

#endif
