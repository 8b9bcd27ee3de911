/*
 * generate.c: ConfigMap and Secret generators (configMapGenerator,
 * secretGenerator, and the ConfigMapGenerator / SecretGenerator plugin
 * configs of `generators`).
 *
 * DESIGN
 * A generator entry becomes one object: its keys from env files, then
 * literals, then files (kustomize's order), each key checked as
 * Kubernetes checks ConfigMap keys; Secret values and binary ConfigMap
 * values are base64, broken into lines of 70 characters once longer than
 * that, as kustomize writes them (so they print as literal blocks and
 * hash as kustomize hashes them).  Options (labels, annotations,
 * disableNameSuffixHash, immutable) are the entry's own, with the
 * kustomization's generatorOptions filling in what the entry leaves out.
 * The object is then absorbed into the resources: created, or merged into
 * (`behavior: merge`) or put in place of (`behavior: replace`) the one
 * object with its id, as kustomize's appendReplaceOrMerge does; any other
 * behavior is kustomize's "unspecified", which creates.
 */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "base/str.h"
#include "base/utf8.h"
#include "kustomize/build.h"
#include "kustomize/internal.h"
#include "yj/yj.h"
#include "base/banned.h"

/*
 * Whether a file's content can be a data value: valid UTF-8 as Go's
 * utf8.Valid, and, unlike Go, no NUL (our strings end at one), so such a
 * file goes to binaryData whole rather than cut short in data.
 */
static bool valid_utf8(const char *s, size_t n)
{
	return !memchr(s, 0, n) && utf8_valid(s, n);
}

struct gen {
	struct kz_target *kt;
	bool secret;
	cJSON *data, *bin; /* data (strings), binaryData */
	const char *what;  /* "configMapGenerator" */
	const char *name;
};

/*
 * kustomize's encodeBase64: one line when shorter than 70 characters, else
 * lines of 70, each ending in a newline (so the value ends in one too).
 */
static char *b64_lines(const char *val, size_t n)
{
	char *flat = b64_encode(val, n), *out;
	size_t fl = strlen(flat), w = 0;

	if (fl < 70)
		return flat;
	out = xmalloc(fl + fl / 70 + 2);
	for (size_t i = 0; i < fl; i += 70) {
		size_t k = fl - i < 70 ? fl - i : 70;

		memcpy(out + w, flat + i, k);
		w += k;
		out[w++] = '\n';
	}
	out[w] = '\0';
	free(flat);
	return out;
}

