/*
 * build.c: `cflux build kustomization NAME --path DIR` and `cflux diff
 * kustomization NAME --path DIR`, as flux v2.9's commands of those names.
 *
 * build: the Kustomization NAME (-n, default flux-system) is read from the
 * cluster, or from --kustomization-file (the document of that kind, name
 * and namespace; --dry-run: only from the file, no cluster access at all);
 * DIR is built by lib/kustomize's kz_flux_build(), the build the operator
 * runs (targetNamespace, namePrefix/nameSuffix, patches, images,
 * components, commonMetadata, postBuild with substituteFrom ConfigMaps and
 * Secrets read from the cluster, skipped under --dry-run as flux skips
 * them; kz_vars_add() merges them as the operator does); every object gets
 * the owner labels kustomize.toolkit.fluxcd.io/name and /namespace; a
 * SOPS-encrypted Secret's values are masked "**SOPS**" as flux masks them
 * (a plain Secret is printed as it is built: flux does the same).  Output:
 * each object as sigs.k8s.io/yaml prints it, each followed by "---".
 * Substitution is lenient unless --strict-substitute, as in the CLI.
 *
 * diff: the same build, then lib/apply's apply_set() in detect-only mode
 * (server-side dry-run against the live objects, nothing written) and for
 * each object that would change "► Kind/ns/name created" or "►
 * Kind/ns/name drifted"; with spec.prune, "► Kind/ns/name deleted" for
 * what status.inventory lists and the build lacks.  Exit status 1 when
 * something would change, 0 when nothing would, 2 on failure, as flux.
 * Where flux prints dyff's report under a drifted object, we print each
 * field that differs, its path indented, then "- live" and "+ new" values
 * as compact JSON (a side without the field has no line):
 *
 *   ► Deployment/apps/web drifted
 *     spec.replicas
 *       - 1
 *       + 3
 *
 * A Secret's fields are named without values (lib/apply never gives them),
 * where flux's dyff shows masked ones.  The operator's cflux.io/
 * provenance annotations are not drift (the operator never applies for
 * them alone); flux's diff reports them as fields to remove.
 *
 * build --recursive, as flux's: every Kustomization the build holds (but
 * itself) is built in turn, from the live object (the built one when the
 * cluster has none, or under --dry-run), in the directory --local-sources
 * maps its source to ("GitRepository/ns/name=DIR", its spec.path under
 * it), and its objects are appended; and so on, 32 levels at most.
 *
 * Not supported: --recursive with diff, and --ignore-paths (refused: the
 * generated kustomization would need the ignore rules).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apply/apply.h"
#include "base/alloc.h"
#include "base/buf.h"
#include "base/path.h"
#include "base/str.h"
#include "cli.h"
#include "kustomize/kustomize.h"
#include "yj/yj.h"
#include "base/banned.h"

static const char build_usage[] =
	"usage: cflux build kustomization NAME --path DIR [--kustomization-file FILE] "
	"[--dry-run] [--strict-substitute]\n"
	"             [--recursive --local-sources Kind/ns/name=DIR,...]\n";
static const char diff_usage[] =
	"usage: cflux diff kustomization NAME --path DIR [--kustomization-file FILE] "
	"[--strict-substitute] [--progress-bar=false]\n";

struct bopts {
	const char *path, *ks_file;
	bool dry_run, strict, diff, recursive;
	cJSON *local_sources; /* --local-sources: {"GitRepository/ns/name": "DIR"} */
};

#define RECURSION_MAX 32

static bool is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The Kustomization NAME in namespace `ns` from `file`, or NULL with a message. */
static cJSON *ks_from_file(const char *file, const char *name, const char *ns)
{
	struct yj_stream s = { 0 };
	struct op_err err = OP_ERR_INIT;
	char *data = NULL;
	size_t len = 0;
	cJSON *found = NULL;

	if (path_read_file(file, (size_t)64 << 20, &data, &len) < 0) {
		cli_fail("failed to read kustomization file %s", file);
		return NULL;
	}
	if (yj_parse_stream(data, len, NULL, &s, &err) < 0) {
		cli_fail("failed to unmarshall kustomization file %s: %s", file, err.msg);
		free(data);
		return NULL;
	}
	for (size_t i = 0; i < s.n && !found; i++) {
		const char *av = yj_get_str(s.docs[i], "/apiVersion");
		const char *kind = yj_get_str(s.docs[i], "/kind");
		const char *n = yj_get_str(s.docs[i], "/metadata/name");
		const char *dns = yj_get_str(s.docs[i], "/metadata/namespace");

		if (av && str_startswith(av, "kustomize.toolkit.fluxcd.io/") && kind &&
		    streq(kind, "Kustomization") && n && streq(n, name) &&
		    (!dns || !dns[0] || streq(dns, ns)))
			found = cJSON_Duplicate(s.docs[i], true);
	}
	if (!found)
		cli_fail("failed find kustomization with name '%s' and namespace '%s' in file '%s'",
			 name, ns, file);
	yj_stream_release(&s);
	free(data);
	return found;
}

