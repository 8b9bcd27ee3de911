/*
 * path.h: lexical path cleaning and a safe join under a root directory.
 *
 * Every path that comes from a source (a Git tree, an archive, a
 * kustomization's `resources:` list) is untrusted.  path_join_safe() is the
 * one gate through which such a path becomes a file-system path: it refuses
 * absolute paths, any ".." component, and any symlink on the way whose
 * target leaves the root, so a hostile repository cannot make us read
 * /etc/passwd or write outside our storage.
 *
 * path_write_file() and path_remove_all() create a file of ours and
 * remove a directory of ours with everything below it.
 */
#ifndef CFLUX_BASE_PATH_H
#define CFLUX_BASE_PATH_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Longest path we accept anywhere (Linux PATH_MAX). */
#define PATH_MAX_LEN 4096
/* Most symlinks followed while checking one path (Linux's limit). */
#define PATH_MAX_SYMLINKS 40

/*
 * Clean `path` lexically, as Go's filepath.Clean: collapse "//", drop "."
 * components, resolve "x/.." pairs, strip a trailing "/"; "" becomes ".".
 * Returns a new string the caller frees.  ".." components that cannot be
 * resolved lexically are kept ("../a" stays "../a").
 */
char *path_clean(const char *path);

/*
 * Join `rel` under the directory `root` (an absolute or relative path that
 * is trusted).  Fails with -EINVAL if `rel` is absolute or has a ".."
 * component, -ENAMETOOLONG if too long, and -ELOOP if a symlink inside the
 * root, at any depth, points outside it (or there are too many links).
 * Components that do not exist yet are allowed (the caller may create
 * them).  On success stores "<root>/<cleaned rel>" (or root itself for ""
 * or ".") in *ret (caller frees) and returns 0; on failure *ret is
 * untouched and reterr names the offending path.
 */
int path_join_safe(const char *root, const char *rel, char **ret, struct op_err *reterr);

/*
 * Create the file `path` (it must not exist; a symlink there is not
 * followed) with `mode` and the `len` bytes at `data`.  0 or -errno.
 */
int path_write_file(const char *path, const void *data, size_t len, unsigned mode);

/*
 * The entries of the directory `dir` ("." and ".." left out), sorted
 * bytewise, as directory walks visit them: on success 0, *ret (release
 * with path_names_free()) and *ret_n; on failure -errno.
 */
int path_list_dir(const char *dir, char ***ret, size_t *ret_n);
void path_names_free(char **names, size_t n);

/*
 * Read the regular file `path` (symbolic links followed) into a new
 * NUL-terminated buffer: on success 0, *ret (caller frees) and *ret_len.
 * -EFBIG when it holds more than `max` bytes (checked before reading and
 * while reading), -EISDIR when it is not a regular file, else -errno.
 */
int path_read_file(const char *path, size_t max, char **ret, size_t *ret_len);

/*
 * Remove `dir` and everything below it, as `rm -rf`: symlinks are
 * removed, never followed; a missing `dir` is not an error.  Best effort:
 * what cannot be removed is left.
 */
void path_remove_all(const char *dir);

/*
 * The bytes of the regular files under `dir` (their sizes; symlinks are
 * not followed), 0 if it is missing.  Best effort, as path_remove_all().
 */
uint64_t path_tree_bytes(const char *dir);

#endif
