/*
 * tmpl.h: Go's text/template, exactly, in C (lib/tmpl).
 *
 * What `helm template` runs, reproduced byte for byte: the lexer and parser
 * of text/template/parse, the executor of text/template (Go 1.26), Go's fmt
 * as templates use it, and the data-format functions Helm adds (toYaml,
 * fromYaml, toJson, fromJson, toToml, ...).  Sprig (lib/tmpl/sprig_*.c) and
 * Helm (lib/helm) register their functions through this header.
 *
 * THE PIECES
 *   struct tmpl_arena   memory for values (one per render; freed at once)
 *   struct tmpl_val     a value as a template sees it (Go's kinds)
 *   struct tmpl_funcs   a function registry (Go's FuncMap plus builtins)
 *   struct tmpl_set     a namespace of parsed templates (Go's *Template)
 *   tmpl_exec()         execute one template of a set into a buffer
 *   struct tmpl_ctx     what a function sees while it runs
 *
 * A typical render (what lib/helm does):
 *
 *	tmpl_funcs_new(&f);                  // Go's builtins
 *	tmpl_funcs_add_data(f);              // toYaml, fromJson, ...
 *	tmpl_funcs_add_sprig(f);             // lib/tmpl/sprig_*.c
 *	tmpl_funcs_remove(f, "env"); ...     // then Helm's include, tpl, ...
 *	tmpl_set_new(f, &opts, &set);
 *	for each file in Helm's order: tmpl_set_parse(set, name, text, len, &err);
 *	tmpl_arena_new(max_bytes, &arena);
 *	tmpl_from_json(arena, values_json, 0, &values);   // data to render
 *	for each file: tmpl_exec(set, name, data, &xopts, &out, &err);
 *	tmpl_arena_free(arena); tmpl_set_free(set); tmpl_funcs_free(f);
 *
 * MEMORY: AN ARENA PER RENDER
 * Values live in a struct tmpl_arena and are never freed one by one: the
 * whole arena goes at once (tmpl_arena_free).  So functions build values
 * freely, share sub-values by pointer (as Go shares maps and slices), and
 * cycles (`set $d "self" $d`) cost nothing.  The rules:
 *  - a value may point into its own arena, into a longer-lived arena, into
 *    the set it was produced by (string literals) or into static memory;
 *  - every execution allocates in the arena its caller names
 *    (tmpl_exec_opts.arena); maps are mutable and shared (Go's reference
 *    semantics: `set .Values "k" 1` changes .Values for every later reader),
 *    so data that templates may change must live in that same arena (or in
 *    one that outlives it and is never mutated);
 *  - keep the arena and the set alive while you use values from them.
 * An arena has a byte budget.  Allocation itself never fails (out of memory
 * aborts, alloc.h); the executor checks the budget between steps and after
 * every function call and stops with "memory limit exceeded".  A function
 * about to allocate an amount derived from its input (`repeat 1e9 "x"`)
 * asks tmpl_ctx_reserve() first, so a hostile size is a clean error.
 *
 * VALUES
 * struct tmpl_val is 32 bytes, passed and returned by value.  Scalars are
 * inline; strings are (pointer, length) with a NUL after the bytes (Go
 * strings may contain NUL: always use the length); lists and maps point to
 * arena objects.  `type` names a Go named type (chartutil.Values, files,
 * *chartutil.Capabilities, ...) and supplies its methods and fields; NULL
 * means the kind's plain Go type.  Kinds, and how they print with %T:
 *
 *   TMPL_INVALID  reflect's zero Value: a missing key, "no value";
 *                 prints "<no value>", %T "<nil>"
 *   TMPL_NIL      a nil interface{} (what a function gets for a missing
 *                 value, or returns as nil); a pipeline turns it into
 *                 TMPL_INVALID; %v "<nil>"
 *   TMPL_BOOL     bool
 *   TMPL_INT      int (64-bit, as on amd64): number literals, len, until
 *   TMPL_INT64    int64: sprig arithmetic
 *   TMPL_INT32    int32 (rune)
 *   TMPL_UINT     uint
 *   TMPL_UINT8    uint8 (byte): `index "abc" 0`
 *   TMPL_UINT64   uint64
 *   TMPL_FLOAT64  float64: every number that came from YAML or JSON values
 *   TMPL_STRING   string
 *   TMPL_BYTES    []byte (.Files.GetBytes); %v prints "[104 105]"
 *   TMPL_LIST     a slice; l->elem says which: TMPL_NIL []interface {},
 *                 TMPL_STRING []string, TMPL_INT []int, ...
 *                 l == NULL is a nil slice (length 0)
 *   TMPL_MAP      a map with string keys; m->elem as for lists:
 *                 map[string]interface {}, map[string]string, files
 *                 (map[string][]byte).  m == NULL is a nil map.
 *                 Iteration and printing use Go's sorted key order.
 *   TMPL_OBJ      a named struct or pointer (`type` is required): fields
 *                 and methods from the type; o is the type's own data.
 *   TMPL_COMPLEX128  complex128 (number literals like 1+2i); c.re, c.im
 *
 * Numbers keep their Go type because templates see it: `eq .Values.n 3`
 * (float64 vs int) is an error, `%d` of a float64 prints "%!d(float64=3)",
 * typeOf prints "float64".
 *
 * FUNCTIONS
 * A function is a C callback with a parameter spec (Go's parameter types,
 * which drive Go's argument checks and literal conversions, see
 * tmpl_funcs_add()).  It gets evaluated, checked arguments and returns one
 * value, or fails with a message (Go's "error calling NAME: MSG").  Through
 * the struct tmpl_ctx it can execute a named template (Helm's include),
 * parse and execute new text in the caller's namespace (tpl), and read the
 * limits.
 *
 * ERRORS
 * Parse and execution errors carry Go's exact text:
 *   template: x.yaml:3: function "foo" not defined
 *   template: x.yaml:3:10: executing "x.yaml" at <.Values.a.b>: nil pointer
 *     evaluating interface {}.b
 * in a struct tmpl_error, with the pieces (kind, location, cause) beside it
 * so Helm can rewrite them as it does (cleanupParseError/cleanupExecError).
 *
 * LIMITS
 * Parse: nesting depth of control structures and parentheses
 * (tmpl_set_opts).  Execution: a budget of steps (actions, commands,
 * function calls, range iterations), a depth of template/include/tpl
 * nesting, a cap on the output, and the arena's bytes.  Each is a clear
 * error in Go's exec-error shape (with the location), never a hang or a
 * crash: `{{range until 100000000}}` or a runaway tpl stops at the budget.
 *
 * THREADS
 * A set and a registry are read-only once built and may be shared by
 * executions on several threads (each with its own arena).  An arena and a
 * ctx belong to one thread.  Nothing here logs or keeps global state.
 */
