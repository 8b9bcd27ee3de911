/*
 * yj.h: YAML <-> JSON, the way Kubernetes reads YAML, and JSON helpers.
 *
 * YAML READING
 * A manifest stream is split into documents exactly as kubectl splits it
 * (a line "---", optionally followed by spaces or a comment), and each
 * document is converted to a cJSON tree with the scalar resolution of
 * sigs.k8s.io/yaml (go-yaml v2's YAML 1.1 rules), i.e. what `kubectl
 * apply` would send: yes/no/on/off/y/n are booleans (also as keys, which
 * become "true"/"false"), 0755 is octal, 0x1F hex, 0b101 binary, 1_000 an
 * int, 1e3 and .5 floats, ~ and null null, timestamps stay strings,
 * !!binary is decoded, "<<" merges, the last of duplicate keys wins, and
 * .inf/.nan are errors (JSON has no such numbers).  Documents that are
 * empty, only comments, or null are skipped.  test/unit/yj_diff.sh checks
 * all of this against sigs.k8s.io/yaml itself.
 *
 * Everything is bounded (struct yj_limits): input bytes, documents,
 * nesting depth, nodes (counting alias expansions, so a "billion laughs"
 * input stops at the limit instead of eating memory), scalar bytes and
 * alias uses.  Errors are -EINVAL for bad YAML and -EFBIG/-E2BIG for a
 * limit, with "line L:C" in the message.
 *
 * NUMBERS
 * cJSON keeps numbers as doubles.  Integers that a double cannot hold
 * exactly (beyond 2^53) are kept as cJSON "raw" items holding their exact
 * digits, which cJSON prints verbatim, so no integer is ever rounded.
 *
 * Threading: every function is reentrant and may run on worker threads.
 */
#ifndef CFLUX_YJ_YJ_H
#define CFLUX_YJ_YJ_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

struct yj_limits {
	size_t max_input_bytes;
	size_t max_docs;
	size_t max_depth;
	size_t max_nodes;        /* per document, alias expansions included */
	size_t max_scalar_bytes;
	size_t max_alias_uses;   /* per document */
	size_t max_alias_nodes;  /* nodes created by alias expansion, per document */
	/*
	 * Not a limit but the one reading option: YAML 1.2 booleans, as
	 * go-yaml v3 (and so kustomize's kyaml) reads them: only
	 * true/True/TRUE/false/False/FALSE; y, yes, on, off, n, no stay
	 * strings.  false (the default) keeps sigs.k8s.io/yaml's YAML 1.1.
	 */
	bool core_bools;
	/*
	 * Word YAML syntax errors as go-yaml v2 does (what Helm prints):
	 * "yaml: line N: <problem>", N counted as go-yaml counts it (0-based
	 * for parser errors, 1-based for scanner errors, from the start of
	 * the input).  false (the default) gives "yaml: document D: line
	 * L:C: <problem> <context>".
	 */
	bool go_errors;
};

/*
 * Defaults sized for Kubernetes manifests: a 64 MiB stream (Helm charts,
 * CRD bundles), 10 000 documents, 256 levels (CRD schemas nest ~30 deep;
 * cJSON's own parser stops at 1000), two million nodes per document, 16 MiB
 * per scalar (a ConfigMap value is at most 1 MiB), and for aliases 10 000
 * uses creating at most 100 000 nodes: manifests use anchors for a few
 * shared blocks, and a "billion laughs" stops within a few MiB.
 */
#define YJ_LIMITS_DEFAULT                                                                          \
	{ .max_input_bytes = 64u << 20, .max_docs = 10000, .max_depth = 256,                      \
	  .max_nodes = 2000000, .max_scalar_bytes = 16u << 20, .max_alias_uses = 10000,           \
	  .max_alias_nodes = 100000 }

struct yj_stream {
	cJSON **docs;     /* owned */
	unsigned *lines;  /* 1-based line of each document's first line */
	size_t n;
};

/*
 * Parse a YAML (or JSON) stream.  `lim` NULL means YJ_LIMITS_DEFAULT.  On
 * success returns 0 and fills *ret (release with yj_stream_release());
 * on failure returns -EINVAL, -EFBIG or -E2BIG with reterr naming the
 * document and "line L:C", and *ret untouched.
 */
