/*
 * test_flux.c: lib/kustomize/flux.c — kz_flux_build(): a plain directory
 * built through the kustomization Flux's generator writes, the spec's
 * fields merged into a kustomization file, commonMetadata, post-build
 * substitution, targetNamespace and the provenance annotations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/str.h"
#include "harness.h"
#include "kustomize/kustomize.h"
#include "yj/yj.h"

static char *root;

static void put(const char *rel, const char *text)
{
	harness_put(root, rel, text);
}

static void fresh_root(void)
{
	if (root) {
		char *cmd = xasprintf("rm -rf %s", root);

		ASSERT_OK(system(cmd));
		free(cmd);
		free(root);
	}
	root = xstrdup("/tmp/cflux-ksbuild-XXXXXX");
	ASSERT_NOT_NULL(mkdtemp(root));
}

static void drop_root(void)
{
	char *cmd = xasprintf("rm -rf %s", root);

	ASSERT_OK(system(cmd));
	free(cmd);
	free(root);
	root = NULL;
}

static const cJSON *find(const cJSON *arr, const char *kind, const char *name)
{
	const cJSON *o;

	cJSON_ArrayForEach(o, arr)
		if (streq_ptr(yj_get_str(o, "/kind"), kind) &&
		    streq_ptr(yj_get_str(o, "/metadata/name"), name))
			return o;
	return NULL;
}

static const char *str_of(const cJSON *arr, const char *kind, const char *name, const char *ptr)
{
	return yj_get_str(find(arr, kind, name), ptr);
}

static const char *str_at(const cJSON *arr, int i, const char *ptr)
{
	return yj_get_str(cJSON_GetArrayItem(arr, i), ptr);
}

TEST(plain_directory_built_as_flux_generates_it)
{
	struct kz_flux_in in = { .revision = "main@sha1:abc" };
	struct op_err err = OP_ERR_INIT;
	cJSON *out = NULL;

	fresh_root();
	put("deploy/b.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n---\n"
			     "# only a comment\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n"
			     "  name: apps\n");
	put("deploy/a/list.yml", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: "
				 "Secret\n  metadata:\n    name: s\n");
	put("deploy/notes.txt", "not yaml: [");
	put("other/x.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n");
	in.root = root;
	in.path = "./deploy";
	ASSERT_OK(kz_flux_build(&in, &out, &err));
	/*
	 * The generated kustomization's order (its files walked in lexical
	 * order), unsorted as Flux builds it: the List's Secret, ConfigMap,
	 * Namespace.
	 */
	ASSERT_EQ(cJSON_GetArraySize(out), 3);
	ASSERT_STREQ(str_at(out, 0, "/metadata/name"), "s"); /* from the List */
	ASSERT_STREQ(str_at(out, 1, "/metadata/name"), "b");
	ASSERT_STREQ(str_at(out, 2, "/kind"), "Namespace");
	ASSERT_STREQ(str_of(out, "ConfigMap", "b", "/metadata/annotations/cflux.io~1source-path"),
		     "deploy/b.yaml:1");
	ASSERT_STREQ(str_of(out, "Namespace", "apps", "/metadata/annotations/cflux.io~1source-path"),
		     "deploy/b.yaml:8");
	ASSERT_STREQ(str_of(out, "Secret", "s", "/metadata/annotations/cflux.io~1source-revision"),
		     "main@sha1:abc");
	cJSON_Delete(out);
	drop_root();
}

