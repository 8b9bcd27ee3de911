/*
 * xml.c: expat, driven for the object stores' small documents (xml.h).
 *
 * DESIGN
 * One parser per call, no namespace processing: a name "s3:Key" is cut to
 * "Key" by hand, so the default-namespace documents S3 and Azure send and
 * a prefixed variant read the same.  The walk keeps the current path in a
 * bounded buffer (one component per open element, their start offsets in
 * a stack) and the current element's text in another; text that belongs
 * to a parent and is interrupted by a child is dropped at the child's
 * start — these documents have no mixed content worth keeping.
 *
 * A DOCTYPE stops the parser at once: without a DTD there are no entities
 * to expand, so no "billion laughs" (expat 2.4+ also guards against them;
 * this makes it moot).  A callback error or a limit stops the parser with
 * XML_StopParser() and the error is reported as the callback's.
 */
#include <errno.h>
#include <expat.h>
#include <string.h>

#include "base/buf.h"
#include "source/xml.h"
#include "base/banned.h"

struct walk {
	XML_Parser p;
	struct buf path;
	size_t starts[XML_MAX_DEPTH + 1];
	unsigned depth;
	struct buf text;
	xml_end_cb cb;
	void *payload;
	int r;
	struct op_err *err;
};

static void stop(struct walk *w, int r)
{
	if (!w->r)
		w->r = r;
	XML_StopParser(w->p, XML_FALSE);
}

static void on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
	struct walk *w = ud;
	const char *local = strrchr(name, ':');

	(void)attrs;
	if (w->r)
		return;
	if (w->depth >= XML_MAX_DEPTH) {
		stop(w, op_err_set(w->err, -EFBIG, "XML nested deeper than %d elements",
				   XML_MAX_DEPTH));
		return;
	}
	local = local ? local + 1 : name;
	w->starts[w->depth++] = w->path.len;
	if ((w->path.len && buf_addch(&w->path, '/') < 0) || buf_adds(&w->path, local) < 0) {
		stop(w, op_err_set(w->err, -EFBIG, "XML element names too long"));
		return;
	}
	buf_reset(&w->text);
}

static void on_end(void *ud, const XML_Char *name)
{
	struct walk *w = ud;
	int r;

	(void)name;
	if (w->r || !w->depth)
		return;
	r = w->cb(w->path.buf, w->text.buf ? w->text.buf : "", w->text.len, w->payload);
	if (r < 0) {
		stop(w, r);
		return;
	}
	buf_truncate(&w->path, w->starts[--w->depth]);
	buf_reset(&w->text);
}

static void on_text(void *ud, const XML_Char *s, int len)
{
	struct walk *w = ud;

	if (w->r || len <= 0)
		return;
	if (buf_add(&w->text, s, (size_t)len) < 0)
		stop(w, op_err_set(w->err, -EFBIG, "XML element text longer than %u bytes",
				   XML_MAX_TEXT));
}

static void on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
		       const XML_Char *pubid, int has_internal_subset)
{
	struct walk *w = ud;

	(void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
	stop(w, op_err_set(w->err, -EINVAL, "XML with a document type declaration is refused"));
}

int xml_walk(const char *doc, size_t len, xml_end_cb cb, void *payload, struct op_err *reterr)
{
	struct walk w = { .cb = cb, .payload = payload, .err = reterr };
	int r = 0;

	if (len > (size_t)0x7fffffff)
		return op_err_set(reterr, -EFBIG, "XML document too large");
	w.p = XML_ParserCreate("UTF-8");
	if (!w.p)
		return op_err_set(reterr, -ENOMEM, "cannot create an XML parser");
	buf_init(&w.path, 4096);
	buf_init(&w.text, XML_MAX_TEXT);
	XML_SetUserData(w.p, &w);
	XML_SetElementHandler(w.p, on_start, on_end);
	XML_SetCharacterDataHandler(w.p, on_text);
	XML_SetStartDoctypeDeclHandler(w.p, on_doctype);
	if (XML_Parse(w.p, doc, (int)len, XML_TRUE) != XML_STATUS_OK) {
		if (w.r)
			r = w.r;
		else
			r = op_err_set(reterr, -EINVAL, "invalid XML at line %lu: %s",
				       (unsigned long)XML_GetCurrentLineNumber(w.p),
				       XML_ErrorString(XML_GetErrorCode(w.p)));
	} else if (w.r) {
		r = w.r;
	}
	XML_ParserFree(w.p);
	buf_release(&w.path);
	buf_release(&w.text);
	return r;
}
