/*
 * test_tmpl.c: lib/tmpl through its public API: the arena and values,
 * registering functions and types, the function context (include, tpl,
 * call, errors), the error records, and every limit.  What Go and Helm do
 * with templates is checked against them in test/unit/tmpl_diff.sh; here
 * are the parts only lib/tmpl has.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "harness.h"
#include "tmpl/tmpl.h"
#include "yj/yj.h"

/* ---------------------------------------------------------------- helpers */

struct env {
	struct tmpl_funcs *f;
	struct tmpl_set *set;
	struct tmpl_arena *a;
	struct tmpl_exec_opts xo;
	struct buf out;
	struct tmpl_error err;
};

static void env_init(struct env *e)
{
	memset(e, 0, sizeof(*e));
	e->f = tmpl_funcs_new();
	tmpl_funcs_add_data(e->f);
	e->a = tmpl_arena_new(64u << 20);
	e->xo.arena = e->a;
	buf_init(&e->out, 1u << 24);
}

static void env_release(struct env *e)
{
	buf_release(&e->out);
	tmpl_error_release(&e->err);
	tmpl_set_free(e->set);
	tmpl_arena_free(e->a);
	tmpl_funcs_free(e->f);
}

/* Parse `text` as "t" into a fresh set (functions must be registered first). */
static int env_parse(struct env *e, const char *text)
{
	tmpl_set_free(e->set);
	e->set = tmpl_set_new(e->f, NULL);
	tmpl_error_release(&e->err);
	return tmpl_set_parse(e->set, "t", text, strlen(text), &e->err);
}

static struct tmpl_val values(struct env *e, const char *yaml)
{
	cJSON *j = NULL;
	struct op_err err;
	struct tmpl_val v = tmpl_invalid();

	if (yaml) {
		ASSERT_OK(yj_parse_one(yaml, strlen(yaml), &j, &err));
		ASSERT_OK(tmpl_from_json(e->a, j, 0, &v));
		cJSON_Delete(j);
	}
	return v;
}

/* Parse and run `text` with dot = values(yaml); returns tmpl_exec's result. */
static int run(struct env *e, const char *text, const char *yaml)
{
	int r = env_parse(e, text);

	if (r < 0)
		return r;
	buf_reset(&e->out);
	tmpl_error_release(&e->err);
	return tmpl_exec(e->set, "t", values(e, yaml), &e->xo, &e->out, &e->err);
}

/* ---------------------------------------------------------------- arena and values */

TEST(arena_counts_and_adopts)
{
	struct tmpl_arena *a = tmpl_arena_new(1000);
	char *p = tmpl_alloc(a, 10), *big;

	ASSERT_NOT_NULL(p);
	ASSERT_EQ(p[9], 0);
	ASSERT_EQ(tmpl_arena_used(a), 16);
	ASSERT_EQ(tmpl_arena_max(a), 1000);
	/* Past the budget still allocates; the executor checks. */
	big = tmpl_alloc(a, 100000);
	big[99999] = 'x';
	ASSERT(tmpl_arena_used(a) > 1000);
	tmpl_arena_adopt(a, xstrdup("adopted"), 8);
	ASSERT_STREQ(tmpl_memdup(a, "abc", 2), "ab");
	ASSERT_NULL(tmpl_arena_free(a));
	ASSERT_NULL(tmpl_arena_free(NULL));
}

TEST(map_keeps_sorted_order)
{
	struct tmpl_arena *a = tmpl_arena_new(0);
	struct tmpl_map *m = tmpl_map_new(a, TMPL_NIL);
	const char *keys[] = { "b", "a", "B", "ab", "", "a\0z", "zz" };
	size_t lens[] = { 1, 1, 1, 2, 0, 3, 2 };

	for (size_t i = 0; i < 7; i++)
		tmpl_map_set(m, keys[i], lens[i], tmpl_int((int64_t)i));
	tmpl_map_set(m, "b", 1, tmpl_int(100));
	ASSERT_EQ(m->n, 7);
	for (size_t i = 1; i < m->n; i++) {
		size_t k = MIN(m->e[i - 1].klen, m->e[i].klen);
		int c = memcmp(m->e[i - 1].key, m->e[i].key, k);

		ASSERT(c < 0 || (c == 0 && m->e[i - 1].klen < m->e[i].klen));
	}
	ASSERT_EQ(tmpl_map_get(m, "b", 1)->i, 100);
	ASSERT_EQ(tmpl_map_get(m, "a\0z", 3)->i, 5);
	ASSERT_NULL(tmpl_map_get(m, "c", 1));
	ASSERT(tmpl_map_del(m, "ab", 2));
	ASSERT(!tmpl_map_del(m, "ab", 2));
	ASSERT_EQ(m->n, 6);
	ASSERT_NULL(tmpl_map_get(NULL, "x", 1));
	tmpl_arena_free(a);
}

