/*
 * goyaml.c: cJSON -> YAML exactly as sigs.k8s.io/yaml.JSONToYAML prints it
 * (the printer behind `kustomize build` and `kubectl get -o yaml`).
 *
 * DESIGN
 * JSONToYAML reads JSON into Go maps with go-yaml v2 and marshals them
 * back with go-yaml v2, whose emitter is a line-by-line port of libyaml's.
 * So we drive libyaml's own emitter with the same events and the same
 * style choices go-yaml's encoder makes, and get the same bytes:
 *
 *  - mapping keys sorted by go-yaml's keyList order (runs of digits
 *    compare as numbers, letters sort after non-letters), not bytewise;
 *  - a string with a newline asks for the literal block style; one that
 *    would read back as itself when plain asks for plain; anything else
 *    (bool/null/number/timestamp look-alikes, base-60 floats) for double
 *    quotes.  libyaml then downgrades plain to single quotes, and single
 *    quotes or blocks to double quotes, by its own analysis, as go-yaml;
 *  - numbers as they come back from JSON text: integral values that fit
 *    64 bits as integers, others as strconv.FormatFloat(v, 'g', -1, 64);
 *  - block style everywhere, empty containers as "{}" and "[]", 80
 *    columns (long plain and quoted strings fold), two-space indent,
 *    sequences not indented under their key, UTF-8 unescaped.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/alloc.h"
#include "base/str.h"
#include "base/unicode.h"
#include "base/utf8.h"
#include "yj/internal.h"
#include "yj/yj.h"
#include "base/banned.h"

struct gctx {
	yaml_emitter_t em;
	struct buf *out;
	int err;
};

static int write_cb(void *data, unsigned char *buffer, size_t size)
{
	struct gctx *g = data;

	if (buf_add(g->out, buffer, size) < 0) {
		g->err = -EFBIG;
		return 0;
	}
	return 1;
}

/* The next code point of s (n bytes left) as Go's []rune(s) sees it:
 * U+FFFD for each byte of an invalid sequence.  Advances *i. */
static uint32_t next_rune(const unsigned char *s, size_t n, size_t *i)
{
	uint32_t c;

	*i += utf8_decode((const char *)s + *i, n - *i, &c);
	return c;
}

/* v*10 + (c-'0') as Go's int64 computes it: wrapping, where C's signed overflow is undefined. */
static int64_t go_wrap(int64_t v, uint32_t c)
{
	return (int64_t)((uint64_t)v * 10u + (uint64_t)((int64_t)c - '0'));
}

/*
 * go-yaml v2's keyList.Less for two string keys: rune by rune; at the
 * first difference two letters compare by code point, a letter sorts after
 * anything else, and runs of digits compare as numbers (unicode.IsDigit
 * with Go's rune-'0' arithmetic, a zero after a non-zero digit run counts
 * as non-zero).  Decoded on the fly, so keys of any length compare fully.
 */
static bool go_key_less(const char *a, const char *b)
{
	const unsigned char *as = (const unsigned char *)a, *bs = (const unsigned char *)b;
	size_t an = strlen(a), bn = strlen(b), ai = 0, bi = 0;
	bool nonzero_run = false; /* the digits just before, in both, hold a non-zero */

	while (ai < an && bi < bn) {
		uint32_t ac = next_rune(as, an, &ai), bc = next_rune(bs, bn, &bi);
		bool al, bl;
		int64_t av = 0, bv = 0;
		size_t adigits = 0, bdigits = 0;

		if (ac == bc) {
			if (!uni_is_digit(ac))
				nonzero_run = false;
			else if (ac != '0')
				nonzero_run = true;
			continue;
		}
		al = uni_is_letter(ac);
		bl = uni_is_letter(bc);
		if (al && bl)
			return ac < bc;
		if (al || bl)
			return bl;
		if ((ac == '0' || bc == '0') && nonzero_run) {
			av = 1;
			bv = 1;
		}
		/* The digit runs from here on (ac and bc are their first runes). */
		for (uint32_t c = ac; uni_is_digit(c);) {
			av = go_wrap(av, c);
			adigits++;
			if (ai >= an)
				break;
			c = next_rune(as, an, &ai);
		}
		for (uint32_t c = bc; uni_is_digit(c);) {
			bv = go_wrap(bv, c);
			bdigits++;
			if (bi >= bn)
				break;
			c = next_rune(bs, bn, &bi);
		}
		if (av != bv)
			return av < bv;
		if (adigits != bdigits)
			return adigits < bdigits;
		return ac < bc;
	}
	/* A shorter prefix first (in runes). */
	return ai >= an && bi < bn;
}

static int scalar(struct gctx *g, const char *s, yaml_scalar_style_t style)
{
	yaml_event_t ev;

	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 1,
					  style) ||
	    !yaml_emitter_emit(&g->em, &ev))
		return g->err ? g->err : -EINVAL;
	return 0;
}

static int emit_string(struct gctx *g, const char *s)
{
	yaml_scalar_style_t style;

	if (strchr(s, '\n'))
		style = YAML_LITERAL_SCALAR_STYLE;
	else if (yj__plain_is_str(s))
		style = YAML_PLAIN_SCALAR_STYLE;
	else
		style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	return scalar(g, s, style);
}

