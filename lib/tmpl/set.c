/*
 * set.c: template sets (Go's *Template namespace) and error records.
 *
 * DESIGN
 * A set maps names to parse trees (hmap, keys owned by the trees).  Each
 * tmpl_set_parse() parses into a scratch arena first and moves it into
 * the set's arena only when the parse succeeded, so a failed parse leaves
 * the set exactly as it was.  An overlay (tpl) is a set whose lookups fall
 * back to its parent and whose trees live in the execution's arena: Helm
 * clones the whole set for every tpl call, we only add what the text
 * defines.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "tmpl/internal.h"
#include "tmpl/tmpl.h"
#include "base/banned.h"

struct tmpl_set *tmpl_set_new(const struct tmpl_funcs *f, const struct tmpl_set_opts *opts)
{
	struct tmpl_set *s = xnew0(struct tmpl_set, 1);
	struct tmpl_set_opts def = TMPL_SET_OPTS_INIT;

	s->funcs = f;
	s->opts = opts ? *opts : def;
	if (!s->opts.root_name)
		s->opts.root_name = def.root_name;
	if (!s->opts.max_parse_depth)
		s->opts.max_parse_depth = def.max_parse_depth;
	if (!s->opts.max_text_bytes)
		s->opts.max_text_bytes = def.max_text_bytes;
	s->arena = tmpl_arena_new(0);
	s->owns_arena = true;
	s->root_name = tmpl_memdup(s->arena, s->opts.root_name, strlen(s->opts.root_name));
	hmap_init(&s->trees);
	return s;
}

struct tmpl_set *tmpl__overlay(const struct tmpl_set *parent, struct tmpl_arena *a)
{
	struct tmpl_set *s = xnew0(struct tmpl_set, 1);

	s->funcs = parent->funcs;
	s->parent = parent;
	s->opts = parent->opts;
	s->root_name = parent->root_name;
	s->arena = a;
	s->owns_arena = false;
	hmap_init(&s->trees);
	return s;
}

struct tmpl_set *tmpl_set_free(struct tmpl_set *s)
{
	if (!s)
		return NULL;
	hmap_release(&s->trees);
	if (s->owns_arena)
		tmpl_arena_free(s->arena);
	free(s);
	return NULL;
}

struct tree *tmpl__lookup(const struct tmpl_set *s, const char *name)
{
	for (; s; s = s->parent) {
		struct tree *t = hmap_get(&s->trees, name);

		if (t)
			return t;
	}
	return NULL;
}

int tmpl_set_parse(struct tmpl_set *s, const char *name, const char *text, size_t len,
		   struct tmpl_error *reterr)
{
	struct tmpl__arena_mark mark;
	int r;

	if (len > s->opts.max_text_bytes || s->text_bytes > s->opts.max_text_bytes - len) {
		char msg[256];

		snprintf(msg, sizeof(msg), "template: %s: text of %zu bytes exceeds the limit of %zu",
			 name, len, s->opts.max_text_bytes);
		tmpl__error_set(reterr, TMPL_ERR_PARSE, -EFBIG, msg, name, 0, -1, NULL, NULL,
				"text exceeds the size limit");
		return -EFBIG;
	}
	tmpl__arena_mark(s->arena, &mark);
	r = tmpl__parse_top(s, s->arena, name, text, len, NULL, reterr);
	if (r < 0) {
		/* The set holds trees made since the mark only on success. */
		tmpl__arena_rollback(s->arena, &mark);
		return r;
	}
	s->text_bytes += len;
	return 0;
}

bool tmpl_set_has(const struct tmpl_set *s, const char *name)
{
	return tmpl__lookup(s, name) != NULL;
}

const char *tmpl_set_root_name(const struct tmpl_set *s)
{
	return s->root_name;
}

/* ---------------------------------------------------------------- errors */

void tmpl_error_release(struct tmpl_error *e)
{
	if (!e)
		return;
	free(e->msg);
	free(e->name);
	free(e->tmpl);
	free(e->context);
	free(e->cause);
	memset(e, 0, sizeof(*e));
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void tmpl__error_set(struct tmpl_error *e, enum tmpl_error_kind kind, int code, const char *msg,
		     const char *name, int line, int col, const char *tmpl, const char *context,
		     const char *cause)
{
	if (!e)
		return;
	tmpl_error_release(e);
	e->kind = kind;
	e->code = code;
	e->msg = dup_or_null(msg);
	e->name = dup_or_null(name);
	e->line = line;
	e->col = col;
	e->tmpl = dup_or_null(tmpl);
	e->context = dup_or_null(context);
	e->cause = dup_or_null(cause);
}

void tmpl__position(const char *text, size_t pos, int *line, int *col)
{
	const char *nl = NULL;
	int l = 1;

	for (size_t i = 0; i < pos; i++) {
		if (text[i] == '\n') {
			l++;
			nl = text + i;
		}
	}
	*line = l;
	/* Go's ErrorContext: on the first line the byte offset; after a
	 * newline the offset from the byte after it. */
	*col = nl ? (int)(pos - (size_t)(nl - text) - 1) : (int)pos;
}