static struct kube_ref ks_ref(const char *ns, const char *name)
{
	struct kube_ref r = { .group = "kustomize.toolkit.fluxcd.io", .version = "v1",
			      .resource = "kustomizations", .ns = ns, .name = name };
	return r;
}

/* postBuild's variables: substituteFrom (from the cluster unless dry-run), then substitute. */
static int load_vars(struct cli_kube *k, const cJSON *ks, const char *ns, bool dry_run,
		     cJSON **ret)
{
	const cJSON *pb = yj_get(ks, "/spec/postBuild"), *ref;
	cJSON *vars;

	*ret = NULL;
	if (!cJSON_IsObject(pb))
		return 0;
	vars = cJSON_CreateObject();
	cJSON_ArrayForEach(ref, cJSON_GetObjectItemCaseSensitive(pb, "substituteFrom"))
	{
		const char *kind = yj_get_str(ref, "/kind"), *name = yj_get_str(ref, "/name");
		struct kube_ref kr = { .version = "v1", .ns = ns, .name = name };
		struct op_err err = OP_ERR_INIT;
		cJSON *obj = NULL;
		bool secret = kind && streq(kind, "Secret");
		int r;

		if (dry_run)
			break;
		kr.resource = secret ? "secrets" : "configmaps";
		if (!name) {
			cJSON_Delete(vars);
			return cli_fail("invalid postBuild.substituteFrom entry");
		}
		r = cli_kube_get(k, &kr, NULL, &obj, &err);
		if (r == -ENOENT && cJSON_IsTrue(yj_get(ref, "/optional")))
			continue;
		if (r < 0) {
			cJSON_Delete(vars);
			return cli_fail("substitute from '%s/%s' error: %s", kind, name, err.msg);
		}
		kz_vars_add(vars, cJSON_GetObjectItemCaseSensitive(obj, "data"), secret);
		cJSON_Delete(obj);
	}
	kz_vars_add(vars, cJSON_GetObjectItemCaseSensitive(pb, "substitute"), false);
	*ret = vars;
	return 0;
}

/* Build: 0 and the objects, or 1 (printed). */
static int build(struct cli_kube *k, const cJSON *ks, const char *name, const char *ns,
		 const char *label_ns, const struct bopts *o, const char *path, cJSON **ret)
{
	struct kz_flux_in in = { 0 };
	struct op_err err = OP_ERR_INIT;
	cJSON *vars = NULL, *kfields = NULL, *cm = NULL, *objs = NULL, *obj;
	char *root = realpath(path, NULL);
	int r;

	if (!root || !is_dir(root)) {
		free(root);
		return cli_fail("invalid resource path \"%s\"", path);
	}
	r = load_vars(k, ks, ns, o->dry_run, &vars);
	if (r) {
		free(root);
		return 1;
	}
	kz_flux_spec(yj_get(ks, "/spec"), &kfields, &cm);
	in.root = root;
	in.path = "";
	in.vars = vars;
	in.strict = o->strict;
	in.target_ns = yj_get_str(ks, "/spec/targetNamespace");
	in.kustomize = kfields;
	in.common_metadata = cm;
	in.ignore_missing_components = cJSON_IsTrue(yj_get(ks, "/spec/ignoreMissingComponents"));
	r = kz_flux_build(&in, &objs, &err);
	cJSON_Delete(vars);
	cJSON_Delete(kfields);
	cJSON_Delete(cm);
	free(root);
	if (r < 0)
		return cli_fail("kustomize build failed: %s", err.msg);
	cJSON_ArrayForEach(obj, objs)
	{
		cJSON *ann = yj_get(obj, "/metadata/annotations");

		cJSON_DeleteItemFromObjectCaseSensitive(ann, KZ_ANN_PATH);
		cJSON_DeleteItemFromObjectCaseSensitive(ann, KZ_ANN_REVISION);
		if (ann && !ann->child)
			cJSON_DeleteItemFromObjectCaseSensitive(yj_get(obj, "/metadata"),
								"annotations");
		yj_set_meta(obj, "labels", APPLY_LABEL_NAME, name);
		yj_set_meta(obj, "labels", APPLY_LABEL_NAMESPACE, label_ns);
		cli_mask_sops(obj);
	}
	*ret = objs;
	return 0;
}

