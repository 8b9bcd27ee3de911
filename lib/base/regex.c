/*
 * regex.c: Go's regexp, in C (see regex.h).
 *
 * DESIGN
 * Three stages, as in Go's regexp/syntax:
 *
 *  1. A recursive-descent parser turns the pattern into a tree of nodes.
 *     It reads the pattern left to right exactly as Go's parser does, so
 *     the first error Go would report is the one we report, with Go's
 *     code text and the same slice of the pattern quoted.  Every literal
 *     and class becomes a sorted list of rune ranges (case folding under
 *     `(?i)` is applied here, with Go's simple-fold orbits).
 *  2. A compiler turns the tree into a program for a Pike VM, with Go's
 *     instruction shapes: x* over a sub-expression that can match empty
 *     is compiled as (x+)?, counted repeats are expanded the way Go's
 *     Simplify expands them (x{2,5} = xx(x(x(x)?)?)?).  Holes in a
 *     fragment are chained through the holes themselves (patch lists).
 *  3. The VM (regex_exec) runs all threads in lock step over the input,
 *     one rune at a time, in priority order; a MATCH cuts off the threads
 *     of lower priority, which gives leftmost-first results (Perl's and
 *     Go's) in O(input x program) time.  Epsilon closures are walked with
 *     an explicit stack, so no pattern can exhaust the C stack.
 *
 * Group nesting is limited to 1000 parentheses ("expression nests too
 * deeply"), the same bound Go puts on tree height.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/regex.h"
#include "base/unicode.h"
#include "base/utf8.h"
#include "base/uniprops.h"
#include "base/str.h"
#include "base/banned.h"

#define MAX_NEST 1000
#define MAX_REPEAT 1000

/* Go's error codes (regexp/syntax ErrorCode). */
#define E_INVALID_CHAR_CLASS "invalid character class"
#define E_INVALID_CHAR_RANGE "invalid character class range"
#define E_INVALID_ESCAPE "invalid escape sequence"
#define E_INVALID_NAMED_CAPTURE "invalid named capture"
#define E_INVALID_PERL_OP "invalid or unsupported Perl syntax"
#define E_INVALID_REPEAT_OP "invalid nested repetition operator"
#define E_INVALID_REPEAT_SIZE "invalid repeat count"
#define E_INVALID_UTF8 "invalid UTF-8"
#define E_MISSING_BRACKET "missing closing ]"
#define E_MISSING_PAREN "missing closing )"
#define E_MISSING_REPEAT_ARG "missing argument to repetition operator"
#define E_TRAILING_BACKSLASH "trailing backslash at end of expression"
#define E_UNEXPECTED_PAREN "unexpected )"
#define E_NESTING_DEPTH "expression nests too deeply"
#define E_LARGE "expression too large"

/* Parser flags (a subset of Go's syntax.Flags). */
#define F_FOLD 1u      /* (?i) */
#define F_DOTNL 2u     /* (?s) */
#define F_ONELINE 4u   /* not (?m): ^ and $ match at text ends only */
#define F_NONGREEDY 8u /* (?U) */

/* Empty-width assertions (Go's syntax.EmptyOp bits). */
#define EMPTY_BOL 1u
#define EMPTY_EOL 2u
#define EMPTY_BOT 4u
#define EMPTY_EOT 8u
#define EMPTY_WB 16u
#define EMPTY_NWB 32u

/* ------------------------------------------------------------ classes */

/* A set of runes: sorted, merged [lo, hi] pairs once cleaned. */
struct rclass {
	uint32_t *r; /* r[2i], r[2i+1] */
	size_t n;    /* pairs */
	size_t alloc;
	size_t clean_n; /* pairs at the last clean, to bound growth */
};

static void cls_clean(struct rclass *c);

static void cls_add(struct rclass *c, uint32_t lo, uint32_t hi)
{
	if (c->n + 1 > c->alloc) {
		c->alloc = c->alloc ? 2 * c->alloc : 8;
		c->r = xrealloc(c->r, xalloc__mul(c->alloc, 2 * sizeof(uint32_t)));
	}
	c->r[2 * c->n] = lo;
	c->r[2 * c->n + 1] = hi;
	c->n++;
	/* A class built from many Unicode tables is merged as it grows. */
	if (c->n > 2 * c->clean_n + 4096)
		cls_clean(c);
}

static int cmp_pair(const void *a, const void *b)
{
	const uint32_t *x = a, *y = b;

	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	return x[1] > y[1] ? -1 : x[1] < y[1];
}

/* Sort and merge overlapping or adjacent ranges (Go's cleanClass). */
static void cls_clean(struct rclass *c)
{
	size_t i, w = 0;

	if (c->n > 1)
		qsort(c->r, c->n, 2 * sizeof(uint32_t), cmp_pair);
	for (i = 0; i < c->n; i++) {
		uint32_t lo = c->r[2 * i], hi = c->r[2 * i + 1];

		if (w > 0 && lo <= c->r[2 * w - 1] + 1) {
			if (hi > c->r[2 * w - 1])
				c->r[2 * w - 1] = hi;
			continue;
		}
		c->r[2 * w] = lo;
		c->r[2 * w + 1] = hi;
		w++;
	}
	c->n = w;
	c->clean_n = w;
}

/* Replace a cleaned class by its complement in [0, U+10FFFF]. */
static void cls_negate(struct rclass *c)
{
	struct rclass out = { 0 };
	uint32_t next = 0;
	size_t i;

	for (i = 0; i < c->n; i++) {
		if (c->r[2 * i] > next)
			cls_add(&out, next, c->r[2 * i] - 1);
		next = c->r[2 * i + 1] + 1;
	}
	if (next <= UTF8_MAX_RUNE)
		cls_add(&out, next, UTF8_MAX_RUNE);
	free(c->r);
	*c = out;
	c->clean_n = c->n;
}

static void cls_append_class(struct rclass *dst, const struct rclass *src, bool negated)
{
	size_t i;

	if (!negated) {
		for (i = 0; i < src->n; i++)
			cls_add(dst, src->r[2 * i], src->r[2 * i + 1]);
		return;
	}
	{
		uint32_t next = 0;

		for (i = 0; i < src->n; i++) {
			if (src->r[2 * i] > next)
				cls_add(dst, next, src->r[2 * i] - 1);
			next = src->r[2 * i + 1] + 1;
		}
		if (next <= UTF8_MAX_RUNE)
			cls_add(dst, next, UTF8_MAX_RUNE);
	}
}

/* [lo, hi] plus every rune that simple-folds to one in it (appendFoldedRange). */
static void cls_add_folded(struct rclass *c, uint32_t lo, uint32_t hi)
{
	size_t a = 0, b = uni_nfolds, i;

	cls_add(c, lo, hi);
	/* Runes without an entry in uni_folds fold only to themselves. */
	while (a < b) {
		size_t m = a + (b - a) / 2;

		if (uni_folds[m].r < lo)
			a = m + 1;
		else
			b = m;
	}
	for (i = a; i < uni_nfolds && uni_folds[i].r <= hi; i++) {
		uint32_t f = uni_folds[i].fold;

		while (f != uni_folds[i].r) {
			if (f < lo || f > hi)
				cls_add(c, f, f);
			f = uni_simple_fold(f);
		}
	}
}

static void cls_add_table(struct rclass *c, const struct uni_range *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint32_t x;

		if (r[i].stride == 1) {
			cls_add(c, r[i].lo, r[i].hi);
			continue;
		}
		for (x = r[i].lo; x <= r[i].hi; x += r[i].stride)
			cls_add(c, x, x);
	}
}

static bool cls_has(const uint32_t *r, size_t n, uint32_t c)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t m = lo + (hi - lo) / 2;

		if (c < r[2 * m])
			hi = m;
		else if (c > r[2 * m + 1])
			lo = m + 1;
		else
			return true;
	}
	return false;
}

