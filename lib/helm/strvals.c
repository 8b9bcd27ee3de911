/*
 * strvals.c: Helm's `--set` language (pkg/strvals), on cJSON values.
 *
 * DESIGN
 * A recursive-descent reader over the expression's runes, with the
 * grammar and the quirks of Helm's parser kept: `name.name[i].name=value`
 * pairs separated by ',', '\' escaping the next rune in names and values,
 * `{a,b}` lists, values typed by the kind (--set: true/false/null any
 * case, "0", integers without a leading 0 as int64, else a string), a
 * missing value meaning "" and `a={}` meaning [""] as in Helm, indices up
 * to 65536 (the list grows with nulls), at most 30 nested names.  Where
 * Go panics on a type assertion (`a.b=1` when `a` is a string) the
 * parser reports Helm's recovered message ("unable to parse key:
 * interface conversion: interface {} is string, not
 * map[string]interface {}").  Invalid UTF-8 reads as U+FFFD, as Go's
 * rune reader does.
 *
 * Bounds: recursion depth (nested lists) and the total of list slots one
 * expression may create are capped, so a short hostile expression cannot
 * exhaust the stack or memory.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/str.h"
#include "base/utf8.h"
#include "helm/internal.h"
#include "base/banned.h"

#define MAX_INDEX 65536
#define MAX_NESTED_NAMES 30
#define MAX_DEPTH 1000
#define MAX_SLOTS (1u << 20)

#define EOF_ERR 1 /* Go's io.EOF: not an error at the top */
#define NOT_LIST 2 /* Go's ErrNotList */

struct sp {
	const char *s;
	size_t pos, len, prev;
	enum helm_set_kind kind;
	helm_read_fn read;
	void *payload;
	unsigned depth;
	size_t slots;
	struct op_err *err;
};

/* Read one rune as UTF-8 into out (re-encoded; invalid bytes become U+FFFD). */
static bool read_rune(struct sp *p, char out[5], size_t *olen, unsigned *ret)
{
	const char *s = p->s + p->pos;
	size_t left = p->len - p->pos, n;
	uint32_t c;

	p->prev = p->pos;
	if (left == 0)
		return false;
	n = utf8_valid_at(s, left);
	if (n == 0) {
		memcpy(out, "\xef\xbf\xbd", 3);
		*olen = 3;
		p->pos += 1;
		*ret = UTF8_RUNE_ERROR;
		return true;
	}
	utf8_decode(s, n, &c);
	memcpy(out, s, n);
	*olen = n;
	p->pos += n;
	*ret = c;
	return true;
}

static void unread(struct sp *p)
{
	p->pos = p->prev;
}

/*
 * runesUntil: collect runes (with '\' escapes unless `literal`) until one
 * of `stop`; *last gets it.  EOF_ERR at the end of input (what was read
 * is still returned).
 */
static int until(struct sp *p, const char *stop, bool literal, struct buf *v, unsigned *last)
{
	char r[5];
	size_t n;
	unsigned c;

	buf_reset(v);
	for (;;) {
		if (!read_rune(p, r, &n, &c)) {
			*last = 0;
			return EOF_ERR;
		}
		if (c < 0x80 && strchr(stop, (int)c) && c) {
			*last = c;
			return 0;
		}
		if (c == '\\' && !literal) {
			if (!read_rune(p, r, &n, &c)) {
				*last = 0;
				return EOF_ERR;
			}
		}
		if (buf_add(v, r, n) < 0)
			return op_err_set(p->err, -EFBIG, "value too long");
	}
}

/* Go's %q of a string, for messages. */
static char *quoted(const char *s)
{
	struct buf b = BUF_INIT(1 << 20);

	buf_addch(&b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			buf_addf(&b, "\\%c", c);
		else if (c == '\n')
			buf_adds(&b, "\\n");
		else if (c == '\t')
			buf_adds(&b, "\\t");
		else if (c < 0x20 || c == 0x7f)
			buf_addf(&b, "\\x%02x", c);
		else
			buf_addch(&b, (char)c);
	}
	buf_addch(&b, '"');
	return buf_detach(&b, NULL);
}

static const char *go_type(const cJSON *v)
{
	if (!v || cJSON_IsNull(v))
		return "nil";
	if (cJSON_IsObject(v))
		return "map[string]interface {}";
	if (cJSON_IsArray(v))
		return "[]interface {}";
	if (cJSON_IsString(v))
		return "string";
	if (cJSON_IsBool(v))
		return "bool";
	if (cJSON_IsRaw(v))
		return "int64";
	return "float64";
}

