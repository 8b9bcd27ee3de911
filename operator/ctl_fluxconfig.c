/*
 * ctl_fluxconfig.c: the FluxConfiguration reconciler
 * (clusterconfig.cflux.io/v1) — Azure's fluxconfig-controller.
 *
 * A FluxConfiguration becomes Flux objects in its own namespace, as the
 * microsoft.flux extension translates them (reference/azure-fluxconfig.md
 * §3.4): the source named <config>, one Kustomization <config>-<name> per
 * entry of spec.kustomizations, each labelled clusterconfig.cflux.io/name
 * and /namespace and owned by the configuration.  Its finalizer deletes
 * them in order when it is deleted: each Kustomization once no sibling
 * depends on it any more (its objects are pruned while what they need
 * still exists), then the source; the owner references are the garbage
 * collector's fallback.  Durations in seconds become Go durations;
 * dependsOn names become <config>-<name>; suspend goes to every child.
 *
 * Then it rolls the children's status up into Azure's fields (§3.7):
 * per object Ready True/Unknown/False (or Reconciling, Stalled) →
 * Compliant/Pending/Non-Compliant; the configuration is Suspended >
 * Non-Compliant > Pending > Compliant, Unknown before any child reports;
 * statuses[] in Azure's ObjectStatusDefinition shape; sourceSyncedCommitId
 * and sourceUpdatedAt from the source's artifact.  Ready mirrors the
 * compliance.  Children's status changes requeue the configuration, and
 * status is written only when it changed, so a quiet cluster costs no
 * writes.
 *
 * Multi-tenancy (fc_ctl.applier set): before anything else, the applier
 * account is set up in the configuration's namespace as Azure's agent
 * does: the ServiceAccount, bound to cluster-admin by a ClusterRoleBinding
 * <applier>-<namespace> (scope cluster) or a RoleBinding in the
 * namespace (scope namespace).  They are shared by the namespace's
 * configurations and stay when one is deleted.
 *
 * Credentials: localAuthRef names a Secret with Flux's keys; otherwise
 * Azure's credential fields and the Secret named by
 * protectedSettingsSecretRef become the Secret <config>-auth with Flux's
 * keys, applied before the source that uses it — per source kind (the
 * fc_sources table): Git's httpsUser, sshKnownHosts, httpsCACert,
 * sshPrivateKey, httpsKey; Bucket's accessKey and bucketSecretKey
 * (accesskey/secretkey); AzureBlob's accountKey, sasToken (sasKey) and
 * service principal or managed identity; OCIRepository's tlsConfig
 * (ca.crt, tls.crt, and tls.key from the protected setting privateKey)
 * and verify.verificationConfig (cosign keys, "<name>.pub"), the
 * OCIRepository's certSecretRef and verify.secretRef, while its
 * localAuthRef (a dockerconfigjson) is its secretRef.  Bucket and
 * AzureBlob both become a Flux Bucket (provider generic and azure).
 * ociRepository.useWorkloadIdentity is refused (Entra ID is not reached).
 *
 * Checked here beyond the CRD's schema and CEL rules: spec.namespace is
 * this namespace, no dependsOn cycle, one way to authenticate, valid
 * base64 where Azure has it, and the source kinds not implemented yet
 * are refused with Stalled and a message that says so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply/apply.h"
#include "base/alloc.h"
#include "base/b64.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "conditions.h"
#include "controllers.h"
#include "yj/yj.h"
#include "base/banned.h"

#define LABEL_NAME "clusterconfig.cflux.io/name"
#define LABEL_NAMESPACE "clusterconfig.cflux.io/namespace"
#define FIELD_MANAGER "cflux-fluxconfig"
#define FINALIZER "clusterconfig.cflux.io/finalizer"

struct fcjob {
	struct rc *rc;
	struct fc_ctl *f;
	const struct kobj *obj; /* rc->obj */
	cJSON *auth;     /* the <config>-auth Secret to apply first, or NULL */
	unsigned pending;
	int r;
	uint64_t wait_left_ms; /* waitForReconciliation: until its deadline; 0: none */
	char msg[512];
};

static void job_release(void *job)
{
	struct fcjob *j = job;

	cJSON_Delete(j->auth);
}

static struct kube_client *client_of(const struct fcjob *j)
{
	return ctl_client(j->rc->ctl);
}

/* ---- validation ---- */

static const char *s_or_empty(const char *s)
{
	return s ? s : "";
}

static bool dep_cycle(const cJSON *ks, const char *from, const char *target, struct buf *path,
		      unsigned depth)
{
	const cJSON *d;

	if (depth > 64)
		return false;
	cJSON_ArrayForEach(d, yj_get(cJSON_GetObjectItemCaseSensitive(ks, from), "/dependsOn"))
	{
		size_t mark = path->len;

		if (!cJSON_IsString(d))
			continue;
		buf_addf(path, " -> %s", d->valuestring);
		if (streq(d->valuestring, target) ||
		    dep_cycle(ks, d->valuestring, target, path, depth + 1))
			return true;
		path->len = mark;
		path->buf[mark] = '\0';
	}
	return false;
}

/* Azure's Git credentials other than localAuthRef: the agent turns them into a Secret. */
static bool git_wants_auth(const cJSON *spec)
{
	return yj_get(spec, "/protectedSettingsSecretRef") ||
	       yj_get_str(spec, "/gitRepository/httpsUser") ||
	       yj_get_str(spec, "/gitRepository/sshKnownHosts") ||
	       yj_get_str(spec, "/gitRepository/httpsCACert");
}

static bool valid_b64(const char *s)
{
	char *out = NULL;
	size_t n;
	bool ok;

	if (!s)
		return true;
	ok = b64_decode(s, &out, &n) == 0;
	free(out);
	return ok;
}

/* ---- the source, per Azure sourceKind ---- */

/* spec.gitRepository, beyond the CRD's rules: NULL if valid, else why (in `msg`). */
static const char *git_validate(const struct kobj *o, const cJSON *spec, char *msg, size_t n)
{
	if (str_startswith(s_or_empty(yj_get_str(spec, "/gitRepository/url")), "git@")) {
		snprintf(msg, n, "spec.gitRepository.url: scp-like URLs (git@host:path) are not "
				 "supported by Flux; use ssh://git@host/path");
		return msg;
	}
	if (yj_get_str(spec, "/gitRepository/localAuthRef") && git_wants_auth(spec)) {
		snprintf(msg, n, "spec.gitRepository.localAuthRef cannot be combined with "
				 "protectedSettingsSecretRef, httpsUser, sshKnownHosts or httpsCACert: "
				 "choose one way to authenticate");
		return msg;
	}
	if (!valid_b64(yj_get_str(spec, "/gitRepository/sshKnownHosts"))) {
		snprintf(msg, n, "spec.gitRepository.sshKnownHosts is not valid base64");
		return msg;
	}
	if (!valid_b64(yj_get_str(spec, "/gitRepository/httpsCACert"))) {
		snprintf(msg, n, "spec.gitRepository.httpsCACert is not valid base64");
		return msg;
	}
	return NULL;
}

static void add_duration(cJSON *o, const char *k, const cJSON *seconds, int64_t dflt_s)
{
	char d[DURATION_MAX];
	int64_t s = cJSON_IsNumber(seconds) ? (int64_t)cJSON_GetNumberValue(seconds) : dflt_s;

	duration_format(s * NSEC_PER_SEC, d);
	cJSON_AddStringToObject(o, k, d);
}

/*
 * spec.secretRef of the source: the body's localAuthRef, else the Secret
 * <config>-auth when Azure's credentials are given (`wants`).
 */
static void set_secret_ref(const struct kobj *fc, const cJSON *body, bool wants, cJSON *s)
{
	const char *local = yj_get_str(body, "/localAuthRef");
	cJSON *sr;
	char *an;

	if (!local && !wants)
		return;
	sr = cJSON_AddObjectToObject(s, "secretRef");
	an = local ? xstrdup(local) : xasprintf("%s-auth", fc->name);
	cJSON_AddStringToObject(sr, "name", an);
	free(an);
}

/*
 * What a Git and an OCI body share: url, the intervals as Go durations,
 * and spec.ref from repositoryRef's non-empty `refs` (n of them), else
 * {`dflt_key`: `dflt`} (Azure's default ref).
 */
