/*
 * test_dl.c: lib/base/dl.c, a library opened at its first use.
 */
#include <math.h>

#include "base/dl.h"
#include "harness.h"

static __typeof__(cos) *dl_cos;
static __typeof__(sqrt) *dl_sqrt;

TEST(loads_once_and_resolves_every_function)
{
	static const char *const names[] = { "cos", "sqrt" };
	static void **const slots[] = { (void **)&dl_cos, (void **)&dl_sqrt };
	static struct dl_lib lib = DL_LIB("libm.so.6", names, slots);
	struct op_err err;

	ASSERT_OK(dl_load(&lib, &err));
	ASSERT_NOT_NULL(dl_cos);
	ASSERT(dl_sqrt(16.0) == 4.0);
	ASSERT(dl_cos(0.0) == 1.0);
	/* again: the first result */
	ASSERT_OK(dl_load(&lib, &err));
}

TEST(a_missing_library_fails_every_use_the_same_way)
{
	static const char *const names[] = { "nothing" };
	static void *slot;
	static void **const slots[] = { &slot };
	static struct dl_lib lib = DL_LIB("libcflux-absent.so.9", names, slots);
	struct op_err err;

	ASSERT_EQ(dl_load(&lib, &err), -ENOENT);
	ASSERT_CONTAINS(err.msg, "cannot load 'libcflux-absent.so.9': ");
	ASSERT_EQ(dl_load(&lib, &err), -ENOENT);
	ASSERT_CONTAINS(err.msg, "libcflux-absent.so.9");
	ASSERT_NULL(slot);
}

TEST(a_missing_function_is_named)
{
	static const char *const names[] = { "cos", "cflux_no_such_function" };
	static void *a, *b;
	static void **const slots[] = { &a, &b };
	static struct dl_lib lib = DL_LIB("libm.so.6", names, slots);
	struct op_err err;

	ASSERT_EQ(dl_load(&lib, &err), -ENOENT);
	ASSERT_STREQ(err.msg, "cannot load 'libm.so.6': no function 'cflux_no_such_function' in it");
}