#ifndef CFLUX_TMPL_TMPL_H
#define CFLUX_TMPL_TMPL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/macro.h"

/* ---------------------------------------------------------------- arena */

struct tmpl_arena;

/*
 * A new, empty arena that may hold up to `max_bytes` (0: 1 GiB).  Never
 * fails (out of memory aborts); returns the arena.
 */
struct tmpl_arena *tmpl_arena_new(size_t max_bytes);

/* Free the arena and every value in it.  Accepts NULL; returns NULL. */
struct tmpl_arena *tmpl_arena_free(struct tmpl_arena *a);

/*
 * `n` zeroed bytes, 16-byte aligned, freed with the arena.  Never returns
 * NULL.  Counts against the budget even past it (see the top comment): the
 * executor notices at its next check.
 */
void *tmpl_alloc(struct tmpl_arena *a, size_t n);

/* A copy of `n` bytes at `p` plus a NUL, freed with the arena. */
char *tmpl_memdup(struct tmpl_arena *a, const void *p, size_t n);

/*
 * Hand `p` (from malloc) to the arena, which frees it with itself and
 * counts `size` bytes against the budget.  Used to keep a big buffer
 * without copying it (tmpl_str_buf()).
 */
void tmpl_arena_adopt(struct tmpl_arena *a, void *p, size_t size);

/* Bytes allocated so far, and the budget. */
size_t tmpl_arena_used(const struct tmpl_arena *a);
size_t tmpl_arena_max(const struct tmpl_arena *a);

/* ---------------------------------------------------------------- values */

enum tmpl_kind {
	TMPL_INVALID = 0,
	TMPL_NIL,
	TMPL_BOOL,
	TMPL_INT,
	TMPL_INT64,
	TMPL_INT32,
	TMPL_UINT,
	TMPL_UINT8,
	TMPL_UINT64,
	TMPL_FLOAT64,
	TMPL_STRING,
	TMPL_BYTES,
	TMPL_LIST,
	TMPL_MAP,
	TMPL_OBJ,
	TMPL_COMPLEX128,
};

struct tmpl_type;
struct tmpl_list;
struct tmpl_map;

struct tmpl_val {
	enum tmpl_kind kind;
	/*
	 * Internal to the executor (whether the value came out of an
	 * interface{} container, which changes a few error texts).  Functions
	 * leave it 0 in what they return.
	 */
	uint32_t boxed;
	/* A named type (methods, fields, %T name), or NULL for the plain kind. */
	const struct tmpl_type *type;
	union {
		bool b;            /* BOOL */
		int64_t i;         /* INT, INT64, INT32 */
		uint64_t u;        /* UINT, UINT8, UINT64 */
		double f;          /* FLOAT64 */
		struct {
			const char *p; /* never NULL; p[n] == '\0' */
			size_t n;
		} s;               /* STRING, BYTES */
		struct tmpl_list *l; /* LIST; NULL: nil slice */
		struct tmpl_map *m;  /* MAP; NULL: nil map */
		void *o;             /* OBJ: the type's data */
		struct {
			double re, im;
		} c;                 /* COMPLEX128 */
	};
};

