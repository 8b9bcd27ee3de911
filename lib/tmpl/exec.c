/*
 * exec.c: the executor of Go's text/template (exec.go), and the function
 * context (struct tmpl_ctx) Sprig and Helm functions run in.
 *
 * DESIGN
 * A port of exec.go: walk() over the nodes, evalPipeline/evalCommand/
 * evalField/evalCall/evalArg/validateType with the same order of
 * evaluation and the same error texts, the variable stack with Go's
 * push/mark/pop/setVar, range over lists, maps (sorted keys), integers.
 *
 * Where Go uses reflect, values carry what reflect would know: the Go
 * kind and named type (struct tmpl_val), and `boxed`, set on a value taken
 * out of an interface{} container (a map[string]interface{} entry, a
 * []interface{} element, a range element).  Go keeps such a value as an
 * Interface-kind reflect.Value until a pipeline unwraps it, and that shows
 * in a few messages ("nil pointer evaluating interface {}.x", "wrong type
 * for value; expected string; got interface {}").  TMPL_NIL is a nil
 * interface; a pipeline turns it into TMPL_INVALID, as Go's
 * `value.Elem()` does.
 *
 * Errors: Go panics with an ExecError and recovers at Execute.  Here every
 * eval/walk function returns an int (0, a negative errno, or WALK_BREAK /
 * WALK_CONTINUE for {{break}} / {{continue}}), and the first error's text
 * is built once, where Go builds it (s_errorf(), with the location and
 * context of the current node), into the execution's struct tmpl_error.
 * Nothing in the executor holds malloc'd memory across a call that may
 * fail except the variable stack, which the entry point frees.
 *
 * Nested executions ({{template}}, include, tpl) share one struct exec:
 * the arena, the step budget, the limits and the payload; each has its
 * own state (variables, current template, output).  The C stack is
 * bounded by counting nesting (template calls, control structures,
 * parenthesised pipelines) against fixed limits.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "tmpl/internal.h"
#include "tmpl/tmpl.h"
#include "base/banned.h"

#define WALK_BREAK 1
#define WALK_CONTINUE 2

#define DEFAULT_STEPS 10000000ull
#define DEFAULT_DEPTH 1000u
#define DEFAULT_OUTPUT (64u << 20)
#if defined(__SANITIZE_ADDRESS__)
/* ASan's redzones make frames about three times larger: the same depth. */
#define DEFAULT_STACK (6u << 20)
#else
#define DEFAULT_STACK (2u << 20)
#endif
/* Control structures and parentheses nested inside one another, summed
 * over all template calls: what bounds the C stack. */
#define MAX_NEST 6000u

struct exec {
	struct tmpl_arena *arena;
	enum tmpl_missingkey missingkey;
	struct tmpl_budget local;
	struct tmpl_budget *budget;
	uint64_t max_steps;
	unsigned max_depth;
	size_t max_output;
	void *payload;
	unsigned nest;
	unsigned check; /* steps until the next memory check */
	uintptr_t stack_base; /* the C stack where tmpl_exec() was entered */
	size_t max_stack;
};

struct var {
	const char *name;
	size_t n;
	struct tmpl_val v;
};

struct state {
	struct exec *x;
	const struct tmpl_set *set; /* namespace for {{template}} and include */
	struct tree *tmpl;          /* the template executing */
	struct buf *out;
	const struct node *node;    /* current node, for errors */
	struct var *vars;
	size_t nvars, avars;
	unsigned depth;
	struct tmpl_error *err;     /* the first error goes here */
	bool failed;
};

struct tmpl_ctx {
	struct state *s;
	const struct tmpl__func *fn;
	const char *name;
	struct buf msg;
	int code;
};

static int walk(struct state *s, struct tmpl_val dot, const struct node *n);
static int eval_pipeline(struct state *s, struct tmpl_val dot, const struct node *pipe,
			 struct tmpl_val *ret);
static int eval_arg(struct state *s, struct tmpl_val dot, char typ, const struct node *n,
		    struct tmpl_val *ret);

/* ---------------------------------------------------------------- errors */

static void at(struct state *s, const struct node *n)
{
	s->node = n;
}

static int s_verrorf(struct state *s, int code, const char *fmt, va_list ap)
{
	struct buf msg = BUF_INIT(1 << 20), cause = BUF_INIT(1 << 20), ctxs = BUF_INIT(1 << 20);
	int line = 0, col = -1;
	const char *loc_name = NULL;

	if (s->failed)
		return s->err ? s->err->code : code;
	s->failed = true;
	(void)buf_vaddf(&cause, fmt, ap);
	if (!s->node) {
		(void)buf_addf(&msg, "template: %s: %s", s->tmpl->name, cause.buf);
	} else {
		const struct tree *tr = s->node->tr;

		tmpl__position(tr->text, s->node->pos, &line, &col);
		tmpl__node_string(s->node, &ctxs);
		loc_name = tr->parse_name;
		(void)buf_addf(&msg, "template: %s:%d:%d: executing ", tr->parse_name, line, col);
		(void)tmpl_quote(&msg, s->tmpl->name, strlen(s->tmpl->name));
		(void)buf_addf(&msg, " at <%s>: %s", ctxs.buf, cause.buf);
	}
	tmpl__error_set(s->err, TMPL_ERR_EXEC, code, msg.buf, loc_name, line, col, s->tmpl->name,
			s->node ? ctxs.buf : NULL, cause.buf);
	buf_release(&msg);
	buf_release(&cause);
	buf_release(&ctxs);
	return code;
}

static int s_errorf(struct state *s, const char *fmt, ...) _printf_(2, 3);

static int s_errorf(struct state *s, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = s_verrorf(s, -EINVAL, fmt, ap);
	va_end(ap);
	return r;
}

static int s_fail(struct state *s, int code, const char *fmt, ...) _printf_(3, 4);

static int s_fail(struct state *s, int code, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = s_verrorf(s, code, fmt, ap);
	va_end(ap);
	return r;
}

/*
 * s_errorf() with the node's Go String() for the one %s in `fmt` (quoted
 * with Go's %q when `quote`).  Kept out of line, with its buffers, so the
 * recursive evaluators keep small stack frames.
 */
static __attribute__((noinline)) int s_error_node(struct state *s, const char *fmt,
						  const struct node *n, bool quote)
{
	struct buf b = BUF_INIT(1 << 16), q = BUF_INIT(1 << 17);
	int r;

	tmpl__node_string(n, &b);
	if (quote)
		(void)tmpl_quote(&q, b.buf, b.len);
	r = s_errorf(s, fmt, quote ? q.buf : b.buf);
	buf_release(&b);
	buf_release(&q);
	return r;
}

