/*
 * config.c: `cflux config create|list|show|delete`, the FluxConfiguration
 * commands with the flags of `az k8s-configuration flux`:
 *
 *   cflux config create NAME -n NS -u URL --branch main \
 *         --kustomization name=infra path=./infra prune=true \
 *         --kustomization name=apps path=./apps depends_on=infra
 *   cflux config list [-n NS] [-o table]
 *   cflux config show NAME [-n NS]
 *   cflux config delete NAME [-n NS] [--no-wait]
 *
 * create applies the FluxConfiguration (server-side, field manager
 * "cflux"), so running it again updates it, and waits, as az waits for
 * its PUT, until provisioningState is Succeeded or Failed.  Objects print
 * as az prints them: the resource's properties flattened to one JSON
 * object (name, namespace, spec, status).  The client-side checks are
 * az's (validators.py): exactly one of --branch/--tag/--semver/--commit,
 * a git URL (http, https, ssh, git@), the names' DNS rules and the
 * 62-character limit on config + kustomization name, kustomization keys
 * and their aliases, Go durations.  Only Git sources are created here
 * (--kind git); az's bucket, azblob and oci flags are refused by name.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/str.h"
#include "base/time.h"
#include "cli.h"
#include "yj/yj.h"
#include "base/banned.h"

static const char usage[] =
	"usage: cflux config create NAME -u URL --branch|--tag|--semver|--commit REF\n"
	"             [--kustomization name=K path=P prune=true depends_on=A,B sync_interval=10m\n"
	"              timeout=10m retry_interval=1m force=true disable_health_check=true]...\n"
	"             [--scope cluster|namespace] [--kind git] [--interval 10m] [--timeout 10m]\n"
	"             [--https-user U] [--local-auth-ref SECRET] [--suspend] [--no-wait]\n"
	"       cflux config list [-o json|table]\n"
	"       cflux config show NAME\n"
	"       cflux config delete NAME [--no-wait]\n"
	"  cluster flags: --kubeconfig=FILE --context=NAME -n/--namespace=NS (default \"default\")\n";

static const struct kube_ref fc_ref = { .group = "clusterconfig.cflux.io", .version = "v1",
					.resource = "fluxconfigurations" };

enum {
	OPT_KUBECONFIG = 256, OPT_CONTEXT, OPT_BRANCH, OPT_TAG, OPT_SEMVER, OPT_COMMIT,
	OPT_KUSTOMIZATION, OPT_SCOPE, OPT_KIND, OPT_INTERVAL, OPT_TIMEOUT, OPT_HTTPS_USER,
	OPT_LOCAL_AUTH, OPT_SUSPEND, OPT_NO_WAIT, OPT_AZ_ONLY,
};

struct config_flags {
	struct cli_flags kube;
	const char *url, *ref_key, *ref, *scope, *kind, *interval, *timeout;
	const char *https_user, *local_auth;
	bool suspend, no_wait;
	int nrefs;
	char **ks;     /* each --kustomization's words, NULL-separated groups */
	int *ks_start, nks, nwords;
	const char *output;
	char **argv;   /* argv with each --kustomization's words joined by KS_SEP */
	int argc;
};

#define KS_SEP '\x1f'

/*
 * az's --kustomization takes several words (name=a path=./a prune=true),
 * so they are joined into one argument before getopt sees them.
 */
static void join_kustomizations(int argc, char **argv, struct config_flags *f)
{
	int i;

	f->argv = xcalloc((size_t)argc + 1, sizeof(*f->argv));
	for (i = 0; i < argc; i++) {
		struct buf b = BUF_INIT(1 << 16);

		if (!streq(argv[i], "--kustomization") || i + 1 >= argc) {
			f->argv[f->argc++] = xstrdup(argv[i]);
			continue;
		}
		buf_adds(&b, "--kustomization=");
		buf_adds(&b, argv[++i]);
		while (i + 1 < argc && argv[i + 1][0] != '-') {
			buf_addch(&b, KS_SEP);
			buf_adds(&b, argv[++i]);
		}
		f->argv[f->argc++] = buf_detach(&b, NULL);
	}
}

