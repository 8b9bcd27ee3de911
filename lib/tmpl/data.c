/*
 * data.c: Helm's data-format functions (toYaml, fromYaml, fromYamlArray,
 * toJson, fromJson, fromJsonArray, toToml, toYamlPretty) and the Go codecs
 * under them: encoding/json's Marshal and Unmarshal, sigs.k8s.io/yaml's
 * Marshal (through lib/yj), BurntSushi/toml's Encoder.
 *
 * DESIGN
 * toJson writes JSON straight from template values, as encoding/json does:
 * maps in sorted key order (ours are always sorted), nil maps and slices as
 * null, []byte as base64, Go's float format (%f between 1e-6 and 1e21,
 * else %e with "e-07" cleaned to "e-7"), HTML-escaped strings.  Objects
 * marshal through their type's to_json (a cJSON tree in field order).
 *
 * toYaml is sigs.k8s.io/yaml.Marshal: json.Marshal, read back by go-yaml
 * v2 into plain values (integral numbers become ints), printed by go-yaml
 * v2's emitter.  We build the cJSON tree json.Marshal's text would read
 * back as (tmpl_to_json) and hand it to lib/yj's yj_emit_yaml_go(), which
 * prints exactly what that emitter prints.
 *
 * fromJson parses with a port of encoding/json's scanner first, so a
 * syntax error is Go's message ("invalid character 'x' looking for
 * beginning of value"); only valid input is then decoded.  fromYaml reads
 * through lib/yj (the YAML Kubernetes and Helm read).
 *
 * None of these fail the template: Helm's versions return "" (toYaml,
 * toJson), the error text (toToml), or a map with an "Error" key
 * (fromYaml, fromJson) on failure.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "base/str.h"
#include "tmpl/internal.h"
#include "tmpl/tmpl.h"
#include "yj/yj.h"
#include "base/banned.h"

#define MAX_DEPTH 10000

/* ---------------------------------------------------------------- JSON text */

static const char hexd[] = "0123456789abcdef";

static int json_string(struct buf *out, const char *s, size_t n, bool html)
{
	size_t start = 0, i = 0;
	int r = buf_addch(out, '"');

	while (r == 0 && i < n) {
		unsigned char b = (unsigned char)s[i];

		if (b < 0x80) {
			bool safe = b >= 0x20 && b != '"' && b != '\\' &&
				    !(html && (b == '<' || b == '>' || b == '&'));

			if (safe) {
				i++;
				continue;
			}
			r = buf_add(out, s + start, i - start);
			if (r)
				break;
			switch (b) {
			case '\\':
			case '"':
				r = buf_addch(out, '\\');
				if (!r)
					r = buf_addch(out, (char)b);
				break;
			case '\b':
				r = buf_add(out, "\\b", 2);
				break;
			case '\f':
				r = buf_add(out, "\\f", 2);
				break;
			case '\n':
				r = buf_add(out, "\\n", 2);
				break;
			case '\r':
				r = buf_add(out, "\\r", 2);
				break;
			case '\t':
				r = buf_add(out, "\\t", 2);
				break;
			default: {
				char u[6] = { '\\', 'u', '0', '0', hexd[b >> 4], hexd[b & 0xF] };

				r = buf_add(out, u, 6);
			}
			}
			i++;
			start = i;
			continue;
		} else {
			uint32_t c;
			size_t w = utf8_decode(s + i, n - i, &c);

			if (c == 0xFFFD && w == 1) {
				r = buf_add(out, s + start, i - start);
				if (!r)
					r = buf_adds(out, "\\ufffd");
				i += w;
				start = i;
				continue;
			}
			if (c == 0x2028 || c == 0x2029) {
				r = buf_add(out, s + start, i - start);
				if (!r)
					r = buf_adds(out, c == 0x2028 ? "\\u2028" : "\\u2029");
				i += w;
				start = i;
				continue;
			}
			i += w;
		}
	}
	if (!r)
		r = buf_add(out, s + start, n - start);
	return r ? r : buf_addch(out, '"');
}

/* encoding/json's float64 format.  -EDOM for NaN and infinities. */
static int json_float(struct buf *out, double f)
{
	double a = fabs(f);
	size_t len0 = out->len;
	int r;

	if (isnan(f) || isinf(f))
		return -EDOM;
	if (a != 0 && (a < 1e-6 || a >= 1e21)) {
		r = tmpl_format_float(out, f, 'e', -1, 64);
		/* e-09 -> e-9 */
		if (r == 0 && out->len >= len0 + 4) {
			char *b = out->buf;
			size_t n = out->len;

			if (b[n - 4] == 'e' && b[n - 3] == '-' && b[n - 2] == '0') {
				b[n - 2] = b[n - 1];
				buf_truncate(out, n - 1);
			}
		}
		return r;
	}
	return tmpl_format_float(out, f, 'f', -1, 64);
}

static int unsupported(struct op_err *err, double f)
{
	return op_err_set(err, -EINVAL, "json: unsupported value: %s",
			  isnan(f) ? "NaN" : f > 0 ? "+Inf" : "-Inf");
}

static int json_cjson(const cJSON *j, bool html, struct buf *out, unsigned depth,
		      struct op_err *err);

static int json_value(const struct tmpl_val *v, bool html, struct buf *out, unsigned depth,
		      struct op_err *err)
{
	int r = 0;

