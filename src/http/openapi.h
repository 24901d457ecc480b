/*
 * openapi: the OpenAPI 3.0 document of the API, built from the route table.
 *
 * Generated rather than written so that it cannot disagree with what the
 * server dispatches: every route, its path parameters, summary, tags,
 * permission and the error responses it can give come from the router.
 */
#ifndef AMPEL_HTTP_OPENAPI_H
#define AMPEL_HTTP_OPENAPI_H

#include <jansson.h>

struct http_router;

struct http_openapi_info {
	const char *title;	 /* "Ampel" when NULL */
	const char *version;	 /* the API document's version */
	const char *description; /* may be NULL */
	/*
	 * name -> JSON Schema of the schemas routes name, for names the router
	 * has no schema for (http_router_add_schema wins); a name neither has
	 * becomes a plain object schema. May be NULL.
	 */
	const json_t *schemas;
};

/* A new document (json_decref) with every route of the router. */
json_t *http_openapi_build(const struct http_router *router, const struct http_openapi_info *info);

#endif
