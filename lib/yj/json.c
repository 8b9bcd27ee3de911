/*
 * json.c: JSON pointer, merge patch, JSON patch, canonical printing and
 * digests (see yj.h).
 *
 * DESIGN
 * Canonical printing is what makes outputs comparable with Go tools byte
 * for byte: keys sorted bytewise (Go sorts map keys), numbers formatted by
 * yj_format_float() as encoding/json formats float64 (integral values
 * print without a fraction or exponent below 1e21), raw items (exact big
 * integers, see yj.h) printed verbatim, and strings escaped as encoding/json
 * escapes them with SetEscapeHTML(false): \" \\ \n \r \t, other control
 * characters as \u00XX, U+2028/U+2029 as \u2028/\u2029, and invalid UTF-8
 * as \ufffd.
 *
 * JSON patch applies to a copy and swaps it in only when every operation
 * succeeded, so a failing patch leaves the target untouched.
 */
#include <limits.h>
#include <math.h>
#include <mbedtls/md.h>
#include <mbedtls/sha256.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/str.h"
#include "base/utf8.h"
#include "yj/internal.h"
#include "yj/yj.h"
#include "base/banned.h"

/* ---- Go float formatting ---- */

/* Shortest digits that round-trip at `bits`: "d1d2..." and exponent e (v = d1.d2.. x 10^e). */
static void shortest(double v, int bits, char digits[32], int *exp10)
{
	char buf[64], *e, *d;
	int p, maxp = bits == 32 ? 9 : 17;

	for (p = 1; p <= maxp; p++) {
		snprintf(buf, sizeof(buf), "%.*e", p - 1, v);
		if (bits == 32 ? strtof(buf, NULL) == (float)v : strtod(buf, NULL) == v)
			break;
	}
	e = strchr(buf, 'e');
	*exp10 = (int)strtol(e + 1, NULL, 10);
	*e = '\0';
	d = digits;
	for (e = buf; *e; e++)
		if (*e >= '0' && *e <= '9')
			*d++ = *e;
	*d = '\0';
	/* Trailing zeros are not significant ("1.000e+03" at p=4 cannot happen, but be safe). */
	while (d > digits + 1 && d[-1] == '0')
		*--d = '\0';
}

static void fmt_e(const char *digits, int exp10, bool json, char *out, size_t n)
{
	size_t nd = strlen(digits);
	int len;

	len = snprintf(out, n, "%c", digits[0]);
	if (nd > 1)
		len += snprintf(out + len, n - (size_t)len, ".%s", digits + 1);
	if (json && exp10 < 0 && exp10 > -10)
		snprintf(out + len, n - (size_t)len, "e-%d", -exp10);
	else
		snprintf(out + len, n - (size_t)len, "e%c%02d", exp10 < 0 ? '-' : '+',
			 exp10 < 0 ? -exp10 : exp10);
}

static void fmt_f(const char *digits, int exp10, char *out, size_t n)
{
	size_t nd = strlen(digits), o = 0;
	int i;

	if (exp10 < 0) {
		o += (size_t)snprintf(out, n, "0.");
		for (i = 0; i < -exp10 - 1 && o < n - 1; i++)
			out[o++] = '0';
		snprintf(out + o, n - o, "%s", digits);
		return;
	}
	for (i = 0; i <= exp10 && o < n - 1; i++)
		out[o++] = (size_t)i < nd ? digits[i] : '0';
	if ((size_t)exp10 + 1 < nd && o < n - 1) {
		out[o++] = '.';
		for (i = exp10 + 1; (size_t)i < nd && o < n - 1; i++)
			out[o++] = digits[i];
	}
	out[o] = '\0';
}

int64_t yj_to_int64(double v)
{
	if (!(v == v))
		return 0;
	if (v >= 9223372036854775807.0) /* 2^63: the first double above INT64_MAX */
		return INT64_MAX;
	if (v <= -9223372036854775808.0)
		return INT64_MIN;
	return (int64_t)v;
}

int yj_to_int(double v)
{
	int64_t i = yj_to_int64(v);

	return i > INT_MAX ? INT_MAX : i < INT_MIN ? INT_MIN : (int)i;
}

