/*
 * workflow: the pipeline model every loader produces and the executor runs.
 *
 * Ampel's native pipeline language is GitHub Actions' workflow syntax, so
 * the model follows it: a workflow of jobs, each a list of steps. A GitLab
 * CI file is translated into the same model (stages become `needs`, `when`
 * becomes `if`), so planning and execution exist once. Values that may hold
 * `${{ }}` expressions stay unevaluated text (or JSON for structured ones)
 * until the executor knows their contexts; line numbers are kept so errors
 * at run time still name the file and line.
 */
#ifndef AMPEL_PIPELINE_WORKFLOW_H
#define AMPEL_PIPELINE_WORKFLOW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum workflow_kind { WORKFLOW_GITHUB, WORKFLOW_GITLAB };

struct workflow_step {
	int line;
	char *id;	 /* NULL when the step has none (the executor names it) */
	char *name;	 /* display name; NULL: derived from run/uses */
	char *condition; /* `if:`; NULL: success() */
	/* Exactly one of run and uses. */
	char *run;
	char *uses;
	json_t *with;		 /* object of inputs (strings, unevaluated) or NULL */
	json_t *env;		 /* object name -> string (unevaluated) or NULL */
	char *shell;		 /* NULL: defaults.run.shell, then bash */
	char *working_directory; /* NULL: defaults.run.working-directory */
	char *continue_on_error; /* "true", "false" or an expression; NULL: false */
	char *timeout_minutes;	 /* number or expression; NULL: none */
};

struct workflow_job {
	int line;
	char *id;
	char *name;	 /* may hold expressions (matrix values); NULL: id */
	char *condition; /* `if:`; NULL: success() of every need */
	char **needs;
	size_t needs_count;
	json_t *runs_on;	 /* string/array/object as written, or NULL */
	json_t *env;		 /* object or NULL */
	json_t *defaults_run;	 /* {shell, working-directory} or NULL */
	json_t *outputs;	 /* object name -> expression text, or NULL */
	json_t *matrix;		 /* strategy.matrix: object, or string expression; NULL: none */
	char *fail_fast;	 /* strategy.fail-fast: "true"/"false"/expression; NULL: true */
	char *max_parallel;	 /* strategy.max-parallel; NULL: unlimited */
	char *timeout_minutes;	 /* NULL: 360, as GitHub */
	char *continue_on_error; /* NULL: false */
	json_t *container;	 /* container: as written, or NULL */
	json_t *services;	 /* services: as written, or NULL */
	char *environment;	 /* environment name (informational locally) */
	/* A reusable workflow call (`uses: ./.github/workflows/x.yml`) instead
	 * of steps: */
	char *uses;
	json_t *with;
	json_t *secrets; /* object, or the string "inherit", or NULL */
	struct workflow_step **steps;
	size_t steps_count;
	/* GitLab: files and directories handed to the jobs that come after
	 * (artifacts:paths); NULL for GitHub jobs. */
	char **artifact_paths;
	size_t artifact_paths_count;
};

/* One `on:` event with its filters (branches, tags, paths, types, inputs…). */
struct workflow_trigger {
	char *event;
	json_t *filters; /* object as written, or NULL */
};

struct workflow {
	enum workflow_kind kind;
	char *file; /* as given to the loader, for messages */
	char *name; /* NULL: the file name */
	struct workflow_trigger *triggers;
	size_t triggers_count;
	json_t *env;
	json_t *defaults_run;
	struct workflow_job **jobs; /* in file order */
	size_t jobs_count;
};

/* A local action's action.yml: composite steps or a Node program. */
struct workflow_action {
	char *file;
	char *dir;
	char *name;
	json_t *inputs;	 /* name -> {default, required, …} */
	json_t *outputs; /* name -> {value, …} */
	char *using;	 /* composite, node12/16/20/24, docker */
	char *main, *pre, *post, *pre_if, *post_if;
	struct workflow_job *composite; /* holds the composite's steps */
};

void workflow_free(struct workflow *wf);
void workflow_action_free(struct workflow_action *action);

struct workflow_job *workflow_find_job(const struct workflow *wf, const char *id);
const struct workflow_trigger *workflow_find_trigger(const struct workflow *wf, const char *event);

/* Small constructors the loaders share. */
struct workflow *workflow_new(enum workflow_kind kind, const char *file);
struct workflow_job *workflow_add_job(struct workflow *wf, const char *id, int line);
struct workflow_step *workflow_job_add_step(struct workflow_job *job, int line);
void workflow_job_add_need(struct workflow_job *job, const char *id);

#endif
