/*
 * credentials_internal: what credentials.c (storage, resolution, routes)
 * needs of credentials_schema.c (the provider catalog as the module holds
 * it, and the validation of submitted fields).
 */
#ifndef AMPEL_API_CREDENTIALS_INTERNAL_H
#define AMPEL_API_CREDENTIALS_INTERNAL_H

#include "http/response.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

struct api_context;
struct err;

/* One field of a provider's schema, with its pattern compiled once. */
struct field_rule {
	const json_t *spec; /* {name, label, type, required, secret, pattern?, options?} */
	const char *name;
	const char *type;
	bool required;
	bool secret;
	pcre2_code *re;
};

struct provider {
	const json_t *spec;
	const char *id;
	struct field_rule *fields;
	size_t field_count;
};

/* The routes' user_data: the catalog loaded at registration. */
struct credentials_module {
	struct api_context *ctx;
	json_t *catalog;
	struct provider *providers;
	size_t provider_count;
	pcre2_match_context *match_context;
};

/* Loads the catalog into m and compiles its patterns; a broken catalog fails here. */
int credentials_module_load(struct credentials_module *m, struct err *e);
/* Frees m and what it holds (a router's keep callback). */
void credentials_module_free(void *ptr);

/* The provider with id, or NULL (id may be NULL). */
const struct provider *credentials_provider_find(const struct credentials_module *m,
						 const char *id);

/* Printable, valid UTF-8 (PostgreSQL refuses anything else as text), at most 200 bytes. */
bool credentials_id_valid(const char *id);
/* How much of s to quote in a message: at most max bytes, never half a UTF-8 character. */
int credentials_clip(const char *s, int max);

/* 400/404 for a provider id from a path or query: quoted only when it is printable UTF-8. */
struct http_response credentials_unknown_provider(const struct credentials_module *m, int status,
						  const char *provider);

/*
 * Every problem of provider (a JSON value from the body) and fields, as
 * {field, message} in a new array (empty when valid); *out the provider
 * when it is known. Messages never quote a value.
 */
json_t *credentials_validate(const struct credentials_module *m, const json_t *provider_value,
			     const json_t *fields, const struct provider **out);
/* 422 listing every problem (takes the reference); the first is the error's message and field. */
struct http_response credentials_problems_response(json_t *problems);

/* The body's string values may be secrets: wipe our copy once done with them. */
void credentials_wipe_fields(json_t *fields);

#endif
