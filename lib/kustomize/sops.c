/*
 * sops.c: SOPS documents with age recipients (see sops.h for the contract).
 *
 * DESIGN
 * Three layers, bottom up:
 *   1. Bech32 identities and X25519 (mbedTLS Curve25519; scalars and
 *      u-coordinates are little-endian as in RFC 7748).
 *   2. The age v1 file: armor, header, the X25519 stanza unwrap, header
 *      HMAC, then the ChaCha20-Poly1305 STREAM payload.
 *   3. The SOPS tree: the data key from sops.age[].enc, then a walk in
 *      document order that decides per leaf whether it is encrypted (the
 *      suffix and regex rules of sops' shouldBeEncrypted), decrypts it with
 *      AES-256-GCM and feeds the plaintext to the SHA-512 MAC.
 * Every secret buffer lives on the stack or in memory we wipe before free.
 */
#include "kustomize/sops.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <mbedtls/chachapoly.h>
#include <mbedtls/ecp.h>
#include <mbedtls/gcm.h>
#include <mbedtls/hkdf.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha512.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "base/buf.h"
#include "base/banned.h"

#define AGE_CHUNK 65536
#define AGE_TAG 16
#define AGE_MAX_PAYLOAD (1u << 20)
#define AGE_MAX_STANZAS 256

struct sops_identities {
	size_t n, alloc;
	unsigned char (*sk)[32]; /* clamped at use, stored as decoded */
	unsigned char (*pk)[32];
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------ X25519 */

/* mbedTLS wants an RNG for its scalar-multiplication blinding. */
static int x25519_rng(void *ctx, unsigned char *out, size_t n)
{
	(void)ctx;
	while (n) {
		ssize_t r = getrandom(out, n, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return MBEDTLS_ERR_ECP_RANDOM_FAILED;
		}
		out += r;
		n -= (size_t)r;
	}
	return 0;
}

/*
 * out = X25519(scalar, u) per RFC 7748: the scalar is clamped and the top
 * bit of u masked.  Returns 0, or -EINVAL when mbedTLS refuses the point
 * (low order and the like) or the result is all zeros.
 */
static int x25519(unsigned char out[32], const unsigned char scalar[32], const unsigned char u[32])
{
	mbedtls_ecp_group grp;
	mbedtls_ecp_point p, r;
	mbedtls_mpi d;
	unsigned char ub[32], acc = 0;
	int rc = -EINVAL, i;

	mbedtls_ecp_group_init(&grp);
	mbedtls_ecp_point_init(&p);
	mbedtls_ecp_point_init(&r);
	mbedtls_mpi_init(&d);
	memcpy(ub, u, 32);
	ub[31] &= 0x7f;
	if (mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_CURVE25519) ||
	    mbedtls_mpi_read_binary_le(&d, scalar, 32) || mbedtls_mpi_set_bit(&d, 0, 0) ||
	    mbedtls_mpi_set_bit(&d, 1, 0) || mbedtls_mpi_set_bit(&d, 2, 0) ||
	    mbedtls_mpi_set_bit(&d, 255, 0) || mbedtls_mpi_set_bit(&d, 254, 1) ||
	    mbedtls_mpi_read_binary_le(&p.X, ub, 32) || mbedtls_mpi_lset(&p.Z, 1) ||
	    mbedtls_ecp_mul(&grp, &r, &d, &p, x25519_rng, NULL) ||
	    mbedtls_mpi_write_binary_le(&r.X, out, 32))
		goto out;
	for (i = 0; i < 32; i++)
		acc |= out[i];
	rc = acc ? 0 : -EINVAL;
out:
	mbedtls_mpi_free(&d);
	mbedtls_ecp_point_free(&p);
	mbedtls_ecp_point_free(&r);
	mbedtls_ecp_group_free(&grp);
	return rc;
}

/* ------------------------------------------------------------ Bech32 */

static const char bech32_charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

static uint32_t bech32_polymod(const unsigned char *v, size_t n)
{
	static const uint32_t gen[5] = { 0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd,
					 0x2a1462b3 };
	uint32_t chk = 1;
	size_t i;
	int j;

	for (i = 0; i < n; i++) {
		uint32_t top = chk >> 25;

		chk = ((chk & 0x1ffffff) << 5) ^ v[i];
		for (j = 0; j < 5; j++)
			if ((top >> j) & 1)
				chk ^= gen[j];
	}
	return chk;
}

/*
 * Decode an age identity: Bech32 (not Bech32m), one case throughout, HRP
 * "age-secret-key-", 32 bytes of data with zero padding bits.
 */