bool yj_int64(const cJSON *j, int64_t *ret)
{
	double v;

	if (!cJSON_IsNumber(j))
		return false;
	v = j->valuedouble;
	if (!(v >= -9223372036854775808.0 && v < 9223372036854775807.0) || v != (double)(int64_t)v)
		return false;
	if (ret)
		*ret = (int64_t)v;
	return true;
}

void yj_format_float(double v, int bits, int json, char *out, size_t n)
{
	char digits[32];
	int exp10;
	bool neg = signbit(v);
	double a = fabs(v);

	if (isnan(v) || isinf(v)) {
		/* strconv's words; encoding/json refuses them, so callers never should ask */
		snprintf(out, n, "%s", isnan(v) ? "NaN" : neg ? "-Inf" : "+Inf");
		return;
	}
	if (neg) {
		out[0] = '-';
		out++;
		n--;
	}
	if (a == 0) {
		snprintf(out, n, "0");
		return;
	}
	shortest(a, bits, digits, &exp10);
	if (json) {
		if (a < 1e-6 || a >= 1e21)
			fmt_e(digits, exp10, true, out, n);
		else
			fmt_f(digits, exp10, out, n);
		return;
	}
	/* 'g' with shortest digits: Go switches to %e below 1e-4 and from 1e6. */
	if (exp10 < -4 || exp10 >= 6)
		fmt_e(digits, exp10, false, out, n);
	else
		fmt_f(digits, exp10, out, n);
}

/* ---- canonical printing ---- */

static int print_string(const char *str, struct buf *out)
{
	const unsigned char *s = (const unsigned char *)str;
	int r = buf_addch(out, '"');

	while (r == 0 && *s) {
		size_t l;

		switch (*s) {
		case '"':
			r = buf_adds(out, "\\\"");
			s++;
			continue;
		case '\\':
			r = buf_adds(out, "\\\\");
			s++;
			continue;
		case '\n':
			r = buf_adds(out, "\\n");
			s++;
			continue;
		case '\r':
			r = buf_adds(out, "\\r");
			s++;
			continue;
		case '\t':
			r = buf_adds(out, "\\t");
			s++;
			continue;
		default:
			break;
		}
		if (*s < 0x20) {
			r = buf_addf(out, "\\u%04x", *s);
			s++;
			continue;
		}
		l = utf8_valid_at((const char *)s, strnlen((const char *)s, 4));
		if (l == 0) {
			r = buf_adds(out, "\\ufffd");
			s++;
		} else if (l == 3 && s[0] == 0xe2 && s[1] == 0x80 && (s[2] == 0xa8 || s[2] == 0xa9)) {
			r = buf_adds(out, s[2] == 0xa8 ? "\\u2028" : "\\u2029");
			s += 3;
		} else {
			r = buf_add(out, s, l);
			s += l;
		}
	}
	return r ? r : buf_addch(out, '"');
}

static int print_compact(const cJSON *j, bool sorted, struct buf *out);

static int cmp_items(const void *a, const void *b)
{
	return strcmp((*(cJSON *const *)a)->string, (*(cJSON *const *)b)->string);
}

/* One level of yj_print_indent(). */
static int print_indent(const cJSON *j, const char *indent, unsigned depth, struct buf *out)
{
	const cJSON *c;
	char open, close;
	int r = 0;

	if (!cJSON_IsArray(j) && !cJSON_IsObject(j)) {
		struct buf t = BUF_INIT(SIZE_MAX);

		r = yj_print_canonical(j, &t);
		if (r == 0)
			r = yj_escape_html(t.buf, t.len, out);
		buf_release(&t);
		return r;
	}
	open = cJSON_IsArray(j) ? '[' : '{';
	close = cJSON_IsArray(j) ? ']' : '}';
	r = buf_addch(out, open);
	if (!j->child)
		return r ? r : buf_addch(out, close);
	for (c = j->child; c && r == 0; c = c->next) {
		r = buf_adds(out, c == j->child ? "\n" : ",\n");
		for (unsigned d = 0; d <= depth && r == 0; d++)
			r = buf_adds(out, indent);
		if (r == 0 && cJSON_IsObject(j)) {
			cJSON *k = cJSON_CreateString(c->string);

			r = print_indent(k, indent, depth + 1, out);
			cJSON_Delete(k);
			if (r == 0)
				r = buf_adds(out, ": ");
		}
		if (r == 0)
			r = print_indent(c, indent, depth + 1, out);
	}
	if (r == 0)
		r = buf_addch(out, '\n');
	for (unsigned d = 0; d < depth && r == 0; d++)
		r = buf_adds(out, indent);
	return r ? r : buf_addch(out, close);
}

