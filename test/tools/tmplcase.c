/*
 * tmplcase: lib/tmpl's side of the template differential tests.
 *
 * Reads the case files named on the command line (format:
 * test/data/tmpl/README.md) and renders every case with lib/tmpl the way
 * test/tools/tmploracle renders it with the real implementation, printing
 * the same output format, so test/unit/tmpl_diff.sh can compare the two
 * byte for byte:
 *
 *   oracle=helm  a one-chart release as Helm's engine renders it: files
 *                named "t/templates/...", parsed in Helm's order, every
 *                non-partial file executed with missingkey=zero and
 *                "<no value>" removed from its output; data $ is a
 *                chartutil.Values with .Values, .Release and .Template;
 *                errors rewritten as Helm's cleanupParseError/
 *                cleanupExecError do.  The functions are Go's builtins,
 *                lib/tmpl's data functions, Sprig (when lib/tmpl/sprig_*.c
 *                are built in) and small stand-ins for Helm's include, tpl,
 *                required and fail (lib/helm has the real ones).
 *   oracle=go    text/template alone with the case's missingkey; dot is
 *                the values.
 *
 * `tmplcase -t FILE...` also prints the time each case took (for finding
 * slow paths).  Test tool only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "tmpl/tmpl.h"
#include "yj/yj.h"

struct file {
	char *name;
	struct buf data;
};

struct tcase {
	char *name;
	char *oracle;
	char *missingkey;
	struct file *files;
	size_t n;
};

static void out_emit(const char *tag, const char *data, size_t n)
{
	printf("@@ %s %zu\n", tag, n);
	fwrite(data, 1, n, stdout);
	putchar('\n');
}

/* ---------------------------------------------------------------- Helm's bits */

/* chartutil.Values: a named map; YAML and AsMap are enough for the cases. */
static int values_yaml(struct tmpl_ctx *ctx, const struct tmpl_val *self,
		       const struct tmpl_val *args, size_t n, struct tmpl_val *ret)
{
	struct buf b = BUF_INIT(1 << 24);
	struct op_err err;

	if (tmpl_to_yaml(self, &b, &err) < 0) {
		buf_release(&b);
		return tmpl_ctx_errorf(ctx, "%s", err.msg);
	}
	*ret = tmpl_str_buf(tmpl_ctx_arena(ctx), &b);
	buf_release(&b);
	return 0;
}

static int values_asmap(struct tmpl_ctx *ctx, const struct tmpl_val *self,
			const struct tmpl_val *args, size_t n, struct tmpl_val *ret)
{
	*ret = tmpl_map_val(self->m);
	return 0;
}

static const struct tmpl_method values_methods[] = {
	{ "YAML", "", values_yaml },
	{ "AsMap", "", values_asmap },
};

static const struct tmpl_type values_type = {
	.name = "chartutil.Values",
	.kind = "map",
	.methods = values_methods,
	.n_methods = 2,
};

/* include: what Helm's includeFun does, minus its recursion counter. */
static int fn_include(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n,
		      struct tmpl_val *ret, void *payload)
{
	return tmpl_ctx_include(ctx, a[0].s.p, a[1], ret);
}

static struct tmpl_val strip_no_value(struct tmpl_arena *a, struct tmpl_val v)
{
	struct buf b = BUF_INIT((size_t)1 << 30);
	const char *p = v.s.p, *e = v.s.p + v.s.n, *q;

	if (!memmem(p, v.s.n, "<no value>", 10))
		return v;
	while ((q = memmem(p, (size_t)(e - p), "<no value>", 10))) {
		(void)buf_add(&b, p, (size_t)(q - p));
		p = q + 10;
	}
	(void)buf_add(&b, p, (size_t)(e - p));
	v = tmpl_str_buf(a, &b);
	buf_release(&b);
	return v;
}

