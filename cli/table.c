/*
 * table.c: the pure formatting of bin/cflux's cluster commands: the flux
 * CLI's tables, its shortening of hex digests, kubectl's ages, and the
 * --status-selector test, the SOPS masking of `build kustomization`.  No
 * I/O; test/unit/test_cli.c covers it.
 *
 * DESIGN
 * A table keeps its cells (copied) row by row; the widths are computed at
 * render time over the header and every line of every cell, in display
 * columns (UTF-8 code points: the tables hold names, revisions and
 * messages, not East Asian wide text).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "base/str.h"
#include "base/time.h"
#include "cli.h"
#include "yj/yj.h"
#include "base/banned.h"

static bool word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

static bool lower_hex(char c)
{
	return (c >= 'a' && c <= 'f') || (c >= '0' && c <= '9');
}

/*
 * flux's pattern is \b[a-f0-9]{40,128}\b: inside a run of word characters
 * there is no word boundary, so a match is a whole run of word characters
 * that is all lower-case hex and 40 to 128 long.
 */
char *cli_truncate_hex(const char *s)
{
	struct buf out = BUF_INIT(CLI_OUT_MAX);
	size_t i = 0, n = strlen(s);

	while (i < n) {
		size_t j = i;
		bool hex = true;

		if (!word_char(s[i])) {
			buf_addch(&out, s[i++]);
			continue;
		}
		while (j < n && word_char(s[j])) {
			hex = hex && lower_hex(s[j]);
			j++;
		}
		if (hex && j - i >= 40 && j - i <= 128)
			buf_add(&out, s + i, 8);
		else
			buf_add(&out, s + i, j - i);
		i = j;
	}
	return buf_detach(&out, NULL);
}

/* ---- tables ---- */

struct cli_table {
	size_t n_cols, n_rows, alloc;
	char **cells; /* n_rows * n_cols */
};

struct cli_table *cli_table_new(size_t n_cols)
{
	struct cli_table *t = xcalloc(1, sizeof(*t));

	t->n_cols = n_cols;
	return t;
}

void cli_table_add(struct cli_table *t, const char *const *cells)
{
	if (t->n_rows == t->alloc) {
		t->alloc = t->alloc ? 2 * t->alloc : 8;
		t->cells = xrealloc(t->cells, xalloc__mul(t->alloc * t->n_cols, sizeof(char *)));
	}
	for (size_t c = 0; c < t->n_cols; c++)
		t->cells[t->n_rows * t->n_cols + c] = xstrdup(cells[c] ? cells[c] : "");
	t->n_rows++;
}

size_t cli_table_rows(const struct cli_table *t)
{
	return t->n_rows;
}

struct cli_table *cli_table_free(struct cli_table *t)
{
	if (!t)
		return NULL;
	for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
	return NULL;
}

/* Display width of s[0..n). */
static size_t width(const char *s, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			w++;
	return w;
}

/* The widest line of `s`, and its number of lines. */
static size_t cell_width(const char *s, size_t *ret_lines)
{
	size_t w = 0, lines = 1;

	for (;;) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);

		if (width(s, n) > w)
			w = width(s, n);
		if (!nl)
			break;
		lines++;
		s = nl + 1;
	}
	if (ret_lines)
		*ret_lines = lines;
	return w;
}

/* Line `i` of `s` padded to `w`, then `sep`. */
static void add_line(struct buf *out, const char *s, size_t i, size_t w, const char *sep)
{
	size_t n;

	while (s && i > 0) {
		s = strchr(s, '\n');
		if (s)
			s++;
		i--;
	}
	if (!s) {
		s = "  "; /* tablewriter's filler for a shorter cell of a multi-line row */
		n = 2;
	} else {
		const char *nl = strchr(s, '\n');

		n = nl ? (size_t)(nl - s) : strlen(s);
	}
	buf_add(out, s, n);
	for (size_t k = width(s, n); k < w; k++)
		buf_addch(out, ' ');
	buf_adds(out, sep);
}

