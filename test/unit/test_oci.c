/*
 * test_oci.c: the pure parts of lib/source/oci.c — references,
 * manifests and indexes, WWW-Authenticate challenges, docker configs,
 * Flux's semver pick, the manifest `flux push artifact` writes — and
 * cosign's signature check (lib/source/sigverify.c) with keys made here
 * by mbedTLS.  The protocol itself is tested against the real registry
 * in test/integration/itest_oci.c.
 */
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <string.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "base/buf.h"
#include "harness.h"
#include "source/oci.h"
#include "source/sigverify.h"
#include "yj/yj.h"

#define D1 "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define D2 "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

TEST(ref_parse_accepts_flux_urls)
{
	struct oci_ref r;

	ASSERT_OK(oci_ref_parse("oci://127.0.0.1:5000/team/app", true, &r, NULL));
	ASSERT_STREQ(r.host, "127.0.0.1:5000");
	ASSERT_STREQ(r.repo, "team/app");
	ASSERT_STREQ(r.tag, "");
	ASSERT_STREQ(r.digest, "");
	ASSERT_OK(oci_ref_parse("oci://ghcr.io/stefanprodan/manifests/podinfo:6.1.8", true, &r, NULL));
	ASSERT_STREQ(r.host, "ghcr.io");
	ASSERT_STREQ(r.repo, "stefanprodan/manifests/podinfo");
	ASSERT_STREQ(r.tag, "6.1.8");
	ASSERT_OK(oci_ref_parse("localhost:5000/a.b_c__d-e--f@" D1, false, &r, NULL));
	ASSERT_STREQ(r.repo, "a.b_c__d-e--f");
	ASSERT_STREQ(r.digest, D1);
	ASSERT_OK(oci_ref_parse("oci://reg.example.com/app:v1@" D1, true, &r, NULL));
	ASSERT_STREQ(r.tag, "v1");
	ASSERT_STREQ(r.digest, D1);
}

TEST(ref_parse_refuses_bad_names)
{
	struct oci_ref r;
	struct op_err e = OP_ERR_INIT;

	ASSERT_EQ(oci_ref_parse("https://ghcr.io/app", true, &r, &e), -EINVAL);
	ASSERT_CONTAINS(e.msg, "oci://<domain>/<org>/<repo>");
	ASSERT_EQ(oci_ref_parse("oci://ghcr.io", true, &r, NULL), -EINVAL);
	ASSERT_EQ(oci_ref_parse("oci://ghcr.io/", true, &r, NULL), -EINVAL);
	ASSERT_EQ(oci_ref_parse("ghcr.io/app", true, &r, NULL), -EINVAL);
	ASSERT_EQ(oci_ref_parse("oci://ghcr.io/App", true, &r, &e), -EINVAL);
	ASSERT_CONTAINS(e.msg, "invalid repository name");
	ASSERT_EQ(oci_ref_parse("oci://ghcr.io/a//b", true, &r, NULL), -EINVAL);
	ASSERT_EQ(oci_ref_parse("oci://ghcr.io/a-/b", true, &r, NULL), -EINVAL);
	ASSERT_EQ(oci_ref_parse("oci://ghcr.io/a:.bad", true, &r, NULL), -EINVAL);
	ASSERT_EQ(oci_ref_parse("oci://ghcr.io/a@sha256:ABC", true, &r, NULL), -EINVAL);
	ASSERT_EQ(oci_ref_parse("oci://gh cr.io/a", true, &r, NULL), -EINVAL);
}

