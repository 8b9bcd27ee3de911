/*
 * uniprops.c: UTF-8 walking and lookups in Go's category, script and
 * fold tables (see uniprops.h).
 *
 * DESIGN
 * The tables in uniprops_tab.c keep Go's shape (ranges with a stride),
 * sorted, so every lookup is a binary search.
 */
#include <string.h>

#include "base/utf8.h"
#include "base/uniprops.h"
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
