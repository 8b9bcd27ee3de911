/*
 * repo.c: a Helm chart repository's index.yaml, read streaming (one chart
 * version at a time, through yj_parse_visit()), version resolution as
 * source-controller's ChartRepository.GetChartVersion, chart URLs as
 * Helm's repo.ResolveReferenceURL, and the HelmRepository revision.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/macro.h"
#include "base/semver.h"
#include "base/str.h"
#include "base/time.h"
#include "helm/helm.h"
#include "helm/internal.h"
#include "yj/yj.h"
#include "base/banned.h"

/* ---- strict versions (fluxcd/pkg/version.ParseVersion) ---- */

static bool ident_ok(const char *s, size_t n, bool numeric_no_lead)
{
	bool digits = true;
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '-'))
			return false;
		if (c < '0' || c > '9')
			digits = false;
	}
	return !(numeric_no_lead && digits && n > 1 && s[0] == '0');
}

static bool idents_ok(const char *s, size_t n, bool numeric_no_lead)
{
	size_t start = 0, i;

	for (i = 0; i <= n; i++)
		if (i == n || s[i] == '.') {
			if (!ident_ok(s + start, i - start, numeric_no_lead))
				return false;
			start = i + 1;
		}
	return true;
}

/*
 * Masterminds' StrictNewVersion after an optional leading "v": exactly
 * MAJOR.MINOR.PATCH without leading zeros, then "-pre" and "+meta" made
 * of dot-separated [0-9A-Za-z-] identifiers (numeric prerelease
 * identifiers without leading zeros).
 */
bool helm_version_strict(const char *s)
{
	const char *p = s[0] == 'v' ? s + 1 : s;
	const char *plus, *dash;
	size_t core, i;
	int part = 0, digits = 0;

	if (strlen(s) > SEMVER_MAX_LEN)
		return false;
	plus = strchr(p, '+');
	dash = strchr(p, '-');
	if (dash && plus && dash > plus)
		dash = NULL;
	core = dash ? (size_t)(dash - p) : plus ? (size_t)(plus - p) : strlen(p);
	for (i = 0; i <= core; i++) {
		if (i == core || p[i] == '.') {
			if (digits == 0)
				return false;
			part++;
			digits = 0;
			continue;
		}
		if (p[i] < '0' || p[i] > '9')
			return false;
		if (digits == 1 && p[i - 1] == '0')
			return false;
		digits++;
	}
	if (part != 3)
		return false;
	if (dash && !idents_ok(dash + 1, plus ? (size_t)(plus - dash - 1) : strlen(dash + 1), true))
		return false;
	if (plus && !idents_ok(plus + 1, strlen(plus + 1), false))
		return false;
	return true;
}

/* ---- reading ---- */

static void version_release(struct helm_index_version *v)
{
	size_t j;

	free(v->version);
	free(v->digest);
	free(v->created);
	for (j = 0; j < v->nurls; j++)
		free(v->urls[j]);
	free(v->urls);
}

void helm_index_chart_release(struct helm_index_chart *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n; i++)
		version_release(&c->v[i]);
	free(c->v);
	free(c->name);
	memset(c, 0, sizeof(*c));
}

struct scan {
	const char *chart;          /* the chart wanted, or NULL for statistics only */
	struct helm_index_chart *out;
	size_t alloc;
	size_t entries;             /* chart versions seen, all charts */
	struct op_err *err;
};

/* A string field of a chart version: absent is "", anything else an error. */
static int str_field(struct scan *s, const char *name, const cJSON *cv, const char *field,
		     char **ret)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(cv, field);

	if (!f || cJSON_IsNull(f)) {
		*ret = xstrdup("");
		return 0;
	}
	if (!cJSON_IsString(f))
		return op_err_set(s->err, -EINVAL,
				  "index.yaml: chart '%.100s': field '%s' is not a string", name, field);
	*ret = xstrdup(f->valuestring);
	return 0;
}

/*
 * Whether a chart version passes Helm's metadata validation as far as an
 * index needs it (chart.Metadata.Validate): a name that is a base name
 * and a version Masterminds reads.  Helm's LoadIndex drops the others.
 */