/* Perl and POSIX groups (Go's perl_groups.go), as range lists ending in 0, 0. */
static const uint32_t grp_digit[] = { '0', '9', 0, 0 };
static const uint32_t grp_space[] = { '\t', '\n', '\f', '\r', ' ', ' ', 0, 0 };
static const uint32_t grp_word[] = { '0', '9', 'A', 'Z', '_', '_', 'a', 'z', 0, 0 };
static const uint32_t grp_alnum[] = { '0', '9', 'A', 'Z', 'a', 'z', 0, 0 };
static const uint32_t grp_alpha[] = { 'A', 'Z', 'a', 'z', 0, 0 };
static const uint32_t grp_ascii[] = { 0, 0x7F, 0, 0 };
static const uint32_t grp_blank[] = { '\t', '\t', ' ', ' ', 0, 0 };
static const uint32_t grp_cntrl[] = { 0, 0x1F, 0x7F, 0x7F, 0, 0 };
static const uint32_t grp_graph[] = { 0x21, 0x7E, 0, 0 };
static const uint32_t grp_lower[] = { 'a', 'z', 0, 0 };
static const uint32_t grp_print[] = { 0x20, 0x7E, 0, 0 };
static const uint32_t grp_punct[] = { 0x21, 0x2F, 0x3A, 0x40, 0x5B, 0x60, 0x7B, 0x7E, 0, 0 };
static const uint32_t grp_pspace[] = { '\t', '\r', ' ', ' ', 0, 0 };
static const uint32_t grp_upper[] = { 'A', 'Z', 0, 0 };
static const uint32_t grp_xdigit[] = { '0', '9', 'A', 'F', 'a', 'f', 0, 0 };

static const struct {
	const char *name;
	const uint32_t *r;
} posix_groups[] = {
	{ "alnum", grp_alnum }, { "alpha", grp_alpha }, { "ascii", grp_ascii }, { "blank", grp_blank },
	{ "cntrl", grp_cntrl }, { "digit", grp_digit }, { "graph", grp_graph }, { "lower", grp_lower },
	{ "print", grp_print }, { "punct", grp_punct }, { "space", grp_pspace }, { "upper", grp_upper },
	{ "word", grp_word },   { "xdigit", grp_xdigit },
};

/* ------------------------------------------------------------ the tree */

enum nop {
	N_EMPTY,
	N_CLASS,
	N_ANYNL,
	N_ANY,
	N_ASSERT, /* arg: EMPTY_* */
	N_CAP,
	N_STAR,
	N_PLUS,
	N_QUEST,
	N_REPEAT,
	N_CAT,
	N_ALT,
};

struct re_node {
	enum nop op;
	bool nongreedy;
	int min, max; /* N_REPEAT; max -1 for no maximum */
	unsigned arg; /* N_CAP: group index; N_ASSERT: EMPTY_* */
	struct rclass cls;
	struct re_node **sub;
	size_t nsub, asub;
	struct re_node *all_next; /* every node, for freeing */
};

struct parser {
	const char *whole, *end;
	const char *s;
	unsigned flags;
	unsigned ncap;
	char **names; /* [ncap + 1], "" when unnamed */
	struct re_node *all;
	int depth;
	char *err;
};

static struct re_node *re_new_node(struct parser *p, enum nop op)
{
	struct re_node *n = xcalloc(1, sizeof(*n));

	n->op = op;
	n->all_next = p->all;
	p->all = n;
	return n;
}

static void node_add(struct re_node *n, struct re_node *sub)
{
	XGROW(n->sub, n->nsub + 1, n->asub);
	n->sub[n->nsub++] = sub;
}

static void free_nodes(struct re_node *all, bool keep_classes)
{
	while (all) {
		struct re_node *next = all->all_next;

		if (!keep_classes)
			free(all->cls.r);
		free(all->sub);
		free(all);
		all = next;
	}
}

/* Record Go's error "error parsing regexp: CODE: `EXPR`"; returns NULL. */
static void *fail(struct parser *p, const char *code, const char *expr, size_t len)
{
	if (!p->err)
		p->err = xasprintf("error parsing regexp: %s: `%.*s`", code, (int)len, expr);
	return NULL;
}

/* Go's nextRune: decode, or fail on invalid UTF-8 (quoting the rest). */
static bool next_rune(struct parser *p, const char **s, uint32_t *ret)
{
	size_t w = utf8_decode(*s, (size_t)(p->end - *s), ret);

	if (*ret == UTF8_RUNE_ERROR && w == 1) {
		fail(p, E_INVALID_UTF8, *s, (size_t)(p->end - *s));
		return false;
	}
	*s += w;
	return true;
}

static bool check_utf8(struct parser *p, const char *s, size_t n)
{
	if (!utf8_valid(s, n)) {
		fail(p, E_INVALID_UTF8, s, n);
		return false;
	}
	return true;
}

static struct re_node *literal(struct parser *p, uint32_t c)
{
	struct re_node *n = re_new_node(p, N_CLASS);

	if (p->flags & F_FOLD)
		cls_add_folded(&n->cls, c, c);
	else
		cls_add(&n->cls, c, c);
	cls_clean(&n->cls);
	return n;
}

