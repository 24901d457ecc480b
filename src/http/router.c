#include "http/router.h"

#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/str.h"
#include "util/vec.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

enum segment_kind { SEGMENT_REST, SEGMENT_PARAM, SEGMENT_LITERAL };

struct route_segment {
	enum segment_kind kind;
	char *text; /* the literal, or the parameter's name */
	size_t len; /* strlen(text), for matching without a strlen per request */
};

struct http_route {
	char *method;
	char *pattern;
	struct route_segment *segments;
	size_t segment_count;
	char **param_names;
	size_t param_count;
	http_handler_fn *handler;
	void *user_data;
	struct http_route_meta meta; /* strings owned */
};

struct kept {
	void *ptr;
	void (*free_fn)(void *);
};

struct http_router {
	struct vec routes; /* struct http_route * */
	struct vec kept;   /* struct kept * */
	json_t *schemas;   /* name -> schema object; NULL until the first */
	http_guard_fn *guard;
	void *guard_user;
};

/* The order methods are listed in an Allow header. */
static const char *const http_methods[] = { "GET",   "HEAD",   "POST",	 "PUT",
					    "PATCH", "DELETE", "OPTIONS" };
enum { HTTP_METHOD_COUNT = sizeof(http_methods) / sizeof(http_methods[0]) };

static int http_method_index(const char *method)
{
	for (int i = 0; i < HTTP_METHOD_COUNT; i++) {
		if (strcmp(http_methods[i], method) == 0)
			return i;
	}
	return -1;
}

static const char *pair_find(const struct http_pair *pairs, size_t count, const char *name,
			     bool icase)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < count; i++) {
		if (icase ? str_eq_icase(pairs[i].name, name) : str_eq(pairs[i].name, name))
			return pairs[i].value;
	}
	return NULL;
}

const char *http_request_param(const struct http_request *req, const char *name)
{
	return pair_find(req->params, req->param_count, name, false);
}

const char *http_request_query(const struct http_request *req, const char *name)
{
	return pair_find(req->query, req->query_count, name, false);
}

const char *http_request_header(const struct http_request *req, const char *name)
{
	return pair_find(req->headers, req->header_count, name, true);
}

static char *xstrdup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void http_route_free(void *item)
{
	struct http_route *route = item;
	free(route->method);
	free(route->pattern);
	for (size_t i = 0; i < route->segment_count; i++)
		free(route->segments[i].text);
	free(route->segments);
	free(route->param_names); /* the names belong to segments */
	free((char *)route->meta.summary);
	free((char *)route->meta.tags);
	free((char *)route->meta.request_schema);
	free((char *)route->meta.response_schema);
	free((char *)route->meta.permission);
	free((char *)route->meta.project_param);
	free((char *)route->meta.query);
	free((char *)route->meta.response_type);
	free((char *)route->meta.other_response_schema);
	free(route);
}

struct http_router *http_router_new(void)
{
	return xcalloc(1, sizeof(struct http_router));
}

void http_router_free(struct http_router *router)
{
	if (!router)
		return;
	vec_free(&router->routes, http_route_free);
	for (size_t i = 0; i < router->kept.len; i++) {
		struct kept *k = router->kept.items[i];
		k->free_fn(k->ptr);
	}
	vec_free(&router->kept, free);
	json_decref(router->schemas);
	free(router);
}

void http_router_set_guard(struct http_router *router, http_guard_fn *guard, void *user)
{
	router->guard = guard;
	router->guard_user = user;
}

void http_router_keep(struct http_router *router, void *ptr, void (*free_fn)(void *))
{
	struct kept *k = xmalloc(sizeof(*k));
	k->ptr = ptr;
	k->free_fn = free_fn;
	vec_push(&router->kept, k);
}

static bool param_name_valid(const char *name, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isalnum((unsigned char)name[i]) && name[i] != '_')
			return false;
	}
	return true;
}