/* K8s DNS-1123 subdomain or label, as az's validators check the names. */
static bool dns_name(const char *s, bool dots, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')) ||
	    !((s[n - 1] >= 'a' && s[n - 1] <= 'z') || (s[n - 1] >= '0' && s[n - 1] <= '9')))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' ||
		      (dots && *s == '.')))
			return false;
	return true;
}

/* A Go duration ("10m", "1h30m") as whole seconds, as az converts it. */
static int seconds(const char *key, const char *v, int64_t *ret)
{
	int64_t ns;

	if (duration_parse(v, &ns) < 0 || ns <= 0)
		return cli_fail("invalid %s '%s': a duration such as 10m or 1h30m", key, v), -EINVAL;
	*ret = ns / NSEC_PER_SEC;
	return 0;
}

/* "a,b", "[a,b]" or "['a', 'b']": the names, as az's parse_dependencies. */
static cJSON *dependencies(const char *v)
{
	cJSON *a = cJSON_CreateArray();
	_cleanup_free_ char *s = xstrdup(v);
	char *p = s, *e, *next;

	for (; p; p = next) {
		next = p + strcspn(p, "[],");
		if (*next)
			*next++ = '\0';
		else
			next = NULL;
		while (*p == ' ' || *p == '"' || *p == '\'')
			p++;
		e = p + strlen(p);
		while (e > p && (e[-1] == ' ' || e[-1] == '"' || e[-1] == '\''))
			*--e = '\0';
		if (*p)
			cJSON_AddItemToArray(a, cJSON_CreateString(p));
	}
	return a;
}

static bool truthy(const char *v)
{
	return strcasecmp(v, "true") == 0;
}

/* One --kustomization: its words KEY=VALUE into `all` under its name. */
static int kustomization(const char *config, char **words, int n, cJSON *all)
{
	cJSON *k = cJSON_CreateObject();
	const char *name = NULL;
	int i;

	for (i = 0; i < n; i++) {
		_cleanup_free_ char *key = xstrdup(words[i]);
		char *eq = strchr(key, '=');
		const char *v;
		int64_t secs;

		if (!eq) {
			cJSON_Delete(k);
			return cli_fail("--kustomization: '%s' is not KEY=VALUE", words[i]), -EINVAL;
		}
		*eq = '\0';
		v = eq + 1;
		if (streq(key, "name")) {
			name = words[i] + 5;
		} else if (streq(key, "path")) {
			cJSON_AddStringToObject(k, "path", v);
		} else if (streq(key, "prune") || streq(key, "force")) {
			cJSON_AddBoolToObject(k, key, truthy(v));
		} else if (streq(key, "disable_health_check") || streq(key, "disable-health-check") ||
			   streq(key, "disableHealthCheck")) {
			cJSON_AddBoolToObject(k, "wait", !truthy(v));
		} else if (streq(key, "dependsOn") || streq(key, "depends_on") ||
			   streq(key, "dependencies") || streq(key, "depends")) {
			cJSON_AddItemToObject(k, "dependsOn", dependencies(v));
		} else if (streq(key, "sync_interval") || streq(key, "interval") ||
			   streq(key, "syncInterval")) {
			if (seconds(key, v, &secs) < 0)
				goto bad;
			cJSON_AddNumberToObject(k, "syncIntervalInSeconds", (double)secs);
		} else if (streq(key, "retry_interval") || streq(key, "retryInterval")) {
			if (seconds(key, v, &secs) < 0)
				goto bad;
			cJSON_AddNumberToObject(k, "retryIntervalInSeconds", (double)secs);
		} else if (streq(key, "timeout")) {
			if (seconds(key, v, &secs) < 0)
				goto bad;
			cJSON_AddNumberToObject(k, "timeoutInSeconds", (double)secs);
		} else {
			cli_fail("--kustomization: unknown key '%s' (name, path, prune, force, "
				 "depends_on, sync_interval, retry_interval, timeout, "
				 "disable_health_check)", key);
			goto bad;
		}
	}
	if (!name || !dns_name(name, true, 63)) {
		cli_fail("--kustomization: a 'name' is required, a DNS subdomain of at most 63 "
			 "characters");
		goto bad;
	}
	if (strlen(config) + strlen(name) > 62) {
		cli_fail("kustomization name '%s' is too long: the configuration's and the "
			 "kustomization's names together must be at most 62 characters", name);
		goto bad;
	}
	if (cJSON_GetObjectItemCaseSensitive(all, name)) {
		cli_fail("kustomization '%s' is given twice", name);
		goto bad;
	}
	cJSON_AddItemToObject(all, name, k);
	return 0;
bad:
	cJSON_Delete(k);
	return -EINVAL;
}