static int age_identity_decode(const char *s, size_t n, unsigned char ret[32])
{
	static const char hrp[] = "age-secret-key-";
	unsigned char v[256];
	size_t hl = sizeof(hrp) - 1, i, nv = 0, nd, outn = 0;
	bool lower = false, upper = false;
	uint32_t acc = 0;
	unsigned bits = 0;
	unsigned char out[32];
	int rc = -EINVAL;

	if (n < hl + 1 + 6 || n > 2 * hl + 100)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (s[i] >= 'a' && s[i] <= 'z')
			lower = true;
		else if (s[i] >= 'A' && s[i] <= 'Z')
			upper = true;
		else if (s[i] < 33 || s[i] > 126)
			return -EINVAL;
	}
	if (lower && upper)
		return -EINVAL;
	for (i = 0; i < hl; i++)
		if ((s[i] | 0x20) != hrp[i] && s[i] != hrp[i])
			return -EINVAL;
	if (s[hl] != '1')
		return -EINVAL;
	/* The checksum covers the expanded HRP, then the data. */
	for (i = 0; i < hl; i++)
		v[nv++] = (unsigned char)hrp[i] >> 5;
	v[nv++] = 0;
	for (i = 0; i < hl; i++)
		v[nv++] = (unsigned char)hrp[i] & 31;
	for (i = hl + 1; i < n; i++) {
		const char *p = strchr(bech32_charset, s[i] | 0x20);

		if (!p || !*p || nv >= sizeof(v))
			goto out;
		v[nv++] = (unsigned char)(p - bech32_charset);
	}
	if (bech32_polymod(v, nv) != 1)
		goto out;
	nd = n - hl - 1 - 6;
	for (i = 0; i < nd; i++) {
		acc = (acc << 5) | v[2 * hl + 1 + i];
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (outn == sizeof(out))
				goto out;
			out[outn++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (bits >= 5 || acc || outn != 32)
		goto out;
	memcpy(ret, out, 32);
	rc = 0;
out:
	mbedtls_platform_zeroize(v, sizeof(v));
	mbedtls_platform_zeroize(out, sizeof(out));
	return rc;
}

struct sops_identities *sops_identities_new(void)
{
	return xcalloc(1, sizeof(struct sops_identities));
}

void sops_identities_free(struct sops_identities *ids)
{
	if (!ids)
		return;
	if (ids->sk)
		mbedtls_platform_zeroize(ids->sk, ids->alloc * 32);
	free(ids->sk);
	free(ids->pk);
	free(ids);
}

size_t sops_identities_count(const struct sops_identities *ids)
{
	return ids ? ids->n : 0;
}

static void identities_push(struct sops_identities *ids, const unsigned char sk[32],
			    const unsigned char pk[32])
{
	if (ids->n == ids->alloc) {
		size_t na = ids->alloc ? 2 * ids->alloc : 4;
		unsigned char(*nsk)[32] = xcalloc(na, 32);

		/* Copy by hand rather than realloc so the old keys can be wiped. */
		if (ids->sk) {
			memcpy(nsk, ids->sk, ids->n * 32);
			mbedtls_platform_zeroize(ids->sk, ids->alloc * 32);
			free(ids->sk);
		}
		ids->sk = nsk;
		ids->pk = xrealloc(ids->pk, na * 32);
		ids->alloc = na;
	}
	memcpy(ids->sk[ids->n], sk, 32);
	memcpy(ids->pk[ids->n], pk, 32);
	ids->n++;
}

int sops_identities_add(struct sops_identities *ids, const char *text, size_t n, char *err,
			size_t errlen)
{
	static const unsigned char base[32] = { 9 };
	size_t pos = 0, lineno = 0;
	int added = 0;

	while (pos < n) {
		const char *line = text + pos, *nl = memchr(line, '\n', n - pos);
		size_t len = nl ? (size_t)(nl - line) : n - pos;
		unsigned char sk[32], pk[32];

		pos += len + (nl ? 1 : 0);
		lineno++;
		while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
			len--;
		while (len && (*line == ' ' || *line == '\t'))
			line++, len--;
		if (!len || *line == '#')
			continue;
		if (age_identity_decode(line, len, sk) < 0 || x25519(pk, sk, base) < 0) {
			mbedtls_platform_zeroize(sk, sizeof(sk));
			seterr(err, errlen, "line %zu is not an age identity (AGE-SECRET-KEY-1...)",
			       lineno);
			return -EINVAL;
		}
		identities_push(ids, sk, pk);
		mbedtls_platform_zeroize(sk, sizeof(sk));
		added++;
	}
	if (!added) {
		seterr(err, errlen, "no age identity found");
		return -EINVAL;
	}
	return added;
}

/* ------------------------------------------------------------ age */

/*
 * age's base64: standard alphabet, no padding, canonical (the unused bits
 * of the last character are zero).  Checked by re-encoding.
 */
static int b64_raw_decode(const char *s, size_t n, unsigned char *out, size_t max, size_t *ret_len)
{
	char *in, *dec = NULL, *enc;
	size_t dl = 0, el;
	int rc = -EINVAL;

	in = xstrndup(s, n);
	if (memchr(s, '=', n) || memchr(s, '-', n) || memchr(s, '_', n) || strlen(in) != n)
		goto out;
	if (b64_decode(in, &dec, &dl) < 0 || dl > max)
		goto out;
	enc = b64_encode(dec, dl);
	el = strlen(enc);
	while (el && enc[el - 1] == '=')
		el--;
	if (el == n && !memcmp(enc, s, n)) {
		memcpy(out, dec, dl);
		*ret_len = dl;
		rc = 0;
	}
	free(enc);
out:
	if (dec) {
		mbedtls_platform_zeroize(dec, dl);
		free(dec);
	}
	free(in);
	return rc;
}

static const char armor_begin[] = "-----BEGIN AGE ENCRYPTED FILE-----";
static const char armor_end[] = "-----END AGE ENCRYPTED FILE-----";

/*
 * Strip the armor: surrounding white space, the BEGIN line, lines of
 * padded base64 (at most 64 columns), the END line.
 */
static int age_dearmor(const char *in, size_t n, char **ret, size_t *ret_len)
{
	const char *p = in, *end = in + n, *e;
	struct buf b = BUF_INIT(AGE_MAX_PAYLOAD * 2);
	char *dec = NULL;
	size_t dl = 0;
	int rc = -EINVAL;

	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		end--;
	if ((size_t)(end - p) < sizeof(armor_begin) - 1 + sizeof(armor_end) - 1 ||
	    memcmp(p, armor_begin, sizeof(armor_begin) - 1))
		return -EINVAL;
	e = end - (sizeof(armor_end) - 1);
	if (memcmp(e, armor_end, sizeof(armor_end) - 1))
		return -EINVAL;
	p += sizeof(armor_begin) - 1;
	while (p < e) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(e - p);

		if (len && p[len - 1] == '\r')
			len--;
		if (len > 64)
			goto out;
		if (buf_add(&b, p, len) < 0) {
			rc = -EFBIG;
			goto out;
		}
		p = nl ? nl + 1 : e;
	}
	if (b.len % 4 || memchr(b.buf, '-', b.len) || memchr(b.buf, '_', b.len) ||
	    b64_decode(b.buf, &dec, &dl) < 0)
		goto out;
	*ret = dec;
	*ret_len = dl;
	rc = 0;
out:
	buf_release(&b);
	return rc;
}