/* Splits "/a/{b}/c" into segments; "/" has none. */
static int route_parse_pattern(struct http_route *route, const char *pattern, struct err *e)
{
	if (pattern[0] != '/')
		return err_set(e, "route '%s': the path must start with '/'", pattern);
	const char *p = pattern + 1;
	while (*p) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == 0)
			return err_set(e, "route '%s': empty path segment", pattern);
		struct route_segment seg = { .kind = SEGMENT_LITERAL };
		if (p[0] == '{') {
			if (p[len - 1] != '}' || len < 3)
				return err_set(e, "route '%s': a parameter is written {name}",
					       pattern);
			size_t name_len = len - 2;
			if (name_len > 3 && strncmp(p + 1 + name_len - 3, "...", 3) == 0) {
				if (end && end[1] != '\0')
					return err_set(e,
						       "route '%s': {name...} must be the last "
						       "segment",
						       pattern);
				seg.kind = SEGMENT_REST;
				name_len -= 3;
			} else {
				seg.kind = SEGMENT_PARAM;
			}
			if (!param_name_valid(p + 1, name_len))
				return err_set(e,
					       "route '%s': parameter names are letters, digits "
					       "and '_'",
					       pattern);
			seg.text = xstrndup(p + 1, name_len);
			seg.len = name_len;
			for (size_t i = 0; i < route->param_count; i++) {
				if (strcmp(route->param_names[i], seg.text) == 0) {
					free(seg.text);
					return err_set(e,
						       "route '%s': parameter {%.*s} appears twice",
						       pattern, (int)name_len, p + 1);
				}
			}
			route->param_names = xrealloc(route->param_names,
						      (route->param_count + 1) * sizeof(char *));
			route->param_names[route->param_count++] = seg.text;
		} else {
			if (memchr(p, '{', len) || memchr(p, '}', len))
				return err_set(e, "route '%s': a parameter is a whole segment",
					       pattern);
			seg.text = xstrndup(p, len);
			seg.len = len;
		}
		route->segments = xrealloc(route->segments,
					   (route->segment_count + 1) * sizeof(*route->segments));
		route->segments[route->segment_count++] = seg;
		if (!end)
			break;
		p = end + 1;
		if (!*p)
			return err_set(e, "route '%s': no trailing '/'", pattern);
	}
	return 0;
}

static void route_copy_meta(struct http_route *route, const struct http_route_meta *meta)
{
	if (!meta)
		return;
	route->meta.summary = xstrdup_or_null(meta->summary);
	route->meta.tags = xstrdup_or_null(meta->tags);
	route->meta.request_schema = xstrdup_or_null(meta->request_schema);
	route->meta.response_schema = xstrdup_or_null(meta->response_schema);
	route->meta.permission = xstrdup_or_null(meta->permission);
	route->meta.project_param = xstrdup_or_null(meta->project_param);
	route->meta.query = xstrdup_or_null(meta->query);
	route->meta.response_type = xstrdup_or_null(meta->response_type);
	route->meta.paginated = meta->paginated;
	route->meta.success_status = meta->success_status;
	route->meta.other_status = meta->other_status;
	route->meta.other_response_schema = xstrdup_or_null(meta->other_response_schema);
}

static bool routes_same_shape(const struct http_route *a, const struct http_route *b)
{
	if (a->segment_count != b->segment_count || strcmp(a->method, b->method) != 0)
		return false;
	for (size_t i = 0; i < a->segment_count; i++) {
		if (a->segments[i].kind != b->segments[i].kind)
			return false;
		if (a->segments[i].kind == SEGMENT_LITERAL &&
		    strcmp(a->segments[i].text, b->segments[i].text) != 0)
			return false;
	}
	return true;
}

int http_router_add(struct http_router *router, const char *spec, http_handler_fn *handler,
		    void *user_data, const struct http_route_meta *meta, struct err *e)
{
	const char *space = spec ? strchr(spec, ' ') : NULL;
	if (!space || space == spec || !handler)
		return err_set(e, "route '%s': write it as \"METHOD /path\" with a handler",
			       spec ? spec : "(null)");
	struct http_route *route = xcalloc(1, sizeof(*route));
	route->method = xstrndup(spec, (size_t)(space - spec));
	route->pattern = xstrdup(space + 1);
	route->handler = handler;
	route->user_data = user_data;
	int index = http_method_index(route->method);
	if (index < 0 || strcmp(route->method, "HEAD") == 0 ||
	    strcmp(route->method, "OPTIONS") == 0) {
		err_set(e, "route '%s': method must be GET, POST, PUT, PATCH or DELETE", spec);
		http_route_free(route);
		return -1;
	}
	if (route_parse_pattern(route, route->pattern, e) != 0) {
		http_route_free(route);
		return -1;
	}
	for (size_t i = 0; i < router->routes.len; i++) {
		const struct http_route *other = router->routes.items[i];
		if (routes_same_shape(route, other)) {
			err_set(e, "route '%s': already added as '%s %s'", spec, other->method,
				other->pattern);
			http_route_free(route);
			return -1;
		}
	}
	route_copy_meta(route, meta);
	vec_push(&router->routes, route);
	return 0;
}