TEST(digest_grammar)
{
	ASSERT(oci_digest_valid(D1));
	ASSERT(!oci_digest_valid("sha256:0123"));
	ASSERT(!oci_digest_valid("sha512:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
	ASSERT(!oci_digest_valid("sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
	ASSERT(!oci_digest_valid(NULL));
}

static const char flux_manifest[] =
	"{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT_MANIFEST "\","
	"\"config\":{\"mediaType\":\"" OCI_MT_FLUX_CONFIG "\",\"digest\":\"" D1 "\",\"size\":233},"
	"\"layers\":[{\"mediaType\":\"" OCI_MT_FLUX_CONTENT "\",\"digest\":\"" D2 "\",\"size\":1091}],"
	"\"annotations\":{\"org.opencontainers.image.created\":\"2026-01-01T00:00:00Z\","
	"\"org.opencontainers.image.revision\":\"main@sha1:abc\","
	"\"org.opencontainers.image.source\":\"https://github.com/x/y\"}}";

TEST(manifest_parse_flux_artifact)
{
	struct oci_manifest *m;
	char hex[65], want[80];

	ASSERT_OK(oci_manifest_parse(flux_manifest, strlen(flux_manifest), NULL, &m, NULL));
	ASSERT(!m->is_index);
	ASSERT_STREQ(m->media_type, OCI_MT_MANIFEST);
	ASSERT_STREQ(m->config.media_type, OCI_MT_FLUX_CONFIG);
	ASSERT_EQ(m->config.size, 233);
	ASSERT_EQ(m->n_descs, 1);
	ASSERT_STREQ(m->descs[0].media_type, OCI_MT_FLUX_CONTENT);
	ASSERT_STREQ(m->descs[0].digest, D2);
	ASSERT_EQ(m->descs[0].size, 1091);
	ASSERT_STREQ(yj_get_str(m->annotations, "/org.opencontainers.image.revision"),
		     "main@sha1:abc");
	/* The digest is that of the bytes, as the registry computes it. */
	yj_sha256_hex(flux_manifest, strlen(flux_manifest), hex);
	snprintf(want, sizeof(want), "sha256:%s", hex);
	ASSERT_STREQ(m->digest, want);
	ASSERT_EQ(m->size, strlen(flux_manifest));
	oci_manifest_free(m);
}

TEST(manifest_kind_from_content_type_or_shape)
{
	static const char bare_image[] =
		"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1 "\","
		"\"size\":2},\"layers\":[]}";
	static const char bare_index[] = "{\"schemaVersion\":2,\"manifests\":[]}";
	struct oci_manifest *m;

	ASSERT_OK(oci_manifest_parse(bare_image, strlen(bare_image), NULL, &m, NULL));
	ASSERT(!m->is_index);
	ASSERT_STREQ(m->media_type, OCI_MT_MANIFEST);
	ASSERT_EQ(m->n_descs, 0);
	oci_manifest_free(m);
	ASSERT_OK(oci_manifest_parse(bare_index, strlen(bare_index), NULL, &m, NULL));
	ASSERT(m->is_index);
	oci_manifest_free(m);
	ASSERT_OK(oci_manifest_parse(bare_index, strlen(bare_index),
				     OCI_MT_DOCKER_LIST "; charset=utf-8", &m, NULL));
	ASSERT(m->is_index);
	ASSERT_STREQ(m->media_type, OCI_MT_DOCKER_LIST);
	oci_manifest_free(m);
}

TEST(manifest_parse_refuses_what_we_cannot_read)
{
	static const char *const bad[][2] = {
		{ "not json", "not a JSON object" },
		{ "[1]", "not a JSON object" },
		{ "{\"schemaVersion\":1,\"fsLayers\":[]}", "schema 1" },
		{ "{\"schemaVersion\":3,\"layers\":[]}", "schemaVersion" },
		{ "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.x\",\"layers\":[]}",
		  "unsupported manifest media type" },
		{ "{\"schemaVersion\":2,\"layers\":[]}", "config" },
		{ "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1
		  "\",\"size\":2},\"layers\":[{\"digest\":\"" D1 "\",\"size\":1}]}", "no mediaType" },
		{ "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1
		  "\",\"size\":2},\"layers\":[{\"mediaType\":\"x\",\"digest\":\"md5:00\",\"size\":1}]}",
		  "digest" },
		{ "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1
		  "\",\"size\":-1},\"layers\":[]}", "size" },
		{ "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1
		  "\",\"size\":1.5},\"layers\":[]}", "size" },
		{ "{\"schemaVersion\":2,\"manifests\":{}}", "not an array" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct oci_manifest *m = NULL;
		struct op_err e = OP_ERR_INIT;

		ASSERT(oci_manifest_parse(bad[i][0], strlen(bad[i][0]), NULL, &m, &e) < 0);
		ASSERT(m == NULL);
		ASSERT_CONTAINS(e.msg, bad[i][1]);
	}
}

TEST(manifest_with_too_many_layers_is_refused)
{
	struct buf b = BUF_INIT(1 << 22);
	struct oci_manifest *m = NULL;
	struct op_err e = OP_ERR_INIT;

	buf_adds(&b, "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1
		     "\",\"size\":2},\"layers\":[");
	for (int i = 0; i <= OCI_MAX_DESCS; i++)
		buf_addf(&b, "%s{\"mediaType\":\"x\",\"digest\":\"" D1 "\",\"size\":1}", i ? "," : "");
	buf_adds(&b, "]}");
	ASSERT_EQ(oci_manifest_parse(b.buf, b.len, NULL, &m, &e), -E2BIG);
	ASSERT_CONTAINS(e.msg, "more than 4096");
	buf_release(&b);
}

TEST(index_pick_platform)
{
	static const char idx[] =
		"{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT_INDEX "\",\"manifests\":["
		"{\"mediaType\":\"" OCI_MT_MANIFEST "\",\"digest\":\"" D1 "\",\"size\":1,"
		"\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}},"
		"{\"mediaType\":\"" OCI_MT_MANIFEST "\",\"digest\":\"" D2 "\",\"size\":2,"
		"\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";
	static const char nop[] =
		"{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT_INDEX "\",\"manifests\":["
		"{\"mediaType\":\"" OCI_MT_MANIFEST "\",\"digest\":\"" D1 "\",\"size\":1}]}";
	struct oci_manifest *m;
	const struct oci_desc *d;

	ASSERT_OK(oci_manifest_parse(idx, strlen(idx), NULL, &m, NULL));
	ASSERT(m->is_index);
	d = oci_index_pick(m, NULL, NULL);
	ASSERT(d);
	ASSERT_STREQ(d->digest, D2);
	d = oci_index_pick(m, "linux", "arm64");
	ASSERT_STREQ(d->digest, D1);
	ASSERT(oci_index_pick(m, "windows", "amd64") == NULL);
	oci_manifest_free(m);
	/* An entry without a platform is taken for any (go-containerregistry). */
	ASSERT_OK(oci_manifest_parse(nop, strlen(nop), NULL, &m, NULL));
	ASSERT_STREQ(oci_index_pick(m, NULL, NULL)->digest, D1);
	oci_manifest_free(m);
}

static int parse_ch(const char *s, struct oci_challenge *ch)
{
	return oci_challenge_parse(s, strlen(s), ch);
}

TEST(challenge_bearer_and_basic)
{
	struct oci_challenge ch;

	ASSERT_OK(parse_ch("Bearer realm=\"https://auth.example.com/token\",service=\"registry\","
			   "scope=\"repository:team/app:pull\"", &ch));
	ASSERT_STREQ(ch.scheme, "bearer");
	ASSERT_STREQ(ch.realm, "https://auth.example.com/token");
	ASSERT_STREQ(ch.service, "registry");
	ASSERT_STREQ(ch.scope, "repository:team/app:pull");
	ASSERT_OK(parse_ch("Bearer realm=\"http://127.0.0.1:5005/token\",service=\"test-registry\","
			   "scope=\"repository:a:pull\",error=\"insufficient_scope\"", &ch));
	ASSERT_STREQ(ch.error, "insufficient_scope");
	ASSERT_OK(parse_ch("Basic realm=\"cflux-test-registry\"", &ch));
	ASSERT_STREQ(ch.scheme, "basic");
	ASSERT_STREQ(ch.realm, "cflux-test-registry");
	/* Several challenges: Basic or Bearer is preferred; escapes in quotes. */
	ASSERT_OK(parse_ch("Negotiate, BASIC realm=\"a \\\"quoted\\\" realm\", charset=UTF-8", &ch));
	ASSERT_STREQ(ch.scheme, "basic");
	ASSERT_STREQ(ch.realm, "a \"quoted\" realm");
	ASSERT_OK(parse_ch("bearer realm=https://x/token, service=s", &ch));
	ASSERT_STREQ(ch.realm, "https://x/token");
	ASSERT_STREQ(ch.service, "s");
	ASSERT_EQ(parse_ch("", &ch), -EINVAL);
	ASSERT_EQ(parse_ch("Bearer realm=\"unterminated", &ch), -EINVAL);
}

TEST(docker_config_lookup_as_kubernetes)
{
	static const char cfg[] =
		"{\"auths\":{"
		"\"https://index.docker.io/v1/\":{\"auth\":\"aHViOmh1YnBhc3M=\"},"
		"\"127.0.0.1:5000\":{\"username\":\"u1\",\"password\":\"p1\"},"
		"\"127.0.0.1:5000/team\":{\"username\":\"u2\",\"password\":\"p2\"},"
		"\"*.example.com\":{\"auth\":\"Z2xvYjpnbG9icGFzcw==\"},"
		"\"token.example.org\":{\"identitytoken\":\"refresh-me\"},"
		"\"bearer.example.org\":{\"registrytoken\":\"raw-token\"}}}";
	struct oci_cred c = { 0 };
	struct op_err e = OP_ERR_INIT;

	ASSERT_OK(oci_docker_config_lookup(cfg, "127.0.0.1:5000", "other/app", &c, NULL));
	ASSERT_STREQ(c.username, "u1");
	ASSERT_STREQ(c.password, "p1");
	oci_cred_release(&c);
	/* The longest matching path wins. */
	ASSERT_OK(oci_docker_config_lookup(cfg, "127.0.0.1:5000", "team/app", &c, NULL));
	ASSERT_STREQ(c.username, "u2");
	oci_cred_release(&c);
	/* "team" is not a prefix of "teams/app" as a path. */
	ASSERT_OK(oci_docker_config_lookup(cfg, "127.0.0.1:5000", "teams/app", &c, NULL));
	ASSERT_STREQ(c.username, "u1");
	oci_cred_release(&c);
	ASSERT_OK(oci_docker_config_lookup(cfg, "index.docker.io", "library/x", &c, NULL));
	ASSERT_STREQ(c.username, "hub");
	ASSERT_STREQ(c.password, "hubpass");
	oci_cred_release(&c);
	ASSERT_OK(oci_docker_config_lookup(cfg, "reg.example.com", "x", &c, NULL));
	ASSERT_STREQ(c.username, "glob");
	oci_cred_release(&c);
	/* A glob label matches one label only, and ports must agree. */
	ASSERT_EQ(oci_docker_config_lookup(cfg, "a.reg.example.com", "x", &c, NULL), -ENOENT);
	ASSERT_EQ(oci_docker_config_lookup(cfg, "127.0.0.1:5001", "x", &c, NULL), -ENOENT);
	ASSERT_EQ(oci_docker_config_lookup(cfg, "127.0.0.1", "x", &c, NULL), -ENOENT);
	ASSERT_OK(oci_docker_config_lookup(cfg, "token.example.org", "x", &c, NULL));
	ASSERT_STREQ(c.identity_token, "refresh-me");
	oci_cred_release(&c);
	ASSERT_OK(oci_docker_config_lookup(cfg, "bearer.example.org", "x", &c, NULL));
	ASSERT_STREQ(c.registry_token, "raw-token");
	oci_cred_release(&c);
	/* The old .dockercfg form is the map alone. */
	ASSERT_OK(oci_docker_config_lookup("{\"r.io\":{\"username\":\"a\",\"password\":\"b\"}}",
					   "r.io", "x", &c, NULL));
	ASSERT_STREQ(c.password, "b");
	oci_cred_release(&c);
	ASSERT_EQ(oci_docker_config_lookup("{", "r.io", "x", &c, &e), -EINVAL);
	ASSERT_EQ(oci_docker_config_lookup("{\"auths\":{\"r.io\":{\"auth\":\"bm9jb2xvbg==\"}}}",
					   "r.io", "x", &c, &e), -EINVAL);
	ASSERT_CONTAINS(e.msg, "user:password");
}

TEST(semver_pick_as_flux)
{
	static const char *const tags[] = { "latest", "1.0.0", "v1.2.0", "1.3", "1.2.5-rc.1",
					    "2.0.0", "1.10.0", "sha256-x.sig", "1.2.4" };
	size_t n = sizeof(tags) / sizeof(tags[0]);
	char t[OCI_TAG_MAX + 1];
	struct op_err e = OP_ERR_INIT;

	ASSERT_OK(oci_semver_pick(tags, n, ">=1.0.0", NULL, false, t, NULL));
	ASSERT_STREQ(t, "2.0.0");
	/* "1.3" is not a three-part version: never picked. */
	ASSERT_OK(oci_semver_pick(tags, n, "1.x", NULL, false, t, NULL));
	ASSERT_STREQ(t, "1.10.0");
	ASSERT_OK(oci_semver_pick(tags, n, "~1.2", NULL, false, t, NULL));
	ASSERT_STREQ(t, "1.2.4");
	ASSERT_OK(oci_semver_pick(tags, n, ">=1.2.5-0 <1.3.0", NULL, false, t, NULL));
	ASSERT_STREQ(t, "1.2.5-rc.1");
	ASSERT_OK(oci_semver_pick(tags, n, "1.2.0", NULL, false, t, NULL));
	ASSERT_STREQ(t, "v1.2.0");
	ASSERT_OK(oci_semver_pick(tags, n, "*", "^1\\.\\d\\.", false, t, NULL));
	ASSERT_STREQ(t, "1.2.4");
	ASSERT_EQ(oci_semver_pick(tags, n, ">=3.0.0", NULL, false, t, &e), -ENOENT);
	ASSERT_STREQ(e.msg, "no match found for semver: >=3.0.0");
	ASSERT_EQ(oci_semver_pick(tags, n, ">=!!", NULL, false, t, &e), -EINVAL);
	ASSERT_CONTAINS(e.msg, "semver '>=!!' parse error");
	ASSERT_EQ(oci_semver_pick(tags, n, "*", "([", false, t, &e), -EINVAL);
	ASSERT_CONTAINS(e.msg, "regex '([' parse error");
}

TEST(tags_filter_keeps_order)
{
	const char *tags[] = { "v2.0.0", "latest", "1.0.0", "sha256-x.sig", "1.0.1-rc.1" };

	/* Regex only: anything that matches, versions or not. */
	ASSERT_EQ(oci_tags_filter(tags, 5, NULL, "\\d", false, NULL), 4);
	ASSERT_STREQ(tags[0], "v2.0.0");
	ASSERT_STREQ(tags[1], "1.0.0");
	ASSERT_STREQ(tags[2], "sha256-x.sig");
	ASSERT_STREQ(tags[3], "1.0.1-rc.1");
	/* Semver: versions only, prereleases only when asked. */
	ASSERT_EQ(oci_tags_filter(tags, 4, ">=1.0.0", NULL, false, NULL), 2);
	ASSERT_STREQ(tags[0], "v2.0.0");
	ASSERT_STREQ(tags[1], "1.0.0");
}

/* Go's regexp syntax, as flux's --filter-regex compiles it; what Go refuses is refused. */
TEST(tags_filter_is_go_regexp)
{
	const char *tags[] = { "V2.0.0", "latest", "1.0.0" };
	struct op_err e = OP_ERR_INIT;

	ASSERT_EQ(oci_tags_filter(tags, 3, NULL, "(?i)^v\\d", false, NULL), 1);
	ASSERT_STREQ(tags[0], "V2.0.0");
	/* POSIX regcomp took it, and 30 more '+' took gigabytes */
	ASSERT_EQ(oci_tags_filter(tags, 3, NULL, "a+++++", false, &e), -EINVAL);
	ASSERT_STREQ(e.msg, "regex 'a+++++' parse error");
}

TEST(semver_pick_helm_build_metadata)
{
	static const char *const tags[] = { "1.0.0_build.1", "1.0.1_b", "0.9.0" };
	char t[OCI_TAG_MAX + 1];

	ASSERT_OK(oci_semver_pick(tags, 3, "1.0.x", NULL, true, t, NULL));
	ASSERT_STREQ(t, "1.0.1_b");
	/* Without Helm's mapping "_" is no separator: the tags are not versions. */
	ASSERT_EQ(oci_semver_pick(tags, 3, "1.0.x", NULL, false, t, NULL), -ENOENT);
}

TEST(manifest_build_reads_back)
{
	struct oci_desc cfg = { .media_type = OCI_MT_FLUX_CONFIG, .digest = D1, .size = 2 };
	struct oci_desc lay = { .media_type = OCI_MT_FLUX_CONTENT, .digest = D2, .size = 77 };
	cJSON *ann = cJSON_CreateObject();
	struct oci_manifest *m;
	char *s;

	cJSON_AddStringToObject(ann, OCI_ANN_SOURCE, "https://example.com/repo");
	s = oci_manifest_build(&cfg, &lay, ann);
	ASSERT_OK(oci_manifest_parse(s, strlen(s), NULL, &m, NULL));
	ASSERT_STREQ(m->media_type, OCI_MT_MANIFEST);
	ASSERT_STREQ(m->config.digest, D1);
	ASSERT_EQ(m->n_descs, 1);
	ASSERT_EQ(m->descs[0].size, 77);
	ASSERT_STREQ(yj_get_str(m->annotations, "/" OCI_ANN_SOURCE), "https://example.com/repo");
	oci_manifest_free(m);
	free(s);
	cJSON_Delete(ann);
}

/* ---- cosign: keys and signatures made here, the way cosign makes them ---- */

struct keypair {
	mbedtls_pk_context pk;
	char pub[1024];
};

static void keypair_new(struct keypair *k, mbedtls_ctr_drbg_context *drbg)
{
	mbedtls_pk_init(&k->pk);
	ASSERT_OK(mbedtls_pk_setup(&k->pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)));
	ASSERT_OK(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(k->pk),
				      mbedtls_ctr_drbg_random, drbg));
	ASSERT_OK(mbedtls_pk_write_pubkey_pem(&k->pk, (unsigned char *)k->pub, sizeof(k->pub)));
}

/* The base64 of an ECDSA (DER) signature of sha256(msg), as cosign stores it. */
static char *sign_b64(struct keypair *k, mbedtls_ctr_drbg_context *drbg, const char *msg)
{
	unsigned char hash[32], sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
	size_t n;

	mbedtls_sha256_ret((const unsigned char *)msg, strlen(msg), hash, 0);
	ASSERT_OK(mbedtls_pk_sign(&k->pk, MBEDTLS_MD_SHA256, hash, 32, sig, &n,
				  mbedtls_ctr_drbg_random, drbg));
	return b64_encode(sig, n);
}

static char *payload_for(const char *digest)
{
	return xasprintf("{\"critical\":{\"identity\":{\"docker-reference\":\"127.0.0.1:5000/app\"},"
			 "\"image\":{\"docker-manifest-digest\":\"%s\"},"
			 "\"type\":\"cosign container image signature\"},\"optional\":null}", digest);
}

TEST(cosign_signature_checks)
{
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	struct keypair good, other;
	struct op_err e = OP_ERR_INIT;
	char *payload = payload_for(D1), *sig, *sig_other;
	const char *keys[2];
	size_t which = 99;

	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);
	ASSERT_OK(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0));
	keypair_new(&good, &drbg);
	keypair_new(&other, &drbg);
	sig = sign_b64(&good, &drbg, payload);
	sig_other = sign_b64(&other, &drbg, payload);

	/* The right key among several verifies, and says which it was. */
	keys[0] = other.pub;
	keys[1] = good.pub;
	ASSERT_OK(sig_cosign_verify(payload, strlen(payload), sig, keys, 2, D1, &which, NULL));
	ASSERT_EQ(which, 1);
	/* A signature by a key not given does not. */
	ASSERT_EQ(sig_cosign_verify(payload, strlen(payload), sig_other, keys + 1, 1, D1, NULL, &e),
		  -EBADMSG);
	ASSERT_CONTAINS(e.msg, "does not verify");
	/* A good signature of a payload for another artifact is refused. */
	ASSERT_EQ(sig_cosign_verify(payload, strlen(payload), sig, keys, 2, D2, NULL, &e), -EBADMSG);
	ASSERT_CONTAINS(e.msg, "the signature is for '" D1 "'");
	/* A changed payload breaks the signature. */
	payload[10] ^= 1;
	ASSERT_EQ(sig_cosign_verify(payload, strlen(payload), sig, keys, 2, D1, NULL, &e), -EBADMSG);
	payload[10] ^= 1;
	/* Keys that are not keys; signatures that are not base64. */
	keys[0] = "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n";
	ASSERT_EQ(sig_cosign_verify(payload, strlen(payload), sig, keys, 1, D1, NULL, &e), -ENOKEY);
	ASSERT_EQ(sig_cosign_verify(payload, strlen(payload), "%%%", keys + 1, 1, D1, NULL, &e),
		  -EBADMSG);
	ASSERT_EQ(sig_cosign_verify(payload, strlen(payload), "", keys + 1, 1, D1, NULL, &e),
		  -EBADMSG);
	free(sig);
	free(sig_other);
	free(payload);
	/* A signed payload that is no cosign image signature. */
	payload = xstrdup("{\"critical\":{\"type\":\"something else\",\"image\":"
			  "{\"docker-manifest-digest\":\"" D1 "\"}}}");
	sig = sign_b64(&good, &drbg, payload);
	ASSERT_EQ(sig_cosign_verify(payload, strlen(payload), sig, keys + 1, 1, D1, NULL, &e),
		  -EBADMSG);
	ASSERT_CONTAINS(e.msg, "not a cosign container image signature");
	free(sig);
	free(payload);
	mbedtls_pk_free(&good.pk);
	mbedtls_pk_free(&other.pk);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
}