static int conversion_err(struct sp *p, const cJSON *v, const char *want)
{
	return op_err_set(p->err, -EINVAL,
			  "unable to parse key: interface conversion: interface {} is %s, not %s",
			  go_type(v), want);
}

/* typedVal() for --set, a plain string for --set-string, a file's bytes for --set-file. */
static int typed(struct sp *p, const char *s, cJSON **ret)
{
	int64_t iv;

	if (p->kind == HELM_SET_FILE) {
		char *data = NULL;
		size_t len = 0;
		int r = p->read(s, &data, &len, p->err, p->payload);

		if (r < 0)
			return r;
		*ret = cJSON_CreateString(data);
		free(data);
		return 0;
	}
	if (p->kind == HELM_SET_STRING) {
		*ret = cJSON_CreateString(s);
		return 0;
	}
	if (!strcasecmp(s, "true"))
		*ret = cJSON_CreateTrue();
	else if (!strcasecmp(s, "false"))
		*ret = cJSON_CreateFalse();
	else if (!strcasecmp(s, "null"))
		*ret = cJSON_CreateNull();
	else if (streq(s, "0"))
		*ret = helm_values_int64(0);
	else if (s[0] && s[0] != '0' && parse_int64(s, &iv) == 0)
		*ret = helm_values_int64(iv);
	else
		*ret = cJSON_CreateString(s);
	return 0;
}

/* Set data[key] (an empty key sets nothing, as Helm); takes `val`. */
static void set_key(cJSON *data, const char *key, cJSON *val)
{
	cJSON *old;

	if (!key[0]) {
		cJSON_Delete(val);
		return;
	}
	old = cJSON_GetObjectItemCaseSensitive(data, key);
	if (old)
		cJSON_ReplaceItemInObjectCaseSensitive(data, key, val);
	else
		cJSON_AddItemToObject(data, key, val);
}

/* setIndex(): list[i] = val, growing the list with nulls; takes `val`. */
static int set_index(struct sp *p, cJSON *list, long i, cJSON *val)
{
	int n = cJSON_GetArraySize(list);

	if (i < 0) {
		cJSON_Delete(val);
		return op_err_set(p->err, -EINVAL, "negative %ld index not allowed", i);
	}
	if (i > MAX_INDEX) {
		cJSON_Delete(val);
		return op_err_set(p->err, -EINVAL, "index of %ld is greater than maximum supported "
				  "index of %d", i, MAX_INDEX);
	}
	if (i >= n) {
		p->slots += (size_t)(i + 1 - n);
		if (p->slots > MAX_SLOTS) {
			cJSON_Delete(val);
			return op_err_set(p->err, -E2BIG, "too many list elements");
		}
	}
	while (n < i) {
		cJSON_AddItemToArray(list, cJSON_CreateNull());
		n++;
	}
	if (i == n)
		cJSON_AddItemToArray(list, val);
	else
		cJSON_ReplaceItemInArray(list, (int)i, val);
	return 0;
}

/* keyIndex(): the number up to ']'. */
static int key_index(struct sp *p, long *ret)
{
	struct buf b = BUF_INIT(1 << 20);
	unsigned last;
	int64_t v;
	int r = until(p, "]", p->kind == HELM_SET_LITERAL, &b, &last);

	if (r == EOF_ERR) {
		buf_release(&b);
		return op_err_set(p->err, -EINVAL, "error parsing index: EOF");
	}
	if (r < 0 || parse_int64(b.buf, &v) < 0) {
		char *q = quoted(b.buf);

		if (r >= 0)
			r = op_err_set(p->err, -EINVAL, "error parsing index: strconv.Atoi: parsing %s: "
				       "invalid syntax", q);
		free(q);
		buf_release(&b);
		return r;
	}
	buf_release(&b);
	*ret = (long)v;
	return 0;
}

/*
 * valList(): after '=', a "{a,b}" list.  NOT_LIST if the value is not a list
 * (nothing consumed), EOF_ERR at the end of input, 0 with *ret, or <0.
 */
