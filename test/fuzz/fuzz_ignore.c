/*
 * fuzz_ignore.c: fuzz target for the gitignore rules of lib/source/ignore.c.
 *
 * Input: rule text, then a NUL, then paths one per line.  Every path is
 * matched as a file and as a directory, and through the archive walk's
 * skip callback.  Invariants: no crash, no leak, no sanitizer report,
 * bounded time on "**"-heavy patterns.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "source/ignore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nul = memchr(data, 0, size);
	char *rules, *paths, *p, *line;
	struct ignore *ig;

	if (size > 16384)
		return 0;
	rules = xstrndup((const char *)data, nul ? (size_t)(nul - (const char *)data) : size);
	paths = nul ? xstrndup(nul + 1, size - (size_t)(nul - (const char *)data) - 1) :
		      xstrdup("a/b.yaml\n.git/x\ndeploy\n");
	ig = ignore_new(NULL, rules);
	for (p = paths; (line = strsep(&p, "\n"));) {
		if (!*line || line[0] == '/' || strlen(line) > 1024)
			continue;
		(void)ignore_match(ig, line, false);
		(void)ignore_match(ig, line, true);
		(void)ignore_skip(line, true, ig);
	}
	ignore_free(ig);
	free(rules);
	free(paths);
	return 0;
}
