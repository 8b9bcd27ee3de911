/*
 * oci.c: the OCI distribution client (see oci.h).
 *
 * DESIGN
 * Three layers, bottom up:
 *
 *  1. Pure parsers (references, manifests, challenges, docker configs,
 *     semver picks): plain functions over bytes, fuzzed.
 *
 *  2. `struct rreq`, one registry request: it builds the URL from the
 *     client's scheme, adds the Authorization the client holds, and owns
 *     the two retries the protocol needs — a failed TLS handshake on a
 *     host that may speak plain HTTP (once per client: the answer is
 *     remembered), and a 401 answered by fetching a token or sending
 *     basic credentials (once per request).  Its `done` sees the final
 *     response only.
 *
 *  3. Operations (resolve, manifest, tags, blob, push, pull): small
 *     state machines whose steps are rreqs.  Each holds a reference on
 *     the client (c->ops), so closing the client — which cancels every
 *     transfer at once through http_close() — frees it only after the
 *     last operation has called back.
 *
 * Blob downloads go through a `struct sink`: the network fills one 1 MiB
 * buffer while a thread-pool job writes and hashes the other; when both
 * are full the transfer pauses (HTTP_DATA_PAUSE) until the job is done.
 * One job at a time per blob keeps the hash in order.  The completion of
 * the transfer and of the last job may come in either order; the sink
 * finishes when it has both.
 *
 * Threading: the loop thread, except the sink's job (write + sha256 on
 * its own buffer and fd, nothing else).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <mbedtls/sha256.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "base/buf.h"
#include "base/semver.h"
#include "base/str.h"
#include "kube/http.h"
#include "source/oci.h"
#include "source/sigverify.h"
#include "base/regex.h"
#include "yj/yj.h"
#include "base/banned.h"

#define ACCEPT_MANIFESTS                                                                           \
	"Accept: " OCI_MT_MANIFEST ", " OCI_MT_INDEX ", " OCI_MT_DOCKER_MANIFEST                   \
	", " OCI_MT_DOCKER_LIST ", application/vnd.docker.distribution.manifest.v1+json"           \
	", application/vnd.docker.distribution.manifest.v1+prettyjws"
#define MAX_ERROR_BODY (64u << 10)
#define MAX_TOKEN_BODY (1u << 20)
#define MAX_TAG_PAGES 1000
#define MAX_COSIGN_PAYLOAD (1u << 20)
#define MAX_SIGNATURES 32
#define SINK_CHUNK (1u << 20)
#define DEFAULT_MAX_LAYER (1ull << 30)

/* ================================================================== */
/* Pure parsers                                                       */

static bool is_hex_lower(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

bool oci_digest_valid(const char *d)
{
	return d && str_startswith(d, "sha256:") && strlen(d) == 7 + 64 && is_hex_lower(d + 7, 64);
}

static bool is_alnum_lower(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

/* One path component of a repository name: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* */
static bool repo_component_valid(const char *s, size_t n)
{
	size_t i = 0;

	if (!n || !is_alnum_lower(s[0]) || !is_alnum_lower(s[n - 1]))
		return false;
	while (i < n) {
		if (is_alnum_lower(s[i])) {
			i++;
			continue;
		}
		if (s[i] == '.') {
			i++;
		} else if (s[i] == '_') {
			i += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
		} else if (s[i] == '-') {
			while (i < n && s[i] == '-')
				i++;
		} else {
			return false;
		}
		if (i >= n || !is_alnum_lower(s[i]))
			return false;
	}
	return true;
}

static bool tag_valid(const char *t)
{
	size_t n = strlen(t);

	if (!n || n > OCI_TAG_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = t[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    ch == '_')
			continue;
		if (i > 0 && (ch == '.' || ch == '-'))
			continue;
		return false;
	}
	return true;
}

int oci_ref_parse(const char *url, bool need_scheme, struct oci_ref *ret, struct op_err *reterr)
{
	struct oci_ref r = { 0 };
	const char *s = url, *slash, *at, *colon, *name;
	size_t hlen, nlen;

	if (!url)
		return op_err_set(reterr, -EINVAL, "no URL given");
	if (str_startswith(s, "oci://"))
		s += 6;
	else if (need_scheme || strstr(s, "://"))
		return op_err_set(reterr, -EINVAL, "URL must be in format 'oci://<domain>/<org>/<repo>'");
	slash = strchr(s, '/');
	if (!slash || slash == s || !slash[1])
		return op_err_set(reterr, -EINVAL, "URL must be in format 'oci://<domain>/<org>/<repo>'");
	hlen = (size_t)(slash - s);
	if (hlen >= sizeof(r.host))
		return op_err_set(reterr, -EINVAL, "registry host is too long");
	for (size_t i = 0; i < hlen; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '.' || ch == '-' || ch == ':' || ch == '[' || ch == ']'))
			return op_err_set(reterr, -EINVAL, "invalid registry host '%.*s'", (int)hlen, s);
	}
	memcpy(r.host, s, hlen);
	name = slash + 1;
	at = strchr(name, '@');
	nlen = at ? (size_t)(at - name) : strlen(name);
	/* A ":" after the last "/" of the name starts a tag. */
	colon = NULL;
	for (const char *p = name; p < name + nlen; p++) {
		if (*p == '/')
			colon = NULL;
		else if (*p == ':' && !colon)
			colon = p;
	}
	if (at) {
		if (!oci_digest_valid(at + 1))
			return op_err_set(reterr, -EINVAL, "invalid digest '%s': want sha256: and 64 "
					  "lower-case hex digits", at + 1);
		snprintf(r.digest, sizeof(r.digest), "%s", at + 1);
	}
	if (colon) {
		size_t tlen = (size_t)(name + nlen - colon - 1);

		if (tlen > OCI_TAG_MAX)
			return op_err_set(reterr, -EINVAL, "tag is longer than %d characters", OCI_TAG_MAX);
		memcpy(r.tag, colon + 1, tlen);
		r.tag[tlen] = '\0';
		if (!tag_valid(r.tag))
			return op_err_set(reterr, -EINVAL, "invalid tag '%s'", r.tag);
		nlen = (size_t)(colon - name);
	}
	if (nlen >= sizeof(r.repo))
		return op_err_set(reterr, -EINVAL, "repository name is too long");
	memcpy(r.repo, name, nlen);
	r.repo[nlen] = '\0';
	for (const char *p = r.repo, *e;; p = e + 1) {
		e = strchr(p, '/');
		if (!repo_component_valid(p, e ? (size_t)(e - p) : strlen(p)))
			return op_err_set(reterr, -EINVAL, "invalid repository name '%s': components "
					  "are lower-case letters and digits separated by '.', "
					  "'_', '__' or '-'", r.repo);
		if (!e)
			break;
	}
	*ret = r;
	return 0;
}

/* The media type without parameters, into out. */
static void media_type_of(const char *ct, char *out, size_t n)
{
	size_t len;

	if (!ct)
		ct = "";
	while (*ct == ' ')
		ct++;
	len = strcspn(ct, "; \t\r\n");
	if (len >= n)
		len = n - 1;
	memcpy(out, ct, len);
	out[len] = '\0';
}

static int parse_desc(const cJSON *j, struct oci_desc *d, const char *what, size_t i,
		      struct op_err *err)
{
	const cJSON *mt = cJSON_GetObjectItemCaseSensitive(j, "mediaType");
	const cJSON *dg = cJSON_GetObjectItemCaseSensitive(j, "digest");
	const cJSON *sz = cJSON_GetObjectItemCaseSensitive(j, "size");
	const cJSON *an = cJSON_GetObjectItemCaseSensitive(j, "annotations");
	const cJSON *pf = cJSON_GetObjectItemCaseSensitive(j, "platform");
	double v;

	memset(d, 0, sizeof(*d));
	if (!cJSON_IsObject(j))
		return op_err_set(err, -EINVAL, "%s[%zu] is not an object", what, i);
	if (!cJSON_IsString(mt) || !*mt->valuestring)
		return op_err_set(err, -EINVAL, "%s[%zu] has no mediaType", what, i);
	d->media_type = mt->valuestring;
	if (!cJSON_IsString(dg) || !oci_digest_valid(dg->valuestring))
		return op_err_set(err, -EINVAL, "%s[%zu] has no valid sha256 digest", what, i);
	snprintf(d->digest, sizeof(d->digest), "%s", dg->valuestring);
	v = cJSON_IsNumber(sz) ? sz->valuedouble : -1;
	if (v < 0 || v > 9007199254740992.0 || v != (double)(uint64_t)v)
		return op_err_set(err, -EINVAL, "%s[%zu] has no valid size", what, i);
	d->size = (uint64_t)v;
	if (cJSON_IsObject(an))
		d->annotations = an;
	if (cJSON_IsObject(pf)) {
		d->os = yj_get_str(pf, "/os");
		d->arch = yj_get_str(pf, "/architecture");
		d->variant = yj_get_str(pf, "/variant");
	}
	return 0;
}

int oci_manifest_parse(const char *body, size_t len, const char *content_type,
		       struct oci_manifest **ret, struct op_err *reterr)
{
	struct oci_manifest *m;
	const cJSON *sv, *mt, *list, *it;
	char hex[65];
	size_t n;
	int r;

