/*
 * ctl_ocirepository.c: the OCIRepository reconciler
 * (source.toolkit.fluxcd.io/v1), source-controller's contract.
 *
 * The manager's skeleton (manager.h) does the lifecycle every kind
 * shares: the finalizer (finalize() removes the object's artifacts),
 * deletion, suspend, the status write.  One reconcile:
 *
 *   spec          url (oci://host/repo, no tag), ref (digest > semver >
 *                 tag > "latest"), layerSelector, verify, provider;
 *                 what cflux cannot do is refused with Stalled and a
 *                 message that names the field: cloud providers without
 *                 a Secret (their logins need the cloud), keyless cosign
 *                 (Fulcio and Rekor), notation.
 *   Secrets       secretRef (a dockerconfigjson), serviceAccountName (its
 *                 imagePullSecrets), certSecretRef (ca.crt, tls.crt,
 *                 tls.key), proxySecretRef, verify.secretRef (every *.pub
 *                 key), one after the other.
 *   pull          oci_pull() on the loop (source/oci.h): resolve the
 *                 revision ("<tag>@sha256:..." or "sha256:..."), verify it
 *                 with cosign when asked and not verified yet, and stop
 *                 there when it equals the stored artifact's and neither
 *                 spec.ignore nor spec.layerSelector moved (Flux's no-op:
 *                 one manifest HEAD); else download the layer.
 *   work          on the thread pool: extract the layer (a hostile
 *                 archive is refused) and archive it minus the ignore
 *                 rules, or copy it as is (operation: copy), to
 *                 <storage>/ocirepository/<ns>/<name>/sha256:<hex>.tar.gz
 *                 (the digest, "sha256:" included, as Flux names it),
 *                 with latest.tar.gz beside it (status.url); two kept.
 *   status        artifact (with the manifest's annotations as metadata),
 *                 url, observedIgnore, observedLayerSelector, conditions
 *                 (Ready, ArtifactInStorage, FetchFailed, SourceVerified,
 *                 StorageOperationFailed) and reasons as source-controller
 *                 writes them; a NewArtifact Event naming the origin
 *                 source and revision when the artifact carries them.
 *
 * A failure keeps the last artifact in status and storage.  Messages
 * never carry secret values (oci.c's do not, and we add none).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/path.h"
#include "base/str.h"
#include "base/time.h"
#include "conditions.h"
#include "controllers.h"
#include "secrets.h"
#include "source.h"
#include "source/artifact.h"
#include "source/ignore.h"
#include "source/oci.h"
#include "storage.h"
#include "yj/yj.h"
#include "base/banned.h"

#define KIND "OCIRepository"
#define RECORDS 2
#define LATEST "latest.tar.gz"

struct ocijob {
	struct rc *rc;
	struct storage *st;
	char *ns, *name, *tmp_root;
	/* the spec, owned copies */
	char *url;
	struct oci_ref ref;
	char *tag, *semver, *semver_filter, *digest;
	char *layer_mt;      /* layerSelector.mediaType, or NULL: the first layer */
	bool copy;           /* layerSelector.operation: copy */
	char *ignore;        /* spec.ignore, or NULL */
	bool insecure;
	uint64_t timeout_ms;
	int64_t interval_ns;
	/* the Secrets, read one after the other */
	char *secret_name, *sa_name, *cert_secret, *proxy_secret, *keys_secret;
	bool secret_read, sa_read, cert_read, proxy_read, keys_read;
	char **configs;      /* .dockerconfigjson texts: secretRef's, then the SA's pull secrets */
	size_t n_configs, cap_configs;
	char **pull_secrets; /* the SA's imagePullSecrets still to read */
	size_t n_pull, i_pull;
	struct secret_tls tls;
	char *proxy_url, *proxy_user, *proxy_pass;
	char **keys;         /* cosign public keys (*.pub) */
	size_t n_keys;
	bool verify;         /* spec.verify (cosign with a secretRef) */
	/* the pull */
	struct oci_client *client;
	struct oci_pull_result res;
	char *tmp;           /* this reconcile's scratch directory */
	char *layer_path;
	/* the work's outputs */
	int r;
	struct op_err err;
	const char *reason;
	struct artifact_info ai;
	char *rel;
};

