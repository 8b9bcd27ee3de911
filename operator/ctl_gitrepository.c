/*
 * ctl_gitrepository.c: the GitRepository reconciler
 * (source.toolkit.fluxcd.io/v1), source-controller's contract.
 *
 * The manager's skeleton (manager.h) does the lifecycle every kind
 * shares: the finalizer, deletion (finalize() removes the object's
 * artifacts), suspend, the status write.  One reconcile, as a chain of
 * callbacks on the loop thread with the Git work on the thread pool:
 *
 *   pin           GIT_PIN_ANNOTATION (`cflux rollback`): that commit
 *                 instead of the ref's head, and the Pinned condition
 *   secretRef     read the Secret (username/password, bearerToken, ca.crt,
 *                 tls.crt/tls.key, identity, known_hosts, password as the
 *                 SSH passphrase)
 *   include       each spec.include names a GitRepository of the namespace
 *                 whose stored artifact is read (IncludeUnavailable while
 *                 it has none)
 *   verify        spec.verify: read the Secret of public keys (*.asc
 *                 OpenPGP key rings, *.sshpub authorized_keys)
 *   proxy         spec.proxySecretRef: read address, username, password
 *   work          src_git_fetch() into a temporary checkout (sparse
 *                 directories, submodules when asked); when the ref
 *                 still points at the stored artifact's commit (and the
 *                 spec and the included artifacts have not changed)
 *                 nothing is fetched: Flux's no-op.  Otherwise the
 *                 commit's and/or the tag's signature is checked when
 *                 spec.verify asks (source/sigverify.h), then each
 *                 included artifact's fromPath replaces toPath in the
 *                 checkout, and the tree, minus the ignore rules, is archived
 *                 to <storage>/gitrepository/<ns>/<name>/<commit>.tar.gz
 *                 and older artifacts are collected (two kept).
 *   status        conditions, artifact, observedGeneration,
 *                 lastHandledReconcileAt; an Event for a new artifact or a
 *                 failure; requeue after spec.interval (jittered) or,
 *                 after a failure, with exponential backoff.
 *
 * A failure keeps the last artifact in status and storage: consumers go
 * on with the last good revision.  Messages never carry secret values
 * (git.c's errors do not, and we add none).
 */
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "base/log.h"
#include "base/path.h"
#include "base/str.h"
#include "base/time.h"
#include "conditions.h"
#include "controllers.h"
#include "source/artifact.h"
#include "source/git.h"
#include "source/ignore.h"
#include "source/sigverify.h"
#include "secrets.h"
#include "source.h"
#include "storage.h"
#include "yj/yj.h"
#include "base/banned.h"

#define FINALIZER "finalizers.fluxcd.io"
#define KIND "GitRepository"
#define RECORDS 2

/* One spec.include entry, resolved on the loop thread. */
struct include {
	char *name;
	char *from, *to; /* cleaned, relative; "" for the root */
	char *tgz;       /* the included artifact's file in the store */
	cJSON *artifact; /* its status.artifact, for status.includedArtifacts */
};

struct gitjob {
	struct rc *rc;
	struct storage *st;
	char *ns, *name;   /* the object's, for the worker */
	char *secret_name; /* spec.secretRef.name */
	bool secret_read;
	/* inputs, owned copies: the worker never touches the object */
	char *url, *branch, *tag, *semver, *commit, *name_ref;
	char *ignore;      /* spec.ignore or NULL */
	char *last_commit; /* skip the fetch when the ref still points here */
	char *username, *password, *bearer, *ca, *ssh_key, *ssh_pass, *known_hosts;
	char *tls_cert, *tls_key; /* HTTPS client certificate */
	char *cache_dir, *tmp_root;
	char **sparse;
	size_t n_sparse;
	bool submodules;
	const char *verify_mode; /* "HEAD", "Tag", "TagAndHEAD"; NULL: no spec.verify */
	char *keys_secret;       /* spec.verify.secretRef.name */
	char **pgp, **ssh;       /* the trusted keys, from that Secret */
	size_t n_pgp, n_ssh;
	bool keys_read;
	char *proxy_secret;      /* spec.proxySecretRef.name */
	char *proxy_url, *proxy_user, *proxy_pass;
	bool proxy_read;
	struct include *incl;
	size_t n_incl;
	unsigned timeout_s;
	int64_t interval_ns;
	/* outputs */
	int r;
	struct op_err err;
	const char *reason;
	bool stall;
	struct src_git_result res;
	struct artifact_info ai;
	char *rel;      /* artifact path in the store */
	char *verified; /* SourceVerified=True's message */
};

