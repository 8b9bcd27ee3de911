/*
 * parse.c: the lexer and parser of Go's text/template/parse (Go 1.26).
 *
 * DESIGN
 * A port, state for state, of lex.go and parse.go, so that what parses,
 * what fails and every error message (with its line) are Go's:
 *
 *  - The lexer is Go's state machine run on demand: lex_next() runs states
 *    until one emits an item.  Trim markers are applied in the lexer, as in
 *    Go, so the parser never sees them.  Positions are byte offsets; lines
 *    count the newlines the lexer has passed, exactly where Go counts them
 *    (the line of an error is the line of the last token read).
 *  - The parser keeps Go's three-token lookahead (next, peek, backup,
 *    backup2, backup3) per tree: {{define}} and {{block}} start a new tree
 *    with its own tokens and variable scope, as Go's startParse does.
 *  - Errors unwind by return values: every parsing function returns a node
 *    or NULL once p->failed is set, and callers return at once.  Nothing is
 *    freed on the way out because every node and buffer lives in the
 *    parse's arena, which tmpl_set_parse() rolls back on failure.
 *  - Functions are resolved when parsed (Go checks they exist at parse
 *    time and looks them up again when executing; the registry does not
 *    change in between, so the pointer is kept).
 *
 * Go's recursion is mirrored: nested control structures and parentheses
 * recurse.  Each is bounded by tmpl_set_opts.max_parse_depth ("max
 * expression depth exceeded" is Go's own text for parentheses; the same
 * message is used for deep control nesting, which Go does not limit).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/str.h"
#include "tmpl/internal.h"
#include "tmpl/tmpl.h"
#include "base/banned.h"

/* ---------------------------------------------------------------- lexer */

enum item_type {
	I_ERROR,
	I_BOOL,
	I_CHAR,
	I_CHAR_CONSTANT,
	I_COMMENT,
	I_COMPLEX,
	I_ASSIGN,
	I_DECLARE,
	I_EOF,
	I_FIELD,
	I_IDENTIFIER,
	I_LEFT_DELIM,
	I_LEFT_PAREN,
	I_NUMBER,
	I_PIPE,
	I_RAW_STRING,
	I_RIGHT_DELIM,
	I_RIGHT_PAREN,
	I_SPACE,
	I_STRING,
	I_TEXT,
	I_VARIABLE,
	I_KEYWORD, /* only delimits the keywords */
	I_BLOCK,
	I_BREAK,
	I_CONTINUE,
	I_DOT,
	I_DEFINE,
	I_ELSE,
	I_END,
	I_IF,
	I_NIL,
	I_RANGE,
	I_TEMPLATE,
	I_WITH,
};

struct item {
	enum item_type typ;
	size_t pos;
	const char *val; /* into the text, or an error message */
	size_t len;
	int line;
};

struct lexer {
	const char *input;
	size_t len;
	size_t pos, start;
	bool at_eof;
	int paren_depth;
	int line, start_line;
	struct item item;
	bool inside_action;
	bool break_ok, continue_ok;
	struct tmpl_arena *arena; /* for error messages */
};

#define EOF_RUNE (-1)

typedef bool (*state_fn)(struct lexer *l, int *next_state);

enum lex_state {
	S_NONE,
	S_TEXT,
	S_LEFT_DELIM,
	S_COMMENT,
	S_RIGHT_DELIM,
	S_INSIDE_ACTION,
	S_SPACE,
	S_IDENTIFIER,
	S_FIELD,
	S_VARIABLE,
	S_CHAR,
	S_NUMBER,
	S_QUOTE,
	S_RAW_QUOTE,
};

static int32_t l_next(struct lexer *l)
{
	uint32_t r;
	size_t w;

	if (l->pos >= l->len) {
		l->at_eof = true;
		return EOF_RUNE;
	}
	w = utf8_decode(l->input + l->pos, l->len - l->pos, &r);
	l->pos += w;
	if (r == '\n')
		l->line++;
	return (int32_t)r;
}

/* Width of the rune ending at pos (utf8.DecodeLastRuneInString). */
static size_t last_rune_width(const char *s, size_t pos, uint32_t *ret)
{
	size_t start = pos, lim = pos >= 4 ? pos - 4 : 0;
	uint32_t r;
	size_t w;

	if (pos == 0) {
		*ret = 0xFFFD;
		return 0;
	}
	if ((unsigned char)s[pos - 1] < 0x80) {
		*ret = (unsigned char)s[pos - 1];
		return 1;
	}
	for (start = pos - 1; start > lim; start--)
		if (((unsigned char)s[start] & 0xC0) != 0x80)
			break;
	w = utf8_decode(s + start, pos - start, &r);
	if (start + w != pos) {
		*ret = 0xFFFD;
		return 1;
	}
	*ret = r;
	return w;
}

static void l_backup(struct lexer *l)
{
	if (!l->at_eof && l->pos > 0) {
		uint32_t r;
		size_t w = last_rune_width(l->input, l->pos, &r);

		l->pos -= w;
		if (r == '\n')
			l->line--;
	}
}

static int32_t l_peek(struct lexer *l)
{
	int32_t r = l_next(l);

	l_backup(l);
	return r;
}

static size_t count_nl(const char *s, size_t n)
{
	size_t c = 0;

	for (const char *e = s + n; (s = memchr(s, '\n', (size_t)(e - s))); s++)
		c++;
	return c;
}

static struct item l_this_item(struct lexer *l, enum item_type t)
{
	struct item i = { t, l->start, l->input + l->start, l->pos - l->start, l->start_line };

	l->start = l->pos;
	l->start_line = l->line;
	return i;
}

static int l_emit(struct lexer *l, enum item_type t)
{
	l->item = l_this_item(l, t);
	return S_NONE;
}

static int l_emit_item(struct lexer *l, struct item i)
{
	l->item = i;
	return S_NONE;
}

static void l_ignore(struct lexer *l)
{
	l->line += (int)count_nl(l->input + l->start, l->pos - l->start);
	l->start = l->pos;
	l->start_line = l->line;
}

static bool is_space_r(int32_t r)
{
	return r == ' ' || r == '\t' || r == '\r' || r == '\n';
}

static bool is_alnum_r(int32_t r)
{
	return r == '_' || (r >= 0 && (tmpl__is_letter((uint32_t)r) || tmpl__is_digit((uint32_t)r)));
}

static bool l_accept(struct lexer *l, const char *valid)
{
	int32_t r = l_next(l);

	if (r > 0 && r < 0x80 && strchr(valid, (int)r))
		return true;
	l_backup(l);
	return false;
}

static void l_accept_run(struct lexer *l, const char *valid)
{
	int32_t r;

	do
		r = l_next(l);
	while (r > 0 && r < 0x80 && strchr(valid, (int)r));
	l_backup(l);
}

/* Go's %#U: "U+0041 'A'" (the quoted rune only if printable). */
static void fmt_sharp_u(char *out, size_t n, int32_t r)
{
	uint32_t u = r < 0 ? 0xFFFD : (uint32_t)r;
	int len = snprintf(out, n, "U+%04X", u);

	if (u <= 0x10FFFF && tmpl__is_print(u) && len > 0 && (size_t)len < n) {
		char enc[8];
		struct buf b = BUF_INIT(sizeof(enc) - 1);

		if (utf8_add(&b, u) == 0)
			snprintf(out + len, n - (size_t)len, " '%s'", b.buf);
		buf_release(&b);
	}
}

static int l_errorf(struct lexer *l, const char *fmt, ...) _printf_(2, 3);

static int l_errorf(struct lexer *l, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	l->item = (struct item){ I_ERROR, l->start, tmpl_memdup(l->arena, msg, (size_t)n),
				 (size_t)n, l->start_line };
	l->start = 0;
	l->pos = 0;
	l->len = 0;
	return S_NONE;
}

static bool has_left_trim(const char *s, size_t n)
{
	return n >= 2 && s[0] == '-' && is_space_r((unsigned char)s[1]);
}

static bool has_right_trim(const char *s, size_t n)
{
	return n >= 2 && is_space_r((unsigned char)s[0]) && s[1] == '-';
}

static bool has_prefix(const struct lexer *l, size_t at, const char *p)
{
	size_t n = strlen(p);

	return at <= l->len && l->len - at >= n && memcmp(l->input + at, p, n) == 0;
}

static size_t right_trim_length(const char *s, size_t n)
{
	size_t i = n;

	while (i > 0 && is_space_r((unsigned char)s[i - 1]))
		i--;
	return n - i;
}

static size_t left_trim_length(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && is_space_r((unsigned char)s[i]))
		i++;
	return i;
}

/* At "}}" or " -}}"? */
static bool at_right_delim(const struct lexer *l, bool *trim)
{
	if (has_right_trim(l->input + l->pos, l->len - l->pos) && has_prefix(l, l->pos + 2, "}}")) {
		*trim = true;
		return true;
	}
	*trim = false;
	return has_prefix(l, l->pos, "}}");
}

