/*
 * tree.c: `cflux tree kustomization NAME`, as `flux tree kustomization`
 * prints it: the Kustomization's inventory as a tree, Kustomizations it
 * applied opened in turn, HelmReleases opened to the objects of their
 * latest release record; `--compact` keeps Flux's kinds only; `-o json`
 * and `-o yaml` print the tree as flux does (json.MarshalIndent, and
 * sigs.k8s.io/yaml).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "apply/apply.h"
#include "base/str.h"
#include "cli.h"
#include "helm/helm.h"
#include "yj/yj.h"
#include "base/banned.h"

#define MAX_RELEASE_BYTES (64u << 20)
#define MAX_DEPTH 32

static const char usage[] =
	"Print the resource inventory of a Kustomization\n\n"
	"Usage:\n  cflux tree kustomization [name] [flags]\n\n"
	"Flags:\n"
	"      --compact         list Flux resources only.\n"
	"  -o, --output string   the format in which the tree should be printed. can be 'json' "
	"or 'yaml'\n";

struct node {
	char *ns, *name, *group, *kind;
	struct node **kids;
	size_t n;
};

static struct node *node_new(const char *ns, const char *name, const char *group,
			     const char *kind)
{
	struct node *t = xcalloc(1, sizeof(*t));

	t->ns = xstrdup(ns ? ns : "");
	t->name = xstrdup(name ? name : "");
	t->group = xstrdup(group ? group : "");
	t->kind = xstrdup(kind ? kind : "");
	return t;
}

static struct node *node_add(struct node *t, struct node *kid)
{
	t->kids = xrealloc(t->kids, (t->n + 1) * sizeof(*t->kids));
	t->kids[t->n++] = kid;
	return kid;
}

static void node_free(struct node *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		node_free(t->kids[i]);
	free(t->kids);
	free(t->ns);
	free(t->name);
	free(t->group);
	free(t->kind);
	free(t);
}

/* ssautil.FmtObjMetadata: Kind/ns/name, or Kind/name. */
static void text(const struct node *t, struct buf *b)
{
	if (*t->ns)
		buf_addf(b, "%s/%s/%s", t->kind, t->ns, t->name);
	else
		buf_addf(b, "%s/%s", t->kind, t->name);
}

static void print_items(const struct node *t, struct buf *prefix, struct buf *out)
{
	for (size_t i = 0; i < t->n; i++) {
		bool last = i == t->n - 1;
		size_t mark = prefix->len;

		buf_add(out, prefix->buf ? prefix->buf : "", prefix->len);
		buf_adds(out, last ? "└── " : "├── ");
		text(t->kids[i], out);
		buf_addch(out, '\n');
		buf_adds(prefix, last ? "    " : "│   ");
		print_items(t->kids[i], prefix, out);
		buf_truncate(prefix, mark);
	}
}

/* The tree as flux marshals it: {"resource": ObjMetadata, "resources": [...]}. */
static cJSON *to_json(const struct node *t)
{
	cJSON *o = cJSON_CreateObject(), *r = cJSON_AddObjectToObject(o, "resource"), *gk;

	cJSON_AddStringToObject(r, "Namespace", t->ns);
	cJSON_AddStringToObject(r, "Name", t->name);
	gk = cJSON_AddObjectToObject(r, "GroupKind");
	cJSON_AddStringToObject(gk, "Group", t->group);
	cJSON_AddStringToObject(gk, "Kind", t->kind);
	if (t->n) {
		cJSON *a = cJSON_AddArrayToObject(o, "resources");

		for (size_t i = 0; i < t->n; i++)
			cJSON_AddItemToArray(a, to_json(t->kids[i]));
	}
	return o;
}

static const char *s_or_empty(const char *s)
{
	return s ? s : "";
}

static bool compact_keeps(bool compact, const char *group)
{
	return !compact || strstr(group, "toolkit.fluxcd.io");
}

static char *group_of(const char *av)
{
	const char *slash = av ? strchr(av, '/') : NULL;

	return slash ? xstrndup(av, (size_t)(slash - av)) : xstrdup("");
}

/* The objects of a HelmRelease's latest release record, under `t`. */
static int tree_helmrelease(struct cli_kube *k, struct node *t, bool compact)
{
	struct kube_ref ref = { .group = "helm.toolkit.fluxcd.io", .version = "v2",
				.resource = "helmreleases", .ns = t->ns, .name = t->name };
	struct op_err err = OP_ERR_INIT;
	cJSON *hr = NULL, *sec = NULL, *rel = NULL;
	const char *sns, *rname, *rns;
	struct yj_stream s = { 0 };
	char *sname;
	int r;

	r = cli_kube_get(k, &ref, NULL, &hr, &err);
	if (r < 0)
		return cli_fail("%s", err.msg);
	sns = yj_get_str(hr, "/status/storageNamespace");
	rname = yj_get_str(hr, "/status/history/0/name");
	rns = yj_get_str(hr, "/status/history/0/namespace");
	if (yj_get(hr, "/spec/kubeConfig") || !sns || !*sns || !rname) {
		cJSON_Delete(hr);
		return 0;
	}
	sname = xasprintf("sh.helm.release.v1.%s.v%d", rname,
			  (int)cJSON_GetNumberValue(yj_get(hr, "/status/history/0/version")));
	ref = (struct kube_ref){ .version = "v1", .resource = "secrets", .ns = sns, .name = sname };
	r = cli_kube_get(k, &ref, NULL, &sec, &err);
	if (r == -ENOENT) {
		r = 0;
		goto out;
	}
	if (r < 0) {
		r = cli_fail("failed to find the Helm storage object for HelmRelease '%s/%s': %s",
			     t->ns, t->name, err.msg);
		goto out;
	}
	if (helm_release_from_secret(sec, MAX_RELEASE_BYTES, &rel, &err) < 0 ||
	    yj_parse_stream(s_or_empty(yj_get_str(rel, "/manifest")),
			    strlen(s_or_empty(yj_get_str(rel, "/manifest"))), NULL, &s, &err) < 0) {
		r = cli_fail("failed to decode the Helm storage object for HelmRelease '%s/%s'",
			     t->ns, t->name);
		goto out;
	}
	for (size_t i = 0; i < s.n; i++) {
		const cJSON *d = s.docs[i];
		const char *av = yj_get_str(d, "/apiVersion"), *kind = yj_get_str(d, "/kind");
		const char *ns = yj_get_str(d, "/metadata/namespace");
		_cleanup_free_ char *group = NULL;

		if (!cJSON_IsObject(d) || !av || !kind)
			continue;
		group = group_of(av);
		if (!compact_keeps(compact, group))
			continue;
		if ((!ns || !*ns) && cli_kube_namespaced(k, av, kind) == 1)
			ns = rns;
		node_add(t, node_new(ns, yj_get_str(d, "/metadata/name"), group, kind));
	}
	r = 0;
out:
	yj_stream_release(&s);
	cJSON_Delete(rel);
	cJSON_Delete(sec);
	cJSON_Delete(hr);
	free(sname);
	return r;
}