TEST(value_types_truth_and_equality)
{
	struct tmpl_arena *a = tmpl_arena_new(0);
	struct tmpl_list *l = tmpl_list_new(a, TMPL_STRING, 2, 4);
	struct tmpl_val s = tmpl_strz(a, "x"), lv = tmpl_list_val(l), other;
	static const struct tmpl_type named = { .name = "chartutil.Values", .kind = "map" };
	struct tmpl_val mv = tmpl_named(tmpl_map_val(tmpl_map_new(a, TMPL_NIL)), &named);

	ASSERT_STREQ(tmpl_type_name(&lv), "[]string");
	ASSERT_STREQ(tmpl_kind_name(&lv), "slice");
	ASSERT_STREQ(tmpl_type_name(&mv), "chartutil.Values");
	ASSERT_STREQ(tmpl_kind_name(&mv), "map");
	ASSERT_STREQ(tmpl_type_name(&(struct tmpl_val){ .kind = TMPL_NIL }), "<nil>");
	ASSERT_STREQ(l->v[0].s.p, ""); /* the element type's zero */
	ASSERT(tmpl_truth(&s));
	ASSERT(tmpl_truth(&lv));
	ASSERT(!tmpl_truth(&mv));
	ASSERT(!tmpl_truth(&(struct tmpl_val){ .kind = TMPL_FLOAT64, .f = 0 }));
	tmpl_list_push(a, l, tmpl_strz(a, "y"));
	ASSERT_EQ(tmpl_len(&lv), 3);
	other = tmpl_list_val(tmpl_list_new(a, TMPL_STRING, 0, 0));
	tmpl_list_push(a, other.l, tmpl_strz(a, ""));
	tmpl_list_push(a, other.l, tmpl_strz(a, ""));
	tmpl_list_push(a, other.l, tmpl_strz(a, "y"));
	ASSERT(tmpl_deep_equal(&lv, &other));
	other.l->elem = TMPL_NIL;
	ASSERT(!tmpl_deep_equal(&lv, &other)); /* []string vs []interface {} */
	ASSERT(!tmpl_deep_equal(&(struct tmpl_val){ .kind = TMPL_INT, .i = 1 },
				&(struct tmpl_val){ .kind = TMPL_INT64, .i = 1 }));
	tmpl_arena_free(a);
}

TEST(json_round_trip_and_errors)
{
	struct tmpl_arena *a = tmpl_arena_new(0);
	const char *text = "{\"a\":[1,2.5,\"x\",null,true],\"b\":{\"c\":{}}}";
	cJSON *in = cJSON_Parse(text), *out = NULL;
	struct tmpl_val v;
	struct op_err err;
	struct buf b = BUF_INIT(1 << 16);
	char *printed;

	ASSERT_OK(tmpl_from_json(a, in, 0, &v));
	ASSERT_EQ(v.kind, TMPL_MAP);
	ASSERT_EQ(tmpl_map_get(v.m, "a", 1)->l->v[0].kind, TMPL_FLOAT64);
	ASSERT_OK(tmpl_to_json(&v, &out, &err));
	printed = cJSON_PrintUnformatted(out);
	ASSERT_STREQ(printed, text);
	free(printed);
	cJSON_Delete(out);
	ASSERT_OK(tmpl_to_json_text(&v, true, &b, &err));
	ASSERT_STREQ(b.buf, text);
	/* Integers from the API server stay int64 with TMPL_JSON_INT64. */
	ASSERT_OK(tmpl_from_json(a, in, TMPL_JSON_INT64, &v));
	ASSERT_EQ(tmpl_map_get(v.m, "a", 1)->l->v[0].kind, TMPL_INT64);
	ASSERT_EQ(tmpl_map_get(v.m, "a", 1)->l->v[1].kind, TMPL_FLOAT64);
	/* NaN cannot be marshaled: Go's message. */
	buf_reset(&b);
	ASSERT_EQ(tmpl_to_json_text(&(struct tmpl_val){ .kind = TMPL_FLOAT64, .f = 0.0 / 0.0 },
				    true, &b, &err),
		  -EINVAL);
	ASSERT_STREQ(err.msg, "json: unsupported value: NaN");
	ASSERT_EQ(b.len, 0);
	ASSERT_EQ(tmpl_parse_json(a, "[1,", 3, &v, &err), -EINVAL);
	ASSERT_STREQ(err.msg, "unexpected end of JSON input");
	ASSERT_EQ(tmpl_parse_json(a, "{\"a\":x}", 7, &v, &err), -EINVAL);
	ASSERT_STREQ(err.msg, "invalid character 'x' looking for beginning of value");
	cJSON_Delete(in);
	buf_release(&b);
	tmpl_arena_free(a);
}

