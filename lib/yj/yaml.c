/*
 * yaml.c: YAML -> cJSON with Kubernetes' resolution, and cJSON -> YAML
 * (see yj.h).  The only file that includes <yaml.h>.
 *
 * DESIGN
 * Splitting: documents are cut on kubectl's separator lines before libyaml
 * sees them, so a stream splits exactly as `kubectl apply -f` splits it and
 * each document knows its first line.
 *
 * Reading: libyaml's event parser drives an explicit stack of frames (one
 * per open mapping or sequence), so nesting costs no C stack and is bounded
 * by max_depth.  A completed node is attached to the frame on top: to an
 * array, or to an object as key (scalars only) or as the value of the
 * pending key, or merged into it when the key was "<<".
 *
 * Anchors keep a private copy of their node and its size in nodes; an alias
 * duplicates that copy only after checking that the document's node count
 * plus the copy stays under max_nodes, so an alias bomb fails at the limit
 * having allocated at most max_nodes nodes.
 *
 * Scalars resolve as go-yaml v2 resolves untagged plain scalars (the rules
 * sigs.k8s.io/yaml inherits): a lookup table for booleans, nulls, infinities
 * and NaN, then int (base prefixes, underscores dropped), then unsigned,
 * then float (YAML float syntax), else string.  Quoted and block scalars
 * are strings.  Keys are turned into strings as sigs.k8s.io/yaml does.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "base/str.h"
#include "base/utf8.h"
#include "yj/internal.h"
#include "yj/yj.h"
#include "base/banned.h"

/* ---- scalar resolution ---- */

enum rkind { R_NULL, R_BOOL, R_INT, R_UINT, R_FLOAT, R_STR };

struct resolved {
	enum rkind kind;
	bool b;
	int64_t i;
	uint64_t u;
	double f;
};

static const char *const true_words[] = { "y", "Y", "yes", "Yes", "YES", "on", "On", "ON",
					  "true", "True", "TRUE" };
static const char *const false_words[] = { "n", "N", "no", "No", "NO", "off", "Off", "OFF",
					   "false", "False", "FALSE" };
static const char *const null_words[] = { "", "~", "null", "Null", "NULL" };

static bool in_list(const char *s, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (streq(s, list[i]))
			return true;
	return false;
}

/* Go's strconv.ParseInt/ParseUint with base 0, on a string without '_'. */
static bool go_parse_int(const char *s, bool is_unsigned, int64_t *ri, uint64_t *ru)
{
	bool neg = false;
	unsigned base = 10;
	uint64_t v = 0, lim;
	const char *p = s;

	if (*p == '+' || *p == '-') {
		if (is_unsigned)
			return false;
		neg = *p == '-';
		p++;
	}
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	} else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O')) {
		base = 8;
		p += 2;
	} else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B')) {
		base = 2;
		p += 2;
	} else if (p[0] == '0' && p[1]) {
		base = 8;
		p += 1;
	}
	if (!*p)
		return false;
	lim = is_unsigned ? UINT64_MAX : neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *p; p++) {
		unsigned d;

		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (*p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else if (*p >= 'A' && *p <= 'F')
			d = (unsigned)(*p - 'A' + 10);
		else
			return false;
		if (d >= base)
			return false;
		if (v > (lim - d) / base)
			return false;
		v = v * base + d;
	}
	if (is_unsigned)
		*ru = v;
	else
		*ri = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

/* go-yaml's float syntax: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool yaml_float_syntax(const char *s)
{
	const char *p = s;

	if (*p == '+' || *p == '-')
		p++;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	} else {
		if (*p < '0' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
		if (*p == '.') {
			p++;
			while (*p >= '0' && *p <= '9')
				p++;
		}
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (*p < '0' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return *p == '\0';
}

/* strtod that fails like Go's ParseFloat on overflow. */
static bool parse_float(const char *s, double *ret)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end || (errno == ERANGE && isinf(v)))
		return false;
	*ret = v;
	return true;
}

static void resolve_plain(const char *in, struct resolved *r)
{
	char c = in[0];

	r->kind = R_STR;
	/*
	 * go-yaml's resolve() first looks at a hint for the first byte: only
	 * a sign, a digit, '.', '~' or the first letters of the bool and null
	 * words can make a plain scalar anything but a string.  Most strings
	 * stop here (toYaml and kustomize print many).
	 */
	if (c && !strchr("+-.0123456789~yYnNtTfFoO", c))
		return;
	if (in_list(in, null_words, ARRAY_SIZE(null_words))) {
		r->kind = R_NULL;
		return;
	}
	if (in_list(in, true_words, ARRAY_SIZE(true_words))) {
		r->kind = R_BOOL;
		r->b = true;
		return;
	}
	if (in_list(in, false_words, ARRAY_SIZE(false_words))) {
		r->kind = R_BOOL;
		r->b = false;
		return;
	}
	if (streq(in, ".inf") || streq(in, ".Inf") || streq(in, ".INF") || streq(in, "+.inf") ||
	    streq(in, "+.Inf") || streq(in, "+.INF")) {
		r->kind = R_FLOAT;
		r->f = INFINITY;
		return;
	}
	if (streq(in, "-.inf") || streq(in, "-.Inf") || streq(in, "-.INF")) {
		r->kind = R_FLOAT;
		r->f = -INFINITY;
		return;
	}
	if (streq(in, ".nan") || streq(in, ".NaN") || streq(in, ".NAN")) {
		r->kind = R_FLOAT;
		r->f = NAN;
		return;
	}
	if (c == '.') {
		double f;

		/* Only a YAML float gets here: Go's ParseFloat would also take
		 * ".5e3" but not "." or ".x". */
		if (yaml_float_syntax(in) && parse_float(in, &f)) {
			r->kind = R_FLOAT;
			r->f = f;
		}
		return;
	}
	if ((c >= '0' && c <= '9') || c == '+' || c == '-') {
		_cleanup_free_ char *plain = xmalloc(strlen(in) + 1);
		const char *s;
		char *d = plain;

		for (s = in; *s; s++)
			if (*s != '_')
				*d++ = *s;
		*d = '\0';
		if (go_parse_int(plain, false, &r->i, NULL)) {
			r->kind = R_INT;
			return;
		}
		if (go_parse_int(plain, true, NULL, &r->u)) {
			r->kind = R_UINT;
			return;
		}
		if (yaml_float_syntax(plain) && parse_float(plain, &r->f)) {
			r->kind = R_FLOAT;
			return;
		}
	}
}

