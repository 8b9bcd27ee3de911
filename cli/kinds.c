/*
 * kinds.c: the kinds bin/cflux's cluster commands know, with the names
 * the flux CLI gives them ("source git", "ks", "hr") and the REST
 * coordinates lib/kube needs.
 *
 * If you add a kind the operator serves, add it here (and to crds/).
 */
#include <strings.h>

#include "base/str.h"
#include "cli.h"
#include "base/banned.h"

#define SRC "source.toolkit.fluxcd.io"
#define OURS "clusterconfig.cflux.io"
#define NOTIF "notification.toolkit.fluxcd.io"

/*
 * In `flux get all`'s order: sources (its `get sources all` order), HelmRelease,
 * Kustomization, Receiver, Provider, Alert; then ours.
 */
const struct cli_kind cli_kinds[] = {
	{ "OCIRepository", "source oci", SRC, "v1", "ocirepositories",
	  "oci\0ocirepositories\0ocirepository\0", CLI_REV_ARTIFACT, true, true, false, NULL, false,
	  false },
	{ "Bucket", "source bucket", SRC, "v1", "buckets", "bucket\0buckets\0", CLI_REV_ARTIFACT,
	  true, true, false, NULL, false, false },
	{ "GitRepository", "source git", SRC, "v1", "gitrepositories",
	  "git\0gitrepositories\0gitrepository\0gitrepo\0", CLI_REV_ARTIFACT, true, true, false,
	  NULL, false, false },
	{ "HelmRepository", "source helm", SRC, "v1", "helmrepositories",
	  "helm\0helmrepositories\0helmrepository\0helmrepo\0", CLI_REV_ARTIFACT, true, true, false,
	  NULL, false, false },
	{ "HelmChart", "source chart", SRC, "v1", "helmcharts", "chart\0helmcharts\0helmchart\0",
	  CLI_REV_ARTIFACT, false, true, false, NULL, false, false },
	{ "HelmRelease", "helmrelease", "helm.toolkit.fluxcd.io", "v2", "helmreleases",
	  "helmreleases\0helmrelease\0hr\0", CLI_REV_HELMRELEASE, false, false, false, NULL, false,
	  false },
	{ "Kustomization", "kustomization", "kustomize.toolkit.fluxcd.io", "v1", "kustomizations",
	  "kustomizations\0kustomization\0ks\0", CLI_REV_APPLIED, true, false, false, NULL, false,
	  false },
	{ "Receiver", "receiver", NOTIF, "v1", "receivers", "receivers\0receiver\0",
	  CLI_REV_NONE, false, false, false, NULL, false, true },
	{ "Provider", "alert-provider", NOTIF, "v1beta3", "providers",
	  "alert-providers\0alert-provider\0", CLI_REV_NONE, false, false, false,
	  "Provider is Ready", true, true },
	{ "Alert", "alert", NOTIF, "v1beta3", "alerts", "alerts\0alert\0", CLI_REV_NONE, false,
	  false, false, "Alert is Ready", false, true },
	{ "FluxConfiguration", "fluxconfiguration", OURS, "v1", "fluxconfigurations",
	  "fluxconfigurations\0fluxconfiguration\0fluxconfig\0fc\0", CLI_REV_COMMIT, true, false,
	  true, NULL, false, false },
	{ "Extension", "extension", OURS, "v1", "extensions", "extensions\0extension\0ext\0",
	  CLI_REV_VERSION, false, false, true, NULL, false, false },
};
const size_t cli_n_kinds = sizeof(cli_kinds) / sizeof(cli_kinds[0]);

static bool has_alias(const struct cli_kind *kd, const char *name, bool source_only)
{
	if (!source_only && (strcasecmp(name, kd->kind) == 0 || strcasecmp(name, kd->resource) == 0))
		return true;
	for (const char *a = kd->aliases; *a; a += strlen(a) + 1) {
		/* "git", "oci", "helm", ... only after "sources" */
		if (kd->source && a == kd->aliases && !source_only)
			continue;
		if (strcasecmp(name, a) == 0)
			return true;
	}
	return false;
}

const struct cli_kind *cli_kind_find(char **args, int n, int *ret_used)
{
	bool sources;

	if (n < 1)
		return NULL;
	sources = streq(args[0], "sources") || streq(args[0], "source");
	if (sources && n < 2)
		return NULL;
	for (size_t i = 0; i < cli_n_kinds; i++) {
		const struct cli_kind *kd = &cli_kinds[i];

		if (sources ? kd->source && has_alias(kd, args[1], true)
			    : has_alias(kd, args[0], false)) {
			*ret_used = sources ? 2 : 1;
			return kd;
		}
	}
	return NULL;
}

const struct cli_kind *cli_kind_by_kind(const char *kind)
{
	for (size_t i = 0; i < cli_n_kinds; i++)
		if (streq(cli_kinds[i].kind, kind))
			return &cli_kinds[i];
	return NULL;
}

struct kube_ref cli_kind_ref(const struct cli_kind *kd, const char *ns, const char *name)
{
	return (struct kube_ref){ .group = kd->group, .version = kd->version,
				  .resource = kd->resource, .ns = ns, .name = name };
}
