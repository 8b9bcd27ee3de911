/*
 * timecheck: lib/tmpl/gotime.c on the cases of test/tools/timeoracle
 * (same input, same output), for test/unit/go_oracle_diff.sh.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "tmpl/gotime.h"

static size_t unesc(char *s)
{
	size_t r = 0, w = 0, n = strlen(s);

	while (r < n) {
		if (s[r] != '\\' || r + 1 >= n) {
			s[w++] = s[r++];
			continue;
		}
		r++;
		if (s[r] == 't') {
			s[w++] = '\t';
			r++;
		} else if (s[r] == 'n') {
			s[w++] = '\n';
			r++;
		} else if (s[r] == '\\') {
			s[w++] = '\\';
			r++;
		} else if (s[r] == 'x') {
			char h[3] = { s[r + 1], s[r + 2], 0 };

			s[w++] = (char)strtoul(h, NULL, 16);
			r += 3;
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

		if (c >= 0x20 && c < 0x7f && c != '\\')
			putchar(c);
		else
			printf("\\x%02x", c);
	}
}

static int zone(const char *name, struct gotime_zone **z)
{
	int r = gotime_zone_load(name, z);

	if (r == -ENOENT)
		printf("error: unknown time zone %s\n", name);
	else if (r < 0)
		printf("error: time: invalid location name\n");
	return r;
}

int main(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	while ((len = getline(&line, &cap, stdin)) > 0) {
		char *f[10] = { NULL }, *p = line;
		size_t fl[10] = { 0 };
		struct buf out = BUF_INIT(1 << 20);
		struct gotime_zone *z = NULL;
		struct gotime t;
		char *err = NULL;
		int i, nf = 0;

		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		for (i = 0; i < 10 && p; i++) {
			char *tab = strchr(p, '\t');

			if (tab)
				*tab = '\0';
			f[i] = p;
			fl[i] = unesc(p);
			p = tab ? tab + 1 : NULL;
			nf++;
		}
		if (strcmp(f[0], "format") == 0 && nf >= 5) {
			if (zone(f[3], &z) < 0)
				continue;
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
				continue;
			gotime_date(strtoll(f[1], NULL, 10), (int)strtol(f[2], NULL, 10), strtoll(f[3], NULL, 10),
				    strtoll(f[4], NULL, 10), strtoll(f[5], NULL, 10), strtoll(f[6], NULL, 10),
				    strtoll(f[7], NULL, 10), z, &t);
			gotime_string(&t, &out);
			esc(out.buf, out.len);
			printf(" %" PRId64 "\n", t.sec);
			gotime_release(&t);
		} else {
			printf("bad op %s\n", f[0]);
		}
		gotime_zone_unref(z);
		buf_release(&out);
	}
	free(line);
	return 0;
}
