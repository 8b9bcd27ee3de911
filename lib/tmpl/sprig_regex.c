/*
 * sprig_regex.c: Sprig's regex functions (regex.go) over lib/base/regex.c.
 *
 * The plain forms compile with Go's MustCompile, whose panic text is
 * "regexp: Compile(`PAT`): error parsing regexp: ..." (the pattern in
 * back quotes when strconv.CanBackquote allows, else strconv.Quote); the
 * must* forms return the compile error itself; regexMatch swallows it
 * and answers false.  Work proportional to the input is charged to the
 * step budget.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "tmpl/internal.h"
#include "base/regex.h"
#include "tmpl/sprig.h"
#include "tmpl/tmpl.h"
#include "base/uniprops.h"
#include "base/banned.h"

/* strconv.CanBackquote. */
static bool can_backquote(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint32_t r;
		size_t w = utf8_decode(s + i, n - i, &r);

		if (w == 1 && r == UTF8_RUNE_ERROR)
			return false;
		if ((r < ' ' && r != '\t') || r == '`' || r == 0x7F || r == 0xFEFF)
			return false;
		i += w;
	}
	return true;
}

/* Compile for `fn`: must (return the error) or MustCompile (its panic). */
static int compile(struct tmpl_ctx *ctx, const struct tmpl_val *pat, bool must, struct regex **re)
{
	char *err = NULL;
	int r;

	/* Matching costs about input x program: charge the pattern up front. */
	if (tmpl_ctx_steps(ctx, pat->s.n / 16 + 1) < 0)
		return -ETIME;
	if (regex_compile(pat->s.p, pat->s.n, re, &err) == 0)
		return 0;
	if (must) {
		r = tmpl_ctx_errorf(ctx, "%s", err);
	} else if (can_backquote(pat->s.p, pat->s.n)) {
		r = tmpl_ctx_errorf(ctx, "regexp: Compile(`%.*s`): %s", (int)pat->s.n, pat->s.p, err);
	} else {
		struct buf q = BUF_INIT(1 << 20);

		(void)tmpl_quote(&q, pat->s.p, pat->s.n);
		r = tmpl_ctx_errorf(ctx, "regexp: Compile(%s): %s", q.buf, err);
		buf_release(&q);
	}
	free(err);
	return r;
}

static int charge(struct tmpl_ctx *ctx, const struct tmpl_val *s)
{
	return tmpl_ctx_steps(ctx, s->s.n / 64 + 1) < 0 ? -ETIME : 0;
}

static int match(struct tmpl_ctx *ctx, const struct tmpl_val *a, bool must, struct tmpl_val *ret)
{
	struct regex *re;
	char *err = NULL;
	int r;

	if (!must) {
		if (regex_compile(a[0].s.p, a[0].s.n, &re, &err) < 0) {
			free(err);
			*ret = tmpl_bool(false);
			return 0;
		}
	} else if ((r = compile(ctx, &a[0], true, &re)) < 0) {
		return r;
	}
	if ((r = charge(ctx, &a[1])) == 0)
		*ret = tmpl_bool(regex_match(re, a[1].s.p, a[1].s.n));
	regex_free(re);
	return r;
}

SPRIG_FN(fn_regex_match)
{
	return match(ctx, a, false, ret);
}

SPRIG_FN(fn_must_regex_match)
{
	return match(ctx, a, true, ret);
}

static int find(struct tmpl_ctx *ctx, const struct tmpl_val *a, bool must, struct tmpl_val *ret)
{
	struct regex *re;
	ssize_t caps[2];
	int r;

	if ((r = compile(ctx, &a[0], must, &re)) < 0)
		return r;
	if ((r = charge(ctx, &a[1])) == 0) {
		if (regex_exec(re, a[1].s.p, a[1].s.n, 0, caps, 2))
			*ret = tmpl_str(tmpl_ctx_arena(ctx), a[1].s.p + caps[0], (size_t)(caps[1] - caps[0]));
		else
			*ret = tmpl_str_ref("", 0);
	}
	regex_free(re);
	return r;
}

SPRIG_FN(fn_regex_find)
{
	return find(ctx, a, false, ret);
}

SPRIG_FN(fn_must_regex_find)
{
	return find(ctx, a, true, ret);
}

struct collect {
	struct tmpl_ctx *ctx;
	const char *s;
	struct tmpl_list *l;
};

static int on_match(void *ud, const ssize_t *caps)
{
	struct collect *c = ud;

	if (!c->l)
		c->l = sprig_str_list(c->ctx, 4);
	if (tmpl_ctx_steps(c->ctx, 1) < 0)
		return -ETIME;
	tmpl_list_push(tmpl_ctx_arena(c->ctx), c->l,
		       tmpl_str(tmpl_ctx_arena(c->ctx), c->s + caps[0], (size_t)(caps[1] - caps[0])));
	return 0;
}

