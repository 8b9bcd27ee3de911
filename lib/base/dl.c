/*
 * dl.c: a shared library opened at its first use (see dl.h).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "base/dl.h"
#include "base/banned.h"

/* pthread_once() takes no argument: the library being loaded is handed
 * over in a thread-local, set by dl_load() around the call. */
static _Thread_local struct dl_lib *loading;

static void load_once(void)
{
	struct dl_lib *lib = loading;
	void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
	size_t i;

	if (!h) {
		lib->code = -ENOENT;
		snprintf(lib->msg, sizeof(lib->msg), "%s", dlerror());
		return;
	}
	for (i = 0; i < lib->n; i++) {
		void *sym = dlsym(h, lib->names[i]);

		if (!sym) {
			lib->code = -ENOENT;
			snprintf(lib->msg, sizeof(lib->msg), "no function '%s' in it", lib->names[i]);
			return;
		}
		*lib->slots[i] = sym;
	}
}

int dl_load(struct dl_lib *lib, struct op_err *reterr)
{
	loading = lib;
	pthread_once(&lib->once, load_once);
	loading = NULL;
	if (lib->code < 0)
		return op_err_set(reterr, lib->code, "cannot load '%s': %s", lib->soname, lib->msg);
	return 0;
}