/* Segments of a request path; empty ones are kept so that "//" matches nothing. */
struct path_parts {
	const char **starts;
	size_t *lengths;
	size_t count;
};

static void path_split(struct arena *arena, const char *path, struct path_parts *out)
{
	out->count = 0;
	if (path[0] != '/' || path[1] == '\0') {
		out->starts = NULL;
		out->lengths = NULL;
		return;
	}
	size_t count = 1;
	for (const char *p = path + 1; *p; p++)
		count += *p == '/';
	out->starts = arena_calloc(arena, count, sizeof(char *));
	out->lengths = arena_calloc(arena, count, sizeof(size_t));
	const char *p = path + 1;
	for (;;) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		out->starts[out->count] = p;
		out->lengths[out->count] = len;
		out->count++;
		if (!end)
			break;
		p = end + 1;
	}
}

static bool route_matches(const struct http_route *route, const struct path_parts *parts)
{
	if (route->segment_count == 0)
		return parts->count == 0;
	for (size_t i = 0; i < route->segment_count; i++) {
		const struct route_segment *seg = &route->segments[i];
		if (seg->kind == SEGMENT_REST)
			return i < parts->count && parts->lengths[i] > 0;
		if (i >= parts->count || parts->lengths[i] == 0)
			return false;
		if (seg->kind == SEGMENT_LITERAL &&
		    (seg->len != parts->lengths[i] ||
		     memcmp(seg->text, parts->starts[i], parts->lengths[i]) != 0))
			return false;
	}
	return route->segment_count == parts->count;
}

/* Literal segments beat parameters, parameters beat a rest, earliest difference first. */
static bool route_more_specific(const struct http_route *a, const struct http_route *b)
{
	size_t n = a->segment_count < b->segment_count ? a->segment_count : b->segment_count;
	for (size_t i = 0; i < n; i++) {
		if (a->segments[i].kind != b->segments[i].kind)
			return a->segments[i].kind > b->segments[i].kind;
	}
	return a->segment_count > b->segment_count;
}

static void route_fill_params(const struct http_route *route, const struct path_parts *parts,
			      struct http_request *req)
{
	struct http_pair *params =
		arena_calloc(req->arena, route->param_count + 1, sizeof(*params));
	size_t n = 0;
	for (size_t i = 0; i < route->segment_count; i++) {
		const struct route_segment *seg = &route->segments[i];
		if (seg->kind == SEGMENT_PARAM) {
			params[n].name = seg->text;
			params[n].value =
				arena_strndup(req->arena, parts->starts[i], parts->lengths[i]);
			n++;
		} else if (seg->kind == SEGMENT_REST) {
			params[n].name = seg->text;
			params[n].value = arena_strdup(req->arena, parts->starts[i]);
			n++;
		}
	}
	req->params = params;
	req->param_count = n;
}

static bool utf8_text(const char *s)
{
	size_t len = s ? strlen(s) : 0;
	return str_utf8_invalid_at(s, len) == len;
}

/* 0, or -1 with a 400 in *res when the path or a query argument is not UTF-8. */
static int request_text_check(const struct http_request *req, struct http_response *res)
{
	if (!utf8_text(req->path)) {
		*res = http_response_error(400, "the request path is not valid UTF-8 text (or "
						"holds %%00): percent-encode UTF-8 only");
		return -1;
	}
	for (size_t i = 0; i < req->query_count; i++) {
		if (!utf8_text(req->query[i].name) || !utf8_text(req->query[i].value)) {
			*res = http_response_error(400,
						   "a query argument is not valid UTF-8 text (or "
						   "holds %%00): percent-encode UTF-8 only");
			return -1;
		}
	}
	return 0;
}

