/*
 * envsubst.h: Flux's post-build variable substitution (`${var}` syntax).
 *
 * The Kustomization's postBuild.substitute / substituteFrom values are
 * expanded into each built resource's YAML text with the rules of Flux's
 * envsubst (a fork of drone/envsubst): only `${...}` is expanded — plain
 * `$var` is left alone and `$${var}` gives a literal `${var}` — with
 *   ${var} ${#var} ${var^} ${var^^} ${var,} ${var,,} ${var:n} ${var:n:len}
 *   ${var#pat} ${var##pat} ${var%pat} ${var%%pat}   (glob patterns)
 *   ${var/old/new} ${var//old/new} ${var/#old/new} ${var/%old/new}
 *   ${var-def} ${var=def} ${var:-def} ${var:=def}   (defaults may nest ${})
 * A default applies when the variable is unset or empty.  In strict mode
 * (Flux 2.9's default) an unset variable without a default is an error,
 * whatever operator is applied to it.
 */
#ifndef CFLUX_KUSTOMIZE_ENVSUBST_H
#define CFLUX_KUSTOMIZE_ENVSUBST_H

#include <stdbool.h>

#include "base/buf.h"
#include "base/err.h"

/*
 * Look up `name`: return true and set *ret_value (borrowed) if it is set,
 * false if not.
 */
typedef bool (*envsubst_lookup)(const char *name, const char **ret_value, void *payload);

/*
 * Expand `in` into `out`.  On failure returns -EINVAL (unset variable in
 * strict mode, unterminated `${`, unsupported operator) or -EFBIG (output
 * over its cap), with reterr naming the variable or the expression.
 */
int envsubst(const char *in, envsubst_lookup lookup, void *payload, bool strict,
	     struct buf *out, struct op_err *reterr);

/* Whether `name` is a valid variable name: ^[_[:alpha:]][_[:alpha:][:digit:]]*$ */
bool envsubst_valid_name(const char *name);

#endif
