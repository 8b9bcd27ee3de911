/*
 * ctl_extension.c: the Extension reconciler (clusterconfig.cflux.io/v1) —
 * the microsoft.flux extension's settings, applied to the running
 * operator without a restart.
 *
 * The Extension named `flux` carries Azure's configurationSettings.  Each
 * key is checked (reference/azure-fluxconfig.md §2.2); a bad value fails
 * the whole set (provisioningState Failed, Ready=False naming the key)
 * and nothing changes.  A good set is applied through ext_ctl.apply on
 * top of the operator's command-line flags: controllers switched on or
 * off, concurrency, log level, the dependency requeue interval,
 * multi-tenancy and strict substitution.  Keys of controllers cflux does
 * not have, and unknown keys, are reported in statuses[] and ignored.
 *
 * Deleting the Extension while FluxConfigurations exist is refused, as
 * Azure asks users to delete configurations first: a finalizer holds it
 * and Ready=False says which configurations remain.  Once none is left,
 * the flags' settings are restored and the finalizer removed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "conditions.h"
#include "controllers.h"
#include "secrets.h"
#include "yj/yj.h"
#include "base/banned.h"

#define FINALIZER "clusterconfig.cflux.io/extension"
#define EXT_NAME "flux"

static int parse_bool_setting(const char *v, bool *ret)
{
	if (!strcasecmp(v, "true")) {
		*ret = true;
		return 0;
	}
	if (!strcasecmp(v, "false")) {
		*ret = false;
		return 0;
	}
	return -EINVAL;
}

static int level_rank(enum log_level l)
{
	return l == LOG_ERROR ? 0 : l == LOG_INFO ? 1 : l == LOG_DEBUG ? 2 : 3;
}

struct status_list {
	cJSON *statuses;
	char ts[RFC3339_MAX];
};

static void add_status(struct status_list *sl, const char *code, const char *level,
		       const char *msg)
{
	cJSON *e = cJSON_CreateObject();

	cJSON_AddStringToObject(e, "code", code);
	cJSON_AddStringToObject(e, "displayStatus", code);
	cJSON_AddStringToObject(e, "level", level);
	cJSON_AddStringToObject(e, "message", msg);
	cJSON_AddStringToObject(e, "time", sl->ts);
	cJSON_AddItemToArray(sl->statuses, e);
}

int ext_parse_settings(const cJSON *settings, struct ext_settings *s, char *err, size_t n,
		       cJSON *notes)
{
	const cJSON *it;
	enum log_level level = LOG_ERROR;
	bool level_given = false;
	struct status_list sl = { .statuses = notes };
	int64_t now = time_now_ns();

	time_format_rfc3339(now - now % NSEC_PER_SEC, sl.ts);
	cJSON_ArrayForEach(it, settings)
	{
		const char *k = it->string, *v = cJSON_GetStringValue(it);
		char msg[512];
		bool b;

		if (!v) {
			snprintf(err, n, "configurationSettings.%s: the value must be a string", k);
			return -EINVAL;
		}
		if (streq(k, "source-controller.enabled") ||
		    streq(k, "kustomize-controller.enabled") || streq(k, "helm-controller.enabled") ||
		    str_endswith(k, "-controller.enabled") || streq(k, "multiTenancy.enforce") ||
		    streq(k, "kustomize-controller.strict-substitution-mode") ||
		    streq(k, "kustomize-controller.enable-in-memory-build")) {
			if (parse_bool_setting(v, &b) < 0) {
				snprintf(err, n, "configurationSettings.%s: \"%s\" is not true or false",
					 k, v);
				return -EINVAL;
			}
			if (streq(k, "source-controller.enabled"))
				s->source_enabled = b;
			else if (streq(k, "kustomize-controller.enabled"))
				s->kustomize_enabled = b;
			else if (streq(k, "helm-controller.enabled"))
				s->helm_enabled = b;
			else if (streq(k, "notification-controller.enabled"))
				s->notification_enabled = b;
			else if (streq(k, "multiTenancy.enforce"))
				s->multi_tenancy = b;
			else if (streq(k, "kustomize-controller.strict-substitution-mode"))
				s->strict_substitution = b;
			else if (streq(k, "kustomize-controller.enable-in-memory-build"))
				; /* cflux always builds in memory */
			else if (b) {
				snprintf(msg, sizeof(msg),
					 "%s=true: cflux does not have this controller yet; ignored", k);
				add_status(&sl, "SettingIgnored", "Warning", msg);
			}
		} else if (streq(k, "kustomize-controller.concurrent") ||
			   streq(k, "source-controller.concurrent")) {
			int c;

			if (parse_int(v, &c) < 0 || c < 1 || c > 1000) {
				snprintf(err, n, "configurationSettings.%s: \"%s\" is not a number "
						 "from 1 to 1000", k, v);
				return -EINVAL;
			}
			if (str_startswith(k, "kustomize"))
				s->kustomize_concurrent = (unsigned)c;
			else
				s->source_concurrent = (unsigned)c;
		} else if (str_endswith(k, ".log-level")) {
			enum log_level l;

			if (log_parse_level(v, &l) < 0) {
				snprintf(err, n, "configurationSettings.%s: \"%s\" is not debug, info "
						 "or error", k, v);
				return -EINVAL;
			}
			/* One process for all controllers: the most verbose level asked for. */
			if (!level_given || level_rank(l) > level_rank(level))
				level = l;
			level_given = true;
		} else if (streq(k, "kustomize-controller.requeue-dependency")) {
			int64_t ns;

			if (duration_parse(v, &ns) < 0 || ns <= 0) {
				snprintf(err, n, "configurationSettings.%s: \"%s\" is not a duration "
						 "such as 30s", k, v);
				return -EINVAL;
			}
			s->requeue_dependency_ms = (uint64_t)(ns / NSEC_PER_MSEC);
		} else {
			snprintf(msg, sizeof(msg), "%s: not a setting cflux uses; ignored", k);
			add_status(&sl, "SettingIgnored", "Information", msg);
		}
	}
	if (level_given) {
		s->log_level = level;
		s->log_level_set = true;
	}
	return 0;
}

