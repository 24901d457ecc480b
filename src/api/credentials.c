/* Being written (issue 6): see credentials.h. */
#include "api/credentials.h"

int credentials_resolve(struct api_context *ctx, const char *provider, const char *repository_id,
			json_t **fields, struct err *e)
{
	(void)ctx;
	(void)provider;
	(void)repository_id;
	(void)e;
	*fields = NULL;
	return 0;
}

int api_credentials_register(struct http_router *router, struct api_context *ctx, struct err *e)
{
	(void)router;
	(void)ctx;
	(void)e;
	return 0;
}
