/*
 * fuzz_smpatch.c: fuzz target for the strategic merge patch applier
 * (kz__smp() in lib/kustomize/patch.c).
 *
 * The input is two YAML documents separated by a line "===": the object
 * to patch, then the patch.  Both are read with tight limits; when both
 * are maps the patch is applied as the object's kind asks (so the built-in
 * kinds' merge keys and custom resources' plain merge are both reached).
 * Inputs of odd length merge under a custom OpenAPI schema (the `openapi`
 * field's walk: keyed, several-key and primitive merge lists, a $ref
 * cycle, a missing $ref), with or without the builtin keys beside it.
 * A crash, a leak (under ASan) or a result that cannot be printed as
 * YAML and read back aborts.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "kustomize/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char schema_json[] =
	"{\"definitions\": {"
	"\"W\": {\"x-kubernetes-group-version-kind\": [{\"group\": \"example.com\", "
	"\"version\": \"v1\", \"kind\": \"W\"}, {\"group\": \"apps\", \"version\": \"v1\", "
	"\"kind\": \"Deployment\"}], \"properties\": {\"spec\": {\"$ref\": "
	"\"#/definitions/S\"}, \"metadata\": {\"$ref\": \"#/definitions/missing\"}}},"
	"\"S\": {\"properties\": {\"items\": {\"type\": \"array\", \"items\": {\"$ref\": "
	"\"#/definitions/S\"}, \"x-kubernetes-patch-strategy\": \"merge\", "
	"\"x-kubernetes-patch-merge-key\": \"id\"}, \"ports\": {\"type\": \"array\", "
	"\"x-kubernetes-patch-strategy\": \"retainKeys,merge\", "
	"\"x-kubernetes-list-map-keys\": [\"port\", \"protocol\"]}, \"tags\": {\"type\": "
	"\"array\", \"x-kubernetes-patch-strategy\": \"merge\"}, \"loop\": {\"$ref\": "
	"\"#/definitions/L\"}}, \"additionalProperties\": {\"$ref\": \"#/definitions/S\"}},"
	"\"L\": {\"$ref\": \"#/definitions/L\"}}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *target, *patch;
	struct op_err err;

	if (fuzz_two_docs(data, size, true, &target, &patch) < 0)
		return 0;
	if (cJSON_IsObject(target) && cJSON_IsObject(patch)) {
		struct kz_schema schema = { .set = true, .builtins = (size & 2) != 0 };

		if (size & 1)
			schema.doc = cJSON_Parse(schema_json);
		if (kz__smp(&target, patch, &schema, &err) == 0 && target) {
			struct buf out = BUF_INIT(1 << 24);

			if (yj_emit_yaml_go(target, &out) == 0)
				fuzz_yaml_reads_back(&out);
			buf_release(&out);
		}
		cJSON_Delete(schema.doc);
	}
	cJSON_Delete(target);
	cJSON_Delete(patch);
	return 0;
}
