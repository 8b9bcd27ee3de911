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
		n += (size_t)more->valuedouble;
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

static void reconcile(struct rc *rc)
{
	struct ext_ctl *e = ctl_data(rc->ctl);
	const struct kobj *obj = rc->obj;
	cJSON *st = rc->status, *notes;
	struct ext_settings s;
	char err[512];
	int64_t now = time_now_ns();

	if (!streq(obj->name, EXT_NAME)) {
		cJSON_Delete(rc->status);
		rc->status = cJSON_CreateObject();
		cond_set(rc->status, COND_READY, "False", "NotUsed",
			 "only the Extension named \"flux\" configures cflux", obj->generation, now);
		rc_done(rc, 0);
		return;
	}
	s = e->base;
	notes = cJSON_CreateArray();
	if (ext_parse_settings(yj_get(obj->json, "/spec/configurationSettings"), &s, err,
			       sizeof(err), notes) < 0) {
		set_str(st, "provisioningState", "Failed");
		cond_set(st, COND_READY, "False", "InvalidSettings", err, obj->generation, now);
		rc_event(rc, "Warning", "InvalidSettings", "%s", err);
		log_error(NULL, "Extension settings refused", "error", err, NULL);
	} else {
		e->apply(&s, e->payload);
		set_str(st, "provisioningState", "Succeeded");
		set_str(st, "extensionState", "Ready");
		cond_set(st, COND_READY, "True", "Succeeded", "settings applied", obj->generation,
			 now);
	}
	set_str(st, "currentVersion", e->version);
	cJSON_DeleteItemFromObjectCaseSensitive(st, "statuses");
	cJSON_AddItemToObject(st, "statuses", notes);
	cJSON_DeleteItemFromObjectCaseSensitive(st, "observedGeneration");
	cJSON_AddNumberToObject(st, "observedGeneration", (double)obj->generation);
	rc_done(rc, 0);
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