/* A slice.  Read freely; build with tmpl_list_new()/tmpl_list_push(). */
struct tmpl_list {
	enum tmpl_kind elem; /* element type: TMPL_NIL for interface{} */
	size_t n;
	size_t alloc;
	struct tmpl_val *v;
};

struct tmpl_map_entry {
	const char *key; /* NUL after klen bytes */
	size_t klen;
	struct tmpl_val v;
};

/*
 * A map with string keys, entries sorted bytewise by key (Go's fmtsort
 * order for string keys: what range and printing use).  Read freely;
 * change only with tmpl_map_set()/tmpl_map_del() (which keep the order).
 */
struct tmpl_map {
	enum tmpl_kind elem; /* element type: TMPL_NIL for interface{} */
	size_t n;
	size_t alloc;
	struct tmpl_map_entry *e;
	struct tmpl_arena *arena; /* where the map grows */
};

static inline struct tmpl_val tmpl_invalid(void)
{
	struct tmpl_val v = { .kind = TMPL_INVALID };
	return v;
}

static inline struct tmpl_val tmpl_nil(void)
{
	struct tmpl_val v = { .kind = TMPL_NIL };
	return v;
}

static inline struct tmpl_val tmpl_bool(bool b)
{
	struct tmpl_val v = { .kind = TMPL_BOOL, .b = b };
	return v;
}

/* Go int. */
static inline struct tmpl_val tmpl_int(int64_t i)
{
	struct tmpl_val v = { .kind = TMPL_INT, .i = i };
	return v;
}

static inline struct tmpl_val tmpl_int64(int64_t i)
{
	struct tmpl_val v = { .kind = TMPL_INT64, .i = i };
	return v;
}

static inline struct tmpl_val tmpl_uint64(uint64_t u)
{
	struct tmpl_val v = { .kind = TMPL_UINT64, .u = u };
	return v;
}

static inline struct tmpl_val tmpl_float(double f)
{
	struct tmpl_val v = { .kind = TMPL_FLOAT64, .f = f };
	return v;
}

/* A string pointing at `s` without copying: static or longer-lived memory
 * with s[n] == '\0'. */
static inline struct tmpl_val tmpl_str_ref(const char *s, size_t n)
{
	struct tmpl_val v = { .kind = TMPL_STRING, .s = { s, n } };
	return v;
}

/* A copy of `n` bytes at `s` as a string in `a`. */
struct tmpl_val tmpl_str(struct tmpl_arena *a, const char *s, size_t n);

/* tmpl_str(a, s, strlen(s)). */
struct tmpl_val tmpl_strz(struct tmpl_arena *a, const char *s);

/* A string of what printf formats, in `a`. */
struct tmpl_val tmpl_strf(struct tmpl_arena *a, const char *fmt, ...) _printf_(2, 3);

/*
 * The bytes of `b` as a string in `a`: a big buffer's memory is adopted by
 * the arena (no copy), a small one is copied and freed.  Either way `b`
 * is left empty, holding no memory, with its maximum kept.
 */
struct tmpl_val tmpl_str_buf(struct tmpl_arena *a, struct buf *b);

/* A copy of `n` bytes as a []byte. */
struct tmpl_val tmpl_bytes(struct tmpl_arena *a, const void *p, size_t n);

/*
 * A new list of `n` elements of type `elem` (TMPL_NIL: []interface{}),
 * each set to the element type's zero value, with room for `cap` (>= n).
 */
struct tmpl_list *tmpl_list_new(struct tmpl_arena *a, enum tmpl_kind elem, size_t n, size_t cap);

/* Append `v` to `l` (growing it in `a`).  For building; lists that a
 * template has seen are not changed in place (Go's append copies). */
void tmpl_list_push(struct tmpl_arena *a, struct tmpl_list *l, struct tmpl_val v);

/* The value of a list / map (type NULL: the plain Go type). */
static inline struct tmpl_val tmpl_list_val(struct tmpl_list *l)
{
	struct tmpl_val v = { .kind = TMPL_LIST, .l = l };
	return v;
}

static inline struct tmpl_val tmpl_map_val(struct tmpl_map *m)
{
	struct tmpl_val v = { .kind = TMPL_MAP, .m = m };
	return v;
}

/* A new empty map with elements of type `elem` (TMPL_NIL: interface{}). */
struct tmpl_map *tmpl_map_new(struct tmpl_arena *a, enum tmpl_kind elem);