/* go-yaml v2's timestamp layouts: 2006-1-2, then "T"/"t"/" " 15:4:5 with an
 * optional fraction and, but for " ", an optional Z or +hh:mm zone. */
static bool num_run(const char **p, int min, int max, int *ret)
{
	int n = 0, v = 0;

	while (**p >= '0' && **p <= '9' && n < max) {
		v = v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	*ret = v;
	return n >= min;
}

static bool go_timestamp(const char *s)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	const char *p = s;
	int y, mo, d, h, mi, se;
	char sep;

	if (!num_run(&p, 4, 4, &y) || *p++ != '-' || !num_run(&p, 1, 2, &mo) || *p++ != '-' ||
	    !num_run(&p, 1, 2, &d))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))))
		return false;
	if (!*p)
		return true;
	sep = *p++;
	if (sep != 'T' && sep != 't' && sep != ' ')
		return false;
	if (!num_run(&p, 1, 2, &h) || *p++ != ':' || !num_run(&p, 1, 2, &mi) || *p++ != ':' ||
	    !num_run(&p, 1, 2, &se) || h > 23 || mi > 59 || se > 59)
		return false;
	if (*p == '.') {
		int f;

		p++;
		if (!num_run(&p, 1, 9, &f))
			return false;
	}
	if (!*p)
		return true;
	if (sep == ' ')
		return false;
	if (*p == 'Z')
		return p[1] == '\0';
	if (*p == '+' || *p == '-') {
		int zh, zm;

		p++;
		return num_run(&p, 2, 2, &zh) && *p++ == ':' && num_run(&p, 2, 2, &zm) && !*p;
	}
	return false;
}

/* go-yaml v2's isBase60Float: [-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)? */
static bool base60_float(const char *s)
{
	const char *p = s;
	int groups = 0;

	if (*p == '+' || *p == '-')
		p++;
	if (*p < '0' || *p > '9')
		return false;
	while ((*p >= '0' && *p <= '9') || *p == '_')
		p++;
	while (*p == ':') {
		p++;
		if (p[0] >= '0' && p[0] <= '5' && p[1] >= '0' && p[1] <= '9')
			p += 2;
		else if (*p >= '0' && *p <= '9')
			p++;
		else
			return false;
		groups++;
	}
	if (!groups)
		return false;
	if (*p == '.') {
		p++;
		while ((*p >= '0' && *p <= '9') || *p == '_')
			p++;
	}
	return *p == '\0';
}

bool yj__plain_is_str(const char *s)
{
	struct resolved r;

	/*
	 * "<<" is a merge key only where the parser sees a key; go-yaml v2's
	 * encoder resolves it as a string (its resolve() never looks a value
	 * starting with '<' up), so it prints it plain.
	 */
	resolve_plain(s, &r);
	return r.kind == R_STR && !go_timestamp(s) && !base60_float(s);
}

/* ---- the reader ---- */

struct anchor {
	char *name;
	cJSON *node; /* a private copy */
	size_t nodes;
};

struct frame {
	cJSON *c;          /* the container being filled */
	char *key;         /* pending key of a mapping, or NULL */
	bool merge;        /* the pending key was "<<" */
	char *anchor;      /* anchor of this container, if any */
	size_t start_nodes;
};

struct reader {
	const struct yj_limits *lim;
	struct frame *st;
	size_t depth, alloc;
	struct anchor *anchors;
	size_t nanchors, anchors_alloc;
	size_t nodes, aliases, alias_nodes;
	unsigned line0; /* 0-based line of the document in the stream */
	unsigned docno;
	cJSON *root;
	struct op_err *err;
	/* yj_parse_visit(): nodes completed at visit_depth go to visit(). */
	yj_visit_fn visit;
	void *visit_payload;
	size_t visit_depth;
	const char **visit_path;
	size_t visit_path_alloc;
};

static int fail(struct reader *rd, int code, const yaml_mark_t *m, const char *fmt, ...)
	_printf_(4, 5);

static int fail(struct reader *rd, int code, const yaml_mark_t *m, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (m)
		return op_err_set(rd->err, code, "yaml: document %u: line %zu:%zu: %s", rd->docno,
				  (size_t)(rd->line0 + m->line + 1), (size_t)(m->column + 1), msg);
	return op_err_set(rd->err, code, "yaml: document %u: %s", rd->docno, msg);
}

