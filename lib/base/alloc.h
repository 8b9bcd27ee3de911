/*
 * alloc.h: allocation helpers and the project's ownership rules.
 *
 * OWNERSHIP RULES (every module follows them; see STYLE.md §5)
 *
 *  1. Every pointer in a signature is borrowed unless its name or its doc
 *     comment says otherwise.  Output `ret_x` parameters transfer ownership
 *     to the caller and are written only on success.  Getters that return a
 *     pointer return a borrowed view tied to the parent's lifetime.
 *  2. A function that takes ownership says so in its header comment, and the
 *     caller NULLs its local right after the call, with a comment:
 *         cJSON_AddItemToObject(obj, "spec", spec);
 *         spec = NULL; // now owned by obj
 *  3. One allocator per object family: free with the family's function.
 *     Never free() what libcurl, libgit2 or libyaml allocated.
 *  4. Destructors accept NULL and return NULL, and cope with half-built
 *     objects.
 *  5. Function-local temporaries may use the cleanup attribute, through
 *     _cleanup_free_, _cleanup_(x_freep) and TAKE_PTR() only.  Undoing side
 *     effects uses one forward goto chain with labels named after what they
 *     undo.
 *  6. Every growable buffer has a maximum (struct buf), and sizes that come
 *     from the network or from users are checked against a limit *before*
 *     allocating: a hostile length is a clean -EFBIG, never an abort.
 *
 * Out of memory aborts (as in git and redis): x*() never return NULL.  The
 * counterpart is rule 6.
 */
#ifndef CFLUX_BASE_ALLOC_H
#define CFLUX_BASE_ALLOC_H

#include <stdlib.h>
#include <string.h>

#include "base/macro.h"

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmemdup(const void *p, size_t n);
/* printf into a new string; aborts on OOM. */
char *xasprintf(const char *fmt, ...) _printf_(1, 2);

/* Allocate `n` elements of `type`, zeroed; overflow-checked. */
#define xnew0(type, n) ((type *)xcalloc((n), sizeof(type)))

/* Grow *p (of *alloc elements) so it holds at least `need`; overflow-checked. */
#define XGROW(p, need, alloc)                                                                      \
	do {                                                                                       \
		if ((need) > (alloc)) {                                                            \
			size_t xg__n = (alloc) ? (alloc) : 8;                                      \
			while (xg__n < (need))                                                     \
				xg__n *= 2;                                                        \
			(p) = xrealloc((p), xalloc__mul(xg__n, sizeof(*(p))));                     \
			(alloc) = xg__n;                                                           \
		}                                                                                  \
	} while (0)

size_t xalloc__mul(size_t a, size_t b);

/* Wipe a secret string (token, key, password) and free it.  Accepts NULL. */
static inline void free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static inline void freep(void *p)
{
	free(*(void **)p);
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)

/* Return *p and set it to NULL: hands a cleanup-managed pointer onwards. */
#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) take__p = (p);                                                       \
		(p) = NULL;                                                                        \
		take__p;                                                                           \
	})

/* Define `name##p(type **)` calling `fn` on *p, for _cleanup_(). */
#define DEFINE_FREEP(type, fn)                                                                     \
	static inline void fn##p(type **p)                                                         \
	{                                                                                          \
		if (*p)                                                                            \
			fn(*p);                                                                    \
	}

#endif
