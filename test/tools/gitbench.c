/*
 * gitbench: one fetch through lib/source/git.c, as the GitRepository
 * reconciler makes it, for `make bench-git` (test/bench/git.sh).
 *
 *   gitbench fetch [--archive OUT.tar.gz] [--ssh-key FILE --known-hosts FILE]
 *                  URL BRANCH CACHE_DIR CHECKOUT_DIR [LAST_COMMIT]
 *
 * CACHE_DIR is the bare cache src_git_fetch() keeps between fetches (made
 * when missing); CHECKOUT_DIR must exist and be empty.  LAST_COMMIT ("" or
 * absent for none) makes an unchanged branch a no-op after ls-remote.
 * --archive also packs the checkout as the reconciler does
 * (artifact_archive, default limits, nothing skipped); it is skipped when
 * the branch is unchanged.  --ssh-key and --known-hosts are read into
 * memory for an SSH URL.
 *
 * Prints one line of key=value pairs on stdout:
 *
 *   commit=<sha> revision=<rev> unchanged=<0|1> cache_reset=<0|1> fetch_s=<s> archive_s=<s>
 *   archive_bytes=<n> archive_files=<n> wall_s=<s> maxrss_kib=<n>
 *
 * times from CLOCK_MONOTONIC, the peak RSS from getrusage(RUSAGE_SELF)
 * (the process itself: ssh, when used, is a child and not counted).  On
 * failure: "gitbench: <message>" on stderr, exit 1; bad usage exits 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "base/buf.h"
#include "source/artifact.h"
#include "source/git.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The whole of a small file (a key, known_hosts) as a string, or NULL. */
static char *slurp(const char *file)
{
	struct buf b = BUF_INIT(1 << 20);
	FILE *f = fopen(file, "rb");
	char chunk[4096];
	size_t n;

	if (!f) {
		perror(file);
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_add(&b, chunk, n) < 0) {
			fprintf(stderr, "gitbench: '%s' is too large\n", file);
			fclose(f);
			buf_release(&b);
			return NULL;
		}
	fclose(f);
	if (buf_adds(&b, "") < 0) { /* an empty file still gives a string */
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

static int usage(void)
{
	fprintf(stderr, "usage: gitbench fetch [--archive OUT.tar.gz] [--ssh-key FILE "
		"--known-hosts FILE]\n"
		"                      URL BRANCH CACHE_DIR CHECKOUT_DIR [LAST_COMMIT]\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const struct artifact_limits lim = ARTIFACT_LIMITS_DEFAULT;
	struct src_git_opts o = { 0 };
	struct src_git_result res;
	struct artifact_info ai = { 0 };
	struct op_err err = OP_ERR_INIT;
	struct rusage ru;
	const char *archive = NULL;
	char *key = NULL, *kh = NULL;
	double t0, t1, t2;
	int i = 2, r = 1;

	if (argc < 2 || strcmp(argv[1], "fetch") != 0)
		return usage();
	for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		if (strcmp(argv[i], "--archive") == 0) {
			archive = argv[i + 1];
		} else if (strcmp(argv[i], "--ssh-key") == 0) {
			free(key);
			if (!(key = slurp(argv[i + 1])))
				return 1;
		} else if (strcmp(argv[i], "--known-hosts") == 0) {
			free(kh);
			if (!(kh = slurp(argv[i + 1])))
				return 1;
		} else {
			return usage();
		}
	}
	if (argc - i != 4 && argc - i != 5)
		return usage();
	o.url = argv[i];
	o.branch = argv[i + 1];
	o.cache_dir = argv[i + 2];
	o.checkout_dir = argv[i + 3];
	o.last_commit = argc - i == 5 && *argv[i + 4] ? argv[i + 4] : NULL;
	o.ssh_key = key;
	o.known_hosts = kh;
	o.timeout_s = 600; /* a figure, not a reconcile: let a slow run finish */

	t0 = now_s();
	if (src_git_fetch(&o, &res, &err) < 0) {
		fprintf(stderr, "gitbench: %s\n", err.msg);
		goto out;
	}
	t1 = now_s();
	if (archive && !res.unchanged &&
	    artifact_archive(o.checkout_dir, NULL, NULL, &lim, archive, &ai, &err) < 0) {
		fprintf(stderr, "gitbench: %s\n", err.msg);
		goto out;
	}
	t2 = now_s();
	getrusage(RUSAGE_SELF, &ru);
	printf("commit=%s revision=%s unchanged=%d cache_reset=%d fetch_s=%.3f archive_s=%.3f "
	       "archive_bytes=%llu archive_files=%llu wall_s=%.3f maxrss_kib=%ld\n",
	       res.commit, res.revision, res.unchanged, res.cache_reset, t1 - t0, t2 - t1,
	       (unsigned long long)ai.size, (unsigned long long)ai.files, t2 - t0, ru.ru_maxrss);
	r = 0;
out:
	free(key);
	free(kh);
	return r;
}
