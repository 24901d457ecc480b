/*
 * /api/v1/secrets: the HTTP face of the secret store (src/api/secrets.c).
 * Values go in and never come out: every answer is metadata, and the
 * request's copy of a value is wiped before the answer is sent.
 */
#include "api/secrets.h"

#include "api/api.h"
#include "api/api_internal.h"
#include "http/response.h"
#include "http/router.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"

#include <sodium.h>
#include <stdbool.h>
#include <string.h>

/* --- /api/v1/secrets --- */

#define SECRET_COLUMNS                                                                        \
	"SELECT id, name, scope, project, version, key_version, created_at, updated_at FROM " \
	"secrets"

/* The project a {name} route is about: ?project=, else (for writes) the body's. */
static const char *route_project(const struct http_request *req, const json_t *body)
{
	const char *project = http_request_query(req, "project");
	if (!project && body)
		project = json_string_value(json_object_get(body, "project"));
	return project && *project ? project : NULL;
}

static struct http_response metadata_response(struct http_request *req, int status,
					      const char *project, const char *name)
{
	struct api_context *ctx = req->user_data;
	struct store_param key[] = { STORE_TEXT_PARAM(project ? project : ""),
				     STORE_TEXT_PARAM(name) };
	json_t *row = NULL;
	struct err e = ERR_INIT;
	if (store_query_one(ctx->store,
			    SECRET_COLUMNS " WHERE COALESCE(project, '') = ? AND name = ?", key, 2,
			    &row, &e) != 0)
		return api_store_error(req, &e, "secret");
	if (!row)
		return http_response_error(404, "no secret named '%s'%s%s", name,
					   project ? " in project " : "", project ? project : "");
	return http_response_json(status, row);
}

static struct http_response handle_list(struct http_request *req)
{
	struct api_context *ctx = req->user_data;
	struct store_param params[2];
	size_t count = 0;
	struct buf sql = BUF_INIT;
	buf_adds(&sql, SECRET_COLUMNS " WHERE 1 = 1");
	const char *project = http_request_query(req, "project");
	if (project) {
		buf_adds(&sql, " AND COALESCE(project, '') = ?");
		params[count++] = STORE_TEXT_PARAM(project);
	}
	const char *scope = http_request_query(req, "scope");
	if (scope) {
		if (!secrets_scope_valid(scope, true)) {
			buf_free(&sql);
			return http_response_error(400, "scope must be one of pipeline, agent, "
							"deploy, all");
		}
		buf_adds(&sql, " AND scope = ?");
		params[count++] = STORE_TEXT_PARAM(scope);
	}
	struct http_response res =
		api_list_page(req, ctx->store, buf_cstr(&sql), params, count, NULL);
	buf_free(&sql);
	return res;
}

static struct http_response handle_get(struct http_request *req)
{
	const char *name = http_request_param(req, "name");
	const char *project = route_project(req, NULL);
	struct err e = ERR_INIT;
	if (secrets_validate_names(project, name, &e) != 0)
		return http_response_error(400, "%s", e.msg);
	return metadata_response(req, 200, project, name);
}

/* POST (name in the body, 409 when it exists) and PUT (name in the path, upsert). */
static struct http_response write_secret(struct http_request *req, bool create_only)
{
	struct api_context *ctx = req->user_data;
	json_t *body = NULL;
	struct http_response error;
	if (http_request_json(req, &body, &error) != 0)
		return error;
	const char *name = create_only ? json_string_value(json_object_get(body, "name"))
				       : http_request_param(req, "name");
	const char *project = route_project(req, body);
	json_t *value = json_object_get(body, "value");
	const char *scope = json_string_value(json_object_get(body, "scope"));
	struct err e = ERR_INIT;
	struct http_response res;
	int created = 0;
	if (secrets_validate_names(project, name, &e) != 0) {
		res = http_response_error_detail(422, NULL, json_pack("{s:s}", "field", "name"),
						 "%s", e.msg);
		goto out;
	}
	if (!json_is_string(value)) {
		res = http_response_error_detail(422, NULL, json_pack("{s:s}", "field", "value"),
						 "value must be a string");
		goto out;
	}
	if (!scope)
		scope = "all";
	if (!secrets_scope_valid(scope, true)) {
		res = http_response_error_detail(
			422, NULL, json_pack("{s:s}", "field", "scope"),
			"scope must be one of pipeline, agent, deploy, all");
		goto out;
	}
	if (json_string_length(value) > SECRETS_MAX_VALUE) {
		res = http_response_error_detail(422, NULL, json_pack("{s:s}", "field", "value"),
						 "value must be at most %d bytes",
						 SECRETS_MAX_VALUE);
		goto out;
	}
	/*
	 * POST creates only: the check and the write are one transaction under
	 * the secrets' write lock, so two creators cannot both get a 201.
	 */
	int rc = create_only
			 ? secrets_create(ctx, api_actor(req), project, name, scope,
					  json_string_value(value), json_string_length(value), &e)
			 : secrets_put(ctx, api_actor(req), project, name, scope,
				       json_string_value(value), json_string_length(value),
				       &created, &e);
	if (rc == 1) {
		res = http_response_error(409,
					  "secret '%s' already exists: PUT /api/v1/secrets/%s "
					  "replaces its value",
					  name, name);
		goto out;
	}
	if (rc != 0) {
		/* e never holds the value; it may name the master key problem. */
		log_error("secrets", "cannot store secret", "name", name, "error", e.msg);
		res = http_response_error(500, "%s", e.msg);
		goto out;
	}
	created |= create_only;
	res = metadata_response(req, created ? 201 : 200, project, name);
out:
	/* The request body held the value: wipe our copy of it. */
	if (json_is_string(value))
		sodium_memzero((char *)json_string_value(value), json_string_length(value));
	json_decref(body);
	return res;
}

