/*
 * fuzz_envsubst.c: fuzz target for post-build substitution, which runs on
 * text from users' repositories.  Variables a..e are set (some empty);
 * strict and lenient modes both run; output is capped.  Invariant: no
 * crash, no leak, and text without "${" comes back unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kustomize/envsubst.h"
#include "base/alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool lookup(const char *name, const char **ret, void *payload)
{
	static const char *const vals[] = { "alpha", "", "a/b.c", "${a}", "UPPER" };

	if (name[0] >= 'a' && name[0] <= 'e' && name[1] == '\0') {
		*ret = vals[name[0] - 'a'];
		return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = xstrndup((const char *)data, size);
	struct buf out = BUF_INIT(1 << 20);
	struct op_err err;
	int r;

	r = envsubst(in, lookup, NULL, false, &out, &err);
	if (r == 0 && !strstr(in, "${") && strcmp(in, out.buf) != 0)
		abort();
	buf_reset(&out);
	envsubst(in, lookup, NULL, true, &out, &err);
	buf_release(&out);
	free(in);
	return 0;
}