int cli_table_render(const struct cli_table *t, const char *const *header, struct buf *out)
{
	_cleanup_free_ size_t *w = xcalloc(t->n_cols ? t->n_cols : 1, sizeof(*w));

	for (size_t c = 0; c < t->n_cols; c++) {
		if (header)
			w[c] = cell_width(header[c], NULL);
		for (size_t r = 0; r < t->n_rows; r++) {
			size_t cw = cell_width(t->cells[r * t->n_cols + c], NULL);

			if (cw > w[c])
				w[c] = cw;
		}
	}
	if (header) {
		for (size_t c = 0; c < t->n_cols; c++) {
			_cleanup_free_ char *up = xstrdup(header[c]);

			for (char *p = up; *p; p++)
				if (*p >= 'a' && *p <= 'z')
					*p = (char)(*p - 'a' + 'A');
			add_line(out, up, 0, w[c], c + 1 == t->n_cols ? " " : "\t");
		}
		buf_addch(out, '\n');
	}
	for (size_t r = 0; r < t->n_rows; r++) {
		size_t lines = 1;

		for (size_t c = 0; c < t->n_cols; c++) {
			size_t l;

			cell_width(t->cells[r * t->n_cols + c], &l);
			if (l > lines)
				lines = l;
		}
		for (size_t l = 0; l < lines; l++) {
			for (size_t c = 0; c < t->n_cols; c++) {
				const char *cell = t->cells[r * t->n_cols + c];
				size_t cl;

				cell_width(cell, &cl);
				add_line(out, l < cl ? cell : NULL, l < cl ? l : 0, w[c], "\t");
			}
			buf_addch(out, '\n');
		}
	}
	return 0;
}

/* ---- ages ---- */

void cli_age(int64_t ns, char out[32])
{
	long long s = (long long)(ns / 1000000000), m, h;

	if (s < -1) {
		snprintf(out, 32, "<invalid>");
		return;
	}
	if (s < 0) {
		snprintf(out, 32, "0s");
		return;
	}
	if (s < 120) {
		snprintf(out, 32, "%llds", s);
		return;
	}
	m = s / 60;
	if (m < 10) {
		if (s % 60 == 0)
			snprintf(out, 32, "%lldm", m);
		else
			snprintf(out, 32, "%lldm%llds", m, s % 60);
		return;
	}
	if (m < 180) {
		snprintf(out, 32, "%lldm", m);
		return;
	}
	h = m / 60;
	if (h < 8) {
		if (m % 60 == 0)
			snprintf(out, 32, "%lldh", h);
		else
			snprintf(out, 32, "%lldh%lldm", h, m % 60);
	} else if (h < 48) {
		snprintf(out, 32, "%lldh", h);
	} else if (h < 24 * 8) {
		if (h % 24 == 0)
			snprintf(out, 32, "%lldd", h / 24);
		else
			snprintf(out, 32, "%lldd%lldh", h / 24, h % 24);
	} else if (h < 24 * 365 * 2) {
		snprintf(out, 32, "%lldd", h / 24);
	} else if (h < 24 * 365 * 8) {
		if ((h / 24) % 365 == 0)
			snprintf(out, 32, "%lldy", h / 24 / 365);
		else
			snprintf(out, 32, "%lldy%lldd", h / 24 / 365, (h / 24) % 365);
	} else {
		snprintf(out, 32, "%lldy", h / 24 / 365);
	}
}

/* ---- conditions ---- */

int cli_status_selector(const char *sel, char **ret_type, char **ret_status, bool *ret_negate)
{
	const char *ne = strstr(sel, "!="), *eq = strchr(sel, '=');
	const char *sep = ne ? ne : eq;

	if (!sep)
		return -EINVAL;
	*ret_negate = ne != NULL;
	*ret_type = xstrndup(sel, (size_t)(sep - sel));
	*ret_status = xstrdup(sep + (ne ? 2 : 1));
	return 0;
}

bool cli_condition_matches(const cJSON *obj, const char *type, const char *status)
{
	const cJSON *conds = yj_get(obj, "/status/conditions"), *c, *found = NULL;

	cJSON_ArrayForEach(c, conds) {
		const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "type"));

		if (t && strcasecmp(t, type) == 0)
			found = c;
	}
	if (!found)
		return false;
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(found, "status"));
	return s && strcasecmp(s, status) == 0;
}

