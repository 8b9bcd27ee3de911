/*
 * manifest.c: from rendered files to what `helm template` prints
 * (pkg/releaseutil and cmd/helm/template.go of Helm v3.21).
 *
 * DESIGN
 * Files are taken in bytewise name order; partials ("_" basenames) and
 * whitespace-only files are skipped.  Each file is trimmed (Unicode
 * white space, as strings.TrimSpace) and split on Helm's separator regex
 * (?:^|\s*\n)---\s* , which split_docs() implements by hand: a separator
 * is "---" at the very start or right after a newline, together with the
 * white space before that newline and all white space after the dashes,
 * so `--- # x` leaves "# x" to the next document.  Every document is read
 * as releaseutil.SimpleHead (apiVersion, kind, metadata.name,
 * metadata.annotations as strings); unreadable YAML fails the whole
 * render ("YAML parse error on <file>: ...").  A document annotated
 * helm.sh/hook becomes a hook (an unknown event drops it altogether), the
 * rest are manifests; both lists are then stable-sorted by InstallOrder,
 * unknown kinds after the known ones in kind order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/str.h"
#include "helm/internal.h"
#include "yj/yj.h"
#include "base/banned.h"

static const char *const install_order[] = {
	"PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange",
	"PodSecurityPolicy", "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList",
	"ConfigMap", "StorageClass", "PersistentVolume", "PersistentVolumeClaim",
	"CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
	"ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList", "Service",
	"DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
	"HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress",
	"APIService",
};

/* ---- Go's strings.TrimSpace and \s ---- */

/* Length of the Unicode white space character at s (0 if none). */
static size_t uspace(const char *s, size_t left)
{
	const unsigned char *u = (const unsigned char *)s;

	if (left == 0)
		return 0;
	if (*u == ' ' || (*u >= '\t' && *u <= '\r'))
		return 1;
	if (left >= 2 && u[0] == 0xc2 && (u[1] == 0x85 || u[1] == 0xa0))
		return 2;
	if (left >= 3 && u[0] == 0xe1 && u[1] == 0x9a && u[2] == 0x80)
		return 3;
	if (left >= 3 && u[0] == 0xe2 && u[1] == 0x80 &&
	    ((u[2] >= 0x80 && u[2] <= 0x8a) || u[2] == 0xa8 || u[2] == 0xa9 || u[2] == 0xaf))
		return 3;
	if (left >= 3 && u[0] == 0xe2 && u[1] == 0x81 && u[2] == 0x9f)
		return 3;
	if (left >= 3 && u[0] == 0xe3 && u[1] == 0x80 && u[2] == 0x80)
		return 3;
	return 0;
}

/* Length of the Unicode white space character ending at s[n-1] (0 if none). */
static size_t uspace_back(const char *s, size_t n)
{
	size_t k;

	for (k = 1; k <= 3 && k <= n; k++)
		if (uspace(s + n - k, k) == k)
			return k;
	return 0;
}

void helm__trim_space(const char **s, size_t *n)
{
	size_t k;

	while ((k = uspace(*s, *n)) != 0) {
		*s += k;
		*n -= k;
	}
	while ((k = uspace_back(*s, *n)) != 0)
		*n -= k;
}

static bool re_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/*
 * Split `s` (already trimmed) at Helm's separators; each piece is
 * reported as [start, end).  Returns the number of pieces stored (at most
 * `max`; the caller sizes it by counting "---").
 */
struct piece {
	size_t start, end;
};

static size_t split_docs(const char *s, size_t n, struct piece *out)
{
	size_t pos = 0, beg = 0, count = 0, last_start = 0;
	bool any = false;

	for (;;) {
		size_t mstart, mend, k;
		const char *nl;

		if (pos == 0 && n >= 3 && memcmp(s, "---", 3) == 0) {
			mstart = 0;
			mend = 3;
		} else {
			/* The first "\n---" at or after pos, with the white space before it. */
			nl = NULL;
			for (k = pos; k + 4 <= n; k++) {
				if (s[k] == '\n' && !memcmp(s + k + 1, "---", 3)) {
					nl = s + k;
					break;
				}
			}
			if (!nl)
				break;
			mstart = (size_t)(nl - s);
			while (mstart > pos && re_space(s[mstart - 1]))
				mstart--;
			mend = (size_t)(nl - s) + 4;
		}
		while (mend < n && re_space(s[mend]))
			mend++;
		if (mend != 0) {
			out[count].start = beg;
			out[count].end = mstart;
			count++;
		}
		beg = mend;
		pos = mend;
		last_start = mstart;
		any = true;
		if (pos >= n)
			break;
	}
	if (!any || last_start != n) {
		out[count].start = beg;
		out[count].end = n;
		count++;
	}
	return count;
}