static bool version_valid(const cJSON *cv)
{
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cv, "name"));
	const char *ver = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cv, "version"));
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(cv, "type");
	struct semver v;

	if (!name || !*name || strchr(name, '/') || streq(name, ".") || streq(name, ".."))
		return false;
	if (!ver || !*ver || semver_parse(ver, &v) < 0)
		return false;
	if (type && !cJSON_IsNull(type) &&
	    !(cJSON_IsString(type) && (streq(type->valuestring, "") ||
				       streq(type->valuestring, "application") ||
				       streq(type->valuestring, "library"))))
		return false;
	return true;
}

static int keep_version(struct scan *s, const char *name, const cJSON *cv)
{
	struct helm_index_version v = { 0 };
	const cJSON *urls = cJSON_GetObjectItemCaseSensitive(cv, "urls"), *u;
	int64_t ns;
	int r;

	r = str_field(s, name, cv, "version", &v.version);
	if (r == 0)
		r = str_field(s, name, cv, "digest", &v.digest);
	if (r == 0)
		r = str_field(s, name, cv, "created", &v.created);
	if (r == 0 && *v.created && time_parse_rfc3339(v.created, &ns) < 0)
		r = op_err_set(s->err, -EINVAL,
			       "index.yaml: chart '%.100s' version '%.60s': created '%.60s' is not an "
			       "RFC 3339 time",
			       name, v.version, v.created);
	if (r == 0 && *v.created)
		v.created_ns = ns;
	if (r == 0 && urls && !cJSON_IsNull(urls) && !cJSON_IsArray(urls))
		r = op_err_set(s->err, -EINVAL, "index.yaml: chart '%.100s': urls is not a list", name);
	if (r == 0 && cJSON_IsArray(urls)) {
		size_t alloc = 0;

		cJSON_ArrayForEach(u, urls) {
			if (!cJSON_IsString(u)) {
				r = op_err_set(s->err, -EINVAL,
					       "index.yaml: chart '%.100s': a url is not a string", name);
				break;
			}
			XGROW(v.urls, v.nurls + 1, alloc);
			v.urls[v.nurls++] = xstrdup(u->valuestring);
		}
	}
	if (r == 0) {
		XGROW(s->out->v, s->out->n + 1, s->alloc);
		s->out->v[s->out->n++] = v;
		return 0;
	}
	version_release(&v);
	return r;
}

/* yj_parse_visit() callback: one chart version, at entries.<name>[i]. */
static int on_version(const char *const *path, size_t depth, cJSON *node, void *payload)
{
	struct scan *s = payload;
	int r = 0;

	if (depth != 3 || !path[0] || !streq(path[0], "entries") || !path[1]) {
		/* Not a chart version (depth 3 elsewhere in the document). */
		cJSON_Delete(node);
		return 0;
	}
	s->entries++;
	if (!cJSON_IsObject(node) && !cJSON_IsNull(node))
		r = op_err_set(s->err, -EINVAL,
			       "index.yaml: chart '%.100s': a version is not a mapping", path[1]);
	else if (s->chart && streq(path[1], s->chart) && cJSON_IsObject(node) &&
		 version_valid(node))
		r = keep_version(s, path[1], node);
	cJSON_Delete(node);
	return r;
}

/* Descending Masterminds order; equal versions keep the index's order. */
static int cmp_desc(const struct helm_index_version *a, const struct helm_index_version *b)
{
	struct semver va, vb;

	if (semver_parse(a->version, &va) < 0 || semver_parse(b->version, &vb) < 0)
		return 0;
	return -semver_cmp(&va, &vb);
}

static void sort_versions(struct helm_index_chart *c)
{
	size_t i, j;

	/* Insertion sort: stable, and a chart has at most a few thousand versions. */
	for (i = 1; i < c->n; i++) {
		struct helm_index_version x = c->v[i];

		for (j = i; j > 0 && cmp_desc(&c->v[j - 1], &x) > 0; j--)
			c->v[j] = c->v[j - 1];
		c->v[j] = x;
	}
}

int helm_index_read_chart(const char *data, size_t len, const char *chart,
			  const struct yj_limits *lim, struct helm_index_chart *ret,
			  struct op_err *err)
{
	struct helm_index_chart out = { 0 };
	struct scan s = { .chart = chart, .out = &out, .err = err };
	cJSON *rest = NULL;
	const cJSON *api, *entries;
	int r;