static void job_release(void *job)
{
	struct gitjob *j = job;

	free(j->ns);
	free(j->name);
	free(j->secret_name);
	free(j->url);
	free(j->branch);
	free(j->tag);
	free(j->semver);
	free(j->commit);
	free(j->name_ref);
	free(j->ignore);
	free(j->last_commit);
	free(j->username);
	if (j->password)
		explicit_bzero(j->password, strlen(j->password));
	free(j->password);
	if (j->bearer)
		explicit_bzero(j->bearer, strlen(j->bearer));
	free(j->bearer);
	free(j->ca);
	if (j->ssh_key)
		explicit_bzero(j->ssh_key, strlen(j->ssh_key));
	free(j->ssh_key);
	if (j->ssh_pass)
		explicit_bzero(j->ssh_pass, strlen(j->ssh_pass));
	free(j->ssh_pass);
	free(j->known_hosts);
	free(j->tls_cert);
	if (j->tls_key)
		explicit_bzero(j->tls_key, strlen(j->tls_key));
	free(j->tls_key);
	free(j->cache_dir);
	free(j->tmp_root);
	for (size_t i = 0; i < j->n_sparse; i++)
		free(j->sparse[i]);
	free(j->sparse);
	for (size_t i = 0; i < j->n_incl; i++) {
		free(j->incl[i].name);
		free(j->incl[i].from);
		free(j->incl[i].to);
		free(j->incl[i].tgz);
		cJSON_Delete(j->incl[i].artifact);
	}
	free(j->incl);
	free(j->keys_secret);
	free(j->proxy_secret);
	free(j->proxy_url);
	free(j->proxy_user);
	if (j->proxy_pass)
		explicit_bzero(j->proxy_pass, strlen(j->proxy_pass));
	free(j->proxy_pass);
	for (size_t i = 0; i < j->n_pgp; i++)
		free(j->pgp[i]);
	free(j->pgp);
	for (size_t i = 0; i < j->n_ssh; i++)
		free(j->ssh[i]);
	free(j->ssh);
	free(j->verified);
	src_git_result_release(&j->res);
	free(j->rel);
}

static const char *spec_str(const struct kobj *o, const char *k)
{
	return kobj_str(o, "spec", k, NULL);
}

/* The reasons of a failed spec.verify: SourceVerified=False, not FetchFailed. */
static bool is_verify_reason(const char *reason)
{
	return streq(reason, "VerificationError") || streq(reason, "InvalidCommitSignature") ||
	       streq(reason, "InvalidTagSignature") || streq(reason, "InvalidGitObject") ||
	       streq(reason, "InvalidVerificationMode");
}

static void fail(struct gitjob *j, const char *reason, const char *msg, bool stall)
{
	struct rc *rc = j->rc;
	cJSON *st = rc->status;
	int64_t now = time_now_ns();
	long gen = rc_gen(rc);

	if (streq(reason, "NotFound") || streq(reason, "NoArtifact") ||
	    streq(reason, "InvalidInclude"))
		cond_set(st, "IncludeUnavailable", "True", reason, msg, gen, now);
	else if (is_verify_reason(reason))
		cond_set(st, "SourceVerified", "False", reason, msg, gen, now);
	else if (!streq(reason, "StorageOperationFailed"))
		cond_set(st, "FetchFailed", "True", reason, msg, gen, now);
	else
		cond_set(st, "StorageOperationFailed", "True", reason, msg, gen, now);
	rc_event(rc, "Warning", reason, "%s", msg);
	log_error(NULL, "Reconciler error", "controller", "gitrepository", "object", rc->key,
		  "reason", reason, "error", msg, NULL);
	if (stall) {
		rc_stall(rc, reason, msg);
		return;
	}
	cond_set(st, COND_READY, "False", reason, msg, gen, now);
	rc_retry(rc);
}

/* status.observed* and includedArtifacts: what the artifact was built from. */
static void set_observed(cJSON *st, const struct gitjob *j)
{
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(j->rc->obj->json, "spec");
	static const char *const keys[][2] = {
		{ "recurseSubmodules", "observedRecurseSubmodules" },
		{ "include", "observedInclude" },
		{ "sparseCheckout", "observedSparseCheckout" },
	};
	cJSON *arts;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, keys[i][0]);

		cJSON_DeleteItemFromObjectCaseSensitive(st, keys[i][1]);
		if (v && !cJSON_IsFalse(v) && !(cJSON_IsArray(v) && !cJSON_GetArraySize(v)))
			cJSON_AddItemToObject(st, keys[i][1], cJSON_Duplicate(v, 1));
	}
	cJSON_DeleteItemFromObjectCaseSensitive(st, "includedArtifacts");
	if (!j->n_incl)
		return;
	arts = cJSON_AddArrayToObject(st, "includedArtifacts");
	for (i = 0; i < j->n_incl; i++)
		cJSON_AddItemToArray(arts, cJSON_Duplicate(j->incl[i].artifact, 1));
}

