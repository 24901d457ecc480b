/* Being written (issue 6): see intelligence.h. */
#include "api/intelligence.h"

int api_intelligence_register(struct http_router *router, struct api_context *ctx, struct err *e)
{
	(void)router;
	(void)ctx;
	(void)e;
	return 0;
}

int intelligence_register_workers(struct workers *workers, struct api_context *ctx, struct err *e)
{
	(void)workers;
	(void)ctx;
	(void)e;
	return 0;
}
