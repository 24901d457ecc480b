#include "api/users.h"

#include "api/api.h"
#include "api/api_internal.h"
#include "api/passwords.h"
#include "api/rbac.h"
#include "api/tokens.h"
#include "http/router.h"
#include "util/err.h"
#include "util/json.h"

#include <stdlib.h>
#include <string.h>

#define USER_COLUMNS "SELECT id, name, email, kind, created_by, created_at, disabled FROM users"

static void user_decode(json_t *row)
{
	json_object_set_new(row, "disabled", json_boolean(json_get_int(row, "disabled", 0) != 0));
}

int users_find(struct store *store, const char *id_or_name, json_t **row, struct err *e)
{
	struct store_param params[] = { STORE_TEXT_PARAM(id_or_name),
					STORE_TEXT_PARAM(id_or_name) };
	if (store_query_one(store, USER_COLUMNS " WHERE id = ? OR name = ?", params, 2, row, e) !=
	    0)
		return -1;
	if (*row)
		user_decode(*row);
	return 0;
}

int users_create(struct store *store, const char *name, const char *email, const char *password,
		 const char *kind, const char *created_by, char id[STORE_ID_SIZE], struct err *e)
{
	char hash[PASSWORDS_HASH_SIZE] = "";
	if (password && passwords_hash(password, hash, e) != 0)
		return -1;
	store_new_id(id);
	struct store_param params[] = {
		STORE_TEXT_PARAM(id),
		STORE_TEXT_PARAM(name),
		email ? STORE_TEXT_PARAM(email) : STORE_NULL_PARAM,
		STORE_TEXT_PARAM(kind),
		password ? STORE_TEXT_PARAM(hash) : STORE_NULL_PARAM,
		created_by ? STORE_TEXT_PARAM(created_by) : STORE_NULL_PARAM,
		STORE_INT_PARAM(store_now_ms()),
	};
	return store_exec(store,
			  "INSERT INTO users (id, name, email, kind, password_hash, created_by, "
			  "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
			  params, 7, NULL, e);
}

int users_bind_role(struct store *store, const char *user_id, const char *role,
		    const char *created_by, struct err *e)
{
	char id[STORE_ID_SIZE];
	store_new_id(id);
	struct store_param params[] = {
		STORE_TEXT_PARAM(id),
		STORE_TEXT_PARAM(user_id),
		created_by ? STORE_TEXT_PARAM(created_by) : STORE_NULL_PARAM,
		STORE_INT_PARAM(store_now_ms()),
		STORE_TEXT_PARAM(role),
	};
	return store_exec(store,
			  "INSERT INTO role_bindings (id, user_id, role_id, project, created_by, "
			  "created_at) SELECT ?, ?, r.id, NULL, ?, ? FROM roles r WHERE r.name = ?",
			  params, 5, NULL, e);
}

static bool name_valid(const char *name)
{
	if (!name || !*name || strlen(name) > 64)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
			return false;
	return true;
}

static struct http_response user_respond(struct http_request *req, struct api_context *ctx,
					 const char *id, int status)
{
	json_t *row = NULL;
	struct err e = ERR_INIT;
	if (users_find(ctx->store, id, &row, &e) != 0 || !row)
		return api_store_error(req, &e, "user");
	return http_response_json(status, row);
}

static struct http_response users_list(struct http_request *req)
{
	struct api_context *ctx = req->user_data;
	return api_list_page(req, ctx->store, USER_COLUMNS " WHERE 1 = 1", NULL, 0, user_decode);
}

static struct http_response users_create_handler(struct http_request *req)
{
	struct api_context *ctx = req->user_data;
	json_t *body;
	struct http_response res;
	if (http_request_json(req, &body, &res) != 0)
		return res;
	const char *name = json_get_str(body, "name", NULL);
	const char *email = json_get_str(body, "email", NULL);
	const char *password = json_get_str(body, "password", NULL);
	const char *role = json_get_str(body, "role", NULL);
	if (!name_valid(name)) {
		res = http_response_error_detail(422, NULL, json_pack("{s:s}", "field", "name"),
						 "name must be 1 to 64 letters, digits, '-', '_' "
						 "or '.'");
	} else if (!email || !strchr(email, '@')) {
		res = http_response_error_detail(422, NULL, json_pack("{s:s}", "field", "email"),
						 "email must be an address");
	} else if (!password || strlen(password) < PASSWORDS_MIN_LENGTH) {
		res = http_response_error_detail(422, NULL, json_pack("{s:s}", "field", "password"),
						 "password must have at least %d characters",
						 PASSWORDS_MIN_LENGTH);
	} else {
		char id[STORE_ID_SIZE];
		struct err e = ERR_INIT;
		const struct api_caller *caller = api_caller(req);
		if (users_create(ctx->store, name, email, password, "human",
				 caller ? caller->user_id : NULL, id, &e) != 0) {
			res = api_store_error(req, &e, "a user with this name or email");
		} else if (role && users_bind_role(ctx->store, id, role,
						   caller ? caller->user_id : NULL, &e) != 0) {
			res = api_store_error(req, &e, "role binding");
		} else {
			api_audit(ctx, api_actor(req), "user.create", name,
				  json_pack("{s:s,s:s,s:s?}", "id", id, "kind", "human", "role",
					    role));
			res = user_respond(req, ctx, id, 201);
		}
	}
	json_decref(body);
	return res;
}

