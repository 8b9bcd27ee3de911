/*
 * match.c: the two pattern languages Helm uses on chart paths.
 *
 * helm__path_match() is Go's path.Match (what .helmignore rules and
 * `helm template --show-only` use): `*` and `?` never cross '/', classes
 * `[a-z]`/`[^a-z]`, `\` escapes, and a malformed pattern is an error.
 * Matching is the usual greedy scan that remembers the last `*`: since a
 * star cannot cross '/', resuming from the last star is enough, so the
 * cost is linear in practice and at worst quadratic, never exponential.
 *
 * helm__glob_*() is gobwas/glob as .Files.Glob compiles it with '/' as the
 * separator: `*`, `**` (crosses '/'), `?`, `[abc]`, `[!abc]`, `[a-z]`,
 * `[!a-z]` (a class is a list or one range, never both), `{a,b}`
 * alternatives (nested), `\` escapes.  The pattern is parsed into a small
 * tree and matched by backtracking with a step budget; patterns come from
 * chart templates and are short.
 */
#include <string.h>

#include "base/alloc.h"
#include "base/str.h"
#include "base/utf8.h"
#include "helm/internal.h"
#include "base/banned.h"

/* One code point at *p (advancing), as utf8.DecodeRuneInString: U+FFFD, one byte, if invalid. */
static unsigned rune_at(const char **p)
{
	uint32_t c;

	*p += utf8_decode(*p, strnlen(*p, 4), &c);
	return c;
}

/* ---- Go's path.Match ---- */

/* One class element, possibly escaped; -1 for a bad pattern. */
static int class_esc(const char **p, unsigned *ret)
{
	if (**p == '\0' || **p == '-' || **p == ']')
		return -1;
	if (**p == '\\') {
		(*p)++;
		if (**p == '\0')
			return -1;
	}
	/* getEsc: a class bound must be valid UTF-8. */
	if (utf8_valid_at(*p, strnlen(*p, 4)) == 0)
		return -1;
	*ret = rune_at(p);
	return 0;
}

/*
 * Match the class at *p (just after '[') against rune c; *p ends after
 * the ']'.  1 match, 0 no match, -1 bad pattern.
 */
static int match_class(const char **p, unsigned c)
{
	bool neg = false, match = false;
	int n = 0;

	if (**p == '^') {
		neg = true;
		(*p)++;
	}
	for (;;) {
		unsigned lo, hi;

		if (**p == ']' && n > 0) {
			(*p)++;
			break;
		}
		if (class_esc(p, &lo) < 0)
			return -1;
		hi = lo;
		if (**p == '-') {
			(*p)++;
			if (class_esc(p, &hi) < 0)
				return -1;
		}
		if (lo <= c && c <= hi)
			match = true;
		n++;
	}
	return match != neg;
}

/* Check the syntax of the whole pattern, as Go does even after a mismatch. */
static bool pattern_ok(const char *p)
{
	while (*p) {
		if (*p == '\\') {
			if (!p[1])
				return false;
			p += 2;
		} else if (*p == '[') {
			p++;
			if (match_class(&p, 0) < 0)
				return false;
		} else {
			p++;
		}
	}
	return true;
}

int helm__path_match(const char *pattern, const char *name)
{
	const char *p = pattern, *n = name, *star_p = NULL, *star_n = NULL;

	if (!pattern_ok(pattern))
		return -EINVAL;
	while (*n || *p) {
		if (*p == '*') {
			while (*p == '*')
				p++;
			star_p = p;
			star_n = n;
			continue;
		}
		if (*n) {
			/* '?' and a class take one rune of the name; other pattern bytes match themselves. */
			const char *pp = p, *nn = n;
			unsigned c = rune_at(&nn);
			int ok = 0;

			if (*pp == '?') {
				ok = c != '/';
				pp++;
			} else if (*pp == '[') {
				pp++;
				ok = match_class(&pp, c) == 1;
			} else if (*pp) {
				if (*pp == '\\')
					pp++;
				ok = *pp == *n;
				pp++;
				nn = n + 1;
			}
			if (ok) {
				p = pp;
				n = nn;
				continue;
			}
		}
		/* Mismatch: let the last star eat one more byte (as Go's Match does), unless a '/'. */
		if (star_p && *star_n && *star_n != '/') {
			star_n++;
			p = star_p;
			n = star_n;
			continue;
		}
		return 0;
	}
	return 1;
}

