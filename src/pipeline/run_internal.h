/*
 * run_internal: the state the executor's parts share while a workflow runs.
 *
 * executor.c schedules jobs, step.c runs one job leg's steps, actions.c the
 * `uses:` steps, workspace.c the directories and copies. They meet here;
 * nothing outside src/pipeline includes this header.
 */
#ifndef AMPEL_PIPELINE_RUN_INTERNAL_H
#define AMPEL_PIPELINE_RUN_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "pipeline/executor.h"
#include "pipeline/expr.h"
#include "util/vec.h"

struct err;
struct mask;
struct workflow;
struct workflow_job;
struct workflow_step;

enum job_phase { JOB_PENDING, JOB_RUNNING, JOB_DONE };

struct leg;

/* One workflow job, possibly several matrix legs. */
struct job_state {
	struct workflow_job *job;
	enum job_phase phase;
	const char *result; /* success, failure, cancelled, skipped */
	bool allowed_failure;
	bool left_out; /* not selected with -j: neither run nor reported */
	json_t *outputs;
	struct leg **legs;
	size_t legs_count, legs_started, legs_running, legs_done;
	long max_parallel; /* 0: unlimited */
	bool fail_fast;
	atomic_int cancel; /* fail-fast or the whole run */
};

struct run {
	const struct workflow *wf;
	const struct run_options *opt;
	struct run *parent; /* a reusable workflow's caller, else NULL */
	const char *job_prefix;
	char *work_dir;
	char *artifacts_dir;
	char *cache_dir;
	struct mask *mask; /* shared with nested runs */
	json_t *github;	   /* the github context */
	json_t *inputs;
	json_t *secrets;
	json_t *env; /* the workflow's env, evaluated */
	struct job_state *jobs;
	size_t jobs_count;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	size_t legs_running;
	atomic_int cancel;
	atomic_int *run_id_counter;
};

/* One leg of a job: a matrix combination, or the job itself. */
struct leg {
	struct run *run;
	struct job_state *state;
	size_t index;
	json_t *matrix; /* the leg's values, or NULL */
	char *display;	/* "test (18, ubuntu-latest)" */
	pthread_t thread;
	atomic_int cancel;
	const char *result;
	bool continue_on_error; /* failed, but the job's continue-on-error held */
	json_t *outputs;
	json_t *report; /* this leg's JSON result */
};

/* The scope steps run in: a job, or a composite action inside it. */
struct step_scope {
	json_t *steps;		/* the steps context being filled */
	json_t *inputs;		/* the inputs context (a composite's own) */
	const char *action_dir; /* composite: github.action_path */
	json_t *reports;	/* array receiving step results */
	const char *label;	/* prefix for step names inside composites */
};

/* The runner files a step writes (GITHUB_ENV, GITHUB_OUTPUT, …). */
struct step_files {
	char *env, *output, *path, *state, *summary;
};

/* A leg's running state while its steps execute. */
struct leg_run {
	struct leg *leg;
	struct run *run;
	const struct workflow_job *job;
	char *dir;	 /* the leg's root */
	char *workspace; /* GITHUB_WORKSPACE */
	char *temp;	 /* RUNNER_TEMP */
	json_t *contexts;
	json_t *env;   /* workflow + job env + GITHUB_ENV additions */
	json_t *path;  /* GITHUB_PATH additions, most recent first */
	json_t *state; /* GITHUB_STATE of the current action, by step id */
	enum expr_status status;
	long long deadline_ms; /* the job's timeout-minutes, on the monotonic clock */
	struct vec post_steps; /* struct post_step *, run last-first after the steps */
	struct step_files files;
};

/* step.c */
int leg_execute(struct leg *leg);
int steps_execute(struct leg_run *lr, struct workflow_step **steps, size_t count,
		  struct step_scope *scope);
/* A reason the leg could not run its steps: shown, and kept in the report. */
void leg_fail(struct leg_run *lr, const char *message);
void expr_env_for(struct leg_run *lr, struct expr_env *env, json_t *contexts);

/* step_process.c: one process with the step environment; its output goes
 * through the masks and the workflow commands. */
struct step_process {
	const char *step_name;
	const char *step_id;
	char **argv;
	const char *cwd;
	json_t *env; /* extra NAME -> value on top of the leg's env */
	long timeout_ms;
	json_t *outputs;     /* receives set-output / GITHUB_OUTPUT */
	json_t *log;	     /* array of lines, for the report */
	bool command_failed; /* a refused workflow command that fails the step (set-env…) */
};
int step_process_run(struct leg_run *lr, struct step_process *sp, int *exit_code, bool *timed_out,
		     bool *cancelled);
/* A line to the sink (masked); leg_log_line also appends it to log. */
void leg_emit(struct leg_run *lr, const char *step, enum run_line_kind kind, const char *text);
void leg_log_line(struct leg_run *lr, json_t *log, const char *step, enum run_line_kind kind,
		  const char *text);
int step_files_make(struct leg_run *lr, struct err *e);
void step_files_free(struct step_files *files);
void argv_free(char **argv);

/* actions.c */
struct post_step {
	char *name;
	char **argv;
	char *condition; /* post-if */
	json_t *env;
};
/*
 * Runs a `uses:` step with its evaluated env and inputs. Returns the
 * step's exit code (0 success).
 */
int action_run(struct leg_run *lr, struct step_scope *scope, const struct workflow_step *step,
	       const char *step_name, const json_t *step_env, json_t *inputs, json_t *outputs,
	       json_t *log);
void post_step_free(void *item);
int actions_save_gitlab_artifacts(struct leg_run *lr, json_t *log);

/* workspace.c */
int workspace_copy_tree(const char *from, const char *to, struct err *e);
char *workspace_join(const char *dir, const char *rel);

/* executor.c, for reusable workflow calls made from a job */
int executor_call_workflow(struct leg_run *lr, json_t **outputs, json_t **called_jobs,
			   const char **result);
json_t *run_evaluate_value(const json_t *value, const struct expr_env *env, struct err *e);
json_t *run_evaluate_env(const json_t *env, const struct expr_env *expr_env, struct err *e);
json_t *run_job_contexts(struct run *run, const struct workflow_job *job);
/* value with a new reference, or a new empty object when it is NULL. */
json_t *json_or_empty_object(json_t *value);

#endif