static struct http_response users_get(struct http_request *req)
{
	struct api_context *ctx = req->user_data;
	json_t *row = NULL;
	struct err e = ERR_INIT;
	if (users_find(ctx->store, http_request_param(req, "id"), &row, &e) != 0)
		return api_store_error(req, &e, "user");
	if (!row)
		return http_response_error(404, "no user %s", http_request_param(req, "id"));
	return http_response_json(200, row);
}

/* Disabling keeps the row (the audit log names it) and ends every credential. */
static struct http_response users_disable(struct http_request *req)
{
	struct api_context *ctx = req->user_data;
	json_t *row = NULL;
	struct err e = ERR_INIT;
	if (users_find(ctx->store, http_request_param(req, "id"), &row, &e) != 0)
		return api_store_error(req, &e, "user");
	if (!row)
		return http_response_error(404, "no user %s", http_request_param(req, "id"));
	struct store_param id = STORE_TEXT_PARAM(json_get_str(row, "id", ""));
	struct store_param at_id[] = { STORE_INT_PARAM(store_now_ms()), id };
	int rc = store_exec(ctx->store, "UPDATE users SET disabled = 1 WHERE id = ?", &id, 1, NULL,
			    &e);
	if (rc == 0)
		rc = store_exec(ctx->store,
				"UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND "
				"revoked_at IS NULL",
				at_id, 2, NULL, &e);
	if (rc == 0)
		rc = store_exec(ctx->store,
				"UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND "
				"revoked_at IS NULL",
				at_id, 2, NULL, &e);
	if (rc == 0)
		rc = store_exec(ctx->store,
				"UPDATE refresh_tokens SET revoked = 1 WHERE user_id = ?", &id, 1,
				NULL, &e);
	if (rc != 0) {
		json_decref(row);
		return api_store_error(req, &e, "user");
	}
	api_audit(ctx, api_actor(req), "user.disable", json_get_str(row, "name", ""),
		  json_pack("{s:s}", "id", json_get_str(row, "id", "")));
	json_decref(row);
	return http_response_empty(204);
}

static struct http_response agents_list(struct http_request *req)
{
	struct api_context *ctx = req->user_data;
	const struct api_caller *caller = api_caller(req);
	bool all = rbac_caller_can(req, ctx, "user:read", NULL);
	struct store_param creator = STORE_TEXT_PARAM(caller->user_id);
	return api_list_page(req, ctx->store,
			     all ? USER_COLUMNS " WHERE kind = 'agent'"
				 : USER_COLUMNS " WHERE kind = 'agent' AND created_by = ?",
			     &creator, all ? 0 : 1, user_decode);
}

static struct http_response agents_create(struct http_request *req)
{
	struct api_context *ctx = req->user_data;
	const struct api_caller *caller = api_caller(req);
	if (caller->is_agent)
		return http_response_error(403, "an agent is created by a person, not by an agent");
	json_t *body;
	struct http_response res;
	if (http_request_json(req, &body, &res) != 0)
		return res;
	const char *name = json_get_str(body, "name", NULL);
	if (!name_valid(name)) {
		res = http_response_error_detail(422, NULL, json_pack("{s:s}", "field", "name"),
						 "name must be 1 to 64 letters, digits, '-', '_' "
						 "or '.'");
	} else {
		char id[STORE_ID_SIZE];
		struct err e = ERR_INIT;
		if (users_create(ctx->store, name, NULL, NULL, "agent", caller->user_id, id, &e) !=
			    0 ||
		    users_bind_role(ctx->store, id, "agent", caller->user_id, &e) != 0) {
			res = api_store_error(req, &e, "a user or agent with this name");
		} else {
			api_audit(ctx, caller->name, "agent.create", name,
				  json_pack("{s:s,s:s}", "id", id, "kind", "agent"));
			res = user_respond(req, ctx, id, 201);
		}
	}
	json_decref(body);
	return res;
}