static void set_str(cJSON *o, const char *k, const char *v)
{
	cJSON_DeleteItemFromObjectCaseSensitive(o, k);
	cJSON_AddStringToObject(o, k, v);
}

/*
 * Whether configurations remain is read from the apiserver, not the
 * cache: a FluxConfiguration created a moment before the Extension's
 * deletion may not have reached the informer yet, and removing the
 * finalizer cannot be taken back.
 */
static void fluxconfigs_listed(int r, const cJSON *list, const struct op_err *err, void *payload)
{
	struct rc *rc = payload;
	struct ext_ctl *e = ctl_data(rc->ctl);
	struct buf names = BUF_INIT(2048);
	const cJSON *items = yj_get(list, "/items"), *it;
	const cJSON *more = yj_get(list, "/metadata/remainingItemCount");
	size_t n;
	char *msg;

	if (r < 0) {
		log_error(NULL, "Cannot list FluxConfigurations", "error",
			  err && err->msg[0] ? err->msg : op_strerror(r), NULL);
		rc_retry(rc);
		return;
	}
	n = (size_t)cJSON_GetArraySize(items);
	if (cJSON_IsNumber(more) && more->valuedouble > 0)
		n += (size_t)yj_to_int64(more->valuedouble);
	if (n == 0) {
		e->apply(&e->base, e->payload);
		log_info(NULL, "Extension deleted: back to the command-line settings", NULL);
		rc_finalized(rc);
		return;
	}
	cJSON_ArrayForEach(it, items) {
		const char *ns = yj_get_str(it, "/metadata/namespace");
		const char *name = yj_get_str(it, "/metadata/name");

		if (names.len >= 1500)
			break;
		buf_addf(&names, "%s%s/%s", names.len ? ", " : "", ns ? ns : "",
			 name ? name : "");
	}
	msg = xasprintf("deletion blocked: %zu FluxConfiguration%s still exist%s (%s); delete "
			"them first", n, n == 1 ? "" : "s", n == 1 ? "s" : "", names.buf);
	set_str(rc->status, "provisioningState", "Deleting");
	cond_set(rc->status, COND_READY, "False", "DeletionBlocked", msg, rc_gen(rc),
		 time_now_ns());
	rc_event(rc, "Warning", "DeletionBlocked", "%s", msg);
	free(msg);
	buf_release(&names);
	rc_done(rc, 5000);
}

