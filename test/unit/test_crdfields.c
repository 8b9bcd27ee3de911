/*
 * test_crdfields.c: no spec field of a CRD we serve is accepted and then
 * ignored.  For each kind, every field of every served version's schema
 * (crds/) is either consumed (the reconciler reads it), refused (a spec
 * setting it makes the kind's check name it; the object is then
 * Stalled), or inert for a reason written here (Flux and Azure do
 * nothing with it either).  Value-dependent refusals (provider 'azure')
 * are listed with the spec that triggers them, and the values that are
 * served are checked not to be refused.  The HelmRelease refuses every
 * field it does not list, so its refusals are made from the schema.  The
 * Kustomization has its own file, test_ksfields.c.  Provider and Alert are
 * static objects: a Provider's refusal is the Warning Event of the Alerts
 * that use it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/path.h"
#include "base/str.h"
#include "kube/kobj.h"
#include "operator/controllers.h"
#include "operator/notify.h"
#include "harness.h"
#include "yj/yj.h"

struct refusal {
	const char *field; /* the schema path (its subtree is covered too) */
	const char *spec;  /* a spec that is refused */
	const char *named; /* what the message says; NULL: "spec.<field>" */
};

struct inert {
	const char *field;
	const char *why;
};

struct kind {
	const char *crd;
	const char *const *consumed;   /* NULL-terminated */
	const struct refusal *refused; /* ends with { NULL } */
	const struct inert *inert;     /* ends with { NULL } */
	const char *const *served;     /* specs that must not be refused; NULL-terminated */
	const char *(*check)(const cJSON *spec, char *msg, size_t n);
	bool refuses_the_rest;         /* any field not consumed is refused, by name */
};

/* ---- each kind's check, as one signature ---- */

static const char *hr_check(const cJSON *spec, char *msg, size_t n)
{
	return helmrelease_unsupported(spec, msg, n) ? msg : NULL;
}

static const char *hc_check(const cJSON *spec, char *msg, size_t n)
{
	return helmchart_unsupported(spec, msg, n) ? msg : NULL;
}

static const char *fc_check(const cJSON *spec, char *msg, size_t n)
{
	cJSON *o = cJSON_CreateObject(), *m = cJSON_AddObjectToObject(o, "metadata");
	struct kobj *k;
	const char *r;

	cJSON_AddStringToObject(m, "name", "cfg");
	cJSON_AddStringToObject(m, "namespace", "ns");
	cJSON_AddItemToObject(o, "spec", cJSON_Duplicate(spec, 1));
	k = kobj_new(o);
	r = fluxconfig_invalid(k, msg, n);
	kobj_unref(k);
	return r;
}

static const char *ext_check(const cJSON *spec, char *msg, size_t n)
{
	static const struct ext_ctl e = { .version = "1.4.0+abc", .ns = "flux-system" };

	return extension_unsupported(&e, spec, msg, n);
}

static const char *no_check(const cJSON *spec, char *msg, size_t n)
{
	(void)spec;
	(void)msg;
	(void)n;
	return NULL;
}

static const char *provider_check(const cJSON *spec, char *msg, size_t n)
{
	return notify_provider_unsupported(spec, msg, n);
}

/* ---- the kinds ---- */

static const char *const git_consumed[] = {
	"url", "secretRef", "secretRef/name", "provider", "interval", "timeout", "ref",
	"ref/branch", "ref/tag", "ref/semver", "ref/name", "ref/commit", "verify", "verify/mode",
	"verify/secretRef", "verify/secretRef/name", "proxySecretRef", "proxySecretRef/name",
	"ignore", "suspend", "recurseSubmodules", "include", "include[]/repository",
	"include[]/repository/name", "include[]/fromPath", "include[]/toPath", "sparseCheckout",
	NULL,
};
static const struct refusal git_refused[] = {
	{ "provider", "{\"provider\":\"azure\"}", "spec.provider 'azure'" },
	{ "provider", "{\"provider\":\"github\"}", "spec.provider 'github'" },
	{ "serviceAccountName", "{\"serviceAccountName\":\"sa\"}", NULL },
	{ NULL, NULL, NULL },
};
static const char *const git_served[] = { "{}", "{\"provider\":\"generic\"}", NULL };

