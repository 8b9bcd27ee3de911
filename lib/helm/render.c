/*
 * render.c: a chart rendered as Helm's engine renders it (pkg/engine and
 * the install action of Helm v3.21), on lib/tmpl.
 *
 * DESIGN
 * helm_render() runs Helm's steps in Helm's order: the chart type and
 * missing dependencies are checked, the release name validated,
 * dependencies processed (deps.c) on a private node tree, values
 * coalesced and checked against values.schema.json, the chart's
 * kubeVersion checked, and then the engine:
 *  - every template of every chart (libraries: only "_" files) is named
 *    "<chart full path>/<file>", all are parsed into one namespace in
 *    Helm's order (by depth, then bytewise, reversed: so a define in the
 *    root chart wins over one in a subchart), and those whose basename
 *    does not start with "_" are executed in the same order;
 *  - each chart gets one context map (Chart, Capabilities, Files,
 *    Release, Subcharts, Values, and Template rewritten before each of its
 *    files, as Helm mutates the same map), shared by its templates, and a
 *    subchart's .Values is the very table under its name in the parent's
 *    values, so `set` in one template is seen by later ones, as in Go;
 *  - "<no value>" is removed from each file's output (and from tpl
 *    results), not from include results.
 * Then NOTES.txt files are taken out and the rest goes to manifest.c.
 *
 * Values are converted once from cJSON into the render's arena (one arena,
 * one step budget for the whole render, so limits hold across files).
 * Go's named types that templates see are tmpl_types here:
 * chartutil.Values, engine.files (.Files and its methods),
 * *chartutil.Capabilities with KubeVersion, VersionSet and BuildInfo, and
 * the anonymous struct { chart.Metadata; IsRoot bool } of .Chart.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "base/hmap.h"
#include "base/path.h"
#include "base/str.h"
#include "helm/internal.h"
#include "tmpl/tmpl.h"
#include "base/banned.h"

static const struct helm_limits default_limits = HELM_LIMITS_DEFAULT;

/*
 * What `helm template` reports without a cluster: the pinned helm v3.21.4
 * built here (test/cluster/build.sh) with Kubernetes 1.35 and Go 1.26.8,
 * and the API versions of its client-go scheme (k8s.io/client-go v0.36),
 * in the scheme's order.
 */
#define DEFAULT_KUBE_VERSION "v1.35.0"
#define HELM_VERSION "v3.21.4"
#define HELM_GO_VERSION "go1.26.8"

static const char *const default_api_versions[] = {
	"v1",
	"admissionregistration.k8s.io/v1",
	"admissionregistration.k8s.io/v1alpha1",
	"admissionregistration.k8s.io/v1beta1",
	"internal.apiserver.k8s.io/v1alpha1",
	"apps/v1",
	"apps/v1beta1",
	"apps/v1beta2",
	"authentication.k8s.io/v1",
	"authentication.k8s.io/v1alpha1",
	"authentication.k8s.io/v1beta1",
	"authorization.k8s.io/v1",
	"authorization.k8s.io/v1beta1",
	"autoscaling/v1",
	"autoscaling/v2",
	"batch/v1",
	"batch/v1beta1",
	"certificates.k8s.io/v1",
	"certificates.k8s.io/v1beta1",
	"certificates.k8s.io/v1alpha1",
	"coordination.k8s.io/v1alpha2",
	"coordination.k8s.io/v1beta1",
	"coordination.k8s.io/v1",
	"discovery.k8s.io/v1",
	"discovery.k8s.io/v1beta1",
	"events.k8s.io/v1",
	"events.k8s.io/v1beta1",
	"extensions/v1beta1",
	"flowcontrol.apiserver.k8s.io/v1",
	"flowcontrol.apiserver.k8s.io/v1beta1",
	"flowcontrol.apiserver.k8s.io/v1beta2",
	"flowcontrol.apiserver.k8s.io/v1beta3",
	"networking.k8s.io/v1",
	"networking.k8s.io/v1beta1",
	"node.k8s.io/v1",
	"node.k8s.io/v1alpha1",
	"node.k8s.io/v1beta1",
	"policy/v1",
	"policy/v1beta1",
	"rbac.authorization.k8s.io/v1",
	"rbac.authorization.k8s.io/v1beta1",
	"rbac.authorization.k8s.io/v1alpha1",
	"resource.k8s.io/v1",
	"resource.k8s.io/v1beta2",
	"resource.k8s.io/v1beta1",
	"resource.k8s.io/v1alpha3",
	"scheduling.k8s.io/v1alpha2",
	"scheduling.k8s.io/v1beta1",
	"scheduling.k8s.io/v1",
	"storage.k8s.io/v1beta1",
	"storage.k8s.io/v1",
	"storage.k8s.io/v1alpha1",
	"storagemigration.k8s.io/v1beta1",
	"apiextensions.k8s.io/v1beta1",
	"apiextensions.k8s.io/v1",
};

/* ---- the render's state, reachable from functions through the payload ---- */

struct render {
	struct tmpl_arena *arena;
	struct hmap included; /* include recursion counters: name -> (count + 1) */
	const struct helm_render_opts *o;
	struct op_err *err;
};

/* ---- values: cJSON -> template values ---- */

static const struct tmpl_type values_type;

static struct tmpl_val to_val(struct tmpl_arena *a, const cJSON *j)
{
	const cJSON *c;
	int64_t iv;

	if (!j || cJSON_IsNull(j))
		return tmpl_nil();
	if (cJSON_IsBool(j))
		return tmpl_bool(cJSON_IsTrue(j));
	if (helm_values_is_int64(j, &iv))
		return tmpl_int64(iv);
	if (cJSON_IsRaw(j))
		return tmpl_float(strtod(j->valuestring, NULL));
	if (cJSON_IsNumber(j))
		return tmpl_float(j->valuedouble);
	if (cJSON_IsString(j))
		return tmpl_str_ref(j->valuestring, strlen(j->valuestring));
	if (cJSON_IsArray(j)) {
		struct tmpl_list *l = tmpl_list_new(a, TMPL_NIL, 0, (size_t)cJSON_GetArraySize(j));

		cJSON_ArrayForEach(c, j)
			tmpl_list_push(a, l, to_val(a, c));
		return tmpl_list_val(l);
	}
	{
		struct tmpl_map *m = tmpl_map_new(a, TMPL_NIL);

		cJSON_ArrayForEach(c, j)
			tmpl_map_set(m, c->string, strlen(c->string), to_val(a, c));
		return tmpl_map_val(m);
	}
}

/* ---- chartutil.Values ---- */

static int values_yaml(struct tmpl_ctx *ctx, const struct tmpl_val *self,
		       const struct tmpl_val *args, size_t nargs, struct tmpl_val *ret)
{
	struct buf b = BUF_INIT(64u << 20);
	struct tmpl_val plain = *self;
	struct op_err e = OP_ERR_INIT;

	plain.type = NULL;
	if (tmpl_to_yaml(&plain, &b, &e) < 0) {
		buf_release(&b);
		return tmpl_ctx_errorf(ctx, "%s", e.msg);
	}
	*ret = tmpl_str_buf(tmpl_ctx_arena(ctx), &b);
	return 0;
}

