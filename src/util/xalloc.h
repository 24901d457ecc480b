/*
 * xalloc: allocation that cannot return NULL.
 *
 * Running out of memory is not a condition Ampel can report usefully, so
 * like git's xmalloc these print one line and abort instead of making every
 * caller check for NULL.
 */
#ifndef AMPEL_UTIL_XALLOC_H
#define AMPEL_UTIL_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Grow-by-doubling capacity for an array of `count + extra` elements. */
size_t xalloc_grow_capacity(size_t current, size_t needed);

#endif
