/*
 * sigverify.c: commit and tag signatures, checked by gpgv and ssh-keygen
 * (see sigverify.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "base/buf.h"
#include "base/macro.h"
#include "base/path.h"
#include "base/str.h"
#include "source/sigverify.h"
#include "source/transport.h"
#include "base/banned.h"

extern char **environ;

#define TOOL_TIMEOUT_S 30
#define TOOL_OUTPUT_MAX (64 * 1024)
#define PGP_SIG_BEGIN "-----BEGIN PGP SIGNATURE-----"
#define SSH_SIG_BEGIN "-----BEGIN SSH SIGNATURE-----"
#define X509_SIG_BEGIN "-----BEGIN SIGNED MESSAGE-----"
#define PGP_KEY_BEGIN "-----BEGIN PGP PUBLIC KEY BLOCK-----"
#define PGP_KEY_END "-----END PGP PUBLIC KEY BLOCK-----"

static const char *skip_space(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	return s;
}

const char *sig_type(const char *sig)
{
	const char *s = skip_space(sig ? sig : "");

	if (str_startswith(s, PGP_SIG_BEGIN))
		return "openpgp";
	if (str_startswith(s, SSH_SIG_BEGIN))
		return "ssh";
	if (str_startswith(s, X509_SIG_BEGIN))
		return "x509";
	if (!sig || !*sig)
		return "empty";
	return "unknown";
}

/* The next line of `*p` (without its end), advancing *p; NULL at the end. */
static const char *next_line(const char **p, size_t *len)
{
	const char *s = *p, *nl;

	if (!*s)
		return NULL;
	nl = strchr(s, '\n');
	*len = nl ? (size_t)(nl - s) : strlen(s);
	*p = nl ? nl + 1 : s + *len;
	while (*len && (s[*len - 1] == '\r' || s[*len - 1] == ' ' || s[*len - 1] == '\t'))
		(*len)--;
	return s;
}

/*
 * Append the binary packets of every armored public key block of `text`
 * to `out` (gpgv reads binary key rings only).  0, or -EINVAL with `why`
 * filled when there is no readable block.
 */
static int dearmor(const char *text, struct buf *out, char *why, size_t why_size)
{
	const char *p = text, *l;
	size_t len, blocks = 0;

	while ((l = next_line(&p, &len))) {
		struct buf b64 = BUF_INIT(1 << 20);
		bool body = false, done = false;
		char *bin = NULL;
		size_t n = 0;
		int r;

		if (len != strlen(PGP_KEY_BEGIN) || memcmp(l, PGP_KEY_BEGIN, len))
			continue;
		while ((l = next_line(&p, &len))) {
			if (len >= strlen(PGP_KEY_END) && !memcmp(l, PGP_KEY_END, strlen(PGP_KEY_END))) {
				done = true;
				break;
			}
			if (!body) {
				/* Armor headers ("Comment: ...") end at the first blank line. */
				if (len == 0 || !memchr(l, ':', len))
					body = true;
				if (len == 0)
					continue;
			}
			if (l[0] == '=') /* the CRC-24 line; gpgv checks the packets */
				continue;
			if (buf_add(&b64, l, len) < 0)
				break;
		}
		if (!done || b64_decode(b64.buf ? b64.buf : "", &bin, &n) < 0 || n == 0) {
			snprintf(why, why_size, "a public key block is %s",
				 done ? "not valid base64" : "not terminated");
			buf_release(&b64);
			free(bin);
			return -EINVAL;
		}
		r = buf_add(out, bin, n);
		buf_release(&b64);
		free(bin);
		if (r < 0) {
			snprintf(why, why_size, "the key ring is too large");
			return -EFBIG;
		}
		blocks++;
	}
	if (!blocks) {
		snprintf(why, why_size, "no armored public key block found");
		return -EINVAL;
	}
	return 0;
}

/* The private directory of one check and the files in it. */
struct files {
	char dir[PATH_MAX_LEN];
	char sig[PATH_MAX_LEN], payload[PATH_MAX_LEN], keys[PATH_MAX_LEN];
};

/*
 * Run argv[0] (from PATH) with stdin from `in` (a file), stdout collected
 * in `out` (at most TOOL_OUTPUT_MAX) and stderr discarded: what we parse
 * (gpgv's status lines, ssh-keygen's verdict) is on stdout, where no
 * signer-chosen text can start a line.  Returns the exit status
 * (0..255), or a negative errno with `err` set (-ETIMEDOUT: killed after
 * TOOL_TIMEOUT_S).
 */