	if (len > OCI_MAX_MANIFEST)
		return op_err_set(reterr, -EFBIG, "manifest is larger than %u bytes", OCI_MAX_MANIFEST);
	m = xcalloc(1, sizeof(*m));
	m->json = cJSON_ParseWithLength(body, len);
	if (!cJSON_IsObject(m->json)) {
		r = op_err_set(reterr, -EINVAL, "manifest is not a JSON object");
		goto fail;
	}
	yj_sha256_hex(body, len, hex);
	snprintf(m->digest, sizeof(m->digest), "sha256:%s", hex);
	m->size = len;
	mt = cJSON_GetObjectItemCaseSensitive(m->json, "mediaType");
	if (cJSON_IsString(mt) && *mt->valuestring)
		media_type_of(mt->valuestring, m->media_type, sizeof(m->media_type));
	else
		media_type_of(content_type, m->media_type, sizeof(m->media_type));
	sv = cJSON_GetObjectItemCaseSensitive(m->json, "schemaVersion");
	if (str_startswith(m->media_type, "application/vnd.docker.distribution.manifest.v1") ||
	    (cJSON_IsNumber(sv) && sv->valuedouble == 1)) {
		r = op_err_set(reterr, -EINVAL, "unsupported Docker schema 1 manifest");
		goto fail;
	}
	if (!cJSON_IsNumber(sv) || sv->valuedouble != 2) {
		r = op_err_set(reterr, -EINVAL, "manifest schemaVersion is not 2");
		goto fail;
	}
	if (streq(m->media_type, OCI_MT_INDEX) || streq(m->media_type, OCI_MT_DOCKER_LIST))
		m->is_index = true;
	else if (!*m->media_type || streq(m->media_type, "application/json") ||
		 streq(m->media_type, "application/octet-stream"))
		/* No type said: an index has "manifests", an image "layers". */
		m->is_index = cJSON_GetObjectItemCaseSensitive(m->json, "manifests") != NULL;
	else if (!streq(m->media_type, OCI_MT_MANIFEST) && !streq(m->media_type, OCI_MT_DOCKER_MANIFEST)) {
		r = op_err_set(reterr, -EINVAL, "unsupported manifest media type '%s'", m->media_type);
		goto fail;
	}
	if (!*m->media_type || !str_startswith(m->media_type, "application/vnd."))
		snprintf(m->media_type, sizeof(m->media_type), "%s",
			 m->is_index ? OCI_MT_INDEX : OCI_MT_MANIFEST);
	list = cJSON_GetObjectItemCaseSensitive(m->json, m->is_index ? "manifests" : "layers");
	if (list && !cJSON_IsArray(list)) {
		r = op_err_set(reterr, -EINVAL, "manifest %s is not an array",
			       m->is_index ? "manifests" : "layers");
		goto fail;
	}
	n = (size_t)cJSON_GetArraySize(list);
	if (n > OCI_MAX_DESCS) {
		r = op_err_set(reterr, -E2BIG, "manifest has more than %d descriptors", OCI_MAX_DESCS);
		goto fail;
	}
	m->descs = xcalloc(n + 1, sizeof(*m->descs));
	cJSON_ArrayForEach(it, list) {
		r = parse_desc(it, &m->descs[m->n_descs], m->is_index ? "manifests" : "layers",
			       m->n_descs, reterr);
		if (r < 0)
			goto fail;
		m->n_descs++;
	}
	if (!m->is_index) {
		r = parse_desc(cJSON_GetObjectItemCaseSensitive(m->json, "config"), &m->config,
			       "config", 0, reterr);
		if (r < 0) {
			op_err_prefix(reterr, "manifest");
			goto fail;
		}
	}
	it = cJSON_GetObjectItemCaseSensitive(m->json, "annotations");
	if (cJSON_IsObject(it))
		m->annotations = it;
	*ret = m;
	return 0;
fail:
	oci_manifest_free(m);
	return r;
}

void oci_manifest_free(struct oci_manifest *m)
{
	if (!m)
		return;
	cJSON_Delete(m->json);
	free(m->descs);
	free(m);
}

const struct oci_desc *oci_index_pick(const struct oci_manifest *idx, const char *os,
				      const char *arch)
{
	if (!os)
		os = "linux";
	if (!arch)
		arch = "amd64";
	for (size_t i = 0; i < idx->n_descs; i++) {
		const struct oci_desc *d = &idx->descs[i];

		if (!d->os && !d->arch)
			return d;
		if (streq_ptr(d->os, os) && streq_ptr(d->arch, arch))
			return d;
	}
	return NULL;
}

/* ---- WWW-Authenticate ---- */

/* Skip blanks (and, with commas, list separators). */
static const char *skip_ws(const char *p, const char *end, bool commas)
{
	while (p < end && (*p == ' ' || *p == '\t' || (commas && *p == ',')))
		p++;
	return p;
}

static bool is_token_char(char ch)
{
	return ch > ' ' && ch < 127 && !strchr("\"(),/:;<=>?@[\\]{}", ch);
}

int oci_challenge_parse(const char *hdr, size_t len, struct oci_challenge *ret)
{
	const char *p = hdr, *end = hdr + len;
	struct oci_challenge best = { 0 }, cur;
	bool have = false;

	while ((p = skip_ws(p, end, true)) < end) {
		const char *s = p;

		memset(&cur, 0, sizeof(cur));
		while (p < end && is_token_char(*p))
			p++;
		if (p == s)
			return -EINVAL;
		snprintf(cur.scheme, sizeof(cur.scheme), "%.*s", (int)(p - s), s);
		for (char *q = cur.scheme; *q; q++)
			*q = (char)((*q >= 'A' && *q <= 'Z') ? *q + 32 : *q);
		/* Parameters: name=value or name="quoted", comma separated. */
		for (;;) {
			const char *save = p, *ns, *ne;
			char val[1024];
			size_t vl = 0;

			p = skip_ws(p, end, true);
			ns = p;
			while (p < end && is_token_char(*p))
				p++;
			ne = p;
			p = skip_ws(p, end, false);
			if (ns == ne || p >= end || *p != '=') {
				/* Not a parameter: the next challenge's scheme. */
				p = save;
				break;
			}
			p = skip_ws(p + 1, end, false);
			if (p < end && *p == '"') {
				for (p++; p < end && *p != '"'; p++) {
					if (*p == '\\' && p + 1 < end)
						p++;
					if (vl + 1 < sizeof(val))
						val[vl++] = *p;
				}
				if (p >= end)
					return -EINVAL;
				p++;
			} else {
				while (p < end && *p != ',' && *p != ' ' && *p != '\t') {
					if (vl + 1 < sizeof(val))
						val[vl++] = *p;
					p++;
				}
			}
			val[vl] = '\0';
#define PARAM(name, field)                                                                         \
	if ((size_t)(ne - ns) == strlen(name) && strncasecmp(ns, name, (size_t)(ne - ns)) == 0)    \
		snprintf(cur.field, sizeof(cur.field), "%s", val)
			PARAM("realm", realm);
			PARAM("service", service);
			PARAM("scope", scope);
			PARAM("error", error);
#undef PARAM
		}
		if (!have || ((streq(cur.scheme, "basic") || streq(cur.scheme, "bearer")) &&
			      !streq(best.scheme, "basic") && !streq(best.scheme, "bearer"))) {
			best = cur;
			have = true;
		}
	}
	if (!have)
		return -EINVAL;
	*ret = best;
	return 0;
}

/* ---- docker config ---- */

void oci_cred_release(struct oci_cred *c)
{
	if (!c)
		return;
	free(c->username);
	free_secret(c->password);
	free_secret(c->identity_token);
	free_secret(c->registry_token);
	memset(c, 0, sizeof(*c));
}

/* Split "host[:port]" off `key` (scheme and /v1/, /v2/ gone) into parts. */
static void key_normalise(const char *key, char *host, size_t hn, char *path, size_t pn)
{
	const char *s = key, *slash;
	size_t len;

	if (strstr(s, "://"))
		s = strstr(s, "://") + 3;
	slash = strchr(s, '/');
	len = slash ? (size_t)(slash - s) : strlen(s);
	snprintf(host, hn, "%.*s", (int)len, s);
	path[0] = '\0';
	if (slash) {
		const char *pth = slash + 1;
		size_t pl = strlen(pth);

		while (pl && pth[pl - 1] == '/')
			pl--;
		if (!((pl == 2 && strncmp(pth, "v1", 2) == 0) || (pl == 2 && strncmp(pth, "v2", 2) == 0)))
			snprintf(path, pn, "%.*s", (int)pl, pth);
	}
}

static size_t count_char(const char *s, char ch)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == ch;
	return n;
}

/* Does the key host (glob labels) match `host`?  Same port, same label count. */
static bool host_glob_match(const char *pat, const char *host)
{
	char pb[256], hb[256], *pp, *hp, *ps, *hs;
	const char *pport = strrchr(pat, ':'), *hport = strrchr(host, ':');

	if (!streq_ptr(pport, hport) && !(pport && hport && streq(pport, hport)))
		return false;
	snprintf(pb, sizeof(pb), "%.*s", (int)(pport ? (size_t)(pport - pat) : strlen(pat)), pat);
	snprintf(hb, sizeof(hb), "%.*s", (int)(hport ? (size_t)(hport - host) : strlen(host)), host);
	if (count_char(pb, '.') != count_char(hb, '.'))
		return false;
	for (pp = pb, hp = hb; (ps = strsep(&pp, ".")) && (hs = strsep(&hp, "."));)
		if (fnmatch(ps, hs, FNM_CASEFOLD) != 0)
			return false;
	return true;
}

struct cand {
	const char *key;
	const cJSON *entry;
};

static int cand_cmp(const void *a, const void *b)
{
	/* Reverse lexical: the most specific (longest path) first. */
	return strcmp(((const struct cand *)b)->key, ((const struct cand *)a)->key);
}

int oci_docker_config_lookup(const char *json, const char *host, const char *repo,
			     struct oci_cred *ret, struct op_err *reterr)
{
	cJSON *root = cJSON_Parse(json);
	const cJSON *auths, *it;
	struct cand *cands;
	size_t n = 0;
	int r = -ENOENT;

	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return op_err_set(reterr, -EINVAL, "the docker config is not a JSON object");
	}
	auths = cJSON_GetObjectItemCaseSensitive(root, "auths");
	if (!auths)
		auths = root; /* .dockercfg: the map alone */
	if (!cJSON_IsObject(auths)) {
		cJSON_Delete(root);
		return op_err_set(reterr, -EINVAL, "the docker config's auths is not an object");
	}
	cands = xcalloc((size_t)cJSON_GetArraySize(auths) + 1, sizeof(*cands));
	cJSON_ArrayForEach(it, auths) {
		char kh[256], kp[256];

		if (!cJSON_IsObject(it))
			continue;
		key_normalise(it->string, kh, sizeof(kh), kp, sizeof(kp));
		if (!host_glob_match(kh, host))
			continue;
		if (*kp && !(str_startswith(repo, kp) &&
			     (repo[strlen(kp)] == '\0' || repo[strlen(kp)] == '/')))
			continue;
		cands[n].key = it->string;
		cands[n++].entry = it;
	}
	qsort(cands, n, sizeof(*cands), cand_cmp);
	if (n) {
		const cJSON *e = cands[0].entry;
		const char *user = yj_get_str(e, "/username"), *pass = yj_get_str(e, "/password");
		const char *auth = yj_get_str(e, "/auth");
		struct oci_cred c = { 0 };

		if (auth && *auth) {
			char *dec = NULL, *colon;
			size_t dl;

			if (b64_decode(auth, &dec, &dl) < 0 || !(colon = memchr(dec, ':', dl))) {
				free_secret(dec);
				r = op_err_set(reterr, -EINVAL, "the docker config's auth for '%s' is "
					       "not base64 of user:password", cands[0].key);
				goto out;
			}
			*colon = '\0';
			c.username = xstrdup(dec);
			c.password = xstrdup(colon + 1);
			free_secret(dec);
		}
		if (user && *user) {
			free(c.username);
			c.username = xstrdup(user);
		}
		if (pass && *pass) {
			free_secret(c.password);
			c.password = xstrdup(pass);
		}
		if (yj_get_str(e, "/identitytoken") && *yj_get_str(e, "/identitytoken"))
			c.identity_token = xstrdup(yj_get_str(e, "/identitytoken"));
		if (yj_get_str(e, "/registrytoken") && *yj_get_str(e, "/registrytoken"))
			c.registry_token = xstrdup(yj_get_str(e, "/registrytoken"));
		*ret = c;
		r = 0;
	}
out:
	free(cands);
	cJSON_Delete(root);
	return r;
}

/* ---- semver ---- */