static const char *const oci_consumed[] = {
	"url", "ref", "ref/digest", "ref/semver", "ref/semverFilter", "ref/tag", "layerSelector",
	"layerSelector/mediaType", "layerSelector/operation", "provider", "secretRef",
	"secretRef/name", "verify", "verify/provider", "verify/secretRef",
	"verify/secretRef/name", "serviceAccountName", "certSecretRef", "certSecretRef/name",
	"proxySecretRef", "proxySecretRef/name", "interval", "timeout", "ignore", "insecure",
	"suspend", NULL,
};
static const struct refusal oci_refused[] = {
	/* Flux logs in with the cloud's identity only when no Secret is given. */
	{ "provider", "{\"provider\":\"azure\"}", "spec.provider 'azure'" },
	{ "verify/provider",
	  "{\"verify\":{\"provider\":\"notation\",\"secretRef\":{\"name\":\"k\"}}}",
	  "spec.verify.provider 'notation'" },
	{ "verify/matchOIDCIdentity",
	  "{\"verify\":{\"provider\":\"cosign\",\"matchOIDCIdentity\":[{\"issuer\":\"i\","
	  "\"subject\":\"s\"}]}}",
	  "keyless verification" },
	{ NULL, NULL, NULL },
};
static const char *const oci_served[] = {
	"{}",
	"{\"provider\":\"generic\"}",
	"{\"provider\":\"azure\",\"secretRef\":{\"name\":\"creds\"}}",
	"{\"verify\":{\"provider\":\"cosign\",\"secretRef\":{\"name\":\"k\"}}}",
	NULL,
};

static const char *const bucket_consumed[] = {
	"provider", "bucketName", "endpoint", "region", "prefix", "insecure", "secretRef",
	"secretRef/name", "certSecretRef", "certSecretRef/name", "proxySecretRef",
	"proxySecretRef/name", "interval", "timeout", "ignore", "suspend", NULL,
};
static const struct refusal bucket_refused[] = {
	{ "sts", "{\"sts\":{\"provider\":\"ldap\",\"endpoint\":\"https://sts\"}}", "spec.sts" },
	{ "serviceAccountName", "{\"serviceAccountName\":\"sa\"}", NULL },
	{ "provider", "{\"provider\":\"gcp\"}", "provider 'gcp'" },
	{ "provider", "{\"provider\":\"aws\"}", "provider 'aws' without spec.secretRef" },
	{ NULL, NULL, NULL },
};
static const char *const bucket_served[] = {
	"{}",
	"{\"provider\":\"generic\"}",
	"{\"provider\":\"azure\"}",
	"{\"provider\":\"aws\",\"secretRef\":{\"name\":\"k\"}}",
	NULL,
};

static const char *const helmrepo_consumed[] = {
	"url", "type", "secretRef", "secretRef/name", "certSecretRef", "certSecretRef/name",
	"passCredentials", "interval", "timeout", "suspend", NULL,
};
static const struct inert helmrepo_inert[] = {
	{ "provider", "type oci only: read by the HelmChart that pulls from it (refused there "
		      "without a secretRef)" },
	{ "insecure", "type oci only: read by the HelmChart that pulls from it" },
	{ "accessFrom", "provisional in Flux's API and not implemented by source-controller" },
	{ NULL, NULL },
};