static int parse(int argc, char **argv, struct config_flags *f)
{
	static const struct option opts[] = {
		{ "kubeconfig", required_argument, NULL, OPT_KUBECONFIG },
		{ "context", required_argument, NULL, OPT_CONTEXT },
		{ "namespace", required_argument, NULL, 'n' },
		{ "url", required_argument, NULL, 'u' },
		{ "branch", required_argument, NULL, OPT_BRANCH },
		{ "tag", required_argument, NULL, OPT_TAG },
		{ "semver", required_argument, NULL, OPT_SEMVER },
		{ "commit", required_argument, NULL, OPT_COMMIT },
		{ "kustomization", required_argument, NULL, OPT_KUSTOMIZATION },
		{ "scope", required_argument, NULL, OPT_SCOPE },
		{ "kind", required_argument, NULL, OPT_KIND },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "sync-interval", required_argument, NULL, OPT_INTERVAL },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "https-user", required_argument, NULL, OPT_HTTPS_USER },
		{ "local-auth-ref", required_argument, NULL, OPT_LOCAL_AUTH },
		{ "local-ref", required_argument, NULL, OPT_LOCAL_AUTH },
		{ "suspend", no_argument, NULL, OPT_SUSPEND },
		{ "no-wait", no_argument, NULL, OPT_NO_WAIT },
		{ "output", required_argument, NULL, 'o' },
		/* az's, for sources and credentials cflux's CLI does not create yet */
		{ "bucket-name", required_argument, NULL, OPT_AZ_ONLY },
		{ "container-name", required_argument, NULL, OPT_AZ_ONLY },
		{ "https-key", required_argument, NULL, OPT_AZ_ONLY },
		{ "ssh-private-key", required_argument, NULL, OPT_AZ_ONLY },
		{ "ssh-private-key-file", required_argument, NULL, OPT_AZ_ONLY },
		{ "known-hosts", required_argument, NULL, OPT_AZ_ONLY },
		{ "known-hosts-file", required_argument, NULL, OPT_AZ_ONLY },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c, idx;

	memset(f, 0, sizeof(*f));
	f->kube.ns = "default";
	f->kube.timeout_ns = 5 * NSEC_PER_MIN;
	join_kustomizations(argc, argv, f);
	argc = f->argc;
	argv = f->argv;
	f->ks = xcalloc((size_t)argc * 64 + 1, sizeof(*f->ks));
	f->ks_start = xcalloc((size_t)argc + 1, sizeof(*f->ks_start));
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":n:u:o:h", opts, &idx)) != -1) {
		switch (c) {
		case OPT_KUBECONFIG: f->kube.kubeconfig = optarg; break;
		case OPT_CONTEXT: f->kube.context = optarg; break;
		case 'n': f->kube.ns = optarg; break;
		case 'u': f->url = optarg; break;
		case 'o': f->output = optarg; break;
		case OPT_BRANCH: case OPT_TAG: case OPT_SEMVER: case OPT_COMMIT:
			f->ref_key = c == OPT_BRANCH ? "branch" : c == OPT_TAG ? "tag" :
				     c == OPT_SEMVER ? "semver" : "commit";
			f->ref = optarg;
			f->nrefs++;
			break;
		case OPT_KUSTOMIZATION: {
			char *w = optarg, *sep;
			int n = 0;

			f->ks_start[f->nks++] = f->nwords;
			for (; w && n < 63; w = sep, n++) {
				sep = strchr(w, KS_SEP);
				if (sep)
					*sep++ = '\0';
				f->ks[f->nwords++] = w;
			}
			f->ks[f->nwords++] = NULL;
			break;
		}
		case OPT_SCOPE: f->scope = optarg; break;
		case OPT_KIND: f->kind = optarg; break;
		case OPT_INTERVAL: f->interval = optarg; break;
		case OPT_TIMEOUT: f->timeout = optarg; break;
		case OPT_HTTPS_USER: f->https_user = optarg; break;
		case OPT_LOCAL_AUTH: f->local_auth = optarg; break;
		case OPT_SUSPEND: f->suspend = true; break;
		case OPT_NO_WAIT: f->no_wait = true; break;
		case OPT_AZ_ONLY:
			return cli_fail("--%s is not supported by cflux config yet: create the "
					"FluxConfiguration with kubectl, or use --local-auth-ref "
					"with a Secret", opts[idx].name), -EINVAL;
		case 'h':
			fputs(usage, stdout);
			return 1;
		case ':':
			return cli_fail("flag needs an argument: %s", argv[optind - 1]), -EINVAL;
		default:
			return cli_fail("unknown flag: %s", argv[optind - 1]), -EINVAL;
		}
	}
	f->kube.args = argv + optind;
	f->kube.n_args = argc - optind;
	return 0;
}

