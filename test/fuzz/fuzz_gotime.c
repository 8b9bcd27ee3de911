/*
 * fuzz_gotime.c: fuzz target for the Go time layouts of lib/tmpl/gotime.c.
 *
 * The input is a layout, then optionally a NUL byte and a value.  The
 * layout formats a few fixed instants (output bounded by the buffer), and
 * the value is parsed with it: a failure must carry Go's "parsing time "
 * message; a success must format back without error.  Dates far outside
 * the calendar's usual range exercise the civil-date arithmetic.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "tmpl/gotime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t instants[] = { 0, -1, 1700000000, INT64_C(-62135596800), INT64_C(253402300799) };
	const char *layout = (const char *)data, *nul;
	size_t llen = size, i;
	struct gotime_zone *z = gotime_zone_fixed("FUZ", 5 * 3600 + 45 * 60);
	struct buf out = BUF_INIT(1 << 16);
	struct gotime t;
	char *err = NULL;

	if (size > 4096) {
		gotime_zone_unref(z);
		return 0;
	}
	nul = memchr(data, '\0', size);
	if (nul)
		llen = (size_t)(nul - layout);
	for (i = 0; i < sizeof(instants) / sizeof(instants[0]); i++) {
		gotime_unix(instants[i], &t);
		gotime_in(&t, i % 2 ? z : NULL);
		buf_reset(&out);
		(void)gotime_format(&t, layout, llen, &out);
		gotime_release(&t);
	}
	if (nul) {
		if (gotime_parse(layout, llen, nul + 1, size - llen - 1, z, &t, &err) < 0) {
			if (!err || strncmp(err, "parsing time ", 13) != 0)
				abort();
			free(err);
		} else {
			buf_reset(&out);
			(void)gotime_format(&t, layout, llen, &out);
			(void)gotime_string(&t, &out);
			gotime_release(&t);
		}
	}
	buf_release(&out);
	gotime_zone_unref(z);
	return 0;
}
