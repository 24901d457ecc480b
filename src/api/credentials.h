/*
 * credentials: deployment credentials for the providers of
 * config/deployment-providers.yaml, and /api/v1/deployment-providers,
 * /api/v1/deployment-credentials.
 *
 * A credential is the set of fields a provider's schema asks for,
 * validated (required fields, patterns, regions), sealed like secrets
 * under the current data key, either as the account default of a provider
 * or as one repository's override. Resolution: the repository's
 * credential, else the account default. Listings mask every secret field.
 */
#ifndef AMPEL_API_CREDENTIALS_H
#define AMPEL_API_CREDENTIALS_H

#include <jansson.h>
#include <stdint.h>

struct api_context;
struct err;
struct http_router;
struct secrets_keys;
struct store_tx;

/* What listings show instead of a secret field's value. */
#define CREDENTIALS_MASK "********"

/*
 * The fields of the credential deployments of repository_id (NULL: the
 * account) to provider use, secret fields in clear: a new object in
 * *fields, or NULL when neither exists. Audited as a reveal (and refused
 * when it cannot be audited). For deployments inside the server only:
 * never put the result in a response or a log.
 */
int credentials_resolve(struct api_context *ctx, const char *provider, const char *repository_id,
			json_t **fields, struct err *e);

/*
 * For secrets_rotate_key, inside its transaction: opens every credential
 * with its own key version and seals it again under the newest one of
 * keys. Fails (and the rotation with it) when one cannot be opened.
 */
int credentials_reseal_tx(struct store_tx *tx, const struct secrets_keys *keys, int64_t *count,
			  struct err *e);

/*
 * GET /api/v1/deployment-providers (deploy:read) and
 * /api/v1/deployment-credentials (deploy:read, deploy:write); loads the
 * provider catalog and compiles its patterns, so a bad catalog fails here.
 */
int api_credentials_register(struct http_router *router, struct api_context *ctx, struct err *e);

#endif
