/*
 * oci.h: an OCI distribution (registry) client on the libuv loop, and
 * the parsers it needs.  The one module that speaks the registry
 * protocol: OCIRepository pulls, `cflux push/pull/list artifacts`, and
 * cosign signatures all go through it.
 *
 * A `struct oci_client` is one registry repository ("host[:port]/team/app")
 * with one set of credentials and TLS settings, and its own HTTP engine
 * (lib/kube/http.h): create one per fetch, close it when done.  Every
 * operation is asynchronous, libuv's way: it either fails at once (and
 * its callback is never called) or returns 0 and calls its callback
 * exactly once, on the loop thread.  Data handed to a callback is
 * borrowed for the call unless said otherwise.
 *
 * PROTOCOL (OCI distribution spec, as go-containerregistry speaks it)
 *  - Scheme: https.  For `insecure` clients and for hosts that can only
 *    be local (localhost, loopback, RFC 1918 and link-local addresses)
 *    a failed TLS handshake falls back to plain http, once per client,
 *    as Flux's registry library does: oci://127.0.0.1:5000/app works
 *    against a plain-HTTP registry without `insecure`.
 *  - Auth, lazily: a request goes out anonymously (or with the token got
 *    earlier); a 401 carries a challenge.  "Basic" is answered with the
 *    username and password; "Bearer realm=..,service=..,scope=.." with a
 *    token from the realm (GET with the scopes repeated, basic-authed
 *    with the credentials if any; an identity token is exchanged with a
 *    POST of grant_type=refresh_token; a registry token is used as is).
 *    One retry per request: a second 401 is an authentication failure
 *    whose message says whether credentials were sent.
 *  - Manifests are asked for with every type we read in Accept (the OCI
 *    ones first: distribution 2.8 answers 404 without them), at most
 *    OCI_MAX_MANIFEST bytes, their digest computed from the bytes (and
 *    checked when a digest was asked for).  A tag resolves with HEAD
 *    (Docker-Content-Digest), falling back to GET.
 *  - Blobs are streamed to a file, through sha256, checked against the
 *    descriptor's size (Content-Length first, then every byte: a blob
 *    longer than declared is cut off at the declared size) and digest.
 *    The file writes and the hashing run on the thread pool, one job at
 *    a time per blob, and the transfer pauses while a job is behind:
 *    memory stays at two 1 MiB buffers whatever the blob's size.
 *    Redirects to storage are followed; our Authorization header does
 *    not cross to another host.
 *  - Tags are listed page by page (Link: <..>; rel="next", same host
 *    only), at most OCI_MAX_TAGS.
 *  - Push (for the command line): blob upload (POST, then a monolithic
 *    PUT with the digest) after a HEAD that skips blobs already there;
 *    manifest PUT by tag.
 *
 * Error messages name the request and the registry's own error code
 * ("GET http://h/v2/app/manifests/x: 404 MANIFEST_UNKNOWN: manifest
 * unknown"); they never carry credentials or tokens.
 *
 * Threading: loop thread only, except the pure parsers (any thread).
 */
#ifndef CFLUX_SOURCE_OCI_H
#define CFLUX_SOURCE_OCI_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/err.h"
#include "source/artifact.h"

/* Media types. */
#define OCI_MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_MT_INDEX "application/vnd.oci.image.index.v1+json"
#define OCI_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define OCI_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define OCI_MT_FLUX_CONFIG "application/vnd.cncf.flux.config.v1+json"
#define OCI_MT_FLUX_CONTENT "application/vnd.cncf.flux.content.v1.tar+gzip"
#define OCI_MT_HELM_CHART "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
#define OCI_MT_COSIGN_PAYLOAD "application/vnd.dev.cosign.simplesigning.v1+json"

/* Flux's manifest annotations (flux push artifact). */
#define OCI_ANN_CREATED "org.opencontainers.image.created"
#define OCI_ANN_SOURCE "org.opencontainers.image.source"
#define OCI_ANN_REVISION "org.opencontainers.image.revision"

#define OCI_MAX_MANIFEST (4u << 20) /* a real manifest is a few KiB */
#define OCI_MAX_DESCS 4096          /* layers of a manifest, manifests of an index */
#define OCI_MAX_TAGS 100000
#define OCI_TAG_MAX 128             /* [A-Za-z0-9_][A-Za-z0-9._-]{0,127} */

/* ------------------------------------------------------------------ */
/* Pure parts: no I/O, any thread (fuzzed by test/fuzz/fuzz_oci.c).   */

