# versions.sh: pinned versions of the test binaries built by build.sh.
# Sourced by build.sh and env.sh (POSIX sh); change a version here and the
# next build.sh run builds it into its own cache directory.
K8S_VERSION=v1.35.4
ETCD_VERSION=v3.6.16
# The cluster DNS of the local node (go 1.26.0).
COREDNS_VERSION=v1.15.0
KUSTOMIZE_VERSION=v5.8.1
HELM_VERSION=v3.21.4
HELM_K8S_MINOR=35
SOURCE_CONTROLLER_VERSION=v1.7.3
KUSTOMIZE_CONTROLLER_VERSION=v1.7.3
# Flux 2.7 generation (flux2 v2.7.5 pins helm-controller/api v1.4.5, which the
# proxy refuses with 403, as it does v1.4.1/v1.4.2/v1.4.4); v1.4.3 is served,
# go 1.25.0, source-controller/api v1.7.2, helm v3.19.  (v1.6.3 is go 1.26.0
# but Flux 2.9: source API v1.9, a helm v4 fork; it does not match
# source-controller v1.7.3.)
HELM_CONTROLLER_VERSION=v1.4.3
# Only its CRDs (Provider and Alert v1beta3) are compared with ours; the
# proxy refuses every v1.7.x and v1.8.x, and v1.9.3 serves the same v1beta3.
NOTIFICATION_CONTROLLER_VERSION=v1.9.3
# OCI tools (build.sh oci): cosign signs the OCI test artifacts; the flux CLI
# pushes and pulls artifacts next to bin/cflux; crane and oras for bench-oci.
COSIGN_VERSION=v2.6.5
FLUX_CLI_VERSION=v2.9.5
CRANE_VERSION=v0.22.1
ORAS_VERSION=v1.3.6
# SOPS and age (build.sh sops): fixtures for the Kustomization decryption tests.
SOPS_VERSION=v3.13.3
AGE_VERSION=v1.3.2
# S3 and Azure Blob test servers (servers.sh): versitygw checks SigV4 on every
# request (test/cluster/README.md says why not moto); Azurite from npm.
VERSITYGW_VERSION=v1.8.0
AZURITE_VERSION=3.35.0