	if (len == 0)
		return op_err_set(err, -EINVAL, "empty index.yaml file");
	r = yj_parse_visit(data, len, lim, 3, on_version, &s, &rest, err);
	if (r < 0) {
		helm_index_chart_release(&out);
		return r;
	}
	if (!cJSON_IsObject(rest)) {
		r = op_err_set(err, -EINVAL, "index.yaml: not a mapping");
		goto out;
	}
	api = cJSON_GetObjectItemCaseSensitive(rest, "apiVersion");
	if (!cJSON_IsString(api) || !*api->valuestring) {
		r = op_err_set(err, -EINVAL, "no API version specified");
		goto out;
	}
	entries = cJSON_GetObjectItemCaseSensitive(rest, "entries");
	if (entries && !cJSON_IsNull(entries) && !cJSON_IsObject(entries)) {
		r = op_err_set(err, -EINVAL, "index.yaml: entries is not a mapping");
		goto out;
	}
	out.found = chart && cJSON_GetObjectItemCaseSensitive(entries, chart) != NULL;
	out.name = chart ? xstrdup(chart) : NULL;
	out.entries = s.entries;
	sort_versions(&out);
	*ret = out;
	memset(&out, 0, sizeof(out));
out:
	cJSON_Delete(rest);
	helm_index_chart_release(&out);
	return r;
}

/* ---- resolution ---- */

/* a before b in Flux's pick order: higher version, then later created. */
static bool pick_before(const struct helm_index_version *a, const struct semver *va,
			const struct helm_index_version *b, const struct semver *vb)
{
	int c = semver_cmp(va, vb);

	if (c != 0)
		return c > 0;
	return a->created_ns > b->created_ns;
}

int helm_index_pick(const struct helm_index_chart *c, const char *want,
		    const struct helm_index_version **ret, struct op_err *err)
{
	struct semver_constraint *con = NULL;
	const struct helm_index_version *best = NULL;
	struct semver vbest, v;
	size_t i;
	int r;

	if (!want)
		want = "";
	if (!c->found)
		return op_err_set(err, -ENOENT, "no chart name found");
	if (c->n == 0)
		return op_err_set(err, -ENOENT, "no chart version found");
	/* An exact match first, in the index's (sorted) order. */
	if (*want)
		for (i = 0; i < c->n; i++)
			if (streq(c->v[i].version, want)) {
				*ret = &c->v[i];
				return 0;
			}
	r = semver_constraint_parse(*want && !streq(want, "*") ? want : "*", &con, err);
	if (r < 0)
		return r;
	for (i = 0; i < c->n; i++) {
		if (!helm_version_strict(c->v[i].version) || semver_parse(c->v[i].version, &v) < 0)
			continue;
		if (!semver_satisfies(con, &v))
			continue;
		if (!best || pick_before(&c->v[i], &v, best, &vbest)) {
			best = &c->v[i];
			vbest = v;
		}
	}
	semver_constraint_free(con);
	if (!best)
		return op_err_set(err, -ENOENT, "no '%.100s' chart with version matching '%.100s' found",
				  c->name ? c->name : "", want);
	*ret = best;
	return 0;
}

/* ---- URLs ---- */

struct url_parts {
	char *scheme;    /* without ':', NULL when none */
	char *authority; /* without "//", NULL when none */
	char *path;
	char *query;     /* without '?', NULL when none */
	char *fragment;  /* without '#', NULL when none */
};

static void url_parts_free(struct url_parts *u)
{
	free(u->scheme);
	free(u->authority);
	free(u->path);
	free(u->query);
	free(u->fragment);
}

static char *dupn(const char *s, size_t n)
{
	char *r = xmalloc(n + 1);

	memcpy(r, s, n);
	r[n] = '\0';
	return r;
}