static int lex_text(struct lexer *l)
{
	const char *x = NULL;

	if (l->pos < l->len) {
		const char *p = l->input + l->pos, *e = l->input + l->len;

		while ((p = memchr(p, '{', (size_t)(e - p))) && p + 1 < e) {
			if (p[1] == '{') {
				x = p;
				break;
			}
			p++;
		}
	}
	if (x) {
		size_t off = (size_t)(x - (l->input + l->pos));

		if (off > 0) {
			size_t trim = 0, delim_end;
			struct item i;

			l->pos += off;
			delim_end = l->pos + 2;
			if (has_left_trim(l->input + delim_end, l->len - delim_end))
				trim = right_trim_length(l->input + l->start, l->pos - l->start);
			l->pos -= trim;
			l->line += (int)count_nl(l->input + l->start, l->pos - l->start);
			i = l_this_item(l, I_TEXT);
			l->pos += trim;
			l_ignore(l);
			if (i.len > 0)
				return l_emit_item(l, i);
		}
		return S_LEFT_DELIM;
	}
	l->pos = l->len;
	if (l->pos > l->start) {
		l->line += (int)count_nl(l->input + l->start, l->pos - l->start);
		return l_emit(l, I_TEXT);
	}
	return l_emit(l, I_EOF);
}

static int lex_left_delim(struct lexer *l)
{
	bool trim;
	size_t after = 0;
	struct item i;

	l->pos += 2;
	trim = has_left_trim(l->input + l->pos, l->len - l->pos);
	if (trim)
		after = 2;
	if (has_prefix(l, l->pos + after, "/*")) {
		l->pos += after;
		l_ignore(l);
		return S_COMMENT;
	}
	i = l_this_item(l, I_LEFT_DELIM);
	l->inside_action = true;
	l->pos += after;
	l_ignore(l);
	l->paren_depth = 0;
	return l_emit_item(l, i);
}

static int lex_comment(struct lexer *l)
{
	const char *x;
	bool trim, delim;

	l->pos += 2;
	x = NULL;
	for (size_t i = l->pos; i + 1 < l->len; i++) {
		if (l->input[i] == '*' && l->input[i + 1] == '/') {
			x = l->input + i;
			break;
		}
	}
	if (!x)
		return l_errorf(l, "unclosed comment");
	l->pos = (size_t)(x - l->input) + 2;
	delim = at_right_delim(l, &trim);
	if (!delim)
		return l_errorf(l, "comment ends before closing delimiter");
	l->line += (int)count_nl(l->input + l->start, l->pos - l->start);
	(void)l_this_item(l, I_COMMENT);
	if (trim)
		l->pos += 2;
	l->pos += 2;
	if (trim)
		l->pos += left_trim_length(l->input + l->pos, l->len - l->pos);
	l_ignore(l);
	return S_TEXT;
}

static int lex_right_delim(struct lexer *l)
{
	bool trim;
	struct item i;

	(void)at_right_delim(l, &trim);
	if (trim) {
		l->pos += 2;
		l_ignore(l);
	}
	l->pos += 2;
	i = l_this_item(l, I_RIGHT_DELIM);
	if (trim) {
		l->pos += left_trim_length(l->input + l->pos, l->len - l->pos);
		l_ignore(l);
	}
	l->inside_action = false;
	return l_emit_item(l, i);
}

static int lex_inside_action(struct lexer *l)
{
	bool trim;
	int32_t r;

	if (at_right_delim(l, &trim)) {
		if (l->paren_depth == 0)
			return S_RIGHT_DELIM;
		return l_errorf(l, "unclosed left paren");
	}
	r = l_next(l);
	if (r == EOF_RUNE)
		return l_errorf(l, "unclosed action");
	if (is_space_r(r)) {
		l_backup(l);
		return S_SPACE;
	}
	switch (r) {
	case '=':
		return l_emit(l, I_ASSIGN);
	case ':':
		if (l_next(l) != '=')
			return l_errorf(l, "expected :=");
		return l_emit(l, I_DECLARE);
	case '|':
		return l_emit(l, I_PIPE);
	case '"':
		return S_QUOTE;
	case '`':
		return S_RAW_QUOTE;
	case '$':
		return S_VARIABLE;
	case '\'':
		return S_CHAR;
	case '.':
		if (l->pos < l->len) {
			char c = l->input[l->pos];

			if (c < '0' || c > '9')
				return S_FIELD;
		}
		l_backup(l);
		return S_NUMBER;
	case '(':
		l->paren_depth++;
		return l_emit(l, I_LEFT_PAREN);
	case ')':
		l->paren_depth--;
		if (l->paren_depth < 0)
			return l_errorf(l, "unexpected right paren");
		return l_emit(l, I_RIGHT_PAREN);
	default:
		break;
	}
	if (r == '+' || r == '-' || (r >= '0' && r <= '9')) {
		l_backup(l);
		return S_NUMBER;
	}
	if (is_alnum_r(r)) {
		l_backup(l);
		return S_IDENTIFIER;
	}
	if (r < 0x80 && r >= 0x20 && r < 0x7F)
		return l_emit(l, I_CHAR);
	{
		char u[32];

		fmt_sharp_u(u, sizeof(u), r);
		return l_errorf(l, "unrecognized character in action: %s", u);
	}
}

static int lex_space(struct lexer *l)
{
	int num = 0;

	for (;;) {
		int32_t r = l_peek(l);

		if (!is_space_r(r))
			break;
		l_next(l);
		num++;
	}
	if (has_right_trim(l->input + l->pos - 1, l->len - (l->pos - 1)) &&
	    has_prefix(l, l->pos - 1 + 2, "}}")) {
		l_backup(l);
		if (num == 1)
			return S_RIGHT_DELIM;
	}
	return l_emit(l, I_SPACE);
}

static bool at_terminator(struct lexer *l)
{
	int32_t r = l_peek(l);

	if (is_space_r(r))
		return true;
	switch (r) {
	case EOF_RUNE:
	case '.':
	case ',':
	case '|':
	case ':':
	case ')':
	case '(':
		return true;
	default:
		break;
	}
	return has_prefix(l, l->pos, "}}");
}

static const struct {
	const char *word;
	enum item_type typ;
} keywords[] = {
	{ ".", I_DOT },           { "block", I_BLOCK }, { "break", I_BREAK },
	{ "continue", I_CONTINUE }, { "define", I_DEFINE }, { "else", I_ELSE },
	{ "end", I_END },         { "if", I_IF },       { "range", I_RANGE },
	{ "nil", I_NIL },         { "template", I_TEMPLATE }, { "with", I_WITH },
};

static int lex_identifier(struct lexer *l)
{
	for (;;) {
		int32_t r = l_next(l);
		const char *word;
		size_t n;

		if (is_alnum_r(r))
			continue;
		l_backup(l);
		word = l->input + l->start;
		n = l->pos - l->start;
		if (!at_terminator(l)) {
			char u[32];

			fmt_sharp_u(u, sizeof(u), r);
			return l_errorf(l, "bad character %s", u);
		}
		for (size_t k = 0; k < ARRAY_SIZE(keywords); k++) {
			if (strlen(keywords[k].word) == n && memcmp(keywords[k].word, word, n) == 0) {
				enum item_type t = keywords[k].typ;

				if ((t == I_BREAK && !l->break_ok) ||
				    (t == I_CONTINUE && !l->continue_ok))
					return l_emit(l, I_IDENTIFIER);
				return l_emit(l, t);
			}
		}
		if (word[0] == '.')
			return l_emit(l, I_FIELD);
		if ((n == 4 && memcmp(word, "true", 4) == 0) ||
		    (n == 5 && memcmp(word, "false", 5) == 0))
			return l_emit(l, I_BOOL);
		return l_emit(l, I_IDENTIFIER);
	}
}

static int lex_field_or_variable(struct lexer *l, enum item_type typ)
{
	int32_t r;

	if (at_terminator(l)) {
		if (typ == I_VARIABLE)
			return l_emit(l, I_VARIABLE);
		return l_emit(l, I_DOT);
	}
	for (;;) {
		r = l_next(l);
		if (!is_alnum_r(r)) {
			l_backup(l);
			break;
		}
	}
	if (!at_terminator(l)) {
		char u[32];

		fmt_sharp_u(u, sizeof(u), r);
		return l_errorf(l, "bad character %s", u);
	}
	return l_emit(l, typ);
}

static int lex_char(struct lexer *l)
{
	for (;;) {
		int32_t r = l_next(l);

		if (r == '\\') {
			r = l_next(l);
			if (r != EOF_RUNE && r != '\n')
				continue;
			return l_errorf(l, "unterminated character constant");
		}
		if (r == EOF_RUNE || r == '\n')
			return l_errorf(l, "unterminated character constant");
		if (r == '\'')
			break;
	}
	return l_emit(l, I_CHAR_CONSTANT);
}

