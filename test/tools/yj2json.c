/*
 * yj2json: our YAML -> JSON conversion in the oracle's output format.
 *
 * Reads a YAML stream on stdin (or the file given), converts it with
 * lib/yj, and prints one canonical JSON document per line, or
 * "ERROR: <message>" — the same shape test/tools/yamloracle prints for
 * sigs.k8s.io/yaml, so test/unit/yj_diff.sh can compare the two.
 * `yj2json --yaml [FILE]` prints the documents back as YAML instead.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "yj/yj.h"

int main(int argc, char **argv)
{
	struct buf in = BUF_INIT((size_t)1 << 31);
	struct yj_stream s;
	struct op_err err;
	bool yaml = argc > 1 && strcmp(argv[1], "--yaml") == 0;
	const char *file = argc > 1 + yaml ? argv[1 + yaml] : NULL;
	FILE *f = file ? fopen(file, "rb") : stdin;
	char chunk[65536];
	size_t n, i;

	if (!f) {
		perror(file);
		return 2;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_add(&in, chunk, n) < 0) {
			fprintf(stderr, "yj2json: input too large\n");
			return 2;
		}
	if (yj_parse_stream(in.buf, in.len, NULL, &s, &err) < 0) {
		printf("ERROR: %s\n", err.msg);
		buf_release(&in);
		return 0;
	}
	for (i = 0; i < s.n; i++) {
		struct buf out = BUF_INIT((size_t)1 << 31);

		if (yaml) {
			if (i)
				fputs("---\n", stdout);
			yj_emit_yaml(s.docs[i], &out);
		} else {
			yj_print_canonical(s.docs[i], &out);
			buf_addch(&out, '\n');
		}
		fwrite(out.buf, 1, out.len, stdout);
		buf_release(&out);
	}
	yj_stream_release(&s);
	buf_release(&in);
	return 0;
}