static const char *const hc_consumed[] = {
	"chart", "version", "sourceRef", "sourceRef/kind", "sourceRef/name", "interval",
	"valuesFiles", "ignoreMissingValuesFiles", "reconcileStrategy", "suspend", "verify",
	"verify/provider", "verify/secretRef", "verify/secretRef/name", NULL,
};
static const struct refusal hc_refused[] = {
	{ "verify/provider", "{\"sourceRef\":{\"kind\":\"HelmRepository\",\"name\":\"r\"},"
	  "\"verify\":{\"provider\":\"notation\",\"secretRef\":{\"name\":\"k\"}}}",
	  "spec.verify.provider 'notation'" },
	{ "verify/secretRef", "{\"sourceRef\":{\"kind\":\"HelmRepository\",\"name\":\"r\"},"
	  "\"verify\":{\"provider\":\"cosign\"}}", "keyless verification" },
	{ "verify/matchOIDCIdentity",
	  "{\"sourceRef\":{\"kind\":\"HelmRepository\",\"name\":\"r\"},"
	  "\"verify\":{\"provider\":\"cosign\",\"matchOIDCIdentity\":[{\"issuer\":\"i\","
	  "\"subject\":\"s\"}]}}", "keyless verification" },
	{ NULL, NULL, NULL },
};
static const struct inert hc_inert[] = {
	{ "sourceRef/apiVersion", "read by no one, in Flux either: the kind picks the source" },
	{ NULL, NULL },
};
static const char *const hc_served[] = {
	"{\"sourceRef\":{\"kind\":\"HelmRepository\",\"name\":\"r\"}}",
	"{\"sourceRef\":{\"kind\":\"GitRepository\",\"name\":\"g\"},"
	"\"valuesFiles\":[\"values.yaml\",\"prod.yaml\"],\"reconcileStrategy\":\"Revision\"}",
	"{\"sourceRef\":{\"kind\":\"Bucket\",\"name\":\"b\"},"
	"\"ignoreMissingValuesFiles\":true}",
	"{\"sourceRef\":{\"kind\":\"HelmRepository\",\"name\":\"r\"},"
	"\"verify\":{\"provider\":\"cosign\",\"secretRef\":{\"name\":\"k\"}}}",
	NULL,
};

static const char *const hr_consumed[] = {
	"chart", "chart/spec", "chart/spec/chart", "chart/spec/version", "chart/spec/sourceRef",
	"chart/spec/sourceRef/apiVersion", "chart/spec/sourceRef/kind",
	"chart/spec/sourceRef/name", "chart/spec/sourceRef/namespace", "chart/spec/interval",
	"chart/spec/reconcileStrategy", "chart/spec/valuesFiles",
	"chart/spec/ignoreMissingValuesFiles", "chart/spec/verify", "chart/spec/verify/provider",
	"chart/spec/verify/secretRef", "chart/spec/verify/secretRef/name", "chartRef", "chartRef/apiVersion",
	"chartRef/kind", "chartRef/name", "chartRef/namespace", "interval", "timeout",
	"suspend", "releaseName", "targetNamespace", "storageNamespace", "serviceAccountName",
	"kubeConfig", "kubeConfig/secretRef", "kubeConfig/secretRef/name", "kubeConfig/secretRef/key",
	"maxHistory", "dependsOn", "dependsOn[]/name", "dependsOn[]/namespace", "install",
	"install/timeout", "install/remediation", "install/remediation/retries",
	"install/remediation/remediateLastFailure",
	"install/disableWait", "install/disableHooks", "install/crds", "install/createNamespace",
	"upgrade", "upgrade/timeout",
	"upgrade/crds",
	"upgrade/remediation", "upgrade/remediation/retries",
	"upgrade/remediation/remediateLastFailure", "upgrade/remediation/strategy",
	"upgrade/disableWait", "upgrade/disableHooks", "rollback", "rollback/disableHooks",
	"rollback/timeout", "uninstall", "uninstall/disableHooks", "uninstall/timeout", "test", "test/enable", "test/timeout",
	"test/ignoreFailures", "driftDetection", "driftDetection/mode", "valuesFrom",
	"valuesFrom[]/kind",
	"valuesFrom[]/name", "valuesFrom[]/valuesKey", "valuesFrom[]/targetPath",
	"valuesFrom[]/optional", "values", "postRenderers", "postRenderers[]/kustomize",
	"postRenderers[]/kustomize/patches", "postRenderers[]/kustomize/patches[]/patch",
	"postRenderers[]/kustomize/patches[]/target",
	"postRenderers[]/kustomize/patches[]/target/group",
	"postRenderers[]/kustomize/patches[]/target/version",
	"postRenderers[]/kustomize/patches[]/target/kind",
	"postRenderers[]/kustomize/patches[]/target/name",
	"postRenderers[]/kustomize/patches[]/target/namespace",
	"postRenderers[]/kustomize/patches[]/target/labelSelector",
	"postRenderers[]/kustomize/patches[]/target/annotationSelector",
	"postRenderers[]/kustomize/images", "postRenderers[]/kustomize/images[]/name",
	"postRenderers[]/kustomize/images[]/newName", "postRenderers[]/kustomize/images[]/newTag",
	"postRenderers[]/kustomize/images[]/digest", "commonMetadata", "commonMetadata/labels",
	"commonMetadata/annotations",
	/* the actions' other options */
	"install/disableWaitForJobs", "install/disableSchemaValidation", "install/replace",
	"install/disableTakeOwnership", "install/remediation/ignoreTestFailures", "install/strategy",
	"install/strategy/name", "install/strategy/retryInterval", "upgrade/disableWaitForJobs",
	"upgrade/disableSchemaValidation", "upgrade/disableTakeOwnership", "upgrade/force",
	"upgrade/cleanupOnFail", "upgrade/preserveValues", "upgrade/remediation/ignoreTestFailures",
	"upgrade/strategy", "upgrade/strategy/name", "upgrade/strategy/retryInterval",
	"rollback/disableWait", "rollback/disableWaitForJobs", "rollback/force",
	"rollback/cleanupOnFail", "rollback/recreate", "uninstall/disableWait",
	"uninstall/keepHistory", "uninstall/deletionPropagation", "test/filters",
	"test/filters[]/name", "test/filters[]/exclude", "driftDetection/ignore",
	"driftDetection/ignore[]/paths", "driftDetection/ignore[]/target",
	"driftDetection/ignore[]/target/group", "driftDetection/ignore[]/target/version",
	"driftDetection/ignore[]/target/kind", "driftDetection/ignore[]/target/name",
	"driftDetection/ignore[]/target/namespace",
	"driftDetection/ignore[]/target/labelSelector",
	"driftDetection/ignore[]/target/annotationSelector", NULL,
};
static const struct refusal hr_refused[] = { { NULL, NULL, NULL } };
static const struct inert hr_inert[] = {
	{ "persistentClient", "whether helm-controller keeps a client per release; ours is always "
			      "kept, and nothing a user sees differs" },
	{ "install/skipCRDs", "deprecated; helm-controller v2 ignores it too (install.crds rules)" },
	{ NULL, NULL },
};
static const char *const hr_served[] = {
	"{\"chartRef\":{\"apiVersion\":\"source.toolkit.fluxcd.io/v1\",\"kind\":\"OCIRepository\","
	"\"name\":\"c\"}}",
	"{\"chart\":{\"spec\":{\"chart\":\"c\",\"sourceRef\":{\"apiVersion\":"
	"\"source.toolkit.fluxcd.io/v1\",\"kind\":\"HelmRepository\",\"name\":\"r\"}}}}",
	"{\"upgrade\":{\"remediation\":{\"strategy\":\"rollback\"}}}",
	"{\"upgrade\":{\"remediation\":{\"strategy\":\"uninstall\"}},\"install\":"
	"{\"remediation\":{\"retries\":2,\"remediateLastFailure\":false}}}",
	NULL,
};

