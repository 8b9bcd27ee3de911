/*
 * sprig_crypto.c: Sprig's hashing and crypto (crypto.go), the one file of
 * lib/tmpl that uses mbedTLS (and libcrypt, for bcrypt).
 *
 * Deterministic, and checked byte for byte against Helm: sha1sum,
 * sha256sum, sha512sum, adler32sum, derivePassword (Master Password over
 * scrypt N=32768 r=8 p=2, written here on mbedTLS's PBKDF2 with
 * Salsa20/8), decryptAES (AES-256-CBC, the key the password zero-padded to
 * 32 bytes, PKCS#7-style padding, IV first).  Random, so checked by shape:
 * bcrypt/htpasswd ("$2a$10$..."), randBytes, uuidv4, encryptAES,
 * genPrivateKey (rsa 4096, ecdsa P-256; dsa and ed25519, which mbedTLS 2.28
 * lacks, fail with a message saying so), genCA/genSelfSignedCert/
 * genSignedCert (RSA 2048 keys, SHA-256 signatures, Go's template: a
 * random 128-bit serial, CN only, key usage, server and client auth, SANs)
 * and their WithKey forms.  A certificate is a template value with fields
 * Cert and Key, as Sprig's struct.
 *
 * Failures reproduce Sprig's messages ("error parsing ip: x", "parsing
 * private key: no PEM data in input", ...).
 */
#include <arpa/inet.h>
#include <crypt.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <mbedtls/aes.h>
#include <mbedtls/asn1write.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/entropy.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha1.h>
#include <mbedtls/sha256.h>
#include <mbedtls/sha512.h>
#include <mbedtls/x509_crt.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "tmpl/gotime.h"
#include "tmpl/sprig.h"
#include "tmpl/tmpl.h"
#include "base/banned.h"

/* ---------------------------------------------------------------- hashes */

static int hex_ret(struct tmpl_ctx *ctx, const unsigned char *d, size_t n, struct tmpl_val *ret)
{
	char *s = tmpl_alloc(tmpl_ctx_arena(ctx), 2 * n + 1);
	size_t i;

	for (i = 0; i < n; i++) {
		s[2 * i] = "0123456789abcdef"[d[i] >> 4];
		s[2 * i + 1] = "0123456789abcdef"[d[i] & 15];
	}
	*ret = tmpl_str_ref(s, 2 * n);
	return 0;
}

SPRIG_FN(fn_sha1sum)
{
	unsigned char d[20];

	mbedtls_sha1_ret((const unsigned char *)a[0].s.p, a[0].s.n, d);
	return hex_ret(ctx, d, sizeof(d), ret);
}

SPRIG_FN(fn_sha256sum)
{
	unsigned char d[32];

	mbedtls_sha256_ret((const unsigned char *)a[0].s.p, a[0].s.n, d, 0);
	return hex_ret(ctx, d, sizeof(d), ret);
}

SPRIG_FN(fn_sha512sum)
{
	unsigned char d[64];

	mbedtls_sha512_ret((const unsigned char *)a[0].s.p, a[0].s.n, d, 0);
	return hex_ret(ctx, d, sizeof(d), ret);
}

SPRIG_FN(fn_adler32sum)
{
	uint32_t s1 = 1, s2 = 0;
	size_t i;

	for (i = 0; i < a[0].s.n; i++) {
		s1 = (s1 + (unsigned char)a[0].s.p[i]) % 65521;
		s2 = (s2 + s1) % 65521;
	}
	*ret = sprig_strf(tmpl_ctx_arena(ctx), "%" PRIu32, s2 << 16 | s1);
	return 0;
}

/* ---------------------------------------------------------------- random */

static void rand_fill(void *p, size_t n)
{
	unsigned char *b = p;

	while (n > 0) {
		ssize_t r = getrandom(b, n, 0);

		if (r <= 0)
			continue;
		b += r;
		n -= (size_t)r;
	}
}

static int rng(void *unused, unsigned char *out, size_t n)
{
	rand_fill(out, n);
	return 0;
}

SPRIG_FN(fn_rand_bytes)
{
	struct tmpl_val raw, args[1];
	unsigned char *buf;

	if (a[0].i < 0)
		return tmpl_ctx_errorf(ctx, "runtime error: makeslice: len out of range");
	if (tmpl_ctx_reserve(ctx, (size_t)a[0].i * 3) < 0)
		return -ENOMEM;
	buf = xmalloc((size_t)a[0].i + 1);
	rand_fill(buf, (size_t)a[0].i);
	raw = tmpl_str(tmpl_ctx_arena(ctx), (const char *)buf, (size_t)a[0].i);
	free(buf);
	args[0] = raw;
	return tmpl_ctx_call(ctx, "b64enc", args, 1, ret);
}

SPRIG_FN(fn_uuidv4)
{
	unsigned char u[16];

	rand_fill(u, sizeof(u));
	u[6] = (u[6] & 0x0f) | 0x40;
	u[8] = (u[8] & 0x3f) | 0x80;
	*ret = sprig_strf(tmpl_ctx_arena(ctx),
			 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2],
			 u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
	return 0;
}

/* golang.org/x/crypto/bcrypt at the default cost (10), "$2a$" as Go writes it. */
static int bcrypt_into(const char *pw, size_t n, struct buf *out)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE], *copy, *h;
	struct crypt_data *cd;
	int r = 0;

	if (n > 72)
		return buf_adds(out, "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes");
	if (!crypt_gensalt_rn("$2a$", 10, NULL, 0, salt, sizeof(salt)))
		return buf_adds(out, "failed to encrypt string with bcrypt: no salt");
	copy = xstrndup(pw, n);
	cd = xcalloc(1, sizeof(*cd));
	h = crypt_rn(copy, salt, cd, sizeof(*cd));
	r = h ? buf_adds(out, h) : buf_adds(out, "failed to encrypt string with bcrypt");
	free_secret(copy);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return r;
}