/* RFC 3986 appendix B, with Go's checks for the scheme. */
static int url_split(const char *s, struct url_parts *u, struct op_err *err)
{
	const char *p = s, *e;
	size_t i;

	memset(u, 0, sizeof(*u));
	for (i = 0; s[i]; i++) {
		char c = s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			continue;
		if (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))
			continue;
		if (c == ':') {
			if (i == 0)
				return op_err_set(err, -EINVAL,
						  "failed to parse %.200s as URL: missing protocol scheme", s);
			u->scheme = dupn(s, i);
			p = s + i + 1;
		}
		break;
	}
	e = p + strcspn(p, "#");
	if (*e == '#')
		u->fragment = xstrdup(e + 1);
	{
		const char *q = memchr(p, '?', (size_t)(e - p));

		if (q) {
			u->query = dupn(q + 1, (size_t)(e - q - 1));
			e = q;
		}
	}
	if (e - p >= 2 && p[0] == '/' && p[1] == '/') {
		const char *a = p + 2, *slash = memchr(a, '/', (size_t)(e - a));
		const char *ae = slash ? slash : e;

		u->authority = dupn(a, (size_t)(ae - a));
		p = ae;
	}
	u->path = dupn(p, (size_t)(e - p));
	if (!u->scheme && !u->authority) {
		const char *colon = strchr(u->path, ':'), *slash = strchr(u->path, '/');

		if (colon && (!slash || colon < slash)) {
			url_parts_free(u);
			return op_err_set(err, -EINVAL,
					  "failed to parse %.200s as URL: first path segment in URL "
					  "cannot contain colon",
					  s);
		}
	}
	return 0;
}

/* Go's url.resolvePath: merge, then remove dot segments. */
static char *resolve_path(const char *base, const char *ref)
{
	struct buf full = BUF_INIT(1 << 20), out = BUF_INIT(1 << 20);
	const char *p, *seg;
	char *r;
	size_t n;

	if (!*ref) {
		buf_adds(&full, base);
	} else if (ref[0] != '/') {
		const char *slash = strrchr(base, '/');

		if (slash)
			buf_add(&full, base, (size_t)(slash - base + 1));
		buf_adds(&full, ref);
	} else {
		buf_adds(&full, ref);
	}
	if (full.len == 0) {
		buf_release(&full);
		return xstrdup("");
	}
	/* Each segment after a '/'; "." drops, ".." pops; a final dot keeps a '/'. */
	p = full.buf;
	if (*p == '/')
		p++;
	for (;;) {
		const char *slash = strchr(p, '/');
		bool last = !slash;

		n = slash ? (size_t)(slash - p) : strlen(p);
		seg = p;
		if (n == 1 && seg[0] == '.') {
			if (last)
				buf_addch(&out, '/');
		} else if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			const char *ls = strrchr(out.buf, '/');

			buf_truncate(&out, ls ? (size_t)(ls - out.buf) : 0);
			if (last)
				buf_addch(&out, '/');
		} else {
			buf_addch(&out, '/');
			buf_add(&out, seg, n);
		}
		if (last)
			break;
		p = slash + 1;
	}
	if (out.len == 0)
		buf_addch(&out, '/');
	r = xstrdup(out.buf);
	buf_release(&full);
	buf_release(&out);
	return r;
}

int helm_index_chart_url(const char *repo_url, const char *ref, char **ret, struct op_err *err)
{
	struct url_parts b, r;
	struct buf out = BUF_INIT(1 << 20);
	char *path = NULL;
	int rc;

	rc = url_split(ref, &r, err);
	if (rc < 0)
		return rc;
	if (r.scheme) {
		/* Absolute: used as it is written. */
		url_parts_free(&r);
		*ret = xstrdup(ref);
		return 0;
	}
	rc = url_split(repo_url, &b, err);
	if (rc < 0) {
		url_parts_free(&r);
		return rc;
	}
	/* Helm trims one trailing slash from the base path and adds one. */
	{
		size_t n = strlen(b.path);

		if (n > 0 && b.path[n - 1] == '/')
			n--;
		b.path[n] = '\0';
		path = xmalloc(n + 2);
		memcpy(path, b.path, n);
		memcpy(path + n, "/", 2);
	}
	if (b.scheme) {
		buf_adds(&out, b.scheme);
		buf_addch(&out, ':');
	}
	if (r.authority) {
		char *rp = resolve_path(r.path, "");

		buf_addf(&out, "//%s%s", r.authority, *r.path ? rp : "");
		free(rp);
	} else {
		char *rp = resolve_path(path, r.path);

		if (b.authority)
			buf_addf(&out, "//%s", b.authority);
		buf_adds(&out, rp);
		free(rp);
	}
	/* Helm keeps the repository URL's query, whatever the reference had. */
	if (b.query)
		buf_addf(&out, "?%s", b.query);
	if (r.fragment)
		buf_addf(&out, "#%s", r.fragment);
	*ret = xstrdup(out.buf);
	buf_release(&out);
	free(path);
	url_parts_free(&b);
	url_parts_free(&r);
	return 0;
}

