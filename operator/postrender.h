/*
 * postrender.h: what helm-controller does to a chart's rendered manifest
 * before Helm stores and applies it (its post-renderers), on lib/kustomize.
 *
 * In order, each a kustomize build of the manifest in a scratch directory,
 * with kustomize's printing, objects kept in Helm's order:
 *
 *   1. every spec.postRenderers[].kustomize: its `patches` (strategic
 *      merge or JSON 6902, with targets) and `images`;
 *   2. spec.commonMetadata: its labels, then its annotations, set on every
 *      object's metadata (not on pod templates);
 *   3. the origin labels helm.toolkit.fluxcd.io/name and /namespace on
 *      every object's metadata, over a common label of the same key.
 *
 * Step 3 always runs, as in helm-controller v1.4: a release's manifest is
 * kustomize's printing of the objects (keys sorted, no "# Source:"
 * comments), never Helm's text.  An empty manifest stays empty.
 *
 * Pure file and CPU work: run it on the thread pool.
 */
#ifndef CFLUX_OPERATOR_POSTRENDER_H
#define CFLUX_OPERATOR_POSTRENDER_H

#include <cjson/cJSON.h>

#include "base/buf.h"
#include "base/err.h"

struct postrender_in {
	const char *manifest;          /* Helm's rendered manifest */
	size_t len;
	const cJSON *post_renderers;   /* spec.postRenderers or NULL */
	const cJSON *common_metadata;  /* spec.commonMetadata or NULL */
	const char *name, *ns;         /* the HelmRelease */
	const char *tmp_root;          /* where the scratch directory goes */
};

/*
 * Run the post-renderers; the new manifest is appended to `out`.  0, or a
 * negative errno with reterr saying which post-renderer failed and why.
 */
int postrender(const struct postrender_in *in, struct buf *out, struct op_err *reterr);

/*
 * helm-controller's observed digests, "sha256:<hex>" of the field as Go's
 * json.Encoder writes it (struct field order, HTML escaping, a final
 * newline): ObservedPostRenderersDigest of spec.postRenderers and
 * ObservedCommonMetadataDigest of spec.commonMetadata.  `ret` holds 72
 * bytes; "" when the field is absent.
 */
void postrender_digest(const cJSON *post_renderers, char ret[72]);
void postrender_metadata_digest(const cJSON *common_metadata, char ret[72]);

#endif