SPRIG_FN(fn_bcrypt)
{
	struct buf b;

	sprig_buf_init(ctx, &b);
	if (memchr(a[0].s.p, '\0', a[0].s.n)) {
		/* crypt() takes C strings; Go hashes the bytes.  Refuse rather than differ. */
		buf_release(&b);
		return tmpl_ctx_errorf(ctx, "bcrypt: a password with a NUL byte is not supported");
	}
	if (bcrypt_into(a[0].s.p, a[0].s.n, &b) < 0) {
		buf_release(&b);
		return sprig_oom(ctx);
	}
	return sprig_ret_buf(ctx, &b, ret);
}

SPRIG_FN(fn_htpasswd)
{
	struct buf b;
	int r;

	if (memchr(a[0].s.p, ':', a[0].s.n)) {
		*ret = sprig_strf(tmpl_ctx_arena(ctx), "invalid username: %.*s", (int)a[0].s.n, a[0].s.p);
		return 0;
	}
	if (memchr(a[1].s.p, '\0', a[1].s.n))
		return tmpl_ctx_errorf(ctx, "bcrypt: a password with a NUL byte is not supported");
	sprig_buf_init(ctx, &b);
	r = buf_add(&b, a[0].s.p, a[0].s.n);
	if (r == 0)
		r = buf_addch(&b, ':');
	if (r == 0)
		r = bcrypt_into(a[1].s.p, a[1].s.n, &b);
	if (r < 0) {
		buf_release(&b);
		return sprig_oom(ctx);
	}
	return sprig_ret_buf(ctx, &b, ret);
}

/* ---------------------------------------------------------------- scrypt, derivePassword */

#define ROTL(a, b) (((a) << (b)) | ((a) >> (32 - (b))))

static void salsa20_8(uint32_t b[16])
{
	uint32_t x[16];
	int i;

	memcpy(x, b, sizeof(x));
	for (i = 0; i < 8; i += 2) {
		x[4] ^= ROTL(x[0] + x[12], 7);
		x[8] ^= ROTL(x[4] + x[0], 9);
		x[12] ^= ROTL(x[8] + x[4], 13);
		x[0] ^= ROTL(x[12] + x[8], 18);
		x[9] ^= ROTL(x[5] + x[1], 7);
		x[13] ^= ROTL(x[9] + x[5], 9);
		x[1] ^= ROTL(x[13] + x[9], 13);
		x[5] ^= ROTL(x[1] + x[13], 18);
		x[14] ^= ROTL(x[10] + x[6], 7);
		x[2] ^= ROTL(x[14] + x[10], 9);
		x[6] ^= ROTL(x[2] + x[14], 13);
		x[10] ^= ROTL(x[6] + x[2], 18);
		x[3] ^= ROTL(x[15] + x[11], 7);
		x[7] ^= ROTL(x[3] + x[15], 9);
		x[11] ^= ROTL(x[7] + x[3], 13);
		x[15] ^= ROTL(x[11] + x[7], 18);
		x[1] ^= ROTL(x[0] + x[3], 7);
		x[2] ^= ROTL(x[1] + x[0], 9);
		x[3] ^= ROTL(x[2] + x[1], 13);
		x[0] ^= ROTL(x[3] + x[2], 18);
		x[6] ^= ROTL(x[5] + x[4], 7);
		x[7] ^= ROTL(x[6] + x[5], 9);
		x[4] ^= ROTL(x[7] + x[6], 13);
		x[5] ^= ROTL(x[4] + x[7], 18);
		x[11] ^= ROTL(x[10] + x[9], 7);
		x[8] ^= ROTL(x[11] + x[10], 9);
		x[9] ^= ROTL(x[8] + x[11], 13);
		x[10] ^= ROTL(x[9] + x[8], 18);
		x[12] ^= ROTL(x[15] + x[14], 7);
		x[13] ^= ROTL(x[12] + x[15], 9);
		x[14] ^= ROTL(x[13] + x[12], 13);
		x[15] ^= ROTL(x[14] + x[13], 18);
	}
	for (i = 0; i < 16; i++)
		b[i] += x[i];
}