static int add_anchor(struct reader *rd, char *name, const cJSON *node, size_t nodes)
{
	size_t i;

	/* A redefined anchor replaces the old one from here on. */
	for (i = 0; i < rd->nanchors; i++)
		if (streq(rd->anchors[i].name, name)) {
			cJSON_Delete(rd->anchors[i].node);
			free(rd->anchors[i].name);
			rd->anchors[i].name = name;
			rd->anchors[i].node = cJSON_Duplicate(node, 1);
			rd->anchors[i].nodes = nodes;
			return 0;
		}
	XGROW(rd->anchors, rd->nanchors + 1, rd->anchors_alloc);
	rd->anchors[rd->nanchors].name = name;
	rd->anchors[rd->nanchors].node = cJSON_Duplicate(node, 1);
	rd->anchors[rd->nanchors].nodes = nodes;
	rd->nanchors++;
	/* The private copy counts too: it is memory an attacker can make us hold. */
	rd->nodes += nodes;
	return 0;
}

/* Number text exactly as given: raw for integers a double cannot hold. */
static cJSON *make_int(int64_t v)
{
	char buf[32];

	if (v > (INT64_C(1) << 53) || v < -(INT64_C(1) << 53)) {
		snprintf(buf, sizeof(buf), "%lld", (long long)v);
		return cJSON_CreateRaw(buf);
	}
	return cJSON_CreateNumber((double)v);
}

static cJSON *make_uint(uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	return cJSON_CreateRaw(buf);
}

static cJSON *decode_binary(const char *in)
{
	_cleanup_free_ char *out = NULL;
	size_t o;

	/* YAML's !!binary is the standard alphabet only. */
	if (strpbrk(in, "-_") || b64_decode(in, &out, &o) < 0)
		return NULL;
	{
		/* Go turns the bytes into a string and JSON marks invalid UTF-8 as U+FFFD. */
		struct buf fixed = BUF_INIT(4 * o + 4);
		const unsigned char *u = (const unsigned char *)out;
		cJSON *str;

		while ((size_t)((const char *)u - out) < o) {
			size_t l = utf8_valid_at((const char *)u, o - (size_t)((const char *)u - out));

			if (l == 0) {
				buf_adds(&fixed, "\xef\xbf\xbd");
				u++;
			} else {
				buf_add(&fixed, u, l);
				u += l;
			}
		}
		str = cJSON_CreateString(fixed.buf);
		buf_release(&fixed);
		return str;
	}
}

bool yj_null_implicit(const cJSON *j)
{
	return cJSON_IsNull(j) && j->valueint == 1;
}

/* The value of a scalar event. */
static int scalar_value(struct reader *rd, const yaml_event_t *ev, cJSON **ret)
{
	const char *v = (const char *)ev->data.scalar.value;
	const char *tag = (const char *)ev->data.scalar.tag;
	bool plain = ev->data.scalar.plain_implicit && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	struct resolved r = { .kind = R_STR };

	if (tag && streq(tag, "tag:yaml.org,2002:binary")) {
		*ret = decode_binary(v);
		if (!*ret)
			return fail(rd, -EINVAL, &ev->start_mark, "!!binary value is not base64");
		return 0;
	}
	if (tag && (streq(tag, "tag:yaml.org,2002:int") || streq(tag, "tag:yaml.org,2002:float") ||
		    streq(tag, "tag:yaml.org,2002:bool") || streq(tag, "tag:yaml.org,2002:null"))) {
		resolve_plain(v, &r);
		if ((streq(tag + 18, "int") && r.kind != R_INT && r.kind != R_UINT) ||
		    (streq(tag + 18, "float") && r.kind != R_FLOAT && r.kind != R_INT &&
		     r.kind != R_UINT) ||
		    (streq(tag + 18, "bool") && r.kind != R_BOOL) ||
		    (streq(tag + 18, "null") && r.kind != R_NULL))
			return fail(rd, -EINVAL, &ev->start_mark, "cannot decode `%.40s` as a !!%s", v,
				    tag + 18);
	} else if (plain && !tag) {
		resolve_plain(v, &r);
		/* YAML 1.2 (go-yaml v3, kyaml): y/yes/on/off... are strings */
		if (r.kind == R_BOOL && rd->lim->core_bools && !streq(v, "true") &&
		    !streq(v, "True") && !streq(v, "TRUE") && !streq(v, "false") &&
		    !streq(v, "False") && !streq(v, "FALSE"))
			r.kind = R_STR;
	}
	switch (r.kind) {
	case R_NULL:
		*ret = cJSON_CreateNull();
		/* written as nothing: see yj_null_implicit() */
		(*ret)->valueint = !*v;
		break;
	case R_BOOL:
		*ret = cJSON_CreateBool(r.b);
		break;
	case R_INT:
		*ret = make_int(r.i);
		break;
	case R_UINT:
		*ret = make_uint(r.u);
		break;
	case R_FLOAT:
		if ((isinf(r.f) || isnan(r.f)) && rd->lim->go_errors)
			/* encoding/json's refusal, as sigs.k8s.io/yaml passes it on */
			return op_err_set(rd->err, -EINVAL, "json: unsupported value: %s",
					  isnan(r.f) ? "NaN" : r.f > 0 ? "+Inf" : "-Inf");
		if (isinf(r.f) || isnan(r.f))
			return fail(rd, -EINVAL, &ev->start_mark,
				    "json: unsupported value: %s (JSON has no infinity or NaN)", v);
		*ret = cJSON_CreateNumber(r.f);
		break;
	default:
		*ret = cJSON_CreateString(v);
	}
	return 0;
}

/*
 * The JSON key for a scalar used as a mapping key, as sigs.k8s.io/yaml
 * stringifies it: strings as they are, ints in decimal, floats as Go's
 * 'g' format at float32 precision, booleans as true/false; anything else
 * (null, a uint64 beyond int64) is an error there, so here too.
 */
