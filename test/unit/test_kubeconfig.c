/*
 * test_kubeconfig.c: lib/kube/config.c's kube_config_parse(), a
 * kubeconfig held in memory (a Kustomization's spec.kubeConfig Secret):
 * inline credentials are taken, anything that would read a file or act
 * as another user is refused, naming the field.
 */
#include <string.h>

#include "base/alloc.h"
#include "kube/config.h"
#include "harness.h"

#define HEAD                                                                                      \
	"apiVersion: v1\nkind: Config\ncurrent-context: c\n"                                        \
	"contexts:\n- name: c\n  context: {cluster: k, user: u, namespace: apps}\n"

static int parse(const char *text, struct kube_config **cfg, struct op_err *err)
{
	*err = (struct op_err)OP_ERR_INIT;
	*cfg = NULL;
	return kube_config_parse("ns/remote", text, strlen(text), cfg, err);
}

TEST(inline_credentials_are_taken)
{
	struct kube_config *c;
	struct op_err err;

	/* "-----BEGIN X-----\n" in base64 */
	ASSERT_OK(parse(HEAD "clusters:\n- name: k\n  cluster:\n    server: https://10.0.0.1:6443/\n"
			     "    certificate-authority-data: LS0tLS1CRUdJTiBYLS0tLS0K\n"
			     "    insecure-skip-tls-verify: true\n"
			     "users:\n- name: u\n  user: {token: s3cret}\n",
			&c, &err));
	ASSERT_STREQ(c->server, "https://10.0.0.1:6443");
	ASSERT_STREQ(c->ca_pem, "-----BEGIN X-----\n");
	ASSERT_STREQ(c->token, "s3cret");
	ASSERT_STREQ(c->ns, "apps");
	ASSERT(c->insecure); /* as written: the caller decides */
	ASSERT_NULL(c->token_file);
	kube_config_free(c);

	ASSERT_OK(parse(HEAD "clusters:\n- name: k\n  cluster: {server: https://h}\n"
			     "users:\n- name: u\n  user: {username: a, password: b}\n",
			&c, &err));
	ASSERT_STREQ(c->username, "a");
	ASSERT_STREQ(c->password, "b");
	kube_config_free(c);
}

TEST(files_and_other_identities_are_refused_by_name)
{
	static const struct {
		const char *cluster, *user, *field;
	} cases[] = {
		{ "certificate-authority: /etc/ssl/ca.pem", "token: t", "'certificate-authority'" },
		{ "insecure-skip-tls-verify: false", "client-certificate: c.crt",
		  "'client-certificate'" },
		{ "insecure-skip-tls-verify: false", "client-key: /k", "'client-key'" },
		{ "insecure-skip-tls-verify: false",
		  "tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token", "'tokenFile'" },
		{ "insecure-skip-tls-verify: false", "as: admin", "'as'" },
		{ "insecure-skip-tls-verify: false", "as-groups: [system:masters]", "'as'" },
		{ "insecure-skip-tls-verify: false", "exec: {command: /bin/sh}", "credential plugin" },
	};
	struct kube_config *c;
	struct op_err err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = xasprintf(HEAD "clusters:\n- name: k\n  cluster:\n"
					    "    server: https://h\n    %s\n"
					    "users:\n- name: u\n  user:\n    %s\n",
				       cases[i].cluster, cases[i].user);

		ASSERT(parse(text, &c, &err) < 0);
		ASSERT_NULL(c);
		ASSERT_CONTAINS(err.msg, cases[i].field);
		ASSERT_CONTAINS(err.msg, "kubeconfig 'ns/remote'");
		free(text);
	}
}

TEST(broken_kubeconfigs_say_what_is_wrong)
{
	struct kube_config *c;
	struct op_err err;

	ASSERT(parse("apiVersion: v1\nkind: Config\n", &c, &err) < 0);
	ASSERT_CONTAINS(err.msg, "no current-context");
	ASSERT(parse(HEAD "clusters: []\n", &c, &err) < 0);
	ASSERT_CONTAINS(err.msg, "cluster 'k' not found");
	ASSERT(parse(HEAD "clusters:\n- name: k\n  cluster: {}\n", &c, &err) < 0);
	ASSERT_CONTAINS(err.msg, "has no server");
	ASSERT(parse("{{{", &c, &err) < 0);
	ASSERT_NULL(c);
}
