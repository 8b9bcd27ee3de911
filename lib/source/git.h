/*
 * git.h: fetching a Git revision into a directory (libgit2).
 *
 * src_git_fetch() is blocking: it runs on a uv_queue_work() worker, one
 * call per source at a time, and neither logs nor touches loop state.  It
 * keeps a bare repository per source in `cache_dir` so later fetches are
 * incremental, asks the remote first which commit the ref points at (one
 * ls-remote round trip) and stops there when that is `last_commit`, and
 * otherwise fetches (shallowly, depth 1, for a branch or tag over HTTP(S);
 * not over SSH or git://, where libgit2 1.8's shallow request is refused)
 * and checks the commit's tree out into `checkout_dir` (no .git inside).
 *
 * Refs: `commit` wins over `name`, which wins over `semver`, over `tag`,
 * over `branch` (Flux's order); a commit with a branch is fetched from
 * that branch.  `name` is a full ref ("refs/pull/42/head", "refs/heads/x").  `semver` picks the highest tag satisfying the
 * constraint (tags that are not versions are ignored).  Revisions are Flux's: "main@sha1:<hex>", "v1.2.3@sha1:<hex>",
 * "sha1:<hex>" for a bare commit, "refs/pull/42/head@sha1:<hex>" for a name.
 *
 * The tree is inspected before anything is written: more entries, a
 * larger file or more bytes than `lim` allows, a path component that is
 * "..", "." or ".git", or a symlink that points outside the tree (absolute,
 * or climbing above the root) refuses the revision with a message naming
 * the path; the download itself is cut off past lim->max_total_bytes.
 * The check inflates nothing (sizes come from object headers); writing
 * the checkout then reads one file at a time, each at most
 * lim->max_file_bytes.
 *
 * `sparse` checks out only the listed directories (each must exist in
 * the commit).  `submodules` checks out every submodule of the tree
 * (nested too, up to 8 levels) at the commit the tree records, fetched
 * from the URL in .gitmodules (relative URLs resolved against `url`) with
 * the same credentials, into a bare cache under cache_dir/modules/.
 *
 * The connections are the shared transports of source/transport.h:
 * HTTPS over our own TLS (mbedTLS): the server's chain is verified
 * against `ca_pem` (intermediates allowed) or the system's store, IP hosts
 * against the certificate's IP SANs, and a client certificate is presented
 * when `cert_pem`/`key_pem` are given.
 *
 * SSH (ssh:// and user@host:path) runs the OpenSSH client `ssh` (libgit2's
 * libssh2 cannot sign with RSA SHA-2, which modern servers require): the
 * key (RSA, ECDSA, Ed25519, with a passphrase or not) and known_hosts are
 * written to a private directory for the connection's lifetime, the host
 * key is checked against `known_hosts` (plain and hashed entries; there is
 * no trust on first use: without known_hosts an SSH fetch is refused).
 * Nothing raises SIGPIPE and no signal disposition is touched.
 *
 * With `signatures`, a fetched (not unchanged) result also carries the
 * commit's signature and the bytes it signs, and, when the ref is a tag,
 * the tag's name, its object id and signature if it is annotated: what
 * GitRepository's spec.verify checks (source/sigverify.h).
 *
 * http://, https:// and git:// connections are ours (git_stream_register):
 * sockets bound by the fetch's deadline on the monotonic clock.  HTTP(S) remotes go through an http:// proxy
 * when `proxy_url` is given, else when $HTTPS_PROXY/$HTTP_PROXY name one
 * and $NO_PROXY does not exempt the host: a CONNECT tunnel (credentials
 * sent up front), with our TLS inside for https.
 *
 * Auth: HTTP basic (username/password) or a bearer token.
 * Network timeouts: connect 10 s, a silent server 30 s, and `timeout_s`
 * bounds the whole fetch.  Error messages never contain credentials.
 */
#ifndef CFLUX_SOURCE_GIT_H
#define CFLUX_SOURCE_GIT_H

#include <stdatomic.h>
#include <stdbool.h>

#include "base/err.h"
#include "source/artifact.h"

/*
 * The annotation that pins a GitRepository to a commit (40 hex digits):
 * it is fetched as spec.ref.commit would be, with the spec's branch kept
 * for the revision.  `cflux rollback` sets it and `--undo` removes it.
 */