static void fill_url_ref(const cJSON *body, const char *const *refs, size_t n,
			 const char *dflt_key, const char *dflt, cJSON *s)
{
	const cJSON *ref = yj_get(body, "/repositoryRef");
	cJSON *r;
	size_t i;

	cJSON_AddStringToObject(s, "url", yj_get_str(body, "/url"));
	add_duration(s, "interval", yj_get(body, "/syncIntervalInSeconds"), 600);
	add_duration(s, "timeout", yj_get(body, "/timeoutInSeconds"), 600);
	r = cJSON_AddObjectToObject(s, "ref");
	for (i = 0; i < n; i++) {
		const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ref, refs[i]));

		if (v && *v)
			cJSON_AddStringToObject(r, refs[i], v);
	}
	if (!cJSON_GetArraySize(r))
		cJSON_AddStringToObject(r, dflt_key, dflt);
}

/* The GitRepository's spec from spec.gitRepository, as Azure's agent writes it. */
static void git_fill(const struct kobj *fc, const cJSON *spec, cJSON *s)
{
	const cJSON *git = yj_get(spec, "/gitRepository");
	static const char *const refs[] = { "branch", "tag", "semver", "commit" };

	fill_url_ref(git, refs, ARRAY_SIZE(refs), "branch", "master", s);
	set_secret_ref(fc, git, git_wants_auth(spec), s);
	if (yj_get_str(git, "/provider"))
		cJSON_AddStringToObject(s, "provider", streq(yj_get_str(git, "/provider"), "Azure") ?
			"azure" : streq(yj_get_str(git, "/provider"), "GitHub") ? "github" : "generic");
}

/* Put a Flux key into the auth Secret's stringData; `b64`: the value is base64 (Azure's spec fields). */
static bool auth_put(cJSON *data, const char *key, const char *val, bool b64)
{
	char *dec = NULL;
	size_t n;

	if (!val)
		return true;
	if (b64) {
		if (b64_decode(val, &dec, &n) < 0)
			return false;
		cJSON_AddStringToObject(data, key, dec);
		free(dec);
		return true;
	}
	cJSON_AddStringToObject(data, key, val);
	return true;
}

/*
 * Copy protected settings into the auth Secret: each `from[i][0]` of the
 * protected-settings Secret (NULL: none) becomes Flux's `from[i][1]`.
 */
static void auth_protected(const cJSON *protected, const char *const (*from)[2], size_t n,
			   cJSON *data)
{
	size_t i;

	for (i = 0; protected && i < n; i++) {
		const cJSON *pd = yj_get(protected, "/data");
		const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(pd, from[i][0]));
		char *dec = NULL;
		size_t len;

		if (!v || b64_decode(v, &dec, &len) < 0) {
			free(dec);
			continue;
		}
		cJSON_AddStringToObject(data, from[i][1], dec);
		free(dec);
	}
}

/*
 * Git: protected settings sshPrivateKey -> identity, httpsKey -> password;
 * httpsUser -> username, sshKnownHosts -> known_hosts, httpsCACert ->
 * ca.crt (the last two base64 in the spec, as Azure has them).
 */
static void git_auth(const cJSON *spec, const cJSON *protected, cJSON *data)
{
	const cJSON *git = yj_get(spec, "/gitRepository");
	static const char *const from[][2] = { { "sshPrivateKey", "identity" },
					       { "httpsKey", "password" } };

	auth_put(data, "username", yj_get_str(git, "/httpsUser"), false);
	auth_put(data, "known_hosts", yj_get_str(git, "/sshKnownHosts"), true);
	auth_put(data, "ca.crt", yj_get_str(git, "/httpsCACert"), true);
	auth_protected(protected, from, ARRAY_SIZE(from), data);
}

/* ---- Bucket (S3) and AzureBlob: both become a Flux Bucket ---- */

/* The scheme, host[:port] and path of spec.<body>.url. */
static void split_url(const char *url, bool *ret_http, const char **ret_host, size_t *ret_len,
		      const char **ret_path)
{
	const char *h = strstr(url, "://");

	*ret_http = str_startswith(url, "http://");
	h = h ? h + 3 : url;
	*ret_host = h;
	*ret_len = strcspn(h, "/?#");
	*ret_path = h + *ret_len;
}

static bool bucket_wants_auth(const cJSON *spec)
{
	return yj_get(spec, "/protectedSettingsSecretRef") ||
	       yj_get_str(spec, "/bucket/accessKey");
}

/*
 * spec.bucket: its url is the S3 endpoint with a scheme (Flux's Bucket
 * wants host[:port] and says http with spec.insecure), so a path is
 * refused, and so is an http:// URL with insecure: false.  Azure's
 * insecure defaults to true; with an https:// URL TLS is used (and
 * verified) whatever it says: Flux's insecure only means plain http.
 */
static const char *bucket_validate(const struct kobj *o, const cJSON *spec, char *msg, size_t n)
{
	const cJSON *b = yj_get(spec, "/bucket");
	const char *host, *path;
	size_t hlen;
	bool http;

	split_url(s_or_empty(yj_get_str(b, "/url")), &http, &host, &hlen, &path);
	if (!hlen || (*path && !streq(path, "/"))) {
		snprintf(msg, n, "spec.bucket.url must be http(s)://host[:port] (the S3 endpoint), "
				 "without a path");
		return msg;
	}
	if (http && cJSON_IsFalse(yj_get(b, "/insecure"))) {
		snprintf(msg, n, "spec.bucket.url is http:// but spec.bucket.insecure is false");
		return msg;
	}
	if (yj_get_str(b, "/localAuthRef") && bucket_wants_auth(spec)) {
		snprintf(msg, n, "spec.bucket.localAuthRef cannot be combined with accessKey or "
				 "protectedSettingsSecretRef: choose one way to authenticate");
		return msg;
	}
	if (yj_get_str(b, "/accessKey") && !yj_get(spec, "/protectedSettingsSecretRef")) {
		snprintf(msg, n, "spec.bucket.accessKey needs its secret key: the Secret named by "
				 "protectedSettingsSecretRef, key bucketSecretKey");
		return msg;
	}
	return NULL;
}

static void bucket_fill(const struct kobj *fc, const cJSON *spec, cJSON *s)
{
	const cJSON *b = yj_get(spec, "/bucket");
	const char *host, *path;
	size_t hlen;
	bool http;
	char *ep;

	split_url(yj_get_str(b, "/url"), &http, &host, &hlen, &path);
	ep = xstrndup(host, hlen);
	cJSON_AddStringToObject(s, "provider", "generic");
	cJSON_AddStringToObject(s, "endpoint", ep);
	cJSON_AddStringToObject(s, "bucketName", yj_get_str(b, "/bucketName"));
	cJSON_AddBoolToObject(s, "insecure", http);
	add_duration(s, "interval", yj_get(b, "/syncIntervalInSeconds"), 600);
	add_duration(s, "timeout", yj_get(b, "/timeoutInSeconds"), 600);
	set_secret_ref(fc, b, bucket_wants_auth(spec), s);
	free(ep);
}

/* accessKey -> accesskey, protected bucketSecretKey -> secretkey. */
static void bucket_auth(const cJSON *spec, const cJSON *protected, cJSON *data)
{
	static const char *const from[][2] = { { "bucketSecretKey", "secretkey" } };

	auth_put(data, "accesskey", yj_get_str(spec, "/bucket/accessKey"), false);
	auth_protected(protected, from, ARRAY_SIZE(from), data);
}

static bool azblob_wants_auth(const cJSON *spec)
{
	return yj_get(spec, "/protectedSettingsSecretRef") ||
	       yj_get(spec, "/azureBlob/servicePrincipal") ||
	       yj_get(spec, "/azureBlob/managedIdentity");
}

static const char *azblob_validate(const struct kobj *o, const cJSON *spec, char *msg, size_t n)
{
	const cJSON *a = yj_get(spec, "/azureBlob");
	unsigned ways = !!yj_get_str(a, "/localAuthRef") + !!yj_get(a, "/servicePrincipal") +
			!!yj_get(a, "/managedIdentity");

	if (ways > 1 || (ways && yj_get_str(a, "/localAuthRef") && azblob_wants_auth(spec))) {
		snprintf(msg, n, "spec.azureBlob: give one way to authenticate (localAuthRef, "
				 "servicePrincipal, managedIdentity, or accountKey/sasToken in the "
				 "protected settings)");
		return msg;
	}
	return NULL;
}

static void azblob_fill(const struct kobj *fc, const cJSON *spec, cJSON *s)
{
	const cJSON *a = yj_get(spec, "/azureBlob");

	cJSON_AddStringToObject(s, "provider", "azure");
	cJSON_AddStringToObject(s, "endpoint", yj_get_str(a, "/url"));
	cJSON_AddStringToObject(s, "bucketName", yj_get_str(a, "/containerName"));
	add_duration(s, "interval", yj_get(a, "/syncIntervalInSeconds"), 600);
	add_duration(s, "timeout", yj_get(a, "/timeoutInSeconds"), 600);
	set_secret_ref(fc, a, azblob_wants_auth(spec), s);
}