/* scrypt's BlockMix over 2r 64-byte blocks (in 32-bit words). */
static void block_mix(uint32_t *b, uint32_t *y, size_t r)
{
	uint32_t x[16];
	size_t i, k;

	memcpy(x, &b[(2 * r - 1) * 16], 64);
	for (i = 0; i < 2 * r; i++) {
		for (k = 0; k < 16; k++)
			x[k] ^= b[i * 16 + k];
		salsa20_8(x);
		memcpy(&y[i * 16], x, 64);
	}
	for (i = 0; i < r; i++) {
		memcpy(&b[i * 16], &y[(2 * i) * 16], 64);
		memcpy(&b[(r + i) * 16], &y[(2 * i + 1) * 16], 64);
	}
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* scrypt(password, salt, N, r, p, dkLen) as golang.org/x/crypto/scrypt.Key. */
static int scrypt(const unsigned char *pw, size_t pwn, const unsigned char *salt, size_t saltn, size_t N,
		  size_t r, size_t p, unsigned char *dk, size_t dkn)
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
	size_t blen = 128 * r, i, j, k, words = 32 * r;
	unsigned char *b = xmalloc(p * blen);
	uint32_t *x = xmalloc(blen), *y = xmalloc(blen), *v = xmalloc(N * blen);
	mbedtls_md_context_t mctx;
	int ret = 0;

	mbedtls_md_init(&mctx);
	if (mbedtls_md_setup(&mctx, md, 1) != 0 ||
	    mbedtls_pkcs5_pbkdf2_hmac(&mctx, pw, pwn, salt, saltn, 1, (uint32_t)(p * blen), b) != 0) {
		ret = -EIO;
		goto out;
	}
	for (i = 0; i < p; i++) {
		unsigned char *bi = b + i * blen;

		for (k = 0; k < words; k++)
			x[k] = le32(bi + 4 * k);
		for (j = 0; j < N; j++) {
			memcpy(&v[j * words], x, blen);
			block_mix(x, y, r);
		}
		for (j = 0; j < N; j++) {
			size_t idx = x[(2 * r - 1) * 16] & (N - 1);

			for (k = 0; k < words; k++)
				x[k] ^= v[idx * words + k];
			block_mix(x, y, r);
		}
		for (k = 0; k < words; k++)
			put_le32(bi + 4 * k, x[k]);
	}
	if (mbedtls_pkcs5_pbkdf2_hmac(&mctx, pw, pwn, b, p * blen, 1, (uint32_t)dkn, dk) != 0)
		ret = -EIO;
out:
	mbedtls_md_free(&mctx);
	free(b);
	free(x);
	free(y);
	free(v);
	return ret;
}

static const struct {
	const char *type;
	const char *const t[21];
} pw_templates[] = {
	{ "maximum", { "anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno" } },
	{ "long", { "CvcvnoCvcvCvcv", "CvcvCvcvnoCvcv", "CvcvCvcvCvcvno", "CvccnoCvcvCvcv", "CvccCvcvnoCvcv",
		    "CvccCvcvCvcvno", "CvcvnoCvccCvcv", "CvcvCvccnoCvcv", "CvcvCvccCvcvno", "CvcvnoCvcvCvcc",
		    "CvcvCvcvnoCvcc", "CvcvCvcvCvccno", "CvccnoCvccCvcv", "CvccCvccnoCvcv", "CvccCvccCvcvno",
		    "CvcvnoCvccCvcc", "CvcvCvccnoCvcc", "CvcvCvccCvccno", "CvccnoCvcvCvcc", "CvccCvcvnoCvcc",
		    "CvccCvcvCvccno" } },
	{ "medium", { "CvcnoCvc", "CvcCvcno" } },
	{ "short", { "Cvcn" } },
	{ "basic", { "aaanaaan", "aannaaan", "aaannaaa" } },
	{ "pin", { "nnnn" } },
};

static const char *template_chars(char c)
{
	switch (c) {
	case 'V':
		return "AEIOU";
	case 'C':
		return "BCDFGHJKLMNPQRSTVWXYZ";
	case 'v':
		return "aeiou";
	case 'c':
		return "bcdfghjklmnpqrstvwxyz";
	case 'A':
		return "AEIOUBCDFGHJKLMNPQRSTVWXYZ";
	case 'a':
		return "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz";
	case 'n':
		return "0123456789";
	case 'o':
		return "@&%?,=[]_:-+*$#!'^~;()/.";
	default:
		return "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()";
	}
}

static void put_be32(struct buf *b, uint32_t v)
{
	char x[4] = { (char)(v >> 24), (char)(v >> 16), (char)(v >> 8), (char)v };

	(void)buf_add(b, x, 4);
}

/* derivePassword COUNTER TYPE PASSWORD USER SITE: the Master Password algorithm. */
SPRIG_FN(fn_derive_password)
{
	static const char seed[] = "com.lyndir.masterpassword";
	const char *const *tmpls = NULL;
	struct buf salt = BUF_INIT(1 << 20);
	unsigned char key[64], mac[32];
	size_t i, nt = 0;
	const char *t;
	char *out;

	for (i = 0; i < ARRAY_SIZE(pw_templates); i++)
		if (strlen(pw_templates[i].type) == a[1].s.n && memcmp(pw_templates[i].type, a[1].s.p, a[1].s.n) == 0)
			tmpls = pw_templates[i].t;
	if (!tmpls) {
		*ret = sprig_strf(tmpl_ctx_arena(ctx), "cannot find password template %.*s", (int)a[1].s.n, a[1].s.p);
		return 0;
	}
	while (nt < 21 && tmpls[nt])
		nt++;
	/* scrypt with N = 32768 costs 32 MiB and ~0.1 s: charge it. */
	if (tmpl_ctx_steps(ctx, 100000) < 0)
		return -ETIME;
	(void)buf_adds(&salt, seed);
	put_be32(&salt, (uint32_t)a[3].s.n);
	(void)buf_add(&salt, a[3].s.p, a[3].s.n);
	if (scrypt((const unsigned char *)a[2].s.p, a[2].s.n, (const unsigned char *)salt.buf, salt.len, 32768, 8,
		   2, key, sizeof(key)) < 0) {
		buf_release(&salt);
		return tmpl_ctx_errorf(ctx, "failed to derive password: scrypt failed");
	}
	buf_truncate(&salt, strlen(seed));
	put_be32(&salt, (uint32_t)a[4].s.n);
	(void)buf_add(&salt, a[4].s.p, a[4].s.n);
	put_be32(&salt, (uint32_t)a[0].u);
	mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), key, sizeof(key),
			(const unsigned char *)salt.buf, salt.len, mac);
	buf_release(&salt);
	explicit_bzero(key, sizeof(key));
	t = tmpls[mac[0] % nt];
	out = tmpl_alloc(tmpl_ctx_arena(ctx), strlen(t) + 1);
	for (i = 0; t[i]; i++) {
		const char *chars = template_chars(t[i]);

		out[i] = chars[mac[i + 1] % strlen(chars)];
	}
	*ret = tmpl_str_ref(out, strlen(t));
	return 0;
}

