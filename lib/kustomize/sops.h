/*
 * sops.h: SOPS decryption with age identities, for Kustomization
 * spec.decryption (provider "sops") as Flux's kustomize-controller does it.
 *
 * A SOPS document is a tree whose leaves are `ENC[AES256_GCM,...]` strings
 * and whose top-level "sops" map holds the metadata: the 32-byte data key
 * wrapped for each recipient (we read `sops.age[].enc`, age v1 files), the
 * rules saying which leaves are encrypted, and the MAC (SHA-512 over the
 * plaintext leaves in walk order, itself encrypted with `lastmodified` as
 * additional data).  Each leaf's additional data is its key path joined by
 * ':' with a trailing ':' ("data:password:"); list items take their
 * list's path, as sops walks them.
 *
 * The specifications are getsops/sops v3.13.3 (sops.go, aes/cipher.go,
 * stores/json) and filippo.io/age v1.3.2 (the age-encryption.org/v1
 * format: X25519 stanzas, header HMAC, ChaCha20-Poly1305 STREAM).  Only
 * age X25519 recipients are supported: PGP, KMS, Vault and plugin
 * recipients are skipped, and a document that only they can open fails
 * with a message saying so.  Shamir key groups are refused.
 *
 * The regexes of the metadata (encrypted_regex, unencrypted_regex) are
 * Go regexps.  lib/kustomize may not use lib/tmpl's regex engine, so a
 * small subset is matched here: a literal, optionally anchored with ^ and
 * $, or an anchored group of literal alternatives ("^(data|stringData)$",
 * the usual Flux setup).  Anything else is refused with -ENOTSUP naming the
 * field, never guessed.
 *
 * Messages (err) name the field or the tree path, never a key, a value or
 * any decrypted byte.  Key material is wiped (mbedtls_platform_zeroize)
 * before its memory is released.
 *
 * Threading: no global state; use from worker threads freely.
 */
#ifndef CFLUX_KUSTOMIZE_SOPS_H
#define CFLUX_KUSTOMIZE_SOPS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* A set of age X25519 identities (secret keys), opaque. */
struct sops_identities;

/* A new, empty set; never fails (out of memory aborts). */
struct sops_identities *sops_identities_new(void);

/* Wipe the keys and free the set; accepts NULL. */
void sops_identities_free(struct sops_identities *ids);

/* How many identities the set holds. */
size_t sops_identities_count(const struct sops_identities *ids);

/*
 * Add the identities of `text` (`n` bytes): one AGE-SECRET-KEY-1... per
 * line, blank lines and lines starting with '#' ignored, as age-keygen
 * writes them.  Returns the number added (at least 1), or -EINVAL with a
 * message in err (the line number, never the line) if a line is not a
 * valid identity or the text holds none.
 */
int sops_identities_add(struct sops_identities *ids, const char *text, size_t n, char *err,
			size_t errlen);

/*
 * Decrypt the age file `in` (binary, or armored with
 * "-----BEGIN AGE ENCRYPTED FILE-----") with the first identity that
 * opens one of its X25519 stanzas (`ids` NULL: none, so -ENOKEY).  On
 * success returns 0 and stores the plaintext in *ret (NUL-terminated,
 * caller wipes and frees) and its length in *ret_len.  -ENOKEY when no
 * identity matches, -EINVAL for a malformed file, -EBADMSG for a failed
 * authentication, -EFBIG above 1 MiB of payload.
 */
int sops_age_decrypt(const struct sops_identities *ids, const void *in, size_t n,
		     unsigned char **ret, size_t *ret_len, char *err, size_t errlen);

/*
 * True if `doc` is a SOPS document as kustomize-controller's
 * isSOPSEncryptedResource decides: a non-empty top-level "sops" map with a
 * "mac" that is not null, {} or [] (kyaml's IsNilOrEmpty; "" counts).
 */
bool sops_is_encrypted(const cJSON *doc);

enum sops_flags {
	/*
	 * Check the MAC.  sops -d does; kustomize-controller v1.7.3 does not
	 * (its checkSopsMac is never set), and it must not: the MAC hashes the
	 * leaves in document order, which the kustomize build and the JSON
	 * marshalling before decryption change.
	 */
	SOPS_VERIFY_MAC = 1 << 0,
};

/*
 * Decrypt the SOPS document `doc` (a JSON object) in place: every
 * encrypted leaf is replaced by its typed plaintext and the top-level
 * "sops" key is removed (`ids` may be NULL: no identity).  Returns 0, or
 * a negative errno with a message in err: -ENOKEY (no age identity
 * matches), -EBADMSG (a value or the MAC does not authenticate, "MAC
 * mismatch"), -ENOTSUP (metadata we do not support), -EINVAL (malformed).  On failure `doc` may be half-decrypted:
 * the caller discards it.
 */
int sops_decrypt(cJSON *doc, const struct sops_identities *ids, unsigned flags, char *err,
		 size_t errlen);

#endif
