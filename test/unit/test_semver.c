/*
 * test_semver.c: lib/base/semver.c — parsing, SemVer 2.0 precedence, and
 * the constraint forms Flux users write in spec.ref.semver.
 */
#include "base/semver.h"
#include "harness.h"

static struct semver v(const char *s)
{
	struct semver x;

	if (semver_parse(s, &x) < 0)
		harness__fail(__FILE__, __LINE__, "cannot parse '%s'", s);
	return x;
}

static bool sat(const char *c, const char *ver)
{
	struct semver_constraint *sc;
	struct op_err err;
	struct semver x = v(ver);
	bool r;

	if (semver_constraint_parse(c, &sc, &err) < 0)
		harness__fail(__FILE__, __LINE__, "constraint '%s': %s", c, err.msg);
	r = semver_satisfies(sc, &x);
	semver_constraint_free(sc);
	return r;
}

TEST(parse_and_order)
{
	static const char *const ordered[] = {
		"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
		"1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0", "10.0.0",
	};
	struct semver a, b;
	size_t i;

	for (i = 1; i < sizeof(ordered) / sizeof(ordered[0]); i++) {
		a = v(ordered[i - 1]);
		b = v(ordered[i]);
		if (semver_cmp(&a, &b) >= 0)
			harness__fail(__FILE__, __LINE__, "%s should precede %s", ordered[i - 1],
				      ordered[i]);
	}
	a = v("v1.2.3+build.5");
	b = v("1.2.3");
	ASSERT_EQ(semver_cmp(&a, &b), 0);
	a = v("1.2");
	ASSERT_EQ(a.patch, 0);
	ASSERT_EQ(a.minor, 2);
	ASSERT(semver_parse("", &a) < 0);
	ASSERT(semver_parse("1.2.3.4", &a) < 0);
	ASSERT(semver_parse("latest", &a) < 0);
	ASSERT(semver_parse("1.x", &a) < 0);
	ASSERT(semver_parse("1.2.3-", &a) < 0);
}

TEST(comparisons_and_ranges)
{
	ASSERT(sat(">=1.0.0", "1.0.0"));
	ASSERT(!sat(">1.0.0", "1.0.0"));
	ASSERT(sat(">=1.0.0 <2.0.0", "1.9.9"));
	ASSERT(!sat(">=1.0.0 <2.0.0", "2.0.0"));
	ASSERT(sat(">=1.0.0, <2.0.0", "1.5.0"));
	ASSERT(sat("< 2", "1.9.0"));
	ASSERT(!sat("<=1.2", "1.3.0"));
	ASSERT(sat("<=1.2", "1.2.9"));
	ASSERT(sat("!=1.2.3", "1.2.4"));
	ASSERT(!sat("!=1.2.3", "1.2.3"));
	ASSERT(sat("1.2.3 || 2.x", "2.5.0"));
	ASSERT(!sat("1.2.3 || 2.x", "3.0.0"));
	ASSERT(sat("1.2 - 1.4.5", "1.4.5"));
	ASSERT(!sat("1.2 - 1.4.5", "1.4.6"));
	ASSERT(sat("1.2 - 1.4", "1.4.9"));
	ASSERT(!sat("1.2 - 1.4", "1.1.9"));
	ASSERT(sat("=1.2.3", "1.2.3"));
	ASSERT(sat(">1.2", "1.3.0"));
	ASSERT(!sat(">1.2", "1.2.5"));
}

TEST(tilde_caret_wildcards)
{
	ASSERT(sat("~1.2.3", "1.2.9"));
	ASSERT(!sat("~1.2.3", "1.3.0"));
	ASSERT(sat("~1.2", "1.2.0"));
	ASSERT(sat("~1", "1.9.0"));
	ASSERT(!sat("~1", "2.0.0"));
	ASSERT(sat("~>1.2.3", "1.2.4"));
	ASSERT(sat("^1.2.3", "1.9.0"));
	ASSERT(!sat("^1.2.3", "2.0.0"));
	ASSERT(!sat("^1.2.3", "1.2.2"));
	ASSERT(sat("^0.2.3", "0.2.9"));
	ASSERT(!sat("^0.2.3", "0.3.0"));
	ASSERT(sat("^0.0.3", "0.0.3"));
	ASSERT(!sat("^0.0.3", "0.0.4"));
	ASSERT(sat("1.2.x", "1.2.7"));
	ASSERT(!sat("1.2.x", "1.3.0"));
	ASSERT(sat("1.*", "1.99.0"));
	ASSERT(sat("*", "3.1.4"));
	ASSERT(sat("x", "0.0.1"));
}

TEST(prereleases_only_when_asked)
{
	ASSERT(!sat(">=1.0.0", "1.1.0-rc.1"));
	ASSERT(!sat("*", "2.0.0-beta"));
	ASSERT(sat(">=1.0.0-0", "1.1.0-rc.1"));
	ASSERT(sat(">=1.0.0-rc.1 <2.0.0", "1.0.0-rc.2"));
	ASSERT(!sat(">=1.0.0-rc.3", "1.0.0-rc.2"));
	ASSERT(sat(">=1.0.0-rc.1", "1.0.0"));
}

TEST(bad_constraints)
{
	struct semver_constraint *sc;
	struct op_err err;

	ASSERT_EQ(semver_constraint_parse(">=one", &sc, &err), -EINVAL);
	ASSERT_STREQ(err.msg, "improper constraint: \">=one\"");
	ASSERT_EQ(semver_constraint_parse("", &sc, &err), -EINVAL);
	ASSERT_EQ(semver_constraint_parse("1.0 ||", &sc, &err), -EINVAL);
}