static const char *const fc_consumed[] = {
	"scope", "namespace", "sourceKind", "suspend", "waitForReconciliation",
	"reconciliationWaitDuration", "protectedSettingsSecretRef",
	"protectedSettingsSecretRef/name", "gitRepository", "gitRepository/url",
	"gitRepository/timeoutInSeconds", "gitRepository/syncIntervalInSeconds",
	"gitRepository/repositoryRef", "gitRepository/repositoryRef/branch",
	"gitRepository/repositoryRef/tag", "gitRepository/repositoryRef/semver",
	"gitRepository/repositoryRef/commit", "gitRepository/sshKnownHosts",
	"gitRepository/httpsUser", "gitRepository/httpsCACert", "gitRepository/localAuthRef",
	"gitRepository/provider", "ociRepository", "ociRepository/url",
	"ociRepository/timeoutInSeconds", "ociRepository/syncIntervalInSeconds",
	"ociRepository/repositoryRef", "ociRepository/repositoryRef/tag",
	"ociRepository/repositoryRef/semver", "ociRepository/repositoryRef/digest",
	"ociRepository/layerSelector", "ociRepository/layerSelector/mediaType",
	"ociRepository/layerSelector/operation", "ociRepository/verify",
	"ociRepository/verify/provider", "ociRepository/verify/verificationConfig",
	"ociRepository/verify/matchOidcIdentity",
	"ociRepository/verify/matchOidcIdentity[]/issuer",
	"ociRepository/verify/matchOidcIdentity[]/subject", "ociRepository/insecure",
	"ociRepository/useWorkloadIdentity", "ociRepository/serviceAccountName",
	"ociRepository/localAuthRef", "ociRepository/tlsConfig",
	"ociRepository/tlsConfig/caCertificate", "ociRepository/tlsConfig/clientCertificate",
	"ociRepository/tlsConfig/privateKey", "bucket", "bucket/url", "bucket/bucketName",
	"bucket/insecure", "bucket/timeoutInSeconds", "bucket/syncIntervalInSeconds",
	"bucket/accessKey", "bucket/localAuthRef", "azureBlob", "azureBlob/url",
	"azureBlob/containerName", "azureBlob/timeoutInSeconds",
	"azureBlob/syncIntervalInSeconds", "azureBlob/servicePrincipal",
	"azureBlob/servicePrincipal/clientId", "azureBlob/servicePrincipal/tenantId",
	"azureBlob/servicePrincipal/clientCertificateSendChain", "azureBlob/managedIdentity",
	"azureBlob/managedIdentity/clientId", "azureBlob/localAuthRef", "kustomizations", NULL,
};
#define FC_OCI "\"sourceKind\":\"OCIRepository\",\"ociRepository\":{\"url\":\"oci://r/a\","
static const struct refusal fc_refused[] = {
	{ "ociRepository/useWorkloadIdentity", "{" FC_OCI "\"useWorkloadIdentity\":true}}",
	  "spec.ociRepository.useWorkloadIdentity" },
	{ "reconciliationWaitDuration",
	  "{\"gitRepository\":{\"url\":\"https://g/r\"},\"reconciliationWaitDuration\":\"30m\"}",
	  "reconciliationWaitDuration \"30m\"" },
	{ NULL, NULL, NULL },
};
static const char *const fc_served[] = {
	"{\"gitRepository\":{\"url\":\"https://g/r\",\"provider\":\"Azure\"},"
	"\"waitForReconciliation\":true,\"reconciliationWaitDuration\":\"PT30M\"}",
	"{" FC_OCI "\"useWorkloadIdentity\":false}}",
	NULL,
};

