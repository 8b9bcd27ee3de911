/*
 * fuzz_kustomize.c: fuzz target for lib/kustomize.
 *
 * The input is a tiny source tree in one file: sections "=== <path>\n"
 * followed by that file's content.  The tree is written to a fresh
 * temporary directory, built with tight limits, and the result printed;
 * a crash, a leak (under ASan) or output that does not parse back
 * aborts.  The root must confine everything, so any path is fair game.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "fuzz.h"
#include "kustomize/kustomize.h"
#include "yj/yj.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void write_file(const char *root, const char *rel, const char *text, size_t n)
{
	char *p, *s;
	FILE *f;

	if (!*rel || strstr(rel, "..") || rel[0] == '/' || strlen(rel) > 200)
		return;
	p = xasprintf("%s/%s", root, rel);
	for (s = p + strlen(root) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(p, 0700);
		*s = '/';
	}
	f = fopen(p, "w");
	if (f) {
		fwrite(text, 1, n, f);
		fclose(f);
	}
	free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char root[] = "/tmp/cflux-fuzz-kz-XXXXXX";
	char *in = xmalloc(size + 1), *p, *cmd;
	struct kz_limits lim = { .max_files = 50, .max_bytes = 1 << 20, .max_depth = 8 };
	struct op_err err;
	cJSON *list = NULL;

	memcpy(in, data, size);
	in[size] = '\0';
	if (!mkdtemp(root)) {
		free(in);
		return 0;
	}
	for (p = strstr(in, "=== "); p;) {
		char *name = p + 4, *nl = strchr(name, '\n'), *next;

		if (!nl)
			break;
		*nl = '\0';
		next = strstr(nl + 1, "\n=== ");
		write_file(root, name, nl + 1, next ? (size_t)(next - nl) : strlen(nl + 1));
		p = next ? next + 1 : NULL;
	}
	if (kz_build(root, ".", &lim, &list, &err) == 0) {
		struct buf out = BUF_INIT(1 << 24);

		if (kz_emit(list, &out) == 0)
			fuzz_yaml_reads_back(&out);
		buf_release(&out);
		cJSON_Delete(list);
	}
	cmd = xasprintf("rm -rf '%s'", root);
	if (system(cmd) != 0)
		abort();
	free(cmd);
	free(in);
	return 0;
}