static size_t count_seps(const char *s, size_t n)
{
	size_t c = 2, i;

	for (i = 0; i + 3 <= n; i++)
		if (s[i] == '-' && s[i + 1] == '-' && s[i + 2] == '-')
			c++;
	return c;
}

/* ---- SimpleHead ---- */

struct head {
	char *api_version, *kind, *name;
	cJSON *annotations; /* object of strings, or NULL */
	bool has_metadata;
};

static void head_release(struct head *h)
{
	free(h->api_version);
	free(h->kind);
	free(h->name);
	cJSON_Delete(h->annotations);
	memset(h, 0, sizeof(*h));
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp((*(cJSON *const *)a)->string, (*(cJSON *const *)b)->string);
}

/*
 * The members of `o` in the order encoding/json sees them: sigs.k8s.io/yaml
 * marshals the YAML map through a Go map, so keys arrive sorted.
 */
static cJSON **sorted_members(const cJSON *o, size_t *n)
{
	cJSON *c, **v;
	size_t k = 0;

	*n = (size_t)cJSON_GetArraySize(o);
	v = xnew0(cJSON *, *n + 1);
	cJSON_ArrayForEach(c, o)
		v[k++] = c;
	qsort(v, *n, sizeof(*v), cmp_keys);
	return v;
}

static int field_str(const cJSON *v, char **field, const char *name, struct op_err *err)
{
	char *s;

	if (cJSON_IsNull(v))
		return 0;
	s = helm__scalar_text(v, false);
	if (!s)
		return op_err_set(err, -EINVAL, "error unmarshaling JSON: while decoding JSON: json: "
				  "cannot unmarshal %s into Go struct field %s of type string",
				  helm__json_kind(v), name);
	free(*field);
	*field = s;
	return 0;
}

static int read_head(const char *doc, size_t len, struct head *h, struct op_err *err)
{
	cJSON *j = NULL, **m = NULL, **mm = NULL;
	size_t n = 0, nn = 0, i, k;
	int r = helm__yaml_first(doc, len, &j, err);

	memset(h, 0, sizeof(*h));
	if (r < 0)
		return op_err_prefix(err, "error converting YAML to JSON");
	if (!j)
		return 0;
	if (!cJSON_IsObject(j)) {
		r = op_err_set(err, -EINVAL, "error unmarshaling JSON: while decoding JSON: json: "
			       "cannot unmarshal %s into Go value of type releaseutil.SimpleHead",
			       helm__json_kind(j));
		goto out;
	}
	m = sorted_members(j, &n);
	for (i = 0; i < n && r == 0; i++) {
		const cJSON *c = m[i];

		if (!strcasecmp(c->string, "apiVersion")) {
			r = field_str(c, &h->api_version, "SimpleHead.apiVersion", err);
		} else if (!strcasecmp(c->string, "kind")) {
			r = field_str(c, &h->kind, "SimpleHead.kind", err);
		} else if (!strcasecmp(c->string, "metadata")) {
			if (cJSON_IsNull(c))
				continue;
			if (!cJSON_IsObject(c)) {
				r = op_err_set(err, -EINVAL, "error unmarshaling JSON: while decoding "
					       "JSON: json: cannot unmarshal %s into Go struct field "
					       "SimpleHead.metadata of type struct { Name string "
					       "\"json:\\\"name\\\"\"; Annotations map[string]string "
					       "\"json:\\\"annotations\\\"\" }", helm__json_kind(c));
				break;
			}
			h->has_metadata = true;
			free(mm);
			mm = sorted_members(c, &nn);
			for (k = 0; k < nn && r == 0; k++) {
				const cJSON *f = mm[k], *a;

				if (!strcasecmp(f->string, "name")) {
					r = field_str(f, &h->name, "SimpleHead.metadata.name", err);
				} else if (!strcasecmp(f->string, "annotations")) {
					if (cJSON_IsNull(f)) {
						cJSON_Delete(h->annotations);
						h->annotations = NULL;
						continue;
					}
					if (!cJSON_IsObject(f)) {
						r = op_err_set(err, -EINVAL, "error unmarshaling JSON: "
							       "while decoding JSON: json: cannot "
							       "unmarshal %s into Go struct field "
							       "SimpleHead.metadata.annotations of "
							       "type map[string]string", helm__json_kind(f));
						break;
					}
					cJSON_Delete(h->annotations);
					h->annotations = cJSON_CreateObject();
					cJSON_ArrayForEach(a, f) {
						char *s = cJSON_IsNull(a) ? xstrdup("") : helm__scalar_text(a, false);

						if (!s) {
							r = op_err_set(err, -EINVAL, "error unmarshaling "
								       "JSON: while decoding JSON: json: "
								       "cannot unmarshal %s into Go struct "
								       "field SimpleHead.metadata."
								       "annotations of type string",
								       helm__json_kind(a));
							break;
						}
						cJSON_DeleteItemFromObjectCaseSensitive(h->annotations,
											a->string);
						cJSON_AddItemToObject(h->annotations, a->string,
								      cJSON_CreateString(s));
						free(s);
					}
				}
			}
		}
	}
out:
	free(m);
	free(mm);
	cJSON_Delete(j);
	if (r < 0)
		head_release(h);
	return r;
}

