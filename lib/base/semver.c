/*
 * semver.c: Masterminds/semver v3.5.0 versions and constraints (semver.h).
 *
 * DESIGN
 * The library defines its grammar with regular expressions (a loose
 * version regex; for constraints an operator alternation and a
 * "constraint version" regex with wildcards); here each is a small
 * scanner that accepts exactly the same strings.  Greedy scanning is
 * enough: every place the regexes could backtrack is separated by a
 * character the previous part cannot contain (spaces, commas, '-' after a
 * space), and an operator is the longest that leaves a version behind it.
 *
 * A constraint is an OR of AND groups of terms (operator, version, and
 * the "dirty" flags that record wildcards), checked by ports of the
 * library's per-operator functions, so wildcard and prerelease corner
 * cases come out as in Helm and Flux.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/semver.h"
#include "base/str.h"
#include "base/banned.h"

#define MAX_CONSTRAINT_LEN 512
#define MAX_GROUPS 32

/* ---------------------------------------------------------------- versions */

static bool is_ident(char c)
{
	return isalnum((unsigned char)c) || c == '-';
}

/* Scan `[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*` at s; returns its length (0: none). */
static size_t scan_idents(const char *s)
{
	size_t n = 0;

	for (;;) {
		size_t k = 0;

		while (is_ident(s[n + k]))
			k++;
		if (k == 0)
			return n > 0 ? n - 1 : 0; /* drop a trailing '.' */
		n += k;
		if (s[n] != '.')
			return n;
		n++;
	}
}

static bool all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return n > 0;
}

/* strconv.ParseUint(s[:n], 10, 64); false on overflow. */
static bool parse_u64(const char *s, size_t n, uint64_t *ret)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*ret = v;
	return true;
}

/*
 * Scan a version at s: v?P(\.P)?(\.P)?(-pre)?(\+meta)? where P is a run of
 * characters `part` accepts (digits for a version, also x X * | in a
 * constraint: Masterminds' looseSemVerRegex and cvRegex).  Returns its
 * length (0: no first part) and the pieces.
 */
struct cv {
	const char *part[3];
	size_t plen[3];
	const char *pre; /* the "-pre" with its dash, or NULL */
	size_t prelen;
	const char *meta; /* the metadata without its '+', or NULL */
	size_t metalen;
};

static size_t scan_version(const char *s, bool (*part)(char), struct cv *cv)
{
	const char *p = s;
	size_t i, n;

	memset(cv, 0, sizeof(*cv));
	if (*p == 'v')
		p++;
	for (i = 0; i < 3; i++) {
		const char *q = p + (i > 0);

		if (i > 0 && *p != '.')
			break;
		n = 0;
		while (part(q[n]))
			n++;
		if (n == 0)
			break;
		cv->part[i] = q;
		cv->plen[i] = n;
		p = q + n;
	}
	if (!cv->part[0])
		return 0;
	if (*p == '-' && (n = scan_idents(p + 1)) > 0) {
		cv->pre = p;
		cv->prelen = n + 1;
		p += 1 + n;
	}
	if (*p == '+' && (n = scan_idents(p + 1)) > 0) {
		cv->meta = p + 1;
		cv->metalen = n;
		p += 1 + n;
	}
	return (size_t)(p - s);
}

static bool is_digit_char(char c)
{
	return isdigit((unsigned char)c);
}

static bool is_cv_part(char c)
{
	return isdigit((unsigned char)c) || c == '|' || c == 'x' || c == 'X' || c == '*';
}