TEST(fmt_and_strconv)
{
	struct buf b = BUF_INIT(1 << 16);
	struct tmpl_val args[] = { tmpl_int(42), tmpl_str_ref("s", 1), tmpl_float(1e6), tmpl_nil() };

	ASSERT_OK(tmpl_sprintf(&b, "%05d|%-3s|%v|%v|%d", 18, args, 4));
	ASSERT_STREQ(b.buf, "00042|s  |1e+06|<nil>|%!d(MISSING)");
	buf_reset(&b);
	ASSERT_OK(tmpl_sprint(&b, args, 3));
	ASSERT_STREQ(b.buf, "42s1e+06"); /* no space next to a string */
	buf_reset(&b);
	ASSERT_OK(tmpl_quote(&b, "a\"\n\x01é\xff", 7));
	ASSERT_STREQ(b.buf, "\"a\\\"\\n\\x01é\\xff\"");
	buf_reset(&b);
	ASSERT_OK(tmpl_format_float(&b, 0.1 + 0.2, 'g', -1, 64));
	ASSERT_STREQ(b.buf, "0.30000000000000004");
	buf_reset(&b);
	ASSERT_OK(tmpl_format_float(&b, 123456789, 'e', -1, 64));
	ASSERT_STREQ(b.buf, "1.23456789e+08");
	buf_reset(&b);
	ASSERT_OK(tmpl_format_float(&b, 1.0 / 3, 'g', -1, 32));
	ASSERT_STREQ(b.buf, "0.33333334");
	/* A buffer's maximum bounds the output. */
	{
		struct buf small = BUF_INIT(4);

		ASSERT_EQ(tmpl_sprintf(&small, "%s", 2, (struct tmpl_val[]){ tmpl_str_ref("toolong", 7) }, 1),
			  -EFBIG);
		buf_release(&small);
	}
	buf_release(&b);
}

/* ---------------------------------------------------------------- parsing */

TEST(parse_error_record)
{
	struct env e;

	env_init(&e);
	ASSERT_EQ(env_parse(&e, "a\nb\n{{ nosuch 1 }}"), -EINVAL);
	ASSERT_EQ(e.err.kind, TMPL_ERR_PARSE);
	ASSERT_EQ(e.err.code, -EINVAL);
	ASSERT_STREQ(e.err.msg, "template: t:3: function \"nosuch\" not defined");
	ASSERT_STREQ(e.err.name, "t");
	ASSERT_EQ(e.err.line, 3);
	ASSERT_STREQ(e.err.cause, "function \"nosuch\" not defined");
	env_release(&e);
}

TEST(failed_parse_leaves_set_unchanged)
{
	struct env e;
	const char *good = "{{ define \"x\" }}one{{ end }}";
	const char *bad = "{{ define \"x\" }}two{{ end }}{{ if }}";

	env_init(&e);
	e.set = tmpl_set_new(e.f, NULL);
	ASSERT_OK(tmpl_set_parse(e.set, "a", good, strlen(good), NULL));
	ASSERT(tmpl_set_parse(e.set, "b", bad, strlen(bad), &e.err) < 0);
	ASSERT(!tmpl_set_has(e.set, "b"));
	ASSERT_OK(tmpl_exec(e.set, "x", tmpl_invalid(), &e.xo, &e.out, NULL));
	ASSERT_STREQ(e.out.buf, "one");
	env_release(&e);
}

/* A failed parse large enough to fill several arena chunks (and to need
 * one of its own for its text) rolls all of them back; the set still
 * parses and runs after it. */
TEST(failed_big_parse_rolls_back_the_arena)
{
	struct env e;
	const char *good = "{{ define \"x\" }}one{{ end }}";
	const char *after = "{{ define \"y\" }}{{ template \"x\" }}{{ 42 }}{{ end }}";
	struct buf bad = BUF_INIT((size_t)-2);

	for (int i = 0; i < 6000; i++)
		ASSERT_OK(buf_adds(&bad, "{{ .a.b }}{{ 7 }}"));
	ASSERT_OK(buf_adds(&bad, "{{ if }}"));
	env_init(&e);
	e.set = tmpl_set_new(e.f, NULL);
	ASSERT_OK(tmpl_set_parse(e.set, "a", good, strlen(good), NULL));
	for (int i = 0; i < 3; i++) {
		tmpl_error_release(&e.err);
		ASSERT(tmpl_set_parse(e.set, "b", bad.buf, bad.len, &e.err) < 0);
	}
	ASSERT(!tmpl_set_has(e.set, "b"));
	ASSERT_OK(tmpl_set_parse(e.set, "c", after, strlen(after), NULL));
	ASSERT_OK(tmpl_exec(e.set, "y", tmpl_invalid(), &e.xo, &e.out, NULL));
	ASSERT_STREQ(e.out.buf, "one42");
	buf_release(&bad);
	env_release(&e);
}