/* The value under `key` (klen bytes), or NULL.  Binary search. */
struct tmpl_val *tmpl_map_get(const struct tmpl_map *m, const char *key, size_t klen);

/* Set `key` to `v`, copying the key into the map's arena; keeps the order. */
void tmpl_map_set(struct tmpl_map *m, const char *key, size_t klen, struct tmpl_val v);

/* Remove `key`; returns whether it was there. */
bool tmpl_map_del(struct tmpl_map *m, const char *key, size_t klen);

/* len(): strings and []byte in bytes, lists, maps; 0 for anything else. */
size_t tmpl_len(const struct tmpl_val *v);

/*
 * Go's template truth (isTrue): false for invalid, nil, false, 0, 0.0, ""
 * and empty lists and maps; true for everything else, structs included.
 * Also sprig's `empty` (negated).
 */
bool tmpl_truth(const struct tmpl_val *v);

/* The kind's class for comparisons and conversions. */
static inline bool tmpl_is_int(enum tmpl_kind k)
{
	return k == TMPL_INT || k == TMPL_INT64 || k == TMPL_INT32;
}

static inline bool tmpl_is_uint(enum tmpl_kind k)
{
	return k == TMPL_UINT || k == TMPL_UINT8 || k == TMPL_UINT64;
}

/*
 * The Go type name as %T prints it: "int", "float64", "[]interface {}",
 * "map[string]interface {}", "chartutil.Values", "<nil>" for invalid/nil.
 * Static or type-owned memory.
 */
const char *tmpl_type_name(const struct tmpl_val *v);

/*
 * reflect.Kind's name as sprig's kindOf prints it: "string", "int",
 * "float64", "slice", "map", "ptr", "struct", "bool", "invalid".
 */
const char *tmpl_kind_name(const struct tmpl_val *v);

/*
 * reflect.DeepEqual(a, b) as sprig's deepEqual/uniq/has/without use it:
 * same Go type and equal contents (int 1 != int64 1 != "1").  Nested
 * deeper than 10 000 levels compares unequal.
 */
bool tmpl_deep_equal(const struct tmpl_val *a, const struct tmpl_val *b);

/* ---------------------------------------------------------------- cJSON */

enum tmpl_json_flags {
	/*
	 * Integral numbers that fit become int64 (what JSON from the API
	 * server gives `lookup`); without it every number is float64, as
	 * values read through sigs.k8s.io/yaml are.
	 */
	TMPL_JSON_INT64 = 1 << 0,
};

/*
 * A cJSON tree as a template value in `a`: objects become
 * map[string]interface{}, arrays []interface{}, numbers float64 (see
 * flags; raw big integers from lib/yj too), strings, bools, null a nil
 * interface.  Nothing is shared with `j`.  0, or -E2BIG past 10 000 levels.
 */
int tmpl_from_json(struct tmpl_arena *a, const cJSON *j, unsigned flags, struct tmpl_val *ret);

/*
 * A value as Go's encoding/json.Marshal would see it, as a new cJSON tree
 * (caller frees): maps with sorted keys, []byte as base64, invalid UTF-8
 * replaced by U+FFFD, integers that a double cannot hold as raw items,
 * objects through their type's to_json.  On failure (NaN or infinity:
 * "json: unsupported value: NaN", cycles, or a type without to_json)
 * returns -EINVAL with Go's message in reterr.
 */
int tmpl_to_json(const struct tmpl_val *v, cJSON **ret, struct op_err *reterr);

/* ---------------------------------------------------------------- fmt */

/*
 * Go's fmt, as templates use it.  Each appends to `out` (whose maximum
 * bounds the output: -EFBIG past it) and returns 0 or a negative errno;
 * nesting deeper than 10 000 levels (a map containing itself) is -ELOOP.
 *
 * tmpl_sprintf  fmt.Sprintf: verbs %v %+v %#v %T %% %t %b %c %d %o %O %q
 *               %x %X %U %e %E %f %F %g %G %s %p, width, precision (also
 *               `*`), flags "+-# 0", argument indexes ([n]), and Go's
 *               error forms (%!d(string=x), %!s(MISSING),
 *               %!(EXTRA int=1), %!(BADWIDTH), ...).
 * tmpl_sprint   fmt.Sprint: a space between operands when neither is a
 *               string.
 * tmpl_sprintln fmt.Sprintln: spaces always, and a final newline.
 * tmpl_print_value  what {{ . }} prints: %v, and "<no value>" for invalid.
 */
int tmpl_sprintf(struct buf *out, const char *format, size_t flen, const struct tmpl_val *args,
		 size_t nargs);
