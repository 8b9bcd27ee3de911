/*
 * ignore.c: gitignore-syntax exclusion rules for artifacts (see ignore.h).
 *
 * DESIGN
 * A rule is its pattern split at "/" plus a scope (the components of the
 * directory whose .sourceignore it came from).  Matching follows the
 * gitignore reading source-controller uses (go-git's):
 *   - a pattern without "/" is a name: it matches when any component of
 *     the path below the scope matches it, so "*.png" or "vendor" also
 *     excludes everything under a directory of that name;
 *   - a pattern with "/" is matched component by component from the top
 *     of the scope ("**" spans zero or more components) and matches the
 *     path or any path below it;
 *   - a trailing "/" (dir-only) does not match a file as the last
 *     component;
 *   - the last rule that matches decides.
 * Rule sets as Flux builds them: the VCS rules, then either the tree's
 * rules (.sourceignore files, then spec.ignore) if there are any, or the
 * default rules if there are none.
 *
 * A directory is pruned from the walk only when it is excluded and no
 * rule re-includes anything ("!"); otherwise the walk enters it and each
 * file is judged on its own, as Flux's per-file filter does.
 */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/str.h"
#include "source/artifact.h"
#include "source/ignore.h"
#include "base/banned.h"

#define IGNORE_FILE ".sourceignore"
#define IGNORE_FILE_MAX (1u << 20)
#define IGNORE_MAX_DEPTH 64
#define MAX_PARTS 128

const char ignore_default_rules[] =
	/* Flux's ExcludeExt, ExcludeCI, ExcludeExtra */
	"*.jpg\n*.jpeg\n*.gif\n*.png\n*.wmv\n*.flv\n*.tar.gz\n*.zip\n"
	".github/\n.circleci/\n.travis.yml\n.gitlab-ci.yml\nappveyor.yml\n.drone.yml\n"
	"cloudbuild.yaml\ncodeship-services.yml\ncodeship-steps.yml\n"
	"**/.goreleaser.yml\n**/.sops.yaml\n**/.flux.yaml\n";

static const char vcs_rules[] = ".git/\n.gitignore\n.gitmodules\n.gitattributes\n";

struct rule {
	char **scope;  /* directory components */
	size_t nscope;
	char **pat;    /* pattern components */
	size_t npat;
	bool include;  /* "!" */
	bool dir_only; /* trailing "/" */
	bool glob;     /* had a "/" */
};

struct ignore {
	struct rule *v;
	size_t n, cap;
	bool any_include;
};

static size_t split(const char *s, char ***ret)
{
	char **v = NULL;
	size_t n = 0, cap = 0;
	const char *p = s, *q;

	if (!*s) {
		*ret = NULL;
		return 0;
	}
	for (;;) {
		q = strchr(p, '/');
		if (n == cap) {
			cap = cap ? cap * 2 : 4;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[n++] = q ? xstrndup(p, (size_t)(q - p)) : xstrdup(p);
		if (!q)
			break;
		p = q + 1;
	}
	*ret = v;
	return n;
}

static void free_parts(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void add_line(struct ignore *ig, const char *dir, const char *line, size_t len)
{
	char *p = xstrndup(line, len), *s = p;
	struct rule r = { 0 };
	size_t l;

	if (*s == '!') {
		r.include = true;
		s++;
	}
	l = strlen(s);
	if (!(l >= 2 && s[l - 2] == '\\' && s[l - 1] == ' '))
		while (l > 0 && s[l - 1] == ' ')
			s[--l] = '\0';
	if (l > 0 && s[l - 1] == '/') {
		r.dir_only = true;
		s[--l] = '\0';
	}
	r.glob = strchr(s, '/') != NULL;
	r.npat = split(s, &r.pat);
	r.nscope = split(dir, &r.scope);
	free(p);
	if (r.npat == 0) {
		free_parts(r.scope, r.nscope);
		return;
	}
	if (ig->n == ig->cap) {
		ig->cap = ig->cap ? ig->cap * 2 : 32;
		ig->v = xrealloc(ig->v, ig->cap * sizeof(*ig->v));
	}
	ig->any_include |= r.include;
	ig->v[ig->n++] = r;
}

void ignore_add(struct ignore *ig, const char *dir, const char *text)
{
	const char *p = text, *e;

	while (*p) {
		size_t len;

		e = strchr(p, '\n');
		len = e ? (size_t)(e - p) : strlen(p);
		if (len && p[len - 1] == '\r')
			len--;
		if (len > 0 && p[0] != '#') {
			size_t i;

			for (i = 0; i < len && (p[i] == ' ' || p[i] == '\t'); i++)
				;
			if (i < len)
				add_line(ig, dir, p, len);
		}
		if (!e)
			break;
		p = e + 1;
	}
}

/* Collect the tree's .sourceignore rules, depth first, names in order. */
static void load_tree(struct ignore *ig, const char *root, const char *rel, int depth)
{
	char *abs = rel[0] ? xasprintf("%s/%s", root, rel) : xstrdup(root);
	char *file = xasprintf("%s/%s", abs, IGNORE_FILE);
	struct dirent **names = NULL;
	struct stat st;
	int n, i;

	if (lstat(file, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= IGNORE_FILE_MAX) {
		FILE *f = fopen(file, "r");

		if (f) {
			char *text = xmalloc((size_t)st.st_size + 1);
			size_t got = fread(text, 1, (size_t)st.st_size, f);

			text[got] = '\0';
			ignore_add(ig, rel, text);
			free(text);
			fclose(f);
		}
	}
	free(file);
	if (depth >= IGNORE_MAX_DEPTH) {
		free(abs);
		return;
	}
	n = scandir(abs, &names, NULL, alphasort);
	for (i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;

		if (!streq(nm, ".") && !streq(nm, "..") && !streq(nm, ".git")) {
			char *crel = rel[0] ? xasprintf("%s/%s", rel, nm) : xstrdup(nm);
			char *cabs = xasprintf("%s/%s", root, crel);

			if (lstat(cabs, &st) == 0 && S_ISDIR(st.st_mode))
				load_tree(ig, root, crel, depth + 1);
			free(cabs);
			free(crel);
		}
		free(names[i]);
	}
	free(names);
	free(abs);
}

struct ignore *ignore_new(const char *root, const char *spec_ignore)
{
	struct ignore *ig = xcalloc(1, sizeof(*ig)), tree = { 0 };
	size_t i;

	ignore_add(ig, "", vcs_rules);
	if (root)
		load_tree(&tree, root, "", 0);
	if (spec_ignore)
		ignore_add(&tree, "", spec_ignore);
	if (tree.n == 0) {
		ignore_add(ig, "", ignore_default_rules);
		return ig;
	}
	for (i = 0; i < tree.n; i++) {
		if (ig->n == ig->cap) {
			ig->cap = ig->cap ? ig->cap * 2 : 32;
			ig->v = xrealloc(ig->v, ig->cap * sizeof(*ig->v));
		}
		ig->v[ig->n++] = tree.v[i];
	}
	ig->any_include |= tree.any_include;
	free(tree.v);
	return ig;
}

void ignore_free(struct ignore *ig)
{
	size_t i;

	if (!ig)
		return;
	for (i = 0; i < ig->n; i++) {
		free_parts(ig->v[i].scope, ig->v[i].nscope);
		free_parts(ig->v[i].pat, ig->v[i].npat);
	}
	free(ig->v);
	free(ig);
}

/* One component against one pattern component: Go's filepath.Match. */
static bool comp_match(const char *pat, const char *name)
{
	return fnmatch(pat, name, 0) == 0;
}

static bool name_match(const struct rule *r, char **path, size_t n, bool is_dir)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!comp_match(r->pat[0], path[i]))
			continue;
		if (r->dir_only && !is_dir && i == n - 1)
			return false;
		return true;
	}
	return false;
}