static void finalize(struct rc *rc)
{
	struct ext_ctl *e = ctl_data(rc->ctl);

	/* Only "flux" configures anything: the others go at once. */
	if (!streq(rc->obj->name, EXT_NAME)) {
		rc_finalized(rc);
		return;
	}
	if (ctl_list_live(e->fluxconfigs, 50, fluxconfigs_listed, rc) < 0)
		fluxconfigs_listed(-EIO, NULL, NULL, rc);
}

/*
 * What of the Extension's own properties cflux cannot do: NULL, or why.
 * The operator is installed by its chart; an Extension cannot move it
 * (scope, releaseNamespace) or change its version.
 */
const char *extension_unsupported(const struct ext_ctl *e, const cJSON *spec, char *msg,
				  size_t n)
{
	const char *rns = yj_get_str(spec, "/scope/cluster/releaseNamespace");
	const char *ver = yj_get_str(spec, "/version");
	size_t vl = ver ? strlen(ver) : 0;

	if (yj_get(spec, "/scope/namespace")) {
		snprintf(msg, n, "scope.namespace: microsoft.flux is a cluster-scoped extension");
		return msg;
	}
	if (rns && *rns && e->ns && !streq(rns, e->ns)) {
		snprintf(msg, n, "scope.cluster.releaseNamespace \"%s\": cflux runs in \"%s\"; "
			 "an Extension cannot move it (install the chart into \"%s\")", rns,
			 e->ns, rns);
		return msg;
	}
	/* "1.2.3" pins 1.2.3, and also a build of it ("1.2.3+abc", "1.2.3-dirty"). */
	if (ver && *ver && !(str_startswith(e->version, ver) &&
			     (e->version[vl] == '\0' || e->version[vl] == '+' ||
			      e->version[vl] == '-'))) {
		snprintf(msg, n, "version \"%s\" is pinned, but this operator is %s: cflux does "
			 "not install versions; upgrade its chart (helm upgrade --version %s)", ver,
			 e->version, ver);
		return msg;
	}
	return NULL;
}

/* The protected settings' Secret (or none): the settings, with them on top. */
static void configure(struct rc *rc, const cJSON *secret)
{
	struct ext_ctl *e = ctl_data(rc->ctl);
	const struct kobj *obj = rc->obj;
	const cJSON *spec = yj_get(obj->json, "/spec"), *it;
	cJSON *st = rc->status, *notes, *settings;
	struct ext_settings s;
	char err[512];
	int64_t now = time_now_ns();
	const char *bad = extension_unsupported(e, spec, err, sizeof(err));

	s = e->base;
	notes = cJSON_CreateArray();
	settings = cJSON_Duplicate(yj_get(spec, "/configurationSettings"), 1);
	if (!settings)
		settings = cJSON_CreateObject();
	cJSON_ArrayForEach(it, yj_get(secret, "/data"))
	{
		char *v = secret_value(secret, it->string);

		cJSON_DeleteItemFromObjectCaseSensitive(settings, it->string);
		cJSON_AddStringToObject(settings, it->string, v ? v : "");
		free(v);
	}
	if (!bad && ext_parse_settings(settings, &s, err, sizeof(err), notes) < 0)
		bad = err;
	if (bad) {
		set_str(st, "provisioningState", "Failed");
		cond_set(st, COND_READY, "False", "InvalidSettings", bad, obj->generation, now);
		rc_event(rc, "Warning", "InvalidSettings", "%s", bad);
		log_error(NULL, "Extension settings refused", "error", bad, NULL);
	} else {
		e->apply(&s, e->payload);
		set_str(st, "provisioningState", "Succeeded");
		set_str(st, "extensionState", "Ready");
		cond_set(st, COND_READY, "True", "Succeeded", "settings applied", obj->generation,
			 now);
	}
	if (!cJSON_IsFalse(yj_get(spec, "/autoUpgradeMinorVersion"))) {
		struct status_list sl = { .statuses = notes };
		char msg[256];

		time_format_rfc3339(now - now % NSEC_PER_SEC, sl.ts);
		snprintf(msg, sizeof(msg), "autoUpgradeMinorVersion (releaseTrain %s, "
			 "autoUpgradeMode %s): cflux does not upgrade itself; it runs the version "
			 "its chart installed (%s)",
			 yj_get_str(spec, "/releaseTrain") ? yj_get_str(spec, "/releaseTrain") : "Stable",
			 yj_get_str(spec, "/autoUpgradeMode") ? yj_get_str(spec, "/autoUpgradeMode") :
								      "compatible",
			 e->version);
		add_status(&sl, "AutoUpgradeNotManaged", "Information", msg);
	}
	cJSON_Delete(settings);
	set_str(st, "currentVersion", e->version);
	cJSON_DeleteItemFromObjectCaseSensitive(st, "statuses");
	cJSON_AddItemToObject(st, "statuses", notes);
	cJSON_DeleteItemFromObjectCaseSensitive(st, "observedGeneration");
	cJSON_AddNumberToObject(st, "observedGeneration", (double)obj->generation);
	rc_done(rc, 0);
}

