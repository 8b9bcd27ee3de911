/*
 * replay.c: run a fuzz target over its corpus without libFuzzer.
 *
 * libgit2's standalone-fuzzer idea: every fuzz_<x>.c defines
 * LLVMFuzzerTestOneInput(); linked with this file it becomes a plain
 * program that feeds each file of the given directories (or files) to the
 * target once.  `make test` runs it under gcc (and under the sanitizers
 * with SANITIZE=...), so a corpus input that once crashed keeps being
 * checked.  Prints one TAP line per corpus directory.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data;
	long n;

	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return -EIO;
	}
	data = malloc((size_t)n + 1);
	if (!data || fread(data, 1, (size_t)n, f) != (size_t)n) {
		free(data);
		fclose(f);
		return -EIO;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(data, (size_t)n);
	free(data);
	return 0;
}

int main(int argc, char **argv)
{
	int i, failed = 0;

	printf("1..%d\n", argc - 1);
	for (i = 1; i < argc; i++) {
		struct stat st;
		size_t count = 0;
		int r = 0;

		if (stat(argv[i], &st) < 0) {
			r = -errno;
		} else if (S_ISDIR(st.st_mode)) {
			DIR *d = opendir(argv[i]);
			struct dirent *de;

			if (!d) {
				r = -errno;
			} else {
				while ((de = readdir(d)) != NULL) {
					char path[4096];

					if (de->d_name[0] == '.')
						continue;
					snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
					r = run_file(path);
					if (r < 0)
						break;
					count++;
				}
				closedir(d);
			}
		} else {
			r = run_file(argv[i]);
			count = 1;
		}
		if (r < 0 || count == 0) {
			printf("not ok %d - replay %s (%s)\n", i, argv[i],
			       r < 0 ? strerror(-r) : "empty corpus");
			failed++;
		} else {
			printf("ok %d - replay %s (%zu inputs)\n", i, argv[i], count);
		}
		fflush(stdout);
	}
	return failed ? 1 : 0;
}