/* s_errorf() with %v of a value for the one %s in `fmt`. */
static __attribute__((noinline)) int s_error_val(struct state *s, const char *fmt,
						 const struct tmpl_val *v)
{
	struct buf b = BUF_INIT(1 << 16);
	int r;

	(void)tmpl__fmt_value(&b, v, 'v', false, false);
	r = s_errorf(s, fmt, b.buf);
	buf_release(&b);
	return r;
}

/* ---------------------------------------------------------------- limits */

static int check_memory(struct state *s)
{
	struct tmpl_arena *a = s->x->arena;

	if (tmpl_arena_used(a) > tmpl_arena_max(a))
		return s_fail(s, -ENOMEM, "memory limit of %zu bytes exceeded", tmpl_arena_max(a));
	return 0;
}

static int step(struct state *s, uint64_t n)
{
	struct tmpl_budget *b = s->x->budget;

	if (b->steps_left < n) {
		b->steps_left = 0;
		return s_fail(s, -ETIME, "step budget of %llu exceeded",
			      (unsigned long long)s->x->max_steps);
	}
	b->steps_left -= n;
	if (s->x->check <= n) {
		s->x->check = 1024;
		return check_memory(s);
	}
	s->x->check -= (unsigned)n;
	return 0;
}

/*
 * Bytes of C stack used since tmpl_exec() was entered (the stack grows
 * down on every platform we build for; the other direction counts too).
 */
static size_t stack_used(const struct exec *x)
{
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);

	return here < x->stack_base ? x->stack_base - here : here - x->stack_base;
}

static int nest_enter(struct state *s)
{
	if (++s->x->nest > MAX_NEST) {
		s->x->nest--;
		return s_fail(s, -E2BIG, "templates nest more than %u levels", MAX_NEST);
	}
	if (stack_used(s->x) > s->x->max_stack) {
		s->x->nest--;
		return s_fail(s, -E2BIG, "templates nest too deeply (more than %zu KiB of stack)",
			      s->x->max_stack >> 10);
	}
	return 0;
}

static void nest_leave(struct state *s)
{
	s->x->nest--;
}

static int write_out(struct state *s, const char *p, size_t n)
{
	if (n > s->x->max_output || s->out->len > s->x->max_output - n ||
	    buf_add(s->out, p, n) < 0)
		return s_fail(s, -EFBIG, "output exceeds the limit of %zu bytes", s->x->max_output);
	return 0;
}

/* ---------------------------------------------------------------- variables */

static void push(struct state *s, const char *name, size_t n, struct tmpl_val v)
{
	if (s->nvars == s->avars) {
		s->avars = s->avars ? s->avars * 2 : 16;
		s->vars = xrealloc(s->vars, xalloc__mul(s->avars, sizeof(*s->vars)));
	}
	s->vars[s->nvars].name = name;
	s->vars[s->nvars].n = n;
	s->vars[s->nvars].v = v;
	s->nvars++;
}

static size_t mark(const struct state *s)
{
	return s->nvars;
}

static void pop(struct state *s, size_t m)
{
	s->nvars = m;
}

static int set_var(struct state *s, const struct ident *name, struct tmpl_val v)
{
	for (size_t i = s->nvars; i-- > 0;) {
		if (s->vars[i].n == name->n && memcmp(s->vars[i].name, name->p, name->n) == 0) {
			s->vars[i].v = v;
			return 0;
		}
	}
	return s_errorf(s, "undefined variable: %s", name->p);
}

static void set_top_var(struct state *s, size_t n, struct tmpl_val v)
{
	s->vars[s->nvars - n].v = v;
}

static int var_value(struct state *s, const struct ident *name, struct tmpl_val *ret)
{
	for (size_t i = s->nvars; i-- > 0;) {
		if (s->vars[i].n == name->n && memcmp(s->vars[i].name, name->p, name->n) == 0) {
			*ret = s->vars[i].v;
			return 0;
		}
	}
	return s_errorf(s, "undefined variable: %s", name->p);
}

/* ---------------------------------------------------------------- helpers */

/* The static type Go's reflect would report for `v` (receiver.Type()). */
static const char *static_type(const struct tmpl_val *v)
{
	if (v->boxed || v->kind == TMPL_NIL)
		return "interface {}";
	return tmpl_type_name(v);
}

/* The pipeline's unwrapping of an interface{} value (value.Elem()). */
static struct tmpl_val unwrap(struct tmpl_val v)
{
	if (v.kind == TMPL_NIL)
		return tmpl_invalid();
	v.boxed = 0;
	return v;
}

/* ---------------------------------------------------------------- the context */

struct tmpl_arena *tmpl_ctx_arena(struct tmpl_ctx *ctx)
{
	return ctx->s->x->arena;
}

void *tmpl_ctx_payload(const struct tmpl_ctx *ctx)
{
	return ctx->s->x->payload;
}

const struct tmpl_set *tmpl_ctx_set(const struct tmpl_ctx *ctx)
{
	return ctx->s->set;
}

const char *tmpl_ctx_func_name(const struct tmpl_ctx *ctx)
{
	return ctx->name;
}

static int ctx_vfail(struct tmpl_ctx *ctx, int code, const char *fmt, va_list ap)
{
	buf_reset(&ctx->msg);
	(void)buf_vaddf(&ctx->msg, fmt, ap);
	ctx->code = code;
	return code;
}

int tmpl_ctx_errorf(struct tmpl_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = ctx_vfail(ctx, -EINVAL, fmt, ap);
	va_end(ap);
	return r;
}

int tmpl_ctx_fail(struct tmpl_ctx *ctx, int code, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (code >= 0)
		code = -EINVAL;
	va_start(ap, fmt);
	r = ctx_vfail(ctx, code, fmt, ap);
	va_end(ap);
	return r;
}

const char *tmpl_ctx_message(const struct tmpl_ctx *ctx)
{
	return ctx->msg.buf;
}

int tmpl_ctx_reserve(struct tmpl_ctx *ctx, size_t n)
{
	struct tmpl_arena *a = ctx->s->x->arena;
	size_t used = tmpl_arena_used(a), max = tmpl_arena_max(a);

	if (used > max || n > max - used)
		return tmpl_ctx_fail(ctx, -ENOMEM, "memory limit of %zu bytes exceeded", max);
	return 0;
}

int tmpl_ctx_steps(struct tmpl_ctx *ctx, uint64_t n)
{
	struct tmpl_budget *b = ctx->s->x->budget;

	if (b->steps_left < n) {
		b->steps_left = 0;
		return tmpl_ctx_fail(ctx, -ETIME, "step budget of %llu exceeded",
				     (unsigned long long)ctx->s->x->max_steps);
	}
	b->steps_left -= n;
	return 0;
}

uint64_t tmpl_ctx_steps_left(const struct tmpl_ctx *ctx)
{
	return ctx->s->x->budget->steps_left;
}

unsigned tmpl_ctx_depth(const struct tmpl_ctx *ctx)
{
	return ctx->s->depth;
}