/* Flux's ParseVersion: exactly three dot-separated numbers before any "-" or "+". */
static int parse_version3(const char *t, struct semver *v)
{
	size_t core = strcspn(t, "-+");
	size_t dots = 0;

	for (size_t i = 0; i < core; i++)
		dots += t[i] == '.';
	if (dots != 2)
		return -EINVAL;
	return semver_parse(t, v);
}

/* A tag read as a version, Helm's "_" for "+" when asked. */
static int tag_version(const char *tag, bool helm, struct semver *v)
{
	char vs[OCI_TAG_MAX + 1];

	snprintf(vs, sizeof(vs), "%s", tag);
	if (helm)
		for (char *q = vs; *q; q++)
			if (*q == '_')
				*q = '+';
	return parse_version3(vs, v);
}

int oci_tags_filter(const char **tags, size_t n, const char *constraint, const char *filter,
		    bool helm, struct op_err *reterr)
{
	struct semver_constraint *sc = NULL;
	struct regex *re = NULL;
	size_t kept = 0;
	int r;

	if (filter && *filter) {
		char *msg = NULL;

		/* Go's regexp, as flux compiles it (RE2: linear and bounded) */
		r = regex_compile(filter, strlen(filter), &re, &msg);
		free(msg);
		if (r < 0)
			return op_err_set(reterr, -EINVAL, "regex '%s' parse error", filter);
	}
	if (constraint && (r = semver_constraint_parse(constraint, &sc, reterr)) < 0) {
		op_err_prefix(reterr, "semver '%s' parse error", constraint);
		regex_free(re);
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		struct semver v;

		if (re && !regex_match(re, tags[i], strlen(tags[i])))
			continue;
		if (sc && (tag_version(tags[i], helm, &v) < 0 || !semver_satisfies(sc, &v)))
			continue;
		tags[kept++] = tags[i];
	}
	semver_constraint_free(sc);
	regex_free(re);
	return (int)kept;
}

int oci_semver_pick(const char *const *tags, size_t n, const char *constraint,
		    const char *filter, bool helm, char ret[OCI_TAG_MAX + 1],
		    struct op_err *reterr)
{
	const char **kept = xcalloc(n + 1, sizeof(*kept)), *best_tag = NULL;
	struct semver best = { 0 };
	int k;

	memcpy(kept, tags, n * sizeof(*kept));
	k = oci_tags_filter(kept, n, constraint, filter, helm, reterr);
	for (int i = 0; i < k; i++) {
		struct semver v;

		if (tag_version(kept[i], helm, &v) == 0 && (!best_tag || semver_cmp(&v, &best) > 0)) {
			best = v;
			best_tag = kept[i];
		}
	}
	if (k >= 0 && !best_tag)
		k = op_err_set(reterr, -ENOENT, "no match found for semver: %s", constraint);
	if (best_tag)
		snprintf(ret, OCI_TAG_MAX + 1, "%s", best_tag);
	free(kept);
	return k < 0 ? k : 0;
}

static cJSON *desc_json(const struct oci_desc *d)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "mediaType", d->media_type);
	cJSON_AddStringToObject(j, "digest", d->digest);
	cJSON_AddNumberToObject(j, "size", (double)d->size);
	if (d->annotations)
		cJSON_AddItemToObject(j, "annotations", cJSON_Duplicate(d->annotations, 1));
	return j;
}

char *oci_manifest_build(const struct oci_desc *config, const struct oci_desc *layer,
			 const cJSON *annotations)
{
	cJSON *m = cJSON_CreateObject(), *layers;
	char *s;

	cJSON_AddNumberToObject(m, "schemaVersion", 2);
	cJSON_AddStringToObject(m, "mediaType", OCI_MT_MANIFEST);
	/* Now owned by the manifest. */
	cJSON_AddItemToObject(m, "config", desc_json(config));
	layers = cJSON_AddArrayToObject(m, "layers");
	cJSON_AddItemToArray(layers, desc_json(layer));
	if (annotations)
		cJSON_AddItemToObject(m, "annotations", cJSON_Duplicate(annotations, 1));
	s = cJSON_PrintUnformatted(m);
	cJSON_Delete(m);
	return s;
}

/* ================================================================== */
/* The client and its requests                                        */

struct rreq;
typedef void (*rreq_done_fn)(struct rreq *rq, int r, const struct http_resp *resp,
			     const struct op_err *err);

struct oci_client {
	uv_loop_t *loop;
	struct kube_http *http;
	char host[256], repo[256];
	char name[512];             /* "host/repo" */
	const char *scheme;         /* "https", or "http" after a fallback */
	bool scheme_known;          /* a response came back on it */
	bool may_http;              /* insecure, or a host that can only be local */
	struct oci_cred cred;
	char *token;                /* the bearer token, once fetched */
	bool basic;                 /* the registry asked for basic auth */
	bool push;
	bool client_cert;           /* a client certificate was given */
	uint64_t deadline;          /* uv_now() ms; 0: none */
	uint64_t timeout_ms;
	unsigned ops;               /* operations that have not called back */
	bool closing, http_closed;
	void (*close_cb)(void *);
	void *close_payload;
};

struct rreq {
	struct oci_client *c;
	const char *method;
	char *path;        /* "/v2/...", relative to the registry; NULL for a foreign URL */
	char *url;         /* the URL sent */
	const char *accept;
	const char *ctype; /* Content-Type of the body */
	const char *body;  /* borrowed from the operation */
	size_t body_len;
	ssize_t (*body_read)(char *dst, size_t n, void *payload);
	http_data_cb on_data;
	size_t max_body;
	unsigned max_redirects;
	bool anonymous;    /* a token request: our credentials go in `auth` instead */
	char *auth;        /* an explicit Authorization header line, or NULL */
	char *owned_body;  /* a body the request owns (a token exchange's form) */
	bool auth_tried;   /* a 401 was answered once already */
	bool fell_back;    /* sent again over plain HTTP after tls_err */
	struct op_err tls_err;
	rreq_done_fn done;
	void *op;          /* the operation this request belongs to */
	struct rreq *parked; /* a token request: the request waiting for it */
};

static void client_maybe_free(struct oci_client *c)
{
	void (*cb)(void *);
	void *payload;

	if (!c->closing || !c->http_closed || c->ops)
		return;
	cb = c->close_cb;
	payload = c->close_payload;
	oci_cred_release(&c->cred);
	free_secret(c->token);
	free(c);
	if (cb)
		cb(payload);
}

static void op_hold(struct oci_client *c)
{
	c->ops++;
}

static void op_release(struct oci_client *c)
{
	c->ops--;
	client_maybe_free(c);
}

/* A host that can only be reached locally: Flux lets it speak plain HTTP. */
static bool host_is_local(const char *hostport)
{
	char h[256];
	const char *end = hostport + strlen(hostport);
	unsigned char a[16];

	if (hostport[0] == '[') {
		const char *rb = strchr(hostport, ']');

		snprintf(h, sizeof(h), "%.*s", rb ? (int)(rb - hostport - 1) : 0, hostport + 1);
	} else {
		const char *colon = strchr(hostport, ':');

		snprintf(h, sizeof(h), "%.*s", (int)((colon ? colon : end) - hostport), hostport);
	}
	if (strcasecmp(h, "localhost") == 0 || str_endswith(h, ".localhost"))
		return true;
	if (inet_pton(AF_INET, h, a) == 1)
		return a[0] == 127 || a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
		       (a[0] == 192 && a[1] == 168) || (a[0] == 169 && a[1] == 254);
	if (inet_pton(AF_INET6, h, a) == 1) {
		static const unsigned char lo[16] = { [15] = 1 };

		return memcmp(a, lo, 16) == 0 || (a[0] & 0xfe) == 0xfc ||
		       (a[0] == 0xfe && (a[1] & 0xc0) == 0x80);
	}
	return false;
}

int oci_client_new(uv_loop_t *loop, const struct oci_client_opts *o, struct oci_client **ret,
		   struct op_err *reterr)
{
	struct http_opts ho = HTTP_OPTS_INIT;
	struct oci_client *c;
	int r;

	if (!o->host || !*o->host || !o->repo || !*o->repo)
		return op_err_set(reterr, -EINVAL, "no registry host or repository given");
	c = xcalloc(1, sizeof(*c));
	c->loop = loop;
	snprintf(c->host, sizeof(c->host), "%s", o->host);
	snprintf(c->repo, sizeof(c->repo), "%s", o->repo);
	snprintf(c->name, sizeof(c->name), "%s/%s", c->host, c->repo);
	c->scheme = "https";
	c->may_http = o->insecure || o->allow_http || host_is_local(c->host);
	c->push = o->push;
	c->timeout_ms = o->timeout_ms;
	if (o->timeout_ms)
		c->deadline = uv_now(loop) + o->timeout_ms;
	if (o->username && *o->username) {
		c->cred.username = xstrdup(o->username);
		c->cred.password = xstrdup(o->password ? o->password : "");
	} else {
		for (size_t i = 0; i < o->n_docker_configs && o->docker_configs[i]; i++) {
			r = oci_docker_config_lookup(o->docker_configs[i], c->host, c->repo, &c->cred,
						     reterr);
			if (r == -ENOENT)
				continue;
			if (r < 0) {
				free(c);
				return r;
			}
			break;
		}
	}
	if (c->cred.registry_token)
		c->token = xstrdup(c->cred.registry_token);
	ho.ca_pem = o->ca_pem;
	ho.cert_pem = o->cert_pem;
	ho.key_pem = o->key_pem;
	c->client_cert = o->cert_pem && *o->cert_pem;
	/* Flux's insecure: plain HTTP allowed and TLS not verified. */
	ho.insecure = o->insecure;
	/*
	 * HTTP/1.1: one fetch is a sequence of requests, so HTTP/2 would
	 * multiplex nothing, and a paused blob stream must hold back its own
	 * connection only.
	 */
	ho.no_http2 = true;
	ho.proxy_url = o->proxy_url;
	ho.proxy_user = o->proxy_user;
	ho.proxy_pass = o->proxy_pass;
	ho.no_env_proxy = o->no_env_proxy;
	ho.user_agent = o->user_agent ? o->user_agent : "cflux";
	r = http_new(loop, &ho, &c->http, reterr);
	if (r < 0) {
		oci_cred_release(&c->cred);
		free(c);
		return r;
	}
	*ret = c;
	return 0;
}

static void http_closed_cb(void *payload)
{
	struct oci_client *c = payload;

	c->http_closed = true;
	client_maybe_free(c);
}

void oci_client_close(struct oci_client *c, void (*cb)(void *payload), void *payload)
{
	if (!c)
		return;
	c->closing = true;
	c->close_cb = cb;
	c->close_payload = payload;
	/* Every transfer's callback runs with -ECANCELED before this returns. */
	http_close(c->http, http_closed_cb, c);
}

const char *oci_client_name(const struct oci_client *c)
{
	return c->name;
}

