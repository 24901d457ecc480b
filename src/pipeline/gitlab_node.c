/*
 * gitlab_node: the YAML nodes of a GitLab CI file as the loader sees them.
 *
 * Included files and merged nodes must still report errors at the file and
 * line they were written at, so every node's origin is remembered here,
 * with the key checks and list flattening every keyword reader uses.
 */
#include "pipeline/gitlab_internal.h"

#include "util/arena.h"
#include "util/buf.h"
#include "util/str.h"
#include "util/xalloc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t ptr_hash(const void *p)
{
	uint64_t x = (uint64_t)(uintptr_t)p;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)x;
}

static struct ptr_slot *ptr_table_find(const struct ptr_table *t, const void *key)
{
	if (!t->cap)
		return NULL;
	size_t i = ptr_hash(key) & (t->cap - 1);
	while (t->slots[i].key) {
		if (t->slots[i].key == key)
			return &t->slots[i];
		i = (i + 1) & (t->cap - 1);
	}
	return NULL;
}

void *gitlab_ptr_table_get(const struct ptr_table *t, const void *key)
{
	struct ptr_slot *slot = ptr_table_find(t, key);
	return slot ? slot->value : NULL;
}

void gitlab_ptr_table_put(struct ptr_table *t, const void *key, void *value)
{
	struct ptr_slot *slot = ptr_table_find(t, key);
	if (slot) {
		slot->value = value;
		return;
	}
	if ((t->count + 1) * 2 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		struct ptr_slot *slots = xcalloc(cap, sizeof(*slots));
		for (size_t k = 0; k < t->cap; k++) {
			if (!t->slots[k].key)
				continue;
			size_t i = ptr_hash(t->slots[k].key) & (cap - 1);
			while (slots[i].key)
				i = (i + 1) & (cap - 1);
			slots[i] = t->slots[k];
		}
		free(t->slots);
		t->slots = slots;
		t->cap = cap;
	}
	size_t i = ptr_hash(key) & (t->cap - 1);
	while (t->slots[i].key)
		i = (i + 1) & (t->cap - 1);
	t->slots[i].key = key;
	t->slots[i].value = value;
	t->count++;
}

const char *gitlab_node_file(const struct loader *l, const struct yaml_node *node)
{
	const char *file = gitlab_ptr_table_get(&l->origins, node);
	return file ? file : l->file;
}

int gitlab_node_err(struct loader *l, const struct yaml_node *node, const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	yaml_err(l->e, gitlab_node_file(l, node), node, "%s", buf_cstr(&msg));
	buf_free(&msg);
	return -1;
}

void gitlab_origins_register(struct loader *l, const struct yaml_node *node, const char *file)
{
	if (!node || gitlab_ptr_table_get(&l->origins, node))
		return;
	gitlab_ptr_table_put(&l->origins, node, (void *)file);
	if (node->kind == YAML_SEQUENCE) {
		for (size_t i = 0; i < node->count; i++)
			gitlab_origins_register(l, node->items[i], file);
	} else if (node->kind == YAML_MAPPING) {
		for (size_t i = 0; i < node->count; i++) {
			gitlab_origins_register(l, node->pairs[i].key, file);
			gitlab_origins_register(l, node->pairs[i].value, file);
		}
	}
}

/* A node we build (merges, resolved references) sits where `like` was written. */
struct yaml_node *gitlab_node_new(struct loader *l, enum yaml_kind kind,
				  const struct yaml_node *like, size_t capacity)
{
	struct yaml_node *n = arena_calloc(l->arena, 1, sizeof(*n));
	n->kind = kind;
	n->line = like->line;
	n->column = like->column;
	n->value = "";
	if (kind == YAML_MAPPING)
		n->pairs = arena_calloc(l->arena, capacity ? capacity : 1, sizeof(*n->pairs));
	else if (kind == YAML_SEQUENCE)
		n->items = arena_calloc(l->arena, capacity ? capacity : 1, sizeof(*n->items));
	gitlab_ptr_table_put(&l->origins, n, (void *)gitlab_node_file(l, like));
	return n;
}

/* The key node of map's entry name: errors about a key point at the key. */
const struct yaml_node *gitlab_key_of(const struct yaml_node *map, const char *name)
{
	for (size_t i = 0; map && map->kind == YAML_MAPPING && i < map->count; i++)
		if (str_eq(yaml_str(map->pairs[i].key), name))
			return map->pairs[i].key;
	return NULL;
}

bool gitlab_word_in(const char *const *words, const char *word)
{
	for (; *words; words++)
		if (strcmp(*words, word) == 0)
			return true;
	return false;
}

int gitlab_keys_check(struct loader *l, const struct yaml_node *map, const char *const *allowed,
		      const char *what)
{
	for (size_t i = 0; i < map->count; i++) {
		const struct yaml_node *key = map->pairs[i].key;
		if (key->kind != YAML_SCALAR)
			return gitlab_node_err(l, key, "%s: keys must be plain names", what);
		if (!gitlab_word_in(allowed, key->value))
			return gitlab_node_err(l, key, "%s: unknown key '%s'", what, key->value);
	}
	return 0;
}

/* Nested lists (from !reference) read as one flat list, as GitLab does. */
int gitlab_list_flatten(struct loader *l, const struct yaml_node *node, struct vec *out, int depth,
			const char *what)
{
	if (node->kind != YAML_SEQUENCE) {
		vec_push(out, (void *)node);
		return 0;
	}
	if (depth > MAX_NESTED_LIST_DEPTH)
		return gitlab_node_err(l, node, "%s: lists nest more than %d levels", what,
				       MAX_NESTED_LIST_DEPTH);
	for (size_t i = 0; i < node->count; i++)
		if (gitlab_list_flatten(l, node->items[i], out, depth + 1, what))
			return -1;
	return 0;
}

/* Scalar text for a value GitLab takes as a string (numbers and booleans too). */
const char *gitlab_scalar_text(const struct yaml_node *node)
{
	if (!node || node->kind != YAML_SCALAR)
		return NULL;
	return yaml_is_null(node) ? "" : node->value;
}