static const char *const ext_consumed[] = {
	"extensionType", "autoUpgradeMinorVersion", "autoUpgradeMode", "releaseTrain", "version",
	"scope", "scope/cluster", "scope/cluster/releaseNamespace", "configurationSettings",
	"protectedSettingsSecretRef", "protectedSettingsSecretRef/name",
	"protectedSettingsSecretRef/namespace", NULL,
};
static const struct refusal ext_refused[] = {
	{ "scope/namespace", "{\"scope\":{\"namespace\":{\"targetNamespace\":\"x\"}}}",
	  "scope.namespace" },
	{ "scope/cluster/releaseNamespace",
	  "{\"scope\":{\"cluster\":{\"releaseNamespace\":\"x\"}}}", "releaseNamespace \"x\"" },
	{ "version", "{\"version\":\"1.3.0\"}", "version \"1.3.0\" is pinned" },
	{ "version", "{\"version\":\"1.4\"}", "version \"1.4\" is pinned" },
	{ NULL, NULL, NULL },
};
static const char *const ext_served[] = {
	"{}",
	"{\"version\":\"1.4.0\"}",
	"{\"version\":\"1.4.0+abc\"}",
	"{\"scope\":{\"cluster\":{\"releaseNamespace\":\"flux-system\"}}}",
	NULL,
};

static const struct refusal none_refused[] = { { NULL, NULL, NULL } };
static const struct inert none_inert[] = { { NULL, NULL } };
static const char *const none_served[] = { NULL };

