/*
 * fuzz_oci.c: fuzz target for what lib/source/oci.c reads from registries
 * and Secrets: manifests and indexes, WWW-Authenticate challenges,
 * docker configs and references.
 *
 * Input: the first byte picks the parser ('m' manifest, 'c' challenge,
 * 'd' docker config, 'r' reference; anything else: all of them), the rest
 * is the text.  Invariants: no crash, no leak, no sanitizer report; a
 * parsed manifest is consistent (digests valid, an index's pick is one of
 * its entries); what oci_manifest_build() writes parses back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "source/oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void manifest(const char *s, size_t n)
{
	struct oci_manifest *m = NULL;

	if (oci_manifest_parse(s, n, "application/vnd.oci.image.manifest.v1+json", &m, NULL) < 0)
		return;
	if (!oci_digest_valid(m->digest) || m->size != n)
		abort();
	for (size_t i = 0; i < m->n_descs; i++)
		if (!oci_digest_valid(m->descs[i].digest) || !m->descs[i].media_type)
			abort();
	if (m->is_index) {
		const struct oci_desc *d = oci_index_pick(m, NULL, NULL);

		if (d && (d < m->descs || d >= m->descs + m->n_descs))
			abort();
	} else if (m->n_descs) {
		char *s2 = oci_manifest_build(&m->config, &m->descs[0], m->annotations);
		struct oci_manifest *m2 = NULL;

		if (oci_manifest_parse(s2, strlen(s2), NULL, &m2, NULL) < 0)
			abort(); /* we wrote a manifest we cannot read */
		oci_manifest_free(m2);
		free(s2);
	}
	oci_manifest_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char sel = size ? (char)data[0] : 0, *s;
	size_t n = size ? size - 1 : 0;

	if (size > (1u << 20))
		return 0;
	s = xmalloc(n + 1);
	memcpy(s, data + (size ? 1 : 0), n);
	s[n] = '\0';
	if (sel == 'm' || !strchr("mcdr", sel))
		manifest(s, n);
	if (sel == 'c' || !strchr("mcdr", sel)) {
		struct oci_challenge ch;

		(void)oci_challenge_parse(s, n, &ch);
	}
	if (sel == 'd' || !strchr("mcdr", sel)) {
		struct oci_cred c = { 0 };

		if (oci_docker_config_lookup(s, "127.0.0.1:5000", "team/app", &c, NULL) == 0)
			oci_cred_release(&c);
		if (oci_docker_config_lookup(s, "reg.example.com", "a", &c, NULL) == 0)
			oci_cred_release(&c);
	}
	if (sel == 'r' || !strchr("mcdr", sel)) {
		struct oci_ref r;

		(void)oci_ref_parse(s, false, &r, NULL);
		(void)oci_ref_parse(s, true, &r, NULL);
	}
	free(s);
	return 0;
}