TEST(substitution_types_and_opt_out)
{
	struct kz_flux_in in = { .strict = true };
	struct op_err err = OP_ERR_INIT;
	cJSON *out = NULL, *vars = cJSON_Parse("{\"REPLICAS\":\"3\",\"ENV\":\"prod\"}");

	fresh_root();
	put("app.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-${ENV}\n"
			"spec:\n  replicas: ${REPLICAS}\n  paused: ${PAUSED:=false}\n---\n"
			"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: raw\n  annotations:\n"
			"    kustomize.toolkit.fluxcd.io/substitute: disabled\ndata:\n"
			"  v: ${UNDEFINED}\n");
	in.root = root;
	in.path = "";
	in.vars = vars;
	ASSERT_OK(kz_flux_build(&in, &out, &err));
	{
		const cJSON *web = find(out, "Deployment", "web-prod");

		ASSERT_NOT_NULL(web);
		ASSERT(cJSON_IsNumber(yj_get(web, "/spec/replicas")));
		ASSERT_EQ((int)cJSON_GetNumberValue(yj_get(web, "/spec/replicas")), 3);
		ASSERT(cJSON_IsFalse(yj_get(web, "/spec/paused")));
	}
	ASSERT_STREQ(str_of(out, "ConfigMap", "raw", "/data/v"), "${UNDEFINED}");
	cJSON_Delete(out);
	/* strict: an undefined variable names the file and line */
	put("zz.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: z\ndata:\n  v: ${NOPE}\n");
	ASSERT(kz_flux_build(&in, &out, &err) < 0);
	ASSERT_CONTAINS(err.msg, "zz.yaml:1");
	ASSERT_CONTAINS(err.msg, "NOPE");
	/* no variables at all: no substitution, even strict (Flux) */
	in.vars = NULL;
	out = NULL;
	ASSERT_OK(kz_flux_build(&in, &out, &err));
	cJSON_Delete(out);
	cJSON_Delete(vars);
	drop_root();
}

TEST(target_namespace_only_on_namespaced_kinds)
{
	struct kz_flux_in in = { .target_ns = "team-a" };
	struct op_err err = OP_ERR_INIT;
	cJSON *out = NULL;

	fresh_root();
	put("x.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: other\n"
		      "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n");
	in.root = root;
	ASSERT_OK(kz_flux_build(&in, &out, &err));
	ASSERT_STREQ(str_of(out, "ConfigMap", "c", "/metadata/namespace"), "team-a");
	ASSERT_NULL(str_of(out, "Namespace", "team-a", "/metadata/namespace"));
	cJSON_Delete(out);
	drop_root();
}

TEST(errors_say_what_and_where)
{
	struct kz_flux_in in = { 0 };
	struct op_err err = OP_ERR_INIT;
	cJSON *out = NULL;

	fresh_root();
	in.root = root;
	in.path = "./missing";
	ASSERT(kz_flux_build(&in, &out, &err) < 0);
	ASSERT_CONTAINS(err.msg, "kustomization path not found: './missing'");
	in.path = "../../etc";
	ASSERT(kz_flux_build(&in, &out, &err) < 0);
	ASSERT_CONTAINS(err.msg, "invalid kustomization path");
	put("bad/x.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n---\n"
			  "kind: ConfigMap\nmetadata:\n  name: noversion\n");
	in.path = "bad";
	ASSERT(kz_flux_build(&in, &out, &err) < 0);
	ASSERT_CONTAINS(err.msg, "bad/x.yaml:6: not a Kubernetes object: missing apiVersion");
	put("syn/y.yaml", "apiVersion: v1\nkind: [\n");
	in.path = "syn";
	ASSERT(kz_flux_build(&in, &out, &err) < 0);
	ASSERT_CONTAINS(err.msg, "syn/y.yaml");
	put("kz/kustomization.yaml", "resources: [cm.yaml]\nbogus: 1\n");
	in.path = "kz";
	ASSERT(kz_flux_build(&in, &out, &err) < 0);
	ASSERT_CONTAINS(err.msg, "kz/kustomization.yaml");
	ASSERT_CONTAINS(err.msg, "bogus");
	ASSERT_NULL(out);
	/* Flux's kustomize-controller never enables helm: helmCharts are refused by name */
	put("kz/charts/c/Chart.yaml", "apiVersion: v2\nname: c\nversion: 1.0.0\n");
	put("kz/kustomization.yaml", "helmCharts:\n- name: c\n  releaseName: r\n");
	ASSERT(kz_flux_build(&in, &out, &err) < 0);
	ASSERT_CONTAINS(err.msg, "helmCharts 'c': must specify --enable-helm");
	ASSERT_NULL(out);
	put("kz/kustomization.yaml", "resources: [missing.yaml]\n");
	ASSERT(kz_flux_build(&in, &out, &err) < 0);
	ASSERT_CONTAINS(err.msg, "missing.yaml");
	ASSERT_NULL(out);
	{
		char *link = xasprintf("%s/escape", root);

		ASSERT_OK(symlink("/etc", link));
		free(link);
	}
	in.path = "escape";
	ASSERT(kz_flux_build(&in, &out, &err) < 0);
	ASSERT_NULL(out);
	drop_root();
}


