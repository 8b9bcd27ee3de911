/*
 * test_log.c: lib/base/log.c — the JSON line shape, escaping, levels,
 * and that secrets never reach the output.
 */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/log.h"
#include "harness.h"

/* Run `fn` with logging into a pipe and return what it wrote. */
static char *capture(void (*fn)(void), enum log_encoding enc, enum log_level lvl)
{
	static char out[70000];
	int p[2];
	ssize_t n;
	size_t off = 0;

	ASSERT_OK(pipe(p));
	log_setup(lvl, enc, p[1]);
	fn();
	close(p[1]);
	while ((n = read(p[0], out + off, sizeof(out) - 1 - off)) > 0)
		off += (size_t)n;
	out[off] = '\0';
	close(p[0]);
	log_setup(LOG_INFO, LOG_JSON, 2);
	return out;
}

static void reconcile_line(void)
{
	struct log_ctx c = { .controller = "gitrepository", .group = "source.toolkit.fluxcd.io",
			     .kind = "GitRepository", .ns = "flux-system", .name = "podinfo" };

	memcpy(c.reconcile_id, "ef0fe80e-0000-4000-8000-000000000000", 37);
	log_info(&c, "New revision detected", "revision", "main@sha1:abc", NULL);
}

TEST(json_line_has_controller_runtime_keys)
{
	char *out = capture(reconcile_line, LOG_JSON, LOG_INFO);
	cJSON *j = cJSON_Parse(out);

	ASSERT_NOT_NULL(j);
	ASSERT_EQ(out[strlen(out) - 1], '\n');
	ASSERT_EQ(strchr(out, '\n') - out, (long)strlen(out) - 1);
	ASSERT_STREQ(cJSON_GetObjectItem(j, "level")->valuestring, "info");
	ASSERT_STREQ(cJSON_GetObjectItem(j, "msg")->valuestring, "New revision detected");
	ASSERT_STREQ(cJSON_GetObjectItem(j, "controller")->valuestring, "gitrepository");
	ASSERT_STREQ(cJSON_GetObjectItem(j, "controllerKind")->valuestring, "GitRepository");
	ASSERT_STREQ(cJSON_GetObjectItem(j, "namespace")->valuestring, "flux-system");
	ASSERT_STREQ(cJSON_GetObjectItem(j, "name")->valuestring, "podinfo");
	ASSERT_STREQ(cJSON_GetObjectItem(j, "reconcileID")->valuestring,
		     "ef0fe80e-0000-4000-8000-000000000000");
	ASSERT_STREQ(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "GitRepository"), "name")->valuestring,
		     "podinfo");
	ASSERT_STREQ(cJSON_GetObjectItem(j, "revision")->valuestring, "main@sha1:abc");
	ASSERT_EQ(strlen(cJSON_GetObjectItem(j, "ts")->valuestring), 24);
	cJSON_Delete(j);
}

static void secrets_line(void)
{
	log_error(NULL, "Fetch failed for https://alice:s3cr3t@git.example.com/repo.git",
		  "error", "clone 'https://bob:hunter2@host/x': 401", "token", "abc.def.ghi",
		  "sshPrivateKey", "-----BEGIN", "password", "pw", "url",
		  "ssh://git:pw@h:22/r", NULL);
}

TEST(secrets_are_redacted)
{
	char *out = capture(secrets_line, LOG_JSON, LOG_INFO);
	cJSON *j = cJSON_Parse(out);

	ASSERT_NOT_NULL(j);
	ASSERT(!strstr(out, "s3cr3t"));
	ASSERT(!strstr(out, "alice"));
	ASSERT(!strstr(out, "hunter2"));
	ASSERT(!strstr(out, "abc.def"));
	ASSERT(!strstr(out, "BEGIN"));
	ASSERT(!strstr(out, "\"pw\""));
	ASSERT(!strstr(out, "git:pw"));
	ASSERT_STREQ(cJSON_GetObjectItem(j, "msg")->valuestring,
		     "Fetch failed for https://git.example.com/repo.git");
	ASSERT_STREQ(cJSON_GetObjectItem(j, "error")->valuestring, "clone 'https://host/x': 401");
	ASSERT_STREQ(cJSON_GetObjectItem(j, "token")->valuestring, "***");
	ASSERT_STREQ(cJSON_GetObjectItem(j, "url")->valuestring, "ssh://h:22/r");
	cJSON_Delete(j);
}

static void escapes_line(void)
{
	log_info(NULL, "Quote \" backslash \\ newline \n tab \t bell \a", "k", NULL, NULL);
}

TEST(control_characters_escaped)
{
	char *out = capture(escapes_line, LOG_JSON, LOG_INFO);
	cJSON *j = cJSON_Parse(out);

	ASSERT_NOT_NULL(j);
	ASSERT_STREQ(cJSON_GetObjectItem(j, "msg")->valuestring,
		     "Quote \" backslash \\ newline \n tab \t bell \a");
	ASSERT(cJSON_IsNull(cJSON_GetObjectItem(j, "k")));
	ASSERT_EQ(strchr(out, '\n') - out, (long)strlen(out) - 1);
	cJSON_Delete(j);
}

static void levels_lines(void)
{
	log_debug(NULL, "debug line", NULL);
	log_trace(NULL, "trace line", NULL);
	log_info(NULL, "info line", NULL);
}

TEST(levels_filter)
{
	char *out = capture(levels_lines, LOG_JSON, LOG_INFO);
	enum log_level l;
	enum log_encoding e;

	ASSERT(!strstr(out, "debug line"));
	ASSERT(strstr(out, "info line"));
	out = capture(levels_lines, LOG_JSON, LOG_DEBUG);
	ASSERT(strstr(out, "debug line"));
	ASSERT(!strstr(out, "trace line"));
	ASSERT_OK(log_parse_level("trace", &l));
	ASSERT_EQ(l, LOG_TRACE);
	ASSERT(log_parse_level("verbose", &l) < 0);
	ASSERT_OK(log_parse_encoding("console", &e));
	ASSERT(log_parse_encoding("xml", &e) < 0);
}

TEST(console_encoding)
{
	char *out = capture(reconcile_line, LOG_CONSOLE, LOG_INFO);

	ASSERT_CONTAINS(out, "\tINFO\tNew revision detected\tcontroller=gitrepository");
	ASSERT_CONTAINS(out, " revision=main@sha1:abc\n");
}

static void huge_line(void)
{
	char *v = xmalloc(200000);

	memset(v, 'v', 199999);
	v[199999] = '\0';
	log_info(NULL, "Huge", "value", v, NULL);
	free(v);
}

TEST(huge_line_is_cut_but_one_line)
{
	char *out = capture(huge_line, LOG_JSON, LOG_INFO);

	ASSERT(strlen(out) <= 64 * 1024 + 1);
	ASSERT_EQ(strchr(out, '\n') - out, (long)strlen(out) - 1);
}
