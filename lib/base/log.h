/*
 * log.h: structured logging in controller-runtime's shape.
 *
 * One JSON object per line, as Flux's controllers print it, so existing
 * tooling (log shippers, `jq` habits) works:
 *
 *   {"level":"info","ts":"2026-11-24T19:32:12.703Z","msg":"New revision detected",
 *    "controller":"gitrepository","controllerGroup":"source.toolkit.fluxcd.io",
 *    "controllerKind":"GitRepository","GitRepository":{"name":"podinfo",
 *    "namespace":"flux-system"},"namespace":"flux-system","name":"podinfo",
 *    "reconcileID":"4a0b...","revision":"main@sha1:..."}
 *
 * or, with --log-encoding=console, "ts<TAB>LEVEL<TAB>msg<TAB>k=v ...".
 *
 * Rules (STYLE.md §6): only the loop thread logs (worker threads hand
 * results back); each line is one write(2); messages are short capitalised
 * sentences with no trailing period; the key for errors is "error".
 * Secrets never reach the output: the value of any key that names a secret
 * (token, password, secret, authorization, private key, ...) is replaced by
 * "***", and userinfo in any URL in any value or message is removed.
 * Library code (lib/) logs at debug or trace only.
 */
#ifndef CFLUX_BASE_LOG_H
#define CFLUX_BASE_LOG_H

#include <stdbool.h>

#include "base/buf.h"
#include "base/macro.h"

enum log_level {
	LOG_ERROR = 0,
	LOG_INFO = 1,
	LOG_DEBUG = 2,
	LOG_TRACE = 3,
};

enum log_encoding {
	LOG_JSON = 0,
	LOG_CONSOLE = 1,
};

/* Who is logging: built once per reconcile; every field may be NULL. */
struct log_ctx {
	const char *controller; /* "gitrepository" */
	const char *group;      /* "source.toolkit.fluxcd.io" */
	const char *kind;       /* "GitRepository" */
	const char *ns;
	const char *name;
	char reconcile_id[37];  /* a UUID, or "" */
};

/* Parse --log-level / --log-encoding values; 0 or -EINVAL. */
int log_parse_level(const char *s, enum log_level *ret);
int log_parse_encoding(const char *s, enum log_encoding *ret);

/* Set the process-wide level, encoding and output fd (default 2). */
void log_setup(enum log_level level, enum log_encoding enc, int fd);
enum log_level log_get_level(void);
static inline bool log_enabled(enum log_level l)
{
	return l <= log_get_level();
}

/*
 * Log `msg` with the context's keys and then the NULL-terminated list of
 * string key/value pairs.  A NULL value prints as JSON null.
 */
void log_msg(enum log_level level, const struct log_ctx *ctx, const char *msg, ...) _sentinel_;

#define log_error(ctx, ...) log_msg(LOG_ERROR, (ctx), __VA_ARGS__)
#define log_info(ctx, ...) log_msg(LOG_INFO, (ctx), __VA_ARGS__)
#define log_debug(ctx, ...)                                                                        \
	do {                                                                                       \
		if (log_enabled(LOG_DEBUG))                                                        \
			log_msg(LOG_DEBUG, (ctx), __VA_ARGS__);                                    \
	} while (0)
#define log_trace(ctx, ...)                                                                        \
	do {                                                                                       \
		if (log_enabled(LOG_TRACE))                                                        \
			log_msg(LOG_TRACE, (ctx), __VA_ARGS__);                                    \
	} while (0)

/*
 * Append `s` to `out` with the userinfo of every URL removed
 * ("https://user:pw@host/x" → "https://host/x").  0 or -EFBIG.
 */
int log_redact_urls(struct buf *out, const char *s);

/* Whether a key names a secret whose value must never be printed. */
bool log_key_is_secret(const char *key);

/* Append `s` as a JSON string literal (quotes, escapes). 0 or -EFBIG. */
int log_json_quote(struct buf *out, const char *s);

#endif
