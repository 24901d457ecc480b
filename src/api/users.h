/*
 * users: people and agent identities, and /api/v1/users, /api/v1/agents.
 *
 * A user is a person (kind "human", logs in with a password) or an agent
 * (kind "agent", created by a person, no password, acts through its own
 * API tokens with what was delegated to it).
 */
#ifndef AMPEL_API_USERS_H
#define AMPEL_API_USERS_H

#include <jansson.h>

#include "store/store.h"

struct api_context;
struct err;
struct http_router;

/* The user with this id or name (no password hash), or *row = NULL. */
int users_find(struct store *store, const char *id_or_name, json_t **row, struct err *e);
/*
 * Creates a user. password NULL for agents. A name or email taken fails with
 * a conflict (store_error_is_conflict).
 */
int users_create(struct store *store, const char *name, const char *email, const char *password,
		 const char *kind, const char *created_by, char id[STORE_ID_SIZE], struct err *e);
/* Binds the system role `role` globally to user_id. */
int users_bind_role(struct store *store, const char *user_id, const char *role,
		    const char *created_by, struct err *e);

int users_register(struct http_router *router, struct api_context *ctx, struct err *e);

#endif