static void succeed(struct gitjob *j)
{
	struct rc *rc = j->rc;
	cJSON *st = rc->status;
	long gen = rc_gen(rc);
	int64_t now = time_now_ns();
	uint64_t interval_ms = (uint64_t)(j->interval_ns / NSEC_PER_MSEC);
	char *msg = xasprintf("stored artifact for revision '%s'", j->res.revision);
	struct source_stored s = {
		.fresh = !j->res.unchanged,
		.rel = j->rel,
		.revision = j->res.revision,
		.ai = &j->ai,
		.ignore = j->ignore,
		.msg = msg,
	};
	bool changed = source_stored(rc, j->st, &s);

	cond_delete(st, "IncludeUnavailable");
	set_observed(st, j);
	if (!j->verify_mode) {
		cond_delete(st, "SourceVerified");
		cJSON_DeleteItemFromObjectCaseSensitive(st, "sourceVerificationMode");
	} else if (j->verified) {
		cond_set(st, "SourceVerified", "True", "Succeeded", j->verified, gen, now);
		cJSON_DeleteItemFromObjectCaseSensitive(st, "sourceVerificationMode");
		cJSON_AddStringToObject(st, "sourceVerificationMode", j->verify_mode);
		log_info(NULL, "Verified the signature", "controller", "gitrepository", "object",
			 rc->key, "message", j->verified, NULL);
	}
	if (j->res.cache_reset)
		log_info(NULL, "Repository cache made again: the fetch into it failed", "controller",
			 "gitrepository", "object", rc->key, NULL);
	if (changed) {
		source_annotate(rc);
		rc_event(rc, "Normal", "NewArtifact", "stored artifact for commit '%s'",
			 j->res.message);
		log_info(NULL, "Stored artifact", "controller", "gitrepository", "object", rc->key,
			 "revision", j->res.revision, NULL);
	}
	free(msg);
	rc_done(rc, interval_ms);
}

/* ---- the thread-pool part ---- */

/*
 * Put `in`'s artifact, from its fromPath, at toPath in the checkout
 * (replacing what the repository has there), as Flux's include does.
 */
static int copy_include(struct gitjob *j, const struct include *in, const char *checkout)
{
	static const struct artifact_limits lim = ARTIFACT_LIMITS_DEFAULT;
	char *tmp = xasprintf("%s/include-XXXXXX", j->tmp_root), *src = NULL, *dst = NULL;
	struct stat sb;
	int r;

	if (!mkdtemp(tmp)) {
		r = op_err_set(&j->err, -errno, "cannot create a temporary directory in '%s': %s",
			       j->tmp_root, op_strerror(errno));
		free(tmp);
		return r;
	}
	r = artifact_extract(in->tgz, tmp, &lim, &j->err);
	if (r == 0)
		r = path_join_safe(tmp, in->from, &src, &j->err);
	if (r == 0)
		r = path_join_safe(checkout, in->to, &dst, &j->err);
	if (r == 0 && lstat(src, &sb) < 0)
		r = op_err_set(&j->err, -ENOENT, "include '%s': fromPath '%s' does not exist in "
			       "its artifact", in->name, in->from);
	if (r == 0) {
		char *slash;

		path_remove_all(dst);
		for (slash = strchr(dst + strlen(checkout) + 1, '/'); slash;
		     slash = strchr(slash + 1, '/')) {
			*slash = '\0';
			if (mkdir(dst, 0755) < 0 && errno != EEXIST)
				r = -errno;
			*slash = '/';
		}
		if (r == 0 && rename(src, dst) < 0)
			r = -errno;
		if (r < 0)
			op_err_set(&j->err, r, "include '%s': cannot copy to '%s': %s", in->name,
				   in->to, op_strerror(r));
	}
	if (r < 0)
		op_err_prefix(&j->err, "failed to include GitRepository '%s'", in->name);
	path_remove_all(tmp);
	free(tmp);
	free(src);
	free(dst);
	return r;
}

/*
 * spec.verify, on the worker: the tag's signature, the commit's, or both,
 * in Flux's order and words.  0, or -1 with j->reason and j->err set.
 */
