/*
 * test_sops.c: lib/kustomize/sops.c against the real tools.
 *
 * Fixtures are made at test time by sops v3.13.3, age and age-keygen
 * v1.3.2 (test/cluster/build.sh sops; their paths come from
 * test/cluster/env.sh, which holds the pinned versions): what we decrypt
 * is what users commit.  Each decryption is compared with the plaintext
 * the test encrypted, through yj_print_canonical(), byte for byte.  A few
 * malformed inputs are literals here.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "base/buf.h"
#include "base/path.h"
#include "base/str.h"
#include "kustomize/kustomize.h"
#include "kustomize/sops.h"
#include "yj/yj.h"
#include "harness.h"

struct tools {
	char sops[512], age[512], keygen[512];
};

/* A line of `sh -c cmd`'s output, without its newline. */
static void sh_line(const char *cmd, char *out, size_t n)
{
	FILE *f = popen(cmd, "r");
	size_t l;

	ASSERT(f != NULL);
	if (!fgets(out, (int)n, f))
		out[0] = 0;
	pclose(f);
	l = strlen(out);
	if (l && out[l - 1] == '\n')
		out[l - 1] = 0;
}

/* The paths of the tools, built on first use as kustomize_diff.sh builds its oracles. */
static const struct tools *tools(void)
{
	static struct tools t;

	if (t.sops[0])
		return &t;
	sh_line(". test/cluster/env.sh >/dev/null 2>&1; echo \"$SOPS\"", t.sops, sizeof(t.sops));
	sh_line(". test/cluster/env.sh >/dev/null 2>&1; echo \"$AGE\"", t.age, sizeof(t.age));
	sh_line(". test/cluster/env.sh >/dev/null 2>&1; echo \"$AGE_KEYGEN\"", t.keygen,
		sizeof(t.keygen));
	if (access(t.sops, X_OK) || access(t.age, X_OK) || access(t.keygen, X_OK)) {
		if (system("bash test/cluster/build.sh sops >/dev/null 2>&1") != 0)
			harness__fail(__FILE__, __LINE__, "sops and age did not build "
							  "(bash test/cluster/build.sh sops)");
	}
	return &t;
}

static void run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void run(const char *fmt, ...)
{
	struct buf b = BUF_INIT(1 << 16);
	va_list ap;

	va_start(ap, fmt);
	ASSERT_OK(buf_vaddf(&b, fmt, ap));
	va_end(ap);
	if (system(b.buf) != 0)
		harness__fail(__FILE__, __LINE__, "command failed: %s", b.buf);
	buf_release(&b);
}

static char *slurp(const char *dir, const char *rel, size_t *ret_len)
{
	char *p = xasprintf("%s/%s", dir, rel), *data = NULL;
	size_t n = 0;

	ASSERT_OK(path_read_file(p, 64u << 20, &data, &n));
	free(p);
	if (ret_len)
		*ret_len = n;
	return data;
}

/* A new age key in dir/name.txt; its recipient in `rcpt`. */
static void keygen(const char *dir, const char *name, char rcpt[128])
{
	char cmd[1024];

	run("rm -f '%s/%s.txt' && '%s' -o '%s/%s.txt' 2>/dev/null", dir, name, tools()->keygen, dir,
	    name);
	snprintf(cmd, sizeof(cmd), "'%s' -y '%s/%s.txt'", tools()->keygen, dir, name);
	sh_line(cmd, rcpt, 128);
	ASSERT(str_startswith(rcpt, "age1"));
}

static struct sops_identities *ids_from(const char *dir, const char *name)
{
	struct sops_identities *ids = sops_identities_new();
	char *rel = xasprintf("%s.txt", name), *text;
	char err[256];
	size_t n;

	text = slurp(dir, rel, &n);
	ASSERT_EQ(sops_identities_add(ids, text, n, err, sizeof(err)), 1);
	free(text);
	free(rel);
	return ids;
}

static char *canon(const cJSON *j)
{
	struct buf b = BUF_INIT(64u << 20);

	ASSERT_OK(yj_print_canonical(j, &b));
	return buf_detach(&b, NULL);
}

/*
 * Encrypt `plain` (JSON) with sops for `rcpt` with extra sops `args`,
 * return the parsed encrypted document.
 */