static void free_list(char **v, size_t n, bool secret)
{
	for (size_t i = 0; i < n; i++)
		if (secret)
			free_secret(v[i]);
		else
			free(v[i]);
	free(v);
}

static void job_release(void *job)
{
	struct ocijob *j = job;

	free(j->ns);
	free(j->name);
	free(j->tmp_root);
	free(j->url);
	free(j->tag);
	free(j->semver);
	free(j->semver_filter);
	free(j->digest);
	free(j->layer_mt);
	free(j->ignore);
	free(j->secret_name);
	free(j->sa_name);
	free(j->cert_secret);
	free(j->proxy_secret);
	free(j->keys_secret);
	free_list(j->configs, j->n_configs, true);
	free_list(j->pull_secrets, j->n_pull, false);
	secret_tls_release(&j->tls);
	free(j->proxy_url);
	free(j->proxy_user);
	free_secret(j->proxy_pass);
	free_list(j->keys, j->n_keys, false);
	oci_pull_result_release(&j->res);
	if (j->tmp) {
		/* Normally empty by now: the work removed what it extracted. */
		path_remove_all(j->tmp);
		free(j->tmp);
	}
	free(j->layer_path);
	free(j->rel);
}

/* The conditions a failure of `reason` sets, as source-controller does. */
static void fail(struct ocijob *j, const char *reason, const char *msg, bool stall)
{
	struct rc *rc = j->rc;
	cJSON *st = rc->status;
	int64_t now = time_now_ns();
	long gen = rc_gen(rc);

	if (streq(reason, "VerificationError"))
		cond_set(st, "SourceVerified", "False", reason, msg, gen, now);
	else if (streq(reason, "StorageOperationFailed") || streq(reason, "ArchiveOperationFailed") ||
		 streq(reason, "DirectoryCreationFailed"))
		cond_set(st, "StorageOperationFailed", "True", reason, msg, gen, now);
	else
		cond_set(st, "FetchFailed", "True", reason, msg, gen, now);
	rc_event(rc, "Warning", reason, "%s", msg);
	log_error(NULL, "Reconciler error", "controller", "ocirepository", "object", rc->key,
		  "reason", reason, "error", msg, NULL);
	if (stall) {
		rc_stall(rc, reason, msg);
		return;
	}
	cond_set(st, COND_READY, "False", reason, msg, gen, now);
	rc_retry(rc);
}

/* spec.layerSelector as Flux compares it: absent and {} are not the same. */
static bool same_json(const cJSON *a, const cJSON *b)
{
	if (!a || !b)
		return !a && !b;
	return cJSON_Compare(a, b, true);
}

/* status.url: latest.tar.gz in the object's directory. */
static char *latest_url(const struct ocijob *j)
{
	char *rel = storage_rel_path(KIND, j->ns, j->name, LATEST), *url = storage_url(j->st, rel);

	free(rel);
	return url;
}

