/*
 * bucket.h: fetching the objects of an S3 bucket or an Azure Blob
 * container into a directory, as source-controller's Bucket does — what a
 * bucket's listing and download look like to the reconciler, whichever
 * the provider.
 *
 * bucket_fetch(), in Flux's order:
 *   1. GET ".sourceignore" at the bucket's root into `dir` (it stays
 *      there, so it is in the artifact, as in Flux); a missing one is no
 *      error, a missing bucket is ("bucket 'x' not found");
 *   2. list the objects under `prefix`, page by page (S3 ListObjectsV2
 *      with continuation tokens, Azure List Blobs with markers), keeping
 *      an index of key -> ETag: keys ending in "/" and the root
 *      ".sourceignore" are skipped, and so are keys the rules of that
 *      .sourceignore and then `ignore` (spec.ignore) exclude — gitignore
 *      rules matched against the whole key, no default exclusions;
 *   3. the revision is "sha256:" + hex sha256 of the lines "<key> <etag>\n"
 *      in bytewise key order (Flux's index digest);
 *   4. if that is `last_revision`, stop: nothing is downloaded
 *      (`unchanged`); otherwise download every indexed object, at most
 *      `max_fetches` at once on one connection pool, streamed to
 *      `dir/<key>`; an object that vanished meanwhile leaves the index, an
 *      object whose download carries another ETag takes it, and the
 *      revision is computed again.
 *
 * ETags, as Flux's revisions have them: S3's without their quotes (what
 * minio-go returns), Azure's with them (what the Get Blob response header
 * carries, which is what Flux's index ends up with; its listing's own
 * value is a hex-encoded copy that never matches — see azblob.c).
 *
 * Limits: at most lim->max_entries objects, lim->max_file_bytes each and
 * lim->max_total_bytes in all (-EFBIG / -E2BIG naming the object); keys
 * longer than 1024 bytes, or with a "." or ".." component, refuse the
 * revision with the key in the message.  Memory is the index (the keys
 * and ETags) plus one listing page: the objects stream to disk.
 *
 * Blocking: bucket_fetch() runs its own libuv loop with one HTTP engine
 * (lib/kube/http.h) for the whole fetch and returns when it is done; call
 * it on a uv_queue_work() worker.  It neither logs nor touches any other
 * loop.  `timeout_s` bounds the whole fetch (Flux's spec.timeout).
 *
 * Errors carry Flux's wording where it has one and never a secret.  The
 * code says what kind of failure it is: -ENOENT a missing bucket, -EACCES
 * credentials refused (wrong key, expired SAS, no permission), -EINVAL a
 * bad setting (endpoint, provider, credentials), -EFBIG/-E2BIG a limit,
 * -ETIMEDOUT the deadline, -ECANCELED the cancel flag (noticed within
 * SRC_CANCEL_POLL_MS, even in a transfer that is stuck), others transport
 * or server errors.
 */
#ifndef CFLUX_SOURCE_BUCKET_H
#define CFLUX_SOURCE_BUCKET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "source/artifact.h"

struct http_resp;

enum bucket_provider {
	BUCKET_S3,    /* Flux's provider generic, and aws with static keys */
	BUCKET_AZURE, /* Flux's provider azure: Azure Blob */
};

#define BUCKET_MAX_FETCHES 100 /* Flux's maxConcurrentBucketFetches */
#define BUCKET_KEY_MAX 1024    /* S3's and Azure's longest object name */

struct bucket_opts {
	enum bucket_provider provider;
	/*
	 * S3: "host[:port]" (no scheme: https, or http with `insecure`).
	 * Azure: the account's blob endpoint URL, "https://<account>.blob.core.windows.net",
	 * or path-style "http://127.0.0.1:10000/<account>" (an IP or localhost
	 * host: the account is the first path component, as Azurite and the
	 * Azure SDK read it).
	 */
	const char *endpoint;
	const char *bucket;      /* bucket or container name */
	const char *region;      /* S3; NULL: asked from the bucket (?location), else us-east-1 */
	const char *prefix;      /* list only keys starting with this; NULL: all */
	const char *ignore;      /* spec.ignore (gitignore lines) or NULL */
	bool insecure;           /* S3: plain http */
	const char *access_key;  /* S3 (SigV4); both or neither: anonymous */
	const char *secret_key;
	const char *account_key; /* Azure Shared Key (base64) */
	const char *sas;         /* Azure SAS token ("?sv=...&sig=..." or without "?") */
	const char *ca_pem;      /* certSecretRef ca.crt: server CA (PEM); NULL: system CAs */
	const char *cert_pem;    /* certSecretRef tls.crt/tls.key: client certificate */
	const char *key_pem;
	const char *proxy_url;   /* http:// proxy, or NULL for the environment's */
	const char *proxy_user, *proxy_pass;
	unsigned timeout_s;      /* the whole fetch; 0: 60 s */
	const atomic_bool *cancel; /* give up (-ECANCELED) once set (another thread); NULL: never */
	unsigned max_fetches;    /* downloads at once; 0: BUCKET_MAX_FETCHES */
	unsigned page_size;      /* keys per listing page; 0: the server's (1000, 5000) */
	const char *last_revision; /* the stored artifact's revision, or NULL */
	const char *dir;         /* existing empty directory for the objects */
	struct artifact_limits lim;
};