void helm_index_revision(const char *data, size_t len, char ret[72])
{
	memcpy(ret, "sha256:", 7);
	yj_sha256_hex(data, len, ret + 7);
}

/* ---- the HelmRepository artifact: the index as normalised JSON ---- */

/* One chart version written to the scratch file. */
struct jrec {
	char *name, *version;
	uint64_t off;
	size_t len;
	size_t seq;
};

struct jscan {
	int scratch_fd;
	uint64_t off;
	struct jrec *r;
	size_t n, alloc;
	struct buf text, indented;
	struct op_err *err;
};

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int indent_to(struct buf *out, int depth)
{
	int r = buf_addch(out, '\n');

	for (int i = 0; r == 0 && i < depth; i++)
		r = buf_adds(out, "  ");
	return r;
}

/*
 * json.Indent(prefix "", indent "  ") of compact `s`, its first line at
 * nesting `depth`: a newline and the indent after every opening bracket
 * and comma, ": " after keys, empty {} and [] kept on one line.
 */
static int json_indent(const char *s, size_t n, int depth, struct buf *out)
{
	bool in_str = false, esc = false;
	int r = 0;

	for (size_t i = 0; r == 0 && i < n; i++) {
		char c = s[i];

		if (in_str) {
			r = buf_addch(out, c);
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
			continue;
		}
		switch (c) {
		case '"':
			in_str = true;
			r = buf_addch(out, c);
			break;
		case '{':
		case '[':
			r = buf_addch(out, c);
			if (r == 0 && i + 1 < n && (s[i + 1] == '}' || s[i + 1] == ']')) {
				r = buf_addch(out, s[++i]);
				break;
			}
			if (r == 0)
				r = indent_to(out, ++depth);
			break;
		case '}':
		case ']':
			r = indent_to(out, --depth);
			if (r == 0)
				r = buf_addch(out, c);
			break;
		case ',':
			r = buf_addch(out, c);
			if (r == 0)
				r = indent_to(out, depth);
			break;
		case ':':
			r = buf_adds(out, ": ");
			break;
		default:
			r = buf_addch(out, c);
		}
	}
	return r;
}

/* Go's HTML-escaped, indented JSON of `j` at nesting `depth`, into out (emptied first). */
static int go_json(const cJSON *j, int depth, struct buf *scratch, struct buf *out)
{
	struct buf esc = BUF_INIT(out->max);
	int r;

	buf_reset(scratch);
	buf_reset(out);
	r = helm__json_ordered(j, scratch);
	if (r == 0)
		r = yj_escape_html(scratch->buf, scratch->len, &esc);
	if (r == 0)
		r = json_indent(esc.buf, esc.len, depth, out);
	buf_release(&esc);
	return r;
}

/*
 * A time as Go's time.Time marshals after parsing `s` (RFC 3339): the
 * offset kept ("Z" for a zero one: the operator's zone is UTC), the
 * fraction's trailing zeros dropped; the zero time for "".
 */
static int go_time(const char *s, char out[RFC3339_MAX + 8])
{
	int64_t ns;
	long off = 0;
	size_t n = strlen(s);

	if (!*s) {
		snprintf(out, RFC3339_MAX + 8, "0001-01-01T00:00:00Z");
		return 0;
	}
	if (time_parse_rfc3339(s, &ns) < 0)
		return -EINVAL;
	if (n > 6 && (s[n - 6] == '+' || s[n - 6] == '-') && s[n - 3] == ':') {
		off = ((s[n - 5] - '0') * 10 + (s[n - 4] - '0')) * 3600 +
		      ((s[n - 2] - '0') * 10 + (s[n - 1] - '0')) * 60;
		if (s[n - 6] == '-')
			off = -off;
	}
	time_format_rfc3339_nano(ns + off * NSEC_PER_SEC, out);
	if (off) {
		size_t l = strlen(out);

		snprintf(out + l - 1, 8, "%c%s", s[n - 6], s + n - 5);
	}
	return 0;
}

