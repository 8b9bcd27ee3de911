/*
 * storage.c: the artifact store (see storage.h).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/path.h"
#include "base/str.h"
#include "base/time.h"
#include "storage.h"
#include "yj/yj.h"
#include "base/banned.h"

struct storage {
	char *root;
	char *adv; /* "http://host:port" */
};

static int mkdir_p(const char *path)
{
	char *p = xstrdup(path), *s;
	int r = 0;

	for (s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0750) < 0 && errno != EEXIST) {
			r = -errno;
			break;
		}
		*s = '/';
	}
	if (r == 0 && mkdir(p, 0750) < 0 && errno != EEXIST)
		r = -errno;
	free(p);
	return r;
}

int storage_new(const char *root, const char *adv_addr, struct storage **ret,
		struct op_err *reterr)
{
	struct storage *st;
	struct stat sb;
	int r;

	r = mkdir_p(root);
	if (r == 0 && (stat(root, &sb) < 0 || !S_ISDIR(sb.st_mode)))
		r = -ENOTDIR;
	if (r < 0)
		return op_err_set(reterr, r, "cannot use storage path '%s': %s", root,
				  op_strerror(r));
	st = xcalloc(1, sizeof(*st));
	st->root = path_clean(root);
	if (!adv_addr || !*adv_addr)
		adv_addr = "localhost:9090";
	st->adv = strstr(adv_addr, "://") ? xstrdup(adv_addr) : xasprintf("http://%s", adv_addr);
	if (str_endswith(st->adv, "/"))
		st->adv[strlen(st->adv) - 1] = '\0';
	*ret = st;
	return 0;
}

void storage_free(struct storage *st)
{
	if (!st)
		return;
	free(st->root);
	free(st->adv);
	free(st);
}

const char *storage_root(const struct storage *st)
{
	return st->root;
}

