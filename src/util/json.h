/*
 * json: the few things Ampel does with jansson, done one way everywhere.
 *
 * Errors name "file:line:column", output is deterministic (insertion order,
 * fixed indent, optional final newline) so generated files diff cleanly,
 * and a YAML tree converts to JSON with YAML 1.2 core-schema typing.
 */
#ifndef AMPEL_UTIL_JSON_H
#define AMPEL_UTIL_JSON_H

#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>

struct buf;
struct err;
struct yaml_node;

/* Output options for json_write_buf/json_write_file; combine with |. */
#define JSON_WRITE_INDENT(n) ((unsigned)(n)&0x1Fu) /* spaces per level; 0 = one line */
#define JSON_WRITE_SORT_KEYS (1u << 8)		   /* else insertion order */
#define JSON_WRITE_NEWLINE   (1u << 9)		   /* end with exactly one "\n" */
#define JSON_WRITE_ASCII     (1u << 10)		   /* escape non-ASCII as \uXXXX */
#define JSON_WRITE_PRETTY    (JSON_WRITE_INDENT(2) | JSON_WRITE_NEWLINE)

/*
 * Parses any JSON value (object, array or scalar) from data. Duplicate
 * object keys are an error. Errors read "<name>:<line>:<column>: <message>".
 * The caller owns *out (json_decref).
 */
int json_read_string(json_t **out, const char *name, const char *data, size_t len, struct err *e);
/* Reads and parses path (at most 16 MiB). */
int json_read_file(json_t **out, const char *path, struct err *e);

/*
 * Appends value, serialised per flags, to out. Reals are written with 15
 * significant digits, so 0.98 reads 0.98 (not 0.97999999999999998), unless
 * one needs 17 to read back exactly; then the value is written with 17.
 */
int json_write_buf(struct buf *out, const json_t *value, unsigned flags, struct err *e);
/* Writes value to path atomically. */
int json_write_file(const json_t *value, const char *path, unsigned flags, struct err *e);

/*
 * Member lookups that fall back to def when obj is not an object, the key
 * is absent or the member has another type (an integer is not a bool, a
 * real is not an integer).
 */
const char *json_get_str(const json_t *obj, const char *key, const char *def);
long long json_get_int(const json_t *obj, const char *key, long long def);
bool json_get_bool(const json_t *obj, const char *key, bool def);

/*
 * Converts a YAML tree to a new JSON value (never NULL; NULL node gives
 * null). Unquoted scalars follow the YAML 1.2 core schema: null/~/empty
 * become null, true/false booleans, integers (decimal, 0x, 0o) and floats
 * numbers; .inf/.nan, quoted and !!str scalars stay strings. Mapping keys
 * are their text; a non-scalar key becomes its compact JSON text.
 */
json_t *json_from_yaml(const struct yaml_node *node);

#endif
