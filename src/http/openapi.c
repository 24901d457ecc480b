#include "http/openapi.h"

#include "http/response.h"
#include "http/router.h"
#include "util/buf.h"
#include "util/str.h"
#include "util/vec.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The error responses an operation can declare, by the condition that brings them. */
static const int error_statuses[] = { 400, 401, 403, 404, 413, 415, 422, 429, 500 };

static json_t *schema_ref(const char *name)
{
	struct buf ref = BUF_INIT;
	buf_addf(&ref, "#/components/schemas/%s", name);
	json_t *value = json_pack("{s:s}", "$ref", ref.data);
	buf_free(&ref);
	return value;
}

/* "/users/{path...}" is "/users/{path}" in OpenAPI. */
static char *openapi_path(const char *pattern)
{
	struct buf out = BUF_INIT;
	for (const char *p = pattern; *p; p++) {
		if (p[0] == '.' && strncmp(p, "...}", 4) == 0) {
			p += 2;
			continue;
		}
		buf_addch(&out, *p);
	}
	return buf_detach(&out);
}

/* get_api_v1_users_id: stable and unique, since method and pattern are. */
static char *operation_id(const char *method, const char *pattern)
{
	struct buf out = BUF_INIT;
	for (const char *p = method; *p; p++)
		buf_addch(&out, (char)tolower((unsigned char)*p));
	bool underscore = true;
	for (const char *p = pattern; *p; p++) {
		if (isalnum((unsigned char)*p)) {
			if (underscore)
				buf_addch(&out, '_');
			buf_addch(&out, *p);
			underscore = false;
		} else {
			underscore = true;
		}
	}
	return buf_detach(&out);
}

static void add_list_items(json_t *array, const char *list)
{
	if (!list)
		return;
	struct vec parts = VEC_INIT;
	str_split(list, ',', &parts);
	for (size_t i = 0; i < parts.len; i++) {
		const char *item = str_trim(parts.items[i]);
		if (*item)
			json_array_append_new(array, json_string(item));
	}
	vec_free(&parts, free);
}

static json_t *parameter(const char *name, const char *in, bool required, json_t *schema,
			 const char *description)
{
	json_t *p = json_pack("{s:s,s:s,s:b,s:o}", "name", name, "in", in, "required", required,
			      "schema", schema);
	if (description)
		json_object_set_new(p, "description", json_string(description));
	return p;
}

static json_t *operation_parameters(const struct http_route *route)
{
	const struct http_route_meta *meta = http_route_meta(route);
	json_t *params = json_array();
	for (size_t i = 0; i < http_route_param_count(route); i++)
		json_array_append_new(params,
				      parameter(http_route_param_name(route, i), "path", true,
						json_pack("{s:s}", "type", "string"), NULL));
	json_t *names = json_array();
	add_list_items(names, meta->query);
	size_t i;
	json_t *name;
	json_array_foreach(names, i, name)
	{
		json_array_append_new(params,
				      parameter(json_string_value(name), "query", false,
						json_pack("{s:s}", "type", "string"), NULL));
	}
	json_decref(names);
	if (meta->paginated) {
		json_array_append_new(
			params, parameter("limit", "query", false,
					  json_pack("{s:s,s:i}", "type", "integer", "minimum", 1),
					  "Items per page; capped at the endpoint's maximum."));
		json_array_append_new(params,
				      parameter("cursor", "query", false,
						json_pack("{s:s}", "type", "string"),
						"The next_cursor of the previous page, as is."));
	}
	return params;
}

static json_t *success_response(const struct http_route_meta *meta, int status,
				const char *schema_name)
{
	json_t *res = json_pack("{s:s}", "description", http_status_reason(status));
	if (status == 204)
		return res;
	if (meta->response_type) {
		json_object_set_new(res, "content",
				    json_pack("{s:{s:{s:s}}}", meta->response_type, "schema",
					      "type", "string"));
		return res;
	}
	json_t *schema;
	if (meta->paginated) {
		json_t *items = schema_name ? schema_ref(schema_name)
					    : json_pack("{s:s}", "type", "object");
		schema = json_pack("{s:s,s:[s,s],s:{s:{s:s,s:o},s:{s:s,s:b}}}", "type", "object",
				   "required", "items", "next_cursor", "properties", "items",
				   "type", "array", "items", items, "next_cursor", "type", "string",
				   "nullable", 1);
	} else if (schema_name) {
		schema = schema_ref(schema_name);
	} else {
		schema = json_pack("{s:s}", "type", "object");
	}
	json_object_set_new(res, "content",
			    json_pack("{s:{s:o}}", "application/json", "schema", schema));
	return res;
}

/* Which errors this route can answer with, from what it takes and needs. */
static bool route_can_fail_with(const struct http_route *route, int status)
{
	const struct http_route_meta *meta = http_route_meta(route);
	bool takes_input = meta->request_schema || meta->query || meta->paginated;
	switch (status) {
	case 400:
		return takes_input;
	case 401:
	case 403:
	case 429:
		return meta->permission != NULL;
	case 404:
		return http_route_param_count(route) > 0;
	case 413:
	case 415:
	case 422:
		return meta->request_schema != NULL;
	default:
		return true;
	}
}

static void note_schema(json_t *used, const char *name)
{
	if (name)
		json_object_set_new(used, name, json_true());
}

