/*
 * api: what the server's API modules share.
 *
 * Each area of /api/v1 (auth and users, RBAC, secrets, audit…) is a module
 * that registers its routes on the router with one api_context; the guard
 * the auth module installs authenticates the caller and checks the route's
 * permission before any handler runs, and leaves the caller in
 * req->context for handlers to read with api_caller().
 */
#ifndef AMPEL_API_API_H
#define AMPEL_API_API_H

#include <jansson.h>
#include <stdbool.h>

#include "store/store.h"

struct err;
struct http_request;
struct http_router;
struct jobs;
struct workers;

struct api_context {
	struct store *store;
	struct jobs *jobs;
	struct workers *workers; /* woken after a job is queued; may be NULL (tests) */
	const char *data_dir;	 /* the master key file, cloned repositories */
};

/* The authenticated caller of a request, set by the auth guard. */
struct api_caller {
	char user_id[STORE_ID_SIZE];
	char *name;
	bool is_agent;
	char *token_id;	     /* the API token used, or NULL for a session */
	json_t *scopes;	     /* the token's scopes (array of "resource:action"), or NULL */
	char *token_project; /* the one project the token is restricted to, or NULL */
};

/* Every /api/v1 route: identity and access, secrets, audit, repositories… */
int api_register_all(struct http_router *router, struct api_context *ctx, struct err *e);
/* The handler of every background job kind the API queues. */
int api_register_workers(struct workers *workers, struct api_context *ctx, struct err *e);
/* After queueing a job: wakes a worker (when there are workers). */
void api_jobs_queued(struct api_context *ctx);

/* NULL on routes without authentication. */
const struct api_caller *api_caller(const struct http_request *req);

#endif