/* ---------------------------------------------------------------- AES */

static void aes_key(const struct tmpl_val *pw, unsigned char key[32])
{
	memset(key, 0, 32);
	memcpy(key, pw->s.p, pw->s.n < 32 ? pw->s.n : 32);
}

SPRIG_FN(fn_encrypt_aes)
{
	unsigned char key[32], iv[16];
	size_t len = a[1].s.n, pad = 16 - len % 16, total = len + pad;
	unsigned char *buf;
	mbedtls_aes_context aes;
	struct tmpl_val raw;

	if (len == 0) {
		*ret = tmpl_str_ref("", 0);
		return 0;
	}
	if (tmpl_ctx_reserve(ctx, 3 * (total + 16)) < 0)
		return -ENOMEM;
	aes_key(&a[0], key);
	buf = xmalloc(16 + total);
	memcpy(buf + 16, a[1].s.p, len);
	memset(buf + 16 + len, (int)pad, pad);
	rand_fill(buf, 16);
	memcpy(iv, buf, 16);
	mbedtls_aes_init(&aes);
	mbedtls_aes_setkey_enc(&aes, key, 256);
	mbedtls_aes_crypt_cbc(&aes, MBEDTLS_AES_ENCRYPT, total, iv, buf + 16, buf + 16);
	mbedtls_aes_free(&aes);
	explicit_bzero(key, sizeof(key));
	raw = tmpl_str(tmpl_ctx_arena(ctx), (const char *)buf, 16 + total);
	free(buf);
	return tmpl_ctx_call(ctx, "b64enc", &raw, 1, ret);
}

SPRIG_FN(fn_decrypt_aes)
{
	unsigned char key[32], iv[16];
	mbedtls_aes_context aes;
	struct tmpl_val dec;
	unsigned char *out;
	size_t n_ct, pad;
	int r;

	if (a[1].s.n == 0) {
		*ret = tmpl_str_ref("", 0);
		return 0;
	}
	/* base64.StdEncoding.DecodeString: the error is returned. */
	if ((r = tmpl_ctx_call(ctx, "b64dec", &a[1], 1, &dec)) < 0)
		return r;
	{
		/* b64dec reports errors as its result; re-check strictly. */
		struct tmpl_val enc;

		if ((r = tmpl_ctx_call(ctx, "b64enc", &dec, 1, &enc)) < 0)
			return r;
		if (enc.s.n != a[1].s.n || memcmp(enc.s.p, a[1].s.p, enc.s.n) != 0) {
			if (dec.s.n >= 30 && memcmp(dec.s.p, "illegal base64 data at input ", 29) == 0)
				return tmpl_ctx_errorf(ctx, "%.*s", (int)dec.s.n, dec.s.p);
		}
	}
	if (dec.s.n < 16)
		return tmpl_ctx_errorf(ctx, "runtime error: slice bounds out of range [:16] with capacity %zu", dec.s.n);
	n_ct = dec.s.n - 16;
	if (n_ct % 16)
		return tmpl_ctx_errorf(ctx, "crypto/cipher: input not full blocks");
	if (n_ct == 0)
		return tmpl_ctx_errorf(ctx, "runtime error: index out of range [-1]");
	aes_key(&a[0], key);
	memcpy(iv, dec.s.p, 16);
	out = tmpl_alloc(tmpl_ctx_arena(ctx), n_ct + 1);
	mbedtls_aes_init(&aes);
	mbedtls_aes_setkey_dec(&aes, key, 256);
	mbedtls_aes_crypt_cbc(&aes, MBEDTLS_AES_DECRYPT, n_ct, iv, (const unsigned char *)dec.s.p + 16, out);
	mbedtls_aes_free(&aes);
	explicit_bzero(key, sizeof(key));
	pad = out[n_ct - 1];
	if (pad > n_ct)
		return tmpl_ctx_errorf(ctx, "runtime error: slice bounds out of range [:%" PRId64 "]",
				       (int64_t)n_ct - (int64_t)pad);
	*ret = tmpl_str_ref((const char *)out, n_ct - pad);
	return 0;
}

/* ---------------------------------------------------------------- keys and certificates */

struct cert_obj {
	struct tmpl_val cert, key;
};

static int cert_field(struct tmpl_ctx *ctx, const struct tmpl_val *self, const char *name, struct tmpl_val *ret)
{
	const struct cert_obj *c = self->o;

	if (strcmp(name, "Cert") == 0) {
		*ret = c->cert;
		return 0;
	}
	if (strcmp(name, "Key") == 0) {
		*ret = c->key;
		return 0;
	}
	return -ENOENT;
}

static int cert_gofmt(const struct tmpl_val *self, int plus, struct buf *out)
{
	const struct cert_obj *c = self->o;

	return buf_addf(out, plus ? "{Cert:%.*s Key:%.*s}" : "{%.*s %.*s}", (int)c->cert.s.n, c->cert.s.p,
			(int)c->key.s.n, c->key.s.p);
}