/*
 * One string member of a chart version (absent or null: ""): a scalar
 * becomes its text as sigs.k8s.io/yaml makes it; a list or a mapping is
 * an error.  *ret is malloc'd.
 */
static int cv_str(const cJSON *cv, const char *k, const char *chart, char **ret,
		  struct op_err *err)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(cv, k);

	*ret = NULL;
	if (!f || cJSON_IsNull(f)) {
		*ret = xstrdup("");
		return 0;
	}
	*ret = cJSON_IsString(f) ? xstrdup(f->valuestring) : helm__scalar_text(f, false);
	if (!*ret)
		return op_err_set(err, -EINVAL,
				  "index.yaml: chart '%.100s': field '%s' is not a string", chart, k);
	return 0;
}

/*
 * repo.ChartVersion as Go marshals it: the embedded chart.Metadata's
 * fields, then urls (null when absent), created, removed, digest and the
 * deprecated checksum, engine, tillerVersion and url.  NULL with r == 0:
 * the version fails Helm's validation and is dropped.
 */
static int chart_version_json(const char *chart, const cJSON *node, cJSON **ret,
			      struct op_err *err)
{
	static const char *const legacy[] = { "digest", "checksum", "engine", "tillerVersion",
					      "url" };
	struct helm_metadata md = { 0 };
	const cJSON *urls = cJSON_GetObjectItemCaseSensitive(node, "urls"), *u;
	char *created = NULL, *v;
	char t[RFC3339_MAX + 8];
	cJSON *o = NULL;
	struct op_err verr;
	int r;

	*ret = NULL;
	r = helm__metadata_apply(&md, node, "index.yaml", err);
	if (r == 0 && !md.api_version[0]) {
		free(md.api_version);
		md.api_version = xstrdup("v1");
	}
	if (r == 0 && helm__metadata_validate(&md, &verr) < 0 &&
	    !str_startswith(verr.msg, "validation: more than one dependency with name or alias")) {
		helm_metadata_release(&md);
		return 0;
	}
	if (r == 0)
		r = cv_str(node, "created", chart, &created, err);
	if (r == 0 && go_time(created, t) < 0)
		r = op_err_set(err, -EINVAL, "index.yaml: chart '%.100s': parsing time \"%.60s\": "
			       "not an RFC 3339 time", chart, created);
	if (r == 0 && urls && !cJSON_IsNull(urls) && !cJSON_IsArray(urls))
		r = op_err_set(err, -EINVAL, "index.yaml: chart '%.100s': urls is not a list", chart);
	for (u = cJSON_IsArray(urls) ? urls->child : NULL; u; u = u->next)
		if (r == 0 && !cJSON_IsString(u))
			r = op_err_set(err, -EINVAL, "index.yaml: chart '%.100s': a url is not a string",
				       chart);
	if (r == 0) {
		o = helm_metadata_json(&md);
		cJSON_AddItemToObject(o, "urls", cJSON_IsArray(urls) ? cJSON_Duplicate(urls, 1) :
								       cJSON_CreateNull());
		cJSON_AddStringToObject(o, "created", t);
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(node, "removed")))
			cJSON_AddTrueToObject(o, "removed");
		for (size_t i = 0; r == 0 && i < ARRAY_SIZE(legacy); i++) {
			r = cv_str(node, legacy[i], chart, &v, err);
			if (r == 0 && *v)
				cJSON_AddStringToObject(o, legacy[i], v);
			free(v);
		}
	}
	free(created);
	helm_metadata_release(&md);
	if (r < 0) {
		cJSON_Delete(o);
		return r;
	}
	*ret = o;
	return 0;
}