static int verify(struct gitjob *j)
{
	const struct src_git_result *res = &j->res;
	struct sig_keys k = { .pgp = (const char *const *)j->pgp, .n_pgp = j->n_pgp,
			      .ssh = (const char *const *)j->ssh, .n_ssh = j->n_ssh };
	bool tag = !streq(j->verify_mode, "HEAD"), head = !streq(j->verify_mode, "Tag");
	struct buf msg = BUF_INIT(4096);
	char signer[128], name[320];
	struct op_err e;

	if (tag) {
		if (!res->by_tag) {
			j->reason = "InvalidVerificationMode";
			j->stall = true;
			return op_err_set(&j->err, -EINVAL, "cannot verify tag object's signature "
					  "if a tag reference is not specified");
		}
		if (res->tag_id[0])
			snprintf(name, sizeof(name), "%s@%s", res->tag, res->tag_id);
		else
			snprintf(name, sizeof(name), "%s", res->tag);
		if (!res->tag_sig.sig) {
			j->reason = "InvalidGitObject";
			return op_err_set(&j->err, -EBADMSG, "cannot verify signature of tag '%s' "
					  "since it is not signed", name);
		}
		if (sig_verify(res->tag_sig.sig, res->tag_sig.payload, res->tag_sig.len, &k,
			       "Git tag", j->tmp_root, signer, sizeof(signer), &e) < 0) {
			j->reason = "InvalidTagSignature";
			return op_err_set(&j->err, e.code, "signature verification of tag '%s' "
					  "failed: %s", name, e.msg);
		}
		buf_addf(&msg, "verified signature of\n\t- tag '%s' with key '%s'", name, signer);
	}
	if (head) {
		if (sig_verify(res->commit_sig.sig, res->commit_sig.payload, res->commit_sig.len,
			       &k, "Git commit", j->tmp_root, signer, sizeof(signer), &e) < 0) {
			buf_release(&msg);
			j->reason = "InvalidCommitSignature";
			return op_err_set(&j->err, e.code, "signature verification of commit '%s' "
					  "failed: %s", res->commit, e.msg);
		}
		buf_addf(&msg, "%s- commit '%s' with key '%s'",
			 msg.len ? "\n\t" : "verified signature of\n\t", res->commit, signer);
	}
	j->verified = buf_detach(&msg, NULL);
	return 0;
}

static void work(void *job)
{
	struct gitjob *j = job;
	struct src_git_opts o = {
		.url = j->url,
		.branch = j->branch,
		.tag = j->tag,
		.semver = j->semver,
		.commit = j->commit,
		.name = j->name_ref,
		.bearer_token = j->bearer,
		.username = j->username,
		.password = j->password,
		.ca_pem = j->ca,
		.cert_pem = j->tls_cert,
		.key_pem = j->tls_key,
		.ssh_key = j->ssh_key,
		.ssh_passphrase = j->ssh_pass,
		.known_hosts = j->known_hosts,
		.proxy_url = j->proxy_url,
		.proxy_username = j->proxy_user,
		.proxy_password = j->proxy_pass,
		.cache_dir = j->cache_dir,
		.last_commit = j->last_commit,
		.timeout_s = j->timeout_s,
		.cancel = rc_cancel_flag(j->rc),
		.sparse = (const char *const *)j->sparse,
		.n_sparse = j->n_sparse,
		.submodules = j->submodules,
		.signatures = j->verify_mode != NULL,
	};
	char *checkout = xasprintf("%s/gitrepository-XXXXXX", j->tmp_root), *file;
	const char *ns = j->ns, *name = j->name;
	struct ignore *ig;

	if (!mkdtemp(checkout)) {
		j->r = op_err_set(&j->err, -errno, "cannot create a temporary directory in '%s': %s",
				  j->tmp_root, op_strerror(errno));
		j->reason = "DirectoryCreationFailed";
		free(checkout);
		return;
	}
	o.checkout_dir = checkout;
	j->r = src_git_fetch(&o, &j->res, &j->err);
	if (j->r < 0) {
		j->reason = j->r == -EACCES ? "AuthenticationFailed" : "GitOperationFailed";
		op_err_prefix(&j->err, "failed to checkout and determine revision");
		goto out;
	}
	if (j->res.unchanged)
		goto out;
	if (j->verify_mode) {
		j->r = verify(j);
		if (j->r < 0)
			goto out;
	}
	for (size_t i = 0; i < j->n_incl && j->r == 0; i++)
		j->r = copy_include(j, &j->incl[i], checkout);
	if (j->r < 0) {
		j->reason = "ArchiveOperationFailed";
		goto out;
	}
	file = xasprintf("%s.tar.gz", j->res.commit);
	ig = ignore_new(checkout, j->ignore);
	j->r = storage_archive(j->st, KIND, ns, name, file, checkout, ignore_skip, ig, RECORDS,
			       &j->rel, &j->ai, &j->reason, &j->err);
	ignore_free(ig);
	free(file);
out:
	path_remove_all(checkout);
	free(checkout);
}

static void work_done(struct rc *rc, int status)
{
	struct gitjob *j = rc->job;

	if (status < 0) {
		fail(j, "GitOperationFailed", "the fetch was cancelled", false);
		return;
	}
	if (j->r < 0) {
		fail(j, j->reason, j->err.msg, j->stall);
		return;
	}
	succeed(j);
}

