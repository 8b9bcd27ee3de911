/*
 * ks_build.c: a Kustomization's manifests (see ks_build.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apply/envsubst.h"
#include "base/alloc.h"
#include "base/buf.h"
#include "base/path.h"
#include "base/str.h"
#include "ks_build.h"
#include "kustomize/kustomize.h"
#include "yj/yj.h"
#include "base/banned.h"

#define MAX_DEPTH 64

struct walk {
	const struct ks_build_in *in;
	const char *root;
	unsigned files;
	unsigned long long bytes;
	unsigned max_files;
	unsigned long long max_bytes;
	cJSON *out;
	struct op_err *err;
};

static const char *const kfile_names[] = { "kustomization.yaml", "kustomization.yml",
					   "Kustomization" };

bool ks_cluster_scoped(const char *kind)
{
	static const char *const kinds[] = {
		"APIService", "CSIDriver", "CSINode", "CertificateSigningRequest", "ClusterRole",
		"ClusterRoleBinding", "ComponentStatus", "CustomResourceDefinition", "FlowSchema",
		"IngressClass", "MutatingWebhookConfiguration", "Namespace", "Node",
		"PersistentVolume", "PodSecurityPolicy", "PriorityClass",
		"PriorityLevelConfiguration", "RuntimeClass", "StorageClass",
		"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
		"ValidatingWebhookConfiguration", "VolumeAttachment",
	};
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (streq(kind, kinds[i]))
			return true;
	return false;
}

static bool has_kustomization(const char *dir)
{
	size_t i;

	for (i = 0; i < sizeof(kfile_names) / sizeof(kfile_names[0]); i++) {
		char *p = xasprintf("%s/%s", dir, kfile_names[i]);
		struct stat st;
		bool ok = lstat(p, &st) == 0 && S_ISREG(st.st_mode);

		free(p);
		if (ok)
			return true;
	}
	return false;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_file(struct walk *w, const char *abs, const char *rel, struct buf *out)
{
	struct stat st;
	ssize_t n;
	int fd;

	fd = open(abs, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return op_err_set(w->err, -e, "%s: cannot read: %s", rel, op_strerror(-e));
	}
	w->bytes += (unsigned long long)st.st_size;
	if (w->bytes > w->max_bytes) {
		close(fd);
		return op_err_set(w->err, -EFBIG, "%s: the manifests exceed %llu bytes", rel,
				  w->max_bytes);
	}
	buf_init(out, (size_t)st.st_size + 1);
	for (;;) {
		char chunk[65536];

		n = read(fd, chunk, sizeof(chunk));
		if (n <= 0)
			break;
		if (buf_add(out, chunk, (size_t)n) < 0) {
			n = -1;
			errno = EFBIG;
			break;
		}
	}
	close(fd);
	if (n < 0) {
		buf_release(out);
		return op_err_set(w->err, -errno, "%s: cannot read: %s", rel, op_strerror(errno));
	}
	return 0;
}

static void set_annotation(cJSON *obj, const char *k, const char *v)
{
	cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata"), *ann;

	if (!cJSON_IsObject(meta)) {
		cJSON_DeleteItemFromObjectCaseSensitive(obj, "metadata");
		meta = cJSON_AddObjectToObject(obj, "metadata");
	}
	ann = cJSON_GetObjectItemCaseSensitive(meta, "annotations");
	if (!cJSON_IsObject(ann)) {
		cJSON_DeleteItemFromObjectCaseSensitive(meta, "annotations");
		ann = cJSON_AddObjectToObject(meta, "annotations");
	}
	cJSON_DeleteItemFromObjectCaseSensitive(ann, k);
	cJSON_AddStringToObject(ann, k, v);
}

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
	cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	size_t i;

	for (i = 0; i < 2 && cJSON_IsObject(meta); i++) {
		const cJSON *want = cJSON_GetObjectItemCaseSensitive(cm, fields[i]), *kv;
		cJSON *have = cJSON_GetObjectItemCaseSensitive(meta, fields[i]);

		if (!cJSON_IsObject(want) || !want->child)
			continue;
		if (!cJSON_IsObject(have)) {
			cJSON_DeleteItemFromObjectCaseSensitive(meta, fields[i]);
			have = cJSON_AddObjectToObject(meta, fields[i]);
		}
		cJSON_ArrayForEach(kv, want)
		{
			cJSON_DeleteItemFromObjectCaseSensitive(have, kv->string);
			cJSON_AddItemToObject(have, kv->string, cJSON_Duplicate(kv, 1));
		}
	}
}

/*
 * The steps after the build, per object: commonMetadata, postBuild
 * substitution, targetNamespace (only when the build did not already
 * do it), the provenance annotations.  Takes `obj`.
 */
static int finish_object(struct walk *w, cJSON *obj, const char *where, bool target_ns)
{
	const char *av = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "apiVersion"));
	const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "kind"));
	int r;

	if (w->in->common_metadata)
		set_labels_annotations(obj, w->in->common_metadata);
	r = substitute(w, &obj, where);
	if (r < 0) {
		cJSON_Delete(obj);
		return r;
	}
	av = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "apiVersion"));
	kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "kind"));
	if (target_ns && w->in->target_ns && *w->in->target_ns && av && kind &&
	    (w->in->namespaced ? w->in->namespaced(av, kind, w->in->payload) :
				 !ks_cluster_scoped(kind))) {
		cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");

		cJSON_DeleteItemFromObjectCaseSensitive(meta, "namespace");
		cJSON_AddStringToObject(meta, "namespace", w->in->target_ns);
	}
	if (w->in->revision)
		set_annotation(obj, KS_ANN_REVISION, w->in->revision);
	set_annotation(obj, KS_ANN_PATH, where);
	cJSON_AddItemToArray(w->out, obj);
	return 0;
}