static int values_asmap(struct tmpl_ctx *ctx, const struct tmpl_val *self,
			const struct tmpl_val *args, size_t nargs, struct tmpl_val *ret)
{
	*ret = *self;
	ret->type = NULL;
	if (!self->m || self->m->n == 0)
		*ret = tmpl_map_val(tmpl_map_new(tmpl_ctx_arena(ctx), TMPL_NIL));
	return 0;
}

/* Values.Table(path): the table at a dotted path, or an error. */
static int values_table(struct tmpl_ctx *ctx, const struct tmpl_val *self,
			const struct tmpl_val *args, size_t nargs, struct tmpl_val *ret)
{
	const char *p = args[0].s.p, *end = p + args[0].s.n;
	struct tmpl_val t = *self;

	for (;;) {
		const char *dot = memchr(p, '.', (size_t)(end - p));
		size_t n = dot ? (size_t)(dot - p) : (size_t)(end - p);
		struct tmpl_val *v = t.kind == TMPL_MAP ? tmpl_map_get(t.m, p, n) : NULL;

		if (!v || v->kind != TMPL_MAP)
			return tmpl_ctx_errorf(ctx, "no table named \"%.*s\"", (int)n, p);
		t = *v;
		if (!dot)
			break;
		p = dot + 1;
	}
	*ret = tmpl_named(t, &values_type);
	return 0;
}

static const struct tmpl_method values_methods[] = {
	{ "AsMap", "", values_asmap },
	{ "Table", "s", values_table },
	{ "YAML", "", values_yaml },
};

static const struct tmpl_type values_type = {
	.name = "chartutil.Values",
	.kind = "map",
	.methods = values_methods,
	.n_methods = ARRAY_SIZE(values_methods),
};

/* ---- .Files (engine.files: map[string][]byte) ---- */

static const struct tmpl_type files_type;

static struct tmpl_val *file_get(const struct tmpl_val *self, const struct tmpl_val *name)
{
	return self->m ? tmpl_map_get(self->m, name->s.p, name->s.n) : NULL;
}

static int files_get(struct tmpl_ctx *ctx, const struct tmpl_val *self,
		     const struct tmpl_val *args, size_t nargs, struct tmpl_val *ret)
{
	struct tmpl_val *v = file_get(self, &args[0]);

	*ret = v ? tmpl_str_ref(v->s.p, v->s.n) : tmpl_str_ref("", 0);
	return 0;
}

static int files_get_bytes(struct tmpl_ctx *ctx, const struct tmpl_val *self,
			   const struct tmpl_val *args, size_t nargs, struct tmpl_val *ret)
{
	struct tmpl_val *v = file_get(self, &args[0]);

	*ret = v ? *v : tmpl_bytes(tmpl_ctx_arena(ctx), "", 0);
	return 0;
}

static int files_glob(struct tmpl_ctx *ctx, const struct tmpl_val *self,
		      const struct tmpl_val *args, size_t nargs, struct tmpl_val *ret)
{
	struct helm__glob *g = NULL;
	struct tmpl_map *m = tmpl_map_new(tmpl_ctx_arena(ctx), TMPL_BYTES);
	size_t i;

	/* gobwas/glob: a pattern that does not compile matches everything ("**"). */
	if (helm__glob_compile(args[0].s.p, &g) < 0)
		g = NULL;
	for (i = 0; self->m && i < self->m->n; i++) {
		const struct tmpl_map_entry *e = &self->m->e[i];

		if (!g || helm__glob_match(g, e->key))
			tmpl_map_set(m, e->key, e->klen, e->v);
	}
	helm__glob_free(g);
	*ret = tmpl_named(tmpl_map_val(m), &files_type);
	return tmpl_ctx_steps(ctx, self->m ? self->m->n : 0);
}

static int files_lines(struct tmpl_ctx *ctx, const struct tmpl_val *self,
		       const struct tmpl_val *args, size_t nargs, struct tmpl_val *ret)
{
	struct tmpl_arena *a = tmpl_ctx_arena(ctx);
	struct tmpl_val *v = file_get(self, &args[0]);
	struct tmpl_list *l = tmpl_list_new(a, TMPL_STRING, 0, 0);
	const char *s, *end;

	*ret = tmpl_list_val(l);
	if (!v || v->s.n == 0)
		return 0;
	s = v->s.p;
	end = s + v->s.n;
	if (end[-1] == '\n')
		end--;
	for (;;) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));

		tmpl_list_push(a, l, tmpl_str(a, s, nl ? (size_t)(nl - s) : (size_t)(end - s)));
		if (!nl)
			break;
		s = nl + 1;
	}
	return tmpl_ctx_steps(ctx, l->n);
}

/* AsConfig/AsSecrets: base names to contents (or base64), through toYaml. */
static int files_as(struct tmpl_ctx *ctx, const struct tmpl_val *self, bool secrets,
		    struct tmpl_val *ret)
{
	struct tmpl_arena *a = tmpl_ctx_arena(ctx);
	struct tmpl_map *m = tmpl_map_new(a, TMPL_STRING);
	struct buf y = BUF_INIT(256u << 20);
	struct op_err e = OP_ERR_INIT;
	struct tmpl_val mv;
	size_t i;

	if (!self->m) {
		*ret = tmpl_str_ref("", 0);
		return 0;
	}
	for (i = 0; i < self->m->n; i++) {
		const struct tmpl_map_entry *en = &self->m->e[i];
		const char *base = strrchr(en->key, '/');
		struct tmpl_val v;

		base = base ? base + 1 : en->key;
		if (secrets) {
			char *b;

			if (tmpl_ctx_reserve(ctx, en->v.s.n / 3 * 4 + 8) < 0)
				return -ENOMEM;
			b = b64_encode(en->v.s.p, en->v.s.n);
			v = tmpl_strz(a, b);
			free(b);
		} else {
			v = tmpl_str_ref(en->v.s.p, en->v.s.n);
		}
		tmpl_map_set(m, base, strlen(base), v);
	}
	mv = tmpl_map_val(m);
	if (tmpl_to_yaml(&mv, &y, &e) < 0) {
		buf_release(&y);
		*ret = tmpl_str_ref("", 0);
		return 0;
	}
	if (y.len && y.buf[y.len - 1] == '\n')
		buf_truncate(&y, y.len - 1);
	*ret = tmpl_str_buf(a, &y);
	return 0;
}

static int files_as_config(struct tmpl_ctx *ctx, const struct tmpl_val *self,
			   const struct tmpl_val *args, size_t nargs, struct tmpl_val *ret)
{
	return files_as(ctx, self, false, ret);
}

static int files_as_secrets(struct tmpl_ctx *ctx, const struct tmpl_val *self,
			    const struct tmpl_val *args, size_t nargs, struct tmpl_val *ret)
{
	return files_as(ctx, self, true, ret);
}

