/*
 * test_helmchart.c: operator/ctl_helmchart.c — the version pick from an
 * OCI repository's tags, as Helm's Tags() and Flux's
 * getLastMatchingVersionOrConstraint make it, and the refusals.
 */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "operator/controllers.h"

static const char *const tags[] = {
	"0.1.0", "0.2.0", "0.10.0", "1.0.0-rc.1", "latest", "v2.0.0", "1.0", "0.3.0_build.1",
	"01.0.0",
};

static char *pick(const char *want, int *ret)
{
	struct op_err e = OP_ERR_INIT;
	char *v = NULL;

	*ret = helmchart_oci_pick(tags, ARRAY_SIZE(tags), want, &v, &e);
	if (*ret == -ENOENT)
		ASSERT_CONTAINS(e.msg, "could not locate a version matching provided version string");
	return v;
}

TEST(oci_tags_pick_as_flux)
{
	int r;
	char *v;

	/* The highest stable strict-semver tag: not "v2.0.0", "1.0", "01.0.0", nor the rc. */
	v = pick("*", &r);
	ASSERT_EQ(r, 0);
	ASSERT_STREQ(v, "0.10.0");
	free(v);
	v = pick("", &r);
	ASSERT_STREQ(v, "0.10.0");
	free(v);
	v = pick(NULL, &r);
	ASSERT_STREQ(v, "0.10.0");
	free(v);
	/* Build metadata written "_" in the tag reads "+". */
	v = pick("0.3.x", &r);
	ASSERT_EQ(r, 0);
	ASSERT_STREQ(v, "0.3.0+build.1");
	free(v);
	v = pick("0.3.0+build.1", &r);
	ASSERT_STREQ(v, "0.3.0+build.1");
	free(v);
	/* A range that admits prereleases. */
	v = pick(">=1.0.0-0", &r);
	ASSERT_EQ(r, 0);
	ASSERT_STREQ(v, "1.0.0-rc.1");
	free(v);
	v = pick("<0.10.0", &r);
	ASSERT_STREQ(v, "0.3.0+build.1");
	free(v);
	ASSERT_NULL(pick("5.x", &r));
	ASSERT_EQ(r, -ENOENT);
	ASSERT_NULL(pick("not a range!", &r));
	ASSERT_EQ(r, -EINVAL);
}

TEST(oci_tags_without_a_version)
{
	static const char *const none[] = { "latest", "main", "v1.0.0" };
	struct op_err e = OP_ERR_INIT;
	char *v = NULL;

	ASSERT_EQ(helmchart_oci_pick(none, ARRAY_SIZE(none), "*", &v, &e), -ENODATA);
	ASSERT_NULL(v);
	ASSERT_EQ(helmchart_oci_pick(NULL, 0, "1.0.0", &v, &e), -ENODATA);
}

TEST(oci_repository_provider_needs_a_secret)
{
	cJSON *spec = cJSON_Parse("{\"url\":\"oci://r/c\",\"type\":\"oci\",\"provider\":\"azure\"}");
	char msg[512];

	ASSERT_STREQ(helmchart_oci_unsupported(spec, "charts", msg, sizeof(msg)),
		     "InvalidProviderConfiguration");
	ASSERT_CONTAINS(msg, "spec.provider 'azure'");
	cJSON_AddItemToObject(spec, "secretRef", cJSON_Parse("{\"name\":\"creds\"}"));
	ASSERT_NULL(helmchart_oci_unsupported(spec, "charts", msg, sizeof(msg)));
	cJSON_Delete(spec);
}
