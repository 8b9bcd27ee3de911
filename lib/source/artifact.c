/*
 * artifact.c: deterministic packing and safe unpacking (see artifact.h).
 *
 * DESIGN
 * Packing walks the tree itself (readdir, names sorted bytewise, lstat so
 * links are never followed) and feeds libarchive entries whose headers it
 * builds from scratch: nothing from the file system but the bytes, the
 * size and the executable bit reaches the archive, which is what makes it
 * reproducible.  libarchive's gzip filter is told to leave out its
 * timestamp.  The compressed bytes pass through one write callback that
 * writes them to the temporary file and hashes them, so the digest costs
 * no second read.
 *
 * Unpacking does not use archive_write_disk(): every entry's path goes
 * through path_join_safe() (no absolute path, no "..", no symlink on the
 * way), files are created with O_EXCL|O_NOFOLLOW, and bytes are counted
 * as they are written, so a header that lies about its size cannot get
 * past the limits.
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <mbedtls/sha256.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/dl.h"
#include "base/path.h"
#include "base/str.h"
#include "source/artifact.h"
#include "base/banned.h"

#define MAX_DEPTH 256

/*
 * libarchive is opened at its first use (base/dl.h): a process that never
 * packs or unpacks an archive does not load it and the libraries it
 * needs.  The soname is libarchive 3's ABI.
 */
#define ARCHIVE_FUNCS(X) \
	X(archive_entry_filetype) \
	X(archive_entry_free) \
	X(archive_entry_hardlink) \
	X(archive_entry_new) \
	X(archive_entry_pathname) \
	X(archive_entry_perm) \
	X(archive_entry_set_filetype) \
	X(archive_entry_set_pathname) \
	X(archive_entry_set_perm) \
	X(archive_entry_set_size) \
	X(archive_entry_size) \
	X(archive_entry_symlink) \
	X(archive_error_string) \
	X(archive_read_data_block) \
	X(archive_read_free) \
	X(archive_read_new) \
	X(archive_read_next_header) \
	X(archive_read_open_filename) \
	X(archive_read_open_memory) \
	X(archive_read_support_filter_gzip) \
	X(archive_read_support_format_tar) \
	X(archive_set_error) \
	X(archive_write_add_filter_gzip) \
	X(archive_write_close) \
	X(archive_write_data) \
	X(archive_write_free) \
	X(archive_write_header) \
	X(archive_write_new) \
	X(archive_write_open) \
	X(archive_write_set_format_pax_restricted) \
	X(archive_write_set_options)
DL_DEFINE(archive_lib, "libarchive.so.13", ARCHIVE_FUNCS);
#define archive_entry_filetype (*dl_archive_entry_filetype)
#define archive_entry_free (*dl_archive_entry_free)
#define archive_entry_hardlink (*dl_archive_entry_hardlink)
#define archive_entry_new (*dl_archive_entry_new)
#define archive_entry_pathname (*dl_archive_entry_pathname)
#define archive_entry_perm (*dl_archive_entry_perm)
#define archive_entry_set_filetype (*dl_archive_entry_set_filetype)
#define archive_entry_set_pathname (*dl_archive_entry_set_pathname)
#define archive_entry_set_perm (*dl_archive_entry_set_perm)
#define archive_entry_set_size (*dl_archive_entry_set_size)
#define archive_entry_size (*dl_archive_entry_size)
#define archive_entry_symlink (*dl_archive_entry_symlink)
#define archive_error_string (*dl_archive_error_string)
#define archive_read_data_block (*dl_archive_read_data_block)
#define archive_read_free (*dl_archive_read_free)
#define archive_read_new (*dl_archive_read_new)
#define archive_read_next_header (*dl_archive_read_next_header)
#define archive_read_open_filename (*dl_archive_read_open_filename)
#define archive_read_open_memory (*dl_archive_read_open_memory)
#define archive_read_support_filter_gzip (*dl_archive_read_support_filter_gzip)
#define archive_read_support_format_tar (*dl_archive_read_support_format_tar)
#define archive_set_error (*dl_archive_set_error)
#define archive_write_add_filter_gzip (*dl_archive_write_add_filter_gzip)
#define archive_write_close (*dl_archive_write_close)
#define archive_write_data (*dl_archive_write_data)
#define archive_write_free (*dl_archive_write_free)
#define archive_write_header (*dl_archive_write_header)
#define archive_write_new (*dl_archive_write_new)
#define archive_write_open (*dl_archive_write_open)
#define archive_write_set_format_pax_restricted (*dl_archive_write_set_format_pax_restricted)
#define archive_write_set_options (*dl_archive_write_set_options)