int semver_parse_go(const char *s, struct semver *ret, struct op_err *err)
{
	uint64_t num[3] = { 0, 0, 0 };
	struct semver v;
	struct cv cv;
	const char *p;
	size_t n, i;

	if (strlen(s) > SEMVER_MAX_LEN)
		return op_err_set(err, -EINVAL, "version string is too long (max %d bytes)", SEMVER_MAX_LEN);
	n = scan_version(s, is_digit_char, &cv);
	if (n == 0 || s[n])
		return op_err_set(err, -EINVAL, "invalid semantic version");
	memset(&v, 0, sizeof(v));
	if (cv.pre)
		memcpy(v.pre, cv.pre + 1, cv.prelen - 1);
	if (cv.meta)
		memcpy(v.meta, cv.meta, cv.metalen);
	for (i = 0; i < 3; i++)
		if (cv.part[i] && !parse_u64(cv.part[i], cv.plen[i], &num[i]))
			return op_err_set(err, -EINVAL,
					  "error parsing version segment: strconv.ParseUint: parsing \"%.*s\": value out of range",
					  (int)cv.plen[i], cv.part[i]);
	/* validatePrerelease: numeric parts without leading zeros. */
	for (p = v.pre; *p;) {
		n = strcspn(p, ".");
		if (all_digits(p, n) && n > 1 && p[0] == '0')
			return op_err_set(err, -EINVAL, "version segment starts with 0");
		p += n + (p[n] == '.');
	}
	v.major = num[0];
	v.minor = num[1];
	v.patch = num[2];
	snprintf(v.orig, sizeof(v.orig), "%s", s);
	*ret = v;
	return 0;
}

int semver_parse(const char *s, struct semver *ret)
{
	return semver_parse_go(s, ret, NULL);
}

void semver_format(const struct semver *v, char out[SEMVER_STRING_MAX])
{
	snprintf(out, SEMVER_STRING_MAX, "%llu.%llu.%llu%s%s%s%s", (unsigned long long)v->major,
		 (unsigned long long)v->minor, (unsigned long long)v->patch, v->pre[0] ? "-" : "", v->pre,
		 v->meta[0] ? "+" : "", v->meta);
}

/* comparePrePart, including its asymmetry for numerically equal parts. */
static int cmp_pre_part(const char *s, size_t sn, const char *o, size_t on)
{
	uint64_t si = 0, oi = 0;
	bool sn_ok, on_ok;

	if (sn == on && memcmp(s, o, sn) == 0)
		return 0;
	if (sn == 0)
		return -1;
	if (on == 0)
		return 1;
	sn_ok = all_digits(s, sn) && parse_u64(s, sn, &si);
	on_ok = all_digits(o, on) && parse_u64(o, on, &oi);
	if (!sn_ok && !on_ok) {
		int c = memcmp(s, o, MIN(sn, on));

		return c > 0 || (c == 0 && sn > on) ? 1 : -1;
	}
	if (!on_ok)
		return -1;
	if (!sn_ok)
		return 1;
	return si > oi ? 1 : -1;
}

/* comparePrerelease: part by part, a missing part as "". */
static int cmp_pre(const char *a, const char *b)
{
	while (*a || *b) {
		size_t na = strcspn(a, "."), nb = strcspn(b, ".");
		int c = cmp_pre_part(a, na, b, nb);

		if (c)
			return c;
		a += na + (a[na] == '.');
		b += nb + (b[nb] == '.');
	}
	return 0;
}

int semver_cmp(const struct semver *a, const struct semver *b)
{
	if (a->major != b->major)
		return a->major < b->major ? -1 : 1;
	if (a->minor != b->minor)
		return a->minor < b->minor ? -1 : 1;
	if (a->patch != b->patch)
		return a->patch < b->patch ? -1 : 1;
	if (!a->pre[0] && !b->pre[0])
		return 0;
	if (!a->pre[0])
		return 1;
	if (!b->pre[0])
		return -1;
	return cmp_pre(a->pre, b->pre);
}

/* ---------------------------------------------------------------- constraints */

enum op { OP_TILDE_EQ, OP_NE, OP_GT, OP_LT, OP_GE, OP_LE, OP_TILDE, OP_CARET };

struct term {
	enum op op;
	struct semver con;
	bool dirty, minor_dirty, patch_dirty;
};

struct group {
	struct term *t;
	size_t n;
	bool has_pre;
};

