/*
 * controllers.h: the reconcilers' table entries and the state each needs
 * (main.c wires them into the manager).
 */
#ifndef CFLUX_OPERATOR_CONTROLLERS_H
#define CFLUX_OPERATOR_CONTROLLERS_H

#include "base/hmap.h"
#include "base/log.h"
#include "kube/mapper.h"
#include "manager.h"
#include "secrets.h"
#include "serve.h"
#include "storage.h"

/* GitRepository (ctl_gitrepository.c): ctl_data() is a struct gitrepo_ctl. */
struct gitrepo_ctl {
	struct storage *storage; /* the artifact store */
	const char *tmp_root;    /* where checkouts are made ($TMPDIR or /tmp) */
};
extern const struct ctl_desc gitrepository_desc;

/*
 * The source kinds' spec fields cflux cannot serve (a provider logging in
 * through a cloud's identity service, STS, notation, ...): NULL when the
 * spec uses none, else Flux's reason, with `msg` naming the field (the
 * object is then Stalled).  Exported for the schema walk test.
 */
const char *gitrepository_unsupported(const cJSON *spec, char *msg, size_t n);
const char *bucket_unsupported(const cJSON *spec, char *msg, size_t n);
const char *ocirepository_unsupported(const cJSON *spec, char *msg, size_t n);
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

/* HelmRepository (ctl_helmrepository.c): ctl_data() is a struct helmrepo_ctl. */
struct helmrepo_ctl {
	struct storage *storage; /* the artifact store */
	const char *tmp_root;    /* where indexes are downloaded */
	struct hmap etags;       /* ctl_helmrepository.c's own: "ns/name" -> stored index's ETag */
};
extern const struct ctl_desc helmrepository_desc;
/*
 * A download from a HelmRepository (its index, or a chart it lists), as
 * Helm's HTTP getter does it: the repository's certSecretRef (ca.crt,
 * tls.crt/tls.key), then its secretRef (username and password; its TLS
 * keys without a certSecretRef), basic auth sent to the repository's own
 * scheme://host:port only unless passCredentials, redirects followed,
 * `url` streamed to `path` (a 200 body only), at most `max_bytes`.
 * done(g, r, reason, msg): r < 0 a failure (reason AuthenticationFailed
 * for the Secrets, else Failed; msg says what, never a secret); r == 0 a
 * response in g->status (msg Helm's "failed to fetch <url> : 404 Not
 * Found" unless 200, or 304 to if_none_match).  On the loop; the
 * struct lives in the caller's job.
 */
struct helm_get {
	struct rc *rc;
	char *ns, *repo_url, *secret_name, *cert_secret, *url, *path;
	bool pass_credentials;
	uint64_t max_bytes, timeout_ms;
	char *if_none_match; /* malloc'd, or NULL: sent as If-None-Match */
	void (*done)(struct helm_get *g, int r, const char *reason, const char *msg);
	/* results */
	long status;
	char *etag;
	/* private */
	bool secret_read, cert_read;
	char *user, *pass;
	struct secret_tls tls;
	struct kube_http *http;
	int fd, werr;
	uint64_t got;
};
void helm_get_init(struct helm_get *g, struct rc *rc, const cJSON *repo_spec, const char *url,
		   const char *path, uint64_t max_bytes, uint64_t timeout_ms,
		   void (*done)(struct helm_get *g, int r, const char *reason, const char *msg));
void helm_get_start(struct helm_get *g);
void helm_get_release(struct helm_get *g);

/* Release what the HelmRepository controller keeps (after mgr_close()). */
void helmrepo_ctl_release(struct helmrepo_ctl *g);

/* HelmChart (ctl_helmchart.c): ctl_data() is a struct helmchart_ctl. */
struct helmchart_ctl {
	struct storage *storage; /* the artifact store (the repositories' indexes too) */
	const char *tmp_root;    /* where charts are downloaded */
};
extern const struct ctl_desc helmchart_desc;
/* Requeue HelmCharts when their HelmRepository gets a new artifact (after both are added). */
void helmchart_watch_repositories(struct ctl *charts);

/*
 * What the HelmChart reconciler does not do yet, named: NULL, or the
 * condition's reason with the message in `msg`.  (Exported for tests.)
 */
const char *helmchart_unsupported(const cJSON *spec, char *msg, size_t n);
/* The same for the OCI HelmRepository `repo` a chart comes from. */
const char *helmchart_oci_unsupported(const cJSON *repo_spec, const char *repo, char *msg,
				      size_t n);

/*
 * Flux's version pick from an OCI repository's tags (Helm's Tags(), then
 * getLastMatchingVersionOrConstraint): the tags that read as strict
 * semver ("_" standing for "+"), an exact match first, else the highest
 * in the range `want` (NULL, "" or "*": the highest stable).  0 with
 * *ret (malloc'd, Helm's "+" form); -ENODATA when no tag is a version;
 * -ENOENT or -EINVAL (a bad range) with `err`.  (Exported for tests.)
 */
