/*
 * fuzz_sops.c: fuzz target for SOPS decryption (lib/kustomize/sops.c),
 * which reads documents from users' repositories.  One fixed age identity
 * (a throwaway test key; the corpus is encrypted for it, so the fuzzer
 * starts past the key unwrap).  Input: a JSON document, decrypted with
 * and without the MAC check, and the same bytes as an age file and as an
 * identity text.  Invariants: no crash, no leak, no sanitizer report; a
 * success removes the "sops" key; every failure has a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kustomize/sops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char key[] =
	"AGE-SECRET-KEY-1DY973E9L29QURYRL6LMJ65UMJ9YKJ4TY8UKTPVEXZR9TURT092LSYM87ET\n";

static void doc(const struct sops_identities *ids, const uint8_t *data, size_t size,
		unsigned flags)
{
	cJSON *j = cJSON_ParseWithLength((const char *)data, size);
	char err[256] = "";

	if (!j)
		return;
	if (sops_decrypt(j, ids, flags, err, sizeof(err)) == 0) {
		if (cJSON_GetObjectItemCaseSensitive(j, "sops"))
			abort();
	} else if (!err[0]) {
		abort();
	}
	cJSON_Delete(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sops_identities *ids, *more;
	unsigned char *pt = NULL;
	char err[256];
	size_t ptl = 0;

	if (size > (1u << 20))
		return 0;
	ids = sops_identities_new();
	if (sops_identities_add(ids, key, strlen(key), err, sizeof(err)) != 1)
		abort();
	doc(ids, data, size, 0);
	doc(ids, data, size, SOPS_VERIFY_MAC);
	if (sops_age_decrypt(ids, data, size, &pt, &ptl, err, sizeof(err)) == 0)
		free(pt);
	more = sops_identities_new();
	(void)sops_identities_add(more, (const char *)data, size, err, sizeof(err));
	sops_identities_free(more);
	sops_identities_free(ids);
	return 0;
}
