/*
 * ignore.h: which files of a source tree go into its artifact —
 * gitignore-syntax rules as source-controller applies them.
 *
 * Rules come from three places, in this order (later rules win, as lines
 * later in one .gitignore win):
 *   1. the defaults (Flux's: VCS metadata, CI files, images and archives)
 *      — or, when the object has `spec.ignore`, that text instead;
 *   2. `.sourceignore` files found in the tree, each scoped to its own
 *      directory, read lazily as the walk reaches that directory;
 * Syntax (gitignore(5)): blank lines and "#" comments are skipped;
 * trailing unescaped spaces dropped; "!" re-includes; a trailing "/"
 * matches directories only; a pattern with a "/" other than a trailing
 * one is anchored to its directory, otherwise it matches the name at any
 * depth below; "*" and "?" do not cross "/", "**" does; "[a-z]" classes;
 * "\" escapes.  An excluded directory is not entered, so nothing below it
 * can be re-included (as in git).
 *
 * Threading: a struct ignore is used by one thread at a time (the archive
 * job's worker).  Limits: .sourceignore files above 1 MiB are refused
 * (their rules are skipped and the error kept for the caller).
 */
#ifndef CFLUX_SOURCE_IGNORE_H
#define CFLUX_SOURCE_IGNORE_H

#include <stdbool.h>

#include "base/err.h"
#include "source/artifact.h"

struct ignore;

/* Flux's default exclusions, one pattern per line. */
extern const char ignore_default_rules[];

/*
 * Rules for the tree at `root`: `spec_ignore` (NULL: the defaults) plus
 * the tree's .sourceignore files (when `root` is NULL, none are read).
 */
struct ignore *ignore_new(const char *root, const char *spec_ignore);
void ignore_free(struct ignore *ig);

/*
 * No rules at all, not even the VCS ones: Bucket's matcher, which holds
 * only its .sourceignore and spec.ignore (ignore_add() them).
 */
struct ignore *ignore_new_empty(void);

/* Append `text` (gitignore lines) as rules scoped to directory `dir` ("" = root). */
void ignore_add(struct ignore *ig, const char *dir, const char *text);

/*
 * True if `rel` (a path relative to the root, "/"-separated, no leading
 * "/") is excluded.  Directories are matched with is_dir.  Parents must
 * have been asked about first (the archive walk does), which is when
 * their .sourceignore files are read.
 */
bool ignore_match(struct ignore *ig, const char *rel, bool is_dir);

/*
 * The archive walk's skip callback (artifact.h): payload is a struct
 * ignore.  Returns an enum artifact_skip value: an excluded directory is
 * ARTIFACT_SKIP_ENTRY when some "!" rule could re-include a file below it
 * (Flux's walk, too, judges every file on its own), else ARTIFACT_SKIP.
 */
enum artifact_skip ignore_skip(const char *rel, bool is_dir, void *payload);

/* Low level: does gitignore glob `pat` match `path` ("**" crosses "/")? */
bool ignore_glob(const char *pat, const char *path);

#endif
