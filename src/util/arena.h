/*
 * arena: bump allocation for request- and document-scoped data.
 *
 * A parsed document or one request allocates many small pieces that die
 * together; an arena makes that one free and keeps leaks impossible.
 */
#ifndef AMPEL_UTIL_ARENA_H
#define AMPEL_UTIL_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct arena;

struct arena *arena_new(void);
void arena_free(struct arena *a);
/* Zeroed memory aligned for any type. */
void *arena_alloc(struct arena *a, size_t size);
void *arena_calloc(struct arena *a, size_t count, size_t size);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Bytes handed out so far (for tests and limits). */
size_t arena_used(const struct arena *a);

#endif