static cJSON *sops_encrypt(const char *dir, const char *rcpt, const char *args, const char *plain)
{
	cJSON *doc;
	char *enc;

	harness_put(dir, "plain.json", plain);
	run("cd '%s' && '%s' -e --age '%s' %s --input-type json --output-type json plain.json "
	    ">enc.json",
	    dir, tools()->sops, rcpt, args);
	enc = slurp(dir, "enc.json", NULL);
	doc = cJSON_Parse(enc);
	ASSERT(doc != NULL);
	ASSERT(sops_is_encrypted(doc));
	free(enc);
	return doc;
}

/* Encrypt, decrypt with our code (MAC checked), compare with the plaintext. */
static void roundtrip(const char *args, const char *plain)
{
	const char *dir = harness_tmpdir();
	struct sops_identities *ids;
	char rcpt[128], err[256] = "", *got, *want;
	cJSON *doc, *pj;

	keygen(dir, "k", rcpt);
	ids = ids_from(dir, "k");
	doc = sops_encrypt(dir, rcpt, args, plain);
	if (sops_decrypt(doc, ids, SOPS_VERIFY_MAC, err, sizeof(err)) < 0)
		harness__fail(__FILE__, __LINE__, "sops_decrypt: %s", err);
	ASSERT(!sops_is_encrypted(doc));
	pj = cJSON_Parse(plain);
	got = canon(doc);
	want = canon(pj);
	if (strcmp(got, want))
		harness__fail(__FILE__, __LINE__, "decrypted\n%s\nwant\n%s", got, want);
	free(got), free(want);
	cJSON_Delete(pj);
	cJSON_Delete(doc);
	sops_identities_free(ids);
}

static const char secret[] =
	"{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"db\","
	"\"namespace\":\"apps\",\"labels\":{\"app\":\"db\"}},\"type\":\"Opaque\","
	"\"data\":{\"token\":\"c2VjcmV0LXRva2Vu\"},"
	"\"stringData\":{\"password\":\"hunter2\",\"user\":\"admin\",\"empty\":\"\"}}";

TEST(sops_flux_encrypted_regex)
{
	roundtrip("--encrypted-regex '^(data|stringData)$'", secret);
}

TEST(sops_all_values_types_nested_list)
{
	roundtrip("", "{\"a\":{\"b\":{\"c\":\"deep\"},\"n\":42,\"neg\":-7,\"f\":3.25,"
		      "\"small\":0.001,\"t\":true,\"F\":false,\"nul\":null},"
		      "\"list\":[\"x\",1,2.5,false,{\"k\":\"in-list\"},[\"nested\"]],"
		      "\"u\":\"caf\\u00e9 \\u2603\"}");
}

TEST(sops_unencrypted_suffix)
{
	roundtrip("--unencrypted-suffix _unencrypted",
		  "{\"name_unencrypted\":\"plain\",\"pw\":\"s3cret\","
		  "\"cfg_unencrypted\":{\"n\":5,\"inner\":\"also plain\"},\"n\":5}");
}

TEST(sops_encrypted_suffix_and_unencrypted_regex)
{
	roundtrip("--encrypted-suffix _secret", "{\"a_secret\":\"x\",\"b\":\"y\",\"c\":7}");
	roundtrip("--unencrypted-regex '^(kind|apiVersion)$'", secret);
}

TEST(sops_mac_only_encrypted)
{
	roundtrip("--encrypted-regex '^stringData$' --mac-only-encrypted", secret);
}

/* sops -e leaves unencrypted values in clear; changing one breaks the MAC only. */
TEST(sops_tampered_value_mac_mismatch)
{
	const char *dir = harness_tmpdir();
	struct sops_identities *ids;
	char rcpt[128], err[256] = "";
	cJSON *doc, *copy;

	keygen(dir, "k", rcpt);
	ids = ids_from(dir, "k");
	doc = sops_encrypt(dir, rcpt, "--encrypted-regex '^(data|stringData)$'", secret);
	cJSON_SetValuestring(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "metadata"), "name"),
			     "other");
	copy = cJSON_Duplicate(doc, 1);
	ASSERT_EQ(sops_decrypt(doc, ids, SOPS_VERIFY_MAC, err, sizeof(err)), -EBADMSG);
	ASSERT(strstr(err, "MAC mismatch") != NULL);
	ASSERT(strstr(err, "hunter2") == NULL);
	/* Flux does not check the MAC: the values still authenticate one by one */
	ASSERT_OK(sops_decrypt(copy, ids, 0, err, sizeof(err)));
	cJSON_Delete(copy);
	cJSON_Delete(doc);
	sops_identities_free(ids);
}

