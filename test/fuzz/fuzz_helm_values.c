/*
 * fuzz_helm_values.c: fuzz target for Helm values: the values reader
 * (helm_values_read, the first YAML document as a map) and the --set
 * parser of every kind (helm_strvals_parse), applied to what was read.
 *
 * Input: values YAML, then a line "===", then one --set expression per
 * line; each line is tried with every kind (a --set-file value reads a
 * fixed text).  Invariants: no crash, no leak, no sanitizer report;
 * the result stays an object and prints as JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/str.h"
#include "helm/helm.h"
#include "yj/yj.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int read_fixed(const char *name, char **ret, size_t *ret_len, struct op_err *err,
		      void *payload)
{
	if (strlen(name) > 64)
		return op_err_set(err, -ENOENT, "open %s: no such file", name);
	*ret = xstrdup("file contents");
	*ret_len = 13;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum helm_set_kind kinds[] = { HELM_SET, HELM_SET_STRING, HELM_SET_JSON,
						    HELM_SET_FILE, HELM_SET_LITERAL };
	char *in, *sep, *p, *line;
	struct op_err err;
	cJSON *v = NULL;
	size_t i;

	if (size > 1 << 16)
		return 0;
	in = xmalloc(size + 1);
	memcpy(in, data, size);
	in[size] = '\0';
	sep = strstr(in, "\n===\n");
	if (sep)
		*sep = '\0';
	if (helm_values_read(in, strlen(in), &v, &err) < 0)
		v = cJSON_CreateObject();
	if (!cJSON_IsObject(v))
		abort();
	for (p = sep ? sep + 5 : NULL; p && (line = strsep(&p, "\n"));) {
		for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			(void)helm_strvals_parse(v, line, kinds[i], read_fixed, NULL, &err);
		if (!cJSON_IsObject(v))
			abort();
	}
	{
		struct buf b = BUF_INIT(1 << 26);

		(void)yj_print_canonical(v, &b);
		buf_release(&b);
	}
	cJSON_Delete(v);
	free(in);
	return 0;
}
