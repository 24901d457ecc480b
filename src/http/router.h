/*
 * router: maps "METHOD /api/v1/users/{id}" to a handler, with metadata.
 *
 * The route table is also the API's description: summaries, tags, schema
 * names and the permission each route needs live beside the handler, so
 * the OpenAPI document and (later) RBAC read the same table the server
 * dispatches from and cannot drift from it.
 */
#ifndef AMPEL_HTTP_ROUTER_H
#define AMPEL_HTTP_ROUTER_H

#include "http/response.h"

#include <stdbool.h>
#include <stddef.h>

struct arena;
struct err;
struct http_route;
struct http_router;
struct json_t;

/* A name and a value: path parameters, query arguments, request headers. */
struct http_pair {
	const char *name;
	const char *value;
};

/*
 * One request as a handler sees it. Strings live as long as the request;
 * handlers allocate request-scoped data from arena.
 */
struct http_request {
	const char *method; /* "GET", … (HEAD is dispatched as GET) */
	const char *path;   /* decoded, without the query string */
	const char *route;  /* the matched pattern, e.g. "/api/v1/users/{id}" */
	const struct http_pair *params;
	size_t param_count;
	const struct http_pair *query;
	size_t query_count;
	const struct http_pair *headers;
	size_t header_count;
	const char *body; /* NUL-terminated for convenience; may contain NULs */
	size_t body_len;
	const char *client_address; /* "127.0.0.1" */
	const char *request_id;
	struct arena *arena;
	bool draining;	 /* the server is shutting down */
	void *context;	 /* per request, set by the guard (the authenticated caller) */
	void *user_data; /* given when the route was added */
};

/* The value of a path parameter, query argument or header (case-insensitive), or NULL. */
const char *http_request_param(const struct http_request *req, const char *name);
const char *http_request_query(const struct http_request *req, const char *name);
const char *http_request_header(const struct http_request *req, const char *name);

typedef struct http_response http_handler_fn(struct http_request *req);

/*
 * What a route is, beside its handler. Every string is copied; all may be
 * NULL. tags and query are comma-separated lists ("users,auth",
 * "type,state"); paginated adds the limit and cursor query parameters.
 */
struct http_route_meta {
	const char *summary;
	const char *tags;
	const char *request_schema;  /* name of the request body schema */
	const char *response_schema; /* name of the success body schema */
	const char *permission;	     /* "user:read"; NULL: public */
	/*
	 * The path parameter naming the project the permission is checked in
	 * ("id" on /api/v1/repositories/{id}); NULL: the {project} parameter
	 * or the ?project= query argument, when present.
	 */
	const char *project_param;
	const char *query;
	const char *response_type; /* media type of the success body; NULL: JSON */
	bool paginated;
	int success_status; /* 0: 200 */
	/*
	 * A second success answer, when the route has one: POST
	 * /api/v1/repositories registers a path (201) or queues a clone (202,
	 * another body). 0: none.
	 */
	int other_status;
	const char *other_response_schema;
};

/*
 * Runs before every handler of a matched route (authentication, RBAC):
 * returns true to go on (it may set req->context), or false with *denied
 * filled (401, 403, 429 …).
 */
typedef bool http_guard_fn(struct http_request *req, const struct http_route *route,
			   struct http_response *denied, void *user);

struct http_router *http_router_new(void);
void http_router_free(struct http_router *router);

/*
 * Adds a route. spec is "METHOD /path" where a segment is a literal or a
 * {name} parameter; a last segment {name...} takes the rest of the path.
 * Fails on a malformed spec or one already added.
 */
int http_router_add(struct http_router *router, const char *spec, http_handler_fn *handler,
		    void *user_data, const struct http_route_meta *meta, struct err *e);
void http_router_set_guard(struct http_router *router, http_guard_fn *guard, void *user);
/*
 * Hands ptr to the router, which frees it with free_fn when it is freed:
 * for the user_data of routes that has no other owner.
 */
void http_router_keep(struct http_router *router, void *ptr, void (*free_fn)(void *));

/*
 * Dispatches req (method, path set; the rest filled here): the handler's
 * response, or 404, or 405 with Allow, or the guard's refusal. OPTIONS on a
 * known path answers 204 with Allow. A path or query argument that is not
 * UTF-8 (the server turns a %00 into such a byte) is 400 before anything
 * else: databases refuse such text, and messages could not quote it.
 */
struct http_response http_router_dispatch(const struct http_router *router,
					  struct http_request *req);

/* One row of a module's route table. */
struct http_route_spec {
	const char *spec; /* "GET /api/v1/users/{id}" */
	http_handler_fn *handler;
	struct http_route_meta meta;
};

/* Adds every row with the same user_data; stops at the first error. */
int http_router_add_all(struct http_router *router, const struct http_route_spec *routes,
			size_t count, void *user_data, struct err *e);

/*
 * The body schemas routes name in request_schema and response_schema: an
 * OpenAPI 3.0 schema object as JSON text, registered by the module that
 * adds the routes, next to its route table. The OpenAPI document emits
 * them under components.schemas. Fails on text that is not one JSON object
 * or on a name already registered.
 */
int http_router_add_schema(struct http_router *router, const char *name, const char *json_text,
			   struct err *e);

/* One row of a module's schema table. */
struct http_schema_spec {
	const char *name; /* "SecretCreate" */
	const char *json; /* "{\"type\": \"object\", \"properties\": {…}}" */
};

/* Registers every row; stops at the first error. */
int http_router_add_schemas(struct http_router *router, const struct http_schema_spec *schemas,
			    size_t count, struct err *e);
/* The schema registered under name (owned by the router), or NULL. */
const struct json_t *http_router_schema(const struct http_router *router, const char *name);

/* The table, in the order routes were added. */
size_t http_router_count(const struct http_router *router);
const struct http_route *http_router_at(const struct http_router *router, size_t index);

const char *http_route_method(const struct http_route *route);
const char *http_route_pattern(const struct http_route *route);
const struct http_route_meta *http_route_meta(const struct http_route *route);
/* Names of the {parameters}, in path order. */
size_t http_route_param_count(const struct http_route *route);
const char *http_route_param_name(const struct http_route *route, size_t index);

#endif