static bool scan_number(struct lexer *l)
{
	const char *digits = "0123456789_";

	l_accept(l, "+-");
	if (l_accept(l, "0")) {
		if (l_accept(l, "xX"))
			digits = "0123456789abcdefABCDEF_";
		else if (l_accept(l, "oO"))
			digits = "01234567_";
		else if (l_accept(l, "bB"))
			digits = "01_";
	}
	l_accept_run(l, digits);
	if (l_accept(l, "."))
		l_accept_run(l, digits);
	if (strlen(digits) == 10 + 1 && l_accept(l, "eE")) {
		l_accept(l, "+-");
		l_accept_run(l, "0123456789_");
	}
	if (strlen(digits) == 16 + 6 + 1 && l_accept(l, "pP")) {
		l_accept(l, "+-");
		l_accept_run(l, "0123456789_");
	}
	l_accept(l, "i");
	if (is_alnum_r(l_peek(l))) {
		l_next(l);
		return false;
	}
	return true;
}

/* Go's %q of a lexeme, for "bad number syntax: %q". */
static void quote_into(char *out, size_t n, const char *s, size_t len)
{
	struct buf b = BUF_INIT(n - 1);

	if (tmpl_quote(&b, s, len) < 0)
		buf_reset(&b);
	snprintf(out, n, "%s", b.buf);
	buf_release(&b);
}

static int lex_number(struct lexer *l)
{
	char q[256];
	int32_t sign;

	if (!scan_number(l)) {
		quote_into(q, sizeof(q), l->input + l->start, l->pos - l->start);
		return l_errorf(l, "bad number syntax: %s", q);
	}
	sign = l_peek(l);
	if (sign == '+' || sign == '-') {
		if (!scan_number(l) || l->input[l->pos - 1] != 'i') {
			quote_into(q, sizeof(q), l->input + l->start, l->pos - l->start);
			return l_errorf(l, "bad number syntax: %s", q);
		}
		return l_emit(l, I_COMPLEX);
	}
	return l_emit(l, I_NUMBER);
}

static int lex_quote(struct lexer *l)
{
	for (;;) {
		int32_t r = l_next(l);

		if (r == '\\') {
			r = l_next(l);
			if (r != EOF_RUNE && r != '\n')
				continue;
			return l_errorf(l, "unterminated quoted string");
		}
		if (r == EOF_RUNE || r == '\n')
			return l_errorf(l, "unterminated quoted string");
		if (r == '"')
			break;
	}
	return l_emit(l, I_STRING);
}

static int lex_raw_quote(struct lexer *l)
{
	for (;;) {
		int32_t r = l_next(l);

		if (r == EOF_RUNE)
			return l_errorf(l, "unterminated raw quoted string");
		if (r == '`')
			break;
	}
	return l_emit(l, I_RAW_STRING);
}

static struct item lex_next(struct lexer *l)
{
	int st = l->inside_action ? S_INSIDE_ACTION : S_TEXT;

	l->item = (struct item){ I_EOF, l->pos, "EOF", 3, l->start_line };
	for (;;) {
		switch (st) {
		case S_TEXT:
			st = lex_text(l);
			break;
		case S_LEFT_DELIM:
			st = lex_left_delim(l);
			break;
		case S_COMMENT:
			st = lex_comment(l);
			break;
		case S_RIGHT_DELIM:
			st = lex_right_delim(l);
			break;
		case S_INSIDE_ACTION:
			st = lex_inside_action(l);
			break;
		case S_SPACE:
			st = lex_space(l);
			break;
		case S_IDENTIFIER:
			st = lex_identifier(l);
			break;
		case S_FIELD:
			st = lex_field_or_variable(l, I_FIELD);
			break;
		case S_VARIABLE:
			if (at_terminator(l))
				st = l_emit(l, I_VARIABLE);
			else
				st = lex_field_or_variable(l, I_VARIABLE);
			break;
		case S_CHAR:
			st = lex_char(l);
			break;
		case S_NUMBER:
			st = lex_number(l);
			break;
		case S_QUOTE:
			st = lex_quote(l);
			break;
		case S_RAW_QUOTE:
			st = lex_raw_quote(l);
			break;
		default:
			return l->item;
		}
	}
}

/* ---------------------------------------------------------------- strconv */

/*
 * strconv.UnquoteChar: decode one character of s (n bytes) quoted with
 * `quote`.  Returns the bytes consumed (0: syntax error), the value, and
 * whether it is a multibyte rune (to be UTF-8 encoded) or a raw byte.
 */
static size_t unquote_char(const char *s, size_t n, char quote, uint32_t *value, bool *multibyte)
{
	unsigned char c;
	int digits, x;
	uint32_t v;

	*multibyte = false;
	if (n == 0)
		return 0;
	c = (unsigned char)s[0];
	if (c == (unsigned char)quote && (quote == '\'' || quote == '"'))
		return 0;
	if (c >= 0x80) {
		size_t w = utf8_decode(s, n, value);

		*multibyte = true;
		return w;
	}
	if (c != '\\') {
		*value = c;
		return 1;
	}
	if (n <= 1)
		return 0;
	c = (unsigned char)s[1];
	switch (c) {
	case 'a':
		*value = '\a';
		return 2;
	case 'b':
		*value = '\b';
		return 2;
	case 'f':
		*value = '\f';
		return 2;
	case 'n':
		*value = '\n';
		return 2;
	case 'r':
		*value = '\r';
		return 2;
	case 't':
		*value = '\t';
		return 2;
	case 'v':
		*value = '\v';
		return 2;
	case 'x':
	case 'u':
	case 'U':
		digits = c == 'x' ? 2 : c == 'u' ? 4 : 8;
		if (n - 2 < (size_t)digits)
			return 0;
		v = 0;
		for (int j = 0; j < digits; j++) {
			x = str_hexval((unsigned char)s[2 + j]);
			if (x < 0)
				return 0;
			v = (v << 4) | (uint32_t)x;
		}
		if (c != 'x') {
			if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
				return 0;
			*multibyte = true;
		}
		*value = v;
		return 2 + (size_t)digits;
	case '0':
	case '1':
	case '2':
	case '3':
	case '4':
	case '5':
	case '6':
	case '7':
		v = c - '0';
		if (n - 2 < 2)
			return 0;
		for (int j = 0; j < 2; j++) {
			x = s[2 + j] - '0';
			if (x < 0 || x > 7)
				return 0;
			v = (v << 3) | (uint32_t)x;
		}
		if (v > 255)
			return 0;
		*value = v;
		return 4;
	case '\\':
		*value = '\\';
		return 2;
	case '\'':
	case '"':
		if (c != (unsigned char)quote)
			return 0;
		*value = c;
		return 2;
	default:
		return 0;
	}
}

/* strconv.Unquote of a "..." or `...` literal into `a`.  0 or -EINVAL. */
static int unquote(struct tmpl_arena *a, const char *in, size_t n, struct tmpl_val *ret)
{
	struct buf b = BUF_INIT((size_t)-2);
	const char *s;
	size_t i;

	if (n < 2 || in[n - 1] != in[0])
		return -EINVAL;
	if (in[0] == '`') {
		if (!memchr(in + 1, '\r', n - 2)) {
			*ret = tmpl_str(a, in + 1, n - 2);
			return 0;
		}
		for (i = 1; i + 1 < n; i++)
			if (in[i] != '\r' && buf_addch(&b, in[i]) < 0)
				break;
		*ret = tmpl_str_buf(a, &b);
		buf_release(&b);
		return 0;
	}
	if (in[0] != '"')
		return -EINVAL;
	if (!memchr(in + 1, '\\', n - 2) && !memchr(in + 1, '\n', n - 2) &&
	    !memchr(in + 1, '"', n - 2) && utf8_valid(in + 1, n - 2)) {
		*ret = tmpl_str(a, in + 1, n - 2);
		return 0;
	}
	s = in + 1;
	i = 0;
	while (i < n - 1 && s[i] != '"') {
		uint32_t r;
		bool mb;
		size_t w;

		if (s[i] == '\n')
			goto bad;
		w = unquote_char(s + i, n - 1 - i, '"', &r, &mb);
		if (w == 0)
			goto bad;
		i += w;
		if (r < 0x80 || !mb) {
			if (buf_addch(&b, (char)r) < 0)
				goto bad;
		} else if (utf8_add(&b, r) < 0) {
			goto bad;
		}
	}
	if (!(i < n - 1 && s[i] == '"') || i + 2 != n)
		goto bad;
	*ret = tmpl_str_buf(a, &b);
	buf_release(&b);
	return 0;
bad:
	buf_release(&b);
	return -EINVAL;
}