static int on_version_json(const char *const *path, size_t depth, cJSON *node, void *payload)
{
	struct jscan *s = payload;
	cJSON *o;
	int r;

	if (depth != 3 || !path[0] || !streq(path[0], "entries") || !path[1]) {
		cJSON_Delete(node);
		return 0;
	}
	if (!cJSON_IsObject(node)) {
		/* IndexFromBytes skips a null version; anything else Go cannot decode. */
		r = cJSON_IsNull(node) ? 0 : op_err_set(s->err, -EINVAL,
							"index.yaml: chart '%.100s': a version is "
							"not a mapping", path[1]);
		cJSON_Delete(node);
		return r;
	}
	r = chart_version_json(path[1], node, &o, s->err);
	cJSON_Delete(node);
	if (r < 0 || !o)
		return r;
	r = go_json(o, 3, &s->text, &s->indented);
	if (r == 0)
		r = write_all(s->scratch_fd, s->indented.buf, s->indented.len);
	if (r == 0) {
		XGROW(s->r, s->n + 1, s->alloc);
		s->r[s->n] = (struct jrec){ .name = xstrdup(path[1]),
					    .version = xstrdup(yj_get_str(o, "/version")),
					    .off = s->off, .len = s->indented.len, .seq = s->n };
		s->n++;
		s->off += s->indented.len;
	} else {
		op_err_set(s->err, r, "cannot write the index: %s", op_strerror(r));
	}
	cJSON_Delete(o);
	return r;
}