/*
 * --recursive: build each Kustomization among `objs` but the one named
 * `name`/`ns`, and append what it builds (and its own, recursively).
 */
static int build_nested(struct cli_kube *k, cJSON *objs, const char *name, const char *ns,
			const struct bopts *o, int depth)
{
	cJSON *found = cJSON_CreateArray(), *add = cJSON_CreateArray();
	const cJSON *obj;
	int r = 0;

	if (depth >= RECURSION_MAX) {
		cJSON_Delete(found);
		cJSON_Delete(add);
		return cli_fail("kustomizations nested more than %d deep", RECURSION_MAX);
	}
	cJSON_ArrayForEach(obj, objs)
		if (str_startswith(strempty(yj_get_str(obj, "/apiVersion")),
				   "kustomize.toolkit.fluxcd.io/") &&
		    streq_ptr(yj_get_str(obj, "/kind"), "Kustomization") &&
		    !(streq_ptr(yj_get_str(obj, "/metadata/name"), name) &&
		      streq(strempty(yj_get_str(obj, "/metadata/namespace")), ns)))
			cJSON_AddItemReferenceToArray(found, (cJSON *)obj);
	cJSON_ArrayForEach(obj, found) {
		const char *sname = strempty(yj_get_str(obj, "/metadata/name"));
		const char *sns = strempty(yj_get_str(obj, "/metadata/namespace"));
		const char *rns = yj_get_str(obj, "/spec/sourceRef/namespace");
		_cleanup_free_ char *key = xasprintf("%s/%s/%s",
						     strempty(yj_get_str(obj, "/spec/sourceRef/kind")),
						     rns && *rns ? rns : sns,
						     strempty(yj_get_str(obj, "/spec/sourceRef/name")));
		const char *local = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(o->local_sources, key));
		_cleanup_free_ char *joined = NULL, *dir = NULL;
		cJSON *live = NULL, *sub = NULL;

		if (!local) {
			r = cli_fail("cannot get local path for %s of kustomization %s", key, sname);
			break;
		}
		joined = xasprintf("%s/%s", local, strempty(yj_get_str(obj, "/spec/path")));
		dir = path_clean(joined);
		if (k && !o->dry_run) {
			struct kube_ref ref = ks_ref(sns, sname);
			struct op_err err = OP_ERR_INIT;
			int g = cli_kube_get(k, &ref, NULL, &live, &err);

			if (g < 0 && g != -ENOENT) {
				r = cli_fail("failed to get kustomization object: %s", err.msg);
				break;
			}
		}
		r = build(k, live ? live : obj, sname, sns, sns, o, dir, &sub);
		if (r == 0)
			r = build_nested(k, sub, sname, sns, o, depth + 1);
		cJSON_Delete(live);
		if (r) {
			cJSON_Delete(sub);
			break;
		}
		while (cJSON_GetArraySize(sub) > 0)
			cJSON_AddItemToArray(add, cJSON_DetachItemFromArray(sub, 0));
		cJSON_Delete(sub);
	}
	cJSON_Delete(found);
	while (r == 0 && cJSON_GetArraySize(add) > 0)
		cJSON_AddItemToArray(objs, cJSON_DetachItemFromArray(add, 0));
	cJSON_Delete(add);
	return r;
}

static int print_objects(const cJSON *objs)
{
	struct buf out = BUF_INIT(CLI_OUT_MAX);
	const cJSON *e;
	int r = 0;

	cJSON_ArrayForEach(e, objs)
		if (r == 0 && (r = yj_emit_yaml_go(e, &out)) == 0)
			r = buf_adds(&out, "---\n");
	if (r < 0) {
		buf_release(&out);
		return cli_fail("output too large");
	}
	r = fwrite(out.buf, 1, out.len, stdout) == out.len && fflush(stdout) == 0 ? 0 : 1;
	buf_release(&out);
	return r;
}

