/*
 * sprig_semver.c: Sprig's semver and semverCompare over lib/base/semver.c
 * (the one semver of the tree, which follows Masterminds/semver v3).
 *
 * A version is a template value of type *semver.Version (a pointer, as
 * Sprig returns it): it prints as String() ("1.2.3-rc.1+b5", normalised),
 * marshals to JSON as that string, and offers the methods charts call
 * (Major, Minor, Patch, Prerelease, Metadata, Original, String, Compare,
 * LessThan, GreaterThan, Equal).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/semver.h"
#include "tmpl/sprig.h"
#include "tmpl/tmpl.h"
#include "base/banned.h"

static const struct tmpl_type version_type;

static int version_string(const struct tmpl_val *self, struct buf *out)
{
	char s[SEMVER_STRING_MAX];

	semver_format(self->o, s);
	return buf_adds(out, s);
}

static cJSON *version_to_json(const struct tmpl_val *self)
{
	char s[SEMVER_STRING_MAX];

	semver_format(self->o, s);
	return cJSON_CreateString(s);
}

#define V(self) ((const struct semver *)(self)->o)

static int m_major(struct tmpl_ctx *ctx, const struct tmpl_val *self, const struct tmpl_val *a, size_t n,
		   struct tmpl_val *ret)
{
	*ret = tmpl_uint64(V(self)->major);
	return 0;
}

static int m_minor(struct tmpl_ctx *ctx, const struct tmpl_val *self, const struct tmpl_val *a, size_t n,
		   struct tmpl_val *ret)
{
	*ret = tmpl_uint64(V(self)->minor);
	return 0;
}

static int m_patch(struct tmpl_ctx *ctx, const struct tmpl_val *self, const struct tmpl_val *a, size_t n,
		   struct tmpl_val *ret)
{
	*ret = tmpl_uint64(V(self)->patch);
	return 0;
}

static int m_prerelease(struct tmpl_ctx *ctx, const struct tmpl_val *self, const struct tmpl_val *a,
			size_t n, struct tmpl_val *ret)
{
	*ret = tmpl_strz(tmpl_ctx_arena(ctx), V(self)->pre);
	return 0;
}

static int m_metadata(struct tmpl_ctx *ctx, const struct tmpl_val *self, const struct tmpl_val *a,
		      size_t n, struct tmpl_val *ret)
{
	*ret = tmpl_strz(tmpl_ctx_arena(ctx), V(self)->meta);
	return 0;
}

static int m_original(struct tmpl_ctx *ctx, const struct tmpl_val *self, const struct tmpl_val *a,
		      size_t n, struct tmpl_val *ret)
{
	*ret = tmpl_strz(tmpl_ctx_arena(ctx), V(self)->orig);
	return 0;
}

static int m_string(struct tmpl_ctx *ctx, const struct tmpl_val *self, const struct tmpl_val *a, size_t n,
		    struct tmpl_val *ret)
{
	char s[SEMVER_STRING_MAX];

	semver_format(self->o, s);
	*ret = tmpl_strz(tmpl_ctx_arena(ctx), s);
	return 0;
}

/* The other version of Compare & co: a *semver.Version argument. */
static int other(struct tmpl_ctx *ctx, const struct tmpl_val *a, const struct semver **ret)
{
	if (a[0].kind != TMPL_OBJ || a[0].type != &version_type || !a[0].o) {
		if (a[0].kind == TMPL_NIL)
			return tmpl_ctx_errorf(ctx, "runtime error: invalid memory address or nil pointer dereference");
		return tmpl_ctx_errorf(ctx, "wrong type for value; expected *semver.Version; got %s", tmpl_type_name(&a[0]));
	}
	*ret = a[0].o;
	return 0;
}

static int m_compare(struct tmpl_ctx *ctx, const struct tmpl_val *self, const struct tmpl_val *a,
		     size_t n, struct tmpl_val *ret)
{
	const struct semver *o = NULL;
	int r = other(ctx, a, &o);

	if (r == 0)
		*ret = tmpl_int(semver_cmp(V(self), o));
	return r;
}

