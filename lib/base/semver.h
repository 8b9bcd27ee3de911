/*
 * semver.h: semantic versions and version constraints, as Flux resolves
 * `spec.ref.semver` (Git tags, OCI tags, Helm chart versions) with
 * Masterminds/semver v3:
 *
 *   versions:    "1.2.3", "v1.2.3", "1.2" (= 1.2.0), "1" (= 1.0.0),
 *                "1.2.3-rc.1+build.5"; build metadata is ignored when
 *                comparing; prerelease ordering is SemVer 2.0's.
 *   constraints: comparisons = != > < >= <= (and => =<), tilde "~1.2.3"
 *                (>=1.2.3 <1.3.0), caret "^1.2.3" (>=1.2.3 <2.0.0; ^0.2.3
 *                is <0.3.0, ^0.0.3 is <0.0.4), wildcards "1.2.x", "1.*",
 *                "*", hyphen ranges "1.2 - 1.4.5"; a comma or space joins
 *                with AND, "||" with OR.  A prerelease version satisfies a
 *                constraint only if the constraint names a prerelease
 *                somewhere in its AND group (">=1.0.0-0" opts in), as
 *                Masterminds documents it.
 */
#ifndef CFLUX_BASE_SEMVER_H
#define CFLUX_BASE_SEMVER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

struct semver {
	uint64_t major, minor, patch;
	char pre[128];  /* "" when none */
};

/* Parse a version (lenient, as Masterminds' NewVersion).  0 or -EINVAL. */
int semver_parse(const char *s, struct semver *ret);

/* <0, 0, >0 as a precedes, equals, follows b. */
int semver_cmp(const struct semver *a, const struct semver *b);

struct semver_constraint;

/* Parse a constraint; on failure -EINVAL with reterr naming the bad part. */
int semver_constraint_parse(const char *s, struct semver_constraint **ret, struct op_err *reterr);
bool semver_satisfies(const struct semver_constraint *c, const struct semver *v);
void semver_constraint_free(struct semver_constraint *c);

#endif