static const struct tmpl_method files_methods[] = {
	{ "AsConfig", "", files_as_config },
	{ "AsSecrets", "", files_as_secrets },
	{ "Get", "s", files_get },
	{ "GetBytes", "s", files_get_bytes },
	{ "Glob", "s", files_glob },
	{ "Lines", "s", files_lines },
};

static const struct tmpl_type files_type = {
	.name = "engine.files",
	.kind = "map",
	.methods = files_methods,
	.n_methods = ARRAY_SIZE(files_methods),
};

/* ---- .Capabilities ---- */

struct caps {
	char version[64], major[24], minor[24];
	struct tmpl_val apis; /* VersionSet */
};

static int kv_string(const struct tmpl_val *self, struct buf *out)
{
	const struct caps *c = self->o;

	return buf_adds(out, c->version);
}

static int kv_method_string(struct tmpl_ctx *ctx, const struct tmpl_val *self,
			    const struct tmpl_val *args, size_t nargs, struct tmpl_val *ret)
{
	const struct caps *c = self->o;

	*ret = tmpl_str_ref(c->version, strlen(c->version));
	return 0;
}

static int kv_field(struct tmpl_ctx *ctx, const struct tmpl_val *self, const char *name,
		    struct tmpl_val *ret)
{
	const struct caps *c = self->o;
	const char *s;

	if (streq(name, "Version"))
		s = c->version;
	else if (streq(name, "Major"))
		s = c->major;
	else if (streq(name, "Minor"))
		s = c->minor;
	else
		return -ENOENT;
	*ret = tmpl_str_ref(s, strlen(s));
	return 0;
}

static cJSON *kv_json(const struct tmpl_val *self)
{
	const struct caps *c = self->o;
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "Version", c->version);
	cJSON_AddStringToObject(o, "Major", c->major);
	cJSON_AddStringToObject(o, "Minor", c->minor);
	return o;
}

static const struct tmpl_method kv_methods[] = {
	{ "GitVersion", "", kv_method_string },
	{ "String", "", kv_method_string },
};

static const struct tmpl_type kv_type = {
	.name = "chartutil.KubeVersion",
	.kind = "struct",
	.methods = kv_methods,
	.n_methods = ARRAY_SIZE(kv_methods),
	.field = kv_field,
	.string = kv_string,
	.to_json = kv_json,
};

static int vset_has(struct tmpl_ctx *ctx, const struct tmpl_val *self,
		    const struct tmpl_val *args, size_t nargs, struct tmpl_val *ret)
{
	size_t i;

	*ret = tmpl_bool(false);
	for (i = 0; self->l && i < self->l->n; i++) {
		const struct tmpl_val *v = &self->l->v[i];

		if (v->s.n == args[0].s.n && !memcmp(v->s.p, args[0].s.p, v->s.n)) {
			*ret = tmpl_bool(true);
			break;
		}
	}
	return 0;
}

static const struct tmpl_method vset_methods[] = {
	{ "Has", "s", vset_has },
};

static const struct tmpl_type vset_type = {
	.name = "chartutil.VersionSet",
	.kind = "slice",
	.methods = vset_methods,
	.n_methods = ARRAY_SIZE(vset_methods),
};

static int bi_field(struct tmpl_ctx *ctx, const struct tmpl_val *self, const char *name,
		    struct tmpl_val *ret)
{
	const char *s;

	if (streq(name, "Version"))
		s = HELM_VERSION;
	else if (streq(name, "GitCommit"))
		s = "";
	else if (streq(name, "GitTreeState"))
		s = "clean";
	else if (streq(name, "GoVersion"))
		s = HELM_GO_VERSION;
	else
		return -ENOENT;
	*ret = tmpl_str_ref(s, strlen(s));
	return 0;
}

static cJSON *bi_json(const struct tmpl_val *self)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "version", HELM_VERSION);
	cJSON_AddStringToObject(o, "git_tree_state", "clean");
	cJSON_AddStringToObject(o, "go_version", HELM_GO_VERSION);
	return o;
}

static int bi_gofmt(const struct tmpl_val *self, int plus, struct buf *out)
{
	return buf_adds(out, plus ? "{Version:" HELM_VERSION " GitCommit: GitTreeState:clean "
				    "GoVersion:" HELM_GO_VERSION "}" :
				    "{" HELM_VERSION "  clean " HELM_GO_VERSION "}");
}

static const struct tmpl_type bi_type = {
	.name = "version.BuildInfo",
	.kind = "struct",
	.field = bi_field,
	.gofmt = bi_gofmt,
	.to_json = bi_json,
};

static int caps_field(struct tmpl_ctx *ctx, const struct tmpl_val *self, const char *name,
		      struct tmpl_val *ret)
{
	struct caps *c = self->o;

	if (streq(name, "KubeVersion"))
		*ret = tmpl_obj(&kv_type, c);
	else if (streq(name, "APIVersions"))
		*ret = c->apis;
	else if (streq(name, "HelmVersion"))
		*ret = tmpl_obj(&bi_type, c);
	else
		return -ENOENT;
	return 0;
}

static cJSON *caps_json(const struct tmpl_val *self)
{
	struct caps *c = self->o;
	cJSON *o = cJSON_CreateObject(), *a;
	size_t i;

	cJSON_AddItemToObject(o, "KubeVersion", kv_json(self));
	a = cJSON_AddArrayToObject(o, "APIVersions");
	for (i = 0; c->apis.l && i < c->apis.l->n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(c->apis.l->v[i].s.p));
	cJSON_AddItemToObject(o, "HelmVersion", bi_json(self));
	return o;
}

static int caps_gofmt(const struct tmpl_val *self, int plus, struct buf *out)
{
	struct caps *c = self->o;
	size_t i;
	int r = buf_addf(out, plus ? "&{KubeVersion:{Version:%s Major:%s Minor:%s} APIVersions:[" :
				     "&{{%s %s %s} [",
			 c->version, c->major, c->minor);

	for (i = 0; r == 0 && c->apis.l && i < c->apis.l->n; i++)
		r = buf_addf(out, "%s%s", i ? " " : "", c->apis.l->v[i].s.p);
	if (r == 0)
		r = buf_adds(out, plus ? "] HelmVersion:" : "] ");
	if (r == 0)
		r = bi_gofmt(self, plus, out);
	return r ?: buf_addch(out, '}');
}

static const struct tmpl_type caps_type = {
	.name = "*chartutil.Capabilities",
	.kind = "ptr",
	.field = caps_field,
	.gofmt = caps_gofmt,
	.to_json = caps_json,
};

