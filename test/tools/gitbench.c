/*
 * gitbench: one fetch through lib/source/git.c, as the GitRepository
 * reconciler makes it, for `make bench-git` (test/bench/git.sh).
 *
 *   gitbench URL BRANCH CACHE_DIR CHECKOUT_DIR [LAST_COMMIT [ARCHIVE.tar.gz]]
 *
 * CHECKOUT_DIR must exist and be empty; LAST_COMMIT may be "" for none.
 * With ARCHIVE, the checkout is also packed as an artifact.  Prints
 * "commit=<sha> unchanged=<0|1> files=<n>" and exits non-zero with the
 * error on stderr on failure.  Time and memory are measured from outside.
 */
#include <stdio.h>
#include <string.h>

#include "source/artifact.h"
#include "source/git.h"

int main(int argc, char **argv)
{
	static const struct artifact_limits lim = ARTIFACT_LIMITS_DEFAULT;
	struct src_git_opts o = { 0 };
	struct src_git_result res;
	struct artifact_info ai = { 0 };
	struct op_err err = { 0 };

	if (argc < 5 || argc > 7) {
		fprintf(stderr, "usage: gitbench URL BRANCH CACHE_DIR CHECKOUT_DIR [LAST_COMMIT "
			"[ARCHIVE]]\n");
		return 2;
	}
	o.url = argv[1];
	o.branch = argv[2];
	o.cache_dir = argv[3];
	o.checkout_dir = argv[4];
	o.last_commit = argc > 5 && *argv[5] ? argv[5] : NULL;
	o.timeout_s = 600;
	if (src_git_fetch(&o, &res, &err) < 0) {
		fprintf(stderr, "gitbench: %s\n", err.msg);
		return 1;
	}
	if (argc > 6 && !res.unchanged &&
	    artifact_archive(argv[4], NULL, NULL, &lim, argv[6], &ai, &err) < 0) {
		fprintf(stderr, "gitbench: %s\n", err.msg);
		return 1;
	}
	printf("commit=%s unchanged=%d files=%llu\n", res.commit, res.unchanged,
	       (unsigned long long)ai.files);
	return 0;
}