/* Chart name ascending, then Helm's SortEntries (highest version first), then index order. */
static int jrec_cmp(const void *a, const void *b)
{
	const struct jrec *x = a, *y = b;
	struct semver vx, vy;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	if (semver_parse(x->version, &vx) == 0 && semver_parse(y->version, &vy) == 0) {
		c = semver_cmp(&vy, &vx);
		if (c)
			return c;
	}
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

/* Copy `len` bytes at `off` of the scratch file to `out_fd`. */
static int copy_range(int in, uint64_t off, size_t len, int out_fd)
{
	char buf[65536];

	while (len) {
		ssize_t n = pread(in, buf, len < sizeof(buf) ? len : sizeof(buf), (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		if (write_all(out_fd, buf, (size_t)n) < 0)
			return -errno;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* `"key": ` at nesting 1 (the document's members), after a comma unless first. */
static int member(struct buf *b, const char *key, bool *first)
{
	int r = buf_adds(b, *first ? "\n  \"" : ",\n  \"");

	*first = false;
	return r ?: buf_addf(b, "%s\": ", key);
}

/* A document member holding `v`, indented at nesting 1; nothing when omitempty and empty. */
static int doc_member(struct buf *b, const char *key, const cJSON *v, bool omitempty,
		      bool *first, struct buf *t1, struct buf *t2)
{
	int r;

	if (omitempty && (!v || cJSON_IsNull(v) || cJSON_GetArraySize(v) == 0))
		return 0;
	r = member(b, key, first);
	if (r == 0)
		r = go_json(v, 1, t1, t2);
	return r ?: buf_add(b, t2->buf, t2->len);
}

int helm_index_write_json(const char *data, size_t len, int scratch_fd, int out_fd,
			  const struct yj_limits *lim, struct helm_index_json_stats *ret_stats,
			  struct op_err *err)
{
	struct jscan s = { .scratch_fd = scratch_fd, .text = BUF_INIT(64u << 20),
			   .indented = BUF_INIT(64u << 20), .err = err };
	struct buf head = BUF_INIT(64u << 20);
	cJSON *rest = NULL, *gen;
	const cJSON *api, *entries, *e;
	const cJSON **names = NULL;
	size_t nn = 0, i, k = 0;
	char t[RFC3339_MAX + 8];
	bool first = true;
	int r;

	err->msg[0] = '\0';
	if (len == 0)
		return op_err_set(err, -EINVAL, "empty index.yaml file");
	r = yj_parse_visit(data, len, lim, 3, on_version_json, &s, &rest, err);
	if (r < 0)
		goto out;
	api = cJSON_GetObjectItemCaseSensitive(rest, "apiVersion");
	entries = cJSON_GetObjectItemCaseSensitive(rest, "entries");
	if (!cJSON_IsObject(rest))
		r = op_err_set(err, -EINVAL, "index.yaml: not a mapping");
	else if (!cJSON_IsString(api) || !*api->valuestring)
		r = op_err_set(err, -EINVAL, "no API version specified");
	else if (entries && !cJSON_IsNull(entries) && !cJSON_IsObject(entries))
		r = op_err_set(err, -EINVAL, "index.yaml: entries is not a mapping");
	else if (!cJSON_IsString(gen = cJSON_GetObjectItemCaseSensitive(rest, "generated")) &&
		 gen && !cJSON_IsNull(gen))
		r = op_err_set(err, -EINVAL, "index.yaml: generated is not a time");
	else if (go_time(cJSON_IsString(gen) ? gen->valuestring : "", t) < 0)
		r = op_err_set(err, -EINVAL, "index.yaml: parsing time \"%.60s\": not an RFC 3339 "
			       "time", gen->valuestring);
	if (r < 0)
		goto out;
	if (s.n)
		qsort(s.r, s.n, sizeof(*s.r), jrec_cmp);
	names = xcalloc((size_t)cJSON_GetArraySize(entries) + 1, sizeof(*names));
	for (e = cJSON_IsObject(entries) ? entries->child : NULL; e; e = e->next)
		names[nn++] = e;
	if (nn)
		qsort(names, nn, sizeof(*names), name_cmp);

	/* The document in IndexFile's field order. */
	r = buf_addch(&head, '{');
	if (r == 0)
		r = doc_member(&head, "serverInfo", cJSON_GetObjectItemCaseSensitive(rest, "serverInfo"),
			       true, &first, &s.text, &s.indented);
	if (r == 0)
		r = doc_member(&head, "apiVersion", api, false, &first, &s.text, &s.indented);
	if (r == 0)
		r = member(&head, "generated", &first);
	if (r == 0)
		r = buf_addf(&head, "\"%s\"", t);
	if (r == 0)
		r = member(&head, "entries", &first);
	if (r == 0)
		r = buf_adds(&head, !cJSON_IsObject(entries) ? "null" : nn ? "{" : "{}");
	for (i = 0; r == 0 && i < nn; i++) {
		bool any = false;

		r = buf_addf(&head, "%s\n    ", i ? "," : "");
		if (r == 0) {
			cJSON *key = cJSON_CreateStringReference(names[i]->string);

			r = go_json(key, 2, &s.text, &s.indented);
			cJSON_Delete(key);
		}
		if (r == 0)
			r = buf_add(&head, s.indented.buf, s.indented.len);
		if (r == 0)
			r = buf_adds(&head, ": ");
		/* A chart whose versions are all dropped is [], one written as null stays null. */
		while (r == 0 && k < s.n && strcmp(s.r[k].name, names[i]->string) < 0)
			k++;
		if (r == 0 && cJSON_IsNull(names[i]) && !(k < s.n && streq(s.r[k].name,
									 names[i]->string))) {
			r = buf_adds(&head, "null");
			continue;
		}
		if (r == 0)
			r = buf_addch(&head, '[');
		for (; r == 0 && k < s.n && streq(s.r[k].name, names[i]->string); k++) {
			r = buf_adds(&head, any ? ",\n      " : "\n      ");
			if (r == 0)
				r = write_all(out_fd, head.buf, head.len);
			buf_reset(&head);
			if (r == 0)
				r = copy_range(scratch_fd, s.r[k].off, s.r[k].len, out_fd);
			any = true;
		}
		if (r == 0)
			r = buf_adds(&head, any ? "\n    ]" : "]");
	}
	if (r == 0 && nn)
		r = buf_adds(&head, "\n  }");
	if (r == 0)
		r = doc_member(&head, "publicKeys", cJSON_GetObjectItemCaseSensitive(rest, "publicKeys"),
			       true, &first, &s.text, &s.indented);
	if (r == 0)
		r = doc_member(&head, "annotations",
			       cJSON_GetObjectItemCaseSensitive(rest, "annotations"), true, &first,
			       &s.text, &s.indented);
	if (r == 0)
		r = buf_adds(&head, "\n}");
	if (r == 0)
		r = write_all(out_fd, head.buf, head.len);
	if (r < 0 && !err->msg[0])
		op_err_set(err, r, "cannot write the index: %s", op_strerror(r));
	if (r == 0 && ret_stats) {
		ret_stats->charts = nn;
		ret_stats->versions = s.n;
	}
out:
	for (i = 0; i < s.n; i++) {
		free(s.r[i].name);
		free(s.r[i].version);
	}
	free(s.r);
	free(names);
	buf_release(&s.text);
	buf_release(&s.indented);
	buf_release(&head);
	cJSON_Delete(rest);
	return r;
}