/* ---- sorting ---- */

static int kind_index(const char *kind)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(install_order); i++)
		if (streq(install_order[i], kind))
			return (int)i;
	return -1;
}

/* lessByKind(): known kinds in InstallOrder, then unknown ones by name. */
static bool less_by_kind(const char *a, const char *b)
{
	int ia = kind_index(a), ib = kind_index(b);

	if (ia < 0 && ib < 0)
		return strcmp(a, b) < 0;
	if (ia < 0)
		return false;
	if (ib < 0)
		return true;
	return ia < ib;
}

/* A stable insertion-merge sort on an index array by kind. */
static void stable_sort(size_t *idx, size_t n, const char *const *kinds)
{
	size_t *tmp, width, i;

	if (n < 2)
		return;
	tmp = xnew0(size_t, n);
	for (width = 1; width < n; width *= 2) {
		for (i = 0; i < n; i += 2 * width) {
			size_t lo = i, mid = MIN(i + width, n), hi = MIN(i + 2 * width, n);
			size_t a = lo, b = mid, k = lo;

			while (a < mid && b < hi) {
				if (less_by_kind(kinds[idx[b]], kinds[idx[a]]))
					tmp[k++] = idx[b++];
				else
					tmp[k++] = idx[a++];
			}
			while (a < mid)
				tmp[k++] = idx[a++];
			while (b < hi)
				tmp[k++] = idx[b++];
		}
		memcpy(idx, tmp, n * sizeof(*idx));
	}
	free(tmp);
}

/* ---- hooks ---- */

static const char *const hook_events[] = {
	"pre-install", "post-install", "pre-delete", "post-delete", "pre-upgrade",
	"post-upgrade", "pre-rollback", "post-rollback", "test",
};

/* The comma-separated, trimmed, lower-cased parts of an annotation. */
static char **split_list(const char *s, size_t *ret_n)
{
	char **v = NULL;
	size_t n = 0, alloc = 0;
	const char *p = s;

	for (;;) {
		const char *comma = strchr(p, ','), *b = p;
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char *part, *q;

		helm__trim_space(&b, &len);
		part = xstrndup(b, len);
		for (q = part; *q; q++)
			if (*q >= 'A' && *q <= 'Z')
				*q = (char)(*q - 'A' + 'a');
		XGROW(v, n + 1, alloc);
		v[n++] = part;
		if (!comma)
			break;
		p = comma + 1;
	}
	*ret_n = n;
	return v;
}

