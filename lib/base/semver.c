/*
 * semver.c: versions and constraints (see semver.h).
 *
 * DESIGN
 * A constraint compiles to an OR of ANDs of primitive comparisons
 * (op, version, and whether the original named a prerelease).  Tilde,
 * caret, wildcards and hyphen ranges are rewritten into pairs of >= and <
 * at parse time, so matching is a flat loop.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/semver.h"
#include "base/str.h"
#include "base/banned.h"

enum op { OP_EQ, OP_NE, OP_GT, OP_LT, OP_GE, OP_LE, OP_ANY };

struct prim {
	enum op op;
	struct semver v;
	bool has_pre; /* the constraint text named a prerelease */
};

struct conj {
	struct prim *p;
	size_t n;
};

struct semver_constraint {
	struct conj *c;
	size_t n;
};

/* Parse "N" of a version part; -1 for a wildcard, -2 for garbage. */
static int64_t part(const char **s)
{
	uint64_t v = 0;
	const char *p = *s;

	if (*p == 'x' || *p == 'X' || *p == '*') {
		*s = p + 1;
		return -1;
	}
	if (!isdigit((unsigned char)*p))
		return -2;
	while (isdigit((unsigned char)*p)) {
		if (v > 1000000000000ull)
			return -2;
		v = v * 10 + (uint64_t)(*p++ - '0');
	}
	*s = p;
	return (int64_t)v;
}

/*
 * Parse a (possibly partial, possibly wildcard) version.  `nparts` gets
 * how many of major/minor/patch were given as numbers (wildcards stop the
 * count).  Returns 0 or -EINVAL.
 */
static int parse_partial(const char *s, struct semver *v, int *nparts, bool allow_wild)
{
	int64_t x[3] = { 0, 0, 0 };
	int i, given = 0;
	bool wild = false;

	memset(v, 0, sizeof(*v));
	if (*s == 'v' || *s == 'V')
		s++;
	for (i = 0; i < 3; i++) {
		int64_t n = part(&s);

		if (n == -2)
			return -EINVAL;
		if (n == -1) {
			if (!allow_wild)
				return -EINVAL;
			wild = true;
		} else if (!wild) {
			x[i] = n;
			given++;
		}
		if (*s != '.')
			break;
		s++;
	}
	if (*s == '-') {
		size_t n = strcspn(s + 1, "+");

		if (n == 0 || n >= sizeof(v->pre))
			return -EINVAL;
		memcpy(v->pre, s + 1, n);
		v->pre[n] = '\0';
		s += 1 + n;
	}
	if (*s == '+')
		s += strlen(s); /* build metadata: ignored */
	if (*s)
		return -EINVAL;
	v->major = (uint64_t)x[0];
	v->minor = (uint64_t)x[1];
	v->patch = (uint64_t)x[2];
	if (nparts)
		*nparts = given;
	return 0;
}

int semver_parse(const char *s, struct semver *ret)
{
	struct semver v;

	if (!*s || parse_partial(s, &v, NULL, false) < 0)
		return -EINVAL;
	*ret = v;
	return 0;
}

static bool all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return n > 0;
}

static int cmp_pre(const char *a, const char *b)
{
	if (!*a || !*b)
		return !*a && !*b ? 0 : !*a ? 1 : -1; /* a release follows its prereleases */
	while (*a && *b) {
		size_t na = strcspn(a, "."), nb = strcspn(b, ".");
		bool da = all_digits(a, na), db = all_digits(b, nb);
		int c;

		if (da && db) {
			c = na != nb ? (na < nb ? -1 : 1) : memcmp(a, b, na);
		} else if (da || db) {
			c = da ? -1 : 1; /* numeric identifiers sort first */
		} else {
			c = memcmp(a, b, MIN(na, nb));
			if (c == 0 && na != nb)
				c = na < nb ? -1 : 1;
		}
		if (c)
			return c < 0 ? -1 : 1;
		a += na + (a[na] == '.');
		b += nb + (b[nb] == '.');
	}
	return *a ? 1 : *b ? -1 : 0;
}