static int key_string(struct reader *rd, const yaml_event_t *ev, char **ret)
{
	cJSON *v = NULL;
	char buf[64];
	int r = scalar_value(rd, ev, &v);

	if (r < 0)
		return r;
	if (cJSON_IsString(v)) {
		*ret = xstrdup(v->valuestring);
	} else if (cJSON_IsBool(v)) {
		*ret = xstrdup(cJSON_IsTrue(v) ? "true" : "false");
	} else if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		const char *txt = (const char *)ev->data.scalar.value;
		struct resolved rs;

		resolve_plain(txt, &rs);
		if (rs.kind == R_INT) {
			snprintf(buf, sizeof(buf), "%lld", (long long)rs.i);
		} else {
			yj_format_float(d, 32, 0, buf, sizeof(buf));
		}
		*ret = xstrdup(buf);
	} else if (cJSON_IsRaw(v) && ((const char *)ev->data.scalar.value)[0] != '\0') {
		struct resolved rs;

		resolve_plain((const char *)ev->data.scalar.value, &rs);
		if (rs.kind == R_INT) {
			*ret = xstrdup(v->valuestring);
		} else {
			cJSON_Delete(v);
			return fail(rd, -EINVAL, &ev->start_mark, "unsupported map key: %.40s",
				    (const char *)ev->data.scalar.value);
		}
	} else {
		cJSON_Delete(v);
		return fail(rd, -EINVAL, &ev->start_mark, "unsupported map key of type %s",
			    cJSON_IsNull(v) ? "null" : "unknown");
	}
	cJSON_Delete(v);
	return 0;
}

/* Merge `src` (an object, or an array of objects) into `dst` for "<<". */
static int merge_into(struct reader *rd, cJSON *dst, cJSON *src, const yaml_mark_t *m)
{
	cJSON *it, *next;

	if (cJSON_IsArray(src)) {
		/* Earlier maps in the list win over later ones. */
		cJSON *arr = src;
		int i, n = cJSON_GetArraySize(arr), r;

		for (i = n - 1; i >= 0; i--) {
			cJSON *one = cJSON_DetachItemFromArray(arr, i);

			r = merge_into(rd, dst, one, m);
			if (r < 0) {
				cJSON_Delete(arr);
				return r;
			}
		}
		cJSON_Delete(arr);
		return 0;
	}
	if (!cJSON_IsObject(src)) {
		cJSON_Delete(src);
		return fail(rd, -EINVAL, m, "map merge requires map or sequence of maps as the value");
	}
	/* Merged keys overwrite what is there, as go-yaml v2 merges. */
	for (it = src->child; it; it = next) {
		_cleanup_free_ char *key = xstrdup(it->string);

		next = it->next;
		it = cJSON_DetachItemViaPointer(src, it);
		if (cJSON_GetObjectItemCaseSensitive(dst, key))
			cJSON_ReplaceItemInObjectCaseSensitive(dst, key, it);
		else
			cJSON_AddItemToObject(dst, key, it);
		/* now owned by dst */
	}
	cJSON_Delete(src);
	return 0;
}

/*
 * Hand a node completed at the visited depth to the visitor, which owns
 * it from then on; it no longer counts against max_nodes (`nodes` is its
 * count, itself included).  The parent's pending key is consumed.
 */
static int visit_node(struct reader *rd, cJSON *node, size_t nodes)
{
	struct frame *f = &rd->st[rd->depth - 1];
	size_t i;
	int r;

	for (i = 0; i < rd->depth; i++)
		rd->visit_path[i] = cJSON_IsObject(rd->st[i].c) ? rd->st[i].key : NULL;
	r = rd->visit(rd->visit_path, rd->depth, node, rd->visit_payload);
	rd->nodes -= MIN(nodes, rd->nodes);
	free(f->key);
	f->key = NULL;
	return r < 0 ? r : 0;
}

/* Attach a finished node to the frame on top (or make it the root). */
static int attach_n(struct reader *rd, cJSON *node, size_t nodes, const yaml_mark_t *m)
{
	struct frame *f;
	int r = 0;

	if (rd->depth == 0) {
		rd->root = node;
		return 0;
	}
	f = &rd->st[rd->depth - 1];
	if (rd->visit && rd->depth == rd->visit_depth && !f->merge) {
		XGROW(rd->visit_path, rd->depth, rd->visit_path_alloc);
		return visit_node(rd, node, nodes);
	}
	if (cJSON_IsArray(f->c)) {
		cJSON_AddItemToArray(f->c, node);
		return 0;
	}
	if (f->merge) {
		f->merge = false;
		return merge_into(rd, f->c, node, m);
	}
	/* Duplicate keys: the last one wins, as in sigs.k8s.io/yaml. */
	if (cJSON_GetObjectItemCaseSensitive(f->c, f->key))
		cJSON_ReplaceItemInObjectCaseSensitive(f->c, f->key, node);
	else
		cJSON_AddItemToObject(f->c, f->key, node);
	/* now owned by the container */
	free(f->key);
	f->key = NULL;
	return r;
}

static bool frame_wants_key(const struct reader *rd)
{
	const struct frame *f;

	if (rd->depth == 0)
		return false;
	f = &rd->st[rd->depth - 1];
	return cJSON_IsObject(f->c) && !f->key && !f->merge;
}

static int count_node(struct reader *rd, size_t n, const yaml_mark_t *m)
{
	rd->nodes += n;
	if (rd->nodes > rd->lim->max_nodes)
		return fail(rd, -E2BIG, m, "node limit (%zu) exceeded", rd->lim->max_nodes);
	return 0;
}