static int val_list(struct sp *p, cJSON **ret)
{
	struct buf b = BUF_INIT(1 << 24);
	char rb[5];
	size_t n;
	unsigned c, last;
	cJSON *list;
	int r;

	if (!read_rune(p, rb, &n, &c))
		return EOF_ERR;
	if (c != '{') {
		unread(p);
		return NOT_LIST;
	}
	list = cJSON_CreateArray();
	for (;;) {
		cJSON *v = NULL;

		r = until(p, ",}", false, &b, &last);
		if (r == EOF_ERR) {
			r = op_err_set(p->err, -EINVAL, "list must terminate with '}'");
			break;
		}
		if (r < 0)
			break;
		if (last == '}') {
			if (read_rune(p, rb, &n, &c) && c != ',')
				unread(p);
			r = typed(p, b.buf, &v);
			if (r == 0)
				cJSON_AddItemToArray(list, v);
			break;
		}
		r = typed(p, b.buf, &v);
		if (r < 0)
			break;
		cJSON_AddItemToArray(list, v);
	}
	buf_release(&b);
	if (r < 0) {
		cJSON_Delete(list);
		return r;
	}
	*ret = list;
	return 0;
}

/* emptyVal() of --set-json: true at the end, at ',' (consumed) or after spaces only. */
static bool empty_val(struct sp *p)
{
	char rb[5];
	size_t n;
	unsigned c;

	for (;;) {
		if (!read_rune(p, rb, &n, &c))
			return true;
		if (c == ',')
			return true;
		if (!(c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' ||
		      c == 0x85 || c == 0xa0)) {
			unread(p);
			return false;
		}
	}
}

/* Whether `v` holds a number out of float64's range (cJSON reads 1e999 as an infinity). */
static bool out_of_range(const cJSON *v)
{
	const cJSON *c;

	if (cJSON_IsNumber(v))
		return !isfinite(v->valuedouble);
	for (c = v ? v->child : NULL; c; c = c->next)
		if (out_of_range(c))
			return true;
	return false;
}

/* A JSON value at the current position (one value; what follows stays). */
static int json_val(struct sp *p, cJSON **ret)
{
	const char *end = NULL;
	cJSON *v;

	if (empty_val(p)) {
		*ret = cJSON_CreateNull();
		return 0;
	}
	v = cJSON_ParseWithLengthOpts(p->s + p->pos, p->len - p->pos, &end, false);
	if (!v)
		return op_err_set(p->err, -EINVAL, "invalid JSON value");
	p->pos = (size_t)(end - p->s);
	helm__floatify(v);
	if (out_of_range(v)) {
		/* encoding/json: "cannot unmarshal number 1e999 into Go value of type float64" */
		cJSON_Delete(v);
		return op_err_set(p->err, -EINVAL, "invalid JSON value");
	}
	empty_val(p);
	*ret = v;
	return 0;
}

/*
 * The value after '=': for a key or a list slot.  Returns 0, or EOF_ERR
 * when the input ended right after the '=' (both success, *ret set), or
 * <0.  A value read to the end of the input is 0, as in Helm, where only
 * an empty value reports io.EOF.
 */
static int value(struct sp *p, cJSON **ret)
{
	struct buf b = BUF_INIT(1 << 24);
	unsigned last;
	int r, e;

	if (p->kind == HELM_SET_JSON)
		return json_val(p, ret);
	if (p->kind == HELM_SET_LITERAL) {
		r = until(p, "", true, &b, &last);
		*ret = cJSON_CreateString(b.buf);
		buf_release(&b);
		return r < 0 ? r : EOF_ERR;
	}
	r = val_list(p, ret);
	if (r == EOF_ERR) {
		*ret = cJSON_CreateString("");
		return EOF_ERR;
	}
	if (r != NOT_LIST)
		return r;
	e = until(p, ",", false, &b, &last);
	if (e < 0) {
		buf_release(&b);
		return e;
	}
	r = typed(p, b.buf, ret);
	buf_release(&b);
	return r < 0 ? r : 0;
}

static int key(struct sp *p, cJSON *data, int level);

