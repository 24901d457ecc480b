/*
 * rules_internal: the compiled form of detection rules, shared by the
 * loader (rules_load.c: parsing, validation, compilation) and the
 * evaluator (rules.c). Nothing outside these two files includes it.
 */
#ifndef AMPEL_INTEL_RULES_INTERNAL_H
#define AMPEL_INTEL_RULES_INTERNAL_H

#include "intel/project.h"
#include "util/vec.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdbool.h>
#include <stddef.h>

struct glob;
struct map;

/* A rule file's pattern runs on untrusted files: bound its backtracking. */
#define RULES_MATCH_LIMIT 10000000u

enum signal_type { SIGNAL_FILE, SIGNAL_DEPENDENCY, SIGNAL_CONTENT, SIGNAL_JSON, SIGNAL_SCRIPT };
#define SIGNAL_TYPES 5

enum dependency_dev { DEV_ANY, DEV_ONLY, DEV_NEVER };

struct rule_signal {
	enum signal_type type;
	struct rule *rule;
	size_t index; /* in the set: the slot of per-apply state */
	double weight;
	struct vec globs;	 /* struct glob *: file globs, or the `in` files */
	struct vec names;	 /* char *: dependency names */
	struct vec name_globs;	 /* struct glob * (or NULL for a plain name), per name */
	struct vec script_names; /* struct glob *: the `in` scripts of a script signal */
	enum dependency_dev dev;
	const char *ecosystem; /* the signal's or the rule's; points into either */
	char *own_ecosystem;
	char *pattern; /* content/json/script pattern text */
	pcre2_code *re;
	char *key_path; /* json */
	char *describe;
};

struct command_alternative {
	char *run; /* NULL: explicitly no command */
	char *when_file;
	struct glob *when_glob;
	char *when_dependency;
	char *when_target;  /* a Makefile target (see makefile.h) */
	char *when_content; /* a pattern matched against the files of `in` */
	pcre2_code *when_re;
	struct vec when_in;			  /* struct glob *, relative to the project */
	const pcre2_match_context *match_context; /* the rule set's */
	bool when_entry_point; /* run names an entry point's placeholder ({go_command}) */
};

/* Whether alt names no condition (it may still name an entry point). */
static inline bool command_alternative_unconditional(const struct command_alternative *alt)
{
	return !alt->when_file && !alt->when_dependency && !alt->when_target && !alt->when_content;
}

struct rule {
	char *id;
	char *name;
	char *ecosystem;
	char *language;
	enum finding_kind kind;
	unsigned also_kinds; /* bit per enum finding_kind */
	bool repository;
	bool report_first;
	bool inherit;
	enum rule_front_end front_end;
	int port;
	int line;
	size_t index;
	struct vec signals; /* struct rule_signal * */
	struct vec implies; /* struct rule * */
	struct vec excludes;
	struct vec overrides;
	struct command_alternative *commands[COMMAND_KINDS];
	size_t command_counts[COMMAND_KINDS];
	struct map *vars;
	struct vec targets_in; /* char *: the files `when_target` reads; none: the Makefile */
	/* Only while parsing: the lists that name other rules, resolved at the end. */
	const struct yaml_node *relation_nodes[3];
};

/*
 * One glob of one signal, filed under the last path component it can match.
 * head and tail are the literal start and end of that component ("Dockerfile."
 * and "" for "Dockerfile.*"): a file name that lacks them is skipped without
 * running the glob.
 */
struct glob_ref {
	struct rule_signal *signal;
	const struct glob *glob;
	char *head;
	char *tail;
};

struct glob_index {
	struct map *by_name; /* base name -> struct vec * of glob_ref */
	struct map *by_ext;  /* ".yml" -> struct vec * of glob_ref */
	struct vec general;  /* glob_ref * that no key narrows */
};

struct rule_set {
	struct vec rules;  /* struct rule *, file order */
	struct map *by_id; /* id -> struct rule * */
	struct vec order;  /* project rules, each before the rules it implies */
	size_t signal_count;
	double threshold;
	struct glob_index project_index;
	struct glob_index repository_index;
	struct vec refs; /* owns the glob_refs */
	pcre2_match_context *match_context;
	struct vec script_fallbacks[COMMAND_KINDS]; /* char *: `script_fallbacks:` */
	struct vec image_programs;		    /* struct image_program *: `image_programs:` */
};

/* An official image whose entrypoint runs its program before a CMD's arguments. */
struct image_program {
	char *image;	  /* normalized name: node, denoland/deno */
	char *program;	  /* what the entrypoint puts first: node, deno */
	struct vec first; /* char *: globs of the CMD's first word it does it for */
};

#endif