TEST(define_overrides_follow_parse_order)
{
	struct env e;
	const char *first = "{{ define \"d\" }}first{{ end }}";
	const char *second = "{{ define \"d\" }}second{{ end }}";
	const char *empty = "{{ define \"d\" }}  {{/* nothing */}}{{ end }}";

	env_init(&e);
	e.set = tmpl_set_new(e.f, NULL);
	ASSERT_OK(tmpl_set_parse(e.set, "1", first, strlen(first), NULL));
	ASSERT_OK(tmpl_set_parse(e.set, "2", second, strlen(second), NULL));
	ASSERT_OK(tmpl_set_parse(e.set, "3", empty, strlen(empty), NULL));
	ASSERT_OK(tmpl_exec(e.set, "d", tmpl_invalid(), &e.xo, &e.out, NULL));
	ASSERT_STREQ(e.out.buf, "second");
	ASSERT_STREQ(tmpl_set_root_name(e.set), "gotpl");
	env_release(&e);
}

TEST(parse_limits)
{
	struct env e;
	struct tmpl_set_opts so = TMPL_SET_OPTS_INIT;
	struct buf t = BUF_INIT(1 << 20);

	env_init(&e);
	for (int i = 0; i < 2000; i++)
		(void)buf_adds(&t, "{{ if true }}");
	e.set = tmpl_set_new(e.f, &so);
	ASSERT_EQ(tmpl_set_parse(e.set, "deep", t.buf, t.len, &e.err), -E2BIG);
	ASSERT_CONTAINS(e.err.msg, "max expression depth exceeded");
	buf_reset(&t);
	(void)buf_adds(&t, "{{ ");
	for (int i = 0; i < 2000; i++)
		(void)buf_addch(&t, '(');
	(void)buf_addch(&t, '1');
	for (int i = 0; i < 2000; i++)
		(void)buf_addch(&t, ')');
	(void)buf_adds(&t, " }}");
	tmpl_error_release(&e.err);
	ASSERT_EQ(tmpl_set_parse(e.set, "parens", t.buf, t.len, &e.err), -E2BIG);
	ASSERT_CONTAINS(e.err.msg, "max expression depth exceeded");
	so.max_text_bytes = 10;
	tmpl_set_free(e.set);
	e.set = tmpl_set_new(e.f, &so);
	tmpl_error_release(&e.err);
	ASSERT_EQ(tmpl_set_parse(e.set, "big", "01234567890", 11, &e.err), -EFBIG);
	buf_release(&t);
	env_release(&e);
}

/* ---------------------------------------------------------------- execution */

TEST(exec_error_record)
{
	struct env e;

	env_init(&e);
	e.xo.missingkey = TMPL_MISSINGKEY_ZERO;
	ASSERT_EQ(run(&e, "ok\n  {{ .a.b }}", "x: 1"), -EINVAL);
	ASSERT_EQ(e.err.kind, TMPL_ERR_EXEC);
	ASSERT_STREQ(e.err.msg,
		     "template: t:2:7: executing \"t\" at <.a.b>: nil pointer evaluating interface {}.b");
	ASSERT_STREQ(e.err.tmpl, "t");
	ASSERT_STREQ(e.err.context, ".a.b");
	ASSERT_STREQ(e.err.cause, "nil pointer evaluating interface {}.b");
	ASSERT_EQ(e.err.line, 2);
	ASSERT_EQ(e.err.col, 7); /* Go points at ".b", the second field token */
	/* Output written before the error stays, as in Go. */
	ASSERT_STREQ(e.out.buf, "ok\n  ");
	env_release(&e);
}

TEST(exec_unknown_template)
{
	struct env e;

	env_init(&e);
	ASSERT_OK(env_parse(&e, "x"));
	ASSERT_EQ(tmpl_exec(e.set, "nope", tmpl_invalid(), &e.xo, &e.out, &e.err), -ENOENT);
	ASSERT_EQ(e.err.kind, TMPL_ERR_OTHER);
	ASSERT_STREQ(e.err.msg, "template: no template \"nope\" associated with template \"gotpl\"");
	env_release(&e);
}