/* Whether every character of k is one of [-._a-zA-Z0-9]. */
static bool key_chars(const char *k)
{
	for (const char *p = k; *p; p++)
		if (!(*p == '-' || *p == '.' || *p == '_' || (*p >= 'a' && *p <= 'z') ||
		      (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
			return false;
	return true;
}

/* Kubernetes' IsConfigMapKey: [-._a-zA-Z0-9]+, at most 253, not "." or "..". */
static bool valid_key(const char *k)
{
	size_t n = strlen(k);

	return n > 0 && n <= 253 && !streq(k, ".") && !streq(k, "..") && key_chars(k);
}

static int gen_put(struct gen *g, const char *key, const char *val, size_t n, struct op_err *err)
{
	cJSON *dst;
	char *v;

	if (!*key)
		return op_err_set(err, -EINVAL, "%s: %s '%s': empty key", g->kt->kfile, g->what,
				  g->name);
	if (!valid_key(key))
		return op_err_set(err, -EINVAL,
				  "%s: %s '%s': \"%s\" is not a valid key name: a valid config key "
				  "must consist of alphanumeric characters, '-', '_' or '.'",
				  g->kt->kfile, g->what, g->name, key);
	if (cJSON_GetObjectItemCaseSensitive(g->data, key) ||
	    cJSON_GetObjectItemCaseSensitive(g->bin, key))
		return op_err_set(err, -EINVAL,
				  "%s: %s '%s': cannot add key '%s', another key by that name "
				  "already exists",
				  g->kt->kfile, g->what, g->name, key);
	if (g->secret) {
		v = b64_lines(val, n);
		dst = g->data;
	} else if (valid_utf8(val, n)) {
		v = xstrndup(val, n);
		dst = g->data;
	} else {
		v = b64_lines(val, n);
		dst = g->bin;
	}
	cJSON_AddItemToObject(dst, key, cJSON_CreateString(v));
	free(v);
	return 0;
}

/* Kubernetes' IsEnvVarName: [-._a-zA-Z][-._a-zA-Z0-9]*. */
static bool valid_env_name(const char *k)
{
	return *k && !(*k >= '0' && *k <= '9') && key_chars(k);
}

static int gen_env(struct gen *g, const char *file, struct op_err *err)
{
	char *data;
	size_t len;
	const char *p, *end;
	int r = kz__read(g->kt, file, &data, &len, NULL, err), line = 0;

	if (r < 0)
		return r;
	for (p = data; r == 0 && p < data + len; p = end + 1, line++) {
		const char *eol = memchr(p, '\n', (size_t)(data + len - p)), *q, *eq;
		size_t n;
		char *key;

		end = eol ? eol : data + len;
		n = (size_t)(end - p);
		if (n && p[n - 1] == '\r')
			n--;
		q = p;
		if (line == 0 && n >= 3 && memcmp(q, "\xef\xbb\xbf", 3) == 0)
			q += 3;
		while (q < p + n && (*q == ' ' || *q == '\t' || *q == '\v' || *q == '\f' ||
				     *q == '\r'))
			q++;
		if (q == p + n || *q == '#')
			continue;
		eq = memchr(q, '=', (size_t)(p + n - q));
		key = xstrndup(q, (size_t)((eq ? eq : p + n) - q));
		if (!valid_env_name(key)) {
			r = op_err_set(err, -EINVAL, "%s: env file '%s': invalid env var name '%s'",
				       g->kt->kfile, file, key);
		} else if (eq) {
			r = gen_put(g, key, eq + 1, (size_t)(p + n - eq - 1), err);
		} else {
			/*
			 * No "=": kustomize takes the value from its own
			 * environment.  The command line does so too; the
			 * operator must not hand out its environment, so
			 * there the value is empty.
			 */
			const char *env = g->kt->ctx->whole_fs ? getenv(key) : NULL;

			r = gen_put(g, key, env ? env : "", env ? strlen(env) : 0, err);
		}
		free(key);
	}
	free(data);
	return r;
}

static int gen_sources(struct gen *g, const cJSON *args, struct op_err *err)
{
	const cJSON *e;
	int r;

	cJSON_ArrayForEach(e, yj_get(args, "/envs")) {
		if (!cJSON_IsString(e))
			return op_err_set(err, -EINVAL, "%s: %s: envs must be strings", g->kt->kfile,
					  g->what);
		r = gen_env(g, e->valuestring, err);
		if (r < 0)
			return r;
	}
	if (cJSON_IsString(e = yj_get(args, "/env"))) {
		r = gen_env(g, e->valuestring, err);
		if (r < 0)
			return r;
	}
	cJSON_ArrayForEach(e, yj_get(args, "/literals")) {
		const char *s = cJSON_IsString(e) ? e->valuestring : "", *eq = strchr(s, '=');
		_cleanup_free_ char *key = NULL, *val = NULL;
		size_t vl;

		if (!eq || eq == s)
			return op_err_set(err, -EINVAL,
					  "%s: %s '%s': invalid literal source %s, expected "
					  "key=value",
					  g->kt->kfile, g->what, g->name, s);
		key = xstrndup(s, (size_t)(eq - s));
		val = xstrdup(eq + 1);
		vl = strlen(val);
		if (vl >= 2 && val[0] == val[vl - 1] && (val[0] == '"' || val[0] == '\'')) {
			memmove(val, val + 1, vl - 2);
			val[vl - 2] = '\0';
		}
		r = gen_put(g, key, val, strlen(val), err);
		if (r < 0)
			return r;
	}
	cJSON_ArrayForEach(e, yj_get(args, "/files")) {
		const char *s = cJSON_IsString(e) ? e->valuestring : "", *eq = strchr(s, '=');
		_cleanup_free_ char *key = NULL;
		const char *file = s;
		char *data;
		size_t len;

		if (eq) {
			if (eq == s || !eq[1] || strchr(eq + 1, '='))
				return op_err_set(err, -EINVAL, "%s: %s '%s': invalid file source '%s'",
						  g->kt->kfile, g->what, g->name, s);
			key = xstrndup(s, (size_t)(eq - s));
			file = eq + 1;
		} else {
			const char *slash = strrchr(s, '/');

			key = xstrdup(slash ? slash + 1 : s);
		}
		r = kz__read(g->kt, file, &data, &len, NULL, err);
		if (r < 0)
			return r;
		r = gen_put(g, key, data, len, err);
		free(data);
		if (r < 0)
			return r;
	}
	return 0;
}

/* A new map: the entries of a, then those of b over them. */
static cJSON *overlay(const cJSON *a, const cJSON *b)
{
	cJSON *m = cJSON_CreateObject();
	const cJSON *e;

	cJSON_ArrayForEach(e, a)
		cJSON_AddItemToObject(m, e->string, cJSON_Duplicate(e, 1));
	cJSON_ArrayForEach(e, b) {
		if (cJSON_GetObjectItemCaseSensitive(m, e->string))
			cJSON_ReplaceItemInObjectCaseSensitive(m, e->string, cJSON_Duplicate(e, 1));
		else
			cJSON_AddItemToObject(m, e->string, cJSON_Duplicate(e, 1));
	}
	return m;
}

/* Local generator options merged over the kustomization's generatorOptions. */
static void merge_map(cJSON *meta, const char *field, const cJSON *a, const cJSON *b)
{
	cJSON *m = overlay(a, b);

	if (m->child)
		cJSON_AddItemToObject(meta, field, m);
	else
		cJSON_Delete(m);
}

/*
 * kustomize's NewGenerationBehavior: "create", "merge", "replace", and
 * anything else (or nothing) is "unspecified", which creates.
 */
static void behavior_of(const cJSON *args, enum kz_behavior *ret, bool *ret_set)
{
	const char *b = kz__str(args, "/behavior");

	*ret = KZ_CREATE;
	*ret_set = true;
	if (streq(b, "merge"))
		*ret = KZ_MERGE;
	else if (streq(b, "replace"))
		*ret = KZ_REPLACE;
	else if (!streq(b, "create"))
		*ret_set = false;
}

static void merge_string_map(cJSON *obj, const char *ptr, const cJSON *old)
{
	cJSON *cur = yj_get(obj, ptr), *m = overlay(old, cur);

	if (m->child) {
		yj_set(obj, ptr, m);
	} else {
		cJSON_Delete(m);
		if (cur) {
			/* drop the empty map */
			cJSON *parent = ptr[1] == 'm' ? yj_get(obj, "/metadata") : obj;

			cJSON_DeleteItemFromObjectCaseSensitive(parent, strrchr(ptr, '/') + 1);
		}
	}
}

/* kustomize's appendReplaceOrMerge for one generated resource. */
static int absorb(struct kz_target *kt, struct kz_resmap *ra, struct kz_res *res,
		  struct op_err *err)
{
	long idx = -1;
	size_t nmatch = 0;

	const char *ens = kz__res_eff_ns(res);
	char g[256], v[64];

	kz__resmap_invalidate(ra); /* a merge or replace renames and frees */
	kz__gv(res->obj, g, sizeof(g), v, sizeof(v));
	for (size_t i = 0; i < ra->n; i++) {
		struct kz_res *o = ra->v[i];
		char og[256], ov[64];
		bool match;

		kz__gv(o->obj, og, sizeof(og), ov, sizeof(ov));
		if (!streq(og, g) || !streq(ov, v))
			continue;
		match = streq(kz__kind(o), kz__kind(res)) && streq(kz__name(o), kz__name(res)) &&
			streq(kz__res_eff_ns(o), ens);
		for (size_t j = 0; !match && j < o->nprev; j++)
			match = streq(o->prev[j].kind, kz__kind(res)) &&
				streq(o->prev[j].name, kz__name(res)) && streq(o->prev[j].ns, ens);
		if (match) {
			idx = (long)i;
			nmatch++;
		}
	}
	if (nmatch == 0) {
		if (res->behavior != KZ_CREATE) {
			int r = op_err_set(err, -EINVAL,
					   "%s: generator for '%s': id does not exist; cannot merge "
					   "or replace",
					   kt->kfile, kz__name(res));

			kz__res_free(res);
			return r;
		}
		kz__resmap_push(ra, res);
		return 0;
	}
	if (nmatch > 1 || res->behavior == KZ_CREATE) {
		int r = op_err_set(err, -EINVAL,
				   nmatch > 1 ? "%s: found multiple objects that could accept merge of '%s'"
					      : "%s: generator for '%s': id exists; behavior must be merge or replace",
				   kt->kfile, kz__name(res));

		kz__res_free(res);
		return r;
	} else {
		struct kz_res *old = ra->v[idx];

		merge_string_map(res->obj, "/metadata/labels", yj_get(old->obj, "/metadata/labels"));
		merge_string_map(res->obj, "/metadata/annotations",
				 yj_get(old->obj, "/metadata/annotations"));
		yj_set(res->obj, "/metadata/name", cJSON_CreateString(kz__name(old)));
		if (*kz__ns(old))
			yj_set(res->obj, "/metadata/namespace", cJSON_CreateString(kz__ns(old)));
		else
			cJSON_DeleteItemFromObjectCaseSensitive(yj_get(res->obj, "/metadata"),
								"namespace");
		if (res->behavior == KZ_MERGE) {
			merge_string_map(res->obj, "/data", yj_get(old->obj, "/data"));
			merge_string_map(res->obj, "/binaryData", yj_get(old->obj, "/binaryData"));
		}
		res->needs_hash = res->needs_hash && old->needs_hash;
		/* the old object's history (prefixes, earlier ids) carries over */
		{
			struct kz_res *keep = kz__res_copy(old);

			cJSON_Delete(keep->obj);
			keep->obj = TAKE_PTR(res->obj);
			/* the build annotations, behavior among them, are the old object's */
			keep->needs_hash = res->needs_hash;
			keep->generated = true;
			kz__res_free(res);
			kz__res_free(old);
			ra->v[idx] = keep;
		}
	}
	return 0;
}

int kz__generate(struct kz_target *kt, struct kz_resmap *ra, const cJSON *args, bool secret,
		 const cJSON *gopts, struct op_err *err)
{
	const char *field = secret ? "secretGenerator" : "configMapGenerator";
	struct gen g = { kt, secret, NULL, NULL, field, kz__str(args, "/name") };
	cJSON *obj, *meta;
	const cJSON *opts = yj_get(args, "/options");
	struct kz_res *res;
	enum kz_behavior beh;
	bool nohash, immutable, beh_set;
	int r = 0;

	if (!cJSON_IsObject(args))
		return op_err_set(err, -EINVAL, "%s: %s: entries must be maps", kt->kfile, field);
	behavior_of(args, &beh, &beh_set);
	if (!*g.name)
		return op_err_set(err, -EINVAL, "%s: %s: a %s must have a name", kt->kfile, field,
				  secret ? "secret" : "configmap");
	g.data = cJSON_CreateObject();
	g.bin = cJSON_CreateObject();
	r = gen_sources(&g, args, err);
	if (r < 0) {
		cJSON_Delete(g.data);
		cJSON_Delete(g.bin);
		return r;
	}
	obj = cJSON_CreateObject();
	meta = cJSON_CreateObject();
	cJSON_AddStringToObject(obj, "apiVersion", "v1");
	cJSON_AddStringToObject(obj, "kind", secret ? "Secret" : "ConfigMap");
	cJSON_AddStringToObject(meta, "name", g.name);
	if (*kz__str(args, "/namespace"))
		cJSON_AddStringToObject(meta, "namespace", kz__str(args, "/namespace"));
	merge_map(meta, "labels", yj_get(gopts, "/labels"), yj_get(opts, "/labels"));
	merge_map(meta, "annotations", yj_get(gopts, "/annotations"), yj_get(opts, "/annotations"));
	cJSON_AddItemToObject(obj, "metadata", meta);
	if (secret)
		cJSON_AddStringToObject(obj, "type",
					*kz__str(args, "/type") ? kz__str(args, "/type") : "Opaque");
	/* kustomize creates a Secret's data map even when it stays empty */
	if (g.data->child || secret)
		cJSON_AddItemToObject(obj, "data", g.data);
	else
		cJSON_Delete(g.data);
	if (g.bin->child)
		cJSON_AddItemToObject(obj, "binaryData", g.bin);
	else
		cJSON_Delete(g.bin);
	nohash = cJSON_IsTrue(yj_get(opts, "/disableNameSuffixHash")) ||
		 cJSON_IsTrue(yj_get(gopts, "/disableNameSuffixHash"));
	immutable = cJSON_IsTrue(yj_get(opts, "/immutable")) ||
		    cJSON_IsTrue(yj_get(gopts, "/immutable"));
	if (immutable)
		cJSON_AddBoolToObject(obj, "immutable", true);
	res = kz__res_new(obj, kt->kfile);
	res->generated = true;
	res->needs_hash = !nohash;
	res->behavior = beh;
	res->behavior_set = beh_set;
	return absorb(kt, ra, res, err);
}
