/*
 * kustomize.c: `cflux kustomize build [--load-restrictor=...] [DIR]`.
 *
 * Prints what `kustomize build DIR` prints (DIR defaults to "."), built by
 * lib/kustomize with no network access, wherever it is run from: bases
 * and components may lie anywhere on disk ("../../base" from an overlay),
 * and files (resources, patches, generator inputs) obey kustomize's load
 * restriction, LoadRestrictionsRootOnly (in or below the kustomization's
 * directory) unless --load-restrictor says LoadRestrictionsNone.  On
 * failure the error goes to stderr, prefixed "Error: " as kustomize
 * prints it, and the exit status is 1; a bad command line exits 2.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/str.h"
#include "cli.h"
#include "kustomize/kustomize.h"
#include "base/banned.h"

static int kustomize_build(const char *dir, bool load_anywhere)
{
	struct kz_opts o = KZ_OPTS_INIT;
	struct op_err err = OP_ERR_INIT;
	struct buf out = BUF_INIT((size_t)1 << 31);
	cJSON *list = NULL;
	int r;

	o.whole_fs = true;
	o.load_anywhere = load_anywhere;
	r = kz_build_opts(NULL, dir, &o, &list, &err);
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

/* The arguments after "kustomize build". */
int cli_kustomize_build(int argc, char **argv)
{
	const char *dir = NULL, *lr = "LoadRestrictionsRootOnly";

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (str_startswith(a, "--load-restrictor=")) {
			lr = a + strlen("--load-restrictor=");
		} else if (streq(a, "--load-restrictor") && i + 1 < argc) {
			lr = argv[++i];
		} else if (streq(a, "--enable-helm") || str_startswith(a, "--enable-helm=") ||
			   str_startswith(a, "--helm-")) {
			fprintf(stderr, "Error: %s: helm charts are not supported yet "
					"(helmCharts will be built by lib/helm)\n", a);
			return 2;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "Error: unknown flag: %s\n", a);
			return cli_usage(stderr);
		} else if (!dir) {
			dir = a;
		} else {
			return cli_usage(stderr);
		}
	}
	if (!streq(lr, "LoadRestrictionsRootOnly") && !streq(lr, "LoadRestrictionsNone")) {
		fprintf(stderr, "Error: illegal flag value --load-restrictor %s; legal values: "
				"[LoadRestrictionsRootOnly LoadRestrictionsNone]\n", lr);
		return 2;
	}
	return kustomize_build(dir ? dir : ".", streq(lr, "LoadRestrictionsNone"));
}