static int fn_tpl(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n, struct tmpl_val *ret,
		  void *payload)
{
	struct buf q = BUF_INIT(1 << 24);
	bool parse_failed;
	int r = tmpl_ctx_tpl(ctx, a[0].s.p, a[0].s.n, a[1], ret, &parse_failed);

	if (r < 0) {
		char *inner = xstrdup(tmpl_ctx_message(ctx));

		(void)tmpl_quote(&q, a[0].s.p, a[0].s.n);
		r = tmpl_ctx_fail(ctx, r, "%s %s: %s",
				  parse_failed ? "cannot parse template" :
						 "error during tpl function execution for",
				  q.buf, inner);
		free(inner);
		buf_release(&q);
		return r;
	}
	*ret = strip_no_value(tmpl_ctx_arena(ctx), *ret);
	return 0;
}

#define HELM_ERR_START "HELM_ERR_START"
#define HELM_ERR_END "HELM_ERR_END"

static int fn_required(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n,
		       struct tmpl_val *ret, void *payload)
{
	if (a[1].kind == TMPL_NIL || (a[1].kind == TMPL_STRING && a[1].s.n == 0))
		return tmpl_ctx_errorf(ctx, HELM_ERR_START "%s" HELM_ERR_END, a[0].s.p);
	*ret = a[1];
	return 0;
}

static int fn_fail(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n,
		   struct tmpl_val *ret, void *payload)
{
	return tmpl_ctx_errorf(ctx, HELM_ERR_START "%s" HELM_ERR_END, a[0].s.p);
}

/* Helm's cleanupParseError. */
static void helm_parse_error(const char *file, const char *msg, struct buf *out)
{
	const char *first = strstr(msg, ": "), *last = NULL, *p;

	if (!first) {
		(void)buf_addf(out, "parse error in (%s): %s", file, msg);
		return;
	}
	for (p = msg; (p = strstr(p, ": ")); p += 2)
		last = p;
	{
		const char *loc = first + 2, *loc_end = strstr(loc, ": ");

		if (!loc_end)
			loc_end = loc + strlen(loc);
		(void)buf_addf(out, "parse error at (%.*s): %s", (int)(loc_end - loc), loc,
			       last + 2);
	}
}

/* Helm's cleanupExecError. */
static void helm_exec_error(const char *file, const struct tmpl_error *e, struct buf *out)
{
	const char *msg = e->msg, *t1, *t2, *s, *en;

	if (e->kind != TMPL_ERR_EXEC) {
		(void)buf_adds(out, msg);
		return;
	}
	t1 = strstr(msg, ": ");
	t2 = t1 ? strstr(t1 + 2, ": ") : NULL;
	if (!t2) {
		(void)buf_addf(out, "execution error in (%s): %s", file, msg);
		return;
	}
	s = strstr(t2 + 2, HELM_ERR_START);
	en = s ? strstr(s, HELM_ERR_END) : NULL;
	if (s && en) {
		/* The regexp is greedy: up to the last end marker. */
		const char *x;

		while ((x = strstr(en + 1, HELM_ERR_END)))
			en = x;
		(void)buf_addf(out, "execution error at (%.*s): %.*s", (int)(t2 - t1 - 2), t1 + 2,
			       (int)(en - s - strlen(HELM_ERR_START)), s + strlen(HELM_ERR_START));
		return;
	}
	(void)buf_adds(out, msg);
}

/* ---------------------------------------------------------------- cases */

static char *slurp(const char *path, size_t *ret_n)
{
	struct buf b = BUF_INIT((size_t)1 << 30);
	char chunk[65536];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_add(&b, chunk, n) < 0)
			break;
	fclose(f);
	return buf_detach(&b, ret_n);
}

static char *opt(const char *line, const char *key)
{
	size_t kl = strlen(key);

	for (const char *p = line; (p = strstr(p, key)); p++) {
		if ((p == line || p[-1] == ' ') && p[kl] == '=') {
			const char *v = p + kl + 1;

			return xstrndup(v, strcspn(v, " \n"));
		}
	}
	return NULL;
}

static struct tcase *parse_cases(char *text, size_t len, size_t *ret_n)
{
	struct tcase *cases = NULL, *cur = NULL;
	size_t n = 0, alloc = 0;
	struct file *sect = NULL;
	bool nonl = false;
	char *p = text, *end = text + len;

	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *next = nl ? nl + 1 : end;
		size_t ll = (size_t)(next - p);

