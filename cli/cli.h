/*
 * cli.h: the commands of bin/cflux, one file each (cli/cflux.c dispatches),
 * and what the cluster commands share (cli/kube.c, cli/table.c).
 */
#ifndef CFLUX_CLI_CLI_H
#define CFLUX_CLI_CLI_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/buf.h"
#include "base/err.h"
#include "kube/client.h"

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

/*
 * The cluster commands; argv[0] is the verb ("get", "reconcile", ...).
 * Each returns the exit status: 0, 1 for a failure, 2 for bad usage.
 */
int cli_get(int argc, char **argv);       /* cli/get.c */
/* reconcile, suspend, resume, rollback: cli/reconcile.c */
int cli_reconcile(int argc, char **argv);
int cli_events(int argc, char **argv);    /* cli/events.c */
int cli_tree(int argc, char **argv);      /* tree kustomization: cli/tree.c */
int cli_trace(int argc, char **argv);     /* trace: cli/trace.c */
int cli_config(int argc, char **argv);    /* config create|list|show|delete: cli/config.c */
int cli_build(int argc, char **argv);     /* build|diff kustomization: cli/build.c */
int cli_logs(int argc, char **argv);      /* logs: cli/logs.c */
int cli_completion(int argc, char **argv); /* completion bash|zsh: cli/completion.c */

/* ---- cli/kube.c: flags and a synchronous client for the cluster commands ---- */

/* Which flags a command accepts (struct cli_flags' fields). */
enum {
	CLI_F_GET = 1 << 0,        /* --status-selector, -o, --no-header, -l, -w */
	CLI_F_WITH_SOURCE = 1 << 1, /* --with-source */
	CLI_F_TIMEOUT = 1 << 2,    /* --timeout */
	CLI_F_FOR = 1 << 3,        /* --for Kind[/name] */
	CLI_F_TREE = 1 << 4,       /* --compact, -o */
	CLI_F_TRACE = 1 << 5,      /* --kind, --api-version */
	CLI_F_ALL = 1 << 6,        /* --all (suspend, resume) */
	CLI_F_ROLLBACK = 1 << 7,   /* --to REVISION, --undo */
	CLI_F_LOGS = 1 << 8,       /* --kind --name --level -f --tail --flux-namespace --since[-time] */
};

struct cli_flags {
	/* global, as kubectl and flux have them */
	const char *kubeconfig, *context, *ns;
	bool all_ns, ns_follows_context;
	/* per command */
	const char *status_selector, *output, *label_selector;
	const char *for_sel;
	const char *kind, *api_version; /* trace --kind, --api-version */
	bool no_header, with_source, compact;
	bool all;              /* suspend|resume --all: every object of the kind in the namespace */
	const char *to;        /* rollback --to */
	bool undo;             /* rollback --undo */
	/* logs */
	const char *name, *level, *flux_ns, *since_time;
	bool follow;
	bool watch;            /* get -w/--watch */
	long long tail;        /* -1: all */
	int64_t since_ns;
	int64_t timeout_ns;    /* --timeout, default 5m as flux */
	/* the positional arguments, after the verb */
	char **args;
	int n_args;
};

/*
 * Parse argv (argv[0] is the verb) into `f`, accepting the global flags
 * and those of `allowed`.  On a bad flag prints the error to stderr and
 * returns -EINVAL; `--help` prints `usage` and returns 1.  The default
 * namespace is flux's: $FLUX_SYSTEM_NAMESPACE, else "flux-system" (the
 * kubeconfig context's namespace with --ns-follows-kube-context or
 * $FLUX_NS_FOLLOWS_KUBE_CONTEXT).
 */
int cli_flags_parse(int argc, char **argv, unsigned allowed, const char *usage,
		    struct cli_flags *f);

struct cli_kube;

/*
 * Load the kubeconfig the flags name and connect.  On failure prints why
 * to stderr and returns a negative errno.  f->ns is resolved here when
 * the context's namespace is asked for; cli_kube_ns() gives the result.
 */
int cli_kube_open(struct cli_flags *f, struct cli_kube **ret);
void cli_kube_close(struct cli_kube *k);
const char *cli_kube_ns(const struct cli_kube *k);