static cJSON *cert_to_json(const struct tmpl_val *self)
{
	const struct cert_obj *c = self->o;
	cJSON *j = cJSON_CreateObject();

	cJSON_AddItemToObject(j, "Cert", cJSON_CreateString(c->cert.s.p));
	cJSON_AddItemToObject(j, "Key", cJSON_CreateString(c->key.s.p));
	return j;
}

static const struct tmpl_type cert_type = {
	.name = "sprig.certificate",
	.kind = "struct",
	.field = cert_field,
	.gofmt = cert_gofmt,
	.to_json = cert_to_json,
};

static struct tmpl_val cert_val(struct tmpl_ctx *ctx, const char *cert, const char *key)
{
	struct cert_obj *c = tmpl_alloc(tmpl_ctx_arena(ctx), sizeof(*c));

	c->cert = tmpl_strz(tmpl_ctx_arena(ctx), cert);
	c->key = tmpl_strz(tmpl_ctx_arena(ctx), key);
	return tmpl_obj(&cert_type, c);
}

static int pk_pem(mbedtls_pk_context *pk, char **ret)
{
	unsigned char *buf = xmalloc(16000);

	if (mbedtls_pk_write_key_pem(pk, buf, 16000) != 0) {
		free(buf);
		return -EIO;
	}
	*ret = (char *)buf;
	return 0;
}

static int gen_rsa(mbedtls_pk_context *pk, unsigned bits)
{
	mbedtls_pk_init(pk);
	if (mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA)) != 0)
		return -EIO;
	return mbedtls_rsa_gen_key(mbedtls_pk_rsa(*pk), rng, NULL, bits, 65537) == 0 ? 0 : -EIO;
}

SPRIG_FN(fn_gen_private_key)
{
	mbedtls_pk_context pk;
	char *pem = NULL;
	int r;

	if (a[0].s.n == 0 || (a[0].s.n == 3 && memcmp(a[0].s.p, "rsa", 3) == 0)) {
		r = gen_rsa(&pk, 4096);
	} else if (a[0].s.n == 5 && memcmp(a[0].s.p, "ecdsa", 5) == 0) {
		mbedtls_pk_init(&pk);
		r = mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) == 0 &&
				    mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(pk), rng, NULL) == 0 ?
			    0 :
			    -EIO;
	} else if ((a[0].s.n == 3 && memcmp(a[0].s.p, "dsa", 3) == 0) ||
		   (a[0].s.n == 7 && memcmp(a[0].s.p, "ed25519", 7) == 0)) {
		return tmpl_ctx_errorf(ctx, "genPrivateKey: %.*s keys are not supported by cflux", (int)a[0].s.n, a[0].s.p);
	} else {
		*ret = sprig_strf(tmpl_ctx_arena(ctx), "Unknown type %.*s", (int)a[0].s.n, a[0].s.p);
		return 0;
	}
	if (r == 0)
		r = pk_pem(&pk, &pem);
	mbedtls_pk_free(&pk);
	if (r < 0) {
		*ret = sprig_strf(tmpl_ctx_arena(ctx), "failed to generate private key: %s", "key generation failed");
		return 0;
	}
	*ret = tmpl_strz(tmpl_ctx_arena(ctx), pem);
	free_secret(pem);
	return 0;
}

/* Sprig's parsePrivateKeyPEM, with its messages. */
static int parse_key_pem(struct tmpl_ctx *ctx, const char *pem, size_t n, mbedtls_pk_context *pk, const char *prefix)
{
	const char *begin = memmem(pem, n, "-----BEGIN ", 11), *end;
	char type[64];
	_cleanup_free_ char *copy = NULL;

	if (!begin || !(end = memmem(begin + 11, n - (size_t)(begin + 11 - pem), "-----", 5)))
		return tmpl_ctx_errorf(ctx, "%sno PEM data in input", prefix);
	snprintf(type, sizeof(type), "%.*s", (int)(end - begin - 11), begin + 11);
	if (strcmp(type, "PRIVATE KEY") != 0 && (strlen(type) < 12 || strcmp(type + strlen(type) - 12, " PRIVATE KEY") != 0))
		return tmpl_ctx_errorf(ctx, "%sno private key data in PEM block of type %s", prefix, type);
	if (strcmp(type, "PRIVATE KEY") != 0 && strcmp(type, "RSA PRIVATE KEY") != 0 && strcmp(type, "EC PRIVATE KEY") != 0 &&
	    strcmp(type, "DSA PRIVATE KEY") != 0)
		return tmpl_ctx_errorf(ctx, "%sinvalid private key type %s", prefix, type);
	copy = xstrndup(pem, n);
	mbedtls_pk_init(pk);
	if (mbedtls_pk_parse_key(pk, (const unsigned char *)copy, n + 1, NULL, 0) != 0) {
		mbedtls_pk_free(pk);
		explicit_bzero(copy, n);
		if (strcmp(type, "PRIVATE KEY") == 0)
			return tmpl_ctx_errorf(ctx, "%sdecoding PEM as PKCS#8: unsupported or malformed key", prefix);
		return tmpl_ctx_errorf(ctx, "%sparsing %.*s private key from PEM: malformed key", prefix,
				       (int)(strlen(type) - 12), type);
	}
	explicit_bzero(copy, n);
	return 0;
}

/* DER of a SEQUENCE of the given pre-encoded elements. */
static int der_seq(unsigned char *buf, size_t size, const unsigned char *body, size_t blen, size_t *ret_len)
{
	unsigned char *p = buf + size;
	int l = 0, r;

	if (blen > size)
		return -1;
	p -= blen;
	memcpy(p, body, blen);
	l += (int)blen;
	if ((r = mbedtls_asn1_write_len(&p, buf, (size_t)l)) < 0)
		return r;
	l += r;
	if ((r = mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)) < 0)
		return r;
	l += r;
	memmove(buf, p, (size_t)l);
	*ret_len = (size_t)l;
	return 0;
}