static int hkdf_sha256(const unsigned char *ikm, size_t ikml, const unsigned char *salt,
		       size_t saltl, const char *info, unsigned char *out, size_t outl)
{
	return mbedtls_hkdf(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), salt, saltl, ikm, ikml,
			    (const unsigned char *)info, strlen(info), out, outl)
		       ? -EPROTO
		       : 0;
}

/* ChaCha20-Poly1305 open of `n` bytes of ciphertext followed by the tag. */
static int chachapoly_open(const unsigned char key[32], const unsigned char nonce[12],
			   const unsigned char *in, size_t n, unsigned char *out)
{
	mbedtls_chachapoly_context c;
	int r;

	mbedtls_chachapoly_init(&c);
	r = mbedtls_chachapoly_setkey(&c, key);
	if (!r)
		r = mbedtls_chachapoly_auth_decrypt(&c, n, nonce, NULL, 0, in + n, in, out);
	mbedtls_chachapoly_free(&c);
	return r ? -EBADMSG : 0;
}

struct age_stanza {
	bool x25519;
	unsigned char share[32];
	unsigned char body[32];
};

/* One header line from *p, without its '\n'; -EINVAL at the end of input. */
static int next_line(const char **p, const char *end, const char **ret, size_t *ret_len)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));

	if (!nl)
		return -EINVAL;
	*ret = *p;
	*ret_len = (size_t)(nl - *p);
	*p = nl + 1;
	return 0;
}

/*
 * Parse a stanza starting at line `l` ("-> type args..."), its body lines
 * following at *p.  Only X25519 stanzas are kept; others are parsed for
 * well-formedness and skipped.
 */
static int parse_stanza(const char *l, size_t ll, const char **p, const char *end,
			struct age_stanza *st)
{
	const char *args = l + 3, *sp;
	size_t al = ll - 3, bl = 0, got;
	unsigned char body[64 * 4], tmp[48];
	const char *line;
	size_t len;

	memset(st, 0, sizeof(*st));
	sp = memchr(args, ' ', al);
	if (!al || *args == ' ' || args[al - 1] == ' ')
		return -EINVAL;
	st->x25519 = (sp ? (size_t)(sp - args) : al) == 6 && !memcmp(args, "X25519", 6);
	if (st->x25519) {
		/* exactly one argument, the ephemeral share, as age's X25519 identity demands */
		const char *a = sp ? sp + 1 : args + al;
		size_t n = sp ? al - 7 : 0;

		if (!sp || memchr(a, ' ', n) || b64_raw_decode(a, n, tmp, sizeof(tmp), &got) < 0 ||
		    got != 32)
			return -EINVAL;
		memcpy(st->share, tmp, 32);
	}
	/* The body: full 64-column lines, ended by a shorter (maybe empty) one. */
	for (;;) {
		if (next_line(p, end, &line, &len) < 0 || len > 64)
			return -EINVAL;
		if (b64_raw_decode(line, len, tmp, sizeof(tmp), &got) < 0)
			return -EINVAL;
		if (st->x25519) {
			if (bl + got > sizeof(body))
				return -EINVAL;
			memcpy(body + bl, tmp, got);
		}
		bl += got;
		if (len < 64)
			break;
	}
	if (st->x25519) {
		if (bl != 32)
			return -EINVAL;
		memcpy(st->body, body, 32);
	}
	return 0;
}

/* Try each identity on each X25519 stanza; the file key on success. */
static int unwrap_file_key(const struct sops_identities *ids, const struct age_stanza *st,
			   size_t nst, unsigned char filekey[16])
{
	static const unsigned char zero_nonce[12];
	unsigned char shared[32], salt[64], wrap[32];
	size_t i, j;
	int rc = -ENOKEY;

	for (i = 0; i < nst && rc == -ENOKEY; i++) {
		if (!st[i].x25519)
			continue;
		for (j = 0; ids && j < ids->n; j++) {
			if (x25519(shared, ids->sk[j], st[i].share) < 0) {
				rc = -EINVAL; /* a low-order share: age refuses the file */
				break;
			}
			memcpy(salt, st[i].share, 32);
			memcpy(salt + 32, ids->pk[j], 32);
			if (hkdf_sha256(shared, 32, salt, 64, "age-encryption.org/v1/X25519", wrap,
					32) < 0) {
				rc = -EPROTO;
				break;
			}
			if (!chachapoly_open(wrap, zero_nonce, st[i].body, 16, filekey)) {
				rc = 0;
				break;
			}
		}
	}
	mbedtls_platform_zeroize(shared, sizeof(shared));
	mbedtls_platform_zeroize(wrap, sizeof(wrap));
	return rc;
}