int tmpl_sprint(struct buf *out, const struct tmpl_val *args, size_t nargs);
int tmpl_sprintln(struct buf *out, const struct tmpl_val *args, size_t nargs);
int tmpl_print_value(struct buf *out, const struct tmpl_val *v);

/* strconv.Quote: Go's double-quoted string, printable Unicode kept. */
int tmpl_quote(struct buf *out, const char *s, size_t n);

/*
 * strconv.FormatFloat(v, fmt, prec, bits): fmt one of 'e' 'E' 'f' 'g' 'G',
 * prec -1 for the shortest digits that read back; bits 32 or 64.
 */
int tmpl_format_float(struct buf *out, double v, char fmt, int prec, int bits);

/* ---------------------------------------------------------------- types */

struct tmpl_ctx;

/*
 * A method of a named type.  `self` is the receiver; the rest as for
 * functions (tmpl_fn).  Methods are found before fields and map keys, so
 * a method named like a key hides the key (`.Values.Table`).
 */
typedef int (*tmpl_method_fn)(struct tmpl_ctx *ctx, const struct tmpl_val *self,
			      const struct tmpl_val *args, size_t nargs, struct tmpl_val *ret);

struct tmpl_method {
	const char *name;
	const char *params; /* as for tmpl_funcs_add() */
	tmpl_method_fn fn;
};

/*
 * A Go named type.  Static data, usually: define one per Go type.
 *
 * name       %T text: "chartutil.Values", "*chartutil.Capabilities",
 *            "engine.files", "time.Time", "*semver.Version".
 * kind       reflect kind for kindOf: "map", "slice", "ptr", "struct".
 * methods    n_methods entries, looked up by name before anything else.
 * field      TMPL_OBJ only: the field `name` of `self` in *ret and 0, or
 *            -ENOENT (Go: "can't evaluate field X in type T").  Fields
 *            do not take arguments.  May be NULL (no fields).
 * string     the String() (or Error()) method, if the Go type has one:
 *            append the text to `out`.  fmt uses it for %v %s %q %x %X,
 *            and Sprig's toString.  0 or -EFBIG.
 * gofmt      for a type without String(): what printf's %v (plus = 1:
 *            %+v) prints, e.g. "&{v1.20.0 1 20}" for a pointer to a
 *            struct.  {{ . }} prints a pointer's target, as Go's
 *            printableValue does: the executor drops the leading '&' of
 *            a "ptr" kind.  NULL prints "{}".
 * to_json    json.Marshal's view of the value as a new cJSON tree, for
 *            toJson/toYaml (struct fields in declaration order, by their
 *            JSON tags).  NULL: not marshalable ("{}" for a struct).
 * data_size  unused by lib/tmpl; types may record what they need.
 */
struct tmpl_type {
	const char *name;
	const char *kind;
	const struct tmpl_method *methods;
	size_t n_methods;
	int (*field)(struct tmpl_ctx *ctx, const struct tmpl_val *self, const char *name,
		     struct tmpl_val *ret);
	int (*string)(const struct tmpl_val *self, struct buf *out);
	int (*gofmt)(const struct tmpl_val *self, int plus, struct buf *out);
	cJSON *(*to_json)(const struct tmpl_val *self);
	size_t data_size;
};

/* An object value of `type` (kind TMPL_OBJ) with data `o`. */
static inline struct tmpl_val tmpl_obj(const struct tmpl_type *type, void *o)
{
	struct tmpl_val v = { .kind = TMPL_OBJ, .type = type, .o = o };
	return v;
}

/* `v` as the named type `type` (same kind and data): Values, files, ... */
static inline struct tmpl_val tmpl_named(struct tmpl_val v, const struct tmpl_type *type)
{
	v.type = type;
	return v;
}

/* ---------------------------------------------------------------- functions */

/*
 * A template function.  `args` are the evaluated arguments, checked and
 * converted by the executor against the function's parameter spec (so a
 * "s" parameter is always a TMPL_STRING, an "i" always a TMPL_INT, a "v"
 * anything but TMPL_INVALID: a missing value arrives as TMPL_NIL).
 * `payload` is what was registered with the function.
 *
 * On success store the result in *ret and return 0.  A result of TMPL_NIL
 * (a nil interface{}) becomes "no value" in the pipeline, as in Go.
 * Strings, lists and maps returned must live in tmpl_ctx_arena(ctx), or
 * be arguments (or parts of them), or static.
 *
 * On failure return a negative errno after tmpl_ctx_errorf() (or after a
 * failed tmpl_ctx_* call, which has set the message): execution stops
 * with "error calling NAME: MSG", as Go reports a function's error or
 * panic.
 */
typedef int (*tmpl_fn)(struct tmpl_ctx *ctx, const struct tmpl_val *args, size_t nargs,
		       struct tmpl_val *ret, void *payload);

struct tmpl_funcs;

