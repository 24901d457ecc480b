/*
 * gitlab: translates a .gitlab-ci.yml into the pipeline model.
 *
 * `ampel run` executes one model (GitHub Actions' shape), so a GitLab CI
 * file is turned into it at load time: stages become `needs`, `when`
 * becomes `if`, extends/!reference/include are resolved, and rules,
 * only/except and workflow:rules are decided here against the variables a
 * GitLab pipeline for the given ref and source would have. Manual, delayed
 * and trigger jobs cannot run unattended, so they are left out.
 */
#ifndef AMPEL_PIPELINE_GITLAB_H
#define AMPEL_PIPELINE_GITLAB_H

#include <stddef.h>

struct err;
struct workflow;

/* What GitLab would know about the pipeline; every field may be NULL. */
struct gitlab_context {
	const char *repo_dir;	    /* for rules:exists and include:local */
	const char *branch;	    /* CI_COMMIT_BRANCH; NULL on tag pipelines */
	const char *tag;	    /* CI_COMMIT_TAG or NULL */
	const char *default_branch; /* CI_DEFAULT_BRANCH, e.g. "main" */
	const char *
		pipeline_source; /* push (NULL), merge_request_event, web, schedule, api, trigger */
	const char *commit_sha;
	const char *const *variables; /* extra "NAME=VALUE", NULL-terminated, may be NULL */
};

/*
 * Parses data (a GitLab CI file named file, for messages) into a workflow of
 * kind WORKFLOW_GITLAB. A pipeline that workflow:rules stop, or whose jobs
 * are all excluded, is a workflow with zero jobs (not an error). Errors read
 * "file:line:column: message". ctx may be NULL (a push to no known branch).
 * Without ctx->repo_dir, rules:exists counts as true and include:local fails.
 */
int gitlab_parse(struct workflow **out, const char *file, const char *data, size_t len,
		 const struct gitlab_context *ctx, struct err *e);
/* Reads path; local includes resolve against ctx->repo_dir, else path's directory. */
int gitlab_load(struct workflow **out, const char *path, const struct gitlab_context *ctx,
		struct err *e);

#endif