static bool is_alnum(uint32_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* Go's parseEscape: *s at the backslash; one rune. */
static bool parse_escape(struct parser *p, const char **s, uint32_t *ret)
{
	const char *start = *s, *t = *s + 1;
	uint32_t c;

	if (t >= p->end) {
		fail(p, E_TRAILING_BACKSLASH, "", 0);
		return false;
	}
	if (!next_rune(p, &t, &c))
		return false;
	switch (c) {
	case '1':
	case '2':
	case '3':
	case '4':
	case '5':
	case '6':
	case '7':
		/* A single non-zero digit is a backreference: not supported. */
		if (t >= p->end || *t < '0' || *t > '7')
			break;
		/* fall through */
	case '0': {
		uint32_t r = c - '0';
		int i;

		for (i = 1; i < 3; i++) {
			if (t >= p->end || *t < '0' || *t > '7')
				break;
			r = r * 8 + (uint32_t)(*t - '0');
			t++;
		}
		*ret = r;
		*s = t;
		return true;
	}
	case 'x': {
		int x, y;

		if (t >= p->end)
			break;
		if (!next_rune(p, &t, &c))
			return false;
		if (c == '{') {
			uint32_t r = 0;
			int nhex = 0;

			for (;;) {
				int v;

				if (t >= p->end)
					goto bad;
				if (!next_rune(p, &t, &c))
					return false;
				if (c == '}')
					break;
				v = str_hexval(c);
				if (v < 0)
					goto bad;
				r = r * 16 + (uint32_t)v;
				if (r > UTF8_MAX_RUNE)
					goto bad;
				nhex++;
			}
			if (nhex == 0)
				goto bad;
			*ret = r;
			*s = t;
			return true;
		}
		x = str_hexval(c);
		y = -1;
		if (t < p->end) {
			if (!next_rune(p, &t, &c))
				return false;
			y = str_hexval(c);
		}
		if (x < 0 || y < 0)
			break;
		*ret = (uint32_t)(x * 16 + y);
		*s = t;
		return true;
	}
	case 'a':
		*ret = '\a';
		*s = t;
		return true;
	case 'f':
		*ret = '\f';
		*s = t;
		return true;
	case 'n':
		*ret = '\n';
		*s = t;
		return true;
	case 'r':
		*ret = '\r';
		*s = t;
		return true;
	case 't':
		*ret = '\t';
		*s = t;
		return true;
	case 'v':
		*ret = '\v';
		*s = t;
		return true;
	default:
		/* Escaped punctuation is itself; escaped letters are reserved. */
		if (c < 0x80 && !is_alnum(c)) {
			*ret = c;
			*s = t;
			return true;
		}
		break;
	}
bad:
	fail(p, E_INVALID_ESCAPE, start, (size_t)(t - start));
	return false;
}

/* Add a Perl or POSIX group (range list ending 0, 0) to `c`, folded under (?i). */
static void add_group(struct parser *p, struct rclass *c, const uint32_t *g, bool negated)
{
	struct rclass tmp = { 0 };
	size_t i;

	for (i = 0; g[2 * i] || g[2 * i + 1]; i++) {
		if (p->flags & F_FOLD)
			cls_add_folded(&tmp, g[2 * i], g[2 * i + 1]);
		else
			cls_add(&tmp, g[2 * i], g[2 * i + 1]);
	}
	cls_clean(&tmp);
	cls_append_class(c, &tmp, negated);
	free(tmp.r);
}

/* `\d \D \s \S \w \W` at *s: adds to c and returns true, else false. */
static bool perl_class(struct parser *p, const char **s, struct rclass *c)
{
	const uint32_t *g;
	char k;

	if (p->end - *s < 2 || (*s)[0] != '\\')
		return false;
	k = (*s)[1];
	switch (k) {
	case 'd':
	case 'D':
		g = grp_digit;
		break;
	case 's':
	case 'S':
		g = grp_space;
		break;
	case 'w':
	case 'W':
		g = grp_word;
		break;
	default:
		return false;
	}
	add_group(p, c, g, k >= 'A' && k <= 'Z');
	*s += 2;
	return true;
}

/* Go's canonicalName: "greek" -> "Greek", "cased_letter" -> "Casedletter". */
static void canonical_name(const char *name, size_t n, char *out, size_t outsz)
{
	size_t i, w = 0;
	bool first = true;

	for (i = 0; i < n && w + 1 < outsz; i++) {
		char c = name[i];

		if (c == '_' || c == '-' || c == ' ')
			continue;
		if (first) {
			if (c >= 'a' && c <= 'z')
				c = (char)(c - 32);
			first = false;
		} else if (c >= 'A' && c <= 'Z') {
			c = (char)(c + 32);
		}
		out[w++] = c;
	}
	out[w] = '\0';
}

/*
 * Go's unicodeTable: the table for a canonical name, its fold complement,
 * and whether to invert it.  Returns false for an unknown name.
 */
static bool unicode_table(const char *name, struct rclass *tab, struct rclass *fold, bool *invert)
{
	const struct uni_table *t = NULL;
	char canon[64];
	size_t i;

	*invert = false;
	if (strcmp(name, "Any") == 0) {
		cls_add(tab, 0, UTF8_MAX_RUNE);
		return true;
	}
	if (strcmp(name, "Assigned") == 0) {
		t = uni_category("Cn");
		*invert = true;
	} else if (strcmp(name, "Ascii") == 0) {
		cls_add(tab, 0, 0x7F);
		cls_add(fold, 0x17F, 0x17F);
		cls_add(fold, 0x212A, 0x212A);
		return true;
	} else if (strcmp(name, "Lc") == 0) {
		t = uni_category("LC");
	} else {
		t = uni_category(name);
		/* uni_category() also knows the aliases: only canonical keys count here. */
		if (t && strcmp(t->name, name) != 0)
			t = NULL;
		if (!t)
			t = uni_script(name);
		for (i = 0; !t && i < uni_ncategory_aliases; i++) {
			const char *a = uni_category_aliases[i].alias;

			canonical_name(a, strlen(a), canon, sizeof(canon));
			if (strcmp(canon, name) == 0)
				t = uni_category(uni_category_aliases[i].name);
		}
	}
	if (!t)
		return false;
	cls_add_table(tab, t->r, t->n);
	if (t->fold)
		cls_add_table(fold, t->fold, t->nfold);
	return true;
}

/*
 * Go's parseUnicodeClass: `\pL`, `\p{Greek}`, `\P{^L}` at *s.  Returns 1
 * and adds to c, 0 when *s is not such a class, -1 on error.
 */
static int unicode_class(struct parser *p, const char **s, struct rclass *c)
{
	const char *t = *s, *name, *seq_end;
	struct rclass tab = { 0 }, fold = { 0 };
	bool negated, invert;
	char canon[64];
	size_t nlen;
	uint32_t r;

	if (p->end - t < 2 || t[0] != '\\' || (t[1] != 'p' && t[1] != 'P'))
		return 0;
	negated = t[1] == 'P';
	t += 2;
	if (t >= p->end) {
		/* Go: nextRune("") fails, and the class is then just not there. */
		fail(p, E_INVALID_CHAR_RANGE, *s, (size_t)(t - *s));
		return -1;
	}
	if (!next_rune(p, &t, &r))
		return -1;
	if (r != '{') {
		name = *s + 2;
		nlen = (size_t)(t - name);
		seq_end = t;
	} else {
		const char *close = memchr(*s, '}', (size_t)(p->end - *s));

		if (!close) {
			if (!check_utf8(p, *s, (size_t)(p->end - *s)))
				return -1;
			fail(p, E_INVALID_CHAR_RANGE, *s, (size_t)(p->end - *s));
			return -1;
		}
		name = *s + 3;
		nlen = (size_t)(close - name);
		seq_end = close + 1;
		if (!check_utf8(p, name, nlen))
			return -1;
	}
	if (nlen > 0 && name[0] == '^') {
		negated = !negated;
		name++;
		nlen--;
	}
	canonical_name(name, nlen, canon, sizeof(canon));
	if (nlen >= sizeof(canon) || !unicode_table(canon, &tab, &fold, &invert)) {
		free(tab.r);
		free(fold.r);
		fail(p, E_INVALID_CHAR_RANGE, *s, (size_t)(seq_end - *s));
		return -1;
	}
	if (invert)
		negated = !negated;
	if (p->flags & F_FOLD)
		cls_append_class(&tab, &fold, false);
	cls_clean(&tab);
	cls_append_class(c, &tab, negated);
	free(tab.r);
	free(fold.r);
	*s = seq_end;
	return 1;
}

/* Go's parseClass: *s at '['. */
static struct re_node *parse_class(struct parser *p)
{
	const char *whole = p->s, *t = p->s + 1;
	struct re_node *n = re_new_node(p, N_CLASS);
	bool negated = false, first = true;

	if (t < p->end && *t == '^') {
		negated = true;
		t++;
	}
	while (t >= p->end || *t != ']' || first) {
		const char *rng = t;
		uint32_t lo, hi;
		int u;

		first = false;
		/* POSIX [:alnum:] */
		if (p->end - t > 2 && t[0] == '[' && t[1] == ':') {
			const char *close = NULL, *q;

			for (q = t + 2; q + 1 < p->end; q++) {
				if (q[0] == ':' && q[1] == ']') {
					close = q;
					break;
				}
			}
			if (close) {
				const char *nm = t + 2;
				size_t nl = (size_t)(close - nm), i;
				bool neg = nl > 0 && nm[0] == '^';
				const uint32_t *g = NULL;

				if (neg) {
					nm++;
					nl--;
				}
				for (i = 0; i < ARRAY_SIZE(posix_groups); i++)
					if (strlen(posix_groups[i].name) == nl && memcmp(posix_groups[i].name, nm, nl) == 0)
						g = posix_groups[i].r;
				if (!g)
					return fail(p, E_INVALID_CHAR_RANGE, t, (size_t)(close + 2 - t));
				add_group(p, &n->cls, g, neg);
				t = close + 2;
				continue;
			}
		}
		{
			const char *save = p->s;

			p->s = t;
			u = unicode_class(p, &p->s, &n->cls);
			t = p->s;
			p->s = save;
		}
		if (u < 0)
			return NULL;
		if (u > 0)
			continue;
		if (perl_class(p, &t, &n->cls))
			continue;
		/* A single character or a simple range. */
		if (t >= p->end)
			return fail(p, E_MISSING_BRACKET, whole, (size_t)(p->end - whole));
		if (*t == '\\') {
			if (!parse_escape(p, &t, &lo))
				return NULL;
		} else if (!next_rune(p, &t, &lo)) {
			return NULL;
		}
		hi = lo;
		if (p->end - t >= 2 && t[0] == '-' && t[1] != ']') {
			t++;
			if (t >= p->end)
				return fail(p, E_MISSING_BRACKET, whole, (size_t)(p->end - whole));
			if (*t == '\\') {
				if (!parse_escape(p, &t, &hi))
					return NULL;
			} else if (!next_rune(p, &t, &hi)) {
				return NULL;
			}
			if (hi < lo)
				return fail(p, E_INVALID_CHAR_RANGE, rng, (size_t)(t - rng));
		}
		if (p->flags & F_FOLD)
			cls_add_folded(&n->cls, lo, hi);
		else
			cls_add(&n->cls, lo, hi);
	}
	p->s = t + 1;
	cls_clean(&n->cls);
	if (negated)
		cls_negate(&n->cls);
	return n;
}

/* Go's parseInt inside {n,m}: -1 when absent or with a leading zero; -2 when too big. */
static long repeat_count(const char **s, const char *end)
{
	const char *t = *s;
	long n = 0;

	if (t >= end || *t < '0' || *t > '9')
		return -1;
	if (end - t >= 2 && t[0] == '0' && t[1] >= '0' && t[1] <= '9')
		return -1;
	while (t < end && *t >= '0' && *t <= '9') {
		if (n >= 100000000)
			n = -2;
		else if (n >= 0)
			n = n * 10 + (*t - '0');
		t++;
	}
	*s = t;
	return n;
}

/* Go's parseRepeat: {n}, {n,}, {n,m}.  False when not of that form (a literal '{'). */
static bool parse_repeat(const char *s, const char *end, long *min, long *max, const char **rest)
{
	const char *t = s + 1;

	*min = repeat_count(&t, end);
	if (*min == -1 || t >= end)
		return false;
	if (*t != ',') {
		*max = *min;
	} else {
		t++;
		if (t >= end)
			return false;
		if (*t == '}') {
			*max = -1;
		} else {
			*max = repeat_count(&t, end);
			if (*max == -1)
				return false;
			if (*max == -2)
				*min = -2;
		}
	}
	if (t >= end || *t != '}')
		return false;
	*rest = t + 1;
	return true;
}

/* Go's repeatIsValid: no more than n copies of the innermost thing. */
static bool repeat_is_valid(const struct re_node *re, int n)
{
	size_t i;

	if (re->op == N_REPEAT) {
		int m = re->max;

		if (m == 0)
			return true;
		if (m < 0)
			m = re->min;
		if (m > n)
			return false;
		if (m > 0)
			n /= m;
	}
	for (i = 0; i < re->nsub; i++)
		if (!repeat_is_valid(re->sub[i], n))
			return false;
	return true;
}

static struct re_node *parse_alt(struct parser *p);

/* Go's parsePerlFlags and what follows: *s at "(?". */
static bool parse_group(struct parser *p, struct re_node *cat)
{
	const char *s = p->s, *t = s;
	unsigned flags = p->flags, saved;
	bool neg = false, saw = false, capture = false;
	const char *name = NULL;
	size_t nlen = 0;
	struct re_node *body, *g;
	uint32_t c;

	if (p->end - t >= 2 && t[1] == '?') {
		bool with_p = p->end - t > 4 && t[2] == 'P' && t[3] == '<';
		bool with_name = p->end - t > 3 && t[2] == '<';

		if (with_p || with_name) {
			const char *close = memchr(t, '>', (size_t)(p->end - t));
			size_t i;

			name = t + (with_p ? 4 : 3);
			if (!close) {
				if (!check_utf8(p, t, (size_t)(p->end - t)))
					return false;
				fail(p, E_INVALID_NAMED_CAPTURE, s, (size_t)(p->end - s));
				return false;
			}
			nlen = (size_t)(close - name);
			if (!check_utf8(p, name, nlen))
				return false;
			for (i = 0; i < nlen; i++)
				if (name[i] != '_' && !is_alnum((unsigned char)name[i]))
					break;
			if (nlen == 0 || i < nlen) {
				fail(p, E_INVALID_NAMED_CAPTURE, t, (size_t)(close + 1 - t));
				return false;
			}
			capture = true;
			t = close + 1;
		} else {
			t += 2;
			for (;;) {
				if (t >= p->end)
					goto bad;
				if (!next_rune(p, &t, &c))
					return false;
				if (c == 'i') {
					flags = neg ? flags & ~F_FOLD : flags | F_FOLD;
				} else if (c == 'm') {
					flags = neg ? flags | F_ONELINE : flags & ~F_ONELINE;
				} else if (c == 's') {
					flags = neg ? flags & ~F_DOTNL : flags | F_DOTNL;
				} else if (c == 'U') {
					flags = neg ? flags & ~F_NONGREEDY : flags | F_NONGREEDY;
				} else if (c == '-') {
					if (neg)
						goto bad;
					neg = true;
					saw = false;
					continue;
				} else if (c == ':' || c == ')') {
					if (neg && !saw)
						goto bad;
					if (c == ')') {
						/* Flags only: they hold to the end of the enclosing group. */
						p->flags = flags;
						p->s = t;
						return true;
					}
					break;
				} else {
					goto bad;
				}
				saw = true;
			}
		}
	} else {
		capture = true;
		t++;
	}
	if (++p->depth > MAX_NEST) {
		fail(p, E_NESTING_DEPTH, p->whole, (size_t)(p->end - p->whole));
		return false;
	}
	saved = p->flags;
	if (capture) {
		p->ncap++;
		p->names = xrealloc(p->names, xalloc__mul(p->ncap + 1, sizeof(char *)));
		p->names[p->ncap] = name ? xstrndup(name, nlen) : xstrdup("");
		g = re_new_node(p, N_CAP);
		g->arg = p->ncap;
	} else {
		g = NULL;
		p->flags = flags;
	}
	p->s = t;
	body = parse_alt(p);
	if (!body)
		return false;
	if (p->s >= p->end || *p->s != ')') {
		fail(p, E_MISSING_PAREN, p->whole, (size_t)(p->end - p->whole));
		return false;
	}
	p->s++;
	p->flags = saved;
	p->depth--;
	if (g) {
		node_add(g, body);
		body = g;
	}
	node_add(cat, body);
	return true;
bad:
	fail(p, E_INVALID_PERL_OP, s, (size_t)(t - s));
	return false;
}

/*
 * Apply a repetition operator to the last item of `cat`.  `before` is at
 * the operator, `after` just past it; `last` is where the previous token
 * began if it was a repetition too (Go refuses `a**`).
 */
static bool repeat(struct parser *p, struct re_node *cat, enum nop op, int min, int max,
		   const char *before, const char *after, const char *last)
{
	bool nongreedy = p->flags & F_NONGREEDY;
	struct re_node *r;

	if (after < p->end && *after == '?') {
		after++;
		nongreedy = !nongreedy;
	}
	if (last) {
		fail(p, E_INVALID_REPEAT_OP, last, (size_t)(after - last));
		return false;
	}
	if (cat->nsub == 0) {
		fail(p, E_MISSING_REPEAT_ARG, before, (size_t)(after - before));
		return false;
	}
	r = re_new_node(p, op);
	r->min = min;
	r->max = max;
	r->nongreedy = nongreedy;
	node_add(r, cat->sub[cat->nsub - 1]);
	cat->sub[cat->nsub - 1] = r;
	if (op == N_REPEAT && (min >= 2 || max >= 2) && !repeat_is_valid(r, MAX_REPEAT)) {
		fail(p, E_INVALID_REPEAT_SIZE, before, (size_t)(after - before));
		return false;
	}
	p->s = after;
	return true;
}

/* One branch: items up to '|', ')' or the end. */
static struct re_node *parse_concat(struct parser *p)
{
	struct re_node *cat = re_new_node(p, N_CAT);
	const char *last_repeat = NULL;

	while (p->s < p->end && *p->s != '|' && *p->s != ')') {
		const char *tok = p->s, *repeat_at = NULL;
		struct re_node *n = NULL;
		uint32_t c;

		switch (*p->s) {
		case '(':
			if (!parse_group(p, cat))
				return NULL;
			break;
		case '^':
			n = re_new_node(p, N_ASSERT);
			n->arg = p->flags & F_ONELINE ? EMPTY_BOT : EMPTY_BOL;
			p->s++;
			break;
		case '$':
			n = re_new_node(p, N_ASSERT);
			n->arg = p->flags & F_ONELINE ? EMPTY_EOT : EMPTY_EOL;
			p->s++;
			break;
		case '.':
			n = re_new_node(p, p->flags & F_DOTNL ? N_ANY : N_ANYNL);
			p->s++;
			break;
		case '[':
			n = parse_class(p);
			if (!n)
				return NULL;
			break;
		case '*':
		case '+':
		case '?': {
			enum nop op = *tok == '*' ? N_STAR : *tok == '+' ? N_PLUS : N_QUEST;

			if (!repeat(p, cat, op, 0, 0, tok, tok + 1, last_repeat))
				return NULL;
			repeat_at = tok;
			break;
		}
		case '{': {
			long min, max;
			const char *after;

			if (!parse_repeat(tok, p->end, &min, &max, &after)) {
				n = literal(p, '{');
				p->s++;
				break;
			}
			if (min < 0 || min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && min > max))
				return fail(p, E_INVALID_REPEAT_SIZE, tok, (size_t)(after - tok));
			if (!repeat(p, cat, N_REPEAT, (int)min, (int)max, tok, after, last_repeat))
				return NULL;
			repeat_at = tok;
			break;
		}
		case '\\': {
			char k = p->end - p->s >= 2 ? p->s[1] : '\0';
			int u;

			if (k == 'A' || k == 'z' || k == 'b' || k == 'B') {
				n = re_new_node(p, N_ASSERT);
				n->arg = k == 'A' ? EMPTY_BOT : k == 'z' ? EMPTY_EOT : k == 'b' ? EMPTY_WB : EMPTY_NWB;
				p->s += 2;
				break;
			}
			if (k == 'C')
				return fail(p, E_INVALID_ESCAPE, p->s, 2);
			if (k == 'Q') {
				const char *lit = p->s + 2, *stop = p->end, *q;

				for (q = lit; q + 1 < p->end; q++) {
					if (q[0] == '\\' && q[1] == 'E') {
						stop = q;
						break;
					}
				}
				p->s = stop == p->end ? p->end : stop + 2;
				while (lit < stop) {
					if (!next_rune(p, &lit, &c))
						return NULL;
					node_add(cat, literal(p, c));
				}
				break;
			}
			n = re_new_node(p, N_CLASS);
			u = unicode_class(p, &p->s, &n->cls);
			if (u < 0)
				return NULL;
			if (u > 0 || perl_class(p, &p->s, &n->cls)) {
				cls_clean(&n->cls);
				break;
			}
			if (!parse_escape(p, &p->s, &c))
				return NULL;
			if (p->flags & F_FOLD)
				cls_add_folded(&n->cls, c, c);
			else
				cls_add(&n->cls, c, c);
			cls_clean(&n->cls);
			break;
		}
		default:
			if (!next_rune(p, &p->s, &c))
				return NULL;
			n = literal(p, c);
			break;
		}
		if (n)
			node_add(cat, n);
		last_repeat = repeat_at;
	}
	return cat;
}

