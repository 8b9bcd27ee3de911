/*
 * storage.h: the artifact store under --storage-path, as source-controller
 * lays it out, and its HTTP face on --storage-addr.
 *
 * LAYOUT
 *   <root>/<kind>/<namespace>/<name>/<file>       e.g.
 *   /data/gitrepository/flux-system/podinfo/<commit-sha>.tar.gz
 *
 * The path relative to the root is `status.artifact.path`; the URL is
 * "http://<adv-addr>/<path>" (or the adv-addr as given when it carries a
 * scheme) and is `status.artifact.url`.  Files are written under a
 * temporary name in the same directory and renamed into place, so a
 * reader (the file server, a consumer) never sees half an artifact, and a
 * crash leaves at most a "*.tmp" file that the next GC removes.  Files
 * are content-named by the reconciler (commit sha, digest), so the store
 * survives restarts: an object whose status names a file that is present
 * needs no refetch.
 *
 * Threading: storage_new() and storage_free() on any one thread; the
 * rest only read the immutable struct and touch the file system, so they
 * may run on thread-pool workers concurrently, for different objects.
 * The reconciler serialises work on one object (the workqueue does).
 */
#ifndef CFLUX_OPERATOR_STORAGE_H
#define CFLUX_OPERATOR_STORAGE_H

#include <stdbool.h>

#include <cjson/cJSON.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "source/artifact.h"

struct storage;

/*
 * Open the store at `root` (created with its parents if missing) that
 * advertises `adv_addr` ("host:port", or a URL with a scheme).  Returns 0
 * or a negative errno with *reterr set (root not creatable or not a
 * directory).
 */
int storage_new(const char *root, const char *adv_addr, struct storage **ret,
		struct op_err *reterr);
void storage_free(struct storage *st);

const char *storage_root(const struct storage *st);

/* "<kind lower-cased>/<ns>/<name>/<file>" (malloc'd). */
char *storage_rel_path(const char *kind, const char *ns, const char *name, const char *file);

/*
 * The object's private cache (a source's bare repository, say), outside
 * the served tree: "<root>/.cache/<kind lower-cased>/<ns>/<name>"
 * (malloc'd).  Its owner removes it with path_remove_all() when the
 * object goes (on the thread pool: it may be large).
 */
char *storage_cache_dir(const struct storage *st, const char *kind, const char *ns,
			const char *name);

/* Absolute path of `rel` (malloc'd).  `rel` must come from storage_rel_path(). */
char *storage_abs(const struct storage *st, const char *rel);

/* The artifact URL of `rel` (malloc'd). */
char *storage_url(const struct storage *st, const char *rel);

/*
 * Create the object's directory; return 0 or a negative errno with
 * *reterr ("cannot create storage directory '...': ...").
 */
int storage_mkdir(const struct storage *st, const char *kind, const char *ns, const char *name,
		  struct op_err *reterr);

/* True if `rel` names a regular file in the store. */
bool storage_has(const struct storage *st, const char *rel);

/*
 * Garbage-collect the object's directory: keep `keep` (a file name, may
 * be NULL) and the newest `records - 1` other artifacts by modification
 * time (Flux's --artifact-retention-records, default 2); delete the rest
 * and any "*.tmp" left by a crash.  Returns how many files were removed,
 * or a negative errno.
 */
int storage_gc(const struct storage *st, const char *kind, const char *ns, const char *name,
	       const char *keep, unsigned records);

/*
 * Pack `dir` (minus what `skip` leaves out; NULL: everything) as the
 * object's artifact `file` (a content name: "<commit>.tar.gz"), then
 * collect older artifacts, keeping `records` (storage_gc()).  Blocking:
 * a worker's.  On success returns 0 with the artifact's path relative to
 * the root in *ret_rel (malloc'd) and its digest and size in *ret_info;
 * on failure a negative errno, reterr saying what, and *ret_reason the
 * Flux reason (StorageOperationFailed, ArchiveOperationFailed).
 */
int storage_archive(const struct storage *st, const char *kind, const char *ns, const char *name,
		    const char *file, const char *dir, artifact_skip_fn skip, void *payload,
		    unsigned records, char **ret_rel, struct artifact_info *ret_info,
		    const char **ret_reason, struct op_err *reterr);

/*
 * status.artifact for the stored `rel` at `revision` ({digest,
 * lastUpdateTime, path, revision, size, url}), stamped `now_ns`.
 */
cJSON *storage_artifact(const struct storage *st, const char *rel, const char *revision,
			const struct artifact_info *info, int64_t now_ns);

/*
 * Point an existing status.artifact's url at the advertised address, which
 * may have moved since it was written (Flux does this on every reconcile).
 */
void storage_artifact_refresh(const struct storage *st, cJSON *artifact);

/* Remove the object's directory and everything in it (the finalizer). */
int storage_remove_all(const struct storage *st, const char *kind, const char *ns,
		       const char *name);

/*
 * The startup sweep's question: does <kind>/<ns>/<name> still need its
 * place in the store?  `kind` is the directory name (lower-cased).  Say
 * true for anything the process does not watch (another namespace).
 */
typedef bool (*storage_keep_fn)(const char *kind, const char *ns, const char *name,
				void *payload);

/*
 * Remove what objects deleted while the operator was down left behind:
 * for each kind of `kinds` (NULL-terminated kind names, as
 * storage_rel_path() takes them), every object directory
 * <root>/<kind>/<ns>/<name> and cache <root>/.cache/<kind>/<ns>/<name>
 * that `keep` refuses, then the namespace directories left empty.  Only
 * directories are considered; names starting with '.' are left alone.
 * Call it once the informers have listed (their caches are the truth),
 * from a worker: it blocks.  Best effort; returns how many directories
 * (object directories and caches) were removed.
 */
int storage_sweep(const struct storage *st, const char *const *kinds, storage_keep_fn keep,
		  void *payload);

/*
 * The HTTP handler for the file server (health.h's serve_handler shape):
 * `path` "/<rel>" maps to a file in the store, refusing "..", hidden
 * components and anything outside the root; "/" answers 200 "ok" (the
 * readiness probe of source-controller's Deployment).
 */
int storage_http_handler(const char *path, struct buf *out, char **ret_file, void *payload);

#endif
