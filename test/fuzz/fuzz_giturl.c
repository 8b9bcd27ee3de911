/*
 * fuzz_giturl.c: fuzz target for the URL reading of lib/source/git.c: a
 * remote's known_hosts name, and a .gitmodules URL (from the fetched
 * repository, so outside input) resolved against the superproject's.
 * The input is "<parent>\n<relative>".  Invariants: no crash, no leak;
 * the host name is NUL-terminated within its buffer; a resolved "./" or
 * "../" URL keeps the parent's scheme and host.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "source/git.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in, *nl, *got, hp[64];
	const char *parent, *rel, *scheme;

	if (size > 4096)
		return 0;
	in = xstrndup((const char *)data, size);
	nl = strchr(in, '\n');
	parent = in;
	rel = nl ? nl + 1 : "../x.git";
	if (nl)
		*nl = '\0';
	src_git_host_port(parent, hp, sizeof(hp));
	if (strnlen(hp, sizeof(hp)) == sizeof(hp))
		abort();
	got = src_git_submodule_url(parent, rel);
	scheme = strstr(parent, "://");
	if ((!strncmp(rel, "./", 2) || !strncmp(rel, "../", 3)) && scheme) {
		size_t keep = (size_t)(scheme - parent) + 3;

		keep += strcspn(parent + keep, "/");
		if (strncmp(got, parent, keep) != 0)
			abort();
	}
	free(got);
	free(in);
	return 0;
}
