/*
 * test_replace.c: lib/kustomize/replace.c's caps on the texts it builds
 * (issue #25: it aborted the process on them).  The file is included with
 * a small RP_TEXT_MAX, so a short input crosses the cap; the behaviour of
 * replacements themselves is tested through kustomize builds in
 * test_kustomize.c and against `kustomize build` (kustomize_diff.sh).
 */
#define RP_TEXT_MAX 64
#include "../../lib/kustomize/replace.c"
#include "harness.h"

static char *repeat(char c, size_t n)
{
	char *s = xmalloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

TEST(path_split_over_the_cap_is_an_error)
{
	struct op_err err = OP_ERR_INIT;
	char *seg = repeat('a', 100), *joined = repeat('b', 100), *path;
	struct rp_path p;

	ASSERT_EQ(path_split(seg, &p, &err), -EFBIG);
	ASSERT_CONTAINS(err.msg, "field path is over the limit of 64 bytes");
	/* A bracketed segment spanning dots is joined: its sum is capped too. */
	path = xasprintf("spec.[name=%.40s.%.40s].x", joined, joined);
	ASSERT_EQ(path_split(path, &p, &err), -EFBIG);
	free(path);
	path = xasprintf("%.40s\\.%.40s", joined, joined); /* an escaped dot joins too */
	ASSERT_EQ(path_split(path, &p, &err), -EFBIG);
	free(path);
	ASSERT_OK(path_split("spec.[name=a.b].x", &p, &err));
	ASSERT_EQ(p.n, 3);
	ASSERT_STREQ(p.seg[1], "[name=a.b]");
	path_release(&p);
	free(seg);
	free(joined);
}

TEST(delimited_value_over_the_cap_is_an_error)
{
	struct op_err err = OP_ERR_INIT;
	cJSON *obj = cJSON_CreateObject(), *opts = cJSON_Parse("{\"delimiter\":\"-\",\"index\":1}");
	char *cur = repeat('c', 40);
	struct rp_val val = { .tag = T_PLAIN, .text = repeat('v', 40) };
	char *path;
	struct hit h;

	h.parent = obj;
	h.node = cJSON_AddStringToObject(obj, "image", cur);
	h.fresh = false;
	ASSERT_EQ(set_field(opts, &h, &val, &err), -EFBIG);
	ASSERT_CONTAINS(err.msg, "delimited value is over the limit");
	ASSERT_STREQ(cJSON_GetObjectItem(obj, "image")->valuestring, cur); /* untouched */
	free(val.text);
	val.text = xstrdup("v2");
	ASSERT_OK(set_field(opts, &h, &val, &err));
	path = xasprintf("%s-v2", cur); /* index 1 past the end: appended */
	ASSERT_STREQ(h.node->valuestring, path);
	free(path);
	free(val.text);
	free(cur);
	cJSON_Delete(opts);
	cJSON_Delete(obj);
}
