/* Being written (issue 6): see repositories.h. */
#include "api/repositories.h"

#include "api/api.h"
#include "store/store.h"

int repositories_get(struct api_context *ctx, const char *id, json_t **row, struct err *e)
{
	struct store_param params[] = { STORE_TEXT_PARAM(id) };
	return store_query_one(ctx->store, "SELECT * FROM repositories WHERE id = ?", params, 1,
			       row, e);
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
