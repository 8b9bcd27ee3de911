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
#include <strings.h>
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
	"generatorOptions", "buildMetadata", "replacements", "crds", "vars", "configurations",
	"openapi",
	"generators", "transformers", "validators", "helmGlobals", "helmCharts",
};

/* Refused by name: the deprecated helmChartInflationGenerator (helmCharts replaced it). */
static const char *const unsupported_fields[] = {
	"helmChartInflationGenerator",
};

/*
 * kustomize decodes a kustomization with Go's JSON decoder, which matches
 * field names without regard to case: "Resources" is "resources".
 */
static void normalize_keys(cJSON *k)
{
	cJSON *e;

	cJSON_ArrayForEach(e, k) {
		const char *const *lists[] = { supported_fields, unsupported_fields };
		const size_t ns[] = { ARRAY_SIZE(supported_fields), ARRAY_SIZE(unsupported_fields) };

		for (size_t l = 0; l < 2; l++) {
			for (size_t i = 0; i < ns[l]; i++) {
				if (!streq(e->string, lists[l][i]) &&
				    strcasecmp(e->string, lists[l][i]) == 0 &&
				    !cJSON_GetObjectItemCaseSensitive(k, lists[l][i])) {
					free(e->string);
					e->string = xstrdup(lists[l][i]);
				}
			}
		}
	}
}

/*
 * kustomize's FixKustomization: `bases` are resources (after the others)
 * and `imageTags` images.
 */
static void fold_legacy(cJSON *k)
{
	static const char *const pairs[][2] = { { "bases", "resources" }, { "imageTags", "images" } };

	for (size_t i = 0; i < ARRAY_SIZE(pairs); i++) {
		cJSON *old = cJSON_DetachItemFromObjectCaseSensitive(k, pairs[i][0]);
		cJSON *to = cJSON_GetObjectItemCaseSensitive(k, pairs[i][1]), *e;

		if (!cJSON_IsArray(old) || !cJSON_GetArraySize(old)) {
			cJSON_Delete(old);
			continue;
		}
		if (!cJSON_IsArray(to)) {
			cJSON_DeleteItemFromObjectCaseSensitive(k, pairs[i][1]);
			to = cJSON_AddArrayToObject(k, pairs[i][1]);
		}
		while ((e = cJSON_DetachItemFromArray(old, 0)))
			cJSON_AddItemToArray(to, e);
		cJSON_Delete(old);
	}
}

static bool in(const char *s, const char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (streq(s, v[i]))
			return true;
	return false;
}

/*
 * "dir/rel" cleaned, relative to root.  Confined, an absolute `rel` or one
 * that climbs out of root fails (-EPERM).  On the whole file system (root
 * "/"), ".." at the top stays there, as in Go's filepath.Clean, and an
 * absolute `rel` is taken as it is.
 */
static int resolve(const struct kz_ctx *ctx, const char *dir, const char *rel, char **ret,
		   struct op_err *err)
{
	char *j, *c;