static bool underscore_ok(const char *s, size_t n)
{
	char saw = '^';
	size_t i = 0;
	bool hex = false;

	if (n >= 1 && (s[0] == '-' || s[0] == '+')) {
		s++;
		n--;
	}
	if (n >= 2 && s[0] == '0' &&
	    ((s[1] | 0x20) == 'b' || (s[1] | 0x20) == 'o' || (s[1] | 0x20) == 'x')) {
		i = 2;
		saw = '0';
		hex = (s[1] | 0x20) == 'x';
	}
	for (; i < n; i++) {
		char c = s[i];

		if ((c >= '0' && c <= '9') || (hex && (c | 0x20) >= 'a' && (c | 0x20) <= 'f')) {
			saw = '0';
			continue;
		}
		if (c == '_') {
			if (saw != '0')
				return false;
			saw = '_';
			continue;
		}
		if (saw == '_')
			return false;
		saw = '!';
	}
	return saw != '_';
}

/* strconv.ParseUint(s, 0, 64).  0, -EINVAL (syntax) or -ERANGE. */
static int parse_uint0(const char *s0, size_t n0, uint64_t *ret)
{
	const char *s = s0;
	size_t n = n0;
	unsigned base = 10;
	bool underscores = false;
	uint64_t v = 0;

	if (n == 0)
		return -EINVAL;
	if (s[0] == '0') {
		if (n >= 3 && (s[1] | 0x20) == 'b') {
			base = 2;
			s += 2;
			n -= 2;
		} else if (n >= 3 && (s[1] | 0x20) == 'o') {
			base = 8;
			s += 2;
			n -= 2;
		} else if (n >= 3 && (s[1] | 0x20) == 'x') {
			base = 16;
			s += 2;
			n -= 2;
		} else {
			base = 8;
			s++;
			n--;
		}
	}
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		unsigned d;

		if (c == '_') {
			underscores = true;
			continue;
		}
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
			d = (unsigned)((c | 0x20) - 'a' + 10);
		else
			return -EINVAL;
		if (d >= base)
			return -EINVAL;
		if (v > (UINT64_MAX - d) / base) {
			/* Go reports a range error even if a later byte is bad. */
			return -ERANGE;
		}
		v = v * base + d;
	}
	if (underscores && !underscore_ok(s0, n0))
		return -EINVAL;
	*ret = v;
	return 0;
}

/* strconv.ParseInt(s, 0, 64). */
static int parse_int0(const char *s, size_t n, int64_t *ret)
{
	bool neg = false;
	uint64_t u;
	int r;

	if (n == 0)
		return -EINVAL;
	if (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-';
		s++;
		n--;
	}
	r = parse_uint0(s, n, &u);
	if (r < 0)
		return r;
	if (!neg && u > (uint64_t)INT64_MAX)
		return -ERANGE;
	if (neg && u > (uint64_t)INT64_MAX + 1)
		return -ERANGE;
	*ret = neg ? (int64_t)(0 - u) : (int64_t)u;
	return 0;
}

/*
 * strconv.ParseFloat(s, 64): Go's float syntax (decimal or hex mantissa,
 * optional exponent, '_' between digits), no "inf"/"nan" (the lexer
 * never passes them).  0, -EINVAL or -ERANGE (overflow).
 */
static int parse_float0(const char *s, size_t n, double *ret)
{
	char tmp[128], *end;
	size_t i = 0, j = 0;
	bool hex = false, digits = false, underscores = false, exp_seen = false;
	double v;

	if (n == 0 || n >= sizeof(tmp))
		return -EINVAL;
	if (s[i] == '+' || s[i] == '-')
		tmp[j++] = s[i++];
	if (n - i >= 2 && s[i] == '0' && (s[i + 1] | 0x20) == 'x') {
		hex = true;
		tmp[j++] = s[i++];
		tmp[j++] = s[i++];
	}
	/* Mantissa. */
	for (bool dot = false; i < n; i++) {
		char c = s[i];

		if (c == '_') {
			underscores = true;
			continue;
		}
		if (c == '.' && !dot) {
			dot = true;
			tmp[j++] = c;
			continue;
		}
		if ((c >= '0' && c <= '9') || (hex && (c | 0x20) >= 'a' && (c | 0x20) <= 'f')) {
			digits = true;
			tmp[j++] = c;
			continue;
		}
		break;
	}
	if (!digits)
		return -EINVAL;
	if (i < n && (s[i] | 0x20) == (hex ? 'p' : 'e')) {
		bool ed = false;

		exp_seen = true;
		tmp[j++] = s[i++];
		if (i < n && (s[i] == '+' || s[i] == '-'))
			tmp[j++] = s[i++];
		for (; i < n; i++) {
			if (s[i] == '_') {
				underscores = true;
				continue;
			}
			if (s[i] < '0' || s[i] > '9')
				break;
			ed = true;
			tmp[j++] = s[i];
		}
		if (!ed)
			return -EINVAL;
	}
	if (i != n)
		return -EINVAL;
	if (hex && !exp_seen)
		return -EINVAL; /* Go requires the p exponent in hex floats */
	if (underscores && !underscore_ok(s, n))
		return -EINVAL;
	tmp[j] = '\0';
	errno = 0;
	v = strtod(tmp, &end);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE && isinf(v))
		return -ERANGE;
	*ret = v;
	return 0;
}

/* ---------------------------------------------------------------- parser */

/* What Go keeps per Tree while parsing one (the top level, a define, a block). */
struct tctx {
	struct tree *tree;
	struct item token[3];
	int peek_count;
	struct ident *vars;
	size_t nvars, avars;
	int range_depth;
	unsigned stack_depth;
	int action_line;
};

struct parser {
	struct tmpl_set *set;
	struct tmpl_arena *a;
	struct lexer lex;
	struct tctx *t;        /* the tree being parsed */
	struct hmap trees;     /* this parse's treeSet: name -> struct tree */
	const char *parse_name;
	const char *text;
	size_t text_len;
	unsigned depth;        /* nesting of control structures and parens */
	unsigned max_depth;
	bool failed;
	int code;
	struct buf err;        /* "template: NAME:LINE: msg" */
	int err_line;
};

static void p_errorf(struct parser *p, const char *fmt, ...) _printf_(2, 3);

static void p_errorf(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return;
	p->failed = true;
	if (!p->code)
		p->code = -EINVAL;
	p->err_line = p->t->token[0].line;
	buf_reset(&p->err);
	(void)buf_addf(&p->err, "template: %s:%d: ", p->parse_name, p->err_line);
	va_start(ap, fmt);
	(void)buf_vaddf(&p->err, fmt, ap);
	va_end(ap);
}

static struct item p_next(struct parser *p)
{
	struct tctx *t = p->t;

	if (t->peek_count > 0)
		t->peek_count--;
	else
		t->token[0] = lex_next(&p->lex);
	return t->token[t->peek_count];
}

static void p_backup(struct parser *p)
{
	p->t->peek_count++;
}

static void p_backup2(struct parser *p, struct item t1)
{
	p->t->token[1] = t1;
	p->t->peek_count = 2;
}

static void p_backup3(struct parser *p, struct item t2, struct item t1)
{
	p->t->token[1] = t1;
	p->t->token[2] = t2;
	p->t->peek_count = 3;
}

static struct item p_peek(struct parser *p)
{
	struct tctx *t = p->t;

	if (t->peek_count > 0)
		return t->token[t->peek_count - 1];
	t->peek_count = 1;
	t->token[0] = lex_next(&p->lex);
	return t->token[0];
}

static struct item p_next_non_space(struct parser *p)
{
	struct item it;

	do
		it = p_next(p);
	while (it.typ == I_SPACE);
	return it;
}

static struct item p_peek_non_space(struct parser *p)
{
	struct item it = p_next_non_space(p);

	p_backup(p);
	return it;
}

/* Go's item.String(). */
static void item_string(const struct item *it, struct buf *out)
{
	if (it->typ == I_EOF) {
		(void)buf_adds(out, "EOF");
	} else if (it->typ == I_ERROR) {
		(void)buf_add(out, it->val, it->len);
	} else if (it->typ > I_KEYWORD) {
		(void)buf_addf(out, "<%.*s>", (int)it->len, it->val);
	} else if (it->len > 10) {
		/* %.10q...: the first 10 runes, quoted. */
		size_t i = 0;

		for (int r = 0; r < 10 && i < it->len; r++) {
			uint32_t c;

			i += utf8_decode(it->val + i, it->len - i, &c);
		}
		(void)tmpl_quote(out, it->val, i);
		(void)buf_adds(out, "...");
	} else {
		(void)tmpl_quote(out, it->val, it->len);
	}
}