/*
 * Flux's azure keys: protected accountKey -> accountKey, sasToken ->
 * sasKey; a service principal or managed identity -> tenantId, clientId,
 * clientSecret, clientCertificate(+Password, SendChain) — which the Bucket
 * then refuses with a message (Entra ID is not reachable from cflux).
 */
static void azblob_auth(const cJSON *spec, const cJSON *protected, cJSON *data)
{
	const cJSON *a = yj_get(spec, "/azureBlob");
	static const char *const from[][2] = {
		{ "accountKey", "accountKey" },
		{ "sasToken", "sasKey" },
		{ "clientSecret", "clientSecret" },
		{ "clientCertificate", "clientCertificate" },
		{ "clientCertificatePassword", "clientCertificatePassword" },
	};

	auth_put(data, "clientId", yj_get_str(a, "/servicePrincipal/clientId"), false);
	auth_put(data, "tenantId", yj_get_str(a, "/servicePrincipal/tenantId"), false);
	if (cJSON_IsTrue(yj_get(a, "/servicePrincipal/clientCertificateSendChain")))
		auth_put(data, "clientCertificateSendChain", "true", false);
	if (!yj_get(a, "/servicePrincipal"))
		auth_put(data, "clientId", yj_get_str(a, "/managedIdentity/clientId"), false);
	auth_protected(protected, from, ARRAY_SIZE(from), data);
}

/* ---- OCIRepository ---- */

/*
 * Azure's OCI material other than localAuthRef (which is the registry's
 * dockerconfigjson, spec.secretRef): tlsConfig and verify's public keys
 * go to <config>-auth, the OCIRepository's certSecretRef and
 * verify.secretRef (Flux reads ca.crt, tls.crt, tls.key from the one and
 * only the keys ending .pub from the other, so one Secret serves both).
 */
static bool oci_wants_auth(const cJSON *spec)
{
	return yj_get(spec, "/ociRepository/tlsConfig") ||
	       cJSON_GetArraySize(yj_get(spec, "/ociRepository/verify/verificationConfig")) > 0;
}

/* spec.ociRepository, beyond the CRD's rules: NULL if valid, else why (in `msg`). */
static const char *oci_validate(const struct kobj *o, const cJSON *spec, char *msg, size_t n)
{
	const cJSON *oci = yj_get(spec, "/ociRepository"), *kv;

	if (cJSON_IsTrue(yj_get(oci, "/useWorkloadIdentity"))) {
		snprintf(msg, n, "spec.ociRepository.useWorkloadIdentity needs Microsoft Entra ID, "
				 "which cflux does not reach; give the registry credentials in "
				 "localAuthRef (a dockerconfigjson Secret) instead");
		return msg;
	}
	if (!valid_b64(yj_get_str(oci, "/tlsConfig/caCertificate")) ||
	    !valid_b64(yj_get_str(oci, "/tlsConfig/clientCertificate"))) {
		snprintf(msg, n, "spec.ociRepository.tlsConfig: caCertificate and clientCertificate "
				 "must be base64");
		return msg;
	}
	if (yj_get_str(oci, "/tlsConfig/clientCertificate") &&
	    !yj_get_str(spec, "/protectedSettingsSecretRef/name")) {
		snprintf(msg, n, "spec.ociRepository.tlsConfig.clientCertificate needs its private "
				 "key: the Secret named by protectedSettingsSecretRef, key privateKey");
		return msg;
	}
	if (cJSON_GetArraySize(yj_get(oci, "/verify/verificationConfig")) &&
	    cJSON_GetArraySize(yj_get(oci, "/verify/matchOidcIdentity"))) {
		snprintf(msg, n, "spec.ociRepository.verify: give verificationConfig (public keys) "
				 "or matchOidcIdentity (keyless), not both");
		return msg;
	}
	cJSON_ArrayForEach(kv, yj_get(oci, "/verify/verificationConfig"))
	{
		if (!cJSON_IsString(kv) || !*kv->valuestring) {
			snprintf(msg, n, "spec.ociRepository.verify.verificationConfig.%s: a public "
					 "key (PEM, or base64 of it) is expected", kv->string);
			return msg;
		}
	}
	return NULL;
}

/* verify: Azure writes the provider as its users do ("Cosign"); Flux's enum is lower case. */
static void oci_fill_verify(const struct kobj *fc, const cJSON *v, cJSON *s)
{
	cJSON *vo = cJSON_AddObjectToObject(s, "verify");
	const char *p = yj_get_str(v, "/provider");
	char prov[32];
	const cJSON *m;
	size_t i;

	snprintf(prov, sizeof(prov), "%s", p && *p ? p : "cosign");
	for (i = 0; prov[i]; i++)
		prov[i] = (char)(prov[i] >= 'A' && prov[i] <= 'Z' ? prov[i] + 32 : prov[i]);
	cJSON_AddStringToObject(vo, "provider", prov);
	if (cJSON_GetArraySize(yj_get(v, "/verificationConfig"))) {
		char *name = xasprintf("%s-auth", fc->name);

		cJSON_AddStringToObject(cJSON_AddObjectToObject(vo, "secretRef"), "name", name);
		free(name);
	}
	if (cJSON_GetArraySize(yj_get(v, "/matchOidcIdentity"))) {
		cJSON *ids = cJSON_AddArrayToObject(vo, "matchOIDCIdentity");

		cJSON_ArrayForEach(m, yj_get(v, "/matchOidcIdentity"))
		{
			cJSON *id = cJSON_CreateObject();

			cJSON_AddStringToObject(id, "issuer", s_or_empty(yj_get_str(m, "/issuer")));
			cJSON_AddStringToObject(id, "subject", s_or_empty(yj_get_str(m, "/subject")));
			/* Now owned by the array. */
			cJSON_AddItemToArray(ids, id);
		}
	}
}

/* The OCIRepository's spec from spec.ociRepository, as Azure's agent writes it. */
static void oci_fill(const struct kobj *fc, const cJSON *spec, cJSON *s)
{
	const cJSON *oci = yj_get(spec, "/ociRepository");
	const cJSON *ls = yj_get(oci, "/layerSelector"), *v = yj_get(oci, "/verify");
	static const char *const refs[] = { "tag", "semver", "digest" };

	/* Azure: the tag defaults to latest. */
	fill_url_ref(oci, refs, ARRAY_SIZE(refs), "tag", "latest", s);
	if (cJSON_IsObject(ls))
		cJSON_AddItemToObject(s, "layerSelector", cJSON_Duplicate(ls, 1));
	if (cJSON_IsTrue(yj_get(oci, "/insecure")))
		cJSON_AddBoolToObject(s, "insecure", true);
	if (yj_get_str(oci, "/serviceAccountName"))
		cJSON_AddStringToObject(s, "serviceAccountName", yj_get_str(oci, "/serviceAccountName"));
	/* The Secret <config>-auth is not the registry's credentials: only localAuthRef is. */
	set_secret_ref(fc, oci, false, s);
	if (yj_get(oci, "/tlsConfig")) {
		char *name = xasprintf("%s-auth", fc->name);

		cJSON_AddStringToObject(cJSON_AddObjectToObject(s, "certSecretRef"), "name", name);
		free(name);
	}
	if (cJSON_IsObject(v))
		oci_fill_verify(fc, v, s);
}

/* A public key from verificationConfig: PEM as is, or base64 of a PEM. */
static char *oci_key_text(const char *v)
{
	char *dec = NULL;
	size_t n;

	if (str_startswith(v, "-----BEGIN"))
		return xstrdup(v);
	if (b64_decode(v, &dec, &n) == 0 && str_startswith(dec, "-----BEGIN"))
		return dec;
	free(dec);
	return xstrdup(v);
}

/*
 * tlsConfig caCertificate -> ca.crt, clientCertificate -> tls.crt (base64
 * in the spec), protected privateKey -> tls.key (with the certificate
 * only: alone it would be refused); each verificationConfig key ->
 * "<key>.pub" (Flux reads keys ending .pub).
 */
static void oci_auth(const cJSON *spec, const cJSON *protected, cJSON *data)
{
	const cJSON *oci = yj_get(spec, "/ociRepository"), *kv;
	static const char *const from[][2] = { { "privateKey", "tls.key" } };

	auth_put(data, "ca.crt", yj_get_str(oci, "/tlsConfig/caCertificate"), true);
	auth_put(data, "tls.crt", yj_get_str(oci, "/tlsConfig/clientCertificate"), true);
	if (yj_get_str(oci, "/tlsConfig/clientCertificate"))
		auth_protected(protected, from, ARRAY_SIZE(from), data);
	cJSON_ArrayForEach(kv, yj_get(oci, "/verify/verificationConfig"))
	{
		char *k = str_endswith(kv->string, ".pub") ? xstrdup(kv->string) :
							     xasprintf("%s.pub", kv->string);
		char *v = oci_key_text(cJSON_GetStringValue(kv));

		cJSON_AddStringToObject(data, k, v);
		free(k);
		free(v);
	}
}