static void config_flags_release(struct config_flags *f)
{
	for (int i = 0; i < f->argc; i++)
		free(f->argv[i]);
	free(f->argv);
	free(f->ks);
	free(f->ks_start);
}

/* The FluxConfiguration `create` applies. */
static int desired(const struct config_flags *f, const char *name, cJSON **ret)
{
	cJSON *o = cJSON_CreateObject(), *md, *spec, *git, *ref, *ks;
	int64_t secs;
	int i;

	if (f->kind && !streq(f->kind, "git")) {
		cJSON_Delete(o);
		return cli_fail("--kind %s is not supported by cflux config yet: only git", f->kind),
		       -EINVAL;
	}
	if (!f->url || !(str_startswith(f->url, "http://") || str_startswith(f->url, "https://") ||
			 str_startswith(f->url, "ssh://") || str_startswith(f->url, "git@"))) {
		cJSON_Delete(o);
		return cli_fail("Invalid URL '%s': a git URL starts with http://, https://, ssh:// "
				"or git@", f->url ? f->url : ""), -EINVAL;
	}
	if (f->nrefs != 1) {
		cJSON_Delete(o);
		return cli_fail(f->nrefs ? "Specifying more than one repository ref argument is "
					   "invalid" :
					   "Specifying one of [--branch, --tag, --semver, --commit] "
					   "is required"), -EINVAL;
	}
	if (f->scope && !streq(f->scope, "cluster") && !streq(f->scope, "namespace")) {
		cJSON_Delete(o);
		return cli_fail("--scope must be cluster or namespace"), -EINVAL;
	}
	cJSON_AddStringToObject(o, "apiVersion", "clusterconfig.cflux.io/v1");
	cJSON_AddStringToObject(o, "kind", "FluxConfiguration");
	md = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(md, "name", name);
	cJSON_AddStringToObject(md, "namespace", f->kube.ns);
	spec = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddStringToObject(spec, "scope", f->scope ? f->scope : "cluster");
	cJSON_AddStringToObject(spec, "namespace", f->kube.ns);
	cJSON_AddStringToObject(spec, "sourceKind", "GitRepository");
	cJSON_AddBoolToObject(spec, "suspend", f->suspend);
	git = cJSON_AddObjectToObject(spec, "gitRepository");
	cJSON_AddStringToObject(git, "url", f->url);
	ref = cJSON_AddObjectToObject(git, "repositoryRef");
	cJSON_AddStringToObject(ref, f->ref_key, f->ref);
	if (f->interval) {
		if (seconds("--interval", f->interval, &secs) < 0)
			goto bad;
		cJSON_AddNumberToObject(git, "syncIntervalInSeconds", (double)secs);
	}
	if (f->timeout) {
		if (seconds("--timeout", f->timeout, &secs) < 0)
			goto bad;
		cJSON_AddNumberToObject(git, "timeoutInSeconds", (double)secs);
	}
	if (f->https_user)
		cJSON_AddStringToObject(git, "httpsUser", f->https_user);
	if (f->local_auth)
		cJSON_AddStringToObject(git, "localAuthRef", f->local_auth);
	ks = cJSON_AddObjectToObject(spec, "kustomizations");
	for (i = 0; i < f->nks; i++) {
		int start = f->ks_start[i], n = 0;

		while (f->ks[start + n])
			n++;
		if (kustomization(name, f->ks + start, n, ks) < 0)
			goto bad;
	}
	*ret = o;
	return 0;
bad:
	cJSON_Delete(o);
	return -EINVAL;
}