static void succeed(struct ocijob *j)
{
	struct rc *rc = j->rc;
	const cJSON *spec = yj_get(rc->obj->json, "/spec");
	cJSON *st = rc->status;
	long gen = rc_gen(rc);
	int64_t now = time_now_ns();
	char *msg, *url;
	struct source_stored s = {
		.fresh = !j->res.unchanged,
		.rel = j->rel,
		.revision = j->res.revision,
		.ai = &j->ai,
		.metadata = j->res.annotations,
		.ignore = j->ignore,
	};
	bool fresh;

	cJSON_DeleteItemFromObjectCaseSensitive(st, "observedLayerSelector");
	if (yj_get(spec, "/layerSelector"))
		cJSON_AddItemToObject(st, "observedLayerSelector",
				      cJSON_Duplicate(yj_get(spec, "/layerSelector"), 1));
	url = latest_url(j);
	cJSON_DeleteItemFromObjectCaseSensitive(st, "url");
	cJSON_AddStringToObject(st, "url", url);
	free(url);
	msg = xasprintf("stored artifact for digest '%s'", j->res.revision);
	s.msg = msg;
	fresh = source_stored(rc, j->st, &s);
	free(msg);
	if (!j->verify) {
		cond_delete(st, "SourceVerified");
	} else if (j->res.verified) {
		msg = xasprintf("verified signature of revision %s", j->res.revision);
		cond_set(st, "SourceVerified", "True", "Succeeded", msg, gen, now);
		log_info(NULL, "Verified the signature", "controller", "ocirepository", "object",
			 rc->key, "revision", j->res.revision, NULL);
		free(msg);
	}
	if (fresh) {
		const char *src = yj_get_str(j->res.annotations, "/" OCI_ANN_SOURCE);
		const char *orev = yj_get_str(j->res.annotations, "/" OCI_ANN_REVISION);

		source_annotate(rc);
		if (src && *src && orev && *orev)
			rc_event(rc, "Normal", "NewArtifact", "stored artifact with revision '%s' "
				 "from '%s', origin source '%s', origin revision '%s'",
				 j->res.revision, j->url, src, orev);
		else
			rc_event(rc, "Normal", "NewArtifact", "stored artifact with revision '%s' "
				 "from '%s'", j->res.revision, j->url);
		log_info(NULL, "Stored artifact", "controller", "ocirepository", "object", rc->key,
			 "revision", j->res.revision, NULL);
	}
	rc_done(rc, (uint64_t)(j->interval_ns / NSEC_PER_MSEC));
}

/* ---- the thread-pool part ---- */


/* operation: copy — the layer's bytes are the artifact. */
static int store_copy(struct ocijob *j, const char *file)
{
	char *abs, *tmp;
	int in = -1, out = -1, r;
	char buf[65536];
	ssize_t n;

	r = storage_mkdir(j->st, KIND, j->ns, j->name, &j->err);
	if (r < 0) {
		j->reason = "StorageOperationFailed";
		return r;
	}
	j->rel = storage_rel_path(KIND, j->ns, j->name, file);
	abs = storage_abs(j->st, j->rel);
	tmp = xasprintf("%s.tmp", abs);
	in = open(j->layer_path, O_RDONLY | O_CLOEXEC);
	out = in < 0 ? -1 : open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	r = in < 0 || out < 0 ? -errno : 0;
	while (r == 0 && (n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || write(out, buf, (size_t)n) != n)
			r = -errno ? -errno : -EIO;
	}
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, abs) < 0)
		r = -errno;
	if (r == 0)
		r = artifact_digest_file(abs, j->ai.digest, &j->ai.size, &j->err);
	else
		op_err_set(&j->err, r, "unable to copy artifact to storage: %s", op_strerror(r));
	if (r < 0) {
		j->reason = "ArchiveOperationFailed";
		unlink(tmp);
	} else {
		storage_gc(j->st, KIND, j->ns, j->name, file, RECORDS);
	}
	free(tmp);
	free(abs);
	return r;
}

static void work(void *job)
{
	static const struct artifact_limits lim = ARTIFACT_LIMITS_DEFAULT;
	struct ocijob *j = job;
	/* Flux names the file after the digest, "sha256:" included. */
	char *file = xasprintf("%s.tar.gz", strrchr(j->res.revision, '@') ?
						    strrchr(j->res.revision, '@') + 1 :
						    j->res.revision);
	char *dir = xasprintf("%s/content", j->tmp);

	if (j->copy) {
		j->r = store_copy(j, file);
	} else if (mkdir(dir, 0700) < 0) {
		j->r = op_err_set(&j->err, -errno, "failed to create temporary working directory: "
				  "%s", op_strerror(errno));
		j->reason = "DirectoryCreationFailed";
	} else if ((j->r = artifact_extract(j->layer_path, dir, &lim, &j->err)) < 0) {
		op_err_prefix(&j->err, "failed to extract layer contents from artifact");
		j->reason = "OCIArtifactLayerOperationFailed";
	} else {
		struct ignore *ig = ignore_new(dir, j->ignore);

		j->r = storage_archive(j->st, KIND, j->ns, j->name, file, dir, ignore_skip, ig,
				       RECORDS, &j->rel, &j->ai, &j->reason, &j->err);
		ignore_free(ig);
	}
	if (j->r == 0)
		storage_link(j->st, KIND, j->ns, j->name, LATEST, file);
	path_remove_all(dir);
	unlink(j->layer_path);
	free(dir);
	free(file);
}

