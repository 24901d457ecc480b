/*
 * rules: detection rules (frameworks, package managers, tools, CI, CD,
 * containers) loaded from config/detection-rules.yaml and applied to a scan.
 *
 * Knowledge is data: a rule names the signals that prove a technology
 * (files, dependencies, file contents, manifest fields, scripts) with a
 * weight each, plus what downstream needs to know about it (default port,
 * command templates). This module validates rules at load, compiles every
 * glob and pattern once, and turns matched signals into project findings.
 * The rule-file format is documented at the top of the YAML file.
 */
#ifndef AMPEL_INTEL_RULES_H
#define AMPEL_INTEL_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "intel/project.h"

struct arena;
struct buf;
struct err;
struct map;
struct scan;

struct rule_set;
struct rule;

/* Loads detection-rules.yaml (embedded, or from the --config-dir override). */
int rules_load(struct rule_set **out, struct err *e);
/* Parses and validates a rule file from memory; file names it in errors. */
int rules_parse(struct rule_set **out, const char *file, const char *data, size_t len,
		struct err *e);
void rules_free(struct rule_set *rules);

/*
 * Applies the project-scope rules to p. Signals see the files the project
 * owns (scan_file->project == p, which the caller assigns first), with
 * paths relative to p->dir, and p's dependencies and scripts. Findings under
 * the rule set's threshold are dropped; each finding's rule is set. When
 * p sits inside a workspace root that lists it as a member, rules marked
 * `inherit` (package managers) carry over from that root, which must have
 * been applied first. Unreadable files become scan warnings; returns 0.
 */
int rules_apply_project(const struct rule_set *rules, struct project *p, struct scan *scan,
			struct arena *arena);
/*
 * Applies the repository-scope rules (CI, CD, containers) to every file of
 * the repository that is not vendored, with paths from the root. Adds one
 * finding per (rule, path) to root, with finding->path set; rules marked
 * `report: first` add only the first path (in path order). Returns 0.
 */
int rules_apply_repository(const struct rule_set *rules, struct project *root, struct scan *scan,
			   struct arena *arena);

/* Rules of the set, in file order. */
size_t rules_count(const struct rule_set *rules);
const struct rule *rules_get(const struct rule_set *rules, size_t i);
/* The rule with that id, or NULL. */
const struct rule *rules_find(const struct rule_set *rules, const char *id);
/* The confidence under which findings are dropped (`threshold:`, default 0.3). */
double rules_threshold(const struct rule_set *rules);

const char *rule_id(const struct rule *rule);
const char *rule_name(const struct rule *rule);
enum finding_kind rule_kind(const struct rule *rule);
/* Dependency ecosystem ("npm", "pypi", ...) or language id; NULL when none. */
const char *rule_ecosystem(const struct rule *rule);
const char *rule_language(const struct rule *rule);
/* The framework's default port; 0 when it has none. */
int rule_port(const struct rule *rule);
/*
 * What a framework's app is in a browser (`front_end:`): by default it
 * serves itself (Next.js, Express); a dev-server app (React, Vue) runs its
 * own dev-server script when it has no start; an unless-start one does
 * too, unless the rule's own start applies to the project (SvelteKit
 * serves itself only through its Node adapter).
 */
enum rule_front_end { FRONT_END_NONE, FRONT_END_DEV_SERVER, FRONT_END_UNLESS_START };
enum rule_front_end rule_front_end(const struct rule *rule);
/*
 * The files, first found wins, whose targets the rule's `when_target`
 * alternatives weigh (`targets_in:`, a Taskfile); empty for the Makefile.
 */
const struct vec *rule_targets_in(const struct rule *rule);
/*
 * The scripts a project without a script named after the command runs
 * instead, in order (`script_fallbacks:`: start:prod for start), as a vec
 * of char *.
 */
const struct vec *rules_script_fallbacks(const struct rule_set *rules, enum command_kind kind);
/*
 * The program an official image's entrypoint puts before a command whose
 * first word is first (`image_programs:`): `FROM denoland/deno` with
 * `CMD ["run", "main.ts"]` runs `deno run main.ts`. image is normalized
 * (no registry, `library/` or tag); NULL when the image runs CMD as is.
 */
const char *rules_image_program(const struct rule_set *rules, const char *image, const char *first);
/*
 * A command template: the alternative without a condition, or NULL.
 * rule_project_command also weighs the conditional alternatives
 * (`when_file`, relative to p->dir, among p's files; `when_dependency`;
 * `when_content`, a pattern one of p's files matched by `in` holds)
 * in order and returns the first that holds, else the unconditional one.
 * An alternative naming an entry point's placeholder ({go_command}) holds
 * only when vars has its value: "the Go program under cmd/" gives way when
 * there is none (and always when vars is NULL).
 */
const char *rule_command(const struct rule *rule, enum command_kind kind);
const char *rule_project_command(const struct rule *rule, enum command_kind kind,
				 const struct project *p, const struct scan *scan,
				 const struct map *vars);
/*
 * The alternatives conditioned on one of the project's own task targets
 * (`when_target`) are its scripts, weighed before any finding's template
 * and skipped by rule_project_command: the first whose target holds
 * (holds(target, kind, ctx)), or NULL.
 */
typedef bool (*rule_target_fn)(const char *target, enum command_kind kind, void *ctx);
const char *rule_target_command(const struct rule *rule, enum command_kind kind,
				rule_target_fn holds, void *ctx);
/* Whether rule names other among its `implies` (Next.js implies React). */
bool rule_implies(const struct rule *rule, const struct rule *other);
/*
 * Whether another finding of p implies f: f is then the more general one
 * (React under Next.js), and the specific one decides ports and commands.
 */
bool finding_is_implied(const struct project *p, const struct finding *f);
/* A rule's `vars:` value (e.g. a package manager's "run", "exec"), or NULL. */
const char *rule_var(const struct rule *rule, const char *name);

/*
 * Expands the placeholders of a command template ({run} {exec} {port}
 * {module} {app} {name} {main} ...; see detection-rules.yaml) from vars
 * (name -> const char *) into out. A value of "" also swallows the space
 * after the placeholder, so "{exec} pytest" with exec "" reads "pytest".
 * `${...}` is shell syntax and is kept. Returns 0 when every placeholder
 * had a value, -1 (out then keeps the unknown ones as written) otherwise.
 */
int rules_expand(const char *template_text, const struct map *vars, struct buf *out);

#endif
