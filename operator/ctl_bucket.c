/*
 * ctl_bucket.c: the Bucket reconciler (source.toolkit.fluxcd.io/v1),
 * source-controller's contract, for S3 (provider generic, and aws with
 * static keys) and Azure Blob (provider azure).
 *
 * The manager's skeleton (manager.h) does the lifecycle every kind
 * shares; finalize() removes the object's artifacts.  One reconcile:
 *
 *   spec          provider, endpoint, interval, timeout; what cflux does
 *                 not do is refused by name (provider gcp, aws without a
 *                 secretRef, sts, serviceAccountName: Stalled)
 *   secretRef     generic/aws: accesskey and secretkey (both, as Flux
 *                 requires); azure: accountKey or sasKey — Entra ID keys
 *                 (tenantId, clientId, clientSecret, clientCertificate,
 *                 authorityHost) need Azure's token service and are
 *                 refused with a message saying so
 *   certSecretRef ca.crt, tls.crt/tls.key (generic only, as Flux)
 *   proxySecretRef address, username, password
 *   work          bucket_fetch() (lib/source/bucket.h) into a temporary
 *                 directory: .sourceignore and spec.ignore, Flux's index
 *                 revision, and nothing downloaded when it equals the
 *                 stored artifact's; otherwise the objects are archived to
 *                 <storage>/bucket/<ns>/<name>/<hex>.tar.gz (two kept)
 *   status        Flux's conditions (ArtifactInStorage, FetchFailed,
 *                 StorageOperationFailed, Ready), the artifact,
 *                 observedIgnore; a NewArtifact event with the object
 *                 count; a failure's Warning event.
 *
 * A failure keeps the last artifact: consumers go on with it.  Messages
 * come from bucket.c, which never puts a key or a URL (a SAS) in them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/path.h"
#include "base/str.h"
#include "base/time.h"
#include "conditions.h"
#include "controllers.h"
#include "secrets.h"
#include "source.h"
#include "source/bucket.h"
#include "storage.h"
#include "yj/yj.h"
#include "base/banned.h"

#define KIND "Bucket"
#define RECORDS 2

struct bucketjob {
	struct rc *rc;
	struct storage *st;
	char *ns, *name;
	enum bucket_provider provider;
	char *endpoint, *bucket, *region, *prefix, *ignore;
	bool insecure;
	char *secret_name, *cert_secret, *proxy_secret;
	bool secret_read, cert_read, proxy_read;
	char *access_key, *secret_key, *account_key, *sas;
	struct secret_tls tls;
	char *proxy_url, *proxy_user, *proxy_pass;
	char *last_revision, *tmp_root;
	unsigned timeout_s;
	int64_t interval_ns;
	/* outputs */
	int r;
	struct op_err err;
	const char *reason;
	struct bucket_result res;
	struct artifact_info ai;
	char *rel;
};

static void job_release(void *job)
{
	struct bucketjob *j = job;

	free(j->ns);
	free(j->name);
	free(j->endpoint);
	free(j->bucket);
	free(j->region);
	free(j->prefix);
	free(j->ignore);
	free(j->secret_name);
	free(j->cert_secret);
	free(j->proxy_secret);
	free(j->access_key);
	free_secret(j->secret_key);
	free_secret(j->account_key);
	free_secret(j->sas);
	secret_tls_release(&j->tls);
	free(j->proxy_url);
	free(j->proxy_user);
	free_secret(j->proxy_pass);
	free(j->last_revision);
	free(j->tmp_root);
	free(j->rel);
}

static void fail(struct bucketjob *j, const char *reason, const char *msg, bool stall)
{
	struct rc *rc = j->rc;
	long gen = rc_gen(rc);
	int64_t now = time_now_ns();

	cond_set(rc->status, streq(reason, "StorageOperationFailed") ? "StorageOperationFailed" :
			     "FetchFailed", "True", reason, msg, gen, now);
	rc_event(rc, "Warning", reason, "%s", msg);
	log_error(NULL, "Reconciler error", "controller", "bucket", "object", rc->key, "reason",
		  reason, "error", msg, NULL);
	if (stall) {
		rc_stall(rc, reason, msg);
		return;
	}
	cond_set(rc->status, COND_READY, "False", reason, msg, gen, now);
	rc_retry(rc);
}

