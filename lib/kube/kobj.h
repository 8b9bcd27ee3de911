/*
 * kobj.h: an immutable, reference-counted Kubernetes object.
 *
 * Informer caches hold objects as kobj: a parsed cJSON tree plus views of
 * the fields every consumer needs (namespace, name, resourceVersion, uid)
 * and the cache key "namespace/name" (or "name" for cluster-scoped ones).
 * Once built, a kobj is never modified, so the cache and any number of
 * reconciles can share it: each holder takes its own reference
 * (libgit2's "read-only objects are safe to share", systemd's
 * json_variant_ref).  Loop thread only: the count is not atomic.
 */
#ifndef CFLUX_KUBE_KOBJ_H
#define CFLUX_KUBE_KOBJ_H

#include <cjson/cJSON.h>

struct kobj {
	unsigned refs;
	cJSON *json;      /* the object; never modify */
	const char *ns;   /* "" when cluster-scoped */
	const char *name;
	const char *rv;   /* metadata.resourceVersion, or "" */
	const char *uid;  /* metadata.uid, or "" */
	long generation;  /* metadata.generation, or 0 */
	char *key;        /* "ns/name" or "name" */
};

/*
 * Wrap `json`, taking ownership of it (the caller NULLs its pointer).
 * Returns NULL if it has no metadata.name (json is then freed).  The new
 * object has one reference.
 */
struct kobj *kobj_new(cJSON *json);

struct kobj *kobj_ref(struct kobj *o);

/* Drop a reference; frees on the last.  Accepts NULL; returns NULL. */
struct kobj *kobj_unref(struct kobj *o);

/* "ns/name" or "name" into a new string. */
char *kobj_make_key(const char *ns, const char *name);

/* A string field by JSON path of object keys ("spec", "url"), or NULL. */
const char *kobj_str(const struct kobj *o, ...) __attribute__((sentinel));

#endif
