/*
 * map: a hash map from strings to pointers.
 *
 * Lookups by name (rules by id, contexts by key, config by field) are
 * everywhere; open addressing with the key copied in keeps it one
 * allocation per entry and iteration order deterministic for a given
 * sequence of inserts (insertion order).
 */
#ifndef AMPEL_UTIL_MAP_H
#define AMPEL_UTIL_MAP_H

#include <stdbool.h>
#include <stddef.h>

struct map;

struct map *map_new(void);
/* Frees the map, and each value with value_free when not NULL. */
void map_free(struct map *m, void (*value_free)(void *));
/* Sets key (copied) to value; returns the previous value or NULL. */
void *map_put(struct map *m, const char *key, void *value);
void *map_get(const struct map *m, const char *key);
bool map_has(const struct map *m, const char *key);
/* Removes key; returns its value or NULL. */
void *map_del(struct map *m, const char *key);
size_t map_count(const struct map *m);

/* Iteration in insertion order: for (size_t i = 0; map_next(m, &i, &k, &v);) */
bool map_next(const struct map *m, size_t *cursor, const char **key, void **value);

#endif