static int on_scalar(struct reader *rd, yaml_event_t *ev)
{
	const char *anchor = (const char *)ev->data.scalar.anchor;
	cJSON *v = NULL;
	int r;

	if (ev->data.scalar.length > rd->lim->max_scalar_bytes)
		return fail(rd, -EFBIG, &ev->start_mark, "scalar of %zu bytes exceeds the limit (%zu)",
			    ev->data.scalar.length, rd->lim->max_scalar_bytes);
	r = count_node(rd, 1, &ev->start_mark);
	if (r < 0)
		return r;
	if (frame_wants_key(rd)) {
		struct frame *f = &rd->st[rd->depth - 1];

		if (ev->data.scalar.plain_implicit && !ev->data.scalar.tag &&
		    ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		    streq((const char *)ev->data.scalar.value, "<<")) {
			f->merge = true;
			return 0;
		}
		r = key_string(rd, ev, &f->key);
		if (r == 0 && anchor) {
			cJSON *k = cJSON_CreateString(f->key);

			r = add_anchor(rd, xstrdup(anchor), k, 1);
			cJSON_Delete(k);
		}
		return r;
	}
	r = scalar_value(rd, ev, &v);
	if (r < 0)
		return r;
	if (anchor)
		add_anchor(rd, xstrdup(anchor), v, 1);
	return attach_n(rd, v, 1, &ev->start_mark);
}

static int on_alias(struct reader *rd, yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	const struct anchor *a = NULL;
	size_t i;
	int r;

	for (i = 0; i < rd->nanchors; i++)
		if (streq(rd->anchors[i].name, name))
			a = &rd->anchors[i];
	if (!a)
		return fail(rd, -EINVAL, &ev->start_mark, "unknown anchor '%.40s' referenced", name);
	if (++rd->aliases > rd->lim->max_alias_uses)
		return fail(rd, -E2BIG, &ev->start_mark, "alias limit (%zu) exceeded",
			    rd->lim->max_alias_uses);
	/* Check the cost before paying it. */
	rd->alias_nodes += a->nodes;
	if (rd->alias_nodes > rd->lim->max_alias_nodes)
		return fail(rd, -E2BIG, &ev->start_mark,
			    "alias expansion limit (%zu nodes) exceeded", rd->lim->max_alias_nodes);
	if (rd->nodes + a->nodes > rd->lim->max_nodes)
		return fail(rd, -E2BIG, &ev->start_mark,
			    "alias expansion exceeds the node limit (%zu)", rd->lim->max_nodes);
	r = count_node(rd, a->nodes, &ev->start_mark);
	if (r < 0)
		return r;
	if (frame_wants_key(rd)) {
		if (!cJSON_IsString(a->node))
			return fail(rd, -EINVAL, &ev->start_mark, "unsupported map key: alias '%.40s'",
				    name);
		rd->st[rd->depth - 1].key = xstrdup(a->node->valuestring);
		return 0;
	}
	return attach_n(rd, cJSON_Duplicate(a->node, 1), a->nodes, &ev->start_mark);
}

static int on_start(struct reader *rd, yaml_event_t *ev, bool mapping)
{
	const char *anchor = mapping ? (const char *)ev->data.mapping_start.anchor :
				       (const char *)ev->data.sequence_start.anchor;
	struct frame *f;
	int r;

	if (frame_wants_key(rd))
		return fail(rd, -EINVAL, &ev->start_mark,
			    "unsupported map key: a %s cannot be a JSON key",
			    mapping ? "mapping" : "sequence");
	if (rd->depth >= rd->lim->max_depth)
		return fail(rd, -E2BIG, &ev->start_mark, "nesting depth limit (%zu) exceeded",
			    rd->lim->max_depth);
	r = count_node(rd, 1, &ev->start_mark);
	if (r < 0)
		return r;
	XGROW(rd->st, rd->depth + 1, rd->alloc);
	f = &rd->st[rd->depth++];
	memset(f, 0, sizeof(*f));
	f->c = mapping ? cJSON_CreateObject() : cJSON_CreateArray();
	f->anchor = anchor ? xstrdup(anchor) : NULL;
	f->start_nodes = rd->nodes;
	return 0;
}

static int on_end(struct reader *rd, yaml_event_t *ev)
{
	struct frame f = rd->st[--rd->depth];

	if (f.key || f.merge) {
		/* "key:" at the end of a flow mapping without value is null. */
		if (f.merge) {
			cJSON_Delete(f.c);
			free(f.anchor);
			return fail(rd, -EINVAL, &ev->start_mark, "map merge without a value");
		}
		cJSON_AddNullToObject(f.c, f.key);
		free(f.key);
	}
	if (f.anchor)
		add_anchor(rd, f.anchor, f.c, rd->nodes - f.start_nodes + 1);
	return attach_n(rd, f.c, rd->nodes - f.start_nodes + 1, &ev->start_mark);
}

static void reader_release(struct reader *rd)
{
	size_t i;

	for (i = rd->depth; i > 0; i--) {
		cJSON_Delete(rd->st[i - 1].c);
		free(rd->st[i - 1].key);
		free(rd->st[i - 1].anchor);
	}
	free(rd->st);
	for (i = 0; i < rd->nanchors; i++) {
		free(rd->anchors[i].name);
		cJSON_Delete(rd->anchors[i].node);
	}
	free(rd->anchors);
	free(rd->visit_path);
	cJSON_Delete(rd->root);
}

/* Parse one document chunk; *ret is NULL for an empty or null document. */
struct visitor {
	yj_visit_fn fn;
	void *payload;
	size_t depth;
};

static int parse_doc(const char *data, size_t len, unsigned line0, unsigned docno,
		     const struct yj_limits *lim, const struct visitor *vis, cJSON **ret,
		     struct op_err *err)
{
	struct reader rd = { .lim = lim, .line0 = line0, .docno = docno, .err = err };
	yaml_parser_t p;
	yaml_event_t ev;
	bool done = false, in_doc = false, after_end = false;
	int r = 0;

