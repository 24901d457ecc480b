#include "intel/languages.h"

#include "util/buf.h"
#include "util/embed.h"
#include "util/err.h"
#include "util/glob.h"
#include "util/map.h"
#include "util/str.h"
#include "util/vec.h"
#include "util/xalloc.h"
#include "util/yaml.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct language_table {
	struct vec languages;	 /* struct language *, owned */
	struct map *by_ext;	 /* ".py" (lowercase) -> language */
	struct map *by_filename; /* "Dockerfile" -> language */
	struct map *by_interpreter;
	struct map *by_id;
	/*
	 * Vendored and generated paths. Every file of a repository is asked,
	 * so each rule is kept in the cheapest form that decides it exactly:
	 * "<star><star>/vendor/<star><star>" is a directory name anywhere on
	 * the path, "<star><star>/<glob without '/'>" a glob of the base name
	 * alone (found by its literal extension, or by the whole name when it
	 * has no wildcard), anything else a glob of the whole path.
	 */
	struct vec foreign_dirs;       /* char *: directory names */
	struct map *foreign_names;     /* exact base names */
	struct map *foreign_by_ext;    /* "js" -> struct vec * of base-name globs */
	struct vec foreign_name_globs; /* base-name globs without a literal extension */
	struct vec foreign_globs;      /* struct glob *: whole-path globs */
};

static const char *const language_type_names[] = { "programming", "markup", "data", "prose" };

static void language_free(void *item)
{
	struct language *language = item;
	free((char *)language->id);
	free((char *)language->name);
	free(language);
}

static void language_glob_free(void *item)
{
	glob_free(item);
}

static void language_glob_vec_free(void *item)
{
	vec_free(item, language_glob_free);
	free(item);
}

void language_table_free(struct language_table *table)
{
	if (!table)
		return;
	vec_free(&table->languages, language_free);
	vec_free(&table->foreign_dirs, free);
	map_free(table->foreign_names, NULL);
	map_free(table->foreign_by_ext, language_glob_vec_free);
	vec_free(&table->foreign_name_globs, language_glob_free);
	vec_free(&table->foreign_globs, language_glob_free);
	map_free(table->by_ext, NULL);
	map_free(table->by_filename, NULL);
	map_free(table->by_interpreter, NULL);
	map_free(table->by_id, NULL);
	free(table);
}

/* Adds each scalar of a list field to index; a name claimed twice is an error. */
static int language_index_list(const char *file, const struct yaml_node *entry, const char *field,
			       struct map *index, bool lowercase, struct language *language,
			       struct err *e)
{
	const struct yaml_node *list = yaml_get(entry, field);
	if (yaml_is_null(list))
		return 0;
	if (list->kind != YAML_SEQUENCE)
		return yaml_err(e, file, list, "language '%s': %s must be a list", language->id,
				field);
	for (size_t i = 0; i < list->count; i++) {
		const char *value = yaml_str(list->items[i]);
		if (!value || !*value)
			return yaml_err(e, file, list->items[i],
					"language '%s': %s must hold non-empty strings",
					language->id, field);
		char *key = xstrdup(value);
		if (lowercase)
			str_lower(key);
		const struct language *other = map_get(index, key);
		if (other && other != language) {
			yaml_err(e, file, list->items[i],
				 "language '%s': %s '%s' is already claimed by '%s'", language->id,
				 field, value, other->id);
			free(key);
			return -1;
		}
		map_put(index, key, language);
		free(key);
	}
	return 0;
}

static int language_parse_entry(struct language_table *table, const char *file,
				const struct yaml_node *entry, struct err *e)
{
	if (entry->kind != YAML_MAPPING)
		return yaml_err(e, file, entry, "each language must be a mapping");
	const char *id = yaml_str(yaml_get(entry, "id"));
	const char *name = yaml_str(yaml_get(entry, "name"));
	const char *type = yaml_str(yaml_get(entry, "type"));
	if (!id || !*id)
		return yaml_err(e, file, entry, "language without an 'id'");
	if (map_has(table->by_id, id))
		return yaml_err(e, file, entry, "language '%s' is defined twice", id);
	if (!name || !type)
		return yaml_err(e, file, entry, "language '%s': 'name' and 'type' are required",
				id);
	int type_index = -1;
	for (size_t i = 0; i < sizeof(language_type_names) / sizeof(*language_type_names); i++)
		if (strcmp(type, language_type_names[i]) == 0)
			type_index = (int)i;
	if (type_index < 0)
		return yaml_err(e, file, yaml_get(entry, "type"),
				"language '%s': type must be programming, markup, data or prose",
				id);
	struct language *language = xcalloc(1, sizeof(*language));
	language->id = xstrdup(id);
	language->name = xstrdup(name);
	language->type = (enum language_type)type_index;
	vec_push(&table->languages, language);
	map_put(table->by_id, id, language);

	if (language_index_list(file, entry, "extensions", table->by_ext, true, language, e) < 0 ||
	    language_index_list(file, entry, "filenames", table->by_filename, false, language, e) <
		    0 ||
	    language_index_list(file, entry, "interpreters", table->by_interpreter, false, language,
				e) < 0)
		return -1;
	if (!yaml_get(entry, "extensions") && !yaml_get(entry, "filenames"))
		return yaml_err(e, file, entry,
				"language '%s': needs 'extensions' or 'filenames' to be found", id);
	return 0;
}

