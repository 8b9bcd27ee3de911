/*
 * sigverify.h: the signature on a Git commit or tag, checked against
 * trusted public keys — GitRepository's spec.verify.
 *
 * Two kinds, as Flux: OpenPGP ("-----BEGIN PGP SIGNATURE-----", checked
 * against armored key rings by gpgv(1)) and SSH ("-----BEGIN SSH
 * SIGNATURE-----", namespace "git", checked against authorized_keys
 * lines by `ssh-keygen -Y verify`).  Both tools are the system's
 * (gnupg's gpgv and openssh-client); they run in a private directory
 * that is removed afterwards, with a time limit, and the signature
 * counts only if the tool says so: for OpenPGP a GOODSIG (an expired or
 * revoked key gives EXPKEYSIG/REVKEYSIG instead, and is refused) and a
 * VALIDSIG.
 *
 * Errors say what failed in Flux's words ("unable to verify Git commit:
 * unable to verify payload with any of the given key rings: no matching
 * key", "PGP signature detected but no PGP public keys found in secret
 * (keys with .asc suffix)", "unsupported signature type: empty").  A
 * key ring that cannot be read is reported only when no other key ring
 * could be tried, as Flux does.
 *
 * Threading: any thread; it blocks while the tool runs (the GitRepository
 * reconciler calls it on the thread pool).
 */
#ifndef CFLUX_SOURCE_SIGVERIFY_H
#define CFLUX_SOURCE_SIGVERIFY_H

#include <stddef.h>

#include "base/err.h"

/* Flux's name for the kind of `sig`: "openpgp", "ssh", "x509", "empty" or "unknown". */
const char *sig_type(const char *sig);

struct sig_keys {
	const char *const *pgp; /* armored key rings (a Secret's *.asc and other values) */
	size_t n_pgp;
	const char *const *ssh; /* authorized_keys texts (a Secret's *.sshpub values) */
	size_t n_ssh;
};

/*
 * Check `sig` over the `len` bytes at `payload`.  On success returns 0
 * and writes who signed to `signer`: the OpenPGP primary key's ID (16
 * upper-case hex digits) or the SSH key's "SHA256:..." fingerprint.
 * Otherwise a negative errno with reterr saying why: -EBADMSG, the
 * signature is not good for any key, or missing ("empty") or of a kind
 * other than OpenPGP or SSH; -ENOKEY, no key of its kind was given;
 * -EINVAL, no key ring or authorized_keys text could be read.  A failed
 * check's message starts "unable to verify <what>" ("Git commit", "Git
 * tag"), as Flux's.  `tmp_root` is where the private directory goes
 * (NULL: $TMPDIR, else /tmp).
 */
int sig_verify(const char *sig, const void *payload, size_t len, const struct sig_keys *keys,
	       const char *what, const char *tmp_root, char *signer, size_t signer_size,
	       struct op_err *reterr);

/*
 * cosign's key-based check of one signature, as Flux verifies an
 * OCIRepository (`verify.provider: cosign` with a secretRef): `sig_b64`
 * (the base64 of the layer annotation dev.cosignproject.cosign/signature)
 * over the `len` bytes of `payload`, cosign's simple-signing JSON, with
 * any of `keys` (PEM "PUBLIC KEY" texts: ECDSA P-256/P-384 or RSA, all
 * with SHA-256, cosign's defaults; mbedTLS).  A good signature counts
 * only if the payload is a "cosign container image signature" for
 * `digest` (critical.image.docker-manifest-digest), which Flux itself
 * does not check but the cosign CLI does.  On success returns 0 and
 * writes the index of the key that verified to *ret_key (may be NULL).
 * Otherwise -EBADMSG (no key verifies, or the payload names another
 * digest: reterr says which), or -ENOKEY (no key could be read).
 * Threading: any thread; pure computation.
 */
int sig_cosign_verify(const char *payload, size_t len, const char *sig_b64,
		      const char *const *keys, size_t n_keys, const char *digest, size_t *ret_key,
		      struct op_err *reterr);

#endif