/*
 * JSON with the "sops" key twice (fuzz-long found it): refused, where the
 * second copy of the metadata stayed in the "decrypted" object.
 */
TEST(sops_metadata_twice_refused)
{
	const char *dir = harness_tmpdir();
	struct sops_identities *ids;
	char rcpt[128], err[256] = "";
	cJSON *doc;

	keygen(dir, "k", rcpt);
	ids = ids_from(dir, "k");
	doc = sops_encrypt(dir, rcpt, "--encrypted-regex '^(data|stringData)$'", secret);
	cJSON_AddItemToObject(doc, "sops",
			      cJSON_Duplicate(cJSON_GetObjectItem(doc, "sops"), 1));
	ASSERT_EQ(sops_decrypt(doc, ids, 0, err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "the 'sops' key appears more than once");
	cJSON_Delete(doc);
	sops_identities_free(ids);
}

/* A value moved to another key fails: its path is its additional data. */
TEST(sops_moved_value_fails)
{
	const char *dir = harness_tmpdir();
	struct sops_identities *ids;
	char rcpt[128], err[256] = "";
	cJSON *doc, *sd;
	char *pw;

	keygen(dir, "k", rcpt);
	ids = ids_from(dir, "k");
	doc = sops_encrypt(dir, rcpt, "--encrypted-regex '^(data|stringData)$'", secret);
	sd = cJSON_GetObjectItem(doc, "stringData");
	pw = xstrdup(cJSON_GetObjectItem(sd, "password")->valuestring);
	cJSON_SetValuestring(cJSON_GetObjectItem(sd, "user"), pw);
	free(pw);
	ASSERT_EQ(sops_decrypt(doc, ids, 0, err, sizeof(err)), -EBADMSG);
	ASSERT(strstr(err, "stringData:user:") != NULL);
	ASSERT(strstr(err, "hunter2") == NULL);
	cJSON_Delete(doc);
	sops_identities_free(ids);
}

/*
 * kustomize-controller decrypts the resource as kyaml marshals it, keys
 * sorted.  The values still open; the MAC, over values in document order,
 * does not match (sops -d says the same), which is why Flux skips it.
 */
TEST(sops_sorted_keys)
{
	const char *dir = harness_tmpdir();
	struct sops_identities *ids;
	char rcpt[128], err[256] = "", *s, *got, *want;
	cJSON *doc, *sorted, *pj;

	keygen(dir, "k", rcpt);
	ids = ids_from(dir, "k");
	doc = sops_encrypt(dir, rcpt, "--encrypted-regex '^(data|stringData)$'", secret);
	s = canon(doc); /* canonical = keys sorted */
	sorted = cJSON_Parse(s);
	free(s);
	ASSERT_EQ(sops_decrypt(doc, ids, SOPS_VERIFY_MAC, err, sizeof(err)), 0);
	s = canon(sorted);
	harness_put(dir, "sorted.json", s);
	free(s);
	s = xasprintf("cd '%s' && SOPS_AGE_KEY_FILE=k.txt '%s' -d --input-type json "
		      "--output-type json sorted.json >/dev/null 2>&1",
		      dir, tools()->sops);
	ASSERT_NE(system(s), 0);
	free(s);
	pj = cJSON_Duplicate(sorted, 1);
	ASSERT_EQ(sops_decrypt(pj, ids, SOPS_VERIFY_MAC, err, sizeof(err)), -EBADMSG);
	ASSERT(strstr(err, "MAC mismatch") != NULL);
	cJSON_Delete(pj);
	ASSERT_OK(sops_decrypt(sorted, ids, 0, err, sizeof(err)));
	pj = cJSON_Parse(secret);
	got = canon(sorted);
	want = canon(pj);
	ASSERT(streq(got, want));
	free(got), free(want);
	cJSON_Delete(pj);
	cJSON_Delete(sorted);
	cJSON_Delete(doc);
	sops_identities_free(ids);
}

TEST(sops_wrong_identity_names_unsupported_recipients)
{
	const char *dir = harness_tmpdir();
	struct sops_identities *other;
	char rcpt[128], r2[128], err[256] = "";
	cJSON *doc;

	keygen(dir, "k", rcpt);
	keygen(dir, "other", r2);
	other = ids_from(dir, "other");
	doc = sops_encrypt(dir, rcpt, "", secret);
	ASSERT_EQ(sops_decrypt(doc, other, 0, err, sizeof(err)), -ENOKEY);
	ASSERT(strstr(err, "no age identity matches") != NULL);
	ASSERT(strstr(err, "not supported") == NULL);
	cJSON_AddItemToObject(cJSON_GetObjectItem(doc, "sops"), "pgp",
			      cJSON_Parse("[{\"fp\":\"ABCDEF\",\"enc\":\"x\"}]"));
	ASSERT_EQ(sops_decrypt(doc, other, 0, err, sizeof(err)), -ENOKEY);
	ASSERT(strstr(err, "PGP/KMS/Vault recipients are not supported by cflux") != NULL);
	cJSON_Delete(doc);
	sops_identities_free(other);
}

/* ---------------------------------------------------------------- age */

static unsigned char *age_open(struct sops_identities *ids, const char *dir, const char *rel,
			       int want_rc, size_t *ret_len)
{
	unsigned char *pt = NULL;
	char err[256] = "", *in;
	size_t n, ptl = 0;
	int rc;

	in = slurp(dir, rel, &n);
	rc = sops_age_decrypt(ids, in, n, &pt, &ptl, err, sizeof(err));
	if (rc != want_rc)
		harness__fail(__FILE__, __LINE__, "%s: rc %d, want %d (%s)", rel, rc, want_rc, err);
	free(in);
	*ret_len = ptl;
	return pt;
}

/* A plaintext of `n` bytes; returns it. */
static char *put_plain(const char *dir, size_t n)
{
	char *p = xmalloc(n + 1);
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (char)('a' + (i * 7 + i / 26) % 26);
	p[n] = 0;
	harness_put(dir, "p.txt", p);
	return p;
}

TEST(age_sizes_binary_and_armored)
{
	static const size_t sizes[] = { 0, 1, 32, 65535, 65536, 65537, 200000 };
	const char *dir = harness_tmpdir();
	struct sops_identities *ids;
	char rcpt[128];
	size_t i, n;

	keygen(dir, "k", rcpt);
	ids = ids_from(dir, "k");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *p = put_plain(dir, sizes[i]);
		unsigned char *got;

		run("cd '%s' && '%s' -r '%s' -o f.age p.txt && '%s' -a -r '%s' -o f.asc p.txt",
		    dir, tools()->age, rcpt, tools()->age, rcpt);
		got = age_open(ids, dir, "f.age", 0, &n);
		ASSERT_EQ(n, sizes[i]);
		ASSERT(!memcmp(got, p, n));
		free(got);
		got = age_open(ids, dir, "f.asc", 0, &n);
		ASSERT_EQ(n, sizes[i]);
		ASSERT(!memcmp(got, p, n));
		free(got);
		free(p);
	}
	sops_identities_free(ids);
}

