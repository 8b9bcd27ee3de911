/*
 * envsubst.c: `${...}` expansion (see envsubst.h).
 *
 * DESIGN
 * A single pass over the text.  At "${" the matching "}" is found by
 * counting nested "${", the expression is split into name, operator and
 * arguments, arguments are expanded recursively (so defaults can contain
 * variables), and the operator is applied.  Patterns of #, ##, %, %% are
 * shell globs (*, ?, [...]) matched with fnmatch(); the replacement forms
 * match literally, with "\/" standing for a '/' inside the pattern.
 * Recursion is bounded by the nesting of the input, which the caller's
 * YAML limits bound.
 */
#include <ctype.h>
#include <fnmatch.h>
#include <string.h>

#include "kustomize/envsubst.h"
#include "base/alloc.h"
#include "base/str.h"
#include "base/banned.h"

#define MAX_NESTING 64

bool envsubst_valid_name(const char *name)
{
	const char *p = name;

	if (!(*p == '_' || isalpha((unsigned char)*p)))
		return false;
	for (p++; *p; p++)
		if (!(*p == '_' || isalnum((unsigned char)*p)))
			return false;
	return true;
}

static int expand(const char *in, size_t len, envsubst_lookup lookup, void *payload, bool strict,
		  int depth, struct buf *out, struct op_err *err);

/* Index of the '}' closing the "${" whose body starts at s[0], or -1. */
static long closing(const char *s, size_t len)
{
	size_t i;
	int depth = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '$' && i + 1 < len && s[i + 1] == '{') {
			depth++;
			i++;
		} else if (s[i] == '}') {
			if (depth == 0)
				return (long)i;
			depth--;
		}
	}
	return -1;
}

/* Expand an argument into a new string. */
static int arg(const char *s, size_t n, envsubst_lookup lookup, void *payload, bool strict,
	       int depth, char **ret, struct op_err *err)
{
	struct buf b = BUF_INIT(16u << 20);
	int r = expand(s, n, lookup, payload, strict, depth + 1, &b, err);

	if (r < 0) {
		buf_release(&b);
		return r;
	}
	*ret = buf_detach(&b, NULL);
	return 0;
}

/* Unescape "\/" in a replacement pattern. */
static void unescape_slash(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] == '/')
			s++;
		*w++ = *s;
	}
	*w = '\0';
}

/* Split "pat/rep" at the first unescaped '/'. */
static char *split_slash(char *s)
{
	for (; *s; s++) {
		if (s[0] == '\\' && s[1])
			s++;
		else if (*s == '/') {
			*s = '\0';
			return s + 1;
		}
	}
	return NULL;
}

/* Remove the shortest/longest prefix/suffix of `v` matching glob `pat`. */
static void trim(const char *v, const char *pat, bool suffix, bool longest, struct buf *out)
{
	size_t n = strlen(v), i;
	_cleanup_free_ char *tmp = xstrdup(v);

	for (i = 0; i <= n; i++) {
		size_t k = longest ? n - i : i; /* length of the part tried */

		if (!suffix) {
			char save = tmp[k];

			tmp[k] = '\0';
			if (fnmatch(pat, tmp, 0) == 0) {
				tmp[k] = save;
				buf_adds(out, v + k);
				return;
			}
			tmp[k] = save;
		} else if (fnmatch(pat, v + n - k, 0) == 0) {
			buf_add(out, v, n - k);
			return;
		}
	}
	buf_adds(out, v);
}

static void replace(const char *v, const char *pat, const char *rep, char mode, struct buf *out)
{
	size_t pl = strlen(pat);
	const char *p;

	if (mode == '#') {
		if (str_startswith(v, pat)) {
			buf_adds(out, rep);
			buf_adds(out, v + pl);
		} else {
			buf_adds(out, v);
		}
		return;
	}
	if (mode == '%') {
		if (str_endswith(v, pat)) {
			buf_add(out, v, strlen(v) - pl);
			buf_adds(out, rep);
		} else {
			buf_adds(out, v);
		}
		return;
	}
	if (pl == 0) {
		buf_adds(out, v);
		return;
	}
	while ((p = strstr(v, pat)) != NULL) {
		buf_add(out, v, (size_t)(p - v));
		buf_adds(out, rep);
		v = p + pl;
		if (mode != '/')
			break; /* first only */
	}
	buf_adds(out, v);
}

static int not_set(struct op_err *err, const char *name)
{
	return op_err_set(err, -EINVAL, "variable '%s' is not set (strict mode)", name);
}