struct bucket_result {
	char revision[ARTIFACT_DIGEST_MAX]; /* "sha256:<hex>" */
	bool unchanged;      /* == last_revision: nothing was downloaded */
	uint64_t objects;    /* in the index */
	uint64_t downloaded; /* objects downloaded */
	uint64_t bytes;      /* bytes downloaded */
	uint64_t pages;      /* listing requests */
};

/* See the top of this file.  0 or a negative errno with reterr. */
int bucket_fetch(const struct bucket_opts *o, struct bucket_result *ret, struct op_err *reterr);

/* ---- for the providers (s3.c, azblob.c) and their tests ---- */

/* One request a provider wants made: URL and "Name: value" headers. */
#define BUCKET_REQ_HEADERS 8
struct bucket_req {
	char *url;
	char *headers[BUCKET_REQ_HEADERS + 1]; /* NULL-terminated */
};
void bucket_req_release(struct bucket_req *r);

/* The listing's consumer: one object.  0, or a negative errno to stop. */
typedef int (*bucket_add_fn)(const char *key, const char *etag, void *payload);

/*
 * A provider: builds the signed requests and reads the answers; the
 * fetch makes the requests.  `st` is the provider's state from `init`.
 */
struct bucket_provider_ops {
	int (*init)(const struct bucket_opts *o, void **ret_st, struct op_err *reterr);
	void (*free)(void *st);
	/*
	 * The first listing page (marker NULL) or the one after `marker`, of
	 * at most `max` keys (0: the provider's page size).
	 */
	int (*list_req)(void *st, const char *marker, unsigned max, struct bucket_req *ret);
	/* One page: add() per object; *ret_next the next marker or NULL at the end. */
	int (*list_parse)(void *st, const char *body, size_t len, bucket_add_fn add,
			  void *payload, char **ret_next, struct op_err *reterr);
	int (*get_req)(void *st, const char *key, struct bucket_req *ret);
	/* The object's ETag from a GET response (malloc'd), or NULL. */
	char *(*get_etag)(const struct http_resp *resp);
	/*
	 * A response that is not a success: its errno and message, starting
	 * with `what` ("listing objects from bucket 'b' failed").  Returns
	 * -ENOENT for a missing object (the caller may expect that), and
	 * sets *ret_no_bucket for a missing bucket or container.  -EAGAIN:
	 * the provider learned something (S3: the bucket's region) and the
	 * same request, built again, may succeed.
	 */
	int (*error)(void *st, const struct http_resp *resp, const char *what, bool *ret_no_bucket,
		     struct op_err *reterr);
};
extern const struct bucket_provider_ops bucket_s3_ops, bucket_azure_ops;

/*
 * S3 Signature Version 4 (s3.c), exposed for the AWS test vectors:
 * `path` URI-encoded, `query` canonical, `headers` the signed headers as
 * "name:value" (lower-case names, trimmed values) sorted by name, `date`
 * "YYYYMMDDTHHMMSSZ".  Returns the Authorization header's value (malloc'd).
 */
struct s3_sign {
	const char *method, *path, *query;
	const char *const *headers;
	const char *payload_hash, *date, *region, *service;
	const char *access_key, *secret_key;
};
char *s3__authorization(const struct s3_sign *s);
/* Tests: sign with this clock (Unix seconds) instead of the real one. */
void s3__set_clock(void *st, int64_t unix_s);

/*
 * Azure Shared Key (azblob.c), exposed for tests: the string to sign of
 * a GET of `url` with the x-ms-* `headers` ("name:value"), for `account`.
 */
char *azblob__string_to_sign(const char *account, const char *url, const char *const *headers);
void azblob__set_clock(void *st, int64_t unix_s);

/* The ETag header of a response (malloc'd), without its quotes if `unquote`; NULL if none. */
char *bucket__etag(const struct http_resp *resp, bool unquote);
/* HMAC-SHA256 of `data` under `key`: 32 bytes into `ret`. */
void bucket__hmac(const void *key, size_t klen, const void *data, size_t n,
		  unsigned char ret[32]);
/* Standard base64 of `n` bytes (malloc'd). */
char *bucket__b64_encode(const void *data, size_t n);
/* Decode %XX (and "+" as space when `plus`) into a new string; NULL if malformed. */
char *bucket__uri_decode(const char *s, size_t n, bool plus);

/* One object of the index. */
struct bucket_entry {
	char *key;
	char *etag;
};

/*
 * The revision of `n` entries in any order: sorts `v` by key (bytewise)
 * and writes "sha256:<hex>" of the lines "<key> <etag>\n" into `ret`.
 */
void bucket_revision(struct bucket_entry *v, size_t n, char ret[ARTIFACT_DIGEST_MAX]);

#endif