static void rreq_free(struct rreq *rq)
{
	if (!rq)
		return;
	free(rq->path);
	free(rq->url);
	free_secret(rq->auth);
	free_secret(rq->owned_body);
	free(rq);
}

static int rreq_send(struct rreq *rq, struct op_err *err);

/*
 * Send an operation's first request.  On success the operation holds the
 * client (op_release() when it calls back); on failure `rq` is freed and
 * the caller frees its operation.
 */
static int op_first(struct rreq *rq)
{
	int r = rreq_send(rq, NULL);

	if (r < 0) {
		rreq_free(rq);
		return r;
	}
	op_hold(rq->c);
	return 0;
}

static struct rreq *rreq_new(struct oci_client *c, const char *method, rreq_done_fn done,
			     void *op)
{
	struct rreq *rq = xcalloc(1, sizeof(*rq));

	rq->c = c;
	rq->method = method;
	rq->done = done;
	rq->op = op;
	return rq;
}

static void rreq_http_done(struct http_req *req, int r, const struct http_resp *resp,
			   const struct op_err *err, void *payload);

/* "Authorization: Basic <base64 user:pass>" (malloc'd). */
static char *basic_header(const struct oci_cred *cred)
{
	char *plain = xasprintf("%s:%s", cred->username ? cred->username : "",
				cred->password ? cred->password : "");
	char *enc = b64_encode(plain, strlen(plain));
	char *out = xasprintf("Authorization: Basic %s", enc);

	free_secret(plain);
	free_secret(enc);
	return out;
}

/* The time left before the client's deadline, in ms: 0 means none set. */
static int time_left(struct oci_client *c, uint64_t *ret, struct op_err *err)
{
	uint64_t now = uv_now(c->loop);

	*ret = 0;
	if (!c->deadline)
		return 0;
	if (now >= c->deadline)
		return op_err_set(err, -ETIMEDOUT, "timeout of %llu ms reached for '%s'",
				  (unsigned long long)c->timeout_ms, c->name);
	*ret = c->deadline - now;
	return 0;
}

/*
 * Send `rq` (again).  0, or a negative errno with `err` set; `done` is
 * not called then.
 */
static int rreq_send(struct rreq *rq, struct op_err *err)
{
	struct oci_client *c = rq->c;
	struct http_req_opts o = HTTP_REQ_OPTS_INIT;
	const char *hdrs[5];
	char *auth = NULL, *ctype = NULL;
	size_t nh = 0;
	int r;

	if (c->closing)
		return op_err_set(err, -ECANCELED, "cancelled");
	r = time_left(c, &o.timeout_ms, err);
	if (r < 0)
		return r;
	if (rq->path) {
		free(rq->url);
		rq->url = xasprintf("%s://%s%s", c->scheme, c->host, rq->path);
	}
	if (rq->accept)
		hdrs[nh++] = rq->accept;
	if (rq->ctype) {
		ctype = xasprintf("Content-Type: %s", rq->ctype);
		hdrs[nh++] = ctype;
	}
	if (rq->auth)
		hdrs[nh++] = rq->auth;
	else if (!rq->anonymous && c->token)
		hdrs[nh++] = auth = xasprintf("Authorization: Bearer %s", c->token);
	else if (!rq->anonymous && c->basic && c->cred.username)
		hdrs[nh++] = auth = basic_header(&c->cred);
	hdrs[nh] = NULL;
	o.method = rq->method;
	o.url = rq->url;
	o.headers = hdrs;
	o.body = rq->body;
	o.body_len = rq->body_len;
	o.body_read = rq->body_read;
	o.on_data = rq->on_data;
	o.max_body = rq->max_body ? rq->max_body : MAX_ERROR_BODY;
	o.max_redirects = rq->max_redirects;
	r = http_request(c->http, &o, rreq_http_done, rq, NULL);
	free_secret(auth);
	free(ctype);
	if (r == -ESHUTDOWN)
		return op_err_set(err, -ECANCELED, "cancelled");
	if (r < 0)
		return op_err_set(err, r, "%s %s: %s", rq->method, rq->url, op_strerror(r));
	return 0;
}

/*
 * The registry's explanation of a failed response, into err: "<METHOD>
 * <url>: <status> <CODE>: <message>" from the distribution error body
 * when there is one.
 */
static int resp_error(const struct rreq *rq, const struct http_resp *resp, struct op_err *err)
{
	cJSON *j = resp->body_len ? cJSON_ParseWithLength(resp->body, resp->body_len) : NULL;
	const cJSON *e0 = cJSON_GetArrayItem(yj_get(j, "/errors"), 0);
	const char *code = yj_get_str(e0, "/code"), *msg = yj_get_str(e0, "/message");
	int r = resp->status == 404 ? -ENOENT :
		resp->status == 401 || resp->status == 403 ? -EACCES :
		resp->status == 429 ? -EAGAIN : -EIO;

	if (code)
		op_err_set(err, r, "%s %s: %ld %s: %s", rq->method, rq->url, resp->status, code,
			   msg ? msg : "");
	else if (streq(rq->method, "HEAD"))
		op_err_set(err, r, "%s %s: unexpected status code %ld", rq->method, rq->url,
			   resp->status);
	else
		op_err_set(err, r, "%s %s: unexpected status code %ld: %.80s", rq->method, rq->url,
			   resp->status, resp->body);
	err->http_status = resp->status;
	err->retry_after = resp->retry_after;
	cJSON_Delete(j);
	return r;
}

static void token_done(struct rreq *trq, int r, const struct http_resp *resp,
		       const struct op_err *err);

/*
 * Fetch a bearer token for `ch` and send `rq` again with it (from
 * token_done).  0, or a negative errno with err set.
 */
static int token_fetch(struct rreq *rq, const struct oci_challenge *ch, struct op_err *err)
{
	struct oci_client *c = rq->c;
	struct rreq *t;
	struct buf q = BUF_INIT(8192);
	char mine[600];
	int r;

	/* The realm is where our password goes: never over plain HTTP to a
	 * registry that must speak TLS. */
	if (!str_startswith(ch->realm, "https://") &&
	    !(str_startswith(ch->realm, "http://") && c->may_http))
		return op_err_set(err, -EACCES, "token realm '%.100s' is not an https URL", ch->realm);
	snprintf(mine, sizeof(mine), "repository:%s:%s", c->repo, c->push ? "push,pull" : "pull");
	if (*ch->service) {
		(void)buf_adds(&q, "service=");
		(void)buf_add_uri_escaped(&q, ch->service, false);
		(void)buf_addch(&q, '&');
	}
	/* Ours first, then the challenge's if it differs: some registries
	 * read the first scope only. */
	(void)buf_adds(&q, "scope=");
	(void)buf_add_uri_escaped(&q, mine, false);
	if (*ch->scope && !streq(ch->scope, mine)) {
		(void)buf_adds(&q, "&scope=");
		(void)buf_add_uri_escaped(&q, ch->scope, false);
	}
	t = rreq_new(c, c->cred.identity_token ? "POST" : "GET", token_done, rq->op);
	t->parked = rq;
	t->anonymous = true;
	t->max_body = MAX_TOKEN_BODY;
	t->max_redirects = 3;
	if (c->cred.identity_token) {
		/* OAuth2: exchange the identity (refresh) token. */
		(void)buf_adds(&q, "&grant_type=refresh_token&client_id=cflux&refresh_token=");
		(void)buf_add_uri_escaped(&q, c->cred.identity_token, false);
		t->url = xstrdup(ch->realm);
		t->ctype = "application/x-www-form-urlencoded";
		t->owned_body = buf_detach(&q, &t->body_len);
		t->body = t->owned_body;
	} else {
		t->url = xasprintf("%s%c%s", ch->realm, strchr(ch->realm, '?') ? '&' : '?', q.buf);
		if (c->cred.username)
			t->auth = basic_header(&c->cred);
	}
	buf_release(&q);
	r = rreq_send(t, err);
	if (r < 0)
		rreq_free(t);
	return r;
}

/* The token answer: keep the token and send the parked request again. */
static void token_done(struct rreq *trq, int r, const struct http_resp *resp,
		       const struct op_err *err)
{
	struct rreq *rq = trq->parked;
	struct oci_client *c = trq->c;
	struct op_err e = OP_ERR_INIT;
	struct http_resp none = { 0 };
	cJSON *j = NULL;
	const char *tok;

	if (r < 0) {
		e = *err;
		op_err_prefix(&e, "token request failed");
		goto fail;
	}
	if (resp->status != 200) {
		r = resp_error(trq, resp, &e);
		op_err_prefix(&e, "%s", c->cred.username || c->cred.identity_token ?
			      "the token server refused the credentials" :
			      "the token server refused an anonymous token (no credentials given)");
		goto fail;
	}
	j = cJSON_ParseWithLength(resp->body, resp->body_len);
	tok = yj_get_str(j, "/token");
	if (!tok || !*tok)
		tok = yj_get_str(j, "/access_token");
	if (!tok || !*tok) {
		r = op_err_set(&e, -EACCES, "the token server at '%.100s' sent no token",
			       trq->url);
		goto fail;
	}
	free_secret(c->token);
	c->token = xstrdup(tok);
	cJSON_Delete(j);
	j = NULL;
	rreq_free(trq);
	r = rreq_send(rq, &e);
	if (r < 0)
		rq->done(rq, r, &none, &e);
	return;
fail:
	cJSON_Delete(j);
	e.code = r;
	rreq_free(trq);
	rq->done(rq, r, &none, &e);
}

/*
 * A response arrived (or the transfer failed): fall back to plain HTTP,
 * answer a 401, or hand the result to the request's owner.
 */
static void rreq_http_done(struct http_req *req, int r, const struct http_resp *resp,
			   const struct op_err *err, void *payload)
{
	struct rreq *rq = payload;
	struct oci_client *c = rq->c;
	struct op_err e = OP_ERR_INIT;

	if (r == -EPROTO && rq->path && !c->scheme_known && c->may_http && !c->closing &&
	    streq(c->scheme, "https")) {
		/* No TLS there: a plain-HTTP registry on a local address? */
		rq->tls_err = *err;
		rq->fell_back = true;
		c->scheme = "http";
		if (rreq_send(rq, &e) == 0)
			return;
		rq->done(rq, e.code, resp, &e);
		return;
	}
	if (rq->fell_back && (r < 0 || resp->status == 400)) {
		/* No registry over plain HTTP either: the TLS failure is what to report. */
		c->scheme = "https";
		rq->done(rq, rq->tls_err.code, resp, &rq->tls_err);
		return;
	}
	if (r < 0 && err && streq(c->scheme, "https") &&
	    (strstr(err->msg, "alert bad certificate") ||
	     strstr(err->msg, "alert certificate required"))) {
		/*
		 * A registry that requires a client certificate (mutual TLS)
		 * answers a handshake without one, or with one it does not
		 * trust, with this alert; OpenSSL's words do not say which.
		 */
		const char *q = strstr(err->msg, "': ");
		int n = q ? (int)(q - err->msg) + 1 : (int)strlen(err->msg);

		e = *err;
		op_err_set(&e, r, "%.*s: the registry refused the TLS handshake (%s): %s", n, err->msg,
			   strstr(err->msg, "bad certificate") ? "alert bad certificate"
							       : "alert certificate required",
			   c->client_cert ? "it does not accept the client certificate given"
					  : "it requires a client certificate, and none was given");
		rq->done(rq, r, resp, &e);
		return;
	}
	if (r == 0 && rq->path)
		c->scheme_known = true;
	if (r == 0 && resp->status == 401 && !rq->auth_tried && !rq->anonymous && !c->closing) {
		struct oci_challenge ch;
		const char *hv;
		size_t hl;

		rq->auth_tried = true;
		if (http_resp_header(resp, "WWW-Authenticate", &hv, &hl) == 0 &&
		    oci_challenge_parse(hv, hl, &ch) == 0) {
			if (streq(ch.scheme, "bearer") && *ch.realm) {
				if (token_fetch(rq, &ch, &e) == 0)
					return;
				rq->done(rq, e.code, resp, &e);
				return;
			}
			if (streq(ch.scheme, "basic") && c->cred.username) {
				c->basic = true;
				if (rreq_send(rq, &e) == 0)
					return;
				rq->done(rq, e.code, resp, &e);
				return;
			}
		}
	}
	rq->done(rq, r, resp, err);
}