		if (ll >= 5 && memcmp(p, "@@@@ ", 5) == 0) {
			char *line = xstrndup(p, ll);

			if (sect && nonl && sect->data.len && sect->data.buf[sect->data.len - 1] == '\n')
				buf_truncate(&sect->data, sect->data.len - 1);
			XGROW(cases, n + 1, alloc);
			cur = &cases[n++];
			memset(cur, 0, sizeof(*cur));
			cur->name = xstrndup(line + 5, strcspn(line + 5, " \n"));
			cur->oracle = opt(line, "oracle");
			cur->missingkey = opt(line, "missingkey");
			cur->files = xnew0(struct file, 64);
			cur->n = 1;
			cur->files[0].name = xstrdup("templates/t.yaml");
			buf_init(&cur->files[0].data, (size_t)1 << 30);
			sect = &cur->files[0];
			nonl = false;
			free(line);
		} else if (cur && ll >= 3 && memcmp(p, "@@ ", 3) == 0) {
			char *line = xstrndup(p + 3, ll - 3);
			size_t nl2 = strcspn(line, " \n");

			if (sect && nonl && sect->data.len && sect->data.buf[sect->data.len - 1] == '\n')
				buf_truncate(&sect->data, sect->data.len - 1);
			if (cur->n == 64) {
				fprintf(stderr, "tmplcase: case %s: too many files\n", cur->name);
				exit(2);
			}
			sect = &cur->files[cur->n++];
			sect->name = xstrndup(line, nl2);
			buf_init(&sect->data, (size_t)1 << 30);
			nonl = strstr(line + nl2, "nonl") != NULL;
			free(line);
		} else if (cur) {
			(void)buf_add(&sect->data, p, ll);
		}
		p = next;
	}
	if (sect && nonl && sect->data.len && sect->data.buf[sect->data.len - 1] == '\n')
		buf_truncate(&sect->data, sect->data.len - 1);
	/* Drop an empty leading t.yaml when the case starts with a section. */
	for (size_t i = 0; i < n; i++) {
		struct tcase *c = &cases[i];

		if (c->n > 1 && c->files[0].data.len == 0 &&
		    strcmp(c->files[1].name, "templates/t.yaml") != 0) {
			free(c->files[0].name);
			buf_release(&c->files[0].data);
			memmove(c->files, c->files + 1, (c->n - 1) * sizeof(*c->files));
			c->n--;
		}
	}
	*ret_n = n;
	return cases;
}