struct packer {
	struct archive *a;
	int fd;
	mbedtls_sha256_context sha;
	uint64_t size;
	int werr;
	const char *root;
	artifact_skip_fn skip;
	void *payload;
	const struct artifact_limits *lim;
	uint64_t entries, total, files;
	struct op_err *err;
};

static void hex_digest(const unsigned char sum[32], char out[ARTIFACT_DIGEST_MAX])
{
	static const char hex[] = "0123456789abcdef";
	int i;

	memcpy(out, "sha256:", 7);
	for (i = 0; i < 32; i++) {
		out[7 + 2 * i] = hex[sum[i] >> 4];
		out[8 + 2 * i] = hex[sum[i] & 15];
	}
	out[71] = '\0';
}

static la_ssize_t write_cb(struct archive *a, void *client, const void *buf, size_t n)
{
	struct packer *p = client;
	const char *s = buf;
	size_t off = 0;

	while (off < n) {
		ssize_t w = write(p->fd, s + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			p->werr = -errno;
			archive_set_error(a, errno, "write failed");
			return -1;
		}
		off += (size_t)w;
	}
	mbedtls_sha256_update_ret(&p->sha, buf, n);
	p->size += n;
	return (la_ssize_t)n;
}

static int arch_fail(struct packer *p, const char *what)
{
	return op_err_set(p->err, p->werr ? p->werr : -EIO, "%s: %s", what,
			  archive_error_string(p->a) ? archive_error_string(p->a) : "archive error");
}

static int add_file(struct packer *p, const char *abs, const char *rel, const struct stat *st)
{
	struct archive_entry *e;
	char buf[65536];
	uint64_t left = (uint64_t)st->st_size;
	int fd, r = 0;

	if ((uint64_t)st->st_size > p->lim->max_file_bytes)
		return op_err_set(p->err, -EFBIG, "file '%s' is %lld bytes, over the limit of %llu",
				  rel, (long long)st->st_size,
				  (unsigned long long)p->lim->max_file_bytes);
	p->total += (uint64_t)st->st_size;
	if (p->total > p->lim->max_total_bytes)
		return op_err_set(p->err, -EFBIG, "the tree is over the limit of %llu bytes at '%s'",
				  (unsigned long long)p->lim->max_total_bytes, rel);
	fd = open(abs, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return op_err_set(p->err, -errno, "cannot open '%s': %s", rel, op_strerror(errno));
	e = archive_entry_new();
	archive_entry_set_pathname(e, rel);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, (st->st_mode & 0111) ? 0700 : 0600);
	archive_entry_set_size(e, st->st_size);
	if (archive_write_header(p->a, e) != ARCHIVE_OK) {
		r = arch_fail(p, rel);
		goto out;
	}
	while (left > 0) {
		ssize_t n = read(fd, buf, MIN(sizeof(buf), left));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* The file shrank under us: the archive would be corrupt. */
			r = op_err_set(p->err, n < 0 ? -errno : -EIO, "cannot read '%s'", rel);
			goto out;
		}
		if (archive_write_data(p->a, buf, (size_t)n) < 0) {
			r = arch_fail(p, rel);
			goto out;
		}
		left -= (uint64_t)n;
	}
	p->files++;
out:
	archive_entry_free(e);
	close(fd);
	return r;
}