/* k8s.io/apimachinery version.ParseGeneric, as `--kube-version` reads it. */
int helm_kube_version_parse(const char *s, char ret[64], char major[24], char minor[24],
			    struct op_err *err)
{
	const char *p = s;
	char out[64];
	size_t o = 0;
	int parts = 0;

	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\v' || *p == '\f')
		p++;
	if (*p == 'v')
		p++;
	out[o++] = 'v';
	for (;;) {
		const char *d = p;
		uint64_t v = 0;

		while (*p >= '0' && *p <= '9') {
			if (v > (UINT64_MAX - 9) / 10)
				goto bad;
			v = v * 10 + (uint64_t)(*p - '0');
			p++;
		}
		if (p == d) {
			if (parts == 0)
				goto bad;
			p--; /* a trailing '.' belongs to the extra text */
			break;
		}
		if (parts == 0 && *d == '0' && p - d > 1)
			goto bad;
		if (o + 24 > sizeof(out))
			goto bad;
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%llu", parts ? "." : "",
				      (unsigned long long)v);
		if (parts == 0)
			snprintf(major, 24, "%llu", (unsigned long long)v);
		else if (parts == 1)
			snprintf(minor, 24, "%llu", (unsigned long long)v);
		parts++;
		if (*p != '.')
			break;
		p++;
	}
	if (parts < 2)
		goto bad;
	memcpy(ret, out, o);
	ret[o] = '\0';
	return 0;
bad:
	return op_err_set(err, -EINVAL, "invalid kube version '%s': could not parse \"%s\" as "
			  "version", s, s);
}

/* ---- .Chart: struct { chart.Metadata; IsRoot bool } ---- */

struct chart_obj {
	const struct helm_metadata *md;
	bool is_root;
	struct tmpl_val sources, keywords, maintainers, annotations, deps;
};

static struct tmpl_val str_list(struct tmpl_arena *a, char *const *v, size_t n)
{
	struct tmpl_list *l;
	size_t i;

	if (!v || n == 0)
		return tmpl_list_val(NULL);
	l = tmpl_list_new(a, TMPL_STRING, 0, n);
	for (i = 0; i < n; i++)
		tmpl_list_push(a, l, tmpl_str_ref(v[i], strlen(v[i])));
	return tmpl_list_val(l);
}

static int maint_field(struct tmpl_ctx *ctx, const struct tmpl_val *self, const char *name,
		       struct tmpl_val *ret)
{
	const struct helm_maintainer *m = self->o;
	const char *s;

	if (streq(name, "Name"))
		s = m->name;
	else if (streq(name, "Email"))
		s = m->email;
	else if (streq(name, "URL"))
		s = m->url;
	else
		return -ENOENT;
	*ret = tmpl_str_ref(s, strlen(s));
	return 0;
}

static cJSON *maint_json(const struct tmpl_val *self)
{
	const struct helm_maintainer *m = self->o;
	cJSON *o = cJSON_CreateObject();

	if (m->name[0])
		cJSON_AddStringToObject(o, "name", m->name);
	if (m->email[0])
		cJSON_AddStringToObject(o, "email", m->email);
	if (m->url[0])
		cJSON_AddStringToObject(o, "url", m->url);
	return o;
}

static const struct tmpl_type maint_type = {
	.name = "*chart.Maintainer",
	.kind = "ptr",
	.field = maint_field,
	.to_json = maint_json,
};

struct dep_obj {
	const struct helm_dependency *d;
	struct tmpl_val tags, import_values;
};

static int dep_field(struct tmpl_ctx *ctx, const struct tmpl_val *self, const char *name,
		     struct tmpl_val *ret)
{
	const struct dep_obj *o = self->o;
	const char *s;

	if (streq(name, "Tags")) {
		*ret = o->tags;
		return 0;
	}
	if (streq(name, "ImportValues")) {
		*ret = o->import_values;
		return 0;
	}
	if (streq(name, "Enabled")) {
		*ret = tmpl_bool(o->d->enabled);
		return 0;
	}
	if (streq(name, "Name"))
		s = o->d->name;
	else if (streq(name, "Version"))
		s = o->d->version;
	else if (streq(name, "Repository"))
		s = o->d->repository;
	else if (streq(name, "Condition"))
		s = o->d->condition;
	else if (streq(name, "Alias"))
		s = o->d->alias;
	else
		return -ENOENT;
	*ret = tmpl_str_ref(s, strlen(s));
	return 0;
}

static cJSON *dep_json(const struct tmpl_val *self)
{
	const struct dep_obj *o = self->o;
	struct helm_metadata md = { 0 };
	cJSON *all, *one;

	md.deps = (struct helm_dependency *)o->d;
	md.ndeps = 1;
	all = helm_metadata_json(&md);
	one = cJSON_DetachItemFromArray(cJSON_GetObjectItemCaseSensitive(all, "dependencies"), 0);
	cJSON_Delete(all);
	return one;
}

static const struct tmpl_type dep_type = {
	.name = "*chart.Dependency",
	.kind = "ptr",
	.field = dep_field,
	.to_json = dep_json,
};

static int chart_field(struct tmpl_ctx *ctx, const struct tmpl_val *self, const char *name,
		       struct tmpl_val *ret)
{
	const struct chart_obj *c = self->o;
	const struct helm_metadata *md = c->md;
	static const struct {
		const char *name;
		size_t off;
	} strs[] = {
		{ "Name", offsetof(struct helm_metadata, name) },
		{ "Home", offsetof(struct helm_metadata, home) },
		{ "Version", offsetof(struct helm_metadata, version) },
		{ "Description", offsetof(struct helm_metadata, description) },
		{ "Icon", offsetof(struct helm_metadata, icon) },
		{ "APIVersion", offsetof(struct helm_metadata, api_version) },
		{ "Condition", offsetof(struct helm_metadata, condition) },
		{ "Tags", offsetof(struct helm_metadata, tags) },
		{ "AppVersion", offsetof(struct helm_metadata, app_version) },
		{ "KubeVersion", offsetof(struct helm_metadata, kube_version) },
		{ "Type", offsetof(struct helm_metadata, type) },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(strs); i++) {
		if (streq(name, strs[i].name)) {
			const char *s = *(char *const *)((const char *)md + strs[i].off);

			*ret = tmpl_str_ref(s, strlen(s));
			return 0;
		}
	}
	if (streq(name, "Sources"))
		*ret = c->sources;
	else if (streq(name, "Keywords"))
		*ret = c->keywords;
	else if (streq(name, "Maintainers"))
		*ret = c->maintainers;
	else if (streq(name, "Annotations"))
		*ret = c->annotations;
	else if (streq(name, "Dependencies"))
		*ret = c->deps;
	else if (streq(name, "Deprecated"))
		*ret = tmpl_bool(md->deprecated);
	else if (streq(name, "IsRoot"))
		*ret = tmpl_bool(c->is_root);
	else if (streq(name, "Metadata"))
		return -ENOENT;
	else
		return -ENOENT;
	return 0;
}

static cJSON *chart_json(const struct tmpl_val *self)
{
	const struct chart_obj *c = self->o;
	cJSON *o = helm_metadata_json(c->md);

	cJSON_AddBoolToObject(o, "IsRoot", c->is_root);
	return o;
}

static const struct tmpl_type chart_type = {
	.name = "struct { chart.Metadata; IsRoot bool }",
	.kind = "struct",
	.field = chart_field,
	.to_json = chart_json,
};