struct semver_constraint {
	struct group g[MAX_GROUPS];
	size_t n;
};

/* The operators, longest first, and what each means. */
static const struct {
	const char *text;
	enum op op;
} ops[] = {
	{ "!=", OP_NE }, { ">=", OP_GE },   { "=>", OP_GE },    { "<=", OP_LE },    { "=<", OP_LE },
	{ "~>", OP_TILDE }, { "=", OP_TILDE_EQ }, { ">", OP_GT }, { "<", OP_LT }, { "~", OP_TILDE },
	{ "^", OP_CARET },
};

static size_t scan_op(const char *s, enum op *op)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ops); i++)
		if (str_startswith(s, ops[i].text)) {
			*op = ops[i].op;
			return strlen(ops[i].text);
		}
	*op = OP_TILDE_EQ;
	return 0;
}

static size_t scan_version_cv(const char *s, struct cv *cv)
{
	return scan_version(s, is_cv_part, cv);
}

static size_t skip_space(const char *s)
{
	size_t n = 0;

	while (isspace((unsigned char)s[n]) && s[n] != '\v') /* Go's \s: [\t\n\f\r ] */
		n++;
	return n;
}

static bool is_x(const char *s, size_t n)
{
	return n == 1 && (s[0] == 'x' || s[0] == 'X' || s[0] == '*');
}

/* Go's %q of a string, into `out` (for "improper constraint: %q"). */
static void go_quote(struct buf *out, const char *s, size_t n)
{
	size_t i;

	(void)buf_addch(out, '"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			(void)buf_addf(out, "\\%c", c);
		else if (c == '\n')
			(void)buf_adds(out, "\\n");
		else if (c == '\t')
			(void)buf_adds(out, "\\t");
		else if (c == '\r')
			(void)buf_adds(out, "\\r");
		else if (c < 0x20 || c == 0x7f)
			(void)buf_addf(out, "\\x%02x", c);
		else
			(void)buf_addch(out, (char)c);
	}
	(void)buf_addch(out, '"');
}

static int improper(struct op_err *err, const char *s, size_t n)
{
	struct buf b = BUF_INIT(4096);
	int r;

	go_quote(&b, s, n);
	r = op_err_set(err, -EINVAL, "improper constraint: %s", b.buf);
	buf_release(&b);
	return r;
}

/* parseConstraint of one "op version" term (leading spaces allowed). */
static int parse_term(const char *s, size_t n, struct term *t, struct op_err *err)
{
	char tmp[MAX_CONSTRAINT_LEN + 1], ver[3 * MAX_CONSTRAINT_LEN];
	struct cv cv;
	size_t k, cl;

	memcpy(tmp, s, n);
	tmp[n] = '\0';
	k = skip_space(tmp);
	k += scan_op(tmp + k, &t->op);
	k += skip_space(tmp + k);
	cl = scan_version_cv(tmp + k, &cv);
	if (cl == 0 || tmp[k + skip_space(tmp + k + cl) + cl] != '\0')
		return improper(err, s, n);
	t->dirty = t->minor_dirty = t->patch_dirty = false;
	if (is_x(cv.part[0], cv.plen[0])) {
		snprintf(ver, sizeof(ver), "0.0.0%.*s", (int)cv.prelen, cv.pre ? cv.pre : "");
		t->dirty = true;
	} else if (!cv.part[1] || is_x(cv.part[1], cv.plen[1])) {
		snprintf(ver, sizeof(ver), "%.*s.0.0%.*s", (int)cv.plen[0], cv.part[0], (int)cv.prelen,
			 cv.pre ? cv.pre : "");
		t->dirty = t->minor_dirty = true;
	} else if (!cv.part[2] || is_x(cv.part[2], cv.plen[2])) {
		snprintf(ver, sizeof(ver), "%.*s.%.*s.0%.*s", (int)cv.plen[0], cv.part[0], (int)cv.plen[1],
			 cv.part[1], (int)cv.prelen, cv.pre ? cv.pre : "");
		t->dirty = t->patch_dirty = true;
	} else {
		snprintf(ver, sizeof(ver), "%.*s", (int)cl, tmp + k);
	}
	if (semver_parse_go(ver, &t->con, NULL) < 0)
		return op_err_set(err, -EINVAL, "constraint parser error");
	return 0;
}