/*
 * A 401 or 403 that survived our retry, explained: whether credentials
 * went out decides what the user has to fix.
 */
static int auth_error(const struct rreq *rq, const struct http_resp *resp, struct op_err *err)
{
	struct oci_client *c = rq->c;
	int r = resp_error(rq, resp, err);

	if (resp->status == 403)
		op_err_prefix(err, "access denied to '%s'", c->name);
	else if (c->cred.username || c->cred.identity_token || c->cred.registry_token)
		op_err_prefix(err, "authentication to '%s' failed: the registry refused the "
			      "credentials", c->host);
	else
		op_err_prefix(err, "authentication to '%s' required: no credentials given", c->host);
	return r;
}

/* The common failure of a registry answer: auth errors explained, others as they are. */
static int status_error(const struct rreq *rq, const struct http_resp *resp, struct op_err *err)
{
	if (resp->status == 401 || resp->status == 403)
		return auth_error(rq, resp, err);
	return resp_error(rq, resp, err);
}

/* ================================================================== */
/* Manifests                                                          */

/* A request for manifest `ref` (a tag or a digest) with every type we read in Accept. */
static struct rreq *manifest_request(struct oci_client *c, const char *method, const char *ref,
				     rreq_done_fn done, void *op)
{
	struct rreq *rq = rreq_new(c, method, done, op);

	rq->path = xasprintf("/v2/%s/manifests/%s", c->repo, ref);
	rq->accept = ACCEPT_MANIFESTS;
	return rq;
}

struct mf_op {
	struct oci_client *c;
	char ref[ARTIFACT_DIGEST_MAX + OCI_TAG_MAX];
	oci_manifest_cb cb;
	void *payload;
};

static void mf_done(struct rreq *rq, int r, const struct http_resp *resp,
		    const struct op_err *err)
{
	struct mf_op *op = rq->op;
	struct oci_client *c = op->c;
	struct oci_manifest *m = NULL;
	struct op_err e = OP_ERR_INIT;

	if (r == -EFBIG) {
		r = op_err_set(&e, -EFBIG, "GET %s: manifest is larger than %u bytes", rq->url,
			       OCI_MAX_MANIFEST);
	} else if (r < 0) {
		e = *err;
	} else if (resp->status != 200) {
		r = status_error(rq, resp, &e);
	} else {
		r = oci_manifest_parse(resp->body, resp->body_len, resp->content_type, &m, &e);
		if (r < 0)
			op_err_prefix(&e, "manifest '%s'", op->ref);
		else if (oci_digest_valid(op->ref) && !streq(m->digest, op->ref)) {
			r = op_err_set(&e, -EBADMSG, "manifest digest mismatch: asked for '%s', got "
				       "'%s'", op->ref, m->digest);
			oci_manifest_free(m);
			m = NULL;
		}
	}
	rreq_free(rq);
	/* Now owned by the callee. */
	op->cb(r, m, r < 0 ? &e : NULL, op->payload);
	free(op);
	op_release(c);
}

int oci_manifest_get(struct oci_client *c, const char *ref, oci_manifest_cb cb, void *payload)
{
	struct mf_op *op;
	struct rreq *rq;
	int r;

	if (!ref || (!oci_digest_valid(ref) && !tag_valid(ref)) || c->closing)
		return c->closing ? -ECANCELED : -EINVAL;
	op = xcalloc(1, sizeof(*op));
	op->c = c;
	snprintf(op->ref, sizeof(op->ref), "%s", ref);
	op->cb = cb;
	op->payload = payload;
	rq = manifest_request(c, "GET", ref, mf_done, op);
	rq->max_body = OCI_MAX_MANIFEST;
	r = op_first(rq);
	if (r < 0)
			free(op);
	return r;
}

struct resolve_op {
	struct oci_client *c;
	char ref[ARTIFACT_DIGEST_MAX + OCI_TAG_MAX];
	oci_resolve_cb cb;
	void *payload;
	char media_type[128];
};

static void resolve_finish(struct resolve_op *op, int r, const struct oci_desc *d,
			   const struct op_err *err)
{
	struct oci_client *c = op->c;

	op->cb(r, d, err, op->payload);
	free(op);
	op_release(c);
}

static void resolve_got(int r, struct oci_manifest *m, const struct op_err *err, void *payload)
{
	struct resolve_op *op = payload;
	struct oci_desc d = { 0 };

	if (r < 0) {
		resolve_finish(op, r, NULL, err);
		return;
	}
	snprintf(op->media_type, sizeof(op->media_type), "%s", m->media_type);
	d.media_type = op->media_type;
	snprintf(d.digest, sizeof(d.digest), "%s", m->digest);
	d.size = m->size;
	oci_manifest_free(m);
	resolve_finish(op, 0, &d, NULL);
}

static void resolve_head_done(struct rreq *rq, int r, const struct http_resp *resp,
			      const struct op_err *err)
{
	struct resolve_op *op = rq->op;
	struct oci_client *c = op->c;
	const char *dv, *lv;
	size_t dl, ll;
	int64_t len;

	if (r == 0 && resp->status == 200 &&
	    http_resp_header(resp, "Docker-Content-Digest", &dv, &dl) == 0 && dl == 71 &&
	    http_resp_header(resp, "Content-Length", &lv, &ll) == 0 &&
	    parse_int64_n(lv, ll, &len) == 0 && len >= 0 && *resp->content_type) {
		struct oci_desc d = { 0 };

		memcpy(d.digest, dv, dl);
		d.digest[dl] = '\0';
		if (oci_digest_valid(d.digest) &&
		    (!oci_digest_valid(op->ref) || streq(op->ref, d.digest))) {
			media_type_of(resp->content_type, op->media_type, sizeof(op->media_type));
			d.media_type = op->media_type;
			d.size = (uint64_t)len;
			rreq_free(rq);
			resolve_finish(op, 0, &d, NULL);
			return;
		}
	}
	rreq_free(rq);
	if (r == -ECANCELED || c->closing) {
		struct op_err e = OP_ERR_INIT;

		op_err_set(&e, -ECANCELED, "cancelled");
		resolve_finish(op, -ECANCELED, NULL, &e);
		return;
	}
	/* As go-containerregistry: what HEAD could not tell, GET does. */
	r = oci_manifest_get(c, op->ref, resolve_got, op);
	if (r < 0) {
		struct op_err e = OP_ERR_INIT;

		op_err_set(&e, r, "cannot get manifest '%s': %s", op->ref, op_strerror(r));
		resolve_finish(op, r, NULL, &e);
	}
}

int oci_resolve(struct oci_client *c, const char *ref, oci_resolve_cb cb, void *payload)
{
	struct resolve_op *op;
	struct rreq *rq;
	int r;

	if (!ref || (!oci_digest_valid(ref) && !tag_valid(ref)) || c->closing)
		return c->closing ? -ECANCELED : -EINVAL;
	op = xcalloc(1, sizeof(*op));
	op->c = c;
	snprintf(op->ref, sizeof(op->ref), "%s", ref);
	op->cb = cb;
	op->payload = payload;
	rq = manifest_request(c, "HEAD", ref, resolve_head_done, op);
	r = op_first(rq);
	if (r < 0)
			free(op);
	return r;
}

/* ================================================================== */
/* Tags                                                               */

struct tags_op {
	struct oci_client *c;
	char **tags;
	size_t n, alloc;
	unsigned pages;
	oci_tags_cb cb;
	void *payload;
};

static void tags_finish(struct tags_op *op, int r, const struct op_err *err)
{
	struct oci_client *c = op->c;

	op->cb(r, (const char *const *)op->tags, r < 0 ? 0 : op->n, err, op->payload);
	for (size_t i = 0; i < op->n; i++)
		free(op->tags[i]);
	free(op->tags);
	free(op);
	op_release(c);
}

/*
 * The next page's path from a Link header ("<url>; rel=\"next\""): a
 * path on this registry, or a URL with its scheme and host; anything
 * else is refused (a registry must not send us elsewhere).  NULL when
 * there is no next page; *bad set when there is one we refuse.
 */
static char *next_page(struct oci_client *c, const struct http_resp *resp, bool *bad)
{
	const char *v, *lt, *gt;
	size_t n;
	char *url, *base;

	*bad = false;
	if (http_resp_header(resp, "Link", &v, &n) < 0)
		return NULL;
	lt = memchr(v, '<', n);
	gt = lt ? memchr(lt, '>', n - (size_t)(lt - v)) : NULL;
	if (!lt || !gt || !memmem(gt, n - (size_t)(gt - v), "next", 4))
		return NULL;
	url = xstrndup(lt + 1, (size_t)(gt - lt - 1));
	if (url[0] == '/' && url[1] != '/')
		return url;
	base = xasprintf("%s://%s/", c->scheme, c->host);
	if (str_startswith(url, base)) {
		char *p = xstrdup(url + strlen(base) - 1);

		free(base);
		free(url);
		return p;
	}
	free(base);
	free(url);
	*bad = true;
	return NULL;
}