	if (rel[0] == '/' && !ctx->whole_fs)
		return op_err_set(err, -EPERM, "absolute path '%s' is not allowed", rel);
	if (ctx->whole_fs) {
		j = rel[0] == '/' ? xstrdup(rel)
				  : xasprintf("/%s/%s", streq(dir, ".") ? "" : dir, rel);
		c = path_clean(j);
		free(j);
		*ret = xstrdup(streq(c, "/") ? "." : c + 1);
		free(c);
		return 0;
	}
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

/* The file-system path of `rel` (relative to root); symlinks checked when confined. */
static int abs_path(const struct kz_ctx *ctx, const char *rel, char **ret, struct op_err *err)
{
	if (ctx->whole_fs) {
		*ret = streq(rel, ".") ? xstrdup("/") : xasprintf("/%s", rel);
		return 0;
	}
	return path_join_safe(ctx->root, rel, ret, err);
}

char *kz__display(const struct kz_ctx *ctx, const char *rel)
{
	char *abs;
	size_t n;

	if (!ctx->whole_fs)
		return xstrdup(rel);
	abs = streq(rel, ".") ? xstrdup("/") : xasprintf("/%s", rel);
	n = ctx->cwd ? strlen(ctx->cwd) : 0;
	if (n > 1 && strncmp(abs, ctx->cwd, n) == 0 && (abs[n] == '/' || abs[n] == '\0')) {
		char *short_ = xstrdup(abs[n] ? abs + n + 1 : ".");

		free(abs);
		return short_;
	}
	return abs;
}

/* abs_path(), with a symlink that leaves the root refused by name. */
static int abs_in_root(const struct kz_ctx *ctx, const char *rel, char **ret, struct op_err *err)
{
	int r = abs_path(ctx, rel, ret, err);

	return r == -ELOOP ? op_err_set(err, -EPERM, "symlink '%s' leaves the source root", rel) : r;
}

/*
 * The real directory `rel` names (relative to root, "." for root), as
 * kustomize's loader confirms a directory: on the whole file system its
 * real path (symlinks resolved); confined, `rel` itself once the safe
 * join has checked its symlinks.  -ENOTDIR when it is not a directory.
 */
static int real_dir(const struct kz_ctx *ctx, const char *rel, char **ret, struct op_err *err)
{
	_cleanup_free_ char *abs = NULL;
	char real[PATH_MAX_LEN];
	struct stat st;
	int r = abs_in_root(ctx, rel, &abs, err);

	if (r < 0)
		return r;
	if (stat(abs, &st) < 0 || !S_ISDIR(st.st_mode))
		return op_err_set(err, -ENOTDIR, "'%s' is not a directory", rel);
	if (!ctx->whole_fs) {
		*ret = xstrdup(rel);
		return 0;
	}
	if (strlen(abs) >= sizeof(real) || !realpath(abs, real))
		return op_err_set(err, -errno, "cannot resolve '%s': %s", abs, op_strerror(errno));
	*ret = xstrdup(streq(real, "/") ? "." : real + 1);
	return 0;
}

/* The kind of file at root/rel: 'd', 'f', or 0 when absent. */
static int stat_rel(struct kz_ctx *ctx, const char *rel, char *kind, struct op_err *err)
{
	_cleanup_free_ char *abs = NULL;
	struct stat st;
	int r = abs_in_root(ctx, rel, &abs, err);

	if (r < 0)
		return r;
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
	int fd, r = abs_path(ctx, rel, &abs, err);

	if (r < 0)
		return r;
	if (++ctx->files > ctx->lim.max_files)
		return op_err_set(err, -E2BIG, "too many files read (limit %zu) at '%s'",
				  ctx->lim.max_files, rel);
	fd = open(abs, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		_cleanup_free_ char *d = kz__display(ctx, rel);

		return op_err_set(err, -errno, "cannot read '%s': %s", d, op_strerror(errno));
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		_cleanup_free_ char *d = kz__display(ctx, rel);

		close(fd);
		return op_err_set(err, -EISDIR, "'%s' is not a regular file", d);
	}
	if ((size_t)st.st_size > ctx->lim.max_bytes - ctx->bytes) {
		_cleanup_free_ char *d = kz__display(ctx, rel);

		close(fd);
		return op_err_set(err, -EFBIG, "reading '%s' exceeds the limit of %zu bytes", d,
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
 * kustomize's LoadRestrictionsRootOnly: the file's directory, with
 * symlinks resolved on the whole file system, must lie in or below the
 * kustomization's directory.
 */
static int restrict_file(struct kz_target *kt, const char *rel, const char *p,
			 struct op_err *err)
{
	_cleanup_free_ char *parent = NULL, *real = NULL;
	const char *slash;
	struct op_err e = OP_ERR_INIT;

	if (kt->ctx->load_anywhere)
		return 0;
	if (!kt->ctx->whole_fs) {
		if (under(p, kt->dir))
			return 0;
	} else {
		slash = strrchr(p, '/');
		parent = slash ? xstrndup(p, (size_t)(slash - p)) : xstrdup(".");
		if (real_dir(kt->ctx, parent, &real, &e) < 0 || under(real, kt->dir))
			return 0; /* a missing directory: reading the file says so */
	}
	{
		_cleanup_free_ char *d = kz__display(kt->ctx, kt->dir);

		return op_err_set(err, -EPERM, "%s: security; file '%s' is not in or below '%s'",
				  kt->kfile, rel, d);
	}
}

int kz__stat(struct kz_target *kt, const char *rel, char *kind, char **ret_abs,
	     struct op_err *err)
{
	_cleanup_free_ char *p = NULL;
	int r = resolve(kt->ctx, kt->dir, rel, &p, err);

	if (r == 0)
		r = stat_rel(kt->ctx, p, kind, err);
	if (r == 0)
		r = abs_in_root(kt->ctx, p, ret_abs, err);
	return r;
}

int kz__read(struct kz_target *kt, const char *rel, char **ret, size_t *ret_len, char **ret_path,
	     struct op_err *err)
{
	_cleanup_free_ char *p = NULL;
	int r = resolve(kt->ctx, kt->dir, rel, &p, err);

	if (r < 0)
		return op_err_prefix(err, "%s", kt->kfile);
	r = restrict_file(kt, rel, p, err);
	if (r < 0)
		return r;
	r = read_rel(kt->ctx, p, ret, ret_len, err);
	if (r < 0)
		return op_err_prefix(err, "%s", kt->kfile);
	if (ret_path)
		*ret_path = kz__display(kt->ctx, p);
	return 0;
}

static void target_release(struct kz_target *kt)
{
	free(kt->dir);
	free(kt->kfile);
	free(kt->kpath);
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

static int target_load(struct kz_ctx *ctx, const struct kz_target *parent, const char *dir,
		       struct kz_target *kt, struct op_err *err)
{
	const char *found = NULL;
	char *data = NULL, *rel = NULL;
	size_t len;
	const cJSON *e, *av, *kind;
	unsigned depth = parent ? parent->depth + 1 : 0;
	int r;

	memset(kt, 0, sizeof(*kt));
	kt->ctx = ctx;
	kt->parent = parent;
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
		if (found) {
			_cleanup_free_ char *d = kz__display(ctx, dir);

			free(rel);
			return op_err_set(err, -EINVAL, "found multiple kustomization files under: %s",
					  d);
		}
		found = kfile_names[i];
		free(rel);
		rel = TAKE_PTR(p);
	}
	if (!found && depth == 0 && ctx->overlay) {
		/* Flux's generated kustomization.yaml. */
		kt->kfile = streq(dir, ".") ? xstrdup("kustomization.yaml (generated)")
					    : xasprintf("%s/kustomization.yaml (generated)", dir);
		kt->kpath = xstrdup(kt->kfile);
		kt->k = cJSON_CreateObject();
		r = generate_resources(ctx, dir, dir, 0,
				       cJSON_AddArrayToObject(kt->k, "resources"), err);
		if (r < 0)
			return r;
		merge_overlay(kt->k, ctx->overlay);
		return check_types(kt, err);
	}
	if (!found) {
		_cleanup_free_ char *d = kz__display(ctx, dir);

		return op_err_set(err, -ENOENT,
				  "unable to find one of 'kustomization.yaml', 'kustomization.yml' or "
				  "'Kustomization' in directory '%s'",
				  d);
	}
	kt->kpath = rel;
	kt->kfile = kz__display(ctx, rel);
	r = read_rel(ctx, rel, &data, &len, err);
	if (r < 0)
		return r;
	{
		/*
		 * kustomize reads the first document only; none at all (or a
		 * null one) is an empty kustomization.
		 */
		struct yj_stream st;

		r = yj_parse_stream(data, len, NULL, &st, err);
		free(data);
		if (r < 0)
			return op_err_prefix(err, "invalid kustomization '%s'", kt->kfile);
		if (st.n && !cJSON_IsNull(st.docs[0])) {
			kt->k = st.docs[0];
			st.docs[0] = NULL;
		} else {
			kt->k = cJSON_CreateObject();
		}
		yj_stream_release(&st);
	}
	if (!cJSON_IsObject(kt->k))
		return op_err_set(err, -EINVAL, "invalid kustomization '%s': not a map", kt->kfile);
	normalize_keys(kt->k);
	cJSON_ArrayForEach(e, kt->k) {
		if (in(e->string, unsupported_fields, ARRAY_SIZE(unsupported_fields)))
			return op_err_set(err, -ENOTSUP,
					  "%s: field '%s': the deprecated helmChartInflationGenerator "
					  "(write helmCharts) is not supported",
					  kt->kfile, e->string);
		if (!in(e->string, supported_fields, ARRAY_SIZE(supported_fields)))
			return op_err_set(err, -EINVAL,
					  "invalid kustomization '%s': unknown field '%s'", kt->kfile,
					  e->string);
	}
	kind = cJSON_GetObjectItemCaseSensitive(kt->k, "kind");
	av = cJSON_GetObjectItemCaseSensitive(kt->k, "apiVersion");
	kt->component = kind && cJSON_IsString(kind) && streq(kind->valuestring, "Component");
	if (kind && (!cJSON_IsString(kind) || (!streq(kind->valuestring, "Kustomization") &&
					       !kt->component)))
		return op_err_set(err, -EINVAL, "%s: kind should be Kustomization or Component",
				  kt->kfile);
	if (av && (!cJSON_IsString(av) ||
		   !streq(av->valuestring, kt->component ? "kustomize.config.k8s.io/v1alpha1"
							 : "kustomize.config.k8s.io/v1beta1")))
		return op_err_set(err, -EINVAL, "%s: apiVersion for %s should be %s", kt->kfile,
				  kt->component ? "Component" : "Kustomization",
				  kt->component ? "kustomize.config.k8s.io/v1alpha1"
						: "kustomize.config.k8s.io/v1beta1");
	if (kt->k->child == NULL ||
	    (cJSON_GetArraySize(kt->k) == (kind ? 1 : 0) + (av ? 1 : 0)))
		return op_err_set(err, -EINVAL, "%s: kustomization.yaml is empty", kt->kfile);
	if (depth == 0 && ctx->overlay)
		merge_overlay(kt->k, ctx->overlay);
	r = check_types(kt, err);
	if (r == 0)
		fold_legacy(kt->k);
	return r;
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

static int accumulate(struct kz_target *kt, struct kz_acc *acc, struct op_err *err);
static int schema_choose(struct kz_target *kt, struct op_err *err);

void kz__acc_release(struct kz_acc *a)
{
	kz__resmap_release(&a->m);
	kz__tc_release(&a->tc);
	kz__varset_release(&a->vars);
}

/* kustomize's MergeAccumulator: a base's resources, configuration and vars join ours. */
static int merge_acc(struct kz_acc *acc, struct kz_acc *sub, struct op_err *err)
{
	int r = 0;

	for (size_t i = 0; i < sub->m.n; i++) {
		if (r == 0)
			r = kz__resmap_append(&acc->m, sub->m.v[i], err);
		else
			kz__res_free(sub->m.v[i]);
	}
	free(sub->m.v);
	sub->m.v = NULL;
	sub->m.n = sub->m.alloc = 0;
	if (r == 0)
		r = kz__tc_merge(&acc->tc, &sub->tc, err);
	if (r == 0)
		r = kz__varset_merge(&acc->vars, &sub->vars, err);
	return r;
}

/*
 * kustomize's loader refuses a base or component whose directory contains
 * (or is) the directory of a kustomization on the way to it: building it
 * would never end.
 */
static int check_cycle(const struct kz_target *kt, const char *dir, struct op_err *err)
{
	for (const struct kz_target *t = kt; t; t = t->parent) {
		if (under(t->dir, dir)) {
			_cleanup_free_ char *a = kz__display(kt->ctx, dir);
			_cleanup_free_ char *b = kz__display(kt->ctx, t->dir);

			return op_err_set(err, -ELOOP,
					  "%s: cycle detected: candidate root '%s' contains visited "
					  "root '%s'",
					  kt->kfile, a, b);
		}
	}
	return 0;
}

static int build_dir(struct kz_target *kt, const char *rel, bool component, struct kz_acc *acc,
		     struct op_err *err)
{
	struct kz_target sub = { 0 };
	struct kz_acc subacc = { .m.schema = &kt->ctx->schema };
	_cleanup_free_ char *path = NULL;
	int r = real_dir(kt->ctx, rel, &path, err);

	if (r < 0) {
		r = op_err_prefix(err, "%s", kt->kfile);
		goto out;
	}
	r = check_cycle(kt, path, err);
	if (r == 0)
		r = target_load(kt->ctx, kt, path, &sub, err);
	if (r < 0)
		goto out;
	if (component && !sub.component) {
		_cleanup_free_ char *d = kz__display(kt->ctx, path);

		r = op_err_set(err, -EINVAL, "%s: expected kind 'Component' for path '%s' but got "
				  "'Kustomization'", kt->kfile, d);
		goto out;
	}
	if (!component && sub.component) {
		_cleanup_free_ char *d = kz__display(kt->ctx, path);

		r = op_err_set(err, -EINVAL, "%s: expected kind != 'Component' for path '%s'",
			       kt->kfile, d);
		goto out;
	}
	r = schema_choose(&sub, err);
	if (r < 0)
		goto out;
	if (component) {
		/* a component works on what its parent has accumulated */
		r = accumulate(&sub, acc, err);
		goto out;
	}
	r = accumulate(&sub, &subacc, err);
	if (r == 0)
		r = merge_acc(acc, &subacc, err);
out:
	kz__acc_release(&subacc);
	target_release(&sub);
	return r;
}

static int add_entries(struct kz_target *kt, const cJSON *list, bool component,
		       struct kz_acc *acc, struct op_err *err)
{
	const cJSON *e;
	int r;

	if (list && !cJSON_IsArray(list) && !cJSON_IsNull(list))
		return op_err_set(err, -EINVAL, "%s: '%s' must be a list", kt->kfile,
				  component ? "components" : "resources");
	cJSON_ArrayForEach(e, list) {
		_cleanup_free_ char *p = NULL;
		char kind;

		if (!cJSON_IsString(e))
			return op_err_set(err, -EINVAL, "%s: %s: entries must be strings", kt->kfile,
					  component ? "components" : "resources");
		if (is_remote(e->valuestring))
			return op_err_set(err, -EPERM,
					  "%s: remote resource '%s' is not supported (no remote "
					  "bases)",
					  kt->kfile, e->valuestring);
		r = resolve(kt->ctx, kt->dir, e->valuestring, &p, err);
		if (r == 0)
			r = stat_rel(kt->ctx, p, &kind, err);
		if (r < 0)
			return op_err_prefix(err, "%s", kt->kfile);
		if (kind == 'd') {
			r = build_dir(kt, p, component, acc, err);
		} else if (kind == 'f' && !component) {
			char *data;
			size_t len;
			_cleanup_free_ char *path = NULL;

			r = kz__read(kt, e->valuestring, &data, &len, &path, err);
			if (r < 0)
				return r;
			r = kz__parse_resources(data, len, path, &acc->m, err);
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

int kz__add_resources(struct kz_target *kt, const cJSON *list, struct kz_acc *acc,
		      struct op_err *err)
{
	return add_entries(kt, list, false, acc, err);
}

/* The first document of a file, or NULL for none; -errno on bad YAML. */
static int read_doc(struct kz_target *kt, const char *rel, const char *field, cJSON **ret,
		    struct op_err *err)
{
	struct yj_stream st;
	char *data;
	size_t len;
	int r = kz__read(kt, rel, &data, &len, NULL, err);

	if (r < 0)
		return op_err_prefix(err, "%s", field);
	r = yj_parse_stream(data, len, NULL, &st, err);
	free(data);
	if (r < 0)
		return op_err_prefix(err, "%s: %s: '%s'", kt->kfile, field, rel);
	*ret = NULL;
	if (st.n) {
		*ret = st.docs[0];
		st.docs[0] = NULL;
	}
	yj_stream_release(&st);
	return 0;
}

/*
 * The `openapi` field, as kustomize's openapi.SetSchema takes it: the top
 * kustomization's choice stands, else the first base (in the order bases
 * are read) that makes one; the schema then serves every strategic merge
 * that follows.  `path` names a custom schema (JSON or YAML swagger),
 * `version` a builtin one: only kustomize's default, v1.21.2, is built in,
 * and choosing it is choosing the builtin merge.
 */
static int schema_choose(struct kz_target *kt, struct op_err *err)
{
	const cJSON *oa = yj_get(kt->k, "/openapi"), *e;
	struct kz_schema *sch = &kt->ctx->schema;
	const char *path = NULL, *version = NULL;
	cJSON *doc = NULL;
	int r;

	if (!oa || cJSON_IsNull(oa))
		return 0;
	if (!cJSON_IsObject(oa))
		return op_err_set(err, -EINVAL, "%s: openapi: must be a map of strings", kt->kfile);
	cJSON_ArrayForEach(e, oa) {
		if (!cJSON_IsString(e))
			return op_err_set(err, -EINVAL, "%s: openapi: '%s' must be a string",
					  kt->kfile, e->string);
		if (streq(e->string, "path"))
			path = e->valuestring;
		else if (streq(e->string, "version"))
			version = e->valuestring;
	}
	if (path) {
		const cJSON *defs;

		r = read_doc(kt, path, "openapi", &doc, err);
		if (r < 0)
			return r;
		defs = cJSON_GetObjectItemCaseSensitive(doc, "definitions");
		if (!cJSON_IsObject(doc) || (defs && !cJSON_IsObject(defs) && !cJSON_IsNull(defs))) {
			cJSON_Delete(doc);
			return op_err_set(err, -EINVAL,
					  "%s: openapi: invalid schema file '%s': not an OpenAPI "
					  "document with a map of definitions",
					  kt->kfile, path);
		}
	}
	if (sch->set && kt->parent) {
		cJSON_Delete(doc);
		return 0;
	}
	if (doc && version) {
		cJSON_Delete(doc);
		return op_err_set(err, -EINVAL,
				  "%s: builtin version and custom schema provided, cannot use both",
				  kt->kfile);
	}
	if (!doc && (!version || !*version))
		return 0;
	if (!doc && !streq(version, "v1.21.2"))
		return op_err_set(err, -EINVAL, "%s: the specified OpenAPI version is not built in",
				  kt->kfile);
	kz__schema_release(sch);
	sch->doc = doc;
	sch->set = true;
	kz__schema_scopes(sch);
	return 0;
}

/*
 * The transformer configuration this kustomization adds: kustomize's
 * defaults merged with its `configurations` files, then what its `crds`
 * declare.
 */
static int load_config(struct kz_target *kt, struct kz_acc *acc, struct op_err *err)
{
	struct kz_tconfig dflt, files = { 0 }, crds = { 0 };
	const cJSON *e;
	int r = 0;

	kz__tc_default(&dflt);
	cJSON_ArrayForEach(e, yj_get(kt->k, "/configurations")) {
		struct kz_tconfig one;
		cJSON *doc = NULL;

		if (!cJSON_IsString(e)) {
			r = op_err_set(err, -EINVAL, "%s: configurations: entries must be file paths",
				       kt->kfile);
			break;
		}
		r = read_doc(kt, e->valuestring, "configurations", &doc, err);
		if (r == 0) {
			_cleanup_free_ char *w = xasprintf("%s: configurations: '%s'", kt->kfile,
							   e->valuestring);

			r = kz__tc_parse(&one, doc, w, err);
			cJSON_Delete(doc);
		}
		if (r == 0) {
			r = kz__tc_merge(&files, &one, err);
			kz__tc_release(&one);
		}
		if (r < 0)
			break;
	}
	if (r == 0)
		r = kz__tc_merge(&dflt, &files, err);
	if (r == 0)
		r = kz__tc_merge(&acc->tc, &dflt, err);
	cJSON_ArrayForEach(e, yj_get(kt->k, "/crds")) {
		struct kz_tconfig one;
		cJSON *doc = NULL;

		if (r < 0)
			break;
		if (!cJSON_IsString(e)) {
			r = op_err_set(err, -EINVAL, "%s: crds: entries must be file paths", kt->kfile);
			break;
		}
		r = read_doc(kt, e->valuestring, "crds", &doc, err);
		if (r == 0) {
			_cleanup_free_ char *w = xasprintf("%s: crds: unable to parse open API "
							   "definition from '%s'",
							   kt->kfile, e->valuestring);

			r = kz__tc_from_crds(&one, doc, w, err);
			cJSON_Delete(doc);
		}
		if (r == 0) {
			r = kz__tc_merge(&crds, &one, err);
			kz__tc_release(&one);
		}
	}
	if (r == 0)
		r = kz__tc_merge(&acc->tc, &crds, err);
	kz__tc_release(&dflt);
	kz__tc_release(&files);
	kz__tc_release(&crds);
	if (r < 0 && !strstr(err ? err->msg : "", kt->kfile))
		op_err_prefix(err, "%s", kt->kfile);
	return r;
}

static int generators(struct kz_target *kt, struct kz_acc *acc, struct op_err *err)
{
	const cJSON *gopts = yj_get(kt->k, "/generatorOptions"), *e;
	int r;

	cJSON_ArrayForEach(e, yj_get(kt->k, "/configMapGenerator")) {
		r = kz__generate(kt, &acc->m, e, false, gopts, err);
		if (r < 0)
			return r;
	}
	cJSON_ArrayForEach(e, yj_get(kt->k, "/secretGenerator")) {
		r = kz__generate(kt, &acc->m, e, true, gopts, err);
		if (r < 0)
			return r;
	}
	r = kz__helm_charts(kt, &acc->m, err);
	if (r < 0)
		return r;
	return kz__plugins_run(kt, acc, KZ_PLUGIN_GENERATORS, err);
}

/* kustomize's KustTarget.accumulateTarget. */
static int accumulate(struct kz_target *kt, struct kz_acc *acc, struct op_err *err)
{
	int r;

	r = add_entries(kt, yj_get(kt->k, "/resources"), false, acc, err);
	if (r == 0)
		r = load_config(kt, acc, err);
	if (r == 0)
		r = generators(kt, acc, err);
	if (r == 0)
		r = add_entries(kt, yj_get(kt->k, "/components"), true, acc, err);
	if (r == 0)
		r = kz__transform(kt, acc, err);
	if (r == 0)
		r = kz__plugins_run(kt, acc, KZ_PLUGIN_VALIDATORS, err);
	if (r == 0)
		r = kz__vars_bind(&acc->vars, &acc->m, yj_get(kt->k, "/vars"), kt->kfile, err);
	return r;
}

/* ---- sorting ---- */

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
	return kz__type_order(kind);
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

/* kustomize drops objects annotated config.kubernetes.io/local-config (but not "false"). */
static void drop_local(struct kz_resmap *m)
{
	for (size_t i = 0; i < m->n;) {
		const cJSON *a = yj_get(m->v[i]->obj,
					"/metadata/annotations/config.kubernetes.io~1local-config");

		if (a && !(cJSON_IsString(a) && streq(a->valuestring, "false")) &&
		    !cJSON_IsFalse(a))
			kz__resmap_remove(m, m->v[i]);
		else
			i++;
	}
}

/*
 * buildMetadata: managedByLabel labels every object as kustomize does
 * (with the kustomize release whose output we reproduce); the origin and
 * transformer annotations are not written yet, and asking for them fails
 * rather than being ignored.
 */
static int build_metadata(const struct kz_target *kt, struct kz_resmap *m, struct op_err *err)
{
	const cJSON *e, *list = yj_get(kt->k, "/buildMetadata");

	if (list && !cJSON_IsArray(list) && !cJSON_IsNull(list))
		return op_err_set(err, -EINVAL, "%s: 'buildMetadata' must be a list", kt->kfile);
	cJSON_ArrayForEach(e, list) {
		const char *v = cJSON_IsString(e) ? e->valuestring : "";

		if (streq(v, "managedByLabel")) {
			cJSON *pairs = cJSON_CreateObject();
			struct kz_fsv fs = { 0 };
			int r;

			cJSON_AddStringToObject(pairs, "app.kubernetes.io/managed-by",
						"kustomize-v5.8.1");
			kz__fsv_push(&fs, "", "", "", "metadata/labels", true);
			r = kz__t_pairs(m, pairs, &fs, err);
			kz__fsv_release(&fs);
			cJSON_Delete(pairs);
			if (r < 0)
				return r;
		} else if (streq(v, "originAnnotations") || streq(v, "transformerAnnotations")) {
			return op_err_set(err, -ENOTSUP, "%s: buildMetadata: '%s' is not supported yet",
					  kt->kfile, v);
		} else {
			return op_err_set(err, -EINVAL,
					  "%s: buildMetadata: unknown option '%s' (want "
					  "managedByLabel, originAnnotations or transformerAnnotations)",
					  kt->kfile, v);
		}
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
			int64_t iv;

			if (yj_int64(e, &iv))
				snprintf(num, sizeof(num), "%lld", (long long)iv);
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
			      .whole_fs = o->whole_fs, .overlay = o->overlay,
			      .helm = o->helm, .helm_payload = o->helm_payload,
			      .schema = { .builtins = o->openapi_builtins } };
	struct kz_target kt = { 0 };
	struct kz_acc acc = { 0 };
	struct kz_resmap *m = &acc.m;
	struct sort_opts so = { 0 };
	const cJSON *sopt;
	_cleanup_free_ char *d = NULL, *real = NULL;
	cJSON *arr;
	int r;

	if (ctx.whole_fs) {
		char cwd[PATH_MAX_LEN];

		if (!getcwd(cwd, sizeof(cwd)))
			return op_err_set(reterr, -errno, "cannot get the working directory: %s",
					  op_strerror(errno));
		ctx.root = "/";
		ctx.cwd = xstrdup(cwd);
		r = resolve(&ctx, streq(cwd, "/") ? "." : cwd + 1, dir && *dir ? dir : ".", &d,
			    reterr);
	} else {
		r = resolve(&ctx, ".", dir && *dir ? dir : ".", &d, reterr);
	}
	if (r == 0 && ctx.whole_fs) {
		r = real_dir(&ctx, d, &real, reterr);
		if (r < 0)
			op_err_prefix(reterr, "must build at directory");
		else {
			free(d);
			d = TAKE_PTR(real);
		}
	}
	if (r < 0) {
		free(ctx.cwd);
		return r;
	}
	acc.m.schema = &ctx.schema;
	r = target_load(&ctx, NULL, d, &kt, reterr);
	if (r == 0)
		r = schema_choose(&kt, reterr);
	if (r < 0)
		goto out;
	/* A Component built on its own is built as a kustomization. */
	r = accumulate(&kt, &acc, reterr);
	if (r < 0)
		goto out;
	/* kustomize's makeCustomizedResMap: hashes, references, vars, local configs */
	r = add_hashes(m);
	if (r == 0)
		r = kz__fix_name_refs(m, &acc.tc, reterr);
	if (r == 0)
		r = kz__vars_resolve(&acc.vars, m, &acc.tc, reterr);
	if (r < 0)
		goto out;
	drop_local(m);
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
			sort_legacy(m, &so);
		}
	} else if (!o->fifo) {
		sort_legacy(m, &so);
	}
	r = build_metadata(&kt, m, reterr);
	if (r < 0)
		goto out;
	arr = cJSON_CreateArray();
	for (size_t i = 0; i < m->n; i++) {
		stringify_annotations(m->v[i]->obj);
		if (o->origin_annotation)
			set_origin(m->v[i]->obj, o->origin_annotation,
				   *m->v[i]->origin ? m->v[i]->origin : kt.kfile);
		cJSON_AddItemToArray(arr, m->v[i]->obj);
		m->v[i]->obj = NULL; /* now owned by arr */
	}
	*ret = arr;
out:
	kz__acc_release(&acc);
	target_release(&kt);
	kz__schema_release(&ctx.schema);
	free(ctx.cwd);
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