/*
 * validConstraintRegex for one OR group: ^\s*OP\s*CV\s*((\s+|,\s*)OP\s*CV\s*)*$.
 * On success stores the terms' (start, length) in spans.
 */
static bool valid_group(const char *s, size_t n, size_t spans[][2], size_t *nspans, size_t max)
{
	char tmp[MAX_CONSTRAINT_LEN + 1];
	size_t i = 0, cl;
	enum op op;
	struct cv cv;

	memcpy(tmp, s, n);
	tmp[n] = '\0';
	*nspans = 0;
	i = skip_space(tmp);
	for (;;) {
		size_t start = i;

		i += scan_op(tmp + i, &op);
		i += skip_space(tmp + i);
		cl = scan_version_cv(tmp + i, &cv);
		if (cl == 0 || *nspans >= max)
			return false;
		i += cl;
		spans[*nspans][0] = start;
		spans[*nspans][1] = i - start;
		(*nspans)++;
		{
			size_t sp = skip_space(tmp + i);

			if (tmp[i + sp] == '\0')
				return true;
			if (tmp[i + sp] == ',') {
				i += sp + 1;
				i += skip_space(tmp + i);
			} else if (sp > 0) {
				i += sp;
			} else {
				return false;
			}
		}
	}
}

/* rewriteRange: "A - B" becomes ">= A, <= B " (the first occurrence, as Go replaces). */
static char *rewrite_range(const char *in)
{
	struct buf o = BUF_INIT(16 * MAX_CONSTRAINT_LEN);
	size_t i = 0, len = strlen(in);
	char *cur = xstrdup(in);

	while (i < len) {
		size_t k = i + skip_space(in + i), a0, al, b0, bl, sp;
		struct cv cv;

		a0 = k;
		al = scan_version_cv(in + k, &cv);
		if (al == 0) {
			i++;
			continue;
		}
		k += al;
		sp = skip_space(in + k);
		if (sp == 0 || in[k + sp] != '-' || skip_space(in + k + sp + 1) == 0) {
			i++;
			continue;
		}
		k += sp + 1;
		k += skip_space(in + k);
		b0 = k;
		bl = scan_version_cv(in + k, &cv);
		if (bl == 0) {
			i++;
			continue;
		}
		k += bl;
		k += skip_space(in + k);
		buf_reset(&o);
		{
			char *needle = xstrndup(in + i, k - i), *hit = strstr(cur, needle);

			if (hit) {
				(void)buf_add(&o, cur, (size_t)(hit - cur));
				(void)buf_addf(&o, ">= %.*s, <= %.*s ", (int)al, in + a0, (int)bl, in + b0);
				(void)buf_adds(&o, hit + strlen(needle));
				free(cur);
				cur = buf_detach(&o, NULL);
			}
			free(needle);
		}
		i = k;
	}
	buf_release(&o);
	return cur;
}