	if (depth > MAX_DEPTH)
		return op_err_set(err, -ELOOP, "json: unsupported value: encountered a cycle");
	switch (v->kind) {
	case TMPL_INVALID:
	case TMPL_NIL:
		return buf_adds(out, "null");
	case TMPL_BOOL:
		return buf_adds(out, v->b ? "true" : "false");
	case TMPL_INT:
	case TMPL_INT64:
	case TMPL_INT32:
		return buf_addf(out, "%lld", (long long)v->i);
	case TMPL_UINT:
	case TMPL_UINT8:
	case TMPL_UINT64:
		return buf_addf(out, "%llu", (unsigned long long)v->u);
	case TMPL_FLOAT64:
		r = json_float(out, v->f);
		return r == -EDOM ? unsupported(err, v->f) : r;
	case TMPL_STRING:
		return json_string(out, v->s.p, v->s.n, html);
	case TMPL_BYTES: {
		char *enc = b64_encode(v->s.p, v->s.n);

		r = buf_addch(out, '"');
		if (!r)
			r = buf_adds(out, enc);
		if (!r)
			r = buf_addch(out, '"');
		free(enc);
		return r;
	}
	case TMPL_LIST:
		if (!v->l)
			return buf_adds(out, "null");
		r = buf_addch(out, '[');
		for (size_t i = 0; r == 0 && i < v->l->n; i++) {
			if (i)
				r = buf_addch(out, ',');
			if (!r)
				r = json_value(&v->l->v[i], html, out, depth + 1, err);
		}
		return r ? r : buf_addch(out, ']');
	case TMPL_MAP:
		if (!v->m)
			return buf_adds(out, "null");
		r = buf_addch(out, '{');
		for (size_t i = 0; r == 0 && i < v->m->n; i++) {
			if (i)
				r = buf_addch(out, ',');
			if (!r)
				r = json_string(out, v->m->e[i].key, v->m->e[i].klen, html);
			if (!r)
				r = buf_addch(out, ':');
			if (!r)
				r = json_value(&v->m->e[i].v, html, out, depth + 1, err);
		}
		return r ? r : buf_addch(out, '}');
	case TMPL_COMPLEX128:
		return op_err_set(err, -EINVAL, "json: unsupported type: complex128");
	case TMPL_OBJ:
		if (v->type && v->type->to_json) {
			cJSON *j = v->type->to_json(v);

			if (!j)
				return op_err_set(err, -EINVAL, "json: error calling MarshalJSON for type %s",
						  tmpl_type_name(v));
			r = json_cjson(j, html, out, depth + 1, err);
			cJSON_Delete(j);
			return r;
		}
		return buf_adds(out, "{}");
	}
	return 0;
}

static int json_cjson(const cJSON *j, bool html, struct buf *out, unsigned depth,
		      struct op_err *err)
{
	const cJSON *c;
	int r = 0;

	if (depth > MAX_DEPTH)
		return op_err_set(err, -ELOOP, "json: unsupported value: encountered a cycle");
	if (cJSON_IsObject(j)) {
		r = buf_addch(out, '{');
		for (c = j->child; r == 0 && c; c = c->next) {
			if (c != j->child)
				r = buf_addch(out, ',');
			if (!r)
				r = json_string(out, c->string, strlen(c->string), html);
			if (!r)
				r = buf_addch(out, ':');
			if (!r)
				r = json_cjson(c, html, out, depth + 1, err);
		}
		return r ? r : buf_addch(out, '}');
	}
	if (cJSON_IsArray(j)) {
		r = buf_addch(out, '[');
		for (c = j->child; r == 0 && c; c = c->next) {
			if (c != j->child)
				r = buf_addch(out, ',');
			if (!r)
				r = json_cjson(c, html, out, depth + 1, err);
		}
		return r ? r : buf_addch(out, ']');
	}
	if (cJSON_IsString(j))
		return json_string(out, j->valuestring, strlen(j->valuestring), html);
	if (cJSON_IsRaw(j))
		return buf_adds(out, j->valuestring);
	if (cJSON_IsNumber(j)) {
		double d = j->valuedouble;

		if (d == floor(d) && fabs(d) < 9007199254740992.0)
			return buf_addf(out, "%lld", (long long)d);
		r = json_float(out, d);
		return r == -EDOM ? unsupported(err, d) : r;
	}
	if (cJSON_IsTrue(j))
		return buf_adds(out, "true");
	if (cJSON_IsFalse(j))
		return buf_adds(out, "false");
	return buf_adds(out, "null");
}

int tmpl_to_json_text(const struct tmpl_val *v, bool escape_html, struct buf *out,
		      struct op_err *reterr)
{
	size_t len0 = out->len;
	int r = json_value(v, escape_html, out, 0, reterr);

	if (r < 0) {
		buf_truncate(out, len0);
		if (r == -EFBIG)
			op_err_set(reterr, r, "json: output exceeds the size limit");
	}
	return r;
}

/* ---------------------------------------------------------------- cJSON (for YAML) */

/* A string as encoding/json writes it and reads it back: invalid UTF-8 as U+FFFD. */
static cJSON *json_clean_string(const char *s, size_t n)
{
	struct buf b = BUF_INIT((size_t)-2);
	cJSON *j;
	bool clean = !memchr(s, '\0', n);

	for (size_t i = 0; clean && i < n;) {
		uint32_t c;
		size_t w;

		if ((unsigned char)s[i] < 0x80) {
			i++;
			continue;
		}
		w = utf8_decode(s + i, n - i, &c);
		if (c == 0xFFFD && w == 1)
			clean = false;
		i += w;
	}
	if (clean)
		return cJSON_CreateString(s);
	for (size_t i = 0; i < n;) {
		uint32_t c;
		size_t w = utf8_decode(s + i, n - i, &c);

		if (c == 0xFFFD && w == 1)
			(void)buf_adds(&b, "\xEF\xBF\xBD");
		else if (s[i] == '\0')
			(void)buf_adds(&b, "\xC0\x80"); /* cJSON strings end at NUL */
		else
			(void)buf_add(&b, s + i, w);
		i += w;
	}
	j = cJSON_CreateString(b.buf);
	buf_release(&b);
	return j;
}

static cJSON *raw_number(const char *digits)
{
	return cJSON_CreateRaw(digits);
}

