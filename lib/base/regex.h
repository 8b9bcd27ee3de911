/*
 * regex.h: regular expressions with Go's regexp (RE2) syntax and
 * semantics, for Sprig's regex* functions.
 *
 * The syntax is what Go's regexp.Compile accepts (Perl flags: `(?i)`,
 * `(?m)`, `(?s)`, `(?U)`, named groups `(?P<n>..)` and `(?<n>..)`, Perl and
 * POSIX classes, `\pL`/`\p{Greek}` Unicode classes, `\Q..\E`); what RE2
 * refuses (backreferences, lookaround, possessive repeats, `\C`) is refused
 * with Go's exact message, e.g.
 *     error parsing regexp: invalid or unsupported Perl syntax: `(?=`
 * Matching is leftmost-first, on UTF-8 (an invalid byte is U+FFFD), in time
 * linear in the input: a Pike VM, no backtracking.  `^`/`$` are text
 * anchors unless `(?m)`; `.` excludes '\n' unless `(?s)`; `\b` is ASCII.
 *
 * Limits: a pattern compiles to at most REGEX_MAX_INSTS instructions, and
 * a program's threads times its capture slots stay under REGEX_MAX_SLOTS;
 * past either, compilation fails with "expression too large" (Go's limit
 * is higher; no real pattern comes near ours).
 *
 * Threading: a compiled regex is immutable; matching allocates its own
 * scratch, so one regex may be used from several threads.
 */
#ifndef CFLUX_BASE_REGEX_H
#define CFLUX_BASE_REGEX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/buf.h"

#define REGEX_MAX_INSTS 100000
#define REGEX_MAX_SLOTS (4 * 1024 * 1024)

struct regex;

/*
 * Compile the `n` bytes at `pat`.  On success returns 0 and stores the
 * regex in *ret (free with regex_free()).  On a syntax error returns
 * -EINVAL and stores Go's message (malloc'd, caller frees) in *ret_err.
 */
int regex_compile(const char *pat, size_t n, struct regex **ret, char **ret_err);

/* Free a regex.  Accepts NULL; returns NULL. */
struct regex *regex_free(struct regex *re);

/* The number of capture groups (Go's NumSubexp). */
size_t regex_nsub(const struct regex *re);

/* The name of group i (1..nsub), "" when unnamed. */
const char *regex_sub_name(const struct regex *re, size_t i);

/*
 * Search s[0..n) for the leftmost-first match starting at or after `pos`
 * (the text before `pos` still counts for `\b` and `^`).  On a match
 * returns true and fills caps[0..ncap) (pairs of byte offsets: the whole
 * match, then groups; -1 for a group that did not take part); `ncap` is
 * 0, 2 or 2 * (nsub + 1).  Returns false when there is no match.
 */
bool regex_exec(const struct regex *re, const char *s, size_t n, size_t pos, ssize_t *caps,
		size_t ncap);

/* Go's MatchString. */
bool regex_match(const struct regex *re, const char *s, size_t n);

/*
 * Go's FindAllStringSubmatchIndex(s, max) (max < 0: all): calls `cb` for
 * each match with its caps (2 * (nsub + 1) entries, or 2 when `groups` is
 * false).  A negative return from `cb` stops the walk and is returned;
 * otherwise returns the number of matches.
 */
int regex_find_all(const struct regex *re, const char *s, size_t n, long max, bool groups,
		   int (*cb)(void *ud, const ssize_t *caps), void *ud);

/*
 * Go's ReplaceAllString (`literal` false: `$1`, `${name}`, `$$` expanded
 * as Regexp.Expand does) or ReplaceAllLiteralString, appended to `out`.
 * Returns 0, or -EFBIG when `out` reaches its maximum.
 */
int regex_replace_all(const struct regex *re, const char *s, size_t n, const char *repl,
		      size_t rlen, bool literal, struct buf *out);

/*
 * Go's Split(s, max): calls `cb` with each piece (start, length).  Returns
 * the number of pieces, or a negative return of `cb`.
 */
int regex_split(const struct regex *re, const char *s, size_t n, long max,
		int (*cb)(void *ud, const char *piece, size_t len), void *ud);

/* Go's QuoteMeta: a backslash before each of \.+*?()|[]{}^$.  0 or -EFBIG. */
int regex_quote_meta(const char *s, size_t n, struct buf *out);

#endif
