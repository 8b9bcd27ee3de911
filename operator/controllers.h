/*
 * controllers.h: the reconcilers' table entries and the state each needs
 * (main.c wires them into the manager).
 */
#ifndef CFLUX_OPERATOR_CONTROLLERS_H
#define CFLUX_OPERATOR_CONTROLLERS_H

#include "kube/mapper.h"
#include "manager.h"
#include "storage.h"

/* GitRepository (ctl_gitrepository.c): ctl_data() is a struct gitrepo_ctl. */
struct gitrepo_ctl {
	struct storage *storage; /* the artifact store */
	const char *tmp_root;    /* where checkouts are made ($TMPDIR or /tmp) */
};
extern const struct ctl_desc gitrepository_desc;

/* Kustomization (ctl_kustomization.c): ctl_data() is a struct ks_ctl. */
struct ks_ctl {
	struct storage *storage;        /* where the sources' artifacts are */
	struct kube_mapper *mapper;     /* kinds of applied objects */
	struct ctl *sources;            /* the GitRepository controller */
	const char *extract_root;       /* artifacts extracted once per digest, here */
	uint64_t requeue_dependency_ms; /* --requeue-dependency */
	bool no_cross_ns;               /* --no-cross-namespace-refs */
	const char *default_sa;         /* --default-service-account */
	bool strict_substitution;       /* Flux 2.9's StrictPostBuildSubstitutions */
};
extern const struct ctl_desc kustomization_desc;

/* Requeue Kustomizations when a GitRepository's artifact revision changes. */
void kustomization_watch_sources(struct ctl *ks, struct ctl *sources);

/* FluxConfiguration (ctl_fluxconfig.c): ctl_data() is a struct fc_ctl. */
struct fc_ctl {
	struct ctl *sources;        /* GitRepository controller: its cache */
	struct ctl *kustomizations; /* Kustomization controller: its cache */
	uint64_t resync_ms;         /* re-check even without events */
};
extern const struct ctl_desc fluxconfiguration_desc;

/* Requeue a configuration when one of its children changes. */
void fluxconfig_watch_children(struct ctl *fc, struct ctl *sources, struct ctl *kustomizations);

#endif
