#include "util/vec.h"

#include "util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void vec_reserve(struct vec *v, size_t extra)
{
	if (extra > (size_t)-1 / sizeof(void *) - v->len)
		abort();
	size_t needed = v->len + extra;
	if (needed <= v->cap)
		return;
	v->cap = xalloc_grow_capacity(v->cap, needed);
	if (v->cap > (size_t)-1 / sizeof(void *))
		abort();
	v->items = xrealloc(v->items, v->cap * sizeof(void *));
}

void vec_push(struct vec *v, void *item)
{
	vec_reserve(v, 1);
	v->items[v->len++] = item;
}

void *vec_pop(struct vec *v)
{
	if (v->len == 0)
		return NULL;
	return v->items[--v->len];
}

void *vec_get(const struct vec *v, size_t i)
{
	return i < v->len ? v->items[i] : NULL;
}

void vec_insert(struct vec *v, size_t i, void *item)
{
	/* An index past the end is a caller bug; append keeps the list intact. */
	if (i > v->len)
		i = v->len;
	vec_reserve(v, 1);
	memmove(v->items + i + 1, v->items + i, (v->len - i) * sizeof(void *));
	v->items[i] = item;
	v->len++;
}

void *vec_remove(struct vec *v, size_t i)
{
	if (i >= v->len)
		return NULL;
	void *item = v->items[i];
	memmove(v->items + i, v->items + i + 1, (v->len - i - 1) * sizeof(void *));
	v->len--;
	return item;
}

void vec_sort(struct vec *v, int (*cmp)(const void *, const void *))
{
	if (v->len > 1)
		qsort(v->items, v->len, sizeof(void *), cmp);
}

void vec_free(struct vec *v, void (*item_free)(void *))
{
	if (item_free) {
		for (size_t i = 0; i < v->len; i++)
			item_free(v->items[i]);
	}
	free(v->items);
	v->items = NULL;
	v->len = 0;
	v->cap = 0;
}

bool vec_has_str(const struct vec *v, const char *s)
{
	for (size_t i = 0; i < v->len; i++)
		if (s && v->items[i] && strcmp(v->items[i], s) == 0)
			return true;
	return false;
}

void vec_push_unique_str(struct vec *v, const char *s)
{
	if (!vec_has_str(v, s))
		vec_push(v, (void *)s);
}
