/*
 * client.h: the Kubernetes REST client: verbs, server-side apply, watches.
 *
 * A `struct kube_client` is one identity talking to one apiserver: the
 * server URL, TLS material and credentials from a struct kube_config, and
 * an HTTP engine (http.h) whose connections every request shares.  Derived
 * clients (kube_client_impersonate()) share the engine and add
 * Impersonate-User, which is how a Kustomization's serviceAccountName is
 * honoured.
 *
 * Objects are cJSON trees; there are no generated model structs.
 * Resources are addressed by struct kube_ref (group/version/resource,
 * namespace, name, subresource); turning a kind into a resource is the
 * mapper's job (mapper.h).
 *
 * ERRORS: every failure is a negative errno plus a struct op_err, mapped in
 * one place (client.c, map_status()) from the HTTP status, the Kubernetes
 * Status object (its reason and message are kept) and transport errors:
 *
 *   404 NotFound -> -ENOENT        409 AlreadyExists -> -EEXIST
 *   409 Conflict (stale resourceVersion), 410 Gone/Expired -> -ESTALE
 *   409 Conflict from server-side apply (field managers) -> -EBUSY
 *   400 BadRequest, 422 Invalid, 415 -> -EINVAL
 *   401 -> -EACCES (the token file is re-read and the request retried once)
 *   403 -> -EPERM                 429, 503, 504, reason ServerTimeout -> -EAGAIN
 *   other 5xx -> -EIO              transport: see http.h
 *
 * ASYNC CONTRACT: as http.h — a function that takes a callback either
 * returns an error and never calls it, or returns 0 and calls it exactly
 * once on the loop thread.  The object passed to a callback is borrowed;
 * cJSON_Duplicate() it to keep it.
 */
#ifndef CFLUX_KUBE_CLIENT_H
#define CFLUX_KUBE_CLIENT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <uv.h>

#include "base/err.h"
#include "kube/config.h"

struct kube_client;
struct kube_watch;
struct kube_call;

struct kube_ref {
	const char *group;       /* "" or NULL for the core group */
	const char *version;     /* "v1" */
	const char *resource;    /* plural: "configmaps" */
	const char *ns;          /* NULL/"": cluster-scoped, or all namespaces */
	const char *name;        /* NULL: the collection */
	const char *subresource; /* "status", or NULL */
};

/* Query parameters and request settings; all optional. */
struct kube_opts {
	const char *label_selector;
	const char *field_selector;
	const char *resource_version;
	const char *resource_version_match;
	const char *continue_token;
	long limit;                  /* list page size; 0: no limit */
	long timeout_seconds;        /* server-side, for watches */
	bool allow_bookmarks;
	bool dry_run;                /* dryRun=All */
	const char *field_manager;   /* create/update/patch/apply */
	bool force;                  /* apply: take over conflicting fields */
	const char *propagation;     /* delete: Background|Foreground|Orphan */
	uint64_t timeout_ms;         /* client deadline; 0: 30 s (none for watches) */
	size_t max_body;             /* response cap; 0: 64 MiB */
	/*
	 * If not NULL, receives a handle for kube_call_cancel(), valid until
	 * the request's callback has been called.
	 */
	struct kube_call **ret_call;
};
#define KUBE_OPTS_INIT { 0 }

enum kube_patch_type {
	KUBE_PATCH_MERGE,     /* application/merge-patch+json */
	KUBE_PATCH_JSON,      /* application/json-patch+json */
	KUBE_PATCH_STRATEGIC, /* application/strategic-merge-patch+json */
};

/*
 * Completion of a request: r == 0 with the decoded response object (NULL
 * if the body was empty), or r < 0 with `err` explaining it; when the
 * server answered with a Status, `obj` is that Status.
 */
typedef void (*kube_cb)(int r, const cJSON *obj, const struct op_err *err, void *payload);

/*
 * Create a client for `cfg` on `loop`.  The configuration is copied.  On
 * success returns 0 and stores the client in *ret (release with
 * kube_client_unref()); on failure returns a negative errno with reterr
 * filled and *ret untouched.
 */