	if (vis) {
		rd.visit = vis->fn;
		rd.visit_payload = vis->payload;
		rd.visit_depth = vis->depth;
	}
	if (!yaml_parser_initialize(&p))
		return op_err_set(err, -ENOMEM, "yaml: cannot initialise the parser");
	yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
	while (!done && r == 0) {
		if (!yaml_parser_parse(&p, &ev)) {
			/* libyaml reports problem_mark for scanner and parser errors. */
			yaml_mark_t m = p.problem_mark;

			if (lim->go_errors) {
				/* go-yaml v2's parser.fail(): its own line arithmetic. */
				size_t line = 0;

				if (p.problem_mark.line != 0)
					line = line0 + p.problem_mark.line +
					       (p.error == YAML_SCANNER_ERROR ? 1 : 0);
				else if (p.context_mark.line != 0)
					line = line0 + p.context_mark.line;
				if (line)
					r = op_err_set(err, -EINVAL, "yaml: line %zu: %s", line,
						       p.problem ? p.problem :
								   "unknown problem parsing YAML content");
				else
					r = op_err_set(err, -EINVAL, "yaml: %s",
						       p.problem ? p.problem :
								   "unknown problem parsing YAML content");
				break;
			}
			r = fail(&rd, -EINVAL, &m, "%s%s%s", p.problem ? p.problem : "syntax error",
				 p.context ? " " : "", p.context ? p.context : "");
			break;
		}
		switch (ev.type) {
		case YAML_DOCUMENT_START_EVENT:
			if (after_end)
				done = true;
			in_doc = true;
			break;
		case YAML_DOCUMENT_END_EVENT:
			/*
			 * Only the first document of a chunk counts, as in
			 * yaml.Unmarshal — but go-yaml's scanner has read the
			 * next token by then, so an error there is an error.
			 */
			if (in_doc) {
				in_doc = false;
				after_end = true;
			}
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_SCALAR_EVENT:
			r = on_scalar(&rd, &ev);
			break;
		case YAML_ALIAS_EVENT:
			r = on_alias(&rd, &ev);
			break;
		case YAML_MAPPING_START_EVENT:
			r = on_start(&rd, &ev, true);
			break;
		case YAML_SEQUENCE_START_EVENT:
			r = on_start(&rd, &ev, false);
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			r = on_end(&rd, &ev);
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	if (r == 0) {
		if (rd.root && cJSON_IsNull(rd.root)) {
			cJSON_Delete(rd.root);
			rd.root = NULL;
		}
		*ret = rd.root;
		rd.root = NULL;
	}
	reader_release(&rd);
	return r;
}

/* ---- splitting, as k8s.io/apimachinery's YAMLReader ---- */

/*
 * Is the line at `p` (length n, no newline) a document separator?  0 no,
 * 1 yes, -1 a "---" line followed by content, which kubectl's reader
 * refuses ("invalid Yaml document separator").
 */
static int is_separator(const char *p, size_t n)
{
	size_t i;

	if (n < 3 || memcmp(p, "---", 3) != 0)
		return 0;
	for (i = 3; i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r'); i++)
		;
	if (i == n || p[i] == '#')
		return 1;
	return -1;
}

static bool only_space_and_comments(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i;

		while (j < n && (p[j] == ' ' || p[j] == '\t' || p[j] == '\r'))
			j++;
		if (j < n && p[j] != '\n' && p[j] != '#')
			return false;
		while (j < n && p[j] != '\n')
			j++;
		i = j + 1;
	}
	return true;
}

void yj_stream_release(struct yj_stream *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++)
		cJSON_Delete(s->docs[i]);
	free(s->docs);
	free(s->lines);
	memset(s, 0, sizeof(*s));
}

int yj_parse_stream(const char *data, size_t len, const struct yj_limits *lim,
		    struct yj_stream *ret, struct op_err *err)
{
	static const struct yj_limits dflt = YJ_LIMITS_DEFAULT;
	struct yj_stream s = { 0 };
	size_t alloc = 0, alloc_l = 0, pos = 0, start = 0;
	unsigned line = 0, start_line = 0, docno = 0;
	int r = 0;