static int run_tool(char *const argv[], const char *in, struct buf *out, struct op_err *err)
{
	posix_spawn_file_actions_t fa;
	uint64_t deadline = src_now_ms() + TOOL_TIMEOUT_S * 1000ull;
	int p[2], r, status = 0;
	bool timed_out = false;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return op_err_set(err, -errno, "cannot run %s: %s", argv[0], op_strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, in, O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (r != 0) {
		close(p[0]);
		return op_err_set(err, -r, "cannot run %s: %s", argv[0], op_strerror(r));
	}
	for (;;) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		int left = src_wait_ms(deadline, TOOL_TIMEOUT_S * 1000);
		char chunk[4096];
		ssize_t n;

		if (left <= 0) {
			timed_out = true;
			kill(pid, SIGKILL);
			break;
		}
		r = poll(&pfd, 1, left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue; /* the deadline check above ends it */
		n = read(p[0], chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out->len + (size_t)n <= TOOL_OUTPUT_MAX)
			(void)buf_add(out, chunk, (size_t)n);
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (timed_out)
		return op_err_set(err, -ETIMEDOUT, "%s did not finish in %d s", argv[0],
				  TOOL_TIMEOUT_S);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The value of the status line "[GNUPG:] <kw> ..." in gpgv's output, or NULL. */
static const char *status_line(const char *out, const char *kw, size_t *len)
{
	const char *p = out, *l;

	while ((l = next_line(&p, len))) {
		size_t k = strlen("[GNUPG:] ") + strlen(kw);

		if (*len > k && str_startswith(l, "[GNUPG:] ") &&
		    !memcmp(l + strlen("[GNUPG:] "), kw, strlen(kw)) && l[k] == ' ') {
			*len -= k + 1;
			return l + k + 1;
		}
	}
	return NULL;
}

static int verify_pgp(struct files *f, const struct sig_keys *k, char *signer, size_t size,
		      struct op_err *err)
{
	struct buf ring = BUF_INIT(64 << 20), out = BUF_INIT(TOOL_OUTPUT_MAX);
	char why[128] = "", home[PATH_MAX_LEN];
	const char *v;
	size_t i, tried = 0, len;
	int r;

	for (i = 0; i < k->n_pgp; i++) {
		char w[128];

		if (dearmor(k->pgp[i], &ring, w, sizeof(w)) == 0)
			tried++;
		else if (!why[0])
			snprintf(why, sizeof(why), "%s", w);
	}
	if (!tried) {
		buf_release(&ring);
		return op_err_set(err, -EINVAL, "unable to read armored key ring: %s", why);
	}
	snprintf(home, sizeof(home), "%s/gnupg", f->dir);
	r = path_write_file(f->keys, ring.buf, ring.len, 0600);
	buf_release(&ring);
	if (r == 0 && mkdir(home, 0700) < 0)
		r = -errno;
	if (r < 0)
		return op_err_set(err, r, "cannot write the key ring: %s", op_strerror(r));
	{
		char *argv[] = { (char *)"gpgv", (char *)"--homedir", home, (char *)"--status-fd",
				 (char *)"1", (char *)"--keyring", f->keys, f->sig, f->payload, NULL };

		r = run_tool(argv, "/dev/null", &out, err);
	}
	if (r < 0) {
		buf_release(&out);
		return r;
	}
	/*
	 * Good only with GOODSIG (not EXPKEYSIG/REVKEYSIG) and VALIDSIG, whose
	 * last field is the primary key's fingerprint: its last 16 digits are
	 * the key ID Flux reports.
	 */
	if (r == 0 && out.buf && status_line(out.buf, "GOODSIG", &len) &&
	    (v = status_line(out.buf, "VALIDSIG", &len))) {
		const char *last = v + len;

		while (last > v && last[-1] != ' ')
			last--;
		if (v + len - last >= 16) {
			snprintf(signer, size, "%.16s", v + len - 16);
			buf_release(&out);
			return 0;
		}
	}
	buf_release(&out);
	return op_err_set(err, -EBADMSG,
			  "unable to verify payload with any of the given key rings: no matching key");
}

/* The "type base64" of an authorized_keys line (options before it skipped), or -1. */
static int key_of_line(const char *l, size_t len, struct buf *out)
{
	static const char *const types[] = { "ssh-", "ecdsa-sha2-", "sk-ssh-", "sk-ecdsa-" };
	const char *p = l, *end = l + len;

	while (p < end) {
		const char *tok = p, *te, *b, *be;
		bool key = false;
		size_t i;

		while (tok < end && (*tok == ' ' || *tok == '\t'))
			tok++;
		te = tok;
		while (te < end && *te != ' ' && *te != '\t')
			te++;
		for (i = 0; i < ARRAY_SIZE(types); i++)
			if ((size_t)(te - tok) > strlen(types[i]) &&
			    !memcmp(tok, types[i], strlen(types[i])))
				key = true;
		b = te;
		while (b < end && (*b == ' ' || *b == '\t'))
			b++;
		be = b;
		while (be < end && *be != ' ' && *be != '\t')
			be++;
		if (key && be > b) {
			buf_addf(out, "cflux %.*s %.*s\n", (int)(te - tok), tok, (int)(be - b), b);
			return 0;
		}
		if (te == tok)
			break;
		p = te;
	}
	return -1;
}

static int verify_ssh(struct files *f, const struct sig_keys *k, char *signer, size_t size,
		      struct op_err *err)
{
	struct buf allowed = BUF_INIT(16 << 20), out = BUF_INIT(TOOL_OUTPUT_MAX);
	char why[160] = "";
	const char *v;
	size_t i, tried = 0;
	int r;

	for (i = 0; i < k->n_ssh; i++) {
		const char *p = k->ssh[i], *l;
		size_t len, mark = allowed.len;
		bool bad = false;

		while (!bad && (l = next_line(&p, &len))) {
			const char *s = l;

			while (s < l + len && (*s == ' ' || *s == '\t'))
				s++;
			if (s == l + len || *s == '#')
				continue;
			if (key_of_line(s, len - (size_t)(s - l), &allowed) < 0) {
				if (!why[0])
					snprintf(why, sizeof(why), "no public key in the line '%.*s'",
						 (int)MIN(len, (size_t)60), l);
				bad = true;
			}
		}
		if (bad)
			buf_truncate(&allowed, mark); /* the whole text is refused, as Flux */
		else
			tried++;
	}
	if (!tried) {
		buf_release(&allowed);
		return op_err_set(err, -EINVAL, "unable to parse authorized keys: %s", why);
	}
	r = path_write_file(f->keys, allowed.buf, allowed.len, 0600);
	buf_release(&allowed);
	if (r < 0)
		return op_err_set(err, r, "cannot write the allowed signers: %s", op_strerror(r));
	{
		char *argv[] = { (char *)"ssh-keygen", (char *)"-Y", (char *)"verify", (char *)"-f",
				 f->keys, (char *)"-I", (char *)"cflux", (char *)"-n", (char *)"git",
				 (char *)"-s", f->sig, NULL };

		r = run_tool(argv, f->payload, &out, err);
	}
	if (r < 0) {
		buf_release(&out);
		return r;
	}
	/* "Good "git" signature for cflux with ED25519 key SHA256:..." */
	if (r == 0 && out.buf && str_startswith(out.buf, "Good \"git\" signature") &&
	    (v = strstr(out.buf, " key SHA256:"))) {
		size_t n = strcspn(v + 5, " \r\n");

		snprintf(signer, size, "%.*s", (int)n, v + 5);
		buf_release(&out);
		return 0;
	}
	buf_release(&out);
	return op_err_set(err, -EBADMSG, "unable to verify payload with any of the given "
			  "authorized keys: no matching key");
}

int sig_verify(const char *sig, const void *payload, size_t len, const struct sig_keys *keys,
	       const char *what, const char *tmp_root, char *signer, size_t signer_size,
	       struct op_err *err)
{
	const char *type = sig_type(sig), *tmp = tmp_root ? tmp_root : getenv("TMPDIR");
	bool pgp = streq(type, "openpgp");
	struct files f;
	int r;

	if (!pgp && !streq(type, "ssh"))
		return op_err_set(err, -EBADMSG, "unsupported signature type: %s", type);
	if (pgp && !keys->n_pgp)
		return op_err_set(err, -ENOKEY, "PGP signature detected but no PGP public keys "
				  "found in secret (keys with .asc suffix)");
	if (!pgp && !keys->n_ssh)
		return op_err_set(err, -ENOKEY, "SSH signature detected but no SSH public keys "
				  "found in secret (keys with .sshpub suffix)");
	if (!len) {
		r = op_err_set(err, -EBADMSG, "unable to verify payload: payload is empty");
		goto out;
	}
	snprintf(f.dir, sizeof(f.dir), "%s/cflux-verify-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f.dir))
		return op_err_set(err, -errno, "cannot create a private directory: %s",
				  op_strerror(errno));
	snprintf(f.sig, sizeof(f.sig), "%s/sig", f.dir);
	snprintf(f.payload, sizeof(f.payload), "%s/payload", f.dir);
	snprintf(f.keys, sizeof(f.keys), "%s/keys", f.dir);
	r = path_write_file(f.sig, sig, strlen(sig), 0600);
	if (r == 0)
		r = path_write_file(f.payload, payload, len, 0600);
	if (r < 0)
		op_err_set(err, r, "cannot write to a private directory: %s", op_strerror(r));
	else if (pgp)
		r = verify_pgp(&f, keys, signer, signer_size, err);
	else
		r = verify_ssh(&f, keys, signer, signer_size, err);
	path_remove_all(f.dir);
out:
	if (r < 0)
		op_err_prefix(err, pgp ? "unable to verify %s" : "unable to verify %s SSH signature",
			      what);
	return r;
}