int semver_cmp(const struct semver *a, const struct semver *b)
{
	if (a->major != b->major)
		return a->major < b->major ? -1 : 1;
	if (a->minor != b->minor)
		return a->minor < b->minor ? -1 : 1;
	if (a->patch != b->patch)
		return a->patch < b->patch ? -1 : 1;
	return cmp_pre(a->pre, b->pre);
}

static void add(struct conj *c, enum op op, const struct semver *v, bool has_pre)
{
	c->p = xrealloc(c->p, (c->n + 1) * sizeof(*c->p));
	c->p[c->n].op = op;
	c->p[c->n].v = *v;
	c->p[c->n].has_pre = has_pre;
	c->n++;
}

/* The version just after the given parts: 1.2 -> 1.3.0, 1 -> 2.0.0. */
static struct semver bump(const struct semver *v, int level)
{
	struct semver n = { 0 };

	n.major = v->major;
	if (level == 0) {
		n.major++;
	} else if (level == 1) {
		n.minor = v->minor + 1;
	} else {
		n.minor = v->minor;
		n.patch = v->patch + 1;
	}
	return n;
}

static int term(struct conj *c, const char *t, struct op_err *err)
{
	struct semver v, lo;
	enum op op = OP_EQ;
	int nparts = 0;
	const char *s = t;
	bool pre;

	if (streq(t, "*") || streq(t, "x") || streq(t, "X")) {
		memset(&v, 0, sizeof(v));
		add(c, OP_ANY, &v, false);
		return 0;
	}
	if (str_startswith(s, ">=") || str_startswith(s, "=>")) {
		op = OP_GE;
		s += 2;
	} else if (str_startswith(s, "<=") || str_startswith(s, "=<")) {
		op = OP_LE;
		s += 2;
	} else if (str_startswith(s, "!=")) {
		op = OP_NE;
		s += 2;
	} else if (str_startswith(s, "~>")) {
		s += 2;
	} else if (*s == '>' || *s == '<' || *s == '=' || *s == '~' || *s == '^') {
		op = *s == '>' ? OP_GT : *s == '<' ? OP_LT : OP_EQ;
		s++;
	}
	while (*s == ' ')
		s++;
	if (parse_partial(s, &v, &nparts, true) < 0)
		return op_err_set(err, -EINVAL, "invalid version '%s' in constraint", s);
	pre = v.pre[0] != '\0';
	if (t[0] == '~') {
		/* ~1.2.3 -> >=1.2.3 <1.3.0; ~1 -> >=1.0.0 <2.0.0 */
		add(c, OP_GE, &v, pre);
		lo = bump(&v, nparts <= 1 ? 0 : 1);
		add(c, OP_LT, &lo, pre);
		return 0;
	}
	if (t[0] == '^') {
		int level = v.major > 0 || nparts <= 1 ? 0 : (v.minor > 0 || nparts <= 2 ? 1 : 2);

		add(c, OP_GE, &v, pre);
		lo = bump(&v, level);
		add(c, OP_LT, &lo, pre);
		return 0;
	}
	if (nparts < 3) {
		/* A partial version is a range: 1.2 / 1.2.x -> >=1.2.0 <1.3.0. */
		struct semver hi = bump(&v, nparts == 0 ? 0 : nparts - 1);

		switch (op) {
		case OP_EQ:
			if (nparts == 0) {
				add(c, OP_ANY, &v, false);
				return 0;
			}
			add(c, OP_GE, &v, pre);
			add(c, OP_LT, &hi, pre);
			return 0;
		case OP_GT:
			add(c, OP_GE, &hi, pre);
			return 0;
		case OP_LE:
			add(c, OP_LT, &hi, pre);
			return 0;
		case OP_NE:
			/* Outside [v, hi): an AND cannot say OR; keep the common case exact. */
			add(c, OP_NE, &v, pre);
			return 0;
		default:
			break;
		}
	}
	add(c, op, &v, pre);
	return 0;
}