int yj_print_indent(const cJSON *j, const char *indent, struct buf *out)
{
	return print_indent(j, indent, 0, out);
}

int yj_print_canonical(const cJSON *j, struct buf *out)
{
	return print_compact(j, true, out);
}

int yj_print_go(const cJSON *j, struct buf *out)
{
	struct buf t = BUF_INIT(SIZE_MAX);
	int r = print_compact(j, false, &t);

	if (r == 0)
		r = yj_escape_html(t.buf, t.len, out);
	buf_release(&t);
	return r;
}

/* Compact JSON as Go writes it; object members sorted bytewise if `sorted`. */
static int print_compact(const cJSON *j, bool sorted, struct buf *out)
{
	char num[64];
	int r = 0;

	if (cJSON_IsNull(j))
		return buf_adds(out, "null");
	if (cJSON_IsTrue(j))
		return buf_adds(out, "true");
	if (cJSON_IsFalse(j))
		return buf_adds(out, "false");
	if (cJSON_IsRaw(j))
		return buf_adds(out, j->valuestring);
	if (cJSON_IsNumber(j)) {
		yj_format_float(j->valuedouble, 64, 1, num, sizeof(num));
		return buf_adds(out, num);
	}
	if (cJSON_IsString(j))
		return print_string(j->valuestring, out);
	if (cJSON_IsArray(j)) {
		const cJSON *c;

		r = buf_addch(out, '[');
		for (c = j->child; c && r == 0; c = c->next) {
			if (c != j->child)
				r = buf_addch(out, ',');
			if (r == 0)
				r = print_compact(c, sorted, out);
		}
		return r ? r : buf_addch(out, ']');
	}
	if (cJSON_IsObject(j)) {
		const cJSON **v, *c;
		size_t n = 0, i;

		for (c = j->child; c; c = c->next)
			n++;
		v = xcalloc(n ? n : 1, sizeof(*v));
		for (i = 0, c = j->child; c; c = c->next)
			v[i++] = c;
		if (sorted)
			qsort(v, n, sizeof(*v), cmp_items);
		r = buf_addch(out, '{');
		for (i = 0; i < n && r == 0; i++) {
			if (i)
				r = buf_addch(out, ',');
			if (r == 0)
				r = print_string(v[i]->string, out);
			if (r == 0)
				r = buf_addch(out, ':');
			if (r == 0)
				r = print_compact(v[i], sorted, out);
		}
		free(v);
		return r ? r : buf_addch(out, '}');
	}
	return -EINVAL;
}

void yj_sha256_hex(const void *data, size_t n, char ret[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char sum[32];
	int i;

	mbedtls_sha256_ret(data, n, sum, 0);
	for (i = 0; i < 32; i++) {
		ret[2 * i] = hex[sum[i] >> 4];
		ret[2 * i + 1] = hex[sum[i] & 15];
	}
	ret[64] = '\0';
}

void yj_hmac_sha256_hex(const void *key, size_t klen, const void *data, size_t n, char ret[65])
{
	unsigned char sum[32];

	mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), key, klen, data, n, sum);
	str_hex(sum, sizeof(sum), ret);
}

int yj_digest(const cJSON *j, char ret[72])
{
	struct buf b = BUF_INIT(1u << 30);
	int r = yj_print_canonical(j, &b);

	if (r == 0) {
		memcpy(ret, "sha256:", 7);
		yj_sha256_hex(b.buf, b.len, ret + 7);
	}
	buf_release(&b);
	return r;
}

