/*
 * fuzz_helm_chart.c: fuzz target for Helm chart reading: Chart.yaml
 * (helm_metadata_parse) and the chart archive reader
 * (helm_chart_load_archive: gzip, tar, Helm's path rules, subcharts
 * inside, limits).
 *
 * Input: if it starts with the gzip magic, a chart archive; otherwise
 * Chart.yaml text.  Invariants: no crash, no leak, no sanitizer report;
 * a loaded chart's metadata passed validation (name and version set);
 * small limits keep every run bounded.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helm/helm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct helm_limits lim = HELM_LIMITS_DEFAULT;
	struct helm_chart *c = NULL;
	struct helm_metadata md;
	struct op_err err;

	if (size > 1 << 20)
		return 0;
	lim.max_file_bytes = 1 << 16;
	lim.max_chart_bytes = 1 << 20;
	lim.max_files = 256;
	lim.max_chart_depth = 4;
	if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
		if (helm_chart_load_archive(data, size, &lim, &c, &err) == 0) {
			if (!c->md.name[0] || !c->md.version[0])
				abort(); /* validation let an empty name or version through */
			helm_chart_free(c);
		}
		return 0;
	}
	if (helm_metadata_parse((const char *)data, size, &md, &err) == 0) {
		cJSON *j = helm_metadata_json(&md);

		if (!md.name[0] || !j)
			abort();
		cJSON_Delete(j);
		helm_metadata_release(&md);
	}
	return 0;
}