static struct re_node *parse_alt(struct parser *p)
{
	struct re_node *alt = NULL, *first = parse_concat(p);

	if (!first)
		return NULL;
	while (p->s < p->end && *p->s == '|') {
		struct re_node *next;

		p->s++;
		next = parse_concat(p);
		if (!next)
			return NULL;
		if (!alt) {
			alt = re_new_node(p, N_ALT);
			node_add(alt, first);
		}
		node_add(alt, next);
	}
	return alt ? alt : first;
}

/* ------------------------------------------------------------ the program */

enum iop { I_FAIL, I_MATCH, I_RUNE, I_ANY, I_ANYNL, I_ALT, I_EMPTY, I_CAP, I_NOP };

struct inst {
	uint8_t op;
	uint32_t out, arg; /* I_ALT: out preferred, arg other; I_CAP: slot; I_EMPTY: EMPTY_* */
	const uint32_t *r; /* I_RUNE: ranges */
	size_t nr;
};

struct regex {
	struct inst *prog;
	size_t ninst;
	size_t nthr; /* instructions a thread can wait on (RUNE, ANY, ANYNL, MATCH) */
	size_t nsub;
	char **names;
	uint32_t **classes; /* owned range arrays the program points into */
	size_t nclasses;
	size_t plen; /* pattern length: Split treats an empty pattern apart */
};

