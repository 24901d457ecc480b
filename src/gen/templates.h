/*
 * templates: config/ci-templates.yaml, the knowledge of how each CI
 * provider sets up, caches, audits and measures a stack, loaded and
 * validated (file:line errors) so the CI writers stay free of ecosystem facts.
 */
#ifndef AMPEL_GEN_TEMPLATES_H
#define AMPEL_GEN_TEMPLATES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/vec.h"

struct arena;
struct err;
struct map;

/* A version taken from another runtime key of the analysis (OTP for Elixir). */
struct ci_variable {
	const char *name;
	const char *runtime;
	const char *default_value;
};

struct ci_runtime_template {
	const char *id;
	const char *name;     /* "Node.js" */
	struct vec languages; /* const char *: primary languages it serves */
	const char *default_version;
	struct vec versions;	    /* const char *: known good versions, oldest first */
	const char *image;	    /* "node:{version}" */
	struct map *image_versions; /* version -> image tag ("stable" -> "1"), or NULL */
	struct vec image_setup;	    /* const char *: commands an image needs first */
	struct vec variables;	    /* struct ci_variable * */
	struct vec tools;	    /* const char *: commands that belong to this runtime */
	/* Installs it into another runtime's (Debian) image, when a project needs
	 * both (Laravel's Vite build on PHP). */
	struct vec companion_image_setup;
	json_t *github; /* array of setup steps */
};

struct ci_pm_template {
	const char *id;
	struct vec runtimes; /* const char *: candidates, see ci-templates.yaml */
	const char *default_version;
	struct vec lock_files; /* const char *: relative to the install directory */
	const char *lock_proven_by;
	const char *install;   /* as a companion, where the analysis names none */
	const char *image;     /* overrides the runtime's image, or NULL */
	json_t *github_before; /* steps before the runtime's setup, or NULL */
	json_t *github_after;  /* steps after it, or NULL */
	struct vec image_setup;
	json_t *env; /* object: variables every job of this stack gets, or NULL */
	/* cache */
	struct vec cache_paths;	  /* "~/.npm", "{prefix}target" */
	json_t *cache_env;	  /* object: variables redirecting caches into the project */
	const char *cache_github; /* the setup action's cache id, or NULL */
	struct vec cache_github_files;
	bool cache_builtin; /* the setup action caches by itself ({cache_enabled}) */
	struct vec audit;   /* const char *: commands */
	const char *coverage;
	const char *coverage_when;
	const char *coverage_path;
	bool workspace_root; /* one job at the workspace root, not per member */
};

struct ci_templates {
	struct arena *arena;
	long timeout_minutes;
	struct vec default_branches; /* const char * */
	const char *github_runner;
	struct vec github_matrix_os;
	const char *checkout;
	const char *cache_action;
	const char *upload_action;
	json_t *secret_scan_github; /* array of steps */
	const char *secret_scan_image;
	struct vec secret_scan_commands;
	struct vec runtimes;	     /* struct ci_runtime_template * */
	struct vec package_managers; /* struct ci_pm_template * */
	struct vec json_values;	     /* json_t * to release */
};

/* Loads config/ci-templates.yaml (or its override in the config directory). */
int ci_templates_load(struct ci_templates **out, struct err *e);
int ci_templates_parse(struct ci_templates **out, const char *file, const char *data, size_t len,
		       struct err *e);
void ci_templates_free(struct ci_templates *templates);

const struct ci_runtime_template *ci_templates_runtime(const struct ci_templates *templates,
						       const char *id);
const struct ci_pm_template *ci_templates_pm(const struct ci_templates *templates, const char *id);
/* The runtime whose `tools` list names tool, or NULL. */
const struct ci_runtime_template *ci_templates_tool_owner(const struct ci_templates *templates,
							  const char *tool);

/*
 * The version a setup action or image should use for what the project
 * declared: an exact version stays ("20.11.0"), a range takes the newest
 * known version it allows (">=3.10,<3.13" -> "3.12", "^18.2" -> "18"), and
 * nothing usable gives the template's default. *exact tells which. The
 * string is malloc'd.
 */
char *ci_runtime_resolve_version(const struct ci_runtime_template *runtime, const char *declared,
				 bool *exact);
/* The versions --matrix tests (const char *, malloc'd), oldest first, resolved included. */
void ci_runtime_matrix_versions(const struct ci_runtime_template *runtime, const char *declared,
				const char *resolved, struct vec *out);

/*
 * Placeholder expansion. lookup returns a placeholder's value or NULL when
 * it has none. Text with an unknown placeholder or one without value gives
 * NULL from ci_expand_text. ci_expand_json copies a template value: a string
 * made only of placeholders that expand to "" is dropped with its key (or
 * array slot), "{cache_enabled}"-like strings that expand to true/false
 * become booleans, and an unknown placeholder is an error (NULL).
 */
typedef const char *ci_lookup_fn(void *ctx, const char *name);
char *ci_expand_text(const char *text, ci_lookup_fn *lookup, void *ctx);
json_t *ci_expand_json(const json_t *value, ci_lookup_fn *lookup, void *ctx);

/* Compares dotted numeric versions ("1.10" > "1.9"); non-numbers sort first. */
int ci_version_compare(const char *a, const char *b);

#endif