static struct http_response agents_token_create(struct http_request *req)
{
	struct api_context *ctx = req->user_data;
	const struct api_caller *caller = api_caller(req);
	json_t *agent = NULL;
	struct err e = ERR_INIT;
	if (users_find(ctx->store, http_request_param(req, "id"), &agent, &e) != 0)
		return api_store_error(req, &e, "agent");
	bool found = agent && strcmp(json_get_str(agent, "kind", ""), "agent") == 0 &&
		     !json_is_true(json_object_get(agent, "disabled"));
	bool mine = found && strcmp(json_get_str(agent, "created_by", ""), caller->user_id) == 0;
	if (!found || (!mine && !rbac_caller_can(req, ctx, "user:write", NULL))) {
		json_decref(agent);
		return http_response_error(404, "no agent %s of yours",
					   http_request_param(req, "id"));
	}
	struct http_response res = tokens_create_from_request(
		req, ctx, json_get_str(agent, "id", ""), json_get_str(agent, "name", ""));
	json_decref(agent);
	return res;
}

/* The body schemas the routes below name (OpenAPI 3.0 schema objects; docs/http.md). */
static const struct http_schema_spec users_schemas[] = {
	{ "User", "{\"type\":\"object\","
		  "\"required\":[\"id\",\"name\",\"email\",\"kind\",\"created_by\","
		  "\"created_at\",\"disabled\"],\"properties\":{"
		  "\"id\":{\"type\":\"string\"},"
		  "\"name\":{\"type\":\"string\"},"
		  "\"email\":{\"type\":\"string\",\"nullable\":true},"
		  "\"kind\":{\"type\":\"string\",\"enum\":[\"human\",\"agent\"]},"
		  "\"created_by\":{\"type\":\"string\",\"nullable\":true},"
		  "\"created_at\":{\"type\":\"integer\",\"format\":\"int64\"},"
		  "\"disabled\":{\"type\":\"boolean\"}}}" },
	{ "UserInput", "{\"type\":\"object\","
		       "\"required\":[\"name\",\"email\",\"password\"],\"properties\":{"
		       "\"name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":64},"
		       "\"email\":{\"type\":\"string\"},"
		       "\"password\":{\"type\":\"string\"},"
		       "\"role\":{\"type\":\"string\"}}}" },
	{ "AgentInput", "{\"type\":\"object\","
			"\"required\":[\"name\"],\"properties\":{"
			"\"name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":64}}}" },
};

int users_register(struct http_router *router, struct api_context *ctx, struct err *e)
{
	const struct http_route_spec routes[] = {
		{ "GET /api/v1/users",
		  users_list,
		  { .summary = "List users and agents",
		    .tags = "users",
		    .response_schema = "User",
		    .permission = "user:read",
		    .paginated = true } },
		{ "POST /api/v1/users",
		  users_create_handler,
		  { .summary = "Create a person with a password (and optionally a global role)",
		    .tags = "users",
		    .request_schema = "UserInput",
		    .response_schema = "User",
		    .permission = "user:write",
		    .success_status = 201 } },
		{ "GET /api/v1/users/{id}",
		  users_get,
		  { .summary = "Get a user by id or name",
		    .tags = "users",
		    .response_schema = "User",
		    .permission = "user:read" } },
		{ "DELETE /api/v1/users/{id}",
		  users_disable,
		  { .summary = "Disable a user and revoke all its credentials",
		    .tags = "users",
		    .permission = "user:write",
		    .success_status = 204 } },
		{ "GET /api/v1/agents",
		  agents_list,
		  { .summary = "List the agents the caller created (all with user:read)",
		    .tags = "agents",
		    .response_schema = "User",
		    .permission = "agent:run",
		    .paginated = true } },
		{ "POST /api/v1/agents",
		  agents_create,
		  { .summary = "Create an agent identity",
		    .tags = "agents",
		    .request_schema = "AgentInput",
		    .response_schema = "User",
		    .permission = "agent:run",
		    .success_status = 201 } },
		{ "POST /api/v1/agents/{id}/tokens",
		  agents_token_create,
		  { .summary = "Create an API token for an agent (shown once)",
		    .tags = "agents,tokens",
		    .request_schema = "TokenInput",
		    .response_schema = "NewToken",
		    .permission = "agent:run",
		    .success_status = 201 } },
	};
	if (http_router_add_schemas(router, users_schemas,
				    sizeof(users_schemas) / sizeof(*users_schemas), e) != 0)
		return -1;
	if (http_router_add_all(router, routes, sizeof(routes) / sizeof(*routes), ctx, e) != 0)
		return -1;
	return 0;
}
