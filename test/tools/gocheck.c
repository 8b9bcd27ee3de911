/*
 * gocheck: lib/base/regex.c and lib/tmpl/gotime.c on the cases of
 * test/tools/gooracle (same input, same output format), for
 * test/unit/go_oracle_diff.sh.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "tmpl/gotime.h"
#include "base/regex.h"

static size_t unesc(char *s)
{
	size_t r = 0, w = 0, n = strlen(s);

	while (r < n) {
		if (s[r] != '\\' || r + 1 >= n) {
			s[w++] = s[r++];
			continue;
		}
		r++;
		switch (s[r]) {
		case 't':
			s[w++] = '\t';
			r++;
			break;
		case 'n':
			s[w++] = '\n';
			r++;
			break;
		case '\\':
			s[w++] = '\\';
			r++;
			break;
		case 'x': {
			char h[3] = { s[r + 1], s[r + 2], 0 };

			s[w++] = (char)strtoul(h, NULL, 16);
			r += 3;
			break;
		}
		default:
			s[w++] = '\\';
			s[w++] = s[r++];
		}
	}
	s[w] = '\0';
	return w;
}

static void esc(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c > 0x20 && c < 0x7f && c != '\\' && c != ',')
			putchar(c);
		else
			printf("\\x%02x", c);
	}
}

struct ctx {
	const char *s;
	int n;
	size_t ncap;
};

static int print_str(void *ud, const ssize_t *caps)
{
	struct ctx *c = ud;

	if (c->n++)
		putchar(',');
	esc(c->s + caps[0], (size_t)(caps[1] - caps[0]));
	return 0;
}

static int count_cb(void *ud, const ssize_t *caps)
{
	(void)ud;
	(void)caps;
	return 0;
}

static int print_idx(void *ud, const ssize_t *caps)
{
	struct ctx *c = ud;
	size_t i;

	printf(c->n++ ? " [" : "[");
	for (i = 0; i < c->ncap; i++)
		printf(i ? " %zd" : "%zd", caps[i]);
	putchar(']');
	return 0;
}

static int print_piece(void *ud, const char *p, size_t len)
{
	struct ctx *c = ud;

	if (c->n++)
		putchar(',');
	esc(p, len);
	return 0;
}

static int zone(const char *name, struct gotime_zone **z)
{
	int r = gotime_zone_load(name, z);

	if (r == -ENOENT)
		printf("error: unknown\\x20time\\x20zone\\x20%s\n", name);
	else if (r < 0)
		printf("error: time:\\x20invalid\\x20location\\x20name\n");
	return r;
}


/* A time operation; false if f[0] is not one. */
static bool time_case(char **f, size_t *fl, int nf)
{
	struct buf out = BUF_INIT(1 << 20);
	struct gotime_zone *z = NULL;
	struct gotime t;
	char *err = NULL;

	if (strcmp(f[0], "format") == 0 && nf >= 5) {
		if (zone(f[3], &z) < 0)
			return true;
		gotime_unix(strtoll(f[1], NULL, 10), &t);
		gotime_add(&t, strtoll(f[2], NULL, 10));
		gotime_in(&t, z);
		gotime_format(&t, f[4], fl[4], &out);
		esc(out.buf, out.len);
		putchar('\n');
		gotime_release(&t);
	} else if (strcmp(f[0], "parse") == 0 && nf >= 3) {
		gotime_zone_load("Local", &z);
		if (gotime_parse(f[1], fl[1], f[2], fl[2], z, &t, &err) < 0) {
			printf("error: ");
			esc(err, strlen(err));
			putchar('\n');
			free(err);
		} else {
			gotime_string(&t, &out);
			esc(out.buf, out.len);
			printf(" %" PRId64 "\n", t.sec);
			gotime_release(&t);
		}
	} else if (strcmp(f[0], "date") == 0 && nf >= 9) {
		if (zone(f[8], &z) < 0)
			return true;
		gotime_date(strtoll(f[1], NULL, 10), (int)strtol(f[2], NULL, 10), strtoll(f[3], NULL, 10),
			    strtoll(f[4], NULL, 10), strtoll(f[5], NULL, 10), strtoll(f[6], NULL, 10),
			    strtoll(f[7], NULL, 10), z, &t);
		gotime_string(&t, &out);
		esc(out.buf, out.len);
		printf(" %" PRId64 "\n", t.sec);
		gotime_release(&t);
	} else {
		return false;
	}
	gotime_zone_unref(z);
	buf_release(&out);
	return true;
}