int yj_parse_stream(const char *data, size_t len, const struct yj_limits *lim,
		    struct yj_stream *ret, struct op_err *reterr);
void yj_stream_release(struct yj_stream *s);

/*
 * Parse a stream that must hold exactly one document (a kubeconfig, a
 * kustomization.yaml).  -EINVAL if it holds none or several.
 */
int yj_parse_one(const char *data, size_t len, cJSON **ret, struct op_err *reterr);

/*
 * STREAMING
 * Read the first document of `data` as yj_parse_stream() reads a
 * document (same scalar resolution, same limits), but hand every node
 * completed at `depth` (the root is depth 0; depth >= 1) to `fn` as soon
 * as it is complete instead of keeping it, so that a large document (a
 * Helm repository index) is never held whole.  `path[i]` (i < depth) is
 * the key under which the level-i mapping holds the next level, or NULL
 * where level i is a sequence; fn owns `node` from then on (it may keep
 * or free it) and returns 0, or a negative errno with reterr filled to
 * stop.  max_nodes counts only the nodes held, not those handed over.
 * What remains (the document without the visited nodes, their parents
 * left in place) is returned in *ret_rest when ret_rest is not NULL
 * (NULL for an empty document).  0, or the errors of yj_parse_stream()
 * and those of fn.
 */
typedef int (*yj_visit_fn)(const char *const *path, size_t depth, cJSON *node, void *payload);

int yj_parse_visit(const char *data, size_t len, const struct yj_limits *lim, size_t depth,
		   yj_visit_fn fn, void *payload, cJSON **ret_rest, struct op_err *reterr);

/*
 * Append `doc` as a YAML document (no leading "---") to `out`: block
 * style, keys in the object's order, two-space indent, sequences not
 * indented under their key (as kubectl and kustomize print), strings
 * quoted wherever they would otherwise read back as something else.
 * Parsing the output gives `doc` back.  0 or -EFBIG.
 */
int yj_emit_yaml(const cJSON *doc, struct buf *out);

/*
 * Append `doc` as YAML exactly as sigs.k8s.io/yaml.JSONToYAML (go-yaml v2)
 * prints it: the output format of `kustomize build`.  Keys sorted in
 * go-yaml's order, its quoting and block-scalar choices, 80-column
 * folding, integral numbers as integers and others in Go's 'g' form
 * (goyaml.c).  0, or -EFBIG past out's maximum (out is then unchanged).
 */
int yj_emit_yaml_go(const cJSON *doc, struct buf *out);

/* What an explicit tag asks a scalar to be (yj_resolve_scalar()). */
/*
 * Whether `j` is a null that yj_parse_stream() read from an empty scalar
 * (`key:` with nothing after it), rather than from `null`, `~` or JSON.
 * kustomize's strategic merge (kyaml) drops the former from a patched
 * object and keeps the latter.  The mark survives cJSON_Duplicate().
 */
bool yj_null_implicit(const cJSON *j);

enum yj_scalar_want {
	YJ_SCALAR_ANY,   /* untagged: whatever the plain scalar reads as */
	YJ_SCALAR_STR,   /* !!str: always the string itself */
	YJ_SCALAR_INT,   /* !!int */
	YJ_SCALAR_FLOAT, /* !!float: an int or a float */
	YJ_SCALAR_BOOL,  /* !!bool */
	YJ_SCALAR_NULL,  /* !!null */
};

/*
 * The value the YAML scalar `s` reads as when written plain (unquoted)
 * with the tag `want`: null, a bool, a number or a string, resolved as in
 * yj_parse_stream() (with `core_bools`, go-yaml v3's booleans).  Returns
 * a new item (caller frees), or NULL when `s` cannot be read as `want`
 * (".inf" and ".nan", which JSON cannot hold, also give NULL).
 */
cJSON *yj_resolve_scalar(const char *s, bool core_bools, enum yj_scalar_want want);

/* ---- JSON helpers (json.c) ---- */

/*
 * The item at JSON pointer `ptr` (RFC 6901: "/metadata/name", "/a/0",
 * "~1" for '/', "~0" for '~'; "" is the root), or NULL.  Borrowed.
 */
cJSON *yj_get(const cJSON *root, const char *ptr);

/*
 * Remove the item at `ptr` (not the root): 0, -ENOENT when there is none,
 * -EINVAL for a bad pointer.
 */