static struct tmpl_val chart_val(struct tmpl_arena *a, const struct helm__node *n)
{
	struct chart_obj *c = tmpl_alloc(a, sizeof(*c));
	const struct helm_metadata *md = &n->md;
	size_t i;

	c->md = md;
	c->is_root = !n->parent;
	c->sources = str_list(a, md->sources, md->nsources);
	c->keywords = str_list(a, md->keywords, md->nkeywords);
	c->maintainers = tmpl_list_val(NULL);
	if (md->nmaintainers) {
		struct tmpl_list *l = tmpl_list_new(a, TMPL_NIL, 0, md->nmaintainers);

		for (i = 0; i < md->nmaintainers; i++)
			tmpl_list_push(a, l, tmpl_obj(&maint_type, &md->maintainers[i]));
		c->maintainers = tmpl_list_val(l);
	}
	c->annotations = tmpl_map_val(NULL);
	if (md->annotations) {
		struct tmpl_map *m = tmpl_map_new(a, TMPL_STRING);
		const cJSON *e;

		cJSON_ArrayForEach(e, md->annotations)
			tmpl_map_set(m, e->string, strlen(e->string),
				     tmpl_str_ref(e->valuestring, strlen(e->valuestring)));
		c->annotations = tmpl_map_val(m);
	}
	c->deps = tmpl_list_val(NULL);
	if (md->ndeps) {
		struct tmpl_list *l = tmpl_list_new(a, TMPL_NIL, 0, md->ndeps);

		for (i = 0; i < md->ndeps; i++) {
			struct dep_obj *d = tmpl_alloc(a, sizeof(*d));

			d->d = &md->deps[i];
			d->tags = str_list(a, md->deps[i].tags, md->deps[i].ntags);
			d->import_values = md->deps[i].import_values ?
						   to_val(a, md->deps[i].import_values) :
						   tmpl_list_val(NULL);
			tmpl_list_push(a, l, tmpl_obj(&dep_type, d));
		}
		c->deps = tmpl_list_val(l);
	}
	return tmpl_obj(&chart_type, c);
}

/* ---- Helm's functions ---- */

#define WARN_START "HELM_ERR_START"
#define WARN_END "HELM_ERR_END"
#define RECURSION_MAX 1000

/* An include counter: the name it counts lives in the arena with it. */
struct inc {
	unsigned long count;
	char name[];
};

static int fn_include(struct tmpl_ctx *ctx, const struct tmpl_val *args, size_t nargs,
		      struct tmpl_val *ret, void *payload)
{
	struct render *rd = tmpl_ctx_payload(ctx);
	_cleanup_free_ char *name = xstrndup(args[0].s.p, args[0].s.n);
	struct inc *c = hmap_get(&rd->included, name);
	int r;

	if (c && c->count > RECURSION_MAX)
		return tmpl_ctx_errorf(ctx, "rendering template has a nested reference name: %s: "
				       "unable to execute template", name);
	if (!c) {
		c = tmpl_alloc(rd->arena, sizeof(*c) + strlen(name) + 1);
		memcpy(c->name, name, strlen(name) + 1);
		hmap_put(&rd->included, c->name, c);
	}
	c->count++;
	r = tmpl_ctx_include(ctx, name, args[1], ret);
	c->count--;
	return r;
}

/* Remove every "<no value>" from the string `v`, in the arena. */
static struct tmpl_val strip_no_value(struct tmpl_arena *a, struct tmpl_val v)
{
	static const char nv[] = "<no value>";
	const char *p = v.s.p, *end = v.s.p + v.s.n, *hit;
	struct buf b = BUF_INIT((size_t)1 << 31);

	hit = memmem(p, v.s.n, nv, sizeof(nv) - 1);
	if (!hit)
		return v;
	while (hit) {
		buf_add(&b, p, (size_t)(hit - p));
		p = hit + sizeof(nv) - 1;
		hit = memmem(p, (size_t)(end - p), nv, sizeof(nv) - 1);
	}
	buf_add(&b, p, (size_t)(end - p));
	return tmpl_str_buf(a, &b);
}

/* The same in place, for a file's output (Helm's strings.ReplaceAll). */
static void strip_no_value_buf(struct buf *b)
{
	static const char nv[] = "<no value>";
	char *w, *r, *end = b->buf + b->len, *hit;

	hit = b->len ? memmem(b->buf, b->len, nv, sizeof(nv) - 1) : NULL;
	if (!hit)
		return;
	w = hit;
	r = hit;
	while (hit) {
		memmove(w, r, (size_t)(hit - r));
		w += hit - r;
		r = hit + sizeof(nv) - 1;
		hit = memmem(r, (size_t)(end - r), nv, sizeof(nv) - 1);
	}
	memmove(w, r, (size_t)(end - r));
	w += end - r;
	buf_truncate(b, (size_t)(w - b->buf));
}

static int fn_tpl(struct tmpl_ctx *ctx, const struct tmpl_val *args, size_t nargs,
		  struct tmpl_val *ret, void *payload)
{
	struct buf q = BUF_INIT(64u << 20);
	bool parse_failed = false;
	char *inner;
	int r = tmpl_ctx_tpl(ctx, args[0].s.p, args[0].s.n, args[1], ret, &parse_failed);

	if (r == 0) {
		*ret = strip_no_value(tmpl_ctx_arena(ctx), *ret);
		return 0;
	}
	tmpl_quote(&q, args[0].s.p, args[0].s.n);
	/* A copy: tmpl_ctx_fail() rewrites the buffer tmpl_ctx_message() points into. */
	inner = xstrdup(tmpl_ctx_message(ctx));
	if (parse_failed)
		r = tmpl_ctx_fail(ctx, r, "cannot parse template %s: %s", q.buf, inner);
	else
		r = tmpl_ctx_fail(ctx, r, "error during tpl function execution for %s: %s", q.buf,
				  inner);
	free(inner);
	buf_release(&q);
	return r;
}

static int fn_required(struct tmpl_ctx *ctx, const struct tmpl_val *args, size_t nargs,
		       struct tmpl_val *ret, void *payload)
{
	if (args[1].kind == TMPL_NIL || args[1].kind == TMPL_INVALID ||
	    (args[1].kind == TMPL_STRING && args[1].s.n == 0))
		return tmpl_ctx_errorf(ctx, WARN_START "%.*s" WARN_END, (int)args[0].s.n,
				       args[0].s.p);
	*ret = args[1];
	return 0;
}

static int fn_fail(struct tmpl_ctx *ctx, const struct tmpl_val *args, size_t nargs,
		   struct tmpl_val *ret, void *payload)
{
	return tmpl_ctx_errorf(ctx, WARN_START "%.*s" WARN_END, (int)args[0].s.n, args[0].s.p);
}

static int fn_lookup(struct tmpl_ctx *ctx, const struct tmpl_val *args, size_t nargs,
		     struct tmpl_val *ret, void *payload)
{
	struct render *rd = tmpl_ctx_payload(ctx);
	struct op_err e = OP_ERR_INIT;
	cJSON *obj = NULL;
	int r;