/* The STREAM payload: a 16-byte nonce, then 64 KiB chunks, the last one flagged. */
static int age_payload(const unsigned char filekey[16], const unsigned char *in, size_t n,
		       unsigned char **ret, size_t *ret_len, char *err, size_t errlen)
{
	unsigned char key[32], nonce[12] = { 0 }, *out;
	size_t outl = 0;
	uint64_t ctr = 0;
	int rc = 0, i;

	if (n < 16 + AGE_TAG) {
		seterr(err, errlen, "age payload is truncated");
		return -EINVAL;
	}
	if (n - 16 > AGE_MAX_PAYLOAD + AGE_MAX_PAYLOAD / AGE_CHUNK * AGE_TAG + AGE_TAG) {
		seterr(err, errlen, "age payload is larger than 1 MiB");
		return -EFBIG;
	}
	if (hkdf_sha256(filekey, 16, in, 16, "payload", key, sizeof(key)) < 0)
		return -EPROTO;
	in += 16;
	n -= 16;
	out = xmalloc(n + 1);
	for (;;) {
		bool last = n <= AGE_CHUNK + AGE_TAG;
		size_t cl = last ? n : AGE_CHUNK + AGE_TAG;

		if (cl < AGE_TAG || (last && cl == AGE_TAG && ctr > 0)) {
			/* age never writes an empty last chunk after a full one */
			rc = -EINVAL;
			break;
		}
		for (i = 0; i < 8; i++)
			nonce[10 - i] = (unsigned char)(ctr >> (8 * i));
		nonce[11] = last ? 1 : 0;
		if (chachapoly_open(key, nonce, in, cl - AGE_TAG, out + outl) < 0) {
			rc = -EBADMSG;
			break;
		}
		outl += cl - AGE_TAG;
		in += cl;
		n -= cl;
		ctr++;
		if (last)
			break;
	}
	mbedtls_platform_zeroize(key, sizeof(key));
	if (rc < 0) {
		mbedtls_platform_zeroize(out, n + outl);
		free(out);
		seterr(err, errlen, rc == -EBADMSG ? "age payload does not authenticate"
						    : "age payload is truncated");
		return rc;
	}
	out[outl] = 0;
	*ret = out;
	*ret_len = outl;
	return 0;
}

static int age_decrypt_raw(const struct sops_identities *ids, const char *in, size_t n,
			   unsigned char **ret, size_t *ret_len, char *err, size_t errlen)
{
	static const char intro[] = "age-encryption.org/v1";
	const char *p = in, *end = in + n, *line, *hdr_end;
	struct age_stanza *st = NULL;
	size_t nst = 0, len, got;
	unsigned char filekey[16], mackey[32], mac[32], want[48];
	int rc = -EINVAL;

	if (next_line(&p, end, &line, &len) < 0 || len != sizeof(intro) - 1 ||
	    memcmp(line, intro, len)) {
		seterr(err, errlen, "not an age v1 file");
		return -EINVAL;
	}
	st = xcalloc(AGE_MAX_STANZAS, sizeof(*st));
	for (;;) {
		if (next_line(&p, end, &line, &len) < 0)
			goto bad;
		if (len >= 3 && !memcmp(line, "---", 3))
			break;
		if (len < 4 || memcmp(line, "-> ", 3) || nst == AGE_MAX_STANZAS ||
		    parse_stanza(line, len, &p, end, &st[nst]) < 0)
			goto bad;
		nst++;
	}
	hdr_end = line + 3;
	if (len != 3 + 1 + 43 || line[3] != ' ' ||
	    b64_raw_decode(line + 4, 43, want, sizeof(want), &got) < 0 || got != 32)
		goto bad;
	rc = unwrap_file_key(ids, st, nst, filekey);
	if (rc == -ENOKEY) {
		seterr(err, errlen, "no age identity matches");
		goto out;
	}
	if (rc < 0)
		goto bad;
	if (hkdf_sha256(filekey, 16, NULL, 0, "header", mackey, sizeof(mackey)) < 0 ||
	    mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), mackey, sizeof(mackey),
			    (const unsigned char *)in, (size_t)(hdr_end - in), mac)) {
		rc = -EPROTO;
		seterr(err, errlen, "age header MAC failed");
		goto out;
	}
	{
		unsigned char d = 0;
		int i;

		for (i = 0; i < 32; i++)
			d |= mac[i] ^ want[i];
		if (d) {
			rc = -EBADMSG;
			seterr(err, errlen, "age header does not authenticate");
			goto out;
		}
	}
	rc = age_payload(filekey, (const unsigned char *)p, (size_t)(end - p), ret, ret_len, err,
			 errlen);
	goto out;
bad:
	rc = -EINVAL;
	seterr(err, errlen, "malformed age header");
out:
	mbedtls_platform_zeroize(filekey, sizeof(filekey));
	mbedtls_platform_zeroize(mackey, sizeof(mackey));
	free(st);
	return rc;
}

int sops_age_decrypt(const struct sops_identities *ids, const void *in, size_t n,
		     unsigned char **ret, size_t *ret_len, char *err, size_t errlen)
{
	const char *s = in;
	char *raw = NULL;
	size_t rl = 0, i = 0;
	int rc;

	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
		i++;
	if (n - i >= sizeof(armor_begin) - 1 && !memcmp(s + i, armor_begin, sizeof(armor_begin) - 1)) {
		rc = age_dearmor(s, n, &raw, &rl);
		if (rc < 0) {
			seterr(err, errlen, "malformed age armor");
			return rc;
		}
		rc = age_decrypt_raw(ids, raw, rl, ret, ret_len, err, errlen);
		free(raw);
		return rc;
	}
	return age_decrypt_raw(ids, s, n, ret, ret_len, err, errlen);
}

