/*
 * flux.c: a Flux Kustomization's manifests from an extracted artifact
 * (kz_flux_build(), see kustomize.h): the build as Flux's generator sets
 * it up, then commonMetadata, post-build substitution and our provenance
 * annotations per object.
 *
 * DESIGN
 * Every directory goes through the one kustomize (build.c): one with a
 * kustomization file has the spec's fields merged in; one without gets
 * the kustomization Flux's generator would write.  So a plain directory
 * and an overlay follow the same rules (ordering, duplicate ids, List
 * objects), as they do in Flux.  The steps after the build work on each
 * object's JSON; substitution round-trips it through YAML text because
 * Flux substitutes on the text.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "base/buf.h"
#include "base/path.h"
#include "base/str.h"
#include "kustomize/envsubst.h"
#include "kustomize/kustomize.h"
#include "kustomize/sops.h"
#include "yj/yj.h"
#include "base/banned.h"

struct walk {
	const struct kz_flux_in *in;
	const char *root;
	cJSON *out;
	struct op_err *err;
};

static bool lookup(const char *name, const char **ret, void *payload)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive((const cJSON *)payload, name);

	if (!cJSON_IsString(v))
		return false;
	*ret = v->valuestring;
	return true;
}

static bool substitute_disabled(const cJSON *obj)
{
	const char *a = yj_get_str(obj, "/metadata/annotations/kustomize.toolkit.fluxcd.io~1substitute");
	const char *l = yj_get_str(obj, "/metadata/labels/kustomize.toolkit.fluxcd.io~1substitute");

	return (a && streq(a, "disabled")) || (l && streq(l, "disabled"));
}

/* postBuild substitution on the object's YAML text, as Flux does it. */
static int substitute(struct walk *w, cJSON **obj, const char *where)
{
	struct buf yaml = BUF_INIT(64u << 20), out = BUF_INIT(64u << 20);
	struct op_err e = OP_ERR_INIT;
	cJSON *parsed = NULL;
	int r;

	if (!w->in->vars || !cJSON_GetArraySize(w->in->vars) || substitute_disabled(*obj))
		return 0;
	r = yj_emit_yaml(*obj, &yaml);
	if (r == 0)
		r = envsubst(yaml.buf ? yaml.buf : "", lookup, (void *)w->in->vars, w->in->strict,
			     &out, &e);
	if (r == 0)
		r = yj_parse_one(out.buf ? out.buf : "", out.len, &parsed, &e);
	buf_release(&yaml);
	buf_release(&out);
	if (r < 0)
		return op_err_set(w->err, r, "%s: post-build substitution failed: %s", where,
				  e.msg[0] ? e.msg : op_strerror(r));
	if (!cJSON_IsObject(parsed)) {
		cJSON_Delete(parsed);
		return op_err_set(w->err, -EINVAL,
				  "%s: post-build substitution did not give an object", where);
	}
	cJSON_Delete(*obj);
	*obj = parsed;
	return 0;
}

static void set_labels_annotations(cJSON *obj, const cJSON *cm)
{
	static const char *const fields[] = { "labels", "annotations" };
	size_t i;

	for (i = 0; i < 2 && cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(obj, "metadata"));
	     i++) {
		const cJSON *kv;

		cJSON_ArrayForEach(kv, cJSON_GetObjectItemCaseSensitive(cm, fields[i]))
			if (cJSON_IsString(kv))
				yj_set_meta(obj, fields[i], kv->string, kv->valuestring);
	}
}

/* kustomize's resid.Gvk.String(): "Secret.v1.[noGrp]", "Deployment.v1.apps". */
static void gvk_string(const cJSON *obj, char *out, size_t n)
{
	const char *av = yj_get_str(obj, "/apiVersion"), *kind = yj_get_str(obj, "/kind");
	const char *slash = av ? strchr(av, '/') : NULL;

	if (slash)
		snprintf(out, n, "%s.%s.%.*s", kind, slash + 1, (int)(slash - av), av);
	else
		snprintf(out, n, "%s.%s.[noGrp]", kind, av);
}

/*
 * sops' FormatForPath, as kustomize-controller's formatForPath uses it
 * for the output of a Secret field: only the binary format (any key
 * without a .json/.yaml/.yml/.env/.ini ending, nor .dockerconfigjson)
 * is supported here.
 */
static bool binary_output(const char *key)
{
	static const char *const ends[] = { ".json", ".yaml", ".yml", ".env", ".ini",
					    ".dockerconfigjson" };
	size_t i;

	for (i = 0; i < sizeof(ends) / sizeof(ends[0]); i++)
		if (str_endswith(key, ends[i]))
			return false;
	return true;
}