char *storage_rel_path(const char *kind, const char *ns, const char *name, const char *file)
{
	char *lower = xstrdup(kind), *p, *r;

	for (p = lower; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	r = xasprintf("%s/%s/%s/%s", lower, ns, name, file);
	free(lower);
	return r;
}

char *storage_abs(const struct storage *st, const char *rel)
{
	return xasprintf("%s/%s", st->root, rel);
}

char *storage_url(const struct storage *st, const char *rel)
{
	return xasprintf("%s/%s", st->adv, rel);
}

static char *object_dir(const struct storage *st, const char *kind, const char *ns,
			const char *name)
{
	char *rel = storage_rel_path(kind, ns, name, ""), *abs;

	rel[strlen(rel) - 1] = '\0'; /* the trailing '/' */
	abs = storage_abs(st, rel);
	free(rel);
	return abs;
}

int storage_mkdir(const struct storage *st, const char *kind, const char *ns, const char *name,
		  struct op_err *reterr)
{
	char *dir = object_dir(st, kind, ns, name);
	int r = mkdir_p(dir);

	if (r < 0)
		op_err_set(reterr, r, "cannot create storage directory '%s': %s", dir,
			   op_strerror(r));
	free(dir);
	return r;
}

bool storage_has(const struct storage *st, const char *rel)
{
	char *abs = storage_abs(st, rel);
	struct stat sb;
	bool ok = lstat(abs, &sb) == 0 && S_ISREG(sb.st_mode);

	free(abs);
	return ok;
}

struct gc_entry {
	char *name;
	struct timespec mtime;
};

static int cmp_newest_first(const void *a, const void *b)
{
	const struct gc_entry *x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec > y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec > y->mtime.tv_nsec ? -1 : 1;
	return strcmp(x->name, y->name);
}

int storage_gc(const struct storage *st, const char *kind, const char *ns, const char *name,
	       const char *keep, unsigned records)
{
	char *dir = object_dir(st, kind, ns, name);
	struct gc_entry *v = NULL;
	size_t n = 0, cap = 0, i;
	unsigned kept = keep ? 1 : 0;
	struct dirent *de;
	int removed = 0;
	DIR *d;

	d = opendir(dir);
	if (!d) {
		int r = errno == ENOENT ? 0 : -errno;

		free(dir);
		return r;
	}
	while ((de = readdir(d))) {
		struct stat sb;

		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(sb.st_mode))
			continue;
		if (keep && streq(de->d_name, keep))
			continue;
		if (str_endswith(de->d_name, ".tmp") || strstr(de->d_name, ".tmp.")) {
			if (unlinkat(dirfd(d), de->d_name, 0) == 0)
				removed++;
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[n].name = xstrdup(de->d_name);
		v[n].mtime = sb.st_mtim;
		n++;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_newest_first);
	for (i = 0; i < n; i++) {
		if (kept < records)
			kept++;
		else if (unlinkat(dirfd(d), v[i].name, 0) == 0)
			removed++;
		free(v[i].name);
	}
	free(v);
	closedir(d);
	free(dir);
	return removed;
}

int storage_archive(const struct storage *st, const char *kind, const char *ns, const char *name,
		    const char *file, const char *dir, artifact_skip_fn skip, void *payload,
		    unsigned records, char **ret_rel, struct artifact_info *ret_info,
		    const char **ret_reason, struct op_err *reterr)
{
	static const struct artifact_limits lim = ARTIFACT_LIMITS_DEFAULT;
	char *rel, *abs;
	int r;

	r = storage_mkdir(st, kind, ns, name, reterr);
	if (r < 0) {
		*ret_reason = "StorageOperationFailed";
		return r;
	}
	rel = storage_rel_path(kind, ns, name, file);
	abs = storage_abs(st, rel);
	r = artifact_archive(dir, skip, payload, &lim, abs, ret_info, reterr);
	free(abs);
	if (r < 0) {
		*ret_reason = "ArchiveOperationFailed";
		op_err_prefix(reterr, "unable to archive artifact to storage");
		free(rel);
		return r;
	}
	storage_gc(st, kind, ns, name, file, records);
	*ret_rel = rel;
	return 0;
}

cJSON *storage_artifact(const struct storage *st, const char *rel, const char *revision,
			const struct artifact_info *info, int64_t now_ns)
{
	cJSON *art = cJSON_CreateObject();
	char ts[RFC3339_MAX], *url = storage_url(st, rel);

	cJSON_AddStringToObject(art, "digest", info->digest);
	time_format_rfc3339(now_ns - now_ns % NSEC_PER_SEC, ts);
	cJSON_AddStringToObject(art, "lastUpdateTime", ts);
	cJSON_AddStringToObject(art, "path", rel);
	cJSON_AddStringToObject(art, "revision", revision);
	cJSON_AddNumberToObject(art, "size", (double)info->size);
	cJSON_AddStringToObject(art, "url", url);
	free(url);
	return art;
}

void storage_artifact_refresh(const struct storage *st, cJSON *artifact)
{
	const char *path = yj_get_str(artifact, "/path");
	char *url;

	if (!path)
		return;
	url = storage_url(st, path);
	cJSON_DeleteItemFromObjectCaseSensitive(artifact, "url");
	cJSON_AddStringToObject(artifact, "url", url);
	free(url);
}

char *storage_cache_dir(const struct storage *st, const char *kind, const char *ns,
			const char *name)
{
	char *rel = storage_rel_path(kind, ns, name, ""), *dir;

	dir = xasprintf("%s/.cache/%.*s", st->root, (int)(strlen(rel) - 1), rel); /* no '/' */
	free(rel);
	return dir;
}

int storage_remove_all(const struct storage *st, const char *kind, const char *ns,
		       const char *name)
{
	char *dir = object_dir(st, kind, ns, name);
	struct dirent *de;
	int r = 0;
	DIR *d;

	d = opendir(dir);
	if (!d) {
		r = errno == ENOENT ? 0 : -errno;
		free(dir);
		return r;
	}
	while ((de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
			r = -errno;
	}
	closedir(d);
	if (rmdir(dir) < 0 && errno != ENOENT && r == 0)
		r = -errno;
	free(dir);
	return r;
}

/* True if the entry `de` of `d` is a directory (not a symlink to one). */
static bool entry_is_dir(DIR *d, const struct dirent *de)
{
	struct stat sb;

	if (de->d_type != DT_UNKNOWN)
		return de->d_type == DT_DIR;
	return fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode);
}

/*
 * The sweep of one tree: <base>/<ns>/<name> for the lower-cased `kind`.
 * Returns how many directories were removed.
 */
static int sweep_tree(const char *base, const char *kind, storage_keep_fn keep, void *payload)
{
	DIR *nsd = opendir(base), *od;
	struct dirent *ns, *obj;
	int n = 0;

	if (!nsd)
		return 0;
	while ((ns = readdir(nsd))) {
		_cleanup_free_ char *nsdir = NULL;

		if (ns->d_name[0] == '.' || !entry_is_dir(nsd, ns))
			continue;
		nsdir = xasprintf("%s/%s", base, ns->d_name);
		od = opendir(nsdir);
		if (!od)
			continue;
		while ((obj = readdir(od))) {
			_cleanup_free_ char *dir = NULL;

			if (obj->d_name[0] == '.' || !entry_is_dir(od, obj) ||
			    keep(kind, ns->d_name, obj->d_name, payload))
				continue;
			dir = xasprintf("%s/%s", nsdir, obj->d_name);
			path_remove_all(dir);
			n++;
		}
		closedir(od);
		(void)rmdir(nsdir); /* only if empty */
	}
	closedir(nsd);
	return n;
}

int storage_sweep(const struct storage *st, const char *const *kinds, storage_keep_fn keep,
		  void *payload)
{
	int n = 0;

	for (; *kinds; kinds++) {
		char *rel = storage_rel_path(*kinds, "", "", ""), *base;

		rel[strlen(rel) - 3] = '\0'; /* "<kind>///": the kind alone */
		base = storage_abs(st, rel);
		n += sweep_tree(base, rel, keep, payload);
		free(base);
		base = xasprintf("%s/.cache/%s", st->root, rel);
		n += sweep_tree(base, rel, keep, payload);
		free(base);
		free(rel);
	}
	return n;
}

int storage_http_handler(const char *path, struct buf *out, char **ret_file, void *payload)
{
	const struct storage *st = payload;
	struct op_err err = OP_ERR_INIT;
	const char *p, *rel = path + 1;
	char *abs;

	if (streq(path, "/")) {
		buf_adds(out, "ok");
		return 200;
	}
	/* No hidden components: they cover ".." and the "*.tmp" never match anyway. */
	for (p = rel; *p; p++)
		if (*p == '.' && (p == rel || p[-1] == '/'))
			goto not_found;
	if (path_join_safe(st->root, rel, &abs, &err) < 0)
		goto not_found;
	*ret_file = abs;
	return 200;
not_found:
	buf_adds(out, "404 page not found\n");
	return 404;
}
