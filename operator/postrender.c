/*
 * postrender.c: helm-controller's post-renderers on lib/kustomize (see
 * postrender.h).
 *
 * Each step writes the manifest and a kustomization to a scratch
 * directory and builds it as helm-controller's in-memory kustomize does
 * (load restrictions off, plugins off, and no reordering: sortOptions
 * fifo), then prints the objects as kustomize does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/path.h"
#include "base/str.h"
#include "kustomize/kustomize.h"
#include "postrender.h"
#include "yj/yj.h"
#include "base/banned.h"

#define KZ_FILE "kustomization.yaml"
#define INPUT "helm-output.yaml"

/* ---- the digests ---- */

/* `s` as Go's encoding/json writes a string by default (HTML-safe). */
static void go_str(struct buf *b, const char *s)
{
	cJSON *v = cJSON_CreateString(s ? s : "");
	struct buf t = BUF_INIT(SIZE_MAX);

	yj_print_canonical(v, &t);
	yj_escape_html(t.buf ? t.buf : "\"\"", t.len, b);
	buf_release(&t);
	cJSON_Delete(v);
}

/* `"key":"value"` of a string member, if non-empty (omitempty) or `always`. */
static void go_member(struct buf *b, bool *first, const char *key, const cJSON *o, bool always)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));

	if (!always && (!v || !*v))
		return;
	buf_addf(b, "%s\"%s\":", *first ? "" : ",", key);
	go_str(b, v);
	*first = false;
}

/* A map[string]string, keys sorted as Go does. */
static void go_map(struct buf *b, const cJSON *m)
{
	struct buf t = BUF_INIT(SIZE_MAX);
	cJSON *c = cJSON_Duplicate(m, 1);

	yj_print_canonical(c, &t);
	yj_escape_html(t.buf, t.len, b);
	buf_release(&t);
	cJSON_Delete(c);
}

static void digest_of(const struct buf *b, char ret[72])
{
	memcpy(ret, "sha256:", 7);
	yj_sha256_hex(b->buf, b->len, ret + 7);
}

void postrender_digest(const cJSON *prs, char ret[72])
{
	static const char *const sel[] = { "group", "version", "kind", "namespace", "name",
					   "annotationSelector", "labelSelector" };
	static const char *const img[] = { "newName", "newTag", "digest" };
	struct buf b = BUF_INIT(SIZE_MAX);
	const cJSON *pr, *e;

	ret[0] = '\0';
	if (!cJSON_IsArray(prs))
		return;
	buf_adds(&b, "[");
	cJSON_ArrayForEach(pr, prs) {
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(pr, "kustomize");
		const cJSON *patches = cJSON_GetObjectItemCaseSensitive(k, "patches");
		const cJSON *images = cJSON_GetObjectItemCaseSensitive(k, "images");

		buf_adds(&b, pr == prs->child ? "{" : ",{");
		if (cJSON_IsObject(k)) {
			bool first = true;

			buf_adds(&b, "\"kustomize\":{");
			if (cJSON_GetArraySize(patches) > 0) {
				buf_adds(&b, "\"patches\":[");
				cJSON_ArrayForEach(e, patches) {
					const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "target");
					bool f = true;

					buf_adds(&b, e == patches->child ? "{" : ",{");
					go_member(&b, &f, "patch", e, true);
					if (cJSON_IsObject(t)) {
						bool ft = true;

						buf_adds(&b, ",\"target\":{");
						for (size_t i = 0; i < ARRAY_SIZE(sel); i++)
							go_member(&b, &ft, sel[i], t, false);
						buf_adds(&b, "}");
					}
					buf_adds(&b, "}");
				}
				buf_adds(&b, "]");
				first = false;
			}
			if (cJSON_GetArraySize(images) > 0) {
				buf_addf(&b, "%s\"images\":[", first ? "" : ",");
				cJSON_ArrayForEach(e, images) {
					bool f = true;

					buf_adds(&b, e == images->child ? "{" : ",{");
					go_member(&b, &f, "name", e, true);
					for (size_t i = 0; i < ARRAY_SIZE(img); i++)
						go_member(&b, &f, img[i], e, false);
					buf_adds(&b, "}");
				}
				buf_adds(&b, "]");
			}
			buf_adds(&b, "}");
		}
		buf_adds(&b, "}");
	}
	buf_adds(&b, "]\n");
	digest_of(&b, ret);
	buf_release(&b);
}

