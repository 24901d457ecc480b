/* Being written (issue 6): see repositories.h. */
#include "api/repositories.h"

int repositories_get(struct api_context *ctx, const char *id, json_t **row, struct err *e)
{
	(void)ctx;
	(void)id;
	(void)e;
	*row = NULL;
	return 0;
}

int api_repositories_register(struct http_router *router, struct api_context *ctx, struct err *e)
{
	(void)router;
	(void)ctx;
	(void)e;
	return 0;
}

int repositories_register_workers(struct workers *workers, struct api_context *ctx, struct err *e)
{
	(void)workers;
	(void)ctx;
	(void)e;
	return 0;
}
