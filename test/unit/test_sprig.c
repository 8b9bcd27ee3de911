/*
 * test_sprig.c: the Sprig functions' limits and clock hook, which the
 * differential cases (test/data/tmpl/sprig_*.cases, against Helm) cannot
 * show: sizes derived from arguments fail cleanly within the arena and
 * step budgets instead of allocating, and dates follow an injected clock.
 */
#include <errno.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "harness.h"
#include "tmpl/gotime.h"
#include "tmpl/tmpl.h"

/* Render `text` with Sprig and small limits; returns the exec result. */
static int render(const char *text, size_t arena_max, uint64_t steps, struct buf *out, struct tmpl_error *err)
{
	struct tmpl_funcs *f = tmpl_funcs_new();
	struct tmpl_set *s;
	struct tmpl_arena *a = tmpl_arena_new(arena_max);
	struct tmpl_exec_opts o = { .arena = a, .max_steps = steps, .missingkey = TMPL_MISSINGKEY_ZERO };
	int r;

	tmpl_funcs_add_sprig(f);
	tmpl_funcs_add_data(f);
	s = tmpl_set_new(f, NULL);
	r = tmpl_set_parse(s, "t", text, strlen(text), err);
	if (r == 0)
		r = tmpl_exec(s, "t", tmpl_nil(), &o, out, err);
	tmpl_arena_free(a);
	tmpl_set_free(s);
	tmpl_funcs_free(f);
	return r;
}

#define ASSERT_FAILS_WITH(text, want)                                                              \
	do {                                                                                       \
		struct buf o__ = BUF_INIT(1 << 20);                                                \
		struct tmpl_error e__ = TMPL_ERROR_INIT;                                           \
		ASSERT(render(text, 16u << 20, 1000000, &o__, &e__) < 0);                          \
		ASSERT_CONTAINS(e__.msg, want);                                                    \
		tmpl_error_release(&e__);                                                          \
		buf_release(&o__);                                                                 \
	} while (0)

TEST(huge_sizes_fail_within_the_budgets)
{
	ASSERT_FAILS_WITH("{{ repeat 1000000000 \"x\" }}", "error calling repeat: memory limit of");
	ASSERT_FAILS_WITH("{{ len (until 100000000) }}", "error calling until:");
	ASSERT_FAILS_WITH("{{ untilStep 0 2000000000 1 }}", "error calling untilStep:");
	ASSERT_FAILS_WITH("{{ seq 1000000000 }}", "error calling seq:");
	ASSERT_FAILS_WITH("{{ indent 1000000000 \"a\\nb\" }}", "error calling indent: memory limit of");
	ASSERT_FAILS_WITH("{{ randAlpha 1000000000 }}", "error calling randAlpha: memory limit of");
	ASSERT_FAILS_WITH("{{ randBytes 1000000000 }}", "error calling randBytes: memory limit of");
}

TEST(decimal_growth_is_capped)
{
	struct buf o = BUF_INIT(1 << 20), t = BUF_INIT(1 << 20);
	struct tmpl_error e = TMPL_ERROR_INIT;
	int i;

	/* Each 17-digit factor adds 17 digits to the exact product: 300 pass the cap. */
	ASSERT_OK(buf_adds(&t, "{{ mulf"));
	for (i = 0; i < 300; i++)
		ASSERT_OK(buf_adds(&t, " 1.2345678901234567"));
	ASSERT_OK(buf_adds(&t, " }}"));
	ASSERT(render(t.buf, 64u << 20, 10000000, &o, &e) < 0);
	buf_release(&t);
	ASSERT_CONTAINS(e.msg, "decimal: number too large to compute");
	tmpl_error_release(&e);
	buf_release(&o);
}

static int64_t fixed_clock(void)
{
	return INT64_C(1700000000) * 1000000000;
}

TEST(dates_follow_the_injected_clock)
{
	struct buf o = BUF_INIT(1 << 20);
	struct tmpl_error e = TMPL_ERROR_INIT;

	gotime_set_clock(fixed_clock);
	ASSERT_OK(render("{{ now | unixEpoch }} {{ dateInZone \"2006-01-02T15:04:05Z07:00\" now \"UTC\" }} "
			 "{{ ago (toDate \"2006-01-02\" \"2023-11-14\") }} {{ dateInZone \"2006\" 1.5 \"UTC\" }}",
			 16u << 20, 100000, &o, &e));
	ASSERT_STREQ(o.buf, "1700000000 2023-11-14T22:13:20Z 22h13m20s 2023");
	gotime_set_clock(NULL);
	buf_release(&o);
}
