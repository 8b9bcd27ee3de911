/*
 * artifact.h: deterministic tar.gz artifacts and their safe extraction.
 *
 * An artifact is what a source reconciler hands to its consumers: the
 * tree of a Git commit, an OCI layer or a bucket, packed as a gzip'd tar.
 * Packing is deterministic, as Flux's storage does it, so the same tree
 * always gives the same bytes and the same `sha256:` digest on any
 * machine: entries in lexical order, relative paths, uid/gid 0, no user or
 * group names, zero times, modes normalised (directories 0750, files
 * 0600, executables 0700), only regular files and directories (symlinks
 * and specials are skipped), and no timestamp in the gzip header.
 *
 * Extraction is the consumer's side and treats the archive as hostile: no
 * absolute paths, no "..", no hard links or devices, symlinks skipped (as
 * Flux skips them) and refused when they point outside the tree, and limits
 * on the number of entries, each file's size and the total, checked
 * before and while writing — a 2 GB file or a million tiny files ends in
 * -EFBIG / -E2BIG with a message, not a full disk.
 *
 * These functions block (file I/O, compression, hashing): call them from
 * a uv_queue_work() worker, never on the loop thread.  They do not log.
 */
#ifndef CFLUX_SOURCE_ARTIFACT_H
#define CFLUX_SOURCE_ARTIFACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define ARTIFACT_DIGEST_MAX 72 /* "sha256:" + 64 hex + NUL */

struct artifact_limits {
	uint64_t max_entries;     /* files + directories */
	uint64_t max_file_bytes;  /* one file */
	uint64_t max_total_bytes; /* all files */
};
#define ARTIFACT_LIMITS_DEFAULT                                                                    \
	{ .max_entries = 100000, .max_file_bytes = 256ull << 20, .max_total_bytes = 1ull << 30 }

/*
 * Decide whether to leave `rel` (a path relative to the root, "a/b.yaml")
 * out of an archive; `is_dir` says if it is a directory.  ARTIFACT_KEEP
 * packs it; ARTIFACT_SKIP leaves it out, for a directory with its whole
 * subtree; ARTIFACT_SKIP_ENTRY (directories only) leaves out the
 * directory's own entry but still visits what is inside, for rules that
 * can re-include a file below an excluded directory (gitignore's "!").
 */
enum artifact_skip {
	ARTIFACT_KEEP,
	ARTIFACT_SKIP,
	ARTIFACT_SKIP_ENTRY,
};
typedef enum artifact_skip (*artifact_skip_fn)(const char *rel, bool is_dir, void *payload);

struct artifact_info {
	char digest[ARTIFACT_DIGEST_MAX]; /* "sha256:<hex>" of the .tar.gz bytes */
	uint64_t size;                    /* bytes of the .tar.gz */
	uint64_t files;                   /* regular files packed */
};

/*
 * Pack the tree under `dir` into `out_path` (written to a temporary file
 * beside it and renamed into place, so readers never see half an
 * archive).  `skip` may be NULL.  On success returns 0 and fills *ret;
 * on failure returns a negative errno, reterr says what and where, and
 * nothing is left at out_path.  The limits bound what is packed too.
 */
int artifact_archive(const char *dir, artifact_skip_fn skip, void *payload,
		     const struct artifact_limits *lim, const char *out_path,
		     struct artifact_info *ret, struct op_err *reterr);

/*
 * Unpack `tgz` into the existing, empty directory `dest` under `lim`.  On
 * failure `dest` may hold part of the tree; the caller removes it.
 */
int artifact_extract(const char *tgz, const char *dest, const struct artifact_limits *lim,
		     struct op_err *reterr);

/*
 * One entry of an archive read in memory (artifact_read_mem()): its path
 * exactly as the archive spells it, its kind, and for a regular file its
 * bytes (borrowed for the duration of the call; NUL-terminated, so text
 * can be used as a string).  Directories have no bytes.  Symbolic and
 * hard links come as ARTIFACT_ENTRY_LINK with no bytes: the caller decides
 * (nothing is ever followed or created).
 */
enum artifact_entry_kind {
	ARTIFACT_ENTRY_FILE,
	ARTIFACT_ENTRY_DIR,
	ARTIFACT_ENTRY_LINK,
};
typedef int (*artifact_entry_fn)(const char *name, enum artifact_entry_kind kind,
				 const char *data, size_t len, void *payload);

/*
 * Read the gzip'd tar `tgz` (`len` bytes in memory), calling `fn` for
 * every entry in archive order.  Devices, FIFOs and other special entries
 * are refused; pax and GNU extension headers are applied, not reported.
 * `lim` bounds entries, each file's size and the total (checked against
 * the header before reading and against the bytes while reading, so a
 * header that lies or a gzip bomb ends in -EFBIG, not a large
 * allocation).  A negative return from `fn` stops the walk and is
 * returned as is (fn fills reterr itself).  On corrupt input: -EINVAL.
 */
int artifact_read_mem(const void *tgz, size_t len, const struct artifact_limits *lim,
		      artifact_entry_fn fn, void *payload, struct op_err *reterr);

/* "sha256:<hex>" of a file's bytes. */
int artifact_digest_file(const char *path, char ret[ARTIFACT_DIGEST_MAX], uint64_t *ret_size,
			 struct op_err *reterr);

#endif