static int to_cjson(const struct tmpl_val *v, cJSON **ret, unsigned depth, struct op_err *err)
{
	cJSON *j = NULL, *c = NULL;
	char num[32];
	int r;

	if (depth > MAX_DEPTH)
		return op_err_set(err, -ELOOP, "json: unsupported value: encountered a cycle");
	switch (v->kind) {
	case TMPL_INVALID:
	case TMPL_NIL:
		j = cJSON_CreateNull();
		break;
	case TMPL_BOOL:
		j = cJSON_CreateBool(v->b);
		break;
	case TMPL_INT:
	case TMPL_INT64:
	case TMPL_INT32:
		if (v->i > -9007199254740992LL && v->i < 9007199254740992LL) {
			j = cJSON_CreateNumber((double)v->i);
		} else {
			snprintf(num, sizeof(num), "%lld", (long long)v->i);
			j = raw_number(num);
		}
		break;
	case TMPL_UINT:
	case TMPL_UINT8:
	case TMPL_UINT64:
		if (v->u < 9007199254740992ULL) {
			j = cJSON_CreateNumber((double)v->u);
		} else {
			snprintf(num, sizeof(num), "%llu", (unsigned long long)v->u);
			j = raw_number(num);
		}
		break;
	case TMPL_FLOAT64:
		if (isnan(v->f) || isinf(v->f))
			return unsupported(err, v->f);
		if (v->f >= 9223372036854775808.0 && v->f < 18446744073709551616.0 &&
		    v->f == floor(v->f)) {
			/* json prints the shortest digits padded with zeros
			 * ('f' format), go-yaml reads them as a uint64. */
			struct buf b = BUF_INIT(sizeof(num) - 1);

			(void)tmpl_format_float(&b, v->f, 'f', -1, 64);
			j = raw_number(b.buf);
			buf_release(&b);
		} else {
			j = cJSON_CreateNumber(v->f);
		}
		break;
	case TMPL_STRING:
		j = json_clean_string(v->s.p, v->s.n);
		break;
	case TMPL_BYTES: {
		char *enc = b64_encode(v->s.p, v->s.n);

		j = cJSON_CreateString(enc);
		free(enc);
		break;
	}
	case TMPL_LIST:
		if (!v->l) {
			j = cJSON_CreateNull();
			break;
		}
		j = cJSON_CreateArray();
		for (size_t i = 0; i < v->l->n; i++) {
			r = to_cjson(&v->l->v[i], &c, depth + 1, err);
			if (r < 0) {
				cJSON_Delete(j);
				return r;
			}
			cJSON_AddItemToArray(j, c); /* now owned by j */
		}
		break;
	case TMPL_MAP:
		if (!v->m) {
			j = cJSON_CreateNull();
			break;
		}
		j = cJSON_CreateObject();
		for (size_t i = 0; i < v->m->n; i++) {
			const struct tmpl_map_entry *e = &v->m->e[i];

			r = to_cjson(&e->v, &c, depth + 1, err);
			if (r < 0) {
				cJSON_Delete(j);
				return r;
			}
			if (memchr(e->key, '\0', e->klen) || !utf8_valid(e->key, e->klen)) {
				cJSON *k = json_clean_string(e->key, e->klen);

				cJSON_AddItemToObject(j, k->valuestring, c); /* now owned by j */
				cJSON_Delete(k);
			} else {
				cJSON_AddItemToObject(j, e->key, c); /* now owned by j */
			}
		}
		break;
	case TMPL_COMPLEX128:
		return op_err_set(err, -EINVAL, "json: unsupported type: complex128");
	case TMPL_OBJ:
		if (v->type && v->type->to_json)
			j = v->type->to_json(v);
		else
			j = cJSON_CreateObject();
		if (!j)
			return op_err_set(err, -EINVAL, "json: error calling MarshalJSON for type %s",
					  tmpl_type_name(v));
		break;
	}
	*ret = j;
	return 0;
}

int tmpl_to_json(const struct tmpl_val *v, cJSON **ret, struct op_err *reterr)
{
	cJSON *j = NULL;
	int r = to_cjson(v, &j, 0, reterr);

	if (r == 0)
		*ret = j;
	return r;
}

int tmpl_to_yaml(const struct tmpl_val *v, struct buf *out, struct op_err *reterr)
{
	cJSON *j = NULL;
	int r = tmpl_to_json(v, &j, reterr);

	if (r < 0)
		return r;
	r = yj_emit_yaml_go(j, out);
	cJSON_Delete(j);
	if (r < 0)
		return op_err_set(reterr, r, "yaml: output exceeds the size limit");
	return 0;
}

/* ---------------------------------------------------------------- JSON decoding */

/* Go's scanner error: "invalid character 'x' <context>". */
static int json_syntax(struct op_err *err, unsigned char c, const char *context)
{
	struct buf q = BUF_INIT(64);
	char ch[8];
	int r;

	if (c == '\'') {
		snprintf(ch, sizeof(ch), "'\\''");
	} else if (c == '"') {
		snprintf(ch, sizeof(ch), "'\"'");
	} else {
		struct buf rb = BUF_INIT(8);

		(void)utf8_add(&rb, c);
		(void)tmpl_quote(&q, rb.buf, rb.len);
		buf_release(&rb);
		snprintf(ch, sizeof(ch), "'%.*s'", (int)(q.len - 2), q.buf + 1);
	}
	r = op_err_set(err, -EINVAL, "invalid character %s %s", ch, context);
	buf_release(&q);
	return r;
}

static bool jspace(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

struct jscan {
	const unsigned char *s;
	size_t n, i;
	struct op_err *err;
	unsigned depth;
};

static int scan_value(struct jscan *j);

static int scan_eof(struct jscan *j)
{
	return op_err_set(j->err, -EINVAL, "unexpected end of JSON input");
}

static void skip_space(struct jscan *j)
{
	while (j->i < j->n && jspace(j->s[j->i]))
		j->i++;
}

/*
 * At the end of the input Go's scanner feeds its state one more space
 * (scanner.eof): a literal, number or escape cut short fails on ' '.
 */
static int scan_eof_space(struct jscan *j, const char *context)
{
	return json_syntax(j->err, ' ', context);
}

static int scan_string(struct jscan *j)
{
	j->i++; /* the quote */
	while (j->i < j->n) {
		unsigned char c = j->s[j->i];

		if (c == '"') {
			j->i++;
			return 0;
		}
		if (c < 0x20)
			return json_syntax(j->err, c, "in string literal");
		if (c == '\\') {
			if (++j->i >= j->n)
				return scan_eof_space(j, "in string escape code");
			c = j->s[j->i];
			if (c == 'u') {
				for (int k = 0; k < 4; k++) {
					if (++j->i >= j->n)
						return scan_eof_space(j,
								      "in \\u hexadecimal character escape");
					c = j->s[j->i];
					if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
					      (c >= 'A' && c <= 'F')))
						return json_syntax(j->err, c,
								   "in \\u hexadecimal character escape");
				}
			} else if (!strchr("bfnrt\\/\"", c) || c == 0) {
				return json_syntax(j->err, c, "in string escape code");
			}
		}
		j->i++;
	}
	return scan_eof(j);
}

