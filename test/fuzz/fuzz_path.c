/*
 * fuzz_path.c: fuzz target for path_clean() and path_join_safe().
 *
 * The input is used as the relative path under a fixed root that does not
 * exist (so no symlinks are met).  Invariants checked: a successful join
 * is "<root>" or "<root>/..." with no "." or ".." component and no "//";
 * cleaning is idempotent.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char root[] = "/nonexistent-cflux-fuzz-root";
	char *rel, *out = NULL, *c1, *c2;
	struct op_err e;

	if (size > 8192)
		return 0;
	rel = xstrndup((const char *)data, size);
	c1 = path_clean(rel);
	c2 = path_clean(c1);
	if (strcmp(c1, c2) != 0)
		abort();
	if (path_join_safe(root, rel, &out, &e) == 0) {
		const char *t = out + strlen(root);

		if (strncmp(out, root, strlen(root)) != 0 || (*t && *t != '/'))
			abort();
		if (strstr(t, "/../") || strstr(t, "//") || strstr(t, "/./") ||
		    (strlen(t) >= 3 && strcmp(t + strlen(t) - 3, "/..") == 0))
			abort();
		free(out);
	}
	free(c1);
	free(c2);
	free(rel);
	return 0;
}
