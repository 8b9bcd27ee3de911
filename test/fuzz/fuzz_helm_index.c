/*
 * fuzz_helm_index.c: fuzz target for a Helm repository index read
 * streaming (helm_index_read_chart over yj_parse_visit), the version
 * pick and chart URL resolution.
 *
 * Input: an index (YAML or JSON); its first line, when it starts with
 * "#pick ", names a constraint to pick with (else "").  The chart read
 * is "a".  Invariants: no crash, no leak, no sanitizer report; versions
 * come out sorted highest first; a picked version is one of them and
 * satisfies the strict reading; every URL of it resolves or is refused.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/semver.h"
#include "helm/helm.h"
#include "yj/yj.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct yj_limits lim = { .max_input_bytes = 1 << 16, .max_docs = 1, .max_depth = 32,
				 .max_nodes = 4096, .max_scalar_bytes = 1 << 12,
				 .max_alias_uses = 16, .max_alias_nodes = 256 };
	const struct helm_index_version *v;
	struct helm_index_chart c;
	struct op_err err;
	char want[64] = "", *in;
	size_t i, j;

	if (size > 1 << 16)
		return 0;
	in = xmalloc(size + 1);
	memcpy(in, data, size);
	in[size] = '\0';
	if (strncmp(in, "#pick ", 6) == 0) {
		size_t n = strcspn(in + 6, "\n");

		if (n < sizeof(want)) {
			memcpy(want, in + 6, n);
			want[n] = '\0';
		}
	}
	if (helm_index_read_chart(in, size, "a", &lim, &c, &err) == 0) {
		for (i = 1; i < c.n; i++) {
			struct semver a, b;

			if (semver_parse(c.v[i - 1].version, &a) < 0 ||
			    semver_parse(c.v[i].version, &b) < 0 || semver_cmp(&a, &b) < 0)
				abort();
		}
		if (helm_index_pick(&c, want, &v, &err) == 0) {
			if (v < c.v || v >= c.v + c.n)
				abort();
			if (strcmp(v->version, want) != 0 && !helm_version_strict(v->version))
				abort();
			for (j = 0; j < v->nurls; j++) {
				char *u;

				if (helm_index_chart_url("https://charts.example.com/x?q=1", v->urls[j],
							 &u, &err) == 0)
					free(u);
			}
		}
		helm_index_chart_release(&c);
	}
	free(in);
	return 0;
}