TEST(age_matching_stanza_last_and_several_identities)
{
	const char *dir = harness_tmpdir();
	struct sops_identities *ids;
	char r1[128], r2[128], r3[128], err[256];
	unsigned char *got;
	char *text, *p;
	size_t n, tl;

	keygen(dir, "a", r1);
	keygen(dir, "b", r2);
	keygen(dir, "c", r3);
	p = put_plain(dir, 100);
	run("cd '%s' && '%s' -r '%s' -r '%s' -o f.age p.txt", dir, tools()->age, r1, r2);
	/* b alone: its stanza is the last one */
	ids = ids_from(dir, "b");
	got = age_open(ids, dir, "f.age", 0, &n);
	ASSERT(n == 100 && !memcmp(got, p, n));
	free(got);
	sops_identities_free(ids);
	/* c then a in one text (comments and blank lines as age-keygen writes) */
	ids = sops_identities_new();
	text = slurp(dir, "c.txt", &tl);
	ASSERT_EQ(sops_identities_add(ids, text, tl, err, sizeof(err)), 1);
	free(text);
	text = slurp(dir, "a.txt", &tl);
	ASSERT_EQ(sops_identities_add(ids, text, tl, err, sizeof(err)), 1);
	free(text);
	ASSERT_EQ(sops_identities_count(ids), 2);
	got = age_open(ids, dir, "f.age", 0, &n);
	ASSERT(n == 100 && !memcmp(got, p, n));
	free(got);
	sops_identities_free(ids);
	/* c alone: no match */
	ids = ids_from(dir, "c");
	ASSERT(age_open(ids, dir, "f.age", -ENOKEY, &n) == NULL);
	sops_identities_free(ids);
	free(p);
}