/*
 * A registry holding Go's builtins: and or not len index slice print
 * printf println html js urlquery call eq ne lt le gt ge.  Never fails.
 */
struct tmpl_funcs *tmpl_funcs_new(void);

/* Free a registry (after every set using it).  Accepts NULL; returns NULL. */
struct tmpl_funcs *tmpl_funcs_free(struct tmpl_funcs *f);

/*
 * Register `fn` as `name`, replacing a function of that name (a FuncMap
 * entry overrides a builtin: sprig's `slice` replaces Go's).  `name` and
 * `params` must be static (or outlive the registry).
 *
 * `params` gives Go's parameter types, one letter each:
 *   v  interface{}        anything; a missing value becomes nil
 *   s  string             i  int        I  int64       f  float64
 *   b  bool               u  uint64
 *   m  map[string]interface{} (chartutil.Values and other named maps of
 *      that shape are accepted and arrive without their name, as Go
 *      converts them)
 *   l  []interface{}
 * and a final '*' makes the last letter variadic ("sv*" is
 * (string, ...interface{})).  The executor applies Go's rules: argument
 * counts ("wrong number of args for NAME: want 2 got 1"), literals
 * converted to the parameter type ("expected integer; found \"x\""),
 * computed values only if assignable ("wrong type for value; expected
 * int; got float64"), a missing value for a non-nillable parameter
 * ("invalid value; expected string"), nil only where Go allows it.
 *
 * Returns 0, or -EINVAL for a bad name or spec.
 */
int tmpl_funcs_add(struct tmpl_funcs *f, const char *name, const char *params, tmpl_fn fn,
		   void *payload);

/* Remove `name` (Helm removes sprig's env and expandenv).  -ENOENT if absent. */
int tmpl_funcs_remove(struct tmpl_funcs *f, const char *name);

/* Whether `name` is registered (builtins included). */
bool tmpl_funcs_has(const struct tmpl_funcs *f, const char *name);

/*
 * Helm's data-format functions (data.c), as Helm v3.21 defines them:
 * toYaml fromYaml fromYamlArray toJson fromJson fromJsonArray toToml.
 * Helm v3.21 has no mustToYaml (v4 adds it) and mustToJson is Sprig's
 * (json.Marshal; tmpl_to_json_text() does it).  Not yet here: toYamlPretty
 * (go-yaml v3's printer) and fromToml; a template using them fails to
 * parse ("function not defined") rather than print something else.
 */
void tmpl_funcs_add_data(struct tmpl_funcs *f);

/*
 * Every Sprig function Helm offers (sprig.TxtFuncMap() minus env and
 * expandenv), from lib/tmpl/sprig_*.c.  Defined by the sprig files; the
 * data functions above override sprig's toJson/fromJson, so call
 * tmpl_funcs_add_data() after this.
 */
void tmpl_funcs_add_sprig(struct tmpl_funcs *f);

/* ---------------------------------------------------------------- sets */

struct tmpl_set;

struct tmpl_set_opts {
	/*
	 * The name of the set's root template: what Go's errors call the
	 * namespace ("no template %q associated with template %q") and what
	 * tmpl_ctx_tpl() names the text it parses.  Helm: "gotpl".
	 */
	const char *root_name;
	/* Nesting of {{if}}/{{range}}/{{with}}/{{define}} and of parentheses
	 * (Go allows 10 000 parentheses; each level costs C stack). */
	unsigned max_parse_depth;
	/* Bytes of template text per parse, and in all. */
	size_t max_text_bytes;
};
#define TMPL_SET_OPTS_INIT                                                                         \
	{ .root_name = "gotpl", .max_parse_depth = 1000, .max_text_bytes = 64u << 20 }

/*
 * A new, empty namespace whose templates may call the functions of `f`
 * (borrowed: keep it alive while the set lives).  `opts` NULL means
 * TMPL_SET_OPTS_INIT.  Never fails; returns the set.
 */
struct tmpl_set *tmpl_set_new(const struct tmpl_funcs *f, const struct tmpl_set_opts *opts);

/* Free the set and its parse trees.  Accepts NULL; returns NULL. */
struct tmpl_set *tmpl_set_free(struct tmpl_set *s);

enum tmpl_error_kind {
	TMPL_ERR_NONE = 0,
	TMPL_ERR_PARSE, /* template: NAME:LINE: MSG */
	TMPL_ERR_EXEC,  /* template: NAME:LINE:COL: executing "T" at <CTX>: MSG (Go's ExecError) */
	TMPL_ERR_OTHER, /* template: no template "x" associated with template "gotpl", limits of
			 * the caller's own (output), ... */
};

/*
 * Why a parse or an execution failed.  Release with tmpl_error_release().
 * `msg` is exactly Go's err.Error() text; the other fields are its parts.
 */
