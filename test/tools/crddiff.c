/*
 * crddiff: compare two CustomResourceDefinitions structurally, for one
 * served version — the oracle that our CRDs define the same API as
 * Flux's.
 *
 *   crddiff OURS.yaml THEIRS.yaml VERSION
 *
 * Compared: group, names (kind, plural, singular, listKind, shortNames,
 * categories), scope, the version's served/storage flags, subresources,
 * printer columns (name, type, jsonPath, priority), and the whole
 * openAPIV3Schema — every property path, with type, format, enum,
 * default, required, pattern, nullable, the numeric and size bounds,
 * items, additionalProperties, the x-kubernetes-* markers and the CEL
 * rules.  Descriptions are ignored (ours are our own words).  Prints one
 * line per difference ("spec.ref.branch: type: string != integer") and
 * exits 1 if there is any, 2 on a usage or file error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/str.h"
#include "yj/yj.h"

static unsigned diffs;

static void report(const char *path, const char *what, const cJSON *a, const cJSON *b)
{
	char *sa = a ? cJSON_PrintUnformatted(a) : NULL, *sb = b ? cJSON_PrintUnformatted(b) : NULL;

	printf("%s: %s: %s != %s\n", path[0] ? path : "(root)", what, sa ? sa : "(none)",
	       sb ? sb : "(none)");
	cJSON_free(sa);
	cJSON_free(sb);
	diffs++;
}

/* Arrays compared as sets of values (enum, required, shortNames, ...). */
static bool same_set(const cJSON *a, const cJSON *b)
{
	const cJSON *x, *y;

	if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
		return false;
	cJSON_ArrayForEach(x, a)
	{
		bool found = false;

		cJSON_ArrayForEach(y, b)
			if (cJSON_Compare(x, y, true))
				found = true;
		if (!found)
			return false;
	}
	return true;
}

static void cmp_field(const char *path, const cJSON *a, const cJSON *b, const char *k, bool set)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(a, k);
	const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, k);

	if (!x && !y)
		return;
	if (!x || !y || (set ? !same_set(x, y) : !cJSON_Compare(x, y, true)))
		report(path, k, x, y);
}

/* CEL rules: compared as sets of rule strings. */
static void cmp_rules(const char *path, const cJSON *a, const cJSON *b)
{
	const cJSON *ra = cJSON_GetObjectItemCaseSensitive(a, "x-kubernetes-validations");
	const cJSON *rb = cJSON_GetObjectItemCaseSensitive(b, "x-kubernetes-validations");
	cJSON *sa = cJSON_CreateArray(), *sb = cJSON_CreateArray();
	const cJSON *it;

	cJSON_ArrayForEach(it, ra)
		cJSON_AddItemToArray(sa, cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(it, "rule"), 1));
	cJSON_ArrayForEach(it, rb)
		cJSON_AddItemToArray(sb, cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(it, "rule"), 1));
	if (!same_set(sa, sb))
		report(path, "x-kubernetes-validations rules", sa, sb);
	cJSON_Delete(sa);
	cJSON_Delete(sb);
}

static void cmp_schema(const char *path, const cJSON *a, const cJSON *b)
{
	static const char *const scalar[] = {
		"type", "format", "default", "pattern", "nullable", "minimum", "maximum",
		"exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "minItems",
		"maxItems", "minProperties", "maxProperties", "x-kubernetes-preserve-unknown-fields",
		"x-kubernetes-int-or-string", "x-kubernetes-embedded-resource",
		"x-kubernetes-list-type", "x-kubernetes-map-type",
	};
	static const char *const sets[] = { "enum", "required", "x-kubernetes-list-map-keys" };
	const cJSON *pa = cJSON_GetObjectItemCaseSensitive(a, "properties");
	const cJSON *pb = cJSON_GetObjectItemCaseSensitive(b, "properties"), *it;
	size_t i;

	for (i = 0; i < sizeof(scalar) / sizeof(scalar[0]); i++)
		cmp_field(path, a, b, scalar[i], false);
	for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
		cmp_field(path, a, b, sets[i], true);
	cmp_rules(path, a, b);
	cJSON_ArrayForEach(it, pa)
	{
		char *sub = path[0] ? xasprintf("%s.%s", path, it->string) : xstrdup(it->string);
		const cJSON *other = cJSON_GetObjectItemCaseSensitive(pb, it->string);

		if (!other) {
			printf("%s: property: present != (none)\n", sub);
			diffs++;
		} else
			cmp_schema(sub, it, other);
		free(sub);
	}
	cJSON_ArrayForEach(it, pb)
	{
		if (!cJSON_GetObjectItemCaseSensitive(pa, it->string)) {
			char *sub = path[0] ? xasprintf("%s.%s", path, it->string) :
					      xstrdup(it->string);

			printf("%s: property: (none) != present\n", sub);
			diffs++;
			free(sub);
		}
	}
	if (cJSON_GetObjectItemCaseSensitive(a, "items") || cJSON_GetObjectItemCaseSensitive(b, "items")) {
		char *sub = xasprintf("%s[]", path);

		cmp_schema(sub, cJSON_GetObjectItemCaseSensitive(a, "items"),
			   cJSON_GetObjectItemCaseSensitive(b, "items"));
		free(sub);
	}
	{
		const cJSON *x = cJSON_GetObjectItemCaseSensitive(a, "additionalProperties");
		const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, "additionalProperties");

		if (cJSON_IsObject(x) && cJSON_IsObject(y)) {
			char *sub = xasprintf("%s{}", path);

			cmp_schema(sub, x, y);
			free(sub);
		} else if (x || y) {
			cmp_field(path, a, b, "additionalProperties", false);
		}
	}
}