static int scan_literal(struct jscan *j, const char *word, const char *name)
{
	size_t len = strlen(word);

	for (size_t k = 1; k < len; k++) {
		char ctx[64];

		snprintf(ctx, sizeof(ctx), "in literal %s (expecting '%c')", name, word[k]);
		if (j->i + k >= j->n)
			return scan_eof_space(j, ctx);
		if (j->s[j->i + k] != (unsigned char)word[k])
			return json_syntax(j->err, j->s[j->i + k], ctx);
	}
	j->i += len;
	return 0;
}

static bool digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int scan_number(struct jscan *j)
{
	if (j->s[j->i] == '-') {
		if (++j->i >= j->n)
			return scan_eof_space(j, "in numeric literal");
		if (!digit(j->s[j->i]))
			return json_syntax(j->err, j->s[j->i], "in numeric literal");
	}
	if (j->s[j->i] == '0') {
		j->i++;
	} else {
		while (j->i < j->n && digit(j->s[j->i]))
			j->i++;
	}
	if (j->i < j->n && j->s[j->i] == '.') {
		if (++j->i >= j->n)
			return scan_eof_space(j, "after decimal point in numeric literal");
		if (!digit(j->s[j->i]))
			return json_syntax(j->err, j->s[j->i], "after decimal point in numeric literal");
		while (j->i < j->n && digit(j->s[j->i]))
			j->i++;
	}
	if (j->i < j->n && (j->s[j->i] == 'e' || j->s[j->i] == 'E')) {
		if (++j->i >= j->n)
			return scan_eof_space(j, "in exponent of numeric literal");
		if (j->s[j->i] == '+' || j->s[j->i] == '-') {
			if (++j->i >= j->n)
				return scan_eof_space(j, "in exponent of numeric literal");
		}
		if (!digit(j->s[j->i]))
			return json_syntax(j->err, j->s[j->i], "in exponent of numeric literal");
		while (j->i < j->n && digit(j->s[j->i]))
			j->i++;
	}
	return 0;
}

static int scan_value(struct jscan *j)
{
	unsigned char c;
	int r;

	skip_space(j);
	if (j->i >= j->n)
		return scan_eof(j);
	c = j->s[j->i];
	switch (c) {
	case '{':
		if (++j->depth > MAX_DEPTH)
			return json_syntax(j->err, c, "exceeded max depth");
		j->i++;
		skip_space(j);
		if (j->i >= j->n)
			return scan_eof(j);
		if (j->s[j->i] == '}') {
			j->i++;
			j->depth--;
			return 0;
		}
		for (;;) {
			if (j->s[j->i] != '"')
				return json_syntax(j->err, j->s[j->i],
						   "looking for beginning of object key string");
			r = scan_string(j);
			if (r < 0)
				return r;
			skip_space(j);
			if (j->i >= j->n)
				return scan_eof(j);
			if (j->s[j->i] != ':')
				return json_syntax(j->err, j->s[j->i], "after object key");
			j->i++;
			r = scan_value(j);
			if (r < 0)
				return r;
			skip_space(j);
			if (j->i >= j->n)
				return scan_eof(j);
			if (j->s[j->i] == '}') {
				j->i++;
				j->depth--;
				return 0;
			}
			if (j->s[j->i] != ',')
				return json_syntax(j->err, j->s[j->i], "after object key:value pair");
			j->i++;
			skip_space(j);
			if (j->i >= j->n)
				return scan_eof(j);
		}
	case '[':
		if (++j->depth > MAX_DEPTH)
			return json_syntax(j->err, c, "exceeded max depth");
		j->i++;
		skip_space(j);
		if (j->i >= j->n)
			return scan_eof(j);
		if (j->s[j->i] == ']') {
			j->i++;
			j->depth--;
			return 0;
		}
		for (;;) {
			r = scan_value(j);
			if (r < 0)
				return r;
			skip_space(j);
			if (j->i >= j->n)
				return scan_eof(j);
			if (j->s[j->i] == ']') {
				j->i++;
				j->depth--;
				return 0;
			}
			if (j->s[j->i] != ',')
				return json_syntax(j->err, j->s[j->i], "after array element");
			j->i++;
		}
	case '"':
		return scan_string(j);
	case 't':
		return scan_literal(j, "true", "true");
	case 'f':
		return scan_literal(j, "false", "false");
	case 'n':
		return scan_literal(j, "null", "null");
	default:
		if (c == '-' || digit(c))
			return scan_number(j);
		return json_syntax(j->err, c, "looking for beginning of value");
	}
}

/* json.checkValid. */
static int json_check(const char *s, size_t n, struct op_err *err)
{
	struct jscan j = { (const unsigned char *)s, n, 0, err, 0 };
	int r = scan_value(&j);

	if (r < 0)
		return r;
	skip_space(&j);
	if (j.i < j.n)
		return json_syntax(err, j.s[j.i], "after top-level value");
	return 0;
}

struct jdec {
	const char *s;
	size_t n, i;
	struct tmpl_arena *a;
	struct op_err *err;
	int first_err;
};

static void dskip(struct jdec *d)
{
	while (d->i < d->n && jspace((unsigned char)d->s[d->i]))
		d->i++;
}