struct tmpl_error {
	enum tmpl_error_kind kind;
	int code;      /* the negative errno returned */
	char *msg;     /* Go's full message (malloc'd), or NULL */
	char *name;    /* file (ParseName) the location is in, or NULL */
	int line;      /* 1-based, 0 if unknown */
	int col;       /* byte column as Go reports it (0-based), -1 if none */
	char *tmpl;    /* EXEC: the template being executed ("executing %q") */
	char *context; /* EXEC: the node text between < > (truncated as Go does) */
	char *cause;   /* what follows the location/context prefix */
};
#define TMPL_ERROR_INIT { .kind = TMPL_ERR_NONE }

/* Free the strings of `e` and reset it.  Accepts NULL. */
void tmpl_error_release(struct tmpl_error *e);

/*
 * Parse `text` (`len` bytes) as the template `name` into the set, as Go's
 * set.New(name).Parse(text) does: the text's top level becomes template
 * `name`, and each {{define}}/{{block}} adds its own.  Across calls a
 * later definition replaces an earlier one unless it is empty (only
 * spaces and comments), Go's associate(); within one text two non-empty
 * definitions of a name are an error.  Function names are checked against
 * the registry now ("function %q not defined").
 *
 * On success returns 0.  On failure returns -EINVAL (syntax), -E2BIG
 * (nesting) or -EFBIG (text size), fills reterr (if not NULL) with Go's
 * message, and leaves the set as it was.
 */
int tmpl_set_parse(struct tmpl_set *s, const char *name, const char *text, size_t len,
		   struct tmpl_error *reterr);

/* Whether the set has a template `name` (parsed or defined). */
bool tmpl_set_has(const struct tmpl_set *s, const char *name);

/* The set's root name (tmpl_set_opts.root_name). */
const char *tmpl_set_root_name(const struct tmpl_set *s);

/* ---------------------------------------------------------------- execution */

enum tmpl_missingkey {
	TMPL_MISSINGKEY_DEFAULT = 0, /* Go's default: a missing key is "no value" */
	TMPL_MISSINGKEY_ZERO,        /* the element type's zero (Helm's setting) */
	TMPL_MISSINGKEY_ERROR,       /* "map has no entry for key %q" (helm lint --strict) */
};

/* A step budget shared by several executions (a whole chart render). */
struct tmpl_budget {
	uint64_t steps_left;
};

struct tmpl_exec_opts {
	struct tmpl_arena *arena;       /* required: where values are made */
	enum tmpl_missingkey missingkey;
	/* Steps for this execution, used when `budget` is NULL.  0: 10 million. */
	uint64_t max_steps;
	struct tmpl_budget *budget;     /* shared budget, or NULL */
	/* Nesting of template/include/tpl calls.  0: 1000. */
	unsigned max_depth;
	/* Bytes of output, also of each include/tpl result.  0: 64 MiB. */
	size_t max_output;
	/*
	 * Bytes of C stack the execution may use below tmpl_exec()'s frame
	 * (nesting of templates, includes and control structures).  0: 2 MiB,
	 * enough for the default depth; a thread running templates needs
	 * this much stack plus its callers'.
	 */
	size_t max_stack;
	/* For functions: tmpl_ctx_payload(). */
	void *payload;
};

/*
 * Execute the template `name` of `s` with dot and $ = `data`, appending
 * the output to `out` (Go's ExecuteTemplate).  On failure returns a
 * negative errno (-EINVAL for a template error, -ENOENT for an unknown
 * name, -E2BIG / -EFBIG / -ENOMEM / -ETIME for the depth, output, memory
 * and step limits), fills reterr with Go's message and leaves in `out` what
 * was written before the failure (as Go does).
 */
int tmpl_exec(const struct tmpl_set *s, const char *name, struct tmpl_val data,
	      const struct tmpl_exec_opts *opts, struct buf *out, struct tmpl_error *reterr);

/* ---------------------------------------------------------------- inside a function */

/* The arena of the running execution: allocate results here. */
struct tmpl_arena *tmpl_ctx_arena(struct tmpl_ctx *ctx);

/* tmpl_exec_opts.payload of the outermost execution. */
void *tmpl_ctx_payload(const struct tmpl_ctx *ctx);

/* The set the running template belongs to (an overlay inside tpl). */
const struct tmpl_set *tmpl_ctx_set(const struct tmpl_ctx *ctx);

/* The name of the function being called (for messages). */
const char *tmpl_ctx_func_name(const struct tmpl_ctx *ctx);

/*
 * Fail the running function: the message (printf-formatted) becomes
 * Go's "error calling NAME: MSG".  Returns -EINVAL for `return`.
 */
int tmpl_ctx_errorf(struct tmpl_ctx *ctx, const char *fmt, ...) _printf_(2, 3);