	if (!rd->o->lookup) {
		*ret = tmpl_map_val(tmpl_map_new(tmpl_ctx_arena(ctx), TMPL_NIL));
		return 0;
	}
	r = rd->o->lookup(args[0].s.p, args[1].s.p, args[2].s.p, args[3].s.p, &obj, &e,
			  rd->o->lookup_payload);
	if (r < 0)
		return tmpl_ctx_fail(ctx, r, "%s", e.msg);
	r = tmpl_from_json(tmpl_ctx_arena(ctx), obj, TMPL_JSON_INT64, ret);
	cJSON_Delete(obj);
	if (r < 0)
		return tmpl_ctx_fail(ctx, r, "lookup result nested too deeply");
	if (ret->kind != TMPL_MAP)
		*ret = tmpl_map_val(tmpl_map_new(tmpl_ctx_arena(ctx), TMPL_NIL));
	return 0;
}

static int fn_get_host_by_name(struct tmpl_ctx *ctx, const struct tmpl_val *args, size_t nargs,
			       struct tmpl_val *ret, void *payload)
{
	*ret = tmpl_str_ref("", 0);
	return 0;
}

static struct tmpl_funcs *helm_funcs(void)
{
	struct tmpl_funcs *f = tmpl_funcs_new();

	tmpl_funcs_add_sprig(f);
	tmpl_funcs_remove(f, "env");
	tmpl_funcs_remove(f, "expandenv");
	tmpl_funcs_add_data(f);
	tmpl_funcs_add(f, "include", "sv", fn_include, NULL);
	tmpl_funcs_add(f, "tpl", "sv", fn_tpl, NULL);
	tmpl_funcs_add(f, "required", "sv", fn_required, NULL);
	tmpl_funcs_add(f, "fail", "s", fn_fail, NULL);
	tmpl_funcs_add(f, "lookup", "ssss", fn_lookup, NULL);
	tmpl_funcs_add(f, "getHostByName", "s", fn_get_host_by_name, NULL);
	return f;
}

/* ---- error texts (engine.go cleanupParseError / cleanupExecError) ---- */

static char *parse_error_text(const char *file, const struct tmpl_error *e)
{
	const char *msg = e->msg ? e->msg : "parse error";
	const char *a = strstr(msg, ": "), *b, *last;

	if (!a)
		return xasprintf("parse error in (%s): %s", file, msg);
	b = strstr(a + 2, ": ");
	last = a;
	for (const char *p = a; (p = strstr(p + 2, ": ")) != NULL;)
		last = p;
	return xasprintf("parse error at (%.*s): %s", (int)((b ? b : msg + strlen(msg)) - (a + 2)),
			 a + 2, last + 2);
}

static char *exec_error_text(const char *file, const struct tmpl_error *e)
{
	const char *msg = e->msg ? e->msg : "execution error";
	const char *a, *b, *s, *t;

	if (e->kind != TMPL_ERR_EXEC)
		return xstrdup(msg);
	a = strstr(msg, ": ");
	b = a ? strstr(a + 2, ": ") : NULL;
	if (!b)
		return xasprintf("execution error in (%s): %s", file, msg);
	s = strstr(b + 2, WARN_START);
	t = NULL;
	if (s) {
		for (const char *p = s; (p = strstr(p, WARN_END)) != NULL; p++)
			t = p;
	}
	if (s && t)
		return xasprintf("execution error at (%.*s): %.*s", (int)(b - a - 2), a + 2,
				 (int)(t - s - strlen(WARN_START)), s + strlen(WARN_START));
	return xstrdup(msg);
}

/* ---- collecting templates ---- */

struct tpl {
	char *name;     /* "chart/templates/x.yaml" */
	const struct helm_file *file;
	struct tmpl_map *ctx; /* the chart's context map */
	char *base_path;      /* "chart/templates" */
};

struct tpls {
	struct tpl *v;
	size_t n, alloc;
};

static struct tmpl_val files_val(struct tmpl_arena *a, const struct helm_chart *c)
{
	struct tmpl_map *m = tmpl_map_new(a, TMPL_BYTES);
	size_t i;

	for (i = 0; i < c->nfiles; i++) {
		struct tmpl_val v = { .kind = TMPL_BYTES,
				      .s = { c->files[i].data, c->files[i].len } };

		tmpl_map_set(m, c->files[i].name, strlen(c->files[i].name), v);
	}
	return tmpl_named(tmpl_map_val(m), &files_type);
}

static bool is_library(const struct helm__node *n)
{
	return !strcasecmp(n->md.type, "library");
}

/*
 * recAllTpls(): the context map of chart `n` given its parent's, and its
 * templates (children first, as Helm; later names replace earlier ones).
 */
static struct tmpl_map *collect(struct tmpl_arena *a, const struct helm__node *n,
				struct tmpl_map *parent_ctx, struct tmpl_val release,
				struct tmpl_val caps, struct tmpl_val root_values, struct tpls *out)
{
	struct tmpl_map *ctx = tmpl_map_new(a, TMPL_NIL), *subs = tmpl_map_new(a, TMPL_NIL);
	_cleanup_free_ char *full = helm__node_path(n);
	struct tmpl_val values = tmpl_named(tmpl_map_val(tmpl_map_new(a, TMPL_NIL)), &values_type);
	size_t i, j;

	tmpl_map_set(ctx, "Chart", 5, chart_val(a, n));
	tmpl_map_set(ctx, "Files", 5, files_val(a, n->src));
	tmpl_map_set(ctx, "Release", 7, release);
	tmpl_map_set(ctx, "Capabilities", 12, caps);
	if (!parent_ctx) {
		values = root_values;
	} else {
		struct tmpl_val *pv = tmpl_map_get(parent_ctx, "Values", 6);
		struct tmpl_val *t = pv && pv->kind == TMPL_MAP && pv->m && !strchr(n->md.name, '.') ?
					     tmpl_map_get(pv->m, n->md.name, strlen(n->md.name)) :
					     NULL;

		if (t && t->kind == TMPL_MAP)
			values = tmpl_named(*t, &values_type);
	}
	tmpl_map_set(ctx, "Values", 6, values);
	tmpl_map_set(ctx, "Subcharts", 9, tmpl_map_val(subs));
	for (i = 0; i < n->ndeps; i++) {
		struct tmpl_map *sub = collect(a, n->deps[i], ctx, release, caps, root_values, out);

		tmpl_map_set(subs, n->deps[i]->md.name, strlen(n->deps[i]->md.name),
			     tmpl_map_val(sub));
	}
	for (i = 0; i < n->src->ntemplates; i++) {
		const struct helm_file *f = &n->src->templates[i];
		const char *base = strrchr(f->name, '/');
		_cleanup_free_ char *joined = xasprintf("%s/%s", full, f->name);
		char *name = path_clean(joined);

		base = base ? base + 1 : f->name;
		if (is_library(n) && base[0] != '_') {
			free(name);
			continue;
		}
		for (j = 0; j < out->n; j++)
			if (streq(out->v[j].name, name))
				break;
		if (j == out->n) {
			XGROW(out->v, out->n + 1, out->alloc);
			out->n++;
		} else {
			free(out->v[j].name);
			free(out->v[j].base_path);
		}
		out->v[j].name = name;
		out->v[j].file = f;
		out->v[j].ctx = ctx;
		out->v[j].base_path = xasprintf("%s/templates", full);
	}
	return ctx;
}