TEST(missingkey_modes)
{
	struct env e;

	env_init(&e);
	ASSERT_OK(run(&e, "[{{ .a }}][{{ .a.b }}]", "x: 1"));
	ASSERT_STREQ(e.out.buf, "[<no value>][<no value>]");
	e.xo.missingkey = TMPL_MISSINGKEY_ZERO;
	ASSERT_OK(run(&e, "[{{ .a }}]", "x: 1"));
	ASSERT_STREQ(e.out.buf, "[<no value>]");
	e.xo.missingkey = TMPL_MISSINGKEY_ERROR;
	ASSERT_EQ(run(&e, "{{ .a }}", "x: 1"), -EINVAL);
	ASSERT_CONTAINS(e.err.msg, "map has no entry for key \"a\"");
	env_release(&e);
}

TEST(limit_steps)
{
	struct env e;

	env_init(&e);
	e.xo.max_steps = 10000;
	ASSERT_EQ(run(&e, "{{ range 100000000 }}{{ end }}", NULL), -ETIME);
	ASSERT_EQ(e.err.kind, TMPL_ERR_EXEC);
	ASSERT_CONTAINS(e.err.msg, "step budget of 10000 exceeded");
	env_release(&e);
}

TEST(limit_steps_shared_budget)
{
	struct env e;
	struct tmpl_budget b = { .steps_left = 1000 };
	uint64_t used;

	env_init(&e);
	e.xo.budget = &b;
	ASSERT_OK(run(&e, "{{ range 10 }}{{ . }}{{ end }}", NULL));
	used = 1000 - b.steps_left;
	ASSERT(used > 10);
	/* What is left carries over to the next execution. */
	b.steps_left = used + used / 2;
	ASSERT_OK(run(&e, "{{ range 10 }}{{ . }}{{ end }}", NULL));
	ASSERT_EQ(b.steps_left, used / 2);
	ASSERT_EQ(run(&e, "{{ range 10 }}{{ . }}{{ end }}", NULL), -ETIME);
	ASSERT_EQ(b.steps_left, 0);
	env_release(&e);
}

TEST(limit_template_depth)
{
	struct env e;

	env_init(&e);
	e.xo.max_depth = 50;
	ASSERT_EQ(run(&e, "{{ define \"r\" }}{{ template \"r\" . }}{{ end }}{{ template \"r\" . }}",
		      NULL),
		  -E2BIG);
	ASSERT_CONTAINS(e.err.msg, "exceeded maximum template depth (50)");
	/* The default holds a runaway recursion too. */
	e.xo.max_depth = 0;
	ASSERT_EQ(run(&e, "{{ define \"r\" }}{{ template \"r\" . }}{{ end }}{{ template \"r\" . }}",
		      NULL),
		  -E2BIG);
	env_release(&e);
}

TEST(limit_output)
{
	struct env e;

	env_init(&e);
	e.xo.max_output = 1000;
	ASSERT_EQ(run(&e, "{{ range 10000 }}xxxxxxxxxx{{ end }}", NULL), -EFBIG);
	ASSERT_CONTAINS(e.err.msg, "output exceeds the limit of 1000 bytes");
	ASSERT(e.out.len <= 1000);
	env_release(&e);
}

TEST(limit_memory)
{
	struct env e;
	const char *t = "{{ $s := \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\" }}"
			"{{ range 100000 }}{{ $s = printf \"%s%s\" $s \"y\" }}{{ end }}";

	memset(&e, 0, sizeof(e));
	e.f = tmpl_funcs_new();
	e.a = tmpl_arena_new(1u << 20);
	e.xo.arena = e.a;
	e.xo.max_steps = 1u << 30;
	buf_init(&e.out, 1u << 24);
	ASSERT_EQ(run(&e, t, NULL), -ENOMEM);
	ASSERT_CONTAINS(e.err.msg, "memory limit of 1048576 bytes exceeded");
	env_release(&e);
}

/* ---------------------------------------------------------------- functions */

static int fn_pair(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n,
		   struct tmpl_val *ret, void *payload)
{
	int *calls = payload;

	(*calls)++;
	*ret = tmpl_strf(tmpl_ctx_arena(ctx), "%s:%lld:%zu", a[0].s.p, (long long)a[1].i, n);
	return 0;
}

static int fn_boom(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n,
		   struct tmpl_val *ret, void *payload)
{
	return tmpl_ctx_errorf(ctx, "boom %s (%s)", a[0].s.p, tmpl_ctx_func_name(ctx));
}

