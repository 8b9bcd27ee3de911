/*
 * chart.c: Chart.yaml, read and checked as Helm v3 reads and checks it.
 *
 * DESIGN
 * Helm reads Chart.yaml with sigs.k8s.io/yaml into the Go struct
 * chart.Metadata: the YAML becomes JSON (YAML 1.1 scalars, numbers), and
 * encoding/json fills the struct.  Two things follow that matter here:
 * a scalar destined for a string field is turned into text first
 * (`version: 1.0` is "1", `appVersion: 1.10` is "1.1": floats are
 * formatted with Go's 'g' at float32 precision), and keys match field
 * names case-insensitively while unknown keys are ignored.  A value of
 * the wrong shape fails with encoding/json's message.  helm__metadata_apply()
 * does this field by field from the cJSON tree yj gives; the same code
 * reads requirements.yaml, which Helm unmarshals into the same struct.
 *
 * Validation (Metadata.Validate) then sanitises the free-text fields as
 * Helm does (Unicode spaces become ' ', other unprintable characters are
 * removed) and checks names, the version (Masterminds semver's
 * NewVersion grammar), the chart type and dependency aliases, with Helm's
 * "validation: ..." messages.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/semver.h"
#include "base/str.h"
#include "base/unicode.h"
#include "base/utf8.h"
#include "helm/internal.h"
#include "yj/yj.h"
#include "base/banned.h"

/* ---- YAML reading ---- */

/* Length of the first document of a stream: up to the separator that follows content. */
static size_t first_doc_len(const char *d, size_t len)
{
	size_t pos = 0;
	bool content = false;

	while (pos < len) {
		const char *nl = memchr(d + pos, '\n', len - pos);
		size_t eol = nl ? (size_t)(nl - d) : len, i = pos;

		if (eol - pos >= 3 && memcmp(d + pos, "---", 3) == 0) {
			for (i = pos + 3; i < eol && (d[i] == ' ' || d[i] == '\t' || d[i] == '\r'); i++)
				;
			if (i == eol || d[i] == '#') {
				if (content)
					return pos;
				pos = eol < len ? eol + 1 : len;
				continue;
			}
		}
		for (i = pos; i < eol && (d[i] == ' ' || d[i] == '\t' || d[i] == '\r'); i++)
			;
		if (i < eol && d[i] != '#')
			content = true;
		pos = eol < len ? eol + 1 : len;
	}
	return len;
}

void helm__floatify(cJSON *j)
{
	cJSON *c;

	if (!j)
		return;
	if (cJSON_IsRaw(j)) {
		double v = strtod(j->valuestring, NULL);

		free(j->valuestring);
		j->valuestring = NULL;
		j->type = cJSON_Number;
		cJSON_SetNumberValue(j, v);
		return;
	}
	for (c = j->child; c; c = c->next)
		helm__floatify(c);
}

int helm__yaml_first(const char *data, size_t len, cJSON **ret, struct op_err *reterr)
{
	struct yj_limits lim = YJ_LIMITS_DEFAULT;
	struct yj_stream s;
	cJSON *doc = NULL;
	int r;

	lim.go_errors = true;
	r = yj_parse_stream(data, first_doc_len(data, len), &lim, &s, reterr);
	if (r < 0)
		return r;
	if (s.n > 0) {
		doc = s.docs[0];
		s.docs[0] = NULL;
	}
	yj_stream_release(&s);
	helm__floatify(doc);
	*ret = doc;
	return 0;
}

/* ---- typed decoding, as encoding/json into chart.Metadata ---- */

const char *helm__json_kind(const cJSON *v)
{
	if (cJSON_IsObject(v))
		return "object";
	if (cJSON_IsArray(v))
		return "array";
	if (cJSON_IsString(v))
		return "string";
	if (cJSON_IsBool(v))
		return "bool";
	return "number";
}

static int type_err(struct op_err *err, const char *file, const cJSON *v, const char *field,
		    const char *gotype)
{
	return op_err_set(err, -EINVAL,
			  "cannot load %s: error unmarshaling JSON: while decoding JSON: json: cannot "
			  "unmarshal %s into Go struct field %s of type %s",
			  file, helm__json_kind(v), field, gotype);
}

