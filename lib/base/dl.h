/*
 * dl.h: a shared library opened at its first use, not at process start.
 *
 * libcurl and libarchive bring about forty libraries with them (TLS,
 * Kerberos, LDAP, compressors, XML): loading them costs every process
 * some 20 ms and 9 MiB of pages, though `cflux helm template` and
 * `cflux kustomize build` on a directory use neither.  So the file that
 * confines each of them (lib/kube/http.c, lib/source/artifact.c) opens it
 * through this, the first time it is needed, as git keeps libcurl out of
 * `git` and in its remote helpers.
 *
 * Usage, in the one file that uses the library: an X-macro lists its
 * functions, a `__typeof__(f) *dl_f` pointer each, and a `#define f
 * (*dl_f)` each after the library's header, so the calls read as before:
 *
 *   #define CURL_FUNCS(X) X(curl_easy_init) X(curl_easy_cleanup) ...
 *   DL_DEFINE(curl_lib, "libcurl.so.4", CURL_FUNCS);
 *   #define curl_easy_init (*dl_curl_easy_init)
 *   ...
 *   r = dl_load(&curl_lib, err);
 *
 * Threading: dl_load() may be called from any thread, any number of
 * times; the first call loads (under the struct's once-guard) and every
 * call returns the first call's result, so a missing library fails every
 * use the same way.  Nothing is ever unloaded.
 */
#ifndef CFLUX_BASE_DL_H
#define CFLUX_BASE_DL_H

#include <pthread.h>
#include <stddef.h>

#include "base/err.h"
#include "base/macro.h"

struct dl_lib {
	const char *soname;
	const char *const *names;
	void **const *slots;
	size_t n;
	pthread_once_t once;
	int code;       /* 0 loaded, or the negative errno of the failure */
	char msg[160];  /* why it failed */
};

#define DL_LIB(soname, names, slots) \
	{ (soname), (names), (slots), ARRAY_SIZE(names), PTHREAD_ONCE_INIT, 0, "" }

/*
 * `static struct dl_lib lib` for the functions FUNCS(X) lists, each with
 * its pointer `dl_<function>` of the function's own type.
 */
#define DL_PTR_(f) static __typeof__(f) *dl_##f;
#define DL_NAME_(f) #f,
#define DL_SLOT_(f) (void **)&dl_##f,
#define DL_DEFINE(lib, soname, FUNCS)                                       \
	FUNCS(DL_PTR_)                                                      \
	static const char *const lib##_names[] = { FUNCS(DL_NAME_) };      \
	static void **const lib##_slots[] = { FUNCS(DL_SLOT_) };           \
	static struct dl_lib lib = DL_LIB(soname, lib##_names, lib##_slots)

/*
 * Open the library (at the first call) and store the address of each
 * `names[i]` in `*slots[i]`.  0, or -ENOENT ("cannot load 'libcurl.so.4':
 * <dlerror>") when the library or one of its functions is missing.
 */
int dl_load(struct dl_lib *lib, struct op_err *reterr);

#endif