static void work_done(struct rc *rc, int status)
{
	struct ocijob *j = rc->job;

	if (status < 0) {
		fail(j, "OCIArtifactPullFailed", "the artifact's processing was cancelled", false);
		return;
	}
	if (j->r < 0) {
		fail(j, j->reason, j->err.msg, false);
		return;
	}
	succeed(j);
}

/* ---- the pull, on the loop ---- */

static void start_work(struct rc *rc)
{
	struct ocijob *j = rc->job;

	if (rc_work(rc, work, work_done) < 0)
		fail(j, "OCIArtifactPullFailed", "cannot queue the artifact's processing", false);
}

static void pulled(int r, struct oci_pull_result *res, const struct op_err *err, void *payload)
{
	struct ocijob *j = payload;
	char msg[1024], *m;

	j->res = *res;
	res->annotations = NULL; /* now ours */
	/* The registry is done with: the client frees itself once its handles close. */
	oci_client_close(j->client, NULL, NULL);
	j->client = NULL;
	if (r < 0) {
		const char *why = err ? err->msg : op_strerror(r);

		switch (res->stage) {
		case OCI_STAGE_TAG:
			snprintf(msg, sizeof(msg), "failed to determine the artifact tag for '%s': %s",
				 j->url, why);
			fail(j, "ReadOperationFailed", msg, false);
			return;
		case OCI_STAGE_VERIFY:
			snprintf(msg, sizeof(msg), "failed to verify the signature using provider "
				 "'cosign': %s", why);
			fail(j, "VerificationError", msg, false);
			return;
		case OCI_STAGE_LAYER:
			fail(j, "OCIArtifactLayerOperationFailed", why, false);
			return;
		case OCI_STAGE_PULL:
			snprintf(msg, sizeof(msg), "failed to pull artifact from '%s': %s", j->url, why);
			fail(j, "OCIArtifactPullFailed", msg, false);
			return;
		default:
			snprintf(msg, sizeof(msg), "failed to determine artifact digest: %s", why);
			fail(j, "OCIArtifactPullFailed", msg, false);
			return;
		}
	}
	if (j->res.unchanged) {
		succeed(j);
		return;
	}
	/* A new revision: say so while the artifact is built (Flux's progressive status). */
	m = xasprintf("new revision '%s' for '%s/%s%s%s'", j->res.revision, j->ref.host, j->ref.repo,
		      j->res.tag[0] ? ":" : "@", j->res.tag[0] ? j->res.tag : j->res.digest);
	if (yj_get(j->rc->obj->json, "/status/artifact"))
		cond_set(j->rc->status, "ArtifactOutdated", "True", "NewRevision", m, rc_gen(j->rc),
			 time_now_ns());
	snprintf(msg, sizeof(msg), "building artifact: %s", m);
	free(m);
	rc_progress(j->rc, NULL, "Progressing", msg, start_work);
}

/*
 * Must the revision be verified again?  Flux's rule: unless the stored
 * artifact's revision was verified at this generation (SourceVerified
 * True with this observedGeneration), verify.  Returns the revision that
 * needs no new verification, or NULL.
 */
static const char *verified_revision(const struct ocijob *j)
{
	const cJSON *st = yj_get(j->rc->obj->json, "/status");
	const cJSON *sv = cond_get(st, "SourceVerified");
	const cJSON *og = yj_get(sv, "/observedGeneration");

	if (!sv || !streq_ptr(yj_get_str(sv, "/status"), "True") || !og ||
	    (long)cJSON_GetNumberValue(og) != rc_gen(j->rc))
		return NULL;
	return yj_get_str(st, "/artifact/revision");
}