void postrender_metadata_digest(const cJSON *cm, char ret[72])
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(cm, "annotations");
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(cm, "labels");
	struct buf b = BUF_INIT(SIZE_MAX);

	ret[0] = '\0';
	if (!cJSON_IsObject(cm))
		return;
	buf_adds(&b, "{");
	if (cJSON_GetArraySize(a) > 0) {
		buf_adds(&b, "\"annotations\":");
		go_map(&b, a);
	}
	if (cJSON_GetArraySize(l) > 0) {
		buf_addf(&b, "%s\"labels\":", cJSON_GetArraySize(a) > 0 ? "," : "");
		go_map(&b, l);
	}
	buf_adds(&b, "}\n");
	digest_of(&b, ret);
	buf_release(&b);
}

/* ---- the steps ---- */

static int put(const char *dir, const char *name, const char *data, size_t len,
	       struct op_err *err)
{
	char *p = xasprintf("%s/%s", dir, name);
	int r;

	unlink(p); /* the step before left its own */
	r = path_write_file(p, data, len, 0600);

	free(p);
	if (r < 0)
		return op_err_set(err, r, "cannot write the post-renderer's %s", name);
	return 0;
}

static int put_json(const char *dir, const char *name, const cJSON *j, struct op_err *err)
{
	char *s = cJSON_PrintUnformatted(j);
	int r = put(dir, name, s, strlen(s), err);

	free(s);
	return r;
}

/* A builtin transformer config setting `pairs` at metadata/<field> only. */
static cJSON *meta_transformer(const char *kind, const char *name, const char *key,
			       const cJSON *pairs, const char *field)
{
	cJSON *t = cJSON_CreateObject(), *fs, *f;

	cJSON_AddStringToObject(t, "apiVersion", "builtin");
	cJSON_AddStringToObject(t, "kind", kind);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(t, "metadata"), "name", name);
	cJSON_AddItemToObject(t, key, cJSON_Duplicate(pairs, 1));
	fs = cJSON_AddArrayToObject(t, "fieldSpecs");
	f = cJSON_CreateObject();
	cJSON_AddStringToObject(f, "path", field);
	cJSON_AddTrueToObject(f, "create");
	cJSON_AddItemToArray(fs, f);
	return t;
}

/*
 * One kustomize build of `in` (the manifest so far) with the fields of
 * `kz` (resources and sortOptions added), printed into `out`.
 */
static int step(const char *dir, const struct buf *in, cJSON *kz, struct buf *out,
		struct op_err *err)
{
	struct kz_opts o = KZ_OPTS_INIT;
	cJSON *objs = NULL, *res = cJSON_CreateArray();
	int r;

	o.load_anywhere = true;
	cJSON_AddItemToArray(res, cJSON_CreateString(INPUT));
	cJSON_AddItemToObject(kz, "resources", res);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(kz, "sortOptions"), "order", "fifo");
	r = put(dir, INPUT, in->buf ? in->buf : "", in->len, err);
	if (r == 0)
		r = put_json(dir, KZ_FILE, kz, err);
	if (r == 0)
		r = kz_build_opts(dir, ".", &o, &objs, err);
	if (r == 0) {
		r = kz_emit(objs, out);
		if (r < 0)
			op_err_set(err, r, "the post-rendered manifest is too large");
	}
	cJSON_Delete(objs);
	return r;
}

/* Whether `m` holds an object: a line that starts a mapping key at column 0. */
static bool has_objects(const char *m, size_t n)
{
	const char *p = m, *end = m + n;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (len && p[0] != '#' && p[0] != ' ' && p[0] != '-' && p[0] != '\t' &&
		    !(len >= 3 && !memcmp(p, "---", 3)))
			return true;
		p += len + 1;
	}
	return false;
}