/* Check, transform and keep one object that came from `rel` at `line`. */
static int add_object(struct walk *w, cJSON *obj, const char *rel, unsigned line)
{
	char where[600];
	const char *av, *kind;
	int r;

	snprintf(where, sizeof(where), "%s:%u", rel, line);
	av = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "apiVersion"));
	kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "kind"));
	if (!av || !*av || !kind || !*kind) {
		cJSON_Delete(obj);
		return op_err_set(w->err, -EINVAL, "%s: not a Kubernetes object: missing %s", where,
				  !av || !*av ? "apiVersion" : "kind");
	}
	if (str_endswith(kind, "List") && cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(obj, "items"))) {
		cJSON *items = cJSON_DetachItemFromObjectCaseSensitive(obj, "items"), *it;

		cJSON_Delete(obj);
		r = 0;
		while (r == 0 && (it = cJSON_DetachItemFromArray(items, 0)))
			r = add_object(w, it, rel, line);
		cJSON_Delete(items);
		return r;
	}
	if (!yj_get_str(obj, "/metadata/name")) {
		cJSON_Delete(obj);
		return op_err_set(w->err, -EINVAL, "%s: %s has no metadata.name", where, kind);
	}
	return finish_object(w, obj, where, true);
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
 * A directory with a kustomization file, or any directory when the spec
 * has kustomize fields: lib/kustomize builds it as Flux's generator
 * would (the spec's fields merged into the kustomization, files loadable
 * from anywhere in the artifact), and says where each object came from.
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
	o.lim.max_files = w->max_files;
	o.lim.max_bytes = (size_t)w->max_bytes;
	o.load_anywhere = true;
	o.overlay = overlay;
	o.origin_annotation = KS_ANN_PATH;
	r = kz_build_opts(w->root, rel[0] ? rel : ".", &o, &list, w->err);
	cJSON_Delete(overlay);
	if (r < 0)
		return r;
	while (r == 0 && (obj = cJSON_DetachItemFromArray(list, 0))) {
		const char *origin = yj_get_str(obj, "/metadata/annotations/cflux.io~1source-path");
		char *where = xstrdup(origin ? origin : rel);

		r = finish_object(w, obj, where, false);
		free(where);
	}
	cJSON_Delete(list);
	return r;
}

static int load_file(struct walk *w, const char *abs, const char *rel)
{
	struct yj_limits lim = YJ_LIMITS_DEFAULT;
	struct op_err e = OP_ERR_INIT;
	struct yj_stream s = { 0 };
	struct buf data;
	size_t i;
	int r;

	if (++w->files > w->max_files)
		return op_err_set(w->err, -E2BIG, "%s: more than %u manifest files", rel,
				  w->max_files);
	r = read_file(w, abs, rel, &data);
	if (r < 0)
		return r;
	r = yj_parse_stream(data.buf ? data.buf : "", data.len, &lim, &s, &e);
	buf_release(&data);
	if (r < 0)
		return op_err_set(w->err, r, "%s: %s", rel, e.msg);
	for (i = 0; i < s.n && r == 0; i++) {
		cJSON *doc = s.docs[i];

		s.docs[i] = NULL;
		if (!doc || cJSON_IsNull(doc))
			continue;
		if (!cJSON_IsObject(doc)) {
			cJSON_Delete(doc);
			r = op_err_set(w->err, -EINVAL, "%s:%u: not a Kubernetes object", rel,
				       s.lines[i]);
			break;
		}
		r = add_object(w, doc, rel, s.lines[i]);
	}
	yj_stream_release(&s);
	return r;
}

static int walk_dir(struct walk *w, const char *abs, const char *rel, int depth)
{
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	int r = 0;
	DIR *d;

	if (depth > MAX_DEPTH)
		return op_err_set(w->err, -ELOOP, "%s: directories nested too deep", rel);
	if (has_kustomization(abs))
		return build_kustomize(w, rel);
	d = opendir(abs);
	if (!d)
		return op_err_set(w->err, -errno, "%s: cannot read directory: %s",
				  rel[0] ? rel : ".", op_strerror(errno));
	while ((de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			names = xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n && r == 0; i++) {
		char *cabs = xasprintf("%s/%s", abs, names[i]);
		char *crel = rel[0] ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
		struct stat st;

		if (lstat(cabs, &st) == 0) {
			if (S_ISDIR(st.st_mode))
				r = walk_dir(w, cabs, crel, depth + 1);
			else if (S_ISREG(st.st_mode) &&
				 (str_endswith(names[i], ".yaml") || str_endswith(names[i], ".yml")))
				r = load_file(w, cabs, crel);
		}
		free(cabs);
		free(crel);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}

int ks_build(const struct ks_build_in *in, cJSON **ret, struct op_err *reterr)
{
	struct walk w = {
		.in = in,
		.root = in->root,
		.max_files = in->max_files ? in->max_files : 10000,
		.max_bytes = in->max_bytes ? in->max_bytes : 256ull << 20,
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
	if (in->kustomize && cJSON_GetArraySize(in->kustomize) > 0)
		r = build_kustomize(&w, rel);
	else
		r = walk_dir(&w, dir, rel, 0);
	free(dir);
	free(rel);
	if (r < 0) {
		cJSON_Delete(w.out);
		return r;
	}
	*ret = w.out;
	return 0;
}
