/*
 * test_cli.c: cli/table.c — bin/cflux's pure formatting: flux's tables and
 * hex shortening, kubectl's ages, --status-selector.  The expected tables
 * are what the flux CLI 2.9.5 prints (tablewriter, borderless, tab padding).
 */
#include <errno.h>
#include <stdlib.h>

#include "base/alloc.h"
#include "harness.h"
#include "cli/table.c"

TEST(truncate_hex_cuts_digests)
{
	static const char sha1[] = "0123456789abcdef0123456789abcdef01234567";
	_cleanup_free_ char *in = xasprintf("main@sha1:%s", sha1);
	_cleanup_free_ char *msg = xasprintf("Applied revision: main@sha1:%s, again %s.", sha1, sha1);
	_cleanup_free_ char *a = cli_truncate_hex(in), *b = cli_truncate_hex(msg);

	ASSERT_STREQ(a, "main@sha1:01234567");
	ASSERT_STREQ(b, "Applied revision: main@sha1:01234567, again 01234567.");
}

TEST(truncate_hex_leaves_other_words)
{
	/* 39 hex, upper case, glued to a word character, a SemVer: all kept */
	static const char *const keep[] = {
		"012345678901234567890123456789012345678",
		"0123456789ABCDEF0123456789ABCDEF01234567",
		"x0123456789abcdef0123456789abcdef01234567",
		"0123456789abcdef0123456789abcdef01234567_",
		"6.5.1",
		"",
	};

	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		_cleanup_free_ char *s = cli_truncate_hex(keep[i]);

		ASSERT_STREQ(s, keep[i]);
	}
}

TEST(truncate_hex_sha256_and_too_long)
{
	char d[130], long_run[130];

	for (int i = 0; i < 64; i++)
		d[i] = "0123456789abcdef"[i % 16];
	d[64] = '\0';
	for (int i = 0; i < 129; i++)
		long_run[i] = 'a';
	long_run[129] = '\0';
	_cleanup_free_ char *in = xasprintf("sha256:%s", d);
	_cleanup_free_ char *a = cli_truncate_hex(in), *b = cli_truncate_hex(long_run);

	ASSERT_STREQ(a, "sha256:01234567");
	ASSERT_STREQ(b, long_run); /* 129 is past flux's {40,128} */
}

TEST(table_as_flux_prints_it)
{
	static const char *const header[] = { "Name", "Revision", "Suspended", "Ready", "Message" };
	static const char *const r1[] = { "app", "main@sha1:b1260a61", "False", "True",
					  "Applied revision: main@sha1:b1260a61" };
	static const char *const r2[] = { "broken", "", "False", "False", "path not found" };
	struct cli_table *t = cli_table_new(5);
	struct buf out = BUF_INIT(4096);

	cli_table_add(t, r1);
	cli_table_add(t, r2);
	ASSERT_EQ(cli_table_rows(t), 2);
	ASSERT_OK(cli_table_render(t, header, &out));
	ASSERT_STREQ(out.buf,
		     "NAME  \tREVISION          \tSUSPENDED\tREADY\tMESSAGE                              \n"
		     "app   \tmain@sha1:b1260a61\tFalse    \tTrue \tApplied revision: main@sha1:b1260a61\t\n"
		     "broken\t                  \tFalse    \tFalse\tpath not found                      \t\n");
	buf_reset(&out);
	ASSERT_OK(cli_table_render(t, NULL, &out));
	ASSERT_STREQ(out.buf,
		     "app   \tmain@sha1:b1260a61\tFalse\tTrue \tApplied revision: main@sha1:b1260a61\t\n"
		     "broken\t                  \tFalse\tFalse\tpath not found                      \t\n");
	buf_release(&out);
	cli_table_free(t);
}

TEST(table_multiline_and_utf8_cells)
{
	static const char *const header[] = { "a", "b" };
	static const char *const r1[] = { "x", "one\nthree" };
	static const char *const r2[] = { "é", "z" };
	struct cli_table *t = cli_table_new(2);
	struct buf out = BUF_INIT(4096);

	cli_table_add(t, r1);
	cli_table_add(t, r2);
	ASSERT_OK(cli_table_render(t, header, &out));
	ASSERT_STREQ(out.buf, "A\tB     \n"
			      "x\tone  \t\n"
			      "  \tthree\t\n"
			      "é\tz    \t\n");
	buf_release(&out);
	cli_table_free(t);
}

TEST(age_as_kubectl)
{
	static const struct {
		int64_t s;
		const char *want;
	} cases[] = {
		{ -5, "<invalid>" }, { 0, "0s" },       { 119, "119s" },     { 120, "2m" },
		{ 303, "5m3s" },     { 600, "10m" },    { 10799, "179m" },   { 3 * 3600, "3h" },
		{ 3 * 3600 + 240, "3h4m" },             { 8 * 3600, "8h" },  { 47 * 3600, "47h" },
		{ 2 * 86400 + 5 * 3600, "2d5h" },       { 3 * 86400, "3d" }, { 10 * 86400, "10d" },
		{ 729 * 86400, "729d" },                { 730 * 86400, "2y" },
		{ 3 * 365 * 86400 + 45 * 86400, "3y45d" }, { 9 * 365 * 86400, "9y" },
	};
	char out[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cli_age(cases[i].s * 1000000000LL, out);
		ASSERT_STREQ(out, cases[i].want);
	}
}