TEST(age_truncated_and_corrupted)
{
	const char *dir = harness_tmpdir();
	struct sops_identities *ids;
	unsigned char *pt = NULL;
	char rcpt[128], err[256];
	char *in, *p;
	size_t n, ptl, i;

	keygen(dir, "k", rcpt);
	ids = ids_from(dir, "k");
	p = put_plain(dir, 70000);
	run("cd '%s' && '%s' -r '%s' -o f.age p.txt", dir, tools()->age, rcpt);
	in = slurp(dir, "f.age", &n);
	/* every truncation fails cleanly */
	for (i = 0; i < n; i += (i < 400 ? 1 : 997)) {
		ASSERT(sops_age_decrypt(ids, in, i, &pt, &ptl, err, sizeof(err)) < 0);
		ASSERT(pt == NULL);
	}
	/* a flipped payload byte, the last byte, a header byte */
	in[n - 100] ^= 1;
	ASSERT_EQ(sops_age_decrypt(ids, in, n, &pt, &ptl, err, sizeof(err)), -EBADMSG);
	in[n - 100] ^= 1;
	in[n - 1] ^= 0x80;
	ASSERT_EQ(sops_age_decrypt(ids, in, n, &pt, &ptl, err, sizeof(err)), -EBADMSG);
	in[n - 1] ^= 0x80;
	in[30] ^= 1;
	ASSERT(sops_age_decrypt(ids, in, n, &pt, &ptl, err, sizeof(err)) < 0);
	in[30] ^= 1;
	ASSERT_OK(sops_age_decrypt(ids, in, n, &pt, &ptl, err, sizeof(err)));
	ASSERT(ptl == 70000 && !memcmp(pt, p, ptl));
	free(pt);
	free(in);
	free(p);
	sops_identities_free(ids);
}

/* ---------------------------------------------------------------- literals */

/* A throwaway key made by age-keygen for this test. */
static const char good_key[] =
	"AGE-SECRET-KEY-1DY973E9L29QURYRL6LMJ65UMJ9YKJ4TY8UKTPVEXZR9TURT092LSYM87ET";

TEST(identities_parse)
{
	struct sops_identities *ids = sops_identities_new();
	char err[256], *t;

	t = xasprintf("# created: 2026-01-01\n# public key: age1...\n\n%s\r\n  \n%s\n", good_key,
		      good_key);
	ASSERT_EQ(sops_identities_add(ids, t, strlen(t), err, sizeof(err)), 2);
	free(t);
	/* lower case is valid Bech32 too; mixed case is not */
	t = xstrdup(good_key);
	for (char *c = t; *c; c++)
		*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
	ASSERT_EQ(sops_identities_add(ids, t, strlen(t), err, sizeof(err)), 1);
	t[20] = (char)(t[20] - 32);
	ASSERT_EQ(sops_identities_add(ids, t, strlen(t), err, sizeof(err)), -EINVAL);
	free(t);
	sops_identities_free(ids);
}

