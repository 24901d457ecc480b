/*
 * repositories: the git repositories the server works on, and
 * /api/v1/repositories.
 *
 * A repository is registered by a local path (used in place) or by a git
 * URL (cloned by a background job into <data_dir>/repositories/<id>). Its
 * id is also its RBAC project: the creator is bound the "owner" role in
 * it, and a caller sees only the repositories it may read (what it owns,
 * what it was granted in, or all with a global grant).
 */
#ifndef AMPEL_API_REPOSITORIES_H
#define AMPEL_API_REPOSITORIES_H

#include <jansson.h>

struct api_context;
struct err;
struct http_router;
struct workers;

/* Job kind that clones a repository registered by URL. */
#define REPOSITORIES_CLONE_JOB "repository.clone"

/*
 * One repository as a row of the repositories table (id, name, owner_id,
 * source_kind, source, path — the working tree —, default_branch, state,
 * error, created_at, updated_at); *row NULL when there is none.
 */
int repositories_get(struct api_context *ctx, const char *id, json_t **row, struct err *e);

/* /api/v1/repositories (permissions project:read, project:write). */
int api_repositories_register(struct http_router *router, struct api_context *ctx, struct err *e);
/* The clone job's handler. */
int repositories_register_workers(struct workers *workers, struct api_context *ctx, struct err *e);

#endif