static int m_less(struct tmpl_ctx *ctx, const struct tmpl_val *self, const struct tmpl_val *a, size_t n,
		  struct tmpl_val *ret)
{
	const struct semver *o = NULL;
	int r = other(ctx, a, &o);

	if (r == 0)
		*ret = tmpl_bool(semver_cmp(V(self), o) < 0);
	return r;
}

static int m_greater(struct tmpl_ctx *ctx, const struct tmpl_val *self, const struct tmpl_val *a,
		     size_t n, struct tmpl_val *ret)
{
	const struct semver *o = NULL;
	int r = other(ctx, a, &o);

	if (r == 0)
		*ret = tmpl_bool(semver_cmp(V(self), o) > 0);
	return r;
}

static int m_equal(struct tmpl_ctx *ctx, const struct tmpl_val *self, const struct tmpl_val *a, size_t n,
		   struct tmpl_val *ret)
{
	const struct semver *o = NULL;
	int r = other(ctx, a, &o);

	if (r == 0)
		*ret = tmpl_bool(semver_cmp(V(self), o) == 0);
	return r;
}

static const struct tmpl_method version_methods[] = {
	{ "Compare", "v", m_compare },     { "Equal", "v", m_equal },         { "GreaterThan", "v", m_greater },
	{ "LessThan", "v", m_less },       { "Major", "", m_major },          { "Metadata", "", m_metadata },
	{ "Minor", "", m_minor },          { "Original", "", m_original },    { "Patch", "", m_patch },
	{ "Prerelease", "", m_prerelease }, { "String", "", m_string },
};

static const struct tmpl_type version_type = {
	.name = "*semver.Version",
	.kind = "ptr",
	.methods = version_methods,
	.n_methods = ARRAY_SIZE(version_methods),
	.string = version_string,
	.to_json = version_to_json,
};

/* A Go string argument as a C string (versions and constraints are short). */
static int cstr(struct tmpl_ctx *ctx, const struct tmpl_val *v, char **ret)
{
	*ret = tmpl_memdup(tmpl_ctx_arena(ctx), v->s.p, v->s.n);
	return memchr(v->s.p, '\0', v->s.n) ? -EINVAL : 0;
}

SPRIG_FN(fn_semver)
{
	struct semver *v = tmpl_alloc(tmpl_ctx_arena(ctx), sizeof(*v));
	struct op_err err = OP_ERR_INIT;
	char *s;

	if (cstr(ctx, &a[0], &s) < 0 || semver_parse_go(s, v, &err) < 0)
		return tmpl_ctx_errorf(ctx, "%s", err.msg[0] ? err.msg : "invalid semantic version");
	*ret = tmpl_obj(&version_type, v);
	return 0;
}

SPRIG_FN(fn_semver_compare)
{
	struct semver_constraint *c;
	struct op_err err = OP_ERR_INIT;
	struct semver v;
	char *s;

	if (cstr(ctx, &a[0], &s) < 0 || semver_constraint_parse(s, &c, &err) < 0)
		return tmpl_ctx_errorf(ctx, "%s", err.msg[0] ? err.msg : "improper constraint");
	if (cstr(ctx, &a[1], &s) < 0 || semver_parse_go(s, &v, &err) < 0) {
		semver_constraint_free(c);
		return tmpl_ctx_errorf(ctx, "%s", err.msg[0] ? err.msg : "invalid semantic version");
	}
	*ret = tmpl_bool(semver_satisfies(c, &v));
	semver_constraint_free(c);
	return 0;
}

const struct sprig_fn sprig_semver_fns[] = {
	{ "semver", "s", fn_semver },
	{ "semverCompare", "ss", fn_semver_compare },
};
const size_t sprig_semver_nfns = ARRAY_SIZE(sprig_semver_fns);