/* ------------------------------------------------------------ regex subset */

/*
 * A Go regexp of the form [^](lit|lit|...)[$] or [^]lit[$], unanchored
 * unless ^/$ say otherwise, literals of [A-Za-z0-9_:/-] and escaped
 * punctuation.  Returns 1 match, 0 no match, -ENOTSUP otherwise.
 */
static int lit_char(const char **p, char *c)
{
	const char *s = *p;

	if (*s == '\\' && s[1] && strchr(".-_/:\\$^|()[]{}*+?", s[1])) {
		*c = s[1];
		*p = s + 2;
		return 1;
	}
	if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
	    (*s && strchr("_:/-", *s))) {
		*c = *s;
		*p = s + 1;
		return 1;
	}
	return 0;
}

static int match_lit(const char *lit, size_t ll, const char *s, bool a0, bool a1)
{
	size_t sl = strlen(s), i;

	if (ll > sl)
		return 0;
	if (a0 && a1)
		return ll == sl && !memcmp(lit, s, ll);
	if (a0)
		return !memcmp(lit, s, ll);
	if (a1)
		return !memcmp(lit, s + sl - ll, ll);
	for (i = 0; i + ll <= sl; i++)
		if (!memcmp(lit, s + i, ll))
			return 1;
	return 0;
}

static int re_match(const char *re, const char *s)
{
	const char *p = re;
	bool a0 = false, a1 = false, group = false;
	char lit[256];
	size_t ll = 0;
	int m = 0;

	if (*p == '^')
		a0 = true, p++;
	if (*p == '(')
		group = true, p++;
	for (;;) {
		char c;

		if (lit_char(&p, &c)) {
			if (ll == sizeof(lit))
				return -ENOTSUP;
			lit[ll++] = c;
			continue;
		}
		if (group && (*p == '|' || *p == ')')) {
			/* Decide the end anchor first: it follows the group. */
			const char *q = strchr(p, ')');

			if (!q || (q[1] && !(q[1] == '$' && !q[2])) || strchr(p, '('))
				return -ENOTSUP;
			a1 = q[1] == '$';
			m |= match_lit(lit, ll, s, a0, a1);
			ll = 0;
			if (*p == ')')
				return m;
			p++;
			continue;
		}
		if (group)
			return -ENOTSUP;
		if (*p == '$' && !p[1])
			a1 = true, p++;
		if (*p)
			return -ENOTSUP;
		return match_lit(lit, ll, s, a0, a1);
	}
}

/* ------------------------------------------------------------ SOPS */

struct sops_meta {
	const char *unenc_suffix, *enc_suffix, *unenc_re, *enc_re;
	bool enc_comment_re;
	bool mac_only;
};

struct walk {
	const struct sops_meta *m;
	const unsigned char *key;
	mbedtls_sha512_context sha;
	const char *path[128];
	size_t depth;
	char *err;
	size_t errlen;
};

static int path_string(const struct walk *w, struct buf *b)
{
	size_t i;

	for (i = 0; i < w->depth; i++)
		if (buf_adds(b, w->path[i]) < 0 || buf_addch(b, ':') < 0)
			return -EFBIG;
	return 0;
}

/* sops' shouldBeEncrypted, for documents without comments (JSON). */
static int should_encrypt(struct walk *w)
{
	const struct sops_meta *m = w->m;
	bool enc = true;
	size_t i, sl;
	int r;

	if (m->unenc_suffix && *m->unenc_suffix)
		for (i = 0; i < w->depth; i++) {
			sl = strlen(m->unenc_suffix);
			if (strlen(w->path[i]) >= sl &&
			    !strcmp(w->path[i] + strlen(w->path[i]) - sl, m->unenc_suffix)) {
				enc = false;
				break;
			}
		}
	if (m->enc_suffix && *m->enc_suffix) {
		enc = false;
		sl = strlen(m->enc_suffix);
		for (i = 0; i < w->depth; i++)
			if (strlen(w->path[i]) >= sl &&
			    !strcmp(w->path[i] + strlen(w->path[i]) - sl, m->enc_suffix)) {
				enc = true;
				break;
			}
	}
	if (m->unenc_re && *m->unenc_re)
		for (i = 0; i < w->depth; i++) {
			r = re_match(m->unenc_re, w->path[i]);
			if (r < 0)
				return r;
			if (r) {
				enc = false;
				break;
			}
		}
	if (m->enc_re && *m->enc_re) {
		enc = false;
		for (i = 0; i < w->depth; i++) {
			r = re_match(m->enc_re, w->path[i]);
			if (r < 0)
				return r;
			if (r) {
				enc = true;
				break;
			}
		}
	}
	/* With encrypted_comment_regex only values under a matching comment are encrypted. */
	if (m->enc_comment_re)
		enc = false;
	return enc;
}

/*
 * Go's strconv.FormatFloat(v, 'f', -1, 64): the shortest digits that read
 * back as v, written without an exponent.
 */