int semver_constraint_parse(const char *s, struct semver_constraint **ret, struct op_err *err)
{
	struct semver_constraint *sc;
	char *c, *alt;
	size_t k;
	int r = 0;

	if (strlen(s) > MAX_CONSTRAINT_LEN)
		return op_err_set(err, -EINVAL, "constraint string is too long (max %d bytes)", MAX_CONSTRAINT_LEN);
	c = rewrite_range(s);
	/* strings.Split(c, "||") */
	for (k = 1, alt = c; (alt = strstr(alt, "||")) != NULL; alt += 2)
		k++;
	if (k > MAX_GROUPS) {
		free(c);
		return op_err_set(err, -EINVAL, "too many constraint groups (max %d)", MAX_GROUPS);
	}
	sc = xcalloc(1, sizeof(*sc));
	alt = c;
	for (;;) {
		char *next = strstr(alt, "||");
		size_t glen = next ? (size_t)(next - alt) : strlen(alt), spans[MAX_CONSTRAINT_LEN][2], ns, i;
		struct group *g = &sc->g[sc->n++];

		if (glen > MAX_CONSTRAINT_LEN * 16 || !valid_group(alt, glen, spans, &ns, ARRAY_SIZE(spans))) {
			r = improper(err, alt, glen);
			break;
		}
		g->t = xnew0(struct term, ns);
		for (i = 0; i < ns && r == 0; i++) {
			r = parse_term(alt + spans[i][0], spans[i][1], &g->t[i], err);
			if (r == 0) {
				g->n++;
				if (g->t[i].con.pre[0])
					g->has_pre = true;
			}
		}
		if (r < 0 || !next)
			break;
		alt = next + 2;
	}
	free(c);
	if (r < 0) {
		semver_constraint_free(sc);
		return r;
	}
	*ret = sc;
	return 0;
}

/* The per-operator checks of the library (their error texts dropped). */
static bool check(const struct term *c, const struct semver *v, bool include_pre)
{
	const struct semver *k = &c->con;

	if (v->pre[0] && !include_pre)
		return false;
	switch (c->op) {
	case OP_NE:
		if (c->dirty) {
			if (k->major != v->major)
				return true;
			if (k->minor != v->minor && !c->minor_dirty)
				return true;
			if (c->minor_dirty)
				return false;
			if (k->patch != v->patch && !c->patch_dirty)
				return true;
			if (c->patch_dirty) {
				if (v->pre[0] || k->pre[0])
					return cmp_pre(v->pre, k->pre) != 0;
				return false;
			}
		}
		return semver_cmp(v, k) != 0;
	case OP_GT:
		if (!c->dirty)
			return semver_cmp(v, k) == 1;
		if (v->major > k->major)
			return true;
		if (v->major < k->major || c->minor_dirty)
			return false;
		if (c->patch_dirty)
			return v->minor > k->minor;
		return semver_cmp(v, k) == 1;
	case OP_LT:
		return semver_cmp(v, k) < 0;
	case OP_GE:
		return semver_cmp(v, k) >= 0;
	case OP_LE:
		if (!c->dirty)
			return semver_cmp(v, k) <= 0;
		if (v->major > k->major)
			return false;
		if (v->major == k->major && v->minor > k->minor && !c->minor_dirty)
			return false;
		return true;
	case OP_TILDE_EQ:
		if (!c->dirty)
			return semver_cmp(v, k) == 0;
		/* A wildcard "=" is a tilde. */
		/* fall through */
	case OP_TILDE:
		if (semver_cmp(v, k) < 0)
			return false;
		if (k->major == 0 && k->minor == 0 && k->patch == 0 && !c->minor_dirty && !c->patch_dirty)
			return true;
		if (v->major != k->major)
			return false;
		if (v->minor != k->minor && !c->minor_dirty)
			return false;
		return true;
	case OP_CARET:
		if (semver_cmp(v, k) < 0)
			return false;
		if (k->major > 0 || c->minor_dirty)
			return v->major == k->major;
		if (k->major == 0 && v->major > 0)
			return false;
		if (k->minor > 0 || c->patch_dirty)
			return v->minor == k->minor;
		if (k->minor == 0 && v->minor > 0)
			return false;
		return k->patch == v->patch;
	}
	return false;
}

bool semver_satisfies(const struct semver_constraint *sc, const struct semver *v)
{
	size_t i, j;

	for (i = 0; i < sc->n; i++) {
		const struct group *g = &sc->g[i];
		bool ok = true;

		for (j = 0; j < g->n && ok; j++)
			ok = check(&g->t[j], v, g->has_pre);
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
		free(sc->g[i].t);
	free(sc);
}