static int expression(const char *e, size_t n, envsubst_lookup lookup, void *payload,
		      bool strict, int depth, struct buf *out, struct op_err *err)
{
	char name[256];
	const char *value = NULL, *op;
	_cleanup_free_ char *a = NULL;
	bool length = false, set, longest;
	size_t i = 0, nl;
	int r;

	if (n > 0 && e[0] == '#') {
		length = true;
		i = 1;
	}
	for (nl = 0; i + nl < n && (isalnum((unsigned char)e[i + nl]) || e[i + nl] == '_'); nl++)
		;
	if (nl == 0 || nl >= sizeof(name))
		return op_err_set(err, -EINVAL, "invalid expression '${%.*s}'", (int)MIN(n, (size_t)64),
				  e);
	memcpy(name, e + i, nl);
	name[nl] = '\0';
	op = e + i + nl;
	n -= i + nl;
	set = lookup(name, &value, payload);
	if (!set)
		value = "";
	if (n == 0) {
		if (!set && strict)
			return not_set(err, name);
		if (length)
			return buf_addf(out, "%zu", strlen(value));
		return buf_adds(out, value);
	}
	if (length)
		return op_err_set(err, -EINVAL, "invalid expression '${#%s...}'", name);

	/* Defaults: apply when unset or empty. */
	if (op[0] == '-' || op[0] == '=' || (op[0] == ':' && n > 1 && (op[1] == '-' || op[1] == '='))) {
		size_t skip = op[0] == ':' ? 2 : 1;

		if (set && *value)
			return buf_adds(out, value);
		r = arg(op + skip, n - skip, lookup, payload, strict, depth, &a, err);
		return r < 0 ? r : buf_adds(out, a);
	}
	if (!set && strict)
		return not_set(err, name);
	/* The argument is expanded once: "##" and "%%" take theirs after
	 * both characters (expanding it twice doubled the work at every
	 * nesting level). */
	longest = (op[0] == '#' || op[0] == '%') && n > 1 && op[1] == op[0];
	r = arg(op + 1 + longest, n - 1 - longest, lookup, payload, strict, depth, &a, err);
	if (r < 0)
		return r;
	switch (op[0]) {
	case '^':
	case ',': {
		bool all = n > 1 && op[1] == op[0], up = op[0] == '^';
		_cleanup_free_ char *v = xstrdup(value);
		char *c;

		if (n > (all ? 2u : 1u))
			break;
		for (c = v; *c; c++) {
			*c = (char)(up ? toupper((unsigned char)*c) : tolower((unsigned char)*c));
			if (!all)
				break;
		}
		return buf_adds(out, v);
	}
	case ':': {
		int64_t off = 0, cnt = -1;
		char *colon = strchr(a, ':');
		size_t vl = strlen(value);

		if (colon)
			*colon = '\0';
		if (parse_int64(a, &off) < 0 || (colon && parse_int64(colon + 1, &cnt) < 0))
			break;
		if (off < 0)
			off = (int64_t)vl + off < 0 ? 0 : (int64_t)vl + off;
		if ((size_t)off > vl)
			off = (int64_t)vl;
		if (cnt < 0 || (size_t)(off + cnt) > vl)
			cnt = (int64_t)vl - off;
		return buf_add(out, value + off, (size_t)cnt);
	}
	case '#':
	case '%':
		trim(value, a, op[0] == '%', longest, out);
		return 0;
	case '/': {
		char mode = 0, *rep;

		if (a[0] == '/' || a[0] == '#' || a[0] == '%') {
			mode = a[0];
			memmove(a, a + 1, strlen(a));
		}
		rep = split_slash(a);
		unescape_slash(a);
		replace(value, a, rep ? rep : "", mode, out);
		return 0;
	}
	default:
		break;
	}
	return op_err_set(err, -EINVAL, "unsupported expression '${%.*s}'", (int)MIN(n + nl, (size_t)64),
			  e);
}

static int expand(const char *in, size_t len, envsubst_lookup lookup, void *payload, bool strict,
		  int depth, struct buf *out, struct op_err *err)
{
	size_t i = 0;
	int r = 0;

	if (depth > MAX_NESTING)
		return op_err_set(err, -EINVAL, "expressions nested too deep");
	while (i < len && r == 0) {
		if (in[i] == '$' && i + 2 < len && in[i + 1] == '$' && in[i + 2] == '{') {
			r = buf_adds(out, "${");
			i += 3;
		} else if (in[i] == '$' && i + 1 < len && in[i + 1] == '{') {
			long end = closing(in + i + 2, len - i - 2);

			if (end < 0)
				return op_err_set(err, -EINVAL, "unterminated '${' in '%.40s'", in + i);
			r = expression(in + i + 2, (size_t)end, lookup, payload, strict, depth, out, err);
			i += 2 + (size_t)end + 1;
		} else {
			const char *next = memchr(in + i + 1, '$', len - i - 1);
			size_t n = next ? (size_t)(next - in - i) : len - i;

			r = buf_add(out, in + i, n);
			i += n;
		}
	}
	if (r == -EFBIG)
		op_err_set(err, -EFBIG, "substitution output is too large");
	return r;
}

int envsubst(const char *in, envsubst_lookup lookup, void *payload, bool strict, struct buf *out,
	     struct op_err *err)
{
	return expand(in, strlen(in), lookup, payload, strict, 0, out, err);
}
