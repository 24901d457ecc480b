/*
 * Fuzzes what the HTTP layer reads from clients before any handler: the
 * pagination cursor (an opaque string clients send back) and path routing
 * with parameters. A cursor must decode or fail with a message; whatever
 * decodes must encode back to a cursor that decodes to the same values;
 * any path must dispatch to a response, never crash.
 */
#include "http/response.h"
#include "http/router.h"
#include "util/arena.h"
#include "util/err.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct http_response ok(struct http_request *req)
{
	(void)req;
	return http_response_empty(204);
}

static struct http_router *router(void)
{
	static struct http_router *r;
	if (!r) {
		r = http_router_new();
		struct err e = ERR_INIT;
		const char *specs[] = { "GET /api/v1/users/{id}", "GET /api/v1/users/{id}/tokens",
					"POST /api/v1/users", "GET /files/{rest...}" };
		for (size_t i = 0; i < sizeof(specs) / sizeof(*specs); i++)
			if (http_router_add(r, specs[i], ok, NULL, NULL, &e) < 0)
				abort();
	}
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	char *last_id = NULL;
	enum http_page_direction direction;
	struct err e = ERR_INIT;
	if (http_cursor_decode(text, &last_id, &direction, &e) == 0) {
		char *again = http_cursor_encode(last_id, direction);
		char *id2 = NULL;
		enum http_page_direction direction2;
		if (http_cursor_decode(again, &id2, &direction2, &e) != 0 ||
		    strcmp(id2, last_id) != 0 || direction2 != direction)
			abort();
		free(id2);
		free(again);
		free(last_id);
	} else if (!err_is_set(&e)) {
		abort();
	}

	/* the server gives every request an arena for its parameters */
	struct arena *arena = arena_new();
	struct http_request req = { .method = size % 2 ? "GET" : "POST",
				    .path = text,
				    .arena = arena };
	struct http_response res = http_router_dispatch(router(), &req);
	http_response_free(&res);
	arena_free(arena);
	free(text);
	return 0;
}