static const cJSON *version_of(const cJSON *crd, const char *v)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, yj_get(crd, "/spec/versions"))
		if (streq(yj_get_str(it, "/name") ? yj_get_str(it, "/name") : "", v))
			return it;
	return NULL;
}

static cJSON *load(const char *file)
{
	FILE *f = fopen(file, "r");
	struct buf b = BUF_INIT(64u << 20);
	struct yj_limits lim = YJ_LIMITS_DEFAULT;
	struct yj_stream s = { 0 };
	struct op_err err = OP_ERR_INIT;
	char chunk[65536];
	cJSON *doc = NULL;
	size_t n, i;

	if (!f) {
		fprintf(stderr, "crddiff: cannot open %s\n", file);
		exit(2);
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	if (yj_parse_stream(b.buf ? b.buf : "", b.len, &lim, &s, &err) < 0) {
		fprintf(stderr, "crddiff: %s: %s\n", file, err.msg);
		exit(2);
	}
	for (i = 0; i < s.n; i++) {
		if (s.docs[i] && cJSON_IsObject(s.docs[i]) && !doc) {
			doc = s.docs[i];
			s.docs[i] = NULL;
		}
	}
	yj_stream_release(&s);
	buf_release(&b);
	if (!doc) {
		fprintf(stderr, "crddiff: %s: no document\n", file);
		exit(2);
	}
	return doc;
}

int main(int argc, char **argv)
{
	cJSON *a, *b;
	const cJSON *va, *vb, *ca, *cb;
	static const char *const names[] = { "kind", "plural", "singular", "listKind" };
	size_t i;

	if (argc != 4) {
		fprintf(stderr, "usage: crddiff OURS.yaml THEIRS.yaml VERSION\n");
		return 2;
	}
	a = load(argv[1]);
	b = load(argv[2]);
	cmp_field("spec", yj_get(a, "/spec"), yj_get(b, "/spec"), "group", false);
	cmp_field("spec", yj_get(a, "/spec"), yj_get(b, "/spec"), "scope", false);
	for (i = 0; i < 4; i++)
		cmp_field("spec.names", yj_get(a, "/spec/names"), yj_get(b, "/spec/names"), names[i],
			  false);
	cmp_field("spec.names", yj_get(a, "/spec/names"), yj_get(b, "/spec/names"), "shortNames",
		  true);
	cmp_field("spec.names", yj_get(a, "/spec/names"), yj_get(b, "/spec/names"), "categories",
		  true);
	va = version_of(a, argv[3]);
	vb = version_of(b, argv[3]);
	if (!va || !vb) {
		fprintf(stderr, "crddiff: version %s missing in %s\n", argv[3], va ? argv[2] : argv[1]);
		return 2;
	}
	cmp_field("version", va, vb, "served", false);
	cmp_field("version", va, vb, "subresources", false);
	ca = cJSON_GetObjectItemCaseSensitive(va, "additionalPrinterColumns");
	cb = cJSON_GetObjectItemCaseSensitive(vb, "additionalPrinterColumns");
	if (cJSON_GetArraySize(ca) != cJSON_GetArraySize(cb))
		report("version", "additionalPrinterColumns count", ca, cb);
	for (i = 0; i < (size_t)cJSON_GetArraySize(ca) && i < (size_t)cJSON_GetArraySize(cb); i++) {
		static const char *const cols[] = { "name", "type", "jsonPath", "priority" };
		const cJSON *p = cJSON_GetArrayItem(ca, (int)i), *q = cJSON_GetArrayItem(cb, (int)i);
		char path[64];
		size_t k;

		snprintf(path, sizeof(path), "printer column %zu", i);
		for (k = 0; k < 4; k++)
			cmp_field(path, p, q, cols[k], false);
	}
	cmp_schema("", yj_get(va, "/schema/openAPIV3Schema"), yj_get(vb, "/schema/openAPIV3Schema"));
	cJSON_Delete(a);
	cJSON_Delete(b);
	if (diffs)
		printf("%u differences\n", diffs);
	return diffs ? 1 : 0;
}