/* The stored revision when nothing else changed (Flux's no-op), or NULL. */
static const char *unchanged_revision(const struct ocijob *j)
{
	const cJSON *o = j->rc->obj->json;
	const char *path = yj_get_str(o, "/status/artifact/path");

	if (!path || !storage_has(j->st, path))
		return NULL;
	if (!streq_ptr(j->ignore, yj_get_str(o, "/status/observedIgnore")) ||
	    !same_json(yj_get(o, "/spec/layerSelector"), yj_get(o, "/status/observedLayerSelector")))
		return NULL;
	return yj_get_str(o, "/status/artifact/revision");
}

static void pull(struct ocijob *j)
{
	struct oci_client_opts co = OCI_CLIENT_OPTS_INIT;
	struct oci_pull_opts po = { 0 };
	struct op_err e = OP_ERR_INIT;
	char msg[1024];
	int r;

	co.host = j->ref.host;
	co.repo = j->ref.repo;
	co.docker_configs = (const char *const *)j->configs;
	co.n_docker_configs = j->n_configs;
	co.ca_pem = j->tls.ca;
	co.cert_pem = j->tls.cert;
	co.key_pem = j->tls.key;
	/* As Flux: insecure allows plain HTTP, and skips TLS verification only without a
	 * certSecretRef. */
	co.insecure = j->insecure && !j->cert_secret;
	co.allow_http = j->insecure;
	co.proxy_url = j->proxy_url;
	co.proxy_user = j->proxy_user;
	co.proxy_pass = j->proxy_pass;
	co.timeout_ms = j->timeout_ms;
	co.user_agent = "cflux-source-controller";
	r = oci_client_new(kube_client_loop(ctl_client(j->rc->ctl)), &co, &j->client, &e);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "failed to generate transport for '%s': %s", j->url, e.msg);
		fail(j, "AuthenticationFailed", msg, false);
		return;
	}
	j->tmp = xasprintf("%s/ocirepository-XXXXXX", j->tmp_root);
	if (!mkdtemp(j->tmp)) {
		snprintf(msg, sizeof(msg), "failed to create temporary working directory: %s",
			 op_strerror(errno));
		free(j->tmp);
		j->tmp = NULL;
		fail(j, "DirectoryCreationFailed", msg, false);
		return;
	}
	j->layer_path = xasprintf("%s/layer", j->tmp);
	po.tag = j->tag;
	po.semver = j->semver;
	po.semver_filter = j->semver_filter;
	po.digest = j->digest;
	po.unchanged_revision = unchanged_revision(j);
	po.cosign_keys = (const char *const *)j->keys;
	po.n_keys = j->n_keys;
	po.verified_revision = verified_revision(j);
	po.layer_media_type = j->layer_mt;
	po.layer_path = j->layer_path;
	r = oci_pull(j->client, &po, pulled, j);
	if (r < 0) {
		oci_client_close(j->client, NULL, NULL);
		j->client = NULL;
		snprintf(msg, sizeof(msg), "failed to pull artifact from '%s': %s", j->url,
			 op_strerror(r));
		fail(j, "OCIArtifactPullFailed", msg, false);
	}
}

/* ---- the Secrets, one after the other ---- */

static void load_secrets(struct ocijob *j);

static void add_config(struct ocijob *j, char *cfg)
{
	if (j->n_configs == j->cap_configs) {
		j->cap_configs = j->cap_configs ? 2 * j->cap_configs : 4;
		j->configs = xrealloc(j->configs, j->cap_configs * sizeof(*j->configs));
	}
	j->configs[j->n_configs++] = cfg; /* now owned by the job */
}

/* A pull Secret's docker config (.dockerconfigjson, or the older .dockercfg). */
static int docker_config_of(struct ocijob *j, const cJSON *secret, const char *name, char *msg,
			    size_t n)
{
	char *cfg = secret_value(secret, ".dockerconfigjson");

	if (!cfg)
		cfg = secret_value(secret, ".dockercfg");
	if (!cfg) {
		/* Flux would go on anonymously; saying why the credentials are unused is kinder. */
		snprintf(msg, n, "secret '%s/%s' is not a docker config: it has no .dockerconfigjson "
			 "(type kubernetes.io/dockerconfigjson) or .dockercfg key", j->ns, name);
		return -EINVAL;
	}
	add_config(j, cfg);
	return 0;
}