static unsigned hex4(const char *p)
{
	unsigned v = 0;

	for (int k = 0; k < 4; k++) {
		char c = p[k];

		v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return v;
}

/* A valid string at d->i (scanner checked) as a Go string. */
static struct tmpl_val dec_string(struct jdec *d)
{
	struct buf b = BUF_INIT((size_t)-2);
	size_t start = ++d->i;
	struct tmpl_val v;

	while (d->s[d->i] != '"' && d->s[d->i] != '\\')
		d->i++;
	if (d->s[d->i] == '"' && utf8_valid(d->s + start, d->i - start)) {
		v = tmpl_str(d->a, d->s + start, d->i - start);
		d->i++;
		return v;
	}
	d->i = start;
	while (d->s[d->i] != '"') {
		char c = d->s[d->i];

		if (c == '\\') {
			char e = d->s[d->i + 1];

			d->i += 2;
			switch (e) {
			case 'b':
				(void)buf_addch(&b, '\b');
				break;
			case 'f':
				(void)buf_addch(&b, '\f');
				break;
			case 'n':
				(void)buf_addch(&b, '\n');
				break;
			case 'r':
				(void)buf_addch(&b, '\r');
				break;
			case 't':
				(void)buf_addch(&b, '\t');
				break;
			case 'u': {
				uint32_t r = hex4(d->s + d->i);

				d->i += 4;
				if (r >= 0xD800 && r < 0xDC00 && d->s[d->i] == '\\' &&
				    d->s[d->i + 1] == 'u') {
					uint32_t r2 = hex4(d->s + d->i + 2);

					if (r2 >= 0xDC00 && r2 < 0xE000) {
						r = 0x10000 + ((r - 0xD800) << 10) + (r2 - 0xDC00);
						d->i += 6;
					} else {
						r = 0xFFFD;
					}
				} else if (r >= 0xD800 && r < 0xE000) {
					r = 0xFFFD;
				}
				(void)utf8_add(&b, r);
				break;
			}
			default:
				(void)buf_addch(&b, e);
			}
			continue;
		}
		if ((unsigned char)c >= 0x80) {
			uint32_t r;
			size_t w = utf8_decode(d->s + d->i, d->n - d->i, &r);

			if (r == 0xFFFD && w == 1)
				(void)buf_adds(&b, "\xEF\xBF\xBD");
			else
				(void)buf_add(&b, d->s + d->i, w);
			d->i += w;
			continue;
		}
		(void)buf_addch(&b, c);
		d->i++;
	}
	d->i++;
	v = tmpl_str_buf(d->a, &b);
	buf_release(&b);
	return v;
}

static struct tmpl_val dec_value(struct jdec *d)
{
	char c;

	dskip(d);
	c = d->s[d->i];
	if (c == '{') {
		struct tmpl_map *m = tmpl_map_new(d->a, TMPL_NIL);

		d->i++;
		dskip(d);
		while (d->s[d->i] != '}') {
			struct tmpl_val k, v;

			dskip(d);
			k = dec_string(d);
			dskip(d);
			d->i++; /* ':' */
			v = dec_value(d);
			tmpl_map_set(m, k.s.p, k.s.n, v);
			dskip(d);
			if (d->s[d->i] == ',')
				d->i++;
			dskip(d);
		}
		d->i++;
		return tmpl_map_val(m);
	}
	if (c == '[') {
		struct tmpl_list *l = tmpl_list_new(d->a, TMPL_NIL, 0, 4);

		d->i++;
		dskip(d);
		while (d->s[d->i] != ']') {
			tmpl_list_push(d->a, l, dec_value(d));
			dskip(d);
			if (d->s[d->i] == ',')
				d->i++;
			dskip(d);
		}
		d->i++;
		return tmpl_list_val(l);
	}
	if (c == '"')
		return dec_string(d);
	if (c == 't') {
		d->i += 4;
		return tmpl_bool(true);
	}
	if (c == 'f') {
		d->i += 5;
		return tmpl_bool(false);
	}
	if (c == 'n') {
		d->i += 4;
		return tmpl_nil();
	}
	{
		size_t start = d->i;
		char tmp[512];
		double f;

		while (d->i < d->n && strchr("+-0123456789.eE", d->s[d->i]))
			d->i++;
		snprintf(tmp, sizeof(tmp), "%.*s", (int)(d->i - start), d->s + start);
		errno = 0;
		f = strtod(tmp, NULL);
		if (errno == ERANGE && isinf(f)) {
			if (!d->first_err)
				d->first_err = op_err_set(d->err, -EINVAL,
							  "json: cannot unmarshal number %s into Go value of type float64",
							  tmp);
			return tmpl_nil();
		}
		return tmpl_float(f);
	}
}

/* Decode valid JSON (json_check passed); *ret is what Go would have
 * filled in even when a number does not fit (the first such error is
 * returned, as json.Unmarshal returns it after decoding the rest). */
static int json_decode(struct tmpl_arena *a, const char *s, size_t n, struct tmpl_val *ret,
		       struct op_err *reterr)
{
	struct jdec d = { s, n, 0, a, reterr, 0 };

	*ret = dec_value(&d);
	return d.first_err;
}

int tmpl_parse_json(struct tmpl_arena *a, const char *s, size_t n, struct tmpl_val *ret,
		    struct op_err *reterr)
{
	struct tmpl_val v;
	int r = json_check(s, n, reterr);

	if (r < 0)
		return r;
	r = json_decode(a, s, n, &v, reterr);
	if (r < 0)
		return r;
	*ret = v;
	return 0;
}

/* ---------------------------------------------------------------- Helm's functions */

static size_t budget_left(struct tmpl_ctx *ctx)
{
	struct tmpl_arena *a = tmpl_ctx_arena(ctx);
	size_t used = tmpl_arena_used(a), max = tmpl_arena_max(a);

	return used < max ? max - used : 0;
}

static int fn_to_yaml(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n,
		      struct tmpl_val *ret, void *payload)
{
	struct buf b = BUF_INIT(budget_left(ctx));
	struct op_err err;

	if (tmpl_to_yaml(&a[0], &b, &err) < 0) {
		buf_release(&b);
		if (err.code == -EFBIG)
			return tmpl_ctx_fail(ctx, -ENOMEM, "memory limit exceeded");
		*ret = tmpl_str_ref("", 0);
		return 0;
	}
	if (b.len && b.buf[b.len - 1] == '\n')
		buf_truncate(&b, b.len - 1);
	*ret = tmpl_str_buf(tmpl_ctx_arena(ctx), &b);
	buf_release(&b);
	return 0;
}

static int fn_to_json(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n,
		      struct tmpl_val *ret, void *payload)
{
	struct buf b = BUF_INIT(budget_left(ctx));
	struct op_err err;

	if (tmpl_to_json_text(&a[0], true, &b, &err) < 0) {
		buf_release(&b);
		if (err.code == -EFBIG)
			return tmpl_ctx_fail(ctx, -ENOMEM, "memory limit exceeded");
		*ret = tmpl_str_ref("", 0);
		return 0;
	}
	*ret = tmpl_str_buf(tmpl_ctx_arena(ctx), &b);
	buf_release(&b);
	return 0;
}

/* What a decoded top-level value is called in json's type errors. */
static const char *json_kind(const struct tmpl_val *v)
{
	switch (v->kind) {
	case TMPL_MAP:
		return "object";
	case TMPL_LIST:
		return "array";
	case TMPL_STRING:
		return "string";
	case TMPL_BOOL:
		return "bool";
	default:
		return "number";
	}
}

static struct tmpl_val error_map(struct tmpl_ctx *ctx, const char *msg)
{
	struct tmpl_map *m = tmpl_map_new(tmpl_ctx_arena(ctx), TMPL_NIL);

	tmpl_map_set(m, "Error", 5, tmpl_strz(tmpl_ctx_arena(ctx), msg));
	return tmpl_map_val(m);
}

static struct tmpl_val error_list(struct tmpl_ctx *ctx, const char *msg)
{
	struct tmpl_list *l = tmpl_list_new(tmpl_ctx_arena(ctx), TMPL_NIL, 0, 1);

	tmpl_list_push(tmpl_ctx_arena(ctx), l, tmpl_strz(tmpl_ctx_arena(ctx), msg));
	return tmpl_list_val(l);
}

static int from_json_common(struct tmpl_ctx *ctx, const struct tmpl_val *a, bool want_list,
			    struct tmpl_val *ret)
{
	struct tmpl_arena *arena = tmpl_ctx_arena(ctx);
	struct op_err err;
	struct tmpl_val v;
	const char *p = a[0].s.p, *e = p + a[0].s.n, *kind = NULL;
	char msg[320];
	int r = tmpl_ctx_reserve(ctx, a[0].s.n * 8);

	if (r < 0)
		return r;
	if (json_check(a[0].s.p, a[0].s.n, &err) < 0) {
		*ret = want_list ? error_list(ctx, err.msg) : error_map(ctx, err.msg);
		return 0;
	}
	/* The decoder checks the top-level kind before it reads the value. */
	while (p < e && jspace((unsigned char)*p))
		p++;
	switch (*p) {
	case '{':
		kind = want_list ? "object" : NULL;
		break;
	case '[':
		kind = want_list ? NULL : "array";
		break;
	case '"':
		kind = "string";
		break;
	case 't':
	case 'f':
		kind = "bool";
		break;
	case 'n':
		*ret = want_list ? tmpl_list_val(tmpl_list_new(arena, TMPL_NIL, 0, 0)) :
				   tmpl_map_val(tmpl_map_new(arena, TMPL_NIL));
		return 0;
	default:
		kind = "number";
	}
	if (kind) {
		snprintf(msg, sizeof(msg), "json: cannot unmarshal %s into Go value of type %s", kind,
			 want_list ? "[]interface {}" : "map[string]interface {}");
		*ret = want_list ? error_list(ctx, msg) : error_map(ctx, msg);
		return 0;
	}
	if (json_decode(arena, a[0].s.p, a[0].s.n, &v, &err) < 0) {
		/* fromJson keeps what was decoded and adds the error. */
		if (want_list) {
			*ret = error_list(ctx, err.msg);
		} else {
			tmpl_map_set(v.m, "Error", 5, tmpl_strz(arena, err.msg));
			*ret = v;
		}
		return 0;
	}
	*ret = v;
	return 0;
}

static int fn_from_json(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n,
			struct tmpl_val *ret, void *payload)
{
	return from_json_common(ctx, a, false, ret);
}

static int fn_from_json_array(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n,
			      struct tmpl_val *ret, void *payload)
{
	return from_json_common(ctx, a, true, ret);
}

/*
 * lib/yj's YAML error ("yaml: document D: line L:C: problem while ...") in
 * go-yaml v2's words, as sigs.k8s.io/yaml wraps them: "error converting
 * YAML to JSON: yaml: line N: problem".  go-yaml prints the problem alone
 * (not libyaml's "while ..." context) and its line only when the 0-based
 * line of the problem is not 0: a scanner error adds one to it, a parser
 * error does not.  The context tells the two apart.
 */
static void go_yaml_error(const char *yj, char *out, size_t n)
{
	const char *p = strstr(yj, ": line "), *problem = yj, *ctx;
	unsigned line = 0, col = 0;
	bool scanner;
	int plen;

	if (!p || sscanf(p, ": line %u:%u:", &line, &col) != 2) {
		snprintf(out, n, "error converting YAML to JSON: %s", yj);
		return;
	}
	problem = strchr(p + 7, ':');
	problem = problem ? strchr(problem + 1, ':') : NULL;
	problem = problem ? problem + 2 : yj;
	ctx = strstr(problem, " while ");
	plen = ctx ? (int)(ctx - problem) : (int)strlen(problem);
	/* libyaml's parser errors come with "while parsing ..."; scanner
	 * errors with "while scanning ..." or no context at all (the rare
	 * parser errors without one, about directives, count as scanner's). */
	scanner = !ctx || strncmp(ctx, " while parsing", 14) != 0;
	if (line > 1)
		snprintf(out, n, "error converting YAML to JSON: yaml: line %u: %.*s",
			 scanner ? line : line - 1, plen, problem);
	else
		snprintf(out, n, "error converting YAML to JSON: yaml: %.*s", plen, problem);
}

/*
 * sigs.k8s.io/yaml.Unmarshal into a map or a list: the first document
 * through lib/yj, then json's type check.  go-yaml's error texts are
 * approximated from lib/yj's ("yaml: line N: problem").
 */
static int from_yaml_common(struct tmpl_ctx *ctx, const struct tmpl_val *a, bool want_list,
			    struct tmpl_val *ret)
{
	struct yj_stream st;
	struct op_err err;
	struct tmpl_val v = tmpl_nil();
	char msg[512];
	int r = tmpl_ctx_reserve(ctx, a[0].s.n * 8);

	if (r < 0)
		return r;
	if (yj_parse_stream(a[0].s.p, a[0].s.n, NULL, &st, &err) < 0) {
		go_yaml_error(err.msg, msg, sizeof(msg));
		*ret = want_list ? error_list(ctx, msg) : error_map(ctx, msg);
		return 0;
	}
	if (st.n > 0)
		(void)tmpl_from_json(tmpl_ctx_arena(ctx), st.docs[0], 0, &v);
	yj_stream_release(&st);
	if (v.kind == TMPL_NIL) {
		*ret = want_list ? tmpl_list_val(tmpl_list_new(tmpl_ctx_arena(ctx), TMPL_NIL, 0, 0)) :
				   tmpl_map_val(tmpl_map_new(tmpl_ctx_arena(ctx), TMPL_NIL));
		return 0;
	}
	if ((v.kind == TMPL_LIST) != want_list || (!want_list && v.kind != TMPL_MAP)) {
		snprintf(msg, sizeof(msg),
			 "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal %s into Go value of type %s",
			 json_kind(&v), want_list ? "[]interface {}" : "map[string]interface {}");
		*ret = want_list ? error_list(ctx, msg) : error_map(ctx, msg);
		return 0;
	}
	*ret = v;
	return 0;
}

static int fn_from_yaml(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n,
			struct tmpl_val *ret, void *payload)
{
	return from_yaml_common(ctx, a, false, ret);
}

static int fn_from_yaml_array(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n,
			      struct tmpl_val *ret, void *payload)
{
	return from_yaml_common(ctx, a, true, ret);
}

/* ---------------------------------------------------------------- TOML */

/*
 * BurntSushi/toml v1.6's Encoder on template values: a table's plain keys
 * first, then its sub-tables, each group in key order; nested keys indented
 * two spaces per level; arrays of maps as [[arrays of tables]]; nil values
 * skipped; an array holding nil is an error.
 */
struct toml {
	struct buf *out;
	bool written;
	int err;
	const char *errmsg;
	unsigned depth;
};

struct tkey {
	const char *const *parts;
	const size_t *lens;
	size_t n;
};

enum ttype { T_NONE, T_SIMPLE, T_ARRAY, T_HASH, T_ARRAY_HASH };

static void tw(struct toml *t, const char *s, size_t n)
{
	if (!t->err)
		t->err = buf_add(t->out, s, n);
	t->written = true;
}

static void tws(struct toml *t, const char *s)
{
	tw(t, s, strlen(s));
}

static void tnewline(struct toml *t)
{
	if (t->written)
		tws(t, "\n");
}

static void tfail(struct toml *t, const char *msg)
{
	if (!t->err) {
		t->err = -EINVAL;
		t->errmsg = msg;
	}
}

static void tquoted(struct toml *t, const char *s, size_t n)
{
	tws(t, "\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char u[8];

		switch (c) {
		case '"':
			tws(t, "\\\"");
			break;
		case '\\':
			tws(t, "\\\\");
			break;
		case '\b':
			tws(t, "\\b");
			break;
		case '\t':
			tws(t, "\\t");
			break;
		case '\n':
			tws(t, "\\n");
			break;
		case '\f':
			tws(t, "\\f");
			break;
		case '\r':
			tws(t, "\\r");
			break;
		default:
			if (c < 0x20 || c == 0x7F) {
				snprintf(u, sizeof(u), "\\u%04x", c);
				tws(t, u);
			} else {
				tw(t, (const char *)&s[i], 1);
			}
		}
	}
	tws(t, "\"");
}

static bool bare_key(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

static void tkey_part(struct toml *t, const char *s, size_t n)
{
	if (n == 0)
		tws(t, "\"\"");
	else if (bare_key(s, n))
		tw(t, s, n);
	else
		tquoted(t, s, n);
}

static void tkey_string(struct toml *t, const struct tkey *k)
{
	for (size_t i = 0; i < k->n; i++) {
		if (i)
			tws(t, ".");
		tkey_part(t, k->parts[i], k->lens[i]);
	}
}

static void tindent(struct toml *t, const struct tkey *k)
{
	for (size_t i = 1; i < k->n; i++)
		tws(t, "  ");
}

static bool tnil(const struct tmpl_val *v)
{
	return v->kind == TMPL_INVALID || v->kind == TMPL_NIL ||
	       (v->kind == TMPL_MAP && !v->m) || (v->kind == TMPL_LIST && !v->l);
}

static enum ttype ttype_of(struct toml *t, const struct tmpl_val *v)
{
	if (tnil(v))
		return T_NONE;
	switch (v->kind) {
	case TMPL_MAP:
		return T_HASH;
	case TMPL_OBJ:
		return T_SIMPLE;
	case TMPL_LIST: {
		bool all = v->l->n > 0;

		for (size_t i = 0; i < v->l->n; i++) {
			enum ttype e = ttype_of(t, &v->l->v[i]);

			if (e == T_NONE) {
				tfail(t, "toml: cannot encode array with nil element");
				return T_ARRAY;
			}
			if (e != T_HASH)
				all = false;
		}
		return all ? T_ARRAY_HASH : T_ARRAY;
	}
	case TMPL_BYTES: {
		/* A []byte is an array of integers. */
		return v->s.n ? T_ARRAY : T_ARRAY;
	}
	default:
		return T_SIMPLE;
	}
}

static bool is_table(enum ttype e)
{
	return e == T_HASH || e == T_ARRAY_HASH;
}

static void telement(struct toml *t, const struct tmpl_val *v);
static void tmap(struct toml *t, const struct tkey *key, const struct tmpl_val *v, bool inline_);
static void tencode(struct toml *t, const struct tkey *key, const struct tmpl_val *v);

static void tkey_value(struct toml *t, const struct tkey *key, const struct tmpl_val *v,
		       bool inline_)
{
	if (key->n == 0) {
		telement(t, v);
		return;
	}
	tindent(t, key);
	tkey_part(t, key->parts[key->n - 1], key->lens[key->n - 1]);
	tws(t, " = ");
	telement(t, v);
	if (!inline_)
		tnewline(t);
}

static void telement(struct toml *t, const struct tmpl_val *v)
{
	char num[64];

	if (t->err)
		return;
	if (++t->depth > MAX_DEPTH) {
		tfail(t, "toml: value nests too deeply");
		return;
	}
	switch (v->kind) {
	case TMPL_STRING:
		tquoted(t, v->s.p, v->s.n);
		break;
	case TMPL_BOOL:
		tws(t, v->b ? "true" : "false");
		break;
	case TMPL_INT:
	case TMPL_INT64:
	case TMPL_INT32:
		snprintf(num, sizeof(num), "%lld", (long long)v->i);
		tws(t, num);
		break;
	case TMPL_UINT:
	case TMPL_UINT8:
	case TMPL_UINT64:
		snprintf(num, sizeof(num), "%llu", (unsigned long long)v->u);
		tws(t, num);
		break;
	case TMPL_FLOAT64:
		if (isnan(v->f)) {
			tws(t, signbit(v->f) ? "-nan" : "nan");
		} else if (isinf(v->f)) {
			tws(t, v->f < 0 ? "-inf" : "inf");
		} else {
			struct buf b = BUF_INIT(64);

			(void)tmpl_format_float(&b, v->f, 'g', -1, 64);
			if (!strpbrk(b.buf, "e."))
				(void)buf_adds(&b, ".0");
			tw(t, b.buf, b.len);
			buf_release(&b);
		}
		break;
	case TMPL_LIST:
		tws(t, "[");
		for (size_t i = 0; v->l && i < v->l->n; i++) {
			if (tnil(&v->l->v[i])) {
				tfail(t, "toml: cannot encode array with nil element");
				break;
			}
			telement(t, &v->l->v[i]);
			if (i != v->l->n - 1)
				tws(t, ", ");
		}
		tws(t, "]");
		break;
	case TMPL_BYTES:
		tws(t, "[");
		for (size_t i = 0; i < v->s.n; i++) {
			snprintf(num, sizeof(num), "%u%s", (unsigned char)v->s.p[i],
				 i + 1 < v->s.n ? ", " : "");
			tws(t, num);
		}
		tws(t, "]");
		break;
	case TMPL_MAP:
		tmap(t, NULL, v, true);
		break;
	case TMPL_OBJ: {
		struct buf b = BUF_INIT(1 << 20);

		if (v->type && v->type->string && v->type->string(v, &b) == 0)
			tquoted(t, b.buf, b.len);
		else
			tws(t, "{}");
		buf_release(&b);
		break;
	}
	default:
		tfail(t, "toml: unexpected type: <nil>");
	}
	t->depth--;
}

static struct tkey tkey_add(struct toml *t, const struct tkey *k, const char *p, size_t n,
			    const char **parts, size_t *lens)
{
	struct tkey nk = { parts, lens, k ? k->n + 1 : 1 };

	for (size_t i = 0; k && i < k->n; i++) {
		parts[i] = k->parts[i];
		lens[i] = k->lens[i];
	}
	parts[nk.n - 1] = p;
	lens[nk.n - 1] = n;
	return nk;
}

static void tmap(struct toml *t, const struct tkey *key, const struct tmpl_val *v, bool inline_)
{
	const struct tmpl_map *m = v->m;
	size_t nsub = 0, ndirect = 0;
	struct tkey empty = { NULL, NULL, 0 };

	if (!key)
		key = &empty;
	if (inline_)
		tws(t, "{");
	for (size_t i = 0; m && i < m->n; i++) {
		if (is_table(ttype_of(t, &m->e[i].v)))
			nsub++;
		else
			ndirect++;
	}
	for (int pass = 0; pass < 2 && !t->err; pass++) {
		size_t count = pass == 0 ? ndirect : nsub, done = 0;

		for (size_t i = 0; m && i < m->n && !t->err; i++) {
			const struct tmpl_val *e = &m->e[i].v;
			bool sub = is_table(ttype_of(t, e));
			const char **parts;
			size_t *lens;
			struct tkey nk;

			if (sub != (pass == 1))
				continue;
			done++;
			if (tnil(e))
				continue;
			if (inline_) {
				struct tkey one = { (const char *const *)&m->e[i].key, &m->e[i].klen, 1 };

				tkey_value(t, &one, e, true);
				if ((pass == 0 && nsub > 0) || done != count)
					tws(t, ", ");
				continue;
			}
			parts = xnew0(const char *, key->n + 1);
			lens = xnew0(size_t, key->n + 1);
			nk = tkey_add(t, key, m->e[i].key, m->e[i].klen, parts, lens);
			tencode(t, &nk, e);
			free(parts);
			free(lens);
		}
	}
	if (inline_)
		tws(t, "}");
}

static void tencode(struct toml *t, const struct tkey *key, const struct tmpl_val *v)
{
	if (t->err)
		return;
	if (++t->depth > MAX_DEPTH) {
		tfail(t, "toml: value nests too deeply");
		return;
	}
	switch (v->kind) {
	case TMPL_MAP:
		if (!v->m)
			break;
		if (key->n == 1)
			tnewline(t);
		if (key->n > 0) {
			tindent(t, key);
			tws(t, "[");
			tkey_string(t, key);
			tws(t, "]");
			tnewline(t);
		}
		tmap(t, key, v, false);
		break;
	case TMPL_LIST:
		if (!v->l)
			break;
		if (ttype_of(t, v) == T_ARRAY_HASH) {
			if (key->n == 0) {
				tfail(t, "toml: top-level values must be Go maps or structs");
				break;
			}
			for (size_t i = 0; i < v->l->n && !t->err; i++) {
				tnewline(t);
				tindent(t, key);
				tws(t, "[[");
				tkey_string(t, key);
				tws(t, "]]");
				tnewline(t);
				tmap(t, key, &v->l->v[i], false);
			}
		} else {
			tkey_value(t, key, v, false);
		}
		break;
	case TMPL_INVALID:
	case TMPL_NIL:
		break;
	default:
		tkey_value(t, key, v, false);
	}
	t->depth--;
}

static int fn_to_toml(struct tmpl_ctx *ctx, const struct tmpl_val *a, size_t n,
		      struct tmpl_val *ret, void *payload)
{
	struct buf b = BUF_INIT(budget_left(ctx));
	struct toml t = { .out = &b };
	struct tkey root = { NULL, NULL, 0 };

	if (a[0].kind == TMPL_NIL)
		return tmpl_ctx_errorf(ctx, "reflect: call of reflect.Value.Type on zero Value");
	tencode(&t, &root, &a[0]);
	if (t.err) {
		buf_release(&b);
		if (t.err == -EFBIG)
			return tmpl_ctx_fail(ctx, -ENOMEM, "memory limit exceeded");
		*ret = tmpl_strz(tmpl_ctx_arena(ctx), t.errmsg ? t.errmsg : "toml: encoding failed");
		return 0;
	}
	*ret = tmpl_str_buf(tmpl_ctx_arena(ctx), &b);
	buf_release(&b);
	return 0;
}

void tmpl_funcs_add_data(struct tmpl_funcs *f)
{
	(void)tmpl_funcs_add(f, "toYaml", "v", fn_to_yaml, NULL);
	(void)tmpl_funcs_add(f, "fromYaml", "s", fn_from_yaml, NULL);
	(void)tmpl_funcs_add(f, "fromYamlArray", "s", fn_from_yaml_array, NULL);
	(void)tmpl_funcs_add(f, "toJson", "v", fn_to_json, NULL);
	(void)tmpl_funcs_add(f, "fromJson", "s", fn_from_json, NULL);
	(void)tmpl_funcs_add(f, "fromJsonArray", "s", fn_from_json_array, NULL);
	(void)tmpl_funcs_add(f, "toToml", "v", fn_to_toml, NULL);
}