/* Notifications: Provider and Alert (v1beta3, static), Receiver (v1). */
static const char *const provider_consumed[] = {
	"type", "channel", "username", "address", "timeout", "proxy", "proxySecretRef",
	"proxySecretRef/name", "secretRef", "secretRef/name", "certSecretRef",
	"certSecretRef/name", "suspend", NULL,
};
static const struct refusal provider_refused[] = {
	{ "type", "{\"type\":\"rocket\"}", "spec.type 'rocket'" },
	{ "serviceAccountName", "{\"type\":\"generic\",\"serviceAccountName\":\"sa\"}", NULL },
	/* A CEL expression: cflux has no CEL; refused rather than the default context used. */
	{ "commitStatusExpr", "{\"type\":\"github\",\"commitStatusExpr\":\"x\"}",
	  "spec.commitStatusExpr" },
	{ NULL, NULL, NULL },
};
static const struct inert provider_inert[] = {
	{ "interval", "deprecated in v1beta3 and unused by Flux's notification-controller" },
	{ NULL, NULL },
};
static const char *const provider_served[] = {
	"{\"type\":\"generic\"}", "{\"type\":\"generic-hmac\"}", "{\"type\":\"slack\"}",
	"{\"type\":\"msteams\"}", "{\"type\":\"discord\"}", "{\"type\":\"github\"}",
	"{\"type\":\"gitlab\"}", "{\"type\":\"gitea\"}", NULL,
};
static const char *const alert_consumed[] = {
	"providerRef", "providerRef/name", "eventSeverity", "eventSources",
	"eventSources[]/kind", "eventSources[]/name", "eventSources[]/namespace",
	"eventSources[]/matchLabels", "inclusionList", "exclusionList", "eventMetadata",
	"summary", "suspend", NULL,
};
static const struct inert alert_inert[] = {
	{ "eventSources[]/apiVersion", "Flux's event server matches by kind, name and namespace only" },
	{ NULL, NULL },
};
static const char *const receiver_consumed[] = {
	"type", "interval", "events", "resources", "resources[]/kind", "resources[]/name",
	"resources[]/namespace", "resources[]/matchLabels", "secretRef", "secretRef/name",
	"suspend", NULL,
};
static const struct refusal receiver_refused[] = {
	{ "resourceFilter", "{\"type\":\"generic\",\"resourceFilter\":\"true\"}", NULL },
	{ "resources[]/filter",
	  "{\"type\":\"generic\",\"resources\":[{\"kind\":\"GitRepository\",\"name\":\"a\","
	  "\"filter\":\"true\"}]}",
	  "spec.resources[0].filter" },
	/* The CRD's CEL allows them with generic-oidc only, which cflux does not answer. */
	{ "oidcProviders", "{\"type\":\"generic-oidc\",\"oidcProviders\":[]}",
	  "spec.type 'generic-oidc'" },
	{ "type", "{\"type\":\"bitbucket\"}", "spec.type 'bitbucket'" },
	{ NULL, NULL, NULL },
};
static const struct inert receiver_inert[] = {
	{ "resources[]/apiVersion", "the same object at every served version: cflux annotates it "
				    "through the kind's current version" },
	{ NULL, NULL },
};
static const char *const receiver_served[] = {
	"{\"type\":\"generic\"}", "{\"type\":\"generic-hmac\"}", "{\"type\":\"github\"}",
	"{\"type\":\"gitlab\"}", NULL,
};

static const struct kind kinds[] = {
	{ "source.toolkit.fluxcd.io_gitrepositories.yaml", git_consumed, git_refused, none_inert,
	  git_served, gitrepository_unsupported, false },
	{ "source.toolkit.fluxcd.io_ocirepositories.yaml", oci_consumed, oci_refused, none_inert,
	  oci_served, ocirepository_unsupported, false },
	{ "source.toolkit.fluxcd.io_buckets.yaml", bucket_consumed, bucket_refused, none_inert,
	  bucket_served, bucket_unsupported, false },
	{ "source.toolkit.fluxcd.io_helmrepositories.yaml", helmrepo_consumed, none_refused,
	  helmrepo_inert, none_served, no_check, false },
	{ "source.toolkit.fluxcd.io_helmcharts.yaml", hc_consumed, hc_refused, hc_inert,
	  hc_served, hc_check, false },
	{ "helm.toolkit.fluxcd.io_helmreleases.yaml", hr_consumed, hr_refused, hr_inert,
	  hr_served, hr_check, true },
	{ "clusterconfig.cflux.io_fluxconfigurations.yaml", fc_consumed, fc_refused, none_inert,
	  fc_served, fc_check, false },
	{ "clusterconfig.cflux.io_extensions.yaml", ext_consumed, ext_refused, none_inert,
	  ext_served, ext_check, false },
	{ "notification.toolkit.fluxcd.io_providers.yaml", provider_consumed, provider_refused,
	  provider_inert, provider_served, provider_check, false },
	{ "notification.toolkit.fluxcd.io_alerts.yaml", alert_consumed, none_refused, alert_inert,
	  none_served, no_check, false },
	{ "notification.toolkit.fluxcd.io_receivers.yaml", receiver_consumed, receiver_refused,
	  receiver_inert, receiver_served, receiver_unsupported, false },
};