/* az's view: the properties, flattened (name and namespace, spec, status). */
static cJSON *flattened(const cJSON *fc)
{
	cJSON *o = cJSON_CreateObject();
	const cJSON *e;

	cJSON_AddStringToObject(o, "name", yj_get_str(fc, "/metadata/name"));
	cJSON_ArrayForEach(e, yj_get(fc, "/spec"))
		cJSON_AddItemToObject(o, e->string, cJSON_Duplicate(e, true));
	cJSON_ArrayForEach(e, yj_get(fc, "/status"))
		if (!streq(e->string, "conditions") && !streq(e->string, "observedGeneration"))
			cJSON_AddItemToObject(o, e->string, cJSON_Duplicate(e, true));
	return o;
}

static void print_json(const cJSON *o)
{
	struct buf b = BUF_INIT(CLI_OUT_MAX);

	yj_print_indent(o, "  ", &b);
	buf_addch(&b, '\n');
	fwrite(b.buf, 1, b.len, stdout);
	buf_release(&b);
}

static const char *terminal_state(const cJSON *fc)
{
	const char *st = yj_get_str(fc, "/status/provisioningState");
	long gen = (long)cJSON_GetNumberValue(yj_get(fc, "/metadata/generation"));
	long seen = (long)cJSON_GetNumberValue(yj_get(fc, "/status/observedGeneration"));

	if (seen != gen || !st)
		return NULL;
	return streq(st, "Succeeded") || streq(st, "Failed") ? st : NULL;
}

/* Apply `o` (taken) and wait until it is provisioned. */
static int create(struct cli_kube *k, const struct config_flags *f, const char *name, cJSON *o)
{
	struct kube_ref ref = fc_ref;
	struct op_err err = OP_ERR_INIT;
	cJSON *got = NULL;
	uint64_t waited = 0;
	const char *st = NULL;
	int r;

	ref.ns = f->kube.ns;
	ref.name = name;
	r = cli_kube_apply(k, &ref, o, &got, &err);
	cJSON_Delete(o);
	if (r < 0)
		return cli_fail("%s", err.msg);
	while (!f->no_wait && !(st = terminal_state(got))) {
		if (waited >= (uint64_t)(f->kube.timeout_ns / NSEC_PER_MSEC)) {
			cJSON_Delete(got);
			return cli_fail("timed out waiting for FluxConfiguration %s/%s to be "
					"provisioned", f->kube.ns, name);
		}
		cli_kube_sleep(k, 500);
		waited += 500;
		cJSON_Delete(got);
		got = NULL;
		if (cli_kube_get(k, &ref, NULL, &got, &err) < 0)
			return cli_fail("%s", err.msg);
	}
	o = flattened(got);
	print_json(o);
	cJSON_Delete(o);
	r = st && streq(st, "Failed") ? 1 : 0;
	if (r)
		cli_fail("provisioning failed: %s", yj_get_str(got, "/status/errorMessage") ?
						      yj_get_str(got, "/status/errorMessage") : "");
	cJSON_Delete(got);
	return r;
}

/* az's -o table: namespace, name, scope, provisioningState, complianceState, dates. */
static void table(const cJSON *items)
{
	const cJSON *fc;

	printf("%-20s %-24s %-10s %-18s %-16s %-22s %s\n", "Namespace", "Name", "Scope",
	       "ProvisioningState", "ComplianceState", "StatusUpdatedAt", "SourceUpdatedAt");
	cJSON_ArrayForEach(fc, items) {
		const char *v[7] = {
			yj_get_str(fc, "/metadata/namespace"),  yj_get_str(fc, "/metadata/name"),
			yj_get_str(fc, "/spec/scope"),          yj_get_str(fc, "/status/provisioningState"),
			yj_get_str(fc, "/status/complianceState"),
			yj_get_str(fc, "/status/statusUpdatedAt"),
			yj_get_str(fc, "/status/sourceUpdatedAt"),
		};

		printf("%-20s %-24s %-10s %-18s %-16s %-22s %s\n", v[0] ? v[0] : "", v[1] ? v[1] : "",
		       v[2] ? v[2] : "", v[3] ? v[3] : "", v[4] ? v[4] : "", v[5] ? v[5] : "",
		       v[6] ? v[6] : "");
	}
}