struct compiler {
	struct regex *re;
	size_t alloc;
	bool too_large;
};

/* A fragment: entry, holes to patch (a chain through the holes), nullable. */
struct frag {
	uint32_t i;
	uint32_t head, tail; /* patch list: inst << 1 | (0: out, 1: arg); 0 = empty */
	bool nullable;
};

static uint32_t *hole(struct regex *re, uint32_t l)
{
	return l & 1 ? &re->prog[l >> 1].arg : &re->prog[l >> 1].out;
}

static void patch(struct regex *re, uint32_t head, uint32_t to)
{
	while (head) {
		uint32_t *h = hole(re, head);

		head = *h;
		*h = to;
	}
}

static void plist_append(struct regex *re, struct frag *f, uint32_t head, uint32_t tail)
{
	if (!f->head) {
		f->head = head;
		f->tail = tail;
		return;
	}
	if (head) {
		*hole(re, f->tail) = head;
		f->tail = tail;
	}
}

static struct frag emit(struct compiler *c, enum iop op)
{
	struct frag f = { 0, 0, 0, true };
	struct regex *re = c->re;

	if (re->ninst >= REGEX_MAX_INSTS) {
		c->too_large = true;
		return f;
	}
	XGROW(re->prog, re->ninst + 1, c->alloc);
	memset(&re->prog[re->ninst], 0, sizeof(re->prog[0]));
	re->prog[re->ninst].op = (uint8_t)op;
	f.i = (uint32_t)re->ninst++;
	if (op == I_RUNE || op == I_ANY || op == I_ANYNL || op == I_MATCH)
		re->nthr++;
	return f;
}

/* A one-exit instruction whose `out` is the fragment's only hole. */
static struct frag emit1(struct compiler *c, enum iop op)
{
	struct frag f = emit(c, op);

	if (f.i)
		f.head = f.tail = f.i << 1;
	return f;
}

static struct frag cat(struct compiler *c, struct frag f1, struct frag f2)
{
	struct frag f;

	if (!f1.i || !f2.i)
		return (struct frag){ 0, 0, 0, false };
	patch(c->re, f1.head, f2.i);
	f.i = f1.i;
	f.head = f2.head;
	f.tail = f2.tail;
	f.nullable = f1.nullable && f2.nullable;
	return f;
}

static struct frag alt(struct compiler *c, struct frag f1, struct frag f2)
{
	struct frag f;

	if (!f1.i)
		return f2;
	if (!f2.i)
		return f1;
	f = emit(c, I_ALT);
	if (!f.i)
		return f;
	c->re->prog[f.i].out = f1.i;
	c->re->prog[f.i].arg = f2.i;
	f.head = f1.head;
	f.tail = f1.tail;
	plist_append(c->re, &f, f2.head, f2.tail);
	f.nullable = f1.nullable || f2.nullable;
	return f;
}