#define GIT_PIN_ANNOTATION "cflux.io/pinned-commit"
/* The condition a pinned GitRepository carries while the pin holds. */
#define GIT_PIN_CONDITION "Pinned"

struct src_git_opts {
	const char *url;
	const char *branch;        /* default "master" when no ref is given, as Flux */
	const char *tag;
	const char *semver;        /* a constraint over the tags: the highest match wins */
	const char *name;          /* a full ref ("refs/pull/42/head"): wins over semver */
	const char *commit;        /* full 40-hex sha */
	const char *username;      /* HTTPS basic auth, or the SSH user */
	const char *password;
	const char *bearer_token;  /* HTTP "Authorization: Bearer" instead of basic auth */
	const char *ca_pem;        /* custom CA for HTTPS (PEM text), or NULL */
	const char *cert_pem;      /* HTTPS client certificate (PEM) and its key, or NULL */
	const char *key_pem;
	const char *ssh_key;       /* PEM private key, in memory */
	const char *ssh_passphrase;
	const char *known_hosts;   /* known_hosts text */
	/* An http:// proxy for HTTP(S) remotes, and its basic auth;
	 * NULL: the environment's (HTTPS_PROXY, HTTP_PROXY, NO_PROXY). */
	const char *proxy_url;
	const char *proxy_username, *proxy_password;
	const char *cache_dir;     /* bare repository kept between fetches */
	const char *checkout_dir;  /* must exist and be empty */
	const char *last_commit;   /* skip the fetch if the ref still points here */
	unsigned timeout_s;        /* whole fetch; 0: 60 s (Flux's default) */
	/* Set by another thread to give up: the fetch fails with -ECANCELED
	 * within about SRC_CANCEL_POLL_MS.  NULL: never. */
	const atomic_bool *cancel;
	/* Bounds on what is fetched and checked out, submodules included;
	 * NULL: ARTIFACT_LIMITS_DEFAULT. */
	const struct artifact_limits *lim;
	const char *const *sparse; /* directories to check out (sparseCheckout); */
	size_t n_sparse;           /* 0: the whole tree */
	bool submodules;           /* check submodules out too (recurseSubmodules) */
	bool signatures;           /* fill the result's signature fields */
};

/* A signature and what it signs: the object without its signature. */
struct src_git_signed {
	char *sig;     /* armored, or NULL when unsigned */
	char *payload;
	size_t len;
};

struct src_git_result {
	char commit[41];
	char revision[320];
	char message[256];  /* first line of the commit message */
	bool unchanged;     /* the ref still points at last_commit; nothing fetched */
	bool cache_reset;   /* the fetch into the cache failed and was made again into an
			     * empty one (the cache was removed) */
	/* With opts.signatures, after a fetch (release with src_git_result_release()): */
	struct src_git_signed commit_sig;
	bool by_tag;        /* the ref is a tag (refs/tags/...) */
	char tag[256];      /* its name */
	char tag_id[41];    /* the annotated tag object, "" for a lightweight tag */
	struct src_git_signed tag_sig;
};

/*
 * Fetch and check out.  0, or a negative errno with reterr explaining it.
 * When the server answered but the fetch into an existing cache failed
 * (not a timeout, a size limit or a cancel), the cache is removed and the
 * fetch made once more into an empty one (ret->cache_reset).
 */
int src_git_fetch(const struct src_git_opts *opts, struct src_git_result *ret,
		  struct op_err *reterr);

/* Free the result's signature fields (a zeroed result is fine). */
void src_git_result_release(struct src_git_result *r);

/*
 * What the fetch reads from URLs, exposed for its tests and fuzz target.
 * src_git_host_port(): the host as known_hosts names it ("host", or
 * "[host]:port" off port 22) of a URL or an scp-like "user@host:path",
 * in `out` (cut to `n`).  src_git_submodule_url(): a .gitmodules URL
 * resolved against the superproject's `parent` as git does ("./x" and
 * "../x" climb the parent's path, never into its scheme or host); any
 * other URL as it is.  Returns a new string.
 */
void src_git_host_port(const char *url, char *out, size_t n);
char *src_git_submodule_url(const char *parent, const char *rel);

#endif
