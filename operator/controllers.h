/*
 * controllers.h: the reconcilers' table entries and the state each needs
 * (main.c wires them into the manager).
 */
#ifndef CFLUX_OPERATOR_CONTROLLERS_H
#define CFLUX_OPERATOR_CONTROLLERS_H

#include "base/log.h"
#include "kube/mapper.h"
#include "manager.h"
#include "storage.h"

/* GitRepository (ctl_gitrepository.c): ctl_data() is a struct gitrepo_ctl. */
struct gitrepo_ctl {
	struct storage *storage; /* the artifact store */
	const char *tmp_root;    /* where checkouts are made ($TMPDIR or /tmp) */
};
extern const struct ctl_desc gitrepository_desc;
/* Rebuild a GitRepository's artifact when one it includes gets a new one. */
void gitrepository_watch_includes(struct ctl *git);

/* OCIRepository (ctl_ocirepository.c): ctl_data() is a struct ocirepo_ctl. */
struct ocirepo_ctl {
	struct storage *storage; /* the artifact store */
	const char *tmp_root;    /* where layers are downloaded and extracted */
};
extern const struct ctl_desc ocirepository_desc;
/* Bucket (ctl_bucket.c): ctl_data() is a struct bucket_ctl. */
struct bucket_ctl {
	struct storage *storage; /* the artifact store */
	const char *tmp_root;    /* where objects are downloaded ($TMPDIR or /tmp) */
};
extern const struct ctl_desc bucket_desc;

/* Kustomization (ctl_kustomization.c): ctl_data() is a struct ks_ctl. */
struct ks_ctl {
	struct storage *storage;        /* where the sources' artifacts are */
	struct kube_mapper *mapper;     /* kinds of applied objects */
	const char *extract_root;       /* artifacts extracted once per digest, here */
	unsigned max_trees;             /* --extracted-artifacts-max: trees kept there */
	uint64_t max_tree_bytes;        /* --extracted-artifacts-max-bytes: their bytes */
	struct trees *trees;            /* ctl_kustomization.c's own (trees.h); NULL at first */
	uint64_t requeue_dependency_ms; /* --requeue-dependency */
	bool no_cross_ns;               /* --no-cross-namespace-refs */
	const char *default_sa;         /* --default-service-account */
	bool strict_substitution;       /* Flux 2.9's StrictPostBuildSubstitutions */
};
extern const struct ctl_desc kustomization_desc;

/* Release what the Kustomization controller keeps in `k` (after mgr_close()). */
void ks_ctl_release(struct ks_ctl *k);

/*
 * Requeue Kustomizations when a source's artifact revision changes: every
 * source controller (desc->source) added so far.
 */
void kustomization_watch_sources(struct ctl *ks);

/* FluxConfiguration (ctl_fluxconfig.c): ctl_data() is a struct fc_ctl. */
struct fc_ctl {
	struct ctl *kustomizations; /* Kustomization controller: its cache */
	uint64_t resync_ms;         /* re-check even without events */
	/*
	 * Multi-tenancy's applier account (flux-applier), or NULL: set up in
	 * each configuration's namespace as Azure does, bound to cluster-admin
	 * cluster-wide (scope cluster) or in that namespace (scope namespace).
	 */
	const char *applier;
};
extern const struct ctl_desc fluxconfiguration_desc;

/*
 * Requeue a configuration when one of its children changes: the sources
 * (every source controller added so far) and the Kustomizations.
 */
void fluxconfig_watch_children(struct ctl *fc);

/* Extension (ctl_extension.c): ctl_data() is a struct ext_ctl. */
struct ext_settings {
	bool source_enabled, kustomize_enabled;
	unsigned source_concurrent, kustomize_concurrent;
	bool log_level_set;
	enum log_level log_level;
	uint64_t requeue_dependency_ms;
	bool multi_tenancy;       /* --no-cross-namespace-refs + --default-service-account */
	bool strict_substitution;
};
struct ext_ctl {
	const char *version;       /* currentVersion */
	struct ext_settings base;  /* from the command line: what an Extension overrides */
	struct ctl *fluxconfigs;   /* deletion waits until none is left */
	void (*apply)(const struct ext_settings *s, void *payload); /* on the loop */
	void *payload;
};
extern const struct ctl_desc extension_desc;

/*
 * Read Azure's configurationSettings (a JSON object of strings) over *s,
 * which holds the starting values.  Returns 0, or -EINVAL with `err`
 * naming the first bad key (then *s may be partly changed: pass a copy).
 * Ignored keys are appended to `notes` as Azure statuses[] entries.
 */
int ext_parse_settings(const cJSON *settings, struct ext_settings *s, char *err, size_t n,
		       cJSON *notes);

#endif
