/*
 * executor: runs a workflow on this machine, job by job, step by step.
 *
 * This is the engine behind `ampel run` and, later, the server's pipelines:
 * it schedules jobs as a DAG of `needs` with a concurrency limit, expands
 * matrices, gives every job leg its own workspace and process group, runs
 * `run:` steps and actions, applies the runner's file and stdout protocols,
 * masks secrets in everything it reports, and returns the results as one
 * JSON document. It holds no CLI code: output goes to a log sink.
 */
#ifndef AMPEL_PIPELINE_EXECUTOR_H
#define AMPEL_PIPELINE_EXECUTOR_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "pipeline/trigger.h"

struct err;
struct workflow;

enum run_line_kind {
	RUN_LINE_OUTPUT,     /* a line a step printed */
	RUN_LINE_STEP_START, /* text: the step's name */
	RUN_LINE_STEP_END,   /* text: "<conclusion> <name>" */
	RUN_LINE_GROUP,	     /* ::group:: title */
	RUN_LINE_ANNOTATION, /* ::error:: / ::warning:: / ::notice:: rendered */
	RUN_LINE_INFO,	     /* the engine's own messages (skips, reasons) */
};

/* Receives every line as it happens, already masked; called from job threads. */
typedef void run_line_fn(void *ctx, const char *job, const char *step, enum run_line_kind kind,
			 const char *text);

struct run_options {
	const char *repo_dir; /* the repository the workflow belongs to */
	/* Where job workspaces, artifacts and temp files go; NULL: a fresh
	 * directory under $TMPDIR, removed after the run unless keep_work. */
	const char *work_dir;
	bool keep_work;
	/* actions/cache storage, kept between runs; NULL: $XDG_CACHE_HOME/ampel/actions-cache. */
	const char *cache_dir;

	struct trigger_event event;
	json_t *event_payload; /* github.event; NULL: a minimal one is built */
	const char *sha;       /* github.sha */
	const char *actor;
	const char *repository; /* owner/name */

	json_t *inputs;	 /* --input: object of strings */
	json_t *secrets; /* object of strings; every value is masked */
	json_t *vars;	 /* object of strings */
	json_t *env;	 /* --env: extra environment for every step */

	const char *only_job; /* -j: run this job (and what it needs) */
	int max_parallel;     /* concurrent job legs; 0: 4 */
	bool dry_run;	      /* plan and evaluate conditions, run nothing */
	bool host;	      /* run `container:` jobs on the host instead of failing */
	/* Run every step under bubblewrap: the file system read-only except the
	 * leg's own directory, the artifact and cache stores and a private /tmp;
	 * own PID, IPC and UTS namespaces. The network stays. */
	bool sandbox;
	const atomic_int *cancel;

	run_line_fn *on_line;
	void *line_ctx;
};

/*
 * Runs wf. Returns 0 when the run happened (whatever its conclusion, which
 * is in *result: {"conclusion", "jobs": [...]}) and -1 with e set when it
 * could not start (bad inputs, a workspace that cannot be made).
 */
int pipeline_run(const struct workflow *wf, const struct run_options *options, json_t **result,
		 struct err *e);

#endif