/*
 * An ALT choosing f1 (first unless nongreedy) or a hole.  quest: the hole
 * and f1's exits leave; loop (x+ / x*): f1's exits come back to the ALT.
 */
static struct frag alt_hole(struct compiler *c, struct frag f1, bool nongreedy, bool loop_back)
{
	struct frag f = emit(c, I_ALT);
	uint32_t l;

	if (!f.i)
		return f;
	if (nongreedy) {
		c->re->prog[f.i].arg = f1.i;
		l = f.i << 1;
	} else {
		c->re->prog[f.i].out = f1.i;
		l = f.i << 1 | 1;
	}
	f.head = f.tail = l;
	if (loop_back)
		patch(c->re, f1.head, f.i);
	else
		plist_append(c->re, &f, f1.head, f1.tail);
	return f;
}

static struct frag quest(struct compiler *c, struct frag f1, bool nongreedy)
{
	return alt_hole(c, f1, nongreedy, false);
}

static struct frag loop(struct compiler *c, struct frag f1, bool nongreedy)
{
	return alt_hole(c, f1, nongreedy, true);
}

static struct frag plus(struct compiler *c, struct frag f1, bool nongreedy)
{
	struct frag l = loop(c, f1, nongreedy);

	return (struct frag){ l.i ? f1.i : 0, l.head, l.tail, f1.nullable };
}

static struct frag star(struct compiler *c, struct frag f1, bool nongreedy)
{
	/* x* over a nullable x is (x+)?, for Go's priority order (golang.org/issue/46123). */
	if (f1.nullable)
		return quest(c, plus(c, f1, nongreedy), nongreedy);
	return loop(c, f1, nongreedy);
}

static struct frag compile_node(struct compiler *c, const struct re_node *n);

/* Go's simplify1: repeating the empty match, or x** with equal greediness, is x. */
static bool simplify_same(const struct re_node *sub, enum nop op, bool nongreedy)
{
	return sub->op == N_EMPTY || (sub->op == op && sub->nongreedy == nongreedy);
}

static struct frag compile_op(struct compiler *c, const struct re_node *sub, enum nop op, bool ng)
{
	if (simplify_same(sub, op, ng))
		return compile_node(c, sub);
	if (op == N_STAR)
		return star(c, compile_node(c, sub), ng);
	if (op == N_PLUS)
		return plus(c, compile_node(c, sub), ng);
	return quest(c, compile_node(c, sub), ng);
}

/* Go's Simplify of x{min,max}, compiled as it goes. */
static struct frag compile_repeat(struct compiler *c, const struct re_node *n)
{
	const struct re_node *sub = n->sub[0];
	struct frag f = { 0, 0, 0, true }, suffix;
	bool have = false;
	int i;

	if (n->min == 0 && n->max == 0)
		return emit1(c, I_NOP);
	if (n->max == -1) {
		if (n->min == 0)
			return compile_op(c, sub, N_STAR, n->nongreedy);
		if (n->min == 1)
			return compile_op(c, sub, N_PLUS, n->nongreedy);
		for (i = 0; i < n->min - 1 && !c->too_large; i++) {
			struct frag x = compile_node(c, sub);

			f = have ? cat(c, f, x) : x;
			have = true;
		}
		return cat(c, f, compile_op(c, sub, N_PLUS, n->nongreedy));
	}
	if (n->min == 1 && n->max == 1)
		return compile_node(c, sub);
	for (i = 0; i < n->min && !c->too_large; i++) {
		struct frag x = compile_node(c, sub);

		f = have ? cat(c, f, x) : x;
		have = true;
	}
	if (n->max > n->min) {
		/* (x(x(x)?)?)?, built from the inside out. */
		if (sub->op == N_EMPTY) {
			suffix = compile_node(c, sub);
		} else {
			suffix = quest(c, compile_node(c, sub), n->nongreedy);
			for (i = n->min + 1; i < n->max && !c->too_large; i++) {
				struct frag x = compile_node(c, sub);

				suffix = quest(c, cat(c, x, suffix), n->nongreedy);
			}
		}
		f = have ? cat(c, f, suffix) : suffix;
	}
	return f;
}

static struct frag compile_node(struct compiler *c, const struct re_node *n)
{
	struct frag f = { 0, 0, 0, true };
	size_t i;

	if (c->too_large)
		return f;
	switch (n->op) {
	case N_EMPTY:
		return emit1(c, I_NOP);
	case N_CLASS:
		f = emit1(c, I_RUNE);
		if (f.i) {
			c->re->prog[f.i].r = n->cls.r;
			c->re->prog[f.i].nr = n->cls.n;
		}
		f.nullable = false;
		return f;
	case N_ANY:
	case N_ANYNL:
		f = emit1(c, n->op == N_ANY ? I_ANY : I_ANYNL);
		f.nullable = false;
		return f;
	case N_ASSERT:
		f = emit1(c, I_EMPTY);
		if (f.i)
			c->re->prog[f.i].arg = n->arg;
		return f;
	case N_CAP: {
		struct frag open = emit1(c, I_CAP), body, close;

		if (open.i)
			c->re->prog[open.i].arg = 2 * n->arg;
		body = compile_node(c, n->sub[0]);
		close = emit1(c, I_CAP);
		if (close.i)
			c->re->prog[close.i].arg = 2 * n->arg + 1;
		return cat(c, cat(c, open, body), close);
	}
	case N_STAR:
	case N_PLUS:
	case N_QUEST:
		return compile_op(c, n->sub[0], n->op, n->nongreedy);
	case N_REPEAT:
		return compile_repeat(c, n);
	case N_CAT:
		if (n->nsub == 0)
			return emit1(c, I_NOP);
		f = compile_node(c, n->sub[0]);
		for (i = 1; i < n->nsub; i++)
			f = cat(c, f, compile_node(c, n->sub[i]));
		return f;
	case N_ALT:
		f = (struct frag){ 0, 0, 0, false };
		for (i = 0; i < n->nsub; i++)
			f = alt(c, f, compile_node(c, n->sub[i]));
		return f;
	}
	return f;
}

struct regex *regex_free(struct regex *re)
{
	size_t i;

	if (!re)
		return NULL;
	for (i = 0; i < re->nclasses; i++)
		free(re->classes[i]);
	free(re->classes);
	for (i = 0; i <= re->nsub; i++)
		free(re->names ? re->names[i] : NULL);
	free(re->names);
	free(re->prog);
	free(re);
	return NULL;
}

int regex_compile(const char *pat, size_t n, struct regex **ret, char **ret_err)
{
	struct parser p = { .whole = pat, .end = pat + n, .s = pat, .flags = F_ONELINE };
	struct compiler c = { 0 };
	struct regex *re;
	struct re_node *tree, *x;
	struct frag f, m;
	size_t calloc_classes = 0;

	p.names = xnew0(char *, 1);
	p.names[0] = xstrdup("");
	tree = parse_alt(&p);
	if (tree && p.s < p.end)
		tree = fail(&p, E_UNEXPECTED_PAREN, p.whole, n);
	re = xcalloc(1, sizeof(*re));
	re->names = p.names;
	re->nsub = p.ncap;
	re->plen = n;
	if (!tree) {
		free_nodes(p.all, false);
		regex_free(re);
		*ret_err = p.err;
		return -EINVAL;
	}
	c.re = re;
	emit(&c, I_FAIL); /* instruction 0: "no instruction" in patch lists */
	f = compile_node(&c, tree);
	m = emit1(&c, I_MATCH);
	f = cat(&c, f, m);
	/* The program points into the tree's classes: keep them, drop the rest. */
	for (x = p.all; x; x = x->all_next)
		if (x->cls.r) {
			XGROW(re->classes, re->nclasses + 1, calloc_classes);
			re->classes[re->nclasses++] = x->cls.r;
		}
	free_nodes(p.all, true);
	if (c.too_large || xalloc__mul(re->nthr, 2 * (re->nsub + 1)) > REGEX_MAX_SLOTS) {
		*ret_err = xasprintf("error parsing regexp: %s: `%.*s`", E_LARGE, (int)n, pat);
		regex_free(re);
		return -EINVAL;
	}
	re->prog[0].out = f.i; /* the entry; 0 when nothing can match */
	*ret = re;
	return 0;
}