/*
 * One row per Azure sourceKind: the Flux kind it becomes, the spec
 * property that describes it, its checks and its mapping.  A source kind
 * is added here and nowhere else in this file.
 */
struct fc_source {
	const char *source_kind; /* spec.sourceKind */
	const char *flux_kind;   /* the child's kind */
	const char *prop;        /* "gitRepository": the spec property */
	const char *(*validate)(const struct kobj *fc, const cJSON *spec, char *msg, size_t n);
	void (*fill)(const struct kobj *fc, const cJSON *spec, cJSON *child_spec);
	/* Azure's credentials other than localAuthRef given? Then the <config>-auth Secret. */
	bool (*wants_auth)(const cJSON *spec);
	/* Its stringData, Flux's keys, from the spec and the protected settings (or NULL). */
	void (*auth)(const cJSON *spec, const cJSON *protected, cJSON *data);
};

static const struct fc_source fc_sources[] = {
	{ "GitRepository", "GitRepository", "gitRepository", git_validate, git_fill,
	  git_wants_auth, git_auth },
	{ "Bucket", "Bucket", "bucket", bucket_validate, bucket_fill, bucket_wants_auth,
	  bucket_auth },
	{ "AzureBlob", "Bucket", "azureBlob", azblob_validate, azblob_fill, azblob_wants_auth,
	  azblob_auth },
	{ "OCIRepository", "OCIRepository", "ociRepository", oci_validate, oci_fill,
	  oci_wants_auth, oci_auth },
};

static const struct fc_source *fc_source_of(const cJSON *spec)
{
	const char *kind = yj_get_str(spec, "/sourceKind");
	size_t i;

	for (i = 0; i < ARRAY_SIZE(fc_sources); i++)
		if (streq(kind ? kind : "GitRepository", fc_sources[i].source_kind))
			return &fc_sources[i];
	return NULL;
}

/* NULL if valid, else why (in `msg`). */
const char *fluxconfig_invalid(const struct kobj *o, char *msg, size_t n)
{
	const cJSON *spec = yj_get(o->json, "/spec"), *ks, *k;
	const char *ns = yj_get_str(spec, "/namespace"), *why;
	const struct fc_source *src = fc_source_of(spec);
	char prop[64];

	if (ns && *ns && !streq(ns, o->ns)) {
		snprintf(msg, n, "spec.namespace \"%s\" must be the configuration's own namespace "
				 "\"%s\"", ns, o->ns);
		return msg;
	}
	if (!src) {
		snprintf(msg, n, "sourceKind %s is not supported yet", yj_get_str(spec, "/sourceKind"));
		return msg;
	}
	snprintf(prop, sizeof(prop), "/%s", src->prop);
	if (!yj_get(spec, prop)) {
		snprintf(msg, n, "sourceKind %s needs spec.%s", src->source_kind, src->prop);
		return msg;
	}
	why = src->validate(o, spec, msg, n);
	if (why)
		return why;
	why = yj_get_str(spec, "/reconciliationWaitDuration");
	if (why && duration_parse_iso8601(why, &(int64_t){ 0 }) < 0) {
		snprintf(msg, n, "reconciliationWaitDuration \"%s\" is not an ISO 8601 duration "
				 "(for example PT30M)", why);
		return msg;
	}
	ks = yj_get(spec, "/kustomizations");
	cJSON_ArrayForEach(k, ks)
	{
		struct buf path = BUF_INIT(4096);
		bool cyc;

		buf_adds(&path, k->string);
		cyc = dep_cycle(ks, k->string, k->string, &path, 0);
		if (cyc) {
			snprintf(msg, n, "spec.kustomizations: dependency cycle: %s", path.buf);
			buf_release(&path);
			return msg;
		}
		buf_release(&path);
	}
	return NULL;
}

/* ---- the children ---- */


static cJSON *child(const struct kobj *fc, const char *api_version, const char *kind,
		    const char *name, cJSON **ret_spec)
{
	cJSON *o = cJSON_CreateObject(), *meta, *labels, *owners, *ow;

	cJSON_AddStringToObject(o, "apiVersion", api_version);
	cJSON_AddStringToObject(o, "kind", kind);
	meta = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(meta, "name", name);
	cJSON_AddStringToObject(meta, "namespace", fc->ns);
	labels = cJSON_AddObjectToObject(meta, "labels");
	cJSON_AddStringToObject(labels, LABEL_NAME, fc->name);
	cJSON_AddStringToObject(labels, LABEL_NAMESPACE, fc->ns);
	owners = cJSON_AddArrayToObject(meta, "ownerReferences");
	ow = cJSON_CreateObject();
	cJSON_AddStringToObject(ow, "apiVersion", "clusterconfig.cflux.io/v1");
	cJSON_AddStringToObject(ow, "kind", "FluxConfiguration");
	cJSON_AddStringToObject(ow, "name", fc->name);
	cJSON_AddStringToObject(ow, "uid", fc->uid);
	cJSON_AddBoolToObject(ow, "controller", true);
	cJSON_AddBoolToObject(ow, "blockOwnerDeletion", true);
	cJSON_AddItemToArray(owners, ow);
	*ret_spec = cJSON_AddObjectToObject(o, "spec");
	return o;
}

/* The source and the Kustomizations the configuration stands for (its spec is valid). */
static cJSON *children(const struct kobj *fc)
{
	const cJSON *spec = yj_get(fc->json, "/spec"), *k;
	const struct fc_source *fs = fc_source_of(spec);
	bool suspend = cJSON_IsTrue(yj_get(spec, "/suspend"));
	cJSON *out = cJSON_CreateArray(), *src, *s;

	src = child(fc, "source.toolkit.fluxcd.io/v1", fs->flux_kind, fc->name, &s);
	fs->fill(fc, spec, s);
	cJSON_AddBoolToObject(s, "suspend", suspend);
	cJSON_AddItemToArray(out, src);

	cJSON_ArrayForEach(k, yj_get(spec, "/kustomizations"))
	{
		char *name = xasprintf("%s-%s", fc->name, k->string);
		cJSON *ks = child(fc, "kustomize.toolkit.fluxcd.io/v1", "Kustomization", name, &s);
		cJSON *sref, *deps;
		const cJSON *d, *pb = yj_get(k, "/postBuild");

		add_duration(s, "interval", yj_get(k, "/syncIntervalInSeconds"), 600);
		add_duration(s, "timeout", yj_get(k, "/timeoutInSeconds"), 600);
		if (cJSON_IsNumber(yj_get(k, "/retryIntervalInSeconds")))
			add_duration(s, "retryInterval", yj_get(k, "/retryIntervalInSeconds"), 600);
		cJSON_AddStringToObject(s, "path", yj_get_str(k, "/path") ? yj_get_str(k, "/path") : "");
		cJSON_AddBoolToObject(s, "prune", cJSON_IsTrue(yj_get(k, "/prune")));
		cJSON_AddBoolToObject(s, "force", cJSON_IsTrue(yj_get(k, "/force")));
		cJSON_AddBoolToObject(s, "wait", !cJSON_IsFalse(yj_get(k, "/wait")));
		cJSON_AddBoolToObject(s, "suspend", suspend);
		sref = cJSON_AddObjectToObject(s, "sourceRef");
		cJSON_AddStringToObject(sref, "kind", fs->flux_kind);
		cJSON_AddStringToObject(sref, "name", fc->name);
		cJSON_AddStringToObject(sref, "namespace", fc->ns);
		if (cJSON_GetArraySize(yj_get(k, "/dependsOn"))) {
			deps = cJSON_AddArrayToObject(s, "dependsOn");
			cJSON_ArrayForEach(d, yj_get(k, "/dependsOn"))
			{
				cJSON *e = cJSON_CreateObject();
				char *dn = xasprintf("%s-%s", fc->name, cJSON_GetStringValue(d));

				cJSON_AddStringToObject(e, "name", dn);
				cJSON_AddItemToArray(deps, e);
				free(dn);
			}
		}
		if (cJSON_IsObject(pb))
			cJSON_AddItemToObject(s, "postBuild", cJSON_Duplicate(pb, 1));
		cJSON_AddItemToArray(out, ks);
		free(name);
	}
	return out;
}

/* ---- compliance ---- */