/* ---- gobwas/glob ---- */

enum gnode_kind {
	G_TEXT,  /* literal text */
	G_ANY,   /* '*' */
	G_SUPER, /* '**' */
	G_SINGLE, /* '?' */
	G_LIST,  /* [abc] or [!abc] */
	G_RANGE, /* [a-z] or [!a-z] */
	G_ALT,   /* {a,b}: alternatives, each a sequence */
};

struct gseq;

struct gnode {
	enum gnode_kind kind;
	char *text;     /* G_TEXT, G_LIST */
	unsigned lo, hi; /* G_RANGE */
	bool neg;       /* G_LIST, G_RANGE */
	struct gseq *alts; /* G_ALT */
	size_t nalts;
};

struct gseq {
	struct gnode *v;
	size_t n, alloc;
};

struct helm__glob {
	struct gseq seq;
};

struct gparser {
	const char *p;
	int depth;
};

static void gseq_release(struct gseq *s)
{
	size_t i, j;

	for (i = 0; i < s->n; i++) {
		free(s->v[i].text);
		for (j = 0; j < s->v[i].nalts; j++)
			gseq_release(&s->v[i].alts[j]);
		free(s->v[i].alts);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static struct gnode *gseq_push(struct gseq *s, enum gnode_kind k)
{
	XGROW(s->v, s->n + 1, s->alloc);
	memset(&s->v[s->n], 0, sizeof(s->v[0]));
	s->v[s->n].kind = k;
	return &s->v[s->n++];
}

/* Literal text up to a breaker, with '\' escapes.  -1 on a trailing '\'. */
static int gtext(struct gparser *g, const char *breakers, char **ret)
{
	struct buf b = BUF_INIT(1 << 16);

	while (*g->p && !strchr(breakers, *g->p)) {
		if (*g->p == '\\') {
			const char *s;

			g->p++;
			if (!*g->p) {
				buf_release(&b);
				return -1;
			}
			s = g->p;
			rune_at(&g->p);
			if (buf_add(&b, s, (size_t)(g->p - s)) < 0) {
				buf_release(&b);
				return -1;
			}
			continue;
		}
		if (buf_addch(&b, *g->p++) < 0) {
			buf_release(&b);
			return -1;
		}
	}
	*ret = buf_detach(&b, NULL);
	return 0;
}

static int gclass(struct gparser *g, struct gseq *s)
{
	bool neg = false;
	const char *p;

	if (*g->p == '!') {
		neg = true;
		g->p++;
	}
	if (!*g->p)
		return -1;
	p = g->p;
	rune_at(&p);
	if (*p == '-') {
		struct gnode *n = gseq_push(s, G_RANGE);

		n->neg = neg;
		n->lo = rune_at(&g->p);
		g->p++; /* the '-' */
		if (!*g->p)
			return -1;
		n->hi = rune_at(&g->p);
	} else {
		struct gnode *n = gseq_push(s, G_LIST);

		n->neg = neg;
		if (gtext(g, "]", &n->text) < 0)
			return -1;
	}
	if (*g->p != ']')
		return -1;
	g->p++;
	return 0;
}

static int gparse_seq(struct gparser *g, struct gseq *s, bool in_terms);

static int galt(struct gparser *g, struct gseq *s)
{
	struct gnode *n = gseq_push(s, G_ALT);
	size_t alloc = 0;

	if (++g->depth > 32)
		return -1;
	for (;;) {
		struct gseq alt = { 0 };
		int r;

		/* n may move when gseq_push grows s: re-fetch after parsing. */
		r = gparse_seq(g, &alt, true);
		n = &s->v[s->n - 1];
		XGROW(n->alts, n->nalts + 1, alloc);
		n->alts[n->nalts++] = alt;
		if (r < 0)
			return -1;
		if (*g->p == ',') {
			g->p++;
			continue;
		}
		if (*g->p == '}') {
			g->p++;
			break;
		}
		return -1; /* end of input inside {...} */
	}
	g->depth--;
	return 0;
}

static int gparse_seq(struct gparser *g, struct gseq *s, bool in_terms)
{
	while (*g->p) {
		char c = *g->p;

		if (in_terms && (c == ',' || c == '}'))
			return 0;
		if (c == '{') {
			g->p++;
			if (galt(g, s) < 0)
				return -1;
		} else if (c == '[') {
			g->p++;
			if (gclass(g, s) < 0)
				return -1;
		} else if (c == '?') {
			g->p++;
			gseq_push(s, G_SINGLE);
		} else if (c == '*') {
			g->p++;
			if (*g->p == '*') {
				g->p++;
				gseq_push(s, G_SUPER);
			} else {
				gseq_push(s, G_ANY);
			}
		} else {
			struct gnode *n = gseq_push(s, G_TEXT);

			if (gtext(g, in_terms ? "*?[{,}" : "*?[{", &n->text) < 0)
				return -1;
		}
	}
	return 0;
}

int helm__glob_compile(const char *pattern, struct helm__glob **ret)
{
	struct helm__glob *gl = xnew0(struct helm__glob, 1);
	struct gparser g = { .p = pattern };

	if (gparse_seq(&g, &gl->seq, false) < 0 || *g.p) {
		helm__glob_free(gl);
		return -EINVAL;
	}
	*ret = gl;
	return 0;
}

void helm__glob_free(struct helm__glob *g)
{
	if (!g)
		return;
	gseq_release(&g->seq);
	free(g);
}

/*
 * Match the rest of `seq` from node i against `name`, followed by the
 * continuation `k` (the sequences after an alternative).  `budget` bounds
 * backtracking.
 */
struct gcont {
	const struct gseq *seq;
	size_t i;
	const struct gcont *next;
};

static bool gmatch(const struct gcont *k, const char *name, long *budget);

static bool gmatch_seq(const struct gseq *s, size_t i, const struct gcont *next, const char *name,
		       long *budget)
{
	struct gcont k = { s, i, next };

	return gmatch(&k, name, budget);
}

static bool gmatch(const struct gcont *k, const char *name, long *budget)
{
	const struct gnode *n;

	if (--*budget < 0)
		return false;
	if (!k)
		return *name == '\0';
	if (k->i >= k->seq->n)
		return gmatch(k->next, name, budget);
	n = &k->seq->v[k->i];
	switch (n->kind) {
	case G_TEXT: {
		size_t l = strlen(n->text);

		return strncmp(name, n->text, l) == 0 &&
		       gmatch_seq(k->seq, k->i + 1, k->next, name + l, budget);
	}
	case G_SINGLE:
	case G_LIST:
	case G_RANGE: {
		const char *p = name;
		unsigned c;
		bool ok;

		if (!*p)
			return false;
		c = rune_at(&p);
		if (n->kind == G_SINGLE) {
			ok = c != '/';
		} else if (n->kind == G_RANGE) {
			ok = (c >= n->lo && c <= n->hi) != n->neg;
		} else {
			const char *t = n->text;
			bool in = false;

			while (*t)
				if (rune_at(&t) == c)
					in = true;
			ok = in != n->neg;
		}
		return ok && gmatch_seq(k->seq, k->i + 1, k->next, p, budget);
	}
	case G_ANY:
	case G_SUPER: {
		const char *p = name;

		for (;;) {
			if (gmatch_seq(k->seq, k->i + 1, k->next, p, budget))
				return true;
			if (!*p || (n->kind == G_ANY && *p == '/') || *budget < 0)
				return false;
			rune_at(&p);
		}
	}
	case G_ALT: {
		size_t j;
		struct gcont after = { k->seq, k->i + 1, k->next };

		for (j = 0; j < n->nalts; j++)
			if (gmatch_seq(&n->alts[j], 0, &after, name, budget))
				return true;
		return false;
	}
	}
	return false;
}

bool helm__glob_match(const struct helm__glob *g, const char *name)
{
	long budget = 1000000;

	return gmatch_seq(&g->seq, 0, NULL, name, &budget);
}