static size_t slashes(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '/';
	return n;
}

/* Helm's parse and execution order: deepest first, then reverse bytewise. */
static int cmp_tpl(const void *a, const void *b)
{
	const struct tpl *x = a, *y = b;
	size_t sx = slashes(x->name), sy = slashes(y->name);

	if (sx != sy)
		return sx < sy ? 1 : -1;
	return -strcmp(x->name, y->name);
}

static int cmp_rfile(const void *a, const void *b)
{
	return strcmp(((const struct helm__rfile *)a)->name, ((const struct helm__rfile *)b)->name);
}

/* CRDObjects(): the crds/ files (.yaml, .yml, .json) of the chart, then of its dependencies. */
static void collect_crds(const struct helm__node *n, struct helm__crd **v, size_t *nv,
			 size_t *alloc)
{
	_cleanup_free_ char *full = helm__node_path(n);
	size_t i;

	for (i = 0; i < n->src->nfiles; i++) {
		const struct helm_file *f = &n->src->files[i];
		const char *dot = strrchr(f->name, '.'), *slash = strrchr(f->name, '/');

		if (!str_startswith(f->name, "crds/") || !dot || (slash && dot < slash))
			continue;
		if (strcasecmp(dot, ".yaml") && strcasecmp(dot, ".yml") && strcasecmp(dot, ".json"))
			continue;
		XGROW(*v, *nv + 1, *alloc);
		{
			_cleanup_free_ char *joined = xasprintf("%s/%s", full, f->name);

			(*v)[*nv].path = path_clean(joined);
		}
		(*v)[*nv].data = f->data;
		(*v)[*nv].len = f->len;
		(*nv)++;
	}
	for (i = 0; i < n->ndeps; i++)
		collect_crds(n->deps[i], v, nv, alloc);
}

static bool valid_release_name(const char *s)
{
	size_t n = strlen(s), i;
	bool seg_start = true;

	if (n == 0 || n > 53)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];
		bool an = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (seg_start && !an)
			return false;
		if (c == '.') {
			if (s[i - 1] == '-')
				return false;
			seg_start = true;
			continue;
		}
		if (!an && c != '-')
			return false;
		seg_start = false;
	}
	return s[n - 1] != '-' && s[n - 1] != '.';
}

void helm_rendered_free(struct helm_rendered *r)
{
	size_t i;

	if (!r)
		return;
	free(r->manifest);
	for (i = 0; i < r->nhooks; i++)
		helm__hook_release(&r->hooks[i]);
	free(r->hooks);
	free(r->notes);
	free(r->crds);
	cJSON_Delete(r->chart);
	free(r);
}

void helm_error_release(struct helm_error *e)
{
	if (!e)
		return;
	free(e->msg);
	e->msg = NULL;
	e->rendering = false;
}

/* Fail with a message longer than op_err holds: keep it whole in `full`. */
static int fail_long(struct op_err *err, struct helm_error *full, int code, char *msg)
{
	op_err_set(err, code, "%s", msg);
	if (full) {
		free(full->msg);
		full->msg = msg;
	} else {
		free(msg);
	}
	return code;
}

static int run_engine(struct helm__node *root, const cJSON *vals, const struct helm_render_opts *o,
		      const struct helm_limits *lim, const char *kube_version, const char *major,
		      const char *minor, struct helm_rendered *out, struct helm_error *full,
		      struct op_err *err)
{
	struct render rd = { .o = o, .err = err };
	struct tmpl_funcs *funcs = helm_funcs();
	struct tmpl_set *set = tmpl_set_new(funcs, NULL);
	struct tpls tp = { 0 };
	struct helm__rfile *files = NULL;
	struct helm__crd *crds = NULL;
	size_t nfiles = 0, ncrds = 0, acrds = 0, used = 0, i;
	struct tmpl_budget budget = { .steps_left = lim->max_steps };
	struct tmpl_exec_opts xo = { .missingkey = TMPL_MISSINGKEY_ZERO,
				     .budget = &budget,
				     .max_depth = lim->max_exec_depth,
				     .max_output = lim->max_output_bytes,
				     .payload = &rd };
	struct tmpl_map *rel;
	struct tmpl_list *apis;
	struct caps *caps;
	struct buf notes = BUF_INIT(lim->max_output_bytes);
	_cleanup_free_ char *root_notes = xasprintf("%s/templates/NOTES.txt", root->md.name);
	int r = 0;

	rd.arena = tmpl_arena_new(lim->max_memory_bytes);
	hmap_init(&rd.included);
	xo.arena = rd.arena;

	rel = tmpl_map_new(rd.arena, TMPL_NIL);
	tmpl_map_set(rel, "Name", 4, tmpl_strz(rd.arena, o->release_name ? o->release_name :
									      "release-name"));
	tmpl_map_set(rel, "Namespace", 9, tmpl_strz(rd.arena, o->ns ? o->ns : "default"));
	tmpl_map_set(rel, "IsUpgrade", 9, tmpl_bool(o->is_upgrade));
	tmpl_map_set(rel, "IsInstall", 9, tmpl_bool(!o->is_upgrade));
	tmpl_map_set(rel, "Revision", 8, tmpl_int(o->revision ? o->revision : 1));
	tmpl_map_set(rel, "Service", 7, tmpl_str_ref("Helm", 4));

	caps = tmpl_alloc(rd.arena, sizeof(*caps));
	snprintf(caps->version, sizeof(caps->version), "%s", kube_version);
	snprintf(caps->major, sizeof(caps->major), "%s", major);
	snprintf(caps->minor, sizeof(caps->minor), "%s", minor);
	apis = tmpl_list_new(rd.arena, TMPL_STRING, 0, ARRAY_SIZE(default_api_versions));
	for (i = 0; i < ARRAY_SIZE(default_api_versions); i++)
		tmpl_list_push(rd.arena, apis,
			       tmpl_str_ref(default_api_versions[i], strlen(default_api_versions[i])));
	for (i = 0; i < o->n_api_versions; i++)
		tmpl_list_push(rd.arena, apis, tmpl_strz(rd.arena, o->api_versions[i]));
	caps->apis = tmpl_named(tmpl_list_val(apis), &vset_type);

	collect(rd.arena, root, NULL, tmpl_map_val(rel), tmpl_obj(&caps_type, caps),
		tmpl_named(to_val(rd.arena, vals), &values_type), &tp);
	if (tp.n)
		qsort(tp.v, tp.n, sizeof(*tp.v), cmp_tpl);