struct http_response http_router_dispatch(const struct http_router *router,
					  struct http_request *req)
{
	struct http_response refused;
	if (request_text_check(req, &refused) != 0)
		return refused;
	struct path_parts parts;
	path_split(req->arena, req->path ? req->path : "", &parts);
	const char *method = strcmp(req->method, "HEAD") == 0 ? "GET" : req->method;
	const struct http_route *best = NULL;
	bool allowed[HTTP_METHOD_COUNT] = { false };
	bool any = false;
	for (size_t i = 0; i < router->routes.len; i++) {
		const struct http_route *route = router->routes.items[i];
		if (!route_matches(route, &parts))
			continue;
		any = true;
		allowed[http_method_index(route->method)] = true;
		if (strcmp(route->method, method) == 0 &&
		    (!best || route_more_specific(route, best)))
			best = route;
	}
	if (best) {
		route_fill_params(best, &parts, req);
		req->route = best->pattern;
		req->user_data = best->user_data;
		if (router->guard) {
			struct http_response denied = { 0 };
			if (!router->guard(req, best, &denied, router->guard_user))
				return denied.status ? denied
						     : http_response_error(403, "access denied");
			http_response_free(&denied);
		}
		return best->handler(req);
	}
	if (!any)
		return http_response_error(404, "no route for %s", req->path ? req->path : "");
	allowed[http_method_index("OPTIONS")] = true;
	if (allowed[http_method_index("GET")])
		allowed[http_method_index("HEAD")] = true;
	struct buf allow = BUF_INIT;
	for (int i = 0; i < HTTP_METHOD_COUNT; i++) {
		if (!allowed[i])
			continue;
		if (allow.len)
			buf_adds(&allow, ", ");
		buf_adds(&allow, http_methods[i]);
	}
	struct http_response res =
		strcmp(req->method, "OPTIONS") == 0
			? http_response_empty(204)
			: http_response_error(405, "%s is not allowed on %s; allowed: %s",
					      req->method, req->path, buf_cstr(&allow));
	http_response_set_header(&res, "Allow", buf_cstr(&allow));
	buf_free(&allow);
	return res;
}

size_t http_router_count(const struct http_router *router)
{
	return router->routes.len;
}

const struct http_route *http_router_at(const struct http_router *router, size_t index)
{
	return vec_get(&router->routes, index);
}

const char *http_route_method(const struct http_route *route)
{
	return route->method;
}

const char *http_route_pattern(const struct http_route *route)
{
	return route->pattern;
}

const struct http_route_meta *http_route_meta(const struct http_route *route)
{
	return &route->meta;
}

size_t http_route_param_count(const struct http_route *route)
{
	return route->param_count;
}

const char *http_route_param_name(const struct http_route *route, size_t index)
{
	return index < route->param_count ? route->param_names[index] : NULL;
}

int http_router_add_all(struct http_router *router, const struct http_route_spec *routes,
			size_t count, void *user_data, struct err *e)
{
	for (size_t i = 0; i < count; i++)
		if (http_router_add(router, routes[i].spec, routes[i].handler, user_data,
				    &routes[i].meta, e) != 0)
			return -1;
	return 0;
}

int http_router_add_schema(struct http_router *router, const char *name, const char *json_text,
			   struct err *e)
{
	if (!name || !*name)
		return err_set(e, "schema without a name");
	if (router->schemas && json_object_get(router->schemas, name))
		return err_set(e, "schema %s registered twice", name);
	json_error_t error;
	json_t *schema = json_loads(json_text ? json_text : "", JSON_REJECT_DUPLICATES, &error);
	if (!schema)
		return err_set(e, "schema %s: line %d, column %d: %s", name, error.line,
			       error.column, error.text);
	if (!json_is_object(schema)) {
		json_decref(schema);
		return err_set(e, "schema %s: not a JSON object", name);
	}
	if (!router->schemas)
		router->schemas = json_object();
	json_object_set_new(router->schemas, name, schema);
	return 0;
}

int http_router_add_schemas(struct http_router *router, const struct http_schema_spec *schemas,
			    size_t count, struct err *e)
{
	for (size_t i = 0; i < count; i++)
		if (http_router_add_schema(router, schemas[i].name, schemas[i].json, e) != 0)
			return -1;
	return 0;
}

const struct json_t *http_router_schema(const struct http_router *router, const char *name)
{
	if (!router->schemas || !name)
		return NULL;
	return json_object_get(router->schemas, name);
}