/* "oci://host[:port]/repo[:tag|@sha256:hex]", taken apart. */
struct oci_ref {
	char host[256];                   /* "host[:port]" as written */
	char repo[256];                   /* "team/app" */
	char tag[OCI_TAG_MAX + 1];        /* "" when none */
	char digest[ARTIFACT_DIGEST_MAX]; /* "" when none */
};

/*
 * Parse `url` (the "oci://" prefix is required when `need_scheme`).  The
 * repository must follow the distribution grammar (lower case, "/"
 * separated components), a tag its grammar, a digest "sha256:" and 64
 * lower-case hex digits.  0, or -EINVAL with reterr saying what is wrong.
 */
int oci_ref_parse(const char *url, bool need_scheme, struct oci_ref *ret, struct op_err *reterr);

/* True if `d` is "sha256:" followed by 64 lower-case hex digits. */
bool oci_digest_valid(const char *d);

/* A descriptor, borrowed from the manifest it came from. */
struct oci_desc {
	const char *media_type;
	char digest[ARTIFACT_DIGEST_MAX];
	uint64_t size;
	const cJSON *annotations;       /* an object, or NULL */
	const char *os, *arch, *variant; /* an index entry's platform; NULL when absent */
};

/* A parsed image manifest or index (Docker's two formats are read too). */
struct oci_manifest {
	char media_type[128];
	bool is_index;
	struct oci_desc config;   /* image manifests only */
	struct oci_desc *descs;   /* layers, or the index's manifests */
	size_t n_descs;
	const cJSON *annotations; /* an object, or NULL */
	char digest[ARTIFACT_DIGEST_MAX]; /* sha256 of the bytes parsed */
	uint64_t size;
	cJSON *json;              /* owns every string above */
};

/*
 * Parse manifest bytes.  `content_type` (parameters ignored, may be NULL)
 * decides the kind when the body has no mediaType.  Refused with -EINVAL
 * and a message: not JSON, schemaVersion other than 2, Docker schema 1,
 * an unknown manifest type, a descriptor without a media type or with a
 * bad digest or size, more than OCI_MAX_DESCS descriptors.  On success
 * *ret is the caller's, freed with oci_manifest_free().
 */
int oci_manifest_parse(const char *body, size_t len, const char *content_type,
		       struct oci_manifest **ret, struct op_err *reterr);
void oci_manifest_free(struct oci_manifest *m);

/*
 * The index entry for `os`/`arch` (NULL: linux/amd64): the first whose
 * platform matches, an entry without a platform counting as a match (as
 * go-containerregistry picks).  NULL when none does.
 */
const struct oci_desc *oci_index_pick(const struct oci_manifest *idx, const char *os,
				      const char *arch);

/* A WWW-Authenticate challenge. */
struct oci_challenge {
	char scheme[16]; /* "basic" or "bearer" (lower-cased), "" if unparsable */
	char realm[1024];
	char service[256];
	char scope[1024];
	char error[64];
};

/*
 * Parse one WWW-Authenticate value (`len` bytes, not NUL-terminated):
 * scheme and its quoted or token parameters.  When several challenges
 * are offered, Basic or Bearer is preferred.  0, or -EINVAL.
 */
int oci_challenge_parse(const char *hdr, size_t len, struct oci_challenge *ret);

/* Credentials for one registry. */
struct oci_cred {
	char *username, *password;
	char *identity_token; /* docker config "identitytoken": an OAuth2 refresh token */
	char *registry_token; /* docker config "registrytoken": a bearer token as is */
};
void oci_cred_release(struct oci_cred *c);

/*
 * Look `host` ("host[:port]") and `repo` up in a docker config JSON (the
 * text of a kubernetes.io/dockerconfigjson Secret's .dockerconfigjson,
 * or the older .dockercfg form, which is the "auths" map alone), as
 * Kubernetes' keychain matches: keys lose their scheme and a /v1/ or
 * /v2/ suffix; a key matches when its host has the same port and as
 * many dot-separated labels, each matching as a glob ("*.example.com"),
 * and its path, if any, is a prefix of the repository; the
 * lexically greatest matching key wins.  "auth" (base64 user:password)
 * is decoded.  0 with *ret filled (release with oci_cred_release()),
 * -ENOENT when no key matches, -EINVAL when the JSON cannot be read.
 */
int oci_docker_config_lookup(const char *json, const char *host, const char *repo,
			     struct oci_cred *ret, struct op_err *reterr);