unsigned tmpl_ctx_max_depth(const struct tmpl_ctx *ctx)
{
	return ctx->s->x->max_depth;
}

/* ---------------------------------------------------------------- calls */

/*
 * Go's validateType for a parameter of type `typ` (a params letter, or 0
 * for "no type": a chain's receiver), without the state: may rewrite *v
 * (a missing value becomes the type's nil; a value taken out of an
 * interface{} is unwrapped; a named map or list converts to the plain
 * type).  0, or -EINVAL with Go's message in msg[n].
 */
static int convert_arg(struct tmpl_val *v, char typ, char *msg, size_t n)
{
	bool ok;

	if (v->kind == TMPL_INVALID) {
		switch (typ) {
		case 0:
		case P_VALUE:
			return 0;
		case P_ANY:
			*v = tmpl_nil();
			return 0;
		case P_MAP:
			*v = tmpl_map_val(NULL);
			return 0;
		case P_LIST:
			*v = tmpl_list_val(NULL);
			return 0;
		default:
			snprintf(msg, n, "invalid value; expected %s", tmpl__ptype_name(typ));
			return -EINVAL;
		}
	}
	if (typ == 0 || typ == P_VALUE)
		return 0;
	switch (typ) {
	case P_ANY:
		ok = true;
		break;
	case P_STRING:
		ok = v->kind == TMPL_STRING && !v->type;
		break;
	case P_INT:
		ok = v->kind == TMPL_INT && !v->type;
		break;
	case P_INT64:
		ok = v->kind == TMPL_INT64 && !v->type;
		break;
	case P_FLOAT:
		ok = v->kind == TMPL_FLOAT64 && !v->type;
		break;
	case P_BOOL:
		ok = v->kind == TMPL_BOOL && !v->type;
		break;
	case P_UINT64:
		ok = v->kind == TMPL_UINT64 && !v->type;
		break;
	case P_MAP:
		/* Named maps of the same shape convert (chartutil.Values). */
		ok = v->kind == TMPL_MAP && (!v->m || v->m->elem == TMPL_NIL);
		break;
	case P_LIST:
		ok = v->kind == TMPL_LIST && (!v->l || v->l->elem == TMPL_NIL);
		break;
	default:
		ok = false;
	}
	if (ok) {
		/* An interface{} holding the value, or the value itself. */
		v->boxed = 0;
		if (typ == P_MAP || typ == P_LIST)
			v->type = NULL;
		return 0;
	}
	snprintf(msg, n, "wrong type for value; expected %s; got %s", tmpl__ptype_name(typ),
		 v->boxed && v->kind == TMPL_NIL ? "interface {}" : tmpl_type_name(v));
	return -EINVAL;
}

static int validate_type(struct state *s, struct tmpl_val *v, char typ)
{
	char msg[256];

	if (convert_arg(v, typ, msg, sizeof(msg)) < 0)
		return s_errorf(s, "%s", msg);
	return 0;
}

/* Go's idealConstant: a number literal with no target type. */
static int ideal_constant(struct state *s, const struct node *n, struct tmpl_val *ret)
{
	const struct number *num = n->number.num;
	const char *t = n->number.text.p;
	bool hex_int = n->number.text.n > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X') &&
		       !strpbrk(t, "pP");
	bool rune_int = t[0] == '\'';

	at(s, n);
	if (num->is_complex) {
		ret->kind = TMPL_COMPLEX128;
		ret->type = NULL;
		ret->boxed = 0;
		ret->c.re = num->re;
		ret->c.im = num->im;
		return 0;
	}
	if (num->is_float && !hex_int && !rune_int && strpbrk(t, ".eEpP")) {
		*ret = tmpl_float(num->f);
		return 0;
	}
	if (num->is_int) {
		*ret = tmpl_int(num->i);
		return 0;
	}
	if (num->is_uint)
		return s_errorf(s, "%s overflows int", t);
	*ret = tmpl_invalid();
	return 0;
}

static int eval_field_node(struct state *s, struct tmpl_val dot, const struct node *field,
			   const struct node *const *args, size_t nargs,
			   const struct tmpl_val *final, struct tmpl_val *ret);
static int eval_function(struct state *s, struct tmpl_val dot, const struct node *ident,
			 const struct node *cmd, const struct node *const *args, size_t nargs,
			 const struct tmpl_val *final, struct tmpl_val *ret);
static int eval_variable_node(struct state *s, struct tmpl_val dot, const struct node *var,
			      const struct node *const *args, size_t nargs,
			      const struct tmpl_val *final, struct tmpl_val *ret);
static int eval_chain_node(struct state *s, struct tmpl_val dot, const struct node *chain,
			   const struct node *const *args, size_t nargs,
			   const struct tmpl_val *final, struct tmpl_val *ret);

/* evalEmptyInterface: an argument for an interface{} (or reflect.Value). */
static int eval_empty_interface(struct state *s, struct tmpl_val dot, const struct node *n,
				struct tmpl_val *ret)
{
	at(s, n);
	switch (n->type) {
	case N_BOOL:
		*ret = tmpl_bool(n->boolean);
		return 0;
	case N_DOT:
		*ret = dot;
		return 0;
	case N_FIELD:
		return eval_field_node(s, dot, n, NULL, 0, NULL, ret);
	case N_IDENT:
		return eval_function(s, dot, n, n, NULL, 0, NULL, ret);
	case N_NIL:
		return s_errorf(s, "evalEmptyInterface: nil (can't happen)");
	case N_NUMBER:
		return ideal_constant(s, n, ret);
	case N_STRING:
		*ret = n->str.val;
		return 0;
	case N_VARIABLE:
		return eval_variable_node(s, dot, n, NULL, 0, NULL, ret);
	case N_PIPE:
		return eval_pipeline(s, dot, n, ret);
	default:
		return s_error_node(s, "can't handle assignment of %s to empty interface argument", n,
				    false);
	}
}

static __attribute__((noinline)) int literal_error(struct state *s, const char *what,
						   const struct node *n)
{
	struct buf b = BUF_INIT(1 << 16);
	int r;

	tmpl__node_string(n, &b);
	r = s_errorf(s, "expected %s; found %s", what, b.buf);
	buf_release(&b);
	return r;
}

static __attribute__((noinline)) int arg_type_error(struct state *s, const struct node *n, char typ)
{
	struct buf b = BUF_INIT(1 << 16);
	int r;

	tmpl__node_string(n, &b);
	r = s_errorf(s, "can't handle %s for arg of type %s", b.buf, tmpl__ptype_name(typ));
	buf_release(&b);
	return r;
}

static int eval_arg(struct state *s, struct tmpl_val dot, char typ, const struct node *n,
		    struct tmpl_val *ret)
{
	struct tmpl_val v;
	int r;