	for (i = 0; i < tp.n && r == 0; i++) {
		struct tmpl_error te = TMPL_ERROR_INIT;

		r = tmpl_set_parse(set, tp.v[i].name, tp.v[i].file->data, tp.v[i].file->len, &te);
		if (r < 0)
			r = fail_long(err, full, r, parse_error_text(tp.v[i].name, &te));
		tmpl_error_release(&te);
	}
	files = xnew0(struct helm__rfile, tp.n + 1);
	for (i = 0; i < tp.n && r == 0; i++) {
		const char *base = strrchr(tp.v[i].name, '/');
		struct tmpl_error te = TMPL_ERROR_INIT;
		struct tmpl_map *tv;
		struct buf b = BUF_INIT(lim->max_output_bytes - used);

		base = base ? base + 1 : tp.v[i].name;
		if (base[0] == '_')
			continue;
		tv = tmpl_map_new(rd.arena, TMPL_NIL);
		tmpl_map_set(tv, "Name", 4, tmpl_strz(rd.arena, tp.v[i].name));
		tmpl_map_set(tv, "BasePath", 8, tmpl_strz(rd.arena, tp.v[i].base_path));
		tmpl_map_set(tp.v[i].ctx, "Template", 8, tmpl_named(tmpl_map_val(tv), &values_type));
		xo.max_output = lim->max_output_bytes - used;
		r = tmpl_exec(set, tp.v[i].name, tmpl_map_val(tp.v[i].ctx), &xo, &b, &te);
		if (r < 0) {
			r = fail_long(err, full, r, exec_error_text(tp.v[i].name, &te));
			tmpl_error_release(&te);
			buf_release(&b);
			break;
		}
		tmpl_error_release(&te);
		strip_no_value_buf(&b);
		used += b.len;
		if (str_endswith(tp.v[i].name, "NOTES.txt")) {
			if (o->sub_notes || streq(tp.v[i].name, root_notes)) {
				if (notes.len)
					buf_addch(&notes, '\n');
				buf_add(&notes, b.buf, b.len);
			}
			buf_release(&b);
			continue;
		}
		files[nfiles].name = xstrdup(tp.v[i].name);
		files[nfiles].content = buf_detach(&b, &files[nfiles].len);
		nfiles++;
	}
	if (r == 0) {
		qsort(files, nfiles, sizeof(*files), cmp_rfile);
		if (o->include_crds || o->crds_apart)
			collect_crds(root, &crds, &ncrds, &acrds);
		r = helm__sort_manifests(files, nfiles, o->include_crds ? crds : NULL,
					 o->include_crds ? ncrds : 0, out, err);
		if (r == 0 && o->crds_apart && ncrds) {
			struct buf cb = BUF_INIT(SIZE_MAX);

			for (i = 0; i < ncrds; i++) {
				buf_addf(&cb, "---\n# Source: %s\n", crds[i].path);
				buf_add(&cb, crds[i].data, crds[i].len);
				buf_addch(&cb, '\n');
			}
			out->crds = buf_detach(&cb, NULL);
		}
		if (r < 0)
			fail_long(err, full, r, xstrdup(err ? err->msg : "render failed"));
	}
	if (r == 0)
		out->notes = buf_detach(&notes, NULL);
	buf_release(&notes);
	for (i = 0; i < nfiles; i++) {
		free(files[i].name);
		free(files[i].content);
	}
	free(files);
	for (i = 0; i < ncrds; i++)
		free(crds[i].path);
	free(crds);
	for (i = 0; i < tp.n; i++) {
		free(tp.v[i].name);
		free(tp.v[i].base_path);
	}
	free(tp.v);
	hmap_release(&rd.included);
	tmpl_set_free(set);
	tmpl_funcs_free(funcs);
	tmpl_arena_free(rd.arena);
	return r;
}

int helm_render(const struct helm_chart *c, const cJSON *values, const struct helm_render_opts *o,
		struct helm_rendered **ret, struct helm_error *full, struct op_err *err)
{
	static const struct helm_render_opts dflt_opts;
	const struct helm_limits *lim;
	struct helm_rendered *out = NULL;
	struct helm__node *root = NULL;
	cJSON *vals = NULL;
	char kv[64] = DEFAULT_KUBE_VERSION, major[24] = "1", minor[24] = "35";
	const char *name;
	size_t i, j;
	int r;

	if (!o)
		o = &dflt_opts;
	lim = o->lim ? o->lim : &default_limits;
	name = o->release_name ? o->release_name : "release-name";
	if (o->kube_version) {
		r = helm_kube_version_parse(o->kube_version, kv, major, minor, err);
		if (r < 0)
			return r;
	}
	if (c->md.type[0] && !streq(c->md.type, "application"))
		return op_err_set(err, -EINVAL, "%s charts are not installable", c->md.type);
	/* action.CheckDependencies(): every entry needs a loaded chart of that name. */
	if (c->md.has_deps && !o->skip_dependency_check) {
		struct buf missing = BUF_INIT(4096);

		for (j = 0; j < c->md.ndeps; j++) {
			for (i = 0; i < c->ndeps; i++)
				if (streq(c->deps[i]->md.name, c->md.deps[j].name))
					break;
			if (i == c->ndeps)
				buf_addf(&missing, "%s%s", missing.len ? ", " : "", c->md.deps[j].name);
		}
		if (missing.len) {
			r = op_err_set(err, -ENOENT, "An error occurred while checking for chart "
				       "dependencies. You may need to run `helm dependency build` to "
				       "fetch missing dependencies: found in Chart.yaml, but missing "
				       "in charts/ directory: %s", missing.buf);
			buf_release(&missing);
			return r;
		}
		buf_release(&missing);
	}
	if (!valid_release_name(name))
		return op_err_set(err, -EINVAL, "release name \"%s\": invalid release name, must "
				  "match regex ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*"
				  "[a-z0-9])?)*$ and the length must not be longer than 53", name);

	root = helm__node_new(c, NULL);
	r = helm__process_deps(root, values, err);
	if (r == 0)
		r = helm__coalesce(root, values, false, &vals, err);
	if (r == 0 && !o->skip_schema_validation)
		r = helm__validate_schemas(root, vals, full, err);
	if (r == 0 && full)
		full->rendering = true;
	if (r == 0 && root->md.kube_version[0] && !helm__compatible_range(root->md.kube_version, kv))
		r = fail_long(err, full, -EINVAL,
			      xasprintf("chart requires kubeVersion: %s which is incompatible with "
					"Kubernetes %s", root->md.kube_version, kv));
	if (r == 0) {
		out = xnew0(struct helm_rendered, 1);
		r = run_engine(root, vals, o, lim, kv, major, minor, out, full, err);
	}
	if (r < 0 && full && !full->msg)
		full->msg = xstrdup(err ? err->msg : "render failed");
	if (r == 0 && o->record)
		out->chart = helm__chart_json(root);
	cJSON_Delete(vals);
	helm__node_free(root);
	if (r < 0) {
		helm_rendered_free(out);
		return r;
	}
	*ret = out;
	return 0;
}