static void p_unexpected(struct parser *p, const struct item *tok, const char *context)
{
	struct buf s = BUF_INIT(4096);

	if (tok->typ == I_ERROR) {
		char extra[300] = "";

		if (p->t->action_line != 0 && p->t->action_line != tok->line) {
			const char *in = " in action";
			size_t vl = tok->len;

			snprintf(extra, sizeof(extra), " in action started at %s:%d", p->parse_name,
				 p->t->action_line);
			if (vl >= 7 && memcmp(tok->val + vl - 7, " action", 7) == 0)
				memmove(extra, extra + strlen(in), strlen(extra + strlen(in)) + 1);
		}
		p_errorf(p, "%.*s%s", (int)tok->len, tok->val, extra);
		return;
	}
	item_string(tok, &s);
	p_errorf(p, "unexpected %s in %s", s.buf, context);
	buf_release(&s);
}

static struct item p_expect(struct parser *p, enum item_type expected, const char *context)
{
	struct item tok = p_next_non_space(p);

	if (tok.typ != expected)
		p_unexpected(p, &tok, context);
	return tok;
}

static struct item p_expect_one_of(struct parser *p, enum item_type e1, enum item_type e2,
				   const char *context)
{
	struct item tok = p_next_non_space(p);

	if (tok.typ != e1 && tok.typ != e2)
		p_unexpected(p, &tok, context);
	return tok;
}

/* ---- nodes ---- */

static struct node *new_node(struct parser *p, enum node_type type, size_t pos)
{
	struct node *n = tmpl_alloc(p->a, sizeof(*n));

	n->type = type;
	n->pos = (uint32_t)pos;
	n->tr = p->t->tree;
	return n;
}

static void list_append(struct parser *p, struct node_list *l, struct node *n)
{
	/* Grow by doubling inside the arena; old arrays stay behind. */
	if ((l->n & (l->n - 1)) == 0 && (l->n == 0 || l->n >= 4)) {
		size_t cap = l->n ? l->n * 2 : 4;
		struct node **nv = tmpl_alloc(p->a, cap * sizeof(*nv));

		if (l->n)
			memcpy(nv, l->v, l->n * sizeof(*nv));
		l->v = nv;
	}
	l->v[l->n++] = n;
}

static struct ident ident_dup(struct parser *p, const char *s, size_t n)
{
	struct ident id = { tmpl_memdup(p->a, s, n), n };

	return id;
}

/* Split "a.b.c" at dots into idents (strings.Split). */
static struct ident *split_dots(struct parser *p, const char *s, size_t n, size_t *ret_n)
{
	size_t cnt = 1, k = 0, start = 0;
	struct ident *v;

	for (size_t i = 0; i < n; i++)
		if (s[i] == '.')
			cnt++;
	v = tmpl_alloc(p->a, cnt * sizeof(*v));
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			v[k++] = ident_dup(p, s + start, i - start);
			start = i + 1;
		}
	}
	*ret_n = cnt;
	return v;
}

static struct node *new_field(struct parser *p, size_t pos, const char *s, size_t n)
{
	struct node *f = new_node(p, N_FIELD, pos);

	/* [1:] drops the leading period. */
	f->ident.v = split_dots(p, s + 1, n - 1, &f->ident.n);
	return f;
}

static struct node *new_variable(struct parser *p, size_t pos, const char *s, size_t n)
{
	struct node *v = new_node(p, N_VARIABLE, pos);

	v->ident.v = split_dots(p, s, n, &v->ident.n);
	return v;
}

static struct node *new_number(struct parser *p, size_t pos, const char *text, size_t n,
			       enum item_type typ)
{
	struct node *node = new_node(p, N_NUMBER, pos);
	struct number *num = node->number.num = tmpl_alloc(p->a, sizeof(*num));
	uint64_t u = 0;
	int64_t i;
	double f;

	node->number.text = ident_dup(p, text, n);
	if (typ == I_CHAR_CONSTANT) {
		uint32_t r;
		bool mb;
		size_t w = unquote_char(text + 1, n - 1, text[0], &r, &mb);

		if (w == 0) {
			p_errorf(p, "invalid syntax");
			return NULL;
		}
		if (!(n - 1 - w == 1 && text[1 + w] == '\'')) {
			p_errorf(p, "malformed character constant: %.*s", (int)n, text);
			return NULL;
		}
		num->i = r;
		num->is_int = true;
		num->u = r;
		num->is_uint = true;
		num->f = r;
		num->is_float = true;
		return node;
	}
	if (typ == I_COMPLEX || (n > 0 && text[n - 1] == 'i')) {
		/* Imaginary "2i" (ParseFloat of the rest) or complex "1+2i"
		 * (fmt.Sscan): split at the sign that starts the imaginary
		 * part. */
		double re = 0, im = 0;
		bool ok = false;

		if (typ != I_COMPLEX) {
			ok = parse_float0(text, n - 1, &im) == 0;
		} else {
			for (size_t k = n - 1; k > 0; k--) {
				if ((text[k] == '+' || text[k] == '-') && (text[k - 1] | 0x20) != 'e' &&
				    (text[k - 1] | 0x20) != 'p') {
					ok = parse_float0(text, k, &re) == 0 &&
					     parse_float0(text + k, n - k - 1, &im) == 0;
					break;
				}
			}
			if (!ok) {
				p_errorf(p, "expected integer");
				return NULL;
			}
		}
		if (ok) {
			num->is_complex = true;
			num->re = re;
			num->im = im;
			/* simplifyComplex */
			num->is_float = im == 0;
			if (num->is_float) {
				num->f = re;
				if (re >= -9223372036854775808.0 && re < 9223372036854775808.0 &&
				    (double)(int64_t)re == re) {
					num->is_int = true;
					num->i = (int64_t)re;
				}
				if (re >= 0 && re < 18446744073709551616.0 &&
				    (double)(uint64_t)re == re) {
					num->is_uint = true;
					num->u = (uint64_t)re;
				}
			}
			return node;
		}
	}
	if (parse_uint0(text, n, &u) == 0) {
		num->is_uint = true;
		num->u = u;
	}
	if (parse_int0(text, n, &i) == 0) {
		num->is_int = true;
		num->i = i;
		if (i == 0) {
			num->is_uint = true;
			num->u = u;
		}
	}
	if (num->is_int) {
		num->is_float = true;
		num->f = (double)num->i;
	} else if (num->is_uint) {
		num->is_float = true;
		num->f = (double)num->u;
	} else if (parse_float0(text, n, &f) == 0) {
		bool floaty = false;

		for (size_t k = 0; k < n; k++)
			if (strchr(".eEpP", text[k]))
				floaty = true;
		if (!floaty) {
			struct buf q = BUF_INIT(512);

			(void)tmpl_quote(&q, text, n);
			p_errorf(p, "integer overflow: %s", q.buf);
			buf_release(&q);
			return NULL;
		}
		num->is_float = true;
		num->f = f;
		if (f >= -9223372036854775808.0 && f < 9223372036854775808.0 &&
		    (double)(int64_t)f == f) {
			num->is_int = true;
			num->i = (int64_t)f;
		}
		if (f >= 0 && f < 18446744073709551616.0 && (double)(uint64_t)f == f) {
			num->is_uint = true;
			num->u = (uint64_t)f;
		}
	}
	if (!num->is_int && !num->is_uint && !num->is_float) {
		struct buf q = BUF_INIT(512);

		(void)tmpl_quote(&q, text, n);
		p_errorf(p, "illegal number syntax: %s", q.buf);
		buf_release(&q);
		return NULL;
	}
	return node;
}

/* ---- variables ---- */

static void push_var(struct parser *p, const char *s, size_t n)
{
	struct tctx *t = p->t;

	if (t->nvars == t->avars) {
		size_t cap = t->avars ? t->avars * 2 : 8;
		struct ident *nv = tmpl_alloc(p->a, cap * sizeof(*nv));

		if (t->nvars)
			memcpy(nv, t->vars, t->nvars * sizeof(*nv));
		t->vars = nv;
		t->avars = cap;
	}
	t->vars[t->nvars].p = s;
	t->vars[t->nvars].n = n;
	t->nvars++;
}

static struct node *use_var(struct parser *p, size_t pos, const char *s, size_t n)
{
	struct node *v = new_variable(p, pos, s, n);
	const struct ident *name = &v->ident.v[0];

	for (size_t i = 0; i < p->t->nvars; i++)
		if (p->t->vars[i].n == name->n && memcmp(p->t->vars[i].p, name->p, name->n) == 0)
			return v;
	p_errorf(p, "undefined variable \"%s\"", name->p);
	return NULL;
}

static void tctx_start(struct parser *p, struct tctx *t, struct tree *tree)
{
	memset(t, 0, sizeof(*t));
	t->tree = tree;
	p->t = t;
	push_var(p, "$", 1);
}

static struct tree *new_tree(struct parser *p, const char *name)
{
	struct tree *tr = tmpl_alloc(p->a, sizeof(*tr));

