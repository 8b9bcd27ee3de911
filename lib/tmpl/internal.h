/*
 * internal.h: what the files of lib/tmpl share (parse trees, the function
 * registry, sets, the executor's state).  Not for other modules: they use
 * tmpl.h.
 *
 * PARSE TREES
 * One struct node per Go parse.Node, with Go's node types and fields; a
 * node points at its tree (for error locations, which Go computes from the
 * byte position in the tree's text) and all of it lives in the set's arena
 * (or, for text parsed by tpl, in the execution's arena).  Lists of nodes
 * are arrays.  String literals carry their ready-made TMPL_STRING value.
 */
#ifndef CFLUX_TMPL_INTERNAL_H
#define CFLUX_TMPL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/hmap.h"
#include "base/unicode.h"
#include "base/utf8.h"
#include "tmpl/tmpl.h"

/* ---- values (value.c) ---- */

/* Zero value of a list/map element type (TMPL_INVALID and TMPL_NIL: nil). */
struct tmpl_val tmpl__zero(enum tmpl_kind k);

/* Go's %T name of a plain kind ("int", "float64", "[]uint8", ...). */
const char *tmpl__kind_type_name(enum tmpl_kind k);

/* Bytewise key order (memcmp, then length). */
int tmpl__keycmp(const char *a, size_t an, const char *b, size_t bn);

/* A point in an arena's life, and the way back to it: rollback frees
 * everything allocated or adopted since the mark (a failed parse leaves
 * nothing behind, without an arena of its own that would strand the unused
 * part of its last chunk). */
struct tmpl__arena_mark {
	void *cur, *full, *adopted;
	size_t off, used;
};
void tmpl__arena_mark(const struct tmpl_arena *a, struct tmpl__arena_mark *m);
void tmpl__arena_rollback(struct tmpl_arena *a, const struct tmpl__arena_mark *m);

/* ---- parse trees (parse.c) ---- */

enum node_type {
	N_TEXT,
	N_ACTION,
	N_BOOL,
	N_CHAIN,
	N_COMMAND,
	N_DOT,
	N_ELSE, /* parser only */
	N_END,  /* parser only */
	N_FIELD,
	N_IDENT,
	N_IF,
	N_LIST,
	N_NIL,
	N_NUMBER,
	N_PIPE,
	N_RANGE,
	N_STRING,
	N_TEMPLATE,
	N_VARIABLE,
	N_WITH,
	N_COMMENT,
	N_BREAK,
	N_CONTINUE,
};

struct tree;
struct node;

/* A name: a field, a variable part, an identifier. */
struct ident {
	const char *p; /* NUL-terminated */
	size_t n;
};

struct node_list {
	struct node **v;
	size_t n;
};

struct number {
	bool is_int, is_uint, is_float, is_complex;
	int64_t i;
	uint64_t u;
	double f;
	double re, im; /* complex */
};

struct node {
	enum node_type type;
	uint32_t pos; /* byte offset in tr->text */
	struct tree *tr;
	union {
		/* N_TEXT, N_COMMENT: the bytes (text) or the comment with its
		 * markers (comment). */
		struct {
			const char *p;
			size_t n;
		} text;
		/* N_LIST: nodes; N_COMMAND: arguments. */
		struct node_list list;
		/* N_PIPE */
		struct {
			bool assign;
			struct node_list decl; /* N_VARIABLE */
			struct node_list cmds; /* N_COMMAND */
		} pipe;
		/* N_ACTION */
		struct node *action_pipe;
		/* N_IF, N_RANGE, N_WITH */
		struct {
			struct node *pipe;
			struct node *list;
			struct node *else_list; /* or NULL */
		} branch;
		/* N_FIELD (.A.B: ident = A, B), N_VARIABLE ($x.A: ident = $x, A) */
		struct {
			struct ident *v;
			size_t n;
		} ident;
		/* N_CHAIN: (node).A.B */
		struct {
			struct node *node;
			struct ident *v;
			size_t n;
		} chain;
		/* N_IDENT: a function, resolved at parse time. */
		struct {
			struct ident name;
			const struct tmpl__func *fn;
		} fn;
		/* N_BOOL */
		bool boolean;
		/* N_NUMBER: the text as written, and its values (apart: few
		 * nodes are numbers, and inline they would size every node). */
		struct {
			struct ident text;
			struct number *num;
		} number;
		/* N_STRING: the quoted text as written, and the value. */
		struct {
			struct ident quoted;
			struct tmpl_val val;
		} str;
		/* N_TEMPLATE: {{template "name" pipe}} (pipe may be NULL) */
		struct {
			struct ident name;
			struct node *pipe;
		} tmpl;
	};
};

struct tree {
	const char *name;       /* the template's name */
	const char *parse_name; /* the file being parsed (for error locations) */
	const char *text;       /* that file's whole text */
	size_t text_len;
	struct node *root;      /* N_LIST */
};

/* Whether a tree holds nothing but spaces and comments (parse.IsEmptyTree). */
bool tmpl__empty_tree(const struct node *n);

/* Go's Node.String() of `n`, appended to `out`. */
void tmpl__node_string(const struct node *n, struct buf *out);

/*
 * Parse `text` as template `name` into the trees of `s` (with its parent's
 * definitions visible for associate()); trees and nodes in `a`.  The
 * tmpl_set_parse() contract; *ret_top (if not NULL) gets the text's own
 * top-level tree, whether or not associate() kept it (Go executes it
 * anyway: tpl).
 */