const cJSON *cli_condition(const cJSON *obj, const char *type)
{
	const cJSON *conds = yj_get(obj, "/status/conditions"), *c;

	cJSON_ArrayForEach(c, conds) {
		const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "type"));

		if (streq_ptr(t, type))
			return c;
	}
	return NULL;
}

/* ---- events ---- */

/* Seconds-resolution time of an RFC 3339 field, or 0 when absent or zero. */
static int64_t time_at(const cJSON *e, const char *ptr)
{
	const char *s = yj_get_str(e, ptr);
	int64_t ns;

	if (!s || !*s || time_parse_rfc3339(s, &ns) < 0)
		return 0;
	return ns;
}

int64_t cli_event_time(const cJSON *e)
{
	if (yj_get(e, "/series"))
		return time_at(e, "/series/lastObservedTime");
	if (time_at(e, "/lastTimestamp"))
		return time_at(e, "/lastTimestamp");
	return time_at(e, "/eventTime");
}

static void since(int64_t t, int64_t now, char out[32])
{
	if (!t)
		snprintf(out, 32, "<unknown>");
	else
		cli_age(now - t, out);
}

void cli_event_last_seen(const cJSON *e, int64_t now, char out[96])
{
	char first[32], last[32];
	const cJSON *count = yj_get(e, "/count");

	since(time_at(e, "/eventTime") ? time_at(e, "/eventTime") : time_at(e, "/firstTimestamp"),
	      now, first);
	if (yj_get(e, "/series")) {
		since(time_at(e, "/series/lastObservedTime"), now, last);
		snprintf(out, 96, "%s (x%d over %s)", last,
			 (int)cJSON_GetNumberValue(yj_get(e, "/series/count")), first);
	} else if (cJSON_IsNumber(count) && count->valuedouble > 1) {
		since(time_at(e, "/lastTimestamp"), now, last);
		snprintf(out, 96, "%s (x%d over %s)", last, yj_to_int(count->valuedouble), first);
	} else {
		snprintf(out, 96, "%s", first);
	}
}

#define MASK "**SOPS**"

/* Replace every string value of the map `m` with `v`. */
static void mask_all(cJSON *m, const char *v)
{
	cJSON *it;

	cJSON_ArrayForEach(it, m)
		if (cJSON_IsString(it))
			cJSON_SetValuestring(it, v);
}

void cli_mask_sops(cJSON *obj)
{
	const char *kind = yj_get_str(obj, "/kind"), *type = yj_get_str(obj, "/type");
	const char *mac = yj_get_str(obj, "/sops/mac");
	cJSON *data = cJSON_GetObjectItemCaseSensitive(obj, "data");
	cJSON *sdata = cJSON_GetObjectItemCaseSensitive(obj, "stringData");
	char *mask64 = NULL, *json = NULL, *json64 = NULL;
	cJSON *it;

	if (!kind || !streq(kind, "Secret"))
		return;
	mask64 = b64_encode(MASK, strlen(MASK));
	if (mac && str_startswith(mac, "ENC[")) {
		cJSON_DeleteItemFromObjectCaseSensitive(obj, "sops");
		if (type && streq(type, "kubernetes.io/dockerconfigjson")) {
			json = xstrdup("{\"mask\":\"" MASK "\"}");
			json64 = b64_encode(json, strlen(json));
			mask_all(data, json64);
			mask_all(sdata, json);
		} else {
			mask_all(data, mask64);
			mask_all(sdata, MASK);
		}
	} else {
		cJSON_ArrayForEach(it, data)
		{
			char *v = NULL;
			size_t n;

			if (cJSON_IsString(it) && b64_decode(it->valuestring, &v, &n) == 0 &&
			    strstr(v, "sops") && strstr(v, "ENC["))
				cJSON_SetValuestring(it, mask64);
			free(v);
		}
		cJSON_ArrayForEach(it, sdata)
			if (cJSON_IsString(it) && strstr(it->valuestring, "sops") &&
			    strstr(it->valuestring, "ENC["))
				cJSON_SetValuestring(it, mask64);
	}
	free(mask64);
	free(json);
	free(json64);
}
