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
struct workers;

#define INTELLIGENCE_ANALYSIS_JOB "repository.analyze"

int api_intelligence_register(struct http_router *router, struct api_context *ctx, struct err *e);
int intelligence_register_workers(struct workers *workers, struct api_context *ctx, struct err *e);

#endif