/* ---- JSON pointer ---- */

/* Decode the next reference token of `*p` into a new string; advance *p. */
static char *next_token(const char **p)
{
	const char *s = *p + 1, *end = strchr(s, '/');
	size_t n = end ? (size_t)(end - s) : strlen(s), i, o = 0;
	char *tok = xmalloc(n + 1);

	for (i = 0; i < n; i++) {
		if (s[i] == '~' && i + 1 < n && (s[i + 1] == '0' || s[i + 1] == '1')) {
			tok[o++] = s[i + 1] == '0' ? '~' : '/';
			i++;
		} else {
			tok[o++] = s[i];
		}
	}
	tok[o] = '\0';
	*p = s + n;
	return tok;
}

/* An array index token: digits without leading zeros. */
static int array_index(const char *tok, int size, bool allow_end)
{
	int64_t v;

	if (allow_end && streq(tok, "-"))
		return size;
	if (!*tok || (tok[0] == '0' && tok[1]) || parse_int64(tok, &v) < 0 || v < 0 ||
	    tok[0] == '+' || tok[0] == '-')
		return -1;
	return v > size ? -1 : (int)v;
}

cJSON *yj_get(const cJSON *root, const char *ptr)
{
	const cJSON *cur = root;

	if (!ptr)
		return NULL;
	while (cur && *ptr) {
		_cleanup_free_ char *tok = NULL;

		if (*ptr != '/')
			return NULL;
		tok = next_token(&ptr);
		if (cJSON_IsObject(cur)) {
			cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
		} else if (cJSON_IsArray(cur)) {
			int i = array_index(tok, cJSON_GetArraySize(cur), false);

			cur = i < 0 ? NULL : cJSON_GetArrayItem(cur, i);
		} else {
			return NULL;
		}
	}
	return (cJSON *)cur;
}

int yj_remove(cJSON *root, const char *ptr)
{
	cJSON *cur = root;

	if (!ptr || *ptr != '/')
		return -EINVAL;
	while (cur && *ptr) {
		_cleanup_free_ char *tok = next_token(&ptr);
		cJSON *next = NULL;
		int i = -1;

		if (cJSON_IsObject(cur)) {
			next = cJSON_GetObjectItemCaseSensitive(cur, tok);
		} else if (cJSON_IsArray(cur)) {
			i = array_index(tok, cJSON_GetArraySize(cur), false);
			next = i < 0 ? NULL : cJSON_GetArrayItem(cur, i);
		}
		if (!next)
			return -ENOENT;
		if (!*ptr) {
			cJSON_Delete(cJSON_DetachItemViaPointer(cur, next));
			return 0;
		}
		cur = next;
	}
	return -ENOENT;
}

const char *yj_get_str(const cJSON *root, const char *ptr)
{
	const cJSON *v = yj_get(root, ptr);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int yj_set(cJSON *root, const char *ptr, cJSON *val)
{
	cJSON *cur = root;

	if (!ptr || *ptr != '/') {
		cJSON_Delete(val);
		return -EINVAL;
	}
	while (*ptr) {
		_cleanup_free_ char *tok = next_token(&ptr);
		cJSON *next;

		if (!cJSON_IsObject(cur)) {
			cJSON_Delete(val);
			return -EINVAL;
		}
		if (!*ptr) {
			if (cJSON_GetObjectItemCaseSensitive(cur, tok))
				cJSON_ReplaceItemInObjectCaseSensitive(cur, tok, val);
			else
				cJSON_AddItemToObject(cur, tok, val);
			/* now owned by cur */
			return 0;
		}
		next = cJSON_GetObjectItemCaseSensitive(cur, tok);
		if (!next)
			next = cJSON_AddObjectToObject(cur, tok);
		cur = next;
	}
	cJSON_Delete(val);
	return -EINVAL;
}

/* Object member `k` of `o`, made an (empty) object if it is anything else. */
static cJSON *object_member(cJSON *o, const char *k)
{
	cJSON *m = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!cJSON_IsObject(m)) {
		cJSON_DeleteItemFromObjectCaseSensitive(o, k);
		m = cJSON_AddObjectToObject(o, k);
	}
	return m;
}

