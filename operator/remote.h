/*
 * remote.h: clients for the clusters Kustomizations apply to through
 * spec.kubeConfig (Flux's remote apply).
 *
 * A struct remote is a client and its REST mapper for one kubeconfig.
 * A struct remotes keeps one per Kustomization (its key), reused while
 * the kubeconfig's text stays the same, so discovery is not repeated at
 * every reconcile; a changed text replaces it.  The kubeconfig comes
 * from a user's Secret: kube_config_parse() refuses what would read our
 * files or act as another user, and `insecure-skip-tls-verify` is
 * dropped unless allowed (Flux's --insecure-kubeconfig-tls).
 *
 * Threading: loop thread only.
 */
#ifndef CFLUX_OPERATOR_REMOTE_H
#define CFLUX_OPERATOR_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "base/err.h"
#include "kube/client.h"
#include "kube/kobj.h"
#include "kube/mapper.h"

struct remote;
struct remotes;

struct remotes *remotes_new(uv_loop_t *loop, bool allow_insecure_tls);

/* Drop every remote (those still referenced live until released).  Accepts NULL. */
void remotes_free(struct remotes *rs);

/*
 * The remote for `key` built from the kubeconfig `text` (`name` names it
 * in messages): the one kept for `key` when `text` is the same, else a
 * new one, kept in its place.  0 and a new reference in *ret, or -errno
 * with `err` saying what is wrong with the kubeconfig.
 */
int remote_get(struct remotes *rs, const char *key, const char *name, const char *text,
	       size_t len, struct remote **ret, struct op_err *err);

/*
 * The remote cluster `obj` (a Kustomization or HelmRelease) applies to,
 * from its spec.kubeConfig.secretRef as Flux reads it: the Secret in the
 * object's namespace, read with `c` (the controller's own client), its
 * `key`, else `value`, else `value.yaml`.  Kept in `rs` under
 * "<kind>/<ns>/<name>".  cb(0, remote, NULL) with a new reference;
 * cb(0, NULL, NULL) when the spec names no kubeconfig (a remote kept for
 * the object is forgotten); cb(-errno, NULL, msg) with Flux's message
 * when the Secret or its key is missing, else what is wrong with the
 * kubeconfig.  `cb` may run before remote_for() returns.
 */
typedef void (*remote_cb)(int r, struct remote *remote, const char *msg, void *payload);
void remote_for(struct remotes *rs, struct kube_client *c, const struct kobj *obj, remote_cb cb,
		void *payload);

/* Forget the remote kept for `obj` (it is gone). */
void remote_forget_obj(struct remotes *rs, const struct kobj *obj);

/* Forget the remote kept for `key` (its object is gone). */
void remote_forget(struct remotes *rs, const char *key);

struct remote *remote_ref(struct remote *r);

/* Drop a reference; the last closes the client.  Accepts NULL; returns NULL. */
struct remote *remote_unref(struct remote *r);

/* Borrowed while the reference is held. */
struct kube_client *remote_client(const struct remote *r);
struct kube_mapper *remote_mapper(const struct remote *r);

#endif