/*
 * Keep, in place and in order, the tags that `filter` (an extended regular
 * expression, unanchored; NULL for all; Go's \d \w \s classes are
 * understood) matches and that, when `constraint` is not NULL, read as a
 * version with exactly three dot-separated numbers (Flux's ParseVersion:
 * a "v" prefix allowed; with `helm`, "_" stands for "+", as Helm's OCI
 * tags write build metadata) satisfying it.  Returns how many are kept,
 * or -EINVAL for a bad constraint or filter (reterr says which).
 */
int oci_tags_filter(const char **tags, size_t n, const char *constraint, const char *filter,
		    bool helm, struct op_err *reterr);

/*
 * Flux's semver pick: the highest version among the tags
 * oci_tags_filter() keeps, its tag written to `ret`.  -ENOENT ("no match
 * found for semver: ..."), or -EINVAL.
 */
int oci_semver_pick(const char *const *tags, size_t n, const char *constraint,
		    const char *filter, bool helm, char ret[OCI_TAG_MAX + 1],
		    struct op_err *reterr);

/*
 * A manifest as `flux push artifact` writes it: schemaVersion 2, the OCI
 * manifest type, `config` and one layer, and the annotations (an object
 * of strings, borrowed; NULL for none).  Returns the JSON text
 * (malloc'd).
 */
char *oci_manifest_build(const struct oci_desc *config, const struct oci_desc *layer,
			 const cJSON *annotations);

/* ------------------------------------------------------------------ */
/* The client.                                                        */

struct oci_client;

struct oci_client_opts {
	const char *host;   /* registry "host[:port]" */
	const char *repo;   /* repository "team/app" */
	/* Credentials: an explicit username/password wins; else the first
	 * docker config that has an entry for host/repo; else anonymous. */
	const char *username, *password;
	const char *const *docker_configs; /* .dockerconfigjson texts */
	size_t n_docker_configs;
	const char *ca_pem;   /* extra CA (PEM) besides the system's, or NULL */
	const char *cert_pem; /* client certificate and key (PEM), or NULL */
	const char *key_pem;
	bool insecure;        /* plain HTTP allowed; TLS not verified (Flux's spec.insecure) */
	bool allow_http;      /* plain HTTP allowed, TLS still verified (insecure with a CA) */
	const char *proxy_url, *proxy_user, *proxy_pass; /* an http:// proxy, or NULL */
	bool no_env_proxy;    /* ignore HTTPS_PROXY and friends */
	bool push;            /* ask tokens for push too */
	uint64_t timeout_ms;  /* every operation's deadline, from oci_client_new(); 0: none */
	const char *user_agent;
};
#define OCI_CLIENT_OPTS_INIT { 0 }

/*
 * Create a client.  The options are copied.  0, or a negative errno
 * with reterr (a docker config that cannot be read: -EINVAL; the HTTP
 * engine: see http_new()).
 */
int oci_client_new(uv_loop_t *loop, const struct oci_client_opts *opts, struct oci_client **ret,
		   struct op_err *reterr);

/*
 * Cancel what is in flight (those callbacks get -ECANCELED), then free
 * the client once the last operation has called back (a blob's worker
 * job is never abandoned), and call `cb(payload)` if not NULL.
 */
void oci_client_close(struct oci_client *c, void (*cb)(void *payload), void *payload);

/* "host/repo", for messages ("127.0.0.1:5000/app"). */
const char *oci_client_name(const struct oci_client *c);

/* What `ref` (a tag or a digest) points at: HEAD, or GET when HEAD fails. */
typedef void (*oci_resolve_cb)(int r, const struct oci_desc *d, const struct op_err *err,
			       void *payload);
int oci_resolve(struct oci_client *c, const char *ref, oci_resolve_cb cb, void *payload);

/*
 * GET the manifest `ref` (a tag or a digest).  On success `m` is the
 * callee's to keep (free with oci_manifest_free()); NULL on failure.
 */
typedef void (*oci_manifest_cb)(int r, struct oci_manifest *m, const struct op_err *err,
				void *payload);
int oci_manifest_get(struct oci_client *c, const char *ref, oci_manifest_cb cb, void *payload);

/* Every tag of the repository (all pages). */
typedef void (*oci_tags_cb)(int r, const char *const *tags, size_t n, const struct op_err *err,
			    void *payload);
int oci_tags_list(struct oci_client *c, oci_tags_cb cb, void *payload);

