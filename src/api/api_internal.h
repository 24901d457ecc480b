/*
 * api_internal: helpers the identity and access modules (auth, users,
 * tokens, rbac) share: store errors as responses, auditing, paging.
 */
#ifndef AMPEL_API_API_INTERNAL_H
#define AMPEL_API_API_INTERNAL_H

#include "api/api.h"
#include "http/response.h"
#include "http/router.h"

#include <jansson.h>
#include <stdint.h>

struct err;

/* 409 for a unique conflict (naming what), else 500 (logged, without detail). */
struct http_response api_store_error(const struct http_request *req, const struct err *e,
				     const char *what);
/*
 * Appends to the audit log and takes the reference to detail (may be NULL).
 * A failure is logged: the event happened, and the request must not pretend
 * otherwise.
 */
void api_audit(struct api_context *ctx, const char *actor, const char *action, const char *target,
	       json_t *detail);
/* The caller's name, for audit entries (NULL: anonymous). */
const char *api_actor(const struct http_request *req);
/*
 * One page of a list. select_where is "SELECT … FROM … WHERE cond" over a
 * table with an `id` column; ids are time-ordered, so pages follow creation.
 * decode (may be NULL) rewrites each row in place before it is answered.
 */
struct http_response api_list_page(struct http_request *req, struct store *store,
				   const char *select_where, const struct store_param *params,
				   size_t count, void (*decode)(json_t *row));
/* The same, handing back the rows (and the id to continue after, or NULL) to post-process. */
int api_list_rows(struct http_request *req, struct store *store, const char *select_where,
		  const struct store_param *params, size_t count, json_t **rows, char **next,
		  struct http_response *error);
/* Reads an optional expiry: "expires_at" (ms) or "expires_in" (seconds); 0 when absent. */
int api_read_expiry(const json_t *body, int64_t now, int64_t *expires_at,
		    struct http_response *error);
/* True when s is a JSON array of "resource:action" strings (non-empty when required). */
bool api_permission_list_valid(const json_t *list, bool allow_empty);

#endif