size_t regex_nsub(const struct regex *re)
{
	return re->nsub;
}

const char *regex_sub_name(const struct regex *re, size_t i)
{
	return i <= re->nsub ? re->names[i] : "";
}

/* ------------------------------------------------------------ the VM */

struct queue {
	uint32_t *sparse; /* [ninst] */
	uint32_t *dense;  /* [ninst] pcs in the set, in insertion order */
	size_t n;
	uint32_t *tpc; /* [nthr] threads (waiting instructions), by priority */
	ssize_t *tcap; /* [nthr * ncap] their captures */
	size_t nt;
};

struct stack_ent {
	uint32_t pc;
	int32_t slot; /* >= 0: restore cap[slot] = val instead of visiting pc */
	ssize_t val;
};

struct machine {
	const struct regex *re;
	size_t ncap;
	struct queue q[2];
	struct stack_ent *stack; /* [2 * ninst + 1] */
	ssize_t *work;           /* [ncap] */
	bool matched;
	ssize_t *matchcap; /* [ncap] */
};

static bool in_set(const struct queue *q, uint32_t pc)
{
	uint32_t j = q->sparse[pc];

	return j < q->n && q->dense[j] == pc;
}

static bool is_word(int32_t c)
{
	return c >= 0 && c < 0x80 && (is_alnum((uint32_t)c) || c == '_');
}

/* Go's EmptyOpContext: the assertions true between runes r1 and r2 (-1: text end). */
static unsigned context(int32_t r1, int32_t r2)
{
	unsigned op = EMPTY_NWB;
	bool b = false;

	if (is_word(r1))
		b = true;
	else if (r1 == '\n')
		op |= EMPTY_BOL;
	else if (r1 < 0)
		op |= EMPTY_BOT | EMPTY_BOL;
	if (is_word(r2))
		b = !b;
	else if (r2 == '\n')
		op |= EMPTY_EOL;
	else if (r2 < 0)
		op |= EMPTY_EOT | EMPTY_EOL;
	if (b)
		op ^= EMPTY_WB | EMPTY_NWB;
	return op;
}

/* Add pc and its epsilon closure to q, captures from m->work (restored on return). */
static void add(struct machine *m, struct queue *q, uint32_t pc0, ssize_t pos, unsigned cond)
{
	const struct inst *prog = m->re->prog;
	size_t sp = 0;

	m->stack[sp++] = (struct stack_ent){ pc0, -1, 0 };
	while (sp > 0) {
		struct stack_ent e = m->stack[--sp];
		uint32_t pc = e.pc;

		if (e.slot >= 0) {
			m->work[e.slot] = e.val;
			continue;
		}
		for (;;) {
			const struct inst *in;

			if (pc == 0 || in_set(q, pc))
				break;
			q->sparse[pc] = (uint32_t)q->n;
			q->dense[q->n++] = pc;
			in = &prog[pc];
			if (in->op == I_ALT) {
				m->stack[sp++] = (struct stack_ent){ in->arg, -1, 0 };
				pc = in->out;
			} else if (in->op == I_EMPTY) {
				if ((in->arg & ~cond) != 0)
					break;
				pc = in->out;
			} else if (in->op == I_NOP) {
				pc = in->out;
			} else if (in->op == I_CAP) {
				if (in->arg < m->ncap) {
					m->stack[sp++] = (struct stack_ent){ 0, (int32_t)in->arg, m->work[in->arg] };
					m->work[in->arg] = pos;
				}
				pc = in->out;
			} else if (in->op == I_FAIL) {
				break;
			} else {
				/* RUNE, ANY, ANYNL, MATCH: a thread waits here. */
				q->tpc[q->nt] = pc;
				if (m->ncap)
					memcpy(&q->tcap[q->nt * m->ncap], m->work, m->ncap * sizeof(ssize_t));
				q->nt++;
				break;
			}
		}
	}
}

static void step(struct machine *m, struct queue *runq, struct queue *nextq, ssize_t pos,
		 ssize_t nextpos, int32_t c, unsigned nextcond)
{
	const struct inst *prog = m->re->prog;
	size_t j;

	for (j = 0; j < runq->nt; j++) {
		const struct inst *in = &prog[runq->tpc[j]];
		ssize_t *cap = &runq->tcap[j * m->ncap];
		bool ok = false;

		switch (in->op) {
		case I_MATCH:
			if (m->ncap) {
				cap[1] = pos;
				memcpy(m->matchcap, cap, m->ncap * sizeof(ssize_t));
			}
			m->matched = true;
			/* Leftmost-first: the threads after this one lose. */
			runq->nt = 0;
			runq->n = 0;
			return;
		case I_RUNE:
			ok = c >= 0 && cls_has(in->r, in->nr, (uint32_t)c);
			break;
		case I_ANY:
			ok = c >= 0;
			break;
		case I_ANYNL:
			ok = c >= 0 && c != '\n';
			break;
		default:
			break;
		}
		if (ok) {
			if (m->ncap)
				memcpy(m->work, cap, m->ncap * sizeof(ssize_t));
			add(m, nextq, in->out, nextpos, nextcond);
		}
	}
	runq->nt = 0;
	runq->n = 0;
}

static int32_t rune_at(const char *s, size_t n, size_t pos, size_t *width)
{
	uint32_t c;

	if (pos >= n) {
		*width = 0;
		return -1;
	}
	*width = utf8_decode(s + pos, n - pos, &c);
	return (int32_t)c;
}

bool regex_exec(const struct regex *re, const char *s, size_t n, size_t pos0, ssize_t *caps,
		size_t ncap)
{
	struct machine m = { .re = re, .ncap = ncap };
	size_t pos = pos0, width, width1 = 0, i, k;
	int32_t r, r1 = -1, before = -1;
	unsigned flag;
	struct queue *runq, *nextq;

	if (pos0 > n || re->prog[0].out == 0)
		return false;
	for (k = 0; k < 2; k++) {
		m.q[k].sparse = xnew0(uint32_t, re->ninst);
		m.q[k].dense = xnew0(uint32_t, re->ninst);
		m.q[k].tpc = xnew0(uint32_t, re->nthr + 1);
		m.q[k].tcap = xnew0(ssize_t, (re->nthr + 1) * (ncap ? ncap : 1));
	}
	m.stack = xnew0(struct stack_ent, 2 * re->ninst + 1);
	m.work = xnew0(ssize_t, ncap ? ncap : 1);
	m.matchcap = xnew0(ssize_t, ncap ? ncap : 1);
	for (i = 0; i < ncap; i++)
		m.matchcap[i] = -1;
	runq = &m.q[0];
	nextq = &m.q[1];
	r = rune_at(s, n, pos, &width);
	if (r >= 0)
		r1 = rune_at(s, n, pos + width, &width1);
	if (pos > 0) {
		uint32_t b;

		utf8_decode_last(s, pos, &b);
		before = (int32_t)b;
	}
	flag = context(before, r);
	for (;;) {
		if (runq->nt == 0 && m.matched)
			break;
		if (!m.matched) {
			for (i = 0; i < ncap; i++)
				m.work[i] = m.matchcap[i];
			if (ncap)
				m.work[0] = (ssize_t)pos;
			add(&m, runq, re->prog[0].out, (ssize_t)pos, flag);
		}
		flag = context(r, r1);
		step(&m, runq, nextq, (ssize_t)pos, (ssize_t)(pos + width), r, flag);
		if (width == 0)
			break;
		if (ncap == 0 && m.matched)
			break;
		pos += width;
		r = r1;
		width = width1;
		if (r >= 0)
			r1 = rune_at(s, n, pos + width, &width1);
		else
			width1 = 0;
		runq = runq == &m.q[0] ? &m.q[1] : &m.q[0];
		nextq = nextq == &m.q[0] ? &m.q[1] : &m.q[0];
	}
	if (m.matched && ncap)
		memcpy(caps, m.matchcap, ncap * sizeof(ssize_t));
	for (k = 0; k < 2; k++) {
		free(m.q[k].sparse);
		free(m.q[k].dense);
		free(m.q[k].tpc);
		free(m.q[k].tcap);
	}
	free(m.stack);
	free(m.work);
	free(m.matchcap);
	return m.matched;
}