/* ---- the loop part ---- */

static void load_secrets(struct gitjob *j);

static void queue_work(struct gitjob *j)
{
	if (rc_work(j->rc, work, work_done) < 0)
		fail(j, "GitOperationFailed", "cannot queue the fetch", false);
}

/* spec.secretRef: the credentials, under Flux's keys. */
static void got_secret(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct gitjob *j = payload;
	char msg[512];

	if (r < 0) {
		snprintf(msg, sizeof(msg), "failed to get secret '%s/%s': %s", j->ns,
			 j->secret_name, err ? err->msg : op_strerror(r));
		fail(j, "AuthenticationFailed", msg, false);
		return;
	}
	j->secret_read = true;
	j->username = secret_value(obj, "username");
	j->ca = secret_value(obj, "ca.crt");
	if (!j->ca)
		j->ca = secret_value(obj, "caFile");
	j->ssh_key = secret_value(obj, "identity");
	j->known_hosts = secret_value(obj, "known_hosts");
	if (j->ssh_key)
		j->ssh_pass = secret_value(obj, "password");
	else
		j->password = secret_value(obj, "password");
	j->bearer = secret_value(obj, "bearerToken");
	j->tls_cert = secret_value(obj, "tls.crt");
	if (!j->tls_cert)
		j->tls_cert = secret_value(obj, "certFile");
	j->tls_key = secret_value(obj, "tls.key");
	if (!j->tls_key)
		j->tls_key = secret_value(obj, "keyFile");
	load_secrets(j);
}

/*
 * spec.verify.secretRef: values under keys ending ".sshpub" are SSH
 * authorized_keys, every other value an OpenPGP key ring (Flux's rule).
 */
static void got_keys(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct gitjob *j = payload;
	const cJSON *data = yj_get(obj, "/data"), *it;
	size_t n = (size_t)cJSON_GetArraySize(data) + 1;
	char msg[512];

	if (r < 0) {
		snprintf(msg, sizeof(msg), "public keys secret error: %s",
			 err && err->msg[0] ? err->msg : op_strerror(r));
		fail(j, "VerificationError", msg, false);
		return;
	}
	j->keys_read = true;
	j->pgp = xcalloc(n, sizeof(*j->pgp));
	j->ssh = xcalloc(n, sizeof(*j->ssh));
	cJSON_ArrayForEach(it, data) {
		char *v = secret_value(obj, it->string);

		if (!v)
			continue;
		if (str_endswith(it->string, ".sshpub"))
			j->ssh[j->n_ssh++] = v;
		else
			j->pgp[j->n_pgp++] = v;
	}
	load_secrets(j);
}

/*
 * spec.proxySecretRef: `address` (required; http://: CONNECT tunnels),
 * `username` and `password` (optional), as Flux reads them.
 */
static void got_proxy(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct gitjob *j = payload;
	char msg[512];

	j->proxy_read = true;
	if (secret_proxy_read(r, obj, err, j->ns, j->proxy_secret, &j->proxy_url, &j->proxy_user,
			      &j->proxy_pass, msg, sizeof(msg)) < 0) {
		fail(j, "AuthenticationFailed", msg, false);
		return;
	}
	if (str_startswith(j->url, "ssh://") || str_startswith(j->url, "git://")) {
		snprintf(msg, sizeof(msg), "failed to configure proxy options: a proxy is used "
			 "for http:// and https:// repositories only, not '%.*s'",
			 (int)strcspn(j->url, ":"), j->url);
		fail(j, "AuthenticationFailed", msg, false);
		return;
	}
	load_secrets(j);
}

/*
 * The Secrets spec.secretRef, spec.verify and spec.proxySecretRef name,
 * one after the other; then the work.
 */
static void load_secrets(struct gitjob *j)
{
	struct kube_ref ref = { .version = "v1", .resource = "secrets", .ns = j->ns };
	struct kube_client *c = ctl_client(j->rc->ctl);

	if (j->secret_name && !j->secret_read) {
		ref.name = j->secret_name;
		if (kube_get(c, &ref, NULL, got_secret, j) < 0)
			fail(j, "AuthenticationFailed", "cannot read the secret", false);
		return;
	}
	if (j->keys_secret && !j->keys_read) {
		ref.name = j->keys_secret;
		if (kube_get(c, &ref, NULL, got_keys, j) < 0)
			fail(j, "VerificationError", "cannot read the public keys secret", false);
		return;
	}
	if (j->proxy_secret && !j->proxy_read) {
		ref.name = j->proxy_secret;
		if (kube_get(c, &ref, NULL, got_proxy, j) < 0)
			fail(j, "AuthenticationFailed", "cannot read the proxy secret", false);
		return;
	}
	queue_work(j);
}