TEST(register_and_check_arguments)
{
	struct env e;
	int calls = 0;

	env_init(&e);
	ASSERT_OK(tmpl_funcs_add(e.f, "pair", "siv*", fn_pair, &calls));
	ASSERT_OK(tmpl_funcs_add(e.f, "boom", "s", fn_boom, NULL));
	ASSERT_EQ(tmpl_funcs_add(e.f, "bad name", "s", fn_boom, NULL), -EINVAL);
	ASSERT_EQ(tmpl_funcs_add(e.f, "badspec", "sz", fn_boom, NULL), -EINVAL);
	ASSERT_EQ(tmpl_funcs_add(e.f, "badvar", "*s", fn_boom, NULL), -EINVAL);
	ASSERT(tmpl_funcs_has(e.f, "pair"));
	ASSERT(tmpl_funcs_has(e.f, "printf"));
	ASSERT_OK(run(&e, "{{ pair \"a\" 3 }} {{ pair \"b\" 4 nil 5 }} {{ 7 | pair \"c\" }}", NULL));
	ASSERT_STREQ(e.out.buf, "a:3:2 b:4:4 c:7:2");
	ASSERT_EQ(calls, 3);
	ASSERT_EQ(run(&e, "{{ pair .s 3 }}", "s: 1"), -EINVAL);
	ASSERT_CONTAINS(e.err.msg, "wrong type for value; expected string; got float64");
	ASSERT_EQ(run(&e, "{{ pair \"a\" \"x\" }}", NULL), -EINVAL);
	ASSERT_CONTAINS(e.err.msg, "expected integer; found \"x\"");
	ASSERT_EQ(run(&e, "{{ pair \"a\" }}", NULL), -EINVAL);
	ASSERT_CONTAINS(e.err.msg, "wrong number of args for pair: want at least 2 got 1");
	ASSERT_EQ(run(&e, "{{ boom \"x\" }}", NULL), -EINVAL);
	ASSERT_STREQ(e.err.msg, "template: t:1:3: executing \"t\" at <boom \"x\">: error calling "
				"boom: boom x (boom)");
	/* Removing a function: the name is unknown to later parses. */
	ASSERT_OK(tmpl_funcs_remove(e.f, "boom"));
	ASSERT_EQ(tmpl_funcs_remove(e.f, "boom"), -ENOENT);
	ASSERT_EQ(env_parse(&e, "{{ boom \"x\" }}"), -EINVAL);
	env_release(&e);
}

static int fn_inc(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n, struct tmpl_val *ret,
		  void *payload)
{
	return tmpl_ctx_include(ctx, a[0].s.p, a[1], ret);
}

static int fn_tpl(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n, struct tmpl_val *ret,
		  void *payload)
{
	bool parse_failed = false;
	int r = tmpl_ctx_tpl(ctx, a[0].s.p, a[0].s.n, a[1], ret, &parse_failed);

	if (r < 0) {
		char *m = xstrdup(tmpl_ctx_message(ctx));

		r = tmpl_ctx_fail(ctx, r, "%s: %s", parse_failed ? "parse" : "exec", m);
		free(m);
	}
	return r;
}

static int fn_twice(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n,
		    struct tmpl_val *ret, void *payload)
{
	struct tmpl_val args[2] = { tmpl_str_ref("%s%s", 4), a[0] };
	struct tmpl_val both[3] = { args[0], a[0], a[0] };

	(void)args;
	return tmpl_ctx_call(ctx, "printf", both, 3, ret);
}

static int fn_badcall(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n,
		      struct tmpl_val *ret, void *payload)
{
	struct tmpl_val arg = tmpl_int(1);

	/* printf's format must be a string: the same check as in a template. */
	return tmpl_ctx_call(ctx, "printf", &arg, 1, ret);
}

static int fn_payload(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n,
		      struct tmpl_val *ret, void *payload)
{
	*ret = tmpl_strz(tmpl_ctx_arena(ctx), tmpl_ctx_payload(ctx));
	return 0;
}

static int fn_limits(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n,
		     struct tmpl_val *ret, void *payload)
{
	uint64_t left = tmpl_ctx_steps_left(ctx);
	int r = tmpl_ctx_steps(ctx, 5);

	if (r < 0)
		return r;
	*ret = tmpl_strf(tmpl_ctx_arena(ctx), "%d/%u/%u", left - tmpl_ctx_steps_left(ctx) == 5,
			 tmpl_ctx_depth(ctx), tmpl_ctx_max_depth(ctx));
	return 0;
}