/* The drift entry of `what` ("Kind/ns/name"), taken out of `drift`, or NULL. */
static cJSON *take(cJSON *drift, const char *what)
{
	cJSON *d;

	cJSON_ArrayForEach(d, drift)
	{
		const char *o = yj_get_str(d, "/object");

		if (o && streq(o, what))
			return cJSON_DetachItemViaPointer(drift, d);
	}
	return NULL;
}

/* One object's ► line (and the fields that differ); whether it is a change. */
static bool print_entry(const cJSON *d, bool prune)
{
	const char *what = yj_get_str(d, "/object"), *fields = yj_get_str(d, "/fields");
	const char *p;

	if (!what || !fields)
		return false;
	if (streq(fields, "absent")) {
		printf("► %s created\n", what);
		return true;
	}
	if (str_startswith(fields, "not in the revision")) {
		if (prune)
			printf("► %s deleted\n", what);
		return prune;
	}
	printf("► %s drifted\n", what);
	if (cJSON_IsArray(yj_get(d, "/changes"))) {
		const cJSON *c;

		cJSON_ArrayForEach(c, yj_get(d, "/changes"))
		{
			const cJSON *side[2] = { yj_get(c, "/live"), yj_get(c, "/dry") };

			printf("  %s\n", yj_get_str(c, "/path"));
			for (int i = 0; i < 2; i++) {
				char *v = side[i] ? cJSON_PrintUnformatted(side[i]) : NULL;

				if (v)
					printf("    %c %s\n", i ? '+' : '-', v);
				free(v);
			}
		}
		return true;
	}
	for (p = fields; *p;) {
		size_t n = strcspn(p, ",");

		printf("  %.*s\n", (int)n, p);
		p += n;
		while (*p == ',' || *p == ' ')
			p++;
	}
	return true;
}

/*
 * The ► lines of a detect-only run in flux's order: created and drifted
 * objects in build order, then what pruning would delete in inventory
 * order.  Whether anything would change.
 */
static bool print_drift(cJSON *drift, const cJSON *objs, const cJSON *inventory,
			const char *default_ns, bool prune)
{
	const cJSON *o, *e;
	cJSON *d;
	bool changed = false;

	cJSON_ArrayForEach(o, objs)
	{
		const char *kind = yj_get_str(o, "/kind"), *name = yj_get_str(o, "/metadata/name");
		const char *ns = yj_get_str(o, "/metadata/namespace");
		char *a, *b;

		if (!kind || !name)
			continue;
		a = xasprintf("%s/%s/%s", kind, ns && *ns ? ns : default_ns, name);
		b = xasprintf("%s/%s", kind, name);
		d = take(drift, a);
		if (!d)
			d = take(drift, b);
		if (d && print_entry(d, prune))
			changed = true;
		cJSON_Delete(d);
		free(a);
		free(b);
	}
	cJSON_ArrayForEach(e, yj_get(inventory, "/entries"))
	{
		const char *id = yj_get_str(e, "/id"), *v = yj_get_str(e, "/v");
		cJSON *ref = id ? apply_inventory_ref(id, v ? v : "") : NULL;
		const char *kind = yj_get_str(ref, "/kind"), *name = yj_get_str(ref, "/metadata/name");
		const char *ns = yj_get_str(ref, "/metadata/namespace");
		char *what;

		if (kind && name) {
			what = ns && *ns ? xasprintf("%s/%s/%s", kind, ns, name)
					 : xasprintf("%s/%s", kind, name);
			d = take(drift, what);
			if (d && print_entry(d, prune))
				changed = true;
			cJSON_Delete(d);
			free(what);
		}
		cJSON_Delete(ref);
	}
	/* anything left (not expected): in apply_set's order */
	cJSON_ArrayForEach(d, drift)
		if (print_entry(d, prune))
			changed = true;
	return changed;
}

