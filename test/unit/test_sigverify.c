/*
 * test_sigverify.c: lib/source/sigverify.c against signatures made by the
 * real tools — gpg for OpenPGP, ssh-keygen -Y sign for SSH — over the
 * bytes of a commit, as git signs them.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "harness.h"
#include "source/sigverify.h"

static const char payload[] =
	"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
	"author cflux test <test@cflux.invalid> 1767225600 +0000\n"
	"committer cflux test <test@cflux.invalid> 1767225600 +0000\n\nsigned\n";

static char dir[4096];

/* Run a shell command in the fixture directory; fail the test if it fails. */
static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[4096], full[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "cd '%s' && export GNUPGHOME=\"$PWD/gnupg\" && (%s) "
		 ">/dev/null 2>&1", dir, cmd);
	if (system(full) != 0)
		harness__fail(__FILE__, __LINE__, "command failed: %s", cmd);
}

static char *slurp(const char *name)
{
	char path[4200];
	struct buf b = BUF_INIT(1 << 20);
	char chunk[4096];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		harness__fail(__FILE__, __LINE__, "cannot read %s", path);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ASSERT_OK(buf_add(&b, chunk, n));
	fclose(f);
	return buf_detach(&b, NULL);
}

/* Keys and signatures, made once: two OpenPGP keys (one expired), two SSH keys. */
static void fixtures(void)
{
	static bool made;
	char p[4200];
	FILE *f;

	if (made)
		return;
	snprintf(dir, sizeof(dir), "%s/sigverify", harness_tmpdir());
	snprintf(p, sizeof(p), "rm -rf '%s' && mkdir -p '%s/gnupg' && chmod 700 '%s/gnupg'", dir,
		 dir, dir);
	ASSERT_EQ(system(p), 0);
	snprintf(p, sizeof(p), "%s/payload", dir);
	f = fopen(p, "w");
	ASSERT_NOT_NULL(f);
	fputs(payload, f);
	fclose(f);
#define GPG "gpg --batch --pinentry-mode loopback --passphrase ''"
	sh(GPG " --quick-gen-key 'Alice <alice@cflux.invalid>' rsa2048 sign never");
	sh(GPG " --armor --export alice@cflux.invalid > alice.asc");
	sh(GPG " --with-colons --list-keys alice@cflux.invalid | awk -F: '/^fpr/ {print $10; exit}'"
	       " > alice.fpr");
	sh(GPG " --local-user alice@cflux.invalid --armor --detach-sign -o alice.sig payload");
	sh(GPG " --quick-gen-key 'Bob <bob@cflux.invalid>' ed25519 sign never");
	sh(GPG " --armor --export bob@cflux.invalid > bob.asc");
	/* A key that expired in 2020, with a signature made while it was valid. */
	sh(GPG " --faked-system-time 20200101T000000 --quick-gen-key 'Old <old@cflux.invalid>'"
	       " rsa2048 sign 1d");
	sh(GPG " --armor --export old@cflux.invalid > old.asc");
	sh(GPG " --faked-system-time 20200101T001000 --local-user old@cflux.invalid --armor"
	       " --detach-sign -o old.sig payload");
	sh("ssh-keygen -q -t ed25519 -N '' -C carol -f carol && "
	   "ssh-keygen -Y sign -n git -f carol payload && mv payload.sig carol.sig && "
	   "ssh-keygen -lf carol.pub | cut -d' ' -f2 > carol.fp");
	sh("ssh-keygen -q -t ecdsa -N '' -C dave -f dave && "
	   "ssh-keygen -Y sign -n file -f dave payload && mv payload.sig dave-file.sig");
#undef GPG
	made = true;
}

static int verify(const char *sig, const char *const *pgp, size_t n_pgp,
		  const char *const *ssh, size_t n_ssh, char *signer, struct op_err *err)
{
	struct sig_keys k = { .pgp = pgp, .n_pgp = n_pgp, .ssh = ssh, .n_ssh = n_ssh };

	return sig_verify(sig, payload, strlen(payload), &k, "Git commit", dir, signer, 128, err);
}

TEST(kinds_by_armor)
{
	ASSERT_STREQ(sig_type("-----BEGIN PGP SIGNATURE-----\nx"), "openpgp");
	ASSERT_STREQ(sig_type("\n -----BEGIN SSH SIGNATURE-----\nx"), "ssh");
	ASSERT_STREQ(sig_type("-----BEGIN SIGNED MESSAGE-----\n"), "x509");
	ASSERT_STREQ(sig_type(""), "empty");
	ASSERT_STREQ(sig_type(NULL), "empty");
	ASSERT_STREQ(sig_type("gpgsig"), "unknown");
}

TEST(pgp_good_signature_names_the_primary_key)
{
	char *sig, *alice, *bob, *fpr, signer[128];
	struct op_err e;

	fixtures();
	sig = slurp("alice.sig");
	alice = slurp("alice.asc");
	bob = slurp("bob.asc");
	fpr = slurp("alice.fpr");
	{
		const char *rings[] = { bob, alice };

		ASSERT_OK(verify(sig, rings, 2, NULL, 0, signer, &e));
	}
	ASSERT_EQ(strlen(signer), 16);
	ASSERT(!strncmp(signer, fpr + strlen(fpr) - 17, 16)); /* fpr ends with "\n" */
	free(sig);
	free(alice);
	free(bob);
	free(fpr);
}