void yj_set_meta(cJSON *obj, const char *field, const char *key, const char *val)
{
	cJSON *map = object_member(object_member(obj, "metadata"), field);

	cJSON_DeleteItemFromObjectCaseSensitive(map, key);
	cJSON_AddStringToObject(map, key, val);
}

/* ---- RFC 7386 merge patch ---- */

static cJSON *merge(cJSON *target, const cJSON *patch)
{
	const cJSON *p;

	if (!cJSON_IsObject(patch)) {
		cJSON_Delete(target);
		return cJSON_Duplicate(patch, 1);
	}
	if (!cJSON_IsObject(target)) {
		cJSON_Delete(target);
		target = cJSON_CreateObject();
	}
	for (p = patch->child; p; p = p->next) {
		if (cJSON_IsNull(p)) {
			cJSON_DeleteItemFromObjectCaseSensitive(target, p->string);
		} else {
			cJSON *cur = cJSON_DetachItemFromObjectCaseSensitive(target, p->string);

			cJSON_AddItemToObject(target, p->string, merge(cur, p));
		}
	}
	return target;
}

int yj_merge_patch(cJSON **target, const cJSON *patch)
{
	*target = merge(*target, patch);
	return 0;
}

/* ---- RFC 6902 JSON patch ---- */

/* The parent container of `ptr` and the last token (caller frees). */
static cJSON *parent_of(cJSON *root, const char *ptr, char **ret_tok)
{
	const char *last = strrchr(ptr, '/');
	_cleanup_free_ char *head = NULL;
	cJSON *parent;

	if (!last)
		return NULL;
	head = xstrndup(ptr, (size_t)(last - ptr));
	parent = yj_get(root, head);
	if (!parent)
		return NULL;
	*ret_tok = next_token(&last);
	return parent;
}

/*
 * Insert `item` before index `i` (< size).  Debian's cJSON 1.7.15 drops
 * items inserted in the middle with cJSON_InsertItemInArray(), so we link
 * them ourselves; cJSON keeps the last item in child->prev.
 */
static void array_insert(cJSON *arr, int i, cJSON *item)
{
	cJSON *after = cJSON_GetArrayItem(arr, i);

	item->next = after;
	item->prev = after->prev;
	if (after == arr->child)
		arr->child = item;
	else
		after->prev->next = item;
	after->prev = item;
}

static int op_add(cJSON **root, const char *path, cJSON *val)
{
	_cleanup_free_ char *tok = NULL;
	cJSON *parent;

	if (!*path) {
		cJSON_Delete(*root);
		*root = val;
		return 0;
	}
	parent = parent_of(*root, path, &tok);
	if (cJSON_IsObject(parent)) {
		if (cJSON_GetObjectItemCaseSensitive(parent, tok))
			cJSON_ReplaceItemInObjectCaseSensitive(parent, tok, val);
		else
			cJSON_AddItemToObject(parent, tok, val);
		return 0;
	}
	if (cJSON_IsArray(parent)) {
		int n = cJSON_GetArraySize(parent), i = array_index(tok, n, true);

		if (i < 0) {
			cJSON_Delete(val);
			return -EINVAL;
		}
		if (i == n)
			cJSON_AddItemToArray(parent, val);
		else
			array_insert(parent, i, val);
		return 0;
	}
	cJSON_Delete(val);
	return -ENOENT;
}

/* Detach the item at `path` (not the root). */
static cJSON *op_detach(cJSON *root, const char *path)
{
	_cleanup_free_ char *tok = NULL;
	cJSON *parent = *path ? parent_of(root, path, &tok) : NULL;

	if (cJSON_IsObject(parent))
		return cJSON_DetachItemFromObjectCaseSensitive(parent, tok);
	if (cJSON_IsArray(parent)) {
		int i = array_index(tok, cJSON_GetArraySize(parent), false);

		return i < 0 || i >= cJSON_GetArraySize(parent) ? NULL :
								  cJSON_DetachItemFromArray(parent, i);
	}
	return NULL;
}