static const char deploy[] = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"
			     "spec:\n  template:\n    spec:\n      containers:\n"
			     "      - name: app\n        image: nginx:1.0\n"
			     "        envFrom:\n        - configMapRef: {name: settings}\n";

TEST(kustomization_file_with_the_spec_merged_in)
{
	struct kz_flux_in in = { .revision = "main@sha1:abc", .target_ns = "team-a" };
	struct op_err err = OP_ERR_INIT;
	cJSON *out = NULL, *spec;
	const cJSON *d, *cm;

	fresh_root();
	put("base/deploy.yaml", deploy);
	put("base/kustomization.yaml", "resources: [deploy.yaml]\nconfigMapGenerator:\n"
				       "- name: settings\n  literals: [A=1]\n");
	put("overlay/kustomization.yaml", "resources: [../base]\nnamePrefix: file-\n"
					  "images:\n- name: nginx\n  newTag: \"2.0\"\n");
	put("patches/replicas.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
				     "  name: web\nspec:\n  replicas: 3\n");
	spec = cJSON_Parse("{\"namePrefix\":\"spec-\","
			   "\"images\":[{\"name\":\"nginx\",\"newName\":\"registry/nginx\"}],"
			   "\"patches\":[{\"target\":{\"kind\":\"Deployment\"},\"patch\":"
			   "\"- op: add\\n  path: /spec/paused\\n  value: true\\n\"}]}");
	in.root = root;
	in.path = "./overlay";
	in.kustomize = spec;
	ASSERT_OK(kz_flux_build(&in, &out, &err));
	ASSERT_EQ(cJSON_GetArraySize(out), 2);
	/* the spec's namePrefix replaces the file's; the name reference follows */
	d = find(out, "Deployment", "spec-web");
	ASSERT_NOT_NULL(d);
	cm = cJSON_GetArrayItem(out, 1); /* generated after the resources, unsorted */
	ASSERT_STREQ(yj_get_str(cm, "/kind"), "ConfigMap");
	ASSERT(str_startswith(yj_get_str(cm, "/metadata/name"), "spec-settings-"));
	ASSERT_STREQ(yj_get_str(d, "/spec/template/spec/containers/0/envFrom/0/configMapRef/name"),
		     yj_get_str(cm, "/metadata/name"));
	/* images: the spec's entry is merged into the file's entry of the same name */
	ASSERT_STREQ(yj_get_str(d, "/spec/template/spec/containers/0/image"), "registry/nginx:2.0");
	/* patches appended; targetNamespace is kustomize's namespace */
	ASSERT(cJSON_IsTrue(yj_get(d, "/spec/paused")));
	ASSERT_STREQ(yj_get_str(d, "/metadata/namespace"), "team-a");
	ASSERT_STREQ(yj_get_str(cm, "/metadata/namespace"), "team-a");
	/* provenance: the file and line each object came from */
	ASSERT_STREQ(yj_get_str(d, "/metadata/annotations/cflux.io~1source-path"),
		     "base/deploy.yaml:1");
	ASSERT_STREQ(yj_get_str(cm, "/metadata/annotations/cflux.io~1source-path"),
		     "base/kustomization.yaml");
	ASSERT_STREQ(yj_get_str(d, "/metadata/annotations/cflux.io~1source-revision"),
		     "main@sha1:abc");
	cJSON_Delete(out);
	cJSON_Delete(spec);
	drop_root();
}

