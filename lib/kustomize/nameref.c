/*
 * nameref.c: fixing name references to renamed objects (kustomize's
 * nameReferenceTransformer), once, at the end of the top-level build.
 *
 * DESIGN
 * For every name reference of the configuration (a target kind and the
 * fields that name it) and every resource whose original id the field
 * spec selects (the referrer), each value at the field spec's path is a
 * name to look up among the resources the referrer may refer to (the
 * same namespace, cluster-scoped ones, service accounts a RoleBinding
 * names).  A candidate must have had that name and been of the target
 * kind at some point (its earlier ids), agree with a roleRef's apiGroup
 * and kind, and be in the referrer's namespace unless either is
 * cluster-scoped or it is a ServiceAccount.  Ties are broken by the name
 * prefixes and suffixes both were given, first loosely (an empty list
 * matches anything), then exactly; equal names (and namespaces, for a
 * reference that is a map) are no tie.  The chosen candidate's current
 * name (and namespace, for a map with `name` and `namespace`) is written.
 * Only renamed objects have earlier ids, so references to objects that
 * kept their names are left alone.
 */
#include <string.h>

#include "base/alloc.h"
#include "base/str.h"
#include "kustomize/internal.h"
#include "yj/yj.h"
#include "base/banned.h"

struct nameref {
	struct kz_res **cand; /* what the referrer may refer to */
	size_t ncand;
	const struct kz_nbr *target;
	const struct kz_fs *fs;
	struct kz_res *referrer;
};

static bool prev_name_is(const struct kz_res *r, const char *name)
{
	for (size_t i = 0; i < r->nprev; i++)
		if (streq(r->prev[i].name, name))
			return true;
	return false;
}

/* Is any earlier id (current group/version, earlier kind) selected by g/v/k? */
static bool prev_selected(const struct kz_res *r, const char *sg, const char *sv, const char *sk)
{
	char g[256], v[64];

	kz__gv(r->obj, g, sizeof(g), v, sizeof(v));
	for (size_t i = 0; i < r->nprev; i++)
		if (kz__gvk_selected(g, v, r->prev[i].kind, sg, sv, sk))
			return true;
	return false;
}

/* kustomize's SameEndingSubSlice. */
static bool same_ending(char *const *a, size_t na, char *const *b, size_t nb)
{
	size_t diff;

	if (na > nb) {
		char *const *t = a;
		size_t tn = na;

		a = b;
		na = nb;
		b = t;
		nb = tn;
	}
	diff = nb - na;
	if (na == 0)
		return diff == 0;
	for (size_t i = na; i-- > 0;)
		if (!streq(b[i + diff], a[i]))
			return false;
	return true;
}

static bool affixes_equal(const struct kz_res *r, const struct kz_res *o, bool allow_empty)
{
	if (allow_empty)
		return (!r->nprefixes || !o->nprefixes ||
			same_ending(r->prefixes, r->nprefixes, o->prefixes, o->nprefixes)) &&
		       (!r->nsuffixes || !o->nsuffixes ||
			same_ending(r->suffixes, r->nsuffixes, o->suffixes, o->nsuffixes));
	return same_ending(r->prefixes, r->nprefixes, o->prefixes, o->nprefixes) &&
	       same_ending(r->suffixes, r->nsuffixes, o->suffixes, o->nsuffixes);
}

/*
 * The referral `name` means among v[0..n) (filtered in place), NULL for
 * none; -EINVAL when several different ones remain.  `with_ns`: the
 * reference also takes the namespace, so equal names in different
 * namespaces are a tie.
 */