static const char *compliance_of(const struct kobj *o)
{
	const cJSON *st = yj_get(o->json, "/status");
	const cJSON *ready = cond_get(st, COND_READY);
	const char *rs = ready ? yj_get_str(ready, "/status") : NULL;
	const cJSON *og = yj_get(st, "/observedGeneration");

	if (cJSON_IsTrue(yj_get(o->json, "/spec/suspend")))
		return "Suspended";
	if (cond_is_true(st, COND_STALLED) || (rs && streq(rs, "False")))
		return "Non-Compliant";
	if (!rs || streq(rs, "Unknown") || cond_is_true(st, COND_RECONCILING) || !og ||
	    (long)cJSON_GetNumberValue(og) != o->generation)
		return "Pending";
	return "Compliant";
}

static int rank(const char *c)
{
	return streq(c, "Suspended") ? 4 : streq(c, "Non-Compliant") ? 3 : streq(c, "Pending") ? 2 :
	       streq(c, "Compliant") ? 1 : 0;
}


static cJSON *object_status(const struct kobj *o, const char *kind, const char *state)
{
	cJSON *e = cJSON_CreateObject(), *conds;
	const cJSON *c;

	cJSON_AddStringToObject(e, "name", o->name);
	cJSON_AddStringToObject(e, "namespace", o->ns);
	cJSON_AddStringToObject(e, "kind", kind);
	cJSON_AddStringToObject(e, "complianceState", state);
	cJSON_AddNullToObject(e, "appliedBy");
	conds = cJSON_AddArrayToObject(e, "statusConditions");
	cJSON_ArrayForEach(c, yj_get(o->json, "/status/conditions"))
	{
		cJSON *x = cJSON_CreateObject();
		static const char *const keys[] = { "lastTransitionTime", "message", "reason",
						    "status", "type" };
		size_t i;

		for (i = 0; i < 5; i++)
			if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(c, keys[i])))
				cJSON_AddStringToObject(
					x, keys[i],
					cJSON_GetObjectItemCaseSensitive(c, keys[i])->valuestring);
		cJSON_AddItemToArray(conds, x);
	}
	return e;
}

/* Whether apiVersion `av` is one of Flux's groups, whose objects Azure lists in statuses[]. */
static bool flux_group(const char *av)
{
	return av && (str_startswith(av, "source.toolkit.fluxcd.io/") ||
		      str_startswith(av, "kustomize.toolkit.fluxcd.io/") ||
		      str_startswith(av, "helm.toolkit.fluxcd.io/"));
}

/*
 * The Flux objects Kustomization `ks` applied (its inventory, Flux kinds
 * only), as Azure lists them: appliedBy the Kustomization, and for a
 * HelmRelease its helmReleaseProperties.  Each is read from the cache of
 * its kind's controller; one we do not hold is left out.  The worst
 * compliance goes to *agg (and its Ready message to *bad_msg).
 */
static void inventory_statuses(struct fcjob *j, const struct kobj *ks, cJSON *statuses,
			       const char **agg, const char **bad_msg)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, yj_get(ks->json, "/status/inventory/entries")) {
		cJSON *ref = apply_inventory_ref(s_or_empty(yj_get_str(e, "/id")),
						 s_or_empty(yj_get_str(e, "/v")));
		const char *kind = yj_get_str(ref, "/kind");
		struct ctl *c = ref && flux_group(yj_get_str(ref, "/apiVersion")) ?
					mgr_ctl_kind(ctl_mgr(j->rc->ctl), kind) : NULL;
		struct kobj *o = NULL;
		cJSON *st, *by;
		const char *comp;
		char *key;

		if (c) {
			key = kobj_make_key(s_or_empty(yj_get_str(ref, "/metadata/namespace")),
					    s_or_empty(yj_get_str(ref, "/metadata/name")));
			o = informer_get(ctl_informer(c), key);
			free(key);
		}
		if (!o) {
			cJSON_Delete(ref);
			continue;
		}
		comp = compliance_of(o);
		st = object_status(o, kind, comp);
		by = cJSON_CreateObject();
		cJSON_AddStringToObject(by, "name", ks->name);
		cJSON_AddStringToObject(by, "namespace", ks->ns);
		cJSON_ReplaceItemInObjectCaseSensitive(st, "appliedBy", by);
		if (streq(kind, "HelmRelease")) {
			cJSON *hp = cJSON_AddObjectToObject(st, "helmReleaseProperties");
			const cJSON *ost = yj_get(o->json, "/status");
			const char *hc = yj_get_str(ost, "/helmChart");
			const char *slash = hc ? strchr(hc, '/') : NULL;

			cJSON_AddNumberToObject(hp, "lastRevisionApplied",
						cJSON_GetNumberValue(yj_get(ost, "/history/0/version")) >
								0 ?
							cJSON_GetNumberValue(
								yj_get(ost, "/history/0/version")) :
							0);
			if (slash) {
				cJSON *cr = cJSON_AddObjectToObject(hp, "helmChartRef");
				char *ns = xstrndup(hc, (size_t)(slash - hc));

				cJSON_AddStringToObject(cr, "name", slash + 1);
				cJSON_AddStringToObject(cr, "namespace", ns);
				free(ns);
			}
			cJSON_AddNumberToObject(hp, "failureCount",
						cJSON_GetNumberValue(yj_get(ost, "/failures")) > 0 ?
							cJSON_GetNumberValue(yj_get(ost, "/failures")) : 0);
			cJSON_AddNumberToObject(
				hp, "installFailureCount",
				cJSON_GetNumberValue(yj_get(ost, "/installFailures")) > 0 ?
					cJSON_GetNumberValue(yj_get(ost, "/installFailures")) : 0);
			cJSON_AddNumberToObject(
				hp, "upgradeFailureCount",
				cJSON_GetNumberValue(yj_get(ost, "/upgradeFailures")) > 0 ?
					cJSON_GetNumberValue(yj_get(ost, "/upgradeFailures")) : 0);
		}
		cJSON_AddItemToArray(statuses, st);
		if (rank(comp) > rank(*agg)) {
			*agg = comp;
			if (streq(comp, "Non-Compliant"))
				*bad_msg = yj_get_str(cond_get(yj_get(o->json, "/status"), COND_READY),
						      "/message");
		}
		cJSON_Delete(ref);
	}
}

/* The source controller of `kind`, or NULL. */
static struct ctl *source_ctl(const struct fcjob *j, const char *kind)
{
	struct ctl *c = mgr_ctl_kind(ctl_mgr(j->rc->ctl), kind);

	return c && ctl_desc(c)->source ? c : NULL;
}

/* The configuration's source of `kind` in the cache, or NULL. */
static struct kobj *cached_source(const struct fcjob *j, const char *kind)
{
	struct ctl *sctl = source_ctl(j, kind);
	struct kobj *src;
	char *key;

	if (!sctl)
		return NULL;
	key = kobj_make_key(j->obj->ns, j->obj->name);
	src = informer_get(ctl_informer(sctl), key);
	free(key);
	return src;
}

/*
 * Azure's provisioningState.  Without waitForReconciliation the PUT is
 * done once the configuration is accepted: Succeeded.  With it, the
 * state waits for compliance: Creating (the first generation) or
 * Updating while Pending or Unknown, then Succeeded (Compliant or
 * Suspended) or Failed (Non-Compliant), or Failed once
 * reconciliationWaitDuration has passed since the generation was first
 * seen (the Reconciling condition's transition; no duration: no limit).
 */
static const char *provisioning(struct fcjob *j, const cJSON *st, const char *agg, int64_t now,
				const char **why)
{
	const struct kobj *fc = j->obj;
	const cJSON *spec = yj_get(fc->json, "/spec");
	const char *dur = yj_get_str(spec, "/reconciliationWaitDuration");
	const cJSON *rec = cond_get(st, COND_RECONCILING);
	const cJSON *og = yj_get(rec, "/observedGeneration");
	int64_t wait, since = now;

	*why = NULL;
	if (!cJSON_IsTrue(yj_get(spec, "/waitForReconciliation")) || streq(agg, "Compliant") ||
	    streq(agg, "Suspended"))
		return "Succeeded";
	if (streq(agg, "Non-Compliant"))
		return "Failed";
	if (cJSON_IsNumber(og) && yj_to_int64(og->valuedouble) == fc->generation &&
	    yj_get_str(rec, "/lastTransitionTime"))
		time_parse_rfc3339(yj_get_str(rec, "/lastTransitionTime"), &since);
	if (dur && duration_parse_iso8601(dur, &wait) == 0) {
		if (now - since >= wait) {
			*why = "the objects did not reconcile within reconciliationWaitDuration";
			return "Failed";
		}
		j->wait_left_ms = (uint64_t)(wait - (now - since)) / NSEC_PER_MSEC + 1;
	}
	return fc->generation > 1 ? "Updating" : "Creating";
}