/* Files in a directory of this name, at any depth: "<star><star>/name/<star><star>". */
static bool language_add_foreign_dir(struct language_table *table, const char *rest)
{
	size_t len = strlen(rest);
	if (len <= 3 || strcmp(rest + len - 3, "/**") != 0)
		return false;
	char *name = xstrndup(rest, len - 3);
	if (strchr(name, '/') || glob_has_wildcards(name)) {
		free(name);
		return false;
	}
	vec_push(&table->foreign_dirs, name);
	return true;
}

/* A base name at any depth: "<star><star>/glob" where the glob has no '/'. */
static bool language_add_foreign_name(struct language_table *table, const char *glob)
{
	if (!*glob || strchr(glob, '/'))
		return false;
	if (!glob_has_wildcards(glob)) {
		map_put(table->foreign_names, glob, (void *)1);
		return true;
	}
	/* A literal ".ext" ending: only names with that last extension can match. */
	const char *dot = strrchr(glob, '.');
	struct glob *g = glob_compile(glob, 0);
	if (dot && dot[1] && !glob_has_wildcards(dot + 1)) {
		struct vec *list = map_get(table->foreign_by_ext, dot + 1);
		if (!list) {
			list = xcalloc(1, sizeof(*list));
			map_put(table->foreign_by_ext, dot + 1, list);
		}
		vec_push(list, g);
	} else {
		vec_push(&table->foreign_name_globs, g);
	}
	return true;
}

static void language_add_foreign(struct language_table *table, const char *pattern)
{
	if (str_starts_with(pattern, "**/") && (language_add_foreign_dir(table, pattern + 3) ||
						language_add_foreign_name(table, pattern + 3)))
		return;
	vec_push(&table->foreign_globs, glob_compile(pattern, 0));
}

static int language_parse_globs(struct language_table *table, const char *file,
				const struct yaml_node *root, const char *field, struct err *e)
{
	const struct yaml_node *list = yaml_get(root, field);
	if (yaml_is_null(list))
		return 0;
	if (list->kind != YAML_SEQUENCE)
		return yaml_err(e, file, list, "'%s' must be a list of path patterns", field);
	for (size_t i = 0; i < list->count; i++) {
		const char *pattern = yaml_str(list->items[i]);
		if (!pattern || !*pattern)
			return yaml_err(e, file, list->items[i],
					"'%s' must hold non-empty path patterns", field);
		language_add_foreign(table, pattern);
	}
	return 0;
}

int language_table_parse(struct language_table **out, const char *file, const char *data,
			 size_t len, struct err *e)
{
	struct yaml_doc *doc = NULL;
	if (yaml_parse(&doc, file, data, len, e) < 0)
		return -1;
	struct language_table *table = xcalloc(1, sizeof(*table));
	table->by_ext = map_new();
	table->by_filename = map_new();
	table->by_interpreter = map_new();
	table->by_id = map_new();
	table->foreign_names = map_new();
	table->foreign_by_ext = map_new();

	int rc = -1;
	const struct yaml_node *list = doc->root ? yaml_get(doc->root, "languages") : NULL;
	if (!list || list->kind != YAML_SEQUENCE) {
		if (doc->root)
			yaml_err(e, file, doc->root, "expected a 'languages' list");
		else
			err_set(e, "%s: empty file, expected a 'languages' list", file);
		goto out;
	}
	for (size_t i = 0; i < list->count; i++)
		if (language_parse_entry(table, file, list->items[i], e) < 0)
			goto out;
	if (language_parse_globs(table, file, doc->root, "vendored", e) < 0 ||
	    language_parse_globs(table, file, doc->root, "generated", e) < 0)
		goto out;
	rc = 0;
out:
	yaml_doc_free(doc);
	if (rc < 0) {
		language_table_free(table);
		return -1;
	}
	*out = table;
	return 0;
}