/* listItem(): what follows "name[i]", applied to `list` in place. */
static int list_item(struct sp *p, cJSON *list, long i, int level)
{
	struct buf k = BUF_INIT(1 << 24);
	unsigned last;
	int r;

	if (i < 0)
		return op_err_set(p->err, -EINVAL, "negative %ld index not allowed", i);
	if (++p->depth > MAX_DEPTH)
		return op_err_set(p->err, -E2BIG, "expression nested too deeply");
	r = until(p, "[.=", p->kind == HELM_SET_LITERAL, &k, &last);
	if (r >= 0 && k.len > 0) {
		char *q = quoted(k.buf);

		r = op_err_set(p->err, -EINVAL, "unexpected data at end of array index: %s", q);
		free(q);
	} else if (r == 0 && last == '=') {
		cJSON *v = NULL;

		r = value(p, &v);
		if (r >= 0) {
			int e = set_index(p, list, i, v);

			r = e < 0 ? e : 0;
		}
	} else if (r == 0 && last == '[') {
		long next;
		cJSON *cur = i < cJSON_GetArraySize(list) ? cJSON_GetArrayItem(list, (int)i) : NULL;
		bool fresh = !cur || cJSON_IsNull(cur);

		r = key_index(p, &next);
		if (r == 0 && !fresh && !cJSON_IsArray(cur))
			r = conversion_err(p, cur, "[]interface {}");
		if (r == 0) {
			cJSON *sub = fresh ? cJSON_CreateArray() : cur;

			r = list_item(p, sub, next, level);
			if (r < 0 || r == EOF_ERR) {
				if (fresh)
					cJSON_Delete(sub);
			} else if (fresh) {
				r = set_index(p, list, i, sub);
			}
		}
	} else if (r == 0 && last == '.') {
		cJSON *cur = i < cJSON_GetArraySize(list) ? cJSON_GetArrayItem(list, (int)i) : NULL;
		bool fresh = !cur;

		if (cur && !cJSON_IsObject(cur)) {
			cJSON_ReplaceItemInArray(list, (int)i, cJSON_CreateObject());
			cur = cJSON_GetArrayItem(list, (int)i);
		}
		if (fresh)
			cur = cJSON_CreateObject();
		r = key(p, cur, level);
		if (r == 0 && fresh)
			r = set_index(p, list, i, cur);
		else if (fresh)
			cJSON_Delete(cur);
	}
	p->depth--;
	buf_release(&k);
	return r;
}

static int key(struct sp *p, cJSON *data, int level)
{
	struct buf k = BUF_INIT(1 << 24);
	const char *stop = p->kind == HELM_SET_LITERAL ? "=[." : "=[,.";
	unsigned last;
	int r = until(p, stop, p->kind == HELM_SET_LITERAL, &k, &last);

	if (r < 0)
		goto out;
	if (r == EOF_ERR) {
		if (k.len > 0) {
			char *q = quoted(k.buf);

			r = op_err_set(p->err, -EINVAL, "key %s has no value", q);
			free(q);
		}
		goto out;
	}
	if (last == '[') {
		cJSON *list = cJSON_GetObjectItemCaseSensitive(data, k.buf);
		long i;

		r = key_index(p, &i);
		if (r < 0)
			goto out;
		if (list && !cJSON_IsArray(list)) {
			r = conversion_err(p, list, "[]interface {}");
			goto out;
		}
		if (!list) {
			list = cJSON_CreateArray();
			if (k.buf[0])
				cJSON_AddItemToObject(data, k.buf, list);
		}
		r = list_item(p, list, i, level);
		if (!k.buf[0])
			cJSON_Delete(list);
	} else if (last == '=') {
		cJSON *v = NULL;

		r = value(p, &v);
		if (r >= 0)
			set_key(data, k.buf, v);
		if (r == EOF_ERR)
			r = p->kind == HELM_SET_LITERAL ? 0 : EOF_ERR;
	} else if (last == ',') {
		char *q = quoted(k.buf);

		set_key(data, k.buf, cJSON_CreateString(""));
		r = op_err_set(p->err, -EINVAL, "key %s has no value (cannot end with ,)", q);
		free(q);
	} else { /* '.' */
		cJSON *inner = cJSON_GetObjectItemCaseSensitive(data, k.buf);
		bool fresh = !inner;

		if (++level > MAX_NESTED_NAMES) {
			r = op_err_set(p->err, -EINVAL, "value name nested level is greater than "
				       "maximum supported nested level of %d", MAX_NESTED_NAMES);
			goto out;
		}
		if (inner && !cJSON_IsObject(inner)) {
			r = conversion_err(p, inner, "map[string]interface {}");
			goto out;
		}
		if (fresh)
			inner = cJSON_CreateObject();
		r = key(p, inner, level);
		if (r == 0 && !inner->child) {
			char *q = quoted(k.buf);

			r = op_err_set(p->err, -EINVAL, "key map %s has no value", q);
			free(q);
		}
		if (fresh) {
			if (inner->child)
				set_key(data, k.buf, inner);
			else
				cJSON_Delete(inner);
		}
	}
out:
	buf_release(&k);
	return r;
}

int helm_strvals_parse(cJSON *dst, const char *expr, enum helm_set_kind kind, helm_read_fn read,
		       void *payload, struct op_err *err)
{
	struct sp p = { .s = expr, .len = strlen(expr), .kind = kind, .read = read,
			.payload = payload, .err = err };
	int r;

	for (;;) {
		r = key(&p, dst, 0);
		if (r == EOF_ERR)
			return 0;
		if (r < 0)
			return r;
	}
}