static int select_referral(struct nameref *nr, const char *name, struct kz_res **v, size_t n,
			   bool with_ns, struct kz_res **ret, struct op_err *err)
{
	const cJSON *rr = NULL;
	size_t k = 0;
	bool referrer_cluster = kz__res_cluster(nr->referrer);
	const char *rg = NULL, *rk = NULL;

	*ret = NULL;
	if (str_endswith(nr->fs->path, "roleRef/name")) {
		rr = yj_get(nr->referrer->obj, "/roleRef");
		rg = yj_get_str(rr, "/apiGroup");
		rk = yj_get_str(rr, "/kind");
	}
	for (size_t i = 0; i < n; i++) {
		struct kz_res *c = v[i];

		if (!prev_name_is(c, name) ||
		    !prev_selected(c, nr->target->group, nr->target->version, nr->target->kind))
			continue;
		if (rg && rk && !prev_selected(c, rg, "", rk))
			continue;
		if (!referrer_cluster && !kz__res_cluster(c) &&
		    !streq(kz__kind(c), "ServiceAccount") &&
		    !streq(kz__res_eff_ns(nr->referrer), kz__res_eff_ns(c)))
			continue;
		v[k++] = c;
	}
	if (k > 1) {
		size_t j = 0;

		for (size_t i = 0; i < k; i++)
			if (affixes_equal(v[i], nr->referrer, true))
				v[j++] = v[i];
		k = j;
		if (k > 1) {
			j = 0;
			for (size_t i = 0; i < k; i++)
				if (affixes_equal(v[i], nr->referrer, false))
					v[j++] = v[i];
			k = j;
		}
	}
	if (k == 0)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if (!streq(kz__name(v[i]), kz__name(v[0])) ||
		    (with_ns && !streq(kz__ns(v[i]), kz__ns(v[0])))) {
			_cleanup_free_ char *a = kz__id_string(v[0]), *b = kz__id_string(v[i]);
			_cleanup_free_ char *id = kz__id_string(nr->referrer);

			return op_err_set(err, -EINVAL,
					  "found multiple possible referrals for '%s' in '%s' of %s: "
					  "%s, %s",
					  name, nr->fs->path, id, a, b);
		}
	}
	*ret = v[0];
	return 0;
}

static int set_scalar(struct nameref *nr, cJSON *parent, cJSON *node, struct op_err *err)
{
	struct kz_res **v, *target;
	int r;

	if (!cJSON_IsString(node))
		return 0;
	v = xmemdup(nr->cand, (nr->ncand ? nr->ncand : 1) * sizeof(*v));
	r = select_referral(nr, node->valuestring, v, nr->ncand, false, &target, err);
	free(v);
	if (r < 0 || !target || streq(kz__name(target), node->valuestring))
		return r;
	kz__replace_node(parent, node, cJSON_CreateString(kz__name(target)));
	return 0;
}

static void set_field(cJSON *map, const char *key, const char *val)
{
	if (cJSON_GetObjectItemCaseSensitive(map, key))
		cJSON_ReplaceItemInObjectCaseSensitive(map, key, cJSON_CreateString(val));
	else
		cJSON_AddStringToObject(map, key, val);
}

static int set_mapping(struct nameref *nr, cJSON *node, struct op_err *err)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(node, "name");
	const cJSON *ns = cJSON_GetObjectItemCaseSensitive(node, "namespace");
	struct kz_res **v, *target;
	size_t n = 0;
	int r;

	if (!name)
		return op_err_set(err, -EINVAL, "path config error; no 'name' field in node");
	if (!cJSON_IsString(name))
		return 0;
	v = xnew0(struct kz_res *, nr->ncand ? nr->ncand : 1);
	if (!ns) {
		memcpy(v, nr->cand, nr->ncand * sizeof(*v));
		n = nr->ncand;
	} else {
		/* by original namespace if any has it, else by current namespace */
		const char *want = cJSON_IsString(ns) ? ns->valuestring : "";

		for (size_t i = 0; i < nr->ncand; i++)
			if (streq(kz__org_ns(nr->cand[i]), want) &&
			    !streq(kz__org_ns(nr->cand[i]), KZ_NO_NS))
				v[n++] = nr->cand[i];
		if (n == 0)
			for (size_t i = 0; i < nr->ncand; i++)
				if (streq(kz__res_eff_ns(nr->cand[i]), want))
					v[n++] = nr->cand[i];
	}
	r = select_referral(nr, name->valuestring, v, n, true, &target, err);
	free(v);
	if (r < 0 || !target)
		return r;
	if (streq(kz__name(target), name->valuestring) && !*kz__ns(target))
		return 0;
	set_field(node, "name", kz__name(target));
	if (*kz__ns(target))
		set_field(node, "namespace", kz__ns(target));
	return 0;
}