static int walk(struct packer *p, const char *rel, int depth)
{
	_cleanup_free_ char *abs = rel[0] ? xasprintf("%s/%s", p->root, rel) : xstrdup(p->root);
	char **names = NULL;
	size_t n = 0, i;
	int r = 0;

	if (depth > MAX_DEPTH)
		return op_err_set(p->err, -ELOOP, "directory '%s' is nested too deep", rel);
	r = path_list_dir(abs, &names, &n);
	if (r < 0)
		return op_err_set(p->err, r, "cannot read directory '%s': %s", rel[0] ? rel : ".",
				  op_strerror(r));
	for (i = 0; i < n && r == 0; i++) {
		_cleanup_free_ char *crel = rel[0] ? xasprintf("%s/%s", rel, names[i]) :
						      xstrdup(names[i]);
		_cleanup_free_ char *cabs = xasprintf("%s/%s", p->root, crel);
		enum artifact_skip skip;
		struct stat st;

		if (lstat(cabs, &st) < 0) {
			r = op_err_set(p->err, -errno, "cannot stat '%s': %s", crel,
				       op_strerror(errno));
			break;
		}
		if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
			continue; /* symlinks and specials are not packed */
		skip = p->skip ? p->skip(crel, S_ISDIR(st.st_mode), p->payload) : ARTIFACT_KEEP;
		if (skip == ARTIFACT_SKIP)
			continue;
		if (skip == ARTIFACT_SKIP_ENTRY && S_ISDIR(st.st_mode)) {
			r = walk(p, crel, depth + 1);
			continue;
		}
		if (++p->entries > p->lim->max_entries) {
			r = op_err_set(p->err, -E2BIG, "the tree has more than %llu entries",
				       (unsigned long long)p->lim->max_entries);
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			struct archive_entry *e = archive_entry_new();

			archive_entry_set_pathname(e, crel);
			archive_entry_set_filetype(e, AE_IFDIR);
			archive_entry_set_perm(e, 0750);
			if (archive_write_header(p->a, e) != ARCHIVE_OK)
				r = arch_fail(p, crel);
			archive_entry_free(e);
			if (r == 0)
				r = walk(p, crel, depth + 1);
		} else {
			r = add_file(p, cabs, crel, &st);
		}
	}
	path_names_free(names, n);
	return r;
}

int artifact_archive(const char *dir, artifact_skip_fn skip, void *payload,
		     const struct artifact_limits *lim, const char *out_path,
		     struct artifact_info *ret, struct op_err *reterr)
{
	static const struct artifact_limits dflt = ARTIFACT_LIMITS_DEFAULT;
	_cleanup_free_ char *tmp = xasprintf("%s.tmp.XXXXXX", out_path);
	struct packer p = { 0 };
	unsigned char sum[32];
	int r = dl_load(&archive_lib, reterr);

	if (r < 0)
		return r;
	p.fd = mkostemp(tmp, O_CLOEXEC);
	if (p.fd < 0)
		return op_err_set(reterr, -errno, "cannot create '%s': %s", out_path,
				  op_strerror(errno));
	p.root = dir;
	p.skip = skip;
	p.payload = payload;
	p.lim = lim ? lim : &dflt;
	p.err = reterr;
	mbedtls_sha256_init(&p.sha);
	mbedtls_sha256_starts_ret(&p.sha, 0);
	p.a = archive_write_new();
	if (archive_write_set_format_pax_restricted(p.a) != ARCHIVE_OK ||
	    archive_write_add_filter_gzip(p.a) != ARCHIVE_OK ||
	    archive_write_set_options(p.a, "gzip:!timestamp") != ARCHIVE_OK ||
	    archive_write_open(p.a, &p, NULL, write_cb, NULL) != ARCHIVE_OK) {
		r = arch_fail(&p, "cannot start the archive");
		goto out;
	}
	r = walk(&p, "", 0);
	if (r == 0 && archive_write_close(p.a) != ARCHIVE_OK)
		r = arch_fail(&p, "cannot finish the archive");
	if (r == 0 && fsync(p.fd) < 0)
		r = op_err_set(reterr, -errno, "cannot write '%s': %s", out_path, op_strerror(errno));
out:
	archive_write_free(p.a);
	mbedtls_sha256_finish_ret(&p.sha, sum);
	mbedtls_sha256_free(&p.sha);
	close(p.fd);
	if (r == 0 && rename(tmp, out_path) < 0)
		r = op_err_set(reterr, -errno, "cannot rename to '%s': %s", out_path,
			       op_strerror(errno));
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	hex_digest(sum, ret->digest);
	ret->size = p.size;
	ret->files = p.files;
	return 0;
}