static json_t *operation(const struct http_route *route, json_t *used_schemas)
{
	const struct http_route_meta *meta = http_route_meta(route);
	json_t *op = json_object();
	char *id = operation_id(http_route_method(route), http_route_pattern(route));
	json_object_set_new(op, "operationId", json_string(id));
	free(id);
	if (meta->summary)
		json_object_set_new(op, "summary", json_string(meta->summary));
	json_t *tags = json_array();
	add_list_items(tags, meta->tags);
	if (json_array_size(tags) > 0)
		json_object_set_new(op, "tags", tags);
	else
		json_decref(tags);
	json_t *params = operation_parameters(route);
	if (json_array_size(params) > 0)
		json_object_set_new(op, "parameters", params);
	else
		json_decref(params);
	if (meta->request_schema) {
		note_schema(used_schemas, meta->request_schema);
		json_object_set_new(op, "requestBody",
				    json_pack("{s:b,s:{s:{s:o}}}", "required", 1, "content",
					      "application/json", "schema",
					      schema_ref(meta->request_schema)));
	}
	note_schema(used_schemas, meta->response_schema);
	int success = meta->success_status ? meta->success_status : 200;
	json_t *responses = json_object();
	char status[16];
	snprintf(status, sizeof(status), "%d", success);
	json_object_set_new(responses, status,
			    success_response(meta, success, meta->response_schema));
	if (meta->other_status) {
		note_schema(used_schemas, meta->other_response_schema);
		snprintf(status, sizeof(status), "%d", meta->other_status);
		json_object_set_new(
			responses, status,
			success_response(meta, meta->other_status, meta->other_response_schema));
	}
	for (size_t i = 0; i < sizeof(error_statuses) / sizeof(error_statuses[0]); i++) {
		if (!route_can_fail_with(route, error_statuses[i]))
			continue;
		snprintf(status, sizeof(status), "%d", error_statuses[i]);
		struct buf ref = BUF_INIT;
		buf_addf(&ref, "#/components/responses/%s", http_status_code(error_statuses[i]));
		json_object_set_new(responses, status, json_pack("{s:s}", "$ref", ref.data));
		buf_free(&ref);
	}
	json_object_set_new(op, "responses", responses);
	if (meta->permission) {
		json_object_set_new(op, "security", json_pack("[{s:[]}]", "bearerAuth"));
		json_object_set_new(op, "x-permission", json_string(meta->permission));
	} else {
		json_object_set_new(op, "security", json_array());
	}
	return op;
}

static json_t *error_schema(void)
{
	return json_pack("{s:s,s:[s],s:{s:{s:s,s:[s,s],s:{s:{s:s},s:{s:s}}}}}", "type", "object",
			 "required", "error", "properties", "error", "type", "object", "required",
			 "code", "message", "properties", "code", "type", "string", "message",
			 "type", "string");
}

static json_t *components(const struct http_router *router, const struct http_openapi_info *info,
			  json_t *used_schemas)
{
	json_t *schemas = json_object();
	json_object_set_new(schemas, "Error", error_schema());
	const char *name;
	json_t *value;
	json_object_foreach(used_schemas, name, value)
	{
		const json_t *given = http_router_schema(router, name);
		if (!given && info && info->schemas)
			given = json_object_get(info->schemas, name);
		json_object_set_new(schemas, name,
				    given ? json_deep_copy(given)
					  : json_pack("{s:s}", "type", "object"));
	}
	json_t *responses = json_object();
	for (size_t i = 0; i < sizeof(error_statuses) / sizeof(error_statuses[0]); i++) {
		int status = error_statuses[i];
		json_object_set_new(responses, http_status_code(status),
				    json_pack("{s:s,s:{s:{s:o}}}", "description",
					      http_status_reason(status), "content",
					      "application/json", "schema", schema_ref("Error")));
	}
	return json_pack("{s:o,s:o,s:{s:{s:s,s:s}}}", "schemas", schemas, "responses", responses,
			 "securitySchemes", "bearerAuth", "type", "http", "scheme", "bearer");
}

json_t *http_openapi_build(const struct http_router *router, const struct http_openapi_info *info)
{
	json_t *doc = json_object();
	json_object_set_new(doc, "openapi", json_string("3.0.3"));
	json_t *meta = json_object();
	json_object_set_new(meta, "title",
			    json_string(info && info->title ? info->title : "Ampel"));
	json_object_set_new(meta, "version",
			    json_string(info && info->version ? info->version : "0"));
	if (info && info->description)
		json_object_set_new(meta, "description", json_string(info->description));
	json_object_set_new(doc, "info", meta);
	json_object_set_new(doc, "servers", json_pack("[{s:s}]", "url", "/"));
	json_t *paths = json_object();
	json_t *used_schemas = json_object();
	for (size_t i = 0; i < http_router_count(router); i++) {
		const struct http_route *route = http_router_at(router, i);
		char *path = openapi_path(http_route_pattern(route));
		json_t *item = json_object_get(paths, path);
		if (!item) {
			item = json_object();
			json_object_set_new(paths, path, item);
		}
		free(path);
		char *method = str_lower(xstrdup(http_route_method(route)));
		json_object_set_new(item, method, operation(route, used_schemas));
		free(method);
	}
	json_object_set_new(doc, "paths", paths);
	json_object_set_new(doc, "components", components(router, info, used_schemas));
	json_decref(used_schemas);
	return doc;
}