TEST(identities_bad_bech32)
{
	static const char *const bad[] = {
		"", "# only a comment\n",
		/* checksum */
		"AGE-SECRET-KEY-1DY973E9L29QURYRL6LMJ65UMJ9YKJ4TY8UKTPVEXZR9TURT092LSYM87EY",
		/* HRP */
		"AGE-SECRET-KEZ-1DY973E9L29QURYRL6LMJ65UMJ9YKJ4TY8UKTPVEXZR9TURT092LSYM87ET",
		/* a character outside the charset ('B') */
		"AGE-SECRET-KEY-1BY973E9L29QURYRL6LMJ65UMJ9YKJ4TY8UKTPVEXZR9TURT092LSYM87ET",
		/* short */
		"AGE-SECRET-KEY-1DY973E9L", "age1qqqqqqqqqqqqqqqq",
		"AGE-SECRET-KEY-1DY973E9L29QURYRL6LMJ65UMJ9YKJ4TY8UKTPVEXZR9TURT092LSYM87ET extra",
	};
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sops_identities *ids = sops_identities_new();

		if (sops_identities_add(ids, bad[i], strlen(bad[i]), err, sizeof(err)) != -EINVAL)
			harness__fail(__FILE__, __LINE__, "accepted bad identity %zu", i);
		ASSERT(strstr(err, "DY973") == NULL);
		ASSERT_EQ(sops_identities_count(ids), 0);
		sops_identities_free(ids);
	}
}

TEST(age_bad_armor_and_headers)
{
	static const char *const bad[] = {
		"-----BEGIN AGE ENCRYPTED FILE-----\n-----END AGE ENCRYPTED FILE-----\n",
		"-----BEGIN AGE ENCRYPTED FILE-----\nYWdl*\n-----END AGE ENCRYPTED FILE-----\n",
		"-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCg==\n",
		"-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCg\n"
		"-----END AGE ENCRYPTED FILE-----\n",
		"age-encryption.org/v1\n",
		"age-encryption.org/v1\n-> X25519 AAAA\n\n--- AAAA\n",
		"age-encryption.org/v1\n-> X25519\n\n--- "
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
		"age-encryption.org/v2\n",
		"not age at all",
		/* a valid-looking X25519 stanza whose share is the zero point */
		"age-encryption.org/v1\n-> X25519 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n--- "
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
		/* non-canonical base64 (unused bits set) */
		"age-encryption.org/v1\n-> X25519 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB\n"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n--- "
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	};
	struct sops_identities *ids = sops_identities_new();
	unsigned char *pt = NULL;
	char err[256];
	size_t i, ptl;

	ASSERT_EQ(sops_identities_add(ids, good_key, strlen(good_key), err, sizeof(err)), 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = sops_age_decrypt(ids, bad[i], strlen(bad[i]), &pt, &ptl, err, sizeof(err));

		if (rc >= 0 || rc == -ENOKEY)
			harness__fail(__FILE__, __LINE__, "bad input %zu: rc %d", i, rc);
		ASSERT(pt == NULL);
	}
	sops_identities_free(ids);
}

TEST(sops_is_encrypted_rule)
{
	static const struct {
		const char *json;
		bool want;
	} c[] = {
		{ "{\"sops\":{\"mac\":\"ENC[x]\"}}", true },
		{ "{\"sops\":{\"mac\":\"\"}}", true }, /* a scalar is not empty to kyaml */
		{ "{\"sops\":{\"mac\":{}}}", false },
		{ "{\"sops\":{\"mac\":[]}}", false },
		{ "{\"sops\":{\"lastmodified\":\"x\"}}", false },
		{ "{\"sops\":{\"mac\":null}}", false },
		{ "{\"sops\":{}}", false },
		{ "{\"sops\":\"x\"}", false },
		{ "{\"data\":{\"sops\":{\"mac\":\"x\"}}}", false },
		{ "{\"kind\":\"Secret\"}", false },
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		cJSON *j = cJSON_Parse(c[i].json);

		ASSERT(j != NULL);
		if (sops_is_encrypted(j) != c[i].want)
			harness__fail(__FILE__, __LINE__, "%s: want %d", c[i].json, c[i].want);
		cJSON_Delete(j);
	}
}

