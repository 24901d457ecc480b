/*
 * vec: a growable array of pointers.
 *
 * Most lists Ampel keeps (rules, projects, jobs, steps) are lists of
 * pointers to structs; one untyped vector with sort and free hooks covers
 * them without macros.
 */
#ifndef AMPEL_UTIL_VEC_H
#define AMPEL_UTIL_VEC_H

#include <stdbool.h>
#include <stddef.h>

struct vec {
	void **items;
	size_t len;
	size_t cap;
};

#define VEC_INIT           \
	{                  \
		NULL, 0, 0 \
	}

void vec_push(struct vec *v, void *item);
void *vec_pop(struct vec *v);
/* NULL when i is out of range. */
void *vec_get(const struct vec *v, size_t i);
void vec_insert(struct vec *v, size_t i, void *item);
void *vec_remove(struct vec *v, size_t i);
/* qsort on the pointers: cmp receives pointers to the elements (void **). */
void vec_sort(struct vec *v, int (*cmp)(const void *, const void *));
/* Whether a list of strings holds s (never a NULL s). */
bool vec_has_str(const struct vec *v, const char *s);
/* Pushes the string s unless the list holds it. */
void vec_push_unique_str(struct vec *v, const char *s);
/* Frees the array, and each item with item_free when not NULL. */
void vec_free(struct vec *v, void (*item_free)(void *));

#endif