TEST(plain_directory_with_spec_fields_is_generated_as_flux_does)
{
	struct kz_flux_in in = { 0 };
	struct op_err err = OP_ERR_INIT;
	cJSON *out = NULL, *spec, *cm;
	const cJSON *o;

	fresh_root();
	put("app/deploy.yaml", deploy);
	put("app/settings.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n");
	put("app/values.yaml", "replicas: 3\n"); /* not a Kubernetes object: left out */
	put("app/sub/kustomization.yaml", "resources: [sa.yaml]\nnameSuffix: -sub\n");
	put("app/sub/sa.yaml", "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa\n");
	put("app/.hidden/x.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hidden\n");
	put("components/extra/kustomization.yaml",
	    "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
	    "commonLabels: {extra: \"yes\"}\n");
	spec = cJSON_Parse("{\"nameSuffix\":\"-x\",\"components\":[\"../components/extra\","
			   "\"../components/absent\"]}");
	cm = cJSON_Parse("{\"labels\":{\"team\":\"a\"},\"annotations\":{\"note\":\"n\"}}");
	in.root = root;
	in.path = "app";
	in.kustomize = spec;
	in.common_metadata = cm;
	/* a missing component fails the build unless ignoreMissingComponents */
	ASSERT(kz_flux_build(&in, &out, &err) < 0);
	ASSERT_CONTAINS(err.msg, "absent");
	in.ignore_missing_components = true;
	ASSERT_OK(kz_flux_build(&in, &out, &err));
	ASSERT_EQ(cJSON_GetArraySize(out), 3);
	ASSERT_NOT_NULL(find(out, "ServiceAccount", "sa-sub-x"));
	ASSERT_NULL(find(out, "ConfigMap", "hidden-x"));
	o = find(out, "Deployment", "web-x");
	ASSERT_NOT_NULL(o);
	ASSERT_STREQ(yj_get_str(o, "/spec/template/spec/containers/0/envFrom/0/configMapRef/name"),
		     "settings-x");
	ASSERT_STREQ(yj_get_str(o, "/metadata/labels/extra"), "yes");
	/* commonMetadata: metadata only, not the pod template */
	ASSERT_STREQ(yj_get_str(o, "/metadata/labels/team"), "a");
	ASSERT_STREQ(yj_get_str(o, "/metadata/annotations/note"), "n");
	ASSERT_NULL(yj_get(o, "/spec/template/metadata/labels/team"));
	cJSON_Delete(out);
	cJSON_Delete(spec);
	cJSON_Delete(cm);
	drop_root();
}

TEST(fifo_keeps_read_order_as_flux_build_prints)
{
	struct kz_flux_in in = { 0 };
	struct op_err err = OP_ERR_INIT;
	cJSON *out = NULL;

	fresh_root();
	put("d/kustomization.yaml", "resources:\n- svc.yaml\n- ns.yaml\n");
	put("d/svc.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n");
	put("d/ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: n\n");
	in.root = root;
	in.path = "d";
	ASSERT_OK(kz_flux_build(&in, &out, &err));
	ASSERT_EQ(cJSON_GetArraySize(out), 2);
	ASSERT_STREQ(str_at(out, 0, "/kind"), "Service");
	ASSERT_STREQ(str_at(out, 1, "/kind"), "Namespace");
	cJSON_Delete(out);
	drop_root();
}

TEST(vars_merge_later_wins_newlines_dropped_secret_decoded)
{
	cJSON *vars = cJSON_CreateObject();
	cJSON *cm = cJSON_Parse("{\"A\":\"1\",\"B\":\"two\\nlines\",\"N\":5}");
	cJSON *sec = cJSON_Parse("{\"A\":\"c2VjcmV0\",\"BAD\":\"!!!\"}");
	cJSON *inl = cJSON_Parse("{\"C\":\"3\"}");

	kz_vars_add(vars, cm, false);
	kz_vars_add(vars, sec, true);
	kz_vars_add(vars, inl, false);
	ASSERT_STREQ(yj_get_str(vars, "/A"), "secret");
	ASSERT_STREQ(yj_get_str(vars, "/B"), "twolines");
	ASSERT_STREQ(yj_get_str(vars, "/C"), "3");
	ASSERT_NULL(yj_get(vars, "/N"));
	ASSERT_NULL(yj_get(vars, "/BAD"));
	cJSON_Delete(vars);
	cJSON_Delete(cm);
	cJSON_Delete(sec);
	cJSON_Delete(inl);
}