int postrender(const struct postrender_in *in, struct buf *out, struct op_err *err)
{
	struct buf cur = BUF_INIT(SIZE_MAX), next = BUF_INIT(SIZE_MAX);
	char *dir = NULL;
	const cJSON *pr;
	cJSON *kz, *tr, *labels;
	int r = 0, i = 0;

	if (!has_objects(in->manifest, in->len))
		return 0;
	dir = xasprintf("%s/cflux-postrender-XXXXXX", in->tmp_root);
	if (!mkdtemp(dir)) {
		r = -errno;
		free(dir);
		return op_err_set(err, r, "cannot make the post-renderer's directory under %s",
				  in->tmp_root);
	}
	buf_add(&cur, in->manifest, in->len);
	cJSON_ArrayForEach(pr, in->post_renderers) {
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(pr, "kustomize");

		i++;
		if (!cJSON_IsObject(k))
			continue;
		kz = cJSON_CreateObject();
		if (cJSON_GetObjectItemCaseSensitive(k, "patches"))
			cJSON_AddItemToObject(kz, "patches", cJSON_Duplicate(
				cJSON_GetObjectItemCaseSensitive(k, "patches"), 1));
		if (cJSON_GetObjectItemCaseSensitive(k, "images"))
			cJSON_AddItemToObject(kz, "images", cJSON_Duplicate(
				cJSON_GetObjectItemCaseSensitive(k, "images"), 1));
		buf_reset(&next);
		r = step(dir, &cur, kz, &next, err);
		cJSON_Delete(kz);
		if (r < 0) {
			char msg[sizeof(err->msg)];

			snprintf(msg, sizeof(msg), "%s", err->msg);
			op_err_set(err, r, "error while running post render on files: "
					   "spec.postRenderers[%d].kustomize: %s", i - 1, msg);
			goto out;
		}
		buf_reset(&cur);
		buf_add(&cur, next.buf ? next.buf : "", next.len);
	}
	/* commonMetadata's labels and annotations, then the origin labels over them */
	kz = cJSON_CreateObject();
	tr = cJSON_AddArrayToObject(kz, "transformers");
	if (cJSON_GetArraySize(yj_get(in->common_metadata, "/labels")) > 0) {
		cJSON *t = meta_transformer("LabelTransformer", "common-labels", "labels",
					    yj_get(in->common_metadata, "/labels"),
					    "metadata/labels");

		put_json(dir, "common-labels.yaml", t, err);
		cJSON_AddItemToArray(tr, cJSON_CreateString("common-labels.yaml"));
		cJSON_Delete(t);
	}
	if (cJSON_GetArraySize(yj_get(in->common_metadata, "/annotations")) > 0) {
		cJSON *t = meta_transformer("AnnotationsTransformer", "common-annotations",
					    "annotations",
					    yj_get(in->common_metadata, "/annotations"),
					    "metadata/annotations");

		put_json(dir, "common-annotations.yaml", t, err);
		cJSON_AddItemToArray(tr, cJSON_CreateString("common-annotations.yaml"));
		cJSON_Delete(t);
	}
	labels = cJSON_CreateObject();
	cJSON_AddStringToObject(labels, "helm.toolkit.fluxcd.io/name", in->name);
	cJSON_AddStringToObject(labels, "helm.toolkit.fluxcd.io/namespace", in->ns);
	{
		cJSON *t = meta_transformer("LabelTransformer", "origin-labels", "labels", labels,
					    "metadata/labels");

		r = put_json(dir, "origin-labels.yaml", t, err);
		cJSON_AddItemToArray(tr, cJSON_CreateString("origin-labels.yaml"));
		cJSON_Delete(t);
	}
	cJSON_Delete(labels);
	if (r == 0)
		r = step(dir, &cur, kz, out, err);
	cJSON_Delete(kz);
	if (r < 0) {
		char msg[sizeof(err->msg)];

		snprintf(msg, sizeof(msg), "%s", err->msg);
		op_err_set(err, r, "error while running post render on files: %s", msg);
	}
out:
	path_remove_all(dir);
	free(dir);
	buf_release(&cur);
	buf_release(&next);
	return r;
}