/* Synchronous verbs: 0 and the response in *ret (the caller's), or -errno with `err`. */
int cli_kube_get(struct cli_kube *k, const struct kube_ref *ref, const struct kube_opts *o,
		 cJSON **ret, struct op_err *err);
int cli_kube_list(struct cli_kube *k, const struct kube_ref *ref, const struct kube_opts *o,
		  cJSON **ret, struct op_err *err);
/*
 * Watch `ref` (a collection): each event to `on_event` (0 goes on, a
 * negative errno stops) until the server ends the stream (0) or it fails.
 */
int cli_kube_watch(struct cli_kube *k, const struct kube_ref *ref, const struct kube_opts *o,
		   int (*on_event)(const char *type, const cJSON *obj, void *payload),
		   void *payload, struct op_err *err);
/* A raw GET of `path`: JSON parsed, anything else as a cJSON string. */
int cli_kube_raw(struct cli_kube *k, const char *path, const struct kube_opts *o, cJSON **ret,
		 struct op_err *err);
int cli_kube_patch(struct cli_kube *k, const struct kube_ref *ref, const char *merge_patch,
		   cJSON **ret, struct op_err *err);

/* Whether `kind` of `api_version` is namespaced (discovery): 1, 0, or -errno. */
/* Server-side apply as field manager "cflux" (forced), and DELETE. */
int cli_kube_apply(struct cli_kube *k, const struct kube_ref *ref, const cJSON *obj,
		   cJSON **ret, struct op_err *err);
int cli_kube_delete(struct cli_kube *k, const struct kube_ref *ref, struct op_err *err);

int cli_kube_namespaced(struct cli_kube *k, const char *api_version, const char *kind);

/*
 * lib/apply's apply_set() of `objects` with `o` in detect-only mode
 * (nothing is written: server-side dry-run against the live objects):
 * 0 and its drift list in *ret (the caller's, see apply_result.drift),
 * or -errno with `err`.
 */
struct apply_opts;
int cli_kube_detect_drift(struct cli_kube *k, const cJSON *objects, const struct apply_opts *o,
			  cJSON **ret, struct op_err *err);

/* A resource type as kubectl names it on its command line. */
struct cli_resource {
	char group[256], version[64], resource[256], kind[256];
	bool namespaced;
};

/*
 * Resolve `arg` ("deployment", "deploy", "deployments.apps", "Kustomization",
 * "cm") through discovery, as kubectl's resource builder does: the core
 * group first, then every group at its preferred version, in the order the
 * apiserver lists them; plural, singular, short names and kind, any case.
 * Returns 0, -ENOENT, or -EIO.
 */
int cli_kube_resource(struct cli_kube *k, const char *arg, struct cli_resource *ret);

/* Run the loop for `ms` milliseconds (the pause between two polls). */
void cli_kube_sleep(struct cli_kube *k, uint64_t ms);