	at(s, n);
	switch (n->type) {
	case N_DOT:
		*ret = dot;
		return validate_type(s, ret, typ);
	case N_NIL:
		switch (typ) {
		case P_ANY:
			*ret = tmpl_nil();
			return 0;
		case P_VALUE:
			*ret = tmpl_invalid();
			return 0;
		case P_MAP:
			*ret = tmpl_map_val(NULL);
			return 0;
		case P_LIST:
			*ret = tmpl_list_val(NULL);
			return 0;
		default:
			return s_errorf(s, "cannot assign nil to %s", tmpl__ptype_name(typ));
		}
	case N_FIELD:
		r = eval_field_node(s, dot, n, &n, 1, NULL, &v);
		break;
	case N_VARIABLE:
		r = eval_variable_node(s, dot, n, NULL, 0, NULL, &v);
		break;
	case N_PIPE:
		r = eval_pipeline(s, dot, n, &v);
		break;
	case N_IDENT:
		r = eval_function(s, dot, n, n, NULL, 0, NULL, &v);
		break;
	case N_CHAIN:
		r = eval_chain_node(s, dot, n, NULL, 0, NULL, &v);
		break;
	default:
		goto literal;
	}
	if (r < 0)
		return r;
	*ret = v;
	return validate_type(s, ret, typ);
literal:
	switch (typ) {
	case P_BOOL:
		if (n->type == N_BOOL) {
			*ret = tmpl_bool(n->boolean);
			return 0;
		}
		return literal_error(s, "bool", n);
	case P_FLOAT:
		if (n->type == N_NUMBER && n->number.num->is_float) {
			*ret = tmpl_float(n->number.num->f);
			return 0;
		}
		return literal_error(s, "float", n);
	case P_INT:
	case P_INT64:
		if (n->type == N_NUMBER && n->number.num->is_int) {
			*ret = typ == P_INT ? tmpl_int(n->number.num->i) : tmpl_int64(n->number.num->i);
			return 0;
		}
		return literal_error(s, "integer", n);
	case P_UINT64:
		if (n->type == N_NUMBER && n->number.num->is_uint) {
			*ret = tmpl_uint64(n->number.num->u);
			return 0;
		}
		return literal_error(s, "unsigned integer", n);
	case P_STRING:
		if (n->type == N_STRING) {
			*ret = n->str.val;
			return 0;
		}
		return literal_error(s, "string", n);
	case P_ANY:
	case P_VALUE:
		return eval_empty_interface(s, dot, n, ret);
	default:
		return arg_type_error(s, n, typ);
	}
}

/* Run one function or method with evaluated arguments. */
static int invoke(struct state *s, const struct tmpl__func *fn, const struct tmpl_val *self,
		  const char *name, struct tmpl_val *argv, size_t n, const struct node *node,
		  struct tmpl_val *ret)
{
	struct tmpl_ctx ctx = { .s = s, .fn = fn, .name = name };
	struct tmpl_val v = tmpl_invalid();
	int r;

	r = step(s, 1);
	if (r < 0)
		return r;
	buf_init(&ctx.msg, 1 << 20);
	if (fn->method)
		r = fn->method(&ctx, self, argv, n, &v);
	else
		r = fn->fn(&ctx, argv, n, &v, fn->payload);
	if (r < 0) {
		at(s, node);
		if (ctx.code == -ETIME || ctx.code == -ENOMEM || ctx.code == -E2BIG ||
		    ctx.code == -EFBIG)
			r = s_fail(s, ctx.code, "error calling %s: %s", name, ctx.msg.buf);
		else
			r = s_fail(s, r, "error calling %s: %s", name, ctx.msg.buf);
		buf_release(&ctx.msg);
		return r;
	}
	buf_release(&ctx.msg);
	r = check_memory(s);
	if (r < 0)
		return r;
	*ret = v;
	return 0;
}

/*
 * The builtin call: Go's function values do not exist here, so it can
 * only fail, as Go's call() does on anything but a function.  `arg` is the
 * callee's node, or NULL when it was piped in (then Go names it by
 * reflect.Value.String(): the string, or "<T Value>").
 */
static __attribute__((noinline)) int call_error(struct state *s, const struct node *node,
						const struct node *arg, const struct tmpl_val *fv)
{
	struct tmpl_val f = unwrap(*fv);
	struct buf nm = BUF_INIT(1 << 16);
	int r;

	if (!arg) {
		if (fv->kind == TMPL_STRING)
			(void)buf_add(&nm, fv->s.p, fv->s.n);
		else
			(void)buf_addf(&nm, "<%s Value>", tmpl_type_name(fv));
	} else {
		tmpl__node_string(arg, &nm);
	}
	at(s, node);
	if (f.kind == TMPL_INVALID)
		r = s_errorf(s, "error calling call: call of nil");
	else
		r = s_errorf(s, "error calling call: non-function %s of type %s", nm.buf,
			     tmpl_type_name(&f));
	buf_release(&nm);
	return r;
}

/* Go's truth() for and/or. */
static bool truth(const struct tmpl_val *v)
{
	return tmpl_truth(v);
}

/*
 * evalCall.  `args` are the command's nodes with args[0] the function
 * itself (or NULL/0 when called as an argument); `final` is the piped
 * value or NULL.  `self` is the receiver of a method.
 */
static int eval_call(struct state *s, struct tmpl_val dot, const struct tmpl__func *fn,
		     const struct tmpl_val *self, const struct node *node, const char *name,
		     const struct node *const *args, size_t nargs, const struct tmpl_val *final,
		     struct tmpl_val *ret)
{
	size_t num_in, num_fixed, i = 0;
	struct tmpl_val *argv, v;
	int r;

	if (args && nargs > 0) {
		args++;
		nargs--;
	} else {
		nargs = 0;
	}
	num_in = nargs + (final ? 1 : 0);
	num_fixed = nargs;
	if (fn->variadic) {
		num_fixed = fn->nparams - 1;
		if (num_in < num_fixed)
			return s_errorf(s, "wrong number of args for %s: want at least %u got %zu",
					name, fn->nparams - 1, nargs);
	} else if (num_in != fn->nparams) {
		return s_errorf(s, "wrong number of args for %s: want %u got %zu", name, fn->nparams,
				num_in);
	}
	if (fn->builtin == BI_AND || fn->builtin == BI_OR) {
		bool is_or = fn->builtin == BI_OR;

		v = tmpl_invalid();
		for (i = 0; i < nargs; i++) {
			r = eval_arg(s, dot, P_VALUE, args[i], &v);
			if (r < 0)
				return r;
			if (truth(&v) == is_or) {
				*ret = v;
				return 0;
			}
		}
		if (final)
			v = *final;
		*ret = v;
		return 0;
	}
	argv = tmpl_alloc(s->x->arena, (num_in ? num_in : 1) * sizeof(*argv));
	for (; i < num_fixed && i < nargs; i++) {
		r = eval_arg(s, dot, fn->types[i], args[i], &argv[i]);
		if (r < 0)
			return r;
	}
	if (fn->variadic) {
		char t = fn->types[fn->nparams - 1];

		for (; i < nargs; i++) {
			r = eval_arg(s, dot, t, args[i], &argv[i]);
			if (r < 0)
				return r;
		}
	}
	if (final) {
		char t = fn->types[fn->nparams - 1];

		if (fn->variadic && num_in - 1 < num_fixed)
			t = fn->types[num_in - 1];
		argv[i] = *final;
		r = validate_type(s, &argv[i], t);
		if (r < 0)
			return r;
	}
	if (fn->builtin == BI_CALL)
		return call_error(s, node, nargs ? args[0] : NULL, nargs ? &argv[0] : final);
	r = invoke(s, fn, self, name, argv, num_in, node, &v);
	if (r < 0)
		return r;
	*ret = v;
	return 0;
}

