/*
 * remote.c: clients for remote clusters, kept per Kustomization (see
 * remote.h).
 */
#include <string.h>

#include "base/alloc.h"
#include "base/hmap.h"
#include "base/str.h"
#include "kube/config.h"
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