char *helm__scalar_text(const cJSON *v, bool go_v)
{
	char num[64];

	if (cJSON_IsString(v))
		return xstrdup(v->valuestring);
	if (cJSON_IsBool(v))
		return xstrdup(cJSON_IsTrue(v) ? "true" : "false");
	if (cJSON_IsRaw(v))
		return xstrdup(v->valuestring);
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;

		if (go_v)
			yj_format_float(d, 64, false, num, sizeof(num));
		else if (d == floor(d) && fabs(d) < 9007199254740992.0)
			snprintf(num, sizeof(num), "%.0f", d);
		else
			yj_format_float(d, 32, false, num, sizeof(num));
		return xstrdup(num);
	}
	return NULL;
}

/* A string field: null leaves it as it was. */
static int get_str(const cJSON *v, char **field, const char *file, const char *name,
		   struct op_err *err)
{
	char *s;

	if (cJSON_IsNull(v))
		return 0;
	s = helm__scalar_text(v, false);
	if (!s)
		return type_err(err, file, v, name, "string");
	free(*field);
	*field = s;
	return 0;
}

static void free_strv(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int get_strv(const cJSON *v, char ***field, size_t *n, const char *file, const char *name,
		    struct op_err *err)
{
	const cJSON *c;
	char **out;
	size_t k = 0;

	if (cJSON_IsNull(v)) {
		free_strv(*field, *n);
		*field = NULL;
		*n = 0;
		return 0;
	}
	if (!cJSON_IsArray(v))
		return type_err(err, file, v, name, "[]string");
	out = xnew0(char *, (size_t)cJSON_GetArraySize(v) + 1);
	cJSON_ArrayForEach(c, v) {
		out[k] = cJSON_IsNull(c) ? xstrdup("") : helm__scalar_text(c, false);
		if (!out[k]) {
			free_strv(out, k);
			return type_err(err, file, c, name, "string");
		}
		k++;
	}
	free_strv(*field, *n);
	*field = out;
	*n = k;
	return 0;
}

static int get_bool(const cJSON *v, bool *field, const char *file, const char *name,
		    struct op_err *err)
{
	if (cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsBool(v))
		return type_err(err, file, v, name, "bool");
	*field = cJSON_IsTrue(v);
	return 0;
}

void helm_dependency_release(struct helm_dependency *d)
{
	free(d->name);
	free(d->version);
	free(d->repository);
	free(d->condition);
	free(d->alias);
	free_strv(d->tags, d->ntags);
	cJSON_Delete(d->import_values);
	memset(d, 0, sizeof(*d));
}

static void dep_init(struct helm_dependency *d)
{
	memset(d, 0, sizeof(*d));
	d->name = xstrdup("");
	d->version = xstrdup("");
	d->repository = xstrdup("");
	d->condition = xstrdup("");
	d->alias = xstrdup("");
}

/* A null list element: Go leaves a nil pointer, which Validate() refuses. */
#define NULL_DEP ((char *)-1)

static int get_dep(const cJSON *v, struct helm_dependency *d, const char *file,
		   struct op_err *err)
{
	const cJSON *c;
	int r = 0;

	if (!cJSON_IsObject(v))
		return type_err(err, file, v, "Metadata.dependencies", "chart.Dependency");
	cJSON_ArrayForEach(c, v) {
		const char *k = c->string;

		if (!strcasecmp(k, "name"))
			r = get_str(c, &d->name, file, "Metadata.dependencies.name", err);
		else if (!strcasecmp(k, "version"))
			r = get_str(c, &d->version, file, "Metadata.dependencies.version", err);
		else if (!strcasecmp(k, "repository"))
			r = get_str(c, &d->repository, file, "Metadata.dependencies.repository", err);
		else if (!strcasecmp(k, "condition"))
			r = get_str(c, &d->condition, file, "Metadata.dependencies.condition", err);
		else if (!strcasecmp(k, "alias"))
			r = get_str(c, &d->alias, file, "Metadata.dependencies.alias", err);
		else if (!strcasecmp(k, "tags"))
			r = get_strv(c, &d->tags, &d->ntags, file, "Metadata.dependencies.tags", err);
		else if (!strcasecmp(k, "enabled"))
			r = get_bool(c, &d->enabled, file, "Metadata.dependencies.enabled", err);
		else if (!strcasecmp(k, "import-values")) {
			if (cJSON_IsNull(c)) {
				cJSON_Delete(d->import_values);
				d->import_values = NULL;
			} else if (!cJSON_IsArray(c)) {
				r = type_err(err, file, c, "Metadata.dependencies.import-values",
					     "[]interface {}");
			} else {
				cJSON_Delete(d->import_values);
				d->import_values = cJSON_Duplicate(c, 1);
			}
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static void maint_release(struct helm_maintainer *m)
{
	if (m->name == NULL_DEP)
		return;
	free(m->name);
	free(m->email);
	free(m->url);
}

static int get_maintainers(const cJSON *v, struct helm_metadata *md, const char *file,
			   struct op_err *err)
{
	const cJSON *c, *f;
	struct helm_maintainer *out;
	size_t k = 0, i;
	int r = 0;

	if (cJSON_IsNull(v))
		goto replace;
	if (!cJSON_IsArray(v))
		return type_err(err, file, v, "Metadata.maintainers", "[]*chart.Maintainer");
	cJSON_ArrayForEach(c, v) {
		if (!cJSON_IsObject(c) && !cJSON_IsNull(c))
			return type_err(err, file, c, "Metadata.maintainers", "chart.Maintainer");
	}
replace:
	out = xnew0(struct helm_maintainer, (size_t)cJSON_GetArraySize(v) + 1);
	cJSON_ArrayForEach(c, v) {
		struct helm_maintainer *m = &out[k++];

		if (cJSON_IsNull(c)) {
			m->name = NULL_DEP;
			continue;
		}
		m->name = xstrdup("");
		m->email = xstrdup("");
		m->url = xstrdup("");
		cJSON_ArrayForEach(f, c) {
			if (!strcasecmp(f->string, "name"))
				r = get_str(f, &m->name, file, "Metadata.maintainers.name", err);
			else if (!strcasecmp(f->string, "email"))
				r = get_str(f, &m->email, file, "Metadata.maintainers.email", err);
			else if (!strcasecmp(f->string, "url"))
				r = get_str(f, &m->url, file, "Metadata.maintainers.url", err);
			if (r < 0)
				break;
		}
		if (r < 0)
			break;
	}
	if (r < 0) {
		for (i = 0; i < k; i++)
			maint_release(&out[i]);
		free(out);
		return r;
	}
	for (i = 0; i < md->nmaintainers; i++)
		maint_release(&md->maintainers[i]);
	free(md->maintainers);
	md->maintainers = out;
	md->nmaintainers = k;
	return 0;
}

static int get_deps(const cJSON *v, struct helm_metadata *md, const char *file,
		    struct op_err *err)
{
	const cJSON *c;
	struct helm_dependency *out;
	size_t k = 0, i;
	int r = 0;

	if (!cJSON_IsNull(v) && !cJSON_IsArray(v))
		return type_err(err, file, v, "Metadata.dependencies", "[]*chart.Dependency");
	out = xnew0(struct helm_dependency, (size_t)cJSON_GetArraySize(v) + 1);
	cJSON_ArrayForEach(c, v) {
		struct helm_dependency *d = &out[k++];

		if (cJSON_IsNull(c)) {
			d->name = NULL_DEP;
			continue;
		}
		dep_init(d);
		r = get_dep(c, d, file, err);
		if (r < 0)
			break;
	}
	if (r < 0) {
		for (i = 0; i < k; i++)
			if (out[i].name != NULL_DEP)
				helm_dependency_release(&out[i]);
		free(out);
		return r;
	}
	for (i = 0; i < md->ndeps; i++)
		if (md->deps[i].name != NULL_DEP)
			helm_dependency_release(&md->deps[i]);
	free(md->deps);
	md->deps = out;
	md->ndeps = k;
	md->has_deps = !cJSON_IsNull(v);
	return 0;
}

static void md_defaults(struct helm_metadata *md)
{
	char **s[] = { &md->name, &md->home, &md->version, &md->description, &md->icon,
		       &md->api_version, &md->condition, &md->tags, &md->app_version,
		       &md->kube_version, &md->type };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(s); i++)
		if (!*s[i])
			*s[i] = xstrdup("");
}

int helm__metadata_apply(struct helm_metadata *md, const cJSON *doc, const char *file,
			 struct op_err *err)
{
	static const struct {
		const char *key;
		size_t off;
	} strs[] = {
		{ "name", offsetof(struct helm_metadata, name) },
		{ "home", offsetof(struct helm_metadata, home) },
		{ "version", offsetof(struct helm_metadata, version) },
		{ "description", offsetof(struct helm_metadata, description) },
		{ "icon", offsetof(struct helm_metadata, icon) },
		{ "apiVersion", offsetof(struct helm_metadata, api_version) },
		{ "condition", offsetof(struct helm_metadata, condition) },
		{ "tags", offsetof(struct helm_metadata, tags) },
		{ "appVersion", offsetof(struct helm_metadata, app_version) },
		{ "kubeVersion", offsetof(struct helm_metadata, kube_version) },
		{ "type", offsetof(struct helm_metadata, type) },
	};
	const cJSON *c;
	size_t i;
	int r = 0;

	md_defaults(md);
	if (!doc || cJSON_IsNull(doc))
		return 0;
	if (!cJSON_IsObject(doc))
		return op_err_set(err, -EINVAL,
				  "cannot load %s: error unmarshaling JSON: while decoding JSON: "
				  "json: cannot unmarshal %s into Go value of type chart.Metadata",
				  file, helm__json_kind(doc));
	cJSON_ArrayForEach(c, doc) {
		const char *k = c->string;
		char fname[64];

		for (i = 0; i < ARRAY_SIZE(strs); i++)
			if (!strcasecmp(k, strs[i].key))
				break;
		if (i < ARRAY_SIZE(strs)) {
			snprintf(fname, sizeof(fname), "Metadata.%s", strs[i].key);
			r = get_str(c, (char **)((char *)md + strs[i].off), file, fname, err);
		} else if (!strcasecmp(k, "sources")) {
			r = get_strv(c, &md->sources, &md->nsources, file, "Metadata.sources", err);
		} else if (!strcasecmp(k, "keywords")) {
			r = get_strv(c, &md->keywords, &md->nkeywords, file, "Metadata.keywords", err);
		} else if (!strcasecmp(k, "maintainers")) {
			r = get_maintainers(c, md, file, err);
		} else if (!strcasecmp(k, "deprecated")) {
			r = get_bool(c, &md->deprecated, file, "Metadata.deprecated", err);
		} else if (!strcasecmp(k, "dependencies")) {
			r = get_deps(c, md, file, err);
		} else if (!strcasecmp(k, "annotations")) {
			const cJSON *a;
			cJSON *out;

			if (cJSON_IsNull(c)) {
				cJSON_Delete(md->annotations);
				md->annotations = NULL;
				continue;
			}
			if (!cJSON_IsObject(c)) {
				r = type_err(err, file, c, "Metadata.annotations", "map[string]string");
				break;
			}
			out = cJSON_CreateObject();
			cJSON_ArrayForEach(a, c) {
				char *s = cJSON_IsNull(a) ? xstrdup("") : helm__scalar_text(a, false);

				if (!s) {
					cJSON_Delete(out);
					return type_err(err, file, a, "Metadata.annotations", "string");
				}
				cJSON_AddItemToObject(out, a->string, cJSON_CreateString(s));
				free(s);
			}
			cJSON_Delete(md->annotations);
			md->annotations = out;
		}
		if (r < 0)
			break;
	}
	return r;
}

int helm_metadata_parse(const char *data, size_t len, struct helm_metadata *ret,
			struct op_err *reterr)
{
	struct helm_metadata md = { 0 };
	cJSON *doc = NULL;
	int r;

	r = helm__yaml_first(data, len, &doc, reterr);
	if (r < 0) {
		op_err_prefix(reterr, "cannot load Chart.yaml: error converting YAML to JSON");
		return r;
	}
	r = helm__metadata_apply(&md, doc, "Chart.yaml", reterr);
	cJSON_Delete(doc);
	if (r == 0 && !md.api_version[0]) {
		free(md.api_version);
		md.api_version = xstrdup("v1");
	}
	if (r == 0)
		r = helm__metadata_validate(&md, reterr);
	if (r < 0) {
		helm_metadata_release(&md);
		return r;
	}
	*ret = md;
	return 0;
}

void helm_metadata_release(struct helm_metadata *md)
{
	size_t i;

	if (!md)
		return;
	free(md->name);
	free(md->home);
	free(md->version);
	free(md->description);
	free(md->icon);
	free(md->api_version);
	free(md->condition);
	free(md->tags);
	free(md->app_version);
	free(md->kube_version);
	free(md->type);
	free_strv(md->sources, md->nsources);
	free_strv(md->keywords, md->nkeywords);
	for (i = 0; i < md->nmaintainers; i++)
		maint_release(&md->maintainers[i]);
	free(md->maintainers);
	cJSON_Delete(md->annotations);
	for (i = 0; i < md->ndeps; i++)
		if (md->deps[i].name != NULL_DEP)
			helm_dependency_release(&md->deps[i]);
	free(md->deps);
	memset(md, 0, sizeof(*md));
}

static char **copy_strv(char *const *v, size_t n)
{
	char **out = xnew0(char *, n + 1);
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

void helm__metadata_copy(struct helm_metadata *ret, const struct helm_metadata *md)
{
	size_t i;

	memset(ret, 0, sizeof(*ret));
	ret->name = xstrdup(md->name);
	ret->home = xstrdup(md->home);
	ret->version = xstrdup(md->version);
	ret->description = xstrdup(md->description);
	ret->icon = xstrdup(md->icon);
	ret->api_version = xstrdup(md->api_version);
	ret->condition = xstrdup(md->condition);
	ret->tags = xstrdup(md->tags);
	ret->app_version = xstrdup(md->app_version);
	ret->kube_version = xstrdup(md->kube_version);
	ret->type = xstrdup(md->type);
	ret->sources = copy_strv(md->sources, md->nsources);
	ret->nsources = md->nsources;
	ret->keywords = copy_strv(md->keywords, md->nkeywords);
	ret->nkeywords = md->nkeywords;
	ret->maintainers = xnew0(struct helm_maintainer, md->nmaintainers + 1);
	for (i = 0; i < md->nmaintainers; i++) {
		/* Validated metadata has no null maintainers. */
		ret->maintainers[i].name = xstrdup(md->maintainers[i].name);
		ret->maintainers[i].email = xstrdup(md->maintainers[i].email);
		ret->maintainers[i].url = xstrdup(md->maintainers[i].url);
	}
	ret->nmaintainers = md->nmaintainers;
	ret->deprecated = md->deprecated;
	ret->annotations = md->annotations ? cJSON_Duplicate(md->annotations, 1) : NULL;
	ret->deps = xnew0(struct helm_dependency, md->ndeps + 1);
	for (i = 0; i < md->ndeps; i++) {
		const struct helm_dependency *s = &md->deps[i];
		struct helm_dependency *d = &ret->deps[i];

		d->name = xstrdup(s->name);
		d->version = xstrdup(s->version);
		d->repository = xstrdup(s->repository);
		d->condition = xstrdup(s->condition);
		d->alias = xstrdup(s->alias);
		d->tags = copy_strv(s->tags, s->ntags);
		d->ntags = s->ntags;
		d->enabled = s->enabled;
		d->import_values = s->import_values ? cJSON_Duplicate(s->import_values, 1) : NULL;
	}
	ret->ndeps = md->ndeps;
	ret->has_deps = md->has_deps;
}

/* ---- validation ---- */

/* Helm's sanitizeString(): Unicode spaces become ' ', unprintables are dropped. */
static void sanitize(char **field)
{
	const unsigned char *p = (const unsigned char *)*field;
	char *out = xmalloc(strlen(*field) * 3 + 1), *o = out;

	while (*p) {
		const unsigned char *start = p;
		uint32_t c;

		p += utf8_decode((const char *)p, strnlen((const char *)p, 4), &c);
		if (uni_is_space(c)) {
			*o++ = ' ';
		} else if (uni_is_print(c)) {
			if (c == 0xfffd && p - start == 1) {
				memcpy(o, "\xef\xbf\xbd", 3);
				o += 3;
			} else {
				memcpy(o, start, (size_t)(p - start));
				o += p - start;
			}
		}
	}
	*o = '\0';
	free(*field);
	*field = out;
}

static bool valid_ident_chars(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

/* Dot-separated identifiers of [0-9A-Za-z-]; `pre` also refuses numeric ones with leading 0. */
static bool valid_idents(const char *s, size_t n, bool pre)
{
	size_t i = 0;

	while (i <= n) {
		size_t j = i, k;
		bool digits = true;

		while (j < n && s[j] != '.')
			j++;
		if (!valid_ident_chars(s + i, j - i))
			return false;
		for (k = i; k < j; k++)
			if (!isdigit((unsigned char)s[k]))
				digits = false;
		if (pre && digits && j - i > 1 && s[i] == '0')
			return false;
		i = j + 1;
	}
	return true;
}

bool helm__valid_semver(const char *v)
{
	const char *p = v;
	int parts = 0;

	if (*p == 'v')
		p++;
	for (;;) {
		const char *s = p;

		while (isdigit((unsigned char)*p))
			p++;
		if (p == s || p - s > 19)
			return false;
		parts++;
		if (*p != '.' || parts == 3)
			break;
		p++;
	}
	if (*p == '-') {
		const char *e = p + 1 + strcspn(p + 1, "+");

		if (!valid_idents(p + 1, (size_t)(e - p - 1), true))
			return false;
		p = e;
	}
	if (*p == '+') {
		if (!valid_idents(p + 1, strlen(p + 1), false))
			return false;
		p += strlen(p);
	}
	return *p == '\0';
}

bool helm__compatible_range(const char *constraint, const char *version)
{
	struct semver_constraint *c = NULL;
	struct semver v;
	bool ok;

	if (!helm__valid_semver(version) || semver_parse(version, &v) < 0)
		return false;
	/* Masterminds refuses an empty constraint ("improper constraint"). */
	if (!constraint[0] || semver_constraint_parse(constraint, &c, NULL) < 0)
		return false;
	ok = semver_satisfies(c, &v);
	semver_constraint_free(c);
	return ok;
}

static bool valid_alias(const char *a)
{
	if (!*a)
		return false;
	for (; *a; a++)
		if (!isalnum((unsigned char)*a) && *a != '_' && *a != '-')
			return false;
	return true;
}

int helm__metadata_validate(struct helm_metadata *md, struct op_err *err)
{
	size_t i, j;
	const char *slash;

	sanitize(&md->name);
	sanitize(&md->description);
	sanitize(&md->home);
	sanitize(&md->icon);
	sanitize(&md->condition);
	sanitize(&md->tags);
	sanitize(&md->app_version);
	sanitize(&md->kube_version);
	for (i = 0; i < md->nsources; i++)
		sanitize(&md->sources[i]);
	for (i = 0; i < md->nkeywords; i++)
		sanitize(&md->keywords[i]);
	if (!md->api_version[0])
		return op_err_set(err, -EINVAL, "validation: chart.metadata.apiVersion is required");
	if (!md->name[0])
		return op_err_set(err, -EINVAL, "validation: chart.metadata.name is required");
	if (streq(md->name, ".") || streq(md->name, ".."))
		return op_err_set(err, -EINVAL, "validation: chart.metadata.name \"%s\" is not allowed",
				  md->name);
	slash = strrchr(md->name, '/');
	if (slash)
		return op_err_set(err, -EINVAL, "validation: chart.metadata.name \"%s\" is invalid",
				  md->name);
	if (!md->version[0])
		return op_err_set(err, -EINVAL, "validation: chart.metadata.version is required");
	if (!helm__valid_semver(md->version))
		return op_err_set(err, -EINVAL,
				  "validation: chart.metadata.version \"%s\" is invalid", md->version);
	if (md->type[0] && !streq(md->type, "application") && !streq(md->type, "library"))
		return op_err_set(err, -EINVAL,
				  "validation: chart.metadata.type must be application or library");
	for (i = 0; i < md->nmaintainers; i++) {
		struct helm_maintainer *m = &md->maintainers[i];

		if (m->name == NULL_DEP)
			return op_err_set(err, -EINVAL, "validation: maintainers must not contain "
					  "empty or null nodes");
		sanitize(&m->name);
		sanitize(&m->email);
		sanitize(&m->url);
	}
	for (i = 0; i < md->ndeps; i++) {
		struct helm_dependency *d = &md->deps[i];
		const char *key;

		if (d->name == NULL_DEP)
			return op_err_set(err, -EINVAL, "validation: dependencies must not contain "
					  "empty or null nodes");
		sanitize(&d->name);
		sanitize(&d->version);
		sanitize(&d->repository);
		sanitize(&d->condition);
		for (j = 0; j < d->ntags; j++)
			sanitize(&d->tags[j]);
		if (d->alias[0] && !valid_alias(d->alias))
			return op_err_set(err, -EINVAL, "validation: dependency \"%s\" has disallowed "
					  "characters in the alias", d->name);
		key = d->alias[0] ? d->alias : d->name;
		for (j = 0; j < i; j++) {
			const struct helm_dependency *o = &md->deps[j];

			if (streq(o->alias[0] ? o->alias : o->name, key))
				return op_err_set(err, -EINVAL, "validation: more than one dependency "
						  "with name or alias \"%s\"", key);
		}
	}
	return 0;
}

/* ---- JSON, as encoding/json writes chart.Metadata ---- */

static void add_str(cJSON *o, const char *k, const char *v)
{
	if (v && v[0])
		cJSON_AddStringToObject(o, k, v);
}

static void add_strv(cJSON *o, const char *k, char *const *v, size_t n)
{
	cJSON *a;
	size_t i;

	if (!v || n == 0)
		return;
	a = cJSON_AddArrayToObject(o, k);
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
}

cJSON *helm_metadata_json(const struct helm_metadata *md)
{
	cJSON *o = cJSON_CreateObject(), *a;
	size_t i;

	add_str(o, "name", md->name);
	add_str(o, "home", md->home);
	add_strv(o, "sources", md->sources, md->nsources);
	add_str(o, "version", md->version);
	add_str(o, "description", md->description);
	add_strv(o, "keywords", md->keywords, md->nkeywords);
	if (md->nmaintainers) {
		a = cJSON_AddArrayToObject(o, "maintainers");
		for (i = 0; i < md->nmaintainers; i++) {
			cJSON *m = cJSON_CreateObject();

			add_str(m, "name", md->maintainers[i].name);
			add_str(m, "email", md->maintainers[i].email);
			add_str(m, "url", md->maintainers[i].url);
			cJSON_AddItemToArray(a, m);
		}
	}
	add_str(o, "icon", md->icon);
	add_str(o, "apiVersion", md->api_version);
	add_str(o, "condition", md->condition);
	add_str(o, "tags", md->tags);
	add_str(o, "appVersion", md->app_version);
	if (md->deprecated)
		cJSON_AddTrueToObject(o, "deprecated");
	if (md->annotations && cJSON_GetArraySize(md->annotations) > 0)
		cJSON_AddItemToObject(o, "annotations", cJSON_Duplicate(md->annotations, 1));
	add_str(o, "kubeVersion", md->kube_version);
	if (md->ndeps) {
		a = cJSON_AddArrayToObject(o, "dependencies");
		for (i = 0; i < md->ndeps; i++) {
			const struct helm_dependency *d = &md->deps[i];
			cJSON *j = cJSON_CreateObject();

			cJSON_AddStringToObject(j, "name", d->name);
			add_str(j, "version", d->version);
			cJSON_AddStringToObject(j, "repository", d->repository);
			add_str(j, "condition", d->condition);
			add_strv(j, "tags", d->tags, d->ntags);
			if (d->enabled)
				cJSON_AddTrueToObject(j, "enabled");
			if (d->import_values && cJSON_GetArraySize(d->import_values) > 0)
				cJSON_AddItemToObject(j, "import-values",
						      cJSON_Duplicate(d->import_values, 1));
			add_str(j, "alias", d->alias);
			cJSON_AddItemToArray(a, j);
		}
	}
	add_str(o, "type", md->type);
	return o;
}