/*
 * One Secret data value: 0 and *ret (new, base64) if it was a sops file
 * and is decrypted, 1 if it is not a sops file, or a negative errno with
 * the reason in `err`.  Flux recognises a sops file by marker bytes; the
 * JSON and binary ones ("mac": "ENC[) are a JSON document, the only
 * input we read.
 */
static int decrypt_field(const struct kz_flux_in *in, const char *key, const char *b64,
			 char **ret, char *err, size_t errlen)
{
	static const char *const others[] = { "sops_mac=ENC[", "[sops]", "mac: ENC[" };
	char *raw = NULL;
	size_t n = 0, i;
	cJSON *doc = NULL;
	const cJSON *data;
	int r = 1;

	if (b64_decode(b64, &raw, &n) < 0)
		return 1; /* Flux lets the apply report it */
	if (memmem(raw, n, "\"mac\": \"ENC[", 12)) {
		if (!binary_output(key)) {
			snprintf(err, errlen, "sops-encrypted Secret fields with a JSON, YAML, dotenv "
				 "or INI output format are not supported by cflux");
			r = -ENOTSUP;
			goto out;
		}
		doc = cJSON_ParseWithLength(raw, n);
		if (!cJSON_IsObject(doc)) {
			snprintf(err, errlen, "failed to load encrypted binary data: invalid JSON");
			r = -EINVAL;
			goto out;
		}
		r = sops_decrypt(doc, in->ids, 0, err, errlen);
		if (r < 0)
			goto out;
		data = cJSON_GetObjectItemCaseSensitive(doc, "data");
		if (!cJSON_IsString(data)) {
			snprintf(err, errlen, "failed to emit encrypted binary file as decrypted "
				 "binary: no binary data found in tree");
			r = -EINVAL;
			goto out;
		}
		*ret = b64_encode(data->valuestring, strlen(data->valuestring));
		r = 0;
		goto out;
	}
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		if (memmem(raw, n, others[i], strlen(others[i]))) {
			snprintf(err, errlen, "sops-encrypted dotenv, INI and YAML Secret fields are "
				 "not supported by cflux");
			r = -ENOTSUP;
			break;
		}
out:
	if (doc) {
		/* the plaintext is in the tree: wipe it before it is freed */
		data = cJSON_GetObjectItemCaseSensitive(doc, "data");
		if (cJSON_IsString(data))
			explicit_bzero(data->valuestring, strlen(data->valuestring));
		cJSON_Delete(doc);
	}
	explicit_bzero(raw, n);
	free(raw);
	return r;
}

/*
 * kustomize-controller's DecryptResource for a Secret that is not itself
 * a sops document: each data value that is a sops file (a
 * secretGenerator's file, say) is decrypted on its own.
 */
static int decrypt_secret_fields(struct walk *w, cJSON *obj)
{
	const char *ns = yj_get_str(obj, "/metadata/namespace");
	const char *name = yj_get_str(obj, "/metadata/name");
	cJSON *it;
	char gvk[160], err[256];

	cJSON_ArrayForEach(it, yj_get(obj, "/data"))
	{
		char *out = NULL;
		int r;

		if (!cJSON_IsString(it) || !it->string)
			continue;
		r = decrypt_field(w->in, it->string, it->valuestring, &out, err, sizeof(err));
		if (r == 1)
			continue;
		if (r < 0) {
			gvk_string(obj, gvk, sizeof(gvk));
			return op_err_set(w->err, r,
					  "decryption failed for '%s/%s': failed to decrypt and format "
					  "'%s/%s' Secret field '%s': %s",
					  gvk, name, ns ? ns : "", name, it->string, err);
		}
		cJSON_SetValuestring(it, out);
		free(out);
	}
	return 0;
}

/*
 * spec.decryption: decrypt a SOPS-encrypted object in place, as
 * kustomize-controller's DecryptResource does after the build.  Our
 * build adds the source-path annotation, which sops did not encrypt: it
 * is taken off for the decryption and put back by finish_object().
 * Messages follow Flux's wording and name the object, never a value.
 */