static int eval_function(struct state *s, struct tmpl_val dot, const struct node *ident,
			 const struct node *cmd, const struct node *const *args, size_t nargs,
			 const struct tmpl_val *final, struct tmpl_val *ret)
{
	at(s, ident);
	return eval_call(s, dot, ident->fn.fn, NULL, cmd, ident->fn.name.p, args, nargs, final, ret);
}

static const struct tmpl_method *find_method(const struct tmpl_val *v, const char *name)
{
	const struct tmpl_type *t = v->type;

	if (!t)
		return NULL;
	for (size_t i = 0; i < t->n_methods; i++)
		if (strcmp(t->methods[i].name, name) == 0)
			return &t->methods[i];
	return NULL;
}

/* evalField: .Field (or .Method args) on `receiver`. */
static int eval_field(struct state *s, struct tmpl_val dot, const struct ident *field,
		      const struct node *node, const struct node *const *args, size_t nargs,
		      const struct tmpl_val *final, struct tmpl_val receiver, struct tmpl_val *ret)
{
	const struct tmpl_method *m;
	bool has_args;
	const char *typ;

	if (receiver.kind == TMPL_INVALID) {
		if (s->x->missingkey == TMPL_MISSINGKEY_ERROR)
			return s_errorf(s, "nil data; no entry for key \"%s\"", field->p);
		*ret = tmpl_invalid();
		return 0;
	}
	typ = static_type(&receiver);
	if (receiver.kind == TMPL_NIL)
		return s_errorf(s, "nil pointer evaluating %s.%s", typ, field->p);
	m = find_method(&receiver, field->p);
	if (m) {
		struct tmpl__func fn = { .name = m->name, .method = m->fn };
		struct tmpl_val self = receiver;

		if (tmpl__parse_params(m->params, &fn) < 0)
			return s_errorf(s, "method %s has a bad parameter spec", m->name);
		self.boxed = 0;
		return eval_call(s, dot, &fn, &self, node, field->p, args, nargs, final, ret);
	}
	has_args = nargs > 1 || final;
	switch (receiver.kind) {
	case TMPL_OBJ:
		if (receiver.type && receiver.type->field) {
			struct tmpl_ctx ctx = { .s = s, .name = field->p };
			struct tmpl_val v = tmpl_invalid();
			int r;

			buf_init(&ctx.msg, 1 << 16);
			r = receiver.type->field(&ctx, &receiver, field->p, &v);
			if (r == 0) {
				buf_release(&ctx.msg);
				if (has_args)
					return s_errorf(s, "%s has arguments but cannot be invoked as function",
							field->p);
				*ret = v;
				return 0;
			}
			if (r != -ENOENT) {
				r = s_fail(s, r, "%s", ctx.msg.buf);
				buf_release(&ctx.msg);
				return r;
			}
			buf_release(&ctx.msg);
		}
		break;
	case TMPL_MAP: {
		const struct tmpl_val *e;
		enum tmpl_kind elem = receiver.m ? receiver.m->elem : TMPL_NIL;

		if (has_args)
			return s_errorf(s, "%s is not a method but has arguments", field->p);
		e = tmpl_map_get(receiver.m, field->p, field->n);
		if (e) {
			*ret = *e;
			ret->boxed = elem == TMPL_NIL;
			return 0;
		}
		switch (s->x->missingkey) {
		case TMPL_MISSINGKEY_DEFAULT:
			*ret = tmpl_invalid();
			return 0;
		case TMPL_MISSINGKEY_ZERO:
			*ret = tmpl__zero(elem);
			ret->boxed = elem == TMPL_NIL;
			return 0;
		case TMPL_MISSINGKEY_ERROR:
			return s_errorf(s, "map has no entry for key \"%s\"", field->p);
		}
		break;
	}
	default:
		break;
	}
	return s_errorf(s, "can't evaluate field %s in type %s", field->p, typ);
}

static int eval_field_chain(struct state *s, struct tmpl_val dot, struct tmpl_val receiver,
			    const struct node *node, const struct ident *ident, size_t n,
			    const struct node *const *args, size_t nargs,
			    const struct tmpl_val *final, struct tmpl_val *ret)
{
	int r;

	for (size_t i = 0; i + 1 < n; i++) {
		r = eval_field(s, dot, &ident[i], node, NULL, 0, NULL, receiver, &receiver);
		if (r < 0)
			return r;
	}
	return eval_field(s, dot, &ident[n - 1], node, args, nargs, final, receiver, ret);
}

static int eval_field_node(struct state *s, struct tmpl_val dot, const struct node *field,
			   const struct node *const *args, size_t nargs,
			   const struct tmpl_val *final, struct tmpl_val *ret)
{
	at(s, field);
	return eval_field_chain(s, dot, dot, field, field->ident.v, field->ident.n, args, nargs,
				final, ret);
}

static int eval_chain_node(struct state *s, struct tmpl_val dot, const struct node *chain,
			   const struct node *const *args, size_t nargs,
			   const struct tmpl_val *final, struct tmpl_val *ret)
{
	struct tmpl_val pipe;
	int r;

	at(s, chain);
	if (chain->chain.n == 0)
		return s_errorf(s, "internal error: no fields in evalChainNode");
	if (chain->chain.node->type == N_NIL)
		return s_error_node(s, "indirection through explicit nil in %s", chain, false);
	r = eval_arg(s, dot, 0, chain->chain.node, &pipe);
	if (r < 0)
		return r;
	return eval_field_chain(s, dot, pipe, chain, chain->chain.v, chain->chain.n, args, nargs,
				final, ret);
}

static int eval_variable_node(struct state *s, struct tmpl_val dot, const struct node *var,
			      const struct node *const *args, size_t nargs,
			      const struct tmpl_val *final, struct tmpl_val *ret)
{
	struct tmpl_val value;
	int r;

	at(s, var);
	r = var_value(s, &var->ident.v[0], &value);
	if (r < 0)
		return r;
	if (var->ident.n == 1) {
		if (nargs > 1 || final)
			return s_error_node(s, "can't give argument to non-function %s", args[0], false);
		*ret = value;
		return 0;
	}
	return eval_field_chain(s, dot, value, var, var->ident.v + 1, var->ident.n - 1, args,
				nargs, final, ret);
}