static void tags_page_done(struct rreq *rq, int r, const struct http_resp *resp,
			   const struct op_err *err)
{
	struct tags_op *op = rq->op;
	struct op_err e = OP_ERR_INIT;
	cJSON *j = NULL;
	const cJSON *it, *list;
	char *next = NULL;
	bool bad;

	if (r < 0) {
		e = *err;
		if (r == -EFBIG)
			op_err_set(&e, r, "GET %s: tag list page larger than %u bytes", rq->url,
				   OCI_MAX_MANIFEST);
		goto fail;
	}
	if (resp->status != 200) {
		r = status_error(rq, resp, &e);
		goto fail;
	}
	j = cJSON_ParseWithLength(resp->body, resp->body_len);
	it = yj_get(j, "/tags");
	if (!cJSON_IsObject(j) || (it && !cJSON_IsArray(it) && !cJSON_IsNull(it))) {
		r = op_err_set(&e, -EINVAL, "GET %s: the tag list is not JSON of the "
			       "distribution API", rq->url);
		goto fail;
	}
	list = cJSON_IsArray(it) ? it : NULL;
	cJSON_ArrayForEach(it, list) {
		if (!cJSON_IsString(it) || !tag_valid(it->valuestring))
			continue;
		if (op->n >= OCI_MAX_TAGS) {
			r = op_err_set(&e, -E2BIG, "'%s' has more than %d tags", op->c->name,
				       OCI_MAX_TAGS);
			goto fail;
		}
		if (op->n == op->alloc) {
			op->alloc = op->alloc ? op->alloc * 2 : 64;
			op->tags = xrealloc(op->tags, op->alloc * sizeof(*op->tags));
		}
		op->tags[op->n++] = xstrdup(it->valuestring);
	}
	cJSON_Delete(j);
	j = NULL;
	next = next_page(op->c, resp, &bad);
	if (bad) {
		r = op_err_set(&e, -EINVAL, "GET %s: the next page of tags is on another host",
			       rq->url);
		goto fail;
	}
	rreq_free(rq);
	if (!next) {
		tags_finish(op, 0, NULL);
		return;
	}
	if (++op->pages >= MAX_TAG_PAGES) {
		free(next);
		r = op_err_set(&e, -E2BIG, "'%s' lists tags over more than %d pages", op->c->name,
			       MAX_TAG_PAGES);
		tags_finish(op, r, &e);
		return;
	}
	rq = rreq_new(op->c, "GET", tags_page_done, op);
	rq->path = next;
	rq->max_body = OCI_MAX_MANIFEST;
	r = rreq_send(rq, &e);
	if (r < 0) {
		rreq_free(rq);
		tags_finish(op, r, &e);
	}
	return;
fail:
	cJSON_Delete(j);
	rreq_free(rq);
	tags_finish(op, r, &e);
}

int oci_tags_list(struct oci_client *c, oci_tags_cb cb, void *payload)
{
	struct tags_op *op;
	struct rreq *rq;
	int r;

	if (c->closing)
		return -ECANCELED;
	op = xcalloc(1, sizeof(*op));
	op->c = c;
	op->cb = cb;
	op->payload = payload;
	rq = rreq_new(c, "GET", tags_page_done, op);
	rq->path = xasprintf("/v2/%s/tags/list", c->repo);
	rq->max_body = OCI_MAX_MANIFEST;
	r = op_first(rq);
	if (r < 0)
			free(op);
	return r;
}

/* ================================================================== */
/* Blobs                                                              */

struct blob_op {
	struct oci_client *c;
	char digest[ARTIFACT_DIGEST_MAX];
	uint64_t size;
	char *path;
	int fd;
	oci_done_cb cb;
	void *payload;
	/* the sink: `fill` is the network's, `busy` the worker's */
	struct buf fill, busy;
	mbedtls_sha256_context sha; /* updated by the worker only, one job at a time */
	uv_work_t work;
	bool working, paused, net_done, over;
	int werr;                   /* the worker's write error */
	struct http_req *hreq;      /* valid while the transfer is alive */
	uint64_t got;
	int net_r;
	struct op_err net_err;
	char url[512];
};

static void sink_kick(struct blob_op *op);

static void blob_finish(struct blob_op *op)
{
	struct oci_client *c = op->c;
	struct op_err e = OP_ERR_INIT;
	unsigned char sum[32];
	char got[ARTIFACT_DIGEST_MAX];
	int r = op->net_r;

	if (op->fd >= 0 && close(op->fd) < 0 && !op->werr)
		op->werr = -errno;
	op->fd = -1;
	mbedtls_sha256_finish_ret(&op->sha, sum);
	mbedtls_sha256_free(&op->sha);
	if (op->over) {
		r = op_err_set(&e, -EFBIG, "blob '%s' is larger than its declared size of %llu "
			       "bytes", op->digest, (unsigned long long)op->size);
	} else if (op->werr) {
		r = op_err_set(&e, op->werr, "cannot write '%s': %s", op->path,
			       op_strerror(op->werr));
	} else if (r < 0) {
		e = op->net_err;
	} else if (op->got != op->size) {
		r = op_err_set(&e, -EBADMSG, "blob '%s' is %llu bytes, shorter than its declared "
			       "size of %llu", op->digest, (unsigned long long)op->got,
			       (unsigned long long)op->size);
	} else {
		memcpy(got, "sha256:", 7);
		for (int i = 0; i < 32; i++)
			snprintf(got + 7 + 2 * i, 3, "%02x", sum[i]);
		if (!streq(got, op->digest))
			r = op_err_set(&e, -EBADMSG, "blob digest mismatch: want '%s', got '%s'",
				       op->digest, got);
	}
	if (r < 0)
		unlink(op->path);
	op->cb(r, r < 0 ? &e : NULL, op->payload);
	buf_release(&op->fill);
	buf_release(&op->busy);
	free(op->path);
	free(op);
	op_release(c);
}

/* Worker: write and hash `busy`.  Touches nothing but the op's own buffer, fd and hash. */
static void sink_work(uv_work_t *w)
{
	struct blob_op *op = container_of(w, struct blob_op, work);
	size_t off = 0;

	if (op->werr)
		return;
	mbedtls_sha256_update_ret(&op->sha, (const unsigned char *)op->busy.buf, op->busy.len);
	while (off < op->busy.len) {
		ssize_t n = write(op->fd, op->busy.buf + off, op->busy.len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			op->werr = -errno;
			return;
		}
		off += (size_t)n;
	}
}

static void sink_after(uv_work_t *w, int status)
{
	struct blob_op *op = container_of(w, struct blob_op, work);

	op->working = false;
	buf_reset(&op->busy);
	if (op->net_done) {
		if (op->fill.len && op->net_r == 0 && !op->werr && !op->over)
			sink_kick(op);
		else
			blob_finish(op);
		return;
	}
	if (op->fill.len >= SINK_CHUNK || (op->paused && op->fill.len))
		sink_kick(op);
	if (op->paused) {
		/* The bytes held back come again; after a write error on_data refuses them. */
		op->paused = false;
		http_resume(op->hreq);
	}
}

static void sink_kick(struct blob_op *op)
{
	struct buf t = op->busy;

	op->busy = op->fill;
	op->fill = t;
	op->working = true;
	if (uv_queue_work(op->c->loop, &op->work, sink_work, sink_after) < 0) {
		/* Cannot happen with a live loop; write on the spot rather than lose bytes. */
		sink_work(&op->work);
		sink_after(&op->work, 0);
	}
}

static int blob_data(struct http_req *req, long status, const char *data, size_t n, void *payload)
{
	struct rreq *rq = payload;
	struct blob_op *op = rq->op;

	op->hreq = req;
	if (op->werr)
		return op->werr;
	if (op->got + n > op->size) {
		op->over = true;
		return -EFBIG;
	}
	if (op->fill.len && op->fill.len + n > SINK_CHUNK) {
		if (op->working) {
			op->paused = true;
			return HTTP_DATA_PAUSE;
		}
		sink_kick(op);
	}
	if (buf_add(&op->fill, data, n) < 0)
		return -EFBIG;
	op->got += n;
	if (!op->working && op->fill.len >= SINK_CHUNK)
		sink_kick(op);
	return 0;
}

static void blob_done(struct rreq *rq, int r, const struct http_resp *resp,
		      const struct op_err *err)
{
	struct blob_op *op = rq->op;

	op->net_done = true;
	op->net_r = r;
	if (r < 0)
		op->net_err = *err;
	else if (resp->status != 200)
		op->net_r = status_error(rq, resp, &op->net_err);
	rreq_free(rq);
	if (op->working)
		return; /* sink_after finishes */
	if (op->net_r == 0 && op->fill.len && !op->werr && !op->over)
		sink_kick(op);
	else
		blob_finish(op);
}

int oci_blob_get(struct oci_client *c, const struct oci_desc *d, const char *path, uint64_t max,
		 oci_done_cb cb, void *payload)
{
	struct blob_op *op;
	struct rreq *rq;
	int r;

	if (c->closing)
		return -ECANCELED;
	if (!oci_digest_valid(d->digest))
		return -EINVAL;
	if (max && d->size > max)
		return -EFBIG;
	op = xcalloc(1, sizeof(*op));
	op->c = c;
	snprintf(op->digest, sizeof(op->digest), "%s", d->digest);
	op->size = d->size;
	op->cb = cb;
	op->payload = payload;
	/* The fill buffer may exceed a chunk by what curl hands over after a pause. */
	buf_init(&op->fill, 64u << 20);
	buf_init(&op->busy, 64u << 20);
	op->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (op->fd < 0) {
		r = -errno;
		free(op);
		return r;
	}
	op->path = xstrdup(path);
	mbedtls_sha256_init(&op->sha);
	mbedtls_sha256_starts_ret(&op->sha, 0);
	rq = rreq_new(c, "GET", blob_done, op);
	rq->path = xasprintf("/v2/%s/blobs/%s", c->repo, d->digest);
	rq->on_data = blob_data;
	rq->max_redirects = 5;
	r = op_first(rq);
	if (r < 0) {
		close(op->fd);
		unlink(op->path);
		mbedtls_sha256_free(&op->sha);
		free(op->path);
		free(op);
		return r;
	}
	return 0;
}

struct mem_op {
	struct oci_client *c;
	char digest[ARTIFACT_DIGEST_MAX];
	uint64_t size;
	oci_data_cb cb;
	void *payload;
};

static void mem_done(struct rreq *rq, int r, const struct http_resp *resp,
		     const struct op_err *err)
{
	struct mem_op *op = rq->op;
	struct oci_client *c = op->c;
	struct op_err e = OP_ERR_INIT;
	char hex[65], got[ARTIFACT_DIGEST_MAX];

	if (r == -EFBIG)
		r = op_err_set(&e, -EFBIG, "blob '%s' is larger than its declared size of %llu "
			       "bytes", op->digest, (unsigned long long)op->size);
	else if (r < 0)
		e = *err;
	else if (resp->status != 200)
		r = status_error(rq, resp, &e);
	else if (resp->body_len != op->size)
		r = op_err_set(&e, -EBADMSG, "blob '%s' is %zu bytes, not its declared %llu",
			       op->digest, resp->body_len, (unsigned long long)op->size);
	if (r == 0) {
		yj_sha256_hex(resp->body, resp->body_len, hex);
		snprintf(got, sizeof(got), "sha256:%s", hex);
		if (!streq(got, op->digest))
			r = op_err_set(&e, -EBADMSG, "blob digest mismatch: want '%s', got '%s'",
				       op->digest, got);
	}
	op->cb(r, r < 0 ? NULL : resp->body, r < 0 ? 0 : resp->body_len, r < 0 ? &e : NULL,
	       op->payload);
	rreq_free(rq);
	free(op);
	op_release(c);
}

