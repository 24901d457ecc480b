/*
 * languages: which programming language a file is written in, by its name.
 *
 * Like GitHub Linguist, a repository's languages come from the bytes of
 * its source files, so a repository without any manifest still gets them.
 * The table (extensions, file names, #! interpreters, vendored and
 * generated paths) is data: config/languages.yaml.
 */
#ifndef AMPEL_INTEL_LANGUAGES_H
#define AMPEL_INTEL_LANGUAGES_H

#include <stdbool.h>
#include <stddef.h>

struct err;

enum language_type { LANGUAGE_PROGRAMMING, LANGUAGE_MARKUP, LANGUAGE_DATA, LANGUAGE_PROSE };

struct language {
	const char *id;	  /* lowercase id used in the analysis document */
	const char *name; /* display name */
	enum language_type type;
};

struct language_table;

/* Loads config/languages.yaml (or its --config-dir override). */
int language_table_load(struct language_table **out, struct err *e);
/* Parses a languages file from memory; file names it in errors. */
int language_table_parse(struct language_table **out, const char *file, const char *data,
			 size_t len, struct err *e);
void language_table_free(struct language_table *table);

/* The language of a file by base name and extension, or NULL. */
const struct language *language_for_name(const struct language_table *table, const char *base_name);
/* The language named by a "#!" first line such as "#!/usr/bin/env python3". */
const struct language *language_for_shebang(const struct language_table *table,
					    const char *first_line);
const struct language *language_by_id(const struct language_table *table, const char *id);
/*
 * Whether a path (from the repository root) is vendored or generated, in
 * two halves for a caller that sees many files of one directory: path is
 * foreign exactly when its directory (from the root, "" for the root) is,
 * or the file is by a rule about names or paths.
 */
bool language_dir_is_foreign(const struct language_table *table, const char *dir);
bool language_file_is_foreign(const struct language_table *table, const char *path);
/*
 * The language whose package managers handle id's packages: a TypeScript
 * app installs with npm (javascript), a Kotlin one builds with Gradle
 * (java); id itself for most.
 */
const char *language_family(const char *id);
/* True for languages that count towards a repository's languages. */
bool language_counts(const struct language *language);

#endif