/* Messages in the flux CLI's form, to stderr: "► ...", "✔ ...", "◎ ...", "✗ ...". */
void cli_say(const char *mark, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "✗ ..." and returns 1. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- cli/kinds.c: the kinds the cluster commands know ---- */

enum cli_rev {
	CLI_REV_ARTIFACT,        /* status.artifact.revision (sources) */
	CLI_REV_APPLIED,         /* status.lastAppliedRevision (Kustomization) */
	CLI_REV_HELMRELEASE,     /* status.history[0].chartVersion, else lastAttemptedRevision */
	CLI_REV_COMMIT,          /* status.sourceSyncedCommitId (FluxConfiguration) */
	CLI_REV_VERSION,         /* status.currentVersion (Extension) */
	CLI_REV_NONE,            /* no REVISION column (notification kinds) */
};

struct cli_kind {
	const char *kind;        /* "GitRepository" */
	const char *human;       /* flux's humanKind: "source git" */
	const char *group, *version, *resource;
	const char *aliases;     /* NUL-separated, ending with an empty string */
	enum cli_rev rev;
	bool truncate_rev;       /* flux shortens hex in the revision (not a SemVer) */
	bool source;             /* a source kind: `get sources all` */
	bool ours;               /* not a Flux kind: `get all` lists it last */
	/* Notification kinds, as flux prints them: */
	const char *static_ready; /* v1beta3's static objects: READY True and this message */
	bool no_suspend;         /* no SUSPENDED column (Provider) */
	bool get_only;           /* `get` only: reconcile, suspend and resume refuse it */
};

/* Every kind, in `flux get all`'s order (sources, HelmRelease, Kustomization), then ours. */
extern const struct cli_kind cli_kinds[];
extern const size_t cli_n_kinds;

/*
 * The kind that args name: "sources git", "source git", "kustomizations",
 * "ks", "GitRepository", "gitrepositories" (case-insensitive).  Stores in
 * *ret_used how many arguments it took (1 or 2).  NULL if none.
 */
const struct cli_kind *cli_kind_find(char **args, int n, int *ret_used);
/* The kind with this Kind name ("GitRepository"), or NULL. */
const struct cli_kind *cli_kind_by_kind(const char *kind);

/* The kube_ref of `kd` in `ns` (NULL: all namespaces), `name` may be NULL. */
struct kube_ref cli_kind_ref(const struct cli_kind *kd, const char *ns, const char *name);

/* ---- cli/table.c: pure formatting (unit-tested) ---- */

/* The most a command prints at once (a table, a List of objects). */
#define CLI_OUT_MAX ((size_t)256 << 20)

/*
 * flux's TruncateHex: each hex run of 40 to 128 characters standing alone
 * as a word ("main@sha1:<40 hex>") cut to its first 8.  Returns new memory.
 */
char *cli_truncate_hex(const char *s);

/*
 * A table as the flux CLI prints it (tablewriter, borderless, no white
 * space, tab padding): each header cell upper-cased and padded to its
 * column's width and followed by a tab, the last by a space; each row's
 * cells padded and each followed by a tab; a cell with newlines takes
 * several lines.  `header` may be NULL (--no-header).  Appends to `out`.
 */
struct cli_table;
struct cli_table *cli_table_new(size_t n_cols);
void cli_table_add(struct cli_table *t, const char *const *cells);
int cli_table_render(const struct cli_table *t, const char *const *header, struct buf *out);
struct cli_table *cli_table_free(struct cli_table *t);
size_t cli_table_rows(const struct cli_table *t);

/* kubectl's age of a duration: "45s", "5m3s", "3h4m", "2d5h", "10d", "3y45d" (duration.HumanDuration). */
void cli_age(int64_t ns, char out[32]);

/*
 * Parse a --status-selector ("ready=false", "ready!=true") into its
 * condition type and status; `negate` for "!=".  -EINVAL if malformed.
 */
int cli_status_selector(const char *sel, char **ret_type, char **ret_status, bool *ret_negate);

/*
 * Whether `obj`'s status.conditions has a condition `type` (compared
 * case-insensitively, the last one wins) with status `status` (likewise).
 */
bool cli_condition_matches(const cJSON *obj, const char *type, const char *status);

/* An Event's time for sorting (kubectl's): series.lastObservedTime, lastTimestamp, eventTime. */
int64_t cli_event_time(const cJSON *e);

/* kubectl's LAST SEEN of an Event at `now` (ns): "5m", "2m (x3 over 10m)", "<unknown>". */
void cli_event_last_seen(const cJSON *e, int64_t now, char out[96]);

/*
 * flux build's maskSopsData: a Secret encrypted with SOPS (a top-level
 * "sops" with an "ENC[" mac) loses "sops" and every data value becomes
 * base64("**SOPS**"), every stringData value "**SOPS**" (a
 * kubernetes.io/dockerconfigjson Secret's: {"mask":"**SOPS**"}); in any
 * other Secret only the values that hold both "sops" and "ENC[" are
 * masked (data decoded first), with base64("**SOPS**").  Other kinds are
 * left alone.
 */
void cli_mask_sops(cJSON *obj);

/* The condition `type` of obj.status.conditions, or NULL. */
const cJSON *cli_condition(const cJSON *obj, const char *type);

#endif
