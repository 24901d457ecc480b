/*
 * rules_parser: what the two halves of the detection-rules loader share
 * (rules_load.c reads the file, the rules and their commands;
 * rules_signals.c reads each rule's signals and files their globs in the
 * set's index): the parser's state and the field readers whose errors
 * name file, line and rule id.
 */
#ifndef AMPEL_INTEL_RULES_PARSER_H
#define AMPEL_INTEL_RULES_PARSER_H

#include "intel/rules.h"
#include "intel/rules_internal.h"

#include <pcre2.h>
#include <stdbool.h>
#include <stddef.h>

struct err;
struct glob;
struct vec;
struct yaml_node;

struct parser {
	struct rule_set *set;
	const char *file;
	struct err *e;
	const struct yaml_node *rule_node; /* where a missing field is reported */
};

bool parser_name_in(const char *name, const char *const *list, size_t count);
#define PARSER_NAME_IN(name, list) parser_name_in(name, list, sizeof(list) / sizeof(*(list)))
/* Whether name is an ecosystem id rules may use (npm, pypi, cargo, ...). */
bool parser_known_ecosystem(const char *name);

/* A non-empty string scalar, or an error naming the field. */
int parser_string(struct parser *ps, const struct rule *r, const struct yaml_node *node,
		  const char *field, const char **out);
/* The i-th string of a field that holds one string or a list of them. */
const struct yaml_node *parser_list_item(const struct yaml_node *node, size_t i);
/* Checks a field holds a string or a non-empty list of strings; *count gets their number. */
int parser_string_list(struct parser *ps, const struct rule *r, const struct yaml_node *node,
		       const char *field, size_t *count);
/* Patterns are Perl syntax; content patterns see lines (^ and $ at each line). */
int parser_compile_pattern(struct parser *ps, const struct rule *r, const struct yaml_node *node,
			   bool multiline, pcre2_code **out);
int parser_compile_glob(struct parser *ps, const struct rule *r, const struct yaml_node *node,
			unsigned flags, struct glob **out);
/* Each glob of a field holding one or a list, into out (struct glob *). */
int parser_compile_globs(struct parser *ps, const struct rule *r, const struct yaml_node *node,
			 const char *field, struct vec *out);

/* Reads r's `signals:` list (rules_signals.c) and files their globs in the index. */
int parser_signals(struct parser *ps, struct rule *r, const struct yaml_node *signals);

#endif