/* Roll the children's status up into rc->status: what it should be now, from the caches. */
static void rollup(struct fcjob *j, const char *invalid)
{
	const struct kobj *fc = j->obj;
	const struct fc_source *fs = fc_source_of(yj_get(fc->json, "/spec"));
	cJSON *st = j->rc->status, *statuses;
	const cJSON *k;
	const char *agg = "Unknown", *bad_msg = NULL, *late = NULL;
	int64_t now = time_now_ns();
	bool all_reported = true;
	struct kobj *src = fs ? cached_source(j, fs->flux_kind) : NULL;
	char *key;

	cJSON_DeleteItemFromObjectCaseSensitive(st, "statuses");
	statuses = cJSON_AddArrayToObject(st, "statuses");
	if (src) {
		const char *c = compliance_of(src);

		cJSON_AddItemToArray(statuses, object_status(src, fs->flux_kind, c));
		agg = c;
		if (streq(c, "Non-Compliant"))
			bad_msg = yj_get_str(cond_get(yj_get(src->json, "/status"), COND_READY),
					     "/message");
		if (yj_get_str(src->json, "/status/artifact/revision")) {
			cJSON_DeleteItemFromObjectCaseSensitive(st, "sourceSyncedCommitId");
			cJSON_AddStringToObject(st, "sourceSyncedCommitId",
						yj_get_str(src->json, "/status/artifact/revision"));
			cJSON_DeleteItemFromObjectCaseSensitive(st, "sourceUpdatedAt");
			if (yj_get_str(src->json, "/status/artifact/lastUpdateTime"))
				cJSON_AddStringToObject(
					st, "sourceUpdatedAt",
					yj_get_str(src->json, "/status/artifact/lastUpdateTime"));
		}
	} else {
		all_reported = false;
	}
	cJSON_ArrayForEach(k, yj_get(fc->json, "/spec/kustomizations"))
	{
		char *name = xasprintf("%s-%s", fc->name, k->string);
		struct kobj *ks;

		key = kobj_make_key(fc->ns, name);
		ks = informer_get(ctl_informer(j->f->kustomizations), key);
		free(key);
		free(name);
		if (!ks) {
			all_reported = false;
			continue;
		}
		{
			const char *c = compliance_of(ks);

			cJSON_AddItemToArray(statuses, object_status(ks, "Kustomization", c));
			if (rank(c) > rank(agg)) {
				agg = c;
				if (streq(c, "Non-Compliant"))
					bad_msg = yj_get_str(cond_get(yj_get(ks->json, "/status"),
								      COND_READY),
							     "/message");
			}
			inventory_statuses(j, ks, statuses, &agg, &bad_msg);
		}
	}
	if (!all_reported && rank(agg) < rank("Pending"))
		agg = src ? "Pending" : "Unknown";
	if (cJSON_IsTrue(yj_get(fc->json, "/spec/suspend")))
		agg = "Suspended";
	cJSON_DeleteItemFromObjectCaseSensitive(st, "complianceState");
	cJSON_AddStringToObject(st, "complianceState", invalid ? "Non-Compliant" : agg);
	cJSON_DeleteItemFromObjectCaseSensitive(st, "provisioningState");
	cJSON_AddStringToObject(st, "provisioningState",
				invalid ? "Failed" : provisioning(j, st, agg, now, &late));
	cJSON_DeleteItemFromObjectCaseSensitive(st, "errorMessage");
	cJSON_AddStringToObject(st, "errorMessage", invalid ? invalid : late ? late : "");
	if (invalid) {
		cond_mark_stalled(st, "InvalidConfiguration", invalid, fc->generation, now);
		cond_set(st, COND_READY, "False", "InvalidConfiguration", invalid, fc->generation,
			 now);
	} else if (streq(agg, "Compliant")) {
		cond_delete(st, COND_STALLED);
		cond_delete(st, COND_RECONCILING);
		cond_set(st, COND_READY, "True", "Compliant", "all objects are compliant",
			 fc->generation, now);
	} else if (streq(agg, "Non-Compliant")) {
		cond_delete(st, COND_STALLED);
		cond_delete(st, COND_RECONCILING);
		cond_set(st, COND_READY, "False", "NonCompliant",
			 bad_msg ? bad_msg : "an object is not compliant", fc->generation, now);
	} else if (streq(agg, "Suspended")) {
		cond_delete(st, COND_STALLED);
		cond_delete(st, COND_RECONCILING);
		cond_set(st, COND_READY, "True", "Suspended", "reconciliation is suspended",
			 fc->generation, now);
	} else {
		cond_delete(st, COND_STALLED);
		cond_mark_reconciling(st, "Progressing", "waiting for the objects to reconcile",
				      fc->generation, now);
		cond_set(st, COND_READY, "Unknown", "Progressing",
			 "waiting for the objects to reconcile", fc->generation, now);
	}
	cJSON_DeleteItemFromObjectCaseSensitive(st, "observedGeneration");
	cJSON_AddNumberToObject(st, "observedGeneration", (double)fc->generation);
}

/*
 * End with the rolled-up status.  statusUpdatedAt moves only when
 * something else changed, so a quiet cluster costs no writes.
 */
static void write_status(struct fcjob *j, const char *invalid)
{
	cJSON *st = j->rc->status, *old = cJSON_Duplicate(yj_get(j->obj->json, "/status"), 1);
	const cJSON *when = yj_get(old, "/statusUpdatedAt");
	bool same;

	rollup(j, invalid);
	cJSON_DeleteItemFromObjectCaseSensitive(st, "statusUpdatedAt");
	if (old)
		cJSON_DeleteItemFromObjectCaseSensitive(old, "statusUpdatedAt");
	same = old && cJSON_Compare(st, old, true);
	if (same) {
		if (cJSON_IsString(when))
			cJSON_AddStringToObject(st, "statusUpdatedAt", when->valuestring);
	} else {
		char ts[RFC3339_MAX];
		int64_t now = time_now_ns();
		const char *was = yj_get_str(j->obj->json, "/status/complianceState");
		const char *is = yj_get_str(st, "/complianceState");

		/* An Event on every change of compliance, as kubectl describe shows them. */
		if (is && !streq_ptr(was, is))
			rc_event(j->rc, streq(is, "Non-Compliant") ? "Warning" : "Normal",
				  streq(is, "Non-Compliant") ? "NonCompliant" : is,
				  "complianceState %s -> %s%s%s", was ? was : "Unknown", is,
				  streq(is, "Non-Compliant") ? ": " : "",
				  streq(is, "Non-Compliant") ?
					  s_or_empty(yj_get_str(cond_get(st, COND_READY), "/message")) :
					  "");
		time_format_rfc3339(now - now % NSEC_PER_SEC, ts);
		cJSON_AddStringToObject(st, "statusUpdatedAt", ts);
	}
	cJSON_Delete(old);
	rc_done(j->rc, invalid ? 0 :
		       j->wait_left_ms && j->wait_left_ms < j->f->resync_ms ? j->wait_left_ms :
									      j->f->resync_ms);
}


/* ---- applying the children ---- */

/* Is `o` (a source or a Kustomization) a child of configuration `fc`? */
static bool is_child(const struct kobj *o, const struct kobj *fc)
{
	return streq(o->ns, fc->ns) &&
	       streq_ptr(kobj_str(o, "metadata", "labels", LABEL_NAME, NULL), fc->name) &&
	       streq_ptr(kobj_str(o, "metadata", "labels", LABEL_NAMESPACE, NULL), fc->ns);
}


static void child_applied(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct fcjob *j = payload;

	if (r < 0 && j->r == 0) {
		j->r = r;
		snprintf(j->msg, sizeof(j->msg), "%s", err ? err->msg : op_strerror(r));
	}
	if (--j->pending > 0)
		return;
	if (j->r < 0) {
		log_error(NULL, "Cannot apply the Flux objects", "controller", "fluxconfiguration",
			  "object", j->rc->key, "error", j->msg, NULL);
		rc_event(j->rc, "Warning", "ApplyFailed", "%s", j->msg);
		rc_retry(j->rc);
		return;
	}
	write_status(j, NULL);
}

static void child_deleted(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	child_applied(r == -ENOENT ? 0 : r, obj, err, payload);
}

