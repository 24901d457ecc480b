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

struct api_context;
struct err;
struct http_router;

/*
 * The fields of the credential deployments of repository_id (NULL: the
 * account) to provider use, secret fields in clear: a new object in
 * *fields, or NULL when neither exists. Audited as a reveal.
 */
int credentials_resolve(struct api_context *ctx, const char *provider, const char *repository_id,
			json_t **fields, struct err *e);

int api_credentials_register(struct http_router *router, struct api_context *ctx, struct err *e);

#endif
