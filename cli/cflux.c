/*
 * cflux.c: the `cflux` command-line tool.
 *
 *   cflux kustomize build [DIR]
 *   cflux push artifact | pull artifact | list artifacts ...   (cli/artifact.c)
 *
 * `kustomize build` prints what `kustomize build DIR` prints (DIR defaults
 * to "."), built by lib/kustomize with no network access.  The source root that paths may
 * not leave is the current directory when DIR lies below it, else DIR
 * itself.  On failure the error goes to stderr, prefixed "Error: " as
 * kustomize prints it, and the exit status is 1.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/str.h"
#include "cli.h"
#include "kustomize/kustomize.h"
#include "base/banned.h"

int cli_usage(FILE *f)
{
	fputs("usage: cflux kustomize build [DIR]\n"
	      "       cflux push artifact oci://HOST/REPO[:TAG] --path=DIR|FILE --source=URL "
	      "--revision=REV\n"
	      "             [--annotations=K=V]... [--ignore-paths=P,...] [--reproducible] "
	      "[--output=json|yaml]\n"
	      "       cflux pull artifact oci://HOST/REPO[:TAG|@DIGEST] --output=DIR\n"
	      "       cflux list artifacts oci://HOST/REPO [--filter-regex=RE] "
	      "[--filter-semver=CONSTRAINT]\n"
	      "  registry flags: --creds=USER[:PASSWORD] --insecure-registry --provider=generic "
	      "--timeout=5m\n"
	      "                  --ca-file=PEM --cert-file=PEM --key-file=PEM\n", f);
	return f == stdout ? 0 : 2;
}

static int kustomize_build(const char *dir)
{
	char cwd[PATH_MAX], abs[PATH_MAX];
	const char *root, *rel;
	struct op_err err = OP_ERR_INIT;
	struct buf out = BUF_INIT((size_t)1 << 31);
	cJSON *list = NULL;
	int r;

	if (!getcwd(cwd, sizeof(cwd)) || !realpath(dir, abs)) {
		fprintf(stderr, "Error: '%s': %s\n", dir, op_strerror(errno));
		return 1;
	}
	/* Below the working directory: that is the root; else DIR itself. */
	if (str_startswith(abs, cwd) && (abs[strlen(cwd)] == '/' || abs[strlen(cwd)] == '\0')) {
		root = cwd;
		rel = abs[strlen(cwd)] ? abs + strlen(cwd) + 1 : ".";
		if (streq(cwd, "/"))
			rel = abs + 1;
	} else {
		root = abs;
		rel = ".";
	}
	r = kz_build(root, rel, NULL, &list, &err);
	if (r < 0) {
		fprintf(stderr, "Error: %s\n", err.msg);
		return 1;
	}
	r = kz_emit(list, &out);
	cJSON_Delete(list);
	if (r < 0) {
		fprintf(stderr, "Error: output too large\n");
		buf_release(&out);
		return 1;
	}
	if (fwrite(out.buf, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
		buf_release(&out);
		return 1;
	}
	buf_release(&out);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && (streq(argv[1], "-h") || streq(argv[1], "--help")))
		return cli_usage(stdout);
	if (argc >= 3 && streq(argv[1], "kustomize") && streq(argv[2], "build") && argc <= 4)
		return kustomize_build(argc == 4 ? argv[3] : ".");
	if (argc >= 3 && ((streq(argv[1], "push") && streq(argv[2], "artifact")) ||
			  (streq(argv[1], "pull") && streq(argv[2], "artifact")) ||
			  (streq(argv[1], "list") && streq(argv[2], "artifacts"))))
		return cli_artifact(argc - 1, argv + 1);
	return cli_usage(stderr);
}
