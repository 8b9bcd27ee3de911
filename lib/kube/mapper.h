/*
 * mapper.h: discovery and the REST mapper (kind -> resource).
 *
 * Manifests name kinds ("apps/v1", "Deployment"); the API wants resources
 * ("/apis/apps/v1/namespaces/x/deployments").  The mapper learns the
 * mapping from discovery (GET /api/v1, /apis/<group>/<version>), one
 * group-version at a time and only when asked, and caches it.  A kind it
 * does not know triggers a fresh discovery of that group-version, so a
 * CustomResourceDefinition applied a moment ago is found without a
 * restart; concurrent lookups of one group-version share one request.
 *
 * Threading: loop thread only.
 */
#ifndef CFLUX_KUBE_MAPPER_H
#define CFLUX_KUBE_MAPPER_H

#include <stdbool.h>

#include "kube/client.h"

struct kube_mapper;

struct kube_mapping {
	const char *group;    /* "" for core */
	const char *version;
	const char *resource; /* plural */
	const char *kind;
	bool namespaced;
};

/* Completion of mapper_resolve(): `m` is borrowed (valid while the mapper lives). */
typedef void (*mapper_cb)(int r, const struct kube_mapping *m, const struct op_err *err,
			  void *payload);

/* Create a mapper over `c` (takes a reference). */
int mapper_new(struct kube_client *c, struct kube_mapper **ret);

/*
 * The cached mapping for `api_version` ("v1", "apps/v1") and `kind`, or
 * NULL if not (yet) known or gone at the last discovery.  Never does I/O.
 */
const struct kube_mapping *mapper_lookup(struct kube_mapper *mp, const char *api_version,
					 const char *kind);

/*
 * Resolve, asking the server if the kind is not cached (or was cached as
 * missing more than a second ago).  Callback contract as client.h; the
 * callback may run before mapper_resolve() returns when the answer is
 * cached.  An unknown kind ends in -ENOENT with kubectl's message ("no
 * matches for kind \"X\" in version \"g/v\"").
 */
int mapper_resolve(struct kube_mapper *mp, const char *api_version, const char *kind,
		   mapper_cb cb, void *payload);

/*
 * Ask the server again before the next mapper_resolve() answers (after
 * CRDs were applied or deleted, say).  mapper_lookup() goes on answering
 * from what was last discovered until then, and every mapping handed out
 * stays valid: another run's invalidation never pulls a kind from under a
 * lookup in progress.
 */
void mapper_invalidate(struct kube_mapper *mp);

/* Free the mapper; pending callbacks get -ECANCELED first.  Accepts NULL. */
void mapper_free(struct kube_mapper *mp);

#endif