static void got_secret(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct ocijob *j = payload;
	char msg[1024];

	j->secret_read = true;
	if (r < 0) {
		snprintf(msg, sizeof(msg), "failed to get credential: failed to get secret '%s/%s': %s",
			 j->ns, j->secret_name, err ? err->msg : op_strerror(r));
		fail(j, "AuthenticationFailed", msg, false);
		return;
	}
	if (docker_config_of(j, obj, j->secret_name, msg, sizeof(msg)) < 0) {
		fail(j, "AuthenticationFailed", msg, false);
		return;
	}
	load_secrets(j);
}

static void got_pull_secret(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct ocijob *j = payload;
	const char *name = j->pull_secrets[j->i_pull++];
	char msg[1024];

	if (r < 0) {
		snprintf(msg, sizeof(msg), "failed to get credential: failed to get image pull secret "
			 "'%s/%s' of service account '%s': %s", j->ns, name, j->sa_name,
			 err ? err->msg : op_strerror(r));
		fail(j, "AuthenticationFailed", msg, false);
		return;
	}
	if (docker_config_of(j, obj, name, msg, sizeof(msg)) < 0) {
		fail(j, "AuthenticationFailed", msg, false);
		return;
	}
	load_secrets(j);
}

static void got_sa(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct ocijob *j = payload;
	const cJSON *ips = yj_get(obj, "/imagePullSecrets"), *it;
	char msg[1024];

	j->sa_read = true;
	if (r < 0) {
		snprintf(msg, sizeof(msg), "failed to get credential: failed to get service account "
			 "'%s/%s': %s", j->ns, j->sa_name, err ? err->msg : op_strerror(r));
		fail(j, "AuthenticationFailed", msg, false);
		return;
	}
	j->pull_secrets = xcalloc((size_t)cJSON_GetArraySize(ips) + 1, sizeof(*j->pull_secrets));
	cJSON_ArrayForEach(it, ips)
		if (yj_get_str(it, "/name") && *yj_get_str(it, "/name"))
			j->pull_secrets[j->n_pull++] = xstrdup(yj_get_str(it, "/name"));
	load_secrets(j);
}

static void got_cert(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct ocijob *j = payload;
	char msg[1024], why[512];

	j->cert_read = true;
	if (r < 0) {
		snprintf(msg, sizeof(msg), "failed to generate transport for '%s': failed to get "
			 "secret '%s/%s': %s", j->url, j->ns, j->cert_secret,
			 err ? err->msg : op_strerror(r));
		fail(j, "AuthenticationFailed", msg, false);
		return;
	}
	if (secret_tls_read(obj, j->ns, j->cert_secret, &j->tls, why, sizeof(why)) < 0) {
		snprintf(msg, sizeof(msg), "failed to generate transport for '%s': %s", j->url, why);
		fail(j, "AuthenticationFailed", msg, false);
		return;
	}
	load_secrets(j);
}

static void got_proxy(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct ocijob *j = payload;
	char msg[1024], why[600];

	j->proxy_read = true;
	if (secret_proxy_read(r, obj, err, j->ns, j->proxy_secret, &j->proxy_url, &j->proxy_user,
			      &j->proxy_pass, why, sizeof(why)) < 0) {
		/* Flux's words for an OCIRepository: "failed to get proxy address: secret ...". */
		const char *w = str_startswith(why, "failed to configure proxy options: ")
					? why + strlen("failed to configure proxy options: ")
					: why;

		snprintf(msg, sizeof(msg), "failed to get proxy address: %s", w);
		fail(j, "AuthenticationFailed", msg, false);
		return;
	}
	load_secrets(j);
}

/* spec.verify.secretRef: every key ending ".pub" is a cosign public key (Flux's rule). */
static void got_keys(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct ocijob *j = payload;
	char msg[1024];

	j->keys_read = true;
	if (r < 0) {
		snprintf(msg, sizeof(msg), "failed to verify the signature using provider 'cosign': "
			 "failed to get secret '%s/%s': %s", j->ns, j->keys_secret,
			 err ? err->msg : op_strerror(r));
		fail(j, "VerificationError", msg, false);
		return;
	}
	j->n_keys = secret_cosign_keys(obj, &j->keys);
	if (!j->n_keys) {
		snprintf(msg, sizeof(msg), "failed to verify the signature using provider 'cosign': "
			 "secret '%s/%s' has no public key (a key ending in .pub)", j->ns,
			 j->keys_secret);
		fail(j, "VerificationError", msg, false);
		return;
	}
	load_secrets(j);
}