int main(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	while ((len = getline(&line, &cap, stdin)) > 0) {
		char empty[9][1] = { "", "", "", "", "", "", "", "", "" };
		char *f[9] = { empty[0], empty[1], empty[2], empty[3], empty[4], empty[5], empty[6], empty[7], empty[8] };
		size_t fl[9] = { 0 };
		struct regex *re = NULL;
		char *err = NULL, *p = line;
		struct buf out = BUF_INIT(1 << 24);
		struct ctx c = { 0 };
		long num;
		int i, nf = 0;

		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		for (i = 0; i < 9 && p; i++) {
			char *tab = strchr(p, '\t');

			if (tab)
				*tab = '\0';
			f[i] = p;
			fl[i] = unesc(p);
			p = tab ? tab + 1 : NULL;
			nf++;
		}
		if (time_case(f, fl, nf))
			continue;
		if (strcmp(f[0], "quote") == 0) {
			regex_quote_meta(f[1], fl[1], &out);
			esc(out.buf, out.len);
			putchar('\n');
			buf_release(&out);
			continue;
		}
		if (regex_compile(f[1], fl[1], &re, &err) < 0) {
			printf("error: ");
			esc(err, strlen(err));
			putchar('\n');
			free(err);
			continue;
		}
		num = strtol(f[3], NULL, 10);
		c.s = f[2];
		if (strcmp(f[0], "compile") == 0) {
			printf("ok %zu\n", regex_nsub(re));
		} else if (strcmp(f[0], "match") == 0) {
			printf("%s\n", regex_match(re, f[2], fl[2]) ? "true" : "false");
		} else if (strcmp(f[0], "find") == 0) {
			ssize_t caps[2];

			if (regex_exec(re, f[2], fl[2], 0, caps, 2))
				esc(f[2] + caps[0], (size_t)(caps[1] - caps[0]));
			putchar('\n');
		} else if (strcmp(f[0], "findall") == 0) {
			/* Go's FindAllString returns nil for no match (and for n == 0). */
			int k = num != 0 ? regex_find_all(re, f[2], fl[2], num, false, count_cb, &c) : 0;

			if (k == 0) {
				printf("nil\n");
			} else {
				printf("[");
				c.n = 0;
				regex_find_all(re, f[2], fl[2], num, false, print_str, &c);
				printf("]\n");
			}
		} else if (strcmp(f[0], "index") == 0) {
			c.ncap = 2 * (regex_nsub(re) + 1);
			printf("[");
			regex_find_all(re, f[2], fl[2], -1, true, print_idx, &c);
			printf("]\n");
		} else if (strcmp(f[0], "replace") == 0 || strcmp(f[0], "literal") == 0) {
			if (regex_replace_all(re, f[2], fl[2], f[3], fl[3], f[0][0] == 'l', &out) < 0)
				printf("EFBIG");
			esc(out.buf, out.len);
			putchar('\n');
		} else if (strcmp(f[0], "split") == 0) {
			if (num == 0) {
				printf("nil\n");
			} else {
				printf("[");
				regex_split(re, f[2], fl[2], num, print_piece, &c);
				printf("]\n");
			}
		} else {
			printf("bad op %s\n", f[0]);
		}
		buf_release(&out);
		regex_free(re);
	}
	free(line);
	return 0;
}