/* A JSON number as go-yaml v2 prints what it read from its JSON text. */
static void format_number(const cJSON *j, char *out, size_t n)
{
	double v = j->valuedouble;

	if (cJSON_IsRaw(j)) {
		/* Exact big integers: int64 or uint64 print verbatim. */
		int64_t i;
		uint64_t u;

		if (parse_int64(j->valuestring, &i) == 0 || parse_uint64(j->valuestring, &u) == 0) {
			snprintf(out, n, "%s", j->valuestring);
			return;
		}
		v = strtod(j->valuestring, NULL);
	}
	if (v == floor(v) && fabs(v) < 9.2e18) {
		snprintf(out, n, "%lld", (long long)v);
		return;
	}
	yj_format_float(v, 64, 0, out, n);
}

static int emit_go(struct gctx *g, const cJSON *j, size_t depth)
{
	yaml_event_t ev;
	int r;

	if (depth > 1000)
		return -E2BIG;
	if (cJSON_IsObject(j)) {
		const cJSON **keys = NULL, *c;
		size_t n = 0, alloc = 0;

		for (c = j->child; c; c = c->next) {
			XGROW(keys, n + 1, alloc);
			keys[n++] = c;
		}
		/* Insertion sort: stable, and objects are small. */
		for (size_t i = 1; i < n; i++) {
			const cJSON *k = keys[i];
			size_t m = i;

			while (m > 0 && go_key_less(k->string, keys[m - 1]->string)) {
				keys[m] = keys[m - 1];
				m--;
			}
			keys[m] = k;
		}
		if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
							 YAML_BLOCK_MAPPING_STYLE) ||
		    !yaml_emitter_emit(&g->em, &ev)) {
			free(keys);
			return g->err ? g->err : -EINVAL;
		}
		for (size_t i = 0; i < n; i++) {
			r = emit_string(g, keys[i]->string);
			if (r == 0)
				r = emit_go(g, keys[i], depth + 1);
			if (r < 0) {
				free(keys);
				return r;
			}
		}
		free(keys);
		if (!yaml_mapping_end_event_initialize(&ev) || !yaml_emitter_emit(&g->em, &ev))
			return g->err ? g->err : -EINVAL;
		return 0;
	}
	if (cJSON_IsArray(j)) {
		const cJSON *c;

		if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
							  YAML_BLOCK_SEQUENCE_STYLE) ||
		    !yaml_emitter_emit(&g->em, &ev))
			return g->err ? g->err : -EINVAL;
		for (c = j->child; c; c = c->next) {
			r = emit_go(g, c, depth + 1);
			if (r < 0)
				return r;
		}
		if (!yaml_sequence_end_event_initialize(&ev) || !yaml_emitter_emit(&g->em, &ev))
			return g->err ? g->err : -EINVAL;
		return 0;
	}
	if (cJSON_IsString(j))
		return emit_string(g, j->valuestring);
	if (cJSON_IsNumber(j) || cJSON_IsRaw(j)) {
		char num[64];

		format_number(j, num, sizeof(num));
		return scalar(g, num, YAML_PLAIN_SCALAR_STYLE);
	}
	if (cJSON_IsTrue(j))
		return scalar(g, "true", YAML_PLAIN_SCALAR_STYLE);
	if (cJSON_IsFalse(j))
		return scalar(g, "false", YAML_PLAIN_SCALAR_STYLE);
	return scalar(g, "null", YAML_PLAIN_SCALAR_STYLE);
}

int yj_emit_yaml_go(const cJSON *doc, struct buf *out)
{
	struct gctx g = { .out = out };
	yaml_event_t ev;
	size_t len0 = out->len;
	int r = -EINVAL;

	if (!yaml_emitter_initialize(&g.em))
		return -ENOMEM;
	yaml_emitter_set_output(&g.em, write_cb, &g);
	yaml_emitter_set_unicode(&g.em, 1);
	yaml_emitter_set_width(&g.em, 80);
	yaml_emitter_set_indent(&g.em, 2);
	if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) ||
	    !yaml_emitter_emit(&g.em, &ev))
		goto out;
	if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) ||
	    !yaml_emitter_emit(&g.em, &ev))
		goto out;
	r = emit_go(&g, doc, 0);
	if (r < 0)
		goto out;
	r = -EINVAL;
	if (!yaml_document_end_event_initialize(&ev, 1) || !yaml_emitter_emit(&g.em, &ev))
		goto out;
	if (!yaml_stream_end_event_initialize(&ev) || !yaml_emitter_emit(&g.em, &ev) ||
	    !yaml_emitter_flush(&g.em))
		goto out;
	/* libyaml ends a document whose last scalar is a "|+" block with
	 * "...": go-yaml does not, and a column-0 "..." cannot be content. */
	if (out->len >= len0 + 5 && memcmp(out->buf + out->len - 5, "\n...\n", 5) == 0)
		buf_truncate(out, out->len - 4);
	r = 0;
out:
	if (r < 0 && g.err)
		r = g.err;
	yaml_emitter_delete(&g.em);
	if (r < 0)
		buf_truncate(out, len0);
	return r;
}