/* ---- the walk ---- */

static bool in_list(const char *const *l, const char *path)
{
	for (; *l; l++)
		if (streq(*l, path))
			return true;
	return false;
}

/* `path` is `field` or lies under it. */
static bool under(const char *path, const char *field)
{
	size_t n = strlen(field);

	return strncmp(path, field, n) == 0 &&
	       (path[n] == '\0' || path[n] == '/' || path[n] == '[');
}

/* "a/b[]/c" as the checks name it: "spec.a.b.c". */
static char *dotted(const char *path)
{
	struct buf b = BUF_INIT(1024);

	buf_adds(&b, "spec.");
	for (; *path; path++)
		if (*path == '/')
			buf_addch(&b, '.');
		else if (*path != '[' && *path != ']')
			buf_addch(&b, *path);
	return buf_detach(&b, NULL);
}

/* A value of schema `sch`'s type. */
static cJSON *sample(const cJSON *sch)
{
	const char *type = yj_get_str(sch, "/type");
	const cJSON *en = yj_get(sch, "/enum");

	if (cJSON_GetArraySize(en) > 0)
		return cJSON_Duplicate(cJSON_GetArrayItem(en, 0), 1);
	if (streq_ptr(type, "boolean"))
		return cJSON_CreateTrue();
	if (streq_ptr(type, "integer") || streq_ptr(type, "number"))
		return cJSON_CreateNumber(1);
	if (streq_ptr(type, "array")) {
		cJSON *a = cJSON_CreateArray();

		cJSON_AddItemToArray(a, sample(yj_get(sch, "/items")));
		return a;
	}
	if (streq_ptr(type, "object")) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "x", "y");
		return o;
	}
	return cJSON_CreateString("x");
}

/* A spec that sets `path` ("a/b[]/c" of `spec_schema`), with a value of its type. */
static cJSON *synth(const cJSON *spec_schema, const char *path)
{
	cJSON *root = cJSON_CreateObject(), *cur = root;
	const cJSON *sch = spec_schema;
	char *p = xstrdup(path), *save = NULL, *seg, *next;

	for (seg = strtok_r(p, "/", &save); seg; seg = next) {
		size_t n = strlen(seg);
		bool arr = n > 2 && streq(seg + n - 2, "[]");

		if (arr)
			seg[n - 2] = '\0';
		next = strtok_r(NULL, "/", &save);
		sch = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(sch, "properties"), seg);
		if (!next) {
			cJSON_AddItemToObject(cur, seg, sample(sch));
		} else if (arr) {
			cJSON *item = cJSON_CreateObject();

			cJSON_AddItemToArray(cJSON_AddArrayToObject(cur, seg), item);
			cur = item;
			sch = yj_get(sch, "/items");
		} else {
			cur = cJSON_AddObjectToObject(cur, seg);
		}
	}
	free(p);
	return root;
}

/* The shortest prefix of `path` ("a/b[]/c") that `consumed` does not list: malloc'd. */
static char *first_unlisted(const char *const *consumed, const char *path)
{
	size_t i, n = strlen(path);

	for (i = 1; i <= n; i++) {
		if (i < n && path[i] != '/' && path[i] != '[')
			continue;
		{
			char *pre = xstrndup(path, i);

			if (!in_list(consumed, pre))
				return pre;
			free(pre);
		}
	}
	return xstrdup(path);
}

