/*
 * test_extension.c: operator/ctl_extension.c — Azure's microsoft.flux
 * configurationSettings read into the operator's settings.
 */
#include <string.h>

#include "harness.h"
#include "operator/controllers.h"

static const struct ext_settings base = {
	.source_enabled = true, .kustomize_enabled = true, .helm_enabled = true, .source_concurrent = 2,
	.kustomize_concurrent = 4, .requeue_dependency_ms = 30000,
};

static int parse(const char *json, struct ext_settings *s, char *err, cJSON **notes)
{
	cJSON *j = cJSON_Parse(json);
	int r;

	ASSERT_NOT_NULL(j);
	*s = base;
	*notes = cJSON_CreateArray();
	r = ext_parse_settings(j, s, err, 512, *notes);
	cJSON_Delete(j);
	return r;
}

TEST(known_keys)
{
	struct ext_settings s;
	char err[512];
	cJSON *notes;

	ASSERT_OK(parse("{\"kustomize-controller.enabled\":\"false\",\"source-controller.enabled\":"
			"\"TRUE\",\"kustomize-controller.concurrent\":\"12\",\"kustomize-controller."
			"requeue-dependency\":\"5s\",\"multiTenancy.enforce\":\"true\","
			"\"kustomize-controller.strict-substitution-mode\":\"true\","
			"\"source-controller.log-level\":\"error\",\"kustomize-controller.log-level\":"
			"\"debug\"}",
			&s, err, &notes));
	ASSERT(!s.kustomize_enabled);
	ASSERT(s.source_enabled);
	ASSERT_EQ(s.kustomize_concurrent, 12u);
	ASSERT_EQ(s.source_concurrent, 2u);
	ASSERT_EQ(s.requeue_dependency_ms, (uint64_t)5000);
	ASSERT(s.multi_tenancy);
	ASSERT(s.strict_substitution);
	ASSERT(s.log_level_set);
	ASSERT_EQ(s.log_level, LOG_DEBUG); /* the most verbose wins: one process */
	ASSERT_EQ(cJSON_GetArraySize(notes), 0);
	cJSON_Delete(notes);
}

TEST(bad_values_name_the_key)
{
	struct ext_settings s;
	char err[512];
	cJSON *notes;

	ASSERT_EQ(parse("{\"kustomize-controller.concurrent\":\"0\"}", &s, err, &notes), -EINVAL);
	ASSERT_CONTAINS(err, "configurationSettings.kustomize-controller.concurrent: \"0\"");
	cJSON_Delete(notes);
	ASSERT_EQ(parse("{\"multiTenancy.enforce\":\"yes\"}", &s, err, &notes), -EINVAL);
	ASSERT_CONTAINS(err, "multiTenancy.enforce: \"yes\" is not true or false");
	cJSON_Delete(notes);
	ASSERT_EQ(parse("{\"kustomize-controller.requeue-dependency\":\"soon\"}", &s, err, &notes),
		  -EINVAL);
	ASSERT_CONTAINS(err, "not a duration");
	cJSON_Delete(notes);
	ASSERT_EQ(parse("{\"helm-controller.log-level\":\"verbose\"}", &s, err, &notes), -EINVAL);
	cJSON_Delete(notes);
}

TEST(other_controllers_and_unknown_keys_are_noted)
{
	struct ext_settings s;
	char err[512];
	cJSON *notes;

	ASSERT_OK(parse("{\"notification-controller.enabled\":\"false\",\"image-automation-"
			"controller.enabled\":\"true\",\"useKubeletIdentity\":\"true\",\"helm-"
			"controller.enabled\":\"false\"}",
			&s, err, &notes));
	ASSERT_EQ(cJSON_GetArraySize(notes), 2);
	ASSERT_CONTAINS(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(notes, 0),
								  "message")),
			"image-automation-controller.enabled=true");
	ASSERT(!s.helm_enabled); /* helm-controller.enabled is ours now: applied, not noted */
	ASSERT(!s.notification_enabled); /* so is notification-controller.enabled */
	ASSERT_STREQ(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(notes, 1),
							       "level")),
		     "Information");
	ASSERT(s.kustomize_enabled);
	cJSON_Delete(notes);
}
