/*
 * test_health.c: lib/apply/health.c — kstatus rules per kind, on objects
 * shaped as the apiserver returns them.
 */
#include "apply/health.h"
#include "harness.h"

static void check(const char *json, enum health want, const char *msg_part)
{
	cJSON *o = cJSON_Parse(json);
	struct health_result r;

	ASSERT_NOT_NULL(o);
	health_assess(o, &r);
	if (r.status != want)
		harness__fail(__FILE__, __LINE__, "%s: got %s (%s), want %s", json,
			      health_name(r.status), r.message, health_name(want));
	if (msg_part)
		ASSERT_CONTAINS(r.message, msg_part);
	cJSON_Delete(o);
}

#define DEP(spec, status)                                                                           \
	"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"generation\":2},"   \
	"\"spec\":" spec ",\"status\":" status "}"

TEST(deployments)
{
	check(DEP("{\"replicas\":0}", "{\"observedGeneration\":2,\"conditions\":[{\"type\":"
				      "\"Available\",\"status\":\"True\"}]}"),
	      HEALTH_CURRENT, "available");
	check(DEP("{\"replicas\":2}", "{\"observedGeneration\":2,\"replicas\":2,"
				      "\"updatedReplicas\":2,\"availableReplicas\":2,\"readyReplicas\":2,"
				      "\"conditions\":[{\"type\":\"Available\",\"status\":\"True\"}]}"),
	      HEALTH_CURRENT, "Replicas: 2");
	/* kstatus's order and its condition rules (deploymentConditions) */
	check(DEP("{\"replicas\":2}", "{\"observedGeneration\":2,\"replicas\":2,"
				      "\"updatedReplicas\":2,\"availableReplicas\":2,\"readyReplicas\":2}"),
	      HEALTH_IN_PROGRESS, "Deployment not Available");
	check(DEP("{\"replicas\":0,\"progressDeadlineSeconds\":600}", "{}"), HEALTH_IN_PROGRESS,
	      "ReplicaSet not Available");
	check(DEP("{\"replicas\":0,\"progressDeadlineSeconds\":600}",
		  "{\"observedGeneration\":2,\"conditions\":[{\"type\":\"Available\",\"status\":"
		  "\"True\"},{\"type\":\"Progressing\",\"status\":\"True\",\"reason\":"
		  "\"NewReplicaSetAvailable\"}]}"),
	      HEALTH_CURRENT, "Replicas: 0");
	check(DEP("{\"replicas\":2}", "{\"observedGeneration\":2,\"replicas\":1}"),
	      HEALTH_IN_PROGRESS, "Replicas: 1/2");
	check(DEP("{\"replicas\":2}", "{\"observedGeneration\":2,\"replicas\":2,"
				      "\"updatedReplicas\":2,\"availableReplicas\":2,\"readyReplicas\":1}"),
	      HEALTH_IN_PROGRESS, "Ready: 1/2");
	check(DEP("{\"replicas\":2}", "{\"observedGeneration\":1}"), HEALTH_IN_PROGRESS,
	      "latest observed generation is 1");
	check(DEP("{\"replicas\":2}", "{\"observedGeneration\":2,\"replicas\":2,\"updatedReplicas\":1}"),
	      HEALTH_IN_PROGRESS, "Updated: 1/2");
	check(DEP("{\"replicas\":2}", "{\"observedGeneration\":2,\"replicas\":3,\"updatedReplicas\":2}"),
	      HEALTH_IN_PROGRESS, "Pending termination: 1");
	check(DEP("{}", "{\"observedGeneration\":2,\"replicas\":1,\"updatedReplicas\":1}"),
	      HEALTH_IN_PROGRESS, "Available: 0/1");
	check(DEP("{\"replicas\":1}", "{\"observedGeneration\":2,\"conditions\":[{\"type\":"
				      "\"Progressing\",\"status\":\"False\",\"reason\":"
				      "\"ProgressDeadlineExceeded\"}]}"),
	      HEALTH_FAILED, "deadline");
}

