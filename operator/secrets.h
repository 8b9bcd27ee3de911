/*
 * secrets.h: reading the Secrets Flux's sources name — one value, a TLS
 * set (certSecretRef), a proxy (proxySecretRef) — under Flux's keys and
 * with Flux's messages, for every source kind.
 *
 * Values are returned decoded (a Secret's data is base64) and owned by
 * the caller, who wipes secret ones (free_secret()).  Messages name the
 * Secret and the key, never a value.
 */
#ifndef CFLUX_OPERATOR_SECRETS_H
#define CFLUX_OPERATOR_SECRETS_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "base/err.h"

/* data[key] of the Secret object `secret`, decoded (malloc'd), or NULL. */
char *secret_value(const cJSON *secret, const char *key);

/*
 * A TLS set: ca.crt (or caFile), tls.crt (certFile), tls.key (keyFile),
 * each decoded or NULL.  A certificate without its key (or the reverse)
 * is refused: -EINVAL with `msg` ("... secret 'ns/name' ...").
 */
struct secret_tls {
	char *ca, *cert, *key;
};
int secret_tls_read(const cJSON *secret, const char *ns, const char *name, struct secret_tls *ret,
		    char *msg, size_t n);
void secret_tls_release(struct secret_tls *t);

/*
 * spec.proxySecretRef's Secret as kube_get() delivered it (`r`, `secret`,
 * `err`): `address` (required, http://: CONNECT tunnels), `username` and
 * `password`.  Returns 0 with the values stored, or -EINVAL/-ENOENT with
 * Flux's "failed to configure proxy options: ..." in `msg`.
 */
int secret_proxy_read(int r, const cJSON *secret, const struct op_err *err, const char *ns,
		      const char *name, char **ret_url, char **ret_user, char **ret_pass, char *msg,
		      size_t n);

/*
 * spec.verify.secretRef's Secret: every value whose key ends ".pub" is a
 * cosign public key (Flux's rule).  Returns how many, stored in *ret (a
 * malloc'd array of malloc'd strings, NULL-terminated); 0 with *ret NULL
 * when none.
 */
size_t secret_cosign_keys(const cJSON *secret, char ***ret);

#endif
