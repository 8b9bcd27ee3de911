/*
 * build.c: kz_build(): loading kustomizations and accumulating resources.
 *
 * DESIGN
 * This follows kustomize's KustTarget.  Building a kustomization
 * ("accumulating" it) means: read its resources in order (a file adds its
 * objects, a directory is built recursively as a kustomization of its own
 * and adds the result), run its generators (ConfigMaps and Secrets, which
 * may also merge into or replace generated objects from bases), let each
 * component work on the same list as if its fields were ours, and then
 * run our own transformers on everything collected (transform.c).  Only
 * the top level then appends the content hashes to generated names, fixes
 * name references to renamed objects, and sorts.
 *
 * Paths: every kustomization directory is tracked relative to `root` in
 * cleaned form, so "../base" is resolved lexically and must stay inside
 * root; path_join_safe() then turns it into a file-system path, refusing
 * symlinks that leave root.  Files (resources, patches, generator inputs)
 * must in addition lie in or below the kustomization's own directory, as
 * kustomize's default LoadRestrictionsRootOnly demands (unless
 * kz_opts.load_anywhere); directories may be anywhere under root.
 *
 * Flux's generator (kz_opts.overlay) is one step of target_load() at the
 * top level: the kustomization file, or one generated from the directory,
 * gets the overlay's fields merged in before its fields are checked.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "base/path.h"
#include "base/str.h"
#include "kustomize/build.h"
#include "kustomize/internal.h"
#include "kustomize/kustomize.h"
#include "yj/yj.h"
#include "base/banned.h"

static const char *const kfile_names[] = { "kustomization.yaml", "kustomization.yml",
					   "Kustomization" };

static const char *const supported_fields[] = {
	"apiVersion", "kind", "metadata", "namePrefix", "nameSuffix", "namespace",
	"commonLabels", "labels", "commonAnnotations", "patchesStrategicMerge",
	"patchesJson6902", "patches", "images", "imageTags", "replicas", "sortOptions",
	"resources", "components", "bases", "configMapGenerator", "secretGenerator",
	"generatorOptions", "buildMetadata", "replacements", "crds",
};

static const char *const unsupported_fields[] = {
	"openapi", "vars", "helmGlobals", "helmCharts",
	"helmChartInflationGenerator", "configurations", "generators", "transformers",
	"validators",
};

static bool in(const char *s, const char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (streq(s, v[i]))
			return true;
	return false;
}

/* "dir/rel" cleaned; fails if it climbs out of root. */
static int resolve(const char *dir, const char *rel, char **ret, struct op_err *err)
{
	char *j, *c;

	if (rel[0] == '/')
		return op_err_set(err, -EPERM, "absolute path '%s' is not allowed", rel);
	j = streq(dir, ".") ? xstrdup(rel) : xasprintf("%s/%s", dir, rel);
	c = path_clean(j);
	free(j);
	if (streq(c, "..") || str_startswith(c, "../")) {
		int r = op_err_set(err, -EPERM, "path '%s' leaves the source root", rel);

		free(c);
		return r;
	}
	*ret = c;
	return 0;
}

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (streq(dir, "."))
		return true;
	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* The kind of file at root/rel: 'd', 'f', or 0 when absent. */
static int stat_rel(struct kz_ctx *ctx, const char *rel, char *kind, struct op_err *err)
{
	_cleanup_free_ char *abs = NULL;
	struct stat st;
	int r = path_join_safe(ctx->root, rel, &abs, err);

	if (r < 0)
		return r == -ELOOP ? op_err_set(err, -EPERM, "symlink '%s' leaves the source root",
						rel)
				   : r;
	*kind = 0;
	if (stat(abs, &st) == 0)
		*kind = S_ISDIR(st.st_mode) ? 'd' : 'f';
	return 0;
}

static int read_rel(struct kz_ctx *ctx, const char *rel, char **ret, size_t *ret_len,
		    struct op_err *err)
{
	_cleanup_free_ char *abs = NULL;
	struct stat st;
	char *data;
	size_t got = 0;
	int fd, r = path_join_safe(ctx->root, rel, &abs, err);

	if (r < 0)
		return r;
	if (++ctx->files > ctx->lim.max_files)
		return op_err_set(err, -E2BIG, "too many files read (limit %zu) at '%s'",
				  ctx->lim.max_files, rel);
	fd = open(abs, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return op_err_set(err, -errno, "cannot read '%s': %s", rel, op_strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return op_err_set(err, -EISDIR, "'%s' is not a regular file", rel);
	}
	if ((size_t)st.st_size > ctx->lim.max_bytes - ctx->bytes) {
		close(fd);
		return op_err_set(err, -EFBIG, "reading '%s' exceeds the limit of %zu bytes", rel,
				  ctx->lim.max_bytes);
	}
	data = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, data + got, (size_t)st.st_size - got);

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			break;
		}
		got += (size_t)n;
	}
	close(fd);
	data[got] = '\0';
	ctx->bytes += got;
	*ret = data;
	*ret_len = got;
	return 0;
}

/*
 * `crds` lists CRD files whose OpenAPI schemas kustomize reads for merge
 * keys and name references of custom resources; they add no objects.  We
 * read each (it must exist) and go on when its schema declares neither,
 * which leaves the output unchanged; otherwise we refuse rather than merge
 * those resources differently from kustomize.
 */