static int decrypt_object(struct walk *w, cJSON *obj)
{
	const char *ns = yj_get_str(obj, "/metadata/namespace");
	const char *name = yj_get_str(obj, "/metadata/name"), *kind = yj_get_str(obj, "/kind");
	cJSON *ann = yj_get(obj, "/metadata/annotations");
	char gvk[160], err[256];
	int r;

	if (!w->in->decrypt)
		return 0;
	if (!sops_is_encrypted(obj))
		return kind && streq(kind, "Secret") ? decrypt_secret_fields(w, obj) : 0;
	if (cJSON_IsObject(ann)) {
		cJSON_DeleteItemFromObjectCaseSensitive(ann, KZ_ANN_PATH);
		if (!ann->child)
			cJSON_DeleteItemFromObjectCaseSensitive(yj_get(obj, "/metadata"),
								"annotations");
	}
	r = sops_decrypt(obj, w->in->ids, 0, err, sizeof(err));
	if (r == 0)
		return 0;
	gvk_string(obj, gvk, sizeof(gvk));
	return op_err_set(w->err, r,
			  "decryption failed for '%s/%s': failed to decrypt and format '%s/%s' %s "
			  "data: %s",
			  gvk, name, ns ? ns : "", name, kind, err);
}

/*
 * The steps after the build, per object: commonMetadata, decryption,
 * postBuild substitution, the provenance annotations.  Takes `obj`.
 */
static int finish_object(struct walk *w, cJSON *obj, const char *where)
{
	const char *av = yj_get_str(obj, "/apiVersion"), *kind = yj_get_str(obj, "/kind");
	int r;

	/*
	 * kustomize passes these through; the apply would fail on them
	 * later, without saying where they came from.
	 */
	if (!av || !*av || !kind || !*kind || !yj_get_str(obj, "/metadata/name")) {
		r = op_err_set(w->err, -EINVAL, "%s: not a Kubernetes object: missing %s", where,
			       !av || !*av ? "apiVersion" : !kind || !*kind ? "kind" :
								     "metadata.name");
		cJSON_Delete(obj);
		return r;
	}
	if (w->in->common_metadata)
		set_labels_annotations(obj, w->in->common_metadata);
	r = decrypt_object(w, obj);
	if (r == 0)
		r = substitute(w, &obj, where);
	if (r < 0) {
		cJSON_Delete(obj);
		return r;
	}
	if (w->in->revision)
		yj_set_meta(obj, "annotations", KZ_ANN_REVISION, w->in->revision);
	yj_set_meta(obj, "annotations", KZ_ANN_PATH, where);
	cJSON_AddItemToArray(w->out, obj);
	return 0;
}

/* spec.ignoreMissingComponents: components whose directory is absent are left out. */
static void drop_missing_components(struct walk *w, const char *rel, cJSON *overlay)
{
	cJSON *list = cJSON_GetObjectItemCaseSensitive(overlay, "components");
	int i;

	for (i = cJSON_GetArraySize(list) - 1; i >= 0; i--) {
		const char *c = cJSON_GetStringValue(cJSON_GetArrayItem(list, i));
		struct op_err e = OP_ERR_INIT;
		char *p = NULL, *sub;
		struct stat st;
		bool present;

		if (!c)
			continue;
		p = rel[0] ? xasprintf("%s/%s", rel, c) : xstrdup(c);
		sub = path_clean(p); /* "app/../components/x" -> "components/x" */
		free(p);
		p = NULL;
		/* One that leaves the root stays, for the build to refuse. */
		present = str_startswith(sub, "..") ||
			  (path_join_safe(w->root, sub, &p, &e) == 0 && stat(p, &st) == 0);
		free(sub);
		free(p);
		if (!present)
			cJSON_DeleteItemFromArray(list, i);
	}
}

/*
 * Build `rel` as Flux's generator sets it up (the spec's fields merged
 * into the kustomization, or one generated for a plain directory; files
 * loadable from anywhere in the artifact), and say where each object
 * came from.
 */
static int build_kustomize(struct walk *w, const char *rel)
{
	struct kz_opts o = KZ_OPTS_INIT;
	cJSON *overlay, *list, *obj;
	int r;

	overlay = w->in->kustomize ? cJSON_Duplicate(w->in->kustomize, 1) : cJSON_CreateObject();
	if (w->in->ignore_missing_components)
		drop_missing_components(w, rel, overlay);
	if (w->in->target_ns && *w->in->target_ns) {
		cJSON_DeleteItemFromObjectCaseSensitive(overlay, "namespace");
		cJSON_AddStringToObject(overlay, "namespace", w->in->target_ns);
	}
	if (w->in->max_files)
		o.lim.max_files = w->in->max_files;
	if (w->in->max_bytes)
		o.lim.max_bytes = w->in->max_bytes;
	o.load_anywhere = true;
	o.fifo = true; /* Flux's krusty options ask for no order: kustomize's legacy sort is off */
	o.overlay = overlay;
	o.origin_annotation = KZ_ANN_PATH;
	o.openapi_builtins = true; /* fluxcd/pkg/kustomize preloads the builtin schema */
	r = kz_build_opts(w->root, rel[0] ? rel : ".", &o, &list, w->err);
	cJSON_Delete(overlay);
	if (r < 0)
		return r;
	while (r == 0 && (obj = cJSON_DetachItemFromArray(list, 0))) {
		const char *origin = yj_get_str(obj, "/metadata/annotations/cflux.io~1source-path");
		char *where = xstrdup(origin ? origin : rel);

		r = finish_object(w, obj, where);
		free(where);
	}
	cJSON_Delete(list);
	return r;
}

