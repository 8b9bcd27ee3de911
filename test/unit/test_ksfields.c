/*
 * test_ksfields.c: no Kustomization spec field is accepted and then
 * ignored.  Every field of the served kustomize.toolkit.fluxcd.io/v1
 * schema (crds/) is either in the list of fields the reconciler reads
 * or in the list it refuses; each refused one makes
 * kustomization_unsupported() name it (the object is then Stalled).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/path.h"
#include "base/str.h"
#include "operator/controllers.h"
#include "harness.h"
#include "yj/yj.h"

/* Read by operator/ctl_kustomization.c or lib/kustomize (kz_flux_build). */
static const char *const consumed[] = {
	"sourceRef", "sourceRef/apiVersion", "sourceRef/kind", "sourceRef/name",
	"sourceRef/namespace", "path", "interval", "retryInterval", "timeout", "prune",
	"deletionPolicy", "force", "wait", "suspend", "serviceAccountName", "targetNamespace",
	"namePrefix", "nameSuffix", "commonMetadata", "commonMetadata/labels",
	"commonMetadata/annotations", "components", "ignoreMissingComponents", "images",
	"images[]/name", "images[]/newName", "images[]/newTag", "images[]/digest", "patches",
	"patches[]/patch", "patches[]/target", "patches[]/target/group",
	"patches[]/target/version", "patches[]/target/kind", "patches[]/target/name",
	"patches[]/target/namespace", "patches[]/target/labelSelector",
	"patches[]/target/annotationSelector", "postBuild", "postBuild/substitute",
	"postBuild/substituteFrom", "postBuild/substituteFrom[]/kind",
	"postBuild/substituteFrom[]/name", "postBuild/substituteFrom[]/optional", "dependsOn",
	"dependsOn[]/name", "dependsOn[]/namespace", "healthChecks", "healthChecks[]/apiVersion",
	"healthChecks[]/kind", "healthChecks[]/name", "healthChecks[]/namespace",
	"decryption", "decryption/provider", "decryption/secretRef", "decryption/secretRef/name",
	"kubeConfig", "kubeConfig/secretRef", "kubeConfig/secretRef/name",
	"kubeConfig/secretRef/key",
};

/* Refused: a spec that sets one (as given here) is Stalled with the field named. */
static const struct {
	const char *field; /* the schema path (and what is under it) */
	const char *spec;  /* a spec setting it */
	const char *named; /* what the message must say */
} refused[] = {
	{ "healthCheckExprs",
	  "{\"healthCheckExprs\":[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
	  "\"current\":\"true\"}]}",
	  "spec.healthCheckExprs" },
	{ "dependsOn[]/readyExpr", "{\"dependsOn\":[{\"name\":\"a\"},{\"name\":\"b\","
				   "\"readyExpr\":\"dep.status.x\"}]}",
	  "spec.dependsOn[].readyExpr (of 'b')" },
	{ "decryption/serviceAccountName",
	  "{\"decryption\":{\"provider\":\"sops\",\"serviceAccountName\":\"kms\"}}",
	  "spec.decryption.serviceAccountName" },
	{ "decryption/provider", "{\"decryption\":{\"provider\":\"vault\"}}",
	  "spec.decryption.provider 'vault'" },
	{ "kubeConfig/configMapRef", "{\"kubeConfig\":{\"configMapRef\":{\"name\":\"kc\"}}}",
	  "spec.kubeConfig.configMapRef" },
};

static bool listed(const char *path)
{
	for (size_t i = 0; i < ARRAY_SIZE(consumed); i++)
		if (streq(path, consumed[i]))
			return true;
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
		size_t n = strlen(refused[i].field);

		if (strncmp(path, refused[i].field, n) == 0 &&
		    (path[n] == '\0' || path[n] == '/' || path[n] == '['))
			return true;
	}
	return false;
}

static size_t walk(const cJSON *schema, const char *prefix)
{
	const cJSON *p;
	size_t n = 0;

	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(schema, "properties")) {
		char *path = *prefix ? xasprintf("%s/%s", prefix, p->string) : xstrdup(p->string);
		const char *type = yj_get_str(p, "/type");

		if (!listed(path))
			harness__fail(__FILE__, __LINE__, "spec field '%s' is neither read nor refused",
				     path);
		n++;
		if (type && streq(type, "object")) {
			n += walk(p, path);
		} else if (type && streq(type, "array")) {
			char *items = xasprintf("%s[]", path);

			n += walk(cJSON_GetObjectItemCaseSensitive(p, "items"), items);
			free(items);
		}
		free(path);
	}
	return n;
}

TEST(every_served_field_is_read_or_refused)
{
	char *file = xasprintf("%s/../../crds/kustomize.toolkit.fluxcd.io_kustomizations.yaml",
			       harness_datadir());
	char *data = NULL;
	size_t len = 0, versions = 0;
	const cJSON *v;
	cJSON *crd = NULL;
	struct op_err err = OP_ERR_INIT;

	ASSERT_OK(path_read_file(file, (size_t)16 << 20, &data, &len));
	ASSERT_OK(yj_parse_one(data, len, &crd, &err));
	cJSON_ArrayForEach(v, yj_get(crd, "/spec/versions")) {
		const cJSON *spec = yj_get(v, "/schema/openAPIV3Schema/properties/spec");

		if (!cJSON_IsTrue(yj_get(v, "/served")))
			continue;
		ASSERT_NOT_NULL(spec);
		/* as many fields as Flux 2.7's v1 has, at least */
		ASSERT(walk(spec, "") >= ARRAY_SIZE(consumed));
		versions++;
	}
	ASSERT(versions >= 1);
	cJSON_Delete(crd);
	free(data);
	free(file);
}

TEST(each_refused_field_is_named)
{
	char msg[600];

	for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
		cJSON *spec = cJSON_Parse(refused[i].spec);

		ASSERT_NOT_NULL(spec);
		ASSERT_NOT_NULL(kustomization_unsupported(spec, msg, sizeof(msg)));
		ASSERT_CONTAINS(msg, refused[i].named);
		cJSON_Delete(spec);
	}
}

TEST(what_is_read_is_not_refused)
{
	static const char *const ok[] = {
		"{}",
		"{\"deletionPolicy\":\"MirrorPrune\",\"prune\":true}",
		"{\"deletionPolicy\":\"Delete\"}",
		"{\"deletionPolicy\":\"Orphan\"}",
		"{\"deletionPolicy\":\"WaitForTermination\"}",
		"{\"healthCheckExprs\":[],\"decryption\":null,\"kubeConfig\":null}",
		"{\"dependsOn\":[{\"name\":\"a\",\"readyExpr\":\"\"}],\"wait\":true}",
		"{\"decryption\":{\"provider\":\"sops\",\"secretRef\":{\"name\":\"k\"}}}",
		"{\"decryption\":{\"provider\":\"sops\",\"serviceAccountName\":\"\"}}",
		"{\"kubeConfig\":{\"secretRef\":{\"name\":\"kc\",\"key\":\"value\"}}}",
	};
	char msg[600];

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		cJSON *spec = cJSON_Parse(ok[i]);

		ASSERT_NOT_NULL(spec);
		ASSERT_NULL(kustomization_unsupported(spec, msg, sizeof(msg)));
		cJSON_Delete(spec);
	}
}