/* Sprig's getNetIPs / getAlternateDNSStrs into a SubjectAltName body. */
static int san_body(struct tmpl_ctx *ctx, const struct tmpl_val *ips, const struct tmpl_val *dns, struct buf *body)
{
	size_t i;

	for (i = 0; ips->kind == TMPL_LIST && ips->l && i < ips->l->n; i++) {
		const struct tmpl_val *v = &ips->l->v[i];
		unsigned char addr[16];
		char tmp[64];
		int af = 0;

		if (v->kind != TMPL_STRING) {
			struct buf s = BUF_INIT(4096);

			(void)tmpl_sprint(&s, v, 1);
			int r = tmpl_ctx_errorf(ctx, "error parsing ip: %s is not a string", s.buf);

			buf_release(&s);
			return r;
		}
		snprintf(tmp, sizeof(tmp), "%.*s", (int)v->s.n, v->s.p);
		if (v->s.n < sizeof(tmp) && !memchr(v->s.p, '\0', v->s.n) &&
		    (inet_pton(AF_INET, tmp, addr) == 1 ? (af = 4) : inet_pton(AF_INET6, tmp, addr) == 1 ? (af = 6) : 0)) {
			(void)buf_addch(body, (char)(MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7));
			(void)buf_addch(body, (char)(af == 4 ? 4 : 16));
			(void)buf_add(body, addr, af == 4 ? 4 : 16);
		} else {
			return tmpl_ctx_errorf(ctx, "error parsing ip: %.*s", (int)v->s.n, v->s.p);
		}
	}
	for (i = 0; dns->kind == TMPL_LIST && dns->l && i < dns->l->n; i++) {
		const struct tmpl_val *v = &dns->l->v[i];

		if (v->kind != TMPL_STRING) {
			struct buf s = BUF_INIT(4096);
			int r;

			(void)tmpl_sprint(&s, v, 1);
			r = tmpl_ctx_errorf(ctx, "error processing alternate dns name: %s is not a string", s.buf);
			buf_release(&s);
			return r;
		}
		if (v->s.n > 127)
			return tmpl_ctx_errorf(ctx, "error processing alternate dns name: name too long");
		(void)buf_addch(body, (char)(MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2));
		(void)buf_addch(body, (char)v->s.n);
		(void)buf_add(body, v->s.p, v->s.n);
	}
	return 0;
}

/* A DN string for mbedTLS: "CN=" and the name with its specials escaped. */
static void cn_string(struct buf *b, const char *cn, size_t n)
{
	size_t i;

	(void)buf_adds(b, "CN=");
	for (i = 0; i < n; i++) {
		if (strchr(",=+<>#;\\\"", cn[i]) && cn[i])
			(void)buf_addch(b, '\\');
		(void)buf_addch(b, cn[i]);
	}
}

struct cert_req {
	const struct tmpl_val *cn, *ips, *dns;
	int64_t days;
	bool is_ca;
	mbedtls_pk_context *key;         /* the subject's key */
	mbedtls_pk_context *signer;      /* NULL: self-signed */
	const mbedtls_x509_crt *parent; /* the signer's certificate, or NULL */
};

