/*
 * config.h: where the apiserver is and who we are to it.
 *
 * Two sources, as client-go: a kubeconfig file (KUBECONFIG, --kubeconfig,
 * ~/.kube/config) with its current context, or the in-cluster service
 * account (KUBERNETES_SERVICE_HOST/PORT, the mounted token and CA).
 * Credentials stay in memory: inline certificate and key data are decoded
 * into PEM strings and handed to TLS as blobs, never written to disk.
 * A token file (in-cluster, or `tokenFile` in a kubeconfig) is re-read by
 * the client when it changes, because bound service-account tokens rotate.
 */
#ifndef CFLUX_KUBE_CONFIG_H
#define CFLUX_KUBE_CONFIG_H

#include <stdbool.h>

#include "base/err.h"

struct kube_config {
	char *server;           /* "https://127.0.0.1:6443" (no trailing /) */
	char *ca_pem;           /* PEM text, or NULL for the system CAs */
	char *cert_pem;         /* client certificate PEM, or NULL */
	char *key_pem;          /* client key PEM, or NULL */
	char *token;            /* bearer token, or NULL */
	char *token_file;       /* re-read when it changes, or NULL */
	char *username, *password; /* basic auth (rare), or NULL */
	bool insecure;          /* insecure-skip-tls-verify */
	char *ns;               /* the context's namespace, or "default" */
	char *impersonate;      /* Impersonate-User, or NULL */
};

/*
 * Load a configuration.  `path` NULL means: $KUBECONFIG (the first
 * existing file of the list), else in-cluster if KUBERNETES_SERVICE_HOST
 * is set, else ~/.kube/config.  `context` NULL means current-context.  On
 * success returns 0 and stores a new config in *ret (kube_config_free());
 * on failure a negative errno with reterr naming the file and field.
 */
int kube_config_load(const char *path, const char *context, struct kube_config **ret,
		     struct op_err *reterr);

/*
 * A kubeconfig held in memory (a Secret's value), with its current
 * context.  `name` names it in messages ("KubeConfig secret 'ns/n'").
 * Such a kubeconfig comes from a user of the cluster, not from the
 * machine, so it may not make us read a file (certificate-authority,
 * client-certificate, client-key, tokenFile: their -data forms and
 * `token` are the way) nor act as another user (`as`, `as-groups`):
 * refused with -EPERM, naming the field.  Credential plugins are refused
 * as for files.  `insecure` is returned as written; whether to honour it
 * is the caller's choice.
 */
int kube_config_parse(const char *name, const char *text, size_t len, struct kube_config **ret,
		      struct op_err *reterr);

/* The in-cluster configuration; `root` is "" normally ("/" prefix for tests). */
int kube_config_in_cluster(const char *root, struct kube_config **ret, struct op_err *reterr);

/* A deep copy. */
struct kube_config *kube_config_dup(const struct kube_config *cfg);

/* Free (secrets are wiped first).  Accepts NULL; returns NULL. */
struct kube_config *kube_config_free(struct kube_config *cfg);

#endif