int yj_remove(cJSON *root, const char *ptr);

/* A string at `ptr`, or NULL. */
const char *yj_get_str(const cJSON *root, const char *ptr);

/*
 * Set the item at `ptr` to `val`, creating missing objects on the way
 * (not arrays).  Takes ownership of `val` on success and on failure.
 * -EINVAL for a bad pointer or a path through a non-object.
 */
int yj_set(cJSON *root, const char *ptr, cJSON *val);

/*
 * Set a Kubernetes object's metadata.<field>[key] to the string `val`
 * (field: "labels" or "annotations"), creating metadata and the map, and
 * replacing either when it is not an object.
 */
void yj_set_meta(cJSON *obj, const char *field, const char *key, const char *val);

/*
 * RFC 7386 JSON merge patch: *target becomes target merged with `patch`
 * (null deletes; a non-object patch replaces).  *target may be replaced.
 */
int yj_merge_patch(cJSON **target, const cJSON *patch);

/*
 * RFC 6902 JSON patch: apply the operations of the array `patch` to
 * *target, all or nothing.  On failure *target is unchanged and reterr
 * names the operation's index, op and path.  As kustomize's JSON patch
 * does, `replace` of a missing member of an existing object sets it.
 */
int yj_json_patch(cJSON **target, const cJSON *patch, struct op_err *reterr);

/*
 * Canonical JSON: object keys sorted bytewise, no white space, numbers and
 * strings formatted exactly as Go's encoding/json (SetEscapeHTML(false))
 * formats them, so output compares byte for byte with Go tools.
 */
int yj_print_canonical(const cJSON *j, struct buf *out);

/*
 * JSON as Go's json.Marshal writes a struct: members in their order (build
 * objects in the struct's field order, maps' keys sorted), no white space,
 * strings and numbers as encoding/json with its HTML-safe escaping.
 * 0 or -EFBIG.
 */
int yj_print_go(const cJSON *j, struct buf *out);

/*
 * JSON as Go's json.MarshalIndent(v, "", indent) writes it: members in
 * their order, each on its own line, "key": value, empty objects and
 * arrays as {} and [], strings and numbers as encoding/json (HTML-safe).
 * No final newline.  0 or -EFBIG.
 */
int yj_print_indent(const cJSON *j, const char *indent, struct buf *out);

/*
 * Append JSON text `s` (`n` bytes) with Go's HTML-safe escaping, as
 * encoding/json writes by default: <, > and & (only found in strings)
 * as \u003c, \u003e, \u0026.  0 or -EFBIG.
 */
int yj_escape_html(const char *s, size_t n, struct buf *out);

/* Lower-case hex HMAC-SHA256 of `data` under `key`; `ret` holds 65 bytes. */
void yj_hmac_sha256_hex(const void *key, size_t klen, const void *data, size_t n, char ret[65]);

/* "sha256:<hex>" of the canonical form; `ret` holds 72 bytes. */
int yj_digest(const cJSON *j, char ret[72]);

/* Lower-case hex sha256 of bytes; `ret` holds 65 bytes. */
void yj_sha256_hex(const void *data, size_t n, char ret[65]);

/*
 * Format `v` with the fewest digits that read back as the same value at
 * `bits` (32 or 64) precision, as Go does:
 *   json = true:  encoding/json's float64 form ('f' for 1e-6 <= |v| < 1e21,
 *                 else 'e' with "e-07" cleaned to "e-7");
 *   json = false: strconv.FormatFloat(v, 'g', -1, bits) ('e' below 1e-4
 *                 and from 1e6: "1e+06").
 * A NaN or an infinity is strconv's "NaN", "+Inf" or "-Inf" either way
 * (not JSON: a parser of outside input refuses them before they get here).
 * `out` holds at least 64 bytes.
 */
void yj_format_float(double v, int bits, int json, char *out, size_t n);

/*
 * Whether `j` is a number with an integral value that int64 holds; if so
 * (and `ret` is not NULL) that value.  A NaN, an infinity or 1e70 is not:
 * casting them to an integer type is undefined behaviour in C.
 */
bool yj_int64(const cJSON *j, int64_t *ret);

/* `v` truncated to int64 (int), saturating at its bounds; NaN is 0. */
int64_t yj_to_int64(double v);
int yj_to_int(double v);

#endif
