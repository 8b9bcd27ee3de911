/*
 * release.c: Helm v3 release records (pkg/release, pkg/storage/driver
 * secrets.go), so that `helm list/history/rollback` read what we store.
 *
 * DESIGN
 * A release is a cJSON object built in the field order of Go's structs
 * (Release, Info, Chart, Metadata, Hook); printing keeps that order for
 * structs and sorts the keys of Go maps (config, chart values,
 * annotations, import-values entries), as encoding/json does.  Times are
 * RFC 3339 with nanoseconds in UTC ("" for a zero time, Helm's own
 * time type).  Stored form: JSON, gzip (zlib, with Go's header: no name,
 * mtime 0, OS unknown), base64; the Secret's data base64-encodes it once
 * more because Kubernetes `data` holds bytes.  Reading accepts plain
 * JSON too (Helm's legacy records) and bounds the decompressed size.
 *
 * zlib is used here only.
 */
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "base/str.h"
#include "base/time.h"
#include "helm/internal.h"
#include "yj/yj.h"
#include "base/banned.h"

/* ---- JSON in Go's field order ---- */

/* Members whose values are Go maps: printed with sorted keys. */
static bool is_map_member(const char *k)
{
	return streq(k, "config") || streq(k, "values") || streq(k, "annotations") ||
	       streq(k, "import-values") || streq(k, "serverInfo");
}

static int print_str(const char *s, struct buf *out)
{
	cJSON *tmp = cJSON_CreateStringReference(s);
	int r = yj_print_canonical(tmp, out);

	cJSON_Delete(tmp);
	return r;
}

int helm__json_ordered(const cJSON *j, struct buf *out)
{
	const cJSON *c;
	int r = 0;

	if (cJSON_IsObject(j)) {
		r = buf_addch(out, '{');
		cJSON_ArrayForEach(c, j) {
			if (r == 0 && c != j->child)
				r = buf_addch(out, ',');
			if (r == 0)
				r = print_str(c->string, out);
			if (r == 0)
				r = buf_addch(out, ':');
			if (r == 0)
				r = is_map_member(c->string) ? yj_print_canonical(c, out) :
							       helm__json_ordered(c, out);
		}
		return r ?: buf_addch(out, '}');
	}
	if (cJSON_IsArray(j)) {
		r = buf_addch(out, '[');
		cJSON_ArrayForEach(c, j) {
			if (r == 0 && c != j->child)
				r = buf_addch(out, ',');
			if (r == 0)
				r = helm__json_ordered(c, out);
		}
		return r ?: buf_addch(out, ']');
	}
	return yj_print_canonical(j, out);
}

static void add_time(cJSON *o, const char *k, int64_t ns)
{
	char t[RFC3339_MAX];

	if (ns == 0) {
		cJSON_AddStringToObject(o, k, "");
		return;
	}
	time_format_rfc3339_nano(ns, t);
	cJSON_AddStringToObject(o, k, t);
}

