/*
 * plan: what CI must do for a repository, before any provider's syntax.
 *
 * From the analysis and the templates: one job per project with a stack
 * the templates serve (runtime and version, install directory, caches,
 * the steps that exist, the paths that trigger it); the provider writers
 * only translate this into GitHub, GitLab, Bitbucket or Jenkins syntax.
 */
#ifndef AMPEL_GEN_PLAN_H
#define AMPEL_GEN_PLAN_H

#include <jansson.h>
#include <stdbool.h>

#include "util/vec.h"

struct buf;
struct err;
struct map;
struct ci_options;
struct ci_templates;
struct ci_runtime_template;
struct ci_pm_template;

enum plan_step_kind {
	PLAN_STEP_INSTALL,
	PLAN_STEP_LINT,
	PLAN_STEP_BUILD,
	PLAN_STEP_TEST,
	PLAN_STEP_AUDIT,
	PLAN_STEP_CUSTOM,
};

struct plan_step {
	enum plan_step_kind kind;
	char *name;	     /* "Install dependencies", "Lint", or the custom step's name */
	char *dir;	     /* where it runs, from the repository root ("." for the root) */
	struct vec commands; /* char *: one shell command each */
};

struct plan_job {
	char *id;	   /* "build" for a lone root job, else from the project path */
	char *path;	   /* the project's directory, "." for the root */
	char *install_dir; /* the workspace root for a workspace member, else path */
	char *description; /* "a Next.js app (typescript, pnpm)" */
	const struct ci_runtime_template *runtime;
	const struct ci_pm_template *pm; /* NULL when the project has none (commands only) */
	char *version;			 /* resolved, e.g. "20.11.0" or "22" */
	/* A second runtime some commands need (Node.js for Laravel's Vite build). */
	const struct ci_runtime_template *companion;
	char *companion_version;
	struct vec versions;	/* char *: --matrix versions (just version without) */
	struct map *vars;	/* placeholder -> value, version-independent ones */
	struct vec image_setup; /* char *: commands an image needs first, {version} filled */
	json_t *env;		/* object: variables for the job (may be empty) */
	/* caching (with --cache) */
	struct vec cache_paths;	    /* char *: as the template says, {prefix} filled */
	struct vec cache_key_files; /* char *: repository-relative lock files */
	json_t *cache_env;	    /* object: variables moving caches into the project */
	bool github_builtin_cache;  /* the setup action caches: no actions/cache step */
	struct vec steps;	    /* struct plan_step * */
	char *coverage_path;	    /* repository-relative, with --coverage, or NULL */
	/* Changes that trigger the job; both empty = every change. */
	struct vec include_paths; /* char *: globs under the project, workspace lock files */
	struct vec exclude_paths; /* char *: the other projects, for a root job */
};

struct ci_plan {
	const struct ci_templates *templates;
	struct vec jobs; /* struct plan_job * */
	bool filtered;	 /* several jobs, each triggered by changes under its path */
	bool secret_scan;
	bool cache;
	bool matrix;
	bool coverage;
	struct vec branches; /* char * */
	char *description;   /* what the files are generated from, for headers */
	struct vec skipped;  /* char *: "tools/x: zig (no template)" */
};

/*
 * Builds the plan. Returns 0, -1 with e on a bad option (a custom step
 * without "name=command"), or GEN_UNSUPPORTED with e naming what was
 * detected when no project has a stack the templates serve.
 */
int ci_plan_build(struct ci_plan **out, const json_t *analysis,
		  const struct ci_templates *templates, const struct ci_options *options,
		  struct err *e);
void ci_plan_free(struct ci_plan *plan);

/* The image for the job at version (malloc'd): "node:20.11.0", "rust:1". */
char *ci_plan_image(const struct plan_job *job, const char *version);
/*
 * Fills a template (GitHub steps) for the job; version is the version or
 * an expression (GitHub's "${{ matrix.version }}"). NULL with e when it
 * names a placeholder that does not exist.
 */
json_t *ci_plan_expand(const struct plan_job *job, const json_t *tmpl, const char *version,
		       struct err *e);
/* The companion runtime's GitHub setup steps (no caching), or NULL with e. */
json_t *ci_plan_expand_companion(const struct plan_job *job, struct err *e);
/* Environment values may hold {cache_root} (where the provider keeps the project). */
char *ci_plan_expand_env(const char *value, const char *cache_root);
/* Project-relative cache directories named by the cache environment ({cache_root}/x). */
void ci_plan_local_cache_paths(const struct plan_job *job, struct vec *out);

/*
 * Appends the job's step commands to a shell script (one shell for the
 * whole job), with a `cd "$<root_var>/<dir>"` wherever a step's directory
 * changes: GitLab's and Bitbucket's jobs both run that way.
 */
void ci_plan_append_commands(json_t *script, const struct plan_job *job, const char *root_var);

/*
 * The opening comment of a generated file: gen_header's lines for what
 * (the plan's description or one job's), then the projects left out.
 */
void ci_plan_header(struct buf *out, const struct ci_plan *plan, const char *prefix,
		    const char *command, const char *what);

#endif