TEST(sops_unsupported_metadata)
{
	struct sops_identities *ids = sops_identities_new();
	char err[256];
	cJSON *j;

	j = cJSON_Parse("{\"a\":1,\"sops\":{\"key_groups\":[],\"mac\":\"x\"}}");
	ASSERT_EQ(sops_decrypt(j, ids, 0, err, sizeof(err)), -ENOTSUP);
	ASSERT(strstr(err, "key_groups") != NULL);
	cJSON_Delete(j);
	j = cJSON_Parse("{\"a\":1}");
	ASSERT_EQ(sops_decrypt(j, ids, 0, err, sizeof(err)), -EINVAL);
	cJSON_Delete(j);
	sops_identities_free(ids);
}

/* A regex outside the subset is refused, not guessed. */
TEST(sops_regex_outside_subset)
{
	const char *dir = harness_tmpdir();
	struct sops_identities *ids;
	char rcpt[128], err[256] = "";
	cJSON *doc;

	keygen(dir, "k", rcpt);
	ids = ids_from(dir, "k");
	doc = sops_encrypt(dir, rcpt, "--encrypted-regex '^(da.a|stringData)$'", secret);
	ASSERT_EQ(sops_decrypt(doc, ids, 0, err, sizeof(err)), -ENOTSUP);
	ASSERT(strstr(err, "regex") != NULL);
	cJSON_Delete(doc);
	sops_identities_free(ids);
}

/* ---------------------------------------------------------------- kz_flux_build */

static const char secret_yaml[] = "apiVersion: v1\n"
				  "kind: Secret\n"
				  "metadata:\n"
				  "  name: db\n"
				  "type: Opaque\n"
				  "stringData:\n"
				  "  password: hunter2\n"
				  "  url: postgres://${DB_HOST}/app\n";

/*
 * A YAML Secret encrypted by sops, built as a Flux Kustomization with
 * targetNamespace and postBuild: decrypted after the build, substituted
 * after the decryption (Flux's order), annotated; wrong keys and no
 * decryption as kustomize-controller reports them.
 */
TEST(flux_build_decrypts_then_substitutes)
{
	const char *dir = harness_tmpdir();
	struct sops_identities *ids, *other;
	struct kz_flux_in in = { .path = "app", .target_ns = "apps" };
	struct op_err err = OP_ERR_INIT;
	char rcpt[128], r2[128];
	cJSON *vars = cJSON_Parse("{\"DB_HOST\":\"pg.apps\"}"), *objs = NULL;
	const cJSON *o;

	keygen(dir, "k", rcpt);
	keygen(dir, "other", r2);
	ids = ids_from(dir, "k");
	other = ids_from(dir, "other");
	harness_put(dir, "plain.yaml", secret_yaml);
	run("cd '%s' && mkdir -p tree/app && '%s' -e --age '%s' --encrypted-regex "
	    "'^(data|stringData)$' --input-type yaml --output-type yaml plain.yaml "
	    ">tree/app/secret.yaml",
	    dir, tools()->sops, rcpt);
	in.root = xasprintf("%s/tree", dir);
	in.vars = vars;
	in.decrypt = true;
	in.ids = ids;
	ASSERT_OK(kz_flux_build(&in, &objs, &err));
	o = cJSON_GetArrayItem(objs, 0);
	ASSERT(!cJSON_GetObjectItem(o, "sops"));
	ASSERT(streq(yj_get_str(o, "/stringData/password"), "hunter2"));
	ASSERT(streq(yj_get_str(o, "/stringData/url"), "postgres://pg.apps/app"));
	ASSERT(streq(yj_get_str(o, "/metadata/namespace"), "apps"));
	ASSERT(streq(yj_get_str(o, "/metadata/annotations/cflux.io~1source-path"),
		     "app/secret.yaml:1"));
	cJSON_Delete(objs);
	objs = NULL;

	in.ids = other;
	ASSERT_EQ(kz_flux_build(&in, &objs, &err), -ENOKEY);
	ASSERT(objs == NULL);
	if (!str_startswith(err.msg, "decryption failed for 'Secret.v1.[noGrp]/db': failed to "
				     "decrypt and format 'apps/db' Secret data: cannot get sops "
				     "data key: no age identity matches"))
		harness__fail(__FILE__, __LINE__, "message: %s", err.msg);
	ASSERT(strstr(err.msg, "hunter2") == NULL);
	in.ids = NULL;
	ASSERT_EQ(kz_flux_build(&in, &objs, &err), -ENOKEY);

	/* without spec.decryption the object goes through encrypted (the operator refuses it) */
	in.decrypt = false;
	ASSERT_OK(kz_flux_build(&in, &objs, &err));
	ASSERT(sops_is_encrypted(cJSON_GetArrayItem(objs, 0)));
	cJSON_Delete(objs);
	free((char *)in.root);
	cJSON_Delete(vars);
	sops_identities_free(ids);
	sops_identities_free(other);
}