static cJSON *files_json(const struct helm_file *f, size_t n)
{
	cJSON *a;
	size_t i;

	if (!f || n == 0)
		return cJSON_CreateNull();
	a = cJSON_CreateArray();
	for (i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		char *b = b64_encode(f[i].data, f[i].len);

		cJSON_AddStringToObject(o, "name", f[i].name);
		cJSON_AddStringToObject(o, "data", b);
		free(b);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

cJSON *helm__chart_json(const struct helm__node *n)
{
	const struct helm_chart *c = n->src;
	cJSON *o = cJSON_CreateObject();

	cJSON_AddItemToObject(o, "metadata", helm_metadata_json(&n->md));
	cJSON_AddItemToObject(o, "lock", c->lock ? cJSON_Duplicate(c->lock, 1) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "templates", files_json(c->templates, c->ntemplates));
	cJSON_AddItemToObject(o, "values",
			      n->values ? cJSON_Duplicate(n->values, 1) : cJSON_CreateNull());
	if (c->schema.data) {
		char *b = b64_encode(c->schema.data, c->schema.len);

		cJSON_AddStringToObject(o, "schema", b);
		free(b);
	} else {
		cJSON_AddNullToObject(o, "schema");
	}
	cJSON_AddItemToObject(o, "files", files_json(c->files, c->nfiles));
	return o;
}

static void add_strings(cJSON *o, const char *k, char *const *v, size_t n, bool omitempty)
{
	cJSON *a;
	size_t i;

	if (omitempty && n == 0)
		return;
	a = cJSON_AddArrayToObject(o, k);
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
}

cJSON *helm_release_new(const char *name, const char *ns, int version,
			const struct helm_rendered *r, const cJSON *config,
			const struct helm_release_info *info)
{
	cJSON *rel = cJSON_CreateObject(), *in, *hooks;
	size_t i;

	if (name && name[0])
		cJSON_AddStringToObject(rel, "name", name);
	in = cJSON_AddObjectToObject(rel, "info");
	add_time(in, "first_deployed", info->first_deployed);
	add_time(in, "last_deployed", info->last_deployed);
	add_time(in, "deleted", info->deleted);
	if (info->description && info->description[0])
		cJSON_AddStringToObject(in, "description", info->description);
	if (info->status && info->status[0])
		cJSON_AddStringToObject(in, "status", info->status);
	if (info->notes && info->notes[0])
		cJSON_AddStringToObject(in, "notes", info->notes);
	if (r && r->chart)
		cJSON_AddItemToObject(rel, "chart", cJSON_Duplicate(r->chart, 1));
	if (config && cJSON_GetArraySize(config) > 0)
		cJSON_AddItemToObject(rel, "config", cJSON_Duplicate(config, 1));
	if (r && r->manifest_len)
		cJSON_AddStringToObject(rel, "manifest", r->manifest);
	if (r && r->nhooks) {
		hooks = cJSON_AddArrayToObject(rel, "hooks");
		for (i = 0; i < r->nhooks; i++) {
			const struct helm_hook *h = &r->hooks[i];
			cJSON *o = cJSON_CreateObject(), *lr;

			cJSON_AddStringToObject(o, "name", h->name);
			cJSON_AddStringToObject(o, "kind", h->kind);
			cJSON_AddStringToObject(o, "path", h->path);
			cJSON_AddStringToObject(o, "manifest", h->manifest);
			add_strings(o, "events", h->events, h->nevents, false);
			lr = cJSON_AddObjectToObject(o, "last_run");
			cJSON_AddStringToObject(lr, "started_at", "");
			cJSON_AddStringToObject(lr, "completed_at", "");
			cJSON_AddStringToObject(lr, "phase", "");
			if (h->weight)
				cJSON_AddNumberToObject(o, "weight", h->weight);
			add_strings(o, "delete_policies", h->delete_policies, h->ndelete_policies,
				    true);
			add_strings(o, "output_log_policies", h->output_log_policies,
				    h->noutput_log_policies, true);
			cJSON_AddItemToArray(hooks, o);
		}
	}
	if (version)
		cJSON_AddNumberToObject(rel, "version", version);
	if (ns && ns[0])
		cJSON_AddStringToObject(rel, "namespace", ns);
	return rel;
}

/* ---- gzip + base64 ---- */

int helm_release_encode(const cJSON *rel, struct buf *out)
{
	struct buf json = BUF_INIT((size_t)1 << 30);
	gz_header hdr = { .os = 255 }; /* Go's gzip writer: OS "unknown", mtime 0 */
	z_stream z = { 0 };
	unsigned char *gz = NULL;
	size_t cap;
	int r;

	r = helm__json_ordered(rel, &json);
	if (r < 0)
		goto out;
	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) !=
	    Z_OK) {
		r = -ENOMEM;
		goto out;
	}
	deflateSetHeader(&z, &hdr);
	cap = deflateBound(&z, json.len) + 64;
	gz = xmalloc(cap);
	z.next_in = (unsigned char *)json.buf;
	z.avail_in = (uInt)json.len;
	z.next_out = gz;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
		r = -EIO;
	} else {
		char *b = b64_encode(gz, z.total_out);

		r = buf_adds(out, b);
		free(b);
	}
	deflateEnd(&z);
out:
	free(gz);
	buf_release(&json);
	return r;
}

static int gunzip(const char *in, size_t n, size_t max, char **ret, size_t *ret_len,
		  struct op_err *err)
{
	struct buf b = BUF_INIT(max);
	unsigned char chunk[65536];
	z_stream z = { 0 };
	int zr = Z_OK, r = 0;

	if (inflateInit2(&z, 15 + 16) != Z_OK)
		return op_err_set(err, -ENOMEM, "cannot start gunzip");
	z.next_in = (unsigned char *)in;
	z.avail_in = (uInt)n;
	while (zr != Z_STREAM_END) {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		zr = inflate(&z, Z_NO_FLUSH);
		if (zr != Z_OK && zr != Z_STREAM_END) {
			r = op_err_set(err, -EINVAL, "release data is not valid gzip: %s",
				       z.msg ? z.msg : "truncated");
			break;
		}
		if (buf_add(&b, chunk, sizeof(chunk) - z.avail_out) < 0) {
			r = op_err_set(err, -EFBIG, "release data is larger than %zu bytes", max);
			break;
		}
		if (zr == Z_OK && z.avail_in == 0 && z.avail_out != 0) {
			r = op_err_set(err, -EINVAL, "release data is truncated gzip");
			break;
		}
	}
	inflateEnd(&z);
	if (r < 0) {
		buf_release(&b);
		return r;
	}
	*ret = buf_detach(&b, ret_len);
	return 0;
}

