/*
 * toml: TOML 1.0 documents (Cargo.toml, pyproject.toml, fly.toml, ...) read
 * into a jansson tree, so repository intelligence treats them like JSON.
 * They come from repositories under analysis, so any input must be safe.
 */
#ifndef AMPEL_UTIL_TOML_H
#define AMPEL_UTIL_TOML_H

#include <jansson.h>
#include <stddef.h>

struct err;

/* Files larger than this are refused by toml_load_file. */
#define TOML_MAX_FILE_SIZE ((size_t)8 * 1024 * 1024)
/* Deepest nesting of tables and arrays accepted (keeps the tree sane). */
#define TOML_MAX_DEPTH 128

/*
 * Parses a whole TOML document into a new JSON object (caller decrefs).
 * Tables become objects in document order, arrays become arrays, strings,
 * integers, floats and booleans become their JSON counterparts. JSON cannot
 * hold every TOML value, so:
 *   - inf and nan become the strings "inf", "-inf" and "nan" (as do
 *     floats too large for a double, which round to infinity);
 *   - offset/local date-times, dates and times stay strings, exactly as
 *     written (e.g. "1979-05-27T07:32:00Z").
 * Errors read "<file>:<line>:<column>: <problem>"; file may be NULL.
 */
int toml_parse(json_t **out, const char *file, const char *data, size_t len, struct err *e);
/* Reads and parses path (at most TOML_MAX_FILE_SIZE bytes). */
int toml_load_file(json_t **out, const char *path, struct err *e);

#endif