TEST(context_include_tpl_call_payload)
{
	struct env e;

	env_init(&e);
	ASSERT_OK(tmpl_funcs_add(e.f, "inc", "sv", fn_inc, NULL));
	ASSERT_OK(tmpl_funcs_add(e.f, "tpl", "sv", fn_tpl, NULL));
	ASSERT_OK(tmpl_funcs_add(e.f, "twice", "v", fn_twice, NULL));
	ASSERT_OK(tmpl_funcs_add(e.f, "payload", "", fn_payload, NULL));
	ASSERT_OK(tmpl_funcs_add(e.f, "badcall", "", fn_badcall, NULL));
	ASSERT_OK(tmpl_funcs_add(e.f, "limits", "", fn_limits, NULL));
	e.xo.payload = (void *)"the payload";
	ASSERT_OK(run(&e,
		      "{{ define \"d\" }}<{{ . }}>{{ end }}{{ inc \"d\" 1 | len }} "
		      "{{ tpl \"{{ define \\\"e\\\" }}E{{ end }}{{ inc \\\"e\\\" . }}{{ . }}\" 2 }} "
		      "{{ twice \"ab\" }} {{ payload }}",
		      NULL));
	ASSERT_STREQ(e.out.buf, "3 E2 abab the payload");
	ASSERT_OK(run(&e, "{{ limits }} {{ define \"l\" }}{{ limits }}{{ end }}{{ inc \"l\" . }}", NULL));
	ASSERT_STREQ(e.out.buf, "1/0/1000 1/1/1000");
	ASSERT_EQ(run(&e, "{{ badcall }}", NULL), -EINVAL);
	ASSERT_CONTAINS(e.err.msg, "error calling badcall: wrong type for value; expected string; got int");
	/* Definitions made by tpl vanish afterwards. */
	ASSERT_EQ(run(&e, "{{ tpl \"{{ define \\\"e\\\" }}E{{ end }}\" . }}{{ inc \"e\" . }}", NULL),
		  -ENOENT);
	ASSERT_CONTAINS(e.err.msg, "error calling inc: template: no template \"e\" associated with "
				   "template \"gotpl\"");
	ASSERT_EQ(run(&e, "{{ tpl \"{{ if }}\" . }}", NULL), -EINVAL);
	ASSERT_CONTAINS(e.err.msg, "error calling tpl: parse: template: gotpl:1: missing value for if");
	ASSERT_EQ(run(&e, "{{ tpl \"{{ .a.b }}\" . }}", NULL), -EINVAL);
	ASSERT_CONTAINS(e.err.msg, "error calling tpl: exec: template: gotpl:1:5: executing \"gotpl\"");
	/* include recursion stops at the depth limit. */
	e.xo.max_depth = 20;
	ASSERT_EQ(run(&e, "{{ define \"r\" }}{{ inc \"r\" . }}{{ end }}{{ inc \"r\" . }}", NULL),
		  -E2BIG);
	ASSERT_CONTAINS(e.err.msg, "exceeded maximum template depth (20)");
	/* So does a runaway tpl. */
	ASSERT(run(&e, "{{ define \"r\" }}{{ tpl \"{{ template \\\"r\\\" . }}\" . }}{{ end }}"
		       "{{ template \"r\" . }}",
		       NULL) < 0);
	env_release(&e);
}

/* ---------------------------------------------------------------- named types */

struct point {
	int64_t x, y;
};

static int point_field(struct tmpl_ctx *ctx, const struct tmpl_val *self, const char *name,
		       struct tmpl_val *ret)
{
	const struct point *p = self->o;

	if (strcmp(name, "X") == 0)
		*ret = tmpl_int(p->x);
	else if (strcmp(name, "Y") == 0)
		*ret = tmpl_int(p->y);
	else
		return -ENOENT;
	return 0;
}

static int point_add(struct tmpl_ctx *ctx, const struct tmpl_val *self,
		     const struct tmpl_val *args, size_t n, struct tmpl_val *ret)
{
	const struct point *p = self->o;

	*ret = tmpl_int(p->x + p->y + args[0].i);
	return 0;
}

static int point_string(const struct tmpl_val *self, struct buf *out)
{
	const struct point *p = self->o;

	return buf_addf(out, "(%lld,%lld)", (long long)p->x, (long long)p->y);
}

static cJSON *point_json(const struct tmpl_val *self)
{
	const struct point *p = self->o;
	cJSON *j = cJSON_CreateObject();

	cJSON_AddNumberToObject(j, "y", (double)p->y);
	cJSON_AddNumberToObject(j, "x", (double)p->x);
	return j;
}

static int point_gofmt(const struct tmpl_val *self, int plus, struct buf *out)
{
	const struct point *p = self->o;

	return plus ? buf_addf(out, "&{X:%lld Y:%lld}", (long long)p->x, (long long)p->y) :
		      buf_addf(out, "&{%lld %lld}", (long long)p->x, (long long)p->y);
}

