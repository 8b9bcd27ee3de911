/*
 * completion.c: `cflux completion bash|zsh`, a completion script on
 * stdout (`source <(cflux completion bash)`, or into a completions
 * directory).  The bash script completes the commands, their flags, the
 * kinds (from cli_kinds, so a new kind is offered without touching this)
 * and object names, which it asks the cluster for with `cflux get KIND
 * --no-header` in the namespace the command line names.  zsh runs the
 * same function through its bashcompinit.
 */
#include <stdio.h>

#include "base/str.h"
#include "cli.h"
#include "base/banned.h"

static const char script[] =
	"_cflux_names() {\n"
	"\tlocal ns=() i w\n"
	"\tfor ((i = 1; i < ${#COMP_WORDS[@]}; i++)); do\n"
	"\t\tw=${COMP_WORDS[i]}\n"
	"\t\tcase $w in\n"
	"\t\t-n | --namespace) ns=(-n \"${COMP_WORDS[i + 1]}\") ;;\n"
	"\t\t--namespace=*) ns=(-n \"${w#--namespace=}\") ;;\n"
	"\t\tesac\n"
	"\tdone\n"
	"\tcflux get \"$@\" \"${ns[@]}\" --no-header 2>/dev/null | awk '{print $1}'\n"
	"}\n"
	"\n"
	"_cflux() {\n"
	"\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}\n"
	"\tlocal verb=${COMP_WORDS[1]} i w pos=()\n"
	"\tlocal global='--kubeconfig --context -n --namespace --help'\n"
	"\tCOMPREPLY=()\n"
	"\tcase $prev in\n"
	"\t--kubeconfig | --kustomization-file | --path | --ca-file | --cert-file | --key-file)\n"
	"\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
	"\t\treturn ;;\n"
	"\t-n | --namespace | --flux-namespace | --context | --timeout | --to | --tail | --since | "
	"--since-time | --name | --for | --status-selector | -l | --label-selector | "
	"--api-version)\n"
	"\t\treturn ;;\n"
	"\t-o | --output) COMPREPLY=($(compgen -W 'json yaml' -- \"$cur\")); return ;;\n"
	"\t--level) COMPREPLY=($(compgen -W 'debug info error' -- \"$cur\")); return ;;\n"
	"\t--kind) COMPREPLY=($(compgen -W \"$_cflux_kind_names\" -- \"$cur\")); return ;;\n"
	"\tesac\n"
	"\tif ((COMP_CWORD == 1)); then\n"
	"\t\tCOMPREPLY=($(compgen -W 'get reconcile suspend resume rollback events logs tree "
	"trace config build diff kustomize helm push pull list completion' -- \"$cur\"))\n"
	"\t\treturn\n"
	"\tfi\n"
	"\t# the positional words between the verb and the word completed\n"
	"\tfor ((i = 2; i < COMP_CWORD; i++)); do\n"
	"\t\tw=${COMP_WORDS[i]}\n"
	"\t\tcase $w in\n"
	"\t\t-n | --namespace | --flux-namespace | --kubeconfig | --context | --timeout | --to | "
	"--tail | --since | --since-time | --name | --kind | --level | --for | -o | --output | "
	"--status-selector | -l | --label-selector | --api-version | --path | "
	"--kustomization-file) ((i++)) ;;\n"
	"\t\t-*) ;;\n"
	"\t\t*) pos+=(\"$w\") ;;\n"
	"\t\tesac\n"
	"\tdone\n"
	"\tif [[ $cur == -* ]]; then\n"
	"\t\tlocal f=\n"
	"\t\tcase $verb in\n"
	"\t\tget) f='-A --all-namespaces --status-selector -l --label-selector --no-header -o "
	"--output' ;;\n"
	"\t\treconcile) f='--with-source --timeout' ;;\n"
	"\t\tsuspend | resume) f='--all --timeout' ;;\n"
	"\t\trollback) f='--to --undo --timeout' ;;\n"
	"\t\tevents) f='--for -A --all-namespaces' ;;\n"
	"\t\tlogs) f='--kind --name --level -f --follow --tail --since --since-time "
	"--flux-namespace -A --all-namespaces' ;;\n"
	"\t\ttree) f='--compact -o --output' ;;\n"
	"\t\ttrace) f='--kind --api-version' ;;\n"
	"\t\tbuild) f='--path --kustomization-file --dry-run --strict-substitute' ;;\n"
	"\t\tdiff) f='--path --kustomization-file --strict-substitute --progress-bar' ;;\n"
	"\t\tesac\n"
	"\t\tCOMPREPLY=($(compgen -W \"$f $global\" -- \"$cur\"))\n"
	"\t\treturn\n"
	"\tfi\n"
	"\tcase $verb in\n"
	"\tget | reconcile | suspend | resume)\n"
	"\t\tif ((${#pos[@]} == 0)); then\n"
	"\t\t\tCOMPREPLY=($(compgen -W \"sources $_cflux_kinds $([[ $verb == get ]] && echo "
	"all)\" -- \"$cur\"))\n"
	"\t\telif [[ ${pos[0]} == source || ${pos[0]} == sources ]]; then\n"
	"\t\t\tif ((${#pos[@]} == 1)); then\n"
	"\t\t\t\tCOMPREPLY=($(compgen -W \"$_cflux_sources $([[ $verb == get ]] && echo "
	"all)\" -- \"$cur\"))\n"
	"\t\t\telif ((${#pos[@]} == 2)); then\n"
	"\t\t\t\tCOMPREPLY=($(compgen -W \"$(_cflux_names sources \"${pos[1]}\")\" -- \"$cur\"))\n"
	"\t\t\tfi\n"
	"\t\telif ((${#pos[@]} == 1)) && [[ ${pos[0]} != all ]]; then\n"
	"\t\t\tCOMPREPLY=($(compgen -W \"$(_cflux_names \"${pos[0]}\")\" -- \"$cur\"))\n"
	"\t\tfi ;;\n"
	"\trollback | tree | build | diff)\n"
	"\t\tif ((${#pos[@]} == 0)); then\n"
	"\t\t\tCOMPREPLY=($(compgen -W 'kustomization' -- \"$cur\"))\n"
	"\t\telif ((${#pos[@]} == 1)); then\n"
	"\t\t\tCOMPREPLY=($(compgen -W \"$(_cflux_names kustomizations)\" -- \"$cur\"))\n"
	"\t\tfi ;;\n"
	"\tconfig)\n"
	"\t\tif ((${#pos[@]} == 0)); then\n"
	"\t\t\tCOMPREPLY=($(compgen -W 'create list show delete' -- \"$cur\"))\n"
	"\t\telif ((${#pos[@]} == 1)) && [[ ${pos[0]} == show || ${pos[0]} == delete ]]; then\n"
	"\t\t\tCOMPREPLY=($(compgen -W \"$(_cflux_names fluxconfigurations)\" -- \"$cur\"))\n"
	"\t\tfi ;;\n"
	"\tcompletion) ((${#pos[@]} == 0)) && COMPREPLY=($(compgen -W 'bash zsh' -- \"$cur\")) ;;\n"
	"\tkustomize) ((${#pos[@]} == 0)) && COMPREPLY=($(compgen -W 'build' -- \"$cur\")) ;;\n"
	"\thelm) ((${#pos[@]} == 0)) && COMPREPLY=($(compgen -W 'template' -- \"$cur\")) ;;\n"
	"\tpush | pull) ((${#pos[@]} == 0)) && COMPREPLY=($(compgen -W 'artifact' -- \"$cur\")) ;;\n"
	"\tlist) ((${#pos[@]} == 0)) && COMPREPLY=($(compgen -W 'artifacts' -- \"$cur\")) ;;\n"
	"\tesac\n"
	"}\n"
	"complete -F _cflux cflux\n";