static int set_ref(cJSON *parent, cJSON *node, void *payload, struct op_err *err)
{
	struct nameref *nr = payload;
	cJSON *e, *next;
	int r;

	if (!node || cJSON_IsNull(node))
		return 0;
	if (cJSON_IsObject(node))
		return set_mapping(nr, node, err);
	if (!cJSON_IsArray(node))
		return set_scalar(nr, parent, node, err);
	for (e = node->child; e; e = next) {
		next = e->next;
		if (cJSON_IsNull(e))
			continue;
		if (cJSON_IsObject(e))
			r = set_mapping(nr, e, err);
		else if (cJSON_IsArray(e))
			r = op_err_set(err, -EINVAL, "a name reference must be a string or a map");
		else
			r = set_scalar(nr, node, e, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Namespaces of the ServiceAccount subjects of a RoleBinding. */
static bool rb_subject_ns(const struct kz_res *referrer, const char *ns)
{
	const cJSON *s;

	if (!streq(kz__kind(referrer), "RoleBinding"))
		return false;
	cJSON_ArrayForEach(s, yj_get(referrer->obj, "/subjects")) {
		const char *k = yj_get_str(s, "/kind"), *n = yj_get_str(s, "/namespace");

		if (k && streq(k, "ServiceAccount") && n && streq(n, ns))
			return true;
	}
	return false;
}

/* kustomize's SubsetThatCouldBeReferencedByResource. */
static size_t candidates(struct kz_resmap *m, const struct kz_res *referrer, struct kz_res **out)
{
	size_t n = 0;

	for (size_t i = 0; i < m->n; i++) {
		const struct kz_res *c = m->v[i];

		if (kz__res_cluster(referrer) || kz__res_cluster(c) ||
		    streq(kz__res_eff_ns(c), kz__res_eff_ns(referrer)) ||
		    rb_subject_ns(referrer, kz__ns(c)))
			out[n++] = m->v[i];
	}
	return n;
}

int kz__fix_name_refs(struct kz_resmap *m, const struct kz_tconfig *tc, struct op_err *err)
{
	struct kz_res **cand = xnew0(struct kz_res *, m->n ? m->n : 1);
	int r = 0;

	/*
	 * kustomize collects the filters per referrer first (in the order of
	 * the configuration) and then runs each referrer's in that order;
	 * referrers are independent of each other, so going referrer by
	 * referrer here gives the same result.
	 */
	for (size_t i = 0; r == 0 && i < m->n; i++) {
		struct kz_res *res = m->v[i];
		char g[256], v[64];
		size_t ncand = 0;
		bool have = false;

		kz__gv(res->obj, g, sizeof(g), v, sizeof(v));
		for (size_t b = 0; r == 0 && b < tc->nnr; b++) {
			const struct kz_nbr *nb = &tc->nr[b];

			for (size_t j = 0; r == 0 && j < nb->refs.n; j++) {
				const struct kz_fs *fs = &nb->refs.v[j];
				static char none[] = "";
				struct kz_fs any = { none, none, none, fs->path, fs->create };
				struct nameref nr;

				if (!kz__gvk_selected(g, v, kz__org_kind(res), fs->group, fs->version,
						      fs->kind))
					continue;
				if (!have) {
					ncand = candidates(m, res, cand);
					have = true;
				}
				nr = (struct nameref){ cand, ncand, nb, fs, res };
				/* the referrer is chosen by its original id; the walk takes it as it is now */
				r = kz__fs_filter(res->obj, &any, KZ_CREATE_NONE, set_ref, &nr, err);
				if (r < 0) {
					_cleanup_free_ char *id = kz__id_string(res);

					op_err_prefix(err, "updating name reference in '%s' field of '%s'",
						      fs->path, id);
				}
			}
		}
	}
	free(cand);
	return r;
}
