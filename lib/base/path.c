/*
 * path.c: path cleaning and the safe join (see path.h).
 *
 * DESIGN
 * path_join_safe() first refuses what is wrong lexically (absolute, "..").
 * Then it walks the cleaned relative path one component at a time, keeping
 * a "virtual" path relative to the root.  When a component is a symlink,
 * its target is spliced in (relative to the link's directory; an absolute
 * target is refused outright, since it names the host's file system, not
 * the source's) and cleaned; if the result starts with "..", the link
 * escapes and the join fails.  This is the chroot-style evaluation of
 * securejoin, except that we refuse where securejoin would clamp: a
 * repository whose links point outside itself is broken or hostile, and the
 * user should hear about it.
 * Only lstat()/readlink() are used; nothing is opened, so the check is
 * cheap.  It is a check at one moment: sources are extracted into
 * directories only the operator writes, so nothing races it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/path.h"
#include "base/banned.h"

char *path_clean(const char *path)
{
	size_t n = strlen(path), r = 0, w = 0, dotdot = 0;
	bool rooted = path[0] == '/';
	char *out = xmalloc(n + 2);

	if (n == 0) {
		out[0] = '.';
		out[1] = '\0';
		return out;
	}
	if (rooted) {
		out[w++] = '/';
		r = 1;
		dotdot = 1;
	}
	while (r < n) {
		if (path[r] == '/') {
			r++;
		} else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
			r++;
		} else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				/* Back up over the last component. */
				w--;
				while (w > dotdot && out[w] != '/')
					w--;
			} else if (!rooted) {
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				out[w++] = '/';
			for (; r < n && path[r] != '/'; r++)
				out[w++] = path[r];
		}
	}
	if (w == 0)
		out[w++] = '.';
	out[w] = '\0';
	return out;
}

/* A cleaned relative path that climbs out of its root. */
static bool escapes(const char *clean)
{
	return clean[0] == '.' && clean[1] == '.' && (clean[2] == '\0' || clean[2] == '/');
}

static bool has_dotdot(const char *p)
{
	const char *s = p;

	while ((s = strstr(s, "..")) != NULL) {
		if ((s == p || s[-1] == '/') && (s[2] == '\0' || s[2] == '/'))
			return true;
		s += 2;
	}
	return false;
}

int path_join_safe(const char *root, const char *rel, char **ret, struct op_err *reterr)
{
	_cleanup_free_ char *virt = NULL, *todo = NULL;
	struct buf full = BUF_INIT(PATH_MAX_LEN);
	int links = 0, r;

	if (strlen(rel) >= PATH_MAX_LEN || strlen(root) >= PATH_MAX_LEN)
		return op_err_set(reterr, -ENAMETOOLONG, "path '%.64s...' is too long", rel);
	if (rel[0] == '/')
		return op_err_set(reterr, -EINVAL, "path '%s' is absolute", rel);
	if (has_dotdot(rel))
		return op_err_set(reterr, -EINVAL, "path '%s' leaves its root", rel);

	/* `virt`: resolved so far, relative to root; `todo`: still to walk. */
	virt = xstrdup("");
	todo = path_clean(rel);
	while (todo[0] && !(todo[0] == '.' && todo[1] == '\0')) {
		_cleanup_free_ char *comp = NULL, *cand = NULL, *abs = NULL;
		char *slash = strchr(todo, '/'), target[PATH_MAX_LEN];
		struct stat st;
		ssize_t tn;

		comp = slash ? xstrndup(todo, (size_t)(slash - todo)) : xstrdup(todo);
		memmove(todo, slash ? slash + 1 : todo + strlen(todo),
			strlen(slash ? slash + 1 : todo + strlen(todo)) + 1);
		cand = virt[0] ? xasprintf("%s/%s", virt, comp) : xstrdup(comp);
		abs = xasprintf("%s/%s", root, cand);
		if (lstat(abs, &st) < 0 || !S_ISLNK(st.st_mode)) {
			/* Missing components may be created later; plain ones are fine. */
			free(virt);
			virt = TAKE_PTR(cand);
			continue;
		}
		if (++links > PATH_MAX_SYMLINKS)
			return op_err_set(reterr, -ELOOP, "path '%s': too many symlinks", rel);
		tn = readlink(abs, target, sizeof(target) - 1);
		if (tn < 0)
			return op_err_set(reterr, -errno, "path '%s': cannot read link '%s': %s", rel,
					  cand, op_strerror(errno));
		target[tn] = '\0';
		if (target[0] == '/')
			return op_err_set(reterr, -ELOOP,
					  "path '%s': symlink '%s' points outside the root", rel, cand);
		{
			/* Splice: <dir of link>/<target>/<rest>, cleaned. */
			_cleanup_free_ char *joined = NULL, *clean = NULL;

			joined = xasprintf("%s%s%s%s%s", virt, virt[0] ? "/" : "", target,
					   todo[0] ? "/" : "", todo);
			clean = path_clean(joined);
			if (escapes(clean))
				return op_err_set(reterr, -ELOOP,
						  "path '%s': symlink '%s' points outside the root", rel,
						  cand);
			free(todo);
			todo = TAKE_PTR(clean);
			free(virt);
			virt = xstrdup("");
		}
	}
	if (virt[0])
		r = buf_addf(&full, "%s/%s", root, virt);
	else
		r = buf_adds(&full, root);
	if (r < 0) {
		buf_release(&full);
		return op_err_set(reterr, -ENAMETOOLONG, "path '%.64s...' is too long", rel);
	}
	*ret = buf_detach(&full, NULL);
	return 0;
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

void path_remove_all(const char *dir)
{
	nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* nftw() has no payload: the walk's sum, per thread (workers walk at once). */
static _Thread_local uint64_t tree_bytes;

static int add_bytes(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)p, (void)ftw;
	if (flag == FTW_F && S_ISREG(st->st_mode))
		tree_bytes += (uint64_t)st->st_size;
	return 0;
}

uint64_t path_tree_bytes(const char *dir)
{
	tree_bytes = 0;
	nftw(dir, add_bytes, 16, FTW_PHYS);
	return tree_bytes;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int path_list_dir(const char *dir, char ***ret, size_t *ret_n)
{
	char **names = NULL;
	size_t n = 0, alloc = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		XGROW(names, n + 1, alloc);
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	*ret = names;
	*ret_n = n;
	return 0;
}

void path_names_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int path_read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	struct stat st;
	size_t got = 0;
	char *data;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -EISDIR;
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return -EFBIG;
	}
	data = xmalloc((size_t)st.st_size + 1);
	/* A file that grows while we read is cut at the size fstat() saw. */
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, data + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			free(data);
			close(fd);
			return -e;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	data[got] = '\0';
	*ret = data;
	if (ret_len)
		*ret_len = got;
	return 0;
}

int path_write_file(const char *path, const void *data, size_t len, unsigned mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, (mode_t)mode);
	const char *p = data;

	if (fd < 0)
		return -errno;
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? errno : EIO;

			close(fd);
			return -e;
		}
		p += w;
		len -= (size_t)w;
	}
	return close(fd) < 0 ? -errno : 0;
}