/*
 * Download blob `d` into a new file `path` (created 0600, must not
 * exist), refusing more than `max` bytes (0: no cap besides d->size).
 * On failure the file is removed.  Errors: -EFBIG (larger than declared
 * or than `max`), -EBADMSG (digest mismatch), transport errors.
 */
typedef void (*oci_done_cb)(int r, const struct op_err *err, void *payload);
int oci_blob_get(struct oci_client *c, const struct oci_desc *d, const char *path, uint64_t max,
		 oci_done_cb cb, void *payload);

/* A small blob (at most `max` bytes, at most d->size) into memory, digest checked. */
typedef void (*oci_data_cb)(int r, const char *data, size_t len, const struct op_err *err,
			    void *payload);
int oci_blob_get_mem(struct oci_client *c, const struct oci_desc *d, size_t max, oci_data_cb cb,
		     void *payload);

/*
 * Upload a blob: `len` bytes of `data`, or when `data` is NULL the file
 * `path` (of `len` bytes, read on the loop thread: meant for the command
 * line), whose digest the caller has computed (`digest`).  Skipped when
 * the registry has it already.
 */
int oci_blob_push(struct oci_client *c, const char *data, const char *path, uint64_t len,
		  const char *digest, oci_done_cb cb, void *payload);

/* PUT a manifest under `tag`; `digest` in the callback is what the registry stored. */
typedef void (*oci_put_cb)(int r, const char *digest, const struct op_err *err, void *payload);
int oci_manifest_put(struct oci_client *c, const char *tag, const char *body, size_t len,
		     const char *media_type, oci_put_cb cb, void *payload);

/* ------------------------------------------------------------------ */
/* Pulling an artifact: OCIRepository's fetch in one operation.       */

struct oci_pull_opts {
	/* The reference, in Flux's precedence: digest, then semver (with its
	 * filter), then tag; none given: "latest". */
	const char *tag, *semver, *semver_filter, *digest;
	/* Stop after resolving when the revision equals this (the stored
	 * artifact's, when nothing else changed): result.unchanged. */
	const char *unchanged_revision;
	/* Verify cosign signatures before pulling: PEM public keys (ECDSA
	 * P-256 or RSA).  n_keys == 0: no verification.  Not again for a
	 * revision equal to `verified_revision` (Flux verifies when the
	 * revision or the spec changed, or the last verification failed). */
	const char *const *cosign_keys;
	size_t n_keys;
	const char *verified_revision;
	const char *layer_media_type; /* NULL: the first layer */
	const char *layer_path;       /* where the layer's blob goes; NULL: resolve only */
	uint64_t max_layer;           /* bytes; 0: 1 GiB */
	const char *os, *arch;        /* index platform; NULL: linux/amd64 */
};

/* Which step failed: the OCIRepository reasons map onto these. */
enum oci_stage {
	OCI_STAGE_NONE,
	OCI_STAGE_TAG,      /* semver: listing or picking tags (ReadOperationFailed) */
	OCI_STAGE_DIGEST,   /* resolving the tag (OCIArtifactPullFailed) */
	OCI_STAGE_VERIFY,   /* cosign (VerificationError) */
	OCI_STAGE_PULL,     /* manifests and the blob (OCIArtifactPullFailed) */
	OCI_STAGE_LAYER,    /* no such layer (OCIArtifactLayerOperationFailed) */
};

struct oci_pull_result {
	char tag[OCI_TAG_MAX + 1];        /* "" for a digest reference */
	char digest[ARTIFACT_DIGEST_MAX]; /* what the reference points at (an index, maybe) */
	char revision[OCI_TAG_MAX + ARTIFACT_DIGEST_MAX + 2]; /* "<tag>@sha256:..." or "sha256:..." */
	bool unchanged;                   /* == unchanged_revision: nothing more was done */
	bool verified;                    /* cosign checked a signature */
	cJSON *annotations;               /* the manifest's, owned; NULL if none */
	char layer_media_type[128];
	char layer_digest[ARTIFACT_DIGEST_MAX];
	uint64_t layer_size;
	enum oci_stage stage;             /* on failure */
};

/*
 * Resolve, verify, pick the layer and download it.  The callback gets
 * the result on success and failure alike (stage says where it failed);
 * release its annotations with oci_pull_result_release().
 */
typedef void (*oci_pull_cb)(int r, struct oci_pull_result *res, const struct op_err *err,
			    void *payload);
int oci_pull(struct oci_client *c, const struct oci_pull_opts *opts, oci_pull_cb cb,
	     void *payload);
void oci_pull_result_release(struct oci_pull_result *res);

#endif
