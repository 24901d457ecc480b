/*
 * yaml: YAML documents as a small tree that remembers where every node was.
 *
 * Workflows, rule files and ampel.yaml are written by people, so errors
 * must say "file:line:column". Built on libyaml; anchors and aliases are
 * resolved, `<<` merge keys are applied (GitLab CI relies on them), and
 * the whole tree lives in one arena freed with the document.
 */
#ifndef AMPEL_UTIL_YAML_H
#define AMPEL_UTIL_YAML_H

#include <stdbool.h>
#include <stddef.h>

struct err;
struct arena;

enum yaml_kind { YAML_SCALAR, YAML_SEQUENCE, YAML_MAPPING };

struct yaml_node;

struct yaml_pair {
	struct yaml_node *key; /* a scalar in everything Ampel reads */
	struct yaml_node *value;
};

struct yaml_node {
	enum yaml_kind kind;
	int line;   /* 1-based */
	int column; /* 1-based */
	/* YAML_SCALAR */
	const char *value; /* NUL-terminated, never NULL for scalars */
	size_t length;
	bool quoted;	 /* single/double quoted or block: never null/bool/number */
	const char *tag; /* explicit tag such as "!reference", else NULL */
	/* YAML_SEQUENCE: items[0..count); YAML_MAPPING: pairs[0..count) */
	struct yaml_node **items;
	struct yaml_pair *pairs;
	size_t count;
};

struct yaml_doc {
	const char *file;	/* the name used in error messages */
	struct yaml_node *root; /* NULL for an empty document */
	struct arena *arena;
};

/*
 * Parses the first document of data. Errors read
 * "<file>:<line>:<column>: <problem>". Duplicate mapping keys are an error.
 */
int yaml_parse(struct yaml_doc **out, const char *file, const char *data, size_t len,
	       struct err *e);
/* Parses every document of a multi-document stream (---). */
int yaml_parse_all(struct yaml_doc ***docs_out, size_t *count_out, const char *file,
		   const char *data, size_t len, struct err *e);
int yaml_load_file(struct yaml_doc **out, const char *path, struct err *e);
void yaml_doc_free(struct yaml_doc *doc);
/* Frees every document yaml_parse_all returned, and the array. */
void yaml_docs_free(struct yaml_doc **docs, size_t count);

/* Mapping lookup by key (NULL when not a mapping or absent). */
struct yaml_node *yaml_get(const struct yaml_node *map, const char *key);
/* True for a missing node or an unquoted null/~/empty scalar. */
bool yaml_is_null(const struct yaml_node *node);
/* The scalar's text, or NULL when node is not a scalar. */
const char *yaml_str(const struct yaml_node *node);
/* YAML 1.2 core booleans (true/false, case variants); -1 + err otherwise. */
int yaml_bool(const struct yaml_node *node, const char *file, bool *out, struct err *e);
/* Integers (decimal, 0x, 0o); -1 + err otherwise. */
int yaml_int(const struct yaml_node *node, const char *file, long long *out, struct err *e);
/* "file:line:column: <message>" for a node. Returns -1. */
int yaml_err(struct err *e, const char *file, const struct yaml_node *node, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
const char *yaml_kind_name(enum yaml_kind kind);

#endif