int language_table_load(struct language_table **out, struct err *e)
{
	struct buf data = BUF_INIT;
	char *origin = NULL;
	int rc = embed_read_config("languages.yaml", &data, &origin, e);
	if (rc == 0)
		rc = language_table_parse(out, origin, buf_cstr(&data), data.len, e);
	free(origin);
	buf_free(&data);
	return rc;
}

const struct language *language_for_name(const struct language_table *table, const char *base_name)
{
	const struct language *language = map_get(table->by_filename, base_name);
	if (language)
		return language;
	const char *dot = strrchr(base_name, '.');
	if (!dot || dot == base_name)
		return NULL;
	char ext[32];
	size_t len = strlen(dot);
	if (len >= sizeof(ext))
		return NULL;
	for (size_t i = 0; i <= len; i++)
		ext[i] = (char)tolower((unsigned char)dot[i]);
	return map_get(table->by_ext, ext);
}

const struct language *language_for_shebang(const struct language_table *table,
					    const char *first_line)
{
	if (!str_starts_with(first_line, "#!"))
		return NULL;
	/* "#!/usr/bin/env -S python3 -u" -> "python3"; "#!/bin/bash" -> "bash" */
	const char *p = first_line + 2;
	char word[64];
	for (int round = 0; round < 3; round++) {
		while (*p == ' ' || *p == '\t')
			p++;
		size_t n = strcspn(p, " \t\r\n");
		if (n == 0 || n >= sizeof(word))
			return NULL;
		memcpy(word, p, n);
		word[n] = '\0';
		p += n;
		const char *slash = strrchr(word, '/');
		const char *program = slash ? slash + 1 : word;
		if (strcmp(program, "env") == 0 || program[0] == '-')
			continue;
		const struct language *language = map_get(table->by_interpreter, program);
		if (language)
			return language;
		/* python3.11 -> python3 -> python */
		char trimmed[64];
		size_t len = strlen(program);
		memcpy(trimmed, program, len + 1);
		while (len > 0 &&
		       (isdigit((unsigned char)trimmed[len - 1]) || trimmed[len - 1] == '.')) {
			trimmed[--len] = '\0';
			language = map_get(table->by_interpreter, trimmed);
			if (language)
				return language;
		}
		return NULL;
	}
	return NULL;
}

const struct language *language_by_id(const struct language_table *table, const char *id)
{
	return map_get(table->by_id, id);
}

/* Whether a directory component of dir is a vendored one. */
bool language_dir_is_foreign(const struct language_table *table, const char *dir)
{
	if (!table->foreign_dirs.len)
		return false;
	const char *end = dir + strlen(dir);
	while (dir < end) {
		const char *slash = memchr(dir, '/', (size_t)(end - dir));
		size_t n = (size_t)((slash ? slash : end) - dir);
		for (size_t i = 0; i < table->foreign_dirs.len; i++) {
			const char *name = table->foreign_dirs.items[i];
			if (strlen(name) == n && memcmp(name, dir, n) == 0)
				return true;
		}
		dir += n + 1;
	}
	return false;
}

bool language_file_is_foreign(const struct language_table *table, const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	if (map_has(table->foreign_names, name))
		return true;
	const char *dot = strrchr(name, '.');
	const struct vec *by_ext = dot ? map_get(table->foreign_by_ext, dot + 1) : NULL;
	for (size_t i = 0; by_ext && i < by_ext->len; i++)
		if (glob_matches(by_ext->items[i], name))
			return true;
	for (size_t i = 0; i < table->foreign_name_globs.len; i++)
		if (glob_matches(table->foreign_name_globs.items[i], name))
			return true;
	for (size_t i = 0; i < table->foreign_globs.len; i++)
		if (glob_matches(table->foreign_globs.items[i], path))
			return true;
	return false;
}

const char *language_family(const char *id)
{
	static const char *const families[][2] = {
		{ "typescript", "javascript" }, { "vue", "javascript" }, { "svelte", "javascript" },
		{ "astro", "javascript" },	{ "kotlin", "java" },	 { "scala", "java" },
		{ "groovy", "java" },		{ "fsharp", "csharp" },
	};
	for (size_t i = 0; id && i < sizeof(families) / sizeof(*families); i++)
		if (strcmp(id, families[i][0]) == 0)
			return families[i][1];
	return id;
}

bool language_counts(const struct language *language)
{
	return language->type == LANGUAGE_PROGRAMMING || language->type == LANGUAGE_MARKUP;
}
