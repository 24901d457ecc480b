/*
 * check_internal: the compiled workflow-security rules, shared by the loader
 * (check_rules.c: parsing and validating config/workflow-security.yaml) and
 * the walker (check.c). Nothing outside these two files includes it.
 */
#ifndef AMPEL_GEN_CHECK_INTERNAL_H
#define AMPEL_GEN_CHECK_INTERNAL_H

#include "util/vec.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdbool.h>

struct yaml_node;

/*
 * The checks the walker knows. The rule file decides which run, how
 * severe they are, what they say and the patterns they use; the fields
 * each rule reads are listed in check_rules.c so that a misspelt one is an
 * error, not a check that silently matches nothing.
 */
enum check_id {
	CHECK_SCRIPT_INJECTION,
	CHECK_PR_TARGET_CHECKOUT,
	CHECK_SECRETS_ECHOED,
	CHECK_PERMISSIONS_WRITE_ALL,
	CHECK_PERMISSIONS_MISSING,
	CHECK_UNPINNED_ACTION,
	CHECK_ACTION_TAG_NOT_SHA,
	CHECK_IMAGE_UNPINNED,
	CHECK_SELF_HOSTED_RUNNER,
	CHECK_COUNT
};

#define CHECK_MAX_FIELDS 4

enum check_severity { SEVERITY_OFF, SEVERITY_WARNING, SEVERITY_ERROR };

struct check_rule {
	bool present;
	enum check_severity severity;
	char *message;
	char *fix;
	struct vec lists[CHECK_MAX_FIELDS]; /* pcre2_code * or char *, per field */
};

struct check_rules {
	struct check_rule rules[CHECK_COUNT];
	pcre2_match_context *match_context;
};

/* Field indexes, in the order check_specs (check_rules.c) lists them. */
enum {
	F_UNTRUSTED = 0,
	F_PR_TRIGGERS = 0,
	F_REF_PATTERNS = 1,
	F_RUN_PATTERNS = 2,
	F_ECHO_PATTERNS = 0,
	F_PRINT_PATTERNS = 1,
	F_DUMP_PATTERNS = 2,
	F_GITLAB_PATTERNS = 3,
	F_WORDS = 0,
};

/* The rule's id as the rule file spells it ("script-injection", ...). */
const char *check_rule_id(enum check_id id);
/* A mapping key's text; "" for the complex keys (? [a, b]) YAML allows. */
const char *check_key(const struct yaml_node *key);

#endif