int cli_config(int argc, char **argv)
{
	struct config_flags f;
	struct cli_kube *k = NULL;
	struct kube_ref ref = fc_ref;
	struct op_err err = OP_ERR_INIT;
	const char *verb, *name;
	cJSON *got = NULL, *want = NULL;
	int r;

	r = parse(argc, argv, &f);
	if (r) {
		config_flags_release(&f);
		return r > 0 ? 0 : 2;
	}
	verb = f.kube.n_args > 0 ? f.kube.args[0] : "";
	name = f.kube.n_args > 1 ? f.kube.args[1] : NULL;
	if (!streq(verb, "create") && !streq(verb, "list") && !streq(verb, "show") &&
	    !streq(verb, "delete")) {
		fprintf(stderr, "✗ config: create, list, show or delete\n%s", usage);
		config_flags_release(&f);
		return 2;
	}
	if (!streq(verb, "list") && (!name || !dns_name(name, true, 63))) {
		cli_fail("config %s: a NAME is required, a DNS subdomain of at most 63 characters",
			 verb);
		config_flags_release(&f);
		return 2;
	}
	if (f.output && !streq(f.output, "json") && !streq(f.output, "table")) {
		cli_fail("invalid output format \"%s\": json or table", f.output);
		config_flags_release(&f);
		return 2;
	}
	/* az's checks come before any request */
	if (streq(verb, "create") && desired(&f, name, &want) < 0) {
		config_flags_release(&f);
		return 2;
	}
	if (cli_kube_open(&f.kube, &k) < 0) {
		cJSON_Delete(want);
		config_flags_release(&f);
		return 1;
	}
	ref.ns = f.kube.ns;
	ref.name = name;
	if (streq(verb, "create")) {
		r = create(k, &f, name, want);
	} else if (streq(verb, "list")) {
		r = cli_kube_list(k, &ref, NULL, &got, &err);
		if (r < 0) {
			r = cli_fail("%s", err.msg);
		} else if (f.output && streq(f.output, "table")) {
			table(yj_get(got, "/items"));
		} else {
			cJSON *a = cJSON_CreateArray();
			const cJSON *fc;

			cJSON_ArrayForEach(fc, yj_get(got, "/items"))
				cJSON_AddItemToArray(a, flattened(fc));
			print_json(a);
			cJSON_Delete(a);
		}
	} else if (streq(verb, "show")) {
		r = cli_kube_get(k, &ref, NULL, &got, &err);
		if (r < 0) {
			r = cli_fail("%s", err.msg);
		} else {
			cJSON *o = flattened(got);

			print_json(o);
			cJSON_Delete(o);
		}
	} else {
		r = cli_kube_delete(k, &ref, &err);
		if (r < 0) {
			r = cli_fail("%s", err.msg);
		} else {
			uint64_t waited = 0;

			/* az waits for the DELETE to finish: here, the finalizer's work. */
			while (!f.no_wait && cli_kube_get(k, &ref, NULL, &got, &err) == 0) {
				cJSON_Delete(got);
				got = NULL;
				if (waited >= (uint64_t)(f.kube.timeout_ns / NSEC_PER_MSEC)) {
					r = cli_fail("timed out waiting for FluxConfiguration %s/%s "
						     "to be deleted", f.kube.ns, name);
					break;
				}
				cli_kube_sleep(k, 500);
				waited += 500;
			}
			if (r == 0)
				cli_say("✔", "FluxConfiguration %s/%s deleted", f.kube.ns, name);
		}
	}
	cJSON_Delete(got);
	cli_kube_close(k);
	config_flags_release(&f);
	return r;
}