static struct http_response handle_create(struct http_request *req)
{
	return write_secret(req, true);
}

static struct http_response handle_put(struct http_request *req)
{
	return write_secret(req, false);
}

static struct http_response handle_delete(struct http_request *req)
{
	struct api_context *ctx = req->user_data;
	const char *name = http_request_param(req, "name");
	const char *project = route_project(req, NULL);
	struct err e = ERR_INIT;
	if (secrets_validate_names(project, name, &e) != 0)
		return http_response_error(400, "%s", e.msg);
	bool found;
	if (secrets_delete(ctx, api_actor(req), project, name, &found, &e) != 0)
		return api_store_error(req, &e, "secret");
	if (!found)
		return http_response_error(404, "no secret named '%s'%s%s", name,
					   project ? " in project " : "", project ? project : "");
	return http_response_empty(204);
}

/* The body schemas the routes below name (OpenAPI 3.0 schema objects; docs/http.md). */
static const char secret_schema[] =
	"{\"type\":\"object\","
	"\"required\":[\"id\",\"name\",\"scope\",\"project\",\"version\","
	"\"key_version\",\"created_at\",\"updated_at\"],\"properties\":{"
	"\"id\":{\"type\":\"string\"},"
	"\"name\":{\"type\":\"string\"},"
	"\"scope\":{\"type\":\"string\",\"enum\":[\"pipeline\",\"agent\",\"deploy\",\"all\"]},"
	"\"project\":{\"type\":\"string\",\"nullable\":true},"
	"\"version\":{\"type\":\"integer\"},"
	"\"key_version\":{\"type\":\"integer\"},"
	"\"created_at\":{\"type\":\"integer\",\"format\":\"int64\"},"
	"\"updated_at\":{\"type\":\"integer\",\"format\":\"int64\"}}}";

static const struct http_schema_spec secrets_schemas[] = {
	{ "Secret", secret_schema },
	{ "SecretList", secret_schema },
	{ "SecretCreate",
	  "{\"type\":\"object\","
	  "\"required\":[\"name\",\"value\"],\"properties\":{"
	  "\"name\":{\"type\":\"string\",\"pattern\":\"^[A-Za-z_][A-Za-z0-9_]{0,127}$\"},"
	  "\"value\":{\"type\":\"string\",\"maxLength\":65536,\"description\":\"write-only: never "
	  "answered\"},"
	  "\"scope\":{\"type\":\"string\",\"enum\":[\"pipeline\",\"agent\",\"deploy\",\"all\"]},"
	  "\"project\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":200,\"description\":"
	  "\"else ?project=\"}}}" },
	{ "SecretPut",
	  "{\"type\":\"object\","
	  "\"required\":[\"value\"],\"properties\":{"
	  "\"value\":{\"type\":\"string\",\"maxLength\":65536,\"description\":\"write-only: never "
	  "answered\"},"
	  "\"scope\":{\"type\":\"string\",\"enum\":[\"pipeline\",\"agent\",\"deploy\",\"all\"]},"
	  "\"project\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":200,\"description\":"
	  "\"else ?project=\"}}}" },
};

int api_secrets_register(struct http_router *router, struct api_context *ctx, struct err *e)
{
	if (secrets_check_master_key(ctx, e) != 0)
		return -1;
	const struct http_route_spec routes[] = {
		{ "GET /api/v1/secrets",
		  handle_list,
		  { .summary = "List secrets (metadata only, never values)",
		    .tags = "secrets",
		    .response_schema = "SecretList",
		    .permission = "secret:read",
		    .query = "project,scope",
		    .paginated = true } },
		{ "POST /api/v1/secrets",
		  handle_create,
		  { .summary = "Create a secret (the value goes in and never comes out)",
		    .tags = "secrets",
		    .request_schema = "SecretCreate",
		    .response_schema = "Secret",
		    .permission = "secret:write",
		    .success_status = 201 } },
		{ "GET /api/v1/secrets/{name}",
		  handle_get,
		  { .summary = "A secret's metadata",
		    .tags = "secrets",
		    .response_schema = "Secret",
		    .permission = "secret:read",
		    .query = "project" } },
		{ "PUT /api/v1/secrets/{name}",
		  handle_put,
		  { .summary = "Create or replace a secret's value and scope",
		    .tags = "secrets",
		    .request_schema = "SecretPut",
		    .response_schema = "Secret",
		    .permission = "secret:write",
		    .query = "project" } },
		{ "DELETE /api/v1/secrets/{name}",
		  handle_delete,
		  { .summary = "Delete a secret",
		    .tags = "secrets",
		    .permission = "secret:write",
		    .query = "project",
		    .success_status = 204 } },
	};
	if (http_router_add_schemas(router, secrets_schemas,
				    sizeof(secrets_schemas) / sizeof(*secrets_schemas), e) != 0)
		return -1;
	return http_router_add_all(router, routes, sizeof(routes) / sizeof(*routes), ctx, e);
}
