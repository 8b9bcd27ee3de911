/*
 * remote.c: clients for remote clusters, kept per Kustomization (see
 * remote.h).
 */
#include <string.h>

#include "base/b64.h"

#include "base/alloc.h"
#include "base/hmap.h"
#include "base/str.h"
#include "kube/config.h"
#include "kube/kobj.h"
#include "remote.h"
#include "yj/yj.h"
#include "base/banned.h"

struct remote {
	unsigned refs;
	char digest[65]; /* sha256 of the kubeconfig's text */
	struct kube_client *client;
	struct kube_mapper *mapper;
	char key[]; /* the Kustomization's, for the map */
};

struct remotes {
	uv_loop_t *loop;
	bool allow_insecure_tls;
	struct hmap map; /* key -> struct remote (one reference) */
};

struct remotes *remotes_new(uv_loop_t *loop, bool allow_insecure_tls)
{
	struct remotes *rs = xcalloc(1, sizeof(*rs));

	rs->loop = loop;
	rs->allow_insecure_tls = allow_insecure_tls;
	hmap_init(&rs->map);
	return rs;
}

void remotes_free(struct remotes *rs)
{
	size_t it = 0;
	const char *k;
	void *v;

	if (!rs)
		return;
	while (hmap_next(&rs->map, &it, &k, &v))
		remote_unref(v);
	hmap_release(&rs->map);
	free(rs);
}

struct remote *remote_ref(struct remote *r)
{
	r->refs++;
	return r;
}

struct remote *remote_unref(struct remote *r)
{
	if (!r || --r->refs > 0)
		return NULL;
	mapper_free(r->mapper);
	kube_client_unref(r->client);
	free(r);
	return NULL;
}

struct kube_client *remote_client(const struct remote *r)
{
	return r->client;
}

struct kube_mapper *remote_mapper(const struct remote *r)
{
	return r->mapper;
}

void remote_forget(struct remotes *rs, const char *key)
{
	if (rs)
		remote_unref(hmap_remove(&rs->map, key));
}

int remote_get(struct remotes *rs, const char *key, const char *name, const char *text,
	       size_t len, struct remote **ret, struct op_err *err)
{
	struct kube_config *cfg = NULL;
	struct remote *r = hmap_get(&rs->map, key);
	char digest[65];
	int rv;

	yj_sha256_hex(text, len, digest);
	if (r && streq(r->digest, digest)) {
		*ret = remote_ref(r);
		return 0;
	}
	rv = kube_config_parse(name, text, len, &cfg, err);
	if (rv < 0)
		return rv;
	if (!rs->allow_insecure_tls)
		cfg->insecure = false; /* as Flux without --insecure-kubeconfig-tls */
	r = xcalloc(1, sizeof(*r) + strlen(key) + 1);
	memcpy(r->key, key, strlen(key) + 1);
	memcpy(r->digest, digest, sizeof(digest));
	r->refs = 1;
	rv = kube_client_new(rs->loop, cfg, &r->client, err);
	kube_config_free(cfg);
	if (rv < 0) {
		free(r);
		return op_err_prefix(err, "kubeconfig '%s'", name);
	}
	rv = mapper_new(r->client, &r->mapper);
	if (rv < 0) {
		kube_client_unref(r->client);
		free(r);
		return op_err_set(err, rv, "kubeconfig '%s': cannot create the REST mapper", name);
	}
	remote_unref(hmap_remove(&rs->map, key));
	hmap_put(&rs->map, r->key, r);
	*ret = remote_ref(r);
	return 0;
}

static char *obj_key(const struct kobj *obj)
{
	const char *kind = yj_get_str(obj->json, "/kind");

	return xasprintf("%s/%s", kind ? kind : "", obj->key);
}

void remote_forget_obj(struct remotes *rs, const struct kobj *obj)
{
	char *key;

	if (!rs)
		return;
	key = obj_key(obj);
	remote_forget(rs, key);
	free(key);
}

struct remote_req {
	struct remotes *rs;
	char *key, *ns, *name, *skey; /* the object's map key; the Secret and its key */
	remote_cb cb;
	void *payload;
};

static void got_secret(int r, const cJSON *secret, const struct op_err *err, void *payload)
{
	struct remote_req *q = payload;
	const cJSON *data = yj_get(secret, "/data"), *v;
	struct op_err perr = OP_ERR_INIT;
	struct remote *rem = NULL;
	char *text = NULL, *what = NULL, *msg = NULL;
	size_t len = 0;

	if (r < 0) {
		msg = xasprintf("unable to read KubeConfig secret '%s/%s' error: %s", q->ns, q->name,
				err && err->msg[0] ? err->msg : op_strerror(r));
		goto out;
	}
	if (q->skey) {
		v = cJSON_GetObjectItemCaseSensitive(data, q->skey);
	} else {
		v = cJSON_GetObjectItemCaseSensitive(data, "value");
		if (!cJSON_IsString(v))
			v = cJSON_GetObjectItemCaseSensitive(data, "value.yaml");
	}
	if (!cJSON_IsString(v) || b64_decode(v->valuestring, &text, &len) < 0) {
		r = -ENOENT;
		msg = xasprintf("KubeConfig secret '%s/%s' does not contain a '%s' key with a "
				"kubeconfig", q->ns, q->name, q->skey ? q->skey : "value");
		goto out;
	}
	what = xasprintf("%s/%s", q->ns, q->name);
	r = remote_get(q->rs, q->key, what, text, len, &rem, &perr);
	explicit_bzero(text, len);
	if (r < 0)
		msg = xstrdup(perr.msg);
out:
	q->cb(r < 0 ? r : 0, rem, msg, q->payload);
	free(msg);
	free(what);
	free(text);
	free(q->key);
	free(q->ns);
	free(q->name);
	free(q->skey);
	free(q);
}

void remote_for(struct remotes *rs, struct kube_client *c, const struct kobj *obj, remote_cb cb,
		void *payload)
{
	const char *name = yj_get_str(obj->json, "/spec/kubeConfig/secretRef/name");
	const char *skey = yj_get_str(obj->json, "/spec/kubeConfig/secretRef/key");
	struct kube_ref ref = { .version = "v1", .resource = "secrets", .ns = obj->ns, .name = name };
	struct remote_req *q;

	if (!name || !*name) {
		remote_forget_obj(rs, obj);
		cb(0, NULL, NULL, payload);
		return;
	}
	q = xcalloc(1, sizeof(*q));
	q->rs = rs;
	q->key = obj_key(obj);
	q->ns = xstrdup(obj->ns);
	q->name = xstrdup(name);
	q->skey = skey && *skey ? xstrdup(skey) : NULL;
	q->cb = cb;
	q->payload = payload;
	if (kube_get(c, &ref, NULL, got_secret, q) < 0)
		got_secret(-EIO, NULL, NULL, q);
}