bool regex_match(const struct regex *re, const char *s, size_t n)
{
	return regex_exec(re, s, n, 0, NULL, 0);
}

int regex_find_all(const struct regex *re, const char *s, size_t n, long max, bool groups,
		   int (*cb)(void *ud, const ssize_t *caps), void *ud)
{
	size_t ncap = groups ? 2 * (re->nsub + 1) : 2;
	_cleanup_free_ ssize_t *caps = xnew0(ssize_t, ncap);
	ssize_t prev_end = -1;
	size_t pos = 0;
	int count = 0;

	if (max < 0)
		max = (long)n + 1;
	while (count < max && pos <= n) {
		bool accept = true;
		int r;

		if (!regex_exec(re, s, n, pos, caps, ncap))
			break;
		if ((size_t)caps[1] == pos) {
			/* An empty match right after the previous match does not count. */
			if (caps[0] == prev_end)
				accept = false;
			if (pos < n) {
				uint32_t c;

				pos += utf8_decode(s + pos, n - pos, &c);
			} else {
				pos = n + 1;
			}
		} else {
			pos = (size_t)caps[1];
		}
		prev_end = caps[1];
		if (accept) {
			r = cb(ud, caps);
			if (r < 0)
				return r;
			count++;
		}
	}
	return count;
}

/* Go's extract: a group name or number after '$'. */
static bool extract(const char *t, const char *end, const char **name, size_t *nlen, long *num,
		    const char **rest)
{
	bool brace = false;
	const char *p;
	size_t i;

	if (t >= end)
		return false;
	if (*t == '{') {
		brace = true;
		t++;
	}
	p = t;
	while (p < end) {
		uint32_t c;
		size_t w = utf8_decode(p, (size_t)(end - p), &c);

		if (!uni_is_letter(c) && !uni_is_digit(c) && c != '_')
			break;
		p += w;
	}
	if (p == t)
		return false;
	*name = t;
	*nlen = (size_t)(p - t);
	if (brace) {
		if (p >= end || *p != '}')
			return false;
		p++;
	}
	*num = 0;
	for (i = 0; i < *nlen; i++) {
		if (t[i] < '0' || t[i] > '9' || *num >= 100000000) {
			*num = -1;
			break;
		}
		*num = *num * 10 + (t[i] - '0');
	}
	if (t[0] == '0' && *nlen > 1)
		*num = -1;
	*rest = p;
	return true;
}

/* Go's Regexp.expand. */
static int expand(const struct regex *re, struct buf *out, const char *tpl, size_t tlen,
		  const char *src, const ssize_t *match, size_t ncap)
{
	const char *t = tpl, *end = tpl + tlen;

	while (t < end) {
		const char *dollar = memchr(t, '$', (size_t)(end - t)), *name, *rest;
		size_t nlen;
		long num;
		int r;

		if (!dollar)
			break;
		if ((r = buf_add(out, t, (size_t)(dollar - t))) < 0)
			return r;
		t = dollar + 1;
		if (t < end && *t == '$') {
			if ((r = buf_addch(out, '$')) < 0)
				return r;
			t++;
			continue;
		}
		if (!extract(t, end, &name, &nlen, &num, &rest)) {
			if ((r = buf_addch(out, '$')) < 0)
				return r;
			continue;
		}
		t = rest;
		if (num >= 0) {
			if ((size_t)(2 * num + 1) < ncap && match[2 * num] >= 0 &&
			    (r = buf_add(out, src + match[2 * num], (size_t)(match[2 * num + 1] - match[2 * num]))) < 0)
				return r;
			continue;
		}
		for (size_t i = 0; i <= re->nsub; i++) {
			if (strlen(re->names[i]) == nlen && memcmp(re->names[i], name, nlen) == 0 &&
			    2 * i + 1 < ncap && match[2 * i] >= 0) {
				if ((r = buf_add(out, src + match[2 * i], (size_t)(match[2 * i + 1] - match[2 * i]))) < 0)
					return r;
				break;
			}
		}
	}
	return buf_add(out, t, (size_t)(end - t));
}

int regex_replace_all(const struct regex *re, const char *s, size_t n, const char *repl,
		      size_t rlen, bool literal_repl, struct buf *out)
{
	size_t ncap = !literal_repl && memchr(repl, '$', rlen) ? 2 * (re->nsub + 1) : 2;
	_cleanup_free_ ssize_t *a = xnew0(ssize_t, ncap);
	size_t last_end = 0, pos = 0;
	int r;

	while (pos <= n) {
		uint32_t c;
		size_t width;

		if (!regex_exec(re, s, n, pos, a, ncap))
			break;
		if ((r = buf_add(out, s + last_end, (size_t)a[0] - last_end)) < 0)
			return r;
		/* No replacement for an empty match right after a previous match. */
		if ((size_t)a[1] > last_end || a[0] == 0) {
			r = literal_repl ? buf_add(out, repl, rlen) : expand(re, out, repl, rlen, s, a, ncap);
			if (r < 0)
				return r;
		}
		last_end = (size_t)a[1];
		width = pos < n ? utf8_decode(s + pos, n - pos, &c) : 1;
		if (pos + width > (size_t)a[1])
			pos += width;
		else if (pos + 1 > (size_t)a[1])
			pos++;
		else
			pos = (size_t)a[1];
	}
	return buf_add(out, s + last_end, n - last_end);
}

struct collect {
	ssize_t *m;
	size_t n, alloc;
};

static int collect_cb(void *ud, const ssize_t *caps)
{
	struct collect *c = ud;

	XGROW(c->m, 2 * (c->n + 1), c->alloc);
	c->m[2 * c->n] = caps[0];
	c->m[2 * c->n + 1] = caps[1];
	c->n++;
	return 0;
}

int regex_split(const struct regex *re, const char *s, size_t n, long max,
		int (*cb)(void *ud, const char *piece, size_t len), void *ud)
{
	struct collect c = { 0 };
	size_t beg = 0, end = 0, i;
	int count = 0, r = 0;

	if (max == 0)
		return 0;
	if (re->plen > 0 && n == 0)
		return (r = cb(ud, s, 0)) < 0 ? r : 1;
	r = regex_find_all(re, s, n, max, false, collect_cb, &c);
	for (i = 0; r >= 0 && i < c.n; i++) {
		if (max > 0 && count == max - 1)
			break;
		end = (size_t)c.m[2 * i];
		if (c.m[2 * i + 1] != 0) {
			r = cb(ud, s + beg, end - beg);
			count++;
		}
		beg = (size_t)c.m[2 * i + 1];
	}
	if (r >= 0 && end != n) {
		r = cb(ud, s + beg, n - beg);
		count++;
	}
	free(c.m);
	return r < 0 ? r : count;
}

int regex_quote_meta(const char *s, size_t n, struct buf *out)
{
	size_t i;
	int r = 0;

	for (i = 0; i < n && r == 0; i++) {
		if (strchr("\\.+*?()|[]{}^$", s[i]) && s[i] != '\0')
			r = buf_addch(out, '\\');
		if (r == 0)
			r = buf_addch(out, s[i]);
	}
	return r;
}