static void format_float_f(double v, struct buf *b)
{
	char tmp[64], digits[32];
	int prec, exp, nd = 0, i;
	char *e;

	if (v == 0) {
		buf_adds(b, signbit(v) ? "-0" : "0");
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	e = strchr(tmp, 'e');
	exp = (int)strtol(e + 1, NULL, 10);
	for (i = 0; tmp + i < e; i++)
		if (tmp[i] >= '0' && tmp[i] <= '9')
			digits[nd++] = tmp[i];
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	if (v < 0)
		buf_addch(b, '-');
	if (exp < 0) {
		buf_adds(b, "0.");
		for (i = 0; i < -exp - 1; i++)
			buf_addch(b, '0');
		buf_add(b, digits, (size_t)nd);
		return;
	}
	for (i = 0; i <= exp || i < nd; i++) {
		if (i == exp + 1)
			buf_addch(b, '.');
		buf_addch(b, i < nd ? digits[i] : '0');
	}
}

/* The bytes sops' ToBytes gives for a plaintext leaf (numbers as the JSON store reads them). */
static void leaf_bytes(const cJSON *v, struct buf *b)
{
	if (cJSON_IsString(v))
		buf_adds(b, v->valuestring);
	else if (cJSON_IsBool(v))
		buf_adds(b, cJSON_IsTrue(v) ? "True" : "False");
	else if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;

		if (d == floor(d) && fabs(d) < 9.2e18)
			buf_addf(b, "%lld", (long long)d);
		else
			format_float_f(d, b);
	}
}