static int not_a_function(struct state *s, const struct node *const *args, size_t nargs,
			  const struct tmpl_val *final)
{
	if (nargs > 1 || final)
		return s_error_node(s, "can't give argument to non-function %s", args[0], false);
	return 0;
}

static int eval_command(struct state *s, struct tmpl_val dot, const struct node *cmd,
			const struct tmpl_val *final, struct tmpl_val *ret)
{
	const struct node *const *args = (const struct node *const *)cmd->list.v;
	size_t nargs = cmd->list.n;
	const struct node *first = args[0];
	int r;

	r = step(s, 1);
	if (r < 0)
		return r;
	switch (first->type) {
	case N_FIELD:
		return eval_field_node(s, dot, first, args, nargs, final, ret);
	case N_CHAIN:
		return eval_chain_node(s, dot, first, args, nargs, final, ret);
	case N_IDENT:
		return eval_function(s, dot, first, cmd, args, nargs, final, ret);
	case N_PIPE:
		r = not_a_function(s, args, nargs, final);
		if (r < 0)
			return r;
		r = nest_enter(s);
		if (r < 0)
			return r;
		r = eval_pipeline(s, dot, first, ret);
		nest_leave(s);
		return r;
	case N_VARIABLE:
		return eval_variable_node(s, dot, first, args, nargs, final, ret);
	default:
		break;
	}
	at(s, first);
	r = not_a_function(s, args, nargs, final);
	if (r < 0)
		return r;
	switch (first->type) {
	case N_BOOL:
		*ret = tmpl_bool(first->boolean);
		return 0;
	case N_DOT:
		*ret = dot;
		return 0;
	case N_NIL:
		return s_errorf(s, "nil is not a command");
	case N_NUMBER:
		return ideal_constant(s, first, ret);
	case N_STRING:
		*ret = first->str.val;
		return 0;
	default:
		return s_error_node(s, "can't evaluate command %s", first, true);
	}
}

static int eval_pipeline(struct state *s, struct tmpl_val dot, const struct node *pipe,
			 struct tmpl_val *ret)
{
	struct tmpl_val value = tmpl_invalid();
	bool have = false;
	int r;

	if (!pipe) {
		*ret = tmpl_invalid();
		return 0;
	}
	at(s, pipe);
	for (size_t i = 0; i < pipe->pipe.cmds.n; i++) {
		struct tmpl_val prev = value;

		r = eval_command(s, dot, pipe->pipe.cmds.v[i], have ? &prev : NULL, &value);
		if (r < 0)
			return r;
		have = true;
		value = unwrap(value);
	}
	for (size_t i = 0; i < pipe->pipe.decl.n; i++) {
		const struct ident *name = &pipe->pipe.decl.v[i]->ident.v[0];

		if (pipe->pipe.assign) {
			r = set_var(s, name, value);
			if (r < 0)
				return r;
		} else {
			push(s, name->p, name->n, value);
		}
	}
	*ret = value;
	return 0;
}

/* ---------------------------------------------------------------- walking */

static int print_value(struct state *s, const struct node *n, const struct tmpl_val *v)
{
	struct buf b;
	int r;

	at(s, n);
	if (v->kind == TMPL_INVALID)
		return write_out(s, "<no value>", 10);
	switch (v->kind) {
	case TMPL_STRING:
		if (!v->type)
			return write_out(s, v->s.p, v->s.n);
		break;
	default:
		break;
	}
	buf_init(&b, s->x->max_output);
	r = tmpl__fmt_value(&b, v, 'v', false, false);
	/* Go prints what a pointer points to (printableValue's indirect). */
	if (r == 0 && v->kind == TMPL_OBJ && v->type && !v->type->string && v->type->kind &&
	    strcmp(v->type->kind, "ptr") == 0 && b.len > 0 && b.buf[0] == '&') {
		r = write_out(s, b.buf + 1, b.len - 1);
		buf_release(&b);
		return r;
	}
	if (r < 0) {
		buf_release(&b);
		if (r == -ELOOP)
			return s_fail(s, -E2BIG, "value nests too deeply to print");
		return s_fail(s, -EFBIG, "output exceeds the limit of %zu bytes", s->x->max_output);
	}
	r = write_out(s, b.buf, b.len);
	buf_release(&b);
	return r;
}

static int walk_if_or_with(struct state *s, enum node_type typ, struct tmpl_val dot,
			   const struct node *n)
{
	size_t m = mark(s);
	struct tmpl_val val;
	int r;

	r = eval_pipeline(s, dot, n->branch.pipe, &val);
	if (r < 0)
		goto out;
	if (tmpl_truth(&val)) {
		if (typ == N_WITH)
			r = walk(s, val, n->branch.list);
		else
			r = walk(s, dot, n->branch.list);
	} else if (n->branch.else_list) {
		r = walk(s, dot, n->branch.else_list);
	}
out:
	pop(s, m);
	return r;
}

/* One range iteration: set the variables, walk the body. */
static int range_once(struct state *s, const struct node *rn, size_t m, struct tmpl_val index,
		      struct tmpl_val elem)
{
	const struct node *pipe = rn->branch.pipe;
	size_t nd = pipe->pipe.decl.n;
	int r;

	r = step(s, 1);
	if (r < 0)
		return r;
	if (nd > 0) {
		if (pipe->pipe.assign) {
			r = set_var(s, &pipe->pipe.decl.v[0]->ident.v[0], nd > 1 ? index : elem);
			if (r < 0)
				return r;
		} else {
			set_top_var(s, 1, elem);
		}
	}
	if (nd > 1) {
		if (pipe->pipe.assign) {
			r = set_var(s, &pipe->pipe.decl.v[1]->ident.v[0], elem);
			if (r < 0)
				return r;
		} else {
			set_top_var(s, 2, index);
		}
	}
	r = walk(s, elem, rn->branch.list);
	pop(s, m);
	if (r == WALK_CONTINUE)
		r = 0;
	return r;
}