static int diff(struct cli_kube *k, const cJSON *ks, const char *name, const char *ns,
		const cJSON *objs)
{
	struct apply_opts ao = { 0 };
	struct op_err err = OP_ERR_INIT;
	cJSON *drift = NULL;
	bool prune = cJSON_IsTrue(yj_get(ks, "/spec/prune"));
	int r;

	ao.field_manager = "kustomize-controller";
	ao.owner_name = name;
	ao.owner_ns = ns;
	ao.default_ns = ns;
	ao.prune = prune;
	ao.prev_inventory = yj_get(ks, "/status/inventory");
	ao.drift_values = true;
	/* the operator's provenance annotations never make a change (operator/ctl_kustomization.c) */
	ao.provenance_prefix = "cflux.io/";
	r = cli_kube_detect_drift(k, objs, &ao, &drift, &err);
	if (r < 0) {
		cli_fail("%s", err.msg);
		return 2;
	}
	r = print_drift(drift, objs, ao.prev_inventory, ns, prune) ? 1 : 0;
	fflush(stdout);
	cJSON_Delete(drift);
	return r;
}

/* Take this command's own flags out of argv; the rest go to cli_flags_parse(). */
static int own_flags(int argc, char **argv, struct bopts *o, char **rest, int *nrest)
{
	*nrest = 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *eq = strchr(a, '=');
		size_t n = eq ? (size_t)(eq - a) : strlen(a);
		const char *v = eq ? eq + 1 : NULL;

#define IS(f) (n == strlen(f) && strncmp(a, f, n) == 0)
		if (IS("--path") || IS("--kustomization-file")) {
			if (!v && i + 1 >= argc) {
				fprintf(stderr, "✗ flag needs an argument: %.*s\n", (int)n, a);
				return -EINVAL;
			}
			if (!v)
				v = argv[++i];
			if (IS("--path"))
				o->path = v;
			else
				o->ks_file = v;
		} else if (IS("--dry-run") || IS("--strict-substitute") || IS("--progress-bar") ||
			   IS("--in-memory-build")) {
			bool b = !v || streq(v, "true") || streq(v, "1") || streq(v, "t");

			if (v && !b && !streq(v, "false") && !streq(v, "0") && !streq(v, "f")) {
				fprintf(stderr, "✗ invalid argument \"%s\" for \"%.*s\" flag\n", v,
					(int)n, a);
				return -EINVAL;
			}
			if (IS("--dry-run")) {
				if (o->diff) {
					fprintf(stderr, "✗ unknown flag: --dry-run\n");
					return -EINVAL;
				}
				o->dry_run = b;
			} else if (IS("--strict-substitute")) {
				o->strict = b;
			} else if (IS("--progress-bar") && !o->diff) {
				fprintf(stderr, "✗ unknown flag: --progress-bar\n");
				return -EINVAL;
			}
		} else if ((IS("--recursive") || IS("-r")) && !o->diff) {
			if (v && !streq(v, "true") && !streq(v, "false")) {
				fprintf(stderr, "✗ invalid argument \"%s\" for \"%.*s\" flag\n", v,
					(int)n, a);
				return -EINVAL;
			}
			o->recursive = !v || streq(v, "true");
		} else if (IS("--local-sources") && !o->diff) {
			char *list, *item, *next;

			if (!v && i + 1 >= argc) {
				fprintf(stderr, "✗ flag needs an argument: --local-sources\n");
				return -EINVAL;
			}
			list = xstrdup(v ? v : argv[++i]);
			if (!o->local_sources)
				o->local_sources = cJSON_CreateObject();
			for (item = list; item && *item; item = next) {
				char *eq2;

				next = strchr(item, ',');
				if (next)
					*next++ = '\0';
				eq2 = strchr(item, '=');
				if (!eq2) {
					fprintf(stderr, "✗ invalid argument \"%s\" for \"--local-sources\" "
							"flag: %s must be formatted as key=value\n",
						v ? v : argv[i], item);
					free(list);
					return -EINVAL;
				}
				*eq2 = '\0';
				cJSON_DeleteItemFromObjectCaseSensitive(o->local_sources, item);
				cJSON_AddStringToObject(o->local_sources, item, eq2 + 1);
			}
			free(list);
		} else if (IS("--recursive") || IS("-r") || IS("--local-sources") ||
			   IS("--ignore-paths") || IS("--ignore-not-found")) {
			fprintf(stderr, "✗ %.*s is not supported by cflux\n", (int)n, a);
			return -EINVAL;
		} else {
			rest[(*nrest)++] = argv[i];
		}
#undef IS
	}
	return 0;
}