/*
 * kustomize-controller's other case: a Secret whose data values are sops
 * files of their own (binary, as `sops -e` writes any file), decrypted
 * field by field; other formats are refused by name.
 */
TEST(flux_build_secret_fields)
{
	const char *dir = harness_tmpdir();
	struct sops_identities *ids;
	struct kz_flux_in in = { .path = "app", .decrypt = true };
	struct op_err err = OP_ERR_INIT;
	char rcpt[128], *enc, *b64, *y;
	cJSON *objs = NULL;
	const char *v;

	keygen(dir, "k", rcpt);
	ids = ids_from(dir, "k");
	harness_put(dir, "token.bin", "binary\001token\n");
	run("cd '%s' && '%s' -e --age '%s' --input-type binary --output-type binary token.bin "
	    ">token.enc",
	    dir, tools()->sops, rcpt);
	enc = slurp(dir, "token.enc", NULL);
	b64 = b64_encode(enc, strlen(enc));
	y = xasprintf("apiVersion: v1\nkind: Secret\nmetadata:\n  name: files\n  namespace: a\n"
		      "data:\n  plain: aGk=\n  token: %s\n",
		      b64);
	harness_put(dir, "tree/app/secret.yaml", y);
	in.root = xasprintf("%s/tree", dir);
	in.ids = ids;
	ASSERT_OK(kz_flux_build(&in, &objs, &err));
	v = yj_get_str(cJSON_GetArrayItem(objs, 0), "/data/token");
	ASSERT(v && streq(v, "YmluYXJ5AXRva2VuCg=="));
	ASSERT(streq(yj_get_str(cJSON_GetArrayItem(objs, 0), "/data/plain"), "aGk="));
	cJSON_Delete(objs);
	objs = NULL;
	in.ids = NULL;
	ASSERT_EQ(kz_flux_build(&in, &objs, &err), -ENOKEY);
	ASSERT(str_startswith(err.msg, "decryption failed for 'Secret.v1.[noGrp]/files': failed "
				       "to decrypt and format 'a/files' Secret field 'token': "));
	free(y);
	y = xasprintf("apiVersion: v1\nkind: Secret\nmetadata:\n  name: files\n  namespace: a\n"
		      "data:\n  config.json: %s\n",
		      b64);
	harness_put(dir, "tree/app/secret.yaml", y);
	in.ids = ids;
	ASSERT_EQ(kz_flux_build(&in, &objs, &err), -ENOTSUP);
	ASSERT(strstr(err.msg, "Secret field 'config.json'") != NULL);
	free(y);
	free(b64);
	free(enc);
	free((char *)in.root);
	sops_identities_free(ids);
}

/* A malformed age entry before the good one does not stop the search. */
TEST(sops_bad_age_entry_then_good)
{
	const char *dir = harness_tmpdir();
	struct sops_identities *ids;
	char rcpt[128], err[256] = "";
	cJSON *doc, *age, *copy;

	keygen(dir, "k", rcpt);
	ids = ids_from(dir, "k");
	doc = sops_encrypt(dir, rcpt, "--encrypted-regex '^(data|stringData)$'", secret);
	age = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "sops"), "age");
	cJSON_InsertItemInArray(age, 0, cJSON_Parse("{\"recipient\":\"x\",\"enc\":\"garbage\"}"));
	copy = cJSON_Duplicate(doc, 1);
	ASSERT_OK(sops_decrypt(copy, ids, SOPS_VERIFY_MAC, err, sizeof(err)));
	cJSON_Delete(copy);
	cJSON_DeleteItemFromArray(age, 1);
	ASSERT_EQ(sops_decrypt(doc, ids, 0, err, sizeof(err)), -EINVAL);
	ASSERT(strstr(err, "not an age v1 file") != NULL);
	cJSON_Delete(doc);
	sops_identities_free(ids);
}
