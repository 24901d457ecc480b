#include "api/tokens.h"

#include "api/api.h"
#include "api/api_internal.h"
#include "api/rbac.h"
#include "http/router.h"
#include "util/err.h"
#include "util/json.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_COLUMNS                                                                       \
	"SELECT id, user_id, name, scopes, project, expires_at, last_used_at, created_at, " \
	"revoked_at FROM api_tokens"

static void token_decode(json_t *row)
{
	json_t *scopes = json_loads(json_get_str(row, "scopes", "[]"), 0, NULL);
	json_object_set_new(row, "scopes", scopes ? scopes : json_array());
}

int tokens_create(struct store *store, const char *user_id, const char *name, const json_t *scopes,
		  const char *project, int64_t expires_at, char token[PASSWORDS_TOKEN_SIZE],
		  char id[STORE_ID_SIZE], struct err *e)
{
	char hash[PASSWORDS_TOKEN_HASH_SIZE];
	passwords_token_new("amp_", token);
	passwords_token_hash(token, hash);
	store_new_id(id);
	char *scope_text = json_dumps(scopes, JSON_COMPACT);
	struct store_param params[] = {
		STORE_TEXT_PARAM(id),
		STORE_TEXT_PARAM(user_id),
		STORE_TEXT_PARAM(name),
		STORE_TEXT_PARAM(hash),
		STORE_TEXT_PARAM(scope_text),
		project ? STORE_TEXT_PARAM(project) : STORE_NULL_PARAM,
		expires_at ? STORE_INT_PARAM(expires_at) : STORE_NULL_PARAM,
		STORE_INT_PARAM(store_now_ms()),
	};
	int rc = store_exec(
		store,
		"INSERT INTO api_tokens (id, user_id, name, token_hash, scopes, project, "
		"expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		params, 8, NULL, e);
	free(scope_text);
	return rc;
}

struct http_response tokens_create_from_request(struct http_request *req, struct api_context *ctx,
						const char *user_id, const char *user_name)
{
	json_t *body;
	struct http_response res;
	if (http_request_json(req, &body, &res) != 0)
		return res;
	const char *name = json_get_str(body, "name", NULL);
	json_t *scopes = json_object_get(body, "scopes");
	const json_t *project_value = json_object_get(body, "project");
	const char *project =
		json_is_string(project_value) ? json_string_value(project_value) : NULL;
	int64_t expires_at = 0;
	json_t *default_scopes = json_pack("[s]", "*");
	if (!scopes || json_is_null(scopes))
		scopes = default_scopes;
	if (!name || !*name || strlen(name) > 100) {
		res = http_response_error_detail(422, NULL, json_pack("{s:s}", "field", "name"),
						 "name must be a string of 1 to 100 characters");
	} else if (!api_permission_list_valid(scopes, false)) {
		res = http_response_error_detail(
			422, NULL, json_pack("{s:s}", "field", "scopes"),
			"scopes must be a non-empty list of \"resource:action\" strings (\"*\": "
			"everything the owner holds)");
	} else if (project_value && !json_is_null(project_value) && (!project || !*project)) {
		res = http_response_error_detail(422, NULL, json_pack("{s:s}", "field", "project"),
						 "project must be a non-empty string");
	} else if (api_read_expiry(body, store_now_ms(), &expires_at, &res) == 0) {
		char token[PASSWORDS_TOKEN_SIZE], id[STORE_ID_SIZE];
		struct err e = ERR_INIT;
		if (tokens_create(ctx->store, user_id, name, scopes, project, expires_at, token, id,
				  &e) != 0) {
			res = api_store_error(req, &e, "token");
		} else {
			api_audit(ctx, api_actor(req), "token.create", user_name,
				  json_pack("{s:s,s:s,s:O,s:s?,s:I}", "id", id, "name", name,
					    "scopes", scopes, "project", project, "expires_at",
					    (json_int_t)expires_at));
			json_t *out = json_pack("{s:s,s:s,s:s,s:O,s:s?,s:s}", "id", id, "name",
						name, "user_id", user_id, "scopes", scopes,
						"project", project, "token", token);
			json_object_set_new(out, "expires_at",
					    expires_at ? json_integer(expires_at) : json_null());
			res = http_response_json(201, out);
		}
		sodium_memzero(token, sizeof(token));
	}
	json_decref(default_scopes);
	json_decref(body);
	return res;
}

static struct http_response tokens_list(struct http_request *req)
{
	struct api_context *ctx = req->user_data;
	const struct api_caller *caller = api_caller(req);
	struct store_param user = STORE_TEXT_PARAM(caller->user_id);
	return api_list_page(req, ctx->store, TOKEN_COLUMNS " WHERE user_id = ?", &user, 1,
			     token_decode);
}

static struct http_response tokens_create_handler(struct http_request *req)
{
	const struct api_caller *caller = api_caller(req);
	return tokens_create_from_request(req, req->user_data, caller->user_id, caller->name);
}

static struct http_response tokens_revoke(struct http_request *req)
{
	struct api_context *ctx = req->user_data;
	const struct api_caller *caller = api_caller(req);
	const char *id = http_request_param(req, "id");
	struct store_param idp = STORE_TEXT_PARAM(id);
	json_t *row = NULL;
	struct err e = ERR_INIT;
	if (store_query_one(ctx->store, TOKEN_COLUMNS " WHERE id = ?", &idp, 1, &row, &e) != 0)
		return api_store_error(req, &e, "token");
	bool mine = row && strcmp(json_get_str(row, "user_id", ""), caller->user_id) == 0;
	if (!row || (!mine && !rbac_caller_can(req, ctx, "user:write", NULL))) {
		json_decref(row);
		return http_response_error(404, "no token %s of yours", id);
	}
	struct store_param params[] = { STORE_INT_PARAM(store_now_ms()), idp };
	if (store_exec(ctx->store,
		       "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
		       params, 2, NULL, &e) != 0) {
		json_decref(row);
		return api_store_error(req, &e, "token");
	}
	api_audit(ctx, caller->name, "token.revoke", json_get_str(row, "name", ""),
		  json_pack("{s:s,s:s}", "id", id, "user_id", json_get_str(row, "user_id", "")));
	json_decref(row);
	return http_response_empty(204);
}

/* The body schemas the routes below name (OpenAPI 3.0 schema objects; docs/http.md). */
static const struct http_schema_spec tokens_schemas[] = {
	{ "Token",
	  "{\"type\":\"object\","
	  "\"required\":[\"id\",\"user_id\",\"name\",\"scopes\",\"project\","
	  "\"expires_at\",\"last_used_at\",\"created_at\",\"revoked_at\"],\"properties\":{"
	  "\"id\":{\"type\":\"string\"},"
	  "\"user_id\":{\"type\":\"string\"},"
	  "\"name\":{\"type\":\"string\"},"
	  "\"scopes\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
	  "\"project\":{\"type\":\"string\",\"nullable\":true},"
	  "\"expires_at\":{\"type\":\"integer\",\"format\":\"int64\",\"nullable\":true},"
	  "\"last_used_at\":{\"type\":\"integer\",\"format\":\"int64\",\"nullable\":true},"
	  "\"created_at\":{\"type\":\"integer\",\"format\":\"int64\"},"
	  "\"revoked_at\":{\"type\":\"integer\",\"format\":\"int64\",\"nullable\":true}}}" },
	{ "TokenInput",
	  "{\"type\":\"object\","
	  "\"required\":[\"name\"],\"properties\":{"
	  "\"name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":100},"
	  "\"scopes\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"nullable\":true},"
	  "\"project\":{\"type\":\"string\",\"nullable\":true,\"minLength\":1},"
	  "\"expires_at\":{\"type\":\"integer\",\"format\":\"int64\",\"nullable\":true},"
	  "\"expires_in\":{\"type\":\"integer\",\"nullable\":true,\"minimum\":1,\"description\":"
	  "\"seconds\"}}}" },
	{ "NewToken",
	  "{\"type\":\"object\","
	  "\"required\":[\"id\",\"name\",\"user_id\",\"scopes\",\"project\","
	  "\"token\",\"expires_at\"],\"properties\":{"
	  "\"id\":{\"type\":\"string\"},"
	  "\"name\":{\"type\":\"string\"},"
	  "\"user_id\":{\"type\":\"string\"},"
	  "\"scopes\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
	  "\"project\":{\"type\":\"string\",\"nullable\":true},"
	  "\"token\":{\"type\":\"string\",\"description\":\"shown once\"},"
	  "\"expires_at\":{\"type\":\"integer\",\"format\":\"int64\",\"nullable\":true}}}" },
};

int tokens_register(struct http_router *router, struct api_context *ctx, struct err *e)
{
	const struct http_route_spec routes[] = {
		{ "GET /api/v1/tokens",
		  tokens_list,
		  { .summary = "List the caller's API tokens (never their values)",
		    .tags = "tokens",
		    .response_schema = "Token",
		    .permission = RBAC_SELF,
		    .paginated = true } },
		{ "POST /api/v1/tokens",
		  tokens_create_handler,
		  { .summary = "Create an API token for the caller (shown once)",
		    .tags = "tokens",
		    .request_schema = "TokenInput",
		    .response_schema = "NewToken",
		    .permission = RBAC_SELF,
		    .success_status = 201 } },
		{ "DELETE /api/v1/tokens/{id}",
		  tokens_revoke,
		  { .summary = "Revoke an API token",
		    .tags = "tokens",
		    .permission = RBAC_SELF,
		    .success_status = 204 } },
	};
	if (http_router_add_schemas(router, tokens_schemas,
				    sizeof(tokens_schemas) / sizeof(*tokens_schemas), e) != 0)
		return -1;
	if (http_router_add_all(router, routes, sizeof(routes) / sizeof(*routes), ctx, e) != 0)
		return -1;
	return 0;
}