int cli_completion(int argc, char **argv)
{
	const char *shell = argc == 2 ? argv[1] : "";
	bool zsh = streq(shell, "zsh");

	if (!zsh && !streq(shell, "bash")) {
		fputs("usage: cflux completion bash|zsh\n", stderr);
		return 2;
	}
	if (zsh)
		fputs("#compdef cflux\n# cflux completion for zsh: the bash completion, through "
		      "bashcompinit\nautoload -U +X bashcompinit && bashcompinit\n", stdout);
	else
		fputs("# cflux completion for bash: source <(cflux completion bash)\n", stdout);
	/* The kinds, from cli_kinds: the source kinds after "sources", the others by their plural. */
	fputs("_cflux_sources='", stdout);
	for (size_t i = 0, n = 0; i < cli_n_kinds; i++)
		if (cli_kinds[i].source)
			printf("%s%s", n++ ? " " : "", cli_kinds[i].aliases);
	fputs("'\n_cflux_kinds='", stdout);
	for (size_t i = 0, n = 0; i < cli_n_kinds; i++)
		if (!cli_kinds[i].source)
			printf("%s%s", n++ ? " " : "", cli_kinds[i].aliases);
	fputs("'\n_cflux_kind_names='", stdout);
	for (size_t i = 0; i < cli_n_kinds; i++)
		printf("%s%s", i ? " " : "", cli_kinds[i].kind);
	fputs("'\n", stdout);
	fputs(script, stdout);
	return 0;
}