static int check_crds(struct kz_ctx *ctx, const cJSON *k, const char *dir, const char *kfile,
		      struct op_err *err)
{
	static const char *const marks[] = {
		"x-kubernetes-patch-merge-key", "x-kubernetes-patch-strategy",
		"x-kubernetes-object-ref-api-version", "x-kubernetes-object-ref-kind",
	};
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(k, "crds"), *it;

	cJSON_ArrayForEach(it, list) {
		_cleanup_free_ char *rel = NULL, *data = NULL;
		size_t len, i;
		int r;

		if (!cJSON_IsString(it))
			return op_err_set(err, -EINVAL, "%s: crds: entries must be file paths", kfile);
		r = resolve(dir, it->valuestring, &rel, err);
		if (r == 0)
			r = read_rel(ctx, rel, &data, &len, err);
		if (r < 0)
			return op_err_prefix(err, "%s: crds", kfile);
		{
			cJSON *defs = NULL;
			const cJSON *d;
			bool ok;

			/* A map of OpenAPI definitions, not a CRD manifest. */
			ok = yj_parse_one(data, len, &defs, err) == 0 && cJSON_IsObject(defs);
			if (ok)
				cJSON_ArrayForEach(d, defs)
					ok = ok && cJSON_IsObject(d);
			cJSON_Delete(defs);
			if (!ok)
				return op_err_set(err, -EINVAL, "%s: crds: '%s' is not a map of "
						  "OpenAPI definitions", kfile, rel);
		}
		for (i = 0; i < ARRAY_SIZE(marks); i++)
			if (memmem(data, len, marks[i], strlen(marks[i])))
				return op_err_set(err, -ENOTSUP, "%s: crds: '%s' declares %s, which "
						  "we do not read yet", kfile, rel, marks[i]);
	}
	return 0;
}


int kz__read(struct kz_target *kt, const char *rel, char **ret, size_t *ret_len, char **ret_path,
	     struct op_err *err)
{
	_cleanup_free_ char *p = NULL;
	int r = resolve(kt->dir, rel, &p, err);

	if (r < 0)
		return op_err_prefix(err, "%s", kt->kfile);
	if (!kt->ctx->load_anywhere && !under(p, kt->dir))
		return op_err_set(err, -EPERM, "%s: security; file '%s' is not in or below '%s'",
				  kt->kfile, rel, kt->dir);
	r = read_rel(kt->ctx, p, ret, ret_len, err);
	if (r < 0)
		return op_err_prefix(err, "%s", kt->kfile);
	if (ret_path)
		*ret_path = TAKE_PTR(p);
	return 0;
}

static void target_release(struct kz_target *kt)
{
	free(kt->dir);
	free(kt->kfile);
	cJSON_Delete(kt->k);
}

/* Check the types of the fields we read: a wrong type is kustomize's
 * "invalid Kustomization" error, never a silent default. */