int helm_release_decode(const char *b64, size_t len, size_t max_bytes, cJSON **ret,
			struct op_err *err)
{
	_cleanup_free_ char *text = xstrndup(b64, len), *raw = NULL, *plain = NULL;
	size_t rawn = 0, pn = 0;
	const char *json;
	size_t jn;
	cJSON *j;

	if (b64_decode(text, &raw, &rawn) < 0)
		return op_err_set(err, -EINVAL, "release data is not base64");
	if (rawn >= 3 && !memcmp(raw, "\x1f\x8b\x08", 3)) {
		int r = gunzip(raw, rawn, max_bytes, &plain, &pn, err);

		if (r < 0)
			return r;
		json = plain;
		jn = pn;
	} else {
		if (rawn > max_bytes)
			return op_err_set(err, -EFBIG, "release data is larger than %zu bytes",
					  max_bytes);
		json = raw;
		jn = rawn;
	}
	j = cJSON_ParseWithLength(json, jn);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return op_err_set(err, -EINVAL, "release data is not a JSON object");
	}
	*ret = j;
	return 0;
}

/* ---- the Secret ---- */

static const char *const system_labels[] = { "name",    "owner",     "status",
					     "version", "createdAt", "modifiedAt" };

cJSON *helm_release_secret(const cJSON *rel, const char *storage_ns, bool update, int64_t now_s,
			   const cJSON *labels, struct op_err *err)
{
	const char *name = yj_get_str(rel, "/name"), *status = yj_get_str(rel, "/info/status");
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(rel, "version"), *l;
	struct buf enc = BUF_INIT((size_t)1 << 30);
	char *data = NULL;
	cJSON *s, *md, *lb;
	char num[32];
	size_t i;

	if (!name || !cJSON_IsNumber(ver) || ver->valuedouble < 1) {
		op_err_set(err, -EINVAL, "release has no name or version");
		return NULL;
	}
	cJSON_ArrayForEach(l, labels) {
		for (i = 0; i < ARRAY_SIZE(system_labels); i++)
			if (streq(l->string, system_labels[i])) {
				op_err_set(err, -EINVAL, "user supplied labels contains system "
					   "reserved label name '%s'", l->string);
				return NULL;
			}
	}
	if (helm_release_encode(rel, &enc) < 0) {
		buf_release(&enc);
		op_err_set(err, -EFBIG, "release is too large");
		return NULL;
	}
	data = b64_encode(enc.buf, enc.len);
	s = cJSON_CreateObject();
	cJSON_AddStringToObject(s, "apiVersion", "v1");
	cJSON_AddStringToObject(s, "kind", "Secret");
	md = cJSON_AddObjectToObject(s, "metadata");
	snprintf(num, sizeof(num), "%d", yj_to_int(ver->valuedouble));
	{
		_cleanup_free_ char *n = xasprintf("sh.helm.release.v1.%s.v%s", name, num);

		cJSON_AddStringToObject(md, "name", n);
	}
	if (storage_ns)
		cJSON_AddStringToObject(md, "namespace", storage_ns);
	lb = cJSON_AddObjectToObject(md, "labels");
	cJSON_ArrayForEach(l, labels)
		if (cJSON_IsString(l))
			cJSON_AddStringToObject(lb, l->string, l->valuestring);
	cJSON_AddStringToObject(lb, "name", name);
	cJSON_AddStringToObject(lb, "owner", "helm");
	cJSON_AddStringToObject(lb, "status", status ? status : "unknown");
	cJSON_AddStringToObject(lb, "version", num);
	snprintf(num, sizeof(num), "%lld", (long long)now_s);
	cJSON_AddStringToObject(lb, update ? "modifiedAt" : "createdAt", num);
	cJSON_AddStringToObject(s, "type", "helm.sh/release.v1");
	cJSON_AddObjectToObject(s, "data");
	cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(s, "data"), "release", data);
	buf_release(&enc);
	free(data);
	return s;
}

int helm_release_from_secret(const cJSON *secret, size_t max_bytes, cJSON **ret,
			     struct op_err *err)
{
	const char *d = yj_get_str(secret, "/data/release");
	_cleanup_free_ char *text = NULL;
	size_t n = 0;

	if (!d)
		return op_err_set(err, -EINVAL, "secret has no data.release");
	if (b64_decode(d, &text, &n) < 0)
		return op_err_set(err, -EINVAL, "secret data.release is not base64");
	return helm_release_decode(text, n, max_bytes, ret, err);
}
