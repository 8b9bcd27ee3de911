/*
 * uniprops.c: UTF-8 walking and lookups in Go's category, script and
 * fold tables (see uniprops.h).
 *
 * DESIGN
 * The tables in uniprops_tab.c keep Go's shape (ranges with a stride),
 * sorted, so every lookup is a binary search.
 */
#include <string.h>

#include "tmpl/uniprops.h"
#include "base/banned.h"

bool uni_in_ranges(const struct uni_range *r, size_t n, uint32_t c)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t m = lo + (hi - lo) / 2;

		if (c < r[m].lo) {
			hi = m;
		} else if (c > r[m].hi) {
			lo = m + 1;
		} else {
			return r[m].stride == 1 || (c - r[m].lo) % r[m].stride == 0;
		}
	}
	return false;
}

bool uni_is(const struct uni_table *t, uint32_t c)
{
	return t && uni_in_ranges(t->r, t->n, c);
}

static const struct uni_table *find_table(const struct uni_table *t, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t m = lo + (hi - lo) / 2;
		int c = strcmp(name, t[m].name);

		if (c == 0)
			return &t[m];
		if (c < 0)
			hi = m;
		else
			lo = m + 1;
	}
	return NULL;
}

const struct uni_table *uni_category(const char *name)
{
	const struct uni_table *t = find_table(uni_categorys, uni_ncategorys, name);
	size_t i;

	if (t)
		return t;
	for (i = 0; i < uni_ncategory_aliases; i++)
		if (strcmp(uni_category_aliases[i].alias, name) == 0)
			return find_table(uni_categorys, uni_ncategorys, uni_category_aliases[i].name);
	return NULL;
}

const struct uni_table *uni_script(const char *name)
{
	return find_table(uni_scripts, uni_nscripts, name);
}

uint32_t uni_simple_fold(uint32_t c)
{
	size_t lo = 0, hi = uni_nfolds;

	while (lo < hi) {
		size_t m = lo + (hi - lo) / 2;

		if (c < uni_folds[m].r)
			hi = m;
		else if (c > uni_folds[m].r)
			lo = m + 1;
		else
			return uni_folds[m].fold;
	}
	return c;
}

size_t utf8_decode(const char *s, size_t n, uint32_t *ret)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t c, min;
	size_t need, i;

	if (p[0] < 0x80) {
		*ret = p[0];
		return 1;
	}
	if (p[0] >= 0xC2 && p[0] <= 0xDF) {
		need = 2;
		c = p[0] & 0x1F;
		min = 0x80;
	} else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
		need = 3;
		c = p[0] & 0x0F;
		min = 0x800;
	} else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
		need = 4;
		c = p[0] & 0x07;
		min = 0x10000;
	} else {
		goto bad;
	}
	if (n < need)
		goto bad;
	for (i = 1; i < need; i++) {
		if ((p[i] & 0xC0) != 0x80)
			goto bad;
		c = c << 6 | (p[i] & 0x3F);
	}
	if (c < min || c > UNI_MAX_RUNE || (c >= 0xD800 && c <= 0xDFFF))
		goto bad;
	*ret = c;
	return need;
bad:
	*ret = UNI_REPLACEMENT;
	return 1;
}

size_t utf8_decode_last(const char *s, size_t n, uint32_t *ret)
{
	size_t start = n - 1, lim = n > 4 ? n - 4 : 0;
	uint32_t c;

	if ((unsigned char)s[start] < 0x80) {
		*ret = (unsigned char)s[start];
		return 1;
	}
	/* Back up over continuation bytes, at most UTFMax-1 of them. */
	while (start > lim && ((unsigned char)s[start] & 0xC0) == 0x80)
		start--;
	if (utf8_decode(s + start, n - start, &c) != n - start) {
		*ret = UNI_REPLACEMENT;
		return 1;
	}
	*ret = c;
	return n - start;
}

size_t utf8_encode(uint32_t c, char out[4])
{
	if (c > UNI_MAX_RUNE || (c >= 0xD800 && c <= 0xDFFF))
		c = UNI_REPLACEMENT;
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xC0 | c >> 6);
		out[1] = (char)(0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xE0 | c >> 12);
		out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
		out[2] = (char)(0x80 | (c & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | c >> 18);
	out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
	out[3] = (char)(0x80 | (c & 0x3F));
	return 4;
}

bool utf8_valid(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint32_t c;
		size_t w = utf8_decode(s + i, n - i, &c);

		/* An encoded U+FFFD is 3 bytes wide: width 1 means invalid. */
		if (c == UNI_REPLACEMENT && w == 1)
			return false;
		i += w;
	}
	return true;
}

size_t utf8_count(const char *s, size_t n)
{
	size_t i = 0, k = 0;
	uint32_t c;

	while (i < n) {
		i += utf8_decode(s + i, n - i, &c);
		k++;
	}
	return k;
}