/* Go's strconv.ParseBool. */
static int parse_bool(const char *s, bool *ret)
{
	static const char *const t[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *const f[] = { "0", "f", "F", "FALSE", "false", "False" };
	size_t i;

	for (i = 0; i < 6; i++) {
		if (!strcmp(s, t[i]))
			return *ret = true, 0;
		if (!strcmp(s, f[i]))
			return *ret = false, 0;
	}
	return -EINVAL;
}

/* Split ENC[AES256_GCM,data:..,iv:..,tag:..,type:..] as sops' regexp does. */
static int enc_split(const char *s, char **data, char **iv, char **tag, char **type)
{
	static const char pre[] = "ENC[AES256_GCM,data:";
	const char *d, *i, *t, *ty, *close;

	if (strncmp(s, pre, sizeof(pre) - 1))
		return -EINVAL;
	d = s + sizeof(pre) - 1;
	i = strstr(d, ",iv:");
	t = i ? strstr(i + 4, ",tag:") : NULL;
	ty = t ? strstr(t + 5, ",type:") : NULL;
	close = ty ? strrchr(ty, ']') : NULL;
	if (!close || i == d || t == i + 4 || ty == t + 5 || close == ty + 6)
		return -EINVAL;
	*data = xstrndup(d, (size_t)(i - d));
	*iv = xstrndup(i + 4, (size_t)(t - i - 4));
	*tag = xstrndup(t + 5, (size_t)(ty - t - 5));
	*type = xstrndup(ty + 6, (size_t)(close - ty - 6));
	return 0;
}

/*
 * AES-256-GCM open of one value; the plaintext (NUL-terminated, caller
 * wipes and frees) and its sops type.
 */
static int value_open(const unsigned char key[32], const char *s, const char *aad,
		      char **ret, size_t *ret_len, char **ret_type)
{
	char *d64 = NULL, *iv64 = NULL, *tag64 = NULL, *type = NULL;
	char *ct = NULL, *iv = NULL, *tag = NULL;
	size_t ctl = 0, ivl = 0, tagl = 0;
	unsigned char *pt = NULL;
	mbedtls_gcm_context g;
	int rc = -EINVAL;

	if (enc_split(s, &d64, &iv64, &tag64, &type) < 0)
		return -EINVAL;
	if (b64_decode(d64, &ct, &ctl) < 0 || b64_decode(iv64, &iv, &ivl) < 0 ||
	    b64_decode(tag64, &tag, &tagl) < 0 || tagl != 16 || !ivl)
		goto out;
	pt = xmalloc(ctl + 1);
	mbedtls_gcm_init(&g);
	if (mbedtls_gcm_setkey(&g, MBEDTLS_CIPHER_ID_AES, key, 256) ||
	    mbedtls_gcm_auth_decrypt(&g, ctl, (unsigned char *)iv, ivl,
				     (const unsigned char *)aad, strlen(aad),
				     (unsigned char *)tag, 16, (unsigned char *)ct, pt)) {
		mbedtls_gcm_free(&g);
		mbedtls_platform_zeroize(pt, ctl);
		free(pt);
		pt = NULL;
		rc = -EBADMSG;
		goto out;
	}
	mbedtls_gcm_free(&g);
	pt[ctl] = 0;
	*ret = (char *)pt;
	*ret_len = ctl;
	*ret_type = type;
	type = NULL;
	rc = 0;
out:
	free(d64), free(iv64), free(tag64), free(type);
	free(ct), free(iv), free(tag);
	return rc;
}

/* Replace leaf `v` (a string) by its typed plaintext; feed the MAC. */
static int decrypt_leaf(struct walk *w, cJSON *v, bool *ret_hash_done)
{
	struct buf path = BUF_INIT(1u << 20);
	char *pt = NULL, *type = NULL, *end;
	size_t ptl = 0;
	int rc;

	*ret_hash_done = false;
	if (!cJSON_IsString(v)) {
		path_string(w, &path);
		seterr(w->err, w->errlen, "value at '%s' is not an encrypted string", path.buf);
		buf_release(&path);
		return -EINVAL;
	}
	/* sops leaves empty strings as they are */
	if (!*v->valuestring)
		return 0;
	path_string(w, &path);
	rc = value_open(w->key, v->valuestring, path.buf, &pt, &ptl, &type);
	if (rc < 0) {
		seterr(w->err, w->errlen,
		       rc == -EBADMSG ? "value at '%s' does not authenticate"
				      : "value at '%s' is not in sops' ENC[AES256_GCM,...] format",
		       path.buf);
		goto out;
	}
	rc = -EINVAL;
	if (!strcmp(type, "str")) {
		if (strlen(pt) != ptl)
			goto badtype;
		cJSON_SetValuestring(v, pt);
		mbedtls_sha512_update_ret(&w->sha, (unsigned char *)pt, ptl);
	} else if (!strcmp(type, "int") || !strcmp(type, "float")) {
		double d;

		errno = 0;
		if (!strcmp(type, "int")) {
			long long ll = strtoll(pt, &end, 10);

			d = (double)ll;
			if (!*pt || *end || errno)
				goto badtype;
		} else {
			d = strtod(pt, &end);
			if (!*pt || *end)
				goto badtype;
		}
		{
			cJSON *n = cJSON_CreateNumber(d);

			/* swap in place so the node keeps its key and position */
			free(v->valuestring);
			v->valuestring = NULL;
			v->type = cJSON_Number;
			v->valuedouble = n->valuedouble;
			v->valueint = n->valueint;
			cJSON_Delete(n);
		}
		{
			struct buf nb = BUF_INIT(64);

			leaf_bytes(v, &nb);
			mbedtls_sha512_update_ret(&w->sha, (unsigned char *)nb.buf, nb.len);
			buf_release(&nb);
		}
	} else if (!strcmp(type, "bool")) {
		bool b;

		if (parse_bool(pt, &b) < 0)
			goto badtype;
		free(v->valuestring);
		v->valuestring = NULL;
		v->type = b ? cJSON_True : cJSON_False;
		mbedtls_sha512_update_ret(&w->sha, (unsigned char *)(b ? "True" : "False"), b ? 4 : 5);
	} else if (!strcmp(type, "bytes")) {
		/* the JSON store emits []byte as encoding/json does: base64 */
		char *e = b64_encode(pt, ptl);

		cJSON_SetValuestring(v, e);
		free(e);
		mbedtls_sha512_update_ret(&w->sha, (unsigned char *)pt, ptl);
	} else {
		seterr(w->err, w->errlen, "value at '%s' has unsupported sops type '%.16s'",
		       path.buf, type);
		rc = -ENOTSUP;
		goto out;
	}
	*ret_hash_done = true;
	rc = 0;
	goto out;
badtype:
	seterr(w->err, w->errlen, "value at '%s' does not parse as its sops type '%.16s'",
	       path.buf, type);
out:
	if (pt) {
		mbedtls_platform_zeroize(pt, ptl);
		free(pt);
	}
	free(type);
	buf_release(&path);
	return rc;
}

static int walk_value(struct walk *w, cJSON *v);

static int walk_children(struct walk *w, cJSON *v, bool top)
{
	cJSON *c;
	int rc;

	cJSON_ArrayForEach(c, v)
	{
		if (cJSON_IsObject(v)) {
			if (top && c->string && !strcmp(c->string, "sops"))
				continue;
			if (w->depth == sizeof(w->path) / sizeof(w->path[0])) {
				seterr(w->err, w->errlen, "document nests deeper than %zu levels",
				       w->depth);
				return -EINVAL;
			}
			w->path[w->depth++] = c->string;
			rc = walk_value(w, c);
			w->depth--;
		} else {
			/* list items share their list's path, as sops walks them */
			rc = walk_value(w, c);
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int walk_value(struct walk *w, cJSON *v)
{
	struct buf b = BUF_INIT(64);
	bool hashed;
	int enc, rc;

	if (cJSON_IsObject(v) || cJSON_IsArray(v))
		return walk_children(w, v, false);
	if (cJSON_IsNull(v))
		return 0; /* sops neither decrypts nor hashes nil */
	enc = should_encrypt(w);
	if (enc < 0) {
		seterr(w->err, w->errlen,
		       "sops metadata regex is not supported by cflux (only literals and ^(a|b)$)");
		return enc;
	}
	if (enc) {
		rc = decrypt_leaf(w, v, &hashed);
		if (rc < 0 || hashed)
			return rc;
	}
	if (!w->m->mac_only || enc) {
		leaf_bytes(v, &b);
		mbedtls_sha512_update_ret(&w->sha, (unsigned char *)b.buf, b.len);
	}
	buf_release(&b);
	return 0;
}

bool sops_is_encrypted(const cJSON *doc)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(doc, "sops"), *mac;

	if (!cJSON_IsObject(s) || !s->child)
		return false;
	mac = cJSON_GetObjectItemCaseSensitive(s, "mac");
	/*
	 * kyaml's IsNilOrEmpty: null, {} and [] are empty; a scalar, even
	 * "", is not.
	 */
	if (!mac || cJSON_IsNull(mac))
		return false;
	return !((cJSON_IsObject(mac) || cJSON_IsArray(mac)) && !mac->child);
}

static const char *meta_str(const cJSON *s, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Whether the metadata names recipients other than age (which we cannot use). */
static bool has_other_recipients(const cJSON *s)
{
	static const char *const kinds[] = { "pgp", "kms", "gcp_kms", "azure_kv", "hc_vault",
					     "hckms" };
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(s, kinds[i]);

		if (cJSON_IsArray(a) && a->child)
			return true;
	}
	return false;
}

/*
 * The data key: each sops.age[] entry in turn, as sops tries every master
 * key; the first that opens wins.  A malformed entry does not stop the
 * search, but its reason is reported if nothing opens.
 */
static int data_key(const cJSON *s, const struct sops_identities *ids, unsigned char key[32],
		    char *err, size_t errlen)
{
	const cJSON *age = cJSON_GetObjectItemCaseSensitive(s, "age"), *e;
	char aerr[128] = "", first[128] = "";
	int rc = -ENOKEY;

	if (cJSON_IsArray(age))
		cJSON_ArrayForEach(e, age)
		{
			const char *enc = meta_str(e, "enc");
			unsigned char *pt = NULL;
			size_t ptl = 0;
			int r;

			if (!enc)
				continue;
			r = sops_age_decrypt(ids, enc, strlen(enc), &pt, &ptl, aerr, sizeof(aerr));
			if (r == 0 && ptl != 32) {
				r = -EINVAL;
				snprintf(aerr, sizeof(aerr), "data key is not 32 bytes");
			}
			if (r == 0)
				memcpy(key, pt, 32);
			if (pt) {
				mbedtls_platform_zeroize(pt, ptl);
				free(pt);
			}
			if (r == 0)
				return 0;
			if (r != -ENOKEY && rc == -ENOKEY) {
				rc = r;
				memcpy(first, aerr, sizeof(first));
			}
		}
	if (rc != -ENOKEY)
		seterr(err, errlen, "cannot get sops data key: %s", first);
	else if (has_other_recipients(s))
		seterr(err, errlen, "cannot get sops data key: no age identity matches; "
				    "PGP/KMS/Vault recipients are not supported by cflux");
	else
		seterr(err, errlen, "cannot get sops data key: no age identity matches");
	return rc;
}

static const unsigned char mac_only_init[32] = {
	0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34,
	0xf3, 0xd1, 0x47, 0xbe, 0x0b, 0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f,
	0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
}; /* sops' MACOnlyEncryptedInitialization */

static int check_mac(const cJSON *s, const unsigned char key[32], const unsigned char sum[64],
		     char *err, size_t errlen)
{
	const char *mac = meta_str(s, "mac"), *lm = meta_str(s, "lastmodified");
	char hex[129], *pt = NULL, *type = NULL;
	size_t ptl = 0;
	int i, rc;

	for (i = 0; i < 64; i++)
		snprintf(hex + 2 * i, 3, "%02X", sum[i]);
	if (!mac || !lm) {
		seterr(err, errlen, "failed to verify sops data integrity: no MAC");
		return -EBADMSG;
	}
	rc = value_open(key, mac, lm, &pt, &ptl, &type);
	if (rc < 0) {
		seterr(err, errlen, "failed to verify sops data integrity: the MAC does not "
				    "authenticate");
		return -EBADMSG;
	}
	rc = ptl == 128 && !strcmp(pt, hex) ? 0 : -EBADMSG;
	if (rc < 0)
		seterr(err, errlen, "failed to verify sops data integrity: MAC mismatch");
	free(pt);
	free(type);
	return rc;
}

int sops_decrypt(cJSON *doc, const struct sops_identities *ids, unsigned flags, char *err,
		 size_t errlen)
{
	cJSON *s = cJSON_GetObjectItemCaseSensitive(doc, "sops"), *mo;
	struct sops_meta m = { 0 };
	struct walk w = { 0 };
	unsigned char key[32], sum[64];
	int rc;

	if (!cJSON_IsObject(doc) || !cJSON_IsObject(s)) {
		seterr(err, errlen, "not a sops document (no 'sops' map)");
		return -EINVAL;
	}
	for (mo = doc->child; mo; mo = mo->next)
		if (mo != s && mo->string && !strcmp(mo->string, "sops")) {
			/* JSON with the key twice: one would stay in the decrypted object */
			seterr(err, errlen, "the 'sops' key appears more than once");
			return -EINVAL;
		}
	if (cJSON_GetObjectItemCaseSensitive(s, "key_groups")) {
		seterr(err, errlen, "sops key_groups (Shamir secret sharing) are not supported by "
				    "cflux");
		return -ENOTSUP;
	}
	m.unenc_suffix = meta_str(s, "unencrypted_suffix");
	m.enc_suffix = meta_str(s, "encrypted_suffix");
	m.unenc_re = meta_str(s, "unencrypted_regex");
	m.enc_re = meta_str(s, "encrypted_regex");
	m.enc_comment_re = meta_str(s, "encrypted_comment_regex") &&
			   *meta_str(s, "encrypted_comment_regex");
	mo = cJSON_GetObjectItemCaseSensitive(s, "mac_only_encrypted");
	m.mac_only = cJSON_IsTrue(mo);
	rc = data_key(s, ids, key, err, errlen);
	if (rc < 0)
		return rc;
	w.m = &m;
	w.key = key;
	w.err = err;
	w.errlen = errlen;
	mbedtls_sha512_init(&w.sha);
	mbedtls_sha512_starts_ret(&w.sha, 0);
	if (m.mac_only)
		mbedtls_sha512_update_ret(&w.sha, mac_only_init, sizeof(mac_only_init));
	rc = walk_children(&w, doc, true);
	mbedtls_sha512_finish_ret(&w.sha, sum);
	mbedtls_sha512_free(&w.sha);
	if (!rc && (flags & SOPS_VERIFY_MAC))
		rc = check_mac(s, key, sum, err, errlen);
	mbedtls_platform_zeroize(key, sizeof(key));
	mbedtls_platform_zeroize(sum, sizeof(sum));
	if (rc < 0)
		return rc;
	cJSON_DeleteItemFromObjectCaseSensitive(doc, "sops");
	return 0;
}
