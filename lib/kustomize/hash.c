/*
 * hash.c: the content hash kustomize appends to generated names.
 *
 * kustomize hashes a small JSON document, not the whole object: for a
 * ConfigMap {"data":..,"kind":"ConfigMap","name":..} plus "binaryData"
 * when present; for a Secret the same with "type" and "stringData".  A
 * missing data map counts as the empty *string*, not {}.  The document is
 * printed by Go's encoding/json (sorted keys, HTML characters escaped),
 * hashed with SHA-256, and the first ten hex digits are made
 * vowel-free-ish ('0'->'g', '1'->'h', '3'->'k', 'a'->'m', 'e'->'t') so
 * the suffix never spells words or looks like a number.
 */
#include <string.h>

#include "base/alloc.h"
#include "base/str.h"
#include "kustomize/internal.h"
#include "yj/yj.h"
#include "base/banned.h"

int kz__go_json(const cJSON *j, struct buf *out)
{
	struct buf tmp = BUF_INIT(out->max);
	int r = yj_print_canonical(j, &tmp);

	if (r == 0)
		r = yj_escape_html(tmp.buf, tmp.len, out);
	buf_release(&tmp);
	return r;
}

static void add_field(cJSON *doc, const char *key, const cJSON *v, bool map_only)
{
	if (v && cJSON_IsObject(v))
		cJSON_AddItemToObject(doc, key, cJSON_Duplicate(v, 1));
	else if (!map_only)
		cJSON_AddItemToObject(doc, key,
				      v && cJSON_IsString(v) ? cJSON_CreateString(v->valuestring)
							     : cJSON_CreateString(""));
}

int kz__hash(const cJSON *obj, char out[11])
{
	const char *kind = kz__str(obj, "/kind");
	cJSON *doc;
	struct buf b = BUF_INIT(1u << 30);
	char hex[65];
	int r;

	if (streq(kind, "ConfigMap")) {
		doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "kind", "ConfigMap");
		cJSON_AddStringToObject(doc, "name", "");
		add_field(doc, "data", yj_get(obj, "/data"), false);
		add_field(doc, "binaryData", yj_get(obj, "/binaryData"), true);
	} else if (streq(kind, "Secret")) {
		doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "kind", "Secret");
		add_field(doc, "type", yj_get(obj, "/type"), false);
		cJSON_AddStringToObject(doc, "name", "");
		add_field(doc, "data", yj_get(obj, "/data"), false);
		add_field(doc, "stringData", yj_get(obj, "/stringData"), true);
	} else {
		doc = cJSON_Duplicate(obj, 1);
	}
	r = kz__go_json(doc, &b);
	cJSON_Delete(doc);
	if (r < 0) {
		buf_release(&b);
		return r;
	}
	yj_sha256_hex(b.buf, b.len, hex);
	buf_release(&b);
	for (int i = 0; i < 10; i++) {
		char c = hex[i];

		out[i] = c == '0' ? 'g' : c == '1' ? 'h' : c == '3' ? 'k' : c == 'a' ? 'm' : c == 'e' ? 't' : c;
	}
	out[10] = '\0';
	return 0;
}