TEST(workloads)
{
	check("{\"apiVersion\":\"apps/v1\",\"kind\":\"StatefulSet\",\"spec\":{\"replicas\":2},"
	      "\"status\":{\"replicas\":2,\"readyReplicas\":1}}",
	      HEALTH_IN_PROGRESS, "Ready: 1/2");
	check("{\"apiVersion\":\"apps/v1\",\"kind\":\"StatefulSet\",\"spec\":{\"replicas\":2},"
	      "\"status\":{\"replicas\":2,\"readyReplicas\":2,\"currentReplicas\":2,"
	      "\"currentRevision\":\"a\",\"updateRevision\":\"a\"}}",
	      HEALTH_CURRENT, NULL);
	check("{\"apiVersion\":\"apps/v1\",\"kind\":\"DaemonSet\",\"metadata\":{\"generation\":1},"
	      "\"status\":{\"desiredNumberScheduled\":3}}",
	      HEALTH_IN_PROGRESS, "DaemonSet status.observedGeneration not found");
	check("{\"apiVersion\":\"apps/v1\",\"kind\":\"StatefulSet\",\"spec\":{\"replicas\":2,"
	      "\"updateStrategy\":{\"rollingUpdate\":{\"partition\":1}}},\"status\":{\"replicas\":2,"
	      "\"readyReplicas\":2,\"updatedReplicas\":0}}",
	      HEALTH_IN_PROGRESS, "updated: 0/1");
	check("{\"apiVersion\":\"apps/v1\",\"kind\":\"StatefulSet\",\"spec\":{\"replicas\":1},"
	      "\"status\":{\"replicas\":2,\"readyReplicas\":2}}",
	      HEALTH_IN_PROGRESS, "Pending termination: 1");
	check("{\"apiVersion\":\"apps/v1\",\"kind\":\"StatefulSet\",\"spec\":{\"replicas\":1},"
	      "\"status\":{\"replicas\":1,\"readyReplicas\":1,\"currentReplicas\":1,"
	      "\"currentRevision\":\"a\",\"updateRevision\":\"b\"}}",
	      HEALTH_IN_PROGRESS, "Waiting for updated revision to match current");
	check("{\"apiVersion\":\"apps/v1\",\"kind\":\"DaemonSet\",\"metadata\":{\"generation\":1},"
	      "\"status\":{\"observedGeneration\":1,\"desiredNumberScheduled\":3,\"currentNumberScheduled\":3,"
	      "\"updatedNumberScheduled\":3,\"numberAvailable\":2,\"numberReady\":3}}",
	      HEALTH_IN_PROGRESS, "Available: 2/3");
	check("{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"spec\":{\"replicas\":1},"
	      "\"status\":{\"fullyLabeledReplicas\":1,\"availableReplicas\":1,\"readyReplicas\":1}}",
	      HEALTH_CURRENT, NULL);
	check("{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"status\":{\"conditions\":[{\"type\":"
	      "\"Complete\",\"status\":\"True\"}],\"succeeded\":1}}",
	      HEALTH_CURRENT, "Completed");
	check("{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"status\":{\"conditions\":[{\"type\":"
	      "\"Failed\",\"status\":\"True\"}],\"failed\":3}}",
	      HEALTH_FAILED, "Failed");
	check("{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"status\":{\"active\":1}}",
	      HEALTH_IN_PROGRESS, "active: 1");
	check("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"status\":{\"phase\":\"Running\","
	      "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}",
	      HEALTH_CURRENT, NULL);
	check("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"status\":{\"phase\":\"Pending\","
	      "\"containerStatuses\":[{\"name\":\"app\",\"state\":{\"waiting\":{\"reason\":"
	      "\"ImagePullBackOff\"}}}]}}",
	      HEALTH_FAILED, "'app' is in ImagePullBackOff");
}

TEST(other_builtins)
{
	check("{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"status\":{\"phase\":"
	      "\"Pending\"}}",
	      HEALTH_IN_PROGRESS, "not Bound");
	check("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"spec\":{\"type\":\"ClusterIP\"}}",
	      HEALTH_CURRENT, NULL);
	check("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"spec\":{\"type\":\"LoadBalancer\"},"
	      "\"status\":{\"loadBalancer\":{}}}",
	      HEALTH_IN_PROGRESS, "load balancer");
	check("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"status\":{\"phase\":\"Terminating\"}}",
	      HEALTH_IN_PROGRESS, NULL);
	check("{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
	      "\"status\":{\"conditions\":[{\"type\":\"Established\",\"status\":\"True\"}]}}",
	      HEALTH_CURRENT, NULL);
	check("{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
	      "\"status\":{\"conditions\":[{\"type\":\"NamesAccepted\",\"status\":\"False\","
	      "\"message\":\"plural taken\"}]}}",
	      HEALTH_FAILED, "plural taken");
	check("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"x\"}}",
	      HEALTH_CURRENT, NULL);
	check("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"deletionTimestamp\":"
	      "\"2026-01-01T00:00:00Z\"}}",
	      HEALTH_IN_PROGRESS, "deletion");
}

TEST(flux_kinds_by_conditions)
{
#define KS(conds)                                                                                   \
	"{\"apiVersion\":\"kustomize.toolkit.fluxcd.io/v1\",\"kind\":\"Kustomization\","          \
	"\"metadata\":{\"generation\":3},\"status\":{\"observedGeneration\":3,\"conditions\":" conds "}}"

	check(KS("[{\"type\":\"Ready\",\"status\":\"True\",\"message\":\"Applied revision: main@sha1:ab\"}]"),
	      HEALTH_CURRENT, "Applied revision");
	check(KS("[{\"type\":\"Ready\",\"status\":\"False\",\"message\":\"build failed\"}]"),
	      HEALTH_IN_PROGRESS, "build failed");
	check(KS("[{\"type\":\"Ready\",\"status\":\"Unknown\"},{\"type\":\"Reconciling\",\"status\":"
		 "\"True\",\"message\":\"running health checks\"}]"),
	      HEALTH_IN_PROGRESS, "health checks");
	check(KS("[{\"type\":\"Ready\",\"status\":\"False\"},{\"type\":\"Stalled\",\"status\":\"True\","
		 "\"message\":\"invalid spec\"}]"),
	      HEALTH_FAILED, "invalid spec");
	check("{\"apiVersion\":\"source.toolkit.fluxcd.io/v1\",\"kind\":\"GitRepository\","
	      "\"metadata\":{\"generation\":1},\"status\":{\"observedGeneration\":-1}}",
	      HEALTH_IN_PROGRESS, "observed generation is -1");
}
