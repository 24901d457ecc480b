#include "util/arena.h"

#include "util/xalloc.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Chunks are a singly linked list; only the head is bumped. A request too big
 * for a normal chunk gets a chunk of its own, linked behind the head so the
 * head's free space is not wasted.
 */
enum { ARENA_CHUNK_SIZE = 64 * 1024, ARENA_ALIGN = alignof(max_align_t) };

struct arena_chunk {
	struct arena_chunk *next;
	size_t size; /* usable bytes in data */
	size_t used;
	alignas(max_align_t) unsigned char data[];
};

struct arena {
	struct arena_chunk *head;
	size_t used;
};

static struct arena_chunk *arena_chunk_new(size_t size)
{
	if (size > SIZE_MAX - sizeof(struct arena_chunk))
		abort();
	/* calloc so that arena memory is zeroed without a memset per allocation. */
	struct arena_chunk *c = xcalloc(1, sizeof(*c) + size);
	c->size = size;
	return c;
}

struct arena *arena_new(void)
{
	struct arena *a = xcalloc(1, sizeof(*a));
	return a;
}

void arena_free(struct arena *a)
{
	if (!a)
		return;
	struct arena_chunk *c = a->head;
	while (c) {
		struct arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	free(a);
}

void *arena_alloc(struct arena *a, size_t size)
{
	if (size == 0)
		size = 1;
	if (size > SIZE_MAX - ARENA_ALIGN) {
		fprintf(stderr, "ampel: arena allocation of %zu bytes is too large\n", size);
		abort();
	}
	size_t rounded = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	struct arena_chunk *c = a->head;
	if (!c || c->size - c->used < rounded) {
		if (rounded > ARENA_CHUNK_SIZE / 4) {
			struct arena_chunk *big = arena_chunk_new(rounded);
			big->used = rounded;
			if (c) {
				big->next = c->next;
				c->next = big;
			} else {
				a->head = big;
			}
			a->used += rounded;
			return big->data;
		}
		c = arena_chunk_new(ARENA_CHUNK_SIZE);
		c->next = a->head;
		a->head = c;
	}
	void *p = c->data + c->used;
	c->used += rounded;
	a->used += rounded;
	return p;
}

void *arena_calloc(struct arena *a, size_t count, size_t size)
{
	if (size && count > SIZE_MAX / size) {
		fprintf(stderr, "ampel: arena allocation of %zu x %zu bytes overflows\n", count,
			size);
		abort();
	}
	return arena_alloc(a, count * size);
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = arena_alloc(a, len + 1);
	memcpy(p, s, len);
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, SIZE_MAX);
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char small[256];
	va_list copy;
	va_copy(copy, ap);
	int n = vsnprintf(small, sizeof(small), fmt, copy);
	va_end(copy);
	if (n < 0) {
		va_end(ap);
		return arena_strdup(a, "");
	}
	char *p = arena_alloc(a, (size_t)n + 1);
	if ((size_t)n < sizeof(small))
		memcpy(p, small, (size_t)n + 1);
	else
		vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

size_t arena_used(const struct arena *a)
{
	return a->used;
}