static int check_types(struct kz_target *kt, struct op_err *err)
{
	static const char *const strs[] = { "namePrefix", "nameSuffix", "namespace" };
	static const char *const lists[] = { "resources", "components", "bases", "patches",
					     "patchesStrategicMerge", "patchesJson6902", "images",
					     "imageTags", "replicas", "labels", "configMapGenerator",
					     "secretGenerator", "replacements" };
	static const char *const maps[] = { "commonLabels", "commonAnnotations" };
	const cJSON *v, *e;

	for (size_t i = 0; i < ARRAY_SIZE(strs); i++) {
		v = cJSON_GetObjectItemCaseSensitive(kt->k, strs[i]);
		if (v && !cJSON_IsString(v) && !cJSON_IsNull(v))
			return op_err_set(err, -EINVAL, "%s: '%s' must be a string", kt->kfile,
					  strs[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
		v = cJSON_GetObjectItemCaseSensitive(kt->k, lists[i]);
		if (v && !cJSON_IsArray(v) && !cJSON_IsNull(v))
			return op_err_set(err, -EINVAL, "%s: '%s' must be a list", kt->kfile,
					  lists[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(maps); i++) {
		v = cJSON_GetObjectItemCaseSensitive(kt->k, maps[i]);
		if (v && !cJSON_IsObject(v) && !cJSON_IsNull(v))
			return op_err_set(err, -EINVAL, "%s: '%s' must be a map", kt->kfile,
					  maps[i]);
		cJSON_ArrayForEach(e, v) {
			if (!cJSON_IsString(e))
				return op_err_set(err, -EINVAL,
						  "%s: '%s': value of '%s' must be a string",
						  kt->kfile, maps[i], e->string);
		}
	}
	cJSON_ArrayForEach(v, yj_get(kt->k, "/images")) {
		static const char *const f[] = { "name", "newName", "newTag", "digest",
						 "tagSuffix" };

		for (size_t i = 0; i < ARRAY_SIZE(f); i++) {
			e = cJSON_GetObjectItemCaseSensitive(v, f[i]);
			if (e && !cJSON_IsString(e))
				return op_err_set(err, -EINVAL,
						  "%s: images: '%s' must be a string", kt->kfile,
						  f[i]);
		}
	}
	cJSON_ArrayForEach(v, yj_get(kt->k, "/labels")) {
		cJSON_ArrayForEach(e, yj_get(v, "/pairs")) {
			if (!cJSON_IsString(e))
				return op_err_set(err, -EINVAL,
						  "%s: labels: value of '%s' must be a string",
						  kt->kfile, e->string);
		}
		if (yj_get(v, "/fields"))
			return op_err_set(err, -ENOTSUP, "%s: labels: 'fields' is not supported",
					  kt->kfile);
	}
	return 0;
}

/* ---- Flux's generator (kz_opts.overlay) ---- */

static bool has_kfile(struct kz_ctx *ctx, const char *dir)
{
	struct op_err e = OP_ERR_INIT;

	for (size_t i = 0; i < ARRAY_SIZE(kfile_names); i++) {
		_cleanup_free_ char *p = streq(dir, ".") ? xstrdup(kfile_names[i])
							 : xasprintf("%s/%s", dir, kfile_names[i]);
		char kind_c;

		if (stat_rel(ctx, p, &kind_c, &e) == 0 && kind_c == 'f')
			return true;
	}
	return false;
}

/* Does the file hold a Kubernetes object (a document with apiVersion and kind)? */
static bool holds_objects(struct kz_ctx *ctx, const char *rel)
{
	struct yj_limits lim = YJ_LIMITS_DEFAULT;
	struct op_err e = OP_ERR_INIT;
	struct yj_stream s;
	char *data;
	size_t len;
	bool found = false;

	if (read_rel(ctx, rel, &data, &len, &e) < 0)
		return true; /* let the build report it */
	if (yj_parse_stream(data, len, &lim, &s, &e) == 0) {
		for (size_t i = 0; i < s.n && !found; i++)
			found = *kz__str(s.docs[i], "/apiVersion") && *kz__str(s.docs[i], "/kind");
		yj_stream_release(&s);
	} else {
		found = true; /* a broken file must fail the build, not vanish */
	}
	free(data);
	return found;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The resources of a generated kustomization for `dir` (relative to `top`). */
static int generate_resources(struct kz_ctx *ctx, const char *top, const char *dir,
			      unsigned depth, cJSON *out, struct op_err *err)
{
	_cleanup_free_ char *abs = NULL;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (depth > ctx->lim.max_depth)
		return op_err_set(err, -E2BIG, "'%s': directories nested deeper than %u", dir,
				  ctx->lim.max_depth);
	r = path_join_safe(ctx->root, dir, &abs, err);
	if (r < 0)
		return r;
	d = opendir(abs);
	if (!d)
		return op_err_set(err, -errno, "'%s': cannot read directory: %s", dir,
				  op_strerror(errno));
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			names = xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n && r == 0; i++) {
		_cleanup_free_ char *rel = streq(dir, ".") ? xstrdup(names[i])
							   : xasprintf("%s/%s", dir, names[i]);
		const char *from_top = rel + (streq(top, ".") ? 0 : strlen(top) + 1);
		char kind_c;

		r = stat_rel(ctx, rel, &kind_c, err);
		if (r < 0)
			break;
		if (kind_c == 'd') {
			if (has_kfile(ctx, rel))
				cJSON_AddItemToArray(out, cJSON_CreateString(from_top));
			else
				r = generate_resources(ctx, top, rel, depth + 1, out, err);
		} else if (kind_c == 'f' &&
			   (str_endswith(names[i], ".yaml") || str_endswith(names[i], ".yml")) &&
			   holds_objects(ctx, rel)) {
			cJSON_AddItemToArray(out, cJSON_CreateString(from_top));
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}

static void append_all(cJSON *k, const char *field, const cJSON *more)
{
	cJSON *list = cJSON_GetObjectItemCaseSensitive(k, field);
	const cJSON *it;

	if (!cJSON_IsArray(more) || !cJSON_GetArraySize(more))
		return;
	if (!cJSON_IsArray(list)) {
		cJSON_DeleteItemFromObjectCaseSensitive(k, field);
		list = cJSON_AddArrayToObject(k, field);
	}
	cJSON_ArrayForEach(it, more)
		cJSON_AddItemToArray(list, cJSON_Duplicate(it, 1));
}

static void merge_images(cJSON *k, const cJSON *more)
{
	cJSON *list = cJSON_GetObjectItemCaseSensitive(k, "images"), *have;
	const cJSON *img, *f;

	if (!cJSON_IsArray(more) || !cJSON_GetArraySize(more))
		return;
	if (!cJSON_IsArray(list)) {
		cJSON_DeleteItemFromObjectCaseSensitive(k, "images");
		list = cJSON_AddArrayToObject(k, "images");
	}
	cJSON_ArrayForEach(img, more)
	{
		const char *name = kz__str(img, "/name");
		bool merged = false;

		cJSON_ArrayForEach(have, list)
		{
			if (!streq(kz__str(have, "/name"), name))
				continue;
			cJSON_ArrayForEach(f, img)
			{
				cJSON_DeleteItemFromObjectCaseSensitive(have, f->string);
				cJSON_AddItemToObject(have, f->string, cJSON_Duplicate(f, 1));
			}
			merged = true;
		}
		if (!merged)
			cJSON_AddItemToArray(list, cJSON_Duplicate(img, 1));
	}
}

static void merge_overlay(cJSON *k, const cJSON *o)
{
	static const char *const replaced[] = { "namespace", "namePrefix", "nameSuffix" };
	static const char *const appended[] = { "patches", "patchesStrategicMerge",
						"patchesJson6902", "components" };

	for (size_t i = 0; i < ARRAY_SIZE(replaced); i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, replaced[i]);

		if (!cJSON_IsString(v) || !*v->valuestring)
			continue;
		cJSON_DeleteItemFromObjectCaseSensitive(k, replaced[i]);
		cJSON_AddStringToObject(k, replaced[i], v->valuestring);
	}
	for (size_t i = 0; i < ARRAY_SIZE(appended); i++)
		append_all(k, appended[i], cJSON_GetObjectItemCaseSensitive(o, appended[i]));
	merge_images(k, cJSON_GetObjectItemCaseSensitive(o, "images"));
}

static int target_load(struct kz_ctx *ctx, const char *dir, unsigned depth,
		       struct kz_target *kt, struct op_err *err)
{
	const char *found = NULL;
	char *data = NULL, *rel = NULL;
	size_t len;
	const cJSON *e, *av, *kind;
	int r;

	memset(kt, 0, sizeof(*kt));
	kt->ctx = ctx;
	kt->depth = depth;
	kt->dir = xstrdup(dir);
	if (depth > ctx->lim.max_depth)
		return op_err_set(err, -E2BIG, "'%s': kustomizations nested deeper than %u", dir,
				  ctx->lim.max_depth);
	for (size_t i = 0; i < ARRAY_SIZE(kfile_names); i++) {
		char kind_c;
		_cleanup_free_ char *p = streq(dir, ".") ? xstrdup(kfile_names[i])
							 : xasprintf("%s/%s", dir, kfile_names[i]);

		r = stat_rel(ctx, p, &kind_c, err);
		if (r < 0)
			return r;
		if (kind_c != 'f')
			continue;
		if (found)
			return op_err_set(err, -EINVAL, "found multiple kustomization files under: %s",
					  dir);
		found = kfile_names[i];
		free(rel);
		rel = TAKE_PTR(p);
	}
	if (!found && depth == 0 && ctx->overlay) {
		/* Flux's generated kustomization.yaml. */
		kt->kfile = streq(dir, ".") ? xstrdup("kustomization.yaml (generated)")
					    : xasprintf("%s/kustomization.yaml (generated)", dir);
		kt->k = cJSON_CreateObject();
		r = generate_resources(ctx, dir, dir, 0,
				       cJSON_AddArrayToObject(kt->k, "resources"), err);
		if (r < 0)
			return r;
		merge_overlay(kt->k, ctx->overlay);
		return check_types(kt, err);
	}
	if (!found)
		return op_err_set(err, -ENOENT,
				  "unable to find one of 'kustomization.yaml', 'kustomization.yml' or "
				  "'Kustomization' in directory '%s'",
				  dir);
	kt->kfile = rel;
	r = read_rel(ctx, rel, &data, &len, err);
	if (r < 0)
		return r;
	r = yj_parse_one(data, len, &kt->k, err);
	free(data);
	if (r < 0)
		return op_err_prefix(err, "invalid kustomization '%s'", rel);
	if (!cJSON_IsObject(kt->k))
		return op_err_set(err, -EINVAL, "invalid kustomization '%s': not a map", rel);
	cJSON_ArrayForEach(e, kt->k) {
		if (in(e->string, unsupported_fields, ARRAY_SIZE(unsupported_fields)))
			return op_err_set(err, -ENOTSUP, "%s: field '%s' is not supported", rel,
					  e->string);
		if (!in(e->string, supported_fields, ARRAY_SIZE(supported_fields)))
			return op_err_set(err, -EINVAL,
					  "invalid kustomization '%s': unknown field '%s'", rel,
					  e->string);
	}
	r = check_crds(ctx, kt->k, dir, rel, err);
	if (r < 0)
		return r;
	kind = cJSON_GetObjectItemCaseSensitive(kt->k, "kind");
	av = cJSON_GetObjectItemCaseSensitive(kt->k, "apiVersion");
	kt->component = kind && cJSON_IsString(kind) && streq(kind->valuestring, "Component");
	if (kind && (!cJSON_IsString(kind) || (!streq(kind->valuestring, "Kustomization") &&
					       !kt->component)))
		return op_err_set(err, -EINVAL, "%s: kind should be Kustomization or Component",
				  rel);
	if (av && (!cJSON_IsString(av) ||
		   !streq(av->valuestring, kt->component ? "kustomize.config.k8s.io/v1alpha1"
							 : "kustomize.config.k8s.io/v1beta1")))
		return op_err_set(err, -EINVAL, "%s: apiVersion for %s should be %s", rel,
				  kt->component ? "Component" : "Kustomization",
				  kt->component ? "kustomize.config.k8s.io/v1alpha1"
						: "kustomize.config.k8s.io/v1beta1");
	if (kt->k->child == NULL ||
	    (cJSON_GetArraySize(kt->k) == (kind ? 1 : 0) + (av ? 1 : 0)))
		return op_err_set(err, -EINVAL, "%s: kustomization.yaml is empty", rel);
	if (depth == 0 && ctx->overlay)
		merge_overlay(kt->k, ctx->overlay);
	return check_types(kt, err);
}

static bool is_remote(const char *s)
{
	return strstr(s, "://") || str_startswith(s, "git@") || str_startswith(s, "github.com/") ||
	       str_startswith(s, "gitlab.com/") || str_startswith(s, "bitbucket.org/");
}

/* ---- resources ---- */

static int add_object(cJSON *obj, const char *origin, struct kz_resmap *out, struct op_err *err)
{
	const cJSON *items;

	if (!cJSON_IsObject(obj)) {
		cJSON_Delete(obj);
		return op_err_set(err, -EINVAL, "%s: a resource must be a map", origin);
	}
	items = cJSON_GetObjectItemCaseSensitive(obj, "items");
	if (str_endswith(kz__str(obj, "/kind"), "List") && cJSON_IsArray(items)) {
		cJSON *it;
		int r;

		while ((it = cJSON_DetachItemFromArray((cJSON *)items, 0))) {
			r = add_object(it, origin, out, err);
			if (r < 0) {
				cJSON_Delete(obj);
				return r;
			}
		}
		cJSON_Delete(obj);
		return 0;
	}
	if (!*kz__str(obj, "/kind")) {
		cJSON_Delete(obj);
		return op_err_set(err, -EINVAL, "%s: missing Resource metadata: kind", origin);
	}
	if (!*kz__str(obj, "/metadata/name")) {
		int r = op_err_set(err, -EINVAL, "%s: missing metadata.name in object of kind '%s'",
				   origin, kz__str(obj, "/kind"));

		cJSON_Delete(obj);
		return r;
	}
	return kz__resmap_append(out, kz__res_new(obj, origin), err);
}

int kz__parse_resources(const char *data, size_t len, const char *origin, struct kz_resmap *out,
			struct op_err *err)
{
	struct yj_limits lim = YJ_LIMITS_DEFAULT;
	struct yj_stream s;
	int r;

	lim.core_bools = true; /* kustomize reads resources with go-yaml v3 */
	r = yj_parse_stream(data, len, &lim, &s, err);

	if (r < 0)
		return op_err_prefix(err, "%s", origin);
	for (size_t i = 0; i < s.n; i++) {
		char *where = xasprintf("%s:%u", origin, s.lines[i]);

		r = add_object(s.docs[i], where, out, err);
		s.docs[i] = NULL;
		free(where);
		if (r < 0)
			break;
	}
	yj_stream_release(&s);
	return r;
}

static int accumulate(struct kz_target *kt, struct kz_resmap *ra, struct op_err *err);

static int merge_into(struct kz_resmap *ra, struct kz_resmap *sub, struct op_err *err)
{
	int r = 0;

	for (size_t i = 0; i < sub->n; i++) {
		if (r == 0)
			r = kz__resmap_append(ra, sub->v[i], err);
		else
			kz__res_free(sub->v[i]);
	}
	free(sub->v);
	sub->v = NULL;
	sub->n = sub->alloc = 0;
	return r;
}

static int build_dir(struct kz_target *kt, const char *path, bool component,
		     struct kz_resmap *ra, struct op_err *err)
{
	struct kz_target sub;
	struct kz_resmap subra = { 0 };
	int r = target_load(kt->ctx, path, kt->depth + 1, &sub, err);

	if (r < 0)
		goto out;
	if (component && !sub.component) {
		r = op_err_set(err, -EINVAL, "%s: expected kind 'Component' for path '%s' but got "
				  "'Kustomization'", kt->kfile, path);
		goto out;
	}
	if (!component && sub.component) {
		r = op_err_set(err, -EINVAL, "%s: expected kind != 'Component' for path '%s'",
			       kt->kfile, path);
		goto out;
	}
	if (component) {
		r = accumulate(&sub, ra, err);
		goto out;
	}
	r = accumulate(&sub, &subra, err);
	if (r == 0)
		r = merge_into(ra, &subra, err);
out:
	kz__resmap_release(&subra);
	target_release(&sub);
	return r;
}

static int add_resources(struct kz_target *kt, const cJSON *list, bool component,
			 struct kz_resmap *ra, struct op_err *err)
{
	const cJSON *e;
	int r;

	cJSON_ArrayForEach(e, list) {
		_cleanup_free_ char *p = NULL;
		char kind;

		if (!cJSON_IsString(e))
			return op_err_set(err, -EINVAL, "%s: %s: entries must be strings", kt->kfile,
					  component ? "components" : "resources");
		if (is_remote(e->valuestring))
			return op_err_set(err, -EPERM,
					  "%s: remote resource '%s' is not allowed (remote bases "
					  "are disabled)",
					  kt->kfile, e->valuestring);
		r = resolve(kt->dir, e->valuestring, &p, err);
		if (r == 0)
			r = stat_rel(kt->ctx, p, &kind, err);
		if (r < 0)
			return op_err_prefix(err, "%s", kt->kfile);
		if (kind == 'd') {
			r = build_dir(kt, p, component, ra, err);
		} else if (kind == 'f' && !component) {
			char *data;
			size_t len;
			_cleanup_free_ char *path = NULL;

			r = kz__read(kt, e->valuestring, &data, &len, &path, err);
			if (r < 0)
				return r;
			r = kz__parse_resources(data, len, path, ra, err);
			free(data);
		} else {
			r = op_err_set(err, -ENOENT, "%s: %s '%s' not found", kt->kfile,
				       component ? "component" : "resource", e->valuestring);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- generators ---- */

static bool valid_utf8(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t l = s[i] ? yj_utf8_len((const unsigned char *)s + i) : 0;

		if (l == 0)
			return false;
		i += l;
	}
	return true;
}

struct gen {
	struct kz_target *kt;
	bool secret;
	cJSON *data, *bin; /* data (strings), binaryData */
	const char *what;  /* "configMapGenerator" */
	const char *name;
};

static int gen_put(struct gen *g, const char *key, const char *val, size_t n, struct op_err *err)
{
	cJSON *dst;
	char *v;

	if (!*key)
		return op_err_set(err, -EINVAL, "%s: %s '%s': empty key", g->kt->kfile, g->what,
				  g->name);
	if (cJSON_GetObjectItemCaseSensitive(g->data, key) ||
	    cJSON_GetObjectItemCaseSensitive(g->bin, key))
		return op_err_set(err, -EINVAL,
				  "%s: %s '%s': cannot add key '%s', another key by that name "
				  "already exists",
				  g->kt->kfile, g->what, g->name, key);
	if (g->secret) {
		v = b64_encode(val, n);
		dst = g->data;
	} else if (valid_utf8(val, n)) {
		v = xstrndup(val, n);
		dst = g->data;
	} else {
		v = b64_encode(val, n);
		dst = g->bin;
	}
	cJSON_AddItemToObject(dst, key, cJSON_CreateString(v));
	free(v);
	return 0;
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
		if (strpbrk(key, " \t")) {
			r = op_err_set(err, -EINVAL, "%s: env file '%s': invalid key '%s'",
				       g->kt->kfile, file, key);
		} else {
			r = eq ? gen_put(g, key, eq + 1, (size_t)(p + n - eq - 1), err)
			       : gen_put(g, key, "", 0, err);
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

/* Local generator options merged over the kustomization's generatorOptions. */
static void merge_map(cJSON *meta, const char *field, const cJSON *a, const cJSON *b)
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
	if (m->child)
		cJSON_AddItemToObject(meta, field, m);
	else
		cJSON_Delete(m);
}

static int behavior_of(struct kz_target *kt, const cJSON *args, enum kz_behavior *ret,
		       struct op_err *err)
{
	const char *b = kz__str(args, "/behavior");

	if (!*b || streq(b, "create"))
		*ret = KZ_CREATE;
	else if (streq(b, "merge"))
		*ret = KZ_MERGE;
	else if (streq(b, "replace"))
		*ret = KZ_REPLACE;
	else
		return op_err_set(err, -EINVAL, "%s: unknown generator behavior '%s'", kt->kfile, b);
	return 0;
}

static void merge_string_map(cJSON *obj, const char *ptr, const cJSON *old)
{
	cJSON *cur = yj_get(obj, ptr), *m = cJSON_CreateObject();
	const cJSON *e;

	cJSON_ArrayForEach(e, old)
		cJSON_AddItemToObject(m, e->string, cJSON_Duplicate(e, 1));
	cJSON_ArrayForEach(e, cur) {
		if (cJSON_GetObjectItemCaseSensitive(m, e->string))
			cJSON_ReplaceItemInObjectCaseSensitive(m, e->string, cJSON_Duplicate(e, 1));
		else
			cJSON_AddItemToObject(m, e->string, cJSON_Duplicate(e, 1));
	}
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

	kz__resmap_invalidate(ra); /* a merge or replace renames and frees */
	for (size_t i = 0; i < ra->n; i++) {
		struct kz_res *o = ra->v[i];
		bool match = false;

		if (!streq(kz__kind(o), kz__kind(res)))
			continue;
		if (streq(kz__name(o), kz__name(res)) &&
		    streq(*kz__ns(o) ? kz__ns(o) : "default", *kz__ns(res) ? kz__ns(res) : "default"))
			match = true;
		for (size_t j = 0; !match && j < o->nprev; j++)
			match = streq(o->prev[j].name, kz__name(res)) &&
				streq(o->prev[j].ns, *kz__ns(res) ? kz__ns(res) : "default");
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
			keep->needs_hash = res->needs_hash;
			keep->behavior = res->behavior;
			keep->behavior_set = res->behavior_set;
			keep->generated = true;
			kz__res_free(res);
			kz__res_free(old);
			ra->v[idx] = keep;
		}
	}
	return 0;
}

static int generate(struct kz_target *kt, struct kz_resmap *ra, bool secret, struct op_err *err)
{
	const char *field = secret ? "secretGenerator" : "configMapGenerator";
	const cJSON *args, *gopts = yj_get(kt->k, "/generatorOptions");
	int r;

	cJSON_ArrayForEach(args, yj_get(kt->k, secret ? "/secretGenerator" : "/configMapGenerator")) {
		struct gen g = { kt, secret, cJSON_CreateObject(), cJSON_CreateObject(), field,
				 kz__str(args, "/name") };
		cJSON *obj = cJSON_CreateObject(), *meta = cJSON_CreateObject();
		const cJSON *opts = yj_get(args, "/options");
		struct kz_res *res;
		enum kz_behavior beh = KZ_CREATE;
		bool nohash, immutable;

		r = behavior_of(kt, args, &beh, err);
		if (r == 0 && !*g.name)
			r = op_err_set(err, -EINVAL, "%s: %s: a generator needs a name", kt->kfile,
				       field);
		if (r == 0)
			r = gen_sources(&g, args, err);
		if (r < 0) {
			cJSON_Delete(g.data);
			cJSON_Delete(g.bin);
			cJSON_Delete(obj);
			cJSON_Delete(meta);
			return r;
		}
		cJSON_AddStringToObject(obj, "apiVersion", "v1");
		cJSON_AddStringToObject(obj, "kind", secret ? "Secret" : "ConfigMap");
		cJSON_AddStringToObject(meta, "name", g.name);
		if (*kz__str(args, "/namespace"))
			cJSON_AddStringToObject(meta, "namespace", kz__str(args, "/namespace"));
		merge_map(meta, "labels", yj_get(gopts, "/labels"), yj_get(opts, "/labels"));
		merge_map(meta, "annotations", yj_get(gopts, "/annotations"),
			  yj_get(opts, "/annotations"));
		cJSON_AddItemToObject(obj, "metadata", meta);
		if (secret)
			cJSON_AddStringToObject(obj, "type", *kz__str(args, "/type")
								 ? kz__str(args, "/type")
								 : "Opaque");
		if (g.data->child)
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
		res->behavior_set = *kz__str(args, "/behavior") != '\0';
		r = absorb(kt, ra, res, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int accumulate(struct kz_target *kt, struct kz_resmap *ra, struct op_err *err)
{
	int r;

	r = add_resources(kt, yj_get(kt->k, "/resources"), false, ra, err);
	if (r == 0)
		r = add_resources(kt, yj_get(kt->k, "/bases"), false, ra, err);
	if (r == 0)
		r = generate(kt, ra, false, err);
	if (r == 0)
		r = generate(kt, ra, true, err);
	if (r == 0)
		r = add_resources(kt, yj_get(kt->k, "/components"), true, ra, err);
	if (r == 0)
		r = kz__transform(kt, ra, err);
	return r;
}

/* ---- sorting ---- */

static const char *const order_first[] = {
	"Namespace", "ResourceQuota", "StorageClass", "CustomResourceDefinition",
	"ServiceAccount", "PodSecurityPolicy", "Role", "ClusterRole", "RoleBinding",
	"ClusterRoleBinding", "ConfigMap", "Secret", "Endpoints", "Service", "LimitRange",
	"PriorityClass", "PersistentVolume", "PersistentVolumeClaim", "Deployment",
	"StatefulSet", "CronJob", "PodDisruptionBudget",
};
static const char *const order_last[] = { "MutatingWebhookConfiguration",
					  "ValidatingWebhookConfiguration" };

struct sort_key {
	struct kz_res *r;
	int order;
	char *gvk; /* legacy "group_version_kind" with ~G/~V/~K */
	char *id;  /* "kind.version.group|ns|name" */
	bool ns_kind_nogroup;
};

struct sort_opts {
	const cJSON *first, *last; /* custom lists, or NULL */
};

static int type_order(const struct sort_opts *o, const char *kind)
{
	int i = 0, n;
	const cJSON *e;

	if (o->first || o->last) {
		n = cJSON_GetArraySize(o->first);
		cJSON_ArrayForEach(e, o->first) {
			if (cJSON_IsString(e) && streq(e->valuestring, kind))
				return -n + i;
			i++;
		}
		i = 0;
		cJSON_ArrayForEach(e, o->last) {
			if (cJSON_IsString(e) && streq(e->valuestring, kind))
				return 1 + i;
			i++;
		}
		return 0;
	}
	for (size_t j = 0; j < ARRAY_SIZE(order_first); j++)
		if (streq(order_first[j], kind))
			return -(int)ARRAY_SIZE(order_first) + (int)j;
	for (size_t j = 0; j < ARRAY_SIZE(order_last); j++)
		if (streq(order_last[j], kind))
			return 1 + (int)j;
	return 0;
}

static int cmp_keys(const void *a, const void *b)
{
	const struct sort_key *x = a, *y = b;

	if (!streq(x->gvk, y->gvk)) {
		if (x->order != y->order)
			return x->order < y->order ? -1 : 1;
		if (streq(kz__kind(x->r), "Namespace") && streq(kz__kind(y->r), "Namespace") &&
		    (x->ns_kind_nogroup || y->ns_kind_nogroup))
			return -strcmp(x->gvk, y->gvk);
		return strcmp(x->gvk, y->gvk);
	}
	return strcmp(x->id, y->id);
}

static void sort_legacy(struct kz_resmap *m, const struct sort_opts *o)
{
	struct sort_key *k = xnew0(struct sort_key, m->n ? m->n : 1);

	for (size_t i = 0; i < m->n; i++) {
		char g[256], v[64];
		const char *kind = kz__kind(m->v[i]), *ns = kz__ns(m->v[i]);

		kz__gv(m->v[i]->obj, g, sizeof(g), v, sizeof(v));
		k[i].r = m->v[i];
		k[i].order = type_order(o, kind);
		k[i].gvk = xasprintf("%s_%s_%s", *g ? g : "~G", *v ? v : "~V", *kind ? kind : "~K");
		k[i].id = xasprintf("%s.%s.%s|%s|%s", *kind ? kind : "[noKind]", *v ? v : "[noVer]",
				    *g ? g : "[noGrp]", *ns ? ns : "~X",
				    *kz__name(m->v[i]) ? kz__name(m->v[i]) : "~N");
		k[i].ns_kind_nogroup = !*g;
	}
	qsort(k, m->n, sizeof(*k), cmp_keys);
	for (size_t i = 0; i < m->n; i++) {
		m->v[i] = k[i].r;
		free(k[i].gvk);
		free(k[i].id);
	}
	free(k);
}

static int add_hashes(struct kz_resmap *m)
{
	kz__resmap_invalidate(m);
	for (size_t i = 0; i < m->n; i++) {
		struct kz_res *r = m->v[i];
		char h[11], *name;
		int rc;

		if (!r->needs_hash)
			continue;
		rc = kz__hash(r->obj, h);
		if (rc < 0)
			return rc;
		kz__res_store_prev(r);
		name = xasprintf("%s-%s", kz__name(r), h);
		yj_set(r->obj, "/metadata/name", cJSON_CreateString(name));
		free(name);
	}
	return 0;
}

int kz_build(const char *root, const char *dir, const struct kz_limits *lim, cJSON **ret,
	     struct op_err *reterr)
{
	struct kz_opts o = KZ_OPTS_INIT;

	if (lim)
		o.lim = *lim;
	return kz_build_opts(root, dir, &o, ret, reterr);
}

/*
 * kustomize ends every build by rewriting each object's annotations from
 * a map of strings (when it strips its own build annotations), so every
 * value comes out as the text of the scalar (a map or list as ""), and an
 * empty or null `annotations` disappears.  Labels are left alone.
 */
static void stringify_annotations(cJSON *obj)
{
	cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	cJSON *anns = cJSON_GetObjectItemCaseSensitive(meta, "annotations"), *e;

	if (!anns)
		return;
	if (cJSON_IsNull(anns) || (cJSON_IsObject(anns) && !anns->child)) {
		cJSON_DeleteItemFromObjectCaseSensitive(meta, "annotations");
		return;
	}
	if (!cJSON_IsObject(anns))
		return;
	for (e = anns->child; e; e = e->next) {
		char num[64];
		const char *text = "";
		cJSON *s;

		if (cJSON_IsString(e))
			continue;
		if (cJSON_IsRaw(e)) {
			text = e->valuestring;
		} else if (cJSON_IsBool(e)) {
			text = cJSON_IsTrue(e) ? "true" : "false";
		} else if (cJSON_IsNumber(e)) {
			if (e->valuedouble == (double)(long long)e->valuedouble)
				snprintf(num, sizeof(num), "%lld", (long long)e->valuedouble);
			else
				yj_format_float(e->valuedouble, 64, 0, num, sizeof(num));
			text = num;
		}
		s = cJSON_CreateString(text);
		s->string = xstrdup(e->string);
		cJSON_ReplaceItemViaPointer(anns, e, s);
		e = s;
	}
}

static void set_origin(cJSON *obj, const char *ann, const char *origin)
{
	cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	cJSON *anns = cJSON_GetObjectItemCaseSensitive(meta, "annotations");

	if (!cJSON_IsObject(meta))
		return;
	if (!cJSON_IsObject(anns)) {
		cJSON_DeleteItemFromObjectCaseSensitive(meta, "annotations");
		anns = cJSON_AddObjectToObject(meta, "annotations");
	}
	cJSON_DeleteItemFromObjectCaseSensitive(anns, ann);
	cJSON_AddStringToObject(anns, ann, origin);
}

int kz_build_opts(const char *root, const char *dir, const struct kz_opts *opts, cJSON **ret,
		  struct op_err *reterr)
{
	struct kz_opts dflt = KZ_OPTS_INIT;
	const struct kz_opts *o = opts ? opts : &dflt;
	struct kz_ctx ctx = { .root = root, .lim = o->lim, .load_anywhere = o->load_anywhere,
			      .overlay = o->overlay };
	struct kz_target kt = { 0 };
	struct kz_resmap m = { 0 };
	struct sort_opts so = { 0 };
	const cJSON *sopt;
	_cleanup_free_ char *d = NULL;
	cJSON *arr;
	int r;

	r = resolve(".", dir && *dir ? dir : ".", &d, reterr);
	if (r < 0)
		return r;
	r = target_load(&ctx, d, 0, &kt, reterr);
	if (r < 0)
		goto out;
	if (kt.component) {
		r = op_err_set(reterr, -EINVAL, "%s: a Component cannot be built on its own",
			       kt.kfile);
		goto out;
	}
	r = accumulate(&kt, &m, reterr);
	if (r < 0)
		goto out;
	r = add_hashes(&m);
	if (r < 0)
		goto out;
	r = kz__fix_name_refs(&m, reterr);
	if (r < 0)
		goto out;
	sopt = yj_get(kt.k, "/sortOptions");
	if (sopt) {
		const char *order = kz__str(sopt, "/order");

		if (!streq(order, "legacy") && !streq(order, "fifo")) {
			r = op_err_set(reterr, -EINVAL,
				       "%s: the field 'sortOptions.order' must be one of [fifo, legacy]",
				       kt.kfile);
			goto out;
		}
		if (streq(order, "legacy")) {
			so.first = yj_get(sopt, "/legacySortOptions/orderFirst");
			so.last = yj_get(sopt, "/legacySortOptions/orderLast");
			if (!yj_get(sopt, "/legacySortOptions"))
				so.first = so.last = NULL;
			sort_legacy(&m, &so);
		}
	} else {
		sort_legacy(&m, &so);
	}
	arr = cJSON_CreateArray();
	for (size_t i = 0; i < m.n; i++) {
		stringify_annotations(m.v[i]->obj);
		if (o->origin_annotation)
			set_origin(m.v[i]->obj, o->origin_annotation,
				   *m.v[i]->origin ? m.v[i]->origin : kt.kfile);
		cJSON_AddItemToArray(arr, m.v[i]->obj);
		m.v[i]->obj = NULL; /* now owned by arr */
	}
	*ret = arr;
out:
	kz__resmap_release(&m);
	target_release(&kt);
	return r;
}

int kz_emit(const cJSON *list, struct buf *out)
{
	const cJSON *e;
	bool first = true;
	int r;

	cJSON_ArrayForEach(e, list) {
		if (!first) {
			r = buf_adds(out, "---\n");
			if (r < 0)
				return r;
		}
		first = false;
		r = yj_emit_yaml_go(e, out);
		if (r < 0)
			return r;
	}
	return 0;
}
