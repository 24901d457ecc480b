/*
 * credentials_internal: what the parts of deployment credentials share:
 * credentials_schema.c's provider catalog as the module holds it and the
 * validation of submitted fields; credentials.c's rows, sealing and
 * resolution, which credentials_routes.c serves.
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

struct secrets_keys;
struct secrets_sealed;
struct store;

#define CREDENTIAL_COLUMNS                                                               \
	"SELECT id, provider, repository_id, fields, version, key_version, created_by, " \
	"created_at, updated_at FROM deployment_credentials"

/* The audit target of a credential: "[repositories/ID/]deployment-credentials/PROVIDER". */
char *credentials_target(const char *provider, const char *repository_id);
/*
 * Splits valid fields into the clear column (secret names map to null, so
 * listings know what to mask without decrypting), the object to seal and
 * the list of the field names given.
 */
void credentials_split_fields(const struct provider *p, const json_t *fields, json_t **clear,
			      json_t **sealed, json_t **names);
/* Seals the secret fields (as one JSON object) for the row of provider and repository_id. */
int credentials_seal_fields(const struct secrets_keys *keys, const char *provider,
			    const char *repository_id, const json_t *sealed,
			    struct secrets_sealed *out, struct err *e);
/* A stored row as the API shows it: fields parsed, every secret one masked. */
json_t *credentials_present(const json_t *row);
/* The row of id; *row NULL when there is none (an id that cannot be one included). */
int credentials_read(struct store *store, const char *id, json_t **row, struct err *e);

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