int semver_constraint_parse(const char *s, struct semver_constraint **ret, struct op_err *err)
{
	struct semver_constraint *sc = xcalloc(1, sizeof(*sc));
	_cleanup_free_ char *copy = xstrdup(s);
	char *alt = copy, *next;
	int r = 0;

	do {
		char *tok, *p;
		struct conj *c;

		next = strstr(alt, "||");
		if (next) {
			*next = '\0';
			next += 2;
		}
		sc->c = xrealloc(sc->c, (sc->n + 1) * sizeof(*sc->c));
		c = &sc->c[sc->n++];
		memset(c, 0, sizeof(*c));
		/* Hyphen range "a - b". */
		if ((p = strstr(alt, " - ")) != NULL) {
			char lo[160], hi[160];
			struct semver a, b;
			int na, nb;

			*p = '\0';
			snprintf(lo, sizeof(lo), "%s", alt);
			snprintf(hi, sizeof(hi), "%s", p + 3);
			for (tok = lo; *tok == ' '; tok++)
				;
			memmove(lo, tok, strlen(tok) + 1);
			lo[strcspn(lo, " ")] = '\0';
			for (tok = hi; *tok == ' '; tok++)
				;
			memmove(hi, tok, strlen(tok) + 1);
			hi[strcspn(hi, " ")] = '\0';
			if (parse_partial(lo, &a, &na, true) < 0 || parse_partial(hi, &b, &nb, true) < 0) {
				r = op_err_set(err, -EINVAL, "invalid range '%s - %s'", lo, hi);
				break;
			}
			add(c, OP_GE, &a, a.pre[0]);
			if (nb < 3) {
				struct semver h = bump(&b, nb == 0 ? 0 : nb - 1);

				add(c, OP_LT, &h, b.pre[0]);
			} else {
				add(c, OP_LE, &b, b.pre[0]);
			}
			continue;
		}
		/* Terms separated by commas or spaces; an operator may be followed by a space. */
		for (p = alt; *p; p++)
			if (*p == ',')
				*p = ' ';
		p = alt;
		while (*p && r == 0) {
			char buf[160];
			size_t n = 0;

			while (*p == ' ')
				p++;
			if (!*p)
				break;
			while (*p && strchr("<>=!~^", *p) && n < sizeof(buf) - 1)
				buf[n++] = *p++;
			while (*p == ' ')
				p++;
			while (*p && *p != ' ' && n < sizeof(buf) - 1)
				buf[n++] = *p++;
			buf[n] = '\0';
			r = term(c, buf, err);
		}
		if (c->n == 0 && r == 0)
			r = op_err_set(err, -EINVAL, "empty constraint in '%s'", s);
	} while (r == 0 && (alt = next) != NULL);
	if (r < 0) {
		semver_constraint_free(sc);
		return r;
	}
	*ret = sc;
	return 0;
}

static bool prim_ok(const struct prim *p, const struct semver *v)
{
	int c = semver_cmp(v, &p->v);

	switch (p->op) {
	case OP_ANY:
		return true;
	case OP_EQ:
		return c == 0;
	case OP_NE:
		return c != 0;
	case OP_GT:
		return c > 0;
	case OP_LT:
		return c < 0;
	case OP_GE:
		return c >= 0;
	case OP_LE:
		return c <= 0;
	}
	return false;
}

bool semver_satisfies(const struct semver_constraint *sc, const struct semver *v)
{
	size_t i, j;

	for (i = 0; i < sc->n; i++) {
		const struct conj *c = &sc->c[i];
		bool ok = true, pre_named = false;

		for (j = 0; j < c->n && ok; j++) {
			ok = prim_ok(&c->p[j], v);
			if (c->p[j].has_pre)
				pre_named = true;
		}
		if (ok && v->pre[0] && !pre_named)
			ok = false;
		if (ok)
			return true;
	}
	return false;
}

void semver_constraint_free(struct semver_constraint *sc)
{
	size_t i;

	if (!sc)
		return;
	for (i = 0; i < sc->n; i++)
		free(sc->c[i].p);
	free(sc->c);
	free(sc);
}