static void got_protected(int r, const cJSON *obj, const struct op_err *err, void *payload)
{
	struct rc *rc = payload;
	const cJSON *spec = yj_get(rc->obj->json, "/spec");
	struct ext_ctl *e = ctl_data(rc->ctl);
	const char *ns = yj_get_str(spec, "/protectedSettingsSecretRef/namespace");
	char msg[512];

	if (r >= 0) {
		configure(rc, obj);
		return;
	}
	snprintf(msg, sizeof(msg), "protectedSettingsSecretRef: Secret %s/%s: %s",
		 ns && *ns ? ns : e->ns, yj_get_str(spec, "/protectedSettingsSecretRef/name"),
		 r == -ENOENT ? "not found" : err && err->msg[0] ? err->msg : op_strerror(r));
	set_str(rc->status, "provisioningState", "Failed");
	cond_set(rc->status, COND_READY, "False", "InvalidSettings", msg, rc->obj->generation,
		 time_now_ns());
	rc_event(rc, "Warning", "InvalidSettings", "%s", msg);
	rc_done(rc, 30000); /* the Secret may come, or the apiserver answer */
}

static void reconcile(struct rc *rc)
{
	struct ext_ctl *e = ctl_data(rc->ctl);
	const struct kobj *obj = rc->obj;
	const char *pname = yj_get_str(obj->json, "/spec/protectedSettingsSecretRef/name");
	const char *pns = yj_get_str(obj->json, "/spec/protectedSettingsSecretRef/namespace");

	if (!streq(obj->name, EXT_NAME)) {
		cJSON_Delete(rc->status);
		rc->status = cJSON_CreateObject();
		cond_set(rc->status, COND_READY, "False", "NotUsed",
			 "only the Extension named \"flux\" configures cflux", obj->generation,
			 time_now_ns());
		rc_done(rc, 0);
		return;
	}
	if (pname) {
		struct kube_ref ref = { .version = "v1", .resource = "secrets",
					.ns = pns && *pns ? pns : e->ns, .name = pname };

		if (!ref.ns || kube_get(ctl_client(rc->ctl), &ref, NULL, got_protected, rc) < 0)
			got_protected(-EIO, NULL, NULL, rc);
		return;
	}
	configure(rc, NULL);
}

const struct ctl_desc extension_desc = {
	.name = "extension",
	.component = "fluxconfig-agent",
	.kind = "Extension",
	.api_version = "clusterconfig.cflux.io/v1",
	.ref = { .group = "clusterconfig.cflux.io", .version = "v1", .resource = "extensions" },
	.cluster_scoped = true,
	.concurrent = 1,
	.retry = BACKOFF_RECONCILE,
	.finalizer = FINALIZER,
	.reconcile = reconcile,
	.finalize = finalize,
};