static int on_piece(void *ud, const char *p, size_t len)
{
	struct collect *c = ud;

	if (tmpl_ctx_steps(c->ctx, 1) < 0)
		return -ETIME;
	tmpl_list_push(tmpl_ctx_arena(c->ctx), c->l, tmpl_str(tmpl_ctx_arena(c->ctx), p, len));
	return 0;
}

static int find_all(struct tmpl_ctx *ctx, const struct tmpl_val *a, bool must, struct tmpl_val *ret)
{
	struct collect c = { ctx, a[1].s.p, NULL };
	struct regex *re;
	int r;

	if ((r = compile(ctx, &a[0], must, &re)) < 0)
		return r;
	if ((r = charge(ctx, &a[1])) == 0 && a[2].i != 0)
		r = regex_find_all(re, a[1].s.p, a[1].s.n, a[2].i < 0 ? -1 : (long)a[2].i, false, on_match, &c);
	regex_free(re);
	if (r < 0)
		return r;
	/* Go's FindAllString: a nil []string without a match. */
	*ret = tmpl_list_val(c.l);
	return 0;
}

SPRIG_FN(fn_regex_find_all)
{
	return find_all(ctx, a, false, ret);
}

SPRIG_FN(fn_must_regex_find_all)
{
	return find_all(ctx, a, true, ret);
}

static int replace(struct tmpl_ctx *ctx, const struct tmpl_val *a, bool must, bool literal,
		   struct tmpl_val *ret)
{
	struct regex *re;
	struct buf b;
	int r;

	if ((r = compile(ctx, &a[0], must, &re)) < 0)
		return r;
	if ((r = charge(ctx, &a[1])) < 0) {
		regex_free(re);
		return r;
	}
	sprig_buf_init(ctx, &b);
	r = regex_replace_all(re, a[1].s.p, a[1].s.n, a[2].s.p, a[2].s.n, literal, &b);
	regex_free(re);
	if (r < 0) {
		buf_release(&b);
		return sprig_oom(ctx);
	}
	return sprig_ret_buf(ctx, &b, ret);
}

SPRIG_FN(fn_regex_replace_all)
{
	return replace(ctx, a, false, false, ret);
}

SPRIG_FN(fn_must_regex_replace_all)
{
	return replace(ctx, a, true, false, ret);
}

SPRIG_FN(fn_regex_replace_all_literal)
{
	return replace(ctx, a, false, true, ret);
}

SPRIG_FN(fn_must_regex_replace_all_literal)
{
	return replace(ctx, a, true, true, ret);
}

static int split(struct tmpl_ctx *ctx, const struct tmpl_val *a, bool must, struct tmpl_val *ret)
{
	struct collect c = { ctx, a[1].s.p, sprig_str_list(ctx, 4) };
	struct regex *re;
	int r;

	if ((r = compile(ctx, &a[0], must, &re)) < 0)
		return r;
	if ((r = charge(ctx, &a[1])) == 0)
		r = regex_split(re, a[1].s.p, a[1].s.n, a[2].i < 0 ? -1 : (long)a[2].i, on_piece, &c);
	regex_free(re);
	if (r < 0)
		return r;
	/* Go's Split returns nil for n == 0. */
	*ret = tmpl_list_val(a[2].i == 0 ? NULL : c.l);
	return 0;
}

SPRIG_FN(fn_regex_split)
{
	return split(ctx, a, false, ret);
}

SPRIG_FN(fn_must_regex_split)
{
	return split(ctx, a, true, ret);
}

SPRIG_FN(fn_regex_quote_meta)
{
	struct buf b;

	sprig_buf_init(ctx, &b);
	if (regex_quote_meta(a[0].s.p, a[0].s.n, &b) < 0) {
		buf_release(&b);
		return sprig_oom(ctx);
	}
	return sprig_ret_buf(ctx, &b, ret);
}

const struct sprig_fn sprig_regex_fns[] = {
	{ "regexMatch", "ss", fn_regex_match },
	{ "mustRegexMatch", "ss", fn_must_regex_match },
	{ "regexFindAll", "ssi", fn_regex_find_all },
	{ "mustRegexFindAll", "ssi", fn_must_regex_find_all },
	{ "regexFind", "ss", fn_regex_find },
	{ "mustRegexFind", "ss", fn_must_regex_find },
	{ "regexReplaceAll", "sss", fn_regex_replace_all },
	{ "mustRegexReplaceAll", "sss", fn_must_regex_replace_all },
	{ "regexReplaceAllLiteral", "sss", fn_regex_replace_all_literal },
	{ "mustRegexReplaceAllLiteral", "sss", fn_must_regex_replace_all_literal },
	{ "regexSplit", "ssi", fn_regex_split },
	{ "mustRegexSplit", "ssi", fn_must_regex_split },
	{ "regexQuoteMeta", "s", fn_regex_quote_meta },
};
const size_t sprig_regex_nfns = ARRAY_SIZE(sprig_regex_fns);
