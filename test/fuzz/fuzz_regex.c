/*
 * fuzz_regex.c: fuzz target for lib/base/regex.c.
 *
 * The input is a pattern, then optionally a NUL byte and a subject.  The
 * pattern is compiled; a failure must come with Go's "error parsing
 * regexp: " message.  A compiled pattern is run over the subject with
 * every entry point, checking that match offsets are in range and
 * ordered, that a match found by find_all is also found by exec from the
 * same place, and that replace/split stay within their buffers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/regex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct check {
	const char *s;
	size_t n;
	size_t ncap;
	ssize_t last_end;
};

static int on_match(void *ud, const ssize_t *caps)
{
	struct check *c = ud;
	size_t i;

	if (caps[0] < 0 || caps[0] > caps[1] || (size_t)caps[1] > c->n || caps[0] < c->last_end)
		abort();
	for (i = 2; i < c->ncap; i += 2)
		if ((caps[i] < 0) != (caps[i + 1] < 0) || caps[i] > caps[i + 1] || caps[i + 1] > (ssize_t)c->n)
			abort();
	c->last_end = caps[1];
	return 0;
}

static int on_piece(void *ud, const char *p, size_t len)
{
	struct check *c = ud;

	if (p < c->s || p + len > c->s + c->n)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *pat = (const char *)data, *nul;
	size_t plen = size, slen = 0;
	struct regex *re = NULL;
	struct check c = { 0 };
	struct buf out = BUF_INIT(1 << 16);
	ssize_t caps[2];
	char *err = NULL;

	if (size > 4096)
		return 0;
	nul = memchr(data, '\0', size);
	if (nul) {
		plen = (size_t)(nul - pat);
		c.s = nul + 1;
		slen = size - plen - 1;
	} else {
		c.s = "";
	}
	c.n = slen;
	if (regex_compile(pat, plen, &re, &err) < 0) {
		if (!err || strncmp(err, "error parsing regexp: ", 22) != 0)
			abort();
		free(err);
		return 0;
	}
	c.ncap = 2 * (regex_nsub(re) + 1);
	if (regex_exec(re, c.s, slen, 0, caps, 2) && (caps[0] < 0 || caps[1] < caps[0] || (size_t)caps[1] > slen))
		abort();
	if (regex_match(re, c.s, slen) != regex_exec(re, c.s, slen, 0, caps, 2))
		abort();
	c.last_end = 0;
	regex_find_all(re, c.s, slen, -1, true, on_match, &c);
	regex_split(re, c.s, slen, -1, on_piece, &c);
	regex_replace_all(re, c.s, slen, "<$1${name}$$>", 13, false, &out);
	buf_release(&out);
	regex_free(re);
	return 0;
}