static void load_secrets(struct ocijob *j)
{
	struct kube_ref ref = { .version = "v1", .resource = "secrets", .ns = j->ns };
	struct kube_client *c = ctl_client(j->rc->ctl);
	kube_cb cb = NULL;

	if (j->secret_name && !j->secret_read) {
		ref.name = j->secret_name;
		cb = got_secret;
	} else if (j->sa_name && !j->sa_read) {
		ref.resource = "serviceaccounts";
		ref.name = j->sa_name;
		cb = got_sa;
	} else if (j->i_pull < j->n_pull) {
		ref.name = j->pull_secrets[j->i_pull];
		cb = got_pull_secret;
	} else if (j->cert_secret && !j->cert_read) {
		ref.name = j->cert_secret;
		cb = got_cert;
	} else if (j->proxy_secret && !j->proxy_read) {
		ref.name = j->proxy_secret;
		cb = got_proxy;
	} else if (j->keys_secret && !j->keys_read) {
		ref.name = j->keys_secret;
		cb = got_keys;
	}
	if (!cb) {
		pull(j);
		return;
	}
	if (kube_get(c, &ref, NULL, cb, j) < 0)
		cb(-EIO, NULL, NULL, j);
}

/* ---- the spec ---- */

/* What cflux cannot do, named: NULL if the spec is fine, else the reason (msg filled). */
const char *ocirepository_unsupported(const cJSON *spec, char *msg, size_t n)
{
	const char *prov = yj_get_str(spec, "/provider");
	const char *vprov = yj_get_str(spec, "/verify/provider");
	const char *op = yj_get_str(spec, "/layerSelector/operation");

	if (prov && *prov && !streq(prov, "generic") && !yj_get_str(spec, "/secretRef/name")) {
		/* Flux logs in with the cloud's identity only when no Secret gives credentials. */
		snprintf(msg, n, "spec.provider '%s': the login to the %s registry needs the cloud's "
			 "identity service, which cflux does not reach; give the credentials "
			 "in spec.secretRef (a dockerconfigjson) instead", prov, prov);
		return "InvalidProviderConfiguration";
	}
	if (yj_get(spec, "/verify") && vprov && streq(vprov, "notation")) {
		snprintf(msg, n, "spec.verify.provider 'notation' is not supported by cflux; use "
			 "cosign with public keys");
		return "VerificationError";
	}
	if (yj_get(spec, "/verify") && !yj_get_str(spec, "/verify/secretRef/name")) {
		snprintf(msg, n, "failed to verify the signature using provider 'cosign keyless': "
			 "keyless verification needs Fulcio and Rekor, which cflux does not reach; "
			 "give the public keys in spec.verify.secretRef");
		return "VerificationError";
	}
	if (op && *op && !streq(op, "extract") && !streq(op, "copy")) {
		snprintf(msg, n, "unsupported layer operation: %s", op);
		return "OCIArtifactLayerOperationFailed";
	}
	return NULL;
}