int kz_flux_build(const struct kz_flux_in *in, cJSON **ret, struct op_err *reterr)
{
	struct walk w = {
		.in = in,
		.root = in->root,
		.err = reterr,
	};
	const char *path = in->path ? in->path : "";
	char *dir = NULL, *rel;
	struct stat st;
	int r;

	while (str_startswith(path, "./"))
		path += 2;
	rel = path_clean(path);
	if (streq(rel, "."))
		rel[0] = '\0';
	r = path_join_safe(in->root, rel, &dir, reterr);
	if (r < 0) {
		op_err_prefix(reterr, "invalid kustomization path '%s'", in->path);
		free(rel);
		return r;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		r = op_err_set(reterr, -ENOENT, "kustomization path not found: '%s'",
			       in->path && *in->path ? in->path : ".");
		free(dir);
		free(rel);
		return r;
	}
	w.out = cJSON_CreateArray();
	r = build_kustomize(&w, rel);
	free(dir);
	free(rel);
	if (r < 0) {
		cJSON_Delete(w.out);
		return r;
	}
	*ret = w.out;
	return 0;
}

void kz_vars_add(cJSON *vars, const cJSON *data, bool b64)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, data)
	{
		char *v = NULL, *p, *q;
		size_t n;

		if (!cJSON_IsString(it))
			continue;
		if (b64) {
			if (b64_decode(it->valuestring, &v, &n) < 0)
				continue;
		} else {
			v = xstrdup(it->valuestring);
		}
		/* Flux drops newlines from values. */
		for (p = q = v; *p; p++)
			if (*p != '\n')
				*q++ = *p;
		*q = '\0';
		cJSON_DeleteItemFromObjectCaseSensitive(vars, it->string);
		cJSON_AddStringToObject(vars, it->string, v);
		free(v);
	}
}

void kz_flux_spec(const cJSON *spec, cJSON **ret_kustomize, cJSON **ret_common_metadata)
{
	static const char *const fields[] = { "namePrefix", "nameSuffix", "patches", "images",
					      "components" };
	const cJSON *v;

	*ret_kustomize = cJSON_CreateObject();
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		v = cJSON_GetObjectItemCaseSensitive(spec, fields[i]);
		if (v && !cJSON_IsNull(v))
			cJSON_AddItemToObject(*ret_kustomize, fields[i], cJSON_Duplicate(v, 1));
	}
	v = cJSON_GetObjectItemCaseSensitive(spec, "commonMetadata");
	*ret_common_metadata = cJSON_IsObject(v) ? cJSON_Duplicate(v, 1) : NULL;
}

/* Detach `key` from `parent` if there (NULL otherwise): to put back with put_back(). */
static cJSON *take(cJSON *parent, const char *key)
{
	return parent ? cJSON_DetachItemFromObjectCaseSensitive(parent, key) : NULL;
}

static void put_back(cJSON *parent, const char *key, cJSON *item)
{
	if (parent && item)
		cJSON_AddItemToObject(parent, key, item);
}

int kz_flux_digest(cJSON *objects, char ret[72])
{
	struct buf out = BUF_INIT(KZ_DIGEST_MAX_BYTES);
	cJSON *o;
	int r = 0;
	bool first = true;

	cJSON_ArrayForEach(o, objects) {
		cJSON *meta = cJSON_GetObjectItemCaseSensitive(o, "metadata");
		cJSON *ann = cJSON_GetObjectItemCaseSensitive(meta, "annotations");
		cJSON *rev = take(ann, KZ_ANN_REVISION), *path = take(ann, KZ_ANN_PATH);
		cJSON *empty = ann && !ann->child ? take(meta, "annotations") : NULL;

		if (!first)
			r = buf_adds(&out, "---\n");
		first = false;
		if (r == 0)
			r = yj_emit_yaml_go(o, &out);
		put_back(meta, "annotations", empty);
		put_back(ann, KZ_ANN_REVISION, rev);
		put_back(ann, KZ_ANN_PATH, path);
		if (r < 0)
			break;
	}
	if (r == 0) {
		memcpy(ret, "sha256:", 7);
		yj_sha256_hex(out.buf, out.len, ret + 7);
	}
	buf_release(&out);
	return r;
}