/*
 * kustomize's JSON patch (evanphx/json-patch v4) lets `replace` name a
 * missing member of an existing object and then sets it, as `add` would;
 * a missing parent or list index still fails.
 */
static bool replace_adds(cJSON *doc, const char *path)
{
	_cleanup_free_ char *tok = NULL;

	return *path && cJSON_IsObject(parent_of(doc, path, &tok));
}

int yj_json_patch(cJSON **target, const cJSON *patch, struct op_err *err)
{
	cJSON *doc = cJSON_Duplicate(*target, 1);
	const cJSON *op;
	int idx = 0, r = 0;

	if (!cJSON_IsArray(patch)) {
		cJSON_Delete(doc);
		return op_err_set(err, -EINVAL, "json patch: not an array of operations");
	}
	cJSON_ArrayForEach(op, patch)
	{
		const char *name = yj_get_str(op, "/op"), *path = yj_get_str(op, "/path");
		const char *from = yj_get_str(op, "/from");
		const cJSON *value = cJSON_GetObjectItemCaseSensitive(op, "value");

		if (!name || !path || (path[0] && path[0] != '/')) {
			r = op_err_set(err, -EINVAL, "json patch: operation %d: missing or bad op/path",
				       idx);
			break;
		}
		if (streq(name, "add") || streq(name, "replace")) {
			if (!value) {
				r = op_err_set(err, -EINVAL, "json patch: operation %d (%s '%s'): no value",
					       idx, name, path);
				break;
			}
			if (streq(name, "replace") && !yj_get(doc, path) &&
			    !replace_adds(doc, path)) {
				r = op_err_set(err, -ENOENT, "json patch: operation %d (replace '%s'): "
					       "path not found", idx, path);
				break;
			}
			if (streq(name, "replace") && *path)
				cJSON_Delete(op_detach(doc, path));
			r = op_add(&doc, path, cJSON_Duplicate(value, 1));
		} else if (streq(name, "remove")) {
			cJSON *gone = op_detach(doc, path);

			r = gone ? 0 : -ENOENT;
			cJSON_Delete(gone);
		} else if (streq(name, "move") || streq(name, "copy")) {
			cJSON *v;

			if (!from || (from[0] && from[0] != '/')) {
				r = -EINVAL;
			} else if (streq(name, "move") && str_startswith(path, from) &&
				   (path[strlen(from)] == '/' || !path[strlen(from)]) &&
				   !streq(path, from)) {
				r = -EINVAL; /* into its own child */
			} else if (streq(name, "move")) {
				v = streq(path, from) ? NULL : op_detach(doc, from);
				if (streq(path, from))
					r = yj_get(doc, from) ? 0 : -ENOENT;
				else
					r = v ? op_add(&doc, path, v) : -ENOENT;
			} else {
				v = yj_get(doc, from);
				r = v ? op_add(&doc, path, cJSON_Duplicate(v, 1)) : -ENOENT;
			}
		} else if (streq(name, "test")) {
			const cJSON *cur = yj_get(doc, path);

			r = cur && value && cJSON_Compare(cur, value, 1) ? 0 : -ESTALE;
		} else {
			r = op_err_set(err, -EINVAL, "json patch: operation %d: unknown op '%s'", idx,
				       name);
			break;
		}
		if (r < 0) {
			op_err_set(err, r, "json patch: operation %d (%s '%s'): %s", idx, name, path,
				   r == -ESTALE ? "test failed" :
				   r == -ENOENT ? "path not found" : "invalid");
			break;
		}
		idx++;
	}
	if (r < 0) {
		cJSON_Delete(doc);
		return r;
	}
	cJSON_Delete(*target);
	*target = doc;
	return 0;
}

int yj_escape_html(const char *s, size_t n, struct buf *out)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < n; i++)
		switch (s[i]) {
		case '<':
			r = buf_adds(out, "\\u003c");
			break;
		case '>':
			r = buf_adds(out, "\\u003e");
			break;
		case '&':
			r = buf_adds(out, "\\u0026");
			break;
		default:
			r = buf_addch(out, s[i]);
		}
	return r;
}