static void reconcile(struct rc *rc)
{
	struct ocirepo_ctl *g = ctl_data(rc->ctl);
	struct ocijob *j = rc->job;
	const struct kobj *o = rc->obj;
	const cJSON *spec = yj_get(o->json, "/spec");
	const char *reason;
	unsigned timeout_s;
	struct op_err e = OP_ERR_INIT;
	char msg[1024];

	j->rc = rc;
	j->st = g->storage;
	j->ns = xstrdup(o->ns);
	j->name = xstrdup(o->name);
	j->tmp_root = xstrdup(g->tmp_root);
	j->url = xstrdup(yj_get_str(spec, "/url") ? yj_get_str(spec, "/url") : "");
	/* As Flux: a failed verification is computed again; a good one stays until redone. */
	if (streq_ptr(yj_get_str(cond_get(rc->status, "SourceVerified"), "/status"), "False"))
		cond_delete(rc->status, "SourceVerified");
	if (oci_ref_parse(j->url, true, &j->ref, &e) < 0 || j->ref.digest[0]) {
		snprintf(msg, sizeof(msg), "URL validation failed for '%s': %s", j->url,
			 e.msg[0] ? e.msg : "URL must not contain a digest");
		fail(j, "URLInvalid", msg, true);
		return;
	}
	if (j->ref.tag[0]) {
		snprintf(msg, sizeof(msg), "URL validation failed for '%s': URL must not contain a "
			 "tag; remove ':%s'", j->url, j->ref.tag);
		fail(j, "URLInvalid", msg, true);
		return;
	}
	if (source_durations(o, &j->interval_ns, &timeout_s, &reason, msg, sizeof(msg)) < 0) {
		fail(j, reason, msg, true);
		return;
	}
	j->timeout_ms = (uint64_t)timeout_s * 1000;
	j->secret_name = source_strdup(yj_get_str(spec, "/secretRef/name"));
	j->sa_name = source_strdup(yj_get_str(spec, "/serviceAccountName"));
	reason = ocirepository_unsupported(spec, msg, sizeof(msg));
	if (reason) {
		fail(j, reason, msg, true);
		return;
	}
	j->digest = source_strdup(yj_get_str(spec, "/ref/digest"));
	j->semver = source_strdup(yj_get_str(spec, "/ref/semver"));
	j->semver_filter = source_strdup(yj_get_str(spec, "/ref/semverFilter"));
	j->tag = source_strdup(yj_get_str(spec, "/ref/tag"));
	if (j->digest && !oci_digest_valid(j->digest)) {
		snprintf(msg, sizeof(msg), "URL validation failed for '%s': invalid digest '%s'",
			 j->url, j->digest);
		fail(j, "URLInvalid", msg, true);
		return;
	}
	j->layer_mt = source_strdup(yj_get_str(spec, "/layerSelector/mediaType"));
	j->copy = streq_ptr(yj_get_str(spec, "/layerSelector/operation"), "copy");
	/* An ignore given as "" is still given: it drops the default exclusions. */
	j->ignore = yj_get_str(spec, "/ignore") ? xstrdup(yj_get_str(spec, "/ignore")) : NULL;
	j->insecure = cJSON_IsTrue(yj_get(spec, "/insecure"));
	j->cert_secret = source_strdup(yj_get_str(spec, "/certSecretRef/name"));
	j->proxy_secret = source_strdup(yj_get_str(spec, "/proxySecretRef/name"));
	j->verify = yj_get(spec, "/verify") != NULL;
	j->keys_secret = j->verify ? source_strdup(yj_get_str(spec, "/verify/secretRef/name")) : NULL;
	/* An artifact that left the store is built again (Flux's reconcileStorage). */
	if (yj_get_str(rc->status, "/artifact/path") &&
	    !storage_has(j->st, yj_get_str(rc->status, "/artifact/path"))) {
		cJSON_DeleteItemFromObjectCaseSensitive(rc->status, "artifact");
		cJSON_DeleteItemFromObjectCaseSensitive(rc->status, "url");
		cond_delete(rc->status, "ArtifactInStorage");
	}
	load_secrets(j);
}

/* Deletion: the object's artifacts go with it (as Flux's finalizer does). */
static void finalize(struct rc *rc)
{
	source_finalize(rc, ((struct ocirepo_ctl *)ctl_data(rc->ctl))->storage);
}

const struct ctl_desc ocirepository_desc = {
	.name = "ocirepository",
	.component = "source-controller",
	.kind = KIND,
	.api_version = "source.toolkit.fluxcd.io/v1",
	.ref = { .group = "source.toolkit.fluxcd.io", .version = "v1",
		 .resource = "ocirepositories" },
	.concurrent = 0,
	.retry = BACKOFF_RECONCILE,
	.source = true,
	.job_size = sizeof(struct ocijob),
	.job_release = job_release,
	.reconcile = reconcile,
	.finalize = finalize,
};