TEST(spec_fields_for_the_build)
{
	cJSON *spec = cJSON_Parse("{\"path\":\"./x\",\"namePrefix\":\"p-\",\"images\":[{\"name\":"
				  "\"a\"}],\"components\":null,\"commonMetadata\":{\"labels\":"
				  "{\"t\":\"a\"}}}");
	cJSON *k = NULL, *cm = NULL;

	kz_flux_spec(spec, &k, &cm);
	ASSERT_STREQ(yj_get_str(k, "/namePrefix"), "p-");
	ASSERT_NOT_NULL(yj_get(k, "/images/0"));
	ASSERT_NULL(yj_get(k, "/components"));
	ASSERT_NULL(yj_get(k, "/path"));
	ASSERT_STREQ(yj_get_str(cm, "/labels/t"), "a");
	cJSON_Delete(k);
	cJSON_Delete(cm);
	cJSON_Delete(spec);
}

TEST(digest_is_of_the_build_without_provenance)
{
	struct kz_flux_in in = { .revision = "main@sha1:abc" };
	struct op_err err = OP_ERR_INIT;
	/* what `kustomize build` prints for the directory */
	static const char want_yaml[] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  annotations:\n"
					"    team: a\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\n"
					"metadata:\n  name: b\n";
	char want[72] = "sha256:", got[72];
	cJSON *out = NULL;

	fresh_root();
	put("d/a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  annotations:\n"
			"    team: a\n");
	put("d/b.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n");
	in.root = root;
	in.path = "d";
	ASSERT_OK(kz_flux_build(&in, &out, &err));
	ASSERT_OK(kz_flux_digest(out, got));
	yj_sha256_hex(want_yaml, strlen(want_yaml), want + 7);
	ASSERT_STREQ(got, want);
	/* the objects are as they were: provenance kept, in place */
	ASSERT_STREQ(str_of(out, "ConfigMap", "b", "/metadata/annotations/cflux.io~1source-path"),
		     "d/b.yaml:1");
	ASSERT_STREQ(str_of(out, "ConfigMap", "a", "/metadata/annotations/team"), "a");
	ASSERT_STREQ(str_of(out, "ConfigMap", "a", "/metadata/annotations/cflux.io~1source-revision"),
		     "main@sha1:abc");
	/* an empty build: the digest of nothing, as Flux's of no bytes */
	cJSON_Delete(out);
	out = cJSON_CreateArray();
	ASSERT_OK(kz_flux_digest(out, got));
	ASSERT_STREQ(got, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	cJSON_Delete(out);
	drop_root();
}

/*
 * An `openapi` schema that does not define Deployment: Flux's builder
 * preloads kustomize's builtin schema, so containers still merge by name;
 * `kustomize build` (kz_build) drops the builtin one and replaces the list.
 */
TEST(openapi_schema_adds_to_the_builtin_merge_keys)
{
	struct kz_flux_in in = { 0 };
	struct op_err err = OP_ERR_INIT;
	cJSON *out = NULL;

	fresh_root();
	put("d/kustomization.yaml",
	    "openapi:\n  path: schema.json\nresources:\n- dep.yaml\npatches:\n- patch: |-\n"
	    "    apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: web}\n"
	    "    spec: {template: {spec: {containers: [{name: app, env: [{name: A, value: b}]}]}}}\n");
	put("d/schema.json", "{\"swagger\": \"2.0\", \"definitions\": {}}\n");
	put("d/dep.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n"
			  "  template:\n    spec:\n      containers:\n      - name: app\n"
			  "        image: nginx\n");
	in.root = root;
	in.path = "d";
	ASSERT_OK(kz_flux_build(&in, &out, &err));
	ASSERT_STREQ(str_of(out, "Deployment", "web", "/spec/template/spec/containers/0/image"),
		     "nginx");
	ASSERT_STREQ(str_of(out, "Deployment", "web",
			    "/spec/template/spec/containers/0/env/0/value"), "b");
	cJSON_Delete(out);
	out = NULL;
	{
		char *dir = xasprintf("%s/d", root);

		ASSERT_OK(kz_build(dir, ".", NULL, &out, &err));
		free(dir);
	}
	ASSERT_NULL(str_of(out, "Deployment", "web", "/spec/template/spec/containers/0/image"));
	cJSON_Delete(out);
	drop_root();
}