int tmpl__parse_top(struct tmpl_set *s, struct tmpl_arena *a, const char *name, const char *text,
		    size_t len, struct tree **ret_top, struct tmpl_error *reterr);

/* ---- functions (funcs.c) ---- */

enum builtin {
	BI_NONE = 0,
	BI_AND,
	BI_OR,
	BI_CALL,
	BI_NOT,
	BI_LEN,
	BI_INDEX,
	BI_SLICE,
	BI_PRINT,
	BI_PRINTF,
	BI_PRINTLN,
	BI_HTML,
	BI_JS,
	BI_URLQUERY,
	BI_EQ,
	BI_NE,
	BI_LT,
	BI_LE,
	BI_GT,
	BI_GE,
};

/* Parameter types ("params" letters of tmpl_funcs_add()). */
enum ptype {
	P_ANY = 'v',
	P_STRING = 's',
	P_INT = 'i',
	P_INT64 = 'I',
	P_FLOAT = 'f',
	P_BOOL = 'b',
	P_UINT64 = 'u',
	P_MAP = 'm',
	P_LIST = 'l',
	P_VALUE = 'r', /* reflect.Value: builtins only; keeps "no value" as is */
};

#define TMPL_MAX_PARAMS 16

struct tmpl__func {
	const char *name;
	tmpl_fn fn;           /* NULL for a builtin or a method */
	tmpl_method_fn method; /* methods only */
	void *payload;
	enum builtin builtin;
	unsigned nparams;    /* including the variadic one */
	bool variadic;
	char types[TMPL_MAX_PARAMS];
};

struct tmpl_funcs {
	struct hmap map; /* name -> struct tmpl__func (owned) */
};

/* Parse a params spec into f (nparams, variadic, types).  0 or -EINVAL. */
int tmpl__parse_params(const char *params, struct tmpl__func *f);

/* Go's type name of a parameter type ("string", "map[string]interface {}"). */
const char *tmpl__ptype_name(char t);

/* ---- sets (set.c) ---- */

struct tmpl_set {
	const struct tmpl_funcs *funcs;
	const struct tmpl_set *parent; /* overlay of (tpl), or NULL */
	const char *root_name;
	struct tmpl_set_opts opts;
	struct tmpl_arena *arena; /* owned unless an overlay */
	bool owns_arena;
	struct hmap trees; /* name -> struct tree */
	size_t text_bytes;
};

/* The tree named `name` in `s` or its parents, or NULL. */
struct tree *tmpl__lookup(const struct tmpl_set *s, const char *name);

/* An overlay of `parent` allocating in `a` (not owned); free with tmpl_set_free. */
struct tmpl_set *tmpl__overlay(const struct tmpl_set *parent, struct tmpl_arena *a);

/* ---- errors ---- */

/* Fill `e` (if not NULL) from the parts; msg is built by the caller. */
void tmpl__error_set(struct tmpl_error *e, enum tmpl_error_kind kind, int code, const char *msg,
		     const char *name, int line, int col, const char *tmpl, const char *context,
		     const char *cause);

/* Line (1-based) and Go's column of byte `pos` in `text`. */
void tmpl__position(const char *text, size_t pos, int *line, int *col);

/* ---- fmt (fmt.c) ---- */

/* Go's fmt %v of one value (what print uses); depth for cycles. */
int tmpl__fmt_value(struct buf *out, const struct tmpl_val *v, char verb, bool plus, bool sharp);

/*
 * Go's unicode package for one code point: lib/base/unicode.h under the
 * names lib/tmpl (and Sprig's files) use.
 */
static inline bool tmpl__is_print(uint32_t r)
{
	return uni_is_print(r);
}

static inline bool tmpl__is_graphic(uint32_t r)
{
	return uni_is_graphic(r);
}

static inline bool tmpl__is_letter(uint32_t r)
{
	return uni_is_letter(r);
}

static inline bool tmpl__is_digit(uint32_t r)
{
	return uni_is_digit(r);
}

static inline bool tmpl__is_space(uint32_t r)
{
	return uni_is_space(r);
}

static inline bool tmpl__is_upper(uint32_t r)
{
	return uni_is_upper(r);
}

static inline bool tmpl__is_lower(uint32_t r)
{
	return uni_is_lower(r);
}

static inline bool tmpl__is_title(uint32_t r)
{
	return uni_is_title(r);
}

static inline bool tmpl__is_punct(uint32_t r)
{
	return uni_is_punct(r);
}

static inline bool tmpl__is_mark(uint32_t r)
{
	return uni_is_mark(r);
}

static inline bool tmpl__is_number(uint32_t r)
{
	return uni_is_number(r);
}

static inline bool tmpl__is_symbol(uint32_t r)
{
	return uni_is_symbol(r);
}

/* unicode.To(which, r): which 0 = upper, 1 = lower, 2 = title. */
static inline uint32_t tmpl__to_case(int which, uint32_t r)
{
	return uni_to_case(which, r);
}

/* ---- the data functions (data.c) ---- */

/* The builtins of funcs.c and data.c's functions, registered into `f`. */
void tmpl__funcs_add_builtins(struct tmpl_funcs *f);

#endif