int helmchart_oci_pick(const char *const *tags, size_t n, const char *want, char **ret,
		       struct op_err *err);

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
	struct remotes *remotes;        /* spec.kubeConfig's clusters (remote.h), shared */
};
extern const struct ctl_desc kustomization_desc;

/*
 * The Kustomization spec fields cflux does not implement: NULL when the
 * spec uses none, else `msg` naming the first (the object is then Stalled).
 * Refused: kubeConfig.configMapRef (cloud workload identity), decryption.serviceAccountName
 * (KMS workload identity) and a decryption.provider other than "sops",
 * healthCheckExprs and dependsOn[].readyExpr (CEL).  Everything else in
 * the served schema is consumed (decryption: SOPS with the age keys of
 * decryption.secretRef).
 */
const char *kustomization_unsupported(const cJSON *spec, char *msg, size_t n);

/* Release what the Kustomization controller keeps in `k` (after mgr_close()). */
void ks_ctl_release(struct ks_ctl *k);

/*
 * Requeue Kustomizations when a source's artifact revision changes: every
 * source controller (desc->source) added so far.
 */
void kustomization_watch_sources(struct ctl *ks);

/* HelmRelease (ctl_helmrelease.c): ctl_data() is a struct hr_ctl. */
struct hr_ctl {
	struct storage *storage;        /* where the chart sources' artifacts are */
	const char *tmp_root;           /* scratch for the post-renderers */
	struct kube_mapper *mapper;     /* kinds of the released objects */
	uint64_t requeue_dependency_ms; /* --requeue-dependency */
	bool no_cross_ns;               /* --no-cross-namespace-refs */
	const char *default_sa;         /* --default-service-account */
	struct remotes *remotes;        /* spec.kubeConfig's clusters (remote.h), shared */
};
extern const struct ctl_desc helmrelease_desc;

/*
 * Flux's release name: releaseName, else [<targetNamespace>-]<name>;
 * over 53 characters, its first 40, '-' and 12 hex digits of its
 * sha256.  Malloc'd.  (Exported for tests.)
 */
char *helmrelease_name(const char *name, const char *release_name, const char *target_ns);

/*
 * Whether `spec` sets a field the reconciler does not implement: its path
 * ("spec.install.crds") in `ret`.  (Exported for tests.)
 */
bool helmrelease_unsupported(const cJSON *spec, char *ret, size_t n);

/* Requeue HelmReleases when their chart source (any source kind) gets a new artifact. */
void helmrelease_watch_sources(struct ctl *hr);

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
 * Why configuration `o` cannot be served (msg, returned), or NULL: a
 * namespace other than its own, a source kind without its body, a
 * dependency cycle, a property cflux cannot reach (workload identity), a
 * bad ISO 8601 duration, ...  (Exported for the schema walk test.)
 */
const char *fluxconfig_invalid(const struct kobj *o, char *msg, size_t n);

/*
 * Requeue a configuration when one of its children changes: the sources
 * (every source controller added so far) and the Kustomizations.
 */
void fluxconfig_watch_children(struct ctl *fc);

/* Extension (ctl_extension.c): ctl_data() is a struct ext_ctl. */
struct ext_settings {
	bool source_enabled, kustomize_enabled, helm_enabled, notification_enabled;
	unsigned source_concurrent, kustomize_concurrent, helm_concurrent;
	bool log_level_set;
	enum log_level log_level;
	uint64_t requeue_dependency_ms;
	bool multi_tenancy;       /* --no-cross-namespace-refs + --default-service-account */
	bool strict_substitution;
};
struct ext_ctl {
	const char *version;       /* currentVersion */
	const char *ns;            /* where cflux runs: releaseNamespace, protected settings */
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

/*
 * The Extension's own properties cflux cannot honour: namespace scope, a
 * releaseNamespace other than e->ns, a pinned version other than
 * e->version.  NULL, or `msg` saying which.
 */
const char *extension_unsupported(const struct ext_ctl *e, const cJSON *spec, char *msg,
				  size_t n);

/*
 * Receiver (ctl_receiver.c): the reconciler publishes status.webhookPath;
 * receiver_hook() is the --receiver-addr server's handler (serve.h's
 * webhooks), on every replica.  See ctl_receiver.c for both.
 */
extern const struct ctl_desc receiver_desc;
struct receiver_srv {
	struct kube_client *client; /* borrowed */
	const char *watch_ns;       /* NULL: all namespaces */
	bool no_cross_ns;           /* --no-cross-namespace-refs */
};
void receiver_hook(const struct serve_request *req, struct serve_reply *reply, void *payload);
/* What cflux cannot honour in a Receiver's spec (type, CEL filters), named in `msg`; or NULL. */
const char *receiver_unsupported(const cJSON *spec, char *msg, size_t n);
/* Flux's webhook path: "/hook/" + sha256(token + name + namespace) in hex (71 bytes + NUL). */
void receiver_webhook_path(const char *token, const char *name, const char *ns, char ret[72]);

#endif