static void succeed(struct bucketjob *j)
{
	struct rc *rc = j->rc;
	_cleanup_free_ char *msg = xasprintf("stored artifact: revision '%s'", j->res.revision);
	struct source_stored s = {
		.fresh = !j->res.unchanged,
		.rel = j->rel,
		.revision = j->res.revision,
		.ai = &j->ai,
		.ignore = j->ignore,
		.msg = msg,
	};

	if (source_stored(rc, j->st, &s)) {
		rc_event(rc, "Normal", "NewArtifact", "stored artifact with %llu fetched files from "
			 "'%s' bucket", (unsigned long long)j->res.objects, j->bucket);
		log_info(NULL, "Stored artifact", "controller", "bucket", "object", rc->key,
			 "revision", j->res.revision, NULL);
	}
	rc_done(rc, (uint64_t)(j->interval_ns / NSEC_PER_MSEC));
}

/* ---- the thread-pool part ---- */

static void work(void *job)
{
	struct bucketjob *j = job;
	struct bucket_opts o = {
		.provider = j->provider,
		.endpoint = j->endpoint,
		.bucket = j->bucket,
		.region = j->region,
		.prefix = j->prefix,
		.ignore = j->ignore,
		.insecure = j->insecure,
		.access_key = j->access_key,
		.secret_key = j->secret_key,
		.account_key = j->account_key,
		.sas = j->sas,
		.ca_pem = j->tls.ca,
		.cert_pem = j->tls.cert,
		.key_pem = j->tls.key,
		.proxy_url = j->proxy_url,
		.proxy_user = j->proxy_user,
		.proxy_pass = j->proxy_pass,
		.timeout_s = j->timeout_s,
		.cancel = rc_cancel_flag(j->rc),
		.last_revision = j->last_revision,
		.lim = ARTIFACT_LIMITS_DEFAULT,
	};
	char *dir = xasprintf("%s/bucket-XXXXXX", j->tmp_root), *file;

	if (!mkdtemp(dir)) {
		j->r = op_err_set(&j->err, -errno, "cannot create a temporary directory in '%s': %s",
				  j->tmp_root, op_strerror(errno));
		j->reason = "DirectoryCreationFailed";
		free(dir);
		return;
	}
	o.dir = dir;
	j->r = bucket_fetch(&o, &j->res, &j->err);
	if (j->r < 0) {
		j->reason = "BucketOperationFailed";
		goto out;
	}
	if (j->res.unchanged)
		goto out;
	/* Flux's file name: the revision's hex, "<hex>.tar.gz". */
	file = xasprintf("%s.tar.gz", j->res.revision + strlen("sha256:"));
	j->r = storage_archive(j->st, KIND, j->ns, j->name, file, dir, NULL, NULL, RECORDS,
			       &j->rel, &j->ai, &j->reason, &j->err);
	free(file);
out:
	path_remove_all(dir);
	free(dir);
}

static void work_done(struct rc *rc, int status)
{
	struct bucketjob *j = rc->job;

	if (status < 0)
		fail(j, "BucketOperationFailed", "the fetch was cancelled", false);
	else if (j->r < 0)
		fail(j, j->reason, j->err.msg, false);
	else
		succeed(j);
}

/* ---- the loop part: the Secrets ---- */

static void load_secrets(struct bucketjob *j);

/* Entra ID's keys (Flux's azure provider tries them first). */
static const char *entra_key(const cJSON *secret)
{
	static const char *const keys[] = { "tenantId", "clientId", "clientSecret",
					    "clientCertificate", "authorityHost" };
	const cJSON *data = yj_get(secret, "/data");
	size_t i;

	for (i = 0; i < ARRAY_SIZE(keys); i++)
		if (cJSON_GetObjectItemCaseSensitive(data, keys[i]))
			return keys[i];
	return NULL;
}