static bool valid_url(const char *u)
{
	return u && (str_startswith(u, "http://") || str_startswith(u, "https://") ||
		     str_startswith(u, "ssh://") || str_startswith(u, "git://"));
}

/*
 * Read spec.include: each names a GitRepository of this namespace whose
 * stored artifact is copied in.  On failure the reconcile is finished
 * (IncludeUnavailable, retried; a bad path stalls) and -1 returned.
 */
static int resolve_includes(struct gitjob *j)
{
	struct gitrepo_ctl *g = ctl_data(j->rc->ctl);
	const cJSON *list = yj_get(j->rc->obj->json, "/spec/include"), *it;
	char msg[512];

	j->incl = xcalloc((size_t)cJSON_GetArraySize(list) + 1, sizeof(*j->incl));
	cJSON_ArrayForEach(it, list) {
		struct include *in = &j->incl[j->n_incl];
		const char *name = yj_get_str(it, "/repository/name");
		const char *from = yj_get_str(it, "/fromPath"), *to = yj_get_str(it, "/toPath");
		const cJSON *art;
		struct kobj *src;
		char *key, *p;

		if (!name || !*name)
			continue;
		j->n_incl++;
		in->name = xstrdup(name);
		in->from = path_clean(from && *from ? from : ".");
		in->to = path_clean(to && *to ? to : name);
		if (streq(in->from, "."))
			in->from[0] = '\0';
		if (streq(in->to, ".") || in->to[0] == '/' || str_startswith(in->to, "../") ||
		    streq(in->to, "..") || in->from[0] == '/' || str_startswith(in->from, "..")) {
			snprintf(msg, sizeof(msg), "include '%s': fromPath and toPath must be "
				 "relative paths inside the artifact (toPath not its root)", name);
			fail(j, "InvalidInclude", msg, true);
			return -1;
		}
		if (streq(name, j->name)) {
			snprintf(msg, sizeof(msg), "include '%s': a GitRepository cannot include "
				 "itself", name);
			fail(j, "InvalidInclude", msg, true);
			return -1;
		}
		key = xasprintf("%s/%s", j->ns, name);
		src = informer_get(ctl_informer(j->rc->ctl), key);
		free(key);
		if (!src) {
			snprintf(msg, sizeof(msg), "could not get resource for include '%s': "
				 "GitRepository '%s/%s' not found", name, j->ns, name);
			fail(j, "NotFound", msg, false);
			return -1;
		}
		art = yj_get(src->json, "/status/artifact");
		p = (char *)yj_get_str(art, "/path");
		if (!p || !storage_has(g->storage, p)) {
			snprintf(msg, sizeof(msg), "no artifact available for include '%s'", name);
			fail(j, "NoArtifact", msg, false);
			return -1;
		}
		in->tgz = storage_abs(g->storage, p);
		in->artifact = cJSON_Duplicate(art, 1);
	}
	return 0;
}

/* Were the stored artifact's includes these same artifacts? */
static bool includes_unchanged(const struct gitjob *j)
{
	const cJSON *was = yj_get(j->rc->obj->json, "/status/includedArtifacts");
	size_t i;

	if ((size_t)cJSON_GetArraySize(was) != j->n_incl)
		return false;
	for (i = 0; i < j->n_incl; i++) {
		const cJSON *a = cJSON_GetArrayItem(was, (int)i);

		if (!streq_ptr(yj_get_str(a, "/digest"), yj_get_str(j->incl[i].artifact, "/digest")) ||
		    !streq_ptr(yj_get_str(a, "/revision"),
			       yj_get_str(j->incl[i].artifact, "/revision")))
			return false;
	}
	return true;
}

/* An included GitRepository has a new artifact: rebuild who includes it. */
static void on_included(struct ctl *ctl, struct ctl *from, enum informer_event ev, struct kobj *obj,
			struct kobj *old)
{
	const char *dig = yj_get_str(obj->json, "/status/artifact/digest");
	const char *odig = old ? yj_get_str(old->json, "/status/artifact/digest") : NULL;
	struct informer *inf = ctl_informer(ctl);
	struct kobj *o;
	size_t it = 0;

	if (ev == INFORMER_DELETE || !dig || streq_ptr(dig, odig))
		return;
	while ((o = informer_next(inf, &it))) {
		const cJSON *inc;

		if (!streq(o->ns, obj->ns))
			continue;
		cJSON_ArrayForEach(inc, yj_get(o->json, "/spec/include"))
			if (streq_ptr(yj_get_str(inc, "/repository/name"), obj->name)) {
				ctl_enqueue(ctl, o->key);
				break;
			}
	}
}

