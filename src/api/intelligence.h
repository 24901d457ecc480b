/*
 * intelligence: analyses of repositories and the CI/CD suggestions made
 * from them, over /api/v1/repositories/{id}/analysis, …/suggestions and
 * /api/v1/suggestions/{id}/apply.
 *
 * An analysis runs as a background job (the same library as `ampel
 * analyze`); suggestions for what the analysis says is missing are made
 * from it with the generators of `ampel generate`; applying one commits its
 * files on a new branch of the repository without touching any checkout.
 */
#ifndef AMPEL_API_INTELLIGENCE_H
#define AMPEL_API_INTELLIGENCE_H

struct api_context;
struct err;
struct http_router;
struct jobs_job;
struct workers;

/* Job kind of an analysis; payload {repository_id, requested_by}. */
#define INTELLIGENCE_ANALYSIS_JOB "repository.analyze"

int api_intelligence_register(struct http_router *router, struct api_context *ctx, struct err *e);
/* Registers intelligence_run_analysis as the handler of INTELLIGENCE_ANALYSIS_JOB. */
int intelligence_register_workers(struct workers *workers, struct api_context *ctx, struct err *e);

/*
 * Runs one analysis job: analyses the repository's working tree, stores
 * the analysis (keyed by the job's id) and its suggestions in one
 * transaction. Idempotent: a job that already left its analysis is done
 * again without a second one. A repository deleted meanwhile is not an
 * error (there is nothing left to analyse).
 */
int intelligence_run_analysis(struct api_context *ctx, const struct jobs_job *job, struct err *e);

#endif