int artifact_digest_file(const char *path, char ret[ARTIFACT_DIGEST_MAX], uint64_t *ret_size,
			 struct op_err *reterr)
{
	mbedtls_sha256_context sha;
	unsigned char sum[32], buf[65536];
	uint64_t size = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return op_err_set(reterr, -errno, "cannot open '%s': %s", path, op_strerror(errno));
	mbedtls_sha256_init(&sha);
	mbedtls_sha256_starts_ret(&sha, 0);
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = -errno;

			close(fd);
			mbedtls_sha256_free(&sha);
			return op_err_set(reterr, e, "cannot read '%s': %s", path, op_strerror(-e));
		}
		mbedtls_sha256_update_ret(&sha, buf, (size_t)n);
		size += (uint64_t)n;
	}
	close(fd);
	mbedtls_sha256_finish_ret(&sha, sum);
	mbedtls_sha256_free(&sha);
	hex_digest(sum, ret);
	if (ret_size)
		*ret_size = size;
	return 0;
}

/* mkdir -p for `rel` under `dest`, every component checked. */
static int make_dirs(const char *dest, const char *rel, struct op_err *err)
{
	_cleanup_free_ char *copy = xstrdup(rel);
	char *s;
	int r;

	for (s = copy;; s++) {
		if (*s == '/' || *s == '\0') {
			char save = *s;
			_cleanup_free_ char *abs = NULL;

			*s = '\0';
			r = path_join_safe(dest, copy, &abs, err);
			if (r < 0)
				return r;
			if (mkdir(abs, 0750) < 0 && errno != EEXIST)
				return op_err_set(err, -errno, "cannot create '%s': %s", copy,
						  op_strerror(errno));
			*s = save;
			if (!save)
				break;
		}
	}
	return 0;
}

/*
 * -EINVAL if the symlink `name` -> `target` points outside the tree (an
 * absolute target, or more ".." than its directory is deep); else 0.
 */
static int symlink_escapes(const char *name, const char *target, struct op_err *err)
{
	_cleanup_free_ char *dir = path_clean(name), *joined = NULL, *clean = NULL;
	char *slash = strrchr(dir, '/');

	if (!target || !*target || target[0] == '/')
		return op_err_set(err, -EINVAL, "artifact entry '%s' is a symlink to '%s', outside "
				  "the tree", name, target ? target : "");
	if (slash)
		*slash = '\0';
	joined = slash ? xasprintf("%s/%s", dir, target) : xstrdup(target);
	clean = path_clean(joined);
	if (streq(clean, "..") || str_startswith(clean, "../"))
		return op_err_set(err, -EINVAL, "artifact entry '%s' is a symlink to '%s', outside "
				  "the tree", name, target);
	return 0;
}

int artifact_extract(const char *tgz, const char *dest, const struct artifact_limits *lim,
		     struct op_err *reterr)
{
	static const struct artifact_limits dflt = ARTIFACT_LIMITS_DEFAULT;
	struct archive *a;
	struct archive_entry *e;
	uint64_t entries = 0, total = 0;
	int r = dl_load(&archive_lib, reterr), ar;

