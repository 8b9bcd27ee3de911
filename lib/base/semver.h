/*
 * semver.h: semantic versions and version constraints exactly as
 * Masterminds/semver v3.5.0 reads them (what Helm v3.21's semverCompare and
 * Flux's `spec.ref.semver` use):
 *
 *   versions:    NewVersion's coercing parser: an optional "v", one to
 *                three numeric parts (leading zeros allowed, missing ones
 *                0), "-prerelease" and "+metadata" ("1.2.3-rc.1+b.5");
 *                at most 256 bytes.  Metadata is ignored when comparing;
 *                prerelease parts compare numerically when both are
 *                numbers, numbers before words.
 *   constraints: comparisons = != > < >= <= => =< (none means =), tilde
 *                "~1.2.3" (and "~>"), caret "^1.2.3", wildcards x X * in
 *                any part ("1.2.x", "1.*"), a missing minor or patch
 *                counting as a wildcard, hyphen ranges "1.2 - 1.4.5";
 *                terms joined by spaces or commas (AND) and "||" (OR), at
 *                most 512 bytes and 32 OR groups.  A prerelease version
 *                satisfies an AND group only if some term of that group
 *                names a prerelease (">=1.19-0" opts in).
 * Errors carry Masterminds' texts ("improper constraint: \">x\"",
 * "invalid semantic version", ...).
 */
#ifndef CFLUX_BASE_SEMVER_H
#define CFLUX_BASE_SEMVER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

#define SEMVER_MAX_LEN 256
#define SEMVER_STRING_MAX (3 * 21 + 2 * SEMVER_MAX_LEN + 4)

struct semver {
	uint64_t major, minor, patch;
	char pre[SEMVER_MAX_LEN + 1];  /* "" when none */
	char meta[SEMVER_MAX_LEN + 1]; /* "" when none */
	char orig[SEMVER_MAX_LEN + 1]; /* the text as given */
};

/*
 * Parse a version (Masterminds' NewVersion).  0, or -EINVAL with the
 * library's message in reterr (may be NULL).
 */
int semver_parse_go(const char *s, struct semver *ret, struct op_err *reterr);

/* semver_parse_go() without the message. */
int semver_parse(const char *s, struct semver *ret);

/* Version.String(): "1.2.3", "-pre" and "+meta" when present. */
void semver_format(const struct semver *v, char out[SEMVER_STRING_MAX]);

/* <0, 0, >0 as a precedes, equals, follows b (Version.Compare). */
int semver_cmp(const struct semver *a, const struct semver *b);

struct semver_constraint;

/* Parse a constraint (NewConstraint); on failure -EINVAL with reterr set. */
int semver_constraint_parse(const char *s, struct semver_constraint **ret, struct op_err *reterr);

/* Constraints.Check. */
bool semver_satisfies(const struct semver_constraint *c, const struct semver *v);

void semver_constraint_free(struct semver_constraint *c);

#endif