/* The same with a chosen errno (-ENOMEM, ...). */
int tmpl_ctx_fail(struct tmpl_ctx *ctx, int code, const char *fmt, ...) _printf_(3, 4);

/*
 * The message of the last failed tmpl_ctx_* call (tmpl_ctx_include(),
 * tmpl_ctx_tpl(), ...), so a function can wrap it:
 *   tmpl_ctx_errorf(ctx, "cannot parse template %s: %s", q, tmpl_ctx_message(ctx)).
 * "" if none.
 */
const char *tmpl_ctx_message(const struct tmpl_ctx *ctx);

/*
 * Check that `n` more bytes fit the arena's budget and the output cap
 * before allocating an amount derived from input.  0, or -ENOMEM with the
 * message set ("memory limit exceeded").
 */
int tmpl_ctx_reserve(struct tmpl_ctx *ctx, size_t n);

/*
 * Charge `n` steps to the budget (a function doing work proportional to
 * its input, e.g. `until`, `seq`, regex loops).  0, or -ETIME with the
 * message set.
 */
int tmpl_ctx_steps(struct tmpl_ctx *ctx, uint64_t n);

/* Steps left in the budget (shared by the whole render when a
 * tmpl_budget was given). */
uint64_t tmpl_ctx_steps_left(const struct tmpl_ctx *ctx);

/* Current template-call depth, and the limit. */
unsigned tmpl_ctx_depth(const struct tmpl_ctx *ctx);
unsigned tmpl_ctx_max_depth(const struct tmpl_ctx *ctx);

/*
 * Execute the template `name` of the running namespace (the caller's set,
 * or the tpl overlay) with `data` into a new string (Helm's include).  It
 * runs with a fresh variable scope ($ = data), one level deeper, with the
 * same missingkey, arena, budget and payload.
 *
 * On success *ret is a TMPL_STRING in the arena, 0 returned.  On failure
 * returns a negative errno and sets the message to Go's error text:
 *   -ENOENT  template: no template "x" associated with template "gotpl"
 *   -E2BIG   the depth limit
 *   other    the inner execution error, e.g. "template: x:1:3: executing
 *            \"x\" at <.a.b>: nil pointer evaluating interface {}.b"
 * so `return r;` from the function gives "error calling include: ...".
 */
int tmpl_ctx_include(struct tmpl_ctx *ctx, const char *name, struct tmpl_val data,
		     struct tmpl_val *ret);

/*
 * Parse `text` as a new template named after the set's root (Helm: "gotpl")
 * in an overlay of the running namespace, and execute it with `data` into
 * a new string (Helm's tpl).  Definitions in the text are visible to
 * includes inside it and vanish afterwards (Helm clones the set).
 *
 * On success *ret is a TMPL_STRING (with "<no value>" left in: Helm strips
 * it) and 0 is returned.  On failure returns a negative errno, sets the
 * message to Go's error text, and *ret_parse_failed (if not NULL) says
 * whether parsing (Helm: "cannot parse template ...") or executing
 * ("error during tpl function execution for ...") failed.
 */
int tmpl_ctx_tpl(struct tmpl_ctx *ctx, const char *text, size_t len, struct tmpl_val data,
		 struct tmpl_val *ret, bool *ret_parse_failed);

/*
 * Call the registered function `name` with already evaluated `args`
 * (converted by the same rules as in a template).  For functions built on
 * others.  0 or the function's error (message set).
 */
int tmpl_ctx_call(struct tmpl_ctx *ctx, const char *name, const struct tmpl_val *args,
		  size_t nargs, struct tmpl_val *ret);

/* ---------------------------------------------------------------- data formats */

/*
 * Helm's toYaml core: sigs.k8s.io/yaml.Marshal(v), i.e. json.Marshal and
 * go-yaml v2's emitter (lib/yj), appended to `out` with its trailing
 * newline.  0, or -EINVAL with Go's message in reterr.
 */
int tmpl_to_yaml(const struct tmpl_val *v, struct buf *out, struct op_err *reterr);

/*
 * encoding/json.Marshal(v) appended to `out`: HTML-escaped as Go's
 * default (<, >, & as \u003c ...), map keys sorted, Go's float format.
 * 0, or -EINVAL with Go's message in reterr.
 */
int tmpl_to_json_text(const struct tmpl_val *v, bool escape_html, struct buf *out,
		      struct op_err *reterr);

/*
 * json.Unmarshal of `n` bytes into interface{} (numbers float64).  0, or
 * -EINVAL with Go's message ("invalid character 'x' looking for beginning
 * of value", "unexpected end of JSON input") in reterr.
 */
int tmpl_parse_json(struct tmpl_arena *a, const char *s, size_t n, struct tmpl_val *ret,
		    struct op_err *reterr);

#endif