int oci_blob_get_mem(struct oci_client *c, const struct oci_desc *d, size_t max, oci_data_cb cb,
		     void *payload)
{
	struct mem_op *op;
	struct rreq *rq;
	int r;

	if (c->closing)
		return -ECANCELED;
	if (!oci_digest_valid(d->digest))
		return -EINVAL;
	if (d->size > max)
		return -EFBIG;
	op = xcalloc(1, sizeof(*op));
	op->c = c;
	snprintf(op->digest, sizeof(op->digest), "%s", d->digest);
	op->size = d->size;
	op->cb = cb;
	op->payload = payload;
	rq = rreq_new(c, "GET", mem_done, op);
	rq->path = xasprintf("/v2/%s/blobs/%s", c->repo, d->digest);
	/* One byte over the declared size is enough to see a longer body. */
	rq->max_body = (size_t)d->size + 1;
	rq->max_redirects = 5;
	r = op_first(rq);
	if (r < 0)
			free(op);
	return r;
}

/* ---- push (the command line's) ---- */

struct push_op {
	struct oci_client *c;
	const char *data;           /* the caller's, or NULL: read `path` */
	char *path;
	int fd;
	uint64_t len, sent;
	char digest[ARTIFACT_DIGEST_MAX];
	oci_done_cb cb;
	void *payload;
};

static void push_finish(struct push_op *op, int r, const struct op_err *err)
{
	struct oci_client *c = op->c;

	if (op->fd >= 0)
		close(op->fd);
	op->cb(r, err, op->payload);
	free(op->path);
	free(op);
	op_release(c);
}

static ssize_t push_read(char *dst, size_t n, void *payload)
{
	struct rreq *rq = payload;
	struct push_op *op = rq->op;
	ssize_t got;

	if (op->sent + n > op->len)
		n = (size_t)(op->len - op->sent);
	if (!n)
		return 0;
	do
		got = read(op->fd, dst, n);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		return -errno;
	op->sent += (uint64_t)got;
	return got;
}

static void push_put_done(struct rreq *rq, int r, const struct http_resp *resp,
			  const struct op_err *err)
{
	struct push_op *op = rq->op;
	struct op_err e = OP_ERR_INIT;

	if (r < 0)
		e = *err;
	else if (resp->status != 201 && resp->status != 204)
		r = status_error(rq, resp, &e);
	rreq_free(rq);
	push_finish(op, r, r < 0 ? &e : NULL);
}

/* The upload URL from Location: our path, or a URL elsewhere (sent without our auth). */
static void upload_target(struct oci_client *c, struct rreq *rq, const char *loc, size_t n,
			  const char *digest)
{
	char *l = xstrndup(loc, n), *base = xasprintf("%s://%s/", c->scheme, c->host);
	const char *sep = strchr(l, '?') ? "&" : "?";

	if (l[0] == '/')
		rq->path = xasprintf("%s%sdigest=%s", l, sep, digest);
	else if (str_startswith(l, base))
		rq->path = xasprintf("%s%sdigest=%s", l + strlen(base) - 1, sep, digest);
	else {
		rq->url = xasprintf("%s%sdigest=%s", l, sep, digest);
		rq->anonymous = true;
	}
	free(base);
	free(l);
}

static void push_post_done(struct rreq *rq, int r, const struct http_resp *resp,
			   const struct op_err *err)
{
	struct push_op *op = rq->op;
	struct oci_client *c = op->c;
	struct op_err e = OP_ERR_INIT;
	struct rreq *put;
	const char *loc;
	size_t ll;

	if (r < 0) {
		e = *err;
		goto fail;
	}
	if (resp->status != 202 || http_resp_header(resp, "Location", &loc, &ll) < 0) {
		r = resp->status == 202 ? op_err_set(&e, -EIO, "POST %s: no Location", rq->url) :
					  status_error(rq, resp, &e);
		goto fail;
	}
	put = rreq_new(c, "PUT", push_put_done, op);
	upload_target(c, put, loc, ll, op->digest);
	put->ctype = "application/octet-stream";
	put->body_len = (size_t)op->len;
	if (op->data) {
		put->body = op->data;
	} else {
		op->fd = open(op->path, O_RDONLY | O_CLOEXEC);
		if (op->fd < 0) {
			r = op_err_set(&e, -errno, "cannot open '%s': %s", op->path,
				       op_strerror(errno));
			rreq_free(put);
			goto fail;
		}
		put->body_read = push_read;
	}
	rreq_free(rq);
	r = rreq_send(put, &e);
	if (r < 0) {
		rreq_free(put);
		push_finish(op, r, &e);
	}
	return;
fail:
	rreq_free(rq);
	push_finish(op, r, &e);
}

static void push_head_done(struct rreq *rq, int r, const struct http_resp *resp,
			   const struct op_err *err)
{
	struct push_op *op = rq->op;
	struct oci_client *c = op->c;
	struct op_err e = OP_ERR_INIT;

	if (r < 0) {
		e = *err;
		rreq_free(rq);
		push_finish(op, r, &e);
		return;
	}
	rreq_free(rq);
	if (resp->status == 200) {
		push_finish(op, 0, NULL); /* already there */
		return;
	}
	rq = rreq_new(c, "POST", push_post_done, op);
	rq->path = xasprintf("/v2/%s/blobs/uploads/", c->repo);
	r = rreq_send(rq, &e);
	if (r < 0) {
		rreq_free(rq);
		push_finish(op, r, &e);
	}
}

int oci_blob_push(struct oci_client *c, const char *data, const char *path, uint64_t len,
		  const char *digest, oci_done_cb cb, void *payload)
{
	struct push_op *op;
	struct rreq *rq;
	int r;

	if (c->closing)
		return -ECANCELED;
	if (!oci_digest_valid(digest) || (!data && !path))
		return -EINVAL;
	op = xcalloc(1, sizeof(*op));
	op->c = c;
	op->data = data;
	op->path = path ? xstrdup(path) : NULL;
	op->fd = -1;
	op->len = len;
	snprintf(op->digest, sizeof(op->digest), "%s", digest);
	op->cb = cb;
	op->payload = payload;
	rq = rreq_new(c, "HEAD", push_head_done, op);
	rq->path = xasprintf("/v2/%s/blobs/%s", c->repo, digest);
	r = op_first(rq);
	if (r < 0) {
		free(op->path);
		free(op);
		return r;
	}
	return 0;
}

struct put_op {
	struct oci_client *c;
	char digest[ARTIFACT_DIGEST_MAX];
	char *body;
	oci_put_cb cb;
	void *payload;
};

static void put_done(struct rreq *rq, int r, const struct http_resp *resp,
		     const struct op_err *err)
{
	struct put_op *op = rq->op;
	struct oci_client *c = op->c;
	struct op_err e = OP_ERR_INIT;
	const char *dv;
	size_t dl;

	if (r < 0)
		e = *err;
	else if (resp->status != 201 && resp->status != 200)
		r = status_error(rq, resp, &e);
	else if (http_resp_header(resp, "Docker-Content-Digest", &dv, &dl) == 0 &&
		 (dl != strlen(op->digest) || strncmp(dv, op->digest, dl) != 0))
		r = op_err_set(&e, -EBADMSG, "PUT %s: the registry stored digest '%.*s', not '%s'",
			       rq->url, (int)dl, dv, op->digest);
	op->cb(r, r < 0 ? NULL : op->digest, r < 0 ? &e : NULL, op->payload);
	rreq_free(rq);
	free(op->body);
	free(op);
	op_release(c);
}

int oci_manifest_put(struct oci_client *c, const char *tag, const char *body, size_t len,
		     const char *media_type, oci_put_cb cb, void *payload)
{
	struct put_op *op;
	struct rreq *rq;
	char hex[65];
	int r;

	if (c->closing)
		return -ECANCELED;
	if (!tag || (!tag_valid(tag) && !oci_digest_valid(tag)) || len > OCI_MAX_MANIFEST)
		return -EINVAL;
	op = xcalloc(1, sizeof(*op));
	op->c = c;
	yj_sha256_hex(body, len, hex);
	snprintf(op->digest, sizeof(op->digest), "sha256:%s", hex);
	op->body = xmalloc(len + 1);
	memcpy(op->body, body, len);
	op->body[len] = '\0';
	op->cb = cb;
	op->payload = payload;
	rq = rreq_new(c, "PUT", put_done, op);
	rq->path = xasprintf("/v2/%s/manifests/%s", c->repo, tag);
	rq->ctype = media_type;
	rq->body = op->body;
	rq->body_len = len;
	r = op_first(rq);
	if (r < 0) {
		free(op->body);
		free(op);
		return r;
	}
	return 0;
}

/* ================================================================== */
/* Pull: OCIRepository's fetch                                        */

struct pull_op {
	struct oci_client *c;
	struct oci_pull_result res;
	/* owned copies of the options */
	char *tag, *semver, *filter, *unchanged, *verified, *layer_mt, *layer_path, *os, *arch;
	char **keys;
	size_t n_keys;
	uint64_t max_layer;
	oci_pull_cb cb;
	void *payload;
	/* cosign */
	struct oci_manifest *sigm;
	size_t sig_i, sig_checked;
	struct op_err sig_err;
	char ref[600]; /* "host/repo:tag" or "host/repo@sha256:...", for messages */
};

static void pull_op_free(struct pull_op *op)
{
	oci_pull_result_release(&op->res);
	oci_manifest_free(op->sigm);
	free(op->tag);
	free(op->semver);
	free(op->filter);
	free(op->unchanged);
	free(op->verified);
	free(op->layer_mt);
	free(op->layer_path);
	free(op->os);
	free(op->arch);
	for (size_t i = 0; i < op->n_keys; i++)
		free(op->keys[i]);
	free(op->keys);
	free(op);
}

static void pull_finish(struct pull_op *op, int r, enum oci_stage stage, const struct op_err *err)
{
	struct oci_client *c = op->c;

	if (r < 0)
		op->res.stage = stage;
	op->cb(r, &op->res, r < 0 ? err : NULL, op->payload);
	pull_op_free(op);
	op_release(c);
}

/* Finish with an error from a call that could not start. */
static void pull_fail_start(struct pull_op *op, int r, enum oci_stage stage, const char *what)
{
	struct op_err e = OP_ERR_INIT;

	op_err_set(&e, r, "cannot %s: %s", what, op_strerror(r));
	pull_finish(op, r, stage, &e);
}

void oci_pull_result_release(struct oci_pull_result *res)
{
	cJSON_Delete(res->annotations);
	res->annotations = NULL;
}

static void pull_layer_done(int r, const struct op_err *err, void *payload)
{
	pull_finish(payload, r, OCI_STAGE_PULL, err);
}