/* Go's x509.CreateCertificate with Sprig's template; PEM of cert and key into *ret. */
static int make_cert(struct tmpl_ctx *ctx, const struct cert_req *q, struct tmpl_val *ret)
{
	static const unsigned char eku[] = { 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01,
					     0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02 };
	mbedtls_x509write_cert crt;
	struct buf subj = BUF_INIT(1 << 16), issuer = BUF_INIT(1 << 16), san = BUF_INIT(1 << 16);
	char nb[32], na[32], dn[1024];
	unsigned char serial[16], der[1 << 12], *pem = NULL;
	size_t derlen;
	mbedtls_mpi sn;
	struct gotime t;
	struct buf tb = BUF_INIT(32);
	char *keypem = NULL;
	int r;

	if ((r = san_body(ctx, q->ips, q->dns, &san)) < 0)
		goto out_bufs;
	gotime_now(&t);
	gotime_in(&t, NULL);
	(void)gotime_format(&t, "20060102150405", 14, &tb);
	snprintf(nb, sizeof(nb), "%s", tb.buf);
	if (q->days > 365 * 7000 || q->days < -365 * 1900) {
		r = tmpl_ctx_errorf(ctx, "error creating certificate: validity of %" PRId64 " days is out of range", q->days);
		gotime_release(&t);
		goto out_bufs;
	}
	gotime_add(&t, q->days * 24 * 3600 * INT64_C(1000000000));
	buf_reset(&tb);
	(void)gotime_format(&t, "20060102150405", 14, &tb);
	snprintf(na, sizeof(na), "%s", tb.buf);
	gotime_release(&t);
	cn_string(&subj, q->cn->s.p, q->cn->s.n);
	if (q->parent) {
		mbedtls_x509_dn_gets(dn, sizeof(dn), &q->parent->subject);
		(void)buf_adds(&issuer, dn);
	} else {
		(void)buf_adds(&issuer, subj.buf);
	}
	rand_fill(serial, sizeof(serial));
	serial[0] &= 0x7f;
	mbedtls_mpi_init(&sn);
	mbedtls_mpi_read_binary(&sn, serial, sizeof(serial));
	mbedtls_x509write_crt_init(&crt);
	mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&crt, q->key);
	mbedtls_x509write_crt_set_issuer_key(&crt, q->signer ? q->signer : q->key);
	r = mbedtls_x509write_crt_set_subject_name(&crt, subj.buf);
	if (r == 0)
		r = mbedtls_x509write_crt_set_issuer_name(&crt, issuer.buf);
	if (r == 0)
		r = mbedtls_x509write_crt_set_serial(&crt, &sn);
	if (r == 0)
		r = mbedtls_x509write_crt_set_validity(&crt, nb, na);
	if (r == 0)
		r = mbedtls_x509write_crt_set_basic_constraints(&crt, q->is_ca, -1);
	if (r == 0)
		r = mbedtls_x509write_crt_set_key_usage(&crt, MBEDTLS_X509_KU_KEY_ENCIPHERMENT | MBEDTLS_X509_KU_DIGITAL_SIGNATURE |
								      (q->is_ca ? MBEDTLS_X509_KU_KEY_CERT_SIGN : 0));
	if (r == 0 && der_seq(der, sizeof(der), eku, sizeof(eku), &derlen) == 0)
		r = mbedtls_x509write_crt_set_extension(&crt, MBEDTLS_OID_EXTENDED_KEY_USAGE,
							MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0, der, derlen);
	if (r == 0 && san.len && der_seq(der, sizeof(der), (const unsigned char *)san.buf, san.len, &derlen) == 0)
		r = mbedtls_x509write_crt_set_extension(&crt, MBEDTLS_OID_SUBJECT_ALT_NAME,
							MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0, der, derlen);
	if (r == 0 && q->is_ca)
		r = mbedtls_x509write_crt_set_subject_key_identifier(&crt);
	if (r == 0) {
		pem = xmalloc(16384);
		r = mbedtls_x509write_crt_pem(&crt, pem, 16384, rng, NULL);
	}
	if (r == 0)
		r = pk_pem(q->key, &keypem);
	mbedtls_x509write_crt_free(&crt);
	mbedtls_mpi_free(&sn);
	if (r != 0) {
		r = tmpl_ctx_errorf(ctx, "error creating certificate: mbedTLS error -0x%04x", (unsigned)-r);
	} else {
		*ret = cert_val(ctx, (const char *)pem, keypem);
	}
	free(pem);
	free_secret(keypem);
out_bufs:
	buf_release(&subj);
	buf_release(&issuer);
	buf_release(&san);
	buf_release(&tb);
	return r;
}

static const struct tmpl_val nil_list_val = { .kind = TMPL_LIST };

/* genCA / genCAWithKey / genSelfSignedCert[WithKey]: self-signed, a new RSA 2048 key or the given one. */
static int self_signed(struct tmpl_ctx *ctx, const struct tmpl_val *cn, const struct tmpl_val *ips,
		       const struct tmpl_val *dns, int64_t days, bool is_ca, const struct tmpl_val *pem,
		       struct tmpl_val *ret)
{
	struct cert_req q = { cn, ips, dns, days, is_ca, NULL, NULL, NULL };
	mbedtls_pk_context pk;
	int r;

	if (pem) {
		if ((r = parse_key_pem(ctx, pem->s.p, pem->s.n, &pk, "parsing private key: ")) < 0)
			return r;
	} else {
		if (tmpl_ctx_steps(ctx, 100000) < 0)
			return -ETIME;
		if (gen_rsa(&pk, 2048) < 0) {
			mbedtls_pk_free(&pk);
			return tmpl_ctx_errorf(ctx, "error generating rsa key: key generation failed");
		}
	}
	q.key = &pk;
	r = make_cert(ctx, &q, ret);
	mbedtls_pk_free(&pk);
	return r;
}

SPRIG_FN(fn_gen_ca)
{
	return self_signed(ctx, &a[0], &nil_list_val, &nil_list_val, a[1].i, true, NULL, ret);
}

SPRIG_FN(fn_gen_ca_with_key)
{
	return self_signed(ctx, &a[0], &nil_list_val, &nil_list_val, a[1].i, true, &a[2], ret);
}

SPRIG_FN(fn_gen_self_signed)
{
	return self_signed(ctx, &a[0], &a[1], &a[2], a[3].i, false, NULL, ret);
}

SPRIG_FN(fn_gen_self_signed_with_key)
{
	return self_signed(ctx, &a[0], &a[1], &a[2], a[3].i, false, &a[4], ret);
}

/* A `certificate` parameter: Go's argument check, reported by the function. */
static int need_cert(struct tmpl_ctx *ctx, const struct tmpl_val *v)
{
	if (v->kind == TMPL_OBJ && v->type == &cert_type && v->o)
		return 0;
	if (v->kind == TMPL_NIL)
		return tmpl_ctx_errorf(ctx, "invalid value; expected sprig.certificate");
	return tmpl_ctx_errorf(ctx, "wrong type for value; expected sprig.certificate; got %s", tmpl_type_name(v));
}

static int signed_cert(struct tmpl_ctx *ctx, const struct tmpl_val *a, const struct tmpl_val *pem,
		       struct tmpl_val *ret)
{
	struct cert_req q = { &a[0], &a[1], &a[2], a[3].i, false, NULL, NULL, NULL };
	const struct cert_obj *ca;
	mbedtls_pk_context pk, signer;
	mbedtls_x509_crt parent;
	_cleanup_free_ char *certpem = NULL;
	int r;