static int tree_kustomization(struct cli_kube *k, struct node *t, const char *ns,
			      const char *name, bool compact, int depth)
{
	struct kube_ref ref = { .group = "kustomize.toolkit.fluxcd.io", .version = "v1",
				.resource = "kustomizations", .ns = ns, .name = name };
	struct op_err err = OP_ERR_INIT;
	const cJSON *e;
	cJSON *ks = NULL;
	int r;

	r = cli_kube_get(k, &ref, NULL, &ks, &err);
	if (r < 0)
		return depth ? cli_fail("failed to find object: %s", err.msg) :
			       cli_fail("%s", err.msg);
	cJSON_ArrayForEach(e, yj_get(ks, "/status/inventory/entries")) {
		cJSON *o = apply_inventory_ref(s_or_empty(yj_get_str(e, "/id")), s_or_empty(yj_get_str(e, "/v")));
		const char *kind = yj_get_str(o, "/kind"), *on, *ons;
		_cleanup_free_ char *group = NULL;
		struct node *kid;

		if (!o) {
			cJSON_Delete(ks);
			return cli_fail("unable to parse stored object metadata: %s",
					s_or_empty(yj_get_str(e, "/id")));
		}
		group = group_of(yj_get_str(o, "/apiVersion"));
		on = yj_get_str(o, "/metadata/name");
		ons = yj_get_str(o, "/metadata/namespace");
		if (!compact_keeps(compact, group) ||
		    (streq(group, "kustomize.toolkit.fluxcd.io") && streq(kind, "Kustomization") &&
		     streq_ptr(ons, ns) && streq_ptr(on, name))) {
			cJSON_Delete(o);
			continue;
		}
		kid = node_add(t, node_new(ons, on, group, kind));
		r = 0;
		if (streq(group, "helm.toolkit.fluxcd.io") && streq(kind, "HelmRelease"))
			r = tree_helmrelease(k, kid, compact);
		if (r == 0 && streq(group, "kustomize.toolkit.fluxcd.io") &&
		    streq(kind, "Kustomization") && !yj_get(ks, "/spec/kubeConfig") &&
		    depth < MAX_DEPTH)
			r = tree_kustomization(k, kid, ons, on, compact, depth + 1);
		cJSON_Delete(o);
		if (r) {
			cJSON_Delete(ks);
			return r;
		}
	}
	cJSON_Delete(ks);
	return 0;
}

int cli_tree(int argc, char **argv)
{
	struct cli_flags f;
	struct cli_kube *k = NULL;
	struct node *root;
	struct buf out = BUF_INIT(CLI_OUT_MAX), prefix = BUF_INIT(4096);
	int r;

	r = cli_flags_parse(argc, argv, CLI_F_TREE, usage, &f);
	if (r)
		return r > 0 ? 0 : 2;
	if (f.n_args < 1 || (!streq(f.args[0], "kustomization") && !streq(f.args[0], "ks"))) {
		fprintf(stderr, "✗ tree: only 'kustomization' is supported\n%s", usage);
		return 2;
	}
	if (f.n_args < 2) {
		fprintf(stderr, "✗ kustomization name is required\n");
		return 1;
	}
	if (cli_kube_open(&f, &k) < 0)
		return 1;
	root = node_new(cli_kube_ns(k), f.args[1], "kustomize.toolkit.fluxcd.io", "Kustomization");
	r = tree_kustomization(k, root, cli_kube_ns(k), f.args[1], f.compact, 0);
	if (r == 0) {
		if (f.output) {
			cJSON *j = to_json(root);

			if (streq(f.output, "json")) {
				yj_print_indent(j, "  ", &out); /* json.MarshalIndent(v, "", "  ") */
			} else {
				yj_emit_yaml_go(j, &out);
			}
			cJSON_Delete(j);
		} else {
			text(root, &out);
			buf_addch(&out, '\n');
			print_items(root, &prefix, &out);
		}
		buf_addch(&out, '\n');
		fwrite(out.buf, 1, out.len, stdout);
	}
	buf_release(&out);
	buf_release(&prefix);
	node_free(root);
	cli_kube_close(k);
	return r;
}
