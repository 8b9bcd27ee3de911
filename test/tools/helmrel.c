/*
 * helmrel.c: Helm release records through lib/helm, for the e2e test
 * test/e2e/helm_release.sh (which checks them against the real `helm`).
 *
 *   helmrel decode              a release Secret (JSON, stdin) -> the release JSON
 *   helmrel manifest            a release Secret (JSON, stdin) -> its manifest
 *   helmrel render CHART NAME NS [k=v ...]
 *                               our manifest for CHART (what a release stores)
 *   helmrel write CHART NAME NS [k=v ...]
 *                               a release Secret for revision 1, "deployed",
 *                               with the --set values given (JSON, stdout)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/str.h"
#include "base/time.h"
#include "helm/helm.h"
#include "yj/yj.h"

static int usage(void)
{
	fputs("usage: helmrel decode|manifest < secret.json\n"
	      "       helmrel render|write CHART NAME NAMESPACE [key=value ...]\n",
	      stderr);
	return 2;
}

static cJSON *read_secret(void)
{
	struct buf b = BUF_INIT(64u << 20);
	char chunk[65536];
	size_t n;
	cJSON *j;

	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		if (buf_add(&b, chunk, n) < 0)
			break;
	j = cJSON_ParseWithLength(b.buf, b.len);
	buf_release(&b);
	return j;
}

static int render(const char *path, const char *name, const char *ns, char **sets, int nsets,
		  struct helm_rendered **ret, cJSON **ret_values)
{
	struct helm_render_opts o = { .release_name = name, .ns = ns, .record = true };
	struct op_err err = OP_ERR_INIT;
	struct helm_chart *c = NULL;
	cJSON *v = cJSON_CreateObject();
	int i;

	for (i = 0; i < nsets; i++)
		if (helm_strvals_parse(v, sets[i], HELM_SET, NULL, NULL, &err) < 0)
			goto fail;
	if (helm_chart_load_path(path, NULL, &c, &err) < 0 ||
	    helm_render(c, v, &o, ret, NULL, &err) < 0)
		goto fail;
	helm_chart_free(c);
	*ret_values = v;
	return 0;
fail:
	fprintf(stderr, "helmrel: %s\n", err.msg);
	helm_chart_free(c);
	cJSON_Delete(v);
	return 1;
}

int main(int argc, char **argv)
{
	struct op_err err = OP_ERR_INIT;
	struct helm_rendered *r = NULL;
	cJSON *values = NULL, *rel = NULL;
	int64_t now = time_now_ns();

	if (argc == 2 && (streq(argv[1], "decode") || streq(argv[1], "manifest"))) {
		cJSON *s = read_secret();
		struct buf out = BUF_INIT(256u << 20);

		if (!s || helm_release_from_secret(s, 256u << 20, &rel, &err) < 0) {
			fprintf(stderr, "helmrel: %s\n", s ? err.msg : "stdin is not JSON");
			return 1;
		}
		if (streq(argv[1], "manifest"))
			fputs(yj_get_str(rel, "/manifest") ? yj_get_str(rel, "/manifest") : "", stdout);
		else if (yj_print_canonical(rel, &out) == 0)
			puts(out.buf);
		buf_release(&out);
		cJSON_Delete(rel);
		cJSON_Delete(s);
		return 0;
	}
	if (argc < 5)
		return usage();
	if (render(argv[2], argv[3], argv[4], argv + 5, argc - 5, &r, &values))
		return 1;
	if (streq(argv[1], "render")) {
		fputs(r->manifest, stdout);
	} else if (streq(argv[1], "write")) {
		struct helm_release_info info = { .first_deployed = now,
						  .last_deployed = now,
						  .description = "Install complete",
						  .status = "deployed",
						  .notes = r->notes };
		cJSON *secret;
		char *text;

		rel = helm_release_new(argv[3], argv[4], 1, r, values, &info);
		secret = helm_release_secret(rel, argv[4], false, now / 1000000000, NULL, &err);
		if (!secret) {
			fprintf(stderr, "helmrel: %s\n", err.msg);
			return 1;
		}
		text = cJSON_PrintUnformatted(secret);
		puts(text);
		free(text);
		cJSON_Delete(secret);
		cJSON_Delete(rel);
	} else {
		return usage();
	}
	helm_rendered_free(r);
	cJSON_Delete(values);
	return 0;
}
