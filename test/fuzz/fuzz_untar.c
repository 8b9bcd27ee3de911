/*
 * fuzz_untar.c: fuzz target for artifact extraction (lib/source/artifact.c):
 * artifact_extract(), which unpacks a source's archive to disk, and
 * artifact_read_mem(), which reads one in memory (charts, OCI layers).
 *
 * The input is the archive itself.  libarchive takes a plain tar as well
 * as a gzip'd one, so most seeds are plain tars and the mutations reach
 * the tar headers (paths, links, sizes, pax records) instead of dying on
 * a gzip checksum.  Extraction runs into <sandbox>/dest under tight
 * limits; afterwards the sandbox is walked without following links.
 * Invariants: nothing outside dest, no symlink, device or FIFO written,
 * each file and the total within the limits, a failure has its message
 * and its errno in reterr; read_mem hands on only NUL-terminated files
 * within the limits, and when extraction succeeded, the same bytes as
 * the extracted files (extraction once wrote sparse entries without
 * their holes: corpus sparse*.tar).  No crash, leak or sanitizer report.
 */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/path.h"
#include "base/str.h"
#include "source/artifact.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct artifact_limits lim = { .max_entries = 64, .max_file_bytes = 1 << 16,
					    .max_total_bytes = 1 << 18 };
static char sandbox[64], dest[96];
static size_t dest_len;
static uint64_t files, bytes;
static bool extracted; /* artifact_extract() succeeded: its files must match read_mem's */

static int check(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)flag;
	if (ftw->level == 0)
		return 0;
	/* Only dest itself sits in the sandbox. */
	if (strncmp(p, dest, dest_len) != 0 || (p[dest_len] != '/' && p[dest_len] != '\0'))
		abort();
	if (S_ISREG(st->st_mode)) {
		if ((uint64_t)st->st_size > lim.max_file_bytes)
			abort();
		files++;
		bytes += (uint64_t)st->st_size;
	} else if (!S_ISDIR(st->st_mode)) {
		abort(); /* a symlink, a device or a FIFO */
	}
	return 0;
}

/* The extracted copy of file `name` holds exactly `d`. */
static void same_as_extracted(const char *name, const char *d, size_t len)
{
	char *clean = path_clean(name), *path = xasprintf("%s/%s", dest, clean), *got = NULL;
	size_t n;

	if (!streq(clean, ".")) {
		if (path_read_file(path, lim.max_file_bytes, &got, &n) < 0 || n != len ||
		    memcmp(got, d, len) != 0)
			abort();
	}
	free(got);
	free(path);
	free(clean);
}

static int on_entry(const char *name, enum artifact_entry_kind kind, const char *d, size_t len,
		    void *payload)
{
	uint64_t *total = payload;

	if (!name || (kind != ARTIFACT_ENTRY_FILE && (d || len)))
		abort();
	if (kind == ARTIFACT_ENTRY_FILE) {
		if (!d || d[len] != '\0' || len > lim.max_file_bytes)
			abort();
		*total += len;
		if (*total > lim.max_total_bytes)
			abort();
		if (extracted)
			same_as_extracted(name, d, len);
	}
	return 0;
}

static void extract(const uint8_t *data, size_t size)
{
	char in[96];
	struct op_err err = OP_ERR_INIT;
	FILE *f;
	int r;

	snprintf(in, sizeof(in), "%s.tgz", sandbox);
	snprintf(dest, sizeof(dest), "%s/dest", sandbox);
	f = fopen(in, "wb");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	if (mkdir(sandbox, 0700) < 0 || mkdir(dest, 0700) < 0)
		abort();
	dest_len = strlen(dest);
	r = artifact_extract(in, dest, &lim, &err);
	extracted = r == 0;
	if (r > 0 || (r < 0 && (err.code != r || !err.msg[0])))
		abort();
	files = bytes = 0;
	/* dest_len covers "<sandbox>/dest": anything else in the sandbox fails check(). */
	if (nftw(sandbox, check, 16, FTW_PHYS) != 0)
		abort();
	if (files > lim.max_entries || bytes > lim.max_total_bytes)
		abort();
	unlink(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct op_err err = OP_ERR_INIT;
	uint64_t total = 0;
	int r;

	if (size > (1u << 20))
		return 0;
	if (!sandbox[0]) {
		snprintf(sandbox, sizeof(sandbox), "/tmp/fuzz-untar-%ld", (long)getpid());
		path_remove_all(sandbox);
	}
	extract(data, size);
	r = artifact_read_mem(data, size, &lim, on_entry, &total, &err);
	if (r > 0 || (r < 0 && (err.code != r || !err.msg[0])))
		abort();
	path_remove_all(sandbox);
	return 0;
}