static int walk_range(struct state *s, struct tmpl_val dot, const struct node *rn)
{
	size_t outer = mark(s), m;
	struct tmpl_val val;
	bool ran = false;
	int r;

	at(s, rn);
	r = eval_pipeline(s, dot, rn->branch.pipe, &val);
	if (r < 0)
		goto out;
	m = mark(s);
	switch (val.kind) {
	case TMPL_INT:
	case TMPL_INT64:
	case TMPL_INT32:
	case TMPL_UINT:
	case TMPL_UINT8:
	case TMPL_UINT64: {
		uint64_t count;

		if (rn->branch.pipe->pipe.decl.n > 1) {
			r = s_error_val(s, "can't use %s to iterate over more than one variable", &val);
			goto out;
		}
		if (tmpl_is_int(val.kind))
			count = val.i > 0 ? (uint64_t)val.i : 0;
		else
			count = val.u;
		for (uint64_t i = 0; i < count; i++) {
			struct tmpl_val e = val;

			if (tmpl_is_int(val.kind))
				e.i = (int64_t)i;
			else
				e.u = i;
			ran = true;
			r = range_once(s, rn, m, tmpl_invalid(), e);
			if (r == WALK_BREAK) {
				r = 0;
				goto out;
			}
			if (r < 0)
				goto out;
		}
		break;
	}
	case TMPL_LIST:
	case TMPL_BYTES: {
		size_t n = tmpl_len(&val);

		for (size_t i = 0; i < n; i++) {
			struct tmpl_val e;

			if (val.kind == TMPL_BYTES) {
				e = (struct tmpl_val){ .kind = TMPL_UINT8,
						       .u = (unsigned char)val.s.p[i] };
			} else {
				e = val.l->v[i];
				e.boxed = val.l->elem == TMPL_NIL;
			}
			ran = true;
			r = range_once(s, rn, m, tmpl_int((int64_t)i), e);
			if (r == WALK_BREAK) {
				r = 0;
				goto out;
			}
			if (r < 0)
				goto out;
		}
		break;
	}
	case TMPL_MAP: {
		size_t n = tmpl_len(&val);

		/* Go ranges over a sorted copy (fmtsort): a body that changes
		 * the map (set/unset) sees the entries as they were. */
		struct tmpl_map_entry *snap = NULL;

		if (n) {
			snap = tmpl_alloc(s->x->arena, n * sizeof(*snap));
			memcpy(snap, val.m->e, n * sizeof(*snap));
		}
		for (size_t i = 0; i < n; i++) {
			struct tmpl_map_entry e = snap[i];

			e.v.boxed = val.m->elem == TMPL_NIL;
			ran = true;
			r = range_once(s, rn, m, tmpl_str_ref(e.key, e.klen), e.v);
			if (r == WALK_BREAK) {
				r = 0;
				goto out;
			}
			if (r < 0)
				goto out;
		}
		break;
	}
	case TMPL_INVALID:
		break;
	default:
		r = s_error_val(s, "range can't iterate over %s", &val);
		goto out;
	}
	if (!ran && rn->branch.else_list)
		r = walk(s, dot, rn->branch.else_list);
out:
	pop(s, outer);
	return r;
}

static int exec_tree(struct state *parent, struct exec *x, const struct tmpl_set *set,
		     struct tree *t, struct tmpl_val data, struct buf *out, unsigned depth,
		     struct tmpl_error *err);

static int walk_template(struct state *s, struct tmpl_val dot, const struct node *tn)
{
	struct tree *t;
	struct tmpl_val v;
	struct state ns;
	int r;

	at(s, tn);
	t = tmpl__lookup(s->set, tn->tmpl.name.p);
	if (!t)
		return s_error_node(s, "template %s not defined",
				    &(struct node){ .type = N_STRING, .str.quoted = tn->tmpl.name }, true);
	if (s->depth >= s->x->max_depth)
		return s_fail(s, -E2BIG, "exceeded maximum template depth (%u)", s->x->max_depth);
	r = eval_pipeline(s, dot, tn->tmpl.pipe, &v);
	if (r < 0)
		return r;
	/* No dynamic scoping: the callee starts with only $. */
	memset(&ns, 0, sizeof(ns));
	ns.x = s->x;
	ns.set = s->set;
	ns.tmpl = t;
	ns.out = s->out;
	ns.depth = s->depth + 1;
	ns.err = s->err;
	push(&ns, "$", 1, v);
	r = walk(&ns, v, t->root);
	free(ns.vars);
	if (r < 0)
		s->failed = true; /* the callee reported it */
	return r < 0 ? r : 0;
}

static int walk(struct state *s, struct tmpl_val dot, const struct node *n)
{
	struct tmpl_val val;
	int r;

	at(s, n);
	switch (n->type) {
	case N_ACTION:
		r = step(s, 1);
		if (r < 0)
			return r;
		r = eval_pipeline(s, dot, n->action_pipe, &val);
		if (r < 0)
			return r;
		if (n->action_pipe->pipe.decl.n == 0)
			return print_value(s, n, &val);
		return 0;
	case N_BREAK:
		return WALK_BREAK;
	case N_CONTINUE:
		return WALK_CONTINUE;
	case N_COMMENT:
		return 0;
	case N_IF:
	case N_WITH:
		r = nest_enter(s);
		if (r < 0)
			return r;
		r = walk_if_or_with(s, n->type, dot, n);
		nest_leave(s);
		return r;
	case N_LIST:
		for (size_t i = 0; i < n->list.n; i++) {
			r = walk(s, dot, n->list.v[i]);
			if (r != 0)
				return r;
		}
		return 0;
	case N_RANGE:
		r = nest_enter(s);
		if (r < 0)
			return r;
		r = walk_range(s, dot, n);
		nest_leave(s);
		return r;
	case N_TEMPLATE:
		r = nest_enter(s);
		if (r < 0)
			return r;
		r = walk_template(s, dot, n);
		nest_leave(s);
		return r;
	case N_TEXT:
		return write_out(s, n->text.p, n->text.n);
	default:
		return s_error_node(s, "unknown node: %s", n, false);
	}
}

static int exec_tree(struct state *parent, struct exec *x, const struct tmpl_set *set,
		     struct tree *t, struct tmpl_val data, struct buf *out, unsigned depth,
		     struct tmpl_error *err)
{
	struct state s = { .x = x, .set = set, .tmpl = t, .out = out, .depth = depth, .err = err };
	int r;

	(void)parent;
	push(&s, "$", 1, data);
	r = walk(&s, data, t->root);
	free(s.vars);
	if (r > 0)
		r = 0; /* break/continue cannot escape a template (the parser checks) */
	return r;
}

static void exec_init(struct exec *x, const struct tmpl_exec_opts *o)
{
	memset(x, 0, sizeof(*x));
	x->arena = o->arena;
	x->missingkey = o->missingkey;
	x->max_steps = o->max_steps ? o->max_steps : DEFAULT_STEPS;
	x->local.steps_left = x->max_steps;
	x->budget = o->budget ? o->budget : &x->local;
	if (o->budget && !o->max_steps)
		x->max_steps = o->budget->steps_left;
	x->max_depth = o->max_depth ? o->max_depth : DEFAULT_DEPTH;
	x->max_output = o->max_output ? o->max_output : DEFAULT_OUTPUT;
	x->payload = o->payload;
	x->check = 1024;
	x->max_stack = o->max_stack ? o->max_stack : DEFAULT_STACK;
}