void gitrepository_watch_includes(struct ctl *git)
{
	ctl_watch(git, git, on_included);
}

/*
 * Must the revision be verified again even if unchanged?  Flux's rule:
 * spec.verify with nothing verified yet, or with a mode that covers what
 * the last verification did not.
 */
static bool requires_verification(const struct gitjob *j)
{
	const char *seen = yj_get_str(j->rc->obj->json, "/status/sourceVerificationMode");

	if (!j->verify_mode)
		return false;
	if (!seen)
		return true;
	return (streq(seen, "Tag") && !streq(j->verify_mode, "Tag")) ||
	       (streq(seen, "HEAD") && !streq(j->verify_mode, "HEAD"));
}

/*
 * What cflux cannot do, named: NULL, or the reason with `msg`.  Both
 * providers beyond generic log in through a service cflux does not reach
 * (Azure DevOps with workload identity; GitHub's App installation tokens).
 */
const char *gitrepository_unsupported(const cJSON *spec, char *msg, size_t n)
{
	const char *prov = yj_get_str(spec, "/provider");

	if (prov && streq(prov, "azure")) {
		snprintf(msg, n, "spec.provider 'azure' is not supported by cflux: it logs in to "
			 "Azure DevOps with the cloud's workload identity, which cflux does not "
			 "reach; give a personal access token in spec.secretRef (username and "
			 "password) instead");
		return "InvalidProviderConfiguration";
	}
	if (prov && streq(prov, "github")) {
		snprintf(msg, n, "spec.provider 'github' (GitHub App authentication) is not "
			 "supported by cflux yet; give a token in spec.secretRef (username and "
			 "password) instead");
		return "InvalidProviderConfiguration";
	}
	if (prov && *prov && !streq(prov, "generic")) {
		snprintf(msg, n, "spec.provider '%s' is not supported", prov);
		return "InvalidProviderConfiguration";
	}
	if (yj_get_str(spec, "/serviceAccountName")) {
		snprintf(msg, n, "spec.serviceAccountName (object-level workload identity) is not "
			 "supported by cflux");
		return "InvalidProviderConfiguration";
	}
	return NULL;
}

/*
 * GIT_PIN_ANNOTATION (`cflux rollback`): the commit to fetch instead of
 * the ref's head, said in the Pinned condition while it holds (the
 * FluxConfiguration's statuses[] copy it).  A malformed value stalls,
 * naming the annotation.  -1 when the reconcile has ended.
 */
static int pin(struct gitjob *j)
{
	struct rc *rc = j->rc;
	const char *c = kobj_str(rc->obj, "metadata", "annotations", GIT_PIN_ANNOTATION, NULL);
	char msg[512];
	size_t n = c ? strspn(c, "0123456789abcdef") : 0;

	if (!c) {
		cond_delete(rc->status, GIT_PIN_CONDITION);
		return 0;
	}
	if (n != 40 || c[n]) {
		snprintf(msg, sizeof(msg), "invalid annotation %s '%.64s': want a commit's 40 "
			 "lower-case hex digits", GIT_PIN_ANNOTATION, c);
		fail(j, "InvalidPin", msg, true);
		return -1;
	}
	free(j->commit);
	j->commit = xstrdup(c);
	snprintf(msg, sizeof(msg), "pinned to commit %s by %s (cflux rollback); the ref is not "
		 "followed until the pin is released (cflux rollback --undo)", c,
		 GIT_PIN_ANNOTATION);
	cond_set(rc->status, GIT_PIN_CONDITION, "True", "RolledBack", msg, rc_gen(rc),
		 time_now_ns());
	return 0;
}