	if ((r = need_cert(ctx, &a[4])) < 0)
		return r;
	ca = a[4].o;
	if (!memmem(ca->cert.s.p, ca->cert.s.n, "-----BEGIN ", 11))
		return tmpl_ctx_errorf(ctx, "unable to decode certificate");
	mbedtls_x509_crt_init(&parent);
	certpem = xstrndup(ca->cert.s.p, ca->cert.s.n);
	if (mbedtls_x509_crt_parse(&parent, (const unsigned char *)certpem, ca->cert.s.n + 1) != 0) {
		mbedtls_x509_crt_free(&parent);
		return tmpl_ctx_errorf(ctx, "error parsing certificate: decodedSignerCert.Bytes: x509: malformed certificate");
	}
	if ((r = parse_key_pem(ctx, ca->key.s.p, ca->key.s.n, &signer, "error parsing private key: ")) < 0) {
		mbedtls_x509_crt_free(&parent);
		return r;
	}
	if (pem) {
		r = parse_key_pem(ctx, pem->s.p, pem->s.n, &pk, "parsing private key: ");
	} else if (tmpl_ctx_steps(ctx, 100000) < 0) {
		r = -ETIME;
		mbedtls_pk_init(&pk);
	} else if ((r = gen_rsa(&pk, 2048)) < 0) {
		mbedtls_pk_free(&pk);
		r = tmpl_ctx_errorf(ctx, "error generating rsa key: key generation failed");
	}
	if (r == 0) {
		q.key = &pk;
		q.signer = &signer;
		q.parent = &parent;
		r = make_cert(ctx, &q, ret);
		mbedtls_pk_free(&pk);
	}
	mbedtls_pk_free(&signer);
	mbedtls_x509_crt_free(&parent);
	return r;
}

SPRIG_FN(fn_gen_signed)
{
	return signed_cert(ctx, a, NULL, ret);
}

SPRIG_FN(fn_gen_signed_with_key)
{
	return signed_cert(ctx, a, &a[5], ret);
}

/* buildCustomCert B64CERT B64KEY: both checked, then returned as they are. */
SPRIG_FN(fn_build_custom_cert)
{
	struct tmpl_val cert, key, enc;
	mbedtls_x509_crt crt;
	mbedtls_pk_context pk;
	_cleanup_free_ char *copy = NULL;
	int r;

	if ((r = tmpl_ctx_call(ctx, "b64dec", &a[0], 1, &cert)) < 0 || (r = tmpl_ctx_call(ctx, "b64enc", &cert, 1, &enc)) < 0)
		return r;
	if (enc.s.n != a[0].s.n || memcmp(enc.s.p, a[0].s.p, enc.s.n) != 0)
		return tmpl_ctx_errorf(ctx, "unable to decode base64 certificate");
	if ((r = tmpl_ctx_call(ctx, "b64dec", &a[1], 1, &key)) < 0 || (r = tmpl_ctx_call(ctx, "b64enc", &key, 1, &enc)) < 0)
		return r;
	if (enc.s.n != a[1].s.n || memcmp(enc.s.p, a[1].s.p, enc.s.n) != 0)
		return tmpl_ctx_errorf(ctx, "unable to decode base64 private key");
	if (!memmem(cert.s.p, cert.s.n, "-----BEGIN ", 11))
		return tmpl_ctx_errorf(ctx, "unable to decode certificate");
	copy = xstrndup(cert.s.p, cert.s.n);
	mbedtls_x509_crt_init(&crt);
	r = mbedtls_x509_crt_parse(&crt, (const unsigned char *)copy, cert.s.n + 1);
	mbedtls_x509_crt_free(&crt);
	if (r != 0)
		return tmpl_ctx_errorf(ctx, "error parsing certificate: decodedCert.Bytes: x509: malformed certificate");
	if ((r = parse_key_pem(ctx, key.s.p, key.s.n, &pk, "error parsing private key: ")) < 0)
		return r;
	mbedtls_pk_free(&pk);
	{
		struct cert_obj *c = tmpl_alloc(tmpl_ctx_arena(ctx), sizeof(*c));

		c->cert = cert;
		c->key = key;
		*ret = tmpl_obj(&cert_type, c);
	}
	return 0;
}

const struct sprig_fn sprig_crypto_fns[] = {
	{ "sha1sum", "s", fn_sha1sum },
	{ "sha256sum", "s", fn_sha256sum },
	{ "sha512sum", "s", fn_sha512sum },
	{ "adler32sum", "s", fn_adler32sum },
	{ "bcrypt", "s", fn_bcrypt },
	{ "htpasswd", "ss", fn_htpasswd },
	{ "genPrivateKey", "s", fn_gen_private_key },
	{ "derivePassword", "usss" "s", fn_derive_password },
	{ "buildCustomCert", "ss", fn_build_custom_cert },
	{ "genCA", "si", fn_gen_ca },
	{ "genCAWithKey", "sis", fn_gen_ca_with_key },
	{ "genSelfSignedCert", "slli", fn_gen_self_signed },
	{ "genSelfSignedCertWithKey", "sllis", fn_gen_self_signed_with_key },
	{ "genSignedCert", "slliv", fn_gen_signed },
	{ "genSignedCertWithKey", "sllivs", fn_gen_signed_with_key },
	{ "encryptAES", "ss", fn_encrypt_aes },
	{ "decryptAES", "ss", fn_decrypt_aes },
	{ "randBytes", "i", fn_rand_bytes },
	{ "uuidv4", "", fn_uuidv4 },
};
const size_t sprig_crypto_nfns = ARRAY_SIZE(sprig_crypto_fns);
