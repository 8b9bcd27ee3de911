/*
 * cflux.c: the `cflux` command-line tool; it dispatches to one file per
 * command (cli.h):
 *
 *   cflux kustomize build ...                                  (cli/kustomize.c)
 *   cflux helm template ...                                    (cli/helm.c)
 *   cflux push artifact | pull artifact | list artifacts ...   (cli/artifact.c)
 *   cflux get ...                                              (cli/get.c)
 *   cflux reconcile | suspend | resume | rollback ...          (cli/reconcile.c)
 *   cflux events ...                                           (cli/events.c)
 *   cflux logs ...                                             (cli/logs.c)
 *   cflux completion bash|zsh                                  (cli/completion.c)
 *   cflux tree kustomization ...                               (cli/tree.c)
 *   cflux trace ...                                            (cli/trace.c)
 *   cflux config create|list|show|delete ...                   (cli/config.c)
 *   cflux build|diff kustomization ...                         (cli/build.c)
 *
 * The cluster commands share cli/kube.c (flags, the client), cli/kinds.c
 * and cli/table.c.
 */
#include <stdio.h>

#include "base/str.h"
#include "cli.h"
#include "base/banned.h"

int cli_usage(FILE *f)
{
	fputs("usage: cflux kustomize build [--load-restrictor=LoadRestrictionsRootOnly|LoadRestrictionsNone]\n"
	      "                             [--enable-helm [--helm-kube-version=V] [--helm-api-versions=A]] [DIR]\n"
	      "       cflux helm template [NAME] CHART [-f values.yaml]... [--set k=v]...\n"
	      "             [--set-string k=v]... [--set-file k=path]... [--set-json k=json]...\n"
	      "             [--set-literal k=v]... [-n NAMESPACE] [--kube-version V]\n"
	      "             [-a GROUP/VERSION]... [--include-crds] [--skip-tests] [--no-hooks]\n"
	      "             [-s TEMPLATE]... [--is-upgrade] [--skip-schema-validation]\n"
	      "       cflux push artifact oci://HOST/REPO[:TAG] --path=DIR|FILE --source=URL "
	      "--revision=REV\n"
	      "             [--annotations=K=V]... [--ignore-paths=P,...] [--reproducible] "
	      "[--output=json|yaml]\n"
	      "       cflux pull artifact oci://HOST/REPO[:TAG|@DIGEST] --output=DIR\n"
	      "       cflux list artifacts oci://HOST/REPO [--filter-regex=RE] "
	      "[--filter-semver=CONSTRAINT]\n"
	      "  registry flags: --creds=USER[:PASSWORD] --insecure-registry --provider=generic "
	      "--timeout=5m\n"
	      "                  --ca-file=PEM --cert-file=PEM --key-file=PEM\n"
	      "       cflux get sources git|oci|bucket|helm|chart|all [NAME]\n"
	      "       cflux get kustomizations|helmreleases|fluxconfigurations|extensions|all [NAME]\n"
	      "             [-A] [--status-selector=ready=false] [-l SEL] [--no-header] "
	      "[-o json|yaml]\n"
	      "       cflux reconcile <kind> NAME [--with-source] [--timeout=5m]\n"
	      "       cflux suspend|resume <kind> NAME|--all\n"
	      "       cflux rollback kustomization NAME [--to REVISION] | --undo\n"
	      "       cflux events [--for Kind[/NAME]] [-A]\n"
	      "       cflux logs [--kind K] [--name N] [--level L] [-A] [--tail N] [--since D] [-f]\n"
	      "             [--flux-namespace NS]\n"
	      "       cflux completion bash|zsh\n"
	      "       cflux tree kustomization NAME [--compact] [-o json|yaml]\n"
	      "       cflux trace <resource> <name> | <resource>/<name>... "
	      "[--kind=K --api-version=V]\n"
	      "       cflux config create NAME -u URL --branch B [--kustomization name=K path=P "
	      "prune=true ...]...\n"
	      "       cflux config list|show NAME|delete NAME   (az k8s-configuration flux's flags)\n"
	      "       cflux build kustomization NAME --path DIR [--kustomization-file FILE] "
	      "[--dry-run]\n"
	      "             [--strict-substitute]\n"
	      "       cflux diff kustomization NAME --path DIR [--kustomization-file FILE] "
	      "[--strict-substitute]\n"
	      "             [--progress-bar=false]\n"
	      "  cluster flags: --kubeconfig=FILE --context=NAME -n/--namespace=NS "
	      "(default flux-system)\n", f);
	return f == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && (streq(argv[1], "-h") || streq(argv[1], "--help")))
		return cli_usage(stdout);
	if (argc >= 3 && streq(argv[1], "kustomize") && streq(argv[2], "build"))
		return cli_kustomize_build(argc - 3, argv + 3);
	if (argc >= 3 && streq(argv[1], "helm") && streq(argv[2], "template"))
		return cli_helm_template(argc - 2, argv + 2);
	if (argc >= 3 && ((streq(argv[1], "push") && streq(argv[2], "artifact")) ||
			  (streq(argv[1], "pull") && streq(argv[2], "artifact")) ||
			  (streq(argv[1], "list") && streq(argv[2], "artifacts"))))
		return cli_artifact(argc - 1, argv + 1);
	if (argc >= 2 && streq(argv[1], "completion"))
		return cli_completion(argc - 1, argv + 1);
	if (argc >= 2 && streq(argv[1], "logs"))
		return cli_logs(argc - 1, argv + 1);
	if (argc >= 2 && streq(argv[1], "events"))
		return cli_events(argc - 1, argv + 1);
	if (argc >= 2 && streq(argv[1], "config"))
		return cli_config(argc - 1, argv + 1);
	if (argc >= 2 && (streq(argv[1], "build") || streq(argv[1], "diff")))
		return cli_build(argc - 1, argv + 1);
	if (argc >= 2 && streq(argv[1], "trace"))
		return cli_trace(argc - 1, argv + 1);
	if (argc >= 2 && streq(argv[1], "tree"))
		return cli_tree(argc - 1, argv + 1);
	if (argc >= 2 && streq(argv[1], "get"))
		return cli_get(argc - 1, argv + 1);
	if (argc >= 2 && (streq(argv[1], "reconcile") || streq(argv[1], "suspend") ||
			  streq(argv[1], "resume") || streq(argv[1], "rollback")))
		return cli_reconcile(argc - 1, argv + 1);
	return cli_usage(stderr);
}