	if (!lim)
		lim = &dflt;
	if (len > lim->max_input_bytes)
		return op_err_set(err, -EFBIG, "yaml: input of %zu bytes exceeds the limit (%zu)", len,
				  lim->max_input_bytes);
	/* A UTF-8 byte order mark is allowed at the start, as in Go's reader. */
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		pos = start = 3;
	for (;;) {
		const char *nl = pos < len ? memchr(data + pos, '\n', len - pos) : NULL;
		size_t eol = nl ? (size_t)(nl - data) : len;
		int sepk = pos < len ? is_separator(data + pos, eol - pos) : 0;
		bool sep = sepk > 0;

		if (sepk < 0) {
			r = op_err_set(err, -EINVAL, "yaml: line %u: invalid document separator '%.*s'",
				       line + 1, (int)MIN(eol - pos, (size_t)40), data + pos);
			break;
		}

		if (sep || pos >= len) {
			size_t n = (sep ? pos : len) - start;

			if (!only_space_and_comments(data + start, n)) {
				cJSON *doc = NULL;

				docno++;
				r = parse_doc(data + start, n, start_line, docno, lim, NULL, &doc, err);
				if (r < 0)
					break;
				if (doc) {
					if (s.n >= lim->max_docs) {
						cJSON_Delete(doc);
						r = op_err_set(err, -E2BIG,
							       "yaml: more than %zu documents",
							       lim->max_docs);
						break;
					}
					XGROW(s.docs, s.n + 1, alloc);
					XGROW(s.lines, s.n + 1, alloc_l);
					s.docs[s.n] = doc;
					s.lines[s.n] = start_line + 1;
					s.n++;
				}
			}
			if (pos >= len)
				break;
			start = eol < len ? eol + 1 : len;
			start_line = line + 1;
		}
		line++;
		/* After the last line, pos == len flushes the last chunk. */
		pos = eol < len ? eol + 1 : len;
	}
	if (r < 0) {
		yj_stream_release(&s);
		return r;
	}
	*ret = s;
	return 0;
}

int yj_parse_one(const char *data, size_t len, cJSON **ret, struct op_err *err)
{
	struct yj_stream s;
	int r = yj_parse_stream(data, len, NULL, &s, err);

	if (r < 0)
		return r;
	if (s.n != 1) {
		r = op_err_set(err, -EINVAL, "yaml: expected one document, found %zu", s.n);
		yj_stream_release(&s);
		return r;
	}
	*ret = s.docs[0];
	s.docs[0] = NULL;
	s.n = 0;
	yj_stream_release(&s);
	return 0;
}

int yj_parse_visit(const char *data, size_t len, const struct yj_limits *lim, size_t depth,
		   yj_visit_fn fn, void *payload, cJSON **ret_rest, struct op_err *err)
{
	static const struct yj_limits dflt = YJ_LIMITS_DEFAULT;
	const struct visitor vis = { .fn = fn, .payload = payload, .depth = depth };
	cJSON *rest = NULL;
	size_t start = 0;
	int r;

	if (!lim)
		lim = &dflt;
	if (depth == 0)
		return op_err_set(err, -EINVAL, "yaml: the visited depth must be at least 1");
	if (len > lim->max_input_bytes)
		return op_err_set(err, -EFBIG, "yaml: input of %zu bytes exceeds the limit (%zu)", len,
				  lim->max_input_bytes);
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		start = 3;
	r = parse_doc(data + start, len - start, 0, 1, lim, &vis, &rest, err);
	if (r < 0)
		return r;
	if (ret_rest)
		*ret_rest = rest;
	else
		cJSON_Delete(rest);
	return 0;
}

/* ---- writing ---- */

/*
 * The code point at `p` if it must be escaped in YAML: C1 controls
 * (including NEL, a YAML 1.1 line break), LS, PS, the BOM (swallowed at a
 * document's start) and the non-characters U+FFFE/U+FFFF; else 0.
 */
static unsigned special_cp(const unsigned char *p)
{
	if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
		return p[1];
	if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9))
		return 0x2000u + (p[2] - 0x80u);
	if (p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
		return 0xfeff;
	if (p[0] == 0xef && p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf))
		return 0xffc0u + (p[2] - 0x80u);
	return 0;
}

/* Would `s` read back as something other than this string, or not parse? */
static bool needs_quotes(const char *s)
{
	struct resolved r;
	const char *p;

	if (!*s)
		return true;
	resolve_plain(s, &r);
	if (r.kind != R_STR || streq(s, "<<"))
		return true;
	/* Document markers, indicators that start something else, edge spaces. */
	if (str_startswith(s, "---") || str_startswith(s, "..."))
		return true;

	if (strchr("-?:,[]{}#&*!|>'\"%@`", s[0]) || s[0] == ' ' || s[strlen(s) - 1] == ' ')
		return true;
	for (p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c == 0x7f || (c >= 0x80 && special_cp((const unsigned char *)p)))
			return true;
		if ((c == ':' && (p[1] == ' ' || p[1] == '\0')) || (c == '#' && p > s && p[-1] == ' '))
			return true;
	}
	/* Looks like a number in some other syntax (YAML 1.2 readers). */
	if (yaml_float_syntax(s))
		return true;
	return false;
}

static int emit_quoted(struct buf *out, const char *s)
{
	int r = buf_addch(out, '"');

	for (; r == 0 && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			r = buf_addf(out, "\\%c", c);
		else if (c == '\n')
			r = buf_adds(out, "\\n");
		else if (c == '\t')
			r = buf_adds(out, "\\t");
		else if (c == '\r')
			r = buf_adds(out, "\\r");
		else if (c < 0x20 || c == 0x7f)
			r = buf_addf(out, "\\x%02x", c);
		else if (c >= 0x80 && special_cp((const unsigned char *)s)) {
			unsigned cp = special_cp((const unsigned char *)s);

			r = cp < 0x100 ? buf_addf(out, "\\x%02x", cp) : buf_addf(out, "\\u%04x", cp);
			s += cp < 0x100 ? 1 : 2;
		} else
			r = buf_addch(out, (char)c);
	}
	return r ? r : buf_addch(out, '"');
}

static int emit_indent(struct buf *out, int n)
{
	int r = 0;

	while (r == 0 && n-- > 0)
		r = buf_addch(out, ' ');
	return r;
}

/* A multi-line string as a literal block, when that reads back exactly. */
static bool literal_ok(const char *s)
{
	const char *p;

	if (!strchr(s, '\n') || s[0] == ' ' || s[0] == '\n')
		return false;
	for (p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if ((c < 0x20 && c != '\n') || c == 0x7f ||
		    (c >= 0x80 && special_cp((const unsigned char *)p)))
			return false;
		/* Trailing spaces on a line are kept by literal style, fine; a
		 * line starting with a space after a newline changes the
		 * indentation detection only on the first line (checked above). */
	}
	return true;
}

