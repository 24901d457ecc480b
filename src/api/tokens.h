/*
 * tokens: API tokens and /api/v1/tokens.
 *
 * A token is shown once when created and kept as a hash; it carries scopes
 * (the permissions it may use, "*" for all its owner holds), an optional
 * project it is limited to, an optional expiry and the time it was last used.
 */
#ifndef AMPEL_API_TOKENS_H
#define AMPEL_API_TOKENS_H

#include <jansson.h>
#include <stdint.h>

#include "api/passwords.h"
#include "store/store.h"

struct api_context;
struct err;
struct http_request;
struct http_response;
struct http_router;

/* scopes: an array of permissions (borrowed); expires_at 0: never. */
int tokens_create(struct store *store, const char *user_id, const char *name, const json_t *scopes,
		  const char *project, int64_t expires_at, char token[PASSWORDS_TOKEN_SIZE],
		  char id[STORE_ID_SIZE], struct err *e);
/*
 * Handles a POST body {name, scopes, project, expires_in|expires_at} that
 * makes a token for user_id: 201 with the token (shown this once).
 */
struct http_response tokens_create_from_request(struct http_request *req, struct api_context *ctx,
						const char *user_id, const char *user_name);

int tokens_register(struct http_router *router, struct api_context *ctx, struct err *e);

#endif
