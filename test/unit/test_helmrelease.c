/*
 * test_helmrelease.c: operator/ctl_helmrelease.c — Flux's release name
 * rule and the refusal of spec fields the reconciler does not implement.
 */
#include <string.h>

#include "harness.h"
#include "operator/controllers.h"
#include "yj/yj.h"

TEST(release_name_rule)
{
	char *n;

	n = helmrelease_name("podinfo", NULL, NULL);
	ASSERT_STREQ(n, "podinfo");
	free(n);
	n = helmrelease_name("podinfo", "", "apps");
	ASSERT_STREQ(n, "apps-podinfo");
	free(n);
	n = helmrelease_name("podinfo", "mine", "apps");
	ASSERT_STREQ(n, "mine");
	free(n);
	/* 53 characters stay as they are. */
	n = helmrelease_name("a2345678901234567890123456789012345678901234567890123", NULL, NULL);
	ASSERT_EQ(strlen(n), 53);
	free(n);
	/*
	 * 54: the first 40, '-', 12 hex of sha256 of the whole name (Flux's
	 * ShortenName; sha256 of the 54 characters below computed with sha256sum).
	 */
	n = helmrelease_name("a23456789012345678901234567890123456789012345678901234", NULL, NULL);
	ASSERT_EQ(strlen(n), 53);
	ASSERT(strncmp(n, "a234567890123456789012345678901234567890-", 41) == 0);
	{
		char hex[65];
		const char *full = "a23456789012345678901234567890123456789012345678901234";

		yj_sha256_hex(full, strlen(full), hex);
		ASSERT(strncmp(n + 41, hex, 12) == 0);
	}
	free(n);
}

static bool refused(const char *json, char *path)
{
	cJSON *spec = cJSON_Parse(json);
	bool r = helmrelease_unsupported(spec, path, 300);

	cJSON_Delete(spec);
	return r;
}

TEST(unsupported_fields_are_named)
{
	char path[300];

	ASSERT(!refused("{\"interval\":\"5m\",\"chartRef\":{\"kind\":\"OCIRepository\",\"name\":"
			"\"x\"},\"values\":{\"anything\":{\"goes\":1}},\"valuesFrom\":[{\"kind\":"
			"\"ConfigMap\",\"name\":\"v\",\"targetPath\":\"a.b\"}],\"upgrade\":{"
			"\"remediation\":{\"retries\":1}}}",
			path));
	ASSERT(!refused("{\"interval\":\"5m\",\"test\":{\"enable\":true,\"timeout\":\"1m\"},"
			"\"rollback\":{\"disableHooks\":true},\"uninstall\":{\"disableHooks\":true}}",
			path));
	ASSERT(!refused("{\"test\":{\"enable\":true,\"filters\":[{\"name\":\"t\",\"exclude\":"
			"true}]},\"rollback\":{\"cleanupOnFail\":true,\"force\":true,\"disableWait\":"
			"true,\"disableWaitForJobs\":true},\"uninstall\":{\"keepHistory\":true,"
			"\"deletionPropagation\":\"orphan\",\"disableWait\":true},\"install\":{"
			"\"replace\":true,\"disableSchemaValidation\":true,\"skipCRDs\":true,"
			"\"remediation\":{\"ignoreTestFailures\":true}},\"upgrade\":{\"force\":true,"
			"\"cleanupOnFail\":true,\"remediation\":{\"ignoreTestFailures\":false}},"
			"\"driftDetection\":{\"mode\":\"warn\",\"ignore\":[{\"paths\":[\"/spec/replicas\"],"
			"\"target\":{\"kind\":\"Deployment\"}}]},\"persistentClient\":false}",
			path));
	ASSERT(!refused("{\"install\":{\"crds\":\"Skip\"},\"upgrade\":{\"crds\":\"CreateReplace\"}}",
			path));
	ASSERT(!refused("{\"upgrade\":{\"disableTakeOwnership\":true,\"preserveValues\":true},"
			"\"install\":{\"disableTakeOwnership\":true},\"rollback\":{\"recreate\":true}}",
			path));
	ASSERT(refused("{\"upgrade\":{\"disableOpenAPIValidation\":true}}", path));
	ASSERT_STREQ(path, "spec.upgrade.disableOpenAPIValidation");
	ASSERT(!refused("{\"install\":{\"strategy\":{\"name\":\"RetryOnFailure\"}},\"upgrade\":{"
			"\"strategy\":{\"name\":\"RetryOnFailure\",\"retryInterval\":\"1m\"}}}", path));
	ASSERT(refused("{\"install\":{\"disableOpenAPIValidation\":true}}", path));
	ASSERT_STREQ(path, "spec.install.disableOpenAPIValidation");
	ASSERT(!refused("{\"kubeConfig\":{\"secretRef\":{\"name\":\"k\",\"key\":\"v\"}}}", path));
	ASSERT(refused("{\"kubeConfig\":{\"configMapRef\":{\"name\":\"k\"}}}", path));
	ASSERT_STREQ(path, "spec.kubeConfig.configMapRef");
	ASSERT(refused("{\"driftDetection\":{\"ignore\":[{\"paths\":[\"/a\"],\"extra\":1}]}}",
		       path));
	ASSERT_STREQ(path, "spec.driftDetection.ignore.extra");
	ASSERT(refused("{\"valuesFrom\":[{\"kind\":\"Secret\",\"name\":\"s\"},{\"kind\":"
		       "\"Secret\",\"name\":\"t\",\"literal\":true}]}",
		       path));
	ASSERT_STREQ(path, "spec.valuesFrom.literal");
	/* verify goes to the HelmChart; keyless identities are refused on the way. */
	ASSERT(!refused("{\"chart\":{\"spec\":{\"chart\":\"c\",\"verify\":{\"provider\":"
			"\"cosign\",\"secretRef\":{\"name\":\"k\"}}}}}", path));
	ASSERT(refused("{\"chart\":{\"spec\":{\"chart\":\"c\",\"verify\":{\"provider\":"
		       "\"cosign\",\"matchOIDCIdentity\":[]}}}}", path));
	ASSERT_STREQ(path, "spec.chart.spec.verify.matchOIDCIdentity");
}