static int emit_scalar(struct buf *out, const cJSON *j, int indent)
{
	char num[64];

	if (cJSON_IsNull(j))
		return buf_adds(out, "null\n");
	if (cJSON_IsBool(j))
		return buf_adds(out, cJSON_IsTrue(j) ? "true\n" : "false\n");
	if (cJSON_IsRaw(j))
		return buf_addf(out, "%s\n", j->valuestring);
	if (cJSON_IsNumber(j)) {
		/* "-0" would read back as the integer 0. */
		if (j->valuedouble == 0 && signbit(j->valuedouble))
			return buf_adds(out, "-0.0\n");
		yj_format_float(j->valuedouble, 64, 1, num, sizeof(num));
		return buf_addf(out, "%s\n", num);
	}
	if (literal_ok(j->valuestring)) {
		const char *s = j->valuestring, *end = s + strlen(s);
		size_t trail = 0;
		int r;

		while (end - trail > s && end[-1 - (long)trail] == '\n')
			trail++;
		r = buf_adds(out, trail == 0 ? "|-\n" : trail == 1 ? "|\n" : "|+\n");
		while (r == 0 && s < end) {
			const char *nl = memchr(s, '\n', (size_t)(end - s));
			size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);

			if (n)
				r = emit_indent(out, indent);
			if (r == 0)
				r = buf_add(out, s, n);
			if (r == 0)
				r = buf_addch(out, '\n');
			s += n + (nl ? 1 : 0);
			if (!nl)
				break;
		}
		return r;
	}
	if (needs_quotes(j->valuestring)) {
		int r = emit_quoted(out, j->valuestring);

		return r ? r : buf_addch(out, '\n');
	}
	return buf_addf(out, "%s\n", j->valuestring);
}

static int emit_node(struct buf *out, const cJSON *j, int indent);

static bool is_empty_container(const cJSON *j)
{
	return (cJSON_IsObject(j) || cJSON_IsArray(j)) && !j->child;
}

static int emit_key(struct buf *out, const char *k)
{
	int r = needs_quotes(k) ? emit_quoted(out, k) : buf_adds(out, k);

	return r ? r : buf_addch(out, ':');
}

static int emit_node(struct buf *out, const cJSON *j, int indent)
{
	const cJSON *c;
	int r = 0;

	if (cJSON_IsObject(j)) {
		for (c = j->child; c && r == 0; c = c->next) {
			if (c != j->child)
				r = emit_indent(out, indent);
			if (r == 0)
				r = emit_key(out, c->string);
			if (r)
				break;
			if (is_empty_container(c))
				r = buf_adds(out, cJSON_IsObject(c) ? " {}\n" : " []\n");
			else if (cJSON_IsObject(c)) {
				r = buf_addch(out, '\n');
				if (r == 0)
					r = emit_indent(out, indent + 2);
				if (r == 0)
					r = emit_node(out, c, indent + 2);
			} else if (cJSON_IsArray(c)) {
				r = buf_addch(out, '\n');
				if (r == 0)
					r = emit_indent(out, indent);
				if (r == 0)
					r = emit_node(out, c, indent);
			} else {
				r = buf_addch(out, ' ');
				if (r == 0)
					r = emit_scalar(out, c, indent + 2);
			}
		}
		return r;
	}
	if (cJSON_IsArray(j)) {
		for (c = j->child; c && r == 0; c = c->next) {
			if (c != j->child)
				r = emit_indent(out, indent);
			if (r == 0)
				r = buf_adds(out, "- ");
			if (r)
				break;
			if (is_empty_container(c))
				r = buf_adds(out, cJSON_IsObject(c) ? "{}\n" : "[]\n");
			else if (cJSON_IsObject(c) || cJSON_IsArray(c))
				r = emit_node(out, c, indent + 2);
			else
				r = emit_scalar(out, c, indent + 2);
		}
		return r;
	}
	return emit_scalar(out, j, indent + 2);
}

int yj_emit_yaml(const cJSON *doc, struct buf *out)
{
	if (is_empty_container(doc))
		return buf_adds(out, cJSON_IsObject(doc) ? "{}\n" : "[]\n");
	return emit_node(out, doc, 0);
}

cJSON *yj_resolve_scalar(const char *s, bool core_bools, enum yj_scalar_want want)
{
	struct resolved r = { .kind = R_STR };

	if (want == YJ_SCALAR_STR)
		return cJSON_CreateString(s);
	resolve_plain(s, &r);
	if (r.kind == R_BOOL && core_bools && !streq(s, "true") && !streq(s, "True") &&
	    !streq(s, "TRUE") && !streq(s, "false") && !streq(s, "False") && !streq(s, "FALSE"))
		r.kind = R_STR;
	switch (want) {
	case YJ_SCALAR_INT:
		if (r.kind != R_INT && r.kind != R_UINT)
			return NULL;
		break;
	case YJ_SCALAR_FLOAT:
		if (r.kind != R_INT && r.kind != R_UINT && r.kind != R_FLOAT)
			return NULL;
		break;
	case YJ_SCALAR_BOOL:
		if (r.kind != R_BOOL)
			return NULL;
		break;
	case YJ_SCALAR_NULL:
		if (r.kind != R_NULL)
			return NULL;
		break;
	default:
		break;
	}
	switch (r.kind) {
	case R_NULL:
		return cJSON_CreateNull();
	case R_BOOL:
		return cJSON_CreateBool(r.b);
	case R_INT:
		return make_int(r.i);
	case R_UINT:
		return make_uint(r.u);
	case R_FLOAT:
		if (isinf(r.f) || isnan(r.f))
			return NULL;
		return cJSON_CreateNumber(r.f);
	default:
		return cJSON_CreateString(s);
	}
}