static void apply_children(struct fcjob *j)
{
	cJSON *set = children(j->obj), *c;
	struct kube_opts ko = KUBE_OPTS_INIT;
	struct informer *inf = ctl_informer(j->f->kustomizations);
	struct kobj *ks;
	size_t it = 0;

	ko.field_manager = FIELD_MANAGER;
	ko.force = true;
	j->pending = 1;
	cJSON_ArrayForEach(c, set)
	{
		const char *kind = yj_get_str(c, "/kind");
		struct ctl *cc = streq(kind, "Kustomization") ? j->f->kustomizations :
								  source_ctl(j, kind);
		struct kube_ref ref = ctl_desc(cc)->ref;

		ref.ns = j->obj->ns;
		ref.name = yj_get_str(c, "/metadata/name");
		j->pending++;
		if (kube_apply(client_of(j), &ref, c, &ko, child_applied, j) < 0)
			child_applied(-EIO, NULL, NULL, j);
	}
	/* A source of another kind, left by an earlier sourceKind. */
	{
		const char *kind = fc_source_of(yj_get(j->obj->json, "/spec"))->flux_kind;
		struct ctl *sc = NULL;

		while ((sc = mgr_next_source(ctl_mgr(j->rc->ctl), sc))) {
			struct kobj *old = cached_source(j, ctl_desc(sc)->kind);
			struct kube_ref ref = ctl_desc(sc)->ref;

			if (!old || streq(ctl_desc(sc)->kind, kind) || !is_child(old, j->obj))
				continue;
			ref.ns = old->ns;
			ref.name = old->name;
			j->pending++;
			if (kube_delete(client_of(j), &ref, NULL, child_deleted, j) < 0)
				child_deleted(-EIO, NULL, NULL, j);
		}
	}
	/* Kustomizations of ours that left spec.kustomizations. */
	while ((ks = informer_next(inf, &it))) {
		const char *ln = kobj_str(ks, "metadata", "labels", LABEL_NAME, NULL);
		const char *lns = kobj_str(ks, "metadata", "labels", LABEL_NAMESPACE, NULL);
		bool wanted = false;

		if (!ln || !lns || !streq(ln, j->obj->name) || !streq(lns, j->obj->ns) ||
		    !streq(ks->ns, j->obj->ns))
			continue;
		cJSON_ArrayForEach(c, set)
			if (streq(yj_get_str(c, "/metadata/name"), ks->name))
				wanted = true;
		if (!wanted) {
			struct kube_ref ref = { .group = "kustomize.toolkit.fluxcd.io",
						.version = "v1", .resource = "kustomizations",
						.ns = ks->ns, .name = ks->name };

			j->pending++;
			if (kube_delete(client_of(j), &ref, NULL, child_deleted, j) < 0)
				child_deleted(-EIO, NULL, NULL, j);
		}
	}
	cJSON_Delete(set);
	child_applied(0, NULL, NULL, j); /* drop the hold */
}

/* ---- deletion: dependents first, the source last, then the finalizer ---- */


/* Does a child Kustomization other than `ks` still depend on it? */
static bool depended_on(struct informer *inf, const struct kobj *fc, const struct kobj *ks)
{
	struct kobj *o;
	size_t it = 0;
	const cJSON *d;

	while ((o = informer_next(inf, &it))) {
		if (o == ks || !is_child(o, fc))
			continue;
		cJSON_ArrayForEach(d, yj_get(o->json, "/spec/dependsOn"))
		{
			const char *dns = yj_get_str(d, "/namespace");

			if (streq_ptr(yj_get_str(d, "/name"), ks->name) &&
			    streq(dns && *dns ? dns : o->ns, ks->ns))
				return true;
		}
	}
	return false;
}

static void deletion_step_done(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct fcjob *j = payload;

	if (r < 0 && r != -ENOENT && j->r == 0) {
		j->r = r;
		snprintf(j->msg, sizeof(j->msg), "%s", err ? err->msg : op_strerror(r));
	}
	if (--j->pending > 0)
		return;
	if (j->r < 0) {
		rc_event(j->rc, "Warning", "DeletionFailed", "%s", j->msg);
		rc_retry(j->rc);
		return;
	}
	/* The children's informer events requeue us as they go. */
	rc_done(j->rc, 0);
}

static void delete_child(struct fcjob *j, const struct kobj *o, struct ctl *of)
{
	struct kube_ref ref = ctl_desc(of)->ref;

	ref.ns = o->ns;
	ref.name = o->name;
	rc_event(j->rc, "Normal", "DeletingChildren", "deleting %s %s/%s", ctl_desc(of)->kind,
		 o->ns, o->name);
	j->pending++;
	if (kube_delete(client_of(j), &ref, NULL, deletion_step_done, j) < 0)
		deletion_step_done(-EIO, NULL, NULL, j);
}

/*
 * One step of an ordered deletion.  Kustomizations go first, each only
 * once no sibling depends on it any more, so a dependent's objects are
 * pruned while what they need (a namespace, a CRD) still exists; the
 * source goes once they are all gone; the finalizer last.  Each step
 * waits for the informer to report the deletions, which requeues us.
 */
static void finalize(struct rc *rc)
{
	struct fcjob *j = rc->job;
	struct informer *ksinf;
	struct kobj *o;
	size_t it = 0;
	bool left = false, going = false;

	j->rc = rc;
	j->f = ctl_data(rc->ctl);
	j->obj = rc->obj;
	ksinf = ctl_informer(j->f->kustomizations);
	j->pending = 1;
	while ((o = informer_next(ksinf, &it))) {
		if (!is_child(o, j->obj))
			continue;
		left = true;
		if (kobj_str(o, "metadata", "deletionTimestamp", NULL)) {
			going = true;
		} else if (!depended_on(ksinf, j->obj, o)) {
			delete_child(j, o, j->f->kustomizations);
			going = true;
		}
	}
	/* A dependsOn cycle (edited in by hand) has no first: delete them all. */
	for (it = 0; left && !going && (o = informer_next(ksinf, &it));)
		if (is_child(o, j->obj))
			delete_child(j, o, j->f->kustomizations);
	if (!left) {
		/* The source, of whichever kind: children of ours only. */
		struct ctl *sc = NULL;

		while ((sc = mgr_next_source(ctl_mgr(rc->ctl), sc))) {
			struct kobj *src = cached_source(j, ctl_desc(sc)->kind);

			if (!src || !is_child(src, j->obj))
				continue;
			left = true;
			if (!kobj_str(src, "metadata", "deletionTimestamp", NULL))
				delete_child(j, src, sc);
		}
		if (!left) {
			rc_finalized(rc);
			return;
		}
	}
	deletion_step_done(0, NULL, NULL, j); /* drop the hold */
}

/* ---- the <config>-auth Secret (Azure's protected settings, Flux's keys) ---- */

/* A transient failure: Ready=False with `why` (never a secret's content), retried. */
static void auth_failed(struct fcjob *j, const char *why)
{
	log_error(NULL, "Cannot prepare the source credentials", "controller", "fluxconfiguration",
		  "object", j->rc->key, "error", why, NULL);
	rc_event(j->rc, "Warning", "AuthSecretFailed", "%s", why);
	rc_retry(j->rc);
}

static void auth_applied(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct fcjob *j = payload;

	if (r < 0) {
		char why[600];

		snprintf(why, sizeof(why), "cannot write Secret %s-auth: %s", j->obj->name,
			 err && err->msg[0] ? err->msg : op_strerror(r));
		auth_failed(j, why);
		return;
	}
	apply_children(j);
}

/*
 * Build and apply <config>-auth: Flux's key names from Azure's, per
 * source kind (fc_source.auth).  `protected` is the protected-settings
 * Secret, or NULL.
 */
static void apply_auth(struct fcjob *j, const cJSON *protected)
{
	const cJSON *spec = yj_get(j->obj->json, "/spec");
	struct kube_opts ko = KUBE_OPTS_INIT;
	struct kube_ref ref = { .version = "v1", .resource = "secrets", .ns = j->obj->ns };
	cJSON *cspec, *data, *sec;
	char *name = xasprintf("%s-auth", j->obj->name);

	sec = child(j->obj, "v1", "Secret", name, &cspec);
	cJSON_DeleteItemFromObjectCaseSensitive(sec, "spec");
	cJSON_AddStringToObject(sec, "type", "Opaque");
	data = cJSON_AddObjectToObject(sec, "stringData");
	fc_source_of(spec)->auth(spec, protected, data);
	ref.name = name;
	ko.field_manager = FIELD_MANAGER;
	ko.force = true;
	j->auth = sec;
	if (kube_apply(client_of(j), &ref, sec, &ko, auth_applied, j) < 0)
		auth_applied(-EIO, NULL, NULL, j);
	free(name);
}

