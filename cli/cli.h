/*
 * cli.h: the commands of bin/cflux, one file each (cli/cflux.c dispatches).
 */
#ifndef CFLUX_CLI_CLI_H
#define CFLUX_CLI_CLI_H

#include <stdio.h>

/* The usage text, to `f`; returns the exit status for it (0 on stdout, 2 otherwise). */
int cli_usage(FILE *f);

/* `kustomize build`, given the arguments after it (cli/kustomize.c). */
int cli_kustomize_build(int argc, char **argv);

/* `helm template`: argv[0] is "template" (cli/helm.c). */
int cli_helm_template(int argc, char **argv);

/*
 * `push artifact`, `pull artifact`, `list artifacts` (cli/artifact.c):
 * argv[0] is the verb, argv[1] the noun.  Returns the exit status.
 */
int cli_artifact(int argc, char **argv);

#endif