static void got_secret(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct bucketjob *j = payload;
	const char *entra;
	char msg[600];

	if (r < 0) {
		snprintf(msg, sizeof(msg), "failed to get secret '%s/%s': %s", j->ns,
			 j->secret_name, err && err->msg[0] ? err->msg : op_strerror(r));
		fail(j, "AuthenticationFailed", msg, false);
		return;
	}
	j->secret_read = true;
	if (j->provider == BUCKET_S3) {
		j->access_key = secret_value(obj, "accesskey");
		j->secret_key = secret_value(obj, "secretkey");
		if (!j->access_key || !j->secret_key) {
			snprintf(msg, sizeof(msg), "invalid '%s' secret data: required fields "
				 "'accesskey' and 'secretkey'", j->secret_name);
			fail(j, "AuthenticationFailed", msg, false);
			return;
		}
		load_secrets(j);
		return;
	}
	j->account_key = secret_value(obj, "accountKey");
	j->sas = secret_value(obj, "sasKey");
	entra = entra_key(obj);
	if (entra) {
		snprintf(msg, sizeof(msg), "secret '%s/%s' holds Entra ID credentials ('%s'): they "
			 "need Azure's token service (Microsoft Entra ID, managed or workload "
			 "identity), which cflux does not use; give the Secret an 'accountKey' or a "
			 "'sasKey' instead", j->ns, j->secret_name, entra);
		fail(j, "AuthenticationFailed", msg, false);
		return;
	}
	if (!j->account_key && !j->sas) {
		snprintf(msg, sizeof(msg), "invalid '%s' secret data: requires an 'accountKey' or a "
			 "'sasKey' field", j->secret_name);
		fail(j, "AuthenticationFailed", msg, false);
		return;
	}
	load_secrets(j);
}

static void got_cert(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct bucketjob *j = payload;
	char msg[600];

	j->cert_read = true;
	if (r < 0) {
		snprintf(msg, sizeof(msg), "failed to get TLS config: failed to get secret '%s/%s': %s",
			 j->ns, j->cert_secret, err && err->msg[0] ? err->msg : op_strerror(r));
		fail(j, "AuthenticationFailed", msg, false);
		return;
	}
	if (secret_tls_read(obj, j->ns, j->cert_secret, &j->tls, msg, sizeof(msg)) < 0) {
		fail(j, "AuthenticationFailed", msg, false);
		return;
	}
	load_secrets(j);
}

static void got_proxy(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct bucketjob *j = payload;
	char msg[600];

	j->proxy_read = true;
	if (secret_proxy_read(r, obj, err, j->ns, j->proxy_secret, &j->proxy_url, &j->proxy_user,
			      &j->proxy_pass, msg, sizeof(msg)) < 0) {
		fail(j, "AuthenticationFailed", msg, false);
		return;
	}
	load_secrets(j);
}

/*
 * The provider's own check of the settings (bucket_provider_ops.init):
 * the endpoint's shape, and with the Secrets read, the keys' (an account
 * key that is not base64, an unparsable SAS).  0, or -1 with `msg`.
 */
static int check_settings(const struct bucketjob *j, char *msg, size_t n)
{
	struct bucket_opts bo = { .provider = j->provider, .endpoint = j->endpoint,
				  .bucket = j->bucket, .insecure = j->insecure,
				  .access_key = j->access_key, .secret_key = j->secret_key,
				  .account_key = j->account_key, .sas = j->sas };
	const struct bucket_provider_ops *p =
		j->provider == BUCKET_AZURE ? &bucket_azure_ops : &bucket_s3_ops;
	struct op_err e;
	void *pst;

	if (p->init(&bo, &pst, &e) < 0) {
		snprintf(msg, n, "%s", e.msg);
		return -1;
	}
	p->free(pst);
	return 0;
}

/* The Secrets the spec names, one after the other; then the work. */
static void load_secrets(struct bucketjob *j)
{
	struct kube_ref ref = { .version = "v1", .resource = "secrets", .ns = j->ns };
	struct kube_client *c = ctl_client(j->rc->ctl);
	const char *name = NULL;
	kube_cb cb = NULL;
	char msg[600];

	if (j->secret_name && !j->secret_read)
		name = j->secret_name, cb = got_secret;
	else if (j->cert_secret && !j->cert_read)
		name = j->cert_secret, cb = got_cert;
	else if (j->proxy_secret && !j->proxy_read)
		name = j->proxy_secret, cb = got_proxy;
	if (cb) {
		ref.name = name;
		if (kube_get(c, &ref, NULL, cb, j) < 0)
			fail(j, "AuthenticationFailed", "cannot read a secret", false);
		return;
	}
	if (check_settings(j, msg, sizeof(msg)) < 0) {
		fail(j, "AuthenticationFailed", msg, false);
		return;
	}
	if (rc_work(j->rc, work, work_done) < 0)
		fail(j, "BucketOperationFailed", "cannot queue the fetch", false);
}

/* ---- the spec ---- */

