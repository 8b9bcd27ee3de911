/*
 * xml.h: reading the small XML documents object stores answer with —
 * S3's ListBucketResult and Error, Azure Blob's EnumerationResults and
 * Error — with expat (the one file that includes it).
 *
 * The reader hands the caller each element's text as the element ends,
 * named by its path from the root ("ListBucketResult/Contents/Key"),
 * which is all these documents need: they are records of leaf elements.
 * The end of a record element ("ListBucketResult/Contents") is reported
 * too, with its own direct text (usually blank), so the caller can close
 * the record.
 *
 * The input is untrusted: a document type declaration is refused (no
 * entity can expand), names lose any namespace prefix, nesting deeper
 * than XML_MAX_DEPTH and an element text longer than XML_MAX_TEXT are
 * refused with -EFBIG.  The whole document is in memory (the caller
 * bounded its size when it read the response).
 *
 * Threading: any thread; no state is shared between calls.
 */
#ifndef CFLUX_SOURCE_XML_H
#define CFLUX_SOURCE_XML_H

#include <stddef.h>

#include "base/err.h"

#define XML_MAX_DEPTH 32
#define XML_MAX_TEXT (64u << 10)

/*
 * Called at the end of every element: `path` is the element names from
 * the root joined by "/", `text` its character data (NUL-terminated,
 * entities decoded, `len` bytes).  Return 0 to go on, or a negative errno
 * to stop: xml_walk() then returns it (with the callback's reterr).
 */
typedef int (*xml_end_cb)(const char *path, const char *text, size_t len, void *payload);

/*
 * Parse the `len` bytes at `doc` and call `cb` for each element.  Returns
 * 0, the callback's negative errno, or -EINVAL / -EFBIG for a document
 * that is not well-formed or exceeds the limits, explained in reterr
 * ("line 3: mismatched tag").
 */
int xml_walk(const char *doc, size_t len, xml_end_cb cb, void *payload, struct op_err *reterr);

#endif
