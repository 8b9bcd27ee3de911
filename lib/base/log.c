/*
 * log.c: JSON-line logging (see log.h).
 *
 * DESIGN
 * Each call formats the whole line into a stack-backed struct buf capped
 * at 64 KiB (a longer line is cut and marked "...") and writes it with a
 * single write(2), so concurrent processes sharing stderr never interleave
 * within a line.  Values pass through two filters: log_key_is_secret()
 * (by key) and log_redact_urls() (by content).  The process-wide settings
 * are the only mutable globals besides arg_* (STYLE.md §10).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "base/banned.h"

#define LOG_LINE_MAX (64 * 1024)

static enum log_level cur_level = LOG_INFO;
static enum log_encoding cur_enc = LOG_JSON;
static int cur_fd = 2;

static const char *const level_names[] = { "error", "info", "debug", "trace" };

int log_parse_level(const char *s, enum log_level *ret)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(level_names); i++)
		if (streq(s, level_names[i])) {
			*ret = (enum log_level)i;
			return 0;
		}
	return -EINVAL;
}

int log_parse_encoding(const char *s, enum log_encoding *ret)
{
	if (streq(s, "json"))
		*ret = LOG_JSON;
	else if (streq(s, "console"))
		*ret = LOG_CONSOLE;
	else
		return -EINVAL;
	return 0;
}

void log_setup(enum log_level level, enum log_encoding enc, int fd)
{
	cur_level = level;
	cur_enc = enc;
	cur_fd = fd;
}

enum log_level log_get_level(void)
{
	return cur_level;
}

bool log_key_is_secret(const char *key)
{
	static const char *const words[] = {
		"password", "passwd", "token", "secret", "authorization", "privatekey",
		"private_key", "private-key", "passphrase", "credential", "bearer", "apikey",
		"api_key", "identity",
	};
	char low[64];
	size_t i;

	for (i = 0; key[i] && i < sizeof(low) - 1; i++)
		low[i] = (char)tolower((unsigned char)key[i]);
	low[i] = '\0';
	for (i = 0; i < ARRAY_SIZE(words); i++)
		if (strstr(low, words[i]))
			return true;
	return false;
}

int log_redact_urls(struct buf *out, const char *s)
{
	const char *p = s;
	int r;

	for (;;) {
		const char *sep = strstr(p, "://"), *auth, *end, *at = NULL, *q;

		if (!sep)
			return buf_adds(out, p);
		auth = sep + 3;
		end = auth + strcspn(auth, "/?#\"' \t\r\n<>");
		for (q = auth; q < end; q++)
			if (*q == '@')
				at = q;
		r = buf_add(out, p, (size_t)(auth - p));
		if (r < 0)
			return r;
		p = at ? at + 1 : auth;
	}
}

int log_json_quote(struct buf *out, const char *s)
{
	int r = buf_addch(out, '"');

	for (; r == 0 && *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '"':
			r = buf_adds(out, "\\\"");
			break;
		case '\\':
			r = buf_adds(out, "\\\\");
			break;
		case '\n':
			r = buf_adds(out, "\\n");
			break;
		case '\r':
			r = buf_adds(out, "\\r");
			break;
		case '\t':
			r = buf_adds(out, "\\t");
			break;
		default:
			if (c < 0x20 || c == 0x7f)
				r = buf_addf(out, "\\u%04x", c);
			else
				r = buf_addch(out, (char)c);
		}
	}
	return r ? r : buf_addch(out, '"');
}

/* A value, redacted, as JSON (or plain for the console encoding). */
static void add_value(struct buf *b, const char *key, const char *val)
{
	struct buf clean = BUF_INIT(LOG_LINE_MAX);

	if (!val) {
		buf_adds(b, cur_enc == LOG_JSON ? "null" : "<nil>");
		return;
	}
	if (key && log_key_is_secret(key))
		val = "***";
	if (log_redact_urls(&clean, val) < 0)
		buf_adds(&clean, "...");
	if (cur_enc == LOG_JSON)
		log_json_quote(b, clean.buf);
	else if (strpbrk(clean.buf, " \t\n\"="))
		log_json_quote(b, clean.buf);
	else
		buf_adds(b, clean.buf);
	buf_release(&clean);
}

static void add_field(struct buf *b, bool *first, const char *key, const char *val)
{
	if (cur_enc == LOG_JSON) {
		buf_adds(b, ",");
		log_json_quote(b, key);
		buf_addch(b, ':');
	} else {
		buf_adds(b, *first ? "\t" : " ");
		buf_adds(b, key);
		buf_addch(b, '=');
	}
	*first = false;
	add_value(b, key, val);
}

static void add_ctx(struct buf *b, bool *first, const struct log_ctx *c)
{
	if (!c)
		return;
	if (c->controller)
		add_field(b, first, "controller", c->controller);
	if (c->group)
		add_field(b, first, "controllerGroup", c->group);
	if (c->kind)
		add_field(b, first, "controllerKind", c->kind);
	if (c->kind && c->name && cur_enc == LOG_JSON) {
		/* controller-runtime's {"Kind":{"name":..,"namespace":..}} object. */
		buf_adds(b, ",");
		log_json_quote(b, c->kind);
		buf_adds(b, ":{\"name\":");
		log_json_quote(b, c->name);
		if (c->ns) {
			buf_adds(b, ",\"namespace\":");
			log_json_quote(b, c->ns);
		}
		buf_addch(b, '}');
	}
	if (c->ns)
		add_field(b, first, "namespace", c->ns);
	if (c->name)
		add_field(b, first, "name", c->name);
	if (c->reconcile_id[0])
		add_field(b, first, "reconcileID", c->reconcile_id);
}

void log_msg(enum log_level level, const struct log_ctx *ctx, const char *msg, ...)
{
	struct buf b = BUF_INIT(LOG_LINE_MAX);
	char ts[RFC3339_MAX];
	bool first = true;
	const char *k;
	va_list ap;
	ssize_t n;
	size_t off = 0;

	if (level > cur_level)
		return;
	time_format_rfc3339_milli(time_now_ns(), ts);
	if (cur_enc == LOG_JSON) {
		buf_addf(&b, "{\"level\":\"%s\",\"ts\":\"%s\",\"msg\":", level_names[level], ts);
		add_value(&b, NULL, msg);
	} else {
		char up[8];
		size_t i;

		for (i = 0; level_names[level][i] && i < sizeof(up) - 1; i++)
			up[i] = (char)toupper((unsigned char)level_names[level][i]);
		up[i] = '\0';
		buf_addf(&b, "%s\t%s\t", ts, up);
		if (log_redact_urls(&b, msg) < 0)
			buf_adds(&b, "...");
	}
	add_ctx(&b, &first, ctx);
	va_start(ap, msg);
	while ((k = va_arg(ap, const char *)) != NULL)
		add_field(&b, &first, k, va_arg(ap, const char *));
	va_end(ap);
	if (cur_enc == LOG_JSON && buf_addch(&b, '}') < 0) {
		/* Cut: keep the line valid JSON. */
		buf_truncate(&b, LOG_LINE_MAX - 32);
		buf_adds(&b, "...\"}");
	}
	if (buf_addch(&b, '\n') < 0) {
		buf_truncate(&b, LOG_LINE_MAX - 1);
		buf_addch(&b, '\n');
	}
	while (off < b.len) {
		n = write(cur_fd, b.buf + off, b.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	buf_release(&b);
}