	tr->name = name;
	tr->parse_name = p->parse_name;
	tr->text = p->text;
	tr->text_len = p->text_len;
	return tr;
}

/* ---- empty trees ---- */

static bool is_space_byte(char c)
{
	/* bytes.TrimSpace: ASCII space plus U+0085 and U+00A0 (handled below). */
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static bool text_is_space(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint32_t r;
		size_t w;

		if (is_space_byte(s[i])) {
			i++;
			continue;
		}
		w = utf8_decode(s + i, n - i, &r);
		if (w > 1 && tmpl__is_space(r)) {
			i += w;
			continue;
		}
		return false;
	}
	return true;
}

bool tmpl__empty_tree(const struct node *n)
{
	if (!n)
		return true;
	switch (n->type) {
	case N_COMMENT:
		return true;
	case N_LIST:
		for (size_t i = 0; i < n->list.n; i++)
			if (!tmpl__empty_tree(n->list.v[i]))
				return false;
		return true;
	case N_TEXT:
		return text_is_space(n->text.p, n->text.n);
	default:
		return false;
	}
}

/* Go's Tree.add(): into this parse's treeSet. */
static void tree_add(struct parser *p, struct tree *tr)
{
	struct tree *old = hmap_get(&p->trees, tr->name);

	if (!old || tmpl__empty_tree(old->root)) {
		hmap_put(&p->trees, tr->name, tr);
		return;
	}
	if (!tmpl__empty_tree(tr->root))
		p_errorf(p, "template: multiple definition of template \"%s\"", tr->name);
}

/* ---- grammar ---- */

static struct node *p_pipeline(struct parser *p, const char *context, enum item_type end);
static struct node *p_item_list(struct parser *p, struct node **ret_next);
static struct node *p_text_or_action(struct parser *p);

static bool depth_enter(struct parser *p)
{
	if (++p->depth > p->max_depth) {
		p->code = -E2BIG;
		p_errorf(p, "max expression depth exceeded");
		return false;
	}
	return true;
}

static struct node *p_term(struct parser *p)
{
	struct item tok = p_next_non_space(p);
	struct node *n;

	switch (tok.typ) {
	case I_IDENTIFIER: {
		const struct tmpl__func *fn = NULL;
		char name[256];

		if (tok.len < sizeof(name)) {
			memcpy(name, tok.val, tok.len);
			name[tok.len] = '\0';
			fn = hmap_get(&p->set->funcs->map, name);
		}
		if (!fn) {
			p_errorf(p, "function \"%.*s\" not defined", (int)tok.len, tok.val);
			return NULL;
		}
		n = new_node(p, N_IDENT, tok.pos);
		n->fn.name = ident_dup(p, tok.val, tok.len);
		n->fn.fn = fn;
		return n;
	}
	case I_DOT:
		return new_node(p, N_DOT, tok.pos);
	case I_NIL:
		return new_node(p, N_NIL, tok.pos);
	case I_VARIABLE:
		return use_var(p, tok.pos, tok.val, tok.len);
	case I_FIELD:
		return new_field(p, tok.pos, tok.val, tok.len);
	case I_BOOL:
		n = new_node(p, N_BOOL, tok.pos);
		n->boolean = tok.len == 4;
		return n;
	case I_CHAR_CONSTANT:
	case I_COMPLEX:
	case I_NUMBER:
		return new_number(p, tok.pos, tok.val, tok.len, tok.typ);
	case I_LEFT_PAREN:
		if (p->t->stack_depth >= 10000 || !depth_enter(p)) {
			p_errorf(p, "max expression depth exceeded");
			return NULL;
		}
		p->t->stack_depth++;
		n = p_pipeline(p, "parenthesized pipeline", I_RIGHT_PAREN);
		p->t->stack_depth--;
		p->depth--;
		return n;
	case I_STRING:
	case I_RAW_STRING:
		n = new_node(p, N_STRING, tok.pos);
		n->str.quoted = ident_dup(p, tok.val, tok.len);
		if (unquote(p->a, tok.val, tok.len, &n->str.val) < 0) {
			p_errorf(p, "invalid syntax");
			return NULL;
		}
		return n;
	default:
		p_backup(p);
		return NULL;
	}
}

/* Go's Node.String() for the "unexpected . after term %q" message. */
static struct node *p_operand(struct parser *p)
{
	struct node *node = p_term(p);
	struct node *chain;
	struct ident *fields = NULL;
	size_t nf = 0, af = 0;
	size_t chain_pos;

	if (!node || p->failed)
		return NULL;
	if (p_peek(p).typ != I_FIELD)
		return node;
	chain_pos = p_peek(p).pos;
	while (p_peek(p).typ == I_FIELD) {
		struct item f = p_next(p);

		if (nf == af) {
			size_t cap = af ? af * 2 : 4;
			struct ident *nv = tmpl_alloc(p->a, cap * sizeof(*nv));

			if (nf)
				memcpy(nv, fields, nf * sizeof(*nv));
			fields = nv;
			af = cap;
		}
		/* Remove the leading dot; Go panics on an empty field, which
		 * the lexer never produces. */
		fields[nf++] = ident_dup(p, f.val + 1, f.len - 1);
	}
	switch (node->type) {
	case N_FIELD:
	case N_VARIABLE: {
		/* Compatibility: fold into the field or variable node.  Go
		 * rebuilds it from chain.String() split at dots. */
		struct node *n = new_node(p, node->type, chain_pos);
		size_t base = node->ident.n;

		n->ident.n = base + nf;
		n->ident.v = tmpl_alloc(p->a, n->ident.n * sizeof(struct ident));
		memcpy(n->ident.v, node->ident.v, base * sizeof(struct ident));
		memcpy(n->ident.v + base, fields, nf * sizeof(struct ident));
		return n;
	}
	case N_BOOL:
	case N_STRING:
	case N_NUMBER:
	case N_NIL:
	case N_DOT: {
		struct buf s = BUF_INIT(4096), q = BUF_INIT(8192);

		tmpl__node_string(node, &s);
		(void)tmpl_quote(&q, s.buf, s.len);
		p_errorf(p, "unexpected . after term %s", q.buf);
		buf_release(&s);
		buf_release(&q);
		return NULL;
	}
	default:
		chain = new_node(p, N_CHAIN, chain_pos);
		chain->chain.node = node;
		chain->chain.v = fields;
		chain->chain.n = nf;
		return chain;
	}
}

static struct node *p_command(struct parser *p)
{
	struct node *cmd = new_node(p, N_COMMAND, p_peek_non_space(p).pos);

	for (;;) {
		struct node *operand;
		struct item tok;

		(void)p_peek_non_space(p);
		operand = p_operand(p);
		if (p->failed)
			return NULL;
		if (operand)
			list_append(p, &cmd->list, operand);
		tok = p_next(p);
		switch (tok.typ) {
		case I_SPACE:
			continue;
		case I_RIGHT_DELIM:
		case I_RIGHT_PAREN:
			p_backup(p);
			break;
		case I_PIPE:
			break;
		default:
			p_unexpected(p, &tok, "operand");
			return NULL;
		}
		break;
	}
	if (cmd->list.n == 0) {
		p_errorf(p, "empty command");
		return NULL;
	}
	return cmd;
}

static void check_pipeline(struct parser *p, struct node *pipe, const char *context)
{
	if (pipe->pipe.cmds.n == 0) {
		p_errorf(p, "missing value for %s", context);
		return;
	}
	for (size_t i = 1; i < pipe->pipe.cmds.n; i++) {
		switch (pipe->pipe.cmds.v[i]->list.v[0]->type) {
		case N_BOOL:
		case N_DOT:
		case N_NIL:
		case N_NUMBER:
		case N_STRING:
			p_errorf(p, "non executable command in pipeline stage %zu", i + 1);
			return;
		default:
			break;
		}
	}
}