int kube_client_new(uv_loop_t *loop, const struct kube_config *cfg, struct kube_client **ret,
		    struct op_err *reterr);

/*
 * A client that shares `c`'s connections and acts as `user` through the
 * Impersonate-User header (e.g. "system:serviceaccount:ns:name").
 */
int kube_client_impersonate(struct kube_client *c, const char *user, struct kube_client **ret);

struct kube_client *kube_client_ref(struct kube_client *c);

/*
 * Drop a reference; the last one cancels every request and watch of the
 * engine (their callbacks get -ECANCELED), closes its handles, and calls
 * `close_cb(payload)` once the memory is gone.  Returns NULL.
 */
struct kube_client *kube_client_unref(struct kube_client *c);
void kube_client_close(struct kube_client *c, void (*close_cb)(void *payload), void *payload);

/* The loop the client runs on. */
uv_loop_t *kube_client_loop(const struct kube_client *c);

/* The server URL and the default namespace of the configuration. */
const char *kube_client_server(const struct kube_client *c);
const char *kube_client_namespace(const struct kube_client *c);

/* The verbs.  `obj`/`patch` are borrowed and serialised before return. */
int kube_get(struct kube_client *c, const struct kube_ref *ref, const struct kube_opts *opts,
	     kube_cb cb, void *payload);
int kube_list(struct kube_client *c, const struct kube_ref *ref, const struct kube_opts *opts,
	      kube_cb cb, void *payload);
int kube_create(struct kube_client *c, const struct kube_ref *ref, const cJSON *obj,
		const struct kube_opts *opts, kube_cb cb, void *payload);
int kube_update(struct kube_client *c, const struct kube_ref *ref, const cJSON *obj,
		const struct kube_opts *opts, kube_cb cb, void *payload);
int kube_patch(struct kube_client *c, const struct kube_ref *ref, enum kube_patch_type type,
	       const char *patch, const struct kube_opts *opts, kube_cb cb, void *payload);
/* Server-side apply (application/apply-patch+yaml; JSON is YAML). */
int kube_apply(struct kube_client *c, const struct kube_ref *ref, const cJSON *obj,
	       const struct kube_opts *opts, kube_cb cb, void *payload);
int kube_delete(struct kube_client *c, const struct kube_ref *ref, const struct kube_opts *opts,
		kube_cb cb, void *payload);

/*
 * A raw GET of `path` ("/readyz", "/apis"); the body is given to `cb` as
 * parsed JSON if it is JSON, else as a cJSON string.
 */
int kube_get_raw(struct kube_client *c, const char *path, const struct kube_opts *opts,
		 kube_cb cb, void *payload);

/*
 * Watch events: `type` is "ADDED", "MODIFIED", "DELETED" or "BOOKMARK";
 * `obj` is borrowed.  Return 0 to go on, or a negative errno to stop the
 * watch (its done callback then gets that errno).
 */
typedef int (*kube_event_cb)(const char *type, const cJSON *obj, void *payload);

/*
 * Watch `ref` (a collection) from opts->resource_version.  Events go to
 * `on_event`; when the stream ends, `done` is called once: r == 0 for a
 * normal end (server timeout, EOF: re-watch from the last RV), -ESTALE
 * for 410 Gone/Expired (relist), or another error.  Lines longer than
 * opts->max_body (default 16 MiB) fail the watch with -EFBIG.
 */
int kube_watch(struct kube_client *c, const struct kube_ref *ref, const struct kube_opts *opts,
	       kube_event_cb on_event, kube_cb done, void *payload, struct kube_watch **ret);

/*
 * Stop a watch; `done` gets -ECANCELED (see http_cancel() for when).  Valid
 * only until `done` has been called.  Accepts NULL.
 */
void kube_watch_stop(struct kube_watch *w);

/*
 * Cancel a request in flight: its callback gets -ECANCELED (see
 * http_cancel() for when).  Accepts NULL.
 */
void kube_call_cancel(struct kube_call *k);

/* The path part of the URL for `ref` ("/api/v1/namespaces/x/configmaps/y"). */
char *kube_ref_path(const struct kube_ref *ref);

#endif