	if (r < 0)
		return r;
	a = archive_read_new();
	if (!lim)
		lim = &dflt;
	archive_read_support_filter_gzip(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, tgz, 65536) != ARCHIVE_OK) {
		r = op_err_set(reterr, -EINVAL, "cannot open artifact '%s': %s", tgz,
			       archive_error_string(a));
		goto out;
	}
	while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		mode_t type = archive_entry_filetype(e);
		_cleanup_free_ char *clean = NULL, *abs = NULL;
		char *slash;
		int64_t declared = archive_entry_size(e);
		uint64_t written = 0;
		const void *block;
		size_t bsize;
		la_int64_t boff;
		int fd;

		if (!name || !*name) {
			r = op_err_set(reterr, -EINVAL, "artifact has an entry without a name");
			break;
		}
		if (++entries > lim->max_entries) {
			r = op_err_set(reterr, -E2BIG, "artifact has more than %llu entries",
				       (unsigned long long)lim->max_entries);
			break;
		}
		if (type == AE_IFLNK) {
			/*
			 * As Flux, symlinks are not extracted; one that would
			 * lead out of the tree says the archive is hostile.
			 */
			r = symlink_escapes(name, archive_entry_symlink(e), reterr);
			if (r < 0)
				break;
			continue;
		}
		if (type != AE_IFDIR && type != AE_IFREG) {
			r = op_err_set(reterr, -EINVAL, "artifact entry '%s' is not a file or directory",
				       name);
			break;
		}
		clean = path_clean(name);
		if (streq(clean, "."))
			continue;
		r = path_join_safe(dest, clean, &abs, reterr);
		if (r < 0) {
			op_err_prefix(reterr, "artifact entry");
			break;
		}
		if (type == AE_IFDIR) {
			r = make_dirs(dest, clean, reterr);
			if (r < 0)
				break;
			continue;
		}
		if (declared < 0 || (uint64_t)declared > lim->max_file_bytes) {
			r = op_err_set(reterr, -EFBIG, "artifact file '%s' is %lld bytes, over the "
				       "limit of %llu", clean, (long long)declared,
				       (unsigned long long)lim->max_file_bytes);
			break;
		}
		if (total + (uint64_t)declared > lim->max_total_bytes) {
			r = op_err_set(reterr, -EFBIG, "artifact is over the limit of %llu bytes at "
				       "'%s'", (unsigned long long)lim->max_total_bytes, clean);
			break;
		}
		slash = strrchr(clean, '/');
		if (slash) {
			*slash = '\0';
			r = make_dirs(dest, clean, reterr);
			*slash = '/';
			if (r < 0)
				break;
		}
		/* The entry's permissions under the umask, as Flux's untar; always ours to read. */
		fd = open(abs, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			  (archive_entry_perm(e) & 0777) | 0600);
		if (fd < 0) {
			r = op_err_set(reterr, -errno, "cannot create '%s': %s", clean,
				       op_strerror(errno));
			break;
		}
		while ((ar = archive_read_data_block(a, &block, &bsize, &boff)) == ARCHIVE_OK) {
			const char *s = block;
			size_t off = 0;

			/* Sparse entries place blocks at offsets; the holes read as zeros. */
			if (boff < 0 || (uint64_t)boff + bsize > (uint64_t)declared) {
				r = op_err_set(reterr, -EFBIG, "artifact file '%s' is larger than "
					       "declared", clean);
				break;
			}
			written = MAX(written, (uint64_t)boff + bsize);
			while (off < bsize) {
				ssize_t w = pwrite(fd, s + off, bsize - off, boff + (off_t)off);

				if (w < 0 && errno == EINTR)
					continue;
				if (w < 0) {
					r = op_err_set(reterr, -errno, "cannot write '%s': %s",
						       clean, op_strerror(errno));
					break;
				}
				off += (size_t)w;
			}
			if (r < 0)
				break;
		}
		/* A hole at the end: the file is as long as declared. */
		if (r == 0 && ar == ARCHIVE_EOF && written < (uint64_t)declared &&
		    ftruncate(fd, declared) < 0)
			r = op_err_set(reterr, -errno, "cannot write '%s': %s", clean,
				       op_strerror(errno));
		close(fd);
		if (r < 0)
			break;
		if (ar != ARCHIVE_EOF) {
			r = op_err_set(reterr, -EINVAL, "corrupt artifact at '%s': %s", clean,
				       archive_error_string(a));
			break;
		}
		total += (uint64_t)declared;
	}
	if (r == 0 && ar != ARCHIVE_EOF)
		r = op_err_set(reterr, -EINVAL, "corrupt artifact '%s': %s", tgz,
			       archive_error_string(a));