/* Check one field of kind `k`: listed somewhere, or (refuses_the_rest) refused by name. */
static void check_field(const struct kind *k, const cJSON *spec_schema, const char *path)
{
	char msg[1024];
	size_t i;
	cJSON *spec;
	char *first, *want;

	if (in_list(k->consumed, path))
		return;
	for (i = 0; k->inert[i].field; i++)
		if (under(path, k->inert[i].field))
			return;
	for (i = 0; k->refused[i].field; i++)
		if (under(path, k->refused[i].field))
			return;
	if (!k->refuses_the_rest)
		harness__fail(__FILE__, __LINE__, "%s: spec field '%s' is neither read, refused "
			      "nor inert", k->crd, path);
	spec = synth(spec_schema, path);
	first = first_unlisted(k->consumed, path);
	want = dotted(first);
	if (!k->check(spec, msg, sizeof(msg)))
		harness__fail(__FILE__, __LINE__, "%s: spec field '%s' is not refused", k->crd,
			      path);
	if (!strstr(msg, want))
		harness__fail(__FILE__, __LINE__, "%s: setting '%s' is refused as '%s', not naming "
			      "'%s'", k->crd, path, msg, want);
	free(want);
	free(first);
	cJSON_Delete(spec);
}

static size_t walk(const struct kind *k, const cJSON *spec_schema, const cJSON *schema,
		   const char *prefix)
{
	const cJSON *p;
	size_t n = 0;

	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(schema, "properties")) {
		char *path = *prefix ? xasprintf("%s/%s", prefix, p->string) : xstrdup(p->string);
		const char *type = yj_get_str(p, "/type");

		check_field(k, spec_schema, path);
		n++;
		if (type && streq(type, "object")) {
			n += walk(k, spec_schema, p, path);
		} else if (type && streq(type, "array")) {
			char *items = xasprintf("%s[]", path);

			n += walk(k, spec_schema, cJSON_GetObjectItemCaseSensitive(p, "items"), items);
			free(items);
		}
		free(path);
	}
	return n;
}

static cJSON *read_crd(const char *name)
{
	char *file = xasprintf("%s/../../crds/%s", harness_datadir(), name);
	char *data = NULL;
	size_t len = 0;
	cJSON *crd = NULL;
	struct op_err err = OP_ERR_INIT;

	ASSERT_OK(path_read_file(file, (size_t)16 << 20, &data, &len));
	ASSERT_OK(yj_parse_one(data, len, &crd, &err));
	free(data);
	free(file);
	return crd;
}

TEST(every_served_field_is_read_refused_or_inert)
{
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		cJSON *crd = read_crd(kinds[i].crd);
		const cJSON *v;
		size_t versions = 0;

		cJSON_ArrayForEach(v, yj_get(crd, "/spec/versions")) {
			const cJSON *spec = yj_get(v, "/schema/openAPIV3Schema/properties/spec");

			if (!cJSON_IsTrue(yj_get(v, "/served")))
				continue;
			ASSERT_NOT_NULL(spec);
			ASSERT(walk(&kinds[i], spec, spec, "") > 0);
			versions++;
		}
		ASSERT(versions >= 1);
		cJSON_Delete(crd);
	}
}

TEST(each_refusal_names_its_field)
{
	char msg[1024];

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		const struct kind *k = &kinds[i];

		for (const struct refusal *r = k->refused; r->field; r++) {
			cJSON *spec = cJSON_Parse(r->spec);
			char *want = r->named ? xstrdup(r->named) : dotted(r->field);

			ASSERT_NOT_NULL(spec);
			if (!k->check(spec, msg, sizeof(msg)))
				harness__fail(__FILE__, __LINE__, "%s: %s is not refused", k->crd,
					      r->spec);
			if (!strstr(msg, want))
				harness__fail(__FILE__, __LINE__, "%s: %s is refused as '%s', not "
					      "naming '%s'", k->crd, r->spec, msg, want);
			free(want);
			cJSON_Delete(spec);
		}
	}
}

TEST(what_is_served_is_not_refused)
{
	char msg[1024];

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		const struct kind *k = &kinds[i];

		for (const char *const *s = k->served; *s; s++) {
			cJSON *spec = cJSON_Parse(*s);

			ASSERT_NOT_NULL(spec);
			if (k->check(spec, msg, sizeof(msg)))
				harness__fail(__FILE__, __LINE__, "%s: %s is refused: %s", k->crd, *s,
					      msg);
			cJSON_Delete(spec);
		}
	}
}