/* What cflux cannot do, named: NULL, or the reason with `msg`. */
const char *bucket_unsupported(const cJSON *spec, char *msg, size_t n)
{
	const char *provider = yj_get_str(spec, "/provider");

	if (!provider || !*provider)
		provider = "generic";
	if (streq(provider, "gcp"))
		snprintf(msg, n, "provider 'gcp' (Google Cloud Storage's JSON API) is not supported "
			 "by cflux; use provider 'generic' with the storage.googleapis.com S3 "
			 "endpoint and HMAC keys");
	else if (!streq(provider, "generic") && !streq(provider, "aws") &&
		 !streq(provider, "azure"))
		snprintf(msg, n, "unknown provider '%s'", provider);
	else if (yj_get(spec, "/sts"))
		snprintf(msg, n, "spec.sts is not supported by cflux (it needs an STS or LDAP "
			 "token service): give spec.secretRef static keys");
	else if (yj_get_str(spec, "/serviceAccountName"))
		snprintf(msg, n, "spec.serviceAccountName (workload identity) is not supported by "
			 "cflux: give spec.secretRef credentials");
	else if (streq(provider, "aws") && !yj_get_str(spec, "/secretRef/name"))
		snprintf(msg, n, "provider 'aws' without spec.secretRef needs AWS's credential "
			 "services (IRSA, EKS Pod Identity, instance roles), which cflux does not "
			 "use: give spec.secretRef with accesskey and secretkey");
	else if (streq(provider, "azure") && yj_get_str(spec, "/certSecretRef/name"))
		snprintf(msg, n, "spec.certSecretRef is only supported for the 'generic' provider");
	else
		return NULL;
	return "InvalidProviderConfiguration";
}

static void reconcile(struct rc *rc)
{
	struct bucket_ctl *b = ctl_data(rc->ctl);
	struct bucketjob *j = rc->job;
	const struct kobj *o = rc->obj;
	const char *provider = kobj_str(o, "spec", "provider", NULL);
	const char *why;
	const char *rev = yj_get_str(o->json, "/status/artifact/revision");
	const char *path = yj_get_str(o->json, "/status/artifact/path");
	char msg[600];

	j->rc = rc;
	j->st = b->storage;
	j->ns = xstrdup(o->ns);
	j->name = xstrdup(o->name);
	j->bucket = source_strdup(kobj_str(o, "spec", "bucketName", NULL));
	j->ignore = source_strdup(kobj_str(o, "spec", "ignore", NULL));
	if (!provider || !*provider)
		provider = "generic";
	if ((why = bucket_unsupported(yj_get(o->json, "/spec"), msg, sizeof(msg)))) {
		fail(j, why, msg, true);
		return;
	}
	j->provider = streq(provider, "azure") ? BUCKET_AZURE : BUCKET_S3;
	j->endpoint = source_strdup(kobj_str(o, "spec", "endpoint", NULL));
	j->region = source_strdup(kobj_str(o, "spec", "region", NULL));
	j->prefix = source_strdup(kobj_str(o, "spec", "prefix", NULL));
	j->insecure = cJSON_IsTrue(yj_get(o->json, "/spec/insecure"));
	if (source_durations(o, &j->interval_ns, &j->timeout_s, &why, msg, sizeof(msg)) < 0) {
		fail(j, why, msg, true);
		return;
	}
	/* Flux's no-op: an unchanged listing against the artifact we still have. */
	if (rev && path && storage_has(b->storage, path))
		j->last_revision = xstrdup(rev);
	j->tmp_root = xstrdup(b->tmp_root);
	j->secret_name = source_strdup(yj_get_str(o->json, "/spec/secretRef/name"));
	j->cert_secret = source_strdup(yj_get_str(o->json, "/spec/certSecretRef/name"));
	j->proxy_secret = source_strdup(yj_get_str(o->json, "/spec/proxySecretRef/name"));
	load_secrets(j);
}

/* Deletion: the object's artifacts go with it (as Flux's finalizer does). */
static void finalize(struct rc *rc)
{
	struct bucket_ctl *b = ctl_data(rc->ctl);

	source_finalize(rc, b->storage);
}

const struct ctl_desc bucket_desc = {
	.name = "bucket",
	.component = "source-controller",
	.kind = KIND,
	.api_version = "source.toolkit.fluxcd.io/v1",
	.ref = { .group = "source.toolkit.fluxcd.io", .version = "v1", .resource = "buckets" },
	.retry = BACKOFF_RECONCILE,
	.source = true,
	.job_size = sizeof(struct bucketjob),
	.job_release = job_release,
	.reconcile = reconcile,
	.finalize = finalize,
};
