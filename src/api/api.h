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

struct http_request;
struct jobs;

struct api_context {
	struct store *store;
	struct jobs *jobs;
	const char *data_dir; /* where the master key file lives */
};

/* The authenticated caller of a request, set by the auth guard. */
struct api_caller {
	char user_id[STORE_ID_SIZE];
	char *name;
	bool is_agent;
	char *token_id; /* the API token used, or NULL for a session */
	json_t *scopes; /* the token's scopes (array of "resource:action"), or NULL */
};

/* NULL on routes without authentication. */
const struct api_caller *api_caller(const struct http_request *req);

#endif