/* argv[0] is "build" or "diff", argv[1] "kustomization" (or "ks"). */
int cli_build(int argc, char **argv)
{
	struct bopts o = { 0 };
	struct cli_flags f;
	struct cli_kube *k = NULL;
	char **rest;
	int nrest, r, fail;
	const char *usage;
	char *name = NULL;
	cJSON *ks = NULL, *objs = NULL;

	o.diff = streq(argv[0], "diff");
	usage = o.diff ? diff_usage : build_usage;
	if (argc < 2 || (!streq(argv[1], "kustomization") && !streq(argv[1], "ks") &&
			 !streq(argv[1], "kustomizations"))) {
		fputs(usage, stderr);
		return 2;
	}
	rest = xcalloc((size_t)argc, sizeof(*rest));
	rest[0] = argv[0];
	if (own_flags(argc - 2, argv + 2, &o, rest + 1, &nrest) < 0) {
		free(rest);
		cJSON_Delete(o.local_sources);
		return 2;
	}
	r = cli_flags_parse(nrest + 1, rest, CLI_F_TIMEOUT, usage, &f);
	if (r != 0) {
		free(rest);
		cJSON_Delete(o.local_sources);
		return r == 1 ? 0 : 2;
	}
	if (f.n_args < 1) {
		free(rest);
		cJSON_Delete(o.local_sources);
		return cli_fail("kustomization name is required");
	}
	name = xstrdup(f.args[0]);
	free(rest);
	/* flux's statuses: build fails with 1; diff's path check with 2, the rest 1 */
	fail = o.diff ? 2 : 1;
	if (!o.path || !o.path[0] || !is_dir(o.path)) {
		char *cwd = getcwd(NULL, 0), *abs = NULL;

		/* build names the absolute path, diff the one given */
		if (!o.diff && o.path && o.path[0]) {
			char *j = o.path[0] == '/' || !cwd ? xstrdup(o.path)
							     : xasprintf("%s/%s", cwd, o.path);
			abs = path_clean(j);
			free(j);
		}
		cli_fail("invalid resource path \"%s\"", abs ? abs : o.path ? o.path : "");
		free(abs);
		free(cwd);
		goto out;
	}
	fail = 1;
	if (o.dry_run && !o.ks_file) {
		cli_fail("dry-run mode requires a kustomization file");
		goto out;
	}
	if (o.ks_file && (access(o.ks_file, F_OK) != 0 || is_dir(o.ks_file))) {
		cli_fail("invalid kustomization file \"%s\"", o.ks_file);
		goto out;
	}
	if (!o.dry_run && cli_kube_open(&f, &k) < 0)
		goto out;
	{
		const char *ns = k ? cli_kube_ns(k) : f.ns, *kns;
		struct kube_ref ref = ks_ref(ns, name);
		struct op_err err = OP_ERR_INIT;
		cJSON *live = NULL;

		if (k) {
			/* flux needs the live object unless --dry-run, file or not */
			r = cli_kube_get(k, &ref, NULL, &live, &err);
			if (r < 0) {
				cli_fail("failed to get kustomization object: %s", err.msg);
				goto out;
			}
		}
		if (o.ks_file) {
			ks = ks_from_file(o.ks_file, name, ns);
			if (ks && live && yj_get(live, "/status/inventory"))
				yj_set(ks, "/status", cJSON_Duplicate(yj_get(live, "/status"), true));
			cJSON_Delete(live);
		} else {
			ks = live;
		}
		if (!ks)
			goto out;
		/*
		 * flux labels with the Kustomization's own namespace: "" when
		 * --kustomization-file leaves it out (variables are still read from -n's)
		 */
		kns = yj_get_str(ks, "/metadata/namespace");
		if (!kns)
			kns = "";
		if (build(k, ks, name, ns, kns, &o, o.path, &objs))
			goto out;
		if (o.recursive && build_nested(k, objs, name, kns, &o, 0))
			goto out;
		if (o.diff)
			fail = diff(k, ks, name, kns[0] ? kns : ns, objs);
		else
			fail = print_objects(objs);
	}
out:
	free(name);
	cJSON_Delete(o.local_sources);
	cJSON_Delete(objs);
	cJSON_Delete(ks);
	cli_kube_close(k);
	return fail;
}