static struct node *p_pipeline(struct parser *p, const char *context, enum item_type end)
{
	struct item tok = p_peek_non_space(p);
	struct node *pipe = new_node(p, N_PIPE, tok.pos);
	struct item v;

decls:
	v = p_peek_non_space(p);
	if (v.typ == I_VARIABLE) {
		struct item after, next;

		(void)p_next(p);
		after = p_peek(p);
		next = p_peek_non_space(p);
		if (next.typ == I_ASSIGN || next.typ == I_DECLARE) {
			pipe->pipe.assign = next.typ == I_ASSIGN;
			(void)p_next_non_space(p);
			list_append(p, &pipe->pipe.decl, new_variable(p, v.pos, v.val, v.len));
			push_var(p, v.val, v.len);
		} else if (next.typ == I_CHAR && next.len == 1 && next.val[0] == ',') {
			(void)p_next_non_space(p);
			list_append(p, &pipe->pipe.decl, new_variable(p, v.pos, v.val, v.len));
			push_var(p, v.val, v.len);
			if (strcmp(context, "range") == 0 && pipe->pipe.decl.n < 2) {
				switch (p_peek_non_space(p).typ) {
				case I_VARIABLE:
				case I_RIGHT_DELIM:
				case I_RIGHT_PAREN:
					goto decls;
				default:
					p_errorf(p, "range can only initialize variables");
					return NULL;
				}
			}
			p_errorf(p, "too many declarations in %s", context);
			return NULL;
		} else if (after.typ == I_SPACE) {
			p_backup3(p, v, after);
		} else {
			p_backup2(p, v);
		}
	}
	for (;;) {
		tok = p_next_non_space(p);
		if (tok.typ == end) {
			check_pipeline(p, pipe, context);
			return p->failed ? NULL : pipe;
		}
		switch (tok.typ) {
		case I_BOOL:
		case I_CHAR_CONSTANT:
		case I_COMPLEX:
		case I_DOT:
		case I_FIELD:
		case I_IDENTIFIER:
		case I_NUMBER:
		case I_NIL:
		case I_RAW_STRING:
		case I_STRING:
		case I_VARIABLE:
		case I_LEFT_PAREN: {
			struct node *cmd;

			p_backup(p);
			cmd = p_command(p);
			if (!cmd)
				return NULL;
			list_append(p, &pipe->pipe.cmds, cmd);
			break;
		}
		default:
			p_unexpected(p, &tok, context);
			return NULL;
		}
	}
}

static struct node *p_if_control(struct parser *p);
static struct node *p_with_control(struct parser *p);

/* parseControl: returns the branch node of `type`, or NULL. */
static struct node *p_control(struct parser *p, enum node_type type, const char *context)
{
	size_t mark = p->t->nvars;
	struct node *pipe, *list, *next = NULL, *else_list = NULL, *n;

	if (!depth_enter(p))
		return NULL;
	pipe = p_pipeline(p, context, I_RIGHT_DELIM);
	if (!pipe)
		goto fail;
	if (type == N_RANGE)
		p->t->range_depth++;
	list = p_item_list(p, &next);
	if (type == N_RANGE)
		p->t->range_depth--;
	if (!list)
		goto fail;
	if (next->type == N_ELSE) {
		if (type == N_IF && p_peek(p).typ == I_IF) {
			(void)p_next(p);
			else_list = new_node(p, N_LIST, next->pos);
			n = p_if_control(p);
			if (!n)
				goto fail;
			list_append(p, &else_list->list, n);
		} else if (type == N_WITH && p_peek(p).typ == I_WITH) {
			(void)p_next(p);
			else_list = new_node(p, N_LIST, next->pos);
			n = p_with_control(p);
			if (!n)
				goto fail;
			list_append(p, &else_list->list, n);
		} else {
			else_list = p_item_list(p, &next);
			if (!else_list)
				goto fail;
			if (next->type != N_END) {
				struct buf s = BUF_INIT(4096);

				tmpl__node_string(next, &s);
				p_errorf(p, "expected end; found %s", s.buf);
				buf_release(&s);
				goto fail;
			}
		}
	}
	p->t->nvars = mark;
	p->depth--;
	n = new_node(p, type, pipe->pos);
	n->branch.pipe = pipe;
	n->branch.list = list;
	n->branch.else_list = else_list;
	return n;
fail:
	p->t->nvars = mark;
	p->depth--;
	return NULL;
}

static struct node *p_if_control(struct parser *p)
{
	return p_control(p, N_IF, "if");
}

static struct node *p_with_control(struct parser *p)
{
	return p_control(p, N_WITH, "with");
}

static const char *template_name(struct parser *p, const struct item *tok, const char *context)
{
	struct tmpl_val v;

	switch (tok->typ) {
	case I_STRING:
	case I_RAW_STRING:
		if (unquote(p->a, tok->val, tok->len, &v) < 0) {
			p_errorf(p, "invalid syntax");
			return NULL;
		}
		return v.s.p;
	default:
		p_unexpected(p, tok, context);
		return NULL;
	}
}

static struct node *p_template_control(struct parser *p)
{
	const char *context = "template clause";
	struct item tok = p_next_non_space(p);
	const char *name = template_name(p, &tok, context);
	struct node *pipe = NULL, *n;

	if (!name)
		return NULL;
	if (p_next_non_space(p).typ != I_RIGHT_DELIM) {
		p_backup(p);
		pipe = p_pipeline(p, context, I_RIGHT_DELIM);
		if (!pipe)
			return NULL;
	}
	n = new_node(p, N_TEMPLATE, tok.pos);
	n->tmpl.name.p = name;
	n->tmpl.name.n = strlen(name);
	n->tmpl.pipe = pipe;
	return n;
}

static struct node *p_block_control(struct parser *p)
{
	const char *context = "block clause";
	struct item tok = p_next_non_space(p);
	const char *name = template_name(p, &tok, context);
	struct node *pipe, *end = NULL, *n;
	struct tctx *outer = p->t, bt;
	struct tree *tr;

	if (!name)
		return NULL;
	pipe = p_pipeline(p, context, I_RIGHT_DELIM);
	if (!pipe)
		return NULL;
	if (!depth_enter(p))
		return NULL;
	tr = new_tree(p, name);
	tctx_start(p, &bt, tr);
	tr->root = p_item_list(p, &end);
	if (tr->root && end->type != N_END) {
		struct buf s = BUF_INIT(4096);

		/* Go reports this through the outer tree. */
		p->t = outer;
		tmpl__node_string(end, &s);
		p_errorf(p, "unexpected %s in %s", s.buf, context);
		buf_release(&s);
	}
	if (!p->failed)
		tree_add(p, tr);
	p->t = outer;
	p->depth--;
	if (p->failed)
		return NULL;
	n = new_node(p, N_TEMPLATE, tok.pos);
	n->tmpl.name.p = name;
	n->tmpl.name.n = strlen(name);
	n->tmpl.pipe = pipe;
	return n;
}

static struct node *p_action(struct parser *p)
{
	struct item tok = p_next_non_space(p);
	struct node *n, *pipe;

	switch (tok.typ) {
	case I_BLOCK:
		return p_block_control(p);
	case I_BREAK:
	case I_CONTINUE: {
		const char *what = tok.typ == I_BREAK ? "{{break}}" : "{{continue}}";
		struct item t2 = p_next_non_space(p);

		if (t2.typ != I_RIGHT_DELIM) {
			p_unexpected(p, &t2, what);
			return NULL;
		}
		if (p->t->range_depth == 0) {
			p_errorf(p, "%s outside {{range}}", what);
			return NULL;
		}
		return new_node(p, tok.typ == I_BREAK ? N_BREAK : N_CONTINUE, tok.pos);
	}
	case I_ELSE: {
		struct item peek = p_peek_non_space(p);

		if (peek.typ == I_IF || peek.typ == I_WITH)
			return new_node(p, N_ELSE, peek.pos);
		tok = p_expect(p, I_RIGHT_DELIM, "else");
		if (p->failed)
			return NULL;
		return new_node(p, N_ELSE, tok.pos);
	}
	case I_END:
		tok = p_expect(p, I_RIGHT_DELIM, "end");
		if (p->failed)
			return NULL;
		return new_node(p, N_END, tok.pos);
	case I_IF:
		return p_if_control(p);
	case I_RANGE:
		return p_control(p, N_RANGE, "range");
	case I_TEMPLATE:
		return p_template_control(p);
	case I_WITH:
		return p_with_control(p);
	default:
		break;
	}
	p_backup(p);
	tok = p_peek(p);
	pipe = p_pipeline(p, "command", I_RIGHT_DELIM);
	if (!pipe)
		return NULL;
	n = new_node(p, N_ACTION, tok.pos);
	n->action_pipe = pipe;
	return n;
}

static struct node *p_text_or_action(struct parser *p)
{
	struct item tok = p_next_non_space(p);
	struct node *n;

	switch (tok.typ) {
	case I_TEXT:
		n = new_node(p, N_TEXT, tok.pos);
		n->text.p = tok.val;
		n->text.n = tok.len;
		return n;
	case I_LEFT_DELIM:
		p->t->action_line = tok.line;
		n = p_action(p);
		p->t->action_line = 0;
		return n;
	case I_COMMENT:
		n = new_node(p, N_COMMENT, tok.pos);
		n->text.p = tok.val;
		n->text.n = tok.len;
		return n;
	default:
		p_unexpected(p, &tok, "input");
		return NULL;
	}
}

static struct node *p_item_list(struct parser *p, struct node **ret_next)
{
	struct node *list = new_node(p, N_LIST, p_peek_non_space(p).pos);

	while (p_peek_non_space(p).typ != I_EOF) {
		struct node *n = p_text_or_action(p);

		if (!n)
			return NULL;
		if (n->type == N_END || n->type == N_ELSE) {
			*ret_next = n;
			return list;
		}
		list_append(p, &list->list, n);
	}
	p_errorf(p, "unexpected EOF");
	return NULL;
}