TEST(status_selector)
{
	char *type = NULL, *status = NULL;
	bool neg = true;
	cJSON *obj = cJSON_Parse("{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":"
				 "\"False\"},{\"type\":\"Reconciling\",\"status\":\"True\"}]}}");

	ASSERT_OK(cli_status_selector("ready=false", &type, &status, &neg));
	ASSERT_STREQ(type, "ready");
	ASSERT_STREQ(status, "false");
	ASSERT(!neg);
	ASSERT(cli_condition_matches(obj, type, status));
	free(type);
	free(status);
	ASSERT_OK(cli_status_selector("Reconciling!=True", &type, &status, &neg));
	ASSERT(neg);
	ASSERT_STREQ(type, "Reconciling");
	ASSERT(cli_condition_matches(obj, type, status));
	ASSERT(!cli_condition_matches(obj, "Stalled", "True"));
	free(type);
	free(status);
	ASSERT_EQ(cli_status_selector("ready", &type, &status, &neg), -EINVAL);
	ASSERT(cli_condition(obj, "Reconciling") != NULL);
	ASSERT(cli_condition(obj, "reconciling") == NULL);
	cJSON_Delete(obj);
}

TEST(event_last_seen_as_kubectl)
{
	int64_t now;
	char out[96];
	cJSON *once, *repeated, *series, *none;

	ASSERT_OK(time_parse_rfc3339("2026-01-01T01:00:00Z", &now));
	once = cJSON_Parse("{\"firstTimestamp\":\"2026-01-01T00:55:00Z\","
			   "\"lastTimestamp\":\"2026-01-01T00:55:00Z\",\"count\":1}");
	repeated = cJSON_Parse("{\"firstTimestamp\":\"2026-01-01T00:30:00Z\","
			       "\"lastTimestamp\":\"2026-01-01T00:58:00Z\",\"count\":3}");
	series = cJSON_Parse("{\"eventTime\":\"2026-01-01T00:50:00.000000Z\",\"series\":"
			     "{\"count\":4,\"lastObservedTime\":\"2026-01-01T00:59:30.000000Z\"}}");
	none = cJSON_Parse("{}");
	cli_event_last_seen(once, now, out);
	ASSERT_STREQ(out, "5m");
	cli_event_last_seen(repeated, now, out);
	ASSERT_STREQ(out, "2m (x3 over 30m)");
	cli_event_last_seen(series, now, out);
	ASSERT_STREQ(out, "30s (x4 over 10m)");
	cli_event_last_seen(none, now, out);
	ASSERT_STREQ(out, "<unknown>");
	ASSERT(cli_event_time(series) > cli_event_time(repeated));
	ASSERT(cli_event_time(repeated) > cli_event_time(once));
	ASSERT_EQ(cli_event_time(none), 0);
	cJSON_Delete(once);
	cJSON_Delete(repeated);
	cJSON_Delete(series);
	cJSON_Delete(none);
}

TEST(mask_sops_as_flux_build)
{
	cJSON *enc = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"data\":{\"t\":\"eHl6\"},"
				 "\"stringData\":{\"p\":\"ENC[x]\"},\"sops\":{\"mac\":\"ENC[m]\"}}");
	cJSON *dock = cJSON_Parse("{\"kind\":\"Secret\",\"type\":\"kubernetes.io/dockerconfigjson\","
				  "\"data\":{\".dockerconfigjson\":\"eHl6\"},\"sops\":{\"mac\":\"ENC[m]\"}}");
	/* "sops ENC[x]" in base64, and a plain value */
	cJSON *part = cJSON_Parse("{\"kind\":\"Secret\",\"data\":{\"a\":\"c29wcyBFTkNbeF0=\","
				  "\"b\":\"cGxhaW4=\"},\"stringData\":{\"c\":\"sops ENC[y]\",\"d\":\"v\"}}");
	cJSON *cm = cJSON_Parse("{\"kind\":\"ConfigMap\",\"data\":{\"a\":\"sops ENC[x]\"},"
				"\"sops\":{\"mac\":\"ENC[m]\"}}");

	cli_mask_sops(enc);
	ASSERT_NULL(yj_get(enc, "/sops"));
	ASSERT_STREQ(yj_get_str(enc, "/data/t"), "KipTT1BTKio="); /* base64("**SOPS**") */
	ASSERT_STREQ(yj_get_str(enc, "/stringData/p"), "**SOPS**");
	cli_mask_sops(dock);
	ASSERT_STREQ(yj_get_str(dock, "/data/.dockerconfigjson"), "eyJtYXNrIjoiKipTT1BTKioifQ==");
	cli_mask_sops(part);
	ASSERT_STREQ(yj_get_str(part, "/data/a"), "KipTT1BTKio=");
	ASSERT_STREQ(yj_get_str(part, "/data/b"), "cGxhaW4=");
	ASSERT_STREQ(yj_get_str(part, "/stringData/c"), "KipTT1BTKio=");
	ASSERT_STREQ(yj_get_str(part, "/stringData/d"), "v");
	cli_mask_sops(cm);
	ASSERT_STREQ(yj_get_str(cm, "/data/a"), "sops ENC[x]");
	ASSERT_NOT_NULL(yj_get(cm, "/sops"));
	cJSON_Delete(enc);
	cJSON_Delete(dock);
	cJSON_Delete(part);
	cJSON_Delete(cm);
}