/* Helm's sortTemplates order: deeper first, then reverse bytewise. */
static int helm_order(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	int cx = 0, cy = 0;

	for (const char *p = x; *p; p++)
		cx += *p == '/';
	for (const char *p = y; *p; p++)
		cy += *p == '/';
	if (cx != cy)
		return cy - cx;
	return -strcmp(x, y);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool is_partial(const char *name)
{
	const char *b = strrchr(name, '/');

	return (b ? b[1] : name[0]) == '_';
}

static int load_values(struct tmpl_arena *a, const struct tcase *c, struct tmpl_val *ret,
		       bool *present)
{
	*present = false;
	*ret = tmpl_map_val(tmpl_map_new(a, TMPL_NIL));
	for (size_t i = 0; i < c->n; i++) {
		struct yj_stream st;
		struct op_err err;

		if (strcmp(c->files[i].name, "values.yaml") != 0)
			continue;
		*present = true;
		if (yj_parse_stream(c->files[i].data.buf, c->files[i].data.len, NULL, &st, &err) < 0) {
			out_emit("ERROR", err.msg, strlen(err.msg));
			return -1;
		}
		if (st.n > 0 && cJSON_IsObject(st.docs[0]))
			(void)tmpl_from_json(a, st.docs[0], 0, ret);
		yj_stream_release(&st);
	}
	return 0;
}

static void run_case(const struct tmpl_funcs *helm_funcs, const struct tmpl_funcs *go_funcs,
		     const struct tcase *c)
{
	bool helm = !c->oracle || strcmp(c->oracle, "go") != 0;
	const struct tmpl_funcs *funcs = helm ? helm_funcs : go_funcs;
	struct tmpl_set_opts so = TMPL_SET_OPTS_INIT;
	struct tmpl_set *set;
	struct tmpl_arena *a = tmpl_arena_new(1u << 30);
	struct tmpl_exec_opts xo = { .arena = a };
	struct tmpl_budget budget = { .steps_left = 10000000 };
	struct tmpl_val values, data;
	const char **names = xnew0(const char *, c->n + 1);
	char **full = xnew0(char *, c->n + 1);
	struct buf *outs = xnew0(struct buf, c->n + 1);
	size_t nn = 0;
	bool have_values;

	so.root_name = "gotpl";
	set = tmpl_set_new(funcs, &so);
	if (load_values(a, c, &values, &have_values) < 0)
		goto out;
	for (size_t i = 0; i < c->n; i++) {
		if (strncmp(c->files[i].name, "templates/", 10) != 0)
			continue;
		full[nn] = helm ? xasprintf("t/%s", c->files[i].name) : xstrdup(c->files[i].name);
		nn++;
	}
	for (size_t i = 0; i < nn; i++)
		names[i] = full[i];
	qsort(names, nn, sizeof(*names), helm_order);
	for (size_t i = 0; i < nn; i++) {
		const char *rel = helm ? names[i] + 2 : names[i];
		struct tmpl_error err = TMPL_ERROR_INIT;
		const struct file *f = NULL;

		for (size_t k = 0; k < c->n; k++)
			if (strcmp(c->files[k].name, rel) == 0)
				f = &c->files[k];
		if (tmpl_set_parse(set, names[i], f->data.buf, f->data.len, &err) < 0) {
			struct buf m = BUF_INIT(1 << 24);

			if (helm)
				helm_parse_error(names[i], err.msg, &m);
			else
				(void)buf_adds(&m, err.msg);
			out_emit("ERROR", m.buf, m.len);
			buf_release(&m);
			tmpl_error_release(&err);
			goto out;
		}
	}
	if (helm) {
		struct tmpl_map *top = tmpl_map_new(a, TMPL_NIL), *rel = tmpl_map_new(a, TMPL_NIL);

		tmpl_map_set(rel, "Name", 4, tmpl_str_ref("release-name", 12));
		tmpl_map_set(rel, "Namespace", 9, tmpl_str_ref("default", 7));
		tmpl_map_set(rel, "IsUpgrade", 9, tmpl_bool(false));
		tmpl_map_set(rel, "IsInstall", 9, tmpl_bool(true));
		tmpl_map_set(rel, "Revision", 8, tmpl_int(1));
		tmpl_map_set(rel, "Service", 7, tmpl_str_ref("Helm", 4));
		tmpl_map_set(top, "Values", 6, tmpl_named(values, &values_type));
		tmpl_map_set(top, "Release", 7, tmpl_map_val(rel));
		tmpl_map_set(top, "Subcharts", 9, tmpl_map_val(tmpl_map_new(a, TMPL_NIL)));
		data = tmpl_named(tmpl_map_val(top), &values_type);
		xo.missingkey = TMPL_MISSINGKEY_ZERO;
		xo.budget = &budget;
	} else {
		data = have_values ? values : tmpl_invalid();
		if (c->missingkey && strcmp(c->missingkey, "zero") == 0)
			xo.missingkey = TMPL_MISSINGKEY_ZERO;
		else if (c->missingkey && strcmp(c->missingkey, "error") == 0)
			xo.missingkey = TMPL_MISSINGKEY_ERROR;
	}
	/* Execute in Helm's order (side effects on .Values carry over). */
	for (size_t i = 0; i < nn; i++) {
		struct tmpl_error err = TMPL_ERROR_INIT;

		buf_init(&outs[i], (size_t)1 << 30);
		if (is_partial(names[i]))
			continue;
		if (helm) {
			struct tmpl_map *tm = tmpl_map_new(a, TMPL_NIL);

			tmpl_map_set(tm, "Name", 4, tmpl_strz(a, names[i]));
			tmpl_map_set(tm, "BasePath", 8, tmpl_str_ref("t/templates", 11));
			tmpl_map_set(data.m, "Template", 8,
				     tmpl_named(tmpl_map_val(tm), &values_type));
		}
		if (tmpl_exec(set, names[i], data, &xo, &outs[i], &err) < 0) {
			struct buf m = BUF_INIT(1 << 24);

			if (helm)
				helm_exec_error(names[i], &err, &m);
			else
				(void)buf_adds(&m, err.msg);
			out_emit("ERROR", m.buf, m.len);
			buf_release(&m);
			tmpl_error_release(&err);
			goto out;
		}
		if (helm) {
			struct tmpl_val s = strip_no_value(a, tmpl_str_ref(outs[i].buf, outs[i].len));
			struct buf nb = BUF_INIT((size_t)1 << 30);

			(void)buf_add(&nb, s.s.p, s.s.n);
			buf_release(&outs[i]);
			outs[i] = nb;
		}
	}
	{
		/* Print in name order. */
		size_t *idx = xnew0(size_t, nn + 1);

		for (size_t i = 0; i < nn; i++)
			idx[i] = i;
		for (size_t i = 1; i < nn; i++)
			for (size_t j = i; j > 0 && by_name(&names[idx[j - 1]], &names[idx[j]]) > 0; j--) {
				size_t t = idx[j];

				idx[j] = idx[j - 1];
				idx[j - 1] = t;
			}
		for (size_t i = 0; i < nn; i++)
			if (!is_partial(names[idx[i]]))
				out_emit(names[idx[i]], outs[idx[i]].buf, outs[idx[i]].len);
		free(idx);
	}
out:
	for (size_t i = 0; i < c->n; i++)
		buf_release(&outs[i]);
	for (size_t i = 0; i < nn; i++)
		free(full[i]);
	free(outs);
	free(full);
	free(names);
	tmpl_set_free(set);
	tmpl_arena_free(a);
}

int main(int argc, char **argv)
{
	struct tmpl_funcs *funcs = tmpl_funcs_new();
	/* oracle=go: text/template's builtins alone. */
	struct tmpl_funcs *go_funcs = tmpl_funcs_new();

#ifdef TMPL_HAVE_SPRIG
	tmpl_funcs_add_sprig(funcs);
	(void)tmpl_funcs_remove(funcs, "env");
	(void)tmpl_funcs_remove(funcs, "expandenv");
#endif
	tmpl_funcs_add_data(funcs);
	(void)tmpl_funcs_add(funcs, "include", "sv", fn_include, NULL);
	(void)tmpl_funcs_add(funcs, "tpl", "sv", fn_tpl, NULL);
	(void)tmpl_funcs_add(funcs, "required", "sv", fn_required, NULL);
	(void)tmpl_funcs_add(funcs, "fail", "s", fn_fail, NULL);
	for (int i = 1; i < argc; i++) {
		size_t len, n;
		char *text = slurp(argv[i], &len);
		struct tcase *cases;
		const char *stem = strrchr(argv[i], '/');
		size_t sl;

		if (!text) {
			fprintf(stderr, "tmplcase: %s: %s\n", argv[i], strerror(errno));
			return 2;
		}
		stem = stem ? stem + 1 : argv[i];
		sl = strlen(stem);
		if (sl > 6 && strcmp(stem + sl - 6, ".cases") == 0)
			sl -= 6;
		cases = parse_cases(text, len, &n);
		for (size_t k = 0; k < n; k++) {
			printf("@@@@ %.*s/%s\n", (int)sl, stem, cases[k].name);
			run_case(funcs, go_funcs, &cases[k]);
			fflush(stdout);
		}
		for (size_t k = 0; k < n; k++) {
			for (size_t f = 0; f < cases[k].n; f++) {
				free(cases[k].files[f].name);
				buf_release(&cases[k].files[f].data);
			}
			free(cases[k].files);
			free(cases[k].name);
			free(cases[k].oracle);
			free(cases[k].missingkey);
		}
		free(cases);
		free(text);
	}
	tmpl_funcs_free(funcs);
	tmpl_funcs_free(go_funcs);
	return 0;
}