out:
	archive_read_free(a);
	return r;
}

int artifact_read_mem(const void *tgz, size_t len, const struct artifact_limits *lim,
		      artifact_entry_fn fn, void *payload, struct op_err *reterr)
{
	static const struct artifact_limits dflt = ARTIFACT_LIMITS_DEFAULT;
	struct archive *a;
	struct archive_entry *e;
	uint64_t entries = 0, total = 0;
	char *data = NULL;
	int r = dl_load(&archive_lib, reterr), ar;

	if (r < 0)
		return r;
	a = archive_read_new();
	if (!lim)
		lim = &dflt;
	archive_read_support_filter_gzip(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_memory(a, tgz, len) != ARCHIVE_OK) {
		r = op_err_set(reterr, -EINVAL, "not a gzip'd tar archive: %s",
			       archive_error_string(a) ? archive_error_string(a) : "unknown format");
		goto out;
	}
	while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		mode_t type = archive_entry_filetype(e);
		int64_t declared = archive_entry_size(e);
		uint64_t got = 0;
		const void *block;
		size_t bsize;
		la_int64_t boff;

		if (!name)
			name = "";
		if (++entries > lim->max_entries) {
			r = op_err_set(reterr, -E2BIG, "archive has more than %llu entries",
				       (unsigned long long)lim->max_entries);
			break;
		}
		if (type == AE_IFDIR) {
			r = fn(name, ARTIFACT_ENTRY_DIR, NULL, 0, payload);
		} else if (type == AE_IFLNK || archive_entry_hardlink(e)) {
			r = fn(name, ARTIFACT_ENTRY_LINK, NULL, 0, payload);
		} else if (type != AE_IFREG) {
			r = op_err_set(reterr, -EINVAL, "archive entry '%s' is not a file or directory",
				       name);
		} else if (declared < 0 || (uint64_t)declared > lim->max_file_bytes) {
			r = op_err_set(reterr, -EFBIG, "archive file '%s' is %lld bytes, over the limit "
				       "of %llu", name, (long long)declared,
				       (unsigned long long)lim->max_file_bytes);
		} else if (total + (uint64_t)declared > lim->max_total_bytes) {
			r = op_err_set(reterr, -EFBIG, "archive is over the limit of %llu bytes at '%s'",
				       (unsigned long long)lim->max_total_bytes, name);
		} else {
			data = xmalloc((size_t)declared + 1);
			while ((ar = archive_read_data_block(a, &block, &bsize, &boff)) ==
			       ARCHIVE_OK) {
				/* Sparse entries place blocks at offsets: honour them, bounded. */
				if (boff < 0 || (uint64_t)boff + bsize > (uint64_t)declared) {
					r = op_err_set(reterr, -EFBIG, "archive file '%s' is larger than "
						       "declared", name);
					break;
				}
				if ((uint64_t)boff > got)
					memset(data + got, 0, (size_t)((uint64_t)boff - got));
				memcpy(data + boff, block, bsize);
				got = MAX(got, (uint64_t)boff + bsize);
			}
			if (r == 0 && ar != ARCHIVE_EOF)
				r = op_err_set(reterr, -EINVAL, "corrupt archive at '%s': %s", name,
					       archive_error_string(a));
			if (r == 0) {
				if (got < (uint64_t)declared)
					memset(data + got, 0, (size_t)((uint64_t)declared - got));
				data[declared] = '\0';
				total += (uint64_t)declared;
				r = fn(name, ARTIFACT_ENTRY_FILE, data, (size_t)declared, payload);
			}
			free(data);
			data = NULL;
		}
		if (r < 0)
			break;
	}
	if (r == 0 && ar != ARCHIVE_EOF)
		r = op_err_set(reterr, -EINVAL, "corrupt archive: %s", archive_error_string(a));
out:
	archive_read_free(a);
	return r;
}