static void p_definition(struct parser *p)
{
	const char *context = "define clause";
	struct item name;
	struct tmpl_val v;
	struct node *end = NULL;
	struct tree *tr;
	struct tctx *outer = p->t, dt;

	tr = new_tree(p, "definition");
	tctx_start(p, &dt, tr);
	name = p_expect_one_of(p, I_STRING, I_RAW_STRING, context);
	if (p->failed)
		goto out;
	if (unquote(p->a, name.val, name.len, &v) < 0) {
		p_errorf(p, "invalid syntax");
		goto out;
	}
	tr->name = v.s.p;
	(void)p_expect(p, I_RIGHT_DELIM, context);
	if (p->failed)
		goto out;
	tr->root = p_item_list(p, &end);
	if (!tr->root)
		goto out;
	if (end->type != N_END) {
		struct buf s = BUF_INIT(4096);

		tmpl__node_string(end, &s);
		p_errorf(p, "unexpected %s in %s", s.buf, context);
		buf_release(&s);
		goto out;
	}
	tree_add(p, tr);
out:
	p->t = outer;
}

/* Go's Tree.parse(): the top level, with {{define}}. */
static void p_top(struct parser *p, struct tree *tr)
{
	tr->root = new_node(p, N_LIST, p_peek(p).pos);
	while (!p->failed && p_peek(p).typ != I_EOF) {
		struct node *n;

		if (p_peek(p).typ == I_LEFT_DELIM) {
			struct item delim = p_next(p);

			if (p_next_non_space(p).typ == I_DEFINE) {
				p_definition(p);
				continue;
			}
			p_backup2(p, delim);
		}
		n = p_text_or_action(p);
		if (!n)
			return;
		if (n->type == N_END || n->type == N_ELSE) {
			struct buf s = BUF_INIT(4096);

			tmpl__node_string(n, &s);
			p_errorf(p, "unexpected %s", s.buf);
			buf_release(&s);
			return;
		}
		list_append(p, &tr->root->list, n);
	}
}

/* Go's associate(): add `tr` to the set unless it is empty and an
 * earlier, non-empty one exists. */
static void associate(struct tmpl_set *s, struct tree *tr)
{
	struct tree *old = tmpl__lookup(s, tr->name);

	if (old && tmpl__empty_tree(tr->root) && old->root)
		return;
	hmap_put(&s->trees, tr->name, tr);
}

int tmpl__parse_top(struct tmpl_set *s, struct tmpl_arena *a, const char *name, const char *text,
		    size_t len, struct tree **ret_top, struct tmpl_error *reterr)
{
	struct parser p = { .set = s, .a = a, .max_depth = s->opts.max_parse_depth };
	struct tctx top;
	struct tree *tr;
	size_t it = 0;
	const char *k;
	void *v;
	int r = 0;

	buf_init(&p.err, 64 << 10);
	hmap_init(&p.trees);
	p.parse_name = tmpl_memdup(a, name, strlen(name));
	p.text = tmpl_memdup(a, text, len);
	p.text_len = len;
	p.lex.input = p.text;
	p.lex.len = len;
	p.lex.line = 1;
	p.lex.start_line = 1;
	p.lex.arena = a;
	p.lex.break_ok = !hmap_get(&s->funcs->map, "break");
	p.lex.continue_ok = !hmap_get(&s->funcs->map, "continue");
	if (!p.max_depth)
		p.max_depth = 1000;
	tr = new_tree(&p, p.parse_name);
	tctx_start(&p, &top, tr);
	p_top(&p, tr);
	if (!p.failed)
		tree_add(&p, tr);
	if (p.failed) {
		tmpl__error_set(reterr, TMPL_ERR_PARSE, p.code, p.err.buf, p.parse_name, p.err_line,
				-1, NULL, NULL, NULL);
		if (reterr) {
			/* The cause: what follows "template: NAME:LINE: ". */
			const char *c = p.err.buf + strlen("template: ") + strlen(p.parse_name);

			c = strchr(c + 1, ':');
			free(reterr->cause);
			reterr->cause = xstrdup(c ? c + 2 : p.err.buf);
		}
		r = p.code;
		goto out;
	}
	while (hmap_next(&p.trees, &it, &k, &v))
		associate(s, v);
	if (ret_top)
		*ret_top = tr;
out:
	hmap_release(&p.trees);
	buf_release(&p.err);
	return r;
}

/* ---------------------------------------------------------------- Node.String() */

static void ident_list(const struct ident *v, size_t n, bool lead_dot, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		if (i > 0 || lead_dot)
			(void)buf_addch(out, '.');
		(void)buf_add(out, v[i].p, v[i].n);
	}
}

static void pipe_string(const struct node *n, struct buf *out)
{
	if (n->pipe.decl.n > 0) {
		for (size_t i = 0; i < n->pipe.decl.n; i++) {
			if (i > 0)
				(void)buf_adds(out, ", ");
			tmpl__node_string(n->pipe.decl.v[i], out);
		}
		(void)buf_adds(out, n->pipe.assign ? " = " : " := ");
	}
	for (size_t i = 0; i < n->pipe.cmds.n; i++) {
		if (i > 0)
			(void)buf_adds(out, " | ");
		tmpl__node_string(n->pipe.cmds.v[i], out);
	}
}

void tmpl__node_string(const struct node *n, struct buf *out)
{
	switch (n->type) {
	case N_TEXT:
		(void)buf_add(out, n->text.p, n->text.n);
		break;
	case N_COMMENT:
		(void)buf_adds(out, "{{");
		(void)buf_add(out, n->text.p, n->text.n);
		(void)buf_adds(out, "}}");
		break;
	case N_LIST:
		for (size_t i = 0; i < n->list.n; i++)
			tmpl__node_string(n->list.v[i], out);
		break;
	case N_PIPE:
		pipe_string(n, out);
		break;
	case N_ACTION:
		(void)buf_adds(out, "{{");
		pipe_string(n->action_pipe, out);
		(void)buf_adds(out, "}}");
		break;
	case N_COMMAND:
		for (size_t i = 0; i < n->list.n; i++) {
			const struct node *arg = n->list.v[i];

			if (i > 0)
				(void)buf_addch(out, ' ');
			if (arg->type == N_PIPE) {
				(void)buf_addch(out, '(');
				pipe_string(arg, out);
				(void)buf_addch(out, ')');
				continue;
			}
			tmpl__node_string(arg, out);
		}
		break;
	case N_IDENT:
		(void)buf_add(out, n->fn.name.p, n->fn.name.n);
		break;
	case N_VARIABLE:
		ident_list(n->ident.v, n->ident.n, false, out);
		break;
	case N_FIELD:
		ident_list(n->ident.v, n->ident.n, true, out);
		break;
	case N_CHAIN:
		if (n->chain.node->type == N_PIPE) {
			(void)buf_addch(out, '(');
			pipe_string(n->chain.node, out);
			(void)buf_addch(out, ')');
		} else {
			tmpl__node_string(n->chain.node, out);
		}
		ident_list(n->chain.v, n->chain.n, true, out);
		break;
	case N_DOT:
		(void)buf_addch(out, '.');
		break;
	case N_NIL:
		(void)buf_adds(out, "nil");
		break;
	case N_BOOL:
		(void)buf_adds(out, n->boolean ? "true" : "false");
		break;
	case N_NUMBER:
		(void)buf_add(out, n->number.text.p, n->number.text.n);
		break;
	case N_STRING:
		(void)buf_add(out, n->str.quoted.p, n->str.quoted.n);
		break;
	case N_END:
		(void)buf_adds(out, "{{end}}");
		break;
	case N_ELSE:
		(void)buf_adds(out, "{{else}}");
		break;
	case N_BREAK:
		(void)buf_adds(out, "{{break}}");
		break;
	case N_CONTINUE:
		(void)buf_adds(out, "{{continue}}");
		break;
	case N_IF:
	case N_RANGE:
	case N_WITH:
		(void)buf_adds(out, n->type == N_IF ? "{{if " : n->type == N_RANGE ? "{{range " : "{{with ");
		pipe_string(n->branch.pipe, out);
		(void)buf_adds(out, "}}");
		tmpl__node_string(n->branch.list, out);
		if (n->branch.else_list) {
			(void)buf_adds(out, "{{else}}");
			tmpl__node_string(n->branch.else_list, out);
		}
		(void)buf_adds(out, "{{end}}");
		break;
	case N_TEMPLATE:
		(void)buf_adds(out, "{{template ");
		(void)tmpl_quote(out, n->tmpl.name.p, n->tmpl.name.n);
		if (n->tmpl.pipe) {
			(void)buf_addch(out, ' ');
			pipe_string(n->tmpl.pipe, out);
		}
		(void)buf_adds(out, "}}");
		break;
	}
}