int tmpl_exec(const struct tmpl_set *s, const char *name, struct tmpl_val data,
	      const struct tmpl_exec_opts *opts, struct buf *out, struct tmpl_error *reterr)
{
	struct exec x;
	struct tree *t = tmpl__lookup(s, name);
	struct tmpl_error local = TMPL_ERROR_INIT;
	struct tmpl_error *err = reterr ? reterr : &local;
	int r;

	if (!t) {
		struct buf m = BUF_INIT(1 << 16);

		(void)buf_adds(&m, "template: no template ");
		(void)tmpl_quote(&m, name, strlen(name));
		(void)buf_adds(&m, " associated with template ");
		(void)tmpl_quote(&m, s->root_name, strlen(s->root_name));
		tmpl__error_set(reterr, TMPL_ERR_OTHER, -ENOENT, m.buf, NULL, 0, -1, NULL, NULL,
				m.buf);
		buf_release(&m);
		return -ENOENT;
	}
	if (!opts || !opts->arena) {
		tmpl__error_set(reterr, TMPL_ERR_OTHER, -EINVAL, "template: no arena to execute in",
				NULL, 0, -1, NULL, NULL, "no arena");
		return -EINVAL;
	}
	exec_init(&x, opts);
	x.stack_base = (uintptr_t)__builtin_frame_address(0);
	data.boxed = 0;
	r = exec_tree(NULL, &x, s, t, data, out, 0, err);
	if (!reterr)
		tmpl_error_release(&local);
	return r;
}

/* ---------------------------------------------------------------- include and tpl */

/* Run `t` of `set` with `data` into a new string for a function. */
static int ctx_run(struct tmpl_ctx *ctx, const struct tmpl_set *set, struct tree *t,
		   struct tmpl_val data, struct tmpl_val *ret)
{
	struct state *s = ctx->s;
	struct tmpl_error err = TMPL_ERROR_INIT;
	struct buf out = BUF_INIT(s->x->max_output);
	int r;

	if (s->depth >= s->x->max_depth) {
		return tmpl_ctx_fail(ctx, -E2BIG, "exceeded maximum template depth (%u)",
				     s->x->max_depth);
	}
	if (s->x->nest >= MAX_NEST)
		return tmpl_ctx_fail(ctx, -E2BIG, "templates nest more than %u levels", MAX_NEST);
	if (stack_used(s->x) > s->x->max_stack)
		return tmpl_ctx_fail(ctx, -E2BIG,
				     "templates nest too deeply (more than %zu KiB of stack)",
				     s->x->max_stack >> 10);
	s->x->nest++;
	data.boxed = 0;
	r = exec_tree(s, s->x, set, t, data, &out, s->depth + 1, &err);
	s->x->nest--;
	if (r < 0) {
		buf_release(&out);
		r = tmpl_ctx_fail(ctx, r, "%s", err.msg ? err.msg : "execution failed");
		tmpl_error_release(&err);
		return r;
	}
	*ret = tmpl_str_buf(s->x->arena, &out);
	buf_release(&out);
	return 0;
}

int tmpl_ctx_include(struct tmpl_ctx *ctx, const char *name, struct tmpl_val data,
		     struct tmpl_val *ret)
{
	struct tree *t = tmpl__lookup(ctx->s->set, name);

	if (!t) {
		struct buf m = BUF_INIT(1 << 16);
		const char *root = ctx->s->set->root_name;
		int r;

		(void)buf_adds(&m, "template: no template ");
		(void)tmpl_quote(&m, name, strlen(name));
		(void)buf_adds(&m, " associated with template ");
		(void)tmpl_quote(&m, root, strlen(root));
		r = tmpl_ctx_fail(ctx, -ENOENT, "%s", m.buf);
		buf_release(&m);
		return r;
	}
	return ctx_run(ctx, ctx->s->set, t, data, ret);
}

int tmpl_ctx_tpl(struct tmpl_ctx *ctx, const char *text, size_t len, struct tmpl_val data,
		 struct tmpl_val *ret, bool *ret_parse_failed)
{
	struct state *s = ctx->s;
	struct tmpl_set *ov;
	struct tmpl_error err = TMPL_ERROR_INIT;
	struct tree *top = NULL;
	const struct tmpl_set *saved;
	int r;

	if (ret_parse_failed)
		*ret_parse_failed = false;
	r = tmpl_ctx_reserve(ctx, len * 4);
	if (r < 0)
		return r;
	ov = tmpl__overlay(s->set, s->x->arena);
	r = tmpl__parse_top(ov, s->x->arena, ov->root_name, text, len, &top, &err);
	if (r < 0) {
		if (ret_parse_failed)
			*ret_parse_failed = true;
		r = tmpl_ctx_fail(ctx, r, "%s", err.msg ? err.msg : "parse failed");
		tmpl_error_release(&err);
		tmpl_set_free(ov);
		return r;
	}
	/* Includes inside the text see its definitions: run in the overlay. */
	saved = s->set;
	s->set = ov;
	r = ctx_run(ctx, ov, top, data, ret);
	s->set = saved;
	tmpl_set_free(ov);
	return r;
}

int tmpl_ctx_call(struct tmpl_ctx *ctx, const char *name, const struct tmpl_val *args,
		  size_t nargs, struct tmpl_val *ret)
{
	const struct tmpl__func *fn = hmap_get(&ctx->s->set->funcs->map, name);
	struct tmpl_ctx sub = { .s = ctx->s, .fn = fn, .name = name };
	struct tmpl_val *argv;
	int r;

	if (!fn || (!fn->fn && fn->builtin == BI_NONE) || fn->builtin == BI_AND ||
	    fn->builtin == BI_OR || fn->builtin == BI_CALL)
		return tmpl_ctx_errorf(ctx, "function \"%s\" not defined", name);
	if (fn->variadic ? nargs < fn->nparams - 1 : nargs != fn->nparams)
		return tmpl_ctx_errorf(ctx, "wrong number of args for %s: want %u got %zu", name,
				       fn->nparams, nargs);
	argv = tmpl_alloc(ctx->s->x->arena, (nargs ? nargs : 1) * sizeof(*argv));
	for (size_t i = 0; i < nargs; i++) {
		char t = fn->types[i < fn->nparams ? i : fn->nparams - 1], msg[256];

		argv[i] = args[i];
		if (convert_arg(&argv[i], t, msg, sizeof(msg)) < 0)
			return tmpl_ctx_errorf(ctx, "%s", msg);
	}
	buf_init(&sub.msg, 1 << 20);
	r = fn->fn(&sub, argv, nargs, ret, fn->payload);
	if (r < 0)
		(void)tmpl_ctx_fail(ctx, r, "%s", sub.msg.buf);
	buf_release(&sub.msg);
	return r;
}