static void reconcile(struct rc *rc)
{
	struct gitrepo_ctl *g = ctl_data(rc->ctl);
	struct gitjob *j = rc->job;
	const struct kobj *o = rc->obj;
	const char *secret = yj_get_str(o->json, "/spec/secretRef/name");
	const char *why;
	const char *rev = yj_get_str(o->json, "/status/artifact/revision");
	const char *path = yj_get_str(o->json, "/status/artifact/path");
	const cJSON *og = yj_get(o->json, "/status/observedGeneration");
	char msg[512];

	j->rc = rc;
	j->st = g->storage;
	j->ns = xstrdup(o->ns);
	j->name = xstrdup(o->name);
	j->url = source_strdup(spec_str(o, "url"));
	if (!valid_url(j->url)) {
		snprintf(msg, sizeof(msg), "invalid URL '%s': the scheme must be http, https, ssh "
			 "or git", j->url ? j->url : "");
		fail(j, "URLInvalid", msg, true);
		return;
	}
	if (source_durations(o, &j->interval_ns, &j->timeout_s, &why, msg, sizeof(msg)) < 0) {
		fail(j, why, msg, true);
		return;
	}
	why = gitrepository_unsupported(yj_get(o->json, "/spec"), msg, sizeof(msg));
	if (why) {
		fail(j, why, msg, true);
		return;
	}
	j->branch = source_strdup(yj_get_str(o->json, "/spec/ref/branch"));
	j->tag = source_strdup(yj_get_str(o->json, "/spec/ref/tag"));
	j->semver = source_strdup(yj_get_str(o->json, "/spec/ref/semver"));
	j->commit = source_strdup(yj_get_str(o->json, "/spec/ref/commit"));
	if (pin(j) < 0)
		return;
	j->name_ref = source_strdup(yj_get_str(o->json, "/spec/ref/name"));
	j->ignore = source_strdup(spec_str(o, "ignore"));
	j->submodules = cJSON_IsTrue(yj_get(o->json, "/spec/recurseSubmodules"));
	{
		const cJSON *sp = yj_get(o->json, "/spec/sparseCheckout"), *it;

		j->sparse = xcalloc((size_t)cJSON_GetArraySize(sp) + 1, sizeof(*j->sparse));
		cJSON_ArrayForEach(it, sp)
			if (cJSON_IsString(it) && *it->valuestring)
				j->sparse[j->n_sparse++] = path_clean(it->valuestring);
	}
	if (yj_get(o->json, "/spec/verify")) {
		const char *m = yj_get_str(o->json, "/spec/verify/mode");

		/* As Flux: an empty mode verifies nothing; "head" is HEAD. */
		if (m && *m)
			j->verify_mode = streq(m, "Tag") ? "Tag" :
					 streq(m, "TagAndHEAD") ? "TagAndHEAD" : "HEAD";
		j->keys_secret = source_strdup(yj_get_str(o->json, "/spec/verify/secretRef/name"));
		if (j->verify_mode && !j->keys_secret) {
			fail(j, "VerificationError", "spec.verify.secretRef.name is required", true);
			return;
		}
		if (!j->verify_mode) {
			free(j->keys_secret);
			j->keys_secret = NULL;
		}
	}
	j->proxy_secret = source_strdup(yj_get_str(o->json, "/spec/proxySecretRef/name"));
	if (resolve_includes(j) < 0)
		return;
	/*
	 * Flux's no-op: same generation, artifact present, ref unmoved, and
	 * the included artifacts are those the stored one was built with.
	 */
	if (rev && path && og && (long)cJSON_GetNumberValue(og) == o->generation &&
	    storage_has(g->storage, path) && includes_unchanged(j) && !requires_verification(j)) {
		const char *sha = strstr(rev, "sha1:");

		if (sha && strlen(sha + 5) == 40)
			j->last_commit = xstrdup(sha + 5);
	}
	j->cache_dir = storage_cache_dir(g->storage, KIND, o->ns, o->name);
	j->tmp_root = xstrdup(g->tmp_root);
	j->secret_name = source_strdup(secret);
	load_secrets(j);
}

/* The bare repository cache, recursively: on the thread pool. */
static void remove_cache(void *job)
{
	struct gitjob *j = job;
	char *slash;

	path_remove_all(j->cache_dir);
	/* The namespace's directory too, once it is empty (rmdir() refuses otherwise). */
	slash = strrchr(j->cache_dir, '/');
	if (slash) {
		*slash = '\0';
		rmdir(j->cache_dir);
	}
}

static void cache_removed(struct rc *rc, int status)
{
	struct gitrepo_ctl *g = ctl_data(rc->ctl);

	if (status < 0) {
		rc_retry(rc);
		return;
	}
	source_finalize(rc, g->storage);
}

/* Deletion: the object's artifacts and its cache go with it (Flux's finalizer). */
static void finalize(struct rc *rc)
{
	struct gitrepo_ctl *g = ctl_data(rc->ctl);
	struct gitjob *j = rc->job;

	j->cache_dir = storage_cache_dir(g->storage, KIND, rc->obj->ns, rc->obj->name);
	if (rc_work(rc, remove_cache, cache_removed) < 0)
		rc_retry(rc);
}

const struct ctl_desc gitrepository_desc = {
	.name = "gitrepository",
	.component = "source-controller",
	.kind = KIND,
	.api_version = "source.toolkit.fluxcd.io/v1",
	.ref = { .group = "source.toolkit.fluxcd.io", .version = "v1",
		 .resource = "gitrepositories" },
	.concurrent = 0,
	.retry = BACKOFF_RECONCILE,
	.source = true,
	.job_size = sizeof(struct gitjob),
	.job_release = job_release,
	.reconcile = reconcile,
	.finalize = finalize,
};