static void got_protected(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct fcjob *j = payload;
	const char *name = yj_get_str(j->obj->json, "/spec/protectedSettingsSecretRef/name");

	if (r < 0) {
		char why[600];

		snprintf(why, sizeof(why), "protected settings: Secret %s/%s %s", j->obj->ns,
			 name ? name : "", r == -ENOENT ? "not found" : "cannot be read");
		auth_failed(j, why);
		return;
	}
	apply_auth(j, obj);
}

/* ---- the applier account (multi-tenancy), then the credentials ---- */

static void with_applier(struct fcjob *j);

static void applier_failed(struct fcjob *j, const char *what, const struct op_err *err, int r)
{
	char why[600];

	snprintf(why, sizeof(why), "cannot set up the applier account: %s: %s", what,
		 err && err->msg[0] ? err->msg : op_strerror(r));
	log_error(NULL, "Cannot set up the applier account", "controller", "fluxconfiguration",
		  "object", j->rc->key, "error", why, NULL);
	rc_event(j->rc, "Warning", "ApplierSetupFailed", "%s", why);
	rc_retry(j->rc);
}

static void binding_applied(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct fcjob *j = payload;

	if (r < 0) {
		applier_failed(j, "the applier's binding", err, r);
		return;
	}
	with_applier(j);
}

static void applier_sa_applied(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct fcjob *j = payload;
	const char *applier = j->f->applier;
	bool ns_scope = streq_ptr(yj_get_str(j->obj->json, "/spec/scope"), "namespace");
	struct kube_opts ko = KUBE_OPTS_INIT;
	struct kube_ref ref = { .group = "rbac.authorization.k8s.io", .version = "v1" };
	cJSON *b, *meta, *rr, *sub;
	char *name;

	if (r < 0) {
		applier_failed(j, "ServiceAccount", err, r);
		return;
	}
	name = ns_scope ? xstrdup(applier) : xasprintf("%s-%s", applier, j->obj->ns);
	b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "apiVersion", "rbac.authorization.k8s.io/v1");
	cJSON_AddStringToObject(b, "kind", ns_scope ? "RoleBinding" : "ClusterRoleBinding");
	meta = cJSON_AddObjectToObject(b, "metadata");
	cJSON_AddStringToObject(meta, "name", name);
	if (ns_scope)
		cJSON_AddStringToObject(meta, "namespace", j->obj->ns);
	rr = cJSON_AddObjectToObject(b, "roleRef");
	cJSON_AddStringToObject(rr, "apiGroup", "rbac.authorization.k8s.io");
	cJSON_AddStringToObject(rr, "kind", "ClusterRole");
	cJSON_AddStringToObject(rr, "name", "cluster-admin");
	sub = cJSON_CreateObject();
	cJSON_AddStringToObject(sub, "kind", "ServiceAccount");
	cJSON_AddStringToObject(sub, "name", applier);
	cJSON_AddStringToObject(sub, "namespace", j->obj->ns);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(b, "subjects"), sub);
	ref.resource = ns_scope ? "rolebindings" : "clusterrolebindings";
	ref.ns = ns_scope ? j->obj->ns : NULL;
	ref.name = name;
	ko.field_manager = FIELD_MANAGER;
	ko.force = true;
	if (kube_apply(client_of(j), &ref, b, &ko, binding_applied, j) < 0)
		binding_applied(-EIO, NULL, NULL, j);
	cJSON_Delete(b);
	free(name);
}

static void setup_applier(struct fcjob *j)
{
	struct kube_opts ko = KUBE_OPTS_INIT;
	struct kube_ref ref = { .version = "v1", .resource = "serviceaccounts", .ns = j->obj->ns,
				.name = j->f->applier };
	cJSON *sa = cJSON_CreateObject(), *meta;

	cJSON_AddStringToObject(sa, "apiVersion", "v1");
	cJSON_AddStringToObject(sa, "kind", "ServiceAccount");
	meta = cJSON_AddObjectToObject(sa, "metadata");
	cJSON_AddStringToObject(meta, "name", j->f->applier);
	cJSON_AddStringToObject(meta, "namespace", j->obj->ns);
	ko.field_manager = FIELD_MANAGER;
	ko.force = true;
	if (kube_apply(client_of(j), &ref, sa, &ko, applier_sa_applied, j) < 0)
		applier_sa_applied(-EIO, NULL, NULL, j);
	cJSON_Delete(sa);
}

/* Validate, then create or update the children and roll their status up. */
static void reconcile(struct rc *rc)
{
	struct fcjob *j = rc->job;
	const char *invalid;
	char msg[512];

	j->rc = rc;
	j->f = ctl_data(rc->ctl);
	j->obj = rc->obj;
	invalid = fluxconfig_invalid(j->obj, msg, sizeof(msg));
	if (invalid) {
		rc_event(rc, "Warning", "InvalidConfiguration", "%s", invalid);
		write_status(j, invalid);
		return;
	}
	if (j->f->applier && *j->f->applier) {
		setup_applier(j);
		return;
	}
	with_applier(j);
}

/* The credentials Secret when the spec asks for one, then the children. */
static void with_applier(struct fcjob *j)
{
	const cJSON *spec = yj_get(j->obj->json, "/spec");
	const struct fc_source *fs = fc_source_of(spec);
	const char *pname;

	/*
	 * No <config>-auth without Azure's credentials.  With them, a
	 * localAuthRef was refused by fluxconfig_invalid() where the two compete (Git,
	 * Bucket, AzureBlob); an OCIRepository takes both (registry
	 * credentials from localAuthRef, certificates and keys from Azure's).
	 */
	if (!fs->wants_auth(spec)) {
		apply_children(j);
		return;
	}
	pname = yj_get_str(spec, "/protectedSettingsSecretRef/name");
	if (pname) {
		struct kube_ref ref = { .version = "v1", .resource = "secrets", .ns = j->obj->ns,
					.name = pname };

		if (kube_get(client_of(j), &ref, NULL, got_protected, j) < 0)
			got_protected(-EIO, NULL, NULL, j);
		return;
	}
	apply_auth(j, NULL);
}

/* A child changed: requeue its configuration (status roll-up). */
static void on_child(struct ctl *ctl, struct ctl *from, enum informer_event ev, struct kobj *obj, struct kobj *old)
{
	const char *ln = kobj_str(obj, "metadata", "labels", LABEL_NAME, NULL);
	const char *lns = kobj_str(obj, "metadata", "labels", LABEL_NAMESPACE, NULL);
	char *key;

	if (!ln || !lns)
		return;
	key = kobj_make_key(lns, ln);
	ctl_enqueue(ctl, key);
	free(key);
}

/*
 * A Flux object a Kustomization applied (its owner labels) changed:
 * requeue the configuration of that Kustomization, if it has one.
 */
static void on_applied(struct ctl *ctl, struct ctl *from, enum informer_event ev,
		       struct kobj *obj, struct kobj *old)
{
	struct fc_ctl *f = ctl_data(ctl);
	const char *kn = kobj_str(obj, "metadata", "labels", "kustomize.toolkit.fluxcd.io/name",
				  NULL);
	const char *kns = kobj_str(obj, "metadata", "labels",
				   "kustomize.toolkit.fluxcd.io/namespace", NULL);
	struct kobj *ks;
	char *key;

	if (kobj_str(obj, "metadata", "labels", LABEL_NAME, NULL)) {
		on_child(ctl, from, ev, obj, old);
		return;
	}
	if (!kn || !kns)
		return;
	key = kobj_make_key(kns, kn);
	ks = informer_get(ctl_informer(f->kustomizations), key);
	free(key);
	if (ks)
		on_child(ctl, from, ev, ks, NULL);
}

void fluxconfig_watch_children(struct ctl *fc)
{
	struct fc_ctl *f = ctl_data(fc);
	struct ctl *src = NULL, *hr = mgr_ctl_kind(ctl_mgr(fc), "HelmRelease");

	while ((src = mgr_next_source(ctl_mgr(fc), src)))
		ctl_watch(fc, src, on_applied);
	ctl_watch(fc, f->kustomizations, on_applied);
	if (hr)
		ctl_watch(fc, hr, on_applied);
}

const struct ctl_desc fluxconfiguration_desc = {
	.name = "fluxconfiguration",
	.component = "fluxconfig-controller",
	.kind = "FluxConfiguration",
	.api_version = "clusterconfig.cflux.io/v1",
	.ref = { .group = "clusterconfig.cflux.io", .version = "v1",
		 .resource = "fluxconfigurations" },
	.retry = BACKOFF_RECONCILE,
	.finalizer = FINALIZER,
	.own_suspend = true,
	.job_size = sizeof(struct fcjob),
	.job_release = job_release,
	.reconcile = reconcile,
	.finalize = finalize,
};