static const struct tmpl_type plain_point_type = {
	.name = "*geo.Plain",
	.kind = "ptr",
	.field = point_field,
	.gofmt = point_gofmt,
};

static const struct tmpl_method point_methods[] = { { "Add", "i", point_add } };
static const struct tmpl_type point_type = {
	.name = "*geo.Point",
	.kind = "ptr",
	.methods = point_methods,
	.n_methods = 1,
	.field = point_field,
	.string = point_string,
	.to_json = point_json,
};

static int values_keys(struct tmpl_ctx *ctx, const struct tmpl_val *self,
		       const struct tmpl_val *args, size_t n, struct tmpl_val *ret)
{
	*ret = tmpl_int((int64_t)tmpl_len(self));
	return 0;
}

static const struct tmpl_method values_methods[] = { { "Count", "", values_keys } };
static const struct tmpl_type values_type = { .name = "chartutil.Values", .kind = "map",
					      .methods = values_methods, .n_methods = 1 };

TEST(objects_fields_methods_printing)
{
	struct env e;
	struct point pt = { 2, 3 };
	struct tmpl_map *m;

	env_init(&e);
	e.set = NULL;
	m = tmpl_map_new(e.a, TMPL_NIL);
	tmpl_map_set(m, "P", 1, tmpl_obj(&point_type, &pt));
	tmpl_map_set(m, "Count", 5, tmpl_str_ref("hidden", 6));
	ASSERT_OK(env_parse(&e, "{{ .P.X }} {{ .P.Add 10 }} {{ .P }} {{ printf \"%s|%v|%T|%d\" .P .P .P .P.Y }} "
				"{{ .Count }} {{ toJson .P }} {{ if .P }}true{{ end }}"));
	ASSERT_OK(tmpl_exec(e.set, "t", tmpl_named(tmpl_map_val(m), &values_type), &e.xo, &e.out,
			    &e.err));
	ASSERT_STREQ(e.out.buf, "2 15 (2,3) (2,3)|(2,3)|*geo.Point|3 2 {\"y\":3,\"x\":2} true");
	buf_reset(&e.out);
	ASSERT_OK(env_parse(&e, "{{ .P.Z }}"));
	ASSERT_EQ(tmpl_exec(e.set, "t", tmpl_map_val(m), &e.xo, &e.out, &e.err), -EINVAL);
	/* A map[string]interface{} entry: Go names the static type. */
	ASSERT_CONTAINS(e.err.msg, "can't evaluate field Z in type interface {}");
	ASSERT_OK(env_parse(&e, "{{ $p := .P }}{{ $p.Z }}"));
	tmpl_error_release(&e.err);
	ASSERT_EQ(tmpl_exec(e.set, "t", tmpl_map_val(m), &e.xo, &e.out, &e.err), -EINVAL);
	ASSERT_CONTAINS(e.err.msg, "can't evaluate field Z in type *geo.Point");
	ASSERT_OK(env_parse(&e, "{{ .P.X 1 }}"));
	tmpl_error_release(&e.err);
	ASSERT_EQ(tmpl_exec(e.set, "t", tmpl_map_val(m), &e.xo, &e.out, &e.err), -EINVAL);
	ASSERT_CONTAINS(e.err.msg, "X has arguments but cannot be invoked as function");
	env_release(&e);
}

TEST(pointer_printing)
{
	struct env e;
	struct point pt = { 4, 5 };
	struct tmpl_map *m;

	env_init(&e);
	m = tmpl_map_new(e.a, TMPL_NIL);
	tmpl_map_set(m, "P", 1, tmpl_obj(&plain_point_type, &pt));
	ASSERT_OK(env_parse(&e, "{{ .P }} {{ printf \"%v %+v\" .P .P }} {{ print .P }}"));
	ASSERT_OK(tmpl_exec(e.set, "t", tmpl_map_val(m), &e.xo, &e.out, &e.err));
	/* {{ }} prints the pointee; printf and print the pointer. */
	ASSERT_STREQ(e.out.buf, "{4 5} &{4 5} &{X:4 Y:5} &{4 5}");
	env_release(&e);
}

TEST(error_release_accepts_null_and_repeats)
{
	struct tmpl_error e = TMPL_ERROR_INIT;

	tmpl_error_release(NULL);
	tmpl_error_release(&e);
	tmpl_error_release(&e);
	ASSERT_NULL(tmpl_set_free(NULL));
	ASSERT_NULL(tmpl_funcs_free(NULL));
}
