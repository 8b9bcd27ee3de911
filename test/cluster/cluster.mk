# cluster.mk: Makefile fragment for the local test control plane; the top
# level Makefile includes it.  Targets:
#   testbin          build kube-apiserver, kube-controller-manager, kubectl,
#                    etcd, etcdctl into $(CFLUX_TESTBIN) (cached; only missing ones)
#   testbin-oracles  kustomize and helm
#   testbin-flux     source-, kustomize- and helm-controller (+ their CRDs)
#   cluster-up       testbin, then test/cluster/up.sh and servers.sh up
#   cluster-down     servers.sh down, then test/cluster/down.sh
# State dir: $(CFLUX_CLUSTER_DIR) from the environment, default build/cluster.

CLUSTER_SH_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
CLUSTER_BASH := bash

.PHONY: testbin testbin-oracles testbin-flux cluster-up cluster-down

testbin:
	$(CLUSTER_BASH) $(CLUSTER_SH_DIR)/build.sh core

testbin-oracles:
	$(CLUSTER_BASH) $(CLUSTER_SH_DIR)/build.sh oracles

testbin-flux:
	$(CLUSTER_BASH) $(CLUSTER_SH_DIR)/build.sh flux

cluster-up: testbin
	$(CLUSTER_BASH) $(CLUSTER_SH_DIR)/up.sh
	$(CLUSTER_BASH) $(CLUSTER_SH_DIR)/servers.sh up

# down.sh runs even when servers.sh down failed; the first failure is reported.
cluster-down:
	$(CLUSTER_BASH) $(CLUSTER_SH_DIR)/servers.sh down; CLUSTER_RC=$$?; \
	$(CLUSTER_BASH) $(CLUSTER_SH_DIR)/down.sh && exit $$CLUSTER_RC