static void free_strv(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void helm__hook_release(struct helm_hook *h)
{
	free(h->name);
	free(h->kind);
	free(h->path);
	free(h->manifest);
	free_strv(h->events, h->nevents);
	free_strv(h->delete_policies, h->ndelete_policies);
	free_strv(h->output_log_policies, h->noutput_log_policies);
	memset(h, 0, sizeof(*h));
}

/* Go's strconv.Atoi for the hook weight: 0 on error. */
static int atoi_go(const char *s)
{
	int v;

	return parse_int(s, &v) == 0 ? v : 0;
}

/* A hook from a document, or 1 when an unknown event drops the document. */
static int make_hook(const struct head *h, const char *path, const char *doc,
		     const char *events, struct helm_hook *ret)
{
	size_t n, i, j;
	char **ev = split_list(events, &n);
	const cJSON *a;

	for (i = 0; i < n; i++) {
		if (streq(ev[i], "test-success")) {
			free(ev[i]);
			ev[i] = xstrdup("test");
			continue;
		}
		for (j = 0; j < ARRAY_SIZE(hook_events); j++)
			if (streq(ev[i], hook_events[j]))
				break;
		if (j == ARRAY_SIZE(hook_events)) {
			free_strv(ev, n);
			return 1; /* Helm: "skipping unknown hook" */
		}
	}
	memset(ret, 0, sizeof(*ret));
	ret->name = xstrdup(h->name ? h->name : "");
	ret->kind = xstrdup(h->kind ? h->kind : "");
	ret->path = xstrdup(path);
	ret->manifest = xstrdup(doc);
	ret->events = ev;
	ret->nevents = n;
	a = cJSON_GetObjectItemCaseSensitive(h->annotations, "helm.sh/hook-weight");
	ret->weight = a ? atoi_go(a->valuestring) : 0;
	a = cJSON_GetObjectItemCaseSensitive(h->annotations, "helm.sh/hook-delete-policy");
	if (a)
		ret->delete_policies = split_list(a->valuestring, &ret->ndelete_policies);
	a = cJSON_GetObjectItemCaseSensitive(h->annotations, "helm.sh/hook-output-log-policy");
	if (a)
		ret->output_log_policies = split_list(a->valuestring, &ret->noutput_log_policies);
	return 0;
}

/* ---- the whole sort ---- */

struct gen {
	const char *path; /* borrowed from the file list */
	char *content;
	char *kind;
};

int helm__sort_manifests(const struct helm__rfile *files, size_t n, const struct helm__crd *crds,
			 size_t ncrds, struct helm_rendered *out, struct op_err *err)
{
	struct gen *gens = NULL;
	struct helm_hook *hooks = NULL;
	size_t ngen = 0, agen = 0, nhooks = 0, ahooks = 0, i, j;
	size_t *gidx = NULL, *hidx = NULL;
	const char **gkinds = NULL, **hkinds = NULL;
	struct buf m = BUF_INIT((size_t)1 << 31);
	int r = 0;

	for (i = 0; i < n && r == 0; i++) {
		const char *base = strrchr(files[i].name, '/'), *s = files[i].content;
		size_t len = files[i].len, np;
		struct piece *pieces;

		base = base ? base + 1 : files[i].name;
		if (base[0] == '_')
			continue;
		helm__trim_space(&s, &len);
		if (len == 0)
			continue;
		pieces = xnew0(struct piece, count_seps(s, len));
		np = split_docs(s, len, pieces);
		for (j = 0; j < np && r == 0; j++) {
			const char *d = s + pieces[j].start;
			size_t dl = pieces[j].end - pieces[j].start;
			_cleanup_free_ char *doc = NULL;
			struct head h;
			const cJSON *ev;

			if (dl == 0)
				continue;
			helm__trim_space(&d, &dl);
			doc = xstrndup(d, dl);
			r = read_head(doc, dl, &h, err);
			if (r < 0) {
				op_err_prefix(err, "YAML parse error on %s", files[i].name);
				break;
			}
			ev = h.annotations && h.annotations->child ?
				     cJSON_GetObjectItemCaseSensitive(h.annotations, "helm.sh/hook") :
				     NULL;
			if (!ev) {
				XGROW(gens, ngen + 1, agen);
				gens[ngen].path = files[i].name;
				gens[ngen].content = TAKE_PTR(doc);
				gens[ngen].kind = xstrdup(h.kind ? h.kind : "");
				ngen++;
			} else {
				XGROW(hooks, nhooks + 1, ahooks);
				if (make_hook(&h, files[i].name, doc, ev->valuestring,
					      &hooks[nhooks]) == 0)
					nhooks++;
			}
			head_release(&h);
		}
		free(pieces);
	}
	if (r < 0)
		goto out;
	gidx = xnew0(size_t, ngen + 1);
	gkinds = xnew0(const char *, ngen + 1);
	for (i = 0; i < ngen; i++) {
		gidx[i] = i;
		gkinds[i] = gens[i].kind;
	}
	stable_sort(gidx, ngen, gkinds);
	hidx = xnew0(size_t, nhooks + 1);
	hkinds = xnew0(const char *, nhooks + 1);
	for (i = 0; i < nhooks; i++) {
		hidx[i] = i;
		hkinds[i] = hooks[i].kind;
	}
	stable_sort(hidx, nhooks, hkinds);

	for (i = 0; i < ncrds && r == 0; i++)
		r = buf_addf(&m, "---\n# Source: %s\n", crds[i].path) ?:
		    buf_add(&m, crds[i].data, crds[i].len) ?: buf_addch(&m, '\n');
	for (i = 0; i < ngen && r == 0; i++)
		r = buf_addf(&m, "---\n# Source: %s\n%s\n", gens[gidx[i]].path,
			     gens[gidx[i]].content);
	if (r < 0) {
		r = op_err_set(err, -EFBIG, "rendered manifest is too large");
		goto out;
	}
	out->manifest = buf_detach(&m, &out->manifest_len);
	out->hooks = xnew0(struct helm_hook, nhooks + 1);
	for (i = 0; i < nhooks; i++) {
		out->hooks[i] = hooks[hidx[i]];
		memset(&hooks[hidx[i]], 0, sizeof(hooks[0]));
	}
	out->nhooks = nhooks;
out:
	buf_release(&m);
	for (i = 0; i < ngen; i++) {
		free(gens[i].content);
		free(gens[i].kind);
	}
	free(gens);
	for (i = 0; i < nhooks; i++)
		helm__hook_release(&hooks[i]);
	free(hooks);
	free(gidx);
	free(hidx);
	free(gkinds);
	free(hkinds);
	return r;
}

/* ---- helm template's printing ---- */

static bool is_test_hook(const struct helm_hook *h)
{
	size_t i;

	for (i = 0; i < h->nevents; i++)
		if (streq(h->events[i], "test"))
			return true;
	return false;
}

/* The path after "<chart>/" in a document's "# Source: " line, or NULL. */
static char *source_path(const char *doc)
{
	const char *p = strstr(doc, "# Source: "), *slash, *eol;

	if (!p)
		return NULL;
	p += 10;
	slash = strchr(p, '/');
	if (!slash || slash == p)
		return NULL;
	slash++;
	eol = strchr(slash, '\n');
	if (eol == slash || !*slash)
		return NULL;
	return xstrndup(slash, eol ? (size_t)(eol - slash) : strlen(slash));
}

int helm_template_print(const struct helm_rendered *r, const struct helm_print_opts *o,
			struct buf *out, struct op_err *err)
{
	struct buf all = BUF_INIT(out->max), *dst;
	const char *s = r->manifest;
	size_t len = r->manifest_len, i, j, start;
	int e;

	helm__trim_space(&s, &len);
	/* Without --show-only the text goes straight to `out`. */
	dst = o->nshow_only ? &all : out;
	start = dst->len;
	e = buf_add(dst, s, len) ?: buf_addch(dst, '\n');
	for (i = 0; i < r->nhooks && e == 0 && !o->no_hooks; i++) {
		if (o->skip_tests && is_test_hook(&r->hooks[i]))
			continue;
		e = buf_addf(dst, "---\n# Source: %s\n%s\n", r->hooks[i].path, r->hooks[i].manifest);
	}
	if (e < 0) {
		buf_truncate(dst, start);
		buf_release(&all);
		return op_err_set(err, -EFBIG, "output is too large");
	}
	if (o->nshow_only == 0)
		return 0;
	{
		const char *t = all.buf;
		size_t tl = all.len, np;
		struct piece *pieces;
		struct buf sel = BUF_INIT(out->max);

		helm__trim_space(&t, &tl);
		pieces = xnew0(struct piece, count_seps(t, tl));
		np = split_docs(t, tl, pieces);
		for (i = 0; i < o->nshow_only && e == 0; i++) {
			bool missing = true;

			for (j = 0; j < np && e == 0; j++) {
				const char *d = t + pieces[j].start;
				size_t dl = pieces[j].end - pieces[j].start;
				_cleanup_free_ char *doc = NULL, *path = NULL;

				if (dl == 0)
					continue;
				helm__trim_space(&d, &dl);
				doc = xstrndup(d, dl);
				path = source_path(doc);
				if (!path || helm__path_match(o->show_only[i], path) != 1)
					continue;
				missing = false;
				e = buf_addf(&sel, "---\n%s\n", doc);
				if (e < 0)
					e = op_err_set(err, -EFBIG, "output is too large");
			}
			if (missing && e == 0)
				e = op_err_set(err, -ENOENT, "could not find template %s in chart",
					       o->show_only[i]);
		}
		free(pieces);
		/* Helm prints nothing unless every pattern matched. */
		if (e == 0 && buf_add(out, sel.buf, sel.len) < 0)
			e = op_err_set(err, -EFBIG, "output is too large");
		buf_release(&sel);
	}
	buf_release(&all);
	return e;
}