static bool glob_match(const struct rule *r, char **path, size_t n, bool is_dir)
{
	bool matched = false, traverse = false;
	size_t i;

	for (i = 0; i < r->npat; i++) {
		const char *p = r->pat[i];

		if (!*p) {
			traverse = false;
			continue;
		}
		if (streq(p, "**")) {
			if (i == r->npat - 1)
				break;
			traverse = true;
			continue;
		}
		if (strstr(p, "**"))
			return false;
		if (n == 0)
			return false;
		if (traverse) {
			traverse = false;
			for (;;) {
				const char *e = path[0];

				path++;
				n--;
				if (comp_match(p, e)) {
					matched = true;
					break;
				}
				if (n == 0) {
					matched = false;
					break;
				}
			}
			if (!matched)
				return false;
		} else {
			if (!comp_match(p, path[0]))
				return false;
			matched = true;
			path++;
			n--;
		}
	}
	if (matched && r->dir_only && !is_dir && n == 0)
		matched = false;
	return matched;
}

static int rule_match(const struct rule *r, char **path, size_t n, bool is_dir)
{
	size_t i;

	if (n <= r->nscope)
		return 0;
	for (i = 0; i < r->nscope; i++)
		if (!streq(path[i], r->scope[i]))
			return 0;
	path += r->nscope;
	n -= r->nscope;
	if (r->glob ? !glob_match(r, path, n, is_dir) : !name_match(r, path, n, is_dir))
		return 0;
	return r->include ? -1 : 1;
}

static bool match_parts(const struct ignore *ig, char **parts, size_t n, bool is_dir)
{
	size_t i;

	for (i = ig->n; i-- > 0;) {
		int m = rule_match(&ig->v[i], parts, n, is_dir);

		if (m)
			return m > 0;
	}
	return false;
}

bool ignore_match(struct ignore *ig, const char *rel, bool is_dir)
{
	char **parts;
	size_t n = split(rel, &parts);
	bool r = n > 0 && n <= MAX_PARTS && match_parts(ig, parts, n, is_dir);

	free_parts(parts, n);
	return r;
}

struct ignore *ignore_new_empty(void)
{
	return xcalloc(1, sizeof(struct ignore));
}

bool ignore_glob(const char *pat, const char *path)
{
	struct ignore *ig = ignore_new_empty();
	bool r;

	ignore_add(ig, "", pat);
	r = ignore_match(ig, path, false);
	ignore_free(ig);
	return r;
}

enum artifact_skip ignore_skip(const char *rel, bool is_dir, void *payload)
{
	struct ignore *ig = payload;

	if (!ignore_match(ig, rel, is_dir))
		return ARTIFACT_KEEP;
	return is_dir && ig->any_include ? ARTIFACT_SKIP_ENTRY : ARTIFACT_SKIP;
}