TEST(pgp_refused_for_another_key_a_changed_payload_an_expired_key)
{
	char *sig, *alice, *bob, *old_sig, *old, signer[128];
	struct sig_keys k = { .n_pgp = 1 };
	struct op_err e;

	fixtures();
	sig = slurp("alice.sig");
	alice = slurp("alice.asc");
	bob = slurp("bob.asc");
	old_sig = slurp("old.sig");
	old = slurp("old.asc");
	const char *only_bob[] = { bob }, *rings[] = { alice };

	k.pgp = rings;
	ASSERT_EQ(verify(sig, only_bob, 1, NULL, 0, signer, &e), -EBADMSG);
	ASSERT_STREQ(e.msg, "unable to verify Git commit: unable to verify payload with any of "
			    "the given key rings: no matching key");
	ASSERT_EQ(sig_verify(sig, "tampered", 8, &k, "Git tag", dir, signer, sizeof(signer), &e),
		  -EBADMSG);
	ASSERT_CONTAINS(e.msg, "unable to verify Git tag: ");
	{
		const char *o[] = { old };

		ASSERT_EQ(verify(old_sig, o, 1, NULL, 0, signer, &e), -EBADMSG);
	}
	free(sig);
	free(alice);
	free(bob);
	free(old_sig);
	free(old);
}

TEST(pgp_key_rings_missing_or_unreadable)
{
	const char *junk[] = { "not a key ring" }, *ssh[] = { "ssh-ed25519 AAAA" };
	char *sig, *alice, signer[128];
	struct op_err e;

	fixtures();
	sig = slurp("alice.sig");
	alice = slurp("alice.asc");
	const char *both[] = { "not a key ring", alice };

	ASSERT_EQ(verify(sig, NULL, 0, ssh, 1, signer, &e), -ENOKEY);
	ASSERT_STREQ(e.msg, "PGP signature detected but no PGP public keys found in secret (keys "
			    "with .asc suffix)");
	ASSERT_EQ(verify(sig, junk, 1, NULL, 0, signer, &e), -EINVAL);
	ASSERT_CONTAINS(e.msg, "unable to read armored key ring");
	/* An unreadable ring does not hide a good one. */
	ASSERT_OK(verify(sig, both, 2, NULL, 0, signer, &e));
	free(sig);
	free(alice);
}

TEST(ssh_good_signature_names_the_fingerprint)
{
	char *sig, *pub, *dave, *fp, *keys, signer[128];
	struct op_err e;

	fixtures();
	sig = slurp("carol.sig");
	pub = slurp("carol.pub");
	dave = slurp("dave.pub");
	fp = slurp("carol.fp");
	/* Comments, blank lines and options before the key, as in authorized_keys. */
	keys = xasprintf("# trusted\n\n%s\nno-pty,from=\"10.0.0.0/8\" %s", dave, pub);
	{
		const char *k[] = { keys };

		ASSERT_OK(verify(sig, NULL, 0, k, 1, signer, &e));
	}
	fp[strcspn(fp, "\n")] = '\0';
	ASSERT_STREQ(signer, fp);
	ASSERT(!strncmp(signer, "SHA256:", 7));
	free(sig);
	free(pub);
	free(dave);
	free(fp);
	free(keys);
}

TEST(ssh_refused_for_another_key_another_namespace_no_keys)
{
	const char *junk[] = { "hello" }, *rings[] = { "x" };
	char *sig, *dave_sig, *carol, *dave, signer[128];
	struct op_err e;

	fixtures();
	sig = slurp("carol.sig");
	dave_sig = slurp("dave-file.sig");
	carol = slurp("carol.pub");
	dave = slurp("dave.pub");
	const char *only_dave[] = { dave }, *only_carol[] = { carol };

	ASSERT_EQ(verify(sig, NULL, 0, only_dave, 1, signer, &e), -EBADMSG);
	ASSERT_STREQ(e.msg, "unable to verify Git commit SSH signature: unable to verify payload "
			    "with any of the given authorized keys: no matching key");
	/* Signed by dave, but for the "file" namespace, not "git". */
	ASSERT_EQ(verify(dave_sig, NULL, 0, only_dave, 1, signer, &e), -EBADMSG);
	ASSERT_EQ(verify(sig, rings, 1, NULL, 0, signer, &e), -ENOKEY);
	ASSERT_STREQ(e.msg, "SSH signature detected but no SSH public keys found in secret (keys "
			    "with .sshpub suffix)");
	ASSERT_EQ(verify(sig, NULL, 0, junk, 1, signer, &e), -EINVAL);
	ASSERT_CONTAINS(e.msg, "unable to parse authorized keys");
	ASSERT_OK(verify(sig, NULL, 0, only_carol, 1, signer, &e));
	free(sig);
	free(dave_sig);
	free(carol);
	free(dave);
}

TEST(unsigned_and_unsupported)
{
	const char *rings[] = { "x" };
	char signer[128];
	struct op_err e;

	fixtures();
	ASSERT_EQ(verify(NULL, rings, 1, NULL, 0, signer, &e), -EBADMSG);
	ASSERT_STREQ(e.msg, "unsupported signature type: empty");
	ASSERT_EQ(verify("-----BEGIN SIGNED MESSAGE-----\nMIIx\n-----END SIGNED MESSAGE-----\n",
			 rings, 1, NULL, 0, signer, &e), -EBADMSG);
	ASSERT_STREQ(e.msg, "unsupported signature type: x509");
}