/* The image manifest is here: pick the layer and download it. */
static void pull_image(struct pull_op *op, struct oci_manifest *m)
{
	const struct oci_desc *l = NULL;
	struct oci_desc d;
	struct op_err e = OP_ERR_INIT;
	int r;

	if (m->annotations)
		op->res.annotations = cJSON_Duplicate(m->annotations, 1);
	if (!m->n_descs) {
		oci_manifest_free(m);
		op_err_set(&e, -ENOENT, "no layers found in artifact");
		pull_finish(op, -ENOENT, OCI_STAGE_LAYER, &e);
		return;
	}
	if (!op->layer_mt) {
		l = &m->descs[0];
	} else {
		for (size_t i = 0; i < m->n_descs && !l; i++)
			if (streq(m->descs[i].media_type, op->layer_mt))
				l = &m->descs[i];
		if (!l) {
			oci_manifest_free(m);
			op_err_set(&e, -ENOENT, "failed to find layer with media type '%s' in "
				   "artifact", op->layer_mt);
			pull_finish(op, -ENOENT, OCI_STAGE_LAYER, &e);
			return;
		}
	}
	d = *l;
	snprintf(op->res.layer_media_type, sizeof(op->res.layer_media_type), "%s", l->media_type);
	snprintf(op->res.layer_digest, sizeof(op->res.layer_digest), "%s", l->digest);
	op->res.layer_size = l->size;
	d.media_type = op->res.layer_media_type;
	oci_manifest_free(m);
	if (d.size > op->max_layer) {
		op_err_set(&e, -EFBIG, "layer '%s' is %llu bytes, over the limit of %llu", d.digest,
			   (unsigned long long)d.size, (unsigned long long)op->max_layer);
		pull_finish(op, -EFBIG, OCI_STAGE_PULL, &e);
		return;
	}
	r = oci_blob_get(op->c, &d, op->layer_path, op->max_layer, pull_layer_done, op);
	if (r < 0)
		pull_fail_start(op, r, OCI_STAGE_PULL, "download the layer");
}

static void pull_got_manifest(int r, struct oci_manifest *m, const struct op_err *err,
			      void *payload)
{
	struct pull_op *op = payload;
	struct op_err e = OP_ERR_INIT;
	const struct oci_desc *d;
	char child[ARTIFACT_DIGEST_MAX];

	if (r < 0) {
		pull_finish(op, r, OCI_STAGE_PULL, err);
		return;
	}
	if (!m->is_index) {
		pull_image(op, m);
		return;
	}
	/* An index: the content comes from the child for our platform. */
	d = oci_index_pick(m, op->os, op->arch);
	if (!d || !streq(m->digest, op->res.digest)) {
		if (!d)
			op_err_set(&e, -ENOENT, "no manifest for platform %s/%s in index '%s'",
				   op->os ? op->os : "linux", op->arch ? op->arch : "amd64",
				   m->digest);
		else
			op_err_set(&e, -EINVAL, "index '%s' points at another index", op->res.digest);
		oci_manifest_free(m);
		pull_finish(op, e.code, OCI_STAGE_PULL, &e);
		return;
	}
	snprintf(child, sizeof(child), "%s", d->digest);
	oci_manifest_free(m);
	r = oci_manifest_get(op->c, child, pull_got_manifest, op);
	if (r < 0)
		pull_fail_start(op, r, OCI_STAGE_PULL, "get the platform manifest");
}

/* Resolved (and verified): skip, stop, or fetch the manifest by its digest. */
static void pull_content(struct pull_op *op)
{
	int r;

	if (op->unchanged && streq(op->unchanged, op->res.revision)) {
		op->res.unchanged = true;
		pull_finish(op, 0, OCI_STAGE_NONE, NULL);
		return;
	}
	if (!op->layer_path) {
		pull_finish(op, 0, OCI_STAGE_NONE, NULL);
		return;
	}
	/* By digest: the tag may move meanwhile, the revision may not. */
	r = oci_manifest_get(op->c, op->res.digest, pull_got_manifest, op);
	if (r < 0)
		pull_fail_start(op, r, OCI_STAGE_PULL, "get the manifest");
}

static void verify_next(struct pull_op *op);

static void verify_fail(struct pull_op *op, const char *why)
{
	struct op_err e = OP_ERR_INIT;

	op_err_set(&e, -EBADMSG, "no matching signatures were found for '%s': %s", op->ref, why);
	pull_finish(op, -EBADMSG, OCI_STAGE_VERIFY, &e);
}

static void verify_got_payload(int r, const char *data, size_t len, const struct op_err *err,
			       void *payload)
{
	struct pull_op *op = payload;
	const struct oci_desc *l = &op->sigm->descs[op->sig_i];
	const char *sig = yj_get_str(l->annotations, "/dev.cosignproject.cosign~1signature");
	struct op_err e = OP_ERR_INIT;

	op->sig_i++;
	if (r < 0) {
		op->sig_err = *err;
		verify_next(op);
		return;
	}
	op->sig_checked++;
	r = sig_cosign_verify(data, len, sig, (const char *const *)op->keys, op->n_keys,
			      op->res.digest, NULL, &e);
	if (r == 0) {
		op->res.verified = true;
		pull_content(op);
		return;
	}
	op->sig_err = e;
	verify_next(op);
}

/* Try the signature layers one after the other; the first good one wins. */
static void verify_next(struct pull_op *op)
{
	for (; op->sig_i < op->sigm->n_descs && op->sig_i < MAX_SIGNATURES; op->sig_i++) {
		const struct oci_desc *l = &op->sigm->descs[op->sig_i];

		if (!streq(l->media_type, OCI_MT_COSIGN_PAYLOAD))
			continue;
		if (oci_blob_get_mem(op->c, l, MAX_COSIGN_PAYLOAD, verify_got_payload, op) == 0)
			return;
	}
	if (op->sig_err.msg[0]) {
		char why[sizeof(op->sig_err.msg)];

		snprintf(why, sizeof(why), "%s", op->sig_err.msg);
		verify_fail(op, why);
	} else {
		verify_fail(op, "the signature manifest has no cosign signature layer");
	}
}

static void verify_got_sigs(int r, struct oci_manifest *m, const struct op_err *err,
			    void *payload)
{
	struct pull_op *op = payload;

	if (r == -ENOENT) {
		verify_fail(op, "no signature was pushed for this digest");
		return;
	}
	if (r < 0) {
		pull_finish(op, r, OCI_STAGE_VERIFY, err);
		return;
	}
	if (m->is_index) {
		oci_manifest_free(m);
		verify_fail(op, "the signature tag holds an index");
		return;
	}
	op->sigm = m;
	verify_next(op);
}

/* The revision is known: verify it, or go on. */
static void pull_resolved(struct pull_op *op)
{
	char sigtag[OCI_TAG_MAX + 1];
	int r;

	if (op->res.tag[0])
		snprintf(op->res.revision, sizeof(op->res.revision), "%s@%s", op->res.tag,
			 op->res.digest);
	else
		snprintf(op->res.revision, sizeof(op->res.revision), "%s", op->res.digest);
	snprintf(op->ref, sizeof(op->ref), "%s%s%s", op->c->name, op->res.tag[0] ? ":" : "@",
		 op->res.tag[0] ? op->res.tag : op->res.digest);
	if (!op->n_keys || (op->verified && streq(op->verified, op->res.revision))) {
		pull_content(op);
		return;
	}
	/* cosign's tag: "sha256-<hex>.sig" beside the artifact. */
	snprintf(sigtag, sizeof(sigtag), "sha256-%s.sig", op->res.digest + 7);
	r = oci_manifest_get(op->c, sigtag, verify_got_sigs, op);
	if (r < 0)
		pull_fail_start(op, r, OCI_STAGE_VERIFY, "get the signatures");
}

static void pull_got_digest(int r, const struct oci_desc *d, const struct op_err *err,
			    void *payload)
{
	struct pull_op *op = payload;

	if (r < 0) {
		pull_finish(op, r, OCI_STAGE_DIGEST, err);
		return;
	}
	/* A digest reference keeps res.tag empty: its revision is the digest alone. */
	snprintf(op->res.digest, sizeof(op->res.digest), "%s", d->digest);
	pull_resolved(op);
}

static void pull_got_tags(int r, const char *const *tags, size_t n, const struct op_err *err,
			  void *payload)
{
	struct pull_op *op = payload;
	struct op_err e = OP_ERR_INIT;
	bool helm = op->layer_mt && streq(op->layer_mt, OCI_MT_HELM_CHART);

	if (r < 0) {
		pull_finish(op, r, OCI_STAGE_TAG, err);
		return;
	}
	r = oci_semver_pick(tags, n, op->semver, op->filter, helm, op->res.tag, &e);
	if (r < 0) {
		pull_finish(op, r, OCI_STAGE_TAG, &e);
		return;
	}
	r = oci_resolve(op->c, op->res.tag, pull_got_digest, op);
	if (r < 0)
		pull_fail_start(op, r, OCI_STAGE_DIGEST, "resolve the tag");
}

static char *dup_opt(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

int oci_pull(struct oci_client *c, const struct oci_pull_opts *o, oci_pull_cb cb,
	     void *payload)
{
	struct pull_op *op;
	int r;

	if (c->closing)
		return -ECANCELED;
	if (o->digest && *o->digest && !oci_digest_valid(o->digest))
		return -EINVAL;
	if (!(o->digest && *o->digest) && !(o->semver && *o->semver) && o->tag && *o->tag &&
	    !tag_valid(o->tag))
		return -EINVAL;
	op = xcalloc(1, sizeof(*op));
	op->c = c;
	op->cb = cb;
	op->payload = payload;
	op->tag = dup_opt(o->tag);
	op->semver = dup_opt(o->semver);
	op->filter = dup_opt(o->semver_filter);
	op->unchanged = dup_opt(o->unchanged_revision);
	op->verified = dup_opt(o->verified_revision);
	op->layer_mt = dup_opt(o->layer_media_type);
	op->layer_path = dup_opt(o->layer_path);
	op->os = dup_opt(o->os);
	op->arch = dup_opt(o->arch);
	op->max_layer = o->max_layer ? o->max_layer : DEFAULT_MAX_LAYER;
	op->keys = xcalloc(o->n_keys + 1, sizeof(*op->keys));
	for (size_t i = 0; i < o->n_keys; i++)
		if (o->cosign_keys[i])
			op->keys[op->n_keys++] = xstrdup(o->cosign_keys[i]);
	if (o->n_keys && !op->n_keys) {
		r = -ENOKEY;
		goto fail;
	}
	op_hold(c);
	if (o->digest && *o->digest) {
		/* One HEAD: the digest must exist (and the callback must not run from here). */
		r = oci_resolve(c, o->digest, pull_got_digest, op);
	} else if (op->semver) {
		r = oci_tags_list(c, pull_got_tags, op);
	} else {
		snprintf(op->res.tag, sizeof(op->res.tag), "%s", op->tag ? op->tag : "latest");
		r = oci_resolve(c, op->res.tag, pull_got_digest, op);
	}
	if (r < 0) {
		op_release(c);
		goto fail;
	}
	return 0;
fail:
	pull_op_free(op);
	return r;
}
